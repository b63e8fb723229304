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

// ------------------------------------------------------------------------------------------------
// 1. Model mutations.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    ByteFlip,
    Truncate,
    TruncateToZero,
    Append,
    AppendToEmpty,
    RenameSameDir,
    RenameOtherDir,
    SwapNames,
    SwapContents,
    Delete,
    DeleteEmpty,
    AddFile,
    AddDotfile,
    AddUnicodeName,
    AddCaseVariant,
    AddNfdVariant,
    AddEmptyFile,
    AddInNewDir,
    FileToDir,
    FileToFifo,
    BackslashName,
    SymlinkToSelfCopy,
    SymlinkToOtherFile,
    SymlinkSwapVerifierAllows,
    DirToSymlinkedCopy,
}

const KINDS: [Kind; 25] = [
    Kind::ByteFlip,
    Kind::Truncate,
    Kind::TruncateToZero,
    Kind::Append,
    Kind::AppendToEmpty,
    Kind::RenameSameDir,
    Kind::RenameOtherDir,
    Kind::SwapNames,
    Kind::SwapContents,
    Kind::Delete,
    Kind::DeleteEmpty,
    Kind::AddFile,
    Kind::AddDotfile,
    Kind::AddUnicodeName,
    Kind::AddCaseVariant,
    Kind::AddNfdVariant,
    Kind::AddEmptyFile,
    Kind::AddInNewDir,
    Kind::FileToDir,
    Kind::FileToFifo,
    Kind::BackslashName,
    Kind::SymlinkToSelfCopy,
    Kind::SymlinkToOtherFile,
    Kind::SymlinkSwapVerifierAllows,
    Kind::DirToSymlinkedCopy,
];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::ByteFlip => "byte flip",
            Kind::Truncate => "truncate (random length)",
            Kind::TruncateToZero => "truncate to 0",
            Kind::Append => "append random bytes",
            Kind::AppendToEmpty => "append to the empty file",
            Kind::RenameSameDir => "rename (same dir)",
            Kind::RenameOtherDir => "rename (other dir)",
            Kind::SwapNames => "swap two file names",
            Kind::SwapContents => "swap two files' contents",
            Kind::Delete => "delete a file",
            Kind::DeleteEmpty => "delete the empty file",
            Kind::AddFile => "add a file",
            Kind::AddDotfile => "add a dotfile",
            Kind::AddUnicodeName => "add a unicode-named file",
            Kind::AddCaseVariant => "add a case-variant name",
            Kind::AddNfdVariant => "add an NFD twin name",
            Kind::AddEmptyFile => "add an empty file",
            Kind::AddInNewDir => "add a file in new dirs",
            Kind::FileToDir => "file -> directory",
            Kind::FileToFifo => "file -> FIFO",
            Kind::BackslashName => "name with a backslash",
            Kind::SymlinkToSelfCopy => "file -> symlink to own copy",
            Kind::SymlinkToOtherFile => "file -> symlink to other file",
            Kind::SymlinkSwapVerifierAllows => "symlink swap, verifier allows",
            Kind::DirToSymlinkedCopy => "dir -> symlink to own copy",
        }
    }
}

enum Expect {
    /// `Error::Mismatch` with a non-empty report.
    Mismatch,
    /// `Error::Model` whose message contains this text.
    Model(&'static str),
    /// Verification passes, by design of the format (counted, not a failure).
    ByDesign,
}

enum Undo {
    /// Put this content back at this path (whatever is there now is removed first).
    Restore(PathBuf, Vec<u8>),
    /// Remove this path (file, link, FIFO or tree).
    Remove(PathBuf),
    Rename(PathBuf, PathBuf),
}

fn run_undo(undo: Vec<Undo>) {
    for u in undo {
        match u {
            Undo::Restore(p, d) => {
                clear(&p);
                write_file(&p, &d);
            }
            Undo::Remove(p) => clear(&p),
            Undo::Rename(a, b) => fs::rename(&a, &b)
                .unwrap_or_else(|e| panic!("undo rename {} -> {}: {e}", a.display(), b.display())),
        }
    }
}

struct Applied {
    desc: String,
    expect: Expect,
    undo: Vec<Undo>,
    verifier_allows_symlinks: bool,
}

impl Applied {
    fn new(desc: String, expect: Expect, undo: Vec<Undo>) -> Applied {
        Applied {
            desc,
            expect,
            undo,
            verifier_allows_symlinks: false,
        }
    }
}

/// Whether adding, deleting or renaming a file of `len` bytes is visible: the shards serialization
/// records no resource at all for an empty file (as in the Python reference), so it cannot be.
fn presence(shards: bool, len: usize) -> Expect {
    if shards && len == 0 {
        Expect::ByDesign
    } else {
        Expect::Mismatch
    }
}

#[derive(Clone, Copy)]
enum Style {
    Plain,
    Dot,
    Unicode,
    Odd,
}

fn random_base(rng: &mut Rng, style: Style) -> String {
    const PLAIN: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
    let plain = |rng: &mut Rng| -> String {
        let n = rng.between(1, 16);
        (0..n)
            .map(|_| PLAIN[rng.below(PLAIN.len())] as char)
            .collect()
    };
    match style {
        Style::Plain => plain(rng),
        Style::Dot => format!(".{}", plain(rng)),
        Style::Unicode => {
            const U: [&str; 14] = [
                "é", "ß", "中", "文", "😀", "Ω", "ñ", "Я", "e\u{301}", "\u{200b}", "ﬁ", "İ", "a",
                "\u{202e}",
            ];
            let n = rng.between(1, 6);
            (0..n).map(|_| *rng.pick(&U)).collect()
        }
        Style::Odd => {
            if rng.chance(10) {
                return "L".repeat(rng.between(100, 250));
            }
            const O: [&str; 20] = [
                "a", " ", "  ", ":", "\n", "\t", "#", "%", "~", "'", "\"", "*", "?", "[", "]", "{",
                "}", "=", "-", ".",
            ];
            let n = rng.between(1, 10);
            (0..n).map(|_| *rng.pick(&O)).collect()
        }
    }
}

/// A plain name that is not `.` or `..`.
fn plain_base(rng: &mut Rng) -> String {
    loop {
        let b = random_base(rng, Style::Plain);
        if b != "." && b != ".." {
            return b;
        }
    }
}

fn random_style(rng: &mut Rng) -> Style {
    *rng.pick(&[Style::Plain, Style::Dot, Style::Unicode, Style::Odd])
}

/// A model-relative name in `dir` that does not exist and is not ignored by default.
fn fresh_name(rng: &mut Rng, fx: &Fixture, dir: &str, style: Style) -> String {
    loop {
        let base = random_base(rng, style);
        if base.is_empty() || base == "." || base == ".." || base.contains('/') || base.len() > 250
        {
            continue;
        }
        if dir.is_empty() && GIT_PATHS.contains(&base.as_str()) {
            continue; // ignored by default (recorded ignore_paths): adding it is allowed
        }
        let name = join(dir, &base);
        if fs::symlink_metadata(fx.path(&name)).is_err() {
            return name;
        }
    }
}

fn case_variants(base: &str) -> Vec<String> {
    let swap: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let mut cap = String::new();
    let mut done = false;
    for c in base.chars() {
        if !done && c.is_ascii_alphabetic() {
            cap.push(if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            });
            done = true;
        } else {
            cap.push(c);
        }
    }
    let mut v = vec![base.to_uppercase(), base.to_lowercase(), swap, cap];
    v.retain(|s| s != base);
    v.sort();
    v.dedup();
    v
}

fn pick_file(rng: &mut Rng, fx: &Fixture, nonempty: bool) -> (String, Vec<u8>) {
    let names: Vec<String> = fx
        .files
        .iter()
        .filter(|(_, d)| !nonempty || !d.is_empty())
        .map(|(n, _)| n.clone())
        .collect();
    let n = rng.pick(&names).clone();
    let d = fx.content(&n);
    (n, d)
}

/// Two distinct files with different contents.
fn pick_two(rng: &mut Rng, fx: &Fixture) -> (String, String) {
    let names = fx.names();
    loop {
        let a = rng.pick(&names).clone();
        let b = rng.pick(&names).clone();
        if a != b && fx.files[&a] != fx.files[&b] {
            return (a, b);
        }
    }
}

fn random_content(rng: &mut Rng, fx: &Fixture) -> Vec<u8> {
    if rng.chance(25) {
        pick_file(rng, fx, false).1 // an identical copy of a signed file
    } else if rng.chance(10) {
        Vec::new()
    } else {
        let n = rng.between(1, 3000);
        rng.bytes(n)
    }
}

fn apply(kind: Kind, fx: &Fixture, rng: &mut Rng, shards: bool, n: usize) -> Applied {
    match kind {
        Kind::ByteFlip => {
            let (name, data) = pick_file(rng, fx, true);
            let off = rng.below(data.len());
            let mask = rng.nonzero_byte();
            let mut d = data.clone();
            d[off] ^= mask;
            fs::write(fx.path(&name), &d).unwrap();
            Applied::new(
                format!(
                    "flip byte {off}/{} of {name:?} (xor {mask:#04x})",
                    data.len()
                ),
                Expect::Mismatch,
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::Truncate | Kind::TruncateToZero => {
            let (name, data) = pick_file(rng, fx, true);
            let len = if kind == Kind::TruncateToZero {
                0
            } else {
                rng.below(data.len())
            };
            fs::OpenOptions::new()
                .write(true)
                .open(fx.path(&name))
                .unwrap()
                .set_len(len as u64)
                .unwrap();
            Applied::new(
                format!("truncate {name:?} from {} to {len} bytes", data.len()),
                Expect::Mismatch,
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::Append | Kind::AppendToEmpty => {
            let (name, data) = if kind == Kind::AppendToEmpty {
                ("empty.bin".to_string(), Vec::new())
            } else {
                pick_file(rng, fx, false)
            };
            let k = if rng.chance(20) {
                rng.between(1000, 5000)
            } else {
                rng.between(1, 64)
            };
            let mut d = data.clone();
            d.extend(rng.bytes(k));
            fs::write(fx.path(&name), &d).unwrap();
            Applied::new(
                format!("append {k} bytes to {name:?} ({} bytes)", data.len()),
                Expect::Mismatch,
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::RenameSameDir | Kind::RenameOtherDir => {
            let (name, data) = pick_file(rng, fx, false);
            let dir = parent_of(&name).to_string();
            let new = if kind == Kind::RenameSameDir {
                let variants: Vec<String> = case_variants(base_of(&name))
                    .into_iter()
                    .map(|b| join(&dir, &b))
                    .filter(|c| fs::symlink_metadata(fx.path(c)).is_err())
                    .filter(|c| !GIT_PATHS.contains(&c.as_str()))
                    .collect();
                if !variants.is_empty() && rng.chance(30) {
                    rng.pick(&variants).clone()
                } else {
                    let st = random_style(rng);
                    fresh_name(rng, fx, &dir, st)
                }
            } else {
                let others: Vec<&String> = fx.dirs.iter().filter(|d| **d != dir).collect();
                let target = rng.pick(&others).to_string();
                let same = join(&target, base_of(&name));
                if fs::symlink_metadata(fx.path(&same)).is_err()
                    && !GIT_PATHS.contains(&same.as_str())
                {
                    same
                } else {
                    let st = random_style(rng);
                    fresh_name(rng, fx, &target, st)
                }
            };
            fs::rename(fx.path(&name), fx.path(&new)).unwrap();
            Applied::new(
                format!("rename {name:?} ({} bytes) -> {new:?}", data.len()),
                presence(shards, data.len()),
                vec![Undo::Rename(fx.path(&new), fx.path(&name))],
            )
        }
        Kind::SwapNames => {
            let (a, b) = pick_two(rng, fx);
            let tmp = fx.outside.join(format!("swap-{n}"));
            let ops = || {
                vec![
                    Undo::Rename(fx.path(&a), tmp.clone()),
                    Undo::Rename(fx.path(&b), fx.path(&a)),
                    Undo::Rename(tmp.clone(), fx.path(&b)),
                ]
            };
            run_undo(ops()); // a swap is its own inverse
            Applied::new(
                format!("swap names {a:?} <-> {b:?}"),
                Expect::Mismatch,
                ops(),
            )
        }
        Kind::SwapContents => {
            let (a, b) = if rng.chance(50) {
                (
                    "weights/bias.bin".to_string(),
                    "tokenizer/merges.txt".to_string(),
                )
            } else {
                pick_two(rng, fx)
            };
            let (da, db) = (fx.content(&a), fx.content(&b));
            fs::write(fx.path(&a), &db).unwrap();
            fs::write(fx.path(&b), &da).unwrap();
            Applied::new(
                format!(
                    "swap contents of {a:?} ({}) and {b:?} ({})",
                    da.len(),
                    db.len()
                ),
                Expect::Mismatch,
                vec![
                    Undo::Restore(fx.path(&a), da),
                    Undo::Restore(fx.path(&b), db),
                ],
            )
        }
        Kind::Delete | Kind::DeleteEmpty => {
            let (name, data) = if kind == Kind::DeleteEmpty {
                ("empty.bin".to_string(), Vec::new())
            } else {
                pick_file(rng, fx, false)
            };
            fs::remove_file(fx.path(&name)).unwrap();
            Applied::new(
                format!("delete {name:?} ({} bytes)", data.len()),
                presence(shards, data.len()),
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::AddFile
        | Kind::AddDotfile
        | Kind::AddUnicodeName
        | Kind::AddEmptyFile
        | Kind::BackslashName => {
            let dir = rng.pick(&fx.dirs).clone();
            let style = match kind {
                Kind::AddDotfile => Style::Dot,
                Kind::AddUnicodeName => Style::Unicode,
                _ => {
                    if rng.chance(50) {
                        Style::Plain
                    } else {
                        Style::Odd
                    }
                }
            };
            let mut name = fresh_name(rng, fx, &dir, style);
            if kind == Kind::BackslashName {
                let b = base_of(&name).to_string();
                let at = rng.below(b.len() + 1);
                let at = (0..=at).rev().find(|i| b.is_char_boundary(*i)).unwrap_or(0);
                name = join(&dir, &format!("{}\\{}", &b[..at], &b[at..]));
                if fs::symlink_metadata(fx.path(&name)).is_ok() {
                    name = join(&dir, &format!("bs\\{n}"));
                }
            }
            let data = if kind == Kind::AddEmptyFile {
                Vec::new()
            } else {
                random_content(rng, fx)
            };
            write_file(&fx.path(&name), &data);
            let expect = if kind == Kind::BackslashName {
                Expect::Model("backslash")
            } else {
                presence(shards, data.len())
            };
            Applied::new(
                format!("add {name:?} ({} bytes)", data.len()),
                expect,
                vec![Undo::Remove(fx.path(&name))],
            )
        }
        Kind::AddCaseVariant => {
            let candidates: Vec<(String, String)> = fx
                .names()
                .into_iter()
                .flat_map(|n| {
                    let dir = parent_of(&n).to_string();
                    case_variants(base_of(&n))
                        .into_iter()
                        .map(move |v| (n.clone(), join(&dir, &v)))
                        .collect::<Vec<_>>()
                })
                .filter(|(_, v)| fs::symlink_metadata(fx.path(v)).is_err())
                .filter(|(_, v)| !GIT_PATHS.contains(&v.as_str()))
                .collect();
            let (orig, name) = rng.pick(&candidates).clone();
            let data = if rng.chance(50) {
                fx.content(&orig)
            } else {
                let k = rng.between(1, 500);
                rng.bytes(k)
            };
            write_file(&fx.path(&name), &data);
            Applied::new(
                format!("add {name:?} next to {orig:?} ({} bytes)", data.len()),
                presence(shards, data.len()),
                vec![Undo::Remove(fx.path(&name))],
            )
        }
        Kind::AddNfdVariant => {
            // "modèle.txt" is stored NFC; its NFD spelling is another file on Linux.
            let name = "tokenizer/mode\u{300}le.txt".to_string();
            let data = fx.content("tokenizer/modèle.txt");
            write_file(&fx.path(&name), &data);
            Applied::new(
                format!("add NFD twin {name:?} of \"tokenizer/modèle.txt\" (same content)"),
                Expect::Mismatch,
                vec![Undo::Remove(fx.path(&name))],
            )
        }
        Kind::AddInNewDir => {
            let dir = rng.pick(&fx.dirs).clone();
            let st = random_style(rng);
            let top = fresh_name(rng, fx, &dir, st);
            let mut name = top.clone();
            for _ in 0..=rng.below(3) {
                name = join(&name, &plain_base(rng));
            }
            let data = random_content(rng, fx);
            write_file(&fx.path(&name), &data);
            Applied::new(
                format!("add {name:?} ({} bytes) in new dirs", data.len()),
                presence(shards, data.len()),
                vec![Undo::Remove(fx.path(&top))],
            )
        }
        Kind::FileToDir => {
            let (name, data) = pick_file(rng, fx, true);
            let inner = format!("{name}/{}", base_of(&name));
            fs::remove_file(fx.path(&name)).unwrap();
            write_file(&fx.path(&inner), &data);
            Applied::new(
                format!("replace {name:?} by directory holding {inner:?} (same content)"),
                Expect::Mismatch,
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::FileToFifo => {
            let (name, data) = pick_file(rng, fx, false);
            fs::remove_file(fx.path(&name)).unwrap();
            mkfifo(&fx.path(&name));
            Applied::new(
                format!("replace {name:?} by a FIFO"),
                Expect::Model("FIFO"),
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::SymlinkToSelfCopy => {
            let (name, data) = pick_file(rng, fx, false);
            let mut undo = vec![Undo::Restore(fx.path(&name), data.clone())];
            let (copy, target, where_) = match rng.below(3) {
                0 => {
                    let c = fx.outside.join(format!("copy-{n}"));
                    (c.clone(), c, "absolute, outside the model")
                }
                1 => {
                    let c = fx.outside.join(format!("copy-{n}"));
                    let rel = PathBuf::from(format!("{}outside/copy-{n}", up_to_tmp(&name)));
                    (c, rel, "relative, outside the model")
                }
                _ => {
                    let c = fx.root.join(format!(".git/objects/copy-{n}"));
                    let rel = PathBuf::from(format!(
                        "{}.git/objects/copy-{n}",
                        "../".repeat(name.matches('/').count())
                    ));
                    undo.push(Undo::Remove(fx.root.join(".git")));
                    (c, rel, "relative, inside the ignored .git")
                }
            };
            write_file(&copy, &data);
            undo.push(Undo::Remove(copy));
            fs::remove_file(fx.path(&name)).unwrap();
            symlink(&target, fx.path(&name)).unwrap();
            Applied::new(
                format!(
                    "replace {name:?} by a symlink to an identical copy ({where_}: {})",
                    target.display()
                ),
                Expect::Model("symlink"),
                undo,
            )
        }
        Kind::SymlinkToOtherFile | Kind::SymlinkSwapVerifierAllows => {
            let (a, b) = pick_two(rng, fx);
            let target = if rng.chance(50) {
                fx.path(&b)
            } else {
                PathBuf::from(format!("{}{b}", "../".repeat(a.matches('/').count())))
            };
            fs::remove_file(fx.path(&a)).unwrap();
            symlink(&target, fx.path(&a)).unwrap();
            let mut ap = Applied::new(
                format!("replace {a:?} by a symlink to {b:?} ({})", target.display()),
                if kind == Kind::SymlinkToOtherFile {
                    Expect::Model("symlink")
                } else {
                    Expect::Mismatch
                },
                vec![Undo::Restore(fx.path(&a), fx.content(&a))],
            );
            ap.verifier_allows_symlinks = kind == Kind::SymlinkSwapVerifierAllows;
            ap
        }
        Kind::DirToSymlinkedCopy => {
            let dirs: Vec<&String> = fx.dirs.iter().filter(|d| !d.is_empty()).collect();
            let d = rng.pick(&dirs).to_string();
            let moved = fx.outside.join(format!("dir-{n}"));
            fs::rename(fx.path(&d), &moved).unwrap();
            symlink(&moved, fx.path(&d)).unwrap();
            Applied::new(
                format!("replace directory {d:?} by a symlink to itself moved outside"),
                Expect::Model("symlink"),
                vec![Undo::Remove(fx.path(&d)), Undo::Rename(moved, fx.path(&d))],
            )
        }
    }
}

/// Checks that the tree on disk is exactly the fixture: the same regular files with the same
/// contents, only directories otherwise, nothing else (no link, FIFO or leftover file).
fn snapshot_matches(fx: &Fixture) -> Result<(), String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), String> {
        for e in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let e = e.map_err(|e| e.to_string())?;
            let name = join(prefix, &e.file_name().to_string_lossy());
            let ft = e.file_type().map_err(|e| e.to_string())?;
            if ft.is_dir() {
                walk(&e.path(), &name, out)?;
            } else if ft.is_file() {
                out.insert(name, fs::read(e.path()).map_err(|e| e.to_string())?);
            } else {
                return Err(format!("{name:?} is neither a file nor a directory"));
            }
        }
        Ok(())
    }
    let mut now = BTreeMap::new();
    walk(&fx.root, "", &mut now)?;
    if now == fx.files {
        Ok(())
    } else {
        let extra: Vec<_> = now.keys().filter(|k| !fx.files.contains_key(*k)).collect();
        let missing: Vec<_> = fx.files.keys().filter(|k| !now.contains_key(*k)).collect();
        Err(format!(
            "extra {extra:?}, missing {missing:?}, or contents differ"
        ))
    }
}

#[derive(Default)]
struct Tally {
    tried: usize,
    rejected: usize,
    mismatch: usize,
    model: usize,
    by_design_tried: usize,
    by_design_accepted: usize,
    wrong_class: usize,
}

fn print_tally(title: &str, tally: &BTreeMap<Kind, Tally>, elapsed: Duration) {
    let mut s = format!(
        "\n== {title}: {:.1} s ==\n{:<32} {:>6} {:>8} {:>8} {:>6} {:>10} {:>11}\n",
        elapsed.as_secs_f64(),
        "mutation",
        "tried",
        "rejected",
        "mismatch",
        "model",
        "wrong-err",
        "by-design*"
    );
    let mut tot = Tally::default();
    for (k, t) in tally {
        s += &format!(
            "{:<32} {:>6} {:>8} {:>8} {:>6} {:>10} {:>11}\n",
            k.label(),
            t.tried,
            t.rejected,
            t.mismatch,
            t.model,
            t.wrong_class,
            if t.by_design_tried > 0 {
                format!("{}/{}", t.by_design_accepted, t.by_design_tried)
            } else {
                "-".into()
            }
        );
        tot.tried += t.tried;
        tot.rejected += t.rejected;
        tot.mismatch += t.mismatch;
        tot.model += t.model;
        tot.wrong_class += t.wrong_class;
        tot.by_design_tried += t.by_design_tried;
        tot.by_design_accepted += t.by_design_accepted;
    }
    s += &format!(
        "{:<32} {:>6} {:>8} {:>8} {:>6} {:>10} {:>11}\n",
        "TOTAL",
        tot.tried,
        tot.rejected,
        tot.mismatch,
        tot.model,
        tot.wrong_class,
        format!("{}/{}", tot.by_design_accepted, tot.by_design_tried)
    );
    s += "(*) accepted/tried of mutations invisible by design (empty files under shards); \
          `tried` counts only the mutations that must be rejected\n";
    eprintln!("{s}");
}

fn model_campaign(test: &str, alg: HashAlgorithm, ser: Serialization, iterations: usize) {
    let mut rng = Rng::for_test(test);
    let fx = build_model(&mut rng, true);
    let signed = sign(&fx.root, &hashing(alg, ser));
    let st = signed.statement();
    let recorded = &st["predicate"]["serialization"];
    let shards = recorded["method"] == "shards";
    let resources = st["predicate"]["resources"].as_array().unwrap().len();
    let verifier = signed.verifier();
    let strict = VerifyOptions::default();
    let lenient = VerifyOptions {
        allow_symlinks: true,
        ..VerifyOptions::default()
    };
    if let o @ (Outcome::Fail(_) | Outcome::Panic(_)) =
        verify_outcome(&fx.root, &signed.bundle, &verifier, &strict)
    {
        panic!("the freshly signed model does not verify: {}", o.describe());
    }
    eprintln!(
        "[{test}] signed {} files as {recorded} ({resources} resources); {iterations} mutations",
        fx.files.len()
    );
    let start = Instant::now();
    let mut tally: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    for i in 0..iterations {
        // Round-robin over the kinds (each is tried equally often), random parameters.
        let kind = KINDS[i % KINDS.len()];
        let applied = apply(kind, &fx, &mut rng, shards, i);
        let opts = if applied.verifier_allows_symlinks {
            &lenient
        } else {
            &strict
        };
        let out = verify_outcome(&fx.root, &signed.bundle, &verifier, opts);
        let t = tally.entry(kind).or_default();
        match (&applied.expect, &out) {
            (_, Outcome::Panic(p)) => {
                t.tried += 1;
                failures.push(format!("PANIC on [{}]: {p}", applied.desc));
            }
            (Expect::ByDesign, Outcome::Pass(_)) => {
                t.by_design_tried += 1;
                t.by_design_accepted += 1;
            }
            (Expect::ByDesign, Outcome::Fail(_)) => t.by_design_tried += 1,
            (_, Outcome::Pass(_)) => {
                t.tried += 1;
                failures.push(format!("ACCEPTED [{}]", applied.desc));
            }
            (Expect::Mismatch, Outcome::Fail(Error::Mismatch(r))) if !r.is_empty() => {
                t.tried += 1;
                t.rejected += 1;
                t.mismatch += 1;
            }
            (Expect::Model(want), Outcome::Fail(e))
                if model_message(e).is_some_and(|m| m.contains(want)) =>
            {
                t.tried += 1;
                t.rejected += 1;
                t.model += 1;
            }
            (_, Outcome::Fail(_)) => {
                t.tried += 1;
                t.rejected += 1;
                t.wrong_class += 1;
                failures.push(format!(
                    "wrong error for [{}]: expected {}, got {}",
                    applied.desc,
                    match applied.expect {
                        Expect::Mismatch => "Mismatch".to_string(),
                        Expect::Model(s) => format!("Model(..{s}..)"),
                        Expect::ByDesign => unreachable!(),
                    },
                    out.describe()
                ));
            }
        }
        let desc = applied.desc.clone();
        run_undo(applied.undo);
        // Every mutation must start from the signed state: the tree on disk is compared with the
        // fixture each time, and every fifth time the restored model must also verify again (no
        // false positive).
        if let Err(e) = snapshot_matches(&fx) {
            failures.push(format!("undoing [{desc}] left the model changed: {e}"));
            break;
        }
        if i % 5 == 4 {
            if let o @ (Outcome::Fail(_) | Outcome::Panic(_)) =
                verify_outcome(&fx.root, &signed.bundle, &verifier, &strict)
            {
                failures.push(format!(
                    "the model does not verify after undoing [{desc}]: {}",
                    o.describe()
                ));
                break;
            }
        }
    }
    print_tally(
        &format!("model mutations, {test}, {recorded}"),
        &tally,
        start.elapsed(),
    );
    for f in &failures {
        eprintln!("FAILURE: {f}");
    }
    assert!(
        failures.is_empty(),
        "{} failures (first: {})",
        failures.len(),
        failures[0]
    );
    for (k, t) in &tally {
        assert_eq!(
            t.rejected,
            t.tried,
            "{}: not every mutation was rejected",
            k.label()
        );
    }
}

#[test]
fn model_mutations_sha256_files() {
    model_campaign(
        "model_mutations_sha256_files",
        HashAlgorithm::Sha256,
        Serialization::Files,
        scaled(400),
    );
}

#[test]
fn model_mutations_sha256_shards_1000() {
    model_campaign(
        "model_mutations_sha256_shards_1000",
        HashAlgorithm::Sha256,
        Serialization::Shards { shard_size: 1000 },
        scaled(400),
    );
}

#[test]
fn model_mutations_blake2b_files() {
    model_campaign(
        "model_mutations_blake2b_files",
        HashAlgorithm::Blake2b,
        Serialization::Files,
        scaled(300),
    );
}

#[test]
fn model_mutations_blake2b_shards_1000() {
    model_campaign(
        "model_mutations_blake2b_shards_1000",
        HashAlgorithm::Blake2b,
        Serialization::Shards { shard_size: 1000 },
        scaled(300),
    );
}

#[test]
fn model_mutations_blake3_files() {
    model_campaign(
        "model_mutations_blake3_files",
        HashAlgorithm::Blake3,
        Serialization::Files,
        scaled(300),
    );
}

/// A single-file model: flips, truncations and appends of the one file; a symlinked model path is
/// followed on purpose (the user named it).
#[test]
fn single_file_model_mutations() {
    let mut rng = Rng::for_test("single_file_model_mutations");
    let start = Instant::now();
    let mut lines = Vec::new();
    for ser in [
        Serialization::Files,
        Serialization::Shards { shard_size: 1000 },
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let model = tmp.path().join("model.bin");
        let n = rng.between(4_000, 9_000);
        let data = rng.bytes(n);
        fs::write(&model, &data).unwrap();
        let signed = sign(&model, &hashing(HashAlgorithm::Sha256, ser));
        let v = signed.verifier();
        let opts = VerifyOptions::default();
        assert!(matches!(
            verify_outcome(&model, &signed.bundle, &v, &opts),
            Outcome::Pass(_)
        ));
        let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for i in 0..scaled(120) {
            let mut d = data.clone();
            let what = match i % 3 {
                0 => {
                    let off = rng.below(d.len());
                    d[off] ^= rng.nonzero_byte();
                    "byte flip"
                }
                1 => {
                    let l = rng.below(d.len());
                    d.truncate(l);
                    "truncate"
                }
                _ => {
                    let k = rng.between(1, 2000);
                    d.extend(rng.bytes(k));
                    "append"
                }
            };
            fs::write(&model, &d).unwrap();
            let out = verify_outcome(&model, &signed.bundle, &v, &opts);
            let c = counts.entry(what).or_default();
            c.0 += 1;
            match out {
                Outcome::Fail(Error::Mismatch(_)) => c.1 += 1,
                o => panic!("{ser:?}: {what} of the single-file model: {}", o.describe()),
            }
        }
        fs::write(&model, &data).unwrap();
        // The model path itself may be a symlink (the user named it): followed, by design.
        let copy = tmp.path().join("copy.bin");
        fs::write(&copy, &data).unwrap();
        let link = tmp.path().join("link.bin");
        symlink(&copy, &link).unwrap();
        let by_design = verify_outcome(&link, &signed.bundle, &v, &opts);
        for (k, (t, r)) in counts {
            lines.push(format!(
                "{:<10} {k:<10} tried {t:>4} rejected {r:>4}",
                ser.method()
            ));
        }
        lines.push(format!(
            "{:<10} model path is a symlink to an identical copy (by design followed): {}",
            ser.method(),
            by_design.describe()
        ));
    }
    eprintln!(
        "\n== single-file model mutations: {:.1} s ==\n{}",
        start.elapsed().as_secs_f64(),
        lines.join("\n")
    );
}

// ------------------------------------------------------------------------------------------------
// 2. Bundle mutations.

/// Describes how two JSON documents differ, in terms that do not depend on the exact flip.
fn json_diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    Some(vb) => json_diff(&format!("{path}.{k}"), va, vb, out),
                    None => out.push(format!("{path}: key '{k}' renamed away")),
                }
            }
            if y.keys().any(|k| !x.contains_key(k)) && x.keys().all(|k| y.contains_key(k)) {
                out.push(format!("{path}: key added"));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                json_diff(&format!("{path}[{i}]"), p, q, out);
            }
        }
        (Value::String(p), Value::String(q)) if p != q => out.push(if p.eq_ignore_ascii_case(q) {
            format!("{path}: value changed in letter case only")
        } else {
            format!("{path}: value changed")
        }),
        _ if a != b => out.push(format!("{path}: value changed")),
        _ => {}
    }
}

fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("'{}'", b as char)
    } else {
        format!("{b:#04x}")
    }
}

/// An accepted bundle variant: must carry exactly the signed content of the original.
/// Returns the category of the (benign) difference, or Err with a failure message.
fn classify_accepted(orig: &Bundle, mutated: &[u8]) -> Result<String, String> {
    let nb = bundle::parse(mutated).map_err(|e| format!("verified but does not re-parse: {e}"))?;
    if nb.payload != orig.payload || nb.payload_type != orig.payload_type {
        return Err("signed content changed and still VERIFIED".into());
    }
    let nv: Value = serde_json::from_slice(mutated).unwrap();
    let mut d = Vec::new();
    json_diff("", &orig.json(), &nv, &mut d);
    let mut cat = d
        .iter()
        .map(|s| s.trim_start_matches('.').to_string())
        .collect::<Vec<_>>()
        .join("; ");
    if cat.is_empty() {
        cat = "identical JSON value".into();
    }
    if nb.signature != orig.signature {
        cat += " [different signature bytes]";
    }
    Ok(cat)
}

#[derive(Default)]
struct Benign {
    count: usize,
    example: String,
}

#[test]
fn bundle_single_byte_flips_everywhere() {
    let mut rng = Rng::for_test("bundle_single_byte_flips_everywhere");
    let fx = build_model(&mut rng, false);
    let signed = sign(
        &fx.root,
        &hashing(HashAlgorithm::Sha256, Serialization::Files),
    );
    let v = signed.verifier();
    let opts = VerifyOptions::default();
    let orig = &signed.bytes;
    assert!(matches!(
        verify_bytes(&fx.root, orig, &v, &opts),
        Outcome::Pass(_)
    ));
    let start = Instant::now();
    let (mut tried, mut rejected) = (0usize, 0usize);
    let mut by_class: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut benign: BTreeMap<String, Benign> = BTreeMap::new();
    let mut failures = Vec::new();
    // Every position, every single-bit flip, plus one random byte xor.
    for pos in 0..orig.len() {
        let mut masks: Vec<u8> = (0..8).map(|b| 1u8 << b).collect();
        loop {
            let m = rng.nonzero_byte();
            if m.count_ones() > 1 {
                masks.push(m);
                break;
            }
        }
        for mask in masks {
            let mut m = orig.clone();
            m[pos] ^= mask;
            tried += 1;
            match verify_bytes(&fx.root, &m, &v, &opts) {
                Outcome::Fail(e) => {
                    rejected += 1;
                    *by_class.entry(class(&e)).or_default() += 1;
                }
                Outcome::Panic(p) => {
                    failures.push(format!("PANIC flipping byte {pos} ^ {mask:#04x}: {p}"))
                }
                Outcome::Pass(_) => match classify_accepted(&signed.bundle, &m) {
                    Ok(cat) => {
                        let b = benign.entry(cat).or_default();
                        b.count += 1;
                        if b.example.is_empty() {
                            let lo = pos.saturating_sub(12);
                            let hi = (pos + 12).min(orig.len());
                            b.example = format!(
                                "byte {pos} {} -> {} in ...{}...",
                                show_byte(orig[pos]),
                                show_byte(m[pos]),
                                String::from_utf8_lossy(&orig[lo..hi])
                            );
                        }
                    }
                    Err(f) => failures.push(format!("byte {pos} ^ {mask:#04x}: {f}")),
                },
            }
        }
    }
    let benign_total: usize = benign.values().map(|b| b.count).sum();
    let mut s = format!(
        "\n== bundle single-byte flips ({} bytes, every position x 8 bit flips + 1 random xor): {:.1} s ==\n\
         tried {tried}, rejected {rejected}, accepted as equivalent {benign_total}\nrejected by error class: {by_class:?}\n\
         accepted flips (signed content identical; grouped by what changed):\n",
        orig.len(),
        start.elapsed().as_secs_f64()
    );
    for (cat, b) in &benign {
        s += &format!("  {:>4} x {cat}\n         e.g. {}\n", b.count, b.example);
    }
    eprintln!("{s}");
    for f in &failures {
        eprintln!("FAILURE: {f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());
    assert_eq!(tried, rejected + benign_total);
}

/// P-256 group order.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// (r, s) of a short-form DER ECDSA signature, as unsigned big-endian integers.
fn der_parse(sig: &[u8]) -> (Vec<u8>, Vec<u8>) {
    assert!(sig[0] == 0x30 && sig[1] as usize == sig.len() - 2 && sig[2] == 0x02);
    let rl = sig[3] as usize;
    let r = sig[4..4 + rl].to_vec();
    assert_eq!(sig[4 + rl], 0x02);
    let sl = sig[5 + rl] as usize;
    let s = sig[6 + rl..6 + rl + sl].to_vec();
    (r, s)
}

fn der_int(v: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
    if v.is_empty() || v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    let mut out = vec![0x02, v.len() as u8];
    out.extend(v);
    out
}

fn der_seq(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30, body.len() as u8];
    out.extend_from_slice(body);
    out
}

fn to32(v: &[u8]) -> [u8; 32] {
    let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(&v);
    out
}

/// n - s, big-endian.
fn n_minus(s: &[u8]) -> Vec<u8> {
    let s = to32(s);
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = P256_N[i] as i16 - s[i] as i16 - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = d as u8;
    }
    out.to_vec()
}

fn with_json(orig: &Value, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = orig.clone();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// Flips inside the decoded payload, signature and hint; truncations; encoding variants.
#[test]
fn bundle_field_flips_truncations_and_encodings() {
    let mut rng = Rng::for_test("bundle_field_flips_truncations_and_encodings");
    let fx = build_model(&mut rng, false);
    let signed = sign(
        &fx.root,
        &hashing(HashAlgorithm::Sha256, Serialization::Files),
    );
    let v = signed.verifier();
    let opts = VerifyOptions::default();
    let b = &signed.bundle;
    let start = Instant::now();
    let mut rows: Vec<(String, usize, usize, usize, String)> = Vec::new(); // name, tried, rejected, benign, classes
    let mut failures = Vec::new();
    let mut run = |name: &str, variants: Vec<Vec<u8>>, benign_ok: &dyn Fn(&Bundle) -> bool| {
        let (mut t, mut r, mut ok) = (0, 0, 0);
        let mut classes: BTreeMap<&'static str, usize> = BTreeMap::new();
        for m in variants {
            t += 1;
            match verify_bytes(&fx.root, &m, &v, &opts) {
                Outcome::Fail(e) => {
                    r += 1;
                    *classes.entry(class(&e)).or_default() += 1;
                }
                Outcome::Panic(p) => failures.push(format!("{name}: PANIC {p}")),
                Outcome::Pass(_) => match classify_accepted(b, &m) {
                    Ok(cat) => {
                        let nb = bundle::parse(&m).unwrap();
                        if benign_ok(&nb) {
                            ok += 1;
                        } else {
                            failures.push(format!("{name}: ACCEPTED ({cat})"));
                        }
                    }
                    Err(f) => failures.push(format!("{name}: {f}")),
                },
            }
        }
        rows.push((name.to_string(), t, r, ok, format!("{classes:?}")));
    };
    let never = |_: &Bundle| false;
    let enc = |payload: &[u8], sig: &[u8], hint: Option<String>| {
        bundle::encode(
            &VerificationMaterial::PublicKey {
                hint,
                legacy_raw_bytes: false,
            },
            PAYLOAD_TYPE,
            payload,
            sig,
        )
        .unwrap()
    };
    let hint = signed.public.hint();

    // Payload: every position, one random xor each; then truncations at every length.
    let variants = (0..b.payload.len())
        .map(|i| {
            let mut p = b.payload.clone();
            p[i] ^= rng.nonzero_byte();
            enc(&p, &b.signature, Some(hint.clone()))
        })
        .collect();
    run(
        "payload byte flips (re-encoded, old signature)",
        variants,
        &never,
    );
    let variants = (0..b.payload.len())
        .map(|l| enc(&b.payload[..l], &b.signature, Some(hint.clone())))
        .collect();
    run("payload truncated (every length)", variants, &never);
    let variants = (0..scaled(200))
        .map(|_| {
            let mut p = b.payload.clone();
            let k = rng.between(1, 64);
            let at = rng.below(p.len() + 1);
            let extra = rng.bytes(k);
            p.splice(at..at, extra);
            enc(&p, &b.signature, Some(hint.clone()))
        })
        .collect();
    run("payload random insertions", variants, &never);

    // Signature: every bit of every byte; every truncation; appended bytes.
    let mut variants = Vec::new();
    for i in 0..b.signature.len() {
        for bit in 0..8 {
            let mut s = b.signature.clone();
            s[i] ^= 1 << bit;
            variants.push(enc(&b.payload, &s, Some(hint.clone())));
        }
    }
    run("signature bit flips (every bit)", variants, &never);
    let variants = (0..b.signature.len())
        .map(|l| enc(&b.payload, &b.signature[..l], Some(hint.clone())))
        .collect();
    run("signature truncated (every length)", variants, &never);

    // Hint: every position replaced by every other hex digit, its other case, and junk.
    let mut variants = Vec::new();
    let mut case_only = Vec::new();
    for (i, c) in hint.char_indices() {
        for r in "0123456789abcdefABCDEFg -".chars() {
            if r == c {
                continue;
            }
            let mut h = hint.clone();
            h.replace_range(i..i + 1, &r.to_string());
            if r.eq_ignore_ascii_case(&c) {
                case_only.push(enc(&b.payload, &b.signature, Some(h)));
            } else {
                variants.push(enc(&b.payload, &b.signature, Some(h)));
            }
        }
    }
    for h in [
        String::new(),
        hint[..63].to_string(),
        format!("{hint}0"),
        format!(" {hint}"),
        "00".repeat(32),
    ] {
        variants.push(enc(&b.payload, &b.signature, Some(h)));
    }
    run("hint changed (other digit, junk, length)", variants, &never);
    let hint_case_ok = |nb: &Bundle| matches!(&nb.material, VerificationMaterial::PublicKey { hint: Some(h), .. } if h.eq_ignore_ascii_case(&hint));
    case_only.push(enc(&b.payload, &b.signature, Some(hint.to_uppercase())));
    run(
        "hint changed in letter case only (equivalent)",
        case_only,
        &hint_case_ok,
    );

    // The whole bundle truncated at every length.
    let variants = (0..signed.bytes.len())
        .map(|l| signed.bytes[..l].to_vec())
        .collect();
    run("bundle JSON truncated (every length)", variants, &never);

    let mut s = format!(
        "\n== bundle field mutations: {:.1} s ==\n{:<52} {:>6} {:>8} {:>10}  rejected by class\n",
        start.elapsed().as_secs_f64(),
        "mutation",
        "tried",
        "rejected",
        "equivalent"
    );
    for (n, t, r, ok, c) in &rows {
        s += &format!("{n:<52} {t:>6} {r:>8} {ok:>10}  {c}\n");
    }
    eprintln!("{s}");

    // Encoding variants and signature malleability: report each; whatever is accepted must carry
    // the signed content unchanged (checked by classify_accepted).
    let j = &b.json();
    let p64 = STANDARD.encode(&b.payload);
    let s64 = STANDARD.encode(&b.signature);
    let mut variants: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    let set = |path: &[&str], val: Value| {
        with_json(j, |v| {
            let mut cur = v;
            for (i, k) in path.iter().enumerate() {
                if i + 1 == path.len() {
                    cur[*k] = val.clone();
                } else if let Ok(idx) = k.parse::<usize>() {
                    cur = &mut cur[idx];
                } else {
                    cur = &mut cur[*k];
                }
            }
        })
    };
    let payload_at = ["dsseEnvelope", "payload"];
    let sig_at = ["dsseEnvelope", "signatures", "0", "sig"];
    variants.push((
        "payload base64 without padding".into(),
        Some(set(&payload_at, json!(STANDARD_NO_PAD.encode(&b.payload)))),
    ));
    variants.push((
        "payload base64 with 3 extra '='".into(),
        Some(set(&payload_at, json!(format!("{p64}===")))),
    ));
    let noncanon = |raw: &[u8]| -> Option<String> {
        let t = STANDARD_NO_PAD.encode(raw);
        if raw.len() % 3 == 0 {
            return None;
        }
        const ALPHA: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let last = t.chars().last().unwrap();
        let idx = ALPHA.find(last).unwrap() | 1;
        let mut u = t[..t.len() - 1].to_string();
        u.push(ALPHA.as_bytes()[idx] as char);
        u += if raw.len() % 3 == 1 { "==" } else { "=" };
        Some(u)
    };
    variants.push((
        "payload base64 with non-zero trailing bits".into(),
        noncanon(&b.payload).map(|u| set(&payload_at, json!(u))),
    ));
    variants.push((
        "payload base64 URL-safe alphabet".into(),
        (p64.contains('+') || p64.contains('/'))
            .then(|| set(&payload_at, json!(URL_SAFE.encode(&b.payload)))),
    ));
    variants.push((
        "payload base64 with a newline inside".into(),
        Some(set(
            &payload_at,
            json!(format!("{}\n{}", &p64[..8], &p64[8..])),
        )),
    ));
    variants.push((
        "payload base64 with a leading space".into(),
        Some(set(&payload_at, json!(format!(" {p64}")))),
    ));
    let mut esc = String::from_utf8(signed.bytes.clone()).unwrap();
    esc = esc.replacen(
        &format!("\"payload\":\"{}", &p64[..1]),
        &format!("\"payload\":\"\\u{:04x}", p64.as_bytes()[0]),
        1,
    );
    variants.push((
        "payload first char as JSON \\u escape".into(),
        Some(esc.into_bytes()),
    ));
    variants.push((
        "signature base64 without padding".into(),
        Some(set(&sig_at, json!(STANDARD_NO_PAD.encode(&b.signature)))),
    ));
    variants.push((
        "signature base64 with 3 extra '='".into(),
        Some(set(&sig_at, json!(format!("{s64}===")))),
    ));
    variants.push((
        "signature base64 with non-zero trailing bits".into(),
        noncanon(&b.signature).map(|u| set(&sig_at, json!(u))),
    ));
    let (r, sv) = der_parse(&b.signature);
    let high_s = der_seq(&[der_int(&r), der_int(&n_minus(&sv))].concat());
    variants.push((
        "signature (r, n-s) high/low-S twin".into(),
        Some(set(&sig_at, json!(STANDARD.encode(&high_s)))),
    ));
    let mut padded_r = der_int(&r);
    padded_r.insert(2, 0);
    padded_r[1] += 1;
    let nonmin = der_seq(&[padded_r, der_int(&sv)].concat());
    variants.push((
        "signature DER with non-minimal INTEGER (extra 0x00)".into(),
        Some(set(&sig_at, json!(STANDARD.encode(&nonmin)))),
    ));
    let mut longform = vec![0x30, 0x81, (b.signature.len() - 2) as u8];
    longform.extend_from_slice(&b.signature[2..]);
    variants.push((
        "signature DER with long-form length".into(),
        Some(set(&sig_at, json!(STANDARD.encode(&longform)))),
    ));
    let mut trailing = b.signature.clone();
    trailing.push(0);
    variants.push((
        "signature DER + trailing 0x00".into(),
        Some(set(&sig_at, json!(STANDARD.encode(&trailing)))),
    ));
    let raw = [to32(&r), to32(&sv)].concat();
    variants.push((
        "signature as raw r||s (P1363)".into(),
        Some(set(&sig_at, json!(STANDARD.encode(&raw)))),
    ));
    variants.push((
        "pretty-printed JSON".into(),
        Some(serde_json::to_vec_pretty(j).unwrap()),
    ));
    let snake = String::from_utf8(signed.bytes.clone())
        .unwrap()
        .replace("mediaType", "media_type")
        .replace("verificationMaterial", "verification_material")
        .replace("publicKey", "public_key")
        .replace("tlogEntries", "tlog_entries")
        .replace("dsseEnvelope", "dsse_envelope")
        .replace("payloadType", "payload_type");
    variants.push(("snake_case field names".into(), Some(snake.into_bytes())));
    variants.push((
        "keyid removed".into(),
        Some(with_json(j, |v| {
            v["dsseEnvelope"]["signatures"][0]
                .as_object_mut()
                .unwrap()
                .remove("keyid");
        })),
    ));
    variants.push((
        "keyid set to another key's id".into(),
        Some(set(
            &["dsseEnvelope", "signatures", "0", "keyid"],
            json!("someone-else"),
        )),
    ));
    variants.push((
        "tlogEntries removed".into(),
        Some(with_json(j, |v| {
            v["verificationMaterial"]
                .as_object_mut()
                .unwrap()
                .remove("tlogEntries");
        })),
    ));
    variants.push((
        "hint removed (no hint: the verifier's key decides)".into(),
        Some(with_json(j, |v| {
            v["verificationMaterial"]["publicKey"]
                .as_object_mut()
                .unwrap()
                .remove("hint");
        })),
    ));
    variants.push((
        "hint null".into(),
        Some(set(
            &["verificationMaterial", "publicKey", "hint"],
            Value::Null,
        )),
    ));
    variants.push((
        "hint a number".into(),
        Some(set(
            &["verificationMaterial", "publicKey", "hint"],
            json!(7),
        )),
    ));
    let mut flipped_payload = b.payload.clone();
    flipped_payload[b.payload.len() / 2] ^= 1;
    let fp64 = STANDARD.encode(&flipped_payload);
    let text = String::from_utf8(signed.bytes.clone()).unwrap();
    variants.push((
        "duplicate 'payload' key: mutated first, original last".into(),
        Some(
            text.replacen(
                "\"payload\":",
                &format!("\"payload\":\"{fp64}\",\"payload\":"),
                1,
            )
            .into_bytes(),
        ),
    ));
    variants.push((
        "duplicate 'payload' key: original first, mutated last".into(),
        Some(
            text.replacen(
                &format!("\"payload\":\"{p64}\","),
                &format!("\"payload\":\"{p64}\",\"payload\":\"{fp64}\","),
                1,
            )
            .into_bytes(),
        ),
    ));
    variants.push((
        "mediaType in other letter case".into(),
        Some(set(
            &["mediaType"],
            json!(bundle::MEDIA_TYPE_V03.to_uppercase()),
        )),
    ));
    variants.push((
        "trailing garbage after the JSON object".into(),
        Some([signed.bytes.as_slice(), b"x"].concat()),
    ));
    variants.push((
        "trailing whitespace after the JSON object".into(),
        Some([signed.bytes.as_slice(), b"\n\t "].concat()),
    ));
    variants.push((
        "UTF-8 BOM before the JSON object".into(),
        Some([b"\xef\xbb\xbf".as_slice(), signed.bytes.as_slice()].concat()),
    ));
    let mut s = String::from(
        "\n== bundle encoding variants (accepted ones must keep the signed content) ==\n",
    );
    for (name, bytes) in variants {
        let Some(bytes) = bytes.filter(|b| *b != signed.bytes) else {
            s += &format!("  {name:<58} n/a for this bundle (no such variant or same bytes)\n");
            continue;
        };
        let out = verify_bytes(&fx.root, &bytes, &v, &opts);
        let verdict = match &out {
            Outcome::Pass(_) => match classify_accepted(b, &bytes) {
                Ok(cat) => format!("accepted, equivalent ({cat})"),
                Err(f) => {
                    failures.push(format!("{name}: {f}"));
                    format!("ACCEPTED: {f}")
                }
            },
            Outcome::Panic(p) => {
                failures.push(format!("{name}: PANIC {p}"));
                format!("PANIC {p}")
            }
            Outcome::Fail(_) => format!("rejected: {}", out.describe()),
        };
        s += &format!("  {name:<58} {verdict}\n");
    }
    eprintln!("{s}");
    for f in &failures {
        eprintln!("FAILURE: {f}");
    }
    assert!(
        failures.is_empty(),
        "{} failures (first: {})",
        failures.len(),
        failures[0]
    );
    for (n, t, r, ok, _) in &rows {
        assert_eq!(t, &(r + ok), "{n}");
    }
}

fn resources(v: &mut Value) -> &mut Vec<Value> {
    v["predicate"]["resources"].as_array_mut().unwrap()
}

/// Sets the subject digest to the SHA-256 of the listed digests, so the manifest is consistent.
fn fix_root(v: &mut Value) {
    let mut cat = Vec::new();
    if let Some(rs) = v["predicate"]["resources"].as_array() {
        for r in rs {
            if let Some(d) = r["digest"].as_str().and_then(|s| hex::decode(s).ok()) {
                cat.extend(d);
            }
        }
    }
    v["subject"][0]["digest"]["sha256"] = json!(hex::encode(HashAlgorithm::Sha256.digest(&cat)));
}

fn with(base: &Value, f: impl FnOnce(&mut Value)) -> Value {
    let mut v = base.clone();
    f(&mut v);
    v
}

#[derive(Clone)]
enum Exp {
    /// Rejected before any hashing with this error class.
    Early(&'static str),
    /// Rejected by comparing with the model.
    Mismatch,
    /// Rejected, reported as a change of this resource (and nothing else).
    Changed(String),
    /// Verifies: equivalent or signer's prerogative (the reason is printed).
    Accept(&'static str),
}

struct Lab<'a> {
    root: &'a Path,
    signed: &'a Signed,
    rows: Vec<String>,
    failures: Vec<String>,
    tried: usize,
    rejected: usize,
    accepted: usize,
}

impl Lab<'_> {
    fn check(&mut self, name: &str, bytes: Vec<u8>, exp: Exp) {
        let p = Arc::new(CountingProgress::default());
        let opts = counting_opts(&p);
        let out = verify_bytes(self.root, &bytes, &self.signed.verifier(), &opts);
        let hashed = p.begins.load(Ordering::SeqCst) > 0;
        let ok = match (&exp, &out) {
            (_, Outcome::Panic(_)) => false,
            (Exp::Early(c), Outcome::Fail(e)) => class(e) == *c && !hashed,
            (Exp::Mismatch, Outcome::Fail(Error::Mismatch(_))) => true,
            (Exp::Changed(n), Outcome::Fail(Error::Mismatch(r))) => {
                r.missing.is_empty()
                    && r.extra.is_empty()
                    && r.changed.len() == 1
                    && &r.changed[0].name == n
            }
            (Exp::Accept(_), Outcome::Pass(_)) => true,
            _ => false,
        };
        match exp {
            Exp::Accept(_) => self.accepted += 1,
            _ => {
                self.tried += 1;
                if matches!(out, Outcome::Fail(_)) {
                    self.rejected += 1;
                }
            }
        }
        let want = match &exp {
            Exp::Early(c) => format!("{c} before hashing"),
            Exp::Mismatch => "Mismatch".into(),
            Exp::Changed(n) => format!("Mismatch: changed {n:?}"),
            Exp::Accept(why) => format!("verifies ({why})"),
        };
        let got = format!(
            "{}{}",
            out.describe(),
            if hashed && !matches!(out, Outcome::Pass(_)) {
                " [after hashing]"
            } else {
                ""
            }
        );
        self.rows.push(format!(
            "  {} {:<62} {}",
            if ok { "ok  " } else { "FAIL" },
            short(name),
            short(&got)
        ));
        if !ok {
            self.failures
                .push(format!("{name}: expected {want}, got {got}"));
        }
    }

    fn stmt(&mut self, name: &str, st: Value, exp: Exp) {
        let bytes = self.signed.resign(&st);
        self.check(name, bytes, exp);
    }

    fn finish(self, title: &str, start: Instant) {
        eprintln!(
            "\n== {title}: {:.1} s: {} must-reject cases, {} rejected; {} accepted-by-design cases ==\n{}",
            start.elapsed().as_secs_f64(),
            self.tried,
            self.rejected,
            self.accepted,
            self.rows.join("\n")
        );
        for f in &self.failures {
            eprintln!("FAILURE: {f}");
        }
        assert!(
            self.failures.is_empty(),
            "{} failures (first: {})",
            self.failures.len(),
            self.failures[0]
        );
        assert_eq!(self.tried, self.rejected);
    }
}

/// Statements signed with the right key (valid signature) but with wrong content.
#[test]
fn bundle_resigned_statement_mutations_files() {
    let mut rng = Rng::for_test("bundle_resigned_statement_mutations_files");
    let fx = build_model(&mut rng, false);
    let signed = sign(
        &fx.root,
        &hashing(HashAlgorithm::Sha256, Serialization::Files),
    );
    let base = signed.statement();
    let start = Instant::now();
    let mut lab = Lab {
        root: &fx.root,
        signed: &signed,
        rows: Vec::new(),
        failures: Vec::new(),
        tried: 0,
        rejected: 0,
        accepted: 0,
    };
    let n_res = base["predicate"]["resources"].as_array().unwrap().len();
    let name0 = base["predicate"]["resources"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();

    lab.stmt(
        "unchanged statement, re-signed",
        base.clone(),
        Exp::Accept("control"),
    );
    // Order.
    lab.stmt(
        "resources 0 and 1 swapped, root digest not recomputed",
        with(&base, |v| resources(v).swap(0, 1)),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "resources reversed, root digest not recomputed",
        with(&base, |v| resources(v).reverse()),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "resources reversed, root digest recomputed",
        with(&base, |v| {
            resources(v).reverse();
            fix_root(v);
        }),
        Exp::Accept("order is free once the root digest matches it"),
    );
    lab.stmt(
        "root digest of other content",
        with(&base, |v| {
            v["subject"][0]["digest"]["sha256"] = json!("00".repeat(32));
        }),
        Exp::Early("Statement"),
    );
    // Duplicates.
    lab.stmt(
        "duplicate resource (same entry twice), root consistent",
        with(&base, |v| {
            let r = resources(v)[0].clone();
            resources(v).push(r);
            fix_root(v);
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "duplicate resource name with another digest, root consistent",
        with(&base, |v| {
            let mut r = resources(v)[0].clone();
            r["digest"] = json!("ab".repeat(32));
            resources(v).insert(0, r);
            fix_root(v);
        }),
        Exp::Early("Statement"),
    );
    // Names.
    let outside_abs = fx.outside.join("x").display().to_string();
    let bad_names = [
        "../outside",
        "weights/../../outside",
        "..",
        "weights/..",
        "/etc/passwd",
        outside_abs.as_str(),
        "/",
        "",
        ".",
        "./config.json",
        "weights/./model.safetensors",
        "weights//model.safetensors",
        "weights/",
        "/weights/model.safetensors",
        "weights\\model.safetensors",
        "..\\outside",
        "config.json\0",
        "a\0b",
        "a\nb",
        "a\rb",
        "\u{7f}x",
        "x\u{85}",
        "\u{1b}[31mred",
    ];
    for bad in bad_names {
        lab.stmt(
            &format!("resource name {bad:?}, root consistent"),
            with(&base, |v| {
                resources(v)[0]["name"] = json!(bad);
                fix_root(v);
            }),
            Exp::Early("Statement"),
        );
        lab.stmt(
            &format!("extra resource {bad:?} added, root consistent"),
            with(&base, |v| {
                let mut r = resources(v)[0].clone();
                r["name"] = json!(bad);
                resources(v).push(r);
                fix_root(v);
            }),
            Exp::Early("Statement"),
        );
    }
    for odd in [
        "config.json\u{200b}",
        "Config.json",
        "config.json ",
        " config.json",
        "tokenizer/mode\u{300}le.txt",
        "config.json\t",
    ] {
        lab.stmt(
            &format!("resource renamed to valid but wrong name {odd:?}"),
            with(&base, |v| {
                let target = if odd.contains("mode") {
                    "tokenizer/modèle.txt"
                } else {
                    "config.json"
                };
                let i = resources(v)
                    .iter()
                    .position(|r| r["name"] == target)
                    .unwrap();
                resources(v)[i]["name"] = json!(odd);
                fix_root(v);
            }),
            Exp::Mismatch,
        );
    }
    // Digests.
    for i in 0..n_res {
        let name = base["predicate"]["resources"][i]["name"]
            .as_str()
            .unwrap()
            .to_string();
        let pos = rng.below(64);
        lab.stmt(
            &format!("digest of {name:?} changed (hex char {pos}), root consistent"),
            with(&base, |v| {
                let d = resources(v)[i]["digest"].as_str().unwrap().to_string();
                let c = d.as_bytes()[pos];
                let r = if c == b'0' { '1' } else { '0' };
                let mut nd = d.clone();
                nd.replace_range(pos..pos + 1, &r.to_string());
                resources(v)[i]["digest"] = json!(nd);
                fix_root(v);
            }),
            Exp::Changed(name),
        );
    }
    lab.stmt(
        "digest in upper-case hex, root consistent",
        with(&base, |v| {
            let d = resources(v)[0]["digest"].as_str().unwrap().to_uppercase();
            resources(v)[0]["digest"] = json!(d);
        }),
        Exp::Accept("hex digits are case-insensitive: same digest"),
    );
    for (what, d) in [
        ("not hex", "zz".repeat(32)),
        ("31 bytes", "00".repeat(31)),
        ("33 bytes", "00".repeat(33)),
        ("odd length", "0".repeat(63)),
        ("empty", String::new()),
    ] {
        lab.stmt(
            &format!("digest {what}"),
            with(&base, |v| {
                resources(v)[0]["digest"] = json!(d);
                fix_root(v);
            }),
            Exp::Early("Statement"),
        );
    }
    lab.stmt(
        "digest a number",
        with(&base, |v| resources(v)[0]["digest"] = json!(12)),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "a resource removed, root consistent",
        with(&base, |v| {
            resources(v).remove(0);
            fix_root(v);
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "a resource for a file that does not exist, root consistent",
        with(&base, |v| {
            let mut r = resources(v)[0].clone();
            r["name"] = json!("weights/ghost.bin");
            resources(v).push(r);
            fix_root(v);
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "no resources at all, root consistent",
        with(&base, |v| {
            resources(v).clear();
            fix_root(v);
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "resources not a list",
        with(&base, |v| v["predicate"]["resources"] = json!({})),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "resources missing",
        with(&base, |v| {
            v["predicate"].as_object_mut().unwrap().remove("resources");
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "a resource that is a string",
        with(&base, |v| resources(v)[0] = json!("config.json")),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "a resource without a name",
        with(&base, |v| {
            resources(v)[0].as_object_mut().unwrap().remove("name");
        }),
        Exp::Early("Statement"),
    );
    // Algorithm strings.
    for alg in [
        "sha512",
        "SHA256",
        "sha-256",
        "blake2b",
        "blake3",
        "sha256-sharded-1000",
        "",
        "sha256 ",
    ] {
        lab.stmt(
            &format!("algorithm of {name0:?} -> {alg:?}"),
            with(&base, |v| resources(v)[0]["algorithm"] = json!(alg)),
            Exp::Early("Statement"),
        );
    }
    // hash_type.
    let set_alg_all = |v: &mut Value, a: &str| {
        for r in resources(v).iter_mut() {
            r["algorithm"] = json!(a);
        }
    };
    for ht in [
        "blake2b", "blake2", "blake3", "md5", "SHA256", "", "sha256\0",
    ] {
        lab.stmt(
            &format!("hash_type -> {ht:?}"),
            with(&base, |v| {
                v["predicate"]["serialization"]["hash_type"] = json!(ht)
            }),
            Exp::Early("Statement"),
        );
    }
    lab.stmt(
        "hash_type -> blake3 and every algorithm -> blake3 (32-byte digests)",
        with(&base, |v| {
            v["predicate"]["serialization"]["hash_type"] = json!("blake3");
            set_alg_all(v, "blake3");
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "hash_type missing",
        with(&base, |v| {
            v["predicate"]["serialization"]
                .as_object_mut()
                .unwrap()
                .remove("hash_type");
        }),
        Exp::Early("Statement"),
    );
    // method / shard_size.
    lab.stmt(
        "method -> shards (shard_size 1000), names unchanged",
        with(&base, |v| {
            v["predicate"]["serialization"]["method"] = json!("shards");
            v["predicate"]["serialization"]["shard_size"] = json!(1000);
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "method -> shards, algorithms 'sha256-sharded-1000', names unchanged",
        with(&base, |v| {
            v["predicate"]["serialization"]["method"] = json!("shards");
            v["predicate"]["serialization"]["shard_size"] = json!(1000);
            set_alg_all(v, "sha256-sharded-1000");
        }),
        Exp::Early("Statement"),
    );
    for m in ["tar", "FILES", "", "files "] {
        lab.stmt(
            &format!("method -> {m:?}"),
            with(&base, |v| {
                v["predicate"]["serialization"]["method"] = json!(m)
            }),
            Exp::Early("Statement"),
        );
    }
    lab.stmt(
        "method missing",
        with(&base, |v| {
            v["predicate"]["serialization"]
                .as_object_mut()
                .unwrap()
                .remove("method");
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "shard_size 1000 added to a files serialization",
        with(&base, |v| {
            v["predicate"]["serialization"]["shard_size"] = json!(1000)
        }),
        Exp::Accept("shard_size means nothing for files"),
    );
    // ignore_paths.
    let set_ignore = |v: &mut Value, x: Value| v["predicate"]["serialization"]["ignore_paths"] = x;
    lab.stmt(
        "ignore_paths [\".\"] (ignore everything)",
        with(&base, |v| set_ignore(v, json!(["."]))),
        Exp::Mismatch,
    );
    lab.stmt(
        "ignore_paths [\"./\"]",
        with(&base, |v| set_ignore(v, json!(["./"]))),
        Exp::Mismatch,
    );
    lab.stmt(
        "ignore_paths [\"config.json\"] (still listed in the manifest)",
        with(&base, |v| set_ignore(v, json!(["config.json"]))),
        Exp::Mismatch,
    );
    lab.stmt(
        "ignore_paths [\"weights\"] (still listed in the manifest)",
        with(&base, |v| set_ignore(v, json!(["weights"]))),
        Exp::Mismatch,
    );
    for ig in [
        json!(["../x"]),
        json!(["/abs"]),
        json!(["/"]),
        json!([""]),
        json!(["a/../../x"]),
        json!([".."]),
        json!(["a\0b"]),
        json!([1]),
        json!("config.json"),
        json!({"a": 1}),
    ] {
        lab.stmt(
            &format!("ignore_paths {ig}"),
            with(&base, |v| set_ignore(v, ig.clone())),
            Exp::Early("Statement"),
        );
    }
    // allow_symlinks.
    for a in [json!("yes"), json!(1), json!([])] {
        lab.stmt(
            &format!("allow_symlinks {a}"),
            with(&base, |v| {
                v["predicate"]["serialization"]["allow_symlinks"] = a.clone()
            }),
            Exp::Early("Statement"),
        );
    }
    lab.stmt(
        "allow_symlinks true (model has no symlinks)",
        with(&base, |v| {
            v["predicate"]["serialization"]["allow_symlinks"] = json!(true)
        }),
        Exp::Accept("the signer allowed symlinks; none are present"),
    );
    // Subjects and types.
    lab.stmt(
        "subject list empty",
        with(&base, |v| v["subject"] = json!([])),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "two subjects (same one twice)",
        with(&base, |v| {
            let s = v["subject"][0].clone();
            v["subject"].as_array_mut().unwrap().push(s);
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "subject not a list",
        with(&base, |v| v["subject"] = v["subject"][0].clone()),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "subject without digest",
        with(&base, |v| {
            v["subject"][0].as_object_mut().unwrap().remove("digest");
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "subject digest sha512 instead of sha256",
        with(&base, |v| {
            let d = v["subject"][0]["digest"]["sha256"].clone();
            v["subject"][0]["digest"] = json!({ "sha512": d });
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "subject digest truncated to 31 bytes",
        with(&base, |v| {
            let d = v["subject"][0]["digest"]["sha256"].as_str().unwrap()[..62].to_string();
            v["subject"][0]["digest"]["sha256"] = json!(d);
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "subject digest upper-case hex",
        with(&base, |v| {
            let d = v["subject"][0]["digest"]["sha256"]
                .as_str()
                .unwrap()
                .to_uppercase();
            v["subject"][0]["digest"]["sha256"] = json!(d);
        }),
        Exp::Accept("hex digits are case-insensitive: same root digest"),
    );
    lab.stmt(
        "subject name changed",
        with(&base, |v| {
            v["subject"][0]["name"] = json!("someone-elses-model")
        }),
        Exp::Accept("the model name is informational, as in Python"),
    );
    lab.stmt(
        "_type -> Statement/v0.1",
        with(&base, |v| {
            v["_type"] = json!("https://in-toto.io/Statement/v0.1")
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "predicateType -> signature/v2.0",
        with(&base, |v| {
            v["predicateType"] = json!("https://model_signing/signature/v2.0");
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "predicateType -> legacy Digests/v0.1 (subject read as one file)",
        with(&base, |v| {
            v["predicateType"] = json!("https://model_signing/Digests/v0.1");
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "unknown extra fields everywhere",
        with(&base, |v| {
            v["extra"] = json!(1);
            v["predicate"]["extra"] = json!({"x": [1, 2]});
            resources(v)[0]["extra"] = json!("y");
        }),
        Exp::Accept("unknown fields are ignored (they are signed, so harmless)"),
    );
    // Payload shape.
    for (what, p) in [
        ("payload '[]'", b"[]".to_vec()),
        ("payload '{}'", b"{}".to_vec()),
        ("payload not JSON", b"not json".to_vec()),
        ("payload empty", Vec::new()),
        ("payload 'null'", b"null".to_vec()),
        ("payload: statement + trailing junk", {
            let mut s = serde_json::to_vec(&base).unwrap();
            s.extend_from_slice(b"}");
            s
        }),
        ("payload: statement nested 10000 deep", {
            let mut s = b"{\"x\":".to_vec();
            s.extend(std::iter::repeat_n(b'[', 10_000));
            s
        }),
    ] {
        let bytes = signed.resign_raw(PAYLOAD_TYPE, &p);
        lab.check(&format!("{what} (signed)"), bytes, Exp::Early("Statement"));
    }
    lab.check(
        "payload: statement with UTF-8 BOM (signed)",
        signed.resign_raw(
            PAYLOAD_TYPE,
            &[
                b"\xef\xbb\xbf".as_slice(),
                &serde_json::to_vec(&base).unwrap(),
            ]
            .concat(),
        ),
        Exp::Early("Statement"),
    );
    // Envelope: payload type, media type, signatures, other keys.
    let pbytes = serde_json::to_vec(&base).unwrap();
    for pt in [
        "application/json",
        "application/vnd.in-toto+json; charset=utf-8",
        "application/vnd.in-toto+JSON",
        "",
    ] {
        lab.check(
            &format!("payloadType {pt:?} (re-signed over its PAE)"),
            signed.resign_raw(pt, &pbytes),
            Exp::Early("Bundle"),
        );
    }
    let bjson = &signed.bundle.json();
    for mt in [
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle.v0.3.1+json",
        "",
    ] {
        lab.check(
            &format!("mediaType {mt:?}"),
            with_json(bjson, |v| v["mediaType"] = json!(mt)),
            Exp::Early("Bundle"),
        );
    }
    lab.check(
        "extra signature entry (same signature twice)",
        with_json(bjson, |v| {
            let s = v["dsseEnvelope"]["signatures"][0].clone();
            v["dsseEnvelope"]["signatures"]
                .as_array_mut()
                .unwrap()
                .push(s);
        }),
        Exp::Early("Bundle"),
    );
    lab.check(
        "extra signature entry (junk second signature)",
        with_json(bjson, |v| {
            v["dsseEnvelope"]["signatures"]
                .as_array_mut()
                .unwrap()
                .push(json!({"sig": "MEUCIQ==", "keyid": ""}));
        }),
        Exp::Early("Bundle"),
    );
    lab.check(
        "signatures empty",
        with_json(bjson, |v| v["dsseEnvelope"]["signatures"] = json!([])),
        Exp::Early("Bundle"),
    );
    lab.check(
        "verificationMaterial switched to a certificate chain",
        with_json(bjson, |v| {
            v["verificationMaterial"] = json!({
                "x509CertificateChain": {"certificates": [{"rawBytes": "MAA="}]},
                "tlogEntries": []
            });
        }),
        Exp::Early("Signature"),
    );
    lab.check(
        "messageSignature instead of dsseEnvelope",
        with_json(bjson, |v| {
            let e = v.as_object_mut().unwrap().remove("dsseEnvelope").unwrap();
            v["messageSignature"] = e;
        }),
        Exp::Early("Bundle"),
    );
    // Other keys.
    let other = KeySigner::new(PrivateKey::generate(Curve::P256).unwrap());
    let other_sig = other.sign(&pae(PAYLOAD_TYPE, &pbytes)).unwrap();
    let other_hint = match other.material().unwrap() {
        VerificationMaterial::PublicKey { hint, .. } => hint,
        _ => unreachable!(),
    };
    for (what, hint) in [
        ("our hint", Some(signed.public.hint())),
        ("its own hint", other_hint),
        ("no hint", None),
    ] {
        lab.check(
            &format!("signed by another P-256 key, {what}"),
            bundle::encode(
                &VerificationMaterial::PublicKey {
                    hint,
                    legacy_raw_bytes: false,
                },
                PAYLOAD_TYPE,
                &pbytes,
                &other_sig,
            )
            .unwrap(),
            Exp::Early("Signature"),
        );
    }
    let p384 = PrivateKey::generate(Curve::P384).unwrap();
    lab.check(
        "signed by a P-384 key, our hint",
        bundle::encode(
            &signed.material(),
            PAYLOAD_TYPE,
            &pbytes,
            &p384.sign(&pae(PAYLOAD_TYPE, &pbytes)).unwrap(),
        )
        .unwrap(),
        Exp::Early("Signature"),
    );
    lab.check(
        "signature over the PAE of another payload",
        bundle::encode(
            &signed.material(),
            PAYLOAD_TYPE,
            &pbytes,
            &signed.signer.sign(&pae(PAYLOAD_TYPE, b"{}")).unwrap(),
        )
        .unwrap(),
        Exp::Early("Signature"),
    );
    lab.check(
        "signature over the raw payload (no PAE)",
        bundle::encode(
            &signed.material(),
            PAYLOAD_TYPE,
            &pbytes,
            &signed.signer.sign(&pbytes).unwrap(),
        )
        .unwrap(),
        Exp::Early("Signature"),
    );
    lab.check(
        "signature over the v0.2 compat PAE",
        bundle::encode(
            &signed.material(),
            PAYLOAD_TYPE,
            &pbytes,
            &signed
                .signer
                .sign(&model_signing::dsse::pae_compat(PAYLOAD_TYPE, &pbytes))
                .unwrap(),
        )
        .unwrap(),
        Exp::Accept("v0.2 DSSE encoding, accepted with a warning for compatibility"),
    );
    lab.finish("re-signed statement mutations (files, sha256)", start);
}

#[test]
fn bundle_resigned_statement_mutations_shards() {
    let mut rng = Rng::for_test("bundle_resigned_statement_mutations_shards");
    let fx = build_model(&mut rng, false);
    let signed = sign(
        &fx.root,
        &hashing(
            HashAlgorithm::Sha256,
            Serialization::Shards { shard_size: 1000 },
        ),
    );
    let base = signed.statement();
    let start = Instant::now();
    let mut lab = Lab {
        root: &fx.root,
        signed: &signed,
        rows: Vec::new(),
        failures: Vec::new(),
        tried: 0,
        rejected: 0,
        accepted: 0,
    };
    let set_alg_all = |v: &mut Value, a: &str| {
        for r in resources(v).iter_mut() {
            r["algorithm"] = json!(a);
        }
    };
    let ser = |v: &mut Value, k: &str, x: Value| v["predicate"]["serialization"][k] = x;
    let big = base["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .position(|r| r["name"] == "weights/model.safetensors:1000:2000")
        .unwrap();

    lab.stmt(
        "unchanged statement, re-signed",
        base.clone(),
        Exp::Accept("control"),
    );
    lab.stmt(
        "every algorithm plain 'sha256' (the OMS spec text spelling)",
        with(&base, |v| set_alg_all(v, "sha256")),
        Exp::Accept("the spec's spelling is accepted"),
    );
    lab.stmt(
        "shard_size 1000.0",
        with(&base, |v| ser(v, "shard_size", json!(1000.0))),
        Exp::Accept("an integral float is the same size (Python writes floats)"),
    );
    for s in [999u64, 1001, 1, 4096, u64::MAX] {
        lab.stmt(
            &format!("shard_size {s}, algorithm strings stale"),
            with(&base, |v| ser(v, "shard_size", json!(s))),
            Exp::Early("Statement"),
        );
        lab.stmt(
            &format!("shard_size {s}, algorithm strings updated"),
            with(&base, |v| {
                ser(v, "shard_size", json!(s));
                set_alg_all(v, &format!("sha256-sharded-{s}"));
            }),
            Exp::Mismatch,
        );
    }
    for s in [
        json!(0),
        json!(-1),
        json!(1.5),
        json!("1000"),
        json!(null),
        json!(1e30),
        json!(true),
    ] {
        lab.stmt(
            &format!("shard_size {s}"),
            with(&base, |v| ser(v, "shard_size", s.clone())),
            Exp::Early("Statement"),
        );
    }
    lab.stmt(
        "shard_size missing",
        with(&base, |v| {
            v["predicate"]["serialization"]
                .as_object_mut()
                .unwrap()
                .remove("shard_size");
        }),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "method -> files, algorithm strings stale",
        with(&base, |v| ser(v, "method", json!("files"))),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "method -> files, algorithms 'sha256' ('f:0:1000' are valid file names)",
        with(&base, |v| {
            ser(v, "method", json!("files"));
            set_alg_all(v, "sha256");
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "hash_type -> blake2b",
        with(&base, |v| ser(v, "hash_type", json!("blake2b"))),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "hash_type -> blake3, algorithms 'blake3-sharded-1000'",
        with(&base, |v| {
            ser(v, "hash_type", json!("blake3"));
            set_alg_all(v, "blake3-sharded-1000");
        }),
        Exp::Mismatch,
    );
    for bad in [
        "weights/model.safetensors:01000:2000",
        "weights/model.safetensors:1000:1000",
        "weights/model.safetensors:2000:1000",
        "weights/model.safetensors:1000:",
        "weights/model.safetensors::2000",
        "weights/model.safetensors:1000",
        "weights/model.safetensors",
        "weights/model.safetensors:+1000:2000",
        "weights/model.safetensors:-1:2000",
        "weights/model.safetensors:1000:99999999999999999999999",
        "weights/model.safetensors:1e3:2000",
        "weights/model.safetensors: 1000:2000",
        "../outside:1000:2000",
        "/etc/passwd:1000:2000",
        "weights/../../outside:1000:2000",
        "weights//model.safetensors:1000:2000",
        ":1000:2000",
        "weights\\model.safetensors:1000:2000",
        "a\0b:1000:2000",
    ] {
        lab.stmt(
            &format!("shard name {bad:?}, root consistent"),
            with(&base, |v| {
                resources(v)[big]["name"] = json!(bad);
                fix_root(v);
            }),
            Exp::Early("Statement"),
        );
    }
    for odd in [
        "weights/model.safetensors:500:1500",
        "weights/model.safetensors:1000:1999",
        "weights/model.safetensors:1000:2001",
        "weights/model.safetensors:0:1000",
        "weights/other.safetensors:1000:2000",
    ] {
        lab.stmt(
            &format!("shard renamed to {odd:?}, root consistent"),
            with(&base, |v| {
                resources(v)[big]["name"] = json!(odd);
                fix_root(v);
            }),
            if odd.ends_with(":0:1000") {
                Exp::Early("Statement") // duplicate of the first shard
            } else {
                Exp::Mismatch
            },
        );
    }
    lab.stmt(
        "shard digest changed, root consistent",
        with(&base, |v| {
            resources(v)[big]["digest"] = json!("11".repeat(32));
            fix_root(v);
        }),
        Exp::Changed("weights/model.safetensors:1000:2000".into()),
    );
    lab.stmt(
        "last shard dropped, root consistent",
        with(&base, |v| {
            let i = resources(v)
                .iter()
                .rposition(|r| {
                    r["name"]
                        .as_str()
                        .unwrap()
                        .starts_with("weights/model.safetensors:")
                })
                .unwrap();
            resources(v).remove(i);
            fix_root(v);
        }),
        Exp::Mismatch,
    );
    lab.stmt(
        "shards 0 and 1 of the weights swapped, root not recomputed",
        with(&base, |v| resources(v).swap(big - 1, big)),
        Exp::Early("Statement"),
    );
    lab.stmt(
        "shards of the weights reversed, root recomputed",
        with(&base, |v| {
            resources(v).reverse();
            fix_root(v);
        }),
        Exp::Accept("order is free once the root digest matches it"),
    );
    lab.stmt(
        "a shard for the empty file 'empty.bin:0:1', root consistent",
        with(&base, |v| {
            let mut r = resources(v)[0].clone();
            r["name"] = json!("empty.bin:0:1");
            resources(v).push(r);
            fix_root(v);
        }),
        Exp::Mismatch,
    );
    lab.finish("re-signed statement mutations (shards 1000, sha256)", start);
}

// ------------------------------------------------------------------------------------------------
// 3. Filesystem safety and limits.

#[cfg(target_os = "linux")]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(not(target_os = "linux"))]
const O_NONBLOCK: i32 = 0x0004;

/// Runs `f` in a thread. If it does not finish in time it is presumably blocked opening one of
/// `fifos` (opening a FIFO for reading blocks until a writer appears): we open them for writing to
/// release it, and fail.
fn within<T: Send + 'static>(
    what: &str,
    fifos: &[PathBuf],
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => panic!("{what}: PANIC: {}", panic_text(p)),
        Err(_) => {
            for p in fifos {
                let _ = fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(O_NONBLOCK)
                    .open(p);
            }
            let _ = rx.recv_timeout(Duration::from_secs(5));
            panic!("{what}: blocked for 20 s: it opened a FIFO it must never read");
        }
    }
}

fn expect_model_error(what: &str, r: Result<VerifyReport, Error>, needle: &str) -> String {
    match r {
        Err(e) if model_message(&e).is_some_and(|m| m.contains(needle)) => {
            model_message(&e).unwrap_or_default()
        }
        Err(e) => panic!(
            "{what}: expected a Model error mentioning {needle:?}, got {}: {e}",
            class(&e)
        ),
        Ok(_) => panic!("{what}: ACCEPTED"),
    }
}

#[test]
fn fs_symlinks_to_outside_fifos_are_never_opened() {
    let mut rng = Rng::for_test("fs_symlinks_to_outside_fifos_are_never_opened");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let w = rng.bytes(5000);
    write_file(&root.join("config.json"), b"{}");
    write_file(&root.join("weights/w.bin"), &w);
    write_file(&root.join("sub/x.txt"), b"x");
    let signed = sign(&root, &hashing(HashAlgorithm::Sha256, Serialization::Files));
    assert_eq!(
        signed.statement()["predicate"]["serialization"]["allow_symlinks"],
        json!(false)
    );
    let pipe = outside.join("pipe");
    mkfifo(&pipe);
    fs::create_dir_all(outside.join("dir")).unwrap();
    let dir_pipe = outside.join("dir/x.txt");
    mkfifo(&dir_pipe);
    let fifos = vec![pipe.clone(), dir_pipe.clone()];
    let mut lines = Vec::new();
    let run = |what: &str, allow: bool| -> Result<VerifyReport, Error> {
        let (root, b, pk) = (root.clone(), signed.bundle.clone(), signed.public.clone());
        within(what, &fifos, move || {
            let opts = VerifyOptions {
                allow_symlinks: allow,
                ..VerifyOptions::default()
            };
            verify_bundle(&root, &b, &KeyVerifier::new(pk), &opts)
        })
    };

    // A file replaced by a symlink to an outside FIFO.
    fs::remove_file(root.join("weights/w.bin")).unwrap();
    symlink(&pipe, root.join("weights/w.bin")).unwrap();
    let m = expect_model_error(
        "file -> symlink to FIFO",
        run("file -> symlink to FIFO", false),
        "symlink",
    );
    lines.push(format!(
        "file symlink to outside FIFO, signer did not allow symlinks: {m}"
    ));
    let m = expect_model_error(
        "file -> symlink to FIFO, verifier allows symlinks",
        run("file -> symlink to FIFO, --allow-symlinks", true),
        "FIFO",
    );
    lines.push(format!("same, verifier passes allow_symlinks: {m}"));
    // Signing such a model (symlinks allowed) must not open the FIFO either.
    let (r2, fifos2) = (root.clone(), fifos.clone());
    let sign_res = within(
        "sign a model with a symlink to a FIFO",
        &fifos2,
        move || {
            let mut cfg = hashing(HashAlgorithm::Sha256, Serialization::Files);
            cfg.allow_symlinks = true;
            let signer = KeySigner::new(PrivateKey::generate(Curve::P256).unwrap());
            sign_to_bytes(&r2, &cfg, &signer).map(|_| ())
        },
    );
    match sign_res {
        Err(Error::Model(m)) if m.contains("FIFO") => {
            lines.push(format!("signing it with symlinks allowed: {m}"))
        }
        other => panic!("signing a model with a symlink to a FIFO: {other:?}"),
    }
    fs::remove_file(root.join("weights/w.bin")).unwrap();
    fs::write(root.join("weights/w.bin"), &w).unwrap();

    // A directory replaced by a symlink to an outside directory holding a FIFO of the same name.
    fs::remove_dir_all(root.join("sub")).unwrap();
    symlink(outside.join("dir"), root.join("sub")).unwrap();
    let m = expect_model_error(
        "dir -> symlink",
        run("dir -> symlink to dir with FIFO", false),
        "symlink",
    );
    lines.push(format!("directory symlink to outside dir with a FIFO: {m}"));
    let m = expect_model_error(
        "dir -> symlink, verifier allows",
        run("dir -> symlink to dir with FIFO, --allow-symlinks", true),
        "FIFO",
    );
    lines.push(format!("same, verifier passes allow_symlinks: {m}"));
    fs::remove_file(root.join("sub")).unwrap();
    write_file(&root.join("sub/x.txt"), b"x");

    // The signature path and the model path themselves are FIFOs.
    let sig_fifo = outside.join("model.sig");
    mkfifo(&sig_fifo);
    let (r3, s3, pk3) = (root.clone(), sig_fifo.clone(), signed.public.clone());
    let f3 = vec![sig_fifo.clone()];
    let r = within("signature path is a FIFO", &f3, move || {
        verify_model(&r3, &s3, &KeyVerifier::new(pk3), &VerifyOptions::default())
    });
    match r {
        Err(e @ Error::Bundle(_)) => lines.push(format!("signature path is a FIFO: {e}")),
        other => panic!("signature path is a FIFO: {:?}", other.map(|_| ())),
    }
    let model_fifo = outside.join("model-fifo");
    mkfifo(&model_fifo);
    let (b4, pk4, m4) = (
        signed.bundle.clone(),
        signed.public.clone(),
        model_fifo.clone(),
    );
    let r = within(
        "model path is a FIFO",
        std::slice::from_ref(&model_fifo),
        move || verify_bundle(&m4, &b4, &KeyVerifier::new(pk4), &VerifyOptions::default()),
    );
    let m = expect_model_error("model path is a FIFO", r, "FIFO");
    lines.push(format!("model path is a FIFO: {m}"));

    // Sanity: the restored model verifies.
    assert!(run("restored model", false).is_ok());
    eprintln!(
        "\n== symlinks / FIFOs (none opened) ==\n  {}",
        lines.join("\n  ")
    );
}

/// Manifest names that leave the model are refused before any file is hashed (or even opened: a FIFO
/// sits at `../outside`).
#[test]
fn fs_escaping_resource_names_are_refused_before_hashing() {
    let mut rng = Rng::for_test("fs_escaping_resource_names_are_refused_before_hashing");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    write_file(&root.join("config.json"), b"{}");
    let n = rng.between(3000, 5000);
    write_file(&root.join("weights/w.bin"), &rng.bytes(n));
    let fifo = tmp.path().join("outside");
    mkfifo(&fifo);
    let mut lines = Vec::new();
    for ser in [
        Serialization::Files,
        Serialization::Shards { shard_size: 1000 },
    ] {
        let signed = Arc::new(sign(&root, &hashing(HashAlgorithm::Sha256, ser)));
        let base = signed.statement();
        let suffix = if ser == Serialization::Files {
            ""
        } else {
            ":0:2"
        };
        let abs_fifo = fifo.display().to_string();
        let names = [
            "../outside".to_string(),
            "weights/../../outside".to_string(),
            "/etc/passwd".to_string(),
            abs_fifo,
            "../model/config.json".to_string(),
            "./../outside".to_string(),
        ];
        let mut cases: Vec<(String, Value)> = Vec::new();
        for nm in &names {
            let full = format!("{nm}{suffix}");
            cases.push((
                format!("{} resource {full:?} replaces one", ser.method()),
                with(&base, |v| {
                    resources(v)[0]["name"] = json!(full);
                    fix_root(v);
                }),
            ));
            cases.push((
                format!("{} resource {full:?} added", ser.method()),
                with(&base, |v| {
                    let mut r = resources(v)[0].clone();
                    r["name"] = json!(full);
                    resources(v).push(r);
                    fix_root(v);
                }),
            ));
        }
        for ig in ["../outside", "/etc/passwd", "../model"] {
            cases.push((
                format!("{} ignore_paths [{ig:?}]", ser.method()),
                with(&base, |v| {
                    v["predicate"]["serialization"]["ignore_paths"] = json!([ig]);
                }),
            ));
        }
        for (what, st) in cases {
            let bytes = signed.resign(&st);
            let (r, s) = (root.clone(), signed.clone());
            let p = Arc::new(CountingProgress::default());
            let p2 = p.clone();
            let res = within(&what, std::slice::from_ref(&fifo), move || {
                let b = bundle::parse(&bytes)?;
                verify_bundle(&r, &b, &s.verifier(), &counting_opts(&p2))
            });
            let hashed = p.begins.load(Ordering::SeqCst);
            match res {
                Err(Error::Statement(m)) if hashed == 0 => {
                    lines.push(format!("{what:<62} rejected before hashing: {}", short(&m)))
                }
                Err(e) => panic!(
                    "{what}: expected a Statement error before hashing, got {} (hashing started: {})",
                    e,
                    hashed > 0
                ),
                Ok(_) => panic!("{what}: ACCEPTED"),
            }
        }
    }
    eprintln!(
        "\n== escaping names ({} cases) ==\n  {}",
        lines.len(),
        lines.join("\n  ")
    );
}

#[derive(Clone, Copy, Debug)]
enum Change {
    /// Overwrite 4 KiB in place (same size).
    Overwrite { off: usize },
    /// Append 4 KiB.
    Append,
    /// Truncate to this length.
    Truncate { len: usize },
    /// Copy, patch 4 KiB of the copy, rename it over the file.
    Replace { off: usize },
}

const PATCH: usize = 4096;

fn new_content(orig: &[u8], c: Change, patch: &[u8]) -> Vec<u8> {
    match c {
        Change::Overwrite { off } | Change::Replace { off } => {
            let mut v = orig.to_vec();
            v[off..off + PATCH].copy_from_slice(patch);
            v
        }
        Change::Append => [orig, patch].concat(),
        Change::Truncate { len } => orig[..len].to_vec(),
    }
}

/// A 64 MiB file is modified while the model is verified. Whatever the timing, the verifier must
/// pass only on the signed content, and otherwise fail either with "changed while it was being
/// hashed" or with a mismatch whose digests are those of the complete new content (never of a mix).
fn race_campaign(test: &str, alg: HashAlgorithm, ser: Serialization, iterations: usize) {
    let mut rng = Rng::for_test(test);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    let spare = tmp.path().join("spare");
    fs::create_dir_all(&spare).unwrap();
    let big = root.join("big.bin");
    let orig = Arc::new(rng.bytes(64 << 20));
    write_file(&big, &orig);
    write_file(&root.join("small.txt"), b"small");
    let signed = sign(&root, &hashing(alg, ser));
    let verifier = signed.verifier();
    let t0 = Instant::now();
    assert!(matches!(
        verify_outcome(&root, &signed.bundle, &verifier, &VerifyOptions::default()),
        Outcome::Pass(_)
    ));
    let base = t0.elapsed();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut overlapped = 0;
    let start = Instant::now();
    for i in 0..iterations {
        let change = match i % 4 {
            0 => Change::Overwrite {
                off: rng.below(orig.len() - PATCH),
            },
            1 => Change::Append,
            2 => Change::Truncate {
                len: rng.below(orig.len()),
            },
            _ => Change::Replace {
                off: rng.below(orig.len() - PATCH),
            },
        };
        let mut patch = rng.bytes(PATCH);
        if let Change::Overwrite { off } | Change::Replace { off } = change {
            patch[0] = orig[off] ^ 0xff; // guaranteed different
        }
        // Let the clock move past the restore's modification time (coarse timestamps).
        std::thread::sleep(Duration::from_millis(30));
        let mut delay =
            Duration::from_micros(rng.below(base.as_micros() as usize * 13 / 10 + 1) as u64);
        if i % 5 == 4 {
            delay = Duration::ZERO;
        }
        let p = Arc::new(CountingProgress::default());
        let opts = counting_opts(&p);
        let (b2, s2, patch2) = (big.clone(), spare.join(format!("new-{i}")), patch.clone());
        // One run in five modifies the file before verification starts (a plain mismatch, whose
        // digests must be those of the new content); the others race with the verifier.
        let before_walk = i % 5 == 4;
        let write = move || {
            std::thread::sleep(delay);
            let t_start = Instant::now();
            match change {
                Change::Overwrite { off } => {
                    let f = fs::OpenOptions::new().write(true).open(&b2).unwrap();
                    f.write_all_at(&patch2, off as u64).unwrap();
                }
                Change::Append => {
                    let f = fs::OpenOptions::new().append(true).open(&b2).unwrap();
                    f.write_all_at(&patch2, 0).unwrap();
                }
                Change::Truncate { len } => {
                    let f = fs::OpenOptions::new().write(true).open(&b2).unwrap();
                    f.set_len(len as u64).unwrap();
                }
                Change::Replace { off } => {
                    fs::copy(&b2, &s2).unwrap();
                    let f = fs::OpenOptions::new().write(true).open(&s2).unwrap();
                    f.write_all_at(&patch2, off as u64).unwrap();
                    drop(f);
                    fs::rename(&s2, &b2).unwrap();
                }
            }
            (t_start, Instant::now())
        };
        let (out, (w_start, w_done)) = if before_walk {
            let w = write();
            (verify_outcome(&root, &signed.bundle, &verifier, &opts), w)
        } else {
            let writer = std::thread::spawn(write);
            let out = verify_outcome(&root, &signed.bundle, &verifier, &opts);
            (out, writer.join().unwrap())
        };
        if before_walk && !matches!(out, Outcome::Fail(Error::Mismatch(_))) {
            failures.push(format!(
                "{change:?} done before verifying: expected a Mismatch, got {}",
                out.describe()
            ));
        }
        let began = *p.started.lock().unwrap();
        let finished = *p.finished.lock().unwrap();
        if let (Some(b), Some(f)) = (began, finished) {
            if w_start <= f && w_done >= b {
                overlapped += 1;
            }
        }
        let what = if before_walk {
            format!("{change:?} before verifying")
        } else {
            format!("{change:?} after {delay:?}")
        };
        let key = match &out {
            Outcome::Pass(_) => {
                if began.is_none_or(|b| w_done < b) {
                    failures.push(format!(
                        "{what}: VERIFIED although the file was modified before hashing began"
                    ));
                }
                "passed (hashing done before the write landed; signed content hashed)".to_string()
            }
            Outcome::Fail(Error::Model(m)) if m.contains("changed while") => {
                "detected: 'changed while it was being hashed'".into()
            }
            Outcome::Fail(Error::Model(m)) if m.contains("no longer a regular file") => {
                "detected: 'no longer a regular file'".into()
            }
            Outcome::Fail(Error::Mismatch(r)) => {
                // Every reported digest must be that of the complete new content.
                let now = new_content(&orig, change, &patch);
                let mut bad = Vec::new();
                for c in &r.changed {
                    let range = match c.name.rsplitn(3, ':').collect::<Vec<_>>().as_slice() {
                        [e, s, _] if ser != Serialization::Files => {
                            Some((s.parse::<usize>().unwrap(), e.parse::<usize>().unwrap()))
                        }
                        _ => None,
                    };
                    let want = match range {
                        None => hex::encode(alg.digest(&now)),
                        Some((s, e)) if e <= now.len() => hex::encode(alg.digest(&now[s..e])),
                        Some(_) => "(range beyond the new content)".into(),
                    };
                    if c.actual != want {
                        bad.push(format!(
                            "{}: actual {} but new content hashes to {want}",
                            c.name, c.actual
                        ));
                    }
                }
                if !bad.is_empty() {
                    failures.push(format!("{what}: MIXED-CONTENT DIGEST: {}", bad.join("; ")));
                }
                "mismatch (modified before the walk; digests of the whole new content)".into()
            }
            Outcome::Fail(e) => {
                let k = format!("other error: {}", class(e));
                if !matches!(e, Error::Io { .. }) {
                    failures.push(format!("{what}: unexpected {}", out.describe()));
                }
                k
            }
            Outcome::Panic(p) => {
                failures.push(format!("{what}: PANIC {p}"));
                "panic".into()
            }
        };
        *counts.entry(key).or_default() += 1;
        // Restore the signed content.
        let f = fs::OpenOptions::new().write(true).open(&big).unwrap();
        match change {
            Change::Overwrite { off } | Change::Replace { off } => {
                f.write_all_at(&orig[off..off + PATCH], off as u64).unwrap()
            }
            Change::Append => f.set_len(orig.len() as u64).unwrap(),
            Change::Truncate { len } => f.write_all_at(&orig[len..], len as u64).unwrap(),
        }
        drop(f);
        assert!(fs::read(&big).unwrap() == *orig, "restore failed");
    }
    let mut s = format!(
        "\n== file modified while hashed, {test} (64 MiB, baseline verify {:.0} ms): {iterations} runs in {:.1} s, \
         {overlapped} writes overlapped the hashing ==\n",
        base.as_secs_f64() * 1000.0,
        start.elapsed().as_secs_f64()
    );
    for (k, n) in &counts {
        s += &format!("  {n:>3} x {k}\n");
    }
    eprintln!("{s}");
    for f in &failures {
        eprintln!("FAILURE: {f}");
    }
    assert!(
        failures.is_empty(),
        "{} failures (first: {})",
        failures.len(),
        failures[0]
    );
}

#[test]
fn fs_file_changed_while_hashed_sha256_files() {
    race_campaign(
        "fs_file_changed_while_hashed_sha256_files",
        HashAlgorithm::Sha256,
        Serialization::Files,
        scaled(16),
    );
}

#[test]
fn fs_file_changed_while_hashed_blake3_files() {
    race_campaign(
        "fs_file_changed_while_hashed_blake3_files",
        HashAlgorithm::Blake3,
        Serialization::Files,
        scaled(16),
    );
}

#[test]
fn fs_file_changed_while_hashed_sha256_shards() {
    race_campaign(
        "fs_file_changed_while_hashed_sha256_shards",
        HashAlgorithm::Sha256,
        Serialization::Shards {
            shard_size: 8 << 20,
        },
        scaled(16),
    );
}

#[test]
fn limits_oversized_bundle_is_refused_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("model.sig");
    let f = fs::File::create(&p).unwrap();
    f.set_len(bundle::MAX_BUNDLE_BYTES + 1).unwrap(); // sparse
    drop(f);
    let t = Instant::now();
    let e = bundle::read(&p).unwrap_err();
    let el = t.elapsed();
    assert!(matches!(e, Error::Bundle(_)), "{e}");
    assert!(e.to_string().contains("limit"), "{e}");
    assert!(el < Duration::from_secs(2), "took {el:?}");
    // The same through verify_model.
    let root = tmp.path().join("model");
    write_file(&root.join("a"), b"a");
    let k = PrivateKey::generate(Curve::P256).unwrap();
    let e2 = verify_model(
        &root,
        &p,
        &KeyVerifier::new(k.public_key()),
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(e2.to_string().contains("limit"), "{e2}");
    // And for in-memory bytes (a zeroed allocation: the length check comes first).
    let big = vec![0u8; bundle::MAX_BUNDLE_BYTES as usize + 1];
    let t2 = Instant::now();
    let e3 = bundle::parse(&big).unwrap_err();
    assert!(e3.to_string().contains("limit"), "{e3}");
    eprintln!(
        "\n== oversized bundle ({} bytes, sparse) ==\n  read: {e} ({el:?})\n  verify_model: {e2}\n  parse: {e3} ({:?})",
        bundle::MAX_BUNDLE_BYTES + 1,
        t2.elapsed()
    );
}

#[test]
fn limits_deeply_nested_json() {
    let mut lines = Vec::new();
    let deep: Vec<(&str, Vec<u8>)> = vec![
        ("100k '['", vec![b'['; 100_000]),
        ("100k '[' closed", {
            let mut v = vec![b'['; 100_000];
            v.extend(vec![b']'; 100_000]);
            v
        }),
        ("100k '{\"a\":'", b"{\"a\":".repeat(100_000)),
        ("nested in publicKey.hint", {
            let mut v = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"#.to_vec();
            v.extend(vec![b'['; 100_000]);
            v
        }),
    ];
    for (what, bytes) in deep {
        let t = Instant::now();
        let r = guarded(|| bundle::parse(&bytes));
        match r {
            Err(Outcome::Fail(e @ Error::Bundle(_))) => lines.push(format!(
                "{what:<28} {} ({:?})",
                short(&e.to_string()),
                t.elapsed()
            )),
            Err(o) => panic!("{what}: {}", o.describe()),
            Ok(_) => panic!("{what}: parsed"),
        }
    }
    // A deeply nested *signed* payload.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    write_file(&root.join("a"), b"a");
    let signed = sign(&root, &hashing(HashAlgorithm::Sha256, Serialization::Files));
    let mut payload = br#"{"_type":"https://in-toto.io/Statement/v1","x":"#.to_vec();
    payload.extend(vec![b'['; 100_000]);
    let bytes = signed.resign_raw(PAYLOAD_TYPE, &payload);
    match verify_bytes(&root, &bytes, &signed.verifier(), &VerifyOptions::default()) {
        Outcome::Fail(e @ Error::Statement(_)) => lines.push(format!(
            "{:<28} {}",
            "signed payload 100k '['",
            short(&e.to_string())
        )),
        o => panic!("signed deep payload: {}", o.describe()),
    }
    eprintln!("\n== deeply nested JSON ==\n  {}", lines.join("\n  "));
}

fn peak_rss_kib() -> Option<u64> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// A validly signed statement listing MAX_RESOURCES + 1 (empty) resources is refused.
#[test]
fn limits_huge_resource_count() {
    use model_signing::statement::MAX_RESOURCES;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    write_file(&root.join("a"), b"a");
    let signed = sign(&root, &hashing(HashAlgorithm::Sha256, Serialization::Files));
    let n = MAX_RESOURCES + 1;
    let mut p = String::with_capacity(n * 3 + 512);
    p.push_str(&format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"m","digest":{{"sha256":"{}"}}}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{{"serialization":{{"method":"files","hash_type":"sha256","allow_symlinks":false}},"resources":["#,
        "00".repeat(32)
    ));
    p.push_str(&"{},".repeat(n - 1));
    p.push_str("{}]}}");
    let bytes = signed.resign_raw(PAYLOAD_TYPE, p.as_bytes());
    let rss0 = peak_rss_kib();
    let t = Instant::now();
    let out = verify_bytes(&root, &bytes, &signed.verifier(), &VerifyOptions::default());
    let el = t.elapsed();
    let rss1 = peak_rss_kib();
    let msg = match out {
        Outcome::Fail(e @ Error::Statement(_)) if e.to_string().contains("limit") => e.to_string(),
        o => panic!("{n} resources: {}", o.describe()),
    };
    eprintln!(
        "\n== {n} resources (payload {} MB, bundle {} MB) ==\n  {msg}\n  in {el:?}; peak RSS before {:?} KiB, after {:?} KiB",
        p.len() >> 20,
        bytes.len() >> 20,
        rss0,
        rss1
    );
}
