//! Differential test of our OCI manifest reader (`oci::image::parse`) against Go's
//! `encoding/json`, the decoder of oras, containerd, Distribution, skopeo, crane and KServe.
//!
//! `tests/go/ocidecode` (standard library only) is built with the local Go and run once over a
//! corpus of hostile manifests and indexes generated here: every field name at every level
//! (document, config, layers, index entries, platforms, subject) respelled with other cases and
//! with the runes Go folds onto ASCII (`ſ`, the Kelvin sign, `İ`, `ı`), alone, before or after the
//! real key; exact repeats, also through `\u00XX` escapes; both shapes in one document; media
//! types that disagree with the shape; `null` and wrong types in every field; numbers Go and serde
//! read differently; non-string annotations; a BOM, trailing bytes, deep nesting, invalid UTF-8
//! and lone surrogates; `data`; unknown keys; and real-looking ORAS, OCI and Docker documents as
//! controls. For every document we accept, Go must decode it without error to the same layers,
//! config, index entries and platforms (and every other field `parse_document` reads).
//!
//! The same run checks:
//! * `json::GO_FOLDS_TO_ASCII` against the fold table the Go program computes from its Unicode
//!   tables (both rules Go has used);
//! * the fuzz target's model of Go (`fuzz/fuzz_targets/oci_go_model.rs`, included below) against
//!   the real decoder on every document serde_json can read, so the fuzz oracle is tested too;
//! * that the comparison has teeth: a copy of the reader this one replaced (serde-derived structs,
//!   unknown spellings ignored) accepts the attack documents, and Go reads them differently.
//!
//! Needs `go` (`MS_GO`, else `go` on PATH; `scripts/test` installs Debian's `golang-go`). Without
//! it the test skips with a note, unless `MS_REQUIRE_PEERS=1`, where it fails.

#[path = "../../../fuzz/fuzz_targets/oci_go_model.rs"]
mod oci_go_model;

#[path = "oci_go_differential/corpus.rs"]
mod corpus;

use corpus::Expect;
use model_signing::oci::{image, json};
use oci_go_model::{Desc, Doc, ModelError};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------------------------
// The Go program
// ---------------------------------------------------------------------------------------------

fn env_flag(name: &str) -> bool {
    matches!(
        std::env::var(name)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Ok("1" | "true" | "yes")
    )
}

/// `go` (`MS_GO` first), or `None` (skip) / a panic under `MS_REQUIRE_PEERS=1`.
fn go_tool() -> Option<PathBuf> {
    let go = std::env::var_os("MS_GO")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("go"), PathBuf::from);
    let works = Command::new(&go)
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    match works {
        true => Some(go),
        false if env_flag("MS_REQUIRE_PEERS") => panic!(
            "'{}' does not run but MS_REQUIRE_PEERS=1: run the tests through scripts/test, which \
             installs Go (apt golang-go)",
            go.display()
        ),
        false => {
            eprintln!(
                "note: no Go toolchain ('{}'); skipping (scripts/test installs it)",
                go.display()
            );
            None
        }
    }
}

/// `go version` as (major, minor), e.g. (1, 19).
fn go_version(go: &Path) -> (u32, u32) {
    let out = Command::new(go)
        .arg("version")
        .output()
        .expect("go version");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let v = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("go1."))
        .unwrap_or_else(|| panic!("cannot read the Go version from {text:?}"));
    let minor: String = v.chars().take_while(char::is_ascii_digit).collect();
    (1, minor.parse().expect("a Go minor version"))
}

/// Builds `tests/go/ocidecode` under this test's target directory, offline (no module is
/// needed): its build cache stays there, so later runs rebuild nothing.
fn build(go: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/go/ocidecode");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ocidecode");
    std::fs::create_dir_all(&work).unwrap();
    let bin = work.join("ocidecode");
    let out = Command::new(go)
        .args(["build", "-o"])
        .arg(&bin)
        .arg(".")
        .current_dir(&src)
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOENV", "off")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", work.join("cache"))
        .env("GOPATH", work.join("path"))
        .output()
        .expect("run go build");
    assert!(
        out.status.success(),
        "go build of {} failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GoResult {
    file: String,
    ok: bool,
    error: String,
    doc: Doc,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GoFold {
    rune: String,
    char: String,
    ascii: String,
    rules: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// The reader this one replaced, kept to show that the comparison catches it
// ---------------------------------------------------------------------------------------------

/// The serde-derived reader of `oci::image::parse` before the strict one (keys matched exactly,
/// unknown spellings ignored, a repeated exact key refused by serde's derive), reduced to what it
/// returned, plus `artifactType` so that only key matching differs from the current reader.
mod legacy {
    use model_signing::oci::image::{self, Descriptor, ImageManifest, Parsed};
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawDoc {
        schema_version: Option<i64>,
        media_type: Option<String>,
        config: Option<RawDescriptor>,
        layers: Option<Vec<RawDescriptor>>,
        manifests: Option<Vec<RawDescriptor>>,
        fs_layers: Option<serde::de::IgnoredAny>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawDescriptor {
        media_type: Option<String>,
        digest: Option<String>,
        size: Option<i64>,
        annotations: Option<BTreeMap<String, String>>,
        platform: Option<RawPlatform>,
        artifact_type: Option<String>,
    }

    #[derive(Deserialize)]
    struct RawPlatform {
        os: Option<String>,
        architecture: Option<String>,
        variant: Option<String>,
    }

    fn descriptor(d: RawDescriptor) -> Option<Descriptor> {
        let digest = image::parse_digest(d.digest.as_deref()?, "d").ok()?;
        let size = u64::try_from(d.size?).ok()?;
        let platform = d.platform.map(|p| {
            let mut s = format!(
                "{}/{}",
                p.os.unwrap_or_else(|| "?".into()),
                p.architecture.unwrap_or_else(|| "?".into())
            );
            if let Some(v) = p.variant {
                s.push('/');
                s.push_str(&v);
            }
            s
        });
        Some(Descriptor {
            media_type: d.media_type.unwrap_or_default(),
            digest,
            size,
            annotations: d.annotations.unwrap_or_default(),
            platform,
            artifact_type: d.artifact_type,
        })
    }

    pub fn parse(raw: &[u8]) -> Option<Parsed> {
        if raw.len() > image::MAX_MANIFEST_BYTES {
            return None;
        }
        let doc: RawDoc = serde_json::from_slice(raw).ok()?;
        if doc.fs_layers.is_some() || doc.schema_version != Some(2) {
            return None;
        }
        let mt = doc.media_type.as_deref();
        if let Some(entries) = doc.manifests {
            if !matches!(mt, None | Some(image::OCI_INDEX) | Some(image::DOCKER_LIST))
                || entries.len() > image::MAX_LAYERS
            {
                return None;
            }
            return entries
                .into_iter()
                .map(descriptor)
                .collect::<Option<_>>()
                .map(Parsed::Index);
        }
        if !matches!(
            mt,
            None | Some(image::OCI_MANIFEST) | Some(image::DOCKER_MANIFEST)
        ) {
            return None;
        }
        let config = descriptor(doc.config?)?;
        let layers = doc.layers?;
        if layers.is_empty() || layers.len() > image::MAX_LAYERS {
            return None;
        }
        Some(Parsed::Image(ImageManifest {
            media_type: mt.unwrap_or(image::OCI_MANIFEST).to_string(),
            config,
            layers: layers.into_iter().map(descriptor).collect::<Option<_>>()?,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

/// What Go read, in one line: the layers' or entries' digests (shortened) and titles/platforms.
fn summary(doc: &Doc) -> String {
    let short = |d: &Desc| {
        let hex = d.digest.strip_prefix("sha256:").unwrap_or(&d.digest);
        let mut s = format!("{}…", &hex[..hex.len().min(8)]);
        if let Some(t) = d.annotations.as_ref().and_then(|a| a.get(image::TITLE)) {
            s.push_str(&format!(" {t:?}"));
        }
        if let Some(p) = &d.platform {
            s.push_str(&format!(" {}/{}", p.os, p.architecture));
        }
        s
    };
    let list = |v: &Option<Vec<Desc>>| {
        v.as_ref()
            .map(|v| v.iter().map(short).collect::<Vec<_>>().join(", "))
            .unwrap_or_else(|| "none".into())
    };
    format!(
        "mediaType {:?}, config {}, layers [{}], manifests [{}]",
        doc.media_type,
        short(&doc.config),
        list(&doc.layers),
        list(&doc.manifests)
    )
}

#[test]
fn go_reads_what_we_accept() {
    let Some(go) = go_tool() else {
        return;
    };
    let version = go_version(&go);
    let bin = build(&go);

    // 1. The fold table.
    let out = Command::new(&bin)
        .arg("fold-table")
        .output()
        .expect("run ocidecode");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let folds: Vec<GoFold> = serde_json::from_slice(&out.stdout).expect("fold-table output");
    let as_pairs = |rule: Option<&str>| -> BTreeSet<(char, char)> {
        folds
            .iter()
            .filter(|f| rule.is_none_or(|r| f.rules.iter().any(|x| x == r)))
            .map(|f| {
                let mut c = f.char.chars();
                let mut a = f.ascii.chars();
                (c.next().unwrap(), a.next().unwrap())
            })
            .collect()
    };
    let ours: BTreeSet<(char, char)> = json::GO_FOLDS_TO_ASCII.iter().copied().collect();
    assert_eq!(
        ours,
        as_pairs(None),
        "json::GO_FOLDS_TO_ASCII differs from what Go {version:?} folds onto ASCII: {:?}",
        folds
            .iter()
            .map(|f| (&f.rune, &f.char, &f.ascii, &f.rules))
            .collect::<Vec<_>>()
    );
    // The rule this Go applies when it decodes: the model must use it to agree exactly.
    let local_rule = if version >= (1, 21) {
        "foldName"
    } else {
        "EqualFold"
    };
    let local_table: Vec<(char, char)> = as_pairs(Some(local_rule)).into_iter().collect();
    eprintln!("Go {version:?}: folds {local_table:?} ({local_rule}); the union is {ours:?}");

    // 2. The corpus, decoded by Go in one run.
    let cases = corpus::corpus();
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..cases.len()).map(|i| format!("{i:05}.json")).collect();
    for (case, name) in cases.iter().zip(&names) {
        std::fs::write(dir.path().join(name), &case.raw).unwrap();
    }
    let out = Command::new(&bin)
        .arg("decode")
        .args(&names)
        .current_dir(dir.path())
        .output()
        .expect("run ocidecode decode");
    assert!(
        out.status.success(),
        "ocidecode: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<GoResult> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(l)))
        })
        .collect();
    assert_eq!(results.len(), cases.len(), "one result per document");

    let mut failures: Vec<String> = Vec::new();
    let (mut accepted, mut go_ok, mut unreadable, mut legacy_accepted) = (0, 0, 0, 0);
    let mut legacy_wrong: BTreeMap<String, String> = BTreeMap::new();
    let mut controls = 0;
    for ((case, name), go) in cases.iter().zip(&names).zip(&results) {
        assert_eq!(&go.file, name);
        go_ok += usize::from(go.ok);
        let ours = image::parse(&case.raw);
        let label = || {
            format!(
                "[{}] {}",
                case.name,
                String::from_utf8_lossy(&case.raw)
                    .chars()
                    .take(600)
                    .collect::<String>()
            )
        };
        match (&ours, case.expect) {
            (Err(e), Expect::Accept) => {
                failures.push(format!("control refused: {e}\n  {}", label()))
            }
            (Ok(_), Expect::Refuse) => failures.push(format!("attack accepted\n  {}", label())),
            (Ok(_), Expect::Accept) => controls += 1,
            _ => {}
        }
        // Our reading against Go's.
        if let Ok(parsed) = &ours {
            accepted += 1;
            let doc = image::parse_document(&case.raw, "the manifest").expect("parse accepted it");
            if !go.ok {
                failures.push(format!("we accept, Go fails ({})\n  {}", go.error, label()));
            } else if let Err(e) = oci_go_model::check_parsed(parsed, &go.doc)
                .and_then(|()| oci_go_model::check_document(&doc, &go.doc))
            {
                failures.push(format!(
                    "we read it differently from Go: {e}\n  {}",
                    label()
                ));
            }
            // What the fuzz target checks (the model, with the folds of every Go release): it
            // must hold on every accepted document here, or the target reports false crashes.
            match oci_go_model::decode(&case.raw, &json::GO_FOLDS_TO_ASCII) {
                Ok(m) => {
                    if let Err(e) = oci_go_model::check_parsed(parsed, &m)
                        .and_then(|()| oci_go_model::check_document(&doc, &m))
                    {
                        failures.push(format!("the fuzz oracle fails: {e}\n  {}", label()));
                    }
                }
                Err(e) => failures.push(format!("the fuzz oracle fails: {e}\n  {}", label())),
            }
        }
        // The fuzz target's model against the real decoder.
        match oci_go_model::decode(&case.raw, &local_table) {
            Err(ModelError::Unreadable(_)) => unreadable += 1,
            _ if case.model_inexact => {}
            Err(ModelError::Go(e)) if go.ok => {
                failures.push(format!("the model fails ({e}), Go reads it\n  {}", label()))
            }
            Ok(_) if !go.ok => failures.push(format!(
                "the model reads it, Go fails ({})\n  {}",
                go.error,
                label()
            )),
            Ok(m) if m != go.doc => failures.push(format!(
                "the model reads it differently from Go:\n  model {m:?}\n  Go    {:?}\n  {}",
                go.doc,
                label()
            )),
            _ => {}
        }
        // The old reader: what the comparison says about it.
        if let Some(old) = legacy::parse(&case.raw) {
            legacy_accepted += 1;
            let verdict = if go.ok {
                oci_go_model::check_parsed(&old, &go.doc).err()
            } else {
                Some(format!("Go fails: {}", go.error))
            };
            if let Some(v) = verdict {
                legacy_wrong.insert(case.name.clone(), v);
            }
        }
    }

    // 3. The attack documents: refused by us, and what Go reads from them.
    eprintln!("\nattack documents (the old reader's verdict, then Go {version:?}'s reading):");
    for (case, go) in cases
        .iter()
        .zip(&results)
        .filter(|(c, _)| c.expect == Expect::Refuse)
    {
        let ours = image::parse(&case.raw)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let old = match (legacy::parse(&case.raw), legacy_wrong.get(&case.name)) {
            (None, _) => "old reader refuses".to_string(),
            (Some(_), Some(why)) => format!("old reader accepts, Go differs: {why}"),
            (Some(_), None) => "old reader accepts, Go agrees".to_string(),
        };
        eprintln!(
            "  {}\n    we refuse: {ours}\n    {old}\n    Go: ok={} {}",
            case.name,
            go.ok,
            summary(&go.doc)
        );
        // Each attack must fool the old reader: otherwise it does not show what this test is for.
        let fools_old = legacy_wrong.contains_key(&case.name);
        let go_reads_it = !case.needs_go121 || version >= (1, 21);
        if go_reads_it && !fools_old {
            failures.push(format!(
                "attack '{}' does not show the old reader's bug ({old})",
                case.name
            ));
        }
    }

    eprintln!(
        "\n{} documents: {accepted} accepted by us, {go_ok} decoded by Go, {unreadable} unreadable \
         to serde_json (the model skips them); the old reader accepted {legacy_accepted}, {} of \
         them read differently by Go",
        cases.len(),
        legacy_wrong.len()
    );
    for (name, why) in legacy_wrong.iter().take(15) {
        eprintln!("  old reader vs Go: [{name}] {why}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let n_controls = cases.iter().filter(|c| c.expect == Expect::Accept).count();
    assert!(
        n_controls >= 12 && controls == n_controls,
        "{controls} of {n_controls} controls accepted"
    );
    assert!(
        accepted >= 250,
        "only {accepted} documents accepted: the comparison is too thin"
    );
}
