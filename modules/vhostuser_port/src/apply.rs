//! The transactions that carry out a plan, each guarded by `wait`s on the rows as read, and
//! the wait for ovs-vswitchd to apply them.

use std::collections::BTreeMap;
use std::time::Duration;

use ansible_module::Failure;
use vhostuser::ovsdb::{self, Client, Condition, Datum, Error, Mutation, Operation, Row};
use vhostuser::vhost_ports::{DATABASE, Located};

use crate::plan::{self, Plan};
use crate::{CLIENT, Params, db_failure};

/// Columns of an Interface or Port that belong to whoever configured it, carried over when
/// the port is re-created; the rest is ovs-vswitchd's (status, statistics, ofport...).
const INTERFACE_COLUMNS: &[&str] = &[
    "external_ids",
    "other_config",
    "mtu_request",
    "ofport_request",
    "mac",
    "ingress_policing_rate",
    "ingress_policing_burst",
];
const PORT_COLUMNS: &[&str] = &["external_ids", "other_config", "tag", "trunks", "vlan_mode"];

/// How it went: a summary, and when ovs-vswitchd did not apply the change in time, why.
pub(crate) struct Outcome {
    pub summary: String,
    pub not_applied: Option<String>,
}

/// Carries out `plan`; on a conflict (another writer changed the rows since they were read)
/// reads again, plans again and retries once.
pub(crate) fn apply(
    client: &mut Client,
    params: &Params,
    server_path: Option<&str>,
    plan: &Plan,
    before: Option<&Located>,
    timeout: Duration,
) -> Result<Outcome, Failure> {
    match run(client, params, server_path, plan, before, timeout) {
        Err(e) if e.is_conflict() => {
            let (again_before, again) = plan::plan_now(client, params, server_path)?;
            if let Plan::Nothing = again {
                return Ok(Outcome {
                    summary: format!(
                        "interface {}: another writer made the same change first",
                        params.name
                    ),
                    not_applied: None,
                });
            }
            run(client, params, server_path, &again, again_before.as_ref(), timeout).map_err(|e| {
                if e.is_conflict() {
                    Failure::new(format!(
                        "interface {} was changed by another writer (neutron's agent, another play) twice while \
                         this task changed it; nothing was changed, run it again: {e}",
                        params.name
                    ))
                } else {
                    db_failure(&e)
                }
            })
        }
        other => other.map_err(|e| db_failure(&e)),
    }
}

pub(crate) fn run(
    client: &mut Client,
    params: &Params,
    server_path: Option<&str>,
    plan: &Plan,
    before: Option<&Located>,
    timeout: Duration,
) -> Result<Outcome, Error> {
    let name = params.name.as_str();
    let by_name = [Condition::eq("name", name)];
    let summary = format!("interface {name} {}", plan.describe());
    let not_applied = match plan {
        Plan::Nothing => None,
        Plan::Create { bridge } => {
            let interface = Row::new()
                .with("name", name)
                .with("type", params.kind.as_str())
                .with(
                    "options",
                    &plan::wanted_options(&BTreeMap::new(), server_path),
                );
            let port = Row::new().with("name", name);
            commit(
                client,
                params,
                timeout,
                create_ops(bridge, &interface, port),
            )?
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
            commit(client, params, timeout, ops)?
        }
        Plan::Recreate { options, port } => {
            let located = before.ok_or_else(missing)?;
            // The removal must reach ovs-vswitchd before the port comes back, even with
            // wait: false, or it would see the same name and keep the old socket.
            let removed = commit_and_wait(client, timeout, remove_ops(located)?)?;
            let mut interface = located
                .interface
                .only(INTERFACE_COLUMNS)
                .with("name", name)
                .with("type", CLIENT);
            interface.set("options", options);
            let port_row = port.only(PORT_COLUMNS).with("name", port.string("name")?);
            let bridge = located
                .bridge
                .as_ref()
                .ok_or_else(missing)?
                .string("name")?
                .to_owned();
            let added = commit(
                client,
                params,
                timeout,
                create_ops(&bridge, &interface, port_row),
            )?;
            removed.or(added)
        }
        Plan::Delete => {
            let located = before.ok_or_else(missing)?;
            commit(client, params, timeout, remove_ops(located)?)?
        }
    };
    Ok(Outcome {
        summary,
        not_applied,
    })
}

fn missing() -> Error {
    Error::Protocol {
        address: String::new(),
        detail: "the interface read earlier is missing".into(),
    }
}

/// Insert the interface and a port holding it, and add the port to the bridge. The waits
/// make sure no interface or port of that name appeared meanwhile.
fn create_ops(bridge: &str, interface: &Row, port: Row) -> Vec<Operation> {
    let name = interface.string("name").unwrap_or_default().to_owned();
    let port_name = port.string("name").unwrap_or_default().to_owned();
    vec![
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
    params: &Params,
    timeout: Duration,
    ops: Vec<Operation>,
) -> Result<Option<String>, Error> {
    if params.wait {
        commit_and_wait(client, timeout, ops)
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

fn transact(client: &mut Client, mut ops: Vec<Operation>) -> Result<i64, Error> {
    ops.extend(ovsdb::bump_next_cfg());
    let results = client.transact(DATABASE, &ops)?;
    ovsdb::next_cfg(&results)
}
