//! Vector tests: real bundles made by every released model-signing version (0.2.0 .. 1.1.1) must give
//! their documented results with our CLI. The data lives in `../shared/vectors` (upstream data, never
//! copied into this repo). With `MS_REQUIRE_VECTORS=1` a missing directory fails the tests.

mod common;

use common::{copy_dir, vectors};
use std::path::Path;
use std::process::{Command, Output};

fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_model-signing"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("run model-signing")
}

fn show(args: &[&str], o: &Output) -> String {
    format!(
        "args: {args:?}\nstatus: {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn pass(cwd: &Path, args: &[&str]) {
    let o = run(cwd, args);
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Verification succeeded"),
        "{}",
        show(args, &o)
    );
}

fn fail(cwd: &Path, args: &[&str], needle: &str) {
    let o = run(cwd, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", show(args, &o));
    assert!(
        err.contains("Verification failed with error"),
        "{}",
        show(args, &o)
    );
    assert!(
        err.contains(needle),
        "expected {needle:?}\n{}",
        show(args, &o)
    );
    assert!(!err.contains("panicked"), "{}", show(args, &o));
}

const CA: &str = "keys/certificate/ca-cert.pem";
const INT: &str = "keys/certificate/int-ca-cert.pem";
const PUB: &str = "keys/certificate/signing-key-pub.pem";

#[test]
fn model_transparency_certificate_vectors_pass() {
    let Some(v) = vectors() else { return };
    let dir = v.join("model-transparency/scripts/tests");
    for ver in ["v0.2.0", "v0.3.1", "v1.0.0"] {
        let d = format!("{ver}-certificate");
        pass(
            &dir,
            &[
                "verify",
                "certificate",
                "--signature",
                &format!("{d}/model.sig"),
                "--certificate_chain",
                CA,
                &format!("{d}/"),
            ],
        );
    }
    for ver in ["v1.0.1", "v1.1.0"] {
        let d = format!("{ver}-certificate");
        pass(
            &dir,
            &[
                "verify",
                "certificate",
                "--signature",
                &format!("{d}/model.sig"),
                "--certificate-chain",
                CA,
                "--ignore-paths",
                &format!("{d}/ignore-me"),
                &d,
            ],
        );
    }
    // v1.1.0 records ignore_paths in the signature, so no flag is needed.
    pass(
        &dir,
        &[
            "verify",
            "certificate",
            "--signature",
            "v1.1.0-certificate/model.sig",
            "--certificate-chain",
            CA,
            "v1.1.0-certificate",
        ],
    );
}

#[test]
fn model_transparency_key_vectors_pass() {
    let Some(v) = vectors() else { return };
    let dir = v.join("model-transparency/scripts/tests");
    for ver in ["v0.3.1", "v1.0.0"] {
        let d = format!("{ver}-elliptic-key");
        pass(
            &dir,
            &[
                "verify",
                "key",
                "--signature",
                &format!("{d}/model.sig"),
                "--public_key",
                PUB,
                &format!("{d}/signme-1"),
            ],
        );
    }
    for ver in ["v1.0.1", "v1.1.0"] {
        let d = format!("{ver}-elliptic-key");
        pass(
            &dir,
            &[
                "verify",
                "key",
                "--ignore-paths",
                &format!("{d}/ignore-me"),
                "--signature",
                &format!("{d}/model.sig"),
                "--public-key",
                PUB,
                &d,
            ],
        );
    }
}

#[test]
fn model_transparency_vectors_fail_when_they_must() {
    let Some(v) = vectors() else { return };
    let dir = v.join("model-transparency/scripts/tests");
    let peer_pub = v.join("model-signing-peer/pki/signing-key-pub.pem");
    let peer_root = v.join("model-signing-peer/pki/root-cert.pem");
    let (pp, pr) = (peer_pub.to_str().unwrap(), peer_root.to_str().unwrap());
    // Wrong key: v1.1.0 fails on the hint, v1.0.0 on the signature itself.
    fail(
        &dir,
        &[
            "verify",
            "key",
            "--signature",
            "v1.1.0-elliptic-key/model.sig",
            "--public-key",
            pp,
            "v1.1.0-elliptic-key",
        ],
        "key mismatch",
    );
    fail(
        &dir,
        &[
            "verify",
            "key",
            "--signature",
            "v1.0.0-elliptic-key/model.sig",
            "--public-key",
            pp,
            "v1.0.0-elliptic-key/signme-1",
        ],
        "does not verify",
    );
    // Intermediate-only anchor, unrelated anchor.
    for anchor in [INT, pr] {
        fail(
            &dir,
            &[
                "verify",
                "certificate",
                "--signature",
                "v1.1.0-certificate/model.sig",
                "--certificate-chain",
                anchor,
                "v1.1.0-certificate",
            ],
            "",
        );
    }
    // Method confusion.
    fail(
        &dir,
        &[
            "verify",
            "key",
            "--signature",
            "v1.1.0-certificate/model.sig",
            "--public-key",
            PUB,
            "v1.1.0-certificate",
        ],
        "verify certificate",
    );
    fail(
        &dir,
        &[
            "verify",
            "certificate",
            "--signature",
            "v1.1.0-elliptic-key/model.sig",
            "--certificate-chain",
            CA,
            "v1.1.0-elliptic-key",
        ],
        "verify key",
    );
    // Unsigned extra file without the ignore flag (v1.0.1 does not record ignore-me).
    fail(
        &dir,
        &[
            "verify",
            "key",
            "--signature",
            "v1.0.1-elliptic-key/model.sig",
            "--public-key",
            PUB,
            "v1.0.1-elliptic-key",
        ],
        "extra:   ignore-me",
    );
}

#[test]
fn model_transparency_tampered_copies_fail() {
    let Some(v) = vectors() else { return };
    let dir = v.join("model-transparency/scripts/tests");
    let tmp = tempfile::tempdir().unwrap();
    for d in [
        "v0.2.0-certificate",
        "v1.1.0-certificate",
        "v1.1.0-elliptic-key",
    ] {
        let m = tmp.path().join(d);
        copy_dir(&dir.join(d), &m);
        let sig = m.join("model.sig");
        let (s, mp) = (sig.to_str().unwrap(), m.to_str().unwrap());
        let method: &[&str] = if d.ends_with("key") {
            &["key", "--public-key", PUB]
        } else {
            &["certificate", "--certificate-chain", CA]
        };
        let with = |extra: &[&str]| -> Vec<String> {
            let mut a = vec!["verify".to_string()];
            a.extend(method.iter().map(|s| s.to_string()));
            a.extend(["--signature".to_string(), s.to_string()]);
            a.extend(extra.iter().map(|s| s.to_string()));
            a.push(mp.to_string());
            a
        };
        let ignore = m.join("ignore-me");
        let ignore_args: Vec<&str> = if ignore.exists() {
            vec!["--ignore-paths", ignore.to_str().unwrap()]
        } else {
            vec![]
        };
        let a = with(&ignore_args);
        pass(&dir, &a.iter().map(String::as_str).collect::<Vec<_>>());
        std::fs::write(m.join("signme-1"), b"tampered").unwrap();
        fail(
            &dir,
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            "changed: signme-1",
        );
        std::fs::remove_file(m.join("signme-1")).unwrap();
        fail(
            &dir,
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            "missing: signme-1",
        );
    }
}

fn peer_args<'a>(sig: &'a str, method: &'a str, v: &'a Path) -> Vec<String> {
    let pki = v.join("model-signing-peer/pki");
    let mut a = vec![
        "verify".to_string(),
        method.to_string(),
        "--signature".into(),
        sig.into(),
    ];
    if method == "key" {
        a.extend([
            "--public-key".into(),
            pki.join("signing-key-pub.pem")
                .to_string_lossy()
                .into_owned(),
        ]);
    } else {
        a.extend([
            "--certificate-chain".into(),
            pki.join("root-cert.pem").to_string_lossy().into_owned(),
        ]);
    }
    a
}

#[test]
fn model_signing_peer_vectors() {
    let Some(v) = vectors() else { return };
    let base = v.join("model-signing-peer");
    let mut n = 0;
    for method in ["key", "cert"] {
        for ser in ["files", "shard"] {
            for alg in ["sha256", "blake2", "blake3"] {
                let sig = base.join(format!("sigs/{method}-{ser}-{alg}.sig"));
                let s = sig.to_str().unwrap();
                let m = if method == "key" {
                    "key"
                } else {
                    "certificate"
                };
                let mut a = peer_args(s, m, &v);
                a.push("model".into());
                pass(&base, &a.iter().map(String::as_str).collect::<Vec<_>>());
                for (bad, needle) in [
                    ("model-tampered", "changed: weights.bin"),
                    ("model-missing-file", "missing: config.json"),
                    ("model-extra-file", "extra:   extra.txt"),
                ] {
                    let mut a = peer_args(s, m, &v);
                    a.push(bad.into());
                    let needle = if ser == "shard" && alg != "blake3" {
                        needle.split(':').next().unwrap()
                    } else {
                        needle
                    };
                    fail(
                        &base,
                        &a.iter().map(String::as_str).collect::<Vec<_>>(),
                        needle,
                    );
                }
                let mut a = peer_args(s, m, &v);
                a.extend(["--ignore-unsigned-files".into(), "model-extra-file".into()]);
                pass(&base, &a.iter().map(String::as_str).collect::<Vec<_>>());
                n += 1;
            }
        }
    }
    assert_eq!(n, 12);
}
