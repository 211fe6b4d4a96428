//! Reading a configuration file: regular files only, without ever blocking, and bounded.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{FileError, Kind};

/// The most a configuration file may hold. libvirt's stock qemu.conf is 40 kB; a file of more
/// than this is not a configuration file, and reading it whole (`/dev/zero` behind a link)
/// would exhaust memory.
pub const MAX_BYTES: u64 = 8 * 1024 * 1024;

/// Reads the regular file `path` names (following links), whole, refusing anything else.
pub fn read_regular(path: &Path) -> Result<Vec<u8>, FileError> {
    let (mut file, meta) = open_regular(path)?;
    read_bounded(&mut file, &meta)
}

/// Opens the regular file `path` names for reading. The type is checked before opening, so a
/// device is never opened (opening some has effects), and again on the descriptor, so a swap
/// in between is caught; `O_NONBLOCK` keeps even that swap from hanging on a FIFO.
pub(crate) fn open_regular(path: &Path) -> Result<(File, Metadata), FileError> {
    let before = std::fs::metadata(path).map_err(|e| missing_or(path, e))?;
    if !before.is_file() {
        return Err(FileError::NotRegular(Kind::of(before.file_type())));
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| missing_or(path, e))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(FileError::NotRegular(Kind::of(meta.file_type())));
    }
    Ok((file, meta))
}

/// Reads at most [`MAX_BYTES`]; a longer file is refused rather than cut.
pub(crate) fn read_bounded(file: &mut File, meta: &Metadata) -> Result<Vec<u8>, FileError> {
    if meta.len() > MAX_BYTES {
        return Err(FileError::TooLarge(MAX_BYTES));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.by_ref().take(MAX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(FileError::TooLarge(MAX_BYTES));
    }
    Ok(bytes)
}

/// `NotFound` says whether a dangling link is in the way; other errors stay as they are.
pub(crate) fn missing_or(path: &Path, e: io::Error) -> FileError {
    if e.kind() != io::ErrorKind::NotFound {
        return FileError::Io(e);
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => FileError::DanglingLink,
        _ => FileError::NotFound,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::scratch;

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = scratch("fifo");
        let fifo = dir.join("qemu.conf");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // Before: std::fs::read blocked here forever, waiting for a writer.
        let err = read_regular(&fifo).unwrap_err();
        assert!(matches!(err, FileError::NotRegular(Kind::Fifo)), "{err}");
        assert_eq!(
            err.to_string(),
            "it is a FIFO (named pipe), not a regular file"
        );
    }

    #[test]
    fn devices_and_links_to_them_are_refused() {
        let dir = scratch("devices");
        let link = dir.join("qemu.conf");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        for path in [Path::new("/dev/null"), Path::new("/dev/zero"), &link] {
            let err = read_regular(path).unwrap_err();
            assert!(
                matches!(err, FileError::NotRegular(Kind::CharDevice)),
                "{}: {err}",
                path.display()
            );
        }
        assert!(matches!(
            read_regular(&dir).unwrap_err(),
            FileError::NotRegular(Kind::Directory)
        ));
    }

    #[test]
    fn missing_files_and_dangling_links_are_told_apart() {
        let dir = scratch("missing");
        assert!(matches!(
            read_regular(&dir.join("absent")).unwrap_err(),
            FileError::NotFound
        ));
        let link = dir.join("dangling");
        std::os::unix::fs::symlink(dir.join("nowhere"), &link).unwrap();
        assert!(matches!(
            read_regular(&link).unwrap_err(),
            FileError::DanglingLink
        ));
    }

    #[test]
    fn reads_are_bounded() {
        let dir = scratch("large");
        let big = dir.join("big.conf");
        let file = File::create(&big).unwrap();
        file.set_len(MAX_BYTES + 1).unwrap();
        assert!(matches!(
            read_regular(&big).unwrap_err(),
            FileError::TooLarge(MAX_BYTES)
        ));
        file.set_len(3).unwrap();
        assert_eq!(read_regular(&big).unwrap(), vec![0, 0, 0]);
    }
}
