//! The Python reference's golden statements (model-transparency `tests/_signing/testdata`): we rebuild
//! its fixture models exactly and require the same resources, in the same order, and the same root
//! digest. This is what makes our `digest` and subject digest equal Python's.

mod common;
use common::vectors;
use model_signing::hashing::{HashAlgorithm, HashingConfig, Serialization};
use model_signing::manifest::Manifest;
use model_signing::walk::IgnoreSet;
use std::fs;
use std::path::{Path, PathBuf};

fn write(p: &Path, s: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, s).unwrap();
}

/// Recreates the fixtures of model-transparency's `tests/conftest.py`; returns the model path.
fn fixture(base: &Path, name: &str) -> PathBuf {
    match name {
        "sample_model_file" => {
            let p = base.join("file_model");
            write(&p, "This is a simple model");
            p
        }
        "empty_model_file" => {
            let p = base.join("empty_file_model");
            write(&p, "");
            p
        }
        "sample_model_folder" => {
            let p = base.join("sample_model");
            for i in 0..2 {
                for j in 0..3 {
                    write(
                        &p.join(format!("d{i}/f{i}{j}")),
                        &format!("This is file f{i}{j} in d{i}."),
                    );
                }
            }
            for i in 0..4 {
                write(
                    &p.join(format!("f{i}")),
                    &format!("This is file f{i} in root."),
                );
            }
            p
        }
        "empty_model_folder" => {
            let p = base.join("empty_folder_model");
            fs::create_dir_all(&p).unwrap();
            p
        }
        "model_folder_with_empty_file" => {
            let p = base.join("empty_file_inside_model");
            write(&p.join("empty_file"), "");
            p
        }
        "deep_model_folder" => {
            let p = base.join("deep_model");
            for i in 0..4 {
                write(
                    &p.join(format!("d0/d1/d2/d3/d4/f{i}")),
                    &format!("This is file f{i}."),
                );
            }
            p
        }
        "symlink_model_folder" => {
            let p = base.join("symlink_model");
            fs::create_dir_all(&p).unwrap();
            let target = base.join("external_file");
            write(&target, "This is a simple model");
            std::os::unix::fs::symlink(&target, p.join("symlink_file")).unwrap();
            p
        }
        other => panic!("unknown fixture {other}"),
    }
}

fn config(ser: Serialization) -> HashingConfig {
    HashingConfig {
        algorithm: HashAlgorithm::Sha256,
        serialization: ser,
        allow_symlinks: true,
        ignore: IgnoreSet::new(),
        engine: Default::default(),
    }
}

#[test]
fn golden_statements_match() {
    let Some(v) = vectors() else { return };
    let dir = v.join("model-transparency/tests/_signing/testdata/signing/TestPayload");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let (fixture_name, ser) = if let Some(f) = name.strip_suffix("_small_shards") {
            (f.to_string(), Serialization::Shards { shard_size: 8 })
        } else if let Some(f) = name.strip_suffix("_shard") {
            (
                f.to_string(),
                Serialization::Shards {
                    shard_size: 1_000_000_000,
                },
            )
        } else {
            (name.clone(), Serialization::Files)
        };
        let golden: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join(&name)).unwrap()).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let model = fixture(tmp.path(), &fixture_name);
        let (_, m) = Manifest::for_model(&model, &config(ser)).unwrap();
        let got: Vec<(String, String, String)> = m
            .resources
            .iter()
            .map(|r| (r.name.clone(), r.algorithm.clone(), hex::encode(&r.digest)))
            .collect();
        let want: Vec<(String, String, String)> = golden["predicate"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().into(),
                    r["algorithm"].as_str().unwrap().into(),
                    r["digest"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(got, want, "resources differ for {name}");
        assert_eq!(
            hex::encode(m.root_digest()),
            golden["subject"][0]["digest"]["sha256"].as_str().unwrap(),
            "root digest differs for {name}"
        );
        checked += 1;
    }
    assert_eq!(checked, 21, "expected 21 golden statements");
}

#[test]
fn golden_manifests_match() {
    let Some(v) = vectors() else { return };
    let mut checked = 0;
    for (sub, sharded) in [("file", false), ("file_shard", true)] {
        let dir = v.join(format!(
            "model-transparency/tests/_serialization/testdata/{sub}/TestSerializer"
        ));
        for entry in fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            let (fixture_name, ser) = match name.strip_suffix("_small_shards") {
                Some(f) => (f.to_string(), Serialization::Shards { shard_size: 8 }),
                None if sharded => (
                    name.clone(),
                    Serialization::Shards {
                        shard_size: 1_000_000_000,
                    },
                ),
                None => (name.clone(), Serialization::Files),
            };
            let tmp = tempfile::tempdir().unwrap();
            let model = fixture(tmp.path(), &fixture_name);
            let (_, m) = Manifest::for_model(&model, &config(ser)).unwrap();
            let mut got: Vec<String> = m
                .resources
                .iter()
                .map(|r| format!("{}:{}", r.name, hex::encode(&r.digest)))
                .collect();
            let text = fs::read_to_string(dir.join(&name)).unwrap();
            let mut want: Vec<String> = text
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            // These goldens list a set (Python compares manifests as maps), so compare sorted.
            got.sort();
            want.sort();
            assert_eq!(got, want, "{sub}/{name}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} golden manifests found");
}
