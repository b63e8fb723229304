//! OCI image manifests: parsing, validation and the resources a signature covers.
//!
//! A manifest is untrusted input (a registry or a file): it is read with a byte cap, and must be an
//! image manifest (OCI or Docker v2, `schemaVersion` 2) with a config and at least one layer, every
//! digest `sha256:` and 64 lowercase hex digits (the only algorithm a `files`/`sha256` statement
//! can record, and the one every registry serves). An image index is refused with its platforms
//! listed, unless a platform is chosen.

use crate::error::{Error, Result};
use crate::manifest::{Manifest, Resource};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Largest manifest read (registries cap theirs at 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// Most layers an image may have.
pub const MAX_LAYERS: usize = 10_000;

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDoc {
    schema_version: Option<i64>,
    media_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    fs_layers: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: Option<String>,
    size: Option<i64>,
    annotations: Option<BTreeMap<String, String>>,
    platform: Option<RawPlatform>,
}

#[derive(Deserialize)]
struct RawPlatform {
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Model(format!("invalid OCI manifest: {}", msg.into()))
}

/// Parses `sha256:<64 lowercase hex>`.
pub fn parse_digest(s: &str, what: &str) -> Result<[u8; 32]> {
    let shown = || {
        s.chars()
            .take(80)
            .collect::<String>()
            .escape_debug()
            .to_string()
    };
    let Some((alg, hex_part)) = s.split_once(':') else {
        return Err(bad(format!(
            "{what} digest '{}' is not ALGORITHM:HEX",
            shown()
        )));
    };
    if alg != "sha256" {
        return Err(Error::Unsupported(format!(
            "OCI digests other than sha256 ({what} uses '{}')",
            alg.chars().take(32).collect::<String>().escape_debug()
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

fn descriptor(d: RawDescriptor, what: &str) -> Result<Descriptor> {
    let digest = parse_digest(
        d.digest
            .as_deref()
            .ok_or_else(|| bad(format!("{what} has no digest")))?,
        what,
    )?;
    let size = d.size.ok_or_else(|| bad(format!("{what} has no size")))?;
    let size = u64::try_from(size).map_err(|_| bad(format!("{what} has a negative size")))?;
    let platform = d.platform.map(|p| {
        let mut s = format!(
            "{}/{}",
            p.os.unwrap_or_else(|| "?".into()),
            p.architecture.unwrap_or_else(|| "?".into())
        );
        if let Some(v) = p.variant {
            s.push('/');
            s.push_str(&v);
        }
        s
    });
    Ok(Descriptor {
        media_type: d.media_type.unwrap_or_default(),
        digest,
        size,
        annotations: d.annotations.unwrap_or_default(),
        platform,
    })
}

/// Parses and validates a manifest document (at most [`MAX_MANIFEST_BYTES`]).
pub fn parse(raw: &[u8]) -> Result<Parsed> {
    if raw.len() > MAX_MANIFEST_BYTES {
        return Err(bad(format!(
            "{} bytes, over the {MAX_MANIFEST_BYTES} byte limit",
            raw.len()
        )));
    }
    let doc: RawDoc =
        serde_json::from_slice(raw).map_err(|e| bad(format!("not a JSON manifest: {e}")))?;
    if doc.fs_layers.is_some() {
        return Err(Error::Unsupported(
            "Docker schema 1 manifests (re-push the image with a current client)".into(),
        ));
    }
    if doc.schema_version != Some(2) {
        return Err(bad(match doc.schema_version {
            None => "no schemaVersion".to_string(),
            Some(v) => format!("schemaVersion {v}, expected 2"),
        }));
    }
    let mt = doc.media_type.as_deref();
    if let Some(entries) = doc.manifests {
        if !matches!(mt, None | Some(OCI_INDEX) | Some(DOCKER_LIST)) {
            return Err(bad(format!(
                "an index with media type '{}'",
                mt.unwrap_or_default().escape_debug()
            )));
        }
        if entries.len() > MAX_LAYERS {
            return Err(bad(format!(
                "an index of {} entries, over the limit of {MAX_LAYERS}",
                entries.len()
            )));
        }
        let mut out = Vec::with_capacity(entries.len());
        for (i, d) in entries.into_iter().enumerate() {
            out.push(descriptor(d, &format!("index entry {i}"))?);
        }
        return Ok(Parsed::Index(out));
    }
    if !matches!(mt, None | Some(OCI_MANIFEST) | Some(DOCKER_MANIFEST)) {
        return Err(bad(format!(
            "media type '{}' is not an image manifest",
            mt.unwrap_or_default()
                .chars()
                .take(100)
                .collect::<String>()
                .escape_debug()
        )));
    }
    let config = descriptor(doc.config.ok_or_else(|| bad("no config"))?, "the config")?;
    let raw_layers = doc.layers.ok_or_else(|| bad("no layers"))?;
    if raw_layers.is_empty() {
        return Err(bad("no layers"));
    }
    if raw_layers.len() > MAX_LAYERS {
        return Err(bad(format!(
            "{} layers, over the limit of {MAX_LAYERS}",
            raw_layers.len()
        )));
    }
    let mut layers = Vec::with_capacity(raw_layers.len());
    for (i, d) in raw_layers.into_iter().enumerate() {
        layers.push(descriptor(d, &format!("layer {i}"))?);
    }
    Ok(Parsed::Image(ImageManifest {
        media_type: mt.unwrap_or(OCI_MANIFEST).to_string(),
        config,
        layers,
    }))
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

/// `os/arch sha256:…` of each index entry (the first 20), for messages.
pub fn platforms(entries: &[Descriptor]) -> String {
    let mut out: Vec<String> = entries
        .iter()
        .take(20)
        .map(|d| {
            format!(
                "{} sha256:{}",
                d.platform.as_deref().unwrap_or("no platform"),
                hex::encode(d.digest)
            )
        })
        .collect();
    if entries.len() > 20 {
        out.push(format!("and {} more", entries.len() - 20));
    }
    out.join(", ")
}

/// The index entry for `platform` (`os/arch[/variant]`): exactly one must match.
pub fn select_platform<'a>(entries: &'a [Descriptor], platform: &str) -> Result<&'a Descriptor> {
    let matching: Vec<&Descriptor> = entries
        .iter()
        .filter(|d| d.platform.as_deref() == Some(platform))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::Model(format!(
            "the image index has no manifest for platform '{}' (it has {})",
            platform.escape_debug(),
            platforms(entries)
        ))),
        _ => Err(Error::Model(format!(
            "the image index has {} manifests for platform '{}'",
            matching.len(),
            platform.escape_debug()
        ))),
    }
}

/// The resource name of layer `index` without a title (the Go port's `layer_%03d.tar.gz`).
pub fn layer_name(index: usize) -> String {
    format!("layer_{index:03}.tar.gz")
}

/// The resources a signature of `image` covers: each layer named by its title (else
/// [`layer_name`]), plus the config blob as [`CONFIG_NAME`] unless a layer is titled so (the rule
/// of rh-model-signing: Hugging Face models carry their own `config.json`). Two resources with one
/// name are an error (the Go port keeps the last one silently). Sorted bytewise by name.
pub fn resources(image: &ImageManifest) -> Result<Manifest> {
    let mut named: Vec<(String, [u8; 32], String)> = Vec::with_capacity(image.layers.len() + 1);
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
        named.push((name, l.digest, format!("layer {i}")));
    }
    if !named.iter().any(|(n, _, _)| n == CONFIG_NAME) {
        named.push((
            CONFIG_NAME.to_string(),
            image.config.digest,
            "the config".into(),
        ));
    }
    named.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for w in named.windows(2) {
        if let [a, b] = w {
            if a.0 == b.0 {
                return Err(Error::Model(format!(
                    "{} and {} are both named '{}'; a signature cannot tell them apart",
                    a.2,
                    b.2,
                    a.0.escape_debug()
                )));
            }
        }
    }
    Ok(Manifest {
        resources: named
            .into_iter()
            .map(|(name, digest, _)| Resource {
                name,
                algorithm: "sha256".into(),
                digest: digest.to_vec(),
            })
            .collect(),
    })
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
            [layer('a', None), layer('b', Some("layer_000.tar.gz"))].join(","),
        ] {
            let Parsed::Image(img) = parse(&doc(&layers)).unwrap() else {
                panic!()
            };
            let e = resources(&img).unwrap_err().to_string();
            assert!(e.contains("both named"), "{e}");
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
            (b"[]".to_vec(), "not a JSON manifest"),
            (br#"{"schemaVersion":1,"fsLayers":[]}"#.to_vec(), "schema 1"),
            (br#"{"schemaVersion":3}"#.to_vec(), "schemaVersion 3"),
            (doc(""), "no layers"),
            (
                doc(&layer('a', None)).replace_all(b"\"size\":5", b"\"size\":-5"),
                "negative size",
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
