//! OCI image manifests and indexes (`oci::image::parse`, what a registry or a manifest file hands
//! us): a document we accept must mean the same thing to Go clients (oras, containerd,
//! Distribution, crane, skopeo, KServe). Go cannot run inside libFuzzer, so the oracle is a model
//! of Go's `encoding/json` (`oci_go_model.rs`: folded keys, the last key winning, decoding into
//! what earlier keys left, `null`), itself checked against the real Go decoder by
//! `crates/model-signing/tests/oci_go_differential.rs`. Any accepted document that the model
//! reads differently (other layers, config, index entries or platforms), or refuses, panics.
#![no_main]

mod oci_go_model;

use libfuzzer_sys::fuzz_target;
use model_signing::oci::{image, json::GO_FOLDS_TO_ASCII};

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = image::parse(data) else {
        return;
    };
    let doc = image::parse_document(data, "the manifest")
        .expect("parse_document refuses what parse accepted");
    let shown = || String::from_utf8_lossy(data).into_owned();
    // Go >= 1.21's folding (a superset of older releases'): what the newest clients do.
    let go = match oci_go_model::decode(data, &GO_FOLDS_TO_ASCII) {
        Ok(go) => go,
        Err(e) => panic!("we accept a document Go does not read ({e}): {}", shown()),
    };
    if let Err(e) = oci_go_model::check_parsed(&parsed, &go)
        .and_then(|()| oci_go_model::check_document(&doc, &go))
    {
        panic!("we read a document differently from Go: {e}\n{}", shown());
    }
});
