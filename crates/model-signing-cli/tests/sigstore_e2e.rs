//! Sigstore keyless signing end to end, offline, against the loopback mock stack of
//! `tests/mock-sigstore` (Fulcio, Rekor v1/v2, TSA and an OIDC issuer built on npm
//! `@sigstore/mock` 0.13.0), in the three shapes Sigstore deployments have: Rekor v1 without a TSA,
//! Rekor v1 with a TSA, Rekor v2 with a TSA.
//!
//! For each shape: sign with our CLI, verify with our CLI and with Python model-signing 1.1.1;
//! sign with Python and verify with ours; and check that a wrong identity, a wrong issuer, a
//! foreign trust root and a tampered model all fail, in both implementations. Further tests cover
//! where tokens come from (flag, `SIGSTORE_ID_TOKEN`, Google Cloud metadata, the interactive
//! out-of-band login with a client secret) and the one-line errors for expired tokens, wrong
//! audiences and unreachable services.
//!
//! Needs `MS_MOCK_SIGSTORE_DIR` (and `MS_PEER_PY_1_1_1` for the Python half), both set by
//! `scripts/test`; without them the tests skip with a note, unless `MS_REQUIRE_PEERS=1`.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The issuer and identity of the locally minted tokens.
const ISSUER: &str = "https://oidc.mock.test";
const EMAIL: &str = "signer@example.test";

fn ours(args: Vec<std::ffi::OsString>) -> Run {
    let mut cmd = model_signing();
    for v in AMBIENT_VARS {
        cmd.env_remove(v);
    }
    run(cmd.args(args))
}

fn sign_ours(trust_config: &Path, token: &str, sig: &Path, model: &Path) -> Run {
    ours(args![
        "sign",
        "sigstore",
        "--trust-config",
        trust_config,
        "--identity-token",
        token,
        "--signature",
        sig,
        model
    ])
}

fn verify_ours(trust_config: &Path, sig: &Path, model: &Path, identity: &str, issuer: &str) -> Run {
    ours(args![
        "verify",
        "sigstore",
        "--trust-config",
        trust_config,
        "--identity",
        identity,
        "--identity-provider",
        issuer,
        "--signature",
        sig,
        model
    ])
}

fn sign_py(py: &PyPeer, trust_config: &Path, token: &str, sig: &Path, model: &Path) -> Run {
    run(py.cli().args(args![
        "sign",
        "sigstore",
        "--trust_config",
        trust_config,
        "--identity_token",
        token,
        "--signature",
        sig,
        model
    ]))
}

fn verify_py(
    py: &PyPeer,
    trust_config: &Path,
    sig: &Path,
    model: &Path,
    identity: &str,
    issuer: &str,
) -> Run {
    run(py.cli().args(args![
        "verify",
        "sigstore",
        "--trust_config",
        trust_config,
        "--identity",
        identity,
        "--identity_provider",
        issuer,
        "--signature",
        sig,
        model
    ]))
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read bundle")).expect("bundle is JSON")
}

/// The in-toto statement inside a bundle.
fn statement(sig: &Path) -> serde_json::Value {
    use base64::Engine;
    let b = read_json(sig);
    let payload = base64::engine::general_purpose::STANDARD
        .decode(b["dsseEnvelope"]["payload"].as_str().expect("payload"))
        .expect("payload is base64");
    serde_json::from_slice(&payload).expect("statement JSON")
}

/// Checks the shape of a keyless bundle for the mock's configuration.
fn check_bundle(sig: &Path, rekor_v2: bool, tsa: bool, model_name: &str) {
    let b = read_json(sig);
    assert_eq!(
        b["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let vm = &b["verificationMaterial"];
    assert!(
        vm["certificate"]["rawBytes"].is_string(),
        "leaf certificate only (v0.3): {vm}"
    );
    let entries = vm["tlogEntries"].as_array().expect("tlogEntries");
    assert_eq!(entries.len(), 1);
    let kv = &entries[0]["kindVersion"];
    if rekor_v2 {
        assert_eq!(
            (kv["kind"].as_str(), kv["version"].as_str()),
            (Some("hashedrekord"), Some("0.0.2"))
        );
    } else {
        assert_eq!(
            (kv["kind"].as_str(), kv["version"].as_str()),
            (Some("dsse"), Some("0.0.1"))
        );
        assert!(entries[0]["inclusionPromise"]["signedEntryTimestamp"].is_string());
    }
    assert!(entries[0]["inclusionProof"]["checkpoint"]["envelope"].is_string());
    let stamps = vm["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(stamps, usize::from(tsa), "RFC 3161 timestamps: {vm}");
    let env = &b["dsseEnvelope"];
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    assert_eq!(env["signatures"].as_array().map(Vec::len), Some(1));
    let statement = statement(sig);
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        statement["predicateType"],
        "https://model_signing/signature/v1.0"
    );
    assert_eq!(statement["subject"][0]["name"], model_name);
}

/// The whole matrix for one mock configuration.
fn roundtrip(rekor_v2: bool, tsa: bool) {
    let Some(mock) = MockSigstore::start(&MockOptions {
        rekor_v2,
        tsa,
        ..Default::default()
    }) else {
        return;
    };
    let py = PyPeer::from_env(PEER_PY_1_1_1);
    let work = tempdir();
    let model = make_small_model(work.path(), "model");
    let token = identity_token(ISSUER, EMAIL, "sigstore", 600);
    let tc = &mock.trust_config;

    // Ours signs; ours verifies.
    let sig = work.path().join("ours.sig");
    let r = sign_ours(tc, &token, &sig, &model);
    r.assert_success()
        .assert_stdout_contains("Signing succeeded");
    for step in ["Fulcio", if rekor_v2 { "Rekor v2" } else { "Rekor v1" }] {
        r.assert_stderr_contains(step);
    }
    if tsa {
        r.assert_stderr_contains("RFC 3161 timestamp");
    }
    r.assert_stderr_contains("the new signature verifies against the trust config");
    check_bundle(&sig, rekor_v2, tsa, "model");
    verify_ours(tc, &sig, &model, EMAIL, ISSUER)
        .assert_success()
        .assert_stdout_contains("Verification succeeded");

    // What must fail, with our verifier.
    let other = MockSigstore::start(&MockOptions {
        rekor_v2,
        tsa,
        ..Default::default()
    })
    .expect("second mock");
    let tampered = work.path().join("tampered");
    copy_dir(&model, &tampered.join("model"));
    let tampered = tampered.join("model");
    tamper(&tampered.join("b/c.bin"), 7);
    let negatives: [(&str, &Path, &Path, &str, &str); 4] = [
        ("wrong identity", tc, &model, "someone@example.test", ISSUER),
        (
            "wrong issuer",
            tc,
            &model,
            EMAIL,
            "https://other-issuer.test",
        ),
        (
            "foreign trust root",
            &other.trust_config,
            &model,
            EMAIL,
            ISSUER,
        ),
        ("tampered model", tc, &tampered, EMAIL, ISSUER),
    ];
    for (what, trust, m, id, iss) in negatives {
        let r = verify_ours(trust, &sig, m, id, iss);
        assert_eq!(r.code(), Some(1), "ours must reject ({what})\n{r}");
        r.assert_stderr_contains("Verification failed with error");
    }

    let Some(py) = py else { return };
    // Python verifies ours, and rejects the same negatives.
    verify_py(&py, tc, &sig, &model, EMAIL, ISSUER)
        .assert_success()
        .assert_stdout_contains("Verification succeeded");
    for (what, trust, m, id, iss) in negatives {
        let r = verify_py(&py, trust, &sig, m, id, iss);
        assert!(!r.success(), "Python must reject ({what})\n{r}");
    }

    // Python signs; ours verifies (and still checks the identity).
    let py_sig = work.path().join("python.sig");
    sign_py(&py, tc, &token, &py_sig, &model).assert_success();
    check_bundle(&py_sig, rekor_v2, tsa, "model");
    verify_ours(tc, &py_sig, &model, EMAIL, ISSUER).assert_success();
    assert_eq!(
        verify_ours(tc, &py_sig, &model, "someone@example.test", ISSUER).code(),
        Some(1)
    );
    assert_eq!(
        verify_ours(tc, &py_sig, &tampered, EMAIL, ISSUER).code(),
        Some(1)
    );

    // Same model, same statement as Python's (semantically: Python pretty-prints with a random key
    // order, so the bytes cannot match).
    let (ours_st, py_st) = (statement(&sig), statement(&py_sig));
    assert_eq!(ours_st["subject"], py_st["subject"], "same root digest");
    assert_eq!(
        ours_st["predicate"]["resources"],
        py_st["predicate"]["resources"]
    );
}

#[test]
fn rekor_v1_without_tsa() {
    roundtrip(false, false);
}

#[test]
fn rekor_v1_with_tsa() {
    roundtrip(false, true);
}

#[test]
fn rekor_v2_with_tsa() {
    roundtrip(true, true);
}

#[test]
fn keyless_payload_equals_key_payload() {
    let Some(mock) = MockSigstore::start(&MockOptions::default()) else {
        return;
    };
    let work = tempdir();
    let model = make_small_model(work.path(), "model");
    let key = gen_ec_key(work.path(), "key", Curve::P256);
    let key_sig = work.path().join("key.sig");
    ours(args![
        "sign",
        "key",
        "--private-key",
        &key.private_key,
        "--signature",
        &key_sig,
        &model
    ])
    .assert_success();
    let keyless_sig = work.path().join("keyless.sig");
    sign_ours(
        &mock.trust_config,
        &identity_token(ISSUER, EMAIL, "sigstore", 600),
        &keyless_sig,
        &model,
    )
    .assert_success();
    assert_eq!(
        read_json(&key_sig)["dsseEnvelope"]["payload"],
        read_json(&keyless_sig)["dsseEnvelope"]["payload"]
    );
}

#[test]
fn token_sources_and_token_errors() {
    let Some(mock) = MockSigstore::start(&MockOptions::default()) else {
        return;
    };
    let work = tempdir();
    let model = make_small_model(work.path(), "model");
    let tc = &mock.trust_config;

    // SIGSTORE_ID_TOKEN, Python 1.1.1's underscore spelling, and the default method.
    let sig = work.path().join("env.sig");
    let mut cmd = model_signing();
    for v in AMBIENT_VARS {
        cmd.env_remove(v);
    }
    cmd.env(
        "SIGSTORE_ID_TOKEN",
        identity_token(ISSUER, EMAIL, "sigstore", 600),
    );
    run(cmd.args(args![
        "sign",
        "--trust_config",
        tc,
        "--signature",
        &sig,
        &model
    ]))
    .assert_success();
    verify_ours(tc, &sig, &model, EMAIL, ISSUER).assert_success();

    // An expired token fails before anything is hashed or sent, and leaves no file behind.
    let fulcio_calls = || mock.log_text().matches("signingCert").count();
    let before = fulcio_calls();
    let bad = work.path().join("bad.sig");
    let r = sign_ours(
        tc,
        &identity_token(ISSUER, EMAIL, "sigstore", -120),
        &bad,
        &model,
    );
    assert_eq!(r.code(), Some(1), "{r}");
    r.assert_stderr_contains("Signing failed with error: the identity token cannot be used: the identity token expired at");
    assert!(!bad.exists());
    assert_eq!(
        fulcio_calls(),
        before,
        "nothing reached Fulcio:\n{}",
        mock.log_text()
    );

    // A token for another audience.
    let r = sign_ours(
        tc,
        &identity_token(ISSUER, EMAIL, "other", 600),
        &bad,
        &model,
    );
    assert_eq!(r.code(), Some(1), "{r}");
    r.assert_stderr_contains("audience 'other', not 'sigstore'");
    assert!(!bad.exists());
    // ...which --client-id makes the expected one.
    let r = ours(args![
        "sign",
        "sigstore",
        "--trust-config",
        tc,
        "--identity-token",
        identity_token(ISSUER, EMAIL, "other", 600),
        "--client-id",
        "other",
        "--signature",
        &bad,
        &model
    ]);
    r.assert_success();

    // Not a JWT at all.
    let r = sign_ours(tc, "not-a-token", &work.path().join("x.sig"), &model);
    assert_eq!(r.code(), Some(1), "{r}");
    r.assert_stderr_contains("malformed identity token");
}

#[test]
fn signature_not_matching_the_trusted_root_warns() {
    let Some(mock) = MockSigstore::start(&MockOptions::default()) else {
        return;
    };
    let other = MockSigstore::start(&MockOptions::default()).expect("second mock");
    let work = tempdir();
    let model = make_small_model(work.path(), "model");
    // This mock's services, the other mock's trusted root.
    let mut tc = read_json(&mock.trust_config);
    tc["trustedRoot"] = read_json(&other.trust_config)["trustedRoot"].clone();
    let mixed = work.path().join("mixed.json");
    std::fs::write(&mixed, tc.to_string()).expect("write mixed trust config");
    let sig = work.path().join("model.sig");
    let r = sign_ours(
        &mixed,
        &identity_token(ISSUER, EMAIL, "sigstore", 600),
        &sig,
        &model,
    );
    r.assert_success()
        .assert_stderr_contains("WARN")
        .assert_stderr_contains("is consistent but does not verify against");
    // The warning was right: nobody holding that root accepts it.
    assert_eq!(
        verify_ours(&mixed, &sig, &model, EMAIL, ISSUER).code(),
        Some(1)
    );
    verify_ours(&mock.trust_config, &sig, &model, EMAIL, ISSUER).assert_success();
}

#[test]
fn unreachable_services_fail_on_one_line() {
    let Some(mut mock) = MockSigstore::start(&MockOptions::default()) else {
        return;
    };
    let work = tempdir();
    let model = make_small_model(work.path(), "model");
    mock.stop();
    let sig = work.path().join("model.sig");
    let r = sign_ours(
        &mock.trust_config,
        &identity_token(ISSUER, EMAIL, "sigstore", 600),
        &sig,
        &model,
    );
    assert_eq!(r.code(), Some(1), "{r}");
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("Signing failed with error:"))
        .unwrap_or_else(|| panic!("no error line\n{r}"));
    assert!(
        line.contains(&format!("Fulcio ({})", mock.url)) && line.contains("Connection refused"),
        "{line}"
    );
    assert!(!sig.exists(), "no signature file on failure");
}

#[test]
fn interactive_out_of_band_login_with_client_secret() {
    let email = "oauth-user@example.test";
    let opts = MockOptions {
        client_secret: Some("s3cret".into()),
        oauth_email: Some(email.into()),
        ..Default::default()
    };
    let Some(mock) = MockSigstore::start(&opts) else {
        return;
    };
    let work = tempdir();
    let model = make_small_model(work.path(), "model");

    let sig = work.path().join("oob.sig");
    let r = oob_sign(
        &mock,
        model_signing(),
        os(&["--client-secret", "s3cret"]),
        &sig,
        &model,
    );
    r.assert_success()
        .assert_stderr_contains("Enter verification code");
    // The mock issuer's tokens carry the issuer URL itself.
    verify_ours(&mock.trust_config, &sig, &model, email, &mock.url).assert_success();
    if let Some(py) = PyPeer::from_env(PEER_PY_1_1_1) {
        verify_py(&py, &mock.trust_config, &sig, &model, email, &mock.url).assert_success();
    }
    let log = mock.log_text();
    for step in [
        "GET /.well-known/openid-configuration 200",
        "GET /oauth/authorize 200",
        "POST /oauth/token 200",
    ] {
        assert!(
            log.contains(step),
            "missing {step:?} in the mock log:\n{log}"
        );
    }

    // The wrong secret: the issuer's refusal, on one line, and no signature.
    let bad = work.path().join("bad.sig");
    let r = oob_sign(
        &mock,
        model_signing(),
        os(&["--client-secret", "wrong"]),
        &bad,
        &model,
    );
    assert_eq!(r.code(), Some(1), "{r}");
    r.assert_stderr_contains("invalid_client");
    assert!(!bad.exists());
}

/// A one-route Google Cloud metadata server on loopback handing out `token`.
fn fake_gcp_metadata(token: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let host = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let mut head = String::new();
            let mut reader = BufReader::new(s.try_clone().expect("clone"));
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let ok = head
                .starts_with("GET /computeMetadata/v1/instance/service-accounts/default/identity?")
                && head.contains("audience=sigstore")
                && head
                    .to_ascii_lowercase()
                    .contains("metadata-flavor: google");
            let (status, body) = if ok {
                ("200 OK", token.as_str())
            } else {
                ("403 Forbidden", "")
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    host
}

#[test]
fn ambient_google_cloud_credentials() {
    let Some(mock) = MockSigstore::start(&MockOptions::default()) else {
        return;
    };
    let work = tempdir();
    let model = make_small_model(work.path(), "model");
    let sa = "builder@project.iam.gserviceaccount.com";
    let host = fake_gcp_metadata(identity_token(
        "https://accounts.google.com",
        sa,
        "sigstore",
        600,
    ));

    let sig = work.path().join("gcp.sig");
    let mut cmd = model_signing();
    for v in AMBIENT_VARS {
        cmd.env_remove(v);
    }
    cmd.env("GCE_METADATA_HOST", &host);
    let r = run(cmd.args(args![
        "sign",
        "sigstore",
        "--trust-config",
        &mock.trust_config,
        "--use-ambient-credentials",
        "--signature",
        &sig,
        &model
    ]));
    r.assert_success().assert_stderr_contains("Google Cloud");
    verify_ours(
        &mock.trust_config,
        &sig,
        &model,
        sa,
        "https://accounts.google.com",
    )
    .assert_success();
}

#[test]
fn help_lists_the_sigstore_flags() {
    let r = ours(args!["sign", "sigstore", "--help"]);
    r.assert_success();
    for flag in [
        "--use-staging",
        "--trust-config",
        "--identity-token",
        "--use-ambient-credentials",
        "--oauth-force-oob",
        "--client-id",
        "--client-secret",
        "SIGSTORE_ID_TOKEN",
    ] {
        r.assert_stdout_contains(flag);
    }
}

/// Kept for symmetry with other suites: the mock directory must hold our own server.
#[test]
fn mock_server_is_ours() {
    let server: PathBuf = repo_root().join("tests/mock-sigstore/server.js");
    let text = std::fs::read_to_string(&server).expect("tests/mock-sigstore/server.js");
    assert!(text.contains("@sigstore/mock"));
    let pkg = std::fs::read_to_string(repo_root().join("tests/mock-sigstore/package.json"))
        .expect("package.json");
    assert!(
        pkg.contains(r#""@sigstore/mock": "0.13.0""#),
        "pinned exactly: {pkg}"
    );
}

/// A log that records someone else's payload: the bundle could never verify, so signing must fail
/// and leave no file (it used to warn, print "Signing succeeded" and write the bundle).
#[test]
fn a_log_entry_for_another_payload_fails_signing() {
    let Some(mock) = MockSigstore::start(&MockOptions {
        rekor_wrong_payload: true,
        ..Default::default()
    }) else {
        return;
    };
    let work = tempdir();
    let model = make_small_model(work.path(), "model");
    let sig = work.path().join("model.sig");
    for level in ["INFO", "ERROR"] {
        let mut a = args!["--log-level", level];
        a.extend(args![
            "sign",
            "sigstore",
            "--trust-config",
            &mock.trust_config,
            "--identity-token",
            identity_token(ISSUER, EMAIL, "sigstore", 600),
            "--signature",
            &sig,
            &model
        ]);
        let r = ours(a);
        r.assert_exit(1)
            .assert_stderr_contains("Signing failed with error")
            .assert_stderr_contains("the log entry records the hash of another payload");
        assert!(!r.stdout.contains("Signing succeeded"), "{r}");
        assert!(!sig.exists(), "a bundle was written: {r}");
    }
}

/// A token from Sigstore's Dex federation: Fulcio certifies the upstream connector as the issuer,
/// so that is what the signer expects, reports, and what verification needs.
#[test]
fn federated_token_names_the_certified_connector() {
    let Some(mock) = MockSigstore::start(&MockOptions::default()) else {
        return;
    };
    let work = tempdir();
    let model = make_small_model(work.path(), "model");
    let sig = work.path().join("model.sig");
    let dex = "https://oauth2.sigstore.dev/auth";
    let connector = "https://github.com/login/oauth";
    let now = unix_now();
    let token = mint_jwt(&serde_json::json!({
        "iss": dex, "sub": "CgQxMjM0EiZodHRwczovL2dpdGh1Yi5jb20vbG9naW4vb2F1dGg", "aud": "sigstore",
        "email": EMAIL, "email_verified": true, "iat": now, "nbf": now, "exp": now + 600,
        "federated_claims": {"connector_id": connector, "user_id": "1234"},
    }));
    let r = sign_ours(&mock.trust_config, &token, &sig, &model);
    r.assert_success();
    assert!(!r.stderr.contains("WARN"), "{r}");
    r.assert_stderr_contains(&format!("signed as {EMAIL} ({connector})"))
        .assert_stderr_contains(&format!(
            "--identity {EMAIL} --identity-provider {connector}"
        ));
    verify_ours(&mock.trust_config, &sig, &model, EMAIL, connector).assert_success();
    // The JSON report names what a verifier must pass.
    let json_sig = work.path().join("json.sig");
    let r = ours(args![
        "sign",
        "sigstore",
        "--output",
        "json",
        "--trust-config",
        &mock.trust_config,
        "--identity-token",
        &token,
        "--signature",
        &json_sig,
        &model
    ]);
    r.assert_success();
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    assert_eq!(report["signed"], true, "{r}");
    assert_eq!(report["method"], "sigstore");
    assert_eq!(report["identity"], EMAIL);
    assert_eq!(report["identity_provider"], connector);
    verify_ours(&mock.trust_config, &json_sig, &model, EMAIL, dex)
        .assert_exit(1)
        .assert_stderr_contains("issuer mismatch");
}

/// Fulcio receives the identity token: a signing config that sends it over plain http to a host
/// other than loopback is refused before anything is hashed or sent.
#[test]
fn plain_http_services_off_loopback_are_refused() {
    let Some(mock) = MockSigstore::start(&MockOptions::default()) else {
        return;
    };
    let work = tempdir();
    let model = make_small_model(work.path(), "model");
    let mut tc = read_json(&mock.trust_config);
    tc["signingConfig"]["caUrls"][0]["url"] = "http://fulcio.example.test".into();
    let remote = work.path().join("remote.json");
    std::fs::write(&remote, tc.to_string()).expect("write trust config");
    let sig = work.path().join("model.sig");
    let r = sign_ours(
        &remote,
        &identity_token(ISSUER, EMAIL, "sigstore", 600),
        &sig,
        &model,
    );
    r.assert_exit(1)
        .assert_stderr_contains("http://fulcio.example.test");
    assert!(!r.stderr.contains("hashed"), "{r}");
    assert!(!sig.exists());
    assert!(
        !mock.log_text().contains("signingCert"),
        "a request was sent"
    );
}
