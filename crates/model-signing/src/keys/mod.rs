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

use aws_lc_rs::cipher::{
    DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey, AES_128, AES_192, AES_256,
};
use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPublicKeyUncompressedBin};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair,
    ParsedPublicKey, UnparsedPublicKey,
};
use base64::Engine as _;
use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use const_oid::db::{rfc5912, rfc8410};
use const_oid::ObjectIdentifier;
use der::Decode;
use md5::{Digest as _, Md5};
use sha2::Sha256;
use thiserror::Error;
use zeroize::Zeroizing;

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

    /// The DER of a `SubjectPublicKeyInfo` up to the point bytes. It is constant per curve, and
    /// writing it out literally guarantees the byte-exact encoding OpenSSL and Python emit.
    fn spki_prefix(self) -> &'static [u8] {
        match self {
            // SEQUENCE(89) { SEQUENCE(19) { id-ecPublicKey, prime256v1 }, BIT STRING(66) 00 }
            Curve::P256 => &[
                0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
                0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
            ],
            // SEQUENCE(118) { SEQUENCE(16) { id-ecPublicKey, secp384r1 }, BIT STRING(98) 00 }
            Curve::P384 => &[
                0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
                0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
            ],
            // SEQUENCE(155) { SEQUENCE(16) { id-ecPublicKey, secp521r1 }, BIT STRING(134) 00 }
            Curve::P521 => &[
                0x30, 0x81, 0x9b, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23, 0x03, 0x81, 0x86, 0x00,
            ],
        }
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

/// A PEM block with its payload held in memory that is wiped on drop.
struct Block {
    tag: String,
    proc_type: Option<String>,
    dek_info: Option<String>,
    der: Zeroizing<Vec<u8>>,
}

const PRIVATE_KEY_EXPECTED: &str =
    "a private key (-----BEGIN PRIVATE KEY-----, EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)";
const PUBLIC_KEY_EXPECTED: &str = "a public key (-----BEGIN PUBLIC KEY-----)";

fn parse_pem_blocks(input: &[u8], expected: &'static str) -> Result<Vec<Block>, KeyError> {
    let parsed = pem::parse_many(input).map_err(|e| KeyError::MalformedPem(e.to_string()))?;
    if parsed.is_empty() {
        // pem silently drops a block without an END line, so say why nothing was found.
        if contains(input, b"-----BEGIN ") {
            return Err(KeyError::MalformedPem(
                "a BEGIN line has no matching END line (truncated file?)".into(),
            ));
        }
        return Err(KeyError::NoPem { expected });
    }
    Ok(parsed
        .into_iter()
        .map(|p| {
            let tag = p.tag().to_owned();
            let proc_type = p.headers().get("Proc-Type").map(str::to_owned);
            let dek_info = p.headers().get("DEK-Info").map(str::to_owned);
            Block {
                tag,
                proc_type,
                dek_info,
                der: Zeroizing::new(p.into_contents()),
            }
        })
        .collect())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Describes a PEM block that is not what the caller asked for.
fn describe_tag(tag: &str) -> String {
    match tag {
        "PUBLIC KEY" => "a public key".into(),
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => "a certificate".into(),
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => "a certificate signing request".into(),
        "PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => "a private key".into(),
        "EC PARAMETERS" => "only EC parameters and no key".into(),
        other => format!("a PEM block of type \"{other}\""),
    }
}

/// Key types that are recognisable from the PEM tag alone.
fn unsupported_tag(tag: &str) -> Option<KeyError> {
    match tag {
        "RSA PRIVATE KEY" | "RSA PUBLIC KEY" => Some(KeyError::UnsupportedKeyType("RSA".into())),
        "DSA PRIVATE KEY" => Some(KeyError::UnsupportedKeyType("DSA".into())),
        "OPENSSH PRIVATE KEY" => Some(KeyError::UnsupportedFormat(
            "OpenSSH private keys are not supported; convert the key to PKCS#8 PEM \
             (ssh-keygen -p -m PKCS8 -f KEY)"
                .into(),
        )),
        _ => None,
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

fn is_encrypted_proc_type(value: &str) -> bool {
    value
        .split(',')
        .any(|part| part.trim().eq_ignore_ascii_case("ENCRYPTED"))
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

const SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");
const SECP224R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.33");
const PRIME192V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.1");
const BRAINPOOL_P256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.7");
const BRAINPOOL_P384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.11");
const BRAINPOOL_P512R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.13");
const SM2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
const DH_KEY_AGREEMENT: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.3.1");
const DH_PUBLIC_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10046.2.1");

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
        (DH_PUBLIC_NUMBER, "DH"),
    ];
    oid_name(oid, &known)
}

/// A readable name for a curve OID, for error messages.
fn curve_name(oid: &ObjectIdentifier) -> String {
    let known: [(ObjectIdentifier, &str); 7] = [
        (SECP256K1, "secp256k1"),
        (SECP224R1, "secp224r1 (P-224)"),
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

const REENCRYPT_HINT: &str = "re-encrypt the key with `openssl pkcs8 -topk8 -v2 aes-256-cbc`";
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const ENCRYPTION_NAMES: [(ObjectIdentifier, &str); 6] = [
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.1"),
        "PKCS#12 pbeWithSHAAnd128BitRC4",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.2"),
        "PKCS#12 pbeWithSHAAnd40BitRC4",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3"),
        "PKCS#12 pbeWithSHAAnd3-KeyTripleDES-CBC",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.4"),
        "PKCS#12 pbeWithSHAAnd2-KeyTripleDES-CBC",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.5"),
        "PKCS#12 pbeWithSHAAnd128BitRC2-CBC",
    ),
    (
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6"),
        "PKCS#12 pbeWithSHAAnd40BitRC2-CBC",
    ),
];

/// Just the algorithm OID of an `EncryptedPrivateKeyInfo`, for naming unsupported schemes.
struct EncryptionAlgorithmOid(ObjectIdentifier);

impl<'a> der::DecodeValue<'a> for EncryptionAlgorithmOid {
    fn decode_value<R: der::Reader<'a>>(reader: &mut R, _header: der::Header) -> der::Result<Self> {
        let alg = spki::AlgorithmIdentifierRef::decode(reader)?;
        der::asn1::OctetStringRef::decode(reader)?;
        Ok(Self(alg.oid))
    }
}

impl der::FixedTag for EncryptionAlgorithmOid {
    const TAG: der::Tag = der::Tag::Sequence;
}

/// Decrypts an `EncryptedPrivateKeyInfo` (PBES2: PBKDF2 or scrypt; AES-CBC or DES-EDE3-CBC).
fn decrypt_pkcs8(der: &[u8], password: &[u8]) -> Result<der::SecretDocument, KeyError> {
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(der).map_err(|e| {
        // pkcs5 refuses to even parse schemes it does not know (e.g. PKCS#12 PBE, or PBES2
        // with Camellia), so find the OID it stumbled on to say which scheme it is.
        let unknown = match e.kind() {
            der::ErrorKind::OidUnknown { oid } => Some(oid),
            _ => match EncryptionAlgorithmOid::from_der(der) {
                Ok(EncryptionAlgorithmOid(oid)) if oid != PBES2 => Some(oid),
                _ => None,
            },
        };
        match unknown {
            Some(oid) => KeyError::UnsupportedEncryption(format!(
                "algorithm {}; {REENCRYPT_HINT}",
                oid_name(&oid, &ENCRYPTION_NAMES)
            )),
            _ => KeyError::invalid("encrypted private key", e),
        }
    })?;
    check_kdf_cost(&info.encryption_algorithm)?;
    info.decrypt(password).map_err(|e| match e {
        // pkcs5 0.7 reports bad padding after decryption as `EncryptFailed`.
        pkcs8::Error::EncryptedPrivateKey(
            pkcs8::pkcs5::Error::DecryptFailed | pkcs8::pkcs5::Error::EncryptFailed,
        ) => KeyError::WrongPassword,
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { oid }) => {
            KeyError::UnsupportedEncryption(format!(
                "algorithm {}; {REENCRYPT_HINT}",
                oid_name(&oid, &ENCRYPTION_NAMES)
            ))
        }
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::NoPbes1CryptSupport) => {
            KeyError::UnsupportedEncryption(format!(
                "legacy PKCS#5 v1.5 (PBES1) encryption; {REENCRYPT_HINT}"
            ))
        }
        // The envelope was parsed above, so a DER error here comes from the decrypted bytes: a
        // wrong password whose garbage happened to end in valid padding (about 1 in 256).
        pkcs8::Error::Asn1(_) => KeyError::WrongPassword,
        other => KeyError::invalid("encrypted private key", other),
    })
}

/// Most PBKDF2 iterations accepted: 1000x OpenSSL's default of 2048, above OWASP's recommendations
/// (600,000 for SHA-256). The count is read from the file, so without a bound a few bytes could
/// make loading the key run for an hour (u32::MAX iterations).
const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
/// Most memory scrypt may use, 128·r·(N + p) bytes: OpenSSL's own limit (`SCRYPT_MAX_MEM`), so no
/// key the Python reference loads is refused for its memory. Unbounded, `N` up to 2^64 from the
/// file would make the allocation fail and abort the process.
const MAX_SCRYPT_MEMORY: u64 = 32 * 1024 * 1024;
/// Most scrypt work, 128·N·r·p bytes mixed: 16x `openssl pkcs8 -scrypt`'s (N=2^14, r=8, p=1).
const MAX_SCRYPT_WORK: u64 = 256 * 1024 * 1024;

/// Refuses key-derivation parameters that would take unbounded time or memory, before deriving.
fn check_kdf_cost(scheme: &pkcs8::pkcs5::EncryptionScheme<'_>) -> Result<(), KeyError> {
    use pkcs8::pkcs5::{pbes2::Kdf, EncryptionScheme};
    let EncryptionScheme::Pbes2(params) = scheme else {
        return Ok(());
    };
    match &params.kdf {
        Kdf::Pbkdf2(p) if p.iteration_count > MAX_PBKDF2_ITERATIONS => {
            Err(KeyError::UnsupportedEncryption(format!(
                "PBKDF2 with {} iterations (at most {MAX_PBKDF2_ITERATIONS} are accepted); {REENCRYPT_HINT}",
                p.iteration_count
            )))
        }
        Kdf::Scrypt(p) => {
            let (n, r, par) = (
                u128::from(p.cost_parameter),
                u128::from(p.block_size),
                u128::from(p.parallelization),
            );
            if 128 * r * (n + par) > u128::from(MAX_SCRYPT_MEMORY)
                || 128 * n * r * par > u128::from(MAX_SCRYPT_WORK)
            {
                return Err(KeyError::UnsupportedEncryption(format!(
                    "scrypt with N={n}, r={r}, p={par} needs more memory or time than accepted \
                     (128*r*(N+p) at most {MAX_SCRYPT_MEMORY} bytes, 128*N*r*p at most {MAX_SCRYPT_WORK}); \
                     {REENCRYPT_HINT}"
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Decrypts the body of a traditional OpenSSL encrypted PEM (`Proc-Type: 4,ENCRYPTED`).
fn decrypt_traditional(block: &Block, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let dek_info = block.dek_info.as_deref().ok_or_else(|| {
        KeyError::MalformedPem("encrypted PEM key without a DEK-Info header".into())
    })?;
    let (cipher, iv_hex) = dek_info
        .split_once(',')
        .ok_or_else(|| KeyError::MalformedPem(format!("bad DEK-Info header \"{dek_info}\"")))?;
    let cipher = cipher.trim().to_ascii_uppercase();
    let iv = hex::decode(iv_hex.trim())
        .map_err(|_| KeyError::MalformedPem(format!("bad IV in DEK-Info header \"{dek_info}\"")))?;
    let bad_iv =
        || KeyError::MalformedPem(format!("wrong IV length in DEK-Info header \"{dek_info}\""));
    // OpenSSL derives the key with EVP_BytesToKey, salted with the first 8 bytes of the IV.
    let salt = iv.get(..8).ok_or_else(bad_iv)?;
    let mut buf = Zeroizing::new(block.der.to_vec());

    let aes = match cipher.as_str() {
        "AES-128-CBC" => Some((&AES_128, 16)),
        "AES-192-CBC" => Some((&AES_192, 24)),
        "AES-256-CBC" => Some((&AES_256, 32)),
        _ => None,
    };
    if let Some((alg, key_len)) = aes {
        let iv: [u8; 16] = iv.as_slice().try_into().map_err(|_| bad_iv())?;
        let key = evp_bytes_to_key(password, salt, key_len);
        let key = UnboundCipherKey::new(alg, &key).map_err(|_| KeyError::WrongPassword)?;
        let key = PaddedBlockDecryptingKey::cbc_pkcs7(key).map_err(|_| KeyError::WrongPassword)?;
        let plain_len = key
            .decrypt(&mut buf, DecryptionContext::Iv128(FixedLength::from(iv)))
            .map_err(|_| KeyError::WrongPassword)?
            .len();
        buf.truncate(plain_len);
        return Ok(buf);
    }
    if cipher == "DES-EDE3-CBC" {
        let key = evp_bytes_to_key(password, salt, 24);
        let dec =
            cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv).map_err(|_| bad_iv())?;
        let plain_len = dec
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| KeyError::WrongPassword)?
            .len();
        buf.truncate(plain_len);
        return Ok(buf);
    }
    Err(KeyError::UnsupportedEncryption(format!(
        "PEM cipher {cipher}; re-encrypt the key with AES, e.g. `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
    )))
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one iteration, as used by traditional encrypted PEM.
fn evp_bytes_to_key(password: &[u8], salt: &[u8], key_len: usize) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(Vec::with_capacity(key_len + 16));
    let mut prev: Zeroizing<[u8; 16]> = Zeroizing::new([0; 16]);
    let mut first = true;
    while key.len() < key_len {
        let mut h = Md5::new();
        if !first {
            h.update(prev.as_slice());
        }
        h.update(password);
        h.update(salt);
        prev = Zeroizing::new(h.finalize().into());
        key.extend_from_slice(prev.as_slice());
        first = false;
    }
    key.truncate(key_len);
    key
}

/// An EC public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    curve: Curve,
    /// Canonical DER `SubjectPublicKeyInfo`: namedCurve parameters, uncompressed point.
    spki: Vec<u8>,
}

impl PublicKey {
    /// Loads a PEM `PUBLIC KEY` (`SubjectPublicKeyInfo`).
    ///
    /// The first `PUBLIC KEY` block is used; text and other blocks around it are ignored.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let blocks = parse_pem_blocks(pem, PUBLIC_KEY_EXPECTED)?;
        if let Some(block) = blocks.iter().find(|b| b.tag == "PUBLIC KEY") {
            return Self::from_spki_der(&block.der);
        }
        if let Some(err) = blocks.iter().find_map(|b| match b.tag.as_str() {
            "RSA PUBLIC KEY" => unsupported_tag(&b.tag),
            _ => None,
        }) {
            return Err(err);
        }
        let found = blocks
            .first()
            .map_or_else(|| "nothing".to_owned(), |b| describe_tag(&b.tag));
        Err(KeyError::WrongKind {
            expected: PUBLIC_KEY_EXPECTED,
            found,
        })
    }

    /// Loads a DER `SubjectPublicKeyInfo`. Compressed points are accepted and normalised.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::invalid("public key (SubjectPublicKeyInfo)", e))?;
        if info.algorithm.oid != rfc5912::ID_EC_PUBLIC_KEY {
            return Err(KeyError::UnsupportedKeyType(key_type_name(
                &info.algorithm.oid,
            )));
        }
        let curve = curve_from_params(info.algorithm.parameters.as_ref())?;
        let point = info.subject_public_key.as_bytes().ok_or_else(|| {
            KeyError::invalid("EC public key", "the key bit string has unused bits")
        })?;
        Self::from_sec1_point(curve, point)
    }

    /// Builds a key from a SEC1 encoded point (uncompressed `04 || X || Y` or compressed) on `curve`.
    pub fn from_sec1_point(curve: Curve, point: &[u8]) -> Result<Self, KeyError> {
        // Parsing validates that the point is on the curve; re-marshalling through aws-lc gives
        // the uncompressed form whatever the input form was, which is what the hint is made of.
        let parsed = ParsedPublicKey::new(curve.verification_alg(curve.sig_hash()), point)
            .map_err(|e| KeyError::invalid("EC public key", e))?;
        let der = parsed
            .as_der()
            .map_err(|e| KeyError::invalid("EC public key", e))?;
        let uncompressed = der
            .as_ref()
            .strip_prefix(curve.spki_prefix())
            .ok_or_else(|| KeyError::invalid("EC public key", "unexpected re-encoding"))?;
        Self::from_uncompressed_point(curve, uncompressed)
    }

    fn from_uncompressed_point(curve: Curve, point: &[u8]) -> Result<Self, KeyError> {
        if point.len() != curve.uncompressed_point_len() || point.first() != Some(&0x04) {
            return Err(KeyError::invalid(
                "EC public key",
                format!("not an uncompressed {curve} point"),
            ));
        }
        let mut spki = curve.spki_prefix().to_vec();
        spki.extend_from_slice(point);
        Ok(PublicKey { curve, spki })
    }

    /// The curve of this key.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// DER `SubjectPublicKeyInfo` (named curve, uncompressed point).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The uncompressed SEC1 point `04 || X || Y`.
    pub fn sec1_point(&self) -> &[u8] {
        self.spki
            .get(self.curve.spki_prefix().len()..)
            .unwrap_or_default()
    }

    /// PEM text exactly as `openssl ec -pubout` and Python `cryptography` write it.
    pub fn to_pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.spki);
        let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
        out.push_str("-----BEGIN PUBLIC KEY-----\n");
        // base64 output is ASCII, so splitting the bytes never cuts a character.
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END PUBLIC KEY-----\n");
        out
    }

    /// Hex SHA-256 of [`Self::to_pem`]: the `publicKey.hint` of key bundles.
    pub fn hint(&self) -> String {
        hex::encode(Sha256::digest(self.to_pem().as_bytes()))
    }

    /// Verifies a DER ECDSA signature over `msg` using the curve's hash.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        self.verify_with(msg, sig, self.curve.sig_hash())
    }

    /// Verifies a DER ECDSA signature over `msg` with an explicit hash (legacy v0.2 bundles).
    pub fn verify_with(&self, msg: &[u8], sig: &[u8], hash: SigHash) -> Result<(), KeyError> {
        UnparsedPublicKey::new(self.curve.verification_alg(hash), &self.spki)
            .verify(msg, sig)
            .map_err(|_| KeyError::VerificationFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    const MSG: &[u8] = b"model signing test message \x00\x01\x02";
    const PASS: &str = "secret";

    fn have_openssl() -> bool {
        Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    macro_rules! require_openssl {
        () => {
            if !have_openssl() {
                eprintln!("NOTE: the openssl CLI is not available; skipping this test");
                return;
            }
        };
    }

    fn ossl_status(dir: &Path, args: &[&str]) -> std::process::Output {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl")
    }

    fn ossl(dir: &Path, args: &[&str]) {
        let out = ossl_status(dir, args);
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn read(dir: &Path, name: &str) -> Vec<u8> {
        std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    fn sha256_hex(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    fn dgst_flag(hash: SigHash) -> &'static str {
        match hash {
            SigHash::Sha256 => "-sha256",
            SigHash::Sha384 => "-sha384",
            SigHash::Sha512 => "-sha512",
        }
    }

    fn assert_one_line(e: &KeyError) {
        let msg = e.to_string();
        assert!(
            !msg.contains('\n') && !msg.is_empty(),
            "bad message {msg:?}"
        );
    }

    /// (OpenSSL ecparam name, NIST name, curve).
    const CURVES: [(&str, &str, Curve); 3] = [
        ("prime256v1", "P-256", Curve::P256),
        ("secp384r1", "P-384", Curve::P384),
        ("secp521r1", "P-521", Curve::P521),
    ];

    /// Checks a key file against OpenSSL: same public PEM (hence hint), signatures verify both ways.
    fn check_key_file(dir: &Path, file: &str, password: Option<&str>, curve: Curve) {
        let key = PrivateKey::from_pem(&read(dir, file), password.map(str::as_bytes))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(key.curve(), curve, "{file}");
        let public = key.public_key();
        assert_eq!(public.curve(), curve);

        let pass_arg = format!("pass:{}", password.unwrap_or(""));
        let mut passin: Vec<&str> = Vec::new();
        if password.is_some() {
            passin = vec!["-passin", &pass_arg];
        }
        let pub_file = format!("{file}.pub");
        // `-conv_form uncompressed` because OpenSSL keeps a SEC1 key's compressed point form,
        // while Python `cryptography` (and the hint) always use the uncompressed one.
        let mut args = vec![
            "ec",
            "-in",
            file,
            "-pubout",
            "-conv_form",
            "uncompressed",
            "-out",
            &pub_file,
        ];
        args.extend(&passin);
        ossl(dir, &args);
        let ossl_pub = read(dir, &pub_file);
        assert_eq!(public.to_pem().as_bytes(), ossl_pub.as_slice(), "{file}");
        assert_eq!(public.hint(), sha256_hex(&ossl_pub), "{file}");
        assert_eq!(PublicKey::from_pem(&ossl_pub).expect("load pub"), public);

        // Our signature, checked by OpenSSL with the curve's hash.
        let msg_file = format!("{file}.msg");
        std::fs::write(dir.join(&msg_file), MSG).expect("write msg");
        let sig = key.sign(MSG).expect("sign");
        let sig_file = format!("{file}.sig");
        std::fs::write(dir.join(&sig_file), &sig).expect("write sig");
        public.verify(MSG, &sig).expect("our verify");
        let flag = dgst_flag(curve.sig_hash());
        ossl(
            dir,
            &[
                "dgst",
                flag,
                "-verify",
                &pub_file,
                "-signature",
                &sig_file,
                &msg_file,
            ],
        );

        // OpenSSL's signature, checked by us.
        let osig_file = format!("{file}.osig");
        let mut args = vec!["dgst", flag, "-sign", file, "-out", &osig_file];
        args.extend(&passin);
        args.push(&msg_file);
        ossl(dir, &args);
        public
            .verify(MSG, &read(dir, &osig_file))
            .expect("verify openssl signature");

        assert!(matches!(
            public.verify(b"another message", &sig),
            Err(KeyError::VerificationFailed)
        ));
    }

    #[test]
    fn loads_every_pem_format_on_every_curve_and_interoperates_with_openssl() {
        require_openssl!();
        for (name, nist, curve) in CURVES {
            let tmp = tempfile::tempdir().expect("tempdir");
            let d = tmp.path();
            let pass = format!("pass:{PASS}");
            ossl(
                d,
                &[
                    "ecparam", "-name", name, "-genkey", "-noout", "-out", "sec1.pem",
                ],
            );
            ossl(
                d,
                &[
                    "ecparam",
                    "-name",
                    name,
                    "-genkey",
                    "-out",
                    "sec1_params.pem",
                ],
            );
            let curve_opt = format!("ec_paramgen_curve:{nist}");
            ossl(
                d,
                &[
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    &curve_opt,
                    "-out",
                    "pkcs8.pem",
                ],
            );
            let topk8 = |out: &str, extra: &[&str]| {
                let mut args = vec!["pkcs8", "-topk8", "-in", "pkcs8.pem", "-passout", &pass];
                args.extend(extra);
                args.extend(["-out", out]);
                ossl(d, &args);
            };
            topk8("p8_aes256.pem", &["-v2", "aes-256-cbc"]);
            topk8(
                "p8_aes128_sha1.pem",
                &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"],
            );
            topk8(
                "p8_aes192_sha512.pem",
                &["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA512"],
            );
            topk8("p8_des3.pem", &["-v2", "des3"]);
            topk8("p8_scrypt.pem", &["-scrypt"]);
            let trad = |out: &str, cipher: &str| {
                ossl(
                    d,
                    &[
                        "ec", "-in", "sec1.pem", cipher, "-passout", &pass, "-out", out,
                    ],
                );
            };
            trad("trad_aes256.pem", "-aes256");
            trad("trad_aes192.pem", "-aes192");
            trad("trad_aes128.pem", "-aes128");
            trad("trad_des3.pem", "-des3");
            ossl(
                d,
                &[
                    "ec",
                    "-in",
                    "sec1.pem",
                    "-conv_form",
                    "compressed",
                    "-out",
                    "sec1_compressed.pem",
                ],
            );
            ossl(
                d,
                &[
                    "ec",
                    "-in",
                    "sec1.pem",
                    "-no_public",
                    "-out",
                    "sec1_nopub.pem",
                ],
            );
            ossl(
                d,
                &[
                    "pkcs8",
                    "-topk8",
                    "-nocrypt",
                    "-in",
                    "sec1.pem",
                    "-out",
                    "sec1_as_pkcs8.pem",
                ],
            );

            let sec1_text = read(d, "sec1_params.pem");
            assert!(String::from_utf8_lossy(&sec1_text).contains("BEGIN EC PARAMETERS"));

            for file in [
                "sec1.pem",
                "sec1_params.pem",
                "pkcs8.pem",
                "sec1_compressed.pem",
                "sec1_nopub.pem",
                "sec1_as_pkcs8.pem",
            ] {
                check_key_file(d, file, None, curve);
            }
            for file in [
                "p8_aes256.pem",
                "p8_aes128_sha1.pem",
                "p8_aes192_sha512.pem",
                "p8_des3.pem",
                "p8_scrypt.pem",
                "trad_aes256.pem",
                "trad_aes192.pem",
                "trad_aes128.pem",
                "trad_des3.pem",
            ] {
                check_key_file(d, file, Some(PASS), curve);
            }

            // Every form of the same key yields the same public key.
            let a = PrivateKey::from_pem(&read(d, "sec1.pem"), None).expect("sec1");
            for (file, pw) in [
                ("sec1_compressed.pem", None),
                ("sec1_nopub.pem", None),
                ("sec1_as_pkcs8.pem", None),
                ("trad_aes256.pem", Some(PASS.as_bytes())),
            ] {
                let b = PrivateKey::from_pem(&read(d, file), pw).expect(file);
                assert_eq!(a.public_key(), b.public_key(), "{file}");
            }
        }
    }

    #[test]
    fn verifies_every_curve_hash_pair_signed_by_openssl() {
        require_openssl!();
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        std::fs::write(d.join("msg"), MSG).expect("write");
        for (name, _, curve) in CURVES {
            ossl(
                d,
                &[
                    "ecparam", "-name", name, "-genkey", "-noout", "-out", "k.pem",
                ],
            );
            ossl(d, &["ec", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
            let public = PublicKey::from_pem(&read(d, "pub.pem")).expect("pub");
            for hash in [SigHash::Sha256, SigHash::Sha384, SigHash::Sha512] {
                ossl(
                    d,
                    &[
                        "dgst",
                        dgst_flag(hash),
                        "-sign",
                        "k.pem",
                        "-out",
                        "sig",
                        "msg",
                    ],
                );
                let sig = read(d, "sig");
                public
                    .verify_with(MSG, &sig, hash)
                    .unwrap_or_else(|e| panic!("{curve} {hash}: {e}"));
                let default = public.verify(MSG, &sig);
                assert_eq!(default.is_ok(), hash == curve.sig_hash(), "{curve} {hash}");
                for other in [SigHash::Sha256, SigHash::Sha384, SigHash::Sha512] {
                    if other != hash {
                        assert!(public.verify_with(MSG, &sig, other).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn compressed_public_key_is_normalised_to_uncompressed() {
        require_openssl!();
        for (name, _, curve) in CURVES {
            let tmp = tempfile::tempdir().expect("tempdir");
            let d = tmp.path();
            ossl(
                d,
                &[
                    "ecparam", "-name", name, "-genkey", "-noout", "-out", "k.pem",
                ],
            );
            ossl(d, &["ec", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
            ossl(
                d,
                &[
                    "ec",
                    "-in",
                    "k.pem",
                    "-pubout",
                    "-conv_form",
                    "compressed",
                    "-out",
                    "pubc.pem",
                ],
            );
            let full = PublicKey::from_pem(&read(d, "pub.pem")).expect("pub");
            let compressed = PublicKey::from_pem(&read(d, "pubc.pem")).expect("compressed pub");
            assert_ne!(read(d, "pub.pem"), read(d, "pubc.pem"));
            assert_eq!(compressed, full);
            assert_eq!(compressed.curve(), curve);
            assert_eq!(
                compressed.to_pem().as_bytes(),
                read(d, "pub.pem").as_slice()
            );
            assert_eq!(compressed.sec1_point().len(), 1 + 2 * curve.scalar_len());
        }
    }

    #[test]
    fn rejects_other_key_types_with_a_clear_message() {
        require_openssl!();
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        let cases: [(&str, &[&str], &str); 6] = [
            (
                "k1.pem",
                &[
                    "ecparam",
                    "-name",
                    "secp256k1",
                    "-genkey",
                    "-noout",
                    "-out",
                    "k1.pem",
                ],
                "EC secp256k1",
            ),
            (
                "bp.pem",
                &[
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:brainpoolP256r1",
                    "-out",
                    "bp.pem",
                ],
                "EC brainpoolP256r1",
            ),
            (
                "rsa.pem",
                &[
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:1024",
                    "-out",
                    "rsa.pem",
                ],
                "RSA",
            ),
            (
                "ed.pem",
                &["genpkey", "-algorithm", "ed25519", "-out", "ed.pem"],
                "Ed25519",
            ),
            (
                "x.pem",
                &["genpkey", "-algorithm", "x25519", "-out", "x.pem"],
                "X25519",
            ),
            (
                "ec224.pem",
                &[
                    "ecparam",
                    "-name",
                    "secp224r1",
                    "-genkey",
                    "-noout",
                    "-out",
                    "ec224.pem",
                ],
                "EC secp224r1 (P-224)",
            ),
        ];
        for (file, gen, what) in cases {
            ossl(d, gen);
            let expected = format!(
                "unsupported key type {what}: only EC P-256, P-384 and P-521 keys are supported"
            );
            let err = PrivateKey::from_pem(&read(d, file), None).expect_err(file);
            assert_eq!(err.to_string(), expected, "{file}");
            // The PKCS#8 form of SEC1 keys is refused the same way.
            ossl(d, &["pkey", "-in", file, "-out", "p8.pem"]);
            let err = PrivateKey::from_pem(&read(d, "p8.pem"), None).expect_err(file);
            assert_eq!(err.to_string(), expected, "{file} as PKCS#8");
            // ... and so is the public key.
            ossl(d, &["pkey", "-in", file, "-pubout", "-out", "pub.pem"]);
            let err = PublicKey::from_pem(&read(d, "pub.pem")).expect_err(file);
            assert_eq!(err.to_string(), expected, "{file} public");
        }

        ossl(
            d,
            &[
                "rsa",
                "-in",
                "rsa.pem",
                "-traditional",
                "-out",
                "rsa_trad.pem",
            ],
        );
        let err = PrivateKey::from_pem(&read(d, "rsa_trad.pem"), None).expect_err("rsa");
        assert!(
            matches!(&err, KeyError::UnsupportedKeyType(t) if t == "RSA"),
            "{err}"
        );
        ossl(
            d,
            &[
                "rsa",
                "-in",
                "rsa.pem",
                "-RSAPublicKey_out",
                "-out",
                "rsa_pub1.pem",
            ],
        );
        let err = PublicKey::from_pem(&read(d, "rsa_pub1.pem")).expect_err("rsa pub");
        assert!(
            matches!(&err, KeyError::UnsupportedKeyType(t) if t == "RSA"),
            "{err}"
        );

        ossl(
            d,
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "p256.pem",
            ],
        );
        ossl(
            d,
            &[
                "ec",
                "-in",
                "p256.pem",
                "-param_enc",
                "explicit",
                "-out",
                "explicit.pem",
            ],
        );
        let explicit_msg = "unsupported key type EC with explicit curve parameters: \
                            only EC P-256, P-384 and P-521 keys are supported";
        let err = PrivateKey::from_pem(&read(d, "explicit.pem"), None).expect_err("explicit");
        assert_eq!(err.to_string(), explicit_msg);
        ossl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                "explicit.pem",
                "-out",
                "explicit8.pem",
            ],
        );
        let err = PrivateKey::from_pem(&read(d, "explicit8.pem"), None).expect_err("explicit");
        assert_eq!(err.to_string(), explicit_msg);
        ossl(
            d,
            &[
                "ec",
                "-in",
                "explicit.pem",
                "-pubout",
                "-out",
                "explicit_pub.pem",
            ],
        );
        let err = PublicKey::from_pem(&read(d, "explicit_pub.pem")).expect_err("explicit pub");
        assert_eq!(err.to_string(), explicit_msg);
    }

    /// A wrong password whose decryption passes the padding check must still read as a wrong
    /// password. Chance makes that happen for about 1 in 256 wrong passwords, so the test builds
    /// the case directly: non-DER bytes encrypted under the password that is then supplied.
    #[test]
    fn valid_padding_around_garbage_is_a_wrong_password() {
        use pkcs8::der::{pem::LineEnding, EncodePem};
        let scheme = pkcs8::pkcs5::EncryptionScheme::from(
            pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[7; 16], &[9; 16])
                .expect("parameters"),
        );
        for garbage in [
            &b"not a key"[..],
            &[0x30, 0x82, 0xff, 0xff, 0x02][..],
            &[0x73; 48][..],
        ] {
            let ciphertext = scheme.encrypt(b"pw", garbage).expect("encrypt");
            let info = pkcs8::EncryptedPrivateKeyInfo {
                encryption_algorithm: scheme.clone(),
                encrypted_data: &ciphertext,
            };
            let pem = info.to_pem(LineEnding::LF).expect("pem");
            let err = PrivateKey::from_pem(pem.as_bytes(), Some(b"pw")).expect_err("garbage");
            assert!(matches!(err, KeyError::WrongPassword), "{garbage:?}: {err}");
        }
    }

    #[test]
    fn password_errors() {
        require_openssl!();
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        let pass = format!("pass:{PASS}");
        ossl(
            d,
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "sec1.pem",
            ],
        );
        ossl(
            d,
            &[
                "pkcs8", "-topk8", "-nocrypt", "-in", "sec1.pem", "-out", "p8.pem",
            ],
        );
        ossl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-in",
                "sec1.pem",
                "-passout",
                &pass,
                "-out",
                "p8enc.pem",
            ],
        );
        ossl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "des3",
                "-in",
                "sec1.pem",
                "-passout",
                &pass,
                "-out",
                "p8des.pem",
            ],
        );
        ossl(
            d,
            &[
                "ec", "-in", "sec1.pem", "-aes256", "-passout", &pass, "-out", "trad.pem",
            ],
        );
        ossl(
            d,
            &[
                "ec",
                "-in",
                "sec1.pem",
                "-des3",
                "-passout",
                &pass,
                "-out",
                "trad_des.pem",
            ],
        );

        for file in ["p8enc.pem", "p8des.pem", "trad.pem", "trad_des.pem"] {
            let pem = read(d, file);
            let err = PrivateKey::from_pem(&pem, None).expect_err(file);
            assert!(matches!(err, KeyError::PasswordRequired), "{file}: {err}");
            assert_eq!(
                err.to_string(),
                "the private key is encrypted: a password is required"
            );
            // Many wrong passwords, so that decryptions that end in valid-looking padding by
            // chance are covered too.
            for i in 0..40 {
                let wrong = format!("wrong{i}");
                let err = PrivateKey::from_pem(&pem, Some(wrong.as_bytes())).expect_err(file);
                assert!(
                    matches!(err, KeyError::WrongPassword),
                    "{file} {wrong}: {err}"
                );
            }
            assert_eq!(
                KeyError::WrongPassword.to_string(),
                "wrong password or corrupt encrypted key"
            );
            let err = PrivateKey::from_pem(&pem, Some(b"")).expect_err(file);
            assert!(
                matches!(err, KeyError::WrongPassword),
                "{file} empty: {err}"
            );
            PrivateKey::from_pem(&pem, Some(PASS.as_bytes())).expect(file);
        }
        for file in ["sec1.pem", "p8.pem"] {
            let err = PrivateKey::from_pem(&read(d, file), Some(b"secret")).expect_err(file);
            assert!(matches!(err, KeyError::UnexpectedPassword), "{file}: {err}");
            assert_eq!(
                err.to_string(),
                "a password was given but the private key is not encrypted"
            );
        }

        // Encryption schemes we do not read are named in the error.
        ossl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-v1",
                "PBE-SHA1-3DES",
                "-in",
                "sec1.pem",
                "-passout",
                &pass,
                "-out",
                "p12pbe.pem",
            ],
        );
        ossl(
            d,
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "camellia256",
                "-in",
                "sec1.pem",
                "-passout",
                &pass,
                "-out",
                "camellia.pem",
            ],
        );
        for (file, name) in [
            ("p12pbe.pem", "pbeWithSHAAnd3-KeyTripleDES-CBC"),
            ("camellia.pem", "1.2.392.200011.61.1.1.1.4"),
        ] {
            let pem = read(d, file);
            let err = PrivateKey::from_pem(&pem, None).expect_err(file);
            assert!(matches!(err, KeyError::PasswordRequired), "{file}: {err}");
            let err = PrivateKey::from_pem(&pem, Some(PASS.as_bytes())).expect_err(file);
            assert!(
                matches!(err, KeyError::UnsupportedEncryption(_)),
                "{file}: {err}"
            );
            assert!(err.to_string().contains(name), "{file}: {err}");
            assert_one_line(&err);
        }

        // A traditional PEM with a cipher we do not support names it.
        let trad = String::from_utf8(read(d, "trad.pem")).expect("utf8");
        let camellia = trad.replace("AES-256-CBC", "CAMELLIA-256-CBC");
        let err = PrivateKey::from_pem(camellia.as_bytes(), Some(b"secret")).expect_err("camellia");
        assert!(matches!(err, KeyError::UnsupportedEncryption(_)), "{err}");
        assert!(err.to_string().contains("CAMELLIA-256-CBC"), "{err}");
        let no_dek: String = trad
            .lines()
            .filter(|l| !l.starts_with("DEK-Info"))
            .map(|l| format!("{l}\n"))
            .collect();
        let err = PrivateKey::from_pem(no_dek.as_bytes(), Some(b"secret")).expect_err("no dek");
        assert!(matches!(err, KeyError::MalformedPem(_)), "{err}");
    }

    #[test]
    fn garbage_and_wrong_kinds_of_pem() {
        require_openssl!();
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        ossl(
            d,
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "k.pem",
            ],
        );
        ossl(d, &["ec", "-in", "k.pem", "-pubout", "-out", "pub.pem"]);
        ossl(
            d,
            &[
                "req", "-x509", "-new", "-key", "k.pem", "-subj", "/CN=test", "-days", "1", "-out",
                "cert.pem",
            ],
        );
        let key = read(d, "k.pem");
        let public = read(d, "pub.pem");
        let cert = read(d, "cert.pem");

        let mut errors = Vec::new();
        for input in [
            &b""[..],
            b"hello world\n",
            b"\x30\x82\x01\x00\xff\xfe",
            b"-----END PRIVATE KEY-----\n",
        ] {
            let err = PrivateKey::from_pem(input, None).expect_err("garbage");
            assert!(matches!(err, KeyError::NoPem { .. }), "{input:?}: {err}");
            errors.push(err);
            let err = PublicKey::from_pem(input).expect_err("garbage");
            assert!(matches!(err, KeyError::NoPem { .. }), "{input:?}: {err}");
            errors.push(err);
        }

        for cut in [key.len() / 2, key.len() - 10, 40] {
            let err = PrivateKey::from_pem(&key[..cut], None).expect_err("truncated");
            assert!(matches!(err, KeyError::MalformedPem(_)), "cut {cut}: {err}");
            errors.push(err);
        }
        let err = PublicKey::from_pem(&public[..public.len() / 2]).expect_err("truncated pub");
        assert!(matches!(err, KeyError::MalformedPem(_)), "{err}");

        // Lines removed from the middle: still framed, but the DER is cut short.
        let text = String::from_utf8(key.clone()).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        let shortened = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[lines.len() - 1]);
        let err = PrivateKey::from_pem(shortened.as_bytes(), None).expect_err("short");
        assert!(
            matches!(err, KeyError::InvalidKey { .. } | KeyError::MalformedPem(_)),
            "{err}"
        );
        errors.push(err);

        let bad_b64 = text.replacen(&lines[1][..8], "!!!!!!!!", 1);
        let err = PrivateKey::from_pem(bad_b64.as_bytes(), None).expect_err("bad base64");
        assert!(matches!(err, KeyError::MalformedPem(_)), "{err}");
        errors.push(err);

        let err = PrivateKey::from_pem(
            b"-----BEGIN PRIVATE KEY-----\nAAAAAA==\n-----END PRIVATE KEY-----\n",
            None,
        )
        .expect_err("bad der");
        assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
        errors.push(err);
        let err = PrivateKey::from_pem(
            b"-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n",
            None,
        )
        .expect_err("bad der");
        assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
        let err =
            PublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n")
                .expect_err("bad der");
        assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");

        let err = PrivateKey::from_pem(&public, None).expect_err("public as private");
        assert!(
            matches!(&err, KeyError::WrongKind { found, .. } if found == "a public key"),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "expected a private key, but the PEM data holds a public key"
        );
        errors.push(err);
        let err = PrivateKey::from_pem(&cert, None).expect_err("cert as private");
        assert!(
            matches!(&err, KeyError::WrongKind { found, .. } if found == "a certificate"),
            "{err}"
        );
        errors.push(err);
        let err = PublicKey::from_pem(&key).expect_err("private as public");
        assert!(
            matches!(&err, KeyError::WrongKind { found, .. } if found == "a private key"),
            "{err}"
        );
        errors.push(err);
        let err = PublicKey::from_pem(&cert).expect_err("cert as public");
        assert!(
            matches!(&err, KeyError::WrongKind { found, .. } if found == "a certificate"),
            "{err}"
        );
        errors.push(err);

        // A point that is not on the curve.
        let good = PublicKey::from_pem(&public).expect("pub");
        let mut bad = good.spki_der().to_vec();
        if let Some(last) = bad.last_mut() {
            *last ^= 1;
        }
        let err = PublicKey::from_spki_der(&bad).expect_err("off-curve point");
        assert!(matches!(err, KeyError::InvalidKey { .. }), "{err}");
        errors.push(err);

        // Text around the block and extra blocks are ignored; the first PUBLIC KEY is used.
        let mut mixed = b"some text\n".to_vec();
        mixed.extend_from_slice(&cert);
        mixed.extend_from_slice(&public);
        assert_eq!(PublicKey::from_pem(&mixed).expect("mixed"), good);
        let mut mixed = b"Private-Key: (256 bit)\n".to_vec();
        mixed.extend_from_slice(&key);
        PrivateKey::from_pem(&mixed, None).expect("key after text");

        for e in &errors {
            assert_one_line(e);
        }
    }

    #[test]
    fn generated_keys_round_trip() {
        for curve in Curve::ALL {
            let key = PrivateKey::generate(curve).expect("generate");
            let public = key.public_key();
            assert_eq!(public.curve(), curve);
            let sig = key.sign(MSG).expect("sign");
            public.verify(MSG, &sig).expect("verify");
            public
                .verify_with(MSG, &sig, curve.sig_hash())
                .expect("verify_with");
            assert!(matches!(
                public.verify(b"tampered", &sig),
                Err(KeyError::VerificationFailed)
            ));
            assert!(matches!(
                public.verify(MSG, b"not a signature"),
                Err(KeyError::VerificationFailed)
            ));
            assert!(matches!(
                public.verify(MSG, &[]),
                Err(KeyError::VerificationFailed)
            ));

            assert!(public.spki_der().starts_with(curve.spki_prefix()));
            assert_eq!(
                PublicKey::from_spki_der(public.spki_der()).expect("spki"),
                public
            );
            assert_eq!(
                PublicKey::from_sec1_point(curve, public.sec1_point()).expect("point"),
                public
            );
            let pem = public.to_pem();
            assert_eq!(PublicKey::from_pem(pem.as_bytes()).expect("pem"), public);
            assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
            assert!(pem.ends_with("\n-----END PUBLIC KEY-----\n"));
            let body: Vec<&str> = pem
                .lines()
                .skip(1)
                .take_while(|l| !l.starts_with("-----"))
                .collect();
            for (i, line) in body.iter().enumerate() {
                assert!(
                    line.len() == 64 || (i == body.len() - 1 && line.len() < 64),
                    "{line}"
                );
            }
            assert_eq!(public.hint(), sha256_hex(pem.as_bytes()));
            assert_eq!(public.hint().len(), 64);
            assert!(format!("{key:?}").contains(&public.hint()));
        }
        assert_eq!(Curve::P384.to_string(), "P-384");
        assert_eq!(Curve::P521.sig_hash(), SigHash::Sha512);
        assert_eq!(SigHash::Sha384.to_string(), "SHA-384");
        assert_eq!(Curve::from_oid(&rfc5912::SECP_384_R_1), Some(Curve::P384));
        assert_eq!(Curve::from_oid(&SECP256K1), None);
    }

    #[test]
    fn evp_bytes_to_key_matches_openssl() {
        // `openssl enc -aes-256-cbc -pass pass:secret -S 0102030405060708 -P -md md5` prints
        // key=C9E5...79AB and iv=E24B...D893: the first 48 bytes of the derivation.
        let out = evp_bytes_to_key(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 48);
        assert_eq!(
            hex::encode_upper(out.as_slice()),
            "C9E5A1BD216DBE1317E230CEF48F38EE7F0E17AD64022144BCCEC4A1AA2879AB\
             E24B32BBBC4EF02ECBCB6576523AD893"
        );
        assert_eq!(
            evp_bytes_to_key(b"secret", &[1, 2, 3, 4, 5, 6, 7, 8], 16).len(),
            16
        );
    }

    const PY_MAKE: &str = r#"
import sys
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization as s, hashes
d, msg = sys.argv[1], bytes.fromhex(sys.argv[2])
for name, c, h in [("P-256", ec.SECP256R1(), hashes.SHA256()),
                   ("P-384", ec.SECP384R1(), hashes.SHA384()),
                   ("P-521", ec.SECP521R1(), hashes.SHA512())]:
    k = ec.generate_private_key(c)
    def w(suffix, data):
        with open(f"{d}/{name}{suffix}", "wb") as f:
            f.write(data)
    w(".pub", k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
    enc = s.BestAvailableEncryption(b"secret")
    w("_pkcs8.pem", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()))
    w("_trad.pem", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()))
    w("_pkcs8_enc.pem", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, enc))
    w("_trad_enc.pem", k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, enc))
    w(".pysig", k.sign(msg, ec.ECDSA(h)))
"#;

    const PY_VERIFY: &str = r#"
import sys
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization as s, hashes
d, msg = sys.argv[1], bytes.fromhex(sys.argv[2])
for name, h in [("P-256", hashes.SHA256()), ("P-384", hashes.SHA384()), ("P-521", hashes.SHA512())]:
    pub = s.load_pem_public_key(open(f"{d}/{name}.pub", "rb").read())
    pub.verify(open(f"{d}/{name}.rssig", "rb").read(), msg, ec.ECDSA(h))
"#;

    fn python_with_cryptography() -> bool {
        Command::new("python3")
            .args(["-c", "import cryptography"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Interop with the Python `cryptography` package the reference implementation uses, when
    /// it is installed: every key format it writes loads, public PEM/hint are identical, and
    /// signatures verify both ways.
    #[test]
    fn interoperates_with_python_cryptography() {
        if !python_with_cryptography() {
            eprintln!("NOTE: python3 with `cryptography` is not available; skipping this test");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let d = tmp.path();
        let dir = d.to_str().expect("utf8 tempdir");
        let msg_hex = hex::encode(MSG);
        let run = |script: &str| {
            let out = Command::new("python3")
                .args(["-c", script, dir, &msg_hex])
                .output()
                .expect("run python3");
            assert!(
                out.status.success(),
                "python failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(PY_MAKE);
        for curve in Curve::ALL {
            let name = curve.name();
            let pub_pem = read(d, &format!("{name}.pub"));
            let public = PublicKey::from_pem(&pub_pem).expect("python public key");
            assert_eq!(public.to_pem().as_bytes(), pub_pem.as_slice());
            assert_eq!(public.hint(), sha256_hex(&pub_pem));
            public
                .verify(MSG, &read(d, &format!("{name}.pysig")))
                .expect("verify python signature");
            for (suffix, pw) in [
                ("_pkcs8.pem", None),
                ("_trad.pem", None),
                ("_pkcs8_enc.pem", Some(PASS.as_bytes())),
                ("_trad_enc.pem", Some(PASS.as_bytes())),
            ] {
                let file = format!("{name}{suffix}");
                let key = PrivateKey::from_pem(&read(d, &file), pw)
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
                assert_eq!(key.public_key(), public, "{file}");
                std::fs::write(
                    d.join(format!("{name}.rssig")),
                    key.sign(MSG).expect("sign"),
                )
                .expect("write sig");
            }
        }
        run(PY_VERIFY);
    }

    // ---- external vectors --------------------------------------------------------------

    fn vectors_dir() -> Option<PathBuf> {
        let dir = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/vectors"
        ));
        if dir.is_dir() {
            return Some(dir);
        }
        assert!(
            std::env::var("MS_REQUIRE_VECTORS").as_deref() != Ok("1"),
            "MS_REQUIRE_VECTORS=1 but {} is missing",
            dir.display()
        );
        eprintln!(
            "NOTE: {} is missing; skipping the vector test",
            dir.display()
        );
        None
    }

    /// DSSE v1 pre-authentication encoding.
    fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "DSSEv1 {} {} {} ",
            payload_type.len(),
            payload_type,
            payload.len()
        )
        .into_bytes();
        out.extend_from_slice(payload);
        out
    }

    /// Python's `repr(bytes)` for data without both quote kinds: what model_signing v0.2 signed.
    fn py_bytes_repr(data: &[u8]) -> String {
        let mut out = String::from("b'");
        for &b in data {
            match b {
                b'\\' => out.push_str("\\\\"),
                b'\'' => out.push_str("\\'"),
                b'\n' => out.push_str("\\n"),
                b'\r' => out.push_str("\\r"),
                b'\t' => out.push_str("\\t"),
                0x20..=0x7e => out.push(char::from(b)),
                _ => out.push_str(&format!("\\x{b:02x}")),
            }
        }
        out.push('\'');
        out
    }

    /// (payload type, payload, signature) of the single DSSE signature of a bundle.
    fn bundle_dsse(path: &Path) -> (String, Vec<u8>, Vec<u8>, serde_json::Value) {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("read bundle")).expect("json");
        let env = &v["dsseEnvelope"];
        let b64 = base64::engine::general_purpose::STANDARD;
        let payload = b64
            .decode(env["payload"].as_str().expect("payload"))
            .expect("b64");
        let sig = b64
            .decode(env["signatures"][0]["sig"].as_str().expect("sig"))
            .expect("b64");
        let ty = env["payloadType"].as_str().expect("type").to_owned();
        (ty, payload, sig, v)
    }

    #[test]
    fn external_vectors() {
        let Some(vectors) = vectors_dir() else { return };

        // model-transparency: P-384 SEC1 key with certtool text before the PEM block.
        let mt = vectors.join("model-transparency/scripts/tests");
        let keys = mt.join("keys/certificate");
        let private =
            PrivateKey::from_pem(&read(&keys, "signing-key.pem"), None).expect("signing-key.pem");
        assert_eq!(private.curve(), Curve::P384);
        let public =
            PublicKey::from_pem(&read(&keys, "signing-key-pub.pem")).expect("signing-key-pub.pem");
        assert_eq!(private.public_key(), public);
        let expected_hint = "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e";
        assert_eq!(public.hint(), expected_hint);
        // The hint is the SHA-256 of the bare PEM block of the key file.
        let text = String::from_utf8(read(&keys, "signing-key-pub.pem")).expect("utf8");
        let start = text.find("-----BEGIN PUBLIC KEY-----").expect("begin");
        assert_eq!(public.to_pem(), &text[start..]);

        for dir in [
            "v1.1.0-elliptic-key",
            "v1.0.1-elliptic-key",
            "v1.0.0-elliptic-key",
            "v0.3.1-elliptic-key",
        ] {
            let (ty, payload, sig, bundle) = bundle_dsse(&mt.join(dir).join("model.sig"));
            public
                .verify(&pae(&ty, &payload), &sig)
                .unwrap_or_else(|e| panic!("{dir}: {e}"));
            if dir == "v1.1.0-elliptic-key" {
                assert_eq!(
                    bundle["verificationMaterial"]["publicKey"]["hint"],
                    expected_hint
                );
            }
            assert!(public.verify(&pae(&ty, b"other"), &sig).is_err());
        }

        // v0.2.0 signed Python's repr of the payload, hashed with SHA-256 on a P-384 key.
        let (ty, payload, sig, _) = bundle_dsse(&mt.join("v0.2.0-certificate/model.sig"));
        let legacy = format!(
            "DSSEV1 {} {} {} {}",
            ty.len(),
            ty,
            payload.len(),
            py_bytes_repr(&payload)
        );
        public
            .verify_with(legacy.as_bytes(), &sig, SigHash::Sha256)
            .expect("v0.2.0 legacy signature");
        assert!(public.verify(legacy.as_bytes(), &sig).is_err());

        // RSA CA keys in the same directory are refused by name.
        for f in ["ca-priv.pem", "int-ca-priv.pem"] {
            let err = PrivateKey::from_pem(&read(&keys, f), None).expect_err(f);
            assert!(
                matches!(&err, KeyError::UnsupportedKeyType(t) if t == "RSA"),
                "{f}: {err}"
            );
        }

        // model-signing-peer: P-256 keys made by model-signing 1.1.1.
        let peer = vectors.join("model-signing-peer");
        let pki = peer.join("pki");
        let private = PrivateKey::from_pem(&read(&pki, "signing-key.pem"), None).expect("peer key");
        assert_eq!(private.curve(), Curve::P256);
        let pub_pem = read(&pki, "signing-key-pub.pem");
        let public = PublicKey::from_pem(&pub_pem).expect("peer pub");
        assert_eq!(private.public_key(), public);
        for f in ["root-key.pem", "int-key.pem"] {
            PrivateKey::from_pem(&read(&pki, f), None)
                .map(|_| ())
                .or_else(|e| match e {
                    KeyError::UnsupportedKeyType(_) => Ok(()),
                    other => Err(other),
                })
                .unwrap_or_else(|e| panic!("{f}: {e}"));
        }
        let sigs = peer.join("sigs");
        for name in [
            "key-files-sha256.sig",
            "key-shard-blake2.sig",
            "key-files-blake3.sig",
        ] {
            let (ty, payload, sig, bundle) = bundle_dsse(&sigs.join(name));
            public
                .verify(&pae(&ty, &payload), &sig)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let hint = bundle["verificationMaterial"]["publicKey"]["hint"]
                .as_str()
                .map(str::to_owned);
            if let Some(hint) = hint {
                assert_eq!(hint, public.hint(), "{name}");
            }
        }
    }
}
