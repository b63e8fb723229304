//! The library's verified load ([`model_signing::verified::VerifiedModel`]) and the Hugging Face
//! link store, used as an embedder would: bytes come back only after they matched, from the
//! memory they were hashed in.

use model_signing::hashing::{HashAlgorithm, HashingConfig, Serialization};
use model_signing::sign::{self, KeySigner};
use model_signing::verified::VerifiedModel;
use model_signing::verify::{KeyVerifier, VerifyOptions};
use model_signing::Error;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgevZzL1gdAFr88hb2
OF/2NxApJCzGCEDdfSp6VQO30hyhRANCAAQRWz+jn65BtOMvdyHKcvjBeBSDZH2r
1RTwjmYSi9R/zpBnuQ4EiMnCqfMPWiZqB4QdbAd0E7oH50VpuZ1P087G
-----END PRIVATE KEY-----
";

fn verifier() -> KeyVerifier {
    let pk = model_signing::keys::PrivateKey::from_pem(KEY.as_bytes(), None).unwrap();
    KeyVerifier::from_pem(pk.public_key().to_pem().as_bytes()).unwrap()
}

/// Opens the model at `m` with its signature `m/model.sig` and the test key.
fn open(m: &Path, opts: &VerifyOptions) -> model_signing::Result<VerifiedModel> {
    VerifiedModel::open(m, &m.join("model.sig"), &verifier(), opts)
}

fn signed(dir: &Path, cfg: &HashingConfig) -> (PathBuf, Vec<u8>) {
    let m = dir.join("m");
    fs::create_dir_all(m.join("sub")).unwrap();
    let weights: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(m.join("w.bin"), &weights).unwrap();
    fs::write(m.join("sub/c.json"), b"{}").unwrap();
    let signer = KeySigner::from_pem(KEY.as_bytes(), None).unwrap();
    sign::sign_model(&m, cfg, &signer, &m.join("model.sig")).unwrap();
    (m, weights)
}

#[test]
fn reads_match_and_everything_else_is_refused() {
    for (alg, ser) in [
        (HashAlgorithm::Sha256, Serialization::Files),
        (HashAlgorithm::Blake3, Serialization::Files),
        (
            HashAlgorithm::Blake2b,
            Serialization::Shards { shard_size: 65_536 },
        ),
        (
            HashAlgorithm::Sha256,
            Serialization::Shards {
                shard_size: 1_000_000,
            },
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = HashingConfig {
            algorithm: alg,
            serialization: ser,
            ..HashingConfig::default()
        };
        let (m, weights) = signed(tmp.path(), &cfg);
        let v = open(&m, &VerifyOptions::default()).unwrap();
        assert_eq!(v.names().collect::<Vec<_>>(), ["sub/c.json", "w.bin"]);
        assert_eq!(v.read("w.bin").unwrap(), weights, "{alg} {ser:?}");
        assert_eq!(v.read("sub/c.json").unwrap(), b"{}");
        for bad in ["model.sig", "sub", "../m/w.bin", "/etc/passwd", "W.BIN", ""] {
            assert!(
                matches!(v.read(bad), Err(Error::Model(ref e)) if e.contains("not one of")),
                "{bad}"
            );
        }
        let mut small = vec![0u8; 3];
        assert!(v.read_into("w.bin", &mut small).is_err());
        assert_eq!(v.verify_all().unwrap(), 2);

        // The same size, one byte changed, after the model was opened and listed: the read
        // fails (here, on the status time; with it put back, on the digest).
        let mut changed = weights.clone();
        changed[2_999_999] ^= 1;
        fs::write(m.join("w.bin"), &changed).unwrap();
        assert!(v.read("w.bin").is_err());
        // Opened afterwards, the listing is as signed, and the digest decides.
        let v = open(&m, &VerifyOptions::default()).unwrap();
        match v.read("w.bin") {
            Err(Error::Mismatch(r)) => assert_eq!(r.changed.len(), 1, "{r}"),
            other => panic!("{alg} {ser:?}: {other:?}"),
        }
        assert!(matches!(v.verify_all(), Err(Error::Mismatch(_))));
    }
}

#[test]
fn a_listing_that_differs_fails_before_any_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (m, _) = signed(tmp.path(), &HashingConfig::default());
    fs::write(m.join("extra"), b"x").unwrap();
    fs::remove_file(m.join("sub/c.json")).unwrap();
    match open(&m, &VerifyOptions::default()) {
        Err(Error::Mismatch(r)) => {
            assert_eq!(r.extra, ["extra"]);
            assert_eq!(r.missing, ["sub/c.json"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn links_are_followed_only_into_the_store() {
    // A signed folder, laid out as a Hugging Face snapshot of links into blobs.
    let tmp = tempfile::tempdir().unwrap();
    let (m, weights) = signed(tmp.path(), &HashingConfig::default());
    let repo = tmp.path().join("cache/models--acme--m");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let snap = repo.join("snapshots").join(commit);
    fs::create_dir_all(snap.join("sub")).unwrap();
    fs::create_dir_all(repo.join("blobs")).unwrap();
    for (name, etag, up) in [
        ("w.bin", "e1", "../../blobs"),
        ("sub/c.json", "e2", "../../../blobs"),
        ("model.sig", "e3", "../../blobs"),
    ] {
        fs::copy(m.join(name), repo.join("blobs").join(etag)).unwrap();
        symlink(format!("{up}/{etag}"), snap.join(name)).unwrap();
    }
    let s = model_signing::huggingface::snapshot(&snap, "acme/m").unwrap();
    let opts = VerifyOptions {
        link_store: Some(s.store.clone()),
        ..VerifyOptions::default()
    };
    // Without the store, links are refused as in any model.
    assert!(open(&s.path, &VerifyOptions::default()).is_err());
    let v = open(&s.path, &opts).unwrap();
    assert_eq!(v.read("w.bin").unwrap(), weights);
    // Re-pointed after the listing, to a copy outside the store with the same bytes: the open
    // for the read sees another file and refuses it.
    let outside = tmp.path().join("outside.bin");
    fs::write(&outside, &weights).unwrap();
    fs::remove_file(snap.join("w.bin")).unwrap();
    symlink(&outside, snap.join("w.bin")).unwrap();
    assert!(v.read("w.bin").is_err());
    let e = open(&s.path, &opts).unwrap_err().to_string();
    assert!(e.contains("does not lead to a file of the cache"), "{e}");
    assert!(!e.contains("outside.bin"), "the target is never named: {e}");
}

#[test]
fn reads_under_way_hold_their_memory_and_a_stop_ends_a_read() {
    use model_signing::verified::{available_memory, reserve};
    if let Some(avail) = available_memory() {
        let first = reserve(avail / 10 * 6).unwrap();
        let e = reserve(avail / 10 * 6).unwrap_err().to_string();
        assert!(e.contains("reserved by reads under way"), "{e}");
        drop(first);
        drop(reserve(avail / 10 * 6).unwrap());
    }
    let tmp = tempfile::tempdir().unwrap();
    let (m, weights) = signed(tmp.path(), &HashingConfig::default());
    let v = open(&m, &VerifyOptions::default()).unwrap();
    let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); weights.len()];
    assert!(matches!(
        v.read_into_uninit("w.bin", &mut buf, &|| true),
        Err(Error::Cancelled)
    ));
    v.read_into_uninit("w.bin", &mut buf, &|| false).unwrap();
    assert!(v.verified_names().contains(&"w.bin".to_string()));
}

#[test]
fn an_unsigned_empty_file_is_no_difference_for_shards() {
    // Shards record nothing for an empty file, so verify accepts one it did not sign; so does
    // a verified open (it asserted, in debug builds, that every listed file was a signed one).
    let tmp = tempfile::tempdir().unwrap();
    let cfg = HashingConfig {
        serialization: Serialization::Shards { shard_size: 65_536 },
        ..HashingConfig::default()
    };
    let (m, weights) = signed(tmp.path(), &cfg);
    fs::write(m.join("empty"), b"").unwrap();
    let v = open(&m, &VerifyOptions::default()).unwrap();
    assert_eq!(v.read("w.bin").unwrap(), weights);
}
