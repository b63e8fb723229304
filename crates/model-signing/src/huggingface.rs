//! Models in a Hugging Face cache: a snapshot directory checked to be where the cache layout
//! says, and the one kind of symlink such a snapshot may contain.
//!
//! `huggingface_hub` stores a repository as `CACHE/models--ORG--NAME/` with `refs/BRANCH` (a
//! commit id), `blobs/ETAG` (the contents) and `snapshots/COMMIT/PATH` (relative links into
//! `blobs`). Since its 2.x a blob may itself be a relative link into a cache-wide store,
//! `CACHE/blobs/XX/HASH`, marked by `CACHE/blobs/.huggingface-shared-blobs`. Resolving a repo id
//! and revision to a snapshot is left to `huggingface_hub` itself (offline); this module checks
//! the directory it names and builds the [`LinkStore`] under which the snapshot is walked: links
//! into those blobs are followed, nothing else is. No network is involved.

use crate::error::{Error, Result};
use crate::walk::LinkStore;
use std::path::{Path, PathBuf};

/// The marker of the cache-wide blob store (`huggingface_hub/utils/_shared_blobs.py`).
const SHARED_MARKER: &str = ".huggingface-shared-blobs";

/// A snapshot of a repository in a Hugging Face cache.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The snapshot directory, canonical (`CACHE/models--ORG--NAME/snapshots/COMMIT`).
    pub path: PathBuf,
    /// The repo id as policies match it (ASCII lowercase).
    pub repo_id: String,
    /// The commit the snapshot is of (40 lowercase hex digits).
    pub commit: String,
    /// The blobs its links may lead to.
    pub store: LinkStore,
}

/// Checks that `snapshot` (as `huggingface_hub` returned it for `repo_id`) is a snapshot
/// directory of that repository in a cache laid out as `huggingface_hub` lays it out:
/// `CACHE/models--ORG--NAME/snapshots/COMMIT` with the repo id spelled as given and a full
/// commit id. A `refs/` file is read by `huggingface_hub` without validation, so a planted ref
/// (`../../elsewhere`) leads to a path that fails here.
pub fn snapshot(snapshot: &Path, repo_id: &str) -> Result<Snapshot> {
    let id = crate::policy::hf_repo_id(repo_id).map_err(Error::Config)?;
    let not_layout = |why: &str| {
        Error::Model(format!(
            "'{}' is not a snapshot of {} in a Hugging Face cache ({why})",
            crate::walk::shown_path(snapshot),
            crate::error::quoted_text(repo_id, 200)
        ))
    };
    let path = std::fs::canonicalize(snapshot).map_err(|e| Error::io(snapshot, e))?;
    if !path.is_dir() {
        return Err(not_layout("not a directory"));
    }
    let commit = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.len() == 40 && n.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| not_layout("its name is not a commit id"))?
        .to_string();
    let snapshots = path.parent().ok_or_else(|| not_layout("no parent"))?;
    if snapshots.file_name().and_then(|n| n.to_str()) != Some("snapshots") {
        return Err(not_layout("not inside a 'snapshots' directory"));
    }
    let repo = snapshots
        .parent()
        .ok_or_else(|| not_layout("no repository folder"))?;
    let folder = format!("models--{}", repo_id.replace('/', "--"));
    if repo.file_name().and_then(|n| n.to_str()) != Some(folder.as_str()) {
        return Err(not_layout(&format!(
            "its repository folder is not '{}'",
            crate::error::untrusted_text(&folder, 200)
        )));
    }
    let cache = repo.parent().ok_or_else(|| not_layout("no cache folder"))?;
    // `repo` and `cache` are canonical (parents of the canonical snapshot), so a blob directory
    // that is a real directory there is its own canonical path. One that is a symlink would make
    // "inside the blobs" mean inside wherever it points (outside review, F2): refused.
    let repo_blobs = repo.join("blobs");
    real_dir_or_absent(&repo_blobs).map_err(|()| not_layout("its 'blobs' is not a directory"))?;
    let shared = cache.join("blobs");
    let marked = std::fs::symlink_metadata(shared.join(SHARED_MARKER)).is_ok_and(|m| m.is_file());
    let shared_blobs = if marked {
        real_dir_or_absent(&shared)
            .map_err(|()| not_layout("the cache's shared 'blobs' is not a directory"))?;
        Some(shared)
    } else {
        None
    };
    Ok(Snapshot {
        path,
        repo_id: id,
        commit,
        store: LinkStore {
            repo_blobs,
            shared_blobs,
        },
    })
}

/// Ok for a real directory (not a symlink to one) or nothing at all; a repository with no blobs
/// yet has no links to follow either.
fn real_dir_or_absent(p: &Path) -> std::result::Result<(), ()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const C: &str = "0123456789abcdef0123456789abcdef01234567";

    fn cache() -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("models--Acme--bert");
        std::fs::create_dir_all(repo.join("blobs")).unwrap();
        std::fs::create_dir_all(repo.join("snapshots").join(C)).unwrap();
        std::fs::write(repo.join("blobs/e1"), b"weights").unwrap();
        symlink(
            "../../blobs/e1",
            repo.join("snapshots").join(C).join("w.bin"),
        )
        .unwrap();
        (t, repo)
    }

    #[test]
    fn accepts_the_layout_and_nothing_else() {
        let (_t, repo) = cache();
        let snap = repo.join("snapshots").join(C);
        let s = snapshot(&snap, "Acme/bert").unwrap();
        assert_eq!(s.repo_id, "acme/bert");
        assert_eq!(s.commit, C);
        assert!(s.store.shared_blobs.is_none());
        // Another spelling of the id is another cache folder.
        let e = snapshot(&snap, "acme/bert").unwrap_err().to_string();
        assert!(e.contains("repository folder"), "{e}");
        // A branch name where the commit should be (a planted ref leads elsewhere).
        std::fs::create_dir_all(repo.join("snapshots/main")).unwrap();
        let e = snapshot(&repo.join("snapshots/main"), "Acme/bert")
            .unwrap_err()
            .to_string();
        assert!(e.contains("commit id"), "{e}");
        let e = snapshot(&repo.join("blobs"), "Acme/bert")
            .unwrap_err()
            .to_string();
        assert!(e.contains("commit id"), "{e}");
        let e = snapshot(&snap, "Acme/../bert").unwrap_err().to_string();
        assert!(e.contains("repo id"), "{e}");
    }

    #[test]
    fn the_shared_store_counts_only_with_its_marker() {
        let (t, repo) = cache();
        let snap = repo.join("snapshots").join(C);
        std::fs::create_dir_all(t.path().join("blobs/ab")).unwrap();
        assert!(snapshot(&snap, "Acme/bert")
            .unwrap()
            .store
            .shared_blobs
            .is_none());
        std::fs::write(t.path().join("blobs").join(SHARED_MARKER), "1\n").unwrap();
        let s = snapshot(&snap, "Acme/bert").unwrap();
        let shared = s.store.shared_blobs.clone().unwrap();
        assert!(s.store.holds(&shared.join("ab/h")));
        assert!(!s.store.holds(&shared.join("h")));
        assert!(!s.store.holds(&shared.join("ab/cd/h")));
        assert!(s.store.holds(&s.store.repo_blobs.join("e1")));
        assert!(!s.store.holds(&repo.join("refs/main")));
    }
}
