//! The sockets in the directory: each must belong to the shared group and be group
//! read-write, or QEMU and ovs-vswitchd cannot both open it. Stale ones (nobody listening)
//! may be removed.

use std::collections::BTreeMap;
use std::path::Path;

use ansible_module::{Ctx, Failure, ModuleResult};
use serde::Serialize;
use serde_json::{Value, json};
use vhostuser::nofollow::{Dir, Entry, EntryHandle, Kind, Place, mode_text};
use vhostuser::qemu_procs::qemu_processes;
use vhostuser::unix_sockets::{SocketTable, sockets_in_use};
use vhostuser::{Roots, identity};

use crate::wanted::{SocketPolicy, Wanted};

const GROUP_RW: u32 = 0o060;

/// One socket as the result reports it (its state after the run).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SocketReport {
    pub path: String,
    pub owner: String,
    pub group: String,
    pub mode: String,
    pub listening: bool,
    /// What was (or in check mode would be) changed: `group`, `mode`.
    pub changed: Vec<&'static str>,
    pub removed: bool,
    /// What is still wrong with it.
    pub problems: Vec<String>,
    #[serde(skip)]
    before: (String, String),
}

impl SocketReport {
    pub(crate) fn from_entry(path: &Path, entry: &Entry, listening: bool) -> SocketReport {
        let group = identity::group_name(entry.stat.st_gid);
        let mode = mode_text(entry.stat.st_mode);
        SocketReport {
            path: path.display().to_string(),
            owner: identity::user_name(entry.stat.st_uid),
            before: (group.clone(), mode.clone()),
            group,
            mode,
            listening,
            changed: vec![],
            removed: false,
            problems: vec![],
        }
    }
}

/// Something in the directory that is not a socket, left alone.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Skipped {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub reason: String,
}

/// Who uses which socket, by the library's one rule (the kernel's tables, the sockets running
/// QEMUs name, and a `connect()` before anything is called stale).
pub(crate) fn in_use(roots: &Roots) -> SocketTable {
    sockets_in_use(&roots.proc, &qemu_processes(&roots.proc))
}

/// What a directory entry is, in a message.
pub(crate) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Socket => "socket",
        Kind::Symlink => "symbolic link",
        Kind::File => "regular file",
        Kind::Directory => "directory",
        Kind::Other => "special file",
    }
}

/// Checks (and with `sockets: fix` repairs) every socket; removes stale ones on request.
pub(crate) fn reconcile(
    dir: &Dir,
    wanted: &Wanted,
    ctx: &Ctx,
    result: &mut ModuleResult,
) -> Result<(Vec<SocketReport>, Vec<Skipped>, bool), Failure> {
    let entries = dir
        .entries()
        .map_err(|e| Failure::new(format!("could not list {}: {e}", dir.path.display())))?;
    let table = in_use(&wanted.roots);
    let place = dir
        .place()
        .map_err(|e| Failure::new(format!("could not stat {}: {e}", dir.path.display())))?;
    let (mut reports, mut skipped, mut changed) = (Vec::new(), Vec::new(), false);
    for listed in &entries {
        let path = dir.path.join(&listed.name);
        let kind = listed.kind;
        if kind != Kind::Socket {
            let reason = if kind == Kind::Symlink {
                "a symbolic link: never followed, left alone".to_owned()
            } else {
                format!("a {}, not a socket: left alone", kind_name(kind))
            };
            result.warn(format!("{}: {reason}", path.display()));
            skipped.push(Skipped {
                path: path.display().to_string(),
                kind,
                reason,
            });
            continue;
        }
        // Everything below goes through this descriptor, checked first: a socket swapped for a
        // hard link to one outside the directory is never what gets changed.
        let Some((handle, entry)) = checked(dir, &place, listed, &path, &mut skipped, result)?
        else {
            continue;
        };
        let mut report = SocketReport::from_entry(&path, &entry, table.in_use(&path));
        if !report.listening && wanted.remove_stale {
            report.removed = true;
            changed = true;
            if !ctx.check_mode {
                dir.remove(&entry).map_err(|e| {
                    Failure::new(format!("could not remove {}: {e}", path.display()))
                })?;
            }
        } else {
            changed |= reconcile_socket(&handle, &entry, &mut report, wanted, wanted.sockets, ctx)?;
        }
        reports.push(report);
    }
    let troubled: Vec<&str> = reports
        .iter()
        .filter(|r| !r.problems.is_empty() && !r.removed)
        .map(|r| r.path.as_str())
        .collect();
    if !troubled.is_empty() {
        result.warn(format!(
            "{} socket(s) need attention: {} (see sockets[].problems; sockets: fix repairs group and mode, \
             remove_stale: true removes stale ones)",
            troubled.len(),
            troubled.join(", ")
        ));
    }
    Ok((reports, skipped, changed))
}

/// Opens a listed socket and checks it through the descriptor: still a socket, in the
/// directory's mount, with no other name. `None` (with the reason in `skipped` and a warning)
/// when it is to be left alone, or is gone. The entry returned has the descriptor's stat.
fn checked(
    dir: &Dir,
    place: &Place,
    listed: &Entry,
    path: &Path,
    skipped: &mut Vec<Skipped>,
    result: &mut ModuleResult,
) -> Result<Option<(EntryHandle, Entry)>, Failure> {
    let handle = match dir.entry(listed) {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::new(format!(
                "could not open {}: {e}",
                path.display()
            )));
        }
    };
    let stat = handle
        .stat()
        .map_err(|e| Failure::new(format!("could not stat {}: {e}", path.display())))?;
    let outside = place
        .contains(&handle, &stat)
        .map_err(|e| Failure::new(format!("could not check {}: {e}", path.display())))?;
    if let Some(why) = outside {
        let reason = format!("{why}: left alone");
        result.warn(format!("{}: {reason}", path.display()));
        skipped.push(Skipped {
            path: path.display().to_string(),
            kind: Kind::Socket,
            reason,
        });
        return Ok(None);
    }
    let entry = Entry {
        stat,
        ..listed.clone()
    };
    Ok(Some((handle, entry)))
}

fn reconcile_socket(
    handle: &EntryHandle,
    entry: &Entry,
    report: &mut SocketReport,
    wanted: &Wanted,
    policy: SocketPolicy,
    ctx: &Ctx,
) -> Result<bool, Failure> {
    if !report.listening {
        report
            .problems
            .push("stale: nobody listens on it (left by a VM or process that is gone)".into());
    }
    let stat = &entry.stat;
    let wrong_group = stat.st_gid != wanted.group.gid;
    let wrong_mode = stat.st_mode & GROUP_RW != GROUP_RW;
    if !wrong_group && !wrong_mode {
        return Ok(false);
    }
    if policy == SocketPolicy::Check {
        if wrong_group {
            report.problems.push(format!(
                "group {}, not {}: a process of the other side cannot open it",
                report.group, wanted.group.name
            ));
        }
        if wrong_mode {
            report.problems.push(format!(
                "mode {}: the group cannot read and write it",
                report.mode
            ));
        }
        return Ok(false);
    }
    let new_mode = (stat.st_mode & 0o7777) | GROUP_RW;
    if !ctx.check_mode {
        if wrong_group {
            handle.chown(None, Some(wanted.group.gid)).map_err(|e| {
                Failure::new(format!(
                    "could not change the group of {}: {e}",
                    report.path
                ))
            })?;
        }
        // Always after chown, which may clear set-id bits.
        handle.chmod(new_mode).map_err(|e| {
            Failure::new(format!("could not change the mode of {}: {e}", report.path))
        })?;
    }
    if wrong_group {
        report.changed.push("group");
        report.group.clone_from(&wanted.group.name);
    }
    if wrong_mode {
        report.changed.push("mode");
        report.mode = mode_text(new_mode);
    }
    Ok(true)
}

/// `{path: {group, mode}}` before or after, for the diff.
pub(crate) fn diff_view(reports: &[SocketReport], after: bool) -> Value {
    let map: BTreeMap<&str, Value> = reports
        .iter()
        .filter(|r| !(after && r.removed))
        .map(|r| {
            let (group, mode) = if after {
                (&r.group, &r.mode)
            } else {
                (&r.before.0, &r.before.1)
            };
            (r.path.as_str(), json!({"group": group, "mode": mode}))
        })
        .collect();
    json!(map)
}
