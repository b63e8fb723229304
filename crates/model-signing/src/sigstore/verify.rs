//! Verifying Sigstore keyless bundles.
//!
//! The cryptography and the transparency-log checks are delegated to sigstore-verify: certificate
//! chain to a Fulcio CA of the trusted root at every verified time, SCT, the Rekor v1 SET and
//! inclusion proof with its signed checkpoint, Rekor v2 entries, RFC 3161 timestamps, and the
//! consistency of the log entry with the bundle's certificate and signature. Bundle media types
//! v0.1, v0.2 and v0.3 (both spellings) are accepted. RFC 3161 genTime values with fractional
//! seconds are read thanks to the patched sigstore-tsa in `patches/sigstore-tsa` (PATCHES.md).
//!
//! The "artifact" handed to sigstore-verify is the sha256 subject of the in-toto statement, i.e.
//! model-signing's root digest, read from the DSSE payload. That only binds the signature to the
//! statement; the model itself is checked afterwards against the statement's manifest by
//! [`crate::verify::check_model`], the same code the key and certificate methods use.
//!
//! Identity policy, as in model-signing: the certificate's SAN must equal `identity` exactly and its
//! OIDC issuer extension must equal `issuer` exactly. `identity_regex` is an addition: when given,
//! the SAN must match it in full (the pattern is anchored at both ends), `identity` becomes optional,
//! and when both are given both must hold.

use super::one_line;
use super::trust::TrustRoot;
use crate::bundle::{Bundle, VerificationMaterial};
use crate::error::{Error, Result};
use crate::verify::{BundleVerifier, SignerInfo};
use serde_json::Value;
use sigstore_types::Sha256Hash;
use sigstore_verify::{Error as SsError, VerificationPolicy, VerificationResult, Verifier};

/// Who must have signed.
#[derive(Debug, Clone, Default)]
pub struct IdentityPolicy {
    /// The exact certificate SAN (email or URI), e.g. `user@example.com`.
    pub identity: Option<String>,
    /// A regular expression (Rust `regex` syntax) the whole SAN must match.
    pub identity_regex: Option<String>,
    /// The exact OIDC issuer, e.g. `https://accounts.google.com`.
    pub issuer: String,
}

/// A pattern the whole certificate SAN must match.
///
/// The pattern is parsed on its own first, so that an unbalanced `)` is an error rather than a way
/// out of anchors added around it (`a)|(.*` inside `^(?:…)$` would match everything). The anchors
/// are then added to the parsed expression, not to the string: `\A (?:pattern) \z`, compiled by
/// regex-automata, so "matches" means the entire SAN and nothing a pattern says can change that.
struct IdentityRegex {
    source: String,
    regex: regex_automata::meta::Regex,
}

/// Compiled-size limit for identity patterns: ample for any real identity, bounded for hostile ones.
const IDENTITY_REGEX_SIZE_LIMIT: usize = 1 << 20;

impl IdentityRegex {
    fn new(source: &str) -> Result<Self> {
        use regex_syntax::hir::{Hir, Look};
        let invalid = |why: String| {
            Error::Config(format!(
                "invalid identity regex '{}': {why}",
                source.escape_debug()
            ))
        };
        let hir = regex_syntax::ParserBuilder::new()
            .nest_limit(64)
            .build()
            .parse(source)
            .map_err(|e| invalid(one_line(&e)))?;
        let anchored = Hir::concat(vec![Hir::look(Look::Start), hir, Hir::look(Look::End)]);
        let regex = regex_automata::meta::Builder::new()
            .configure(
                regex_automata::meta::Config::new()
                    .nfa_size_limit(Some(IDENTITY_REGEX_SIZE_LIMIT))
                    .onepass_size_limit(Some(IDENTITY_REGEX_SIZE_LIMIT))
                    .dfa_size_limit(Some(IDENTITY_REGEX_SIZE_LIMIT)),
            )
            .build_from_hir(&anchored)
            .map_err(|e| invalid(one_line(&e)))?;
        Ok(IdentityRegex {
            source: source.to_string(),
            regex,
        })
    }

    fn matches_whole(&self, san: &str) -> bool {
        self.regex.is_match(san)
    }
}

/// A [`BundleVerifier`] for Sigstore keyless bundles.
pub struct SigstoreVerifier {
    verifier: Verifier,
    identity: Option<String>,
    identity_regex: Option<IdentityRegex>,
    issuer: String,
    trust: String,
}

impl SigstoreVerifier {
    /// Prepares a verifier; fails on unusable trust material, an empty policy or a bad regex.
    pub fn new(trust: &TrustRoot, policy: IdentityPolicy) -> Result<Self> {
        if policy.issuer.is_empty() {
            return Err(Error::Config(
                "an OIDC issuer (the identity provider) is required".into(),
            ));
        }
        let identity = policy.identity.filter(|s| !s.is_empty());
        let identity_regex = match policy.identity_regex {
            None => None,
            Some(re) => Some(IdentityRegex::new(&re)?),
        };
        if identity.is_none() && identity_regex.is_none() {
            return Err(Error::Config(
                "an identity (exact or as a regular expression) is required".into(),
            ));
        }
        if !trust.has_certificate_authorities() {
            // A keyless signature cannot chain to nothing; say so now rather than as a chain error.
            return Err(Error::Config(format!(
                "the {} lists no certificate authorities",
                trust.source()
            )));
        }
        let verifier = Verifier::new(&trust.root).map_err(|e| {
            Error::Config(format!(
                "the {} cannot be used for verification: {}",
                trust.source(),
                one_line(&e)
            ))
        })?;
        Ok(SigstoreVerifier {
            verifier,
            identity,
            identity_regex,
            issuer: policy.issuer,
            trust: trust.source().to_string(),
        })
    }

    fn policy(&self) -> VerificationPolicy {
        match &self.identity {
            Some(id) => VerificationPolicy::new(id.as_str(), self.issuer.as_str()),
            None => VerificationPolicy::any_identity().require_issuer(self.issuer.as_str()),
        }
    }

    /// Runs sigstore-verify with the exact identity/issuer policy, then the regex, and insists that
    /// every check ran.
    fn check(
        &self,
        artifact: sigstore_types::Artifact<'_>,
        bundle: &sigstore_types::Bundle,
    ) -> Result<VerificationResult> {
        let result = self
            .verifier
            .verify(artifact, bundle, &self.policy())
            .map_err(|e| self.explain(e))?;
        self.finish(result)
    }

    /// The checks after sigstore-verify accepted a bundle: the regex, and that every check ran.
    fn finish(&self, result: VerificationResult) -> Result<VerificationResult> {
        if let Some(re) = &self.identity_regex {
            let san = result.identity().map(|s| s.to_string());
            if !san.as_deref().is_some_and(|s| re.matches_whole(s)) {
                return Err(Error::Signature(format!(
                    "identity mismatch: the signing certificate's SAN is '{}', which does not match the identity regex '{}'",
                    san.as_deref().unwrap_or("(none)"),
                    re.source.escape_debug()
                )));
            }
        }
        // Fail closed should a future sigstore-verify report success with a check skipped.
        if !(result.certificate_verified()
            && result.tlog_verified()
            && result.identity_policy_checked())
        {
            return Err(Error::Signature(
                "Sigstore verification did not complete all checks".into(),
            ));
        }
        Ok(result)
    }

    fn explain(&self, e: SsError) -> Error {
        match e {
            SsError::IdentityMismatch { actual, .. } => Error::Signature(format!(
                "identity mismatch: the signing certificate's SAN is '{}', but '{}' was expected",
                actual.map(|a| a.to_string()).unwrap_or_else(|| "(none)".into()),
                self.identity.as_deref().unwrap_or_default()
            )),
            SsError::IssuerMismatch { expected, actual } => Error::Signature(format!(
                "issuer mismatch: the signing certificate's OIDC issuer is '{}', but '{expected}' was expected",
                actual.unwrap_or_else(|| "(none)".into())
            )),
            e @ (SsError::Certificate(_) | SsError::TransparencyLog(_) | SsError::Timestamp(_)) => {
                // These usually mean "signed under another Sigstore instance": name the root used.
                Error::Signature(format!("Sigstore verification failed: {} (trust root: {})", one_line(&e), self.trust))
            }
            e => Error::Signature(format!("Sigstore verification failed: {}", one_line(&e))),
        }
    }
}

/// The sha256 subject digest of the in-toto statement in `payload` (model-signing's root digest).
fn subject_sha256(payload: &[u8]) -> Result<Sha256Hash> {
    let v: Value = serde_json::from_slice(payload)
        .map_err(|e| Error::Statement(format!("payload is not JSON: {e}")))?;
    let subjects = v
        .get("subject")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Statement("the statement has no 'subject' list".into()))?;
    let hex = subjects
        .iter()
        .find_map(|s| {
            s.get("digest")
                .and_then(|d| d.get("sha256"))
                .and_then(Value::as_str)
        })
        .ok_or_else(|| Error::Statement("no statement subject has a sha256 digest".into()))?;
    Sha256Hash::from_hex(hex).map_err(|_| {
        Error::Statement(format!(
            "subject digest '{}' is not 64 hex digits",
            hex.escape_debug()
        ))
    })
}

/// Parses the canonical form of a bundle (see [`crate::bundle::proto`]) with sigstore-types.
fn sigstore_bundle(canonical: &str) -> Result<sigstore_types::Bundle> {
    sigstore_types::Bundle::from_json(canonical).map_err(|e| Error::Bundle(one_line(&e)))
}

/// The statement we compare the model with must be the very bytes whose signature sigstore-verify
/// checked. Both come from one parse, so this cannot fail unless that invariant is broken; it is
/// checked anyway because a difference here is a signature bypass.
fn same_envelope(ours: &Bundle, verified: &sigstore_types::Bundle) -> Result<()> {
    let same = match &verified.content {
        sigstore_types::SignatureContent::DsseEnvelope(env) => {
            env.payload.as_bytes() == ours.payload.as_slice()
                && env.signature.sig.as_bytes() == ours.signature.as_slice()
                && env.payload_type == ours.payload_type
        }
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(Error::Bundle(
            "the envelope Sigstore verified is not the one the statement was read from".into(),
        ))
    }
}

impl SigstoreVerifier {
    /// sigstore-verify's verdict on a model bundle, its error kept as sigstore-verify reports it
    /// (the signer's self-check tells trust gaps from inconsistencies by it). The outer error is
    /// for bundles that are not Sigstore bundles at all.
    pub(crate) fn verify_raw(
        &self,
        bundle: &Bundle,
    ) -> Result<std::result::Result<VerificationResult, SsError>> {
        match &bundle.material {
            VerificationMaterial::PublicKey { .. } => {
                return Err(Error::Signature(
                    "this bundle was signed with a private key, not with Sigstore; use 'verify key'".into(),
                ))
            }
            // Sigstore bundles v0.1/v0.2 also carry a chain, but always with a log entry.
            VerificationMaterial::CertificateChain(_) if bundle.tlog_entries == 0 => {
                return Err(Error::Signature(
                    "this bundle was signed with a certificate chain, not with Sigstore (it has no transparency log entry); use 'verify certificate'"
                        .into(),
                ))
            }
            _ => {}
        }
        // sigstore-python (and so model-signing) requires exactly one log entry; sigstore-verify would
        // also take a bundle carrying only an RFC 3161 timestamp.
        if bundle.tlog_entries != 1 {
            return Err(Error::Signature(format!(
                "a Sigstore bundle must have exactly one transparency log entry, this one has {}",
                bundle.tlog_entries
            )));
        }
        let sigstore_bundle = sigstore_bundle(&bundle.canonical_json()?)?;
        let digest = subject_sha256(&bundle.payload)?;
        let result = self.verifier.verify(
            sigstore_types::Artifact::from(digest),
            &sigstore_bundle,
            &self.policy(),
        );
        if result.is_ok() {
            same_envelope(bundle, &sigstore_bundle)?;
        }
        Ok(result)
    }
}

impl BundleVerifier for SigstoreVerifier {
    fn verify_signature(&self, bundle: &Bundle) -> Result<SignerInfo> {
        let result = self
            .verify_raw(bundle)?
            .map_err(|e| self.explain(e))
            .and_then(|r| self.finish(r))?;
        let san = result.identity().map(|s| s.to_string()).unwrap_or_default();
        let issuer = result.issuer().unwrap_or_default();
        let mut warnings = Vec::new();
        if !result.sct_verified() {
            warnings.push(
                "the certificate's signed certificate timestamp was not verified".to_string(),
            );
        }
        for w in &warnings {
            tracing::warn!("{w}");
        }
        tracing::debug!(
            "Sigstore signature verified: SAN {san}, issuer {issuer}, log time {:?}, {} verified timestamp(s)",
            result.integrated_time().map(|t| t.to_string()),
            result.verified_timestamps().len()
        );
        Ok(SignerInfo {
            method: crate::report::Method::Sigstore,
            signer: format!("{san} (issuer {issuer})"),
            warnings,
            timestamps: None,
        })
    }
}

/// The artifact of [`verify_artifact`].
#[derive(Debug, Clone, Copy)]
pub enum ArtifactInput<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// The artifact's SHA-256 digest.
    Sha256([u8; 32]),
}

/// Verifies a Sigstore bundle over an arbitrary artifact, with nothing model-specific (no DSSE
/// payload type or statement checks of our own): the entry point of the conformance tests.
///
/// With `key_pem`, a managed-key bundle (public-key hint plus a log entry or timestamp) is verified
/// against that PEM public key instead of the identity policy.
pub fn verify_artifact(
    trust: &TrustRoot,
    bundle_json: &[u8],
    artifact: ArtifactInput<'_>,
    policy: &IdentityPolicy,
    key_pem: Option<&str>,
) -> Result<()> {
    let bundle = sigstore_bundle(&crate::bundle::canonicalize(bundle_json)?)?;
    let art: sigstore_types::Artifact<'_> = match artifact {
        ArtifactInput::Bytes(b) => b.into(),
        ArtifactInput::Sha256(d) => Sha256Hash::new(d).into(),
    };
    match key_pem {
        Some(pem) => {
            let verifier = Verifier::new(&trust.root).map_err(|e| Error::Config(one_line(&e)))?;
            let key = sigstore_types::DerPublicKey::from_pem(pem)
                .map_err(|e| Error::Config(one_line(&e)))?;
            verifier
                .verify(
                    art,
                    &bundle,
                    &sigstore_verify::PublicKeyVerificationPolicy::new(key),
                )
                .map(|_| ())
                .map_err(|e| Error::Signature(one_line(&e)))
        }
        None => SigstoreVerifier::new(trust, policy.clone())?
            .check(art, &bundle)
            .map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigstore::Instance;
    use serde_json::json;

    #[test]
    fn subject_digest_from_payload() {
        let h = "61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226";
        let ok = json!({"subject": [{"name": "m", "digest": {"sha256": h}}]}).to_string();
        assert_eq!(subject_sha256(ok.as_bytes()).unwrap().to_hex(), h);
        for bad in [
            "x".to_string(),
            json!({}).to_string(),
            json!({"subject": []}).to_string(),
            json!({"subject": [{"digest": {"sha512": h}}]}).to_string(),
            json!({"subject": [{"digest": {"sha256": "abc"}}]}).to_string(),
        ] {
            assert!(subject_sha256(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn policy_errors() {
        let root = TrustRoot::embedded(Instance::Production).unwrap();
        let p = |id: Option<&str>, re: Option<&str>, iss: &str| IdentityPolicy {
            identity: id.map(Into::into),
            identity_regex: re.map(Into::into),
            issuer: iss.into(),
        };
        assert!(SigstoreVerifier::new(&root, p(Some("a"), None, "i")).is_ok());
        assert!(SigstoreVerifier::new(&root, p(None, Some("a.*"), "i")).is_ok());
        let e = |pol| {
            SigstoreVerifier::new(&root, pol)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(e(p(Some("a"), None, "")).contains("issuer"));
        assert!(e(p(None, None, "i")).contains("identity"));
        assert!(e(p(Some(""), None, "i")).contains("identity"));
        assert!(e(p(None, Some("("), "i")).contains("invalid identity regex"));
        // Valid only once wrapped in `^(?:…)$`: must be refused on its own.
        assert!(
            e(p(None, Some(r"nobody@example\.test)|(.*"), "i")).contains("invalid identity regex")
        );
    }

    #[test]
    fn identity_regex_matches_the_whole_san() {
        let re = |s: &str| IdentityRegex::new(s).unwrap();
        assert!(re(r".*@example\.com").matches_whole("a@example.com"));
        assert!(!re(r".*@example\.com").matches_whole("a@example.com.evil"));
        assert!(!re(r".*@example\.com").matches_whole("x\na@example.com"));
        // Alternation binds inside the anchors: neither branch may match a part.
        assert!(!re("a|b").matches_whole("ab"));
        assert!(re("a|ab").matches_whole("ab"));
        assert!(!re("tester@example\\.test|x").matches_whole("evil-tester@example.test"));
        // Inline flags and multi-line mode cannot loosen the anchors either.
        assert!(!re("(?m)^a$").matches_whole("a\nb"));
        assert!(re("(?i)A@EXAMPLE\\.COM").matches_whole("a@example.com"));
    }
}
