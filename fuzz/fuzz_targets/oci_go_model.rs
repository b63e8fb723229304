//! A model of how Go's `encoding/json` decodes an OCI manifest or index into image-spec's structs
//! (the union of `Manifest` and `Index` that `tests/go/ocidecode/main.go` declares), and the
//! comparison of that reading with ours (`model_signing::oci::image`).
//!
//! Shared by the fuzz target `oci_manifest` (its oracle: Go itself cannot run inside libFuzzer)
//! and by `crates/model-signing/tests/oci_go_differential.rs`, which includes this file and checks
//! the model against the real Go decoder over its hostile corpus, so the oracle is tested too.
//!
//! What the model reproduces, because each is a way for one document to mean two things:
//!
//! * keys are matched to fields exactly, else case-insensitively under Go's folding (ASCII case
//!   plus the runes of a fold table: `GO_FOLDS_TO_ASCII`, Go >= 1.21's rule, in the fuzz target);
//! * every matching key is decoded in document order, so the last one wins, and it is decoded
//!   *into* what the earlier ones left: structs and maps merge, a slice decodes into its existing
//!   elements (Go 1.19 keeps even the elements past the length that an earlier, longer array
//!   filled), `null` resets a slice, map or pointer and leaves anything else as it was;
//! * type errors are errors; unknown keys are skipped unread.
//!
//! What it does not: JSON that serde_json cannot read (nesting over 128, numbers out of f64's
//! range, invalid UTF-8, lone surrogates) is [`ModelError::Unreadable`] where Go may accept it, and
//! `-0` is refused as an int where Go reads 0 (serde_json hands it over as a float). Our reader
//! refuses all of these, so the fuzz target never compares them.

use model_signing::oci::image;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;

/// A JSON value with every key kept, repeats included, in document order.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool,
    Int(i128),
    Float,
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E: de::Error>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<J, E> {
                Ok(J::Bool)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<J, E> {
                Ok(J::Int(n.into()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<J, E> {
                Ok(J::Int(n.into()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<J, E> {
                Ok(J::Float)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<J, E> {
                Ok(J::Str(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<J, E> {
                Ok(J::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(J::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(J::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Why the model has no reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// serde_json cannot read the bytes (Go may: see the module comment).
    Unreadable(String),
    /// Go's `Unmarshal` returns an error (a type mismatch).
    Go(String),
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::Unreadable(e) => write!(f, "unreadable to serde_json: {e}"),
            ModelError::Go(e) => write!(f, "Go's Unmarshal fails: {e}"),
        }
    }
}

/// image-spec's `Platform` as Go holds it after decoding (also the shape `ocidecode` prints).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(rename = "os.version")]
    pub os_version: String,
    #[serde(rename = "os.features")]
    pub os_features: Option<Vec<String>>,
    pub variant: String,
    pub features: Option<Vec<String>>,
}

/// image-spec's `Descriptor` as Go holds it (`None`: a nil slice, map or pointer).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desc {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    pub urls: Option<Vec<String>>,
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "base64_bytes")]
    pub data: Option<Vec<u8>>,
    pub platform: Option<Platform>,
    #[serde(rename = "artifactType")]
    pub artifact_type: String,
}

/// The union of image-spec's `Manifest` and `Index` as Go holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Doc {
    #[serde(rename = "schemaVersion")]
    pub schema_version: i64,
    #[serde(rename = "mediaType")]
    pub media_type: String,
    #[serde(rename = "artifactType")]
    pub artifact_type: String,
    pub config: Desc,
    pub layers: Option<Vec<Desc>>,
    pub manifests: Option<Vec<Desc>>,
    pub subject: Option<Desc>,
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Go marshals a `[]byte` as standard base64 (`null` when nil).
fn base64_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    use base64::Engine as _;
    Option::<String>::deserialize(d)?
        .map(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(de::Error::custom)
        })
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

type R<T> = Result<T, ModelError>;

fn type_err(what: &str, v: &J) -> ModelError {
    let kind = match v {
        J::Null => "null",
        J::Bool => "bool",
        J::Int(_) | J::Float => "number",
        J::Str(_) => "string",
        J::Arr(_) => "array",
        J::Obj(_) => "object",
    };
    ModelError::Go(format!("cannot unmarshal {kind} into {what}"))
}

/// A Go slice while decoding: `items` holds every element ever decoded into its backing array,
/// `len` how many are in the slice. Go 1.19's `array()` decodes element `i` into the existing
/// `items[i]`, also past `len` (the capacity keeps what a longer, earlier array left there).
#[derive(Clone)]
struct Slice<T> {
    items: Vec<T>,
    len: usize,
    nil: bool,
}

impl<T> Default for Slice<T> {
    fn default() -> Self {
        Slice {
            items: Vec::new(),
            len: 0,
            nil: true,
        }
    }
}

impl<T: Default + Clone> Slice<T> {
    fn decode(&mut self, v: &J, what: &str, elem: impl Fn(&mut T, &J) -> R<()>) -> R<()> {
        match v {
            J::Null => *self = Slice::default(),
            J::Arr(a) => {
                for (i, e) in a.iter().enumerate() {
                    if i >= self.items.len() {
                        self.items.push(T::default());
                    }
                    elem(&mut self.items[i], e)?;
                }
                self.len = a.len();
                self.nil = false;
                if a.is_empty() {
                    // `reflect.MakeSlice(t, 0, 0)`: a fresh, empty backing array.
                    self.items.clear();
                }
            }
            other => return Err(type_err(what, other)),
        }
        Ok(())
    }

    fn get(&self) -> Option<Vec<T>> {
        (!self.nil).then(|| self.items[..self.len].to_vec())
    }
}

fn dec_string(out: &mut String, v: &J, what: &str) -> R<()> {
    match v {
        J::Null => {}
        J::Str(s) => *out = s.clone(),
        other => return Err(type_err(what, other)),
    }
    Ok(())
}

/// A Go `int64` (or `int` on a 64-bit machine): `strconv.ParseInt` of the literal.
fn dec_int(out: &mut i64, v: &J, what: &str) -> R<()> {
    match v {
        J::Null => {}
        J::Int(n) => {
            *out = i64::try_from(*n)
                .map_err(|_| ModelError::Go(format!("number {n} overflows {what}")))?
        }
        // Go's ParseInt refuses every literal serde_json reads as a float but `-0`.
        J::Float => return Err(ModelError::Go(format!("a fraction or exponent in {what}"))),
        other => return Err(type_err(what, other)),
    }
    Ok(())
}

/// A `map[string]string`: merged into the existing map; each value starts as "" (so `null`
/// stores "").
fn dec_map(out: &mut Option<BTreeMap<String, String>>, v: &J, what: &str) -> R<()> {
    match v {
        J::Null => *out = None,
        J::Obj(entries) => {
            let m = out.get_or_insert_with(BTreeMap::new);
            for (k, e) in entries {
                let mut s = String::new();
                dec_string(&mut s, e, what)?;
                m.insert(k.clone(), s);
            }
        }
        other => return Err(type_err(what, other)),
    }
    Ok(())
}

/// A `[]byte`: a string is standard base64 (`\r` and `\n` skipped, wrong trailing bits
/// ignored, as Go's `base64.StdEncoding`); an array is one number 0..=255 per byte.
fn dec_bytes(out: &mut Slice<u8>, v: &J, what: &str) -> R<()> {
    match v {
        J::Str(s) => {
            use base64::Engine as _;
            let cleaned: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            let engine = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_allow_trailing_bits(true)
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
            );
            let bytes = engine
                .decode(cleaned)
                .map_err(|e| ModelError::Go(format!("illegal base64 data in {what}: {e}")))?;
            *out = Slice {
                len: bytes.len(),
                items: bytes,
                nil: false,
            };
            Ok(())
        }
        other => out.decode(other, what, |b, e| match e {
            J::Null => Ok(()),
            J::Int(n) => {
                *b = u8::try_from(*n)
                    .map_err(|_| ModelError::Go(format!("number {n} overflows uint8")))?;
                Ok(())
            }
            other => Err(type_err("uint8", other)),
        }),
    }
}

fn dec_strings(out: &mut Slice<String>, v: &J, what: &str) -> R<()> {
    out.decode(v, what, |s, e| dec_string(s, e, what))
}

/// How keys are matched to fields: exactly, else under folding (ASCII case, plus `table`, the
/// non-ASCII runes Go folds onto an ASCII letter), the first field in struct order winning.
struct Matcher<'a> {
    table: &'a [(char, char)],
}

impl Matcher<'_> {
    fn fold(&self, s: &str) -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_ascii_uppercase()
                } else {
                    self.table
                        .iter()
                        .find(|(from, _)| *from == c)
                        .map_or(c, |(_, to)| *to)
                }
            })
            .collect()
    }

    fn field(&self, key: &str, names: &[&str]) -> Option<usize> {
        names.iter().position(|n| *n == key).or_else(|| {
            let k = self.fold(key);
            names.iter().position(|n| self.fold(n) == k)
        })
    }
}

#[derive(Default, Clone)]
struct WPlatform {
    architecture: String,
    os: String,
    os_version: String,
    os_features: Slice<String>,
    variant: String,
    features: Slice<String>,
}

#[derive(Default, Clone)]
struct WDesc {
    media_type: String,
    digest: String,
    size: i64,
    urls: Slice<String>,
    annotations: Option<BTreeMap<String, String>>,
    data: Slice<u8>,
    platform: Option<WPlatform>,
    artifact_type: String,
}

#[derive(Default)]
struct WDoc {
    schema_version: i64,
    media_type: String,
    artifact_type: String,
    config: WDesc,
    layers: Slice<WDesc>,
    manifests: Slice<WDesc>,
    subject: Option<WDesc>,
    annotations: Option<BTreeMap<String, String>>,
}

/// The JSON names of the structs' fields, in struct order (the order Go tries folded matches).
/// The differential test's corpus varies these same fields.
pub(crate) const PLATFORM: &[&str] = &[
    "architecture",
    "os",
    "os.version",
    "os.features",
    "variant",
    "features",
];
pub(crate) const DESCRIPTOR: &[&str] = &[
    "mediaType",
    "digest",
    "size",
    "urls",
    "annotations",
    "data",
    "platform",
    "artifactType",
];
pub(crate) const DOCUMENT: &[&str] = &[
    "schemaVersion",
    "mediaType",
    "artifactType",
    "config",
    "layers",
    "manifests",
    "subject",
    "annotations",
];

impl Matcher<'_> {
    /// Decodes an object into a struct in place: `set(field index, value)` per matching key.
    fn object(
        &self,
        v: &J,
        what: &str,
        names: &[&str],
        mut set: impl FnMut(usize, &J) -> R<()>,
    ) -> R<()> {
        match v {
            J::Null => Ok(()),
            J::Obj(entries) => {
                for (k, e) in entries {
                    if let Some(i) = self.field(k, names) {
                        set(i, e)?;
                    }
                }
                Ok(())
            }
            other => Err(type_err(what, other)),
        }
    }

    fn platform(&self, out: &mut Option<WPlatform>, v: &J) -> R<()> {
        if let J::Null = v {
            *out = None;
            return Ok(());
        }
        let p = out.get_or_insert_with(WPlatform::default);
        self.object(v, "Platform", PLATFORM, |i, e| match i {
            0 => dec_string(&mut p.architecture, e, "Platform.architecture"),
            1 => dec_string(&mut p.os, e, "Platform.os"),
            2 => dec_string(&mut p.os_version, e, "Platform.os.version"),
            3 => dec_strings(&mut p.os_features, e, "Platform.os.features"),
            4 => dec_string(&mut p.variant, e, "Platform.variant"),
            _ => dec_strings(&mut p.features, e, "Platform.features"),
        })
    }

    fn descriptor(&self, d: &mut WDesc, v: &J) -> R<()> {
        self.object(v, "Descriptor", DESCRIPTOR, |i, e| match i {
            0 => dec_string(&mut d.media_type, e, "Descriptor.mediaType"),
            1 => dec_string(&mut d.digest, e, "Descriptor.digest"),
            2 => dec_int(&mut d.size, e, "Descriptor.size"),
            3 => dec_strings(&mut d.urls, e, "Descriptor.urls"),
            4 => dec_map(&mut d.annotations, e, "Descriptor.annotations"),
            5 => dec_bytes(&mut d.data, e, "Descriptor.data"),
            6 => self.platform(&mut d.platform, e),
            _ => dec_string(&mut d.artifact_type, e, "Descriptor.artifactType"),
        })
    }

    fn descriptors(&self, out: &mut Slice<WDesc>, v: &J, what: &str) -> R<()> {
        out.decode(v, what, |d, e| self.descriptor(d, e))
    }

    fn document(&self, d: &mut WDoc, v: &J) -> R<()> {
        self.object(v, "Document", DOCUMENT, |i, e| match i {
            0 => dec_int(&mut d.schema_version, e, "Document.schemaVersion"),
            1 => dec_string(&mut d.media_type, e, "Document.mediaType"),
            2 => dec_string(&mut d.artifact_type, e, "Document.artifactType"),
            3 => self.descriptor(&mut d.config, e),
            4 => self.descriptors(&mut d.layers, e, "Document.layers"),
            5 => self.descriptors(&mut d.manifests, e, "Document.manifests"),
            6 => {
                if let J::Null = e {
                    d.subject = None;
                    Ok(())
                } else {
                    self.descriptor(d.subject.get_or_insert_with(WDesc::default), e)
                }
            }
            _ => dec_map(&mut d.annotations, e, "Document.annotations"),
        })
    }
}

fn finish_platform(p: &WPlatform) -> Platform {
    Platform {
        architecture: p.architecture.clone(),
        os: p.os.clone(),
        os_version: p.os_version.clone(),
        os_features: p.os_features.get(),
        variant: p.variant.clone(),
        features: p.features.get(),
    }
}

fn finish_desc(d: &WDesc) -> Desc {
    Desc {
        media_type: d.media_type.clone(),
        digest: d.digest.clone(),
        size: d.size,
        urls: d.urls.get(),
        annotations: d.annotations.clone(),
        data: d.data.get(),
        platform: d.platform.as_ref().map(finish_platform),
        artifact_type: d.artifact_type.clone(),
    }
}

/// Decodes `raw` as Go's `json.Unmarshal` into the union document would, matching keys to field
/// names under `fold_table` (pairs of a non-ASCII rune and the upper-case ASCII letter Go folds it
/// onto).
pub fn decode(raw: &[u8], fold_table: &[(char, char)]) -> Result<Doc, ModelError> {
    let tree: J = serde_json::from_slice(raw).map_err(|e| ModelError::Unreadable(e.to_string()))?;
    let mut d = WDoc::default();
    Matcher { table: fold_table }.document(&mut d, &tree)?;
    Ok(Doc {
        schema_version: d.schema_version,
        media_type: d.media_type,
        artifact_type: d.artifact_type,
        config: finish_desc(&d.config),
        layers: d.layers.get().map(|v| v.iter().map(finish_desc).collect()),
        manifests: d
            .manifests
            .get()
            .map(|v| v.iter().map(finish_desc).collect()),
        subject: d.subject.as_ref().map(finish_desc),
        annotations: d.annotations,
    })
}

// ---------------------------------------------------------------------------------------------
// Comparison with our reading
// ---------------------------------------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The platform strings ours may have made from what Go holds: Go cannot tell an absent string
/// from "" (ours writes "?" for an absent os or architecture and leaves out an absent variant).
fn platform_matches(ours: &str, go: &Platform) -> bool {
    let either = |s: &str| -> Vec<String> {
        if s.is_empty() {
            vec!["?".into(), String::new()]
        } else {
            vec![s.to_string()]
        }
    };
    let variants: Vec<Option<&str>> = if go.variant.is_empty() {
        vec![None, Some("")]
    } else {
        vec![Some(go.variant.as_str())]
    };
    either(&go.os).iter().any(|os| {
        either(&go.architecture).iter().any(|arch| {
            variants.iter().any(|v| {
                let mut s = format!("{os}/{arch}");
                if let Some(v) = v {
                    s.push('/');
                    s.push_str(v);
                }
                s == ours
            })
        })
    })
}

/// Whether Go's descriptor is the one ours read; `what` names it in the message.
pub fn check_desc(ours: &image::Descriptor, go: &Desc, what: &str) -> Result<(), String> {
    let digest = format!("sha256:{}", hex(&ours.digest));
    let mut diffs = Vec::new();
    if go.digest != digest {
        diffs.push(format!("digest: ours {digest}, Go {:?}", go.digest));
    }
    if u64::try_from(go.size).ok() != Some(ours.size) {
        diffs.push(format!("size: ours {}, Go {}", ours.size, go.size));
    }
    if go.media_type != ours.media_type {
        diffs.push(format!(
            "mediaType: ours {:?}, Go {:?}",
            ours.media_type, go.media_type
        ));
    }
    if go.annotations.clone().unwrap_or_default() != ours.annotations {
        diffs.push(format!(
            "annotations: ours {:?}, Go {:?}",
            ours.annotations, go.annotations
        ));
    }
    if ours.artifact_type.as_deref().unwrap_or_default() != go.artifact_type {
        diffs.push(format!(
            "artifactType: ours {:?}, Go {:?}",
            ours.artifact_type, go.artifact_type
        ));
    }
    match (&ours.platform, &go.platform) {
        (None, None) => {}
        (Some(o), Some(g)) if platform_matches(o, g) => {}
        (o, g) => diffs.push(format!("platform: ours {o:?}, Go {g:?}")),
    }
    if let Some(data) = &go.data {
        // What a Go client uses instead of fetching the blob must be the blob we checked.
        use sha2::Digest as _;
        let got: [u8; 32] = sha2::Sha256::digest(data).into();
        if got != ours.digest || data.len() as u64 != ours.size {
            diffs.push(format!(
                "data: Go holds {} bytes with sha256 {}, not the blob ours names",
                data.len(),
                hex(&got)
            ));
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!("{what}: {}", diffs.join("; ")))
    }
}

fn check_list(ours: &[image::Descriptor], go: Option<&[Desc]>, what: &str) -> Result<(), String> {
    let go = go.unwrap_or_default();
    if ours.len() != go.len() {
        return Err(format!(
            "{what}: ours has {}, Go {} ({go:?})",
            ours.len(),
            go.len()
        ));
    }
    for (i, (o, g)) in ours.iter().zip(go).enumerate() {
        check_desc(o, g, &format!("{what}[{i}]"))?;
    }
    Ok(())
}

/// Whether Go reads the image or index that ours parsed (`image::parse`): the same layers and
/// config, or the same index entries, and nothing of the other shape (a client that goes by the
/// shape, or by the media type, must find what we found).
pub fn check_parsed(ours: &image::Parsed, go: &Doc) -> Result<(), String> {
    if go.schema_version != 2 {
        return Err(format!("schemaVersion: Go reads {}", go.schema_version));
    }
    let mt = go.media_type.as_str();
    match ours {
        image::Parsed::Image(m) => {
            if !(mt == m.media_type || (mt.is_empty() && m.media_type == image::OCI_MANIFEST)) {
                return Err(format!("mediaType: ours {:?}, Go {mt:?}", m.media_type));
            }
            check_desc(&m.config, &go.config, "config")?;
            check_list(&m.layers, go.layers.as_deref(), "layers")?;
            if go.manifests.as_ref().is_some_and(|v| !v.is_empty()) {
                return Err(format!(
                    "an image to ours, but Go also reads index entries {:?}",
                    go.manifests
                ));
            }
        }
        image::Parsed::Index(entries) => {
            if matches!(mt, image::OCI_MANIFEST | image::DOCKER_MANIFEST) {
                return Err(format!("an index to ours, an image manifest to Go ({mt})"));
            }
            check_list(entries, go.manifests.as_deref(), "manifests")?;
            if go.layers.as_ref().is_some_and(|v| !v.is_empty()) || go.config != Desc::default() {
                return Err(format!(
                    "an index to ours, but Go also reads a config {:?} or layers {:?}",
                    go.config, go.layers
                ));
            }
        }
    }
    Ok(())
}

/// Whether Go reads every field of the document that ours read (`image::parse_document`).
pub fn check_document(ours: &image::Document, go: &Doc) -> Result<(), String> {
    let ours_version = match ours.schema_version {
        Some(v) => i64::try_from(v).ok(),
        None => Some(0), // Go's zero value
    };
    if ours_version != Some(go.schema_version) {
        return Err(format!(
            "schemaVersion: ours {:?}, Go {}",
            ours.schema_version, go.schema_version
        ));
    }
    if ours.media_type.as_deref().unwrap_or_default() != go.media_type {
        return Err(format!(
            "mediaType: ours {:?}, Go {:?}",
            ours.media_type, go.media_type
        ));
    }
    if ours.artifact_type.as_deref().unwrap_or_default() != go.artifact_type {
        return Err(format!(
            "artifactType: ours {:?}, Go {:?}",
            ours.artifact_type, go.artifact_type
        ));
    }
    match &ours.config {
        Some(c) => check_desc(c, &go.config, "config")?,
        None if go.config == Desc::default() => {}
        None => return Err(format!("config: ours none, Go {:?}", go.config)),
    }
    for (name, o, g) in [
        ("layers", &ours.layers, &go.layers),
        ("manifests", &ours.manifests, &go.manifests),
    ] {
        match o {
            Some(o) => check_list(o, g.as_deref(), name)?,
            None if g.as_ref().is_none_or(Vec::is_empty) => {}
            None => return Err(format!("{name}: ours none, Go {g:?}")),
        }
    }
    match (&ours.subject, &go.subject) {
        (None, None) => {}
        (Some(o), Some(g)) => check_desc(o, g, "subject")?,
        (o, g) => return Err(format!("subject: ours {o:?}, Go {g:?}")),
    }
    if go.annotations.clone().unwrap_or_default() != ours.annotations {
        return Err(format!(
            "annotations: ours {:?}, Go {:?}",
            ours.annotations, go.annotations
        ));
    }
    Ok(())
}
