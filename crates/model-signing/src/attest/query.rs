//! Package URLs and version ranges for `provenance query --uses`: which models were trained with
//! a given framework version (the incident-response question: "which of our models used the
//! vulnerable release?").
//!
//! A package URL is `pkg:TYPE/[NAMESPACE/]NAME[@VERSION]` (purl spec): components are
//! percent-decoded, qualifiers and subpath are kept out of the comparison. Names compare as the
//! ecosystem compares them: `pypi` names per PEP 503 (case, `-`, `_` and `.` alike), other types
//! exactly. A query's version is one exact version or a range of comparators joined by `,` (all
//! must hold): `>=2.0,<2.2`, `==2.1.0`, `!=2.1.1`.
//!
//! Versions are ordered as their ecosystem orders them: PEP 440 for `pypi` (epoch, release,
//! `.devN` before pre-releases `aN`/`bN`/`rcN` before the release before `.postN`; a local
//! version `+cu121` is its public version to a query that gives none), SemVer 2.0 precedence
//! for every other type (a pre-release `-rc.1` before its release, build metadata `+...`
//! ignored). A version that does not parse under those rules is compared segment by segment on
//! `.`, `-` and `+`, numerically where both segments are numbers. Comparisons are plain ordering:
//! `<2.5.1` selects `2.5.1rc1` (an incident question: "built before the fix?"), unlike PEP 440's
//! rule for what an installer may pick.

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
        // The scheme is case-insensitive (purl spec); the rest is not.
        let rest = text
            .get(..4)
            .filter(|s| s.eq_ignore_ascii_case("pkg:"))
            .and_then(|_| text.get(4..))
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
        let decode = |c: &str| percent_decode(c).ok_or_else(|| bad("a bad percent-encoding"));
        let name = decode(parts.pop().unwrap_or_default())?;
        let namespace = parts
            .iter()
            .map(|p| decode(p))
            .collect::<Result<Vec<_>>>()?;
        let namespace = (!namespace.is_empty()).then(|| namespace.join("/"));
        let version = version.map(|v| decode(&v)).transpose()?;
        let norm = |s: &str| -> String {
            if ty == "pypi" {
                pep503(s)
            } else {
                s.to_string()
            }
        };
        Ok(Purl {
            name: norm(&name),
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

/// `%XX` sequences decoded; `None` for a bad sequence or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
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
    /// Comparators that must all hold; empty: any version. A version ending in `.*` (with `==`
    /// or `!=`) is a prefix: `==2.5.*` selects every `2.5` release, pre-releases and local
    /// versions included.
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
                // What cannot be evaluated is refused, never matched as nothing (the second
                // review's `^4.17.0` and `2.5.*` silently found no model).
                let (base, prefix) = match ver.strip_suffix(".*") {
                    Some(b) => (b, true),
                    None => (ver, false),
                };
                let readable = match package.ty.as_str() {
                    "pypi" => Pep440::parse(base).is_some_and(|p| !prefix || p.is_release_only()),
                    // SemVer ecosystems, where `1.x` and `^1` are ranges.
                    "npm" | "cargo" | "golang" | "gem" | "nuget" | "composer" => {
                        plain_version(base)
                            && (if prefix {
                                split_core(base).is_some()
                            } else {
                                SemVer::parse(base).is_some()
                            })
                    }
                    _ => plain_version(base),
                };
                if !readable || (prefix && !matches!(op, Op::Eq | Op::Ne)) {
                    return Err(Error::Config(format!(
                        "'{}' is not a version range this tool can evaluate (comparators ==, !=, \
                         <, <=, >, >= joined by ',', versions as the ecosystem writes them, a \
                         trailing .* with == or !=; e.g. >=2.0,<2.2)",
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
        let ty = self.package.ty.as_str();
        self.constraints.iter().all(|(op, want)| {
            if let Some(base) = want.strip_suffix(".*") {
                let under = has_prefix(ty, &v, base);
                return if *op == Op::Ne { !under } else { under };
            }
            let o = compare_versions(ty, &v, want);
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

/// A version as package URLs spell pinned ones: letters, digits and `.`, `-`, `_`, `+`, `!`, not
/// empty, starting with a letter or digit (no range, wildcard or operator).
pub fn plain_version(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '!'))
}

/// Whether version `v` is under the release prefix `base` (`2.5` for `2.5.*`).
fn has_prefix(ty: &str, v: &str, base: &str) -> bool {
    if ty == "pypi" {
        if let (Some(x), Some(y)) = (Pep440::parse(v), Pep440::parse(base)) {
            return x.epoch == y.epoch
                && y.release
                    .iter()
                    .enumerate()
                    .all(|(i, n)| x.release.get(i).unwrap_or(&0) == n);
        }
        return false;
    }
    match (SemVer::parse(v), split_core(base)) {
        (Some(x), Some(b)) => b.iter().enumerate().all(|(i, n)| x.core.get(i) == Some(n)),
        _ => false,
    }
}

fn split_core(base: &str) -> Option<Vec<u64>> {
    base.trim_start_matches(['v', 'V'])
        .split('.')
        .map(|p| p.parse().ok())
        .collect()
}

/// Orders `a` against the query version `b` under the rules of package type `ty` (see the
/// module documentation). A local part of `a` counts only when `b` has one.
pub fn compare_versions(ty: &str, a: &str, b: &str) -> Ordering {
    if ty == "pypi" {
        if let (Some(x), Some(y)) = (Pep440::parse(a), Pep440::parse(b)) {
            let o = x.public_cmp(&y);
            if o != Ordering::Equal || y.local.is_empty() {
                return o;
            }
            return segments_cmp(&x.local, &y.local);
        }
    } else if let (Some(x), Some(y)) = (SemVer::parse(a), SemVer::parse(b)) {
        return x.cmp(&y);
    }
    segments_cmp(&split(a), &split(b))
}

fn split(v: &str) -> Vec<String> {
    v.trim_start_matches(['v', 'V'])
        .split(['.', '-', '+', '_'])
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Segment by segment, a missing one as `0`; numbers numerically and before text.
fn segments_cmp(x: &[String], y: &[String]) -> Ordering {
    for i in 0..x.len().max(y.len()) {
        let s = x.get(i).map_or("0", String::as_str);
        let t = y.get(i).map_or("0", String::as_str);
        let o = match (s.parse::<u64>(), t.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
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

/// A PEP 440 version, normalised.
#[derive(Debug)]
struct Pep440 {
    epoch: u64,
    release: Vec<u64>,
    /// `(phase, n)`: a 0, b 1, rc 2; `None` for none.
    pre: Option<(u8, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Vec<String>,
}

impl Pep440 {
    /// Only a release (what a `.*` prefix may be).
    fn is_release_only(&self) -> bool {
        self.pre.is_none() && self.post.is_none() && self.dev.is_none() && self.local.is_empty()
    }

    fn parse(text: &str) -> Option<Pep440> {
        let t = text.trim().to_ascii_lowercase();
        let t = t.strip_prefix('v').unwrap_or(&t);
        let (public, local) = match t.split_once('+') {
            Some((p, l)) => (p, l.split(['.', '-', '_']).map(str::to_string).collect()),
            None => (t, Vec::new()),
        };
        let (epoch, rest) = match public.split_once('!') {
            Some((e, r)) => (e.parse().ok()?, r),
            None => (0, public),
        };
        let bytes = rest.as_bytes();
        let digits_end = |from: usize| {
            bytes.get(from..).map_or(from, |b| {
                from + b.iter().take_while(|c| c.is_ascii_digit()).count()
            })
        };
        // Release: N(.N)*
        let mut release = Vec::new();
        let mut i = 0;
        loop {
            let end = digits_end(i);
            if end == i {
                return None;
            }
            release.push(rest.get(i..end)?.parse().ok()?);
            i = end;
            if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
            } else {
                break;
            }
        }
        let sep = |i: &mut usize| {
            if matches!(bytes.get(*i), Some(b'.' | b'-' | b'_')) {
                *i += 1;
            }
        };
        let number = |i: &mut usize| -> Option<u64> {
            let mut j = *i;
            sep(&mut j);
            let end = digits_end(j);
            if end == j {
                return Some(0);
            }
            let n = rest.get(j..end)?.parse().ok()?;
            *i = end;
            Some(n)
        };
        let word = |i: &mut usize, words: &[(&str, u8)]| -> Option<u8> {
            let mut j = *i;
            sep(&mut j);
            let tail = rest.get(j..)?;
            let (w, v) = words.iter().find(|(w, _)| tail.starts_with(w))?;
            *i = j + w.len();
            Some(*v)
        };
        let mut pre = None;
        let phases = [
            ("alpha", 0),
            ("beta", 1),
            ("preview", 2),
            ("pre", 2),
            ("rc", 2),
            ("a", 0),
            ("b", 1),
            ("c", 2),
        ];
        if let Some(phase) = word(&mut i, &phases) {
            pre = Some((phase, number(&mut i)?));
        }
        let mut post = None;
        if word(&mut i, &[("post", 0), ("rev", 0), ("r", 0)]).is_some() {
            post = Some(number(&mut i)?);
        } else if bytes.get(i) == Some(&b'-') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let end = digits_end(i + 1);
            post = Some(rest.get(i + 1..end)?.parse().ok()?);
            i = end;
        }
        let mut dev = None;
        if word(&mut i, &[("dev", 0)]).is_some() {
            dev = Some(number(&mut i)?);
        }
        if i != rest.len() {
            return None;
        }
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        Some(Pep440 {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    /// PEP 440's order of public versions: epoch, release, then `.devN` of a release before
    /// its pre-releases, pre-releases before the release, the release before its post-releases,
    /// a `.devN` before what it is the development of.
    fn public_cmp(&self, other: &Pep440) -> Ordering {
        fn key(v: &Pep440) -> (i64, u64, i64, u64, i64) {
            let (phase, n) = match (v.pre, v.post, v.dev) {
                (Some((p, n)), _, _) => (i64::from(p), n),
                // X.devN (no pre, no post) sorts before X's pre-releases.
                (None, None, Some(_)) => (-1, 0),
                _ => (3, 0),
            };
            let post = v.post.map_or(-1, |p| i64::try_from(p).unwrap_or(i64::MAX));
            let dev = v
                .dev
                .map_or(i64::MAX, |d| i64::try_from(d).unwrap_or(i64::MAX));
            (phase, n, post, 0, dev)
        }
        let release = |v: &Pep440| v.release.clone();
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| {
                let (a, b) = (release(self), release(other));
                let n = a.len().max(b.len());
                (0..n)
                    .map(|i| a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0)))
                    .find(|o| *o != Ordering::Equal)
                    .unwrap_or(Ordering::Equal)
            })
            .then_with(|| key(self).cmp(&key(other)))
    }
}

/// A SemVer 2.0 version (a leading `v` allowed, missing minor or patch as `0`).
#[derive(Debug, PartialEq, Eq)]
struct SemVer {
    core: [u64; 3],
    pre: Vec<String>,
}

impl SemVer {
    fn parse(text: &str) -> Option<SemVer> {
        let t = text.trim().strip_prefix(['v', 'V']).unwrap_or(text.trim());
        let t = t.split('+').next().unwrap_or_default();
        let (core, pre) = match t.split_once('-') {
            Some((c, p)) => (c, p.split('.').map(str::to_string).collect::<Vec<_>>()),
            None => (t, Vec::new()),
        };
        if pre.iter().any(String::is_empty) {
            return None;
        }
        let mut parts = core.split('.');
        let mut out = [0u64; 3];
        for (i, slot) in out.iter_mut().enumerate() {
            match parts.next() {
                Some(p) => *slot = p.parse().ok()?,
                None if i > 0 => break,
                None => return None,
            }
        }
        if parts.next().is_some() {
            return None;
        }
        Some(SemVer { core: out, pre })
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SemVer {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core
            .cmp(&other.core)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let o = match (a.parse::<u64>(), b.parse::<u64>()) {
                            (Ok(x), Ok(y)) => x.cmp(&y),
                            (Ok(_), Err(_)) => Ordering::Less,
                            (Err(_), Ok(_)) => Ordering::Greater,
                            _ => a.cmp(b),
                        };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            })
    }
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
        assert_eq!(p.namespace.as_deref(), Some("@scope"));
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
        assert_eq!(compare_versions("pypi", "2.10", "2.9"), Ordering::Greater);
        assert_eq!(compare_versions("pypi", "v1.0", "1"), Ordering::Equal);
    }

    /// Review finding F4: pre-releases, local versions, percent-encoding.
    #[test]
    fn versions_order_as_their_ecosystem_orders_them() {
        let m = |q: &str, v: &str| Uses::parse(q).unwrap().matches(v);
        // PEP 440: dev < pre-releases < release < post-releases.
        assert!(m("pkg:pypi/torch@<2.5.2", "pkg:pypi/torch@2.5.1rc1"));
        assert!(m("pkg:pypi/torch@<2.5.1", "pkg:pypi/torch@2.5.1rc1"));
        assert!(!m("pkg:pypi/torch@>2.5.1", "pkg:pypi/torch@2.5.1rc1"));
        assert!(!m("pkg:pypi/torch@>2.5.1", "pkg:pypi/torch@2.5.1a"));
        assert!(m("pkg:pypi/torch@>2.5.1", "pkg:pypi/torch@2.5.1.post1"));
        assert!(m("pkg:pypi/torch@<2.5.1a1", "pkg:pypi/torch@2.5.1.dev3"));
        assert!(m("pkg:pypi/torch@>2.5.1b2", "pkg:pypi/torch@2.5.1rc1"));
        // A local version is its public version to a query without one.
        assert!(m("pkg:pypi/torch@2.5.1", "pkg:pypi/torch@2.5.1+cu121"));
        assert!(m("pkg:pypi/torch@==2.5.1", "pkg:pypi/torch@2.5.1+cu121"));
        assert!(!m("pkg:pypi/torch@>2.5.1", "pkg:pypi/torch@2.5.1+cu121"));
        assert!(m(
            "pkg:pypi/torch@>=2.5,<2.5.2",
            "pkg:pypi/torch@2.5.1%2Bcu121"
        ));
        assert!(m(
            "pkg:pypi/torch@2.5.1+cu121",
            "pkg:pypi/torch@2.5.1%2Bcu121"
        ));
        assert!(!m(
            "pkg:pypi/torch@2.5.1+cu118",
            "pkg:pypi/torch@2.5.1+cu121"
        ));
        // Percent-encoded names are their decoded names.
        assert!(m("pkg:pypi/torch", "pkg:pypi/tor%63h@2.5.1"));
        // SemVer elsewhere: a pre-release before its release, build metadata ignored.
        assert!(!m("pkg:npm/left-pad@>1.3.0", "pkg:npm/left-pad@1.3.0-rc.1"));
        assert!(m("pkg:npm/left-pad@<1.3.0", "pkg:npm/left-pad@1.3.0-rc.1"));
        assert!(m(
            "pkg:npm/left-pad@<1.3.0-rc.2",
            "pkg:npm/left-pad@1.3.0-rc.1"
        ));
        assert!(m(
            "pkg:npm/left-pad@<1.3.0-rc.10",
            "pkg:npm/left-pad@1.3.0-rc.9"
        ));
        assert!(m(
            "pkg:npm/left-pad@1.3.0",
            "pkg:npm/left-pad@1.3.0+build.5"
        ));
        assert!(Purl::parse("pkg:pypi/tor%zzch@1").is_err());
    }

    /// Second review: ranges that cannot be evaluated are refused, not matched as nothing;
    /// prefixes; the scheme's case.
    #[test]
    fn unreadable_ranges_are_refused_and_prefixes_work() {
        for q in [
            "pkg:npm/lodash@^4.17.0",
            "pkg:pypi/torch@~=2.5",
            "pkg:pypi/torch@>=2.5.*",
            "pkg:pypi/torch@2.*.1",
            "pkg:npm/x@1.x",
            "pkg:pypi/torch@===2.5",
        ] {
            assert!(Uses::parse(q).is_err(), "{q}");
        }
        let m = |q: &str, v: &str| Uses::parse(q).unwrap().matches(v);
        assert!(m("pkg:pypi/torch@==2.5.*", "pkg:pypi/torch@2.5.1"));
        assert!(m("pkg:pypi/torch@2.5.*", "pkg:pypi/torch@2.5.1rc1"));
        assert!(m("pkg:pypi/torch@2.5.*", "pkg:pypi/torch@2.5.1+cu121"));
        assert!(!m("pkg:pypi/torch@2.5.*", "pkg:pypi/torch@2.50.0"));
        assert!(m("pkg:pypi/torch@!=2.5.*", "pkg:pypi/torch@2.4.0"));
        assert!(m("pkg:npm/lodash@4.17.*", "pkg:npm/lodash@4.17.20"));
        assert!(m("pkg:pypi/torch", "PKG:pypi/torch@2.5.1"));
        assert!(plain_version("2.5.1+cu121") && !plain_version(">=0") && !plain_version("2.5.*"));
    }
}
