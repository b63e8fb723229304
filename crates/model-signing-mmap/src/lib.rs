//! Read-only memory maps of model files, and the SIGBUS guard that makes them fail cleanly.
//!
//! This is the only crate of the workspace with `unsafe` code, kept to the two things safe Rust
//! cannot express, so that `model-signing` itself can `#![forbid(unsafe_code)]`.
//!
//! Why map at all: hashing a page-cached file through `read` copies every byte once more before
//! the hash sees it. For SHA-256 (about 1 GB/s per core) that copy is noise; for BLAKE3 (several
//! GB/s per core) it is a fifth of the time. A map hands the page cache to the hasher directly.
//!
//! The hazard: if another process truncates a file while it is mapped, touching a page past the
//! new end raises SIGBUS, whose default action kills the process without a word. Rust cannot turn
//! that into an `Err`. So a program that maps model files first calls [`exit_on_sigbus`], which
//! turns such a fault into a one-line message and exit code 1. Nothing else is at risk: the
//! mapping is read-only and private, and signing writes its output only after all hashing ended
//! (atomically), so no partial file is left behind. A library user who maps without installing
//! the guard gets the default action (the process dies); that is why mapping is opt-in.
//!
//! The same truncation without a map is an ordinary error: the reader sees a short read. Callers
//! still compare the file's size and modification time before and after hashing, so a file that
//! changes without shrinking is caught either way.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

use std::fs::File;
use std::io;

/// A read-only view of a range of a file's bytes.
///
/// Mapped pages count towards the process's resident set size while mapped, so callers that
/// stream through a large file map it a window at a time: memory then stays bounded by the window
/// however large the file is, at the cost of one `mmap`/`munmap` pair per window.
#[derive(Debug)]
pub struct Map(memmap2::Mmap);

impl Map {
    /// Maps `len` bytes of `file` starting at byte `offset`, read-only.
    ///
    /// Fails if the range lies past the file's current end. Read only through [`Map::bytes`]; see
    /// the crate documentation for what happens if the file is truncated while mapped, and install
    /// [`exit_on_sigbus`] first.
    pub fn new(file: &File, offset: u64, len: usize) -> io::Result<Map> {
        let size = file.metadata()?.len();
        if offset.checked_add(len as u64).is_none_or(|end| end > size) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "range to map lies past the end of the file",
            ));
        }
        // SAFETY: memmap2 requires that the file not be modified while mapped, or the bytes we
        // hand out as `&[u8]` may change under the borrow. The mapping is private and read-only,
        // so we never write through it. Another process may still write (the bytes change: the
        // caller detects this by mtime and size after hashing and discards the digest) or
        // truncate (SIGBUS: handled by `exit_on_sigbus`, which ends the process before any
        // changed byte is used for anything observable).
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len)
                .map(file)?
        };
        // Hashing reads front to back once: ask for aggressive read-ahead. Only a hint.
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Map(map))
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(unix)]
mod guard {
    use std::io;
    use std::sync::OnceLock;

    static MESSAGE: OnceLock<&'static str> = OnceLock::new();

    /// Runs on SIGBUS. Only async-signal-safe calls: an atomic load, `write` and `_exit`.
    extern "C" fn on_sigbus(
        _sig: libc::c_int,
        info: *mut libc::siginfo_t,
        _ctx: *mut libc::c_void,
    ) {
        // A truncated mapping faults with BUS_ADRERR. Other causes (a hardware memory error, a
        // misaligned access) are not ours to explain: restore the default action and return, so
        // the faulting instruction runs again and the process dies the way it would have.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // SAFETY: the kernel passes a valid siginfo_t because the handler was installed with
            // SA_SIGINFO.
            let code = unsafe { info.as_ref() }.map_or(libc::BUS_ADRERR, |i| i.si_code);
            if code != libc::BUS_ADRERR {
                // SAFETY: resetting a signal's disposition is async-signal-safe.
                unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
                return;
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = info;
        let msg = MESSAGE.get().copied().unwrap_or("error: bus error\n");
        // SAFETY: `msg` is a live 'static string; write(2) and _exit(2) are async-signal-safe.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(1);
        }
    }

    pub fn install(message: &'static str) -> io::Result<()> {
        // Only the first message counts: the handler may already be live and reading it.
        let _ = MESSAGE.set(message);
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; we then set the
        // handler with its three-argument signature, matching SA_SIGINFO.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                on_sigbus;
            sa.sa_sigaction = handler as libc::sighandler_t;
            sa.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut())
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// Makes a fault on a truncated mapping print `message` (one line, ending in a newline) on stderr
/// and exit the process with code 1, instead of dying silently of SIGBUS.
///
/// Process-wide; call it once, early, from the program (not from a library). Only the first
/// message is kept. Returns an error if the handler could not be installed, in which case the
/// caller should not map files. On non-Unix systems there is no SIGBUS and this does nothing.
pub fn exit_on_sigbus(message: &'static str) -> io::Result<()> {
    #[cfg(unix)]
    return guard::install(message);
    #[cfg(not(unix))]
    {
        let _ = message;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_the_whole_file() {
        let mut f = tempfile::tempfile().expect("tempfile");
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        f.write_all(&data).expect("write");
        let map = Map::new(&f, 0, data.len()).expect("map");
        assert_eq!(map.bytes(), &data[..]);
        // Offsets need not be page-aligned.
        let map = Map::new(&f, 4097, 50_000).expect("map");
        assert_eq!(map.bytes(), &data[4097..54_097]);
        assert!(Map::new(&f, 50_000, 50_001).is_err());
        assert!(Map::new(&f, u64::MAX, 2).is_err());
    }

    const CHILD: &str = "MODEL_SIGNING_MMAP_SIGBUS_CHILD";

    /// The guard's purpose, end to end: a file truncated under its map. Runs in a child process
    /// (this same test binary, this test only) because the expected outcome is the process exiting.
    #[cfg(unix)]
    #[test]
    fn truncated_mapping_exits_1_with_the_message() {
        if std::env::var_os(CHILD).is_some() {
            exit_on_sigbus("error: test file shrank under its map\n").expect("install");
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("f");
            std::fs::write(&path, vec![7u8; 1 << 20]).expect("write");
            let f = File::open(&path).expect("open");
            let map = Map::new(&f, 0, 1 << 20).expect("map");
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|w| w.set_len(0))
                .expect("truncate");
            let sum: u64 = map.bytes().iter().map(|&b| u64::from(b)).sum();
            // Not reached: the read above faults.
            println!("read {sum} without a fault");
            std::process::exit(0);
        }
        let out = std::process::Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--exact",
                "tests::truncated_mapping_exits_1_with_the_message",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .expect("run child");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
        assert!(
            stderr.contains("error: test file shrank under its map\n"),
            "stderr: {stderr}"
        );
    }
}
