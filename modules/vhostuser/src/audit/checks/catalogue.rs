//! The catalogue of checks: one row per check with its id, the highest severity it reports,
//! whether a finding of it (at error or above) keeps the node from being ready for client
//! mode, and its title. The `CheckId` enum, its spelling and the readiness rule are all
//! generated from these rows, so a new check is one row and a misspelt id does not compile.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::audit::severity::Severity;

/// One row of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable, `snake_case`; what `checks` / `skip_checks` select.
    pub id: CheckId,
    /// The highest severity the check reports.
    pub severity: Severity,
    /// Whether a finding of this check at error or critical makes the node not ready.
    #[serde(skip)]
    pub blocks_readiness: bool,
    pub title: &'static str,
}

macro_rules! catalogue {
    ($($variant:ident = $id:literal, $severity:ident, $blocks:literal, $title:literal;)*) => {
        /// A check's id; serialized as its `snake_case` spelling.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CheckId {
            $($variant,)*
        }

        impl CheckId {
            /// The stable `snake_case` id.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(CheckId::$variant => $id,)*
                }
            }

            /// Whether a finding of this check at error or critical blocks readiness.
            #[must_use]
            pub const fn blocks_readiness(self) -> bool {
                match self {
                    $(CheckId::$variant => $blocks,)*
                }
            }
        }

        /// Every check, in the order `run` reports them.
        pub const CATALOGUE: &[Check] = &[
            $(Check {
                id: CheckId::$variant,
                severity: Severity::$severity,
                blocks_readiness: $blocks,
                title: $title,
            },)*
        ];
    };
}

impl CheckId {
    /// The id spelled as in the catalogue; `None` for any other text.
    #[must_use]
    pub fn parse(text: &str) -> Option<CheckId> {
        CATALOGUE
            .iter()
            .map(|c| c.id)
            .find(|id| id.as_str() == text)
    }

    /// The id's catalogue row.
    #[must_use]
    pub fn row(self) -> &'static Check {
        // Every variant has its row: the macro generates both from the same list.
        &CATALOGUE[self as usize]
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

catalogue! {
    // Sources.
    OvsdbUnavailable = "ovsdb_unavailable", Critical, true,
        "Open vSwitch's database could not be read";
    LibvirtUnavailable = "libvirt_unavailable", Warning, false,
        "libvirt's domains could not be listed";
    SourceUnavailable = "source_unavailable", Warning, false,
        "another source of facts could not be read";
    SysconfigUnreadable = "sysconfig_unreadable", Error, true,
        "/etc/sysconfig/openvswitch (OVS_USER_ID) could not be read or parsed";
    // Open vSwitch's own settings.
    DpdkNotInitialized = "dpdk_not_initialized", Error, true,
        "DPDK is not initialised (dpdk_initialized false or dpdk-init not true/try)";
    ClientTypeUnsupported = "client_type_unsupported", Error, true,
        "this ovs-vswitchd does not offer dpdkvhostuserclient in iface_types";
    VhostSockDirInvalid = "vhost_sock_dir_invalid", Error, true,
        "other_config:vhost-sock-dir is absolute or contains '..'";
    InterfaceError = "interface_error", Error, false,
        "an OvS vhost-user interface has its error column set";
    // Accounts and groups.
    OvsRunsAsRoot = "ovs_runs_as_root", Info, false,
        "OVS_USER_ID is unset or root: Open vSwitch runs as root";
    OvsUserMissing = "ovs_user_missing", Error, true,
        "the user of OVS_USER_ID does not exist";
    OvsGroupMissing = "ovs_group_missing", Error, true,
        "the group of OVS_USER_ID does not exist";
    OvsUserNotInGroup = "ovs_user_not_in_group", Error, true,
        "the user of OVS_USER_ID is not a member of its group";
    HugetlbfsMissing = "hugetlbfs_missing", Error, true,
        "the shared group (hugetlbfs) does not exist";
    HugetlbfsGid = "hugetlbfs_gid", Warning, true,
        "the shared group's GID differs from the containers' (42477)";
    GidCollision = "gid_collision", Error, true,
        "the expected GID (42477) belongs to another group";
    GroupMismatch = "group_mismatch", Error, true,
        "OVS_USER_ID's group, qemu.conf's group and the socket directory's group disagree";
    // qemu.conf.
    QemuConfUnreadable = "qemu_conf_unreadable", Error, true,
        "qemu.conf could not be read or parsed";
    QemuConfDuplicate = "qemu_conf_duplicate", Error, true,
        "a key is set more than once in qemu.conf (error for user/group, else warning)";
    QemuConfGroupUnset = "qemu_conf_group_unset", Error, true,
        "qemu.conf has no active group setting";
    // Directories.
    SocketDirMissing = "socket_dir_missing", Error, true,
        "the vhost-user socket directory does not exist";
    SocketDirNotDirectory = "socket_dir_not_directory", Error, true,
        "the socket directory is a symlink, a file or something else";
    SocketDirOwner = "socket_dir_owner", Error, true,
        "the socket directory has the wrong owner";
    SocketDirGroup = "socket_dir_group", Error, true,
        "the socket directory has the wrong group";
    SocketDirMode = "socket_dir_mode", Error, true,
        "the socket directory has the wrong mode";
    SocketDirSelinux = "socket_dir_selinux", Error, true,
        "the socket directory has the wrong SELinux type";
    SocketDirInOvsRundir = "socket_dir_in_ovs_rundir", Warning, false,
        "the client-mode socket directory is inside Open vSwitch's run directory";
    OvsDirsOwnership = "ovs_dirs_ownership", Error, true,
        "Open vSwitch's own directories are not owned by OVS_USER_ID, so it cannot start as that user";
    HugepagesPermissions = "hugepages_permissions", Warning, false,
        "/dev/hugepages is missing or not usable by Open vSwitch's group";
    OvsRundirAccess = "ovs_rundir_access", Warning, false,
        "QEMU cannot reach the legacy sockets in Open vSwitch's run directory";
    // Running processes.
    VswitchdStaleIds = "vswitchd_stale_ids", Error, true,
        "a running ovs-vswitchd/ovsdb-server does not run with OVS_USER_ID (not restarted)";
    QemuStaleIds = "qemu_stale_ids", Warning, false,
        "a running QEMU lacks qemu.conf's group (started before the change)";
    // Ports, domains and the pairing between them.
    RestartCutsVms = "restart_cuts_vms", Error, false,
        "restarting Open vSwitch would cut running VMs on dpdkvhostuser ports";
    LegacyPort = "legacy_port", Warning, false,
        "an OvS interface still has the deprecated type dpdkvhostuser";
    ModeMismatch = "mode_mismatch", Error, false,
        "OvS type and libvirt/QEMU mode do not pair (both clients or both servers)";
    PathMismatch = "path_mismatch", Error, false,
        "OvS and libvirt/QEMU use different socket paths for the same port";
    OrphanOvsPort = "orphan_ovs_port", Warning, false,
        "an OvS vhost-user interface no domain uses (warning for dpdkvhostuser, else info)";
    OrphanDomainInterface = "orphan_domain_interface", Error, false,
        "a domain's vhostuser interface no OvS interface serves";
    OrphanQemuSocket = "orphan_qemu_socket", Warning, false,
        "a running QEMU's vhost-user socket neither OvS nor libvirt describes";
    NotConnected = "not_connected", Error, false,
        "an OvS interface whose VM runs is not connected";
    // Sockets.
    SocketMissing = "socket_missing", Error, false,
        "the socket of a port whose VM runs does not exist";
    SocketNotASocket = "socket_not_a_socket", Error, false,
        "a socket path is taken by something that is not a socket";
    SocketGroup = "socket_group", Error, false,
        "a client-mode socket Open vSwitch (non-root) cannot open: wrong group or no group rw";
    LegacySocketAccess = "legacy_socket_access", Warning, false,
        "a dpdkvhostuser socket QEMU (non-root) cannot open: wrong group or no group rw";
    StaleSocket = "stale_socket", Warning, false,
        "a socket nobody listens on";
    SocketPathTooLong = "socket_path_too_long", Error, false,
        "a socket path of 108 bytes or more (sun_path limit)";
    // Domains.
    LegacyDomain = "legacy_domain", Warning, false,
        "a domain still uses mode='client' or a socket in OvS's run directory";
    SharedMemoryMissing = "shared_memory_missing", Error, false,
        "a domain with vhostuser interfaces has no shared memory";
    DomainHugepagesMissing = "domain_hugepages_missing", Info, false,
        "a domain with vhostuser interfaces is not backed by hugepages";
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_id_finds_its_own_row() {
        for (index, check) in CATALOGUE.iter().enumerate() {
            assert_eq!(check.id as usize, index);
            assert_eq!(check.id.row(), check);
            assert_eq!(CheckId::parse(check.id.as_str()), Some(check.id));
            assert_eq!(
                serde_json::to_value(check.id).unwrap(),
                serde_json::Value::from(check.id.as_str())
            );
        }
        assert_eq!(CheckId::parse("no_such_check"), None);
    }
}
