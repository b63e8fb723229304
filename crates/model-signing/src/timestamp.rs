//! RFC 3161 trusted timestamps over a signature, for the key, certificate and PKCS#11 methods, so
//! that a signature outlives the certificate that made it.
//!
//! **Format** (the Go port's, the Python reference's pull request #620, and where Sigstore bundles
//! carry them): a TimeStampReq over SHA-256 of the raw DSSE signature bytes (the decoded `sig`),
//! with a nonce and `certReq`, POSTed as `application/timestamp-query`; the whole DER
//! TimeStampResp, base64, in
//! `verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp`.
//!
//! **What a verified timestamp proves**: that a time-stamping authority the verifier trusts saw
//! these exact signature bytes at its genTime, so the signature existed then. With the certificate
//! method, the chain is then validated at the earliest verified genTime instead of now: a leaf
//! that has expired since still verifies, because it was valid when the TSA saw the signature.
//! It does **not** prove who signed (the signature and the chain do that), nor that the key was
//! not compromised before genTime, nor anything about revocation after it; and a TSA that is
//! trusted can state any time it likes. Without a verified timestamp nothing changes.
//!
//! **Verification** of each timestamp ([`TimestampPolicy::check`]), against every trusted
//! authority in turn until one accepts it (sigstore-tsa's `verify_timestamp_for_authority`, with
//! the fractional-second patch of `patches/sigstore-tsa`): the message imprint is the SHA-256 of
//! this bundle's signature; the CMS signer is the authority's own TSA certificate (certificates
//! embedded in the token are not trusted); the TSA's signature verifies; its chain reaches the
//! authority's root, with EKU timeStamping, valid at genTime; genTime lies in the authority's
//! validity window. A timestamp that no trusted authority accepts fails the whole verification:
//! a bundle that claims a time it cannot back is not silently downgraded. A verifier with no TSA
//! trust configured reports every timestamp as unverified and never uses it.
//!
//! Trust ([`TsaTrust`]): PEM chains given explicitly (any RFC 3161 authority), or the
//! `timestampAuthorities` of a Sigstore trusted root (the default being the embedded production
//! root, so the public Sigstore TSA needs no configuration).

use crate::error::{Error, Result};
use serde::Serialize;
use std::time::SystemTime;

/// Most timestamps a bundle may carry (the bundle reader enforces it too).
pub const MAX_TIMESTAMPS: usize = crate::bundle::proto::MAX_TIMESTAMPS;

pub use crate::limits::MAX_TIMESTAMP_BYTES;

pub use crate::limits::MAX_CHAIN_FILE_BYTES;

/// One timestamp of a bundle, as a verification reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimestampReport {
    /// The TSA's genTime, RFC 3339 UTC; `None` when the timestamp was not verified.
    pub time: Option<String>,
    /// The subject of the TSA certificate that signed it; `None` when not verified.
    pub tsa: Option<String>,
    /// Whether it verified against a trusted authority (and was therefore used).
    pub verified: bool,
    /// Why it was not verified.
    pub error: Option<String>,
}

/// What [`TimestampPolicy::check`] established.
#[derive(Debug, Clone, Default)]
pub struct CheckedTimestamps {
    /// One report per timestamp, in bundle order.
    pub reports: Vec<TimestampReport>,
    /// The earliest verified genTime, if any timestamp verified.
    pub earliest: Option<SystemTime>,
}

/// How a verifier treats a bundle's timestamps.
#[derive(Debug, Clone, Default)]
pub struct TimestampPolicy {
    /// The authorities to trust; `None`: no TSA trust is configured, so timestamps are reported
    /// as unverified and never used.
    pub trust: Option<TsaTrust>,
    /// Fail unless at least one timestamp verifies.
    pub require: bool,
}

impl TimestampPolicy {
    /// Checks every timestamp of a bundle against `signature` (the decoded DSSE signature).
    ///
    /// Fails when a timestamp does not verify against any trusted authority, or when `require`
    /// is set and none verified.
    pub fn check(&self, timestamps: &[Vec<u8>], signature: &[u8]) -> Result<CheckedTimestamps> {
        if timestamps.len() > MAX_TIMESTAMPS {
            return Err(Error::Timestamp(format!(
                "the bundle carries {} timestamps, more than the limit of {MAX_TIMESTAMPS}",
                timestamps.len()
            )));
        }
        let mut out = CheckedTimestamps::default();
        for (i, token) in timestamps.iter().enumerate() {
            let report = match &self.trust {
                None => TimestampReport {
                    time: None,
                    tsa: None,
                    verified: false,
                    error: Some("no time-stamping authority is trusted".into()),
                },
                Some(trust) => {
                    let (time, tsa) = trust.verify(i, token, signature)?;
                    out.earliest = Some(out.earliest.map_or(time, |e: SystemTime| e.min(time)));
                    TimestampReport {
                        time: Some(crate::x509::format_time(time)),
                        tsa: Some(tsa),
                        verified: true,
                        error: None,
                    }
                }
            };
            out.reports.push(report);
        }
        if self.require && out.earliest.is_none() {
            return Err(Error::Timestamp(if timestamps.is_empty() {
                "a trusted timestamp is required, and the signature has none".into()
            } else if self.trust.is_none() {
                "a trusted timestamp is required, and no time-stamping authority is trusted".into()
            } else {
                "a trusted timestamp is required, and none verified".into()
            }));
        }
        Ok(out)
    }
}

/// The time-stamping authorities a verifier trusts, each kept whole (its TSA certificate, its
/// intermediates, its root and validity window), so that no part of one can vouch for another.
#[derive(Debug, Clone)]
pub struct TsaTrust {
    #[cfg(feature = "sigstore")]
    authorities: Vec<Authority>,
    source: String,
}

#[cfg(feature = "sigstore")]
#[derive(Debug, Clone)]
struct Authority {
    inner: sigstore_types::TsaAuthority,
    subject: String,
}

impl TsaTrust {
    /// Where the trust came from, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of authorities.
    pub fn len(&self) -> usize {
        #[cfg(feature = "sigstore")]
        return self.authorities.len();
        #[cfg(not(feature = "sigstore"))]
        0
    }

    /// Whether no authority is trusted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(not(feature = "sigstore"))]
impl TsaTrust {
    fn verify(&self, _i: usize, _token: &[u8], _signature: &[u8]) -> Result<(SystemTime, String)> {
        Err(Error::Unsupported(
            "verifying RFC 3161 timestamps in a build without the `sigstore` feature".into(),
        ))
    }

    /// Needs the `sigstore` feature (the RFC 3161 verifier); without it, an error.
    pub fn from_pem_chains(_chains: &[(String, Vec<u8>)]) -> Result<Self> {
        Err(Error::Unsupported(
            "RFC 3161 timestamps in a build without the `sigstore` feature".into(),
        ))
    }
}

#[cfg(feature = "sigstore")]
impl TsaTrust {
    /// One authority per PEM document: the TSA's certificate first, then any intermediates, the
    /// root last (a single self-signed certificate is both). `chains` pairs a name for messages
    /// (a file name) with the PEM bytes.
    pub fn from_pem_chains(chains: &[(String, Vec<u8>)]) -> Result<Self> {
        let mut authorities = Vec::with_capacity(chains.len());
        for (name, pem) in chains {
            let certs = crate::x509::parse_pem_certificates(pem).map_err(|e| {
                Error::Config(format!(
                    "TSA certificate chain '{name}': {}",
                    crate::error::one_line(&e)
                ))
            })?;
            let (leaf, rest) = certs.split_first().ok_or_else(|| {
                Error::Config(format!(
                    "TSA certificate chain '{name}' holds no certificate"
                ))
            })?;
            let (root, intermediates) = match rest.split_last() {
                Some((root, mid)) => (root, mid),
                None => (leaf, &[][..]),
            };
            let der =
                |c: &crate::x509::Certificate| sigstore_types::DerCertificate::from_bytes(c.der());
            authorities.push(Authority {
                inner: sigstore_types::TsaAuthority::new(
                    der(leaf),
                    intermediates.iter().map(der).collect(),
                    der(root),
                    None,
                ),
                subject: leaf.subject(),
            });
        }
        let names: Vec<&str> = chains.iter().map(|(n, _)| n.as_str()).collect();
        Ok(TsaTrust {
            authorities,
            source: format!("TSA certificate chain {}", names.join(", ")),
        })
    }

    /// The trust a verifier uses, in this order: the PEM chain files `chains` (one authority
    /// each), else the `timestampAuthorities` of the trusted root `trust` selects (a TrustedRoot
    /// file, a ClientTrustConfig, the cached root, or the embedded production root; see
    /// [`crate::sigstore::trust`]).
    pub fn load(
        chains: &[std::path::PathBuf],
        trust: &crate::sigstore::trust::TrustOptions,
    ) -> Result<Self> {
        if chains.is_empty() {
            let root = crate::sigstore::trust::load_trusted_root_quiet(trust)?;
            return Ok(Self::from_trust_root(&root));
        }
        let mut pems = Vec::with_capacity(chains.len());
        for p in chains {
            // A TSA chain is a few KiB; a bound keeps a wrong path (a device, a model) cheap.
            let pem =
                crate::secret_file::read_input(p, MAX_CHAIN_FILE_BYTES, "TSA certificate chain")?;
            pems.push((p.display().to_string(), pem));
        }
        Self::from_pem_chains(&pems)
    }

    /// The `timestampAuthorities` of a Sigstore trusted root.
    pub fn from_trust_root(root: &crate::sigstore::trust::TrustRoot) -> Self {
        let authorities = root
            .root
            .tsa_authorities()
            .into_iter()
            .map(|inner| {
                let subject = crate::x509::Certificate::from_der(inner.leaf.as_bytes())
                    .map(|c| c.subject())
                    .unwrap_or_else(|_| "an unparsable TSA certificate".into());
                Authority { inner, subject }
            })
            .collect();
        TsaTrust {
            authorities,
            source: format!("the timestamp authorities of the {}", root.source()),
        }
    }

    /// Verifies timestamp number `i` (for messages) over `signature`; returns its genTime and the
    /// subject of the authority that accepted it.
    fn verify(&self, i: usize, token: &[u8], signature: &[u8]) -> Result<(SystemTime, String)> {
        use sigstore_sign::tsa::{verify_timestamp_for_authority, Error as TsaError};
        let which = i + 1;
        if token.len() > MAX_TIMESTAMP_BYTES {
            return Err(Error::Timestamp(format!(
                "timestamp {which} is {} bytes, over the {MAX_TIMESTAMP_BYTES} byte limit",
                token.len()
            )));
        }
        if self.authorities.is_empty() {
            return Err(Error::Timestamp(format!(
                "timestamp {which} cannot be verified: {} lists no time-stamping authority",
                self.source
            )));
        }
        let token = sigstore_types::TimestampToken::new(token.to_vec());
        let sig = sigstore_types::SignatureBytes::new(signature.to_vec());
        // The first failure that is not "signed by another authority" is the one worth telling:
        // with a single trusted TSA that is every failure.
        let mut reason: Option<String> = None;
        for a in &self.authorities {
            match verify_timestamp_for_authority(&token, &sig, &a.inner) {
                Ok(t) => {
                    let secs = t.as_second();
                    let time = if secs >= 0 {
                        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs.unsigned_abs())
                    } else {
                        return Err(Error::Timestamp(format!(
                            "timestamp {which} is dated before 1970"
                        )));
                    };
                    return Ok((time, a.subject.clone()));
                }
                Err(e) => {
                    let wrong_signer = matches!(&e, TsaError::SignatureVerificationError(m)
                        if m.contains("does not match any trusted TSA certificate"));
                    if reason.is_none() && (!wrong_signer || self.authorities.len() == 1) {
                        reason = Some(describe(&e));
                    }
                }
            }
        }
        Err(Error::Timestamp(match reason {
            Some(r) => format!("timestamp {which} does not verify: {r}"),
            None => format!(
                "timestamp {which} was not issued by a trusted time-stamping authority ({} lists {})",
                self.source,
                self.authorities
                    .iter()
                    .map(|a| format!("'{}'", a.subject))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }))
    }
}

/// A one-line reason for a sigstore-tsa failure.
#[cfg(feature = "sigstore")]
fn describe(e: &sigstore_sign::tsa::Error) -> String {
    use sigstore_sign::tsa::Error as TsaError;
    match e {
        TsaError::HashMismatch { .. } => {
            "its message imprint is not the SHA-256 of this signature (it was issued for another \
             signature)"
                .into()
        }
        TsaError::SignatureVerificationError(m)
            if m.contains("does not match any trusted TSA certificate") =>
        {
            "it was not issued by a trusted time-stamping authority".into()
        }
        other => crate::error::one_line(other),
    }
}

/// Requesting timestamps from TSAs while signing.
#[cfg(feature = "sigstore")]
pub mod client {
    use crate::error::{Error, Result};
    use std::time::Duration;

    /// The default time one TSA request may take.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// TSAs to ask, in order, one timestamp each.
    #[derive(Debug, Clone)]
    pub struct TsaClient {
        urls: Vec<url::Url>,
        timeout: Duration,
    }

    impl TsaClient {
        /// Checks every URL before anything is hashed: `https`, or plain `http` to a loopback host
        /// (a local TSA), or any `http` host when `allow_insecure`.
        pub fn new(urls: &[String], timeout: Duration, allow_insecure: bool) -> Result<Self> {
            if urls.len() > super::MAX_TIMESTAMPS {
                return Err(Error::Config(format!(
                    "{} TSA URLs were given, more than the limit of {}",
                    urls.len(),
                    super::MAX_TIMESTAMPS
                )));
            }
            let mut out = Vec::with_capacity(urls.len());
            for raw in urls {
                let shown = crate::sigstore::oidc::display_untrusted(raw);
                use crate::sigstore::oidc::TransportError;
                let url =
                    crate::sigstore::oidc::check_transport(raw, allow_insecure).map_err(|e| {
                        Error::Config(match e {
                            TransportError::NotAUrl(why) => {
                                format!("the TSA URL '{shown}' is not a URL: {why}")
                            }
                            TransportError::Insecure => format!(
                                "the TSA URL '{shown}' is not https; plain http is accepted only \
                                 to a loopback host (127.0.0.0/8, ::1, localhost) unless insecure \
                                 services are explicitly allowed"
                            ),
                        })
                    })?;
                out.push(url);
            }
            Ok(TsaClient { urls: out, timeout })
        }

        /// Whether there is any TSA to ask.
        pub fn is_empty(&self) -> bool {
            self.urls.is_empty()
        }

        /// One DER TimeStampResp per TSA over SHA-256 of `signature`. Each request gets one retry;
        /// any TSA that still fails fails the whole call (a signature promised a timestamp must
        /// not be written without it). The client checks that each answer's imprint and nonce
        /// are those of the request.
        pub fn timestamp(&self, signature: &[u8]) -> Result<Vec<Vec<u8>>> {
            use sigstore_sign::tsa::TimestampClient;
            let http = sigstore_sign::reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.timeout.min(Duration::from_secs(10)))
                .user_agent(concat!("model-signing-rs/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| {
                    Error::Timestamp(format!(
                        "cannot build the HTTP client: {}",
                        crate::error::one_line(&e)
                    ))
                })?;
            let sig = sigstore_types::SignatureBytes::new(signature.to_vec());
            let fail = |url: &url::Url, e: &dyn std::fmt::Display| {
                Error::Timestamp(format!(
                    "TSA ({url}): {}",
                    crate::sigstore::oidc::display_untrusted(&e.to_string())
                ))
            };
            crate::sigstore::oidc::block_on(async {
                let mut out = Vec::with_capacity(self.urls.len());
                for url in &self.urls {
                    let client = TimestampClient::builder(url.as_str())
                        .with_http_client(http.clone())
                        .build()
                        .map_err(|e| fail(url, &e))?;
                    tracing::info!("requesting an RFC 3161 timestamp from {url}");
                    let token = match client.timestamp_signature(&sig).await {
                        Ok(t) => t,
                        Err(first) => {
                            tracing::info!("the TSA at {url} failed ({first}); retrying once");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            client
                                .timestamp_signature(&sig)
                                .await
                                .map_err(|e| fail(url, &e))?
                        }
                    };
                    out.push(token.as_bytes().to_vec());
                }
                Ok(out)
            })
            .map_err(|e| Error::Timestamp(format!("TSA: {}", crate::error::one_line(&e))))?
        }
    }
}
