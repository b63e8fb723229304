//! Sigstore keyless signing: an ephemeral key, a Fulcio certificate for the signer's OIDC identity,
//! a DSSE signature over the same in-toto statement the key method signs, a Rekor entry and, when
//! the signing config lists a timestamp authority, an RFC 3161 timestamp; all in a v0.3 bundle.
//!
//! The steps are those of `sigstore_sign::Signer::sign_raw_statement`, spelled out here so that
//! each network step is logged (tracing, info level) and a failure names the service and URL that
//! failed. The statement is built exactly as [`crate::sign::sign_to_bytes`] builds it, and the
//! signature covers our own [`crate::dsse::pae`] of it, so a keyless bundle and a key bundle of the
//! same model carry byte-identical payloads.
//!
//! Which services are used comes from a signing config ([`KeylessServices::from_signing_config`]),
//! as in sigstore-python: the highest Rekor API version the config lists (v1 `dsse` 0.0.1 entries,
//! or v2 `hashedrekord` 0.0.2 entries over the PAE digest), and a TSA if one is listed (required by
//! Rekor v2, which records no signing time itself).
//!
//! The API is synchronous; the network calls run on a private single-threaded tokio runtime.

use super::oidc::{self, IdentityToken, Interaction, OidcError, TokenRequest};
use super::self_check::{self, SelfCheck};
use super::trust::{SigningConfig, TrustOptions, TrustRoot};
use crate::dsse;
use crate::error::Error;
use crate::sign::{CertifiedIdentity, Method, ModelSize, SignedBundle};
use sigstore_sign::bundle::BundleV03;
use sigstore_sign::crypto::KeyPair;
use sigstore_sign::fulcio::FulcioClient;
use sigstore_sign::rekor::{
    DsseEntry, HashedRekordV2, RekorClient, RekorV2Client, RekorV2KeyDetails,
};
use sigstore_sign::reqwest;
use sigstore_sign::trust_root::{ServiceConfiguration, ServiceEndpoint, ServiceSelector};
use sigstore_sign::tsa::TimestampClient;
use sigstore_sign::types::{DsseEnvelope, DsseSignature, KeyId, KindVersion, PayloadBytes};
use std::time::Duration;
use thiserror::Error;

/// Timeout of each request to Fulcio, Rekor and the TSA.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a keyless signature could not be made.
#[derive(Debug, Error)]
pub enum KeylessError {
    /// Hashing the model or building the statement failed, or the trust material is unusable.
    #[error(transparent)]
    Model(#[from] Error),
    /// No usable identity token.
    #[error(transparent)]
    Token(#[from] OidcError),
    /// The identity token given up front was refused before the model was hashed.
    #[error("the identity token cannot be used: {0}")]
    TokenUnusable(#[source] OidcError),
    /// The signing config cannot be used to sign.
    #[error("{0}")]
    Config(String),
    /// A Sigstore service failed or rejected the request.
    #[error("{service} ({url}): {message}")]
    Service {
        /// "Fulcio", "Rekor" or "TSA".
        service: &'static str,
        /// The service URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A service URL that would carry the token or the signature in clear text.
    #[error(
        "the {service} URL '{url}' is not https; plain http is accepted only to a loopback host \
         (127.0.0.0/8, ::1, localhost) unless insecure services are explicitly allowed"
    )]
    InsecureService {
        /// "Fulcio", "Rekor", "TSA" or "OIDC".
        service: &'static str,
        /// The URL, as the signing config gives it.
        url: String,
    },
    /// Local cryptography or bundle assembly failed.
    #[error("{0}")]
    Internal(String),
}

impl From<KeylessError> for Error {
    /// Keeps the tree flat: a model or token error is that error, not a keyless one.
    fn from(e: KeylessError) -> Self {
        match e {
            KeylessError::Model(e) => e,
            KeylessError::Token(e) => Error::Oidc(e),
            e => Error::Keyless(Box::new(e)),
        }
    }
}

/// How [`KeylessServices::from_signing_config_with`] treats the signing config's URLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceOptions {
    /// Accept plain-http service URLs (Fulcio, Rekor, TSA, OIDC) on hosts other than loopback:
    /// for private test stacks only, since Fulcio then receives the identity token in clear text.
    /// Off by default: such URLs are refused. Pass the same choice to
    /// [`OAuthSettings::allow_insecure_services`](super::oidc::OAuthSettings::allow_insecure_services)
    /// for the login.
    pub allow_insecure_services: bool,
}

/// The Sigstore services one signature is submitted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessServices {
    /// Fulcio (certificate authority) base URL.
    pub fulcio_url: String,
    /// Rekor (transparency log) base URL.
    pub rekor_url: String,
    /// Rekor API major version: 1 or 2.
    pub rekor_version: u32,
    /// RFC 3161 timestamp authority URL, if timestamps are requested.
    pub tsa_url: Option<String>,
    /// The OIDC issuer for the interactive login, if the config names one.
    pub oidc_issuer: Option<String>,
    /// Plain-http URLs to hosts other than loopback are accepted
    /// ([`ServiceOptions::allow_insecure_services`]); checked again before the token is sent.
    pub allow_insecure_services: bool,
}

impl KeylessServices {
    /// Picks the services from a signing config the way sigstore-python does: the currently valid
    /// endpoints, the highest supported Rekor version, one Rekor and at most one TSA (none when the
    /// config lists none, which is fine with Rekor v1).
    ///
    /// `sigstore_sign::SigningServices::from_signing_config` is not used: it insists on a TSA,
    /// which sigstore-python and model-signing do not.
    ///
    /// Every URL must be https, or plain http to a loopback host; see
    /// [`from_signing_config_with`](Self::from_signing_config_with) to allow others.
    pub fn from_signing_config(config: &SigningConfig) -> Result<Self, KeylessError> {
        Self::from_signing_config_with(config, &ServiceOptions::default())
    }

    /// Like [`from_signing_config`](Self::from_signing_config), with `options`.
    pub fn from_signing_config_with(
        config: &SigningConfig,
        options: &ServiceOptions,
    ) -> Result<Self, KeylessError> {
        let sc = &config.config;
        let err = |m: String| KeylessError::Config(format!("{}: {m}", config.source));
        let fulcio = sc.fulcio_url().ok_or_else(|| {
            err(
                "the signing config lists no currently valid Fulcio endpoint (caUrls, API v1)"
                    .into(),
            )
        })?;
        let rekors = sc.eligible_rekor_urls(None);
        single_service("Rekor", &sc.rekor_tlog_config, &rekors).map_err(err)?;
        let rekor = rekors.first().ok_or_else(|| {
            err("the signing config lists no currently valid Rekor endpoint (rekorTlogUrls, API v1 or v2)".into())
        })?;
        let tsas = sc.eligible_tsa_urls();
        single_service("TSA", &sc.tsa_config, &tsas).map_err(err)?;
        let services = KeylessServices {
            fulcio_url: fulcio.url.clone(),
            rekor_url: rekor.url.clone(),
            rekor_version: rekor.major_api_version,
            tsa_url: tsas.first().map(|t| t.url.clone()),
            oidc_issuer: sc.oidc_url().map(|o| o.url.clone()),
            allow_insecure_services: options.allow_insecure_services,
        };
        services.check_transport()?;
        services.check().map_err(|e| err(e.to_string()))?;
        Ok(services)
    }

    /// Refuses URLs that would carry the token or the signature in clear text: the rule of the
    /// OAuth endpoints ([`oidc::check_transport`]), applied to every service.
    fn check_transport(&self) -> Result<(), KeylessError> {
        let urls = [
            ("Fulcio", Some(&self.fulcio_url)),
            ("Rekor", Some(&self.rekor_url)),
            ("TSA", self.tsa_url.as_ref()),
            ("OIDC", self.oidc_issuer.as_ref()),
        ];
        for (service, url) in urls {
            let Some(url) = url else { continue };
            oidc::check_transport(url, self.allow_insecure_services).map_err(|e| match e {
                oidc::TransportError::Insecure => KeylessError::InsecureService {
                    service,
                    url: url.clone(),
                },
                oidc::TransportError::NotAUrl(why) => {
                    KeylessError::Config(format!("the {service} URL '{url}' is not a URL: {why}"))
                }
            })?;
        }
        Ok(())
    }

    /// Rejects combinations that cannot produce a verifiable bundle.
    fn check(&self) -> Result<(), KeylessError> {
        match self.rekor_version {
            1 => Ok(()),
            // A Rekor v2 entry has no integrated time, so only a timestamp proves when the
            // short-lived certificate was used.
            2 if self.tsa_url.is_some() => Ok(()),
            2 => Err(KeylessError::Config(
                "the signing config selects Rekor v2 but lists no timestamp authority, which Rekor v2 needs".into(),
            )),
            v => Err(KeylessError::Config(format!("unsupported Rekor API version {v}"))),
        }
    }
}

/// Checks that a service requirement of the signing config can be met by submitting to one
/// service, as this signer does: `ANY`, `EXACT` with count 1, or `ALL` when a single operator runs
/// every eligible endpoint. Anything else would silently weaken the instance's policy.
fn single_service(
    service: &str,
    config: &ServiceConfiguration,
    eligible: &[&ServiceEndpoint],
) -> Result<(), String> {
    let ok = match config.selector {
        ServiceSelector::Any => true,
        ServiceSelector::Exact => {
            config.count == Some(1) || (config.count.is_none() && eligible.len() <= 1)
        }
        ServiceSelector::All => {
            let mut ops = eligible.iter().map(|e| e.operator.as_deref());
            match ops.next() {
                None => true,
                Some(None) => eligible.len() == 1,
                Some(Some(first)) => ops.all(|o| o == Some(first)),
            }
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the signing config asks for {service} selector {:?} (count {:?}); this signer submits to one {service}",
            config.selector, config.count
        ))
    }
}

pub use crate::sign::{prepare, PreparedStatement};

/// Signs a statement keylessly and returns the bundle JSON (v0.3, compact).
///
/// The token's expiry is checked again here, with [`oidc::SIGNING_MARGIN`] to spare (hashing a
/// large model can outlast a short-lived token), and so are the service URLs, before any request;
/// its audience was checked when it was obtained ([`oidc::obtain_token`]).
pub fn sign_statement(
    payload: &[u8],
    services: &KeylessServices,
    token: &IdentityToken,
) -> Result<Vec<u8>, KeylessError> {
    services.check()?;
    services.check_transport()?;
    token.check_fresh(oidc::SIGNING_MARGIN)?;
    let client = reqwest::Client::builder()
        .timeout(SERVICE_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("model-signing-rs/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            KeylessError::Internal(format!(
                "cannot build the HTTP client: {}",
                super::one_line(&e)
            ))
        })?;
    oidc::block_on(async {
        match sign_async(&client, payload, services, token).await {
            Ok(bundle) => Ok(bundle),
            Err(e) => Err(explain(&client, e).await),
        }
    })?
}

/// The keyless [`crate::sign::Signer`]: [`crate::sign::sign_model`] with it signs a model through
/// Fulcio, Rekor and (when configured) a TSA.
///
/// The order is the library's, whoever calls it: a token given up front (and the service URLs) is
/// checked before hashing, against the time hashing can be expected to take, since a bad token
/// should not cost that wait; ambient and interactive tokens are fetched only after hashing, so a
/// short-lived token is as fresh as possible when Fulcio sees it; the new bundle is then checked
/// as a verifier will check it ([`super::self_check`]) before anything is written. A bundle that
/// does not fit together (another key, issuer or payload in the certificate or the log entry)
/// fails the signing; a trusted root that does not know the services is only a warning in the
/// outcome, since the bundle is consistent and may verify for others.
pub struct KeylessSigner {
    services: KeylessServices,
    tokens: TokenRequest,
    root: TrustRoot,
    interaction: Box<dyn Interaction + Send + Sync>,
}

impl std::fmt::Debug for KeylessSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeylessSigner")
            .field("services", &self.services)
            .field("root", &self.root.source().to_string())
            .finish_non_exhaustive()
    }
}

impl KeylessSigner {
    /// A signer that uses `services`, gets its token as `tokens` says (the interactive flow
    /// through `interaction`), and checks each new bundle against `root`.
    pub fn new(
        services: KeylessServices,
        tokens: TokenRequest,
        root: TrustRoot,
        interaction: Box<dyn Interaction + Send + Sync>,
    ) -> Self {
        KeylessSigner {
            services,
            tokens,
            root,
            interaction,
        }
    }
}

/// What a caller chooses about keyless signing; everything else comes from the signing config.
/// [`KeylessSigner::from_options`] resolves it the same way for the CLI and the Python package.
#[derive(Debug, Clone, Default)]
pub struct KeylessOptions {
    /// Where the signing config and the trusted root come from.
    pub trust: TrustOptions,
    /// Accept plain-http services off loopback.
    pub allow_insecure_services: bool,
    /// A token given by the caller: used instead of any other source, and checked before hashing.
    pub identity_token: Option<String>,
    /// Try ambient CI / cloud credentials before the interactive flow.
    pub use_ambient_credentials: bool,
    /// The OIDC issuer of the interactive flow, instead of the signing config's.
    pub oidc_issuer: Option<String>,
    /// The OAuth client id (also the audience every token must have); `sigstore` when `None`.
    pub client_id: Option<String>,
    /// The OAuth client secret, if the issuer wants one.
    pub client_secret: Option<String>,
    /// Print the URL and read the code back instead of opening a browser.
    pub force_oob: bool,
}

impl KeylessSigner {
    /// The signer `opts` describe: the services from the signing config (the highest Rekor version
    /// it lists, its TSA), tokens from the given one, else ambient credentials when asked, else the
    /// interactive flow through `interaction`, and the trusted root of the same trust options for
    /// the self-check.
    pub fn from_options(
        opts: &KeylessOptions,
        interaction: Box<dyn Interaction + Send + Sync>,
    ) -> Result<Self, Error> {
        let signing_config = super::trust::load_signing_config(&opts.trust)?;
        let services = KeylessServices::from_signing_config_with(
            &signing_config,
            &ServiceOptions {
                allow_insecure_services: opts.allow_insecure_services,
            },
        )?;
        tracing::info!(
            "signing with Fulcio {}, Rekor v{} {}{}",
            services.fulcio_url,
            services.rekor_version,
            services.rekor_url,
            services
                .tsa_url
                .as_deref()
                .map(|t| format!(", TSA {t}"))
                .unwrap_or_default()
        );
        let issuer = opts
            .oidc_issuer
            .clone()
            .or_else(|| services.oidc_issuer.clone())
            .unwrap_or_default();
        let mut oauth = oidc::OAuthSettings::new(issuer)
            .with_force_oob(opts.force_oob)
            .with_allow_insecure_services(opts.allow_insecure_services);
        if let Some(id) = &opts.client_id {
            oauth = oauth.with_client_id(id.clone());
        }
        if let Some(secret) = &opts.client_secret {
            oauth = oauth.with_client_secret(secret.clone());
        }
        let tokens = TokenRequest::new(oauth)
            .with_explicit(opts.identity_token.clone())
            .with_ambient(opts.use_ambient_credentials);
        let root = super::trust::load_trusted_root(&opts.trust)?;
        Ok(KeylessSigner::new(services, tokens, root, interaction))
    }
}

impl crate::sign::Signer for KeylessSigner {
    fn method(&self) -> Method {
        Method::Sigstore
    }

    fn check_before_hashing(&self, model: &ModelSize) -> Result<(), Error> {
        self.services.check()?;
        self.services.check_transport()?;
        if let Some(raw) = &self.tokens.explicit {
            IdentityToken::parse(raw)
                .and_then(|t| t.validate(&self.tokens.oauth.client_id).map(|()| t))
                .and_then(|t| t.check_fresh(oidc::signing_time_estimate(model.bytes)))
                .map_err(KeylessError::TokenUnusable)?;
        }
        Ok(())
    }

    fn sign_statement(&self, statement: &PreparedStatement) -> Result<SignedBundle, Error> {
        let token = oidc::obtain_token(&self.tokens, self.interaction.as_ref())?;
        let bytes = sign_statement(&statement.payload, &self.services, &token)?;
        let mut warnings = Vec::new();
        let signer = match self_check::self_check(&bytes, &self.root, token.certificate_issuer())? {
            SelfCheck::Verified(signer) => {
                tracing::info!(
                    "the new signature verifies against the {}",
                    self.root.source()
                );
                signer
            }
            SelfCheck::UntrustedRoot { signer, reason } => {
                warnings.push(format!(
                    "the new signature is consistent but does not verify against the {}: {reason}",
                    self.root.source()
                ));
                signer
            }
        };
        Ok(SignedBundle {
            bytes,
            identity: Some(CertifiedIdentity {
                identity: signer.identity,
                identity_provider: signer.issuer,
            }),
            warnings,
        })
    }
}

fn service_error(
    service: &'static str,
    url: &str,
    e: &(dyn std::error::Error + 'static),
) -> KeylessError {
    KeylessError::Service {
        service,
        url: url.to_string(),
        message: super::one_line(e),
    }
}

/// The sigstore-rust clients flatten transport errors to reqwest's top line ("error sending request
/// for url ..."), which hides the cause (refused, DNS, TLS, timeout). When that is all there is,
/// probe the service once with our own client and report the cause it finds.
async fn explain(client: &reqwest::Client, err: KeylessError) -> KeylessError {
    let KeylessError::Service {
        service,
        url,
        message,
    } = err
    else {
        return err;
    };
    if !message.contains("error sending request") {
        return KeylessError::Service {
            service,
            url,
            message,
        };
    }
    match client.head(url.as_str()).send().await {
        Err(probe) => KeylessError::Service {
            service,
            url,
            message: format!("cannot reach the service: {}", super::one_line(&probe)),
        },
        Ok(_) => KeylessError::Service {
            service,
            url,
            message,
        },
    }
}

async fn sign_async(
    client: &reqwest::Client,
    payload: &[u8],
    services: &KeylessServices,
    token: &IdentityToken,
) -> Result<Vec<u8>, KeylessError> {
    let ss_token = sigstore_sign::oidc::IdentityToken::from_jwt(token.expose())
        .map_err(|e| OidcError::Malformed(super::one_line(&e)))?;

    // 1. An ephemeral P-256 key: it lives only in this process, for this one signature.
    let key = KeyPair::generate_ecdsa_p256().map_err(|e| {
        KeylessError::Internal(format!(
            "cannot generate the ephemeral key: {}",
            super::one_line(&e)
        ))
    })?;

    // 2. A short-lived certificate binding the key to the token's identity.
    let url = &services.fulcio_url;
    tracing::info!(
        "requesting a signing certificate for {} ({}) from Fulcio at {url}",
        token.identity(),
        token.issuer()
    );
    let fulcio = FulcioClient::builder(url.as_str())
        .with_http_client(client.clone())
        .build()
        .map_err(|e| service_error("Fulcio", url, &e))?;
    let cert = fulcio
        .create_signing_certificate(&ss_token, &key)
        .await
        .map_err(|e| service_error("Fulcio", url, &e))?
        .leaf_certificate()
        .clone();

    // 3. The DSSE signature over our own PAE of the statement: the bytes the key method signs.
    let pae = dsse::pae(dsse::PAYLOAD_TYPE, payload);
    let sig = key
        .sign(&pae)
        .map_err(|e| KeylessError::Internal(format!("cannot sign: {}", super::one_line(&e))))?;
    let envelope = DsseEnvelope::new(
        dsse::PAYLOAD_TYPE,
        PayloadBytes::from_bytes(payload),
        DsseSignature::new(sig.clone(), KeyId::default()),
    );

    // 4. A timestamp over the signature, when the signing config lists a TSA (as sigstore-python
    //    does, before the log entry).
    let timestamp = match &services.tsa_url {
        Some(url) => {
            tracing::info!("requesting an RFC 3161 timestamp from {url}");
            let tsa = TimestampClient::builder(url.as_str())
                .with_http_client(client.clone())
                .build()
                .map_err(|e| service_error("TSA", url, &e))?;
            Some(
                tsa.timestamp_signature(&sig)
                    .await
                    .map_err(|e| service_error("TSA", url, &e))?,
            )
        }
        None => None,
    };

    // 5. The transparency log entry.
    let url = &services.rekor_url;
    let entry = match services.rekor_version {
        1 => {
            tracing::info!("adding a dsse entry to the Rekor v1 log at {url}");
            let rekor = RekorClient::builder(url.as_str())
                .with_http_client(client.clone())
                .build()
                .map_err(|e| service_error("Rekor", url, &e))?;
            let request =
                DsseEntry::new(&envelope, &cert).map_err(|e| service_error("Rekor", url, &e))?;
            let logged = rekor
                .create_dsse_entry(request)
                .await
                .map_err(|e| service_error("Rekor", url, &e))?;
            logged
                .to_bundle_entry(KindVersion::DsseV001)
                .map_err(|e| service_error("Rekor", url, &e))?
        }
        _ => {
            // Rekor v2 logs DSSE as hashedrekord 0.0.2 over the SHA-256 of the PAE.
            tracing::info!("adding a hashedrekord entry to the Rekor v2 log at {url}");
            let rekor = RekorV2Client::builder(url.as_str())
                .with_http_client(client.clone())
                .build()
                .map_err(|e| service_error("Rekor", url, &e))?;
            let digest = sigstore_sign::crypto::sha256(&pae);
            let request = HashedRekordV2::new_with_certificate(
                &digest,
                &sig,
                &cert,
                RekorV2KeyDetails::PkixEcdsaP256Sha256,
            );
            rekor
                .create_entry(request)
                .await
                .map_err(|e| service_error("Rekor", url, &e))?
        }
    };
    tracing::info!("logged as entry {} of {url}", entry.log_index);

    // 6. The bundle: leaf certificate only (v0.3), envelope, log entry, timestamp.
    let mut bundle = BundleV03::with_certificate_and_dsse(cert, envelope).with_tlog_entry(entry);
    if let Some(ts) = timestamp {
        bundle = bundle.with_rfc3161_timestamp(ts);
    }
    let json = bundle.into_bundle().to_json().map_err(|e| {
        KeylessError::Internal(format!("cannot encode the bundle: {}", super::one_line(&e)))
    })?;
    Ok(json.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigstore::trust::TrustSource;
    use crate::sigstore::Instance;
    use serde_json::json;

    fn config(v: serde_json::Value) -> SigningConfig {
        let config = sigstore_sign::trust_root::SigningConfig::from_json(&v.to_string()).unwrap();
        SigningConfig {
            config,
            json: v,
            source: TrustSource::TrustConfigFile("tc.json".into()),
        }
    }

    fn mock(rekor: &[u32], tsa: bool, selector: serde_json::Value) -> serde_json::Value {
        let svc = |url: &str, v: u32| json!({"url": url, "majorApiVersion": v, "operator": "op", "validFor": {"start": "2020-01-01T00:00:00Z"}});
        json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [svc("https://fulcio.test", 1)],
            "oidcUrls": [svc("https://oidc.test", 1)],
            "rekorTlogUrls": rekor.iter().map(|v| svc(&format!("https://rekor{v}.test"), *v)).collect::<Vec<_>>(),
            "tsaUrls": if tsa { vec![svc("https://tsa.test/api/v1/timestamp", 1)] } else { vec![] },
            "rekorTlogConfig": selector,
            "tsaConfig": {"selector": "ANY"},
        })
    }

    #[test]
    fn embedded_instances() {
        for (instance, rekor) in [(Instance::Production, 1), (Instance::Staging, 2)] {
            let json: serde_json::Value =
                serde_json::from_str(instance.sigstore().embedded_signing_config_json().unwrap())
                    .unwrap();
            let s = KeylessServices::from_signing_config(&config(json)).unwrap();
            assert_eq!(
                s.rekor_version, rekor,
                "{instance}: highest Rekor version, as sigstore-python"
            );
            assert!(
                s.tsa_url.is_some() && s.oidc_issuer.is_some(),
                "{instance}: {s:?}"
            );
            assert!(s.fulcio_url.starts_with("https://fulcio."), "{s:?}");
        }
    }

    #[test]
    fn selection() {
        let any = json!({"selector": "ANY"});
        // Rekor v1 without a TSA is fine (sigstore-sign would insist on a TSA).
        let s =
            KeylessServices::from_signing_config(&config(mock(&[1], false, any.clone()))).unwrap();
        assert_eq!(
            (s.rekor_url.as_str(), s.rekor_version, s.tsa_url),
            ("https://rekor1.test", 1, None)
        );
        assert_eq!(s.oidc_issuer.as_deref(), Some("https://oidc.test"));
        // The highest version wins.
        let s = KeylessServices::from_signing_config(&config(mock(&[1, 2], true, any.clone())))
            .unwrap();
        assert_eq!(
            (s.rekor_url.as_str(), s.rekor_version),
            ("https://rekor2.test", 2)
        );
        // Rekor v2 needs a TSA.
        let e = KeylessServices::from_signing_config(&config(mock(&[2], false, any.clone())))
            .unwrap_err();
        assert!(e.to_string().contains("timestamp authority"), "{e}");
        // Policies one submission cannot satisfy are refused, not weakened.
        let e = KeylessServices::from_signing_config(&config(mock(
            &[1],
            true,
            json!({"selector": "EXACT", "count": 2}),
        )))
        .unwrap_err();
        assert!(
            e.to_string().contains("tc.json") && e.to_string().contains("Exact"),
            "{e}"
        );
        assert!(KeylessServices::from_signing_config(&config(mock(
            &[1],
            true,
            json!({"selector": "EXACT", "count": 1})
        )))
        .is_ok());
        // No Rekor at all.
        let e = KeylessServices::from_signing_config(&config(mock(&[], true, any))).unwrap_err();
        assert!(e.to_string().contains("no currently valid Rekor"), "{e}");
    }

    #[test]
    fn expired_tokens_are_refused_before_any_request() {
        use base64::Engine;
        let claims = json!({"iss": "https://i", "sub": "s", "aud": "sigstore", "exp": 1});
        let jwt = format!(
            "e30.{}.x",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let token = IdentityToken::parse(&jwt).unwrap();
        // Unroutable services: an attempt to contact them would fail differently.
        let services = KeylessServices {
            fulcio_url: "http://127.0.0.1:9".into(),
            rekor_url: "http://127.0.0.1:9".into(),
            rekor_version: 1,
            tsa_url: None,
            oidc_issuer: None,
            allow_insecure_services: false,
        };
        let e = sign_statement(b"{}", &services, &token).unwrap_err();
        assert!(
            matches!(e, KeylessError::Token(OidcError::Expired { .. })),
            "{e}"
        );
    }
}
