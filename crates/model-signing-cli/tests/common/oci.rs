//! Helpers for the OCI tests (`tests/oci.rs`, `tests/oci_attacks.rs`): Debian's `docker-registry`
//! (Distribution 2.8) started per test on 127.0.0.1, the loopback stand-in
//! `tests/oci/fake_registry.py` (referrers API, bearer flow, hostile answers), the `oras` client
//! (`tests/oci/push.py`), and small models and assertions.

use super::*;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Tools {
    pub registry: PathBuf,
    pub htpasswd: PathBuf,
    pub oras_py: PathBuf,
}

pub fn tools() -> Option<Tools> {
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
pub struct Registry {
    pub child: Child,
    pub port: u16,
    pub dir: TempDir,
    pub tools: Tools,
    pub auth: Option<(String, String)>,
}

impl Registry {
    pub fn start(auth: bool) -> Option<Registry> {
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

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn oci(&self, repo_tag: &str) -> String {
        format!("oci://{}/{repo_tag}", self.host())
    }

    pub fn client(&self, mode: &str, repo_tag: &str, rest: &[&Path]) -> Run {
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
    pub fn push(&self, repo_tag: &str, config: &Path, files: &[&Path]) {
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
    pub fn manifest(&self, repo_tag: &str, out: &Path) {
        self.client("manifest", repo_tag, &[out]).assert_success();
    }

    /// A Docker config directory with this registry's credentials (or `user:password`).
    pub fn docker_config(&self, user: &str, password: &str) -> PathBuf {
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
pub struct Model {
    pub dir: PathBuf,
    pub config_blob: PathBuf,
    pub weights: PathBuf,
    pub tokenizer: PathBuf,
}

pub fn model(dir: &Path) -> Model {
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
pub fn sign_key_oci(key: &KeyPair, sig: &Path, target: &str, extra: &[&str]) -> Run {
    sign_key(Path::new(target), key, sig, extra)
}

/// `verify key` of an `oci://` reference or a manifest file.
pub fn verify_key_oci(key: &KeyPair, sig: &Path, target: &str, extra: &[&str]) -> Run {
    verify_key(Path::new(target), key, sig, extra)
}

/// `verify key` of `target` with no `--signature`: for an image, the signatures attached to it
/// in its registry are tried.
pub fn verify_key_attached(
    key: &KeyPair,
    target: impl AsRef<std::ffi::OsStr>,
    extra: &[&str],
) -> Run {
    let mut a = crate::args!["verify", "key", "--public-key", &key.public_key];
    a.extend(extra.iter().map(std::ffi::OsString::from));
    a.push(target.as_ref().into());
    ms(a)
}

pub fn statement_of(sig: &Path) -> serde_json::Value {
    use base64::Engine;
    let b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sig).expect("read bundle")).expect("bundle JSON");
    let payload = base64::engine::general_purpose::STANDARD
        .decode(b["dsseEnvelope"]["payload"].as_str().expect("payload"))
        .expect("base64");
    serde_json::from_slice(&payload).expect("statement JSON")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// One line on stderr, exit 1, no panic.
#[track_caller]
pub fn assert_one_line_failure(r: &Run, needles: &[&str]) {
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

/// `tests/oci/fake_registry.py` on 127.0.0.1 (the referrers API, the bearer flow, hostile
/// answers); killed on drop. Skips with the other registry tools.
pub struct Fake {
    pub child: Child,
    pub port: u16,
    pub oras_py: PathBuf,
}

impl Fake {
    pub fn start(args: &[&str]) -> Option<Fake> {
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

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn oci(&self, repo_tag: &str) -> String {
        format!("oci://{}/{repo_tag}", self.host())
    }

    /// Pushes through the distribution API (`push.py rawpush`), with `user:password` for the
    /// bearer flow.
    pub fn push(&self, repo_tag: &str, config: &Path, files: &[&Path], creds: (&str, &str)) {
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

pub fn with_docker_config(dir: &Path, host: &str, user: &str, password: &str) -> PathBuf {
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

pub fn ms_env(docker_config: &Path, a: Vec<std::ffi::OsString>) -> Run {
    let mut cmd = model_signing();
    cmd.env("DOCKER_CONFIG", docker_config).args(a);
    run(&mut cmd)
}

impl Registry {
    /// Uploads `data` as a blob of `repo`; returns its `sha256:…` digest.
    pub fn put_blob(&self, repo: &str, data: &[u8]) -> String {
        let f = self.dir.path().join(format!("blob-{}", sha256_hex(data)));
        std::fs::write(&f, data).expect("write blob");
        let r = self.client("putblob", repo, &[&f]);
        r.assert_success();
        r.stdout.trim().to_string()
    }

    /// PUTs `raw` as the manifest `repo:reference`, byte for byte, with `media_type`.
    pub fn put_manifest(&self, repo_ref: &str, raw: &[u8], media_type: &str) {
        let f = self
            .dir
            .path()
            .join(format!("manifest-{}", sha256_hex(raw)));
        std::fs::write(&f, raw).expect("write manifest");
        let mut cmd = Command::new(&self.tools.oras_py);
        cmd.arg(repo_root().join("tests/oci/push.py"))
            .args(["putmanifest", &self.host(), repo_ref])
            .arg(&f)
            .args(["--media-type", media_type]);
        run(&mut cmd).assert_success();
    }

    /// The manifest `repo:reference` as the registry serves it.
    pub fn manifest_bytes(&self, repo_ref: &str) -> Vec<u8> {
        let f = self.dir.path().join("fetched-manifest.json");
        self.manifest(repo_ref, &f);
        std::fs::read(&f).expect("read manifest")
    }
}

/// A plain HTTP GET on 127.0.0.1 (the fake registry's own endpoints): the body.
pub fn http_get(port: u16, path: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    let at = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    out.split_off(at + 4)
}

impl Fake {
    /// The requests the fake saw since the last clear (see `tests/oci/fake_registry.py`).
    pub fn log(&self) -> Vec<serde_json::Value> {
        serde_json::from_slice(&http_get(self.port, "/_log")).expect("the fake's log")
    }

    /// Empties the log.
    pub fn clear_log(&self) {
        http_get(self.port, "/_log?clear");
    }
}
