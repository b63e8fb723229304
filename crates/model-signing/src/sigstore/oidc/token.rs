//! Identity tokens: a JWT's claims, decoded (not authenticated) and checked locally.

use super::{
    display_untrusted, OidcError, Result, ASSUMED_HASHING_SPEED, MAX_NUMERIC_DATE, SIGNING_MARGIN,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

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
                display_untrusted(&crate::sigstore::one_line(&e))
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

    /// The `nonce` claim, which the interactive flow compares with its own.
    pub(super) fn nonce(&self) -> Option<&str> {
        self.claims.nonce.as_deref()
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
    /// before the wait rather than by Fulcio after it; [`sign_statement`](crate::sigstore::sign::sign_statement)
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
        let text = if claims.len().is_multiple_of(3) {
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
}
