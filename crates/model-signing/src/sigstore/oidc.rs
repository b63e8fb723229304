//! Getting an OpenID Connect identity token for Sigstore keyless signing.
//!
//! Sources, in the order [`obtain_token`] tries them (the same order as Python model-signing, plus
//! the `SIGSTORE_ID_TOKEN` convention that the CLI folds into [`TokenRequest::explicit`]):
//!
//! 1. a token given explicitly;
//! 2. with [`TokenRequest::use_ambient`], ambient CI credentials: GitHub Actions, GitLab CI,
//!    Buildkite and CircleCI (through `sigstore-oidc`/`ambient-id`), then Google Cloud through the
//!    instance metadata server ([`gcp_identity_token`]);
//! 3. the interactive OAuth 2.0 authorization-code flow with PKCE (S256) against the issuer of the
//!    signing config ([`interactive_login`]): OIDC discovery, then either a browser and a loopback
//!    redirect listener on `127.0.0.1:<random>/callback`, or the out-of-band code
//!    (`urn:ietf:wg:oauth:2.0:oob`) typed back by the user.
//!
//! `sigstore-oidc` 0.15.1 has no OIDC discovery and no client secret, so the interactive flow is
//! implemented here over the `reqwest` client that `sigstore-sign` already brings in.
//!
//! Whatever the source, the token's claims are decoded (not authenticated: Fulcio does that) and
//! checked locally before any certificate is requested: an expired token or one issued for another
//! audience fails fast with a one-line error instead of an opaque Fulcio rejection. Absurd dates
//! (`exp` beyond the year 9999, negative, fractional, not a number) are malformed tokens, and
//! [`IdentityToken::check_fresh`] with [`signing_time_estimate`] refuses, before hashing, a token
//! that will expire before signing can finish.
//!
//! Defences of the interactive flow: every endpoint is https or plain http to loopback (the rule
//! the signing config's services follow too, unless insecure services are explicitly allowed);
//! the loopback listener ignores every callback whose `state` is not this login's, error
//! callbacks included, and keeps waiting for the real one; text chosen by the issuer (errors,
//! descriptions, response bodies) is shown with its control characters escaped, on one line,
//! and cut after 200 characters.
//!
//! The public API is synchronous; each call that talks to the network runs a private
//! single-threaded tokio runtime for the duration of the call.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sigstore_sign::reqwest;
use std::fmt;
use std::future::Future;
use std::io::BufRead;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;
use zeroize::Zeroizing;

/// The OAuth client id Sigstore's public-good issuer knows, and the audience Fulcio expects.
pub const DEFAULT_CLIENT_ID: &str = "sigstore";

/// The redirect URI of the out-of-band flow: the issuer shows the code instead of redirecting.
pub const OOB_REDIRECT_URI: &str = "urn:ietf:wg:oauth:2.0:oob";

/// How long the loopback listener waits for the browser by default.
pub const DEFAULT_CALLBACK_TIMEOUT: Duration = Duration::from_secs(300);

/// The Google Cloud metadata server (as named inside GCE, GKE, Cloud Run...).
pub const GCP_METADATA_BASE: &str = "http://metadata.google.internal";

/// Per-request timeout for the OAuth endpoints (Python uses 30 s too).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// The metadata server answers in milliseconds when it exists; do not hang where it does not.
const GCP_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest HTTP response body read from an issuer (discovery documents and tokens are small).
const MAX_BODY: usize = 1 << 20;
/// Largest request head accepted by the loopback listener.
const MAX_REQUEST_HEAD: usize = 8192;
/// How long one browser connection to the listener may take to send its request.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a token must stay valid after the last check before signing, for the requests that
/// follow (an ephemeral key, then the Fulcio request that presents the token) and for some clock
/// skew between this machine and Fulcio. [`sign_statement`](super::sign::sign_statement) refuses
/// a token that expires sooner.
pub const SIGNING_MARGIN: Duration = Duration::from_secs(30);

/// The hashing speed [`signing_time_estimate`] assumes, in bytes per second: a fast machine with
/// fast storage. The estimate is meant to refuse only tokens that cannot last, not to guess well.
pub const ASSUMED_HASHING_SPEED: u64 = 1 << 30;

/// The latest `exp` (and `iat`) accepted: 9999-12-30T22:00:00Z, the largest time the Sigstore
/// client can represent. Anything later is not a real expiry time.
const MAX_NUMERIC_DATE: i64 = 253_402_207_200;

/// At most this many characters of text from an issuer (or another untrusted peer) are shown.
const MAX_SHOWN: usize = 200;

/// Why no usable identity token could be obtained.
#[derive(Debug, Error)]
pub enum OidcError {
    /// The token is not a JWT with the claims Sigstore needs.
    #[error("malformed identity token: {0}")]
    Malformed(String),
    /// The token's `exp` is in the past.
    #[error("the identity token expired at {expired_at} ({seconds_ago} s ago); get a fresh token")]
    Expired {
        /// `exp`, as RFC 3339 UTC.
        expired_at: String,
        /// How long ago that was (saturating: never negative, never wrapped).
        seconds_ago: i64,
    },
    /// The token is still valid but expires before signing can be expected to finish
    /// ([`IdentityToken::check_fresh`]).
    #[error(
        "the identity token expires at {expires_at} (in {seconds_left} s), before signing can \
         finish (it needs about {needed_secs} s); get a fresh token"
    )]
    ExpiresTooSoon {
        /// `exp`, as RFC 3339 UTC.
        expires_at: String,
        /// How long the token is still valid.
        seconds_left: i64,
        /// How long it had to stay valid.
        needed_secs: u64,
    },
    /// The token was issued for another audience than the one Fulcio will check.
    #[error(
        "the identity token is for audience {found}, not '{expected}' (the client id is the \
         audience expected)"
    )]
    Audience {
        /// The token's `aud` claim, rendered.
        found: String,
        /// The audience that was required.
        expected: String,
    },
    /// A network request failed or was answered with an error status.
    #[error("{what} ({url}): {message}")]
    Network {
        /// What was being done, e.g. "OIDC discovery".
        what: &'static str,
        /// The URL that was requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The OAuth exchange failed (rejected authorization, state mismatch, no code, timeout...).
    #[error("OAuth: {0}")]
    OAuth(String),
    /// Ambient credential detection failed in an environment that looked like a CI provider.
    #[error("ambient credentials: {0}")]
    Ambient(String),
    /// Reading from or writing to the user failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The library was called in a way it cannot serve (e.g. from inside a tokio runtime).
    #[error("{0}")]
    Usage(String),
}

type Result<T, E = OidcError> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------------
// Identity tokens
// ---------------------------------------------------------------------------------------------

/// The `aud` claim: one string or a list.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
enum Audience {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

/// The claims read from a token. They are untrusted: only Fulcio authenticates the token.
#[derive(Debug, Clone, Deserialize)]
struct Claims {
    iss: String,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Audience,
    /// Read as any JSON value so that a wrong type is reported as a bad `exp`.
    exp: serde_json::Value,
    #[serde(default)]
    iat: Option<serde_json::Value>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    federated_claims: Option<FederatedClaims>,
}

/// Dex's record of the upstream provider that vouched for the user (sigstore-python's
/// `federated_issuer`).
#[derive(Debug, Clone, Default, Deserialize)]
struct FederatedClaims {
    #[serde(default)]
    connector_id: Option<String>,
}

/// An OIDC identity token (a JWT) with its claims decoded but not authenticated.
///
/// `Debug` never shows the token itself, and the raw token is wiped from memory on drop.
#[derive(Clone)]
pub struct IdentityToken {
    raw: Zeroizing<String>,
    claims: Claims,
    exp: i64,
}

impl fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityToken")
            .field("issuer", &self.claims.iss)
            .field("identity", &self.identity())
            .field("expires_at", &self.exp)
            .finish_non_exhaustive()
    }
}

impl IdentityToken {
    /// Decodes the claims of `jwt` (`header.payload.signature`, base64url). The signature is not
    /// checked. Requires `iss`, `exp` and one of `email`/`sub`.
    pub fn parse(jwt: &str) -> Result<Self> {
        let jwt = jwt.trim();
        let mut parts = jwt.split('.');
        let (Some(_header), Some(payload), Some(_sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OidcError::Malformed(
                "expected a JWT with three dot-separated parts".into(),
            ));
        };
        // Padding (which the JWT spec forbids) is tolerated here, so that the claims are still
        // checked and reported; the Sigstore client's own reading below refuses it.
        let payload = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|e| OidcError::Malformed(format!("payload is not base64url: {e}")))?;
        let claims: Claims = serde_json::from_slice(&payload)
            .map_err(|e| OidcError::Malformed(format!("cannot read the claims: {e}")))?;
        let exp = numeric_date("exp", &claims.exp)?;
        if let Some(iat) = claims.iat.as_ref().filter(|v| !v.is_null()) {
            numeric_date("iat", iat)?;
        }
        if claims.email.is_none() && claims.sub.is_none() {
            return Err(OidcError::Malformed(
                "the token has neither an 'email' nor a 'sub' claim".into(),
            ));
        }
        // The token is presented to Fulcio through the Sigstore client, which reads it again with
        // its own, stricter rules (a `sub`, integer dates, unpadded base64url). Whatever it would
        // refuse after the model is hashed is refused here, before.
        sigstore_sign::oidc::IdentityToken::from_jwt(jwt).map_err(|e| {
            OidcError::Malformed(format!(
                "the Sigstore client cannot use this token: {}",
                display_untrusted(&super::one_line(&e))
            ))
        })?;
        Ok(IdentityToken {
            raw: Zeroizing::new(jwt.to_string()),
            claims,
            exp,
        })
    }

    /// The raw JWT, to present to Fulcio.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The `iss` claim: the issuer Fulcio records in the certificate.
    pub fn issuer(&self) -> &str {
        &self.claims.iss
    }

    /// The identity Fulcio certifies for an email-based issuer: `email`, else `sub`.
    pub fn identity(&self) -> &str {
        self.claims
            .email
            .as_deref()
            .or(self.claims.sub.as_deref())
            .unwrap_or_default()
    }

    /// The OIDC issuer Fulcio certifies for this token, i.e. what a verifier must pass as the
    /// identity provider: the federated connector (`federated_claims.connector_id`, e.g.
    /// `https://github.com/login/oauth`) when the token comes from a Dex federation such as
    /// `https://oauth2.sigstore.dev/auth`, else `iss`.
    pub fn certificate_issuer(&self) -> &str {
        self.claims
            .federated_claims
            .as_ref()
            .and_then(|f| f.connector_id.as_deref())
            .filter(|c| !c.is_empty())
            .unwrap_or(&self.claims.iss)
    }

    /// The `aud` claim as a list.
    pub fn audiences(&self) -> Vec<&str> {
        match &self.claims.aud {
            Audience::None => Vec::new(),
            Audience::One(a) => vec![a.as_str()],
            Audience::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }

    /// The `exp` claim, in seconds since the Unix epoch.
    pub fn expires_at(&self) -> i64 {
        self.exp
    }

    /// Checks, at the current time, that the token has not expired and names `audience`.
    pub fn validate(&self, audience: &str) -> Result<()> {
        self.validate_at(audience, unix_now())
    }

    /// Checks, at the current time, only that the token has not expired.
    pub fn check_expiry(&self) -> Result<()> {
        self.check_expiry_at(unix_now())
    }

    /// Like [`check_expiry`](Self::check_expiry) at `now` (seconds since the Unix epoch).
    pub fn check_expiry_at(&self, now: i64) -> Result<()> {
        self.check_fresh_at(now, Duration::ZERO)
    }

    /// Checks, at the current time, that the token stays valid for at least `needed` more: the
    /// time the signing steps still to come can take. Call it before hashing a model with
    /// [`signing_time_estimate`] of the model's size, so that a token that cannot last is refused
    /// before the wait rather than by Fulcio after it; [`sign_statement`](super::sign::sign_statement)
    /// calls it with [`SIGNING_MARGIN`].
    pub fn check_fresh(&self, needed: Duration) -> Result<()> {
        self.check_fresh_at(unix_now(), needed)
    }

    /// Like [`check_fresh`](Self::check_fresh) at `now` (seconds since the Unix epoch). All the
    /// arithmetic saturates: no `now` or `needed` overflows.
    pub fn check_fresh_at(&self, now: i64, needed: Duration) -> Result<()> {
        if self.exp <= now {
            return Err(OidcError::Expired {
                expired_at: crate::x509::format_secs(self.exp),
                seconds_ago: now.saturating_sub(self.exp),
            });
        }
        let needed_secs = needed.as_secs();
        let deadline = now.saturating_add(i64::try_from(needed_secs).unwrap_or(i64::MAX));
        if self.exp <= deadline {
            return Err(OidcError::ExpiresTooSoon {
                expires_at: crate::x509::format_secs(self.exp),
                seconds_left: self.exp.saturating_sub(now),
                needed_secs,
            });
        }
        Ok(())
    }

    /// Like [`validate`](Self::validate) at `now` (seconds since the Unix epoch).
    pub fn validate_at(&self, audience: &str, now: i64) -> Result<()> {
        self.check_expiry_at(now)?;
        let auds = self.audiences();
        if !auds.contains(&audience) {
            let found = match auds.as_slice() {
                [] => "(none)".to_string(),
                [one] => format!("'{}'", display_untrusted(one)),
                many => display_untrusted(&format!("{many:?}")),
            };
            return Err(OidcError::Audience {
                found,
                expected: audience.to_string(),
            });
        }
        Ok(())
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// How long a token must still be valid, when hashing starts, for signing a model of
/// `model_bytes` bytes to succeed: the hashing time at [`ASSUMED_HASHING_SPEED`] (a lower
/// bound: real hashing is usually slower) plus [`SIGNING_MARGIN`]. Pass it to
/// [`IdentityToken::check_fresh`] before hashing. Never overflows.
pub fn signing_time_estimate(model_bytes: u64) -> Duration {
    Duration::from_secs(model_bytes / ASSUMED_HASHING_SPEED).saturating_add(SIGNING_MARGIN)
}

/// Reads a NumericDate claim (`exp`, `iat`): a whole number of seconds from 1970 up to
/// [`MAX_NUMERIC_DATE`]. Fractions are refused because the Sigstore client refuses them (after
/// the model is hashed); huge, negative, non-finite and non-numeric values are not dates.
fn numeric_date(name: &str, v: &serde_json::Value) -> Result<i64> {
    let bad = |why: &str| {
        let shown = display_untrusted(&v.to_string());
        OidcError::Malformed(format!("invalid '{name}' claim {shown}: {why}"))
    };
    let serde_json::Value::Number(n) = v else {
        return Err(bad("not a number"));
    };
    let secs = match n.as_i64() {
        Some(secs) => secs,
        None if n.is_u64() => return Err(bad("not a date before the year 10000")),
        None => {
            return Err(bad(
                "not a whole number of seconds (the Sigstore client needs one)",
            ))
        }
    };
    if secs < 0 {
        return Err(bad("a date before 1970"));
    }
    if secs > MAX_NUMERIC_DATE {
        return Err(bad("not a date before the year 10000"));
    }
    Ok(secs)
}

/// Renders text that an issuer or another untrusted peer chose (an `error_description`, a
/// response body, a claim) for an error message: every control character (C0, DEL, C1, the line
/// and paragraph separators, and the bidirectional overrides) escaped as `\n`, `\u{1b}`..., so
/// the text stays on one line and cannot drive the terminal, and at most [`MAX_SHOWN`]
/// characters, then `...`.
pub(crate) fn display_untrusted(s: &str) -> String {
    let mut out = String::new();
    let mut shown = 0usize;
    for c in s.chars() {
        let piece: String = match c {
            '\t' | '\n' | '\r' => c.escape_default().collect(),
            c if c < ' '
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c) =>
            {
                c.escape_unicode().collect()
            }
            c => c.to_string(),
        };
        let len = piece.chars().count();
        if shown.saturating_add(len) > MAX_SHOWN {
            out.push_str("...");
            break;
        }
        shown += len;
        out.push_str(&piece);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Runtime and HTTP plumbing
// ---------------------------------------------------------------------------------------------

/// Runs `fut` to completion on a fresh single-threaded runtime: the library stays synchronous and
/// only network calls are async.
pub(crate) fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        // block_on inside a runtime would panic; say what to do instead.
        return Err(OidcError::Usage(
            "the Sigstore functions are synchronous; call them from outside an async runtime (e.g. \
             through tokio::task::spawn_blocking)"
                .into(),
        ));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| OidcError::Io {
            what: "cannot start the network runtime",
            source,
        })?;
    Ok(rt.block_on(fut))
}

/// The HTTP client for the OAuth endpoints and the metadata server.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("model-signing-rs/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            OidcError::Usage(format!(
                "cannot build the HTTP client: {}",
                super::one_line(&e)
            ))
        })
}

/// Reads at most [`MAX_BODY`] bytes of a response body.
async fn read_body(what: &'static str, url: &str, mut resp: reqwest::Response) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| OidcError::Network {
        what,
        url: url.to_string(),
        message: super::one_line(&e),
    })? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(OidcError::Network {
                what,
                url: url.to_string(),
                message: "response larger than 1 MiB".into(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

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
fn check_secure(what: &str, raw: &str, allow_insecure: bool) -> Result<Url> {
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

// ---------------------------------------------------------------------------------------------
// OIDC discovery
// ---------------------------------------------------------------------------------------------

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

async fn discover_async(
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
            message: super::one_line(&e),
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

// ---------------------------------------------------------------------------------------------
// Interactive authorization-code flow with PKCE
// ---------------------------------------------------------------------------------------------

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
    if let Some(n) = &token.claims.nonce {
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

/// What one connection to the listener was.
enum Callback {
    /// Not the callback (another path, a malformed or cut request): ignored.
    Other,
    /// A callback whose `state` is missing or is not this login's: not from the issuer's redirect
    /// for this login (a stale tab, or a local process or web page that found the port), so it is
    /// ignored whatever it says, errors included. The real redirect may still come.
    Foreign,
    /// This login's redirect: the code, or the issuer's refusal.
    Ours(Result<Zeroizing<String>>),
}

/// Accepts connections until one is this login's callback. Other requests (a favicon, a probe) get
/// a 404, callbacks with a wrong or missing state a 400 (counted in `ignored`), and are otherwise
/// ignored; a malformed or unanswered connection is dropped. Runs until the caller's timeout.
async fn wait_for_code(
    listener: &TcpListener,
    state: &str,
    ignored: &std::cell::Cell<usize>,
) -> Result<Zeroizing<String>> {
    loop {
        let (stream, _) = listener.accept().await.map_err(|source| OidcError::Io {
            what: "cannot accept the browser connection",
            source,
        })?;
        match tokio::time::timeout(CONNECTION_TIMEOUT, handle_callback(stream, state)).await {
            Ok(Ok(Callback::Ours(result))) => return result,
            Ok(Ok(Callback::Foreign)) => {
                ignored.set(ignored.get().saturating_add(1));
                tracing::warn!(
                    "ignored a redirect to the login listener that is not for this login (wrong \
                     or missing state)"
                );
            }
            Ok(Ok(Callback::Other)) | Err(_) => {}
            Ok(Err(e)) => return Err(e),
        }
    }
}

const PAGE_OK: &str =
    "<!doctype html><title>model-signing</title><p>Authentication complete. You can close this \
                       window and return to the terminal.</p>";

const PAGE_FOREIGN: &str = "<!doctype html><title>model-signing</title><p>This is not the \
                            redirect of the login in progress; it was ignored.</p>";

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: \
         close\r\n\r\n{body}",
        body.len()
    );
    // The browser may already be gone; the code (or error) is what matters.
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads one request and says what it was.
async fn handle_callback(mut stream: TcpStream, state: &str) -> Result<Callback> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|source| OidcError::Io {
                what: "cannot read the browser request",
                source,
            })?;
        if n == 0 || head.len() + n > MAX_REQUEST_HEAD {
            return Ok(Callback::Other);
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or_default().split_whitespace();
    let (Some(method), Some(target)) = (request_line.next(), request_line.next()) else {
        return Ok(Callback::Other);
    };
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
        return Ok(Callback::Other);
    };
    if method != "GET" || url.path() != "/callback" {
        respond(&mut stream, "404 Not Found", "not found").await;
        return Ok(Callback::Other);
    }
    let (mut code, mut error, mut description) = (None, None, None);
    let mut states = Vec::new();
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "code" => code = Some(Zeroizing::new(v.into_owned())),
            "state" => states.push(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    // The state is checked first, on every callback: only the issuer's redirect for this login
    // carries it, so nothing else (an error included) may end the login. Exactly one, equal.
    let ours = match states.as_slice() {
        [got] => {
            aws_lc_rs::constant_time::verify_slices_are_equal(got.as_bytes(), state.as_bytes())
                .is_ok()
        }
        _ => false,
    };
    if !ours {
        respond(&mut stream, "400 Bad Request", PAGE_FOREIGN).await;
        return Ok(Callback::Foreign);
    }
    let problem = if let Some(err) = error {
        // The issuer's words, but not its control characters.
        Some(match description {
            Some(d) => format!(
                "the issuer refused the authorization: {}: {}",
                display_untrusted(&err),
                display_untrusted(&d)
            ),
            None => format!(
                "the issuer refused the authorization: {}",
                display_untrusted(&err)
            ),
        })
    } else if code.as_ref().is_none_or(|c| c.is_empty()) {
        Some("the redirect carries no authorization code".to_string())
    } else {
        None
    };
    let (None, Some(code)) = (problem.as_ref(), code) else {
        respond(
            &mut stream,
            "400 Bad Request",
            "Authentication failed; see the terminal.",
        )
        .await;
        return Ok(Callback::Ours(Err(OidcError::OAuth(
            problem.unwrap_or_default(),
        ))));
    };
    respond(&mut stream, "200 OK", PAGE_OK).await;
    Ok(Callback::Ours(Ok(code)))
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
        message: super::one_line(&e),
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

// ---------------------------------------------------------------------------------------------
// Ambient credentials
// ---------------------------------------------------------------------------------------------

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
        Err(e) => return Err(OidcError::Ambient(super::one_line(&e))),
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
            message: super::one_line(&e),
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

// ---------------------------------------------------------------------------------------------
// Putting it together
// ---------------------------------------------------------------------------------------------

/// Where [`obtain_token`] may get a token from.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// A token given by the caller (`--identity-token`, or `SIGSTORE_ID_TOKEN` in the CLI).
    pub explicit: Option<Zeroizing<String>>,
    /// Try ambient CI / cloud credentials before the interactive flow.
    pub use_ambient: bool,
    /// The interactive flow's settings; `client_id` is also the audience every token must have.
    pub oauth: OAuthSettings,
}

impl TokenRequest {
    /// A request that goes straight to the interactive flow.
    pub fn new(oauth: OAuthSettings) -> Self {
        TokenRequest {
            explicit: None,
            use_ambient: false,
            oauth,
        }
    }

    /// Uses this token (when `Some`) instead of any other source.
    pub fn with_explicit(mut self, token: Option<String>) -> Self {
        self.explicit = token.map(Zeroizing::new);
        self
    }

    /// Tries ambient credentials before the interactive flow.
    pub fn with_ambient(mut self, use_ambient: bool) -> Self {
        self.use_ambient = use_ambient;
        self
    }
}

/// Gets a token from the first source that has one (see the module docs) and validates its expiry
/// and audience. An explicit token is never replaced by another source: if it is unusable, that
/// is the error.
pub fn obtain_token(req: &TokenRequest, ui: &dyn Interaction) -> Result<IdentityToken> {
    let audience = req.oauth.client_id.as_str();
    if let Some(raw) = &req.explicit {
        let token = IdentityToken::parse(raw)?;
        token.validate(audience)?;
        return Ok(token);
    }
    if req.use_ambient {
        match detect_ambient()? {
            Some(token) => {
                token.validate(audience)?;
                return Ok(token);
            }
            None => {
                tracing::info!("no ambient credentials found; falling back to the interactive flow")
            }
        }
    }
    interactive_login(&req.oauth, ui)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn parses_and_validates() {
        let t = IdentityToken::parse(&jwt(serde_json::json!({
            "iss": "https://issuer.test", "sub": "s", "aud": "sigstore", "email": "a@b.test", "exp": 2_000_000_000
        })))
        .unwrap();
        assert_eq!(t.issuer(), "https://issuer.test");
        assert_eq!(t.identity(), "a@b.test");
        assert_eq!(t.audiences(), ["sigstore"]);
        assert!(t.validate_at("sigstore", 1_999_999_999).is_ok());
        assert!(!format!("{t:?}").contains(t.expose()));
        let e = t.validate_at("sigstore", 2_000_000_010).unwrap_err();
        assert!(
            matches!(
                e,
                OidcError::Expired {
                    seconds_ago: 10,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("2033-05-18T03:33:20Z"), "{e}");
        let e = t.validate_at("other", 0).unwrap_err();
        assert!(
            e.to_string().contains("audience 'sigstore', not 'other'"),
            "{e}"
        );
    }

    #[test]
    fn audience_lists_and_fractional_exp() {
        let t = IdentityToken::parse(&jwt(serde_json::json!({
            "iss": "i", "sub": "s", "aud": ["x", "sigstore"], "exp": 2_000_000_000
        })))
        .unwrap();
        assert_eq!(t.identity(), "s");
        assert_eq!(t.expires_at(), 2_000_000_000);
        assert!(t.validate_at("sigstore", 0).is_ok());
        // The Sigstore client reads dates as whole seconds and would refuse a fraction only after
        // the model is hashed: refused here, naming the claim.
        for claims in [
            serde_json::json!({"iss": "i", "sub": "s", "exp": 2_000_000_000.5}),
            serde_json::json!({"iss": "i", "sub": "s", "exp": 2_000_000_000, "iat": 1.5}),
            serde_json::json!({"iss": "i", "sub": "s", "exp": 2_000_000_000, "iat": 1e300}),
        ] {
            let e = IdentityToken::parse(&jwt(claims.clone())).unwrap_err();
            assert!(
                matches!(&e, OidcError::Malformed(m) if m.contains("whole number") || m.contains("10000")),
                "{claims}: {e}"
            );
        }
    }

    #[test]
    fn what_the_sigstore_client_refuses_is_refused_at_parse_time() {
        // An email but no `sub` (the Sigstore client requires `sub`), and padded base64url.
        let no_sub = jwt(serde_json::json!({"iss": "i", "email": "a@b", "exp": 2_000_000_000}));
        let e = IdentityToken::parse(&no_sub).unwrap_err();
        assert!(
            e.to_string()
                .contains("the Sigstore client cannot use this token"),
            "{e}"
        );
        let claims = serde_json::json!({"iss": "i", "sub": "s", "exp": 2_000_000_000}).to_string();
        // A length that is not a multiple of 3 needs padding (JSON allows trailing spaces).
        let text = if claims.len() % 3 == 0 {
            format!("{claims} ")
        } else {
            claims
        };
        let padded = format!(
            "e30.{}.sig",
            base64::engine::general_purpose::URL_SAFE.encode(text)
        );
        assert!(padded.split('.').nth(1).unwrap().ends_with('='), "{padded}");
        assert!(IdentityToken::parse(&padded).is_err());
    }

    #[test]
    fn expiry_arithmetic_saturates() {
        for exp in [0i64, 1, 2_000_000_000, MAX_NUMERIC_DATE] {
            let t = IdentityToken::parse(&jwt(
                serde_json::json!({"iss": "i", "sub": "s", "exp": exp}),
            ))
            .unwrap();
            let e = t.check_expiry_at(i64::MAX).unwrap_err();
            assert!(
                matches!(e, OidcError::Expired { seconds_ago, .. } if seconds_ago == i64::MAX - exp),
                "{e}"
            );
            assert!(t.check_expiry_at(i64::MIN).is_ok());
            let e = t.check_fresh_at(-1, Duration::MAX).unwrap_err();
            assert!(
                matches!(e, OidcError::ExpiresTooSoon { seconds_left, needed_secs: u64::MAX, .. } if seconds_left == exp + 1),
                "{e}"
            );
        }
        assert_eq!(
            signing_time_estimate(u64::MAX).as_secs(),
            u64::MAX / ASSUMED_HASHING_SPEED + 30
        );
        assert_eq!(
            signing_time_estimate(10 << 30),
            SIGNING_MARGIN + Duration::from_secs(10)
        );
    }

    #[test]
    fn untrusted_text_is_one_bounded_line() {
        assert_eq!(display_untrusted("plain text: ok"), "plain text: ok");
        assert_eq!(
            display_untrusted("a\x1b[31mb\r\nc\td\u{7f}e\u{9b}f\u{2028}g\u{202e}h\0"),
            r"a\u{1b}[31mb\r\nc\td\u{7f}e\u{9b}f\u{2028}g\u{202e}h\u{0}"
        );
        // Non-ASCII printable text is kept.
        assert_eq!(display_untrusted("café ünïcode ✓"), "café ünïcode ✓");
        let long = display_untrusted(&"é".repeat(1000));
        assert_eq!(long, format!("{}...", "é".repeat(MAX_SHOWN)));
        // An escape is never cut in half.
        let long = display_untrusted(&format!("{}\x1b", "a".repeat(MAX_SHOWN - 3)));
        assert_eq!(long, format!("{}...", "a".repeat(MAX_SHOWN - 3)));
        assert_eq!(
            display_untrusted(&"a".repeat(MAX_SHOWN)),
            "a".repeat(MAX_SHOWN)
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "not-a-jwt".to_string(),
            "a.b".to_string(),
            "a.!!!.c".to_string(),
            jwt(serde_json::json!({"sub": "s", "exp": 1})),
            jwt(serde_json::json!({"iss": "i", "sub": "s"})),
            jwt(serde_json::json!({"iss": "i", "exp": 1})),
            jwt(serde_json::json!({"iss": "i", "sub": "s", "exp": "soon"})),
        ] {
            assert!(
                matches!(IdentityToken::parse(&bad), Err(OidcError::Malformed(_))),
                "{bad}"
            );
        }
    }

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

    #[test]
    fn no_runtime_nesting() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let inner = rt.block_on(async { block_on(async { 1 }).is_err() });
        assert!(inner);
        assert_eq!(block_on(async { 2 }).unwrap(), 2);
    }
}
