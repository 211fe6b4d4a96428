//! libvirt domains: those still on the legacy mode, and the memory vhost-user needs.

use super::common::{Ctx, is_under, push};
use crate::audit::checks::CheckId;
use crate::audit::facts::{DomainFacts, DomainInterface};
use crate::audit::finding::{
    Finding,
    Severity::{Error, Info, Warning},
};
use crate::libvirt::SourceMode;

/// A domain's vhostuser interfaces that are still legacy: `mode='client'` (QEMU connects to a
/// socket Open vSwitch owns) or a socket under Open vSwitch's run directory.
pub(super) fn legacy_interfaces<'a>(
    domain: &'a DomainFacts,
    ovs_rundir: &str,
) -> Vec<&'a DomainInterface> {
    domain
        .interfaces
        .iter()
        .filter(|i| {
            i.mode == Some(SourceMode::Client)
                || i.path.as_deref().is_some_and(|p| is_under(p, ovs_rundir))
        })
        .collect()
}

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    for domain in ctx.facts.domains.iter().flatten() {
        if domain.interfaces.is_empty() {
            continue;
        }
        legacy_domain(ctx, domain, out);
        memory(domain, out);
    }
}

fn legacy_domain(ctx: &Ctx, domain: &DomainFacts, out: &mut Vec<Finding>) {
    let legacy = legacy_interfaces(domain, ctx.rundir());
    if legacy.is_empty() {
        return;
    }
    let described: Vec<String> = legacy
        .iter()
        .map(|i| {
            format!(
                "{} mode='{}'",
                i.path.as_deref().unwrap_or("(no path)"),
                i.mode.map_or("?", SourceMode::as_str)
            )
        })
        .collect();
    push(
        out,
        CheckId::LegacyDomain,
        Warning,
        domain.name.as_str(),
        format!(
            "Domain {name} ({state}) still uses legacy vhost-user on {n} interface(s): {list}. \
             QEMU connects to sockets that Open vSwitch owns, so an OvS restart cuts it, and \
             switching the node to client mode does not convert it: on OpenStack the port \
             binding keeps the old mode until the instance moves.",
            name = domain.name,
            state = if domain.running {
                "running"
            } else {
                "shut off"
            },
            n = legacy.len(),
            list = described.join(", ")
        ),
        format!(
            "OpenStack: cold-migrate the instance (openstack server migrate, then confirm) once \
             the node is ready for client mode; plain libvirt: nfv.vhostuser.vhostuser_domain \
             name={} mode=server socket_dir={} restart=true (each interface on \
             <socket_dir>/<port>), with each port moved by nfv.vhostuser.vhostuser_port \
             type=dpdkvhostuserclient (playbooks/migrate.yml)",
            domain.name, ctx.expected.socket_dir
        ),
    );
}

fn memory(domain: &DomainFacts, out: &mut Vec<Finding>) {
    let name = domain.name.as_str();
    if !domain.shared_memory {
        push(
            out,
            CheckId::SharedMemoryMissing,
            Error,
            name,
            format!(
                "Domain {name} has vhostuser interfaces but its memory is not shared \
                 (no memAccess='shared' and no <access mode='shared'/>). The vhost-user backend \
                 must map the guest's memory; without sharing QEMU logs 'Failed initializing \
                 vhost-user memory map' and the interfaces carry no traffic."
            ),
            "give the domain shared hugepage memory: on OpenStack a flavor with \
             hw:mem_page_size=large (nova then writes memAccess='shared'); on plain libvirt \
             <memoryBacking><hugepages/><access mode='shared'/></memoryBacking>",
        );
    } else if !domain.hugepages {
        push(
            out,
            CheckId::DomainHugepagesMissing,
            Info,
            name,
            format!(
                "Domain {name} shares its memory but not from hugepages. vhost-user works, but \
                 DPDK guests are expected to use large pages (the neutron OVS-DPDK guide: \
                 'guests must request large pages'); small pages cost throughput."
            ),
            "use hugepages (flavor hw:mem_page_size=large, or <hugepages/> in \
             <memoryBacking>)",
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::fixture::{healthy, make_first_legacy, only};
    use crate::audit::checks::CheckId;

    #[test]
    fn legacy_domain_by_mode() {
        let (mut facts, expected) = healthy();
        make_first_legacy(&mut facts);
        let found = only(&facts, &expected, CheckId::LegacyDomain);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].subject, "instance-00000001");
        assert!(found[0].fix.contains("cold-migrate"));
        assert!(found[0].fix.contains(
            "nfv.vhostuser.vhostuser_domain name=instance-00000001 mode=server \
             socket_dir=/var/lib/vhost_sockets restart=true"
        ));
    }

    #[test]
    fn legacy_domain_by_path_under_the_rundir() {
        let (mut facts, expected) = healthy();
        // mode='server' but in /run/openvswitch (spelled without /var): still legacy.
        facts.domains.as_mut().unwrap()[1].interfaces[0].path =
            Some("/run/openvswitch/vhu2".into());
        let found = only(&facts, &expected, CheckId::LegacyDomain);
        assert_eq!(found[0].subject, "instance-00000002");
    }

    #[test]
    fn client_mode_domains_are_not_legacy() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::LegacyDomain).is_empty());
    }

    #[test]
    fn shared_memory_missing() {
        let (mut facts, expected) = healthy();
        facts.domains.as_mut().unwrap()[0].shared_memory = false;
        let found = only(&facts, &expected, CheckId::SharedMemoryMissing);
        assert_eq!(found.len(), 1);
        assert!(only(&facts, &expected, CheckId::DomainHugepagesMissing).is_empty());
    }

    #[test]
    fn shared_memory_needs_vhostuser_interfaces() {
        let (mut facts, expected) = healthy();
        let domains = facts.domains.as_mut().unwrap();
        domains[0].shared_memory = false;
        domains[0].interfaces.clear();
        assert!(only(&facts, &expected, CheckId::SharedMemoryMissing).is_empty());
    }

    #[test]
    fn domain_without_hugepages_is_info() {
        let (mut facts, expected) = healthy();
        facts.domains.as_mut().unwrap()[1].hugepages = false;
        assert_eq!(
            only(&facts, &expected, CheckId::DomainHugepagesMissing).len(),
            1
        );
    }

    #[test]
    fn domain_with_hugepages_is_fine() {
        let (facts, expected) = healthy();
        assert!(only(&facts, &expected, CheckId::DomainHugepagesMissing).is_empty());
    }
}
