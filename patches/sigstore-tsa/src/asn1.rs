//! ASN.1 types for RFC 3161 Time-Stamp Protocol
//!
//! This module defines the ASN.1 structures used in the Time-Stamp Protocol
//! as specified in RFC 3161.
//!
//! Modified by model-signing-rs (see PATCHES.md): `TstInfo.gen_time` is a
//! [`GenTime`], which accepts fractional seconds, instead of
//! `der::asn1::GeneralizedTime`.

use const_oid::ObjectIdentifier;
#[cfg(any(feature = "client", test))]
use der::{asn1::Uint, Encode};
use der::{
    asn1::{BitString, Int, OctetString},
    DateTime, DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer,
};
#[cfg(any(feature = "client", test))]
use rand::RngExt;
use sigstore_types::HashAlgorithm;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::{ext::pkix::name::GeneralName, ext::Extensions};

/// OID for SHA-256: 2.16.840.1.101.3.4.2.1
pub const OID_SHA256: ObjectIdentifier = const_oid::db::rfc5912::ID_SHA_256;

/// OID for SHA-384: 2.16.840.1.101.3.4.2.2
pub const OID_SHA384: ObjectIdentifier = const_oid::db::rfc5912::ID_SHA_384;

/// OID for SHA-512: 2.16.840.1.101.3.4.2.3
pub const OID_SHA512: ObjectIdentifier = const_oid::db::rfc5912::ID_SHA_512;

/// OID for id-ct-TSTInfo: 1.2.840.113549.1.9.16.1.4
pub const OID_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// Generates a random nonce for RFC 3161 timestamp requests.
///
/// Uses `der::asn1::Uint` to guarantee correct minimal positive DER INTEGER
/// encoding. Raw random bytes are passed through `Uint::new` which strips
/// leading zeros and adds sign-bit padding as required by DER.
#[cfg(any(feature = "client", test))]
pub fn generate_nonce() -> Int {
    let nonce: u64 = rand::rng().random();
    let uint = Uint::new(&nonce.to_be_bytes()).expect("valid uint from random u64");
    Int::from(uint)
}

/// Algorithm identifier with optional parameters
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct AlgorithmIdentifier {
    /// Algorithm OID
    pub algorithm: ObjectIdentifier,
    /// Optional parameters (usually NULL for hash algorithms)
    #[asn1(optional = "true")]
    pub parameters: Option<der::Any>,
}

impl AlgorithmIdentifier {
    /// Create a SHA-256 algorithm identifier
    pub fn sha256() -> Self {
        Self {
            algorithm: OID_SHA256,
            parameters: None,
        }
    }

    /// Create a SHA-384 algorithm identifier
    pub fn sha384() -> Self {
        Self {
            algorithm: OID_SHA384,
            parameters: None,
        }
    }

    /// Create a SHA-512 algorithm identifier
    pub fn sha512() -> Self {
        Self {
            algorithm: OID_SHA512,
            parameters: None,
        }
    }
}

impl TryFrom<HashAlgorithm> for AlgorithmIdentifier {
    type Error = crate::Error;

    fn try_from(algo: HashAlgorithm) -> Result<Self, Self::Error> {
        match algo {
            HashAlgorithm::Sha2256 => Ok(Self::sha256()),
            HashAlgorithm::Sha2384 => Ok(Self::sha384()),
            HashAlgorithm::Sha2512 => Ok(Self::sha512()),
            other => Err(crate::Error::Asn1(format!(
                "no RFC 3161 algorithm identifier for {other}"
            ))),
        }
    }
}

/// Message imprint containing hash algorithm and hashed message (ASN.1/DER format).
///
/// RFC 3161 Section 2.4.1
///
/// Note: This is different from `sigstore_types::MessageImprint` which is the
/// JSON/serde representation used in bundles.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Asn1MessageImprint {
    /// Hash algorithm used
    pub hash_algorithm: AlgorithmIdentifier,
    /// Hashed message
    pub hashed_message: OctetString,
}

#[cfg(any(feature = "client", test))]
impl Asn1MessageImprint {
    /// Create a new message imprint
    pub fn new(algorithm: AlgorithmIdentifier, digest: Vec<u8>) -> Self {
        Self {
            hash_algorithm: algorithm,
            hashed_message: OctetString::new(digest).expect("valid octet string"),
        }
    }
}

/// Time-stamp request
/// RFC 3161 Section 2.4.1
#[cfg(any(feature = "client", test))]
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// Version (must be 1)
    pub version: u8,
    /// Message imprint to be timestamped
    pub message_imprint: Asn1MessageImprint,
    /// Optional policy OID
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// Optional nonce
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// Whether to include certificates in response
    #[asn1(default = "default_false")]
    pub cert_req: bool,
    // Extensions omitted for simplicity
}

fn default_false() -> bool {
    false
}

#[cfg(any(feature = "client", test))]
impl TimeStampReq {
    /// Create a new timestamp request with an automatically generated nonce
    pub fn new(message_imprint: Asn1MessageImprint) -> Self {
        Self {
            version: 1,
            message_imprint,
            req_policy: None,
            nonce: Some(generate_nonce()),
            cert_req: true,
        }
    }

    /// Encode to DER
    pub fn to_der(&self) -> Result<Vec<u8>, der::Error> {
        Encode::to_der(self)
    }
}

/// PKI status values
/// RFC 3161 Section 2.4.2
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[repr(u8)]
pub enum PkiStatus {
    /// Granted
    Granted = 0,
    /// Granted with modifications
    GrantedWithMods = 1,
    /// Rejection
    Rejection = 2,
    /// Waiting
    Waiting = 3,
    /// Revocation warning
    RevocationWarning = 4,
    /// Revocation notification
    RevocationNotification = 5,
}

impl TryFrom<u8> for PkiStatus {
    type Error = ();

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(PkiStatus::Granted),
            1 => Ok(PkiStatus::GrantedWithMods),
            2 => Ok(PkiStatus::Rejection),
            3 => Ok(PkiStatus::Waiting),
            4 => Ok(PkiStatus::RevocationWarning),
            5 => Ok(PkiStatus::RevocationNotification),
            _ => Err(()),
        }
    }
}

/// PKI status info
/// RFC 3161 Section 2.4.2
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    /// Status value
    pub status: u8,
    /// Optional human-readable status text (PKIFreeText: SEQUENCE OF UTF8String).
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    /// Optional failure info
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// Accuracy of the timestamp
/// RFC 3161 Section 2.4.2
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    /// Seconds
    #[asn1(optional = "true")]
    pub seconds: Option<u64>,
    /// Milliseconds (1-999)
    #[asn1(context_specific = "0", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds (1-999)
    #[asn1(context_specific = "1", optional = "true")]
    pub micros: Option<u16>,
}

/// `TSTInfo.genTime`: a DER `GeneralizedTime` with optional fractional seconds.
///
/// RFC 3161 Section 2.4.2 defines genTime as `YYYYMMDDhhmmss[.s...]Z`, and
/// TSAs do emit fractions (e.g. milliseconds). `der::asn1::GeneralizedTime`
/// implements the RFC 5280 profile, which forbids them
/// (RustCrypto/formats#2061), so it cannot be used here.
///
/// Decoding follows the DER rules of X.690 Section 11.7: the time ends in
/// `Z`, seconds are present, the decimal separator is `.`, and the fraction
/// is non-empty without trailing zeros (so an all-zero fraction is written
/// without the point). The whole-second part is validated exactly as
/// `GeneralizedTime` does it (years 1970 to 9999). Fractions finer than a
/// nanosecond (more than 9 digits) are rejected rather than truncated, since
/// [`Duration`] cannot hold them; encoding therefore reproduces the input.
#[derive(Copy, Clone, Debug, Eq, PartialEq, PartialOrd, Ord)]
pub struct GenTime {
    /// Whole seconds.
    datetime: DateTime,
    /// Fraction of a second, in nanoseconds (less than 1_000_000_000).
    nanos: u32,
}

impl GenTime {
    /// Shortest encoding: `YYYYMMDDhhmmssZ`.
    const MIN_LENGTH: usize = 15;
    /// Longest encoding: `YYYYMMDDhhmmss.nnnnnnnnnZ`.
    const MAX_LENGTH: usize = Self::MIN_LENGTH + 1 + 9;

    /// The duration since `UNIX_EPOCH`, with the fractional seconds.
    pub fn to_unix_duration(self) -> Duration {
        self.datetime.unix_duration() + Duration::from_nanos(u64::from(self.nanos))
    }

    /// Convert to [`SystemTime`], with the fractional seconds.
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + self.to_unix_duration()
    }

    /// The fraction digits of the DER encoding (empty for whole seconds).
    fn fraction_digits(self) -> ([u8; 9], usize) {
        let mut digits = [0u8; 9];
        let mut n = self.nanos;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let len = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
        (digits, len)
    }
}

/// Two ASCII decimal digits.
fn decode_two_digits(hi: u8, lo: u8) -> der::Result<u8> {
    if hi.is_ascii_digit() && lo.is_ascii_digit() {
        Ok((hi - b'0') * 10 + (lo - b'0'))
    } else {
        Err(GenTime::TAG.value_error())
    }
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let len = usize::try_from(header.length)?;
        if !(Self::MIN_LENGTH..=Self::MAX_LENGTH).contains(&len) {
            return Err(Self::TAG.value_error());
        }
        let mut buf = [0u8; Self::MAX_LENGTH];
        let bytes = reader.read_into(&mut buf[..len])?;
        let (whole, rest) = bytes.split_at(14);
        let fraction = match rest {
            [b'Z'] => &[][..],
            [b'.', fraction @ .., b'Z'] if !fraction.is_empty() => fraction,
            _ => return Err(Self::TAG.value_error()),
        };
        // DER: digits only and no trailing zeros (at most 9, by the length check).
        if !fraction.iter().all(u8::is_ascii_digit) || fraction.last() == Some(&b'0') {
            return Err(Self::TAG.value_error());
        }
        let nanos = fraction
            .iter()
            .chain(core::iter::repeat(&b'0'))
            .take(9)
            .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
        let [y1, y2, y3, y4, mo1, mo2, d1, d2, h1, h2, mi1, mi2, s1, s2] = whole else {
            return Err(Self::TAG.value_error());
        };
        let year =
            u16::from(decode_two_digits(*y1, *y2)?) * 100 + u16::from(decode_two_digits(*y3, *y4)?);
        let datetime = DateTime::new(
            year,
            decode_two_digits(*mo1, *mo2)?,
            decode_two_digits(*d1, *d2)?,
            decode_two_digits(*h1, *h2)?,
            decode_two_digits(*mi1, *mi2)?,
            decode_two_digits(*s1, *s2)?,
        )
        .map_err(|_| Self::TAG.value_error())?;
        Ok(Self { datetime, nanos })
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        let (_, n) = self.fraction_digits();
        let len = Self::MIN_LENGTH + if n == 0 { 0 } else { 1 + n };
        len.try_into()
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        let dt = &self.datetime;
        let year = dt.year();
        let two = |v: u8| [b'0' + v / 10, b'0' + v % 10];
        writer.write(&two(u8::try_from(year / 100)?))?;
        writer.write(&two(u8::try_from(year % 100)?))?;
        for v in [dt.month(), dt.day(), dt.hour(), dt.minutes(), dt.seconds()] {
            writer.write(&two(v))?;
        }
        let (digits, n) = self.fraction_digits();
        if n > 0 {
            writer.write_byte(b'.')?;
            writer.write(&digits[..n])?;
        }
        writer.write_byte(b'Z')
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

/// TSTInfo - the actual timestamp token info
/// RFC 3161 Section 2.4.2
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// Version (must be 1)
    pub version: u8,
    /// Policy OID
    pub policy: ObjectIdentifier,
    /// Message imprint
    pub message_imprint: Asn1MessageImprint,
    /// Serial number
    pub serial_number: Int,
    /// Generation time (may have fractional seconds, see [`GenTime`])
    pub gen_time: GenTime,
    /// Accuracy
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// Ordering
    #[asn1(default = "default_false")]
    pub ordering: bool,
    /// Nonce
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// TSA name
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub tsa: Option<GeneralName>,
    /// Extensions
    #[asn1(context_specific = "1", optional = "true", tag_mode = "IMPLICIT")]
    pub extensions: Option<Extensions>,
}

/// Time-stamp response
/// RFC 3161 Section 2.4.2
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    /// Status information
    pub status: PkiStatusInfo,
    /// Time-stamp token (CMS ContentInfo)
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<der::Any>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;

    #[test]
    fn test_message_imprint_encode() {
        let digest = vec![0u8; 32]; // SHA-256 produces 32 bytes
        let imprint = Asn1MessageImprint::new(AlgorithmIdentifier::sha256(), digest);
        let der = Encode::to_der(&imprint).unwrap();
        assert!(!der.is_empty());
    }

    #[test]
    fn test_timestamp_req_encode() {
        let digest = vec![0u8; 32];
        let imprint = Asn1MessageImprint::new(AlgorithmIdentifier::sha256(), digest);
        let req = TimeStampReq::new(imprint);
        let der = req.to_der().unwrap();
        assert!(!der.is_empty());
    }

    #[test]
    fn test_timestamp_req_has_nonce() {
        let digest = vec![0u8; 32];
        let imprint = Asn1MessageImprint::new(AlgorithmIdentifier::sha256(), digest);
        let req = TimeStampReq::new(imprint);

        // Verify that the request has a nonce
        assert!(
            req.nonce.is_some(),
            "Nonce should be automatically generated"
        );
    }

    #[test]
    fn test_generate_nonce_roundtrips_as_canonical_der() {
        // Encode → decode round-trip. The der crate's Int decoder calls
        // `validate_canonical` internally, which rejects non-minimal
        // encodings (e.g. 0x00 0x35 — the same check Go's encoding/asn1
        // performs). If our nonce encoding is ever non-minimal, the
        // decode step will fail with a non-canonical error.
        for _ in 0..1000 {
            let nonce = generate_nonce();
            let encoded = Encode::to_der(&nonce).expect("DER encoding must succeed");
            let decoded = Int::from_der(&encoded);
            assert!(
                decoded.is_ok(),
                "nonce failed canonical DER round-trip: {:02x?} → {:?}",
                encoded,
                decoded.err()
            );
        }
    }

    #[test]
    fn test_uint_produces_canonical_der_for_problematic_patterns() {
        // These are the exact byte patterns that caused HTTP 400 with the
        // old code. Encode via Uint→Int, then decode to trigger
        // validate_canonical.

        let cases: &[&[u8]] = &[
            &[0x00, 0x35],             // leading zero unnecessary (0x35 high bit clear)
            &[0x00, 0xFF],             // leading zero IS needed (0xFF high bit set)
            &[0x00, 0x00, 0x42],       // two leading zeros, both unnecessary
            &[0x00, 0x00, 0x00, 0x01], // many leading zeros
        ];

        for input in cases {
            let uint = Uint::new(input).unwrap();
            let int = Int::from(uint);
            let encoded = Encode::to_der(&int).unwrap();
            let decoded = Int::from_der(&encoded);
            assert!(
                decoded.is_ok(),
                "input {:02x?} produced non-canonical DER: {:02x?} → {:?}",
                input,
                encoded,
                decoded.err()
            );
        }
    }

    /// DER GeneralizedTime TLV with the given contents.
    fn generalized_time(s: &str) -> Vec<u8> {
        let mut der = vec![0x18, s.len() as u8];
        der.extend_from_slice(s.as_bytes());
        der
    }

    fn gen_time(s: &str) -> der::Result<GenTime> {
        GenTime::from_der(&generalized_time(s))
    }

    #[test]
    fn test_gen_time_whole_seconds() {
        let t = gen_time("20261121224319Z").unwrap();
        assert_eq!(t.to_unix_duration(), Duration::from_secs(1_795_300_999));
        // Same value as the RFC 5280 GeneralizedTime this type replaces.
        let x509 =
            der::asn1::GeneralizedTime::from_der(&generalized_time("20261121224319Z")).unwrap();
        assert_eq!(t.to_system_time(), x509.to_system_time());
        assert_eq!(
            gen_time("19700101000000Z").unwrap().to_system_time(),
            UNIX_EPOCH
        );
        assert_eq!(
            gen_time("99991231235959Z").unwrap().to_unix_duration(),
            Duration::from_secs(253_402_300_799)
        );
        assert_eq!(
            gen_time("20240229120000Z").unwrap().to_unix_duration(),
            Duration::from_secs(1_709_208_000)
        );
    }

    #[test]
    fn test_gen_time_fractional_seconds() {
        let base = Duration::from_secs(1_795_300_999);
        for (s, nanos) in [
            ("20261121224319.9Z", 900_000_000),
            ("20261121224319.928Z", 928_000_000),
            ("20261121224319.05Z", 50_000_000),
            ("20261121224319.000001Z", 1_000),
            ("20261121224319.123456789Z", 123_456_789),
            ("20261121224319.000000001Z", 1),
        ] {
            let t = gen_time(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(
                t.to_unix_duration(),
                base + Duration::from_nanos(nanos),
                "{s}"
            );
            assert_eq!(
                t.to_system_time(),
                UNIX_EPOCH + base + Duration::from_nanos(nanos),
                "{s}"
            );
        }
        assert!(gen_time("20261121224319.5Z").unwrap() > gen_time("20261121224319Z").unwrap());
        assert!(gen_time("20261121224319.5Z").unwrap() < gen_time("20261121224320Z").unwrap());
    }

    #[test]
    fn test_gen_time_der_round_trip() {
        for s in [
            "20261121224319Z",
            "20261121224319.9Z",
            "20261121224319.05Z",
            "20261121224319.123456789Z",
            "19700101000000.1Z",
        ] {
            let der = generalized_time(s);
            let t = GenTime::from_der(&der).unwrap();
            assert_eq!(Encode::to_der(&t).unwrap(), der, "{s}");
        }
    }

    #[test]
    fn test_gen_time_rejects_malformed() {
        for s in [
            // DER fraction rules.
            "20261121224319.Z",
            "20261121224319.0Z",
            "20261121224319.50Z",
            "20261121224319.000Z",
            "20261121224319,5Z",
            "20261121224319.5aZ",
            "20261121224319.-5Z",
            "20261121224319.+5Z",
            "20261121224319. 5Z",
            // Finer than a nanosecond.
            "20261121224319.1234567891Z",
            // Z required: no local time, no offsets.
            "20261121224319",
            "20261121224319.5",
            "20261121224319+0000",
            "20261121224319.5+0100",
            "20261121224319z",
            "20261121224319ZZ",
            "20261121224319.5ZZ",
            // Seconds (and minutes) required.
            "202611212243Z",
            "2026112122Z",
            "202611212243.5Z",
            // Digits and ranges.
            "2026112122431aZ",
            "+0261121224319Z",
            " 0261121224319Z",
            "20261321224319Z",
            "20260001224319Z",
            "20261100224319Z",
            "20260230224319Z",
            "20251231245959Z",
            "20261121226019Z",
            "20261121224360Z",
            "19691231235959Z",
            "",
        ] {
            assert!(gen_time(s).is_err(), "{s:?} was accepted");
        }
        // Another tag.
        assert!(GenTime::from_der(b"\x17\x0d261121224319Z").is_err());
    }

    #[test]
    fn test_tst_info_with_fractional_gen_time() {
        let tst = TstInfo {
            version: 1,
            policy: ObjectIdentifier::new_unwrap("1.2.3.4"),
            message_imprint: Asn1MessageImprint::new(AlgorithmIdentifier::sha256(), vec![7; 32]),
            serial_number: generate_nonce(),
            gen_time: gen_time("20261121224319.928Z").unwrap(),
            accuracy: None,
            ordering: false,
            nonce: None,
            tsa: None,
            extensions: None,
        };
        let der = Encode::to_der(&tst).unwrap();
        let gt = generalized_time("20261121224319.928Z");
        assert!(der.windows(gt.len()).any(|w| w == gt.as_slice()));
        let decoded = TstInfo::from_der(&der).unwrap();
        assert_eq!(decoded, tst);
        assert_eq!(
            decoded.gen_time.to_system_time(),
            UNIX_EPOCH + Duration::from_millis(1_795_300_999_928)
        );
    }

    #[test]
    fn test_pki_status() {
        assert!(PkiStatus::try_from(0).is_ok());
        assert!(PkiStatus::try_from(5).is_ok());
        assert!(PkiStatus::try_from(6).is_err());
    }
}
