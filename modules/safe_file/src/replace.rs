//! Replacing a file so that a crash, a full disk or a concurrent reader never sees it half
//! written, and so that it keeps its owner, mode and extended attributes (Ansible's
//! `atomic_move`).

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use nix::unistd::{Gid, Uid, fchown};

use crate::error::FileError;
use crate::lock::{Current, names};
use crate::temp::{Temp, remove_leftovers};
use crate::xattr;

/// What became of a replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Replaced {
    /// The new content is in place and durable.
    Done,
    /// Another writer, one that does not take the lock, replaced or created the file since it
    /// was read: nothing was written; read it again and redo the edit.
    Raced,
}

impl Current {
    /// Replaces the file with `content`. An existing file keeps its owner, group, mode and
    /// extended attributes; a new one gets `new_mode`. The lock taken by
    /// [`crate::open_locked`] is held throughout.
    pub fn replace(&self, content: &[u8], new_mode: u32) -> Result<Replaced, FileError> {
        let dir = match self.target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = self
            .target
            .file_name()
            .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
        remove_leftovers(dir, &name);
        let mut temp = Temp::create(dir, &name)?;
        temp.file.write_all(content)?;
        match &self.locked {
            Some((file, meta)) => {
                fchown(
                    &temp.file,
                    Some(Uid::from_raw(meta.uid())),
                    Some(Gid::from_raw(meta.gid())),
                )
                .map_err(io::Error::from)?;
                temp.file
                    .set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
                xattr::copy_all(file, &temp.file)?;
            }
            None => temp
                .file
                .set_permissions(std::fs::Permissions::from_mode(new_mode))?,
        }
        temp.file.sync_all()?;
        match &self.locked {
            Some((_, meta)) => {
                if !names(&self.target, meta) {
                    return Ok(Replaced::Raced);
                }
                std::fs::rename(&temp.path, &self.target)?;
                temp.renamed();
            }
            // Never over a file created since we found none: a hard link fails if the name
            // is taken. The temporary name is removed when `temp` is dropped.
            None => match std::fs::hard_link(&temp.path, &self.target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(Replaced::Raced),
                Err(e) => return Err(e.into()),
            },
        }
        drop(temp);
        sync_dir(dir, &self.target)?;
        Ok(Replaced::Done)
    }
}

/// Syncing the directory makes the rename durable; some filesystems cannot sync a directory.
fn sync_dir(dir: &Path, target: &Path) -> Result<(), FileError> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if e.raw_os_error() != Some(libc::EINVAL) => Err(FileError::Io(io::Error::new(
            e.kind(),
            format!(
                "{} was replaced, but its directory could not be synced: {e}",
                target.display()
            ),
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::open_locked;
    use crate::testing::{names_in, scratch};
    use crate::xattr::tests::{acl, get_path, set};
    use std::time::Duration;

    const WAIT: Duration = Duration::from_secs(5);

    fn write(path: &Path, content: &[u8]) -> Replaced {
        open_locked(path, WAIT)
            .unwrap()
            .replace(content, 0o640)
            .unwrap()
    }

    #[test]
    fn replacement_keeps_mode_and_leaves_no_temp_file() {
        let dir = scratch("atomic");
        let file = dir.join("qemu.conf");
        std::fs::write(&file, "old\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(write(&file, b"new\n"), Replaced::Done);
        assert_eq!(std::fs::read(&file).unwrap(), b"new\n");
        assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o7777, 0o600);
        assert_eq!(names_in(&dir), ["qemu.conf"]);
        let fresh = dir.join("fresh");
        assert_eq!(write(&fresh, b"x"), Replaced::Done);
        assert_eq!(std::fs::metadata(&fresh).unwrap().mode() & 0o7777, 0o640);
        assert_eq!(names_in(&dir), ["fresh", "qemu.conf"]);
    }

    #[test]
    fn replacement_through_a_link_keeps_the_link() {
        let dir = scratch("link");
        let real = dir.join("real");
        let link = dir.join("link");
        std::fs::write(&real, "a").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(write(&link, b"b"), Replaced::Done);
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"b");
    }

    #[test]
    fn acls_and_user_attributes_are_kept() {
        let dir = scratch("xattrs");
        let file = dir.join("qemu.conf");
        std::fs::write(&file, "old\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        set(&file, "user.origin", b"puppet");
        set(&file, "system.posix_acl_access", &acl());
        assert_eq!(write(&file, b"new\n"), Replaced::Done);
        assert_eq!(
            get_path(&file, "user.origin").as_deref(),
            Some(&b"puppet"[..])
        );
        assert_eq!(get_path(&file, "system.posix_acl_access"), Some(acl()));
        assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o7777, 0o640);
    }

    #[test]
    fn a_file_created_meanwhile_is_never_overwritten() {
        let dir = scratch("created");
        let file = dir.join("new.conf");
        let current = open_locked(&file, WAIT).unwrap();
        std::fs::write(&file, "theirs").unwrap();
        assert_eq!(current.replace(b"ours", 0o600).unwrap(), Replaced::Raced);
        assert_eq!(std::fs::read(&file).unwrap(), b"theirs");
        assert_eq!(names_in(&dir), ["new.conf"]);
    }

    #[test]
    fn a_file_replaced_by_another_tool_meanwhile_is_read_again() {
        let dir = scratch("replaced");
        let file = dir.join("qemu.conf");
        std::fs::write(&file, "a").unwrap();
        let current = open_locked(&file, WAIT).unwrap();
        std::fs::write(dir.join("other"), "theirs").unwrap();
        std::fs::rename(dir.join("other"), &file).unwrap();
        assert_eq!(current.replace(b"ours", 0o600).unwrap(), Replaced::Raced);
        assert_eq!(std::fs::read(&file).unwrap(), b"theirs");
    }

    #[test]
    fn a_write_that_cannot_land_leaves_nothing_behind() {
        let dir = scratch("fail");
        // A directory appears where the new file was to be created: nothing may be written
        // over or into it, and the temporary copy goes.
        let busy = dir.join("busy");
        let current = open_locked(&busy, WAIT).unwrap();
        std::fs::create_dir_all(busy.join("inner")).unwrap();
        assert_eq!(current.replace(b"x", 0o644).unwrap(), Replaced::Raced);
        assert_eq!(names_in(&dir), ["busy"]);
        assert_eq!(names_in(&busy), ["inner"]);
    }

    #[test]
    fn concurrent_writers_lose_no_update() {
        let dir = scratch("concurrent");
        let file = dir.join("counter");
        std::fs::write(&file, "").unwrap();
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let file = file.clone();
                std::thread::spawn(move || {
                    for j in 0..10 {
                        loop {
                            let current = open_locked(&file, WAIT).unwrap();
                            let mut text = current.content().unwrap().to_vec();
                            text.extend(format!("{i}.{j}\n").bytes());
                            if current.replace(&text, 0o600).unwrap() == Replaced::Done {
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 80);
        assert_eq!(names_in(&dir), ["counter"]);
    }
}
