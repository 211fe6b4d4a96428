//! Open vSwitch's view of one interface: the `Interface` row with the `Port` that holds it and
//! the `Bridge` that holds the port, read in one transaction so the three agree.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ovsdb::{Client, Condition, Error, Operation, Row, Uuid};

pub const DATABASE: &str = "Open_vSwitch";
/// The option that tells a `dpdkvhostuserclient` interface where QEMU's socket is.
pub const SERVER_PATH: &str = "vhost-server-path";

/// An interface where it sits.
#[derive(Debug, Clone)]
pub struct Located {
    pub interface: Row,
    /// The port holding the interface, if any (a dangling interface has none).
    pub port: Option<Row>,
    /// The bridge holding the port, if any.
    pub bridge: Option<Row>,
}

/// What the modules report about an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub options: BTreeMap<String, String>,
    pub status: BTreeMap<String, String>,
    pub error: Option<String>,
    pub ofport: Option<i64>,
    pub port: Option<String>,
    pub bridge: Option<String>,
}

impl Located {
    pub fn view(&self) -> Result<InterfaceView, Error> {
        let name_of = |row: &Option<Row>| -> Result<Option<String>, Error> {
            row.as_ref()
                .map(|r| r.string("name").map(str::to_owned))
                .transpose()
        };
        Ok(InterfaceView {
            name: self.interface.string("name")?.to_owned(),
            kind: self.interface.string("type")?.to_owned(),
            options: self.interface.string_map("options")?,
            status: self.interface.string_map("status")?,
            error: self.interface.optional_string("error")?.map(str::to_owned),
            ofport: optional_integer(&self.interface, "ofport"),
            port: name_of(&self.port)?,
            bridge: name_of(&self.bridge)?,
        })
    }
}

/// `ofport` is an optional integer: an empty set until ovs-vswitchd assigns one.
fn optional_integer(row: &Row, column: &str) -> Option<i64> {
    row.get(column)?.optional()?.and_then(|atom| match atom {
        crate::ovsdb::Atom::Integer(i) => Some(*i),
        _ => None,
    })
}

/// Finds the interface `name` with its port and bridge; `None` when there is no such
/// interface. Ports and bridges are read in the same transaction, so they are consistent.
pub fn find(client: &mut Client, name: &str) -> Result<Option<Located>, Error> {
    let results = client.transact(
        DATABASE,
        &[
            Operation::select("Interface", &[Condition::eq("name", name)], &[]),
            Operation::select("Port", &[], &["_uuid", "name", "interfaces"]),
            Operation::select("Bridge", &[], &["_uuid", "name", "ports"]),
        ],
    )?;
    let [interfaces, ports, bridges] = results.as_slice() else {
        return Err(Error::Protocol {
            address: client.address().to_owned(),
            detail: format!("expected 3 results, got {}", results.len()),
        });
    };
    let Some(interface) = interfaces.rows.first().cloned() else {
        return Ok(None);
    };
    let iface_uuid = interface.uuid()?.clone();
    let port = holder(&ports.rows, "interfaces", &iface_uuid)?;
    let bridge = match &port {
        Some(p) => holder(&bridges.rows, "ports", p.uuid()?)?,
        None => None,
    };
    Ok(Some(Located {
        interface,
        port,
        bridge,
    }))
}

/// The row of `rows` whose uuid-set `column` holds `member`.
fn holder(rows: &[Row], column: &str, member: &Uuid) -> Result<Option<Row>, Error> {
    for row in rows {
        if row.uuid_set(column)?.contains(member) {
            return Ok(Some(row.clone()));
        }
    }
    Ok(None)
}

/// The bridge named `name`, with its `ports`.
pub fn bridge(client: &mut Client, name: &str) -> Result<Option<Row>, Error> {
    let results = client.transact(
        DATABASE,
        &[Operation::select(
            "Bridge",
            &[Condition::eq("name", name)],
            &["_uuid", "name", "ports"],
        )],
    )?;
    Ok(results.first().and_then(|r| r.rows.first().cloned()))
}

/// `Open_vSwitch.iface_types`: what the running ovs-vswitchd can create (`dpdkvhostuserclient`
/// only once DPDK is initialised).
pub fn iface_types(client: &mut Client) -> Result<Vec<String>, Error> {
    let results = client.transact(
        DATABASE,
        &[Operation::select("Open_vSwitch", &[], &["iface_types"])],
    )?;
    match results.first().and_then(|r| r.rows.first()) {
        Some(row) => row.string_set("iface_types"),
        None => Ok(Vec::new()),
    }
}
