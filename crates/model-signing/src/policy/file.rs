//! Reading a policy file: our own format (`kind: Policy`) or the model-validation operator's
//! `ModelValidation` resource, both YAML.
//!
//! A policy is a file whoever runs the verifier wrote, but it travels (a ConfigMap, a repository)
//! and Kubernetes reads the `ModelValidation` one too, so it is read as hostile input: at most
//! [`crate::limits::MAX_POLICY_FILE_BYTES`], a regular file; one YAML document; duplicate keys,
//! aliases, merge keys (`<<`), tags and YAML 1.1 booleans (`yes`, `on`) refused; every key must
//! be one this format defines, spelled exactly (Go's readers match keys without regard to case,
//! so a `CertificateIdentity` we skipped could be the one the operator uses); at most
//! [`crate::limits::MAX_POLICY_RULES`] rules. What kind of document it is comes from its `kind`,
//! never from which fields happen to be present.

use super::{ModelPattern, Policy, Rule, TrustedSigner};
use crate::error::{Error, Result};
use crate::hashing::HashAlgorithm;
use crate::limits::{MAX_POLICY_FILE_BYTES, MAX_POLICY_RULES};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Reads the policy at `path`. Relative paths inside it (keys, certificates) are relative to the
/// policy file's directory.
pub fn load(path: &Path) -> Result<Policy> {
    let bytes = crate::secret_file::read_regular(path, MAX_POLICY_FILE_BYTES)
        .map_err(|e| Error::Config(format!("cannot read the policy '{}': {e}", path.display())))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::Config(format!("the policy '{}' is not UTF-8 text", path.display())))?;
    // Relative paths in the policy are relative to the file itself, not to a link to it.
    let real = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
    let base = real.parent().unwrap_or(Path::new("/"));
    parse(text, path, base)
}

/// Parses policy `text` (from `source`), resolving relative paths against `base`.
pub fn parse(text: &str, source: &Path, base: &Path) -> Result<Policy> {
    let bad = |what: String| {
        Error::Config(format!(
            "the policy '{}' is not valid: {}",
            source.display(),
            crate::error::untrusted_text(&what, 400)
        ))
    };
    refuse_characters(text).map_err(bad)?;
    let head: Head = yaml(text).map_err(bad)?;
    let mut signature = None;
    let mut loader = Loader::default();
    let rules = match (head.api_version.as_str(), head.kind.as_str()) {
        (POLICY_API, "Policy") => {
            let doc: PolicyDoc = yaml(text).map_err(bad)?;
            doc.rules
                .into_iter()
                .enumerate()
                .map(|(i, r)| rule(r, i, base, &mut loader))
                .collect::<std::result::Result<Vec<_>, String>>()
                .map_err(bad)?
        }
        (MODEL_VALIDATION_API, "ModelValidation") => {
            let doc: ModelValidation = yaml(text).map_err(bad)?;
            signature = doc
                .spec
                .model
                .signature_path
                .clone()
                .map(|p| absolute(PathBuf::from(p), "spec.model.signaturePath"))
                .transpose()
                .map_err(bad)?;
            vec![model_validation(doc, &mut loader).map_err(bad)?]
        }
        (api, kind) => {
            return Err(bad(format!(
                "apiVersion '{api}' and kind '{kind}' name no policy this tool reads (expected \
                 {POLICY_API} Policy, or {MODEL_VALIDATION_API} ModelValidation)"
            )))
        }
    };
    if rules.is_empty() {
        return Err(bad("it has no rules".into()));
    }
    if rules.len() > MAX_POLICY_RULES {
        return Err(bad(format!(
            "it has {} rules, more than the {MAX_POLICY_RULES} accepted",
            rules.len()
        )));
    }
    Ok(Policy {
        source: source.to_path_buf(),
        rules,
        signature,
    })
}

/// Our format's `apiVersion`.
pub const POLICY_API: &str = "model-signing.openssf.org/v1";
/// The model-validation operator's `apiVersion`.
pub const MODEL_VALIDATION_API: &str = "ml.sigstore.dev/v1alpha1";

/// Deserializes one strict YAML document into `T`, after [`refuse_ambiguous`].
pub(crate) fn yaml<T: serde::de::DeserializeOwned>(text: &str) -> std::result::Result<T, String> {
    refuse_ambiguous(text)?;
    let mut o = serde_saphyr::options::Options::default();
    o.no_schema = true;
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_anchors = 0;
    budget.max_aliases = 0;
    budget.max_depth = 32;
    budget.max_documents = 1;
    budget.max_nodes = 1_000_000;
    o.budget = Some(budget);
    o.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::Error;
    o.merge_keys = serde_saphyr::options::MergeKeyPolicy::Error;
    o.strict_booleans = true;
    o.reject_unsupported_tags = true;
    o.with_snippet = false;
    o.crop_radius = 0;
    o.alias_limits.max_total_replayed_events = 0;
    o.alias_limits.max_alias_expansions_per_anchor = 0;
    serde_saphyr::from_str_with_options(text, o).map_err(|e| {
        let text = e.to_string();
        if text.contains("budget breached") {
            "it is nested more than 32 levels deep or holds more than 1,000,000 values".into()
        } else {
            text
        }
    })
}

/// Characters refused anywhere in a policy, before it is parsed: YAML 1.1 readers (Kubernetes'
/// go-yaml v2, PyYAML) end a line at NEL, LS and PS where YAML 1.2 does not, so text after one in
/// a comment is a comment to us and a rule to them (the review hid a stricter rule that way);
/// tabs, which they refuse where we take them as spaces; other control characters; and
/// directives (`%YAML`, `%TAG`), which change how the rest is read.
pub(crate) fn refuse_characters(text: &str) -> std::result::Result<(), String> {
    for (n, line) in text.split('\n').enumerate() {
        if line.trim_start_matches('\u{feff}').starts_with('%') {
            return Err(format!("a directive (line {})", n + 1));
        }
        for c in line.chars() {
            let why = match c {
                '\u{85}' | '\u{2028}' | '\u{2029}' => "a YAML 1.1 line break (NEL, LS or PS)",
                '\t' => "a tab",
                '\r' => continue,
                c if c.is_control() => "a control character",
                _ => continue,
            };
            return Err(format!("{why} (line {})", n + 1));
        }
    }
    Ok(())
}

/// Refuses, from the parser's events, what Kubernetes' YAML 1.1 reader (go-yaml v2 under
/// sigs.k8s.io/yaml) would read otherwise than a YAML 1.2 reader: any tag (`!!str` included),
/// anchor or alias, a `%YAML` directive, more than one document, and a plain scalar that YAML 1.1
/// resolves to something other than a string (`yes`, `no`, `on`, `off`, `y`, `n`, `~`, `null`,
/// numbers in any base, timestamps, `.inf`, `.nan`) other than `true` and `false`. Quoted, the
/// same text is a string to both.
fn refuse_ambiguous(text: &str) -> std::result::Result<(), String> {
    use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
    let mut documents = 0;
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| e.to_string())?;
        let at = || format!(" (line {})", span.start.line());
        match ev {
            Event::DocumentStart(_, Some(_)) => return Err(format!("a %YAML directive{}", at())),
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return Err(format!("more than one YAML document{}", at()));
                }
            }
            Event::Alias(_) => return Err(format!("an alias{}", at())),
            Event::Scalar(_, _, anchor, tag)
            | Event::SequenceStart(_, anchor, tag)
            | Event::MappingStart(_, anchor, tag)
                if anchor != 0 || tag.is_some() =>
            {
                return Err(format!("an anchor or a tag{}", at()))
            }
            Event::Scalar(v, style, ..)
                if style != ScalarStyle::Plain
                    && matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "false") =>
            {
                return Err(format!(
                    "a quoted '{}' (a boolean is written true or false, unquoted; quoted, it is \
                     a string to Kubernetes){}",
                    crate::error::untrusted_text(&v, 20),
                    at()
                ))
            }
            Event::Scalar(v, ScalarStyle::Plain, ..) if yaml11_non_string(&v) => {
                return Err(format!(
                    "the unquoted value '{}' is not a string to every YAML reader (quote it){}",
                    crate::error::untrusted_text(&v, 40),
                    at()
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether go-yaml v2 resolves the plain scalar `v` to something other than a string (other than
/// the booleans `true` and `false`, which every reader agrees on).
fn yaml11_non_string(v: &str) -> bool {
    const WORDS: [&str; 27] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF", "True", "TRUE", "False", "FALSE", "~", "null", "Null", "NULL", "", "=", "<<",
    ];
    if WORDS.contains(&v) {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    if matches!(lower.trim_start_matches(['+', '-']), ".inf" | ".nan") {
        return true;
    }
    let digits = v.replace('_', "");
    let unsigned = digits.trim_start_matches(['+', '-']);
    let numeric = !unsigned.is_empty()
        // Rust also parses `inf` and `nan`, which YAML 1.1 reads as strings.
        && (unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
            && unsigned.parse::<f64>().is_ok()
            || ["0x", "0o", "0b"].iter().any(|p| {
                unsigned
                    .get(..2)
                    .is_some_and(|head| head.eq_ignore_ascii_case(p))
                    && unsigned.get(2..).is_some_and(|rest| {
                        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_hexdigit())
                    })
            })
            || unsigned.contains(':') && unsigned.split(':').all(|p| p.parse::<f64>().is_ok()));
    // A date or date-time (go-yaml v2 reads `2001-12-14`, `2001-12-14t21:59:43.10-05:00`).
    let bytes = v.as_bytes();
    let date = bytes.len() >= 8
        && bytes
            .get(..4)
            .is_some_and(|y| y.iter().all(u8::is_ascii_digit))
        && bytes.get(4) == Some(&b'-')
        && v.get(5..).is_some_and(|rest| {
            rest.split(['-', 'T', 't', ' ', ':', '.', '+', 'Z', 'z'])
                .next()
                .is_some_and(|m| {
                    !m.is_empty() && m.len() <= 2 && m.chars().all(|c| c.is_ascii_digit())
                })
        });
    numeric || date
}

/// The two fields every document has, read first to know which kind it is.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDoc {
    #[serde(rename = "apiVersion")]
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    rules: Vec<RuleDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    name: Option<String>,
    models: Vec<ModelDoc>,
    signers: Vec<SignerDoc>,
    #[serde(default)]
    require_timestamp: bool,
    hash_algorithms: Option<Vec<String>>,
    attestations: Option<AttestationsDoc>,
}

/// `rules[].attestations`: what the model's claims file must hold (see `crate::attest`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttestationsDoc {
    #[serde(default)]
    require: Vec<String>,
    builders: Option<Vec<String>>,
    source_repositories: Option<Vec<String>>,
    datasets: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelDoc {
    path: Option<String>,
    oci: Option<String>,
    huggingface: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignerDoc {
    key: Option<PathBuf>,
    certificate: Option<CertificateDoc>,
    sigstore: Option<SigstoreDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateDoc {
    roots: Vec<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SigstoreDoc {
    identity: Option<String>,
    identity_regex: Option<String>,
    issuer: String,
}

/// Longest pattern accepted (a glob is matched by backtracking).
const MAX_PATTERN_LEN: usize = 1024;

fn pattern(text: &str, what: &str) -> std::result::Result<glob::Pattern, String> {
    if text.is_empty() || text.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "a {what} pattern must be 1 to {MAX_PATTERN_LEN} bytes"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("a {what} pattern contains a control character"));
    }
    glob::Pattern::new(text).map_err(|e| format!("{what} pattern '{text}': {e}"))
}

fn rule(
    r: RuleDoc,
    index: usize,
    base: &Path,
    loader: &mut Loader,
) -> std::result::Result<Rule, String> {
    let name = r.name.unwrap_or_else(|| format!("#{}", index + 1));
    if r.models.is_empty() {
        return Err(format!("rule '{name}' names no models"));
    }
    if r.signers.is_empty() {
        return Err(format!("rule '{name}' names no signers"));
    }
    let mut models = Vec::new();
    for m in r.models {
        models.push(match (m.path, m.oci, m.huggingface) {
            (Some(p), None, None) => ModelPattern::Path(path_pattern(&p, &name)?),
            (None, Some(o), None) => ModelPattern::Oci(pattern(
                &super::oci_pattern(o.strip_prefix("oci://").unwrap_or(&o)),
                "oci",
            )?),
            // The Hub treats repo ids without regard to ASCII case (the cache keeps the caller's
            // spelling), so rules compare them in lowercase.
            (None, None, Some(h)) => {
                ModelPattern::HuggingFace(pattern(&h.to_ascii_lowercase(), "huggingface")?)
            }
            _ => {
                return Err(format!(
                    "rule '{name}': each model entry has exactly one of path, oci, huggingface"
                ))
            }
        });
    }
    let mut signers = Vec::new();
    for s in r.signers {
        signers.push(match (s.key, s.certificate, s.sigstore) {
            (Some(k), None, None) => loader.key(&base.join(k))?,
            (None, Some(c), None) => {
                loader.certificate(c.roots.iter().map(|p| base.join(p)).collect())?
            }
            (None, None, Some(s)) => {
                if r.require_timestamp {
                    return Err(format!(
                        "rule '{name}': require_timestamp applies to key and certificate \
                         signers; a sigstore signature's time comes from its own log entry or \
                         timestamps"
                    ));
                }
                sigstore(s.identity, s.identity_regex, s.issuer, None, &name)?
            }
            _ => {
                return Err(format!(
                    "rule '{name}': each signer entry has exactly one of key, certificate, sigstore"
                ))
            }
        });
    }
    let hash_algorithms = match r.hash_algorithms {
        None => None,
        Some(list) if list.is_empty() => {
            return Err(format!("rule '{name}': hash_algorithms is empty"))
        }
        Some(list) => Some(
            list.iter()
                .map(|a| {
                    a.parse::<HashAlgorithm>()
                        .map_err(|e| format!("rule '{name}': {e}"))
                })
                .collect::<std::result::Result<Vec<_>, _>>()?,
        ),
    };
    let attestations = r
        .attestations
        .map(|a| attestation_requirements(a, &name))
        .transpose()?;
    Ok(Rule {
        name,
        models,
        signers,
        require_timestamp: r.require_timestamp,
        hash_algorithms,
        attestations,
    })
}

fn attestation_requirements(
    a: AttestationsDoc,
    name: &str,
) -> std::result::Result<crate::attest::Requirements, String> {
    let at = |e: Error| format!("rule '{name}': attestations: {e}");
    let kinds = crate::attest::kinds(&a.require).map_err(at)?;
    let patterns = |list: Option<Vec<String>>, what: &str| match list {
        Some(l) if l.is_empty() => Err(format!(
            "rule '{name}': attestations.{what} is empty (leave it out to allow any)"
        )),
        Some(l) => l
            .iter()
            .map(|p| crate::attest::pattern(p).map_err(at))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Some),
        None => Ok(None),
    };
    let datasets = match a.datasets {
        Some(l) if l.is_empty() => {
            return Err(format!(
                "rule '{name}': attestations.datasets is empty (leave it out to allow any)"
            ))
        }
        Some(l) => Some(
            l.iter()
                .map(|d| crate::attest::parse_digest(d).map_err(at))
                .collect::<std::result::Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    Ok(crate::attest::Requirements {
        kinds,
        builders: patterns(a.builders, "builders")?,
        source_repositories: patterns(a.source_repositories, "source_repositories")?,
        datasets,
    })
}

/// Reads the key and certificate files a policy names, each once, within one budget for the
/// whole policy: at most [`crate::limits::MAX_TRUST_FILE_BYTES`] read and
/// [`crate::limits::MAX_TRUST_ANCHORS`] roots in all (the review had 100 rules name one 1 MiB file
/// of 1,811 certificates ten times each: 67 s and 4.1 GB before any rule was matched).
#[derive(Default)]
struct Loader {
    bytes: u64,
    anchors: usize,
    keys: std::collections::HashMap<PathBuf, crate::keys::PublicKey>,
    certs: std::collections::HashMap<PathBuf, Vec<crate::x509::Certificate>>,
}

impl Loader {
    fn read(&mut self, path: &Path, max: u64, what: &str) -> std::result::Result<Vec<u8>, String> {
        let bytes = crate::secret_file::read_regular(path, max)
            .map_err(|e| format!("{what} '{}': {e}", path.display()))?;
        self.bytes = self.bytes.saturating_add(bytes.len() as u64);
        if self.bytes > crate::limits::MAX_TRUST_FILE_BYTES {
            return Err(format!(
                "the key and certificate files it names hold more than {} bytes in all",
                crate::limits::MAX_TRUST_FILE_BYTES
            ));
        }
        Ok(bytes)
    }

    fn key(&mut self, path: &Path) -> std::result::Result<TrustedSigner, String> {
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let key = match self.keys.get(&real) {
            Some(k) => k.clone(),
            None => {
                let pem = self.read(path, crate::limits::MAX_KEY_FILE_BYTES, "key")?;
                let key = crate::keys::PublicKey::from_pem(&pem)
                    .map_err(|e| format!("key '{}': {e}", path.display()))?;
                self.keys.insert(real, key.clone());
                key
            }
        };
        Ok(TrustedSigner::Key {
            path: path.to_path_buf(),
            key,
        })
    }

    fn certificate(&mut self, paths: Vec<PathBuf>) -> std::result::Result<TrustedSigner, String> {
        if paths.is_empty() {
            return Err("a certificate signer names no roots".into());
        }
        let mut roots = Vec::new();
        for p in &paths {
            let real = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            if let Some(c) = self.certs.get(&real) {
                roots.extend(c.iter().cloned());
                continue;
            }
            let pem = self.read(p, crate::limits::MAX_CHAIN_FILE_BYTES, "certificate")?;
            let certs = crate::x509::parse_pem_certificates(&pem)
                .map_err(|e| format!("certificate '{}': {e}", p.display()))?;
            self.anchors = self.anchors.saturating_add(certs.len());
            if self.anchors > crate::limits::MAX_TRUST_ANCHORS {
                return Err(format!(
                    "it names more than {} trust anchors in all",
                    crate::limits::MAX_TRUST_ANCHORS
                ));
            }
            roots.extend(certs.iter().cloned());
            self.certs.insert(real, certs);
        }
        Ok(TrustedSigner::Certificate { paths, roots })
    }
}

/// A local path pattern: absolute and normalised (no empty, `.` or `..` component, no trailing
/// `/`: such a pattern never matched a canonical path, and the model fell through to a broader
/// rule), and taken as written. Models are matched by their canonical path, so a pattern whose
/// literal directories go through a symlink would never match; resolving it when the policy is
/// loaded would let whoever can put a link at the pattern's path move the rule onto another tree
/// (the second review pointed `uploads/community` at `prod/acme`, and prod verified under the
/// community rule). So a pattern through an existing symlink is refused: write the path it leads
/// to.
fn path_pattern(p: &str, rule: &str) -> std::result::Result<glob::Pattern, String> {
    let normalised = p.len() > 1
        && p.starts_with('/')
        && !p.ends_with('/')
        && p[1..].split('/').all(|c| !matches!(c, "" | "." | ".."));
    if !normalised {
        return Err(format!(
            "rule '{rule}': path pattern '{p}' must be a normalised absolute path"
        ));
    }
    no_symlink_in(p, true, &format!("rule '{rule}': path pattern '{p}'"))?;
    pattern(p, "path")
}

/// Refuses a path whose components (up to the first glob character, for a pattern) include an
/// existing symlink.
fn no_symlink_in(p: &str, glob: bool, what: &str) -> std::result::Result<(), String> {
    let mut prefix = PathBuf::from("/");
    for c in p.trim_start_matches('/').split('/') {
        if glob && c.contains(['*', '?', '[', ']']) {
            break;
        }
        prefix.push(c);
        if std::fs::symlink_metadata(&prefix).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!(
                "{what} goes through the symlink '{}'; write the path it leads to",
                prefix.display()
            ));
        }
    }
    Ok(())
}

#[cfg(feature = "sigstore")]
fn sigstore(
    identity: Option<String>,
    identity_regex: Option<String>,
    issuer: String,
    trust_config: Option<PathBuf>,
    rule: &str,
) -> std::result::Result<TrustedSigner, String> {
    if identity.is_some() == identity_regex.is_some() {
        return Err(format!(
            "rule '{rule}': a sigstore signer has exactly one of identity, identity_regex"
        ));
    }
    if issuer.is_empty() {
        return Err(format!("rule '{rule}': a sigstore signer needs an issuer"));
    }
    Ok(TrustedSigner::Sigstore {
        identity: crate::sigstore::verify::IdentityPolicy {
            identity,
            identity_regex,
            issuer,
        },
        trust_config,
    })
}

#[cfg(not(feature = "sigstore"))]
fn sigstore(
    _identity: Option<String>,
    _identity_regex: Option<String>,
    _issuer: String,
    _trust_config: Option<PathBuf>,
    rule: &str,
) -> std::result::Result<TrustedSigner, String> {
    Err(format!(
        "rule '{rule}' trusts a sigstore signer, which needs a build with the `sigstore` feature"
    ))
}

// ---------------------------------------------------------------------------------------------
// The model-validation operator's resource
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelValidation {
    #[serde(rename = "apiVersion")]
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    /// Kubernetes object metadata: names and labels, nothing this tool uses.
    #[allow(dead_code)]
    metadata: Option<serde::de::IgnoredAny>,
    spec: MvSpec,
    /// Written by the operator, not the user.
    #[allow(dead_code)]
    status: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MvSpec {
    model: MvModel,
    config: MvConfig,
    /// Settings of the operator's own init container or sidecar, nothing a verifier uses.
    #[serde(rename = "imagePullPolicy")]
    #[allow(dead_code)]
    image_pull_policy: Option<serde::de::IgnoredAny>,
    #[serde(rename = "continuousValidation")]
    #[allow(dead_code)]
    continuous_validation: Option<serde::de::IgnoredAny>,
    #[allow(dead_code)]
    resources: Option<serde::de::IgnoredAny>,
}

/// `spec.model`. The options are read so that a resource the operator accepts is accepted here,
/// and not applied yet: each one only relaxes verification, so verifying without them is at
/// least as strict as the operator (a model it passes with `ignorePaths` may fail here).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MvModel {
    path: String,
    #[serde(rename = "signaturePath")]
    signature_path: Option<String>,
    #[serde(rename = "ignorePaths")]
    #[allow(dead_code)]
    ignore_paths: Option<Vec<String>>,
    #[serde(rename = "ignoreGitPaths")]
    #[allow(dead_code)]
    ignore_git_paths: Option<bool>,
    #[serde(rename = "ignoreUnsignedFiles")]
    #[allow(dead_code)]
    ignore_unsigned_files: Option<bool>,
    #[serde(rename = "allowSymlinks")]
    #[allow(dead_code)]
    allow_symlinks: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MvConfig {
    #[serde(rename = "sigstoreConfig")]
    sigstore_config: Option<MvSigstore>,
    #[serde(rename = "pkiConfig")]
    pki_config: Option<MvPki>,
    /// The current operator's name for the public key.
    #[serde(rename = "publicKeyConfig")]
    public_key_config: Option<MvKey>,
    /// The first operator's name for the same thing (it held a public key all along).
    #[serde(rename = "privateKeyConfig")]
    private_key_config: Option<MvKey>,
    #[serde(rename = "clientTrustConfig")]
    client_trust_config: Option<MvTrust>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MvSigstore {
    #[serde(rename = "certificateIdentity")]
    certificate_identity: String,
    #[serde(rename = "certificateOidcIssuer")]
    certificate_oidc_issuer: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MvPki {
    #[serde(rename = "certificateAuthority")]
    certificate_authority: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MvKey {
    #[serde(rename = "keyPath")]
    key_path: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MvTrust {
    #[serde(rename = "trustConfigPath")]
    trust_config_path: PathBuf,
}

/// The operator hands these paths to a CLI in its container, relative to that CLI's directory;
/// a relative one would name another file here, so only absolute ones are taken.
fn absolute(p: PathBuf, field: &str) -> std::result::Result<PathBuf, String> {
    if p.is_absolute() {
        Ok(p)
    } else {
        Err(format!(
            "{field} '{}' must be an absolute path",
            p.display()
        ))
    }
}

/// One rule for the one model the resource names, trusting the one signer its `config` names.
fn model_validation(
    doc: ModelValidation,
    loader: &mut Loader,
) -> std::result::Result<Rule, String> {
    let name = "ModelValidation".to_string();
    let c = doc.spec.config;
    let trust_config = c
        .client_trust_config
        .map(|t| absolute(t.trust_config_path, "clientTrustConfig.trustConfigPath"))
        .transpose()?;
    if c.public_key_config.is_some() && c.private_key_config.is_some() {
        return Err("spec.config must hold exactly one of sigstoreConfig, pkiConfig, \
             publicKeyConfig (privateKeyConfig): it holds both publicKeyConfig and privateKeyConfig"
            .into());
    }
    let signer = match (
        c.sigstore_config,
        c.pki_config,
        c.public_key_config.or(c.private_key_config),
    ) {
        (Some(s), None, None) => sigstore(
            Some(s.certificate_identity),
            None,
            s.certificate_oidc_issuer,
            trust_config,
            &name,
        )?,
        (None, Some(p), None) if trust_config.is_none() => loader.certificate(vec![absolute(
            p.certificate_authority,
            "pkiConfig.certificateAuthority",
        )?])?,
        (None, None, Some(k)) if trust_config.is_none() => {
            loader.key(&absolute(k.key_path, "publicKeyConfig.keyPath")?)?
        }
        (None, _, _) | (_, None, None) if trust_config.is_some() => {
            return Err("clientTrustConfig applies to sigstoreConfig only".into())
        }
        _ => {
            return Err(
                "spec.config must hold exactly one of sigstoreConfig, pkiConfig, \
                 publicKeyConfig (privateKeyConfig)"
                    .into(),
            )
        }
    };
    let path = doc.spec.model.path;
    if !path.starts_with('/') {
        return Err(format!("spec.model.path '{path}' must be absolute"));
    }
    // That one path, taken literally and as written (see `path_pattern` for why not resolved).
    let trimmed = path.trim_end_matches('/');
    no_symlink_in(trimmed, false, &format!("spec.model.path '{trimmed}'"))?;
    let literal = glob::Pattern::escape(trimmed);
    Ok(Rule {
        name,
        models: vec![ModelPattern::Path(pattern(&literal, "path")?)],
        signers: vec![signer],
        require_timestamp: false,
        hash_algorithms: None,
        attestations: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_readings_of_plain_scalars() {
        for v in [
            "no",
            "Yes",
            "ON",
            "y",
            "~",
            "null",
            "",
            "12",
            "-3.5",
            "0x1F",
            "0o17",
            "0b101",
            "1_000",
            ".inf",
            "-.NaN",
            "2024-01-02",
            "2001-12-14t21:59:43.10-05:00",
            "1:30:00",
        ] {
            assert!(yaml11_non_string(v), "{v:?}");
        }
        for v in [
            "true",
            "false",
            "acme",
            "ci@acme.dev",
            "/srv/models/*",
            "0xZZ",
            "v1.2",
            "€x",
            "0€",
            "ab-cd-ef",
            "é1",
            "0x",
            "1234-ab",
            "inf",
            "nan",
            "infinity",
        ] {
            assert!(!yaml11_non_string(v), "{v:?}");
        }
    }

    /// Without the `sigstore` feature, a sigstore signer is a clear error, not a silent skip.
    #[cfg(not(feature = "sigstore"))]
    #[test]
    fn a_sigstore_signer_needs_the_feature() {
        let text = "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n  - models: [{oci: \"r/x\"}]\n    signers: [{sigstore: {identity: \"a@b.c\", issuer: \"https://i\"}}]\n";
        let e = parse(text, Path::new("p.yaml"), Path::new("/nonexistent")).unwrap_err();
        assert!(
            e.to_string()
                .contains("needs a build with the `sigstore` feature"),
            "{e}"
        );
    }

    #[cfg(feature = "sigstore")]
    #[test]
    fn a_policy_parses_into_rules() {
        let text = "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n  - name: a\n    models:\n      - oci: \"oci://ghcr.io/acme/**\"\n      - huggingface: \"acme/*\"\n    signers: [{sigstore: {identity: \"ci@acme.dev\", issuer: \"https://accounts.google.com\"}}]\n    hash_algorithms: [sha256]\n";
        let p = parse(text, Path::new("p.yaml"), Path::new("/nonexistent")).unwrap();
        assert_eq!(p.rules.len(), 1);
        let r = p
            .rule_for(&super::super::ModelRef::Oci("ghcr.io/acme/bert/base"))
            .unwrap();
        assert_eq!(r.name, "a");
        assert!(p
            .rule_for(&super::super::ModelRef::Oci("ghcr.io/other/bert"))
            .is_err());
        // The registry's case and default port do not matter; other spellings are refused.
        for spelled in ["GHCR.IO/acme/bert", "ghcr.io:443/acme/bert"] {
            assert!(
                p.rule_for(&super::super::ModelRef::Oci(spelled)).is_ok(),
                "{spelled}"
            );
        }
        for spelled in [
            "ghcr.io./acme/bert",
            "ghcr.io:0443/acme/bert",
            "127.1:5000/acme/bert",
            "2130706433:5000/acme/bert",
            "0x7f.0.0.1:5000/acme/bert",
            "127.0.0.01:5000/acme/bert",
            "[::ffff:127.0.0.1]:5000/acme/bert",
            "[0:0::1]:5000/acme/bert",
            "localhost:05000/acme/bert",
            "localhost:65536/acme/bert",
            "bad_host/acme/bert",
        ] {
            let e = p
                .rule_for(&super::super::ModelRef::Oci(spelled))
                .unwrap_err();
            assert!(
                e.to_string().contains("is not written in the one form"),
                "{spelled}: {e}"
            );
        }
        assert_eq!(
            super::super::oci_repository("127.0.0.1:5000/a").unwrap(),
            "127.0.0.1:5000/a"
        );
        assert_eq!(
            super::super::oci_repository("[::1]:5000/a").unwrap(),
            "[::1]:5000/a"
        );
        assert_eq!(
            super::super::oci_repository("LocalHost/a").unwrap(),
            "localhost/a"
        );
        assert!(p
            .rule_for(&super::super::ModelRef::HuggingFace("acme/bert"))
            .is_ok());
        assert!(p
            .rule_for(&super::super::ModelRef::HuggingFace("acme/bert/x"))
            .is_err());
        // The Hub ignores ASCII case in repo ids; rules do too.
        assert!(p
            .rule_for(&super::super::ModelRef::HuggingFace("ACME/Bert"))
            .is_ok());
        // Ids the Hub refuses never reach a pattern.
        for bad in [
            "acme/../x",
            "acme/b--c",
            "acme/*",
            "acme",
            "/bert",
            "acme/bert\n",
            "acme/\u{212a}",
            "acme/.bert",
        ] {
            let e = p
                .rule_for(&super::super::ModelRef::HuggingFace(bad))
                .unwrap_err()
                .to_string();
            assert!(e.contains("not a Hugging Face repo id"), "{bad}: {e}");
        }
    }
}
