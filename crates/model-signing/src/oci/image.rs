//! OCI image manifests: parsing, validation and the resources a signature covers.
//!
//! A manifest is untrusted input (a registry or a file): it is read with a byte cap, and must be an
//! image manifest (OCI or Docker v2, `schemaVersion` 2) with a config and at least one layer, every
//! digest `sha256:` and 64 lowercase hex digits (the only algorithm a `files`/`sha256` statement
//! can record, and the one every registry serves). An image index is refused with its platforms
//! listed, unless a platform is chosen.

use super::json;
use crate::error::{Error, Result};
use crate::manifest::{Manifest, Resource};
use crate::statement::{OciBinding, OciConfig, OciRole};
use std::collections::BTreeMap;

pub use crate::limits::{MAX_LAYERS, MAX_MANIFEST_BYTES};

/// The layer annotation that names a layer's file (set by ORAS and most model packagers).
pub const TITLE: &str = "org.opencontainers.image.title";

/// The resource name of the config blob.
pub const CONFIG_NAME: &str = "config.json";

/// Media types a manifest may declare.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// See [`OCI_MANIFEST`].
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// See [`OCI_MANIFEST`].
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// See [`OCI_MANIFEST`].
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// A content descriptor (config, layer or index entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The blob's media type.
    pub media_type: String,
    /// Raw SHA-256 of the blob.
    pub digest: [u8; 32],
    /// The blob's size in bytes.
    pub size: u64,
    /// Annotations (the title among them).
    pub annotations: BTreeMap<String, String>,
    /// For index entries: `os/architecture[/variant]`.
    pub platform: Option<String>,
    /// The artifact type (referrers index entries).
    pub artifact_type: Option<String>,
}

/// A validated image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    /// The manifest's media type (the OCI one when the document names none).
    pub media_type: String,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, in manifest order.
    pub layers: Vec<Descriptor>,
}

/// What a manifest document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// An image manifest.
    Image(ImageManifest),
    /// An image index (several platforms): its entries.
    Index(Vec<Descriptor>),
}

/// The JSON names of the top-level fields of an image manifest, an index and a Docker schema 1
/// manifest (image-spec's `Manifest` and `Index`, distribution's schema 1): the keys Go clients
/// fold onto.
const DOCUMENT_FIELDS: &[&str] = &[
    "schemaVersion",
    "mediaType",
    "artifactType",
    "config",
    "layers",
    "manifests",
    "subject",
    "annotations",
    "fsLayers",
    "name",
    "tag",
    "architecture",
    "history",
    "signatures",
];

/// The JSON names of image-spec's `Descriptor`.
const DESCRIPTOR_FIELDS: &[&str] = &[
    "mediaType",
    "digest",
    "size",
    "urls",
    "annotations",
    "data",
    "platform",
    "artifactType",
];

/// The JSON names of image-spec's `Platform` (and the Docker manifest list's `features`).
const PLATFORM_FIELDS: &[&str] = &[
    "architecture",
    "os",
    "os.version",
    "os.features",
    "variant",
    "features",
];

fn bad(msg: impl Into<String>) -> Error {
    Error::Model(format!("invalid OCI manifest: {}", msg.into()))
}

/// Parses `sha256:<64 lowercase hex>`.
pub fn parse_digest(s: &str, what: &str) -> Result<[u8; 32]> {
    let shown = || json::shown(s);
    let Some((alg, hex_part)) = s.split_once(':') else {
        return Err(bad(format!(
            "{what} digest '{}' is not ALGORITHM:HEX",
            shown()
        )));
    };
    if alg != "sha256" {
        return Err(Error::Unsupported(format!(
            "OCI digests other than sha256 ({what} uses '{}')",
            json::shown(alg)
        )));
    }
    if hex_part.len() != 64
        || !hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad(format!(
            "{what} digest '{}' is not sha256 with 64 lowercase hex digits",
            shown()
        )));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out)
        .map_err(|_| bad(format!("{what} digest is not hex")))?;
    Ok(out)
}

/// Reads the descriptor `node` (`what` names it in messages).
pub fn descriptor(node: &json::Node, what: &str) -> Result<Descriptor> {
    let f = json::Fields::new(node, DESCRIPTOR_FIELDS, what)?;
    let digest = parse_digest(
        f.str("digest")?
            .ok_or_else(|| bad(format!("{what} has no digest")))?,
        what,
    )?;
    let size = f
        .uint("size")?
        .ok_or_else(|| bad(format!("{what} has no size")))?;
    // Read for their types only: a reader that fetches from `urls` still checks the digest.
    f.strings("urls")?;
    if let Some(data) = f.str("data")? {
        // Embedded content: a consumer may use it instead of fetching the blob, so it must be
        // the blob the digest names.
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|_| bad(format!("{what}.data is not base64")))?;
        if super::sha256(&bytes) != digest || bytes.len() as u64 != size {
            return Err(bad(format!(
                "{what}.data is not the content its digest and size name"
            )));
        }
    }
    let platform = match f.get("platform")? {
        None => None,
        Some(p) => {
            let pf = json::Fields::new(p, PLATFORM_FIELDS, format!("{what}.platform"))?;
            let os = pf.str("os")?;
            let arch = pf.str("architecture")?;
            let variant = pf.str("variant")?;
            pf.str("os.version")?;
            pf.strings("os.features")?;
            pf.strings("features")?;
            // Compared as `os/arch[/variant]`: a part holding a `/` (or empty) would make two
            // different platforms one string, where clients compare the fields.
            // Platform values are Go's GOOS/GOARCH names: ASCII. Anything else is refused, so
            // that no client's case folding (Go lowercases `İ` to `i`) makes two entries one.
            for (part, v) in [("os", os), ("architecture", arch), ("variant", variant)] {
                if v.is_some_and(|v| {
                    v.is_empty() || v.contains('/') || !v.bytes().all(|b| b.is_ascii_graphic())
                }) {
                    return Err(bad(format!(
                        "{what}.platform.{part} is empty, holds a '/' or is not printable ASCII"
                    )));
                }
            }
            // The image spec requires both; without them there is nothing to choose it by.
            let (Some(os), Some(arch)) = (os, arch) else {
                return Err(bad(format!("{what}.platform lacks its os or architecture")));
            };
            let mut s = format!("{os}/{arch}");
            if let Some(v) = variant {
                s.push('/');
                s.push_str(v);
            }
            Some(s)
        }
    };
    Ok(Descriptor {
        media_type: f.str("mediaType")?.unwrap_or_default().to_string(),
        digest,
        size,
        annotations: f.string_map("annotations")?.unwrap_or_default(),
        platform,
        artifact_type: f.str("artifactType")?.map(str::to_string),
    })
}

/// A manifest or index document, every field read the one way its consumers read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// `schemaVersion`.
    pub schema_version: Option<u64>,
    /// `mediaType`.
    pub media_type: Option<String>,
    /// `artifactType`.
    pub artifact_type: Option<String>,
    /// `config`.
    pub config: Option<Descriptor>,
    /// `layers`.
    pub layers: Option<Vec<Descriptor>>,
    /// `manifests` (an index).
    pub manifests: Option<Vec<Descriptor>>,
    /// `subject`.
    pub subject: Option<Descriptor>,
    /// `annotations`.
    pub annotations: BTreeMap<String, String>,
}

/// Reads a manifest or index document (at most [`MAX_MANIFEST_BYTES`]) strictly (see
/// [`json`]), without deciding what it is. `what` names it in messages.
pub fn parse_document(raw: &[u8], what: &str) -> Result<Document> {
    if raw.len() > MAX_MANIFEST_BYTES {
        return Err(bad(format!(
            "{} bytes, over the {MAX_MANIFEST_BYTES} byte limit",
            raw.len()
        )));
    }
    let node = json::parse(raw, what)?;
    let f = json::Fields::new(&node, DOCUMENT_FIELDS, what)?;
    if f.has("fsLayers") {
        return Err(Error::Unsupported(
            "Docker schema 1 manifests (re-push the image with a current client)".into(),
        ));
    }
    let list = |name: &str, entry: &str| -> Result<Option<Vec<Descriptor>>> {
        let Some(items) = f.array(name)? else {
            return Ok(None);
        };
        if items.len() > MAX_LAYERS {
            return Err(bad(format!(
                "{} {name}, over the limit of {MAX_LAYERS}",
                items.len()
            )));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, d)| descriptor(d, &format!("{entry} {i}")))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    };
    Ok(Document {
        schema_version: f.uint("schemaVersion")?,
        media_type: f.str("mediaType")?.map(str::to_string),
        artifact_type: f.str("artifactType")?.map(str::to_string),
        config: f
            .get("config")?
            .map(|c| descriptor(c, "the config"))
            .transpose()?,
        layers: list("layers", "layer")?,
        manifests: list("manifests", "index entry")?,
        subject: f
            .get("subject")?
            .map(|s| descriptor(s, "the subject"))
            .transpose()?,
        annotations: f.string_map("annotations")?.unwrap_or_default(),
    })
}

/// Parses and validates a manifest document (at most [`MAX_MANIFEST_BYTES`]): an image
/// manifest or an index, told apart by shape, and the shape must agree with the declared media
/// type (a document with both `layers` and `manifests`, CVE-2021-41190, is neither).
pub fn parse(raw: &[u8]) -> Result<Parsed> {
    let doc = parse_document(raw, "the manifest")?;
    if doc.schema_version != Some(2) {
        return Err(bad(match doc.schema_version {
            None => "no schemaVersion".to_string(),
            Some(v) => format!("schemaVersion {v}, expected 2"),
        }));
    }
    let mt = doc.media_type.as_deref();
    let shown_mt = || json::shown(mt.unwrap_or_default());
    if let Some(entries) = doc.manifests {
        if doc.layers.is_some() || doc.config.is_some() {
            return Err(bad(
                "it has both an index's 'manifests' and an image manifest's 'layers' or \
                 'config'; clients disagree on which it is",
            ));
        }
        if !matches!(mt, None | Some(OCI_INDEX) | Some(DOCKER_LIST)) {
            return Err(bad(format!(
                "an index (it lists manifests) with the media type '{}'",
                shown_mt()
            )));
        }
        return Ok(Parsed::Index(entries));
    }
    if !matches!(mt, None | Some(OCI_MANIFEST) | Some(DOCKER_MANIFEST)) {
        return Err(bad(format!(
            "media type '{}' is not an image manifest",
            shown_mt()
        )));
    }
    let config = doc.config.ok_or_else(|| bad("no config"))?;
    let layers = doc.layers.ok_or_else(|| bad("no layers"))?;
    if layers.is_empty() {
        return Err(bad("no layers"));
    }
    Ok(Parsed::Image(ImageManifest {
        media_type: mt.unwrap_or(OCI_MANIFEST).to_string(),
        config,
        layers,
    }))
}

/// Whether a registry's `Content-Type` for a document agrees with the document's shape: a
/// client such as containerd picks the parser from the header, so an image served as an index
/// (or the reverse) is read as two different things. Types other than the four manifest and
/// index types (or no header) say nothing and pass.
pub fn content_type_agrees(content_type: Option<&str>, parsed: &Parsed) -> bool {
    let Some(ct) = content_type else {
        return true;
    };
    let base = ct.split(';').next().unwrap_or("").trim();
    match parsed {
        Parsed::Image(_) => !matches!(base, OCI_INDEX | DOCKER_LIST),
        Parsed::Index(_) => !matches!(base, OCI_MANIFEST | DOCKER_MANIFEST),
    }
}

/// The image manifest of `parsed`, refusing an index with its platforms listed.
pub fn require_image(parsed: Parsed, source: &str) -> Result<ImageManifest> {
    match parsed {
        Parsed::Image(m) => Ok(m),
        Parsed::Index(entries) => Err(Error::Model(format!(
            "'{source}' is an image index of {} manifests ({}); choose one platform",
            entries.len(),
            platforms(&entries)
        ))),
    }
}

/// `os/arch sha256:…` of each index entry (the first 20), for messages: the platform text comes
/// from the registry, so it is escaped.
pub fn platforms(entries: &[Descriptor]) -> String {
    let mut out: Vec<String> = entries
        .iter()
        .take(20)
        .map(|d| {
            format!(
                "{} sha256:{}",
                d.platform
                    .as_deref()
                    .map_or("no platform".to_string(), |p| crate::error::untrusted_text(
                        p, 100
                    )),
                hex::encode(d.digest)
            )
        })
        .collect();
    if entries.len() > 20 {
        out.push(format!("and {} more", entries.len() - 20));
    }
    out.join(", ")
}

/// A platform as clients compare them, after containerd's `platforms.Normalize`: lower case;
/// `x86_64`, `x86-64` are `amd64` and its `v1` is no variant; `aarch64` is `arm64` and its `8` or
/// `v8` is no variant; `armhf` is `arm/v7`, `armel` `arm/v6`, `arm` alone `arm/v7`; `i386` is
/// `386`; `macos` is `darwin`.
fn normalized(os: &str, arch: &str, variant: &str) -> (String, String, String) {
    let mut os = os.to_ascii_lowercase();
    if os == "macos" {
        os = "darwin".into();
    }
    let (arch, variant) = (arch.to_ascii_lowercase(), variant.to_ascii_lowercase());
    let (arch, variant) = match arch.as_str() {
        "i386" => ("386".to_string(), String::new()),
        "x86_64" | "x86-64" | "amd64" => (
            "amd64".to_string(),
            if variant == "v1" {
                String::new()
            } else {
                variant
            },
        ),
        "aarch64" | "arm64" => (
            "arm64".to_string(),
            if matches!(variant.as_str(), "8" | "v8") {
                String::new()
            } else {
                variant
            },
        ),
        "armhf" => ("arm".to_string(), "v7".to_string()),
        "armel" => ("arm".to_string(), "v6".to_string()),
        "arm" => (
            "arm".to_string(),
            match variant.as_str() {
                "" | "7" => "v7".to_string(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            },
        ),
        _ => (arch, variant),
    };
    (os, arch, variant)
}

/// Splits `os/arch[/variant]`.
fn platform_parts(p: &str) -> Option<(&str, &str, &str)> {
    let mut it = p.split('/');
    let (os, arch) = (it.next()?, it.next()?);
    let variant = it.next().unwrap_or("");
    (it.next().is_none() && !os.is_empty() && !arch.is_empty()).then_some((os, arch, variant))
}

/// The architecture family a client may fall back within: containerd's matcher for `amd64`
/// also takes `386`, and for `arm64` every `arm` variant, when the preferred entry is absent or
/// not one it takes.
fn arch_family(normalized_arch: &str) -> &str {
    match normalized_arch {
        "amd64" | "386" => "x86",
        "arm64" | "arm" => "arm",
        other => other,
    }
}

/// The index entry for `platform` (`os/arch[/variant]`), chosen so that no client can run another
/// one for it, or an error. Clients do not compare platform strings: containerd normalises both
/// sides (`linux/x86_64` is `linux/amd64`, `linux/arm64/v8` is `linux/arm64`), takes the first of
/// the entries that match best, falls back within an architecture family (`386` for `amd64`,
/// `arm` for `arm64`) and to entries without a platform (read from their config); oras-go
/// compares the raw fields and takes any variant when none is asked. So every entry of the
/// same OS and architecture family, whatever its variant, and every entry without a platform, is
/// a candidate, and there must be exactly one, which must match the request: with two, what a
/// client runs may not be what was verified. (An index with both `amd64` and `386` images is
/// refused: name the platform manifest by digest.)
pub fn select_platform<'a>(entries: &'a [Descriptor], platform: &str) -> Result<&'a Descriptor> {
    let shown = platform.escape_debug();
    let (os, arch, variant) = platform_parts(platform).ok_or_else(|| {
        Error::Config(format!(
            "the platform '{shown}' is not os/architecture[/variant]"
        ))
    })?;
    let want = normalized(os, arch, variant);
    let candidates: Vec<&Descriptor> = entries
        .iter()
        .filter(|d| match d.platform.as_deref().and_then(platform_parts) {
            None => true,
            Some((o, a, v)) => {
                let got = normalized(o, a, v);
                got.0 == want.0 && arch_family(&got.1) == arch_family(&want.1)
            }
        })
        .collect();
    let matches = |d: &Descriptor| {
        d.platform
            .as_deref()
            .and_then(platform_parts)
            .is_some_and(|(o, a, v)| {
                let got = normalized(o, a, v);
                got.0 == want.0 && got.1 == want.1 && (variant.is_empty() || got.2 == want.2)
            })
    };
    let matching: Vec<&Descriptor> = match candidates.as_slice() {
        [one] if matches(one) => vec![one],
        [_] => Vec::new(),
        several => several.to_vec(),
    };
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::Model(format!(
            "the image index has no manifest for platform '{shown}' (it has {})",
            platforms(entries)
        ))),
        several => Err(Error::Model(format!(
            "the image index has {} manifests that clients may take for platform '{shown}' \
             (clients normalise platforms, may ignore the variant, fall back from amd64 to 386 \
             and from arm64 to arm, and to entries without a platform; {}): which one runs \
             depends on the client, so none is verified; name the platform manifest by digest",
            several.len(),
            platforms(&several.iter().map(|d| (*d).clone()).collect::<Vec<_>>())
        ))),
    }
}

/// The resource name of layer `index` without a title (the Go port's `layer_%03d.tar.gz`).
pub fn layer_name(index: usize) -> String {
    format!("layer_{index:03}.tar.gz")
}

/// The index whose generated name `title` is, if it is one (`layer_007.tar.gz` → 7): a title of
/// that form on another layer would let two layers trade names.
fn generated_index(title: &str) -> Option<usize> {
    let digits = title.strip_prefix("layer_")?.strip_suffix(".tar.gz")?;
    let n: usize = digits.parse().ok()?;
    (digits.bytes().all(|b| b.is_ascii_digit()) && layer_name(n) == title).then_some(n)
}

/// The SHA-256 of `{}`, the empty config blob ORAS and the OCI 1.1 empty descriptor use: a
/// config with nothing in it has nothing to leave unsigned.
pub const EMPTY_CONFIG_DIGEST: [u8; 32] = [
    0x44, 0x13, 0x6f, 0xa3, 0x55, 0xb3, 0x67, 0x8a, 0x11, 0x46, 0xad, 0x16, 0xf7, 0xe8, 0x64, 0x9e,
    0x94, 0xfb, 0x4f, 0xc2, 0x1f, 0xe7, 0x7e, 0x83, 0x10, 0xc0, 0x60, 0xf6, 0x1c, 0xaa, 0xff, 0x8a,
];

/// The config blob of `image`, when the signature does not cover it: a layer is titled
/// [`CONFIG_NAME`] and takes that name (rh-model-signing's rule), and the config is not the empty
/// `{}`. Runtimes read the config (entrypoint, environment, user; a KitOps Kitfile), so this is
/// worth a warning, and signing it needs the signer's consent.
pub fn unsigned_config(image: &ImageManifest) -> Option<&Descriptor> {
    let titled = image
        .layers
        .iter()
        .any(|l| l.annotations.get(TITLE).map(String::as_str) == Some(CONFIG_NAME));
    (titled && image.config.digest != EMPTY_CONFIG_DIGEST).then_some(&image.config)
}

/// The resources a signature of `image` covers: each layer named by its title (else
/// [`layer_name`]), plus the config blob as [`CONFIG_NAME`] unless a layer is titled so (the rule
/// of rh-model-signing: Hugging Face models carry their own `config.json`). Two resources with one
/// name are an error (the Go port keeps the last one silently), and so is a title that is the
/// generated name of another position. Sorted bytewise by name; beside each, what the image's
/// descriptor says about it ([`OciBinding`], in the same order).
pub fn described_resources(image: &ImageManifest) -> Result<(Manifest, Vec<OciBinding>)> {
    let mut named: Vec<(String, &Descriptor, OciRole)> = Vec::with_capacity(image.layers.len() + 1);
    for (i, l) in image.layers.iter().enumerate() {
        let name = match l.annotations.get(TITLE).map(String::as_str) {
            Some(t) if !t.is_empty() => t.to_string(),
            _ => layer_name(i),
        };
        crate::manifest::validate_path(&name).map_err(|e| {
            Error::Model(format!(
                "layer {i} cannot be signed under its title: {}",
                crate::error::one_line(&e)
            ))
        })?;
        if name == "." {
            return Err(Error::Model(format!("layer {i} is titled '.'")));
        }
        if let Some(n) = generated_index(&name).filter(|n| *n != i) {
            return Err(Error::Model(format!(
                "layer {i} is titled '{name}', the name layer {n} gets without a title; layers \
                 could trade places under it"
            )));
        }
        named.push((name, l, OciRole::Layer(i)));
    }
    if !named.iter().any(|(n, _, _)| n == CONFIG_NAME) {
        named.push((CONFIG_NAME.to_string(), &image.config, OciRole::Config));
    }
    named.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let what = |role: &OciRole| match role {
        OciRole::Config => "the config".to_string(),
        OciRole::Layer(i) => format!("layer {i}"),
    };
    for w in named.windows(2) {
        if let [a, b] = w {
            if a.0 == b.0 {
                return Err(Error::Model(format!(
                    "{} and {} are both named '{}'; a signature cannot tell them apart",
                    what(&a.2),
                    what(&b.2),
                    a.0.escape_debug()
                )));
            }
        }
    }
    let bindings = named
        .iter()
        .map(|(name, d, role)| OciBinding {
            role: *role,
            media_type: d.media_type.clone(),
            annotations: d.annotations.clone(),
            // The layer that took the config's name carries the config: bound by our
            // signatures even where no resource names it.
            config: (matches!(role, OciRole::Layer(_)) && name == CONFIG_NAME).then(|| OciConfig {
                digest: image.config.digest,
                media_type: image.config.media_type.clone(),
                annotations: image.config.annotations.clone(),
            }),
        })
        .collect();
    let manifest = Manifest {
        resources: named
            .into_iter()
            .map(|(name, d, _)| Resource {
                name,
                algorithm: "sha256".into(),
                digest: d.digest.to_vec(),
            })
            .collect(),
    };
    Ok((manifest, bindings))
}

/// The resources of [`described_resources`], without the descriptions.
pub fn resources(image: &ImageManifest) -> Result<Manifest> {
    described_resources(image).map(|(m, _)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn doc(layers: &str) -> Vec<u8> {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[{layers}]}}"#,
            h('c')
        )
        .into_bytes()
    }

    fn layer(d: char, title: Option<&str>) -> String {
        let ann = title
            .map(|t| format!(r#","annotations":{{"{TITLE}":"{t}"}}"#))
            .unwrap_or_default();
        format!(
            r#"{{"mediaType":"application/octet-stream","digest":"sha256:{}","size":5{ann}}}"#,
            h(d)
        )
    }

    #[test]
    fn names_config_and_order() {
        let raw = doc(&[
            layer('a', Some("weights.bin")),
            layer('b', None),
            layer('d', Some("a/b.txt")),
        ]
        .join(","));
        let Parsed::Image(img) = parse(&raw).unwrap() else {
            panic!()
        };
        let m = resources(&img).unwrap();
        let names: Vec<&str> = m.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["a/b.txt", "config.json", "layer_001.tar.gz", "weights.bin"]
        );
        assert_eq!(m.resources[1].digest, vec![0xcc; 32]);
    }

    #[test]
    fn descriptions_and_the_unsigned_config() {
        let raw = doc(&[layer('a', Some("w.bin")), layer('b', None)].join(","));
        let Parsed::Image(img) = parse(&raw).unwrap() else {
            panic!()
        };
        let (m, b) = described_resources(&img).unwrap();
        let names: Vec<&str> = m.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["config.json", "layer_001.tar.gz", "w.bin"]);
        assert_eq!(b[0].role, OciRole::Config);
        assert_eq!(b[0].media_type, "application/vnd.oci.image.config.v1+json");
        assert_eq!(b[1].role, OciRole::Layer(1));
        assert_eq!(b[2].role, OciRole::Layer(0));
        assert_eq!(b[2].annotations[TITLE], "w.bin");
        assert_eq!(b[2].media_type, "application/octet-stream");
        assert!(unsigned_config(&img).is_none());
        // A config.json layer beside a config with content leaves that config unsigned...
        let raw = doc(&layer('a', Some("config.json")));
        let Parsed::Image(img) = parse(&raw).unwrap() else {
            panic!()
        };
        assert_eq!(unsigned_config(&img).map(|d| d.digest), Some([0xcc; 32]));
        // ... but not the empty `{}` every ORAS push has.
        let empty = String::from_utf8(raw)
            .unwrap()
            .replace(&h('c'), &hex::encode(EMPTY_CONFIG_DIGEST));
        let Parsed::Image(img) = parse(empty.as_bytes()).unwrap() else {
            panic!()
        };
        assert!(unsigned_config(&img).is_none());
        assert_eq!(EMPTY_CONFIG_DIGEST, crate::oci::sha256(b"{}"));
    }

    #[test]
    fn a_config_json_layer_replaces_the_config_blob() {
        let raw = doc(&layer('a', Some("config.json")));
        let Parsed::Image(img) = parse(&raw).unwrap() else {
            panic!()
        };
        let m = resources(&img).unwrap();
        assert_eq!(m.resources.len(), 1);
        assert_eq!(m.resources[0].digest, vec![0xaa; 32]);
    }

    #[test]
    fn duplicates_and_bad_titles_are_refused() {
        for layers in [
            [layer('a', Some("x.bin")), layer('b', Some("x.bin"))].join(","),
            [
                layer('a', Some("config.json")),
                layer('b', Some("config.json")),
            ]
            .join(","),
        ] {
            let Parsed::Image(img) = parse(&doc(&layers)).unwrap() else {
                panic!()
            };
            let e = resources(&img).unwrap_err().to_string();
            assert!(e.contains("both named"), "{e}");
        }
        // Generated names belong to their positions: a reordered manifest that titles layers
        // with each other's names is refused, whatever else it does.
        for layers in [
            [layer('a', None), layer('b', Some("layer_000.tar.gz"))].join(","),
            [
                layer('a', Some("layer_001.tar.gz")),
                layer('b', Some("layer_000.tar.gz")),
            ]
            .join(","),
            [layer('a', Some("layer_007.tar.gz"))].join(","),
        ] {
            let Parsed::Image(img) = parse(&doc(&layers)).unwrap() else {
                panic!()
            };
            let e = resources(&img).unwrap_err().to_string();
            assert!(e.contains("trade places"), "{e}");
        }
        // Its own generated name, or one no position generates, is fine.
        for t in [
            "layer_000.tar.gz",
            "layer_0.tar.gz",
            "layer_0000.tar.gz",
            "layer_x.tar.gz",
        ] {
            let Parsed::Image(img) = parse(&doc(&layer('a', Some(t)))).unwrap() else {
                panic!()
            };
            assert!(resources(&img).is_ok(), "{t}");
        }
        for t in ["../x", "/etc/passwd", "a\\\\b", "."] {
            let Parsed::Image(img) = parse(&doc(&layer('a', Some(t)))).unwrap() else {
                panic!()
            };
            assert!(resources(&img).is_err(), "{t}");
        }
    }

    #[test]
    fn malformed_manifests_are_refused() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"[]".to_vec(), "not an object"),
            (b"{".to_vec(), "not JSON with one reading"),
            (br#"{"schemaVersion":1,"fsLayers":[]}"#.to_vec(), "schema 1"),
            (br#"{"schemaVersion":3}"#.to_vec(), "schemaVersion 3"),
            (doc(""), "no layers"),
            (
                doc(&layer('a', None)).replace_all(b"\"size\":5", b"\"size\":-5"),
                "is negative",
            ),
            (doc(&layer('A', None)), "64 lowercase hex"),
            (
                String::from_utf8(doc(&layer('a', None)))
                    .unwrap()
                    .replacen(
                        &format!("sha256:{}", h('a')),
                        &format!("sha512:{}", h('a')),
                        1,
                    )
                    .into_bytes(),
                "other than sha256",
            ),
            (vec![b' '; MAX_MANIFEST_BYTES + 1], "byte limit"),
        ];
        for (raw, want) in cases {
            let e = parse(&raw).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
    }

    /// Documents that Go clients (case-insensitive keys, last one wins), Python (last one wins)
    /// or containerd (shape from the media type) read differently from us are refused.
    #[test]
    fn documents_read_differently_elsewhere_are_refused() {
        let good = String::from_utf8(doc(&layer('a', Some("w.bin")))).unwrap();
        let evil = layer('e', Some("w.bin"));
        let cases: Vec<(String, &str)> = vec![
            (
                good.replacen("]}", &format!("],\"Layers\":[{evil}]}}"), 1),
                "Go clients",
            ),
            (
                good.replacen("]}", &format!("],\"layerſ\":[{evil}]}}"), 1),
                "Go clients",
            ),
            (
                good.replacen("]}", &format!("],\"layers\":[{evil}]}}"), 1),
                "appears twice",
            ),
            (
                good.replacen("\"digest\":\"sha256:a", "\"Digest\":\"sha256:e", 1),
                "Go clients",
            ),
            (
                good.replacen(
                    "\"size\":5",
                    &format!("\"size\":5,\"Digest\":\"sha256:{}\"", h('e')),
                    1,
                ),
                "Go clients",
            ),
            (
                good.replacen("\"schemaVersion\"", "\"SchemaVersion\"", 1),
                "Go clients",
            ),
            (
                good.replacen(
                    "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"",
                    &format!("\"mediaType\":\"{OCI_INDEX}\""),
                    1,
                ),
                "not an image manifest",
            ),
            (
                good.replacen(
                    "]}",
                    &format!("],\"manifests\":[{}]}}", layer('e', None)),
                    1,
                ),
                "both an index",
            ),
            (
                good.replacen("\"size\":5", "\"size\":5.0", 1),
                "not an integer",
            ),
            (good.replacen("\"size\":5", "\"size\":null", 1), "is null"),
            (
                good.replacen("\"size\":5", "\"size\":5,\"data\":\"aGVsbG8=\"", 1),
                "data is not the content",
            ),
            (
                good.replacen(
                    "\"size\":5",
                    "\"size\":5,\"platform\":{\"OS\":\"linux\"}",
                    1,
                ),
                "Go clients",
            ),
            (
                // `linux/arm64/v8` two ways: clients compare fields, we compare the string.
                good.replacen(
                    "\"size\":5",
                    "\"size\":5,\"platform\":{\"os\":\"linux/arm64\",\"architecture\":\"v8\"}",
                    1,
                ),
                "holds a '/'",
            ),
            (
                // Go lowercases `İ` to `i`: `lİnux` is `linux` to containerd.
                good.replacen(
                    "\"size\":5",
                    "\"size\":5,\"platform\":{\"os\":\"l\u{130}nux\",\"architecture\":\"amd64\"}",
                    1,
                ),
                "not printable ASCII",
            ),
            (
                good.replacen(
                    "\"annotations\":{",
                    "\"annotations\":{\"a\":\"1\",\"a\":\"2\",",
                    1,
                ),
                "appears twice",
            ),
        ];
        for (raw, want) in cases {
            let e = parse(raw.as_bytes()).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains(want), "{raw}\nwant '{want}', got: {e}");
        }
        // Embedded data that is the blob is fine.
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD.encode(b"hello");
        let d = hex::encode(crate::oci::sha256(b"hello"));
        let ok = good.replacen(
            &format!("\"digest\":\"sha256:{}\",\"size\":5", h('a')),
            &format!("\"digest\":\"sha256:{d}\",\"size\":5,\"data\":\"{data}\""),
            1,
        );
        assert!(parse(ok.as_bytes()).is_ok(), "{ok}");
    }

    #[test]
    fn the_registry_content_type_must_agree_with_the_shape() {
        let Ok(p @ Parsed::Image(_)) = parse(&doc(&layer('a', None))) else {
            panic!()
        };
        assert!(content_type_agrees(None, &p));
        assert!(content_type_agrees(Some(OCI_MANIFEST), &p));
        assert!(content_type_agrees(Some("application/octet-stream"), &p));
        assert!(!content_type_agrees(Some(OCI_INDEX), &p));
        assert!(!content_type_agrees(
            Some(&format!("{DOCKER_LIST}; charset=utf-8")),
            &p
        ));
    }

    #[test]
    fn an_index_lists_its_platforms() {
        let raw = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{}","size":9,"platform":{{"os":"linux","architecture":"amd64"}}}},{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{}","size":9,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}}]}}"#,
            h('1'),
            h('2')
        );
        let p = parse(raw.as_bytes()).unwrap();
        let Parsed::Index(entries) = p.clone() else {
            panic!()
        };
        let e = require_image(p, "r/m:v1").unwrap_err().to_string();
        assert!(
            e.contains("linux/amd64") && e.contains("linux/arm64/v8"),
            "{e}"
        );
        assert_eq!(
            select_platform(&entries, "linux/arm64/v8").unwrap().digest,
            [0x22; 32]
        );
        assert!(select_platform(&entries, "windows/amd64").is_err());
    }

    fn index_of(platforms: &[&str]) -> Vec<Descriptor> {
        platforms
            .iter()
            .enumerate()
            .map(|(i, p)| Descriptor {
                media_type: OCI_MANIFEST.into(),
                digest: [i as u8 + 1; 32],
                size: 9,
                annotations: BTreeMap::new(),
                platform: Some(p.to_string()),
                artifact_type: None,
            })
            .collect()
    }

    /// The attack the review found: an index listing EVIL under a platform spelled another way
    /// before GOOD. containerd normalises and takes the first match, oras-go ignores the variant
    /// when none is asked: the choice must be unique under every reading, or refused.
    #[test]
    fn platforms_are_chosen_as_clients_choose_them() {
        for (evil, want) in [
            ("linux/x86_64", "linux/amd64"),
            ("Linux/amd64", "linux/amd64"),
            ("linux/AMD64", "linux/amd64"),
            ("linux/amd64/v1", "linux/amd64"),
            ("linux/amd64/v3", "linux/amd64"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/aarch64", "linux/arm64"),
            ("linux/arm64", "linux/aarch64"),
            ("linux/armhf", "linux/arm/v7"),
            ("linux/arm/7", "linux/arm"),
        ] {
            let good = want;
            let idx = index_of(&[evil, good]);
            let e = select_platform(&idx, want).unwrap_err().to_string();
            assert!(
                e.contains("2 manifests that clients may take"),
                "{evil} / {want}: {e}"
            );
        }
        // The second review's bypasses: containerd falls back within a family (386 for amd64,
        // arm for arm64) and to entries without a platform, so those are candidates too.
        for (entries, want) in [
            (
                vec![Some("linux/386"), Some("linux/amd64/v2")],
                "linux/amd64",
            ),
            (
                vec![Some("linux/arm/v7"), Some("linux/arm64/v9")],
                "linux/arm64",
            ),
            (
                vec![Some("linux/arm/v8"), Some("linux/arm64")],
                "linux/arm64",
            ),
            (vec![None, Some("linux/amd64")], "linux/amd64"),
            (vec![Some("linux/amd64"), Some("linux/386")], "linux/386"),
        ] {
            let mut idx = index_of(
                &entries
                    .iter()
                    .map(|p| p.unwrap_or("x/y"))
                    .collect::<Vec<_>>(),
            );
            for (d, p) in idx.iter_mut().zip(&entries) {
                d.platform = p.map(str::to_string);
            }
            let e = select_platform(&idx, want).unwrap_err().to_string();
            assert!(
                e.contains("2 manifests that clients may take"),
                "{entries:?} / {want}: {e}"
            );
        }
        // One entry per OS and architecture family: chosen, under any spelling of the request.
        let idx = index_of(&["linux/amd64", "linux/arm64", "linux/s390x", "windows/amd64"]);
        assert_eq!(
            select_platform(&idx, "linux/amd64").unwrap().digest,
            [1; 32]
        );
        assert_eq!(
            select_platform(&idx, "linux/x86_64").unwrap().digest,
            [1; 32]
        );
        assert_eq!(
            select_platform(&idx, "linux/arm64/v8").unwrap().digest,
            [2; 32]
        );
        assert_eq!(
            select_platform(&idx, "linux/aarch64").unwrap().digest,
            [2; 32]
        );
        assert_eq!(
            select_platform(&idx, "linux/s390x").unwrap().digest,
            [3; 32]
        );
        assert_eq!(
            select_platform(&idx, "windows/amd64").unwrap().digest,
            [4; 32]
        );
        // The only candidate of its family, but not what was asked: no manifest.
        assert!(select_platform(&idx, "linux/386").is_err());
        assert!(select_platform(&idx, "linux/arm64/v9").is_err());
        assert!(select_platform(&idx, "linux/riscv64").is_err());
        assert!(select_platform(&idx, "linux").is_err());
        // Several variants of one family cannot be told apart for every client.
        let idx = index_of(&["linux/arm/v6", "linux/arm/v7"]);
        assert!(select_platform(&idx, "linux/arm/v7").is_err());
        // Registry text in the message is escaped.
        let idx = index_of(&["linux/amd\u{1b}[2K64"]);
        let e = select_platform(&idx, "linux/arm64")
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\u{1b}'), "{e}");
    }

    trait ReplaceAll {
        fn replace_all(self, from: &[u8], to: &[u8]) -> Vec<u8>;
    }
    impl ReplaceAll for Vec<u8> {
        fn replace_all(self, from: &[u8], to: &[u8]) -> Vec<u8> {
            String::from_utf8(self)
                .unwrap()
                .replace(
                    std::str::from_utf8(from).unwrap(),
                    std::str::from_utf8(to).unwrap(),
                )
                .into_bytes()
        }
    }
}
