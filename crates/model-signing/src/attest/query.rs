//! Package URLs and version ranges for `provenance query --uses`: which models were trained with
//! a given framework version (the incident-response question: "which of our models used the
//! vulnerable release?").
//!
//! A package URL is `pkg:TYPE/[NAMESPACE/]NAME[@VERSION]` (purl spec); qualifiers and subpath
//! are kept out of the comparison. Names compare as the ecosystem compares them: `pypi` names
//! per PEP 503 (case, `-`, `_` and `.` alike), other types case-sensitively except `TYPE`. A
//! query's version is one exact version or a range of comparators joined by `,` (all must hold):
//! `>=2.0,<2.2`, `==2.1.0`, `!=2.1.1`. Versions compare segment by segment on `.`, numerically
//! where both segments are numbers, else as text; `2.1` equals `2.1.0`.

use crate::error::{Error, Result};
use std::cmp::Ordering;

/// A parsed package URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    /// The type (`pypi`, `npm`, `generic`...), lowercase.
    pub ty: String,
    /// The namespace, if any (normalised for comparison).
    pub namespace: Option<String>,
    /// The name (normalised for comparison).
    pub name: String,
    /// The version, if any (percent-decoding is not applied).
    pub version: Option<String>,
}

impl Purl {
    /// Parses `pkg:TYPE/[NAMESPACE/]NAME[@VERSION][?QUALIFIERS][#SUBPATH]`.
    pub fn parse(text: &str) -> Result<Purl> {
        let bad = |why: &str| {
            Error::Config(format!(
                "'{}' is not a package URL ({why}; expected pkg:TYPE/NAME@VERSION)",
                crate::error::untrusted_text(text, 120)
            ))
        };
        if text.len() > 1024 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("too long, or holds spaces or control characters"));
        }
        let rest = text
            .strip_prefix("pkg:")
            .ok_or_else(|| bad("no pkg: scheme"))?;
        let rest = rest.split('#').next().unwrap_or_default();
        let rest = rest.split('?').next().unwrap_or_default();
        let (path, version) = match rest.rsplit_once('@') {
            Some((p, v)) if !v.is_empty() => (p, Some(v.to_string())),
            Some(_) => return Err(bad("an empty version")),
            None => (rest, None),
        };
        let mut parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad("no type and name"));
        }
        let ty = parts.remove(0).to_ascii_lowercase();
        if !ty.starts_with(|c: char| c.is_ascii_alphabetic())
            || !ty
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
        {
            return Err(bad("a type that is not letters, digits, '.', '+' or '-'"));
        }
        let name = parts.pop().unwrap_or_default();
        let namespace = (!parts.is_empty()).then(|| parts.join("/"));
        let norm = |s: &str| -> String {
            if ty == "pypi" {
                pep503(s)
            } else {
                s.to_string()
            }
        };
        Ok(Purl {
            name: norm(name),
            namespace: namespace.map(|n| norm(&n)),
            version,
            ty,
        })
    }

    /// Whether `other` names the same package (type, namespace and name).
    pub fn same_package(&self, other: &Purl) -> bool {
        self.ty == other.ty && self.namespace == other.namespace && self.name == other.name
    }
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_` and `.` as one `-`.
fn pep503(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut sep = false;
    for c in s.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// A `--uses` query: a package and, optionally, which of its versions.
#[derive(Debug, Clone)]
pub struct Uses {
    /// The package.
    pub package: Purl,
    /// Comparators that must all hold; empty: any version.
    pub constraints: Vec<(Op, String)>,
}

/// A version comparator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==` (or a bare version).
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Uses {
    /// Parses `pkg:TYPE/NAME`, `pkg:TYPE/NAME@VERSION` or `pkg:TYPE/NAME@RANGE`.
    pub fn parse(text: &str) -> Result<Uses> {
        let package = Purl::parse(text)?;
        let mut constraints = Vec::new();
        if let Some(v) = &package.version {
            for part in v.split(',') {
                let part = part.trim();
                let (op, ver) = [
                    ("==", Op::Eq),
                    ("!=", Op::Ne),
                    ("<=", Op::Le),
                    (">=", Op::Ge),
                    ("<", Op::Lt),
                    (">", Op::Gt),
                ]
                .iter()
                .find_map(|(p, op)| part.strip_prefix(p).map(|rest| (*op, rest.trim())))
                .unwrap_or((Op::Eq, part));
                if ver.is_empty() || ver.contains(['<', '>', '=', '!']) {
                    return Err(Error::Config(format!(
                        "'{}' is not a version range (e.g. >=2.0,<2.2)",
                        crate::error::untrusted_text(v, 80)
                    )));
                }
                constraints.push((op, ver.to_string()));
            }
        }
        Ok(Uses {
            package,
            constraints,
        })
    }

    /// Whether the package URL `recorded` (from a provenance) is a version this query selects.
    pub fn matches(&self, recorded: &str) -> bool {
        let Ok(p) = Purl::parse(recorded) else {
            return false;
        };
        if !self.package.same_package(&p) {
            return false;
        }
        let Some(v) = p.version else {
            return self.constraints.is_empty();
        };
        self.constraints.iter().all(|(op, want)| {
            let o = compare_versions(&v, want);
            match op {
                Op::Eq => o == Ordering::Equal,
                Op::Ne => o != Ordering::Equal,
                Op::Lt => o == Ordering::Less,
                Op::Le => o != Ordering::Greater,
                Op::Gt => o == Ordering::Greater,
                Op::Ge => o != Ordering::Less,
            }
        })
    }
}

/// Compares dotted versions segment by segment (missing segments count as `0`); numeric
/// segments numerically, others as text. A leading `v` is ignored.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let split = |s: &str| -> Vec<String> {
        s.trim_start_matches(['v', 'V'])
            .split(['.', '-', '+'])
            .map(str::to_string)
            .collect()
    };
    let (x, y) = (split(a), split(b));
    for i in 0..x.len().max(y.len()) {
        let s = x.get(i).map_or("0", String::as_str);
        let t = y.get(i).map_or("0", String::as_str);
        let o = match (s.parse::<u64>(), t.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            // A release sorts after its pre-releases: 2.1.0 > 2.1.0rc1 is out of reach of this
            // simple rule; a number sorts before text in the same place.
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => s.cmp(t),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// A model whose verified provenance records a package a query selects.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Match {
    /// The model (the attestation's subject).
    pub subject: super::Subject,
    /// The claims file.
    pub attestations: std::path::PathBuf,
    /// The line of the provenance.
    pub line: usize,
    /// The package URL as recorded.
    pub package: String,
    /// The provenance's builder.
    pub builder_id: String,
    /// Who signed the provenance.
    pub signer: String,
}

/// The provenances of a verified claims file that record a package `uses` selects, one match
/// per recorded package URL.
pub fn find(report: &super::AttestationReport, uses: &Uses) -> Vec<Match> {
    let mut out = Vec::new();
    for a in report.of_kind(&super::Kind::Provenance) {
        let Some(l) = &a.lineage else { continue };
        for d in &l.dependencies {
            if let Some(uri) = d.uri.as_deref().filter(|u| uses.matches(u)) {
                out.push(Match {
                    subject: a.subject.clone(),
                    attestations: report.path.clone(),
                    line: a.line,
                    package: uri.to_string(),
                    builder_id: l.builder_id.clone(),
                    signer: a.signer.signer.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        let p = Purl::parse("pkg:pypi/Torch_Vision@0.20.1").unwrap();
        assert_eq!(
            (p.ty.as_str(), p.name.as_str(), p.version.as_deref()),
            ("pypi", "torch-vision", Some("0.20.1"))
        );
        let p = Purl::parse("pkg:npm/%40scope/name@1.0.0?arch=x#sub").unwrap();
        assert_eq!(p.namespace.as_deref(), Some("%40scope"));
        for bad in [
            "torch",
            "pkg:pypi",
            "pkg:/x",
            "pkg:pypi/x@",
            "pkg:py pi/x",
            "pkg:1x/y",
        ] {
            assert!(Purl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn queries() {
        let q = Uses::parse("pkg:pypi/torch@>=2.0,<2.2").unwrap();
        assert!(q.matches("pkg:pypi/torch@2.1.0"));
        assert!(q.matches("pkg:pypi/Torch@2.0"));
        assert!(!q.matches("pkg:pypi/torch@2.2.0"));
        assert!(!q.matches("pkg:pypi/torch@1.13.1"));
        assert!(!q.matches("pkg:pypi/torchvision@2.1.0"));
        assert!(!q.matches("pkg:npm/torch@2.1.0"));
        let exact = Uses::parse("pkg:pypi/torch@2.1.0").unwrap();
        assert!(exact.matches("pkg:pypi/torch@2.1"));
        assert!(!exact.matches("pkg:pypi/torch@2.1.1"));
        assert!(!exact.matches("pkg:pypi/torch@2.10.0"));
        let any = Uses::parse("pkg:pypi/numpy").unwrap();
        assert!(any.matches("pkg:pypi/numpy@2.4.6"));
        assert!(Uses::parse("pkg:pypi/torch@>=").is_err());
        assert!(Uses::parse("pkg:pypi/torch@=>2").is_err());
        assert_eq!(compare_versions("2.10", "2.9"), Ordering::Greater);
        assert_eq!(compare_versions("v1.0", "1"), Ordering::Equal);
    }
}
