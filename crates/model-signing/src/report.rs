//! Typed results: what a signing or a verification established, and every way a model can differ
//! from its signature. They derive `serde::Serialize`, so a caller can hand them out as JSON (the
//! CLI's `--output json` serialises these types, it does not build JSON of its own); digests are
//! serialised as lowercase hex.
//!
//! This module depends on nothing but the hashing types, so that [`crate::error`] can hold a
//! [`MismatchReport`] without importing the verifier.

use serde::{Serialize, Serializer};
use std::fmt;

/// How a model was (or is to be) signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Method {
    /// Sigstore keyless: a Fulcio certificate for an OIDC identity, logged in Rekor.
    Sigstore,
    /// An EC private key (the bundle names its public key by hint).
    Key,
    /// An EC private key with an X.509 certificate chain.
    Certificate,
    /// A key on a PKCS#11 token.
    Pkcs11Key,
    /// A key on a PKCS#11 token with an X.509 certificate chain.
    Pkcs11Certificate,
}

impl Method {
    /// The method's name: `sigstore`, `key`, `certificate`, `pkcs11-key`, `pkcs11-certificate`.
    pub fn name(self) -> &'static str {
        match self {
            Method::Sigstore => "sigstore",
            Method::Key => "key",
            Method::Certificate => "certificate",
            Method::Pkcs11Key => "pkcs11-key",
            Method::Pkcs11Certificate => "pkcs11-certificate",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Serialises a digest as lowercase hex.
pub(crate) fn hex_digest<S: Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(d))
}

/// Serialises an optional digest as lowercase hex (or `null`).
pub(crate) fn hex_digest_opt<S: Serializer>(d: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&hex::encode(d)),
        None => s.serialize_none(),
    }
}

/// A changed resource.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Changed {
    /// Resource name.
    pub name: String,
    /// Signed digest (hex).
    pub expected: String,
    /// Digest of the file on disk (hex).
    pub actual: String,
}

/// A sharded file whose size on disk is not the size its signed shards describe. It is reported
/// without being read: hashing it would mean planning work for content that was never signed (a
/// file grown to 1 GiB after signing with 1-byte shards would need a billion work items).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Resized {
    /// File name (model-relative, without a shard range).
    pub name: String,
    /// The size the signed shards describe: the end of the last one.
    pub expected_size: u64,
    /// The size on disk.
    pub actual_size: u64,
}

/// A resource whose content is as signed but whose description is not: an OCI layer whose media
/// type, position or annotations differ from what the signature recorded (runtimes act on them).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Altered {
    /// Resource name.
    pub name: String,
    /// What differs: `role` (config, or layer and position), `media type` or `annotations`.
    pub field: String,
    /// As signed.
    pub expected: String,
    /// As found.
    pub actual: String,
}

/// Every difference between the signed manifest and the model on disk.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MismatchReport {
    /// Signed resources with no counterpart on disk.
    pub missing: Vec<String>,
    /// Resources on disk that were not signed.
    pub extra: Vec<String>,
    /// Resources whose digest differs.
    pub changed: Vec<Changed>,
    /// Sharded files whose size differs from the signed one (counted and shown as changed; their
    /// shards are not listed as missing). Left out of JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resized: Vec<Resized>,
    /// OCI resources whose digest is as signed but whose description differs (counted and shown
    /// as changed). Left out of JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub altered: Vec<Altered>,
}

impl MismatchReport {
    /// True when model and manifest agree.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.changed.is_empty()
            && self.resized.is_empty()
            && self.altered.is_empty()
    }
}

/// A resource name for the text report: names come from the model tree or a signature, so they
/// are shown escaped (one line, no terminal control); the JSON report has them as they are.
fn shown(name: &str) -> String {
    crate::error::untrusted_text(name, 4096)
}

impl fmt::Display for MismatchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the model does not match its signature: {} changed, {} missing, {} extra",
            self.changed.len() + self.resized.len() + self.altered.len(),
            self.missing.len(),
            self.extra.len()
        )?;
        for c in &self.changed {
            write!(
                f,
                "\n  changed: {} (expected {}, actual {})",
                shown(&c.name),
                c.expected,
                c.actual
            )?;
        }
        for r in &self.resized {
            write!(
                f,
                "\n  changed: {} (expected size {} bytes, actual size {} bytes)",
                shown(&r.name),
                r.expected_size,
                r.actual_size
            )?;
        }
        for a in &self.altered {
            write!(
                f,
                "\n  changed: {} ({}: expected {}, actual {})",
                shown(&a.name),
                a.field,
                a.expected,
                a.actual
            )?;
        }
        for m in &self.missing {
            write!(f, "\n  missing: {}", shown(m))?;
        }
        for e in &self.extra {
            write!(f, "\n  extra:   {} (not signed)", shown(e))?;
        }
        Ok(())
    }
}

impl Serialize for crate::hashing::HashAlgorithm {
    /// As its name: `sha256`, `blake2b`, `blake3`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Serialises a [`crate::hashing::Serialization`] as its method name (`files` or `shards`); the
/// shard size is a field of its own in the reports.
pub(crate) fn serialization_method<S: Serializer>(
    v: &crate::hashing::Serialization,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.method())
}
