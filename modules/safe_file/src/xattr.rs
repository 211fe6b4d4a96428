//! Extended attributes a replacement must keep: the SELinux label, the POSIX ACL and the
//! user's own attributes, as `lineinfile` keeps them (it rewrites the file in place).

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Attributes that must come across; losing one silently changes who may read the file, or
/// what SELinux lets read it. Others (`trusted.*`, `security.ima`, ...) are copied when the
/// kernel lets us.
fn must_keep(name: &str) -> bool {
    name == "security.selinux" || name == "system.posix_acl_access" || name.starts_with("user.")
}

/// Copies every extended attribute of `from` to `to`.
pub(crate) fn copy_all(from: &File, to: &File) -> io::Result<()> {
    for name in list(from)? {
        let Some(value) = get(from, &name)? else {
            continue;
        };
        // SAFETY: the descriptor is open, `name` is NUL-terminated and `value` is valid for
        // its length.
        let rc = unsafe {
            libc::fsetxattr(
                to.as_raw_fd(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            let text = name.to_string_lossy();
            if must_keep(&text) {
                return Err(io::Error::new(
                    err.kind(),
                    format!("could not copy the extended attribute {text}: {err}"),
                ));
            }
        }
    }
    Ok(())
}

/// The attribute names of a file; none where the filesystem has no extended attributes.
fn list(file: &File) -> io::Result<Vec<CString>> {
    let buf = sized(|buf, len| {
        // SAFETY: the descriptor is open and `buf` is valid for `len` bytes (or null with 0).
        unsafe { libc::flistxattr(file.as_raw_fd(), buf.cast(), len) }
    })?;
    Ok(buf
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| CString::new(n).ok())
        .collect())
}

fn get(file: &File, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    match sized(|buf, len| {
        // SAFETY: as in `list`; `name` is NUL-terminated.
        unsafe { libc::fgetxattr(file.as_raw_fd(), name.as_ptr(), buf.cast(), len) }
    }) {
        Ok(value) => Ok(Some(value)),
        // Removed since it was listed.
        Err(e) if e.raw_os_error() == Some(libc::ENODATA) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Calls a size-then-fill xattr function, retrying when the value grows in between.
fn sized(call: impl Fn(*mut u8, usize) -> isize) -> io::Result<Vec<u8>> {
    for _ in 0..5 {
        let size = call(std::ptr::null_mut(), 0);
        if size < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::ENOTSUP) => Ok(Vec::new()),
                _ => Err(err),
            };
        }
        let mut buf = vec![0u8; size as usize];
        let len = call(buf.as_mut_ptr(), buf.len());
        if len >= 0 {
            buf.truncate(len as usize);
            return Ok(buf);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) {
            return Err(err);
        }
    }
    Err(io::Error::other(
        "extended attributes kept changing while being read",
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    pub fn set(path: &Path, name: &str, value: &[u8]) {
        let path = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        let name = CString::new(name).unwrap();
        // SAFETY: NUL-terminated strings, value valid for its length.
        let rc = unsafe {
            libc::setxattr(
                path.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
    }

    pub fn get_path(path: &Path, name: &str) -> Option<Vec<u8>> {
        let file = File::open(path).unwrap();
        get(&file, &CString::new(name).unwrap()).unwrap()
    }

    /// A POSIX ACL as the kernel stores it: `user::rw-,user:65534:r--,group::r--,mask::r--,other::---`.
    pub fn acl() -> Vec<u8> {
        let mut acl = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in [
            (0x01u16, 6u16, u32::MAX),
            (0x02, 4, 65534),
            (0x04, 4, u32::MAX),
            (0x10, 4, u32::MAX),
            (0x20, 0, u32::MAX),
        ] {
            acl.extend(tag.to_le_bytes());
            acl.extend(perm.to_le_bytes());
            acl.extend(id.to_le_bytes());
        }
        acl
    }
}
