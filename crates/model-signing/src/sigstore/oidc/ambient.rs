//! Ambient credentials: CI providers (through `sigstore-oidc`) and the Google Cloud metadata
//! server.

use super::token::IdentityToken;
use super::{
    block_on, display_untrusted, http_client, read_body, OidcError, Result, DEFAULT_CLIENT_ID,
    GCP_METADATA_BASE, GCP_TIMEOUT,
};
use sigstore_sign::reqwest;
use url::Url;
use zeroize::Zeroizing;

/// Looks for ambient CI credentials with audience `sigstore`: GitHub Actions, GitLab CI, Buildkite
/// and CircleCI (via `sigstore-oidc`), then Google Cloud ([`gcp_identity_token`]). `Ok(None)` when
/// the environment offers none.
pub fn detect_ambient() -> Result<Option<IdentityToken>> {
    block_on(detect_ambient_async())?
}

async fn detect_ambient_async() -> Result<Option<IdentityToken>> {
    match sigstore_sign::oidc::IdentityToken::detect_ambient().await {
        Ok(Some(t)) => {
            tracing::info!(
                "using ambient CI credentials (issuer {})",
                display_untrusted(t.issuer())
            );
            return IdentityToken::parse(t.expose_secret()).map(Some);
        }
        Ok(None) => {}
        Err(e) => return Err(OidcError::Ambient(crate::sigstore::one_line(&e))),
    }
    match gcp_metadata_base() {
        Some(base) => {
            let client = http_client(GCP_TIMEOUT)?;
            let token = gcp_identity_token_async(&client, &base, DEFAULT_CLIENT_ID).await?;
            tracing::info!("using the Google Cloud service account identity from {base}");
            Ok(Some(token))
        }
        None => Ok(None),
    }
}

/// Where the Google Cloud metadata server is, if this looks like Google Cloud: `GCE_METADATA_HOST`
/// (the override Google's client libraries honour), else the well-known name when the DMI product
/// name says Google. Checking first avoids a DNS lookup and a timeout everywhere else; Python's
/// `id` package does the same.
fn gcp_metadata_base() -> Option<String> {
    if let Some(host) = std::env::var("GCE_METADATA_HOST")
        .ok()
        .filter(|h| !h.is_empty())
    {
        return Some(format!("http://{host}"));
    }
    let product = std::fs::read_to_string("/sys/class/dmi/id/product_name").ok()?;
    matches!(product.trim(), "Google" | "Google Compute Engine")
        .then(|| GCP_METADATA_BASE.to_string())
}

/// Asks the Google Cloud metadata server at `metadata_base` (normally [`GCP_METADATA_BASE`]) for
/// the default service account's ID token for `audience`, with a short timeout.
pub fn gcp_identity_token(metadata_base: &str, audience: &str) -> Result<IdentityToken> {
    let client = http_client(GCP_TIMEOUT)?;
    block_on(gcp_identity_token_async(&client, metadata_base, audience))?
}

async fn gcp_identity_token_async(
    client: &reqwest::Client,
    base: &str,
    audience: &str,
) -> Result<IdentityToken> {
    const WHAT: &str = "Google Cloud metadata server";
    let mut url = Url::parse(&format!(
        "{}/computeMetadata/v1/instance/service-accounts/default/identity",
        base.trim_end_matches('/')
    ))
    .map_err(|e| OidcError::Ambient(format!("bad metadata server address '{base}': {e}")))?;
    url.query_pairs_mut()
        .append_pair("audience", audience)
        .append_pair("format", "full");
    let url = url.to_string();
    let resp = client
        .get(&url)
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .map_err(|e| OidcError::Network {
            what: WHAT,
            url: url.clone(),
            message: crate::sigstore::one_line(&e),
        })?;
    let status = resp.status();
    let body = Zeroizing::new(read_body(WHAT, &url, resp).await?);
    if !status.is_success() {
        return Err(OidcError::Network {
            what: WHAT,
            url,
            message: format!("HTTP {status}"),
        });
    }
    let text = std::str::from_utf8(&body).map_err(|_| OidcError::Network {
        what: WHAT,
        url: url.clone(),
        message: "the token is not UTF-8".into(),
    })?;
    IdentityToken::parse(text)
}
