//! The model-card and evaluation-result predicates.
//!
//! **Model card** ([`super::MODEL_CARD_TYPE`]): following model-transparency #583/#584, the
//! Hugging Face YAML front matter of a card (`README.md`) is the metadata that gets bound; unlike
//! that proposal it is a statement of its own over the model's root digest, not a field added to
//! the OMS signature, so a card can be attested (and re-attested) after the model is signed. The
//! predicate is `{"card": {"name", "digest": {"sha256"}}, "metadata": {front matter as JSON}}`:
//! the card's bytes by digest, its metadata readable without the card. The front matter is read
//! with the trust policy's YAML rules (`crate::policy::file`): Hugging Face reads it with a YAML
//! 1.1 reader, so a value two readers would read differently (`license: no`, an unquoted date)
//! is refused, not guessed.
//!
//! **Evaluation results** ([`super::EVAL_TYPE`]): in-toto/attestation #565/#575 propose a
//! threshold-verdict predicate and are open; ours records what was measured, not a verdict:
//! `{"evaluator": {"name"}, "results": [{"benchmark", "metric", "value", "dataset":
//! {"name", "digest": {"sha256"}}, "samples"}]}`, read from a results file of the same shape
//! ([`eval_predicate`]).

use crate::error::{Error, Result};
use crate::oci::json::{Fields, Node};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The model-card predicate for the card file at `path`.
pub fn model_card_predicate(path: &Path) -> Result<Value> {
    let bytes = crate::secret_file::read_input(path, crate::limits::MAX_CARD_BYTES, "model card")?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::Config(format!(
            "the model card '{}' is not UTF-8 text",
            path.display()
        ))
    })?;
    let metadata = match front_matter(text) {
        None => Value::Object(Map::new()),
        Some(yaml) => {
            let bad = |why: String| {
                Error::Config(format!(
                    "the model card '{}' has front matter that cannot be read one way only: {}",
                    path.display(),
                    crate::error::untrusted_text(&why, 300)
                ))
            };
            crate::policy::file::refuse_characters(yaml).map_err(bad)?;
            let v: Value = crate::policy::file::yaml(yaml).map_err(bad)?;
            match v {
                Value::Object(_) => v,
                Value::Null => Value::Object(Map::new()),
                _ => return Err(bad("it is not a mapping".into())),
            }
        }
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("README.md")
        .to_string();
    Ok(json!({
        "card": { "name": name, "digest": { "sha256": hex::encode(Sha256::digest(&bytes)) } },
        "metadata": metadata,
    }))
}

/// The YAML between a first line `---` and the next line `---`, if the text starts that way.
fn front_matter(text: &str) -> Option<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut at = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']) == "---" {
            return rest.get(..at);
        }
        at += line.len();
    }
    None
}

/// The evaluation-result predicate from a results file (JSON): `{"evaluator": "NAME" (optional),
/// "results": [{"benchmark", "metric", "value" (a number), "dataset" ("sha256:HEX" or
/// {"name", "digest": "sha256:HEX"}, optional), "samples" (optional)}]}`. Keys other than these
/// are refused (a misspelt key would silently drop a result's meaning). `evaluator` overrides the
/// file's.
pub fn eval_predicate(path: &Path, evaluator: Option<&str>) -> Result<Value> {
    let bytes =
        crate::secret_file::read_input(path, crate::limits::MAX_CARD_BYTES, "results file")?;
    let bad = |why: String| {
        Error::Config(format!(
            "the results file '{}' is not valid: {}",
            path.display(),
            crate::error::untrusted_text(&why.replacen("invalid OCI document: ", "", 1), 300)
        ))
    };
    let node =
        crate::oci::json::parse(&bytes, "the results file").map_err(|e| bad(e.to_string()))?;
    let top = exact(&node, &["evaluator", "results"], "the file").map_err(bad)?;
    let name = match evaluator {
        Some(e) => Some(e.to_string()),
        None => top
            .str("evaluator")
            .map_err(|e| bad(e.to_string()))?
            .map(str::to_string),
    };
    let items = top
        .array("results")
        .map_err(|e| bad(e.to_string()))?
        .ok_or_else(|| bad("it has no results list".into()))?;
    if items.is_empty() || items.len() > crate::limits::MAX_EVAL_RESULTS {
        return Err(bad(format!(
            "it holds {} results; between 1 and {} are accepted",
            items.len(),
            crate::limits::MAX_EVAL_RESULTS
        )));
    }
    let mut results = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let what = format!("results[{i}]");
        let f = exact(
            it,
            &["benchmark", "metric", "value", "dataset", "samples"],
            &what,
        )
        .map_err(bad)?;
        let text = |k: &str| -> Result<String> {
            f.str(k)
                .map_err(|e| bad(e.to_string()))?
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| bad(format!("{what} has no {k}")))
        };
        let mut r = Map::new();
        r.insert("benchmark".into(), json!(text("benchmark")?));
        r.insert("metric".into(), json!(text("metric")?));
        let value = match f.get("value").map_err(|e| bad(e.to_string()))? {
            Some(Node::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => {
                Value::Number(n.clone())
            }
            _ => return Err(bad(format!("{what}.value is not a number"))),
        };
        super::provenance::one_reading(&value, &format!("{what}.value"))
            .map_err(|e| bad(e.to_string()))?;
        r.insert("value".into(), value);
        if let Some(s) = f.uint("samples").map_err(|e| bad(e.to_string()))? {
            r.insert("samples".into(), json!(s));
        }
        match f.get("dataset").map_err(|e| bad(e.to_string()))? {
            None => {}
            Some(Node::String(d)) => {
                let digest =
                    super::parse_digest(d).map_err(|e| bad(format!("{what}.dataset: {e}")))?;
                r.insert(
                    "dataset".into(),
                    json!({ "digest": { "sha256": hex::encode(digest) } }),
                );
            }
            Some(d) => {
                let df = exact(d, &["name", "digest"], &format!("{what}.dataset")).map_err(bad)?;
                let digest = df
                    .str("digest")
                    .map_err(|e| bad(e.to_string()))?
                    .ok_or_else(|| bad(format!("{what}.dataset has no digest")))?;
                let digest =
                    super::parse_digest(digest).map_err(|e| bad(format!("{what}.dataset: {e}")))?;
                let mut ds = Map::new();
                if let Some(n) = df.str("name").map_err(|e| bad(e.to_string()))? {
                    ds.insert("name".into(), json!(n));
                }
                ds.insert("digest".into(), json!({ "sha256": hex::encode(digest) }));
                r.insert("dataset".into(), Value::Object(ds));
            }
        }
        results.push(Value::Object(r));
    }
    let mut p = Map::new();
    if let Some(n) = name {
        p.insert("evaluator".into(), json!({ "name": n }));
    }
    p.insert("results".into(), Value::Array(results));
    Ok(Value::Object(p))
}

/// [`Fields`] over an object that may hold only `known` keys.
fn exact<'a>(
    node: &'a Node,
    known: &[&str],
    what: &str,
) -> std::result::Result<Fields<'a>, String> {
    let f = Fields::new(node, known, what).map_err(|e| e.to_string())?;
    if let Node::Object(entries) = node {
        if let Some((k, _)) = entries.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(format!(
                "{what} has the key '{}'; only {} are read",
                crate::oci::json::shown(k),
                known.join(", ")
            ));
        }
    }
    Ok(f)
}

/// A verified model card, as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CardSummary {
    /// The card's file name.
    pub name: String,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// `metadata.license`, when it is a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

/// One verified evaluation result.
#[derive(Debug, Clone, Serialize)]
pub struct EvalResult {
    /// The benchmark.
    pub benchmark: String,
    /// The metric.
    pub metric: String,
    /// The value, as recorded.
    pub value: Value,
    /// The dataset's root digest (hex), if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
}

/// Reads a verified model-card predicate.
pub fn read_card(p: &Node) -> Result<CardSummary> {
    let f = Fields::new(p, &["card", "metadata"], "predicate")?;
    let card = f
        .get("card")?
        .ok_or_else(|| Error::Attestation("the model card has no card".into()))?;
    let c = Fields::new(card, &["name", "digest"], "predicate.card")?;
    let digest = c.string_map("digest")?.unwrap_or_default();
    let sha256 = digest
        .get("sha256")
        .filter(|h| super::parse_digest(&format!("sha256:{h}")).is_ok())
        .cloned()
        .ok_or_else(|| Error::Attestation("the model card's digest is not a sha256".into()))?;
    let license = match f.get("metadata")? {
        Some(m @ Node::Object(_)) => Fields::new(m, &["license"], "predicate.metadata")?
            .get("license")?
            .and_then(|l| match l {
                Node::String(s) => Some(s.clone()),
                _ => None,
            }),
        Some(_) => {
            return Err(Error::Attestation(
                "the model card's metadata is not an object".into(),
            ))
        }
        None => None,
    };
    Ok(CardSummary {
        name: c.str("name")?.unwrap_or_default().to_string(),
        sha256,
        license,
    })
}

/// Reads a verified evaluation-result predicate.
pub fn read_eval(p: &Node) -> Result<(Option<String>, Vec<EvalResult>)> {
    let f = Fields::new(p, &["evaluator", "results"], "predicate")?;
    let evaluator = match f.get("evaluator")? {
        Some(e) => Fields::new(e, &["name"], "predicate.evaluator")?
            .str("name")?
            .map(str::to_string),
        None => None,
    };
    let mut out = Vec::new();
    for (i, r) in f.array("results")?.unwrap_or_default().iter().enumerate() {
        let what = format!("predicate.results[{i}]");
        let rf = Fields::new(
            r,
            &["benchmark", "metric", "value", "dataset", "samples"],
            what.clone(),
        )?;
        let value = match rf.get("value")? {
            Some(Node::Number(n)) => Value::Number(n.clone()),
            _ => return Err(Error::Attestation(format!("{what}.value is not a number"))),
        };
        let dataset = match rf.get("dataset")? {
            Some(d) => Fields::new(d, &["name", "digest"], format!("{what}.dataset"))?
                .string_map("digest")?
                .and_then(|m| m.get("sha256").cloned()),
            None => None,
        };
        out.push(EvalResult {
            benchmark: rf.str("benchmark")?.unwrap_or_default().to_string(),
            metric: rf.str("metric")?.unwrap_or_default().to_string(),
            value,
            dataset,
        });
    }
    Ok((evaluator, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_found() {
        assert_eq!(
            front_matter("---\nlicense: mit\n---\n# Card\n"),
            Some("license: mit\n")
        );
        assert_eq!(
            front_matter("---\r\nlicense: mit\r\n---\r\nx"),
            Some("license: mit\r\n")
        );
        assert_eq!(front_matter("# Card\n---\nx: y\n---\n"), None);
        assert_eq!(front_matter("---\nunterminated: 1\n"), None);
    }

    #[test]
    fn cards_and_results() {
        let d = tempfile::tempdir().unwrap();
        let card = d.path().join("README.md");
        std::fs::write(
            &card,
            "---\nlicense: apache-2.0\ntags: [a, b]\n---\n# Model\n",
        )
        .unwrap();
        let p = model_card_predicate(&card).unwrap();
        assert_eq!(p["metadata"]["license"], "apache-2.0");
        assert_eq!(p["card"]["name"], "README.md");
        // YAML 1.1 reads `no` as false, YAML 1.2 as a string: refused.
        std::fs::write(&card, "---\nlicense: no\n---\n").unwrap();
        assert!(model_card_predicate(&card).is_err());
        std::fs::write(&card, "---\nlicense: x\nlicense: y\n---\n").unwrap();
        assert!(model_card_predicate(&card).is_err());

        let r = d.path().join("results.json");
        let ds = format!("sha256:{}", "ab".repeat(32));
        std::fs::write(&r, format!(r#"{{"evaluator":"harness 1","results":[{{"benchmark":"mmlu","metric":"accuracy","value":0.71,"dataset":"{ds}","samples":100}}]}}"#)).unwrap();
        let p = eval_predicate(&r, None).unwrap();
        assert_eq!(p["results"][0]["value"], 0.71);
        assert_eq!(p["evaluator"]["name"], "harness 1");
        let node = crate::oci::json::parse(&serde_json::to_vec(&p).unwrap(), "p").unwrap();
        let (ev, res) = read_eval(&node).unwrap();
        assert_eq!(ev.as_deref(), Some("harness 1"));
        assert_eq!(res[0].dataset.as_deref(), Some("ab".repeat(32).as_str()));
        for bad in [
            r#"{"results":[]}"#,
            r#"{"results":[{"benchmark":"b","metric":"m","value":"high"}]}"#,
            r#"{"results":[{"benchmark":"b","metric":"m","value":1,"Value":2}]}"#,
            r#"{"results":[{"benchmark":"b","metric":"m","value":1,"extra":2}]}"#,
            r#"{"results":[{"benchmark":"b","metric":"m","value":1}],"results":[]}"#,
            r#"{"results":[{"benchmark":"b","metric":"m","value":1,"dataset":"sha256:xyz"}]}"#,
        ] {
            std::fs::write(&r, bad).unwrap();
            assert!(eval_predicate(&r, None).is_err(), "{bad}");
        }
    }
}
