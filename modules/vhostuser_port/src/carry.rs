//! What a re-created port takes with it: every column of its Interface and Port rows that the
//! change does not concern, and every reference other rows hold to them (the bridge's `ports`,
//! a Mirror's `select_src_port`, `select_dst_port` and `output_port`, any column the schema
//! says can point at a Port or an Interface). Which columns those are is read from the schema
//! the server gives, so a column a later Open vSwitch adds is carried too.

use std::time::Duration;

use ansible_module::Failure;
use vhostuser::ovsdb::{
    Atom, Client, Column, Condition, Datum, Function, Mutation, Operation, Reference, Row, Schema,
    Until, Uuid,
};
use vhostuser::vhost_ports::{DATABASE, Located};

/// Set anew by the re-creation itself.
const SET_BY_CHANGE: &[(&str, &str)] = &[
    ("Interface", "name"),
    ("Interface", "type"),
    ("Interface", "options"),
    ("Port", "name"),
    ("Port", "interfaces"),
];
/// What ovs-vswitchd reports about a port, kept in the database although the schema does not
/// call it ephemeral (vswitch.xml lists them under "Status"): stale on a new row. The
/// `OpenFlow` port number is kept through `ofport_request` instead.
const REPORTED_BY_VSWITCHD: &[(&str, &str)] = &[
    ("Interface", "ofport"),
    ("Interface", "error"),
    ("Interface", "cfm_flap_count"),
    ("Port", "bond_active_slave"),
];
/// `Interface.ofport_request`'s range in the vswitch schema.
const OFPORT_REQUEST_MAX: i64 = 65279;

/// Uuid-names of the rows added back, for the references to them in the same transaction.
pub(crate) const NEW_INTERFACE: &str = "iface";
pub(crate) const NEW_PORT: &str = "port";

/// The Interface and Port rows to add back, the columns to guard, and the references to move.
#[derive(Debug, Clone)]
pub(crate) struct Carried {
    /// The interface's carried columns (without name, type and options).
    pub interface: Row,
    /// The port's carried columns (without name and interfaces).
    pub port: Row,
    /// The interface as read, reduced to the columns the removal is guarded on.
    pub interface_guard: Row,
    /// The port as read, reduced likewise.
    pub port_guard: Row,
    pub port_uuid: Uuid,
    pub referrers: Vec<Referrer>,
}

/// One column of one row that refers to the old Port or Interface.
#[derive(Debug, Clone)]
pub(crate) struct Referrer {
    pub table: String,
    pub uuid: Uuid,
    /// The row's `name`, when it has one, for messages.
    pub name: Option<String>,
    pub column: String,
    pub weak: bool,
    /// The column's elements or pairs that name the old row.
    pub old: Datum,
    /// The same, naming the new row (a uuid-name).
    pub new: Datum,
}

impl Referrer {
    /// `Mirror mirror0 select_src_port`, for messages.
    pub(crate) fn label(&self) -> String {
        let row = self.name.clone().unwrap_or_else(|| self.uuid.to_string());
        format!("{} {row} {}", self.table, self.column)
    }

    /// Take the old row out of the column, guarded by the row still holding it (other
    /// elements may come and go meanwhile: neutron adds ports to the bridge all the time).
    fn removal(&self) -> [Operation; 2] {
        let holding = [
            Condition::uuid(&self.uuid),
            Condition::new(&self.column, Function::Includes, self.old.clone()),
        ];
        [
            exists(&self.table, &self.uuid, &holding),
            Operation::mutate(
                &self.table,
                &[Condition::uuid(&self.uuid)],
                &[Mutation::delete(&self.column, self.old.clone())],
            ),
        ]
    }

    /// Put the new row in. A mutation, not an update: what another writer put in the column
    /// meanwhile stays.
    fn restoration(&self) -> Operation {
        Operation::mutate(
            &self.table,
            &[Condition::uuid(&self.uuid)],
            &[Mutation::insert(&self.column, self.new.clone())],
        )
    }
}

impl Carried {
    /// Reads what the port of `located` carries. Refuses, with the reason and before anything
    /// is written, what cannot be carried across the two transactions.
    pub(crate) fn read(
        client: &mut Client,
        located: &Located,
        name: &str,
    ) -> Result<Carried, Failure> {
        let db = Failure::from;
        let schema = client.get_schema(DATABASE).map_err(db)?;
        let interface_uuid = located.interface.uuid().map_err(db)?.clone();
        let Some(port_uuid) = located
            .port
            .as_ref()
            .map(Row::uuid)
            .transpose()
            .map_err(db)?
        else {
            return Err(Failure::new(format!(
                "interface {name} lost its port while it was read"
            )));
        };
        let port_uuid = port_uuid.clone();
        let references: Vec<(Reference, &str)> = ["Port", "Interface"]
            .into_iter()
            .flat_map(|target| {
                schema
                    .references_to(target)
                    .into_iter()
                    .map(move |r| (r, target))
            })
            .collect();
        let mut reads = vec![Operation::select(
            "Port",
            &[Condition::uuid(&port_uuid)],
            &[],
        )];
        for (reference, _) in &references {
            let mut columns = vec!["_uuid", reference.column.as_str()];
            if schema.has_column(&reference.table, "name") {
                columns.push("name");
            }
            reads.push(Operation::select(&reference.table, &[], &columns));
        }
        let results = client.transact(DATABASE, &reads).map_err(db)?;
        let Some(port) = results.first().and_then(|r| r.rows.first()) else {
            return Err(Failure::new(format!(
                "the port of interface {name} vanished while it was read"
            )));
        };

        let mut referrers = Vec::new();
        for ((reference, target), result) in references.iter().zip(&results[1..]) {
            let (old, new_name) = if *target == "Port" {
                (&port_uuid, NEW_PORT)
            } else {
                (&interface_uuid, NEW_INTERFACE)
            };
            for row in &result.rows {
                let uuid = row.uuid().map_err(db)?;
                // The port's own list of interfaces goes with it.
                if reference.table == "Port" && *uuid == port_uuid {
                    continue;
                }
                if let Some(referrer) = referrer(&schema, reference, row, old, new_name, name)? {
                    referrers.push(referrer);
                }
            }
        }

        let interface = carried_row(&schema, "Interface", &located.interface, name)?;
        let port_row = carried_row(&schema, "Port", port, name)?;
        let guard = |row: &Row, carried: &Row, table: &str| {
            let mut columns: Vec<&str> = carried.columns().collect();
            columns.extend(
                SET_BY_CHANGE
                    .iter()
                    .filter(|(t, c)| *t == table && *c != "name")
                    .map(|(_, c)| *c),
            );
            row.only(&columns)
        };
        let interface_guard = guard(&located.interface, &interface, "Interface");
        let port_guard = guard(port, &port_row, "Port");
        Ok(Carried {
            interface: keep_ofport(interface, &located.interface),
            port: port_row,
            interface_guard,
            port_guard,
            port_uuid,
            referrers,
        })
    }

    /// The first transaction: guarded by the interface, the port and every referring column as
    /// read, take every reference to the old rows away; the bridge's `ports` among them, so
    /// OVSDB deletes the port and its interface.
    pub(crate) fn removal_ops(&self, name: &str) -> Vec<Operation> {
        let mut ops = vec![
            Operation::wait_unchanged(
                "Interface",
                &[Condition::eq("name", name)],
                &self.interface_guard,
            ),
            Operation::wait_unchanged(
                "Port",
                &[Condition::uuid(&self.port_uuid)],
                &self.port_guard,
            ),
        ];
        ops.extend(self.referrers.iter().flat_map(Referrer::removal));
        ops
    }

    /// The second transaction: no interface or port of that name appeared meanwhile, every
    /// row holding the port with a strong reference (its bridge) is still there, the rows are
    /// inserted and every reference but those in `skip` (indices in `referrers`) is pointed
    /// at them.
    pub(crate) fn restoration_ops(
        &self,
        interface: &Row,
        port_name: &str,
        skip: &[usize],
    ) -> Vec<Operation> {
        let iface_name = interface.string("name").unwrap_or_default();
        let mut ops = vec![
            Operation::wait_unchanged(
                "Interface",
                &[Condition::eq("name", iface_name)],
                &Row::new(),
            ),
            Operation::wait_unchanged("Port", &[Condition::eq("name", port_name)], &Row::new()),
        ];
        for holder in self.referrers.iter().filter(|r| !r.weak) {
            // Without it the port would be deleted again at commit, while the commit succeeds.
            ops.push(exists(
                &holder.table,
                &holder.uuid,
                &[Condition::uuid(&holder.uuid)],
            ));
        }
        ops.push(Operation::insert_named(
            "Interface",
            NEW_INTERFACE,
            interface,
        ));
        ops.push(Operation::insert_named(
            "Port",
            NEW_PORT,
            &self
                .port
                .clone()
                .with("name", port_name)
                .with("interfaces", Datum::named_uuid(NEW_INTERFACE)),
        ));
        ops.extend(self.restored(skip).map(|(_, r)| r.restoration()));
        ops
    }

    /// Each referrer [`Carried::restoration_ops`] restores, with the index of its operation.
    pub(crate) fn restored<'a>(
        &'a self,
        skip: &'a [usize],
    ) -> impl Iterator<Item = (usize, &'a Referrer)> {
        let first = 2 + self.referrers.iter().filter(|r| !r.weak).count() + 2;
        self.referrers
            .iter()
            .enumerate()
            .filter(move |(i, _)| !skip.contains(i))
            .enumerate()
            .map(move |(position, (_, r))| (first + position, r))
    }

    /// The index in `referrers` of the weak reference whose restoration is operation `op`,
    /// if it is one: the port does without a mirror's reference, never the other way round.
    pub(crate) fn weak_referrer_at(&self, op: usize, skip: &[usize]) -> Option<usize> {
        let first = 2 + self.referrers.iter().filter(|r| !r.weak).count() + 2;
        self.referrers
            .iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .nth(op.checked_sub(first)?)
            .filter(|(_, r)| r.weak)
            .map(|(i, _)| i)
    }
}

/// Fails the transaction, as a conflict, unless the row `uuid` of `table` matches `conditions`.
fn exists(table: &str, uuid: &Uuid, conditions: &[Condition]) -> Operation {
    Operation::wait(
        table,
        conditions,
        &["_uuid"],
        Until::Equal,
        &[Row::new().with("_uuid", uuid)],
        Duration::ZERO,
    )
}

/// The row's columns that a new row should take: all but those the change sets, the ones
/// ovs-vswitchd reports, and `_uuid`/`_version`. A strong reference to a row that only the
/// old row holds cannot cross the two transactions (OVSDB deletes that row with the first):
/// refused.
fn carried_row(schema: &Schema, table: &str, row: &Row, name: &str) -> Result<Row, Failure> {
    let Some(definition) = schema.tables.get(table) else {
        return Err(Failure::new(format!(
            "the server's schema has no {table} table"
        )));
    };
    let mut carried = Row::new();
    for (column, types) in &definition.columns {
        let skip = column.starts_with('_')
            || types.ephemeral
            || SET_BY_CHANGE.contains(&(table, column.as_str()))
            || REPORTED_BY_VSWITCHD.contains(&(table, column.as_str()));
        let Some(value) = row.get(column).filter(|_| !skip) else {
            continue;
        };
        if let Some(held) = types
            .strong_refs()
            .find(|t| schema.tables.get(*t).is_some_and(|d| !d.is_root))
            .filter(|_| !is_empty(value))
        {
            return Err(Failure::new(format!(
                "interface {name} needs its port re-created for a new server path, but {table} \
                 column {column} refers to a {held} row that OVSDB would delete with the old \
                 {table} ({held} is not a root table), so it cannot be carried over; nothing was \
                 changed. Clear {table} {column}, or re-create the port by hand"
            )));
        }
        carried.set(column, value.clone());
    }
    Ok(carried)
}

/// Keeps the `OpenFlow` port number of the old interface, through `ofport_request`, unless
/// one is requested already.
fn keep_ofport(mut interface: Row, old: &Row) -> Row {
    let requested = interface
        .get("ofport_request")
        .and_then(Datum::optional)
        .flatten()
        .is_some();
    let ofport = old.get("ofport").and_then(Datum::optional).flatten();
    if let (false, Some(Atom::Integer(n))) = (requested, ofport) {
        if (1..=OFPORT_REQUEST_MAX).contains(n) {
            interface.set("ofport_request", *n);
        }
    }
    interface
}

fn is_empty(datum: &Datum) -> bool {
    match datum {
        Datum::Atom(_) => false,
        Datum::Set(atoms) => atoms.is_empty(),
        Datum::Map(pairs) => pairs.is_empty(),
    }
}

/// `row`'s `reference` column, if it names `old`: what to delete and what to insert. Refused
/// when the column cannot be left without it for a moment (its `min`).
fn referrer(
    schema: &Schema,
    reference: &Reference,
    row: &Row,
    old: &Uuid,
    new_name: &str,
    name: &str,
) -> Result<Option<Referrer>, Failure> {
    let Some(as_read) = row.get(&reference.column) else {
        return Ok(None);
    };
    let names_old = |atom: &Atom| atom.as_uuid() == Some(old);
    let renamed = |atom: &Atom| {
        if names_old(atom) {
            Atom::NamedUuid(new_name.to_owned())
        } else {
            atom.clone()
        }
    };
    let (old_part, new_part, left) = match as_read {
        Datum::Map(pairs) => {
            let side = |(k, v): &(Atom, Atom)| {
                if reference.in_key {
                    names_old(k)
                } else {
                    names_old(v)
                }
            };
            let hits: Vec<_> = pairs.iter().filter(|p| side(p)).cloned().collect();
            let new = hits.iter().map(|(k, v)| (renamed(k), renamed(v))).collect();
            let left = pairs.len() - hits.len();
            (Datum::Map(hits), Datum::Map(new), left)
        }
        set => {
            let atoms = set.atoms().unwrap_or_default();
            let hits = atoms.iter().filter(|a| names_old(a)).count();
            let old_part = Datum::Set(vec![Atom::Uuid(old.clone())]);
            let new_part = Datum::Set(vec![Atom::NamedUuid(new_name.to_owned())]);
            (
                if hits > 0 { old_part } else { Datum::empty() },
                new_part,
                atoms.len() - hits,
            )
        }
    };
    if is_empty(&old_part) {
        return Ok(None);
    }
    let uuid = row.uuid()?.clone();
    let row_name = row.string("name").ok().map(str::to_owned);
    let column: &Column = schema
        .column(&reference.table, &reference.column)
        .ok_or_else(|| Failure::new("the schema changed while it was read"))?;
    let found = Referrer {
        table: reference.table.clone(),
        uuid,
        name: row_name,
        column: reference.column.clone(),
        weak: reference.weak,
        old: old_part,
        new: new_part,
    };
    if (left as u64) < column.min {
        return Err(Failure::new(format!(
            "interface {name} needs its port re-created for a new server path, but {} cannot be \
             left without it between the two transactions (it needs at least {} element{}); \
             nothing was changed. Change {} first, or re-create the port by hand",
            found.label(),
            column.min,
            if column.min == 1 { "" } else { "s" },
            found.label()
        )));
    }
    Ok(Some(found))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const OLD: &str = "72aab3ba-78f9-4ec9-841c-344a0c6e1604";

    /// A vswitch-like schema where `QoS` is not a root table, and a table that refers to ports
    /// in the values of a map.
    fn schema() -> Schema {
        let optional_ref = |table: &str, weak: bool| {
            json!({"type": {"key": {"type": "uuid", "refTable": table,
                                    "refType": if weak { "weak" } else { "strong" }},
                            "min": 0, "max": 1}})
        };
        Schema::from_json(&json!({
            "name": "Open_vSwitch", "version": "8.3.1",
            "tables": {
                "Port": {"columns": {
                    "name": {"type": "string"},
                    "interfaces": {"type": {"key": {"type": "uuid", "refTable": "Interface"},
                                            "min": 1, "max": "unlimited"}},
                    "tag": {"type": {"key": "integer", "min": 0, "max": 1}},
                    "protected": {"type": "boolean"},
                    "bond_active_slave": {"type": {"key": "string", "min": 0, "max": 1}},
                    "statistics": {"type": {"key": "string", "value": "integer", "min": 0,
                                            "max": "unlimited"}, "ephemeral": true},
                    "qos": optional_ref("QoS", false)}},
                "QoS": {"columns": {"type": {"type": "string"}}},
                "Steering": {"columns": {
                    "by_name": {"type": {"key": "string",
                                         "value": {"type": "uuid", "refTable": "Port"},
                                         "min": 0, "max": "unlimited"}}}}
            }
        }))
        .unwrap()
    }

    fn port(qos: Datum) -> Row {
        Row::from_json(&json!({
            "_uuid": ["uuid", OLD], "name": "vhu1", "tag": 10, "protected": true,
            "bond_active_slave": ["set", []], "statistics": ["map", [["rx", 1]]],
            "interfaces": ["uuid", "11111111-78f9-4ec9-841c-344a0c6e1604"],
        }))
        .unwrap()
        .with("qos", qos)
    }

    #[test]
    fn configuration_is_carried_and_status_and_what_the_change_sets_are_not() {
        let carried = carried_row(&schema(), "Port", &port(Datum::empty()), "vhu1").unwrap();
        assert_eq!(
            carried.columns().collect::<Vec<_>>(),
            ["protected", "qos", "tag"]
        );
    }

    #[test]
    fn a_strong_reference_to_a_row_only_the_port_holds_is_refused() {
        let held = Datum::from(Uuid::parse("22222222-78f9-4ec9-841c-344a0c6e1604").unwrap());
        let msg = carried_row(&schema(), "Port", &port(held), "vhu1")
            .unwrap_err()
            .msg;
        assert!(
            msg.contains("Port column qos refers to a QoS row that OVSDB would delete")
                && msg.contains("nothing was changed"),
            "{msg}"
        );
    }

    #[test]
    fn references_in_map_values_are_moved_pair_by_pair() {
        let schema = schema();
        let reference = &schema.references_to("Port")[0];
        let other = "33333333-78f9-4ec9-841c-344a0c6e1604";
        let row = Row::from_json(&json!({
            "_uuid": ["uuid", "44444444-78f9-4ec9-841c-344a0c6e1604"],
            "by_name": ["map", [["a", ["uuid", OLD]], ["b", ["uuid", other]]]],
        }))
        .unwrap();
        let old = Uuid::parse(OLD).unwrap();
        let found = referrer(&schema, reference, &row, &old, NEW_PORT, "vhu1")
            .unwrap()
            .unwrap();
        assert_eq!(
            found.label(),
            "Steering 44444444-78f9-4ec9-841c-344a0c6e1604 by_name"
        );
        assert_eq!(found.old.to_json(), json!(["map", [["a", ["uuid", OLD]]]]));
        assert_eq!(
            found.new.to_json(),
            json!(["map", [["a", ["named-uuid", NEW_PORT]]]])
        );
        let unrelated = Uuid::parse(&other.replace('3', "5")).unwrap();
        assert!(
            referrer(&schema, reference, &row, &unrelated, NEW_PORT, "vhu1")
                .unwrap()
                .is_none()
        );
    }
}
