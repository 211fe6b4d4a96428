//! Running processes whose ids are not what the configuration says: a daemon keeps the user
//! and groups it started with, whatever `OVS_USER_ID`, qemu.conf or `/etc/group` say now.

use super::common::{Ctx, push};
use crate::audit::checks::CheckId;
use crate::audit::finding::{
    Finding,
    Severity::{Error, Warning},
};
use crate::procfs::Process;

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    daemons(ctx, out);
    qemus(ctx, out);
}

fn ids(p: &Process) -> String {
    let groups: Vec<String> = p.groups.iter().map(ToString::to_string).collect();
    format!(
        "uid {}, gid {}, groups [{}]",
        p.uid,
        p.gid,
        groups.join(" ")
    )
}

fn daemons(ctx: &Ctx, out: &mut Vec<Finding>) {
    let Some((user, group)) = &ctx.ovs_ids else {
        return;
    };
    let root = user == "root";
    // Without the user's uid (it does not exist here), a non-root user must at least not be root.
    let uid_wanted: Option<u32> = if root {
        Some(0)
    } else {
        ctx.facts.accounts.ovs_uid.or_else(|| user.parse().ok())
    };
    // ovs-ctl passes --user only for a non-root user; as root the group is not changed.
    let gid_of_group = if root {
        None
    } else {
        ctx.facts.accounts.ovs_group_gid
    };
    for daemon in &ctx.facts.daemons {
        let uid_wrong = uid_wanted.map_or(daemon.uid == 0, |uid| daemon.uid != uid);
        let gid_wrong = gid_of_group.is_some_and(|gid| !daemon.has_group(gid));
        if !uid_wrong && !gid_wrong {
            continue;
        }
        let want = match gid_of_group {
            Some(gid) => format!("{user}:{group} (gid {gid})"),
            None => format!("{user}:{group}"),
        };
        push(
            out,
            CheckId::VswitchdStaleIds,
            Error,
            format!("{} (pid {})", daemon.name, daemon.pid),
            format!(
                "{name} (pid {pid}) runs with {have}, but OVS_USER_ID says {want}. The setting \
                 (or the group's GID) changed after it started, and a running process keeps \
                 its old ids: until it restarts it cannot open sockets that QEMU creates with \
                 the shared group, so dpdkvhostuserclient ports stay disconnected.",
                name = daemon.name,
                pid = daemon.pid,
                have = ids(daemon)
            ),
            "restart Open vSwitch (systemctl restart openvswitch) in a maintenance window; it \
             cuts every VM still on dpdkvhostuser ports (see restart_cuts_vms)",
        );
    }
}

fn qemus(ctx: &Ctx, out: &mut Vec<Finding>) {
    let conf = &ctx.facts.qemu_conf;
    let (Some(group), Some(gid)) = (conf.group.as_deref(), ctx.facts.accounts.qemu_group_gid)
    else {
        return;
    };
    for qemu in &ctx.facts.qemus {
        if qemu.process.has_group(gid) {
            continue;
        }
        let who = qemu.guest.as_deref().map_or_else(
            || format!("pid {}", qemu.process.pid),
            |g| format!("{g} (pid {})", qemu.process.pid),
        );
        push(
            out,
            CheckId::QemuStaleIds,
            Warning,
            who.as_str(),
            format!(
                "QEMU of {who} runs with {have}, without qemu.conf's group {group} (gid {gid}). \
                 It started before qemu.conf changed (or before the group's GID changed) and \
                 keeps its old group until the VM restarts: sockets it creates (at a reconnect \
                 or hotplug) get the old group, which Open vSwitch may not open.",
                have = ids(&qemu.process)
            ),
            "restart the VM when convenient (on OpenStack: nova stop/start, or a cold \
             migration when the port type changes too); not urgent while its ports are \
             connected",
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::fixture::{healthy, only};
    use crate::audit::checks::CheckId;

    #[test]
    fn vswitchd_still_root_after_ovs_user_id_changed() {
        let (mut facts, expected) = healthy();
        facts.daemons[1].uid = 0;
        facts.daemons[1].gid = 0;
        facts.daemons[1].groups.clear();
        let found = only(&facts, &expected, CheckId::VswitchdStaleIds);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "ovs-vswitchd (pid 901)");
        assert!(found[0].message.contains("uid 0, gid 0"));
    }

    #[test]
    fn vswitchd_with_old_gid_after_groupmod() {
        let (mut facts, expected) = healthy();
        for d in &mut facts.daemons {
            d.gid = 987;
            d.groups = vec![987];
        }
        assert_eq!(only(&facts, &expected, CheckId::VswitchdStaleIds).len(), 2);
    }

    #[test]
    fn vswitchd_non_root_while_configured_root() {
        let (mut facts, expected) = healthy();
        facts.sysconfig.ovs_user_id = None;
        assert_eq!(only(&facts, &expected, CheckId::VswitchdStaleIds).len(), 2);
    }

    #[test]
    fn vswitchd_matching_is_fine() {
        let (mut facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::VswitchdStaleIds).is_empty());
        facts.sysconfig.ovs_user_id = Some("root:root".into());
        for d in &mut facts.daemons {
            (d.uid, d.gid, d.groups) = (0, 0, Vec::new());
        }
        assert!(only(&facts, &expected, CheckId::VswitchdStaleIds).is_empty());
    }

    #[test]
    fn qemu_without_the_group() {
        let (mut facts, expected) = healthy();
        facts.qemus[0].process.gid = 107;
        facts.qemus[0].process.groups = vec![107, 36];
        let found = only(&facts, &expected, CheckId::QemuStaleIds);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "instance-00000001 (pid 2001)");
    }

    #[test]
    fn qemu_with_the_group_as_supplementary_is_fine() {
        let (mut facts, expected) = healthy();
        facts.qemus[0].process.gid = 107;
        facts.qemus[0].process.groups = vec![107, 42477];
        assert!(only(&facts, &expected, CheckId::QemuStaleIds).is_empty());
    }
}
