//! Where the kernel's views of the host are: `/proc` and `/sys`. The modules take them as
//! roots, so that a test can point them at a tree of its own.

use std::path::PathBuf;

/// The roots of `/proc` and `/sys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    pub proc: PathBuf,
    pub sys: PathBuf,
}

impl Roots {
    /// This host's own.
    #[must_use]
    pub fn host() -> Roots {
        Roots {
            proc: PathBuf::from("/proc"),
            sys: PathBuf::from("/sys"),
        }
    }

    /// Whether SELinux labels matter here (selinuxfs is mounted under `sys`).
    #[must_use]
    pub fn selinux_enabled(&self) -> bool {
        crate::selinux::enabled_under(&self.sys)
    }
}

impl Default for Roots {
    fn default() -> Roots {
        Roots::host()
    }
}
