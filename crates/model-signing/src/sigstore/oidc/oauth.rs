//! The interactive OAuth 2.0 authorization-code flow with PKCE: the authorization URL, the
//! browser (with the [`loopback`](super::loopback) listener) or the out-of-band code, and the code
//! exchange at the token endpoint.

use super::discovery::{check_secure, discover_async, ProviderMetadata};
use super::loopback::wait_for_code;
use super::token::IdentityToken;
use super::{
    block_on, display_untrusted, http_client, read_body, OidcError, Result,
    DEFAULT_CALLBACK_TIMEOUT, DEFAULT_CLIENT_ID, HTTP_TIMEOUT, OOB_REDIRECT_URI,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sigstore_sign::reqwest;
use std::fmt;
use std::io::BufRead;
use std::time::Duration;
use tokio::net::TcpListener;
use zeroize::Zeroizing;

/// How the user sees the authorization URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// A browser was opened; the issuer will redirect it to the loopback listener.
    Browser,
    /// The user opens the URL and types back the code the issuer shows.
    OutOfBand,
}

/// The user side of [`interactive_login`]: a real terminal and browser in the CLI
/// ([`ConsoleInteraction`]), a scripted client in tests.
pub trait Interaction {
    /// Opens `url` in a browser. Returns `false` when no browser could be started (the flow then
    /// falls back to the out-of-band code). Must not wait for the redirect to complete: the
    /// listener that receives it only runs after this returns.
    fn open_browser(&self, url: &str) -> bool;
    /// Tells the user about `url` (to open by hand in [`AuthMode::OutOfBand`]).
    fn show_url(&self, url: &str, mode: AuthMode);
    /// Reads the out-of-band authorization code.
    fn read_code(&self) -> std::io::Result<String>;
}

/// The CLI's [`Interaction`]: a browser through the desktop's URL opener, messages on stderr,
/// the out-of-band code from stdin.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConsoleInteraction;

impl Interaction for ConsoleInteraction {
    fn open_browser(&self, url: &str) -> bool {
        // Without a display, xdg-open may start a text-mode browser on our terminal; Python's
        // webbrowser module makes the same check.
        #[cfg(all(unix, not(target_os = "macos")))]
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return false;
        }
        open::that(url).is_ok()
    }

    fn show_url(&self, url: &str, mode: AuthMode) {
        match mode {
            AuthMode::Browser => {
                eprintln!(
                    "Waiting for browser interaction... If no browser opened, visit:\n\n\t{url}\n"
                )
            }
            AuthMode::OutOfBand => eprintln!("Go to the following link in a browser:\n\n\t{url}\n"),
        }
    }

    fn read_code(&self) -> std::io::Result<String> {
        eprint!("Enter verification code: ");
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim().to_string())
    }
}

/// Settings of the interactive flow.
#[derive(Clone)]
pub struct OAuthSettings {
    /// The issuer URL (the signing config's OIDC URL); discovery starts there.
    pub issuer: String,
    /// The OAuth client id (default [`DEFAULT_CLIENT_ID`]); also the audience the token must have.
    pub client_id: String,
    /// The client secret for confidential clients of non-Sigstore issuers (empty: none).
    pub client_secret: Zeroizing<String>,
    /// Skip the browser and use the out-of-band code.
    pub force_oob: bool,
    /// How long to wait for the browser redirect.
    pub callback_timeout: Duration,
    /// Accept plain-http OAuth endpoints on hosts other than loopback (private test stacks
    /// only: the code, the PKCE verifier and any client secret then cross the network in clear).
    pub allow_insecure_services: bool,
}

impl fmt::Debug for OAuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &if self.client_secret.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("force_oob", &self.force_oob)
            .field("callback_timeout", &self.callback_timeout)
            .field("allow_insecure_services", &self.allow_insecure_services)
            .finish()
    }
}

impl OAuthSettings {
    /// Settings for `issuer` with the `sigstore` client, no secret, browser first.
    pub fn new(issuer: impl Into<String>) -> Self {
        OAuthSettings {
            issuer: issuer.into(),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: Zeroizing::new(String::new()),
            force_oob: false,
            callback_timeout: DEFAULT_CALLBACK_TIMEOUT,
            allow_insecure_services: false,
        }
    }

    /// Sets the client id (also the audience every token must have).
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Sets the client secret (empty: a public client).
    pub fn with_client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Zeroizing::new(secret.into());
        self
    }

    /// Chooses the out-of-band flow over the browser.
    pub fn with_force_oob(mut self, force_oob: bool) -> Self {
        self.force_oob = force_oob;
        self
    }

    /// Accepts plain-http OAuth endpoints on any host (see
    /// [`allow_insecure_services`](Self::allow_insecure_services)).
    pub fn with_allow_insecure_services(mut self, allow: bool) -> Self {
        self.allow_insecure_services = allow;
        self
    }
}

/// A random URL-safe string of `n` random bytes.
fn random_token(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| OidcError::Usage("the system random generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// One run's PKCE verifier, state and nonce.
struct Pkce {
    verifier: Zeroizing<String>,
    challenge: String,
    state: String,
    nonce: String,
}

impl Pkce {
    fn new() -> Result<Self> {
        let verifier = Zeroizing::new(random_token(32)?);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Ok(Pkce {
            verifier,
            challenge,
            state: random_token(16)?,
            nonce: random_token(16)?,
        })
    }
}

fn authorization_url(
    meta: &ProviderMetadata,
    s: &OAuthSettings,
    redirect_uri: &str,
    p: &Pkce,
) -> Result<String> {
    let mut url = check_secure(
        "the authorization endpoint",
        &meta.authorization_endpoint,
        s.allow_insecure_services,
    )?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &s.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid email")
        .append_pair("code_challenge", &p.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", &p.state)
        .append_pair("nonce", &p.nonce);
    Ok(url.into())
}

/// Runs the interactive flow against `settings.issuer` and returns the ID token, validated for
/// expiry and for the audience `settings.client_id`.
///
/// With `force_oob`, or when [`Interaction::open_browser`] fails, the out-of-band flow runs: the
/// URL is shown with the redirect `urn:ietf:wg:oauth:2.0:oob` and the code is read through
/// [`Interaction::read_code`]. Otherwise a listener on `127.0.0.1:<random>/callback` receives the
/// redirect (for at most `callback_timeout`).
pub fn interactive_login(settings: &OAuthSettings, ui: &dyn Interaction) -> Result<IdentityToken> {
    if settings.issuer.is_empty() {
        return Err(OidcError::Usage(
            "no OIDC issuer to log in with (the signing config lists none); pass an identity token"
                .into(),
        ));
    }
    let client = http_client(HTTP_TIMEOUT)?;
    let token = block_on(interactive_login_async(&client, settings, ui))??;
    token.validate(&settings.client_id)?;
    Ok(token)
}

async fn interactive_login_async(
    client: &reqwest::Client,
    s: &OAuthSettings,
    ui: &dyn Interaction,
) -> Result<IdentityToken> {
    let meta = discover_async(client, &s.issuer, s.allow_insecure_services).await?;
    let pkce = Pkce::new()?;
    let (code, redirect_uri) = if s.force_oob {
        (oob_code(&meta, s, &pkce, ui)?, OOB_REDIRECT_URI.to_string())
    } else {
        // Bind before building the URL: the redirect URI carries the port the OS picked.
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|source| OidcError::Io {
                what: "cannot start the loopback redirect listener",
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| OidcError::Io {
                what: "cannot read the listener address",
                source,
            })?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");
        let url = authorization_url(&meta, s, &redirect_uri, &pkce)?;
        if ui.open_browser(&url) {
            ui.show_url(&url, AuthMode::Browser);
            let ignored = std::cell::Cell::new(0usize);
            let waiting = wait_for_code(&listener, &pkce.state, &ignored);
            let code = tokio::time::timeout(s.callback_timeout, waiting)
                .await
                .map_err(|_| {
                    let ignored = match ignored.get() {
                        0 => String::new(),
                        1 => "; ignored 1 redirect that was not for this login (wrong or missing \
                              state)"
                            .to_string(),
                        n => format!(
                            "; ignored {n} redirects that were not for this login (wrong or \
                             missing state)"
                        ),
                    };
                    OidcError::OAuth(format!(
                        "no browser redirect within {} s{ignored} (the out-of-band flow, where \
                         the code is typed back, needs none)",
                        s.callback_timeout.as_secs()
                    ))
                })??;
            (code, redirect_uri)
        } else {
            tracing::info!("cannot open a browser; falling back to the out-of-band flow");
            drop(listener);
            (oob_code(&meta, s, &pkce, ui)?, OOB_REDIRECT_URI.to_string())
        }
    };
    let token = exchange_code(client, &meta, s, &code, &redirect_uri, &pkce).await?;
    if let Some(n) = token.nonce() {
        if *n != pkce.nonce {
            return Err(OidcError::OAuth(
                "the ID token's nonce does not match this login".into(),
            ));
        }
    }
    Ok(token)
}

fn oob_code(
    meta: &ProviderMetadata,
    s: &OAuthSettings,
    p: &Pkce,
    ui: &dyn Interaction,
) -> Result<Zeroizing<String>> {
    let url = authorization_url(meta, s, OOB_REDIRECT_URI, p)?;
    ui.show_url(&url, AuthMode::OutOfBand);
    let code = Zeroizing::new(ui.read_code().map_err(|source| OidcError::Io {
        what: "cannot read the code",
        source,
    })?);
    if code.trim().is_empty() {
        return Err(OidcError::OAuth("no authorization code was entered".into()));
    }
    Ok(Zeroizing::new(code.trim().to_string()))
}

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    /// Public client: `client_id` in the form only.
    None,
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    Basic,
    /// `client_secret_post`: `client_secret` in the form.
    Post,
}

fn client_auth(secret: &str, supported: &[String]) -> ClientAuth {
    if secret.is_empty() {
        return ClientAuth::None;
    }
    let has = |m: &str| supported.iter().any(|s| s == m);
    // Basic is the OIDC default when the issuer does not say, and what Python sigstore sends.
    if supported.is_empty() || has("client_secret_basic") || !has("client_secret_post") {
        ClientAuth::Basic
    } else {
        ClientAuth::Post
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<sigstore_sign::oidc::SecretString>,
}

#[derive(Deserialize)]
struct TokenErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

async fn exchange_code(
    client: &reqwest::Client,
    meta: &ProviderMetadata,
    s: &OAuthSettings,
    code: &str,
    redirect_uri: &str,
    p: &Pkce,
) -> Result<IdentityToken> {
    const WHAT: &str = "OAuth token request";
    let url = check_secure(
        "the token endpoint",
        &meta.token_endpoint,
        s.allow_insecure_services,
    )?;
    let auth = client_auth(
        &s.client_secret,
        &meta.token_endpoint_auth_methods_supported,
    );
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", &p.verifier)
        .append_pair("client_id", &s.client_id);
    if auth == ClientAuth::Post {
        form.append_pair("client_secret", &s.client_secret);
    }
    let body = Zeroizing::new(form.finish());
    tracing::info!("exchanging the authorization code at {url}");
    let mut req = client
        .post(url.as_str())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(body.as_str().to_owned());
    if auth == ClientAuth::Basic {
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        let creds = Zeroizing::new(format!("{}:{}", enc(&s.client_id), enc(&s.client_secret)));
        req = req.header(
            "Authorization",
            format!("Basic {}", STANDARD.encode(creds.as_bytes())),
        );
    }
    let url = url.to_string();
    let resp = req.send().await.map_err(|e| OidcError::Network {
        what: WHAT,
        url: url.clone(),
        message: crate::sigstore::one_line(&e),
    })?;
    let status = resp.status();
    let bytes = read_body(WHAT, &url, resp).await?;
    if !status.is_success() {
        let detail = match serde_json::from_slice::<TokenErrorResponse>(&bytes) {
            Ok(TokenErrorResponse {
                error,
                error_description: Some(d),
            }) => format!("{}: {}", display_untrusted(&error), display_untrusted(&d)),
            Ok(TokenErrorResponse {
                error,
                error_description: None,
            }) => display_untrusted(&error),
            Err(_) => display_untrusted(&String::from_utf8_lossy(&bytes)),
        };
        return Err(OidcError::Network {
            what: WHAT,
            url,
            message: format!("HTTP {status}: {detail}"),
        });
    }
    let parsed: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| OidcError::Network {
        what: WHAT,
        url: url.clone(),
        message: format!("invalid response: {e}"),
    })?;
    let id_token = parsed.id_token.ok_or_else(|| {
        OidcError::OAuth(
            "the token response has no id_token (is 'openid' an allowed scope?)".into(),
        )
    })?;
    IdentityToken::parse(id_token.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_auth_choice() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            client_auth("", &v(&["client_secret_post"])),
            ClientAuth::None
        );
        assert_eq!(client_auth("s", &[]), ClientAuth::Basic);
        assert_eq!(
            client_auth("s", &v(&["client_secret_post"])),
            ClientAuth::Post
        );
        assert_eq!(
            client_auth("s", &v(&["client_secret_post", "client_secret_basic"])),
            ClientAuth::Basic
        );
        assert_eq!(
            client_auth("s", &v(&["private_key_jwt"])),
            ClientAuth::Basic
        );
    }
}
