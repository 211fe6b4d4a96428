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

use super::facts::{Expected, Facts, PathFacts};
use super::finding::{Finding, Severity};
use super::pairing::Pair;
use crate::identity::LibvirtId;

pub use catalogue::{CATALOGUE, Check, CheckId};

use Severity::{Critical, Error, Info, Warning};

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

/// What every check needs, worked out once.
struct Ctx<'a> {
    facts: &'a Facts,
    expected: &'a Expected,
    pairs: &'a [Pair],
    /// `OVS_USER_ID`'s user and group; `None` when the file could not be read, so nobody knows.
    ovs_ids: Option<(String, String)>,
    /// The GID the shared group has on this host (or should have, when it is missing).
    shared_gid: u32,
}

impl<'a> Ctx<'a> {
    fn new(facts: &'a Facts, expected: &'a Expected, pairs: &'a [Pair]) -> Ctx<'a> {
        let readable = facts.sysconfig.error.is_none();
        Ctx {
            facts,
            expected,
            pairs,
            ovs_ids: readable.then(|| facts.sysconfig.ovs_ids()),
            shared_gid: facts.accounts.group_gid.unwrap_or(expected.gid),
        }
    }

    /// The user and group Open vSwitch runs as, when known and not root (root opens any
    /// socket and any directory, so the permission checks do not apply to it).
    fn ovs_non_root(&self) -> Option<(&str, &str)> {
        self.ovs_ids
            .as_ref()
            .filter(|(u, _)| u != "root")
            .map(|(u, g)| (u.as_str(), g.as_str()))
    }

    /// Whether QEMU runs as root (qemu.conf `user = "root"` or `"+0"`).
    fn qemu_runs_as_root(&self) -> bool {
        self.facts
            .qemu_conf
            .user
            .as_deref()
            .is_some_and(|user| user == "root" || LibvirtId::parse(user) == LibvirtId::Numeric(0))
    }

    /// The rundir as the expected options give it.
    fn rundir(&self) -> &str {
        &self.expected.ovs_rundir
    }
}

/// Adds a finding.
fn push(
    out: &mut Vec<Finding>,
    id: CheckId,
    severity: Severity,
    subject: impl Into<String>,
    message: impl Into<String>,
    fix: impl Into<String>,
) {
    out.push(Finding::new(id, severity, subject, message, fix));
}

/// Permission bits as `0775`.
fn octal(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// `/var/run` is a link to `/run` on every distribution this runs on; compare paths as if
/// both were spelled `/run`.
fn normalize(path: &str) -> &str {
    path.strip_prefix("/var")
        .filter(|rest| rest.starts_with("/run/") || *rest == "/run")
        .unwrap_or(path)
}

/// Whether `path` is `dir` or inside it.
fn is_under(path: &str, dir: &str) -> bool {
    let (path, dir) = (normalize(path), normalize(dir.trim_end_matches('/')));
    if dir.is_empty() {
        return false;
    }
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// `name (gid N)`, or whichever half is known.
fn describe_group(name: Option<&str>, gid: Option<u32>) -> String {
    match (name, gid) {
        (Some(n), Some(g)) if n == g.to_string() => format!("gid {g}"),
        (Some(n), Some(g)) => format!("{n} (gid {g})"),
        (Some(n), None) => format!("{n} (no such group here)"),
        (None, Some(g)) => format!("gid {g}"),
        (None, None) => "unknown".to_owned(),
    }
}

/// Whether a file's group is `name` (GID `gid` when known): by GID when both are known, by
/// name otherwise; `None` when the file's group is not known.
fn path_in_group(path: &PathFacts, name: &str, gid: Option<u32>) -> Option<bool> {
    match (path.gid, gid) {
        (Some(have), Some(want)) => Some(have == want),
        _ => path.group.as_deref().map(|g| g == name),
    }
}

/// Whether a member of the file's group, or anyone, may read and write it.
fn group_or_other_rw(mode: u32) -> (bool, bool) {
    (mode & 0o060 == 0o060, mode & 0o006 == 0o006)
}

/// A short list of names for a message: the first ten, then how many more.
fn short_list(names: &[String]) -> String {
    const SHOWN: usize = crate::SAMPLE_SIZE;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeSet;

    use super::fixture::{self, healthy, ids_of, run_on};
    use super::*;
    use crate::OvsType;
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
    fn paths_under_the_rundir_ignore_the_var_run_link() {
        assert!(is_under("/run/openvswitch/vhu1", "/var/run/openvswitch"));
        assert!(is_under("/var/run/openvswitch/vhu1", "/run/openvswitch/"));
        assert!(is_under("/var/run/openvswitch", "/var/run/openvswitch"));
        assert!(!is_under(
            "/var/run/openvswitch2/vhu1",
            "/var/run/openvswitch"
        ));
        assert!(!is_under(
            "/var/lib/vhost_sockets/vhu1",
            "/var/run/openvswitch"
        ));
        assert!(!is_under("/anything", ""));
    }

    #[test]
    fn describe_group_says_what_is_known() {
        assert_eq!(
            describe_group(Some("hugetlbfs"), Some(42477)),
            "hugetlbfs (gid 42477)"
        );
        assert_eq!(describe_group(Some("42477"), Some(42477)), "gid 42477");
        assert_eq!(describe_group(None, None), "unknown");
    }

    #[test]
    fn short_list_cuts_after_ten() {
        let names: Vec<String> = (0..12).map(|i| format!("vm{i}")).collect();
        assert!(short_list(&names).ends_with("vm9 and 2 more"));
        assert_eq!(short_list(&names[..2]), "vm0, vm1");
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
