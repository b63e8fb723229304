//! Security review findings about paths: where the signature is written (finding 3) and whose
//! git-path choice applies on verification (finding 8). Each test is the attack, run against the
//! real binary.

mod common;

use common::*;
use serde_json::{json, Value};
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

fn recorded_ignores(sig: &Path) -> Value {
    use base64::Engine;
    let b: Value = serde_json::from_slice(&fs::read(sig).unwrap()).unwrap();
    let p = base64::engine::general_purpose::STANDARD
        .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let p: Value = serde_json::from_slice(&p).unwrap();
    p["predicate"]["serialization"]["ignore_paths"].clone()
}

#[track_caller]
fn assert_fails(r: &Run, prefix: &str, needle: &str) {
    r.assert_exit(1);
    r.assert_stderr_contains(prefix);
    r.assert_stderr_contains(needle);
    assert!(!r.stderr.contains("panicked"), "{r}");
}

#[track_caller]
fn assert_no_temp_files(dir: &Path) {
    let leftovers: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".model-signing-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left in {}: {leftovers:?}",
        dir.display()
    );
}

/// A model with a FIFO: hashing it fails ("FIFO"), so a test can tell that a refusal came first.
fn make_fifo(dir: &Path) {
    assert!(std::process::Command::new("mkfifo")
        .arg(dir.join("fifo"))
        .status()
        .unwrap()
        .success());
}

// ---------------------------------------------------------------------------
// Finding 3: the signature path
// ---------------------------------------------------------------------------

/// `out.sig -> m/w.bin`: signing used to record `w.bin` as ignored and replace the link, so a later
/// tampered `w.bin` verified. Now the link is refused and nothing is written.
#[test]
fn signature_symlink_into_the_model_is_refused() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_small_model(t.path(), "m");
    let weights = write_file(&model, "w.bin", pattern(64, 7));
    let out = t.path().join("out.sig");
    symlink(&weights, &out).unwrap();

    assert_fails(
        &sign_key(&model, &key, &out, &[]),
        "Signing failed with error",
        "is a symbolic link",
    );
    assert!(fs::symlink_metadata(&out).unwrap().is_symlink());
    assert_eq!(fs::read_link(&out).unwrap(), weights);
    assert_eq!(fs::read(&weights).unwrap(), pattern(64, 7));
    assert_no_temp_files(t.path());

    // Signing elsewhere, w.bin is signed and its tampering is caught.
    let sig = t.path().join("real.sig");
    sign_key(&model, &key, &sig, &[]).assert_success();
    assert_eq!(
        recorded_ignores(&sig),
        json!([".git", ".gitattributes", ".github", ".gitignore"])
    );
    tamper(&weights, 3);
    assert_fails(
        &verify_key(&model, &key, &sig, &[]),
        "Verification failed with error",
        "changed: w.bin",
    );
}

/// A dangling link (to where a signature could go, inside the model) is refused as well: the bundle
/// is never written through a link.
#[test]
fn dangling_signature_symlink_is_refused() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_small_model(t.path(), "m");
    let out = t.path().join("out.sig");
    symlink(model.join("new.sig"), &out).unwrap();
    assert_fails(
        &sign_key(&model, &key, &out, &[]),
        "Signing failed with error",
        "is a symbolic link",
    );
    assert!(!model.join("new.sig").exists());
    assert!(fs::symlink_metadata(&out).unwrap().is_symlink());
    assert_no_temp_files(t.path());
}

/// `--signature m/w.bin` used to exclude the weights from the signature and overwrite them.
#[test]
fn signature_path_on_a_model_file_is_refused() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_small_model(t.path(), "m");
    let weights = write_file(&model, "w.bin", pattern(64, 7));
    let r = run(model_signing().current_dir(t.path()).args(args![
        "sign",
        "key",
        "--private-key",
        &key.private_key,
        "--signature",
        "m/w.bin",
        "m"
    ]));
    assert_fails(
        &r,
        "Signing failed with error",
        "'m/w.bin' exists and is not a signature bundle; refusing to overwrite it",
    );
    assert_eq!(fs::read(&weights).unwrap(), pattern(64, 7));
    assert_no_temp_files(&model);

    // Other files that are not bundles: an empty file, JSON with another media type, a directory.
    let empty = write_file(t.path(), "empty.sig", "");
    let root = write_file(
        t.path(),
        "root.json",
        r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}"#,
    );
    for p in [&empty, &root] {
        let before = fs::read(p).unwrap();
        assert_fails(
            &sign_key(&model, &key, p, &[]),
            "",
            "exists and is not a signature bundle",
        );
        assert_eq!(fs::read(p).unwrap(), before);
    }
    assert_fails(
        &sign_key(&model, &key, &model.join("b"), &[]),
        "",
        "is a directory",
    );
    assert_no_temp_files(t.path());
}

/// The refusal happens before the model is read: a model that cannot be hashed (a FIFO in it)
/// reports the signature path, not the FIFO. The keyless method checks before asking for a token.
#[test]
fn refused_signature_paths_cost_no_hashing() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_small_model(t.path(), "m");
    make_fifo(&model);
    let not_bundle = write_file(t.path(), "notes.txt", "notes");
    let link = t.path().join("link.sig");
    symlink(&not_bundle, &link).unwrap();
    for sig in [&not_bundle, &link] {
        let r = sign_key(&model, &key, sig, &[]);
        assert_fails(&r, "Signing failed with error", "refusing");
        assert!(!r.stderr.contains("FIFO"), "{r}");
    }
    let r = ms(args![
        "sign",
        "sigstore",
        "--identity-token",
        "not-a-token",
        "--signature",
        &link,
        &model
    ]);
    assert_fails(&r, "Signing failed with error", "is a symbolic link");
    assert!(!r.stderr.contains("token"), "{r}");
    let r = ms(args![
        "sign",
        "sigstore",
        "--identity-token",
        "not-a-token",
        "--signature",
        t.path().join("no-such-dir/model.sig"),
        &model
    ]);
    assert_fails(&r, "Signing failed with error", "no-such-dir");
    assert!(!r.stderr.contains("token"), "{r}");
    assert_eq!(fs::read_to_string(&not_bundle).unwrap(), "notes");
}

/// An existing bundle (ours, or one of another media type version) is replaced; a signature inside
/// the model is excluded under the name it is written to.
#[test]
fn existing_bundles_are_replaced() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_small_model(t.path(), "m");
    let sig = model.join("model.sig");
    sign_key(&model, &key, &sig, &[]).assert_success();
    sign_key(&model, &key, &sig, &[]).assert_success();
    let old = write_file(
        t.path(),
        "old.sig",
        r#" {"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2", "x": [1, {"y": null}]}"#,
    );
    sign_key(&model, &key, &old, &[]).assert_success();
    verify_key(&model, &key, &old, &[]).assert_success();
    assert_eq!(
        recorded_ignores(&sig),
        json!([
            ".git",
            ".gitattributes",
            ".github",
            ".gitignore",
            "claims.jsonl",
            "model.sig"
        ])
    );
    verify_key(&model, &key, &sig, &[]).assert_success();
    assert_no_temp_files(&model);
    assert_no_temp_files(t.path());
}

/// The exclusion is computed from the path as given: directories on the way are resolved (a link
/// to the model, `..`), the final component is not followed.
#[test]
fn signature_exclusion_follows_directories_not_the_file() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_small_model(t.path(), "m");
    symlink(&model, t.path().join("alias")).unwrap();
    let r = run(model_signing().current_dir(t.path()).args(args![
        "sign",
        "key",
        "--private-key",
        &key.private_key,
        "--signature",
        "alias/b/../inner.sig",
        "m"
    ]));
    r.assert_success();
    assert!(model.join("inner.sig").is_file());
    assert_eq!(
        recorded_ignores(&model.join("inner.sig")),
        json!([
            ".git",
            ".gitattributes",
            ".github",
            ".gitignore",
            "claims.jsonl",
            "inner.sig"
        ])
    );
    verify_key(&model, &key, &model.join("inner.sig"), &[]).assert_success();

    // On verify, a signature reached through a link is not excluded under its target's name: a
    // copy of the bundle inside the model is an unsigned file like any other.
    let outside = t.path().join("outside.sig");
    sign_key(&model, &key, &outside, &[]).assert_success();
    fs::copy(&outside, model.join("copy.sig")).unwrap();
    let link = t.path().join("link.sig");
    symlink(model.join("copy.sig"), &link).unwrap();
    assert_fails(
        &verify_key(&model, &key, &link, &[]),
        "Verification failed with error",
        "extra:   copy.sig",
    );
}

/// The bundle's mode follows the umask (0666 & !umask), like any file the user creates.
#[test]
fn signature_mode_follows_the_umask() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_small_model(t.path(), "m");
    for (umask, mode) in [("027", 0o640), ("022", 0o644), ("077", 0o600)] {
        let sig = t.path().join(format!("{umask}.sig"));
        let r = run(std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(bin())
            .args(args![
                "sign",
                "key",
                "--private-key",
                &key.private_key,
                "--signature",
                &sig,
                &model
            ]));
        r.assert_success();
        let got = fs::metadata(&sig).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "umask {umask}: mode {got:o}");
    }
}

// ---------------------------------------------------------------------------
// Finding 8: the signer's git-path choice
// ---------------------------------------------------------------------------

fn make_git_model(dir: &Path) -> std::path::PathBuf {
    let model = make_small_model(dir, "m");
    write_file(&model, ".gitattributes", "*.bin filter=lfs\n");
    write_file(&model, ".github/wf.yml", "on: push\n");
    model
}

/// Signed with `--no-ignore-git-paths`, the git files are signed content: the verifier used to
/// ignore them anyway, so the signed `.gitattributes` was "missing" and an unsigned `.github/x`
/// was accepted.
#[test]
fn signer_git_choice_decides_on_verify() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_git_model(t.path());
    let sig = model.join("model.sig");
    sign_key(&model, &key, &sig, &["--no-ignore-git-paths"]).assert_success();
    // The claims file beside the signature is left out with it (attestations added later).
    assert_eq!(recorded_ignores(&sig), json!(["claims.jsonl", "model.sig"]));
    verify_key(&model, &key, &sig, &[]).assert_success();
    verify_key(&model, &key, &sig, &["--no-ignore-git-paths"]).assert_success();

    write_file(&model, ".github/x", "unsigned");
    for flags in [&[][..], &["--no-ignore-git-paths"]] {
        assert_fails(
            &verify_key(&model, &key, &sig, flags),
            "Verification failed with error",
            "extra:   .github/x",
        );
    }
    // Asked for explicitly, the git paths are ignored on top of the recorded list, and the signed
    // git files then count as missing.
    let r = verify_key(&model, &key, &sig, &["--ignore-git-paths"]);
    assert_fails(
        &r,
        "Verification failed with error",
        "missing: .gitattributes",
    );
    r.assert_stderr_contains("missing: .github/wf.yml");
    assert!(!r.stderr.contains("extra:"), "{r}");
}

/// As above with the signature outside the model: the recorded list is empty (`[]`), which is not
/// the same as no list (pre-1.1 bundles).
#[test]
fn signer_git_choice_decides_with_an_empty_recorded_list() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_git_model(t.path());
    let sig = t.path().join("model.sig");
    sign_key(&model, &key, &sig, &["--no-ignore-git-paths"]).assert_success();
    assert_eq!(recorded_ignores(&sig), json!([]));
    verify_key(&model, &key, &sig, &[]).assert_success();
    write_file(&model, ".github/x", "unsigned");
    assert_fails(
        &verify_key(&model, &key, &sig, &[]),
        "Verification failed with error",
        "extra:   .github/x",
    );
}

/// Signed with the default, the recorded list holds the git paths: later git files verify,
/// whatever the verifier's git flag.
#[test]
fn default_signing_ignores_git_paths_on_verify() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_git_model(t.path());
    let sig = t.path().join("model.sig");
    sign_key(&model, &key, &sig, &[]).assert_success();
    assert_eq!(
        recorded_ignores(&sig),
        json!([".git", ".gitattributes", ".github", ".gitignore"])
    );
    write_file(&model, ".github/x", "unsigned");
    write_file(&model, ".git/HEAD", "ref: refs/heads/main\n");
    for flags in [&[][..], &["--ignore-git-paths"], &["--no-ignore-git-paths"]] {
        verify_key(&model, &key, &sig, flags).assert_success();
    }
}

/// Bundles from before 1.1 record no ignore paths at all: their signers ignored the git paths by
/// default, so the verifier still does, unless told not to.
#[test]
fn pre_1_1_bundles_keep_the_git_default() {
    let Some(v) = vectors() else { return };
    let src = v.join("model-transparency/scripts/tests");
    let public_key = src.join("keys/certificate/signing-key-pub.pem");
    let ca = src.join("keys/certificate/ca-cert.pem");
    let t = tempdir();
    for (dir, method) in [
        ("v1.0.1-elliptic-key", "key"),
        ("v1.0.0-certificate", "certificate"),
    ] {
        let model = t.path().join(dir);
        copy_dir(&src.join(dir), &model);
        let sig = model.join("model.sig");
        assert_eq!(recorded_ignores(&sig), Value::Null, "{dir}");
        write_file(&model, ".github/x", "unsigned");
        write_file(&model, ".gitignore", "*.tmp\n");
        let verify = |extra: &[&str]| {
            let mut a = args!["verify", method, "--signature", &sig];
            match method {
                "key" => a.extend(args!["--public-key", &public_key]),
                _ => a.extend(args!["--certificate-chain", &ca]),
            }
            if model.join("ignore-me").exists() {
                a.extend(args!["--ignore-paths", model.join("ignore-me")]);
            }
            a.extend(extra.iter().map(OsString::from));
            a.push(model.clone().into());
            ms(a)
        };
        verify(&[])
            .assert_success()
            .assert_stdout_contains("Verification succeeded");
        verify(&["--ignore-git-paths"]).assert_success();
        let r = verify(&["--no-ignore-git-paths"]);
        assert_fails(&r, "Verification failed with error", "extra:   .github/x");
        r.assert_stderr_contains("extra:   .gitignore");
    }
}

/// A signer who recorded `allow_symlinks` does not get to make the verifier follow a link out of
/// the model: the uploader of a model that a hub verifies could link `weights.bin` to any file of
/// the hub's and read its digest in the mismatch report. Links inside the model are followed on
/// the signer's word; a link out needs the verifier's own `--allow-symlinks`, and the refusal
/// names the link, not its target or a digest of it.
#[test]
fn a_recorded_allow_symlinks_does_not_follow_links_out_of_the_model() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let secret = write_file(t.path(), "secret-of-the-verifier", "s3cret\n");
    let model = make_small_model(t.path(), "m");
    write_file(&model, "inner-target.bin", "inner");
    std::os::unix::fs::symlink(model.join("inner-target.bin"), model.join("inner-link.bin"))
        .unwrap();
    let sig = t.path().join("m.sig");
    sign_key(&model, &key, &sig, &["--allow-symlinks"]).assert_success();
    // Links inside the model: followed on the signer's word.
    verify_key(&model, &key, &sig, &[]).assert_success();

    // The uploader's model links out; it was signed that way (its own machine had a file there).
    let upload = make_small_model(t.path(), "upload");
    std::os::unix::fs::symlink(&secret, upload.join("weights.bin")).unwrap();
    let usig = t.path().join("u.sig");
    sign_key(&upload, &key, &usig, &["--allow-symlinks"]).assert_success();
    fs::write(&secret, "the verifier's own content\n").unwrap();
    let r = verify_key(&upload, &key, &usig, &[]);
    r.assert_exit(1)
        .assert_stderr_contains("weights.bin")
        .assert_stderr_contains("leads out of the model");
    let digest = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(fs::read(&secret).unwrap()))
    };
    assert!(!r.stderr.contains(&digest), "{}", r.stderr);
    assert!(!r.stderr.contains("secret-of-the-verifier"), "{}", r.stderr);
    // With the verifier's own consent the link is followed (and the change reported).
    let r = verify_key(&upload, &key, &usig, &["--allow-symlinks"]);
    r.assert_exit(1)
        .assert_stderr_contains("changed: weights.bin");

    // A link to a directory out of the model is refused at the link: nothing behind it is
    // listed or named (the review saw `cfg/id_ed25519_work_laptop` in the error, and a WARN
    // line per entry of `/` for a link to it).
    let private = t.path().join("private-dir");
    write_file(&private, "id_ed25519_work_laptop", "key");
    let dirup = make_small_model(t.path(), "dirup");
    symlink(&private, dirup.join("cfg")).unwrap();
    let dsig = t.path().join("d.sig");
    // Signed where the signer chose to follow it (its own machine).
    sign_key(&dirup, &key, &dsig, &["--allow-symlinks"]).assert_success();
    symlink("/", dirup.join("root")).unwrap();
    let r = verify_key(&dirup, &key, &dsig, &[]);
    r.assert_exit(1)
        .assert_stderr_contains("leads out of the model");
    assert!(!r.stderr.contains("id_ed25519"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("/etc") && !r.stderr.contains("root/"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("WARN"), "{}", r.stderr);
}
