//! `nfv.vhostuser.ovs_user`: `OVS_USER_ID="user:group"` in `/etc/sysconfig/openvswitch`, the
//! identity ovsdb-server and ovs-vswitchd drop to at start, and on request the ownership of
//! Open vSwitch's own directories to match (what the RPM's `%post` and TripleO's one-shot
//! fix-permissions unit do). For `dpdkvhostuserclient` ports the group must be the one QEMU's
//! sockets carry (`hugetlbfs`), or ovs-vswitchd cannot open them.

use std::path::PathBuf;

use ansible_module::{
    ArgSpec, Ctx, Diff, Edit, Failure, FileEdit, Kind, Lit, Missing, ModuleResult, Opt, unparsable,
};
use serde_json::json;
use vhostuser::identity::{self, Account, GroupInfo};
use vhostuser::nofollow::{TreeChange, chown_tree};
use vhostuser::procfs::processes_named;
use vhostuser::{Roots, SAMPLE_SIZE, sysconfig};

mod wanted;

pub use wanted::Params;
use wanted::{Wanted, wanted};

const KEY: &str = "OVS_USER_ID";

const OPTIONS: &[Opt] = &[
    Opt::new("path", Kind::Path).default(Lit::Str("/etc/sysconfig/openvswitch")),
    Opt::new("user", Kind::Str).default(Lit::Str("openvswitch")),
    Opt::new("group", Kind::Str).default(Lit::Str("hugetlbfs")),
    Opt::new("fix_ownership", Kind::Bool).default(Lit::Bool(false)),
    Opt::new("paths", Kind::List)
        .elements(Kind::Path)
        .default(Lit::StrList(&[
            "/etc/openvswitch",
            "/var/log/openvswitch",
            "/var/lib/openvswitch",
            "/run/openvswitch",
        ])),
    Opt::new("backup", Kind::Bool).default(Lit::Bool(false)),
];

/// The module's argument spec; `plugins/modules/ovs_user.yml` documents it.
pub const SPEC: ArgSpec = ArgSpec::new(OPTIONS);

/// The daemons read `OVS_USER_ID` only when they start: a running one with other ids keeps
/// them until it is restarted.
fn running_daemons_warnings(
    roots: &Roots,
    user: &Account,
    group: &GroupInfo,
    value: &str,
) -> Vec<String> {
    processes_named(&roots.proc, &["ovs-vswitchd", "ovsdb-server"])
        .into_iter()
        .filter(|p| p.uid != user.uid || !p.has_group(group.gid))
        .map(|p| {
            let groups: Vec<String> = p.groups.iter().map(|g| identity::group_name(*g)).collect();
            format!(
                "{} (pid {}) runs as {}:{} with groups [{}], not as {value}; it uses the new setting only \
                 after a restart (restarting Open vSwitch cuts every VM still on dpdkvhostuser ports)",
                p.name,
                p.pid,
                identity::user_name(p.uid),
                identity::group_name(p.gid),
                groups.join(", ")
            )
        })
        .collect()
}

fn fix_ownership(
    dirs: &[PathBuf],
    user: &Account,
    group: &GroupInfo,
    ctx: &Ctx,
    result: &mut ModuleResult,
) -> Result<TreeChange, Failure> {
    let mut total = TreeChange::default();
    for path in dirs {
        let dir = path.display();
        if std::fs::symlink_metadata(path).is_err() {
            result.warn(format!(
                "{dir} does not exist; its ownership was not checked"
            ));
            continue;
        }
        let change = chown_tree(path, user.uid, group.gid, !ctx.check_mode).map_err(|e| {
            // Entries before the failing one may have been re-owned already, and the file
            // rewritten: say so, and report the change.
            let mut partial = result.clone();
            let done = partial
                .msg
                .take()
                .map_or_else(String::new, |done| format!("; {done}"));
            partial.changed = partial.changed || !ctx.check_mode;
            Failure::with_result(
                format!(
                    "could not change the ownership under {dir}: {e}; entries before it may already be \
                     re-owned{done}"
                ),
                partial,
            )
        })?;
        total.count += change.count;
        let room = SAMPLE_SIZE.saturating_sub(total.sample.len());
        total.sample.extend(change.sample.into_iter().take(room));
        total.skipped.extend(change.skipped);
    }
    if !total.skipped.is_empty() {
        let shown: Vec<String> = total
            .skipped
            .iter()
            .take(SAMPLE_SIZE)
            .map(ToString::to_string)
            .collect();
        result.warn(format!(
            "left {} entr(ies) alone, since re-owning them would reach files outside the tree: {}",
            total.skipped.len(),
            shown.join(", ")
        ));
    }
    Ok(total)
}

/// What the edit of the file found, beyond its new content.
struct Found {
    before_value: Option<String>,
    rewritten_for_systemd: Option<String>,
    commented_duplicates: Vec<usize>,
    unparsed_lines: Vec<usize>,
}

/// Runs the module as Ansible calls it: arguments in, one JSON result out.
#[must_use]
pub fn run_module() -> std::process::ExitCode {
    ansible_module::run(&SPEC, |params, ctx| ensure(&params, ctx))
}

/// The module: set `OVS_USER_ID`, and optionally re-own the directories.
pub fn ensure(params: &Params, ctx: &mut Ctx) -> Result<ModuleResult, Failure> {
    ensure_in(params, ctx, &Roots::host())
}

/// [`ensure`] with `/proc` at `roots`.
pub fn ensure_in(params: &Params, ctx: &mut Ctx, roots: &Roots) -> Result<ModuleResult, Failure> {
    let wanted = wanted(params)?;
    set_user_id(&wanted, ctx, roots)
}

/// Sets `OVS_USER_ID` in the file, then re-owns the directories, as `wanted` says.
fn set_user_id(wanted: &Wanted, ctx: &mut Ctx, roots: &Roots) -> Result<ModuleResult, Failure> {
    let (user, group) = (&wanted.user, &wanted.group);
    let value = wanted.value();
    let path = wanted.path.as_path();
    let display = path.display().to_string();
    let file = FileEdit {
        path,
        what: "the sysconfig file",
        new_mode: 0o644,
        backup: wanted.backup,
        missing: Missing::Refuse(format!(
            "could not read {display}: it does not exist; it is installed by the openvswitch package \
             (RHEL and derivatives)"
        )),
    };
    let mut result = ModuleResult::new(false);
    let edited = ctx.edit_file(&file, &mut result, |before| {
        let original = before.unwrap_or_default();
        let parsed = sysconfig::parse(original).map_err(|e| unparsable(path, e))?;
        let edited = sysconfig::set(original, KEY, &value)
            .map_err(|e| Failure::new(format!("{display}: {e}")))?;
        Ok(Edit {
            content: edited.changed.then_some(edited.content),
            outcome: Found {
                before_value: parsed.get(KEY).map(|a| a.value.clone()),
                rewritten_for_systemd: edited.rewritten_for_systemd,
                commented_duplicates: edited.commented_duplicates,
                unparsed_lines: parsed.unparsed_lines().to_vec(),
            },
        })
    })?;
    let found = edited.outcome;
    result.changed = edited.changed;
    if !identity::is_member(user, group) {
        result.warn(format!(
            "user {u} is not a member of group {g}: ovs-vswitchd and ovsdb-server refuse to start with \
             OVS_USER_ID={u}:{g} (\"Invalid --user option ... user {u} is not in group {g}, aborting\"); \
             add it with usermod -a -G {g} {u}, as the openvswitch RPM does",
            u = user.name,
            g = group.name
        ));
    }
    if let Some(reason) = &found.rewritten_for_systemd {
        result.warn(format!(
            "{display}: rewrote {KEY} although sh read the right value: {reason}, and the Open vSwitch \
             units read this file through systemd"
        ));
    }
    for line in &found.commented_duplicates {
        result.warn(format!(
            "{display}: commented out {KEY} on line {line}: only the last assignment counts, so it only misled readers"
        ));
    }
    for line in &found.unparsed_lines {
        result.warn(format!(
            "{display}: line {line} is not a plain shell assignment, and sh and systemd read such lines \
             differently; check it by hand"
        ));
    }
    for warning in running_daemons_warnings(roots, user, group, &value) {
        result.warn(warning);
    }
    let set_msg = |ctx: &Ctx| {
        format!(
            "{KEY}={value}{}; restart openvswitch for it to take effect",
            if ctx.check_mode {
                " would be set"
            } else {
                " set"
            }
        )
    };
    if edited.changed && !ctx.check_mode {
        // What a failure of the re-owning below must report as done.
        result.msg = Some(format!("{KEY}={value} was already set in {display}"));
    }
    let ownership = fix_ownership(&wanted.ownership_dirs, user, group, ctx, &mut result)?;
    if ownership.count > 0 {
        result.changed = true;
        result.diff.push(Diff {
            before: json!({"ownership": format!("not {value}"), "entries": ownership.sample}),
            after: json!({"ownership": value, "entries": ownership.sample}),
            before_header: Some("ownership".into()),
            after_header: Some("ownership".into()),
        });
    }
    result
        .set("path", &display)
        .set(
            "ovs_user_id",
            json!({"before": found.before_value, "after": value}),
        )
        .set("ownership_changed", ownership.count)
        .set("ownership_sample", &ownership.sample);
    result.msg = result.changed.then(|| set_msg(ctx));
    Ok(result)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod ensure_tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use serde_json::{Value, json};

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ovs_user-ensure-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn params(conf: &Path) -> Params {
        let raw = json!({"path": conf, "user": "root", "group": "root"});
        let validated = ansible_module::validate(&SPEC, raw.as_object().unwrap().clone(), false)
            .expect("valid options");
        serde_json::from_value(Value::Object(validated.params)).unwrap()
    }

    /// A made-up `/proc` holding, or not, an ovs-vswitchd that runs as nobody.
    fn roots(dir: &Path, daemon: bool) -> Roots {
        let proc = dir.join(format!("proc-{daemon}"));
        std::fs::create_dir_all(&proc).unwrap();
        if daemon {
            let pid = proc.join("4242");
            std::fs::create_dir_all(&pid).unwrap();
            std::fs::write(
                pid.join("status"),
                "Name:\tovs-vswitchd\nUid:\t65534\t65534\t65534\t65534\n\
                 Gid:\t65534\t65534\t65534\t65534\nGroups:\t65534\n",
            )
            .unwrap();
        }
        Roots {
            proc,
            sys: dir.join("sys"),
        }
    }

    #[test]
    fn a_daemon_running_with_other_ids_is_found_where_proc_is_said_to_be() {
        let dir = scratch("proc");
        let conf = dir.join("openvswitch");
        for daemon in [false, true] {
            std::fs::write(&conf, "#OVS_USER_ID=\"openvswitch:openvswitch\"\n").unwrap();
            let result = ensure_in(&params(&conf), &mut Ctx::default(), &roots(&dir, daemon))
                .unwrap()
                .to_json(false, false, &BTreeSet::new());
            assert_eq!(result["changed"], json!(true), "{result}");
            let warned = result["warnings"]
                .as_array()
                .is_some_and(|w| w.iter().any(|w| w.as_str().unwrap().contains("(pid 4242)")));
            assert_eq!(warned, daemon, "{result}");
            assert_eq!(
                std::fs::read_to_string(&conf).unwrap(),
                "OVS_USER_ID=\"root:root\"\n"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
