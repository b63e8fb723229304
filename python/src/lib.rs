//! `model_signing_rs._native`: the Rust side of the Python package.
//!
//! The binding only converts: Python arguments into the library's configuration, the library's
//! results into plain Python values (the Python layer in `model_signing_rs/` builds the reference's
//! classes from them), and the library's errors into the exception classes of
//! `model_signing_rs.errors`. Every rule (what is hashed, how, what verifies) is the library's.
//!
//! Hashing, signing and verifying run with the GIL released, on a thread of their own while the
//! calling thread keeps running Python's signal handlers, so that Ctrl-C stops them ([`progress`]):
//! the library's signers and verifiers are `Send + Sync`, and nothing inside those closures touches
//! a Python object except the progress callback. Hashing never memory-maps
//! files here (`Engine::mmap` stays off): a file truncated while mapped raises SIGBUS, which would
//! kill the interpreter, while a read of a truncated file is an ordinary error.
//!
//! Unsafe code: only `verified::Fresh`, which creates a `bytes` or `bytearray` without pyo3's
//! zero-filling pass so that a verified read faults its pages in once (see its comment).

use model_signing::error::chain_text;
use model_signing::hashing::{
    Engine, HashAlgorithm, HashingConfig, Progress, Serialization, DEFAULT_SHARD_SIZE,
};
use model_signing::keys::PrivateKey;
use model_signing::manifest::Manifest;
use model_signing::oci;
use model_signing::sign::{self, CertificateSigner, KeySigner, Signer};
use model_signing::verify::{
    self, BundleVerifier, CertificateVerifier, ChainTime, KeyVerifier, VerifyOptions,
};
use model_signing::walk::{self, IgnoreSet};
use model_signing::x509::{self, Certificate};
use model_signing::Error;
use progress::PyProgress;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use pyo3::IntoPyObjectExt;
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod attest;
mod progress;
mod verified;

/// Which operation failed: the same library error maps to a different class when it happens while
/// verifying (an untrusted chain is a failed verification, a bad certificate while signing is not).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Hash,
    Sign,
    Verify,
}

/// The `model_signing_rs.errors` class for a library error.
fn error_class(e: &Error, op: Op) -> &'static str {
    match e {
        Error::Io { .. } => "OSError",
        Error::Symlink { .. } => "SymlinkError",
        Error::Model(_) => "ModelError",
        Error::Config(_) => "ConfigError",
        Error::Bundle(_) | Error::Statement(_) => "InvalidBundleError",
        Error::Key(_) if op == Op::Verify => "SignatureError",
        Error::Key(_) => "InvalidKeyError",
        Error::Chain(_) | Error::ChainValidOnlyAtSigning(_) if op == Op::Verify => {
            "UntrustedCertificateError"
        }
        Error::Chain(_) | Error::ChainValidOnlyAtSigning(_) => "CertificateError",
        Error::Signature(_) => "SignatureError",
        Error::Mismatch(_) => "MismatchError",
        Error::Pkcs11(_) => "Pkcs11Error",
        Error::Oidc(_) | Error::Keyless(_) => "SigstoreError",
        Error::Unsupported(_) => "UnsupportedError",
        Error::Registry(_) => "RegistryError",
        Error::Attestation(_) => "AttestationError",
        Error::Timestamp(_) if op == Op::Verify => "TimestampError",
        Error::Timestamp(_) => "TimestampServiceError",
        // `Error` is non_exhaustive: a variant added later still raises a ValueError subclass.
        _ => "ModelSigningError",
    }
}

/// Converts a library error into the matching exception, with the library's message
/// ([`chain_text`]); a mismatch also carries its per-file lists.
fn to_py_err(py: Python<'_>, e: Error, op: Op) -> PyErr {
    // Printed exceptions reach terminals and logs: text from registries, bundles and file names
    // is escaped onto one line (a mismatch report keeps its line per file, its names escaped).
    let message = match &e {
        Error::Mismatch(_) => capped_lines(&chain_text(&e), MISMATCH_LINES),
        _ => model_signing::error::untrusted_text(&chain_text(&e), usize::MAX),
    };
    // Only Ctrl-C or a raising callback cancel, and each raises its own exception instead; this
    // is in case the library ever stops for another reason of that kind.
    if let Error::Cancelled = e {
        return PyKeyboardInterrupt::new_err(message);
    }
    // A signal that arrived while the library worked runs its handler now, before the
    // exception is built by Python code (where the handler would otherwise run and its
    // exception be lost: second outside review, F3). The handler's exception wins: it is what
    // the user asked for (Ctrl-C, a timeout).
    if let Err(signal) = py.check_signals() {
        return signal;
    }
    match build_py_err(py, &e, &message, op) {
        Ok(err) => err,
        // The exception could not be built because a signal handler raised meanwhile: that.
        Err(inner)
            if !inner.is_instance_of::<pyo3::exceptions::PyImportError>(py)
                && !inner.is_instance_of::<pyo3::exceptions::PyAttributeError>(py) =>
        {
            inner
        }
        // Building the rich exception failed (the Python module is broken): still raise something
        // that carries the message.
        Err(_) => PyValueError::new_err(message),
    }
}

/// Files a `MismatchError`'s message lists; the exception's attributes list them all (a model
/// with 20,000 extra files made a 20,001-line message: outside review, F6).
const MISMATCH_LINES: usize = 20;

/// `text` with at most `max` lines after its first, and a last line saying how many were left out.
fn capped_lines(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= max + 1 {
        return text.to_string();
    }
    let mut out = lines[..=max].join("\n");
    out.push_str(&format!(
        "\n  ... and {} more (see the exception's missing, extra, changed and resized)",
        lines.len() - max - 1
    ));
    out
}

fn build_py_err(py: Python<'_>, e: &Error, message: &str, op: Op) -> PyResult<PyErr> {
    if let Error::Io { path, source } = e {
        // OSError(errno, strerror, filename) picks the subclass (FileNotFoundError, ...) itself.
        let err = match source.raw_os_error() {
            Some(errno) => {
                PyOSError::new_err((errno, source.to_string(), path.clone().into_os_string()))
            }
            None => PyOSError::new_err(message.to_string()),
        };
        return Ok(err);
    }
    let errors = py.import("model_signing_rs.errors")?;
    let cls = errors.getattr(error_class(e, op))?;
    let inst = cls.call1((message,))?;
    if let Error::Mismatch(report) = e {
        let changed_cls = errors.getattr("ChangedFile")?;
        let resized_cls = errors.getattr("ResizedFile")?;
        inst.setattr("missing", report.missing.clone())?;
        inst.setattr("extra", report.extra.clone())?;
        let changed = PyList::empty(py);
        for c in &report.changed {
            changed.append(changed_cls.call1((&c.name, &c.expected, &c.actual))?)?;
        }
        inst.setattr("changed", changed)?;
        let resized = PyList::empty(py);
        for r in &report.resized {
            resized.append(resized_cls.call1((&r.name, r.expected_size, r.actual_size))?)?;
        }
        inst.setattr("resized", resized)?;
    }
    Ok(PyErr::from_value(inst))
}

/// Hashing parameters as the Python `hashing.Config` holds them.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct HashSpec {
    /// `sha256`, `blake2` (the reference's name) or `blake3`.
    hashing_algorithm: String,
    /// `None` for files.
    shard_size: Option<u64>,
    allow_symlinks: bool,
    /// Model-relative, or absolute inside the model.
    ignore_paths: Vec<PathBuf>,
    ignore_git_paths: bool,
    max_workers: Option<usize>,
    /// `callback(bytes_hashed, bytes_total)` or `None`.
    progress: Option<Py<PyAny>>,
}

/// Resolves ignore paths the way the reference's `hashing.Config` documents them: relative paths
/// are relative to the model directory; absolute ones must lie inside it. A path outside the
/// model is an error (the library's rule, [`walk::resolve_user_path`]) where the reference drops
/// it silently. A single-file model has nothing to ignore, as in the reference.
fn resolve_ignores(model: &Path, paths: &[PathBuf]) -> Result<IgnoreSet, Error> {
    let mut set = IgnoreSet::new();
    if paths.is_empty() || !model.is_dir() {
        return Ok(set);
    }
    for p in paths {
        let rel = walk::resolve_user_path(model, model, p)?;
        set.add(&rel)?;
    }
    Ok(set)
}

/// The progress object of one call: it carries the optional callable (extracted before the GIL is
/// released) and the call's cancellation.
fn progress_of(callback: &Option<Py<PyAny>>, py: Python<'_>) -> Arc<PyProgress> {
    PyProgress::new(callback.as_ref().map(|c| c.clone_ref(py)))
}

/// Raises what stopped the work first: the exception of a signal handler (Ctrl-C), else the
/// callback's exception if it raised, else converts the library's result.
fn finish_progress<T>(
    py: Python<'_>,
    progress: &PyProgress,
    result: PyResult<Result<T, Error>>,
    op: Op,
) -> PyResult<T> {
    let result = result?;
    if let Some(e) = progress.take_error() {
        return Err(e);
    }
    result.map_err(|e| to_py_err(py, e, op))
}

fn engine(max_workers: Option<usize>, progress: Option<&Arc<PyProgress>>) -> Engine {
    Engine {
        max_workers,
        progress: progress.map(|p| Arc::clone(p) as Arc<dyn Progress>),
        // See the module documentation: no SIGBUS inside an interpreter.
        mmap: false,
    }
}

fn hashing_config(
    model: &Path,
    spec: &HashSpec,
    progress: Option<&Arc<PyProgress>>,
) -> Result<HashingConfig, Error> {
    let algorithm: HashAlgorithm = spec.hashing_algorithm.parse()?;
    let serialization = match spec.shard_size {
        None => Serialization::Files,
        Some(shard_size) => Serialization::Shards { shard_size },
    };
    let mut ignore = resolve_ignores(model, &spec.ignore_paths)?;
    if spec.ignore_git_paths {
        ignore.add_git_paths();
    }
    Ok(HashingConfig {
        algorithm,
        serialization,
        allow_symlinks: spec.allow_symlinks,
        ignore,
        engine: engine(spec.max_workers, progress),
    }
    .normalized())
}

fn check_model_exists(model: &Path) -> Result<(), Error> {
    walk::refuse_unsupported_reference(model)?;
    match std::fs::symlink_metadata(model) {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::io(model, e)),
    }
}

/// One hashed resource: (identifier, algorithm, raw digest).
type Item = (String, String, Vec<u8>);

/// What `hash_model` returns: the serialization actually used (after the library's normalisation,
/// e.g. blake3 never shards), the resources in manifest order, the root digest and the ignore
/// paths as a signature would record them.
type Hashed = (String, Option<u64>, Vec<Item>, [u8; 32], Vec<String>);

fn hash_model_inner(
    model: &Path,
    spec: &HashSpec,
    files_to_hash: Option<&[PathBuf]>,
    progress: Option<&Arc<PyProgress>>,
) -> Result<Hashed, Error> {
    check_model_exists(model)?;
    let cfg = hashing_config(model, spec, progress)?;
    let mut files = cfg.engine.walk(model, &cfg.walk_options())?;
    if let Some(wanted) = files_to_hash {
        // The reference takes these relative to the current directory (or absolute), like every
        // user path that is not an ignore path.
        let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
        let mut names = HashSet::new();
        for p in wanted {
            names.insert(walk::resolve_user_path(model, &cwd, p)?);
        }
        files.retain(|f| names.contains(&f.name));
    }
    let items = model_signing::hashing::hash_files_with(
        &files,
        cfg.algorithm,
        cfg.serialization,
        &cfg.engine,
    )?;
    let manifest = Manifest::from_hashed(items, cfg.algorithm, cfg.serialization);
    let root = manifest.root_digest();
    let shard_size = match cfg.serialization {
        Serialization::Files => None,
        Serialization::Shards { shard_size } => Some(shard_size),
    };
    let resources = manifest
        .resources
        .into_iter()
        .map(|r| (r.name, r.algorithm, r.digest))
        .collect();
    Ok((
        cfg.algorithm.name().to_string(),
        shard_size,
        resources,
        root,
        cfg.ignore.to_sorted_vec(),
    ))
}

/// Hashes a model; returns
/// `(hash_type, shard_size, [(identifier, algorithm, digest)], root, ignore_paths)`.
#[pyfunction]
#[pyo3(signature = (model_path, spec, files_to_hash=None))]
fn hash_model<'py>(
    py: Python<'py>,
    model_path: PathBuf,
    spec: HashSpec,
    files_to_hash: Option<Vec<PathBuf>>,
) -> PyResult<Bound<'py, PyAny>> {
    let progress = progress_of(&spec.progress, py);
    let result = progress::run(py, &progress, || {
        hash_model_inner(
            &model_path,
            &spec,
            files_to_hash.as_deref(),
            Some(&progress),
        )
    });
    let (hash_type, shard_size, items, root, ignore_paths) =
        finish_progress(py, &progress, result, Op::Hash)?;
    let list = PyList::empty(py);
    for (name, alg, digest) in items {
        list.append((name, alg, PyBytes::new(py, &digest)))?;
    }
    (
        hash_type,
        shard_size,
        list,
        PyBytes::new(py, &root),
        ignore_paths,
    )
        .into_bound_py_any(py)
}

/// The model name the library records (the final path component).
#[pyfunction]
fn model_name(model_path: PathBuf) -> String {
    sign::model_name(&model_path)
}

/// How to sign, as the Python `signing.Config` records it.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct SignerSpec {
    /// `key`, `certificate`, `pkcs11-key` or `pkcs11-certificate`.
    method: String,
    private_key: Option<PathBuf>,
    password: Option<String>,
    signing_certificate: Option<PathBuf>,
    certificate_chain: Vec<PathBuf>,
    pkcs11_uri: Option<String>,
    module_paths: Vec<PathBuf>,
    /// RFC 3161 TSAs to timestamp the signature (key, certificate and PKCS#11 methods).
    tsa_urls: Vec<String>,
    /// For `sigstore`: the reference's `use_sigstore_signer` keywords.
    sigstore: Option<SigstoreSpec>,
}

/// The keywords of the reference's `use_sigstore_signer`.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct SigstoreSpec {
    oidc_issuer: Option<String>,
    use_ambient_credentials: bool,
    use_staging: bool,
    force_oob: bool,
    identity_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    trust_config: Option<PathBuf>,
}

/// A key or certificate file: a regular file under the library's size limit.
fn read(path: &Path) -> Result<Vec<u8>, Error> {
    model_signing::secret_file::read_input(
        path,
        model_signing::limits::MAX_KEY_FILE_BYTES,
        "key or certificate file",
    )
}

fn required<'a, T>(v: &'a Option<T>, what: &str) -> Result<&'a T, Error> {
    v.as_ref()
        .ok_or_else(|| Error::Config(format!("{what} is required for this signing method")))
}

fn load_certs(paths: &[PathBuf]) -> Result<Vec<Certificate>, Error> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(x509::parse_pem_certificates(&read(p)?)?);
    }
    Ok(out)
}

fn load_leaf(path: &Path) -> Result<Certificate, Error> {
    load_certs(&[path.to_path_buf()])?
        .into_iter()
        .next()
        .ok_or_else(|| {
            Error::Config(format!(
                "the signing certificate file '{}' holds no certificate",
                path.display()
            ))
        })
}

fn load_private_key(spec: &SignerSpec) -> Result<PrivateKey, Error> {
    let pem = read(required(&spec.private_key, "private_key")?)?;
    Ok(PrivateKey::from_pem(
        &pem,
        spec.password.as_deref().map(str::as_bytes),
    )?)
}

/// Opens the PKCS#11 key a URI names. The reference's `module_paths` are the places to look for
/// the module when the URI names none: the first one that exists is used (a directory together
/// with the URI's `module-name`). The PIN comes from the URI or `MODEL_SIGNING_PKCS11_PIN`, as in
/// the CLI; there is no prompt inside Python.
fn pkcs11_signer(spec: &SignerSpec) -> Result<model_signing::pkcs11::Pkcs11Signer, Error> {
    use model_signing::pkcs11::{Pkcs11Signer, Pkcs11Uri};
    let mut uri = Pkcs11Uri::parse(required(&spec.pkcs11_uri, "pkcs11_uri")?)?;
    if uri.module_path.is_none() {
        for p in &spec.module_paths {
            let candidate = match (&uri.module_name, p.is_dir()) {
                (Some(name), true) => p.join(name),
                _ => p.clone(),
            };
            if candidate.is_file() {
                uri.module_path = Some(candidate);
                break;
            }
        }
    }
    if !uri.has_pin() {
        uri.pin_value = model_signing::pkcs11::env_pin()?;
    }
    Ok(Pkcs11Signer::open(&uri, None)?)
}

/// The keyless signer, resolved as the CLI's `sign sigstore` resolves its flags: the services from
/// the signing config (of `trust_config`, else the cached or embedded one of the instance), the
/// identity token given, else ambient credentials when asked, else the interactive OAuth flow on
/// the console; `SIGSTORE_ID_TOKEN` as in the CLI. `oidc_issuer` overrides the signing config's
/// issuer for the interactive flow, as in the reference.
fn keyless_signer(
    spec: &SigstoreSpec,
) -> Result<model_signing::sigstore::sign::KeylessSigner, Error> {
    use model_signing::sigstore::oidc::ConsoleInteraction;
    use model_signing::sigstore::sign::{KeylessOptions, KeylessSigner};
    use model_signing::sigstore::trust::TrustOptions;
    use model_signing::sigstore::Instance;
    let identity_token = model_signing::sigstore::oidc::token_or_env(spec.identity_token.clone());
    let opts = KeylessOptions {
        trust: TrustOptions {
            trust_config: spec.trust_config.clone(),
            instance: Instance::from_staging_flag(spec.use_staging),
            ..Default::default()
        },
        allow_insecure_services: false,
        identity_token,
        use_ambient_credentials: spec.use_ambient_credentials,
        oidc_issuer: spec.oidc_issuer.clone(),
        client_id: spec.client_id.clone(),
        client_secret: spec.client_secret.clone(),
        force_oob: spec.force_oob,
    };
    KeylessSigner::from_options(&opts, Box::new(ConsoleInteraction))
}

fn build_signer(spec: &SignerSpec) -> Result<Box<dyn Signer>, Error> {
    if spec.method == "sigstore" {
        if !spec.tsa_urls.is_empty() {
            return Err(Error::Config(
                "tsa_url applies to key, certificate and PKCS#11 signing; Sigstore signing \
                 takes its TSA from the signing config"
                    .into(),
            ));
        }
        return Ok(Box::new(keyless_signer(required(
            &spec.sigstore,
            "sigstore",
        )?)?));
    }
    sign::with_timestamps(
        build_raw_signer(spec)?,
        &spec.tsa_urls,
        model_signing::timestamp::client::DEFAULT_TIMEOUT,
        false,
    )
}

fn build_raw_signer(spec: &SignerSpec) -> Result<Box<dyn sign::RawSigner>, Error> {
    Ok(match spec.method.as_str() {
        "key" => Box::new(KeySigner::new(load_private_key(spec)?)),
        "certificate" => {
            let key = load_private_key(spec)?;
            let leaf = load_leaf(required(&spec.signing_certificate, "signing_certificate")?)?;
            let chain = load_certs(&spec.certificate_chain)?;
            Box::new(CertificateSigner::new(key, leaf, chain)?)
        }
        "pkcs11-key" => Box::new(pkcs11_signer(spec)?),
        "pkcs11-certificate" => {
            let leaf = load_leaf(required(&spec.signing_certificate, "signing_certificate")?)?;
            let chain = load_certs(&spec.certificate_chain)?;
            Box::new(model_signing::pkcs11::Pkcs11CertificateSigner::new(
                pkcs11_signer(spec)?,
                leaf,
                chain,
            )?)
        }
        other => return Err(Error::Unsupported(format!("the signing method '{other}'"))),
    })
}

/// Where an OCI image is: `sign(..., plain_http=, platform=, oci_manifest=,
/// allow_unsigned_config=)` / `verify(...)`.
#[derive(FromPyObject, Default)]
#[pyo3(from_item_all)]
struct OciSpec {
    plain_http: bool,
    platform: Option<String>,
    /// `model_path` is a local manifest file (the caller says so; content never decides).
    #[pyo3(default)]
    oci_manifest: bool,
    #[pyo3(default)]
    allow_unsigned_config: bool,
}

impl OciSpec {
    fn options(&self) -> oci::OciOptions {
        oci::OciOptions {
            platform: self.platform.clone(),
            registry: oci::registry::RegistryOptions {
                plain_http: self.plain_http,
                ..Default::default()
            },
            allow_unsigned_config: self.allow_unsigned_config,
        }
    }
}

/// The OCI source `model` names, if any: an `oci://` reference, or `model` itself when the caller
/// said it is a manifest file (`oci_manifest=True`). No prefix is read from a path here.
fn oci_source(model: &Path, spec: &OciSpec) -> Result<Option<oci::ModelSource>, Error> {
    oci::detect_explicit(model, spec.oci_manifest, &spec.options())
}

fn sign_inner(
    model: &Path,
    signature: &Path,
    hash: &HashSpec,
    signer: &SignerSpec,
    oci_spec: &OciSpec,
    progress: Option<&Arc<PyProgress>>,
) -> Result<sign::SignOutcome, Error> {
    if let Some(source) = oci_source(model, oci_spec)? {
        // The image's signature records the registry's sha256 digests: nothing is hashed here,
        // and a hashing config that asks for anything else is a mistake worth saying.
        if hash.hashing_algorithm != "sha256" || hash.shard_size.is_some() {
            return Err(Error::Config(
                "an OCI image is signed over its manifest's sha256 digests; hashing algorithms \
                 and shards do not apply"
                    .into(),
            ));
        }
        let signer = build_signer(signer)?;
        return oci::sign_model(
            &source,
            &oci_spec.options(),
            signer.as_ref(),
            signature,
            false,
        )
        .map(|signed| signed.outcome);
    }
    check_model_exists(model)?;
    sign::check_signature_path(signature)?;
    let cfg = hashing_config(model, hash, progress)?;
    let signer = build_signer(signer)?;
    sign::sign_model(model, &cfg, signer.as_ref(), signature)
}

/// Signs a model and writes the bundle; returns a dict describing the outcome.
#[pyfunction]
#[pyo3(signature = (model_path, signature_path, hash, signer, oci=None))]
fn sign_model<'py>(
    py: Python<'py>,
    model_path: PathBuf,
    signature_path: PathBuf,
    hash: HashSpec,
    signer: SignerSpec,
    oci: Option<OciSpec>,
) -> PyResult<Bound<'py, PyDict>> {
    let oci = oci.unwrap_or_default();
    let progress = progress_of(&hash.progress, py);
    let result = progress::run(py, &progress, || {
        sign_inner(
            &model_path,
            &signature_path,
            &hash,
            &signer,
            &oci,
            Some(&progress),
        )
    });
    let out = finish_progress(py, &progress, result, Op::Sign)?;
    let d = PyDict::new(py);
    d.set_item("method", out.method.name())?;
    d.set_item("root_digest", hex::encode(out.root_digest))?;
    d.set_item("files", out.files)?;
    d.set_item("resources", out.resources)?;
    d.set_item("signature_ignored_as", out.signature_ignored_as)?;
    d.set_item("warnings", out.warnings)?;
    let (identity, provider) = match out.identity {
        Some(id) => (Some(id.identity), Some(id.identity_provider)),
        None => (None, None),
    };
    d.set_item("identity", identity)?;
    d.set_item("identity_provider", provider)?;
    Ok(d)
}

/// How to verify, as the Python `verifying.Config` records it.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct VerifierSpec {
    /// `key`, `certificate` or `sigstore`.
    method: String,
    public_key: Option<PathBuf>,
    certificate_chain: Vec<PathBuf>,
    validate_at_signing_time: bool,
    identity: Option<String>,
    oidc_issuer: Option<String>,
    use_staging: bool,
    trust_config: Option<PathBuf>,
    /// Key and certificate methods: TSA chains to trust (else the production root's TSAs).
    tsa_certificate_chain: Vec<PathBuf>,
    /// Fail unless a timestamp verifies.
    require_timestamp: bool,
    /// The `policy` method: the trust policy file.
    policy: Option<PathBuf>,
}

/// Verification options from `set_hashing_config` and `set_ignore_unsigned_files`.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct VerifySpec {
    ignore_paths: Vec<PathBuf>,
    /// `None`: the bundle decides (see `VerifyOptions::ignore_git_paths`).
    ignore_git_paths: Option<bool>,
    ignore_unsigned_files: bool,
    allow_symlinks: bool,
    max_workers: Option<usize>,
    /// `callback(bytes_hashed, bytes_total)` or `None`.
    progress: Option<Py<PyAny>>,
}

/// The TSA trust of the key and certificate verifiers: the given chains, else the Sigstore
/// production root's timestamp authorities (as the CLI).
fn timestamp_policy(
    spec: &VerifierSpec,
) -> Result<model_signing::timestamp::TimestampPolicy, Error> {
    use model_signing::timestamp::{TimestampPolicy, TsaTrust};
    Ok(TimestampPolicy {
        trust: Some(TsaTrust::load(
            &spec.tsa_certificate_chain,
            &model_signing::sigstore::trust::TrustOptions::default(),
        )?),
        require: spec.require_timestamp,
    })
}

fn build_verifier(spec: &VerifierSpec) -> Result<Box<dyn BundleVerifier>, Error> {
    Ok(match spec.method.as_str() {
        "key" => Box::new(
            KeyVerifier::from_pem(&read(required(&spec.public_key, "public_key")?)?)?
                .with_timestamps(timestamp_policy(spec)?),
        ),
        "certificate" => {
            let time = if spec.validate_at_signing_time {
                ChainTime::SigningTime
            } else {
                ChainTime::Now
            };
            Box::new(
                CertificateVerifier::new(load_certs(&spec.certificate_chain)?, time)?
                    .with_timestamps(timestamp_policy(spec)?),
            )
        }
        "sigstore" => {
            use model_signing::sigstore::trust::{self, TrustOptions};
            use model_signing::sigstore::verify::{IdentityPolicy, SigstoreVerifier};
            use model_signing::sigstore::Instance;
            let root = trust::load_trusted_root(&TrustOptions {
                trust_config: spec.trust_config.clone(),
                instance: Instance::from_staging_flag(spec.use_staging),
                ..Default::default()
            })?;
            let policy = IdentityPolicy {
                identity: spec.identity.clone(),
                identity_regex: None,
                issuer: required(&spec.oidc_issuer, "oidc_issuer")?.clone(),
            };
            Box::new(SigstoreVerifier::new(&root, policy)?)
        }
        other => {
            return Err(Error::Unsupported(format!(
                "the verification method '{other}'"
            )))
        }
    })
}

/// The trust policy of the `policy` method, read; `None` for the other methods.
fn policy_of(verifier: &VerifierSpec) -> Result<Option<model_signing::policy::Policy>, Error> {
    match (verifier.method.as_str(), &verifier.policy) {
        ("policy", Some(path)) => Ok(Some(model_signing::policy::load(path)?)),
        ("policy", None) => Err(Error::Config("no policy file was given".into())),
        _ => Ok(None),
    }
}

/// The library's options for verifying the local model at `model` as `spec` asks.
fn verify_options(
    model: &Path,
    spec: &VerifySpec,
    progress: Option<&Arc<PyProgress>>,
) -> Result<VerifyOptions, Error> {
    Ok(VerifyOptions {
        ignore: resolve_ignores(model, &spec.ignore_paths)?,
        ignore_git_paths: spec.ignore_git_paths,
        ignore_unsigned_files: spec.ignore_unsigned_files,
        allow_symlinks: spec.allow_symlinks,
        engine: engine(spec.max_workers, progress),
        link_store: None,
    })
}

#[allow(clippy::too_many_arguments)]
fn verify_inner(
    model: &Path,
    signature: &Path,
    verifier: &VerifierSpec,
    spec: &VerifySpec,
    oci_spec: &OciSpec,
    claims: Option<&attest::ClaimsSpec>,
    progress: Option<&Arc<PyProgress>>,
) -> Result<verify::VerifyReport, Error> {
    // A trust policy picks the signers from the model's name, so its verifier needs the model.
    let policy = policy_of(verifier)?;
    if let Some(source) = oci_source(model, oci_spec)? {
        if claims.is_some_and(|c| c.path.is_some() || !c.require.is_empty()) {
            return Err(Error::Unsupported(
                "verifying attestations about an OCI image (verify a pulled copy of it)".into(),
            ));
        }
        if let Some(policy) = &policy {
            let oci::ModelSource::Registry(r) = &source else {
                return Err(Error::Config(
                    "a trust policy matches local paths and oci:// repositories; a manifest \
                     file has neither"
                        .into(),
                ));
            };
            let repo = format!("{}/{}", r.registry, r.repository);
            let v = policy.verifier_for(&model_signing::policy::ModelRef::Oci(&repo))?;
            return oci::verify_model(
                &source,
                &oci_spec.options(),
                signature,
                &v,
                spec.ignore_unsigned_files,
            )
            .map(|(report, _)| report);
        }
        let verifier = build_verifier(verifier)?;
        return oci::verify_model(
            &source,
            &oci_spec.options(),
            signature,
            verifier.as_ref(),
            spec.ignore_unsigned_files,
        )
        .map(|(report, _)| report);
    }
    check_model_exists(model)?;
    let mut opts = verify_options(model, spec, progress)?;
    // A claims file named inside the model is left out of it, as the one beside the signature.
    if let Some(p) = claims.and_then(|c| c.path.as_deref()) {
        if let Some(rel) = sign::signature_ignore_path(model, p)? {
            opts.ignore.add(&rel)?;
        }
    }
    if let Some(policy) = &policy {
        // Resolved once: the rule is chosen by, and the files read from, the same directory.
        let model = model_signing::walk::canonical_root(model)?;
        let v = policy.verifier_for(&model_signing::policy::ModelRef::Path(&model))?;
        let mut r = verify::verify_model(&model, signature, &v, &opts)?;
        if let Some(c) = claims {
            let request = c.request(v.attestation_requirements())?;
            r.attestations =
                model_signing::attest::claims::verify_for_model(&request, signature, &r, &v)?;
        } else if v.attestation_requirements().is_some_and(|a| !a.is_empty()) {
            let request = model_signing::attest::claims::Request {
                rule: v.attestation_requirements(),
                ..Default::default()
            };
            r.attestations =
                model_signing::attest::claims::verify_for_model(&request, signature, &r, &v)?;
        }
        return Ok(r);
    }
    let verifier = build_verifier(verifier)?;
    let mut r = verify::verify_model(model, signature, verifier.as_ref(), &opts)?;
    if let Some(c) = claims {
        r.attestations = model_signing::attest::claims::verify_for_model(
            &c.request(None)?,
            signature,
            &r,
            verifier.as_ref(),
        )?;
    }
    Ok(r)
}

/// Reads and checks the trust policy at `path`; returns its number of rules.
#[pyfunction]
fn load_policy(py: Python<'_>, path: PathBuf) -> PyResult<usize> {
    py.allow_threads(|| model_signing::policy::load(&path))
        .map(|p| p.rules.len())
        .map_err(|e| to_py_err(py, e, Op::Verify))
}

/// Verifies a model against its bundle; returns a dict for `verifying.VerificationReport`.
#[pyfunction]
#[pyo3(signature = (model_path, signature_path, verifier, options, oci=None, attestations=None))]
fn verify_model<'py>(
    py: Python<'py>,
    model_path: PathBuf,
    signature_path: PathBuf,
    verifier: VerifierSpec,
    options: VerifySpec,
    oci: Option<OciSpec>,
    attestations: Option<attest::ClaimsSpec>,
) -> PyResult<Bound<'py, PyDict>> {
    let oci = oci.unwrap_or_default();
    let progress = progress_of(&options.progress, py);
    let result = progress::run(py, &progress, || {
        verify_inner(
            &model_path,
            &signature_path,
            &verifier,
            &options,
            &oci,
            attestations.as_ref(),
            Some(&progress),
        )
    });
    let r = finish_progress(py, &progress, result, Op::Verify)?;
    report_dict(py, &r)
}

/// A verification report as the dict `verifying.VerificationReport` is built from.
pub(crate) fn report_dict<'py>(
    py: Python<'py>,
    r: &verify::VerifyReport,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("signer", &r.signer.signer)?;
    d.set_item("method", r.signer.method.name())?;
    d.set_item("warnings", &r.signer.warnings)?;
    d.set_item("model_name", &r.model_name)?;
    d.set_item("root_digest", r.root_digest.map(hex::encode))?;
    d.set_item("serialization", r.serialization.method())?;
    d.set_item("hash_type", r.hash_type.name())?;
    d.set_item("shard_size", r.shard_size)?;
    d.set_item("signed_ignore_paths", &r.signed_ignore_paths)?;
    d.set_item("files_checked", r.files_checked)?;
    d.set_item("resources", r.resources)?;
    d.set_item("signature_ignored_as", &r.signature_ignored_as)?;
    d.set_item("signature_source", &r.signature_source)?;
    let timestamps = PyList::empty(py);
    for t in r.signer.timestamps.iter().flatten() {
        let td = PyDict::new(py);
        td.set_item("time", &t.time)?;
        td.set_item("tsa", &t.tsa)?;
        td.set_item("verified", t.verified)?;
        td.set_item("error", &t.error)?;
        timestamps.append(td)?;
    }
    d.set_item("timestamps", timestamps)?;
    // JSON text: the package reads it into its own dataclasses.
    d.set_item(
        "attestations",
        r.attestations
            .as_ref()
            .map(|a| serde_json::to_string(a).unwrap_or_default()),
    )?;
    Ok(d)
}

/// Runs the `model-signing` command line (program name first); returns its exit code.
///
/// The GIL is released: the CLI may hash for minutes and never calls back into Python.
#[pyfunction]
fn run_cli(py: Python<'_>, argv: Vec<OsString>) -> i32 {
    i32::from(py.allow_threads(|| model_signing_cli::run_cli_code(argv)))
}

/// The DER certificates a bundle carries (leaf first; none for the key method), read by the
/// library's own bounded parser, so what is logged is what the verifier sees. `None` when the
/// bundle does not parse: the verification that follows reports why.
#[pyfunction]
fn bundle_certificates<'py>(
    py: Python<'py>,
    signature_path: PathBuf,
) -> PyResult<Option<Vec<Bound<'py, PyBytes>>>> {
    let parsed = py.allow_threads(|| model_signing::bundle::read(&signature_path));
    Ok(parsed.ok().map(|b| {
        let ders = match b.material {
            model_signing::bundle::VerificationMaterial::CertificateChain(c) => c,
            model_signing::bundle::VerificationMaterial::Certificate(c) => vec![c],
            model_signing::bundle::VerificationMaterial::PublicKey { .. } => Vec::new(),
        };
        ders.iter().map(|d| PyBytes::new(py, d)).collect()
    }))
}

/// The default shard size of the reference (and the library).
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("DEFAULT_SHARD_SIZE", DEFAULT_SHARD_SIZE)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(hash_model, m)?)?;
    m.add_function(wrap_pyfunction!(model_name, m)?)?;
    m.add_function(wrap_pyfunction!(sign_model, m)?)?;
    m.add_function(wrap_pyfunction!(verify_model, m)?)?;
    m.add_function(wrap_pyfunction!(load_policy, m)?)?;
    m.add_function(wrap_pyfunction!(attest::attest_model, m)?)?;
    m.add_function(wrap_pyfunction!(attest::query_claims, m)?)?;
    m.add_function(wrap_pyfunction!(verified::open_verified, m)?)?;
    m.add_class::<verified::VerifiedHandle>()?;
    m.add_class::<verified::MemoryReservation>()?;
    m.add_function(wrap_pyfunction!(verified::available_memory, m)?)?;
    m.add_function(wrap_pyfunction!(run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(bundle_certificates, m)?)?;
    Ok(())
}
