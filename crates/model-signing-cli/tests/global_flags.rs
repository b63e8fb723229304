//! Global flags (`--log-level`) before the command, between `sign`/`verify` and the method, and
//! after the method, on the real binary. Between the command and the method used to exit 2
//! ("unexpected argument"): the default method was inserted in front of the flag.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// A key pair, a small model reached through a symlink (so that a debug line is logged: the walk
/// says it follows the model path), and where the signature goes.
struct Setup {
    t: TempDir,
    key: KeyPair,
    model: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let t = tempdir();
        let key = gen_ec_key(t.path(), "k", Curve::P256);
        let real = make_small_model(t.path(), "m");
        let model = t.path().join("m-link");
        std::os::unix::fs::symlink(&real, &model).expect("symlink the model");
        Setup { t, key, model }
    }

    fn sig(&self, name: &str) -> PathBuf {
        self.t.path().join(name)
    }
}

/// The debug line the walk logs for a model path that is a symlink.
const DEBUG_LINE: &str = "is a symlink; following it";

fn assert_debug_logged(r: &Run) {
    r.assert_stderr_contains(DEBUG_LINE);
}

fn assert_nothing_below_warning(r: &Run) {
    assert!(
        !r.stderr.contains(DEBUG_LINE) && !r.stderr.contains("INFO"),
        "expected no debug or info lines\n{r}"
    );
}

fn sign_args(s: &Setup, sig: &Path) -> Vec<std::ffi::OsString> {
    args![
        "--private-key",
        &s.key.private_key,
        "--signature",
        sig,
        &s.model
    ]
}

#[test]
fn sign_with_log_level_between_sign_and_the_method() {
    let s = Setup::new();
    let sig = s.sig("between.sig");
    let mut a = args!["sign", "--log-level", "DEBUG", "key"];
    a.extend(sign_args(&s, &sig));
    let r = ms(a);
    r.assert_success()
        .assert_stdout_contains("Signing succeeded");
    assert_debug_logged(&r);
    // The `=` form and the Python spelling, in the same place.
    let sig = s.sig("between-eq.sig");
    let mut a = args!["sign", "--log_level=DEBUG", "key"];
    a.extend(sign_args(&s, &sig));
    let r = ms(a);
    r.assert_success();
    assert_debug_logged(&r);
    verify_key(&s.model, &s.key, &sig, &[]).assert_success();
}

#[test]
fn sign_with_log_level_after_the_method() {
    let s = Setup::new();
    let sig = s.sig("after.sig");
    let mut a = args!["sign", "key", "--log-level", "DEBUG"];
    a.extend(sign_args(&s, &sig));
    let r = ms(a);
    r.assert_success()
        .assert_stdout_contains("Signing succeeded");
    assert_debug_logged(&r);
    // Before the command, as before.
    let sig = s.sig("before.sig");
    let mut a = args!["--log-level", "DEBUG", "sign", "key"];
    a.extend(sign_args(&s, &sig));
    let r = ms(a);
    r.assert_success();
    assert_debug_logged(&r);
}

#[test]
fn verify_with_log_level_in_every_position() {
    let s = Setup::new();
    let sig = s.sig("model.sig");
    sign_key(&s.model, &s.key, &sig, &[]).assert_success();
    // After the method, in the middle of the method's own flags.
    let r = ms(args![
        "verify",
        "key",
        &s.model,
        "--log-level",
        "WARNING",
        "--public-key",
        &s.key.public_key,
        "--signature",
        &sig
    ]);
    r.assert_success()
        .assert_stdout_contains("Verification succeeded");
    assert_nothing_below_warning(&r);
    let tail = args![
        "--public-key",
        &s.key.public_key,
        "--signature",
        &sig,
        &s.model
    ];
    for head in [
        args!["verify", "--log-level", "WARNING", "key"],
        args!["verify", "--log-level=WARNING", "key"],
        args!["--log-level", "WARNING", "verify", "key"],
    ] {
        let mut a = head;
        a.extend(tail.iter().cloned());
        let r = ms(a);
        r.assert_success()
            .assert_stdout_contains("Verification succeeded");
        assert_nothing_below_warning(&r);
    }
    // DEBUG between `verify` and the method takes effect too.
    let mut a = args!["verify", "--log-level", "DEBUG", "key"];
    a.extend(tail.iter().cloned());
    let r = ms(a);
    r.assert_success();
    assert_debug_logged(&r);
}
