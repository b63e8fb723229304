//! Issue 23: the findings of the two outside attacker reviews of the attestation commands, one
//! test each (each failed on the binary before its fix: `MS_TEST_BIN=OLD cargo nextest run`).

mod common;

use common::attest::*;
use common::*;
use serde_json::{json, Value};
use std::fs;

// ---------------------------------------------------------------------------------------------
// Findings of the outside review of issue 23 (each failed before its fix).
// ---------------------------------------------------------------------------------------------

/// F2: two datasets of one name; a copy of one must not mark the other verified. `attest`
/// refuses two dependencies of one name; a provenance that has them anyway (signed elsewhere)
/// is matched by digest.
#[test]
fn review_f2_dependency_copies_match_by_digest_not_name() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let a = make_small_model(&t.path().join("a"), "data");
    let b = make_small_model(&t.path().join("b"), "data");
    write_file(&b, "a.txt", "evil\n");
    let m = make_small_model(t.path(), "m");
    for d in [&a, &b, &m] {
        sign_key(d, &key, &d.join("model.sig"), &[]).assert_success();
    }
    attest(
        &key,
        &m,
        &["provenance"],
        &[
            "--dataset",
            a.to_str().unwrap(),
            "--dataset",
            b.to_str().unwrap(),
            "--builder-id",
            "https://ci.example/x",
            "--no-ci-environment",
        ],
    )
    .assert_exit(1)
    .assert_stderr_contains("two datasets or base models are named 'data'");
    // Named apart, both recorded; a copy of a checks a only.
    let da = payload(&a.join("model.sig"))["subject"][0]["digest"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let db = payload(&b.join("model.sig"))["subject"][0]["digest"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    attest(
        &key,
        &m,
        &["provenance"],
        &[
            "--dataset",
            &format!("data=sha256:{da}"),
            "--dataset",
            &format!("data-b=sha256:{db}"),
            "--builder-id",
            "https://ci.example/x",
            "--no-ci-environment",
        ],
    )
    .assert_success();
    let r = show(
        &key,
        &m.join("model.sig"),
        &m,
        &["--dependency-copy", a.to_str().unwrap()],
    );
    r.assert_success();
    let verified = r.stdout.lines().filter(|l| l.contains("[verified")).count();
    assert_eq!(verified, 1, "{r}");
    assert!(
        r.stdout.contains(&format!(
            "dataset: data-b sha256:{db} [signed copy not checked]"
        )),
        "{r}"
    );
    // A crafted provenance with two entries of one name (signed by the trusted key): the copy
    // marks only the entry whose digest it has.
    let st = statement(&lines(&m.join("claims.jsonl"))[0]);
    let mut st2 = st.clone();
    let deps = st2["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array_mut()
        .unwrap();
    for d in deps.iter_mut() {
        if d["name"] == "data-b" {
            d["name"] = json!("data");
        }
    }
    let b2: Value = serde_json::from_slice(&common::craft::crafted(&key, &st2)).unwrap();
    fs::write(m.join("claims.jsonl"), format!("{b2}\n")).unwrap();
    let r = show(
        &key,
        &m.join("model.sig"),
        &m,
        &["--dependency-copy", a.to_str().unwrap()],
    );
    let verified = r.stdout.lines().filter(|l| l.contains("[verified")).count();
    assert_eq!(verified, 1, "{r}");
    assert!(
        r.stdout.contains(&format!(
            "dataset: data sha256:{db} [signed copy not checked]"
        )),
        "{r}"
    );
}

/// F3: a policy's builders, source_repositories or datasets restriction implies a provenance
/// must be there, and `datasets` that it names at least one dataset.
#[test]
fn review_f3_restrictions_need_a_provenance_to_restrict() {
    let p = pipeline();
    let policy = |attestations: &str| p.verify_under_policy(attestations);
    // Only the model card and the evaluation are left.
    let l = lines(&p.claims);
    fs::write(&p.claims, format!("{}\n{}\n", l[1], l[2])).unwrap();
    for restriction in [
        "      builders: [\"https://ci.acme.example/*\"]\n",
        "      source_repositories: [\"https://git.example/*\"]\n",
        &format!("      datasets: [\"sha256:{}\"]\n", "ab".repeat(32)),
    ] {
        policy(restriction)
            .assert_exit(1)
            .assert_stderr_contains("holds no verified provenance attestation");
    }
    // A provenance that names no dataset does not pass a datasets restriction.
    attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--builder-id",
            "https://ci.acme.example/b",
            "--no-ci-environment",
        ],
    )
    .assert_success();
    policy(&format!(
        "      datasets: [\"sha256:{}\"]\n",
        "ab".repeat(32)
    ))
    .assert_exit(1)
    .assert_stderr_contains("names no dataset");
}

/// F5: attest never appends a line that verify would refuse, nor one about another digest than
/// the signature's, nor into a file the model's signature covers.
#[test]
fn review_f5_attest_never_writes_what_verify_refuses() {
    let p = pipeline();
    let before = fs::read(&p.claims).unwrap();
    // a. Parameters nested deeper than the statement reader takes.
    let params = p.t.path().join("deep.json");
    fs::write(
        &params,
        format!("{{\"a\":{}1{}}}", "[".repeat(124), "]".repeat(124)),
    )
    .unwrap();
    attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--params-file",
            params.to_str().unwrap(),
            "--builder-id",
            "x:y",
            "--no-ci-environment",
        ],
    )
    .assert_exit(1);
    // b. Card keys that Go reads as one.
    let card = p.t.path().join("card.md");
    fs::write(&card, "---\nlicense: mit\nLicense: evil\n---\n").unwrap();
    attest(
        &p.key,
        &p.model,
        &["model-card", "--card", card.to_str().unwrap()],
        &[],
    )
    .assert_exit(1)
    .assert_stderr_contains("Go clients");
    assert_eq!(fs::read(&p.claims).unwrap(), before);
    // d. Hashing options other than the signature's.
    attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--hash-algorithm",
            "blake3",
            "--builder-id",
            "x:y",
            "--no-ci-environment",
        ],
    )
    .assert_exit(1)
    .assert_stderr_contains("records other hashing options");
    let t8 = make_small_model(p.t.path(), "t8");
    write_file(&t8, "README.md", "card\n");
    sign_key(
        &t8,
        &p.key,
        &t8.join("model.sig"),
        &["--ignore-paths", t8.join("README.md").to_str().unwrap()],
    )
    .assert_success();
    attest(
        &p.key,
        &t8,
        &["provenance"],
        &["--builder-id", "x:y", "--no-ci-environment"],
    )
    .assert_exit(1)
    .assert_stderr_contains("records other hashing options");
    attest(
        &p.key,
        &t8,
        &["provenance"],
        &[
            "--ignore-paths",
            t8.join("README.md").to_str().unwrap(),
            "--builder-id",
            "x:y",
            "--no-ci-environment",
        ],
    )
    .assert_success();
    verify_key(
        &t8,
        &p.key,
        &t8.join("model.sig"),
        &["--require", "provenance"],
    )
    .assert_success();
    // e. A claims path inside the model other than the one beside the signature.
    let w = fs::read(p.model.join("d.bin")).unwrap();
    attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--attestations",
            p.model.join("d.bin").to_str().unwrap(),
            "--builder-id",
            "x:y",
            "--no-ci-environment",
        ],
    )
    .assert_exit(1)
    .assert_stderr_contains("lies inside the model");
    assert_eq!(fs::read(p.model.join("d.bin")).unwrap(), w);
    attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--attestations",
            p.model.join("new.jsonl").to_str().unwrap(),
            "--builder-id",
            "x:y",
            "--no-ci-environment",
        ],
    )
    .assert_exit(1);
    assert!(!p.model.join("new.jsonl").exists());
    verify_with(&p, &p.key, &[]).assert_success();
}

/// F5c: the size bound holds after the append, not only before it.
#[test]
fn review_f5c_the_size_bound_holds_after_the_append() {
    let p = pipeline();
    let big = p.t.path().join("big.jsonl");
    let first = lines(&p.claims)[0].clone();
    // One line short of the limit, by less than a line's length.
    let limit = 64 * 1024 * 1024usize;
    let mut padded: Value = serde_json::from_str(&first).unwrap();
    let pad = limit - first.len() - 1 - 200 - "\"pad\":\"\",".len();
    padded["pad"] = json!("x".repeat(pad));
    fs::write(&big, format!("{padded}\n")).unwrap();
    let len = fs::metadata(&big).unwrap().len();
    assert!(len < limit as u64 && len > limit as u64 - 1000, "{len}");
    attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--attestations",
            big.to_str().unwrap(),
            "--builder-id",
            "x:y",
            "--no-ci-environment",
        ],
    )
    .assert_exit(1)
    .assert_stderr_contains("bytes of attestations");
    assert_eq!(fs::metadata(&big).unwrap().len(), len);
}

/// F6: a provenance that contradicts itself (two sources, an unknown role, a second digest on a
/// dataset) is refused, even when the trusted key signed it.
#[test]
fn review_f6_self_contradicting_provenance_is_refused() {
    let p = pipeline();
    let st = statement(&lines(&p.claims)[0]);
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut s = st.clone();
        f(&mut s["predicate"]["buildDefinition"]["resolvedDependencies"]);
        let b: Value = serde_json::from_slice(&common::craft::crafted(&p.key, &s)).unwrap();
        fs::write(&p.claims, format!("{b}\n")).unwrap();
        verify_with(&p, &p.key, &["--require", "provenance"])
    };
    let by_role = |deps: &mut Value, role: &str| -> usize {
        deps.as_array()
            .unwrap()
            .iter()
            .position(|d| d["annotations"]["role"] == role)
            .unwrap()
    };
    mutate(&|d| {
        let i = by_role(d, "source");
        d[i]["uri"] = json!("git+https://github.com/evil/train");
    })
    .assert_exit(1)
    .assert_stderr_contains("line 1:");
    for role in ["Dataset", "dataset ", "DATASET"] {
        mutate(&|d| {
            let i = by_role(d, "dataset");
            d[i]["annotations"]["role"] = json!(role);
        })
        .assert_exit(1)
        .assert_stderr_contains("role");
    }
    mutate(&|d| {
        let i = by_role(d, "dataset");
        d[i]["digest"]["sha512"] = json!("00");
    })
    .assert_exit(1)
    .assert_stderr_contains("exactly one sha256");
}

/// F7: names from the file system reach the terminal escaped, on one line.
#[test]
fn review_f7_paths_from_the_file_system_are_escaped() {
    let p = pipeline();
    let evil = p.t.path().join("evil\u{1b}[31mRED\nX");
    copy_dir(&p.data, &evil);
    sign_key(&evil, &p.key, &evil.join("model.sig"), &[]).assert_success();
    let r = show(
        &p.key,
        &p.sig,
        &p.model,
        &["--dependency-copy", evil.to_str().unwrap()],
    );
    assert!(
        !r.stdout.contains('\u{1b}') && !r.stdout.contains("RED\nX"),
        "{r}"
    );
    let r = attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--dataset",
            evil.to_str().unwrap(),
            "--builder-id",
            "x:y",
            "--no-ci-environment",
        ],
    );
    assert!(
        !r.stderr.contains('\u{1b}') && !r.stderr.contains("RED\nX"),
        "{r}"
    );
}

/// F8: a claims file of empty lines is refused by its line count before lines are collected.
#[test]
fn review_f8_many_empty_lines_are_refused_cheaply() {
    let p = pipeline();
    fs::write(&p.claims, "\n".repeat(10_000_000)).unwrap();
    let (r, kb) = measure::ms_with_peak_rss(verify_key_args(
        &p.model,
        &p.key,
        &p.sig,
        &["--require", "provenance"],
    ));
    r.assert_exit(1)
        .assert_stderr_contains("more than the 1000 accepted");
    // The file itself is 10 MB; the review measured 181 MB when every line was collected first.
    assert!(kb < 60 * 1024, "peak RSS {kb} KiB");
}

// ---------------------------------------------------------------------------------------------
// Findings of the second outside review (each failed before its fix).
// ---------------------------------------------------------------------------------------------

/// R2-F1: the claims file at its default place is not followed through a link (it was linked to
/// a credentials file whose key names the parser then quoted); a file named explicitly is read
/// as named.
#[test]
fn review2_f1_default_claims_file_is_not_followed_through_a_link() {
    let p = pipeline();
    let secret = p.t.path().join("secret.json");
    fs::write(&secret, "{\"client_secret_ABC123\":\"x\"}\n").unwrap();
    fs::remove_file(&p.claims).unwrap();
    std::os::unix::fs::symlink(&secret, &p.claims).unwrap();
    let r = verify_with(&p, &p.key, &["--require", "provenance"]);
    r.assert_exit(1).assert_stderr_contains("is a symlink");
    assert!(!r.stderr.contains("client_secret_ABC123"), "{r}");
}

/// R2-F2: builder and repository patterns: `*` stays within one segment, and dot segments or
/// encoded separators are refused at attest and at verify.
#[test]
fn review2_f2_uri_patterns_and_dot_segments() {
    let p = pipeline();
    for bad in [
        "https://github.com/acme/../evil/train",
        "https://github.com/acme/x/../../evil/t",
        "https://github.com/acme/%2e%2e/evil",
        "https://github.com/acme%2fevil",
    ] {
        attest(
            &p.key,
            &p.model,
            &["provenance"],
            &[
                "--source-repo",
                bad,
                "--source-commit",
                COMMIT,
                "--builder-id",
                "https://ci.acme.example/b",
                "--no-ci-environment",
            ],
        )
        .assert_exit(1)
        .assert_stderr_contains("segment");
    }
    attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--builder-id",
            "https://ci.acme.example/../../evil.com/x",
            "--no-ci-environment",
        ],
    )
    .assert_exit(1);
    // A crafted provenance (signed by the trusted key) with a dot segment: refused where a
    // policy restricts it.
    let st = statement(&lines(&p.claims)[0]);
    let mut s2 = st.clone();
    s2["predicate"]["buildDefinition"]["externalParameters"]["source"]["repository"] =
        json!("https://git.example/acme/../evil/train");
    let deps = s2["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array_mut()
        .unwrap();
    for d in deps.iter_mut() {
        if d["annotations"]["role"] == "source" {
            d["uri"] = json!("git+https://git.example/acme/../evil/train");
        }
    }
    let b: Value = serde_json::from_slice(&common::craft::crafted(&p.key, &s2)).unwrap();
    let verify = |pattern: &str| {
        p.verify_under_policy(&format!("      source_repositories: [\"{pattern}\"]\n"))
    };
    let orig = fs::read_to_string(&p.claims).unwrap();
    fs::write(&p.claims, format!("{b}\n")).unwrap();
    verify("https://git.example/acme/*")
        .assert_exit(1)
        .assert_stderr_contains("line 1:")
        .assert_stderr_contains("segment");
    // `*` does not cross '/'; `**` does.
    fs::write(&p.claims, &orig).unwrap();
    verify("https://git.example/*").assert_exit(1);
    verify("https://git.example/**").assert_success();
}

/// R2-F3: a range the tool cannot evaluate is refused, not answered with "no model"; a recorded
/// version must be pinned.
#[test]
fn review2_f3_unreadable_ranges_fail_and_versions_are_pinned() {
    let p = pipeline();
    for q in [
        "pkg:pypi/torch@~=2.1",
        "pkg:npm/lodash@^4.17.0",
        "pkg:pypi/torch@>=2.*",
    ] {
        ms(args![
            "provenance",
            "query",
            "key",
            "--public-key",
            &p.key.public_key,
            "--uses",
            q,
            &p.claims
        ])
        .assert_exit(1)
        .assert_stderr_contains("this tool can evaluate");
    }
    ms(args![
        "provenance",
        "query",
        "key",
        "--public-key",
        &p.key.public_key,
        "--uses",
        "pkg:pypi/torch@2.1.*",
        &p.claims
    ])
    .assert_success()
    .assert_stdout_contains("tuned: pkg:pypi/torch@2.1.0");
    for v in [
        "pkg:pypi/torch@>=0",
        "pkg:pypi/torch@2.5.*",
        "pkg:pypi/torch@*",
    ] {
        attest(
            &p.key,
            &p.model,
            &["provenance"],
            &[
                "--dependency",
                v,
                "--builder-id",
                "x:y",
                "--no-ci-environment",
            ],
        )
        .assert_exit(1)
        .assert_stderr_contains("no pinned version");
    }
}

/// R2-F5: numbers JSON readers read differently are refused; a refused attest leaves no file.
#[test]
fn review2_f5_numbers_with_two_readings_and_no_empty_file() {
    let p = pipeline();
    let params = p.t.path().join("params.json");
    for n in [
        "9007199254740993",
        "18446744073709551616",
        "123456789012345678901234567890",
        "-9007199254740993",
    ] {
        fs::write(&params, format!("{{\"seed\":{n}}}")).unwrap();
        attest(
            &p.key,
            &p.model,
            &["provenance"],
            &[
                "--params-file",
                params.to_str().unwrap(),
                "--builder-id",
                "x:y",
                "--no-ci-environment",
            ],
        )
        .assert_exit(1)
        .assert_stderr_contains("beyond 2^53");
    }
    fs::write(&params, "{\"seed\":9007199254740992,\"lr\":0.001}").unwrap();
    attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--params-file",
            params.to_str().unwrap(),
            "--builder-id",
            "x:y",
            "--no-ci-environment",
        ],
    )
    .assert_success();
    let results = p.t.path().join("r.json");
    fs::write(
        &results,
        r#"{"results":[{"benchmark":"b","metric":"m","value":18446744073709551616}]}"#,
    )
    .unwrap();
    attest(
        &p.key,
        &p.model,
        &["eval", "--results", results.to_str().unwrap()],
        &[],
    )
    .assert_exit(1)
    .assert_stderr_contains("beyond 2^53");
    // A refused attest creates no claims file.
    let card = p.t.path().join("card.md");
    fs::write(&card, "---\nlicense: mit\nLicense: evil\n---\n").unwrap();
    let fresh = p.t.path().join("fresh.jsonl");
    let out = p.t.path().join("outside");
    fs::create_dir(&out).unwrap();
    let claims = out.join("claims.jsonl");
    attest(
        &p.key,
        &p.model,
        &[
            "model-card",
            "--card",
            card.to_str().unwrap(),
            "--attestations",
            claims.to_str().unwrap(),
        ],
        &[],
    )
    .assert_exit(1);
    assert!(!claims.exists() && !fresh.exists());
}
