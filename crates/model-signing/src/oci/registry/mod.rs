//! Talking to an OCI registry (distribution API v2): anonymous access, the bearer token flow,
//! HTTP Basic, credentials from the Docker config; manifests, blobs, the referrers API, pushes.
//!
//! Hand-written on reqwest (the one the Sigstore crates already bring) rather than on `oci-client`,
//! because every byte a registry sends is untrusted and read here with a cap (`oci-client` reads
//! bodies whole), and because signing needs a few requests, not a client. See `docs/design/oci.md`.
//!
//! Bounds (all in [`crate::limits`]): every body is read with a cap; every request has a timeout
//! and all the requests of one [`Client`] share an overall deadline; credentials (the Docker
//! config's, and tokens obtained with them) are sent only to the registry's own origin (scheme,
//! host and port), never to a host an upload `Location` or a redirect names.

use super::reference::OciRef;
use super::sha256;
use crate::error::{Error, Result};
use base64::Engine as _;
use sigstore_sign::reqwest;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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
    /// Time all the requests of one operation (fetching an image, discovering and fetching its
    /// attached signatures, attaching one) may take together.
    pub deadline: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            plain_http: false,
            docker_config: None,
            timeout: crate::limits::REGISTRY_REQUEST_TIMEOUT,
            deadline: crate::limits::REGISTRY_DEADLINE,
        }
    }
}

/// Media types asked for, in order of preference.
const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json;q=0.9";

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
    let bytes = match crate::secret_file::read(&path, crate::limits::MAX_DOCKER_CONFIG_BYTES) {
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

/// A document fetched from a registry, with the media type the registry declared for it.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The bytes as served.
    pub bytes: Vec<u8>,
    /// The `Content-Type` header, if any (clients such as containerd choose how to read the
    /// document from it).
    pub content_type: Option<String>,
}

/// Fetches the manifest `r` names. When `r` has a digest, the bytes must hash to it.
pub fn fetch_manifest(r: &OciRef, opts: &RegistryOptions) -> Result<Fetched> {
    Client::new(r, opts)?.manifest(&r.reference(), r.digest.as_ref())
}

/// A synchronous connection to one repository on one registry: the authorization obtained so
/// far, and the clock of the overall deadline ([`RegistryOptions::deadline`]), which starts when
/// the client is made.
pub struct Client {
    rt: tokio::runtime::Runtime,
    s: Session,
}

impl Client {
    /// A client for `r`'s repository. Must not be called from inside an async runtime.
    pub fn new(r: &OciRef, opts: &RegistryOptions) -> Result<Self> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::Config(
                "the registry functions are synchronous; call them from outside an async runtime \
                 (e.g. through tokio::task::spawn_blocking)"
                    .into(),
            ));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| registry_error(r, format!("cannot start the network runtime: {e}")))?;
        Ok(Client {
            rt,
            s: Session::new(r, opts)?,
        })
    }

    /// The reference this client was made for.
    pub fn reference(&self) -> &OciRef {
        &self.s.r
    }

    /// The manifest `reference` (a tag or `sha256:…`); when `want` is given, the bytes must hash
    /// to it. A registry without it is an error.
    pub fn manifest(&mut self, reference: &str, want: Option<&[u8; 32]>) -> Result<Fetched> {
        let r = self.s.r.clone();
        match self.optional_manifest(reference, want)? {
            Some(f) => Ok(f),
            None => Err(registry_error(
                &r,
                format!(
                    "no manifest '{}' in {}",
                    reference.escape_debug(),
                    r.repository
                ),
            )),
        }
    }

    /// [`Client::manifest`], or `None` when the registry has none (404).
    pub fn optional_manifest(
        &mut self,
        reference: &str,
        want: Option<&[u8; 32]>,
    ) -> Result<Option<Fetched>> {
        let fetched = self.rt.block_on(self.s.get_manifest(reference))?;
        if let (Some(f), Some(want)) = (&fetched, want) {
            let got = sha256(&f.bytes);
            if &got != want {
                return Err(registry_error(
                    &self.s.r,
                    format!(
                        "the manifest served for sha256:{} hashes to sha256:{}",
                        hex::encode(want),
                        hex::encode(got)
                    ),
                ));
            }
        }
        Ok(fetched)
    }

    /// The blob `digest`, at most `cap` bytes, checked against its digest.
    pub fn blob(&mut self, digest: &[u8; 32], cap: usize) -> Result<Vec<u8>> {
        self.rt.block_on(self.s.get_blob(digest, cap))
    }

    /// The referrers index of `digest` filtered to `artifact_type`, or `None` when the registry
    /// has no referrers API (404).
    pub fn referrers(&mut self, digest: &[u8; 32], artifact_type: &str) -> Result<Option<Fetched>> {
        self.rt.block_on(self.s.referrers(digest, artifact_type))
    }

    /// Uploads a blob; returns its digest.
    pub fn put_blob(&mut self, data: &[u8]) -> Result<[u8; 32]> {
        self.rt.block_on(self.s.put_blob(data))
    }

    /// Pushes a manifest under `reference` (a tag or its digest).
    pub fn put_manifest(&mut self, reference: &str, media_type: &str, raw: &[u8]) -> Result<()> {
        self.rt
            .block_on(self.s.put_manifest(reference, media_type, raw))
    }
}

/// One repository on one registry, with the authorization obtained so far.
struct Session {
    client: reqwest::Client,
    base: reqwest::Url,
    r: OciRef,
    opts: RegistryOptions,
    creds: Option<(String, String)>,
    auth: Option<String>,
    /// Whether `auth` was obtained for pushing.
    auth_push: bool,
    /// When every request must be over.
    deadline: Instant,
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

impl Session {
    fn new(r: &OciRef, opts: &RegistryOptions) -> Result<Self> {
        let scheme = if opts.plain_http { "http" } else { "https" };
        let client = reqwest::Client::builder()
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
        let base = reqwest::Url::parse(&format!("{scheme}://{}/", r.registry))
            .map_err(|e| registry_error(r, format!("not a registry address: {e}")))?;
        Ok(Session {
            client,
            base,
            r: r.clone(),
            opts: opts.clone(),
            creds: credentials(&r.registry, opts)?,
            auth: None,
            auth_push: false,
            deadline: Instant::now() + opts.deadline,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}v2/{}/{path}", self.base.as_str(), self.r.repository)
    }

    /// The time the next request may take: the per-request timeout, cut to what is left of the
    /// overall deadline; an error once nothing is left.
    fn budget(&self) -> Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(registry_error(
                &self.r,
                format!(
                    "the registry requests took longer than the {} s allowed for this operation",
                    self.opts.deadline.as_secs()
                ),
            ));
        }
        Ok(left.min(self.opts.timeout))
    }

    /// Whether `url` is on the registry's own origin (scheme, host and port): the only place
    /// credentials go.
    fn same_origin(&self, url: &str) -> bool {
        reqwest::Url::parse(url).is_ok_and(|u| u.origin() == self.base.origin())
    }

    /// Sends `req`, answering one 401 challenge (with push scope when `req.push`). A request to
    /// another origin (an upload `Location` on a storage host) goes without credentials, and
    /// its 401 is not answered.
    async fn send(&mut self, req: Req<'_>) -> Result<reqwest::Response> {
        let r = self.r.clone();
        let own = self.same_origin(&req.url);
        let timeout = self.budget()?;
        let build = |auth: &Option<String>| {
            let mut b = self
                .client
                .request(req.method.clone(), &req.url)
                .timeout(timeout);
            if let Some(a) = auth.as_ref().filter(|_| own) {
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
        let deadline_secs = self.opts.deadline.as_secs();
        let cut = timeout < self.opts.timeout;
        let net = |e: reqwest::Error| {
            let why = match (e.is_timeout(), cut) {
                (true, true) => format!(
                    "timed out: the registry requests took longer than the {deadline_secs} s \
                     allowed for this operation"
                ),
                (true, false) => "timed out".to_string(),
                _ => crate::error::chain_text(&e),
            };
            registry_error(&r, format!("cannot reach {}: {why}", req.url))
        };
        let auth = if req.push && !self.auth_push {
            None
        } else {
            self.auth.clone()
        };
        let resp = build(&auth).send().await.map_err(net)?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED || !own {
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
            &r,
            &challenge,
            self.creds.as_ref(),
            &self.opts,
            &scope,
            self.budget()?,
        )
        .await?;
        self.auth = Some(a);
        self.auth_push = req.push;
        let timeout = self.budget()?;
        let resp = build(&self.auth)
            .timeout(timeout)
            .send()
            .await
            .map_err(net)?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED
            || (req.push && resp.status() == reqwest::StatusCode::FORBIDDEN)
        {
            return Err(registry_error(
                &r,
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
        let body = capped(
            resp,
            crate::limits::MAX_REGISTRY_ERROR_BYTES,
            "error response",
            &self.r,
        )
        .await
        .unwrap_or_default();
        registry_error(&self.r, format!("{what}: {status}: {}", short_body(&body)))
    }

    /// A capped GET of `url`, or `None` when the registry answers 404.
    async fn get_optional(
        &mut self,
        url: String,
        accept: &str,
        what: &str,
    ) -> Result<Option<Fetched>> {
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
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        let bytes = capped(resp, crate::limits::MAX_MANIFEST_BYTES, what, &self.r).await?;
        Ok(Some(Fetched {
            bytes,
            content_type,
        }))
    }

    /// The manifest `reference`, or `None` when the registry has none (404).
    async fn get_manifest(&mut self, reference: &str) -> Result<Option<Fetched>> {
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
                .map_err(|_| {
                    registry_error(&self.r, "a blob redirect without a usable Location")
                })?;
            let timeout = self.budget()?;
            resp = self
                .client
                .get(target.as_str())
                .timeout(timeout)
                .send()
                .await
                .map_err(|e| registry_error(&self.r, crate::error::chain_text(&e)))?;
        }
        if !resp.status().is_success() {
            return Err(self.failure(resp, &format!("GET {url}")).await);
        }
        let bytes = capped(resp, cap, "blob", &self.r).await?;
        if &sha256(&bytes) != digest {
            return Err(registry_error(
                &self.r,
                format!(
                    "the blob served for sha256:{} does not hash to it",
                    hex::encode(digest)
                ),
            ));
        }
        Ok(bytes)
    }

    /// Uploads a blob (monolithic: POST then PUT); returns its digest. The upload `Location`
    /// may name another host (a storage service): the PUT then goes without credentials.
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
            .ok_or_else(|| registry_error(&self.r, "an upload without a Location"))?
            .to_string();
        let mut put = reqwest::Url::parse(&url)
            .and_then(|u| u.join(&loc))
            .map_err(|_| registry_error(&self.r, "an upload Location that is not a URL"))?;
        if !matches!(put.scheme(), "http" | "https") {
            return Err(registry_error(
                &self.r,
                "an upload Location that is not http(s)",
            ));
        }
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

    /// The referrers of `digest` with `artifact_type`, or `None` when the registry has no
    /// referrers API (404).
    async fn referrers(
        &mut self,
        digest: &[u8; 32],
        artifact_type: &str,
    ) -> Result<Option<Fetched>> {
        let url = self.url(&format!(
            "referrers/sha256:{}?artifactType={artifact_type}",
            hex::encode(digest),
        ));
        self.get_optional(url, super::image::OCI_INDEX, "referrers index")
            .await
    }
}

pub mod attach;

/// The token service a bearer challenge names, which receives the Docker config's credentials:
/// https; or plain http to a loopback host; or, when the registry itself is spoken to in plain
/// http (`--plain-http`), plain http to the registry's own host (a local registry with its token
/// service beside it). Plain http to any other host would send the credentials in clear text
/// to a place the registry's answer chose.
fn token_realm(r: &OciRef, realm: &str, plain_http: bool) -> Result<reqwest::Url> {
    let refuse = || {
        registry_error(
            r,
            format!(
                "the token realm '{}' is not https (plain http is accepted only to loopback or to \
                 the plain-http registry's own host)",
                crate::error::untrusted_text(realm, 200)
            ),
        )
    };
    if let Ok(url) = crate::sigstore::oidc::check_transport(realm, false) {
        return Ok(url);
    }
    let url = reqwest::Url::parse(realm).map_err(|_| refuse())?;
    let registry_host = reqwest::Url::parse(&format!("http://{}/", r.registry))
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    let same_host = url.host_str().is_some() && url.host_str() == registry_host.as_deref();
    if plain_http && url.scheme() == "http" && same_host {
        Ok(url)
    } else {
        Err(refuse())
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
    timeout: Duration,
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
            let mut url = token_realm(r, &realm, opts.plain_http)?;
            {
                let mut q = url.query_pairs_mut();
                if let Some(s) = get("service") {
                    q.append_pair("service", &s);
                }
                // Our scope, not the challenge's: pushing needs more than the GET that was refused.
                q.append_pair("scope", scope);
            }
            let mut req = client.get(url.as_str()).timeout(timeout);
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
            let body = capped(
                resp,
                crate::limits::MAX_TOKEN_RESPONSE_BYTES,
                "token response",
                r,
            )
            .await?;
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

    /// The review's finding: with `--plain-http`, a loopback registry's challenge named a realm
    /// on another host over plain http, and the Docker config's password went there in clear
    /// text.
    #[test]
    fn token_realms_get_credentials_only_over_https_or_to_the_registry_itself() {
        let r = |reg: &str| OciRef {
            registry: reg.into(),
            repository: "m".into(),
            tag: Some("v1".into()),
            digest: None,
        };
        for (reg, realm, plain, ok) in [
            ("127.0.0.1:5000", "https://auth.example/token", false, true),
            ("127.0.0.1:5000", "http://127.0.0.1:9/token", false, true),
            ("127.0.0.1:5000", "http://192.0.2.5/token", true, false),
            ("127.0.0.1:5000", "http://192.0.2.5/token", false, false),
            (
                "reg.example:5000",
                "http://reg.example:5001/token",
                true,
                true,
            ),
            (
                "reg.example:5000",
                "http://reg.example:5001/token",
                false,
                false,
            ),
            (
                "reg.example:5000",
                "http://reg.example.evil/token",
                true,
                false,
            ),
            (
                "reg.example:5000",
                "http://user@evil.example/token",
                true,
                false,
            ),
            ("reg.example:5000", "ftp://reg.example/token", true, false),
            ("reg.example:5000", "not a url", true, false),
        ] {
            assert_eq!(
                token_realm(&r(reg), realm, plain).is_ok(),
                ok,
                "{reg} {realm} plain={plain}"
            );
        }
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
