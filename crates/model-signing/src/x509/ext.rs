//! Extensions: general names and the extensions OpenSSL decodes for path validation.

use super::der::{
    bit_string_flags, integer_u64, normalize_integer, oid_string, single, DerError, DerReader, Tlv,
    TAG_BIT_STRING, TAG_BOOLEAN, TAG_INTEGER, TAG_OCTET_STRING, TAG_OID, TAG_SEQUENCE,
};
use super::name::canonical_name;
use super::oid::{OID_AS_IDS, OID_IP_ADDR_BLOCKS, OID_NETSCAPE_CERT_TYPE, OID_PROXY_CERT_INFO};
use const_oid::db::{rfc5280, rfc6960};
use const_oid::ObjectIdentifier;

#[derive(Clone, Debug)]
pub(super) enum GeneralName {
    Other(Vec<u8>),
    Email(Vec<u8>),
    Dns(Vec<u8>),
    X400,
    Dir(Vec<u8>),
    EdiParty,
    Uri(Vec<u8>),
    Ip(Vec<u8>),
    RegisteredId,
}

impl GeneralName {
    pub(super) fn kind(&self) -> u8 {
        match self {
            GeneralName::Other(_) => 0,
            GeneralName::Email(_) => 1,
            GeneralName::Dns(_) => 2,
            GeneralName::X400 => 3,
            GeneralName::Dir(_) => 4,
            GeneralName::EdiParty => 5,
            GeneralName::Uri(_) => 6,
            GeneralName::Ip(_) => 7,
            GeneralName::RegisteredId => 8,
        }
    }

    fn parse(tlv: Tlv<'_>) -> Result<Self, DerError> {
        Ok(match tlv.tag {
            0xa0 => {
                let mut r = DerReader::new(tlv.value);
                let oid = r.read_tag(TAG_OID)?;
                r.read_tag(0xa0)?;
                if !r.is_empty() {
                    return Err(DerError);
                }
                GeneralName::Other(oid.value.to_vec())
            }
            0x81 => GeneralName::Email(tlv.value.to_vec()),
            0x82 => GeneralName::Dns(tlv.value.to_vec()),
            0xa3 => GeneralName::X400,
            0xa4 => {
                let inner = single(tlv.value, TAG_SEQUENCE)?;
                GeneralName::Dir(canonical_name(inner.raw)?.0)
            }
            0xa5 => GeneralName::EdiParty,
            0x86 => GeneralName::Uri(tlv.value.to_vec()),
            0x87 => GeneralName::Ip(tlv.value.to_vec()),
            0x88 => GeneralName::RegisteredId,
            _ => return Err(DerError),
        })
    }

    pub(super) fn describe(&self) -> String {
        let text = |b: &[u8]| String::from_utf8_lossy(b).escape_debug().to_string();
        match self {
            GeneralName::Other(oid) => format!("otherName {}", oid_string(oid)),
            GeneralName::Email(v) => format!("email '{}'", text(v)),
            GeneralName::Dns(v) => format!("DNS name '{}'", text(v)),
            GeneralName::X400 => "x400Address".into(),
            GeneralName::Dir(_) => "directory name".into(),
            GeneralName::EdiParty => "ediPartyName".into(),
            GeneralName::Uri(v) => format!("URI '{}'", text(v)),
            GeneralName::Ip(v) => format!("IP address {}", hex::encode(v)),
            GeneralName::RegisteredId => "registeredID".into(),
        }
    }
}

fn parse_general_names(content: &[u8]) -> Result<Vec<GeneralName>, DerError> {
    let mut r = DerReader::new(content);
    let mut names = Vec::new();
    while !r.is_empty() {
        names.push(GeneralName::parse(r.read()?)?);
    }
    Ok(names)
}

#[derive(Clone, Debug)]
pub(super) struct Subtree {
    pub(super) base: GeneralName,
    /// `nc_minmax_valid`: minimum absent or 0 and maximum absent.
    pub(super) minmax_ok: bool,
}

#[derive(Clone, Debug, Default)]
pub(super) struct NameConstraints {
    pub(super) permitted: Vec<Subtree>,
    pub(super) excluded: Vec<Subtree>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Akid {
    pub(super) key_id: Option<Vec<u8>>,
    /// Canonical encoding of the first directoryName of authorityCertIssuer.
    pub(super) issuer: Option<Vec<u8>>,
    pub(super) serial: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Exts {
    pub(super) basic: Option<(bool, Option<u64>)>,
    pub(super) key_usage: Option<u16>,
    pub(super) ext_key_usage: Option<Vec<Vec<u8>>>,
    pub(super) ns_cert_type: Option<u8>,
    pub(super) skid: Option<Vec<u8>>,
    pub(super) akid: Option<Akid>,
    pub(super) san: Option<Vec<GeneralName>>,
    pub(super) name_constraints: Option<NameConstraints>,
    pub(super) proxy: bool,
    pub(super) rfc3779: bool,
    pub(super) unhandled_critical: Option<String>,
    pub(super) invalid: Option<String>,
}

/// Critical extensions OpenSSL's verifier understands (`X509_supported_extension`).
fn openssl_supports(oid: &ObjectIdentifier) -> bool {
    [
        OID_NETSCAPE_CERT_TYPE,
        rfc5280::ID_CE_KEY_USAGE,
        rfc5280::ID_CE_SUBJECT_ALT_NAME,
        rfc5280::ID_CE_BASIC_CONSTRAINTS,
        rfc5280::ID_CE_CERTIFICATE_POLICIES,
        rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS,
        rfc5280::ID_CE_EXT_KEY_USAGE,
        OID_IP_ADDR_BLOCKS,
        OID_AS_IDS,
        rfc6960::ID_PKIX_OCSP_NOCHECK,
        rfc5280::ID_CE_POLICY_CONSTRAINTS,
        OID_PROXY_CERT_INFO,
        rfc5280::ID_CE_NAME_CONSTRAINTS,
        rfc5280::ID_CE_POLICY_MAPPINGS,
        rfc5280::ID_CE_INHIBIT_ANY_POLICY,
    ]
    .contains(oid)
}

fn parse_basic_constraints(v: &[u8]) -> Result<(bool, Option<u64>), DerError> {
    let seq = single(v, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    // OpenSSL also accepts an explicitly encoded FALSE; any non-zero byte is TRUE.
    let ca = match r.read_optional(TAG_BOOLEAN)? {
        Some(b) => {
            let [byte] = b.value else {
                return Err(DerError);
            };
            *byte != 0
        }
        None => false,
    };
    let pathlen = match r.read_optional(TAG_INTEGER)? {
        Some(i) => integer_u64(i.value)?,
        None => None,
    };
    if !r.is_empty() {
        return Err(DerError);
    }
    Ok((ca, pathlen))
}

fn parse_key_usage(v: &[u8]) -> Result<u16, DerError> {
    let bits = single(v, TAG_BIT_STRING)?;
    let (b0, b1) = bit_string_flags(bits.value)?;
    let ku = u16::from(b0.unwrap_or(0)) | (u16::from(b1.unwrap_or(0)) << 8);
    if ku == 0 {
        return Err(DerError); // RFC 5280: at least one bit; OpenSSL marks the cert invalid
    }
    Ok(ku)
}

fn parse_eku(v: &[u8]) -> Result<Vec<Vec<u8>>, DerError> {
    let seq = single(v, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    let mut oids = Vec::new();
    while !r.is_empty() {
        oids.push(r.read_tag(TAG_OID)?.value.to_vec());
    }
    Ok(oids)
}

fn parse_akid(v: &[u8]) -> Result<Akid, DerError> {
    let seq = single(v, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    let key_id = r.read_optional(0x80)?.map(|t| t.value.to_vec());
    let issuer = match r.read_optional(0xa1)? {
        Some(t) => {
            let names = parse_general_names(t.value)?;
            names.into_iter().find_map(|n| match n {
                GeneralName::Dir(canon) => Some(canon),
                _ => None,
            })
        }
        None => None,
    };
    let serial = r.read_optional(0x82)?.map(|t| normalize_integer(t.value));
    if !r.is_empty() {
        return Err(DerError);
    }
    Ok(Akid {
        key_id,
        issuer,
        serial,
    })
}

fn parse_subtrees(content: &[u8]) -> Result<Vec<Subtree>, DerError> {
    let mut r = DerReader::new(content);
    let mut out = Vec::new();
    while !r.is_empty() {
        let sub = r.read_tag(TAG_SEQUENCE)?;
        let mut s = DerReader::new(sub.value);
        let base = GeneralName::parse(s.read()?)?;
        let minimum = s.read_optional(0x80)?;
        let maximum = s.read_optional(0x81)?;
        if !s.is_empty() {
            return Err(DerError);
        }
        let min_ok = match minimum {
            None => true,
            Some(m) => integer_u64(m.value).ok().flatten() == Some(0),
        };
        out.push(Subtree {
            base,
            minmax_ok: min_ok && maximum.is_none(),
        });
    }
    Ok(out)
}

fn parse_name_constraints(v: &[u8]) -> Result<NameConstraints, DerError> {
    let seq = single(v, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    let permitted = match r.read_optional(0xa0)? {
        Some(t) => parse_subtrees(t.value)?,
        None => Vec::new(),
    };
    let excluded = match r.read_optional(0xa1)? {
        Some(t) => parse_subtrees(t.value)?,
        None => Vec::new(),
    };
    if !r.is_empty() {
        return Err(DerError);
    }
    Ok(NameConstraints {
        permitted,
        excluded,
    })
}

/// Structure check of CRL distribution points, enough for OpenSSL's `setup_dp` validity rule
/// (each point names a distribution point or a CRL issuer).
fn check_crl_dist_points(v: &[u8]) -> Result<(), DerError> {
    let seq = single(v, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    while !r.is_empty() {
        let dp = r.read_tag(TAG_SEQUENCE)?;
        let mut d = DerReader::new(dp.value);
        let name = d.read_optional(0xa0)?;
        let _reasons = d.read_optional(0x81)?;
        let crl_issuer = d.read_optional(0xa2)?;
        if !d.is_empty() {
            return Err(DerError);
        }
        if let Some(ci) = crl_issuer {
            parse_general_names(ci.value)?;
        }
        if name.is_none() && crl_issuer.is_none_or(|c| c.value.is_empty()) {
            return Err(DerError);
        }
    }
    Ok(())
}

pub(super) fn parse_extensions(list: &[x509_cert::ext::Extension]) -> Exts {
    let mut exts = Exts::default();
    let mut seen: Vec<ObjectIdentifier> = Vec::new();
    for ext in list {
        let oid = ext.extn_id;
        let v = ext.extn_value.as_bytes();
        if ext.critical && !openssl_supports(&oid) && exts.unhandled_critical.is_none() {
            exts.unhandled_critical = Some(oid.to_string());
        }
        let name = match oid {
            o if o == rfc5280::ID_CE_BASIC_CONSTRAINTS => "basicConstraints",
            o if o == rfc5280::ID_CE_KEY_USAGE => "keyUsage",
            o if o == rfc5280::ID_CE_EXT_KEY_USAGE => "extendedKeyUsage",
            o if o == OID_NETSCAPE_CERT_TYPE => "nsCertType",
            o if o == rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER => "subjectKeyIdentifier",
            o if o == rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER => "authorityKeyIdentifier",
            o if o == rfc5280::ID_CE_SUBJECT_ALT_NAME => "subjectAltName",
            o if o == rfc5280::ID_CE_NAME_CONSTRAINTS => "nameConstraints",
            o if o == rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS => "cRLDistributionPoints",
            o if o == OID_PROXY_CERT_INFO => "proxyCertInfo",
            o if o == OID_IP_ADDR_BLOCKS => "ipAddrBlocks",
            o if o == OID_AS_IDS => "autonomousSysIds",
            _ => continue,
        };
        let mut fail = |why: &str| {
            if exts.invalid.is_none() {
                exts.invalid = Some(format!("{why} {name} extension"));
            }
        };
        // OpenSSL's X509_get_ext_d2i refuses duplicated extensions it decodes.
        if seen.contains(&oid) {
            fail("duplicate");
            continue;
        }
        seen.push(oid);
        let ok = match name {
            "basicConstraints" => parse_basic_constraints(v).map(|b| exts.basic = Some(b)),
            "keyUsage" => parse_key_usage(v).map(|k| exts.key_usage = Some(k)),
            "extendedKeyUsage" => parse_eku(v).map(|e| exts.ext_key_usage = Some(e)),
            "nsCertType" => single(v, TAG_BIT_STRING)
                .and_then(|b| bit_string_flags(b.value))
                .map(|(b0, _)| exts.ns_cert_type = Some(b0.unwrap_or(0))),
            "subjectKeyIdentifier" => {
                single(v, TAG_OCTET_STRING).map(|s| exts.skid = Some(s.value.to_vec()))
            }
            "authorityKeyIdentifier" => parse_akid(v).map(|a| exts.akid = Some(a)),
            "subjectAltName" => single(v, TAG_SEQUENCE)
                .and_then(|s| parse_general_names(s.value))
                .map(|n| exts.san = Some(n)),
            "nameConstraints" => parse_name_constraints(v).map(|n| exts.name_constraints = Some(n)),
            "cRLDistributionPoints" => check_crl_dist_points(v),
            "proxyCertInfo" => {
                exts.proxy = true;
                Ok(())
            }
            _ => {
                exts.rfc3779 = true;
                Ok(())
            }
        };
        if ok.is_err() {
            fail("malformed");
        }
    }
    exts
}
