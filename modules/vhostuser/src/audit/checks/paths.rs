//! Directories: the vhost-user socket directory (owner, group, mode, SELinux type),
//! `/dev/hugepages`, and Open vSwitch's run directory while legacy ports remain.

use super::common::{Ctx, describe_group, is_under, octal, path_in_group, push};
use crate::audit::checks::CheckId;
use crate::audit::finding::{
    Finding,
    Severity::{Error, Warning},
};
use crate::nofollow::Kind;

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    socket_dir(ctx, out);
    hugepages(ctx, out);
    ovs_rundir(ctx, out);
    ovs_dirs(ctx, out);
}

/// Field failure 7: after `OVS_USER_ID` names a user, ovsdb-server and ovs-vswitchd start as
/// that user and fail on files root still owns ("ovsdb-tool: I/O error: ... conf.db: open
/// failed (Permission denied)").
fn ovs_dirs(ctx: &Ctx, out: &mut Vec<Finding>) {
    let foreign = &ctx.facts.ovs_paths_foreign;
    let Some((user, group)) = ctx.ovs_non_root() else {
        return;
    };
    let Some(first) = foreign.first() else { return };
    let shown: Vec<String> = foreign
        .iter()
        .map(|p| {
            format!(
                "{} ({}:{})",
                p.path,
                p.owner.as_deref().unwrap_or("?"),
                p.group.as_deref().unwrap_or("?")
            )
        })
        .collect();
    push(
        out,
        CheckId::OvsDirsOwnership,
        Error,
        first.path.as_str(),
        format!(
            "{} is not owned by {user}:{group}, the OVS_USER_ID Open vSwitch starts as. \
             ovsdb-server and ovs-vswitchd then fail to start ('ovsdb-tool: I/O error: ... \
             Permission denied'), cutting every VM. Found: {}.",
            first.path,
            shown.join(", ")
        ),
        format!(
            "nfv.vhostuser.ovs_user user={user} group={group} fix_ownership=true, before \
             Open vSwitch is restarted"
        ),
    );
}

fn socket_dir(ctx: &Ctx, out: &mut Vec<Finding>) {
    let expected = ctx.expected;
    let dir = &ctx.facts.socket_dir;
    let path = if dir.path.is_empty() {
        expected.socket_dir.as_str()
    } else {
        dir.path.as_str()
    };
    let module = format!(
        "nfv.vhostuser.vhostuser_socket path={path} owner={} group={} mode={}{}",
        expected.socket_dir_owner,
        expected.group,
        octal(expected.socket_dir_mode),
        if ctx.facts.selinux_enabled {
            format!(" setype={}", expected.setype)
        } else {
            String::new()
        }
    );
    if is_under(path, ctx.rundir()) {
        push(
            out,
            CheckId::SocketDirInOvsRundir,
            Warning,
            path,
            format!(
                "The socket directory for dpdkvhostuserclient ports, {path}, is inside Open \
                 vSwitch's run directory ({rundir}). That directory is a tmpfs emptied at \
                 reboot, and ovsdb-server's unit re-owns it to OVS_USER_ID (chown -R) at every \
                 start, so QEMU loses the right to create its sockets there ('Failed to bind \
                 socket ... Permission denied').",
                rundir = ctx.rundir()
            ),
            "use a directory of its own, /var/lib/vhost_sockets (the module's socket_dir \
             option), created with nfv.vhostuser.vhostuser_socket",
        );
    }
    if !dir.exists {
        push(
            out,
            CheckId::SocketDirMissing,
            Error,
            path,
            format!(
                "The vhost-user socket directory {path} does not exist. QEMU creates each \
                 dpdkvhostuserclient socket there when its VM starts; without it the VM fails \
                 to start ('Failed to bind socket'), and no port can move to client mode."
            ),
            module.as_str(),
        );
        return;
    }
    let kind = dir.kind.map_or("unknown", Kind::as_str);
    if dir.kind != Some(Kind::Directory) {
        push(
            out,
            CheckId::SocketDirNotDirectory,
            Error,
            path,
            format!(
                "{path} is a {kind}, not a directory. QEMU cannot create sockets in it, and a \
                 symlink would let whoever controls its target decide where the sockets go; \
                 this collection never follows it."
            ),
            format!("move it aside and create the directory: {module}"),
        );
        return;
    }
    attributes(ctx, path, &module, out);
}

/// Owner, group, mode and SELinux type of the socket directory, once it is known to be one.
fn attributes(ctx: &Ctx, path: &str, module: &str, out: &mut Vec<Finding>) {
    let expected = ctx.expected;
    let dir = &ctx.facts.socket_dir;
    let want_owner = expected.socket_dir_owner.as_str();
    let owner_ok = match want_owner.parse::<u32>() {
        Ok(uid) => dir.uid.map(|have| have == uid),
        Err(_) => dir.owner.as_deref().map(|have| have == want_owner),
    };
    if owner_ok == Some(false) {
        push(
            out,
            CheckId::SocketDirOwner,
            Error,
            path,
            format!(
                "{path} is owned by {have}, not {want_owner}. QEMU ({want_owner}) must be able \
                 to create its sockets there; with another owner it depends on the group bits \
                 alone.",
                have = dir.owner.as_deref().unwrap_or("?")
            ),
            module,
        );
    }
    let group = expected.group.as_str();
    if path_in_group(dir, group, ctx.facts.accounts.group_gid) == Some(false) {
        push(
            out,
            CheckId::SocketDirGroup,
            Error,
            path,
            format!(
                "{path} belongs to group {have}, not {want}. QEMU and Open vSwitch share {group} \
                 to reach each other's sockets; a directory in another group keeps one of them \
                 out (QEMU cannot bind, or OvS cannot reach the socket).",
                have = describe_group(dir.group.as_deref(), dir.gid),
                want = describe_group(Some(group), ctx.facts.accounts.group_gid)
            ),
            module,
        );
    }
    if let Some(mode) = dir.mode {
        if mode & 0o7777 != expected.socket_dir_mode & 0o7777 {
            push(
                out,
                CheckId::SocketDirMode,
                Error,
                path,
                format!(
                    "{path} has mode {have}, not {want}. The group ({group}) needs write and \
                     search permission so that QEMU creates sockets and Open vSwitch reaches \
                     them; broader modes let anyone replace a socket.",
                    have = octal(mode),
                    want = octal(expected.socket_dir_mode)
                ),
                module,
            );
        }
    }
    if ctx.facts.selinux_enabled {
        if let Some(setype) = dir.setype.as_deref().filter(|t| *t != expected.setype) {
            push(
                out,
                CheckId::SocketDirSelinux,
                Error,
                path,
                format!(
                    "{path} has the SELinux type {setype}, not {want}. SELinux denies \
                     ovs-vswitchd (openvswitch_t) and QEMU (svirt_t) the sockets there (avc: \
                     denied {{ create }} / {{ connectto }}), even when the owner and mode are \
                     right.",
                    want = expected.setype
                ),
                format!(
                    "{module}; and add a file-context rule so restorecon keeps it \
                     (semanage fcontext -a -t {want} '{path}(/.*)?')",
                    want = expected.setype
                ),
            );
        }
    }
}

fn hugepages(ctx: &Ctx, out: &mut Vec<Finding>) {
    let pages = &ctx.facts.hugepages;
    if pages.path.is_empty() {
        return;
    }
    let Some((user, group)) = ctx.ovs_non_root() else {
        return;
    };
    let path = pages.path.as_str();
    let fix = format!(
        "restart ovs-vswitchd (the RHEL unit chowns {path} to :{group} and sets 0775 before it \
         starts), or chgrp {group} {path} && chmod 0775 {path}"
    );
    if !pages.exists {
        push(
            out,
            CheckId::HugepagesPermissions,
            Warning,
            path,
            format!(
                "{path} does not exist (hugetlbfs not mounted). DPDK in ovs-vswitchd and the \
                 VMs' memory need hugepages; vhost-user VMs will not start."
            ),
            "mount hugetlbfs there (the hugepages reserved on the kernel command line) and \
             restart ovs-vswitchd",
        );
        return;
    }
    let gid = ctx.facts.accounts.ovs_group_gid;
    let in_group = path_in_group(pages, group, gid);
    let mode = pages.mode.unwrap_or(0o7777);
    let group_rwx = mode & 0o070 == 0o070;
    if in_group == Some(false) || !group_rwx {
        push(
            out,
            CheckId::HugepagesPermissions,
            Warning,
            path,
            format!(
                "{path} is group {have} with mode {m}, but Open vSwitch runs as {user}:{group} \
                 and DPDK needs to create its hugepage files there (group {group}, rwx). The \
                 RHEL unit fixes this at each ovs-vswitchd start, so this usually means \
                 something changed it since, or ovs-vswitchd was started another way; DPDK \
                 fails to initialise at the next start.",
                have = describe_group(pages.group.as_deref(), pages.gid),
                m = octal(mode)
            ),
            fix,
        );
    }
}

fn ovs_rundir(ctx: &Ctx, out: &mut Vec<Finding>) {
    let facts = ctx.facts;
    let rundir = &facts.ovs_rundir;
    let has_legacy = facts
        .ovs
        .as_ref()
        .is_some_and(|o| o.interfaces.iter().any(|i| i.kind.is_legacy()));
    if !has_legacy || !rundir.exists || ctx.qemu_runs_as_root() {
        return;
    }
    let Some(group) = facts.qemu_conf.group.as_deref() else {
        return;
    };
    let in_group = path_in_group(rundir, group, facts.accounts.qemu_group_gid);
    let mode = rundir.mode.unwrap_or(0o7777);
    if in_group == Some(false) || mode & 0o070 != 0o070 {
        let path = rundir.path.as_str();
        push(
            out,
            CheckId::OvsRundirAccess,
            Warning,
            path,
            format!(
                "dpdkvhostuser ports remain, and their sockets live in {path}, which is group \
                 {have} with mode {m}; QEMU runs with group {group}. While legacy ports remain \
                 the directory must be 0775 with QEMU's group, or VMs that start or reconnect \
                 cannot reach their socket. An ovsdb-server restart re-owns it to \
                 OVS_USER_ID, and a reboot recreates it 0755.",
                have = describe_group(rundir.group.as_deref(), rundir.gid),
                m = octal(mode)
            ),
            format!(
                "move the ports to dpdkvhostuserclient (the real fix); meanwhile chgrp {group} \
                 {path} && chmod 0775 {path}, and a systemd drop-in with \
                 RuntimeDirectoryMode=0775 and UMask=0002 for ovs-vswitchd"
            ),
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::fixture::{healthy, make_first_legacy, only};
    use crate::audit::checks::CheckId;
    use crate::nofollow::Kind;

    #[test]
    fn socket_dir_missing() {
        let (mut facts, expected) = healthy();
        facts.socket_dir.exists = false;
        facts.socket_dir.kind = None;
        let found = only(&facts, &expected, CheckId::SocketDirMissing);
        assert_eq!(found.len(), 1);
        assert!(found[0].fix.contains("nfv.vhostuser.vhostuser_socket"));
        assert!(found[0].fix.contains("mode=0775"));
        // Nothing else about a directory that is not there.
        assert!(only(&facts, &expected, CheckId::SocketDirMode).is_empty());
    }

    #[test]
    fn socket_dir_present_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::SocketDirMissing).is_empty());
    }

    #[test]
    fn socket_dir_symlink() {
        let (mut facts, expected) = healthy();
        facts.socket_dir.kind = Some(Kind::Symlink);
        facts.socket_dir.mode = Some(0o777);
        let found = only(&facts, &expected, CheckId::SocketDirNotDirectory);
        assert!(found[0].message.contains("is a symlink"));
        assert!(only(&facts, &expected, CheckId::SocketDirMode).is_empty());
    }

    #[test]
    fn socket_dir_directory_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::SocketDirNotDirectory).is_empty());
    }

    #[test]
    fn socket_dir_owner() {
        let (mut facts, expected) = healthy();
        facts.socket_dir.owner = Some("root".into());
        facts.socket_dir.uid = Some(0);
        let found = only(&facts, &expected, CheckId::SocketDirOwner);
        assert!(found[0].message.contains("owned by root, not qemu"));
    }

    #[test]
    fn socket_dir_owner_by_uid() {
        let (mut facts, mut expected) = healthy();
        expected.socket_dir_owner = "107".into();
        assert!(only(&facts, &expected, CheckId::SocketDirOwner).is_empty());
        facts.socket_dir.uid = Some(42427);
        assert_eq!(only(&facts, &expected, CheckId::SocketDirOwner).len(), 1);
    }

    #[test]
    fn socket_dir_group() {
        let (mut facts, expected) = healthy();
        facts.socket_dir.group = Some("qemu".into());
        facts.socket_dir.gid = Some(107);
        let found = only(&facts, &expected, CheckId::SocketDirGroup);
        assert!(found[0].message.contains("group qemu (gid 107)"));
    }

    #[test]
    fn socket_dir_group_by_gid_without_name() {
        let (mut facts, expected) = healthy();
        facts.socket_dir.group = Some("42477".into());
        assert!(only(&facts, &expected, CheckId::SocketDirGroup).is_empty());
    }

    #[test]
    fn socket_dir_mode() {
        let (mut facts, expected) = healthy();
        facts.socket_dir.mode = Some(0o755);
        let found = only(&facts, &expected, CheckId::SocketDirMode);
        assert!(found[0].message.contains("mode 0755, not 0775"));
    }

    #[test]
    fn socket_dir_mode_right_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::SocketDirMode).is_empty());
    }

    #[test]
    fn socket_dir_selinux() {
        let (mut facts, expected) = healthy();
        facts.socket_dir.setype = Some("var_lib_t".into());
        let found = only(&facts, &expected, CheckId::SocketDirSelinux);
        assert!(found[0].message.contains("var_lib_t, not virt_cache_t"));
        assert!(found[0].fix.contains("semanage fcontext"));
    }

    #[test]
    fn socket_dir_selinux_ignored_when_disabled() {
        let (mut facts, expected) = healthy();
        facts.socket_dir.setype = Some("var_lib_t".into());
        facts.selinux_enabled = false;
        assert!(only(&facts, &expected, CheckId::SocketDirSelinux).is_empty());
    }

    #[test]
    fn socket_dir_in_ovs_rundir() {
        let (mut facts, mut expected) = healthy();
        expected.socket_dir = "/run/openvswitch/vhost".into();
        facts.socket_dir.path = expected.socket_dir.clone();
        assert_eq!(
            only(&facts, &expected, CheckId::SocketDirInOvsRundir).len(),
            1
        );
    }

    #[test]
    fn socket_dir_elsewhere_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::SocketDirInOvsRundir).is_empty());
    }

    #[test]
    fn hugepages_wrong_group() {
        let (mut facts, expected) = healthy();
        facts.hugepages.group = Some("root".into());
        facts.hugepages.gid = Some(0);
        facts.hugepages.mode = Some(0o755);
        let found = only(&facts, &expected, CheckId::HugepagesPermissions);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("mode 0755"));
    }

    #[test]
    fn hugepages_not_mounted() {
        let (mut facts, expected) = healthy();
        facts.hugepages.exists = false;
        let found = only(&facts, &expected, CheckId::HugepagesPermissions);
        assert!(found[0].message.contains("does not exist"));
    }

    #[test]
    fn hugepages_ignored_when_ovs_is_root() {
        let (mut facts, expected) = healthy();
        facts.sysconfig.ovs_user_id = Some("root:root".into());
        facts.hugepages.gid = Some(0);
        facts.hugepages.mode = Some(0o755);
        assert!(only(&facts, &expected, CheckId::HugepagesPermissions).is_empty());
    }

    #[test]
    fn hugepages_right_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::HugepagesPermissions).is_empty());
    }

    #[test]
    fn ovs_rundir_access_with_legacy_ports() {
        let (mut facts, expected) = healthy();
        make_first_legacy(&mut facts);
        let found = only(&facts, &expected, CheckId::OvsRundirAccess);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("mode 0755"));
        facts.ovs_rundir.mode = Some(0o775);
        assert!(only(&facts, &expected, CheckId::OvsRundirAccess).is_empty());
    }

    #[test]
    fn ovs_rundir_irrelevant_without_legacy_ports_or_as_root() {
        let (mut facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::OvsRundirAccess).is_empty());
        make_first_legacy(&mut facts);
        facts.qemu_conf.user = Some("root".into());
        assert!(only(&facts, &expected, CheckId::OvsRundirAccess).is_empty());
    }

    #[test]
    fn ovs_dirs_owned_by_someone_else() {
        let (mut facts, expected) = healthy();
        facts.ovs_paths_foreign = vec![super::super::fixture::dir(
            "/etc/openvswitch/conf.db",
            "root",
            0,
            0o644,
        )];
        let found = only(&facts, &expected, CheckId::OvsDirsOwnership);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("/etc/openvswitch/conf.db (root:"),
            "{}",
            found[0].message
        );
        assert!(found[0].fix.contains("fix_ownership=true"));
    }

    #[test]
    fn ovs_dirs_ownership_does_not_matter_as_root() {
        let (mut facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::OvsDirsOwnership).is_empty());
        facts.ovs_paths_foreign = vec![super::super::fixture::dir(
            "/etc/openvswitch/conf.db",
            "root",
            0,
            0o644,
        )];
        facts.sysconfig.ovs_user_id = Some("root:root".into());
        assert!(only(&facts, &expected, CheckId::OvsDirsOwnership).is_empty());
    }
}
