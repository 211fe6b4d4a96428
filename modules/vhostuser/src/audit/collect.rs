//! Collecting the facts of one node. Each source is read once; a source that cannot be read
//! is recorded in `Facts::unavailable` and the rest is still collected.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use super::domains::{self, LibvirtSource};
use super::facts::{
    AccountFacts, Expected, Facts, OvsFacts, OvsInterface, PathFacts, QemuConfFacts, SocketFacts,
    SysconfigFacts,
};
use super::pairing::ovs_socket_path;
use crate::identity::LibvirtId;
use crate::nofollow::Kind;
use crate::ovsdb::{Atom, Client, Condition, Error, Operation, Row, Uuid};
use crate::procfs::processes_named;
use crate::qemu_procs::qemu_processes;
use crate::unix_sockets::sockets_in_use;
use crate::{OvsType, identity, selinux};
use crate::{qemu_conf, sysconfig};

/// Where to read from; the module's options.
#[derive(Debug, Clone)]
pub struct Sources {
    pub ovsdb: String,
    pub timeout: Duration,
    pub qemu_conf: String,
    pub sysconfig: String,
    pub hugepages: String,
    pub proc_root: String,
    /// Where `/sys` is (for whether SELinux is enabled).
    pub sys_root: String,
    pub libvirt: LibvirtSource,
}

/// Collects everything: each source that cannot be read is recorded in `unavailable` with
/// why, and so is each domain that cannot be parsed (as `domain <name>`).
#[must_use]
pub fn collect(sources: &Sources, expected: &Expected) -> Facts {
    // libvirt's answer takes longest (virsh waits on libvirtd), so it is read on a thread of
    // its own while everything that does not depend on it is collected here.
    std::thread::scope(|scope| {
        let libvirt = scope.spawn(|| domains::read(&sources.libvirt, sources.timeout));
        let mut facts = collect_local(sources, expected);
        let read = libvirt.join().unwrap_or_else(|_| domains::Read {
            domains: Err("reading the domains failed: its thread panicked".to_owned()),
            broken: Vec::new(),
        });
        facts.domains = read.domains.into();
        for (name, why) in read.broken {
            facts.unavailable.insert(format!("domain {name}"), why);
        }
        facts.ovs_paths_foreign = foreign_in_ovs_paths(&facts, expected);
        facts.sockets = sockets(&facts, expected, Path::new(&sources.proc_root));
        facts
    })
}

/// Everything but the domains and what depends on them.
fn collect_local(sources: &Sources, expected: &Expected) -> Facts {
    let mut facts = Facts {
        selinux_enabled: selinux::enabled_under(Path::new(&sources.sys_root)),
        ..Facts::default()
    };
    facts.ovs = ovs(&sources.ovsdb, sources.timeout)
        .map_err(|e| e.to_string())
        .into();
    let proc_root = Path::new(&sources.proc_root);
    facts.qemus = qemu_processes(proc_root);
    facts.daemons = processes_named(proc_root, &["ovs-vswitchd", "ovsdb-server"]);
    facts.socket_dir = path_facts(&expected.socket_dir, facts.selinux_enabled);
    facts.ovs_rundir = path_facts(&expected.ovs_rundir, false);
    facts.hugepages = path_facts(&sources.hugepages, false);
    facts.qemu_conf = qemu_conf_facts(&sources.qemu_conf);
    facts.sysconfig = sysconfig_facts(&sources.sysconfig);
    facts.accounts = accounts(&facts, expected);
    facts
}

/// Open vSwitch's settings and every vhost-user interface with its port and bridge, in one
/// transaction.
pub fn ovs(address: &str, timeout: Duration) -> Result<OvsFacts, Error> {
    let mut client = Client::connect(address, timeout)?;
    let by_type = |kind: OvsType| {
        Operation::select("Interface", &[Condition::eq("type", kind.as_str())], &[])
    };
    let results = client.transact(
        "Open_vSwitch",
        &[
            Operation::select("Open_vSwitch", &[], &[]),
            by_type(OvsType::DpdkVhostUser),
            by_type(OvsType::DpdkVhostUserClient),
            Operation::select("Port", &[], &["_uuid", "name", "interfaces", "tag"]),
            Operation::select("Bridge", &[], &["_uuid", "name", "ports"]),
        ],
    )?;
    let rows = |i: usize| results.get(i).map_or(&[][..], |r| r.rows.as_slice());
    let root = rows(0).first().cloned().unwrap_or_default();
    let mut port_of: HashMap<Uuid, &Row> = HashMap::new();
    for port in rows(3) {
        for iface in port.uuid_set("interfaces")? {
            port_of.insert(iface, port);
        }
    }
    let mut bridge_of: HashMap<Uuid, String> = HashMap::new();
    for bridge in rows(4) {
        for port in bridge.uuid_set("ports")? {
            bridge_of.insert(port, bridge.string("name")?.to_owned());
        }
    }
    let mut interfaces = Vec::new();
    for row in rows(1).iter().chain(rows(2)) {
        let port = port_of.get(row.uuid()?).copied();
        let options = row.string_map("options")?;
        interfaces.push(OvsInterface {
            name: row.string("name")?.to_owned(),
            kind: ovs_type(row)?,
            bridge: port
                .and_then(|p| p.uuid().ok())
                .and_then(|u| bridge_of.get(u).cloned()),
            port: port.and_then(|p| p.string("name").ok()).map(str::to_owned),
            tag: port.and_then(|p| integer(p, "tag")),
            server_path: options.get("vhost-server-path").cloned(),
            status: row.string_map("status")?,
            error: row.optional_string("error")?.map(str::to_owned),
            ofport: integer(row, "ofport"),
        });
    }
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(OvsFacts {
        ovs_version: root
            .optional_string("ovs_version")
            .ok()
            .flatten()
            .map(str::to_owned),
        dpdk_initialized: root.boolean("dpdk_initialized").ok(),
        iface_types: root.string_set("iface_types").unwrap_or_default(),
        other_config: root.string_map("other_config").unwrap_or_default(),
        interfaces,
    })
}

/// The `type` of an interface row selected by its type.
fn ovs_type(row: &Row) -> Result<OvsType, Error> {
    let text = row.string("type")?;
    OvsType::parse(text).ok_or_else(|| Error::Column {
        column: "type".to_owned(),
        expected: "dpdkvhostuser or dpdkvhostuserclient",
        found: text.to_owned(),
    })
}

/// An optional integer column (an empty set when unset).
fn integer(row: &Row, column: &str) -> Option<i64> {
    match row.get(column)?.optional()? {
        Some(Atom::Integer(i)) => Some(*i),
        _ => None,
    }
}

/// A path as `lstat` sees it, never followed.
#[must_use]
pub fn path_facts(path: &str, with_selinux: bool) -> PathFacts {
    let mut facts = PathFacts {
        path: path.to_owned(),
        ..PathFacts::default()
    };
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return facts;
    };
    facts.exists = true;
    facts.kind = Some(Kind::of_file_type(meta.file_type()));
    facts.uid = Some(meta.uid());
    facts.gid = Some(meta.gid());
    facts.owner = Some(identity::user_name(meta.uid()));
    facts.group = Some(identity::group_name(meta.gid()));
    facts.mode = Some(meta.mode() & 0o7777);
    if with_selinux {
        facts.setype = selinux::type_of_path(Path::new(path));
    }
    facts
}

fn qemu_conf_facts(path: &str) -> QemuConfFacts {
    let mut facts = QemuConfFacts {
        path: path.to_owned(),
        ..QemuConfFacts::default()
    };
    let bytes = match safe_file::read_regular(Path::new(path)) {
        Ok(bytes) => bytes,
        Err(e) => {
            facts.error = Some(format!("could not read {path}: {e}"));
            return facts;
        }
    };
    facts.present = true;
    match qemu_conf::parse(&bytes) {
        Ok(doc) => {
            let text = |key: &str| match doc.get(key) {
                Some(qemu_conf::Value::Str(s)) => Some(s.clone()),
                Some(qemu_conf::Value::Int(i)) => Some(i.to_string()),
                _ => None,
            };
            facts.user = text("user");
            facts.group = text("group");
            facts.duplicates = doc.duplicates();
        }
        Err(e) => facts.error = Some(format!("{path} does not parse: {e}")),
    }
    facts
}

fn sysconfig_facts(path: &str) -> SysconfigFacts {
    let mut facts = SysconfigFacts {
        path: path.to_owned(),
        ..SysconfigFacts::default()
    };
    match safe_file::read_regular(Path::new(path)) {
        Ok(bytes) => {
            facts.present = true;
            match sysconfig::parse(&bytes) {
                Ok(file) => facts.ovs_user_id = file.get("OVS_USER_ID").map(|a| a.value.clone()),
                Err(e) => facts.error = Some(format!("{path} does not parse: {e}")),
            }
        }
        Err(safe_file::FileError::NotFound) => {}
        Err(e) => facts.error = Some(format!("could not read {path}: {e}")),
    }
    facts
}

/// Entries of Open vSwitch's directories (the directories and what is directly in them) that
/// `OVS_USER_ID`'s user and group do not own: the daemons, started as that user, fail on them.
/// One level deep keeps it cheap; a few examples are enough to name the problem.
fn foreign_in_ovs_paths(facts: &Facts, expected: &Expected) -> Vec<PathFacts> {
    const SHOWN: usize = crate::SAMPLE_SIZE;
    let (Some(uid), Some(gid)) = (facts.accounts.ovs_uid, facts.accounts.ovs_group_gid) else {
        return Vec::new();
    };
    if uid == 0 {
        return Vec::new();
    }
    let mut foreign = Vec::new();
    for dir in &expected.ovs_paths {
        let mut paths = vec![dir.clone()];
        if let Ok(entries) = std::fs::read_dir(dir) {
            paths.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path().to_string_lossy().into_owned()),
            );
        }
        for path in paths {
            let file = path_facts(&path, false);
            if file.exists && (file.uid != Some(uid) || file.gid != Some(gid)) {
                foreign.push(file);
                if foreign.len() >= SHOWN {
                    return foreign;
                }
            }
        }
    }
    foreign
}

/// A group by name or number, as qemu.conf and `OVS_USER_ID` may give it.
fn gid_of(spec: &str) -> Option<u32> {
    match LibvirtId::parse(spec) {
        LibvirtId::Numeric(gid) => Some(gid),
        LibvirtId::Name(name) => identity::resolve_group(name).ok().map(|g| g.gid),
    }
}

fn accounts(facts: &Facts, expected: &Expected) -> AccountFacts {
    let (ovs_user, ovs_group) = facts.sysconfig.ovs_ids();
    let group = identity::group(&ovs_group);
    let user = identity::user(&ovs_user);
    AccountFacts {
        group_gid: identity::group(&expected.group).map(|g| g.gid),
        gid_holder: identity::resolve_group(&expected.gid.to_string())
            .ok()
            .map(|g| g.name)
            .filter(|name| *name != expected.gid.to_string()),
        ovs_group_gid: gid_of(&ovs_group),
        ovs_user_exists: user.is_some(),
        ovs_uid: user.as_ref().map(|u| u.uid),
        ovs_user_in_group: match (&user, &group) {
            (Some(u), Some(g)) => identity::is_member(u, g),
            _ => false,
        },
        qemu_group_gid: facts.qemu_conf.group.as_deref().and_then(gid_of),
    }
}

/// Every socket a port or a domain refers to, with whether someone listens on it.
fn sockets(facts: &Facts, expected: &Expected, proc_root: &Path) -> BTreeMap<String, SocketFacts> {
    // Paths that ports and domains name are kept whatever is there (or not), so that a file
    // sitting where a socket should be is reported.
    let mut named: Vec<String> = Vec::new();
    if let Some(ovs) = facts.ovs.as_ref() {
        let sock_dir = ovs.other_config.get("vhost-sock-dir").map(String::as_str);
        named.extend(
            ovs.interfaces
                .iter()
                .map(|i| ovs_socket_path(i, &expected.ovs_rundir, sock_dir)),
        );
    }
    for domain in facts.domains.iter().flatten() {
        named.extend(domain.interfaces.iter().filter_map(|i| i.path.clone()));
    }
    let table = sockets_in_use(proc_root, &facts.qemus);
    let entry = |path: String| {
        let file = path_facts(&path, false);
        let listening = table.in_use(Path::new(&path));
        let peers = table.peers_of(Path::new(&path));
        (
            path,
            SocketFacts {
                file,
                listening,
                peers,
            },
        )
    };
    let mut sockets: BTreeMap<String, SocketFacts> = named
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(entry)
        .collect();
    // The sockets in the socket directory that nobody names are stale candidates too.
    if let Ok(entries) = std::fs::read_dir(&expected.socket_dir) {
        let found = entries
            .filter_map(Result::ok)
            .map(|e| entry(e.path().to_string_lossy().into_owned()));
        for (path, socket) in found {
            if socket.file.kind == Some(Kind::Socket) {
                sockets.entry(path).or_insert(socket);
            }
        }
    }
    sockets
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A FIFO (or a device behind a link) where a configuration file should be: reported at
    /// once as unreadable, where reading it used to block the audit past its timeout forever.
    #[test]
    fn config_files_that_are_not_regular_are_reported_not_read() {
        let dir = std::env::temp_dir().join(format!("collect-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("qemu.conf");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let zero = dir.join("openvswitch");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();

        let conf = qemu_conf_facts(fifo.to_str().unwrap());
        assert!(!conf.present);
        let error = conf.error.unwrap();
        assert!(
            error.ends_with("it is a FIFO (named pipe), not a regular file"),
            "{error}"
        );

        let sysconfig = sysconfig_facts(zero.to_str().unwrap());
        assert!(!sysconfig.present);
        let error = sysconfig.error.unwrap();
        assert!(
            error.ends_with("it is a character device, not a regular file"),
            "{error}"
        );

        let missing = sysconfig_facts(dir.join("absent").to_str().unwrap());
        assert!(!missing.present && missing.error.is_none());
    }
}
