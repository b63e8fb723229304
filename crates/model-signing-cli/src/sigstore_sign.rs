//! `sign sigstore`: keyless signing through Fulcio, Rekor and (when configured) a TSA.
//!
//! Resolves the flags into the library's options and reports progress; the Sigstore work (and every
//! use of the sigstore-* crates) is in `model_signing::sigstore::{sign, oidc}`.

use crate::args::SignSigstoreArgs;
use crate::config;
use anyhow::{Context, Result};
use model_signing::sigstore::oidc::{
    self, ConsoleInteraction, IdentityToken, OAuthSettings, TokenRequest,
};
use model_signing::sigstore::self_check::{self, SelfCheck};
use model_signing::sigstore::sign::{self, KeylessServices};
use model_signing::sigstore::trust::{self, TrustOptions};
use model_signing::sigstore::Instance;

/// The environment variable holding an identity token when `--identity-token` is not given (the
/// convention of cosign and sigstore-go; handy in CI where a flag would land in the process list).
pub const TOKEN_ENV: &str = "SIGSTORE_ID_TOKEN";

/// Runs `sign sigstore`.
pub fn sign(a: SignSigstoreArgs) -> Result<crate::run::SignReport> {
    let c = config::sign(&a.common)?;
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
    // A given token is checked before hashing, which can take long on a big model; a bad token
    // should not cost that wait.
    if let Some(t) = &explicit {
        let bytes = model_bytes(&c);
        IdentityToken::parse(t)
            .and_then(|tok| tok.validate(&a.client_id).map(|()| tok))
            .and_then(|tok| tok.check_fresh(oidc::signing_time_estimate(bytes)))
            .context("the identity token cannot be used")?;
    }

    let prepared = sign::prepare(&c.model, &c.hashing)?;
    tracing::info!(
        "hashed {} files ({} resources), root digest sha256:{}",
        prepared.outcome.files,
        prepared.outcome.resources,
        hex::encode(prepared.outcome.root_digest)
    );

    // Ambient and interactive tokens are fetched only now, after hashing, so that a short-lived
    // token is as fresh as possible when Fulcio sees it.
    let oauth = OAuthSettings::new(services.oidc_issuer.clone().unwrap_or_default())
        .with_client_id(a.client_id.clone())
        .with_client_secret(a.client_secret.unwrap_or_default())
        .with_force_oob(a.oauth_force_oob)
        .with_allow_insecure_services(a.allow_insecure_services);
    let request = TokenRequest::new(oauth)
        .with_explicit(explicit)
        .with_ambient(a.use_ambient_credentials);
    let token = oidc::obtain_token(&request, &ConsoleInteraction)
        .context("cannot get an identity token")?;

    let bundle = sign::sign_statement(&prepared.payload, &services, &token)?;

    // Check the result as a verifier will, before writing it: a bundle that does not fit together
    // (another key, issuer or payload in the certificate or the log entry) fails the signing and
    // leaves no file. Only a trusted root that does not know the services stays a warning: the
    // bundle is consistent and may verify for others.
    let root = trust::load_trusted_root(&trust_opts).context("cannot check the new signature")?;
    let signer = match self_check::self_check(&bundle, &root, token.certificate_issuer())? {
        SelfCheck::Verified(signer) => {
            tracing::info!("the new signature verifies against the {}", root.source());
            signer
        }
        SelfCheck::UntrustedRoot { signer, reason } => {
            tracing::warn!(
                "the new signature is consistent but does not verify against the {}: {reason} \
                 (if that root is out of date, run `model-signing trust-root update`)",
                root.source()
            );
            signer
        }
    };
    model_signing::sign::write_atomic(&c.signature, &bundle)?;
    tracing::info!(
        "signed as {} ({}), signature written to {}; verify with --identity {} --identity-provider {}",
        signer.identity,
        signer.issuer,
        c.signature.display(),
        signer.identity,
        signer.issuer
    );
    let mut report = crate::run::SignReport::new("sigstore", &c.signature, &prepared.outcome);
    report.identity = Some(signer.identity);
    report.identity_provider = Some(signer.issuer);
    Ok(report)
}

/// The model's size, for the estimate of how long hashing will take (0 when it cannot be listed:
/// the hashing step will then report why).
fn model_bytes(c: &config::SignConfig) -> u64 {
    model_signing::walk::walk(&c.model, &c.hashing.walk_options())
        .map(|files| files.iter().fold(0u64, |n, f| n.saturating_add(f.size)))
        .unwrap_or(0)
}
