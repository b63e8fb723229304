//! PINs given to `sign pkcs11-key` never reach the output, and `pin-source` is read with bounds.
//!
//! None of these tests needs a PKCS#11 module: the URI is refused, or the PIN read, before any
//! module is loaded (the module paths below do not exist). The SoftHSM end-to-end checks of the
//! same rules are in `pkcs11.rs`.

mod common;

use common::*;
use std::fs;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A distinctive PIN: no 3-character piece of it may occur in the output.
const SECRET: &str = "S3cr3tQz9";

/// The CLI's environment alternative for the PIN.
const PIN_ENV: &str = "MODEL_SIGNING_PKCS11_PIN";

/// Fails if any substring of `secret` of 3 or more characters occurs in the run's output.
#[track_caller]
fn assert_hidden(r: &Run, secret: &str) {
    for w in secret.as_bytes().windows(3) {
        let piece = std::str::from_utf8(w).unwrap_or_default();
        if piece.is_empty() {
            continue;
        }
        assert!(
            !r.stderr.contains(piece) && !r.stdout.contains(piece),
            "the output shows '{piece}' of the secret '{secret}'\n{r}"
        );
    }
}

/// `model-signing sign pkcs11-key --pkcs11-uri URI` on a small model in `dir`, killed (and the
/// test failed) if it runs for more than 20 s.
fn sign(dir: &Path, uri: &str) -> Run {
    let model = dir.join("model");
    if !model.exists() {
        make_small_model(dir, "model");
    }
    let mut cmd = model_signing();
    cmd.env_remove(PIN_ENV).current_dir(dir).args(args![
        "sign",
        "pkcs11-key",
        "--pkcs11-uri",
        uri,
        "--signature",
        dir.join("m.sig"),
        &model
    ]);
    run_within(&mut cmd, Duration::from_secs(20))
}

/// Like `common::run`, but kills the command and fails after `limit`.
fn run_within(cmd: &mut Command, limit: Duration) -> Run {
    let cmdline = describe(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{cmdline}`: {e}"));
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{cmdline}` still ran after {limit:?}: killed");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for `{cmdline}`: {e}"),
        }
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut stdout);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().expect("exit status");
    Run {
        cmdline,
        status,
        stdout,
        stderr,
    }
}

/// Exit 1 with exactly one error line.
#[track_caller]
fn assert_one_error(r: &Run) {
    r.assert_exit(1);
    let errors = r
        .stderr
        .lines()
        .filter(|l| l.contains("failed with error"))
        .count();
    assert_eq!(errors, 1, "one error line\n{r}");
}

#[test]
fn pkcs11_uri_typos_do_not_echo_the_pin() {
    let dir = tempdir();
    let m = "/nonexistent/libsofthsm2.so";
    let cases: Vec<(String, &str)> = vec![
        // `;` instead of `&` in the query.
        (
            format!("pkcs11:token=t;object=k?module-name=libsofthsm2;pin-value={SECRET}"),
            SECRET,
        ),
        (
            format!("pkcs11:token=t;object=k?module-path={m};pin-value={SECRET}"),
            SECRET,
        ),
        (
            format!("pkcs11:token=t?pin-value={SECRET};module-path={m}"),
            SECRET,
        ),
        // A second `?` instead of `&`.
        (
            format!("pkcs11:token=t?module-path={m}?pin-value={SECRET}"),
            SECRET,
        ),
        // `&` instead of `?`.
        (
            format!("pkcs11:token=t;object=k&module-path={m}&pin-value={SECRET}"),
            SECRET,
        ),
        // Malformed percent-encoding in the PIN.
        (
            format!("pkcs11:token=t?module-path={m}&pin-value=s3cr%zz3tQz9"),
            "s3cr%zz3tQz9",
        ),
        // `:` instead of `=`.
        (
            format!("pkcs11:token=t?module-path={m}&pin-value:{SECRET}"),
            SECRET,
        ),
        (
            format!("pkcs11:token=t?module-path={m}&pin-value:S3cr=3tQz9"),
            "S3cr=3tQz9",
        ),
        // The PIN written as the pin-source.
        (
            format!("pkcs11:token=t?module-path={m}&pin-source={SECRET}"),
            SECRET,
        ),
        // Misspelt or misplaced attribute names.
        (
            format!("pkcs11:token=t?module-path={m}&pinvalue={SECRET}"),
            SECRET,
        ),
        (
            format!("pkcs11:token=t;pin-value={SECRET}?module-path={m}"),
            SECRET,
        ),
        (format!("pkcs11:token=t?module-path={m}&={SECRET}"), SECRET),
    ];
    for (uri, secret) in &cases {
        let r = sign(dir.path(), uri);
        assert_one_error(&r);
        assert_hidden(&r, secret);
        assert!(!dir.path().join("m.sig").exists(), "no bundle\n{r}");
    }
    // The messages still say what is wrong.
    sign(
        dir.path(),
        &format!("pkcs11:token=t?module-name=libsofthsm2;pin-value={SECRET}"),
    )
    .assert_stderr_contains("'module-name'")
    .assert_stderr_contains("';'");
    sign(
        dir.path(),
        &format!("pkcs11:token=t?module-path={m}&pin-value:{SECRET}"),
    )
    .assert_stderr_contains("has no '='");
    sign(
        dir.path(),
        &format!("pkcs11:token=t?module-path={m}&pin-value=s3cr%zz3tQz9"),
    )
    .assert_stderr_contains("'pin-value' has a malformed percent-encoding");
}

#[cfg(unix)]
#[test]
fn pkcs11_pin_source_dev_zero_fails_fast() {
    let dir = tempdir();
    let start = Instant::now();
    let r = sign(
        dir.path(),
        "pkcs11:object=k?module-path=/nonexistent/m.so&pin-source=/dev/zero",
    );
    assert_one_error(&r);
    r.assert_stderr_contains("pin-source")
        .assert_stderr_contains("not a regular file");
    assert!(start.elapsed() < Duration::from_secs(10), "{r}");
}

#[cfg(unix)]
#[test]
fn pkcs11_pin_source_fifo_fails_fast() {
    let dir = tempdir();
    let fifo = dir.path().join("pin.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo failed");
    for uri in [
        format!(
            "pkcs11:object=k?module-path=/nonexistent/m.so&pin-source={}",
            fifo.display()
        ),
        format!(
            "pkcs11:object=k?module-path=/nonexistent/m.so&pin-source=file://{}",
            fifo.display()
        ),
    ] {
        let r = sign(dir.path(), &uri);
        assert_one_error(&r);
        r.assert_stderr_contains("not a regular file");
    }
}

#[test]
fn pkcs11_pin_source_over_4_kib_fails() {
    let dir = tempdir();
    let pin = dir.path().join("pin");
    fs::write(&pin, SECRET.repeat(600)).expect("write pin file");
    let r = sign(
        dir.path(),
        &format!(
            "pkcs11:object=k?module-path=/nonexistent/m.so&pin-source={}",
            pin.display()
        ),
    );
    assert_one_error(&r);
    r.assert_stderr_contains("over the 4096-byte limit");
    assert_hidden(&r, SECRET);
    // A directory is no PIN file either; a missing file is named by the error, not by the path.
    let r = sign(
        dir.path(),
        "pkcs11:object=k?module-path=/nonexistent/m.so&pin-source=.",
    );
    assert_one_error(&r);
    r.assert_stderr_contains("not a regular file");
    let r = sign(
        dir.path(),
        &format!("pkcs11:object=k?module-path=/nonexistent/m.so&pin-source=/nonexistent/{SECRET}"),
    );
    assert_one_error(&r);
    r.assert_stderr_contains("cannot read the PIN from pin-source");
    assert_hidden(&r, SECRET);
}
