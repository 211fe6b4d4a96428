//! The result: the domain, its selected interfaces before and after, what was done, and one
//! sentence that says it with both sides of each pairing named.

use ansible_module::ModuleResult;
use serde::Serialize;
use vhostuser::OvsType;
use vhostuser::libvirt::{DomainInfo, SourceMode};

use crate::live::Swapped;
use crate::select::Planned;

/// The domain's QEMU before a live swap, and whether the same process runs after it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SameQemu {
    pub pid: u32,
    /// Clock ticks after boot (`/proc/<pid>/stat` field 22).
    pub start_time: Option<u64>,
    pub same_process: bool,
}

/// What the run did (or, in check mode, would do), for the result.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub definition_changed: bool,
    pub restart_required: bool,
    pub restarted: bool,
    pub forced_off: bool,
    /// `restart` or `live`.
    pub method: &'static str,
    /// Check mode: the ports whose interfaces would be swapped live.
    pub live_pending: Vec<String>,
    /// The interfaces swapped live, with their timings.
    pub live_swap: Vec<Swapped>,
    pub qemu: Option<SameQemu>,
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
        .set("forced_off", outcome.forced_off)
        .set("method", outcome.method)
        .set("live_swap", &outcome.live_swap)
        .set(
            "gap_s",
            outcome.live_swap.iter().map(|s| s.gap_s).reduce(f64::max),
        )
        .set("qemu", &outcome.qemu);
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
                p.after.mode.map_or("?", SourceMode::as_str),
                p.after.path.as_deref().unwrap_or("?"),
                p.after
                    .ovs_type()
                    .map_or("no Open vSwitch type", OvsType::as_str)
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
    if !outcome.live_swap.is_empty() {
        let gaps: Vec<String> = outcome
            .live_swap
            .iter()
            .map(|s| {
                format!(
                    "{} gap {:.2}s{}",
                    s.port,
                    s.gap_s,
                    if s.connected_s.is_some() {
                        ""
                    } else {
                        " (connected not seen)"
                    }
                )
            })
            .collect();
        text = format!(
            "{text}; swapped live without a restart{}: {}",
            match &outcome.qemu {
                Some(q) if q.same_process => format!(" (same QEMU, pid {})", q.pid),
                _ => String::new(),
            },
            gaps.join(", ")
        );
    } else if !outcome.live_pending.is_empty() {
        text = format!(
            "{text}; would be swapped live without a restart: {}",
            outcome.live_pending.join(", ")
        );
    } else if outcome.restarted {
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
