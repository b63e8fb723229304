//! Algorithms: key and signature algorithm identification, and the signature check of a
//! certificate by its issuer.

use super::der::{
    integer_u64, oid_string, single, DerError, DerReader, Tlv, TAG_INTEGER, TAG_OID, TAG_SEQUENCE,
};
use super::info::Info;
use super::oid::{oid_eq, OID_DH, OID_ECDSA_WITH_SHA1, OID_SECP256K1};
use aws_lc_rs::digest;
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::db::{rfc5912, rfc8410};
use const_oid::ObjectIdentifier;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyType {
    Rsa,
    RsaPss,
    Ec,
    Ed25519,
    Ed448,
    Dsa,
    X25519,
    X448,
    Dh,
    Unknown,
}

pub(super) fn key_type(oid: &[u8]) -> KeyType {
    let table = [
        (&rfc5912::RSA_ENCRYPTION, KeyType::Rsa),
        (&rfc5912::ID_RSASSA_PSS, KeyType::RsaPss),
        (&rfc5912::ID_EC_PUBLIC_KEY, KeyType::Ec),
        (&rfc8410::ID_ED_25519, KeyType::Ed25519),
        (&rfc8410::ID_ED_448, KeyType::Ed448),
        (&rfc5912::ID_DSA, KeyType::Dsa),
        (&rfc8410::ID_X_25519, KeyType::X25519),
        (&rfc8410::ID_X_448, KeyType::X448),
        (&OID_DH, KeyType::Dh),
        (&rfc5912::DHPUBLICNUMBER, KeyType::Dh),
    ];
    table
        .iter()
        .find(|(o, _)| oid_eq(oid, o))
        .map_or(KeyType::Unknown, |(_, t)| *t)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    fn len(self) -> u64 {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    pub(super) fn digest(self, data: &[u8]) -> digest::Digest {
        let alg = match self {
            HashAlg::Sha256 => &digest::SHA256,
            HashAlg::Sha384 => &digest::SHA384,
            HashAlg::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data)
    }

    fn from_oid(oid: &[u8]) -> Option<Self> {
        if oid_eq(oid, &rfc5912::ID_SHA_256) {
            Some(HashAlg::Sha256)
        } else if oid_eq(oid, &rfc5912::ID_SHA_384) {
            Some(HashAlg::Sha384)
        } else if oid_eq(oid, &rfc5912::ID_SHA_512) {
            Some(HashAlg::Sha512)
        } else {
            None
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) enum SigAlg {
    Ecdsa(HashAlg),
    RsaPkcs1(HashAlg),
    RsaPss,
    Ed25519,
    /// Known to OpenSSL (so it takes part in issuer matching) but not verified here.
    Unsupported(&'static str, KeyType),
}

impl SigAlg {
    pub(super) fn from_oid(oid: &[u8]) -> Option<Self> {
        use rfc5912::*;
        // Compared by arcs, not bytes: x509-cert accepts arcs padded with 0x80 octets, and such
        // an OID has always named the same algorithm here as its minimal encoding.
        let parsed = ObjectIdentifier::from_bytes(oid).ok()?;
        Some(match ObjectIdentifier::from_arcs(parsed.arcs()).ok()? {
            ECDSA_WITH_SHA_256 => SigAlg::Ecdsa(HashAlg::Sha256),
            ECDSA_WITH_SHA_384 => SigAlg::Ecdsa(HashAlg::Sha384),
            ECDSA_WITH_SHA_512 => SigAlg::Ecdsa(HashAlg::Sha512),
            SHA_256_WITH_RSA_ENCRYPTION => SigAlg::RsaPkcs1(HashAlg::Sha256),
            SHA_384_WITH_RSA_ENCRYPTION => SigAlg::RsaPkcs1(HashAlg::Sha384),
            SHA_512_WITH_RSA_ENCRYPTION => SigAlg::RsaPkcs1(HashAlg::Sha512),
            ID_RSASSA_PSS => SigAlg::RsaPss,
            rfc8410::ID_ED_25519 => SigAlg::Ed25519,
            OID_ECDSA_WITH_SHA1 => SigAlg::Unsupported("ecdsa-with-SHA1", KeyType::Ec),
            ECDSA_WITH_SHA_224 => SigAlg::Unsupported("ecdsa-with-SHA224", KeyType::Ec),
            MD_5_WITH_RSA_ENCRYPTION => SigAlg::Unsupported("md5WithRSAEncryption", KeyType::Rsa),
            SHA_1_WITH_RSA_ENCRYPTION => SigAlg::Unsupported("sha1WithRSAEncryption", KeyType::Rsa),
            SHA_224_WITH_RSA_ENCRYPTION => {
                SigAlg::Unsupported("sha224WithRSAEncryption", KeyType::Rsa)
            }
            rfc8410::ID_ED_448 => SigAlg::Unsupported("Ed448", KeyType::Ed448),
            DSA_WITH_SHA_1 => SigAlg::Unsupported("dsa-with-SHA1", KeyType::Dsa),
            DSA_WITH_SHA_224 => SigAlg::Unsupported("dsa-with-SHA224", KeyType::Dsa),
            DSA_WITH_SHA_256 => SigAlg::Unsupported("dsa-with-SHA256", KeyType::Dsa),
            _ => return None,
        })
    }

    /// OpenSSL's `check_sig_alg_match`: may a key of type `key` have made this signature?
    pub(super) fn fits_key(self, key: KeyType) -> bool {
        match self {
            SigAlg::Ecdsa(_) => key == KeyType::Ec,
            SigAlg::RsaPkcs1(_) => key == KeyType::Rsa,
            SigAlg::RsaPss => key == KeyType::Rsa || key == KeyType::RsaPss,
            SigAlg::Ed25519 => key == KeyType::Ed25519,
            SigAlg::Unsupported(_, k) => key == k,
        }
    }
}

#[derive(Clone, Debug)]
pub(super) enum SigFailure {
    Mismatch,
    Unsupported(String),
}

/// Hash and salt length of RSASSA-PSS parameters with MGF1 over the same hash and trailer
/// field 1 (the only combinations aws-lc-rs verifies).
fn pss_params(params: Option<&[u8]>) -> Result<(HashAlg, u64), String> {
    let unsupported = |what: &str| format!("RSASSA-PSS with {what}");
    let params = params.ok_or_else(|| unsupported("absent parameters"))?;
    let seq = single(params, TAG_SEQUENCE).map_err(|_| unsupported("malformed parameters"))?;
    let mut r = DerReader::new(seq.value);
    let malformed = |_| unsupported("malformed parameters");
    let hash_alg = r.read_optional(0xa0).map_err(malformed)?;
    let mgf = r.read_optional(0xa1).map_err(malformed)?;
    let salt = r.read_optional(0xa2).map_err(malformed)?;
    let trailer = r.read_optional(0xa3).map_err(malformed)?;
    if !r.is_empty() {
        return Err(unsupported("malformed parameters"));
    }
    let hash = match hash_alg {
        None => return Err(unsupported("SHA-1")),
        Some(t) => {
            let (oid, _) = alg_id(t.value).map_err(malformed)?;
            HashAlg::from_oid(oid)
                .ok_or_else(|| unsupported(&format!("hash {}", oid_string(oid))))?
        }
    };
    let mgf_ok = match mgf {
        None => false,
        Some(t) => {
            let (oid, p) = alg_id(t.value).map_err(malformed)?;
            let inner = p.and_then(|p| alg_id(p.raw).ok());
            oid_eq(oid, &rfc5912::ID_MGF_1)
                && inner.and_then(|(h, _)| HashAlg::from_oid(h)) == Some(hash)
        }
    };
    if !mgf_ok {
        return Err(unsupported(
            "an MGF other than MGF1 with the signature hash",
        ));
    }
    let salt_len = match salt {
        None => Some(20),
        Some(t) => single(t.value, TAG_INTEGER)
            .ok()
            .and_then(|i| integer_u64(i.value).ok().flatten()),
    };
    let salt_len = salt_len.ok_or_else(|| unsupported("a malformed salt length"))?;
    if let Some(t) = trailer {
        let v = single(t.value, TAG_INTEGER)
            .ok()
            .and_then(|i| integer_u64(i.value).ok().flatten());
        if v != Some(1) {
            return Err(unsupported("a trailer field other than 1"));
        }
    }
    Ok((hash, salt_len))
}

/// Splits an AlgorithmIdentifier TLV into its OID and optional parameters.
pub(super) fn alg_id(raw: &[u8]) -> Result<(&[u8], Option<Tlv<'_>>), DerError> {
    let seq = single(raw, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    let oid = r.read_tag(TAG_OID)?;
    let params = if r.is_empty() { None } else { Some(r.read()?) };
    if !r.is_empty() {
        return Err(DerError);
    }
    Ok((oid.value, params))
}

/// Verifies that `issuer`'s key made the signature on `child`, as OpenSSL's `X509_verify`.
/// Verifies the signature on `child` with `issuer`'s key.
///
/// `digest_of(hash)` must return the `hash` digest of `child.tbs`. ECDSA and RSA signatures are
/// verified over that precomputed digest (aws-lc-rs `verify_digest`, which checks that the
/// digest's algorithm is the verifier's), so that [`PathBuilder`] hashes each TBSCertificate once
/// per hash algorithm however many look-alike issuers it tries. Ed25519 (PureEdDSA) signs the
/// message itself and has no prehashed form; those checks hash the TBSCertificate each time,
/// which the per-pair memo of [`PathBuilder`] and [`MAX_CERTIFICATE_BYTES`] bound.
///
/// [`PathBuilder`]: super::path::PathBuilder
/// [`MAX_CERTIFICATE_BYTES`]: super::MAX_CERTIFICATE_BYTES
pub(super) fn verify_signed_by(
    child: &Info,
    issuer: &Info,
    digest_of: &mut dyn FnMut(HashAlg) -> digest::Digest,
) -> Result<(), SigFailure> {
    // X509_verify refuses certificates whose two signature algorithm fields differ.
    if child.sig_alg_raw != child.tbs_sig_alg_raw {
        return Err(SigFailure::Mismatch);
    }
    let signature = child.signature.as_deref().ok_or(SigFailure::Mismatch)?;
    let alg = SigAlg::from_oid(&child.sig_oid)
        .ok_or_else(|| SigFailure::Unsupported(format!("OID {}", oid_string(&child.sig_oid))))?;
    if !alg.fits_key(issuer.key_type) {
        return Err(SigFailure::Mismatch);
    }
    let key_bits = issuer.key_bits.as_deref().ok_or(SigFailure::Mismatch)?;
    let (verifier, prehash): (&'static dyn VerificationAlgorithm, Option<HashAlg>) = match alg {
        SigAlg::Ecdsa(hash) => {
            let curve = issuer
                .key_params
                .as_deref()
                .and_then(|p| single(p, TAG_OID).ok())
                .map(|t| t.value)
                .ok_or(SigFailure::Mismatch)?;
            let verifier = ecdsa_algorithm(curve, hash).ok_or_else(|| {
                SigFailure::Unsupported(format!(
                    "ECDSA on curve {} with {hash:?}",
                    oid_string(curve)
                ))
            })?;
            (verifier, Some(hash))
        }
        SigAlg::RsaPkcs1(hash) => {
            let verifier: &'static dyn VerificationAlgorithm = match hash {
                HashAlg::Sha256 => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                HashAlg::Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                HashAlg::Sha512 => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            };
            (verifier, Some(hash))
        }
        SigAlg::RsaPss => {
            let (hash, salt) =
                pss_params(child.sig_params.as_deref()).map_err(SigFailure::Unsupported)?;
            (pss_algorithm(hash, salt, key_bits)?, Some(hash))
        }
        SigAlg::Ed25519 => {
            // OpenSSL requires absent parameters for EdDSA.
            if child.sig_params.is_some() {
                return Err(SigFailure::Mismatch);
            }
            (&sig::ED25519, None)
        }
        SigAlg::Unsupported(name, _) => return Err(SigFailure::Unsupported(name.to_string())),
    };
    let key = UnparsedPublicKey::new(verifier, key_bits);
    match prehash {
        Some(hash) => key.verify_digest(&digest_of(hash), signature),
        None => key.verify(&child.tbs, signature),
    }
    .map_err(|_| SigFailure::Mismatch)
}

const RSA_PSS_SHA256_MAX_SALT: sig::RsaParameters =
    sig::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(sig::RsaPssSaltLength::Max);
const RSA_PSS_SHA384_MAX_SALT: sig::RsaParameters =
    sig::RSA_PSS_2048_8192_SHA384.with_pss_salt_length(sig::RsaPssSaltLength::Max);
const RSA_PSS_SHA512_MAX_SALT: sig::RsaParameters =
    sig::RSA_PSS_2048_8192_SHA512.with_pss_salt_length(sig::RsaPssSaltLength::Max);

/// aws-lc-rs verifies PSS with a salt as long as the hash (the usual choice) or the maximal salt
/// for the key (OpenSSL's default when signing); other lengths are not supported.
fn pss_algorithm(
    hash: HashAlg,
    salt: u64,
    rsa_public_key: &[u8],
) -> Result<&'static dyn VerificationAlgorithm, SigFailure> {
    if salt == hash.len() {
        return Ok(match hash {
            HashAlg::Sha256 => &sig::RSA_PSS_2048_8192_SHA256,
            HashAlg::Sha384 => &sig::RSA_PSS_2048_8192_SHA384,
            HashAlg::Sha512 => &sig::RSA_PSS_2048_8192_SHA512,
        });
    }
    let bits =
        sig::RsaParameters::public_modulus_len(rsa_public_key).map_err(|_| SigFailure::Mismatch)?;
    // RFC 8017: emLen = ceil((modBits - 1) / 8); the largest salt is emLen - hLen - 2.
    let em_len = (u64::from(bits) + 6) / 8;
    if em_len.checked_sub(hash.len() + 2) == Some(salt) {
        return Ok(match hash {
            HashAlg::Sha256 => &RSA_PSS_SHA256_MAX_SALT,
            HashAlg::Sha384 => &RSA_PSS_SHA384_MAX_SALT,
            HashAlg::Sha512 => &RSA_PSS_SHA512_MAX_SALT,
        });
    }
    Err(SigFailure::Unsupported(format!(
        "RSASSA-PSS with a {salt}-byte salt (only the hash length or the maximum are supported)"
    )))
}

fn ecdsa_algorithm(curve: &[u8], hash: HashAlg) -> Option<&'static dyn VerificationAlgorithm> {
    let alg: &'static dyn VerificationAlgorithm = if oid_eq(curve, &rfc5912::SECP_256_R_1) {
        match hash {
            HashAlg::Sha256 => &sig::ECDSA_P256_SHA256_ASN1,
            HashAlg::Sha384 => &sig::ECDSA_P256_SHA384_ASN1,
            HashAlg::Sha512 => &sig::ECDSA_P256_SHA512_ASN1,
        }
    } else if oid_eq(curve, &rfc5912::SECP_384_R_1) {
        match hash {
            HashAlg::Sha256 => &sig::ECDSA_P384_SHA256_ASN1,
            HashAlg::Sha384 => &sig::ECDSA_P384_SHA384_ASN1,
            HashAlg::Sha512 => &sig::ECDSA_P384_SHA512_ASN1,
        }
    } else if oid_eq(curve, &rfc5912::SECP_521_R_1) {
        match hash {
            HashAlg::Sha256 => &sig::ECDSA_P521_SHA256_ASN1,
            HashAlg::Sha384 => &sig::ECDSA_P521_SHA384_ASN1,
            HashAlg::Sha512 => &sig::ECDSA_P521_SHA512_ASN1,
        }
    } else if oid_eq(curve, &OID_SECP256K1) && hash == HashAlg::Sha256 {
        &sig::ECDSA_P256K1_SHA256_ASN1
    } else {
        return None;
    };
    Some(alg)
}
