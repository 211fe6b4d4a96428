//! Which unix socket paths someone listens on, from the kernel's socket tables.
//!
//! `/proc/net/unix` lists only the sockets of the reader's network namespace, and
//! ovs-vswitchd or QEMU may run in another one, so the table of one process per namespace is
//! read. A socket running QEMUs name on their command line counts as in use too.
//!
//! Those tables cannot show everything: a listener whose network namespace no process is left
//! in (a container's, kept alive by the socket alone) is in no table. So before a socket is
//! called stale, one non-blocking `connect()` confirms it: only `ECONNREFUSED` means nobody
//! listens. The probe goes only to sockets the tables already call stale, so a vhost-user
//! server that accepts it sees at most one connection that closes at once, in exactly the case
//! where it would otherwise have had its socket removed. [`sockets_in_use`] and
//! [`SocketTable::in_use`] are the one rule for "is this socket in use", for the audit and for
//! `remove_stale` alike.
//!
//! A table names a socket by the path it was bound to, which may differ from the path asked
//! about (`/var/run` is a link to `/run`; a relative bind). So paths are compared resolved as
//! well as written, and when the tables cannot give a sure "nobody", the answer is "maybe":
//! a socket is only ever called stale when that is certain, because removing a live one cuts
//! a VM's network.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::qemu_procs::QemuProcess;

/// `__SO_ACCEPTCON`: the socket is listening.
const ACCEPTING: u32 = 0x0001_0000;
/// `SS_CONNECTED`: an accepted connection, which carries the listener's path.
const CONNECTED: u8 = 3;

/// What the kernel's tables say about path-bound unix sockets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketTable {
    /// Paths someone listens on, as bound and, where the file exists, resolved.
    pub listening: BTreeSet<PathBuf>,
    /// For each listening path (as bound), how many connections it has accepted.
    pub peers: BTreeMap<PathBuf, usize>,
    /// File names of listeners bound by a relative path, which cannot be resolved from here.
    relative: BTreeSet<OsString>,
    /// Whether this process's own table could be read; without it nothing is certain.
    complete: bool,
}

impl SocketTable {
    /// Whether someone may listen on `path`: true unless the tables say for certain that
    /// nobody does.
    #[must_use]
    pub fn may_be_listening(&self, path: &Path) -> bool {
        !self.complete
            || self.listening.contains(path)
            || std::fs::canonicalize(path).is_ok_and(|real| self.listening.contains(&real))
            || path
                .file_name()
                .is_some_and(|name| self.relative.contains(name))
    }

    /// Whether the socket at `path` is in use: someone may listen on it by the tables, or,
    /// where they say nobody does, a `connect()` to it is not refused. A path with nothing at
    /// it is not in use.
    #[must_use]
    pub fn in_use(&self, path: &Path) -> bool {
        self.may_be_listening(path) || matches!(probe(path), Probe::Accepted | Probe::Unknown)
    }

    /// Counts `paths` as listened on: sockets a running QEMU names on its command line are in
    /// use even where the tables cannot show it (a namespace no process is left in).
    pub fn also_in_use(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        for path in paths {
            if let Ok(real) = std::fs::canonicalize(&path) {
                self.listening.insert(real);
            }
            self.listening.insert(path);
        }
    }

    /// Accepted connections on `path`, however it was spelled when bound.
    #[must_use]
    pub fn peers_of(&self, path: &Path) -> usize {
        let real = std::fs::canonicalize(path).ok();
        self.peers
            .iter()
            .filter(|(bound, _)| {
                bound.as_path() == path
                    || real
                        .as_deref()
                        .is_some_and(|r| std::fs::canonicalize(bound).is_ok_and(|b| b == r))
            })
            .map(|(_, n)| *n)
            .sum()
    }
}

/// What says which sockets are in use: the kernel's tables of every network namespace, plus
/// the vhost-user sockets that running QEMUs name, in use whatever the tables can show.
#[must_use]
pub fn sockets_in_use(proc_root: &Path, qemus: &[QemuProcess]) -> SocketTable {
    let mut table = socket_table(proc_root);
    table.also_in_use(
        qemus
            .iter()
            .flat_map(|q| q.vhost_user.iter())
            .map(|c| PathBuf::from(&c.path)),
    );
    table
}

/// What a non-blocking `connect()` to a path finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Someone accepted, or will (a full backlog): in use.
    Accepted,
    /// `ECONNREFUSED`: a socket file nobody listens on (or not a socket at all).
    Refused,
    /// Nothing at that path.
    Missing,
    /// Anything else (a path too long to connect to, a listener of another socket type, no
    /// permission): nobody can say it is unused.
    Unknown,
}

/// Connects to `path` without blocking, and hangs up at once.
#[must_use]
pub fn probe(path: &Path) -> Probe {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
    let Ok(addr) = UnixAddr::new(path) else {
        return Probe::Unknown;
    };
    let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
    let Ok(fd) = socket(AddressFamily::Unix, SockType::Stream, flags, None) else {
        return Probe::Unknown;
    };
    match connect(fd.as_raw_fd(), &addr) {
        Ok(()) | Err(Errno::EAGAIN | Errno::EINPROGRESS) => Probe::Accepted,
        Err(Errno::ECONNREFUSED) => Probe::Refused,
        Err(Errno::ENOENT) => Probe::Missing,
        Err(_) => Probe::Unknown,
    }
}

/// Paths bound by listening unix sockets in every network namespace this process can see.
#[must_use]
pub fn listening_paths(proc_root: &Path) -> BTreeSet<PathBuf> {
    socket_table(proc_root).listening
}

/// The listening sockets and their accepted connections, from one table per network
/// namespace. A table may be read twice (this process's namespace is also some pid's), so
/// sockets are counted once by inode. Tables are read as bytes: a path that is not UTF-8
/// must not make the whole table unreadable.
#[must_use]
pub fn socket_table(proc_root: &Path) -> SocketTable {
    let own = std::fs::read(proc_root.join("net/unix")).ok();
    let mut table = SocketTable {
        complete: own.is_some(),
        ..SocketTable::default()
    };
    let others = one_pid_per_netns(proc_root)
        .into_iter()
        .filter_map(|pid| std::fs::read(proc_root.join(pid).join("net/unix")).ok());
    let mut seen: BTreeMap<u64, Row> = BTreeMap::new();
    for bytes in own.into_iter().chain(others) {
        for row in parse_table(&bytes) {
            seen.entry(row.inode).or_insert(row);
        }
    }
    for row in seen.into_values() {
        if row.flags & ACCEPTING != 0 {
            if row.path.is_absolute() {
                if let Ok(real) = std::fs::canonicalize(&row.path) {
                    table.listening.insert(real);
                }
                table.listening.insert(row.path);
            } else if let Some(name) = row.path.file_name() {
                table.relative.insert(name.to_owned());
            }
        } else if row.state == CONNECTED {
            *table.peers.entry(row.path).or_default() += 1;
        }
    }
    let listening = table.listening.clone();
    table.peers.retain(|path, _| listening.contains(path));
    table
}

fn one_pid_per_netns(proc_root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut by_ns: BTreeMap<PathBuf, String> = BTreeMap::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(ns) = std::fs::read_link(entry.path().join("ns/net")) {
            by_ns.entry(ns).or_insert(name);
        }
    }
    by_ns.into_values().collect()
}

/// One path-bound socket of a `/proc/net/unix` table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    flags: u32,
    state: u8,
    inode: u64,
    path: PathBuf,
}

/// The path-bound sockets of one table. Columns: `Num RefCount Protocol Flags Type St Inode
/// Path`; abstract sockets (`@name`) have no file to match.
fn parse_table(table: &[u8]) -> Vec<Row> {
    table
        .split(|b| *b == b'\n')
        .skip(1)
        .filter_map(|line| {
            let columns: Vec<&[u8]> = line
                .split(u8::is_ascii_whitespace)
                .filter(|c| !c.is_empty())
                .collect();
            let text = |i: usize| std::str::from_utf8(columns.get(i)?).ok();
            let flags = u32::from_str_radix(text(3)?, 16).ok()?;
            let state = u8::from_str_radix(text(5)?, 16).ok()?;
            let inode = text(6)?.parse().ok()?;
            let path = path_column(line)?;
            (!path.starts_with(b"@")).then(|| Row {
                flags,
                state,
                inode,
                path: PathBuf::from(OsStr::from_bytes(path)),
            })
        })
        .collect()
}

/// The listening, path-bound sockets of one `/proc/net/unix` table.
#[must_use]
pub fn parse_listening(table: &str) -> Vec<PathBuf> {
    parse_table(table.as_bytes())
        .into_iter()
        .filter(|r| r.flags & ACCEPTING != 0 && r.path.is_absolute())
        .map(|r| r.path)
        .collect()
}

/// The path is the rest of the line after seven columns, and may itself hold blanks.
fn path_column(line: &[u8]) -> Option<&[u8]> {
    let mut rest = line.trim_ascii_start();
    for _ in 0..7 {
        let end = rest.iter().position(|b| *b == b' ')?;
        rest = rest[end..].trim_ascii_start();
    }
    (!rest.is_empty()).then_some(rest)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TABLE: &str = "Num       RefCount Protocol Flags    Type St Inode Path\n\
        0000000000000000: 00000002 00000000 00010000 0001 01 31517 /var/lib/vhost_sockets/vhu0\n\
        0000000000000000: 00000003 00000000 00000000 0001 03 31518 /var/lib/vhost_sockets/vhu0\n\
        0000000000000000: 00000002 00000000 00010000 0001 01 20110 @/tmp/.X11-unix/X0\n\
        0000000000000000: 00000002 00000000 00010000 0001 01 20111 /run/with space/sock\n\
        0000000000000000: 00000002 00000000 00000000 0002 01 20112\n";

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("unix-sockets-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn only_listening_path_sockets_count() {
        assert_eq!(
            parse_listening(TABLE),
            vec![
                PathBuf::from("/var/lib/vhost_sockets/vhu0"),
                PathBuf::from("/run/with space/sock")
            ]
        );
    }

    #[test]
    fn a_path_that_is_not_utf8_does_not_hide_the_table() {
        let mut table = TABLE.as_bytes().to_vec();
        table.extend_from_slice(
            b"0000000000000000: 00000002 00000000 00010000 0001 01 20113 /tmp/bad-\xff-name\n",
        );
        assert_eq!(parse_table(&table).len(), 4);
    }

    #[test]
    fn a_socket_this_test_listens_on_is_seen() {
        let dir = scratch("seen");
        let path = dir.join("listening");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(listening_paths(Path::new("/proc")).contains(&path));
        let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let (_accepted, _) = listener.accept().unwrap();
        let table = socket_table(Path::new("/proc"));
        assert_eq!(table.peers_of(&path), 1, "one accepted peer, counted once");
        drop(listener);
        assert!(
            !socket_table(Path::new("/proc")).may_be_listening(&path),
            "a closed listener leaves a stale file"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_listener_reached_through_a_link_is_still_listening() {
        let dir = scratch("link");
        std::fs::create_dir_all(dir.join("real")).unwrap();
        std::os::unix::fs::symlink(dir.join("real"), dir.join("alias")).unwrap();
        let _listener = std::os::unix::net::UnixListener::bind(dir.join("real/vhu1")).unwrap();
        let table = socket_table(Path::new("/proc"));
        assert!(table.may_be_listening(&dir.join("alias/vhu1")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_probe_tells_listening_stale_and_missing_apart() {
        let dir = scratch("probe");
        let path = dir.join("vhu");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert_eq!(probe(&path), Probe::Accepted);
        drop(listener);
        assert_eq!(
            probe(&path),
            Probe::Refused,
            "the file a closed listener leaves"
        );
        assert_eq!(probe(&dir.join("missing")), Probe::Missing);
        std::fs::write(dir.join("file"), "").unwrap();
        assert_eq!(probe(&dir.join("file")), Probe::Refused);
        let long = dir.join("x".repeat(120));
        assert_eq!(
            probe(&long),
            Probe::Unknown,
            "longer than a socket address holds"
        );
        let table = sockets_in_use(Path::new("/proc"), &[]);
        assert!(!table.in_use(&path));
        assert!(!table.in_use(&dir.join("missing")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_listener_in_a_namespace_no_process_is_in_is_in_use() {
        let dir = scratch("netns");
        let path = dir.join("vhu-hidden");
        let listener = test_support::listener_in_an_abandoned_netns(&path);
        let table = sockets_in_use(Path::new("/proc"), &[]);
        // The tables cannot show it...
        assert!(!table.may_be_listening(&path));
        // ...but it answers.
        assert!(table.in_use(&path));
        drop(listener);
        assert!(!sockets_in_use(Path::new("/proc"), &[]).in_use(&path));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_socket_a_running_qemu_names_is_in_use() {
        let dir = scratch("named");
        let path = dir.join("vhu-named");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let process = crate::procfs::Process {
            pid: 1,
            name: "qemu-kvm".to_owned(),
            uid: 107,
            gid: 107,
            groups: vec![],
        };
        let qemu = crate::qemu_procs::from_args(
            process,
            &[
                "qemu-system-x86_64".to_owned(),
                "-chardev".to_owned(),
                format!("socket,id=c0,path={},server=on", path.display()),
                "-netdev".to_owned(),
                "vhost-user,chardev=c0,id=n0".to_owned(),
            ],
        );
        assert_eq!(qemu.vhost_user.len(), 1, "{qemu:?}");
        assert!(sockets_in_use(Path::new("/proc"), &[qemu]).in_use(&path));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_its_own_table_nothing_is_certain() {
        let table = socket_table(&scratch("no-proc"));
        assert!(table.may_be_listening(Path::new("/nowhere/sock")));
    }
}
