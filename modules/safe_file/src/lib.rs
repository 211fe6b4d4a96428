//! Reading and replacing configuration files so that nothing is lost, followed or hung.
//!
//! Every module that edits or reads a configuration file goes through here, so each rule
//! holds everywhere at once:
//! - only regular files are read or replaced (a link is followed, as Ansible does); a device,
//!   FIFO, socket or directory is refused before anything is opened for writing, and opening
//!   never blocks;
//! - a read is bounded ([`MAX_BYTES`]), so `/dev/zero` behind a link cannot exhaust memory;
//! - writers of one file are serialized by an advisory lock held from the read to the
//!   replacement, so two concurrent edits never lose one another's change;
//! - the replacement is atomic (temporary file in the same directory, fsync, rename), keeps
//!   owner, mode and every extended attribute that can be copied (SELinux label, POSIX ACL,
//!   `user.*`), and its temporary files are found and removed by the next writer when a
//!   writer was killed;
//! - a backup is created exclusively, never through a link, and removed if it cannot be
//!   written whole.
//!
//! It knows nothing about Ansible or vhost-user.

mod backup;
mod error;
mod lock;
mod read;
mod replace;
mod temp;
mod xattr;

pub use backup::backup_to;
pub use error::{FileError, Kind};
pub use lock::{Current, open_locked};
pub use read::{MAX_BYTES, read_regular};
pub use replace::Replaced;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod testing {
    use std::path::PathBuf;

    pub fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("safe_file-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The names in a directory, sorted.
    pub fn names_in(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}
