//! Sources the audit could not read. Each is one finding; the rest of the audit still runs,
//! and the checks that need a missing source stay silent instead of guessing.

use super::common::{Ctx, push};
use crate::audit::checks::CheckId;
use crate::audit::finding::{
    Finding,
    Severity::{Critical, Error, Warning},
};

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    let facts = ctx.facts;
    if let Some(why) = facts.ovs.unavailable() {
        push(
            out,
            CheckId::OvsdbUnavailable,
            Critical,
            "ovsdb",
            format!(
                "Open vSwitch's database could not be read: {why}. Without it the audit sees no \
                 vhost-user port, no port type, no connection status and no DPDK setting, so it \
                 cannot say whether any VM has network or whether the node is ready for \
                 dpdkvhostuserclient."
            ),
            "check that ovsdb-server runs (systemctl status ovsdb-server) and that the module's \
             `ovsdb` option points at its socket (default unix:/var/run/openvswitch/db.sock); \
             the audit must run as root or as a member of the socket's group",
        );
    }
    if let Some(why) = facts.domains.unavailable() {
        push(
            out,
            CheckId::LibvirtUnavailable,
            Warning,
            "libvirt",
            format!(
                "libvirt's domains could not be listed: {why}. The audit cannot tell which VMs \
                 use which port, which domains are still on mode='client', or which ports have \
                 no VM; it still checks OvS, the sockets, the groups and the running QEMUs."
            ),
            "check the module's `virsh_command` and `libvirt_uri` options (on TripleO: \
             virsh_command ['podman', 'exec', 'nova_libvirt', 'virsh']), or give \
             `libvirt_xml_dir` with the domains' XML",
        );
    }
    if let Some(why) = facts.sysconfig.error.as_deref() {
        push(
            out,
            CheckId::SysconfigUnreadable,
            Error,
            display_path(&facts.sysconfig.path, "/etc/sysconfig/openvswitch"),
            format!(
                "{path} could not be read: {why}. It holds OVS_USER_ID, the user and group Open \
                 vSwitch runs as after its next restart; without it the audit cannot check \
                 that Open vSwitch can open QEMU's sockets.",
                path = display_path(&facts.sysconfig.path, "/etc/sysconfig/openvswitch")
            ),
            "fix the file (it is shell syntax: OVS_USER_ID=\"openvswitch:hugetlbfs\"), for \
             example with nfv.vhostuser.ovs_user",
        );
    }
    for (source, why) in &facts.unavailable {
        push(
            out,
            CheckId::SourceUnavailable,
            Warning,
            source.as_str(),
            format!(
                "{source} could not be read: {why}. The checks that need it were skipped, so \
                 their problems, if any, are not in this report."
            ),
            "make it readable by the audit (run it as root, or give the module the right path \
             for this deployment) and audit again",
        );
    }
}

/// A path for a message, with a default when the facts did not record one.
fn display_path<'a>(path: &'a str, default: &'a str) -> &'a str {
    if path.is_empty() { default } else { path }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::fixture::{healthy, ids_of, only, run_on};
    use crate::audit::Source;
    use crate::audit::checks::CheckId;
    use crate::audit::finding::Severity;

    #[test]
    fn ovsdb_unavailable_is_critical_and_the_rest_still_runs() {
        let (mut facts, expected) = healthy();
        facts.ovs = Source::Unavailable("connection refused".into());
        facts.socket_dir.mode = Some(0o700);
        let found = run_on(&facts, &expected);
        let ids = ids_of(&found);
        assert_eq!(ids[0], CheckId::OvsdbUnavailable);
        assert_eq!(found[0].severity, Severity::Critical);
        assert!(found[0].message.contains("connection refused"));
        assert!(ids.contains(&CheckId::SocketDirMode));
        // Without OvS, no domain interface is called an orphan.
        assert!(!ids.contains(&CheckId::OrphanDomainInterface));
        assert!(!ids.contains(&CheckId::OrphanQemuSocket));
    }

    #[test]
    fn ovsdb_available_gives_no_finding() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::OvsdbUnavailable).is_empty());
    }

    #[test]
    fn libvirt_unavailable_is_a_warning_and_ports_are_not_orphans() {
        let (mut facts, expected) = healthy();
        facts.domains = Source::Unavailable("virsh: command not found".into());
        facts.qemus.clear();
        let found = run_on(&facts, &expected);
        let ids = ids_of(&found);
        let libvirt: Vec<_> = found
            .iter()
            .filter(|f| f.id == CheckId::LibvirtUnavailable)
            .collect();
        assert_eq!(libvirt.len(), 1);
        assert_eq!(libvirt[0].severity, Severity::Warning);
        assert!(!ids.contains(&CheckId::OrphanOvsPort));
    }

    #[test]
    fn libvirt_available_gives_no_finding() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::LibvirtUnavailable).is_empty());
    }

    #[test]
    fn other_sources_are_warnings() {
        let (mut facts, expected) = healthy();
        facts
            .unavailable
            .insert("proc".into(), "permission denied".into());
        let found = only(&facts, &expected, CheckId::SourceUnavailable);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "proc");
        assert!(found[0].message.contains("permission denied"));
    }

    #[test]
    fn an_unreadable_database_is_one_finding_with_its_reason() {
        let (mut facts, expected) = healthy();
        facts.ovs = Source::Unavailable("timeout".into());
        assert!(only(&facts, &expected, CheckId::SourceUnavailable).is_empty());
        let found = only(&facts, &expected, CheckId::OvsdbUnavailable);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("could not be read: timeout."));
    }

    #[test]
    fn sysconfig_unreadable_is_an_error_and_ovs_user_checks_stay_silent() {
        let (mut facts, expected) = healthy();
        facts.sysconfig.error = Some("line 3: unterminated quote".into());
        facts.accounts.ovs_user_exists = false;
        let found = run_on(&facts, &expected);
        let ids = ids_of(&found);
        assert!(ids.contains(&CheckId::SysconfigUnreadable));
        assert!(!ids.contains(&CheckId::OvsUserMissing));
        assert!(!ids.contains(&CheckId::OvsRunsAsRoot));
    }

    #[test]
    fn sysconfig_absent_is_not_unreadable() {
        let (mut facts, expected) = healthy();
        facts.sysconfig.present = false;
        facts.sysconfig.ovs_user_id = None;
        assert!(only(&facts, &expected, CheckId::SysconfigUnreadable).is_empty());
    }
}
