//! The audit's checks: pure functions from the collected facts (and the pairing table) to
//! findings. Each area of the node has its own file; `run` calls them all in a fixed order, so
//! the same facts always give the same findings in the same order.
//!
//! Every check id is listed in `CATALOGUE` with the highest severity it can report. A few
//! checks report a lower severity for the milder case (see their titles).
//!
//! A check only judges what was seen: a source that could not be read gives its own finding
//! (`ovsdb_unavailable`, `libvirt_unavailable`, ...) and the checks that need it stay silent,
//! rather than reporting every port as broken.

mod accounts;
pub(crate) mod catalogue;
mod common;
mod domains;
mod ovs;
mod pairs;
mod paths;
mod processes;
mod qemu_conf;
mod sockets;
mod sources;

#[cfg(test)]
mod coverage;
#[cfg(test)]
pub(crate) mod fixture;

use super::facts::{Expected, Facts};
use super::finding::Finding;
use super::pairing::Pair;

pub use catalogue::{CATALOGUE, Check, CheckId};

use common::Ctx;

/// Runs every check, in catalogue order.
#[must_use]
pub fn run(facts: &Facts, expected: &Expected, pairs: &[Pair]) -> Vec<Finding> {
    let ctx = Ctx::new(facts, expected, pairs);
    let mut out = Vec::new();
    sources::check(&ctx, &mut out);
    ovs::check(&ctx, &mut out);
    accounts::check(&ctx, &mut out);
    qemu_conf::check(&ctx, &mut out);
    paths::check(&ctx, &mut out);
    processes::check(&ctx, &mut out);
    pairs::check(&ctx, &mut out);
    sockets::check(&ctx, &mut out);
    domains::check(&ctx, &mut out);
    out
}

/// The domains that still use legacy vhost-user: any vhostuser interface with libvirt
/// `mode='client'` (QEMU connects to a socket OvS owns) or a path under Open vSwitch's run
/// directory. On a nova compute node each one needs a cold migration. Sorted by name.
#[must_use]
pub fn legacy_domains(facts: &Facts, ovs_rundir: &str) -> Vec<String> {
    let mut names: Vec<String> = facts
        .domains
        .iter()
        .flatten()
        .filter(|d| !domains::legacy_interfaces(d, ovs_rundir).is_empty())
        .map(|d| d.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeSet;

    use super::fixture::{self, healthy, ids_of, run_on};
    use super::*;
    use crate::OvsType;
    use crate::audit::finding::Severity;
    use crate::libvirt::SourceMode;

    #[test]
    fn catalogue_ids_are_unique_snake_case() {
        let mut seen = BTreeSet::new();
        for c in CATALOGUE {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(
                c.id.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{} is not snake_case",
                c.id
            );
            assert!(!c.title.is_empty());
        }
    }

    #[test]
    fn healthy_node_has_no_findings_above_info() {
        let (facts, expected) = healthy();
        let findings = run_on(&facts, &expected);
        let loud: Vec<_> = findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .collect();
        assert!(loud.is_empty(), "{loud:#?}");
    }

    #[test]
    fn findings_stay_within_their_catalogue_row() {
        // A node broken in many ways at once: every finding is in the catalogue, no finding is
        // louder than its row, and each says what, why and how to fix it.
        let (mut facts, expected) = healthy();
        facts.ovs.as_mut().unwrap().interfaces[0].kind = OvsType::DpdkVhostUser;
        facts.qemu_conf.group = Some("qemu".into());
        facts.accounts.qemu_group_gid = Some(107);
        facts.socket_dir.mode = Some(0o755);
        facts.unavailable.insert("selinux".into(), "no".into());
        let findings = run_on(&facts, &expected);
        for f in &findings {
            let row = CATALOGUE.iter().find(|c| c.id == f.id).unwrap();
            assert!(f.severity <= row.severity, "{f:?}");
            assert!(!f.message.is_empty() && !f.fix.is_empty() && !f.subject.is_empty());
        }
        assert!(ids_of(&findings).len() > 4);
    }

    #[test]
    fn thousands_of_ports_stay_quiet_and_cheap() {
        // Pairing and checks use maps, so this runs in well under a second even unoptimised.
        let (mut facts, expected) = healthy();
        let (ovs, domains) = (facts.ovs.as_mut().unwrap(), facts.domains.as_mut().unwrap());
        for i in 3..3000 {
            let port = format!("vhu{i}");
            let guest = format!("instance-{i:08x}");
            ovs.interfaces.push(fixture::client_iface(&port));
            domains.push(fixture::domain(&guest, &port));
            facts.qemus.push(fixture::qemu(10_000 + i, &guest, &port));
            let path = format!("{}/{port}", fixture::SOCKET_DIR);
            facts.sockets.insert(path.clone(), fixture::socket(&path));
        }
        let findings = run_on(&facts, &expected);
        assert!(
            findings.iter().all(|f| f.severity == Severity::Info),
            "{findings:?}"
        );
    }

    #[test]
    fn run_is_deterministic() {
        let (mut facts, expected) = healthy();
        facts.ovs.as_mut().unwrap().interfaces[1].kind = OvsType::DpdkVhostUser;
        assert_eq!(run_on(&facts, &expected), run_on(&facts, &expected));
    }

    #[test]
    fn legacy_domains_are_sorted_and_unique() {
        let (mut facts, _) = healthy();
        let domains = facts.domains.as_mut().unwrap();
        domains[1].interfaces[0].mode = Some(SourceMode::Client);
        domains[0].interfaces[0].path = Some("/run/openvswitch/vhu1".into());
        assert_eq!(
            legacy_domains(&facts, "/var/run/openvswitch"),
            vec![
                "instance-00000001".to_owned(),
                "instance-00000002".to_owned()
            ]
        );
    }
}
