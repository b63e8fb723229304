//! The key method: an EC private key from a PEM file.

use super::{Method, RawSigner};
use crate::bundle::VerificationMaterial;
use crate::error::Result;
use crate::keys::PrivateKey;

/// Signs with a private key; the bundle names the key by its public-key hint.
pub struct KeySigner {
    key: PrivateKey,
}

impl KeySigner {
    /// Wraps a loaded key.
    pub fn new(key: PrivateKey) -> Self {
        KeySigner { key }
    }

    /// Loads a PEM private key (optionally encrypted).
    pub fn from_pem(pem: &[u8], password: Option<&[u8]>) -> Result<Self> {
        Ok(KeySigner {
            key: PrivateKey::from_pem(pem, password)?,
        })
    }
}

impl RawSigner for KeySigner {
    fn method(&self) -> Method {
        Method::Key
    }

    fn material(&self) -> Result<VerificationMaterial> {
        Ok(VerificationMaterial::PublicKey {
            hint: Some(self.key.public_key().hint()),
            legacy_raw_bytes: false,
        })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        Ok(self.key.sign(message)?)
    }
}
