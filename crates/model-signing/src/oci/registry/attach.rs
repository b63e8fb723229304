//! Pushing a bundle to the registry beside the image it signs, and finding it again, the way
//! rh-model-signing does, so that each tool finds the other's: an OCI 1.1 artifact whose `subject`
//! is the image (the referrers API) where the registry has that API, else the tag
//! `sha256-<manifest hex>.sig` listing the bundles as layers, newest first.
//!
//! Everything read here is written by whoever can push to the repository and is read before any
//! signature is checked, so discovery is bounded: at most
//! [`MAX_ATTACHED_BUNDLES`] candidates, each fetched (at
//! most [`MAX_ATTACHED_BUNDLE_BYTES`]) only when the
//! one before it failed to verify, a blob listed twice fetched once, all within the client's
//! overall deadline; every manifest and index is read strictly ([`crate::oci::json`]).

use super::{registry_error, sha256, Client};
use crate::error::{Error, Result};
use crate::limits::{MAX_ATTACHED_BUNDLES, MAX_ATTACHED_BUNDLE_BYTES};
use crate::oci::image::{self, Descriptor};
use std::collections::{HashSet, VecDeque};

/// The artifact type of model-signing bundles in a registry (rh-model-signing's).
pub const ARTIFACT_TYPE: &str = "application/vnd.model-signing.signature.v0.1";
/// The config media type of a referrer artifact.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.model-signing.signature.v0.1.config+json";
/// The config media type of the tag-mode manifest.
pub const TAG_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The media type of a bundle layer.
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The annotation marking a tag-mode manifest as ours (a cosign `.sig` tag is left alone).
pub const TAG_ANNOTATION: &str = "dev.sigstore.model-signing.artifact-type";
/// The annotation that orders referrers, newest first (the registry copies it into the
/// referrers index).
pub const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";
/// Most bundles kept under one tag, and tried when discovering.
pub const MAX_BUNDLES: usize = MAX_ATTACHED_BUNDLES;

/// The fallback tag of an image manifest digest.
pub fn sig_tag(digest: &[u8; 32]) -> String {
    format!("sha256-{}.sig", hex::encode(digest))
}

/// Where a bundle was attached or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A referrer artifact (its manifest digest).
    Referrer([u8; 32]),
    /// Layer `index` of the fallback tag.
    Tag {
        /// The tag.
        tag: String,
        /// The layer's position.
        index: usize,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Referrer(d) => write!(f, "the referrer sha256:{}", hex::encode(d)),
            Location::Tag { tag, index } => write!(f, "layer {index} of the tag {tag}"),
        }
    }
}

/// The subject of an attachment: the image manifest that was signed.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Its digest.
    pub digest: [u8; 32],
    /// Its size in bytes.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
}

fn layer(digest: &[u8; 32], size: usize) -> serde_json::Value {
    serde_json::json!({
        "mediaType": LAYER_MEDIA_TYPE,
        "digest": format!("sha256:{}", hex::encode(digest)),
        "size": size,
    })
}

fn encode(m: &serde_json::Value) -> Result<Vec<u8>> {
    serde_json::to_vec(m).map_err(|e| Error::Registry(format!("encoding a manifest: {e}")))
}

/// Refuses a bundle that discovery would not fetch: sign never attaches what verify refuses.
pub fn check_size(bundle: &[u8]) -> Result<()> {
    if bundle.len() > MAX_ATTACHED_BUNDLE_BYTES {
        return Err(Error::Config(format!(
            "the signature is {} bytes, over the {MAX_ATTACHED_BUNDLE_BYTES} bytes a verifier \
             fetches from a registry; it cannot be attached",
            bundle.len()
        )));
    }
    Ok(())
}

/// Pushes `bundle` for `subject` into the client's repository.
pub fn push(client: &mut Client, subject: &Subject, bundle: &[u8]) -> Result<Location> {
    check_size(bundle)?;
    let r = client.reference().clone();
    let has_referrers = client.referrers(&subject.digest, ARTIFACT_TYPE)?.is_some();
    let empty = b"{}";
    let config = client.put_blob(empty)?;
    let bundle_digest = client.put_blob(bundle)?;
    let created = crate::x509::format_time(std::time::SystemTime::now());
    if has_referrers {
        let m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": image::OCI_MANIFEST,
            "artifactType": ARTIFACT_TYPE,
            "config": {
                "mediaType": CONFIG_MEDIA_TYPE,
                "digest": format!("sha256:{}", hex::encode(config)),
                "size": empty.len(),
            },
            "layers": [layer(&bundle_digest, bundle.len())],
            "subject": {
                "mediaType": subject.media_type,
                "digest": format!("sha256:{}", hex::encode(subject.digest)),
                "size": subject.size,
            },
            "annotations": { CREATED_ANNOTATION: created },
        });
        let raw = encode(&m)?;
        let d = sha256(&raw);
        client.put_manifest(
            &format!("sha256:{}", hex::encode(d)),
            image::OCI_MANIFEST,
            &raw,
        )?;
        return Ok(Location::Referrer(d));
    }
    let tag = sig_tag(&subject.digest);
    let mut layers = vec![layer(&bundle_digest, bundle.len())];
    if let Some(prev) = client.optional_manifest(&tag, None)? {
        // Read strictly, like every document from the registry; what is kept of it is
        // re-encoded from what was read, never copied through.
        let doc = image::parse_document(&prev.bytes, &format!("the manifest of the tag {tag}"))
            .map_err(|e| {
                registry_error(
                    &r,
                    format!(
                        "the tag {tag} holds a manifest that cannot be read ({}); it is left \
                         untouched",
                        crate::error::one_line(&e)
                    ),
                )
            })?;
        if doc.annotations.get(TAG_ANNOTATION).map(String::as_str) != Some(ARTIFACT_TYPE) {
            return Err(registry_error(
                &r,
                format!(
                    "the tag {tag} exists and was not written by model-signing (cosign uses that \
                     tag too); it is left untouched"
                ),
            ));
        }
        let mut kept = HashSet::from([bundle_digest]);
        for old in doc.layers.unwrap_or_default() {
            if layers.len() >= MAX_BUNDLES {
                break;
            }
            if old.media_type == LAYER_MEDIA_TYPE && kept.insert(old.digest) {
                layers.push(layer(
                    &old.digest,
                    usize::try_from(old.size).unwrap_or(usize::MAX),
                ));
            }
        }
    }
    let m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": image::OCI_MANIFEST,
        "config": {
            "mediaType": TAG_CONFIG_MEDIA_TYPE,
            "digest": format!("sha256:{}", hex::encode(config)),
            "size": empty.len(),
        },
        "layers": layers,
        "annotations": { TAG_ANNOTATION: ARTIFACT_TYPE, CREATED_ANNOTATION: created },
    });
    client.put_manifest(&tag, image::OCI_MANIFEST, &encode(&m)?)?;
    Ok(Location::Tag { tag, index: 0 })
}

/// A candidate not fetched yet.
enum Pending {
    /// A referrer manifest, by digest: its first bundle layer is the candidate.
    Referrer([u8; 32]),
    /// A bundle blob listed by the fallback tag.
    Blob(Location, [u8; 32]),
}

/// The bundles attached to an image, fetched one at a time, newest first (see the module
/// documentation for the bounds). Made by [`discover`].
pub struct Discovery<'c> {
    client: &'c mut Client,
    subject: [u8; 32],
    pending: VecDeque<Pending>,
    fetched: HashSet<[u8; 32]>,
    /// How many candidates were listed.
    pub listed: usize,
    /// Whether the registry has the referrers API (else the fallback tag was read).
    pub referrers_api: bool,
}

/// Lists the signatures attached to the image `digest` in the client's repository: the
/// referrers API's (with our artifact type, newest first by their `created` annotation), else
/// the fallback tag's layers (newest first by position). Nothing but the list is fetched yet.
pub fn discover<'c>(client: &'c mut Client, digest: &[u8; 32]) -> Result<Discovery<'c>> {
    let mut pending = VecDeque::new();
    let referrers = client.referrers(digest, ARTIFACT_TYPE)?;
    let referrers_api = referrers.is_some();
    if let Some(index) = referrers {
        let doc = image::parse_document(&index.bytes, "the referrers index")?;
        let mut entries: Vec<(String, [u8; 32])> = Vec::new();
        let mut seen = HashSet::new();
        for d in doc.manifests.unwrap_or_default() {
            // Registries may ignore the filter: apply it again.
            if d.artifact_type.as_deref() == Some(ARTIFACT_TYPE) && seen.insert(d.digest) {
                let created = d
                    .annotations
                    .get(CREATED_ANNOTATION)
                    .cloned()
                    .unwrap_or_default();
                entries.push((created, d.digest));
            }
        }
        // Newest first; RFC 3339 UTC times sort as text. Entries without a time go last, in
        // the order listed.
        entries.sort_by(|a, b| b.0.cmp(&a.0));
        pending.extend(
            entries
                .into_iter()
                .take(MAX_BUNDLES)
                .map(|(_, d)| Pending::Referrer(d)),
        );
    } else {
        let tag = sig_tag(digest);
        if let Some(m) = client.optional_manifest(&tag, None)? {
            let doc = image::parse_document(&m.bytes, &format!("the manifest of the tag {tag}"))?;
            let mut seen = HashSet::new();
            for (index, l) in doc.layers.unwrap_or_default().into_iter().enumerate() {
                if pending.len() >= MAX_BUNDLES {
                    break;
                }
                if l.media_type == LAYER_MEDIA_TYPE && seen.insert(l.digest) {
                    pending.push_back(Pending::Blob(
                        Location::Tag {
                            tag: tag.clone(),
                            index,
                        },
                        l.digest,
                    ));
                }
            }
        }
    }
    Ok(Discovery {
        client,
        subject: *digest,
        listed: pending.len(),
        pending,
        fetched: HashSet::new(),
        referrers_api,
    })
}

impl Discovery<'_> {
    /// The next candidate: where it is and its bytes, or why it could not be fetched (the
    /// caller goes on with the next one). `None` when there are no more.
    pub fn next_bundle(&mut self) -> Option<(Location, Result<Vec<u8>>)> {
        loop {
            let (location, blob) = match self.pending.pop_front()? {
                Pending::Blob(location, blob) => (location, Ok(blob)),
                Pending::Referrer(d) => {
                    let location = Location::Referrer(d);
                    let blob = self.referrer_blob(&d);
                    (location, blob)
                }
            };
            let blob = match blob {
                Ok(b) => b,
                Err(e) => return Some((location, Err(e))),
            };
            // The same bundle listed twice is fetched (and tried) once.
            if !self.fetched.insert(blob) {
                continue;
            }
            return Some((location, self.client.blob(&blob, MAX_ATTACHED_BUNDLE_BYTES)));
        }
    }

    /// The bundle layer of the referrer manifest `d`, which must name the image as its subject.
    fn referrer_blob(&mut self, d: &[u8; 32]) -> Result<[u8; 32]> {
        let m = self
            .client
            .manifest(&format!("sha256:{}", hex::encode(d)), Some(d))?;
        let doc = image::parse_document(&m.bytes, "a referrer manifest")?;
        if doc.subject.as_ref().map(|s: &Descriptor| s.digest) != Some(self.subject) {
            return Err(Error::Registry(
                "the referrer does not name this image as its subject".into(),
            ));
        }
        doc.layers
            .unwrap_or_default()
            .into_iter()
            .find(|l| l.media_type == LAYER_MEDIA_TYPE)
            .map(|l| l.digest)
            .ok_or_else(|| Error::Registry("the referrer holds no signature bundle".into()))
    }
}
