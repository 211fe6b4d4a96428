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
    let mut tables = vec![proc_root.join("net/unix")];
    tables.extend(
        one_pid_per_netns(proc_root)
            .into_iter()
            .map(|pid| proc_root.join(pid).join("net/unix")),
    );
    tables
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| parse_listening(&text))
        .collect()
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

/// The listening, path-bound sockets of one `/proc/net/unix` table. Columns: `Num RefCount
/// Protocol Flags Type St Inode Path`; abstract sockets (`@name`) have no file to match.
#[must_use]
pub fn parse_listening(table: &str) -> Vec<PathBuf> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let flags = u32::from_str_radix(line.split_whitespace().nth(3)?, 16).ok()?;
            let path = path_column(line)?;
            (flags & ACCEPTING != 0 && path.starts_with('/')).then(|| PathBuf::from(path))
        })
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
        drop(listener);
        assert!(
            !listening_paths(Path::new("/proc")).contains(&path),
            "a closed listener leaves a stale file"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
