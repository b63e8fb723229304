//! Reading small secret files (a PKCS#11 `pin-source`, a key password file, an OAuth client
//! secret file) without the ways a hostile path can hurt: a FIFO that never delivers (opened
//! without blocking), `/dev/zero` or a huge file (only regular files, a size bound, a bounded
//! read), a path swapped between check and read (the check is made on the opened file), and
//! copies of the secret left in freed memory (one zeroized buffer that never grows).
//!
//! The same opening rules serve every other small input file a user names (public keys,
//! certificates, manifest files, bundles): [`read_regular`] and [`read_input`], without the
//! zeroizing and with a buffer sized by the file rather than by the limit.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use zeroize::Zeroizing;

/// Why a secret file was not read. Messages never include the file's content.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    /// The path is a FIFO, device, socket or directory.
    #[error("not a regular file (a FIFO, device, socket or directory is not read)")]
    NotRegular,
    /// The file is over the limit.
    #[error("the file is {len} bytes, over the {max}-byte limit")]
    TooBig {
        /// Its size (or at least this many bytes were found).
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Opening or reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Opens `path` for reading without blocking on a FIFO, and checks through the opened handle that
/// it is a regular file. On Unix `O_NONBLOCK` makes `open` return at once for a FIFO with no
/// writer; on a regular file the flag has no effect on reads, so the returned file reads normally.
pub fn open_regular(path: &Path) -> Result<File, SecretFileError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if !std::fs::metadata(path)?.is_file() {
        return Err(SecretFileError::NotRegular);
    }
    let file = options.open(path)?;
    if !file.metadata()?.is_file() {
        return Err(SecretFileError::NotRegular);
    }
    Ok(file)
}

/// Reads a regular file of at most `max` bytes into one zeroized buffer.
pub fn read(path: &Path, max: u64) -> Result<Zeroizing<Vec<u8>>, SecretFileError> {
    let file = open_regular(path)?;
    let len = file.metadata()?.len();
    if len > max {
        return Err(SecretFileError::TooBig { len, max });
    }
    // Room for the limit and one byte more, so the buffer never grows (a reallocation would leave
    // a copy behind) and a file that grew since the check is noticed.
    let cap = usize::try_from(max.saturating_add(1)).unwrap_or(0);
    let mut data = Zeroizing::new(Vec::with_capacity(cap));
    read_bounded(file, max, &mut data)?;
    Ok(data)
}

/// Reads `file` into `data`, at most `max` bytes: one byte more is read, so that a file that
/// grew since its size was checked is noticed.
fn read_bounded(file: File, max: u64, data: &mut Vec<u8>) -> Result<(), SecretFileError> {
    file.take(max.saturating_add(1)).read_to_end(data)?;
    let read = u64::try_from(data.len()).unwrap_or(u64::MAX);
    if read > max {
        return Err(SecretFileError::TooBig { len: read, max });
    }
    Ok(())
}

/// Reads a regular file of at most `max` bytes (a FIFO, a device or a directory fails at once,
/// a file over `max` before it is read).
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, SecretFileError> {
    read_opened(open_regular(path)?, max)
}

/// [`read_regular`] for a file already opened (and checked to be a regular file) by the caller.
pub fn read_opened(file: File, max: u64) -> Result<Vec<u8>, SecretFileError> {
    let len = file.metadata()?.len();
    if len > max {
        return Err(SecretFileError::TooBig { len, max });
    }
    let mut data = Vec::with_capacity(usize::try_from(len.saturating_add(1)).unwrap_or(0));
    read_bounded(file, max, &mut data)?;
    Ok(data)
}

/// [`read_regular`] for an input the user named, with the library's error: `what` names it
/// (`public key`, `certificate file`).
pub fn read_input(path: &Path, max: u64, what: &str) -> crate::Result<Vec<u8>> {
    read_regular(path, max).map_err(|e| input_error(path, what, e))
}

/// An I/O error stays one (a missing file is `NotFound` to every caller); the rest name the file
/// and the rule it broke.
fn input_error(path: &Path, what: &str, e: SecretFileError) -> crate::Error {
    match e {
        SecretFileError::Io(e) => crate::Error::io(path, e),
        e => crate::Error::Config(format!("cannot read the {what} '{}': {e}", path.display())),
    }
}

/// [`read`] for a private key file the user named, with the library's error.
pub fn read_private_key(path: &Path) -> crate::Result<Zeroizing<Vec<u8>>> {
    read(path, crate::limits::MAX_KEY_FILE_BYTES).map_err(|e| input_error(path, "private key", e))
}

/// [`read`], as text without one trailing newline (`\n` or `\r\n`), as `echo secret > file`
/// writes it.
pub fn read_line(path: &Path, max: u64) -> Result<Zeroizing<String>, SecretFileError> {
    let mut data = read(path, max)?;
    if data.ends_with(b"\n") {
        data.pop();
        if data.ends_with(b"\r") {
            data.pop();
        }
    }
    let text = std::str::from_utf8(&data).map_err(|_| {
        SecretFileError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        ))
    })?;
    Ok(Zeroizing::new(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bounds_and_types() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("s");
        std::fs::write(&f, "s3cret\r\n").unwrap();
        assert_eq!(read_line(&f, 4096).unwrap().as_str(), "s3cret");
        std::fs::write(&f, vec![b'x'; 5000]).unwrap();
        assert!(matches!(
            read(&f, 4096),
            Err(SecretFileError::TooBig { len: 5000, .. })
        ));
        assert!(matches!(
            read(d.path(), 4096),
            Err(SecretFileError::NotRegular)
        ));
        #[cfg(unix)]
        assert!(matches!(
            read(Path::new("/dev/zero"), 4096),
            Err(SecretFileError::NotRegular)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(matches!(
                read(&fifo, 4096),
                Err(SecretFileError::NotRegular)
            ));
        });
        assert!(rx
            .recv_timeout(Duration::from_secs(10))
            .expect("blocked on a FIFO"));
    }
}
