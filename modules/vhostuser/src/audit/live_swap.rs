//! Per domain: can its legacy vhost-user interfaces move to `dpdkvhostuserclient` while it runs
//! (`vhostuser_domain` `method: live`), and if not, why. The same judgement the module makes
//! before a swap, on the audit's facts: the running XML's hot-plug facts, QEMU's and
//! ovs-vswitchd's real ids, and the socket directory, including its setgid bit, which keeps the
//! new sockets openable after Open vSwitch restarts as `OVS_USER_ID`. QEMU's umask is taken as
//! libvirt's 002 here; the module reads the real one before a swap.

use crate::audit::facts::{DomainFacts, Expected, Facts, LiveSwap};
use crate::identity::group_name;
use crate::libvirt::SourceMode;
use crate::procfs::Process;
use crate::socket_access::{self, Owned};

/// libvirt starts QEMU with umask 002.
const QEMU_UMASK: u32 = 0o002;

/// The judgement for `domain`; `None` for a domain with no interface on the legacy mode.
#[must_use]
pub fn assess(facts: &Facts, expected: &Expected, domain: &DomainFacts) -> Option<LiveSwap> {
    let legacy: Vec<&str> = domain
        .interfaces
        .iter()
        .filter(|i| i.mode == Some(SourceMode::Client))
        .filter_map(|i| i.mac.as_deref())
        .collect();
    if legacy.is_empty() {
        return None;
    }
    let mut reasons = Vec::new();
    if !domain.running {
        reasons.push(
            "not running: its definition alone is changed, and it uses the new sockets when it \
             starts"
                .to_owned(),
        );
    }
    match &domain.hotplug {
        Some(hotplug) => {
            for mac in &legacy {
                reasons.extend(hotplug.blockers(mac));
            }
        }
        None => reasons.push("its XML could not be read for PCI hot-plug".to_owned()),
    }
    if domain.running {
        reasons.extend(socket_reasons(facts, expected, &domain.name));
    }
    Some(LiveSwap {
        possible: reasons.is_empty(),
        reasons,
    })
}

/// Whether QEMU can create its new sockets in the socket directory and Open vSwitch open
/// them, now and after it restarts as `OVS_USER_ID`.
fn socket_reasons(facts: &Facts, expected: &Expected, name: &str) -> Vec<String> {
    let mut reasons = Vec::new();
    let dir_facts = &facts.socket_dir;
    let (true, Some(uid), Some(gid), Some(mode)) = (
        dir_facts.exists,
        dir_facts.uid,
        dir_facts.gid,
        dir_facts.mode,
    ) else {
        reasons.push(format!(
            "the socket directory {} does not exist (nfv.vhostuser.prepare makes it)",
            expected.socket_dir
        ));
        return reasons;
    };
    let dir = Owned { uid, gid, mode };
    let qemu = facts
        .qemus
        .iter()
        .find(|q| q.guest.as_deref() == Some(name))
        .map(|q| &q.process);
    let ovs = facts.daemons.iter().find(|d| d.name == "ovs-vswitchd");
    let (Some(qemu), Some(ovs)) = (qemu, ovs) else {
        reasons.push(
            "its QEMU process or ovs-vswitchd is not running, so who would open the new \
             sockets is unknown"
                .to_owned(),
        );
        return reasons;
    };
    if let Err(why) = socket_access::can_create(qemu, &dir) {
        reasons.push(format!("{}: {why}", expected.socket_dir));
        return reasons;
    }
    let socket = socket_access::predict(qemu, QEMU_UMASK, &dir);
    let setgid = dir.mode & 0o2000 != 0;
    if let Err(why) = socket_access::can_connect(ovs, &dir, &socket) {
        reasons.push(format!(
            "the socket directory {} ({dir}) is {}setgid, so a new socket would be {socket}, \
             and {why}: QEMU would wait for it with the guest frozen",
            expected.socket_dir,
            if setgid { "" } else { "not " }
        ));
    } else if !setgid {
        if let Some(later) = restarted_ovs(facts) {
            if socket_access::can_connect(&later, &dir, &socket).is_err() {
                reasons.push(format!(
                    "the socket directory {} ({dir}) is not setgid, so a new socket would be \
                     {socket}, which Open vSwitch could no longer open once restarted as \
                     OVS_USER_ID (group {}); nfv.vhostuser.prepare makes it setgid",
                    expected.socket_dir,
                    group_name(later.gid)
                ));
            }
        }
    }
    reasons
}

/// ovs-vswitchd as `OVS_USER_ID` will run it after its next restart (Open vSwitch drops its
/// supplementary groups); `None` when the user or group is unknown.
fn restarted_ovs(facts: &Facts) -> Option<Process> {
    let (user, _) = facts.sysconfig.ovs_ids();
    let uid = if user == "root" {
        0
    } else {
        facts.accounts.ovs_uid?
    };
    Some(Process {
        pid: 0,
        name: "ovs-vswitchd".into(),
        uid,
        gid: facts.accounts.ovs_group_gid?,
        groups: Vec::new(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::checks::fixture::{self, GID, QEMU_UID, SOCKET_DIR};
    use crate::libvirt::hotplug::HotplugFacts;

    const XML: &str = "<domain><name>vm1</name><os><type machine='pc-q35-9.0'>hvm</type></os>\
        <devices><controller type='pci' index='0' model='pcie-root'/>\
        <controller type='pci' index='1' model='pcie-root-port'/>\
        <interface type='vhostuser'><mac address='fa:16:3e:00:00:01'/>\
        <address type='pci' bus='0x01' slot='0x00' function='0x0'/></interface>\
        </devices></domain>";

    /// The healthy node with its first domain on the legacy mode and a setgid socket directory.
    fn legacy() -> (Facts, Expected, DomainFacts) {
        let (mut facts, expected) = fixture::healthy();
        facts.socket_dir.mode = Some(0o2775);
        let mut domain = fixture::domain("instance-00000001", "vhu1");
        domain.interfaces[0].mode = Some(SourceMode::Client);
        domain.hotplug = Some(HotplugFacts::parse(XML).unwrap());
        (facts, expected, domain)
    }

    #[test]
    fn a_running_legacy_domain_on_a_setgid_directory_can_move_live() {
        let (facts, expected, domain) = legacy();
        assert_eq!(
            assess(&facts, &expected, &domain),
            Some(LiveSwap {
                possible: true,
                reasons: vec![]
            })
        );
        let mut moved = domain.clone();
        moved.interfaces[0].mode = Some(SourceMode::Server);
        assert_eq!(assess(&facts, &expected, &moved), None, "nothing to move");
    }

    #[test]
    fn no_hot_plug_and_not_running_say_why() {
        let (facts, expected, mut domain) = legacy();
        domain.hotplug = Some(
            HotplugFacts::parse(&XML.replace(
                "model='pcie-root-port'/>",
                "model='pcie-root-port'><target hotplug='off'/></controller>",
            ))
            .unwrap(),
        );
        domain.running = false;
        let verdict = assess(&facts, &expected, &domain).unwrap();
        assert!(!verdict.possible);
        assert!(verdict.reasons[0].starts_with("not running"), "{verdict:?}");
        assert!(verdict.reasons[1].contains("hotplug='off'"), "{verdict:?}");
    }

    #[test]
    fn without_setgid_a_qemu_group_ovs_lacks_is_refused() {
        let (mut facts, expected, domain) = legacy();
        facts.socket_dir.mode = Some(0o775);
        // QEMU as root (a legacy per-VM label): the socket would be root:root.
        facts.qemus[0].process.uid = 0;
        facts.qemus[0].process.gid = 0;
        let verdict = assess(&facts, &expected, &domain).unwrap();
        assert!(!verdict.possible);
        assert!(
            verdict.reasons[0].contains("is not setgid") && verdict.reasons[0].contains("frozen"),
            "{verdict:?}"
        );
    }

    #[test]
    fn without_setgid_a_later_ovs_restart_would_lose_the_socket() {
        let (mut facts, expected, domain) = legacy();
        facts.socket_dir.mode = Some(0o775);
        // The legacy node: QEMU qemu:qemu, ovs-vswitchd root until its pending restart.
        facts.qemus[0].process.gid = QEMU_UID;
        facts.qemus[0].process.groups = vec![QEMU_UID, GID];
        facts.daemons[1].uid = 0;
        let verdict = assess(&facts, &expected, &domain).unwrap();
        assert_eq!(verdict.reasons.len(), 1, "{verdict:?}");
        assert!(
            verdict.reasons[0].contains("once restarted as OVS_USER_ID"),
            "{verdict:?}"
        );
        facts.socket_dir.mode = Some(0o2775);
        assert!(assess(&facts, &expected, &domain).unwrap().possible);
        facts.socket_dir.exists = false;
        let verdict = assess(&facts, &expected, &domain).unwrap();
        assert!(
            verdict.reasons[0].contains(&format!("{SOCKET_DIR} does not exist")),
            "{verdict:?}"
        );
    }
}
