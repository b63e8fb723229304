//! `sign sigstore`: keyless signing through Fulcio, Rekor and (when configured) a TSA.
//!
//! Resolves the flags into the library's options and reports progress; the Sigstore work (and every
//! use of the sigstore-* crates) is in `model_signing::sigstore::{sign, oidc}`.

use crate::args::SignSigstoreArgs;
use anyhow::{Context, Result};
use model_signing::sigstore::oidc::{ConsoleInteraction, OAuthSettings, TokenRequest};
use model_signing::sigstore::sign::{self, KeylessServices, KeylessSigner};
use model_signing::sigstore::trust::{self, TrustOptions};
use model_signing::sigstore::Instance;

/// The environment variable holding an identity token when `--identity-token` is not given (the
/// convention of cosign and sigstore-go; handy in CI where a flag would land in the process list).
pub const TOKEN_ENV: &str = "SIGSTORE_ID_TOKEN";

/// The keyless signer for `sign sigstore`: the services from the signing config, the token
/// sources from the flags, the trusted root the new bundle is checked against. The order of work
/// (token checked before hashing, fetched after, self-check before writing) is the library's
/// ([`KeylessSigner`]).
pub fn signer(a: SignSigstoreArgs) -> Result<KeylessSigner> {
    let trust_opts = TrustOptions {
        trust_config: a.trust_config.clone(),
        instance: Instance::from_staging_flag(a.use_staging),
        ..Default::default()
    };
    let signing_config = trust::load_signing_config(&trust_opts)?;
    let services = KeylessServices::from_signing_config_with(
        &signing_config,
        &sign::ServiceOptions {
            allow_insecure_services: a.allow_insecure_services,
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
    let explicit = a.identity_token.or_else(|| {
        std::env::var(TOKEN_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty())
    });
    let oauth = OAuthSettings::new(services.oidc_issuer.clone().unwrap_or_default())
        .with_client_id(a.client_id.clone())
        .with_client_secret(a.client_secret.unwrap_or_default())
        .with_force_oob(a.oauth_force_oob)
        .with_allow_insecure_services(a.allow_insecure_services);
    let tokens = TokenRequest::new(oauth)
        .with_explicit(explicit)
        .with_ambient(a.use_ambient_credentials);
    let root = trust::load_trusted_root(&trust_opts).context("cannot check the new signature")?;
    Ok(KeylessSigner::new(
        services,
        tokens,
        root,
        Box::new(ConsoleInteraction),
    ))
}
