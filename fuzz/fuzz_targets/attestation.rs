//! A claims-file line's statement, as `verify --attestations` reads it once its signature has
//! verified: the strict JSON reader, the subject rules, and the provenance, model-card and
//! evaluation predicate readers. Every step must return `Err` on bad input, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_signing::attest::claims;
use model_signing::verify::{Method, SignerInfo};

fuzz_target!(|data: &[u8]| {
    let signer = SignerInfo {
        method: Method::Key,
        signer: String::new(),
        warnings: Vec::new(),
        timestamps: None,
    };
    let _ = claims::read_statement(data, None, 1, signer.clone());
    let _ = claims::read_statement(data, Some([0; 32]), 1, signer);
});
