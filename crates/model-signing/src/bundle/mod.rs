//! The Sigstore bundle (`model.sig`): writing it, and reading every historical shape of it.
//!
//! Written bundles are compact JSON with no trailing newline, keys in the order `mediaType`,
//! `verificationMaterial`, `dsseEnvelope`, exactly like Python 1.1.x:
//!
//! * key method: `publicKey.hint` (hex SHA-256 of the PEM public key) and `tlogEntries: []`;
//! * certificate method: `x509CertificateChain.certificates` (leaf first) and `tlogEntries: []`.
//!
//! The reader is our own, because no strict Sigstore parser accepts all of model-signing's output:
//! `keyid` may be `""`, `null` or absent; `tlogEntries` may be absent; `publicKey` may carry the
//! pre-1.1 `rawBytes` + `keyDetails`; field names may be camelCase or proto snake_case. It is strict
//! where leniency would let two readers disagree: each field has one value, under one of its
//! protobuf names, and nothing else is accepted ([`proto`] explains why).

use crate::error::{Error, Result};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use proto::{Message, Node};
use serde::Serialize;
use serde_json::Value;

pub mod proto;

/// The only media type model-signing writes (and its key/certificate verifiers accept).
pub const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

pub use crate::limits::MAX_BUNDLE_BYTES;

/// What identifies the signer inside the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerificationMaterial {
    /// Key method. `hint` is set by 1.1+, `legacy_raw_bytes` by older releases (and then ignored).
    PublicKey {
        /// Hex SHA-256 of the PEM public key, if present.
        hint: Option<String>,
        /// True when the pre-1.1 `rawBytes`/`keyDetails` form was found.
        legacy_raw_bytes: bool,
    },
    /// Certificate method: DER certificates, leaf first.
    CertificateChain(Vec<Vec<u8>>),
    /// Sigstore keyless: one DER leaf certificate (plus transparency-log data kept as JSON).
    Certificate(Vec<u8>),
}

/// A parsed bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// `mediaType`.
    pub media_type: String,
    /// The signer's material.
    pub material: VerificationMaterial,
    /// Number of transparency-log entries (0 for key and certificate bundles).
    pub tlog_entries: usize,
    /// The decoded DSSE payload.
    pub payload: Vec<u8>,
    /// `payloadType`.
    pub payload_type: String,
    /// The decoded signature (DER ECDSA).
    pub signature: Vec<u8>,
    /// The decoded RFC 3161 timestamps (`timestampVerificationData.rfc3161Timestamps[]
    /// .signedTimestamp`, DER TimeStampResp), in bundle order.
    pub timestamps: Vec<Vec<u8>>,
    /// The schema-checked document everything above was read from.
    tree: Message,
}

#[derive(Serialize)]
struct OutBundle<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    #[serde(rename = "verificationMaterial")]
    verification_material: Value,
    #[serde(rename = "dsseEnvelope")]
    dsse_envelope: OutEnvelope<'a>,
}

#[derive(Serialize)]
struct OutEnvelope<'a> {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: &'a str,
    signatures: [OutSig; 1],
}

#[derive(Serialize)]
struct OutSig {
    sig: String,
    keyid: &'static str,
}

/// Serialises a key or certificate bundle.
pub fn encode(
    material: &VerificationMaterial,
    payload_type: &str,
    payload: &[u8],
    signature: &[u8],
) -> Result<Vec<u8>> {
    encode_with_timestamps(material, payload_type, payload, signature, &[])
}

/// [`encode`], with RFC 3161 timestamps (DER TimeStampResp each) over `signature` in
/// `verificationMaterial.timestampVerificationData.rfc3161Timestamps`, where Sigstore bundles,
/// the Go port and the Python reference's timestamp support put them.
pub fn encode_with_timestamps(
    material: &VerificationMaterial,
    payload_type: &str,
    payload: &[u8],
    signature: &[u8],
    timestamps: &[Vec<u8>],
) -> Result<Vec<u8>> {
    let mut vm = match material {
        VerificationMaterial::PublicKey { hint, .. } => serde_json::json!({
            "publicKey": { "hint": hint.clone().unwrap_or_default() },
            "tlogEntries": [],
        }),
        VerificationMaterial::CertificateChain(certs) => serde_json::json!({
            "x509CertificateChain": {
                "certificates": certs.iter().map(|c| serde_json::json!({"rawBytes": STANDARD.encode(c)})).collect::<Vec<_>>()
            },
            "tlogEntries": [],
        }),
        VerificationMaterial::Certificate(_) => {
            return Err(Error::Unsupported(
                "writing Sigstore keyless bundles through this path".into(),
            ))
        }
    };
    if !timestamps.is_empty() {
        let tvd = serde_json::json!({
            "rfc3161Timestamps": timestamps
                .iter()
                .map(|t| serde_json::json!({"signedTimestamp": STANDARD.encode(t)}))
                .collect::<Vec<_>>()
        });
        if let Some(o) = vm.as_object_mut() {
            o.insert("timestampVerificationData".into(), tvd);
        }
    }
    let b = OutBundle {
        media_type: MEDIA_TYPE_V03,
        verification_material: vm,
        dsse_envelope: OutEnvelope {
            payload: STANDARD.encode(payload),
            payload_type,
            signatures: [OutSig {
                sig: STANDARD.encode(signature),
                keyid: "",
            }],
        },
    };
    serde_json::to_vec(&b).map_err(|e| Error::Bundle(format!("cannot encode bundle: {e}")))
}

fn bad(msg: impl Into<String>) -> Error {
    Error::Bundle(msg.into())
}

fn b64(s: &str, ctx: &str) -> Result<Vec<u8>> {
    // Canonical padding, or none at all (some writers drop it); nothing else: no URL-safe alphabet,
    // no extra `=`, no junk.
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .map_err(|_| bad(format!("{ctx} is not valid base64")))
}

fn msg<'a>(m: &'a Message, name: &str) -> Option<&'a Message> {
    m.get(name).and_then(Node::as_msg)
}

fn string<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.get(name).and_then(Node::as_str)
}

fn list<'a>(m: &'a Message, name: &str) -> &'a [Node] {
    m.get(name).and_then(Node::as_list).unwrap_or_default()
}

/// Decodes a certificate's `rawBytes`, refusing oversized ones before any parsing.
fn certificate(c: &Message, ctx: &str) -> Result<Vec<u8>> {
    let raw = string(c, "rawBytes").ok_or_else(|| bad(format!("{ctx} has no 'rawBytes'")))?;
    // 4 base64 characters per 3 bytes: refuse before decoding.
    if raw.len() / 4 * 3 > crate::x509::MAX_CERTIFICATE_BYTES + 3 {
        return Err(bad(format!(
            "{ctx} is over the {} byte limit for a certificate",
            crate::x509::MAX_CERTIFICATE_BYTES
        )));
    }
    let der = b64(raw, &format!("{ctx}.rawBytes"))?;
    if der.len() > crate::x509::MAX_CERTIFICATE_BYTES {
        return Err(bad(format!(
            "{ctx} is {} bytes, over the {} byte limit for a certificate",
            der.len(),
            crate::x509::MAX_CERTIFICATE_BYTES
        )));
    }
    Ok(der)
}

/// Parses a bundle from its JSON bytes.
///
/// The bytes are read once, against the schema of the Sigstore bundle messages (see [`proto`]):
/// unknown keys, a field given under two spellings, and over-long lists are errors. Every later
/// use of the bundle, the Sigstore verifier's included, reads this one parse.
pub fn parse(bytes: &[u8]) -> Result<Bundle> {
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(bad(format!(
            "the file is {} bytes, over the {} byte limit",
            bytes.len(),
            MAX_BUNDLE_BYTES
        )));
    }
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(bad("the file is empty")),
        Some(b'{') => {}
        Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
            // Say what is wrong rather than a serde type error about the Bundle message.
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                    Ok(_) => bad("the top level is not a JSON object"),
                    Err(e) => bad(format!("not valid JSON: {e}")),
                },
            );
        }
        Some(_) => {}
    }
    let tree = proto::parse(bytes, &proto::BUNDLE).map_err(bad)?;
    let media_type = string(&tree, "mediaType")
        .ok_or_else(|| bad("missing 'mediaType'"))?
        .to_string();
    let vm =
        msg(&tree, "verificationMaterial").ok_or_else(|| bad("missing 'verificationMaterial'"))?;
    let material = if let Some(pk) = msg(vm, "publicKey") {
        VerificationMaterial::PublicKey {
            hint: string(pk, "hint").map(str::to_string),
            legacy_raw_bytes: pk.get("rawBytes").is_some() || pk.get("keyDetails").is_some(),
        }
    } else if let Some(chain) = msg(vm, "x509CertificateChain") {
        let certs = list(chain, "certificates");
        if certs.is_empty() {
            return Err(bad("x509CertificateChain.certificates is empty"));
        }
        let mut out = Vec::with_capacity(certs.len());
        for (i, c) in certs.iter().enumerate() {
            let c = c
                .as_msg()
                .ok_or_else(|| bad(format!("certificates[{i}] is not an object")))?;
            out.push(certificate(c, &format!("certificates[{i}]"))?);
        }
        VerificationMaterial::CertificateChain(out)
    } else if let Some(cert) = msg(vm, "certificate") {
        VerificationMaterial::Certificate(certificate(cert, "certificate")?)
    } else {
        return Err(bad("verificationMaterial has neither 'publicKey', 'x509CertificateChain' nor 'certificate'"));
    };
    let tlog_entries = list(vm, "tlogEntries").len();
    let env = msg(&tree, "dsseEnvelope").ok_or_else(|| {
        if tree.get("messageSignature").is_some() {
            bad("the bundle signs a single blob (messageSignature), not a model (dsseEnvelope)")
        } else {
            bad("missing 'dsseEnvelope'")
        }
    })?;
    if tree.get("messageSignature").is_some() {
        return Err(bad(
            "the bundle has both a 'dsseEnvelope' and a 'messageSignature'",
        ));
    }
    let payload = b64(
        string(env, "payload").ok_or_else(|| bad("dsseEnvelope has no 'payload'"))?,
        "dsseEnvelope.payload",
    )?;
    let payload_type = string(env, "payloadType")
        .ok_or_else(|| bad("dsseEnvelope has no 'payloadType'"))?
        .to_string();
    let sigs = list(env, "signatures");
    let sig = match sigs {
        [one] => one
            .as_msg()
            .ok_or_else(|| bad("signatures[0] is not an object"))?,
        [] => return Err(bad("dsseEnvelope has no signatures")),
        _ => {
            return Err(bad(format!(
                "dsseEnvelope has {} signatures; exactly one is supported",
                sigs.len()
            )))
        }
    };
    let signature = b64(
        string(sig, "sig").ok_or_else(|| bad("signature has no 'sig'"))?,
        "signatures[0].sig",
    )?;
    if signature.is_empty() {
        return Err(bad("signatures[0].sig is empty"));
    }
    let mut timestamps = Vec::new();
    if let Some(tvd) = msg(vm, "timestampVerificationData") {
        for (i, t) in list(tvd, "rfc3161Timestamps").iter().enumerate() {
            let ctx = format!("rfc3161Timestamps[{i}]");
            let t = t
                .as_msg()
                .ok_or_else(|| bad(format!("{ctx} is not an object")))?;
            let raw = string(t, "signedTimestamp")
                .ok_or_else(|| bad(format!("{ctx} has no 'signedTimestamp'")))?;
            let limit = crate::timestamp::MAX_TIMESTAMP_BYTES;
            if raw.len() / 4 * 3 > limit + 3 {
                return Err(bad(format!(
                    "{ctx} is over the {limit} byte limit for a timestamp"
                )));
            }
            let der = b64(raw, &format!("{ctx}.signedTimestamp"))?;
            if der.len() > limit {
                return Err(bad(format!(
                    "{ctx} is over the {limit} byte limit for a timestamp"
                )));
            }
            if der.is_empty() {
                return Err(bad(format!("{ctx}.signedTimestamp is empty")));
            }
            timestamps.push(der);
        }
    }
    Ok(Bundle {
        media_type,
        material,
        tlog_entries,
        payload,
        payload_type,
        signature,
        timestamps,
        tree,
    })
}

/// Checks `bytes` against the bundle schema (as [`parse`] does) and returns the canonical document,
/// without requiring a DSSE envelope: for verifying Sigstore bundles over arbitrary artifacts.
pub fn canonicalize(bytes: &[u8]) -> Result<String> {
    if bytes.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(bad(format!(
            "the file is {} bytes, over the {} byte limit",
            bytes.len(),
            MAX_BUNDLE_BYTES
        )));
    }
    let tree = proto::parse(bytes, &proto::BUNDLE).map_err(bad)?;
    serde_json::to_string(&tree).map_err(|e| bad(format!("cannot re-encode the bundle: {e}")))
}

impl Bundle {
    /// The bundle as one canonical protobuf-JSON document: JSON field names only, `null`s dropped,
    /// fields in the order read. This, not the file's bytes, is what the Sigstore verifier reads.
    pub fn canonical_json(&self) -> Result<String> {
        serde_json::to_string(&self.tree)
            .map_err(|e| bad(format!("cannot re-encode the bundle: {e}")))
    }

    /// The decoded `canonicalizedBody` of each transparency-log entry, in order.
    pub fn tlog_bodies(&self) -> Result<Vec<Vec<u8>>> {
        let vm = msg(&self.tree, "verificationMaterial");
        let entries = vm.map(|vm| list(vm, "tlogEntries")).unwrap_or_default();
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let body = e
                    .as_msg()
                    .and_then(|e| string(e, "canonicalizedBody"))
                    .ok_or_else(|| bad(format!("tlogEntries[{i}] has no 'canonicalizedBody'")))?;
                b64(body, &format!("tlogEntries[{i}].canonicalizedBody"))
            })
            .collect()
    }

    /// [`Bundle::canonical_json`] as a JSON value.
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(&self.tree).unwrap_or_default()
    }
}

/// Reads and parses a bundle file, refusing oversized files before reading them (and anything
/// but a regular file: a FIFO fails at once rather than hanging).
pub fn read(path: &std::path::Path) -> Result<Bundle> {
    read_file(
        path,
        crate::secret_file::open_regular(path).map_err(|e| read_error(path, e))?,
    )
}

/// [`read`] from a file the caller opened (and named `path`, for messages).
pub fn read_file(path: &std::path::Path, file: std::fs::File) -> Result<Bundle> {
    let bytes =
        crate::secret_file::read_opened(file, MAX_BUNDLE_BYTES).map_err(|e| read_error(path, e))?;
    parse(&bytes)
}

fn read_error(path: &std::path::Path, e: crate::secret_file::SecretFileError) -> Error {
    match e {
        crate::secret_file::SecretFileError::Io(e) => Error::io(path, e),
        crate::secret_file::SecretFileError::NotRegular => {
            bad(format!("'{}' is not a regular file", path.display()))
        }
        crate::secret_file::SecretFileError::TooBig { len, max } => bad(format!(
            "'{}' is {len} bytes, over the {max} byte limit",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_are_bounded() {
        let m = VerificationMaterial::PublicKey {
            hint: Some("ab".into()),
            legacy_raw_bytes: false,
        };
        let ts = vec![b"\x30\x03\x02\x01\x00".to_vec(), b"second".to_vec()];
        let b = encode_with_timestamps(&m, "t", b"{}", b"\x30\x00", &ts).unwrap();
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            v["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
                ["signedTimestamp"],
            "MAMCAQA="
        );
        assert_eq!(parse(&b).unwrap().timestamps, ts);
        // No timestamps: the field is absent, as before.
        let plain = encode(&m, "t", b"{}", b"\x30\x00").unwrap();
        assert!(!String::from_utf8(plain.clone())
            .unwrap()
            .contains("timestamp"));
        assert!(parse(&plain).unwrap().timestamps.is_empty());
        // Oversized, empty or malformed tokens are refused while parsing, with the field named.
        let big = vec![vec![0u8; crate::timestamp::MAX_TIMESTAMP_BYTES + 1]];
        let b = encode_with_timestamps(&m, "t", b"{}", b"\x30\x00", &big).unwrap();
        assert!(parse(&b)
            .unwrap_err()
            .to_string()
            .contains("byte limit for a timestamp"));
        let b = encode_with_timestamps(&m, "t", b"{}", b"\x30\x00", &[Vec::new()]).unwrap();
        assert!(parse(&b)
            .unwrap_err()
            .to_string()
            .contains("signedTimestamp is empty"));
        let mut v: Value = serde_json::from_slice(&plain).unwrap();
        v["verificationMaterial"]["timestampVerificationData"] =
            serde_json::json!({"rfc3161Timestamps": [{"signedTimestamp": "not base64!"}]});
        let e = parse(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("rfc3161Timestamps[0].signedTimestamp"), "{e}");
    }

    #[test]
    fn encode_key_bundle_shape() {
        let m = VerificationMaterial::PublicKey {
            hint: Some("ab".into()),
            legacy_raw_bytes: false,
        };
        let b = encode(&m, "application/vnd.in-toto+json", b"{}", b"\x30\x00").unwrap();
        assert_eq!(
            String::from_utf8(b.clone()).unwrap(),
            r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"ab"},"tlogEntries":[]},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MAA=","keyid":""}]}}"#
        );
        let p = parse(&b).unwrap();
        assert_eq!(p.material, m);
        assert_eq!(p.payload, b"{}");
        assert_eq!(p.signature, b"\x30\x00");
    }

    #[test]
    fn lenient_shapes() {
        let legacy = r#"{"media_type":"x","verification_material":{"public_key":{"raw_bytes":"AA==","key_details":"PKIX_ECDSA_P384_SHA_384"}},"dsse_envelope":{"payload":"e30","payload_type":"t","signatures":[{"sig":"MAA=","keyid":null}]}}"#;
        let p = parse(legacy.as_bytes()).unwrap();
        assert_eq!(
            p.material,
            VerificationMaterial::PublicKey {
                hint: None,
                legacy_raw_bytes: true
            }
        );
        assert_eq!(p.tlog_entries, 0);
        assert_eq!(p.payload, b"{}");
    }

    #[test]
    fn malformed_bundles_are_rejected() {
        let good = r#"{"mediaType":"m","verificationMaterial":{"publicKey":{"hint":"ab"}},"dsseEnvelope":{"payload":"e30=","payloadType":"t","signatures":[{"sig":"MAA="}]}}"#;
        parse(good.as_bytes()).unwrap();
        let cases = [
            "",
            "   ",
            "{",
            "[]",
            "null",
            &good[..good.len() / 2],
            &good.replace(r#""mediaType":"m","#, ""),
            &good.replace("publicKey", "other"),
            &good.replace("e30=", "!!!"),
            &good.replace("e30=", "e30=="),
            &good.replace("e30=", "e30-"),
            &good.replace(r#"[{"sig":"MAA="}]"#, "[]"),
            &good.replace(r#"[{"sig":"MAA="}]"#, r#"[{"sig":"MAA="},{"sig":"MAA="}]"#),
            &good.replace(r#""sig":"MAA=""#, r#""sig":"""#),
            &good.replace("dsseEnvelope", "messageSignature"),
        ];
        for c in cases {
            assert!(parse(c.as_bytes()).is_err(), "accepted: {c}");
        }
    }
}
