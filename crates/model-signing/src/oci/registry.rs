//! Fetching a manifest from an OCI registry (distribution API v2): anonymous access, the bearer
//! token flow, HTTP Basic, credentials from the Docker config. Only the manifest is fetched, never
//! a blob.
//!
//! Hand-written on reqwest (the one the Sigstore crates already bring) rather than on `oci-client`,
//! because every byte a registry sends is untrusted and read here with a cap (`oci-client` reads
//! bodies whole), and because signing needs one GET, not a client. See `docs/design/oci.md`.

use super::reference::OciRef;
use super::sha256;
use crate::error::{Error, Result};
use base64::Engine as _;
use sigstore_sign::reqwest;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Plain http instead of https (local registries; ORAS's `--plain-http`).
    pub plain_http: bool,
    /// The Docker config file (`config.json`); `None`: `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// Time one request may take.
    pub timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            plain_http: false,
            docker_config: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Media types asked for, in order of preference.
const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json;q=0.9";

/// Largest token response read.
const MAX_TOKEN_BYTES: usize = 1 << 20;

fn registry_error(r: &OciRef, msg: impl std::fmt::Display) -> Error {
    Error::Registry(format!("registry {}: {msg}", r.registry))
}

/// `user:password` for `registry` from the Docker config, if any.
fn credentials(registry: &str, opts: &RegistryOptions) -> Result<Option<(String, String)>> {
    let path = match &opts.docker_config {
        Some(p) => p.clone(),
        None => match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d).join("config.json"),
            None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                Some(h) => PathBuf::from(h).join(".docker/config.json"),
                None => return Ok(None),
            },
        },
    };
    // The Docker config holds credentials: read like the other secret files (regular file,
    // bounded, zeroized).
    let bytes = match crate::secret_file::read(&path, 1 << 20) {
        Ok(b) => b,
        Err(crate::secret_file::SecretFileError::Io(e))
            if e.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(None)
        }
        Err(e) => {
            return Err(Error::Config(format!(
                "cannot read the Docker config '{}': {e}",
                path.display()
            )))
        }
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Config(format!(
            "the Docker config '{}' is not JSON: {e}",
            path.display()
        ))
    })?;
    let Some(auths) = v.get("auths").and_then(|a| a.as_object()) else {
        return Ok(None);
    };
    let keys = [
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
        format!("https://{registry}/v1/"),
        format!("https://{registry}/v2/"),
    ];
    let Some(entry) = keys.iter().find_map(|k| auths.get(k)) else {
        return Ok(None);
    };
    if let Some(auth) = entry
        .get("auth")
        .and_then(|a| a.as_str())
        .filter(|a| !a.is_empty())
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or_else(|| {
                Error::Config(format!(
                    "the Docker config '{}' has an 'auth' for {registry} that is not base64 \
                     user:password",
                    path.display()
                ))
            })?;
        let (u, p) = decoded.split_once(':').ok_or_else(|| {
            Error::Config(format!(
                "the Docker config '{}' has an 'auth' for {registry} without a ':'",
                path.display()
            ))
        })?;
        return Ok(Some((u.to_string(), p.to_string())));
    }
    match (
        entry.get("username").and_then(|u| u.as_str()),
        entry.get("password").and_then(|p| p.as_str()),
    ) {
        (Some(u), Some(p)) => Ok(Some((u.to_string(), p.to_string()))),
        _ => Ok(None),
    }
}

/// Reads at most `cap` bytes of a response body; more is an error.
async fn capped(resp: reqwest::Response, cap: usize, what: &str, r: &OciRef) -> Result<Vec<u8>> {
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(registry_error(
            r,
            format!("the {what} is over the {cap} byte limit"),
        ));
    }
    let mut resp = resp;
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        registry_error(
            r,
            format!("reading the {what}: {}", crate::error::one_line(&e)),
        )
    })? {
        if out.len() + chunk.len() > cap {
            return Err(registry_error(
                r,
                format!("the {what} is over the {cap} byte limit"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// `key="value"` parameters of a `WWW-Authenticate` challenge.
fn challenge_params(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(eq) = rest.find('=') {
        let key = rest
            .get(..eq)
            .unwrap_or("")
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = rest.get(eq + 1..).unwrap_or("");
        let (value, next) = if let Some(stripped) = after.strip_prefix('"') {
            match stripped.find('"') {
                Some(end) => (
                    stripped.get(..end).unwrap_or(""),
                    stripped.get(end + 1..).unwrap_or(""),
                ),
                None => (stripped, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (
                    after.get(..end).unwrap_or(""),
                    after.get(end..).unwrap_or(""),
                ),
                None => (after, ""),
            }
        };
        out.push((key, value.to_string()));
        rest = next;
    }
    out
}

fn short_body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let one: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    one.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fetches the raw manifest `r` names. When `r` has a digest, the bytes must hash to it.
pub fn fetch_manifest(r: &OciRef, opts: &RegistryOptions) -> Result<Vec<u8>> {
    fetch(r, &r.reference(), opts)
}

/// Fetches the manifest `reference` (a tag or `sha256:…`) of `r`'s repository.
pub fn fetch(r: &OciRef, reference: &str, opts: &RegistryOptions) -> Result<Vec<u8>> {
    let mut s = Session::new(r, opts)?;
    let raw = crate::sigstore::oidc::block_on(async {
        match s.get_manifest(reference).await? {
            Some(raw) => Ok(raw),
            None => Err(registry_error(
                r,
                format!(
                    "no manifest '{}' in {}",
                    reference.escape_debug(),
                    r.repository
                ),
            )),
        }
    })
    .map_err(|e| registry_error(r, crate::error::one_line(&e)))??;
    if let Some(want) = r
        .digest
        .as_ref()
        .filter(|_| reference.starts_with("sha256:"))
    {
        let got = sha256(&raw);
        if &got != want {
            return Err(registry_error(
                r,
                format!(
                    "the manifest served for sha256:{} hashes to sha256:{}",
                    hex::encode(want),
                    hex::encode(got)
                ),
            ));
        }
    }
    Ok(raw)
}

/// One repository on one registry, with the authorization obtained so far.
struct Session<'a> {
    client: reqwest::Client,
    base: String,
    r: &'a OciRef,
    opts: &'a RegistryOptions,
    creds: Option<(String, String)>,
    auth: Option<String>,
    /// Whether `auth` was obtained for pushing.
    auth_push: bool,
}

/// What a request sends.
struct Req<'b> {
    method: reqwest::Method,
    url: String,
    content_type: Option<&'b str>,
    accept: Option<&'b str>,
    body: Option<Vec<u8>>,
    push: bool,
}

impl<'a> Session<'a> {
    fn new(r: &'a OciRef, opts: &'a RegistryOptions) -> Result<Self> {
        let scheme = if opts.plain_http { "http" } else { "https" };
        let client = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout.min(Duration::from_secs(15)))
            .user_agent(concat!("model-signing-rs/", env!("CARGO_PKG_VERSION")))
            // A redirect to another host would carry our Authorization header along: follow none.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                registry_error(
                    r,
                    format!(
                        "cannot build the HTTP client: {}",
                        crate::error::one_line(&e)
                    ),
                )
            })?;
        Ok(Session {
            client,
            base: format!("{scheme}://{}", r.registry),
            r,
            opts,
            creds: credentials(&r.registry, opts)?,
            auth: None,
            auth_push: false,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.r.repository)
    }

    /// Sends `req`, answering one 401 challenge (with push scope when `req.push`).
    async fn send(&mut self, req: Req<'_>) -> Result<reqwest::Response> {
        let r = self.r;
        let build = |auth: &Option<String>| {
            let mut b = self.client.request(req.method.clone(), &req.url);
            if let Some(a) = auth {
                b = b.header("Authorization", a);
            }
            if let Some(ct) = req.content_type {
                b = b.header("Content-Type", ct);
            }
            if let Some(acc) = req.accept {
                b = b.header("Accept", acc);
            }
            if let Some(body) = &req.body {
                b = b.body(body.clone());
            }
            b
        };
        let net = |e: reqwest::Error| {
            registry_error(
                r,
                format!("cannot reach {}: {}", req.url, crate::error::chain_text(&e)),
            )
        };
        let auth = if req.push && !self.auth_push {
            None
        } else {
            self.auth.clone()
        };
        let resp = build(&auth).send().await.map_err(net)?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        let scope = format!(
            "repository:{}:{}",
            r.repository,
            if req.push { "pull,push" } else { "pull" }
        );
        let a = authorize(
            &self.client,
            r,
            &challenge,
            self.creds.as_ref(),
            self.opts,
            &scope,
        )
        .await?;
        self.auth = Some(a);
        self.auth_push = req.push;
        let resp = build(&self.auth).send().await.map_err(net)?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED
            || (req.push && resp.status() == reqwest::StatusCode::FORBIDDEN)
        {
            return Err(registry_error(
                r,
                if self.creds.is_some() {
                    format!(
                        "the credentials from the Docker config were refused ({})",
                        resp.status()
                    )
                } else {
                    format!(
                        "access denied ({}); give credentials in the Docker config \
                         (DOCKER_CONFIG or ~/.docker/config.json)",
                        resp.status()
                    )
                },
            ));
        }
        Ok(resp)
    }

    /// A non-success answer as one line.
    async fn failure(&self, resp: reqwest::Response, what: &str) -> Error {
        let status = resp.status();
        let body = capped(resp, 4096, "error response", self.r)
            .await
            .unwrap_or_default();
        registry_error(self.r, format!("{what}: {status}: {}", short_body(&body)))
    }

    /// A capped GET of `url`, or `None` when the registry answers 404.
    async fn get_optional(
        &mut self,
        url: String,
        accept: &str,
        what: &str,
    ) -> Result<Option<Vec<u8>>> {
        let resp = self
            .send(Req {
                method: reqwest::Method::GET,
                url: url.clone(),
                content_type: None,
                accept: Some(accept),
                body: None,
                push: false,
            })
            .await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.failure(resp, &format!("GET {url}")).await);
        }
        capped(resp, super::image::MAX_MANIFEST_BYTES, what, self.r)
            .await
            .map(Some)
    }

    /// The manifest `reference`, or `None` when the registry has none (404).
    async fn get_manifest(&mut self, reference: &str) -> Result<Option<Vec<u8>>> {
        let url = self.url(&format!("manifests/{reference}"));
        self.get_optional(url, ACCEPT, "manifest").await
    }

    /// A blob, at most `cap` bytes, checked against its digest.
    async fn get_blob(&mut self, digest: &[u8; 32], cap: usize) -> Result<Vec<u8>> {
        let url = self.url(&format!("blobs/sha256:{}", hex::encode(digest)));
        let mut resp = self
            .send(Req {
                method: reqwest::Method::GET,
                url: url.clone(),
                content_type: None,
                accept: None,
                body: None,
                push: false,
            })
            .await?;
        // Registries may redirect blob downloads to storage; follow one hop without credentials.
        if resp.status().is_redirection() {
            let loc = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or("")
                .to_string();
            let target = reqwest::Url::parse(&url)
                .and_then(|u| u.join(&loc))
                .map_err(|_| registry_error(self.r, "a blob redirect without a usable Location"))?;
            resp = self
                .client
                .get(target.as_str())
                .send()
                .await
                .map_err(|e| registry_error(self.r, crate::error::chain_text(&e)))?;
        }
        if !resp.status().is_success() {
            return Err(self.failure(resp, &format!("GET {url}")).await);
        }
        let bytes = capped(resp, cap, "blob", self.r).await?;
        if &sha256(&bytes) != digest {
            return Err(registry_error(
                self.r,
                format!(
                    "the blob served for sha256:{} does not hash to it",
                    hex::encode(digest)
                ),
            ));
        }
        Ok(bytes)
    }

    /// Uploads a blob (monolithic: POST then PUT); returns its digest.
    async fn put_blob(&mut self, data: &[u8]) -> Result<[u8; 32]> {
        let digest = sha256(data);
        let url = self.url("blobs/uploads/");
        let resp = self
            .send(Req {
                method: reqwest::Method::POST,
                url: url.clone(),
                content_type: None,
                accept: None,
                body: Some(Vec::new()),
                push: true,
            })
            .await?;
        if resp.status() != reqwest::StatusCode::ACCEPTED {
            return Err(self.failure(resp, &format!("POST {url}")).await);
        }
        let loc = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| registry_error(self.r, "an upload without a Location"))?
            .to_string();
        let mut put = reqwest::Url::parse(&url)
            .and_then(|u| u.join(&loc))
            .map_err(|_| registry_error(self.r, "an upload Location that is not a URL"))?;
        put.query_pairs_mut()
            .append_pair("digest", &format!("sha256:{}", hex::encode(digest)));
        let resp = self
            .send(Req {
                method: reqwest::Method::PUT,
                url: put.to_string(),
                content_type: Some("application/octet-stream"),
                accept: None,
                body: Some(data.to_vec()),
                push: true,
            })
            .await?;
        if !resp.status().is_success() {
            return Err(self.failure(resp, "uploading a blob").await);
        }
        Ok(digest)
    }

    /// Pushes a manifest under `reference` (a tag or its digest).
    async fn put_manifest(&mut self, reference: &str, media_type: &str, raw: &[u8]) -> Result<()> {
        let url = self.url(&format!("manifests/{reference}"));
        let resp = self
            .send(Req {
                method: reqwest::Method::PUT,
                url: url.clone(),
                content_type: Some(media_type),
                accept: None,
                body: Some(raw.to_vec()),
                push: true,
            })
            .await?;
        if !resp.status().is_success() {
            return Err(self.failure(resp, &format!("PUT {url}")).await);
        }
        Ok(())
    }

    /// The referrers of `digest` with our artifact type, or `None` when the registry has no
    /// referrers API (404).
    async fn referrers(&mut self, digest: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        let url = self.url(&format!(
            "referrers/sha256:{}?artifactType={}",
            hex::encode(digest),
            attach::ARTIFACT_TYPE
        ));
        self.get_optional(url, super::image::OCI_INDEX, "referrers index")
            .await
    }
}

/// Pushing a bundle to the registry beside the image it signs, and finding it again, the way
/// rh-model-signing does, so that each tool finds the other's: an OCI 1.1 artifact whose `subject`
/// is the image (the referrers API) where the registry has that API, else the tag
/// `sha256-<manifest hex>.sig` listing the bundles as layers, newest first.
pub mod attach {
    use super::{registry_error, sha256, OciRef, RegistryOptions, Session};
    use crate::error::{Error, Result};

    /// The artifact type of model-signing bundles in a registry (rh-model-signing's).
    pub const ARTIFACT_TYPE: &str = "application/vnd.model-signing.signature.v0.1";
    /// The config media type of a referrer artifact.
    pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.model-signing.signature.v0.1.config+json";
    /// The config media type of the tag-mode manifest.
    pub const TAG_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
    /// The media type of a bundle layer.
    pub const LAYER_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
    /// The annotation marking a tag-mode manifest as ours (a cosign `.sig` tag is left alone).
    pub const TAG_ANNOTATION: &str = "dev.sigstore.model-signing.artifact-type";
    /// Most bundles kept under one tag, and read back when discovering.
    pub const MAX_BUNDLES: usize = 16;

    /// The fallback tag of an image manifest digest.
    pub fn sig_tag(digest: &[u8; 32]) -> String {
        format!("sha256-{}.sig", hex::encode(digest))
    }

    /// Where a bundle was attached or found.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Location {
        /// A referrer artifact (its manifest digest).
        Referrer([u8; 32]),
        /// Layer `index` of the fallback tag.
        Tag { tag: String, index: usize },
    }

    impl std::fmt::Display for Location {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Location::Referrer(d) => write!(f, "the referrer sha256:{}", hex::encode(d)),
                Location::Tag { tag, index } => write!(f, "layer {index} of the tag {tag}"),
            }
        }
    }

    /// The subject of an attachment: the image manifest that was signed.
    #[derive(Debug, Clone)]
    pub struct Subject {
        /// Its digest.
        pub digest: [u8; 32],
        /// Its size in bytes.
        pub size: u64,
        /// Its media type.
        pub media_type: String,
    }

    fn layer(bundle_digest: &[u8; 32], size: usize) -> serde_json::Value {
        serde_json::json!({
            "mediaType": LAYER_MEDIA_TYPE,
            "digest": format!("sha256:{}", hex::encode(bundle_digest)),
            "size": size,
        })
    }

    /// Pushes `bundle` for `subject` into `r`'s repository.
    pub fn push(
        r: &OciRef,
        subject: &Subject,
        bundle: &[u8],
        opts: &RegistryOptions,
    ) -> Result<Location> {
        let mut s = Session::new(r, opts)?;
        crate::sigstore::oidc::block_on(async {
            let has_referrers = s.referrers(&subject.digest).await?.is_some();
            let empty = b"{}";
            let config = s.put_blob(empty).await?;
            let bundle_digest = s.put_blob(bundle).await?;
            if has_referrers {
                let m = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": super::super::image::OCI_MANIFEST,
                    "artifactType": ARTIFACT_TYPE,
                    "config": {
                        "mediaType": CONFIG_MEDIA_TYPE,
                        "digest": format!("sha256:{}", hex::encode(config)),
                        "size": empty.len(),
                    },
                    "layers": [layer(&bundle_digest, bundle.len())],
                    "subject": {
                        "mediaType": subject.media_type,
                        "digest": format!("sha256:{}", hex::encode(subject.digest)),
                        "size": subject.size,
                    },
                });
                let raw = serde_json::to_vec(&m)
                    .map_err(|e| Error::Registry(format!("encoding a manifest: {e}")))?;
                let d = sha256(&raw);
                s.put_manifest(
                    &format!("sha256:{}", hex::encode(d)),
                    super::super::image::OCI_MANIFEST,
                    &raw,
                )
                .await?;
                return Ok(Location::Referrer(d));
            }
            let tag = sig_tag(&subject.digest);
            let mut layers = vec![layer(&bundle_digest, bundle.len())];
            if let Some(prev) = s.get_manifest(&tag).await? {
                let v: serde_json::Value = serde_json::from_slice(&prev).map_err(|_| {
                    registry_error(
                        r,
                        format!("the tag {tag} holds a manifest that is not JSON"),
                    )
                })?;
                let ours = v
                    .get("annotations")
                    .and_then(|a| a.get(TAG_ANNOTATION))
                    .and_then(|a| a.as_str())
                    == Some(ARTIFACT_TYPE);
                if !ours {
                    return Err(registry_error(
                        r,
                        format!(
                            "the tag {tag} exists and was not written by model-signing (cosign \
                             uses that tag too); it is left untouched"
                        ),
                    ));
                }
                if let Some(old) = v.get("layers").and_then(|l| l.as_array()) {
                    layers.extend(old.iter().take(MAX_BUNDLES - 1).cloned());
                }
            }
            let m = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": super::super::image::OCI_MANIFEST,
                "config": {
                    "mediaType": TAG_CONFIG_MEDIA_TYPE,
                    "digest": format!("sha256:{}", hex::encode(config)),
                    "size": empty.len(),
                },
                "layers": layers,
                "annotations": { TAG_ANNOTATION: ARTIFACT_TYPE },
            });
            let raw = serde_json::to_vec(&m)
                .map_err(|e| Error::Registry(format!("encoding a manifest: {e}")))?;
            s.put_manifest(&tag, super::super::image::OCI_MANIFEST, &raw)
                .await?;
            Ok(Location::Tag { tag, index: 0 })
        })
        .map_err(|e| registry_error(r, crate::error::one_line(&e)))?
    }

    fn bundle_layers(manifest: &[u8]) -> Vec<[u8; 32]> {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(manifest) else {
            return Vec::new();
        };
        v.get("layers")
            .and_then(|l| l.as_array())
            .map(|layers| {
                layers
                    .iter()
                    .filter(|l| {
                        l.get("mediaType").and_then(|m| m.as_str()) == Some(LAYER_MEDIA_TYPE)
                    })
                    .filter_map(|l| l.get("digest").and_then(|d| d.as_str()))
                    .filter_map(|d| super::super::image::parse_digest(d, "a bundle layer").ok())
                    .take(MAX_BUNDLES)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The bundles attached to `digest` in `r`'s repository, newest first: the referrers API's,
    /// else the fallback tag's. Every manifest and blob is read with a cap and checked against its
    /// digest.
    pub fn discover(
        r: &OciRef,
        digest: &[u8; 32],
        opts: &RegistryOptions,
    ) -> Result<Vec<(Location, Vec<u8>)>> {
        let mut s = Session::new(r, opts)?;
        crate::sigstore::oidc::block_on(async {
            let mut out = Vec::new();
            if let Some(index) = s.referrers(digest).await? {
                let v: serde_json::Value = serde_json::from_slice(&index)
                    .map_err(|_| registry_error(r, "the referrers index is not JSON"))?;
                let mut entries: Vec<(String, [u8; 32])> = v
                    .get("manifests")
                    .and_then(|m| m.as_array())
                    .map(|ms| {
                        ms.iter()
                            .filter(|m| {
                                m.get("artifactType").and_then(|a| a.as_str())
                                    == Some(ARTIFACT_TYPE)
                            })
                            .filter_map(|m| {
                                let d = m.get("digest").and_then(|d| d.as_str())?;
                                let created = m
                                    .get("annotations")
                                    .and_then(|a| a.get("org.opencontainers.image.created"))
                                    .and_then(|c| c.as_str())
                                    .unwrap_or("")
                                    .to_string();
                                super::super::image::parse_digest(d, "a referrer")
                                    .ok()
                                    .map(|d| (created, d))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                entries.sort_by(|a, b| b.0.cmp(&a.0));
                for (_, d) in entries.into_iter().take(MAX_BUNDLES) {
                    let Some(m) = s
                        .get_manifest(&format!("sha256:{}", hex::encode(d)))
                        .await?
                    else {
                        continue;
                    };
                    if sha256(&m) != d {
                        return Err(registry_error(
                            r,
                            "a referrer manifest does not hash to its digest",
                        ));
                    }
                    if let Some(b) = bundle_layers(&m).first() {
                        out.push((
                            Location::Referrer(d),
                            s.get_blob(b, crate::bundle::MAX_BUNDLE_BYTES as usize)
                                .await?,
                        ));
                    }
                }
                return Ok(out);
            }
            let tag = sig_tag(digest);
            if let Some(m) = s.get_manifest(&tag).await? {
                for (index, b) in bundle_layers(&m).iter().enumerate() {
                    out.push((
                        Location::Tag {
                            tag: tag.clone(),
                            index,
                        },
                        s.get_blob(b, crate::bundle::MAX_BUNDLE_BYTES as usize)
                            .await?,
                    ));
                }
            }
            Ok(out)
        })
        .map_err(|e| registry_error(r, crate::error::one_line(&e)))?
    }
}

/// The `Authorization` header value answering a 401 challenge.
async fn authorize(
    client: &reqwest::Client,
    r: &OciRef,
    challenge: &str,
    creds: Option<&(String, String)>,
    opts: &RegistryOptions,
    scope: &str,
) -> Result<String> {
    let basic = creds.map(|(u, p)| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    });
    let scheme = challenge
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match scheme.as_str() {
        "basic" => basic.ok_or_else(|| {
            registry_error(
                r,
                "the registry requires credentials (HTTP Basic, 401) and the Docker config \
                 (DOCKER_CONFIG or ~/.docker/config.json) has none for it",
            )
        }),
        "bearer" => {
            let params = challenge_params(challenge.get(6..).unwrap_or(""));
            let get = |k: &str| {
                params
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            let realm = get("realm")
                .ok_or_else(|| registry_error(r, "a bearer challenge without a realm"))?;
            // The token endpoint receives the credentials: https, or plain http to loopback, or
            // plain http anywhere only when plain http was asked for.
            let mut url =
                crate::sigstore::oidc::check_transport(&realm, opts.plain_http).map_err(|_| {
                    registry_error(
                        r,
                        format!(
                            "the token realm '{}' is not https",
                            realm.chars().take(200).collect::<String>().escape_debug()
                        ),
                    )
                })?;
            {
                let mut q = url.query_pairs_mut();
                if let Some(s) = get("service") {
                    q.append_pair("service", &s);
                }
                // Our scope, not the challenge's: pushing needs more than the GET that was refused.
                q.append_pair("scope", scope);
            }
            let mut req = client.get(url.as_str());
            if let Some(b) = &basic {
                req = req.header("Authorization", b);
            }
            let resp = req.send().await.map_err(|e| {
                registry_error(
                    r,
                    format!(
                        "cannot get a token from {realm}: {}",
                        crate::error::chain_text(&e)
                    ),
                )
            })?;
            let status = resp.status();
            if !status.is_success() {
                return Err(registry_error(
                    r,
                    format!(
                        "the token service refused ({status}){}",
                        if creds.is_some() {
                            "; check the credentials in the Docker config"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            let body = capped(resp, MAX_TOKEN_BYTES, "token response", r).await?;
            let v: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| registry_error(r, format!("the token response is not JSON: {e}")))?;
            let token = v
                .get("token")
                .or_else(|| v.get("access_token"))
                .and_then(|t| t.as_str())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| registry_error(r, "the token response has no token"))?;
            Ok(format!("Bearer {token}"))
        }
        _ => Err(registry_error(
            r,
            format!(
                "access denied (401) with an unknown challenge '{}'",
                challenge
                    .chars()
                    .take(100)
                    .collect::<String>()
                    .escape_debug()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parameters() {
        let p = challenge_params(
            r#"realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        );
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[1].1, "registry.example");
        assert_eq!(p[2].1, "repository:a/b:pull");
    }

    #[test]
    fn docker_config_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.json");
        std::fs::write(
            &cfg,
            r#"{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYTpzcw=="},"https://other.example":{"username":"u","password":"p"}}}"#,
        )
        .unwrap();
        let opts = RegistryOptions {
            docker_config: Some(cfg.clone()),
            ..Default::default()
        };
        assert_eq!(
            credentials("127.0.0.1:5000", &opts).unwrap(),
            Some(("user".into(), "pa:ss".into()))
        );
        assert_eq!(
            credentials("other.example", &opts).unwrap(),
            Some(("u".into(), "p".into()))
        );
        assert_eq!(credentials("nowhere.example", &opts).unwrap(), None);
        std::fs::write(&cfg, r#"{"auths":{"r":{"auth":"!!"}}}"#).unwrap();
        assert!(credentials("r", &opts).is_err());
    }
}
