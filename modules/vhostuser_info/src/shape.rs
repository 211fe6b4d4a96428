//! The result's shape: proportionate to the problems found, not to the node's size. Findings
//! come grouped (one per check and severity, with their subjects); each interface appears once,
//! in the pairing table; the raw rows behind it (every OvS interface, every socket, each
//! domain's and each QEMU's interfaces) only with `details: true`.

use std::collections::BTreeMap;

use ansible_module::ModuleResult;
use serde_json::{Value, json};
use vhostuser::audit::facts::Facts;
use vhostuser::audit::pairing::Pair;
use vhostuser::audit::{FindingGroup, verdict};

/// Sets every return value the sidecar's RETURN documents.
pub(crate) fn fill(
    result: &mut ModuleResult,
    facts: &Facts,
    verdict: &verdict::Verdict,
    groups: &[FindingGroup],
    pairs: &[Pair],
    details: bool,
) {
    result
        .set("verdict", verdict)
        .set("findings", groups)
        .set("pairs", pairs)
        .set("ovs", ovs(facts, details))
        .set("socket_dir", &facts.socket_dir)
        .set("ovs_rundir", &facts.ovs_rundir)
        .set("hugepages", &facts.hugepages)
        .set("domains", domains(facts, details))
        .set(
            "processes",
            json!({"ovs": facts.daemons, "qemu": qemus(facts, details)}),
        )
        .set("qemu_conf", &facts.qemu_conf)
        .set("ovs_user_id", &facts.sysconfig)
        .set("accounts", &facts.accounts)
        .set(
            "selinux",
            if facts.selinux_enabled {
                "enabled"
            } else {
                "not enabled"
            },
        )
        .set("unavailable", facts.unavailable_all());
    if details {
        result.set("sockets", &facts.sockets);
    }
}

/// Open vSwitch's settings, and its vhost-user interfaces counted by type (listed with details).
fn ovs(facts: &Facts, details: bool) -> Value {
    let Some(ovs) = facts.ovs.as_ref() else {
        return Value::Null;
    };
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for iface in &ovs.interfaces {
        *by_type.entry(iface.kind.as_str()).or_default() += 1;
    }
    let mut out = json!({
        "ovs_version": ovs.ovs_version,
        "dpdk_initialized": ovs.dpdk_initialized,
        "iface_types": ovs.iface_types,
        "other_config": ovs.other_config,
        "interface_count": by_type,
    });
    if details {
        out["interfaces"] = json!(ovs.interfaces);
    }
    out
}

/// Each domain with how many vhost-user interfaces it has (listed with details: the pairing
/// table already holds each one with its OvS side).
fn domains(facts: &Facts, details: bool) -> Value {
    let Some(domains) = facts.domains.as_ref() else {
        return Value::Null;
    };
    if details {
        return json!(domains);
    }
    domains
        .iter()
        .map(|d| {
            // Every fact but the interface rows: uuid, nova's metadata and the live-swap
            // verdict are what the roles and the report read per domain.
            let mut domain = json!(d);
            domain["interfaces"] = json!(d.interfaces.len());
            domain
        })
        .collect()
}

/// Running QEMUs with their credentials; their vhost-user sockets only with details (the
/// pairing table's `qemu` side has each one).
fn qemus(facts: &Facts, details: bool) -> Value {
    let mut qemus = json!(facts.qemus);
    if !details {
        for q in qemus.as_array_mut().into_iter().flatten() {
            if let Some(obj) = q.as_object_mut() {
                let count = obj
                    .get("vhost_user")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                obj.insert("vhost_user".into(), count.into());
            }
        }
    }
    qemus
}

/// The first five subjects of a group for a message, then how many more.
pub(crate) fn short_list(subjects: &[String]) -> String {
    vhostuser::text::short_list(subjects, 5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_list_names_five_then_counts() {
        let names: Vec<String> = (0..7).map(|i| format!("vhu{i}")).collect();
        assert_eq!(short_list(&names[..2]), "vhu0, vhu1");
        assert_eq!(
            short_list(&names),
            "vhu0, vhu1, vhu2, vhu3, vhu4 and 2 more"
        );
    }
}
