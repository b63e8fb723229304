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
use common::*;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Tools {
    registry: PathBuf,
    htpasswd: PathBuf,
    oras_py: PathBuf,
}

fn tools() -> Option<Tools> {
    let get = |v: &str| {
        std::env::var_os(v)
            .filter(|x| !x.is_empty())
            .map(PathBuf::from)
    };
    match (
        get("MS_DOCKER_REGISTRY"),
        get("MS_HTPASSWD"),
        get("MS_ORAS_PY"),
    ) {
        (Some(registry), Some(htpasswd), Some(oras_py)) => Some(Tools {
            registry,
            htpasswd,
            oras_py,
        }),
        _ if env_flag("MS_REQUIRE_PEERS") => panic!(
            "MS_DOCKER_REGISTRY, MS_HTPASSWD or MS_ORAS_PY is not set but MS_REQUIRE_PEERS=1: run \
             the tests through scripts/test, which installs them"
        ),
        _ => {
            eprintln!(
                "note: the OCI registry tools are not set up; skipping (scripts/test sets them)"
            );
            None
        }
    }
}

/// A `docker-registry` on 127.0.0.1 with its storage in a temporary directory; killed on drop.
struct Registry {
    child: Child,
    port: u16,
    dir: TempDir,
    tools: Tools,
    auth: Option<(String, String)>,
}

impl Registry {
    fn start(auth: bool) -> Option<Registry> {
        let tools = tools()?;
        let dir = tempdir();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut config = format!(
            "version: 0.1\nlog: {{level: error, accesslog: {{disabled: true}}}}\nstorage: \
             {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp: {{addr: \
             \"127.0.0.1:{port}\", secret: ms-test}}\n",
            dir.path().join("data").display()
        );
        let creds = auth.then(|| ("ms-user".to_string(), "ms-pass-1".to_string()));
        if let Some((u, p)) = &creds {
            let out = Command::new(&tools.htpasswd)
                .args(["-Bbn", u, p])
                .output()
                .expect("run htpasswd");
            assert!(out.status.success(), "htpasswd failed");
            std::fs::write(dir.path().join("htpasswd"), out.stdout).expect("write htpasswd");
            config.push_str(&format!(
                "auth: {{htpasswd: {{realm: ms-test, path: {}}}}}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, config).expect("write config.yml");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new(&tools.registry)
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Registry {
            child,
            port,
            dir,
            tools,
            auth: creds,
        })
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn oci(&self, repo_tag: &str) -> String {
        format!("oci://{}/{repo_tag}", self.host())
    }

    fn client(&self, mode: &str, repo_tag: &str, rest: &[&Path]) -> Run {
        let mut cmd = Command::new(&self.tools.oras_py);
        cmd.arg(repo_root().join("tests/oci/push.py"))
            .arg(mode)
            .arg(self.host())
            .arg(repo_tag)
            .args(rest);
        if let Some((u, p)) = &self.auth {
            cmd.args(["--user", u, "--password", p]);
        }
        run(&mut cmd)
    }

    /// Pushes `files` (one titled layer each) with `config` as the config blob: with oras, or
    /// for the authenticated registry through the distribution API (see `tests/oci/push.py`).
    fn push(&self, repo_tag: &str, config: &Path, files: &[&Path]) {
        let mut rest = vec![config];
        rest.extend_from_slice(files);
        let mode = if self.auth.is_some() {
            "rawpush"
        } else {
            "push"
        };
        self.client(mode, repo_tag, &rest).assert_success();
    }

    /// The raw manifest, as `skopeo inspect --raw` would save it.
    fn manifest(&self, repo_tag: &str, out: &Path) {
        self.client("manifest", repo_tag, &[out]).assert_success();
    }

    /// A Docker config directory with this registry's credentials (or `user:password`).
    fn docker_config(&self, user: &str, password: &str) -> PathBuf {
        use base64::Engine;
        let d = self.dir.path().join(format!("docker-{user}"));
        std::fs::create_dir_all(&d).expect("mkdir");
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        std::fs::write(
            d.join("config.json"),
            format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, self.host()),
        )
        .expect("write the Docker config");
        d
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small model: `weights.bin`, `tokenizer.json` and a config blob, in `dir/model`.
struct Model {
    dir: PathBuf,
    config_blob: PathBuf,
    weights: PathBuf,
    tokenizer: PathBuf,
}

fn model(dir: &Path) -> Model {
    let m = dir.join("model");
    let weights = write_file(&m, "weights.bin", pattern(3000, 7));
    let tokenizer = write_file(&m, "tokenizer.json", "{\"vocab\": [1, 2, 3]}\n");
    let config_blob = write_file(dir, "config-blob.json", "{\"architecture\": \"test\"}\n");
    Model {
        dir: m,
        config_blob,
        weights,
        tokenizer,
    }
}

/// `sign key` of an `oci://` reference or a manifest file (common's `sign_key` with a string).
fn sign_key_oci(key: &KeyPair, sig: &Path, target: &str, extra: &[&str]) -> Run {
    sign_key(Path::new(target), key, sig, extra)
}

/// `verify key` of an `oci://` reference or a manifest file.
fn verify_key_oci(key: &KeyPair, sig: &Path, target: &str, extra: &[&str]) -> Run {
    verify_key(Path::new(target), key, sig, extra)
}

fn statement_of(sig: &Path) -> serde_json::Value {
    use base64::Engine;
    let b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sig).expect("read bundle")).expect("bundle JSON");
    let payload = base64::engine::general_purpose::STANDARD
        .decode(b["dsseEnvelope"]["payload"].as_str().expect("payload"))
        .expect("base64");
    serde_json::from_slice(&payload).expect("statement JSON")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// One line on stderr, exit 1, no panic.
#[track_caller]
fn assert_one_line_failure(r: &Run, needles: &[&str]) {
    r.assert_exit(1);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains("failed with error"))
        .unwrap_or_else(|| panic!("no error line in: {}", r.stderr));
    for n in needles {
        assert!(line.contains(n), "'{n}' not in: {line}");
    }
}

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

    // A local manifest file (what `skopeo inspect --raw` saves) signs and verifies offline, and a
    // bundle made from it verifies the image by reference (the subject name is informational).
    let file = dir.path().join("hf.manifest.json");
    reg.manifest("models/hf:v1", &file);
    let sig = dir.path().join("hf.sig");
    sign_key_oci(&key, &sig, file.to_str().unwrap(), &[]).assert_success();
    assert_eq!(statement_of(&sig)["subject"][0]["name"], "hf.manifest");
    verify_key_oci(&key, &sig, file.to_str().unwrap(), &[]).assert_success();
    verify_key_oci(&key, &sig, &reg.oci("models/hf:v1"), &["--plain-http"]).assert_success();
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
    verify_key_oci(&key, &sig, pulled.to_str().unwrap(), &[]).assert_success();
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
        let r = sign_key_oci(&key, &sig, file.to_str().unwrap(), &[]);
        assert_one_line_failure(&r, &[want]);
        assert!(!sig.exists(), "{name}");
    }
    // A .json that is not a manifest is an ordinary single-file model.
    let plain = write_file(dir.path(), "data.json", "{\"schemaVersion\": 1, \"x\": []}");
    sign_key_oci(
        &key,
        &dir.path().join("data.sig"),
        plain.to_str().unwrap(),
        &[],
    )
    .assert_success();
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
    assert_one_line_failure(&r, &["apply only to oci://"]);
    // --attach needs a registry; --signature is required unless an image's registry holds it.
    let manifest = write_file(
        dir.path(),
        "m.json",
        format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"sha256:{0}","size":1}},"layers":[{{"mediaType":"x","digest":"sha256:{0}","size":1,"annotations":{{"org.opencontainers.image.title":"w"}}}}]}}"#,
            "0".repeat(64)
        ),
    );
    let r = sign_key_oci(&key, &sig, manifest.to_str().unwrap(), &["--attach"]);
    assert_one_line_failure(&r, &["--attach needs an oci:// model"]);
    let r = ms(args![
        "verify",
        "key",
        "--public-key",
        &key.public_key,
        &manifest
    ]);
    assert_one_line_failure(&r, &["--signature is required"]);
    let r = ms(args![
        "verify",
        "key",
        "--public-key",
        &key.public_key,
        &local
    ]);
    assert_one_line_failure(&r, &["--signature is required"]);
    // `digest` takes local models only.
    let r = ms(args!["digest", &target]);
    r.assert_exit(1)
        .assert_stderr_contains("OCI registry reference");
}

/// `tests/oci/fake_registry.py` on 127.0.0.1 (the referrers API, the bearer flow, hostile
/// answers); killed on drop. Skips with the other registry tools.
struct Fake {
    child: Child,
    port: u16,
    oras_py: PathBuf,
}

impl Fake {
    fn start(args: &[&str]) -> Option<Fake> {
        let tools = tools()?;
        let mut child = Command::new(&tools.oras_py)
            .arg(repo_root().join("tests/oci/fake_registry.py"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the fake registry");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .expect("read PORT=");
        let port = line
            .trim()
            .strip_prefix("PORT=")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the fake registry printed {line:?}"));
        Some(Fake {
            child,
            port,
            oras_py: tools.oras_py,
        })
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn oci(&self, repo_tag: &str) -> String {
        format!("oci://{}/{repo_tag}", self.host())
    }

    /// Pushes through the distribution API (`push.py rawpush`), with `user:password` for the
    /// bearer flow.
    fn push(&self, repo_tag: &str, config: &Path, files: &[&Path], creds: (&str, &str)) {
        let mut cmd = Command::new(&self.oras_py);
        cmd.arg(repo_root().join("tests/oci/push.py"))
            .args(["rawpush", &self.host(), repo_tag])
            .arg(config)
            .args(files)
            .args(["--user", creds.0, "--password", creds.1]);
        run(&mut cmd).assert_success();
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn with_docker_config(dir: &Path, host: &str, user: &str, password: &str) -> PathBuf {
    use base64::Engine;
    let d = dir.join(format!("docker-{user}-{password}"));
    std::fs::create_dir_all(&d).expect("mkdir");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        d.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .expect("write the Docker config");
    d
}

fn ms_env(docker_config: &Path, a: Vec<std::ffi::OsString>) -> Run {
    let mut cmd = model_signing();
    cmd.env("DOCKER_CONFIG", docker_config).args(a);
    run(&mut cmd)
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
    let r = ms(args![
        "verify",
        "key",
        "--public-key",
        &k1.public_key,
        "--plain-http",
        &target
    ]);
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
        let r = ms(args![
            "verify",
            "key",
            "--public-key",
            &key.public_key,
            "--plain-http",
            "--output",
            "json",
            &target
        ]);
        r.assert_success();
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let src = v["signature_source"].as_str().unwrap_or_default();
        assert!(src.contains(want) && src.contains(&tag), "{src}");
    }
    // A key that signed nothing: every candidate's reason, one line.
    let r = ms(args![
        "verify",
        "key",
        "--public-key",
        &k3.public_key,
        "--plain-http",
        &target
    ]);
    assert_one_line_failure(&r, &["2 signature(s) are attached", "none verifies"]);

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
    let r = ms(args![
        "verify",
        "key",
        "--public-key",
        &key.public_key,
        "--plain-http",
        "--output",
        "json",
        &target
    ]);
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
        ("hostile/junk:v1", "not a JSON manifest"),
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
