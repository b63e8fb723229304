//! DSSE pre-authentication encoding (PAE): the exact bytes that get signed.
//!
//! `DSSEv1 <len(type)> <type> <len(payload)> <payload>` with decimal ASCII lengths.
//!
//! model-signing v0.2.0 signed a buggy variant, kept here for verification only: capital `V`, and the
//! payload rendered as Python's `repr()` of a bytes object (`b'...'` with escapes).

/// The DSSE payload type of in-toto statements.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The standard DSSE v1 PAE.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(
        format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            payload.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(payload);
    out
}

/// The v0.2.0 compat PAE: `DSSEV1 <len> <type> <len> ` followed by Python's `repr(payload_bytes)`.
pub fn pae_compat(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEV1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(python_bytes_repr(payload).as_bytes());
    out
}

/// Python's `repr()` of a `bytes` value.
fn python_bytes_repr(b: &[u8]) -> String {
    // Python picks double quotes only when the data has a single quote and no double quote.
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = String::with_capacity(b.len() + 3);
    s.push('b');
    s.push(quote);
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
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

    #[test]
    fn python_repr() {
        assert_eq!(python_bytes_repr(b"a'b\"\n\\\xff"), r#"b'a\'b"\n\\\xff'"#);
        assert_eq!(python_bytes_repr(b"it's"), r#"b"it's""#);
        assert_eq!(python_bytes_repr(b"\x7f\x00\t\r"), r"b'\x7f\x00\t\r'");
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
