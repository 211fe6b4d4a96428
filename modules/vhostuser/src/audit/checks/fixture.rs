//! A healthy client-mode compute node, the base every check test breaks in one place.

use std::collections::BTreeMap;

use crate::OvsType;
use crate::audit::Source;
use crate::audit::checks::CheckId;
use crate::audit::facts::{
    AccountFacts, DomainFacts, DomainInterface, Expected, Facts, OvsFacts, OvsInterface, PathFacts,
    QemuConfFacts, SocketFacts, SysconfigFacts,
};
use crate::audit::finding::Finding;
use crate::audit::pairing;
use crate::libvirt::SourceMode;
use crate::nofollow::Kind;
use crate::procfs::Process;
use crate::qemu_procs::{QemuProcess, VhostChardev};

pub const SOCKET_DIR: &str = "/var/lib/vhost_sockets";
pub const RUNDIR: &str = "/var/run/openvswitch";
pub const QEMU_UID: u32 = 107;
pub const OVS_UID: u32 = 993;
pub const GID: u32 = 42477;

pub fn expected() -> Expected {
    Expected {
        group: "hugetlbfs".into(),
        gid: GID,
        socket_dir: SOCKET_DIR.into(),
        socket_dir_owner: "qemu".into(),
        socket_dir_mode: 0o775,
        setype: "virt_cache_t".into(),
        ovs_rundir: RUNDIR.into(),
        ovs_paths: vec!["/etc/openvswitch".into()],
    }
}

pub fn dir(path: &str, owner: &str, uid: u32, mode: u32) -> PathFacts {
    PathFacts {
        path: path.into(),
        exists: true,
        kind: Some(Kind::Directory),
        owner: Some(owner.into()),
        group: Some("hugetlbfs".into()),
        uid: Some(uid),
        gid: Some(GID),
        mode: Some(mode),
        setype: None,
    }
}

/// A socket QEMU created and listens on (`srwxrwxr-x qemu:hugetlbfs`).
pub fn socket(path: &str) -> SocketFacts {
    SocketFacts {
        file: PathFacts {
            kind: Some(Kind::Socket),
            ..dir(path, "qemu", QEMU_UID, 0o775)
        },
        listening: true,
        peers: 1,
    }
}

pub fn client_iface(name: &str) -> OvsInterface {
    OvsInterface {
        name: name.into(),
        kind: OvsType::DpdkVhostUserClient,
        bridge: Some("br-int".into()),
        port: Some(name.into()),
        tag: Some(1),
        server_path: Some(format!("{SOCKET_DIR}/{name}")),
        status: BTreeMap::from([
            ("mode".to_owned(), "client".to_owned()),
            ("status".to_owned(), "connected".to_owned()),
        ]),
        error: None,
        ofport: Some(1),
    }
}

pub fn domain(name: &str, port: &str) -> DomainFacts {
    DomainFacts {
        name: name.into(),
        running: true,
        shared_memory: true,
        hugepages: true,
        interfaces: vec![DomainInterface {
            mac: Some("fa:16:3e:00:00:01".into()),
            path: Some(format!("{SOCKET_DIR}/{port}")),
            mode: Some(SourceMode::Server),
            target: Some(port.into()),
        }],
        ..DomainFacts::default()
    }
}

pub fn qemu(pid: u32, guest: &str, port: &str) -> QemuProcess {
    QemuProcess {
        process: Process {
            pid,
            name: "qemu-kvm".into(),
            uid: QEMU_UID,
            gid: GID,
            groups: vec![GID],
        },
        guest: Some(guest.into()),
        vhost_user: vec![VhostChardev {
            id: "charnet0".into(),
            path: format!("{SOCKET_DIR}/{port}"),
            server: true,
        }],
    }
}

pub fn daemon(pid: u32, name: &str) -> Process {
    Process {
        pid,
        name: name.into(),
        uid: OVS_UID,
        gid: GID,
        groups: vec![GID],
    }
}

/// Two running instances on `dpdkvhostuserclient` ports, everything as prepare.yml leaves it.
pub fn healthy() -> (Facts, Expected) {
    let ports = ["vhu1", "vhu2"];
    let facts = Facts {
        ovs: Source::Read(OvsFacts {
            ovs_version: Some("3.1.0".into()),
            dpdk_initialized: Some(true),
            iface_types: ["dpdk", "dpdkvhostuser", "dpdkvhostuserclient", "internal"]
                .map(String::from)
                .to_vec(),
            other_config: BTreeMap::from([("dpdk-init".to_owned(), "true".to_owned())]),
            interfaces: ports.iter().map(|p| client_iface(p)).collect(),
        }),
        sockets: ports
            .iter()
            .map(|p| {
                let path = format!("{SOCKET_DIR}/{p}");
                (path.clone(), socket(&path))
            })
            .collect(),
        socket_dir: PathFacts {
            setype: Some("virt_cache_t".into()),
            ..dir(SOCKET_DIR, "qemu", QEMU_UID, 0o775)
        },
        ovs_rundir: dir(RUNDIR, "openvswitch", OVS_UID, 0o755),
        hugepages: dir("/dev/hugepages", "root", 0, 0o775),
        domains: Source::Read(vec![
            domain("instance-00000001", "vhu1"),
            domain("instance-00000002", "vhu2"),
        ]),
        qemus: vec![
            qemu(2001, "instance-00000001", "vhu1"),
            qemu(2002, "instance-00000002", "vhu2"),
        ],
        daemons: vec![daemon(900, "ovsdb-server"), daemon(901, "ovs-vswitchd")],
        qemu_conf: QemuConfFacts {
            path: "/etc/libvirt/qemu.conf".into(),
            present: true,
            error: None,
            user: Some("qemu".into()),
            group: Some("hugetlbfs".into()),
            duplicates: Vec::new(),
        },
        sysconfig: SysconfigFacts {
            path: "/etc/sysconfig/openvswitch".into(),
            present: true,
            error: None,
            ovs_user_id: Some("openvswitch:hugetlbfs".into()),
        },
        accounts: AccountFacts {
            group_gid: Some(GID),
            gid_holder: Some("hugetlbfs".into()),
            ovs_group_gid: Some(GID),
            ovs_user_exists: true,
            ovs_uid: Some(OVS_UID),
            ovs_user_in_group: true,
            qemu_group_gid: Some(GID),
        },
        ovs_paths_foreign: Vec::new(),
        selinux_enabled: true,
        unavailable: BTreeMap::new(),
    };
    (facts, expected())
}

/// Pairs the facts and runs every check.
pub fn run_on(facts: &Facts, expected: &Expected) -> Vec<Finding> {
    let pairs = pairing::pair(facts, &expected.ovs_rundir);
    super::run(facts, expected, &pairs)
}

pub fn ids_of(findings: &[Finding]) -> Vec<CheckId> {
    findings.iter().map(|f| f.id).collect()
}

/// The findings of one check.
pub fn only(facts: &Facts, expected: &Expected, id: CheckId) -> Vec<Finding> {
    run_on(facts, expected)
        .into_iter()
        .filter(|f| f.id == id)
        .collect()
}

/// Turns the healthy node's first port (and its domain and QEMU) into legacy
/// `dpdkvhostuser` / `mode='client'`, consistently.
pub fn make_first_legacy(facts: &mut Facts) {
    let legacy_path = format!("{RUNDIR}/vhu1");
    if let Some(ovs) = facts.ovs.as_mut() {
        ovs.interfaces[0].kind = OvsType::DpdkVhostUser;
        ovs.interfaces[0].server_path = None;
        ovs.interfaces[0]
            .status
            .insert("mode".into(), "server".into());
    }
    if let Some(domains) = facts.domains.as_mut() {
        domains[0].interfaces[0].mode = Some(SourceMode::Client);
        domains[0].interfaces[0].path = Some(legacy_path.clone());
    }
    facts.qemus[0].vhost_user[0].path.clone_from(&legacy_path);
    facts.qemus[0].vhost_user[0].server = false;
    facts.sockets.remove(&format!("{SOCKET_DIR}/vhu1"));
    let mut sock = socket(&legacy_path);
    sock.file.owner = Some("openvswitch".into());
    sock.file.uid = Some(OVS_UID);
    facts.sockets.insert(legacy_path, sock);
}
