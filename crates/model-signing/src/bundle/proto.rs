//! A schema-checked reader for the protobuf-JSON form of a Sigstore bundle.
//!
//! # Why our own reader
//!
//! A bundle is read twice in effect: we take the DSSE payload (the statement listing the model's
//! files) and sigstore-verify checks the signature, certificate and log entry. If the two ever read
//! *different* envelopes out of the same bytes, a real, publicly logged signature can vouch for a
//! forged statement. That happened: protobuf JSON allows a field under its lowerCamelCase JSON name
//! or its proto name (`dsseEnvelope` / `dsse_envelope`), our old reader preferred one spelling and
//! the normalisation in front of sigstore-verify let the other win.
//!
//! So the bundle is parsed exactly once, here, against a schema of the Sigstore bundle messages:
//!
//! * every key must be one of the accepted names of a field of its message (the JSON name, the proto
//!   name, and for a few fields a documented historical spelling); anything else, including the
//!   spellings protobuf-JSON normalisers would also map (`dsse__envelope`, `dsse_Envelope`), is an
//!   error;
//! * two keys naming one field (two spellings, or one key twice) are an error, also when one is
//!   `null`;
//! * repeated fields have caps, and the schema has no recursion, so the tree's size is bounded by the
//!   input's and its depth by the schema;
//! * unknown keys are refused on sight while streaming, so junk costs nothing beyond reading it.
//!
//! The one tree then feeds both readers: [`crate::bundle`] takes the envelope from it, and the
//! Sigstore verifier gets [`Message`] re-serialised with the JSON names only, so there is nothing
//! left for a second parser to read differently.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::fmt;

/// How a field's value is shaped.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// A nested message.
    Msg(&'static Schema),
    /// A JSON string (protobuf `string` or base64 `bytes`, and `Timestamp`).
    Str,
    /// A protobuf integer or enum: a JSON number or a string (proto3 JSON writes int64 as strings).
    Scalar,
}

/// One field of a message.
pub(crate) struct Field {
    /// Accepted spellings; the first is the protobuf JSON name, which we write back.
    pub(crate) names: &'static [&'static str],
    /// The value's shape.
    pub(crate) kind: Kind,
    /// 0 for a singular field, else the most entries a repeated field may have.
    pub(crate) max: usize,
}

/// A protobuf message: its name (for errors) and fields.
pub(crate) struct Schema {
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [Field],
}

const fn one(names: &'static [&'static str], kind: Kind) -> Field {
    Field {
        names,
        kind,
        max: 0,
    }
}

const fn many(names: &'static [&'static str], kind: Kind, max: usize) -> Field {
    Field { names, kind, max }
}

pub use crate::limits::MAX_PROOF_HASHES;
pub use crate::limits::MAX_SIGNATURES;
pub use crate::limits::MAX_TIMESTAMPS;
pub use crate::limits::MAX_TLOG_ENTRIES;

static X509_CERTIFICATE: Schema = Schema {
    name: "X509Certificate",
    fields: &[one(&["rawBytes", "raw_bytes"], Kind::Str)],
};

static X509_CHAIN: Schema = Schema {
    name: "X509CertificateChain",
    fields: &[many(
        &["certificates"],
        Kind::Msg(&X509_CERTIFICATE),
        crate::x509::MAX_CHAIN_CERTIFICATES,
    )],
};

static TIME_RANGE: Schema = Schema {
    name: "TimeRange",
    fields: &[one(&["start"], Kind::Str), one(&["end"], Kind::Str)],
};

// PublicKeyIdentifier (`hint`) in bundles v0.2+, and the PublicKey message (`rawBytes`, `keyDetails`,
// `validFor`) that model-signing before 1.1 wrote in its place.
static PUBLIC_KEY: Schema = Schema {
    name: "PublicKeyIdentifier",
    fields: &[
        one(&["hint"], Kind::Str),
        one(&["rawBytes", "raw_bytes"], Kind::Str),
        one(&["keyDetails", "key_details"], Kind::Scalar),
        one(&["validFor", "valid_for"], Kind::Msg(&TIME_RANGE)),
    ],
};

static LOG_ID: Schema = Schema {
    name: "LogId",
    fields: &[one(&["keyId", "key_id"], Kind::Str)],
};

static KIND_VERSION: Schema = Schema {
    name: "KindVersion",
    fields: &[one(&["kind"], Kind::Str), one(&["version"], Kind::Str)],
};

static INCLUSION_PROMISE: Schema = Schema {
    name: "InclusionPromise",
    fields: &[one(
        &["signedEntryTimestamp", "signed_entry_timestamp"],
        Kind::Str,
    )],
};

static CHECKPOINT: Schema = Schema {
    name: "Checkpoint",
    fields: &[one(&["envelope"], Kind::Str)],
};

static INCLUSION_PROOF: Schema = Schema {
    name: "InclusionProof",
    fields: &[
        one(&["logIndex", "log_index"], Kind::Scalar),
        one(&["rootHash", "root_hash"], Kind::Str),
        one(&["treeSize", "tree_size"], Kind::Scalar),
        many(&["hashes"], Kind::Str, MAX_PROOF_HASHES),
        one(&["checkpoint"], Kind::Msg(&CHECKPOINT)),
    ],
};

static TLOG_ENTRY: Schema = Schema {
    name: "TransparencyLogEntry",
    fields: &[
        one(&["logIndex", "log_index"], Kind::Scalar),
        one(&["logId", "log_id"], Kind::Msg(&LOG_ID)),
        one(&["kindVersion", "kind_version"], Kind::Msg(&KIND_VERSION)),
        one(&["integratedTime", "integrated_time"], Kind::Scalar),
        one(
            &["inclusionPromise", "inclusion_promise"],
            Kind::Msg(&INCLUSION_PROMISE),
        ),
        one(
            &["inclusionProof", "inclusion_proof"],
            Kind::Msg(&INCLUSION_PROOF),
        ),
        one(&["canonicalizedBody", "canonicalized_body"], Kind::Str),
    ],
};

static RFC3161_TIMESTAMP: Schema = Schema {
    name: "RFC3161SignedTimestamp",
    fields: &[one(&["signedTimestamp", "signed_timestamp"], Kind::Str)],
};

static TIMESTAMP_DATA: Schema = Schema {
    name: "TimestampVerificationData",
    fields: &[many(
        &["rfc3161Timestamps", "rfc3161_timestamps"],
        Kind::Msg(&RFC3161_TIMESTAMP),
        MAX_TIMESTAMPS,
    )],
};

static VERIFICATION_MATERIAL: Schema = Schema {
    name: "VerificationMaterial",
    fields: &[
        one(&["publicKey", "public_key"], Kind::Msg(&PUBLIC_KEY)),
        one(
            &["x509CertificateChain", "x509_certificate_chain"],
            Kind::Msg(&X509_CHAIN),
        ),
        one(&["certificate"], Kind::Msg(&X509_CERTIFICATE)),
        many(
            &["tlogEntries", "tlog_entries"],
            Kind::Msg(&TLOG_ENTRY),
            MAX_TLOG_ENTRIES,
        ),
        one(
            &["timestampVerificationData", "timestamp_verification_data"],
            Kind::Msg(&TIMESTAMP_DATA),
        ),
    ],
};

static SIGNATURE: Schema = Schema {
    name: "Signature",
    fields: &[one(&["sig"], Kind::Str), one(&["keyid"], Kind::Str)],
};

// The DSSE proto names its field `payloadType` (so that is also its JSON name); `payload_type` is
// accepted because the bundle reader always took it, and it names the same field, never a second one.
static ENVELOPE: Schema = Schema {
    name: "Envelope",
    fields: &[
        one(&["payload"], Kind::Str),
        one(&["payloadType", "payload_type"], Kind::Str),
        many(&["signatures"], Kind::Msg(&SIGNATURE), MAX_SIGNATURES),
    ],
};

static HASH_OUTPUT: Schema = Schema {
    name: "HashOutput",
    fields: &[
        one(&["algorithm"], Kind::Scalar),
        one(&["digest"], Kind::Str),
    ],
};

static MESSAGE_SIGNATURE: Schema = Schema {
    name: "MessageSignature",
    fields: &[
        one(
            &["messageDigest", "message_digest"],
            Kind::Msg(&HASH_OUTPUT),
        ),
        one(&["signature"], Kind::Str),
    ],
};

/// The Sigstore `Bundle` message (media types v0.1 to v0.3).
pub(crate) static BUNDLE: Schema = Schema {
    name: "Bundle",
    fields: &[
        one(&["mediaType", "media_type"], Kind::Str),
        one(
            &["verificationMaterial", "verification_material"],
            Kind::Msg(&VERIFICATION_MATERIAL),
        ),
        one(&["dsseEnvelope", "dsse_envelope"], Kind::Msg(&ENVELOPE)),
        one(
            &["messageSignature", "message_signature"],
            Kind::Msg(&MESSAGE_SIGNATURE),
        ),
    ],
};

/// A value that passed the schema.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Str(String),
    Num(serde_json::Number),
    Msg(Message),
    List(Vec<Node>),
}

impl Node {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_msg(&self) -> Option<&Message> {
        match self {
            Node::Msg(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn as_list(&self) -> Option<&[Node]> {
        match self {
            Node::List(l) => Some(l),
            _ => None,
        }
    }
}

/// A message that passed the schema: its fields in document order, `null`s left out.
#[derive(Clone)]
pub(crate) struct Message {
    schema: &'static Schema,
    fields: Vec<(usize, Node)>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.schema.name)?;
        f.debug_list()
            .entries(self.fields.iter().map(|(i, _)| self.name_of(*i)))
            .finish()
    }
}

impl Message {
    fn name_of(&self, i: usize) -> &'static str {
        self.schema
            .fields
            .get(i)
            .and_then(|f| f.names.first())
            .copied()
            .unwrap_or("?")
    }

    /// The field whose JSON name is `json_name`, if present and not `null`.
    pub(crate) fn get(&self, json_name: &str) -> Option<&Node> {
        self.fields
            .iter()
            .find(|(i, _)| self.name_of(*i) == json_name)
            .map(|(_, n)| n)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Str(v) => s.serialize_str(v),
            Node::Num(n) => n.serialize(s),
            Node::Msg(m) => m.serialize(s),
            Node::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

// Written back with the JSON names only: the canonical document the Sigstore verifier reads.
impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (i, node) in &self.fields {
            map.serialize_entry(self.name_of(*i), node)?;
        }
        map.end()
    }
}

/// Parses `bytes` as a `schema` message. The error is one line: a JSON syntax error, or the
/// offending key or value with its message and position.
pub(crate) fn parse(bytes: &[u8], schema: &'static Schema) -> Result<Message, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let msg = MsgSeed(schema)
        .deserialize(&mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| match e.classify() {
            serde_json::error::Category::Data => e.to_string(),
            _ => format!("not valid JSON: {e}"),
        })?;
    Ok(msg)
}

struct MsgSeed(&'static Schema);

impl<'de> DeserializeSeed<'de> for MsgSeed {
    type Value = Message;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Message, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MsgSeed {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object ({} message)", self.0.name)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Message, E> {
        Err(E::invalid_type(A_STRING, &self))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Message, E> {
        Err(E::invalid_type(A_NUMBER, &self))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Message, E> {
        Err(E::invalid_type(A_NUMBER, &self))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Message, E> {
        Err(E::invalid_type(A_NUMBER, &self))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Message, E> {
        Err(E::invalid_type(A_BOOLEAN, &self))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        let schema = self.0;
        let mut seen: Vec<Option<&'static str>> = vec![None; schema.fields.len()];
        let mut fields = Vec::new();
        while let Some((i, spelling)) = map.next_key_seed(KeySeed(schema))? {
            let (field, slot) = schema
                .fields
                .get(i)
                .zip(seen.get_mut(i))
                .ok_or_else(|| de::Error::custom("internal schema error"))?;
            if let Some(first) = slot {
                return Err(de::Error::custom(format_args!(
                    "field '{}' of {} is given twice (as '{first}' and '{spelling}')",
                    field.names.first().copied().unwrap_or(spelling),
                    schema.name
                )));
            }
            *slot = Some(spelling);
            if let Some(node) = map.next_value_seed(FieldSeed { schema, field })? {
                fields.push((i, node));
            }
        }
        Ok(Message { schema, fields })
    }
}

/// Resolves a key to its field index and the spelling used; unknown keys are errors.
struct KeySeed(&'static Schema);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = (usize, &'static str);
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = (usize, &'static str);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        for (i, f) in self.0.fields.iter().enumerate() {
            if let Some(name) = f.names.iter().find(|n| **n == key) {
                return Ok((i, name));
            }
        }
        // The key is shown (it is what a misspelt bundle needs), escaped and cut short.
        Err(E::custom(format_args!(
            "unknown field '{}' in {}",
            crate::error::quoted_text(key, 64),
            self.0.name
        )))
    }
}

/// One field's value: `None` for `null` (proto3: the default, i.e. absent).
struct FieldSeed {
    schema: &'static Schema,
    field: &'static Field,
}

impl FieldSeed {
    fn name(&self) -> &'static str {
        self.field.names.first().copied().unwrap_or("?")
    }
}

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Option<Node>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = Option<Node>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.field.kind {
            Kind::Msg(m) => format!("a {} object", m.name),
            Kind::Str => "a string".to_string(),
            Kind::Scalar => "an integer or a string".to_string(),
        };
        if self.field.max > 0 {
            write!(f, "a list of {what}")?;
        } else {
            f.write_str(&what)?;
        }
        write!(f, " for field '{}' of {}", self.name(), self.schema.name)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if self.field.max == 0 {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ElemSeed(self.field.kind))? {
            if items.len() == self.field.max {
                return Err(de::Error::custom(format_args!(
                    "field '{}' of {} has more than {} entries",
                    self.name(),
                    self.schema.name,
                    self.field.max
                )));
            }
            items.push(item);
        }
        Ok(Some(Node::List(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        match self.field.kind {
            Kind::Msg(m) if self.field.max == 0 => {
                MsgSeed(m).visit_map(map).map(|m| Some(Node::Msg(m)))
            }
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        match self.field.kind {
            Kind::Str | Kind::Scalar if self.field.max == 0 => Ok(Some(Node::Str(v))),
            _ => Err(E::invalid_type(A_STRING, &self)),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        match self.field.kind {
            Kind::Scalar if self.field.max == 0 => Ok(Some(Node::Num(v.into()))),
            _ => Err(E::invalid_type(A_NUMBER, &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match self.field.kind {
            Kind::Scalar if self.field.max == 0 => Ok(Some(Node::Num(v.into()))),
            _ => Err(E::invalid_type(A_NUMBER, &self)),
        }
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(E::invalid_type(A_NUMBER, &self))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(E::invalid_type(A_BOOLEAN, &self))
    }
}

// What a value of the wrong type is called in a message: its kind, never the value. serde's own
// `Unexpected::Str(v)` quotes it, and the file read as a bundle may be another one (a link to the
// verifier's credentials: outside review of verified load, F1).
const A_STRING: de::Unexpected<'static> = de::Unexpected::Other("a string");
const A_NUMBER: de::Unexpected<'static> = de::Unexpected::Other("a number");
const A_BOOLEAN: de::Unexpected<'static> = de::Unexpected::Other("a boolean");

/// An element of a repeated field (never `null`).
struct ElemSeed(Kind);

impl<'de> DeserializeSeed<'de> for ElemSeed {
    type Value = Node;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        match self.0 {
            Kind::Msg(m) => MsgSeed(m).deserialize(d).map(Node::Msg),
            Kind::Str | Kind::Scalar => d.deserialize_any(self),
        }
    }
}

/// A string or number element, refused by kind (never quoting the value) when it is another.
impl<'de> Visitor<'de> for ElemSeed {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::Str => "a string",
            _ => "a number",
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        match self.0 {
            Kind::Str => Ok(Node::Str(v)),
            _ => Err(E::invalid_type(A_STRING, &self)),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        match self.0 {
            Kind::Scalar => Ok(Node::Num(v.into())),
            _ => Err(E::invalid_type(A_NUMBER, &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        match self.0 {
            Kind::Scalar => Ok(Node::Num(v.into())),
            _ => Err(E::invalid_type(A_NUMBER, &self)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        match (self.0, serde_json::Number::from_f64(v)) {
            (Kind::Scalar, Some(n)) => Ok(Node::Num(n)),
            _ => Err(E::invalid_type(A_NUMBER, &self)),
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Err(E::invalid_type(A_BOOLEAN, &self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Message, String> {
        parse(s.as_bytes(), &BUNDLE)
    }

    #[test]
    fn values_of_the_wrong_type_are_named_by_kind_never_quoted() {
        for doc in [
            r#"{"dsseEnvelope": "hunter2-SECRET"}"#,
            r#"{"mediaType": 31415926535}"#,
            r#"{"mediaType": -31415926535}"#,
            r#"{"mediaType": 3.1415926535}"#,
            r#"{"mediaType": true}"#,
            r#"{"dsseEnvelope": {"signatures": ["hunter2-SECRET"]}}"#,
            r#"{"dsseEnvelope": {"signatures": [31415926535]}}"#,
            r#"{"verificationMaterial": {"x509CertificateChain": {"certificates": [{"rawBytes": 31415926535}]}}}"#,
        ] {
            let e = p(doc).unwrap_err();
            assert!(
                !e.contains("hunter2") && !e.contains("1415926535"),
                "{doc}: {e}"
            );
        }
    }

    #[test]
    fn both_spellings_of_one_field_are_refused_in_either_order() {
        for doc in [
            r#"{"dsseEnvelope":{},"dsse_envelope":{}}"#,
            r#"{"dsse_envelope":{},"dsseEnvelope":{}}"#,
            r#"{"dsseEnvelope":{},"dsseEnvelope":{}}"#,
            r#"{"dsseEnvelope":null,"dsse_envelope":{}}"#,
            r#"{"mediaType":"a","media_type":"b"}"#,
            r#"{"verificationMaterial":{"tlogEntries":[{"logIndex":"1","log_index":"2"}]}}"#,
        ] {
            let e = p(doc).unwrap_err();
            assert!(e.contains("is given twice"), "{doc}: {e}");
        }
    }

    #[test]
    fn aliases_a_normaliser_would_accept_are_unknown_here() {
        for key in [
            "dsse__envelope",
            "dsse_envelope_",
            "dsse_Envelope",
            "DsseEnvelope",
            "dsseenvelope",
        ] {
            let doc = format!(r#"{{"{key}":{{}}}}"#);
            let e = p(&doc).unwrap_err();
            assert!(
                e.contains(&format!("unknown field '{key}' in Bundle")),
                "{e}"
            );
        }
    }

    #[test]
    fn shapes_and_caps() {
        let e = p(r#"{"mediaType":1}"#).unwrap_err();
        assert!(
            e.contains("a string for field 'mediaType' of Bundle"),
            "{e}"
        );
        let e = p(r#"{"dsseEnvelope":[]}"#).unwrap_err();
        assert!(e.contains("Envelope object"), "{e}");
        let e = p(r#"{"dsseEnvelope":{"signatures":{}}}"#).unwrap_err();
        assert!(e.contains("a list of"), "{e}");
        let many = vec![r#"{"sig":"AA=="}"#; MAX_SIGNATURES + 1].join(",");
        let e = p(&format!(r#"{{"dsseEnvelope":{{"signatures":[{many}]}}}}"#)).unwrap_err();
        assert!(e.contains("more than 16 entries"), "{e}");
        let e = p("{").unwrap_err();
        assert!(e.starts_with("not valid JSON"), "{e}");
        let e = p(r#"{} x"#).unwrap_err();
        assert!(e.starts_with("not valid JSON"), "{e}");
    }

    #[test]
    fn canonical_form_uses_json_names_and_drops_nulls() {
        let m = p(r#"{"media_type":"m","verification_material":{"tlog_entries":[{"log_index":7,"integrated_time":"9"}],"public_key":null},"dsse_envelope":{"payload_type":"t","signatures":[{"sig":"AA==","keyid":null}]}}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"mediaType":"m","verificationMaterial":{"tlogEntries":[{"logIndex":7,"integratedTime":"9"}]},"dsseEnvelope":{"payloadType":"t","signatures":[{"sig":"AA=="}]}}"#
        );
    }
}
