//! The attestation tests' shared setup (`tests/attestations.rs`, `tests/attestations_review.rs`):
//! the README's training pipeline, and reading what `attest` wrote.

use super::*;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

pub struct Pipeline {
    pub t: TempDir,
    pub key: KeyPair,
    pub data: PathBuf,
    pub base: PathBuf,
    pub model: PathBuf,
    pub sig: PathBuf,
    pub claims: PathBuf,
}

/// A dataset and a base model signed in place; a fine-tuned model signed, with its provenance
/// naming both by path, a model card and evaluation results: the training pipeline of the
/// README.
pub fn pipeline() -> Pipeline {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let data = make_small_model(t.path(), "data");
    let base = make_small_model(t.path(), "base");
    for m in [&data, &base] {
        sign_key(m, &key, &m.join("model.sig"), &[]).assert_success();
    }
    let model = make_small_model(t.path(), "tuned");
    write_file(
        &model,
        "README.md",
        "---\nlicense: apache-2.0\nbase_model: base\n---\n# Tuned\n",
    );
    let sig = model.join("model.sig");
    let claims = model.join("claims.jsonl");
    attest(
        &key,
        &model,
        &["provenance"],
        &[
            "--dataset",
            data.to_str().unwrap(),
            "--base-model",
            base.to_str().unwrap(),
            "--dependency",
            "pkg:pypi/torch@2.1.0",
            "--dependency",
            "pkg:pypi/transformers@5.25.0",
            "--source-repo",
            "https://git.example/acme/train",
            "--source-commit",
            COMMIT,
            "--entry-point",
            "train.py",
            "--param",
            "lr=0.001",
            "--builder-id",
            "https://ci.acme.example/runner",
            "--no-ci-environment",
        ],
    )
    .assert_success()
    .assert_stdout_contains("Attestation succeeded");
    sign_key(&model, &key, &sig, &[]).assert_success();
    attest(
        &key,
        &model,
        &[
            "model-card",
            "--card",
            model.join("README.md").to_str().unwrap(),
        ],
        &[],
    )
    .assert_success();
    let results = t.path().join("results.json");
    fs::write(
        &results,
        json!({"evaluator": "harness 1.0", "results": [
            {"benchmark": "mmlu", "metric": "accuracy", "value": 0.71, "samples": 14042}]})
        .to_string(),
    )
    .unwrap();
    attest(
        &key,
        &model,
        &["eval", "--results", results.to_str().unwrap()],
        &[],
    )
    .assert_success();
    Pipeline {
        t,
        key,
        data,
        base,
        model,
        sig,
        claims,
    }
}

/// `attest KIND... key --private-key K --signature MODEL/model.sig EXTRA MODEL`.
pub fn attest(key: &KeyPair, model: &Path, kind: &[&str], extra: &[&str]) -> Run {
    let mut a = crate::args!["attest"];
    a.extend(kind.iter().map(Into::into));
    a.extend(crate::args![
        "key",
        "--private-key",
        &key.private_key,
        "--signature",
        model.join("model.sig")
    ]);
    a.extend(extra.iter().map(Into::into));
    a.push(model.into());
    ms(a)
}

pub fn verify_with(p: &Pipeline, key: &KeyPair, extra: &[&str]) -> Run {
    verify_key(&p.model, key, &p.sig, extra)
}

pub fn lines(p: &Path) -> Vec<String> {
    fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn statement(line: &str) -> Value {
    use base64::Engine;
    let b: Value = serde_json::from_str(line).unwrap();
    let p = b["dsseEnvelope"]["payload"].as_str().unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(p).unwrap()).unwrap()
}

pub fn payload(sig: &Path) -> Value {
    statement(&fs::read_to_string(sig).unwrap().replace('\n', ""))
}

impl Pipeline {
    /// `verify --policy` of the model under a policy of one rule: the model's canonical path, the
    /// pipeline's key, and `attestations` (the YAML lines of its `attestations:` block, each
    /// indented six spaces).
    pub fn verify_under_policy(&self, attestations: &str) -> Run {
        let f = self.t.path().join("policy.yaml");
        fs::write(
            &f,
            format!(
                "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n  - models: [{{path: \"{}\"}}]\n    signers: [{{key: \"{}\"}}]\n    attestations:\n{attestations}",
                fs::canonicalize(&self.model).unwrap().display(),
                self.key.public_key.display()
            ),
        )
        .unwrap();
        ms(crate::args![
            "verify",
            "--policy",
            &f,
            "--signature",
            &self.sig,
            &self.model
        ])
    }
}

/// `provenance show key --public-key KEY --signature SIG EXTRA MODEL`.
pub fn show(key: &KeyPair, sig: &Path, model: &Path, extra: &[&str]) -> Run {
    let mut a = crate::args![
        "provenance",
        "show",
        "key",
        "--public-key",
        &key.public_key,
        "--signature",
        sig
    ];
    a.extend(extra.iter().map(Into::into));
    a.push(model.into());
    ms(a)
}
