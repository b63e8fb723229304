//! Signing and verifying with a key pair: the command lines, and running them.

use super::{ms, KeyPair, Run};
use std::ffi::OsString;
use std::path::Path;

/// The arguments of `model-signing sign key` of `model` with `key` into `sig`, with `extra` flags
/// before the model.
pub fn sign_key_args(model: &Path, key: &KeyPair, sig: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut a = crate::args![
        "sign",
        "key",
        "--private-key",
        &key.private_key,
        "--signature",
        sig
    ];
    a.extend(extra.iter().map(OsString::from));
    a.push(model.into());
    a
}

/// The arguments of `model-signing verify key` of `model` against `sig` with `key`, `extra` flags
/// before the model.
pub fn verify_key_args(model: &Path, key: &KeyPair, sig: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut a = crate::args![
        "verify",
        "key",
        "--public-key",
        &key.public_key,
        "--signature",
        sig
    ];
    a.extend(extra.iter().map(OsString::from));
    a.push(model.into());
    a
}

/// Runs `model-signing sign key` ([`sign_key_args`]).
pub fn sign_key(model: &Path, key: &KeyPair, sig: &Path, extra: &[&str]) -> Run {
    ms(sign_key_args(model, key, sig, extra))
}

/// Runs `model-signing verify key` ([`verify_key_args`]).
pub fn verify_key(model: &Path, key: &KeyPair, sig: &Path, extra: &[&str]) -> Run {
    ms(verify_key_args(model, key, sig, extra))
}
