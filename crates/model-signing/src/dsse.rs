//! DSSE pre-authentication encoding (PAE): the exact bytes that get signed.
//!
//! `DSSEv1 <len(type)> <type> <len(payload)> <payload>` with decimal ASCII lengths.
//!
//! model-signing v0.2.0 signed a buggy variant, kept here for verification only: capital `V`, and the
//! payload rendered as Python's `repr()` of a bytes object (`b'...'` with escapes).

/// The DSSE payload type of in-toto statements.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// `<tag> <len(type)> <type> <len(payload)> ` with decimal ASCII lengths: what precedes the
/// payload in both encodings (`DSSEv1` standard, `DSSEV1` in v0.2.0's).
fn prefix(tag: &str, payload_type: &str, payload_len: usize) -> String {
    format!("{tag} {} {payload_type} {payload_len} ", payload_type.len())
}

/// The standard DSSE v1 PAE.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(prefix("DSSEv1", payload_type, payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// The digest of [`pae`] with `alg`, without building the encoding (it would copy the payload).
pub fn pae_digest(
    payload_type: &str,
    payload: &[u8],
    alg: &'static aws_lc_rs::digest::Algorithm,
) -> aws_lc_rs::digest::Digest {
    let mut ctx = aws_lc_rs::digest::Context::new(alg);
    ctx.update(prefix("DSSEv1", payload_type, payload.len()).as_bytes());
    ctx.update(payload);
    ctx.finish()
}

/// The v0.2.0 compat PAE: `DSSEV1 <len> <type> <len> ` followed by Python's `repr(payload_bytes)`.
/// Built whole, for tests and small payloads; verification hashes it as a stream
/// ([`pae_compat_digest`]), since the repr is up to four times the payload.
pub fn pae_compat(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_pae_compat(payload_type, payload, &mut |chunk| {
        out.extend_from_slice(chunk)
    });
    out
}

/// The digest of [`pae_compat`] with `alg`, computed in 64 KiB pieces: memory stays flat
/// whatever the payload's size (the whole repr of a 256 MiB payload was up to 1 GiB).
pub fn pae_compat_digest(
    payload_type: &str,
    payload: &[u8],
    alg: &'static aws_lc_rs::digest::Algorithm,
) -> aws_lc_rs::digest::Digest {
    let mut ctx = aws_lc_rs::digest::Context::new(alg);
    write_pae_compat(payload_type, payload, &mut |chunk| ctx.update(chunk));
    ctx.finish()
}

/// Whether `payload` can be the statement of a v0.2 bundle, the only ones signed with the compat
/// PAE: it must name the legacy predicate type. Anything else is never checked against the compat
/// encoding, so a junk bundle costs one standard check.
pub fn may_be_legacy(payload: &[u8]) -> bool {
    let needle = crate::statement::LEGACY_PREDICATE_TYPE.as_bytes();
    payload.windows(needle.len()).any(|w| w == needle)
}

fn write_pae_compat(payload_type: &str, payload: &[u8], sink: &mut dyn FnMut(&[u8])) {
    sink(prefix("DSSEV1", payload_type, payload.len()).as_bytes());
    write_python_bytes_repr(payload, sink);
}

/// Python's `repr()` of a `bytes` value, written to `sink` in pieces of at most 64 KiB.
fn write_python_bytes_repr(b: &[u8], sink: &mut dyn FnMut(&[u8])) {
    // Python picks double quotes only when the data has a single quote and no double quote.
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    const FLUSH: usize = 64 << 10;
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH + 8);
    buf.push(b'b');
    buf.push(quote);
    for &c in b {
        match c {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            c if c == quote => buf.extend_from_slice(&[b'\\', quote]),
            0x20..=0x7e => buf.push(c),
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(b"\\x");
                buf.extend(
                    [c >> 4, c & 15]
                        .iter()
                        .filter_map(|n| HEX.get(usize::from(*n))),
                );
            }
        }
        if buf.len() >= FLUSH {
            sink(&buf);
            buf.clear();
        }
    }
    buf.push(quote);
    sink(&buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    fn python_bytes_repr(b: &[u8]) -> String {
        let mut out = Vec::new();
        write_python_bytes_repr(b, &mut |c| out.extend_from_slice(c));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn python_repr() {
        assert_eq!(python_bytes_repr(b"a'b\"\n\\\xff"), r#"b'a\'b"\n\\\xff'"#);
        assert_eq!(python_bytes_repr(b"it's"), r#"b"it's""#);
        assert_eq!(python_bytes_repr(b"\x7f\x00\t\r"), r"b'\x7f\x00\t\r'");
    }

    /// The streamed digest is the digest of the whole encoding, across the 64 KiB pieces.
    #[test]
    fn compat_digest_streams() {
        let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let whole = pae_compat(PAYLOAD_TYPE, &payload);
        assert!(whole.len() > 2 * payload.len());
        let d = pae_compat_digest(PAYLOAD_TYPE, &payload, &aws_lc_rs::digest::SHA384);
        assert_eq!(
            d.as_ref(),
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA384, &whole).as_ref()
        );
        assert!(!may_be_legacy(&payload));
        let d = pae_digest(PAYLOAD_TYPE, &payload, &aws_lc_rs::digest::SHA256);
        assert_eq!(
            d.as_ref(),
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &pae(PAYLOAD_TYPE, &payload))
                .as_ref()
        );
        assert!(may_be_legacy(
            br#"{"predicateType":"https://model_signing/Digests/v0.1"}"#
        ));
    }

    #[test]
    fn compat_prefix() {
        let p = pae_compat(PAYLOAD_TYPE, b"{}");
        assert_eq!(
            p,
            b"DSSEV1 28 application/vnd.in-toto+json 2 b'{}'".to_vec()
        );
    }
}
