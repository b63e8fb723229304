//! Verifies a Sigstore keyless signature offline, against the Sigstore trusted root embedded in the
//! library (no network: the bundle carries the certificate, the log entry and its proof).
//!
//! Usage: `cargo run --example verify_keyless_offline -- MODEL SIGNATURE IDENTITY ISSUER`
//!
//! IDENTITY is the signer's certificate identity (an email address or a workflow URI), ISSUER the
//! OIDC issuer that certified it; both must match exactly.

use model_signing::sigstore::trust::{self, TrustOptions};
use model_signing::sigstore::verify::{IdentityPolicy, SigstoreVerifier};
use model_signing::verify::{self, VerifyOptions};
use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let [model, signature, identity, issuer] = args.as_slice() else {
        eprintln!("usage: verify_keyless_offline MODEL SIGNATURE IDENTITY ISSUER");
        return ExitCode::from(2);
    };
    let run = || -> model_signing::Result<verify::VerifyReport> {
        // The embedded root, not a cached one: nothing outside the binary decides.
        let root = trust::load_trusted_root(&TrustOptions {
            ignore_cache: true,
            ..Default::default()
        })?;
        let policy = IdentityPolicy {
            identity: Some(identity.to_string_lossy().into_owned()),
            identity_regex: None,
            issuer: issuer.to_string_lossy().into_owned(),
        };
        let verifier = SigstoreVerifier::new(&root, policy)?;
        verify::verify_model(
            Path::new(model),
            Path::new(signature),
            &verifier,
            &VerifyOptions::default(),
        )
    };
    match run() {
        Ok(report) => {
            println!(
                "verified {} files signed by {}",
                report.files_checked, report.signer.signer
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "verification failed: {}",
                model_signing::error::chain_text(&e)
            );
            ExitCode::from(1)
        }
    }
}
