//! Hashing files and shards.
//!
//! Two serializations exist, as in the OMS format:
//!
//! * `files`: one digest per file (empty files included, with the digest of empty input);
//! * `shards`: one digest per `[start, end)` byte range of `shard_size` bytes (the last one short);
//!   empty files produce no shard at all.
//!
//! All work items (a file, or one shard of a file) go into one list hashed by a fixed pool of
//! [`Engine::max_workers`] threads. Each worker reads with `pread` into its own reused buffer, so no
//! allocation grows with file size or file count. SHA-256 and BLAKE2b are sequential per item, so a
//! single large file in `files` mode runs on one core (use shards to spread it); BLAKE3 hashes large
//! files with its own tree parallelism, over a memory map if [`Engine::mmap`] allows it (the copy out
//! of the page cache costs BLAKE3 about a fifth of its speed). A file whose size or modification time
//! differs from what the walk saw, or changes while it is hashed, makes the run fail, since the digest
//! would describe neither the old nor the new content. The number of shards is computed from the
//! sizes before any work item exists, and more than a bundle may list
//! ([`MAX_RESOURCES`](crate::statement::MAX_RESOURCES)) is an error.

use crate::error::{Error, Result};
use crate::limits::MAX_WORKERS;
use crate::walk::FileEntry;
use rayon::prelude::*;
use sha2::Digest as _;
use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

/// The default shard size of the Python reference (one decimal gigabyte).
pub const DEFAULT_SHARD_SIZE: u64 = 1_000_000_000;

/// Read size per `pread` when files are read rather than mapped.
///
/// Measured on a 2-vCPU AMD EPYC (Zen 3, 512 KiB L2 per core), SHA-256 of a page-cached 2 GiB
/// file: 1 MiB reads 0.99 GB/s, 256 KiB 0.98, 128 KiB 1.2 to 1.38, 64 KiB 1.38, against 1.57 GB/s
/// for `openssl speed`. What matters is that the buffer the kernel copies into stays in the core's
/// L2 cache for the hasher to read: larger ones are written out to memory and read back. So the
/// size follows the L2 cache (a quarter of it, between 64 KiB and 1 MiB), read from sysfs where
/// Linux offers it, else 128 KiB, which fits every L2 of the last fifteen years.
pub(crate) fn read_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        l2_cache_bytes()
            .map(|l2| (l2 / 4).clamp(64 << 10, 1 << 20))
            .unwrap_or(128 << 10)
    })
}

/// The first CPU's L2 cache size, from `/sys/devices/system/cpu/cpu0/cache/index*/` (Linux).
fn l2_cache_bytes() -> Option<usize> {
    let base = Path::new("/sys/devices/system/cpu/cpu0/cache");
    std::fs::read_dir(base).ok()?.flatten().find_map(|e| {
        let dir = e.path();
        let level = std::fs::read_to_string(dir.join("level")).ok()?;
        let kind = std::fs::read_to_string(dir.join("type")).ok()?;
        if level.trim() != "2" || kind.trim() == "Instruction" {
            return None;
        }
        let size = std::fs::read_to_string(dir.join("size")).ok()?;
        let size = size.trim();
        let (num, mul) = match size.strip_suffix('K') {
            Some(n) => (n, 1 << 10),
            None => match size.strip_suffix('M') {
                Some(n) => (n, 1 << 20),
                None => (size, 1),
            },
        };
        num.parse::<usize>().ok().map(|n| n.saturating_mul(mul))
    })
}

/// Ranges at least this long are hashed over memory maps when [`Engine::mmap`] allows it: below
/// it, one `pread` costs less than mapping and unmapping.
const MAP_MIN: u64 = 1 << 20;

/// A per-file or per-shard hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 (the default).
    Sha256,
    /// BLAKE2b with a 64-byte digest.
    Blake2b,
    /// BLAKE3 (32-byte digest).
    Blake3,
}

impl HashAlgorithm {
    /// The name recorded in `hash_type` and in file-mode `algorithm`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Blake2b => "blake2b",
            HashAlgorithm::Blake3 => "blake3",
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Blake2b => 64,
            _ => 32,
        }
    }

    /// A streaming hasher for this algorithm (used by benchmarks; the engine uses it internally).
    pub fn streaming(self) -> StreamHasher {
        self.hasher()
    }

    pub(crate) fn hasher(self) -> StreamHasher {
        match self {
            HashAlgorithm::Sha256 => StreamHasher::Sha256(sha2::Sha256::new()),
            // blake2b_simd (by the BLAKE2/BLAKE3 authors' implementer) runs at or above OpenSSL's
            // blake2b512 with AVX2; the RustCrypto blake2 crate reached about 85% of it here.
            HashAlgorithm::Blake2b => StreamHasher::Blake2b(Box::new(blake2b_simd::State::new())),
            HashAlgorithm::Blake3 => StreamHasher::Blake3(Box::default()),
        }
    }

    /// Hashes an in-memory buffer.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashAlgorithm {
    type Err = Error;
    /// Accepts the recorded names and Python's API name `blake2`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sha256" => Ok(HashAlgorithm::Sha256),
            "blake2b" | "blake2" => Ok(HashAlgorithm::Blake2b),
            "blake3" => Ok(HashAlgorithm::Blake3),
            other => Err(Error::Config(format!(
                "unknown hash algorithm '{other}' (expected sha256, blake2b or blake3)"
            ))),
        }
    }
}

/// An incremental hasher for one [`HashAlgorithm`].
pub enum StreamHasher {
    /// SHA-256 state.
    Sha256(sha2::Sha256),
    /// BLAKE2b-512 state.
    Blake2b(Box<blake2b_simd::State>),
    /// BLAKE3 state.
    Blake3(Box<blake3::Hasher>),
}

impl StreamHasher {
    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            StreamHasher::Sha256(h) => h.update(data),
            StreamHasher::Blake2b(h) => {
                h.update(data);
            }
            StreamHasher::Blake3(h) => {
                h.update(data);
            }
        }
    }

    /// Feeds more data, with BLAKE3's own tree parallelism when `parallel` (other algorithms are
    /// sequential).
    pub(crate) fn feed(&mut self, data: &[u8], parallel: bool) {
        match (self, parallel) {
            (StreamHasher::Blake3(b), true) => {
                b.update_rayon(data);
            }
            (h, _) => h.update(data),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Vec<u8> {
        match self {
            StreamHasher::Sha256(h) => h.finalize().to_vec(),
            StreamHasher::Blake2b(h) => h.finalize().as_bytes().to_vec(),
            StreamHasher::Blake3(h) => h.finalize().as_bytes().to_vec(),
        }
    }
}

/// How a model is cut into hashed resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serialization {
    /// One digest per file.
    Files,
    /// One digest per fixed-size byte range.
    Shards {
        /// Shard length in bytes (> 0).
        shard_size: u64,
    },
}

impl Serialization {
    /// `"files"` or `"shards"`.
    pub fn method(&self) -> &'static str {
        match self {
            Serialization::Files => "files",
            Serialization::Shards { .. } => "shards",
        }
    }

    /// The `algorithm` string of each resource: `sha256` for files, `sha256-sharded-<size>` for shards
    /// (Python's verifier compares this string, so it must be exactly this).
    pub fn resource_algorithm(&self, alg: HashAlgorithm) -> String {
        match self {
            Serialization::Files => alg.name().to_string(),
            Serialization::Shards { shard_size } => format!("{}-sharded-{shard_size}", alg.name()),
        }
    }
}

/// Everything that decides which files are hashed and how.
#[derive(Debug, Clone)]
pub struct HashingConfig {
    /// Per-resource hash algorithm.
    pub algorithm: HashAlgorithm,
    /// Files or shards.
    pub serialization: Serialization,
    /// Follow symlinks.
    pub allow_symlinks: bool,
    /// Model-relative paths to leave out.
    pub ignore: crate::walk::IgnoreSet,
    /// Threads and progress.
    pub engine: Engine,
}

impl Default for HashingConfig {
    /// sha256, files, no symlinks, top-level git paths ignored: the Python reference's defaults.
    fn default() -> Self {
        let mut ignore = crate::walk::IgnoreSet::new();
        ignore.add_git_paths();
        HashingConfig {
            algorithm: HashAlgorithm::Sha256,
            serialization: Serialization::Files,
            allow_symlinks: false,
            ignore,
            engine: Engine::default(),
        }
    }
}

impl HashingConfig {
    /// BLAKE3 is never sharded (its tree hash already parallelises one file, and the Python
    /// reference silently records such a request as `files`); do the same, but say so.
    pub fn normalized(mut self) -> Self {
        if self.algorithm == HashAlgorithm::Blake3
            && matches!(self.serialization, Serialization::Shards { .. })
        {
            tracing::warn!(
                "blake3 hashes whole files (it is parallel internally); ignoring the shard size"
            );
            self.serialization = Serialization::Files;
        }
        self
    }

    /// The walk options implied by this configuration.
    pub fn walk_options(&self) -> crate::walk::WalkOptions {
        crate::walk::WalkOptions {
            allow_symlinks: self.allow_symlinks,
            ignore: self.ignore.clone(),
            // The signer follows links where it chooses.
            links_stay_inside: false,
            link_store: None,
        }
    }
}

/// Receives progress while a model is hashed (the CLI draws a progress bar with it), and may stop
/// the hashing ([`Progress::cancelled`]).
///
/// Called from worker threads, so implementations must be cheap and thread-safe.
pub trait Progress: Send + Sync {
    /// Hashing starts: this many files and bytes are to be read.
    fn begin(&self, _files: u64, _bytes: u64) {}
    /// `bytes` more bytes were hashed.
    fn advance(&self, _bytes: u64) {}
    /// One more file (or shard) is done.
    fn item_done(&self) {}
    /// Hashing is over (successfully or not).
    fn finish(&self) {}
    /// Whether the caller wants the work stopped (for example on Ctrl-C). Workers ask before each
    /// work item and between read chunks (at most a few MiB apart), and [`Engine::walk`] before and
    /// after listing, so a `true` ends the run within a fraction of a second with
    /// [`Error::Cancelled`]. Once `true` it should stay `true`.
    fn cancelled(&self) -> bool {
        false
    }
}

/// How hashing runs: thread count and progress reporting. Does not affect any digest.
#[derive(Clone, Default)]
pub struct Engine {
    /// Worker threads, at most [`MAX_WORKERS`] (more is an error); `None` or `Some(0)` means one
    /// per available core (see [`Engine::workers`]).
    pub max_workers: Option<usize>,
    /// Where progress goes, if anywhere.
    pub progress: Option<Arc<dyn Progress>>,
    /// Memory-map large files for BLAKE3 instead of reading them, which saves copying every byte
    /// out of the page cache (BLAKE3 is fast enough for that copy to matter; SHA-256 is not).
    ///
    /// Off by default because a file truncated by another process while mapped raises SIGBUS,
    /// which kills the process unless it installed a guard first:
    /// [`model_signing_mmap::exit_on_sigbus`] turns it into a message and exit code 1. The CLI
    /// does so and turns this on.
    pub mmap: bool,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("max_workers", &self.max_workers)
            .field("progress", &self.progress.is_some())
            .field("mmap", &self.mmap)
            .finish()
    }
}

impl Engine {
    /// The number of worker threads this engine uses: [`Engine::max_workers`], or for `None` and
    /// `Some(0)` one per available core, at most [`MAX_WORKERS`]. A count above [`MAX_WORKERS`] is
    /// an error rather than quietly lowered: every thread is started up front, and a caller that
    /// asked for a million should hear that it cannot have them.
    pub fn workers(&self) -> Result<usize> {
        match self.max_workers.filter(|n| *n > 0) {
            Some(n) if n > MAX_WORKERS => Err(Error::Config(format!(
                "{n} hashing threads were requested; at most {MAX_WORKERS} are allowed"
            ))),
            Some(n) => Ok(n),
            None => Ok(std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_WORKERS)),
        }
    }

    /// Whether the caller asked for the work to stop (see [`Progress::cancelled`]).
    fn cancelled(&self) -> bool {
        self.progress.as_deref().is_some_and(|p| p.cancelled())
    }

    /// Lists the files of the model at `root` like [`crate::walk::walk`], on this engine's
    /// threads: the walk `stat`s every file in parallel, and without this it would spread over
    /// rayon's global pool (one thread per core) whatever [`Engine::max_workers`] says.
    pub fn walk(
        &self,
        root: &std::path::Path,
        opts: &crate::walk::WalkOptions,
    ) -> Result<Vec<FileEntry>> {
        // The walk itself only `stat`s, so it is asked before and after rather than per file.
        if self.cancelled() {
            return Err(Error::Cancelled);
        }
        let files = self.pool()?.install(|| crate::walk::walk(root, opts))?;
        if self.cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(files)
    }

    /// The engine's thread pool; [`Engine::workers`] refuses an excessive count before any thread
    /// starts.
    pub(crate) fn pool(&self) -> Result<rayon::ThreadPool> {
        let n = self.workers()?;
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("hash-{i}"))
            .build()
            .map_err(|e| Error::Config(format!("cannot start {n} hashing threads: {e}")))
    }
}

/// BLAKE3 files at least this large are hashed with BLAKE3's own tree parallelism (`update_rayon`),
/// over a memory map when [`Engine::mmap`] allows it and over large reads otherwise.
const BLAKE3_PAR_MIN: u64 = 8 << 20;

/// How much of a file is mapped at once. Mapped pages count as resident memory, so this times the
/// worker count bounds what mapping adds to RSS; it is also large enough for BLAKE3's tree to split
/// evenly across threads and for the map/unmap calls to cost nothing measurable (4, 16 and 64 MiB
/// windows gave the same SHA-256 rate, 1.51 to 1.54 GB/s, 97% of `openssl speed`).
const MAP_WINDOW: usize = 16 << 20;

/// Read size for BLAKE3's parallel path: large enough to split across threads.
pub(crate) const BLAKE3_PAR_READ: usize = 4 << 20;

/// A hashed resource before ordering: the file (or shard) name parts and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedItem {
    /// Model-relative file name.
    pub path: String,
    /// `Some((start, end))` for a shard.
    pub range: Option<(u64, u64)>,
    /// Raw digest bytes.
    pub digest: Vec<u8>,
}

struct WorkItem {
    file: usize,
    start: u64,
    end: u64,
}

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Hashes `files` with `alg` and `ser` on a default [`Engine`].
pub fn hash_files(
    files: &[FileEntry],
    alg: HashAlgorithm,
    ser: Serialization,
) -> Result<Vec<HashedItem>> {
    hash_files_with(files, alg, ser, &Engine::default())
}

/// Hashes `files` with `alg` and `ser` in parallel, returning one item per file or shard.
pub fn hash_files_with(
    files: &[FileEntry],
    alg: HashAlgorithm,
    ser: Serialization,
    engine: &Engine,
) -> Result<Vec<HashedItem>> {
    if let Serialization::Shards { shard_size } = ser {
        if shard_size == 0 {
            return Err(Error::Config("shard size must be greater than 0".into()));
        }
        // Counted before any work item exists: the count follows from the sizes, and a verifier
        // refuses a manifest longer than this anyway.
        let total = files
            .iter()
            .fold(0u64, |n, f| n.saturating_add(f.size.div_ceil(shard_size)));
        if total > crate::statement::MAX_RESOURCES as u64 {
            return Err(Error::Config(format!(
                "the model would be cut into {total} shards of {shard_size} bytes, more than the {} \
                 resources a signature may list; use a larger shard size",
                crate::statement::MAX_RESOURCES
            )));
        }
    }
    let mut items = Vec::new();
    for (i, f) in files.iter().enumerate() {
        match ser {
            Serialization::Files => items.push(WorkItem {
                file: i,
                start: 0,
                end: f.size,
            }),
            Serialization::Shards { shard_size } => {
                if shard_size == 0 {
                    return Err(Error::Config("shard size must be greater than 0".into()));
                }
                let mut start = 0;
                while start < f.size {
                    let end = start.saturating_add(shard_size).min(f.size);
                    items.push(WorkItem {
                        file: i,
                        start,
                        end,
                    });
                    start = end;
                }
            }
        }
    }
    let progress = engine.progress.as_deref();
    let whole_file = matches!(ser, Serialization::Files);
    // Built before `begin`, so a refused thread count reports nothing.
    let pool = engine.pool()?;
    if let Some(p) = progress {
        let bytes = items.iter().map(|it| it.end - it.start).sum();
        p.begin(items.len() as u64, bytes);
    }
    let digests: Vec<Result<Vec<u8>>> = pool.install(|| {
        items
            .par_iter()
            .map(|it| {
                // Errors do not stop the other items, so a cancelled run must skip them itself.
                if engine.cancelled() {
                    return Err(Error::Cancelled);
                }
                let f = files
                    .get(it.file)
                    .ok_or_else(|| Error::Model("internal: bad work item".into()))?;
                let parallel =
                    whole_file && alg == HashAlgorithm::Blake3 && f.size >= BLAKE3_PAR_MIN;
                let d = if engine.mmap && it.end - it.start >= MAP_MIN {
                    hash_mapped(f, it.start, it.end, alg, parallel, progress)
                } else {
                    hash_range(f, it.start, it.end, alg, parallel, progress)
                };
                if let Some(p) = progress {
                    p.item_done();
                }
                d
            })
            .collect()
    });
    if let Some(p) = progress {
        p.finish();
    }
    // Whatever else failed, a cancelled run says so: the caller stopped it and expects to hear it.
    if digests.iter().any(|d| matches!(d, Err(Error::Cancelled))) {
        return Err(Error::Cancelled);
    }
    // Once everything is hashed, every path must still name the file that was read: one `stat`
    // each, on the engine's threads. Checked at the end, not as each file is done: a file
    // replaced after it was read, while the rest of the model was hashed, would otherwise be
    // signed as the copy that is gone (the review did it with a small file hashed early and a
    // large one hashed for seconds after).
    if digests.iter().all(Result::is_ok) {
        pool.install(|| files.par_iter().try_for_each(check_still_named))?;
    }
    let mut out = Vec::with_capacity(items.len());
    for (it, d) in items.iter().zip(digests) {
        let f = files
            .get(it.file)
            .ok_or_else(|| Error::Model("internal: bad work item".into()))?;
        out.push(HashedItem {
            path: f.name.clone(),
            range: match ser {
                Serialization::Files => None,
                Serialization::Shards { .. } => Some((it.start, it.end)),
            },
            digest: d?,
        });
    }
    Ok(out)
}

/// A file that ended before the walk's size: cut short while (or since) it was listed.
pub(crate) fn truncated(path: &Path) -> Error {
    Error::Model(format!(
        "'{}' was truncated while it was being hashed (it ended before the size it had when \
         listed); sign or verify a model that is not being modified",
        path.display()
    ))
}

fn changed(path: &Path) -> Error {
    Error::Model(format!(
        "'{}' changed while it was being hashed; sign or verify a model that is not being modified",
        path.display()
    ))
}

/// A file found to be another one than the walk listed, before any of it was read.
fn swapped(path: &Path, what: &str) -> Error {
    Error::Model(format!(
        "'{}' changed while it was being hashed (between listing and reading, {what}); sign or \
         verify a model that is not being modified",
        path.display()
    ))
}

/// Fails unless `meta` still describes the file the walk saw (same size and modification time).
fn check_unchanged(f: &FileEntry, meta: &std::fs::Metadata) -> Result<()> {
    if !meta.is_file() {
        return Err(swapped(&f.path, "it is no longer a regular file"));
    }
    if meta.len() != f.size || (f.modified.is_some() && meta.modified().ok() != f.modified) {
        return Err(changed(&f.path));
    }
    // A write in place with the old modification time put back changes only the status time.
    let ctime = crate::walk::FileIdentity::of(meta).map(|id| id.ctime);
    if f.identity
        .is_some_and(|id| ctime.is_some_and(|c| c != id.ctime))
    {
        return Err(changed(&f.path));
    }
    Ok(())
}

/// Fails unless `f.path` still names the file that was just read (device, inode, size, time).
/// Reading through a descriptor proves what was read, not what the path names now: a file
/// replaced by a rename while it was hashed (an editor's save, a download finishing) left a
/// signature of the unlinked inode, which the model on disk never matched.
fn check_still_named(f: &FileEntry) -> Result<()> {
    let now = if f.follow {
        std::fs::metadata(&f.path)
    } else {
        std::fs::symlink_metadata(&f.path)
    };
    let meta = now.map_err(|_| swapped_after(&f.path))?;
    if !meta.is_file()
        || f.identity.is_some_and(|id| {
            crate::walk::FileIdentity::of(&meta).is_none_or(|now| !now.same_file(&id))
        })
    {
        return Err(swapped_after(&f.path));
    }
    check_unchanged(f, &meta)
}

fn swapped_after(path: &Path) -> Error {
    Error::Model(format!(
        "'{}' changed while it was being hashed (the path names another file than the one read: \
         replaced or removed); sign or verify a model that is not being modified",
        path.display()
    ))
}

/// Opens a file the walk listed, and proves that the descriptor is that file before a byte is read.
/// Every open of a model file goes through here.
///
/// On Unix the open neither blocks nor follows a symlink the walk did not follow. `O_NONBLOCK` makes
/// opening a FIFO return at once instead of waiting for a writer (a FIFO swapped in after the walk
/// would hang the run); `O_NOFOLLOW` refuses a symlink swapped in for the file (when the walk
/// followed a link, the open follows it too); `O_NOCTTY` keeps a terminal swapped in from becoming
/// ours. Then `fstat` on the descriptor must show a regular file with the device and inode the walk
/// recorded (for a followed link, those of the target the walk saw: a link re-pointed since, or a
/// directory on the way replaced by a link, leads to another inode), and its size and modification
/// time. `O_NONBLOCK` stays set: it has no effect on reads of regular files (they never return
/// `EAGAIN`), which is all this descriptor is used for once `fstat` proved what it is; clearing it
/// would need `fcntl`, i.e. unsafe code. Elsewhere the open is plain and the comparison covers type,
/// size and time.
pub(crate) fn open_listed(f: &FileEntry) -> Result<File> {
    let file = open_options(f).open(&f.path).map_err(|e| {
        let now_link = std::fs::symlink_metadata(&f.path).is_ok_and(|m| m.file_type().is_symlink());
        if now_link && !f.follow {
            swapped(&f.path, "it became a symlink, which is not followed")
        } else {
            Error::io(&f.path, e)
        }
    })?;
    let meta = file.metadata().map_err(|e| Error::io(&f.path, e))?;
    if !meta.is_file() {
        return Err(swapped(&f.path, "it is no longer a regular file"));
    }
    if let Some(id) = f.identity {
        if crate::walk::FileIdentity::of(&meta).is_none_or(|now| !now.same_file(&id)) {
            return Err(swapped(&f.path, "it was replaced by another file"));
        }
    }
    check_unchanged(f, &meta)?;
    Ok(file)
}

#[cfg(unix)]
fn open_options(f: &FileEntry) -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    if !f.follow {
        flags |= libc::O_NOFOLLOW;
    }
    let mut o = std::fs::OpenOptions::new();
    o.read(true).custom_flags(flags);
    o
}

#[cfg(not(unix))]
fn open_options(_f: &FileEntry) -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    o
}

/// Hashes bytes `[start, end)` of a file over memory maps, one window at a time so that resident
/// memory stays bounded, checking that the file did not change since the walk. Mapping hands the
/// page cache to the hasher with no copy: SHA-256 reaches 97% of `openssl speed` this way, against
/// 63% with 1 MiB reads and 88% with L2-sized reads.
fn hash_mapped(
    f: &FileEntry,
    start: u64,
    end: u64,
    alg: HashAlgorithm,
    parallel: bool,
    progress: Option<&dyn Progress>,
) -> Result<Vec<u8>> {
    // Checked before mapping too (by `open_listed`): a file that shrank since the walk is an
    // ordinary error, while shrinking during hashing is the SIGBUS case the guard handles.
    let file = open_listed(f)?;
    if has_holes(&file, start, end) {
        // A read of a hole returns zeros without allocating; a mapped page of a hole is allocated
        // on first touch by tmpfs (and written back as data by some file systems), so a read-only
        // verify of a sparse model could fill the file system.
        return hash_file(f, file, start, end, alg, parallel, progress);
    }
    let mut h = alg.hasher();
    let mut pos = start;
    while pos < end {
        if progress.is_some_and(|p| p.cancelled()) {
            return Err(Error::Cancelled);
        }
        let len = usize::try_from((end - pos).min(MAP_WINDOW as u64)).unwrap_or(MAP_WINDOW);
        let map = model_signing_mmap::Map::new(&file, pos, len).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                truncated(&f.path)
            } else {
                Error::io(&f.path, e)
            }
        })?;
        h.feed(map.bytes(), parallel);
        pos += len as u64;
        if let Some(p) = progress {
            p.advance(len as u64);
        }
    }
    check_unchanged(f, &file.metadata().map_err(|e| Error::io(&f.path, e))?)?;
    Ok(h.finish())
}

/// Whether bytes `[start, end)` of the file hold a hole. Asked of the file system
/// (`SEEK_HOLE`: the first hole at or after `start`, the end of the file when there is none), not
/// guessed from the allocated block count, which space reserved past the end (`fallocate
/// --keep-size`) makes as large as a file that is all hole. A file system that cannot tell
/// answers "no holes", as the kernel's generic `SEEK_HOLE` does.
#[cfg(target_os = "linux")]
fn has_holes(file: &File, start: u64, end: u64) -> bool {
    rustix::fs::seek(file, rustix::fs::SeekFrom::Hole(start)).is_ok_and(|hole| hole < end)
}

/// Elsewhere: a file with fewer 512-byte blocks allocated than its size needs has holes.
#[cfg(all(unix, not(target_os = "linux")))]
fn has_holes(file: &File, _start: u64, _end: u64) -> bool {
    use std::os::unix::fs::MetadataExt;
    file.metadata()
        .is_ok_and(|m| m.blocks().saturating_mul(512) < m.len())
}

#[cfg(not(unix))]
fn has_holes(_file: &File, _start: u64, _end: u64) -> bool {
    false
}

/// Hashes bytes `[start, end)` of a file, checking that the file did not change since the walk.
fn hash_range(
    f: &FileEntry,
    start: u64,
    end: u64,
    alg: HashAlgorithm,
    parallel: bool,
    progress: Option<&dyn Progress>,
) -> Result<Vec<u8>> {
    hash_file(f, open_listed(f)?, start, end, alg, parallel, progress)
}

/// [`hash_range`] over a descriptor [`open_listed`] returned.
fn hash_file(
    f: &FileEntry,
    file: File,
    start: u64,
    end: u64,
    alg: HashAlgorithm,
    parallel: bool,
    progress: Option<&dyn Progress>,
) -> Result<Vec<u8>> {
    let mut h = alg.hasher();
    let read_size = if parallel {
        BLAKE3_PAR_READ
    } else {
        read_size()
    };
    BUF.with(|cell| -> Result<()> {
        let mut buf = cell.borrow_mut();
        if buf.len() < read_size {
            buf.resize(read_size, 0);
        }
        let mut pos = start;
        while pos < end {
            if progress.is_some_and(|p| p.cancelled()) {
                return Err(Error::Cancelled);
            }
            let want = usize::try_from((end - pos).min(read_size as u64)).unwrap_or(read_size);
            let chunk = buf.get_mut(..want).ok_or_else(|| changed(&f.path))?;
            let n = read_at(&file, chunk, pos).map_err(|e| Error::io(&f.path, e))?;
            if n == 0 {
                return Err(truncated(&f.path));
            }
            let data = chunk.get(..n).ok_or_else(|| changed(&f.path))?;
            h.feed(data, parallel);
            pos += n as u64;
            if let Some(p) = progress {
                p.advance(n as u64);
            }
        }
        Ok(())
    })?;
    // Checked after reading: a change during the read shows up in size or mtime, a replacement
    // in what the path names.
    check_unchanged(f, &file.metadata().map_err(|e| Error::io(&f.path, e))?)?;
    Ok(h.finish())
}

#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match file.read_at(buf, pos) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

#[cfg(not(unix))]
pub(crate) fn read_at(file: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(pos))?;
    f.read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &Path, name: &str, data: &[u8]) -> FileEntry {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        FileEntry {
            name: name.into(),
            path: p,
            size: data.len() as u64,
            modified: None,
            identity: None,
            follow: false,
        }
    }

    #[test]
    fn known_digests() {
        assert_eq!(
            hex::encode(HashAlgorithm::Sha256.digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(HashAlgorithm::Blake2b.digest(b"abc").len(), 64);
        assert_eq!(
            hex::encode(HashAlgorithm::Blake3.digest(b"")),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn shards_cover_file_and_skip_empty() {
        let d = tempfile::tempdir().unwrap();
        let files = vec![
            entry(d.path(), "a", b"0123456789"),
            entry(d.path(), "e", b""),
        ];
        let v = hash_files(
            &files,
            HashAlgorithm::Sha256,
            Serialization::Shards { shard_size: 4 },
        )
        .unwrap();
        let ranges: Vec<_> = v.iter().map(|i| (i.path.as_str(), i.range)).collect();
        assert_eq!(
            ranges,
            vec![
                ("a", Some((0, 4))),
                ("a", Some((4, 8))),
                ("a", Some((8, 10)))
            ]
        );
        assert_eq!(v[1].digest, HashAlgorithm::Sha256.digest(b"4567"));
        let v = hash_files(&files, HashAlgorithm::Sha256, Serialization::Files).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].digest, HashAlgorithm::Sha256.digest(b"0123456789"));
    }

    #[test]
    fn multi_chunk_file_matches_in_memory_digest() {
        let d = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..(read_size() * 2 + 123))
            .map(|i| (i % 251) as u8)
            .collect();
        let files = vec![entry(d.path(), "big", &data)];
        for alg in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Blake2b,
            HashAlgorithm::Blake3,
        ] {
            let v = hash_files(&files, alg, Serialization::Files).unwrap();
            assert_eq!(v[0].digest, alg.digest(&data));
        }
    }

    /// Mapped and read paths give the in-memory digest for every algorithm and serialization, for
    /// sizes around the mapping threshold and the window.
    #[test]
    fn mapped_and_read_paths_agree() {
        let d = tempfile::tempdir().unwrap();
        let sizes = [
            MAP_MIN as usize - 1,
            MAP_MIN as usize,
            MAP_WINDOW + 1,
            2 * MAP_WINDOW + 4097,
        ];
        let files: Vec<FileEntry> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let data: Vec<u8> = (0..n).map(|j| (j % 251) as u8 ^ i as u8).collect();
                entry(d.path(), &format!("g{i}"), &data)
            })
            .collect();
        for alg in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Blake2b,
            HashAlgorithm::Blake3,
        ] {
            for ser in [
                Serialization::Files,
                Serialization::Shards {
                    shard_size: MAP_WINDOW as u64 + 3,
                },
            ] {
                let mut got = Vec::new();
                for mmap in [false, true] {
                    let engine = Engine {
                        mmap,
                        ..Engine::default()
                    };
                    got.push(hash_files_with(&files, alg, ser, &engine).unwrap());
                }
                assert_eq!(got[0], got[1], "{alg} {ser:?}");
                for item in &got[0] {
                    let f = files.iter().find(|f| f.name == item.path).unwrap();
                    let data = std::fs::read(&f.path).unwrap();
                    let (a, b) = item.range.unwrap_or((0, data.len() as u64));
                    assert_eq!(
                        item.digest,
                        alg.digest(&data[a as usize..b as usize]),
                        "{alg}"
                    );
                }
            }
        }
    }

    /// BLAKE3's three paths (sequential reads, parallel reads, windowed maps) give one digest, for
    /// sizes around the parallel threshold and the map window.
    #[test]
    fn blake3_paths_agree() {
        let d = tempfile::tempdir().unwrap();
        let sizes = [
            BLAKE3_PAR_MIN as usize - 1,
            BLAKE3_PAR_MIN as usize,
            MAP_WINDOW,
            MAP_WINDOW * 2 + 4097,
        ];
        let files: Vec<FileEntry> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let data: Vec<u8> = (0..n).map(|j| (j % 253) as u8 ^ i as u8).collect();
                entry(d.path(), &format!("f{i}"), &data)
            })
            .collect();
        for mmap in [false, true] {
            let engine = Engine {
                mmap,
                ..Engine::default()
            };
            let v = hash_files_with(&files, HashAlgorithm::Blake3, Serialization::Files, &engine)
                .unwrap();
            for (item, f) in v.iter().zip(&files) {
                let data = std::fs::read(&f.path).unwrap();
                assert_eq!(item.digest, HashAlgorithm::Blake3.digest(&data), "{mmap}");
            }
        }
        // A file that shrank since the walk is an ordinary error on the mapped path too.
        let mut shrunk = files[3].clone();
        shrunk.size += 1;
        let engine = Engine {
            mmap: true,
            ..Engine::default()
        };
        let e = hash_files_with(
            &[shrunk],
            HashAlgorithm::Blake3,
            Serialization::Files,
            &engine,
        )
        .unwrap_err();
        assert!(e.to_string().contains("changed while"), "{e}");
    }

    /// Work is counted before it is planned: 2^40 one-byte shards are refused without allocating.
    #[test]
    fn too_many_shards_are_refused_before_planning() {
        let d = tempfile::tempdir().unwrap();
        let mut f = entry(d.path(), "a", b"abc");
        f.size = 1 << 40;
        let e = hash_files(
            &[f],
            HashAlgorithm::Sha256,
            Serialization::Shards { shard_size: 1 },
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("1099511627776 shards of 1 bytes"),
            "{e}"
        );
    }

    #[test]
    fn size_change_is_detected() {
        let d = tempfile::tempdir().unwrap();
        let mut f = entry(d.path(), "a", b"abc");
        f.size = 10;
        let e = hash_files(&[f], HashAlgorithm::Sha256, Serialization::Files).unwrap_err();
        assert!(e.to_string().contains("changed while"), "{e}");
    }

    /// Runs `f` on its own thread and fails the test if it does not finish within 20 s: opening a
    /// FIFO for reading blocks until a writer comes, which would hang the test itself.
    #[cfg(unix)]
    fn within_timeout<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(std::time::Duration::from_secs(20))
            .expect("hashing hung: a FIFO swapped in after the walk was opened")
    }

    #[cfg(unix)]
    fn walked(dir: &Path, allow_symlinks: bool) -> Vec<FileEntry> {
        crate::walk::walk(
            dir,
            &crate::walk::WalkOptions {
                allow_symlinks,
                ..Default::default()
            },
        )
        .unwrap()
    }

    /// Hashes `files` in each serialization (and BLAKE3 over maps), expecting every run to fail
    /// with a message naming `name`; returns the first message.
    #[cfg(unix)]
    fn hash_error(files: Vec<FileEntry>, name: &str) -> String {
        let runs = [
            (HashAlgorithm::Sha256, Serialization::Files, false),
            (
                HashAlgorithm::Sha256,
                Serialization::Shards {
                    shard_size: 1 << 20,
                },
                false,
            ),
            (HashAlgorithm::Blake3, Serialization::Files, true),
        ];
        let mut first = None;
        for (alg, ser, mmap) in runs {
            let files = files.clone();
            let e = within_timeout(move || {
                let engine = Engine {
                    mmap,
                    ..Engine::default()
                };
                hash_files_with(&files, alg, ser, &engine)
            });
            let e = match e {
                Ok(_) => panic!("{alg} {ser:?}: hashing succeeded on a swapped file"),
                Err(e) => e.to_string(),
            };
            assert!(e.contains(name), "{e}");
            assert!(e.contains("changed while it was being hashed"), "{e}");
            assert!(e.contains("between listing and reading"), "{e}");
            first.get_or_insert(e);
        }
        first.unwrap_or_default()
    }

    #[cfg(unix)]
    fn mkfifo(p: &Path) {
        let st = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Content of `len` bytes, large enough for BLAKE3's mapped path.
    #[cfg(unix)]
    fn big(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i % 241) as u8 ^ seed).collect()
    }

    /// Replaces `path` with a new file (new inode) of the same size and modification time.
    #[cfg(unix)]
    fn replace_same_size(path: &Path, data: &[u8]) {
        let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, data).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&tmp)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn fifo_swapped_in_after_the_walk_is_an_error_not_a_hang() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), big(BLAKE3_PAR_MIN as usize, 1)).unwrap();
        std::fs::write(d.path().join("b"), b"bb").unwrap();
        let files = walked(d.path(), false);
        std::fs::remove_file(d.path().join("a")).unwrap();
        mkfifo(&d.path().join("a"));
        let e = hash_error(files, "a'");
        assert!(e.contains("no longer a regular file"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn symlink_swapped_in_after_the_walk_is_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let model = d.path().join("m");
        std::fs::create_dir(&model).unwrap();
        let data = big(BLAKE3_PAR_MIN as usize, 2);
        std::fs::write(model.join("a"), &data).unwrap();
        let files = walked(&model, false);
        // Outside the model, the same size and modification time: only the identity differs.
        let outside = d.path().join("outside");
        std::fs::write(&outside, big(data.len(), 3)).unwrap();
        let mtime = std::fs::metadata(model.join("a"))
            .unwrap()
            .modified()
            .unwrap();
        std::fs::File::options()
            .write(true)
            .open(&outside)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        std::fs::remove_file(model.join("a")).unwrap();
        std::os::unix::fs::symlink(&outside, model.join("a")).unwrap();
        let e = hash_error(files, "a'");
        assert!(e.contains("symlink"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn same_size_replacement_with_a_new_inode_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let data = big(BLAKE3_PAR_MIN as usize, 4);
        std::fs::write(d.path().join("a"), &data).unwrap();
        let files = walked(d.path(), false);
        replace_same_size(&d.path().join("a"), &big(data.len(), 5));
        let e = hash_error(files, "a'");
        assert!(e.contains("another file"), "{e}");
    }

    /// With symlinks allowed the walk follows a link and records its target; the hasher follows the
    /// link too but refuses a target other than the one the walk saw.
    #[cfg(unix)]
    #[test]
    fn followed_symlink_must_still_lead_to_the_walked_target() {
        let d = tempfile::tempdir().unwrap();
        let model = d.path().join("m");
        std::fs::create_dir(&model).unwrap();
        let data = big(BLAKE3_PAR_MIN as usize, 6);
        let target = d.path().join("t");
        std::fs::write(&target, &data).unwrap();
        std::os::unix::fs::symlink(&target, model.join("link")).unwrap();
        let files = walked(&model, true);
        // Unchanged: hashed through the link.
        let v = hash_files(&files, HashAlgorithm::Sha256, Serialization::Files).unwrap();
        assert_eq!(v[0].digest, HashAlgorithm::Sha256.digest(&data));
        // The target replaced by another file of the same size and time.
        replace_same_size(&target, &big(data.len(), 7));
        hash_error(files.clone(), "link'");
        // The target replaced by a FIFO.
        std::fs::remove_file(&target).unwrap();
        mkfifo(&target);
        let e = hash_error(files, "link'");
        assert!(e.contains("no longer a regular file"), "{e}");
    }

    /// A thread count above the cap is refused, with the cap in the message, before any thread
    /// starts or any progress is reported; 0 and no count both mean one thread per core.
    #[test]
    fn max_workers_are_capped() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let default = cores.min(MAX_WORKERS);
        for n in [None, Some(0)] {
            let engine = Engine {
                max_workers: n,
                ..Engine::default()
            };
            assert_eq!(engine.workers().unwrap(), default, "{n:?}");
        }
        let engine = Engine {
            max_workers: Some(MAX_WORKERS),
            ..Engine::default()
        };
        assert_eq!(engine.workers().unwrap(), MAX_WORKERS);

        let d = tempfile::tempdir().unwrap();
        let files = vec![entry(d.path(), "a", b"abc")];
        let counter = Arc::new(Counting::default());
        let engine = Engine {
            max_workers: Some(1_000_000),
            progress: Some(counter.clone() as Arc<dyn Progress>),
            ..Engine::default()
        };
        let start = std::time::Instant::now();
        let e = engine.workers().unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "1000000 hashing threads were requested; at most 256 are allowed"
        );
        let e = hash_files_with(&files, HashAlgorithm::Sha256, Serialization::Files, &engine)
            .unwrap_err();
        assert!(e.to_string().contains("at most 256"), "{e}");
        let e = engine
            .walk(d.path(), &crate::walk::WalkOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("at most 256"), "{e}");
        assert_eq!(counter.begins.load(Ordering::SeqCst), 0);
        // Starting a million threads, or even a thousand, takes seconds: this took none.
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    /// Counts what the engine reports, and asks it to stop once `cancel_after` bytes were hashed.
    #[derive(Default)]
    struct Counting {
        begins: AtomicU64,
        bytes: AtomicU64,
        cancel_after: Option<u64>,
        cancel: AtomicBool,
    }

    impl Progress for Counting {
        fn begin(&self, _files: u64, _bytes: u64) {
            self.begins.fetch_add(1, Ordering::SeqCst);
        }
        fn advance(&self, bytes: u64) {
            let done = self.bytes.fetch_add(bytes, Ordering::SeqCst) + bytes;
            if self.cancel_after.is_some_and(|n| done >= n) {
                self.cancel.store(true, Ordering::SeqCst);
            }
        }
        fn cancelled(&self) -> bool {
            self.cancel.load(Ordering::SeqCst)
        }
    }

    /// Renames a new file over `path` on the first progress report, i.e. while it is hashed.
    #[cfg(unix)]
    struct ReplaceWhileHashing {
        path: std::path::PathBuf,
        done: AtomicBool,
    }

    #[cfg(unix)]
    impl Progress for ReplaceWhileHashing {
        fn advance(&self, _bytes: u64) {
            if !self.done.swap(true, Ordering::SeqCst) {
                replace_same_size(&self.path, &big(3 * MAP_WINDOW, 0x5a));
            }
        }
    }

    /// A file replaced by a rename while it is read (an editor's save, a finished download) is
    /// an error on every path: the descriptor read the old inode, which the path no longer names.
    #[cfg(unix)]
    #[test]
    fn a_file_renamed_over_while_hashed_is_an_error() {
        let runs = [
            (HashAlgorithm::Sha256, Serialization::Files, false),
            (HashAlgorithm::Sha256, Serialization::Files, true),
            (HashAlgorithm::Blake3, Serialization::Files, true),
            (HashAlgorithm::Blake2b, Serialization::Files, false),
            (
                HashAlgorithm::Blake3,
                Serialization::Shards {
                    shard_size: MAP_WINDOW as u64,
                },
                true,
            ),
        ];
        for (alg, ser, mmap) in runs {
            let d = tempfile::tempdir().unwrap();
            let path = d.path().join("w.bin");
            std::fs::write(&path, big(3 * MAP_WINDOW, 1)).unwrap();
            let files = walked(d.path(), false);
            let engine = Engine {
                mmap,
                max_workers: Some(1),
                progress: Some(std::sync::Arc::new(ReplaceWhileHashing {
                    path: path.clone(),
                    done: AtomicBool::new(false),
                })),
            };
            let e = hash_files_with(&files, alg, ser, &engine).unwrap_err();
            // Found by the status time of the unlinked file, or by what the path names now.
            assert!(
                e.to_string().contains("changed while it was being hashed"),
                "{alg} {ser:?} mmap={mmap}: {e}"
            );
        }
    }

    /// A cancellation stops every path (reads, maps, shards, many small files) after the chunk
    /// under way, and the run fails with `Error::Cancelled`.
    #[test]
    fn cancelled_progress_stops_hashing_between_chunks() {
        let d = tempfile::tempdir().unwrap();
        let len = 8 * MAP_WINDOW;
        let big = std::fs::File::create(d.path().join("big")).unwrap();
        big.set_len(len as u64).unwrap();
        let mut files = walked_all(d.path());
        let runs = [
            (HashAlgorithm::Sha256, Serialization::Files, false),
            (HashAlgorithm::Sha256, Serialization::Files, true),
            (HashAlgorithm::Blake3, Serialization::Files, false),
            (HashAlgorithm::Blake3, Serialization::Files, true),
            (
                HashAlgorithm::Blake2b,
                Serialization::Shards {
                    shard_size: MAP_WINDOW as u64,
                },
                false,
            ),
        ];
        for (alg, ser, mmap) in runs {
            let p = Arc::new(Counting {
                cancel_after: Some(1),
                ..Counting::default()
            });
            let engine = Engine {
                max_workers: Some(2),
                progress: Some(p.clone() as Arc<dyn Progress>),
                mmap,
            };
            let e = hash_files_with(&files, alg, ser, &engine).unwrap_err();
            assert!(matches!(e, Error::Cancelled), "{alg} {ser:?} {mmap}: {e:?}");
            assert_eq!(e.to_string(), "hashing was cancelled");
            // At most one chunk per worker after the first one.
            let hashed = p.bytes.load(Ordering::SeqCst);
            assert!(
                hashed <= 3 * MAP_WINDOW as u64,
                "{alg} {ser:?} {mmap}: {hashed}"
            );
        }
        // Many small files: the items left are skipped, not opened.
        for i in 0..200 {
            entry(d.path(), &format!("s{i}"), b"small");
        }
        files = walked_all(d.path());
        let p = Arc::new(Counting {
            cancel: AtomicBool::new(true),
            ..Counting::default()
        });
        let engine = Engine {
            progress: Some(p.clone() as Arc<dyn Progress>),
            ..Engine::default()
        };
        let e = hash_files_with(&files, HashAlgorithm::Sha256, Serialization::Files, &engine)
            .unwrap_err();
        assert!(matches!(e, Error::Cancelled), "{e:?}");
        assert_eq!(p.bytes.load(Ordering::SeqCst), 0);
        let e = engine
            .walk(d.path(), &crate::walk::WalkOptions::default())
            .unwrap_err();
        assert!(matches!(e, Error::Cancelled), "{e:?}");
    }

    fn walked_all(dir: &Path) -> Vec<FileEntry> {
        crate::walk::walk(dir, &crate::walk::WalkOptions::default()).unwrap()
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(
            "blake2".parse::<HashAlgorithm>().unwrap(),
            HashAlgorithm::Blake2b
        );
        assert!("md5".parse::<HashAlgorithm>().is_err());
        assert_eq!(
            Serialization::Shards { shard_size: 1000 }.resource_algorithm(HashAlgorithm::Sha256),
            "sha256-sharded-1000"
        );
    }
}
