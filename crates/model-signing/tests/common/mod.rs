//! Shared by the library's integration tests.

use std::path::{Path, PathBuf};

/// `../shared/vectors`, or `None` (test skipped) when it is missing; with `MS_REQUIRE_VECTORS=1`
/// a missing directory fails the test instead.
pub fn vectors() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
    if p.is_dir() {
        return Some(p);
    }
    if std::env::var("MS_REQUIRE_VECTORS").as_deref() == Ok("1") {
        panic!("MS_REQUIRE_VECTORS=1 but {} is missing", p.display());
    }
    eprintln!("skipping: {} not found", p.display());
    None
}
