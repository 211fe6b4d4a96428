//! What has to change, decided from the rows as read: nothing, create, update in place,
//! re-create (a new server path), or delete.

use std::collections::BTreeMap;

use ansible_module::Failure;
use serde_json::{Value, json};
use vhostuser::ovsdb::{Client, Condition, Operation};
use vhostuser::vhost_ports::{self, DATABASE, Located, SERVER_PATH};

use crate::carry::Carried;
use vhostuser::OvsType;

use crate::wanted::{CLIENT, State, Wanted};

#[derive(Debug)]
pub(crate) enum Plan {
    Nothing,
    /// A new port with one interface on `bridge`.
    Create {
        bridge: String,
    },
    /// Type (and options) change on the existing row: ovs-vswitchd re-creates the netdev
    /// because its class changes.
    Update {
        kind: OvsType,
        options: BTreeMap<String, String>,
    },
    /// Only the server path of a `dpdkvhostuserclient` changes. A running ovs-vswitchd keeps
    /// the socket it registered, so the port is removed and added back in two transactions,
    /// with its other columns, and vswitchd applies the removal in between.
    Recreate {
        options: BTreeMap<String, String>,
        carried: Box<Carried>,
    },
    Delete,
}

impl Plan {
    pub(crate) fn describe(&self) -> String {
        match self {
            Plan::Nothing => "nothing".into(),
            Plan::Create { bridge } => format!("created on bridge {bridge}"),
            Plan::Update { kind, options } => format!(
                "type {kind}{}",
                options
                    .get(SERVER_PATH)
                    .map_or_else(String::new, |p| format!(", {SERVER_PATH} {p}"))
            ),
            Plan::Recreate { options, .. } => format!(
                "re-created with {SERVER_PATH} {}",
                options.get(SERVER_PATH).map_or("", String::as_str)
            ),
            Plan::Delete => "removed".into(),
        }
    }

    /// `{type, options}` after the change, or null when the interface goes.
    pub(crate) fn diff_after(&self, before: Option<&Located>, wanted: &Wanted) -> Value {
        match self {
            Plan::Nothing => diff_view(before),
            Plan::Delete => Value::Null,
            Plan::Create { .. } => {
                json!({"type": wanted.kind, "options": wanted_options(&BTreeMap::new(), wanted.server_path())})
            }
            Plan::Update { kind, options } => json!({"type": kind, "options": options}),
            Plan::Recreate { options, .. } => json!({"type": CLIENT, "options": options}),
        }
    }
}

pub(crate) fn is_delete(plan: &Plan) -> bool {
    matches!(plan, Plan::Delete)
}

/// `{type, options}` of the interface, or null when there is none.
pub(crate) fn diff_view(located: Option<&Located>) -> Value {
    located.map_or(Value::Null, |l| {
        json!({
            "type": l.interface.string("type").unwrap_or_default(),
            "options": l.interface.string_map("options").unwrap_or_default(),
        })
    })
}

/// The options the interface should have: its own, with the server path set or removed.
pub(crate) fn wanted_options(
    current: &BTreeMap<String, String>,
    server_path: Option<&str>,
) -> BTreeMap<String, String> {
    let mut options = current.clone();
    match server_path {
        Some(path) => options.insert(SERVER_PATH.to_owned(), path.to_owned()),
        None => options.remove(SERVER_PATH),
    };
    options
}

/// Reads the interface and decides.
pub(crate) fn plan_now(
    client: &mut Client,
    wanted: &Wanted,
) -> Result<(Option<Located>, Plan), Failure> {
    let located = vhost_ports::find(client, &wanted.name)?;
    let plan = match (&located, wanted.state) {
        (None, State::Absent) => Plan::Nothing,
        (None, State::Present) => plan_create(client, wanted)?,
        (Some(l), State::Absent) => {
            check_vhost_user(l, wanted)?;
            check_placement(l, wanted)?;
            Plan::Delete
        }
        (Some(l), State::Present) => {
            check_vhost_user(l, wanted)?;
            check_placement(l, wanted)?;
            plan_change(client, l, wanted)?
        }
    };
    Ok((located, plan))
}

fn plan_create(client: &mut Client, wanted: &Wanted) -> Result<Plan, Failure> {
    let Some(bridge) = &wanted.bridge else {
        return Err(Failure::new(format!(
            "interface {} does not exist; give bridge to create it there",
            wanted.name
        )));
    };
    if vhost_ports::bridge(client, bridge)?.is_none() {
        return Err(Failure::new(format!(
            "bridge {bridge} does not exist; create it first (ovs-vsctl add-br {bridge} -- set bridge {bridge} datapath_type=netdev)"
        )));
    }
    check_no_port_named(client, &wanted.name)?;
    Ok(Plan::Create {
        bridge: bridge.clone(),
    })
}

/// A port of that name without an interface of that name (a bond, or a port whose interface
/// is named otherwise) stops the creation: the name is taken, and no retry changes that.
fn check_no_port_named(client: &mut Client, name: &str) -> Result<(), Failure> {
    let mut select = |table: &str, conditions: &[Condition], columns: &[&str]| {
        client
            .transact(DATABASE, &[Operation::select(table, conditions, columns)])
            .map(|mut results| results.pop().map(|r| r.rows).unwrap_or_default())
    };
    let ports = select("Port", &[Condition::eq("name", name)], &["interfaces"])?;
    let Some(port) = ports.first() else {
        return Ok(());
    };
    let members = port.uuid_set("interfaces")?;
    // Only on the way to failing: every interface, to name the port's.
    let mut names = select("Interface", &[], &["_uuid", "name"])?
        .iter()
        .filter(|i| i.uuid().is_ok_and(|u| members.contains(u)))
        .map(|i| i.string("name").unwrap_or_default().to_owned())
        .collect::<Vec<_>>();
    names.sort();
    let what = if names.len() > 1 { " (a bond)" } else { "" };
    Err(Failure::new(format!(
        "port {name} already exists{what} with interface{} {}, and no interface is named {name}; \
         this module manages a port holding one vhost-user interface of the same name: choose \
         another name, or remove port {name} first (ovs-vsctl del-port {name})",
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    )))
}

/// Only vhost-user interfaces are this module's: a bridge's internal port, a `dpdk` NIC or a
/// patch port of the same name is never converted or removed.
fn check_vhost_user(located: &Located, wanted: &Wanted) -> Result<(), Failure> {
    let kind = located.interface.string("type")?;
    if OvsType::parse(kind).is_some() {
        return Ok(());
    }
    Err(Failure::new(format!(
        "interface {} is of type '{kind}', not a vhost-user interface; this module only switches \
         dpdkvhostuser and dpdkvhostuserclient interfaces and leaves others alone",
        wanted.name
    )))
}

/// The interface must sit in a port of its own on a bridge, and on the bridge asked for.
fn check_placement(located: &Located, wanted: &Wanted) -> Result<(), Failure> {
    let name = &wanted.name;
    let (Some(port), Some(bridge)) = (&located.port, &located.bridge) else {
        return Err(Failure::new(format!(
            "interface {name} exists but is in no port of any bridge; remove it by hand first"
        )));
    };
    let members = port.uuid_set("interfaces")?;
    if members.len() != 1 {
        return Err(Failure::new(format!(
            "interface {name} is one of {} interfaces of port {}; a vhost-user port has one",
            members.len(),
            port.string("name").unwrap_or_default()
        )));
    }
    let on = bridge.string("name")?;
    match &wanted.bridge {
        Some(wanted) if wanted != on => Err(Failure::new(format!(
            "interface {name} is on bridge {on}, not {wanted}; moving it between bridges is not supported"
        ))),
        _ => Ok(()),
    }
}

fn plan_change(client: &mut Client, located: &Located, wanted: &Wanted) -> Result<Plan, Failure> {
    let kind = located.interface.string("type")?;
    let options = located.interface.string_map("options")?;
    let options_wanted = wanted_options(&options, wanted.server_path());
    // ovs-vswitchd reports the socket a client-mode interface really uses; when that is not
    // the path in the database (a path change it never applied), re-create the port again.
    // (A status left from the other type, by a vswitchd that has not caught up, says nothing.)
    let status = located.interface.string_map("status")?;
    let kind = OvsType::parse(kind);
    let stale_socket = kind == Some(CLIENT)
        && status.get("mode").is_some_and(|m| m == "client")
        && status
            .get("socket")
            .is_some_and(|s| Some(s) != options_wanted.get(SERVER_PATH));
    if kind == Some(wanted.kind) && options == options_wanted && !stale_socket {
        return Ok(Plan::Nothing);
    }
    if kind == Some(CLIENT) && wanted.kind == CLIENT {
        let carried = Carried::read(client, located, &wanted.name)?;
        return Ok(Plan::Recreate {
            options: options_wanted,
            carried: Box::new(carried),
        });
    }
    Ok(Plan::Update {
        kind: wanted.kind,
        options: options_wanted,
    })
}
