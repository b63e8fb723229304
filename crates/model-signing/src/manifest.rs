//! The manifest: the ordered list of resources (file or shard name, algorithm, digest) and its root
//! digest.
//!
//! Ordering matters only for the root digest, which is SHA-256 over the concatenated raw digests in
//! listed order. When signing we order exactly as the Python reference does, so both produce the same
//! root digest for the same model: names compare as lists of path components (each compared by code
//! point), and shards of one file by their numeric offsets. This differs from plain string order
//! (`a/b` sorts before `a.b`; `w:10000000000:...` after `w:2000000000:...`).
//!
//! When verifying we never re-sort: the root digest is recomputed in the order the bundle lists, and
//! resources are then compared as a map, so a bundle sorted any other way (Go sorts bytewise) still
//! verifies. Names coming from a bundle are untrusted and validated strictly.

use crate::error::{Error, Result};
use crate::hashing::{HashAlgorithm, HashedItem, Serialization};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::collections::HashSet;

/// One entry of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `path` for files, `path:start:end` for shards.
    pub name: String,
    /// `sha256`, `blake2b`, `blake3`, or `<hash>-sharded-<size>`.
    pub algorithm: String,
    /// Raw digest bytes.
    pub digest: Vec<u8>,
}

/// A model's manifest together with the parameters that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Resources in their listed (signed) order.
    pub resources: Vec<Resource>,
}

impl Manifest {
    /// Builds a manifest from freshly hashed items, in the Python reference's order.
    pub fn from_hashed(
        mut items: Vec<HashedItem>,
        alg: HashAlgorithm,
        ser: Serialization,
    ) -> Manifest {
        items.sort_by(python_order);
        let algorithm = ser.resource_algorithm(alg);
        let resources = items
            .into_iter()
            .map(|it| Resource {
                name: match it.range {
                    None => it.path,
                    Some((s, e)) => format!("{}:{s}:{e}", it.path),
                },
                algorithm: algorithm.clone(),
                digest: it.digest,
            })
            .collect();
        Manifest { resources }
    }

    /// Walks and hashes the model at `root` with `cfg`, returning the files seen and the ordered
    /// manifest. Both run on `cfg.engine`'s threads.
    pub fn for_model(
        root: &std::path::Path,
        cfg: &crate::hashing::HashingConfig,
    ) -> Result<(Vec<crate::walk::FileEntry>, Manifest)> {
        let files = cfg.engine.walk(root, &cfg.walk_options())?;
        let items =
            crate::hashing::hash_files_with(&files, cfg.algorithm, cfg.serialization, &cfg.engine)?;
        Ok((
            files,
            Manifest::from_hashed(items, cfg.algorithm, cfg.serialization),
        ))
    }

    /// SHA-256 over the concatenated raw digests, in listed order.
    pub fn root_digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for r in &self.resources {
            h.update(&r.digest);
        }
        h.finalize().into()
    }
}

/// Python's order: path components compared one by one (code point order, which for UTF-8 equals
/// byte order), then shard start and end numerically.
fn python_order(a: &HashedItem, b: &HashedItem) -> Ordering {
    a.path
        .split('/')
        .cmp(b.path.split('/'))
        .then_with(|| a.range.cmp(&b.range))
}

/// A validated resource name from a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    /// The file part.
    pub path: String,
    /// The shard range, if any.
    pub range: Option<(u64, u64)>,
}

/// Validates a file path from a bundle: relative POSIX, no empty, `.` or `..` segments, no
/// backslashes or NUL. `"."` alone (a single-file model) is allowed.
pub fn validate_path(path: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::Statement(format!(
            "invalid resource name '{}': {why}",
            path.escape_debug()
        )))
    };
    if path == "." {
        return Ok(());
    }
    if path.is_empty() {
        return bad("empty name");
    }
    if path.starts_with('/') {
        return bad("absolute path");
    }
    if path.contains('\\') {
        return bad("contains a backslash");
    }
    if path
        .chars()
        .any(|c| c == '\0' || c.is_control() && c != '\t')
    {
        return bad("contains a control character");
    }
    for seg in path.split('/') {
        match seg {
            "" => return bad("empty path segment"),
            "." | ".." => return bad("'.' or '..' segment"),
            _ => {}
        }
    }
    Ok(())
}

/// Parses and validates a resource name for the given serialization. Shard names are split from the
/// right, so file names containing `:` work (Python's parser rejects them).
pub fn parse_name(name: &str, ser: Serialization) -> Result<ParsedName> {
    match ser {
        Serialization::Files => {
            validate_path(name)?;
            Ok(ParsedName {
                path: name.to_string(),
                range: None,
            })
        }
        Serialization::Shards { .. } => {
            let bad = || {
                Error::Statement(format!(
                    "invalid shard name '{}': expected '<path>:<start>:<end>'",
                    name.escape_debug()
                ))
            };
            let mut it = name.rsplitn(3, ':');
            let end = it.next().ok_or_else(bad)?;
            let start = it.next().ok_or_else(bad)?;
            let path = it.next().ok_or_else(bad)?;
            let num = |s: &str| -> Result<u64> {
                if s.is_empty()
                    || !s.bytes().all(|b| b.is_ascii_digit())
                    || (s.len() > 1 && s.starts_with('0'))
                {
                    return Err(bad());
                }
                s.parse::<u64>().map_err(|_| bad())
            };
            let (start, end) = (num(start)?, num(end)?);
            if start >= end {
                return Err(Error::Statement(format!(
                    "invalid shard name '{}': start must be below end",
                    name.escape_debug()
                )));
            }
            validate_path(path)?;
            Ok(ParsedName {
                path: path.to_string(),
                range: Some((start, end)),
            })
        }
    }
}

/// Checks a manifest read from a bundle: non-empty, names valid and unique, algorithm strings and
/// digest lengths consistent with the recorded serialization. Returns the parsed names in order.
pub fn validate_signed(
    m: &Manifest,
    alg: HashAlgorithm,
    ser: Serialization,
) -> Result<Vec<ParsedName>> {
    if m.resources.is_empty() {
        return Err(Error::Statement("the manifest lists no files".into()));
    }
    let expected_alg = ser.resource_algorithm(alg);
    let mut seen = HashSet::with_capacity(m.resources.len());
    let mut out = Vec::with_capacity(m.resources.len());
    for r in &m.resources {
        // The OMS spec text writes plain `sha256` for shards too; accept both spellings.
        if r.algorithm != expected_alg && r.algorithm != alg.name() {
            return Err(Error::Statement(format!(
                "resource '{}' has algorithm '{}', but the serialization says '{}'",
                r.name.escape_debug(),
                r.algorithm.escape_debug(),
                expected_alg
            )));
        }
        if r.digest.len() != alg.digest_len() {
            return Err(Error::Statement(format!(
                "resource '{}' has a {}-byte digest; {} digests are {} bytes",
                r.name.escape_debug(),
                r.digest.len(),
                alg,
                alg.digest_len()
            )));
        }
        if !seen.insert(r.name.as_str()) {
            return Err(Error::Statement(format!(
                "duplicate resource name '{}'",
                r.name.escape_debug()
            )));
        }
        out.push(parse_name(&r.name, ser)?);
    }
    let single = out.iter().any(|p| p.path == ".");
    if single && out.iter().any(|p| p.path != ".") {
        return Err(Error::Statement(
            "the name '.' (a single-file model) is mixed with other files".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(p: &str, range: Option<(u64, u64)>) -> HashedItem {
        HashedItem {
            path: p.into(),
            range,
            digest: vec![0; 32],
        }
    }

    #[test]
    fn python_component_order() {
        let names = [
            "ä", "b", "ab", "a.b", "a-b/c", "a b", "a/z", "a/b/c", "a/b", "a", "A",
        ];
        let items: Vec<_> = names.iter().map(|n| item(n, None)).collect();
        let m = Manifest::from_hashed(items, HashAlgorithm::Sha256, Serialization::Files);
        let got: Vec<_> = m.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            got,
            vec!["A", "a", "a/b", "a/b/c", "a/z", "a b", "a-b/c", "a.b", "ab", "b", "ä"]
        );
    }

    #[test]
    fn shard_offsets_sort_numerically() {
        let g = 1_000_000_000u64;
        let items: Vec<_> = [10, 2, 1, 0]
            .iter()
            .map(|i| item("w.bin", Some((i * g, (i + 1) * g))))
            .collect();
        let m = Manifest::from_hashed(
            items,
            HashAlgorithm::Sha256,
            Serialization::Shards { shard_size: g },
        );
        let got: Vec<_> = m.resources.iter().map(|r| r.name.clone()).collect();
        assert_eq!(got[0], "w.bin:0:1000000000");
        assert_eq!(got[3], "w.bin:10000000000:11000000000");
        assert_eq!(m.resources[0].algorithm, "sha256-sharded-1000000000");
    }

    #[test]
    fn root_digest_of_empty_is_sha256_empty() {
        let m = Manifest { resources: vec![] };
        assert_eq!(
            hex::encode(m.root_digest()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn names_are_validated() {
        for bad in [
            "", "/a", "a/../b", "..", "a//b", "a/", "a\\b", "./a", "a\0b",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?} accepted");
        }
        for good in [".", "a", "a/b", "a b", "é", "a:b", ".hidden/x"] {
            validate_path(good).unwrap();
        }
        let s = Serialization::Shards { shard_size: 2 };
        assert_eq!(
            parse_name("a:b:0:2", s).unwrap(),
            ParsedName {
                path: "a:b".into(),
                range: Some((0, 2))
            }
        );
        for bad in ["a:0", "a:2:1", "a:x:2", "a:01:2", ":0:2", "a:0:-1"] {
            assert!(parse_name(bad, s).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn signed_manifest_checks() {
        let r = |n: &str, a: &str, len: usize| Resource {
            name: n.into(),
            algorithm: a.into(),
            digest: vec![1; len],
        };
        let f = Serialization::Files;
        let sha = HashAlgorithm::Sha256;
        assert!(validate_signed(&Manifest { resources: vec![] }, sha, f).is_err());
        assert!(validate_signed(
            &Manifest {
                resources: vec![r("a", "sha256", 32), r("a", "sha256", 32)]
            },
            sha,
            f
        )
        .is_err());
        assert!(validate_signed(
            &Manifest {
                resources: vec![r("a", "blake3", 32)]
            },
            sha,
            f
        )
        .is_err());
        assert!(validate_signed(
            &Manifest {
                resources: vec![r("a", "sha256", 31)]
            },
            sha,
            f
        )
        .is_err());
        assert!(validate_signed(
            &Manifest {
                resources: vec![r(".", "sha256", 32), r("a", "sha256", 32)]
            },
            sha,
            f
        )
        .is_err());
        let s = Serialization::Shards { shard_size: 4 };
        validate_signed(
            &Manifest {
                resources: vec![r("a:0:4", "sha256-sharded-4", 32), r("a:4:5", "sha256", 32)],
            },
            sha,
            s,
        )
        .unwrap();
        assert!(validate_signed(
            &Manifest {
                resources: vec![r("a:0:4", "sha256-sharded-5", 32)]
            },
            sha,
            s
        )
        .is_err());
    }
}
