//! Finding the PKCS#11 module (the `.so` a URI's `module-name` or a command line names).

use super::Pkcs11Error;
use std::path::{Path, PathBuf};

/// Directories searched for a `module-name`: the two model-signing (Python) uses, Fedora's and
/// Arch's p11-kit directories, then Debian's multiarch p11-kit directory and SoftHSM's own.
pub const DEFAULT_MODULE_DIRS: [&str; 4] = [
    "/usr/lib64/pkcs11",
    "/usr/lib/pkcs11",
    "/usr/lib/x86_64-linux-gnu/pkcs11",
    "/usr/lib/softhsm",
];

/// Looks `name` up as `<dir>/<name>`, `<dir>/<name>.so` and then `<dir>/lib<name>.so` in each
/// directory, in order. The last form lets `module-name=softhsm2` find `libsofthsm2.so`, which the
/// Python reference (a substring match) accepts too.
pub fn find_module_in(name: &str, dirs: &[PathBuf]) -> Result<PathBuf, Pkcs11Error> {
    let mut tried = Vec::new();
    for dir in dirs {
        let mut candidates = vec![dir.join(name)];
        if !name.ends_with(".so") {
            candidates.push(dir.join(format!("{name}.so")));
            if !name.starts_with("lib") {
                candidates.push(dir.join(format!("lib{name}.so")));
            }
        }
        for c in candidates {
            if c.is_file() {
                return Ok(c);
            }
            tried.push(c.display().to_string());
        }
    }
    Err(Pkcs11Error::ModuleNotFound {
        what: format!("module-name '{name}'"),
        detail: format!("looked for {}", tried.join(", ")),
    })
}

/// Resolves a module given on a command line: a path (anything with a `/`, or an existing file) is
/// taken as is; a bare name is searched for in [`DEFAULT_MODULE_DIRS`] like a `module-name`.
pub fn resolve_module(path_or_name: &str) -> Result<PathBuf, Pkcs11Error> {
    let p = Path::new(path_or_name);
    if path_or_name.contains('/') || p.is_file() {
        if !p.exists() {
            return Err(Pkcs11Error::ModuleNotFound {
                what: format!("module '{path_or_name}'"),
                detail: "no such file".into(),
            });
        }
        return Ok(p.to_path_buf());
    }
    let dirs: Vec<PathBuf> = DEFAULT_MODULE_DIRS.iter().map(PathBuf::from).collect();
    find_module_in(path_or_name, &dirs)
}
