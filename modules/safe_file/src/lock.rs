//! Serializing the writers of one file: an advisory lock on the file itself, held from the
//! read to the replacement, so an edit is always made to the content it replaces.
//!
//! The lock belongs to the file (the inode), and a replacement puts a new inode at the path;
//! so after taking the lock a writer checks that the path still names the file it locked, and
//! starts over when another writer replaced it meanwhile.

use std::fs::{File, Metadata};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::FileError;
use crate::read::{missing_or, open_regular, read_bounded};

/// How often a writer starts over because the file was replaced under it before it gives up.
const ATTEMPTS: usize = 50;
const POLL: Duration = Duration::from_millis(20);

/// A file as read under its lock, ready to be replaced; or the place of a file that does not
/// exist yet. The lock is released when this is dropped.
#[derive(Debug)]
pub struct Current {
    pub(crate) target: PathBuf,
    pub(crate) locked: Option<(File, Metadata)>,
    pub(crate) content: Option<Vec<u8>>,
}

impl Current {
    /// The file that is replaced: the path with every link resolved.
    #[must_use]
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The file's bytes, `None` when it does not exist.
    #[must_use]
    pub fn content(&self) -> Option<&[u8]> {
        self.content.as_deref()
    }

    /// The file's owner, group, mode and times, `None` when it does not exist.
    #[must_use]
    pub fn metadata(&self) -> Option<&Metadata> {
        self.locked.as_ref().map(|(_, meta)| meta)
    }
}

/// Resolves `path` (following links, as Ansible does), locks the regular file it names and
/// reads it. Waits up to `wait` for another writer's lock. A missing file is not an error: it
/// may be created, and [`Current::replace`] then refuses to overwrite one created meanwhile.
pub fn open_locked(path: &Path, wait: Duration) -> Result<Current, FileError> {
    let deadline = Instant::now() + wait;
    for _ in 0..ATTEMPTS {
        let target = resolve(path)?;
        let (mut file, _) = match open_regular(&target) {
            Ok(opened) => opened,
            Err(FileError::NotFound) => {
                return Ok(Current {
                    target,
                    locked: None,
                    content: None,
                });
            }
            Err(e) => return Err(e),
        };
        lock_exclusive(&file, deadline, wait)?;
        let meta = file.metadata()?;
        if !names(&target, &meta) {
            // Replaced by the writer that held the lock: lock the file that is there now.
            continue;
        }
        let content = read_bounded(&mut file, &meta)?;
        return Ok(Current {
            target,
            locked: Some((file, meta)),
            content: Some(content),
        });
    }
    Err(FileError::Unstable)
}

/// Whether `path` still names the file `meta` describes (never following a link there).
pub(crate) fn names(path: &Path, meta: &Metadata) -> bool {
    std::fs::symlink_metadata(path)
        .is_ok_and(|now| now.dev() == meta.dev() && now.ino() == meta.ino())
}

/// The path of the file to replace: the file a link points to, or for a missing file its
/// place in the resolved directory.
fn resolve(path: &Path) -> Result<PathBuf, FileError> {
    match std::fs::canonicalize(path) {
        Ok(target) => Ok(target),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let FileError::DanglingLink = missing_or(path, e) {
                return Err(FileError::DanglingLink);
            }
            let name = path.file_name().ok_or(FileError::NotFound)?;
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            match std::fs::canonicalize(parent) {
                Ok(dir) if dir.is_dir() => Ok(dir.join(name)),
                Ok(_) => Err(FileError::NoDirectory(parent.to_path_buf())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    Err(FileError::NoDirectory(parent.to_path_buf()))
                }
                Err(e) => Err(FileError::Io(e)),
            }
        }
        Err(e) => Err(FileError::Io(e)),
    }
}

/// Takes an exclusive `flock`, polling so that a writer that never lets go cannot hang us.
pub(crate) fn lock_exclusive(
    file: &File,
    deadline: Instant,
    wait: Duration,
) -> Result<(), FileError> {
    loop {
        // SAFETY: the descriptor is open for the duration of the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EWOULDBLOCK) if Instant::now() < deadline => std::thread::sleep(POLL),
            Some(libc::EWOULDBLOCK) => return Err(FileError::Busy(wait)),
            Some(libc::EINTR) => {}
            _ => return Err(FileError::Io(err)),
        }
    }
}

/// Tries an exclusive `flock` once: whether it was obtained.
pub(crate) fn try_lock(file: &File) -> bool {
    // SAFETY: the descriptor is open for the duration of the call.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::scratch;

    #[test]
    fn a_held_lock_makes_the_next_writer_wait_then_give_up() {
        let dir = scratch("busy");
        let file = dir.join("qemu.conf");
        std::fs::write(&file, "a = 1\n").unwrap();
        let first = open_locked(&file, Duration::from_secs(1)).unwrap();
        let err = open_locked(&file, Duration::from_millis(100)).unwrap_err();
        assert!(matches!(err, FileError::Busy(_)), "{err}");
        drop(first);
        assert!(open_locked(&file, Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn links_are_followed_and_missing_files_placed_in_the_resolved_directory() {
        let dir = scratch("resolve");
        let real = dir.join("real.conf");
        std::fs::write(&real, "x").unwrap();
        let link = dir.join("link.conf");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let current = open_locked(&link, Duration::from_secs(1)).unwrap();
        assert_eq!(current.target(), std::fs::canonicalize(&real).unwrap());
        assert_eq!(current.content(), Some(&b"x"[..]));
        let missing = open_locked(&dir.join("new.conf"), Duration::from_secs(1)).unwrap();
        assert!(missing.content().is_none());
        assert!(matches!(
            open_locked(&dir.join("no/new.conf"), Duration::from_secs(1)).unwrap_err(),
            FileError::NoDirectory(_)
        ));
    }
}
