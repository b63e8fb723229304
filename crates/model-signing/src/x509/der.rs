//! Minimal DER reader. x509-cert validates the certificate as a whole; extension contents and raw
//! names are read here so that they can be handled with OpenSSL's (sometimes lenient) semantics.
//!
//! The reader is our own rather than `der::SliceReader` because `der` rejects encodings that
//! OpenSSL's `ASN1_get_object` accepts inside extensions: non-minimal long-form lengths
//! (`81 05`, `82 00 05`) and tags `der::Tag` does not know, such as UniversalString (0x1c) in a
//! directoryName. See the test `der_reader_keeps_openssl_leniencies`.

use const_oid::ObjectIdentifier;

#[derive(Debug)]
pub(super) struct DerError;

#[derive(Clone, Copy)]
pub(super) struct Tlv<'a> {
    pub(super) tag: u8,
    pub(super) value: &'a [u8],
    pub(super) raw: &'a [u8],
}

pub(super) struct DerReader<'a> {
    rest: &'a [u8],
}

impl<'a> DerReader<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        DerReader { rest: data }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    pub(super) fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let input = self.rest;
        let tag = *input.first().ok_or(DerError)?;
        if tag & 0x1f == 0x1f {
            return Err(DerError); // high tag numbers do not occur in the structures read here
        }
        let first = *input.get(1).ok_or(DerError)?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2usize)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(DerError);
            }
            let bytes = input.get(2..2 + n).ok_or(DerError)?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        };
        let end = header.checked_add(len).ok_or(DerError)?;
        let raw = input.get(..end).ok_or(DerError)?;
        let value = raw.get(header..).ok_or(DerError)?;
        self.rest = input.get(end..).ok_or(DerError)?;
        Ok(Tlv { tag, value, raw })
    }

    pub(super) fn read_tag(&mut self, tag: u8) -> Result<Tlv<'a>, DerError> {
        let tlv = self.read()?;
        if tlv.tag != tag {
            return Err(DerError);
        }
        Ok(tlv)
    }

    pub(super) fn read_optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Reads exactly one TLV with `tag` spanning all of `data`.
pub(super) fn single(data: &[u8], tag: u8) -> Result<Tlv<'_>, DerError> {
    let mut r = DerReader::new(data);
    let tlv = r.read_tag(tag)?;
    if !r.is_empty() {
        return Err(DerError);
    }
    Ok(tlv)
}

/// DER TLV of `content` under `tag`. Fails only for a tag `der` does not know or content over
/// 256 MiB, neither of which a bounded certificate can produce.
pub(super) fn encode_tlv(tag: u8, content: &[u8]) -> Result<Vec<u8>, DerError> {
    use der::Encode as _;
    let tag = der::Tag::try_from(tag).map_err(|_| DerError)?;
    let header = der::Header::new(tag, content.len()).map_err(|_| DerError)?;
    let mut out = Vec::with_capacity(content.len() + 6);
    header.encode_to_vec(&mut out).map_err(|_| DerError)?;
    out.extend_from_slice(content);
    Ok(out)
}

pub(super) const TAG_BOOLEAN: u8 = 0x01;
pub(super) const TAG_INTEGER: u8 = 0x02;
pub(super) const TAG_BIT_STRING: u8 = 0x03;
pub(super) const TAG_OCTET_STRING: u8 = 0x04;
pub(super) const TAG_OID: u8 = 0x06;
pub(super) const TAG_UTF8: u8 = 0x0c;
pub(super) const TAG_NUMERIC: u8 = 0x12;
pub(super) const TAG_PRINTABLE: u8 = 0x13;
pub(super) const TAG_T61: u8 = 0x14;
pub(super) const TAG_IA5: u8 = 0x16;
pub(super) const TAG_UTC_TIME: u8 = 0x17;
pub(super) const TAG_GENERALIZED_TIME: u8 = 0x18;
pub(super) const TAG_VISIBLE: u8 = 0x1a;
pub(super) const TAG_UNIVERSAL: u8 = 0x1c;
pub(super) const TAG_BMP: u8 = 0x1e;
pub(super) const TAG_SEQUENCE: u8 = 0x30;
pub(super) const TAG_SET: u8 = 0x31;

/// Content of a BIT STRING with no unused bits (signatures, keys).
pub(super) fn bit_string_bytes(value: &[u8]) -> Option<&[u8]> {
    match value.split_first() {
        Some((0, rest)) => Some(rest),
        _ => None,
    }
}

/// The first two data bytes of a BIT STRING with unused bits cleared, as OpenSSL reads flag
/// strings (keyUsage, Netscape cert type).
pub(super) fn bit_string_flags(value: &[u8]) -> Result<(Option<u8>, Option<u8>), DerError> {
    let (unused, data) = value.split_first().ok_or(DerError)?;
    if *unused > 7 || (data.is_empty() && *unused != 0) {
        return Err(DerError);
    }
    let mut bytes: Vec<u8> = data.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last &= 0xffu8 << unused;
    }
    Ok((bytes.first().copied(), bytes.get(1).copied()))
}

/// Removes redundant leading sign bytes so that equal integers compare equal.
pub(super) fn normalize_integer(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes;
    while let [first, second, ..] = b {
        let redundant =
            (*first == 0 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0);
        if !redundant {
            break;
        }
        b = b.get(1..).unwrap_or(&[]);
    }
    b.to_vec()
}

/// Value of a non-negative INTEGER; `Err` for negative values, `Ok(None)` for values too large
/// for OpenSSL's `long` (OpenSSL then ignores them).
pub(super) fn integer_u64(bytes: &[u8]) -> Result<Option<u64>, DerError> {
    let first = *bytes.first().ok_or(DerError)?;
    if first & 0x80 != 0 {
        return Err(DerError);
    }
    let n = normalize_integer(bytes);
    let n = n.strip_prefix(&[0u8]).unwrap_or(&n);
    if n.len() > 8 {
        return Ok(None);
    }
    let v = n.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Ok((v <= i64::MAX as u64).then_some(v))
}

pub(super) fn oid_string(raw: &[u8]) -> String {
    ObjectIdentifier::from_bytes(raw)
        .map(|o| o.to_string())
        .unwrap_or_else(|_| format!("(malformed OID {})", hex::encode(raw)))
}
