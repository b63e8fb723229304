//! One reading of the JSON documents a registry or an attacker writes (image manifests, indexes,
//! the referrers index, the `.sig` tag's manifest): the reading every consumer shares.
//!
//! The documents are read by several parsers: ours, Go's `encoding/json` (oras, containerd,
//! Distribution, crane, skopeo, KServe, the Go port of model-signing), Python's `json`
//! (rh-model-signing) and the registry itself. They disagree on documents that serde accepts:
//!
//! * Go matches object keys to struct fields **case-insensitively**, with Unicode folding
//!   (`Layers`, `LAYERS` and `layerſ` all fill `layers`; `K`, the Kelvin sign, matches `k`), and
//!   the **last** matching key wins, where serde ignores the unknown spelling. So
//!   `{"layers":[GOOD],"Layers":[EVIL]}` is GOOD to serde and EVIL to every Go client.
//! * Go and Python keep the last of two equal keys; serde's derived structs refuse some and
//!   `Value` keeps the last.
//! * Go treats `null` as "leave the field as it is"; Python as `None`.
//!
//! So a document is first read into a tree that keeps every key in order ([`Node`]), refusing
//! two equal keys in any object, and then each object whose shape is known is checked against
//! its field names ([`Fields`]): a key that is not exactly a field name but folds to one under
//! Go's rules, or two keys that fold to the same name, are refused, and so is `null` in a known
//! field. What is accepted then means the same thing to every reader above (the differential
//! test `tests/oci_go_differential.rs` runs the real Go decoder over a hostile corpus).

use crate::error::{Error, Result};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashMap;

/// A JSON value that keeps object keys in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json read it (integers stay exact).
    Number(serde_json::Number),
    /// A string (unescaped).
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object: its keys in order, none repeated.
    Object(Vec<(String, Node)>),
}

impl Node {
    /// The JSON type's name, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number(_) => "a number",
            Node::String(_) => "a string",
            Node::Array(_) => "an array",
            Node::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> std::result::Result<Node, E> {
                Ok(Node::Bool(b))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> std::result::Result<Node, E> {
                Ok(Node::Number(n.into()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> std::result::Result<Node, E> {
                Ok(Node::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> std::result::Result<Node, E> {
                serde_json::Number::from_f64(n)
                    .map(Node::Number)
                    .ok_or_else(|| E::custom("a number that is not finite"))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Node, E> {
                Ok(Node::String(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> std::result::Result<Node, E> {
                Ok(Node::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Node, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Node::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Node, A::Error> {
                let mut out: Vec<(String, Node)> = Vec::new();
                let mut seen: Option<std::collections::HashSet<String>> = None;
                while let Some(key) = map.next_key::<String>()? {
                    // A linear scan for small objects, a set once they grow (annotations can
                    // hold thousands of keys; the document is capped, the scan would not be).
                    let dup = match &mut seen {
                        Some(set) => !set.insert(key.clone()),
                        None => {
                            let dup = out.iter().any(|(k, _)| *k == key);
                            if out.len() >= 16 {
                                let mut set: std::collections::HashSet<String> =
                                    out.iter().map(|(k, _)| k.clone()).collect();
                                set.insert(key.clone());
                                seen = Some(set);
                            }
                            dup
                        }
                    };
                    if dup {
                        return Err(de::Error::custom(format!(
                            "the key '{}' appears twice in one object (readers disagree on which \
                             one counts)",
                            shown(&key)
                        )));
                    }
                    let value = map.next_value()?;
                    out.push((key, value));
                }
                Ok(Node::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Checks that `raw` (one JSON value) reads one way for serde, Go's `encoding/json` and Python's
/// `json`, without building a tree (a statement can list millions of resources): no object holds
/// two keys that Go folds together (a repeated key included: Go and Python keep the last), and
/// no key outside an `annotations` object folds onto one of `known` without being spelled
/// exactly as it (Go would fill that field with it; serde and Python would not). Keys inside an
/// `annotations` object are free-form map keys, which Go compares exactly: there only a
/// repeated key is refused.
pub fn check_one_reading(raw: &[u8], known: &[&str]) -> std::result::Result<(), String> {
    let folded: HashMap<String, &str> = known.iter().map(|k| (go_fold(k), *k)).collect();
    let mut de = serde_json::Deserializer::from_slice(raw);
    de::DeserializeSeed::deserialize(
        Strict {
            known: &folded,
            free: false,
        },
        &mut de,
    )
    .and_then(|()| de.end())
    .map_err(|e| e.to_string())
}

struct Strict<'k> {
    known: &'k HashMap<String, &'k str>,
    /// Inside an `annotations` object: map keys, compared exactly.
    free: bool,
}

impl<'de> de::DeserializeSeed<'de> for Strict<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while seq
            .next_element_seed(Strict {
                known: self.known,
                free: false,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let mut seen: HashMap<String, String> = HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let (f, what) = if self.free {
                (key.clone(), "appears twice in one object")
            } else {
                (
                    go_fold(&key),
                    "and another key of this object are one key to Go clients",
                )
            };
            if !self.free {
                if let Some(field) = self.known.get(&f) {
                    if *field != key {
                        return Err(de::Error::custom(format!(
                            "the key '{}' is read by Go clients as '{field}'; only the exact \
                             name is accepted",
                            shown(&key)
                        )));
                    }
                }
            }
            if seen.insert(f, key.clone()).is_some() {
                return Err(de::Error::custom(format!(
                    "the key '{}' {what}",
                    shown(&key)
                )));
            }
            map.next_value_seed(Strict {
                known: self.known,
                free: key == "annotations" && !self.free,
            })?;
        }
        Ok(())
    }
}

/// Text from a document, made safe for a one-line message: at most 80 characters, escaped.
pub fn shown(s: &str) -> String {
    crate::error::quoted_text(s, 80)
}

/// Reads `raw` into a [`Node`] tree: one JSON value, no repeated key in any object, nesting at
/// most serde_json's 128 levels. `what` names the document in errors.
pub fn parse(raw: &[u8], what: &str) -> Result<Node> {
    serde_json::from_slice::<Node>(raw).map_err(|e| {
        Error::Model(format!(
            "invalid OCI document: {what} is not JSON with one reading: {e}"
        ))
    })
}

/// The characters outside ASCII that Go's `encoding/json` folds onto an ASCII letter when it
/// matches a key to a struct field: `ſ` (U+017F) and the Kelvin sign (U+212A) in every Go
/// release (`bytes.EqualFold`, simple case folding), and `İ` (U+0130) and `ı` (U+0131) since Go
/// 1.21, whose `foldName` is `unicode.ToUpper(unicode.ToLower(r))`. The differential test checks
/// this table against the Go on the machine, computing both rules from its Unicode tables.
pub const GO_FOLDS_TO_ASCII: [(char, char); 4] = [
    ('\u{130}', 'I'),
    ('\u{131}', 'I'),
    ('\u{17F}', 'S'),
    ('\u{212A}', 'K'),
];

/// A key folded the way Go compares keys with field names: ASCII letters upper-cased, the
/// characters of [`GO_FOLDS_TO_ASCII`] mapped onto their letter, anything else kept. Exact for
/// every key that can match an ASCII field name (all OCI field names are ASCII), which is what
/// the checks here need.
pub fn go_fold(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_ascii_uppercase()
            } else {
                GO_FOLDS_TO_ASCII
                    .iter()
                    .find(|(from, _)| *from == c)
                    .map_or(c, |(_, to)| *to)
            }
        })
        .collect()
}

/// The fields of one object whose shape is known (a manifest, a descriptor, a platform), read
/// the way every consumer reads them.
pub struct Fields<'a> {
    entries: &'a [(String, Node)],
    what: String,
}

impl<'a> Fields<'a> {
    /// Checks `node` as an object with the field names `known` (the consumer structs' JSON
    /// names): refuses a key that folds, under Go's rules, to a field name it does not equal,
    /// and two keys that fold to one name. Unknown keys are otherwise allowed (and ignored).
    pub fn new(node: &'a Node, known: &[&str], what: impl Into<String>) -> Result<Self> {
        let what = what.into();
        let Node::Object(entries) = node else {
            return Err(bad(format!("{what} is {}, not an object", node.kind())));
        };
        let known_folded: HashMap<String, &str> = known.iter().map(|k| (go_fold(k), *k)).collect();
        let mut folded: HashMap<String, &str> = HashMap::with_capacity(entries.len());
        for (key, _) in entries {
            let f = go_fold(key);
            if let Some(field) = known_folded.get(&f) {
                if field != key {
                    return Err(bad(format!(
                        "{what} has the key '{}', which Go clients read as '{field}'; only the \
                         exact name is accepted",
                        shown(key)
                    )));
                }
            }
            if let Some(other) = folded.insert(f, key) {
                return Err(bad(format!(
                    "{what} has the keys '{}' and '{}', which Go clients read as one",
                    shown(other),
                    shown(key)
                )));
            }
        }
        Ok(Fields { entries, what })
    }

    /// What this object is, for messages.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The value of `name`, if present; `null` is refused (Go leaves the field as it was,
    /// Python reads `None`: two meanings).
    pub fn get(&self, name: &str) -> Result<Option<&'a Node>> {
        match self.entries.iter().find(|(k, _)| k == name) {
            None => Ok(None),
            Some((_, Node::Null)) => Err(bad(format!("{}.{name} is null", self.what))),
            Some((_, v)) => Ok(Some(v)),
        }
    }

    /// Whether `name` is present (with any value, `null` included).
    pub fn has(&self, name: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == name)
    }

    /// A string field.
    pub fn str(&self, name: &str) -> Result<Option<&'a str>> {
        match self.get(name)? {
            None => Ok(None),
            Some(Node::String(s)) => Ok(Some(s)),
            Some(v) => Err(bad(format!(
                "{}.{name} is {}, not a string",
                self.what,
                v.kind()
            ))),
        }
    }

    /// An integer field in `0..=i64::MAX` (Go's `int64`; a fraction or exponent is refused,
    /// as Go refuses it).
    pub fn uint(&self, name: &str) -> Result<Option<u64>> {
        match self.get(name)? {
            None => Ok(None),
            Some(Node::Number(n)) => {
                let v = n.as_i64().ok_or_else(|| {
                    bad(format!(
                        "{}.{name} is {n}, not an integer a 64-bit signed reader can hold",
                        self.what
                    ))
                })?;
                u64::try_from(v)
                    .map(Some)
                    .map_err(|_| bad(format!("{}.{name} is negative", self.what)))
            }
            Some(v) => Err(bad(format!(
                "{}.{name} is {}, not an integer",
                self.what,
                v.kind()
            ))),
        }
    }

    /// An array field.
    pub fn array(&self, name: &str) -> Result<Option<&'a [Node]>> {
        match self.get(name)? {
            None => Ok(None),
            Some(Node::Array(a)) => Ok(Some(a)),
            Some(v) => Err(bad(format!(
                "{}.{name} is {}, not an array",
                self.what,
                v.kind()
            ))),
        }
    }

    /// An array of strings.
    pub fn strings(&self, name: &str) -> Result<Option<Vec<&'a str>>> {
        let Some(items) = self.array(name)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Node::String(s) => Ok(s.as_str()),
                other => Err(bad(format!(
                    "{}.{name}[{i}] is {}, not a string",
                    self.what,
                    other.kind()
                ))),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// A string-to-string map (annotations): keys are compared exactly by every reader (Go
    /// decodes maps without folding), so only repeated keys, refused when reading, matter.
    pub fn string_map(
        &self,
        name: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>> {
        let Some(node) = self.get(name)? else {
            return Ok(None);
        };
        let Node::Object(entries) = node else {
            return Err(bad(format!(
                "{}.{name} is {}, not an object",
                self.what,
                node.kind()
            )));
        };
        let mut out = std::collections::BTreeMap::new();
        for (k, v) in entries {
            let Node::String(s) = v else {
                return Err(bad(format!(
                    "{}.{name}['{}'] is {}, not a string",
                    self.what,
                    shown(k),
                    v.kind()
                )));
            };
            out.insert(k.clone(), s.clone());
        }
        Ok(Some(out))
    }
}

fn bad(msg: String) -> Error {
    Error::Model(format!("invalid OCI document: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        for doc in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"y":[{"k":"v","k":"w"}]}}"#,
            // Equal after unescaping: readers compare the decoded key.
            r#"{"layers":[],"l\u0061yers":[]}"#,
        ] {
            let e = parse(doc.as_bytes(), "test document").unwrap_err();
            assert!(e.to_string().contains("appears twice"), "{doc}: {e}");
        }
        // Many keys: the set path.
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":1")).collect();
        let doc = format!("{{{},\"k7\":2}}", many.join(","));
        assert!(parse(doc.as_bytes(), "d").is_err());
        let doc = format!("{{{}}}", many.join(","));
        assert!(parse(doc.as_bytes(), "d").is_ok());
    }

    #[test]
    fn go_folds() {
        assert_eq!(go_fold("layerſ"), "LAYERS");
        assert_eq!(go_fold("\u{212A}ind"), "KIND");
        assert_eq!(go_fold("dİgest"), "DIGEST");
        assert_eq!(go_fold("dıgest"), "DIGEST");
        assert_eq!(go_fold("os.version"), "OS.VERSION");
        assert_eq!(go_fold("ä"), "ä");
    }

    #[test]
    fn folded_spellings_of_fields_are_refused() {
        let known = ["layers", "mediaType", "digest"];
        for doc in [
            r#"{"Layers":[]}"#,
            r#"{"layerſ":[]}"#,
            r#"{"MEDIATYPE":"x"}"#,
            r#"{"dİgest":"x"}"#,
            r#"{"digest":"a","DIGEST":"b"}"#,
        ] {
            let n = parse(doc.as_bytes(), "d").unwrap();
            let e = Fields::new(&n, &known, "the manifest").err().unwrap();
            assert!(e.to_string().contains("Go clients"), "{doc}: {e}");
        }
        // Two unknown keys that fold together: some Go struct may know them.
        let n = parse(br#"{"foo":1,"FOO":2}"#, "d").unwrap();
        assert!(Fields::new(&n, &known, "d").is_err());
        let n = parse(br#"{"layers":[],"other":1,"Other2":2}"#, "d").unwrap();
        assert!(Fields::new(&n, &known, "d").is_ok());
    }

    #[test]
    fn typed_reads() {
        let n = parse(
            br#"{"a":5,"b":5.0,"c":-1,"d":1e2,"e":null,"f":"s","g":{"k":"v"},"h":{"k":1},"i":9223372036854775808}"#,
            "d",
        )
        .unwrap();
        let f = Fields::new(&n, &[], "d").unwrap();
        assert_eq!(f.uint("a").unwrap(), Some(5));
        assert!(f.uint("b").is_err());
        assert!(f.uint("c").is_err());
        assert!(f.uint("d").is_err());
        assert!(f.uint("i").is_err());
        assert!(f.str("e").unwrap_err().to_string().contains("null"));
        assert!(f.has("e"));
        assert_eq!(f.str("f").unwrap(), Some("s"));
        assert!(f.uint("f").is_err());
        assert_eq!(f.string_map("g").unwrap().unwrap()["k"], "v");
        assert!(f.string_map("h").is_err());
        assert_eq!(f.str("missing").unwrap(), None);
    }
}
