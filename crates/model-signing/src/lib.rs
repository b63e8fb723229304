//! Sign and verify machine-learning models in the OpenSSF Model Signing (OMS) format.
//!
//! The data flows through the modules in this order:
//!
//! * [`walk`] enumerates the files of a model (ignore rules, symlink policy, special files);
//! * [`hashing`] hashes every file, or every fixed-size shard of every file;
//! * [`manifest`] orders those digests the way the Python reference does and computes the root digest;
//! * [`statement`] wraps the manifest into an in-toto Statement v1 with the OMS predicate;
//! * [`dsse`] computes the DSSE pre-authentication encoding that is actually signed;
//! * [`bundle`] writes and (leniently) reads the Sigstore bundle JSON stored in `model.sig`.
//!
//! [`sign`] and [`verify`] drive that pipeline for every signing method: one [`sign::Signer`] trait
//! (key, certificate, PKCS#11 and Sigstore keyless all implement it) and one
//! [`verify::BundleVerifier`] trait. [`keys`] and [`x509`] hold the key loading and certificate
//! path validation they share; [`report`] the typed results (serialisable with serde);
//! [`timestamp`] the RFC 3161 timestamps that key, certificate and PKCS#11 signatures may carry;
//! [`oci`] models that are OCI images (a registry reference or a manifest file); [`attest`]
//! signed provenance, model cards and evaluation results about a model, kept in `claims.jsonl`.
//!
//! The library never prints; warnings go through `tracing`, errors are one typed tree ([`Error`])
//! whose messages name no command-line flag.
//!
//! # Cargo features
//!
//! * `sigstore` (default): keyless signing and verification ([`sigstore`]): Fulcio, Rekor, TSA,
//!   OIDC, the trusted root. Pulls in tokio, reqwest, rustls, TUF and the sigstore-* crates.
//!   Also requesting and verifying RFC 3161 timestamps ([`timestamp`]); without the feature a
//!   bundle's timestamps are reported as unverified and never used.
//! * `pkcs11` (default): keys on PKCS#11 tokens ([`pkcs11`]), through cryptoki.
//! * `oci` (default, implies `sigstore`): fetching manifests from OCI registries ([`oci`]); local
//!   manifest files work without it.
//!
//! With `default-features = false`, key and certificate signing and verification, hashing and the
//! bundle format work with none of those dependencies.
//!
//! # Signing a model with a key
//!
//! ```no_run
//! use model_signing::hashing::HashingConfig;
//! use model_signing::sign::{self, KeySigner};
//! use std::path::Path;
//!
//! # fn main() -> model_signing::Result<()> {
//! let signer = KeySigner::from_pem(&std::fs::read("key.pem").map_err(|e| model_signing::Error::io("key.pem", e))?, None)?;
//! // Any `sign::Signer` works here: a certificate, a PKCS#11 token, Sigstore keyless.
//! let outcome = sign::sign_model(
//!     Path::new("my-model"),
//!     &HashingConfig::default(),
//!     &signer,
//!     Path::new("my-model/model.sig"), // inside the model: left out of it and recorded as ignored
//! )?;
//! println!("root digest {}", hex::encode(outcome.root_digest));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
// Untrusted input (bundles, keys, certificates, URIs, file trees) reaches most of this crate, so
// nothing outside tests may panic: no unwrap/expect, no indexing that can go out of bounds.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod atomic;
pub mod attest;
pub mod bundle;
pub mod dsse;
pub mod error;
pub mod hashing;
pub mod huggingface;
pub mod keys;
pub mod limits;
pub mod manifest;
pub mod oci;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
pub mod policy;
pub mod report;
pub mod secret_file;
pub mod sign;
#[cfg(feature = "sigstore")]
pub mod sigstore;
pub mod statement;
pub mod timestamp;
pub mod verified;
pub mod verify;
pub mod walk;
pub mod x509;

pub use error::{Error, Result};
