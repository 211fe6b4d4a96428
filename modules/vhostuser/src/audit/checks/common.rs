//! What every check shares: the context worked out once, how a finding is added, and the
//! path, mode and group rules their messages use. The check files import this one, never
//! `checks.rs`, so no file imports the file that includes it.

use super::catalogue::CheckId;
use crate::audit::facts::{Expected, Facts, PathFacts};
use crate::audit::finding::{Finding, Severity};
use crate::audit::pairing::Pair;
use crate::identity::LibvirtId;

/// What every check needs, worked out once.
pub(super) struct Ctx<'a> {
    pub(super) facts: &'a Facts,
    pub(super) expected: &'a Expected,
    pub(super) pairs: &'a [Pair],
    /// `OVS_USER_ID`'s user and group; `None` when the file could not be read, so nobody knows.
    pub(super) ovs_ids: Option<(String, String)>,
    /// The GID the shared group has on this host (or should have, when it is missing).
    pub(super) shared_gid: u32,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(facts: &'a Facts, expected: &'a Expected, pairs: &'a [Pair]) -> Ctx<'a> {
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
    pub(super) fn ovs_non_root(&self) -> Option<(&str, &str)> {
        self.ovs_ids
            .as_ref()
            .filter(|(u, _)| u != "root")
            .map(|(u, g)| (u.as_str(), g.as_str()))
    }

    /// Whether QEMU runs as root (qemu.conf `user = "root"` or `"+0"`).
    pub(super) fn qemu_runs_as_root(&self) -> bool {
        self.facts
            .qemu_conf
            .user
            .as_deref()
            .is_some_and(|user| user == "root" || LibvirtId::parse(user) == LibvirtId::Numeric(0))
    }

    /// The rundir as the expected options give it.
    pub(super) fn rundir(&self) -> &str {
        &self.expected.ovs_rundir
    }
}

/// Adds a finding.
pub(super) fn push(
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
pub(super) fn octal(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// `/var/run` is a link to `/run` on every distribution this runs on; compare paths as if
/// both were spelled `/run`.
pub(super) fn normalize(path: &str) -> &str {
    path.strip_prefix("/var")
        .filter(|rest| rest.starts_with("/run/") || *rest == "/run")
        .unwrap_or(path)
}

/// Whether `path` is `dir` or inside it.
pub(super) fn is_under(path: &str, dir: &str) -> bool {
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
pub(super) fn describe_group(name: Option<&str>, gid: Option<u32>) -> String {
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
pub(super) fn path_in_group(path: &PathFacts, name: &str, gid: Option<u32>) -> Option<bool> {
    match (path.gid, gid) {
        (Some(have), Some(want)) => Some(have == want),
        _ => path.group.as_deref().map(|g| g == name),
    }
}

/// Whether a member of the file's group, or anyone, may read and write it.
pub(super) fn group_or_other_rw(mode: u32) -> (bool, bool) {
    (mode & 0o060 == 0o060, mode & 0o006 == 0o006)
}

/// A short list of names for a message: the first ten, then how many more.
pub(super) fn short_list(names: &[String]) -> String {
    crate::text::short_list(names, crate::SAMPLE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
