//! Verifying certificate-method bundles against user-supplied trust anchors.
//!
//! The bundle carries the leaf and intermediates; the user supplies the anchors. By default the chain
//! must be valid *now* (the OMS spec's rule). With at least one verified RFC 3161 timestamp (TSA
//! trust configured with [`CertificateVerifier::with_timestamps`]) it must be valid at the
//! earliest verified genTime instead: a trusted authority saw the signature then, so a leaf that
//! has expired since still verifies. [`ChainTime::SigningTime`] restores the Python 1.x behaviour
//! of checking the chain at the leaf's notBefore (the signer's own claim), which accepts expired
//! certificates; a verified timestamp takes precedence over it.

use super::{require_v03, verify_dsse, BundleVerifier, SignerInfo};
use crate::bundle::{Bundle, VerificationMaterial};
use crate::error::{Error, Result};
use crate::keys::SigHash;
use crate::timestamp::TimestampPolicy;
use crate::x509::{self, Certificate, ChainError};
use std::time::{Instant, SystemTime};

/// When the certificate chain must be valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainTime {
    /// At verification time (default).
    Now,
    /// At the leaf's notBefore (Python model-signing 1.x behaviour).
    SigningTime,
    /// At a fixed instant (timestamps are still verified, but do not move it).
    At(SystemTime),
}

/// Verifies bundles whose certificate chains up to one of `anchors`.
pub struct CertificateVerifier {
    anchors: Vec<Certificate>,
    time: ChainTime,
    timestamps: TimestampPolicy,
}

impl CertificateVerifier {
    /// Builds a verifier; at least one and at most [`x509::MAX_TRUST_ANCHORS`] anchors are
    /// required.
    pub fn new(anchors: Vec<Certificate>, time: ChainTime) -> Result<Self> {
        if anchors.is_empty() {
            return Err(Error::Config(
                "at least one trust anchor (a CA certificate) is required".into(),
            ));
        }
        if anchors.len() > x509::MAX_TRUST_ANCHORS {
            return Err(Error::Config(format!(
                "{} trust anchors were given, more than the limit of {}",
                anchors.len(),
                x509::MAX_TRUST_ANCHORS
            )));
        }
        Ok(CertificateVerifier {
            anchors,
            time,
            timestamps: TimestampPolicy::default(),
        })
    }

    /// How the bundle's RFC 3161 timestamps are checked and used (see the module documentation).
    /// Without it, timestamps are reported as unverified and the chain time is [`ChainTime`]'s.
    pub fn with_timestamps(mut self, policy: TimestampPolicy) -> Self {
        self.timestamps = policy;
        self
    }
}

impl BundleVerifier for CertificateVerifier {
    fn verify_signature(&self, bundle: &Bundle) -> Result<SignerInfo> {
        require_v03(bundle)?;
        let ders = match &bundle.material {
            VerificationMaterial::CertificateChain(c) => c,
            VerificationMaterial::PublicKey { .. } => {
                return Err(Error::Signature(
                    "this bundle was signed with a key, not a certificate; use 'verify key'".into(),
                ))
            }
            VerificationMaterial::Certificate(_) => {
                return Err(Error::Signature(
                    "this is a Sigstore keyless bundle; use 'verify sigstore'".into(),
                ))
            }
        };
        // Refuse an oversized chain before parsing any of it (the bundle reader may have done so
        // already); from_der refuses oversized certificates.
        if ders.len() > x509::MAX_CHAIN_CERTIFICATES {
            return Err(x509::too_many_intermediates(ders.len() - 1).into());
        }
        let mut certs = Vec::with_capacity(ders.len());
        for d in ders {
            certs.push(Certificate::from_der(d)?);
        }
        let (leaf, intermediates) = certs
            .split_first()
            .ok_or_else(|| Error::Bundle("the certificate chain is empty".into()))?;
        // Timestamps first: they decide when the chain must be valid. Each is bounded (count and
        // size) and checked against the TSA trust only, so this work is bounded before the
        // signature is.
        let checked = self
            .timestamps
            .check(&bundle.timestamps, &bundle.signature)?;
        let at = match (self.time, checked.earliest) {
            (ChainTime::At(t), _) => t,
            (_, Some(t)) => t,
            (ChainTime::Now, None) => SystemTime::now(),
            (ChainTime::SigningTime, None) => leaf.validity().0,
        };
        // One path-building time budget for both searches below, so that the hint costs no more
        // than the check itself.
        let deadline = Instant::now() + x509::PATH_BUILDING_DEADLINE;
        if let Err(e) = x509::validate_chain_until(leaf, intermediates, &self.anchors, at, deadline)
        {
            // A chain refused for exceeding a bound is not retried.
            if self.time == ChainTime::Now
                && checked.earliest.is_none()
                && !matches!(e, ChainError::Limit(_))
                && x509::validate_chain_until(
                    leaf,
                    intermediates,
                    &self.anchors,
                    leaf.validity().0,
                    deadline,
                )
                .is_ok()
            {
                return Err(Error::ChainValidOnlyAtSigning(e));
            }
            return Err(e.into());
        }
        x509::check_signing_usage(leaf)?;
        let key = leaf.public_key()?;
        // v0.2.0 certificate bundles were signed with SHA-256 whatever the curve.
        let ok = verify_dsse(
            bundle,
            |digest| {
                let hash = key.curve().sig_hash();
                key.verify_digest_with(&digest(hash), &bundle.signature, hash)
                    .is_ok()
            },
            |digest| {
                key.verify_digest_with(&digest(SigHash::Sha256), &bundle.signature, SigHash::Sha256)
                    .is_ok()
            },
        );
        let mut warnings = Vec::new();
        match ok {
            None => Err(Error::Signature(format!(
                "the signature does not verify with the public key of certificate '{}'",
                leaf.subject()
            ))),
            Some(compat) => {
                if compat {
                    warnings
                        .push("the signature uses the pre-release v0.2 DSSE encoding".to_string());
                    tracing::warn!("the signature uses the pre-release v0.2 DSSE encoding");
                }
                Ok(SignerInfo {
                    method: crate::report::Method::Certificate,
                    signer: leaf.subject(),
                    warnings,
                    timestamps: Some(checked.reports),
                })
            }
        }
    }
}
