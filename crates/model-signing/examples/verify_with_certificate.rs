//! Verifies a certificate-signed model against one or more trusted CA certificates (PEM).
//!
//! Usage: `cargo run --example verify_with_certificate -- MODEL SIGNATURE CA.pem [CA.pem ...]`
//!
//! The signature, then the signer's chain (valid now, up to one of the CAs), then every file of the
//! model with the parameters the bundle records; a mismatch lists every changed, missing and extra
//! file.

use model_signing::verify::{self, CertificateVerifier, ChainTime, VerifyOptions};
use model_signing::{x509, Error};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [model, signature, cas @ ..] = args.as_slice() else {
        eprintln!("usage: verify_with_certificate MODEL SIGNATURE CA.pem [CA.pem ...]");
        return ExitCode::from(2);
    };
    let run = || -> model_signing::Result<verify::VerifyReport> {
        let mut anchors = Vec::new();
        for ca in cas {
            let pem = std::fs::read(ca).map_err(|e| Error::io(ca, e))?;
            anchors.extend(x509::parse_pem_certificates(&pem)?);
        }
        let verifier = CertificateVerifier::new(anchors, ChainTime::Now)?;
        verify::verify_model(model, signature, &verifier, &VerifyOptions::default())
    };
    match run() {
        Ok(report) => {
            println!(
                "verified {} files signed by {}",
                report.files_checked, report.signer.signer
            );
            ExitCode::SUCCESS
        }
        Err(Error::Mismatch(m)) => {
            eprintln!("{m}");
            ExitCode::from(1)
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
