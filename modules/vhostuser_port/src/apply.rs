//! The transactions that carry out a plan, each guarded by `wait`s on the rows as read, and
//! the wait for ovs-vswitchd to apply them.

use std::collections::BTreeMap;
use std::time::Duration;

use ansible_module::Failure;
use vhostuser::ovsdb::{self, Client, Condition, Datum, Error, Mutation, OpResult, Operation, Row};
use vhostuser::vhost_ports::{DATABASE, Located};

use crate::carry::{Carried, Referrer};
use crate::plan::{self, Plan};
use crate::wanted::{CLIENT, Wanted};

/// How it went: a summary, and when ovs-vswitchd did not apply the change in time, why.
pub(crate) struct Outcome {
    pub summary: String,
    pub not_applied: Option<String>,
    /// Whether this run wrote (another writer may have made the change first).
    pub changed: bool,
}

/// Carries out `plan`; on a conflict (another writer changed the rows since they were read)
/// reads again, plans again and retries once.
pub(crate) fn apply(
    client: &mut Client,
    wanted: &Wanted,
    plan: &Plan,
    before: Option<&Located>,
) -> Result<Outcome, Failure> {
    match run(client, wanted, plan, before) {
        Err(e) if e.is_conflict() => {
            let (again_before, again) = plan::plan_now(client, wanted)?;
            // Deleted by another writer (os-vif unplugging it): that is theirs to decide, not
            // something to create again.
            if before.is_some() && again_before.is_none() {
                return Err(Failure::new(format!(
                    "interface {} was deleted by another writer while this task changed it; nothing was \
                     changed",
                    wanted.name
                )));
            }
            if let Plan::Nothing = again {
                return Ok(Outcome {
                    summary: format!(
                        "interface {}: another writer made the same change first",
                        wanted.name
                    ),
                    not_applied: None,
                    changed: false,
                });
            }
            run(client, wanted, &again, again_before.as_ref()).map_err(|e| {
                if e.is_conflict() {
                    Failure::new(format!(
                        "interface {} was changed by another writer (neutron's agent, another play) twice while \
                         this task changed it; nothing was changed, run it again: {e}",
                        wanted.name
                    ))
                } else {
                    Failure::from(e)
                }
            })
        }
        other => other.map_err(|e| committed_or_not(&e)),
    }
}

/// A timeout while the server had the request may have committed it: say so, with
/// `changed: true`, rather than claim nothing happened.
fn committed_or_not(e: &Error) -> Failure {
    if matches!(e, Error::Timeout { .. }) {
        Failure::with_result(
            format!(
                "{e}; the change may have been committed: check the interface before running again"
            ),
            ansible_module::ModuleResult::new(true),
        )
    } else {
        Failure::new(e.to_string())
    }
}

pub(crate) fn run(
    client: &mut Client,
    wanted: &Wanted,
    plan: &Plan,
    before: Option<&Located>,
) -> Result<Outcome, Error> {
    let server_path = wanted.server_path();
    let name = wanted.name.as_str();
    let by_name = [Condition::eq("name", name)];
    let summary = format!("interface {name} {}", plan.describe());
    let not_applied = match plan {
        Plan::Nothing => None,
        Plan::Create { bridge } => {
            let interface = Row::new()
                .with("name", name)
                .with("type", wanted.kind.as_str())
                .with(
                    "options",
                    &plan::wanted_options(&BTreeMap::new(), server_path),
                );
            let port = Row::new().with("name", name);
            commit(client, wanted, create_ops(bridge, &interface, port))?
        }
        Plan::Update { kind, options } => {
            let located = before.ok_or_else(missing)?;
            let ops = vec![
                Operation::wait_unchanged(
                    "Interface",
                    &by_name,
                    &located.interface.only(&["type", "options"]),
                ),
                Operation::update(
                    "Interface",
                    &by_name,
                    &Row::new()
                        .with("type", kind.as_str())
                        .with("options", options),
                ),
            ];
            commit(client, wanted, ops)?
        }
        Plan::Recreate { options, carried } => {
            let located = before.ok_or_else(missing)?;
            return recreate(client, wanted, located, options, carried, &summary);
        }
        Plan::Delete => {
            let located = before.ok_or_else(missing)?;
            commit(client, wanted, remove_ops(located)?)?
        }
    };
    Ok(Outcome {
        summary,
        not_applied,
        changed: true,
    })
}

/// A new server path on a running ovs-vswitchd: remove the port, let vswitchd apply that, and
/// add it back with everything its owner set and every reference other rows held to it (see
/// `carry`), the `OpenFlow` port number kept through `ofport_request`. Once the removal is
/// committed, every later problem is reported as a failure with `changed: true` and the rows
/// to restore, never as "nothing changed".
fn recreate(
    client: &mut Client,
    wanted: &Wanted,
    located: &Located,
    options: &BTreeMap<String, String>,
    carried: &Carried,
    summary: &str,
) -> Result<Outcome, Error> {
    let name = wanted.name.as_str();
    let mut interface = carried
        .interface
        .clone()
        .with("name", name)
        .with("type", CLIENT.as_str());
    interface.set("options", options);
    let port_name = located.port.as_ref().ok_or_else(missing)?.string("name")?;
    let referred: Vec<String> = carried.referrers.iter().map(Referrer::label).collect();
    let restore = format!(
        "to restore it by hand: Interface {} in Port {} named {port_name}, referred to by {}",
        interface.to_json(),
        carried.port.to_json(),
        referred.join(", ")
    );
    let removed = transact(client, carried.removal_ops(name))?;
    // From here the port is out of the database: report, never raise.
    let mut problems = Vec::new();
    match ovsdb::wait_applied(client, removed, wanted.timeout) {
        Ok(_) => {}
        Err(Error::NotApplied { .. }) => problems.push(format!(
            "ovs-vswitchd did not apply the removal within {}s, so it may keep the old socket for the \
             port added back: restart ovs-vswitchd, or run this task again once it keeps up (it re-creates \
             the port while ovs-vswitchd reports another socket)",
            wanted.timeout.as_secs()
        )),
        Err(e) => problems.push(format!("waiting for ovs-vswitchd to apply the removal failed: {e}")),
    }
    // A mirror must not keep the port out: a weak reference that fails the commit (another
    // writer filled a mirror's output_port meanwhile) is left out and reported.
    let mut skip = Vec::new();
    let restored = loop {
        let ops = carried.restoration_ops(&interface, port_name, &skip);
        match transact_results(client, ops) {
            Err(Error::Operation(failure)) => {
                let Some(index) = carried.weak_referrer_at(failure.index, &skip) else {
                    break Err(Error::Operation(failure));
                };
                problems.push(format!(
                    "{} could not be pointed at the port added back ({failure}): point it at port \
                     {port_name} by hand",
                    carried.referrers[index].label()
                ));
                skip.push(index);
            }
            other => break other,
        }
    };
    match restored {
        Err(e) => problems.push(format!(
            "adding the port back failed ({e}), so it is NOT in the database; {restore}"
        )),
        Ok((results, added)) => {
            for (index, referrer) in carried.restored(&skip) {
                if results.get(index).and_then(|r| r.count) == Some(0) {
                    problems.push(format!(
                        "{} was deleted by another writer meanwhile, so it does not refer to the port \
                         added back",
                        referrer.label()
                    ));
                }
            }
            if wanted.wait {
                if let Err(e) = ovsdb::wait_applied(client, added, wanted.timeout) {
                    problems.push(format!(
                        "ovs-vswitchd has not applied the port added back: {e}"
                    ));
                }
            }
        }
    }
    let not_applied = (!problems.is_empty()).then(|| {
        format!(
            "interface {name}: the port was removed and added back in the database, but {}",
            problems.join("; ")
        )
    });
    let summary = if referred.is_empty() {
        format!("{summary}, with its settings")
    } else {
        format!(
            "{summary}, with its settings and referred to again by {}",
            referred.join(", ")
        )
    };
    Ok(Outcome {
        summary,
        not_applied,
        changed: true,
    })
}

/// The plan was made from an interface in a port on a bridge; one of them is not in the rows
/// it was made from.
fn missing() -> Error {
    Error::Internal {
        detail: "the interface, port or bridge the plan was made from is missing from it".into(),
    }
}

/// Insert the interface and a port holding it, and add the port to the bridge. The waits
/// make sure no interface or port of that name appeared meanwhile.
fn create_ops(bridge: &str, interface: &Row, port: Row) -> Vec<Operation> {
    let name = interface.string("name").unwrap_or_default().to_owned();
    let port_name = port.string("name").unwrap_or_default().to_owned();
    vec![
        // The bridge must still be there: a port added to a bridge deleted meanwhile would be
        // dropped by the commit while reporting success.
        Operation::wait_unchanged(
            "Bridge",
            &[Condition::eq("name", bridge)],
            &Row::new().with("name", bridge),
        ),
        Operation::wait_unchanged(
            "Interface",
            &[Condition::eq("name", name.as_str())],
            &Row::new(),
        ),
        Operation::wait_unchanged(
            "Port",
            &[Condition::eq("name", port_name.as_str())],
            &Row::new(),
        ),
        Operation::insert_named("Interface", "iface", interface),
        Operation::insert_named(
            "Port",
            "port",
            &port.with("interfaces", Datum::named_uuid("iface")),
        ),
        Operation::mutate(
            "Bridge",
            &[Condition::eq("name", bridge)],
            &[Mutation::insert("ports", Datum::named_uuid("port"))],
        ),
    ]
}

/// Take the port off its bridge (OVSDB then drops the port and its interface), guarded by the
/// interface and port as read.
fn remove_ops(located: &Located) -> Result<Vec<Operation>, Error> {
    let port = located.port.as_ref().ok_or_else(missing)?;
    let bridge = located.bridge.as_ref().ok_or_else(missing)?;
    let iface_name = located.interface.string("name")?;
    Ok(vec![
        Operation::wait_unchanged(
            "Interface",
            &[Condition::eq("name", iface_name)],
            &located.interface.only(&["type", "options"]),
        ),
        Operation::wait_unchanged(
            "Port",
            &[Condition::uuid(port.uuid()?)],
            &port.only(&["interfaces"]),
        ),
        Operation::mutate(
            "Bridge",
            &[Condition::uuid(bridge.uuid()?)],
            &[Mutation::delete("ports", port.uuid()?.clone())],
        ),
    ])
}

/// Commits `ops` with a `next_cfg` bump and, if asked, waits for ovs-vswitchd. Returns why it
/// is not applied yet, if it is not.
fn commit(
    client: &mut Client,
    wanted: &Wanted,
    ops: Vec<Operation>,
) -> Result<Option<String>, Error> {
    if wanted.wait {
        commit_and_wait(client, wanted.timeout, ops)
    } else {
        transact(client, ops).map(|_| None)
    }
}

fn commit_and_wait(
    client: &mut Client,
    timeout: Duration,
    ops: Vec<Operation>,
) -> Result<Option<String>, Error> {
    let next_cfg = transact(client, ops)?;
    match ovsdb::wait_applied(client, next_cfg, timeout) {
        Ok(_) => Ok(None),
        Err(Error::NotApplied {
            next_cfg,
            cur_cfg,
            waited,
        }) => Ok(Some(format!(
            "the change is committed to the database, but ovs-vswitchd has not applied it after {:.1}s \
             (cur_cfg {cur_cfg} < next_cfg {next_cfg}): is ovs-vswitchd running? It takes effect when \
             ovs-vswitchd catches up",
            waited.as_secs_f64()
        ))),
        Err(e) => Err(e),
    }
}

fn transact(client: &mut Client, ops: Vec<Operation>) -> Result<i64, Error> {
    transact_results(client, ops).map(|(_, next_cfg)| next_cfg)
}

/// Commits `ops` with a `next_cfg` bump: their results, and the `next_cfg` to wait for.
fn transact_results(
    client: &mut Client,
    mut ops: Vec<Operation>,
) -> Result<(Vec<OpResult>, i64), Error> {
    ops.extend(ovsdb::bump_next_cfg());
    let results = client.transact(DATABASE, &ops)?;
    let next_cfg = ovsdb::next_cfg(&results)?;
    Ok((results, next_cfg))
}
