//! File operations that never follow a symbolic link. Everything inside a directory is done
//! relative to a descriptor of that directory, so a path swapped underneath (a directory
//! replaced by a link to `/etc`) cannot redirect a chown, chmod or unlink.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchownat, unlinkat};

const SELINUX_XATTR: &CStr = c"security.selinux";

/// What a directory entry is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Socket,
    Symlink,
    File,
    Directory,
    Other,
}

impl Kind {
    #[must_use]
    pub fn of(stat: &FileStat) -> Kind {
        match SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) {
            SFlag::S_IFSOCK => Kind::Socket,
            SFlag::S_IFLNK => Kind::Symlink,
            SFlag::S_IFREG => Kind::File,
            SFlag::S_IFDIR => Kind::Directory,
            _ => Kind::Other,
        }
    }
}

/// Why a directory could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Missing,
    Symlink,
    NotDirectory(Kind),
    Io(io::Error),
}

/// An open directory.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    pub path: PathBuf,
}

/// One entry of a directory, as `lstat` sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub kind: Kind,
    pub stat: FileStat,
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

impl Dir {
    /// Opens `path`, refusing a symbolic link in its last component.
    pub fn open(path: &Path) -> Result<Dir, OpenError> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match openat(nix::fcntl::AT_FDCWD, path, flags, Mode::empty()) {
            Ok(fd) => Ok(Dir {
                fd,
                path: path.to_path_buf(),
            }),
            Err(Errno::ENOENT) => Err(OpenError::Missing),
            Err(Errno::ELOOP) => Err(OpenError::Symlink),
            Err(Errno::ENOTDIR) => {
                let kind = fstatat(nix::fcntl::AT_FDCWD, path, AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_or(Kind::Other, |s| Kind::of(&s));
                if kind == Kind::Symlink {
                    Err(OpenError::Symlink)
                } else {
                    Err(OpenError::NotDirectory(kind))
                }
            }
            Err(e) => Err(OpenError::Io(io_err(e))),
        }
    }

    /// Creates `path` (its parent must exist) with `mode`, then opens it.
    pub fn create(path: &Path, mode: u32) -> Result<Dir, OpenError> {
        nix::unistd::mkdir(path, Mode::from_bits_truncate(mode))
            .map_err(|e| OpenError::Io(io_err(e)))?;
        let dir = Dir::open(path)?;
        // mkdir's mode went through the umask; set it exactly.
        dir.chmod(mode).map_err(OpenError::Io)?;
        Ok(dir)
    }

    pub fn stat(&self) -> io::Result<FileStat> {
        fstat(self.fd.as_fd()).map_err(io_err)
    }

    pub fn chown(&self, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        nix::unistd::fchown(
            self.fd.as_fd(),
            uid.map(Uid::from_raw),
            gid.map(Gid::from_raw),
        )
        .map_err(io_err)
    }

    pub fn chmod(&self, mode: u32) -> io::Result<()> {
        nix::sys::stat::fchmod(self.fd.as_fd(), Mode::from_bits_truncate(mode)).map_err(io_err)
    }

    /// The entries, sorted by name, each as `lstat` sees it. Entries that vanish while listed
    /// are left out.
    pub fn entries(&self) -> io::Result<Vec<Entry>> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let mut listing =
            nix::dir::Dir::openat(self.fd.as_fd(), ".", flags, Mode::empty()).map_err(io_err)?;
        let mut entries = Vec::new();
        for item in listing.iter() {
            let item = item.map_err(io_err)?;
            let name = item.file_name().to_string_lossy().into_owned();
            if name == "." || name == ".." {
                continue;
            }
            match fstatat(
                self.fd.as_fd(),
                item.file_name(),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            ) {
                Ok(stat) => entries.push(Entry {
                    name,
                    kind: Kind::of(&stat),
                    stat,
                }),
                Err(Errno::ENOENT) => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// A handle on one entry that does not follow it, for chown and chmod of exactly that
    /// inode; `expected` guards against the entry being replaced since it was listed.
    pub fn entry(&self, entry: &Entry) -> io::Result<EntryHandle> {
        let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd =
            openat(self.fd.as_fd(), entry.name.as_str(), flags, Mode::empty()).map_err(io_err)?;
        let handle = EntryHandle { fd };
        let now = handle.stat()?;
        if now.st_ino != entry.stat.st_ino || Kind::of(&now) != entry.kind {
            return Err(io::Error::other(format!(
                "{} changed while it was being checked",
                entry.name
            )));
        }
        Ok(handle)
    }

    /// Removes an entry that is not a directory, if it is still the inode that was listed.
    pub fn remove(&self, entry: &Entry) -> io::Result<()> {
        self.entry(entry)?;
        unlinkat(
            self.fd.as_fd(),
            entry.name.as_str(),
            UnlinkatFlags::NoRemoveDir,
        )
        .map_err(io_err)
    }

    /// The SELinux context (`user:role:type:level`), if the filesystem has one.
    pub fn selinux_context(&self) -> io::Result<Option<String>> {
        let mut buf = [0u8; 256];
        // SAFETY: the name is NUL-terminated and buf is valid for buf.len() bytes.
        let len = unsafe {
            libc::fgetxattr(
                self.fd.as_raw_fd(),
                SELINUX_XATTR.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if len < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::ENODATA | libc::ENOTSUP) => Ok(None),
                _ => Err(err),
            };
        }
        let raw = &buf[..len as usize];
        let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
        Ok(Some(String::from_utf8_lossy(raw).into_owned()))
    }

    /// Sets the SELinux context; the kernel checks it against the loaded policy.
    pub fn set_selinux_context(&self, context: &str) -> io::Result<()> {
        let value = CString::new(context)?;
        let bytes = value.as_bytes_with_nul();
        // SAFETY: the name and value are valid for the given lengths.
        let rc = unsafe {
            libc::fsetxattr(
                self.fd.as_raw_fd(),
                SELINUX_XATTR.as_ptr(),
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Removes this (empty) directory.
    pub fn remove_self(self) -> io::Result<()> {
        std::fs::remove_dir(&self.path)
    }
}

/// An `O_PATH` handle on one directory entry.
#[derive(Debug)]
pub struct EntryHandle {
    fd: OwnedFd,
}

impl EntryHandle {
    pub fn stat(&self) -> io::Result<FileStat> {
        fstat(self.fd.as_fd()).map_err(io_err)
    }

    pub fn chown(&self, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        fchownat(
            self.fd.as_fd(),
            "",
            uid.map(Uid::from_raw),
            gid.map(Gid::from_raw),
            AtFlags::AT_EMPTY_PATH,
        )
        .map_err(io_err)
    }

    /// chmod of exactly this inode: an `O_PATH` descriptor takes no fchmod, but its
    /// `/proc/self/fd` entry names the inode itself.
    pub fn chmod(&self, mode: u32) -> io::Result<()> {
        let proc_path = format!("/proc/self/fd/{}", self.fd.as_raw_fd());
        nix::sys::stat::fchmodat(
            nix::fcntl::AT_FDCWD,
            proc_path.as_str(),
            Mode::from_bits_truncate(mode),
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        )
        .map_err(io_err)
    }
}

/// What a recursive ownership change did (or, when not applied, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TreeChange {
    /// Entries whose owner or group differed.
    pub count: usize,
    /// The first few of them, for the report.
    pub sample: Vec<PathBuf>,
    /// Entries left alone: another filesystem mounted inside the tree, or a file with more
    /// than one hard link (re-owning it would re-own a file elsewhere too).
    pub skipped: Vec<PathBuf>,
}

const SAMPLE: usize = 10;
/// Deeper than any OvS directory goes; stops a bind-mount loop.
const MAX_DEPTH: usize = 64;

/// `chown -R uid:gid root` that never follows a link: a link is re-owned itself, and a
/// directory reached through one is not entered. It stays on the root's filesystem and leaves
/// hard-linked files alone (both listed in `skipped`). With `apply` false it only counts.
pub fn chown_tree(root: &Path, uid: u32, gid: u32, apply: bool) -> io::Result<TreeChange> {
    let mut change = TreeChange::default();
    let stat = fstatat(nix::fcntl::AT_FDCWD, root, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(io_err)?;
    let owner_fd = nix::fcntl::AT_FDCWD;
    note(&mut change, root, &stat, uid, gid, apply, |u, g| {
        fchownat(owner_fd, root, u, g, AtFlags::AT_SYMLINK_NOFOLLOW)
    })?;
    if Kind::of(&stat) == Kind::Directory {
        let dir = Dir::open(root).map_err(|e| match e {
            OpenError::Io(e) => e,
            other => io::Error::other(format!("{}: {other:?}", root.display())),
        })?;
        let walk_ctx = Walk {
            uid,
            gid,
            apply,
            dev: stat.st_dev,
        };
        walk(&dir, &walk_ctx, &mut change, 0)?;
    }
    Ok(change)
}

/// What every level of a tree walk shares.
struct Walk {
    uid: u32,
    gid: u32,
    apply: bool,
    /// The root's filesystem.
    dev: u64,
}

fn walk(dir: &Dir, ctx: &Walk, change: &mut TreeChange, depth: usize) -> io::Result<()> {
    let Walk {
        uid,
        gid,
        apply,
        dev,
    } = *ctx;
    if depth > MAX_DEPTH {
        return Err(io::Error::other(format!(
            "{} is nested too deeply",
            dir.path.display()
        )));
    }
    for entry in dir.entries()? {
        let path = dir.path.join(&entry.name);
        let hard_linked = entry.kind != Kind::Directory && entry.stat.st_nlink > 1;
        if entry.stat.st_dev != dev || hard_linked {
            change.skipped.push(path);
            continue;
        }
        note(change, &path, &entry.stat, uid, gid, apply, |u, g| {
            fchownat(
                dir.fd.as_fd(),
                entry.name.as_str(),
                u,
                g,
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
        })?;
        if entry.kind == Kind::Directory {
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            match openat(dir.fd.as_fd(), entry.name.as_str(), flags, Mode::empty()) {
                Ok(fd) => walk(&Dir { fd, path }, ctx, change, depth + 1)?,
                // Replaced by something else since it was listed: nothing to descend into.
                Err(Errno::ENOENT | Errno::ELOOP | Errno::ENOTDIR) => {}
                Err(e) => return Err(io_err(e)),
            }
        }
    }
    Ok(())
}

fn note(
    change: &mut TreeChange,
    path: &Path,
    stat: &FileStat,
    uid: u32,
    gid: u32,
    apply: bool,
    chown: impl FnOnce(Option<Uid>, Option<Gid>) -> nix::Result<()>,
) -> io::Result<()> {
    if stat.st_uid == uid && stat.st_gid == gid {
        return Ok(());
    }
    if apply {
        chown(Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
            .map_err(|e| io::Error::other(format!("chown {}: {}", path.display(), io_err(e))))?;
    }
    change.count += 1;
    if change.sample.len() < SAMPLE {
        change.sample.push(path.to_path_buf());
    }
    Ok(())
}

/// `0775`-style text of a mode's permission bits.
#[must_use]
pub fn mode_text(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nofollow-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn links_are_refused_not_followed() {
        let dir = scratch("links");
        let real = dir.join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.join("link")).unwrap();
        assert!(matches!(
            Dir::open(&dir.join("link")),
            Err(OpenError::Symlink)
        ));
        assert!(matches!(
            Dir::open(&dir.join("missing")),
            Err(OpenError::Missing)
        ));
        std::fs::write(dir.join("file"), "").unwrap();
        assert!(matches!(
            Dir::open(&dir.join("file")),
            Err(OpenError::NotDirectory(Kind::File))
        ));
        let opened = Dir::open(&dir).unwrap();
        let kinds: Vec<(String, Kind)> = opened
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("file".into(), Kind::File),
                ("link".into(), Kind::Symlink),
                ("real".into(), Kind::Directory)
            ]
        );
    }

    #[test]
    fn sockets_change_mode_through_their_handle() {
        let dir = scratch("sock");
        let path = dir.join("s");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let opened = Dir::open(&dir).unwrap();
        let entry = opened.entries().unwrap().into_iter().next().unwrap();
        assert_eq!(entry.kind, Kind::Socket);
        let handle = opened.entry(&entry).unwrap();
        handle.chmod(0o660).unwrap();
        handle.chown(None, Some(0)).unwrap();
        assert_eq!(
            std::fs::symlink_metadata(&path)
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o660
        );
        opened.remove(&entry).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn tree_ownership_never_follows_links() {
        let dir = scratch("tree");
        let outside = scratch("tree-outside");
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/f"), "").unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("a/out")).unwrap();
        let nobody = 65534;
        let counted = chown_tree(&dir, nobody, nobody, false).unwrap();
        assert_eq!(counted.count, 5, "{counted:?}");
        assert_eq!(
            std::fs::symlink_metadata(dir.join("a/b/f")).unwrap().uid(),
            0,
            "counting changes nothing"
        );
        let done = chown_tree(&dir, nobody, nobody, true).unwrap();
        assert_eq!(done, counted);
        assert_eq!(
            std::fs::symlink_metadata(dir.join("a/b/f")).unwrap().gid(),
            nobody
        );
        assert_eq!(
            std::fs::symlink_metadata(dir.join("a/out")).unwrap().uid(),
            nobody,
            "the link itself"
        );
        assert_eq!(
            std::fs::metadata(&outside).unwrap().uid(),
            0,
            "never its target"
        );
        assert_eq!(chown_tree(&dir, nobody, nobody, true).unwrap().count, 0);
        // A hard link to a file outside the tree: re-owning it would re-own that file.
        std::fs::write(outside.join("linked"), "").unwrap();
        std::fs::hard_link(outside.join("linked"), dir.join("a/hard")).unwrap();
        let again = chown_tree(&dir, nobody, nobody, true).unwrap();
        assert_eq!(again.skipped, vec![dir.join("a/hard")]);
        assert_eq!(std::fs::metadata(outside.join("linked")).unwrap().uid(), 0);
    }

    #[test]
    fn created_directories_get_the_exact_mode() {
        let dir = scratch("create");
        let made = Dir::create(&dir.join("d"), 0o2775).unwrap();
        assert_eq!(made.stat().unwrap().st_mode & 0o7777, 0o2775);
        assert_eq!(mode_text(0o40775), "0775");
    }
}
