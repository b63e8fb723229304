//! Replacing a file so that every reader sees the old bytes or the new ones, never a part, and
//! nobody sees anything else: what a signature written into the model it signs needs.
//!
//! A reliability review found three ways the usual "temporary file and rename" failed us: SIGINT
//! or SIGTERM during the write left `.model-signing-*.tmp` behind (the next verify of the model
//! then reported it as an extra file, the next sign signed it); a second signer or a verifier
//! walking the model meanwhile listed that temporary file (both signers exited 0 and the final
//! signature never verified); and without a sync of the directory the rename itself could be lost
//! on power failure. So [`write`]:
//!
//! 1. creates the new file **without a name** (`O_TMPFILE`, Linux 3.11+ on ext4, XFS, Btrfs,
//!    tmpfs...), writes it and syncs it: killed during this, nothing is left and nothing was ever
//!    visible;
//! 2. then, holding an exclusive `flock` on the directory and the process-wide rename gate
//!    ([`pause_renames`]), links it under a fresh `.model-signing-*.tmp` name and renames that over
//!    the destination: the only moment a temporary name exists is between those two calls, and
//!    the walk ([`crate::walk`]) lists each directory under a shared `flock`, so a walker of this
//!    library never lists it;
//! 3. syncs the directory, so the rename survives a power loss once [`write`] returned.
//!
//! Where the file system has no `O_TMPFILE` (or `/proc` is not mounted to link it), a named
//! temporary file is written instead, all of it inside step 2's lock and gate. Only SIGKILL (or a
//! power loss) between the link and the rename can leave a temporary name behind; a later
//! [`write`] to the same directory does not remove it, since another process may still own it.
//!
//! The locks are advisory and only bind this library: another program walking the directory can
//! still see the name during the two calls of step 2. Locks that cannot be taken (NFS without
//! lock support, a directory opened read-only on some file systems) are skipped, and waiting for
//! one is bounded by [`crate::limits::DIR_LOCK_WAIT`]: a process holding a lock forever delays a
//! writer or walker by that much, never blocks it.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// Held while a temporary name exists; see [`pause_renames`].
static RENAMES: Mutex<()> = Mutex::new(());

/// A guard from [`pause_renames`]: while it lives, no [`write`] in this process is between giving
/// its file a temporary name and renaming it.
pub struct RenamesPaused(#[allow(dead_code)] MutexGuard<'static, ()>);

/// Waits until no [`write`] in this process is between link and rename, and keeps any from
/// starting one while the guard lives. For a thread that handles SIGINT/SIGTERM: take this guard,
/// then end the process; no temporary file is left behind.
pub fn pause_renames() -> RenamesPaused {
    RenamesPaused(RENAMES.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The directory a file path lives in (`.` for a bare name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path`, replacing any file there, atomically and durably (see the module
/// documentation). On error no file is left and an existing file is untouched, except when the
/// final directory sync fails: then the new file is in place and the error says so.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| Error::Config(format!("'{}' names no file", path.display())))?;
    imp::write(dir, Path::new(name), bytes).map_err(|e| match e {
        Failure::Before(e) => Error::io(path, e),
        Failure::DirSync(e) => Error::Config(format!(
            "'{}' was written, but its directory could not be synced to disk, so the file may not \
             survive a power loss: {e}",
            path.display()
        )),
    })
}

/// Checks that a new file can be created in `dir` (permissions, a read-only mount), without
/// leaving or showing one: an unnamed file is created and closed. Where the file system has no
/// unnamed files, `access(W_OK)` answers instead, which sees the same permission bits and mounts.
pub fn check_writable(dir: &Path) -> std::io::Result<()> {
    imp::check_writable(dir)
}

/// A shared lock on a directory, held by a walk while it lists the directory: a [`write`] into it
/// waits until the listing is done, and the listing never sees its temporary name. `None` when the
/// lock cannot be had by `deadline` or at all (the walk then goes on without it). A walk gives all
/// its directories one deadline, [`crate::limits::DIR_LOCK_WAIT`] from its start: a process
/// holding locks on many directories delays a walk by that much in all, not per directory.
pub(crate) fn lock_for_listing(dir: &Path, deadline: Instant) -> Option<File> {
    imp::lock(dir, false, deadline)
}

enum Failure {
    /// Nothing was replaced.
    Before(std::io::Error),
    /// The file is in place; the directory sync failed.
    DirSync(std::io::Error),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Before(e)
    }
}

/// A temporary name no other writer uses: process id, a counter and the clock.
fn temp_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(".model-signing-{}-{n}-{t:08x}.tmp", std::process::id())
}

fn write_all_synced(file: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(target_os = "linux")]
mod imp {
    use super::{temp_name, write_all_synced, Failure, RENAMES};
    use crate::limits::DIR_LOCK_WAIT;
    use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags, CWD};
    use rustix::io::Errno;
    use std::fs::File;
    use std::io;
    use std::path::Path;
    use std::time::{Duration, Instant};

    fn open_dir(dir: &Path) -> io::Result<File> {
        let fd = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(File::from(fd))
    }

    /// An unnamed regular file in `dir` (mode 0666 less the umask, like any file the user
    /// creates), or `None` where the kernel or file system has none.
    fn unnamed(dir: &File) -> io::Result<Option<File>> {
        match rustix::fs::openat(
            dir,
            ".",
            OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        ) {
            Ok(fd) => Ok(Some(File::from(fd))),
            // Old kernels read O_TMPFILE as O_DIRECTORY (EISDIR); file systems without it say
            // EOPNOTSUPP; some FUSE and network file systems EINVAL.
            Err(Errno::ISDIR | Errno::OPNOTSUPP | Errno::INVAL | Errno::NOSYS) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the unnamed `file` the name `name` in `dir`. Through `/proc/self/fd` (any user may
    /// link a file it opened that way), else with `AT_EMPTY_PATH` (which older kernels allow only
    /// with CAP_DAC_READ_SEARCH). `Ok(false)` when neither works.
    fn link_unnamed(file: &File, dir: &File, name: &str) -> io::Result<bool> {
        use std::os::fd::AsRawFd;
        let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
        match rustix::fs::linkat(CWD, proc_path.as_str(), dir, name, AtFlags::SYMLINK_FOLLOW) {
            Ok(()) => return Ok(true),
            Err(Errno::NOENT | Errno::PERM | Errno::ACCESS) => {}
            Err(e) => return Err(e.into()),
        }
        match rustix::fs::linkat(file, "", dir, name, AtFlags::EMPTY_PATH) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT | Errno::PERM | Errno::ACCESS | Errno::INVAL) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes a `flock` on `dir`, polling until `deadline` (one try when it has passed).
    pub(super) fn lock(dir: &Path, exclusive: bool, deadline: Instant) -> Option<File> {
        let file = open_dir(dir).ok()?;
        let op = if exclusive {
            FlockOperation::NonBlockingLockExclusive
        } else {
            FlockOperation::NonBlockingLockShared
        };
        loop {
            match rustix::fs::flock(&file, op) {
                Ok(()) => return Some(file),
                Err(Errno::WOULDBLOCK) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(Errno::INTR) => {}
                Err(_) => return None,
            }
        }
    }

    pub(super) fn write(dir_path: &Path, name: &Path, bytes: &[u8]) -> Result<(), Failure> {
        let dir = open_dir(dir_path)?;
        let name = name
            .to_str()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "name is not UTF-8"))?;
        // Written and synced with no name: nothing to clean up if the process dies here.
        let staged = match unnamed(&dir)? {
            Some(mut f) => {
                write_all_synced(&mut f, bytes)?;
                Some(f)
            }
            None => None,
        };
        let _gate = RENAMES.lock().unwrap_or_else(|e| e.into_inner());
        let _lock = lock(dir_path, true, Instant::now() + DIR_LOCK_WAIT);
        let tmp = temp_name();
        let linked = match &staged {
            Some(f) => link_unnamed(f, &dir, &tmp)?,
            None => false,
        };
        if !linked {
            // No unnamed files here: a named one, created exclusively, all of it under the lock.
            let fd = rustix::fs::openat(
                &dir,
                tmp.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC | OFlags::NOFOLLOW,
                Mode::from_raw_mode(0o666),
            )
            .map_err(io::Error::from)?;
            let mut f = File::from(fd);
            if let Err(e) = write_all_synced(&mut f, bytes) {
                let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
                return Err(e.into());
            }
        }
        if let Err(e) = rustix::fs::renameat(&dir, tmp.as_str(), &dir, name) {
            let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
            return Err(io::Error::from(e).into());
        }
        match dir.sync_all() {
            Ok(()) => Ok(()),
            // File systems that cannot sync a directory (some FUSE) say EINVAL: nothing to do.
            Err(e) if e.raw_os_error() == Some(Errno::INVAL.raw_os_error()) => Ok(()),
            Err(e) => Err(Failure::DirSync(e)),
        }
    }

    pub(super) fn check_writable(dir_path: &Path) -> io::Result<()> {
        let dir = open_dir(dir_path)?;
        match unnamed(&dir)? {
            Some(_) => Ok(()),
            None => Ok(rustix::fs::access(dir_path, rustix::fs::Access::WRITE_OK)?),
        }
    }
}

/// Elsewhere: a named temporary file in the same directory and a rename, under the rename gate.
#[cfg(not(target_os = "linux"))]
mod imp {
    use super::{temp_name, write_all_synced, Failure, RENAMES};
    use std::fs::{File, OpenOptions};
    use std::io;
    use std::path::Path;

    pub(super) fn lock(
        _dir: &Path,
        _exclusive: bool,
        _deadline: std::time::Instant,
    ) -> Option<File> {
        None
    }

    pub(super) fn write(dir: &Path, name: &Path, bytes: &[u8]) -> Result<(), Failure> {
        let _gate = RENAMES.lock().unwrap_or_else(|e| e.into_inner());
        let tmp = dir.join(temp_name());
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        if let Err(e) = write_all_synced(&mut f, bytes) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        drop(f);
        if let Err(e) = std::fs::rename(&tmp, dir.join(name)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        #[cfg(unix)]
        if let Ok(d) = File::open(dir) {
            d.sync_all().map_err(Failure::DirSync)?;
        }
        Ok(())
    }

    pub(super) fn check_writable(dir: &Path) -> io::Result<()> {
        let tmp = dir.join(temp_name());
        OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        std::fs::remove_file(&tmp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_replaces_and_leaves_nothing_else() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("model.sig");
        write(&p, b"one").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(entries(d.path()), ["model.sig"]);
    }

    #[cfg(unix)]
    #[test]
    fn mode_is_0666_less_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("model.sig");
        write(&p, b"x").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        // The test process's umask is unknown; group/other bits are what it leaves of 0666.
        assert_eq!(mode & 0o600, 0o600);
        assert_eq!(mode & 0o111, 0);
    }

    #[test]
    fn a_missing_directory_is_an_error_and_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nope").join("model.sig");
        assert!(write(&p, b"x").is_err());
        assert!(check_writable(&d.path().join("nope")).is_err());
        assert!(check_writable(d.path()).is_ok());
        assert!(entries(d.path()).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_listing_lock_holds_the_rename_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("model.sig");
        let far = Instant::now() + std::time::Duration::from_secs(60);
        let lock = lock_for_listing(d.path(), far).expect("lock");
        let writer = {
            let p = p.clone();
            std::thread::spawn(move || write(&p, b"x"))
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        // The file was staged unnamed; its name waits for the listing to finish.
        assert!(entries(d.path()).is_empty(), "{:?}", entries(d.path()));
        drop(lock);
        writer.join().unwrap().unwrap();
        assert_eq!(entries(d.path()), ["model.sig"]);
    }
}
