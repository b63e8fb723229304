//! Attacks on the bundle reader, through the real binary (issue: "a forged model verifies as
//! Sigstore-signed").
//!
//! * Envelope confusion: a real, publicly logged Sigstore bundle (model-transparency's
//!   `v1.1.0-sigstore`, signed by stefanb@us.ibm.com) carrying a second, forged envelope under
//!   another spelling of `dsseEnvelope`. The forged statement uses the legacy `Digests/v0.1`
//!   predicate (no root digest of its own) and lists a file whose SHA-256 *is* the real root digest
//!   (its content is the real per-file digests, concatenated), so the forged statement's subject
//!   matches what the real signature covers. Before the fix one spelling was checked by Sigstore
//!   and the other compared with the model: the attacker's model verified.
//! * The same trick on other fields that have two spellings.
//! * An identity regex that is valid only once wrapped in anchors.
//! * A large junk bundle: refused with bounded memory.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::measure::ms_with_peak_rss;
use common::*;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

const ID: &str = "stefanb@us.ibm.com";
const ISS: &str = "https://sigstore.verify.ibm.com/oauth2";

fn real_bundle(v: &Path) -> (Map<String, Value>, PathBuf) {
    let dir = v.join("model-transparency/scripts/tests/v1.1.0-sigstore");
    let b: Value = serde_json::from_slice(&fs::read(dir.join("model.sig")).unwrap()).unwrap();
    (b.as_object().unwrap().clone(), dir)
}

/// The attacker's model and a forged envelope (same signatures, forged payload).
fn forged(real: &Map<String, Value>, root: &Path) -> (PathBuf, Value) {
    let env = &real["dsseEnvelope"];
    let payload: Value =
        serde_json::from_slice(&STANDARD.decode(env["payload"].as_str().unwrap()).unwrap())
            .unwrap();
    let resources = payload["predicate"]["resources"].as_array().unwrap();
    // Root digest = SHA-256 over the per-file digests in order: a file holding exactly those bytes
    // hashes to the root digest.
    let mut concat = Vec::new();
    for r in resources {
        concat.extend(hex::decode(r["digest"].as_str().unwrap()).unwrap());
    }
    let root_digest = payload["subject"][0]["digest"]["sha256"].as_str().unwrap();
    assert_eq!(hex::encode(Sha256::digest(&concat)), root_digest);
    let model = root.join("attacker-model");
    fs::create_dir_all(&model).unwrap();
    fs::write(model.join("a"), &concat).unwrap();
    let evil = b"the attacker's weights".to_vec();
    fs::write(model.join("evil.bin"), &evil).unwrap();
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "a", "digest": {"sha256": root_digest}},
            {"name": "evil.bin", "digest": {"sha256": hex::encode(Sha256::digest(&evil))}},
        ],
        "predicateType": "https://model_signing/Digests/v0.1",
        "predicate": {},
    });
    let mut f = env.clone();
    f["payload"] = json!(STANDARD.encode(serde_json::to_vec(&statement).unwrap()));
    (model, f)
}

/// A bundle with the given top-level entries, in this order.
fn bundle_of(entries: &[(&str, &Value)]) -> Vec<u8> {
    let mut out = String::from("{");
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out += &format!("{}:{}", json!(k), v);
    }
    out.push('}');
    out.into_bytes()
}

fn verify(cwd: &Path, model: &Path, sig: &Path) -> Run {
    let cache = cwd.join("cache");
    run(model_signing()
        .current_dir(cwd)
        .env("XDG_CACHE_HOME", &cache)
        .env_remove("MODEL_SIGNING_LOG_LEVEL")
        .args(args![
            "verify",
            "sigstore",
            "--identity",
            ID,
            "--identity-provider",
            ISS,
            "--signature",
            sig,
            model
        ]))
}

#[track_caller]
fn refused(r: &Run, needle: &str) {
    r.assert_exit(1)
        .assert_stderr_contains("Verification failed with error: invalid signature bundle")
        .assert_stderr_contains(needle);
    assert!(!r.stdout.contains("Verification succeeded"), "{r}");
    assert!(!r.stderr.contains("panicked"), "{r}");
}

#[test]
fn envelope_under_two_spellings_is_refused() {
    let Some(v) = vectors() else { return };
    let (real, real_dir) = real_bundle(&v);
    let tmp = tempdir();
    let (model, fake) = forged(&real, tmp.path());
    let mt = &real["mediaType"];
    let vm = &real["verificationMaterial"];
    let genuine = &real["dsseEnvelope"];

    // The genuine bundle still verifies its own model (so the refusals below are about the
    // second envelope, not about the vector).
    let sig = tmp.path().join("genuine.sig");
    fs::write(
        &sig,
        bundle_of(&[
            ("mediaType", mt),
            ("verificationMaterial", vm),
            ("dsseEnvelope", genuine),
        ]),
    )
    .unwrap();
    verify(tmp.path(), &real_dir, &sig)
        .assert_success()
        .assert_stdout_contains("Verification succeeded");

    let mut cases: Vec<(String, Vec<u8>, &str)> = Vec::new();
    // Both key orders of the exact camelCase / snake_case pair, each spelling carrying either.
    for (a, b) in [
        ("dsse_envelope", "dsseEnvelope"),
        ("dsseEnvelope", "dsse_envelope"),
    ] {
        for (x, y) in [(genuine, &fake), (&fake, genuine)] {
            cases.push((
                format!("{a} then {b}"),
                bundle_of(&[
                    ("mediaType", mt),
                    ("verificationMaterial", vm),
                    (a, x),
                    (b, y),
                ]),
                "given twice",
            ));
        }
    }
    // The one key given twice.
    cases.push((
        "dsseEnvelope twice".into(),
        bundle_of(&[
            ("mediaType", mt),
            ("verificationMaterial", vm),
            ("dsseEnvelope", genuine),
            ("dsseEnvelope", &fake),
        ]),
        "given twice",
    ));
    // Spellings a protobuf-JSON normaliser maps onto dsseEnvelope: unknown here, in either role.
    for alias in ["dsse__envelope", "dsse_envelope_", "dsse_Envelope"] {
        for (x, y) in [(genuine, &fake), (&fake, genuine)] {
            cases.push((
                format!("{alias} with dsseEnvelope"),
                bundle_of(&[
                    ("mediaType", mt),
                    ("verificationMaterial", vm),
                    (alias, x),
                    ("dsseEnvelope", y),
                ]),
                "unknown field",
            ));
        }
    }
    for (what, bytes, needle) in cases {
        let sig = tmp.path().join("forged.sig");
        fs::write(&sig, &bytes).unwrap();
        let r = verify(tmp.path(), &model, &sig);
        eprintln!("case {what}: exit {:?}", r.code());
        refused(&r, needle);
    }
}

#[test]
fn other_fields_under_two_spellings_are_refused() {
    let Some(v) = vectors() else { return };
    let (real, real_dir) = real_bundle(&v);
    let tmp = tempdir();
    let text = String::from_utf8(fs::read(real_dir.join("model.sig")).unwrap()).unwrap();
    let vm = &real["verificationMaterial"];

    let cert = &vm["certificate"];
    let tlog = &vm["tlogEntries"][0];
    // (description, a mutated document); each adds the other spelling of one field.
    let mut docs: Vec<(&str, Value)> = Vec::new();
    let top = |f: &dyn Fn(&mut Map<String, Value>)| {
        let mut b: Value = serde_json::from_str(&text).unwrap();
        f(b.as_object_mut().unwrap());
        b
    };
    docs.push((
        "media_type",
        top(&|b| {
            b.insert(
                "media_type".into(),
                json!("application/vnd.dev.sigstore.bundle+json;version=0.2"),
            );
        }),
    ));
    docs.push((
        "verification_material",
        top(&|b| {
            b.insert("verification_material".into(), vm.clone());
        }),
    ));
    docs.push((
        "payload_type",
        top(&|b| {
            b["dsseEnvelope"]["payload_type"] = json!("application/other");
        }),
    ));
    docs.push((
        "tlog_entries",
        top(&|b| {
            b["verificationMaterial"]["tlog_entries"] = json!([tlog]);
        }),
    ));
    docs.push((
        "raw_bytes",
        top(&|b| {
            b["verificationMaterial"]["certificate"]["raw_bytes"] = cert["rawBytes"].clone();
        }),
    ));
    docs.push((
        "log_index",
        top(&|b| {
            b["verificationMaterial"]["tlogEntries"][0]["log_index"] = tlog["logIndex"].clone();
        }),
    ));
    docs.push((
        "timestamp_verification_data",
        top(&|b| {
            b["verificationMaterial"]["timestamp_verification_data"] =
                vm["timestampVerificationData"].clone();
        }),
    ));

    for (what, doc) in docs {
        let sig = tmp.path().join("two.sig");
        fs::write(&sig, serde_json::to_vec(&doc).unwrap()).unwrap();
        let r = verify(tmp.path(), &real_dir, &sig);
        eprintln!("case {what}: exit {:?}", r.code());
        refused(&r, "given twice");
    }
}

/// `'nobody@example\.test)|(.*'` is invalid on its own (an unbalanced parenthesis); wrapped as
/// `^(?:…)$` it used to become `^(?:nobody@example\.test)|(.*)$` and accept every identity.
#[test]
fn identity_regex_cannot_escape_its_anchors() {
    let Some(v) = vectors() else { return };
    let base = v.join("mock-sigstore/rekor1-tsa");
    let tmp = tempdir();
    let with = |re: &str| {
        run(model_signing()
            .current_dir(&base)
            .env("XDG_CACHE_HOME", tmp.path())
            .args(args![
                "verify",
                "sigstore",
                "--trust-config",
                base.join("trust_config.json"),
                "--identity-provider",
                "https://oidc.mock.test",
                "--identity-regex",
                re,
                "--signature",
                base.join("model.sig"),
                base.join("model")
            ]))
    };
    with(r"tester@example\.test").assert_success();
    let r = with(r"nobody@example\.test)|(.*");
    r.assert_exit(1)
        .assert_stderr_contains("invalid identity regex");
    assert!(!r.stdout.contains("Verification succeeded"), "{r}");
    with(r"nobody@example\.test|.*@example\.tes")
        .assert_exit(1)
        .assert_stderr_contains("does not match the identity regex");
}

/// `verify key` of `model` with `key` and the bundle `sig`: its exit code and peak RSS (KiB).
fn verify_peak_rss(key: &KeyPair, sig: &Path, model: &Path) -> (i32, u64) {
    let (r, rss) = ms_with_peak_rss(args![
        "verify",
        "key",
        "--public-key",
        &key.public_key,
        "--signature",
        sig,
        model
    ]);
    eprintln!("{}", r.stderr);
    (r.code().unwrap_or(-1), rss)
}

/// A bundle whose 48 MiB payload fails the signature check: the v0.2 compat encoding (Python's
/// `repr()` of the payload, up to four times its size) was built whole for every such bundle
/// (a 253 MiB junk bundle peaked at 1.54 GiB). Now it is tried only for a payload that names
/// the legacy predicate, and hashed as a stream: the worst case, a payload that does name it and
/// is all bytes `repr()` quadruples, stays near the bundle's own size.
#[test]
fn the_compat_encoding_costs_no_memory() {
    let tmp = tempdir();
    let model = make_small_model(tmp.path(), "m");
    let key = gen_ec_key(tmp.path(), "k", Curve::P256);
    let hint = hex::encode(Sha256::digest(fs::read(&key.public_key).unwrap()));
    for named in [true, false] {
        let mut payload = Vec::with_capacity(48 << 20);
        if named {
            payload.extend_from_slice(
                br#"{"predicateType":"https://model_signing/Digests/v0.1","x":""#,
            );
        }
        payload.resize(48 << 20, 0x80);
        let b64 = STANDARD;
        let doc = json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": hint}, "tlogEntries": []},
            "dsseEnvelope": {
                "payload": b64.encode(&payload),
                "payloadType": "application/vnd.in-toto+json",
                "signatures": [{"sig": b64.encode([0x30u8, 6, 2, 1, 1, 2, 1, 1]), "keyid": ""}]
            },
        })
        .to_string();
        drop(payload);
        let sig = tmp.path().join("compat.sig");
        fs::write(&sig, &doc).unwrap();
        let started = std::time::Instant::now();
        let (code, rss) = verify_peak_rss(&key, &sig, &model);
        eprintln!(
            "legacy predicate named: {named}: {} MiB bundle, exit {code}, peak RSS {} MiB, {:?}",
            doc.len() >> 20,
            rss >> 10,
            started.elapsed()
        );
        assert_eq!(code, 1);
        // The bundle (64 MiB), its decoded payload and the standard encoding (48 MiB each), and
        // no more: the whole compat encoding alone would be 192 MiB.
        assert!(rss < 220 * 1024, "named {named}: peak RSS {} KiB", rss);
    }
}

/// A 64 MiB bundle of junk: before the fix the whole document became a JSON tree first (1.1 GB
/// peak for this size). Junk shaped as unknown fields, and junk inside known fields.
#[test]
fn junk_bundle_memory_is_bounded() {
    let tmp = tempdir();
    let model = make_small_model(tmp.path(), "m");
    let key = gen_ec_key(tmp.path(), "k", Curve::P256);
    let size = 64 << 20;
    let mut unknown =
        String::from(r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","#);
    let mut i = 0;
    while unknown.len() < size {
        unknown += &format!(r#""junk{i}":{{"a":[1,2,3,{{"b":"c"}}]}},"#);
        i += 1;
    }
    unknown += r#""end":0}"#;
    // Known fields only, every list at its cap and every string long: the tree holds the strings.
    let long = "A".repeat(size / 12);
    let entry =
        json!({"logIndex": "1", "canonicalizedBody": long, "inclusionProof": {"hashes": [long]}});
    let known = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": long}, "tlogEntries": [entry, entry, entry, entry, entry, entry]},
        "dsseEnvelope": {"payload": long, "payloadType": "t", "signatures": [{"sig": long}]},
    })
    .to_string();
    for (what, doc) in [("unknown fields", unknown), ("known fields", known)] {
        assert!(doc.len() >= size, "{what}: {}", doc.len());
        let sig = tmp.path().join("junk.sig");
        fs::write(&sig, &doc).unwrap();
        let (code, rss) = verify_peak_rss(&key, &sig, &model);
        eprintln!(
            "{what}: {} MiB bundle, exit {code}, peak RSS {} MiB",
            doc.len() >> 20,
            rss >> 10
        );
        assert_eq!(code, 1, "{what}");
        assert!(rss < 256 * 1024, "{what}: peak RSS {} KiB", rss);
    }
}
