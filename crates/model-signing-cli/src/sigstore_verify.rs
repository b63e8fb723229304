//! `verify sigstore` and `trust-root update`.
//!
//! Only resolves flags into the library's options and renders outcomes; the Sigstore work (and every
//! use of the sigstore-* crates) is in `model_signing::sigstore`.

use crate::args::{TrustRootAction, VerifySigstoreArgs};
use crate::config;
use anyhow::Result;
use model_signing::sigstore::trust::{self, TrustOptions};
use model_signing::sigstore::verify::{IdentityPolicy, SigstoreVerifier};
use model_signing::sigstore::Instance;
use model_signing::verify::VerifyReport;
use std::process::ExitCode;
use std::time::Duration;

/// Trust options from the `verify sigstore` flags.
fn trust_options(a: &VerifySigstoreArgs) -> TrustOptions {
    TrustOptions {
        trusted_root: a.trusted_root.clone(),
        trust_config: a.trust_config.clone(),
        instance: Instance::from_staging_flag(a.use_staging),
        ..Default::default()
    }
}

/// Runs `verify sigstore`: the signature and signer through the Sigstore verifier, then the model
/// through the same path as the other methods.
pub fn verify(a: &VerifySigstoreArgs) -> Result<VerifyReport> {
    let c = config::verify(&a.common)?;
    let root = trust::load_trusted_root(&trust_options(a))?;
    let policy = IdentityPolicy {
        identity: a.identity.clone(),
        identity_regex: a.identity_regex.clone(),
        issuer: a.identity_provider.clone(),
    };
    let v = SigstoreVerifier::new(&root, policy)?;
    let mut report = crate::run::run_verify(&c, &v)?;
    // Which root decided: `--output json` shows it as `trust_root`.
    report.trust_root = Some(root.info());
    Ok(report)
}

/// Runs a `trust-root` action and returns the exit code.
pub fn trust_root(action: TrustRootAction) -> ExitCode {
    match action {
        TrustRootAction::Update(a) => {
            let instance = Instance::from_staging_flag(a.use_staging);
            match trust::update_cached(instance, None, Duration::from_secs(a.timeout)) {
                Ok(out) => {
                    println!("Trusted root updated: {}", out.trusted_root.display());
                    tracing::info!("signing config cached at {}", out.signing_config.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("Updating the trusted root failed with error: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
