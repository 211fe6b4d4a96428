//! The pairing table judged: legacy ports and what an OvS restart would cut, mode and path
//! mismatches, orphans on each side, and ports whose VM runs but that are not connected.

use crate::audit::checks::CheckId;
use std::collections::BTreeSet;

use super::common::{Ctx, push, short_list};
use super::sockets::ovs_locked_out;
use crate::audit::finding::{
    Finding,
    Severity::{Error, Info, Warning},
};
use crate::audit::pairing::{OvsSide, Pair, Verdict};
use crate::libvirt::SourceMode;

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    restart_cuts_vms(ctx, out);
    for pair in ctx.pairs {
        if let Some(ovs) = &pair.ovs {
            if ovs.kind.is_legacy() {
                legacy_port(ctx, ovs, pair, out);
            }
        }
        match pair.verdict {
            Verdict::Matched => {}
            Verdict::MismatchedMode => mode_mismatch(pair, out),
            Verdict::MismatchedPath => path_mismatch(pair, out),
            Verdict::OrphanOvs => orphan_ovs(ctx, pair, out),
            Verdict::OrphanLibvirt => orphan_domain_interface(ctx, pair, out),
            Verdict::OrphanQemu => orphan_qemu(ctx, pair, out),
        }
        not_connected(ctx, pair, out);
    }
}

/// The VM on a pair, running or not, for messages.
fn vm_name(pair: &Pair) -> Option<String> {
    pair.libvirt
        .as_ref()
        .map(|l| l.domain.clone())
        .or_else(|| pair.running_vm())
}

/// The running VMs that use a `dpdkvhostuser` port, by name.
fn legacy_vms(pairs: &[Pair]) -> BTreeSet<String> {
    pairs
        .iter()
        .filter(|p| p.ovs.as_ref().is_some_and(|o| o.kind.is_legacy()))
        .filter_map(Pair::running_vm)
        .collect()
}

fn restart_cuts_vms(ctx: &Ctx, out: &mut Vec<Finding>) {
    let vms: Vec<String> = legacy_vms(ctx.pairs).into_iter().collect();
    if vms.is_empty() {
        return;
    }
    let n = vms.len();
    let (plural, they) = if n == 1 {
        ("VM", "It uses a dpdkvhostuser port")
    } else {
        ("VMs", "They use dpdkvhostuser ports")
    };
    push(
        out,
        CheckId::RestartCutsVms,
        Error,
        "ovs-vswitchd",
        format!(
            "Restarting Open vSwitch cuts {n} {plural}: {}. {they}, where Open vSwitch owns the \
             socket and QEMU does not reconnect: after an OvS restart, \
             upgrade or crash they stay without network until each VM is restarted. Changing \
             OVS_USER_ID or the group's GID needs exactly such a restart.",
            short_list(&vms)
        ),
        "move these VMs to dpdkvhostuserclient first (OpenStack: cold-migrate each instance \
         once the node is ready; plain libvirt: playbooks/migrate.yml), or restart OvS only in \
         a window where they may lose network (prepare.yml refuses unless forced)",
    );
}

fn legacy_port(ctx: &Ctx, ovs: &OvsSide, pair: &Pair, out: &mut Vec<Finding>) {
    let vm = vm_name(pair).map_or_else(
        || "No VM uses it.".to_owned(),
        |v| format!("It serves {v}."),
    );
    push(
        out,
        CheckId::LegacyPort,
        Warning,
        ovs.interface.as_str(),
        format!(
            "{name} is a dpdkvhostuser port: Open vSwitch is the socket server ({path}) and \
             QEMU connects to it. The type is deprecated since OvS 2.8, and when ovs-vswitchd \
             restarts, its VM loses the network until the VM restarts. {vm}",
            name = ovs.interface,
            path = ovs.path
        ),
        format!(
            "OpenStack: cold-migrate the instance once the node is ready for client mode (the \
             port is recreated as dpdkvhostuserclient); plain libvirt, both together \
             (playbooks/migrate.yml does it VM by VM): nfv.vhostuser.vhostuser_port name={name} \
             type=dpdkvhostuserclient server_path={path} and \
             nfv.vhostuser.vhostuser_domain {domain} mode=server path={path} restart=true",
            name = ovs.interface,
            path = socket_path(&ctx.expected.socket_dir, &ovs.interface),
            domain = domain_selection(pair)
        ),
    );
}

/// `<socket_dir>/<port>`: where `nfv.vhostuser.vhostuser_port` puts a client-mode socket.
fn socket_path(socket_dir: &str, port: &str) -> String {
    format!("{}/{port}", socket_dir.trim_end_matches('/'))
}

/// The options of `nfv.vhostuser.vhostuser_domain` that select this pair's interface: the
/// domain and its MAC (libvirt always has one), else its current socket path.
fn domain_selection(pair: &Pair) -> String {
    let Some(l) = &pair.libvirt else {
        return format!(
            "name={}",
            vm_name(pair).unwrap_or_else(|| "<domain>".to_owned())
        );
    };
    match (&l.mac, &l.path) {
        (Some(mac), _) => format!("name={} mac={mac}", l.domain),
        (None, Some(path)) => format!("name={} current_path={path}", l.domain),
        (None, None) => format!("name={}", l.domain),
    }
}

/// QEMU's role on a pair as a phrase, from the running process or else the domain XML.
fn qemu_role(pair: &Pair) -> Option<(bool, String)> {
    if let Some(q) = &pair.qemu {
        let role = if q.server { "server" } else { "client" };
        return Some((
            q.server,
            format!("the running QEMU (pid {}) is the {role}", q.pid),
        ));
    }
    let l = pair.libvirt.as_ref()?;
    let mode = l.mode?;
    Some((
        mode == SourceMode::Server,
        format!(
            "the domain XML of {} says mode='{mode}' (QEMU is the {mode})",
            l.domain
        ),
    ))
}

fn mode_mismatch(pair: &Pair, out: &mut Vec<Finding>) {
    let (Some(ovs), Some((qemu_server, role))) = (&pair.ovs, qemu_role(pair)) else {
        return;
    };
    let ovs_role = if ovs.kind.is_client() {
        "client"
    } else {
        "server"
    };
    let effect = if qemu_server {
        "Both sides listen: OvS fails to create its socket or QEMU waits for a peer that never \
         comes ('QEMU waiting for connection on ...')."
    } else {
        "Both sides connect and neither listens: it never connects."
    };
    let vm = vm_name(pair).unwrap_or_else(|| "the VM".to_owned());
    let fix = if ovs.kind.is_client() {
        format!(
            "the VM is still on the legacy mode: OpenStack: cold-migrate {vm}; plain libvirt: \
             nfv.vhostuser.vhostuser_domain {domain} mode=server path={path} restart=true (or \
             put the port back with nfv.vhostuser.vhostuser_port name={name} type=dpdkvhostuser)",
            domain = domain_selection(pair),
            path = ovs.path,
            name = ovs.interface
        )
    } else {
        let path = pair
            .qemu
            .as_ref()
            .map(|q| q.path.clone())
            .or_else(|| pair.libvirt.as_ref().and_then(|l| l.path.clone()))
            .unwrap_or_default();
        format!(
            "the port is still legacy: nfv.vhostuser.vhostuser_port name={name} \
             type=dpdkvhostuserclient server_path={path}",
            name = ovs.interface
        )
    };
    push(
        out,
        CheckId::ModeMismatch,
        Error,
        ovs.interface.as_str(),
        format!(
            "{name} is {kind} in Open vSwitch (OvS is the {ovs_role}), but {role}. {effect} \
             {vm} has no network on this port. dpdkvhostuserclient pairs with mode='server', \
             dpdkvhostuser with mode='client'.",
            name = ovs.interface,
            kind = ovs.kind
        ),
        fix,
    );
}

fn path_mismatch(pair: &Pair, out: &mut Vec<Finding>) {
    let Some(ovs) = &pair.ovs else {
        return;
    };
    let (other, whose) = match (&pair.qemu, &pair.libvirt) {
        (Some(q), _) => (q.path.clone(), format!("the running QEMU (pid {})", q.pid)),
        (None, Some(l)) => (
            l.path.clone().unwrap_or_default(),
            format!("the domain XML of {}", l.domain),
        ),
        (None, None) => return,
    };
    let fix = if ovs.kind.is_client() {
        format!(
            "nfv.vhostuser.vhostuser_port name={name} server_path={other} (or correct the \
             domain's path)",
            name = ovs.interface
        )
    } else {
        format!(
            "a dpdkvhostuser socket is always {path}: the domain must use that path; better, \
             migrate the port to dpdkvhostuserclient",
            path = ovs.path
        )
    };
    push(
        out,
        CheckId::PathMismatch,
        Error,
        ovs.interface.as_str(),
        format!(
            "{name} ({kind}) uses the socket {path}, but {whose} uses {other}. The two ends \
             never meet, so the VM has no network on this port.",
            name = ovs.interface,
            kind = ovs.kind,
            path = ovs.path
        ),
        fix,
    );
}

fn orphan_ovs(ctx: &Ctx, pair: &Pair, out: &mut Vec<Finding>) {
    let Some(ovs) = &pair.ovs else {
        return;
    };
    // Without libvirt's list every port would look unused.
    if ctx.facts.domains.is_none() {
        return;
    }
    let legacy = ovs.kind.is_legacy();
    push(
        out,
        CheckId::OrphanOvsPort,
        if legacy { Warning } else { Info },
        ovs.interface.as_str(),
        format!(
            "{name} ({kind}, socket {path}) is used by no libvirt domain and no running QEMU. \
             It is most likely left over from a deleted or moved instance{extra}.",
            name = ovs.interface,
            kind = ovs.kind,
            path = ovs.path,
            extra = if legacy {
                "; as a dpdkvhostuser port it also keeps a socket in OvS's run directory"
            } else {
                "; Open vSwitch keeps retrying to connect to it"
            }
        ),
        "check that no instance needs it (openstack port list --device-owner compute:*), then \
         delete it (ovs-vsctl del-port, or nfv.vhostuser.vhostuser_port state=absent)",
    );
}

fn orphan_domain_interface(ctx: &Ctx, pair: &Pair, out: &mut Vec<Finding>) {
    let Some(l) = &pair.libvirt else {
        return;
    };
    // Without Open vSwitch's list every interface would look unserved.
    if ctx.facts.ovs.is_none() {
        return;
    }
    let path = l.path.as_deref().unwrap_or("(no path)");
    let state = if l.running {
        "It runs without network on this interface."
    } else {
        "It will have no network on this interface when it starts."
    };
    push(
        out,
        CheckId::OrphanDomainInterface,
        Error,
        format!("{}: {path}", l.domain),
        format!(
            "Domain {domain} has a vhostuser interface (mode='{mode}', path {path}) that no Open \
             vSwitch interface serves: no port has that socket path or name. {state}",
            domain = l.domain,
            mode = l.mode.map_or("?", SourceMode::as_str)
        ),
        "OpenStack: hard-reboot the instance so that os-vif plugs the port again (or \
         cold-migrate it); plain libvirt: create the port with nfv.vhostuser.vhostuser_port \
         (type=dpdkvhostuserclient and server_path=this path for mode='server')",
    );
}

fn orphan_qemu(ctx: &Ctx, pair: &Pair, out: &mut Vec<Finding>) {
    let Some(q) = &pair.qemu else {
        return;
    };
    if ctx.facts.ovs.is_none() || ctx.facts.domains.is_none() {
        return;
    }
    let who = q.guest.as_deref().map_or_else(
        || format!("pid {}", q.pid),
        |g| format!("{g} (pid {})", q.pid),
    );
    let role = if q.server {
        "listens on"
    } else {
        "connects to"
    };
    push(
        out,
        CheckId::OrphanQemuSocket,
        Warning,
        q.path.as_str(),
        format!(
            "The running QEMU of {who} {role} the vhost-user socket {path}, which neither an \
             Open vSwitch interface nor the domain's current XML describes. The domain was \
             probably edited or its port deleted while it ran; this interface has no network, \
             and the next restart changes what the VM gets.",
            path = q.path
        ),
        "compare with 'virsh dumpxml' and 'ovs-vsctl list Interface'; restart the VM (OpenStack: \
         hard reboot) so that it runs what its definition says",
    );
}

fn not_connected(ctx: &Ctx, pair: &Pair, out: &mut Vec<Finding>) {
    let Some(ovs) = &pair.ovs else {
        return;
    };
    let Some(vm) = pair.running_vm() else {
        return;
    };
    let status = ovs.status.as_deref();
    if status == Some("connected") {
        return;
    }
    let socket = ctx.facts.sockets.get(&ovs.path);
    let cause = match pair.verdict {
        Verdict::MismatchedMode => " The two sides' modes do not pair (see mode_mismatch).",
        Verdict::MismatchedPath => " The two sides use different paths (see path_mismatch).",
        _ if socket.is_some_and(|s| !s.file.exists) => {
            " Its socket does not exist (see socket_missing)."
        }
        _ if ovs.kind.is_client() && socket.is_some_and(|s| ovs_locked_out(ctx, s)) => {
            " Open vSwitch's group may not write to its socket (see socket_group)."
        }
        _ if ovs.kind.is_client() && socket.is_some_and(|s| !s.listening) => {
            " Nobody listens on its socket, so QEMU is not serving it (see stale_socket)."
        }
        _ => {
            " Look for socket_group, group_mismatch, vswitchd_stale_ids or socket_dir_selinux \
             in this report, and for 'vhost-user' in ovs-vswitchd.log."
        }
    };
    push(
        out,
        CheckId::NotConnected,
        Error,
        ovs.interface.as_str(),
        format!(
            "{name} ({kind}) serves the running VM {vm}, but Open vSwitch reports status {st}: \
             the VM has no network on this port.{cause}",
            name = ovs.interface,
            kind = ovs.kind,
            st = status.map_or_else(|| "(none)".to_owned(), |s| format!("'{s}'"))
        ),
        "fix the cause named here; a dpdkvhostuserclient port reconnects by itself within \
         seconds once OvS can open the socket; verify with ovs-vsctl get Interface <name> \
         status:status",
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::fixture::{RUNDIR, healthy, make_first_legacy, only};
    use crate::OvsType;
    use crate::audit::checks::CheckId;
    use crate::audit::finding::Severity;
    use crate::libvirt::SourceMode;

    #[test]
    fn legacy_port_per_dpdkvhostuser_interface() {
        let (mut facts, expected) = healthy();
        make_first_legacy(&mut facts);
        let found = only(&facts, &expected, CheckId::LegacyPort);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "vhu1");
        assert!(found[0].message.contains(&format!("{RUNDIR}/vhu1")));
        assert!(found[0].message.contains("instance-00000001"));
        assert!(
            found[0].fix.contains(
                "nfv.vhostuser.vhostuser_port name=vhu1 type=dpdkvhostuserclient \
                 server_path=/var/lib/vhost_sockets/vhu1 and nfv.vhostuser.vhostuser_domain \
                 name=instance-00000001 mac=fa:16:3e:00:00:01 mode=server \
                 path=/var/lib/vhost_sockets/vhu1 restart=true"
            ),
            "{}",
            found[0].fix
        );
    }

    #[test]
    fn client_ports_are_not_legacy() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::LegacyPort).is_empty());
    }

    #[test]
    fn restart_cuts_running_legacy_vms() {
        let (mut facts, expected) = healthy();
        make_first_legacy(&mut facts);
        let found = only(&facts, &expected, CheckId::RestartCutsVms);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .starts_with("Restarting Open vSwitch cuts 1 VM: instance-00000001.")
        );
    }

    #[test]
    fn restart_counts_qemu_only_and_distinct_vms() {
        let (mut facts, expected) = healthy();
        make_first_legacy(&mut facts);
        // The domain is shut off per libvirt, but its QEMU still runs: it counts once.
        facts.domains.as_mut().unwrap()[0].running = false;
        let found = only(&facts, &expected, CheckId::RestartCutsVms);
        assert!(found[0].message.contains("cuts 1 VM:"));
    }

    #[test]
    fn restart_spares_stopped_legacy_vms() {
        let (mut facts, expected) = healthy();
        make_first_legacy(&mut facts);
        facts.domains.as_mut().unwrap()[0].running = false;
        facts.qemus.remove(0);
        assert!(only(&facts, &expected, CheckId::RestartCutsVms).is_empty());
        assert_eq!(only(&facts, &expected, CheckId::LegacyPort).len(), 1);
    }

    #[test]
    fn mode_mismatch_both_clients() {
        let (mut facts, expected) = healthy();
        // OvS was switched to client, the VM still connects as a client.
        facts.domains.as_mut().unwrap()[0].interfaces[0].mode = Some(SourceMode::Client);
        facts.qemus[0].vhost_user[0].server = false;
        let found = only(&facts, &expected, CheckId::ModeMismatch);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("neither listens"));
        assert!(found[0].fix.contains("cold-migrate instance-00000001"));
        assert!(
            found[0].fix.contains(
                "nfv.vhostuser.vhostuser_domain name=instance-00000001 mac=fa:16:3e:00:00:01 \
                 mode=server path=/var/lib/vhost_sockets/vhu1 restart=true"
            ),
            "{}",
            found[0].fix
        );
    }

    #[test]
    fn mode_mismatch_both_servers_from_xml() {
        let (mut facts, expected) = healthy();
        facts.qemus.clear();
        let ovs = facts.ovs.as_mut().unwrap();
        ovs.interfaces[0].kind = OvsType::DpdkVhostUser;
        // Path by name still pairs them (pairing falls back to the port name).
        let found = only(&facts, &expected, CheckId::ModeMismatch);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("Both sides listen"));
        assert!(found[0].fix.contains("type=dpdkvhostuserclient"));
    }

    #[test]
    fn matched_modes_are_fine() {
        let (mut facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::ModeMismatch).is_empty());
        make_first_legacy(&mut facts);
        assert!(only(&facts, &expected, CheckId::ModeMismatch).is_empty());
    }

    #[test]
    fn path_mismatch() {
        let (mut facts, expected) = healthy();
        facts.ovs.as_mut().unwrap().interfaces[0].server_path =
            Some("/var/lib/vhost_sockets/other".into());
        let found = only(&facts, &expected, CheckId::PathMismatch);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .fix
                .contains("server_path=/var/lib/vhost_sockets/vhu1")
        );
    }

    #[test]
    fn same_path_is_fine() {
        let (mut facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::PathMismatch).is_empty());
        // The control: the same port on another path is reported, so the silence above comes
        // from the paths agreeing, not from a check that never fires.
        let moved = "/var/lib/other_sockets/vhu1".to_owned();
        facts.domains.as_mut().unwrap()[0].interfaces[0].path = Some(moved.clone());
        facts.qemus[0].vhost_user[0].path = moved;
        assert_eq!(only(&facts, &expected, CheckId::PathMismatch).len(), 1);
    }

    #[test]
    fn orphan_ovs_port_is_info_for_client_and_warning_for_legacy() {
        let (mut facts, expected) = healthy();
        facts.domains.as_mut().unwrap().remove(1);
        facts.qemus.remove(1);
        let found = only(&facts, &expected, CheckId::OrphanOvsPort);
        assert_eq!((found.len(), found[0].severity), (1, Severity::Info));
        facts.ovs.as_mut().unwrap().interfaces[1].kind = OvsType::DpdkVhostUser;
        let found = only(&facts, &expected, CheckId::OrphanOvsPort);
        assert_eq!(found[0].severity, Severity::Warning);
    }

    #[test]
    fn used_ports_are_not_orphans() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::OrphanOvsPort).is_empty());
    }

    #[test]
    fn orphan_domain_interface() {
        let (mut facts, expected) = healthy();
        facts.ovs.as_mut().unwrap().interfaces.remove(1);
        let found = only(&facts, &expected, CheckId::OrphanDomainInterface);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].subject,
            "instance-00000002: /var/lib/vhost_sockets/vhu2"
        );
        assert!(found[0].message.contains("runs without network"));
    }

    #[test]
    fn served_domain_interfaces_are_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::OrphanDomainInterface).is_empty());
    }

    #[test]
    fn orphan_qemu_socket() {
        let (mut facts, expected) = healthy();
        facts.qemus[1].vhost_user[0].path = "/var/lib/vhost_sockets/gone".into();
        let found = only(&facts, &expected, CheckId::OrphanQemuSocket);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "/var/lib/vhost_sockets/gone");
    }

    #[test]
    fn described_qemu_sockets_are_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::OrphanQemuSocket).is_empty());
    }

    #[test]
    fn not_connected_with_a_running_vm() {
        let (mut facts, expected) = healthy();
        let iface = &mut facts.ovs.as_mut().unwrap().interfaces[0];
        iface.status.insert("status".into(), "disconnected".into());
        let found = only(&facts, &expected, CheckId::NotConnected);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("status 'disconnected'"));
    }

    #[test]
    fn not_connected_without_status_key_names_the_cause() {
        let (mut facts, expected) = healthy();
        facts.ovs.as_mut().unwrap().interfaces[0].status.clear();
        facts
            .sockets
            .get_mut("/var/lib/vhost_sockets/vhu1")
            .unwrap()
            .file
            .exists = false;
        let found = only(&facts, &expected, CheckId::NotConnected);
        assert!(found[0].message.contains("status (none)"));
        assert!(found[0].message.contains("socket_missing"));
    }

    #[test]
    fn not_connected_points_at_the_socket_group() {
        let (mut facts, expected) = healthy();
        facts.ovs.as_mut().unwrap().interfaces[1]
            .status
            .insert("status".into(), "disconnected".into());
        let socket = facts
            .sockets
            .get_mut("/var/lib/vhost_sockets/vhu2")
            .unwrap();
        socket.file.gid = Some(107);
        let found = only(&facts, &expected, CheckId::NotConnected);
        assert!(
            found[0].message.contains("see socket_group"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn disconnected_without_a_running_vm_is_fine() {
        let (mut facts, expected) = healthy();
        facts.domains.as_mut().unwrap()[0].running = false;
        facts.qemus.remove(0);
        facts.ovs.as_mut().unwrap().interfaces[0]
            .status
            .insert("status".into(), "disconnected".into());
        assert!(only(&facts, &expected, CheckId::NotConnected).is_empty());
    }
}
