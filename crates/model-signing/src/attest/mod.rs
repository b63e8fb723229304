//! Attestations about a model: SLSA provenance, model cards and evaluation results, each a signed
//! in-toto Statement v1 whose subject is the model's OMS root digest.
//!
//! The layout follows the upstream proposals (sigstore/model-transparency #586/#587, OMS spec
//! proposals #4/#5): every attestation is one Sigstore bundle, appended as one line of JSON to an
//! append-only `claims.jsonl` beside the model's signature ([`CLAIMS_FILE`]). The model's own
//! signature leaves that file out of the model when it lies inside it, as it leaves itself out,
//! so attestations can accumulate after the model is signed without breaking its signature.
//!
//! * [`attest`] hashes the model exactly as signing does (so the subject is the digest its
//!   `model.sig` records for the same hashing options), signs the statement with any
//!   [`Signer`] and appends the bundle ([`append`]);
//! * [`claims::verify`] checks every line of a claims file: signature and signer with the
//!   model's own verifier, subject equal to the model's verified root digest, predicate shape;
//! * [`Requirements`] is what a verifier asks of them (kinds, builders, source repositories,
//!   datasets), from the command line or a trust policy;
//! * [`provenance`] builds and reads the SLSA v1 predicate (with the CI fill-ins), [`card`] the
//!   model-card and evaluation-result predicates, [`query`] matches package URLs for
//!   `provenance query`.
//!
//! Predicate types and the training `buildType` are documented in `docs/attestations.md`; the
//! model-card and evaluation predicates are ours (the upstream proposals are open) and
//! versioned.

pub mod card;
pub mod claims;
pub mod provenance;
pub mod query;

use crate::error::{Error, Result};
use crate::hashing::HashingConfig;
use crate::manifest::Manifest;
use crate::sign::{PreparedStatement, Signer};
use serde::Serialize;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub use claims::{AttestationReport, VerifiedAttestation};

/// The claims file's name beside the signature: `model.sig` and `claims.jsonl` side by side.
pub const CLAIMS_FILE: &str = "claims.jsonl";

/// SLSA provenance v1.
pub const PROVENANCE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// Our model-card predicate (the upstream proposal, model-transparency #583, is open).
pub const MODEL_CARD_TYPE: &str =
    "https://github.com/model-signing-rs/model-signing-rs/blob/main/docs/attestations.md#model-card-v1";
/// Our evaluation-result predicate (in-toto/attestation #565/#575 are open).
pub const EVAL_TYPE: &str =
    "https://github.com/model-signing-rs/model-signing-rs/blob/main/docs/attestations.md#eval-result-v1";
/// The OMS signature predicate: a model signature appended to a claims file (PR #592's layout)
/// is read as one more attestation.
pub const SIGNATURE_TYPE: &str = crate::statement::PREDICATE_TYPE;

/// What an attestation says, by its predicate type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// SLSA provenance ([`PROVENANCE_TYPE`]).
    Provenance,
    /// A model card ([`MODEL_CARD_TYPE`]).
    ModelCard,
    /// Evaluation results ([`EVAL_TYPE`]).
    Eval,
    /// An OMS model signature ([`SIGNATURE_TYPE`]).
    Signature,
    /// Any other predicate type: verified (signer, subject) but not interpreted.
    Other,
}

impl Kind {
    /// The kind of a predicate type.
    pub fn of(predicate_type: &str) -> Kind {
        match predicate_type {
            PROVENANCE_TYPE => Kind::Provenance,
            MODEL_CARD_TYPE => Kind::ModelCard,
            EVAL_TYPE => Kind::Eval,
            SIGNATURE_TYPE => Kind::Signature,
            _ => Kind::Other,
        }
    }

    /// The name used on the command line and in policies.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Provenance => "provenance",
            Kind::ModelCard => "model-card",
            Kind::Eval => "eval",
            Kind::Signature => "signature",
            Kind::Other => "other",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Kind> {
        match s {
            "provenance" => Ok(Kind::Provenance),
            "model-card" => Ok(Kind::ModelCard),
            "eval" => Ok(Kind::Eval),
            other => Err(Error::Config(format!(
                "unknown attestation kind '{}' (expected provenance, model-card or eval)",
                crate::error::untrusted_text(other, 40)
            ))),
        }
    }
}

/// The kinds named in `names` (`provenance`, `model-card`, `eval`), each once, in order.
pub fn kinds(names: &[String]) -> Result<Vec<Kind>> {
    let mut out = Vec::new();
    for n in names {
        let k: Kind = n.parse()?;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an attestation is about: the model's name and OMS root digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// The model's name (informational, as in its signature).
    pub name: String,
    /// The root digest (hex in JSON).
    #[serde(serialize_with = "crate::report::hex_digest")]
    pub root_digest: [u8; 32],
}

/// The claims file that belongs with the signature `signature`: [`CLAIMS_FILE`] in its directory.
pub fn default_claims_path(signature: &Path) -> PathBuf {
    signature.with_file_name(CLAIMS_FILE)
}

/// The model-relative name under which verifying `model` against the statement `st` leaves out
/// the claims file beside `signature`: only when it lies inside the model and the signed manifest
/// does not list it. A file the signer signed is model content, whatever its name (a Python
/// signature of a model holding its own `claims.jsonl` must still check it); one the signer did
/// not sign is the claims file that attestations were appended to after signing.
pub fn claims_ignore_for_verify(
    model: &Path,
    signature: &Path,
    st: &crate::statement::Statement,
) -> Result<Option<String>> {
    let Some(rel) = crate::sign::signature_ignore_path(model, &default_claims_path(signature))?
    else {
        return Ok(None);
    };
    let ser = st.serialization.serialization;
    let signed = st.manifest.resources.iter().any(|r| {
        crate::manifest::parse_name(&r.name, ser).is_ok_and(|p| {
            p.path == rel
                || p.path
                    .strip_prefix(rel.as_str())
                    .is_some_and(|t| t.starts_with('/'))
        })
    });
    Ok((!signed).then_some(rel))
}

/// `cfg`, normalised, leaving out of `model` what signing leaves out: the signature, the claims
/// file beside it, and the claims file named (each where it lies inside the model).
fn leaving_out(
    model: &Path,
    cfg: &HashingConfig,
    signature: &Path,
    claims: &Path,
) -> Result<HashingConfig> {
    let mut cfg = cfg.clone().normalized();
    for p in [signature, &default_claims_path(signature), claims] {
        if let Some(rel) = crate::sign::signature_ignore_path(model, p)? {
            cfg.ignore.add(&rel)?;
        }
    }
    Ok(cfg)
}

/// The model's subject as signing computes it: `model` hashed with `cfg`, leaving out the
/// signature and the claims file where they lie inside it (as [`crate::sign::sign_model`] leaves
/// them out), so the digest equals the one the model's signature records for the same options.
pub fn subject(
    model: &Path,
    cfg: &HashingConfig,
    signature: &Path,
    claims: &Path,
) -> Result<Subject> {
    let cfg = leaving_out(model, cfg, signature, claims)?;
    let (_, manifest) = Manifest::for_model(model, &cfg)?;
    if manifest.resources.is_empty() {
        return Err(Error::Model(format!(
            "the model '{}' has no files to attest (after ignores)",
            model.display()
        )));
    }
    Ok(Subject {
        name: crate::sign::model_name(model),
        root_digest: manifest.root_digest(),
    })
}

/// The root digest of a dependency (a dataset, a base model) given as a path: hashed with the
/// defaults of `digest` (SHA-256, whole files, the top-level git paths left out), and leaving out
/// its own top-level `model.sig` and [`CLAIMS_FILE`], so that a dependency signed in place gets
/// the digest its signature records.
pub fn dependency_digest(path: &Path) -> Result<Subject> {
    let mut cfg = HashingConfig::default();
    cfg.ignore.add_git_paths();
    subject(path, &cfg, &path.join("model.sig"), &path.join(CLAIMS_FILE))
}

/// An in-toto Statement v1 with one subject, as the bytes that are signed.
pub fn statement(
    subject: &Subject,
    predicate_type: &str,
    predicate: &serde_json::Value,
) -> Result<Vec<u8>> {
    if !predicate.is_object() {
        return Err(Error::Config(
            "an attestation's predicate must be a JSON object".into(),
        ));
    }
    let st = serde_json::json!({
        "_type": crate::statement::STATEMENT_TYPE,
        "subject": [{
            "name": subject.name,
            "digest": { "sha256": hex::encode(subject.root_digest) },
        }],
        "predicateType": predicate_type,
        "predicate": predicate,
    });
    serde_json::to_vec(&st).map_err(|e| Error::Config(format!("cannot encode the statement: {e}")))
}

/// What [`attest`] did.
#[derive(Debug, Clone, Serialize)]
pub struct AttestOutcome {
    /// What was attested.
    pub kind: Kind,
    /// The subject.
    pub subject: Subject,
    /// The claims file appended to.
    pub attestations: PathBuf,
    /// The line the bundle went to (1-based).
    pub line: usize,
    /// The signing method.
    pub method: crate::report::Method,
    /// Keyless only: the certified identity.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::sign::CertifiedIdentity>,
    /// Non-fatal findings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Signs a statement about `subject` with `signer` and appends the bundle to `claims`.
pub fn attest_subject(
    subject: &Subject,
    kind: Kind,
    predicate_type: &str,
    predicate: &serde_json::Value,
    signer: &dyn Signer,
    claims: &Path,
) -> Result<AttestOutcome> {
    // Checked now without creating it; created only when the line goes in (a refused attest
    // left an empty claims file behind: the second review).
    check_claims_target(claims)?;
    let payload = statement(subject, predicate_type, predicate)?;
    // Sign never writes what verify refuses: the statement is read back now as verify reads a
    // line (nesting, keys Go would fold, predicate shapes), before anything is signed.
    let probe = crate::verify::SignerInfo {
        method: signer.method(),
        signer: String::new(),
        warnings: Vec::new(),
        timestamps: None,
    };
    claims::read_statement(&payload, Some(subject.root_digest), 0, probe).map_err(|e| {
        Error::Config(format!(
            "the attestation would not verify, so it is not made: {}",
            crate::error::chain_text(&e).replacen("invalid OCI document: ", "", 1)
        ))
    })?;
    let prepared = PreparedStatement {
        payload,
        root_digest: subject.root_digest,
        files: 0,
        resources: 0,
    };
    let signed = signer.sign_statement(&prepared)?;
    let line = append_to(open_claims_for_append(claims, true)?, claims, &signed.bytes)?;
    Ok(AttestOutcome {
        kind,
        subject: subject.clone(),
        attestations: claims.to_path_buf(),
        line,
        method: signer.method(),
        identity: signed.identity,
        warnings: signed.warnings,
    })
}

/// Hashes `model` ([`subject`]), signs the statement and appends it to `claims`. The claims file
/// is checked before the model is hashed, so a path that cannot take it fails at once.
#[allow(clippy::too_many_arguments)]
pub fn attest(
    model: &Path,
    cfg: &HashingConfig,
    signature: &Path,
    claims: &Path,
    kind: Kind,
    predicate: &serde_json::Value,
    signer: &dyn Signer,
) -> Result<AttestOutcome> {
    let predicate_type = match kind {
        Kind::Provenance => PROVENANCE_TYPE,
        Kind::ModelCard => MODEL_CARD_TYPE,
        Kind::Eval => EVAL_TYPE,
        Kind::Signature | Kind::Other => {
            return Err(Error::Config(format!(
                "cannot attest a predicate of kind {kind}"
            )))
        }
    };
    check_claims_place(model, signature, claims)?;
    // Found now, not after an hour of hashing.
    check_claims_target(claims)?;
    check_signature_options(model, cfg, signature, claims)?;
    let subject = subject(model, cfg, signature, claims)?;
    attest_subject(&subject, kind, predicate_type, predicate, signer, claims)
}

/// A claims file inside the model must be the one beside the signature, which signing leaves out
/// of the model; any other would be model content the signature covers (appending to it would
/// break the model's own verification, or write into a weights file: the outside review).
fn check_claims_place(model: &Path, signature: &Path, claims: &Path) -> Result<()> {
    let Some(rel) = crate::sign::signature_ignore_path(model, claims)? else {
        return Ok(());
    };
    let beside = crate::sign::signature_ignore_path(model, &default_claims_path(signature))?;
    if beside.as_deref() == Some(rel.as_str()) {
        return Ok(());
    }
    Err(Error::Config(format!(
        "the claims file '{}' lies inside the model and is not the {CLAIMS_FILE} beside its \
         signature, the one signing leaves out; put it there or outside the model",
        claims.display()
    )))
}

/// When the model's signature is already there, the hashing options given must be those it
/// records: else the subject would be another digest than the signature's, and the attestation
/// would never verify with the model (the outside review signed with BLAKE3 and attested with
/// the default). The signature is read only to refuse; it never chooses the options.
fn check_signature_options(
    model: &Path,
    cfg: &HashingConfig,
    signature: &Path,
    claims: &Path,
) -> Result<()> {
    if std::fs::symlink_metadata(signature).is_err() {
        return Ok(());
    }
    let Ok(st) = crate::bundle::read(signature).and_then(|b| crate::statement::decode(&b.payload))
    else {
        // Not a signature we can read: nothing to compare (verify will say what is wrong).
        return Ok(());
    };
    let cfg = leaving_out(model, cfg, signature, claims)?;
    let rec = &st.serialization;
    let ours = cfg.ignore.to_sorted_vec();
    let mut theirs = rec.ignore_paths.clone();
    theirs.sort();
    let same = rec.hash_type == cfg.algorithm
        && rec.serialization == cfg.serialization
        && rec.allow_symlinks == cfg.allow_symlinks
        && (!rec.ignore_paths_recorded || theirs == ours);
    if same {
        return Ok(());
    }
    let show = |alg: &dyn std::fmt::Display,
                ser: &crate::hashing::Serialization,
                links: bool,
                ign: &[String]| {
        format!(
            "{alg}, {}, symlinks {}, ignore paths [{}]",
            match ser {
                crate::hashing::Serialization::Files => "files".to_string(),
                crate::hashing::Serialization::Shards { shard_size } =>
                    format!("shards of {shard_size}"),
            },
            if links { "followed" } else { "not followed" },
            crate::error::untrusted_text(&ign.join(", "), 400)
        )
    };
    Err(Error::Config(format!(
        "the signature '{}' records other hashing options ({}) than these ({}); attest with \
         the options the model was signed with, so that the subject is the digest it records",
        signature.display(),
        show(
            &rec.hash_type,
            &rec.serialization,
            rec.allow_symlinks,
            &theirs
        ),
        show(
            &cfg.algorithm,
            &cfg.serialization,
            cfg.allow_symlinks,
            &ours
        ),
    )))
}

/// Opens the claims file for appending: created when missing (mode 0666 less the umask), never
/// through a symbolic link, never a directory or special file, and only a file whose last byte
/// ends a line (a file cut short mid-line would glue the next bundle onto a broken one).
fn open_claims_for_append(path: &Path, create: bool) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let bytes = path.as_os_str().as_encoded_bytes();
    if path.file_name().is_none() || bytes.ends_with(b"/") {
        return Err(Error::Config(format!(
            "'{}' names a directory, not a claims file",
            path.display()
        )));
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(create)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => Error::Config(format!(
                "'{}' is a symbolic link; refusing to write attestations through it",
                path.display()
            )),
            _ => Error::io(path, e),
        })?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::Config(format!(
            "'{}' is not a regular file; refusing to append attestations to it",
            path.display()
        )));
    }
    if meta.len() > crate::limits::MAX_CLAIMS_FILE_BYTES {
        return Err(Error::Config(format!(
            "'{}' already holds more than {} bytes of attestations; start another file",
            path.display(),
            crate::limits::MAX_CLAIMS_FILE_BYTES
        )));
    }
    if meta.len() > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(|e| Error::io(path, e))?;
        if last != *b"\n" {
            return Err(Error::Config(format!(
                "'{}' does not end with a line break (a line was cut short?); refusing to append \
                 to it",
                path.display()
            )));
        }
    }
    Ok(file)
}

/// Appends one bundle as one line of compact JSON to the claims file at `path` and returns its
/// line number. Append-only: earlier lines are never rewritten. The file is locked for the
/// append, so concurrent attesters do not interleave, and a write that fails part way is cut back
/// off, so no partial line is ever left.
pub fn append(path: &Path, bundle: &[u8]) -> Result<usize> {
    append_to(open_claims_for_append(path, true)?, path, bundle)
}

/// Checks that a line could be appended to the claims file at `path`, creating nothing: an
/// existing file as [`append`] would take it, else a directory that exists and can be written.
fn check_claims_target(path: &Path) -> Result<()> {
    if std::fs::symlink_metadata(path).is_ok() {
        return open_claims_for_append(path, false).map(drop);
    }
    let bytes = path.as_os_str().as_encoded_bytes();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if path.file_name().is_none() || bytes.ends_with(b"/") || !dir.is_dir() {
        return Err(Error::Config(format!(
            "cannot write the claims file '{}': its directory does not exist",
            path.display()
        )));
    }
    crate::atomic::check_writable(dir).map_err(|e| {
        Error::Config(format!(
            "cannot write the claims file '{}': {e}",
            path.display()
        ))
    })
}

fn append_to(mut file: std::fs::File, path: &Path, bundle: &[u8]) -> Result<usize> {
    // One line: the bundle re-serialised without whitespace (its signature covers the base64
    // payload, not the JSON around it). It is parsed first, so only a bundle goes in.
    crate::bundle::parse(bundle)?;
    let v: serde_json::Value =
        serde_json::from_slice(bundle).map_err(|e| Error::Bundle(format!("not JSON: {e}")))?;
    let mut line = serde_json::to_vec(&v)
        .map_err(|e| Error::Bundle(format!("cannot encode the bundle: {e}")))?;
    line.push(b'\n');
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io(path, e.into()))?;
    let before = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if before > 0 {
        // Checked again under the lock: another writer may have left the file as it is now.
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(before - 1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(|e| Error::io(path, e))?;
        if last != *b"\n" {
            return Err(Error::Config(format!(
                "'{}' does not end with a line break; refusing to append to it",
                path.display()
            )));
        }
    }
    let total = before.saturating_add(line.len() as u64);
    if total > crate::limits::MAX_CLAIMS_FILE_BYTES {
        return Err(Error::Config(format!(
            "'{}' would hold more than {} bytes of attestations with this one; start another \
             file",
            path.display(),
            crate::limits::MAX_CLAIMS_FILE_BYTES
        )));
    }
    let lines = count_lines(&mut file, path)?;
    if lines >= crate::limits::MAX_CLAIMS_LINES {
        return Err(Error::Config(format!(
            "'{}' already holds {lines} attestations, the most one file may hold; start another \
             file",
            path.display()
        )));
    }
    if let Err(e) = file.write_all(&line).and_then(|_| file.sync_data()) {
        // Cut back what was written of the line; the file stays as it was.
        let _ = file.set_len(before);
        let _ = file.sync_data();
        return Err(Error::io(path, e));
    }
    Ok(lines + 1)
}

fn count_lines(file: &mut std::fs::File, path: &Path) -> Result<usize> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0;
    loop {
        let got = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if got == 0 {
            return Ok(n);
        }
        n += buf.iter().take(got).filter(|b| **b == b'\n').count();
    }
}

/// What a verifier asks of a model's attestations.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    /// At least one verified attestation of each of these kinds.
    pub kinds: Vec<Kind>,
    /// Every provenance's builder id must match one of these ([`URI_MATCH`]); `None`: any.
    pub builders: Option<Vec<glob::Pattern>>,
    /// Every provenance's source repository must match one of these; `None`: any.
    pub source_repositories: Option<Vec<glob::Pattern>>,
    /// Every dataset a provenance names must have one of these root digests; `None`: any.
    pub datasets: Option<Vec<[u8; 32]>>,
}

impl Requirements {
    /// Whether anything is asked at all.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
            && self.builders.is_none()
            && self.source_repositories.is_none()
            && self.datasets.is_none()
    }
}

/// How builder and repository patterns match: `*` and `?` stop at `/`, a whole `**` segment
/// crosses any number of them (the trust policy's path rules).
pub const URI_MATCH: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// Refuses a URI that names one place in several spellings a pattern would read apart: `.` or
/// `..` path segments (git and curl resolve `acme/../evil` to `evil`: the second review passed a
/// policy for `acme/*` that way), percent-encoded `.`, `/` or `\`, and backslashes.
pub fn check_plain_uri(uri: &str, what: &str) -> Result<()> {
    let lower = uri.to_ascii_lowercase();
    let dot_segment = uri
        .split(['/', '?', '#'])
        .skip(1)
        .any(|seg| seg == "." || seg == "..");
    if dot_segment || uri.contains('\\') || ["%2e", "%2f", "%5c"].iter().any(|e| lower.contains(e))
    {
        return Err(Error::Attestation(format!(
            "{what} '{}' has a '.' or '..' segment or an encoded '.', '/' or '\\'; a policy would \
             read it otherwise than git and HTTP clients do",
            crate::error::untrusted_text(uri, 200)
        )));
    }
    Ok(())
}

/// A pattern for builder ids and repositories, matched with [`URI_MATCH`]: `*` within one `/`
/// segment, `**` (a whole segment) across segments, `?` one character; no other syntax.
pub fn pattern(text: &str) -> Result<glob::Pattern> {
    let escaped: String = text
        .chars()
        .map(|c| match c {
            '[' => "[[]".to_string(),
            ']' => "[]]".to_string(),
            c => c.to_string(),
        })
        .collect();
    glob::Pattern::new(&escaped).map_err(|e| {
        Error::Config(format!(
            "'{}' is not a valid pattern: {e}",
            crate::error::untrusted_text(text, 80)
        ))
    })
}

/// Parses `sha256:<64 hex>`.
pub fn parse_digest(text: &str) -> Result<[u8; 32]> {
    let hex_part = text.strip_prefix("sha256:").ok_or_else(|| {
        Error::Config(format!(
            "'{}' is not a digest of the form sha256:<64 hex digits>",
            crate::error::untrusted_text(text, 80)
        ))
    })?;
    let bytes = hex::decode(hex_part)
        .ok()
        .filter(|b| b.len() == 32 && hex_part.bytes().all(|c| !c.is_ascii_uppercase()));
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            Error::Config(format!(
                "'{}' is not a digest of the form sha256:<64 lowercase hex digits>",
                crate::error::untrusted_text(text, 80)
            ))
        })
}
