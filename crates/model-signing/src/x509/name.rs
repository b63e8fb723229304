//! Names: string attribute conversion, OpenSSL's name canonicalisation, and display.

use super::der::{
    encode_tlv, single, DerError, DerReader, TAG_BMP, TAG_GENERALIZED_TIME, TAG_IA5, TAG_NUMERIC,
    TAG_OID, TAG_PRINTABLE, TAG_SEQUENCE, TAG_SET, TAG_T61, TAG_UNIVERSAL, TAG_UTC_TIME, TAG_UTF8,
    TAG_VISIBLE,
};

/// One attribute of a subject name, kept for name-constraint checks.
#[derive(Clone, Debug)]
pub(super) struct Attr {
    pub(super) oid: Vec<u8>,
    pub(super) tag: u8,
    pub(super) value: Vec<u8>,
}

/// A string attribute's value as UTF-8 bytes, as `ASN1_STRING_to_UTF8`. Surrogates from
/// BMPString are encoded as OpenSSL does, so the result is bytes rather than `str`.
pub(super) fn string_to_utf8(tag: u8, value: &[u8]) -> Option<Vec<u8>> {
    match tag {
        TAG_UTF8 => std::str::from_utf8(value)
            .ok()
            .map(|s| s.as_bytes().to_vec()),
        TAG_NUMERIC | TAG_PRINTABLE | TAG_T61 | TAG_IA5 | TAG_UTC_TIME | TAG_GENERALIZED_TIME
        | TAG_VISIBLE => {
            let mut out = Vec::with_capacity(value.len());
            for b in value {
                push_utf8(&mut out, u32::from(*b));
            }
            Some(out)
        }
        TAG_BMP => {
            if !value.len().is_multiple_of(2) {
                return None;
            }
            let mut out = Vec::new();
            for c in value.chunks_exact(2) {
                let (hi, lo) = (c.first().copied()?, c.get(1).copied()?);
                push_utf8(&mut out, (u32::from(hi) << 8) | u32::from(lo));
            }
            Some(out)
        }
        TAG_UNIVERSAL => {
            if !value.len().is_multiple_of(4) {
                return None;
            }
            let mut out = Vec::new();
            for c in value.chunks_exact(4) {
                let v = c.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
                if v > 0x10ffff {
                    return None;
                }
                push_utf8(&mut out, v);
            }
            Some(out)
        }
        _ => None,
    }
}

fn push_utf8(out: &mut Vec<u8>, v: u32) {
    // Explicit encoding (not `char`) because OpenSSL also encodes UTF-16 surrogate values.
    if v < 0x80 {
        out.push(v as u8);
    } else if v < 0x800 {
        out.push(0xc0 | (v >> 6) as u8);
        out.push(0x80 | (v & 0x3f) as u8);
    } else if v < 0x10000 {
        out.push(0xe0 | (v >> 12) as u8);
        out.push(0x80 | ((v >> 6) & 0x3f) as u8);
        out.push(0x80 | (v & 0x3f) as u8);
    } else {
        out.push(0xf0 | (v >> 18) as u8);
        out.push(0x80 | ((v >> 12) & 0x3f) as u8);
        out.push(0x80 | ((v >> 6) & 0x3f) as u8);
        out.push(0x80 | (v & 0x3f) as u8);
    }
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// OpenSSL's `asn1_string_canon`: trim, collapse runs of white space, lower-case ASCII.
pub(super) fn canon_text(utf8: &[u8]) -> Vec<u8> {
    let start = utf8
        .iter()
        .position(|b| !is_c_space(*b))
        .unwrap_or(utf8.len());
    let end = utf8
        .iter()
        .rposition(|b| !is_c_space(*b))
        .map_or(start, |e| e + 1);
    let trimmed = utf8.get(start..end).unwrap_or(&[]);
    let mut out = Vec::with_capacity(trimmed.len());
    let mut in_space = false;
    for &b in trimmed {
        if b >= 0x80 {
            out.push(b);
            in_space = false;
        } else if is_c_space(b) {
            if !in_space {
                out.push(b' ');
            }
            in_space = true;
        } else {
            out.push(b.to_ascii_lowercase());
            in_space = false;
        }
    }
    out
}

/// OpenSSL's canonical encoding of a Name (`x509_name_canon`): each RDN as a DER SET of
/// canonicalised entries, concatenated without the outer SEQUENCE header. Equality of these
/// encodings is `X509_NAME_cmp() == 0`; a byte prefix is a directoryName constraint match.
/// Also returns the attributes, in order.
pub(super) fn canonical_name(name_raw: &[u8]) -> Result<(Vec<u8>, Vec<Attr>), DerError> {
    let seq = single(name_raw, TAG_SEQUENCE)?;
    let mut rdns = DerReader::new(seq.value);
    let mut canon = Vec::new();
    let mut attrs = Vec::new();
    while !rdns.is_empty() {
        let set = rdns.read_tag(TAG_SET)?;
        let mut entries = DerReader::new(set.value);
        let mut encoded: Vec<Vec<u8>> = Vec::new();
        while !entries.is_empty() {
            let atv = entries.read_tag(TAG_SEQUENCE)?;
            let mut r = DerReader::new(atv.value);
            let oid = r.read_tag(TAG_OID)?;
            let value = r.read()?;
            if !r.is_empty() {
                return Err(DerError);
            }
            let canonical_value = match value.tag {
                TAG_UTF8 | TAG_BMP | TAG_UNIVERSAL | TAG_PRINTABLE | TAG_T61 | TAG_IA5
                | TAG_VISIBLE => {
                    let utf8 = string_to_utf8(value.tag, value.value).ok_or(DerError)?;
                    encode_tlv(TAG_UTF8, &canon_text(&utf8))?
                }
                _ => value.raw.to_vec(),
            };
            let mut entry = oid.raw.to_vec();
            entry.extend_from_slice(&canonical_value);
            encoded.push(encode_tlv(TAG_SEQUENCE, &entry)?);
            attrs.push(Attr {
                oid: oid.value.to_vec(),
                tag: value.tag,
                value: value.value.to_vec(),
            });
        }
        if encoded.is_empty() {
            continue;
        }
        // DER SET OF order, as OpenSSL's encoder sorts.
        encoded.sort();
        canon.extend_from_slice(&encode_tlv(TAG_SET, &encoded.concat())?);
    }
    Ok((canon, attrs))
}

pub(super) fn display_name(name: &x509_cert::name::Name) -> String {
    let s = name.to_string();
    if s.is_empty() {
        return "(empty name)".into();
    }
    // RFC 4514 escapes most control characters; make sure nothing can break the line.
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
