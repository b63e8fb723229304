//! The in-toto Statement v1 that carries the manifest (the DSSE payload).
//!
//! Writing: a fixed key order (`_type`, `subject`, `predicateType`, `predicate{serialization,
//! resources}`), compact JSON, `shard_size` as an integer. Python writes keys in a random order and
//! `shard_size` as a float; neither matters to any reader, and the integer even fixes Python's own
//! auto-detection.
//!
//! Reading is lenient about shape and strict about meaning: key order and unknown keys are free,
//! `shard_size` may be a float if it is integral, `allow_symlinks` may be the string `"false"` (v0.2
//! compat), and the old `https://model_signing/Digests/v0.1` predicate (one subject per file, no root
//! digest) is mapped onto a files/sha256 manifest.
//!
//! The resource list is converted element by element while the JSON is parsed, never held as a
//! generic JSON tree: for a 100,000-file model that tree costs about ten times the manifest itself.
//!
//! **OCI descriptions.** The resources of an OCI image signature may also carry what the image's
//! descriptor said about each blob, in fields the OMS predicate schema leaves open (a resource
//! descriptor allows additional properties) and every other reader ignores (Python 1.1.1,
//! rh-model-signing and the Go port read only `name`, `algorithm` and `digest`): the in-toto
//! `mediaType`, and under `annotations.oci` the role (`config` or `layer`), the layer's position
//! and its annotations ([`OciBinding`]). A verifier of ours then checks them too; see
//! [`crate::oci`].

use crate::error::{Error, Result};
use crate::hashing::{HashAlgorithm, Serialization};
use crate::manifest::{Manifest, Resource};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The in-toto statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The OMS predicate type.
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
pub use crate::limits::MAX_RESOURCES;

/// The predicate type written by model-signing v0.1/v0.2.
pub const LEGACY_PREDICATE_TYPE: &str = "https://model_signing/Digests/v0.1";

/// The `predicate.serialization` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerializationInfo {
    /// Files or shards (with the shard size).
    pub serialization: Serialization,
    /// Per-resource hash algorithm.
    pub hash_type: HashAlgorithm,
    /// Whether symlinks were followed when signing.
    pub allow_symlinks: bool,
    /// Model-relative paths the signer excluded (absent in bundles before v1.1).
    pub ignore_paths: Vec<String>,
    /// Whether the statement records an `ignore_paths` list at all, even an empty one: bundles
    /// before v1.1 record none, and only for them does a verifier fall back to ignoring the git
    /// paths by default.
    pub ignore_paths_recorded: bool,
}

/// What an OCI image's manifest said about one signed blob: the parts runtimes act on beyond its
/// digest (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciBinding {
    /// The image's config blob, or the layer at this position (runtimes apply layers in order).
    pub role: OciRole,
    /// The descriptor's media type (`""` when it has none).
    pub media_type: String,
    /// The descriptor's annotations (the title among them; `io.deis.oras.content.unpack` makes
    /// oras unpack a layer as a directory).
    pub annotations: std::collections::BTreeMap<String, String>,
    /// On the layer titled `config.json`, which takes the name the config blob would have had:
    /// the image's config blob (its digest and media type), which then has no resource of its
    /// own. Other verifiers, which read names and digests only, do not check it.
    pub config: Option<OciConfig>,
}

/// The config blob of an image, recorded beside the layer that took its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciConfig {
    /// Raw SHA-256 of the blob.
    pub digest: [u8; 32],
    /// Its media type (`""` when it has none).
    pub media_type: String,
    /// Its descriptor's annotations.
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// Which blob of an image an [`OciBinding`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OciRole {
    /// The config blob.
    Config,
    /// The layer at this index of the manifest's `layers`.
    Layer(usize),
}

/// A decoded statement.
#[derive(Debug, Clone)]
pub struct Statement {
    /// `subject[0].name`: informational only, never verified (as in Python).
    pub model_name: String,
    /// The signed root digest; `None` for the legacy predicate, which has none.
    pub root_digest: Option<[u8; 32]>,
    /// Recorded hashing parameters.
    pub serialization: SerializationInfo,
    /// The manifest in signed order.
    pub manifest: Manifest,
    /// True for the legacy `Digests/v0.1` predicate.
    pub legacy: bool,
    /// For an OCI image signed by us: each resource's [`OciBinding`], in the order of
    /// `manifest.resources`. `None` when the resources carry none (every signature of files,
    /// and OCI signatures by other tools).
    pub oci: Option<Vec<OciBinding>>,
}

#[derive(Serialize)]
struct OutStatement<'a> {
    #[serde(rename = "_type")]
    ty: &'a str,
    subject: [OutSubject<'a>; 1],
    #[serde(rename = "predicateType")]
    predicate_type: &'a str,
    predicate: OutPredicate<'a>,
}

#[derive(Serialize)]
struct OutSubject<'a> {
    name: &'a str,
    digest: OutDigest,
}

#[derive(Serialize)]
struct OutDigest {
    sha256: String,
}

#[derive(Serialize)]
struct OutPredicate<'a> {
    serialization: OutSerialization<'a>,
    resources: Vec<OutResource<'a>>,
}

#[derive(Serialize)]
struct OutSerialization<'a> {
    method: &'a str,
    hash_type: &'a str,
    allow_symlinks: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard_size: Option<u64>,
    // Always written, as Python 1.1 does: an empty list ("nothing ignored") is not the same as no
    // list (a pre-1.1 bundle, for which verifiers ignore the git paths by default).
    ignore_paths: &'a [String],
}

#[derive(Serialize)]
struct OutResource<'a> {
    name: &'a str,
    algorithm: &'a str,
    digest: String,
    #[serde(rename = "mediaType", skip_serializing_if = "Option::is_none")]
    media_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<OutAnnotations<'a>>,
}

#[derive(Serialize)]
struct OutAnnotations<'a> {
    oci: OutOci<'a>,
}

#[derive(Serialize)]
struct OutOci<'a> {
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    annotations: &'a std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<OutConfig<'a>>,
}

#[derive(Serialize)]
struct OutConfig<'a> {
    digest: String,
    #[serde(rename = "mediaType", skip_serializing_if = "str::is_empty")]
    media_type: &'a str,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    annotations: &'a std::collections::BTreeMap<String, String>,
}

/// Serialises the statement for `manifest` as compact JSON bytes.
pub fn encode(model_name: &str, info: &SerializationInfo, manifest: &Manifest) -> Result<Vec<u8>> {
    encode_with(model_name, info, manifest, None)
}

/// [`encode`], with an [`OciBinding`] for each resource (in the same order) when given.
pub fn encode_with(
    model_name: &str,
    info: &SerializationInfo,
    manifest: &Manifest,
    oci: Option<&[OciBinding]>,
) -> Result<Vec<u8>> {
    if oci.is_some_and(|b| b.len() != manifest.resources.len()) {
        return Err(bad("one OCI description per resource is needed"));
    }
    let st = OutStatement {
        ty: STATEMENT_TYPE,
        subject: [OutSubject {
            name: model_name,
            digest: OutDigest {
                sha256: hex::encode(manifest.root_digest()),
            },
        }],
        predicate_type: PREDICATE_TYPE,
        predicate: OutPredicate {
            serialization: OutSerialization {
                method: info.serialization.method(),
                hash_type: info.hash_type.name(),
                allow_symlinks: info.allow_symlinks,
                shard_size: match info.serialization {
                    Serialization::Files => None,
                    Serialization::Shards { shard_size } => Some(shard_size),
                },
                ignore_paths: &info.ignore_paths,
            },
            resources: manifest
                .resources
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let b = oci.and_then(|b| b.get(i));
                    OutResource {
                        name: &r.name,
                        algorithm: &r.algorithm,
                        digest: hex::encode(&r.digest),
                        media_type: b.map(|b| b.media_type.as_str()).filter(|m| !m.is_empty()),
                        annotations: b.map(|b| OutAnnotations {
                            oci: OutOci {
                                role: match b.role {
                                    OciRole::Config => "config",
                                    OciRole::Layer(_) => "layer",
                                },
                                index: match b.role {
                                    OciRole::Config => None,
                                    OciRole::Layer(i) => Some(i),
                                },
                                annotations: &b.annotations,
                                config: b.config.as_ref().map(|c| OutConfig {
                                    digest: format!("sha256:{}", hex::encode(c.digest)),
                                    media_type: &c.media_type,
                                    annotations: &c.annotations,
                                }),
                            },
                        }),
                    }
                })
                .collect(),
        },
    };
    serde_json::to_vec(&st).map_err(|e| Error::Statement(format!("cannot encode statement: {e}")))
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Statement(msg.into())
}

fn get_str<'a>(v: &'a Value, key: &str, ctx: &str) -> Result<&'a str> {
    v.get(key)
        .ok_or_else(|| bad(format!("{ctx} has no '{key}'")))?
        .as_str()
        .ok_or_else(|| bad(format!("{ctx}.{key} is not a string")))
}

/// Decodes hex digits of either case. The `hex` crate's decoder goes through iterators a byte at a
/// time, which took a fifth of verification's start-up for a 100,000-file manifest.
fn decode_hex(s: &str, ctx: impl FnOnce() -> String) -> Result<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(s.len() / 2);
    let mut ok = s.len().is_multiple_of(2);
    for pair in s.as_bytes().chunks_exact(2) {
        match pair {
            [h, l] => match (nibble(*h), nibble(*l)) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => ok = false,
            },
            _ => ok = false,
        }
        if !ok {
            break;
        }
    }
    let decoded = ok.then_some(out);
    decoded.ok_or_else(|| {
        bad(format!(
            "{} is not a hex digest: '{}'",
            ctx(),
            s.escape_debug()
        ))
    })
}

/// The top level of a payload. Everything but the resource list is small and read as generic JSON;
/// unknown keys are skipped.
#[derive(Deserialize)]
struct InStatement {
    #[serde(rename = "_type", default)]
    ty: Value,
    #[serde(rename = "predicateType", default)]
    predicate_type: Value,
    #[serde(default)]
    subject: Value,
    #[serde(default)]
    predicate: InPredicate,
}

/// Visitor methods that accept, skip and map to `$v` the kinds of JSON value listed: `scalars`
/// (null, booleans, numbers), `str`, `seq` and `map`. Lets the readers below turn a value of the
/// wrong kind into their own message instead of a serde error.
macro_rules! visit_as {
    ($v:expr; scalars) => {
        fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
    };
    ($v:expr; str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
            Ok($v)
        }
    };
    ($v:expr; seq) => {
        fn visit_seq<A: SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($v)
        }
    };
    ($v:expr; map) => {
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($v)
        }
    };
    ($v:expr; $($kind:ident),+) => {
        $(visit_as!($v; $kind);)+
    };
}

/// `predicate`, or what stood in its place.
#[derive(Default)]
enum InPredicate {
    /// Absent, or not an object.
    #[default]
    NotObject,
    Object {
        serialization: Value,
        resources: Option<ResourceList>,
    },
}

/// `predicate.resources`, converted while parsing. A semantic error (a missing field, a bad digest)
/// is kept with its own message and the rest of the list is skipped, so the message names the
/// element rather than a JSON position.
enum ResourceList {
    NotList,
    /// The resources, and the OCI descriptions some of them carry (by position).
    Resources(Vec<Resource>, Vec<(usize, OciBinding)>),
    Invalid(Error),
}

impl<'de> Deserialize<'de> for InPredicate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InPredicate;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the predicate")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<InPredicate, A::Error> {
                let mut serialization = None;
                let mut resources = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "serialization" if serialization.is_none() => {
                            serialization = Some(map.next_value::<Value>()?);
                        }
                        "resources" if resources.is_none() => {
                            resources = Some(map.next_value::<ResourceList>()?);
                        }
                        "serialization" | "resources" => {
                            return Err(de::Error::custom(format!("duplicate predicate.{key}")));
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(InPredicate::Object {
                    serialization: serialization.unwrap_or(Value::Null),
                    resources,
                })
            }
            visit_as!(InPredicate::NotObject; scalars, str, seq);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for ResourceList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResourceList;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the resource list")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<ResourceList, A::Error> {
                let mut out = Vec::new();
                let mut bindings = Vec::new();
                let mut failed = None;
                let mut count = 0usize;
                // One element at a time, strings borrowed from the payload where they have no
                // escapes. The whole list is counted even after an error, so that the limit is
                // reported first.
                while let Some(v) = seq.next_element::<InResource<'de>>()? {
                    if count < MAX_RESOURCES && failed.is_none() {
                        match resource(v, count) {
                            Ok((r, b)) => {
                                out.push(r);
                                if let Some(b) = b {
                                    bindings.push((count, b));
                                }
                            }
                            Err(e) => {
                                failed = Some(e);
                                out = Vec::new();
                                bindings = Vec::new();
                            }
                        }
                    } else if count == MAX_RESOURCES {
                        out = Vec::new();
                    }
                    count = count.saturating_add(1);
                }
                Ok(if count > MAX_RESOURCES {
                    ResourceList::Invalid(bad(format!(
                        "the manifest lists {count} resources, over the limit of {MAX_RESOURCES}"
                    )))
                } else {
                    match failed {
                        Some(e) => ResourceList::Invalid(e),
                        None => ResourceList::Resources(out, bindings),
                    }
                })
            }
            visit_as!(ResourceList::NotList; scalars, str, map);
        }
        d.deserialize_any(V)
    }
}

/// One element of `predicate.resources`, read without building a JSON tree.
#[derive(Default)]
struct InResource<'de> {
    object: bool,
    name: Field<'de>,
    algorithm: Field<'de>,
    digest: Field<'de>,
    media_type: Field<'de>,
    /// `annotations.oci`, as read (an OCI description; see the module documentation).
    oci: Option<Value>,
}

/// A resource's `annotations`: only the `oci` entry is kept; anything else is skipped.
struct InAnnotations(Option<Value>);

impl<'de> Deserialize<'de> for InAnnotations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InAnnotations;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("annotations")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<InAnnotations, A::Error> {
                let mut oci = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "oci" {
                        if oci.is_some() {
                            return Err(de::Error::custom("duplicate annotations.oci"));
                        }
                        oci = Some(map.next_value::<Value>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(InAnnotations(oci))
            }
            visit_as!(InAnnotations(None); scalars, str, seq);
        }
        d.deserialize_any(V)
    }
}

/// A string field of a resource, or why it is not one.
#[derive(Default)]
enum Field<'de> {
    #[default]
    Missing,
    Str(std::borrow::Cow<'de, str>),
    NotString,
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Field<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                s: &'de str,
            ) -> std::result::Result<Field<'de>, E> {
                Ok(Field::Str(s.into()))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Field<'de>, E> {
                Ok(Field::Str(s.to_owned().into()))
            }
            visit_as!(Field::NotString; scalars, seq, map);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for InResource<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InResource<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a resource")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<InResource<'de>, A::Error> {
                let mut r = InResource {
                    object: true,
                    ..InResource::default()
                };
                // As with a generic JSON object, a repeated key keeps its last value.
                while let Some(key) = map.next_key::<Field<'de>>()? {
                    let Field::Str(key) = key else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    match key.as_ref() {
                        "name" => r.name = map.next_value()?,
                        "algorithm" => r.algorithm = map.next_value()?,
                        "digest" => r.digest = map.next_value()?,
                        "mediaType" => r.media_type = map.next_value()?,
                        "annotations" => r.oci = map.next_value::<InAnnotations>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(r)
            }
            visit_as!(InResource::default(); scalars, str, seq);
        }
        d.deserialize_any(V)
    }
}

/// The `annotations.oci` entry of resource `i`, checked.
fn oci_binding(v: Value, media_type: Field<'_>, i: usize) -> Result<OciBinding> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        role: String,
        #[serde(default)]
        index: Option<u64>,
        #[serde(default)]
        annotations: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        config: Option<RawConfig>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawConfig {
        digest: String,
        #[serde(default, rename = "mediaType")]
        media_type: String,
        #[serde(default)]
        annotations: std::collections::BTreeMap<String, String>,
    }
    let raw: Raw = serde_json::from_value(v)
        .map_err(|e| bad(format!("resources[{i}].annotations.oci: {e}")))?;
    let role = match (raw.role.as_str(), raw.index) {
        ("config", None) => OciRole::Config,
        ("layer", Some(n)) => OciRole::Layer(
            usize::try_from(n)
                .map_err(|_| bad(format!("resources[{i}].annotations.oci.index is too large")))?,
        ),
        _ => {
            return Err(bad(format!(
                "resources[{i}].annotations.oci: role '{}' with {} index",
                raw.role.escape_debug(),
                if raw.index.is_some() { "an" } else { "no" }
            )))
        }
    };
    let media_type = match media_type {
        Field::Missing => String::new(),
        Field::Str(s) => s.into_owned(),
        Field::NotString => return Err(bad(format!("resources[{i}].mediaType is not a string"))),
    };
    let config = match raw.config {
        None => None,
        Some(_) if !matches!(role, OciRole::Layer(_)) => {
            return Err(bad(format!(
                "resources[{i}].annotations.oci: a config blob recorded on the config itself"
            )))
        }
        Some(c) => {
            let hex_part = c.digest.strip_prefix("sha256:").unwrap_or("");
            let digest: [u8; 32] = decode_hex(hex_part, || {
                format!("resources[{i}].annotations.oci.config.digest")
            })?
            .try_into()
            .map_err(|_| {
                bad(format!(
                    "resources[{i}].annotations.oci.config.digest is not sha256:<64 hex>"
                ))
            })?;
            Some(OciConfig {
                digest,
                media_type: c.media_type,
                annotations: c.annotations,
            })
        }
    };
    Ok(OciBinding {
        role,
        media_type,
        annotations: raw.annotations,
        config,
    })
}

fn resource(r: InResource<'_>, i: usize) -> Result<(Resource, Option<OciBinding>)> {
    if !r.object {
        return Err(bad(format!("resources[{i}] is not an object")));
    }
    let field = |f: Field<'_>, key: &str| match f {
        Field::Str(s) => Ok(s.into_owned()),
        Field::Missing => Err(bad(format!("resources[{i}] has no '{key}'"))),
        Field::NotString => Err(bad(format!("resources[{i}].{key} is not a string"))),
    };
    let name = field(r.name, "name")?;
    let algorithm = field(r.algorithm, "algorithm")?;
    let digest = field(r.digest, "digest")?;
    let binding = r.oci.map(|v| oci_binding(v, r.media_type, i)).transpose()?;
    Ok((
        Resource {
            name,
            algorithm,
            digest: decode_hex(&digest, || format!("resources[{i}].digest"))?,
        },
        binding,
    ))
}

/// Every field name the statement formats use (v1.0, v0.2, the OCI binding), for
/// [`crate::oci::json::check_one_reading`].
const STATEMENT_KEYS: [&str; 20] = [
    "_type",
    "subject",
    "name",
    "digest",
    "predicateType",
    "predicate",
    "serialization",
    "method",
    "hash_type",
    "allow_symlinks",
    "ignore_paths",
    "shard_size",
    "resources",
    "algorithm",
    "mediaType",
    "annotations",
    "oci",
    "role",
    "index",
    "config",
];

/// Decodes and checks a statement: types, the single subject, the predicate, and (for v1.0) that the
/// root digest matches the resources in their listed order.
pub fn decode(payload: &[u8]) -> Result<Statement> {
    // A derived struct would also accept a JSON array (fields by position): refuse anything but an
    // object up front. JSON allows only these four whitespace bytes.
    let first = payload
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        // Still report malformed JSON as such.
        serde_json::from_slice::<IgnoredAny>(payload)
            .map_err(|e| bad(format!("payload is not JSON: {e}")))?;
        return Err(bad("payload is not a JSON object"));
    }
    // One reading for every verifier: the Go port and rh-model-signing decode this statement
    // with encoding/json, the reference with Python's json (the second review of issue 23 split
    // `ignore_paths` from `IGNORE_PATHS` between them).
    crate::oci::json::check_one_reading(payload, &STATEMENT_KEYS).map_err(|e| {
        bad(format!(
            "the statement does not read one way for every verifier: {e}"
        ))
    })?;
    let v: InStatement =
        serde_json::from_slice(payload).map_err(|e| bad(format!("payload is not JSON: {e}")))?;
    let ty =
        v.ty.as_str()
            .ok_or_else(|| missing_or_not_string(&v.ty, "_type"))?;
    if ty != STATEMENT_TYPE {
        return Err(bad(format!(
            "expected in-toto {STATEMENT_TYPE} payload, but got '{}'",
            ty.escape_debug()
        )));
    }
    let pt = v
        .predicate_type
        .as_str()
        .ok_or_else(|| missing_or_not_string(&v.predicate_type, "predicateType"))?;
    let subjects = v
        .subject
        .as_array()
        .ok_or_else(|| bad("statement has no 'subject' list"))?;
    match pt {
        PREDICATE_TYPE => decode_v1(subjects, v.predicate),
        LEGACY_PREDICATE_TYPE => decode_legacy(subjects),
        other => Err(bad(format!(
            "predicate type mismatch, expected {PREDICATE_TYPE}, got '{}'",
            other.escape_debug()
        ))),
    }
}

fn missing_or_not_string(v: &Value, key: &str) -> Error {
    if v.is_null() {
        bad(format!("statement has no '{key}'"))
    } else {
        bad(format!("statement.{key} is not a string"))
    }
}

fn decode_v1(subjects: &[Value], predicate: InPredicate) -> Result<Statement> {
    let [subject] = subjects else {
        return Err(bad(format!(
            "expected exactly one subject, got {}",
            subjects.len()
        )));
    };
    let model_name = subject
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let root_hex = subject
        .get("digest")
        .and_then(|d| d.get("sha256"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("the subject has no sha256 digest"))?;
    let root: [u8; 32] = decode_hex(root_hex, || "subject digest".into())?
        .try_into()
        .map_err(|_| bad("the subject digest is not 32 bytes"))?;
    let InPredicate::Object {
        serialization,
        resources,
    } = predicate
    else {
        return Err(bad("statement has no 'predicate' object"));
    };
    if !serialization.is_object() {
        return Err(bad("predicate has no 'serialization' object"));
    }
    let info = decode_serialization(&serialization)?;
    let (resources, bindings) = match resources {
        Some(ResourceList::Resources(r, b)) => (r, b),
        Some(ResourceList::Invalid(e)) => return Err(e),
        Some(ResourceList::NotList) | None => return Err(bad("predicate has no 'resources' list")),
    };
    let manifest = Manifest { resources };
    let computed = manifest.root_digest();
    if computed != root {
        return Err(bad(format!(
            "manifest is inconsistent: the root digest is {}, but the listed resources hash to {}",
            hex::encode(root),
            hex::encode(computed)
        )));
    }
    // All or nothing: a signature that describes some blobs of an image and not others would
    // leave the rest unbound without saying so.
    let oci = if bindings.is_empty() {
        None
    } else if bindings.len() == manifest.resources.len() {
        Some(bindings.into_iter().map(|(_, b)| b).collect())
    } else {
        return Err(bad(format!(
            "{} of {} resources carry an OCI description; a signature of an image describes all",
            bindings.len(),
            manifest.resources.len()
        )));
    };
    Ok(Statement {
        model_name,
        root_digest: Some(root),
        serialization: info,
        manifest,
        legacy: false,
        oci,
    })
}

fn decode_serialization(ser: &Value) -> Result<SerializationInfo> {
    let method = get_str(ser, "method", "serialization")?;
    let hash_type: HashAlgorithm = get_str(ser, "hash_type", "serialization")?
        .parse()
        .map_err(|e: Error| bad(format!("serialization.hash_type: {e}")))?;
    let allow_symlinks = match ser.get("allow_symlinks") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        // v0.2 compat manifests wrote the string "false".
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(other) => {
            return Err(bad(format!(
                "serialization.allow_symlinks is not a boolean: {other}"
            )))
        }
    };
    let serialization = match method {
        "files" => Serialization::Files,
        "shards" => {
            let v = ser
                .get("shard_size")
                .ok_or_else(|| bad("shards serialization without 'shard_size'"))?;
            let size = v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f < 1.8e19)
                        .map(|f| f as u64)
                })
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    bad(format!(
                        "serialization.shard_size is not a positive integer: {v}"
                    ))
                })?;
            Serialization::Shards { shard_size: size }
        }
        other => {
            return Err(bad(format!(
                "unknown serialization method '{}'",
                other.escape_debug()
            )))
        }
    };
    let mut ignore_paths = Vec::new();
    let ignore_paths_recorded = !matches!(ser.get("ignore_paths"), None | Some(Value::Null));
    match ser.get("ignore_paths") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for p in a {
                let s = p
                    .as_str()
                    .ok_or_else(|| bad("serialization.ignore_paths holds a non-string"))?;
                ignore_paths.push(s.to_string());
            }
        }
        Some(_) => return Err(bad("serialization.ignore_paths is not a list")),
    }
    Ok(SerializationInfo {
        serialization,
        hash_type,
        allow_symlinks,
        ignore_paths,
        ignore_paths_recorded,
    })
}

fn decode_legacy(subjects: &[Value]) -> Result<Statement> {
    if subjects.len() > MAX_RESOURCES {
        return Err(bad(format!(
            "the statement lists {} subjects, over the limit of {MAX_RESOURCES}",
            subjects.len()
        )));
    }
    let mut resources = Vec::with_capacity(subjects.len());
    for (i, s) in subjects.iter().enumerate() {
        let ctx = format!("subject[{i}]");
        let name = get_str(s, "name", &ctx)?;
        let d = s
            .get("digest")
            .and_then(|d| d.get("sha256"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("{ctx} has no sha256 digest")))?;
        resources.push(Resource {
            name: name.to_string(),
            algorithm: "sha256".into(),
            digest: decode_hex(d, || format!("{ctx}.digest"))?,
        });
    }
    Ok(Statement {
        model_name: String::new(),
        root_digest: None,
        serialization: SerializationInfo {
            serialization: Serialization::Files,
            hash_type: HashAlgorithm::Sha256,
            allow_symlinks: false,
            ignore_paths: Vec::new(),
            ignore_paths_recorded: false,
        },
        manifest: Manifest { resources },
        legacy: true,
        oci: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(ser: Serialization) -> SerializationInfo {
        SerializationInfo {
            serialization: ser,
            hash_type: HashAlgorithm::Sha256,
            allow_symlinks: false,
            ignore_paths: vec![".git".into()],
            ignore_paths_recorded: true,
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            resources: vec![Resource {
                name: "a".into(),
                algorithm: "sha256".into(),
                digest: vec![7; 32],
            }],
        }
    }

    /// Second review of issue 23: `ignore_paths` and `IGNORE_PATHS` were two lists to two
    /// readers (Go keeps the folded one, serde the exact one).
    #[test]
    fn statements_with_two_readings_are_refused() {
        let good =
            String::from_utf8(encode("m", &info(Serialization::Files), &manifest()).unwrap())
                .unwrap();
        decode(good.as_bytes()).unwrap();
        for (from, to) in [
            (
                r#""ignore_paths":[".git"]"#,
                r#""ignore_paths":[".git"],"IGNORE_PATHS":[".git","a"]"#,
            ),
            (
                r#""ignore_paths":[".git"]"#,
                r#""ignore_paths":[".git"],"ignore_paths":[".git","a"]"#,
            ),
            (r#""resources""#, r#""Resources""#),
            (r#""hash_type""#, r#""hash_type","HASH_TYPE":"blake3","x""#),
            (r#""subject""#, r#""ſubject""#),
        ] {
            let bad = good.replacen(from, to, 1);
            assert_ne!(bad, good, "{to}");
            let e = decode(bad.as_bytes()).unwrap_err().to_string();
            assert!(e.contains("one way for every verifier"), "{to}: {e}");
        }
        // Annotation maps are map keys, compared exactly by Go: any spelling is theirs.
        let annotated = good.replacen(
            r#""digest":"07"#,
            r#""annotations":{"Name":"x","name":"y"},"digest":"07"#,
            1,
        );
        assert_ne!(annotated, good);
        let e = decode(annotated.as_bytes())
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert!(
            !e.as_ref().err().is_some_and(|m| m.contains("one way")),
            "{e:?}"
        );
    }

    #[test]
    fn roundtrip() {
        let bytes = encode("m", &info(Serialization::Files), &manifest()).unwrap();
        let s = std::str::from_utf8(&bytes).unwrap();
        assert!(
            s.starts_with(r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m""#),
            "{s}"
        );
        let st = decode(&bytes).unwrap();
        assert_eq!(st.manifest, manifest());
        assert_eq!(st.serialization, info(Serialization::Files));
        assert!(!st.legacy);
        assert!(st.oci.is_none());
    }

    #[test]
    fn oci_descriptions_round_trip_and_are_all_or_nothing() {
        let two = Manifest {
            resources: vec![
                Resource {
                    name: "config.json".into(),
                    algorithm: "sha256".into(),
                    digest: vec![1; 32],
                },
                Resource {
                    name: "w.bin".into(),
                    algorithm: "sha256".into(),
                    digest: vec![2; 32],
                },
            ],
        };
        let b = vec![
            OciBinding {
                role: OciRole::Config,
                media_type: "application/vnd.oci.image.config.v1+json".into(),
                annotations: Default::default(),
                config: None,
            },
            OciBinding {
                role: OciRole::Layer(3),
                media_type: String::new(),
                annotations: [("org.opencontainers.image.title".into(), "w.bin".into())].into(),
                config: Some(OciConfig {
                    digest: [9; 32],
                    media_type: "application/vnd.oci.empty.v1+json".into(),
                    annotations: Default::default(),
                }),
            },
        ];
        let bytes = encode_with("m", &info(Serialization::Files), &two, Some(&b)).unwrap();
        let s = std::str::from_utf8(&bytes).unwrap();
        // In-toto's own mediaType; the rest under annotations.oci; empty parts left out.
        assert!(
            s.contains(r#""mediaType":"application/vnd.oci.image.config.v1+json","annotations":{"oci":{"role":"config"}}"#),
            "{s}"
        );
        assert!(
            s.contains(&format!(r#""annotations":{{"oci":{{"role":"layer","index":3,"annotations":{{"org.opencontainers.image.title":"w.bin"}},"config":{{"digest":"sha256:{}","mediaType":"application/vnd.oci.empty.v1+json"}}}}}}"#, "09".repeat(32))),
            "{s}"
        );
        let st = decode(&bytes).unwrap();
        assert_eq!(st.manifest, two);
        assert_eq!(st.oci.as_deref(), Some(&b[..]));
        // Other annotations are ignored; a description on one resource of two is refused.
        let one = s.replacen(
            r#","annotations":{"oci":{"role":"config"}}"#,
            r#","annotations":{"x":1}"#,
            1,
        );
        let e = decode(one.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("1 of 2 resources"), "{e}");
        for (from, to, want) in [
            (
                r#""role":"config""#,
                r#""role":"config","index":1"#,
                "role 'config' with an index",
            ),
            (
                r#""role":"config""#,
                r#""role":"sidecar""#,
                "role 'sidecar'",
            ),
            (
                r#""role":"config""#,
                r#""role":"config","extra":1"#,
                "unknown field",
            ),
            (r#""index":3"#, r#""index":-3"#, "annotations.oci"),
        ] {
            let bad = s.replacen(from, to, 1);
            let e = decode(bad.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(want), "{to}: {e}");
        }
        assert!(encode_with("m", &info(Serialization::Files), &two, Some(&b[..1])).is_err());
    }

    #[test]
    fn shard_size_integer_written_float_accepted() {
        let bytes = encode(
            "m",
            &info(Serialization::Shards { shard_size: 8 }),
            &manifest(),
        )
        .unwrap();
        assert!(String::from_utf8(bytes.clone())
            .unwrap()
            .contains(r#""shard_size":8,"#));
        let s = String::from_utf8(bytes)
            .unwrap()
            .replace(r#""shard_size":8"#, r#""shard_size":8.0"#);
        let st = decode(s.as_bytes()).unwrap();
        assert_eq!(
            st.serialization.serialization,
            Serialization::Shards { shard_size: 8 }
        );
        for bad in ["8.5", "0", "-1", "\"8\""] {
            let s2 = s.replace(r#""shard_size":8.0"#, &format!(r#""shard_size":{bad}"#));
            assert!(decode(s2.as_bytes()).is_err(), "{bad}");
        }
    }

    /// Builds a statement around a raw `predicate` (the root digest is then wrong, but every shape
    /// error below is found before the digest is compared).
    fn with_predicate(predicate: &str) -> String {
        format!(
            r#"{{"_type":"{STATEMENT_TYPE}","subject":[{{"name":"m","digest":{{"sha256":"{}"}}}}],"predicateType":"{PREDICATE_TYPE}","predicate":{predicate}}}"#,
            "00".repeat(32)
        )
    }

    /// Every shape error in the resource list is reported with the element and field it concerns,
    /// as the streaming reader converts elements one by one.
    #[test]
    fn resource_shape_errors_name_the_element() {
        let ser = r#"{"method":"files","hash_type":"sha256","allow_symlinks":false}"#;
        let ok = r#"{"name":"a","algorithm":"sha256","digest":"00"}"#;
        let cases = [
            (
                format!(r#"{{"serialization":{ser},"resources":[{ok},7]}}"#),
                "resources[1] is not an object",
            ),
            (
                format!(r#"{{"serialization":{ser},"resources":[{ok},[1]]}}"#),
                "resources[1] is not an object",
            ),
            (
                format!(
                    r#"{{"serialization":{ser},"resources":[{{"algorithm":"sha256","digest":"00"}}]}}"#
                ),
                "resources[0] has no 'name'",
            ),
            (
                format!(
                    r#"{{"serialization":{ser},"resources":[{{"name":null,"algorithm":"sha256","digest":"00"}}]}}"#
                ),
                "resources[0].name is not a string",
            ),
            (
                format!(
                    r#"{{"serialization":{ser},"resources":[{{"name":"a","algorithm":{{"x":1}},"digest":"00"}}]}}"#
                ),
                "resources[0].algorithm is not a string",
            ),
            (
                format!(
                    r#"{{"serialization":{ser},"resources":[{{"name":"a","algorithm":"sha256","digest":"0"}}]}}"#
                ),
                "resources[0].digest is not a hex digest: '0'",
            ),
            (
                format!(
                    r#"{{"serialization":{ser},"resources":[{{"name":"a","algorithm":"sha256","digest":"zz"}}]}}"#
                ),
                "resources[0].digest is not a hex digest: 'zz'",
            ),
            (
                format!(r#"{{"serialization":{ser},"resources":{{}}}}"#),
                "predicate has no 'resources' list",
            ),
            (
                format!(r#"{{"serialization":{ser}}}"#),
                "predicate has no 'resources' list",
            ),
            (
                r#"{"resources":[]}"#.to_string(),
                "predicate has no 'serialization' object",
            ),
            (
                "\"predicate\"".to_string(),
                "statement has no 'predicate' object",
            ),
            ("null".to_string(), "statement has no 'predicate' object"),
        ];
        for (pred, want) in cases {
            let err = decode(with_predicate(&pred).as_bytes())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{pred}: {err}");
        }
    }

    /// Escaped strings (which cannot be borrowed from the payload), upper-case hex and unknown keys
    /// decode. (Repeated keys decoded too, the last one counting, until the second review of
    /// issue 23: every one-reading rule now refuses them, see
    /// `statements_with_two_readings_are_refused`.)
    #[test]
    fn resource_strings_decode_like_generic_json() {
        let ser = r#"{"method":"files","hash_type":"sha256","allow_symlinks":false}"#;
        let pred = format!(
            r#"{{"x":[1,{{"y":2}}],"serialization":{ser},"resources":[{{"name":"caf\u00e9/\"q\"","algorithm":"sha256","digest":"ABff","extra":{{}}}},{{"name":"c","algorithm":"sha256","digest":"00"}}]}}"#
        );
        let mut payload = with_predicate(&pred);
        let m = Manifest {
            resources: vec![
                Resource {
                    name: "café/\"q\"".into(),
                    algorithm: "sha256".into(),
                    digest: vec![0xab, 0xff],
                },
                Resource {
                    name: "c".into(),
                    algorithm: "sha256".into(),
                    digest: vec![0],
                },
            ],
        };
        payload = payload.replace(&"00".repeat(32), &hex::encode(m.root_digest()));
        let st = decode(payload.as_bytes()).unwrap();
        assert_eq!(st.manifest, m);
    }

    #[test]
    fn rejects_wrong_types_and_subjects() {
        let good =
            String::from_utf8(encode("m", &info(Serialization::Files), &manifest()).unwrap())
                .unwrap();
        let cases = [
            good.replace("in-toto.io/Statement/v1", "in-toto.io/Statement/v0.1"),
            good.replace("signature/v1.0", "signature/v2.0"),
            good.replace(
                r#""subject":[{"#,
                r#""subject":[{"name":"x","digest":{"sha256":"00"}},{"#,
            ),
            good.replace(
                r#""subject":[{"name":"m","digest":{"sha256":""#,
                r#""subject":[],"x":[{"name":"m","digest":{"sha256":""#,
            ),
            good.replace("0707", "0708"),
            good.replace(r#""method":"files""#, r#""method":"tar""#),
            "[]".into(),
            "not json".into(),
        ];
        for c in cases {
            assert!(decode(c.as_bytes()).is_err(), "accepted: {c}");
        }
    }

    #[test]
    fn legacy_predicate() {
        let p = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}}],"predicateType":"https://model_signing/Digests/v0.1","predicate":{"unused":"x"}}"#;
        let st = decode(p.as_bytes()).unwrap();
        assert!(st.legacy);
        assert_eq!(st.manifest.resources[0].name, "a");
    }
}
