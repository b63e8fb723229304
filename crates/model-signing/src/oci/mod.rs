//! Models in OCI registries: sign and verify an image by reference (`oci://REGISTRY/REPO:TAG` or
//! `@sha256:…`) without pulling it, or a local manifest file (`*.json`, as `skopeo inspect --raw`
//! writes it), and verify a pulled copy (an `oras pull` directory) like any other model.
//!
//! **The statement** (the Go port's wherever it is unambiguous): one resource per layer, named by
//! its `org.opencontainers.image.title` annotation, else `layer_%03d.tar.gz` with the layer's
//! index; digest = the descriptor's SHA-256. Plus the config blob as `config.json`, unless a layer
//! is titled `config.json` (rh-model-signing's rule; every Hugging Face model has one). Two
//! resources with one name are an error (the Go port lets the last one win silently). Resources
//! are sorted bytewise; the subject digest is SHA-256 over their raw digests in that order; the
//! subject name is the repository's last path segment (registry) or the file stem (local file);
//! serialization `{"method":"files","hash_type":"sha256","allow_symlinks":false,"ignore_paths":[]}`.
//! An ORAS-pulled directory holds one file per titled layer whose SHA-256 is the layer digest, so
//! it verifies with the ordinary file verifier (a config blob the directory lacks is missing).
//!
//! Only the manifest is fetched ([`registry`], feature `oci`), never a blob: what is signed is the
//! registry's content addresses. Layer media types, order and annotations other than the title are
//! not signed (nor in the Go port or rh-model-signing).
//!
//! Not implemented yet: pushing the bundle to the registry and discovering it there (`--attach`,
//! referrers and the `sha256-<digest>.sig` tag); see `docs/design/oci.md`.

pub mod image;
pub mod reference;
#[cfg(feature = "oci")]
pub mod registry;

use crate::error::{Error, Result};
use crate::hashing::{HashAlgorithm, Serialization};
use crate::sign::{ModelSize, PreparedStatement, SignOutcome, Signer};
use crate::statement::SerializationInfo;
use crate::verify::{BundleVerifier, VerifyReport};
use image::ImageManifest;
use reference::OciRef;
use std::path::{Path, PathBuf};

/// What a model path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A directory or file, hashed as usual.
    Files(PathBuf),
    /// A local OCI image manifest (`*.json` with `schemaVersion` 2 and `layers`).
    ManifestFile(PathBuf),
    /// An image in a registry.
    Registry(OciRef),
}

/// Tells what `model` names: an `oci://` reference, a local manifest file (a regular `.json`
/// file of at most [`image::MAX_MANIFEST_BYTES`] whose top level has `schemaVersion` 2 and a
/// `layers` or `manifests` list, the Go port's test made stricter), or files.
pub fn detect(model: &Path) -> Result<ModelSource> {
    if is_reference(model) {
        return Ok(ModelSource::Registry(reference::parse(
            &model.to_string_lossy(),
        )?));
    }
    let is_json = model
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if !is_json {
        return Ok(ModelSource::Files(model.to_path_buf()));
    }
    let Ok(meta) = std::fs::symlink_metadata(model) else {
        return Ok(ModelSource::Files(model.to_path_buf()));
    };
    if !meta.is_file() || meta.len() > image::MAX_MANIFEST_BYTES as u64 {
        return Ok(ModelSource::Files(model.to_path_buf()));
    }
    let bytes = std::fs::read(model).map_err(|e| Error::io(model, e))?;
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        schema_version: Option<serde_json::Value>,
        layers: Option<serde::de::IgnoredAny>,
        manifests: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_slice::<Probe>(&bytes) {
        Ok(p)
            if p.schema_version.as_ref().and_then(|v| v.as_i64()) == Some(2)
                && (p.layers.is_some() || p.manifests.is_some()) =>
        {
            Ok(ModelSource::ManifestFile(model.to_path_buf()))
        }
        _ => Ok(ModelSource::Files(model.to_path_buf())),
    }
}

/// Whether `model` is an `oci://` registry reference (any case of the scheme).
pub fn is_reference(model: &Path) -> bool {
    model
        .to_string_lossy()
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("oci://"))
}

/// [`detect`], for callers that also took [`OciOptions`]: `None` for files, which the options
/// (plain http, a platform) cannot apply to, and giving them for files is an error.
pub fn detect_with(model: &Path, opts: &OciOptions) -> Result<Option<ModelSource>> {
    match detect(model)? {
        ModelSource::Files(_) => {
            #[cfg(feature = "oci")]
            let plain_http = opts.registry.plain_http;
            #[cfg(not(feature = "oci"))]
            let plain_http = false;
            if plain_http || opts.platform.is_some() {
                return Err(Error::Config(
                    "the plain-http and platform options apply only to oci:// models and \
                     manifest files"
                        .into(),
                ));
            }
            Ok(None)
        }
        source => Ok(Some(source)),
    }
}

/// How to reach an image.
#[derive(Debug, Clone, Default)]
pub struct OciOptions {
    /// For an image index: the platform (`os/arch[/variant]`) whose manifest is meant.
    pub platform: Option<String>,
    /// Registry access.
    #[cfg(feature = "oci")]
    pub registry: registry::RegistryOptions,
}

/// A manifest, fetched and validated.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    /// The image manifest.
    pub image: ImageManifest,
    /// SHA-256 of the manifest's bytes (the image's content address).
    pub manifest_digest: [u8; 32],
    /// The manifest's size in bytes.
    pub manifest_size: u64,
    /// The statement's subject name.
    pub subject_name: String,
    /// Where it came from, for messages.
    pub source: String,
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Reads and validates the manifest `source` names (not for [`ModelSource::Files`]).
pub fn load(source: &ModelSource, opts: &OciOptions) -> Result<LoadedImage> {
    match source {
        ModelSource::Files(p) => Err(Error::Config(format!(
            "'{}' is not an OCI manifest or reference",
            p.display()
        ))),
        ModelSource::ManifestFile(p) => {
            use std::io::Read;
            let f = std::fs::File::open(p).map_err(|e| Error::io(p, e))?;
            let mut raw = Vec::new();
            f.take(image::MAX_MANIFEST_BYTES as u64 + 1)
                .read_to_end(&mut raw)
                .map_err(|e| Error::io(p, e))?;
            let shown = p.display().to_string();
            let parsed = image::parse(&raw)?;
            if let (image::Parsed::Index(entries), Some(_)) = (&parsed, &opts.platform) {
                return Err(Error::Model(format!(
                    "'{shown}' is an image index ({}); a local index cannot be followed: save the \
                     chosen platform's manifest instead",
                    image::platforms(entries)
                )));
            }
            let image = image::require_image(parsed, &shown)?;
            let stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            Ok(LoadedImage {
                image,
                manifest_digest: sha256(&raw),
                manifest_size: raw.len() as u64,
                subject_name: stem,
                source: shown,
            })
        }
        ModelSource::Registry(r) => load_registry(r, opts),
    }
}

#[cfg(feature = "oci")]
fn load_registry(r: &OciRef, opts: &OciOptions) -> Result<LoadedImage> {
    let raw = registry::fetch_manifest(r, &opts.registry)?;
    let shown = r.to_string();
    let (raw, image) = match (image::parse(&raw)?, &opts.platform) {
        (image::Parsed::Image(m), _) => (raw, m),
        (image::Parsed::Index(entries), Some(platform)) => {
            let chosen = image::select_platform(&entries, platform)?;
            let digest = format!("sha256:{}", hex::encode(chosen.digest));
            let raw = registry::fetch(r, &digest, &opts.registry)?;
            if sha256(&raw) != chosen.digest {
                return Err(Error::Registry(format!(
                    "registry {}: the manifest served for {digest} does not hash to it",
                    r.registry
                )));
            }
            let image =
                image::require_image(image::parse(&raw)?, &format!("{shown} ({platform})"))?;
            (raw, image)
        }
        (parsed @ image::Parsed::Index(_), None) => (raw, image::require_image(parsed, &shown)?),
    };
    Ok(LoadedImage {
        image,
        manifest_digest: sha256(&raw),
        manifest_size: raw.len() as u64,
        subject_name: r.subject_name(),
        source: shown,
    })
}

#[cfg(not(feature = "oci"))]
fn load_registry(r: &OciRef, _opts: &OciOptions) -> Result<LoadedImage> {
    Err(Error::Unsupported(format!(
        "fetching '{r}' in a build without the `oci` feature"
    )))
}

/// The serialization every OCI signature records.
pub fn serialization() -> SerializationInfo {
    SerializationInfo {
        serialization: Serialization::Files,
        hash_type: HashAlgorithm::Sha256,
        allow_symlinks: false,
        ignore_paths: Vec::new(),
        ignore_paths_recorded: true,
    }
}

/// The statement of an image, ready for any [`Signer`].
pub fn prepare(img: &LoadedImage) -> Result<PreparedStatement> {
    let m = image::resources(&img.image)?;
    let payload = crate::statement::encode(&img.subject_name, &serialization(), &m)?;
    Ok(PreparedStatement {
        payload,
        root_digest: m.root_digest(),
        files: m.resources.len(),
        resources: m.resources.len(),
    })
}

/// Signs the image `source` names with `signer` and writes the bundle to `signature` atomically
/// (checked first, as [`crate::sign::sign_model`] does). Returns the outcome and the manifest that
/// was signed.
pub fn sign_model(
    source: &ModelSource,
    opts: &OciOptions,
    signer: &dyn Signer,
    signature: &Path,
) -> Result<(SignOutcome, LoadedImage)> {
    crate::sign::check_signature_path(signature)?;
    let img = load(source, opts)?;
    let prepared = prepare(&img)?;
    let bytes = img
        .image
        .layers
        .iter()
        .fold(img.image.config.size, |n, l| n.saturating_add(l.size));
    signer.check_before_hashing(&ModelSize {
        files: prepared.files,
        bytes,
    })?;
    let signed = signer.sign_statement(&prepared)?;
    crate::sign::write_atomic(signature, &signed.bytes)?;
    Ok((
        SignOutcome {
            method: signer.method(),
            root_digest: prepared.root_digest,
            files: prepared.files,
            resources: prepared.resources,
            identity: signed.identity,
            signature_ignored_as: None,
            warnings: signed.warnings,
        },
        img,
    ))
}

/// Verifies the image `source` names against the bundle at `signature`: the signature and signer
/// first, then the manifest (fetched now) must list exactly the signed resources; every missing,
/// extra and changed layer is reported. With `ignore_unsigned`, resources the signature does not
/// list are tolerated.
pub fn verify_model(
    source: &ModelSource,
    opts: &OciOptions,
    signature: &Path,
    verifier: &dyn BundleVerifier,
    ignore_unsigned: bool,
) -> Result<(VerifyReport, LoadedImage)> {
    let bundle = crate::bundle::read(signature)?;
    let (signer, st) = signed_statement(&bundle, verifier)?;
    let img = load(source, opts)?;
    Ok((compare_image(signer, &st, &img, ignore_unsigned)?, img))
}

/// The signature and signer of `bundle`, and its statement, which must be one an image can have.
fn signed_statement(
    bundle: &crate::bundle::Bundle,
    verifier: &dyn BundleVerifier,
) -> Result<(crate::verify::SignerInfo, crate::statement::Statement)> {
    let (signer, st) = crate::verify::verify_signed(bundle, verifier)?;
    let info = &st.serialization;
    if info.serialization != Serialization::Files || info.hash_type != HashAlgorithm::Sha256 {
        return Err(Error::Model(format!(
            "this signature covers files hashed with {} ({}), not an OCI manifest; verify a \
             pulled copy of the model instead",
            info.hash_type,
            info.serialization.method()
        )));
    }
    crate::manifest::validate_signed(&st.manifest, info.hash_type, info.serialization)?;
    Ok((signer, st))
}

fn compare_image(
    signer: crate::verify::SignerInfo,
    st: &crate::statement::Statement,
    img: &LoadedImage,
    ignore_unsigned: bool,
) -> Result<VerifyReport> {
    let actual = image::resources(&img.image)?;
    let mut report = crate::verify::compare(&st.manifest, &actual);
    if ignore_unsigned {
        report.extra.clear();
    }
    if !report.is_empty() {
        return Err(Error::Mismatch(Box::new(report)));
    }
    Ok(VerifyReport {
        signer,
        model_name: st.model_name.clone(),
        root_digest: st.root_digest,
        serialization: Serialization::Files,
        hash_type: HashAlgorithm::Sha256,
        shard_size: None,
        signed_ignore_paths: st.serialization.ignore_paths.clone(),
        files_checked: actual.resources.len(),
        resources: st.manifest.resources.len(),
        #[cfg(feature = "sigstore")]
        trust_root: None,
        signature_ignored_as: None,
        signature_source: None,
    })
}

/// Pushes `bundle` (the signature of `img`) to the registry `source` names, beside the image:
/// as a referrer where the registry has the referrers API, else under the tag
/// `sha256-<manifest hex>.sig` (see [`registry::attach`]).
#[cfg(feature = "oci")]
pub fn attach(
    source: &ModelSource,
    img: &LoadedImage,
    bundle: &[u8],
    opts: &OciOptions,
) -> Result<registry::attach::Location> {
    let ModelSource::Registry(r) = source else {
        return Err(Error::Config(
            "only an image in a registry can carry its signature".into(),
        ));
    };
    // The manifest that was signed, by digest: a tag that moved since cannot mix two images.
    registry::attach::push(
        r,
        &registry::attach::Subject {
            digest: img.manifest_digest,
            size: img.manifest_size,
            media_type: img.image.media_type.clone(),
        },
        bundle,
        &opts.registry,
    )
}

/// Verifies the image `source` names against the signatures attached to it in its registry
/// (newest first): the first that verifies with `verifier` and matches the manifest wins, and
/// its location is returned.
#[cfg(feature = "oci")]
pub fn verify_attached(
    source: &ModelSource,
    opts: &OciOptions,
    verifier: &dyn BundleVerifier,
    ignore_unsigned: bool,
) -> Result<(VerifyReport, LoadedImage, registry::attach::Location)> {
    let ModelSource::Registry(r) = source else {
        return Err(Error::Config(
            "a signature file is required for a local model or manifest file".into(),
        ));
    };
    let img = load(source, opts)?;
    let candidates = registry::attach::discover(r, &img.manifest_digest, &opts.registry)?;
    if candidates.is_empty() {
        return Err(Error::Signature(format!(
            "no signature is attached to {} (sha256:{}): the registry lists no referrer of ours \
             and has no tag {}; give the signature file",
            img.source,
            hex::encode(img.manifest_digest),
            registry::attach::sig_tag(&img.manifest_digest)
        )));
    }
    let mut reasons = Vec::new();
    let n = candidates.len();
    for (location, bytes) in candidates {
        let attempt = crate::bundle::parse(&bytes)
            .and_then(|b| signed_statement(&b, verifier))
            .and_then(|(signer, st)| compare_image(signer, &st, &img, ignore_unsigned));
        match attempt {
            Ok(mut report) => {
                report.signature_source = Some(location.to_string());
                return Ok((report, img, location));
            }
            Err(e) => reasons.push(format!("{location}: {}", crate::error::one_line(&e))),
        }
    }
    Err(Error::Signature(format!(
        "{n} signature(s) are attached to {}; none verifies: {}",
        img.source,
        reasons
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    )))
}
