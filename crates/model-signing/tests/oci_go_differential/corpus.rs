//! The hostile corpus of `oci_go_differential.rs`: manifests and indexes built key by key, so that
//! keys can be repeated, respelled, escaped and reordered, plus hand-written encodings, numbers,
//! strings, shapes, and real-looking documents as controls.

use model_signing::oci::image;
use std::collections::BTreeSet;

/// A JSON value under construction: keys keep their order, repeats and spelling (`raw` is the
/// key as written, escapes included; `name` what it decodes to).
#[derive(Clone, Debug)]
enum V {
    Raw(String),
    Arr(Vec<V>),
    Obj(Vec<Key>),
}

#[derive(Clone, Debug)]
struct Key {
    name: String,
    raw: String,
    value: V,
}

fn key(name: &str, value: V) -> Key {
    Key {
        name: name.to_string(),
        raw: serde_json::to_string(name).unwrap(),
        value,
    }
}

fn s(x: &str) -> V {
    V::Raw(serde_json::to_string(x).unwrap())
}

fn raw(x: &str) -> V {
    V::Raw(x.to_string())
}

fn obj(entries: Vec<(&str, V)>) -> V {
    V::Obj(entries.into_iter().map(|(k, v)| key(k, v)).collect())
}

impl V {
    fn render(&self) -> String {
        match self {
            V::Raw(r) => r.clone(),
            V::Arr(items) => format!(
                "[{}]",
                items.iter().map(V::render).collect::<Vec<_>>().join(",")
            ),
            V::Obj(keys) => format!(
                "{{{}}}",
                keys.iter()
                    .map(|k| format!("{}:{}", k.raw, k.value.render()))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    fn keys_mut(&mut self) -> &mut Vec<Key> {
        match self {
            V::Obj(keys) => keys,
            other => panic!("not an object: {other:?}"),
        }
    }

    /// The value at `path` (object keys by name, array items by number).
    fn at(&mut self, path: &[&str]) -> &mut V {
        let Some((first, rest)) = path.split_first() else {
            return self;
        };
        let next = match self {
            V::Arr(items) => &mut items[first.parse::<usize>().unwrap()],
            V::Obj(keys) => {
                &mut keys
                    .iter_mut()
                    .find(|k| k.name == *first)
                    .unwrap_or_else(|| panic!("no key {first}"))
                    .value
            }
            V::Raw(r) => panic!("{r} has no {first}"),
        };
        next.at(rest)
    }
}

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const TITLE: &str = image::TITLE;
/// `{}`, the OCI empty blob ORAS uses as config, and its digest.
const EMPTY_DIGEST: &str = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const GOOD: char = 'a';
const EVIL: char = 'e';

fn digest(c: char) -> String {
    format!("sha256:{}", std::iter::repeat_n(c, 64).collect::<String>())
}

fn desc(mt: &str, d: char, size: u64, title: Option<&str>) -> V {
    let mut entries = vec![
        ("mediaType", s(mt)),
        ("digest", s(&digest(d))),
        ("size", raw(&size.to_string())),
    ];
    if let Some(t) = title {
        entries.push(("annotations", obj(vec![(TITLE, s(t))])));
    }
    obj(entries)
}

fn platform(os: &str, arch: &str, variant: Option<&str>) -> V {
    let mut entries = vec![("architecture", s(arch)), ("os", s(os))];
    if let Some(v) = variant {
        entries.push(("variant", s(v)));
    }
    obj(entries)
}

fn entry(d: char, p: V) -> V {
    let mut e = desc(image::OCI_MANIFEST, d, 529, None);
    e.keys_mut().push(key("platform", p));
    e
}

/// A model pushed the ORAS way: a config and one titled layer per file.
fn base_image() -> V {
    obj(vec![
        ("schemaVersion", raw("2")),
        ("mediaType", s(image::OCI_MANIFEST)),
        ("config", desc(OCI_CONFIG, 'c', 2, None)),
        (
            "layers",
            V::Arr(vec![
                desc(LAYER_TAR, GOOD, 5, Some("weights.bin")),
                desc(LAYER_TAR, 'b', 7, Some("tokenizer.json")),
            ]),
        ),
        (
            "annotations",
            obj(vec![(
                "org.opencontainers.image.created",
                s("2024-05-01T00:00:00Z"),
            )]),
        ),
    ])
}

fn base_index() -> V {
    let mut arm = platform("linux", "arm64", Some("v8"));
    arm.keys_mut().push(key("os.version", s("6.1")));
    arm.keys_mut()
        .push(key("os.features", V::Arr(vec![s("f1")])));
    arm.keys_mut()
        .push(key("features", V::Arr(vec![s("sse4")])));
    obj(vec![
        ("schemaVersion", raw("2")),
        ("mediaType", s(image::OCI_INDEX)),
        (
            "manifests",
            V::Arr(vec![
                entry('1', platform("linux", "amd64", None)),
                entry('2', arm),
            ]),
        ),
        (
            "annotations",
            obj(vec![("org.opencontainers.image.ref.name", s("v1"))]),
        ),
    ])
}

/// An ORAS 1.1 artifact that refers to another manifest (a signature, an SBOM).
fn base_referrer() -> V {
    let mut config = desc(OCI_EMPTY, 'x', 2, None);
    *config.at(&["digest"]) = s(&format!("sha256:{EMPTY_DIGEST}"));
    config.keys_mut().push(key("data", s("e30=")));
    obj(vec![
        ("schemaVersion", raw("2")),
        ("mediaType", s(image::OCI_MANIFEST)),
        ("artifactType", s("application/vnd.example.sbom")),
        ("config", config),
        (
            "layers",
            V::Arr(vec![desc(
                "application/spdx+json",
                GOOD,
                5,
                Some("sbom.json"),
            )]),
        ),
        ("subject", desc(image::OCI_MANIFEST, 'f', 1234, None)),
    ])
}

/// Other spellings of `name` that Go may match to it: other ASCII cases, and each `s`, `k` and
/// `i` replaced by the runes Go folds onto them.
fn respellings(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out: BTreeSet<String> = BTreeSet::new();
    let mut first_up = chars.clone();
    first_up[0] = first_up[0].to_ascii_uppercase();
    out.insert(first_up.iter().collect());
    out.insert(name.to_ascii_uppercase());
    out.insert(name.to_ascii_lowercase());
    for i in [1, chars.len() - 1] {
        let mut t = chars.clone();
        t[i] = if t[i].is_ascii_lowercase() {
            t[i].to_ascii_uppercase()
        } else {
            t[i].to_ascii_lowercase()
        };
        out.insert(t.iter().collect());
    }
    for (i, c) in chars.iter().enumerate() {
        let subs: &[char] = match c.to_ascii_lowercase() {
            's' => &['\u{17F}'],
            'k' => &['\u{212A}'],
            'i' => &['\u{130}', '\u{131}'],
            _ => &[],
        };
        for sub in subs {
            let mut t = chars.clone();
            t[i] = *sub;
            out.insert(t.iter().collect());
        }
    }
    out.remove(name);
    out.into_iter().collect()
}

/// `name` with its first character written as a `\u00XX` escape (same key once decoded).
fn escaped_raw(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars.next().unwrap();
    format!("\"\\u{:04x}{}\"", first as u32, chars.as_str())
}

/// A value for `field` that means something else than the original.
fn evil_value(field: &str, kind: Kind) -> V {
    match (field, kind) {
        ("schemaVersion", _) => raw("1"),
        ("mediaType", Kind::Image) => s(image::OCI_INDEX),
        ("mediaType", Kind::Index) => s(image::OCI_MANIFEST),
        ("mediaType", _) => s("application/vnd.evil"),
        ("artifactType", _) => s("application/vnd.evil"),
        ("config" | "subject", _) => desc(OCI_CONFIG, EVIL, 3, None),
        ("layers", _) => V::Arr(vec![desc(LAYER_TAR, EVIL, 5, Some("weights.bin"))]),
        ("manifests", _) => V::Arr(vec![entry(EVIL, platform("linux", "amd64", None))]),
        ("annotations", Kind::Image | Kind::Index) => {
            obj(vec![("org.opencontainers.image.created", s("evil"))])
        }
        ("annotations", _) => obj(vec![(TITLE, s("evil.bin"))]),
        ("digest", _) => s(&digest(EVIL)),
        ("size", _) => raw("666"),
        ("urls", _) => V::Arr(vec![s("https://evil.example/blob")]),
        ("data", _) => s("ZXZpbA=="),
        ("platform", _) => platform("evil", "evil", None),
        ("os.features" | "features", _) => V::Arr(vec![s("evil")]),
        _ => s("evil"),
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Image,
    Index,
    Descriptor,
    Platform,
}

impl Kind {
    /// The fields of the consumer's struct for this kind of object (the Go model's, which the
    /// test checks against the real Go structs).
    fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Image | Kind::Index => crate::oci_go_model::DOCUMENT,
            Kind::Descriptor => crate::oci_go_model::DESCRIPTOR,
            Kind::Platform => crate::oci_go_model::PLATFORM,
        }
    }
}

/// The keys of the object at `path` in `base`, in order.
fn present_keys(base: &V, path: &[&str]) -> Vec<String> {
    let mut b = base.clone();
    b.at(path)
        .keys_mut()
        .iter()
        .map(|k| k.name.clone())
        .collect()
}

/// Values of the wrong type for any field.
const WRONG_TYPES: &[&str] = &[
    "1",
    "-1",
    "1.5",
    "\"x\"",
    "true",
    "[]",
    "{}",
    "[\"x\"]",
    "{\"a\":\"b\"}",
];

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Expect {
    Any,
    /// A control: must be accepted (so the comparison is not vacuous).
    Accept,
    /// An attack: must be refused.
    Refuse,
}

pub struct Case {
    pub name: String,
    pub raw: Vec<u8>,
    pub expect: Expect,
    /// An attack that only Go >= 1.21 reads as EVIL (its key folds through `İ` or `ı`).
    pub needs_go121: bool,
    /// A document the model of Go cannot read exactly (see oci_go_model.rs: `-0`).
    pub model_inexact: bool,
}

#[derive(Default)]
struct Corpus(Vec<Case>);

impl Corpus {
    fn add(
        &mut self,
        name: impl Into<String>,
        raw: impl Into<Vec<u8>>,
        expect: Expect,
    ) -> &mut Case {
        self.0.push(Case {
            name: name.into(),
            raw: raw.into(),
            expect,
            needs_go121: false,
            model_inexact: false,
        });
        self.0.last_mut().unwrap()
    }

    fn any(&mut self, name: impl Into<String>, doc: &V) {
        self.add(name, doc.render(), Expect::Any);
    }
}

/// A well-typed value for `field` where it is absent from the base documents.
fn valid_value(field: &str) -> V {
    match field {
        "urls" => V::Arr(vec![s("https://example.com/blob")]),
        "annotations" => obj(vec![("k", s("v"))]),
        "platform" => platform("linux", "amd64", None),
        "subject" => desc(image::OCI_MANIFEST, '5', 99, None),
        "os.features" | "features" => V::Arr(vec![s("x")]),
        "schemaVersion" => raw("2"),
        "variant" => s("v7"),
        _ => s("application/vnd.example"),
    }
}

/// Changes of one object that keep its meaning (most are accepted, so the comparison with Go
/// has documents to compare): each key moved first or last, spelled with an escape, beside an
/// unknown key; absent fields added with well-typed values.
fn vary_object(c: &mut Corpus, label: &str, base: &V, path: &[&str], kind: Kind) {
    let fields = kind.fields();
    let present = present_keys(base, path);
    let edit = |f: &dyn Fn(&mut Vec<Key>)| {
        let mut doc = base.clone();
        f(doc.at(path).keys_mut());
        doc
    };
    let at = format!("{label}.{}", path.join("."));
    for (i, field) in present.iter().enumerate() {
        let tag = format!("{at}: {field}");
        c.any(
            format!("{tag} first"),
            &edit(&|k| {
                let key = k.remove(i);
                k.insert(0, key);
            }),
        );
        c.any(
            format!("{tag} last"),
            &edit(&|k| {
                let key = k.remove(i);
                k.push(key);
            }),
        );
        c.any(
            format!("{tag} escaped"),
            &edit(&|k| k[i].raw = escaped_raw(field)),
        );
        c.any(
            format!("{tag} beside an unknown key"),
            &edit(&|k| k.insert(i, key(&format!("x-{field}"), evil_value(field, kind)))),
        );
    }
    for field in fields.iter().filter(|f| !present.iter().any(|p| p == *f)) {
        if *field != "data" {
            c.any(
                format!("{at}: {field} added, well typed"),
                &edit(&|k| k.push(key(field, valid_value(field)))),
            );
        }
    }
}

/// Every mutation of one object: the one at `path` in `base`, of kind `kind`.
fn mutate_object(c: &mut Corpus, label: &str, base: &V, path: &[&str], kind: Kind) {
    let fields = kind.fields();
    let present = present_keys(base, path);
    let edit = |f: &dyn Fn(&mut Vec<Key>)| {
        let mut doc = base.clone();
        f(doc.at(path).keys_mut());
        doc
    };
    let at = format!(
        "{label}{}{}",
        if path.is_empty() { "" } else { "." },
        path.join(".")
    );
    for field in fields {
        let evil = evil_value(field, kind);
        let pos = present.iter().position(|p| p == field);
        for sp in respellings(field) {
            let tag = format!("{at}: {field} as {sp:?}");
            if let Some(i) = pos {
                c.any(
                    format!("{tag} (renamed)"),
                    &edit(&|k| k[i] = key(&sp, k[i].value.clone())),
                );
                c.any(
                    format!("{tag} after"),
                    &edit(&|k| k.insert(i + 1, key(&sp, evil.clone()))),
                );
                c.any(
                    format!("{tag} before"),
                    &edit(&|k| k.insert(i, key(&sp, evil.clone()))),
                );
                c.any(
                    format!("{tag} after, null"),
                    &edit(&|k| k.insert(i + 1, key(&sp, raw("null")))),
                );
            } else {
                c.any(
                    format!("{tag} (added)"),
                    &edit(&|k| k.push(key(&sp, evil.clone()))),
                );
            }
        }
        let tag = format!("{at}: {field}");
        match pos {
            Some(i) => {
                c.any(
                    format!("{tag} repeated"),
                    &edit(&|k| k.push(key(field, evil.clone()))),
                );
                c.any(
                    format!("{tag} repeated through an escape"),
                    &edit(&|k| {
                        k.push(Key {
                            name: field.to_string(),
                            raw: escaped_raw(field),
                            value: evil.clone(),
                        })
                    }),
                );
                c.any(format!("{tag} null"), &edit(&|k| k[i].value = raw("null")));
                c.any(
                    format!("{tag} removed"),
                    &edit(&|k| {
                        k.remove(i);
                    }),
                );
                c.any(
                    format!("{tag} replaced"),
                    &edit(&|k| k[i].value = evil.clone()),
                );
                for w in WRONG_TYPES {
                    c.any(format!("{tag} = {w}"), &edit(&|k| k[i].value = raw(w)));
                }
            }
            None => {
                c.any(
                    format!("{tag} added"),
                    &edit(&|k| k.push(key(field, evil.clone()))),
                );
                c.any(
                    format!("{tag} added null"),
                    &edit(&|k| k.push(key(field, raw("null")))),
                );
            }
        }
    }
}

fn image_with(layer_fields: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"{OCI_CONFIG}","digest":"{}","size":2}},"layers":[{{"mediaType":"{LAYER_TAR}","digest":"{}",{layer_fields}}}]}}"#,
        digest('c'),
        digest(GOOD)
    )
}

/// The documents the issue is about, each refused by us, and read as EVIL by Go.
fn attacks(c: &mut Corpus) {
    let good = desc(LAYER_TAR, GOOD, 5, Some("weights.bin")).render();
    let evil = desc(LAYER_TAR, EVIL, 5, Some("weights.bin")).render();
    let config = desc(OCI_CONFIG, 'c', 2, None).render();
    let head = format!(
        r#""schemaVersion":2,"mediaType":"{}","config":{config}"#,
        image::OCI_MANIFEST
    );
    for (name, doc, go121) in [
        (
            "attack: layers then Layers",
            format!(r#"{{{head},"layers":[{good}],"Layers":[{evil}]}}"#),
            false,
        ),
        (
            "attack: layers then layerſ",
            format!(r#"{{{head},"layers":[{good}],"layer\u017f":[{evil}]}}"#),
            false,
        ),
        (
            "attack: layers then LAYERS",
            format!(r#"{{{head},"layers":[{good}],"LAYERS":[{evil}]}}"#),
            false,
        ),
        (
            "attack: layer digest then Digest",
            format!(
                r#"{{{head},"layers":[{{"mediaType":"{LAYER_TAR}","digest":"{}","Digest":"{}","size":5}}]}}"#,
                digest(GOOD),
                digest(EVIL)
            ),
            false,
        ),
        (
            "attack: layer dİgest (Go >= 1.21)",
            format!(
                r#"{{{head},"layers":[{{"mediaType":"{LAYER_TAR}","digest":"{}","dİgest":"{}","size":5}}]}}"#,
                digest(GOOD),
                digest(EVIL)
            ),
            true,
        ),
        (
            "attack: layer annotations then Annotations",
            format!(
                r#"{{{head},"layers":[{{"mediaType":"{LAYER_TAR}","digest":"{}","size":5,"annotations":{{"{TITLE}":"weights.bin"}},"Annotations":{{"{TITLE}":"other.bin"}}}}]}}"#,
                digest(GOOD)
            ),
            false,
        ),
        (
            "attack: config then Config",
            format!(
                r#"{{"schemaVersion":2,"config":{config},"Config":{},"layers":[{good}]}}"#,
                desc(OCI_CONFIG, EVIL, 2, None).render()
            ),
            false,
        ),
        (
            "attack: index entry with Digest and Platform",
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{}","size":9,"platform":{{"os":"linux","architecture":"amd64"}},"Digest":"{}","Platform":{{"os":"linux","architecture":"arm64"}}}}]}}"#,
                image::OCI_INDEX,
                image::OCI_MANIFEST,
                digest(GOOD),
                digest(EVIL)
            ),
            false,
        ),
        (
            "attack: index entry platform with OS",
            format!(
                r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{}","size":9,"platform":{{"os":"linux","architecture":"amd64","OS":"windows"}}}}]}}"#,
                image::OCI_MANIFEST,
                digest(GOOD)
            ),
            false,
        ),
        (
            "attack: manifests then Manifests",
            format!(
                r#"{{"schemaVersion":2,"manifests":[{}],"Manifests":[{}]}}"#,
                entry(GOOD, platform("linux", "amd64", None)).render(),
                entry(EVIL, platform("linux", "amd64", None)).render()
            ),
            false,
        ),
        (
            "attack: both shapes (index media type, layers and manifests)",
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{}","config":{config},"layers":[{evil}],"manifests":[{}]}}"#,
                image::OCI_INDEX,
                entry(GOOD, platform("linux", "amd64", None)).render()
            ),
            false,
        ),
        (
            "attack: both shapes (no media type, Layers beside manifests)",
            format!(
                r#"{{"schemaVersion":2,"manifests":[{}],"Config":{config},"Layers":[{evil}]}}"#,
                entry(GOOD, platform("linux", "amd64", None)).render()
            ),
            false,
        ),
        (
            "attack: embedded data that is not the blob",
            image_with(r#""size":4,"data":"ZXZpbA==""#),
            false,
        ),
    ] {
        c.add(name, doc, Expect::Refuse).needs_go121 = go121;
    }
}

/// Real-looking documents: each must be accepted.
fn controls(c: &mut Corpus) {
    let mut add = |name: &str, doc: String| {
        c.add(format!("control: {name}"), doc, Expect::Accept);
    };
    add("ORAS model image", base_image().render());
    add("OCI index", base_index().render());
    add(
        "ORAS referrer with subject and empty config data",
        base_referrer().render(),
    );
    add(
        "ORAS referrer, pretty-printed",
        serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(&base_referrer().render()).unwrap(),
        )
        .unwrap()
        .replace("  ", "\t")
            + "\r\n",
    );
    add(
        "Docker v2 image",
        format!(
            r#"{{
   "schemaVersion": 2,
   "mediaType": "{}",
   "config": {{"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469, "digest": "{}"}},
   "layers": [
      {{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3370706, "digest": "{}"}},
      {{"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 1024, "digest": "{}", "urls": ["https://mcr.microsoft.com/v2/layer"]}}
   ]
}}"#,
            image::DOCKER_MANIFEST,
            digest('1'),
            digest('2'),
            digest('3')
        ),
    );
    add(
        "Docker manifest list",
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","size":528,"digest":"{}","platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"{}","size":528,"digest":"{}","platform":{{"architecture":"arm","os":"linux","variant":"v7","features":["sse4"]}}}},{{"mediaType":"{}","size":528,"digest":"{}","platform":{{"architecture":"amd64","os":"windows","os.version":"10.0.17763.5936","os.features":["win32k"]}}}}]}}"#,
            image::DOCKER_LIST,
            image::DOCKER_MANIFEST,
            digest('4'),
            image::DOCKER_MANIFEST,
            digest('5'),
            image::DOCKER_MANIFEST,
            digest('6')
        ),
    );
    add(
        "buildx index with an attestation manifest",
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{idx}","manifests":[{{"mediaType":"{m}","digest":"{}","size":673,"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"{m}","digest":"{}","size":566,"annotations":{{"vnd.docker.reference.digest":"{}","vnd.docker.reference.type":"attestation-manifest"}},"platform":{{"architecture":"unknown","os":"unknown"}}}}]}}"#,
            digest('7'),
            digest('8'),
            digest('7'),
            idx = image::OCI_INDEX,
            m = image::OCI_MANIFEST
        ),
    );
    add(
        "referrers index",
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{}","size":700,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","annotations":{{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"}}}}]}}"#,
            image::OCI_INDEX,
            image::OCI_MANIFEST,
            digest('9')
        ),
    );
    add(
        "empty index",
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[]}}"#,
            image::OCI_INDEX
        ),
    );
    let shards: Vec<String> = (1..=40)
        .map(|i| {
            desc(
                "application/vnd.safetensors",
                char::from(b'a' + (i % 6) as u8),
                1 << 30,
                Some(&format!("model-{i:05}-of-00040.safetensors")),
            )
            .render()
        })
        .collect();
    add(
        "40 shards",
        format!(
            r#"{{"schemaVersion":2,"config":{},"layers":[{}]}}"#,
            desc(OCI_CONFIG, 'c', 2, None).render(),
            shards.join(",")
        ),
    );
    add(
        "escapes in strings",
        image_with(&format!(
            r#""size":5,"annotations":{{"{TITLE}":"caf\u00e9\/\"q\" \ud83d\ude00.bin","a\u0000b":"\u2028"}}"#
        )),
    );
    add(
        "annotation keys that differ only in case (maps are not folded)",
        image_with(r#""size":5,"annotations":{"k":"1","K":"2","\u212A":"3","ſ":"4","":"5"}"#),
    );
    add(
        "known-looking keys inside unknown objects",
        image_with(&format!(
            r#""size":5,"x-extra":{{"layers":[{e}],"Layers":[{e}],"digest":"x","Digest":"y"}}"#,
            e = desc(LAYER_TAR, EVIL, 5, None).render()
        )),
    );
    add(
        "empty data of an empty blob",
        format!(
            r#"{{"schemaVersion":2,"config":{},"layers":[{{"mediaType":"{LAYER_TAR}","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0,"data":""}}]}}"#,
            desc(OCI_CONFIG, 'c', 2, None).render()
        ),
    );
}

/// Several keys that Go decodes into one field, each into what the one before left: structs and
/// maps merge, slices keep their elements, `null` resets slices, maps and pointers. All refused
/// by us; here to check the fuzz target's model of Go against Go.
fn go_merging(c: &mut Corpus) {
    let cfg = desc(OCI_CONFIG, 'c', 2, None).render();
    let a = desc(LAYER_TAR, GOOD, 5, Some("a.bin")).render();
    let b = desc(LAYER_TAR, 'b', 7, Some("b.bin")).render();
    let e = desc(LAYER_TAR, EVIL, 9, None).render();
    let p = entry('1', platform("linux", "arm64", Some("v8"))).render();
    let img = |rest: &str| format!(r#"{{"schemaVersion":2,"config":{cfg},{rest}}}"#);
    let idx = |rest: &str| format!(r#"{{"schemaVersion":2,{rest}}}"#);
    for (name, doc) in [
        (
            "layer fields merge",
            img(&format!(r#""layers":[{a},{b}],"Layers":[{{"size":1}}]"#)),
        ),
        (
            "a shorter array keeps the longer one's elements past its length",
            img(&format!(
                r#""layers":[{a},{b}],"Layers":[{e}],"LAYERS":[{{}},{{}}]"#
            )),
        ),
        (
            "an empty array after elements",
            img(&format!(r#""layers":[{a}],"Layers":[],"LAYERS":[{{}}]"#)),
        ),
        (
            "null after elements",
            img(&format!(r#""layers":[{a}],"Layers":null,"LAYERS":[{{}}]"#)),
        ),
        (
            "annotations merge",
            img(&format!(
                r#""layers":[{a}],"annotations":{{"x":"1"}},"Annotations":{{"y":"2"}}"#
            )),
        ),
        (
            "layer annotations merge and null",
            img(&format!(
                r#""layers":[{{"digest":"{}","size":1,"annotations":{{"x":"1"}},"Annotations":{{"y":"2"}},"ANNOTATIONS":null,"annotationſ":{{"z":"3"}}}}]"#,
                digest(GOOD)
            )),
        ),
        (
            "config fields merge",
            format!(r#"{{"schemaVersion":2,"config":{cfg},"Config":{{"size":9}},"layers":[{a}]}}"#),
        ),
        (
            "config null is no change",
            format!(r#"{{"schemaVersion":2,"config":{cfg},"Config":null,"layers":[{a}]}}"#),
        ),
        (
            "platform fields merge",
            idx(&format!(
                r#""manifests":[{p}],"Manifests":[{{"platform":{{"os":"windows"}},"Platform":{{"variant":"v7"}}}}]"#
            )),
        ),
        (
            "platform null",
            idx(&format!(
                r#""manifests":[{p}],"Manifests":[{{"platform":null}}]"#
            )),
        ),
        (
            "platform features merge and reset",
            idx(&format!(
                r#""manifests":[{p}],"Manifests":[{{"platform":{{"features":["a","b"],"Features":["c"],"FEATURES":[null,null]}}}}]"#
            )),
        ),
        (
            "subject merges, then null, then new",
            img(&format!(
                r#""layers":[{a}],"subject":{a},"Subject":{{"size":3}},"SUBJECT":null,"ſubject":{{"size":4}}"#
            )),
        ),
        (
            "schemaVersion null and again",
            img(&format!(
                r#""layers":[{a}],"SchemaVersion":null,"schemaVersion":2"#
            )),
        ),
        (
            "data then null then array",
            img(&format!(
                r#""layers":[{{"digest":"{}","size":2,"data":"e30=","Data":null,"DATA":[123,125]}}]"#,
                digest(GOOD)
            )),
        ),
        (
            "data array shorter than an earlier one",
            img(&format!(
                r#""layers":[{{"digest":"{}","size":2,"data":[1,2,3],"Data":[9],"DATA":[null,null,null]}}]"#,
                digest(GOOD)
            )),
        ),
        (
            "urls merge",
            img(&format!(
                r#""layers":[{{"digest":"{}","size":2,"urls":["a","b"],"URLs":["c"],"urlſ":[null,null]}}]"#,
                digest(GOOD)
            )),
        ),
        (
            "map values null",
            img(&format!(r#""layers":[{a}],"annotations":{{"x":null}}"#)),
        ),
    ] {
        c.add(format!("merging: {name}"), doc, Expect::Any);
    }
}

/// Encodings, numbers, strings, nesting and shapes, by hand.
fn specials(c: &mut Corpus) {
    let img = base_image().render();
    let idx = base_index().render();
    for (name, bytes) in [
        (
            "UTF-8 BOM",
            [b"\xEF\xBB\xBF".as_slice(), img.as_bytes()].concat(),
        ),
        (
            "UTF-16LE BOM",
            [b"\xFF\xFE".as_slice(), img.as_bytes()].concat(),
        ),
        ("trailing x", format!("{img}x").into_bytes()),
        ("trailing brace", format!("{img}}}").into_bytes()),
        ("trailing NUL", format!("{img}\0").into_bytes()),
        ("trailing whitespace", format!("{img} \t\r\n").into_bytes()),
        ("leading whitespace", format!("\n \t{img}").into_bytes()),
        ("form feed", format!("\x0c{img}").into_bytes()),
        ("no-break space", format!("\u{a0}{img}").into_bytes()),
        ("two documents", format!("{img}{img}").into_bytes()),
        (
            "two documents, whitespace",
            format!("{img}\n{idx}").into_bytes(),
        ),
        ("null", b"null".to_vec()),
        ("array", format!("[{img}]").into_bytes()),
        ("string", b"\"x\"".to_vec()),
        ("number", b"2".to_vec()),
        ("empty object", b"{}".to_vec()),
        ("empty file", Vec::new()),
        ("whitespace only", b" \n".to_vec()),
        ("truncated", img.as_bytes()[..img.len() - 1].to_vec()),
        ("comment", format!("/*x*/{img}").into_bytes()),
        ("trailing comma", img.replacen("]", ",]", 1).into_bytes()),
        (
            "single quotes",
            img.replacen("\"schemaVersion\"", "'schemaVersion'", 1)
                .into_bytes(),
        ),
    ] {
        c.add(format!("encoding: {name}"), bytes, Expect::Any);
    }

    // Numbers where a Go int64 / int is read.
    for n in [
        "0",
        "2",
        "-0",
        "5.0",
        "5e0",
        "5E+0",
        "0.5e1",
        "50e-1",
        "1e400",
        "-1e400",
        "1e-400",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999",
        "-1",
        "00",
        "05",
        "+5",
        "0x5",
        ".5",
        "5.",
        "Infinity",
        "NaN",
        "\"5\"",
        "true",
        "[5]",
    ] {
        let case = c.add(
            format!("number: size {n}"),
            image_with(&format!(r#""size":{n}"#)),
            Expect::Any,
        );
        case.model_inexact = n == "-0";
        let doc = img.replacen("\"schemaVersion\":2", &format!("\"schemaVersion\":{n}"), 1);
        let case = c.add(format!("number: schemaVersion {n}"), doc, Expect::Any);
        case.model_inexact = n == "-0";
    }
    for n in ["2.0", "2e0", "20e-1", "0.2e1", "2E0"] {
        let doc = img.replacen("\"schemaVersion\":2", &format!("\"schemaVersion\":{n}"), 1);
        c.add(format!("number: schemaVersion {n}"), doc, Expect::Any);
    }
    c.add(
        "number: huge in an unknown key",
        image_with(r#""size":5,"x":1e400"#),
        Expect::Any,
    );
    c.add(
        "number: long in an unknown key",
        image_with(&format!(r#""size":5,"x":1{}"#, "0".repeat(400))),
        Expect::Any,
    );

    // Annotations.
    for a in [
        "1",
        "null",
        "true",
        "{}",
        "[]",
        "\"x\"",
        "{\"k\":1}",
        "{\"k\":null}",
        "{\"k\":true}",
        "{\"k\":{}}",
        "{\"k\":[]}",
        "{\"k\":[\"v\"]}",
        "{\"k\":\"v\",\"k\":\"w\"}",
        "{\"k\":\"v\",\"\\u006b\":\"w\"}",
    ] {
        c.add(
            format!("annotations: {a}"),
            image_with(&format!(r#""size":5,"annotations":{a}"#)),
            Expect::Any,
        );
        let doc = img.replacen(
            "\"annotations\":{\"org.opencontainers.image.created\"",
            &format!("\"annotations\":{a},\"x\":{{\"org.opencontainers.image.created\""),
            1,
        );
        c.add(format!("annotations: document {a}"), doc, Expect::Any);
    }

    // Embedded data (`[]byte`: base64 to Go).
    let empty_cfg = |data: &str| {
        format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{OCI_EMPTY}","digest":"sha256:{EMPTY_DIGEST}","size":2,"data":{data}}},"layers":[{}]}}"#,
            desc(LAYER_TAR, GOOD, 5, None).render()
        )
    };
    for d in [
        "\"e30=\"",
        "\"e30\"",
        "\"e30=\\n\"",
        "\"e3\\r\\n0=\"",
        "\"e31=\"",
        "\"e30==\"",
        "\"e3 0=\"",
        "\"e30=e30=\"",
        "\"=e30\"",
        "\"e-0=\"",
        "\"e_0=\"",
        "[123,125]",
        "[123,125,0]",
        "[123,256]",
        "[]",
        "null",
        "\"\"",
        "1",
        "{}",
        "\"ZXZpbA==\"",
    ] {
        c.add(format!("data: {d}"), empty_cfg(d), Expect::Any);
    }

    // Shapes and media types.
    let e = entry('1', platform("linux", "amd64", None)).render();
    let l = desc(LAYER_TAR, GOOD, 5, None).render();
    let cfg = desc(OCI_CONFIG, 'c', 2, None).render();
    for mt in [
        None,
        Some(image::OCI_MANIFEST),
        Some(image::OCI_INDEX),
        Some(image::DOCKER_MANIFEST),
        Some(image::DOCKER_LIST),
        Some(""),
        Some("application/vnd.oci.artifact.manifest.v1+json"),
        Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
        Some("APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON"),
    ] {
        let m = mt
            .map(|m| format!(r#""mediaType":"{m}","#))
            .unwrap_or_default();
        for (shape, body) in [
            ("image", format!(r#""config":{cfg},"layers":[{l}]"#)),
            ("index", format!(r#""manifests":[{e}]"#)),
            (
                "both",
                format!(r#""config":{cfg},"layers":[{l}],"manifests":[{e}]"#),
            ),
            (
                "both, manifests first",
                format!(r#""manifests":[{e}],"layers":[{l}],"config":{cfg}"#),
            ),
            (
                "index with config",
                format!(r#""config":{cfg},"manifests":[{e}]"#),
            ),
            (
                "index with empty layers",
                format!(r#""layers":[],"manifests":[{e}]"#),
            ),
            (
                "image with empty manifests",
                format!(r#""config":{cfg},"layers":[{l}],"manifests":[]"#),
            ),
            (
                "image with no layers",
                format!(r#""config":{cfg},"layers":[]"#),
            ),
            ("image with no config", format!(r#""layers":[{l}]"#)),
            ("neither", String::new()),
        ] {
            let body = if body.is_empty() {
                m.trim_end_matches(',').to_string()
            } else {
                format!("{m}{body}")
            };
            let sep = if body.is_empty() { "" } else { "," };
            c.add(
                format!("shape: {shape}, media type {mt:?}"),
                format!(r#"{{"schemaVersion":2{sep}{body}}}"#),
                Expect::Any,
            );
        }
    }
    for f in [
        "fsLayers",
        "FsLayers",
        "fslayers",
        "name",
        "Name",
        "tag",
        "architecture",
        "history",
        "signatures",
    ] {
        c.add(
            format!("schema 1: {f}"),
            img.replacen('{', &format!(r#"{{"{f}":[],"#), 1),
            Expect::Any,
        );
    }

    // Unknown keys, some that only look like field names.
    for k in [
        "foo",
        "x-layers",
        "layers ",
        " layers",
        "layers\\u0000",
        "la\\u200byers",
        "ｌayers",
        "lаyers",
        "LAYERS2",
        "layer",
        "layerss",
        "mediatype_",
        "\\u212Aind",
        "",
        "\\u0130mage",
        "layer\\u017F\\u017F",
    ] {
        let ev = desc(LAYER_TAR, EVIL, 5, None).render();
        c.add(
            format!("unknown key {k:?}"),
            img.replacen('{', &format!(r#"{{"{k}":[{ev}],"#), 1),
            Expect::Any,
        );
    }
    for (a, b) in [
        ("foo", "FOO"),
        ("foo", "Foo"),
        ("kind", "\u{212A}ind"),
        ("bus", "bu\u{17F}"),
        ("x", "x"),
    ] {
        c.add(
            format!("unknown keys {a:?} and {b:?}"),
            img.replacen('{', &format!(r#"{{"{a}":1,"{b}":2,"#), 1),
            Expect::Any,
        );
    }

    // Nesting, in an unknown key and in an annotation.
    for depth in [10, 120, 126, 127, 128, 129, 200, 9_998, 10_001] {
        let nest = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        c.add(
            format!("nesting: {depth} arrays in an unknown key"),
            img.replacen('{', &format!(r#"{{"deep":{nest},"#), 1),
            Expect::Any,
        );
        let nest = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        c.add(
            format!("nesting: {depth} objects in an unknown key"),
            img.replacen('{', &format!(r#"{{"deep":{nest},"#), 1),
            Expect::Any,
        );
    }

    // Invalid UTF-8 and lone surrogates.
    for (name, bad) in [
        ("0xff", b"\xff".as_slice()),
        ("truncated sequence", b"\xc3"),
        ("overlong NUL", b"\xc0\x80"),
        ("encoded surrogate", b"\xed\xa0\x80"),
        ("above U+10FFFF", b"\xf4\x90\x80\x80"),
        ("lone surrogate escape", b"\\ud800"),
        ("lone low surrogate escape", b"\\udc00"),
        ("surrogate then letter", b"\\ud800\\u0041"),
        ("high surrogate at the end", b"x\\udbff"),
        ("reversed pair", b"\\ude00\\ud83d"),
        ("raw tab", b"\t"),
        ("raw newline", b"\n"),
        ("bad escape", b"\\x41"),
    ] {
        let title = [b"w".as_slice(), bad, b".bin"].concat();
        let doc = |prefix: &str, suffix: &str| {
            [
                image_with(r#""size":5"#)
                    .replacen(r#""size":5"#, prefix, 1)
                    .as_bytes(),
                &title,
                suffix.as_bytes(),
            ]
            .concat()
        };
        let t = format!(r#""size":5,"annotations":{{"{TITLE}":""#);
        c.add(
            format!("text: {name} in a title"),
            doc(&t, "\"}"),
            Expect::Any,
        );
        c.add(
            format!("text: {name} in an unknown key"),
            doc("\"size\":5,\"", "\":1"),
            Expect::Any,
        );
        c.add(
            format!("text: {name} in an unknown value"),
            doc("\"size\":5,\"x\":\"", "\""),
            Expect::Any,
        );
        let key: Vec<u8> = [b"\"layers".as_slice(), bad, b"\":[],"].concat();
        c.add(
            format!("text: {name} in a near-field key"),
            [b"{".as_slice(), &key, &img.as_bytes()[1..]].concat(),
            Expect::Any,
        );
    }

    // Size limits.
    let big = image_with(&format!(
        r#""size":5,"x":"{}""#,
        "a".repeat(image::MAX_MANIFEST_BYTES)
    ));
    c.add("limits: over MAX_MANIFEST_BYTES", big, Expect::Any);
    let many: Vec<String> = (0..=image::MAX_LAYERS).map(|_| l.clone()).collect();
    c.add(
        "limits: MAX_LAYERS + 1 layers",
        format!(
            r#"{{"schemaVersion":2,"config":{cfg},"layers":[{}]}}"#,
            many.join(",")
        ),
        Expect::Any,
    );
    // The platform string is built from its parts: parts with '/' make one look like another.
    c.add(
        "platform: os with a slash",
        format!(
            r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
            entry('1', platform("linux/arm64", "v8", None)).render()
        ),
        Expect::Any,
    );
    c.add(
        "platform: empty",
        format!(
            r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
            entry('1', obj(vec![])).render()
        ),
        Expect::Any,
    );
}

pub fn corpus() -> Vec<Case> {
    let mut c = Corpus::default();
    attacks(&mut c);
    controls(&mut c);
    specials(&mut c);
    go_merging(&mut c);
    let image = base_image();
    let index = base_index();
    let referrer = base_referrer();
    mutate_object(&mut c, "image", &image, &[], Kind::Image);
    vary_object(&mut c, "image", &image, &[], Kind::Image);
    mutate_object(&mut c, "image", &image, &["config"], Kind::Descriptor);
    vary_object(&mut c, "image", &image, &["config"], Kind::Descriptor);
    mutate_object(&mut c, "image", &image, &["layers", "0"], Kind::Descriptor);
    vary_object(&mut c, "image", &image, &["layers", "0"], Kind::Descriptor);
    mutate_object(&mut c, "image", &image, &["layers", "1"], Kind::Descriptor);
    vary_object(&mut c, "image", &image, &["layers", "1"], Kind::Descriptor);
    mutate_object(&mut c, "index", &index, &[], Kind::Index);
    vary_object(&mut c, "index", &index, &[], Kind::Index);
    mutate_object(
        &mut c,
        "index",
        &index,
        &["manifests", "0"],
        Kind::Descriptor,
    );
    mutate_object(
        &mut c,
        "index",
        &index,
        &["manifests", "0", "platform"],
        Kind::Platform,
    );
    mutate_object(
        &mut c,
        "index",
        &index,
        &["manifests", "1", "platform"],
        Kind::Platform,
    );
    mutate_object(&mut c, "referrer", &referrer, &[], Kind::Image);
    vary_object(&mut c, "referrer", &referrer, &[], Kind::Image);
    mutate_object(&mut c, "referrer", &referrer, &["config"], Kind::Descriptor);
    vary_object(&mut c, "referrer", &referrer, &["config"], Kind::Descriptor);
    mutate_object(
        &mut c,
        "referrer",
        &referrer,
        &["subject"],
        Kind::Descriptor,
    );
    c.0
}
