//! Reading a PIN from a URI's `pin-source`: which file it names, and reading it bounded.

use super::Pkcs11Error;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

pub use crate::limits::MAX_PIN_FILE_BYTES;

/// Reads a `pin-source` file through [`crate::secret_file`]: opened without blocking (a FIFO would
/// otherwise wait for a writer), a regular file of at most [`MAX_PIN_FILE_BYTES`] checked through
/// the opened handle, read with the same bound into one zeroized buffer.
pub(crate) fn read_pin_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, Pkcs11Error> {
    use crate::secret_file::{self, SecretFileError};
    secret_file::read(path, MAX_PIN_FILE_BYTES).map_err(|e| {
        Pkcs11Error::Pin(match e {
            SecretFileError::NotRegular => {
                "the pin-source is not a regular file (a FIFO, device, socket or directory is not read)"
                    .into()
            }
            SecretFileError::TooBig { len, max } => {
                format!("the pin-source file is {len} bytes, over the {max}-byte limit for a PIN")
            }
            SecretFileError::Io(e) => format!("cannot read the PIN from pin-source: {e}"),
        })
    })
}

/// Resolves the path of a `pin-source`: `file:///p`, `file:/p`, `file:p` or a plain path. Errors
/// do not show the value (it may be a PIN written as the source).
pub(crate) fn pin_source_path(source: &str) -> Result<PathBuf, Pkcs11Error> {
    if let Some(rest) = source.strip_prefix("file:") {
        // file://HOST/path: only an empty host or localhost make sense for a local file.
        let path = match rest.strip_prefix("//") {
            Some(after) => {
                let (host, path) = match after.find('/') {
                    Some(i) => after.split_at(i),
                    None => (after, ""),
                };
                if !host.is_empty() && host != "localhost" {
                    return Err(Pkcs11Error::Pin(
                        "the pin-source file: URI names a remote host (only file:///path, \
                         file://localhost/path or a path can be read)"
                            .into(),
                    ));
                }
                path
            }
            None => rest,
        };
        if path.is_empty() {
            return Err(Pkcs11Error::Pin(
                "the pin-source file: URI names no file".into(),
            ));
        }
        return Ok(PathBuf::from(path));
    }
    let scheme = source.split_once(':').map(|(s, _)| s).filter(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    });
    if source.starts_with('|') || scheme.is_some_and(|s| s.len() > 1) {
        return Err(Pkcs11Error::Pin(
            "the pin-source is neither a file path nor a file: URI (commands and other URI \
             schemes are not supported)"
                .into(),
        ));
    }
    if source.is_empty() {
        return Err(Pkcs11Error::Pin("pin-source is empty".into()));
    }
    Ok(PathBuf::from(source))
}
