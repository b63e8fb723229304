//! The signer's check of a freshly made keyless bundle, before it is written.
//!
//! A keyless signature is made of parts that other services return: Fulcio's certificate, Rekor's
//! log entry, the TSA's timestamp. A service that certifies another key or issuer, or logs another
//! payload, yields a bundle that no verifier will ever accept; writing it and printing "Signing
//! succeeded" would be a lie. So the bundle is checked the way a verifier will check it, in two
//! parts:
//!
//! 1. **Consistency**, which needs no trust material: the certificate certifies the key that made
//!    the DSSE signature over this statement, the certified OIDC issuer is the one the token's
//!    identity provider implies ([`super::oidc::IdentityToken::certificate_issuer`]), and the log
//!    entry's body describes this signature, this certificate and this payload. Any failure here
//!    fails the signing: the bundle can never verify anywhere.
//! 2. **Trust**: full verification (sigstore-verify) against the local trusted root, with the
//!    identity policy a verifier must use: the certificate's own SAN and issuer. A failure whose
//!    cause is that the local root does not know the authority, log or TSA (an out-of-date root,
//!    or a private instance's root not configured) is reported as [`SelfCheck::UntrustedRoot`]:
//!    the bundle is consistent and may well verify for others. Any other failure fails the
//!    signing.

use super::trust::TrustRoot;
use super::verify::{IdentityPolicy, SigstoreVerifier};
use crate::bundle::{self, VerificationMaterial};
use crate::error::{Error, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sigstore_verify::{CertificateError, Error as SsError, TimestampError, TransparencyLogError};

/// What a verifier must pass to accept the new signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedSigner {
    /// The certificate's SAN: the `--identity` a verifier passes.
    pub identity: String,
    /// The certificate's OIDC issuer: the `--identity-provider` a verifier passes.
    pub issuer: String,
}

/// The outcome of [`self_check`] for a consistent bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfCheck {
    /// The bundle verifies against the local trusted root for `signer`.
    Verified(CertifiedSigner),
    /// The bundle is consistent, but the local trusted root cannot vouch for it.
    UntrustedRoot {
        /// Who the certificate names.
        signer: CertifiedSigner,
        /// Why the local root did not verify it (one line).
        reason: String,
    },
}

fn inconsistent(msg: impl std::fmt::Display) -> Error {
    Error::Signature(format!(
        "the new signature is not consistent and could never verify: {msg}"
    ))
}

/// Checks a fresh keyless `bundle` (see the module documentation). `expected_issuer` is the issuer
/// Fulcio should have certified for the token that was used.
pub fn self_check(
    bundle_json: &[u8],
    root: &TrustRoot,
    expected_issuer: &str,
) -> Result<SelfCheck> {
    let parsed = bundle::parse(bundle_json)?;
    let signer = check_consistency(&parsed, expected_issuer)?;
    let policy = IdentityPolicy {
        identity: Some(signer.identity.clone()),
        identity_regex: None,
        issuer: signer.issuer.clone(),
    };
    let verifier = SigstoreVerifier::new(root, policy)?;
    match verifier.verify_raw(&parsed)? {
        Ok(_) => Ok(SelfCheck::Verified(signer)),
        Err(e) if is_trust_gap(&e, || unknown_log(&parsed, root)) => Ok(SelfCheck::UntrustedRoot {
            signer,
            reason: super::one_line(&e),
        }),
        Err(e) => Err(inconsistent(super::one_line(&e))),
    }
}

/// Failures that mean "the trusted root does not know this authority, log or TSA", as opposed to
/// evidence that does not fit together. A log's signed promise or checkpoint that fails counts as
/// a gap only when the root does not list that log at all (`unknown_log`); from a log the root
/// knows, a bad signature is a broken entry.
fn is_trust_gap(e: &SsError, unknown_log: impl Fn() -> bool) -> bool {
    match e {
        SsError::Certificate(
            CertificateError::ChainInvalid(_)
            | CertificateError::NoValidAuthority { .. }
            | CertificateError::Sct(_),
        )
        | SsError::TransparencyLog(TransparencyLogError::UnknownLog { .. })
        | SsError::Timestamp(TimestampError::Invalid(_) | TimestampError::NoVerifiedTimestamp(_)) => {
            true
        }
        SsError::TransparencyLog(
            TransparencyLogError::InclusionPromise(_) | TransparencyLogError::Checkpoint(_),
        ) => unknown_log(),
        _ => false,
    }
}

/// Whether some log entry of the bundle names a log the trusted root does not list.
fn unknown_log(b: &bundle::Bundle, root: &TrustRoot) -> bool {
    let Ok(ss) = b.canonical_json().and_then(|j| {
        sigstore_types::Bundle::from_json(&j).map_err(|e| Error::Bundle(e.to_string()))
    }) else {
        return false;
    };
    let known: Vec<Value> = root
        .root
        .tlogs
        .iter()
        .filter_map(|t| serde_json::to_value(&t.log_id).ok())
        .collect();
    ss.verification_material
        .tlog_entries
        .iter()
        .any(|e| serde_json::to_value(&e.log_id).map_or(true, |id| !known.contains(&id)))
}

fn check_consistency(b: &bundle::Bundle, expected_issuer: &str) -> Result<CertifiedSigner> {
    let VerificationMaterial::Certificate(cert_der) = &b.material else {
        return Err(inconsistent("the bundle carries no signing certificate"));
    };
    let info = sigstore_verify::crypto::parse_certificate_info(&cert_der.clone().into())
        .map_err(|e| inconsistent(format!("the certificate: {}", super::one_line(&e))))?;
    // The certified key made the DSSE signature over this statement.
    let key = crate::keys::PublicKey::from_spki_der(info.public_key.as_bytes())
        .map_err(|e| inconsistent(format!("the certified key: {e}")))?;
    let pae = crate::dsse::pae(&b.payload_type, &b.payload);
    key.verify(&pae, &b.signature).map_err(|_| {
        inconsistent("the certificate certifies another key than the one that signed")
    })?;
    let identity = info
        .identity
        .map(|s| s.to_string())
        .ok_or_else(|| inconsistent("the certificate names no identity (SAN)"))?;
    let issuer = info
        .issuer
        .ok_or_else(|| inconsistent("the certificate names no OIDC issuer"))?;
    if issuer != expected_issuer {
        return Err(inconsistent(format!(
            "Fulcio certified the OIDC issuer '{}', but the identity token calls for '{}'",
            issuer.escape_debug(),
            expected_issuer.escape_debug()
        )));
    }
    check_log_entries(b, cert_der, &pae)?;
    Ok(CertifiedSigner { identity, issuer })
}

/// The log entry must describe this signature: Rekor v1 `dsse` 0.0.1 records the payload hash and
/// the signature with its certificate (PEM); Rekor v2 `hashedrekord` 0.0.2 the PAE digest, the
/// signature and the certificate (DER).
fn check_log_entries(b: &bundle::Bundle, cert_der: &[u8], pae: &[u8]) -> Result<()> {
    let sig_b64 = STANDARD.encode(&b.signature);
    let entries = b.tlog_bodies()?;
    if entries.is_empty() {
        return Err(inconsistent("the bundle has no transparency log entry"));
    }
    for body in entries {
        let body: Value = serde_json::from_slice(&body)
            .map_err(|e| inconsistent(format!("the log entry body is not JSON: {e}")))?;
        let kind = (
            body.get("kind").and_then(Value::as_str).unwrap_or(""),
            body.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
        );
        let spec = body.get("spec").unwrap_or(&Value::Null);
        let s = |v: &Value, path: &[&str]| {
            path.iter()
                .try_fold(v, |v, k| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match kind {
            ("dsse", "0.0.1") => {
                let want = hex::encode(Sha256::digest(&b.payload));
                if s(spec, &["payloadHash", "value"]).as_deref() != Some(want.as_str()) {
                    return Err(inconsistent(
                        "the log entry records the hash of another payload",
                    ));
                }
                let sigs = spec.get("signatures").and_then(Value::as_array);
                let ours = sigs.into_iter().flatten().any(|e| {
                    s(e, &["signature"]).as_deref() == Some(sig_b64.as_str())
                        && s(e, &["verifier"])
                            .and_then(|v| STANDARD.decode(v).ok())
                            .and_then(|pem| crate::x509::parse_pem_certificates(&pem).ok())
                            .is_some_and(|c| c.first().is_some_and(|c| c.der() == cert_der))
                });
                if !ours {
                    return Err(inconsistent(
                        "the log entry records another signature or certificate",
                    ));
                }
            }
            ("hashedrekord", "0.0.2") => {
                let r = spec.get("hashedRekordV002").unwrap_or(&Value::Null);
                let want = STANDARD.encode(Sha256::digest(pae));
                if s(r, &["data", "digest"]).as_deref() != Some(want.as_str()) {
                    return Err(inconsistent(
                        "the log entry records the digest of another statement",
                    ));
                }
                let cert_ok = s(r, &["signature", "verifier", "x509Certificate", "rawBytes"])
                    .and_then(|c| STANDARD.decode(c).ok())
                    .is_some_and(|c| c == cert_der);
                if s(r, &["signature", "content"]).as_deref() != Some(sig_b64.as_str()) || !cert_ok
                {
                    return Err(inconsistent(
                        "the log entry records another signature or certificate",
                    ));
                }
            }
            (k, v) => {
                return Err(inconsistent(format!(
                    "the log entry is of kind {}/{} where dsse/0.0.1 or hashedrekord/0.0.2 was expected",
                    k.escape_debug(),
                    v.escape_debug()
                )))
            }
        }
    }
    Ok(())
}
