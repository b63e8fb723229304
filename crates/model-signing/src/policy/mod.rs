//! A trust policy: which signers are trusted for which models, read from one file.
//!
//! A user who verifies many models should not pick a method and pass a key or identity by hand
//! for each: the policy says, per model (matched by local path, `oci://` repository or Hugging
//! Face repo id), which signers count, whether a trusted timestamp is required and which hash
//! algorithms are acceptable. A model no rule matches is refused. The bundle's own method
//! decides nothing: each signer the matching rule names is tried against it, and only one of
//! them can make it verify (see [`PolicyVerifier`]).
//!
//! The file format (YAML, [`file`]) is documented in `docs/policy.md`; the model-validation
//! operator's `ModelValidation` resource is read as a policy too ([`file::load`] tells them
//! apart by `kind`, a field the user writes, not by guessing from the rest of the content).

pub mod file;

use crate::bundle::Bundle;
use crate::error::{Error, Result};
use crate::hashing::HashAlgorithm;
use crate::verify::{BundleVerifier, SignerInfo};
use std::path::{Path, PathBuf};

pub use file::load;

/// A parsed policy: rules tried in order, the first whose pattern matches the model decides.
#[derive(Debug)]
pub struct Policy {
    /// Where the policy came from, for messages.
    pub source: PathBuf,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Where the signature is when the caller names none: a `ModelValidation`'s
    /// `spec.model.signaturePath`. `None` for our own format.
    pub signature: Option<PathBuf>,
}

/// One rule: which models it covers and what it asks of their signatures.
#[derive(Debug)]
pub struct Rule {
    /// The rule's name, for messages (its position when it has none).
    pub name: String,
    /// The models it covers: any pattern that matches selects the rule.
    pub models: Vec<ModelPattern>,
    /// The signers trusted for those models; a signature must verify against one of them.
    pub signers: Vec<TrustedSigner>,
    /// Require a verified RFC 3161 timestamp (key and certificate signers).
    pub require_timestamp: bool,
    /// The hash algorithms a signature may use; `None`: any the format allows.
    pub hash_algorithms: Option<Vec<HashAlgorithm>>,
    /// What the model's attestations (its claims file) must establish; `None`: nothing is asked.
    pub attestations: Option<crate::attest::Requirements>,
}

/// What a rule matches, written with `*` (within one path segment), `**` (any number of
/// segments) and `?`.
#[derive(Debug, Clone)]
pub enum ModelPattern {
    /// A local path, matched against the model's canonical path (links resolved, so a link
    /// cannot select a laxer rule).
    Path(glob::Pattern),
    /// An `oci://` repository (`registry/name`, without tag or digest).
    Oci(glob::Pattern),
    /// A Hugging Face repo id (`org/name`).
    HuggingFace(glob::Pattern),
}

/// How a model is named to the policy.
#[derive(Debug, Clone)]
pub enum ModelRef<'a> {
    /// A local file or directory.
    Path(&'a Path),
    /// An `oci://` repository, `registry/name`.
    Oci(&'a str),
    /// A Hugging Face repo id, `org/name`.
    HuggingFace(&'a str),
}

/// A signer a rule trusts.
#[derive(Debug)]
pub enum TrustedSigner {
    /// A public key (PEM file).
    Key {
        /// Where it was read from.
        path: PathBuf,
        /// The key.
        key: crate::keys::PublicKey,
    },
    /// A certificate chain ending in one of these roots.
    Certificate {
        /// Where they were read from.
        paths: Vec<PathBuf>,
        /// The roots.
        roots: Vec<crate::x509::Certificate>,
    },
    /// A Sigstore (keyless) identity.
    #[cfg(feature = "sigstore")]
    Sigstore {
        /// Who must have signed.
        identity: crate::sigstore::verify::IdentityPolicy,
        /// A ClientTrustConfig for a private Sigstore instance; `None`: the public-good root.
        trust_config: Option<PathBuf>,
    },
}

impl TrustedSigner {
    fn describe(&self) -> String {
        match self {
            TrustedSigner::Key { path, .. } => format!("key {}", path.display()),
            TrustedSigner::Certificate { paths, .. } => format!(
                "certificates rooted in {}",
                paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            #[cfg(feature = "sigstore")]
            TrustedSigner::Sigstore { identity: p, .. } => format!(
                "sigstore identity {} from {}",
                p.identity
                    .as_deref()
                    .or(p.identity_regex.as_deref())
                    .unwrap_or("?"),
                p.issuer
            ),
        }
    }
}

const MATCH: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Policy {
    /// The rule that decides for `model`: the first whose pattern matches. A model no rule
    /// matches is an error: a policy trusts nothing it does not name.
    pub fn rule_for(&self, model: &ModelRef<'_>) -> Result<&Rule> {
        let oci_text = match model {
            ModelRef::Oci(r) => Some(oci_repository(r).map_err(Error::Config)?),
            _ => None,
        };
        let hf_text = match model {
            ModelRef::HuggingFace(id) => Some(hf_repo_id(id).map_err(Error::Config)?),
            _ => None,
        };
        let path_text = match model {
            ModelRef::Path(p) => Some(
                crate::walk::canonical_root(p)?
                    .to_str()
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "the model path '{}' is not valid UTF-8",
                            p.display()
                        ))
                    })?
                    .to_string(),
            ),
            _ => None,
        };
        self.rules
            .iter()
            .find(|r| {
                r.models.iter().any(|m| match (m, model) {
                    (ModelPattern::Path(g), ModelRef::Path(_)) => path_text
                        .as_deref()
                        .is_some_and(|t| g.matches_with(t, MATCH)),
                    (ModelPattern::Oci(g), ModelRef::Oci(_)) => oci_text
                        .as_deref()
                        .is_some_and(|t| g.matches_with(t, MATCH)),
                    (ModelPattern::HuggingFace(g), ModelRef::HuggingFace(_)) => {
                        hf_text.as_deref().is_some_and(|t| g.matches_with(t, MATCH))
                    }
                    _ => false,
                })
            })
            .ok_or_else(|| {
                Error::Config(format!(
                    "no rule of the policy '{}' covers the model {}; a policy trusts no signer \
                     for a model it does not name",
                    self.source.display(),
                    crate::error::quoted_text(&describe_model(model), 300)
                ))
            })
    }

    /// A verifier that accepts a signature of `model` exactly when the rule for it does.
    pub fn verifier_for(&self, model: &ModelRef<'_>) -> Result<PolicyVerifier<'_>> {
        let rule = self.rule_for(model)?;
        Ok(PolicyVerifier {
            rule,
            verifiers: rule
                .signers
                .iter()
                .map(|s| build_verifier(s, rule))
                .collect::<Result<_>>()?,
        })
    }
}

/// An OCI pattern's registry part as rules compare it: the host in lowercase, without a trailing
/// dot or the default port 443.
pub(crate) fn oci_pattern(pattern: &str) -> String {
    let (host, rest) = pattern.split_once('/').unwrap_or((pattern, ""));
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix(":443").unwrap_or(&host);
    let host = host.trim_end_matches('.');
    if rest.is_empty() {
        host.to_string()
    } else {
        format!("{host}/{rest}")
    }
}

/// A model's OCI repository `registry/name` in the one spelling rules are compared with, or an
/// error for any other spelling of a registry. Names are lowercased, `:443` dropped; an IP
/// address must be written as the address parser writes it (dotted-quad without leading zeros,
/// `[v6]` in its shortest form), and a port in decimal without leading zeros. The second review
/// reached one registry as `localhost:0443`, `127.1`, `2130706433`, `0x7f.0.0.1` and
/// `[::ffff:127.0.0.1]`, each past a rule written for it; rather than normalise every form an
/// HTTP client accepts, only one is accepted.
pub fn oci_repository(reference: &str) -> std::result::Result<String, String> {
    let bad = |why: &str| {
        format!(
            "the registry in the reference '{}' is not written in the one form a policy compares \
             ({why}); write it as a lowercase name or an address with a plain decimal port",
            crate::error::untrusted_text(reference, 200)
        )
    };
    let (authority, rest) = reference.split_once('/').unwrap_or((reference, ""));
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(|| bad("an unclosed '['"))?;
        let parsed: std::net::Ipv6Addr = addr.parse().map_err(|_| bad("not an IPv6 address"))?;
        if parsed.to_ipv4_mapped().is_some() || parsed.to_string() != addr.to_ascii_lowercase() {
            return Err(bad("an IPv6 address not in its shortest form"));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| bad("text after ']'"))?),
        };
        (format!("[{parsed}]"), port)
    } else {
        let (name, port) = match authority.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (authority, None),
        };
        let name = name.to_ascii_lowercase();
        let labels: Vec<&str> = name.split('.').collect();
        let valid_name = !name.is_empty()
            && labels.iter().all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid_name {
            return Err(bad("a host name of letters, digits, '-' and '.'"));
        }
        // A name whose last label is a number is an address to resolvers: it must be one.
        let numeric_last = labels
            .last()
            .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()) || l.starts_with("0x"));
        if numeric_last {
            let ip: std::net::Ipv4Addr = name
                .parse()
                .map_err(|_| bad("an address in another form"))?;
            if ip.to_string() != name {
                return Err(bad("an address in another form"));
            }
        }
        (name, port)
    };
    let port = match port {
        None => None,
        Some(p) => {
            let n: u16 = p.parse().map_err(|_| bad("a port that is not a number"))?;
            if n == 0 || n.to_string() != p {
                return Err(bad("a port with leading zeros or out of range"));
            }
            (n != 443).then_some(n)
        }
    };
    let authority = match port {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    Ok(if rest.is_empty() {
        authority
    } else {
        format!("{authority}/{rest}")
    })
}

/// A Hugging Face repo id as rules compare it: `ORG/NAME` in ASCII lowercase, or an error for an
/// id the Hub would not accept (its `validate_repo_id`: letters, digits, `-`, `_`, `.`; no `--`
/// or `..`; at most 96 characters per part), so that no spelling reaches a rule's pattern by way
/// of `/`, `*` or a path component.
pub fn hf_repo_id(id: &str) -> std::result::Result<String, String> {
    let bad = || {
        format!(
            "'{}' is not a Hugging Face repo id (ORG/NAME of letters, digits, '-', '_' and '.')",
            crate::error::untrusted_text(id, 200)
        )
    };
    let (org, name) = id.split_once('/').ok_or_else(bad)?;
    for part in [org, name] {
        let ok = !part.is_empty()
            && part.len() <= 96
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !part.contains("--")
            && !part.contains("..")
            && !part.starts_with(['-', '.'])
            && !part.ends_with(['-', '.']);
        if !ok {
            return Err(bad());
        }
    }
    Ok(id.to_ascii_lowercase())
}

fn describe_model(model: &ModelRef<'_>) -> String {
    match model {
        ModelRef::Path(p) => p.display().to_string(),
        ModelRef::Oci(r) => format!("oci://{r}"),
        ModelRef::HuggingFace(id) => format!("huggingface {id}"),
    }
}

fn build_verifier(s: &TrustedSigner, rule: &Rule) -> Result<Box<dyn BundleVerifier>> {
    let timestamps = timestamp_policy(rule)?;
    Ok(match s {
        TrustedSigner::Key { key, .. } => {
            Box::new(crate::verify::KeyVerifier::new(key.clone()).with_timestamps(timestamps))
        }
        TrustedSigner::Certificate { roots, .. } => Box::new(
            crate::verify::CertificateVerifier::new(
                roots.clone(),
                crate::verify::ChainTime::SigningTime,
            )?
            .with_timestamps(timestamps),
        ),
        #[cfg(feature = "sigstore")]
        TrustedSigner::Sigstore {
            identity,
            trust_config,
        } => {
            let root =
                crate::sigstore::trust::load_trusted_root(&crate::sigstore::trust::TrustOptions {
                    trust_config: trust_config.clone(),
                    ..Default::default()
                })?;
            Box::new(crate::sigstore::verify::SigstoreVerifier::new(
                &root,
                identity.clone(),
            )?)
        }
    })
}

fn timestamp_policy(rule: &Rule) -> Result<crate::timestamp::TimestampPolicy> {
    if rule.require_timestamp {
        #[cfg(feature = "sigstore")]
        {
            return Ok(crate::timestamp::TimestampPolicy {
                trust: Some(crate::timestamp::TsaTrust::load(
                    &[],
                    &crate::sigstore::trust::TrustOptions::default(),
                )?),
                require: true,
            });
        }
        #[cfg(not(feature = "sigstore"))]
        return Err(Error::Config(format!(
            "rule '{}' requires a timestamp, which needs a build with the `sigstore` feature",
            rule.name
        )));
    }
    Ok(crate::timestamp::TimestampPolicy::default())
}

/// Verifies a bundle against one rule: it must verify against one of the rule's signers, with a
/// timestamp when the rule requires one, and record a hash algorithm the rule accepts.
pub struct PolicyVerifier<'a> {
    rule: &'a Rule,
    verifiers: Vec<Box<dyn BundleVerifier>>,
}

impl PolicyVerifier<'_> {
    /// What the rule asks of the model's attestations, if anything.
    pub fn attestation_requirements(&self) -> Option<&crate::attest::Requirements> {
        self.rule.attestations.as_ref()
    }
}

impl BundleVerifier for PolicyVerifier<'_> {
    fn verify_signature(&self, bundle: &Bundle) -> Result<SignerInfo> {
        let mut tried = Vec::new();
        for (signer, v) in self.rule.signers.iter().zip(&self.verifiers) {
            match v.verify_signature(bundle) {
                Ok(info) => {
                    // Hash algorithms are a model signature's: an attestation (a claims-file
                    // line, whose statement is no OMS signature) records none.
                    let signature_statement = {
                        #[derive(serde::Deserialize)]
                        struct Probe {
                            #[serde(rename = "predicateType", default)]
                            predicate_type: String,
                        }
                        serde_json::from_slice::<Probe>(&bundle.payload).map_or(true, |p| {
                            crate::attest::Kind::of(&p.predicate_type)
                                == crate::attest::Kind::Signature
                                || p.predicate_type == crate::statement::LEGACY_PREDICATE_TYPE
                        })
                    };
                    if let (Some(allowed), true) = (&self.rule.hash_algorithms, signature_statement)
                    {
                        let st = crate::statement::decode(&bundle.payload)?;
                        if !allowed.contains(&st.serialization.hash_type) {
                            return Err(Error::Config(format!(
                                "the signature uses {}, which rule '{}' does not accept (it \
                                 accepts {})",
                                st.serialization.hash_type,
                                self.rule.name,
                                allowed
                                    .iter()
                                    .map(|a| a.to_string())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )));
                        }
                    }
                    return Ok(info);
                }
                Err(e) => tried.push(format!(
                    "{}: {}",
                    signer.describe(),
                    crate::error::one_line(&e)
                )),
            }
        }
        Err(Error::Signature(format!(
            "the signature is not from a signer rule '{}' trusts ({})",
            self.rule.name,
            tried.join("; ")
        )))
    }
}
