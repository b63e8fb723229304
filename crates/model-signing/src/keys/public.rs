//! Public keys: loading (PEM, DER `SubjectPublicKeyInfo`, SEC1 points), the canonical
//! encoding and its hint, and verification.

use super::pem::{describe_tag, parse_pem_blocks, unsupported_tag, PUBLIC_KEY_EXPECTED};
use super::{curve_from_params, key_type_name, Curve, KeyError, SigHash};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ParsedPublicKey, UnparsedPublicKey};
use base64::Engine as _;
use const_oid::db::rfc5912;
use der::Decode;
use sha2::{Digest as _, Sha256};

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
        let reencoded = spki::SubjectPublicKeyInfoRef::from_der(der.as_ref())
            .map_err(|e| KeyError::invalid("EC public key", e))?;
        let uncompressed = reencoded
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::invalid("EC public key", "unexpected re-encoding"))?;
        Self::from_uncompressed_point(curve, uncompressed)
    }

    pub(super) fn from_uncompressed_point(curve: Curve, point: &[u8]) -> Result<Self, KeyError> {
        if point.len() != curve.uncompressed_point_len() || point.first() != Some(&0x04) {
            return Err(KeyError::invalid(
                "EC public key",
                format!("not an uncompressed {curve} point"),
            ));
        }
        let spki = curve.spki_der(point)?;
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
        // The point is the tail of the BIT STRING, which ends the SubjectPublicKeyInfo.
        let start = self
            .spki
            .len()
            .saturating_sub(self.curve.uncompressed_point_len());
        self.spki.get(start..).unwrap_or_default()
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

    /// Verifies a DER ECDSA signature over a message already hashed with `hash` (a message
    /// too large to build whole, such as the legacy compat encoding; see
    /// [`crate::dsse::pae_compat_digest`]).
    pub fn verify_digest_with(
        &self,
        digest: &aws_lc_rs::digest::Digest,
        sig: &[u8],
        hash: SigHash,
    ) -> Result<(), KeyError> {
        UnparsedPublicKey::new(self.curve.verification_alg(hash), &self.spki)
            .verify_digest(digest, sig)
            .map_err(|_| KeyError::VerificationFailed)
    }
}
