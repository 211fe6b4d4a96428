//! The socket directory itself: created, owned, moded and labelled, or removed when empty of
//! anything in use.

use std::path::Path;

use ansible_module::{Ctx, Failure, ModuleResult};
use serde::Serialize;
use vhostuser::nofollow::{Dir, Kind, OpenError, mode_text};
use vhostuser::{identity, selinux};

use crate::sockets::{self, Skipped, SocketReport, kind_name};
use crate::wanted::Wanted;

/// What a run did, for the result and the diff.
pub(crate) struct Outcome {
    pub changed: bool,
    pub before: DirState,
    pub after: DirState,
    pub sockets: Vec<SocketReport>,
    pub skipped: Vec<Skipped>,
}

/// The directory as `before`/`after` report it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct DirState {
    pub exists: bool,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub mode: Option<String>,
    pub setype: Option<String>,
}

fn fail_io(what: &str, path: &Path, e: &std::io::Error) -> Failure {
    Failure::new(format!("could not {what} {}: {e}", path.display()))
}

fn open(path: &Path) -> Result<Option<Dir>, Failure> {
    match Dir::open(path) {
        Ok(dir) => Ok(Some(dir)),
        Err(OpenError::Missing) => Ok(None),
        Err(OpenError::Symlink) => Err(Failure::new(format!(
            "{} is a symbolic link; vhostuser_socket never follows links (a link here can hand \
             the sockets to another directory): replace it with a real directory",
            path.display()
        ))),
        Err(OpenError::NotDirectory(kind)) => Err(Failure::new(format!(
            "{} exists and is a {}, not a directory; move it away first",
            path.display(),
            kind_name(kind)
        ))),
        Err(OpenError::Io(e)) => Err(fail_io("open", path, &e)),
    }
}

fn setype_of(context: Option<&str>) -> Option<String> {
    context.and_then(selinux::type_of).map(str::to_owned)
}

/// The directory as it is; its SELinux type only where labels matter (`selinux`).
fn state_of(dir: &Dir, selinux: bool) -> Result<DirState, Failure> {
    let stat = dir.stat().map_err(|e| fail_io("stat", &dir.path, &e))?;
    let context = if selinux {
        dir.selinux_context().unwrap_or(None)
    } else {
        None
    };
    Ok(DirState {
        exists: true,
        owner: Some(identity::user_name(stat.st_uid)),
        group: Some(identity::group_name(stat.st_gid)),
        mode: Some(mode_text(stat.st_mode)),
        setype: setype_of(context.as_deref()),
    })
}

fn wanted_state(wanted: &Wanted) -> DirState {
    DirState {
        exists: true,
        owner: Some(wanted.owner.name.clone()),
        group: Some(wanted.group.name.clone()),
        mode: Some(mode_text(wanted.mode)),
        setype: wanted
            .roots
            .selinux_enabled()
            .then(|| wanted.setype.clone()),
    }
}

/// Ownership, mode and label of an existing directory; returns whether anything differed.
fn reconcile_dir(dir: &Dir, wanted: &Wanted, ctx: &Ctx) -> Result<bool, Failure> {
    let stat = dir.stat().map_err(|e| fail_io("stat", &dir.path, &e))?;
    let mut changed = false;
    if stat.st_uid != wanted.owner.uid || stat.st_gid != wanted.group.gid {
        changed = true;
        if !ctx.check_mode {
            dir.chown(Some(wanted.owner.uid), Some(wanted.group.gid))
                .map_err(|e| fail_io("change the owner of", &dir.path, &e))?;
        }
    }
    // chown can clear the set-id bits, so the mode is compared and set after it.
    if changed || stat.st_mode & 0o7777 != wanted.mode {
        changed |= stat.st_mode & 0o7777 != wanted.mode;
        if !ctx.check_mode {
            dir.chmod(wanted.mode)
                .map_err(|e| fail_io("change the mode of", &dir.path, &e))?;
        }
    }
    if wanted.roots.selinux_enabled() {
        let context = dir
            .selinux_context()
            .map_err(|e| fail_io("read the SELinux label of", &dir.path, &e))?;
        if let Some(context) =
            context.filter(|c| setype_of(Some(c)).as_deref() != Some(wanted.setype.as_str()))
        {
            changed = true;
            let Some(relabelled) = selinux::with_type(&context, &wanted.setype) else {
                return Err(Failure::new(format!(
                    "{}: unexpected SELinux context '{context}'",
                    dir.path.display()
                )));
            };
            if !ctx.check_mode {
                dir.set_selinux_context(&relabelled).map_err(|e| {
                    fail_io(
                        &format!("set SELinux type {} on", wanted.setype),
                        &dir.path,
                        &e,
                    )
                })?;
            }
        }
    }
    Ok(changed)
}

pub(crate) fn ensure_present(
    wanted: &Wanted,
    ctx: &Ctx,
    result: &mut ModuleResult,
) -> Result<Outcome, Failure> {
    let path = wanted.dir();
    let selinux = wanted.roots.selinux_enabled();
    let existing = open(path)?;
    let before = existing
        .as_ref()
        .map_or_else(|| Ok(DirState::default()), |dir| state_of(dir, selinux))?;
    let Some(dir) = existing else {
        if ctx.check_mode {
            let after = wanted_state(wanted);
            return Ok(Outcome {
                changed: true,
                before,
                after,
                sockets: vec![],
                skipped: vec![],
            });
        }
        let dir = Dir::create(path, wanted.mode).map_err(|e| match e {
            OpenError::Io(e) => fail_io("create", path, &e),
            _ => Failure::new(format!(
                "{} changed while it was being created",
                path.display()
            )),
        })?;
        reconcile_dir(&dir, wanted, ctx)?;
        let after = state_of(&dir, selinux)?;
        return Ok(Outcome {
            changed: true,
            before,
            after,
            sockets: vec![],
            skipped: vec![],
        });
    };
    let mut changed = reconcile_dir(&dir, wanted, ctx)?;
    let (sockets, skipped, sockets_changed) = sockets::reconcile(&dir, wanted, ctx, result)?;
    changed |= sockets_changed;
    let after = if ctx.check_mode {
        wanted_state(wanted)
    } else {
        state_of(&dir, selinux)?
    };
    Ok(Outcome {
        changed,
        before,
        after,
        sockets,
        skipped,
    })
}

/// Removes the directory, but only when nothing in it is in use or unknown: a listening
/// socket is a running VM's network, and a file that is not a socket is someone's data.
pub(crate) fn ensure_absent(wanted: &Wanted, ctx: &Ctx) -> Result<Outcome, Failure> {
    let path = wanted.dir();
    let Some(dir) = open(path)? else {
        return Ok(Outcome {
            changed: false,
            before: DirState::default(),
            after: DirState::default(),
            sockets: vec![],
            skipped: vec![],
        });
    };
    let before = state_of(&dir, wanted.roots.selinux_enabled())?;
    let entries = dir.entries().map_err(|e| fail_io("list", path, &e))?;
    let table = sockets::in_use(&wanted.roots);
    let blockers: Vec<String> = entries
        .iter()
        .filter_map(|e| {
            let full = path.join(&e.name);
            match e.kind {
                Kind::Socket if table.in_use(&full) => {
                    Some(format!("{} (a socket in use)", e.name))
                }
                Kind::Socket => None,
                other => Some(format!("{} (a {})", e.name, kind_name(other))),
            }
        })
        .collect();
    if !blockers.is_empty() {
        return Err(Failure::new(format!(
            "{} was not removed: it still holds {}; stop the VMs using it and move other files away first",
            wanted.path,
            blockers.join(", ")
        )));
    }
    let mut sockets = Vec::new();
    for entry in &entries {
        let mut report = SocketReport::from_entry(&path.join(&entry.name), entry, false);
        report.removed = true;
        if !ctx.check_mode {
            dir.remove(entry)
                .map_err(|e| fail_io("remove", &path.join(&entry.name), &e))?;
        }
        sockets.push(report);
    }
    if !ctx.check_mode {
        dir.remove_self().map_err(|e| fail_io("remove", path, &e))?;
    }
    Ok(Outcome {
        changed: true,
        before,
        after: DirState::default(),
        sockets,
        skipped: vec![],
    })
}
