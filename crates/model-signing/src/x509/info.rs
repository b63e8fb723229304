//! The parsed certificate: what path validation needs of one certificate, and issuer matching.

use super::algorithm::{alg_id, key_type, KeyType, SigAlg};
use super::der::{
    bit_string_bytes, normalize_integer, single, DerReader, Tlv, TAG_BIT_STRING, TAG_INTEGER,
    TAG_OID, TAG_SEQUENCE,
};
use super::ext::{parse_extensions, Exts};
use super::name::{canonical_name, display_name, Attr};
use super::oid::{KU_KEY_CERT_SIGN, NS_ANY_CA};
use super::ChainError;
use der::Decode;

#[derive(Clone, Debug)]
pub(super) struct Info {
    v1: bool,
    serial: Vec<u8>,
    pub(super) tbs: Vec<u8>,
    pub(super) tbs_sig_alg_raw: Vec<u8>,
    pub(super) sig_alg_raw: Vec<u8>,
    pub(super) sig_oid: Vec<u8>,
    pub(super) sig_params: Option<Vec<u8>>,
    /// `None` when the BIT STRING has unused bits (OpenSSL refuses to verify it).
    pub(super) signature: Option<Vec<u8>>,
    issuer_canon: Vec<u8>,
    pub(super) subject_canon: Vec<u8>,
    pub(super) subject_attrs: Vec<Attr>,
    pub(super) subject_display: String,
    pub(super) issuer_display: String,
    pub(super) spki: Vec<u8>,
    pub(super) key_type: KeyType,
    pub(super) key_params: Option<Vec<u8>>,
    pub(super) key_bits: Option<Vec<u8>>,
    pub(super) not_before: i64,
    pub(super) not_after: i64,
    pub(super) exts: Exts,
    pub(super) self_issued: bool,
    pub(super) self_signed: bool,
}

impl Info {
    pub(super) fn parse(der: &[u8]) -> Result<Self, ChainError> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| ChainError::Parse(format!("not a DER X.509 certificate: {e}")))?;
        let tbs_cert = &cert.tbs_certificate;
        let malformed = |what: &str| ChainError::Parse(format!("malformed {what}"));

        let outer = single(der, TAG_SEQUENCE).map_err(|_| malformed("certificate"))?;
        let mut r = DerReader::new(outer.value);
        let tbs = r
            .read_tag(TAG_SEQUENCE)
            .map_err(|_| malformed("TBSCertificate"))?;
        let sig_alg = r
            .read_tag(TAG_SEQUENCE)
            .map_err(|_| malformed("signatureAlgorithm"))?;
        let sig_bits = r
            .read_tag(TAG_BIT_STRING)
            .map_err(|_| malformed("signature"))?;

        let mut t = DerReader::new(tbs.value);
        fn read<'a>(t: &mut DerReader<'a>, tag: u8, what: &str) -> Result<Tlv<'a>, ChainError> {
            t.read_tag(tag)
                .map_err(|_| ChainError::Parse(format!("malformed {what}")))
        }
        t.read_optional(0xa0).map_err(|_| malformed("version"))?;
        read(&mut t, TAG_INTEGER, "serialNumber")?;
        let tbs_sig_alg = read(&mut t, TAG_SEQUENCE, "signature")?;
        let issuer = read(&mut t, TAG_SEQUENCE, "issuer")?;
        read(&mut t, TAG_SEQUENCE, "validity")?;
        let subject = read(&mut t, TAG_SEQUENCE, "subject")?;
        let spki = read(&mut t, TAG_SEQUENCE, "subjectPublicKeyInfo")?;

        let (sig_oid, sig_params) =
            alg_id(sig_alg.raw).map_err(|_| malformed("signatureAlgorithm"))?;
        let (issuer_canon, _) = canonical_name(issuer.raw).map_err(|_| malformed("issuer name"))?;
        let (subject_canon, subject_attrs) =
            canonical_name(subject.raw).map_err(|_| malformed("subject name"))?;

        let mut k = DerReader::new(spki.value);
        let key_alg = k
            .read_tag(TAG_SEQUENCE)
            .map_err(|_| malformed("public key algorithm"))?;
        let key_bits = k
            .read_tag(TAG_BIT_STRING)
            .map_err(|_| malformed("public key"))?;
        let (key_oid, key_params) =
            alg_id(key_alg.raw).map_err(|_| malformed("public key algorithm"))?;

        let to_secs = |t: &x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let exts = parse_extensions(tbs_cert.extensions.as_deref().unwrap_or(&[]));

        let mut info = Info {
            v1: tbs_cert.version == x509_cert::certificate::Version::V1,
            serial: normalize_integer(tbs_cert.serial_number.as_bytes()),
            tbs: tbs.raw.to_vec(),
            tbs_sig_alg_raw: tbs_sig_alg.raw.to_vec(),
            sig_alg_raw: sig_alg.raw.to_vec(),
            sig_oid: sig_oid.to_vec(),
            sig_params: sig_params.map(|p| p.raw.to_vec()),
            signature: bit_string_bytes(sig_bits.value).map(<[u8]>::to_vec),
            self_issued: issuer_canon == subject_canon,
            issuer_canon,
            subject_canon,
            subject_attrs,
            subject_display: display_name(&tbs_cert.subject),
            issuer_display: display_name(&tbs_cert.issuer),
            spki: spki.raw.to_vec(),
            key_type: key_type(key_oid),
            key_params: key_params.map(|p| p.raw.to_vec()),
            key_bits: bit_string_bytes(key_bits.value).map(<[u8]>::to_vec),
            not_before: to_secs(&tbs_cert.validity.not_before),
            not_after: to_secs(&tbs_cert.validity.not_after),
            exts,
            self_signed: false,
        };
        // EXFLAG_SS: self-issued, AKID consistent with itself, signature algorithm fits the key.
        info.self_signed = info.self_issued
            && akid_allows(&info, &info)
            && SigAlg::from_oid(&info.sig_oid).is_some_and(|a| a.fits_key(info.key_type));
        Ok(info)
    }

    pub(super) fn valid_at(&self, at: i64) -> bool {
        self.not_before <= at && at < self.not_after
    }

    /// `X509_check_ca`: 0 = not a CA, 1 = CA by basicConstraints, 3 = v1 self-signed root,
    /// 4 = keyUsage keyCertSign without basicConstraints, 5 = Netscape CA.
    pub(super) fn check_ca(&self) -> u8 {
        let e = &self.exts;
        if e.key_usage.is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0) {
            return 0;
        }
        if let Some((ca, _)) = e.basic {
            return u8::from(ca);
        }
        if self.v1 && self.self_signed {
            3
        } else if e.key_usage.is_some() {
            4
        } else if e.ns_cert_type.is_some_and(|ns| ns & NS_ANY_CA != 0) {
            5
        } else {
            0
        }
    }

    pub(super) fn not_ca_reason(&self) -> String {
        let e = &self.exts;
        if e.key_usage.is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0) {
            "its keyUsage lacks keyCertSign".into()
        } else if matches!(e.basic, Some((false, _))) {
            "basicConstraints CA:FALSE".into()
        } else if e.basic.is_none() {
            "no basicConstraints CA:TRUE".into()
        } else {
            "not a CA".into()
        }
    }

    /// OpenSSL's `check_curve` plus the public key decoding `X509_get_pubkey_parameters` needs.
    pub(super) fn key_problem(&self, in_longer_chain: bool) -> Option<String> {
        if self.key_bits.is_none() {
            return Some("malformed public key".into());
        }
        match self.key_type {
            KeyType::Unknown => Some("unsupported public key algorithm".into()),
            KeyType::Ec => {
                let named = self
                    .key_params
                    .as_deref()
                    .is_some_and(|p| single(p, TAG_OID).is_ok());
                (!named && in_longer_chain)
                    .then(|| "EC key with explicit curve parameters".to_string())
            }
            _ => None,
        }
    }
}

/// `X509_check_akid(issuer, subject->akid) == X509_V_OK`.
fn akid_allows(issuer: &Info, subject: &Info) -> bool {
    let Some(akid) = &subject.exts.akid else {
        return true;
    };
    if let (Some(kid), Some(skid)) = (&akid.key_id, &issuer.exts.skid) {
        if kid != skid {
            return false;
        }
    }
    if let Some(serial) = &akid.serial {
        if *serial != issuer.serial {
            return false;
        }
    }
    if let Some(name) = &akid.issuer {
        if *name != issuer.issuer_canon {
            return false;
        }
    }
    true
}

/// `ossl_x509_likely_issued(issuer, subject)`, without the signature.
pub(super) fn likely_issued(issuer: &Info, subject: &Info) -> bool {
    issuer.subject_canon == subject.issuer_canon
        && akid_allows(issuer, subject)
        && SigAlg::from_oid(&subject.sig_oid).is_some_and(|a| a.fits_key(issuer.key_type))
}
