//! The fault suite of the reliability review (issue 21), on the real binary: signals at each phase
//! of signing, two signers and a verifier at once, an unwritable signature directory, a file
//! replaced while it is hashed, a signature too large to read, deep trees, hostile names, full and
//! closed output streams, sparse files on tmpfs, and the directory sync after the rename.
//!
//! The phases are reached by running the binary under `strace` with one system call delayed
//! (`common::strace`): deterministic, where sleeping and hoping was not (the review saw its races
//! in 3 of 3, 4 of 150 and 31 of 653 runs).

mod common;

use common::strace::{strace, Traced};
use common::*;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DELAY: Duration = Duration::from_millis(1500);
const PHASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Names in `dir` that are not `keep`: what a failed or interrupted sign must not leave.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    v.sort();
    v
}

/// A model with a few small files (hashed with `pread`, which the hashing phase delays).
fn model(t: &Path) -> std::path::PathBuf {
    let m = t.join("model");
    write_file(&m, "config.json", b"{\"layers\": 2}\n");
    write_file(&m, "weights.bin", pattern(200_000, 7));
    write_file(&m, "sub/tokenizer.txt", b"a b c\n");
    m
}

/// The resource names a bundle lists.
fn listed_names(sig: &Path) -> Vec<String> {
    let bundle: serde_json::Value = serde_json::from_slice(&fs::read(sig).unwrap()).unwrap();
    let payload = bundle["dsseEnvelope"]["payload"].as_str().unwrap();
    use base64::Engine as _;
    let statement: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    statement["predicate"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rows 1 and 13: signals at each phase; the rename is synced
// ---------------------------------------------------------------------------------------------

/// The phases of a sign and the system call that holds the binary in each: reading a model file,
/// syncing the new signature's data, renaming it into place.
const PHASES: [(&str, &str); 3] = [
    ("hashing", "pread64"),
    ("writing", "fsync"),
    ("renaming", "/^rename"),
];

#[test]
fn a_signal_at_any_phase_leaves_no_temporary_file() {
    let Some(strace) = strace() else { return };
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = model(t.path());
    let sig = m.join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &[])).assert_success();
    let old = fs::read(&sig).unwrap();
    let files = ["config.json", "weights.bin", "sub", "model.sig"];
    for (phase, call) in PHASES {
        for signal in ["INT", "TERM", "HUP"] {
            // A different ignore path makes a different statement, so a signature that landed
            // is told from the old one by its bytes.
            let nothing = m.join("nothing-here");
            let extra = ["--ignore-paths", nothing.to_str().unwrap()];
            // In the hashing phase only reads of the model's file are delayed (`-P`), not the
            // loader's own reads.
            let weights = m.join("weights.bin");
            let opts: Vec<&str> = if phase == "hashing" {
                vec!["-P", weights.to_str().unwrap()]
            } else {
                vec![]
            };
            let run = Traced::start(
                &strace,
                t.path(),
                &opts,
                call,
                1,
                DELAY,
                sign_key_args(&m, &key, &sig, &extra),
            );
            let line = run.wait_for(call.trim_start_matches("/^"), PHASE_TIMEOUT);
            run.signal(&line, signal);
            let end = run.finish();
            let what = format!("SIG{signal} while {phase}");
            assert_eq!(
                leftovers(&m, &files),
                Vec::<String>::new(),
                "{what}: files left in the model\n{}",
                end.log
            );
            let now = fs::read(&sig).unwrap();
            if phase == "renaming" {
                // The rename was under way: it finishes, then the signal ends the process, unless
                // the command finished first (then it exits 0: it did all it says).
                assert_ne!(now, old, "{what}: the rename did not complete");
                assert!(
                    end.status.success() || end.status.signal().is_some(),
                    "{what}: {:?}\n{}",
                    end.status,
                    end.stderr
                );
                // Never "Signing succeeded" and then death by the signal (exit 143 after it).
                assert!(
                    !end.stdout.contains("Signing succeeded") || end.status.success(),
                    "{what}: success was printed, then the process ended by the signal ({:?})",
                    end.status
                );
            } else {
                assert_eq!(
                    end.status.signal(),
                    Some(signal_number(signal)),
                    "{what}: not ended by the signal\n{}",
                    end.stderr
                );
                assert_eq!(now, old, "{what}: the old signature changed");
            }
            verify_key(&m, &key, &sig, &[]).assert_success();
            fs::write(&sig, &old).unwrap();
        }
    }
}

fn signal_number(name: &str) -> i32 {
    match name {
        "HUP" => 1,
        "INT" => 2,
        "TERM" => 15,
        _ => panic!("signal {name}"),
    }
}

#[test]
fn the_directory_is_synced_after_the_rename() {
    let Some(strace) = strace() else { return };
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = model(t.path());
    let sig = t.path().join("out").join("model.sig");
    fs::create_dir(t.path().join("out")).unwrap();
    // -y shows the path behind each descriptor.
    let run = Traced::start(
        &strace,
        t.path(),
        &["-y"],
        "fsync,/^rename",
        1,
        Duration::ZERO,
        sign_key_args(&m, &key, &sig, &[]),
    );
    let end = run.finish();
    assert!(end.status.success(), "{}", end.stderr);
    let lines: Vec<&str> = end.log.lines().collect();
    let renamed = lines
        .iter()
        .position(|l| l.contains("rename") && l.contains("model.sig"))
        .unwrap_or_else(|| panic!("no rename to model.sig:\n{}", end.log));
    let dir = fs::canonicalize(t.path().join("out")).unwrap();
    let dir_fd = format!("<{}>)", dir.display());
    assert!(
        lines[renamed..]
            .iter()
            .any(|l| l.contains("fsync(") && l.contains(&dir_fd)),
        "no fsync of {} after the rename:\n{}",
        dir.display(),
        end.log
    );
}

// ---------------------------------------------------------------------------------------------
// Row 2: concurrent signers and verifiers
// ---------------------------------------------------------------------------------------------

#[test]
fn a_verify_during_a_re_sign_never_sees_the_new_signature_half_made() {
    let Some(strace) = strace() else { return };
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = model(t.path());
    let sig = m.join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &[])).assert_success();
    for (phase, call) in &PHASES[1..] {
        let run = Traced::start(
            &strace,
            t.path(),
            &[],
            call,
            1,
            DELAY,
            sign_key_args(&m, &key, &sig, &[]),
        );
        run.wait_for(call.trim_start_matches("/^"), PHASE_TIMEOUT);
        // The signer is stopped with its new signature staged (or being renamed): a verifier
        // walking the model now must see the model and one whole signature, nothing else.
        let v = verify_key(&m, &key, &sig, &[]);
        let end = run.finish();
        assert!(end.status.success(), "{}", end.stderr);
        v.assert_success();
        let _ = phase;
    }
}

#[test]
fn two_signers_of_one_model_each_sign_only_the_model() {
    let Some(strace) = strace() else { return };
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = model(t.path());
    let sig = m.join("model.sig");
    for (phase, call) in &PHASES[1..] {
        // The first signer stops with its signature staged (or being renamed); the second signs
        // the same model to the same path meanwhile.
        let first = Traced::start(
            &strace,
            t.path(),
            &[],
            call,
            1,
            DELAY,
            sign_key_args(&m, &key, &sig, &[]),
        );
        first.wait_for(call.trim_start_matches("/^"), PHASE_TIMEOUT);
        let second_sig = t.path().join("second.sig");
        // The second signer's own bundle, signed while the first one's is staged in the model.
        ms(sign_key_args(
            &m,
            &key,
            &second_sig,
            &["--ignore-paths", sig.to_str().unwrap()],
        ))
        .assert_success();
        ms(sign_key_args(&m, &key, &sig, &[])).assert_success();
        let end = first.finish();
        assert!(end.status.success(), "{phase}: {}", end.stderr);
        for s in [&second_sig, &sig] {
            let names = listed_names(s);
            assert!(
                names.iter().all(|n| !n.contains(".model-signing")),
                "{phase}: a signer listed another's temporary file: {names:?}"
            );
        }
        verify_key(&m, &key, &sig, &[]).assert_success();
        assert_eq!(
            leftovers(&m, &["config.json", "weights.bin", "sub", "model.sig"]),
            Vec::<String>::new()
        );
    }
}

#[test]
fn concurrent_signers_and_verifiers_without_delays() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = model(t.path());
    let sig = m.join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &[])).assert_success();
    let spawn = |a: Vec<OsString>| {
        model_signing()
            .args(a)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let verify_args = |s: &Path| {
        args![
            "verify",
            "key",
            "--public-key",
            &key.public_key,
            "--signature",
            s,
            &m
        ]
    };
    for round in 0..25 {
        let children = vec![
            spawn(sign_key_args(&m, &key, &sig, &[])),
            spawn(sign_key_args(&m, &key, &sig, &[])),
            spawn(verify_args(&sig)),
            spawn(verify_args(&sig)),
        ];
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        verify_key(&m, &key, &sig, &[]).assert_success();
    }
}

/// A process that holds every directory of a model locked (another program, or a stuck one)
/// delays a walk by `DIR_LOCK_WAIT` (2 s) in all, not per directory; a signer's rename by as much.
#[test]
fn directory_locks_held_forever_delay_a_walk_by_the_bound_once() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    let mut dirs = vec![m.clone()];
    for i in 0..20 {
        let d = m.join(format!("d{i}"));
        write_file(&d, "f.txt", format!("file {i}"));
        dirs.push(d);
    }
    let sig = m.join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &[])).assert_success();
    let holder = "import fcntl, os, sys\n\
        fds = [os.open(d, os.O_RDONLY) for d in sys.argv[1:]]\n\
        [fcntl.flock(fd, fcntl.LOCK_EX) for fd in fds]\n\
        print('locked', flush=True)\n\
        sys.stdin.read()\n";
    let mut child = Command::new("python3")
        .args(["-c", holder])
        .args(&dirs)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let start = Instant::now();
    let v = verify_key(&m, &key, &sig, &[]);
    let verify_took = start.elapsed();
    let start = Instant::now();
    let s = ms(sign_key_args(&m, &key, &sig, &[]));
    let sign_took = start.elapsed();
    drop(child.stdin.take());
    let _ = child.wait();
    v.assert_success();
    s.assert_success();
    // One 2 s wait for the walk (21 directories), one for the rename; 21 x 2 s over the
    // workers if it were per directory.
    assert!(
        verify_took < Duration::from_secs(8),
        "verify took {verify_took:?}"
    );
    assert!(
        sign_took < Duration::from_secs(12),
        "sign took {sign_took:?}"
    );
    verify_key(&m, &key, &sig, &[]).assert_success();
}

// ---------------------------------------------------------------------------------------------
// Row 3: an unwritable signature directory is found before hashing
// ---------------------------------------------------------------------------------------------

/// Runs our binary as an unprivileged user when the tests run as root (permissions do not bind
/// root), else as is.
fn as_unprivileged(args: Vec<OsString>) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin())
            .args(args);
        c
    } else {
        let mut c = model_signing();
        c.args(args);
        c
    }
}

#[test]
fn an_unwritable_signature_directory_fails_before_hashing() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    // A 64 GiB sparse file: half a minute or more of hashing, if it were hashed.
    let m = t.path().join("model");
    fs::create_dir(&m).unwrap();
    fs::File::create(m.join("huge.bin"))
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    let out = t.path().join("readonly");
    fs::create_dir(&out).unwrap();
    let mut perms = fs::metadata(&out).unwrap().permissions();
    use std::os::unix::fs::PermissionsExt;
    perms.set_mode(0o555);
    fs::set_permissions(&out, perms).unwrap();
    for p in [t.path(), &m, &key.private_key] {
        let mode = if p.is_dir() { 0o755 } else { 0o644 };
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }
    let sig = out.join("model.sig");
    let start = Instant::now();
    let r = run(&mut as_unprivileged(sign_key_args(&m, &key, &sig, &[])));
    let took = start.elapsed();
    r.assert_exit(1)
        .assert_stderr_contains("is not writable")
        .assert_stderr_contains("Permission denied");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}: the model was hashed before the directory was checked\n{r}"
    );
    assert_eq!(leftovers(&out, &[]), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Row 4: a file replaced while it is hashed
// ---------------------------------------------------------------------------------------------

#[test]
fn a_file_replaced_by_rename_while_hashed_fails_the_sign() {
    let Some(strace) = strace() else { return };
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = model(t.path());
    let sig = t.path().join("model.sig");
    let target = m.join("weights.bin");
    let modes: [&[&str]; 4] = [
        &[],
        &["--hash-algorithm", "blake3"],
        &["--shard-size", "65536"],
        &["--hash-algorithm", "blake3", "--shard-size", "65536"],
    ];
    for (i, extra) in modes.iter().enumerate() {
        let target_s = target.to_str().unwrap();
        let run = Traced::start(
            &strace,
            t.path(),
            &["-P", target_s],
            "pread64",
            1,
            DELAY,
            sign_key_args(&m, &key, &sig, extra),
        );
        run.wait_for("pread64", PHASE_TIMEOUT);
        // An editor's save or a finished download: a new file renamed over the old one.
        let staged = t.path().join(format!("new-{i}"));
        fs::write(&staged, pattern(200_000, 100 + i as u8)).unwrap();
        fs::rename(&staged, &target).unwrap();
        let end = run.finish();
        assert_eq!(end.status.code(), Some(1), "{extra:?}: {}", end.stderr);
        assert!(
            end.stderr.contains("changed while it was being hashed"),
            "{extra:?}: {}",
            end.stderr
        );
        assert!(!sig.exists(), "{extra:?}: a signature was written");
    }
}

// ---------------------------------------------------------------------------------------------
// Row 5: a signature verify would refuse is never written
// ---------------------------------------------------------------------------------------------

#[test]
fn a_signature_over_the_verifiers_cap_is_refused_before_hashing() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    fs::create_dir(&m).unwrap();
    // 3 GiB of holes in 1 KiB shards: 3.1 million resources, a statement over 256 MiB.
    fs::File::create(m.join("w.bin"))
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let sig = t.path().join("model.sig");
    let start = Instant::now();
    let r = ms(sign_key_args(&m, &key, &sig, &["--shard-size", "1024"]));
    r.assert_exit(1)
        .assert_stderr_contains("MiB a verifier reads");
    assert_eq!(r.stderr.lines().count(), 1, "{r}");
    assert!(!sig.exists());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "refused after {:?}: it was hashed first",
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// Rows 6, 8 and 9: any tree, one line
// ---------------------------------------------------------------------------------------------

#[test]
fn a_deep_tree_is_one_line_for_sign_verify_and_digest() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    write_file(&m, "top.txt", b"top");
    let sig = t.path().join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &[])).assert_success();
    // 1,000 levels: the review's 967 overflowed the walker's stack (exit 134).
    let mut deep = m.clone();
    for _ in 0..1000 {
        deep.push("d");
    }
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("f"), b"x").unwrap();
    for r in [
        ms(args!["digest", &m]),
        ms(sign_key_args(&m, &key, &t.path().join("new.sig"), &[])),
        verify_key(&m, &key, &sig, &[]),
    ] {
        r.assert_exit(1)
            .assert_stderr_contains("more than 256 directories deep");
        assert_eq!(r.stderr.lines().count(), 1, "{r}");
    }
}

#[test]
fn hostile_names_in_the_tree_reach_the_terminal_escaped() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    write_file(&m, "ok.txt", b"ok");
    let sig = t.path().join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &[])).assert_success();
    // A name that clears the screen and forges a success line, as the review made one.
    let evil = "x\u{1b}[2J\u{1b}[H\nVerification succeeded\r\u{7f}";
    fs::write(m.join(evil), b"payload").unwrap();
    for r in [
        ms(sign_key_args(&m, &key, &t.path().join("new.sig"), &[])),
        verify_key(&m, &key, &sig, &[]),
        ms(args!["digest", &m]),
    ] {
        r.assert_exit(1);
        assert_eq!(r.stderr.lines().count(), 1, "{r}");
        assert!(
            !r.stderr.contains('\u{1b}') && !r.stderr.contains('\r'),
            "{r}"
        );
        assert!(!r.stdout.contains("Verification succeeded"), "{r}");
        assert!(
            r.stderr.contains("\\u{1b}") || r.stderr.contains("\\x1b") || r.stderr.contains("\\e"),
            "the name is shown escaped: {r}"
        );
    }
    assert!(!t.path().join("new.sig").exists());
}

// ---------------------------------------------------------------------------------------------
// Row 11: full and closed output streams
// ---------------------------------------------------------------------------------------------

#[test]
fn a_full_or_closed_output_stream_is_exit_1_not_a_panic() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = model(t.path());
    let sig = t.path().join("model.sig");
    let full = || {
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };

    // stdout on a full disk, after the signature was written.
    let out = model_signing()
        .args(sign_key_args(&m, &key, &sig, &[]))
        .stdout(full())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains(
            "the signature was written, but the result could not be written to standard output"
        ),
        "{stderr}"
    );
    verify_key(&m, &key, &sig, &[]).assert_success();

    // Both streams full, on success and on failure: no panic (exit 101) either way.
    for (what, a) in [
        (
            "verify",
            args![
                "verify",
                "key",
                "--public-key",
                &key.public_key,
                "--signature",
                &sig,
                &m
            ],
        ),
        (
            "failing verify",
            args![
                "verify",
                "key",
                "--public-key",
                &key.public_key,
                "--signature",
                &t.path().join("none.sig"),
                &m
            ],
        ),
        ("digest", args!["digest", &m]),
    ] {
        let st = model_signing()
            .args(a)
            .stdout(full())
            .stderr(full())
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(1), "{what}: {st:?}");
    }

    // A reader that closed the pipe (`| head -c10`) before a long JSON report.
    let mut child = model_signing()
        .args(args![
            "verify",
            "key",
            "--public-key",
            &key.public_key,
            "--signature",
            &sig,
            "--output",
            "json",
            &m
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Row 12: sparse files on tmpfs
// ---------------------------------------------------------------------------------------------

#[test]
fn hashing_a_sparse_file_on_tmpfs_allocates_nothing() {
    let shm = Path::new("/dev/shm");
    let is_tmpfs = Command::new("stat")
        .args(["-f", "-c", "%T", "/dev/shm"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "tmpfs")
        .unwrap_or(false);
    if !is_tmpfs {
        eprintln!("NOTE: /dev/shm is not a tmpfs here; skipping the sparse-file test");
        return;
    }
    let t = tempfile::Builder::new()
        .prefix("ms-sparse-")
        .tempdir_in(shm)
        .unwrap();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    fs::create_dir(&m).unwrap();
    let f = m.join("holes.bin");
    fs::File::create(&f).unwrap().set_len(256 << 20).unwrap();
    fs::write(m.join("small.txt"), b"data").unwrap();
    // All hole, with as much space reserved past its end (`fallocate --keep-size`): its block
    // count equals its size, which hid the holes from a test of blocks against size.
    let g = m.join("reserved.bin");
    fs::File::create(&g).unwrap().set_len(16 << 20).unwrap();
    let reserved = Command::new("fallocate")
        .args(["-n", "-o", "16777216", "-l", "16777216"])
        .arg(&g)
        .status()
        .is_ok_and(|s| s.success());
    assert!(reserved, "fallocate --keep-size on tmpfs");
    let g_blocks = fs::metadata(&g).unwrap().blocks();
    assert_eq!(g_blocks, (16 << 20) / 512);
    let sig = t.path().join("model.sig");
    for a in [
        sign_key_args(&m, &key, &sig, &[]),
        sign_key_args(&m, &key, &sig, &["--hash-algorithm", "blake3"]),
    ] {
        ms(a).assert_success();
        verify_key(&m, &key, &sig, &[]).assert_success();
        // Mapping a hole on tmpfs allocates a page for it: 256 MiB of memory, for a read.
        let blocks = fs::metadata(&f).unwrap().blocks();
        assert_eq!(
            blocks,
            0,
            "hashing allocated {} KiB of the sparse file",
            blocks / 2
        );
        let now = fs::metadata(&g).unwrap().blocks();
        assert_eq!(
            now,
            g_blocks,
            "hashing allocated {} KiB of the file with reserved space",
            (now - g_blocks) / 2
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The outside review of this suite's fixes: each finding, replayed
// ---------------------------------------------------------------------------------------------

/// Runs `holder` (Python, given `args`) until it prints `ready`; returns it with stdin open (it
/// ends when stdin closes).
fn python_until_ready(holder: &str, args: &[&Path]) -> std::process::Child {
    let mut child = Command::new("python3")
        .args(["-c", holder])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready");
    child
}

/// A directory of the model swapped for a symlink out of it while the walk waits for its lock:
/// the walk listed the symlink's target, and verify hashed a file outside the model and printed
/// its digest. The walk now lists the directory it checked, through the descriptor it checked.
#[test]
fn a_directory_swapped_for_a_link_during_the_walk_is_never_followed() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    write_file(&m, "a.txt", b"a\n");
    write_file(&m, "sub/b.txt", b"b\n");
    let outside = t.path().join("outside");
    write_file(&outside, "b.txt", b"SECRET\n");
    let secret_digest = "b5758cb6"; // sha256("SECRET\n") begins so
    let sig = t.path().join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &[])).assert_success();
    let swapper = "import fcntl, os, sys, time\n\
        sub, outside = sys.argv[1], sys.argv[2]\n\
        fd = os.open(sub, os.O_RDONLY)\n\
        fcntl.flock(fd, fcntl.LOCK_EX)\n\
        print('ready', flush=True)\n\
        time.sleep(1.0)\n\
        os.rename(sub, os.path.join(os.path.dirname(sub), '.sub.real'))\n\
        os.symlink(outside, sub)\n\
        os.close(fd)\n\
        sys.stdin.read()\n";
    let mut child = python_until_ready(swapper, &[&m.join("sub"), &outside]);
    let v = verify_key(&m, &key, &sig, &[]);
    drop(child.stdin.take());
    let _ = child.wait();
    v.assert_exit(1);
    assert!(
        !v.stdout.contains(secret_digest) && !v.stderr.contains(secret_digest),
        "verify hashed the file outside the model:\n{v}"
    );
    assert!(v.stderr.contains("changed while"), "{v}");
}

/// A FIFO renamed over the existing signature between the look at it and its opening: sign
/// waited for a writer for ever (9 of 30 runs). It is now opened without blocking and refused.
#[test]
fn a_fifo_swapped_in_as_the_old_signature_is_refused_not_waited_on() {
    let Some(strace) = strace() else { return };
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = model(t.path());
    let out = t.path().join("out");
    fs::create_dir(&out).unwrap();
    let sig = out.join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &[])).assert_success();
    let fifo = t.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // Every open in the signature's directory (or of the signature) waits a little, so the swap
    // lands between the look at the old signature and its opening.
    let run = Command::new(&strace)
        .args(["-f", "-qq", "-e", "signal=none", "-o"])
        .arg(t.path().join("fifo-strace.log"))
        .args(["-P", out.to_str().unwrap(), "-P", sig.to_str().unwrap()])
        .args([
            "-e",
            "trace=openat",
            "-e",
            "inject=openat:delay_enter=300000",
        ])
        .arg("--")
        .arg(bin())
        .args(sign_key_args(&m, &key, &sig, &[]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = t.path().join("fifo-strace.log");
    let start = Instant::now();
    loop {
        let text = fs::read_to_string(&log).unwrap_or_default();
        if text
            .lines()
            .any(|l| l.contains("model.sig\"") && l.contains("O_RDONLY"))
        {
            break;
        }
        assert!(
            start.elapsed() < PHASE_TIMEOUT,
            "no open of the signature:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    fs::rename(&fifo, &sig).unwrap();
    let mut run = run;
    let start = Instant::now();
    while run.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = Command::new("pkill")
                .args(["-KILL", "-P", &run.id().to_string()])
                .status();
            let _ = run.kill();
            panic!("sign hung on a FIFO swapped in as the signature");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let end = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&end.stderr);
    assert_eq!(end.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a signature bundle"), "{stderr}");
}

/// The signature's directory, inside the model, moved away while the model was hashed and a
/// symlink to another directory put in its place: the signature landed in that other directory.
#[test]
fn a_signature_directory_swapped_for_a_link_while_hashing_gets_nothing() {
    let Some(strace) = strace() else { return };
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    write_file(&m, "a.txt", b"a\n");
    fs::create_dir_all(m.join("sigs")).unwrap();
    fs::create_dir_all(m.join(".git")).unwrap();
    let victim = t.path().join("victim");
    fs::create_dir(&victim).unwrap();
    let sig = m.join("sigs").join("model.sig");
    let run = Traced::start(
        &strace,
        t.path(),
        &["-P", m.join("a.txt").to_str().unwrap()],
        "pread64",
        1,
        DELAY,
        sign_key_args(&m, &key, &sig, &[]),
    );
    run.wait_for("pread64", PHASE_TIMEOUT);
    fs::rename(m.join("sigs"), m.join(".git").join("sigs-real")).unwrap();
    std::os::unix::fs::symlink(&victim, m.join("sigs")).unwrap();
    let end = run.finish_within(Duration::from_secs(60));
    assert!(
        !victim.join("model.sig").exists(),
        "the signature was written through the swapped-in link: {}",
        end.stderr
    );
    assert_eq!(end.status.code(), Some(1), "{}", end.stderr);
    assert!(end.stderr.contains("was replaced"), "{}", end.stderr);
    assert_eq!(leftovers(&victim, &[]), Vec::<String>::new());
    assert_eq!(
        leftovers(&m.join(".git").join("sigs-real"), &[]),
        Vec::<String>::new()
    );
}

/// A file hashed early and replaced while the rest of the model was hashed: each file's path was
/// checked right after it was read, not once all were, and the copy that was gone was signed.
#[test]
fn a_file_replaced_after_it_was_hashed_but_before_the_end_fails_the_sign() {
    let Some(strace) = strace() else { return };
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    write_file(&m, "a.bin", pattern(100_000, 1));
    write_file(&m, "z.bin", pattern(100_000, 2));
    let sig = t.path().join("model.sig");
    // One worker: a.bin is hashed (and checked) before z.bin, which is held.
    let run = Traced::start(
        &strace,
        t.path(),
        &["-P", m.join("z.bin").to_str().unwrap()],
        "pread64",
        1,
        DELAY,
        sign_key_args(&m, &key, &sig, &["--max-workers", "1"]),
    );
    run.wait_for("pread64", PHASE_TIMEOUT);
    let staged = t.path().join("new-a");
    fs::write(&staged, pattern(100_000, 3)).unwrap();
    fs::rename(&staged, m.join("a.bin")).unwrap();
    let end = run.finish_within(Duration::from_secs(60));
    assert_eq!(end.status.code(), Some(1), "{}", end.stderr);
    assert!(end.stderr.contains("changed while"), "{}", end.stderr);
    assert!(!sig.exists());
}

/// Names that differ only by an invisible character, and bidirectional or line-separator
/// characters in `--output json`, reached the terminal raw.
#[test]
fn invisible_and_bidi_characters_in_names_are_escaped_in_text_and_json() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    write_file(&m, "model.bin", b"weights");
    let sig = t.path().join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &[])).assert_success();
    let added = [
        "model.bin\u{a0}",
        "model\u{2002}bin",
        "model\u{3000}bin",
        "model.bin\u{2800}",
        "model.bin\u{ad}",
        "model.bin\u{200b}",
        "model.bin\u{feff}",
        "model.bin\u{e0041}",
        "evil\u{202e}txt.exe",
        "a\u{2028}Verification succeeded",
    ];
    for n in added {
        fs::write(m.join(n), b"x").unwrap();
    }
    let text = verify_key(&m, &key, &sig, &[]);
    text.assert_exit(1);
    let json = verify_key(&m, &key, &sig, &["--output", "json"]);
    json.assert_exit(1);
    for r in [&text, &json] {
        for c in [
            '\u{a0}',
            '\u{2002}',
            '\u{3000}',
            '\u{2800}',
            '\u{ad}',
            '\u{200b}',
            '\u{feff}',
            '\u{e0041}',
            '\u{202e}',
            '\u{2028}',
        ] {
            assert!(
                !r.stdout.contains(c) && !r.stderr.contains(c),
                "{c:?} reached the terminal raw:\n{r}"
            );
        }
    }
    // The JSON report is still exact: the names read back as they are on disk.
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON report");
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(&v, &mut all);
    for n in added {
        assert!(
            all.iter().any(|s| s.contains(n)),
            "{n:?} is missing from the report: {all:?}"
        );
    }
}

/// Links the signer recorded (`allow_symlinks`) flipped between a target inside the model and one
/// outside, as fast as Python can, while verify follows them: nothing outside is ever hashed or
/// named. (A stress companion of the exact replay below; the third review's flip loop leaked in
/// 12 of 400 runs of the old binary, this loop, flipping two links, did not hit that window.)
#[test]
fn links_flipped_in_and_out_of_the_model_never_reach_outside() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    write_file(&m, "a/x.txt", b"inside\n");
    std::os::unix::fs::symlink("a/x.txt", m.join("fl")).unwrap();
    std::os::unix::fs::symlink("a", m.join("dl")).unwrap();
    let outside = t.path().join("outside");
    write_file(&outside, "secret.txt", b"TOPSECRET\n");
    write_file(&outside, "priv/x.txt", b"PRIVX\n");
    write_file(&outside, "priv/id_rsa", b"key\n");
    let sig = t.path().join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &["--allow-symlinks"])).assert_success();
    // sha256("TOPSECRET\n") and sha256("PRIVX\n") begin so.
    let leaks = ["312f2aff", "e8653675", "id_rsa"];
    let flipper = r#"
import os, sys
m = sys.argv[1]
pairs = [("fl", "a/x.txt", "../outside/secret.txt"), ("dl", "a", "../outside/priv")]
print("ready", flush=True)
i = 0
while True:
    for name, inside, out in pairs:
        tmp = os.path.join(m, ".git", "flip")
        os.symlink(out if i % 2 else inside, tmp)
        os.rename(tmp, os.path.join(m, name))
    i += 1
"#;
    fs::create_dir(m.join(".git")).unwrap();
    let mut child = python_until_ready(flipper, &[&m]);
    let mut failed = 0;
    for _ in 0..60 {
        let v = verify_key(&m, &key, &sig, &[]);
        for leak in leaks {
            assert!(
                !v.stdout.contains(leak) && !v.stderr.contains(leak),
                "verify reached outside the model through a flipped link:\n{v}"
            );
        }
        failed += usize::from(!v.success());
    }
    let _ = child.kill();
    let _ = child.wait();
    eprintln!("{failed} of 60 verifies failed (the links were moving), none reached outside");
}

/// A file rewritten in place while it was hashed, with its modification time put back: size and
/// mtime matched, and sign signed content that never existed on disk. The status-change time,
/// which nobody can set, now shows it.
#[test]
fn a_file_rewritten_in_place_with_its_mtime_restored_fails_the_sign() {
    let Some(strace) = strace() else { return };
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    let w = write_file(&m, "w.bin", vec![0u8; 900_000]);
    write_file(&m, "s.txt", b"s");
    let sig = t.path().join("model.sig");
    let run = Traced::start(
        &strace,
        t.path(),
        &["-P", w.to_str().unwrap()],
        "pread64",
        2,
        DELAY,
        sign_key_args(&m, &key, &sig, &[]),
    );
    run.wait_for("pread64", PHASE_TIMEOUT);
    let before = fs::metadata(&w).unwrap();
    {
        use std::io::{Seek, Write};
        let mut f = fs::OpenOptions::new().write(true).open(&w).unwrap();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.write_all(&[0xee; 32]).unwrap();
        f.set_modified(before.modified().unwrap()).unwrap();
    }
    assert_eq!(
        fs::metadata(&w).unwrap().modified().unwrap(),
        before.modified().unwrap()
    );
    let end = run.finish_within(Duration::from_secs(60));
    assert_eq!(end.status.code(), Some(1), "{}", end.stderr);
    assert!(end.stderr.contains("changed while"), "{}", end.stderr);
    assert!(!sig.exists());
}

/// The third review's exact race, step by step: the link points out when it is first looked at,
/// in when it is resolved to decide whether it stays inside, and out again when it is opened.
/// Every call on the link is held 400 ms (strace) so each flip lands between two of them.
#[test]
fn a_link_judged_inside_and_opened_outside_is_never_read() {
    let Some(strace) = strace() else { return };
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let m = t.path().join("model");
    write_file(&m, "a/x.txt", b"inside\n");
    let link = m.join("fl");
    std::os::unix::fs::symlink("a/x.txt", &link).unwrap();
    let outside = t.path().join("outside");
    write_file(&outside, "secret.txt", b"TOPSECRET\n");
    let sig = t.path().join("model.sig");
    ms(sign_key_args(&m, &key, &sig, &["--allow-symlinks"])).assert_success();
    let point = |target: &str| {
        let tmp = m.join("fl.new");
        std::os::unix::fs::symlink(target, &tmp).unwrap();
        fs::rename(&tmp, &link).unwrap();
    };
    point("../outside/secret.txt");
    let run = Command::new(&strace)
        .args(["-f", "-qq", "-e", "signal=none", "-o"])
        .arg(t.path().join("flip.log"))
        .args(["-P", link.to_str().unwrap()])
        .args(["-e", "inject=all:delay_exit=400000"])
        .arg("--")
        .arg(bin())
        .args(args![
            "verify",
            "key",
            "--public-key",
            &key.public_key,
            "--signature",
            &sig,
            &m
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = t.path().join("flip.log");
    // After the first call on the link: in; after the second: out again.
    for (n, target) in [(1, "a/x.txt"), (2, "../outside/secret.txt")] {
        let start = Instant::now();
        while fs::read_to_string(&log).unwrap_or_default().lines().count() < n {
            if start.elapsed() > PHASE_TIMEOUT {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // The call has run by now; it is held on its way back.
        std::thread::sleep(Duration::from_millis(100));
        point(target);
    }
    let out = run.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !log.contains("TOPSECRET"),
        "the file outside the model was read:\n{log}"
    );
    // sha256("TOPSECRET\n") begins so.
    assert!(
        !stdout.contains("312f2aff") && !stderr.contains("312f2aff"),
        "{stdout}{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}
