//! Sigstore keyless verification against real and locally made bundles, all offline.
//!
//! * model-transparency's `v*-sigstore` signatures (production Fulcio/Rekor, embedded production
//!   root) and the `@sigstore/mock` signatures in `mock-sigstore/` (private trust roots, Rekor v1 and
//!   v2, RFC 3161) through the real binary;
//! * tampered bundles: swapped log entries, certificates and signatures, broken proofs;
//! * the 70 sigstore-conformance bundle-verify cases through the library's generic
//!   `verify_artifact`, reporting agreement with the expected results.
//!
//! The data lives in `../shared/vectors` (never copied into this repo); `MS_REQUIRE_VECTORS=1` turns
//! a missing directory into a failure. Every command runs with its own empty `XDG_CACHE_HOME`, so a
//! root cached on the developer's machine by `trust-root update` cannot change the outcome.

mod common;

use common::*;
use model_signing::sigstore::trust::{TrustRoot, TrustSource};
use model_signing::sigstore::verify::{verify_artifact, ArtifactInput, IdentityPolicy};
use model_signing::sigstore::Instance;
use serde_json::Value;
use sha2::Digest;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

const ID: &str = "stefanb@us.ibm.com";
const ISS: &str = "https://sigstore.verify.ibm.com/oauth2";
const MOCK_ID: &str = "tester@example.test";
const MOCK_ISS: &str = "https://oidc.mock.test";
const VERSIONS: [&str; 4] = ["v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0"];
const MOCK_DIRS: [&str; 3] = ["rekor1-notsa", "rekor1-tsa", "rekor2-tsa"];

/// Runs the binary in `cwd` with a private, empty cache directory.
fn msc(cache: &Path, cwd: &Path, args: Vec<OsString>) -> Run {
    run(model_signing()
        .current_dir(cwd)
        .env("XDG_CACHE_HOME", cache)
        .env_remove("MODEL_SIGNING_LOG_LEVEL")
        .args(args))
}

#[track_caller]
fn pass(r: &Run) {
    r.assert_success()
        .assert_stdout_contains("Verification succeeded");
}

#[track_caller]
fn fail(r: &Run, needle: &str) {
    r.assert_exit(1)
        .assert_stderr_contains("Verification failed with error")
        .assert_stderr_contains(needle);
    assert!(!r.stderr.contains("panicked"), "{r}");
    let err_lines = r
        .stderr
        .lines()
        .filter(|l| l.contains("Verification failed"))
        .count();
    assert_eq!(err_lines, 1, "{r}");
}

/// `verify sigstore` of `model` with `sig`, identity/issuer and extra flags.
fn vs(
    cache: &Path,
    cwd: &Path,
    model: &Path,
    sig: &Path,
    id: &str,
    iss: &str,
    extra: &[&str],
) -> Run {
    let mut a = args![
        "verify",
        "sigstore",
        "--signature",
        sig,
        "--identity",
        id,
        "--identity-provider",
        iss
    ];
    a.extend(extra.iter().map(OsString::from));
    a.push(model.into());
    msc(cache, cwd, a)
}

fn mt_dir(v: &Path) -> PathBuf {
    v.join("model-transparency/scripts/tests")
}

/// `--ignore-paths <dir>/ignore-me` where the vector has that file (v1.0.1+).
fn ignore_me(model: &Path) -> Vec<String> {
    let p = model.join("ignore-me");
    if p.exists() {
        vec!["--ignore-paths".into(), p.to_string_lossy().into_owned()]
    } else {
        vec![]
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Copies a read-only vector directory into `dst` and makes the copies writable.
fn writable_copy(src: &Path, dst: &Path) {
    copy_dir(src, dst);
    fn fix(p: &Path) {
        for e in fs::read_dir(p).expect("read dir") {
            let e = e.expect("entry");
            let path = e.path();
            let mut perm = fs::metadata(&path).expect("metadata").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            fs::set_permissions(&path, perm).expect("chmod");
            if path.is_dir() {
                fix(&path);
            }
        }
    }
    let mut perm = fs::metadata(dst).expect("metadata").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    fs::set_permissions(dst, perm).expect("chmod");
    fix(dst);
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("parse {}: {e}", p.display()))
}

fn write_json(p: &Path, v: &Value) {
    fs::write(p, serde_json::to_vec(v).expect("encode")).expect("write json");
}

// ---------------------------------------------------------------------------------------------
// model-transparency: production signatures
// ---------------------------------------------------------------------------------------------

#[test]
fn model_transparency_sigstore_vectors_pass_with_embedded_root() {
    let Some(v) = vectors() else { return };
    let dir = mt_dir(&v);
    let cache = tempdir();
    for ver in VERSIONS {
        let model = dir.join(format!("{ver}-sigstore"));
        let sig = model.join("model.sig");
        let ig = ignore_me(&model);
        let r = vs(cache.path(), &dir, &model, &sig, ID, ISS, &strs(&ig));
        pass(&r);
        r.assert_stderr_contains("production root embedded in this binary");
        // Python 1.1.1's underscore spellings.
        let mut a = args![
            "verify",
            "sigstore",
            "--signature",
            &sig,
            "--identity",
            ID,
            "--identity_provider",
            ISS
        ];
        a.extend(ig.iter().map(OsString::from));
        a.push(model.clone().into());
        pass(&msc(cache.path(), &dir, a));
        // JSON report names the signer.
        let mut extra = ig.clone();
        extra.extend(["--output".to_string(), "json".to_string()]);
        let r = vs(cache.path(), &dir, &model, &sig, ID, ISS, &strs(&extra));
        r.assert_success();
        let j: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("json: {e}\n{r}"));
        assert_eq!(j["verified"], true, "{r}");
        assert_eq!(j["method"], "sigstore", "{r}");
        assert_eq!(j["signer"], format!("{ID} (issuer {ISS})"), "{r}");
    }
    // v1.0.1 did not record its ignore paths: without the flag the extra file is reported.
    let model = dir.join("v1.0.1-sigstore");
    fail(
        &vs(
            cache.path(),
            &dir,
            &model,
            &model.join("model.sig"),
            ID,
            ISS,
            &[],
        ),
        "extra:   ignore-me",
    );
}

#[test]
fn model_transparency_sigstore_vectors_fail_as_they_should() {
    let Some(v) = vectors() else { return };
    let dir = mt_dir(&v);
    let cache = tempdir();
    for ver in VERSIONS {
        let model = dir.join(format!("{ver}-sigstore"));
        let sig = model.join("model.sig");
        let ig = ignore_me(&model);
        let ig = strs(&ig);
        let r = vs(
            cache.path(),
            &dir,
            &model,
            &sig,
            "stefanb@us.ibm.co",
            ISS,
            &ig,
        );
        fail(&r, "identity mismatch: the signing certificate's SAN is 'stefanb@us.ibm.com', but 'stefanb@us.ibm.co' was expected");
        let r = vs(
            cache.path(),
            &dir,
            &model,
            &sig,
            ID,
            "https://accounts.google.com",
            &ig,
        );
        fail(&r, "issuer mismatch: the signing certificate's OIDC issuer is 'https://sigstore.verify.ibm.com/oauth2', but 'https://accounts.google.com' was expected");
        let mut st = ig.clone();
        st.push("--use-staging");
        let r = vs(cache.path(), &dir, &model, &sig, ID, ISS, &st);
        fail(&r, "staging root");
        // A mock instance's trust config is not production either.
        let tc = v.join("mock-sigstore/rekor1-notsa/trust_config.json");
        let mut o = ig.clone();
        let tcs = tc.to_string_lossy().into_owned();
        o.extend(["--trust-config", &tcs]);
        fail(
            &vs(cache.path(), &dir, &model, &sig, ID, ISS, &o),
            "Sigstore verification failed",
        );
    }

    // Changed, missing and extra files in a copy.
    let tmp = tempdir();
    let model = tmp.path().join("m");
    writable_copy(&dir.join("v1.1.0-sigstore"), &model);
    let sig = model.join("model.sig");
    pass(&vs(cache.path(), tmp.path(), &model, &sig, ID, ISS, &[]));
    tamper(&model.join("signme-1"), 0);
    fail(
        &vs(cache.path(), tmp.path(), &model, &sig, ID, ISS, &[]),
        "changed: signme-1",
    );
    fs::remove_file(model.join("signme-1")).expect("rm");
    fail(
        &vs(cache.path(), tmp.path(), &model, &sig, ID, ISS, &[]),
        "missing: signme-1",
    );
    writable_copy(&dir.join("v1.1.0-sigstore"), &model);
    write_file(&model, "extra.bin", "x");
    fail(
        &vs(cache.path(), tmp.path(), &model, &sig, ID, ISS, &[]),
        "extra:   extra.bin",
    );
    pass(&vs(
        cache.path(),
        tmp.path(),
        &model,
        &sig,
        ID,
        ISS,
        &["--ignore-unsigned-files"],
    ));
}

#[test]
fn identity_regex() {
    let Some(v) = vectors() else { return };
    let dir = mt_dir(&v);
    let cache = tempdir();
    let model = dir.join("v1.1.0-sigstore");
    let sig = model.join("model.sig");
    let with = |re: &str, id: Option<&str>| {
        let mut a = args![
            "verify",
            "sigstore",
            "--signature",
            &sig,
            "--identity-provider",
            ISS,
            "--identity-regex",
            re
        ];
        if let Some(id) = id {
            a.extend(args!["--identity", id]);
        }
        a.push(model.clone().into());
        msc(cache.path(), &dir, a)
    };
    pass(&with(r"stefanb@.*\.com", None));
    pass(&with(r"[a-z]+@us\.ibm\.com", Some(ID)));
    // Anchored: a pattern matching only part of the SAN is not enough.
    fail(
        &with("stefanb", None),
        "does not match the identity regex 'stefanb'",
    );
    fail(
        &with(r"stefanb@us\.ibm\.co", None),
        "does not match the identity regex",
    );
    // Both given: both must hold.
    fail(&with(r".*", Some("someone@else.com")), "identity mismatch");
    // A bad pattern is a clear error, not a panic.
    fail(&with("(", None), "invalid identity regex");
    // Neither identity nor regex: usage error.
    let r = msc(
        cache.path(),
        &dir,
        args![
            "verify",
            "sigstore",
            "--signature",
            &sig,
            "--identity-provider",
            ISS,
            &model
        ],
    );
    r.assert_exit(2);
}

#[test]
fn other_bundle_media_types_and_spellings() {
    let Some(v) = vectors() else { return };
    let dir = mt_dir(&v);
    let cache = tempdir();
    let tmp = tempdir();
    let model = dir.join("v1.1.0-sigstore");
    let orig = read_json(&model.join("model.sig"));
    let sig = tmp.path().join("x.sig");

    // The alternative v0.3 media type spelling.
    let mut b = orig.clone();
    b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.3".into();
    write_json(&sig, &b);
    pass(&vs(cache.path(), &dir, &model, &sig, ID, ISS, &[]));

    // The same material in the v0.2 shape (x509CertificateChain instead of certificate).
    let mut b = orig.clone();
    let cert = b["verificationMaterial"]["certificate"].clone();
    let vm = b["verificationMaterial"].as_object_mut().expect("object");
    vm.remove("certificate");
    vm.insert(
        "x509CertificateChain".into(),
        serde_json::json!({"certificates": [cert]}),
    );
    b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2".into();
    write_json(&sig, &b);
    pass(&vs(cache.path(), &dir, &model, &sig, ID, ISS, &[]));

    // proto snake_case field names.
    let text = serde_json::to_string(&orig).expect("encode");
    let snake = text
        .replace("\"verificationMaterial\"", "\"verification_material\"")
        .replace("\"tlogEntries\"", "\"tlog_entries\"")
        .replace("\"inclusionProof\"", "\"inclusion_proof\"")
        .replace("\"dsseEnvelope\"", "\"dsse_envelope\"")
        .replace("\"payloadType\"", "\"payload_type\"");
    assert_ne!(snake, text);
    fs::write(&sig, snake).expect("write");
    pass(&vs(cache.path(), &dir, &model, &sig, ID, ISS, &[]));

    // An unknown media type.
    let mut b = orig.clone();
    b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.9".into();
    write_json(&sig, &b);
    fail(
        &vs(cache.path(), &dir, &model, &sig, ID, ISS, &[]),
        "invalid signature bundle",
    );
}

// ---------------------------------------------------------------------------------------------
// Tampered bundles: the log entry, certificate and signature must belong together
// ---------------------------------------------------------------------------------------------

#[test]
fn mixed_and_tampered_bundles_fail() {
    let Some(v) = vectors() else { return };
    let dir = mt_dir(&v);
    let cache = tempdir();
    let tmp = tempdir();
    let model = dir.join("v1.0.1-sigstore");
    // The bundles under test live outside the model, so the original model.sig is an extra file.
    let mut ig = ignore_me(&model);
    ig.extend([
        "--ignore-paths".to_string(),
        model.join("model.sig").to_string_lossy().into_owned(),
    ]);
    let ig = strs(&ig);
    let a = read_json(&model.join("model.sig"));
    let b = read_json(&dir.join("v1.1.0-sigstore/model.sig"));
    let sig = tmp.path().join("mixed.sig");
    let check = |bundle: &Value, needle: &str, what: &str| {
        write_json(&sig, bundle);
        let r = vs(cache.path(), &dir, &model, &sig, ID, ISS, &ig);
        assert_eq!(r.code(), Some(1), "{what} was accepted\n{r}");
        fail(&r, needle);
    };
    // Sanity: the untouched bundle passes through the same path.
    write_json(&sig, &a);
    pass(&vs(cache.path(), &dir, &model, &sig, ID, ISS, &ig));

    let mut x = a.clone();
    x["verificationMaterial"]["tlogEntries"] = b["verificationMaterial"]["tlogEntries"].clone();
    check(
        &x,
        "Sigstore verification failed",
        "another bundle's log entry",
    );

    let mut x = a.clone();
    x["verificationMaterial"]["certificate"] = b["verificationMaterial"]["certificate"].clone();
    check(
        &x,
        "Sigstore verification failed",
        "another bundle's certificate",
    );

    let mut x = a.clone();
    x["verificationMaterial"]["timestampVerificationData"] =
        b["verificationMaterial"]["timestampVerificationData"].clone();
    check(
        &x,
        "Sigstore verification failed",
        "another bundle's RFC 3161 timestamp",
    );

    let mut x = a.clone();
    x["dsseEnvelope"]["signatures"] = b["dsseEnvelope"]["signatures"].clone();
    check(
        &x,
        "Sigstore verification failed",
        "another bundle's signature",
    );

    // Certificate, log entry and timestamp of B with the statement of A: the signature is B's
    // over B's payload, so A's payload must not verify.
    let mut x = b.clone();
    x["dsseEnvelope"]["payload"] = a["dsseEnvelope"]["payload"].clone();
    check(
        &x,
        "Sigstore verification failed",
        "another bundle's payload",
    );

    fn entry(x: &mut Value) -> &mut Value {
        &mut x["verificationMaterial"]["tlogEntries"][0]
    }
    let flip_b64 = |s: &Value| -> Value {
        use base64::Engine;
        let e = base64::engine::general_purpose::STANDARD;
        let mut bytes = e.decode(s.as_str().expect("string")).expect("base64");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        e.encode(bytes).into()
    };

    let mut x = a.clone();
    let h = entry(&mut x)["inclusionProof"]["hashes"][0].clone();
    entry(&mut x)["inclusionProof"]["hashes"][0] = flip_b64(&h);
    check(&x, "inclusion proof", "a broken inclusion proof");

    let mut x = a.clone();
    let s = entry(&mut x)["inclusionPromise"]["signedEntryTimestamp"].clone();
    entry(&mut x)["inclusionPromise"]["signedEntryTimestamp"] = flip_b64(&s);
    check(&x, "Sigstore verification failed", "a broken SET");

    let mut x = a.clone();
    let t: i64 = entry(&mut x)["integratedTime"]
        .as_str()
        .expect("string")
        .parse()
        .expect("int");
    entry(&mut x)["integratedTime"] = (t + 1).to_string().into();
    check(
        &x,
        "Sigstore verification failed",
        "a changed integrated time",
    );

    let mut x = a.clone();
    entry(&mut x)["canonicalizedBody"] =
        b["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"].clone();
    check(&x, "Sigstore verification failed", "another entry's body");

    let mut x = a.clone();
    x["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
    check(
        &x,
        "exactly one transparency log entry, this one has 0",
        "no log entry",
    );

    let mut x = a.clone();
    let e0 = x["verificationMaterial"]["tlogEntries"][0].clone();
    x["verificationMaterial"]["tlogEntries"] = serde_json::json!([e0.clone(), e0]);
    check(
        &x,
        "exactly one transparency log entry, this one has 2",
        "two log entries",
    );

    let mut x = a.clone();
    let c = x["verificationMaterial"]["certificate"]["rawBytes"].clone();
    x["verificationMaterial"]["certificate"]["rawBytes"] = flip_b64(&c);
    check(
        &x,
        "Sigstore verification failed",
        "a corrupted certificate",
    );

    // Mock instance: rekor1-notsa with rekor1-tsa's log entry (another log, another certificate).
    let m1 = v.join("mock-sigstore/rekor1-notsa");
    let m2 = read_json(&v.join("mock-sigstore/rekor1-tsa/model.sig"));
    let mut x = read_json(&m1.join("model.sig"));
    x["verificationMaterial"]["tlogEntries"] = m2["verificationMaterial"]["tlogEntries"].clone();
    write_json(&sig, &x);
    let tc = m1.join("trust_config.json");
    let tcs = tc.to_string_lossy().into_owned();
    let r = vs(
        cache.path(),
        &dir,
        &m1.join("model"),
        &sig,
        MOCK_ID,
        MOCK_ISS,
        &["--trust-config", &tcs],
    );
    fail(&r, "Sigstore verification failed");
    // Same instance, same signer: the blob signature's certificate and log entry with the model's
    // DSSE envelope (each is valid on its own; together they describe different signatures).
    let blob = read_json(&m1.join("a.txt.sigstore.json"));
    let mut x = read_json(&m1.join("model.sig"));
    x["verificationMaterial"]["tlogEntries"] = blob["verificationMaterial"]["tlogEntries"].clone();
    let cert = &blob["verificationMaterial"]["certificate"];
    let cert = if cert.is_null() {
        &blob["verificationMaterial"]["x509CertificateChain"]["certificates"][0]
    } else {
        cert
    };
    x["verificationMaterial"]["certificate"] = cert.clone();
    write_json(&sig, &x);
    let r = vs(
        cache.path(),
        &dir,
        &m1.join("model"),
        &sig,
        MOCK_ID,
        MOCK_ISS,
        &["--trust-config", &tcs],
    );
    fail(&r, "Sigstore verification failed");
}

#[test]
fn wrong_method_bundles_fail_clearly() {
    let Some(v) = vectors() else { return };
    let dir = mt_dir(&v);
    let cache = tempdir();
    for ver in ["v1.0.0", "v1.1.0"] {
        let model = dir.join(format!("{ver}-elliptic-key"));
        let r = vs(
            cache.path(),
            &dir,
            &model,
            &model.join("model.sig"),
            ID,
            ISS,
            &[],
        );
        fail(&r, "use 'verify key'");
        let model = dir.join(format!("{ver}-certificate"));
        let r = vs(
            cache.path(),
            &dir,
            &model,
            &model.join("model.sig"),
            ID,
            ISS,
            &[],
        );
        fail(&r, "use 'verify certificate'");
        let model = dir.join(format!("{ver}-sigstore"));
        let sig = model.join("model.sig");
        let r = msc(
            cache.path(),
            &dir,
            args![
                "verify",
                "key",
                "--signature",
                &sig,
                "--public-key",
                "keys/certificate/signing-key-pub.pem",
                &model
            ],
        );
        fail(&r, "use 'verify sigstore'");
        let r = msc(
            cache.path(),
            &dir,
            args![
                "verify",
                "certificate",
                "--signature",
                &sig,
                "--certificate-chain",
                "keys/certificate/ca-cert.pem",
                &model
            ],
        );
        fail(&r, "use 'verify sigstore'");
    }
}

// ---------------------------------------------------------------------------------------------
// mock-sigstore: private trust roots, Rekor v1 and v2, RFC 3161
// ---------------------------------------------------------------------------------------------

/// The `@sigstore/mock` TSA stamps genTime with milliseconds (`...19.928Z`), which RFC 3161 allows
/// and the patched sigstore-tsa (`patches/sigstore-tsa`) reads. In rekor2-tsa (no SET) that
/// timestamp is the only verified signing time.
#[test]
fn mock_sigstore_vectors() {
    let Some(v) = vectors() else { return };
    let cache = tempdir();
    for d in MOCK_DIRS {
        let base = v.join("mock-sigstore").join(d);
        let sig = base.join("model.sig");
        let model = base.join("model");
        let tc = base
            .join("trust_config.json")
            .to_string_lossy()
            .into_owned();
        let tr = base
            .join("trusted_root.json")
            .to_string_lossy()
            .into_owned();
        let ok_runs = [
            vs(
                cache.path(),
                &base,
                &model,
                &sig,
                MOCK_ID,
                MOCK_ISS,
                &["--trust-config", &tc],
            ),
            vs(
                cache.path(),
                &base,
                &model,
                &sig,
                MOCK_ID,
                MOCK_ISS,
                &["--trusted-root", &tr],
            ),
            // --trusted-root wins over --trust-config.
            vs(
                cache.path(),
                &base,
                &model,
                &sig,
                MOCK_ID,
                MOCK_ISS,
                &["--trusted-root", &tr, "--trust-config", "/nonexistent"],
            ),
        ];
        for r in &ok_runs {
            pass(r);
        }
        // The timestamp is verified, not set aside.
        let r = msc(
            cache.path(),
            &base,
            args![
                "--log-level",
                "DEBUG",
                "verify",
                "sigstore",
                "--signature",
                &sig,
                "--identity",
                MOCK_ID,
                "--identity-provider",
                MOCK_ISS,
                "--trust-config",
                &tc,
                &model
            ],
        );
        pass(&r);
        // Verified times: the Rekor v1 SET's integrated time and/or the RFC 3161 timestamp.
        let times = match d {
            "rekor1-notsa" => "log time Some(\"2026-11-21T22:43:09Z\"), 1 verified timestamp(s)",
            "rekor1-tsa" => "log time Some(\"2026-11-21T22:43:19Z\"), 2 verified timestamp(s)",
            _ => "log time None, 1 verified timestamp(s)",
        };
        r.assert_stderr_contains(times);
        let tampered = base.join("model-tampered");
        let r = vs(
            cache.path(),
            &base,
            &tampered,
            &sig,
            MOCK_ID,
            MOCK_ISS,
            &["--trust-config", &tc],
        );
        fail(&r, "the model does not match its signature");
        fail(
            &vs(
                cache.path(),
                &base,
                &model,
                &sig,
                "someone@example.test",
                MOCK_ISS,
                &["--trust-config", &tc],
            ),
            "identity mismatch",
        );
        fail(
            &vs(cache.path(), &base, &model, &sig, MOCK_ID, MOCK_ISS, &[]),
            "Sigstore verification failed",
        );
        fail(
            &vs(
                cache.path(),
                &base,
                &model,
                &sig,
                MOCK_ID,
                MOCK_ISS,
                &["--use-staging"],
            ),
            "Sigstore verification failed",
        );
        for other in MOCK_DIRS.iter().filter(|o| **o != d) {
            let otc = v
                .join("mock-sigstore")
                .join(other)
                .join("trust_config.json")
                .to_string_lossy()
                .into_owned();
            fail(
                &vs(
                    cache.path(),
                    &base,
                    &model,
                    &sig,
                    MOCK_ID,
                    MOCK_ISS,
                    &["--trust-config", &otc],
                ),
                "Sigstore verification failed",
            );
        }
    }
}

/// Changes the last fraction digit of the first fractional genTime in a DER timestamp (keeping it
/// DER-valid), which invalidates the TSA's signature.
fn bump_gen_time_fraction(der: &mut [u8]) -> bool {
    for i in 0..der.len().saturating_sub(2) {
        let len = usize::from(der[i + 1]);
        let Some(value) = der.get(i + 2..i + 2 + len) else {
            continue;
        };
        let fractional = der[i] == 0x18
            && (17..=24).contains(&len)
            && value[..14].iter().all(u8::is_ascii_digit)
            && value[14] == b'.'
            && value.ends_with(b"Z");
        if fractional {
            let last = &mut der[i + len];
            *last = if *last == b'9' { b'1' } else { *last + 1 };
            return true;
        }
    }
    false
}

/// The blob bundles (`a.txt.sigstore.json`) through the library's generic `verify_artifact`.
#[test]
fn mock_sigstore_blob_bundles() {
    use base64::Engine;
    let Some(v) = vectors() else { return };
    let root = |d: &str| {
        let p = v.join("mock-sigstore").join(d).join("trusted_root.json");
        TrustRoot::from_json(
            &fs::read(&p).expect("trusted root"),
            TrustSource::TrustedRootFile(p.clone()),
        )
        .expect("trusted root")
    };
    let policy = |id: &str, iss: &str| IdentityPolicy {
        identity: Some(id.into()),
        identity_regex: None,
        issuer: iss.into(),
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    for d in MOCK_DIRS {
        let base = v.join("mock-sigstore").join(d);
        let bundle = fs::read(base.join("a.txt.sigstore.json")).expect("bundle");
        let art = fs::read(base.join("a.txt")).expect("a.txt");
        let digest: [u8; 32] = sha2::Sha256::digest(&art).into();
        let trust = root(d);
        let check = |bundle: &[u8], input: ArtifactInput<'_>, p: &IdentityPolicy| {
            verify_artifact(&trust, bundle, input, p, None).map_err(|e| e.to_string())
        };
        let good = policy(MOCK_ID, MOCK_ISS);
        check(&bundle, ArtifactInput::Bytes(&art), &good).unwrap_or_else(|e| panic!("{d}: {e}"));
        check(&bundle, ArtifactInput::Sha256(digest), &good).unwrap_or_else(|e| panic!("{d}: {e}"));
        let mut other = art.clone();
        other.push(b'!');
        assert!(
            check(&bundle, ArtifactInput::Bytes(&other), &good).is_err(),
            "{d}: another artifact"
        );
        let e = check(
            &bundle,
            ArtifactInput::Bytes(&art),
            &policy("someone@example.test", MOCK_ISS),
        );
        assert!(
            e.as_ref().is_err_and(|e| e.contains("identity mismatch")),
            "{d}: {e:?}"
        );
        let e = check(
            &bundle,
            ArtifactInput::Bytes(&art),
            &policy(MOCK_ID, "https://accounts.google.com"),
        );
        assert!(
            e.as_ref().is_err_and(|e| e.contains("issuer mismatch")),
            "{d}: {e:?}"
        );
        for other in MOCK_DIRS.iter().filter(|o| **o != d) {
            let r = verify_artifact(
                &root(other),
                &bundle,
                ArtifactInput::Bytes(&art),
                &good,
                None,
            );
            assert!(r.is_err(), "{d} verified with {other}'s root");
        }
        let prod = TrustRoot::embedded(Instance::Production).expect("embedded");
        assert!(
            verify_artifact(&prod, &bundle, ArtifactInput::Bytes(&art), &good, None).is_err(),
            "{d}"
        );

        if d == "rekor1-notsa" {
            continue;
        }
        // The fractional-second timestamp is checked: a changed genTime breaks the TSA signature...
        let mut json: Value = serde_json::from_slice(&bundle).expect("bundle json");
        let ts = &mut json["verificationMaterial"]["timestampVerificationData"]
            ["rfc3161Timestamps"][0]["signedTimestamp"];
        let mut der = b64
            .decode(ts.as_str().expect("signedTimestamp"))
            .expect("base64");
        assert!(
            bump_gen_time_fraction(&mut der),
            "{d}: no fractional genTime"
        );
        *ts = b64.encode(der).into();
        let changed = serde_json::to_vec(&json).expect("encode");
        assert!(
            check(&changed, ArtifactInput::Bytes(&art), &good).is_err(),
            "{d}: changed genTime"
        );
        // ...and with Rekor v2 (no SET) it is the only time source: without it, no verification.
        let mut json: Value = serde_json::from_slice(&bundle).expect("bundle json");
        json["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] =
            serde_json::json!([]);
        let without = serde_json::to_vec(&json).expect("encode");
        let r = check(&without, ArtifactInput::Bytes(&art), &good);
        assert_eq!(
            r.is_ok(),
            d == "rekor1-tsa",
            "{d} without its timestamp: {r:?}"
        );
    }
}

#[test]
fn trust_config_files() {
    let Some(v) = vectors() else { return };
    let cache = tempdir();
    let tmp = tempdir();
    let base = v.join("mock-sigstore/rekor1-notsa");
    let sig = base.join("model.sig");
    let model = base.join("model");
    let tc = read_json(&base.join("trust_config.json"));
    let run_with = |flag: &str, doc: &Value| {
        let p = tmp.path().join("tc.json");
        write_json(&p, doc);
        vs(
            cache.path(),
            &base,
            &model,
            &sig,
            MOCK_ID,
            MOCK_ISS,
            &[flag, &p.to_string_lossy()],
        )
    };
    // snake_case top-level fields (sigstore-python's own test config mixes both).
    let snake = serde_json::json!({
        "media_type": tc["mediaType"], "trusted_root": tc["trustedRoot"], "signing_config": tc["signingConfig"],
    });
    pass(&run_with("--trust-config", &snake));
    // No signing config is fine for verification.
    let no_sc = serde_json::json!({"mediaType": tc["mediaType"], "trustedRoot": tc["trustedRoot"]});
    pass(&run_with("--trust-config", &no_sc));
    // Clear failures.
    let mut bad = tc.clone();
    bad["mediaType"] = "bad-media-type".into();
    fail(
        &run_with("--trust-config", &bad),
        "unsupported trust config media type 'bad-media-type'",
    );
    let mut bad = tc["trustedRoot"].clone();
    bad["mediaType"] = "bad-media-type".into();
    fail(
        &run_with("--trusted-root", &bad),
        "unsupported trusted root media type 'bad-media-type'",
    );
    fail(
        &run_with("--trusted-root", &tc),
        "unsupported trusted root media type",
    );
    fail(
        &run_with(
            "--trust-config",
            &serde_json::json!({"mediaType": tc["mediaType"]}),
        ),
        "missing 'trustedRoot'",
    );
    let r = vs(
        cache.path(),
        &base,
        &model,
        &sig,
        MOCK_ID,
        MOCK_ISS,
        &["--trust-config", "/nonexistent/tc.json"],
    );
    fail(&r, "cannot read trust config '/nonexistent/tc.json'");
    // sigstore-python's parser test files.
    let sp = v.join("sigstore-python/test/assets");
    let r = vs(
        cache.path(),
        &base,
        &model,
        &sig,
        MOCK_ID,
        MOCK_ISS,
        &[
            "--trust-config",
            &sp.join("trust_config/config.badtype.json")
                .to_string_lossy(),
        ],
    );
    fail(&r, "media type");
    let r = vs(
        cache.path(),
        &base,
        &model,
        &sig,
        MOCK_ID,
        MOCK_ISS,
        &[
            "--trusted-root",
            &sp.join("trusted_root/trustedroot.badtype.json")
                .to_string_lossy(),
        ],
    );
    fail(&r, "media type");
    // A good config for another instance parses and then fails verification.
    let r = vs(
        cache.path(),
        &base,
        &model,
        &sig,
        MOCK_ID,
        MOCK_ISS,
        &[
            "--trust-config",
            &sp.join("trust_config/config.v1.json").to_string_lossy(),
        ],
    );
    fail(&r, "Sigstore verification failed");
}

#[test]
fn cached_trusted_root_is_used() {
    let Some(v) = vectors() else { return };
    let dir = mt_dir(&v);
    let cache = tempdir();
    let model = dir.join("v1.1.0-sigstore");
    let sig = model.join("model.sig");
    let cached = cache
        .path()
        .join("model-signing/production/trusted_root.json");
    fs::create_dir_all(cached.parent().expect("parent")).expect("mkdir");
    // A cached production root is preferred over the embedded one...
    let prod = v.join(
        "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json",
    );
    fs::copy(&prod, &cached).expect("copy");
    let r = vs(cache.path(), &dir, &model, &sig, ID, ISS, &[]);
    pass(&r);
    r.assert_stderr_contains("cached Sigstore production root");
    // ...so a wrong one there decides (proof that it is read)...
    let staging = v.join(
        "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json",
    );
    fs::copy(&staging, &cached).expect("copy");
    fail(
        &vs(cache.path(), &dir, &model, &sig, ID, ISS, &[]),
        "cached Sigstore production root",
    );
    // ...what `trust-root update` writes (our re-serialisation of the fetched root) works...
    let ours = TrustRoot::embedded(Instance::Production)
        .expect("embedded")
        .to_json()
        .expect("encode");
    fs::write(&cached, ours).expect("write");
    pass(&vs(cache.path(), &dir, &model, &sig, ID, ISS, &[]));
    // ...and a damaged one is skipped with a warning.
    fs::write(&cached, "{").expect("write");
    let r = vs(cache.path(), &dir, &model, &sig, ID, ISS, &[]);
    pass(&r);
    r.assert_stderr_contains("ignoring the cached trusted root");
    // --use-staging reads its own cache entry.
    let st = cache.path().join("model-signing/staging/trusted_root.json");
    fs::create_dir_all(st.parent().expect("parent")).expect("mkdir");
    fs::copy(&prod, &st).expect("copy");
    let r = vs(
        cache.path(),
        &dir,
        &model,
        &sig,
        ID,
        ISS,
        &["--use-staging"],
    );
    pass(&r);
    r.assert_stderr_contains("cached Sigstore staging root");
}

#[test]
fn trust_root_update_fails_cleanly_offline() {
    let cache = tempdir();
    let started = std::time::Instant::now();
    let r = run(model_signing().env("XDG_CACHE_HOME", cache.path()).args([
        "trust-root",
        "update",
        "--timeout",
        "15",
    ]));
    let took = started.elapsed();
    assert!(took.as_secs() < 40, "took {took:?}\n{r}");
    if r.success() {
        // A machine with network access: the root was fetched through TUF and cached.
        r.assert_stdout_contains("Trusted root updated");
        let cached = cache
            .path()
            .join("model-signing/production/trusted_root.json");
        TrustRoot::from_json(
            &fs::read(&cached).expect("cached root"),
            TrustSource::TrustedRootFile(cached.clone()),
        )
        .expect("cached root parses");
    } else {
        r.assert_exit(1).assert_stderr_contains(
            "Updating the trusted root failed with error: cannot update the Sigstore production trusted root",
        );
        let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{r}");
        assert!(!cache
            .path()
            .join("model-signing/production/trusted_root.json")
            .exists());
    }
    ms(["trust-root", "update", "--timeout", "0"]).assert_exit(2);
}

// ---------------------------------------------------------------------------------------------
// sigstore-conformance bundle-verify cases and sigstore-python vectors, through the library
// ---------------------------------------------------------------------------------------------

const BEACON_ID: &str =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const BEACON_ISS: &str = "https://token.actions.githubusercontent.com";

/// Cases where sigstore-verify 0.15.1 (as driven here) disagrees with the expected result, with the
/// reason. Kept exact so that a change in either direction is noticed.
const CONFORMANCE_DISAGREEMENTS: &[(&str, &str)] = &[];

fn load_root(spec: &str, assets: &Path) -> Result<TrustRoot, String> {
    if spec.starts_with("PRODUCTION") {
        return TrustRoot::embedded(Instance::Production).map_err(|e| e.to_string());
    }
    let p = assets.join(spec);
    let bytes = fs::read(&p).map_err(|e| e.to_string())?;
    TrustRoot::from_json(&bytes, TrustSource::TrustedRootFile(p)).map_err(|e| e.to_string())
}

#[test]
fn sigstore_conformance_bundle_verify_cases() {
    let Some(v) = vectors() else { return };
    let base = v.join("sigstore-conformance");
    let assets = base.join("test/assets");
    let tsv = fs::read_to_string(base.join("CASES.tsv")).expect("CASES.tsv");
    let mut total = 0;
    let mut agree = 0;
    let mut disagreements: Vec<(String, String)> = Vec::new();
    for line in tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("case\t") && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        assert!(f.len() >= 5, "bad CASES.tsv line: {line}");
        let (case, expected, root_spec, artifact, with) = (f[0], f[1], f[2], f[3], f[4]);
        let bundle = fs::read(assets.join(case).join("bundle.sigstore.json")).unwrap_or_default();
        let art = fs::read(assets.join(artifact)).expect("artifact");
        let digest: [u8; 32] = sha2::Sha256::digest(&art).into();
        let mut policy = IdentityPolicy::default();
        let mut key = None;
        for kv in with.split(';') {
            match kv.split_once('=') {
                Some(("identity", "DEFAULT")) => policy.identity = Some(BEACON_ID.into()),
                Some(("identity", i)) => policy.identity = Some(i.into()),
                Some(("issuer", "DEFAULT")) => policy.issuer = BEACON_ISS.into(),
                Some(("issuer", i)) => policy.issuer = i.into(),
                Some(("key", k)) => key = Some(fs::read_to_string(assets.join(k)).expect("key")),
                _ => panic!("bad verify_with {with:?}"),
            }
        }
        for (mode, input) in [
            ("PATH", ArtifactInput::Bytes(&art)),
            ("DIGEST", ArtifactInput::Sha256(digest)),
        ] {
            total += 1;
            let outcome = load_root(root_spec, &assets).and_then(|root| {
                verify_artifact(&root, &bundle, input, &policy, key.as_deref())
                    .map_err(|e| e.to_string())
            });
            let got = if outcome.is_ok() { "PASS" } else { "FAIL" };
            if std::env::var_os("MS_SHOW_REASONS").is_some() && mode == "PATH" {
                eprintln!(
                    "{case}: {got} {}",
                    outcome.as_ref().err().map(String::as_str).unwrap_or("")
                );
            }
            if got == expected {
                agree += 1;
            } else {
                let why = outcome.err().unwrap_or_default();
                eprintln!("DISAGREE {case} [{mode}]: expected {expected}, got {got} {why}");
                disagreements.push((format!("{case} [{mode}]"), why));
            }
        }
    }
    eprintln!("sigstore-conformance bundle-verify: {agree}/{total} agree with the expected result");
    assert_eq!(total, 140);
    let got: Vec<&str> = disagreements.iter().map(|d| d.0.as_str()).collect();
    let want: Vec<&str> = CONFORMANCE_DISAGREEMENTS.iter().map(|d| d.0).collect();
    assert_eq!(got, want, "the set of disagreements changed");
}

#[test]
fn sigstore_python_vectors() {
    let Some(v) = vectors() else { return };
    let a = v.join("sigstore-python/test/assets");
    let staging = v.join(
        "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json",
    );
    let staging = TrustRoot::from_json(
        &fs::read(&staging).expect("staging root"),
        TrustSource::TrustedRootFile(staging.clone()),
    )
    .expect("staging root");
    let gh = "https://github.com/login/oauth";
    let p = |id: &str, iss: &str| IdentityPolicy {
        identity: Some(id.into()),
        identity_regex: None,
        issuer: iss.into(),
    };
    let file = |n: &str| fs::read(a.join(n)).unwrap_or_else(|e| panic!("{n}: {e}"));
    let cases: Vec<(&str, &str, IdentityPolicy, bool)> = vec![
        (
            "bundle.txt.sigstore",
            "bundle.txt",
            p("a@tny.town", gh),
            true,
        ),
        (
            "bundle_v3.txt.sigstore",
            "bundle_v3.txt",
            p("william@yossarian.net", gh),
            true,
        ),
        (
            "bundle_v3_alt.txt.sigstore",
            "bundle_v3_alt.txt",
            p("william@yossarian.net", gh),
            true,
        ),
        (
            "staging-rekor-v2.txt.sigstore.json",
            "staging-rekor-v2.txt",
            p("jku@goto.fi", gh),
            true,
        ),
        (
            "bundle_cve_2022_36056.txt.sigstore",
            "bundle_cve_2022_36056.txt",
            p("william@yossarian.net", gh),
            false,
        ),
        (
            "bundle_invalid_version.txt.sigstore",
            "bundle_invalid_version.txt",
            p("william@yossarian.net", gh),
            false,
        ),
        (
            "bundle_no_cert_v1.txt.sigstore",
            "bundle_no_cert_v1.txt",
            p("william@yossarian.net", gh),
            false,
        ),
        (
            "bundle_no_log_entry.txt.sigstore",
            "bundle_no_log_entry.txt",
            p("william@yossarian.net", gh),
            false,
        ),
        (
            "bundle_no_checkpoint.txt.sigstore",
            "bundle_no_checkpoint.txt",
            p("william@yossarian.net", gh),
            false,
        ),
        (
            "bundle_v3_no_signed_time.txt.sigstore.json",
            "bundle_v3_no_signed_time.txt",
            p("william@yossarian.net", gh),
            false,
        ),
        // Wrong identity for a good bundle.
        (
            "bundle_v3.txt.sigstore",
            "bundle_v3.txt",
            p("someone@else.net", gh),
            false,
        ),
    ];
    let mut bad = Vec::new();
    for (bundle, artifact, policy, want) in &cases {
        let got = verify_artifact(
            &staging,
            &file(bundle),
            ArtifactInput::Bytes(&file(artifact)),
            policy,
            None,
        );
        if got.is_ok() != *want {
            bad.push(format!(
                "{bundle}: expected {}, got {got:?}",
                if *want { "PASS" } else { "FAIL" }
            ));
        }
    }
    // DSSE on Rekor v2 (hashedrekord over the PAE) + TSA, by subject digest.
    let d = hex::decode("a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf")
        .expect("hex");
    let digest: [u8; 32] = d.try_into().expect("32 bytes");
    let policy = p(BEACON_ID, BEACON_ISS);
    let got = verify_artifact(
        &staging,
        &file("a.dsse.staging-rekor-v2.txt.sigstore.json"),
        ArtifactInput::Sha256(digest),
        &policy,
        None,
    );
    if got.is_err() {
        bad.push(format!(
            "a.dsse.staging-rekor-v2: expected PASS, got {got:?}"
        ));
    }
    // Not the production root.
    let prod = TrustRoot::embedded(Instance::Production).expect("embedded");
    assert!(verify_artifact(
        &prod,
        &file("bundle_v3.txt.sigstore"),
        ArtifactInput::Bytes(&file("bundle_v3.txt")),
        &p("william@yossarian.net", gh),
        None
    )
    .is_err());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
