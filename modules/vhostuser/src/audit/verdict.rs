//! The node's verdict: which vhost-user mode it is in, whether it is ready for
//! `dpdkvhostuserclient`, and what still runs on the legacy mode.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Serialize;

use super::checks::{CATALOGUE, CheckId, legacy_domains};
use super::facts::Facts;
use super::finding::{Finding, Severity};
use super::pairing::{self, Pair};

/// Open vSwitch's run directory when the facts did not record one.
pub const DEFAULT_OVS_RUNDIR: &str = "/var/run/openvswitch";

/// The checks that decide `ready_for_client_mode`: a finding of one of these at severity
/// error or critical makes the node not ready. They are what a port needs to come up
/// `connected` as `dpdkvhostuserclient`: Open vSwitch readable, DPDK running and offering
/// the type, a sane `vhost-sock-dir`; the socket directory right; the shared group present
/// with no GID collision, and Open vSwitch, QEMU and the directory agreeing on it; Open
/// vSwitch's user present, in its group and actually running with it; qemu.conf readable,
/// setting the group, without conflicting `user`/`group` duplicates. (`hugetlbfs_gid` is a
/// warning and so never blocks; `qemu_conf_duplicate` blocks only at error, i.e. for
/// `user`/`group`.) Port-level problems (legacy ports, mismatches, disconnected ports) do
/// not block: they are what migrating fixes.
/// Derived from the catalogue's `blocks_readiness` column, in catalogue order.
pub static READINESS: LazyLock<Vec<CheckId>> = LazyLock::new(|| {
    CATALOGUE
        .iter()
        .filter(|c| c.blocks_readiness)
        .map(|c| c.id)
        .collect()
});

/// The node's vhost-user mode, from its Open vSwitch interfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeMode {
    /// Every interface is `dpdkvhostuserclient`.
    Client,
    /// Every interface is `dpdkvhostuser`.
    Legacy,
    /// Some of each.
    Mixed,
    /// No vhost-user interface.
    None,
}

impl NodeMode {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            NodeMode::Client => "client",
            NodeMode::Legacy => "legacy",
            NodeMode::Mixed => "mixed",
            NodeMode::None => "none",
        }
    }
}

impl std::fmt::Display for NodeMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// From Open vSwitch's vhost-user interfaces: `client` (all `dpdkvhostuserclient`),
    /// `legacy` (all `dpdkvhostuser`), `mixed`, or `none`.
    pub mode: NodeMode,
    pub ready_for_client_mode: bool,
    /// The `dpdkvhostuser` interfaces, sorted.
    pub legacy_ports: Vec<String>,
    /// Domains with a vhostuser interface in `mode='client'` or under Open vSwitch's run
    /// directory, sorted; on a nova compute node each needs a cold migration.
    pub legacy_domains: Vec<String>,
    /// Pairs whose two sides disagree on the mode or the path.
    pub mismatches: usize,
    /// Findings by severity name; every severity is present.
    pub counts: BTreeMap<&'static str, usize>,
    /// The ids of the findings that make the node not ready, sorted, each once.
    pub blockers: Vec<String>,
}

/// Whether a finding keeps the node from being ready for client mode.
#[must_use]
pub fn blocks_readiness(finding: &Finding) -> bool {
    finding.severity >= Severity::Error && finding.id.blocks_readiness()
}

#[must_use]
pub fn verdict(facts: &Facts, pairs: &[Pair], findings: &[Finding]) -> Verdict {
    let interfaces = facts
        .ovs
        .as_ref()
        .map_or(&[][..], |o| o.interfaces.as_slice());
    let client = interfaces.iter().any(|i| i.kind.is_client());
    let mut legacy_ports: Vec<String> = interfaces
        .iter()
        .filter(|i| i.kind.is_legacy())
        .map(|i| i.name.clone())
        .collect();
    legacy_ports.sort();
    legacy_ports.dedup();
    let mode = match (client, !legacy_ports.is_empty()) {
        (true, true) => NodeMode::Mixed,
        (true, false) => NodeMode::Client,
        (false, true) => NodeMode::Legacy,
        (false, false) => NodeMode::None,
    };
    let rundir = if facts.ovs_rundir.path.is_empty() {
        DEFAULT_OVS_RUNDIR
    } else {
        facts.ovs_rundir.path.as_str()
    };
    let mismatches = pairs
        .iter()
        .filter(|p| {
            matches!(
                p.verdict,
                pairing::Verdict::MismatchedMode | pairing::Verdict::MismatchedPath
            )
        })
        .count();
    let mut counts: BTreeMap<&'static str, usize> =
        Severity::ALL.into_iter().map(|s| (s.as_str(), 0)).collect();
    let mut blockers = BTreeSet::new();
    for finding in findings {
        *counts.entry(finding.severity.as_str()).or_default() += 1;
        if blocks_readiness(finding) {
            blockers.insert(finding.id.as_str().to_owned());
        }
    }
    Verdict {
        mode,
        ready_for_client_mode: blockers.is_empty(),
        legacy_ports,
        legacy_domains: legacy_domains(facts, rundir),
        mismatches,
        counts,
        blockers: blockers.into_iter().collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::checks::{self, CATALOGUE};
    use super::*;
    use crate::OvsType;
    use crate::audit::Source;
    use crate::audit::facts::Expected;
    use crate::libvirt::SourceMode;

    use crate::audit::pairing::pair;

    use crate::audit::checks::fixture::{healthy as node, make_first_legacy};

    fn judge(facts: &Facts, expected: &Expected) -> Verdict {
        let pairs = pair(facts, &expected.ovs_rundir);
        let findings = checks::run(facts, expected, &pairs);
        verdict(facts, &pairs, &findings)
    }

    #[test]
    fn readiness_is_what_the_doc_comment_lists() {
        let ids: Vec<&str> = READINESS.iter().map(|id| id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ovsdb_unavailable",
                "sysconfig_unreadable",
                "dpdk_not_initialized",
                "client_type_unsupported",
                "vhost_sock_dir_invalid",
                "ovs_user_missing",
                "ovs_group_missing",
                "ovs_user_not_in_group",
                "hugetlbfs_missing",
                "hugetlbfs_gid",
                "gid_collision",
                "group_mismatch",
                "qemu_conf_unreadable",
                "qemu_conf_duplicate",
                "qemu_conf_group_unset",
                "socket_dir_missing",
                "socket_dir_not_directory",
                "socket_dir_owner",
                "socket_dir_group",
                "socket_dir_mode",
                "socket_dir_selinux",
                "ovs_dirs_ownership",
                "vswitchd_stale_ids",
            ]
        );
        for check in CATALOGUE {
            assert_eq!(READINESS.contains(&check.id), check.id.blocks_readiness());
        }
    }

    #[test]
    fn healthy_client_node_is_ready() {
        let (facts, expected) = node();
        let v = judge(&facts, &expected);
        assert_eq!(v.mode, NodeMode::Client);
        assert!(v.ready_for_client_mode, "{:?}", v.blockers);
        assert!(v.blockers.is_empty());
        assert!(v.legacy_ports.is_empty() && v.legacy_domains.is_empty());
        assert_eq!(v.mismatches, 0);
        assert_eq!(v.counts.len(), 4);
        assert_eq!(
            v.counts["error"] + v.counts["critical"] + v.counts["warning"],
            0
        );
    }

    #[test]
    fn legacy_node() {
        let (mut facts, expected) = node();
        for iface in &mut facts.ovs.as_mut().unwrap().interfaces {
            iface.kind = OvsType::DpdkVhostUser;
        }
        for domain in facts.domains.as_mut().unwrap() {
            domain.interfaces[0].mode = Some(SourceMode::Client);
        }
        for qemu in &mut facts.qemus {
            qemu.vhost_user[0].server = false;
        }
        let v = judge(&facts, &expected);
        assert_eq!(v.mode, NodeMode::Legacy);
        assert_eq!(v.legacy_ports, vec!["vhu1", "vhu2"]);
        assert_eq!(
            v.legacy_domains,
            vec!["instance-00000001", "instance-00000002"]
        );
        // The domains still point at the client socket paths: a path mismatch each.
        assert_eq!(v.mismatches, 2);
        // Legacy ports alone do not block readiness: the node's setup is still right.
        assert!(v.ready_for_client_mode, "{:?}", v.blockers);
        assert!(v.counts["error"] >= 1);
    }

    #[test]
    fn mixed_node_lists_legacy_port_and_domain() {
        let (mut facts, expected) = node();
        make_first_legacy(&mut facts);
        let v = judge(&facts, &expected);
        assert_eq!(v.mode, NodeMode::Mixed);
        assert_eq!(v.legacy_ports, vec!["vhu1"]);
        assert_eq!(v.legacy_domains, vec!["instance-00000001"]);
        assert_eq!(v.mismatches, 0);
    }

    #[test]
    fn no_vhost_user_ports_is_none() {
        let (mut facts, expected) = node();
        facts.ovs.as_mut().unwrap().interfaces.clear();
        facts.domains = Source::Read(Vec::new());
        facts.qemus.clear();
        let v = judge(&facts, &expected);
        assert_eq!(v.mode, NodeMode::None);
        assert!(v.ready_for_client_mode);
    }

    #[test]
    fn ovsdb_unreadable_is_none_and_not_ready() {
        let (mut facts, expected) = node();
        facts.ovs = Source::Unavailable("refused".into());
        let v = judge(&facts, &expected);
        assert_eq!(v.mode, NodeMode::None);
        assert!(!v.ready_for_client_mode);
        assert_eq!(v.blockers, vec!["ovsdb_unavailable"]);
        assert_eq!(v.counts["critical"], 1);
    }

    #[test]
    fn not_ready_lists_each_blocker_once_sorted() {
        let (mut facts, expected) = node();
        facts.socket_dir.mode = Some(0o755);
        facts.qemu_conf.group = Some("qemu".into());
        facts.accounts.qemu_group_gid = Some(107);
        facts.ovs.as_mut().unwrap().dpdk_initialized = Some(false);
        // Two broken sockets give two socket_group findings, which do not block.
        for socket in facts.sockets.values_mut() {
            socket.file.gid = Some(107);
        }
        let v = judge(&facts, &expected);
        assert!(!v.ready_for_client_mode);
        assert_eq!(
            v.blockers,
            vec!["dpdk_not_initialized", "group_mismatch", "socket_dir_mode"]
        );
    }

    #[test]
    fn warnings_never_block() {
        // A host whose hugetlbfs has its own GID (987), used consistently everywhere: it works
        // on bare metal, and only warns that containers would disagree.
        let (mut facts, expected) = node();
        let gid = Some(987);
        let accounts = &mut facts.accounts;
        (
            accounts.group_gid,
            accounts.ovs_group_gid,
            accounts.qemu_group_gid,
        ) = (gid, gid, gid);
        accounts.gid_holder = None;
        facts.socket_dir.gid = gid;
        facts.hugepages.gid = gid;
        for socket in facts.sockets.values_mut() {
            socket.file.gid = gid;
        }
        for daemon in &mut facts.daemons {
            (daemon.gid, daemon.groups) = (987, vec![987]);
        }
        for qemu in &mut facts.qemus {
            (qemu.process.gid, qemu.process.groups) = (987, vec![987]);
        }
        let v = judge(&facts, &expected);
        assert_eq!(v.counts["warning"], 1, "{v:?}");
        assert_eq!(v.counts["error"], 0);
        assert!(v.ready_for_client_mode);
    }

    #[test]
    fn severity_names_match_serde() {
        for s in Severity::ALL {
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::from(s.as_str())
            );
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn verdict_serializes() {
        let (facts, expected) = node();
        let json = serde_json::to_value(judge(&facts, &expected)).unwrap();
        assert_eq!(json["mode"], "client");
        assert_eq!(json["ready_for_client_mode"], true);
        assert_eq!(json["counts"]["critical"], 0);
    }
}
