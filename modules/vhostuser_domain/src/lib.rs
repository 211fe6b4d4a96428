//! `nfv.vhostuser.vhostuser_domain`: a libvirt domain's vhost-user interfaces, QEMU's `mode`
//! on each socket (`server` pairs with Open vSwitch `dpdkvhostuserclient`, `client` with the
//! legacy `dpdkvhostuser`) and the socket `path`. It reads the persistent definition in one
//! virsh process, changes only the `<source>` attributes it manages (every other byte stays as
//! libvirt printed it), defines it again, and then either restarts the domain on request so
//! that QEMU opens the new sockets (`method: restart`), or swaps each changed interface of the
//! running domain for its replacement without a restart (`method: live`, see `live`).

mod live;
mod ports;
mod preflight;
mod report;
mod restart;
mod select;

use std::path::Path;
use std::time::Duration;

use ansible_module::{ArgSpec, Ctx, Diff, Failure, Kind, Lit, ModuleResult, Opt};
use serde::Deserialize;
use vhostuser::libvirt::{
    Definition, DomainInfo, ManageError, Snapshot, SourceMode, Virsh, redact_passwords,
};

use crate::report::{Outcome, report};
use crate::select::{Planned, Wanted};

const OPTIONS: &[Opt] = &[
    Opt::new("name", Kind::Str).required(),
    Opt::new("mac", Kind::List).elements(Kind::Str),
    Opt::new("target", Kind::List).elements(Kind::Str),
    Opt::new("current_path", Kind::List).elements(Kind::Path),
    Opt::new("mode", Kind::Str).choices(&["server", "client"]),
    Opt::new("path", Kind::Path),
    Opt::new("socket_dir", Kind::Path),
    Opt::new("restart", Kind::Bool).default(Lit::Bool(false)),
    Opt::new("shutdown_timeout", Kind::Int).default(Lit::Int(120)),
    Opt::new("force_off", Kind::Bool).default(Lit::Bool(false)),
    Opt::new("virsh_command", Kind::List)
        .elements(Kind::Str)
        .default(Lit::StrList(&["virsh"])),
    Opt::new("libvirt_uri", Kind::Str).default(Lit::Str("qemu:///system")),
    Opt::new("timeout", Kind::Int).default(Lit::Int(30)),
    Opt::new("method", Kind::Str)
        .choices(&["restart", "live"])
        .default(Lit::Str("restart")),
    Opt::new("attach_timeout", Kind::Int).default(Lit::Int(20)),
    Opt::new("ovsdb", Kind::Str).default(Lit::Str("unix:/var/run/openvswitch/db.sock")),
];

/// The module's argument spec; `plugins/modules/vhostuser_domain.yml` documents it.
pub const SPEC: ArgSpec = ArgSpec::new(OPTIONS).mutually_exclusive(&[&["path", "socket_dir"]]);

#[derive(Debug, Deserialize)]
pub struct Params {
    pub name: String,
    pub mac: Option<Vec<String>>,
    pub target: Option<Vec<String>>,
    pub current_path: Option<Vec<String>>,
    pub mode: Option<String>,
    pub path: Option<String>,
    pub socket_dir: Option<String>,
    pub restart: bool,
    pub shutdown_timeout: i64,
    pub force_off: bool,
    pub virsh_command: Vec<String>,
    pub libvirt_uri: String,
    pub timeout: i64,
    pub method: String,
    pub attach_timeout: i64,
    pub ovsdb: String,
}

/// Where the running processes are read.
const PROC: &str = "/proc";

fn virsh_failure(name: &str, e: &ManageError) -> Failure {
    match e {
        ManageError::NoDomain { .. } => Failure::new(format!(
            "{e}: no domain of that name is defined or running; nothing was changed"
        )),
        _ => Failure::new(format!("domain {name}: {e}")),
    }
}

/// Runs the module as Ansible calls it: arguments in, one JSON result out.
#[must_use]
pub fn run_module() -> std::process::ExitCode {
    ansible_module::run(&SPEC, |params, ctx| ensure(&params, ctx))
}

/// The module: plan on the persistent definition, define the edit, restart on request.
pub fn ensure(params: &Params, ctx: &mut Ctx) -> Result<ModuleResult, Failure> {
    let name = params.name.as_str();
    let (virsh, shutdown_timeout) = connection(params)?;
    let (snapshot, definition, live) = read_domain(&virsh, name)?;
    let wanted = Wanted {
        macs: params.mac.as_deref().unwrap_or_default(),
        targets: params.target.as_deref().unwrap_or_default(),
        current_paths: params.current_path.as_deref().unwrap_or_default(),
        mode: params.mode.as_deref().and_then(SourceMode::parse),
        path: params.path.as_deref(),
        socket_dir: params.socket_dir.as_deref(),
    };
    let planned = select::plan(&definition, &wanted).map_err(Failure::new)?;
    let changes: Vec<_> = planned.iter().map(Planned::change).collect();
    let edited = definition
        .with_sources(&changes)
        .map_err(|e| Failure::new(format!("domain {name}: {e}")))?;

    let mut outcome = Outcome {
        definition_changed: edited != definition.xml,
        ..Outcome::default()
    };
    let pending = snapshot.info.active && !runs_as_planned(&live, &planned);
    let live_method = params.method == "live";
    let live_plan = LivePlan::new(
        params,
        &virsh,
        &snapshot.info,
        (&live, &definition),
        &planned,
        pending,
        ctx,
    )?;
    let to_swap = &live_plan.to_swap;

    let mut result = ModuleResult::new(false);
    if outcome.definition_changed {
        result.diff.push(Diff {
            before: redact_passwords(&definition.xml).into(),
            after: redact_passwords(&edited).into(),
            before_header: Some(format!("domain {name} (persistent definition)")),
            after_header: Some(format!("domain {name} (persistent definition)")),
        });
    }
    outcome.method = if live_method { "live" } else { "restart" };
    if ctx.check_mode {
        outcome.restarted = pending && params.restart;
        outcome.restart_required = pending && !params.restart && !live_method;
        outcome.live_pending = to_swap
            .iter()
            .filter_map(|p| p.ovs_port().map(str::to_owned))
            .collect();
        result.changed = outcome.definition_changed || outcome.restarted || !to_swap.is_empty();
        report(&mut result, name, &snapshot.info, &planned, &outcome, true);
        return Ok(result);
    }

    if outcome.definition_changed {
        let stored = virsh
            .define(name, &edited)
            .map_err(|e| virsh_failure(name, &e))?;
        result.changed = true;
        verify_stored(
            name,
            &stored,
            &planned,
            &mut result,
            &snapshot.info,
            &outcome,
        )?;
    }
    let mut info = snapshot.info.clone();
    if let Some(peers) = &live_plan.peers {
        result.changed = true;
        info = live_plan
            .run(&virsh, (&live, &definition), peers, &mut outcome, ctx, info)
            .map_err(|why| {
                let info = virsh.info(name).unwrap_or_else(|_| snapshot.info.clone());
                report(&mut result, name, &info, &planned, &outcome, false);
                Failure::with_result(why, std::mem::take(&mut result))
            })?;
    } else if pending && params.restart {
        let restarted = restart::restart(&virsh, name, shutdown_timeout, params.force_off);
        outcome.forced_off = restarted.forced_off;
        if let Some(why) = restarted.failure {
            outcome.restart_required = restarted.still_running_old;
            result.changed |= restarted.stopped;
            let info = virsh.info(name).unwrap_or(info);
            report(&mut result, name, &info, &planned, &outcome, false);
            return Err(Failure::with_result(why, result));
        }
        outcome.restarted = true;
        result.changed = true;
    } else {
        outcome.restart_required = pending && !live_method;
    }
    if outcome.restarted || outcome.definition_changed {
        info = virsh.info(name).unwrap_or(info);
    }
    report(&mut result, name, &info, &planned, &outcome, false);
    Ok(result)
}

/// What `method: live` will swap, checked before anything changes.
struct LivePlan<'a> {
    to_swap: Vec<&'a Planned>,
    peers: Option<preflight::Peers>,
    ports: ports::PortSwitch,
    settings: live::Settings,
}

impl<'a> LivePlan<'a> {
    fn new(
        params: &Params,
        virsh: &Virsh,
        info: &DomainInfo,
        (live, definition): (&Definition, &Definition),
        planned: &'a [Planned],
        pending: bool,
        ctx: &Ctx,
    ) -> Result<LivePlan<'a>, Failure> {
        let live_method = params.method == "live";
        if live_method && params.restart {
            return Err(Failure::new(
                "restart: true belongs to method: restart; method: live swaps the interfaces of \
                 the running domain without restarting it. Drop one of them; nothing was changed",
            ));
        }
        let settings = live::Settings {
            attach_timeout: ansible_module::positive_seconds(
                "attach_timeout",
                params.attach_timeout,
            )?,
            timeout: ansible_module::positive_seconds("timeout", params.timeout)?,
        };
        let ports = ports::PortSwitch {
            ovsdb: params.ovsdb.clone(),
            timeout: params.timeout,
        };
        let to_swap: Vec<&Planned> = if live_method && pending {
            planned
                .iter()
                .filter(|p| !runs_one_as_planned(live, p))
                .collect()
        } else {
            Vec::new()
        };
        let peers = if to_swap.is_empty() {
            None
        } else {
            Some(live_preflight(
                virsh, info, live, definition, &to_swap, &ports, ctx,
            )?)
        };
        Ok(LivePlan {
            to_swap,
            peers,
            ports,
            settings,
        })
    }

    /// Swaps the interfaces and records how it went in `outcome`; the domain's state after.
    fn run(
        &self,
        virsh: &Virsh,
        (live, definition): (&Definition, &Definition),
        peers: &preflight::Peers,
        outcome: &mut Outcome,
        ctx: &Ctx,
        info: DomainInfo,
    ) -> Result<DomainInfo, String> {
        let name = live.name.as_str();
        match swap_live(
            virsh,
            live,
            definition,
            &self.to_swap,
            &self.ports,
            peers,
            &self.settings,
            ctx,
        ) {
            Ok(done) => outcome.live_swap = done,
            Err(why) => {
                outcome.restart_required = true;
                return Err(why);
            }
        }
        let now = preflight::peers(Path::new(PROC), name).ok();
        outcome.qemu = Some(report::SameQemu {
            pid: peers.qemu.pid,
            start_time: peers.qemu_start,
            same_process: now
                .is_some_and(|n| n.qemu.pid == peers.qemu.pid && n.qemu_start == peers.qemu_start),
        });
        Ok(virsh.info(name).unwrap_or(info))
    }
}

/// Every reason a live swap cannot be done, found before anything changes; the peers of the
/// swap when there is none.
fn live_preflight(
    virsh: &Virsh,
    info: &DomainInfo,
    live: &Definition,
    definition: &Definition,
    to_swap: &[&Planned],
    ports: &ports::PortSwitch,
    ctx: &Ctx,
) -> Result<preflight::Peers, Failure> {
    let name = &live.name;
    let (found, why) = preflight::blockers(
        virsh,
        info,
        live,
        definition,
        to_swap,
        Path::new(PROC),
        ports,
        ctx,
    );
    match found {
        Some(peers) if why.is_empty() => Ok(peers),
        _ => {
            let mut result = ModuleResult::new(false);
            result.set("live_blockers", &why).set("method", "live");
            Err(Failure::with_result(
                format!(
                    "domain {name} cannot have its vhost-user interfaces swapped live: {}. \
                     Nothing was changed",
                    why.join("; ")
                ),
                result,
            ))
        }
    }
}

/// Swaps the interfaces one at a time; the first failure stops it, with the domain named.
#[allow(clippy::too_many_arguments)]
fn swap_live(
    virsh: &Virsh,
    live: &Definition,
    definition: &Definition,
    to_swap: &[&Planned],
    ports: &ports::PortSwitch,
    peers: &preflight::Peers,
    settings: &live::Settings,
    ctx: &Ctx,
) -> Result<Vec<live::Swapped>, String> {
    let mut done = Vec::new();
    for p in to_swap {
        let swapped =
            live::swap(virsh, live, definition, p, ports, peers, settings, ctx).map_err(|why| {
                format!(
                    "domain {}: live swap of port {}: {why}",
                    live.name,
                    p.ovs_port().unwrap_or("?")
                )
            })?;
        done.push(swapped);
    }
    Ok(done)
}

/// virsh on a read-write connection, with the timeouts checked.
fn connection(params: &Params) -> Result<(Virsh, Duration), Failure> {
    if params.name.is_empty() {
        return Err(Failure::new("name must name a libvirt domain"));
    }
    let timeout = ansible_module::positive_seconds("timeout", params.timeout)?;
    let shutdown_timeout =
        ansible_module::positive_seconds("shutdown_timeout", params.shutdown_timeout)?;
    if params.virsh_command.is_empty() {
        return Err(Failure::new(
            "virsh_command must name the command that runs virsh, such as [virsh]",
        ));
    }
    let virsh = Virsh {
        readonly: false,
        ..Virsh::new(&params.virsh_command, Some(&params.libvirt_uri), timeout)
    };

    Ok((virsh, shutdown_timeout))
}

/// The domain's state, persistent definition and running XML; a transient domain is refused.
fn read_domain(virsh: &Virsh, name: &str) -> Result<(Snapshot, Definition, Definition), Failure> {
    let snapshot = virsh.snapshot(name).map_err(|e| virsh_failure(name, &e))?;
    if !snapshot.info.persistent {
        return Err(Failure::new(format!(
            "domain {name} is transient: it has no persistent definition to change, and libvirt \
             forgets it when it stops. Make it persistent first (virsh dumpxml {name} > \
             {name}.xml; virsh define {name}.xml); nothing was changed"
        )));
    }
    let definition = read_definition(name, &snapshot.inactive_xml, "persistent definition")?;
    let live = read_definition(name, &snapshot.live_xml, "running domain's XML")?;
    Ok((snapshot, definition, live))
}

fn read_definition(name: &str, xml: &str, what: &str) -> Result<Definition, Failure> {
    let definition = Definition::parse(xml).map_err(|e| {
        Failure::new(format!(
            "domain {name}: the {what} virsh printed does not parse: {e}"
        ))
    })?;
    if definition.name != name {
        // virsh looks a name up as an id or UUID first.
        return Err(Failure::new(format!(
            "virsh returned domain '{}' for the name '{name}': virsh looks a name up as an id or \
             UUID first, so this domain cannot be changed by its name; nothing was changed",
            definition.name
        )));
    }
    Ok(definition)
}

/// Whether the running QEMU already uses, for every planned interface, the socket and mode it
/// will have (the interface is found by MAC, which libvirt always sets).
fn runs_as_planned(live: &Definition, planned: &[Planned]) -> bool {
    planned.iter().all(|p| runs_one_as_planned(live, p))
}

fn runs_one_as_planned(live: &Definition, p: &Planned) -> bool {
    live.interfaces.iter().any(|running| {
        running.is_vhostuser()
            && running.mac.is_some()
            && running.mac == p.mac
            && running.source_mode() == p.after.mode
            && running.path == p.after.path
    })
}

/// libvirt keeps what it accepts; a definition that came back different was normalised or
/// refused in part, and the user must know.
fn verify_stored(
    name: &str,
    stored: &str,
    planned: &[Planned],
    result: &mut ModuleResult,
    info: &DomainInfo,
    outcome: &Outcome,
) -> Result<(), Failure> {
    let again = read_definition(name, stored, "new persistent definition")?;
    let missing: Vec<String> = planned
        .iter()
        .filter(|p| {
            !again.interfaces.iter().any(|i| {
                i.is_vhostuser()
                    && i.mac == p.mac
                    && i.source_mode() == p.after.mode
                    && i.path == p.after.path
            })
        })
        .map(|p| p.mac.clone().unwrap_or_default())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    report(result, name, info, planned, outcome, false);
    Err(Failure::with_result(
        format!(
            "domain {name} was defined, but libvirt's definition does not hold the planned \
             <source> for the interface(s) with mac {}: read it with virsh dumpxml --inactive {name}",
            missing.join(", ")
        ),
        std::mem::take(result),
    ))
}
