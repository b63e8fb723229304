//! Verifying key-method bundles against a user-supplied public key.

use super::{require_v03, verify_dsse, BundleVerifier, SignerInfo};
use crate::bundle::{Bundle, VerificationMaterial};
use crate::error::{Error, Result};
use crate::keys::PublicKey;
use crate::timestamp::TimestampPolicy;

/// Verifies bundles signed with the private half of `key`.
pub struct KeyVerifier {
    key: PublicKey,
    timestamps: TimestampPolicy,
}

impl KeyVerifier {
    /// Wraps a loaded public key. Timestamps are reported as unverified until
    /// [`Self::with_timestamps`] configures TSA trust.
    pub fn new(key: PublicKey) -> Self {
        KeyVerifier {
            key,
            timestamps: TimestampPolicy::default(),
        }
    }

    /// Loads a PEM public key.
    pub fn from_pem(pem: &[u8]) -> Result<Self> {
        Ok(Self::new(PublicKey::from_pem(pem)?))
    }

    /// How the bundle's RFC 3161 timestamps are checked: with the key method they are verified
    /// and reported (and may be required); a key has no validity period for them to extend.
    pub fn with_timestamps(mut self, policy: TimestampPolicy) -> Self {
        self.timestamps = policy;
        self
    }
}

impl BundleVerifier for KeyVerifier {
    fn verify_signature(&self, bundle: &Bundle) -> Result<SignerInfo> {
        require_v03(bundle)?;
        let mut warnings = Vec::new();
        match &bundle.material {
            VerificationMaterial::PublicKey {
                hint,
                legacy_raw_bytes,
            } => {
                if let Some(h) = hint {
                    if !h.eq_ignore_ascii_case(&self.key.hint()) {
                        return Err(Error::Signature(
                            "key mismatch: the public key hint in the signature does not match the provided public key".into(),
                        ));
                    }
                } else if *legacy_raw_bytes {
                    // Python 1.1 ignores the embedded key too and relies on the user's key alone.
                    warnings.push(
                        "this signature uses an older verification material format (no public key hint); re-sign with a current signer".into(),
                    );
                }
            }
            VerificationMaterial::CertificateChain(_) => {
                return Err(Error::Signature(
                    "this bundle was signed with a certificate; use 'verify certificate'".into(),
                ))
            }
            VerificationMaterial::Certificate(_) => {
                return Err(Error::Signature(
                    "this is a Sigstore keyless bundle; use 'verify sigstore'".into(),
                ))
            }
        }
        let hash = self.key.curve().sig_hash();
        let ok = verify_dsse(
            bundle,
            |digest| {
                self.key
                    .verify_digest_with(&digest(hash), &bundle.signature, hash)
                    .is_ok()
            },
            |digest| {
                self.key
                    .verify_digest_with(&digest(hash), &bundle.signature, hash)
                    .is_ok()
            },
        );
        match ok {
            None => Err(Error::Signature(
                "the signature does not verify with the provided public key".into(),
            )),
            Some(compat) => {
                if compat {
                    warnings.push("the signature uses the pre-release v0.2 DSSE encoding".into());
                }
                for w in &warnings {
                    tracing::warn!("{w}");
                }
                let checked = self
                    .timestamps
                    .check(&bundle.timestamps, &bundle.signature)?;
                Ok(SignerInfo {
                    method: crate::report::Method::Key,
                    signer: format!("public key {}", self.key.hint()),
                    warnings,
                    timestamps: Some(checked.reports),
                })
            }
        }
    }
}
