//! `model-signing verify --policy FILE MODEL`: a trust policy picks the signers for each model
//! (issue 22, part 1). Every rule kind this binary checks locally (path patterns, key and
//! certificate signers, hash algorithms), a model no rule covers, a signer the rule does not
//! trust, the model-validation operator's `ModelValidation` resource, and hostile policy files.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

struct Setup {
    t: TempDir,
    model: PathBuf,
    sig: PathBuf,
    key: KeyPair,
}

/// A model signed with a P-256 key, the signature beside it.
fn setup() -> Setup {
    let t = tempdir();
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let model = make_small_model(t.path(), "m");
    let sig = t.path().join("m.sig");
    sign_key(&model, &key, &sig, &[]).assert_success();
    Setup { t, model, sig, key }
}

/// The model's canonical path as a policy pattern sees it.
fn canonical(p: &Path) -> String {
    fs::canonicalize(p).unwrap().to_str().unwrap().to_string()
}

fn write_policy(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("policy.yaml");
    fs::write(&p, text).unwrap();
    p
}

fn verify_policy(policy: &Path, model: &Path, sig: &Path) -> Run {
    ms(args![
        "verify",
        "--policy",
        policy,
        "--signature",
        sig,
        model
    ])
}

#[track_caller]
fn assert_refused(r: &Run, needle: &str) {
    r.assert_exit(1).assert_stderr_contains(needle);
    assert_eq!(r.stderr.lines().count(), 1, "{r}");
    assert!(!r.stdout.contains("Verification succeeded"), "{r}");
}

fn key_policy(s: &Setup, pattern: &str, extra: &str) -> PathBuf {
    write_policy(
        s.t.path(),
        &format!(
            "apiVersion: model-signing.openssf.org/v1\n\
             kind: Policy\n\
             rules:\n\
             \x20 - name: ours\n\
             \x20   models:\n\
             \x20     - path: \"{pattern}\"\n\
             \x20   signers:\n\
             \x20     - key: {}\n\
             {extra}",
            s.key.public_key.display()
        ),
    )
}

#[test]
fn a_key_rule_verifies_its_models_and_only_with_its_key() {
    let s = setup();
    let dir = canonical(s.t.path());
    let p = key_policy(&s, &format!("{dir}/*"), "");
    verify_policy(&p, &s.model, &s.sig)
        .assert_success()
        .assert_stdout_contains("Verification succeeded");
    // `verify policy --policy` is the same method, named.
    ms(args![
        "verify",
        "policy",
        "--policy",
        &p,
        "--signature",
        &s.sig,
        &s.model
    ])
    .assert_success();
    // Another key's signature is refused, naming what was tried.
    let other = gen_ec_key(s.t.path(), "other", Curve::P256);
    let other_sig = s.t.path().join("other.sig");
    sign_key(&s.model, &other, &other_sig, &[]).assert_success();
    assert_refused(
        &verify_policy(&p, &s.model, &other_sig),
        "is not from a signer rule 'ours' trusts",
    );
}

#[test]
fn a_model_no_rule_names_is_refused() {
    let s = setup();
    let p = key_policy(&s, "/nowhere/**", "");
    assert_refused(
        &verify_policy(&p, &s.model, &s.sig),
        "no rule of the policy",
    );
    // A link inside a covered directory to a model outside it does not make the model covered:
    // patterns see the canonical path.
    let dir = canonical(s.t.path());
    fs::create_dir(s.t.path().join("covered")).unwrap();
    let p = key_policy(&s, &format!("{dir}/covered/*"), "");
    let alias = s.t.path().join("covered").join("alias");
    std::os::unix::fs::symlink(&s.model, &alias).unwrap();
    assert_refused(&verify_policy(&p, &alias, &s.sig), "no rule of the policy");
}

#[test]
fn the_first_matching_rule_decides() {
    let s = setup();
    let dir = canonical(s.t.path());
    let other = gen_ec_key(s.t.path(), "other", Curve::P256);
    // The first rule covers the model and trusts another key: it decides, the second is not
    // consulted.
    let p = write_policy(
        s.t.path(),
        &format!(
            "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n\
             \x20 - name: first\n    models: [{{path: \"{dir}/m\"}}]\n    signers: [{{key: {}}}]\n\
             \x20 - name: second\n    models: [{{path: \"{dir}/**\"}}]\n    signers: [{{key: {}}}]\n",
            other.public_key.display(),
            s.key.public_key.display()
        ),
    );
    assert_refused(&verify_policy(&p, &s.model, &s.sig), "rule 'first'");
}

#[test]
fn hash_algorithms_the_rule_does_not_accept_are_refused() {
    let s = setup();
    let dir = canonical(s.t.path());
    let p = key_policy(&s, &format!("{dir}/*"), "    hash_algorithms: [blake3]\n");
    assert_refused(
        &verify_policy(&p, &s.model, &s.sig),
        "uses sha256, which rule 'ours' does not accept",
    );
    let b3 = s.t.path().join("b3.sig");
    sign_key(&s.model, &s.key, &b3, &["--hash-algorithm", "blake3"]).assert_success();
    verify_policy(&p, &s.model, &b3).assert_success();
}

#[test]
fn a_certificate_rule_verifies_chains_to_its_roots() {
    let t = tempdir();
    let model = make_small_model(t.path(), "m");
    let pki = Pki::generate(&t.path().join("pki"), Curve::P384, Curve::P256);
    let sig = t.path().join("c.sig");
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
    let dir = canonical(t.path());
    let p = write_policy(
        t.path(),
        &format!(
            "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n\
             \x20 - models: [{{path: \"{dir}/m\"}}]\n    signers:\n      - certificate:\n          roots: [{}]\n",
            pki.root.cert.display()
        ),
    );
    verify_policy(&p, &model, &sig).assert_success();
    // The same signature under a rule that trusts only a key: refused.
    let key = gen_ec_key(t.path(), "k", Curve::P256);
    let p = write_policy(
        t.path(),
        &format!(
            "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n\
             \x20 - models: [{{path: \"{dir}/m\"}}]\n    signers: [{{key: {}}}]\n",
            key.public_key.display()
        ),
    );
    assert_refused(
        &verify_policy(&p, &model, &sig),
        "is not from a signer rule '#1' trusts",
    );
}

#[test]
fn a_model_validation_resource_is_a_policy_for_its_one_model() {
    let s = setup();
    let model = canonical(&s.model);
    let p = write_policy(
        s.t.path(),
        &format!(
            "apiVersion: ml.sigstore.dev/v1alpha1\n\
             kind: ModelValidation\n\
             metadata:\n  name: demo\n  namespace: ml\n\
             spec:\n\
             \x20 model:\n    path: {model}\n    signaturePath: {model}/model.sig\n\
             \x20 config:\n    privateKeyConfig:\n      keyPath: {}\n",
            s.key.public_key.display()
        ),
    );
    verify_policy(&p, &s.model, &s.sig).assert_success();
    // The current operator's schema: publicKeyConfig, the model's options (read, not applied:
    // each only relaxes), and the operator's own settings.
    let p = write_policy(
        s.t.path(),
        &format!(
            "apiVersion: ml.sigstore.dev/v1alpha1\n\
             kind: ModelValidation\n\
             metadata: {{name: demo}}\n\
             spec:\n\
             \x20 imagePullPolicy: IfNotPresent\n\
             \x20 continuousValidation: {{enabled: false}}\n\
             \x20 model:\n    path: {model}\n    ignoreGitPaths: true\n    allowSymlinks: false\n\
             \x20   ignorePaths: [{model}/cache]\n\
             \x20 config:\n    publicKeyConfig:\n      keyPath: {}\n",
            s.key.public_key.display()
        ),
    );
    verify_policy(&p, &s.model, &s.sig).assert_success();
    // spec.model.signaturePath is the signature when none is given.
    let p = write_policy(
        s.t.path(),
        &format!(
            "apiVersion: ml.sigstore.dev/v1alpha1\nkind: ModelValidation\nspec:\n\
             \x20 model: {{path: {model}, signaturePath: {}}}\n\
             \x20 config: {{publicKeyConfig: {{keyPath: {}}}}}\n",
            canonical(&s.sig),
            s.key.public_key.display()
        ),
    );
    ms(args!["verify", "--policy", &p, &s.model]).assert_success();
    // It names one model: another is not covered.
    let other = make_small_model(s.t.path(), "other");
    assert_refused(&verify_policy(&p, &other, &s.sig), "no rule of the policy");
}

/// Hostile or malformed policy files: each is one line and exit 1, never a verification.
#[test]
fn hostile_policy_files_are_one_clear_error() {
    let s = setup();
    let dir = canonical(s.t.path());
    let key = s.key.public_key.display().to_string();
    let good_rule =
        format!("rules:\n  - models: [{{path: \"{dir}/*\"}}]\n    signers: [{{key: {key}}}]\n");
    let head = "apiVersion: model-signing.openssf.org/v1\nkind: Policy\n";
    let cases: Vec<(&str, String, &str)> = vec![
        ("duplicate key", format!("{head}{good_rule}{good_rule}"), "duplicate"),
        (
            "case-folded key",
            format!("{head}Rules:\n  - models: [{{path: \"{dir}/*\"}}]\n    signers: [{{key: {key}}}]\n"),
            "unknown field",
        ),
        (
            "anchor and alias",
            format!("{head}rules:\n  - models: &m [{{path: \"{dir}/*\"}}]\n    signers: [{{key: {key}}}]\n  - models: *m\n    signers: [{{key: {key}}}]\n"),
            "not valid",
        ),
        (
            "merge key",
            format!("{head}base: &b {{signers: [{{key: {key}}}]}}\nrules:\n  - <<: *b\n    models: [{{path: \"{dir}/*\"}}]\n"),
            "not valid",
        ),
        (
            "YAML 1.1 boolean",
            format!("{head}{good_rule}    require_timestamp: yes\n"),
            "not valid",
        ),
        (
            "a tag",
            format!("{head}rules:\n  - models: [{{path: !!str \"{dir}/*\"}}]\n    signers: [{{key: !evil {key}}}]\n"),
            "not valid",
        ),
        ("unknown kind", "apiVersion: v1\nkind: ConfigMap\n".to_string(), "name no policy"),
        ("no rules", format!("{head}rules: []\n"), "no rules"),
        (
            "two kinds of model in one entry",
            format!("{head}rules:\n  - models: [{{path: \"{dir}/*\", oci: \"r/x\"}}]\n    signers: [{{key: {key}}}]\n"),
            "exactly one of path, oci, huggingface",
        ),
        (
            "a relative path pattern",
            format!("{head}rules:\n  - models: [{{path: \"m\"}}]\n    signers: [{{key: {key}}}]\n"),
            "normalised absolute path",
        ),
        (
            "a sigstore signer with both identities",
            format!("{head}rules:\n  - models: [{{path: \"{dir}/*\"}}]\n    signers: [{{sigstore: {{identity: a, identity_regex: b, issuer: c}}}}]\n"),
            "exactly one of identity, identity_regex",
        ),
        (
            "an unknown hash algorithm",
            format!("{head}{good_rule}    hash_algorithms: [md5]\n"),
            "md5",
        ),
        (
            "escape sequences in a name",
            format!("{head}rules:\n  - name: \"\\e[2J\\nVerification succeeded\"\n    models: [{{path: \"{dir}/*\"}}]\n    signers: [{{key: /nonexistent.pem}}]\n"),
            "not valid",
        ),
        ("two documents", format!("{head}{good_rule}---\n{head}{good_rule}"), "not valid"),
        (
            "a YAML 1.1 word as a string (Kubernetes reads `no` as false)",
            format!("{head}rules:\n  - name: no\n    models: [{{path: \"{dir}/*\"}}]\n    signers: [{{key: {key}}}]\n"),
            "is not a string to every YAML reader",
        ),
        (
            "a known tag",
            format!("{head}rules:\n  - name: !!str x\n    models: [{{path: \"{dir}/*\"}}]\n    signers: [{{key: {key}}}]\n"),
            "an anchor or a tag",
        ),
        (
            "an unquoted date",
            format!("{head}rules:\n  - name: 2024-01-02\n    models: [{{path: \"{dir}/*\"}}]\n    signers: [{{key: {key}}}]\n"),
            "is not a string to every YAML reader",
        ),
        (
            "a %YAML directive",
            format!("%YAML 1.1\n---\n{head}{good_rule}"),
            "directive",
        ),
        (
            "require_timestamp with a sigstore signer",
            format!("{head}rules:\n  - models: [{{path: \"{dir}/*\"}}]\n    signers: [{{sigstore: {{identity: a, issuer: b}}}}]\n    require_timestamp: true\n"),
            "require_timestamp applies to key and certificate signers",
        ),
        (
            "a ModelValidation with a relative key path",
            format!("apiVersion: ml.sigstore.dev/v1alpha1\nkind: ModelValidation\nspec:\n  model: {{path: {dir}/m}}\n  config:\n    publicKeyConfig: {{keyPath: k-pub.pem}}\n"),
            "must be an absolute path",
        ),
        (
            "a ModelValidation with two methods",
            format!("apiVersion: ml.sigstore.dev/v1alpha1\nkind: ModelValidation\nspec:\n  model: {{path: {dir}/m}}\n  config:\n    publicKeyConfig: {{keyPath: {key}}}\n    pkiConfig: {{certificateAuthority: {key}}}\n"),
            "exactly one of",
        ),
        (
            "a YAML 1.1 line break (U+2028) hiding a rule in a comment",
            format!("{head}rules:\n  # note\u{2028}  - {{name: strict, models: [{{path: \"{dir}/*\"}}], signers: [{{key: /nonexistent.pem}}]}}\n  - models: [{{path: \"{dir}/*\"}}]\n    signers: [{{key: {key}}}]\n"),
            "line break",
        ),
        (
            "NEL (U+0085) in a value",
            format!("{head}rules:\n  - models: [{{path: \"{dir}/*\"}}]\n    signers: [{{key: {key}\u{85}}}]\n"),
            "line break",
        ),
        (
            "a tab",
            format!("{head}rules:\n  - name:\tacme\n    models: [{{path: \"{dir}/*\"}}]\n    signers: [{{key: {key}}}]\n"),
            "tab",
        ),
        (
            "a %TAG directive",
            format!("%TAG !e! tag:x,2000:\n---\n{head}{good_rule}"),
            "directive",
        ),
        (
            "a quoted boolean",
            format!("{head}{good_rule}    require_timestamp: \"false\"\n"),
            "quoted",
        ),
        (
            "`=` as a value (YAML 1.1's value key)",
            format!("{head}rules:\n  - name: =\n    models: [{{path: \"{dir}/*\"}}]\n    signers: [{{key: {key}}}]\n"),
            "is not a string to every YAML reader",
        ),
        (
            "a path pattern with a trailing slash",
            format!("{head}rules:\n  - models: [{{path: \"{dir}/m/\"}}]\n    signers: [{{key: {key}}}]\n"),
            "normalised absolute path",
        ),
        (
            "a path pattern with `..`",
            format!("{head}rules:\n  - models: [{{path: \"{dir}/x/../m\"}}]\n    signers: [{{key: {key}}}]\n"),
            "normalised absolute path",
        ),
        (
            "a ModelValidation with publicKeyConfig and privateKeyConfig",
            format!("apiVersion: ml.sigstore.dev/v1alpha1\nkind: ModelValidation\nspec:\n  model: {{path: {dir}/m}}\n  config:\n    publicKeyConfig: {{keyPath: {key}}}\n    privateKeyConfig: {{keyPath: {key}}}\n"),
            "exactly one of",
        ),
        (
            "a ModelValidation key in another case",
            format!("apiVersion: ml.sigstore.dev/v1alpha1\nkind: ModelValidation\nspec:\n  model: {{path: {dir}/m}}\n  config:\n    publicKeyConfig: {{keypath: {key}}}\n"),
            "unknown field",
        ),
    ];
    for (what, text, needle) in cases {
        let p = write_policy(s.t.path(), &text);
        let r = verify_policy(&p, &s.model, &s.sig);
        r.assert_exit(1);
        assert!(r.stderr.contains(needle), "{what}: {r}");
        assert_eq!(r.stderr.lines().count(), 1, "{what}: {r}");
        assert!(!r.stderr.contains('\u{1b}'), "{what}: {r}");
    }
    // Not a regular file, or too large: refused before parsing.
    let fifo = s.t.path().join("fifo.yaml");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    assert_refused(
        &verify_policy(&fifo, &s.model, &s.sig),
        "cannot read the policy",
    );
    let big = s.t.path().join("big.yaml");
    fs::write(
        &big,
        format!("{head}# {}\n{good_rule}", "x".repeat(2 << 20)),
    )
    .unwrap();
    assert_refused(
        &verify_policy(&big, &s.model, &s.sig),
        "cannot read the policy",
    );
}

/// docs/kubernetes: the ModelValidation example is a valid policy, the pod is valid YAML, and the
/// init container's command line is one our CLI accepts (it fails here only because the policy
/// file it names is mounted in the pod, not on this machine).
#[test]
fn the_kubernetes_example_parses_and_its_command_line_is_accepted() {
    let docs = repo_root().join("docs/kubernetes");
    let mv = docs.join("modelvalidation.yaml");
    let t = tempdir();
    let model = make_small_model(t.path(), "m");
    // Parsed as a policy: the model here is not the one it names, so that is the refusal.
    let r = ms(args![
        "verify",
        "--policy",
        &mv,
        "--signature",
        t.path().join("x.sig"),
        &model
    ]);
    assert_refused(&r, "no rule of the policy");
    let pod: serde_json::Value =
        serde_saphyr::from_str(&fs::read_to_string(docs.join("pod.yaml")).unwrap())
            .expect("pod.yaml is YAML");
    let init = &pod["spec"]["initContainers"][0];
    assert_eq!(init["command"][0], "model-signing");
    let argv: Vec<String> = init["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(argv[..2], ["verify", "--policy"]);
    let r = ms(argv
        .iter()
        .map(std::ffi::OsString::from)
        .collect::<Vec<_>>());
    // Exit 1 (what it checked failed), not 2 (a usage error).
    assert_refused(
        &r,
        "cannot read the policy '/etc/model-signing/policy.yaml'",
    );
}

/// Certificates read for the rules are bounded in all (the review loaded 181,100 roots from one
/// 1 MiB file named 100 times: 67 s and 4.1 GB); the same file named again is read once.
#[test]
fn signer_files_are_bounded_across_the_policy() {
    let t = tempdir();
    let pki = Pki::generate(&t.path().join("pki"), Curve::P256, Curve::P256);
    let one = fs::read_to_string(&pki.root.cert).unwrap();
    let big = t.path().join("bigca.pem");
    fs::write(&big, one.repeat(1_001)).unwrap();
    let model = make_small_model(t.path(), "m");
    let p = write_policy(
        t.path(),
        &format!(
            "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n\
             \x20 - models: [{{path: \"/nowhere\"}}]\n    signers: [{{certificate: {{roots: [{}]}}}}]\n",
            big.display()
        ),
    );
    let start = std::time::Instant::now();
    let r = verify_policy(&p, &model, &t.path().join("x.sig"));
    assert_refused(&r, "trust anchors");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

/// A pattern through an existing symlink is refused when the policy is loaded. Resolved, it let
/// whoever can put a link at a rule's path move the rule onto another tree (`uploads/community`
/// pointed at `prod/acme`, and prod verified under the community rule); unresolved, it never
/// matched and the model fell through to a broader rule.
#[test]
fn a_pattern_through_a_symlink_is_refused() {
    let s = setup();
    let dir = canonical(s.t.path());
    fs::create_dir(s.t.path().join("uploads")).unwrap();
    std::os::unix::fs::symlink(&s.model, s.t.path().join("uploads").join("community")).unwrap();
    for pattern in [
        format!("{dir}/uploads/community"),
        format!("{dir}/uploads/community/**"),
    ] {
        let p = key_policy(&s, &pattern, "");
        assert_refused(
            &verify_policy(&p, &s.model, &s.sig),
            "goes through the symlink",
        );
    }
    // A ModelValidation naming the link is refused the same way.
    let p = write_policy(
        s.t.path(),
        &format!(
            "apiVersion: ml.sigstore.dev/v1alpha1\nkind: ModelValidation\nspec:\n\
             \x20 model: {{path: {dir}/uploads/community}}\n\
             \x20 config: {{publicKeyConfig: {{keyPath: {}}}}}\n",
            s.key.public_key.display()
        ),
    );
    assert_refused(
        &verify_policy(&p, &s.model, &s.sig),
        "goes through the symlink",
    );
}

/// A policy reached through a symlink resolves its relative key paths against the file's own
/// directory, not the link's.
#[test]
fn relative_paths_are_relative_to_the_policy_file_itself() {
    let s = setup();
    let dir = canonical(s.t.path());
    let real = s.t.path().join("real");
    fs::create_dir(&real).unwrap();
    fs::copy(&s.key.public_key, real.join("trusted.pem")).unwrap();
    fs::write(
        real.join("policy.yaml"),
        format!(
            "apiVersion: model-signing.openssf.org/v1\nkind: Policy\nrules:\n\
             \x20 - models: [{{path: \"{dir}/m\"}}]\n    signers: [{{key: trusted.pem}}]\n"
        ),
    )
    .unwrap();
    let elsewhere = s.t.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    // A different key under the same name beside the link.
    let other = gen_ec_key(&elsewhere, "other", Curve::P256);
    fs::copy(&other.public_key, elsewhere.join("trusted.pem")).unwrap();
    std::os::unix::fs::symlink(real.join("policy.yaml"), elsewhere.join("link.yaml")).unwrap();
    verify_policy(&elsewhere.join("link.yaml"), &s.model, &s.sig).assert_success();
}
