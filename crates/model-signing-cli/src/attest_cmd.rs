//! `attest`, `provenance show`, `provenance query`, and the attestation part of `verify`.
//!
//! Parses flags into the library's inputs and renders its reports; what an attestation holds and
//! how it is checked is `model_signing::attest`'s.

use crate::args::OutputFormat;
use crate::args_attest::{AttestKind, ProvenanceAction, ProvenanceArgs, QueryMethod, ShowCmd};
use crate::config;
use crate::out;
use crate::run::{self, Trust};
use anyhow::{bail, Context, Result};
use model_signing::attest::provenance::{self, Input, Plan};
use model_signing::attest::{self, AttestationReport, Kind};
use model_signing::error::untrusted_text;
use model_signing::verify::{self, BundleVerifier, VerifyOptions};
use model_signing::Error as LibError;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The error prefix of `attest`.
pub const ATTEST_FAILED: &str = "Attestation failed with error";
/// The error prefix of `provenance query`.
pub const QUERY_FAILED: &str = "Query failed with error";

/// Runs `attest KIND ...`.
pub fn attest(kind: AttestKind) -> ExitCode {
    let output = kind.method().common().output;
    match attest_cmd(kind) {
        Ok(outcome) => {
            let text = match output {
                OutputFormat::Json => {
                    let mut v = serde_json::to_value(&outcome).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("attested".into(), true.into());
                    }
                    out::json(&v)
                }
                OutputFormat::Text => "Attestation succeeded".to_string(),
            };
            out::success(&text, "the attestation was appended")
        }
        Err(e) => {
            if output == OutputFormat::Json {
                let v = serde_json::json!({ "attested": false, "error": run::render(&e) });
                out::failure_report(&out::json(&v));
            }
            run::fail(ATTEST_FAILED, &e)
        }
    }
}

/// The provenance plan from the flags, checked before any key is loaded or model hashed.
fn provenance_plan(a: &ProvenanceArgs) -> Result<Plan> {
    let mut parameters = serde_json::Map::new();
    if let Some(f) = &a.params_file {
        let bytes = model_signing::secret_file::read_input(
            f,
            model_signing::limits::MAX_CARD_BYTES,
            "parameters file",
        )?;
        parameters = provenance::parameters(&bytes)
            .with_context(|| format!("the parameters file '{}'", f.display()))?;
    }
    for p in &a.param {
        let Some((k, v)) = p.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            bail!("--param '{}' is not K=V", untrusted_text(p, 100));
        };
        parameters.insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    let input = Input {
        source_repo: a.source_repo.clone(),
        source_commit: a.source_commit.clone(),
        source_ref: a.source_ref.clone(),
        entry_point: a.entry_point.clone(),
        parameters,
        packages: a.dependency.clone(),
        builder_id: a.builder_id.clone(),
        invocation_id: a.invocation_id.clone(),
        started_on: a.started_on.clone(),
        finished_on: a.finished_on.clone(),
        ..Default::default()
    };
    let ci = (!a.no_ci_environment).then(|| provenance::ci_environment(&|k| std::env::var(k).ok()));
    Ok(Plan::new(input, &a.dataset, &a.base_model, ci)?)
}

fn attest_cmd(kind: AttestKind) -> Result<attest::AttestOutcome> {
    let model = &kind.method().common().model_path;
    // What the path names, by the library's rule (an `oci://` spelling that does not parse is
    // still an image's).
    let oci = model_signing::oci::detect(model).map_or(true, |s| {
        !matches!(s, model_signing::oci::ModelSource::Files(_))
    });
    if oci {
        return Err(LibError::Unsupported(
            "attesting an OCI image (attest a directory model; its root digest is the subject)"
                .into(),
        )
        .into());
    }
    // Flags first: a bad one fails before a key's password is asked for or a model hashed.
    enum Pending {
        Provenance(Box<Plan>),
        Ready(Kind, serde_json::Value),
    }
    let (claims, pending, method) = match kind {
        AttestKind::Provenance(c) => {
            let c = *c;
            let plan = provenance_plan(&c.args)?;
            (
                c.claims.attestations,
                Pending::Provenance(Box::new(plan)),
                c.method,
            )
        }
        AttestKind::ModelCard(c) => {
            let card = c.card.context("attest model-card needs --card PATH")?;
            let p = attest::card::model_card_predicate(&card)?;
            (
                c.claims.attestations,
                Pending::Ready(Kind::ModelCard, p),
                c.method,
            )
        }
        AttestKind::Eval(c) => {
            let results = c.results.context("attest eval needs --results PATH")?;
            let p = attest::card::eval_predicate(&results, c.evaluator.as_deref())?;
            (
                c.claims.attestations,
                Pending::Ready(Kind::Eval, p),
                c.method,
            )
        }
    };
    let (target, signer) = run::signer_of(method)?;
    let config::Target::Files(cfg) = target else {
        return Err(LibError::Unsupported(
            "attesting an OCI image (attest a directory model; its root digest is the subject)"
                .into(),
        )
        .into());
    };
    let claims = claims.unwrap_or_else(|| attest::default_claims_path(&cfg.signature));
    let (kind, predicate) = match pending {
        Pending::Ready(k, p) => (k, p),
        Pending::Provenance(plan) => {
            let predicate = plan.predicate(&mut |p, a| {
                tracing::info!(
                    "{} ({}): sha256:{}",
                    untrusted_text(&p.display().to_string(), 300),
                    untrusted_text(&a.name, 200),
                    hex::encode(a.digest)
                )
            })?;
            (Kind::Provenance, predicate)
        }
    };
    let outcome = attest::attest(
        &cfg.model,
        &cfg.hashing,
        &cfg.signature,
        &claims,
        kind,
        &predicate,
        signer.as_ref(),
    )?;
    for w in &outcome.warnings {
        tracing::warn!("{w}");
    }
    tracing::info!(
        "attested {} of {} (sha256:{}) as line {} of {}",
        outcome.kind,
        untrusted_text(&outcome.subject.name, 200),
        hex::encode(outcome.subject.root_digest),
        outcome.line,
        untrusted_text(&outcome.attestations.display().to_string(), 300)
    );
    if let Some(id) = &outcome.identity {
        tracing::info!("signed as {} ({})", id.identity, id.identity_provider);
    }
    Ok(outcome)
}

/// The attestation part of `verify` (and `provenance show`): with `--attestations`, `--require`
/// or a policy rule that asks for attestations, every line of the claims file is verified with
/// the model's own verifier against its verified root digest, and the requirements checked.
pub fn verify_claims(
    t: &Trust<'_>,
    report: &verify::VerifyReport,
) -> Result<Option<AttestationReport>> {
    let common = t.common;
    let request = attest::claims::Request {
        path: common.attestations.clone(),
        kinds: attest::kinds(&common.require)?,
        rule: t.rule,
        link_store: None,
    };
    if !request.wanted() {
        return Ok(None);
    }
    let config::Target::Files(c) = t.target else {
        return Err(LibError::Unsupported(
            "verifying attestations about an OCI image (verify a pulled copy of it)".into(),
        )
        .into());
    };
    let Some(r) = attest::claims::verify_for_model(&request, &c.signature, report, t.verifier)?
    else {
        return Ok(None);
    };
    let path = &r.path;
    let kinds: Vec<String> = r
        .attestations
        .iter()
        .map(|a| format!("{} (line {})", a.kind, a.line))
        .collect();
    tracing::info!(
        "verified {} attestations in {}: {}",
        r.attestations.len(),
        path.display(),
        kinds.join(", ")
    );
    Ok(Some(r))
}

/// Runs a `provenance` action.
pub fn provenance(action: ProvenanceAction) -> ExitCode {
    match action {
        ProvenanceAction::Show(cmd) => show(cmd),
        ProvenanceAction::Query(q) => query(q.method),
    }
}

/// How a dependency's signed copy compared with what the provenance records.
#[derive(Debug, serde::Serialize)]
struct DependencyCheck {
    /// The copy.
    path: PathBuf,
    /// The name it is matched by (its directory's name).
    name: String,
    /// `verified`, `mismatch` (its signature verifies, for another digest), `failed` (it does not
    /// verify), `unmatched` (the provenance names no dependency of that name).
    status: &'static str,
    /// What was found.
    detail: String,
    /// The copy's verified root digest (hex), when its signature verified.
    #[serde(serialize_with = "hex_opt", skip_serializing_if = "Option::is_none")]
    digest: Option<[u8; 32]>,
}

fn hex_opt<S: serde::Serializer>(d: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&hex::encode(d)),
        None => s.serialize_none(),
    }
}

fn show(mut cmd: ShowCmd) -> ExitCode {
    let output = cmd.method.common().output;
    // The lineage is the provenance's: one must be there.
    let common = cmd.method.common_mut();
    if !common.require.iter().any(|k| k == "provenance") {
        common.require.push("provenance".into());
    }
    let copies = std::mem::take(&mut cmd.dependency_copy);
    let result = run::with_trust(cmd.method, |t| {
        let report = run::run_verify(&t)?;
        let atts = report
            .attestations
            .as_ref()
            .context("internal: no attestations were verified")?;
        let checks = copies
            .iter()
            .map(|c| check_copy(c, &t, atts))
            .collect::<Result<Vec<_>>>()?;
        Ok((report, checks))
    });
    match result {
        Ok((report, checks)) => {
            let failed = checks.iter().filter(|c| c.status != "verified").count();
            let text = match output {
                OutputFormat::Json => {
                    let v = serde_json::json!({
                        "verified": failed == 0,
                        "model": report,
                        "dependency_checks": checks,
                    });
                    out::json(&v)
                }
                OutputFormat::Text => tree(&report, &checks),
            };
            if failed == 0 {
                return out::success(&text, "the lineage was verified");
            }
            out::failure_report(&text);
            let e = anyhow::anyhow!(
                "{failed} of the {} dependency copies given do not match the provenance",
                checks.len()
            );
            run::fail(run::VERIFY_FAILED, &e)
        }
        Err(e) => {
            if output == OutputFormat::Json {
                let v = serde_json::json!({ "verified": false, "error": run::render(&e) });
                out::failure_report(&out::json(&v));
            }
            run::fail(run::VERIFY_FAILED, &e)
        }
    }
}

/// Verifies one dependency copy with the model's trust (a policy's own rule for the copy) and
/// compares its verified root digest with the one the provenance records under its name.
fn check_copy(spec: &str, t: &Trust<'_>, atts: &AttestationReport) -> Result<DependencyCheck> {
    let (path, signature) = match spec.split_once('=') {
        Some((p, s)) => (PathBuf::from(p), PathBuf::from(s)),
        None => (PathBuf::from(spec), Path::new(spec).join("model.sig")),
    };
    let name = model_signing::sign::model_name(&path);
    let recorded: Vec<[u8; 32]> = atts
        .of_kind(&Kind::Provenance)
        .filter_map(|a| a.lineage.as_ref())
        .flat_map(|l| l.dependencies.iter())
        .filter(|d| d.name == name && matches!(d.role.as_str(), "dataset" | "base-model"))
        .filter_map(|d| d.sha256)
        .collect();
    let verified = match t.policy {
        Some(p) => {
            let canonical = model_signing::walk::canonical_root(&path)?;
            p.verifier_for(&model_signing::policy::ModelRef::Path(&canonical))
                .and_then(|v| {
                    verify::verify_model(&canonical, &signature, &v, &VerifyOptions::default())
                })
        }
        None => verify::verify_model(&path, &signature, t.verifier, &VerifyOptions::default()),
    };
    let digest = verified.as_ref().ok().and_then(|r| r.root_digest);
    let (status, detail) =
        match (verified, recorded.is_empty()) {
            (_, true) => (
                "unmatched",
                "the provenance names no dataset or base model of this name".into(),
            ),
            (Err(e), _) => (
                "failed",
                format!(
                    "its copy does not verify: {}",
                    untrusted_text(&model_signing::error::chain_text(&e), 2000)
                ),
            ),
            (Ok(r), _) => match r.root_digest {
                Some(d) if recorded.contains(&d) => (
                    "verified",
                    format!(
                        "signed by {}, sha256:{}",
                        untrusted_text(&r.signer.signer, 200),
                        hex::encode(d)
                    ),
                ),
                d => (
                    "mismatch",
                    format!(
                    "its signature verifies, for sha256:{}, but the provenance records sha256:{}",
                    d.map(hex::encode).unwrap_or_else(|| "(none)".into()),
                    recorded.iter().map(hex::encode).collect::<Vec<_>>().join(", sha256:")
                ),
                ),
            },
        };
    Ok(DependencyCheck {
        path,
        name,
        status,
        detail,
        digest,
    })
}

/// The lineage as a tree, every attestation-supplied text escaped and on its line.
fn tree(report: &verify::VerifyReport, checks: &[DependencyCheck]) -> String {
    let esc = |s: &str| untrusted_text(s, 300);
    let mut out = format!(
        "{} sha256:{}\n  signed by {}\n",
        esc(&report.model_name),
        report.root_digest.map(hex::encode).unwrap_or_default(),
        esc(&report.signer.signer)
    );
    let Some(atts) = &report.attestations else {
        return out;
    };
    for a in &atts.attestations {
        out.push_str(&format!(
            "  {} (line {}), signed by {}\n",
            a.kind,
            a.line,
            esc(&a.signer.signer)
        ));
        if let Some(l) = &a.lineage {
            out.push_str(&format!("    builder: {}\n", esc(&l.builder_id)));
            if let Some(r) = &l.source_repository {
                out.push_str(&format!(
                    "    code: {} @ {}\n",
                    esc(r),
                    esc(l.source_commit.as_deref().unwrap_or("?"))
                ));
            }
            if let Some(e) = &l.entry_point {
                out.push_str(&format!("    entry point: {}\n", esc(e)));
            }
            for d in &l.dependencies {
                let what = match (&d.sha256, &d.uri) {
                    (Some(h), _) => format!("{} sha256:{}", esc(&d.name), hex::encode(h)),
                    (None, Some(u)) => esc(u),
                    (None, None) => esc(&d.name),
                };
                // A copy vouches only for the entry whose digest it has (the outside review had
                // two datasets of one name share one copy's check); a copy that failed is shown
                // on every entry of its name.
                let named = |c: &&DependencyCheck| c.name == d.name && d.sha256.is_some();
                let check = checks
                    .iter()
                    .filter(named)
                    .find(|c| c.status == "verified" && c.digest == d.sha256)
                    .or_else(|| {
                        checks
                            .iter()
                            .filter(named)
                            .find(|c| matches!(c.status, "failed" | "mismatch"))
                    })
                    .map(|c| format!(" [{}: {}]", c.status, c.detail))
                    .unwrap_or_else(|| {
                        if matches!(d.role.as_str(), "dataset" | "base-model") {
                            " [signed copy not checked]".into()
                        } else {
                            String::new()
                        }
                    });
                let role = if d.role.is_empty() {
                    "dependency"
                } else {
                    d.role.as_str()
                };
                if role != "source" {
                    out.push_str(&format!("    {}: {what}{check}\n", esc(role)));
                }
            }
        }
        if let Some(c) = &a.card {
            out.push_str(&format!(
                "    card: {} sha256:{}{}\n",
                esc(&c.name),
                c.sha256,
                c.license
                    .as_deref()
                    .map(|l| format!(", license {}", esc(l)))
                    .unwrap_or_default()
            ));
        }
        if let Some(e) = &a.evaluator {
            out.push_str(&format!("    evaluator: {}\n", esc(e)));
        }
        for r in &a.results {
            out.push_str(&format!(
                "    {} {}: {}\n",
                esc(&r.benchmark),
                esc(&r.metric),
                esc(&r.value.to_string())
            ));
        }
    }
    for c in checks.iter().filter(|c| c.status == "unmatched") {
        out.push_str(&format!(
            "  copy {} ({}): {}\n",
            esc(&c.path.display().to_string()),
            esc(&c.name),
            c.detail
        ));
    }
    out.trim_end().to_string()
}

fn query(method: QueryMethod) -> ExitCode {
    let output = method.common().output;
    match query_cmd(method) {
        Ok(matches) => {
            let text = match output {
                OutputFormat::Json => {
                    out::json(&serde_json::to_value(&matches).unwrap_or_default())
                }
                OutputFormat::Text => matches
                    .iter()
                    .map(|m| {
                        format!(
                            "sha256:{} {}: {} ({} line {}, built by {})",
                            hex::encode(m.subject.root_digest),
                            untrusted_text(&m.subject.name, 200),
                            untrusted_text(&m.package, 200),
                            m.attestations.display(),
                            m.line,
                            untrusted_text(&m.builder_id, 200)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            if matches.is_empty() && output == OutputFormat::Text {
                tracing::info!("no verified provenance records that package");
                return ExitCode::SUCCESS;
            }
            out::success(&text, "the query ran")
        }
        Err(e) => {
            if output == OutputFormat::Json {
                let v = serde_json::json!({ "error": run::render(&e) });
                out::failure_report(&out::json(&v));
            }
            run::fail(QUERY_FAILED, &e)
        }
    }
}

fn query_cmd(method: QueryMethod) -> Result<Vec<attest::query::Match>> {
    let uses = attest::query::Uses::parse(&method.common().uses)?;
    let (common, verifier): (_, Box<dyn BundleVerifier>) = match method {
        QueryMethod::Key(a) => (a.common, Box::new(run::key_verifier(&a.trust)?)),
        QueryMethod::Certificate(a) => (a.common, Box::new(run::certificate_verifier(&a.trust)?)),
        QueryMethod::Sigstore(a) => (
            a.common,
            Box::new(crate::sigstore_verify::verifier(&a.trust)?.0),
        ),
    };
    let mut found = Vec::new();
    for path in &common.claims {
        let report = attest::claims::verify(path, None, verifier.as_ref(), &[])?;
        found.extend(attest::query::find(&report, &uses));
    }
    Ok(found)
}
