//! Interoperability with the real Python reference implementation
//! (`model-signing` 1.1.0 / 1.1.1 from PyPI), in both directions.
//!
//! The peers are venvs whose python interpreters are named by
//! `MS_PEER_PY_1_1_1` / `MS_PEER_PY_1_1_0` (`scripts/test` installs them
//! and sets the variables). Without them the tests are skipped, unless
//! `MS_REQUIRE_PEERS=1`, in which case they fail.
//!
//! Shard, blake2 and blake3 bundles go through the Python *API* (driven by
//! `tests/peer/peer.py`), because the 1.1.x CLI only knows files/sha256;
//! files/sha256 bundles also go through the peers' own CLIs.

mod common;

use common::*;
use serde_json::{json, Value};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// Shard size of the sign/verify matrix (`weights.bin` is 3500 bytes).
const SHARD_SIZE: u64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Alg {
    Sha256,
    Blake2b,
    Blake3,
}

impl Alg {
    const ALL: [Alg; 3] = [Alg::Sha256, Alg::Blake2b, Alg::Blake3];

    /// Spelling of our `--hash-algorithm`.
    fn ours(self) -> &'static str {
        match self {
            Alg::Sha256 => "sha256",
            Alg::Blake2b => "blake2b",
            Alg::Blake3 => "blake3",
        }
    }

    /// Spelling of the Python API's `hashing_algorithm`.
    fn python(self) -> &'static str {
        match self {
            Alg::Sha256 => "sha256",
            Alg::Blake2b => "blake2",
            Alg::Blake3 => "blake3",
        }
    }
}

/// A hashing configuration: files or shards (of `shard_size`) with `alg`.
#[derive(Clone, Copy, Debug)]
struct Hashing {
    alg: Alg,
    shard_size: Option<u64>,
}

impl Hashing {
    /// files/shards × sha256/blake2b/blake3.
    fn matrix(shard_size: u64) -> Vec<Hashing> {
        [None, Some(shard_size)]
            .into_iter()
            .flat_map(|shard_size| Alg::ALL.map(|alg| Hashing { alg, shard_size }))
            .collect()
    }

    fn label(self) -> String {
        match self.shard_size {
            None => format!("files-{}", self.alg.ours()),
            Some(n) => format!("shards{n}-{}", self.alg.ours()),
        }
    }

    /// Our hashing flags. sha256 files is the default, so it gets none.
    fn our_args(self) -> Vec<OsString> {
        let mut a = Vec::new();
        if self.alg != Alg::Sha256 {
            a.extend(args!["--hash-algorithm", self.alg.ours()]);
        }
        if let Some(n) = self.shard_size {
            a.extend(args!["--shard-size", n.to_string()]);
        }
        a
    }

    /// The peer.py hashing fields (Python treats shards+blake3 as files
    /// by itself).
    fn py_fields(self, job: &mut Value) {
        job["hash"] = json!(self.alg.python());
        match self.shard_size {
            None => job["serialization"] = json!("files"),
            Some(n) => {
                job["serialization"] = json!("shards");
                job["shard_size"] = json!(n);
            }
        }
    }
}

/// How a model is signed: a bare EC key or a certificate chain.
enum Signer {
    Key(KeyPair),
    Cert(Pki),
}

impl Signer {
    fn key(dir: &Path, curve: Curve) -> Signer {
        let pki = dir.join("keys");
        fs::create_dir_all(&pki).unwrap();
        Signer::Key(gen_ec_key(
            &pki,
            &format!("signing-{}", curve.label()),
            curve,
        ))
    }

    fn cert(dir: &Path, curve: Curve) -> Signer {
        // CA keys on the same curve as the leaf.
        Signer::Cert(Pki::generate(&dir.join("pki"), curve, curve))
    }

    /// `sign <method> ...` arguments of our CLI (without --signature).
    fn our_sign_args(&self) -> Vec<OsString> {
        match self {
            Signer::Key(k) => args!["sign", "key", "--private-key", &k.private_key],
            Signer::Cert(p) => args![
                "sign",
                "certificate",
                "--private-key",
                &p.leaf_key.private_key,
                "--signing-certificate",
                &p.leaf_cert,
                "--certificate-chain",
                &p.intermediate.cert
            ],
        }
    }

    /// `verify <method> ...` arguments of our CLI (without --signature).
    fn our_verify_args(&self) -> Vec<OsString> {
        match self {
            Signer::Key(k) => args!["verify", "key", "--public-key", &k.public_key],
            Signer::Cert(p) => args!["verify", "certificate", "--certificate-chain", &p.root.cert],
        }
    }

    /// Arguments of the Python peer's own CLI (1.1.x underscore spelling).
    fn py_cli_sign_args(&self) -> Vec<OsString> {
        match self {
            Signer::Key(k) => args!["sign", "key", "--private_key", &k.private_key],
            Signer::Cert(p) => args![
                "sign",
                "certificate",
                "--private_key",
                &p.leaf_key.private_key,
                "--signing_certificate",
                &p.leaf_cert,
                "--certificate_chain",
                &p.intermediate.cert
            ],
        }
    }

    fn py_cli_verify_args(&self) -> Vec<OsString> {
        match self {
            Signer::Key(k) => args!["verify", "key", "--public_key", &k.public_key],
            Signer::Cert(p) => args!["verify", "certificate", "--certificate_chain", &p.root.cert],
        }
    }

    /// A peer.py `sign` job.
    fn py_sign_job(&self, model: &Path, sig: &Path, h: Hashing) -> Value {
        let mut job = match self {
            Signer::Key(k) => json!({
                "command": "sign",
                "method": "key",
                "private_key": path_str(&k.private_key),
            }),
            Signer::Cert(p) => json!({
                "command": "sign",
                "method": "certificate",
                "private_key": path_str(&p.leaf_key.private_key),
                "signing_certificate": path_str(&p.leaf_cert),
                "certificate_chain": [path_str(&p.intermediate.cert)],
            }),
        };
        job["signature"] = json!(path_str(sig));
        job["model"] = json!(path_str(model));
        h.py_fields(&mut job);
        job
    }

    /// A peer.py `verify` job.
    fn py_verify_job(&self, model: &Path, sig: &Path, h: Hashing) -> Value {
        let mut job = match self {
            Signer::Key(k) => json!({
                "command": "verify",
                "method": "key",
                "public_key": path_str(&k.public_key),
            }),
            Signer::Cert(p) => json!({
                "command": "verify",
                "method": "certificate",
                "certificate_chain": [path_str(&p.root.cert)],
            }),
        };
        job["signature"] = json!(path_str(sig));
        job["model"] = json!(path_str(model));
        h.py_fields(&mut job);
        job
    }
}

/// A temp dir with the interop model and a `sigs/` directory.
struct Fixture {
    dir: TempDir,
    model: PathBuf,
    sigs: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempdir();
        let model = make_interop_model(dir.path());
        let sigs = dir.path().join("sigs");
        fs::create_dir_all(&sigs).unwrap();
        Fixture { dir, model, sigs }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn sig(&self, name: &str) -> PathBuf {
        self.sigs.join(format!("{name}.sig"))
    }
}

/// Runs our CLI in `cwd` with `args`.
fn ours(cwd: &Path, args: Vec<OsString>) -> Run {
    run(model_signing().current_dir(cwd).args(args))
}

/// Signs `model` with our CLI; asserts success.
fn our_sign(fx: &Fixture, signer: &Signer, h: Hashing, sig: &Path) -> Run {
    let mut a = signer.our_sign_args();
    a.extend(args!["--signature", sig]);
    a.extend(h.our_args());
    a.push(fx.model.clone().into());
    let r = ours(fx.path(), a);
    r.assert_exit(0).assert_stdout_contains("Signing succeeded");
    assert!(sig.is_file(), "no signature written\n{r}");
    r
}

/// Verifies `model` against `sig` with our CLI (no hashing flags: they
/// come from the bundle).
fn our_verify(cwd: &Path, signer: &Signer, sig: &Path, model: &Path, extra: &[&str]) -> Run {
    let mut a = signer.our_verify_args();
    a.extend(args!["--signature", sig]);
    a.extend(extra.iter().map(OsString::from));
    a.push(model.into());
    ours(cwd, a)
}

#[track_caller]
fn assert_verified(r: &Run) {
    r.assert_exit(0)
        .assert_stdout_contains("Verification succeeded");
}

/// Asserts a failed verification by our CLI that names `file`.
#[track_caller]
fn assert_rejected(r: &Run, file: &str) {
    r.assert_exit(1)
        .assert_stderr_contains("failed with error")
        .assert_stderr_contains(file);
}

/// Panics listing every failed batch job.
#[track_caller]
fn assert_all_ok(what: &str, jobs: &[Value], results: &[BatchResult], run: &Run) {
    let failed: Vec<String> = jobs
        .iter()
        .zip(results)
        .filter(|(_, r)| !r.ok)
        .map(|(j, r)| format!("job {j}\n  -> {}", r.error))
        .collect();
    if !failed.is_empty() {
        panic!(
            "{what}: {} of {} Python jobs failed:\n{}\n{run}",
            failed.len(),
            jobs.len(),
            failed.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------
// (a) signed by us, verified by Python 1.1.1 (API, explicit hashing config)
// ---------------------------------------------------------------------------

fn ours_sign_python_verify(make_signer: fn(&Path, Curve) -> Signer, curve: Curve) {
    let Some(peer) = PyPeer::from_env(PEER_PY_1_1_1) else {
        return;
    };
    let fx = Fixture::new();
    let signer = make_signer(fx.path(), curve);
    let mut jobs = Vec::new();
    for h in Hashing::matrix(SHARD_SIZE) {
        let sig = fx.sig(&h.label());
        our_sign(&fx, &signer, h, &sig);
        jobs.push(signer.py_verify_job(&fx.model, &sig, h));
    }
    // The 1.1.x guess of the hashing config from the bundle works for
    // files with sha256 and blake3 (not blake2b, a Python bug); check that
    // path too, as it is what API users get by default.
    for alg in [Alg::Sha256, Alg::Blake3] {
        let h = Hashing {
            alg,
            shard_size: None,
        };
        let mut job = signer.py_verify_job(&fx.model, &fx.sig(&h.label()), h);
        job["guess_hashing"] = json!(true);
        jobs.push(job);
    }
    let (results, r) = peer.batch(&jobs);
    assert_all_ok("Python verifying our bundles", &jobs, &results, &r);
}

#[test]
fn ours_sign_python_verify_key_p256() {
    ours_sign_python_verify(Signer::key, Curve::P256);
}

#[test]
fn ours_sign_python_verify_key_p384() {
    ours_sign_python_verify(Signer::key, Curve::P384);
}

#[test]
fn ours_sign_python_verify_key_p521() {
    ours_sign_python_verify(Signer::key, Curve::P521);
}

#[test]
fn ours_sign_python_verify_cert_p256() {
    ours_sign_python_verify(Signer::cert, Curve::P256);
}

#[test]
fn ours_sign_python_verify_cert_p384() {
    ours_sign_python_verify(Signer::cert, Curve::P384);
}

// ---------------------------------------------------------------------------
// (b) signed by Python 1.1.1 (API), verified by us
// ---------------------------------------------------------------------------

fn python_sign_ours_verify(make_signer: fn(&Path, Curve) -> Signer, curve: Curve) {
    let Some(peer) = PyPeer::from_env(PEER_PY_1_1_1) else {
        return;
    };
    let fx = Fixture::new();
    let signer = make_signer(fx.path(), curve);
    let matrix = Hashing::matrix(SHARD_SIZE);
    let jobs: Vec<Value> = matrix
        .iter()
        .map(|h| signer.py_sign_job(&fx.model, &fx.sig(&h.label()), *h))
        .collect();
    let (results, r) = peer.batch(&jobs);
    assert_all_ok("Python signing", &jobs, &results, &r);
    for h in matrix {
        let r = our_verify(fx.path(), &signer, &fx.sig(&h.label()), &fx.model, &[]);
        assert_verified(&r);
    }
}

#[test]
fn python_sign_ours_verify_key_p256() {
    python_sign_ours_verify(Signer::key, Curve::P256);
}

#[test]
fn python_sign_ours_verify_key_p384() {
    python_sign_ours_verify(Signer::key, Curve::P384);
}

#[test]
fn python_sign_ours_verify_key_p521() {
    python_sign_ours_verify(Signer::key, Curve::P521);
}

#[test]
fn python_sign_ours_verify_cert_p256() {
    python_sign_ours_verify(Signer::cert, Curve::P256);
}

#[test]
fn python_sign_ours_verify_cert_p384() {
    python_sign_ours_verify(Signer::cert, Curve::P384);
}

// ---------------------------------------------------------------------------
// (c) `model-signing digest` == the Python root digest
// ---------------------------------------------------------------------------

fn digest_matches_python(shard_size: Option<u64>) {
    let Some(peer) = PyPeer::from_env(PEER_PY_1_1_1) else {
        return;
    };
    let fx = Fixture::new();
    let configs: Vec<Hashing> = Alg::ALL
        .iter()
        .map(|&alg| Hashing { alg, shard_size })
        .collect();
    let jobs: Vec<Value> = configs
        .iter()
        .map(|h| {
            let mut job = json!({"command": "digest", "model": path_str(&fx.model)});
            h.py_fields(&mut job);
            job
        })
        .collect();
    let (results, r) = peer.batch(&jobs);
    assert_all_ok("Python digest", &jobs, &results, &r);
    for (h, py) in configs.iter().zip(&results) {
        assert!(py.output.starts_with("sha256:"), "bad peer output {py:?}");
        let mut a = args!["digest"];
        a.extend(h.our_args());
        a.push(fx.model.clone().into());
        let r = ours(fx.path(), a);
        r.assert_exit(0);
        let line = r.stdout.trim();
        assert_eq!(
            line,
            py.output,
            "digest differs from Python for {}\n{r}",
            h.label()
        );
    }
}

#[test]
fn digest_matches_python_files() {
    digest_matches_python(None);
}

#[test]
fn digest_matches_python_shards() {
    // Small shards: 500 shards for weights.bin, numeric offset ordering.
    digest_matches_python(Some(7));
}

// ---------------------------------------------------------------------------
// Every released version: bundles made by the peers' own CLIs
// ---------------------------------------------------------------------------

/// Python CLI signs (key with the signature inside the model, certificate
/// outside it), we verify; we sign, the Python CLI verifies.
fn released_cli_interop(var: &'static str) {
    let Some(peer) = PyPeer::from_env(var) else {
        return;
    };
    let fx = Fixture::new();
    let key = Signer::key(fx.path(), Curve::P256);
    let cert = Signer::cert(fx.path(), Curve::P384);
    let files = Hashing {
        alg: Alg::Sha256,
        shard_size: None,
    };

    // Python CLI -> ours -> Python CLI. The key bundle is written inside
    // (a copy of) the model, so the peer records it in ignore_paths and
    // both verifiers must skip it; the certificate bundle lies outside.
    let model_copy = fx.path().join("model-with-sig");
    copy_dir(&fx.model, &model_copy);
    let cases = [
        (&key, model_copy.join("model.sig"), &model_copy),
        (&cert, fx.sig("py-cli-cert"), &fx.model),
    ];
    for (signer, sig, model) in &cases {
        let mut a = signer.py_cli_sign_args();
        a.extend(args!["--signature", sig, model]);
        let r = run(peer.cli().current_dir(fx.path()).args(a));
        r.assert_exit(0).assert_stdout_contains("Signing succeeded");
        let ours = our_verify(fx.path(), signer, sig, model, &[]);
        if ours.code() != Some(0) {
            // Tell whether the peer accepts its own bundle (only on
            // failure: the peer's CLI takes over a second to start).
            let mut a = signer.py_cli_verify_args();
            a.extend(args!["--signature", sig, model]);
            let own = run(peer.cli().current_dir(fx.path()).args(a));
            panic!("we reject a bundle from the peer's CLI\n{ours}\nthe peer itself on it:\n{own}");
        }
        assert_verified(&ours);
    }

    // Ours -> Python CLI (files/sha256 is all the 1.1.x CLI can check).
    for (name, signer) in [("ours-key", &key), ("ours-cert", &cert)] {
        let sig = fx.sig(name);
        our_sign(&fx, signer, files, &sig);
        let mut a = signer.py_cli_verify_args();
        a.extend(args!["--signature", &sig, &fx.model]);
        let r = run(peer.cli().current_dir(fx.path()).args(a));
        r.assert_exit(0)
            .assert_stdout_contains("Verification succeeded");
    }

    // Ours, with the signature inside the model: we must leave it out of
    // the manifest (and record it in ignore_paths) like the peer does.
    let model_copy = fx.path().join("model-with-our-sig");
    copy_dir(&fx.model, &model_copy);
    let sig = model_copy.join("model.sig");
    let mut a = key.our_sign_args();
    a.extend(args!["--signature", &sig, &model_copy]);
    ours(fx.path(), a)
        .assert_exit(0)
        .assert_stdout_contains("Signing succeeded");
    let mut a = key.py_cli_verify_args();
    a.extend(args!["--signature", &sig, &model_copy]);
    let r = run(peer.cli().current_dir(fx.path()).args(a));
    r.assert_exit(0)
        .assert_stdout_contains("Verification succeeded");
}

#[test]
fn released_1_1_1_cli_interop() {
    released_cli_interop(PEER_PY_1_1_1);
}

#[test]
fn released_1_1_0_cli_interop() {
    released_cli_interop(PEER_PY_1_1_0);
}

/// Bundles made through the 1.1.0 API (shards, blake2, certificates)
/// verify with ours.
#[test]
fn released_1_1_0_api_bundles_verify_with_ours() {
    let Some(peer) = PyPeer::from_env(PEER_PY_1_1_0) else {
        return;
    };
    let fx = Fixture::new();
    let key = Signer::key(fx.path(), Curve::P384);
    let cert = Signer::cert(fx.path(), Curve::P256);
    let cases = [
        (
            &key,
            Hashing {
                alg: Alg::Blake2b,
                shard_size: Some(SHARD_SIZE),
            },
        ),
        (
            &cert,
            Hashing {
                alg: Alg::Sha256,
                shard_size: Some(SHARD_SIZE),
            },
        ),
        (
            &cert,
            Hashing {
                alg: Alg::Blake3,
                shard_size: None,
            },
        ),
    ];
    let jobs: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, (s, h))| s.py_sign_job(&fx.model, &fx.sig(&format!("{i}-{}", h.label())), *h))
        .collect();
    let (results, r) = peer.batch(&jobs);
    assert_all_ok("Python 1.1.0 signing", &jobs, &results, &r);
    for (i, (s, h)) in cases.iter().enumerate() {
        let sig = fx.sig(&format!("{i}-{}", h.label()));
        assert_verified(&our_verify(fx.path(), s, &sig, &fx.model, &[]));
    }
}

// ---------------------------------------------------------------------------
// Ignore paths recorded in the bundle are honoured both ways
// ---------------------------------------------------------------------------

#[test]
fn recorded_ignore_paths_interop() {
    let Some(peer) = PyPeer::from_env(PEER_PY_1_1_1) else {
        return;
    };
    let fx = Fixture::new();
    let key = Signer::key(fx.path(), Curve::P256);
    let ignored = fx.model.join("sub/deep");
    let files = Hashing {
        alg: Alg::Sha256,
        shard_size: None,
    };
    let shards = Hashing {
        alg: Alg::Sha256,
        shard_size: Some(SHARD_SIZE),
    };

    // Python signs ignoring sub/deep (absolute path: the CLI semantics are
    // relative to the CWD).
    let py_sig = fx.sig("py-ignore");
    let mut job = key.py_sign_job(&fx.model, &py_sig, files);
    job["ignore_path"] = json!([path_str(&ignored)]);
    // Ours signs ignoring sub/deep too.
    let our_sig = fx.sig("ours-ignore");
    let mut a = key.our_sign_args();
    a.extend(args!["--signature", &our_sig, "--ignore-paths", &ignored]);
    a.extend(shards.our_args());
    a.push(fx.model.clone().into());
    ours(fx.path(), a)
        .assert_exit(0)
        .assert_stdout_contains("Signing succeeded");
    let (results, r) = peer.batch(&[job.clone()]);
    assert_all_ok("Python signing with ignore paths", &[job], &results, &r);

    // Content in the ignored directory changes: both still verify, without
    // being told about the ignored path (it is recorded in the bundle).
    tamper(&ignored.join("nested/layer.bin"), 0);
    write_file(&ignored, "new.bin", "new");
    assert_verified(&our_verify(fx.path(), &key, &py_sig, &fx.model, &[]));
    let jobs = vec![key.py_verify_job(&fx.model, &our_sig, shards)];
    let (results, r) = peer.batch(&jobs);
    assert_all_ok(
        "Python verifying our bundle with ignore paths",
        &jobs,
        &results,
        &r,
    );
}

// ---------------------------------------------------------------------------
// Negative interop
// ---------------------------------------------------------------------------

/// Python-signed bundles + a modified model: ours must reject, naming the
/// file; an extra file passes only with --ignore-unsigned-files.
#[test]
fn python_bundle_modified_model_fails_with_ours() {
    let Some(peer) = PyPeer::from_env(PEER_PY_1_1_1) else {
        return;
    };
    let fx = Fixture::new();
    let key = Signer::key(fx.path(), Curve::P256);
    let cert = Signer::cert(fx.path(), Curve::P256);
    let files = Hashing {
        alg: Alg::Sha256,
        shard_size: None,
    };
    let shards = Hashing {
        alg: Alg::Blake2b,
        shard_size: Some(SHARD_SIZE),
    };
    let cases = [
        (&key, files, fx.sig("key-files")),
        (&cert, shards, fx.sig("cert-shards")),
    ];
    let jobs: Vec<Value> = cases
        .iter()
        .map(|(s, h, sig)| s.py_sign_job(&fx.model, sig, *h))
        .collect();
    let (results, r) = peer.batch(&jobs);
    assert_all_ok("Python signing", &jobs, &results, &r);

    // Sanity: the untouched copies verify.
    for (s, _, sig) in &cases {
        assert_verified(&our_verify(fx.path(), s, sig, &fx.model, &[]));
    }

    // Tampered content (in the 3rd shard of weights.bin).
    let tampered = fx.path().join("tampered");
    copy_dir(&fx.model, &tampered);
    tamper(&tampered.join("weights.bin"), 2500);
    // Extra file.
    let extra = fx.path().join("extra");
    copy_dir(&fx.model, &extra);
    write_file(&extra, "sub/extra.txt", "not signed");
    // Missing file.
    let missing = fx.path().join("missing");
    copy_dir(&fx.model, &missing);
    fs::remove_file(missing.join("config.json")).unwrap();

    for (s, _, sig) in &cases {
        assert_rejected(
            &our_verify(fx.path(), s, sig, &tampered, &[]),
            "weights.bin",
        );
        assert_rejected(&our_verify(fx.path(), s, sig, &extra, &[]), "sub/extra.txt");
        assert_rejected(&our_verify(fx.path(), s, sig, &missing, &[]), "config.json");
        assert_verified(&our_verify(
            fx.path(),
            s,
            sig,
            &extra,
            &["--ignore-unsigned-files"],
        ));
    }
}

/// Our bundles + a tampered model: Python must reject.
#[test]
fn our_bundle_tampered_model_fails_with_python() {
    let Some(peer) = PyPeer::from_env(PEER_PY_1_1_1) else {
        return;
    };
    let fx = Fixture::new();
    let key = Signer::key(fx.path(), Curve::P384);
    let cert = Signer::cert(fx.path(), Curve::P256);
    let cases = [
        (
            &key,
            Hashing {
                alg: Alg::Sha256,
                shard_size: None,
            },
            fx.sig("key-files"),
        ),
        (
            &cert,
            Hashing {
                alg: Alg::Sha256,
                shard_size: Some(SHARD_SIZE),
            },
            fx.sig("cert-shards"),
        ),
        (
            &key,
            Hashing {
                alg: Alg::Blake3,
                shard_size: None,
            },
            fx.sig("key-blake3"),
        ),
    ];
    for (s, h, sig) in &cases {
        our_sign(&fx, s, *h, sig);
    }
    tamper(&fx.model.join("caf\u{e9}.txt"), 0);
    let jobs: Vec<Value> = cases
        .iter()
        .map(|(s, h, sig)| s.py_verify_job(&fx.model, sig, *h))
        .collect();
    let (results, r) = peer.batch(&jobs);
    for (job, res) in jobs.iter().zip(&results) {
        assert!(
            !res.ok,
            "Python accepted our bundle for a tampered model: {job}\n{r}"
        );
        assert!(
            res.error.contains("Hash mismatch") && res.error.contains("caf\u{e9}.txt"),
            "unexpected Python error for {job}: {}\n{r}",
            res.error
        );
    }
    // And our own verifier agrees.
    for (s, _, sig) in &cases {
        assert_rejected(
            &our_verify(fx.path(), s, sig, &fx.model, &[]),
            "caf\u{e9}.txt",
        );
    }
}
