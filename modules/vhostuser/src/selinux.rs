//! SELinux as the modules need it, in one place: whether the kernel enforces a policy here,
//! the label of a path (never following a link), and the type field of a context.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The extended attribute that holds a file's SELinux context.
pub const XATTR: &CStr = c"security.selinux";

/// Under `/sys`, present exactly when selinuxfs is mounted, i.e. when a policy is loaded.
const ENFORCE: &str = "fs/selinux/enforce";

/// Whether labels matter on this host: selinuxfs is mounted.
#[must_use]
pub fn enabled() -> bool {
    enabled_under(Path::new("/sys"))
}

/// The same, with `/sys` at `sys`.
#[must_use]
pub fn enabled_under(sys: &Path) -> bool {
    sys.join(ENFORCE).exists()
}

/// The type field of a context (`system_u:object_r:virt_cache_t:s0` -> `virt_cache_t`).
#[must_use]
pub fn type_of(context: &str) -> Option<&str> {
    context.split(':').nth(2)
}

/// The context with its type replaced; `None` when it has no type field.
#[must_use]
pub fn with_type(context: &str, setype: &str) -> Option<String> {
    let mut parts: Vec<&str> = context.split(':').collect();
    if parts.len() < 3 {
        return None;
    }
    parts[2] = setype;
    Some(parts.join(":"))
}

/// The type field of a path's label, without following a link; `None` when it has none or
/// it cannot be read.
#[must_use]
pub fn type_of_path(path: &Path) -> Option<String> {
    let path = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut buf = [0u8; 512];
    // SAFETY: both strings are NUL-terminated and buf is valid for buf.len() bytes.
    let len = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            XATTR.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let len = usize::try_from(len).ok()?;
    let context = String::from_utf8_lossy(&buf[..len]);
    type_of(context.trim_end_matches('\0')).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_the_third_field() {
        assert_eq!(
            type_of("system_u:object_r:virt_cache_t:s0"),
            Some("virt_cache_t")
        );
        assert_eq!(type_of("unlabeled"), None);
        assert_eq!(
            with_type("system_u:object_r:var_lib_t:s0", "virt_cache_t").as_deref(),
            Some("system_u:object_r:virt_cache_t:s0")
        );
        assert_eq!(with_type("a:b", "t"), None);
    }

    #[test]
    fn a_path_without_a_label_has_no_type() {
        assert_eq!(type_of_path(Path::new("/nonexistent/nfv-vhostuser")), None);
    }
}
