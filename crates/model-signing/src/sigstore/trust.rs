//! Sigstore trust material: where the trusted root (and the signing config) comes from.
//!
//! Verification never needs the network. The trusted root is taken from, in this order:
//!
//! 1. `--trusted-root FILE`: a TrustedRoot JSON document;
//! 2. `--trust-config FILE`: a ClientTrustConfig (`{"mediaType", "trustedRoot", "signingConfig"}`), as
//!    written for sigstore-python and model-signing's `--trust_config`;
//! 3. the root cached by `model-signing trust-root update` under the user cache directory
//!    (`$XDG_CACHE_HOME/model-signing/<instance>/trusted_root.json`, usually `~/.cache/...`), if it is
//!    present and parses;
//! 4. the production (or, with `--use-staging`, staging) root embedded in the binary by
//!    sigstore-trust-root.
//!
//! The cache is only ever written after a full TUF refresh ([`update_cached`]), so it is as trustworthy
//! as the embedded TUF root it was fetched with; reading it needs no network and no TUF metadata, so it
//! does not expire the way a TUF cache does.
//!
//! A cached root silently replacing the embedded one would hide a stale or planted cache file, so
//! using it is logged at WARNING, naming the file and its age (days since its modification time),
//! the first time in the process that a given cache file is used; later loads of the same file log
//! at info level only. A cached root whose content equals the embedded one (what `trust-root
//! update` writes when nothing changed upstream) overrides nothing and is logged at info level only.
//! Content is compared after parsing, not byte for byte: the cache holds our re-serialisation.
//! [`TrustRoot::info`] gives the same facts (kind, source, instance, age) as a serialisable
//! [`TrustRootInfo`] for verification reports.

use super::{normalize_proto_json, one_line, Instance, SIGSTORE_RUST_VERSION};
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::Value;
use sigstore_trust_root::{SigningConfig as SsSigningConfig, TrustedRoot};
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

/// Media types of TrustedRoot documents that we accept (the two protobuf-specs releases).
pub const TRUSTED_ROOT_MEDIA_TYPES: [&str; 2] = [
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    "application/vnd.dev.sigstore.trustedroot.v0.2+json",
];

/// Media type of a ClientTrustConfig document.
pub const TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// File name of the cached trusted root inside [`cache_dir`].
pub const CACHED_TRUSTED_ROOT: &str = "trusted_root.json";
/// File name of the cached signing config inside [`cache_dir`].
pub const CACHED_SIGNING_CONFIG: &str = "signing_config.json";

use crate::limits::MAX_TRUST_FILE_BYTES;

/// What the user asked for; see the module documentation for the order in which it is used.
#[derive(Debug, Clone, Default)]
pub struct TrustOptions {
    /// `--trusted-root`: a TrustedRoot JSON file.
    pub trusted_root: Option<PathBuf>,
    /// `--trust-config`: a ClientTrustConfig JSON file.
    pub trust_config: Option<PathBuf>,
    /// `--use-staging` selects the staging instance for the cached and embedded roots.
    pub instance: Instance,
    /// Overrides the cache root (normally the user cache directory + `model-signing`); mainly for
    /// tests. The instance name is appended.
    pub cache_root: Option<PathBuf>,
    /// Skip the cached root and use the embedded one (when no file is given).
    pub ignore_cache: bool,
}

impl TrustOptions {
    /// Options for the public instance, without files.
    pub fn for_instance(instance: Instance) -> Self {
        TrustOptions {
            instance,
            ..Default::default()
        }
    }
}

/// Where trust material came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    /// A TrustedRoot file given with `--trusted-root`.
    TrustedRootFile(PathBuf),
    /// A ClientTrustConfig file given with `--trust-config`.
    TrustConfigFile(PathBuf),
    /// The file cached by `model-signing trust-root update`.
    Cached(Instance, PathBuf),
    /// The snapshot compiled into the binary.
    Embedded(Instance),
}

impl fmt::Display for TrustSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustSource::TrustedRootFile(p) => write!(f, "trusted root file '{}'", p.display()),
            TrustSource::TrustConfigFile(p) => write!(f, "trust config '{}'", p.display()),
            TrustSource::Cached(i, p) => write!(f, "cached Sigstore {i} root '{}'", p.display()),
            TrustSource::Embedded(i) => {
                write!(f, "Sigstore {i} root embedded in this binary (sigstore-trust-root {SIGSTORE_RUST_VERSION})")
            }
        }
    }
}

/// What kind of [`TrustSource`] a root came from, as written in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustRootKind {
    /// [`TrustSource::Embedded`].
    Embedded,
    /// [`TrustSource::Cached`].
    Cached,
    /// [`TrustSource::TrustedRootFile`].
    TrustedRootFile,
    /// [`TrustSource::TrustConfigFile`].
    TrustConfigFile,
}

/// Which trusted root a verification used, for reports (JSON through serde): for example
/// `{"kind": "cached", "source": "cached Sigstore production root '...'", "instance":
/// "production", "path": "...", "cached_age_days": 3, "matches_embedded": false}`.
///
/// Absent fields are left out of the JSON: `instance` is given for the cached and embedded roots,
/// `path` for the files and the cache, `cached_age_days` and `matches_embedded` for the cache only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustRootInfo {
    /// Where the root came from.
    pub kind: TrustRootKind,
    /// The [`TrustSource`]'s `Display` text.
    pub source: String,
    /// `production` or `staging`, for the cached and embedded roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The file read (lossy UTF-8), for the files and the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Whole days since the cached file was last modified (0 when its time is in the future or
    /// cannot be read); only for the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_age_days: Option<u64>,
    /// Whether the cached root's content equals the embedded root's; only for the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches_embedded: Option<bool>,
}

impl From<&TrustSource> for TrustRootInfo {
    /// The facts the source alone gives (no cache age: see [`TrustRoot::info`]).
    fn from(s: &TrustSource) -> Self {
        let lossy = |p: &Path| Some(p.to_string_lossy().into_owned());
        let (kind, instance, path) = match s {
            TrustSource::TrustedRootFile(p) => (TrustRootKind::TrustedRootFile, None, lossy(p)),
            TrustSource::TrustConfigFile(p) => (TrustRootKind::TrustConfigFile, None, lossy(p)),
            TrustSource::Cached(i, p) => (TrustRootKind::Cached, Some(i.name().into()), lossy(p)),
            TrustSource::Embedded(i) => (TrustRootKind::Embedded, Some(i.name().into()), None),
        };
        TrustRootInfo {
            kind,
            source: s.to_string(),
            instance,
            path,
            cached_age_days: None,
            matches_embedded: None,
        }
    }
}

/// What is known about a cached root file when it is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CacheFacts {
    /// Whole days since the file's modification time.
    age_days: u64,
    /// Its content equals the embedded root of the same instance.
    matches_embedded: bool,
}

/// A parsed, usable trusted root and where it came from.
#[derive(Debug, Clone)]
pub struct TrustRoot {
    pub(crate) root: TrustedRoot,
    source: TrustSource,
    cache: Option<CacheFacts>,
}

impl TrustRoot {
    /// Parses a TrustedRoot JSON document (camelCase or snake_case field names).
    pub fn from_json(bytes: &[u8], source: TrustSource) -> Result<Self> {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::Config(format!("{source}: not valid JSON: {e}")))?;
        Self::from_value(&v, source)
    }

    fn from_value(v: &Value, source: TrustSource) -> Result<Self> {
        let v = normalize_proto_json(v).map_err(|e| Error::Config(format!("{source}: {e}")))?;
        let media_type = v.get("mediaType").and_then(Value::as_str).unwrap_or("");
        if !TRUSTED_ROOT_MEDIA_TYPES.contains(&media_type) {
            return Err(Error::Config(format!(
                "{source}: unsupported trusted root media type '{}' (expected {})",
                media_type.escape_debug(),
                TRUSTED_ROOT_MEDIA_TYPES.join(" or ")
            )));
        }
        let root: TrustedRoot = serde_json::from_value(v)
            .map_err(|e| Error::Config(format!("{source}: invalid trusted root: {e}")))?;
        // sigstore-python rejects these too; sigstore-verify would only notice at verification time.
        for ca in &root.certificate_authorities {
            if ca.cert_chain.certificates.is_empty() {
                return Err(Error::Config(format!(
                    "{source}: a certificate authority has an empty certificate chain"
                )));
            }
        }
        Ok(TrustRoot {
            root,
            source,
            cache: None,
        })
    }

    /// The root embedded in the binary for `instance`.
    pub fn embedded(instance: Instance) -> Result<Self> {
        let json = instance.sigstore().embedded_trusted_root_json();
        Self::from_json(json.as_bytes(), TrustSource::Embedded(instance))
    }

    /// True when the root lists at least one certificate authority (keyless verification needs one).
    pub fn has_certificate_authorities(&self) -> bool {
        !self.root.certificate_authorities.is_empty()
    }

    /// Where this root came from.
    pub fn source(&self) -> &TrustSource {
        &self.source
    }

    /// Where this root came from, as a report entry; for a cached root with its age and whether it
    /// equals the embedded one.
    pub fn info(&self) -> TrustRootInfo {
        let mut info = TrustRootInfo::from(&self.source);
        if let Some(c) = self.cache {
            info.cached_age_days = Some(c.age_days);
            info.matches_embedded = Some(c.matches_embedded);
        }
        info
    }

    /// True when both roots hold the same content (compared through one serialisation, so the
    /// spelling and layout of the files they were read from do not matter).
    fn same_content(&self, other: &TrustRoot) -> bool {
        match (
            serde_json::to_value(&self.root),
            serde_json::to_value(&other.root),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }

    /// The root as TrustedRoot JSON (camelCase), e.g. to write it to a file.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(&self.root)
            .map_err(|e| Error::Config(format!("cannot encode the trusted root: {e}")))
    }
}

/// A signing config (service URLs for Fulcio, Rekor, TSA and OIDC) and where it came from.
#[derive(Debug, Clone)]
pub struct SigningConfig {
    /// The parsed config, for the signing code in this module.
    pub config: SsSigningConfig,
    /// The same document as JSON (camelCase), for callers that want the raw fields.
    pub json: Value,
    /// Where it came from.
    pub source: TrustSource,
}

impl SigningConfig {
    /// A phrase naming this config and its origin, for log lines ("using the ...").
    pub fn describe(&self) -> String {
        match &self.source {
            TrustSource::TrustConfigFile(p) => {
                format!("signing config of trust config '{}'", p.display())
            }
            TrustSource::Cached(i, p) => {
                format!("cached Sigstore {i} signing config '{}'", p.display())
            }
            TrustSource::Embedded(i) => {
                format!(
                    "Sigstore {i} signing config embedded in this binary (sigstore-trust-root {SIGSTORE_RUST_VERSION})"
                )
            }
            TrustSource::TrustedRootFile(p) => format!("signing config from '{}'", p.display()),
        }
    }

    fn from_value(v: &Value, source: TrustSource) -> Result<Self> {
        let json = normalize_proto_json(v).map_err(|e| Error::Config(format!("{source}: {e}")))?;
        let text =
            serde_json::to_string(&json).map_err(|e| Error::Config(format!("{source}: {e}")))?;
        // SigningConfig::from_json also checks the media type (v0.2 only, as sigstore-python 4).
        let config = SsSigningConfig::from_json(&text).map_err(|e| {
            Error::Config(format!(
                "{source}: invalid signing config: {}",
                one_line(&e)
            ))
        })?;
        Ok(SigningConfig {
            config,
            json,
            source,
        })
    }
}

/// The user cache directory for `instance`: `<cache>/model-signing/<instance>`.
///
/// `None` when no home directory can be found (then nothing is cached).
pub fn cache_dir(instance: Instance, cache_root: Option<&Path>) -> Option<PathBuf> {
    let root = match cache_root {
        Some(r) => r.to_path_buf(),
        None => directories::BaseDirs::new()?
            .cache_dir()
            .join("model-signing"),
    };
    Some(root.join(instance.name()))
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    use crate::secret_file::SecretFileError;
    // Checked on the opened file: a FIFO swapped in after a check by path would hang the read.
    crate::secret_file::read_regular(path, MAX_TRUST_FILE_BYTES).map_err(|e| {
        Error::Config(match e {
            SecretFileError::NotRegular => {
                format!("{what} '{}' is not a regular file", path.display())
            }
            SecretFileError::TooBig { len, .. } => format!(
                "{what} '{}' is {len} bytes, over the {MAX_TRUST_FILE_BYTES} byte limit",
                path.display()
            ),
            SecretFileError::Io(e) => format!("cannot read {what} '{}': {e}", path.display()),
        })
    })
}

/// The two halves of a ClientTrustConfig document.
#[derive(Debug, Clone)]
pub struct TrustConfigParts {
    /// `trustedRoot` (raw JSON).
    pub trusted_root: Value,
    /// `signingConfig` (raw JSON), if present.
    pub signing_config: Option<Value>,
}

/// Splits a ClientTrustConfig JSON document. sigstore-rust has no parser for it; field names may be
/// camelCase or snake_case (`trusted_root`, `signing_config`).
pub fn parse_trust_config(bytes: &[u8], source: &TrustSource) -> Result<TrustConfigParts> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::Config(format!("{source}: not valid JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| Error::Config(format!("{source}: the top level is not a JSON object")))?;
    let get = |camel: &str, snake: &str| {
        obj.get(camel)
            .or_else(|| obj.get(snake))
            .filter(|x| !x.is_null())
    };
    let media_type = get("mediaType", "media_type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if media_type != TRUST_CONFIG_MEDIA_TYPE {
        return Err(Error::Config(format!(
            "{source}: unsupported trust config media type '{}' (expected {TRUST_CONFIG_MEDIA_TYPE})",
            media_type.escape_debug()
        )));
    }
    let trusted_root = get("trustedRoot", "trusted_root")
        .filter(|x| x.is_object())
        .ok_or_else(|| Error::Config(format!("{source}: missing 'trustedRoot'")))?
        .clone();
    let signing_config = get("signingConfig", "signing_config").cloned();
    Ok(TrustConfigParts {
        trusted_root,
        signing_config,
    })
}

/// Loads the trusted root the options select; see the module documentation for the order. Logs at
/// info level which root is used.
pub fn load_trusted_root(opts: &TrustOptions) -> Result<TrustRoot> {
    let root = load_trusted_root_quiet(opts)?;
    tracing::info!("using the {}", root.source());
    Ok(root)
}

/// [`load_trusted_root`] without the log line (for TSA trust, loaded on every key or certificate
/// verification).
pub(crate) fn load_trusted_root_quiet(opts: &TrustOptions) -> Result<TrustRoot> {
    if let Some(p) = &opts.trusted_root {
        if opts.trust_config.is_some() {
            tracing::warn!(
                "both a trusted root and a trust config were given; using the trusted root '{}'",
                p.display()
            );
        }
        let bytes = read_file(p, "trusted root")?;
        return TrustRoot::from_json(&bytes, TrustSource::TrustedRootFile(p.clone()));
    }
    if let Some(p) = &opts.trust_config {
        let source = TrustSource::TrustConfigFile(p.clone());
        let parts = parse_trust_config(&read_file(p, "trust config")?, &source)?;
        return TrustRoot::from_value(&parts.trusted_root, source);
    }
    if !opts.ignore_cache {
        if let Some(dir) = cache_dir(opts.instance, opts.cache_root.as_deref()) {
            let path = dir.join(CACHED_TRUSTED_ROOT);
            if path.is_file() {
                let loaded = read_file(&path, "cached trusted root").and_then(|b| {
                    TrustRoot::from_json(&b, TrustSource::Cached(opts.instance, path.clone()))
                });
                match loaded {
                    Ok(r) => return Ok(note_cached(r, opts.instance, &path)),
                    // A damaged cache must not lock the user out: the embedded root still works.
                    Err(e) => tracing::warn!("ignoring the cached trusted root: {e}"),
                }
            }
        }
    }
    TrustRoot::embedded(opts.instance)
}

/// Whole days from `modified` to now; 0 for a time in the future.
fn age_days(modified: SystemTime) -> u64 {
    SystemTime::now()
        .duration_since(modified)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

/// True the first time in this process that `path` is passed (the cache files warned about).
fn first_use(path: &Path) -> bool {
    static SEEN: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    seen.insert(path.to_path_buf())
}

/// Records the age of a cached root and whether it equals the embedded one, and says that it
/// replaces the embedded root: at WARNING the first time in the process that this file is used
/// and it differs from the embedded root, else at info level.
fn note_cached(mut root: TrustRoot, instance: Instance, path: &Path) -> TrustRoot {
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(age_days)
        .unwrap_or(0);
    let matches_embedded = TrustRoot::embedded(instance)
        .map(|e| root.same_content(&e))
        .unwrap_or(false);
    root.cache = Some(CacheFacts {
        age_days: age,
        matches_embedded,
    });
    let days = if age == 1 { "day" } else { "days" };
    if matches_embedded {
        tracing::info!(
            "the cached Sigstore {instance} trusted root '{}' ({age} {days} old) equals the one \
             embedded in this binary",
            path.display()
        );
    } else if first_use(path) {
        tracing::warn!(
            "using the cached Sigstore {instance} trusted root '{}' ({age} {days} old) instead of \
             the one embedded in this binary, from which it differs",
            path.display()
        );
    } else {
        tracing::info!(
            "using the cached Sigstore {instance} trusted root '{}' ({age} {days} old)",
            path.display()
        );
    }
    root
}

/// Loads the signing config: the `signingConfig` of `--trust-config`, else the one cached by
/// `trust-root update`, else the snapshot embedded for the instance. (`--trusted-root` carries no
/// signing config and is not consulted.)
pub fn load_signing_config(opts: &TrustOptions) -> Result<SigningConfig> {
    if let Some(p) = &opts.trust_config {
        let source = TrustSource::TrustConfigFile(p.clone());
        let parts = parse_trust_config(&read_file(p, "trust config")?, &source)?;
        let sc = parts.signing_config.ok_or_else(|| {
            Error::Config(format!(
                "{source}: missing 'signingConfig', which signing needs"
            ))
        })?;
        return SigningConfig::from_value(&sc, source);
    }
    if !opts.ignore_cache {
        if let Some(dir) = cache_dir(opts.instance, opts.cache_root.as_deref()) {
            let path = dir.join(CACHED_SIGNING_CONFIG);
            if path.is_file() {
                let source = TrustSource::Cached(opts.instance, path.clone());
                let loaded = read_file(&path, "cached signing config").and_then(|b| {
                    let v: Value = serde_json::from_slice(&b)
                        .map_err(|e| Error::Config(format!("{source}: not valid JSON: {e}")))?;
                    SigningConfig::from_value(&v, source.clone())
                });
                match loaded {
                    Ok(c) => {
                        tracing::info!("using the {}", c.describe());
                        return Ok(c);
                    }
                    Err(e) => tracing::warn!("ignoring the cached signing config: {e}"),
                }
            }
        }
    }
    let source = TrustSource::Embedded(opts.instance);
    let json = opts
        .instance
        .sigstore()
        .embedded_signing_config_json()
        .ok_or_else(|| {
            Error::Config(format!(
                "no signing config is embedded for the {} instance",
                opts.instance
            ))
        })?;
    let v: Value =
        serde_json::from_str(json).map_err(|e| Error::Config(format!("{source}: {e}")))?;
    let c = SigningConfig::from_value(&v, source)?;
    tracing::info!("using the {}", c.describe());
    Ok(c)
}

/// Result of [`update_cached`].
#[derive(Debug, Clone)]
pub struct UpdateOutcome {
    /// The cached trusted root that was written.
    pub trusted_root: PathBuf,
    /// The cached signing config that was written.
    pub signing_config: PathBuf,
}

/// Refreshes the trusted root and signing config of `instance` through TUF (anchored in the TUF root
/// embedded in sigstore-trust-root) and caches both, atomically, in [`cache_dir`].
///
/// `timeout` bounds the whole refresh, and each HTTP request too, so that an offline machine or a
/// slow mirror fails with one clear error instead of hanging.
pub fn update_cached(
    instance: Instance,
    cache_root: Option<&Path>,
    timeout: Duration,
) -> Result<UpdateOutcome> {
    let dir = cache_dir(instance, cache_root).ok_or_else(|| {
        Error::Config("cannot determine the user cache directory (is HOME set?)".into())
    })?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let url = instance.sigstore().tuf_url();
    let client = sigstore_trust_root::reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .build()
        .map_err(|e| Error::Config(format!("cannot set up HTTPS: {}", one_line(&e))))?;
    let config = instance
        .sigstore()
        .tuf_config()
        .with_cache_dir(dir.join("tuf"))
        .with_http_client(client);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("cannot start the async runtime: {e}")))?;
    let fetched = rt.block_on(async {
        tokio::time::timeout(timeout, sigstore_trust_root::fetch_trust_material(config)).await
    });
    // Dropping a runtime waits for its blocking tasks (a DNS lookup may be stuck in one); do not.
    rt.shutdown_background();
    let (root, signing) = match fetched {
        Err(_) => {
            return Err(Error::Config(format!(
            "cannot update the Sigstore {instance} trusted root from {url}: no answer within {} s",
            timeout.as_secs()
        )))
        }
        Ok(Err(e)) => {
            return Err(Error::Config(format!(
                "cannot update the Sigstore {instance} trusted root from {url}: {}",
                one_line(&e)
            )))
        }
        Ok(Ok(x)) => x,
    };
    // Validate before caching: a root we could not use later must not replace a good one.
    let root_json = serde_json::to_vec_pretty(&root)
        .map_err(|e| Error::Config(format!("cannot encode the trusted root: {e}")))?;
    TrustRoot::from_json(
        &root_json,
        TrustSource::Cached(instance, dir.join(CACHED_TRUSTED_ROOT)),
    )?;
    let signing_json = serde_json::to_vec_pretty(&signing)
        .map_err(|e| Error::Config(format!("cannot encode the signing config: {e}")))?;
    let trusted_root = dir.join(CACHED_TRUSTED_ROOT);
    let signing_config = dir.join(CACHED_SIGNING_CONFIG);
    write_atomic(&trusted_root, &root_json)?;
    write_atomic(&signing_config, &signing_json)?;
    Ok(UpdateOutcome {
        trusted_root,
        signing_config,
    })
}

/// Written with [`crate::atomic::write`], so a reader never sees a half-written root (and a crash
/// leaves the old one).
fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    crate::atomic::write(path, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_roots_load() {
        for i in [Instance::Production, Instance::Staging] {
            let r = TrustRoot::embedded(i).unwrap();
            assert_eq!(r.source(), &TrustSource::Embedded(i));
            assert!(!r.root.certificate_authorities.is_empty());
            // Round trip through our own serialisation (what update_cached writes).
            let again =
                TrustRoot::from_json(&r.to_json().unwrap(), TrustSource::Embedded(i)).unwrap();
            assert_eq!(again.root.tlogs.len(), r.root.tlogs.len());
        }
    }

    #[test]
    fn trust_config_split_accepts_both_spellings() {
        let root: Value =
            serde_json::from_str(Instance::Production.sigstore().embedded_trusted_root_json())
                .unwrap();
        let sc: Value = serde_json::from_str(
            Instance::Production
                .sigstore()
                .embedded_signing_config_json()
                .unwrap(),
        )
        .unwrap();
        let camel = serde_json::json!({"mediaType": TRUST_CONFIG_MEDIA_TYPE, "trustedRoot": root, "signingConfig": sc});
        let snake = serde_json::json!({"media_type": TRUST_CONFIG_MEDIA_TYPE, "trusted_root": root, "signing_config": sc});
        let src = TrustSource::TrustConfigFile("x".into());
        for doc in [camel, snake] {
            let parts = parse_trust_config(&serde_json::to_vec(&doc).unwrap(), &src).unwrap();
            TrustRoot::from_value(&parts.trusted_root, src.clone()).unwrap();
            SigningConfig::from_value(&parts.signing_config.unwrap(), src.clone()).unwrap();
        }
        let bad = serde_json::json!({"mediaType": "bad-media-type", "trustedRoot": root});
        let e = parse_trust_config(&serde_json::to_vec(&bad).unwrap(), &src).unwrap_err();
        assert!(e.to_string().contains("media type"), "{e}");
        let missing = serde_json::json!({"mediaType": TRUST_CONFIG_MEDIA_TYPE});
        assert!(parse_trust_config(&serde_json::to_vec(&missing).unwrap(), &src).is_err());
    }

    #[test]
    fn trusted_root_checks() {
        let src = TrustSource::TrustedRootFile("x".into());
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"mediaType":"bad-media-type"}"#,
            r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","certificateAuthorities":[{"subject":{},"uri":"u","certChain":{"certificates":[]},"validFor":{"start":"2020-01-01T00:00:00Z"}}]}"#,
        ] {
            assert!(
                TrustRoot::from_json(bad.as_bytes(), src.clone()).is_err(),
                "{bad}"
            );
        }
        // Parses, but is useless for keyless verification: refused when building the verifier.
        let empty = TrustRoot::from_json(
            br#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
            src.clone(),
        )
        .unwrap();
        assert!(!empty.has_certificate_authorities());
        let policy = crate::sigstore::verify::IdentityPolicy {
            identity: Some("a".into()),
            identity_regex: None,
            issuer: "b".into(),
        };
        let e = crate::sigstore::verify::SigstoreVerifier::new(&empty, policy)
            .err()
            .unwrap();
        assert!(e.to_string().contains("no certificate authorities"), "{e}");
    }

    #[test]
    fn load_order() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = TrustOptions {
            cache_root: Some(tmp.path().to_path_buf()),
            ..Default::default()
        };
        // No cache: embedded.
        assert_eq!(
            load_trusted_root(&opts).unwrap().source(),
            &TrustSource::Embedded(Instance::Production)
        );
        // A broken cache is ignored.
        let dir = cache_dir(Instance::Production, Some(tmp.path())).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(CACHED_TRUSTED_ROOT), "not json").unwrap();
        assert_eq!(
            load_trusted_root(&opts).unwrap().source(),
            &TrustSource::Embedded(Instance::Production)
        );
        // A good cache wins over the embedded root, and staging has its own.
        let staging = TrustRoot::embedded(Instance::Staging)
            .unwrap()
            .to_json()
            .unwrap();
        write_atomic(&dir.join(CACHED_TRUSTED_ROOT), &staging).unwrap();
        assert!(matches!(
            load_trusted_root(&opts).unwrap().source(),
            TrustSource::Cached(Instance::Production, _)
        ));
        let st = TrustOptions {
            instance: Instance::Staging,
            ..opts.clone()
        };
        assert_eq!(
            load_trusted_root(&st).unwrap().source(),
            &TrustSource::Embedded(Instance::Staging)
        );
        // Files win over the cache.
        let f = tmp.path().join("root.json");
        std::fs::write(&f, &staging).unwrap();
        let o = TrustOptions {
            trusted_root: Some(f.clone()),
            ..opts.clone()
        };
        assert_eq!(
            load_trusted_root(&o).unwrap().source(),
            &TrustSource::TrustedRootFile(f)
        );
        // Embedded signing configs parse, and survive the round trip update_cached makes.
        let sc = load_signing_config(&TrustOptions {
            ignore_cache: true,
            ..opts.clone()
        })
        .unwrap();
        assert!(sc.config.fulcio_url().is_some());
        write_atomic(
            &dir.join(CACHED_SIGNING_CONFIG),
            &serde_json::to_vec_pretty(&sc.config).unwrap(),
        )
        .unwrap();
        let cached = load_signing_config(&opts).unwrap();
        assert!(
            matches!(cached.source, TrustSource::Cached(Instance::Production, _)),
            "{:?}",
            cached.source
        );
        assert_eq!(
            cached.config.fulcio_url().map(|e| e.url.clone()),
            sc.config.fulcio_url().map(|e| e.url.clone())
        );
        assert_eq!(
            cached.config.rekor_tlog_urls.len(),
            sc.config.rekor_tlog_urls.len()
        );
    }

    #[test]
    fn info_names_the_source() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = TrustOptions {
            cache_root: Some(tmp.path().to_path_buf()),
            ..Default::default()
        };
        let embedded = load_trusted_root(&opts).unwrap().info();
        assert_eq!(embedded.kind, TrustRootKind::Embedded);
        assert_eq!(embedded.instance.as_deref(), Some("production"));
        assert_eq!(embedded.path, None);
        assert_eq!(embedded.cached_age_days, None);
        assert!(embedded.source.contains("embedded in this binary"));
        let json = serde_json::to_value(&embedded).unwrap();
        assert_eq!(json["kind"], "embedded");
        assert!(json.get("cached_age_days").is_none(), "{json}");

        let f = tmp.path().join("root.json");
        let prod = TrustRoot::embedded(Instance::Production).unwrap();
        std::fs::write(&f, prod.to_json().unwrap()).unwrap();
        let file = load_trusted_root(&TrustOptions {
            trusted_root: Some(f.clone()),
            ..opts.clone()
        })
        .unwrap()
        .info();
        assert_eq!(file.kind, TrustRootKind::TrustedRootFile);
        assert_eq!(file.instance, None);
        assert_eq!(file.path.as_deref(), f.to_str());
        let tc = TrustRootInfo::from(&TrustSource::TrustConfigFile(f.clone()));
        assert_eq!(
            serde_json::to_value(&tc).unwrap()["kind"],
            "trust_config_file"
        );

        // A cached copy of the embedded root: its age, and that it equals the embedded one.
        let dir = cache_dir(Instance::Production, Some(tmp.path())).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let cached = dir.join(CACHED_TRUSTED_ROOT);
        std::fs::write(&cached, prod.to_json().unwrap()).unwrap();
        let ten_days = SystemTime::now() - Duration::from_secs(10 * 86_400 + 60);
        std::fs::File::options()
            .write(true)
            .open(&cached)
            .unwrap()
            .set_modified(ten_days)
            .unwrap();
        let same = load_trusted_root(&opts).unwrap().info();
        assert_eq!(same.kind, TrustRootKind::Cached);
        assert_eq!(same.cached_age_days, Some(10));
        assert_eq!(same.matches_embedded, Some(true));
        assert_eq!(same.path.as_deref(), cached.to_str());
        // The staging root under the production name differs.
        let staging = TrustRoot::embedded(Instance::Staging).unwrap();
        std::fs::write(&cached, staging.to_json().unwrap()).unwrap();
        let other = load_trusted_root(&opts).unwrap().info();
        assert_eq!(other.matches_embedded, Some(false));
        assert_eq!(other.cached_age_days, Some(0));
        let json = serde_json::to_value(&other).unwrap();
        assert_eq!(json["kind"], "cached");
        assert_eq!(json["instance"], "production");
        assert_eq!(json["cached_age_days"], 0);
    }

    #[test]
    fn cache_warnings_are_once_per_file() {
        let a = Path::new("/nonexistent/once/a");
        assert!(first_use(a));
        assert!(!first_use(a));
        assert!(first_use(Path::new("/nonexistent/once/b")));
        assert_eq!(age_days(SystemTime::now() + Duration::from_secs(86_400)), 0);
        assert_eq!(
            age_days(SystemTime::now() - Duration::from_secs(3 * 86_400 + 5)),
            3
        );
    }
}
