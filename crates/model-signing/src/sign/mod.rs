//! Signing a model: hash it, build the statement, sign the DSSE PAE, write the bundle atomically.
//!
//! Each signing method implements [`Signer`]; the pipeline in [`sign_model`] is the same for all of
//! them, so a key, a certificate chain or a PKCS#11 token produce byte-compatible bundles.

pub mod certificate;
pub mod key;

use crate::bundle::{self, VerificationMaterial};
use crate::dsse;
use crate::error::{Error, Result};
use crate::hashing::HashingConfig;
use crate::manifest::Manifest;
use crate::statement::{self, SerializationInfo};
use std::io::Write;
use std::path::Path;

pub use certificate::CertificateSigner;
pub use key::KeySigner;

/// A signing method: something that can sign bytes and describe itself in the bundle.
pub trait Signer {
    /// The verification material to embed in the bundle.
    fn material(&self) -> Result<VerificationMaterial>;
    /// Signs `message` (the DSSE PAE), returning a DER ECDSA signature.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// What a successful signing produced.
#[derive(Debug, Clone)]
pub struct SignOutcome {
    /// The subject's root digest.
    pub root_digest: [u8; 32],
    /// Number of files hashed.
    pub files: usize,
    /// Number of manifest resources (files or shards).
    pub resources: usize,
}

/// The subject name Python records: the model path's final component, or the resolved directory's
/// name when the path is `.` or ends in `..`.
pub fn model_name(model: &Path) -> String {
    let direct = model
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "..");
    match direct {
        Some(n) => n.to_string(),
        None => std::fs::canonicalize(model)
            .ok()
            .and_then(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string))
            .unwrap_or_default(),
    }
}

/// A model's statement, ready to be signed by any method.
#[derive(Debug, Clone)]
pub struct PreparedStatement {
    /// The in-toto statement bytes (the DSSE payload).
    pub payload: Vec<u8>,
    /// What was hashed.
    pub outcome: SignOutcome,
}

/// Hashes `model` and builds its statement. Every method (key, certificate, PKCS#11, keyless) signs
/// exactly these bytes, so their bundles differ only in signature and verification material.
pub fn prepare(model: &Path, cfg: &HashingConfig) -> Result<PreparedStatement> {
    let cfg = cfg.clone().normalized();
    let (files, manifest) = Manifest::for_model(model, &cfg)?;
    if manifest.resources.is_empty() {
        return Err(Error::Model(format!(
            "the model '{}' has no files to sign (after ignores); refusing to sign an empty model",
            model.display()
        )));
    }
    let info = SerializationInfo {
        serialization: cfg.serialization,
        hash_type: cfg.algorithm,
        allow_symlinks: cfg.allow_symlinks,
        ignore_paths: cfg.ignore.to_sorted_vec(),
    };
    let payload = statement::encode(&model_name(model), &info, &manifest)?;
    let outcome = SignOutcome {
        root_digest: manifest.root_digest(),
        files: files.len(),
        resources: manifest.resources.len(),
    };
    Ok(PreparedStatement { payload, outcome })
}

/// Produces the bundle bytes for `model` without writing them anywhere.
pub fn sign_to_bytes(
    model: &Path,
    cfg: &HashingConfig,
    signer: &dyn Signer,
) -> Result<(Vec<u8>, SignOutcome)> {
    let prepared = prepare(model, cfg)?;
    let material = signer.material()?;
    let sig = signer.sign(&dsse::pae(dsse::PAYLOAD_TYPE, &prepared.payload))?;
    let bytes = bundle::encode(&material, dsse::PAYLOAD_TYPE, &prepared.payload, &sig)?;
    Ok((bytes, prepared.outcome))
}

/// Signs `model` and writes the bundle to `signature` atomically: on any failure no file is left
/// behind and an existing file is untouched.
pub fn sign_model(
    model: &Path,
    cfg: &HashingConfig,
    signer: &dyn Signer,
    signature: &Path,
) -> Result<SignOutcome> {
    let (bytes, outcome) = sign_to_bytes(model, cfg, signer)?;
    write_atomic(signature, &bytes)?;
    Ok(outcome)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".model-signing-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(tmp.path(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // tempfile creates 0600; a signature is public, give it the usual 0644.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(tmp.path(), e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
