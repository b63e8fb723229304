//! Verified load: the bytes handed to the caller are the bytes that were hashed.
//!
//! Verifying a model and then loading it with another library leaves a gap: between our hash and
//! their read, a file can be replaced or rewritten, and what is loaded is not what was checked.
//! [`VerifiedModel`] closes it. [`VerifiedModel::open`] checks the signature and the signer, then
//! lists the model and compares the listing with the signed manifest (missing, extra and resized
//! files fail at once, before anything is read). [`VerifiedModel::read_into`] then reads one file
//! into the caller's memory with `read(2)` (never a memory map: a private mapping still shows
//! later writes to pages it has not copied), hashing each chunk right after it lands in that
//! memory, and compares with the signed digest before the caller may use the buffer. What the
//! caller gets is therefore a private copy of bytes that matched the signature; the file on disk
//! may change afterwards without affecting it.
//!
//! A file outside the signed set is never read. A file that does not match fails with
//! [`Error::Mismatch`] naming it.

use crate::bundle;
use crate::error::{Error, Result};
use crate::hashing::{self, HashAlgorithm, Serialization};
use crate::report::{Changed, MismatchReport};
use crate::verify::{self, BundleVerifier, VerifyOptions, VerifyReport};
use crate::walk::FileEntry;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
#[cfg(unix)]
use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::Mutex;

/// Memory a verified read lands in: bytes `[from, to)` are read from `file` at `pos`, and the
/// part the read filled is returned (empty at the end of the file; `None` for a range outside
/// the buffer).
trait Dest {
    fn len(&self) -> usize;
    fn fill(
        &mut self,
        file: &File,
        from: usize,
        to: usize,
        pos: u64,
    ) -> std::io::Result<Option<&[u8]>>;
}

impl Dest for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }
    fn fill(
        &mut self,
        file: &File,
        from: usize,
        to: usize,
        pos: u64,
    ) -> std::io::Result<Option<&[u8]>> {
        let Some(dst) = self.get_mut(from..to) else {
            return Ok(None);
        };
        let n = hashing::read_at(file, dst, pos)?;
        Ok(self.get(from..from + n))
    }
}

/// Not yet initialised memory: `pread` through rustix's safe interface, which hands back the
/// initialised part.
#[cfg(unix)]
impl Dest for [MaybeUninit<u8>] {
    fn len(&self) -> usize {
        <[MaybeUninit<u8>]>::len(self)
    }
    fn fill(
        &mut self,
        file: &File,
        from: usize,
        to: usize,
        pos: u64,
    ) -> std::io::Result<Option<&[u8]>> {
        let Some(dst) = self.get_mut(from..to) else {
            return Ok(None);
        };
        // EINTR comes back as `ErrorKind::Interrupted`, which the caller retries.
        let (init, _) = rustix::io::pread(file, dst, pos)?;
        Ok(Some(&*init))
    }
}

/// One signed part of a file: the whole file, or one shard.
#[derive(Debug, Clone)]
struct Part {
    /// Bytes `[start, end)`; for a whole file `(0, size)`.
    start: u64,
    end: u64,
    /// The resource name in the manifest (for reports).
    resource: String,
    /// The signed digest.
    digest: Vec<u8>,
}

/// A signed file as the listing found it.
#[derive(Debug)]
struct SignedFile {
    entry: FileEntry,
    parts: Vec<Part>,
}

/// A model whose signature and signer were verified and whose listing matches the signed
/// manifest; its files are read (and hashed in that same read) one at a time with
/// [`Self::read_into`] or [`Self::read`].
#[derive(Debug)]
pub struct VerifiedModel {
    report: VerifyReport,
    hash_type: HashAlgorithm,
    files: BTreeMap<String, SignedFile>,
    verified: Mutex<HashSet<String>>,
    engine: hashing::Engine,
}

impl VerifiedModel {
    /// Verifies the bundle at `signature` with `verifier`, then lists `model` and compares the
    /// listing with the signed manifest (nothing is hashed yet). The signature file is left out
    /// of the model when it lies inside it, as [`verify::verify_model`] does.
    pub fn open(
        model: &Path,
        signature: &Path,
        verifier: &dyn BundleVerifier,
        opts: &VerifyOptions,
    ) -> Result<Self> {
        Self::open_bundle(model, bundle::read(signature)?, signature, verifier, opts)
    }

    /// [`Self::open`] with the bundle already read (from `signature`, which is still needed to
    /// leave it out of the model when it lies inside).
    pub fn open_bundle(
        model: &Path,
        bundle: bundle::Bundle,
        signature: &Path,
        verifier: &dyn BundleVerifier,
        opts: &VerifyOptions,
    ) -> Result<Self> {
        let (signer, st) = verify::verify_signed(&bundle, verifier)?;
        drop(bundle);
        if st.oci.is_some() {
            return Err(Error::Unsupported(
                "a verified load of an OCI image signature (verify the image, or sign the \
                 directory it was pulled to)"
                    .into(),
            ));
        }
        let inside = crate::sign::signature_ignore_path(model, signature)?;
        let mut opts = opts.clone();
        if let Some(rel) = &inside {
            opts.ignore.add(rel)?;
            if let Some(rel) = crate::attest::claims_ignore_for_verify(model, signature, &st)? {
                opts.ignore.add(&rel)?;
            }
        }
        let info = &st.serialization;
        let listed = verify::list_model(model, &st, &opts)?;
        let plan = verify::plan(listed.files, &listed.parsed, info.serialization);

        // Group the signed parts by file.
        let mut parts: BTreeMap<&str, Vec<Part>> = BTreeMap::new();
        for (r, p) in st.manifest.resources.iter().zip(&listed.parsed) {
            let (start, end) = p.range.unwrap_or((0, u64::MAX));
            parts.entry(p.path.as_str()).or_default().push(Part {
                start,
                end,
                resource: r.name.clone(),
                digest: r.digest.clone(),
            });
        }
        let mut files = BTreeMap::new();
        for f in plan.to_hash {
            let Some(mut p) = parts.remove(f.name.as_str()) else {
                continue;
            };
            p.sort_by_key(|x| x.start);
            if matches!(info.serialization, Serialization::Files) {
                if let Some(only) = p.first_mut() {
                    only.end = f.size;
                }
            }
            files.insert(f.name.clone(), SignedFile { entry: f, parts: p });
        }
        // What is left was signed and is not there (shards of a resized file are reported as
        // the file, by `plan`).
        let resized: HashSet<&str> = plan.resized.iter().map(|r| r.name.as_str()).collect();
        let mut report = MismatchReport {
            missing: parts
                .iter()
                .filter(|(name, _)| !resized.contains(*name))
                .flat_map(|(_, p)| p.iter().map(|x| x.resource.clone()))
                .collect(),
            extra: plan.extra,
            resized: plan.resized,
            ..MismatchReport::default()
        };
        if !report.is_empty() {
            report.missing.sort();
            report.extra.sort();
            return Err(Error::Mismatch(Box::new(report)));
        }
        let ser = info.serialization;
        let report = VerifyReport {
            signer,
            model_name: st.model_name.clone(),
            root_digest: st.root_digest,
            serialization: ser,
            hash_type: info.hash_type,
            shard_size: match ser {
                Serialization::Files => None,
                Serialization::Shards { shard_size } => Some(shard_size),
            },
            signed_ignore_paths: info.ignore_paths.clone(),
            files_checked: 0,
            resources: st.manifest.resources.len(),
            #[cfg(feature = "sigstore")]
            trust_root: None,
            signature_ignored_as: inside,
            signature_source: None,
            attestations: None,
        };
        Ok(VerifiedModel {
            report,
            hash_type: info.hash_type,
            files,
            verified: Mutex::new(HashSet::new()),
            engine: opts.engine.clone(),
        })
    }

    /// Records the model's verified attestations in its report (see
    /// [`crate::attest::claims::verify_for_model`]).
    pub fn set_attestations(&mut self, a: Option<crate::attest::AttestationReport>) {
        self.report.attestations = a;
    }

    /// What verification established: the signer, the statement's parameters. `files_checked`
    /// counts the files read and matched so far.
    pub fn report(&self) -> VerifyReport {
        let mut r = self.report.clone();
        r.files_checked = self.verified.lock().map_or(0, |v| v.len());
        r
    }

    /// The signed files' names (POSIX, relative to the model), sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The names read and matched so far.
    pub fn verified_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .verified
            .lock()
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    fn file(&self, name: &str) -> Result<&SignedFile> {
        self.files.get(name).ok_or_else(|| {
            Error::Model(format!(
                "'{}' is not one of the model's signed files; only those can be read from a \
                 verified model",
                crate::error::untrusted_text(name, 300)
            ))
        })
    }

    /// The size of the signed file `name` (as listed when the model was opened).
    pub fn size(&self, name: &str) -> Result<u64> {
        Ok(self.file(name)?.entry.size)
    }

    /// The size of the signed file `name` as a buffer length, once it is known to fit in the
    /// memory this machine has available (RAM and swap). One digest per file records no size, so
    /// a file swapped for a huge (say sparse) one before the model was opened would otherwise be
    /// allocated whole before its digest could fail (outside review, F3): the process met the
    /// out-of-memory killer instead of an error.
    pub fn buffer_len(&self, name: &str) -> Result<usize> {
        let size = self.size(name)?;
        let too_big = |avail: u64| {
            Error::Model(format!(
                "'{}' is {size} bytes, more than the memory available to hold it ({avail} \
                 bytes); a verified read holds the whole file in memory",
                crate::error::untrusted_text(name, 300)
            ))
        };
        if let Some(avail) = (size >= MEMORY_CHECK_FROM)
            .then(unreserved_memory)
            .flatten()
        {
            if size > avail {
                return Err(too_big(avail));
            }
        }
        usize::try_from(size).map_err(|_| too_big(usize::MAX as u64))
    }

    /// Reads the signed file `name` into a new buffer; see [`Self::read_into`].
    pub fn read(&self, name: &str) -> Result<Vec<u8>> {
        let len = self.buffer_len(name)?;
        let _held = reserve(len as u64)?;
        let mut buf = vec![0u8; len];
        self.read_into(name, &mut buf)?;
        Ok(buf)
    }

    /// Reads the signed file `name` into `buf` (exactly [`Self::size`] bytes), hashing every
    /// chunk as it lands there, and returns only when the buffer's content matches every signed
    /// digest of the file. On error the buffer's content is unspecified and must not be used.
    pub fn read_into(&self, name: &str, buf: &mut [u8]) -> Result<()> {
        self.read_to(name, buf, &|| false)
    }

    /// [`Self::read_into`] for memory that is not initialised yet (a new buffer whose pages the
    /// read itself faults in, instead of a zero-filling pass first: on a 2 GiB model that pass
    /// cost more than the hashing). On success every byte of `buf` is initialised with the
    /// verified content; on error its content is unspecified.
    ///
    /// `stop` is asked between chunks: when it answers `true` the read ends with
    /// [`Error::Cancelled`] (a caller that handles Ctrl-C while a multi-GiB file is read).
    #[cfg(unix)]
    pub fn read_into_uninit(
        &self,
        name: &str,
        buf: &mut [MaybeUninit<u8>],
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<()> {
        self.read_to(name, buf, stop)
    }

    /// Reads several signed files at once on the engine's threads, each into its buffer as
    /// [`Self::read_into_uninit`]; one result per file, in order.
    #[cfg(unix)]
    pub fn read_many_uninit(
        &self,
        jobs: Vec<(&str, &mut [MaybeUninit<u8>])>,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Vec<Result<()>> {
        use rayon::prelude::*;
        match self.engine.pool() {
            Ok(pool) => pool.install(|| {
                jobs.into_par_iter()
                    .map(|(name, buf)| self.read_into_uninit(name, buf, stop))
                    .collect()
            }),
            Err(e) => {
                let msg = crate::error::one_line(&e);
                jobs.iter()
                    .map(|_| Err(Error::Config(msg.clone())))
                    .collect()
            }
        }
    }

    fn read_to<B: Dest + ?Sized>(
        &self,
        name: &str,
        buf: &mut B,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<()> {
        let f = self.file(name)?;
        if buf.len() as u64 != f.entry.size {
            return Err(Error::Config(format!(
                "a buffer of {} bytes for '{}', which has {}",
                buf.len(),
                crate::error::untrusted_text(name, 300),
                f.entry.size
            )));
        }
        let file = hashing::open_listed(&f.entry)?;
        let parallel = self.hash_type == HashAlgorithm::Blake3 && self.engine_threads() > 1;
        let chunk = if parallel {
            hashing::BLAKE3_PAR_READ
        } else {
            hashing::read_size()
        };
        let mut changed = Vec::new();
        for part in &f.parts {
            let mut h = self.hash_type.hasher();
            let mut pos = part.start;
            while pos < part.end {
                if stop() {
                    return Err(Error::Cancelled);
                }
                let (Ok(from), Ok(to)) = (
                    usize::try_from(pos),
                    usize::try_from(part.end.min(pos.saturating_add(chunk as u64))),
                ) else {
                    return Err(hashing::truncated(&f.entry.path));
                };
                // Hashed from the caller's memory, right after the kernel wrote it there (still
                // in cache): these very bytes are what the caller gets.
                let landed = match buf.fill(&file, from, to, pos) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io(&f.entry.path, e)),
                    Ok(None) => return Err(hashing::truncated(&f.entry.path)),
                    Ok(Some(landed)) => landed,
                };
                if landed.is_empty() {
                    return Err(hashing::truncated(&f.entry.path));
                }
                h.feed(landed, parallel);
                pos += landed.len() as u64;
            }
            let got = h.finish();
            if got != part.digest {
                changed.push(Changed {
                    name: part.resource.clone(),
                    expected: hex::encode(&part.digest),
                    actual: hex::encode(&got),
                });
            }
        }
        if !changed.is_empty() {
            return Err(Error::Mismatch(Box::new(MismatchReport {
                changed,
                ..MismatchReport::default()
            })));
        }
        if let Ok(mut v) = self.verified.lock() {
            v.insert(name.to_string());
        }
        Ok(())
    }

    fn engine_threads(&self) -> usize {
        self.engine.workers().unwrap_or(1)
    }

    /// Hashes every signed file not read yet (on the engine's threads) and compares, so the
    /// report covers the whole model; returns the number of files checked in all. Nothing is
    /// returned to the caller but the verdict: a later read hashes again.
    pub fn verify_all(&self) -> Result<usize> {
        let done: HashSet<String> = self.verified.lock().map(|v| v.clone()).unwrap_or_default();
        let todo: Vec<&SignedFile> = self
            .files
            .iter()
            .filter(|(n, _)| !done.contains(*n))
            .map(|(_, f)| f)
            .collect();
        let entries: Vec<FileEntry> = todo.iter().map(|f| f.entry.clone()).collect();
        let items = hashing::hash_files_with(
            &entries,
            self.hash_type,
            self.report.serialization,
            &self.engine,
        )?;
        let actual = crate::manifest::Manifest::from_hashed(
            items,
            self.hash_type,
            self.report.serialization,
        );
        let expected = crate::manifest::Manifest {
            resources: todo
                .iter()
                .flat_map(|f| f.parts.iter())
                .map(|p| crate::manifest::Resource {
                    name: p.resource.clone(),
                    algorithm: String::new(),
                    digest: p.digest.clone(),
                })
                .collect(),
        };
        let report = verify::compare(&expected, &actual);
        if !report.is_empty() {
            return Err(Error::Mismatch(Box::new(report)));
        }
        let mut v = self
            .verified
            .lock()
            .map_err(|_| Error::Model("a reader of this model panicked".into()))?;
        for f in todo {
            v.insert(f.entry.name.clone());
        }
        Ok(v.len())
    }
}

/// Reads the signature at its default place inside the model (`MODEL/model.sig`), which the
/// user did not name: a symlink there is not followed out of the model (the review linked it to
/// the verifier's credentials, and the parser read them), except into `store` by its rule (a
/// Hugging Face snapshot's files are all links into the cache's blobs).
pub fn read_default_signature(
    path: &Path,
    store: Option<&crate::walk::LinkStore>,
) -> Result<bundle::Bundle> {
    bundle::read_file(path, crate::walk::open_in_model(path, store)?)
}

/// Memory this process could still obtain, in bytes: `MemAvailable` plus `SwapFree` from
/// `/proc/meminfo`, or less when the process's memory cgroup (v2 `memory.max`, v1
/// `memory.limit_in_bytes`) leaves less (a container's limit, which the host's figures do not
/// show); `None` where none of that can be read (Linux only; then no check is made).
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        kib.checked_mul(1024)
    };
    let host = field("MemAvailable:")?.saturating_add(field("SwapFree:").unwrap_or(0));
    Some(match cgroup_headroom() {
        Some(room) => host.min(room),
        None => host,
    })
}

/// What the process's memory cgroup still allows: its limit less its usage.
fn cgroup_headroom() -> Option<u64> {
    let groups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let read = |p: String| -> Option<u64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    for line in groups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let path = path.trim_end_matches('/');
        let (max, used) = if controllers.is_empty() {
            let base = format!("/sys/fs/cgroup{path}");
            (
                read(format!("{base}/memory.max")),
                read(format!("{base}/memory.current")),
            )
        } else if controllers.split(',').any(|c| c == "memory") {
            let base = format!("/sys/fs/cgroup/memory{path}");
            (
                read(format!("{base}/memory.limit_in_bytes")),
                read(format!("{base}/memory.usage_in_bytes")),
            )
        } else {
            continue;
        };
        // "max" (v2) does not parse: no limit.
        if let (Some(max), Some(used)) = (max, used) {
            return Some(max.saturating_sub(used));
        }
    }
    None
}

/// Reads smaller than this are not checked against the memory available: asking the kernel
/// (three files under `/proc` and `/sys`) cost more than reading a small file, and 20,000 of them
/// took 1.4 s more. They still count in what is reserved.
const MEMORY_CHECK_FROM: u64 = 16 << 20;

/// Bytes reserved by verified reads under way in this process (their buffers are being filled).
static RESERVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Memory available less what reads under way have reserved.
fn unreserved_memory() -> Option<u64> {
    available_memory().map(|a| a.saturating_sub(RESERVED.load(std::sync::atomic::Ordering::SeqCst)))
}

/// Memory set aside for a read under way, given back when dropped.
#[derive(Debug)]
pub struct Reservation(u64);

impl Drop for Reservation {
    fn drop(&mut self) {
        RESERVED.fetch_sub(self.0, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Reserves `bytes` for buffers about to be filled, or fails when they do not fit in the memory
/// available less what reads under way on other threads reserved. Each read alone was checked
/// against the memory available, and three threads reading at once a file of 40% of it each
/// met the out-of-memory killer (second outside review, F1).
pub fn reserve(bytes: u64) -> Result<Reservation> {
    use std::sync::atomic::Ordering::SeqCst;
    let avail = (bytes >= MEMORY_CHECK_FROM)
        .then(available_memory)
        .flatten();
    let mut cur = RESERVED.load(SeqCst);
    loop {
        if let Some(a) = avail {
            if cur.saturating_add(bytes) > a {
                return Err(Error::Model(format!(
                    "reading {bytes} bytes would need more than the memory available ({a} bytes, \
                     of which {cur} are reserved by reads under way); a verified read holds the \
                     whole file in memory"
                )));
            }
        }
        match RESERVED.compare_exchange(cur, cur.saturating_add(bytes), SeqCst, SeqCst) {
            Ok(_) => return Ok(Reservation(bytes)),
            Err(now) => cur = now,
        }
    }
}
