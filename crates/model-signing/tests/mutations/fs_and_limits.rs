//! Filesystem safety and size limits.

use super::*;

// ------------------------------------------------------------------------------------------------
// 3. Filesystem safety and limits.

#[cfg(target_os = "linux")]
pub(crate) const O_NONBLOCK: i32 = 0o4000;
#[cfg(not(target_os = "linux"))]
pub(crate) const O_NONBLOCK: i32 = 0x0004;

/// Runs `f` in a thread. If it does not finish in time it is presumably blocked opening one of
/// `fifos` (opening a FIFO for reading blocks until a writer appears): we open them for writing to
/// release it, and fail.
pub(crate) fn within<T: Send + 'static>(
    what: &str,
    fifos: &[PathBuf],
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => panic!("{what}: PANIC: {}", panic_text(p)),
        Err(_) => {
            for p in fifos {
                let _ = fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(O_NONBLOCK)
                    .open(p);
            }
            let _ = rx.recv_timeout(Duration::from_secs(5));
            panic!("{what}: blocked for 20 s: it opened a FIFO it must never read");
        }
    }
}

pub(crate) fn expect_model_error(
    what: &str,
    r: Result<VerifyReport, Error>,
    needle: &str,
) -> String {
    match r {
        Err(e) if model_message(&e).is_some_and(|m| m.contains(needle)) => {
            model_message(&e).unwrap_or_default()
        }
        Err(e) => panic!(
            "{what}: expected a Model error mentioning {needle:?}, got {}: {e}",
            class(&e)
        ),
        Ok(_) => panic!("{what}: ACCEPTED"),
    }
}

#[test]
pub(crate) fn fs_symlinks_to_outside_fifos_are_never_opened() {
    let mut rng = Rng::for_test("fs_symlinks_to_outside_fifos_are_never_opened");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let w = rng.bytes(5000);
    write_file(&root.join("config.json"), b"{}");
    write_file(&root.join("weights/w.bin"), &w);
    write_file(&root.join("sub/x.txt"), b"x");
    let signed = sign(&root, &hashing(HashAlgorithm::Sha256, Serialization::Files));
    assert_eq!(
        signed.statement()["predicate"]["serialization"]["allow_symlinks"],
        json!(false)
    );
    let pipe = outside.join("pipe");
    mkfifo(&pipe);
    fs::create_dir_all(outside.join("dir")).unwrap();
    let dir_pipe = outside.join("dir/x.txt");
    mkfifo(&dir_pipe);
    let fifos = vec![pipe.clone(), dir_pipe.clone()];
    let mut lines = Vec::new();
    let run = |what: &str, allow: bool| -> Result<VerifyReport, Error> {
        let (root, b, pk) = (root.clone(), signed.bundle.clone(), signed.public.clone());
        within(what, &fifos, move || {
            let opts = VerifyOptions {
                allow_symlinks: allow,
                ..VerifyOptions::default()
            };
            verify_bundle(&root, &b, &KeyVerifier::new(pk), &opts)
        })
    };

    // A file replaced by a symlink to an outside FIFO.
    fs::remove_file(root.join("weights/w.bin")).unwrap();
    symlink(&pipe, root.join("weights/w.bin")).unwrap();
    let m = expect_model_error(
        "file -> symlink to FIFO",
        run("file -> symlink to FIFO", false),
        "symlink",
    );
    lines.push(format!(
        "file symlink to outside FIFO, signer did not allow symlinks: {m}"
    ));
    let m = expect_model_error(
        "file -> symlink to FIFO, verifier allows symlinks",
        run("file -> symlink to FIFO, --allow-symlinks", true),
        "FIFO",
    );
    lines.push(format!("same, verifier passes allow_symlinks: {m}"));
    // Signing such a model (symlinks allowed) must not open the FIFO either.
    let (r2, fifos2) = (root.clone(), fifos.clone());
    let sign_res = within(
        "sign a model with a symlink to a FIFO",
        &fifos2,
        move || {
            let mut cfg = hashing(HashAlgorithm::Sha256, Serialization::Files);
            cfg.allow_symlinks = true;
            let signer = KeySigner::new(PrivateKey::generate(Curve::P256).unwrap());
            sign_to_bytes(&r2, &cfg, &signer).map(|_| ())
        },
    );
    match sign_res {
        Err(Error::Model(m)) if m.contains("FIFO") => {
            lines.push(format!("signing it with symlinks allowed: {m}"))
        }
        other => panic!("signing a model with a symlink to a FIFO: {other:?}"),
    }
    fs::remove_file(root.join("weights/w.bin")).unwrap();
    fs::write(root.join("weights/w.bin"), &w).unwrap();

    // A directory replaced by a symlink to an outside directory holding a FIFO of the same name.
    fs::remove_dir_all(root.join("sub")).unwrap();
    symlink(outside.join("dir"), root.join("sub")).unwrap();
    let m = expect_model_error(
        "dir -> symlink",
        run("dir -> symlink to dir with FIFO", false),
        "symlink",
    );
    lines.push(format!("directory symlink to outside dir with a FIFO: {m}"));
    let m = expect_model_error(
        "dir -> symlink, verifier allows",
        run("dir -> symlink to dir with FIFO, --allow-symlinks", true),
        "FIFO",
    );
    lines.push(format!("same, verifier passes allow_symlinks: {m}"));
    fs::remove_file(root.join("sub")).unwrap();
    write_file(&root.join("sub/x.txt"), b"x");

    // The signature path and the model path themselves are FIFOs.
    let sig_fifo = outside.join("model.sig");
    mkfifo(&sig_fifo);
    let (r3, s3, pk3) = (root.clone(), sig_fifo.clone(), signed.public.clone());
    let f3 = vec![sig_fifo.clone()];
    let r = within("signature path is a FIFO", &f3, move || {
        verify_model(&r3, &s3, &KeyVerifier::new(pk3), &VerifyOptions::default())
    });
    match r {
        Err(e @ Error::Bundle(_)) => lines.push(format!("signature path is a FIFO: {e}")),
        other => panic!("signature path is a FIFO: {:?}", other.map(|_| ())),
    }
    let model_fifo = outside.join("model-fifo");
    mkfifo(&model_fifo);
    let (b4, pk4, m4) = (
        signed.bundle.clone(),
        signed.public.clone(),
        model_fifo.clone(),
    );
    let r = within(
        "model path is a FIFO",
        std::slice::from_ref(&model_fifo),
        move || verify_bundle(&m4, &b4, &KeyVerifier::new(pk4), &VerifyOptions::default()),
    );
    let m = expect_model_error("model path is a FIFO", r, "FIFO");
    lines.push(format!("model path is a FIFO: {m}"));

    // Sanity: the restored model verifies.
    assert!(run("restored model", false).is_ok());
    eprintln!(
        "\n== symlinks / FIFOs (none opened) ==\n  {}",
        lines.join("\n  ")
    );
}

/// Manifest names that leave the model are refused before any file is hashed (or even opened: a FIFO
/// sits at `../outside`).
#[test]
pub(crate) fn fs_escaping_resource_names_are_refused_before_hashing() {
    let mut rng = Rng::for_test("fs_escaping_resource_names_are_refused_before_hashing");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    write_file(&root.join("config.json"), b"{}");
    let n = rng.between(3000, 5000);
    write_file(&root.join("weights/w.bin"), &rng.bytes(n));
    let fifo = tmp.path().join("outside");
    mkfifo(&fifo);
    let mut lines = Vec::new();
    for ser in [
        Serialization::Files,
        Serialization::Shards { shard_size: 1000 },
    ] {
        let signed = Arc::new(sign(&root, &hashing(HashAlgorithm::Sha256, ser)));
        let base = signed.statement();
        let suffix = if ser == Serialization::Files {
            ""
        } else {
            ":0:2"
        };
        let abs_fifo = fifo.display().to_string();
        let names = [
            "../outside".to_string(),
            "weights/../../outside".to_string(),
            "/etc/passwd".to_string(),
            abs_fifo,
            "../model/config.json".to_string(),
            "./../outside".to_string(),
        ];
        let mut cases: Vec<(String, Value)> = Vec::new();
        for nm in &names {
            let full = format!("{nm}{suffix}");
            cases.push((
                format!("{} resource {full:?} replaces one", ser.method()),
                with(&base, |v| {
                    resources(v)[0]["name"] = json!(full);
                    fix_root(v);
                }),
            ));
            cases.push((
                format!("{} resource {full:?} added", ser.method()),
                with(&base, |v| {
                    let mut r = resources(v)[0].clone();
                    r["name"] = json!(full);
                    resources(v).push(r);
                    fix_root(v);
                }),
            ));
        }
        for ig in ["../outside", "/etc/passwd", "../model"] {
            cases.push((
                format!("{} ignore_paths [{ig:?}]", ser.method()),
                with(&base, |v| {
                    v["predicate"]["serialization"]["ignore_paths"] = json!([ig]);
                }),
            ));
        }
        for (what, st) in cases {
            let bytes = signed.resign(&st);
            let (r, s) = (root.clone(), signed.clone());
            let p = Arc::new(CountingProgress::default());
            let p2 = p.clone();
            let res = within(&what, std::slice::from_ref(&fifo), move || {
                let b = bundle::parse(&bytes)?;
                verify_bundle(&r, &b, &s.verifier(), &counting_opts(&p2))
            });
            let hashed = p.begins.load(Ordering::SeqCst);
            match res {
                Err(Error::Statement(m)) if hashed == 0 => {
                    lines.push(format!("{what:<62} rejected before hashing: {}", short(&m)))
                }
                Err(e) => panic!(
                    "{what}: expected a Statement error before hashing, got {} (hashing started: {})",
                    e,
                    hashed > 0
                ),
                Ok(_) => panic!("{what}: ACCEPTED"),
            }
        }
    }
    eprintln!(
        "\n== escaping names ({} cases) ==\n  {}",
        lines.len(),
        lines.join("\n  ")
    );
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Change {
    /// Overwrite 4 KiB in place (same size).
    Overwrite { off: usize },
    /// Append 4 KiB.
    Append,
    /// Truncate to this length.
    Truncate { len: usize },
    /// Copy, patch 4 KiB of the copy, rename it over the file.
    Replace { off: usize },
}

pub(crate) const PATCH: usize = 4096;

pub(crate) fn new_content(orig: &[u8], c: Change, patch: &[u8]) -> Vec<u8> {
    match c {
        Change::Overwrite { off } | Change::Replace { off } => {
            let mut v = orig.to_vec();
            v[off..off + PATCH].copy_from_slice(patch);
            v
        }
        Change::Append => [orig, patch].concat(),
        Change::Truncate { len } => orig[..len].to_vec(),
    }
}

/// A 64 MiB file is modified while the model is verified. Whatever the timing, the verifier must
/// pass only on the signed content, and otherwise fail either with "changed while it was being
/// hashed" (or "truncated while") or with a mismatch whose digests are those of the complete new content (never of a mix).
pub(crate) fn race_campaign(test: &str, alg: HashAlgorithm, ser: Serialization, iterations: usize) {
    let mut rng = Rng::for_test(test);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    let spare = tmp.path().join("spare");
    fs::create_dir_all(&spare).unwrap();
    let big = root.join("big.bin");
    let orig = Arc::new(rng.bytes(64 << 20));
    write_file(&big, &orig);
    write_file(&root.join("small.txt"), b"small");
    let signed = sign(&root, &hashing(alg, ser));
    let verifier = signed.verifier();
    let t0 = Instant::now();
    assert!(matches!(
        verify_outcome(&root, &signed.bundle, &verifier, &VerifyOptions::default()),
        Outcome::Pass(_)
    ));
    let base = t0.elapsed();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut overlapped = 0;
    let start = Instant::now();
    for i in 0..iterations {
        let change = match i % 4 {
            0 => Change::Overwrite {
                off: rng.below(orig.len() - PATCH),
            },
            1 => Change::Append,
            2 => Change::Truncate {
                len: rng.below(orig.len()),
            },
            _ => Change::Replace {
                off: rng.below(orig.len() - PATCH),
            },
        };
        let mut patch = rng.bytes(PATCH);
        if let Change::Overwrite { off } | Change::Replace { off } = change {
            patch[0] = orig[off] ^ 0xff; // guaranteed different
        }
        // Let the clock move past the restore's modification time (coarse timestamps).
        std::thread::sleep(Duration::from_millis(30));
        let mut delay =
            Duration::from_micros(rng.below(base.as_micros() as usize * 13 / 10 + 1) as u64);
        if i % 5 == 4 {
            delay = Duration::ZERO;
        }
        let p = Arc::new(CountingProgress::default());
        let opts = counting_opts(&p);
        let (b2, s2, patch2) = (big.clone(), spare.join(format!("new-{i}")), patch.clone());
        // One run in five modifies the file before verification starts (a plain mismatch, whose
        // digests must be those of the new content); the others race with the verifier.
        let before_walk = i % 5 == 4;
        let write = move || {
            std::thread::sleep(delay);
            let t_start = Instant::now();
            match change {
                Change::Overwrite { off } => {
                    let f = fs::OpenOptions::new().write(true).open(&b2).unwrap();
                    f.write_all_at(&patch2, off as u64).unwrap();
                }
                Change::Append => {
                    let f = fs::OpenOptions::new().append(true).open(&b2).unwrap();
                    f.write_all_at(&patch2, 0).unwrap();
                }
                Change::Truncate { len } => {
                    let f = fs::OpenOptions::new().write(true).open(&b2).unwrap();
                    f.set_len(len as u64).unwrap();
                }
                Change::Replace { off } => {
                    fs::copy(&b2, &s2).unwrap();
                    let f = fs::OpenOptions::new().write(true).open(&s2).unwrap();
                    f.write_all_at(&patch2, off as u64).unwrap();
                    drop(f);
                    fs::rename(&s2, &b2).unwrap();
                }
            }
            (t_start, Instant::now())
        };
        let (out, (w_start, w_done)) = if before_walk {
            let w = write();
            (verify_outcome(&root, &signed.bundle, &verifier, &opts), w)
        } else {
            let writer = std::thread::spawn(write);
            let out = verify_outcome(&root, &signed.bundle, &verifier, &opts);
            (out, writer.join().unwrap())
        };
        if before_walk && !matches!(out, Outcome::Fail(Error::Mismatch(_))) {
            failures.push(format!(
                "{change:?} done before verifying: expected a Mismatch, got {}",
                out.describe()
            ));
        }
        let began = *p.started.lock().unwrap();
        let finished = *p.finished.lock().unwrap();
        if let (Some(b), Some(f)) = (began, finished) {
            if w_start <= f && w_done >= b {
                overlapped += 1;
            }
        }
        let what = if before_walk {
            format!("{change:?} before verifying")
        } else {
            format!("{change:?} after {delay:?}")
        };
        let key = match &out {
            Outcome::Pass(_) => {
                if began.is_none_or(|b| w_done < b) {
                    failures.push(format!(
                        "{what}: VERIFIED although the file was modified before hashing began"
                    ));
                }
                "passed (hashing done before the write landed; signed content hashed)".to_string()
            }
            Outcome::Fail(Error::Model(m)) if m.contains("changed while") => {
                "detected: 'changed while it was being hashed'".into()
            }
            Outcome::Fail(Error::Model(m)) if m.contains("truncated while") => {
                "detected: 'truncated while it was being hashed'".into()
            }
            Outcome::Fail(Error::Model(m)) if m.contains("no longer a regular file") => {
                "detected: 'no longer a regular file'".into()
            }
            Outcome::Fail(Error::Mismatch(r)) => {
                // Every reported digest must be that of the complete new content.
                let now = new_content(&orig, change, &patch);
                let mut bad = Vec::new();
                for c in &r.changed {
                    let range = match c.name.rsplitn(3, ':').collect::<Vec<_>>().as_slice() {
                        [e, s, _] if ser != Serialization::Files => {
                            Some((s.parse::<usize>().unwrap(), e.parse::<usize>().unwrap()))
                        }
                        _ => None,
                    };
                    let want = match range {
                        None => hex::encode(alg.digest(&now)),
                        Some((s, e)) if e <= now.len() => hex::encode(alg.digest(&now[s..e])),
                        Some(_) => "(range beyond the new content)".into(),
                    };
                    if c.actual != want {
                        bad.push(format!(
                            "{}: actual {} but new content hashes to {want}",
                            c.name, c.actual
                        ));
                    }
                }
                if !bad.is_empty() {
                    failures.push(format!("{what}: MIXED-CONTENT DIGEST: {}", bad.join("; ")));
                }
                "mismatch (modified before the walk; digests of the whole new content)".into()
            }
            Outcome::Fail(e) => {
                let k = format!("other error: {}", class(e));
                if !matches!(e, Error::Io { .. }) {
                    failures.push(format!("{what}: unexpected {}", out.describe()));
                }
                k
            }
            Outcome::Panic(p) => {
                failures.push(format!("{what}: PANIC {p}"));
                "panic".into()
            }
        };
        *counts.entry(key).or_default() += 1;
        // Restore the signed content.
        let f = fs::OpenOptions::new().write(true).open(&big).unwrap();
        match change {
            Change::Overwrite { off } | Change::Replace { off } => {
                f.write_all_at(&orig[off..off + PATCH], off as u64).unwrap()
            }
            Change::Append => f.set_len(orig.len() as u64).unwrap(),
            Change::Truncate { len } => f.write_all_at(&orig[len..], len as u64).unwrap(),
        }
        drop(f);
        assert!(fs::read(&big).unwrap() == *orig, "restore failed");
    }
    let mut s = format!(
        "\n== file modified while hashed, {test} (64 MiB, baseline verify {:.0} ms): {iterations} runs in {:.1} s, \
         {overlapped} writes overlapped the hashing ==\n",
        base.as_secs_f64() * 1000.0,
        start.elapsed().as_secs_f64()
    );
    for (k, n) in &counts {
        s += &format!("  {n:>3} x {k}\n");
    }
    eprintln!("{s}");
    for f in &failures {
        eprintln!("FAILURE: {f}");
    }
    assert!(
        failures.is_empty(),
        "{} failures (first: {})",
        failures.len(),
        failures[0]
    );
}

#[test]
pub(crate) fn fs_file_changed_while_hashed_sha256_files() {
    race_campaign(
        "fs_file_changed_while_hashed_sha256_files",
        HashAlgorithm::Sha256,
        Serialization::Files,
        scaled(16),
    );
}

#[test]
pub(crate) fn fs_file_changed_while_hashed_blake3_files() {
    race_campaign(
        "fs_file_changed_while_hashed_blake3_files",
        HashAlgorithm::Blake3,
        Serialization::Files,
        scaled(16),
    );
}

#[test]
pub(crate) fn fs_file_changed_while_hashed_sha256_shards() {
    race_campaign(
        "fs_file_changed_while_hashed_sha256_shards",
        HashAlgorithm::Sha256,
        Serialization::Shards {
            shard_size: 8 << 20,
        },
        scaled(16),
    );
}

#[test]
pub(crate) fn limits_oversized_bundle_is_refused_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("model.sig");
    let f = fs::File::create(&p).unwrap();
    f.set_len(bundle::MAX_BUNDLE_BYTES + 1).unwrap(); // sparse
    drop(f);
    let t = Instant::now();
    let e = bundle::read(&p).unwrap_err();
    let el = t.elapsed();
    assert!(matches!(e, Error::Bundle(_)), "{e}");
    assert!(e.to_string().contains("limit"), "{e}");
    assert!(el < Duration::from_secs(2), "took {el:?}");
    // The same through verify_model.
    let root = tmp.path().join("model");
    write_file(&root.join("a"), b"a");
    let k = PrivateKey::generate(Curve::P256).unwrap();
    let e2 = verify_model(
        &root,
        &p,
        &KeyVerifier::new(k.public_key()),
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(e2.to_string().contains("limit"), "{e2}");
    // And for in-memory bytes (a zeroed allocation: the length check comes first).
    let big = vec![0u8; bundle::MAX_BUNDLE_BYTES as usize + 1];
    let t2 = Instant::now();
    let e3 = bundle::parse(&big).unwrap_err();
    assert!(e3.to_string().contains("limit"), "{e3}");
    eprintln!(
        "\n== oversized bundle ({} bytes, sparse) ==\n  read: {e} ({el:?})\n  verify_model: {e2}\n  parse: {e3} ({:?})",
        bundle::MAX_BUNDLE_BYTES + 1,
        t2.elapsed()
    );
}

#[test]
pub(crate) fn limits_deeply_nested_json() {
    let mut lines = Vec::new();
    let deep: Vec<(&str, Vec<u8>)> = vec![
        ("100k '['", vec![b'['; 100_000]),
        ("100k '[' closed", {
            let mut v = vec![b'['; 100_000];
            v.extend(vec![b']'; 100_000]);
            v
        }),
        ("100k '{\"a\":'", b"{\"a\":".repeat(100_000)),
        ("nested in publicKey.hint", {
            let mut v = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"#.to_vec();
            v.extend(vec![b'['; 100_000]);
            v
        }),
    ];
    for (what, bytes) in deep {
        let t = Instant::now();
        let r = guarded(|| bundle::parse(&bytes));
        match r {
            Err(Outcome::Fail(e @ Error::Bundle(_))) => lines.push(format!(
                "{what:<28} {} ({:?})",
                short(&e.to_string()),
                t.elapsed()
            )),
            Err(o) => panic!("{what}: {}", o.describe()),
            Ok(_) => panic!("{what}: parsed"),
        }
    }
    // A deeply nested *signed* payload.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    write_file(&root.join("a"), b"a");
    let signed = sign(&root, &hashing(HashAlgorithm::Sha256, Serialization::Files));
    let mut payload = br#"{"_type":"https://in-toto.io/Statement/v1","x":"#.to_vec();
    payload.extend(vec![b'['; 100_000]);
    let bytes = signed.resign_raw(PAYLOAD_TYPE, &payload);
    match verify_bytes(&root, &bytes, &signed.verifier(), &VerifyOptions::default()) {
        Outcome::Fail(e @ Error::Statement(_)) => lines.push(format!(
            "{:<28} {}",
            "signed payload 100k '['",
            short(&e.to_string())
        )),
        o => panic!("signed deep payload: {}", o.describe()),
    }
    eprintln!("\n== deeply nested JSON ==\n  {}", lines.join("\n  "));
}

pub(crate) fn peak_rss_kib() -> Option<u64> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// A validly signed statement listing MAX_RESOURCES + 1 (empty) resources is refused.
#[test]
pub(crate) fn limits_huge_resource_count() {
    use model_signing::statement::MAX_RESOURCES;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("model");
    write_file(&root.join("a"), b"a");
    let signed = sign(&root, &hashing(HashAlgorithm::Sha256, Serialization::Files));
    let n = MAX_RESOURCES + 1;
    let mut p = String::with_capacity(n * 3 + 512);
    p.push_str(&format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"m","digest":{{"sha256":"{}"}}}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{{"serialization":{{"method":"files","hash_type":"sha256","allow_symlinks":false}},"resources":["#,
        "00".repeat(32)
    ));
    p.push_str(&"{},".repeat(n - 1));
    p.push_str("{}]}}");
    let bytes = signed.resign_raw(PAYLOAD_TYPE, p.as_bytes());
    let rss0 = peak_rss_kib();
    let t = Instant::now();
    let out = verify_bytes(&root, &bytes, &signed.verifier(), &VerifyOptions::default());
    let el = t.elapsed();
    let rss1 = peak_rss_kib();
    let msg = match out {
        Outcome::Fail(e @ Error::Statement(_)) if e.to_string().contains("limit") => e.to_string(),
        o => panic!("{n} resources: {}", o.describe()),
    };
    eprintln!(
        "\n== {n} resources (payload {} MB, bundle {} MB) ==\n  {msg}\n  in {el:?}; peak RSS before {:?} KiB, after {:?} KiB",
        p.len() >> 20,
        bytes.len() >> 20,
        rss0,
        rss1
    );
}
