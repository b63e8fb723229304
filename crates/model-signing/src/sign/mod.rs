//! Signing a model: hash it, build the statement, sign the DSSE PAE, write the bundle atomically.
//!
//! Each signing method implements [`Signer`]; the pipeline in [`sign_model`] is the same for all of
//! them, so a key, a certificate chain or a PKCS#11 token produce byte-compatible bundles.
//!
//! Where the bundle goes is checked before anything is hashed ([`check_signature_path`]) and again
//! when it is written ([`write_atomic`]): never through a symbolic link, never over a directory or
//! over a file that is not a signature bundle. [`signature_ignore_path`] names the signature
//! inside a directory model without following the signature path's final component.

pub mod certificate;
pub mod key;
#[cfg(feature = "sigstore")]
pub mod timestamped;

use crate::bundle::{self, VerificationMaterial};
use crate::dsse;
use crate::error::{Error, Result};
use crate::hashing::{self, HashingConfig};
use crate::manifest::Manifest;
pub use crate::report::Method;
use crate::statement::{self, SerializationInfo};
use crate::walk;
use serde::Serialize;
use std::fs;
use std::path::{Component, Path};

pub use certificate::CertificateSigner;
pub use key::KeySigner;
#[cfg(feature = "sigstore")]
pub use timestamped::{with_timestamps, TimestampingSigner};

/// A signing method: turns a model's prepared statement into a signature bundle.
///
/// Every method implements it (key, certificate and PKCS#11 through [`RawSigner`], Sigstore
/// keyless in `sigstore::sign::KeylessSigner`), and [`sign_model`] drives all of them in one order:
/// check where the bundle goes, list the model, [`Signer::check_before_hashing`], hash,
/// [`Signer::sign_statement`], write. `Send + Sync`, so one signer can serve several threads (an
/// inference server, a Python caller that released the GIL).
pub trait Signer: Send + Sync {
    /// The method, for reports.
    fn method(&self) -> Method;

    /// Checks what can be checked before the model is hashed, which can take long: a signer whose
    /// credentials cannot be used must fail before that wait, not after. `model` says how much is
    /// about to be hashed. The default checks nothing.
    fn check_before_hashing(&self, model: &ModelSize) -> Result<()> {
        let _ = model;
        Ok(())
    }

    /// Signs `statement` and returns the bundle (JSON bytes) and who signed.
    fn sign_statement(&self, statement: &PreparedStatement) -> Result<SignedBundle>;
}

/// A method that signs bytes with a key it holds and describes that key in the bundle: what key,
/// certificate and PKCS#11 signers have in common. Every `RawSigner` is a [`Signer`]: the DSSE
/// pre-authentication encoding of the statement is signed and wrapped into a v0.3 bundle.
pub trait RawSigner: Send + Sync {
    /// The method, for reports.
    fn method(&self) -> Method;
    /// The verification material to embed in the bundle.
    fn material(&self) -> Result<VerificationMaterial>;
    /// Signs `message` (the DSSE PAE), returning a DER ECDSA signature.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

impl<T: RawSigner> Signer for T {
    fn method(&self) -> Method {
        RawSigner::method(self)
    }

    fn sign_statement(&self, statement: &PreparedStatement) -> Result<SignedBundle> {
        let material = self.material()?;
        let sig = self.sign(&dsse::pae(dsse::PAYLOAD_TYPE, &statement.payload))?;
        Ok(SignedBundle {
            bytes: bundle::encode(&material, dsse::PAYLOAD_TYPE, &statement.payload, &sig)?,
            identity: None,
            warnings: Vec::new(),
        })
    }
}

/// A boxed raw signer is one too, so that a caller choosing the method at run time can still
/// wrap it (in `TimestampingSigner`, say) or use it as a [`Signer`].
impl RawSigner for Box<dyn RawSigner> {
    fn method(&self) -> Method {
        (**self).method()
    }
    fn material(&self) -> Result<VerificationMaterial> {
        (**self).material()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        (**self).sign(message)
    }
}

/// How much a model holds, as listed before hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSize {
    /// Files to hash.
    pub files: usize,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// What [`Signer::sign_statement`] produced.
#[derive(Debug, Clone)]
pub struct SignedBundle {
    /// The bundle JSON.
    pub bytes: Vec<u8>,
    /// For keyless signatures: the certified identity.
    pub identity: Option<CertifiedIdentity>,
    /// Findings that did not stop the signing (e.g. a trusted root that does not know the services
    /// that signed).
    pub warnings: Vec<String>,
}

/// The identity a Sigstore certificate binds: what a verifier must ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertifiedIdentity {
    /// The certificate's subject alternative name (an email address, a workflow URI...).
    pub identity: String,
    /// The OIDC issuer the certificate records.
    pub identity_provider: String,
}

/// What a successful signing produced.
#[derive(Debug, Clone, Serialize)]
pub struct SignOutcome {
    /// The signing method.
    pub method: Method,
    /// The subject's root digest (hex in JSON).
    #[serde(serialize_with = "crate::report::hex_digest")]
    pub root_digest: [u8; 32],
    /// Number of files hashed.
    pub files: usize,
    /// Number of manifest resources (files or shards).
    pub resources: usize,
    /// Keyless only: the identity a verifier must ask for.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub identity: Option<CertifiedIdentity>,
    /// The signature file's model-relative name, when it lies inside the model and was therefore
    /// left out of it (and recorded in `ignore_paths`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_ignored_as: Option<String>,
    /// Non-fatal findings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The subject name Python records: the model path's final component, or the resolved directory's
/// name when the path is `.` or ends in `..`.
pub fn model_name(model: &Path) -> String {
    let direct = model
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "..");
    match direct {
        Some(n) => n.to_string(),
        None => std::fs::canonicalize(model)
            .ok()
            .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
            .unwrap_or_default(),
    }
}

/// A model's statement, ready to be signed by any method.
#[derive(Debug, Clone)]
pub struct PreparedStatement {
    /// The in-toto statement bytes (the DSSE payload).
    pub payload: Vec<u8>,
    /// The subject's root digest.
    pub root_digest: [u8; 32],
    /// Number of files hashed.
    pub files: usize,
    /// Number of manifest resources (files or shards).
    pub resources: usize,
}

/// Hashes `model` and builds its statement. Every method (key, certificate, PKCS#11, keyless) signs
/// exactly these bytes, so their bundles differ only in signature and verification material.
pub fn prepare(model: &Path, cfg: &HashingConfig) -> Result<PreparedStatement> {
    let cfg = cfg.clone().normalized();
    let files = list(model, &cfg)?;
    prepare_listed(model, &cfg, files)
}

/// Lists the files of `model` that `cfg` signs.
fn list(model: &Path, cfg: &HashingConfig) -> Result<Vec<walk::FileEntry>> {
    cfg.engine.walk(model, &cfg.walk_options())
}

/// [`prepare`] over files already listed by [`list`] with the same (normalized) `cfg`.
fn prepare_listed(
    model: &Path,
    cfg: &HashingConfig,
    files: Vec<walk::FileEntry>,
) -> Result<PreparedStatement> {
    let items = hashing::hash_files_with(&files, cfg.algorithm, cfg.serialization, &cfg.engine)?;
    let manifest = Manifest::from_hashed(items, cfg.algorithm, cfg.serialization);
    if manifest.resources.is_empty() {
        return Err(Error::Model(format!(
            "the model '{}' has no files to sign (after ignores); refusing to sign an empty model",
            model.display()
        )));
    }
    let info = SerializationInfo {
        serialization: cfg.serialization,
        hash_type: cfg.algorithm,
        allow_symlinks: cfg.allow_symlinks,
        ignore_paths: cfg.ignore.to_sorted_vec(),
        ignore_paths_recorded: true,
    };
    let payload = statement::encode(&model_name(model), &info, &manifest)?;
    Ok(PreparedStatement {
        payload,
        root_digest: manifest.root_digest(),
        files: files.len(),
        resources: manifest.resources.len(),
    })
}

/// Hashes `model`, signs it with `signer` and returns the bundle bytes without writing them
/// anywhere (so the signature cannot lie inside the model: nothing is left out for it).
pub fn sign_to_bytes(
    model: &Path,
    cfg: &HashingConfig,
    signer: &dyn Signer,
) -> Result<(Vec<u8>, SignOutcome)> {
    let cfg = cfg.clone().normalized();
    let files = list(model, &cfg)?;
    check_fits(&files, &cfg)?;
    signer.check_before_hashing(&size_of(&files))?;
    let prepared = prepare_listed(model, &cfg, files)?;
    // The first signature of a process also seeds aws-lc's random generator, from the operating
    // system and from CPU jitter entropy: about 60 ms of one core, once (perf: `jent_*` right after
    // the last file is hashed; it is all of the gap between sign and verify on a large model).
    // Seeding on a thread of its own while hashing did not help: with every core hashing, the
    // jitter source ran 2 to 3 times longer. Building aws-lc without it
    // (`AWS_LC_SYS_NO_JITTER_ENTROPY`) would remove the cost and the second entropy source with it;
    // a signing tool keeps the source.
    let signed = signer.sign_statement(&prepared)?;
    check_bundle_size(signed.bytes.len())?;
    let outcome = SignOutcome {
        method: signer.method(),
        root_digest: prepared.root_digest,
        files: prepared.files,
        resources: prepared.resources,
        identity: signed.identity,
        signature_ignored_as: None,
        warnings: signed.warnings,
    };
    Ok((signed.bytes, outcome))
}

/// Refuses, before anything is hashed, a model whose signature a verifier would refuse to read:
/// more resources than a statement may list, or a bundle over the size verifiers read (220,000
/// files with long names made a 325 MB bundle that every verifier refused). The bundle's size is
/// estimated from the names (the statement lists each with its digest; base64 in the envelope).
fn check_fits(files: &[walk::FileEntry], cfg: &HashingConfig) -> Result<()> {
    let digest_hex = 2 * cfg.algorithm.digest_len() as u64;
    let mut resources = 0u64;
    let mut statement = 0u64;
    for f in files {
        let (count, suffix) = match cfg.serialization {
            hashing::Serialization::Files => (1, 0),
            // `:start:end`, two decimal offsets of at most 20 digits.
            hashing::Serialization::Shards { shard_size } => (f.size.div_ceil(shard_size), 42),
        };
        // `{"name":"…","algorithm":"blake2b","digest":"…"},` with `"` and `\` escaped.
        let escapes = f.name.bytes().filter(|b| matches!(b, b'"' | b'\\')).count() as u64;
        let each = f.name.len() as u64 + escapes + suffix + digest_hex + 48;
        resources = resources.saturating_add(count);
        statement = statement.saturating_add(count.saturating_mul(each));
    }
    if resources > statement::MAX_RESOURCES as u64 {
        return Err(Error::Model(format!(
            "the model has {resources} files or shards to sign, more than the {} resources a \
             signature may list",
            statement::MAX_RESOURCES
        )));
    }
    check_bundle_size(usize::try_from(statement.saturating_mul(4) / 3).unwrap_or(usize::MAX))
}

/// A bundle over [`bundle::MAX_BUNDLE_BYTES`] is never written: no verifier would read it.
fn check_bundle_size(len: usize) -> Result<()> {
    if len as u64 > bundle::MAX_BUNDLE_BYTES {
        return Err(Error::Model(format!(
            "the signature would be about {} MiB, over the {} MiB a verifier reads; sign fewer \
             files (leave some out, or sign parts of the model separately) or use larger shards",
            len >> 20,
            bundle::MAX_BUNDLE_BYTES >> 20
        )));
    }
    Ok(())
}

fn size_of(files: &[walk::FileEntry]) -> ModelSize {
    ModelSize {
        files: files.len(),
        bytes: files.iter().fold(0u64, |n, f| n.saturating_add(f.size)),
    }
}

/// Signs `model` with any [`Signer`] and writes the bundle to `signature` atomically: on any
/// failure no file is left behind and an existing file is untouched.
///
/// The order is the same for every method: the signature path is checked (never through a link,
/// never over a directory or a file that is not a bundle) before anything else costs time; when it
/// lies inside a directory model it is left out of the model and recorded in `ignore_paths`, so
/// that verifying the model with the bundle in place works; then the model is listed, the signer's
/// [`Signer::check_before_hashing`] runs, the model is hashed, signed, and the bundle written.
pub fn sign_model(
    model: &Path,
    cfg: &HashingConfig,
    signer: &dyn Signer,
    signature: &Path,
) -> Result<SignOutcome> {
    let dest = open_signature_path(signature)?;
    let mut cfg = cfg.clone();
    let inside = signature_ignore_path(model, signature)?;
    let mut leftout = None;
    if let Some(rel) = &inside {
        cfg.ignore.add(rel)?;
        // The claims file beside the signature is left out too (and recorded), whether or not
        // it exists yet: attestations appended later must not break this signature, for any
        // verifier that applies the recorded ignore paths.
        let claims = crate::attest::default_claims_path(signature);
        if let Some(rel) = signature_ignore_path(model, &claims)? {
            cfg.ignore.add(&rel)?;
            if std::fs::symlink_metadata(&claims).is_ok() {
                leftout = Some(format!(
                    "'{}' is left out of the model and not signed: it is the claims file beside \
                     the signature (attestations are signed on their own)",
                    claims.display()
                ));
            }
        }
    }
    let (bytes, mut outcome) = sign_to_bytes(model, &cfg, signer)?;
    outcome.warnings.extend(leftout);
    write_signature(&dest, &bytes)?;
    outcome.signature_ignored_as = inside;
    Ok(outcome)
}

/// Media type prefixes of Sigstore bundles: `application/vnd.dev.sigstore.bundle.v0.3+json` and
/// the older `application/vnd.dev.sigstore.bundle+json;version=0.x`.
const BUNDLE_MEDIA_TYPE_PREFIXES: [&str; 2] = [
    "application/vnd.dev.sigstore.bundle.",
    "application/vnd.dev.sigstore.bundle+",
];

/// Whether `bytes` are a signature bundle, for the overwrite check: a JSON object whose
/// `mediaType` (or proto-style `media_type`) is a Sigstore bundle media type. Nothing else is
/// checked: this tells a previous signature from a model file, it does not validate the bundle.
fn is_bundle_json(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(rename = "mediaType", alias = "media_type", borrow, default)]
        media_type: Option<std::borrow::Cow<'a, str>>,
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return false;
    }
    match serde_json::from_slice::<Probe<'_>>(bytes) {
        Ok(Probe {
            media_type: Some(m),
        }) => BUNDLE_MEDIA_TYPE_PREFIXES.iter().any(|p| m.starts_with(p)),
        _ => false,
    }
}

fn refuse(path: &Path, why: &str) -> Error {
    Error::Config(format!("'{}' {why}", path.display()))
}

/// Checks that a signature bundle may be written to `path`, before any work is done for it.
///
/// Refused: a path whose directory does not exist, a path naming a directory, a symbolic link
/// (dangling or not: the bundle is never written through a link), and an existing file that is
/// not a signature bundle. What counts as a bundle is deliberately cheap to tell: a JSON object
/// whose `mediaType` is a Sigstore bundle media type (`application/vnd.dev.sigstore.bundle...`);
/// an empty file is not a bundle. An existing bundle may be replaced.
pub fn check_signature_path(path: &Path) -> Result<()> {
    open_signature_path(path).map(|_| ())
}

/// [`check_signature_path`], returning the checked destination: its directory stays open, so the
/// bundle written through [`write_signature`] lands in the directory that was checked, whatever
/// its path leads to by then. [`sign_model`] opens one before hashing and writes through it.
pub fn open_signature_path(path: &Path) -> Result<crate::atomic::Destination> {
    let bytes = path.as_os_str().as_encoded_bytes();
    if path.file_name().is_none() || bytes.ends_with(b"/") || bytes.ends_with(b"/.") {
        return Err(refuse(path, "names a directory, not a signature file"));
    }
    // Missing or not a directory, permissions and read-only mounts are found now, not after an
    // hour of hashing; the writability probe creates nothing anyone can see.
    let dest = crate::atomic::Destination::open(path).map_err(|e| match e {
        Error::Config(m) => {
            Error::Config(m.replacen("cannot write", "cannot write the signature", 1))
        }
        other => other,
    })?;
    check_existing(&dest)?;
    Ok(dest)
}

/// Refuses what is at the destination's name unless it is nothing or a signature bundle.
fn check_existing(dest: &crate::atomic::Destination) -> Result<()> {
    use crate::atomic::Existing;
    let path = dest.path();
    match dest.existing()? {
        Existing::Nothing => Ok(()),
        Existing::Symlink => Err(refuse(
            path,
            "is a symbolic link; refusing to write the signature through it",
        )),
        Existing::Directory => Err(refuse(path, "is a directory; refusing to replace it")),
        Existing::File(len) if len > 0 && len <= bundle::MAX_BUNDLE_BYTES => {
            // Opened without following a link and without blocking: a FIFO swapped in after the
            // look above is refused, never waited on (the review hung sign that way).
            match dest.read_existing(bundle::MAX_BUNDLE_BYTES)? {
                Some(bytes) if is_bundle_json(&bytes) => Ok(()),
                _ => Err(not_a_bundle(path)),
            }
        }
        Existing::File(_) | Existing::Special => Err(not_a_bundle(path)),
    }
}

fn not_a_bundle(path: &Path) -> Error {
    refuse(
        path,
        "exists and is not a signature bundle; refusing to overwrite it",
    )
}

/// Writes the bundle `bytes` through a destination from [`open_signature_path`], after looking
/// at what is at its name once more.
pub fn write_signature(dest: &crate::atomic::Destination, bytes: &[u8]) -> Result<()> {
    check_existing(dest)?;
    dest.write(bytes)
}

/// The model-relative name under which a signature written to (or read from) `signature` is left
/// out of the directory `model`, or `None` when it lies outside the model (or the model is a
/// single file).
///
/// The path is taken as given: made absolute against the current directory, its parent
/// directory resolved the way the operating system resolves it when the file is opened
/// (symlinks and `..`), and its final component never followed. So `out.sig -> model/w.bin`
/// excludes nothing, and `alias/model.sig` with `alias -> model` excludes `model.sig`.
pub fn signature_ignore_path(model: &Path, signature: &Path) -> Result<Option<String>> {
    if !fs::metadata(model).map(|m| m.is_dir()).unwrap_or(false) {
        return Ok(None);
    }
    let abs = std::path::absolute(signature).map_err(|e| Error::io(signature, e))?;
    let (Some(name), Some(parent)) = (abs.file_name(), abs.parent()) else {
        return Ok(None);
    };
    let Ok(dir) = fs::canonicalize(parent) else {
        return Ok(None);
    };
    let root = walk::canonical_root(model)?;
    let full = dir.join(name);
    let Ok(rel) = full.strip_prefix(&root) else {
        return Ok(None);
    };
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str().ok_or_else(|| {
                Error::Config(format!(
                    "the signature path '{}' is not valid UTF-8",
                    signature.display()
                ))
            })?),
            _ => return Ok(None),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// Writes the signature bundle `bytes` to `path` with [`crate::atomic::write`]: a failure leaves
/// no file and never a partial one, nothing half-written is ever visible in the directory (a
/// signature inside the model is not listed by a concurrent signer or verifier), SIGKILL leaves at
/// most a temporary name in one two-call window, and the rename is synced to disk. `path` is
/// checked first with [`check_signature_path`]; should a link appear there afterwards, the rename
/// replaces it rather than writing through it. The file's mode is 0666 less the umask, like any
/// file the user creates.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_signature(&open_signature_path(path)?, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_probe() {
        assert!(is_bundle_json(
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","x":{}}"#
        ));
        assert!(is_bundle_json(
            b" \n{\"media_type\": \"application/vnd.dev.sigstore.bundle+json;version=0.1\"}"
        ));
        for not in [
            &b""[..],
            b"   ",
            b"{}",
            b"[\"application/vnd.dev.sigstore.bundle.v0.3+json\"]",
            br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
            br#"{"mediaType":"application/vnd.dev.sigstore.bundlex"}"#,
            br#"{"mediaType":1}"#,
            br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"} trailing"#,
            b"\x00\x01binary",
        ] {
            assert!(!is_bundle_json(not), "{:?}", String::from_utf8_lossy(not));
        }
    }
}
