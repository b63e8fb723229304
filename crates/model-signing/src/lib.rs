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
//! [`sign`] and [`verify`] drive that pipeline for each signing method; [`keys`] and [`x509`] hold the
//! key loading and certificate path validation they share.
//!
//! The library never prints; warnings go through `tracing`, errors are typed ([`Error`]).
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

pub mod bundle;
pub mod dsse;
pub mod error;
pub mod hashing;
pub mod keys;
pub mod manifest;
pub mod pkcs11;
pub mod secret_file;
pub mod sign;
pub mod sigstore;
pub mod statement;
pub mod verify;
pub mod walk;
pub mod x509;

pub use error::{Error, Result};
