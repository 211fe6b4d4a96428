//! Why a file could not be read or replaced, in words a user can act on.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What a path names, when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
    Other,
}

impl Kind {
    #[must_use]
    pub fn of(file_type: std::fs::FileType) -> Kind {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_dir() {
            Kind::Directory
        } else if file_type.is_char_device() {
            Kind::CharDevice
        } else if file_type.is_block_device() {
            Kind::BlockDevice
        } else if file_type.is_fifo() {
            Kind::Fifo
        } else if file_type.is_socket() {
            Kind::Socket
        } else {
            Kind::Other
        }
    }

    /// "a character device", for messages.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Directory => "a directory",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Fifo => "a FIFO (named pipe)",
            Kind::Socket => "a socket",
            Kind::Other => "not a regular file",
        }
    }
}

#[derive(Debug)]
pub enum FileError {
    /// Neither the file nor a link to it exists.
    NotFound,
    /// The directory a missing file would be created in does not exist.
    NoDirectory(PathBuf),
    /// A symbolic link whose target does not exist.
    DanglingLink,
    /// The path (after following links) is not a regular file.
    NotRegular(Kind),
    /// Longer than [`crate::MAX_BYTES`].
    TooLarge(u64),
    /// Another writer held the file's lock for the whole wait.
    Busy(std::time::Duration),
    /// The path kept naming another file while it was being locked.
    Unstable,
    Io(io::Error),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::NotFound => f.write_str("it does not exist"),
            FileError::NoDirectory(dir) => {
                write!(f, "its directory {} does not exist", dir.display())
            }
            FileError::DanglingLink => {
                f.write_str("it is a symbolic link to a file that does not exist")
            }
            FileError::NotRegular(Kind::Other) => f.write_str("it is not a regular file"),
            FileError::NotRegular(kind) => {
                write!(f, "it is {}, not a regular file", kind.describe())
            }
            FileError::TooLarge(limit) => write!(
                f,
                "it is larger than {limit} bytes, far more than any configuration file"
            ),
            FileError::Busy(waited) => write!(
                f,
                "another process kept it locked for {} s while editing it; run the task again when \
                 that process is done",
                waited.as_secs()
            ),
            FileError::Unstable => f.write_str(
                "it was replaced again and again while being locked; run the task again",
            ),
            FileError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FileError {}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        FileError::Io(e)
    }
}
