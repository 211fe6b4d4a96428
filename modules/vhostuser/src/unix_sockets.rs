//! Which unix socket paths someone listens on, from the kernel's socket tables.
//!
//! `/proc/net/unix` lists only the sockets of the reader's network namespace, and
//! ovs-vswitchd or QEMU may run in another one, so the table of one process per namespace is
//! read. Nothing connects to a socket to find out: a vhost-user server would take the probe
//! for its peer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `__SO_ACCEPTCON`: the socket is listening.
const ACCEPTING: u32 = 0x0001_0000;

/// Paths bound by listening unix sockets in every network namespace this process can see.
#[must_use]
pub fn listening_paths(proc_root: &Path) -> BTreeSet<PathBuf> {
    socket_table(proc_root).listening
}

/// What the kernel's tables say about path-bound unix sockets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketTable {
    /// Paths someone listens on.
    pub listening: BTreeSet<PathBuf>,
    /// For each listening path, how many connections it has accepted (its peers).
    pub peers: BTreeMap<PathBuf, usize>,
}

/// The listening sockets and their accepted connections, from one table per network
/// namespace. A table may be read twice (this process's namespace is also some pid's), so
/// sockets are counted once by inode.
#[must_use]
pub fn socket_table(proc_root: &Path) -> SocketTable {
    let mut tables = vec![proc_root.join("net/unix")];
    tables.extend(
        one_pid_per_netns(proc_root)
            .into_iter()
            .map(|pid| proc_root.join(pid).join("net/unix")),
    );
    let mut seen: BTreeMap<u64, Row> = BTreeMap::new();
    for text in tables
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
    {
        for row in parse_table(&text) {
            seen.entry(row.inode).or_insert(row);
        }
    }
    let mut table = SocketTable::default();
    for row in seen.into_values() {
        if row.flags & ACCEPTING != 0 {
            table.listening.insert(row.path);
        } else if row.state == CONNECTED {
            *table.peers.entry(row.path).or_default() += 1;
        }
    }
    table.peers.retain(|path, _| table.listening.contains(path));
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

/// `SS_CONNECTED`: an accepted connection, which carries the listener's path.
const CONNECTED: u8 = 3;

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
fn parse_table(table: &str) -> Vec<Row> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            let flags = u32::from_str_radix(columns.get(3)?, 16).ok()?;
            let state = u8::from_str_radix(columns.get(5)?, 16).ok()?;
            let inode = columns.get(6)?.parse().ok()?;
            let path = path_column(line)?;
            path.starts_with('/').then(|| Row {
                flags,
                state,
                inode,
                path: PathBuf::from(path),
            })
        })
        .collect()
}

/// The listening, path-bound sockets of one `/proc/net/unix` table.
#[must_use]
pub fn parse_listening(table: &str) -> Vec<PathBuf> {
    parse_table(table)
        .into_iter()
        .filter(|r| r.flags & ACCEPTING != 0)
        .map(|r| r.path)
        .collect()
}

/// The path is the rest of the line after seven columns, and may itself hold blanks.
fn path_column(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    for _ in 0..7 {
        let end = rest.find(' ')?;
        rest = rest[end..].trim_start();
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
    fn a_socket_this_test_listens_on_is_seen() {
        let dir = std::env::temp_dir().join(format!("unix-sockets-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("listening");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(listening_paths(Path::new("/proc")).contains(&path));
        let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let (_accepted, _) = listener.accept().unwrap();
        assert_eq!(
            socket_table(Path::new("/proc")).peers.get(&path),
            Some(&1),
            "one accepted peer, counted once"
        );
        drop(listener);
        assert!(
            !listening_paths(Path::new("/proc")).contains(&path),
            "a closed listener leaves a stale file"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
