//! `sign sigstore`: keyless signing through Fulcio, Rekor and (when configured) a TSA.
//!
//! Resolves the flags into the library's options and reports progress; the Sigstore work (and every
//! use of the sigstore-* crates) is in `model_signing::sigstore::{sign, oidc}`.

use crate::args::SignSigstoreArgs;
use anyhow::Result;
use model_signing::sigstore::oidc::{self, ConsoleInteraction};
use model_signing::sigstore::sign::{KeylessOptions, KeylessSigner};
use model_signing::sigstore::trust::TrustOptions;
use model_signing::sigstore::Instance;

/// The keyless signer for `sign sigstore`: the services from the signing config, the token
/// sources from the flags, the trusted root the new bundle is checked against. The order of work
/// (token checked before hashing, fetched after, self-check before writing) is the library's
/// ([`KeylessSigner`]).
pub fn signer(a: SignSigstoreArgs) -> Result<KeylessSigner> {
    let identity_token = oidc::token_or_env(a.identity_token);
    let opts = KeylessOptions {
        trust: TrustOptions {
            trust_config: a.trust_config,
            instance: Instance::from_staging_flag(a.use_staging),
            ..Default::default()
        },
        allow_insecure_services: a.allow_insecure_services,
        identity_token,
        use_ambient_credentials: a.use_ambient_credentials,
        oidc_issuer: None,
        client_id: Some(a.client_id),
        client_secret: a.client_secret,
        force_oob: a.oauth_force_oob,
    };
    Ok(KeylessSigner::from_options(
        &opts,
        Box::new(ConsoleInteraction),
    )?)
}
