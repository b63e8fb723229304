//! EC key loading, signing and verification (P-256, P-384, P-521) on aws-lc-rs.
//!
//! OMS key-based signing only allows ECDSA on the NIST curves, each with "its" hash
//! (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512), so this module deliberately refuses every other
//! key type with a message that names what was found instead.
//!
//! Private keys are read in every PEM flavour OpenSSL and Python `cryptography` write:
//! PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`, optionally after an `EC PARAMETERS` block),
//! encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2 with PBKDF2 or scrypt) and the traditional
//! OpenSSL encrypted PEM (`Proc-Type: 4,ENCRYPTED` + `DEK-Info`). Password handling follows
//! Python `cryptography`: an encrypted key needs a password, and a password for a key that is not
//! encrypted is an error rather than silently ignored.
//!
//! Public keys are kept as a canonical `SubjectPublicKeyInfo` (named curve, uncompressed point),
//! because the key `hint` of OMS bundles is the SHA-256 of exactly that PEM text.

use std::fmt;

use aws_lc_rs::encoding::{AsBigEndian, EcPublicKeyUncompressedBin};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair,
};
use const_oid::db::{rfc5912, rfc8410};
use const_oid::ObjectIdentifier;
use der::Decode;
use thiserror::Error;

mod encrypted;
mod pem;
mod public;

use encrypted::{decrypt_pkcs8, decrypt_traditional, is_encrypted_proc_type};
use pem::{describe_tag, parse_pem_blocks, unsupported_tag, PRIVATE_KEY_EXPECTED};

pub use public::PublicKey;

/// Errors from key loading, signing or signature verification.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The input holds no PEM block at all (empty, binary DER, or unrelated text).
    #[error("no PEM data found: expected {expected}")]
    NoPem {
        /// What kind of PEM data was expected.
        expected: &'static str,
    },
    /// The PEM framing or its base64 body is broken.
    #[error("malformed PEM: {0}")]
    MalformedPem(String),
    /// The PEM data holds something other than what was asked for (e.g. a certificate given as a key).
    #[error("expected {expected}, but the PEM data holds {found}")]
    WrongKind {
        /// What was expected.
        expected: &'static str,
        /// What was found instead.
        found: String,
    },
    /// A well-formed key of a type or curve that OMS does not allow.
    #[error("unsupported key type {0}: only EC P-256, P-384 and P-521 keys are supported")]
    UnsupportedKeyType(String),
    /// A key file format this implementation does not read.
    #[error("unsupported key format: {0}")]
    UnsupportedFormat(String),
    /// The private key is encrypted and no password was given.
    #[error("the private key is encrypted: a password is required")]
    PasswordRequired,
    /// A password was given for a private key that is not encrypted.
    #[error("a password was given but the private key is not encrypted")]
    UnexpectedPassword,
    /// Decryption failed, or decrypted to something that is not a key.
    #[error("wrong password or corrupt encrypted key")]
    WrongPassword,
    /// The private key is encrypted with a cipher or KDF that is not supported.
    #[error("unsupported private key encryption: {0}")]
    UnsupportedEncryption(String),
    /// The key data is structurally invalid (bad DER, point not on the curve, ...).
    #[error("invalid {what}: {detail}")]
    InvalidKey {
        /// Which structure was being read.
        what: &'static str,
        /// Why it was rejected.
        detail: String,
    },
    /// The crypto backend failed to sign.
    #[error("signing failed")]
    SigningFailed,
    /// The signature does not match the message and key (or is not a valid DER ECDSA signature).
    #[error("signature verification failed")]
    VerificationFailed,
}

/// Maps a failure to parse freshly decrypted key material. A wrong password yields garbage that
/// sometimes survives the padding check and then fails anywhere in the DER parser, so every parse
/// failure means "wrong password"; only a well-formed key of a refused type keeps its own message.
fn after_decryption(e: KeyError) -> KeyError {
    match e {
        KeyError::UnsupportedKeyType(t) => KeyError::UnsupportedKeyType(t),
        _ => KeyError::WrongPassword,
    }
}

impl KeyError {
    fn invalid(what: &'static str, detail: impl fmt::Display) -> Self {
        KeyError::InvalidKey {
            what,
            detail: detail.to_string(),
        }
    }
}

/// The elliptic curves OMS allows, each with its own ECDSA hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256 with SHA-256.
    P256,
    /// NIST P-384 with SHA-384.
    P384,
    /// NIST P-521 with SHA-512.
    P521,
}

impl Curve {
    /// All supported curves.
    pub const ALL: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    /// The NIST name, e.g. `"P-256"`.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// The hash ECDSA uses with this curve (P-256: SHA-256, P-384: SHA-384, P-521: SHA-512).
    pub fn sig_hash(self) -> SigHash {
        match self {
            Curve::P256 => SigHash::Sha256,
            Curve::P384 => SigHash::Sha384,
            Curve::P521 => SigHash::Sha512,
        }
    }

    /// The named-curve OID (`prime256v1`, `secp384r1`, `secp521r1`).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Curve::P256 => rfc5912::SECP_256_R_1,
            Curve::P384 => rfc5912::SECP_384_R_1,
            Curve::P521 => rfc5912::SECP_521_R_1,
        }
    }

    /// The curve for a named-curve OID, if it is one of the supported curves.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Curve> {
        Curve::ALL.into_iter().find(|c| c.oid() == *oid)
    }

    /// Size in bytes of a field element / private scalar (32, 48, 66).
    pub fn scalar_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// Length of the uncompressed SEC1 point `04 || X || Y`.
    fn uncompressed_point_len(self) -> usize {
        1 + 2 * self.scalar_len()
    }

    /// DER `SubjectPublicKeyInfo` of an uncompressed point on this curve: namedCurve
    /// parameters, the form OpenSSL and Python emit (and hash into the hint).
    fn spki_der(self, uncompressed_point: &[u8]) -> Result<Vec<u8>, KeyError> {
        use der::Encode as _;
        let curve = self.oid();
        spki::SubjectPublicKeyInfoRef {
            algorithm: spki::AlgorithmIdentifierRef {
                oid: rfc5912::ID_EC_PUBLIC_KEY,
                parameters: Some(der::asn1::AnyRef::from(&curve)),
            },
            subject_public_key: der::asn1::BitStringRef::from_bytes(uncompressed_point)
                .map_err(|e| KeyError::invalid("EC public key", e))?,
        }
        .to_der()
        .map_err(|e| KeyError::invalid("EC public key", e))
    }

    fn signing_alg(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            Curve::P521 => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
        }
    }

    /// aws-lc-rs has a verification algorithm for every curve/hash pair we need, including the
    /// "mismatched" ones legacy bundles use (e.g. P-384 with SHA-256).
    fn verification_alg(self, hash: SigHash) -> &'static EcdsaVerificationAlgorithm {
        match (self, hash) {
            (Curve::P256, SigHash::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
            (Curve::P256, SigHash::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
            (Curve::P256, SigHash::Sha512) => &signature::ECDSA_P256_SHA512_ASN1,
            (Curve::P384, SigHash::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
            (Curve::P384, SigHash::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
            (Curve::P384, SigHash::Sha512) => &signature::ECDSA_P384_SHA512_ASN1,
            (Curve::P521, SigHash::Sha256) => &signature::ECDSA_P521_SHA256_ASN1,
            (Curve::P521, SigHash::Sha384) => &signature::ECDSA_P521_SHA384_ASN1,
            (Curve::P521, SigHash::Sha512) => &signature::ECDSA_P521_SHA512_ASN1,
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The hash used for an ECDSA signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl SigHash {
    /// The digest algorithm, for hashing a message in pieces.
    pub fn digest_alg(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            SigHash::Sha256 => &aws_lc_rs::digest::SHA256,
            SigHash::Sha384 => &aws_lc_rs::digest::SHA384,
            SigHash::Sha512 => &aws_lc_rs::digest::SHA512,
        }
    }

    /// The usual name, e.g. `"SHA-256"`.
    pub fn name(self) -> &'static str {
        match self {
            SigHash::Sha256 => "SHA-256",
            SigHash::Sha384 => "SHA-384",
            SigHash::Sha512 => "SHA-512",
        }
    }
}

impl fmt::Display for SigHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An EC private key able to make DER ECDSA signatures with its curve's hash.
pub struct PrivateKey {
    curve: Curve,
    key_pair: EcdsaKeyPair,
    public: PublicKey,
}

impl fmt::Debug for PrivateKey {
    // Never print key material, not even by accident through `{:?}` in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("curve", &self.curve)
            .field("public_key_hint", &self.public.hint())
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Loads a PEM private key: PKCS#8, SEC1, encrypted PKCS#8 or traditional encrypted OpenSSL PEM.
    ///
    /// Text around the PEM block and an `EC PARAMETERS` block before the key are ignored, as
    /// OpenSSL does. `password` must be given exactly when the key is encrypted.
    pub fn from_pem(pem: &[u8], password: Option<&[u8]>) -> Result<Self, KeyError> {
        let blocks = parse_pem_blocks(pem, PRIVATE_KEY_EXPECTED)?;

        // `openssl ecparam -genkey` writes the curve in a separate block before the key.
        let params_curve = blocks
            .iter()
            .find(|b| b.tag == "EC PARAMETERS")
            .and_then(|b| ObjectIdentifier::from_der(&b.der).ok());

        let Some(block) = blocks.iter().find(|b| {
            matches!(
                b.tag.as_str(),
                "PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY"
            ) || unsupported_tag(&b.tag).is_some()
        }) else {
            let found = blocks
                .iter()
                .find(|b| b.tag != "EC PARAMETERS")
                .or(blocks.first())
                .map_or_else(|| "nothing".to_owned(), |b| describe_tag(&b.tag));
            return Err(KeyError::WrongKind {
                expected: "a private key",
                found,
            });
        };

        match block.tag.as_str() {
            "PRIVATE KEY" => {
                if password.is_some() {
                    return Err(KeyError::UnexpectedPassword);
                }
                Self::from_pkcs8_der(&block.der)
            }
            "ENCRYPTED PRIVATE KEY" => {
                let password = password.ok_or(KeyError::PasswordRequired)?;
                let plain = decrypt_pkcs8(&block.der, password)?;
                Self::from_pkcs8_der(plain.as_bytes()).map_err(after_decryption)
            }
            "EC PRIVATE KEY" => {
                if block
                    .proc_type
                    .as_deref()
                    .is_some_and(is_encrypted_proc_type)
                {
                    let password = password.ok_or(KeyError::PasswordRequired)?;
                    let plain = decrypt_traditional(block, password)?;
                    Self::from_sec1_der(&plain, params_curve).map_err(after_decryption)
                } else {
                    if password.is_some() {
                        return Err(KeyError::UnexpectedPassword);
                    }
                    Self::from_sec1_der(&block.der, params_curve)
                }
            }
            other => Err(
                unsupported_tag(other).unwrap_or_else(|| KeyError::WrongKind {
                    expected: "a private key",
                    found: describe_tag(other),
                }),
            ),
        }
    }

    /// Loads an unencrypted DER PKCS#8 `PrivateKeyInfo` (v1 or v2) holding an EC key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = pkcs8::PrivateKeyInfo::from_der(der)
            .map_err(|e| KeyError::invalid("PKCS#8 private key", e))?;
        if info.algorithm.oid != rfc5912::ID_EC_PUBLIC_KEY {
            return Err(KeyError::UnsupportedKeyType(key_type_name(
                &info.algorithm.oid,
            )));
        }
        let curve = curve_from_params(info.algorithm.parameters.as_ref())?;
        let alg = curve.signing_alg();
        // aws-lc only takes PKCS#8 v1; for anything else fall back to the embedded SEC1 key,
        // which aws-lc parses given the curve.
        let key_pair = EcdsaKeyPair::from_pkcs8(alg, der)
            .or_else(|_| EcdsaKeyPair::from_private_key_der(alg, info.private_key))
            .map_err(|e| KeyError::invalid("EC private key", e))?;
        Self::from_key_pair(curve, key_pair)
    }

    /// Loads an unencrypted DER SEC1 `ECPrivateKey` (RFC 5915). `default_curve` is used when the
    /// key does not name its curve; failing that, the curve is inferred from the scalar length.
    pub fn from_sec1_der(
        der: &[u8],
        default_curve: Option<ObjectIdentifier>,
    ) -> Result<Self, KeyError> {
        let sec1 = sec1::EcPrivateKey::from_der(der).map_err(|e| {
            // The sec1 crate only reads named curves; aws-lc also reads explicit parameters
            // that match a known curve. Such keys are refused (their public key would not
            // encode, and so not hash, like Python's), but with a message saying why.
            if Curve::ALL
                .into_iter()
                .any(|c| EcdsaKeyPair::from_private_key_der(c.signing_alg(), der).is_ok())
            {
                KeyError::UnsupportedKeyType("EC with explicit curve parameters".into())
            } else {
                KeyError::invalid("EC private key", e)
            }
        })?;
        let curve = match sec1.parameters.and_then(sec1::EcParameters::named_curve).or(default_curve) {
            Some(oid) => Curve::from_oid(&oid)
                .ok_or_else(|| KeyError::UnsupportedKeyType(format!("EC {}", curve_name(&oid))))?,
            None => Curve::ALL
                .into_iter()
                .find(|c| c.scalar_len() == sec1.private_key.len())
                .ok_or_else(|| {
                    KeyError::invalid(
                        "EC private key",
                        "the key does not name its curve and its size matches none of P-256, P-384, P-521",
                    )
                })?,
        };
        let key_pair = EcdsaKeyPair::from_private_key_der(curve.signing_alg(), der)
            .map_err(|e| KeyError::invalid("EC private key", e))?;
        Self::from_key_pair(curve, key_pair)
    }

    /// Generates a fresh random key on `curve`.
    pub fn generate(curve: Curve) -> Result<Self, KeyError> {
        let key_pair = EcdsaKeyPair::generate(curve.signing_alg())
            .map_err(|e| KeyError::invalid("generated key", e))?;
        Self::from_key_pair(curve, key_pair)
    }

    fn from_key_pair(curve: Curve, key_pair: EcdsaKeyPair) -> Result<Self, KeyError> {
        // Take the point explicitly uncompressed: a SEC1 key may carry a compressed public key,
        // and the hint must not depend on how the private key file happened to store it.
        let point: EcPublicKeyUncompressedBin = key_pair
            .public_key()
            .as_be_bytes()
            .map_err(|e| KeyError::invalid("EC public key", e))?;
        let public = PublicKey::from_uncompressed_point(curve, point.as_ref())?;
        Ok(PrivateKey {
            curve,
            key_pair,
            public,
        })
    }

    /// The curve of this key.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// Signs `msg` with ECDSA and the curve's hash, returning an ASN.1 DER signature.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        let sig = self
            .key_pair
            .sign(&rng, msg)
            .map_err(|_| KeyError::SigningFailed)?;
        Ok(sig.as_ref().to_vec())
    }
}

fn curve_from_params(params: Option<&der::asn1::AnyRef<'_>>) -> Result<Curve, KeyError> {
    let Some(params) = params else {
        return Err(KeyError::invalid(
            "EC key",
            "the algorithm parameters do not name a curve",
        ));
    };
    let oid = params.decode_as::<ObjectIdentifier>().map_err(|_| {
        // Explicit (specifiedCurve) parameters or implicitCA: valid EC, but not a named curve.
        KeyError::UnsupportedKeyType("EC with explicit curve parameters".into())
    })?;
    Curve::from_oid(&oid)
        .ok_or_else(|| KeyError::UnsupportedKeyType(format!("EC {}", curve_name(&oid))))
}

// Curves and key types const_oid::db does not name.
const SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");
const PRIME192V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.1");
const BRAINPOOL_P256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.7");
const BRAINPOOL_P384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.11");
const BRAINPOOL_P512R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.13");
const SM2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
const DH_KEY_AGREEMENT: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.3.1");

/// A readable name for a key algorithm OID, for error messages.
fn key_type_name(oid: &ObjectIdentifier) -> String {
    let known: [(ObjectIdentifier, &str); 9] = [
        (rfc5912::RSA_ENCRYPTION, "RSA"),
        (rfc5912::ID_RSASSA_PSS, "RSA-PSS"),
        (rfc5912::ID_DSA, "DSA"),
        (rfc8410::ID_ED_25519, "Ed25519"),
        (rfc8410::ID_ED_448, "Ed448"),
        (rfc8410::ID_X_25519, "X25519"),
        (rfc8410::ID_X_448, "X448"),
        (DH_KEY_AGREEMENT, "DH"),
        (rfc5912::DHPUBLICNUMBER, "DH"),
    ];
    oid_name(oid, &known)
}

/// A readable name for a curve OID, for error messages.
fn curve_name(oid: &ObjectIdentifier) -> String {
    let known: [(ObjectIdentifier, &str); 7] = [
        (SECP256K1, "secp256k1"),
        (rfc5912::SECP_224_R_1, "secp224r1 (P-224)"),
        (PRIME192V1, "prime192v1 (P-192)"),
        (BRAINPOOL_P256R1, "brainpoolP256r1"),
        (BRAINPOOL_P384R1, "brainpoolP384r1"),
        (BRAINPOOL_P512R1, "brainpoolP512r1"),
        (SM2, "SM2"),
    ];
    oid_name(oid, &known)
}

fn oid_name(oid: &ObjectIdentifier, known: &[(ObjectIdentifier, &str)]) -> String {
    known
        .iter()
        .find(|(o, _)| o == oid)
        .map(|(_, n)| (*n).to_owned())
        .or_else(|| {
            const_oid::db::DB
                .by_oid(oid)
                .map(|n| format!("{n} ({oid})"))
        })
        .unwrap_or_else(|| format!("with OID {oid}"))
}

#[cfg(test)]
mod kdf_tests;
#[cfg(test)]
mod tests;
