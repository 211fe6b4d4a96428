//! Open vSwitch's own settings: DPDK, the port types it offers, `vhost-sock-dir`, and the
//! `error` column of each vhost-user interface.

use super::common::{Ctx, push};
use crate::OvsType;
use crate::audit::checks::CheckId;
use crate::audit::finding::{Finding, Severity::Error};

/// What `netdev_open` reports when ovs-vswitchd has no DPDK (EAFNOSUPPORT).
const NO_DPDK_ERROR: &str = "Address family not supported";

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    let Some(ovs) = ctx.facts.ovs.as_ref() else {
        return;
    };
    let dpdk_init = ovs.other_config.get("dpdk-init").map(String::as_str);
    let init_on =
        dpdk_init.is_some_and(|v| v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("try"));
    let mut why = Vec::new();
    if !init_on {
        why.push(format!(
            "other_config:dpdk-init is {}, not true or try",
            dpdk_init.map_or_else(|| "unset (default false)".to_owned(), |v| format!("'{v}'"))
        ));
    }
    if ovs.dpdk_initialized == Some(false) {
        why.push("dpdk_initialized is false (ovs-vswitchd did not start DPDK)".to_owned());
    }
    if !why.is_empty() {
        push(
            out,
            CheckId::DpdkNotInitialized,
            Error,
            "Open_vSwitch",
            format!(
                "DPDK is not running in ovs-vswitchd: {}. Without DPDK no vhost-user port can \
                 be opened: each one fails with 'could not open network device ... (Address \
                 family not supported by protocol)' and ofport -1, so the VMs have no network.",
                why.join("; ")
            ),
            "set other_config:dpdk-init=true (ovs-vsctl set Open_vSwitch . \
             other_config:dpdk-init=true), make sure hugepages are reserved, then restart \
             ovs-vswitchd (mind restart_cuts_vms)",
        );
    }
    let client = OvsType::DpdkVhostUserClient;
    if !ovs.iface_types.is_empty() && !ovs.iface_types.iter().any(|t| client == t.as_str()) {
        push(
            out,
            CheckId::ClientTypeUnsupported,
            Error,
            "Open_vSwitch",
            format!(
                "This ovs-vswitchd does not offer the dpdkvhostuserclient port type (its \
                 iface_types are: {}). Ports cannot move to client mode, and neutron's agent \
                 reads the same list to decide which mode new VMs get.",
                ovs.iface_types.join(", ")
            ),
            "install an Open vSwitch built with DPDK (2.6 or later; dpdkvhostuserclient needs \
             QEMU 2.7 or later), enable DPDK (other_config:dpdk-init=true) and restart \
             ovs-vswitchd",
        );
    }
    if let Some(dir) = ovs.other_config.get("vhost-sock-dir") {
        let absolute = dir.starts_with('/');
        // OvS refuses any value containing "..", not only a ".." component.
        let dotdot = dir.contains("..");
        if absolute || dotdot {
            push(
                out,
                CheckId::VhostSockDirInvalid,
                Error,
                "other_config:vhost-sock-dir",
                format!(
                    "other_config:vhost-sock-dir is '{dir}'. OvS reads it as a subdirectory of \
                     its run directory ({rundir}), never as an absolute path, and replaces a \
                     value containing '..' by the run directory itself; so dpdkvhostuser \
                     sockets are not where this setting suggests. It does not move \
                     dpdkvhostuserclient sockets at all: those follow each port's \
                     options:vhost-server-path.",
                    rundir = ctx.rundir()
                ),
                "remove it (ovs-vsctl remove Open_vSwitch . other_config vhost-sock-dir) or set \
                 a relative subdirectory; move ports to dpdkvhostuserclient with \
                 nfv.vhostuser.vhostuser_port and a server_path under the socket directory",
            );
        }
    }
    for iface in &ovs.interfaces {
        let Some(error) = iface.error.as_deref().filter(|e| !e.is_empty()) else {
            continue;
        };
        let hint = if error.contains(NO_DPDK_ERROR) {
            " This error means ovs-vswitchd has no DPDK: see dpdk_not_initialized."
        } else {
            ""
        };
        push(
            out,
            CheckId::InterfaceError,
            Error,
            iface.name.as_str(),
            format!(
                "Open vSwitch could not set up interface {name} ({kind}): '{error}'. The port \
                 passes no traffic, so its VM has no network on it.{hint}",
                name = iface.name,
                kind = iface.kind
            ),
            "read ovs-vswitchd.log for this interface; fix the cause (DPDK, socket path, \
             permissions), then recreate the port with nfv.vhostuser.vhostuser_port",
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::fixture::{healthy, only};
    use crate::audit::checks::CheckId;

    #[test]
    fn dpdk_init_false_is_reported() {
        let (mut facts, expected) = healthy();
        let ovs = facts.ovs.as_mut().unwrap();
        ovs.other_config.remove("dpdk-init");
        let found = only(&facts, &expected, CheckId::DpdkNotInitialized);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("unset (default false)"));
    }

    #[test]
    fn dpdk_initialized_false_is_reported() {
        let (mut facts, expected) = healthy();
        facts.ovs.as_mut().unwrap().dpdk_initialized = Some(false);
        let found = only(&facts, &expected, CheckId::DpdkNotInitialized);
        assert!(found[0].message.contains("dpdk_initialized is false"));
    }

    #[test]
    fn dpdk_init_try_with_unknown_initialized_is_fine() {
        let (mut facts, expected) = healthy();
        let ovs = facts.ovs.as_mut().unwrap();
        ovs.other_config.insert("dpdk-init".into(), "try".into());
        ovs.dpdk_initialized = None;
        assert!(only(&facts, &expected, CheckId::DpdkNotInitialized).is_empty());
    }

    #[test]
    fn client_type_missing_from_iface_types() {
        let (mut facts, expected) = healthy();
        facts
            .ovs
            .as_mut()
            .unwrap()
            .iface_types
            .retain(|t| t != "dpdkvhostuserclient");
        assert_eq!(
            only(&facts, &expected, CheckId::ClientTypeUnsupported).len(),
            1
        );
    }

    #[test]
    fn unknown_iface_types_say_nothing() {
        let (mut facts, expected) = healthy();
        facts.ovs.as_mut().unwrap().iface_types.clear();
        assert!(only(&facts, &expected, CheckId::ClientTypeUnsupported).is_empty());
    }

    #[test]
    fn vhost_sock_dir_absolute_or_dotdot() {
        for bad in ["/var/lib/vhost_sockets", "../vhost", "a/../b"] {
            let (mut facts, expected) = healthy();
            facts
                .ovs
                .as_mut()
                .unwrap()
                .other_config
                .insert("vhost-sock-dir".into(), bad.into());
            let found = only(&facts, &expected, CheckId::VhostSockDirInvalid);
            assert_eq!(found.len(), 1, "{bad}");
            assert!(found[0].message.contains(bad));
        }
    }

    #[test]
    fn vhost_sock_dir_relative_is_fine() {
        let (mut facts, expected) = healthy();
        facts
            .ovs
            .as_mut()
            .unwrap()
            .other_config
            .insert("vhost-sock-dir".into(), "vhost".into());
        assert!(only(&facts, &expected, CheckId::VhostSockDirInvalid).is_empty());
    }

    #[test]
    fn interface_error_points_at_dpdk() {
        let (mut facts, expected) = healthy();
        facts.ovs.as_mut().unwrap().interfaces[1].error = Some(
            "could not open network device vhu2 (Address family not supported by protocol)".into(),
        );
        let found = only(&facts, &expected, CheckId::InterfaceError);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "vhu2");
        assert!(found[0].message.contains("dpdk_not_initialized"));
    }

    #[test]
    fn empty_error_is_no_error() {
        let (mut facts, expected) = healthy();
        facts.ovs.as_mut().unwrap().interfaces[1].error = Some(String::new());
        assert!(only(&facts, &expected, CheckId::InterfaceError).is_empty());
    }
}
