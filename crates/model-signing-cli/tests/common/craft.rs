//! Bundles made outside our statement writer, for tests that need a statement it would not write.

use super::KeyPair;
use model_signing::keys::PrivateKey;
use model_signing::{bundle, dsse};
use std::fs;
use std::path::Path;

/// Signs `statement` with `key` into a key bundle at `out`, bypassing our statement writer.
pub fn craft(key: &KeyPair, statement: &serde_json::Value, out: &Path) {
    fs::write(out, crafted(key, statement)).unwrap();
}

/// The bundle [`craft`] writes.
pub fn crafted(key: &KeyPair, statement: &serde_json::Value) -> Vec<u8> {
    crafted_raw(key, &serde_json::to_vec(statement).unwrap())
}

/// A key bundle over the payload bytes as given (repeated keys and all).
pub fn crafted_raw(key: &KeyPair, payload: &[u8]) -> Vec<u8> {
    let pk = PrivateKey::from_pem(&fs::read(&key.private_key).unwrap(), None).unwrap();
    let payload = payload.to_vec();
    let sig = pk.sign(&dsse::pae(dsse::PAYLOAD_TYPE, &payload)).unwrap();
    let material = bundle::VerificationMaterial::PublicKey {
        hint: Some(pk.public_key().hint()),
        legacy_raw_bytes: false,
    };
    bundle::encode(&material, dsse::PAYLOAD_TYPE, &payload, &sig).unwrap()
}
