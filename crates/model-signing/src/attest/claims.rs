//! Reading and verifying a claims file: every line one Sigstore bundle, every bundle checked.
//!
//! The file is bounded before anything in it is trusted ([`crate::limits::MAX_CLAIMS_FILE_BYTES`],
//! [`crate::limits::MAX_CLAIMS_LINES`], each line a bundle within the bundle limits). Then, line by
//! line: the bundle parses; its payload is an in-toto statement; its signature and signer verify
//! with the verifier the model's own signature was checked with; the statement reads one way for
//! every consumer (no repeated key at any depth, no key Go would fold onto a known field); it has
//! exactly one subject whose only digest is the expected root digest; a predicate of a known kind
//! has the shape that kind needs. Any failure fails the whole file, naming the line: an
//! attestation that does not verify is not skipped, because the file is a record of claims and a
//! forged or foreign line in it is itself a finding.

use super::card::{self, CardSummary, EvalResult};
use super::provenance::Lineage;
use super::{Kind, Requirements, Subject};
use crate::error::{Error, Result};
use crate::oci::json::{self, Fields, Node};
use crate::verify::{BundleVerifier, SignerInfo};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One verified line.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedAttestation {
    /// Its line number (1-based).
    pub line: usize,
    /// What it says.
    pub kind: Kind,
    /// Its predicate type.
    pub predicate_type: String,
    /// What it is about.
    pub subject: Subject,
    /// Who signed it.
    pub signer: SignerInfo,
    /// For provenance: how the model was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
    /// For a model card: the card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<CardSummary>,
    /// For evaluation results: who evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluator: Option<String>,
    /// For evaluation results: what was measured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<EvalResult>,
    /// The whole predicate, as signed.
    pub predicate: serde_json::Value,
}

/// What a claims file established.
#[derive(Debug, Clone, Serialize)]
pub struct AttestationReport {
    /// The file.
    pub path: PathBuf,
    /// Every line, verified, in file order.
    pub attestations: Vec<VerifiedAttestation>,
}

impl AttestationReport {
    /// The attestations of one kind.
    pub fn of_kind<'a>(&'a self, kind: &'a Kind) -> impl Iterator<Item = &'a VerifiedAttestation> {
        self.attestations.iter().filter(move |a| a.kind == *kind)
    }
}

/// Verifies every line of the claims file at `path` with `verifier`. With `root_digest`, every
/// statement must be about that digest (the model's verified root digest); without it (a query
/// over many models' claims) any single subject is accepted and reported. Then each of
/// `requirements` is checked.
pub fn verify(
    path: &Path,
    root_digest: Option<[u8; 32]>,
    verifier: &dyn BundleVerifier,
    requirements: &[&Requirements],
) -> Result<AttestationReport> {
    let bytes = missing_is_attestation(
        path,
        crate::secret_file::read_input(path, crate::limits::MAX_CLAIMS_FILE_BYTES, "claims file"),
    )?;
    verify_bytes(path, &bytes, root_digest, verifier, requirements)
}

fn missing_is_attestation<T>(path: &Path, r: Result<T>) -> Result<T> {
    match r {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::Attestation(format!(
                "the claims file '{}' does not exist (attestations were asked for)",
                path.display()
            )))
        }
        other => other,
    }
}

/// Reads the claims file at its default place beside the signature, which the user did not
/// name: as `model.sig` at its default place, a symbolic link there is not followed, except into
/// `store` by its rule (a Hugging Face snapshot's files are links into the cache's blobs). The
/// second review linked it to a credentials file, whose key names the parser then quoted.
fn read_default(path: &Path, store: Option<&crate::walk::LinkStore>) -> Result<Vec<u8>> {
    let file = missing_is_attestation(path, crate::walk::open_in_model(path, store))?;
    crate::secret_file::read_opened(file, crate::limits::MAX_CLAIMS_FILE_BYTES).map_err(|e| {
        Error::Config(format!(
            "cannot read the claims file '{}': {e}",
            path.display()
        ))
    })
}

/// [`verify`] over the bytes of the claims file at `path`.
fn verify_bytes(
    path: &Path,
    bytes: &[u8],
    root_digest: Option<[u8; 32]>,
    verifier: &dyn BundleVerifier,
    requirements: &[&Requirements],
) -> Result<AttestationReport> {
    let shown = path.display();
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Err(Error::Attestation(format!(
            "'{shown}' holds no attestations"
        )));
    }
    // Counted before anything is collected per line (ten million empty lines took 181 MB when
    // they were collected first: the outside review).
    let count = body.iter().filter(|b| **b == b'\n').count() + 1;
    if count > crate::limits::MAX_CLAIMS_LINES {
        return Err(Error::Attestation(format!(
            "'{shown}' has {count} lines, more than the {} accepted",
            crate::limits::MAX_CLAIMS_LINES
        )));
    }
    let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    let mut attestations = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let a = verify_line(line, n, root_digest, verifier)
            .map_err(|e| Error::Attestation(format!("'{shown}' line {n}: {}", reword(&e))))?;
        attestations.push(a);
    }
    let report = AttestationReport {
        path: path.to_path_buf(),
        attestations,
    };
    for r in requirements {
        check(&report, r)?;
    }
    Ok(report)
}

/// What a model's verifier asks of its attestations: an explicit claims file, kinds required by
/// the caller, and the requirements of a policy rule.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    /// The claims file; `None`: [`super::CLAIMS_FILE`] beside the signature.
    pub path: Option<PathBuf>,
    /// Kinds the caller requires.
    pub kinds: Vec<Kind>,
    /// A policy rule's requirements.
    pub rule: Option<&'a Requirements>,
    /// Where links at the default place may lead (a Hugging Face snapshot's blob store); see
    /// [`crate::walk::LinkStore`].
    pub link_store: Option<crate::walk::LinkStore>,
}

impl Request<'_> {
    /// Whether anything asks for attestations: a file named, a kind required, or a rule that
    /// requires something.
    pub fn wanted(&self) -> bool {
        self.path.is_some() || !self.kinds.is_empty() || self.rule.is_some_and(|r| !r.is_empty())
    }
}

/// Verifies the attestations of a model that `report` verified against `signature`, as
/// `request` asks ([`verify`] with the model's verified root digest); `None` when nothing asks.
pub fn verify_for_model(
    request: &Request<'_>,
    signature: &Path,
    report: &crate::verify::VerifyReport,
    verifier: &dyn BundleVerifier,
) -> Result<Option<AttestationReport>> {
    if !request.wanted() {
        return Ok(None);
    }
    let root = report.root_digest.ok_or_else(|| {
        Error::Attestation(
            "the signature records no root digest (a v0.2 bundle); attestations name one".into(),
        )
    })?;
    let asked = Requirements {
        kinds: request.kinds.clone(),
        ..Default::default()
    };
    let mut reqs = vec![&asked];
    reqs.extend(request.rule);
    match &request.path {
        // Named by the caller: read as named, as `--signature` is.
        Some(p) => verify(p, Some(root), verifier, &reqs).map(Some),
        None => {
            let p = super::default_claims_path(signature);
            let bytes = read_default(&p, request.link_store.as_ref())?;
            verify_bytes(&p, &bytes, Some(root), verifier, &reqs).map(Some)
        }
    }
}

/// The message of `e` without the OCI reader's prefix (the strict JSON reader is shared with
/// the OCI code, whose messages begin that way).
fn reword(e: &Error) -> String {
    crate::error::chain_text(e).replacen("invalid OCI document: ", "", 1)
}

fn verify_line(
    line: &[u8],
    n: usize,
    root_digest: Option<[u8; 32]>,
    verifier: &dyn BundleVerifier,
) -> Result<VerifiedAttestation> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Attestation("the line is empty".into()));
    }
    let bundle = crate::bundle::parse(line)?;
    if bundle.payload_type != crate::dsse::PAYLOAD_TYPE {
        return Err(Error::Bundle(format!(
            "expected DSSE payload type {}, but got '{}'",
            crate::dsse::PAYLOAD_TYPE,
            crate::error::untrusted_text(&bundle.payload_type, 80)
        )));
    }
    let signer = verifier.verify_signature(&bundle)?;
    read_statement(&bundle.payload, root_digest, n, signer)
}

/// Reads the statement of a line whose signature verified (by `signer`): one reading for every
/// consumer, exactly one subject with exactly one sha256 (equal to `root_digest` when given), a
/// predicate of the shape its kind needs. Public for the fuzz target.
pub fn read_statement(
    payload: &[u8],
    root_digest: Option<[u8; 32]>,
    n: usize,
    signer: SignerInfo,
) -> Result<VerifiedAttestation> {
    let node = json::parse(payload, "the statement")?;
    let st = Fields::new(
        &node,
        &["_type", "subject", "predicateType", "predicate"],
        "statement",
    )?;
    let ty = st.str("_type")?.unwrap_or_default();
    if ty != crate::statement::STATEMENT_TYPE {
        return Err(Error::Attestation(format!(
            "the statement's _type is '{}', not {}",
            json::shown(ty),
            crate::statement::STATEMENT_TYPE
        )));
    }
    let subjects = st.array("subject")?.unwrap_or_default();
    let [subject] = subjects else {
        return Err(Error::Attestation(format!(
            "the statement has {} subjects; an attestation about a model has exactly one",
            subjects.len()
        )));
    };
    let sf = Fields::new(
        subject,
        &["name", "digest", "uri", "annotations"],
        "subject",
    )?;
    let digests = sf.string_map("digest")?.unwrap_or_default();
    // One digest only: a second algorithm is one a consumer might match on instead.
    let (Some(hex_root), 1) = (digests.get("sha256"), digests.len()) else {
        return Err(Error::Attestation(
            "the subject's digest must be exactly one sha256 (the model's root digest)".into(),
        ));
    };
    let root = super::parse_digest(&format!("sha256:{hex_root}")).map_err(|_| {
        Error::Attestation("the subject's sha256 is not 64 lowercase hex digits".into())
    })?;
    if let Some(want) = root_digest {
        if root != want {
            return Err(Error::Attestation(format!(
                "the attestation is about another model (subject sha256:{}, the model's root \
                 digest is sha256:{})",
                hex::encode(root),
                hex::encode(want)
            )));
        }
    }
    let predicate_type = st
        .str("predicateType")?
        .ok_or_else(|| Error::Attestation("the statement has no predicateType".into()))?
        .to_string();
    let kind = Kind::of(&predicate_type);
    let predicate = st.get("predicate")?.unwrap_or(&Node::Null);
    if !matches!(predicate, Node::Object(_)) {
        return Err(Error::Attestation(
            "the statement's predicate is not an object".into(),
        ));
    }
    let mut a = VerifiedAttestation {
        line: n,
        kind: kind.clone(),
        predicate_type,
        subject: Subject {
            name: sf.str("name")?.unwrap_or_default().to_string(),
            root_digest: root,
        },
        signer,
        lineage: None,
        card: None,
        evaluator: None,
        results: Vec::new(),
        predicate: to_value(predicate),
    };
    match kind {
        Kind::Provenance => a.lineage = Some(Lineage::read(predicate)?),
        Kind::ModelCard => a.card = Some(card::read_card(predicate)?),
        Kind::Eval => {
            let (ev, results) = card::read_eval(predicate)?;
            a.evaluator = ev;
            a.results = results;
        }
        Kind::Signature | Kind::Other => {}
    }
    Ok(a)
}

fn to_value(n: &Node) -> serde_json::Value {
    use serde_json::Value;
    match n {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Number(x) => Value::Number(x.clone()),
        Node::String(s) => Value::String(s.clone()),
        Node::Array(a) => Value::Array(a.iter().map(to_value).collect()),
        Node::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), to_value(v))).collect()),
    }
}

/// Checks `req` against a verified report; the first failure names its line.
pub fn check(report: &AttestationReport, req: &Requirements) -> Result<()> {
    let shown = report.path.display();
    for k in &req.kinds {
        if report.of_kind(k).next().is_none() {
            return Err(Error::Attestation(format!(
                "'{shown}' holds no verified {k} attestation for this model, and one is required"
            )));
        }
    }
    // A restriction on provenance restricts nothing when there is none: it implies one.
    let restricts =
        req.builders.is_some() || req.source_repositories.is_some() || req.datasets.is_some();
    if restricts && report.of_kind(&Kind::Provenance).next().is_none() {
        return Err(Error::Attestation(format!(
            "'{shown}' holds no verified provenance attestation for this model, and the policy \
             restricts its builder, source or datasets"
        )));
    }
    for a in report.of_kind(&Kind::Provenance) {
        let Some(l) = &a.lineage else { continue };
        let line = a.line;
        if req.datasets.is_some() && l.datasets().next().is_none() {
            return Err(Error::Attestation(format!(
                "'{shown}' line {line}: the provenance names no dataset, and the policy allows \
                 only listed ones"
            )));
        }
        let spelled = |uri: &str, what: &str| {
            super::check_plain_uri(uri, what)
                .map_err(|e| Error::Attestation(format!("'{shown}' line {line}: {}", reword(&e))))
        };
        if let Some(allowed) = &req.builders {
            spelled(&l.builder_id, "the provenance's builder")?;
            if !allowed
                .iter()
                .any(|p| p.matches_with(&l.builder_id, super::URI_MATCH))
            {
                return Err(Error::Attestation(format!(
                    "'{shown}' line {line}: the provenance's builder '{}' is not one the policy \
                     allows",
                    json::shown(&l.builder_id)
                )));
            }
        }
        if let Some(allowed) = &req.source_repositories {
            if let Some(r) = l.source_repository.as_deref() {
                spelled(r, "the provenance's source repository")?;
            }
            let ok = l
                .source_repository
                .as_deref()
                .is_some_and(|r| allowed.iter().any(|p| p.matches_with(r, super::URI_MATCH)));
            if !ok {
                return Err(Error::Attestation(format!(
                    "'{shown}' line {line}: the provenance's source repository '{}' is not one \
                     the policy allows",
                    json::shown(l.source_repository.as_deref().unwrap_or("(none)"))
                )));
            }
        }
        if let Some(allowed) = &req.datasets {
            for d in l.datasets() {
                if !d.sha256.is_some_and(|h| allowed.contains(&h)) {
                    return Err(Error::Attestation(format!(
                        "'{shown}' line {line}: the dataset '{}' (sha256:{}) is not one the \
                         policy allows",
                        json::shown(&d.name),
                        d.sha256.map(hex::encode).unwrap_or_else(|| "none".into())
                    )));
                }
            }
        }
    }
    Ok(())
}
