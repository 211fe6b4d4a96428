//! Replacing a file so that a crash, a full disk or a concurrent reader never sees it half
//! written, and so that it keeps the owner, mode and SELinux label it had (Ansible's
//! `atomic_move`), plus Ansible's backup naming.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid, fchown};

const SELINUX_XATTR: &str = "security.selinux";

/// Replaces `path` with `content` atomically. An existing file keeps its mode, owner, group
/// and SELinux label; a new one gets `new_mode`. A symbolic link is followed, so the file it
/// points to is replaced and the link stays, as Ansible does.
pub fn write_atomic(path: &Path, content: &[u8], new_mode: u32) -> io::Result<()> {
    let target = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path)?,
        _ => path.to_path_buf(),
    };
    let existing = match fs::metadata(&target) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let (temp_path, mut temp) = create_temp(&dir, &name)?;
    let outcome = (|| {
        temp.write_all(content)?;
        match &existing {
            Some(meta) => {
                fchown(
                    &temp,
                    Some(Uid::from_raw(meta.uid())),
                    Some(Gid::from_raw(meta.gid())),
                )?;
                temp.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))?;
                copy_selinux_label(&target, &temp)?;
            }
            None => temp.set_permissions(fs::Permissions::from_mode(new_mode))?,
        }
        temp.sync_all()?;
        fs::rename(&temp_path, &target)
    })();
    if outcome.is_err() {
        let _ = fs::remove_file(&temp_path);
        return outcome;
    }
    // The file is in place; syncing its directory only makes the rename durable, and some
    // filesystems cannot sync a directory at all.
    match File::open(&dir).and_then(|d| d.sync_all()) {
        Err(e) if e.raw_os_error() != Some(libc::EINVAL) => Err(io::Error::new(
            e.kind(),
            format!(
                "{} was replaced, but its directory could not be synced: {e}",
                target.display()
            ),
        )),
        _ => Ok(()),
    }
}

fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..100u32 {
        let path = dir.join(format!(".{name}.{pid}.{stamp}.{attempt}.tmp"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary file name",
    ))
}

/// Copies the `security.selinux` label, if the file has one; filesystems without xattrs and
/// hosts without SELinux have none to copy.
fn copy_selinux_label(from: &Path, to: &File) -> io::Result<()> {
    let path = CString::new(from.as_os_str().as_bytes())?;
    let name = CString::new(SELINUX_XATTR)?;
    // SAFETY: both strings are NUL-terminated; a null buffer of size 0 asks for the length.
    let size = unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; usize::try_from(size).unwrap_or(0).max(1)];
    // SAFETY: both strings are NUL-terminated and buf is valid for buf.len() bytes.
    let len = unsafe {
        libc::getxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if len < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENODATA | libc::ENOTSUP) => Ok(()),
            _ => Err(err),
        };
    }
    // SAFETY: the descriptor is open; the value is the `len` bytes getxattr wrote.
    let rc = unsafe {
        libc::fsetxattr(
            to.as_raw_fd(),
            name.as_ptr(),
            buf.as_ptr().cast(),
            len as usize,
            0,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Copies `path` to `<path>.<pid>.<YYYY-MM-DD@HH:MM:SS>~` in local time, keeping mode, owner
/// and modification time, as Ansible's `backup_local` does. Returns the backup's path.
pub fn backup(path: &Path) -> io::Result<PathBuf> {
    let meta = fs::metadata(path)?;
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.{}~", std::process::id(), local_timestamp()));
    let backup = PathBuf::from(name);
    fs::copy(path, &backup)?;
    let file = OpenOptions::new().write(true).open(&backup)?;
    fchown(
        &file,
        Some(Uid::from_raw(meta.uid())),
        Some(Gid::from_raw(meta.gid())),
    )?;
    file.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    file.set_modified(meta.modified()?)?;
    copy_selinux_label(path, &file)?;
    file.sync_all()?;
    Ok(backup)
}

/// `YYYY-MM-DD@HH:MM:SS` in the host's local time zone.
// musl marks `time_t` deprecated while it moves to 64 bits; it is already 64 bits on x86_64.
#[allow(deprecated)]
fn local_timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as libc::time_t);
    // SAFETY: localtime_r writes only into `tm`, which lives for the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&raw const now, &raw mut tm).is_null() };
    if !ok {
        return now.to_string();
    }
    format!(
        "{:04}-{:02}-{:02}@{:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ansible_module-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn replacement_keeps_mode_and_leaves_no_temp_file() {
        let dir = scratch("atomic");
        let file = dir.join("qemu.conf");
        fs::write(&file, "old\n").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&file, b"new\n", 0o644).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"new\n");
        assert_eq!(fs::metadata(&file).unwrap().mode() & 0o7777, 0o600);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let fresh = dir.join("fresh");
        write_atomic(&fresh, b"x", 0o640).unwrap();
        assert_eq!(fs::metadata(&fresh).unwrap().mode() & 0o7777, 0o640);
    }

    #[test]
    fn replacement_through_a_link_keeps_the_link() {
        let dir = scratch("link");
        let real = dir.join("real");
        let link = dir.join("link");
        fs::write(&real, "a").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"b", 0o644).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"b");
    }

    #[test]
    fn failure_leaves_nothing_behind() {
        let dir = scratch("fail");
        assert!(write_atomic(&dir.join("missing-dir/x"), b"x", 0o644).is_err());
        // The rename fails (a file cannot replace a non-empty directory) after the temporary
        // file was written: it must be removed.
        fs::create_dir_all(dir.join("busy/inner")).unwrap();
        assert!(write_atomic(&dir.join("busy"), b"x", 0o644).is_err());
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("busy")]);
    }

    #[test]
    fn backup_is_named_like_ansible() {
        let dir = scratch("backup");
        let file = dir.join("qemu.conf");
        fs::write(&file, "content").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        let backup = backup(&file).unwrap();
        let name = backup.file_name().unwrap().to_string_lossy().into_owned();
        let prefix = format!("qemu.conf.{}.", std::process::id());
        assert!(name.starts_with(&prefix) && name.ends_with('~'), "{name}");
        let stamp = &name[prefix.len()..name.len() - 1];
        assert_eq!(stamp.len(), "YYYY-MM-DD@HH:MM:SS".len(), "{stamp}");
        assert_eq!(&stamp[10..11], "@");
        assert_eq!(fs::read(&backup).unwrap(), b"content");
        assert_eq!(fs::metadata(&backup).unwrap().mode() & 0o7777, 0o600);
    }
}
