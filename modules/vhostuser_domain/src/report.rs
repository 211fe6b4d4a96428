//! The result: the domain, its selected interfaces before and after, what was done, and one
//! sentence that says it with both sides of each pairing named.

use ansible_module::ModuleResult;
use vhostuser::libvirt::DomainInfo;

use crate::select::Planned;

/// What the run did (or, in check mode, would do), for the result.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub definition_changed: bool,
    pub restart_required: bool,
    pub restarted: bool,
    pub forced_off: bool,
}

pub(crate) fn report(
    result: &mut ModuleResult,
    name: &str,
    info: &DomainInfo,
    planned: &[Planned],
    outcome: &Outcome,
    check_mode: bool,
) {
    let interfaces: Vec<_> = planned.iter().map(Planned::reported).collect();
    result
        .set("domain", name)
        .set("state", &info.state)
        .set("interfaces", &interfaces)
        .set("definition_changed", outcome.definition_changed)
        .set("restart_required", outcome.restart_required)
        .set("restarted", outcome.restarted)
        .set("forced_off", outcome.forced_off);
    result.msg = Some(summary(name, planned, outcome, check_mode));
}

fn summary(name: &str, planned: &[Planned], outcome: &Outcome, check_mode: bool) -> String {
    let changed: Vec<String> = planned
        .iter()
        .filter(|p| p.changes())
        .map(|p| {
            format!(
                "{} mode={} path={} (pairs with {})",
                p.port.as_deref().or(p.mac.as_deref()).unwrap_or("?"),
                p.after.mode.as_deref().unwrap_or("?"),
                p.after.path.as_deref().unwrap_or("?"),
                p.after.ovs_type().unwrap_or("no Open vSwitch type")
            )
        })
        .collect();
    let would = if check_mode { "would be " } else { "" };
    let mut text = if changed.is_empty() {
        format!(
            "domain {name}: its {} vhost-user interface(s) already have the wanted mode and path",
            planned.len()
        )
    } else {
        format!(
            "domain {name}: {} interface(s) {would}defined anew: {}",
            changed.len(),
            changed.join(", ")
        )
    };
    if outcome.restarted {
        text = format!(
            "{text}; {would}restarted{} so that QEMU uses the new sockets",
            if outcome.forced_off {
                " (powered off after the shutdown timeout)"
            } else {
                ""
            }
        );
    } else if outcome.restart_required {
        text.push_str(
            "; restart required: the running QEMU keeps its old vhost-user sockets until the \
             domain is shut down and started again (restart: true)",
        );
    }
    text
}
