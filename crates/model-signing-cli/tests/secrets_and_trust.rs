//! Secrets off the command line, and which Sigstore trusted root was used.
//!
//! * Key passwords from `--password-file` (both spellings) and `MODEL_SIGNING_KEY_PASSWORD`, with
//!   the precedence flag, file, environment; wrong passwords from each source fail on one line that
//!   never shows the password; `/dev/zero`, a FIFO, a directory and an oversized file are refused at
//!   once (each run has a timeout guard); the value and file flags together are a usage error.
//! * The OAuth client secret from `--client-secret-file` and `MODEL_SIGNING_OAUTH_CLIENT_SECRET`:
//!   accepted, a missing or special file is a clear error, and (with the mock Sigstore stack,
//!   `MS_MOCK_SIGSTORE_DIR`) the out-of-band login succeeds with a secret from either source.
//! * `verify sigstore --output json` names the trusted root (`trust_root`): a trust config, a
//!   trusted root file, the embedded root, and a cached root, which is logged at WARNING with its
//!   age when it differs from the embedded one and at info level when it equals it.
//!
//! Every command runs with a private, empty `XDG_CACHE_HOME` and without the secret variables of
//! the calling environment.

mod common;

use common::*;
use model_signing::sigstore::trust::TrustRoot;
use model_signing::sigstore::Instance;
use serde_json::Value;
use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

const PASSWORD_ENV: &str = "MODEL_SIGNING_KEY_PASSWORD";
const CLIENT_SECRET_ENV: &str = "MODEL_SIGNING_OAUTH_CLIENT_SECRET";
const PASSWORD: &str = "s3cret-Pw";
const WRONG: &str = "wr0ng-Pw-xyzzy";

/// Variables that could change the outcome when inherited from the caller.
const CLEARED: [&str; 6] = [
    PASSWORD_ENV,
    CLIENT_SECRET_ENV,
    "SIGSTORE_ID_TOKEN",
    "MODEL_SIGNING_LOG_LEVEL",
    "MODEL_SIGNING_PKCS11_PIN",
    "GITHUB_ACTIONS",
];

/// Our binary with a private cache directory and a clean environment.
fn cmd(cache: &Path) -> Command {
    let mut c = model_signing();
    for v in CLEARED {
        c.env_remove(v);
    }
    c.env("XDG_CACHE_HOME", cache);
    c
}

/// Runs `c` with stdin closed; panics (killing it) if it takes longer than `limit`.
fn run_guarded(c: &mut Command, limit: Duration) -> Run {
    let cmdline = describe(c);
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start model-signing");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{cmdline}` still running after {limit:?}: it blocked");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("collect output");
    Run {
        cmdline,
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn go(c: &mut Command) -> Run {
    run_guarded(c, Duration::from_secs(60))
}

/// Exit 1 with exactly one non-empty stderr line, starting `prefix` and containing `needle`.
#[track_caller]
fn one_line_failure(r: &Run, prefix: &str, needle: &str) {
    r.assert_exit(1);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line\n{r}");
    assert!(lines[0].starts_with(prefix), "{r}");
    assert!(lines[0].contains(needle), "missing {needle:?}\n{r}");
    assert!(!r.stderr.contains("panicked"), "{r}");
}

/// No output of `r` shows a password.
#[track_caller]
fn no_secret(r: &Run) {
    for s in [PASSWORD, WRONG] {
        assert!(
            !r.stderr.contains(s) && !r.stdout.contains(s),
            "shows {s:?}\n{r}"
        );
    }
}

struct KeySetup {
    _dir: TempDir,
    cache: TempDir,
    model: std::path::PathBuf,
    key: KeyPair,
    enc: std::path::PathBuf,
    dir: std::path::PathBuf,
}

fn key_setup() -> KeySetup {
    let d = tempdir();
    let dir = d.path().to_path_buf();
    let model = make_small_model(&dir, "model");
    let key = gen_ec_key(&dir, "k", Curve::P256);
    let enc = to_pkcs8(&key.private_key, &dir.join("enc.pem"), Some(PASSWORD));
    KeySetup {
        _dir: d,
        cache: tempdir(),
        model,
        key,
        enc,
        dir,
    }
}

fn sign_key_args(s: &KeySetup, key: &Path, sig: &Path, extra: Vec<OsString>) -> Vec<OsString> {
    let mut a = args!["sign", "key", "--private-key", key, "--signature", sig];
    a.extend(extra);
    a.push(s.model.clone().into());
    a
}

fn verify_key_ok(s: &KeySetup, sig: &Path) {
    go(cmd(s.cache.path()).args(args![
        "verify",
        "key",
        "--public-key",
        &s.key.public_key,
        "--signature",
        sig,
        &s.model
    ]))
    .assert_success();
}

#[test]
fn password_file_and_environment_sign_with_an_encrypted_key() {
    let s = key_setup();
    // One trailing newline (or CRLF) is what `echo` writes; it is not part of the password.
    for (name, content) in [
        ("pw-nl", format!("{PASSWORD}\n")),
        ("pw-crlf", format!("{PASSWORD}\r\n")),
        ("pw-bare", PASSWORD.to_string()),
    ] {
        let pw = write_file(&s.dir, name, &content);
        for flag in ["--password-file", "--password_file"] {
            let sig = s.dir.join(format!("{name}{flag}.sig"));
            let r = go(cmd(s.cache.path()).args(sign_key_args(&s, &s.enc, &sig, args![flag, &pw])));
            r.assert_success()
                .assert_stdout_contains("Signing succeeded");
            no_secret(&r);
            verify_key_ok(&s, &sig);
        }
    }
    // The environment variable.
    let sig = s.dir.join("env.sig");
    let r = go(cmd(s.cache.path())
        .env(PASSWORD_ENV, PASSWORD)
        .args(sign_key_args(&s, &s.enc, &sig, vec![])));
    r.assert_success();
    verify_key_ok(&s, &sig);

    // Precedence: the flag, then the file, then the environment.
    let good = write_file(&s.dir, "good", PASSWORD);
    let bad = write_file(&s.dir, "bad", WRONG);
    let sig = s.dir.join("prec.sig");
    go(cmd(s.cache.path())
        .env(PASSWORD_ENV, WRONG)
        .args(sign_key_args(
            &s,
            &s.enc,
            &sig,
            args!["--password", PASSWORD],
        )))
    .assert_success();
    go(cmd(s.cache.path())
        .env(PASSWORD_ENV, WRONG)
        .args(sign_key_args(
            &s,
            &s.enc,
            &sig,
            args!["--password-file", &good],
        )))
    .assert_success();
    one_line_failure(
        &go(cmd(s.cache.path())
            .env(PASSWORD_ENV, PASSWORD)
            .args(sign_key_args(
                &s,
                &s.enc,
                &sig,
                args!["--password-file", &bad],
            ))),
        "Signing failed with error",
        "--password-file",
    );

    // The same for `sign certificate`.
    let pki = Pki::generate(&s.dir.join("pki"), Curve::P256, Curve::P256);
    let leaf_enc = to_pkcs8(
        &pki.leaf_key.private_key,
        &s.dir.join("leaf-enc.pem"),
        Some(PASSWORD),
    );
    let sig = s.dir.join("cert.sig");
    let cert_args = |extra: Vec<OsString>| {
        let mut a = args![
            "sign",
            "certificate",
            "--private-key",
            &leaf_enc,
            "--signing-certificate",
            &pki.leaf_cert,
            "--certificate-chain",
            &pki.intermediate.cert,
            "--signature",
            &sig
        ];
        a.extend(extra);
        a.push(s.model.clone().into());
        a
    };
    go(cmd(s.cache.path()).args(cert_args(args!["--password_file", &good]))).assert_success();
    go(cmd(s.cache.path())
        .env(PASSWORD_ENV, PASSWORD)
        .args(cert_args(vec![])))
    .assert_success();
    go(cmd(s.cache.path()).args(args![
        "verify",
        "certificate",
        "--certificate-chain",
        &pki.root.cert,
        "--signature",
        &sig,
        &s.model
    ]))
    .assert_success();
}

#[test]
fn the_environment_password_is_only_read_for_an_encrypted_key() {
    let s = key_setup();
    let sig = s.dir.join("plain.sig");
    // A variable meant for another key does not break an unencrypted one...
    go(cmd(s.cache.path())
        .env(PASSWORD_ENV, PASSWORD)
        .args(sign_key_args(&s, &s.key.private_key, &sig, vec![])))
    .assert_success();
    // ...but an explicit password file for it is an error, as --password is.
    let pw = write_file(&s.dir, "pw", PASSWORD);
    let r = go(cmd(s.cache.path()).args(sign_key_args(
        &s,
        &s.key.private_key,
        &sig,
        args!["--password-file", &pw],
    )));
    one_line_failure(&r, "Signing failed with error", "not encrypted");
    no_secret(&r);
    // An empty variable counts as unset: no terminal, so the error says how to give one.
    let r = go(cmd(s.cache.path())
        .env(PASSWORD_ENV, "")
        .args(sign_key_args(&s, &s.enc, &sig, vec![])));
    one_line_failure(&r, "Signing failed with error", PASSWORD_ENV);
    r.assert_stderr_contains("a password is required");
}

#[test]
fn a_wrong_password_from_each_source_fails_on_one_line() {
    let s = key_setup();
    let bad = write_file(&s.dir, "bad", format!("{WRONG}\n"));
    let sig = s.dir.join("s.sig");
    let cases: Vec<(&str, Command)> = vec![
        ("--password", {
            let mut c = cmd(s.cache.path());
            c.args(sign_key_args(&s, &s.enc, &sig, args!["--password", WRONG]));
            c
        }),
        ("--password-file", {
            let mut c = cmd(s.cache.path());
            c.args(sign_key_args(
                &s,
                &s.enc,
                &sig,
                args!["--password-file", &bad],
            ));
            c
        }),
        (PASSWORD_ENV, {
            let mut c = cmd(s.cache.path());
            c.env(PASSWORD_ENV, WRONG)
                .args(sign_key_args(&s, &s.enc, &sig, vec![]));
            c
        }),
    ];
    for (source, mut c) in cases {
        let r = go(&mut c);
        one_line_failure(&r, "Signing failed with error", "wrong password");
        // The line names where the password came from, never the password.
        r.assert_stderr_contains(&format!("with the password from {source}"));
        no_secret(&r);
        assert!(!sig.exists(), "no signature on failure\n{r}");
    }
}

#[test]
fn special_big_and_missing_password_files_fail_fast() {
    let s = key_setup();
    let sig = s.dir.join("s.sig");
    let fifo = s.dir.join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo")
        .success());
    let big = write_file(&s.dir, "big", vec![b'x'; 4097]);
    let limit = write_file(&s.dir, "limit", vec![b'x'; 4096]);
    let cases: [(&Path, &str); 5] = [
        (Path::new("/dev/zero"), "not a regular file"),
        (&fifo, "not a regular file"),
        (&s.dir, "not a regular file"),
        (&big, "4097 bytes, over the 4096-byte limit"),
        (&s.dir.join("missing"), "cannot read --password-file"),
    ];
    for (path, needle) in cases {
        let r = run_guarded(
            cmd(s.cache.path()).args(sign_key_args(
                &s,
                &s.enc,
                &sig,
                args!["--password-file", path],
            )),
            Duration::from_secs(20),
        );
        one_line_failure(&r, "Signing failed with error", needle);
        r.assert_stderr_contains("--password-file");
    }
    // 4096 bytes is allowed (and is the wrong password here).
    let r = go(cmd(s.cache.path()).args(sign_key_args(
        &s,
        &s.enc,
        &sig,
        args!["--password-file", &limit],
    )));
    one_line_failure(&r, "Signing failed with error", "wrong password");
}

#[test]
fn value_and_file_flags_together_are_a_usage_error() {
    let s = key_setup();
    let pw = write_file(&s.dir, "pw", PASSWORD);
    let sig = s.dir.join("s.sig");
    for (a, b) in [
        ("--password", "--password-file"),
        ("--password_file", "--password"),
    ] {
        let (value, file): (&str, &Path) = (PASSWORD, &pw);
        let extra = if a.contains("file") {
            args![a, file, b, value]
        } else {
            args![a, value, b, file]
        };
        let r = go(cmd(s.cache.path()).args(sign_key_args(&s, &s.enc, &sig, extra)));
        r.assert_exit(2)
            .assert_stderr_contains("cannot be used with");
        no_secret(&r);
    }
    let r = go(cmd(s.cache.path()).args(args![
        "sign",
        "sigstore",
        "--client-secret",
        PASSWORD,
        "--client_secret_file",
        &pw,
        &s.model
    ]));
    r.assert_exit(2)
        .assert_stderr_contains("cannot be used with");
    no_secret(&r);
}

#[test]
fn client_secret_file_and_environment_are_accepted() {
    let s = key_setup();
    let secret = write_file(&s.dir, "client-secret", format!("{PASSWORD}\n"));
    let sig = s.dir.join("s.sig");
    // A bad identity token stops signing after the client secret was resolved: the secret's
    // sources are accepted, and the error is about the token.
    let base = |extra: Vec<OsString>| {
        let mut a = args![
            "--log-level",
            "WARNING",
            "sign",
            "sigstore",
            "--identity-token",
            "not-a-jwt",
            "--signature",
            &sig
        ];
        a.extend(extra);
        a.push(s.model.clone().into());
        a
    };
    for (env, extra) in [
        (None, args!["--client-secret-file", &secret]),
        (None, args!["--client_secret_file", &secret]),
        (Some(PASSWORD), vec![]),
    ] {
        let mut c = cmd(s.cache.path());
        if let Some(v) = env {
            c.env(CLIENT_SECRET_ENV, v);
        }
        let r = go(c.args(base(extra)));
        one_line_failure(&r, "Signing failed with error", "identity token");
        no_secret(&r);
        assert!(!sig.exists());
    }
    // A missing or special file is a clear error, before anything else.
    for (path, needle) in [
        (s.dir.join("missing"), "No such file"),
        ("/dev/zero".into(), "not a regular file"),
    ] {
        let r = run_guarded(
            cmd(s.cache.path()).args(base(args!["--client-secret-file", &path])),
            Duration::from_secs(20),
        );
        one_line_failure(&r, "Signing failed with error", needle);
        r.assert_stderr_contains(&format!(
            "cannot read --client-secret-file '{}'",
            path.display()
        ));
    }
    // --help lists the new flags and variables.
    let r = go(cmd(s.cache.path()).args(["sign", "sigstore", "--help"]));
    r.assert_success()
        .assert_stdout_contains("--client-secret-file")
        .assert_stdout_contains(CLIENT_SECRET_ENV);
    let r = go(cmd(s.cache.path()).args(["sign", "key", "--help"]));
    r.assert_success()
        .assert_stdout_contains("--password-file")
        .assert_stdout_contains(PASSWORD_ENV);
}

// ---------------------------------------------------------------------------------------------
// The OAuth login against the mock stack, with the client secret from a file or the environment
// ---------------------------------------------------------------------------------------------

#[test]
fn oauth_login_with_the_client_secret_from_a_file_or_the_environment() {
    let email = "oauth-file@example.test";
    let opts = MockOptions {
        client_secret: Some(PASSWORD.into()),
        oauth_email: Some(email.into()),
        ..Default::default()
    };
    let Some(mock) = MockSigstore::start(&opts) else {
        return;
    };
    let work = tempdir();
    let cache = tempdir();
    let model = make_small_model(work.path(), "model");
    let good = write_file(work.path(), "secret", format!("{PASSWORD}\n"));
    let bad = write_file(work.path(), "bad-secret", WRONG);
    let verify = |sig: &Path| {
        go(cmd(cache.path()).args(args![
            "verify",
            "sigstore",
            "--trust-config",
            &mock.trust_config,
            "--identity",
            email,
            "--identity-provider",
            &mock.url,
            "--signature",
            sig,
            &model
        ]))
        .assert_success();
    };

    let sig = work.path().join("file.sig");
    let r = oob_sign(
        &mock,
        cmd(cache.path()),
        args!["--client-secret-file", &good],
        &sig,
        &model,
    );
    r.assert_success();
    no_secret(&r);
    verify(&sig);

    let sig = work.path().join("env.sig");
    let mut c = cmd(cache.path());
    c.env(CLIENT_SECRET_ENV, PASSWORD);
    let r = oob_sign(&mock, c, vec![], &sig, &model);
    r.assert_success();
    verify(&sig);

    // The file wins over the environment: a wrong secret there is refused by the issuer.
    let sig = work.path().join("bad.sig");
    let mut c = cmd(cache.path());
    c.env(CLIENT_SECRET_ENV, PASSWORD);
    let r = oob_sign(&mock, c, args!["--client-secret-file", &bad], &sig, &model);
    assert_eq!(r.code(), Some(1), "{r}");
    r.assert_stderr_contains("invalid_client");
    no_secret(&r);
    assert!(!sig.exists());
}

// ---------------------------------------------------------------------------------------------
// Which trusted root was used
// ---------------------------------------------------------------------------------------------

const MT_ID: &str = "stefanb@us.ibm.com";
const MT_ISS: &str = "https://sigstore.verify.ibm.com/oauth2";
const MOCK_ID: &str = "tester@example.test";
const MOCK_ISS: &str = "https://oidc.mock.test";

/// `verify sigstore --output json` in `cwd`; returns the run and the parsed report.
fn verify_json(
    cache: &Path,
    cwd: &Path,
    model: &Path,
    id: &str,
    iss: &str,
    extra: &[OsString],
) -> (Run, Value) {
    let mut a = args![
        "verify",
        "sigstore",
        "--output",
        "json",
        "--signature",
        model.join("model.sig"),
        "--identity",
        id,
        "--identity-provider",
        iss
    ];
    a.extend(extra.iter().cloned());
    a.push(model.into());
    let r = go(cmd(cache).current_dir(cwd).args(a));
    r.assert_success();
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON: {e}\n{r}"));
    assert_eq!(v["verified"], true, "{r}");
    (r, v)
}

fn warnings(r: &Run) -> Vec<&str> {
    r.stderr.lines().filter(|l| l.contains("WARN")).collect()
}

#[test]
fn json_names_a_trust_config_or_trusted_root_file() {
    let Some(v) = vectors() else { return };
    let base = v.join("mock-sigstore/rekor1-tsa");
    // The signature lies next to the model directory here.
    let cache = tempdir();
    let run = |extra: Vec<OsString>| {
        let mut a = args![
            "verify",
            "sigstore",
            "--output",
            "json",
            "--signature",
            base.join("model.sig"),
            "--identity",
            MOCK_ID,
            "--identity-provider",
            MOCK_ISS
        ];
        a.extend(extra);
        a.push(base.join("model").into());
        let r = go(cmd(cache.path()).current_dir(&base).args(a));
        r.assert_success();
        let j: Value = serde_json::from_str(&r.stdout).expect("JSON report");
        j["trust_root"].clone()
    };
    let tc = base.join("trust_config.json");
    let t = run(args!["--trust-config", &tc]);
    assert_eq!(t["kind"], "trust_config_file", "{t}");
    assert_eq!(t["path"], tc.to_string_lossy().as_ref(), "{t}");
    assert_eq!(
        t["source"],
        format!("trust config '{}'", tc.display()),
        "{t}"
    );
    assert!(
        t.get("instance").is_none() && t.get("cached_age_days").is_none(),
        "{t}"
    );
    let tr = base.join("trusted_root.json");
    let t = run(args!["--trusted-root", &tr, "--trust-config", &tc]);
    assert_eq!(t["kind"], "trusted_root_file", "{t}");
    assert_eq!(t["path"], tr.to_string_lossy().as_ref(), "{t}");

    // Other methods have no trusted root: the field is left out.
    let s = key_setup();
    let sig = s.dir.join("k.sig");
    go(cmd(s.cache.path()).args(sign_key_args(&s, &s.key.private_key, &sig, vec![])))
        .assert_success();
    let r = go(cmd(s.cache.path()).args(args![
        "verify",
        "key",
        "--output",
        "json",
        "--public-key",
        &s.key.public_key,
        "--signature",
        &sig,
        &s.model
    ]));
    r.assert_success();
    let j: Value = serde_json::from_str(&r.stdout).expect("JSON report");
    assert!(j.get("trust_root").is_none(), "{j}");
}

#[test]
fn json_names_the_embedded_root() {
    let Some(v) = vectors() else { return };
    let dir = v.join("model-transparency/scripts/tests");
    let model = dir.join("v1.1.0-sigstore");
    let cache = tempdir();
    let (r, j) = verify_json(cache.path(), &dir, &model, MT_ID, MT_ISS, &[]);
    let t = &j["trust_root"];
    assert_eq!(t["kind"], "embedded", "{j}");
    assert_eq!(t["instance"], "production", "{j}");
    assert!(
        t["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("Sigstore production root embedded in this binary")),
        "{j}"
    );
    assert!(
        t.get("cached_age_days").is_none() && t.get("path").is_none(),
        "{j}"
    );
    assert!(warnings(&r).is_empty(), "{r}");
}

/// Writes `root` as the cached production root in `cache`, modified `days` ago.
fn write_cached(cache: &Path, root: &[u8], days: u64) -> std::path::PathBuf {
    let p = cache.join("model-signing/production/trusted_root.json");
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(&p, root).expect("write cached root");
    let when = SystemTime::now() - Duration::from_secs(days * 86_400 + 3600);
    fs::File::options()
        .write(true)
        .open(&p)
        .expect("open cached root")
        .set_modified(when)
        .expect("set mtime");
    p
}

#[test]
fn a_cached_root_is_named_with_its_age_and_warned_about_when_it_differs() {
    let Some(v) = vectors() else { return };
    let dir = v.join("model-transparency/scripts/tests");
    let model = dir.join("v1.1.0-sigstore");
    let embedded = TrustRoot::embedded(Instance::Production)
        .expect("embedded root")
        .to_json()
        .expect("encode");

    // Different content that still verifies: the other accepted TrustedRoot media type.
    let mut changed: Value = serde_json::from_slice(&embedded).expect("root JSON");
    let other = if changed["mediaType"] == "application/vnd.dev.sigstore.trustedroot.v0.2+json" {
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
    } else {
        "application/vnd.dev.sigstore.trustedroot.v0.2+json"
    };
    changed["mediaType"] = other.into();
    let cache = tempdir();
    let path = write_cached(
        cache.path(),
        &serde_json::to_vec(&changed).expect("encode"),
        12,
    );
    let (r, j) = verify_json(cache.path(), &dir, &model, MT_ID, MT_ISS, &[]);
    let t = &j["trust_root"];
    assert_eq!(t["kind"], "cached", "{j}");
    assert_eq!(t["instance"], "production", "{j}");
    assert_eq!(t["cached_age_days"], 12, "{j}");
    assert_eq!(t["matches_embedded"], false, "{j}");
    assert_eq!(t["path"], path.to_string_lossy().as_ref(), "{j}");
    assert_eq!(
        t["source"],
        format!("cached Sigstore production root '{}'", path.display()),
        "{j}"
    );
    // One WARNING, naming the file and its age.
    let w = warnings(&r);
    assert_eq!(w.len(), 1, "{r}");
    assert!(w[0].contains(&path.display().to_string()), "{r}");
    assert!(w[0].contains("(12 days old)"), "{r}");
    assert!(
        w[0].contains("instead of the one embedded in this binary"),
        "{r}"
    );

    // A cached copy equal to the embedded root overrides nothing: no warning, the age still
    // recorded.
    let cache = tempdir();
    write_cached(cache.path(), &embedded, 3);
    let (r, j) = verify_json(cache.path(), &dir, &model, MT_ID, MT_ISS, &[]);
    let t = &j["trust_root"];
    assert_eq!(t["kind"], "cached", "{j}");
    assert_eq!(t["cached_age_days"], 3, "{j}");
    assert_eq!(t["matches_embedded"], true, "{j}");
    assert!(warnings(&r).is_empty(), "{r}");
    r.assert_stderr_contains("(3 days old) equals the one embedded in this binary");

    // --trust-config wins over the cache: no warning, and the report says so.
    let mock = v.join("mock-sigstore/rekor1-tsa");
    let cache = tempdir();
    write_cached(
        cache.path(),
        &serde_json::to_vec(&changed).expect("encode"),
        1,
    );
    let mut a = args![
        "verify",
        "sigstore",
        "--output",
        "json",
        "--signature",
        mock.join("model.sig"),
        "--identity",
        MOCK_ID,
        "--identity-provider",
        MOCK_ISS,
        "--trust-config",
        mock.join("trust_config.json")
    ];
    a.push(mock.join("model").into());
    let r = go(cmd(cache.path()).current_dir(&mock).args(a));
    r.assert_success();
    assert!(warnings(&r).is_empty(), "{r}");
    let j: Value = serde_json::from_str(&r.stdout).expect("JSON report");
    assert_eq!(j["trust_root"]["kind"], "trust_config_file", "{j}");
}
