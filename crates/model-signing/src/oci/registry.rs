//! Fetching a manifest from an OCI registry (distribution API v2): anonymous access, the bearer
//! token flow, HTTP Basic, credentials from the Docker config. Only the manifest is fetched, never
//! a blob.
//!
//! Hand-written on reqwest (the one the Sigstore crates already bring) rather than on `oci-client`,
//! because every byte a registry sends is untrusted and read here with a cap (`oci-client` reads
//! bodies whole), and because signing needs one GET, not a client. See `docs/design/oci.md`.

use super::reference::OciRef;
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
    let scheme = if opts.plain_http { "http" } else { "https" };
    let url = format!(
        "{scheme}://{}/v2/{}/manifests/{reference}",
        r.registry, r.repository
    );
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
    let creds = credentials(&r.registry, opts)?;
    let raw = crate::sigstore::oidc::block_on(async {
        let send = |auth: Option<String>| {
            let mut req = client.get(&url).header("Accept", ACCEPT);
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            req.send()
        };
        let net = |e: reqwest::Error| {
            registry_error(
                r,
                format!("cannot fetch {url}: {}", crate::error::chain_text(&e)),
            )
        };
        let mut resp = send(None).await.map_err(net)?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .to_string();
            let auth = authorize(&client, r, &challenge, creds.as_ref(), opts).await?;
            resp = send(Some(auth)).await.map_err(net)?;
            if resp.status() == reqwest::StatusCode::UNAUTHORIZED {
                return Err(registry_error(
                    r,
                    if creds.is_some() {
                        "the credentials from the Docker config were refused (401)".to_string()
                    } else {
                        "access denied (401); give credentials in the Docker config \
                         (DOCKER_CONFIG or ~/.docker/config.json)"
                            .to_string()
                    },
                ));
            }
        }
        let status = resp.status();
        if !status.is_success() {
            let body = capped(resp, 4096, "error response", r)
                .await
                .unwrap_or_default();
            return Err(registry_error(
                r,
                format!("{} for {}: {}", status, url, short_body(&body)),
            ));
        }
        capped(resp, super::image::MAX_MANIFEST_BYTES, "manifest", r).await
    })
    .map_err(|e| registry_error(r, crate::error::one_line(&e)))??;
    if let Some(want) = &r.digest {
        let got: [u8; 32] = sha2::Sha256::digest_bytes(&raw);
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

/// The `Authorization` header value answering a 401 challenge.
async fn authorize(
    client: &reqwest::Client,
    r: &OciRef,
    challenge: &str,
    creds: Option<&(String, String)>,
    opts: &RegistryOptions,
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
                q.append_pair(
                    "scope",
                    &get("scope").unwrap_or_else(|| format!("repository:{}:pull", r.repository)),
                );
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

trait DigestBytes {
    fn digest_bytes(data: &[u8]) -> [u8; 32];
}

impl DigestBytes for sha2::Sha256 {
    fn digest_bytes(data: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(data).into()
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
