//! The library used alone, as an embedder uses it (no CLI): the signature inside the model, the
//! one signing trait, typed and serialisable reports, the examples.

mod common;
use common::vectors;
use model_signing::hashing::HashingConfig;
use model_signing::sign::{self, KeySigner, Method, Signer};
use model_signing::verify::{self, BundleVerifier, KeyVerifier, VerifyOptions};
use model_signing::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgevZzL1gdAFr88hb2
OF/2NxApJCzGCEDdfSp6VQO30hyhRANCAAQRWz+jn65BtOMvdyHKcvjBeBSDZH2r
1RTwjmYSi9R/zpBnuQ4EiMnCqfMPWiZqB4QdbAd0E7oH50VpuZ1P087G
-----END PRIVATE KEY-----
";

fn model(dir: &Path) -> PathBuf {
    let m = dir.join("my-model");
    fs::create_dir_all(m.join("sub")).unwrap();
    fs::write(m.join("weights.bin"), vec![7u8; 100_000]).unwrap();
    fs::write(m.join("sub/config.json"), b"{}").unwrap();
    m
}

fn key_pair() -> (KeySigner, KeyVerifier) {
    let signer = KeySigner::from_pem(KEY.as_bytes(), None).unwrap();
    let pk = model_signing::keys::PrivateKey::from_pem(KEY.as_bytes(), None).unwrap();
    let verifier = KeyVerifier::from_pem(pk.public_key().to_pem().as_bytes()).unwrap();
    (signer, verifier)
}

#[test]
fn signature_inside_the_model_is_left_out_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model(tmp.path());
    let sig = m.join("model.sig");
    let (signer, verifier) = key_pair();
    let out = sign::sign_model(&m, &HashingConfig::default(), &signer, &sig).unwrap();
    assert_eq!(out.files, 2, "the bundle is not one of the signed files");
    assert_eq!(out.signature_ignored_as.as_deref(), Some("model.sig"));
    assert_eq!(out.method, Method::Key);

    // The statement records it, so another verifier (Python's) leaves it out too.
    let bundle: serde_json::Value = serde_json::from_slice(&fs::read(&sig).unwrap()).unwrap();
    let payload = base64_decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap());
    let st: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let ignored = st["predicate"]["serialization"]["ignore_paths"]
        .as_array()
        .unwrap();
    assert!(ignored.iter().any(|p| p == "model.sig"), "{ignored:?}");

    // Verified with the bundle in place, through the library alone.
    let report = verify::verify_model(&m, &sig, &verifier, &VerifyOptions::default()).unwrap();
    assert_eq!(report.files_checked, 2);
    assert_eq!(report.signature_ignored_as.as_deref(), Some("model.sig"));

    // A file added next to it is still caught.
    fs::write(m.join("extra.bin"), b"x").unwrap();
    match verify::verify_model(&m, &sig, &verifier, &VerifyOptions::default()) {
        Err(Error::Mismatch(r)) => assert_eq!(r.extra, vec!["extra.bin"]),
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn signature_outside_the_model_excludes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model(tmp.path());
    let sig = tmp.path().join("model.sig");
    let (signer, verifier) = key_pair();
    let out = sign::sign_model(&m, &HashingConfig::default(), &signer, &sig).unwrap();
    assert_eq!(out.signature_ignored_as, None);
    let r = verify::verify_model(&m, &sig, &verifier, &VerifyOptions::default()).unwrap();
    assert_eq!(r.signature_ignored_as, None);
    // A file in the model that happens to be called like a signature is signed content.
    fs::write(m.join("model.sig"), b"not a bundle").unwrap();
    assert!(matches!(
        verify::verify_model(&m, &sig, &verifier, &VerifyOptions::default()),
        Err(Error::Mismatch(_))
    ));
}

#[test]
fn reports_are_typed_and_serialise_as_before() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model(tmp.path());
    let sig = tmp.path().join("model.sig");
    let (signer, verifier) = key_pair();
    let out = sign::sign_model(&m, &HashingConfig::default(), &signer, &sig).unwrap();
    let j = serde_json::to_value(&out).unwrap();
    assert_eq!(j["method"], "key");
    assert_eq!(j["root_digest"], hex::encode(out.root_digest));
    let r = verify::verify_model(&m, &sig, &verifier, &VerifyOptions::default()).unwrap();
    assert_eq!(r.root_digest, Some(out.root_digest));
    let j = serde_json::to_value(&r).unwrap();
    assert_eq!(j["method"], "key");
    assert_eq!(j["serialization"], "files");
    assert_eq!(j["hash_type"], "sha256");
    assert_eq!(j["root_digest"], hex::encode(out.root_digest));
}

#[test]
fn signers_and_verifiers_are_shareable_across_threads() {
    fn shareable<T: Send + Sync + ?Sized>() {}
    shareable::<dyn Signer>();
    shareable::<dyn BundleVerifier>();
    shareable::<KeySigner>();
    #[cfg(feature = "pkcs11")]
    shareable::<model_signing::pkcs11::Pkcs11Signer>();
    #[cfg(feature = "sigstore")]
    shareable::<model_signing::sigstore::sign::KeylessSigner>();

    // One signer, two threads, two models.
    let tmp = tempfile::tempdir().unwrap();
    let (signer, verifier) = key_pair();
    let dirs: Vec<PathBuf> = (0..2)
        .map(|i| {
            let d = tmp.path().join(format!("t{i}"));
            fs::create_dir_all(&d).unwrap();
            model(&d)
        })
        .collect();
    std::thread::scope(|s| {
        for m in &dirs {
            let (signer, verifier) = (&signer, &verifier);
            s.spawn(move || {
                let sig = m.join("model.sig");
                sign::sign_model(m, &HashingConfig::default(), signer, &sig).unwrap();
                verify::verify_model(m, &sig, verifier, &VerifyOptions::default()).unwrap();
            });
        }
    });
}

/// A method that checks its credentials before hashing fails before any file is read: the hook
/// runs between listing and hashing, with the listed size.
#[test]
fn check_before_hashing_runs_first_and_can_refuse() {
    struct Refusing;
    impl Signer for Refusing {
        fn method(&self) -> Method {
            Method::Key
        }
        fn check_before_hashing(&self, model: &sign::ModelSize) -> model_signing::Result<()> {
            Err(Error::Config(format!(
                "refused {} files of {} bytes",
                model.files, model.bytes
            )))
        }
        fn sign_statement(
            &self,
            _: &sign::PreparedStatement,
        ) -> model_signing::Result<sign::SignedBundle> {
            panic!("must not be reached")
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let m = model(tmp.path());
    let sig = tmp.path().join("model.sig");
    let e = sign::sign_model(&m, &HashingConfig::default(), &Refusing, &sig).unwrap_err();
    assert_eq!(e.to_string(), "refused 2 files of 100002 bytes");
    assert!(!sig.exists());
}

/// Library messages name no command-line flag (the CLI adds its own hints).
#[test]
fn library_errors_name_no_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let m = model(tmp.path());
    #[cfg(unix)]
    std::os::unix::fs::symlink(m.join("weights.bin"), m.join("link")).unwrap();
    let sig = tmp.path().join("model.sig");
    let (signer, verifier) = key_pair();
    #[cfg(unix)]
    {
        let e = sign::sign_model(&m, &HashingConfig::default(), &signer, &sig).unwrap_err();
        assert!(matches!(e, Error::Symlink { .. }), "{e:?}");
        assert!(!e.to_string().contains("--"), "{e}");
        fs::remove_file(m.join("link")).unwrap();
    }
    sign::sign_model(&m, &HashingConfig::default(), &signer, &sig).unwrap();
    fs::write(m.join("extra.bin"), b"x").unwrap();
    let e = verify::verify_model(&m, &sig, &verifier, &VerifyOptions::default()).unwrap_err();
    assert!(!e.to_string().contains("--"), "{e}");
    let e = verify::CertificateVerifier::new(vec![], verify::ChainTime::Now)
        .err()
        .unwrap();
    assert!(!e.to_string().contains("--"), "{e}");
}

/// The examples are built by `cargo test`; run them end to end.
#[test]
fn examples_sign_and_verify() {
    let examples = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples");
    let exe = |name: &str| examples.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let tmp = tempfile::tempdir().unwrap();
    let m = model(tmp.path());
    let key = tmp.path().join("key.pem");
    fs::write(&key, KEY).unwrap();
    let sig = m.join("model.sig");
    let out = Command::new(exe("sign_with_key"))
        .args([&m, &key, &sig])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("signed 2 files"));

    let Some(v) = vectors() else { return };
    let mt = v.join("model-transparency/scripts/tests");
    let cert_model = mt.join("v1.1.0-certificate");
    let ca = mt.join("keys/certificate/ca-cert.pem");
    let int = mt.join("keys/certificate/int-ca-cert.pem");
    let out = Command::new(exe("verify_with_certificate"))
        .arg(&cert_model)
        .arg(cert_model.join("model.sig"))
        .args([&ca, &int])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // The vector's certificates have expired since: the chain is valid only at signing time,
    // which the example (validating now) refuses with the typed error's message.
    assert!(
        out.status.success() || err.contains("valid when the certificate was issued"),
        "{err}"
    );

    #[cfg(feature = "sigstore")]
    {
        let ks = mt.join("v1.1.0-sigstore");
        let out = Command::new(exe("verify_keyless_offline"))
            .arg(&ks)
            .arg(ks.join("model.sig"))
            .args([
                "stefanb@us.ibm.com",
                "https://sigstore.verify.ibm.com/oauth2",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let wrong = Command::new(exe("verify_keyless_offline"))
            .arg(&ks)
            .arg(ks.join("model.sig"))
            .args([
                "someone@else.example",
                "https://sigstore.verify.ibm.com/oauth2",
            ])
            .output()
            .unwrap();
        assert_eq!(wrong.status.code(), Some(1));
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
