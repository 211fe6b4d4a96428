//! A copy of a file as it was before a replacement.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use nix::unistd::{Gid, Uid, fchown};

use crate::error::FileError;
use crate::lock::Current;
use crate::xattr;

/// Writes the content read under the lock to `backup`, with the file's owner, mode,
/// modification time and extended attributes. The name is created exclusively and never
/// through a link (names with a pid in them are predictable); a backup that cannot be
/// written whole (a full disk) is removed, so none is left half written.
pub fn backup_to(current: &Current, backup: &Path) -> Result<(), FileError> {
    let (Some((file, meta)), Some(content)) = (&current.locked, &current.content) else {
        return Err(FileError::NotFound);
    };
    let mut copy = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(backup)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                io::Error::new(
                    e.kind(),
                    format!(
                        "{} already exists; a backup is never written over or through another file",
                        backup.display()
                    ),
                )
            } else {
                e
            }
        })?;
    let written = (|| -> io::Result<()> {
        copy.write_all(content)?;
        fchown(
            &copy,
            Some(Uid::from_raw(meta.uid())),
            Some(Gid::from_raw(meta.gid())),
        )?;
        copy.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        xattr::copy_all(file, &copy)?;
        copy.set_modified(meta.modified()?)?;
        copy.sync_all()
    })();
    if let Err(e) = written {
        drop(copy);
        let _ = std::fs::remove_file(backup);
        return Err(e.into());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::open_locked;
    use crate::testing::scratch;
    use crate::xattr::tests::{get_path, set};
    use std::time::Duration;

    #[test]
    fn the_backup_is_the_file_as_it_was() {
        let dir = scratch("backup");
        let file = dir.join("qemu.conf");
        std::fs::write(&file, "content").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        set(&file, "user.origin", b"puppet");
        let current = open_locked(&file, Duration::from_secs(1)).unwrap();
        let copy = dir.join("qemu.conf.1.stamp~");
        backup_to(&current, &copy).unwrap();
        assert_eq!(std::fs::read(&copy).unwrap(), b"content");
        let meta = std::fs::metadata(&copy).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o640);
        assert_eq!(
            meta.modified().unwrap(),
            std::fs::metadata(&file).unwrap().modified().unwrap()
        );
        assert_eq!(
            get_path(&copy, "user.origin").as_deref(),
            Some(&b"puppet"[..])
        );
    }

    #[test]
    fn a_planted_link_at_the_backup_name_is_never_followed() {
        let dir = scratch("planted");
        let file = dir.join("qemu.conf");
        std::fs::write(&file, "content").unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        let copy = dir.join("qemu.conf.1.stamp~");
        std::os::unix::fs::symlink(&victim, &copy).unwrap();
        let current = open_locked(&file, Duration::from_secs(1)).unwrap();
        let err = backup_to(&current, &copy).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        assert_eq!(std::fs::metadata(&victim).unwrap().mode() & 0o7777, 0o600);
        assert!(
            std::fs::symlink_metadata(&copy)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
