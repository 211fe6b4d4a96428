//! Users and groups: the user Open vSwitch runs as, the shared group (`hugetlbfs`) and its GID,
//! and whether Open vSwitch, QEMU and the socket directory agree on one group.

use super::common::{Ctx, describe_group, push};
use crate::audit::checks::CheckId;
use crate::audit::finding::{
    Finding,
    Severity::{Error, Info, Warning},
};
use crate::identity::LibvirtId;
use crate::nofollow::Kind;

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    ovs_user(ctx, out);
    shared_group(ctx, out);
    group_mismatch(ctx, out);
}

fn ovs_user(ctx: &Ctx, out: &mut Vec<Finding>) {
    let Some((user, group)) = &ctx.ovs_ids else {
        return;
    };
    let accounts = &ctx.facts.accounts;
    let expected = ctx.expected;
    let path = ctx.facts.sysconfig.path.as_str();
    if user == "root" {
        let how = if ctx.facts.sysconfig.ovs_user_id.is_some() {
            format!("OVS_USER_ID is {user}:{group}")
        } else {
            "OVS_USER_ID is not set, and the RPM default is root:root".to_owned()
        };
        push(
            out,
            CheckId::OvsRunsAsRoot,
            Info,
            "OVS_USER_ID",
            format!(
                "{how}: Open vSwitch runs as root. Client mode works that way (root opens any \
                 socket), but the usual hardened setup runs it as openvswitch:{group_name}, and \
                 then its group must match QEMU's.",
                group_name = expected.group
            ),
            format!(
                "optional: nfv.vhostuser.ovs_user user=openvswitch group={} \
                 fix_ownership=true, then restart openvswitch (mind restart_cuts_vms)",
                expected.group
            ),
        );
        return;
    }
    if !accounts.ovs_user_exists {
        push(
            out,
            CheckId::OvsUserMissing,
            Error,
            user.as_str(),
            format!(
                "OVS_USER_ID in {path} says {user}:{group}, but there is no user '{user}' on this \
                 host. ovs-ctl cannot switch to a user that does not exist, so Open vSwitch will \
                 not start at its next restart, taking every port down."
            ),
            format!(
                "create the user (the openvswitch RPM does: useradd -r openvswitch) and add it \
                 to {group}, or set OVS_USER_ID to an existing user with nfv.vhostuser.ovs_user"
            ),
        );
    }
    if accounts.ovs_group_gid.is_none() && *group != expected.group {
        // When it is the shared group, `hugetlbfs_missing` says so.
        push(
            out,
            CheckId::OvsGroupMissing,
            Error,
            group.as_str(),
            format!(
                "OVS_USER_ID in {path} says {user}:{group}, but there is no group '{group}' on \
                 this host. Open vSwitch will not start at its next restart."
            ),
            format!(
                "set OVS_USER_ID to {user}:{} with nfv.vhostuser.ovs_user (the group QEMU \
                 shares), or create the group",
                expected.group
            ),
        );
    }
    if accounts.ovs_user_exists && accounts.ovs_group_gid.is_some() && !accounts.ovs_user_in_group {
        push(
            out,
            CheckId::OvsUserNotInGroup,
            Error,
            format!("{user}:{group}"),
            format!(
                "OVS_USER_ID is {user}:{group}, but {user} is not a member of {group}. OvS \
                 refuses to run as a user:group pair where the user is not in the group, so \
                 ovs-vswitchd and ovsdb-server will not start at their next restart, and every \
                 port goes down."
            ),
            format!(
                "add the user to the group (ansible.builtin.user name={user} groups={group} \
                 append=true), then restart openvswitch"
            ),
        );
    }
}

fn shared_group(ctx: &Ctx, out: &mut Vec<Finding>) {
    let accounts = &ctx.facts.accounts;
    let expected = ctx.expected;
    let (name, want) = (expected.group.as_str(), expected.gid);
    match accounts.group_gid {
        None => push(
            out,
            CheckId::HugetlbfsMissing,
            Error,
            name,
            format!(
                "The group '{name}' does not exist on this host. QEMU (qemu.conf group) and \
                 Open vSwitch (OVS_USER_ID) must share it so that Open vSwitch can open the \
                 sockets QEMU creates; TripleO's containers also expect it, with GID {want}."
            ),
            format!(
                "create it with GID {want} (ansible.builtin.group name={name} gid={want}; \
                 playbooks/prepare.yml does this), then add the Open vSwitch user to it"
            ),
        ),
        Some(gid) if gid != want => push(
            out,
            CheckId::HugetlbfsGid,
            Warning,
            name,
            format!(
                "The group '{name}' has GID {gid} on this host, but the Kolla/TripleO \
                 containers resolve '{name}' to GID {want}. Sockets that QEMU creates inside \
                 nova_libvirt get GID {want}, which the host's Open vSwitch (running with GID \
                 {gid}) cannot open: the ports stay disconnected."
            ),
            format!(
                "change the GID to {want} (ansible.builtin.group name={name} gid={want}); \
                 groupmod does not re-own files, so re-own what still has GID {gid} (find / \
                 -xdev -gid {gid}: at least {socket_dir}, /dev/hugepages and the Open vSwitch \
                 directories), then restart Open vSwitch and the VMs, or reboot the node",
                socket_dir = expected.socket_dir
            ),
        ),
        Some(_) => {}
    }
    if let Some(holder) = accounts.gid_holder.as_deref().filter(|h| *h != name) {
        push(
            out,
            CheckId::GidCollision,
            Error,
            format!("gid {want}"),
            format!(
                "GID {want} belongs to the group '{holder}', not to '{name}'. Sockets created in \
                 the containers with '{name}' (GID {want}) appear on the host as '{holder}', \
                 and '{name}' cannot be given GID {want} while '{holder}' holds it."
            ),
            format!(
                "move '{holder}' to another GID (groupmod -g, then re-own its files) before \
                 giving '{name}' GID {want}"
            ),
        );
    }
}

/// One of the parties that must agree on the group.
struct Side {
    what: String,
    name: Option<String>,
    gid: Option<u32>,
}

impl Side {
    fn effective_gid(&self) -> Option<u32> {
        self.gid.or_else(|| {
            self.name
                .as_deref()
                .and_then(|n| LibvirtId::parse(n).number())
        })
    }

    /// Whether two sides name the same group: by GID where both are known, by name where
    /// both are names; `None` when they cannot be compared.
    fn agrees(&self, other: &Side) -> Option<bool> {
        if let (Some(a), Some(b)) = (self.effective_gid(), other.effective_gid()) {
            return Some(a == b);
        }
        match (self.effective_gid(), other.effective_gid()) {
            (None, None) => Some(self.name.as_deref()? == other.name.as_deref()?),
            _ => None,
        }
    }
}

fn group_mismatch(ctx: &Ctx, out: &mut Vec<Finding>) {
    let facts = ctx.facts;
    let mut sides = Vec::new();
    let ovs_root = matches!(&ctx.ovs_ids, Some((user, _)) if user == "root");
    if let Some((_, group)) = ctx.ovs_non_root() {
        sides.push(Side {
            what: "OVS_USER_ID's group (Open vSwitch)".to_owned(),
            name: Some(group.to_owned()),
            gid: facts.accounts.ovs_group_gid,
        });
    }
    if let Some(group) = &facts.qemu_conf.group {
        sides.push(Side {
            what: "qemu.conf's group (QEMU)".to_owned(),
            name: Some(group.clone()),
            gid: facts.accounts.qemu_group_gid,
        });
    }
    let dir = &facts.socket_dir;
    if dir.exists && dir.kind == Some(Kind::Directory) {
        sides.push(Side {
            what: format!("the group of {}", dir.path),
            name: dir.group.clone(),
            gid: dir.gid,
        });
    }
    let mut disagree = false;
    for (i, a) in sides.iter().enumerate() {
        for b in &sides[i + 1..] {
            disagree |= a.agrees(b) == Some(false);
        }
    }
    if !disagree {
        return;
    }
    let listing: Vec<String> = sides
        .iter()
        .map(|s| format!("{} is {}", s.what, describe_group(s.name.as_deref(), s.gid)))
        .collect();
    let root_note = if ovs_root {
        " Open vSwitch runs as root, which opens any socket, so its group is left out."
    } else {
        ""
    };
    push(
        out,
        CheckId::GroupMismatch,
        Error,
        "groups",
        format!(
            "The groups that must be one and the same disagree: {}. QEMU creates each \
             dpdkvhostuserclient socket with qemu.conf's group in the socket directory, and \
             Open vSwitch can only connect to it as a member of that group; with different \
             groups the ports stay disconnected and the VMs have no network.{root_note}",
            listing.join("; ")
        ),
        format!(
            "make them all '{group}': nfv.vhostuser.qemu_conf group={group} (then restart \
             libvirtd; each VM gets the group at its next start), nfv.vhostuser.ovs_user \
             group={group} (then restart openvswitch), nfv.vhostuser.vhostuser_socket \
             path={dir} group={group}",
            group = ctx.expected.group,
            dir = ctx.expected.socket_dir
        ),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::fixture::{healthy, only};
    use crate::audit::checks::CheckId;
    use crate::audit::finding::Severity;

    #[test]
    fn ovs_as_root_is_only_info() {
        let (mut facts, expected) = healthy();
        facts.sysconfig.ovs_user_id = None;
        let found = only(&facts, &expected, CheckId::OvsRunsAsRoot);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Info);
        assert!(found[0].message.contains("RPM default is root:root"));
    }

    #[test]
    fn ovs_as_openvswitch_is_not_root() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::OvsRunsAsRoot).is_empty());
    }

    #[test]
    fn ovs_user_missing() {
        let (mut facts, expected) = healthy();
        facts.accounts.ovs_user_exists = false;
        facts.accounts.ovs_user_in_group = false;
        assert_eq!(only(&facts, &expected, CheckId::OvsUserMissing).len(), 1);
        // The membership question is moot without the user.
        assert!(only(&facts, &expected, CheckId::OvsUserNotInGroup).is_empty());
    }

    #[test]
    fn root_needs_no_user() {
        let (mut facts, expected) = healthy();
        facts.sysconfig.ovs_user_id = Some("root:root".into());
        facts.accounts.ovs_user_exists = false;
        assert!(only(&facts, &expected, CheckId::OvsUserMissing).is_empty());
    }

    #[test]
    fn ovs_group_missing_when_not_the_shared_group() {
        let (mut facts, expected) = healthy();
        facts.sysconfig.ovs_user_id = Some("openvswitch:ovsgrp".into());
        facts.accounts.ovs_group_gid = None;
        assert_eq!(only(&facts, &expected, CheckId::OvsGroupMissing).len(), 1);
    }

    #[test]
    fn ovs_group_missing_defers_to_hugetlbfs_missing() {
        let (mut facts, expected) = healthy();
        facts.accounts.ovs_group_gid = None;
        facts.accounts.group_gid = None;
        assert!(only(&facts, &expected, CheckId::OvsGroupMissing).is_empty());
        assert_eq!(only(&facts, &expected, CheckId::HugetlbfsMissing).len(), 1);
    }

    #[test]
    fn ovs_user_not_in_group() {
        let (mut facts, expected) = healthy();
        facts.accounts.ovs_user_in_group = false;
        let found = only(&facts, &expected, CheckId::OvsUserNotInGroup);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "openvswitch:hugetlbfs");
        assert!(found[0].message.contains("will not start"));
    }

    #[test]
    fn ovs_user_in_group_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::OvsUserNotInGroup).is_empty());
    }

    #[test]
    fn hugetlbfs_missing() {
        let (mut facts, expected) = healthy();
        facts.accounts.group_gid = None;
        facts.accounts.gid_holder = None;
        let found = only(&facts, &expected, CheckId::HugetlbfsMissing);
        assert_eq!(found.len(), 1);
        assert!(found[0].fix.contains("gid=42477"));
    }

    #[test]
    fn hugetlbfs_present_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::HugetlbfsMissing).is_empty());
    }

    #[test]
    fn hugetlbfs_gid_differs_from_the_containers() {
        let (mut facts, expected) = healthy();
        facts.accounts.group_gid = Some(987);
        facts.accounts.gid_holder = None;
        let found = only(&facts, &expected, CheckId::HugetlbfsGid);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(found[0].message.contains("GID 987"));
        assert!(found[0].fix.contains("-gid 987"));
    }

    #[test]
    fn hugetlbfs_gid_matching_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::HugetlbfsGid).is_empty());
    }

    #[test]
    fn gid_collision() {
        let (mut facts, expected) = healthy();
        facts.accounts.group_gid = Some(987);
        facts.accounts.gid_holder = Some("docker".into());
        let found = only(&facts, &expected, CheckId::GidCollision);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("'docker'"));
    }

    #[test]
    fn gid_held_by_the_group_itself_or_nobody_is_fine() {
        let (mut facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::GidCollision).is_empty());
        facts.accounts.gid_holder = None;
        assert!(only(&facts, &expected, CheckId::GidCollision).is_empty());
    }

    #[test]
    fn group_mismatch_qemu_conf_vs_the_rest() {
        let (mut facts, expected) = healthy();
        facts.qemu_conf.group = Some("qemu".into());
        facts.accounts.qemu_group_gid = Some(107);
        let found = only(&facts, &expected, CheckId::GroupMismatch);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("qemu (gid 107)"),
            "{}",
            found[0].message
        );
        assert!(found[0].message.contains("hugetlbfs (gid 42477)"));
    }

    #[test]
    fn group_mismatch_ignores_ovs_group_when_root() {
        let (mut facts, expected) = healthy();
        facts.sysconfig.ovs_user_id = Some("root:root".into());
        facts.accounts.ovs_group_gid = Some(0);
        assert!(only(&facts, &expected, CheckId::GroupMismatch).is_empty());
        // ...but says so when the others disagree.
        facts.qemu_conf.group = Some("qemu".into());
        facts.accounts.qemu_group_gid = Some(107);
        let found = only(&facts, &expected, CheckId::GroupMismatch);
        assert!(found[0].message.contains("runs as root"));
        assert!(!found[0].message.contains("OVS_USER_ID's group"));
    }

    #[test]
    fn group_mismatch_compares_gids_not_spellings() {
        let (mut facts, expected) = healthy();
        // qemu.conf names the group by number, the directory by name: the same GID.
        facts.qemu_conf.group = Some("+42477".into());
        facts.accounts.qemu_group_gid = None;
        assert!(only(&facts, &expected, CheckId::GroupMismatch).is_empty());
        facts.qemu_conf.group = Some("+107".into());
        assert_eq!(only(&facts, &expected, CheckId::GroupMismatch).len(), 1);
    }

    #[test]
    fn group_mismatch_socket_dir() {
        let (mut facts, expected) = healthy();
        facts.socket_dir.group = Some("qemu".into());
        facts.socket_dir.gid = Some(107);
        let found = only(&facts, &expected, CheckId::GroupMismatch);
        assert!(
            found[0]
                .message
                .contains("the group of /var/lib/vhost_sockets is qemu")
        );
    }
}
