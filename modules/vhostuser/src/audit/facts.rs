//! Everything the audit looks at, collected once (see `collect`) and then judged by pure
//! functions, so every check can be tested on facts made up in a test.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Source;
use crate::OvsType;
use crate::libvirt::hotplug::HotplugFacts;
use crate::libvirt::{NovaInstance, SourceMode};
use crate::nofollow::Kind;
use crate::procfs::Process;
use crate::qemu_conf::Duplicate;
use crate::qemu_procs::QemuProcess;

/// What the node should look like; the module's options.
#[derive(Debug, Clone, Serialize)]
pub struct Expected {
    /// The group QEMU and Open vSwitch share (`hugetlbfs`).
    pub group: String,
    /// Its GID on TripleO hosts and in their containers (42477).
    pub gid: u32,
    pub socket_dir: String,
    pub socket_dir_owner: String,
    pub socket_dir_mode: u32,
    pub setype: String,
    /// Open vSwitch's run directory, where `dpdkvhostuser` sockets live.
    pub ovs_rundir: String,
    /// Open vSwitch's own directories (`/etc`, `/var/log`, `/var/lib/openvswitch`).
    pub ovs_paths: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    /// Open vSwitch as its database shows it, or why it could not be read.
    pub ovs: Source<OvsFacts>,
    /// Every socket path the audit looked at (ports' and domains'), by path.
    pub sockets: BTreeMap<String, SocketFacts>,
    pub socket_dir: PathFacts,
    pub ovs_rundir: PathFacts,
    pub hugepages: PathFacts,
    /// libvirt's domains, or why they could not be listed.
    pub domains: Source<Vec<DomainFacts>>,
    pub qemus: Vec<QemuProcess>,
    /// Running ovs-vswitchd and ovsdb-server.
    pub daemons: Vec<Process>,
    pub qemu_conf: QemuConfFacts,
    pub sysconfig: SysconfigFacts,
    pub accounts: AccountFacts,
    /// Open vSwitch's own directories and their direct entries that are not owned by
    /// `OVS_USER_ID`'s user and group (at most a few), when that is not root.
    pub ovs_paths_foreign: Vec<PathFacts>,
    pub selinux_enabled: bool,
    /// Other sources that could not be read (each domain whose XML could not be parsed, as
    /// `domain <name>`), with why; each also becomes a finding. [`Facts::unavailable_all`] adds
    /// the database and libvirt.
    pub unavailable: BTreeMap<String, String>,
}

impl Facts {
    /// Every source that could not be read, with why, as the result's `unavailable` reports
    /// them: `ovsdb`, `libvirt` and the others.
    #[must_use]
    pub fn unavailable_all(&self) -> BTreeMap<String, String> {
        let mut all = self.unavailable.clone();
        if let Some(why) = self.ovs.unavailable() {
            all.insert("ovsdb".into(), why.into());
        }
        if let Some(why) = self.domains.unavailable() {
            all.insert("libvirt".into(), why.into());
        }
        all
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct OvsFacts {
    pub ovs_version: Option<String>,
    pub dpdk_initialized: Option<bool>,
    pub iface_types: Vec<String>,
    pub other_config: BTreeMap<String, String>,
    /// Every interface of type `dpdkvhostuser` or `dpdkvhostuserclient`.
    pub interfaces: Vec<OvsInterface>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OvsInterface {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OvsType,
    pub bridge: Option<String>,
    pub port: Option<String>,
    pub tag: Option<i64>,
    /// `options:vhost-server-path`.
    pub server_path: Option<String>,
    pub status: BTreeMap<String, String>,
    pub error: Option<String>,
    pub ofport: Option<i64>,
}

/// A file or directory as `lstat` sees it (never followed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PathFacts {
    pub path: String,
    pub exists: bool,
    /// `socket`, `directory`, `symlink`, `file`, `other`.
    pub kind: Option<Kind>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mode: Option<u32>,
    pub setype: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SocketFacts {
    #[serde(flatten)]
    pub file: PathFacts,
    pub listening: bool,
    /// Connections the listener has accepted: a connected vhost-user socket has one.
    pub peers: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DomainFacts {
    pub name: String,
    /// libvirt's `<uuid>` (a nova instance's own UUID).
    pub uuid: Option<String>,
    pub running: bool,
    pub shared_memory: bool,
    pub hugepages: bool,
    pub interfaces: Vec<DomainInterface>,
    /// nova's metadata: the domain is a nova instance, which only nova may change.
    pub nova: Option<NovaInstance>,
    /// What its XML says about PCI hot-plug (the running XML when it runs).
    #[serde(skip)]
    pub hotplug: Option<HotplugFacts>,
    /// Whether its legacy interfaces can be swapped live, and why not (see `live_swap`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_swap: Option<LiveSwap>,
}

/// Whether a running domain's legacy vhost-user interfaces can be moved without a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveSwap {
    pub possible: bool,
    /// Why not, one sentence each; empty when possible.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DomainInterface {
    pub mac: Option<String>,
    pub path: Option<String>,
    /// libvirt's `mode`: QEMU's role, `server` or `client`.
    pub mode: Option<SourceMode>,
    pub target: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct QemuConfFacts {
    pub path: String,
    pub present: bool,
    /// Why it could not be read or parsed.
    pub error: Option<String>,
    /// The values libvirt uses (first occurrence).
    pub user: Option<String>,
    pub group: Option<String>,
    pub duplicates: Vec<Duplicate>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SysconfigFacts {
    pub path: String,
    pub present: bool,
    pub error: Option<String>,
    /// The effective `OVS_USER_ID` (`user:group`).
    pub ovs_user_id: Option<String>,
}

impl SysconfigFacts {
    /// The user and group of `OVS_USER_ID`; unset means the RPM default, `root:root`.
    #[must_use]
    pub fn ovs_ids(&self) -> (String, String) {
        let value = self
            .ovs_user_id
            .clone()
            .unwrap_or_else(|| "root:root".into());
        match value.split_once(':') {
            Some((u, g)) => (u.to_owned(), g.to_owned()),
            None => (value.clone(), value),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountFacts {
    /// The GID of the expected group on this host, if it exists.
    pub group_gid: Option<u32>,
    /// The group that owns the expected GID, if any (it may be another group).
    pub gid_holder: Option<String>,
    /// The GID of `OVS_USER_ID`'s group, and whether its user is a member.
    pub ovs_group_gid: Option<u32>,
    pub ovs_user_exists: bool,
    /// The uid of `OVS_USER_ID`'s user, when it exists.
    pub ovs_uid: Option<u32>,
    pub ovs_user_in_group: bool,
    /// The GID of qemu.conf's group.
    pub qemu_group_gid: Option<u32>,
}
