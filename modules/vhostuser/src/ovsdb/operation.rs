//! Typed builders for the operations of a `transact` (RFC 7047 §5.2).

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Datum, Row, Uuid};

/// What an operation does; it decides how its result and its errors are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Select,
    Insert,
    Update,
    Mutate,
    Delete,
    Wait,
    Comment,
}

impl OpKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Select => "select",
            OpKind::Insert => "insert",
            OpKind::Update => "update",
            OpKind::Mutate => "mutate",
            OpKind::Delete => "delete",
            OpKind::Wait => "wait",
            OpKind::Comment => "comment",
        }
    }
}

/// One operation, already in its JSON form.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    kind: OpKind,
    table: Option<String>,
    json: Value,
}

impl Operation {
    /// The rows of `table` that match every condition (none: all rows), with `columns` (none:
    /// all columns, `_uuid` and `_version` included).
    #[must_use]
    pub fn select(table: &str, conditions: &[Condition], columns: &[&str]) -> Operation {
        let mut op = on_table("select", table);
        op.insert("where".to_owned(), where_json(conditions));
        if !columns.is_empty() {
            op.insert("columns".to_owned(), json!(columns));
        }
        Operation::new(OpKind::Select, table, op)
    }

    /// A new row. Columns left out get their defaults.
    #[must_use]
    pub fn insert(table: &str, row: &Row) -> Operation {
        let mut op = on_table("insert", table);
        op.insert("row".to_owned(), row.to_json());
        Operation::new(OpKind::Insert, table, op)
    }

    /// A new row that later operations of the same transaction refer to as
    /// `Datum::named_uuid(uuid_name)`.
    #[must_use]
    pub fn insert_named(table: &str, uuid_name: &str, row: &Row) -> Operation {
        let mut op = Operation::insert(table, row);
        op.json["uuid-name"] = json!(uuid_name);
        op
    }

    /// Sets the columns of `row` in every matching row.
    #[must_use]
    pub fn update(table: &str, conditions: &[Condition], row: &Row) -> Operation {
        let mut op = on_table("update", table);
        op.insert("where".to_owned(), where_json(conditions));
        op.insert("row".to_owned(), row.to_json());
        Operation::new(OpKind::Update, table, op)
    }

    /// Changes columns of every matching row relative to their current values.
    #[must_use]
    pub fn mutate(table: &str, conditions: &[Condition], mutations: &[Mutation]) -> Operation {
        let mut op = on_table("mutate", table);
        op.insert("where".to_owned(), where_json(conditions));
        let mutations = mutations.iter().map(Mutation::to_json).collect::<Vec<_>>();
        op.insert("mutations".to_owned(), Value::Array(mutations));
        Operation::new(OpKind::Mutate, table, op)
    }

    #[must_use]
    pub fn delete(table: &str, conditions: &[Condition]) -> Operation {
        let mut op = on_table("delete", table);
        op.insert("where".to_owned(), where_json(conditions));
        Operation::new(OpKind::Delete, table, op)
    }

    /// Fails the whole transaction unless the matching rows, reduced to `columns`, are (or are
    /// not) exactly `rows`. The server waits up to `timeout` for that to become true; zero
    /// checks once. A failure is [`super::Error::Conflict`].
    #[must_use]
    pub fn wait(
        table: &str,
        conditions: &[Condition],
        columns: &[&str],
        until: Until,
        rows: &[Row],
        timeout: Duration,
    ) -> Operation {
        let mut op = on_table("wait", table);
        op.insert("where".to_owned(), where_json(conditions));
        op.insert("columns".to_owned(), json!(columns));
        op.insert("until".to_owned(), json!(until.as_str()));
        let rows = rows.iter().map(Row::to_json).collect::<Vec<_>>();
        op.insert("rows".to_owned(), Value::Array(rows));
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        op.insert("timeout".to_owned(), json!(millis));
        Operation::new(OpKind::Wait, table, op)
    }

    /// The optimistic lock: fails at once, as a conflict, unless the row that `conditions`
    /// match still holds every column of `expected` (as read earlier, e.g. by a select).
    /// An empty `expected` row asserts that no row matches.
    #[must_use]
    pub fn wait_unchanged(table: &str, conditions: &[Condition], expected: &Row) -> Operation {
        let columns: Vec<&str> = expected.columns().collect();
        let rows: &[Row] = if columns.is_empty() {
            &[]
        } else {
            std::slice::from_ref(expected)
        };
        Operation::wait(
            table,
            conditions,
            &columns,
            Until::Equal,
            rows,
            Duration::ZERO,
        )
    }

    /// A note for ovsdb-server's log.
    #[must_use]
    pub fn comment(text: &str) -> Operation {
        Operation {
            kind: OpKind::Comment,
            table: None,
            json: json!({"op": "comment", "comment": text}),
        }
    }

    fn new(kind: OpKind, table: &str, json: Map<String, Value>) -> Operation {
        Operation {
            kind,
            table: Some(table.to_owned()),
            json: Value::Object(json),
        }
    }

    #[must_use]
    pub fn kind(&self) -> OpKind {
        self.kind
    }

    #[must_use]
    pub fn table(&self) -> Option<&str> {
        self.table.as_deref()
    }

    #[must_use]
    pub fn to_json(&self) -> &Value {
        &self.json
    }
}

fn on_table(op: &str, table: &str) -> Map<String, Value> {
    let mut json = Map::new();
    json.insert("op".to_owned(), json!(op));
    json.insert("table".to_owned(), json!(table));
    json
}

fn where_json(conditions: &[Condition]) -> Value {
    Value::Array(conditions.iter().map(Condition::to_json).collect())
}

/// A comparison of a column with a value, as in `where`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub function: Function,
    pub value: Datum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Less,
    LessOrEqual,
    Equal,
    NotEqual,
    GreaterOrEqual,
    Greater,
    Includes,
    Excludes,
}

impl Condition {
    #[must_use]
    pub fn new(column: &str, function: Function, value: impl Into<Datum>) -> Condition {
        Condition {
            column: column.to_owned(),
            function,
            value: value.into(),
        }
    }

    #[must_use]
    pub fn eq(column: &str, value: impl Into<Datum>) -> Condition {
        Condition::new(column, Function::Equal, value)
    }

    /// The row with this `_uuid`.
    #[must_use]
    pub fn uuid(uuid: &Uuid) -> Condition {
        Condition::eq("_uuid", uuid)
    }

    fn to_json(&self) -> Value {
        let function = match self.function {
            Function::Less => "<",
            Function::LessOrEqual => "<=",
            Function::Equal => "==",
            Function::NotEqual => "!=",
            Function::GreaterOrEqual => ">=",
            Function::Greater => ">",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        };
        json!([self.column, function, self.value.to_json()])
    }
}

/// A change of a column relative to its value, as in `mutate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub column: String,
    pub mutator: Mutator,
    pub value: Datum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutator {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    /// Adds elements to a set, or pairs to a map.
    Insert,
    /// Removes elements from a set, or keys (a set value) or pairs (a map value) from a map.
    Delete,
}

impl Mutation {
    #[must_use]
    pub fn new(column: &str, mutator: Mutator, value: impl Into<Datum>) -> Mutation {
        Mutation {
            column: column.to_owned(),
            mutator,
            value: value.into(),
        }
    }

    /// `column += n`, e.g. `next_cfg`.
    #[must_use]
    pub fn add(column: &str, n: i64) -> Mutation {
        Mutation::new(column, Mutator::Add, n)
    }

    #[must_use]
    pub fn insert(column: &str, value: impl Into<Datum>) -> Mutation {
        Mutation::new(column, Mutator::Insert, value)
    }

    #[must_use]
    pub fn delete(column: &str, value: impl Into<Datum>) -> Mutation {
        Mutation::new(column, Mutator::Delete, value)
    }

    fn to_json(&self) -> Value {
        let mutator = match self.mutator {
            Mutator::Add => "+=",
            Mutator::Subtract => "-=",
            Mutator::Multiply => "*=",
            Mutator::Divide => "/=",
            Mutator::Modulo => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        };
        json!([self.column, mutator, self.value.to_json()])
    }
}

/// What a `wait` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The rows equal the given ones.
    Equal,
    /// The rows differ from the given ones.
    NotEqual,
}

impl Until {
    fn as_str(self) -> &'static str {
        match self {
            Until::Equal => "==",
            Until::NotEqual => "!=",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_encode_as_rfc_7047() {
        let by_name = [Condition::eq("name", "vhu1")];
        assert_eq!(
            Operation::select("Interface", &by_name, &["type"]).to_json(),
            &json!({"op": "select", "table": "Interface",
                    "where": [["name", "==", "vhu1"]], "columns": ["type"]})
        );
        let row = Row::new().with("name", "vhu1");
        assert_eq!(
            Operation::insert_named("Interface", "iface", &row).to_json(),
            &json!({"op": "insert", "table": "Interface", "row": {"name": "vhu1"},
                    "uuid-name": "iface"})
        );
        let mutations = [
            Mutation::add("next_cfg", 1),
            Mutation::insert("bridges", Datum::named_uuid("br")),
        ];
        assert_eq!(
            Operation::mutate("Open_vSwitch", &[], &mutations).to_json(),
            &json!({"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": [
                ["next_cfg", "+=", 1], ["bridges", "insert", ["named-uuid", "br"]]]})
        );
        assert_eq!(
            Operation::wait_unchanged("Interface", &by_name, &Row::new().with("type", ""))
                .to_json(),
            &json!({"op": "wait", "table": "Interface", "where": [["name", "==", "vhu1"]],
                    "columns": ["type"], "until": "==", "rows": [{"type": ""}], "timeout": 0})
        );
        assert_eq!(
            Operation::comment("why").to_json(),
            &json!({"op": "comment", "comment": "why"})
        );
    }

    #[test]
    fn waiting_for_no_row_sends_no_rows() {
        let op = Operation::wait_unchanged("Port", &[Condition::eq("name", "p")], &Row::new());
        assert_eq!(op.to_json()["rows"], json!([]));
        assert_eq!(op.to_json()["columns"], json!([]));
    }
}
