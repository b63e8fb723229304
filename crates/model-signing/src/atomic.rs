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
use std::path::{Path, PathBuf};
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
    Destination::open(path)?.write(bytes)
}

/// Where a file is about to be written: its directory, opened (and probed writable) once, so that
/// everything done later (looking at the file there, writing it) happens in that directory even
/// if its path is made to lead elsewhere meanwhile. Signing opens one before hashing and writes
/// through it after: the review moved a signature's directory away during hashing and put a
/// symlink to another directory in its place, and the signature landed there.
#[derive(Debug)]
pub struct Destination {
    path: PathBuf,
    dir_path: PathBuf,
    name: std::ffi::OsString,
    dir: imp::Dir,
}

/// What is at a [`Destination`]'s name now, looked at without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Nothing.
    Nothing,
    /// A symbolic link (dangling or not).
    Symlink,
    /// A directory.
    Directory,
    /// A regular file of this many bytes.
    File(u64),
    /// A FIFO, socket or device.
    Special,
}

impl Destination {
    /// Opens the directory `path` would be written in (resolved as the system resolves it, links
    /// included) and checks that a file can be created there (permissions, read-only mounts)
    /// without creating one anyone can see.
    pub fn open(path: &Path) -> Result<Destination> {
        let name = path
            .file_name()
            .ok_or_else(|| Error::Config(format!("'{}' names no file", path.display())))?
            .to_os_string();
        let dir_path = parent_dir(path).to_path_buf();
        let dir = imp::Dir::open(&dir_path).map_err(|e| {
            Error::Config(format!(
                "cannot write '{}': directory '{}': {e}",
                path.display(),
                dir_path.display()
            ))
        })?;
        dir.check_writable().map_err(|e| {
            Error::Config(format!(
                "cannot write '{}': directory '{}' is not writable: {e}",
                path.display(),
                dir_path.display()
            ))
        })?;
        Ok(Destination {
            path: path.to_path_buf(),
            dir_path,
            name,
            dir,
        })
    }

    /// The path this destination was opened for.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What is at the name in the opened directory now.
    pub fn existing(&self) -> Result<Existing> {
        self.dir
            .existing(&self.name)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// The first `limit` bytes of the regular file at the name (opened without following a link
    /// and without blocking: a FIFO swapped in is refused, never waited on), or `None` when what
    /// is there is not a regular file.
    pub fn read_existing(&self, limit: u64) -> Result<Option<Vec<u8>>> {
        self.dir
            .read_existing(&self.name, limit)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Writes `bytes` under the name in the opened directory, atomically and durably. Refused
    /// when the directory's path no longer leads to the opened directory.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        if !self.dir.is_at(&self.dir_path) {
            return Err(Error::Config(format!(
                "cannot write '{}': directory '{}' was replaced (moved, or swapped for a link) \
                 since it was checked; nothing was written",
                self.path.display(),
                self.dir_path.display()
            )));
        }
        self.dir.write(&self.name, bytes).map_err(|e| match e {
            Failure::Before(e) => Error::io(&self.path, e),
            Failure::DirSync(e) => Error::Config(format!(
                "'{}' was written, but its directory could not be synced to disk, so the \
                     file may not survive a power loss: {e}",
                self.path.display()
            )),
        })
    }
}

/// Checks that a new file can be created in `dir` (permissions, a read-only mount), without
/// leaving or showing one: an unnamed file is created and closed. Where the file system has no
/// unnamed files, `access(W_OK)` answers instead, which sees the same permission bits and mounts.
pub fn check_writable(dir: &Path) -> std::io::Result<()> {
    imp::Dir::open(dir)?.check_writable()
}

/// A shared lock on the open directory `dir`, held by a walk while it lists the directory: a
/// [`write`] into it waits until the listing is done, and the listing never sees its temporary
/// name. `None` when the lock cannot be had by `deadline` or at all (the walk then goes on
/// without it). A walk gives all its directories one deadline, [`crate::limits::DIR_LOCK_WAIT`]
/// from its start: a process holding locks on many directories delays a walk by that much in
/// all, not per directory.
pub(crate) fn lock_for_listing(dir: &File, deadline: Instant) -> Option<LockGuard<'_>> {
    imp::lock_fd(dir, false, deadline).then_some(LockGuard(dir))
}

/// A `flock` held on a directory descriptor, released when dropped.
pub(crate) struct LockGuard<'a>(&'a File);

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        imp::unlock(self.0);
    }
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

fn read_limited(file: File, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    file.take(limit).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::{read_limited, temp_name, write_all_synced, Existing, Failure, RENAMES};
    use crate::limits::DIR_LOCK_WAIT;
    use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, CWD};
    use rustix::io::Errno;
    use std::ffi::OsStr;
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;
    use std::time::{Duration, Instant};

    /// An open directory and its identity.
    #[derive(Debug)]
    pub(super) struct Dir {
        fd: File,
        id: (u64, u64),
    }

    fn open_dir(dir: &Path) -> io::Result<File> {
        let fd = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(File::from(fd))
    }

    impl Dir {
        pub(super) fn open(path: &Path) -> io::Result<Dir> {
            let fd = open_dir(path).map_err(|e| {
                if e.raw_os_error() == Some(Errno::NOTDIR.raw_os_error()) {
                    io::Error::new(io::ErrorKind::InvalidInput, "not a directory")
                } else {
                    e
                }
            })?;
            let m = fd.metadata()?;
            Ok(Dir {
                fd,
                id: (m.dev(), m.ino()),
            })
        }

        /// Whether `path` still leads to this directory.
        pub(super) fn is_at(&self, path: &Path) -> bool {
            std::fs::metadata(path).is_ok_and(|m| (m.dev(), m.ino()) == self.id)
        }

        pub(super) fn check_writable(&self) -> io::Result<()> {
            match unnamed(&self.fd)? {
                Some(_) => Ok(()),
                None => Ok(rustix::fs::accessat(
                    &self.fd,
                    ".",
                    rustix::fs::Access::WRITE_OK,
                    AtFlags::empty(),
                )?),
            }
        }

        pub(super) fn existing(&self, name: &OsStr) -> io::Result<Existing> {
            let st = match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) => return Ok(Existing::Nothing),
                Err(e) => return Err(e.into()),
            };
            Ok(match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink => Existing::Symlink,
                FileType::Directory => Existing::Directory,
                FileType::RegularFile => Existing::File(u64::try_from(st.st_size).unwrap_or(0)),
                _ => Existing::Special,
            })
        }

        pub(super) fn read_existing(
            &self,
            name: &OsStr,
            limit: u64,
        ) -> io::Result<Option<Vec<u8>>> {
            let fd = match rustix::fs::openat(
                &self.fd,
                name,
                OFlags::RDONLY
                    | OFlags::NOFOLLOW
                    | OFlags::NONBLOCK
                    | OFlags::NOCTTY
                    | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => File::from(fd),
                Err(Errno::NOENT | Errno::LOOP) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            if !fd.metadata()?.is_file() {
                return Ok(None);
            }
            read_limited(fd, limit).map(Some)
        }

        pub(super) fn write(&self, name: &OsStr, bytes: &[u8]) -> Result<(), Failure> {
            let dir = &self.fd;
            // Written and synced with no name: nothing to clean up if the process dies here.
            let staged = match unnamed(dir)? {
                Some(mut f) => {
                    write_all_synced(&mut f, bytes)?;
                    Some(f)
                }
                None => None,
            };
            let _gate = RENAMES.lock().unwrap_or_else(|e| e.into_inner());
            let locked = lock_fd(dir, true, Instant::now() + DIR_LOCK_WAIT);
            let result = self.name_and_rename(staged.as_ref(), name, bytes);
            if locked {
                unlock(dir);
            }
            result?;
            match dir.sync_all() {
                Ok(()) => Ok(()),
                // File systems that cannot sync a directory (some FUSE) say EINVAL.
                Err(e) if e.raw_os_error() == Some(Errno::INVAL.raw_os_error()) => Ok(()),
                Err(e) => Err(Failure::DirSync(e)),
            }
        }

        /// Gives the staged file (or, without one, a new named file holding `bytes`) a temporary
        /// name and renames it to `name`. Called with the gate and the exclusive lock held.
        fn name_and_rename(
            &self,
            staged: Option<&File>,
            name: &OsStr,
            bytes: &[u8],
        ) -> Result<(), Failure> {
            let dir = &self.fd;
            let tmp = temp_name();
            let linked = match staged {
                Some(f) => link_unnamed(f, dir, &tmp)?,
                None => false,
            };
            if !linked {
                // No unnamed files here: a named one, created exclusively, under the lock.
                let fd = rustix::fs::openat(
                    dir,
                    tmp.as_str(),
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::CLOEXEC
                        | OFlags::NOFOLLOW,
                    Mode::from_raw_mode(0o666),
                )
                .map_err(io::Error::from)?;
                let mut f = File::from(fd);
                if let Err(e) = write_all_synced(&mut f, bytes) {
                    let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
                    return Err(e.into());
                }
            }
            if let Err(e) = rustix::fs::renameat(dir, tmp.as_str(), dir, name) {
                let _ = rustix::fs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
                return Err(io::Error::from(e).into());
            }
            Ok(())
        }
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

    /// Takes a `flock` on the open directory `file`, polling until `deadline` (one try when it
    /// has passed).
    pub(super) fn lock_fd(file: &File, exclusive: bool, deadline: Instant) -> bool {
        let op = if exclusive {
            FlockOperation::NonBlockingLockExclusive
        } else {
            FlockOperation::NonBlockingLockShared
        };
        loop {
            match rustix::fs::flock(file, op) {
                Ok(()) => return true,
                Err(Errno::WOULDBLOCK) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(Errno::INTR) => {}
                Err(_) => return false,
            }
        }
    }

    pub(super) fn unlock(file: &File) {
        let _ = rustix::fs::flock(file, FlockOperation::Unlock);
    }
}

/// Elsewhere: by path, with a named temporary file in the same directory and a rename, under the
/// rename gate.
#[cfg(not(target_os = "linux"))]
mod imp {
    use super::{read_limited, temp_name, write_all_synced, Existing, Failure, RENAMES};
    use std::ffi::OsStr;
    use std::fs::{File, OpenOptions};
    use std::io;
    use std::path::{Path, PathBuf};

    #[derive(Debug)]
    pub(super) struct Dir {
        path: PathBuf,
    }

    impl Dir {
        pub(super) fn open(path: &Path) -> io::Result<Dir> {
            if !std::fs::metadata(path)?.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a directory",
                ));
            }
            Ok(Dir {
                path: path.to_path_buf(),
            })
        }

        pub(super) fn is_at(&self, _path: &Path) -> bool {
            true
        }

        pub(super) fn check_writable(&self) -> io::Result<()> {
            let tmp = self.path.join(temp_name());
            OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            std::fs::remove_file(&tmp)
        }

        pub(super) fn existing(&self, name: &OsStr) -> io::Result<Existing> {
            let m = match std::fs::symlink_metadata(self.path.join(name)) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Nothing),
                Err(e) => return Err(e),
            };
            let ft = m.file_type();
            Ok(if ft.is_symlink() {
                Existing::Symlink
            } else if ft.is_dir() {
                Existing::Directory
            } else if ft.is_file() {
                Existing::File(m.len())
            } else {
                Existing::Special
            })
        }

        pub(super) fn read_existing(
            &self,
            name: &OsStr,
            limit: u64,
        ) -> io::Result<Option<Vec<u8>>> {
            if !matches!(self.existing(name)?, Existing::File(_)) {
                return Ok(None);
            }
            read_limited(File::open(self.path.join(name))?, limit).map(Some)
        }

        pub(super) fn write(&self, name: &OsStr, bytes: &[u8]) -> Result<(), Failure> {
            let _gate = RENAMES.lock().unwrap_or_else(|e| e.into_inner());
            let tmp = self.path.join(temp_name());
            let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            if let Err(e) = write_all_synced(&mut f, bytes) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
            drop(f);
            if let Err(e) = std::fs::rename(&tmp, self.path.join(name)) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
            #[cfg(unix)]
            if let Ok(d) = File::open(&self.path) {
                d.sync_all().map_err(Failure::DirSync)?;
            }
            Ok(())
        }
    }

    pub(super) fn lock_fd(_dir: &File, _exclusive: bool, _deadline: std::time::Instant) -> bool {
        false
    }

    pub(super) fn unlock(_dir: &File) {}
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
        let dir = File::open(d.path()).unwrap();
        let lock = lock_for_listing(&dir, far).expect("lock");
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
