//! Sigstore keyless bundles, offline: our bundle reader, then the Sigstore verification entry
//! points (sigstore-verify underneath) against the production trusted root embedded in the
//! binary. No network is used: verification needs only the bundle and the root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_signing::bundle;
use model_signing::sigstore::trust::TrustRoot;
use model_signing::sigstore::verify::{self, ArtifactInput, IdentityPolicy, SigstoreVerifier};
use model_signing::sigstore::Instance;
use model_signing::verify::BundleVerifier;
use std::sync::OnceLock;

fn policy() -> IdentityPolicy {
    IdentityPolicy {
        identity: None,
        identity_regex: Some(".*".into()),
        issuer: "https://accounts.google.com".into(),
    }
}

fn setup() -> &'static (TrustRoot, SigstoreVerifier) {
    static S: OnceLock<(TrustRoot, SigstoreVerifier)> = OnceLock::new();
    S.get_or_init(|| {
        let root = TrustRoot::embedded(Instance::Production).expect("embedded root");
        let verifier = SigstoreVerifier::new(&root, policy()).expect("verifier");
        (root, verifier)
    })
}

fuzz_target!(|data: &[u8]| {
    let (root, verifier) = setup();
    if let Ok(b) = bundle::parse(data) {
        let _ = verifier.verify_signature(&b);
    }
    let _ = verify::verify_artifact(root, data, ArtifactInput::Sha256([0; 32]), &policy(), None);
});
