//! The certificate method: an EC private key plus its X.509 certificate and chain.

use super::{Method, RawSigner};
use crate::bundle::VerificationMaterial;
use crate::error::{Error, Result};
use crate::keys::PrivateKey;
use crate::x509::{self, Certificate};

/// Signs with a private key whose certificate (and intermediates) go into the bundle.
pub struct CertificateSigner {
    key: PrivateKey,
    leaf: Certificate,
    chain: Vec<Certificate>,
}

impl CertificateSigner {
    /// Checks that `leaf` certifies `key` and may sign, then builds the signer. `chain` holds the
    /// intermediates (and optionally the root) in the order they will be written after the leaf.
    pub fn new(key: PrivateKey, leaf: Certificate, chain: Vec<Certificate>) -> Result<Self> {
        let cert_key = leaf.public_key()?;
        if cert_key.spki_der() != key.public_key().spki_der() {
            return Err(Error::Config(format!(
                "the public key in the signing certificate '{}' does not match the private key",
                leaf.subject()
            )));
        }
        x509::check_signing_usage(&leaf)?;
        Ok(CertificateSigner { key, leaf, chain })
    }
}

impl RawSigner for CertificateSigner {
    fn method(&self) -> Method {
        Method::Certificate
    }

    fn material(&self) -> Result<VerificationMaterial> {
        let mut certs = vec![self.leaf.der().to_vec()];
        certs.extend(self.chain.iter().map(|c| c.der().to_vec()));
        Ok(VerificationMaterial::CertificateChain(certs))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        Ok(self.key.sign(message)?)
    }
}
