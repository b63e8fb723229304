//! Signs a model with an EC private key (PEM) and writes the bundle.
//!
//! Usage: `cargo run --example sign_with_key -- MODEL PRIVATE_KEY.pem SIGNATURE`
//!
//! The signature may lie inside the model directory (`my-model/model.sig`): the library leaves it
//! out of what is signed and records it among the ignored paths, so the model verifies with the
//! bundle in place. Any `sign::Signer` (certificate, PKCS#11, Sigstore keyless) goes where the key
//! signer goes here.

use model_signing::hashing::HashingConfig;
use model_signing::sign::{self, KeySigner};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [model, key, signature] = args.as_slice() else {
        eprintln!("usage: sign_with_key MODEL PRIVATE_KEY.pem SIGNATURE");
        return ExitCode::from(2);
    };
    let run = || -> model_signing::Result<sign::SignOutcome> {
        let pem = std::fs::read(key).map_err(|e| model_signing::Error::io(key, e))?;
        let signer = KeySigner::from_pem(&pem, None)?;
        // sha256 over whole files, git paths ignored: the Python reference's defaults.
        sign::sign_model(model, &HashingConfig::default(), &signer, signature)
    };
    match run() {
        Ok(out) => {
            println!(
                "signed {} files, root digest sha256:{}",
                out.files,
                hex::encode(out.root_digest)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("signing failed: {}", model_signing::error::chain_text(&e));
            ExitCode::from(1)
        }
    }
}
