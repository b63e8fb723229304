//! Attestations from Python (`model_signing_rs.attest`): the library's `attest` module behind
//! dicts; every rule (predicates, the claims file, verification) is the library's.

use crate::progress;
use crate::{build_signer, build_verifier, check_model_exists, finish_progress, hashing_config};
use crate::{progress_of, to_py_err, HashSpec, Op, SignerSpec, VerifierSpec};
use model_signing::attest::provenance::{self, Input, Plan};
use model_signing::attest::{self, Kind};
use model_signing::Error;
use pyo3::prelude::*;
use std::path::PathBuf;

/// What `attest.provenance`, `attest.model_card` and `attest.eval_results` pass.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct AttestSpec {
    datasets: Vec<String>,
    base_models: Vec<String>,
    packages: Vec<String>,
    source_repo: Option<String>,
    source_commit: Option<String>,
    source_ref: Option<String>,
    entry_point: Option<String>,
    /// Hyperparameters as a JSON object (text).
    parameters: Option<String>,
    builder_id: Option<String>,
    invocation_id: Option<String>,
    started_on: Option<String>,
    finished_on: Option<String>,
    ci_environment: bool,
    card: Option<PathBuf>,
    results: Option<PathBuf>,
    evaluator: Option<String>,
}

fn predicate(kind: &Kind, spec: &AttestSpec) -> Result<serde_json::Value, Error> {
    match kind {
        Kind::Provenance => {
            let parameters = match &spec.parameters {
                None => serde_json::Map::new(),
                Some(text) => provenance::parameters(text.as_bytes())?,
            };
            let input = Input {
                source_repo: spec.source_repo.clone(),
                source_commit: spec.source_commit.clone(),
                source_ref: spec.source_ref.clone(),
                entry_point: spec.entry_point.clone(),
                parameters,
                packages: spec.packages.clone(),
                builder_id: spec.builder_id.clone(),
                invocation_id: spec.invocation_id.clone(),
                started_on: spec.started_on.clone(),
                finished_on: spec.finished_on.clone(),
                ..Default::default()
            };
            let ci = spec
                .ci_environment
                .then(|| provenance::ci_environment(&|k| std::env::var(k).ok()));
            Plan::new(input, &spec.datasets, &spec.base_models, ci)?.predicate(&mut |_, _| {})
        }
        Kind::ModelCard => {
            let card = spec
                .card
                .as_ref()
                .ok_or_else(|| Error::Config("a model card attestation needs the card".into()))?;
            attest::card::model_card_predicate(card)
        }
        Kind::Eval => {
            let results = spec.results.as_ref().ok_or_else(|| {
                Error::Config("an evaluation attestation needs the results file".into())
            })?;
            attest::card::eval_predicate(results, spec.evaluator.as_deref())
        }
        Kind::Signature | Kind::Other => Err(Error::Config(format!(
            "cannot attest a predicate of kind {kind}"
        ))),
    }
}

/// Signs an attestation about a model and appends it to the claims file; returns the outcome as
/// JSON text.
#[pyfunction]
#[pyo3(signature = (model_path, signature_path, attestations_path, hash, signer, kind, spec))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn attest_model(
    py: Python<'_>,
    model_path: PathBuf,
    signature_path: PathBuf,
    attestations_path: Option<PathBuf>,
    hash: HashSpec,
    signer: SignerSpec,
    kind: String,
    spec: AttestSpec,
) -> PyResult<String> {
    let progress = progress_of(&hash.progress, py);
    let result = progress::run(py, &progress, || {
        let kind: Kind = kind.parse()?;
        check_model_exists(&model_path)?;
        let claims =
            attestations_path.unwrap_or_else(|| attest::default_claims_path(&signature_path));
        // Flags first, then the signer, then the hashing.
        let cfg = hashing_config(&model_path, &hash, Some(&progress))?;
        let signer = build_signer(&signer)?;
        let predicate = predicate(&kind, &spec)?;
        attest::attest(
            &model_path,
            &cfg,
            &signature_path,
            &claims,
            kind,
            &predicate,
            signer.as_ref(),
        )
    });
    let out = finish_progress(py, &progress, result, Op::Sign)?;
    serde_json::to_string(&out).map_err(|e| to_py_err(py, Error::Config(e.to_string()), Op::Sign))
}

/// The attestations part of a verification, from Python's keywords.
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct ClaimsSpec {
    /// The claims file; `None`: beside the signature.
    pub path: Option<PathBuf>,
    /// Kinds required.
    pub require: Vec<String>,
}

impl ClaimsSpec {
    /// The library's request, with a policy rule's requirements.
    pub(crate) fn request<'a>(
        &self,
        rule: Option<&'a attest::Requirements>,
    ) -> Result<attest::claims::Request<'a>, Error> {
        Ok(attest::claims::Request {
            path: self.path.clone(),
            kinds: attest::kinds(&self.require)?,
            rule,
            link_store: None,
        })
    }
}

/// The models whose verified provenance, in any of `claims`, records a package `uses` selects;
/// JSON text (a list of matches).
#[pyfunction]
pub(crate) fn query_claims(
    py: Python<'_>,
    claims: Vec<PathBuf>,
    verifier: VerifierSpec,
    uses: String,
) -> PyResult<String> {
    let result = py.allow_threads(|| -> Result<String, Error> {
        if verifier.method == "policy" {
            return Err(Error::Config(
                "a trust policy picks signers by model, and a query has no model: use a key, \
                 certificate or sigstore verifier"
                    .into(),
            ));
        }
        let uses = attest::query::Uses::parse(&uses)?;
        let v = build_verifier(&verifier)?;
        let mut found = Vec::new();
        for path in &claims {
            let report = attest::claims::verify(path, None, v.as_ref(), &[])?;
            found.extend(attest::query::find(&report, &uses));
        }
        serde_json::to_string(&found).map_err(|e| Error::Config(e.to_string()))
    });
    result.map_err(|e| to_py_err(py, e, Op::Verify))
}
