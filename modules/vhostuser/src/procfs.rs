//! Running processes as `/proc` shows them: what the node really runs, as opposed to what its
//! files say it should run after the next restart.

use std::path::Path;

/// A process's identity: real user and group, and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// Every process whose `Name` (the kernel's 15-byte command name) is one of `names`. Processes
/// that exit during the scan are skipped: that is normal, not an error.
#[must_use]
pub fn processes_named(proc_root: &Path, names: &[&str]) -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut found: Vec<Process> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let status =
                std::fs::read_to_string(proc_root.join(pid.to_string()).join("status")).ok()?;
            parse_status(pid, &status).filter(|p| names.contains(&p.name.as_str()))
        })
        .collect();
    found.sort_by_key(|p| p.pid);
    found
}

/// Reads `Name`, the real ids of `Uid`/`Gid`, and `Groups` from `/proc/<pid>/status`.
#[must_use]
pub fn parse_status(pid: u32, status: &str) -> Option<Process> {
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
    };
    let first_id = |key: &str| field(key)?.split_whitespace().next()?.parse::<u32>().ok();
    Some(Process {
        pid,
        name: field("Name")?.to_owned(),
        uid: first_id("Uid")?,
        gid: first_id("Gid")?,
        groups: field("Groups")
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|g| g.parse().ok())
            .collect(),
    })
}

/// The process's umask (`Umask:` of `/proc/<pid>/status`, Linux 4.7 and later).
#[must_use]
pub fn umask(proc_root: &Path, pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(proc_root.join(pid.to_string()).join("status")).ok()?;
    status.lines().find_map(|l| {
        let value = l.strip_prefix("Umask:")?.trim();
        u32::from_str_radix(value, 8).ok()
    })
}

/// When the process started, in clock ticks after boot (field 22 of `/proc/<pid>/stat`): with
/// the pid, it tells one process from a later one that reuses the pid.
#[must_use]
pub fn start_time(proc_root: &Path, pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl Process {
    /// Whether the process holds `gid`, as its group or a supplementary one.
    #[must_use]
    pub fn has_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tovs-vswitchd\nUmask:\t0002\nState:\tS (sleeping)\nTgid:\t812\n\
        Uid:\t993\t993\t993\t993\nGid:\t42477\t42477\t42477\t42477\nFDSize:\t128\nGroups:\t42477 107 \n";

    #[test]
    fn this_process_has_a_umask_and_a_stable_start_time() {
        let proc_root = Path::new("/proc");
        let pid = std::process::id();
        let mask = umask(proc_root, pid).unwrap();
        assert!(mask <= 0o777, "{mask:o}");
        let started = start_time(proc_root, pid).unwrap();
        assert_eq!(start_time(proc_root, pid), Some(started));
        assert_eq!(start_time(proc_root, u32::MAX), None);
    }

    #[test]
    fn status_gives_real_ids_and_groups() {
        let p = parse_status(812, STATUS).unwrap();
        assert_eq!(
            (p.name.as_str(), p.uid, p.gid),
            ("ovs-vswitchd", 993, 42477)
        );
        assert_eq!(p.groups, vec![42477, 107]);
        assert!(p.has_group(107) && !p.has_group(0));
        assert!(parse_status(1, "Name:\tx\n").is_none());
    }

    /// A process that exits between the listing and the read leaves a pid directory without a
    /// readable status: it is skipped, and the others are still found.
    #[test]
    fn a_process_that_vanishes_mid_scan_is_skipped() {
        let root = std::env::temp_dir().join(format!("procfs-vanish-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("812")).unwrap();
        std::fs::write(root.join("812/status"), STATUS).unwrap();
        std::fs::create_dir_all(root.join("813")).unwrap();
        std::fs::create_dir_all(root.join("self")).unwrap();
        let found = processes_named(&root, &["ovs-vswitchd"]);
        assert_eq!(found.iter().map(|p| p.pid).collect::<Vec<_>>(), vec![812]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn this_process_is_found_by_name() {
        let me = std::fs::read_to_string("/proc/self/status").unwrap();
        let name = parse_status(0, &me).unwrap().name;
        let found = processes_named(Path::new("/proc"), &[name.as_str()]);
        assert!(found.iter().any(|p| p.pid == std::process::id()));
    }
}
