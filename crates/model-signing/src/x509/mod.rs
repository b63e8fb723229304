//! X.509 certificate parsing and chain validation for the certificate signing method.
//!
//! The Python reference verifies certificate bundles with pyOpenSSL: every certificate of the
//! user's `--certificate-chain` files goes into an `X509Store` as trusted, the bundle's certificates
//! after the leaf are the untrusted chain, the verification time is pinned with `set_time`, and no
//! verification flags are set (in particular no `X509_V_FLAG_PARTIAL_CHAIN`). [`validate_chain`]
//! accepts exactly what OpenSSL 3.0's `X509_verify_cert` accepts with those settings, as far as
//! the rules below go; [`check_signing_usage`] is the extra key-usage check the reference performs
//! on the leaf afterwards.
//!
//! # Rules (mirroring `crypto/x509/x509_vfy.c` and `v3_purp.c`)
//!
//! * **Issuer matching** (`ossl_x509_likely_issued`): the candidate's subject equals the child's
//!   issuer under OpenSSL's name canonicalisation (case-folded ASCII, collapsed white space, string
//!   types unified), an authorityKeyIdentifier of the child does not contradict the candidate's
//!   subjectKeyIdentifier / serial / issuer, and the signature algorithm fits the candidate's key
//!   type. The signature itself must then verify. Trusted candidates are tried first
//!   ("trusted first"); once a trusted certificate is in the path, its issuers must be trusted too.
//!   Candidates valid at `at` are tried before expired ones, as OpenSSL prefers them.
//! * **Trust anchors**: the path must end in a certificate that is byte-identical to an anchor and
//!   *self-signed* in OpenSSL's sense: self-issued, its own authorityKeyIdentifier does not contradict
//!   its subjectKeyIdentifier, and its signature algorithm fits its key. As in OpenSSL the anchor's
//!   own signature is not checked (it is trusted by configuration). A trusted certificate that is not
//!   self-signed (an intermediate given as the only anchor) does not end the path, and without its
//!   issuer the chain fails. A self-issued certificate whose AKID names another key (the
//!   model-transparency test leaf) is therefore not self-signed and path building continues above
//!   it. A self-signed leaf is valid alone if it is itself an anchor.
//! * **Per certificate**: notBefore <= at < notAfter, whole seconds (OpenSSL treats `at == notAfter`
//!   as expired); no unhandled critical extension (OpenSSL's `X509_supported_extension` list, which
//!   notably does *not* include the key identifiers); no malformed basicConstraints, keyUsage (also
//!   not empty), extendedKeyUsage, key identifiers, subjectAltName, nameConstraints, CRL distribution
//!   points or Netscape cert type; no duplicates of those; no proxy certificates.
//! * **Issuers** (`check_extensions`): every certificate above the leaf must be a CA: keyUsage, if
//!   present, includes keyCertSign, and basicConstraints says CA:TRUE. The last certificate of a path
//!   longer than one may instead be a v1 self-signed root, or a v3 certificate without
//!   basicConstraints whose keyUsage allows keyCertSign (`X509_check_ca` returning 3 or 4), or a
//!   Netscape CA. `pathLenConstraint` is enforced, not counting self-issued intermediates. In paths
//!   longer than one, EC keys with explicit curve parameters are rejected.
//! * **Name constraints** of every CA apply to the certificates below it (self-issued intermediates
//!   excepted): directoryName, dNSName, rfc822Name (also subject emailAddress), URI and iPAddress,
//!   with OpenSSL's matching rules; the leaf's commonName is checked as a DNS name when it looks like
//!   one and the leaf has no DNS subjectAltName (OpenSSL 3.0 behaviour). Other name forms under a
//!   constraint of the same form fail, as in OpenSSL.
//! * **Not checked**, as in OpenSSL without flags: extendedKeyUsage / purpose, certificate policies,
//!   revocation, key sizes.
//!
//! # Resource bounds
//!
//! A bundle's chain is validated before its DSSE signature is checked, so whoever hands over a
//! bundle controls the leaf and the intermediates without holding any key. The work is bounded:
//!
//! * certificates over [`MAX_CERTIFICATE_BYTES`] (64 KiB) are refused by [`Certificate::from_der`];
//! * chains with more than [`MAX_CHAIN_CERTIFICATES`] certificates (16, the leaf included) and
//!   more than [`MAX_TRUST_ANCHORS`] anchors (1,000, from the user's own files) are refused;
//! * each (child, issuer) signature is verified at most once per search, and for ECDSA and RSA
//!   each TBSCertificate is hashed once per hash algorithm (the signature is then checked over the
//!   precomputed digest), however many look-alike issuers share a name;
//! * the search stops after 10,000 steps (candidate extensions plus signature checks), and fails
//!   with [`ChainError::Limit`] once it runs past [`PATH_BUILDING_DEADLINE`] (2 s).
//!
//! None of these changes which chains are accepted within the bounds.
//!
//! # Known differences from OpenSSL
//!
//! * When several certificates could issue the same certificate, every candidate is tried and the
//!   chain is accepted if any path is valid; OpenSSL commits to one candidate per step.
//! * Signature algorithms: ECDSA with SHA-256/384/512 on P-256/P-384/P-521 (and secp256k1 with
//!   SHA-256), RSA PKCS#1 v1.5 with SHA-256/384/512 (1024 to 8192-bit keys; 2048-bit minimum for
//!   SHA-384), RSASSA-PSS with SHA-256/384/512 (2048-bit keys or more) when MGF1 uses the same
//!   hash and the salt is as long as the hash or the maximum for the key, and Ed25519. SHA-1
//!   (forgeable with chosen-prefix collisions), SHA-224, MD5, DSA and Ed448 signatures are
//!   rejected, although OpenSSL at its default security settings accepts them.
//! * RFC 3779 (IP address / AS number) extensions are rejected rather than validated; SmtpUTF8Mailbox
//!   names under an rfc822Name constraint are rejected rather than matched.
//! * Certificates must be strict DER (as the Python reference's `cryptography` loader requires) and
//!   their validity dates must not be before 1970.
//! * The resource bounds above (certificate size, chain length, number of anchors, search steps
//!   and time); OpenSSL's own limit is the verify depth of 100, which is kept as well.

use crate::keys::PublicKey;
use const_oid::db::rfc5280;
use sha2::{Digest, Sha256};
use std::time::{Instant, SystemTime};
use thiserror::Error;

mod algorithm;
mod constraints;
mod der;
mod ext;
mod info;
mod name;
mod oid;
mod path;
mod time;

use info::Info;
use oid::KU_DIGITAL_SIGNATURE;
use path::{PathBuilder, Step};
use time::{secs_from_system_time, system_time_from_secs};

pub use time::{format_secs, format_time};

pub use crate::limits::MAX_CERTIFICATE_BYTES;

pub use crate::limits::MAX_CHAIN_CERTIFICATES;

pub use crate::limits::MAX_TRUST_ANCHORS;

pub use crate::limits::PATH_BUILDING_DEADLINE;

/// Errors from certificate parsing, path validation or the signing-usage check.
///
/// Every message is a single line naming the problem and the certificate(s) involved, by subject.
#[derive(Debug, Error)]
pub enum ChainError {
    /// The input is not a certificate we can parse.
    #[error("invalid certificate: {0}")]
    Parse(String),
    /// A PEM input held no `CERTIFICATE` block (or the input was neither PEM nor DER).
    #[error("no certificate found: {0}")]
    NoCertificates(String),
    /// No path from the leaf to a trusted self-signed certificate exists.
    #[error("certificate chain: no trusted root found for '{leaf}' ({reason})")]
    NoTrustedRoot {
        /// Subject of the leaf.
        leaf: String,
        /// What is missing.
        reason: String,
    },
    /// A certificate of the path has expired at the verification time.
    #[error(
        "certificate '{subject}' has expired: valid {not_before} to {not_after}, checked at {at}"
    )]
    Expired {
        /// Subject of the expired certificate.
        subject: String,
        /// notBefore, RFC 3339.
        not_before: String,
        /// notAfter, RFC 3339.
        not_after: String,
        /// Verification time, RFC 3339.
        at: String,
    },
    /// A certificate of the path is not yet valid at the verification time.
    #[error(
        "certificate '{subject}' is not yet valid: valid {not_before} to {not_after}, checked at {at}"
    )]
    NotYetValid {
        /// Subject of the certificate.
        subject: String,
        /// notBefore, RFC 3339.
        not_before: String,
        /// notAfter, RFC 3339.
        not_after: String,
        /// Verification time, RFC 3339.
        at: String,
    },
    /// The signature on a certificate does not verify with its (name-matching) issuer's key.
    #[error("signature on '{subject}' does not verify with issuer '{issuer}'")]
    BadSignature {
        /// Subject of the signed certificate.
        subject: String,
        /// Subject of the issuer tried.
        issuer: String,
    },
    /// The signature on a certificate uses an algorithm this implementation does not verify.
    #[error("signature on '{subject}' uses an unsupported algorithm: {algorithm}")]
    UnsupportedAlgorithm {
        /// Subject of the signed certificate.
        subject: String,
        /// Algorithm name or OID, and why it is not supported.
        algorithm: String,
    },
    /// A certificate that issued another one is not a CA.
    #[error("'{issuer}' is not a CA ({reason}) but issued '{subject}'")]
    NotCa {
        /// Subject of the would-be CA.
        issuer: String,
        /// Subject of the certificate it issued.
        subject: String,
        /// Which rule failed.
        reason: String,
    },
    /// A basicConstraints pathLenConstraint is exceeded.
    #[error(
        "'{issuer}' allows {pathlen} intermediate CA certificate(s) below it (pathlen) but the chain has {below}"
    )]
    PathLength {
        /// Subject of the constraining CA.
        issuer: String,
        /// Its pathLenConstraint.
        pathlen: u64,
        /// Number of non-self-issued intermediates below it.
        below: usize,
    },
    /// A certificate has a critical extension OpenSSL does not process.
    #[error("certificate '{subject}' has an unhandled critical extension {oid}")]
    UnhandledCriticalExtension {
        /// Subject of the certificate.
        subject: String,
        /// The extension's OID.
        oid: String,
    },
    /// A certificate has a malformed or duplicated extension.
    #[error("certificate '{subject}' has an invalid extension: {reason}")]
    InvalidExtension {
        /// Subject of the certificate.
        subject: String,
        /// What is wrong.
        reason: String,
    },
    /// A certificate violates the name constraints of a CA above it.
    #[error("certificate '{subject}' violates the name constraints of '{issuer}': {reason}")]
    NameConstraints {
        /// Subject of the constrained certificate.
        subject: String,
        /// Subject of the CA with the constraints.
        issuer: String,
        /// Which name failed and why.
        reason: String,
    },
    /// A certificate cannot take part in a chain for another reason (proxy certificate, explicit
    /// EC parameters, unsupported key algorithm, RFC 3779 resources).
    #[error("certificate '{subject}' is not acceptable in a certificate chain: {reason}")]
    Unacceptable {
        /// Subject of the certificate.
        subject: String,
        /// Why.
        reason: String,
    },
    /// The leaf has neither KeyUsage digitalSignature nor ExtendedKeyUsage codeSigning.
    #[error(
        "certificate '{subject}' cannot be used for signing: it has neither KeyUsage digitalSignature nor ExtendedKeyUsage codeSigning"
    )]
    NotForSigning {
        /// Subject of the leaf.
        subject: String,
    },
    /// The certificate's public key is not a supported signing key.
    #[error("public key of certificate '{subject}': {reason}")]
    PublicKey {
        /// Subject of the certificate.
        subject: String,
        /// The key loader's error.
        reason: String,
    },
    /// An input or the path search exceeds a resource bound: certificate size
    /// ([`MAX_CERTIFICATE_BYTES`]), chain length ([`MAX_CHAIN_CERTIFICATES`]), number of anchors
    /// ([`MAX_TRUST_ANCHORS`]) or path-building time ([`PATH_BUILDING_DEADLINE`]).
    #[error("{0}")]
    Limit(String),
    /// Any other failure.
    #[error("{0}")]
    Other(String),
}

/// A parsed X.509 certificate with its DER encoding.
#[derive(Clone, Debug)]
pub struct Certificate {
    der: Vec<u8>,
    info: Info,
}

impl Certificate {
    /// Parses one DER certificate (strict DER, as the Python reference's loader).
    ///
    /// Malformed *extensions* do not fail parsing; they make [`validate_chain`] reject the
    /// certificate, the way OpenSSL loads such certificates but refuses to use them. Inputs over
    /// [`MAX_CERTIFICATE_BYTES`] are refused before parsing ([`ChainError::Limit`]).
    pub fn from_der(der: &[u8]) -> Result<Self, ChainError> {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(ChainError::Limit(format!(
                "certificate of {} bytes exceeds the limit of {MAX_CERTIFICATE_BYTES} bytes per certificate",
                der.len()
            )));
        }
        let info = Info::parse(der)?;
        Ok(Certificate {
            der: der.to_vec(),
            info,
        })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject public key, if it is an EC key on a supported curve (P-256, P-384, P-521).
    pub fn public_key(&self) -> Result<PublicKey, ChainError> {
        PublicKey::from_spki_der(&self.info.spki).map_err(|e| ChainError::PublicKey {
            subject: self.subject(),
            reason: e.to_string(),
        })
    }

    /// notBefore and notAfter.
    pub fn validity(&self) -> (SystemTime, SystemTime) {
        (
            system_time_from_secs(self.info.not_before),
            system_time_from_secs(self.info.not_after),
        )
    }

    /// The subject as an RFC 4514 string (most specific attribute first, e.g. `CN=leaf,O=Org`),
    /// for messages; control characters are escaped so it stays on one line.
    pub fn subject(&self) -> String {
        self.info.subject_display.clone()
    }

    /// The issuer name, formatted like [`Self::subject`].
    pub fn issuer(&self) -> String {
        self.info.issuer_display.clone()
    }

    /// SHA-256 of the DER encoding as upper-case hex pairs separated by colons, the format of
    /// `openssl x509 -fingerprint -sha256` and of the Python reference's fingerprint log lines.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(&self.der);
        let pairs: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
        pairs.join(":")
    }

    /// Whether the certificate is self-issued and looks self-signed the way OpenSSL decides it
    /// (names, key identifiers and algorithm agree; the signature itself is not checked).
    pub fn is_self_signed(&self) -> bool {
        self.info.self_signed
    }
}

/// Parses every `CERTIFICATE` (or `X509 CERTIFICATE`) block of a PEM file; a file may hold
/// several and may hold other blocks, which are skipped. Input that does not look like PEM is
/// parsed as one DER certificate. Finding no certificate is an error.
pub fn parse_pem_certificates(pem: &[u8]) -> Result<Vec<Certificate>, ChainError> {
    let looks_like_pem = pem.windows(11).any(|w| w == b"-----BEGIN ");
    if !looks_like_pem {
        // DER certificates start with a SEQUENCE tag; anything else is neither format.
        if pem.first() == Some(&0x30) {
            return Ok(vec![Certificate::from_der(pem)?]);
        }
        return Err(ChainError::NoCertificates(
            "the input is neither PEM nor a DER certificate".into(),
        ));
    }
    let blocks =
        pem::parse_many(pem).map_err(|e| ChainError::Parse(format!("malformed PEM: {e}")))?;
    let mut certs = Vec::new();
    for block in &blocks {
        if block.tag() == "CERTIFICATE" || block.tag() == "X509 CERTIFICATE" {
            certs.push(Certificate::from_der(block.contents())?);
        }
    }
    if certs.is_empty() {
        return Err(ChainError::NoCertificates(
            "the PEM input has no CERTIFICATE block".into(),
        ));
    }
    Ok(certs)
}

/// Validates `leaf` up to a trusted self-signed certificate among `anchors`, through
/// `intermediates`, at time `at`, accepting what OpenSSL's `X509_verify_cert` accepts with the
/// Python reference's settings (see the module documentation).
///
/// This does not check that the leaf may sign; call [`check_signing_usage`] as well.
///
/// The work is bounded: more than `MAX_CHAIN_CERTIFICATES - 1` intermediates or more than
/// [`MAX_TRUST_ANCHORS`] anchors are refused up front, and a path search that runs past
/// [`PATH_BUILDING_DEADLINE`] fails; all three with [`ChainError::Limit`].
pub fn validate_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
) -> Result<(), ChainError> {
    let deadline = Instant::now() + PATH_BUILDING_DEADLINE;
    validate_chain_until(leaf, intermediates, anchors, at, deadline)
}

/// [`validate_chain`] with an explicit path-building deadline, for a caller that validates one
/// chain more than once (at two times) within one time budget.
pub(crate) fn validate_chain_until(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
    deadline: Instant,
) -> Result<(), ChainError> {
    if intermediates.len() > MAX_CHAIN_CERTIFICATES - 1 {
        return Err(too_many_intermediates(intermediates.len()));
    }
    if anchors.len() > MAX_TRUST_ANCHORS {
        return Err(ChainError::Limit(format!(
            "{} trust anchors were given, more than the limit of {MAX_TRUST_ANCHORS}",
            anchors.len()
        )));
    }
    let mut builder = PathBuilder::new(
        leaf,
        intermediates,
        anchors,
        secs_from_system_time(at),
        deadline,
    );
    let mut path = vec![Step {
        node: 0,
        trusted_phase: false,
    }];
    if builder.extend(&mut path) {
        return Ok(());
    }
    if builder.timed_out {
        return Err(ChainError::Limit(format!(
            "certificate path building exceeded the time limit of {} s ({} steps among {} certificates); the chain is refused",
            PATH_BUILDING_DEADLINE.as_secs_f64(),
            builder.steps,
            builder.certs.len()
        )));
    }
    Err(builder
        .best
        .map(|(_, e)| e)
        .unwrap_or_else(|| ChainError::NoTrustedRoot {
            leaf: leaf.subject(),
            reason: "no candidate path".into(),
        }))
}

/// The error for a chain with `count` intermediates, more than `MAX_CHAIN_CERTIFICATES - 1`.
pub(crate) fn too_many_intermediates(count: usize) -> ChainError {
    ChainError::Limit(format!(
        "the certificate chain has {count} intermediate certificates, more than the limit of {} (at most {MAX_CHAIN_CERTIFICATES} certificates with the leaf)",
        MAX_CHAIN_CERTIFICATES - 1
    ))
}

/// Checks that the leaf may sign models: KeyUsage with digitalSignature, or else
/// ExtendedKeyUsage with codeSigning (1.3.6.1.5.5.7.3.3). A missing extension counts as not
/// granting the usage.
///
/// This is the Python reference's rule (1.1.1, `sign_certificate.py`): a leaf without a
/// KeyUsage extension passes if its ExtendedKeyUsage has codeSigning (Python logs "Certificate
/// does not specify 'KeyUsage'" and succeeds); only a leaf that gets the usage from neither
/// extension is refused.
pub fn check_signing_usage(leaf: &Certificate) -> Result<(), ChainError> {
    let exts = &leaf.info.exts;
    if let Some(reason) = &exts.invalid {
        return Err(ChainError::InvalidExtension {
            subject: leaf.subject(),
            reason: reason.clone(),
        });
    }
    if exts
        .key_usage
        .is_some_and(|ku| ku & KU_DIGITAL_SIGNATURE != 0)
    {
        return Ok(());
    }
    if let Some(eku) = &exts.ext_key_usage {
        if eku
            .iter()
            .any(|oid| oid.as_slice() == rfc5280::ID_KP_CODE_SIGNING.as_bytes())
        {
            return Ok(());
        }
    }
    Err(ChainError::NotForSigning {
        subject: leaf.subject(),
    })
}

#[cfg(test)]
mod tests;
