//! The sockets themselves: missing while their VM runs, taken by something else, a group the
//! connecting side does not have, nobody listening, or a path too long for `sun_path`.

use crate::audit::checks::CheckId;
use std::collections::HashSet;

use super::common::{Ctx, describe_group, group_or_other_rw, is_under, octal, push};
use crate::audit::facts::SocketFacts;
use crate::audit::finding::{
    Finding,
    Severity::{Error, Warning},
};
use crate::audit::pairing::{OvsSide, Pair};
use crate::nofollow::Kind;

/// `sizeof(sun_path)` on Linux: a path must be shorter, with room for the final NUL.
const SUN_PATH: usize = 108;

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    for pair in ctx.pairs {
        let Some(ovs) = &pair.ovs else {
            continue;
        };
        let socket = ctx.facts.sockets.get(&ovs.path);
        if let Some(vm) = pair.running_vm() {
            if socket.is_some_and(|s| !s.file.exists) {
                socket_missing(ovs, &vm, out);
            }
        }
        let Some(socket) = socket.filter(|s| is_socket(s)) else {
            continue;
        };
        if ovs.kind.is_client() {
            socket_group(ctx, ovs, socket, out);
        } else if ovs.kind.is_legacy() {
            legacy_socket_access(ctx, ovs, socket, out);
        }
    }
    for (path, socket) in &ctx.facts.sockets {
        if !socket.file.exists {
            continue;
        }
        if is_socket(socket) {
            if !socket.listening {
                stale_socket(ctx, path, out);
            }
        } else {
            socket_not_a_socket(path, socket, out);
        }
    }
    too_long(ctx, out);
}

fn is_socket(socket: &SocketFacts) -> bool {
    socket.file.exists && socket.file.kind == Some(Kind::Socket)
}

fn socket_missing(ovs: &OvsSide, vm: &str, out: &mut Vec<Finding>) {
    let (who, fix) = if ovs.kind.is_client() {
        (
            "QEMU creates this socket when the VM starts; it was removed since (a cleanup, a \
             tmpfs, someone's rm), and QEMU does not create it again",
            "restart the VM so that QEMU creates the socket again (OpenStack: hard reboot the \
             instance); check that nothing cleans the socket directory",
        )
    } else {
        (
            "Open vSwitch creates this socket when the port is added; it was removed since, \
             and a legacy VM cannot reconnect to a new one",
            "recreate the port (ovs-vsctl del-port/add-port) and restart the VM; better, \
             migrate it to dpdkvhostuserclient",
        )
    };
    push(
        out,
        CheckId::SocketMissing,
        Error,
        ovs.path.as_str(),
        format!(
            "The socket {path} of {name} ({kind}) does not exist, while its VM {vm} runs. \
             {who}. The VM has no network on this port, and will not get it back by itself.",
            path = ovs.path,
            name = ovs.interface,
            kind = ovs.kind
        ),
        fix,
    );
}

/// Whether a non-root Open vSwitch is kept out of a client-mode socket: not in the shared
/// group, or the group may not write, and others may not either.
pub(super) fn ovs_locked_out(ctx: &Ctx, socket: &SocketFacts) -> bool {
    let file = &socket.file;
    let (Some(gid), Some(mode)) = (file.gid, file.mode) else {
        return false;
    };
    let (group_rw, other_rw) = group_or_other_rw(mode);
    ctx.ovs_non_root().is_some()
        && is_socket(socket)
        && !other_rw
        && !(gid == ctx.shared_gid && group_rw)
}

fn socket_group(ctx: &Ctx, ovs: &OvsSide, socket: &SocketFacts, out: &mut Vec<Finding>) {
    let Some((user, group)) = ctx.ovs_non_root() else {
        return;
    };
    if !ovs_locked_out(ctx, socket) {
        return;
    }
    let file = &socket.file;
    let (Some(gid), Some(mode)) = (file.gid, file.mode) else {
        return;
    };
    let what = if gid == ctx.shared_gid {
        "has no group read-write".to_owned()
    } else {
        format!(
            "belongs to group {}, not {}",
            describe_group(file.group.as_deref(), Some(gid)),
            describe_group(Some(&ctx.expected.group), Some(ctx.shared_gid))
        )
    };
    push(
        out,
        CheckId::SocketGroup,
        Error,
        ovs.path.as_str(),
        format!(
            "The socket {path} of {name} {what} (mode {m}). Open vSwitch runs as \
             {user}:{group} and must write to the socket to connect to QEMU; it cannot, so the \
             port stays disconnected. QEMU gives its sockets qemu.conf's group; a wrong group \
             means qemu.conf's group is wrong, or the VM started before it was fixed.",
            path = ovs.path,
            name = ovs.interface,
            m = octal(mode)
        ),
        format!(
            "nfv.vhostuser.vhostuser_socket path={dir} group={g} sockets=fix re-groups the \
             existing sockets now; fix qemu.conf's group with nfv.vhostuser.qemu_conf so that \
             new ones are right",
            dir = ctx.expected.socket_dir,
            g = ctx.expected.group
        ),
    );
}

fn legacy_socket_access(ctx: &Ctx, ovs: &OvsSide, socket: &SocketFacts, out: &mut Vec<Finding>) {
    if ctx.qemu_runs_as_root() {
        return;
    }
    let (Some(group), Some(want)) = (
        ctx.facts.qemu_conf.group.as_deref(),
        ctx.facts.accounts.qemu_group_gid,
    ) else {
        return;
    };
    let file = &socket.file;
    let (Some(gid), Some(mode)) = (file.gid, file.mode) else {
        return;
    };
    let (group_rw, other_rw) = group_or_other_rw(mode);
    if other_rw || (gid == want && group_rw) {
        return;
    }
    push(
        out,
        CheckId::LegacySocketAccess,
        Warning,
        ovs.path.as_str(),
        format!(
            "The dpdkvhostuser socket {path} of {name} is group {have} with mode {m}, but QEMU \
             runs with group {group} (gid {want}) and must write to it to connect. A VM that \
             starts or reconnects on this port gets no network (this happens after an OvS \
             restart re-creates the sockets with its own group and umask).",
            path = ovs.path,
            name = ovs.interface,
            have = describe_group(file.group.as_deref(), Some(gid)),
            m = octal(mode)
        ),
        format!(
            "migrate the port to dpdkvhostuserclient (the real fix); meanwhile chgrp {group} \
             and chmod g+rw the socket, and run ovs-vswitchd with UMask=0002"
        ),
    );
}

fn stale_socket(ctx: &Ctx, path: &str, out: &mut Vec<Finding>) {
    let dir = ctx.expected.socket_dir.as_str();
    let fix = if is_under(path, dir) {
        format!("nfv.vhostuser.vhostuser_socket path={dir} remove_stale=true")
    } else {
        format!("check that no VM or port needs it, then remove it (rm {path})")
    };
    push(
        out,
        CheckId::StaleSocket,
        Warning,
        path,
        format!(
            "{path} is a socket nobody listens on: the VM or port that made it is gone. A stale \
             socket at a port's path makes Open vSwitch or QEMU connect to nothing, and can \
             keep QEMU from binding it when the VM starts again."
        ),
        fix,
    );
}

fn socket_not_a_socket(path: &str, socket: &SocketFacts, out: &mut Vec<Finding>) {
    let kind = socket.file.kind.map_or("unknown", Kind::as_str);
    push(
        out,
        CheckId::SocketNotASocket,
        Error,
        path,
        format!(
            "{path} should be a vhost-user socket but is a {kind}. QEMU cannot create its \
             socket there ('Failed to bind socket: Address already in use'), and Open vSwitch \
             cannot connect to it: the VM using this path gets no network."
        ),
        "find out what put it there, move it aside, and restart the VM (or recreate the port)",
    );
}

/// Every socket path in the pairing table, each once, in table order.
fn too_long(ctx: &Ctx, out: &mut Vec<Finding>) {
    let mut seen: HashSet<&str> = HashSet::new();
    for pair in ctx.pairs {
        for path in paths_of(pair) {
            if path.len() >= SUN_PATH && seen.insert(path) {
                push(
                    out,
                    CheckId::SocketPathTooLong,
                    Error,
                    path,
                    format!(
                        "{path} is {len} bytes long; a unix socket path must be shorter than \
                         {SUN_PATH} bytes (sun_path). QEMU and Open vSwitch cannot bind or \
                         connect to it, so this port can never carry traffic.",
                        len = path.len()
                    ),
                    "use a shorter path: a short socket directory and port names of at most \
                     a few dozen characters (nfv.vhostuser.vhostuser_port server_path=...)",
                );
            }
        }
    }
}

fn paths_of(pair: &Pair) -> impl Iterator<Item = &str> {
    let ovs = pair.ovs.as_ref().map(|o| o.path.as_str());
    let libvirt = pair.libvirt.as_ref().and_then(|l| l.path.as_deref());
    let qemu = pair.qemu.as_ref().map(|q| q.path.as_str());
    [ovs, libvirt, qemu].into_iter().flatten()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::fixture::{
        RUNDIR, SOCKET_DIR, client_iface, domain, healthy, make_first_legacy, only, qemu, socket,
    };
    use crate::audit::checks::CheckId;
    use crate::nofollow::Kind;

    const VHU1: &str = "/var/lib/vhost_sockets/vhu1";

    #[test]
    fn socket_missing_while_the_vm_runs() {
        let (mut facts, expected) = healthy();
        facts.sockets.get_mut(VHU1).unwrap().file.exists = false;
        let found = only(&facts, &expected, CheckId::SocketMissing);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("instance-00000001 runs"));
    }

    #[test]
    fn legacy_socket_missing() {
        let (mut facts, expected) = healthy();
        make_first_legacy(&mut facts);
        let path = format!("{RUNDIR}/vhu1");
        facts.sockets.get_mut(&path).unwrap().file.exists = false;
        let found = only(&facts, &expected, CheckId::SocketMissing);
        assert!(found[0].fix.contains("del-port"));
    }

    #[test]
    fn socket_missing_without_running_vm_is_fine() {
        let (mut facts, expected) = healthy();
        facts.sockets.get_mut(VHU1).unwrap().file.exists = false;
        facts.domains.as_mut().unwrap()[0].running = false;
        facts.qemus.remove(0);
        assert!(only(&facts, &expected, CheckId::SocketMissing).is_empty());
    }

    #[test]
    fn socket_not_a_socket() {
        let (mut facts, expected) = healthy();
        facts.sockets.get_mut(VHU1).unwrap().file.kind = Some(Kind::File);
        let found = only(&facts, &expected, CheckId::SocketNotASocket);
        assert!(found[0].message.contains("is a file"));
    }

    #[test]
    fn sockets_are_sockets() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::SocketNotASocket).is_empty());
    }

    #[test]
    fn socket_group_wrong_gid() {
        let (mut facts, expected) = healthy();
        let file = &mut facts.sockets.get_mut(VHU1).unwrap().file;
        file.gid = Some(107);
        file.group = Some("qemu".into());
        let found = only(&facts, &expected, CheckId::SocketGroup);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("belongs to group qemu (gid 107)"));
    }

    #[test]
    fn socket_group_without_group_write() {
        let (mut facts, expected) = healthy();
        facts.sockets.get_mut(VHU1).unwrap().file.mode = Some(0o755);
        let found = only(&facts, &expected, CheckId::SocketGroup);
        assert!(found[0].message.contains("has no group read-write"));
    }

    #[test]
    fn socket_group_ignored_when_ovs_is_root_or_world_writable() {
        let (mut facts, expected) = healthy();
        facts.sockets.get_mut(VHU1).unwrap().file.gid = Some(107);
        facts.sysconfig.ovs_user_id = Some("root:root".into());
        assert!(only(&facts, &expected, CheckId::SocketGroup).is_empty());
        facts.sysconfig.ovs_user_id = Some("openvswitch:hugetlbfs".into());
        facts.sockets.get_mut(VHU1).unwrap().file.mode = Some(0o777);
        assert!(only(&facts, &expected, CheckId::SocketGroup).is_empty());
    }

    #[test]
    fn socket_group_right_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::SocketGroup).is_empty());
    }

    #[test]
    fn legacy_socket_without_group_write() {
        let (mut facts, expected) = healthy();
        make_first_legacy(&mut facts);
        let path = format!("{RUNDIR}/vhu1");
        facts.sockets.get_mut(&path).unwrap().file.mode = Some(0o755);
        let found = only(&facts, &expected, CheckId::LegacySocketAccess);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("mode 0755"));
    }

    #[test]
    fn legacy_socket_fine_or_qemu_root() {
        let (mut facts, expected) = healthy();
        make_first_legacy(&mut facts);
        assert!(only(&facts, &expected, CheckId::LegacySocketAccess).is_empty());
        let path = format!("{RUNDIR}/vhu1");
        facts.sockets.get_mut(&path).unwrap().file.mode = Some(0o755);
        facts.qemu_conf.user = Some("+0".into());
        assert!(only(&facts, &expected, CheckId::LegacySocketAccess).is_empty());
    }

    #[test]
    fn stale_socket_in_the_socket_dir() {
        let (mut facts, expected) = healthy();
        let path = format!("{SOCKET_DIR}/vhu-old");
        let mut sock = socket(&path);
        sock.listening = false;
        facts.sockets.insert(path.clone(), sock);
        let found = only(&facts, &expected, CheckId::StaleSocket);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, path);
        assert!(found[0].fix.contains("remove_stale=true"));
    }

    #[test]
    fn listening_and_absent_sockets_are_not_stale() {
        let (mut facts, expected) = healthy();
        facts.sockets.get_mut(VHU1).unwrap().file.exists = false;
        facts.sockets.get_mut(VHU1).unwrap().listening = false;
        assert!(only(&facts, &expected, CheckId::StaleSocket).is_empty());
    }

    #[test]
    fn socket_path_of_108_bytes_is_too_long() {
        let (mut facts, expected) = healthy();
        let prefix = format!("{SOCKET_DIR}/");
        let name = "v".repeat(108 - prefix.len());
        let path = format!("{prefix}{name}");
        assert_eq!(path.len(), 108);
        facts
            .ovs
            .as_mut()
            .unwrap()
            .interfaces
            .push(client_iface(&name));
        facts
            .domains
            .as_mut()
            .unwrap()
            .push(domain("instance-3", &name));
        facts.qemus.push(qemu(2003, "instance-3", &name));
        let found = only(&facts, &expected, CheckId::SocketPathTooLong);
        // Three sides, one path: one finding.
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("108 bytes long"));
    }

    #[test]
    fn socket_path_of_107_bytes_is_fine() {
        let (mut facts, expected) = healthy();
        let prefix = format!("{SOCKET_DIR}/");
        let name = "v".repeat(107 - prefix.len());
        facts
            .ovs
            .as_mut()
            .unwrap()
            .interfaces
            .push(client_iface(&name));
        assert!(only(&facts, &expected, CheckId::SocketPathTooLong).is_empty());
    }
}
