//! Models in OCI registries: sign and verify an image by reference (`oci://REGISTRY/REPO:TAG` or
//! `@sha256:…`) without pulling it, or a local manifest file (`oci-manifest:PATH`, as `skopeo
//! inspect --raw` writes it), and verify a pulled copy (an `oras pull` directory) like any other
//! model.
//!
//! **What a path is, the user says**: `oci://…` is a registry reference, `oci-manifest:PATH` a
//! manifest file, anything else a model (a file or directory), which is hashed: never is the
//! content of a file allowed to decide that it is to be read as a manifest rather than hashed
//! (a replaced `config.json` could otherwise claim to be a manifest and have its claims checked
//! instead of its bytes).
//!
//! **The statement** (the Go port's wherever it is unambiguous): one resource per layer, named by
//! its `org.opencontainers.image.title` annotation, else `layer_%03d.tar.gz` with the layer's
//! index; digest = the descriptor's SHA-256. Plus the config blob as `config.json`, unless a layer
//! is titled `config.json` (rh-model-signing's rule; every Hugging Face model has one). Two
//! resources with one name are an error (the Go port lets the last one win silently), and so is a
//! title that is another position's generated name. Resources are sorted bytewise; the subject
//! digest is SHA-256 over their raw digests in that order; the subject name is the repository's
//! last path segment (registry) or the file stem (local file); serialization
//! `{"method":"files","hash_type":"sha256","allow_symlinks":false,"ignore_paths":[]}`. An
//! ORAS-pulled directory holds one file per titled layer whose SHA-256 is the layer digest, so it
//! verifies with the ordinary file verifier (a config blob the directory lacks is missing).
//!
//! **What runtimes use beyond digests** is bound too, where peers still verify the result: each
//! resource carries its descriptor's media type, its role (config, or layer and position) and its
//! annotations ([`crate::statement::OciBinding`]), which rh-model-signing, the Go port and Python
//! 1.1.1 ignore. A signature made by them carries none: verifying one reports, as a warning, that
//! media types, order and annotations are not bound. The manifest's own annotations and
//! `artifactType` are bound by no one.
//!
//! Only manifests are fetched ([`registry`], feature `oci`), and the bundles attached beside the
//! image, never a layer: what is signed is the registry's content addresses.

pub mod image;
pub mod json;
pub mod reference;
#[cfg(feature = "oci")]
pub mod registry;

use crate::error::{Error, Result};
use crate::hashing::{HashAlgorithm, Serialization};
use crate::sign::{ModelSize, PreparedStatement, SignOutcome, Signer};
use crate::statement::{OciBinding, OciRole, SerializationInfo};
use crate::verify::{BundleVerifier, VerifyReport};
use image::ImageManifest;
use reference::OciRef;
use std::path::{Path, PathBuf};

/// What a model path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A directory or file, hashed as usual.
    Files(PathBuf),
    /// A local OCI image manifest (named with [`MANIFEST_PREFIX`]).
    ManifestFile(PathBuf),
    /// An image in a registry.
    Registry(OciRef),
}

/// The prefix that makes a path name a local manifest file: `oci-manifest:bert.json`.
pub const MANIFEST_PREFIX: &str = "oci-manifest:";

/// Tells what `model` names, from its spelling alone: an `oci://` reference, a manifest file
/// (`oci-manifest:PATH`), or files. Never from a file's content.
pub fn detect(model: &Path) -> Result<ModelSource> {
    if is_reference(model) {
        return Ok(ModelSource::Registry(reference::parse(
            &model.to_string_lossy(),
        )?));
    }
    if let Some(path) = model.to_str().and_then(|s| s.strip_prefix(MANIFEST_PREFIX)) {
        if path.is_empty() {
            return Err(Error::Config(format!(
                "'{MANIFEST_PREFIX}' names no manifest file"
            )));
        }
        return Ok(ModelSource::ManifestFile(PathBuf::from(path)));
    }
    Ok(ModelSource::Files(model.to_path_buf()))
}

/// Whether `model` is an `oci://` registry reference (any case of the scheme).
pub fn is_reference(model: &Path) -> bool {
    model
        .to_string_lossy()
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("oci://"))
}

/// [`detect`], for callers that also took [`OciOptions`]: `None` for files, which the options
/// (plain http, a platform, an unsigned config) cannot apply to, and giving them for files is an
/// error.
pub fn detect_with(model: &Path, opts: &OciOptions) -> Result<Option<ModelSource>> {
    match detect(model)? {
        ModelSource::Files(_) => no_image_options(opts).map(|()| None),
        source => Ok(Some(source)),
    }
}

/// Refuses options that apply only to images (plain http, a platform, an unsigned config) for a
/// model of files.
fn no_image_options(opts: &OciOptions) -> Result<()> {
    #[cfg(feature = "oci")]
    let plain_http = opts.registry.plain_http;
    #[cfg(not(feature = "oci"))]
    let plain_http = false;
    if plain_http || opts.platform.is_some() || opts.allow_unsigned_config {
        return Err(Error::Config(
            "the plain-http, platform and unsigned-config options apply only to OCI images \
             (oci:// references and oci-manifest: files)"
                .into(),
        ));
    }
    Ok(())
}

/// [`detect_with`] for callers whose paths are not spelled by a user on a command line (the Python
/// package: `pathlib` turns `./oci-manifest:x` into `oci-manifest:x`, so no spelling could name a
/// directory of that name). The `oci-manifest:` prefix means nothing here: `manifest_file` says
/// that `model` is a manifest file; otherwise it is an `oci://` reference or files.
pub fn detect_explicit(
    model: &Path,
    manifest_file: bool,
    opts: &OciOptions,
) -> Result<Option<ModelSource>> {
    if manifest_file {
        if is_reference(model) {
            return Err(Error::Config(
                "a manifest file was named, but the path is an oci:// reference".into(),
            ));
        }
        return Ok(Some(ModelSource::ManifestFile(model.to_path_buf())));
    }
    if is_reference(model) {
        return detect_with(model, opts);
    }
    // A path, whatever it is spelled like: files.
    no_image_options(opts).map(|()| None)
}

/// How to reach an image, and what signing it may leave out.
#[derive(Debug, Clone, Default)]
pub struct OciOptions {
    /// For an image index: the platform (`os/arch[/variant]`) whose manifest is meant.
    pub platform: Option<String>,
    /// Registry access.
    #[cfg(feature = "oci")]
    pub registry: registry::RegistryOptions,
    /// Signing: sign an image whose config blob the signature would not cover (a layer is
    /// titled `config.json` and the config is not empty; see [`image::unsigned_config`]).
    pub allow_unsigned_config: bool,
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
        ModelSource::ManifestFile(p) => load_file(p, opts),
        #[cfg(feature = "oci")]
        ModelSource::Registry(r) => {
            load_registry(&mut registry::Client::new(r, &opts.registry)?, opts)
        }
        #[cfg(not(feature = "oci"))]
        ModelSource::Registry(r) => Err(Error::Unsupported(format!(
            "fetching '{r}' in a build without the `oci` feature"
        ))),
    }
}

fn load_file(p: &Path, opts: &OciOptions) -> Result<LoadedImage> {
    let shown = p.display().to_string();
    // Regular files only, read with a cap: a FIFO or /dev/zero fails at once.
    let raw = crate::secret_file::read_regular(p, image::MAX_MANIFEST_BYTES as u64)
        .map_err(|e| Error::Model(format!("cannot read the manifest file '{shown}': {e}")))?;
    let parsed = image::parse(&raw)?;
    match (&parsed, &opts.platform) {
        (image::Parsed::Index(entries), Some(_)) => {
            return Err(Error::Model(format!(
                "'{shown}' is an image index ({}); a local index cannot be followed: save the \
                 chosen platform's manifest instead",
                image::platforms(entries)
            )))
        }
        (image::Parsed::Image(_), Some(p)) => return Err(not_an_index(&shown, p)),
        _ => {}
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

/// A platform was asked for, but the document is a single image manifest: saying nothing would
/// let the user believe the platform they named was checked.
fn not_an_index(shown: &str, platform: &str) -> Error {
    Error::Model(format!(
        "'{shown}' is a single image manifest, not an index: it has no platforms to choose \
         '{}' from",
        platform.escape_debug()
    ))
}

/// The manifest `r` names, through `client`; an index is followed to the chosen platform's
/// manifest, which must hash to the digest the index gives it (and the index to the digest in
/// the reference, when it has one).
#[cfg(feature = "oci")]
pub(crate) fn load_registry(
    client: &mut registry::Client,
    opts: &OciOptions,
) -> Result<LoadedImage> {
    let r = client.reference().clone();
    let fetched = client.manifest(&r.reference(), r.digest.as_ref())?;
    let shown = r.to_string();
    let checked = |f: &registry::Fetched, what: &str| -> Result<image::Parsed> {
        let parsed = image::parse(&f.bytes)?;
        if !image::content_type_agrees(f.content_type.as_deref(), &parsed) {
            return Err(Error::Registry(format!(
                "registry {}: {what} is served as '{}' but is {}; clients that trust the header \
                 would read another document",
                r.registry,
                json::shown(f.content_type.as_deref().unwrap_or_default()),
                match parsed {
                    image::Parsed::Image(_) => "an image manifest",
                    image::Parsed::Index(_) => "an index",
                }
            )));
        }
        Ok(parsed)
    };
    let (raw, image) = match (checked(&fetched, "the manifest")?, &opts.platform) {
        (image::Parsed::Image(_), Some(p)) => return Err(not_an_index(&shown, p)),
        (image::Parsed::Image(m), None) => (fetched.bytes, m),
        (image::Parsed::Index(entries), Some(platform)) => {
            let chosen = image::select_platform(&entries, platform)?;
            let digest = format!("sha256:{}", hex::encode(chosen.digest));
            let f = client.manifest(&digest, Some(&chosen.digest))?;
            let image = image::require_image(
                checked(&f, &format!("the {platform} manifest"))?,
                &format!("{shown} ({platform})"),
            )?;
            (f.bytes, image)
        }
        (parsed @ image::Parsed::Index(_), None) => {
            (fetched.bytes, image::require_image(parsed, &shown)?)
        }
    };
    Ok(LoadedImage {
        image,
        manifest_digest: sha256(&raw),
        manifest_size: raw.len() as u64,
        subject_name: r.subject_name(),
        source: shown,
    })
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

/// The statement of an image, ready for any [`Signer`]: its resources with their descriptions
/// (see the module documentation).
pub fn prepare(img: &LoadedImage) -> Result<PreparedStatement> {
    let (m, bindings) = image::described_resources(&img.image)?;
    let payload =
        crate::statement::encode_with(&img.subject_name, &serialization(), &m, Some(&bindings))?;
    Ok(PreparedStatement {
        payload,
        root_digest: m.root_digest(),
        files: m.resources.len(),
        resources: m.resources.len(),
    })
}

/// A signed image.
#[derive(Debug, Clone)]
pub struct SignedImage {
    /// What signing did.
    pub outcome: SignOutcome,
    /// The manifest that was signed.
    pub image: LoadedImage,
    /// The bundle, as written.
    pub bundle: Vec<u8>,
}

/// Signs the image `source` names with `signer` and writes the bundle to `signature` atomically
/// (checked first, as [`crate::sign::sign_model`] does). An image whose config the signature
/// would not cover is refused unless [`OciOptions::allow_unsigned_config`]. With `attach`, a
/// bundle too large to be discovered in a registry is refused before anything is written.
pub fn sign_model(
    source: &ModelSource,
    opts: &OciOptions,
    signer: &dyn Signer,
    signature: &Path,
    attach: bool,
) -> Result<SignedImage> {
    let dest = crate::sign::open_signature_path(signature)?;
    let img = load(source, opts)?;
    let mut warnings = Vec::new();
    if let Some(c) = image::unsigned_config(&img.image) {
        let what = unsigned_config_text(c);
        // Our signature records the config beside that layer, but the verifiers of other tools
        // (rh-model-signing, the Go port), which read names and digests only, would accept any
        // config with it.
        if !opts.allow_unsigned_config {
            return Err(Error::Model(format!(
                "{what}; a verifier that reads only names and digests (rh-model-signing, the Go \
                 port) would accept this signature with any config; allow that explicitly, or \
                 retitle the layer"
            )));
        }
        let w = format!(
            "{what}: it is recorded beside that layer, which only model-signing-rs checks; other \
             tools' verifiers accept any config with this signature"
        );
        tracing::warn!("{w}");
        warnings.push(w);
    }
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
    #[cfg(feature = "oci")]
    if attach {
        registry::attach::check_size(&signed.bytes)?;
    }
    #[cfg(not(feature = "oci"))]
    if attach {
        return Err(Error::Unsupported(
            "attaching signatures in a build without the `oci` feature".into(),
        ));
    }
    crate::sign::write_signature(&dest, &signed.bytes)?;
    warnings.extend(signed.warnings);
    Ok(SignedImage {
        outcome: SignOutcome {
            method: signer.method(),
            root_digest: prepared.root_digest,
            files: prepared.files,
            resources: prepared.resources,
            identity: signed.identity,
            signature_ignored_as: None,
            warnings,
        },
        image: img,
        bundle: signed.bytes,
    })
}

fn unsigned_config_text(c: &image::Descriptor) -> String {
    format!(
        "a layer is titled '{}', so the image's config blob (sha256:{}, '{}') has no resource of \
         its own",
        image::CONFIG_NAME,
        hex::encode(c.digest),
        json::shown(&c.media_type)
    )
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
    drop(bundle);
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
            "this signature covers files hashed with {} ({}), not an OCI image; verify a pulled \
             copy of the model instead",
            info.hash_type,
            info.serialization.method()
        )));
    }
    if st.manifest.resources.iter().any(|r| r.name == ".") {
        return Err(Error::Model(
            "this signature covers a single file (its resource is '.'), not an OCI image; \
             verify the file instead"
                .into(),
        ));
    }
    crate::manifest::validate_signed(&st.manifest, info.hash_type, info.serialization)?;
    Ok((signer, st))
}

fn role_text(role: OciRole) -> String {
    match role {
        OciRole::Config => "the config".into(),
        OciRole::Layer(i) => format!("layer {i}"),
    }
}

fn annotations_text(a: &std::collections::BTreeMap<String, String>) -> String {
    let all = serde_json::to_string(a).unwrap_or_default();
    json::shown(&all)
}

/// Compares what the signature says about each blob with what the image's manifest says now.
fn compare_bindings(
    st: &crate::statement::Statement,
    signed: &[OciBinding],
    actual: &crate::manifest::Manifest,
    actual_bindings: &[OciBinding],
    report: &mut crate::report::MismatchReport,
) {
    let now: std::collections::HashMap<&str, &OciBinding> = actual
        .resources
        .iter()
        .map(|r| r.name.as_str())
        .zip(actual_bindings)
        .collect();
    for (r, want) in st.manifest.resources.iter().zip(signed) {
        let Some(got) = now.get(r.name.as_str()) else {
            continue;
        };
        let mut alter = |field: &str, expected: String, actual: String| {
            report.altered.push(crate::report::Altered {
                name: r.name.clone(),
                field: field.into(),
                expected,
                actual,
            })
        };
        if want.role != got.role {
            alter("role", role_text(want.role), role_text(got.role));
        }
        if want.media_type != got.media_type {
            alter(
                "media type",
                json::shown(&want.media_type),
                json::shown(&got.media_type),
            );
        }
        if want.annotations != got.annotations {
            alter(
                "annotations",
                annotations_text(&want.annotations),
                annotations_text(&got.annotations),
            );
        }
        if let Some(c) = &want.config {
            let shown = |c: &crate::statement::OciConfig| {
                format!(
                    "sha256:{} '{}' {}",
                    hex::encode(c.digest),
                    json::shown(&c.media_type),
                    annotations_text(&c.annotations)
                )
            };
            if got.config.as_ref() != Some(c) {
                alter(
                    "the image's config blob",
                    shown(c),
                    got.config
                        .as_ref()
                        .map_or_else(|| "none beside this layer".into(), shown),
                );
            }
        }
    }
}

/// What a signature by another tool (no descriptions) leaves unbound.
pub const UNBOUND_WARNING: &str = "this signature binds the layers' names and digests only (it \
    records no OCI descriptions: it was made for files, or for the image by another tool): their \
    media types, order and annotations, and a config that has no resource of its own, are not \
    checked";

fn compare_image(
    mut signer: crate::verify::SignerInfo,
    st: &crate::statement::Statement,
    img: &LoadedImage,
    ignore_unsigned: bool,
) -> Result<VerifyReport> {
    let (actual, actual_bindings) = image::described_resources(&img.image)?;
    let mut report = crate::verify::compare(&st.manifest, &actual);
    if ignore_unsigned {
        report.extra.clear();
    }
    match &st.oci {
        Some(signed) => compare_bindings(st, signed, &actual, &actual_bindings, &mut report),
        None => {
            tracing::warn!("{UNBOUND_WARNING}");
            signer.warnings.push(UNBOUND_WARNING.into());
        }
    }
    if !report.is_empty() {
        return Err(Error::Mismatch(Box::new(report)));
    }
    // Our signatures record the config beside the layer that took its name; only a signature
    // without that (another tool's) leaves it unsigned.
    let config_bound = st
        .oci
        .as_ref()
        .is_some_and(|b| b.iter().any(|b| b.config.is_some()));
    if let (Some(c), false) = (image::unsigned_config(&img.image), config_bound) {
        let w = format!("{}: it is not signed", unsigned_config_text(c));
        tracing::warn!("{w}");
        signer.warnings.push(w);
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
        attestations: None,
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
        &mut registry::Client::new(r, &opts.registry)?,
        &registry::attach::Subject {
            digest: img.manifest_digest,
            size: img.manifest_size,
            media_type: img.image.media_type.clone(),
        },
        bundle,
    )
}

/// Verifies the image `source` names against the signatures attached to it in its registry,
/// newest first, one at a time: each is fetched only if the one before it did not verify, and
/// the first that verifies with `verifier` and matches the manifest wins; its location is
/// returned. All of it (the image, the list, every candidate) within the registry options'
/// overall deadline.
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
    let mut client = registry::Client::new(r, &opts.registry)?;
    let img = load_registry(&mut client, opts)?;
    let mut found = registry::attach::discover(&mut client, &img.manifest_digest)?;
    if found.listed == 0 {
        return Err(Error::Signature(format!(
            "no signature is attached to {} (sha256:{}): the registry lists no referrer of ours \
             and has no tag {}; give the signature file",
            img.source,
            hex::encode(img.manifest_digest),
            registry::attach::sig_tag(&img.manifest_digest)
        )));
    }
    let mut reasons = Vec::new();
    let mut tried = 0usize;
    while let Some((location, bytes)) = found.next_bundle() {
        tried += 1;
        let attempt = bytes
            .and_then(|b| crate::bundle::parse(&b))
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
        "{tried} signature(s) attached to {} were tried; none verifies: {}",
        img.source,
        reasons
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    )))
}
