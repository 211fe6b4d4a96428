//! The part of a database schema a module needs: its version and which columns exist, to refuse
//! a column the running Open vSwitch does not have before writing anything.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub name: String,
    pub version: String,
    /// Table name to column names, `_uuid` and `_version` included.
    pub tables: BTreeMap<String, BTreeSet<String>>,
}

impl Schema {
    #[must_use]
    pub fn has_column(&self, table: &str, column: &str) -> bool {
        self.tables
            .get(table)
            .is_some_and(|columns| columns.contains(column))
    }

    pub(crate) fn from_json(value: &Value) -> Result<Schema, String> {
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
                let implicit = ["_uuid", "_version"].map(str::to_owned);
                let columns = columns.keys().cloned().chain(implicit).collect();
                Ok((name.clone(), columns))
            })
            .collect::<Result<_, String>>()?;
        Ok(Schema {
            name: text("name")?,
            version: text("version")?,
            tables,
        })
    }
}
