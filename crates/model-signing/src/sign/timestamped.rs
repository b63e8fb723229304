//! RFC 3161 timestamps on key, certificate and PKCS#11 signatures ([`crate::timestamp`]).

use super::{PreparedStatement, RawSigner, SignedBundle, Signer};
use crate::bundle;
use crate::dsse;
use crate::error::Result;
use crate::report::Method;
use crate::timestamp::client::TsaClient;

/// Any [`RawSigner`] whose signature is timestamped by every TSA of a [`TsaClient`] before the
/// bundle is assembled. A TSA that fails fails the signing, so no bundle is written without the
/// timestamps it was asked to carry.
pub struct TimestampingSigner {
    inner: Box<dyn RawSigner>,
    tsa: TsaClient,
}

impl TimestampingSigner {
    /// Wraps `inner`; `tsa` lists the authorities to ask (already checked for transport).
    pub fn new(inner: Box<dyn RawSigner>, tsa: TsaClient) -> Self {
        TimestampingSigner { inner, tsa }
    }
}

/// `raw` as a [`Signer`], timestamped by each of `tsa_urls` when there are any (see
/// [`TsaClient::new`] for the URL rules, checked here, before anything is hashed).
pub fn with_timestamps(
    raw: Box<dyn RawSigner>,
    tsa_urls: &[String],
    timeout: std::time::Duration,
    allow_insecure: bool,
) -> Result<Box<dyn Signer>> {
    if tsa_urls.is_empty() {
        return Ok(Box::new(raw));
    }
    let client = TsaClient::new(tsa_urls, timeout, allow_insecure)?;
    Ok(Box::new(TimestampingSigner::new(raw, client)))
}

impl Signer for TimestampingSigner {
    fn method(&self) -> Method {
        RawSigner::method(&self.inner)
    }

    fn sign_statement(&self, statement: &PreparedStatement) -> Result<SignedBundle> {
        let material = self.inner.material()?;
        let sig = self
            .inner
            .sign(&dsse::pae(dsse::PAYLOAD_TYPE, &statement.payload))?;
        let timestamps = self.tsa.timestamp(&sig)?;
        Ok(SignedBundle {
            bytes: bundle::encode_with_timestamps(
                &material,
                dsse::PAYLOAD_TYPE,
                &statement.payload,
                &sig,
                &timestamps,
            )?,
            identity: None,
            warnings: Vec::new(),
        })
    }
}
