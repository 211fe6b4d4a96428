//! The temporary copies a replacement writes before renaming them into place.
//!
//! A temporary file is named `.<target>.<pid>.<nanoseconds>.<attempt>.tmp`, beside its target,
//! and its writer holds an exclusive `flock` on it for as long as it exists. A writer killed
//! with `kill -9` leaves the file but loses the lock, so the next writer of the same target
//! finds leftovers by name and removes exactly those it can lock: never a live writer's.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::lock::{lock_exclusive, try_lock};

/// A temporary file, locked, removed on drop unless it was renamed into place.
#[derive(Debug)]
pub(crate) struct Temp {
    pub path: PathBuf,
    pub file: File,
    renamed: bool,
}

impl Temp {
    pub fn create(dir: &Path, target_name: &str) -> io::Result<Temp> {
        let pid = std::process::id();
        for attempt in 0..100u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = dir.join(format!(".{target_name}.{pid}.{nanos}.{attempt}.tmp"));
            let file = match OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            // Another writer's clean-up may have taken this file for a leftover in the instant
            // before the lock: then it is gone, and a new one is made.
            let ours = file.metadata()?;
            let long = Duration::from_secs(5);
            if lock_exclusive(&file, Instant::now() + long, long).is_err() {
                if crate::lock::names(&path, &ours) {
                    let _ = std::fs::remove_file(&path);
                }
                continue;
            }
            if crate::lock::names(&path, &ours) {
                return Ok(Temp {
                    path,
                    file,
                    renamed: false,
                });
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("could not create a temporary file in {}", dir.display()),
        ))
    }

    /// The file now lives under another name: nothing to remove.
    pub fn renamed(&mut self) {
        self.renamed = true;
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `name` is one of our temporary files for `target_name`.
fn is_temp_of(name: &str, target_name: &str) -> bool {
    let Some(middle) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_prefix(target_name))
        .and_then(|n| n.strip_prefix('.'))
        .and_then(|n| n.strip_suffix(".tmp"))
    else {
        return false;
    };
    let fields: Vec<&str> = middle.split('.').collect();
    fields.len() == 3
        && fields
            .iter()
            .all(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes the temporary files of `target_name` in `dir` that no live writer holds (left by a
/// writer that was killed), and returns their paths. Best effort: what cannot be examined is
/// left alone.
pub(crate) fn remove_leftovers(dir: &Path, target_name: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !is_temp_of(&name.to_string_lossy(), target_name) {
            continue;
        }
        let path = entry.path();
        let Ok(file) = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&path)
        else {
            continue;
        };
        let Ok(meta) = file.metadata() else { continue };
        if !meta.is_file() || !try_lock(&file) {
            continue;
        }
        let still = std::fs::symlink_metadata(&path)
            .is_ok_and(|now| now.dev() == meta.dev() && now.ino() == meta.ino());
        if still && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::scratch;

    #[test]
    fn temp_names_belong_to_one_target() {
        assert!(is_temp_of(".qemu.conf.123.456.0.tmp", "qemu.conf"));
        assert!(!is_temp_of(".qemu.conf.1.123.456.0.tmp", "qemu.conf"));
        assert!(!is_temp_of(".qemu.conf.123.456.0.tmp", "qemu"));
        assert!(!is_temp_of(".qemu.conf.123.x.0.tmp", "qemu.conf"));
        assert!(!is_temp_of("qemu.conf.123.456.0.tmp", "qemu.conf"));
        assert!(!is_temp_of(".qemu.conf.123.456.0.tmp~", "qemu.conf"));
    }

    #[test]
    fn only_leftovers_nobody_holds_are_removed() {
        let dir = scratch("leftovers");
        let live = Temp::create(&dir, "qemu.conf").unwrap();
        let dead = dir.join(".qemu.conf.999999.1.0.tmp");
        std::fs::write(&dead, "partial").unwrap();
        let other = dir.join(".openvswitch.999999.1.0.tmp");
        std::fs::write(&other, "partial").unwrap();
        let unrelated = dir.join("qemu.conf.999999.2026-01-01@00:00:00~");
        std::fs::write(&unrelated, "backup").unwrap();
        assert_eq!(remove_leftovers(&dir, "qemu.conf"), vec![dead.clone()]);
        assert!(live.path.exists() && other.exists() && unrelated.exists());
        assert!(!dead.exists());
        let path = live.path.clone();
        drop(live);
        assert!(!path.exists());
    }
}
