//! RFC 3161 trusted timestamps on key, certificate (and, through the same code, PKCS#11) bundles
//! (issue 14), against the RFC 3161 TSA of the loopback Sigstore mock (`tests/mock-sigstore`,
//! `POST {url}/api/v1/timestamp`).
//!
//! What is covered:
//!
//! * **Signing** with `--tsa-url` (one timestamp per TSA, in order): the bundle's
//!   `verificationMaterial.timestampVerificationData.rfc3161Timestamps[i].signedTimestamp` is a
//!   DER `TimeStampResp` whose imprint is SHA-256 of the raw DSSE signature, with a nonce and the
//!   TSA certificate (certReq), checked independently with `openssl ts -verify`.
//! * **Verifying** with `--tsa-certificate-chain`, `--trusted-root` and `--trust-config`; the
//!   `--output json` report's `timestamps` list; `--require-timestamp`.
//! * **Certificate validity at the timestamp**: a leaf valid only last week, signed under
//!   libfaketime (`-7d`, both our binary and the mock TSA), verifies today thanks to its
//!   timestamp, and fails without a trusted TSA.
//! * **Failures**, each exit 1 with one line naming the problem and no panic: a tampered
//!   timestamp (TSTInfo, imprint, TSA signature), a timestamp copied from another signature, an
//!   untrusted TSA, an unreachable or failing TSA at signing time (no signature file is left, an
//!   existing one is untouched), plain http to a non-loopback TSA.
//! * **Compatibility**: Python model-signing 1.1.1 (which ignores the field) verifies our
//!   timestamped key and certificate bundles; a bundle in the Go port's protojson shape verifies;
//!   the shared Sigstore vector's timestamp has the imprint we compute.
//!
//! Some tests build the timestamp themselves (`openssl ts -query` POSTed to the mock, the response
//! spliced into a bundle our CLI signed without one), so the verifier is tested independently of
//! the signer, and the Python half works with any build of ours.
//!
//! Needs `MS_MOCK_SIGSTORE_DIR`, libfaketime (apt `faketime`) for the clock-shifted tests and
//! `MS_PEER_PY_1_1_1` for the Python half, all provided by `scripts/test`; without them the tests
//! skip with a note, unless `MS_REQUIRE_PEERS=1`.

mod common;
use common::*;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const DAY: i64 = 86_400;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).expect("read bundle")).expect("bundle is JSON")
}

fn write_json(path: &Path, v: &Value) {
    fs::write(path, serde_json::to_vec(v).expect("serialize bundle")).expect("write bundle");
}

/// The raw (base64-decoded) DSSE signature of a bundle.
fn dsse_signature(bundle: &Value) -> Vec<u8> {
    B64.decode(
        bundle["dsseEnvelope"]["signatures"][0]["sig"]
            .as_str()
            .expect("dsseEnvelope.signatures[0].sig"),
    )
    .expect("sig is base64")
}

/// The decoded `signedTimestamp`s of a bundle (empty when it has none).
fn timestamps(bundle: &Value) -> Vec<Vec<u8>> {
    bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    B64.decode(t["signedTimestamp"].as_str().expect("signedTimestamp"))
                        .expect("signedTimestamp is base64")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces the bundle's timestamps with `stamps` (DER `TimeStampResp`s).
fn set_timestamps(bundle: &mut Value, stamps: &[Vec<u8>]) {
    let list: Vec<Value> = stamps
        .iter()
        .map(|d| serde_json::json!({ "signedTimestamp": B64.encode(d) }))
        .collect();
    bundle["verificationMaterial"]["timestampVerificationData"] =
        serde_json::json!({ "rfc3161Timestamps": list });
}

/// The lowercase stderr line carrying the error (`... failed with error: ...`), or the whole
/// stderr when there is no such line.
fn error_line(r: &Run) -> String {
    r.stderr
        .lines()
        .find(|l| l.contains("failed with error"))
        .unwrap_or(&r.stderr)
        .to_lowercase()
}

/// Asserts exit code 1, no panic, and that the error line contains every word
/// (case-insensitive).
#[track_caller]
fn assert_fails_with(r: &Run, words: &[&str]) {
    r.assert_exit(1);
    assert!(
        !r.stderr.contains("panicked") && !r.stdout.contains("panicked"),
        "panic text in the output\n{r}"
    );
    let line = error_line(r);
    for w in words {
        assert!(
            line.contains(&w.to_lowercase()),
            "expected the error line to mention {w:?}: {line:?}\n{r}"
        );
    }
}

/// Asserts that a failed signing left no signature file at `sig`.
#[track_caller]
fn assert_no_file(sig: &Path) {
    assert!(
        !sig.exists(),
        "a failed signing left {} behind",
        sig.display()
    );
    let leftovers: Vec<_> = fs::read_dir(sig.parent().expect("sig has a parent"))
        .expect("read sig dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(&*sig.file_name().unwrap().to_string_lossy()))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// `openssl ts -reply -in DER -text` of a `TimeStampResp`.
fn ts_text(dir: &Path, der: &[u8]) -> String {
    let f = dir.join(format!("ts-{}.der", hex::encode(&Sha256::digest(der)[..6])));
    fs::write(&f, der).expect("write timestamp");
    openssl(dir, args!["ts", "-reply", "-in", &f, "-text"]).stdout
}

/// The `Message data:` (the imprint's hash) of an `openssl ts -reply -text` dump.
fn imprint_of(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut lines = text.lines().skip_while(|l| !l.starts_with("Message data:"));
    lines
        .next()
        .unwrap_or_else(|| panic!("no Message data in {text}"));
    for l in lines {
        // `    0000 - 6b 96 1f 4b db 8d 52 b0-16 68 26 66 16 b9 cc 8e   k..K..R..h&f....`
        let Some((offset, rest)) = l.trim_start().split_once(" - ") else {
            break;
        };
        if offset.len() != 4 || !offset.chars().all(|c| c.is_ascii_hexdigit()) {
            break;
        }
        let hexpart: String = rest.chars().take(47).collect();
        for tok in hexpart.replace('-', " ").split_whitespace() {
            out.push(u8::from_str_radix(tok, 16).expect("hex byte"));
        }
    }
    out
}

/// The `Time stamp:` line of an `openssl ts -reply -text` dump.
fn gen_time_of(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("Time stamp: "))
        .unwrap_or_else(|| panic!("no Time stamp in {text}"))
        .to_string()
}

/// Parses openssl's `Oct 10 02:12:20 2025 GMT` (seconds may have a fraction, the day may be
/// space-padded) into Unix seconds.
fn parse_openssl_date(s: &str) -> i64 {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = s.split_whitespace().collect();
    let parsed = (|| {
        if parts.len() != 5 || parts[4] != "GMT" {
            return None;
        }
        let month = MONTHS.iter().position(|m| *m == parts[0])? + 1;
        let day: u32 = parts[1].parse().ok()?;
        let time = parts[2].split('.').next()?;
        parse_utc(&format!("{}-{month:02}-{day:02}T{time}Z", parts[3]))
    })();
    parsed.unwrap_or_else(|| panic!("not an openssl date: {s:?}"))
}

/// `openssl ts -verify`: the response is over SHA-256 of `data` and chains to the last
/// certificate of `chain` (the TSA's PEM chain, signing certificate first).
fn openssl_ts_verify(dir: &Path, der: &[u8], data: &[u8], chain: &Path) -> Run {
    let resp = dir.join("verify.tsr");
    let data_file = dir.join("verify.data");
    let root = dir.join("verify-root.pem");
    fs::write(&resp, der).expect("write tsr");
    fs::write(&data_file, data).expect("write data");
    let pem = fs::read_to_string(chain).expect("read chain");
    let last = pem
        .rfind("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    fs::write(&root, &pem[last..]).expect("write root");
    run(Command::new("openssl").current_dir(dir).args(args![
        "ts",
        "-verify",
        "-data",
        &data_file,
        "-in",
        &resp,
        "-CAfile",
        &root,
        "-untrusted",
        chain
    ]))
}

/// `POST url` over plain HTTP/1.0 on loopback (no chunked answers); returns (status, body).
fn http_post(url: &str, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("write head");
    s.write_all(body).expect("write body");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, raw[split + 4..].to_vec())
}

/// A timestamp from `mock`'s TSA over SHA-256 of `data`, requested with `openssl ts -query`
/// (nonce, certReq), independently of our signer.
fn openssl_timestamp(mock: &MockSigstore, dir: &Path, data: &[u8]) -> Vec<u8> {
    let req = dir.join("req.tsq");
    openssl(
        dir,
        args![
            "ts",
            "-query",
            "-digest",
            hex::encode(Sha256::digest(data)),
            "-sha256",
            "-cert",
            "-out",
            &req
        ],
    );
    let (status, body) = http_post(
        &mock.tsa_url(),
        "application/timestamp-query",
        &fs::read(&req).expect("read tsq"),
    );
    assert!(
        (200..300).contains(&status),
        "the mock TSA answered {status}: {}\n--- log ---\n{}",
        String::from_utf8_lossy(&body),
        mock.log_text()
    );
    body
}

/// Adds a timestamp from `mock` (via [`openssl_timestamp`]) to the bundle at `sig`, after any
/// it already has.
fn add_openssl_timestamp(mock: &MockSigstore, sig: &Path) {
    let mut b = read_json(sig);
    let mut stamps = timestamps(&b);
    let dir = sig.parent().expect("sig has a parent");
    stamps.push(openssl_timestamp(mock, dir, &dsse_signature(&b)));
    set_timestamps(&mut b, &stamps);
    write_json(sig, &b);
}

/// `verify ... --output json` report.
fn json_report(r: &Run) -> Value {
    serde_json::from_str(r.stdout.trim())
        .unwrap_or_else(|e| panic!("--output json printed no JSON ({e})\n{r}"))
}

/// The report's `timestamps`, checked to be a list.
fn report_timestamps(r: &Run) -> Vec<Value> {
    let rep = json_report(r);
    rep["timestamps"]
        .as_array()
        .unwrap_or_else(|| panic!("the report has no timestamps list: {rep}\n{r}"))
        .clone()
}

/// Checks one verified entry of the report: `verified: true`, `error: null`, the mock TSA's
/// subject, and a `time` within `slack` seconds of `expected` (Unix).
#[track_caller]
fn check_verified_entry(t: &Value, expected: i64, slack: i64) {
    assert_eq!(t["verified"], Value::Bool(true), "{t}");
    assert!(
        t["error"].is_null(),
        "a verified timestamp has no error: {t}"
    );
    let tsa = t["tsa"].as_str().unwrap_or_else(|| panic!("tsa: {t}"));
    assert!(
        tsa.contains("tsa signing") && tsa.contains("sigstore.mock"),
        "the mock TSA's subject (CN=tsa signing, O=sigstore.mock): {t}"
    );
    let time = t["time"].as_str().unwrap_or_else(|| panic!("time: {t}"));
    assert!(
        time.ends_with('Z') || time.ends_with("+00:00"),
        "RFC 3339 UTC: {time}"
    );
    let at = parse_utc(time).unwrap_or_else(|| panic!("time is not RFC 3339: {time}"));
    assert!(
        (at - expected).abs() <= slack,
        "time {time} is {}s away from the expected {}",
        at - expected,
        openssl_time(expected)
    );
}

struct KeySetup {
    dir: TempDir,
    model: PathBuf,
    key: KeyPair,
}

fn key_setup() -> KeySetup {
    let dir = tempdir();
    let model = make_small_model(dir.path(), "model");
    let key = gen_ec_key(dir.path(), "key", Curve::P256);
    KeySetup { dir, model, key }
}

impl KeySetup {
    fn sig(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `verify key` of the model against `sig`, trusting the TSA chain `chain`.
    fn verify_trusting(&self, sig: &Path, chain: &str) -> Run {
        verify_key(
            &self.model,
            &self.key,
            sig,
            &["--tsa-certificate-chain", chain],
        )
    }
}

fn start_mock() -> Option<MockSigstore> {
    MockSigstore::start(&MockOptions::default())
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

/// `sign certificate` arguments (leaf, no chain) for the model, before `extra`.
fn cert_sign_args(
    key: &KeyPair,
    cert: &Path,
    sig: &Path,
    model: &Path,
    extra: &[&str],
) -> Vec<std::ffi::OsString> {
    let mut a = args![
        "sign",
        "certificate",
        "--private-key",
        &key.private_key,
        "--signing-certificate",
        cert,
        "--signature",
        sig
    ];
    a.extend(extra.iter().map(std::ffi::OsString::from));
    a.push(model.into());
    a
}

fn cert_verify_args(
    root: &Path,
    sig: &Path,
    model: &Path,
    extra: &[&str],
) -> Vec<std::ffi::OsString> {
    let mut a = args![
        "verify",
        "certificate",
        "--certificate-chain",
        root,
        "--signature",
        sig
    ];
    a.extend(extra.iter().map(std::ffi::OsString::from));
    a.push(model.into());
    a
}

/// A root valid from 30 days ago and a leaf under it valid only from 8 to 6 days ago.
struct LastWeek {
    root: Ca,
    key: KeyPair,
    cert: PathBuf,
}

fn last_week_pki(dir: &Path) -> LastWeek {
    let root = gen_root_ca_at("-30d", dir, "old-root", Curve::P256);
    let key = gen_ec_key(dir, "lw-key", Curve::P256);
    let now = unix_now();
    let cert = gen_leaf_cert(
        dir,
        "last-week",
        &key,
        &root,
        &LeafOptions {
            validity: Validity::Window {
                not_before: now - 8 * DAY,
                not_after: now - 6 * DAY,
            },
            ..LeafOptions::default()
        },
    );
    LastWeek { root, key, cert }
}

// ---------------------------------------------------------------------------
// Test infrastructure: faketime, the mock TSA, the chain file
// ---------------------------------------------------------------------------

/// `notBefore` of a DER certificate (Unix seconds), via openssl.
fn not_before(dir: &Path, der: &[u8]) -> i64 {
    let f = dir.join(format!(
        "cert-{}.der",
        hex::encode(&Sha256::digest(der)[..6])
    ));
    fs::write(&f, der).expect("write cert");
    let out = openssl(
        dir,
        args![
            "x509",
            "-inform",
            "DER",
            "-in",
            &f,
            "-noout",
            "-startdate",
            "-dateopt",
            "iso_8601"
        ],
    )
    .stdout;
    let v = out
        .trim()
        .strip_prefix("notBefore=")
        .unwrap_or_else(|| panic!("openssl -startdate: {out}"));
    parse_utc(v).unwrap_or_else(|| panic!("bad date {v}"))
}

#[test]
fn faketime_shifts_the_mock_tsa_clock() {
    if !faketime_available() {
        return;
    }
    let Some(shifted) = MockSigstore::start(&MockOptions {
        faketime: Some("-7d".into()),
        ..Default::default()
    }) else {
        return;
    };
    let real = start_mock().expect("a second mock");
    let dir = tempdir();
    let now = unix_now();
    for der in shifted.tsa_chain_der() {
        let nb = not_before(dir.path(), &der);
        assert!(
            (nb - (now - 7 * DAY)).abs() < 3600,
            "the faked mock's TSA certificate starts {} (expected about 7 days ago)",
            openssl_time(nb)
        );
    }
    for der in real.tsa_chain_der() {
        let nb = not_before(dir.path(), &der);
        assert!(
            (nb - now).abs() < 3600,
            "the real mock starts now: {}",
            openssl_time(nb)
        );
    }
    // Its timestamps carry the shifted time as well.
    let stamp = openssl_timestamp(&shifted, dir.path(), b"some signature");
    let text = ts_text(dir.path(), &stamp);
    assert!(text.contains("Status: Granted."), "{text}");
    assert_eq!(
        imprint_of(&text),
        Sha256::digest(b"some signature").to_vec()
    );
    let gen = parse_openssl_date(&gen_time_of(&text));
    assert!(
        (gen - (now - 7 * DAY)).abs() < 3600,
        "the faked mock stamps about 7 days ago: {}",
        openssl_time(gen)
    );
}

#[test]
fn faketime_shifts_our_binary_and_openssl() {
    if !faketime_available() {
        return;
    }
    let s = key_setup();
    let dir = s.dir.path();
    let lw = last_week_pki(dir);
    // The root made under faketime -30d starts 30 days ago.
    let pem = fs::read_to_string(&lw.root.cert).expect("root");
    let der = B64
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .expect("PEM base64");
    let nb = not_before(dir, &der);
    assert!(
        (nb - (unix_now() - 30 * DAY)).abs() < 3600,
        "{}",
        openssl_time(nb)
    );
    // Our binary signs with the last-week certificate at last week's time, and that bundle
    // verifies at last week's time but not today (no timestamp: the chain must be valid now).
    let sig = s.sig("lw.sig");
    ms_at(
        "-7d",
        cert_sign_args(&lw.key, &lw.cert, &sig, &s.model, &[]),
    )
    .assert_success();
    ms_at("-7d", cert_verify_args(&lw.root.cert, &sig, &s.model, &[])).assert_success();
    let r = ms(cert_verify_args(&lw.root.cert, &sig, &s.model, &[]));
    r.assert_exit(1);
    assert!(!r.stderr.contains("panicked"), "{r}");
}

#[test]
fn mock_tsa_chain_pem_is_the_trusted_roots_chain() {
    let Some(mock) = start_mock() else {
        return;
    };
    let pem = mock.tsa_chain_pem();
    let text = fs::read_to_string(&pem).expect("read chain");
    assert_eq!(
        text.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{text}"
    );
    let dir = tempdir();
    let chain = mock.tsa_chain_der();
    let leaf = dir.path().join("leaf.der");
    fs::write(&leaf, &chain[0]).expect("write");
    let leaf_text = openssl(
        dir.path(),
        args!["x509", "-inform", "DER", "-in", &leaf, "-noout", "-text"],
    )
    .stdout;
    assert!(
        leaf_text.contains("Time Stamping") && leaf_text.contains("tsa signing"),
        "the first certificate is the TSA signing certificate (EKU timeStamping)\n{leaf_text}"
    );
    let root = dir.path().join("root.pem");
    fs::write(&root, pem_encode("CERTIFICATE", chain.last().unwrap())).expect("write");
    openssl(
        dir.path(),
        args![
            "verify",
            "-CAfile",
            &root,
            "-purpose",
            "timestampsign",
            &pem
        ],
    );
    // A timestamp of the mock verifies with openssl against that chain.
    let stamp = openssl_timestamp(&mock, dir.path(), b"data");
    openssl_ts_verify(dir.path(), &stamp, b"data", &pem).assert_success();
    openssl_ts_verify(dir.path(), &stamp, b"other data", &pem).assert_exit(1);
}

// ---------------------------------------------------------------------------
// The shared Sigstore vector
// ---------------------------------------------------------------------------

#[test]
fn shared_vector_timestamp_imprint_is_sha256_of_the_signature() {
    let Some(vectors) = vectors() else {
        return;
    };
    let sig = vectors.join("model-transparency/scripts/tests/v1.1.0-sigstore/model.sig");
    let b = read_json(&sig);
    let stamps = timestamps(&b);
    assert_eq!(stamps.len(), 1, "one RFC 3161 timestamp");
    let dir = tempdir();
    let text = ts_text(dir.path(), &stamps[0]);
    assert!(text.contains("Status: Granted."), "{text}");
    assert!(text.contains("Hash Algorithm: sha256"), "{text}");
    assert!(text.contains("Nonce: 0x"), "a nonce: {text}");
    assert_eq!(
        hex::encode(imprint_of(&text)),
        hex::encode(Sha256::digest(dsse_signature(&b))),
        "the imprint is SHA-256 of the raw DSSE signature"
    );
    assert_eq!(gen_time_of(&text), "Oct 10 02:12:20 2025 GMT");
    assert_eq!(
        parse_openssl_date(&gen_time_of(&text)),
        parse_utc("2025-10-10T02:12:20Z").unwrap()
    );
}

// ---------------------------------------------------------------------------
// Key method
// ---------------------------------------------------------------------------

#[test]
fn key_sign_with_tsa_url_embeds_a_timestamp_that_verifies() {
    let Some(mock) = start_mock() else {
        return;
    };
    let s = key_setup();
    let sig = s.sig("model.sig");
    let chain = mock.tsa_chain_pem();
    sign_key(&s.model, &s.key, &sig, &["--tsa-url", &mock.tsa_url()]).assert_success();
    let b = read_json(&sig);
    assert_eq!(
        b["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    let stamps = timestamps(&b);
    assert_eq!(stamps.len(), 1, "one timestamp: {b}");
    // Independently of our verifier: over SHA-256 of the raw signature, with a nonce and the TSA
    // certificate, chaining to the mock TSA.
    let text = ts_text(s.dir.path(), &stamps[0]);
    assert_eq!(
        imprint_of(&text),
        Sha256::digest(dsse_signature(&b)).to_vec()
    );
    assert!(text.contains("Nonce: 0x"), "a nonce: {text}");
    openssl_ts_verify(s.dir.path(), &stamps[0], &dsse_signature(&b), &chain).assert_success();
    assert!(
        mock.log_text().contains("POST /api/v1/timestamp 201"),
        "{}",
        mock.log_text()
    );

    let chain = chain.to_str().unwrap().to_string();
    s.verify_trusting(&sig, &chain)
        .assert_success()
        .assert_stdout_contains("Verification succeeded");
    let r = verify_key(
        &s.model,
        &s.key,
        &sig,
        &["--tsa-certificate-chain", &chain, "--output", "json"],
    );
    r.assert_success();
    let ts = report_timestamps(&r);
    assert_eq!(ts.len(), 1, "{ts:?}");
    check_verified_entry(&ts[0], unix_now(), 600);
}

#[test]
fn key_two_tsa_urls_give_two_timestamps_in_order() {
    let Some(a) = start_mock() else {
        return;
    };
    let b_mock = start_mock().expect("a second mock");
    let s = key_setup();
    let sig = s.sig("model.sig");
    sign_key(
        &s.model,
        &s.key,
        &sig,
        &["--tsa-url", &a.tsa_url(), "--tsa-url", &b_mock.tsa_url()],
    )
    .assert_success();
    let b = read_json(&sig);
    let stamps = timestamps(&b);
    assert_eq!(stamps.len(), 2, "one timestamp per TSA: {b}");
    let data = dsse_signature(&b);
    let (ca, cb) = (a.tsa_chain_pem(), b_mock.tsa_chain_pem());
    openssl_ts_verify(s.dir.path(), &stamps[0], &data, &ca).assert_success();
    openssl_ts_verify(s.dir.path(), &stamps[1], &data, &cb).assert_success();
    openssl_ts_verify(s.dir.path(), &stamps[0], &data, &cb).assert_exit(1);

    let (ca, cb) = (ca.to_str().unwrap(), cb.to_str().unwrap());
    let r = verify_key(
        &s.model,
        &s.key,
        &sig,
        &[
            "--tsa-certificate-chain",
            ca,
            "--tsa-certificate-chain",
            cb,
            "--output",
            "json",
        ],
    );
    r.assert_success();
    let ts = report_timestamps(&r);
    assert_eq!(ts.len(), 2, "{ts:?}");
    for t in &ts {
        check_verified_entry(t, unix_now(), 600);
    }
    // Trusting only one of the two TSAs: the other timestamp fails, and so does verification.
    let r = verify_key(&s.model, &s.key, &sig, &["--tsa-certificate-chain", ca]);
    assert_fails_with(&r, &["timestamp"]);
}

#[test]
fn key_bundle_without_timestamps_reports_an_empty_list() {
    let s = key_setup();
    let sig = s.sig("model.sig");
    sign_key(&s.model, &s.key, &sig, &[]).assert_success();
    assert!(timestamps(&read_json(&sig)).is_empty());
    let r = verify_key(&s.model, &s.key, &sig, &["--output", "json"]);
    r.assert_success();
    assert!(report_timestamps(&r).is_empty());
}

#[test]
fn key_verify_checks_a_timestamp_obtained_with_openssl() {
    // The verifier alone: the timestamp comes from `openssl ts -query`, not from our signer.
    let Some(mock) = start_mock() else {
        return;
    };
    let s = key_setup();
    let sig = s.sig("model.sig");
    sign_key(&s.model, &s.key, &sig, &[]).assert_success();
    add_openssl_timestamp(&mock, &sig);
    let chain = mock.tsa_chain_pem();
    let chain = chain.to_str().unwrap();
    let r = verify_key(
        &s.model,
        &s.key,
        &sig,
        &["--tsa-certificate-chain", chain, "--output", "json"],
    );
    r.assert_success();
    let ts = report_timestamps(&r);
    assert_eq!(ts.len(), 1, "{ts:?}");
    check_verified_entry(&ts[0], unix_now(), 600);
}

#[test]
fn key_tsas_come_from_trusted_root_or_trust_config() {
    let Some(mock) = start_mock() else {
        return;
    };
    let s = key_setup();
    let sig = s.sig("model.sig");
    sign_key(&s.model, &s.key, &sig, &["--tsa-url", &mock.tsa_url()]).assert_success();
    let root = mock.trusted_root.to_str().unwrap().to_string();
    let config = mock.trust_config.to_str().unwrap().to_string();
    verify_key(&s.model, &s.key, &sig, &["--trusted-root", &root]).assert_success();
    verify_key(&s.model, &s.key, &sig, &["--trust-config", &config]).assert_success();
    // The default trust (the embedded Sigstore production root) does not know the mock TSA.
    let r = verify_key(&s.model, &s.key, &sig, &[]);
    assert_fails_with(&r, &["timestamp"]);
    // Another stack's trusted root names another TSA.
    let other = start_mock().expect("a second mock");
    let other_root = other.trusted_root.to_str().unwrap().to_string();
    let r = verify_key(&s.model, &s.key, &sig, &["--trusted-root", &other_root]);
    assert_fails_with(&r, &["timestamp"]);
}

// ---------------------------------------------------------------------------
// Certificate method: validity at the timestamp
// ---------------------------------------------------------------------------

#[test]
fn certificate_expired_since_signing_verifies_at_the_timestamp() {
    if !faketime_available() {
        return;
    }
    let Some(mock) = MockSigstore::start(&MockOptions {
        faketime: Some("-7d".into()),
        ..Default::default()
    }) else {
        return;
    };
    let s = key_setup();
    let dir = s.dir.path();
    let lw = last_week_pki(dir);
    let sig = s.sig("model.sig");
    // Signed last week (our clock and the TSA's both 7 days back), when the leaf was valid.
    ms_at(
        "-7d",
        cert_sign_args(
            &lw.key,
            &lw.cert,
            &sig,
            &s.model,
            &["--tsa-url", &mock.tsa_url()],
        ),
    )
    .assert_success();
    let stamps = timestamps(&read_json(&sig));
    assert_eq!(stamps.len(), 1);

    // Today the leaf has expired, but the chain is checked at the timestamp's genTime.
    let chain = mock.tsa_chain_pem();
    let chain = chain.to_str().unwrap();
    ms(cert_verify_args(
        &lw.root.cert,
        &sig,
        &s.model,
        &["--tsa-certificate-chain", chain],
    ))
    .assert_success()
    .assert_stdout_contains("Verification succeeded");
    let r = ms(cert_verify_args(
        &lw.root.cert,
        &sig,
        &s.model,
        &["--tsa-certificate-chain", chain, "--output", "json"],
    ));
    r.assert_success();
    let ts = report_timestamps(&r);
    assert_eq!(ts.len(), 1, "{ts:?}");
    check_verified_entry(&ts[0], unix_now() - 7 * DAY, 3600);
    // With --require-timestamp as well.
    ms(cert_verify_args(
        &lw.root.cert,
        &sig,
        &s.model,
        &["--tsa-certificate-chain", chain, "--require-timestamp"],
    ))
    .assert_success();

    // Without a trusted TSA the timestamp does not verify: exit 1.
    let r = ms(cert_verify_args(&lw.root.cert, &sig, &s.model, &[]));
    assert_fails_with(&r, &["timestamp"]);
    // Trusting another TSA: the same.
    let other = start_mock().expect("a second mock");
    let other_chain = other.tsa_chain_pem();
    let r = ms(cert_verify_args(
        &lw.root.cert,
        &sig,
        &s.model,
        &["--tsa-certificate-chain", other_chain.to_str().unwrap()],
    ));
    assert_fails_with(&r, &["timestamp"]);
    // Without the timestamp the expired leaf fails (today's rule).
    let mut b = read_json(&sig);
    b["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("timestampVerificationData");
    let bare = s.sig("bare.sig");
    write_json(&bare, &b);
    ms(cert_verify_args(
        &lw.root.cert,
        &bare,
        &s.model,
        &["--tsa-certificate-chain", chain],
    ))
    .assert_exit(1);
}

#[test]
fn certificate_sign_with_tsa_url_verifies_now() {
    let Some(mock) = start_mock() else {
        return;
    };
    let s = key_setup();
    let pki = Pki::generate(&s.dir.path().join("pki"), Curve::P256, Curve::P256);
    let sig = s.sig("model.sig");
    let mut a = cert_sign_args(
        &pki.leaf_key,
        &pki.leaf_cert,
        &sig,
        &s.model,
        &["--tsa-url", &mock.tsa_url()],
    );
    a.splice(2..2, args!["--certificate-chain", &pki.intermediate.cert]);
    ms(a).assert_success();
    let b = read_json(&sig);
    assert_eq!(timestamps(&b).len(), 1);
    let chain = mock.tsa_chain_pem();
    let r = ms(cert_verify_args(
        &pki.root.cert,
        &sig,
        &s.model,
        &[
            "--tsa-certificate-chain",
            chain.to_str().unwrap(),
            "--output",
            "json",
        ],
    ));
    r.assert_success();
    let ts = report_timestamps(&r);
    assert_eq!(ts.len(), 1);
    check_verified_entry(&ts[0], unix_now(), 600);
}

// ---------------------------------------------------------------------------
// Bad timestamps
// ---------------------------------------------------------------------------

/// Signs with a timestamp from `mock` and returns (setup, sig, chain path).
fn stamped_key_bundle(mock: &MockSigstore) -> (KeySetup, PathBuf, String) {
    let s = key_setup();
    let sig = s.sig("model.sig");
    sign_key(&s.model, &s.key, &sig, &["--tsa-url", &mock.tsa_url()]).assert_success();
    let chain = mock.tsa_chain_pem().to_str().unwrap().to_string();
    (s, sig, chain)
}

#[test]
fn tampered_timestamp_fails() {
    let Some(mock) = start_mock() else {
        return;
    };
    let (s, sig, chain) = stamped_key_bundle(&mock);
    s.verify_trusting(&sig, &chain).assert_success();
    let b = read_json(&sig);
    let der = timestamps(&b).remove(0);
    let imprint = Sha256::digest(dsse_signature(&b)).to_vec();
    let find = |needle: &[u8]| {
        der.windows(needle.len())
            .position(|w| w == needle)
            .unwrap_or_else(|| panic!("{} not in the timestamp", hex::encode(needle)))
    };
    let cases = [
        // The TSTInfo's serial number (the mock's is DEADBEEF): its digest no longer matches
        // the signed messageDigest attribute.
        (
            "the TSTInfo serial number",
            find(&[0xDE, 0xAD, 0xBE, 0xEF]) + 2,
        ),
        // The imprint: another hash than the signature's.
        ("the message imprint", find(&imprint)),
        // The last byte of the DER: inside the TSA's ECDSA signature (SignerInfo comes last).
        ("the TSA signature", der.len() - 1),
    ];
    for (what, offset) in cases {
        let mut bad = der.clone();
        bad[offset] ^= 0x01;
        // The test's own tampering is caught by openssl too.
        openssl_ts_verify(s.dir.path(), &bad, &dsse_signature(&b), Path::new(&chain))
            .assert_exit(1);
        let mut tb = b.clone();
        set_timestamps(&mut tb, &[bad]);
        let tsig = s.sig("tampered.sig");
        write_json(&tsig, &tb);
        let r = s.verify_trusting(&tsig, &chain);
        assert_fails_with(&r, &["timestamp"]);
        eprintln!("tampered {what}: {}", error_line(&r));
    }
    // Garbage that is not DER at all.
    let mut tb = b.clone();
    set_timestamps(&mut tb, &[b"not a timestamp".to_vec()]);
    let tsig = s.sig("garbage.sig");
    write_json(&tsig, &tb);
    let r = s.verify_trusting(&tsig, &chain);
    assert_fails_with(&r, &["timestamp"]);
}

#[test]
fn timestamp_copied_from_another_signature_fails() {
    let Some(mock) = start_mock() else {
        return;
    };
    let (s, sig_a, chain) = stamped_key_bundle(&mock);
    let sig_b = s.sig("b.sig");
    sign_key(&s.model, &s.key, &sig_b, &["--tsa-url", &mock.tsa_url()]).assert_success();
    s.verify_trusting(&sig_b, &chain).assert_success();
    let a = read_json(&sig_a);
    let mut b = read_json(&sig_b);
    assert_ne!(
        dsse_signature(&a),
        dsse_signature(&b),
        "ECDSA signatures differ"
    );
    b["verificationMaterial"]["timestampVerificationData"] =
        a["verificationMaterial"]["timestampVerificationData"].clone();
    write_json(&sig_b, &b);
    let r = s.verify_trusting(&sig_b, &chain);
    assert_fails_with(&r, &["timestamp"]);
    // Added after a bundle's own, valid timestamp it still fails: every timestamp must verify.
    let sig_c = s.sig("c.sig");
    sign_key(&s.model, &s.key, &sig_c, &["--tsa-url", &mock.tsa_url()]).assert_success();
    let mut c = read_json(&sig_c);
    let mut stamps = timestamps(&c);
    stamps.extend(timestamps(&a));
    set_timestamps(&mut c, &stamps);
    write_json(&sig_c, &c);
    let r = s.verify_trusting(&sig_c, &chain);
    assert_fails_with(&r, &["timestamp"]);
}

#[test]
fn timestamp_from_an_untrusted_tsa_fails() {
    let Some(mock) = start_mock() else {
        return;
    };
    let other = start_mock().expect("a second mock");
    let (s, sig, _) = stamped_key_bundle(&mock);
    let other_chain = other.tsa_chain_pem();
    let r = verify_key(
        &s.model,
        &s.key,
        &sig,
        &["--tsa-certificate-chain", other_chain.to_str().unwrap()],
    );
    assert_fails_with(&r, &["timestamp"]);
    let r = verify_key(
        &s.model,
        &s.key,
        &sig,
        &[
            "--tsa-certificate-chain",
            other_chain.to_str().unwrap(),
            "--output",
            "json",
        ],
    );
    r.assert_exit(1);
    // The JSON report, when there is one, says which timestamp failed and why.
    if let Ok(rep) = serde_json::from_str::<Value>(r.stdout.trim()) {
        if let Some(ts) = rep["timestamps"].as_array() {
            assert_eq!(ts.len(), 1, "{rep}");
            assert_eq!(ts[0]["verified"], Value::Bool(false), "{rep}");
            assert!(ts[0]["error"].is_string(), "{rep}");
        }
    }
}

// ---------------------------------------------------------------------------
// TSA failures at signing time
// ---------------------------------------------------------------------------

#[test]
fn unreachable_tsa_fails_signing_and_leaves_no_signature() {
    let s = key_setup();
    let url = format!("http://127.0.0.1:{}/api/v1/timestamp", closed_port());
    let sig = s.sig("model.sig");
    let r = sign_key(
        &s.model,
        &s.key,
        &sig,
        &["--tsa-url", &url, "--tsa-timeout", "5"],
    );
    assert_fails_with(&r, &["TSA", &url]);
    assert_no_file(&sig);

    // An existing signature file is left untouched.
    let old = s.sig("old.sig");
    sign_key(&s.model, &s.key, &old, &[]).assert_success();
    let before = fs::read(&old).expect("read old");
    let r = sign_key(
        &s.model,
        &s.key,
        &old,
        &["--tsa-url", &url, "--tsa-timeout", "5"],
    );
    assert_fails_with(&r, &["TSA", &url]);
    assert_eq!(
        fs::read(&old).expect("read old"),
        before,
        "the old signature was changed"
    );

    // The certificate method too.
    let pki = Pki::generate(&s.dir.path().join("pki"), Curve::P256, Curve::P256);
    let csig = s.sig("cert.sig");
    let r = ms(cert_sign_args(
        &pki.leaf_key,
        &pki.leaf_cert,
        &csig,
        &s.model,
        &["--tsa-url", &url, "--tsa-timeout", "5"],
    ));
    assert_fails_with(&r, &["TSA", &url]);
    assert_no_file(&csig);
}

#[test]
fn failing_tsa_fails_signing() {
    let Some(mock) = start_mock() else {
        return;
    };
    let s = key_setup();
    let sig = s.sig("model.sig");
    // A 404.
    let url = format!("{}/api/v1/no-such-tsa", mock.url);
    let r = sign_key(&s.model, &s.key, &sig, &["--tsa-url", &url]);
    assert_fails_with(&r, &["TSA", &url]);
    assert_no_file(&sig);
    // A 2xx answer that is not a TimeStampResp (the OIDC discovery document, via POST: 404, so
    // use the Fulcio path, which answers 4xx to a timestamp query).
    let url = format!("{}/api/v2/signingCert", mock.url);
    let r = sign_key(&s.model, &s.key, &sig, &["--tsa-url", &url]);
    assert_fails_with(&r, &["TSA", &url]);
    assert_no_file(&sig);
    // The second of two TSAs failing fails the signing too.
    let bad = format!("http://127.0.0.1:{}/api/v1/timestamp", closed_port());
    let r = sign_key(
        &s.model,
        &s.key,
        &sig,
        &[
            "--tsa-url",
            &mock.tsa_url(),
            "--tsa-url",
            &bad,
            "--tsa-timeout",
            "5",
        ],
    );
    assert_fails_with(&r, &["TSA", &bad]);
    assert_no_file(&sig);
}

#[test]
fn plain_http_tsa_off_loopback_is_refused() {
    let s = key_setup();
    let sig = s.sig("model.sig");
    // TEST-NET-1: never routed; refused before any connection is tried.
    let url = "http://192.0.2.1/api/v1/timestamp";
    let r = sign_key(
        &s.model,
        &s.key,
        &sig,
        &["--tsa-url", url, "--tsa-timeout", "3"],
    );
    assert!(!r.success(), "plain http off loopback must be refused\n{r}");
    assert!(
        !r.stderr.contains("unexpected argument"),
        "--tsa-url is a known flag\n{r}"
    );
    assert!(!r.stderr.contains("panicked"), "{r}");
    assert!(
        r.stderr.contains("TSA") || r.stderr.contains("tsa-url"),
        "the message names the TSA\n{r}"
    );
    assert_no_file(&sig);
}

// ---------------------------------------------------------------------------
// --require-timestamp
// ---------------------------------------------------------------------------

#[test]
fn require_timestamp() {
    let s = key_setup();
    let plain = s.sig("plain.sig");
    sign_key(&s.model, &s.key, &plain, &[]).assert_success();
    verify_key(&s.model, &s.key, &plain, &[]).assert_success();
    let r = verify_key(&s.model, &s.key, &plain, &["--require-timestamp"]);
    assert_fails_with(&r, &["timestamp"]);

    let Some(mock) = start_mock() else {
        return;
    };
    let stamped = s.sig("stamped.sig");
    sign_key(&s.model, &s.key, &stamped, &["--tsa-url", &mock.tsa_url()]).assert_success();
    let chain = mock.tsa_chain_pem();
    let chain = chain.to_str().unwrap();
    verify_key(
        &s.model,
        &s.key,
        &stamped,
        &["--tsa-certificate-chain", chain, "--require-timestamp"],
    )
    .assert_success();
    // Present but from an untrusted TSA: fails (as it does without the flag).
    let other = start_mock().expect("a second mock");
    let other_chain = other.tsa_chain_pem();
    let r = verify_key(
        &s.model,
        &s.key,
        &stamped,
        &[
            "--tsa-certificate-chain",
            other_chain.to_str().unwrap(),
            "--require-timestamp",
        ],
    );
    assert_fails_with(&r, &["timestamp"]);
}

// ---------------------------------------------------------------------------
// Other implementations
// ---------------------------------------------------------------------------

fn py_verify_key(py: &PyPeer, key: &KeyPair, sig: &Path, model: &Path) -> Run {
    run(py.cli().args(args![
        "verify",
        "key",
        "--public_key",
        &key.public_key,
        "--signature",
        sig,
        model
    ]))
}

fn py_verify_cert(py: &PyPeer, root: &Path, sig: &Path, model: &Path) -> Run {
    run(py.cli().args(args![
        "verify",
        "certificate",
        "--certificate_chain",
        root,
        "--signature",
        sig,
        model
    ]))
}

/// A certificate bundle of `model` signed by our CLI (leaf + intermediate), `extra` flags.
fn sign_cert_ours(pki: &Pki, sig: &Path, model: &Path, extra: &[&str]) -> Run {
    let mut a = cert_sign_args(&pki.leaf_key, &pki.leaf_cert, sig, model, extra);
    a.splice(2..2, args!["--certificate-chain", &pki.intermediate.cert]);
    ms(a)
}

#[test]
fn python_1_1_1_verifies_bundles_with_a_spliced_in_timestamp() {
    // Runs with any build of ours: the timestamp is obtained with openssl and added to bundles
    // signed without one. Python 1.1.1 ignores timestampVerificationData.
    let Some(py) = PyPeer::from_env(PEER_PY_1_1_1) else {
        return;
    };
    let Some(mock) = start_mock() else {
        return;
    };
    let s = key_setup();
    let sig = s.sig("key.sig");
    sign_key(&s.model, &s.key, &sig, &[]).assert_success();
    add_openssl_timestamp(&mock, &sig);
    assert_eq!(timestamps(&read_json(&sig)).len(), 1);
    py_verify_key(&py, &s.key, &sig, &s.model)
        .assert_success()
        .assert_stdout_contains("Verification succeeded");

    let pki = Pki::generate(&s.dir.path().join("pki"), Curve::P256, Curve::P256);
    let csig = s.sig("cert.sig");
    sign_cert_ours(&pki, &csig, &s.model, &[]).assert_success();
    add_openssl_timestamp(&mock, &csig);
    py_verify_cert(&py, &pki.root.cert, &csig, &s.model)
        .assert_success()
        .assert_stdout_contains("Verification succeeded");
    // Python does check the rest of the bundle: a tampered model still fails there.
    write_file(&s.model, "a.txt", "changed\n");
    assert!(!py_verify_key(&py, &s.key, &sig, &s.model).success());
}

#[test]
fn python_1_1_1_verifies_our_timestamped_key_and_certificate_bundles() {
    let Some(py) = PyPeer::from_env(PEER_PY_1_1_1) else {
        return;
    };
    let Some(mock) = start_mock() else {
        return;
    };
    let s = key_setup();
    let sig = s.sig("key.sig");
    sign_key(&s.model, &s.key, &sig, &["--tsa-url", &mock.tsa_url()]).assert_success();
    assert_eq!(timestamps(&read_json(&sig)).len(), 1);
    py_verify_key(&py, &s.key, &sig, &s.model)
        .assert_success()
        .assert_stdout_contains("Verification succeeded");

    let pki = Pki::generate(&s.dir.path().join("pki"), Curve::P256, Curve::P256);
    let csig = s.sig("cert.sig");
    sign_cert_ours(&pki, &csig, &s.model, &["--tsa-url", &mock.tsa_url()]).assert_success();
    assert_eq!(timestamps(&read_json(&csig)).len(), 1);
    py_verify_cert(&py, &pki.root.cert, &csig, &s.model)
        .assert_success()
        .assert_stdout_contains("Verification succeeded");
}

/// The key bundle `b` re-serialized the way the Go port (`sampras343/model-transparency-go`)
/// writes bundles: `pkg/signature.Signature.Write` calls sigstore-go's `Bundle.MarshalJSON`, i.e.
/// protojson of the protobuf-specs `Bundle`. protojson emits the fields in proto declaration
/// order (mediaType, verificationMaterial {publicKey, timestampVerificationData}, dsseEnvelope
/// {payload, payloadType, signatures}), leaves out empty fields (so no `"keyid": ""` and no
/// `"tlogEntries": []`), and may put a space after `:` and `,` (its output is deliberately
/// unstable). The `rfc3161Timestamps[].signedTimestamp` field is the same as ours.
fn go_port_shape(b: &Value) -> String {
    let s = |v: &Value| serde_json::to_string(v).expect("JSON string");
    let vm = &b["verificationMaterial"];
    let stamps: Vec<String> = timestamps(b)
        .iter()
        .map(|d| {
            format!(
                "{{\"signedTimestamp\": {}}}",
                s(&Value::String(B64.encode(d)))
            )
        })
        .collect();
    let env = &b["dsseEnvelope"];
    format!(
        "{{\"mediaType\": {}, \"verificationMaterial\": {{\"publicKey\": {{\"hint\": {}}}, \
         \"timestampVerificationData\": {{\"rfc3161Timestamps\": [{}]}}}}, \
         \"dsseEnvelope\": {{\"payload\": {}, \"payloadType\": {}, \"signatures\": [{{\"sig\": {}}}]}}}}",
        s(&b["mediaType"]),
        s(&vm["publicKey"]["hint"]),
        stamps.join(", "),
        s(&env["payload"]),
        s(&env["payloadType"]),
        s(&env["signatures"][0]["sig"]),
    )
}

#[test]
fn go_port_shaped_timestamped_bundle_verifies() {
    let Some(mock) = start_mock() else {
        return;
    };
    let s = key_setup();
    let sig = s.sig("ours.sig");
    sign_key(&s.model, &s.key, &sig, &[]).assert_success();
    add_openssl_timestamp(&mock, &sig);
    let go = s.sig("go.sig");
    let text = go_port_shape(&read_json(&sig));
    assert!(!text.contains("keyid") && !text.contains("tlogEntries"));
    fs::write(&go, &text).expect("write go bundle");
    // The shape itself (without timestamps) is one our verifier reads today.
    let chain = mock.tsa_chain_pem();
    let chain = chain.to_str().unwrap();
    let r = verify_key(
        &s.model,
        &s.key,
        &go,
        &["--tsa-certificate-chain", chain, "--output", "json"],
    );
    r.assert_success();
    let ts = report_timestamps(&r);
    assert_eq!(ts.len(), 1);
    check_verified_entry(&ts[0], unix_now(), 600);
    verify_key(
        &s.model,
        &s.key,
        &go,
        &["--tsa-certificate-chain", chain, "--require-timestamp"],
    )
    .assert_success();
    // The same bundle signed by our signer with --tsa-url, reshaped.
    let ours = s.sig("ours-tsa.sig");
    sign_key(&s.model, &s.key, &ours, &["--tsa-url", &mock.tsa_url()]).assert_success();
    fs::write(&go, go_port_shape(&read_json(&ours))).expect("write go bundle");
    verify_key(
        &s.model,
        &s.key,
        &go,
        &["--tsa-certificate-chain", chain, "--require-timestamp"],
    )
    .assert_success();
}

#[test]
fn go_port_shape_without_timestamps_verifies_today() {
    // The reshaping itself (no keyid, no tlogEntries, protojson spacing) is accepted by the
    // current verifier; keeps go_port_shape honest independently of the timestamp work.
    let s = key_setup();
    let sig = s.sig("ours.sig");
    sign_key(&s.model, &s.key, &sig, &[]).assert_success();
    let go = s.sig("go.sig");
    let text = go_port_shape(&read_json(&sig)).replace(
        ", \"timestampVerificationData\": {\"rfc3161Timestamps\": []}",
        "",
    );
    fs::write(&go, text).expect("write go bundle");
    verify_key(&s.model, &s.key, &go, &[]).assert_success();
}
