//! The part of a database schema a module needs: its version, which columns exist (to refuse
//! a column the running Open vSwitch does not have before writing anything), and each column's
//! type (which columns ovs-vswitchd keeps only in memory, and which refer to which rows, so a
//! row can be replaced with everything that points at it).

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub name: String,
    pub version: String,
    /// Table name to its definition; its columns include `_uuid` and `_version`.
    pub tables: BTreeMap<String, Table>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// A root table's rows live on their own; the others are deleted once no strong
    /// reference holds them.
    pub is_root: bool,
    pub columns: BTreeMap<String, Column>,
}

/// A column's type: a set of `min..=max` keys, or of key-value pairs when `value` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub key: BaseType,
    pub value: Option<BaseType>,
    pub min: u64,
    /// `None` for "unlimited".
    pub max: Option<u64>,
    /// Kept in memory only: status ovs-vswitchd writes, never configuration.
    pub ephemeral: bool,
    pub mutable: bool,
}

/// An atomic type; for `uuid`, the table it refers to and whether the reference is weak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseType {
    pub atomic: String,
    pub ref_table: Option<String>,
    pub weak: bool,
}

/// A column of some table that can hold a reference to a row of another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub table: String,
    pub column: String,
    /// Whether the keys (else the values of a map) are the references.
    pub in_key: bool,
    pub weak: bool,
}

impl Schema {
    #[must_use]
    pub fn has_column(&self, table: &str, column: &str) -> bool {
        self.column(table, column).is_some()
    }

    #[must_use]
    pub fn column(&self, table: &str, column: &str) -> Option<&Column> {
        self.tables.get(table)?.columns.get(column)
    }

    /// Every column, in every table, whose keys or values can refer to a row of `target`.
    #[must_use]
    pub fn references_to(&self, target: &str) -> Vec<Reference> {
        let mut found = Vec::new();
        for (table, definition) in &self.tables {
            for (column, types) in &definition.columns {
                let sides = [(true, Some(&types.key)), (false, types.value.as_ref())];
                for (in_key, base) in sides {
                    if let Some(base) = base.filter(|b| b.ref_table.as_deref() == Some(target)) {
                        found.push(Reference {
                            table: table.clone(),
                            column: column.clone(),
                            in_key,
                            weak: base.weak,
                        });
                    }
                }
            }
        }
        found
    }

    /// A schema from its JSON (what `get_schema` returns); the error names what is malformed.
    pub fn from_json(value: &Value) -> Result<Schema, String> {
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("the schema has no {key}"))
        };
        let tables = value
            .get("tables")
            .and_then(Value::as_object)
            .ok_or("the schema has no tables")?;
        let tables = tables
            .iter()
            .map(|(name, table)| {
                let columns = table
                    .get("columns")
                    .and_then(Value::as_object)
                    .ok_or_else(|| format!("table {name} has no columns"))?;
                let mut columns = columns
                    .iter()
                    .map(|(column, definition)| {
                        Column::from_json(definition)
                            .map(|c| (column.clone(), c))
                            .map_err(|e| format!("column {name}.{column}: {e}"))
                    })
                    .collect::<Result<BTreeMap<_, _>, String>>()?;
                columns.insert("_uuid".to_owned(), Column::implicit("uuid"));
                columns.insert("_version".to_owned(), Column::implicit("uuid"));
                let is_root = table.get("isRoot").and_then(Value::as_bool) == Some(true);
                Ok((name.clone(), Table { is_root, columns }))
            })
            .collect::<Result<_, String>>()?;
        Ok(Schema {
            name: text("name")?,
            version: text("version")?,
            tables,
        })
    }
}

impl Column {
    /// Whether the column holds references to rows of `table`.
    #[must_use]
    pub fn refers_to(&self, table: &str) -> bool {
        [Some(&self.key), self.value.as_ref()]
            .into_iter()
            .flatten()
            .any(|b| b.ref_table.as_deref() == Some(table))
    }

    /// The tables the column holds strong references to.
    pub fn strong_refs(&self) -> impl Iterator<Item = &str> {
        [Some(&self.key), self.value.as_ref()]
            .into_iter()
            .flatten()
            .filter(|b| !b.weak)
            .filter_map(|b| b.ref_table.as_deref())
    }

    fn implicit(atomic: &str) -> Column {
        Column {
            key: BaseType::atomic(atomic),
            value: None,
            min: 1,
            max: Some(1),
            ephemeral: false,
            mutable: false,
        }
    }

    /// RFC 7047 §3.2 `<column-schema>`: `type` is an atomic type name or an object with
    /// `key`, optional `value`, `min` (default 1) and `max` (default 1, or "unlimited").
    fn from_json(value: &Value) -> Result<Column, String> {
        let kind = value.get("type").ok_or("no type")?;
        let flag =
            |key: &str, default: bool| value.get(key).and_then(Value::as_bool).unwrap_or(default);
        let (key, value_type, min, max) = match kind {
            Value::String(atomic) => (BaseType::atomic(atomic), None, 1, Some(1)),
            Value::Object(object) => {
                let key = BaseType::from_json(object.get("key").ok_or("no key type")?)?;
                let value_type = object.get("value").map(BaseType::from_json).transpose()?;
                let min = match object.get("min") {
                    None => 1,
                    Some(n) => n.as_u64().ok_or_else(|| format!("min is {n}"))?,
                };
                let max = match object.get("max") {
                    None => Some(1),
                    Some(Value::String(s)) if s == "unlimited" => None,
                    Some(n) => Some(n.as_u64().ok_or_else(|| format!("max is {n}"))?),
                };
                (key, value_type, min, max)
            }
            other => return Err(format!("type is {other}")),
        };
        Ok(Column {
            key,
            value: value_type,
            min,
            max,
            ephemeral: flag("ephemeral", false),
            mutable: flag("mutable", true),
        })
    }
}

impl BaseType {
    fn atomic(atomic: &str) -> BaseType {
        BaseType {
            atomic: atomic.to_owned(),
            ref_table: None,
            weak: false,
        }
    }

    fn from_json(value: &Value) -> Result<BaseType, String> {
        match value {
            Value::String(atomic) => Ok(BaseType::atomic(atomic)),
            Value::Object(object) => {
                let atomic = object
                    .get("type")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("base type without a type: {value}"))?;
                Ok(BaseType {
                    atomic: atomic.to_owned(),
                    ref_table: object
                        .get("refTable")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    weak: object.get("refType").and_then(Value::as_str) == Some("weak"),
                })
            }
            other => Err(format!("base type is {other}")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::from_json(&json!({
            "name": "Open_vSwitch", "version": "8.3.1",
            "tables": {
                "Bridge": {"columns": {
                    "name": {"type": "string", "mutable": false},
                    "ports": {"type": {"key": {"type": "uuid", "refTable": "Port"},
                                       "min": 0, "max": "unlimited"}}}},
                "Port": {"columns": {
                    "qos": {"type": {"key": {"type": "uuid", "refTable": "QoS"}, "min": 0, "max": 1}},
                    "status": {"type": {"key": "string", "value": "string", "min": 0,
                                        "max": "unlimited"}, "ephemeral": true}},
                         "indexes": [["name"]]},
                "Mirror": {"columns": {
                    "output_port": {"type": {"key": {"type": "uuid", "refTable": "Port",
                                             "refType": "weak"}, "min": 0, "max": 1}}}},
                "Tagged": {"columns": {
                    "by_port": {"type": {"key": "string",
                                         "value": {"type": "uuid", "refTable": "Port"}}}}},
                "QoS": {"columns": {}, "isRoot": true}
            }
        }))
        .unwrap()
    }

    #[test]
    fn column_types_are_read_with_their_defaults() {
        let schema = schema();
        let name = schema.column("Bridge", "name").unwrap();
        assert_eq!((name.min, name.max, name.mutable), (1, Some(1), false));
        let ports = schema.column("Bridge", "ports").unwrap();
        assert_eq!((ports.min, ports.max), (0, None));
        assert_eq!(ports.key.ref_table.as_deref(), Some("Port"));
        assert!(schema.column("Port", "status").unwrap().ephemeral);
        assert!(schema.has_column("Port", "_uuid"));
        assert!(schema.tables["QoS"].is_root && !schema.tables["Port"].is_root);
        assert_eq!(
            schema
                .column("Port", "qos")
                .unwrap()
                .strong_refs()
                .collect::<Vec<_>>(),
            ["QoS"]
        );
    }

    #[test]
    fn references_are_found_in_keys_and_values_strong_and_weak() {
        let found = schema().references_to("Port");
        let brief: Vec<_> = found
            .iter()
            .map(|r| (r.table.as_str(), r.column.as_str(), r.in_key, r.weak))
            .collect();
        assert_eq!(
            brief,
            [
                ("Bridge", "ports", true, false),
                ("Mirror", "output_port", true, true),
                ("Tagged", "by_port", false, false),
            ]
        );
    }

    #[test]
    fn a_malformed_column_is_named() {
        let bad = json!({"name": "x", "version": "1", "tables": {
            "T": {"columns": {"c": {"type": {"key": "string", "max": -1}}}}}});
        let error = Schema::from_json(&bad).unwrap_err();
        assert!(error.contains("column T.c"), "{error}");
    }
}
