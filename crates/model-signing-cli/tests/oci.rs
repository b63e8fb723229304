//! Models in OCI registries, against a real registry: Debian's `docker-registry` (Distribution 2.8)
//! started per test on 127.0.0.1, once open and once with htpasswd auth and Docker-config
//! credentials; models pushed ORAS-style (one titled layer per file plus a config blob) with the
//! `oras` package from PyPI (`tests/oci/push.py`).
//!
//! Covers: sign and verify by reference (tag and digest; key and certificate), a re-pushed
//! tampered layer caught, a local manifest file, an ORAS-pulled directory verified by ours and by
//! Python 1.1.1, the config blob missing from a pulled copy, duplicate titles and image indexes
//! refused, wrong or missing credentials, unreachable registries, https by default, and the
//! options that do not apply. Needs `MS_DOCKER_REGISTRY`, `MS_HTPASSWD` and `MS_ORAS_PY` (set by
//! `scripts/test`); without them the tests skip with a note, unless `MS_REQUIRE_PEERS=1`.

mod common;
use common::oci::*;
use common::*;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn sign_and_verify_by_reference() {
    let Some(reg) = Registry::start(false) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    reg.push(
        "models/bert:v1",
        &m.config_blob,
        &[&m.weights, &m.tokenizer],
    );
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("bert.sig");
    let target = reg.oci("models/bert:v1");
    let r = sign_key_oci(&key, &sig, &target, &["--plain-http", "--output", "json"]);
    r.assert_success();
    let out: serde_json::Value = serde_json::from_str(&r.stdout).expect("sign JSON");
    let manifest_digest = out["oci_manifest"]
        .as_str()
        .expect("oci_manifest")
        .to_string();

    // The statement: titled layers and config.json, bytewise order, the layers' digests, the
    // repository's last segment, the fixed serialization.
    let st = statement_of(&sig);
    assert_eq!(st["subject"][0]["name"], "bert");
    let res = st["predicate"]["resources"].as_array().expect("resources");
    let names: Vec<&str> = res
        .iter()
        .map(|r| r["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["config.json", "tokenizer.json", "weights.bin"]);
    let digest_of = |n: &str| {
        res.iter()
            .find(|r| r["name"] == n)
            .map(|r| r["digest"].clone())
    };
    assert_eq!(
        digest_of("weights.bin"),
        Some(sha256_hex(&std::fs::read(&m.weights).unwrap()).into())
    );
    assert_eq!(
        digest_of("config.json"),
        Some(sha256_hex(&std::fs::read(&m.config_blob).unwrap()).into())
    );
    assert_eq!(
        st["predicate"]["serialization"],
        serde_json::json!({"method":"files","hash_type":"sha256","allow_symlinks":false,"ignore_paths":[]})
    );

    verify_key_oci(&key, &sig, &target, &["--plain-http"])
        .assert_success()
        .assert_stdout_contains("Verification succeeded");
    // By digest, too.
    let by_digest = format!("{}@{manifest_digest}", reg.oci("models/bert"));
    verify_key_oci(&key, &sig, &by_digest, &["--plain-http"]).assert_success();
    // Another key fails.
    let other = gen_ec_key(dir.path(), "other", Curve::P256);
    assert_one_line_failure(
        &verify_key_oci(&other, &sig, &target, &["--plain-http"]),
        &[],
    );

    // Certificate method by reference.
    let root = gen_root_ca(dir.path(), "root", Curve::P256);
    let leaf_key = gen_ec_key(dir.path(), "leaf", Curve::P256);
    let leaf = gen_leaf_cert(
        dir.path(),
        "leaf",
        &leaf_key,
        &root,
        &LeafOptions::default(),
    );
    let csig = dir.path().join("cert.sig");
    ms(args![
        "sign",
        "certificate",
        "--private-key",
        &leaf_key.private_key,
        "--signing-certificate",
        &leaf,
        "--signature",
        &csig,
        "--plain-http",
        &target
    ])
    .assert_success();
    ms(args![
        "verify",
        "certificate",
        "--certificate-chain",
        &root.cert,
        "--signature",
        &csig,
        "--plain-http",
        &target
    ])
    .assert_success();

    // A tampered layer re-pushed under the same tag is caught, by name, with both digests.
    std::fs::write(&m.weights, pattern(3000, 8)).unwrap();
    reg.push(
        "models/bert:v1",
        &m.config_blob,
        &[&m.weights, &m.tokenizer],
    );
    let r = verify_key_oci(&key, &sig, &target, &["--plain-http"]);
    r.assert_exit(1).assert_stderr_contains("weights.bin");
    assert!(!r.stderr.contains("panicked"));
    // The signed digest still names the old manifest, which the registry keeps.
    verify_key_oci(&key, &sig, &by_digest, &["--plain-http"]).assert_success();
}

#[test]
fn local_manifest_file_and_pulled_directory() {
    let Some(reg) = Registry::start(false) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    // A Hugging Face style model: its own config.json is a layer, so the config blob is not
    // signed and a pulled copy holds every signed file.
    let hf_config = write_file(&m.dir, "config.json", "{\"hidden_size\": 8}\n");
    reg.push("models/hf:v1", &m.config_blob, &[&m.weights, &hf_config]);
    reg.push("models/plain:v1", &m.config_blob, &[&m.weights]);
    let key = gen_ec_key(dir.path(), "k", Curve::P256);

    // A local manifest file (what `skopeo inspect --raw` saves), named as one with
    // `oci-manifest:`, signs and verifies offline, and a bundle made from it verifies the image by
    // reference (the subject name is informational). Its config blob is not empty and a layer
    // takes the name config.json: signing needs the signer's consent (other tools' verifiers would
    // not check that config), and says so; ours records it beside that layer.
    let file = dir.path().join("hf.manifest.json");
    reg.manifest("models/hf:v1", &file);
    let as_manifest = format!("oci-manifest:{}", file.display());
    let sig = dir.path().join("hf.sig");
    let r = sign_key_oci(&key, &sig, &as_manifest, &[]);
    assert_one_line_failure(&r, &["config", "any config", "sha256:"]);
    assert!(!sig.exists());
    sign_key_oci(&key, &sig, &as_manifest, &["--allow-unsigned-config"])
        .assert_success()
        .assert_stderr_contains("only model-signing-rs checks");
    assert_eq!(statement_of(&sig)["subject"][0]["name"], "hf.manifest");
    let r = verify_key_oci(&key, &sig, &as_manifest, &[]);
    r.assert_success();
    assert!(!r.stderr.contains("is not signed"), "{}", r.stderr);
    verify_key_oci(&key, &sig, &reg.oci("models/hf:v1"), &["--plain-http"]).assert_success();
    // The same file given as a plain path is a model file: hashed, never read as a manifest,
    // and the signature says it was made for an image.
    let r = verify_key_oci(&key, &sig, file.to_str().unwrap(), &[]);
    assert_one_line_failure(&r, &["made for an OCI image", "oci-manifest:"]);
    let names: Vec<String> = statement_of(&sig)["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(names, ["config.json", "weights.bin"]);

    // The ORAS-pulled directory verifies with ours and with Python 1.1.1.
    let pulled = dir.path().join("pulled");
    reg.client("pull", "models/hf:v1", &[&pulled])
        .assert_success();
    verify_key_oci(&key, &sig, pulled.to_str().unwrap(), &[])
        .assert_success()
        .assert_stderr_contains("pulled copy");
    if let Some(py) = PyPeer::from_env(PEER_PY_1_1_1) {
        let r = run(py.cli().args(args![
            "verify",
            "key",
            "--public_key",
            &key.public_key,
            "--signature",
            &sig,
            &pulled
        ]));
        r.assert_exit(0)
            .assert_stdout_contains("Verification succeeded");
    }
    // A pulled copy lacks the config blob of an image without a config.json layer: missing.
    let psig = dir.path().join("plain.sig");
    sign_key_oci(&key, &psig, &reg.oci("models/plain:v1"), &["--plain-http"]).assert_success();
    let ppulled = dir.path().join("ppulled");
    reg.client("pull", "models/plain:v1", &[&ppulled])
        .assert_success();
    let r = verify_key_oci(&key, &psig, ppulled.to_str().unwrap(), &[]);
    r.assert_exit(1).assert_stderr_contains("config.json");
}

#[test]
fn malformed_manifests_indexes_and_duplicate_titles_are_refused() {
    let dir = tempdir();
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let h = |c: char| std::iter::repeat_n(c, 64).collect::<String>();
    let layer = |d: char, title: &str| {
        format!(
            r#"{{"mediaType":"application/octet-stream","digest":"sha256:{}","size":3,"annotations":{{"org.opencontainers.image.title":"{title}"}}}}"#,
            h(d)
        )
    };
    let manifest = |layers: String| {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[{layers}]}}"#,
            h('c')
        )
    };
    let cases = [
        (
            "dup.json",
            manifest(format!("{},{}", layer('a', "w.bin"), layer('b', "w.bin"))),
            "both named 'w.bin'",
        ),
        (
            "escape.json",
            manifest(layer('a', "../etc/passwd")),
            "cannot be signed under its title",
        ),
        (
            "upper.json",
            manifest(layer('A', "w.bin")),
            "64 lowercase hex",
        ),
        (
            "index.json",
            format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{}","size":5,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#,
                h('1')
            ),
            "image index",
        ),
        ("nolayers.json", manifest(String::new()), "no layers"),
    ];
    for (name, body, want) in cases {
        let file = write_file(dir.path(), name, body);
        let sig = dir.path().join(format!("{name}.sig"));
        let r = sign_key_oci(&key, &sig, &format!("oci-manifest:{}", file.display()), &[]);
        assert_one_line_failure(&r, &[want]);
        assert!(!sig.exists(), "{name}");
    }
    // Without the prefix, a manifest-shaped .json is an ordinary single-file model: its content
    // does not choose how it is checked.
    let plain = dir.path().join("dup.json");
    let psig = dir.path().join("data.sig");
    sign_key_oci(&key, &psig, plain.to_str().unwrap(), &[]).assert_success();
    assert_eq!(
        statement_of(&psig)["predicate"]["resources"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    verify_key_oci(&key, &psig, plain.to_str().unwrap(), &[]).assert_success();
    let r = ms(args![
        "sign",
        "key",
        "--private-key",
        &key.private_key,
        "--signature",
        &psig,
        "oci-manifest:"
    ]);
    assert_one_line_failure(&r, &["names no manifest file"]);
}

#[test]
fn credentials_from_the_docker_config() {
    let Some(reg) = Registry::start(true) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    reg.push("private/model:v1", &m.config_blob, &[&m.weights]);
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("m.sig");
    let target = reg.oci("private/model:v1");
    let with_config = |d: &Path| {
        let mut a = args![
            "sign",
            "key",
            "--private-key",
            &key.private_key,
            "--signature",
            &sig
        ];
        a.extend(args!["--plain-http", &target]);
        let mut cmd = model_signing();
        cmd.env("DOCKER_CONFIG", d).args(a);
        run(&mut cmd)
    };
    // No credentials: one line naming where they would come from.
    let empty = dir.path().join("no-docker");
    std::fs::create_dir_all(&empty).unwrap();
    assert_one_line_failure(&with_config(&empty), &["401", "Docker config"]);
    assert!(!sig.exists());
    // Wrong ones: refused.
    let wrong = reg.docker_config("ms-user", "not-the-password");
    assert_one_line_failure(&with_config(&wrong), &["refused"]);
    // The right ones: signs, then verifies.
    let right = reg.docker_config("ms-user", "ms-pass-1");
    with_config(&right).assert_success();
    let mut cmd = model_signing();
    cmd.env("DOCKER_CONFIG", &right).args(args![
        "verify",
        "key",
        "--public-key",
        &key.public_key,
        "--signature",
        &sig,
        "--plain-http",
        &target
    ]);
    run(&mut cmd).assert_success();
}

#[test]
fn unreachable_registries_and_options_that_do_not_apply() {
    let dir = tempdir();
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("m.sig");
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("oci://127.0.0.1:{closed}/m:v1");
    assert_one_line_failure(
        &sign_key_oci(&key, &sig, &target, &["--plain-http"]),
        &["registry 127.0.0.1"],
    );
    // https unless asked otherwise: a plain-http registry is not spoken to in clear text.
    assert_one_line_failure(&sign_key_oci(&key, &sig, &target, &[]), &["https://"]);
    assert!(!sig.exists());
    for (extra, want) in [
        (
            vec!["--hash-algorithm", "blake3"],
            "do not apply to an OCI image",
        ),
        (vec!["--shard-size", "1000"], "do not apply to an OCI image"),
    ] {
        assert_one_line_failure(&sign_key_oci(&key, &sig, &target, &extra), &[want]);
    }
    for bad in [
        "oci://registry/model",
        "oci://r/UPPER:v1",
        "oci://r/m@sha256:abc",
    ] {
        assert_one_line_failure(&sign_key_oci(&key, &sig, bad, &[]), &["OCI reference"]);
    }
    // OCI flags on a local directory are a mistake worth saying.
    let local = make_small_model(dir.path(), "local");
    let r = sign_key_oci(&key, &sig, local.to_str().unwrap(), &["--plain-http"]);
    assert_one_line_failure(&r, &["apply only to OCI images"]);
    // --attach needs a registry; --signature is required unless an image's registry holds it.
    let manifest = write_file(
        dir.path(),
        "m.json",
        format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"sha256:{0}","size":1}},"layers":[{{"mediaType":"x","digest":"sha256:{0}","size":1,"annotations":{{"org.opencontainers.image.title":"w"}}}}]}}"#,
            "0".repeat(64)
        ),
    );
    let manifest = format!("oci-manifest:{}", manifest.display());
    let r = sign_key_oci(&key, &sig, &manifest, &["--attach"]);
    assert_one_line_failure(&r, &["--attach needs an oci:// model"]);
    let r = verify_key_attached(&key, &manifest, &[]);
    assert_one_line_failure(&r, &["--signature is required"]);
    let r = sign_key_oci(&key, &sig, &manifest, &["--registry-timeout", "5"]);
    assert_one_line_failure(&r, &["--registry-timeout applies only to oci://"]);
    let r = sign_key_oci(
        &key,
        &sig,
        local.to_str().unwrap(),
        &["--allow-unsigned-config"],
    );
    assert_one_line_failure(&r, &["unsigned-config options apply only to OCI images"]);
    let r = verify_key_attached(&key, &local, &[]);
    assert_one_line_failure(&r, &["--signature is required"]);
    // `digest` takes local models only.
    let r = ms(args!["digest", &target]);
    r.assert_exit(1)
        .assert_stderr_contains("OCI registry reference");
}

#[test]
fn attach_and_discover_with_the_tag_fallback() {
    // Distribution 2.8 has no referrers API: the bundles go under sha256-<hex>.sig, newest first.
    let Some(reg) = Registry::start(false) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    reg.push("models/att:v1", &m.config_blob, &[&m.weights]);
    let target = reg.oci("models/att:v1");
    let k1 = gen_ec_key(dir.path(), "k1", Curve::P256);
    let k2 = gen_ec_key(dir.path(), "k2", Curve::P256);
    let k3 = gen_ec_key(dir.path(), "k3", Curve::P256);
    // Nothing attached yet: verifying without --signature says so.
    let r = verify_key_attached(&k1, &target, &["--plain-http"]);
    assert_one_line_failure(&r, &["no signature is attached", ".sig"]);

    let s1 = dir.path().join("1.sig");
    let r = sign_key_oci(
        &k1,
        &s1,
        &target,
        &["--plain-http", "--attach", "--output", "json"],
    );
    r.assert_success();
    let digest = serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["oci_manifest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let tag = format!("sha256-{digest}.sig");
    let tag_manifest = dir.path().join("tag.json");
    reg.manifest(&format!("models/att:{tag}"), &tag_manifest);
    let tm: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&tag_manifest).unwrap()).unwrap();
    assert_eq!(
        tm["annotations"]["dev.sigstore.model-signing.artifact-type"],
        "application/vnd.model-signing.signature.v0.1"
    );
    assert_eq!(
        tm["layers"][0]["digest"],
        format!("sha256:{}", sha256_hex(&std::fs::read(&s1).unwrap()))
    );

    // A second signer attaches too; its bundle comes first, the first one is kept.
    let s2 = dir.path().join("2.sig");
    sign_key_oci(&k2, &s2, &target, &["--plain-http", "--attach"]).assert_success();
    reg.manifest(&format!("models/att:{tag}"), &tag_manifest);
    let tm: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&tag_manifest).unwrap()).unwrap();
    assert_eq!(tm["layers"].as_array().map(Vec::len), Some(2));

    // Each key finds its own, and the report says where.
    for (key, want) in [(&k2, "layer 0"), (&k1, "layer 1")] {
        let r = verify_key_attached(key, &target, &["--plain-http", "--output", "json"]);
        r.assert_success();
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let src = v["signature_source"].as_str().unwrap_or_default();
        assert!(src.contains(want) && src.contains(&tag), "{src}");
    }
    // A key that signed nothing: every candidate's reason, one line.
    let r = verify_key_attached(&k3, &target, &["--plain-http"]);
    assert_one_line_failure(&r, &["2 signature(s) attached", "none verifies"]);

    // A `.sig` tag written by another tool (cosign uses the same name) is left untouched; the
    // signature file is still written.
    reg.push("models/other:v1", &m.config_blob, &[&m.tokenizer]);
    let other = reg.oci("models/other:v1");
    let s3 = dir.path().join("3.sig");
    let r = sign_key_oci(&k1, &s3, &other, &["--plain-http", "--output", "json"]);
    let od = serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap()["oci_manifest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    reg.push(
        &format!("models/other:sha256-{od}.sig"),
        &m.config_blob,
        &[&m.weights],
    );
    std::fs::remove_file(&s3).unwrap();
    let r = sign_key_oci(&k1, &s3, &other, &["--plain-http", "--attach"]);
    assert_one_line_failure(
        &r,
        &["could not be attached", "not written by model-signing"],
    );
    assert!(
        s3.exists(),
        "the signature file is written before attaching"
    );
}

#[test]
fn attach_and_discover_through_the_referrers_api() {
    // Recorded-response style: a registry that serves the OCI 1.1 referrers API.
    let Some(fake) = Fake::start(&["--referrers"]) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    fake.push(
        "models/ref:v1",
        &m.config_blob,
        &[&m.weights, &m.tokenizer],
        ("u", "p"),
    );
    let target = fake.oci("models/ref:v1");
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("ref.sig");
    sign_key_oci(&key, &sig, &target, &["--plain-http", "--attach"])
        .assert_success()
        .assert_stderr_contains("as the referrer sha256:");
    let r = verify_key_attached(&key, &target, &["--plain-http", "--output", "json"]);
    r.assert_success();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        v["signature_source"]
            .as_str()
            .unwrap_or_default()
            .starts_with("the referrer sha256:"),
        "{v}"
    );
}

#[test]
fn the_bearer_token_flow_with_docker_config_credentials() {
    let Some(fake) = Fake::start(&["--bearer", "tok-user:tok-pass"]) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    fake.push(
        "private/b:v1",
        &m.config_blob,
        &[&m.weights],
        ("tok-user", "tok-pass"),
    );
    let target = fake.oci("private/b:v1");
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("b.sig");
    let sign = |cfg: &Path, extra: &[&str]| {
        let mut a = args![
            "sign",
            "key",
            "--private-key",
            &key.private_key,
            "--signature",
            &sig
        ];
        a.extend(extra.iter().map(std::ffi::OsString::from));
        a.extend(args!["--plain-http", &target]);
        ms_env(cfg, a)
    };
    let wrong = with_docker_config(dir.path(), &fake.host(), "tok-user", "nope");
    assert_one_line_failure(&sign(&wrong, &[]), &["token service refused"]);
    assert!(!sig.exists());
    let right = with_docker_config(dir.path(), &fake.host(), "tok-user", "tok-pass");
    // Pull scope to sign, push scope to attach, pull again to discover.
    sign(&right, &["--attach"]).assert_success();
    ms_env(
        &right,
        args![
            "verify",
            "key",
            "--public-key",
            &key.public_key,
            "--plain-http",
            &target
        ],
    )
    .assert_success();
}

#[test]
fn hostile_registry_answers_fail_on_one_line() {
    let Some(fake) = Fake::start(&[]) else {
        return;
    };
    let dir = tempdir();
    let key = gen_ec_key(dir.path(), "k", Curve::P256);
    let sig = dir.path().join("h.sig");
    let lie = format!("hostile/lie@sha256:{}", "ab".repeat(32));
    for (repo, want) in [
        ("hostile/big:v1", "byte limit"),
        ("hostile/stream:v1", "byte limit"),
        ("hostile/junk:v1", "not JSON with one reading"),
        (lie.as_str(), "hashes to"),
        ("hostile/redirect:v1", "307"),
        ("hostile/missing:v1", "no manifest"),
    ] {
        let r = sign_key_oci(&key, &sig, &fake.oci(repo), &["--plain-http"]);
        assert_one_line_failure(&r, &[want]);
        assert!(!sig.exists(), "{repo}");
    }
}

#[test]
fn keyless_by_reference_against_the_mock_sigstore_stack() {
    let Some(reg) = Registry::start(false) else {
        return;
    };
    let Some(mock) = MockSigstore::start(&MockOptions::default()) else {
        return;
    };
    let dir = tempdir();
    let m = model(dir.path());
    reg.push("models/keyless:v1", &m.config_blob, &[&m.weights]);
    let target = reg.oci("models/keyless:v1");
    let sig = dir.path().join("keyless.sig");
    let (issuer, email) = ("https://oidc.mock.test", "signer@example.test");
    let token = identity_token(issuer, email, "sigstore", 600);
    let mut cmd = model_signing();
    for v in AMBIENT_VARS {
        cmd.env_remove(v);
    }
    cmd.args(args![
        "sign",
        "sigstore",
        "--trust-config",
        &mock.trust_config,
        "--identity-token",
        &token,
        "--signature",
        &sig,
        "--plain-http",
        "--attach",
        &target
    ]);
    run(&mut cmd).assert_success();
    for signature in [Some(&sig), None] {
        let mut a = args![
            "verify",
            "sigstore",
            "--trust-config",
            &mock.trust_config,
            "--identity",
            email,
            "--identity-provider",
            issuer,
            "--plain-http"
        ];
        if let Some(s) = signature {
            a.extend(args!["--signature", s]);
        }
        a.push(target.clone().into());
        ms(a).assert_success();
    }
    let r = ms(args![
        "verify",
        "sigstore",
        "--trust-config",
        &mock.trust_config,
        "--identity",
        "someone-else@example.test",
        "--identity-provider",
        issuer,
        "--plain-http",
        &target
    ]);
    assert_one_line_failure(&r, &["none verifies"]);
}

/// rh-model-signing 1.0.5 (`MS_PEER_RH`), run for real through its own command line against
/// Distribution 2.8, in both directions: it verifies our attached signature, whose resources
/// also carry what we bind (media types, order, annotations: fields it ignores), and we verify
/// its attached signature, with the warning that it binds names and digests only. The harness
/// `tests/peer/rh_cli.py` makes its registry client speak plain http (it has no switch for it);
/// nothing it checks is changed.
#[test]
fn rh_model_signing_verifies_ours_and_we_verify_its() {
    let Some(reg) = Registry::start(false) else {
        return;
    };
    let rh = match std::env::var_os("MS_PEER_RH").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None if env_flag("MS_REQUIRE_PEERS") => {
            panic!(
                "MS_PEER_RH is not set but MS_REQUIRE_PEERS=1: run the tests through scripts/test"
            )
        }
        None => {
            eprintln!("note: MS_PEER_RH not set; skipping (scripts/test sets it)");
            return;
        }
    };
    let rh_cli = |a: Vec<std::ffi::OsString>| {
        let mut cmd = Command::new(&rh);
        cmd.arg(repo_root().join("tests/peer/rh_cli.py")).args(a);
        run(&mut cmd)
    };
    let dir = tempdir();
    let m = model(dir.path());
    // A Hugging Face style image with the empty config ORAS pushes: what rh signs most.
    let hf = write_file(&m.dir, "config.json", "{\"hidden_size\": 8}\n");
    let empty = write_file(dir.path(), "empty.json", "{}");
    // rh-model-signing takes an image's digest from its manifest re-serialised as compact JSON
    // (`json.dumps(separators=(",", ":"))`), not from the bytes the registry holds, so its tag
    // mode only finds images whose manifests are stored that way (as the oras CLI writes them;
    // oras-py adds spaces). The images here are re-pushed so.
    let compact = |tag: &str| {
        let raw = reg.manifest_bytes(tag);
        let mut cmd = Command::new(&rh);
        cmd.args([
            "-c",
            "import json,sys; sys.stdout.write(json.dumps(json.loads(sys.stdin.read()), separators=(',', ':')))",
        ]);
        let out = run_with_stdin(&mut cmd, Some(&raw));
        out.assert_success();
        reg.put_manifest(
            tag,
            out.stdout.as_bytes(),
            "application/vnd.oci.image.manifest.v1+json",
        );
    };
    reg.push("models/rh:v1", &empty, &[&m.weights, &m.tokenizer, &hf]);
    compact("models/rh:v1");
    let target = reg.oci("models/rh:v1");
    let key = gen_ec_key(dir.path(), "k", Curve::P256);

    // Ours, attached under the fallback tag; rh finds it there and verifies it.
    let ours = dir.path().join("ours.sig");
    sign_key_oci(&key, &ours, &target, &["--plain-http", "--attach"]).assert_success();
    let r = rh_cli(args![
        "verify",
        "key",
        "--public-key",
        &key.public_key,
        "--attachment-mode",
        "tag",
        &target
    ]);
    r.assert_exit(0)
        .assert_stdout_contains("Verification succeeded");
    // And from the file.
    let r = rh_cli(args![
        "verify",
        "key",
        "--public-key",
        &key.public_key,
        "--signature",
        &ours,
        &target
    ]);
    r.assert_exit(0)
        .assert_stdout_contains("Verification succeeded");

    // Its signature of another tag of the same content: we discover and verify it, and say
    // what it does not bind.
    reg.push("models/rh:v2", &empty, &[&m.weights, &m.tokenizer, &hf]);
    compact("models/rh:v2");
    let theirs_target = reg.oci("models/rh:v2");
    let theirs = dir.path().join("theirs.sig");
    rh_cli(args![
        "sign",
        "key",
        "--private-key",
        &key.private_key,
        "--attachment-mode",
        "tag",
        "--output-mode",
        "both",
        "--signature",
        &theirs,
        &theirs_target
    ])
    .assert_exit(0);
    for signature in [None, Some(&theirs)] {
        let mut a = args![
            "verify",
            "key",
            "--public-key",
            &key.public_key,
            "--plain-http",
            "--output",
            "json"
        ];
        if let Some(s) = signature {
            a.extend(args!["--signature", s]);
        }
        a.push(theirs_target.clone().into());
        let r = ms(a);
        r.assert_success();
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert!(
            v["warnings"]
                .to_string()
                .contains("media types, order and annotations"),
            "{v}"
        );
    }
    // A layer of its image replaced: both tools refuse.
    std::fs::write(&m.weights, pattern(3000, 42)).unwrap();
    reg.push("models/rh:v2", &empty, &[&m.weights, &m.tokenizer, &hf]);
    compact("models/rh:v2");
    verify_key_oci(&key, &theirs, &theirs_target, &["--plain-http"]).assert_exit(1);
    let r = rh_cli(args![
        "verify",
        "key",
        "--public-key",
        &key.public_key,
        "--signature",
        &theirs,
        &theirs_target
    ]);
    assert_ne!(r.code(), Some(0), "{r}");
}
