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
use aws_lc_rs::digest;
use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use der::Decode;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Largest DER certificate accepted, in bytes (64 KiB).
///
/// Real certificates are 1-10 KB (a Fulcio leaf with its SCTs is about 2 KB; an RSA-8192 CA with
/// long policies stays well under 16 KB). The bound exists because the signature check of a
/// certificate hashes its whole TBSCertificate: without it, a bundle could carry a leaf with a
/// 20 MB extension and make every issuer candidate re-hash it, before any key is checked.
/// [`Certificate::from_der`] refuses larger inputs; the bundle reader uses it to refuse oversized
/// bundles early.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

/// Largest number of certificates a bundle's chain may hold: the leaf plus at most 15
/// intermediates.
///
/// Real chains are a leaf and one to three intermediates. Together with
/// [`MAX_CERTIFICATE_BYTES`] this bounds what an unauthenticated bundle can make path building do
/// (at most 16 x 16 untrusted signature checks of at most 64 KiB each). [`validate_chain`] refuses
/// more than `MAX_CHAIN_CERTIFICATES - 1` intermediates; the bundle reader uses it to refuse
/// oversized bundles early.
pub const MAX_CHAIN_CERTIFICATES: usize = 16;

/// Largest number of trust anchors [`validate_chain`] accepts.
///
/// Anchors come from the user's own `--certificate-chain` files, not from the bundle, so the bound
/// is generous: a system CA bundle holds about 150 roots. It only keeps the path search (which
/// scans the anchors for issuers at every step) bounded whatever file is passed.
pub const MAX_TRUST_ANCHORS: usize = 1_000;

/// Wall-clock budget of one path search in [`validate_chain`], on top of its step budget.
///
/// Real chains are built in well under a millisecond; the step budget (10,000 path extensions and
/// signature checks) already bounds look-alike meshes, and this deadline caps the cost of whatever
/// the step count does not capture (slow RSA-8192 checks, a loaded machine). Exceeding it fails
/// validation with [`ChainError::Limit`].
pub const PATH_BUILDING_DEADLINE: Duration = Duration::from_secs(2);

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
            .any(|oid| oid.as_slice() == OID_EKU_CODE_SIGNING.as_bytes())
        {
            return Ok(());
        }
    }
    Err(ChainError::NotForSigning {
        subject: leaf.subject(),
    })
}

/// Formats a time as RFC 3339 UTC with second precision, e.g. `2025-05-02T23:36:28Z`.
pub fn format_time(t: SystemTime) -> String {
    format_secs(secs_from_system_time(t))
}

// ---------------------------------------------------------------------------------------------
// Time helpers

fn secs_from_system_time(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            // Round towards the past so that a time just before the epoch is second -1.
            let d = e.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            let extra = i64::from(d.subsec_nanos() > 0);
            whole.saturating_neg().saturating_sub(extra)
        }
    }
}

fn system_time_from_secs(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(secs.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

/// Formats Unix seconds as RFC 3339 UTC (`2025-05-02T23:36:28Z`).
pub fn format_secs(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

// ---------------------------------------------------------------------------------------------
// Minimal DER reader. x509-cert validates the certificate as a whole; extension contents and raw
// names are read here so that they can be handled with OpenSSL's (sometimes lenient) semantics.

#[derive(Debug)]
struct DerError;

#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    value: &'a [u8],
    raw: &'a [u8],
}

struct DerReader<'a> {
    rest: &'a [u8],
}

impl<'a> DerReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        DerReader { rest: data }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let input = self.rest;
        let tag = *input.first().ok_or(DerError)?;
        if tag & 0x1f == 0x1f {
            return Err(DerError); // high tag numbers do not occur in the structures read here
        }
        let first = *input.get(1).ok_or(DerError)?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2usize)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(DerError);
            }
            let bytes = input.get(2..2 + n).ok_or(DerError)?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        };
        let end = header.checked_add(len).ok_or(DerError)?;
        let raw = input.get(..end).ok_or(DerError)?;
        let value = raw.get(header..).ok_or(DerError)?;
        self.rest = input.get(end..).ok_or(DerError)?;
        Ok(Tlv { tag, value, raw })
    }

    fn read_tag(&mut self, tag: u8) -> Result<Tlv<'a>, DerError> {
        let tlv = self.read()?;
        if tlv.tag != tag {
            return Err(DerError);
        }
        Ok(tlv)
    }

    fn read_optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Reads exactly one TLV with `tag` spanning all of `data`.
fn single(data: &[u8], tag: u8) -> Result<Tlv<'_>, DerError> {
    let mut r = DerReader::new(data);
    let tlv = r.read_tag(tag)?;
    if !r.is_empty() {
        return Err(DerError);
    }
    Ok(tlv)
}

fn encode_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

const TAG_BOOLEAN: u8 = 0x01;
const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_UTF8: u8 = 0x0c;
const TAG_NUMERIC: u8 = 0x12;
const TAG_PRINTABLE: u8 = 0x13;
const TAG_T61: u8 = 0x14;
const TAG_IA5: u8 = 0x16;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_VISIBLE: u8 = 0x1a;
const TAG_UNIVERSAL: u8 = 0x1c;
const TAG_BMP: u8 = 0x1e;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;

/// Content of a BIT STRING with no unused bits (signatures, keys).
fn bit_string_bytes(value: &[u8]) -> Option<&[u8]> {
    match value.split_first() {
        Some((0, rest)) => Some(rest),
        _ => None,
    }
}

/// The first two data bytes of a BIT STRING with unused bits cleared, as OpenSSL reads flag
/// strings (keyUsage, Netscape cert type).
fn bit_string_flags(value: &[u8]) -> Result<(Option<u8>, Option<u8>), DerError> {
    let (unused, data) = value.split_first().ok_or(DerError)?;
    if *unused > 7 || (data.is_empty() && *unused != 0) {
        return Err(DerError);
    }
    let mut bytes: Vec<u8> = data.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last &= 0xffu8 << unused;
    }
    Ok((bytes.first().copied(), bytes.get(1).copied()))
}

/// Removes redundant leading sign bytes so that equal integers compare equal.
fn normalize_integer(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes;
    while let [first, second, ..] = b {
        let redundant =
            (*first == 0 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0);
        if !redundant {
            break;
        }
        b = b.get(1..).unwrap_or(&[]);
    }
    b.to_vec()
}

/// Value of a non-negative INTEGER; `Err` for negative values, `Ok(None)` for values too large
/// for OpenSSL's `long` (OpenSSL then ignores them).
fn integer_u64(bytes: &[u8]) -> Result<Option<u64>, DerError> {
    let first = *bytes.first().ok_or(DerError)?;
    if first & 0x80 != 0 {
        return Err(DerError);
    }
    let n = normalize_integer(bytes);
    let n = n.strip_prefix(&[0u8]).unwrap_or(&n);
    if n.len() > 8 {
        return Ok(None);
    }
    let v = n.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Ok((v <= i64::MAX as u64).then_some(v))
}

fn oid_string(raw: &[u8]) -> String {
    ObjectIdentifier::from_bytes(raw)
        .map(|o| o.to_string())
        .unwrap_or_else(|_| format!("(malformed OID {})", hex::encode(raw)))
}

// ---------------------------------------------------------------------------------------------
// OIDs

const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_NAME_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.30");
const OID_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_CRL_DIST_POINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
const OID_CERT_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
const OID_POLICY_MAPPINGS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.33");
const OID_POLICY_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.36");
const OID_INHIBIT_ANY_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.54");
const OID_NETSCAPE_CERT_TYPE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.113730.1.1");
const OID_IP_ADDR_BLOCKS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.7");
const OID_AS_IDS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.8");
const OID_PROXY_CERT_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.14");
const OID_OCSP_NO_CHECK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");
const OID_EKU_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const OID_SMTP_UTF8_MAILBOX: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.8.9");

const OID_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_EMAIL_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");
const OID_X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const OID_X448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.111");
const OID_DSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.1");
const OID_DH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.3.1");
const OID_DHX: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10046.2.1");

const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_SECP256K1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.10");

const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

const KU_DIGITAL_SIGNATURE: u16 = 0x0080;
const KU_KEY_CERT_SIGN: u16 = 0x0004;
/// Netscape SSL CA, S/MIME CA and object-signing CA bits.
const NS_ANY_CA: u8 = 0x07;

fn oid_eq(raw: &[u8], oid: &ObjectIdentifier) -> bool {
    raw == oid.as_bytes()
}

// ---------------------------------------------------------------------------------------------
// Algorithms

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyType {
    Rsa,
    RsaPss,
    Ec,
    Ed25519,
    Ed448,
    Dsa,
    X25519,
    X448,
    Dh,
    Unknown,
}

fn key_type(oid: &[u8]) -> KeyType {
    let table = [
        (&OID_RSA_ENCRYPTION, KeyType::Rsa),
        (&OID_RSASSA_PSS, KeyType::RsaPss),
        (&OID_EC_PUBLIC_KEY, KeyType::Ec),
        (&OID_ED25519, KeyType::Ed25519),
        (&OID_ED448, KeyType::Ed448),
        (&OID_DSA, KeyType::Dsa),
        (&OID_X25519, KeyType::X25519),
        (&OID_X448, KeyType::X448),
        (&OID_DH, KeyType::Dh),
        (&OID_DHX, KeyType::Dh),
    ];
    table
        .iter()
        .find(|(o, _)| oid_eq(oid, o))
        .map_or(KeyType::Unknown, |(_, t)| *t)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    fn len(self) -> u64 {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }

    fn digest(self, data: &[u8]) -> digest::Digest {
        let alg = match self {
            HashAlg::Sha256 => &digest::SHA256,
            HashAlg::Sha384 => &digest::SHA384,
            HashAlg::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data)
    }

    fn from_oid(oid: &[u8]) -> Option<Self> {
        if oid_eq(oid, &OID_SHA256) {
            Some(HashAlg::Sha256)
        } else if oid_eq(oid, &OID_SHA384) {
            Some(HashAlg::Sha384)
        } else if oid_eq(oid, &OID_SHA512) {
            Some(HashAlg::Sha512)
        } else {
            None
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum SigAlg {
    Ecdsa(HashAlg),
    RsaPkcs1(HashAlg),
    RsaPss,
    Ed25519,
    /// Known to OpenSSL (so it takes part in issuer matching) but not verified here.
    Unsupported(&'static str, KeyType),
}

impl SigAlg {
    fn from_oid(oid: &[u8]) -> Option<Self> {
        let s = ObjectIdentifier::from_bytes(oid).ok()?.to_string();
        Some(match s.as_str() {
            "1.2.840.10045.4.3.2" => SigAlg::Ecdsa(HashAlg::Sha256),
            "1.2.840.10045.4.3.3" => SigAlg::Ecdsa(HashAlg::Sha384),
            "1.2.840.10045.4.3.4" => SigAlg::Ecdsa(HashAlg::Sha512),
            "1.2.840.113549.1.1.11" => SigAlg::RsaPkcs1(HashAlg::Sha256),
            "1.2.840.113549.1.1.12" => SigAlg::RsaPkcs1(HashAlg::Sha384),
            "1.2.840.113549.1.1.13" => SigAlg::RsaPkcs1(HashAlg::Sha512),
            "1.2.840.113549.1.1.10" => SigAlg::RsaPss,
            "1.3.101.112" => SigAlg::Ed25519,
            "1.2.840.10045.4.1" => SigAlg::Unsupported("ecdsa-with-SHA1", KeyType::Ec),
            "1.2.840.10045.4.3.1" => SigAlg::Unsupported("ecdsa-with-SHA224", KeyType::Ec),
            "1.2.840.113549.1.1.4" => SigAlg::Unsupported("md5WithRSAEncryption", KeyType::Rsa),
            "1.2.840.113549.1.1.5" => SigAlg::Unsupported("sha1WithRSAEncryption", KeyType::Rsa),
            "1.2.840.113549.1.1.14" => SigAlg::Unsupported("sha224WithRSAEncryption", KeyType::Rsa),
            "1.3.101.113" => SigAlg::Unsupported("Ed448", KeyType::Ed448),
            "1.2.840.10040.4.3" => SigAlg::Unsupported("dsa-with-SHA1", KeyType::Dsa),
            "2.16.840.1.101.3.4.3.1" => SigAlg::Unsupported("dsa-with-SHA224", KeyType::Dsa),
            "2.16.840.1.101.3.4.3.2" => SigAlg::Unsupported("dsa-with-SHA256", KeyType::Dsa),
            _ => return None,
        })
    }

    /// OpenSSL's `check_sig_alg_match`: may a key of type `key` have made this signature?
    fn fits_key(self, key: KeyType) -> bool {
        match self {
            SigAlg::Ecdsa(_) => key == KeyType::Ec,
            SigAlg::RsaPkcs1(_) => key == KeyType::Rsa,
            SigAlg::RsaPss => key == KeyType::Rsa || key == KeyType::RsaPss,
            SigAlg::Ed25519 => key == KeyType::Ed25519,
            SigAlg::Unsupported(_, k) => key == k,
        }
    }
}

#[derive(Clone, Debug)]
enum SigFailure {
    Mismatch,
    Unsupported(String),
}

/// Hash and salt length of RSASSA-PSS parameters with MGF1 over the same hash and trailer
/// field 1 (the only combinations aws-lc-rs verifies).
fn pss_params(params: Option<&[u8]>) -> Result<(HashAlg, u64), String> {
    let unsupported = |what: &str| format!("RSASSA-PSS with {what}");
    let params = params.ok_or_else(|| unsupported("absent parameters"))?;
    let seq = single(params, TAG_SEQUENCE).map_err(|_| unsupported("malformed parameters"))?;
    let mut r = DerReader::new(seq.value);
    let malformed = |_| unsupported("malformed parameters");
    let hash_alg = r.read_optional(0xa0).map_err(malformed)?;
    let mgf = r.read_optional(0xa1).map_err(malformed)?;
    let salt = r.read_optional(0xa2).map_err(malformed)?;
    let trailer = r.read_optional(0xa3).map_err(malformed)?;
    if !r.is_empty() {
        return Err(unsupported("malformed parameters"));
    }
    let hash = match hash_alg {
        None => return Err(unsupported("SHA-1")),
        Some(t) => {
            let (oid, _) = alg_id(t.value).map_err(malformed)?;
            HashAlg::from_oid(oid)
                .ok_or_else(|| unsupported(&format!("hash {}", oid_string(oid))))?
        }
    };
    let mgf_ok = match mgf {
        None => false,
        Some(t) => {
            let (oid, p) = alg_id(t.value).map_err(malformed)?;
            let inner = p.and_then(|p| alg_id(p.raw).ok());
            oid_eq(oid, &OID_MGF1) && inner.and_then(|(h, _)| HashAlg::from_oid(h)) == Some(hash)
        }
    };
    if !mgf_ok {
        return Err(unsupported(
            "an MGF other than MGF1 with the signature hash",
        ));
    }
    let salt_len = match salt {
        None => Some(20),
        Some(t) => single(t.value, TAG_INTEGER)
            .ok()
            .and_then(|i| integer_u64(i.value).ok().flatten()),
    };
    let salt_len = salt_len.ok_or_else(|| unsupported("a malformed salt length"))?;
    if let Some(t) = trailer {
        let v = single(t.value, TAG_INTEGER)
            .ok()
            .and_then(|i| integer_u64(i.value).ok().flatten());
        if v != Some(1) {
            return Err(unsupported("a trailer field other than 1"));
        }
    }
    Ok((hash, salt_len))
}

/// Splits an AlgorithmIdentifier TLV into its OID and optional parameters.
fn alg_id(raw: &[u8]) -> Result<(&[u8], Option<Tlv<'_>>), DerError> {
    let seq = single(raw, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    let oid = r.read_tag(TAG_OID)?;
    let params = if r.is_empty() { None } else { Some(r.read()?) };
    if !r.is_empty() {
        return Err(DerError);
    }
    Ok((oid.value, params))
}

/// Verifies that `issuer`'s key made the signature on `child`, as OpenSSL's `X509_verify`.
/// Verifies the signature on `child` with `issuer`'s key.
///
/// `digest_of(hash)` must return the `hash` digest of `child.tbs`. ECDSA and RSA signatures are
/// verified over that precomputed digest (aws-lc-rs `verify_digest`, which checks that the
/// digest's algorithm is the verifier's), so that [`PathBuilder`] hashes each TBSCertificate once
/// per hash algorithm however many look-alike issuers it tries. Ed25519 (PureEdDSA) signs the
/// message itself and has no prehashed form; those checks hash the TBSCertificate each time,
/// which the per-pair memo of [`PathBuilder`] and [`MAX_CERTIFICATE_BYTES`] bound.
fn verify_signed_by(
    child: &Info,
    issuer: &Info,
    digest_of: &mut dyn FnMut(HashAlg) -> digest::Digest,
) -> Result<(), SigFailure> {
    // X509_verify refuses certificates whose two signature algorithm fields differ.
    if child.sig_alg_raw != child.tbs_sig_alg_raw {
        return Err(SigFailure::Mismatch);
    }
    let signature = child.signature.as_deref().ok_or(SigFailure::Mismatch)?;
    let alg = SigAlg::from_oid(&child.sig_oid)
        .ok_or_else(|| SigFailure::Unsupported(format!("OID {}", oid_string(&child.sig_oid))))?;
    if !alg.fits_key(issuer.key_type) {
        return Err(SigFailure::Mismatch);
    }
    let key_bits = issuer.key_bits.as_deref().ok_or(SigFailure::Mismatch)?;
    let (verifier, prehash): (&'static dyn VerificationAlgorithm, Option<HashAlg>) = match alg {
        SigAlg::Ecdsa(hash) => {
            let curve = issuer
                .key_params
                .as_deref()
                .and_then(|p| single(p, TAG_OID).ok())
                .map(|t| t.value)
                .ok_or(SigFailure::Mismatch)?;
            let verifier = ecdsa_algorithm(curve, hash).ok_or_else(|| {
                SigFailure::Unsupported(format!(
                    "ECDSA on curve {} with {hash:?}",
                    oid_string(curve)
                ))
            })?;
            (verifier, Some(hash))
        }
        SigAlg::RsaPkcs1(hash) => {
            let verifier: &'static dyn VerificationAlgorithm = match hash {
                HashAlg::Sha256 => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                HashAlg::Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                HashAlg::Sha512 => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            };
            (verifier, Some(hash))
        }
        SigAlg::RsaPss => {
            let (hash, salt) =
                pss_params(child.sig_params.as_deref()).map_err(SigFailure::Unsupported)?;
            (pss_algorithm(hash, salt, key_bits)?, Some(hash))
        }
        SigAlg::Ed25519 => {
            // OpenSSL requires absent parameters for EdDSA.
            if child.sig_params.is_some() {
                return Err(SigFailure::Mismatch);
            }
            (&sig::ED25519, None)
        }
        SigAlg::Unsupported(name, _) => return Err(SigFailure::Unsupported(name.to_string())),
    };
    let key = UnparsedPublicKey::new(verifier, key_bits);
    match prehash {
        Some(hash) => key.verify_digest(&digest_of(hash), signature),
        None => key.verify(&child.tbs, signature),
    }
    .map_err(|_| SigFailure::Mismatch)
}

const RSA_PSS_SHA256_MAX_SALT: sig::RsaParameters =
    sig::RSA_PSS_2048_8192_SHA256.with_pss_salt_length(sig::RsaPssSaltLength::Max);
const RSA_PSS_SHA384_MAX_SALT: sig::RsaParameters =
    sig::RSA_PSS_2048_8192_SHA384.with_pss_salt_length(sig::RsaPssSaltLength::Max);
const RSA_PSS_SHA512_MAX_SALT: sig::RsaParameters =
    sig::RSA_PSS_2048_8192_SHA512.with_pss_salt_length(sig::RsaPssSaltLength::Max);

/// aws-lc-rs verifies PSS with a salt as long as the hash (the usual choice) or the maximal salt
/// for the key (OpenSSL's default when signing); other lengths are not supported.
fn pss_algorithm(
    hash: HashAlg,
    salt: u64,
    rsa_public_key: &[u8],
) -> Result<&'static dyn VerificationAlgorithm, SigFailure> {
    if salt == hash.len() {
        return Ok(match hash {
            HashAlg::Sha256 => &sig::RSA_PSS_2048_8192_SHA256,
            HashAlg::Sha384 => &sig::RSA_PSS_2048_8192_SHA384,
            HashAlg::Sha512 => &sig::RSA_PSS_2048_8192_SHA512,
        });
    }
    let bits =
        sig::RsaParameters::public_modulus_len(rsa_public_key).map_err(|_| SigFailure::Mismatch)?;
    // RFC 8017: emLen = ceil((modBits - 1) / 8); the largest salt is emLen - hLen - 2.
    let em_len = (u64::from(bits) + 6) / 8;
    if em_len.checked_sub(hash.len() + 2) == Some(salt) {
        return Ok(match hash {
            HashAlg::Sha256 => &RSA_PSS_SHA256_MAX_SALT,
            HashAlg::Sha384 => &RSA_PSS_SHA384_MAX_SALT,
            HashAlg::Sha512 => &RSA_PSS_SHA512_MAX_SALT,
        });
    }
    Err(SigFailure::Unsupported(format!(
        "RSASSA-PSS with a {salt}-byte salt (only the hash length or the maximum are supported)"
    )))
}

fn ecdsa_algorithm(curve: &[u8], hash: HashAlg) -> Option<&'static dyn VerificationAlgorithm> {
    let alg: &'static dyn VerificationAlgorithm = if oid_eq(curve, &OID_P256) {
        match hash {
            HashAlg::Sha256 => &sig::ECDSA_P256_SHA256_ASN1,
            HashAlg::Sha384 => &sig::ECDSA_P256_SHA384_ASN1,
            HashAlg::Sha512 => &sig::ECDSA_P256_SHA512_ASN1,
        }
    } else if oid_eq(curve, &OID_P384) {
        match hash {
            HashAlg::Sha256 => &sig::ECDSA_P384_SHA256_ASN1,
            HashAlg::Sha384 => &sig::ECDSA_P384_SHA384_ASN1,
            HashAlg::Sha512 => &sig::ECDSA_P384_SHA512_ASN1,
        }
    } else if oid_eq(curve, &OID_P521) {
        match hash {
            HashAlg::Sha256 => &sig::ECDSA_P521_SHA256_ASN1,
            HashAlg::Sha384 => &sig::ECDSA_P521_SHA384_ASN1,
            HashAlg::Sha512 => &sig::ECDSA_P521_SHA512_ASN1,
        }
    } else if oid_eq(curve, &OID_SECP256K1) && hash == HashAlg::Sha256 {
        &sig::ECDSA_P256K1_SHA256_ASN1
    } else {
        return None;
    };
    Some(alg)
}

// ---------------------------------------------------------------------------------------------
// Names

/// One attribute of a subject name, kept for name-constraint checks.
#[derive(Clone, Debug)]
struct Attr {
    oid: Vec<u8>,
    tag: u8,
    value: Vec<u8>,
}

/// A string attribute's value as UTF-8 bytes, as `ASN1_STRING_to_UTF8`. Surrogates from
/// BMPString are encoded as OpenSSL does, so the result is bytes rather than `str`.
fn string_to_utf8(tag: u8, value: &[u8]) -> Option<Vec<u8>> {
    match tag {
        TAG_UTF8 => std::str::from_utf8(value)
            .ok()
            .map(|s| s.as_bytes().to_vec()),
        TAG_NUMERIC | TAG_PRINTABLE | TAG_T61 | TAG_IA5 | TAG_UTC_TIME | TAG_GENERALIZED_TIME
        | TAG_VISIBLE => {
            let mut out = Vec::with_capacity(value.len());
            for b in value {
                push_utf8(&mut out, u32::from(*b));
            }
            Some(out)
        }
        TAG_BMP => {
            if value.len() % 2 != 0 {
                return None;
            }
            let mut out = Vec::new();
            for c in value.chunks_exact(2) {
                let (hi, lo) = (c.first().copied()?, c.get(1).copied()?);
                push_utf8(&mut out, (u32::from(hi) << 8) | u32::from(lo));
            }
            Some(out)
        }
        TAG_UNIVERSAL => {
            if value.len() % 4 != 0 {
                return None;
            }
            let mut out = Vec::new();
            for c in value.chunks_exact(4) {
                let v = c.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
                if v > 0x10ffff {
                    return None;
                }
                push_utf8(&mut out, v);
            }
            Some(out)
        }
        _ => None,
    }
}

fn push_utf8(out: &mut Vec<u8>, v: u32) {
    // Explicit encoding (not `char`) because OpenSSL also encodes UTF-16 surrogate values.
    if v < 0x80 {
        out.push(v as u8);
    } else if v < 0x800 {
        out.push(0xc0 | (v >> 6) as u8);
        out.push(0x80 | (v & 0x3f) as u8);
    } else if v < 0x10000 {
        out.push(0xe0 | (v >> 12) as u8);
        out.push(0x80 | ((v >> 6) & 0x3f) as u8);
        out.push(0x80 | (v & 0x3f) as u8);
    } else {
        out.push(0xf0 | (v >> 18) as u8);
        out.push(0x80 | ((v >> 12) & 0x3f) as u8);
        out.push(0x80 | ((v >> 6) & 0x3f) as u8);
        out.push(0x80 | (v & 0x3f) as u8);
    }
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// OpenSSL's `asn1_string_canon`: trim, collapse runs of white space, lower-case ASCII.
fn canon_text(utf8: &[u8]) -> Vec<u8> {
    let start = utf8
        .iter()
        .position(|b| !is_c_space(*b))
        .unwrap_or(utf8.len());
    let end = utf8
        .iter()
        .rposition(|b| !is_c_space(*b))
        .map_or(start, |e| e + 1);
    let trimmed = utf8.get(start..end).unwrap_or(&[]);
    let mut out = Vec::with_capacity(trimmed.len());
    let mut in_space = false;
    for &b in trimmed {
        if b >= 0x80 {
            out.push(b);
            in_space = false;
        } else if is_c_space(b) {
            if !in_space {
                out.push(b' ');
            }
            in_space = true;
        } else {
            out.push(b.to_ascii_lowercase());
            in_space = false;
        }
    }
    out
}

/// OpenSSL's canonical encoding of a Name (`x509_name_canon`): each RDN as a DER SET of
/// canonicalised entries, concatenated without the outer SEQUENCE header. Equality of these
/// encodings is `X509_NAME_cmp() == 0`; a byte prefix is a directoryName constraint match.
/// Also returns the attributes, in order.
fn canonical_name(name_raw: &[u8]) -> Result<(Vec<u8>, Vec<Attr>), DerError> {
    let seq = single(name_raw, TAG_SEQUENCE)?;
    let mut rdns = DerReader::new(seq.value);
    let mut canon = Vec::new();
    let mut attrs = Vec::new();
    while !rdns.is_empty() {
        let set = rdns.read_tag(TAG_SET)?;
        let mut entries = DerReader::new(set.value);
        let mut encoded: Vec<Vec<u8>> = Vec::new();
        while !entries.is_empty() {
            let atv = entries.read_tag(TAG_SEQUENCE)?;
            let mut r = DerReader::new(atv.value);
            let oid = r.read_tag(TAG_OID)?;
            let value = r.read()?;
            if !r.is_empty() {
                return Err(DerError);
            }
            let canonical_value = match value.tag {
                TAG_UTF8 | TAG_BMP | TAG_UNIVERSAL | TAG_PRINTABLE | TAG_T61 | TAG_IA5
                | TAG_VISIBLE => {
                    let utf8 = string_to_utf8(value.tag, value.value).ok_or(DerError)?;
                    encode_tlv(TAG_UTF8, &canon_text(&utf8))
                }
                _ => value.raw.to_vec(),
            };
            let mut entry = oid.raw.to_vec();
            entry.extend_from_slice(&canonical_value);
            encoded.push(encode_tlv(TAG_SEQUENCE, &entry));
            attrs.push(Attr {
                oid: oid.value.to_vec(),
                tag: value.tag,
                value: value.value.to_vec(),
            });
        }
        if encoded.is_empty() {
            continue;
        }
        // DER SET OF order, as OpenSSL's encoder sorts.
        encoded.sort();
        canon.extend_from_slice(&encode_tlv(TAG_SET, &encoded.concat()));
    }
    Ok((canon, attrs))
}

fn display_name(name: &x509_cert::name::Name) -> String {
    let s = name.to_string();
    if s.is_empty() {
        return "(empty name)".into();
    }
    // RFC 4514 escapes most control characters; make sure nothing can break the line.
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Extensions

#[derive(Clone, Debug)]
enum GeneralName {
    Other(Vec<u8>),
    Email(Vec<u8>),
    Dns(Vec<u8>),
    X400,
    Dir(Vec<u8>),
    EdiParty,
    Uri(Vec<u8>),
    Ip(Vec<u8>),
    RegisteredId,
}

impl GeneralName {
    fn kind(&self) -> u8 {
        match self {
            GeneralName::Other(_) => 0,
            GeneralName::Email(_) => 1,
            GeneralName::Dns(_) => 2,
            GeneralName::X400 => 3,
            GeneralName::Dir(_) => 4,
            GeneralName::EdiParty => 5,
            GeneralName::Uri(_) => 6,
            GeneralName::Ip(_) => 7,
            GeneralName::RegisteredId => 8,
        }
    }

    fn parse(tlv: Tlv<'_>) -> Result<Self, DerError> {
        Ok(match tlv.tag {
            0xa0 => {
                let mut r = DerReader::new(tlv.value);
                let oid = r.read_tag(TAG_OID)?;
                r.read_tag(0xa0)?;
                if !r.is_empty() {
                    return Err(DerError);
                }
                GeneralName::Other(oid.value.to_vec())
            }
            0x81 => GeneralName::Email(tlv.value.to_vec()),
            0x82 => GeneralName::Dns(tlv.value.to_vec()),
            0xa3 => GeneralName::X400,
            0xa4 => {
                let inner = single(tlv.value, TAG_SEQUENCE)?;
                GeneralName::Dir(canonical_name(inner.raw)?.0)
            }
            0xa5 => GeneralName::EdiParty,
            0x86 => GeneralName::Uri(tlv.value.to_vec()),
            0x87 => GeneralName::Ip(tlv.value.to_vec()),
            0x88 => GeneralName::RegisteredId,
            _ => return Err(DerError),
        })
    }

    fn describe(&self) -> String {
        let text = |b: &[u8]| String::from_utf8_lossy(b).escape_debug().to_string();
        match self {
            GeneralName::Other(oid) => format!("otherName {}", oid_string(oid)),
            GeneralName::Email(v) => format!("email '{}'", text(v)),
            GeneralName::Dns(v) => format!("DNS name '{}'", text(v)),
            GeneralName::X400 => "x400Address".into(),
            GeneralName::Dir(_) => "directory name".into(),
            GeneralName::EdiParty => "ediPartyName".into(),
            GeneralName::Uri(v) => format!("URI '{}'", text(v)),
            GeneralName::Ip(v) => format!("IP address {}", hex::encode(v)),
            GeneralName::RegisteredId => "registeredID".into(),
        }
    }
}

fn parse_general_names(content: &[u8]) -> Result<Vec<GeneralName>, DerError> {
    let mut r = DerReader::new(content);
    let mut names = Vec::new();
    while !r.is_empty() {
        names.push(GeneralName::parse(r.read()?)?);
    }
    Ok(names)
}

#[derive(Clone, Debug)]
struct Subtree {
    base: GeneralName,
    /// `nc_minmax_valid`: minimum absent or 0 and maximum absent.
    minmax_ok: bool,
}

#[derive(Clone, Debug, Default)]
struct NameConstraints {
    permitted: Vec<Subtree>,
    excluded: Vec<Subtree>,
}

#[derive(Clone, Debug, Default)]
struct Akid {
    key_id: Option<Vec<u8>>,
    /// Canonical encoding of the first directoryName of authorityCertIssuer.
    issuer: Option<Vec<u8>>,
    serial: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Default)]
struct Exts {
    basic: Option<(bool, Option<u64>)>,
    key_usage: Option<u16>,
    ext_key_usage: Option<Vec<Vec<u8>>>,
    ns_cert_type: Option<u8>,
    skid: Option<Vec<u8>>,
    akid: Option<Akid>,
    san: Option<Vec<GeneralName>>,
    name_constraints: Option<NameConstraints>,
    proxy: bool,
    rfc3779: bool,
    unhandled_critical: Option<String>,
    invalid: Option<String>,
}

/// Critical extensions OpenSSL's verifier understands (`X509_supported_extension`).
fn openssl_supports(oid: &ObjectIdentifier) -> bool {
    [
        OID_NETSCAPE_CERT_TYPE,
        OID_KEY_USAGE,
        OID_SUBJECT_ALT_NAME,
        OID_BASIC_CONSTRAINTS,
        OID_CERT_POLICIES,
        OID_CRL_DIST_POINTS,
        OID_EXT_KEY_USAGE,
        OID_IP_ADDR_BLOCKS,
        OID_AS_IDS,
        OID_OCSP_NO_CHECK,
        OID_POLICY_CONSTRAINTS,
        OID_PROXY_CERT_INFO,
        OID_NAME_CONSTRAINTS,
        OID_POLICY_MAPPINGS,
        OID_INHIBIT_ANY_POLICY,
    ]
    .contains(oid)
}

fn parse_basic_constraints(v: &[u8]) -> Result<(bool, Option<u64>), DerError> {
    let seq = single(v, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    // OpenSSL also accepts an explicitly encoded FALSE; any non-zero byte is TRUE.
    let ca = match r.read_optional(TAG_BOOLEAN)? {
        Some(b) => {
            let [byte] = b.value else {
                return Err(DerError);
            };
            *byte != 0
        }
        None => false,
    };
    let pathlen = match r.read_optional(TAG_INTEGER)? {
        Some(i) => integer_u64(i.value)?,
        None => None,
    };
    if !r.is_empty() {
        return Err(DerError);
    }
    Ok((ca, pathlen))
}

fn parse_key_usage(v: &[u8]) -> Result<u16, DerError> {
    let bits = single(v, TAG_BIT_STRING)?;
    let (b0, b1) = bit_string_flags(bits.value)?;
    let ku = u16::from(b0.unwrap_or(0)) | (u16::from(b1.unwrap_or(0)) << 8);
    if ku == 0 {
        return Err(DerError); // RFC 5280: at least one bit; OpenSSL marks the cert invalid
    }
    Ok(ku)
}

fn parse_eku(v: &[u8]) -> Result<Vec<Vec<u8>>, DerError> {
    let seq = single(v, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    let mut oids = Vec::new();
    while !r.is_empty() {
        oids.push(r.read_tag(TAG_OID)?.value.to_vec());
    }
    Ok(oids)
}

fn parse_akid(v: &[u8]) -> Result<Akid, DerError> {
    let seq = single(v, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    let key_id = r.read_optional(0x80)?.map(|t| t.value.to_vec());
    let issuer = match r.read_optional(0xa1)? {
        Some(t) => {
            let names = parse_general_names(t.value)?;
            names.into_iter().find_map(|n| match n {
                GeneralName::Dir(canon) => Some(canon),
                _ => None,
            })
        }
        None => None,
    };
    let serial = r.read_optional(0x82)?.map(|t| normalize_integer(t.value));
    if !r.is_empty() {
        return Err(DerError);
    }
    Ok(Akid {
        key_id,
        issuer,
        serial,
    })
}

fn parse_subtrees(content: &[u8]) -> Result<Vec<Subtree>, DerError> {
    let mut r = DerReader::new(content);
    let mut out = Vec::new();
    while !r.is_empty() {
        let sub = r.read_tag(TAG_SEQUENCE)?;
        let mut s = DerReader::new(sub.value);
        let base = GeneralName::parse(s.read()?)?;
        let minimum = s.read_optional(0x80)?;
        let maximum = s.read_optional(0x81)?;
        if !s.is_empty() {
            return Err(DerError);
        }
        let min_ok = match minimum {
            None => true,
            Some(m) => integer_u64(m.value).ok().flatten() == Some(0),
        };
        out.push(Subtree {
            base,
            minmax_ok: min_ok && maximum.is_none(),
        });
    }
    Ok(out)
}

fn parse_name_constraints(v: &[u8]) -> Result<NameConstraints, DerError> {
    let seq = single(v, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    let permitted = match r.read_optional(0xa0)? {
        Some(t) => parse_subtrees(t.value)?,
        None => Vec::new(),
    };
    let excluded = match r.read_optional(0xa1)? {
        Some(t) => parse_subtrees(t.value)?,
        None => Vec::new(),
    };
    if !r.is_empty() {
        return Err(DerError);
    }
    Ok(NameConstraints {
        permitted,
        excluded,
    })
}

/// Structure check of CRL distribution points, enough for OpenSSL's `setup_dp` validity rule
/// (each point names a distribution point or a CRL issuer).
fn check_crl_dist_points(v: &[u8]) -> Result<(), DerError> {
    let seq = single(v, TAG_SEQUENCE)?;
    let mut r = DerReader::new(seq.value);
    while !r.is_empty() {
        let dp = r.read_tag(TAG_SEQUENCE)?;
        let mut d = DerReader::new(dp.value);
        let name = d.read_optional(0xa0)?;
        let _reasons = d.read_optional(0x81)?;
        let crl_issuer = d.read_optional(0xa2)?;
        if !d.is_empty() {
            return Err(DerError);
        }
        if let Some(ci) = crl_issuer {
            parse_general_names(ci.value)?;
        }
        if name.is_none() && crl_issuer.is_none_or(|c| c.value.is_empty()) {
            return Err(DerError);
        }
    }
    Ok(())
}

fn parse_extensions(list: &[x509_cert::ext::Extension]) -> Exts {
    let mut exts = Exts::default();
    let mut seen: Vec<ObjectIdentifier> = Vec::new();
    for ext in list {
        let oid = ext.extn_id;
        let v = ext.extn_value.as_bytes();
        if ext.critical && !openssl_supports(&oid) && exts.unhandled_critical.is_none() {
            exts.unhandled_critical = Some(oid.to_string());
        }
        let name = match oid {
            o if o == OID_BASIC_CONSTRAINTS => "basicConstraints",
            o if o == OID_KEY_USAGE => "keyUsage",
            o if o == OID_EXT_KEY_USAGE => "extendedKeyUsage",
            o if o == OID_NETSCAPE_CERT_TYPE => "nsCertType",
            o if o == OID_SUBJECT_KEY_ID => "subjectKeyIdentifier",
            o if o == OID_AUTHORITY_KEY_ID => "authorityKeyIdentifier",
            o if o == OID_SUBJECT_ALT_NAME => "subjectAltName",
            o if o == OID_NAME_CONSTRAINTS => "nameConstraints",
            o if o == OID_CRL_DIST_POINTS => "cRLDistributionPoints",
            o if o == OID_PROXY_CERT_INFO => "proxyCertInfo",
            o if o == OID_IP_ADDR_BLOCKS => "ipAddrBlocks",
            o if o == OID_AS_IDS => "autonomousSysIds",
            _ => continue,
        };
        let mut fail = |why: &str| {
            if exts.invalid.is_none() {
                exts.invalid = Some(format!("{why} {name} extension"));
            }
        };
        // OpenSSL's X509_get_ext_d2i refuses duplicated extensions it decodes.
        if seen.contains(&oid) {
            fail("duplicate");
            continue;
        }
        seen.push(oid);
        let ok = match name {
            "basicConstraints" => parse_basic_constraints(v).map(|b| exts.basic = Some(b)),
            "keyUsage" => parse_key_usage(v).map(|k| exts.key_usage = Some(k)),
            "extendedKeyUsage" => parse_eku(v).map(|e| exts.ext_key_usage = Some(e)),
            "nsCertType" => single(v, TAG_BIT_STRING)
                .and_then(|b| bit_string_flags(b.value))
                .map(|(b0, _)| exts.ns_cert_type = Some(b0.unwrap_or(0))),
            "subjectKeyIdentifier" => {
                single(v, TAG_OCTET_STRING).map(|s| exts.skid = Some(s.value.to_vec()))
            }
            "authorityKeyIdentifier" => parse_akid(v).map(|a| exts.akid = Some(a)),
            "subjectAltName" => single(v, TAG_SEQUENCE)
                .and_then(|s| parse_general_names(s.value))
                .map(|n| exts.san = Some(n)),
            "nameConstraints" => parse_name_constraints(v).map(|n| exts.name_constraints = Some(n)),
            "cRLDistributionPoints" => check_crl_dist_points(v),
            "proxyCertInfo" => {
                exts.proxy = true;
                Ok(())
            }
            _ => {
                exts.rfc3779 = true;
                Ok(())
            }
        };
        if ok.is_err() {
            fail("malformed");
        }
    }
    exts
}

// ---------------------------------------------------------------------------------------------
// Parsed certificate

#[derive(Clone, Debug)]
struct Info {
    v1: bool,
    serial: Vec<u8>,
    tbs: Vec<u8>,
    tbs_sig_alg_raw: Vec<u8>,
    sig_alg_raw: Vec<u8>,
    sig_oid: Vec<u8>,
    sig_params: Option<Vec<u8>>,
    /// `None` when the BIT STRING has unused bits (OpenSSL refuses to verify it).
    signature: Option<Vec<u8>>,
    issuer_canon: Vec<u8>,
    subject_canon: Vec<u8>,
    subject_attrs: Vec<Attr>,
    subject_display: String,
    issuer_display: String,
    spki: Vec<u8>,
    key_type: KeyType,
    key_params: Option<Vec<u8>>,
    key_bits: Option<Vec<u8>>,
    not_before: i64,
    not_after: i64,
    exts: Exts,
    self_issued: bool,
    self_signed: bool,
}

impl Info {
    fn parse(der: &[u8]) -> Result<Self, ChainError> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| ChainError::Parse(format!("not a DER X.509 certificate: {e}")))?;
        let tbs_cert = &cert.tbs_certificate;
        let malformed = |what: &str| ChainError::Parse(format!("malformed {what}"));

        let outer = single(der, TAG_SEQUENCE).map_err(|_| malformed("certificate"))?;
        let mut r = DerReader::new(outer.value);
        let tbs = r
            .read_tag(TAG_SEQUENCE)
            .map_err(|_| malformed("TBSCertificate"))?;
        let sig_alg = r
            .read_tag(TAG_SEQUENCE)
            .map_err(|_| malformed("signatureAlgorithm"))?;
        let sig_bits = r
            .read_tag(TAG_BIT_STRING)
            .map_err(|_| malformed("signature"))?;

        let mut t = DerReader::new(tbs.value);
        fn read<'a>(t: &mut DerReader<'a>, tag: u8, what: &str) -> Result<Tlv<'a>, ChainError> {
            t.read_tag(tag)
                .map_err(|_| ChainError::Parse(format!("malformed {what}")))
        }
        t.read_optional(0xa0).map_err(|_| malformed("version"))?;
        read(&mut t, TAG_INTEGER, "serialNumber")?;
        let tbs_sig_alg = read(&mut t, TAG_SEQUENCE, "signature")?;
        let issuer = read(&mut t, TAG_SEQUENCE, "issuer")?;
        read(&mut t, TAG_SEQUENCE, "validity")?;
        let subject = read(&mut t, TAG_SEQUENCE, "subject")?;
        let spki = read(&mut t, TAG_SEQUENCE, "subjectPublicKeyInfo")?;

        let (sig_oid, sig_params) =
            alg_id(sig_alg.raw).map_err(|_| malformed("signatureAlgorithm"))?;
        let (issuer_canon, _) = canonical_name(issuer.raw).map_err(|_| malformed("issuer name"))?;
        let (subject_canon, subject_attrs) =
            canonical_name(subject.raw).map_err(|_| malformed("subject name"))?;

        let mut k = DerReader::new(spki.value);
        let key_alg = k
            .read_tag(TAG_SEQUENCE)
            .map_err(|_| malformed("public key algorithm"))?;
        let key_bits = k
            .read_tag(TAG_BIT_STRING)
            .map_err(|_| malformed("public key"))?;
        let (key_oid, key_params) =
            alg_id(key_alg.raw).map_err(|_| malformed("public key algorithm"))?;

        let to_secs = |t: &x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        let exts = parse_extensions(tbs_cert.extensions.as_deref().unwrap_or(&[]));

        let mut info = Info {
            v1: tbs_cert.version == x509_cert::certificate::Version::V1,
            serial: normalize_integer(tbs_cert.serial_number.as_bytes()),
            tbs: tbs.raw.to_vec(),
            tbs_sig_alg_raw: tbs_sig_alg.raw.to_vec(),
            sig_alg_raw: sig_alg.raw.to_vec(),
            sig_oid: sig_oid.to_vec(),
            sig_params: sig_params.map(|p| p.raw.to_vec()),
            signature: bit_string_bytes(sig_bits.value).map(<[u8]>::to_vec),
            self_issued: issuer_canon == subject_canon,
            issuer_canon,
            subject_canon,
            subject_attrs,
            subject_display: display_name(&tbs_cert.subject),
            issuer_display: display_name(&tbs_cert.issuer),
            spki: spki.raw.to_vec(),
            key_type: key_type(key_oid),
            key_params: key_params.map(|p| p.raw.to_vec()),
            key_bits: bit_string_bytes(key_bits.value).map(<[u8]>::to_vec),
            not_before: to_secs(&tbs_cert.validity.not_before),
            not_after: to_secs(&tbs_cert.validity.not_after),
            exts,
            self_signed: false,
        };
        // EXFLAG_SS: self-issued, AKID consistent with itself, signature algorithm fits the key.
        info.self_signed = info.self_issued
            && akid_allows(&info, &info)
            && SigAlg::from_oid(&info.sig_oid).is_some_and(|a| a.fits_key(info.key_type));
        Ok(info)
    }

    fn valid_at(&self, at: i64) -> bool {
        self.not_before <= at && at < self.not_after
    }

    /// `X509_check_ca`: 0 = not a CA, 1 = CA by basicConstraints, 3 = v1 self-signed root,
    /// 4 = keyUsage keyCertSign without basicConstraints, 5 = Netscape CA.
    fn check_ca(&self) -> u8 {
        let e = &self.exts;
        if e.key_usage.is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0) {
            return 0;
        }
        if let Some((ca, _)) = e.basic {
            return u8::from(ca);
        }
        if self.v1 && self.self_signed {
            3
        } else if e.key_usage.is_some() {
            4
        } else if e.ns_cert_type.is_some_and(|ns| ns & NS_ANY_CA != 0) {
            5
        } else {
            0
        }
    }

    fn not_ca_reason(&self) -> String {
        let e = &self.exts;
        if e.key_usage.is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0) {
            "its keyUsage lacks keyCertSign".into()
        } else if matches!(e.basic, Some((false, _))) {
            "basicConstraints CA:FALSE".into()
        } else if e.basic.is_none() {
            "no basicConstraints CA:TRUE".into()
        } else {
            "not a CA".into()
        }
    }

    /// OpenSSL's `check_curve` plus the public key decoding `X509_get_pubkey_parameters` needs.
    fn key_problem(&self, in_longer_chain: bool) -> Option<String> {
        if self.key_bits.is_none() {
            return Some("malformed public key".into());
        }
        match self.key_type {
            KeyType::Unknown => Some("unsupported public key algorithm".into()),
            KeyType::Ec => {
                let named = self
                    .key_params
                    .as_deref()
                    .is_some_and(|p| single(p, TAG_OID).is_ok());
                (!named && in_longer_chain)
                    .then(|| "EC key with explicit curve parameters".to_string())
            }
            _ => None,
        }
    }
}

/// `X509_check_akid(issuer, subject->akid) == X509_V_OK`.
fn akid_allows(issuer: &Info, subject: &Info) -> bool {
    let Some(akid) = &subject.exts.akid else {
        return true;
    };
    if let (Some(kid), Some(skid)) = (&akid.key_id, &issuer.exts.skid) {
        if kid != skid {
            return false;
        }
    }
    if let Some(serial) = &akid.serial {
        if *serial != issuer.serial {
            return false;
        }
    }
    if let Some(name) = &akid.issuer {
        if *name != issuer.issuer_canon {
            return false;
        }
    }
    true
}

/// `ossl_x509_likely_issued(issuer, subject)`, without the signature.
fn likely_issued(issuer: &Info, subject: &Info) -> bool {
    issuer.subject_canon == subject.issuer_canon
        && akid_allows(issuer, subject)
        && SigAlg::from_oid(&subject.sig_oid).is_some_and(|a| a.fits_key(issuer.key_type))
}

// ---------------------------------------------------------------------------------------------
// Name constraints (v3_ncons.c)

/// OpenSSL's guard against quadratic blow-up (`NAME_CHECK_MAX`).
const NAME_CHECK_MAX: usize = 1 << 20;

fn check_name_constraints(
    subject: &Info,
    nc: &NameConstraints,
    is_leaf: bool,
) -> Result<(), String> {
    let name_count = subject.subject_attrs.len() + subject.exts.san.as_ref().map_or(0, Vec::len);
    let constraint_count = nc.permitted.len() + nc.excluded.len();
    if name_count > 0 && constraint_count > NAME_CHECK_MAX / name_count {
        return Err("too many names and constraints to check".into());
    }
    if !subject.subject_attrs.is_empty() {
        nc_match(&GeneralName::Dir(subject.subject_canon.clone()), nc)
            .map_err(|e| format!("subject name: {e}"))?;
        for attr in subject
            .subject_attrs
            .iter()
            .filter(|a| oid_eq(&a.oid, &OID_EMAIL_ADDRESS))
        {
            if attr.tag != TAG_IA5 {
                return Err("subject emailAddress is not an IA5String".into());
            }
            let name = GeneralName::Email(attr.value.clone());
            nc_match(&name, nc).map_err(|e| format!("{}: {e}", name.describe()))?;
        }
    }
    let san = subject.exts.san.as_deref().unwrap_or(&[]);
    for name in san {
        nc_match(name, nc).map_err(|e| format!("{}: {e}", name.describe()))?;
    }
    // OpenSSL 3.0 also applies DNS constraints to a host-name-like commonName of the leaf when
    // the leaf has no DNS subjectAltName.
    let has_dns_san = san.iter().any(|n| matches!(n, GeneralName::Dns(_)));
    if is_leaf && !has_dns_san {
        for attr in subject
            .subject_attrs
            .iter()
            .filter(|a| oid_eq(&a.oid, &OID_COMMON_NAME))
        {
            let utf8 = string_to_utf8(attr.tag, &attr.value)
                .ok_or_else(|| "commonName is not a string".to_string())?;
            if let Some(dns) = cn_as_dns_name(utf8)? {
                let name = GeneralName::Dns(dns);
                nc_match(&name, nc)
                    .map_err(|e| format!("commonName as {}: {e}", name.describe()))?;
            }
        }
    }
    Ok(())
}

/// OpenSSL's `cn2dnsid`: the commonName if it looks like a DNS name with at least two labels.
fn cn_as_dns_name(mut v: Vec<u8>) -> Result<Option<Vec<u8>>, String> {
    while v.last() == Some(&0) {
        v.pop();
    }
    if v.contains(&0) {
        return Err("commonName contains a NUL character".into());
    }
    let n = v.len();
    let mut is_dns = false;
    for (i, &c) in v.iter().enumerate() {
        if c.is_ascii_alphanumeric() || c == b'_' {
            continue;
        }
        if i > 0 && i + 1 < n {
            if c == b'-' {
                continue;
            }
            let next = v.get(i + 1).copied().unwrap_or(0);
            let prev = v.get(i - 1).copied().unwrap_or(0);
            if c == b'.' && next != b'.' && prev != b'-' && next != b'-' {
                is_dns = true;
                continue;
            }
        }
        is_dns = false;
        break;
    }
    Ok(is_dns.then_some(v))
}

fn nc_match(name: &GeneralName, nc: &NameConstraints) -> Result<(), String> {
    let other_oid = match name {
        GeneralName::Other(oid) => Some(oid.as_slice()),
        _ => None,
    };
    let effective = if other_oid.is_some_and(|o| oid_eq(o, &OID_SMTP_UTF8_MAILBOX)) {
        1
    } else {
        name.kind()
    };
    let applies = |sub: &Subtree| {
        if sub.base.kind() != effective {
            return false;
        }
        match (&sub.base, other_oid) {
            (GeneralName::Other(base_oid), Some(oid)) if effective == 0 => base_oid == oid,
            _ => true,
        }
    };
    let mut state = 0; // 0: no permitted subtree of this type, 1: none matched yet, 2: matched
    for sub in nc.permitted.iter().filter(|s| applies(s)) {
        if !sub.minmax_ok {
            return Err("subtree minimum/maximum is not supported".into());
        }
        if state == 2 {
            continue;
        }
        state = 1;
        if nc_match_single(effective, name, &sub.base)? {
            state = 2;
        }
    }
    if state == 1 {
        return Err("not within the permitted subtrees".into());
    }
    for sub in nc.excluded.iter().filter(|s| applies(s)) {
        if !sub.minmax_ok {
            return Err("subtree minimum/maximum is not supported".into());
        }
        if nc_match_single(effective, name, &sub.base)? {
            return Err(format!(
                "within the excluded subtree {}",
                sub.base.describe()
            ));
        }
    }
    Ok(())
}

fn nc_match_single(effective: u8, name: &GeneralName, base: &GeneralName) -> Result<bool, String> {
    match (name, base) {
        (GeneralName::Other(_), _) if effective == 1 => {
            Err("SmtpUTF8Mailbox names under rfc822Name constraints are not supported".into())
        }
        (GeneralName::Dir(n), GeneralName::Dir(b)) => Ok(n.starts_with(b)),
        (GeneralName::Dns(n), GeneralName::Dns(b)) => Ok(nc_dns(n, b)),
        (GeneralName::Email(n), GeneralName::Email(b)) => nc_email(n, b),
        (GeneralName::Uri(n), GeneralName::Uri(b)) => nc_uri(n, b),
        (GeneralName::Ip(n), GeneralName::Ip(b)) => nc_ip(n, b),
        _ => Err(format!(
            "unsupported constraint type for {}",
            name.describe()
        )),
    }
}

fn nc_dns(dns: &[u8], base: &[u8]) -> bool {
    if base.is_empty() {
        return true;
    }
    let Some(off) = dns.len().checked_sub(base.len()) else {
        return false;
    };
    if off > 0 && base.first() != Some(&b'.') && dns.get(off - 1) != Some(&b'.') {
        return false;
    }
    dns.get(off..)
        .is_some_and(|tail| tail.eq_ignore_ascii_case(base))
}

fn nc_email(eml: &[u8], base: &[u8]) -> Result<bool, String> {
    let syntax = || "unsupported email syntax".to_string();
    let eml_at = eml.iter().rposition(|&c| c == b'@').ok_or_else(syntax)?;
    let base_at = base.iter().rposition(|&c| c == b'@');
    if base_at.is_none() && base.first() == Some(&b'.') {
        // A leading '.' matches any host in the domain.
        let Some(off) = eml.len().checked_sub(base.len()).filter(|o| *o > 0) else {
            return Ok(false);
        };
        return Ok(eml.get(off..).is_some_and(|t| t.eq_ignore_ascii_case(base)));
    }
    let mut base_host = base;
    if let Some(at) = base_at {
        if at != 0 {
            let base_local = base.get(..at).unwrap_or(&[]);
            let eml_local = eml.get(..eml_at).unwrap_or(&[]);
            if at != eml_at {
                return Ok(false);
            }
            if base_local.contains(&0) || eml_local.contains(&0) {
                return Err(syntax());
            }
            if base_local != eml_local {
                return Ok(false);
            }
        }
        base_host = base.get(at + 1..).unwrap_or(&[]);
    }
    let eml_host = eml.get(eml_at + 1..).unwrap_or(&[]);
    Ok(base_host.len() == eml_host.len() && base_host.eq_ignore_ascii_case(eml_host))
}

fn nc_uri(uri: &[u8], base: &[u8]) -> Result<bool, String> {
    let syntax = || "unsupported URI syntax".to_string();
    let colon = uri.iter().position(|&c| c == b':').ok_or_else(syntax)?;
    if uri.len() - colon < 3
        || uri.get(colon + 1) != Some(&b'/')
        || uri.get(colon + 2) != Some(&b'/')
    {
        return Err(syntax());
    }
    let rest = uri.get(colon + 3..).unwrap_or(&[]);
    let host_len = rest
        .iter()
        .position(|&c| c == b':')
        .or_else(|| rest.iter().position(|&c| c == b'/'))
        .unwrap_or(rest.len());
    if host_len == 0 {
        return Err(syntax());
    }
    let host = rest.get(..host_len).unwrap_or(&[]);
    if base.first() == Some(&b'.') {
        let Some(off) = host.len().checked_sub(base.len()).filter(|o| *o > 0) else {
            return Ok(false);
        };
        return Ok(host
            .get(off..)
            .is_some_and(|t| t.eq_ignore_ascii_case(base)));
    }
    Ok(base.len() == host.len() && host.eq_ignore_ascii_case(base))
}

fn nc_ip(ip: &[u8], base: &[u8]) -> Result<bool, String> {
    if ip.len() != 4 && ip.len() != 16 {
        return Err("unsupported IP address syntax".into());
    }
    if base.len() != 8 && base.len() != 32 {
        return Err("unsupported IP address constraint syntax".into());
    }
    if ip.len() * 2 != base.len() {
        return Ok(false);
    }
    let (addr, mask) = base.split_at(ip.len());
    Ok(ip
        .iter()
        .zip(addr)
        .zip(mask)
        .all(|((h, b), m)| h & m == b & m))
}

// ---------------------------------------------------------------------------------------------
// Path building

/// OpenSSL's default verify depth is 100, i.e. at most 101 certificates in a path.
const MAX_PATH_LEN: usize = 101;
/// Bound on the work of path building (path extensions plus signature verifications) when a
/// bundle holds many certificates with the same names. Each unit is cheap: signature results are
/// memoised per (child, issuer) pair, each TBSCertificate is hashed once per hash algorithm, and
/// no certificate exceeds [`MAX_CERTIFICATE_BYTES`]. [`PATH_BUILDING_DEADLINE`] bounds the
/// wall-clock time on top.
const MAX_STEPS: usize = 10_000;

#[derive(Clone, Copy)]
struct Step {
    node: usize,
    /// The certificate came from the trust store; from here on issuers must be trusted too.
    trusted_phase: bool,
}

/// Issuer candidates of one certificate, in the order they are tried (before removing those
/// already in the path).
struct Candidates {
    trusted: Vec<usize>,
    untrusted: Vec<usize>,
}

struct PathBuilder<'a> {
    certs: Vec<&'a Certificate>,
    trusted: Vec<bool>,
    untrusted_candidate: Vec<bool>,
    at: i64,
    /// Signature results per (child, issuer) node pair: the search never verifies a pair twice,
    /// however many paths lead to it.
    sig_cache: HashMap<(usize, usize), Result<(), SigFailure>>,
    /// Digests of each node's TBSCertificate per hash algorithm, so that trying many look-alike
    /// issuers of one certificate hashes it once.
    digests: HashMap<(usize, HashAlg), digest::Digest>,
    /// Issuer candidates per node, computed on first visit (they depend on the node only).
    candidates: Vec<Option<Candidates>>,
    steps: usize,
    deadline: Instant,
    timed_out: bool,
    /// The most informative error so far, with its rank (higher = got further).
    best: Option<(u8, ChainError)>,
}

const RANK_NO_ISSUER: u8 = 1;
const RANK_SIGNATURE: u8 = 2;
const RANK_PATH: u8 = 3;

impl<'a> PathBuilder<'a> {
    fn new(
        leaf: &'a Certificate,
        intermediates: &'a [Certificate],
        anchors: &'a [Certificate],
        at: i64,
        deadline: Instant,
    ) -> Self {
        let mut b = PathBuilder {
            certs: vec![leaf],
            trusted: vec![false],
            untrusted_candidate: vec![false],
            at,
            sig_cache: HashMap::new(),
            digests: HashMap::new(),
            candidates: Vec::new(),
            steps: 0,
            deadline,
            timed_out: false,
            best: None,
        };
        // Certificates are identified by their DER, as OpenSSL's X509_cmp does.
        for c in intermediates {
            if !b.certs.iter().any(|x| x.der == c.der) {
                b.certs.push(c);
                b.trusted.push(false);
                b.untrusted_candidate.push(true);
            }
        }
        for a in anchors {
            match b.certs.iter().position(|x| x.der == a.der) {
                Some(i) => {
                    if let Some(t) = b.trusted.get_mut(i) {
                        *t = true;
                    }
                }
                None => {
                    b.certs.push(a);
                    b.trusted.push(true);
                    b.untrusted_candidate.push(false);
                }
            }
        }
        b.candidates = b.certs.iter().map(|_| None).collect();
        b
    }

    fn cert(&self, i: usize) -> Option<&'a Certificate> {
        self.certs.get(i).copied()
    }

    fn leaf_subject(&self) -> String {
        self.cert(0).map(Certificate::subject).unwrap_or_default()
    }

    fn note(&mut self, rank: u8, err: ChainError) {
        if self.best.as_ref().is_none_or(|(r, _)| rank > *r) {
            self.best = Some((rank, err));
        }
    }

    fn no_root(&mut self, reason: String) {
        let leaf = self.leaf_subject();
        self.note(RANK_NO_ISSUER, ChainError::NoTrustedRoot { leaf, reason });
    }

    /// Extends `path` towards a trusted self-signed certificate; true once a full path passed
    /// all checks.
    fn extend(&mut self, path: &mut Vec<Step>) -> bool {
        let Some(&Step {
            node: cur,
            trusted_phase,
        }) = path.last()
        else {
            return false;
        };
        let Some(cert) = self.cert(cur) else {
            return false;
        };
        if self.exhausted() {
            return false;
        }
        if cert.info.self_signed {
            if self.trusted.get(cur).copied().unwrap_or(false) {
                return match self.check_path(path) {
                    Ok(()) => true,
                    Err(e) => {
                        self.note(RANK_PATH, e);
                        false
                    }
                };
            }
            // OpenSSL decides self-signedness from names and key identifiers only, so a
            // self-issued certificate without key identifiers counts even if another key signed it.
            let looks_only = self.check_signature(cur, cur).is_err();
            let what = if looks_only {
                "counts as self-signed (subject equals issuer and no key identifiers tell them apart)"
            } else {
                "is self-signed"
            };
            let reason = if path.len() == 1 {
                format!("it {what} and is not among the trusted certificates")
            } else {
                format!(
                    "the chain ends at '{}', which {what} and is not among the trusted certificates",
                    cert.subject()
                )
            };
            self.no_root(reason);
            return false;
        }
        if path.len() >= MAX_PATH_LEN {
            self.no_root(format!(
                "the chain is longer than {MAX_PATH_LEN} certificates"
            ));
            return false;
        }

        let in_path = |j: usize| path.iter().any(|s| s.node == j);
        let all = self.candidates_of(cur);
        let candidates: Vec<(usize, bool)> = all
            .trusted
            .iter()
            .map(|&j| (j, true))
            .chain(
                all.untrusted
                    .iter()
                    .filter(|_| !trusted_phase)
                    .map(|&j| (j, false)),
            )
            .filter(|&(j, _)| !in_path(j))
            .collect();

        if candidates.is_empty() {
            let reason = if trusted_phase {
                format!(
                    "'{}' is trusted but not self-signed, and its issuer '{}' is not among the trusted certificates (partial chains are not accepted)",
                    cert.subject(),
                    cert.issuer()
                )
            } else if cur == 0 {
                format!("issuer '{}' not in the chain or anchors", cert.issuer())
            } else {
                format!(
                    "issuer '{}' of '{}' not in the chain or anchors",
                    cert.issuer(),
                    cert.subject()
                )
            };
            self.no_root(reason);
            return false;
        }

        for (j, from_trust_store) in candidates {
            if self.timed_out {
                return false;
            }
            if !self.signature_ok(cur, j) {
                continue;
            }
            path.push(Step {
                node: j,
                trusted_phase: from_trust_store,
            });
            if self.extend(path) {
                return true;
            }
            path.pop();
        }
        false
    }

    /// The issuer candidates of node `cur` in the order OpenSSL tries them: trusted ones first
    /// ("trusted first"), each group with issuers valid at the verification time first, then by
    /// latest notAfter; equal keys keep the input order. Computed once per node.
    fn candidates_of(&mut self, cur: usize) -> &Candidates {
        if self.candidates.get(cur).is_some_and(Option::is_none) {
            let computed = self.compute_candidates(cur);
            if let Some(slot) = self.candidates.get_mut(cur) {
                *slot = Some(computed);
            }
        }
        static EMPTY: Candidates = Candidates {
            trusted: Vec::new(),
            untrusted: Vec::new(),
        };
        self.candidates
            .get(cur)
            .and_then(Option::as_ref)
            .unwrap_or(&EMPTY)
    }

    fn compute_candidates(&self, cur: usize) -> Candidates {
        let mut trusted = Vec::new();
        let mut untrusted = Vec::new();
        let Some(cert) = self.cert(cur) else {
            return Candidates { trusted, untrusted };
        };
        for (j, c) in self.certs.iter().enumerate() {
            if j == cur || !likely_issued(&c.info, &cert.info) {
                continue;
            }
            if self.trusted.get(j).copied().unwrap_or(false) {
                trusted.push(j);
            } else if self.untrusted_candidate.get(j).copied().unwrap_or(false) {
                untrusted.push(j);
            }
        }
        // OpenSSL prefers issuers valid at the verification time, then the latest notAfter.
        let at = self.at;
        let certs = &self.certs;
        let order = |j: &usize| {
            certs.get(*j).map_or((true, 0), |c| {
                let valid = c.info.valid_at(at);
                (!valid, if valid { 0 } else { -c.info.not_after })
            })
        };
        trusted.sort_by_key(order);
        untrusted.sort_by_key(order);
        Candidates { trusted, untrusted }
    }

    /// Counts one unit of work; true (after noting why) once the step budget or the time is spent.
    fn exhausted(&mut self) -> bool {
        self.steps += 1;
        if !self.timed_out && Instant::now() >= self.deadline {
            self.timed_out = true;
        }
        if self.timed_out {
            return true;
        }
        if self.steps == MAX_STEPS + 1 {
            self.no_root(format!(
                "gave up after {MAX_STEPS} path-building steps among look-alike certificates"
            ));
        }
        self.steps > MAX_STEPS
    }

    /// The signature check of `child` by `issuer`, done at most once per pair.
    fn check_signature(&mut self, child: usize, issuer: usize) -> Result<(), SigFailure> {
        if let Some(result) = self.sig_cache.get(&(child, issuer)) {
            return result.clone();
        }
        let (Some(c), Some(i)) = (self.cert(child), self.cert(issuer)) else {
            return Err(SigFailure::Mismatch);
        };
        let digests = &mut self.digests;
        let tbs = &c.info.tbs;
        let result = verify_signed_by(&c.info, &i.info, &mut |hash| {
            *digests
                .entry((child, hash))
                .or_insert_with(|| hash.digest(tbs))
        });
        self.sig_cache.insert((child, issuer), result.clone());
        result
    }

    fn signature_ok(&mut self, child: usize, issuer: usize) -> bool {
        if let Some(result) = self.sig_cache.get(&(child, issuer)) {
            return result.is_ok();
        }
        if self.exhausted() {
            return false;
        }
        let (Some(c), Some(i)) = (self.cert(child), self.cert(issuer)) else {
            return false;
        };
        match self.check_signature(child, issuer) {
            Ok(()) => true,
            Err(SigFailure::Mismatch) => {
                self.note(
                    RANK_SIGNATURE,
                    ChainError::BadSignature {
                        subject: c.subject(),
                        issuer: i.subject(),
                    },
                );
                false
            }
            Err(SigFailure::Unsupported(algorithm)) => {
                self.note(
                    RANK_SIGNATURE,
                    ChainError::UnsupportedAlgorithm {
                        subject: c.subject(),
                        algorithm,
                    },
                );
                false
            }
        }
    }

    /// The checks OpenSSL runs on a built chain: `check_extensions`, then the validity periods of
    /// `internal_verify` (signatures were verified while building), then name constraints.
    fn check_path(&self, path: &[Step]) -> Result<(), ChainError> {
        let chain: Vec<&Certificate> = path.iter().filter_map(|s| self.cert(s.node)).collect();
        let n = chain.len();

        for c in &chain {
            if let Some(reason) = &c.info.exts.invalid {
                return Err(ChainError::InvalidExtension {
                    subject: c.subject(),
                    reason: reason.clone(),
                });
            }
        }

        let mut plen = 0usize;
        for (i, c) in chain.iter().enumerate() {
            let info = &c.info;
            let unacceptable = |reason: &str| ChainError::Unacceptable {
                subject: c.subject(),
                reason: reason.to_string(),
            };
            if let Some(oid) = &info.exts.unhandled_critical {
                return Err(ChainError::UnhandledCriticalExtension {
                    subject: c.subject(),
                    oid: oid.clone(),
                });
            }
            if info.exts.proxy {
                return Err(unacceptable("proxy certificates are not allowed"));
            }
            if info.exts.rfc3779 {
                return Err(unacceptable(
                    "RFC 3779 IP address / AS number extensions are not supported",
                ));
            }
            if i > 0 {
                let ca = info.check_ca();
                let subject = chain.get(i - 1).map(|s| s.subject()).unwrap_or_default();
                if ca == 0 {
                    return Err(ChainError::NotCa {
                        issuer: c.subject(),
                        subject,
                        reason: info.not_ca_reason(),
                    });
                }
                if i + 1 < n && ca != 1 {
                    let reason = match ca {
                        3 => "a v1 certificate can only be a root",
                        4 => "no basicConstraints CA:TRUE; only a root may rely on keyUsage",
                        _ => "no basicConstraints CA:TRUE; only a root may rely on nsCertType",
                    };
                    return Err(ChainError::NotCa {
                        issuer: c.subject(),
                        subject,
                        reason: reason.into(),
                    });
                }
            }
            if let Some(problem) = info.key_problem(n > 1) {
                return Err(unacceptable(&problem));
            }
            if let Some((_, Some(pathlen))) = info.exts.basic {
                if i > 1 && plen as u64 > pathlen {
                    return Err(ChainError::PathLength {
                        issuer: c.subject(),
                        pathlen,
                        below: plen,
                    });
                }
            }
            if i > 0 && !info.self_issued {
                plen += 1;
            }
        }

        for c in chain.iter().rev() {
            let info = &c.info;
            let times = || {
                (
                    format_secs(info.not_before),
                    format_secs(info.not_after),
                    format_secs(self.at),
                )
            };
            if self.at < info.not_before {
                let (not_before, not_after, at) = times();
                return Err(ChainError::NotYetValid {
                    subject: c.subject(),
                    not_before,
                    not_after,
                    at,
                });
            }
            if self.at >= info.not_after {
                let (not_before, not_after, at) = times();
                return Err(ChainError::Expired {
                    subject: c.subject(),
                    not_before,
                    not_after,
                    at,
                });
            }
        }

        for (i, c) in chain.iter().enumerate().rev() {
            if i != 0 && c.info.self_issued {
                continue;
            }
            for ca in chain.iter().skip(i + 1).rev() {
                if let Some(nc) = &ca.info.exts.name_constraints {
                    check_name_constraints(&c.info, nc, i == 0).map_err(|reason| {
                        ChainError::NameConstraints {
                            subject: c.subject(),
                            issuer: ca.subject(),
                            reason,
                        }
                    })?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    fn one(c: &Certificate) -> &[Certificate] {
        std::slice::from_ref(c)
    }

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors");

    /// Reads a vector file, or `None` (with a note) when the shared vectors are not present,
    /// unless `MS_REQUIRE_VECTORS=1` makes that a failure.
    fn vector(rel: &str) -> Option<Vec<u8>> {
        let path = format!("{VECTORS}/{rel}");
        match std::fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) => {
                if std::env::var("MS_REQUIRE_VECTORS").as_deref() == Ok("1") {
                    panic!("missing vector {path}: {e}");
                }
                eprintln!("note: skipping, vector {path} not available: {e}");
                None
            }
        }
    }

    fn vector_cert(rel: &str) -> Option<Certificate> {
        let bytes = vector(rel)?;
        let mut certs = parse_pem_certificates(&bytes).expect("parse vector");
        assert_eq!(certs.len(), 1, "{rel}");
        certs.pop()
    }

    struct Pki {
        root: Certificate,
        int: Certificate,
        leaf: Certificate,
    }

    fn mt_pki() -> Option<Pki> {
        let d = "model-transparency/scripts/tests/keys/certificate";
        Some(Pki {
            root: vector_cert(&format!("{d}/ca-cert.pem"))?,
            int: vector_cert(&format!("{d}/int-ca-cert.pem"))?,
            leaf: vector_cert(&format!("{d}/signing-key-cert.pem"))?,
        })
    }

    fn peer_pki() -> Option<Pki> {
        let d = "model-signing-peer/pki";
        Some(Pki {
            root: vector_cert(&format!("{d}/root-cert.pem"))?,
            int: vector_cert(&format!("{d}/int-cert.pem"))?,
            leaf: vector_cert(&format!("{d}/leaf-cert.pem"))?,
        })
    }

    // --- a tiny certificate builder (ECDSA P-256 / SHA-256) ---

    struct Key(EcdsaKeyPair);

    impl Key {
        fn new() -> Self {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                .expect("generate");
            Key(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                    .expect("load"),
            )
        }

        fn spki(&self) -> Vec<u8> {
            let alg = seq(&[oid(&OID_EC_PUBLIC_KEY), oid(&OID_P256)]);
            let mut bits = vec![0u8];
            bits.extend_from_slice(self.0.public_key().as_ref());
            seq(&[alg, encode_tlv(TAG_BIT_STRING, &bits)])
        }
    }

    fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        encode_tlv(TAG_SEQUENCE, &parts.concat())
    }

    fn oid(o: &ObjectIdentifier) -> Vec<u8> {
        encode_tlv(TAG_OID, o.as_bytes())
    }

    fn name(cn: &str) -> Vec<u8> {
        let atv = seq(&[oid(&OID_COMMON_NAME), encode_tlv(TAG_UTF8, cn.as_bytes())]);
        seq(&[encode_tlv(TAG_SET, &atv)])
    }

    fn utc_time(secs: i64) -> Vec<u8> {
        let s = format_secs(secs); // YYYY-MM-DDTHH:MM:SSZ
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        encode_tlv(TAG_UTC_TIME, format!("{}Z", &digits[2..]).as_bytes())
    }

    fn ext(o: &ObjectIdentifier, critical: bool, value: Vec<u8>) -> Vec<u8> {
        let mut parts = vec![oid(o)];
        if critical {
            parts.push(encode_tlv(TAG_BOOLEAN, &[0xff]));
        }
        parts.push(encode_tlv(TAG_OCTET_STRING, &value));
        seq(&parts)
    }

    fn bc(ca: bool, pathlen: Option<u8>) -> Vec<u8> {
        let mut parts = Vec::new();
        if ca {
            parts.push(encode_tlv(TAG_BOOLEAN, &[0xff]));
        }
        if let Some(p) = pathlen {
            parts.push(encode_tlv(TAG_INTEGER, &[p]));
        }
        ext(&OID_BASIC_CONSTRAINTS, true, seq(&parts))
    }

    /// keyUsage from the first byte of flags (0x80 digitalSignature, 0x04 keyCertSign, ...).
    fn ku(byte: u8) -> Vec<u8> {
        let unused = if byte == 0 {
            0
        } else {
            byte.trailing_zeros() as u8
        };
        ext(
            &OID_KEY_USAGE,
            true,
            encode_tlv(TAG_BIT_STRING, &[unused, byte]),
        )
    }

    fn eku(oids: &[ObjectIdentifier]) -> Vec<u8> {
        let parts: Vec<Vec<u8>> = oids.iter().map(oid).collect();
        ext(&OID_EXT_KEY_USAGE, false, seq(&parts))
    }

    struct Spec<'a> {
        subject: &'a str,
        issuer: &'a str,
        key: &'a Key,
        issuer_key: &'a Key,
        not_before: i64,
        not_after: i64,
        exts: Vec<Vec<u8>>,
    }

    fn build(spec: Spec<'_>) -> Certificate {
        let alg = seq(&[oid(&ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"))]);
        let mut tbs_parts = vec![
            encode_tlv(0xa0, &encode_tlv(TAG_INTEGER, &[2])),
            encode_tlv(TAG_INTEGER, &[0x01, 0x23, 0x45]),
            alg.clone(),
            name(spec.issuer),
            seq(&[utc_time(spec.not_before), utc_time(spec.not_after)]),
            name(spec.subject),
            spec.key.spki(),
        ];
        if !spec.exts.is_empty() {
            tbs_parts.push(encode_tlv(0xa3, &seq(&spec.exts)));
        }
        let tbs = seq(&tbs_parts);
        let sig = spec
            .issuer_key
            .0
            .sign(&SystemRandom::new(), &tbs)
            .expect("sign");
        let mut bits = vec![0u8];
        bits.extend_from_slice(sig.as_ref());
        let der = seq(&[tbs, alg, encode_tlv(TAG_BIT_STRING, &bits)]);
        Certificate::from_der(&der).expect("built certificate parses")
    }

    const DAY: i64 = 86_400;

    fn now() -> i64 {
        secs_from_system_time(SystemTime::now())
    }

    /// Root -> intermediate -> leaf, all valid from a year ago for two years.
    struct Gen {
        root_key: Key,
        int_key: Key,
        leaf_key: Key,
        root: Certificate,
        int: Certificate,
    }

    fn gen_pki() -> Gen {
        let (root_key, int_key, leaf_key) = (Key::new(), Key::new(), Key::new());
        let (nb, na) = (now() - 365 * DAY, now() + 365 * DAY);
        let root = build(Spec {
            subject: "Gen Root",
            issuer: "Gen Root",
            key: &root_key,
            issuer_key: &root_key,
            not_before: nb,
            not_after: na,
            exts: vec![bc(true, None), ku(0x06)],
        });
        let int = build(Spec {
            subject: "Gen Int",
            issuer: "Gen Root",
            key: &int_key,
            issuer_key: &root_key,
            not_before: nb,
            not_after: na,
            exts: vec![bc(true, Some(0)), ku(0x06)],
        });
        Gen {
            root_key,
            int_key,
            leaf_key,
            root,
            int,
        }
    }

    fn leaf_with(g: &Gen, not_before: i64, not_after: i64, exts: Vec<Vec<u8>>) -> Certificate {
        build(Spec {
            subject: "Gen Leaf",
            issuer: "Gen Int",
            key: &g.leaf_key,
            issuer_key: &g.int_key,
            not_before,
            not_after,
            exts,
        })
    }

    fn signing_exts() -> Vec<Vec<u8>> {
        vec![bc(false, None), ku(0x80), eku(&[OID_EKU_CODE_SIGNING])]
    }

    fn at_not_before(c: &Certificate) -> SystemTime {
        c.validity().0
    }

    // --- vectors ---

    #[test]
    fn model_transparency_pki_validates() {
        let Some(p) = mt_pki() else { return };
        // The leaf is self-issued (subject == issuer == intermediate-ca) and a CA, yet signed by
        // the intermediate: it must not be mistaken for a self-signed root.
        assert_eq!(p.leaf.subject(), p.leaf.issuer());
        assert!(!p.leaf.is_self_signed());
        assert!(p.root.is_self_signed());
        let at = at_not_before(&p.leaf);
        validate_chain(&p.leaf, one(&p.int), one(&p.root), at).expect("valid chain");
        // The root may also travel in the bundle's chain.
        validate_chain(&p.leaf, &[p.int.clone(), p.root.clone()], one(&p.root), at)
            .expect("valid chain with root in the untrusted list");
        // Or the intermediate may be trusted along with the root.
        validate_chain(&p.leaf, &[], &[p.int.clone(), p.root.clone()], at)
            .expect("valid chain with trusted intermediate");
        check_signing_usage(&p.leaf).expect("signing usage");
    }

    #[test]
    fn peer_pki_validates() {
        let Some(p) = peer_pki() else { return };
        assert_eq!(p.root.subject(), "CN=Test Root CA");
        let at = at_not_before(&p.leaf);
        validate_chain(&p.leaf, one(&p.int), one(&p.root), at).expect("valid chain");
        check_signing_usage(&p.leaf).expect("signing usage");
    }

    #[test]
    fn intermediate_only_anchor_fails() {
        for p in [mt_pki(), peer_pki()].into_iter().flatten() {
            let at = at_not_before(&p.leaf);
            let err = validate_chain(&p.leaf, &[], one(&p.int), at).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("no trusted root"), "{msg}");
            assert!(msg.contains("partial chains"), "{msg}");
            let err = validate_chain(&p.leaf, one(&p.int), one(&p.int), at).unwrap_err();
            assert!(matches!(err, ChainError::NoTrustedRoot { .. }), "{err}");
        }
    }

    #[test]
    fn unrelated_anchor_fails() {
        let (Some(mt), Some(peer)) = (mt_pki(), peer_pki()) else {
            return;
        };
        let at = at_not_before(&mt.leaf);
        let err = validate_chain(&mt.leaf, one(&mt.int), one(&peer.root), at).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("no trusted root found for 'CN=intermediate-ca'"),
            "{msg}"
        );
        assert!(msg.contains("'CN=root-ca'"), "{msg}");
        // Without the intermediate the leaf's issuer is missing.
        let err = validate_chain(&mt.leaf, &[], one(&mt.root), at).unwrap_err();
        assert!(
            err.to_string()
                .contains("issuer 'CN=intermediate-ca' not in the chain"),
            "{err}"
        );
    }

    #[test]
    fn fingerprint_matches_openssl_format() {
        let Some(p) = peer_pki() else { return };
        let fp = p.root.fingerprint();
        assert_eq!(fp.len(), 32 * 3 - 1);
        assert!(fp
            .chars()
            .all(|c| c == ':' || c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    }

    // --- generated chains ---

    #[test]
    fn generated_chain_validates() {
        let g = gen_pki();
        let leaf = leaf_with(&g, now() - DAY, now() + DAY, signing_exts());
        validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).expect("valid");
        check_signing_usage(&leaf).expect("usage");
        leaf.public_key().ok(); // keys.rs may still be a stub; must not panic either way
    }

    #[test]
    fn broken_link_fails() {
        let g = gen_pki();
        // Same issuer name as the intermediate, but signed with an unrelated key.
        let other = Key::new();
        let leaf = build(Spec {
            subject: "Gen Leaf",
            issuer: "Gen Int",
            key: &g.leaf_key,
            issuer_key: &other,
            not_before: now() - DAY,
            not_after: now() + DAY,
            exts: signing_exts(),
        });
        let err = validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "signature on 'CN=Gen Leaf' does not verify with issuer 'CN=Gen Int'"
        );
    }

    #[test]
    fn expired_leaf_fails_with_dates() {
        let g = gen_pki();
        let (nb, na) = (now() - 100 * DAY, now() - 10 * DAY);
        let leaf = leaf_with(&g, nb, na, signing_exts());
        let at = SystemTime::now();
        let err = validate_chain(&leaf, one(&g.int), one(&g.root), at).unwrap_err();
        let msg = err.to_string();
        let expected = format!(
            "certificate 'CN=Gen Leaf' has expired: valid {} to {}, checked at {}",
            format_secs(nb),
            format_secs(na),
            format_time(at)
        );
        assert_eq!(msg, expected);
        // Checked at its notBefore (as the reference does) it is fine.
        validate_chain(&leaf, one(&g.int), one(&g.root), at_not_before(&leaf))
            .expect("valid at notBefore");
    }

    #[test]
    fn validity_boundaries_match_openssl() {
        let g = gen_pki();
        let (nb, na) = (now() - 10 * DAY, now() + 10 * DAY);
        let leaf = leaf_with(&g, nb, na, signing_exts());
        let check =
            |t: i64| validate_chain(&leaf, one(&g.int), one(&g.root), system_time_from_secs(t));
        assert!(check(nb).is_ok());
        assert!(matches!(check(nb - 1), Err(ChainError::NotYetValid { .. })));
        assert!(check(na - 1).is_ok());
        // OpenSSL's X509_cmp_time treats equality with notAfter as expired.
        assert!(matches!(check(na), Err(ChainError::Expired { .. })));
    }

    #[test]
    fn not_yet_valid_fails() {
        let g = gen_pki();
        let leaf = leaf_with(&g, now() + 10 * DAY, now() + 100 * DAY, signing_exts());
        let err = validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("certificate 'CN=Gen Leaf' is not yet valid: valid "),
            "{err}"
        );
    }

    #[test]
    fn expired_intermediate_fails() {
        let g = gen_pki();
        let int = build(Spec {
            subject: "Gen Int",
            issuer: "Gen Root",
            key: &g.int_key,
            issuer_key: &g.root_key,
            not_before: now() - 100 * DAY,
            not_after: now() - DAY,
            exts: vec![bc(true, None), ku(0x04)],
        });
        let leaf = leaf_with(&g, now() - DAY, now() + DAY, signing_exts());
        let err = validate_chain(&leaf, &[int], one(&g.root), SystemTime::now()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("certificate 'CN=Gen Int' has expired"),
            "{err}"
        );
    }

    #[test]
    fn signing_usage_rules() {
        let g = gen_pki();
        let (nb, na) = (now() - DAY, now() + DAY);
        let none = leaf_with(&g, nb, na, vec![bc(false, None)]);
        let err = check_signing_usage(&none).unwrap_err();
        assert_eq!(
            err.to_string(),
            "certificate 'CN=Gen Leaf' cannot be used for signing: it has neither KeyUsage digitalSignature nor ExtendedKeyUsage codeSigning"
        );
        // The chain itself is fine: validate_chain does not check the leaf's usage.
        validate_chain(&none, one(&g.int), one(&g.root), SystemTime::now()).expect("chain");

        let wrong = leaf_with(
            &g,
            nb,
            na,
            vec![
                ku(0x20),
                eku(&[ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1")]),
            ],
        );
        assert!(check_signing_usage(&wrong).is_err());
        let eku_only = leaf_with(&g, nb, na, vec![ku(0x20), eku(&[OID_EKU_CODE_SIGNING])]);
        check_signing_usage(&eku_only).expect("EKU codeSigning suffices");
        let ku_only = leaf_with(&g, nb, na, vec![ku(0x80)]);
        check_signing_usage(&ku_only).expect("KU digitalSignature suffices");
        let no_ku_eku = leaf_with(&g, nb, na, vec![eku(&[OID_EKU_CODE_SIGNING])]);
        check_signing_usage(&no_ku_eku).expect("missing KU counts as absent");
    }

    #[test]
    fn issuer_must_be_a_ca() {
        let g = gen_pki();
        let (nb, na) = (now() - DAY, now() + DAY);
        for (exts, reason) in [
            (vec![bc(false, None)], "basicConstraints CA:FALSE"),
            (vec![bc(true, None), ku(0x80)], "keyCertSign"),
            (vec![], "no basicConstraints"),
            (vec![ku(0x04)], "only a root"),
        ] {
            let int = build(Spec {
                subject: "Gen Int",
                issuer: "Gen Root",
                key: &g.int_key,
                issuer_key: &g.root_key,
                not_before: nb,
                not_after: na,
                exts,
            });
            let leaf = leaf_with(&g, nb, na, signing_exts());
            let err = validate_chain(&leaf, &[int], one(&g.root), SystemTime::now()).unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with("'CN=Gen Int' is not a CA ("), "{msg}");
            assert!(msg.contains(reason), "{msg}");
            assert!(msg.ends_with("but issued 'CN=Gen Leaf'"), "{msg}");
        }
    }

    #[test]
    fn path_length_enforced() {
        let g = gen_pki();
        let (nb, na) = (now() - DAY, now() + DAY);
        // Root -> Int (pathlen:0) -> Sub -> leaf: Int may not have a CA below it.
        let sub_key = Key::new();
        let sub = build(Spec {
            subject: "Gen Sub",
            issuer: "Gen Int",
            key: &sub_key,
            issuer_key: &g.int_key,
            not_before: nb,
            not_after: na,
            exts: vec![bc(true, None), ku(0x04)],
        });
        let leaf = build(Spec {
            subject: "Gen Leaf",
            issuer: "Gen Sub",
            key: &g.leaf_key,
            issuer_key: &sub_key,
            not_before: nb,
            not_after: na,
            exts: signing_exts(),
        });
        let err = validate_chain(
            &leaf,
            &[sub, g.int.clone()],
            one(&g.root),
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ChainError::PathLength {
                    pathlen: 0,
                    below: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn unknown_critical_extension_fails() {
        let g = gen_pki();
        let mut exts = signing_exts();
        exts.push(ext(
            &ObjectIdentifier::new_unwrap("1.2.3.4.5"),
            true,
            vec![0x05, 0x00],
        ));
        let leaf = leaf_with(&g, now() - DAY, now() + DAY, exts);
        let err = validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "certificate 'CN=Gen Leaf' has an unhandled critical extension 1.2.3.4.5"
        );
        // Non-critical unknown extensions are ignored.
        let mut exts = signing_exts();
        exts.push(ext(
            &ObjectIdentifier::new_unwrap("1.2.3.4.5"),
            false,
            vec![0x05, 0x00],
        ));
        let leaf = leaf_with(&g, now() - DAY, now() + DAY, exts);
        validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).expect("ok");
    }

    #[test]
    fn self_signed_leaf_needs_to_be_trusted() {
        let key = Key::new();
        let leaf = build(Spec {
            subject: "Lonely",
            issuer: "Lonely",
            key: &key,
            issuer_key: &key,
            not_before: now() - DAY,
            not_after: now() + DAY,
            exts: vec![ku(0x80)],
        });
        assert!(leaf.is_self_signed());
        validate_chain(&leaf, &[], one(&leaf), SystemTime::now()).expect("trusted leaf");
        let err = validate_chain(&leaf, one(&leaf), &[], SystemTime::now()).unwrap_err();
        assert!(
            err.to_string()
                .contains("is self-signed and is not among the trusted"),
            "{err}"
        );
    }

    #[test]
    fn name_comparison_is_canonical() {
        let g = gen_pki();
        // Issuer written with different case and spacing still names the intermediate.
        let leaf = build(Spec {
            subject: "Gen Leaf",
            issuer: "  gen   INT ",
            key: &g.leaf_key,
            issuer_key: &g.int_key,
            not_before: now() - DAY,
            not_after: now() + DAY,
            exts: signing_exts(),
        });
        validate_chain(&leaf, one(&g.int), one(&g.root), SystemTime::now()).expect("ok");
    }

    #[test]
    fn name_constraints_apply() {
        let g = gen_pki();
        let (nb, na) = (now() - DAY, now() + DAY);
        let dns_subtree = |d: &str| seq(&[encode_tlv(0x82, d.as_bytes())]);
        let nc_ext = |permitted: Vec<Vec<u8>>, excluded: Vec<Vec<u8>>| {
            let mut parts = Vec::new();
            if !permitted.is_empty() {
                parts.push(encode_tlv(0xa0, &permitted.concat()));
            }
            if !excluded.is_empty() {
                parts.push(encode_tlv(0xa1, &excluded.concat()));
            }
            ext(&OID_NAME_CONSTRAINTS, true, seq(&parts))
        };
        let san = |d: &str| {
            ext(
                &OID_SUBJECT_ALT_NAME,
                false,
                seq(&[encode_tlv(0x82, d.as_bytes())]),
            )
        };
        for (nc, leaf_san, ok) in [
            (
                nc_ext(vec![dns_subtree("example.com")], vec![]),
                "a.example.com",
                true,
            ),
            (
                nc_ext(vec![dns_subtree("example.com")], vec![]),
                "example.org",
                false,
            ),
            (
                nc_ext(vec![dns_subtree("example.com")], vec![]),
                "badexample.com",
                false,
            ),
            (
                nc_ext(vec![], vec![dns_subtree("evil.example.com")]),
                "x.evil.example.com",
                false,
            ),
            (
                nc_ext(vec![], vec![dns_subtree("evil.example.com")]),
                "good.example.com",
                true,
            ),
        ] {
            let int = build(Spec {
                subject: "Gen Int",
                issuer: "Gen Root",
                key: &g.int_key,
                issuer_key: &g.root_key,
                not_before: nb,
                not_after: na,
                exts: vec![bc(true, None), ku(0x04), nc],
            });
            let mut exts = signing_exts();
            exts.push(san(leaf_san));
            let leaf = leaf_with(&g, nb, na, exts);
            let r = validate_chain(&leaf, &[int], one(&g.root), SystemTime::now());
            assert_eq!(r.is_ok(), ok, "{leaf_san}: {r:?}");
            if let Err(e) = r {
                assert!(matches!(e, ChainError::NameConstraints { .. }), "{e}");
            }
        }
    }

    #[test]
    fn look_alike_mesh_is_bounded() {
        // Every CA is named "Loop", issued by "Loop", and cross-signed by every key: the number of
        // simple paths explodes, so only the work budget keeps this fast.
        let keys: Vec<Key> = (0..6).map(|_| Key::new()).collect();
        let kid = |i: usize| {
            ext(
                &OID_SUBJECT_KEY_ID,
                false,
                encode_tlv(TAG_OCTET_STRING, &[i as u8]),
            )
        };
        let akid = |j: usize| {
            ext(
                &OID_AUTHORITY_KEY_ID,
                false,
                seq(&[encode_tlv(0x80, &[j as u8])]),
            )
        };
        let (nb, na) = (now() - DAY, now() + DAY);
        let mut mesh = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            for (j, signer) in keys.iter().enumerate() {
                if i == j {
                    continue; // self-signed ones would end the search
                }
                mesh.push(build(Spec {
                    subject: "Loop",
                    issuer: "Loop",
                    key,
                    issuer_key: signer,
                    not_before: nb,
                    not_after: na,
                    exts: vec![bc(true, None), kid(i), akid(j)],
                }));
            }
        }
        let leaf_key = Key::new();
        let leaf = build(Spec {
            subject: "Mesh Leaf",
            issuer: "Loop",
            key: &leaf_key,
            issuer_key: &keys[0],
            not_before: nb,
            not_after: na,
            exts: vec![akid(0), ku(0x80)],
        });
        let g = gen_pki();
        // 30 intermediates are more than a bundle may carry.
        let err = validate_chain(&leaf, &mesh, one(&g.root), SystemTime::now()).unwrap_err();
        assert!(matches!(err, ChainError::Limit(_)), "{err}");

        // The path search itself, below the chain-length check: the step budget ends it, and
        // the memo means no (child, issuer) pair is verified twice and no TBS hashed twice.
        let started = Instant::now();
        let deadline = started + PATH_BUILDING_DEADLINE;
        let mut b = PathBuilder::new(&leaf, &mesh, one(&g.root), now(), deadline);
        let mut path = vec![Step {
            node: 0,
            trusted_phase: false,
        }];
        assert!(!b.extend(&mut path));
        let elapsed = started.elapsed();
        assert!(b.steps > MAX_STEPS, "the step budget ended it: {}", b.steps);
        assert!(!b.timed_out, "{elapsed:?}");
        let n = b.certs.len();
        assert!(
            b.digests.len() <= n,
            "{} digests for {n} certificates",
            b.digests.len()
        );
        assert!(
            b.sig_cache.len() <= n * n,
            "{} signature checks",
            b.sig_cache.len()
        );
        assert!(
            matches!(b.best, Some((_, ChainError::NoTrustedRoot { .. }))),
            "{:?}",
            b.best
        );
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");

        // A 15-intermediate mesh (the most a bundle may hold) is within bounds too.
        let started = Instant::now();
        let err = validate_chain(&leaf, &mesh[..15], one(&g.root), SystemTime::now()).unwrap_err();
        assert!(matches!(err, ChainError::NoTrustedRoot { .. }), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn path_building_deadline_fails_validation() {
        let g = gen_pki();
        let leaf = leaf_with(&g, now() - DAY, now() + DAY, signing_exts());
        let at = SystemTime::now();
        validate_chain(&leaf, one(&g.int), one(&g.root), at).expect("valid in time");
        // A deadline already passed: the search stops at its first step.
        let err =
            validate_chain_until(&leaf, one(&g.int), one(&g.root), at, Instant::now()).unwrap_err();
        assert!(matches!(err, ChainError::Limit(_)), "{err}");
        let msg = err.to_string();
        assert!(
            msg.starts_with("certificate path building exceeded the time limit of 2 s"),
            "{msg}"
        );
    }

    #[test]
    fn look_alike_issuers_are_each_verified_once() {
        // Twenty CAs share the intermediate's name; one of them (the real one) signed the leaf.
        let g = gen_pki();
        let (nb, na) = (now() - DAY, now() + DAY);
        let decoy_keys: Vec<Key> = (0..20).map(|_| Key::new()).collect();
        let mut ints: Vec<Certificate> = decoy_keys
            .iter()
            .map(|k| {
                build(Spec {
                    subject: "Gen Int",
                    issuer: "Gen Root",
                    key: k,
                    issuer_key: &g.root_key,
                    not_before: nb,
                    not_after: na,
                    exts: vec![bc(true, None), ku(0x06)],
                })
            })
            .collect();
        ints.push(g.int.clone());
        let leaf = leaf_with(&g, nb, na, signing_exts());
        let mut b = PathBuilder::new(
            &leaf,
            &ints,
            one(&g.root),
            now(),
            Instant::now() + PATH_BUILDING_DEADLINE,
        );
        let mut path = vec![Step {
            node: 0,
            trusted_phase: false,
        }];
        assert!(b.extend(&mut path), "{:?}", b.best);
        // The leaf's TBS was hashed once for all 21 candidates it was checked against.
        let leaf_checks = b.sig_cache.keys().filter(|(c, _)| *c == 0).count();
        assert_eq!(leaf_checks, 21);
        let leaf_digests = b.digests.keys().filter(|(c, _)| *c == 0).count();
        assert_eq!(leaf_digests, 1);
    }

    #[test]
    fn canonical_text_rules() {
        assert_eq!(canon_text(b"  Foo \t  Bar  "), b"foo bar".to_vec());
        assert_eq!(canon_text(b""), Vec::<u8>::new());
        assert_eq!(canon_text("ÄB".as_bytes()), "Äb".as_bytes().to_vec());
    }

    // --- parsing ---

    #[test]
    fn pem_parsing() {
        let g = gen_pki();
        let pem_text =
            |c: &Certificate| pem::encode(&pem::Pem::new("CERTIFICATE", c.der().to_vec()));
        let both = format!(
            "junk before\n{}some text\n{}",
            pem_text(&g.root),
            pem_text(&g.int)
        );
        let certs = parse_pem_certificates(both.as_bytes()).expect("two certs");
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0].subject(), "CN=Gen Root");
        assert_eq!(certs[1].subject(), "CN=Gen Int");
        // DER input is accepted too.
        let der = parse_pem_certificates(g.root.der()).expect("der");
        assert_eq!(der[0].der(), g.root.der());
        // A PEM file with only a key has no certificate.
        let key_only = pem::encode(&pem::Pem::new("PRIVATE KEY", vec![1, 2, 3]));
        assert!(matches!(
            parse_pem_certificates(key_only.as_bytes()),
            Err(ChainError::NoCertificates(_))
        ));
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(parse_pem_certificates(b"").is_err());
        assert!(parse_pem_certificates(b"hello world").is_err());
        assert!(parse_pem_certificates(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
        let bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            parse_pem_certificates(bad.as_bytes()),
            Err(ChainError::Parse(_))
        ));
        let bad_b64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(parse_pem_certificates(bad_b64.as_bytes()).is_err());
        // Truncations of a valid certificate never panic.
        let g = gen_pki();
        for n in 0..g.int.der().len() {
            assert!(Certificate::from_der(&g.int.der()[..n]).is_err());
        }
    }

    #[test]
    fn time_formatting() {
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(format_secs(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_secs(1_746_228_988), "2025-05-02T23:36:28Z");
        assert_eq!(format_secs(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(format_secs(-1), "1969-12-31T23:59:59Z");
        assert_eq!(
            format_time(UNIX_EPOCH - Duration::from_millis(1)),
            "1969-12-31T23:59:59Z"
        );
    }
}
