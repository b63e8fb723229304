//! SLSA provenance v1 for a training run: building the predicate ([`Input::predicate`]), filling
//! it from the CI platform's environment ([`ci_environment`]), and reading it back from a verified
//! statement ([`Lineage::read`]).
//!
//! The `buildType` is ours ([`BUILD_TYPE`], documented in `docs/attestations.md`):
//! `externalParameters` holds `source` (training code repository, commit and ref), `entryPoint`
//! and `parameters` (hyperparameters: string keys, any JSON values); `resolvedDependencies` holds
//! one ResourceDescriptor per input, its role in `annotations.role`: `source` (the code, by git
//! commit), `dataset` and `base-model` (by their OMS root digest, `digest.sha256`, so that their
//! own signatures name the same digest), `package` (a package URL with a version in `uri`).

use super::query::Purl;
use crate::error::{Error, Result};
use crate::oci::json::{Fields, Node};
use serde::Serialize;

/// The training-run build type.
pub const BUILD_TYPE: &str =
    "https://github.com/model-signing-rs/model-signing-rs/blob/main/docs/attestations.md#training-v1";

/// A model or dataset the run used, named by its OMS root digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// Its name (the directory's name, or what the user gave).
    pub name: String,
    /// Its OMS root digest (hex in JSON).
    #[serde(serialize_with = "crate::report::hex_digest")]
    pub digest: [u8; 32],
}

/// A dataset or model named on the command line or in the API: `[NAME=]sha256:HEX`, or a path
/// to digest ([`super::dependency_digest`]). Parsed first and digested later, so that a bad
/// spelling fails before any key is loaded or anything hashed.
#[derive(Debug, Clone)]
pub enum ArtifactSpec {
    /// Named by its digest.
    Digest(Artifact),
    /// A directory or file to digest.
    Path(std::path::PathBuf),
}

impl ArtifactSpec {
    /// Parses `[NAME=]sha256:HEX` or an existing path.
    pub fn parse(spec: &str) -> Result<ArtifactSpec> {
        let (name, rest) = match spec.split_once('=') {
            Some((n, r)) if r.starts_with("sha256:") => (n, r),
            _ => ("", spec),
        };
        if rest.starts_with("sha256:") {
            return Ok(ArtifactSpec::Digest(Artifact {
                name: name.to_string(),
                digest: super::parse_digest(rest)?,
            }));
        }
        let p = std::path::PathBuf::from(spec);
        if std::fs::symlink_metadata(&p).is_err() {
            return Err(Error::Config(format!(
                "'{}' is neither a path that exists nor [NAME=]sha256:<64 hex digits>",
                crate::error::untrusted_text(spec, 200)
            )));
        }
        Ok(ArtifactSpec::Path(p))
    }

    /// The artifact, digesting a path.
    pub fn resolve(&self) -> Result<Artifact> {
        match self {
            ArtifactSpec::Digest(a) => Ok(a.clone()),
            ArtifactSpec::Path(p) => {
                let s = super::dependency_digest(p)?;
                Ok(Artifact {
                    name: s.name,
                    digest: s.root_digest,
                })
            }
        }
    }
}

/// A provenance as its caller describes it, checked (everything but the digests) before any key
/// is loaded or anything hashed; [`Plan::predicate`] then digests the datasets and models given
/// as paths. The CLI and the Python API both build one.
#[derive(Debug, Clone)]
pub struct Plan {
    input: Input,
    datasets: Vec<ArtifactSpec>,
    base_models: Vec<ArtifactSpec>,
}

impl Plan {
    /// Fills `input` from `ci` (the platform's description, [`ci_environment`]; values given win)
    /// and with its defaults, checks it, and parses the dataset and base-model specs
    /// ([`ArtifactSpec::parse`]).
    pub fn new(
        mut input: Input,
        datasets: &[String],
        base_models: &[String],
        ci: Option<Input>,
    ) -> Result<Plan> {
        if let Some(ci) = ci {
            input.fill_from(ci);
        }
        input.fill_defaults();
        input.predicate()?;
        let parse = |list: &[String]| {
            list.iter()
                .map(|s| ArtifactSpec::parse(s))
                .collect::<Result<Vec<_>>>()
        };
        Ok(Plan {
            input,
            datasets: parse(datasets)?,
            base_models: parse(base_models)?,
        })
    }

    /// Digests what was given as a path (`digested` is told of each, path and result) and builds
    /// the predicate.
    pub fn predicate(
        mut self,
        digested: &mut dyn FnMut(&std::path::Path, &Artifact),
    ) -> Result<serde_json::Value> {
        let mut resolve = |specs: &[ArtifactSpec]| {
            specs
                .iter()
                .map(|spec| {
                    let a = spec.resolve()?;
                    if let ArtifactSpec::Path(p) = spec {
                        digested(p, &a);
                    }
                    Ok(a)
                })
                .collect::<Result<Vec<_>>>()
        };
        self.input.datasets = resolve(&self.datasets)?;
        self.input.base_models = resolve(&self.base_models)?;
        self.input.predicate()
    }
}

/// Hyperparameters from the bytes of a JSON object, read one way only (a repeated key refused,
/// as in every document this crate signs).
pub fn parameters(bytes: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>> {
    crate::oci::json::parse(bytes, "the parameters").map_err(|e| {
        Error::Config(format!(
            "the parameters are not valid: {}",
            e.to_string().replacen("invalid OCI document: ", "", 1)
        ))
    })?;
    match serde_json::from_slice(bytes) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(Error::Config("the parameters are not a JSON object".into())),
    }
}

/// What the user (or the CI platform) says about a training run.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// The training code's repository URL.
    pub source_repo: Option<String>,
    /// Its git commit (40 or 64 hex digits).
    pub source_commit: Option<String>,
    /// The git ref built (`refs/heads/main`), if known.
    pub source_ref: Option<String>,
    /// The entry point (script, workflow path).
    pub entry_point: Option<String>,
    /// Hyperparameters.
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// Datasets trained on.
    pub datasets: Vec<Artifact>,
    /// Models fine-tuned from.
    pub base_models: Vec<Artifact>,
    /// Frameworks and libraries, as package URLs with versions.
    pub packages: Vec<String>,
    /// Who ran the build (a URI).
    pub builder_id: Option<String>,
    /// This run's id (a URI or platform id).
    pub invocation_id: Option<String>,
    /// When the run started (RFC 3339).
    pub started_on: Option<String>,
    /// When it finished (RFC 3339).
    pub finished_on: Option<String>,
}

impl Input {
    /// Fills what is unset from `ci` (values given explicitly win).
    pub fn fill_from(&mut self, ci: Input) {
        let pick = |mine: &mut Option<String>, theirs: Option<String>| {
            if mine.is_none() {
                *mine = theirs;
            }
        };
        pick(&mut self.source_repo, ci.source_repo);
        pick(&mut self.source_commit, ci.source_commit);
        pick(&mut self.source_ref, ci.source_ref);
        pick(&mut self.entry_point, ci.entry_point);
        pick(&mut self.builder_id, ci.builder_id);
        pick(&mut self.invocation_id, ci.invocation_id);
        pick(&mut self.started_on, ci.started_on);
        pick(&mut self.finished_on, ci.finished_on);
    }

    /// Fills what a run always has: the finish time (now) when none was given.
    pub fn fill_defaults(&mut self) {
        if self.finished_on.is_none() {
            self.finished_on = Some(crate::x509::format_time(std::time::SystemTime::now()));
        }
    }

    /// The SLSA v1 predicate. Refuses what a verifier could not rely on: no builder id, a commit
    /// that is not hex, a source commit without a repository (or the reverse), a package URL
    /// without a version, a time that is not RFC 3339 UTC.
    pub fn predicate(&self) -> Result<serde_json::Value> {
        use serde_json::{json, Map, Value};
        let builder = self.builder_id.as_deref().ok_or_else(|| {
            Error::Config(
                "provenance needs a builder id (a URI naming who ran the training); none was \
                 given and no CI platform was detected"
                    .into(),
            )
        })?;
        check_uri(builder, "the builder id")?;
        let mut ext = Map::new();
        let mut deps = Vec::new();
        match (&self.source_repo, &self.source_commit) {
            (Some(repo), Some(commit)) => {
                check_uri(repo, "the source repository")?;
                check_commit(commit)?;
                let mut src = Map::new();
                src.insert("repository".into(), json!(repo));
                src.insert("commit".into(), json!(commit));
                if let Some(r) = &self.source_ref {
                    src.insert("ref".into(), json!(r));
                }
                ext.insert("source".into(), Value::Object(src));
                deps.push(json!({
                    "name": "source",
                    "uri": format!("git+{repo}"),
                    "digest": { "gitCommit": commit },
                    "annotations": { "role": "source" },
                }));
            }
            (None, None) => {}
            _ => {
                return Err(Error::Config(
                    "the source repository and the source commit go together: give both or \
                     neither"
                        .into(),
                ))
            }
        }
        if let Some(e) = &self.entry_point {
            ext.insert("entryPoint".into(), json!(e));
        }
        if !self.parameters.is_empty() {
            let params = Value::Object(self.parameters.clone());
            one_reading(&params, "a parameter")?;
            ext.insert("parameters".into(), params);
        }
        // Names tell dependencies apart in `provenance show` and in messages: one name, one
        // dependency (the outside review had two datasets named `data` share a check).
        let mut names = std::collections::HashSet::new();
        for a in self.datasets.iter().chain(&self.base_models) {
            if !names.insert(a.name.as_str()) {
                return Err(Error::Config(format!(
                    "two datasets or base models are named '{}'; name one apart \
                     (NAME=sha256:HEX)",
                    crate::error::untrusted_text(&a.name, 100)
                )));
            }
        }
        for (role, list) in [
            ("dataset", &self.datasets),
            ("base-model", &self.base_models),
        ] {
            for a in list {
                deps.push(json!({
                    "name": a.name,
                    "digest": { "sha256": hex::encode(a.digest) },
                    "annotations": { "role": role },
                }));
            }
        }
        for p in &self.packages {
            let purl = Purl::parse(p)?;
            // A pinned version: a range or wildcard recorded here would match every query or
            // none (the second review recorded `@>=0` and `@*`).
            if !purl
                .version
                .as_deref()
                .is_some_and(super::query::plain_version)
            {
                return Err(Error::Config(format!(
                    "the package URL '{}' has no pinned version (pkg:TYPE/NAME@VERSION)",
                    crate::error::untrusted_text(p, 120)
                )));
            }
            deps.push(json!({
                "name": purl.name,
                "uri": p,
                "annotations": { "role": "package" },
            }));
        }
        let mut metadata = Map::new();
        if let Some(id) = &self.invocation_id {
            metadata.insert("invocationId".into(), json!(id));
        }
        for (key, t) in [
            ("startedOn", &self.started_on),
            ("finishedOn", &self.finished_on),
        ] {
            if let Some(t) = t {
                check_time(t)?;
                metadata.insert(key.into(), json!(t));
            }
        }
        let mut build = Map::new();
        build.insert("buildType".into(), json!(BUILD_TYPE));
        build.insert("externalParameters".into(), Value::Object(ext));
        if !deps.is_empty() {
            build.insert("resolvedDependencies".into(), Value::Array(deps));
        }
        let mut run = Map::new();
        run.insert("builder".into(), json!({ "id": builder }));
        if !metadata.is_empty() {
            run.insert("metadata".into(), Value::Object(metadata));
        }
        Ok(json!({ "buildDefinition": build, "runDetails": run }))
    }
}

/// Refuses numbers that JSON readers read differently: integers beyond 2^53 (Go's `float64`
/// rounds 9007199254740993 down, Python keeps it) and integral values too large for the one
/// we would write (a 30-digit integer would be written as 1.8e19: the second review).
pub fn one_reading(v: &serde_json::Value, what: &str) -> Result<()> {
    const EXACT: u64 = 1 << 53;
    match v {
        serde_json::Value::Number(n) => {
            let ok = match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => u <= EXACT,
                (_, Some(i), _) => i.unsigned_abs() <= EXACT,
                (_, _, Some(f)) => f.is_finite() && !(f.fract() == 0.0 && f.abs() > EXACT as f64),
                _ => false,
            };
            if !ok {
                return Err(Error::Config(format!(
                    "{what} holds the number {n}, which JSON readers do not all read as the same \
                     value (integers beyond 2^53); write it as a string"
                )));
            }
            Ok(())
        }
        serde_json::Value::Array(a) => a.iter().try_for_each(|x| one_reading(x, what)),
        serde_json::Value::Object(o) => o.values().try_for_each(|x| one_reading(x, what)),
        _ => Ok(()),
    }
}

fn check_uri(s: &str, what: &str) -> Result<()> {
    let scheme_ok = s.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !rest.is_empty()
    });
    if !scheme_ok || s.chars().any(|c| c.is_whitespace() || c.is_control()) || s.len() > 2048 {
        return Err(Error::Config(format!(
            "{what} '{}' is not a URI (scheme:rest, no spaces, at most 2048 bytes)",
            crate::error::untrusted_text(s, 120)
        )));
    }
    super::check_plain_uri(s, what).map_err(|e| Error::Config(e.to_string()))
}

fn check_commit(c: &str) -> Result<()> {
    if !matches!(c.len(), 40 | 64)
        || !c
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Error::Config(format!(
            "the source commit '{}' is not a full git commit id (40 or 64 lowercase hex digits)",
            crate::error::untrusted_text(c, 80)
        )));
    }
    Ok(())
}

/// Checks `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.
pub fn check_time(t: &str) -> Result<()> {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let frac_ok = match b.get(19) {
        Some(b'Z') => b.len() == 20,
        Some(b'.') => {
            b.len() > 21
                && b.last() == Some(&b'Z')
                && b.get(20..b.len() - 1)
                    .is_some_and(|f| f.iter().all(u8::is_ascii_digit))
        }
        _ => false,
    };
    let ok = digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19)
        && frac_ok;
    if !ok {
        return Err(Error::Config(format!(
            "'{}' is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)",
            crate::error::untrusted_text(t, 60)
        )));
    }
    Ok(())
}

/// The CI platform's description of the current run, from the variables it sets: GitHub Actions
/// (`GITHUB_ACTIONS=true`) or GitLab CI (`GITLAB_CI=true`); an empty [`Input`] elsewhere. `var`
/// reads one variable (the process environment, or a map in tests).
///
/// GitHub Actions: the builder id is the workflow that ran (`GITHUB_SERVER_URL/GITHUB_WORKFLOW_REF`,
/// the identity a keyless certificate from Actions binds), the source `GITHUB_SERVER_URL/
/// GITHUB_REPOSITORY` at `GITHUB_SHA` and `GITHUB_REF`, the invocation the run's URL with its
/// attempt. GitLab CI: the builder id is `CI_SERVER_URL/CI_PROJECT_PATH//CI_CONFIG_PATH@REF` (as
/// GitLab's keyless identity), the source `CI_PROJECT_URL` at `CI_COMMIT_SHA`, the invocation
/// `CI_JOB_URL`. The entry point is the workflow or pipeline file.
pub fn ci_environment(var: &dyn Fn(&str) -> Option<String>) -> Input {
    let get = |k: &str| var(k).filter(|v| !v.is_empty());
    let mut i = Input::default();
    if get("GITHUB_ACTIONS").as_deref() == Some("true") {
        let server = get("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        let server = server.trim_end_matches('/').to_string();
        if let Some(repo) = get("GITHUB_REPOSITORY") {
            i.source_repo = Some(format!("{server}/{repo}"));
            if let Some(run) = get("GITHUB_RUN_ID") {
                let attempt = get("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
                i.invocation_id = Some(format!(
                    "{server}/{repo}/actions/runs/{run}/attempts/{attempt}"
                ));
            }
        }
        i.source_commit = get("GITHUB_SHA");
        i.source_ref = get("GITHUB_REF");
        if let Some(wf) = get("GITHUB_WORKFLOW_REF") {
            i.builder_id = Some(format!("{server}/{wf}"));
            // owner/repo/.github/workflows/x.yml@ref: the path inside the repository.
            let path = wf.split_once('@').map_or(wf.as_str(), |(p, _)| p);
            let inside: Vec<&str> = path.splitn(3, '/').collect();
            if let Some(p) = inside.get(2) {
                i.entry_point = Some((*p).to_string());
            }
        }
    } else if get("GITLAB_CI").as_deref() == Some("true") {
        let server = get("CI_SERVER_URL").unwrap_or_else(|| "https://gitlab.com".into());
        let server = server.trim_end_matches('/').to_string();
        i.source_repo = get("CI_PROJECT_URL");
        i.source_commit = get("CI_COMMIT_SHA");
        let config = get("CI_CONFIG_PATH").unwrap_or_else(|| ".gitlab-ci.yml".into());
        let git_ref = match (get("CI_COMMIT_TAG"), get("CI_COMMIT_BRANCH")) {
            (Some(t), _) => Some(format!("refs/tags/{t}")),
            (None, Some(b)) => Some(format!("refs/heads/{b}")),
            (None, None) => get("CI_COMMIT_REF_NAME").map(|r| format!("refs/heads/{r}")),
        };
        if let Some(project) = get("CI_PROJECT_PATH") {
            i.builder_id = Some(match &git_ref {
                Some(r) => format!("{server}/{project}//{config}@{r}"),
                None => format!("{server}/{project}//{config}"),
            });
        }
        i.source_ref = git_ref;
        i.invocation_id = get("CI_JOB_URL");
        i.entry_point = Some(config);
        i.started_on = get("CI_JOB_STARTED_AT");
    }
    i
}

/// The roles of [`BUILD_TYPE`]'s resolved dependencies.
const ROLES: [&str; 4] = ["source", "dataset", "base-model", "package"];

/// A dependency as a verified provenance records it.
#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    /// `annotations.role` (`source`, `dataset`, `base-model`, `package`), or empty.
    pub role: String,
    /// `name`.
    pub name: String,
    /// `uri`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// `digest.sha256`, for datasets and models (hex in JSON).
    #[serde(
        serialize_with = "crate::report::hex_digest_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub sha256: Option<[u8; 32]>,
    /// `digest.gitCommit`, for source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
}

/// What a verified provenance says about how the model was made.
#[derive(Debug, Clone, Serialize)]
pub struct Lineage {
    /// `runDetails.builder.id`.
    pub builder_id: String,
    /// `buildDefinition.buildType`.
    pub build_type: String,
    /// `externalParameters.source.repository`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_repository: Option<String>,
    /// `externalParameters.source.commit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<String>,
    /// `externalParameters.entryPoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    /// `runDetails.metadata.invocationId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// Every resolved dependency, in order.
    pub dependencies: Vec<Dependency>,
}

impl Lineage {
    /// Reads a provenance predicate. Keys are read as every consumer reads them: a key that Go
    /// would take for a known field under another spelling is refused (the statement was
    /// already checked for repeated keys).
    pub fn read(predicate: &Node) -> Result<Lineage> {
        let p = Fields::new(predicate, &["buildDefinition", "runDetails"], "predicate")?;
        let bd_node = p
            .get("buildDefinition")?
            .ok_or_else(|| missing("predicate.buildDefinition"))?;
        let bd = Fields::new(
            bd_node,
            &[
                "buildType",
                "externalParameters",
                "internalParameters",
                "resolvedDependencies",
            ],
            "buildDefinition",
        )?;
        let build_type = bd
            .str("buildType")?
            .ok_or_else(|| missing("buildDefinition.buildType"))?;
        let rd_node = p
            .get("runDetails")?
            .ok_or_else(|| missing("predicate.runDetails"))?;
        let rd = Fields::new(
            rd_node,
            &["builder", "metadata", "byproducts"],
            "runDetails",
        )?;
        let b_node = rd
            .get("builder")?
            .ok_or_else(|| missing("runDetails.builder"))?;
        let b = Fields::new(
            b_node,
            &["id", "version", "builderDependencies"],
            "runDetails.builder",
        )?;
        let builder_id = b
            .str("id")?
            .ok_or_else(|| missing("runDetails.builder.id"))?;
        let invocation_id = match rd.get("metadata")? {
            Some(m) => Fields::new(
                m,
                &["invocationId", "startedOn", "finishedOn"],
                "runDetails.metadata",
            )?
            .str("invocationId")?
            .map(str::to_string),
            None => None,
        };
        let (mut source_repository, mut source_commit, mut entry_point) = (None, None, None);
        if build_type == BUILD_TYPE {
            if let Some(ext) = bd.get("externalParameters")? {
                let e = Fields::new(
                    ext,
                    &["source", "entryPoint", "parameters"],
                    "externalParameters",
                )?;
                entry_point = e.str("entryPoint")?.map(str::to_string);
                if let Some(src) = e.get("source")? {
                    let s = Fields::new(
                        src,
                        &["repository", "commit", "ref"],
                        "externalParameters.source",
                    )?;
                    source_repository = s.str("repository")?.map(str::to_string);
                    source_commit = s.str("commit")?.map(str::to_string);
                }
            }
        }
        let mut dependencies = Vec::new();
        for (i, d) in bd
            .array("resolvedDependencies")?
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let what = format!("resolvedDependencies[{i}]");
            let f = Fields::new(
                d,
                &[
                    "name",
                    "uri",
                    "digest",
                    "content",
                    "downloadLocation",
                    "mediaType",
                    "annotations",
                ],
                what.clone(),
            )?;
            let digest = f.string_map("digest")?.unwrap_or_default();
            let sha256 = match digest.get("sha256") {
                Some(h) => Some(super::parse_digest(&format!("sha256:{h}")).map_err(|_| {
                    Error::Attestation(format!(
                        "{what}.digest.sha256 is not 64 lowercase hex digits"
                    ))
                })?),
                None => None,
            };
            // Annotations may hold any JSON; only a string role is read.
            let role = match f.get("annotations")? {
                Some(a) => Fields::new(a, &["role"], format!("{what}.annotations"))?
                    .str("role")?
                    .unwrap_or_default()
                    .to_string(),
                None => String::new(),
            };
            if build_type == BUILD_TYPE && !ROLES.contains(&role.as_str()) {
                return Err(Error::Attestation(format!(
                    "{what} has the role '{}'; this build type's roles are {}",
                    crate::oci::json::shown(&role),
                    ROLES.join(", ")
                )));
            }
            // A package is its package URL, never a digest a datasets rule would not see.
            if role == "package"
                && (f.str("uri")?.is_none_or(|u| Purl::parse(u).is_err()) || !digest.is_empty())
            {
                return Err(Error::Attestation(format!(
                    "{what} (package) must name a package URL and no digest"
                )));
            }
            // A dataset or model is its root digest, one: a second algorithm is one a consumer
            // might match on instead.
            if matches!(role.as_str(), "dataset" | "base-model")
                && (sha256.is_none() || digest.len() != 1)
            {
                return Err(Error::Attestation(format!(
                    "{what} ({role}) must have exactly one sha256 digest (its root digest)"
                )));
            }
            dependencies.push(Dependency {
                role,
                name: f.str("name")?.unwrap_or_default().to_string(),
                uri: f.str("uri")?.map(str::to_string),
                sha256,
                git_commit: digest.get("gitCommit").cloned(),
            });
        }
        // The code is named once: two source dependencies, or a source dependency that names
        // other code than the external parameters, contradict themselves (a policy checking one
        // would pass what the other says).
        let sources: Vec<&Dependency> =
            dependencies.iter().filter(|d| d.role == "source").collect();
        if sources.len() > 1 {
            return Err(Error::Attestation(
                "the provenance names more than one source".into(),
            ));
        }
        if let Some(d) = sources.first() {
            let repo = d
                .uri
                .as_deref()
                .and_then(|u| u.strip_prefix("git+"))
                .map(str::to_string);
            match (&source_repository, build_type == BUILD_TYPE) {
                (Some(r), _) if repo.as_ref() != Some(r) || d.git_commit != source_commit => {
                    return Err(Error::Attestation(
                        "the provenance's source dependency names other code than its \
                         externalParameters.source"
                            .into(),
                    ))
                }
                (None, true) => {
                    return Err(Error::Attestation(
                        "the provenance has a source dependency but no \
                         externalParameters.source"
                            .into(),
                    ))
                }
                (None, false) => {
                    source_repository = repo;
                    source_commit = d.git_commit.clone();
                }
                _ => {}
            }
        }
        Ok(Lineage {
            builder_id: builder_id.to_string(),
            build_type: build_type.to_string(),
            source_repository,
            source_commit,
            entry_point,
            invocation_id,
            dependencies,
        })
    }

    /// The datasets it names.
    pub fn datasets(&self) -> impl Iterator<Item = &Dependency> {
        self.dependencies.iter().filter(|d| d.role == "dataset")
    }
}

fn missing(what: &str) -> Error {
    Error::Attestation(format!("the provenance has no {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn github_actions_fill_in() {
        // The variables GitHub documents for every run
        // (docs.github.com/actions/reference/variables-reference).
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/train"),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("GITHUB_REF", "refs/heads/main"),
            (
                "GITHUB_WORKFLOW_REF",
                "acme/train/.github/workflows/train.yml@refs/heads/main",
            ),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
        ]);
        let i = ci_environment(&e);
        assert_eq!(
            i.builder_id.as_deref(),
            Some("https://github.com/acme/train/.github/workflows/train.yml@refs/heads/main")
        );
        assert_eq!(
            i.source_repo.as_deref(),
            Some("https://github.com/acme/train")
        );
        assert_eq!(
            i.source_commit.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(i.source_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(
            i.entry_point.as_deref(),
            Some(".github/workflows/train.yml")
        );
        assert_eq!(
            i.invocation_id.as_deref(),
            Some("https://github.com/acme/train/actions/runs/42/attempts/2")
        );
        let p = i.predicate().unwrap();
        assert_eq!(
            p["runDetails"]["builder"]["id"],
            "https://github.com/acme/train/.github/workflows/train.yml@refs/heads/main"
        );
        assert_eq!(
            p["buildDefinition"]["externalParameters"]["source"]["commit"],
            "0123456789abcdef0123456789abcdef01234567"
        );
    }

    #[test]
    fn gitlab_fill_in() {
        // docs.gitlab.com/ci/variables/predefined_variables
        let e = env(&[
            ("GITLAB_CI", "true"),
            ("CI_SERVER_URL", "https://gitlab.example.com"),
            ("CI_PROJECT_PATH", "ml/train"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/ml/train"),
            ("CI_COMMIT_SHA", "89abcdef0123456789abcdef0123456789abcdef"),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_JOB_URL", "https://gitlab.example.com/ml/train/-/jobs/7"),
            ("CI_JOB_STARTED_AT", "2026-12-01T10:00:00Z"),
        ]);
        let i = ci_environment(&e);
        assert_eq!(
            i.builder_id.as_deref(),
            Some("https://gitlab.example.com/ml/train//.gitlab-ci.yml@refs/heads/main")
        );
        assert_eq!(
            i.source_repo.as_deref(),
            Some("https://gitlab.example.com/ml/train")
        );
        assert_eq!(
            i.invocation_id.as_deref(),
            Some("https://gitlab.example.com/ml/train/-/jobs/7")
        );
        assert_eq!(i.started_on.as_deref(), Some("2026-12-01T10:00:00Z"));
        i.predicate().unwrap();
        // Neither platform: nothing is made up.
        let none = ci_environment(&env(&[("CI", "true")]));
        assert!(none.builder_id.is_none() && none.source_repo.is_none());
        assert!(none
            .predicate()
            .unwrap_err()
            .to_string()
            .contains("builder id"));
    }

    #[test]
    fn explicit_values_win_and_bad_ones_are_refused() {
        let mut i = Input {
            builder_id: Some("https://ci.example/runner".into()),
            ..Default::default()
        };
        i.fill_from(ci_environment(&env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_WORKFLOW_REF", "a/b/w.yml@x"),
        ])));
        assert_eq!(i.builder_id.as_deref(), Some("https://ci.example/runner"));
        for bad in [
            Input {
                builder_id: Some("not a uri".into()),
                ..Default::default()
            },
            Input {
                builder_id: Some("x:y".into()),
                source_commit: Some("abc".into()),
                source_repo: Some("https://r".into()),
                ..Default::default()
            },
            Input {
                builder_id: Some("x:y".into()),
                source_repo: Some("https://r".into()),
                ..Default::default()
            },
            Input {
                builder_id: Some("x:y".into()),
                packages: vec!["pkg:pypi/torch".into()],
                ..Default::default()
            },
            Input {
                builder_id: Some("x:y".into()),
                finished_on: Some("yesterday".into()),
                ..Default::default()
            },
        ] {
            assert!(bad.predicate().is_err(), "{bad:?}");
        }
        for t in ["2026-12-07T10:00:00Z", "2026-12-07T10:00:00.123Z"] {
            check_time(t).unwrap();
        }
        for t in [
            "2026-12-07 10:00:00Z",
            "2026-12-07T10:00:00+01:00",
            "2026-12-07T10:00:00.Z",
            "",
        ] {
            assert!(check_time(t).is_err(), "{t}");
        }
    }

    #[test]
    fn lineage_round_trip() {
        let i = Input {
            builder_id: Some("https://ci.example/runner".into()),
            source_repo: Some("https://git.example/acme/train".into()),
            source_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            datasets: vec![Artifact {
                name: "data".into(),
                digest: [7; 32],
            }],
            base_models: vec![Artifact {
                name: "base".into(),
                digest: [8; 32],
            }],
            packages: vec!["pkg:pypi/torch@2.5.1".into()],
            ..Default::default()
        };
        let v = i.predicate().unwrap();
        let node = crate::oci::json::parse(&serde_json::to_vec(&v).unwrap(), "p").unwrap();
        let l = Lineage::read(&node).unwrap();
        assert_eq!(l.builder_id, "https://ci.example/runner");
        assert_eq!(
            l.source_repository.as_deref(),
            Some("https://git.example/acme/train")
        );
        assert_eq!(l.datasets().count(), 1);
        assert_eq!(
            l.dependencies
                .iter()
                .find(|d| d.role == "base-model")
                .unwrap()
                .sha256,
            Some([8; 32])
        );
        assert_eq!(
            l.dependencies
                .iter()
                .find(|d| d.role == "package")
                .unwrap()
                .uri
                .as_deref(),
            Some("pkg:pypi/torch@2.5.1")
        );
        // A folded key is refused: Go reads `BuildDefinition` as the field.
        let folded = br#"{"buildDefinition":{"buildType":"x"},"BuildDefinition":{"buildType":"y"},"runDetails":{"builder":{"id":"a:b"}}}"#;
        assert!(Lineage::read(&crate::oci::json::parse(folded, "p").unwrap()).is_err());
    }
}
