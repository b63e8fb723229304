//! Verifying a model: check the bundle's signature and signer, then re-hash the model with the
//! parameters the bundle records and compare.
//!
//! Order of work, as in the Python reference: parse the bundle, check the signature and the signer
//! ([`BundleVerifier`], one per method), decode the statement and check its root digest, then hash.
//! The model is hashed with the *recorded* serialization, hash type, shard size and symlink policy
//! (Python's CLI always uses sha256/files), and with the recorded `ignore_paths` united with the
//! user's. Every missing, extra and changed file is reported, not only the first.

pub mod certificate;
pub mod key;

use crate::bundle::{self, Bundle};
use crate::error::{Error, Result};
use crate::hashing::{self, HashAlgorithm, Serialization};
use crate::manifest::{self, Manifest};
pub use crate::report::Method;
use crate::statement::{self, Statement};
use crate::walk::{self, IgnoreSet, WalkOptions};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;

pub use certificate::{CertificateVerifier, ChainTime};
pub use key::KeyVerifier;

pub use crate::report::{Changed, MismatchReport, Resized};

/// Who signed, as established by a [`BundleVerifier`].
#[derive(Debug, Clone, Serialize)]
pub struct SignerInfo {
    /// [`Method::Key`], [`Method::Certificate`] or [`Method::Sigstore`] (a PKCS#11 signature
    /// verifies as a key or certificate one: the bundle cannot tell).
    pub method: Method,
    /// A human description: key hint, certificate subject, or identity and issuer.
    pub signer: String,
    /// Non-fatal findings (old bundle formats and the like).
    pub warnings: Vec<String>,
    /// Key and certificate methods: the bundle's RFC 3161 timestamps, each verified or not
    /// (see [`crate::timestamp`]). `None` for Sigstore bundles, whose timestamps the Sigstore
    /// verifier checks as part of the bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamps: Option<Vec<crate::timestamp::TimestampReport>>,
}

/// Checks a bundle's signature and signer for one verification method. `Send + Sync`, so one
/// verifier can check models on several threads.
pub trait BundleVerifier: Send + Sync {
    /// Verifies the DSSE signature over the bundle's payload and that the signer is the expected
    /// one. Must not look at the model.
    fn verify_signature(&self, bundle: &Bundle) -> Result<SignerInfo>;
}

/// User options for verification.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Model-relative paths the user wants ignored (on top of the recorded ones).
    pub ignore: IgnoreSet,
    /// Whether to ignore the top-level git paths (`.git`, `.gitattributes`, `.github`,
    /// `.gitignore`). `None` (the default) follows the bundle: the signer's recorded ignore list
    /// decides, and only a bundle that records none (before model-signing 1.1) gets the git paths
    /// ignored, as its signer did by default. `Some(true)` adds them on top of the recorded list;
    /// `Some(false)` does not add them (recorded ones still apply).
    pub ignore_git_paths: Option<bool>,
    /// Hash only the files named in the manifest, tolerating extra files.
    pub ignore_unsigned_files: bool,
    /// Follow symlinks even if the signer did not record that.
    pub allow_symlinks: bool,
    /// Threads and progress for hashing.
    pub engine: hashing::Engine,
    /// Symlinks into a content store that the walk follows whatever the signature records (a
    /// Hugging Face cache snapshot is all links into its blobs); see [`walk::LinkStore`].
    pub link_store: Option<walk::LinkStore>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            ignore: IgnoreSet::new(),
            ignore_git_paths: None,
            ignore_unsigned_files: false,
            allow_symlinks: false,
            engine: hashing::Engine::default(),
            link_store: None,
        }
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The signer.
    #[serde(flatten)]
    pub signer: SignerInfo,
    /// The informational model name from the statement.
    pub model_name: String,
    /// Root digest (hex in JSON), absent for v0.2 bundles.
    #[serde(serialize_with = "crate::report::hex_digest_opt")]
    pub root_digest: Option<[u8; 32]>,
    /// Files or shards (`files` or `shards` in JSON; the shard size is [`Self::shard_size`]).
    #[serde(serialize_with = "crate::report::serialization_method")]
    pub serialization: Serialization,
    /// Hash algorithm.
    pub hash_type: HashAlgorithm,
    /// Shard size, for shards.
    pub shard_size: Option<u64>,
    /// Ignore paths recorded by the signer.
    pub signed_ignore_paths: Vec<String>,
    /// Number of files hashed.
    pub files_checked: usize,
    /// Number of signed resources.
    pub resources: usize,
    /// For Sigstore verification: which trusted root was used (left out of the JSON otherwise).
    /// [`verify_model`] leaves it `None`; the caller that chose the root fills it in with
    /// [`crate::sigstore::trust::TrustRoot::info`].
    #[cfg(feature = "sigstore")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_root: Option<crate::sigstore::trust::TrustRootInfo>,
    /// The signature file's model-relative name, when it lies inside the model and was therefore
    /// left out of the comparison.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_ignored_as: Option<String>,
    /// For an OCI image verified with a signature found in its registry: where it was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_source: Option<String>,
    /// The model's attestations, when they were verified too ([`crate::attest::claims::verify`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestations: Option<crate::attest::AttestationReport>,
}

/// Parses the bundle at `signature`, verifies it with `verifier`, and checks `model` against it.
///
/// When `signature` lies inside the directory `model`, it is left out of the model (as
/// [`crate::sign::sign_model`] leaves it out when signing), so a model verifies with its bundle in
/// place.
pub fn verify_model(
    model: &Path,
    signature: &Path,
    verifier: &dyn BundleVerifier,
    opts: &VerifyOptions,
) -> Result<VerifyReport> {
    let bundle = bundle::read(signature)?;
    let (signer, st) = verify_signed(&bundle, verifier)?;
    // The bundle holds the payload twice (base64 and decoded); for a manifest of 100,000 files
    // that is tens of MiB that hashing does not need.
    drop(bundle);
    let inside = crate::sign::signature_ignore_path(model, signature)?;
    let mut report = match &inside {
        None => check_and_report(model, signer, &st, opts)?,
        Some(rel) => {
            let mut opts = opts.clone();
            opts.ignore.add(rel)?;
            // As signing leaves it out: the claims file beside the signature (see
            // `sign::sign_model`), also for signatures made before it was recorded, unless
            // the signer signed a file of that name.
            if let Some(rel) = crate::attest::claims_ignore_for_verify(model, signature, &st)? {
                opts.ignore.add(&rel)?;
            }
            check_and_report(model, signer, &st, &opts)?
        }
    };
    report.signature_ignored_as = inside;
    Ok(report)
}

/// Like [`verify_model`] with an already parsed bundle.
pub fn verify_bundle(
    model: &Path,
    bundle: &Bundle,
    verifier: &dyn BundleVerifier,
    opts: &VerifyOptions,
) -> Result<VerifyReport> {
    let (signer, st) = verify_signed(bundle, verifier)?;
    check_and_report(model, signer, &st, opts)
}

/// Checks the signature and signer, then decodes the statement it covers.
pub(crate) fn verify_signed(
    bundle: &Bundle,
    verifier: &dyn BundleVerifier,
) -> Result<(SignerInfo, Statement)> {
    if bundle.payload_type != crate::dsse::PAYLOAD_TYPE {
        return Err(Error::Bundle(format!(
            "expected DSSE payload type {}, but got '{}'",
            crate::dsse::PAYLOAD_TYPE,
            bundle.payload_type.escape_debug()
        )));
    }
    let signer = verifier.verify_signature(bundle)?;
    let st = statement::decode(&bundle.payload)?;
    Ok((signer, st))
}

fn check_and_report(
    model: &Path,
    signer: SignerInfo,
    st: &Statement,
    opts: &VerifyOptions,
) -> Result<VerifyReport> {
    // The signed record, not the files, says what was signed. A signature of an OCI image
    // describes layers and a config: a directory can be a pulled copy of it (one file per
    // titled layer), a single file cannot, and is most likely the manifest itself, given
    // without saying so.
    let mut signer = signer;
    if st.oci.is_some() {
        if !model.is_dir() {
            return Err(Error::Model(format!(
                "this signature was made for an OCI image (its resources describe image layers \
                 and a config), not for the file '{}'; verify it against the image \
                 (oci://REGISTRY/REPO...), its manifest file (oci-manifest:PATH) or a pulled copy \
                 (a directory)",
                model.display()
            )));
        }
        let w = "this signature was made for an OCI image; the directory is checked as a pulled \
                 copy of it: file contents only, not the media types, order or annotations of \
                 its layers";
        tracing::warn!("{w}");
        signer.warnings.push(w.into());
    }
    let files_checked = check_model(model, st, opts)?;
    let ser = st.serialization.serialization;
    Ok(VerifyReport {
        signer,
        model_name: st.model_name.clone(),
        root_digest: st.root_digest,
        serialization: ser,
        hash_type: st.serialization.hash_type,
        shard_size: match ser {
            Serialization::Files => None,
            Serialization::Shards { shard_size } => Some(shard_size),
        },
        signed_ignore_paths: st.serialization.ignore_paths.clone(),
        files_checked,
        resources: st.manifest.resources.len(),
        #[cfg(feature = "sigstore")]
        trust_root: None,
        signature_ignored_as: None,
        signature_source: None,
        attestations: None,
    })
}

/// Hashes `model` with the statement's recorded parameters and compares; returns the number of files
/// hashed, or [`Error::Mismatch`] with the full report.
pub fn check_model(model: &Path, st: &Statement, opts: &VerifyOptions) -> Result<usize> {
    let info = &st.serialization;
    let Listed { parsed, files } = list_model(model, st, opts)?;
    let walked = files.len();
    let plan = plan(files, &parsed, info.serialization);
    let items = hashing::hash_files_with(
        &plan.to_hash,
        info.hash_type,
        info.serialization,
        &opts.engine,
    )?;
    let actual = Manifest::from_hashed(items, info.hash_type, info.serialization);
    let mut report = compare(&st.manifest, &actual);
    if !plan.resized.is_empty() {
        // The shards of a resized file are not missing one by one: the file is reported instead.
        let resized: HashSet<&str> = plan.resized.iter().map(|r| r.name.as_str()).collect();
        let covered: HashSet<&str> = st
            .manifest
            .resources
            .iter()
            .zip(&parsed)
            .filter(|(_, p)| resized.contains(p.path.as_str()))
            .map(|(r, _)| r.name.as_str())
            .collect();
        report.missing.retain(|m| !covered.contains(m.as_str()));
    }
    report.resized = plan.resized;
    report.resized.sort_by(|a, b| a.name.cmp(&b.name));
    report.extra.extend(plan.extra);
    report.extra.sort();
    if report.is_empty() {
        Ok(walked)
    } else {
        Err(Error::Mismatch(Box::new(report)))
    }
}

/// A model listed for comparison with a signed statement, before any file is read.
pub(crate) struct Listed {
    /// The manifest's resource names, parsed (same order as the statement's resources).
    pub parsed: Vec<manifest::ParsedName>,
    /// The files to compare: every walked file, or only the signed ones with
    /// [`VerifyOptions::ignore_unsigned_files`].
    pub files: Vec<walk::FileEntry>,
}

/// Validates the statement's manifest and lists `model` with the walk options its serialization
/// records (ignore paths, symlinks) united with the user's.
pub(crate) fn list_model(model: &Path, st: &Statement, opts: &VerifyOptions) -> Result<Listed> {
    let info = &st.serialization;
    let parsed = manifest::validate_signed(&st.manifest, info.hash_type, info.serialization)?;
    if info.ignore_paths.len() > walk::MAX_IGNORE_PATHS {
        return Err(Error::Statement(format!(
            "the statement records {} ignore paths, over the limit of {}",
            info.ignore_paths.len(),
            walk::MAX_IGNORE_PATHS
        )));
    }
    let mut ignore = opts.ignore.clone();
    for p in &info.ignore_paths {
        match ignore.add(p) {
            Ok(()) => {}
            // The recorded and the user's paths together are over the cap; the set says so.
            Err(e) if ignore.len() >= walk::MAX_IGNORE_PATHS => return Err(e),
            Err(_) => {
                return Err(Error::Statement(format!(
                    "recorded ignore path '{}' is not a relative path inside the model",
                    p.escape_debug()
                )))
            }
        }
    }
    if opts.ignore_git_paths.unwrap_or(!records_ignore_paths(info)) {
        ignore.add_git_paths();
    }
    let wopts = WalkOptions {
        allow_symlinks: info.allow_symlinks || opts.allow_symlinks,
        ignore,
        // On the signer's record alone, links are followed inside the model only: otherwise
        // whoever wrote the model chooses a file of the verifier's (a link to `/etc/shadow`) and
        // reads its digest in the mismatch report, wherever a service verifies uploads and shows
        // its report. Following one out takes the verifier's own consent.
        links_stay_inside: !opts.allow_symlinks,
        link_store: opts.link_store.clone(),
    };
    let mut files = opts.engine.walk(model, &wopts)?;

    // A single-file model is named "." by Python and by its basename by the OMS spec text.
    if let [only] = files.as_mut_slice() {
        if only.name == "." && !parsed.iter().any(|p| p.path == ".") {
            if let Some(base) = model.file_name().and_then(|n| n.to_str()) {
                if parsed.iter().any(|p| p.path == base) {
                    only.name = base.to_string();
                }
            }
        }
    }
    if opts.ignore_unsigned_files {
        let signed: HashSet<&str> = parsed.iter().map(|p| p.path.as_str()).collect();
        files.retain(|f| signed.contains(f.name.as_str()));
    }
    Ok(Listed { parsed, files })
}

/// The walked files split by what the signed manifest says about them, before any is read.
pub(crate) struct Plan {
    /// Signed files to hash. A sharded one is exactly as large as its signed shards say, so its
    /// shards are the signed ones (for a manifest that follows its own shard size) and the work is
    /// bounded by what was signed; [`hashing::hash_files_with`] refuses more than a bundle may list
    /// in any case.
    pub to_hash: Vec<walk::FileEntry>,
    /// Files not in the manifest: extra whatever their content, so never read (one entry per file,
    /// also for shards).
    pub extra: Vec<String>,
    /// Sharded files of another size than signed, reported without being read.
    pub resized: Vec<Resized>,
}

/// Decides which walked files are hashed. Planning shards from the size on disk alone would let a
/// file grown after signing (sparse, say to 1 GiB with 1-byte shards) demand a work item per shard
/// of the grown part; the size of a sharded file is known from its signed shards, so a file of
/// another size is reported at once. (One digest per file records no size; such a file is hashed
/// as one work item, whatever its size.)
pub(crate) fn plan(
    files: Vec<walk::FileEntry>,
    parsed: &[manifest::ParsedName],
    ser: Serialization,
) -> Plan {
    // Per signed file: the end of its last shard, i.e. its signed size (0 for files).
    let mut signed: HashMap<&str, u64> = HashMap::with_capacity(parsed.len());
    for p in parsed {
        let end = signed.entry(p.path.as_str()).or_insert(0);
        *end = (*end).max(p.range.map_or(0, |(_, e)| e));
    }
    let shards = matches!(ser, Serialization::Shards { .. });
    let mut plan = Plan {
        to_hash: Vec::with_capacity(files.len()),
        extra: Vec::new(),
        resized: Vec::new(),
    };
    for f in files {
        match signed.get(f.name.as_str()) {
            // Shards record nothing for an empty file, so an unsigned empty one is no difference.
            None if shards && f.size == 0 => {}
            None => plan.extra.push(f.name),
            Some(&size) if shards && f.size != size => plan.resized.push(Resized {
                name: f.name,
                expected_size: size,
                actual_size: f.size,
            }),
            Some(_) => plan.to_hash.push(f),
        }
    }
    plan
}

/// Whether the signer recorded its ignore list (model-signing 1.1 and later always do, git paths
/// included unless they were signed), even an empty one.
fn records_ignore_paths(info: &statement::SerializationInfo) -> bool {
    info.ignore_paths_recorded
}

/// Compares a signed manifest with a freshly computed one, by name. Algorithm strings were already
/// checked against the recorded serialization, so digests decide.
pub fn compare(expected: &Manifest, actual: &Manifest) -> MismatchReport {
    let act: HashMap<&str, &[u8]> = actual
        .resources
        .iter()
        .map(|r| (r.name.as_str(), r.digest.as_slice()))
        .collect();
    let exp_names: HashSet<&str> = expected.resources.iter().map(|r| r.name.as_str()).collect();
    let mut report = MismatchReport::default();
    for r in &expected.resources {
        match act.get(r.name.as_str()) {
            None => report.missing.push(r.name.clone()),
            Some(d) if *d != r.digest.as_slice() => report.changed.push(Changed {
                name: r.name.clone(),
                expected: hex::encode(&r.digest),
                actual: hex::encode(d),
            }),
            Some(_) => {}
        }
    }
    for r in &actual.resources {
        if !exp_names.contains(r.name.as_str()) {
            report.extra.push(r.name.clone());
        }
    }
    report.missing.sort();
    report.extra.sort();
    report.changed.sort_by(|a, b| a.name.cmp(&b.name));
    report
}

/// Requires the exact v0.3 media type, as the Python key and certificate verifiers do.
pub(crate) fn require_v03(bundle: &Bundle) -> Result<()> {
    if bundle.media_type != bundle::MEDIA_TYPE_V03 {
        return Err(Error::Bundle(format!(
            "got media type '{}' but expected {}",
            bundle.media_type.escape_debug(),
            bundle::MEDIA_TYPE_V03
        )));
    }
    Ok(())
}

/// A message given by its digest: the DSSE encodings are hashed as they are produced, never
/// built whole (the payload can be hundreds of MiB, and the compat encoding four times that).
pub(crate) type Prehashed<'a> = &'a dyn Fn(crate::keys::SigHash) -> aws_lc_rs::digest::Digest;

/// Tries the standard PAE, then, for a payload that can be a v0.2 statement
/// ([`crate::dsse::may_be_legacy`]), the v0.2.0 compat PAE. Each check gets the encoding as
/// [`Prehashed`] and returns its verdict.
pub(crate) fn verify_dsse(
    bundle: &Bundle,
    standard: impl Fn(Prehashed<'_>) -> bool,
    compat: impl Fn(Prehashed<'_>) -> bool,
) -> Option<bool> {
    let pae = |hash: crate::keys::SigHash| {
        crate::dsse::pae_digest(&bundle.payload_type, &bundle.payload, hash.digest_alg())
    };
    if standard(&pae) {
        return Some(false);
    }
    if !crate::dsse::may_be_legacy(&bundle.payload) {
        return None;
    }
    let legacy = |hash: crate::keys::SigHash| {
        crate::dsse::pae_compat_digest(&bundle.payload_type, &bundle.payload, hash.digest_alg())
    };
    if compat(&legacy) {
        return Some(true);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Resource;

    fn m(v: &[(&str, u8)]) -> Manifest {
        Manifest {
            resources: v
                .iter()
                .map(|(n, d)| Resource {
                    name: n.to_string(),
                    algorithm: "sha256".into(),
                    digest: vec![*d; 32],
                })
                .collect(),
        }
    }

    #[test]
    fn compare_reports_everything() {
        let r = compare(
            &m(&[("a", 1), ("b", 2), ("c", 3)]),
            &m(&[("a", 1), ("b", 9), ("d", 4)]),
        );
        assert_eq!(r.missing, vec!["c"]);
        assert_eq!(r.extra, vec!["d"]);
        assert_eq!(r.changed.len(), 1);
        assert_eq!(r.changed[0].name, "b");
        let s = r.to_string();
        assert!(s.contains("1 changed, 1 missing, 1 extra"), "{s}");
        assert!(compare(&m(&[("a", 1)]), &m(&[("a", 1)])).is_empty());
    }
}
