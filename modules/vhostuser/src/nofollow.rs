//! File operations that never follow a symbolic link. Everything inside a directory is done
//! relative to a descriptor of that directory, so a path swapped underneath (a directory
//! replaced by a link to `/etc`) cannot redirect a chown, chmod or unlink.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchownat, unlinkat};

use crate::selinux::XATTR as SELINUX_XATTR;

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

    /// The same from `std::fs::symlink_metadata`'s file type.
    #[must_use]
    pub fn of_file_type(file_type: std::fs::FileType) -> Kind {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_symlink() {
            Kind::Symlink
        } else if file_type.is_dir() {
            Kind::Directory
        } else if file_type.is_file() {
            Kind::File
        } else if file_type.is_socket() {
            Kind::Socket
        } else {
            Kind::Other
        }
    }

    /// The lowercase word the JSON and the messages use.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Socket => "socket",
            Kind::Symlink => "symlink",
            Kind::File => "file",
            Kind::Directory => "directory",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

    /// Where this directory lives, for [`Place::contains`] to check its entries against.
    pub fn place(&self) -> io::Result<Place> {
        Ok(Place {
            dev: self.stat()?.st_dev,
            mount: mount_id(self.fd.as_fd())?,
        })
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
        let handle = EntryHandle::open(self.fd.as_fd(), entry.name.as_str())?;
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
    /// Opens `name` under `dir` without following it: a symbolic link gives a handle on the
    /// link itself.
    fn open<P: ?Sized + nix::NixPath>(dir: impl AsFd, name: &P) -> io::Result<EntryHandle> {
        let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(dir.as_fd(), name, flags, Mode::empty()).map_err(io_err)?;
        Ok(EntryHandle { fd })
    }

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

/// Why an entry inside a tree is left alone: through it, a change would reach a file that also
/// lives outside the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outside {
    /// Another mount sits there (a bind mount of any directory or file, even of the same
    /// filesystem).
    MountPoint,
    /// On another filesystem than the tree's root.
    OtherFilesystem,
    /// A file with more than one name: another may be outside the tree.
    HardLinked,
}

impl fmt::Display for Outside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outside::MountPoint => "a mount point: what is mounted there is not part of the tree",
            Outside::OtherFilesystem => "on another filesystem",
            Outside::HardLinked => {
                "hard-linked: changing it would change the file under its other names too"
            }
        })
    }
}

/// Where a tree lives: its root's filesystem and mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    dev: u64,
    mount: u64,
}

impl Place {
    /// Whether the entry that `handle` holds (with its `stat`) stays within this place and has
    /// no other name: checked through the descriptor, so the answer is about the very inode a
    /// change through that descriptor reaches, whatever happened to its name since.
    pub fn contains(&self, handle: &EntryHandle, stat: &FileStat) -> io::Result<Option<Outside>> {
        if stat.st_dev != self.dev {
            return Ok(Some(Outside::OtherFilesystem));
        }
        if mount_id(handle.fd.as_fd())? != self.mount {
            return Ok(Some(Outside::MountPoint));
        }
        if Kind::of(stat) != Kind::Directory && stat.st_nlink > 1 {
            return Ok(Some(Outside::HardLinked));
        }
        Ok(None)
    }
}

/// The id of the mount an open descriptor is on: `statx` (Linux 5.8 on), else the `mnt_id` line
/// of `/proc/self/fdinfo` (Linux 3.15 on), else the mount of `/proc/self/mountinfo` whose mount
/// point is the longest prefix of the descriptor's path. Two mounts of one filesystem (a bind
/// mount) share `st_dev` but never a mount id.
fn mount_id(fd: BorrowedFd<'_>) -> io::Result<u64> {
    // SAFETY: statx is plain data, valid when zeroed.
    let mut buf: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: the path is NUL-terminated, buf is valid for writing a statx; a raw syscall
    // rather than libc's wrapper, which older musl lacks.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_statx,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_MNT_ID,
            &raw mut buf,
        )
    };
    if rc == 0 && buf.stx_mask & libc::STATX_MNT_ID != 0 {
        return Ok(buf.stx_mnt_id);
    }
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))?;
    if let Some(id) = info
        .lines()
        .find_map(|l| l.strip_prefix("mnt_id:"))
        .and_then(|v| v.trim().parse().ok())
    {
        return Ok(id);
    }
    let path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")?;
    mount_of(&mounts, &path).ok_or_else(|| {
        io::Error::other(format!(
            "{} is on no mount that /proc/self/mountinfo lists, so bind mounts inside the tree \
             cannot be told apart",
            path.display()
        ))
    })
}

/// The id of the mount in `mountinfo` whose mount point is the longest prefix of `path`; the
/// last one listed wins among mounts on the same point, as the later mount hides the earlier.
fn mount_of(mountinfo: &str, path: &Path) -> Option<u64> {
    let mut best: Option<(usize, u64)> = None;
    for line in mountinfo.lines() {
        let mut fields = line.split(' ');
        let (Some(id), Some(point)) = (fields.next(), fields.nth(3)) else {
            continue;
        };
        let (Ok(id), point) = (id.parse::<u64>(), PathBuf::from(unescape_mountinfo(point))) else {
            continue;
        };
        let depth = point.components().count();
        if path.starts_with(&point) && best.is_none_or(|(d, _)| depth >= d) {
            best = Some((depth, id));
        }
    }
    best.map(|(_, id)| id)
}

/// A mountinfo field with its octal escapes (`\040` for a blank) decoded.
fn unescape_mountinfo(field: &str) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let text = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    std::ffi::OsString::from_vec(out)
}

/// What a recursive ownership change did (or, when not applied, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TreeChange {
    /// Entries whose owner or group differed.
    pub count: usize,
    /// The first few of them, for the report.
    pub sample: Vec<PathBuf>,
    /// Entries left alone, and why: a mount point or another filesystem inside the tree, or a
    /// file with more than one hard link (re-owning it would re-own a file elsewhere too).
    pub skipped: Vec<Skipped>,
}

/// One entry a tree walk left alone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub why: Outside,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path.display(), self.why)
    }
}

const SAMPLE: usize = crate::SAMPLE_SIZE;
/// Deeper than any OvS directory goes.
const MAX_DEPTH: usize = 64;

/// `chown -R uid:gid root` that never follows a link: a link is re-owned itself, and a
/// directory reached through one is not entered. Each entry is opened with
/// `O_PATH|O_NOFOLLOW`, checked through that descriptor and re-owned through it, so an entry
/// swapped after it was listed is never what gets re-owned. It stays on the root's mount:
/// mount points (bind mounts too), other filesystems and hard-linked files are left alone and
/// listed in `skipped`. With `apply` false it only counts.
pub fn chown_tree(root: &Path, uid: u32, gid: u32, apply: bool) -> io::Result<TreeChange> {
    let mut change = TreeChange::default();
    let handle = EntryHandle::open(nix::fcntl::AT_FDCWD, root)?;
    let stat = handle.stat()?;
    let place = Place {
        dev: stat.st_dev,
        mount: mount_id(handle.fd.as_fd())?,
    };
    let ctx = Walk {
        uid,
        gid,
        apply,
        place,
    };
    visit(&ctx, &mut change, root.to_path_buf(), &handle, &stat, 0)?;
    Ok(change)
}

/// What every level of a tree walk shares.
struct Walk {
    uid: u32,
    gid: u32,
    apply: bool,
    place: Place,
}

/// Re-owns one checked entry, then, for a directory, every entry in it.
fn visit(
    ctx: &Walk,
    change: &mut TreeChange,
    path: PathBuf,
    handle: &EntryHandle,
    stat: &FileStat,
    depth: usize,
) -> io::Result<()> {
    note(change, &path, stat, ctx, handle)?;
    if Kind::of(stat) != Kind::Directory {
        return Ok(());
    }
    if depth > MAX_DEPTH {
        return Err(io::Error::other(format!(
            "{} is nested too deeply",
            path.display()
        )));
    }
    // The directory checked, not whatever its name points to now.
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let fd = match openat(handle.fd.as_fd(), ".", flags, Mode::empty()) {
        Ok(fd) => fd,
        // Removed since it was checked: nothing left to descend into.
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(io_err(e)),
    };
    let dir = Dir { fd, path };
    for entry in dir.entries()? {
        let path = dir.path.join(&entry.name);
        let handle = match EntryHandle::open(dir.fd.as_fd(), entry.name.as_str()) {
            Ok(handle) => handle,
            // Gone since it was listed: nothing to re-own.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        let stat = handle.stat()?;
        if let Some(why) = ctx.place.contains(&handle, &stat)? {
            change.skipped.push(Skipped { path, why });
            continue;
        }
        visit(ctx, change, path, &handle, &stat, depth + 1)?;
    }
    Ok(())
}

fn note(
    change: &mut TreeChange,
    path: &Path,
    stat: &FileStat,
    ctx: &Walk,
    handle: &EntryHandle,
) -> io::Result<()> {
    if stat.st_uid == ctx.uid && stat.st_gid == ctx.gid {
        return Ok(());
    }
    if ctx.apply {
        handle
            .chown(Some(ctx.uid), Some(ctx.gid))
            .map_err(|e| io::Error::other(format!("chown {}: {e}", path.display())))?;
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
        assert_eq!(
            again.skipped,
            vec![Skipped {
                path: dir.join("a/hard"),
                why: Outside::HardLinked
            }]
        );
        assert_eq!(std::fs::metadata(outside.join("linked")).unwrap().uid(), 0);
    }

    /// Runs `f` on a thread of its own in a private mount namespace, where `mounts` are bind
    /// mounts (source, target); they vanish with the thread, leaving the machine's mounts alone.
    fn in_mount_namespace<T: Send>(
        mounts: &[(PathBuf, PathBuf)],
        f: impl FnOnce() -> T + Send,
    ) -> T {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // SAFETY: plain syscalls on this thread's own filesystem context.
                    let rc = unsafe { libc::unshare(libc::CLONE_FS | libc::CLONE_NEWNS) };
                    assert_eq!(
                        rc,
                        0,
                        "unshare: {} (run as root)",
                        io::Error::last_os_error()
                    );
                    let root = c"/";
                    // SAFETY: NUL-terminated paths, no data.
                    let rc = unsafe {
                        libc::mount(
                            std::ptr::null(),
                            root.as_ptr(),
                            std::ptr::null(),
                            libc::MS_REC | libc::MS_PRIVATE,
                            std::ptr::null(),
                        )
                    };
                    assert_eq!(rc, 0, "{}", io::Error::last_os_error());
                    for (source, target) in mounts {
                        let source = CString::new(source.as_os_str().as_encoded_bytes()).unwrap();
                        let target = CString::new(target.as_os_str().as_encoded_bytes()).unwrap();
                        // SAFETY: as above.
                        let rc = unsafe {
                            libc::mount(
                                source.as_ptr(),
                                target.as_ptr(),
                                std::ptr::null(),
                                libc::MS_BIND,
                                std::ptr::null(),
                            )
                        };
                        assert_eq!(rc, 0, "bind mount: {}", io::Error::last_os_error());
                    }
                    f()
                })
                .join()
                .unwrap()
        })
    }

    #[test]
    fn bind_mounts_of_the_same_filesystem_are_left_alone() {
        let dir = scratch("bind");
        let outside = scratch("bind-outside");
        std::fs::create_dir_all(dir.join("a/mnt")).unwrap();
        std::fs::write(dir.join("a/file-mnt"), "").unwrap();
        std::fs::write(dir.join("a/own"), "").unwrap();
        std::fs::write(outside.join("secret"), "").unwrap();
        let nobody = 65534;
        let mounts = [
            (outside.clone(), dir.join("a/mnt")),
            (outside.join("secret"), dir.join("a/file-mnt")),
        ];
        let done = in_mount_namespace(&mounts, || {
            // Same filesystem: st_dev alone cannot tell.
            assert_eq!(
                std::fs::metadata(dir.join("a/mnt")).unwrap().dev(),
                std::fs::metadata(&dir).unwrap().dev()
            );
            chown_tree(&dir, nobody, nobody, true).unwrap()
        });
        assert_eq!(std::fs::metadata(&outside).unwrap().uid(), 0);
        assert_eq!(std::fs::metadata(outside.join("secret")).unwrap().uid(), 0);
        assert_eq!(std::fs::metadata(dir.join("a/own")).unwrap().uid(), nobody);
        assert_eq!(
            done.skipped,
            vec![
                Skipped {
                    path: dir.join("a/file-mnt"),
                    why: Outside::MountPoint
                },
                Skipped {
                    path: dir.join("a/mnt"),
                    why: Outside::MountPoint
                },
            ]
        );
        assert_eq!(
            done.skipped[1].to_string(),
            format!(
                "{} (a mount point: what is mounted there is not part of the tree)",
                dir.join("a/mnt").display()
            )
        );
    }

    #[test]
    fn a_checked_entry_swapped_for_a_hard_link_is_not_what_gets_reowned() {
        let dir = scratch("swap");
        let outside = scratch("swap-outside");
        std::fs::write(dir.join("f"), "").unwrap();
        std::fs::write(outside.join("admin"), "").unwrap();
        let opened = Dir::open(&dir).unwrap();
        let place = opened.place().unwrap();
        let handle = EntryHandle::open(opened.fd.as_fd(), "f").unwrap();
        let stat = handle.stat().unwrap();
        assert_eq!(place.contains(&handle, &stat).unwrap(), None);
        // The name now is a hard link to a file outside; the handle still holds the checked file.
        std::fs::hard_link(outside.join("admin"), dir.join("f.new")).unwrap();
        std::fs::rename(dir.join("f.new"), dir.join("f")).unwrap();
        handle.chown(Some(65534), Some(65534)).unwrap();
        assert_eq!(std::fs::metadata(outside.join("admin")).unwrap().uid(), 0);
        // Opened anew, it is seen for what it is.
        let handle = EntryHandle::open(opened.fd.as_fd(), "f").unwrap();
        let stat = handle.stat().unwrap();
        assert_eq!(
            place.contains(&handle, &stat).unwrap(),
            Some(Outside::HardLinked)
        );
    }

    #[test]
    fn entries_swapped_for_hard_links_during_the_walk_never_reown_the_outside_file() {
        // An attacker renames hard links to an outside file over the tree's files while the
        // walk runs; a bounded number of rounds.
        let dir = scratch("race");
        let outside = scratch("race-outside");
        let target = outside.join("admin.conf");
        std::fs::write(&target, "").unwrap();
        let names: Vec<String> = (0..200).map(|i| format!("f{i:03}")).collect();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let link = dir.join(".link");
                let mut i = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::hard_link(&target, &link);
                    let _ = std::fs::rename(&link, dir.join(&names[i % names.len()]));
                    i = i.wrapping_add(7);
                }
            });
            for _ in 0..20 {
                // Fresh files of one link each, then the walk.
                for name in &names {
                    let _ = std::fs::remove_file(dir.join(name));
                    let _ = std::fs::write(dir.join(name), "");
                }
                chown_tree(&dir, 65534, 65534, true).unwrap();
                if std::fs::metadata(&target).unwrap().uid() != 0 {
                    break;
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(std::fs::metadata(&target).unwrap().uid(), 0);
        assert_eq!(std::fs::metadata(&target).unwrap().gid(), 0);
    }

    #[test]
    fn the_mount_of_a_path_from_mountinfo() {
        let mountinfo = "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n\
            30 22 0:5 / /tmp rw - tmpfs tmpfs rw\n\
            41 30 0:5 /x /tmp/tree/with\\040space rw - tmpfs tmpfs rw\n\
            42 30 0:5 /y /tmp/tree/with\\040space rw - tmpfs tmpfs rw\n";
        let of = |p: &str| mount_of(mountinfo, Path::new(p));
        assert_eq!(of("/etc/openvswitch"), Some(22));
        assert_eq!(of("/tmp/tree"), Some(30));
        assert_eq!(of("/tmp/tree/with space/f"), Some(42));
        assert_eq!(of("/tmp/tree/with spaces"), Some(30));
        assert_eq!(mount_of("", Path::new("/")), None);
    }

    #[test]
    fn created_directories_get_the_exact_mode() {
        let dir = scratch("create");
        let made = Dir::create(&dir.join("d"), 0o2775).unwrap();
        assert_eq!(made.stat().unwrap().st_mode & 0o7777, 0o2775);
        assert_eq!(mode_text(0o40775), "0775");
    }
}
