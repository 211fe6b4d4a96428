//! libvirt's `qemu.conf`: whether it parses, duplicate keys (the first occurrence wins), and
//! whether it sets the group QEMU runs with.

use super::common::{Ctx, push};
use crate::audit::checks::CheckId;
use crate::audit::finding::{
    Finding,
    Severity::{Error, Warning},
};

/// Keys whose duplicates decide which user or group QEMU runs as.
const IDENTITY_KEYS: &[&str] = &["user", "group"];

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    let conf = &ctx.facts.qemu_conf;
    let path = if conf.path.is_empty() {
        "qemu.conf"
    } else {
        conf.path.as_str()
    };
    if let Some(error) = &conf.error {
        push(
            out,
            CheckId::QemuConfUnreadable,
            Error,
            path,
            format!(
                "{path} could not be read or parsed: {error}. libvirtd refuses to start QEMU \
                 with a qemu.conf it cannot parse, and the audit cannot tell which user and \
                 group QEMU runs as."
            ),
            "fix the syntax (values are quoted: group = \"hugetlbfs\"; the error names the \
             line), or let nfv.vhostuser.qemu_conf write the settings; on TripleO the file is \
             the nova_libvirt container's (puppet-generated)",
        );
        return;
    }
    for dup in &conf.duplicates {
        let lines: Vec<String> = dup.lines.iter().map(ToString::to_string).collect();
        let first = lines.first().map_or("?", String::as_str);
        let ignored = lines.get(1..).unwrap_or_default().join(", ");
        let key = dup.key.as_str();
        let identity = IDENTITY_KEYS.contains(&key);
        let why = if identity {
            format!(
                " It decides the {key} QEMU runs as: whoever appended the later line to \
                 change it changed nothing, and the VMs keep creating sockets that Open vSwitch \
                 may not open."
            )
        } else {
            String::new()
        };
        push(
            out,
            CheckId::QemuConfDuplicate,
            if identity { Error } else { Warning },
            format!("{path}: {key}"),
            format!(
                "'{key}' is set on lines {}. libvirt uses the FIRST one (line {first}) and \
                 silently ignores line(s) {ignored}.{why}",
                lines.join(", ")
            ),
            format!(
                "keep one '{key}' line with the value you want: nfv.vhostuser.qemu_conf \
                 {key}=... edits the first occurrence and comments out the others; then restart \
                 libvirtd (or virtqemud)"
            ),
        );
    }
    if conf.present && conf.group.is_none() {
        let group = &ctx.expected.group;
        push(
            out,
            CheckId::QemuConfGroupUnset,
            Error,
            format!("{path}: group"),
            format!(
                "{path} has no active 'group' setting, so QEMU runs with libvirt's built-in \
                 group (qemu on RHEL, libvirt-qemu on Debian), not '{group}'. Its \
                 dpdkvhostuserclient sockets get that group, and a non-root Open vSwitch in \
                 '{group}' cannot connect to them."
            ),
            format!(
                "nfv.vhostuser.qemu_conf group={group}, then restart libvirtd; each VM gets \
                 the group at its next start"
            ),
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::fixture::{healthy, only};
    use crate::audit::checks::CheckId;
    use crate::audit::finding::Severity;
    use crate::qemu_conf::Duplicate;

    #[test]
    fn unreadable() {
        let (mut facts, expected) = healthy();
        facts.qemu_conf.error = Some("line 12, column 9: expecting a value".into());
        facts.qemu_conf.group = None;
        let found = only(&facts, &expected, CheckId::QemuConfUnreadable);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("line 12"));
        // Not also "group unset": the file said nothing readable.
        assert!(only(&facts, &expected, CheckId::QemuConfGroupUnset).is_empty());
    }

    #[test]
    fn readable_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::QemuConfUnreadable).is_empty());
    }

    #[test]
    fn group_duplicate_is_an_error_naming_the_winning_line() {
        let (mut facts, expected) = healthy();
        facts.qemu_conf.duplicates = vec![Duplicate {
            key: "group".into(),
            lines: vec![447, 910],
        }];
        let found = only(&facts, &expected, CheckId::QemuConfDuplicate);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Error);
        assert!(found[0].message.contains("FIRST one (line 447)"));
        assert!(found[0].message.contains("ignores line(s) 910"));
    }

    #[test]
    fn other_duplicate_is_a_warning() {
        let (mut facts, expected) = healthy();
        facts.qemu_conf.duplicates = vec![Duplicate {
            key: "security_driver".into(),
            lines: vec![3, 4, 9],
        }];
        let found = only(&facts, &expected, CheckId::QemuConfDuplicate);
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(found[0].message.contains("ignores line(s) 4, 9"));
    }

    #[test]
    fn no_duplicates_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::QemuConfDuplicate).is_empty());
    }

    #[test]
    fn group_unset() {
        let (mut facts, expected) = healthy();
        facts.qemu_conf.group = None;
        facts.accounts.qemu_group_gid = None;
        assert_eq!(
            only(&facts, &expected, CheckId::QemuConfGroupUnset).len(),
            1
        );
    }

    #[test]
    fn group_set_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::QemuConfGroupUnset).is_empty());
    }
}
