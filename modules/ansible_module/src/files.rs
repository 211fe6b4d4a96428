//! Ansible's file conventions: the name of a backup. Reading and replacing files safely is
//! `safe_file`'s; [`crate::Ctx::edit_file`] puts the two together.

use std::path::{Path, PathBuf};

/// `<path>.<pid>.<YYYY-MM-DD@HH:MM:SS>~` in local time, as Ansible's `backup_local` names it,
/// beside the path the task gave (a link's backup sits beside the link).
#[must_use]
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.{}~", std::process::id(), local_timestamp()));
    PathBuf::from(name)
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

    #[test]
    fn backup_is_named_like_ansible() {
        let backup = backup_path(Path::new("/etc/libvirt/qemu.conf"));
        let name = backup.file_name().unwrap().to_string_lossy().into_owned();
        let prefix = format!("qemu.conf.{}.", std::process::id());
        assert!(name.starts_with(&prefix) && name.ends_with('~'), "{name}");
        let stamp = &name[prefix.len()..name.len() - 1];
        assert_eq!(stamp.len(), "YYYY-MM-DD@HH:MM:SS".len(), "{stamp}");
        assert_eq!(&stamp[10..11], "@");
        assert_eq!(backup.parent(), Some(Path::new("/etc/libvirt")));
    }
}
