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
//!
//! Layout: `token` (claims and the local checks), `discovery` (the discovery document and the
//! https-or-loopback rule), `oauth` (the authorization-code flow and the code exchange),
//! `loopback` (the redirect listener), `ambient` (CI and Google Cloud credentials); this module
//! holds the errors, the shared HTTP plumbing and [`obtain_token`].

mod ambient;
mod discovery;
mod loopback;
mod oauth;
mod token;

pub use ambient::{detect_ambient, gcp_identity_token};
pub(crate) use discovery::{check_transport, TransportError};
pub use discovery::{discover, ProviderMetadata};
pub use oauth::{interactive_login, AuthMode, ConsoleInteraction, Interaction, OAuthSettings};
pub use token::{signing_time_estimate, IdentityToken};

use sigstore_sign::reqwest;
use std::future::Future;
use std::time::Duration;
use thiserror::Error;
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
use crate::limits::MAX_LOOPBACK_REQUEST_HEAD as MAX_REQUEST_HEAD;
use crate::limits::MAX_OIDC_RESPONSE_BYTES as MAX_BODY;
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

/// Renders text that an issuer or another untrusted peer chose (an `error_description`, a
/// response body, a claim) for an error message: every control character (C0, DEL, C1, the line
/// and paragraph separators, and the bidirectional overrides) escaped as `\n`, `\u{1b}`..., so
/// the text stays on one line and cannot drive the terminal, and at most [`MAX_SHOWN`]
/// characters, then `...`.
pub(crate) fn display_untrusted(s: &str) -> String {
    crate::error::untrusted_text(s, MAX_SHOWN)
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

// ---------------------------------------------------------------------------------------------
// Putting it together
// ---------------------------------------------------------------------------------------------

/// The environment variable that holds an identity token when none is given (the convention of
/// cosign and sigstore-go; handy in CI, where a flag would land in the process list).
pub const TOKEN_ENV: &str = "SIGSTORE_ID_TOKEN";

/// `explicit`, else a non-blank [`TOKEN_ENV`]. The library reads the environment only when a
/// caller asks it to through this function.
pub fn token_or_env(explicit: Option<String>) -> Option<String> {
    explicit.or_else(|| {
        std::env::var(TOKEN_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty())
    })
}

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
    fn no_runtime_nesting() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let inner = rt.block_on(async { block_on(async { 1 }).is_err() });
        assert!(inner);
        assert_eq!(block_on(async { 2 }).unwrap(), 2);
    }
}
