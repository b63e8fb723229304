//! `verify sigstore` and `trust-root update`.
//!
//! Only resolves flags into the library's options and renders outcomes; the Sigstore work (and every
//! use of the sigstore-* crates) is in `model_signing::sigstore`.

use crate::args::{SigstoreTrust, TrustRootAction};
use anyhow::Result;
use model_signing::sigstore::trust::{self, TrustOptions, TrustRootInfo};
use model_signing::sigstore::verify::{IdentityPolicy, SigstoreVerifier};
use model_signing::sigstore::Instance;
use std::process::ExitCode;
use std::time::Duration;

/// Trust options from the `verify sigstore` flags.
fn trust_options(a: &SigstoreTrust) -> TrustOptions {
    TrustOptions {
        trusted_root: a.trusted_root.clone(),
        trust_config: a.trust_config.clone(),
        instance: Instance::from_staging_flag(a.use_staging),
        ..Default::default()
    }
}

/// The verifier for `verify sigstore` (the identity policy from the flags, the trusted root they
/// select) and which root that is, for the report.
pub fn verifier(a: &SigstoreTrust) -> Result<(SigstoreVerifier, TrustRootInfo)> {
    let root = trust::load_trusted_root(&trust_options(a))?;
    let policy = IdentityPolicy {
        identity: a.identity.clone(),
        identity_regex: a.identity_regex.clone(),
        issuer: a.identity_provider.clone(),
    };
    Ok((SigstoreVerifier::new(&root, policy)?, root.info()))
}

/// Runs a `trust-root` action and returns the exit code.
pub fn trust_root(action: TrustRootAction) -> ExitCode {
    match action {
        TrustRootAction::Update(a) => {
            let instance = Instance::from_staging_flag(a.use_staging);
            match trust::update_cached(instance, None, Duration::from_secs(a.timeout)) {
                Ok(out) => {
                    tracing::info!("signing config cached at {}", out.signing_config.display());
                    crate::out::success(
                        &format!("Trusted root updated: {}", out.trusted_root.display()),
                        "the trusted root was updated",
                    )
                }
                Err(e) => {
                    crate::out::stderr_line(&format!(
                        "Updating the trusted root failed with error: {}",
                        model_signing::error::untrusted_text(&e.to_string(), usize::MAX)
                    ));
                    ExitCode::from(1)
                }
            }
        }
    }
}
