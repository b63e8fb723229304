//! Mutation tests: a signed model or bundle is changed in one way, and verification must fail.
//!
//! 1. Model mutations: a generated model (nested directories, an empty file, a multi-shard file of a
//!    few hundred KB, small files, odd names) is signed with a P-256 key (files and shards, sha256,
//!    blake2b and blake3), then hundreds of single mutations (byte flips, truncation, appends,
//!    renames, deletions, new files, symlinks, FIFOs...) are applied and undone one at a time. Each
//!    mutated model must be rejected with `Error::Mismatch` (or a `Model` error for symlinks and
//!    special files), and the restored model must verify again.
//! 2. Bundle mutations (model untouched): bit flips over the whole bundle JSON, flips inside the
//!    payload, signature and hint, truncations, encoding variants, and re-signed statements whose
//!    signature is valid but whose content is wrong.
//! 3. Filesystem safety: symlinks to FIFOs outside the model are never opened, escaping resource
//!    names are refused before any hashing, a file changing while it is hashed never yields a digest
//!    of mixed content, and the size / nesting / resource-count limits.
//!
//! Randomness comes from a small xorshift generator seeded with a fixed seed, printed by every test;
//! `MS_MUTATION_SEED` (decimal or 0x-hex) overrides it and `MS_MUTATION_SCALE` (a factor, default 1)
//! scales the number of random mutations. Every test prints a summary table on stderr
//! (`cargo nextest run --no-capture mutations` shows it).
#![cfg(unix)]

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
use base64::Engine as _;
use model_signing::bundle::{self, Bundle, VerificationMaterial};
use model_signing::dsse::{pae, PAYLOAD_TYPE};
use model_signing::hashing::{Engine, HashAlgorithm, HashingConfig, Progress, Serialization};
use model_signing::keys::{Curve, PrivateKey, PublicKey};
use model_signing::sign::{sign_to_bytes, KeySigner, RawSigner};
use model_signing::verify::{
    verify_bundle, verify_model, BundleVerifier, KeyVerifier, VerifyOptions, VerifyReport,
};
use model_signing::Error;
use serde_json::{json, Value};
use std::any::Any;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, FileExt, OpenOptionsExt};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------------------------
// Seeded PRNG (xorshift64*), no dependency.

const DEFAULT_SEED: u64 = 0x6d6f_6465_6c2d_7369;

fn base_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| match std::env::var("MS_MUTATION_SEED") {
        Ok(s) => {
            let t = s.trim().replace('_', "");
            let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => t.parse::<u64>().ok(),
            };
            parsed.unwrap_or_else(|| {
                panic!("MS_MUTATION_SEED={s:?} is not a u64 (decimal or 0x-hex)")
            })
        }
        Err(_) => DEFAULT_SEED,
    })
}

/// `n` scaled by `MS_MUTATION_SCALE`.
fn scaled(n: usize) -> usize {
    let f = std::env::var("MS_MUTATION_SCALE")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|f| *f > 0.0)
        .unwrap_or(1.0);
    ((n as f64 * f).ceil() as usize).max(1)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    /// A generator for one test: the base seed mixed with the test's name, so tests are independent.
    fn for_test(name: &str) -> Rng {
        let seed = base_seed();
        eprintln!("[{name}] seed {seed:#x} (MS_MUTATION_SEED={seed:#x} reproduces this run)");
        let mut s = splitmix(seed);
        for b in name.bytes() {
            s = splitmix(s ^ u64::from(b));
        }
        Rng(if s == 0 { 1 } else { s })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        assert!(n > 0);
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn nonzero_byte(&mut self) -> u8 {
        1 + self.below(255) as u8
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n.div_ceil(8) * 8];
        for c in v.chunks_exact_mut(8) {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(n);
        v
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

// ------------------------------------------------------------------------------------------------
// Shared helpers: the generated model, signing, verification with panic capture.

/// A generated model in a temporary directory, with a sibling directory outside the model.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    /// Model-relative name -> content, as signed.
    files: BTreeMap<String, Vec<u8>>,
    /// Model-relative directories ("" is the root).
    dirs: Vec<String>,
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        if name.is_empty() {
            self.root.clone()
        } else {
            self.root.join(name)
        }
    }

    fn names(&self) -> Vec<String> {
        self.files.keys().cloned().collect()
    }

    fn content(&self, name: &str) -> Vec<u8> {
        self.files[name].clone()
    }
}

fn write_file(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

fn text(rng: &mut Rng, n: usize) -> Vec<u8> {
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz .,;\n";
    (0..n).map(|_| A[rng.below(A.len())]).collect()
}

/// The test model. `big` picks a weights file of a few hundred KB (hundreds of 1000-byte shards)
/// instead of a few KB.
fn build_model(rng: &mut Rng, big: bool) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let big_len = if big {
        rng.between(200_000, 300_000)
    } else {
        rng.between(3_000, 6_000)
    };
    let (h, l) = (rng.between(64, 4096), rng.between(1, 96));
    files.insert(
        "config.json".into(),
        format!("{{\"hidden_size\":{h},\"num_layers\":{l},\"model_type\":\"mutant\"}}")
            .into_bytes(),
    );
    let n = rng.between(300, 900);
    files.insert("README.md".into(), text(rng, n));
    let n = rng.between(10, 50);
    files.insert(".hidden".into(), text(rng, n));
    files.insert("empty.bin".into(), Vec::new());
    files.insert("weights/model.safetensors".into(), rng.bytes(big_len));
    // Two files of the same size, for content swaps.
    files.insert("weights/bias.bin".into(), rng.bytes(777));
    files.insert("tokenizer/merges.txt".into(), rng.bytes(777));
    let n = rng.between(2_000, 4_000);
    files.insert("weights/nested/deep/tensor.npy".into(), rng.bytes(n));
    let n = rng.between(20, 200);
    files.insert("tokenizer/modèle.txt".into(), text(rng, n));
    let n = rng.between(5, 80);
    files.insert("data/a:b c.txt".into(), text(rng, n));
    files.insert("data/single".into(), vec![rng.nonzero_byte()]);
    for (name, data) in &files {
        write_file(&root.join(name), data);
    }
    let dirs = [
        "",
        "weights",
        "weights/nested",
        "weights/nested/deep",
        "tokenizer",
        "data",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Fixture {
        _tmp: tmp,
        root,
        outside,
        files,
        dirs,
    }
}

fn hashing(alg: HashAlgorithm, ser: Serialization) -> HashingConfig {
    HashingConfig {
        algorithm: alg,
        serialization: ser,
        ..HashingConfig::default()
    }
}

struct Signed {
    signer: KeySigner,
    public: PublicKey,
    bundle: Bundle,
    bytes: Vec<u8>,
}

impl Signed {
    fn verifier(&self) -> KeyVerifier {
        KeyVerifier::new(self.public.clone())
    }

    fn material(&self) -> VerificationMaterial {
        VerificationMaterial::PublicKey {
            hint: Some(self.public.hint()),
            legacy_raw_bytes: false,
        }
    }

    fn statement(&self) -> Value {
        serde_json::from_slice(&self.bundle.payload).unwrap()
    }

    /// A bundle for `payload` signed (over the DSSE PAE of `payload_type`) with the same key.
    fn resign_raw(&self, payload_type: &str, payload: &[u8]) -> Vec<u8> {
        let sig = self.signer.sign(&pae(payload_type, payload)).unwrap();
        bundle::encode(&self.material(), payload_type, payload, &sig).unwrap()
    }

    fn resign(&self, statement: &Value) -> Vec<u8> {
        self.resign_raw(PAYLOAD_TYPE, &serde_json::to_vec(statement).unwrap())
    }
}

fn sign(root: &Path, cfg: &HashingConfig) -> Signed {
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let public = key.public_key();
    let signer = KeySigner::new(key);
    let (bytes, _) = sign_to_bytes(root, cfg, &signer).unwrap();
    let bundle = bundle::parse(&bytes).unwrap();
    Signed {
        signer,
        public,
        bundle,
        bytes,
    }
}

enum Outcome {
    Pass(Box<VerifyReport>),
    Fail(Error),
    Panic(String),
}

fn panic_text(p: Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}

/// The message of an error about the model tree itself (a plain `Model` error, or a symlink where
/// links are not followed).
fn model_message(e: &Error) -> Option<String> {
    match e {
        Error::Model(m) => Some(m.clone()),
        Error::Symlink { .. } => Some(e.to_string()),
        _ => None,
    }
}

fn class(e: &Error) -> &'static str {
    match e {
        Error::Io { .. } => "Io",
        Error::Model(_) | Error::Symlink { .. } => "Model",
        Error::Bundle(_) => "Bundle",
        Error::Statement(_) => "Statement",
        Error::Signature(_) => "Signature",
        Error::Mismatch(_) => "Mismatch",
        Error::Key(_) => "Key",
        _ => "other",
    }
}

fn short(s: &str) -> String {
    let one = s.replace('\n', " | ");
    if one.chars().count() > 220 {
        format!("{}...", one.chars().take(220).collect::<String>())
    } else {
        one
    }
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Outcome::Pass(r) => format!("VERIFIED ({} files checked)", r.files_checked),
            Outcome::Fail(e) => format!("{}: {}", class(e), short(&e.to_string())),
            Outcome::Panic(p) => format!("PANIC: {p}"),
        }
    }
}

fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Outcome> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Outcome::Fail(e)),
        Err(p) => Err(Outcome::Panic(panic_text(p))),
    }
}

fn verify_outcome(
    root: &Path,
    b: &Bundle,
    verifier: &dyn BundleVerifier,
    opts: &VerifyOptions,
) -> Outcome {
    match guarded(|| verify_bundle(root, b, verifier, opts)) {
        Ok(r) => Outcome::Pass(Box::new(r)),
        Err(o) => o,
    }
}

/// Parses bundle bytes and verifies them: the whole path a `model.sig` goes through.
fn verify_bytes(
    root: &Path,
    bytes: &[u8],
    verifier: &dyn BundleVerifier,
    opts: &VerifyOptions,
) -> Outcome {
    match guarded(|| {
        let b = bundle::parse(bytes)?;
        verify_bundle(root, &b, verifier, opts)
    }) {
        Ok(r) => Outcome::Pass(Box::new(r)),
        Err(o) => o,
    }
}

/// Records whether and when hashing started (to prove that a rejection came before any hashing).
#[derive(Default)]
struct CountingProgress {
    begins: AtomicUsize,
    started: Mutex<Option<Instant>>,
    finished: Mutex<Option<Instant>>,
}

impl Progress for CountingProgress {
    fn begin(&self, _files: u64, _bytes: u64) {
        self.begins.fetch_add(1, Ordering::SeqCst);
        *self.started.lock().unwrap() = Some(Instant::now());
    }
    fn finish(&self) {
        *self.finished.lock().unwrap() = Some(Instant::now());
    }
}

fn counting_opts(p: &Arc<CountingProgress>) -> VerifyOptions {
    VerifyOptions {
        engine: Engine {
            max_workers: None,
            progress: Some(p.clone() as Arc<dyn Progress>),
            mmap: false,
        },
        ..VerifyOptions::default()
    }
}

fn mkfifo(p: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success(), "mkfifo {} failed", p.display());
}

/// Removes whatever is at `p` (file, symlink, FIFO or directory tree); absent is fine.
fn clear(p: &Path) {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p).unwrap(),
        Ok(_) => fs::remove_file(p).unwrap(),
        Err(_) => {}
    }
}

fn parent_of(name: &str) -> &str {
    name.rfind('/').map_or("", |i| &name[..i])
}

fn base_of(name: &str) -> &str {
    name.rfind('/').map_or(name, |i| &name[i + 1..])
}

fn join(dir: &str, base: &str) -> String {
    if dir.is_empty() {
        base.to_string()
    } else {
        format!("{dir}/{base}")
    }
}

/// `../` repeated enough times to climb from the directory holding model file `name` to the
/// directory that holds the model root.
fn up_to_tmp(name: &str) -> String {
    "../".repeat(name.matches('/').count() + 1)
}

const GIT_PATHS: [&str; 4] = [".git", ".gitattributes", ".github", ".gitignore"];

// The sections share helpers with each other as well as with the code above.
mod bundle_flips;
mod fs_and_limits;
mod model;
mod resigned;
#[allow(unused_imports)]
use {bundle_flips::*, fs_and_limits::*, model::*, resigned::*};
