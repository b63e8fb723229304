//! OIDC discovery (`/.well-known/openid-configuration`) and the https-or-loopback rule for every
//! endpoint that receives a credential.

use super::{block_on, display_untrusted, http_client, read_body, OidcError, Result, HTTP_TIMEOUT};
use serde::Deserialize;
use sigstore_sign::reqwest;
use url::Url;

/// Why [`check_transport`] refused a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TransportError {
    /// Not a URL at all (the parser's reason).
    NotAUrl(String),
    /// Neither https nor plain http to a loopback host (nor, when allowed, plain http anywhere).
    Insecure,
}

/// The one rule for every endpoint that receives a credential or what it protects (the OAuth
/// endpoints, which see codes and secrets, and the Sigstore services, Fulcio receiving the
/// identity token): `https`, or plain `http` to a loopback host (127.0.0.0/8, `::1`,
/// `localhost`), where local test stacks run. With `allow_insecure`, plain `http` to any host is
/// accepted too (private test stacks); other schemes never are.
pub(crate) fn check_transport(
    raw: &str,
    allow_insecure: bool,
) -> std::result::Result<Url, TransportError> {
    let url = Url::parse(raw).map_err(|e| TransportError::NotAUrl(e.to_string()))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" if allow_insecure && url.host().is_some() => {
            tracing::warn!("using {url} over plain http (insecure services are allowed)");
            Ok(url)
        }
        _ => Err(TransportError::Insecure),
    }
}

/// [`check_transport`] for the OAuth endpoints.
pub(super) fn check_secure(what: &str, raw: &str, allow_insecure: bool) -> Result<Url> {
    check_transport(raw, allow_insecure).map_err(|e| {
        let raw = display_untrusted(raw);
        OidcError::OAuth(match e {
            TransportError::NotAUrl(e) => format!("{what} '{raw}' is not a URL: {e}"),
            TransportError::Insecure => {
                format!("{what} '{raw}' must be an https URL (plain http only to a loopback host)")
            }
        })
    })
}

/// The parts of an issuer's discovery document the authorization-code flow uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The issuer identifier the document claims.
    pub issuer: String,
    /// Where the user authorizes.
    pub authorization_endpoint: String,
    /// Where the code is exchanged for tokens.
    pub token_endpoint: String,
    /// Client authentication methods of the token endpoint (empty: not advertised).
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// Fetches `<issuer>/.well-known/openid-configuration`. The issuer and the endpoints the document
/// names must be https (or plain http to loopback).
pub fn discover(issuer: &str) -> Result<ProviderMetadata> {
    let client = http_client(HTTP_TIMEOUT)?;
    block_on(discover_async(&client, issuer, false))?
}

pub(super) async fn discover_async(
    client: &reqwest::Client,
    issuer: &str,
    allow_insecure: bool,
) -> Result<ProviderMetadata> {
    const WHAT: &str = "OIDC discovery";
    check_secure("the OIDC issuer", issuer, allow_insecure)?;
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    tracing::info!("discovering the OAuth endpoints of {issuer}");
    let resp = client
        .get(&url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| OidcError::Network {
            what: WHAT,
            url: url.clone(),
            message: crate::sigstore::one_line(&e),
        })?;
    let status = resp.status();
    let body = read_body(WHAT, &url, resp).await?;
    if !status.is_success() {
        return Err(OidcError::Network {
            what: WHAT,
            url,
            message: format!("HTTP {status}"),
        });
    }
    let meta: ProviderMetadata = serde_json::from_slice(&body).map_err(|e| OidcError::Network {
        what: WHAT,
        url: url.clone(),
        message: format!("invalid document: {e}"),
    })?;
    if meta.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        // OIDC requires equality, but Fulcio checks the token's `iss`, not us; only warn.
        tracing::warn!(
            "the discovery document of {issuer} names the issuer {}",
            display_untrusted(&meta.issuer)
        );
    }
    check_secure(
        "the authorization endpoint",
        &meta.authorization_endpoint,
        allow_insecure,
    )?;
    check_secure("the token endpoint", &meta.token_endpoint, allow_insecure)?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback() {
        for allow in [false, true] {
            assert!(check_secure("x", "https://issuer.example/auth", allow).is_ok());
            assert!(check_secure("x", "http://127.0.0.1:5556/auth", allow).is_ok());
            assert!(check_secure("x", "http://127.255.0.9/auth", allow).is_ok());
            assert!(check_secure("x", "http://localhost/auth", allow).is_ok());
            assert!(check_secure("x", "http://[::1]:80/", allow).is_ok());
            assert!(check_secure("x", "ftp://127.0.0.1/", allow).is_err());
            assert!(check_secure("x", "file:///etc/passwd", allow).is_err());
            assert!(check_secure("x", "no url", allow).is_err());
        }
        for remote in [
            "http://issuer.example/auth",
            "http://128.0.0.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost.example/",
        ] {
            assert!(check_secure("x", remote, false).is_err(), "{remote}");
            assert!(check_secure("x", remote, true).is_ok(), "{remote}");
        }
        let e = check_secure("the token endpoint", "http://a.example/\u{1b}[2J", false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("must be an https URL") && !e.contains('\u{1b}'),
            "{e}"
        );
    }
}
