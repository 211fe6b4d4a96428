//! Before a live swap changes anything: can this running domain have its vhost-user interfaces
//! unplugged and plugged back, and will each side be able to open the socket the other is
//! about to create? Everything is read from the node itself: libvirt's and QEMU's versions,
//! the live XML, QEMU's and ovs-vswitchd's real credentials and umasks in `/proc`, the socket
//! directories' owner, group and mode, and the Open vSwitch port (checked, not changed).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use ansible_module::Ctx;
use vhostuser::libvirt::hotplug::{self, HotplugFacts};
use vhostuser::libvirt::{Definition, DomainInfo, SourceMode, Virsh};
use vhostuser::procfs::{self, Process};
use vhostuser::qemu_procs::qemu_processes;
use vhostuser::socket_access::{self, Owned};

use crate::ports::PortSwitch;
use crate::select::Planned;

/// The running QEMU of the domain and the Open vSwitch daemon, as `/proc` shows them.
#[derive(Debug, Clone)]
pub(crate) struct Peers {
    pub qemu: Process,
    pub qemu_start: Option<u64>,
    pub ovs: Process,
}

/// A file's owner, group and mode, or `None` when it cannot be read.
pub(crate) fn owned(path: &Path) -> Option<Owned> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Owned {
        uid: meta.uid(),
        gid: meta.gid(),
        mode: meta.mode() & 0o7777,
    })
}

/// The directory a socket path is in.
pub(crate) fn parent(path: &str) -> &Path {
    Path::new(path).parent().unwrap_or_else(|| Path::new("/"))
}

/// The QEMU of `name` and ovs-vswitchd, or why they cannot be found.
pub(crate) fn peers(proc_root: &Path, name: &str) -> Result<Peers, Vec<String>> {
    let mut why = Vec::new();
    let qemu = qemu_processes(proc_root)
        .into_iter()
        .find(|q| q.guest.as_deref() == Some(name))
        .map(|q| q.process);
    if qemu.is_none() {
        why.push(format!(
            "no QEMU process of domain {name} is visible in {}: run the module where QEMU runs \
             (on the host, not in a container with its own /proc)",
            proc_root.display()
        ));
    }
    let ovs = procfs::processes_named(proc_root, &["ovs-vswitchd"])
        .into_iter()
        .next();
    if ovs.is_none() {
        why.push(format!(
            "no ovs-vswitchd process is visible in {}: nobody would connect to the new socket",
            proc_root.display()
        ));
    }
    match (qemu, ovs) {
        (Some(qemu), Some(ovs)) if why.is_empty() => Ok(Peers {
            qemu_start: procfs::start_time(proc_root, qemu.pid),
            qemu,
            ovs,
        }),
        _ => Err(why),
    }
}

/// Why the socket of `planned` could not be opened by the side that connects to it; `None`
/// when it could. A `server` socket is QEMU's and Open vSwitch connects; a `client` one is
/// Open vSwitch's and QEMU connects.
pub(crate) fn access_blocker(proc_root: &Path, peers: &Peers, planned: &Planned) -> Option<String> {
    let path = planned.after.path.as_deref()?;
    let mode = planned.after.mode?;
    let dir_path = parent(path);
    let Some(dir) = owned(dir_path) else {
        return Some(format!(
            "the socket directory {} of {path} does not exist or cannot be read",
            dir_path.display()
        ));
    };
    let (creator, opener) = match mode {
        SourceMode::Server => (&peers.qemu, &peers.ovs),
        SourceMode::Client => (&peers.ovs, &peers.qemu),
    };
    let Some(umask) = procfs::umask(proc_root, creator.pid) else {
        return Some(format!(
            "the umask of {} (pid {}) cannot be read from {}",
            creator.name,
            creator.pid,
            proc_root.display()
        ));
    };
    if let Err(why) = socket_access::can_create(creator, &dir) {
        return Some(format!("{path}: {why}"));
    }
    let socket = socket_access::predict(creator, umask, &dir);
    socket_access::can_connect(opener, &dir, &socket)
        .err()
        .map(|why| {
            format!(
                "{path}: {} ({}, umask {umask:04o}) would create it as {socket} in {} ({dir}{}), \
                 and {why}{}",
                creator.name,
                socket_access::describe(creator),
                dir_path.display(),
                if dir.mode & 0o2000 == 0 {
                    ", not setgid"
                } else {
                    ""
                },
                if mode == SourceMode::Server {
                    ": QEMU would wait for it with the guest frozen. Make the directory setgid \
                     with a group Open vSwitch holds (nfv.vhostuser.prepare: qemu:hugetlbfs 2775)"
                } else {
                    ""
                }
            )
        })
}

/// Every reason the live swap of `planned` cannot be done now; empty when it can.
#[allow(clippy::too_many_arguments)]
pub(crate) fn blockers(
    virsh: &Virsh,
    info: &DomainInfo,
    live: &Definition,
    definition: &Definition,
    planned: &[&Planned],
    proc_root: &Path,
    ports: &PortSwitch,
    ctx: &Ctx,
) -> (Option<Peers>, Vec<String>) {
    let name = &live.name;
    let mut why = Vec::new();
    if info.state != "running" {
        why.push(format!(
            "domain {name} is {}, not running: a device cannot be swapped live",
            info.state
        ));
    }
    match virsh.versions() {
        Ok((library, hypervisor)) => why.extend(hotplug::version_blockers(
            library.as_deref().and_then(hotplug::parse_version),
            hypervisor.as_deref().and_then(hotplug::parse_version),
        )),
        Err(e) => why.push(format!("virsh version failed: {e}")),
    }
    let facts = HotplugFacts::parse(&live.xml);
    let persistent = HotplugFacts::parse(&definition.xml);
    for p in planned {
        let Some(mac) = p.mac.as_deref() else {
            why.push(format!(
                "an interface of domain {name} has no MAC, so it cannot be found again"
            ));
            continue;
        };
        // An interface an interrupted run already unplugged is plugged back from the definition.
        let from = if live.find_mac(mac).is_some() {
            &facts
        } else {
            &persistent
        };
        match from {
            Ok(facts) => why.extend(facts.blockers(mac)),
            Err(e) => why.push(format!("domain {name}'s XML does not parse: {e}")),
        }
        if p.ovs_port().is_none() {
            why.push(format!(
                "the interface with mac {mac} names no Open vSwitch port (<target dev> or socket \
                 file name)"
            ));
        }
    }
    let peers = match peers(proc_root, name) {
        Ok(peers) => Some(peers),
        Err(more) => {
            why.extend(more);
            None
        }
    };
    if let Some(peers) = &peers {
        why.extend(
            planned
                .iter()
                .filter_map(|p| access_blocker(proc_root, peers, p)),
        );
    }
    for p in planned {
        if let Err(e) = ports.check(p, ctx) {
            why.push(e);
        }
    }
    (peers, why)
}
