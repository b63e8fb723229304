//! Issue 23: `attest provenance|model-card|eval`, `verify --attestations/--require`,
//! `provenance show` and `provenance query` on the real binary. The training pipeline end to end
//! (sign the dataset, attest, sign the model, verify under a policy), lineage with signed copies,
//! the CI fill-ins, claims.jsonl inside the model, and every failure path: a tampered line, an
//! attestation about another model, a signer outside the trust, a statement two readers read
//! differently, a claims file that cannot be appended to.

mod common;

use common::attest::*;
use common::craft::crafted_raw;
use common::*;
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

#[test]
fn pipeline_verifies_with_requirements_and_the_subject_is_the_signed_digest() {
    let p = pipeline();
    let l = lines(&p.claims);
    assert_eq!(l.len(), 3, "one line per attestation");
    // The provenance was made before the model was signed: same subject.
    assert_eq!(statement(&l[0])["subject"], payload(&p.sig)["subject"]);
    assert_eq!(
        statement(&l[0])["predicateType"],
        "https://slsa.dev/provenance/v1"
    );
    // claims.jsonl lies inside the model; the signature recorded it as left out.
    let ignores = &payload(&p.sig)["predicate"]["serialization"]["ignore_paths"];
    assert!(
        ignores.as_array().unwrap().contains(&json!("claims.jsonl")),
        "{ignores}"
    );
    let r = verify_with(
        &p,
        &p.key,
        &[
            "--require",
            "provenance",
            "--require",
            "model-card",
            "--require",
            "eval",
            "--output",
            "json",
        ],
    );
    r.assert_success();
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let atts = v["attestations"]["attestations"].as_array().unwrap();
    let kinds: Vec<&str> = atts.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["provenance", "model-card", "eval"]);
    assert_eq!(
        atts[0]["lineage"]["builder_id"],
        "https://ci.acme.example/runner"
    );
    assert_eq!(atts[1]["card"]["license"], "apache-2.0");
    assert_eq!(atts[2]["results"][0]["benchmark"], "mmlu");
    // Without attestation flags, verify reads nothing more (and the claims file is no extra).
    verify_with(&p, &p.key, &[]).assert_success();
    // The dataset's digest in the provenance is the one its own signature records.
    let data_sig = payload(&p.data.join("model.sig"));
    let deps = statement(&l[0])["predicate"]["buildDefinition"]["resolvedDependencies"].clone();
    let ds = deps
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["role"] == "dataset")
        .unwrap();
    assert_eq!(
        ds["digest"]["sha256"],
        data_sig["subject"][0]["digest"]["sha256"]
    );
    let _ = &p.base;
}

#[test]
fn python_reference_verifies_a_model_with_its_claims_inside() {
    let Some(peer) = PyPeer::from_env("MS_PEER_PY_1_1_1") else {
        return;
    };
    let p = pipeline();
    peer.cli()
        .args(args![
            "verify",
            "key",
            "--public_key",
            &p.key.public_key,
            "--signature",
            &p.sig,
            &p.model
        ])
        .output()
        .map(|o| assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr)))
        .unwrap();
}

#[test]
fn provenance_show_verifies_the_chain_and_reports_a_changed_dataset() {
    let p = pipeline();
    let show_with = |extra: &[&str]| show(&p.key, &p.sig, &p.model, extra);
    let data = p.data.to_str().unwrap();
    let base = p.base.to_str().unwrap();
    let r = show_with(&["--dependency-copy", data, "--dependency-copy", base]);
    r.assert_success()
        .assert_stdout_contains("builder: https://ci.acme.example/runner")
        .assert_stdout_contains("code: https://git.example/acme/train @ 0123456789")
        .assert_stdout_contains("package: pkg:pypi/torch@2.1.0")
        .assert_stdout_contains("[verified: signed by public key");
    assert!(!r.stdout.contains("not checked"), "{r}");
    // JSON: every copy checked.
    let r = show_with(&["--dependency-copy", data, "--output", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["dependency_checks"][0]["status"], "verified");
    // The dataset changed after the fact: its copy no longer verifies.
    fs::write(p.data.join("a.txt"), "poisoned\n").unwrap();
    let r = show_with(&["--dependency-copy", data]);
    r.assert_exit(1)
        .assert_stdout_contains("[failed: its copy does not verify")
        .assert_stderr_contains("do not match the provenance");
    // Re-signed after the change: it verifies, for a digest the provenance does not record.
    sign_key(&p.data, &p.key, &p.data.join("model.sig"), &[]).assert_success();
    let r = show_with(&["--dependency-copy", data, "--output", "json"]);
    r.assert_exit(1);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["dependency_checks"][0]["status"], "mismatch");
    // A model without provenance has no lineage to show.
    let bare = make_small_model(p.t.path(), "bare");
    sign_key(&bare, &p.key, &bare.join("model.sig"), &[]).assert_success();
    show(&p.key, &bare.join("model.sig"), &bare, &[])
        .assert_exit(1)
        .assert_stderr_contains("does not exist");
}

#[test]
fn query_finds_the_models_that_used_a_package_version() {
    let p = pipeline();
    let other = make_small_model(p.t.path(), "other");
    let other_claims = p.t.path().join("other-claims.jsonl");
    attest(
        &p.key,
        &other,
        &["provenance"],
        &[
            "--dependency",
            "pkg:pypi/torch@2.3.1",
            "--builder-id",
            "https://ci.acme.example/runner",
            "--attestations",
            other_claims.to_str().unwrap(),
            "--no-ci-environment",
        ],
    )
    .assert_success();
    let query = |uses: &str| {
        ms(args![
            "provenance",
            "query",
            "key",
            "--public-key",
            &p.key.public_key,
            "--uses",
            uses,
            "--output",
            "json",
            &p.claims,
            &other_claims
        ])
    };
    let names = |r: &Run| -> Vec<String> {
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["subject"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let r = query("pkg:pypi/torch@>=2.0,<2.2");
    r.assert_success();
    assert_eq!(names(&r), ["tuned"]);
    assert_eq!(names(&query("pkg:pypi/torch")), ["tuned", "other"]);
    assert_eq!(names(&query("pkg:pypi/Torch@2.3.1")), ["other"]);
    assert!(names(&query("pkg:pypi/torch@>=3")).is_empty());
    // Text output: one line per model.
    let r = ms(args![
        "provenance",
        "query",
        "key",
        "--public-key",
        &p.key.public_key,
        "--uses",
        "pkg:pypi/torch@2.1.0",
        &p.claims
    ]);
    r.assert_success()
        .assert_stdout_contains("tuned: pkg:pypi/torch@2.1.0");
    // Another key's trust: every line fails, and so does the query.
    let stranger = gen_ec_key(p.t.path(), "s", Curve::P256);
    ms(args![
        "provenance",
        "query",
        "key",
        "--public-key",
        &stranger.public_key,
        "--uses",
        "pkg:pypi/torch",
        &p.claims
    ])
    .assert_exit(1)
    .assert_stderr_contains("line 1:");
    ms(args![
        "provenance",
        "query",
        "key",
        "--public-key",
        &p.key.public_key,
        "--uses",
        "torch",
        &p.claims
    ])
    .assert_exit(1)
    .assert_stderr_contains("not a package URL");
}

#[test]
fn every_bad_line_fails_naming_its_line() {
    let p = pipeline();
    let orig = fs::read_to_string(&p.claims).unwrap();
    let reset = || fs::write(&p.claims, &orig).unwrap();
    let check = |needle: &str| {
        verify_with(&p, &p.key, &["--attestations", p.claims.to_str().unwrap()])
            .assert_exit(1)
            .assert_stderr_contains(needle);
    };
    // A tampered line (its signature).
    let mut l = lines(&p.claims);
    l[1] = l[1].replacen("\"sig\":\"", "\"sig\":\"AAAA", 1);
    fs::write(&p.claims, l.join("\n") + "\n").unwrap();
    check("line 2:");
    reset();
    // A tampered payload.
    let mut l = lines(&p.claims);
    l[2] = l[2].replacen("\"payload\":\"ey", "\"payload\":\"ez", 1);
    fs::write(&p.claims, l.join("\n") + "\n").unwrap();
    check("line 3:");
    reset();
    // An attestation about another model, appended to this file.
    attest(
        &p.key,
        &p.data,
        &[
            "eval",
            "--results",
            p.t.path().join("results.json").to_str().unwrap(),
            "--attestations",
            p.claims.to_str().unwrap(),
        ],
        &[],
    )
    .assert_success();
    check("line 4: the attestation is about another model");
    reset();
    // A signer outside the trust.
    let stranger = gen_ec_key(p.t.path(), "stranger", Curve::P256);
    attest(
        &stranger,
        &p.model,
        &[
            "eval",
            "--results",
            p.t.path().join("results.json").to_str().unwrap(),
        ],
        &[],
    )
    .assert_success();
    check("line 4:");
    reset();
    // Garbage, an empty line, a cut-off line.
    fs::write(&p.claims, format!("{orig}not json\n")).unwrap();
    check("line 4:");
    fs::write(&p.claims, format!("{}\n\n{}", lines(&p.claims)[0], &orig)).unwrap();
    check("line 2: the line is empty");
    reset();
    // A required kind that is not there; an explicit file that is not there.
    fs::write(&p.claims, lines(&p.claims)[0].clone() + "\n").unwrap();
    verify_with(&p, &p.key, &["--require", "eval"])
        .assert_exit(1)
        .assert_stderr_contains("holds no verified eval attestation");
    reset();
    verify_with(&p, &p.key, &["--attestations", "/nonexistent/claims.jsonl"])
        .assert_exit(1)
        .assert_stderr_contains("does not exist");
    verify_with(&p, &p.key, &["--require", "sbom"]).assert_exit(2);
}

/// A statement that Go's encoding/json or Python's json would read otherwise than we do, signed
/// by the trusted key: refused, not read our way.
#[test]
fn statements_with_two_readings_are_refused() {
    let p = pipeline();
    let orig = fs::read_to_string(&p.claims).unwrap();
    let st = statement(&lines(&p.claims)[0]);
    let root = st["subject"][0]["digest"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let other_root = "ab".repeat(32);
    let pred = st["predicate"].to_string();
    let cases: Vec<(String, &str)> = vec![
        // Repeated subject: Python keeps the last (another model), serde's Value too.
        (
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"x","digest":{{"sha256":"{root}"}}}}],"subject":[{{"name":"x","digest":{{"sha256":"{other_root}"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{pred}}}"#
            ),
            "appears twice",
        ),
        // Go reads `Subject` as `subject`, last one wins.
        (
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"x","digest":{{"sha256":"{root}"}}}}],"Subject":[{{"name":"x","digest":{{"sha256":"{other_root}"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{pred}}}"#
            ),
            "Go clients",
        ),
        // A second digest algorithm a consumer could match on instead.
        (
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"x","digest":{{"sha256":"{root}","sha512":"00"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{pred}}}"#
            ),
            "exactly one sha256",
        ),
        // Two subjects.
        (
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"x","digest":{{"sha256":"{root}"}}}},{{"name":"y","digest":{{"sha256":"{other_root}"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{pred}}}"#
            ),
            "2 subjects",
        ),
        // A folded predicate key.
        (
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"x","digest":{{"sha256":"{root}"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{{"buildDefinition":{{"buildType":"x"}},"BUILDDEFINITION":{{}},"runDetails":{{"builder":{{"id":"a:b"}}}}}}}}"#
            ),
            "Go clients",
        ),
        // Uppercase hex: another spelling of the digest.
        (
            format!(
                r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"x","digest":{{"sha256":"{}"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{pred}}}"#,
                root.to_uppercase()
            ),
            "lowercase",
        ),
    ];
    for (payload, needle) in cases {
        let b: Value = serde_json::from_slice(&crafted_raw(&p.key, payload.as_bytes())).unwrap();
        fs::write(&p.claims, format!("{orig}{b}\n")).unwrap();
        verify_with(&p, &p.key, &["--attestations", p.claims.to_str().unwrap()])
            .assert_exit(1)
            .assert_stderr_contains("line 4:")
            .assert_stderr_contains(needle);
    }
}

#[test]
fn claims_files_that_cannot_take_a_line_are_left_alone() {
    let p = pipeline();
    let results = p.t.path().join("results.json");
    let eval = |claims: &Path| {
        attest(
            &p.key,
            &p.model,
            &[
                "eval",
                "--results",
                results.to_str().unwrap(),
                "--attestations",
                claims.to_str().unwrap(),
            ],
            &[],
        )
    };
    // Cut off mid-line: refused, unchanged.
    let cut = p.t.path().join("cut.jsonl");
    let first = lines(&p.claims)[0].clone();
    fs::write(&cut, &first[..first.len() / 2]).unwrap();
    eval(&cut)
        .assert_exit(1)
        .assert_stderr_contains("does not end with a line break");
    assert_eq!(fs::read_to_string(&cut).unwrap(), first[..first.len() / 2]);
    // A symbolic link: never written through.
    let target = p.t.path().join("target.jsonl");
    fs::write(&target, "").unwrap();
    let link = p.t.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    eval(&link)
        .assert_exit(1)
        .assert_stderr_contains("symbolic link");
    assert_eq!(fs::read(&target).unwrap(), b"");
    // A directory, a FIFO.
    eval(p.t.path()).assert_exit(1);
    let fifo = p.t.path().join("fifo.jsonl");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    eval(&fifo)
        .assert_exit(1)
        .assert_stderr_contains("not a regular file");
    // Append-only: the existing lines stay byte for byte.
    let before = fs::read(&p.claims).unwrap();
    eval(&p.claims).assert_success();
    let after = fs::read(&p.claims).unwrap();
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(
        after[before.len()..]
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        1
    );
    // Bad inputs fail before anything is appended.
    let before = fs::read(&p.claims).unwrap();
    fs::write(
        &results,
        r#"{"results":[{"benchmark":"b","metric":"m","value":"high"}]}"#,
    )
    .unwrap();
    eval(&p.claims)
        .assert_exit(1)
        .assert_stderr_contains("not a number");
    attest(&p.key, &p.model, &["provenance"], &["--no-ci-environment"])
        .assert_exit(1)
        .assert_stderr_contains("builder id");
    attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--builder-id",
            "x:y",
            "--dependency",
            "pkg:pypi/torch",
            "--no-ci-environment",
        ],
    )
    .assert_exit(1)
    .assert_stderr_contains("no pinned version");
    attest(
        &p.key,
        &p.model,
        &["provenance"],
        &[
            "--builder-id",
            "x:y",
            "--dataset",
            "sha256:1234",
            "--no-ci-environment",
        ],
    )
    .assert_exit(1)
    .assert_stderr_contains("sha256:<64");
    let card = p.t.path().join("card.md");
    fs::write(&card, "---\nlicense: no\n---\n").unwrap();
    attest(
        &p.key,
        &p.model,
        &["model-card", "--card", card.to_str().unwrap()],
        &[],
    )
    .assert_exit(1)
    .assert_stderr_contains("quote it");
    assert_eq!(fs::read(&p.claims).unwrap(), before);
}

#[test]
fn ci_platform_variables_fill_the_provenance() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_small_model(t.path(), "m");
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut cmd = model_signing();
        cmd.env_remove("GITHUB_ACTIONS").env_remove("GITLAB_CI");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut a = args![
            "attest",
            "provenance",
            "key",
            "--private-key",
            &key.private_key,
            "--signature",
            model.join("model.sig")
        ];
        a.extend(extra.iter().map(Into::into));
        a.push(model.clone().into());
        let r = run(cmd.args(a));
        r.assert_success();
        statement(lines(&model.join("claims.jsonl")).last().unwrap())["predicate"].clone()
    };
    let gh = run(
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/train"),
            ("GITHUB_SHA", COMMIT),
            ("GITHUB_REF", "refs/heads/main"),
            (
                "GITHUB_WORKFLOW_REF",
                "acme/train/.github/workflows/train.yml@refs/heads/main",
            ),
            ("GITHUB_RUN_ID", "99"),
            ("GITHUB_RUN_ATTEMPT", "1"),
        ],
        &[],
    );
    assert_eq!(
        gh["runDetails"]["builder"]["id"],
        "https://github.com/acme/train/.github/workflows/train.yml@refs/heads/main"
    );
    assert_eq!(
        gh["runDetails"]["metadata"]["invocationId"],
        "https://github.com/acme/train/actions/runs/99/attempts/1"
    );
    assert_eq!(
        gh["buildDefinition"]["externalParameters"]["source"]["repository"],
        "https://github.com/acme/train"
    );
    assert_eq!(
        gh["buildDefinition"]["externalParameters"]["entryPoint"],
        ".github/workflows/train.yml"
    );
    let gl = run(
        &[
            ("GITLAB_CI", "true"),
            ("CI_SERVER_URL", "https://gitlab.example.com"),
            ("CI_PROJECT_PATH", "ml/train"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/ml/train"),
            ("CI_COMMIT_SHA", COMMIT),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_JOB_URL", "https://gitlab.example.com/ml/train/-/jobs/5"),
        ],
        &["--param", "epochs=3"],
    );
    assert_eq!(
        gl["runDetails"]["builder"]["id"],
        "https://gitlab.example.com/ml/train//.gitlab-ci.yml@refs/heads/main"
    );
    assert_eq!(
        gl["buildDefinition"]["externalParameters"]["parameters"]["epochs"],
        "3"
    );
    // A flag wins over the platform; --no-ci-environment takes nothing from it.
    let mine = run(
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_WORKFLOW_REF", "a/b/w.yml@x"),
        ],
        &["--builder-id", "https://mine.example/b"],
    );
    assert_eq!(
        mine["runDetails"]["builder"]["id"],
        "https://mine.example/b"
    );
    let none = run(
        &[("GITHUB_ACTIONS", "true"), ("GITHUB_REPOSITORY", "a/b")],
        &[
            "--builder-id",
            "https://mine.example/b",
            "--no-ci-environment",
        ],
    );
    assert!(
        none["buildDefinition"]["externalParameters"]
            .get("source")
            .is_none(),
        "{none}"
    );
}

#[test]
fn policy_requires_provenance_from_a_builder_and_allowed_datasets() {
    let p = pipeline();
    let data_digest = payload(&p.data.join("model.sig"))["subject"][0]["digest"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let policy = |attestations: &str| p.verify_under_policy(attestations);
    policy(&format!(
        "      require: [provenance, eval]\n      builders: [\"https://ci.acme.example/*\"]\n      source_repositories: [\"https://git.example/acme/*\"]\n      datasets: [\"sha256:{data_digest}\"]\n"
    ))
    .assert_success();
    policy("      builders: [\"https://elsewhere.example/*\"]\n")
        .assert_exit(1)
        .assert_stderr_contains("line 1: the provenance's builder");
    policy("      source_repositories: [\"https://github.com/*\"]\n")
        .assert_exit(1)
        .assert_stderr_contains("line 1: the provenance's source repository");
    policy(&format!(
        "      datasets: [\"sha256:{}\"]\n",
        "cd".repeat(32)
    ))
    .assert_exit(1)
    .assert_stderr_contains("line 1: the dataset 'data'");
    policy("      require: [sbom]\n")
        .assert_exit(1)
        .assert_stderr_contains("unknown attestation kind");
    policy("      require: [provenance]\n      Builders: [\"x\"]\n").assert_exit(1);
    // The policy asks; the claims file must be there.
    fs::remove_file(&p.claims).unwrap();
    policy("      require: [provenance]\n")
        .assert_exit(1)
        .assert_stderr_contains("does not exist");
}

/// The README's training-pipeline example, run as written: only the training step, the git
/// commit and a second model's claims file are stood in for.
#[test]
fn readme_pipeline_example_runs() {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let at = readme
        .find("## Attestations and SLSA for ML")
        .expect("README section");
    let block = readme[at..]
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .map(|(b, _)| b.to_string())
        .expect("a sh block");
    let train = "python train.py --data cifar10 --out model";
    assert!(block.contains(train) && block.contains("\"$(git rev-parse HEAD)\""));
    let block = block
        .replace(
            train,
            "mkdir -p model && echo w > model/w.bin && printf -- '---\\nlicense: mit\\n---\\n' > model/README.md \
             && echo '{\"results\":[{\"benchmark\":\"b\",\"metric\":\"m\",\"value\":1}]}' > results.json",
        )
        .replace("\"$(git rev-parse HEAD)\"", COMMIT)
        .replace(" other-model/claims.jsonl", "");
    let t = tempdir();
    for k in ["ci", "data-team"] {
        let key = gen_ec_key(t.path(), k, Curve::P256);
        fs::rename(&key.public_key, t.path().join(format!("{k}.pub"))).unwrap();
    }
    write_file(t.path(), "cifar10/train.csv", "1,2\n");
    let bin_dir = bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let r = run(std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{block}"))
        .current_dir(t.path())
        .env("PATH", path)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITLAB_CI"));
    r.assert_success()
        .assert_stdout_contains("Verification succeeded")
        .assert_stdout_contains("[verified: signed by public key")
        .assert_stdout_contains("model: pkg:pypi/torch@2.5.1");
}

/// The claims file's name decides only for a file the signer did not sign: a model whose own
/// content includes a `claims.jsonl` (signed by the reference, which leaves nothing of that name
/// out) is still checked, byte for byte; signing over an existing one says it is left out.
#[test]
fn a_signed_file_named_claims_jsonl_is_model_content() {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_small_model(t.path(), "m");
    write_file(&model, "claims.jsonl", "{\"my\": \"data\"}\n");
    let sig = model.join("model.sig");
    // Signed with the signature elsewhere (so nothing is left out), then moved in beside it.
    let outside = t.path().join("out.sig");
    sign_key(&model, &key, &outside, &[]).assert_success();
    fs::rename(&outside, &sig).unwrap();
    verify_key(&model, &key, &sig, &[]).assert_success();
    fs::write(model.join("claims.jsonl"), "{\"my\": \"tampered\"}\n").unwrap();
    verify_key(&model, &key, &sig, &[])
        .assert_exit(1)
        .assert_stderr_contains("changed: claims.jsonl");
    // Signing in place leaves it out, and says so.
    sign_key(&model, &key, &sig, &[])
        .assert_success()
        .assert_stderr_contains("is left out of the model and not signed");
}

#[test]
fn other_methods_sign_attestations_and_oci_is_refused() {
    let t = tempdir();
    let pki = Pki::generate(t.path(), Curve::P384, Curve::P256);
    let model = make_small_model(t.path(), "m");
    let sig = model.join("model.sig");
    let r = ms(args![
        "attest",
        "provenance",
        "certificate",
        "--private-key",
        &pki.leaf_key.private_key,
        "--signing-certificate",
        &pki.leaf_cert,
        "--certificate-chain",
        &pki.intermediate.cert,
        "--signature",
        &sig,
        "--builder-id",
        "https://ci.example/b",
        "--no-ci-environment",
        "--output",
        "json",
        &model
    ]);
    r.assert_success();
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (
            v["attested"].as_bool(),
            v["method"].as_str(),
            v["line"].as_u64()
        ),
        (Some(true), Some("certificate"), Some(1))
    );
    ms(args![
        "sign",
        "certificate",
        "--private-key",
        &pki.leaf_key.private_key,
        "--signing-certificate",
        &pki.leaf_cert,
        "--certificate-chain",
        &pki.intermediate.cert,
        "--signature",
        &sig,
        &model
    ])
    .assert_success();
    ms(args![
        "verify",
        "certificate",
        "--certificate-chain",
        &pki.root.cert,
        "--signature",
        &sig,
        "--require",
        "provenance",
        &model
    ])
    .assert_success();
    let manifest = t.path().join("manifest.json");
    fs::write(&manifest, "{}").unwrap();
    ms(args![
        "attest", "eval", "certificate", "--private-key", &pki.leaf_key.private_key, "--signing-certificate", &pki.leaf_cert,
        "--results", &manifest, "--signature", t.path().join("x.sig"), format!("oci-manifest:{}", manifest.display())
    ])
    .assert_exit(1)
    .assert_stderr_contains("attesting an OCI image (attest a directory model; its root digest is the subject) is not supported yet");
    ms(args![
        "verify",
        "certificate",
        "--certificate-chain",
        &pki.root.cert,
        "--signature",
        &sig,
        "--require",
        "provenance",
        format!("oci-manifest:{}", manifest.display())
    ])
    .assert_exit(1);
}
