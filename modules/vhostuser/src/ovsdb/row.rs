//! A row: column names to values, with typed readers whose errors name the column.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Datum, Error, Uuid};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    columns: BTreeMap<String, Datum>,
}

impl Row {
    #[must_use]
    pub fn new() -> Row {
        Row::default()
    }

    /// This row with `column` set, for building `insert` and `update` rows in one expression.
    #[must_use]
    pub fn with(mut self, column: &str, value: impl Into<Datum>) -> Row {
        self.set(column, value);
        self
    }

    pub fn set(&mut self, column: &str, value: impl Into<Datum>) {
        self.columns.insert(column.to_owned(), value.into());
    }

    #[must_use]
    pub fn get(&self, column: &str) -> Option<&Datum> {
        self.columns.get(column)
    }

    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.columns.keys().map(String::as_str)
    }

    /// A copy with only `columns` (those present), e.g. the values a `wait` should compare.
    #[must_use]
    pub fn only(&self, columns: &[&str]) -> Row {
        let columns = self
            .columns
            .iter()
            .filter(|(name, _)| columns.contains(&name.as_str()))
            .map(|(name, datum)| (name.clone(), datum.clone()))
            .collect();
        Row { columns }
    }

    #[must_use]
    pub fn to_json(&self) -> Value {
        let object: Map<String, Value> = self
            .columns
            .iter()
            .map(|(name, datum)| (name.clone(), datum.to_json()))
            .collect();
        Value::Object(object)
    }

    /// A row from a JSON object of cells; the error names the first bad column.
    pub fn from_json(value: &Value) -> Result<Row, String> {
        let object = value
            .as_object()
            .ok_or_else(|| format!("a row must be a JSON object, found {value}"))?;
        let columns = object
            .iter()
            .map(|(name, cell)| {
                Datum::from_json(cell)
                    .map(|datum| (name.clone(), datum))
                    .map_err(|e| format!("column {name}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Row { columns })
    }

    /// The row's `_uuid` (select it, or select all columns).
    pub fn uuid(&self) -> Result<&Uuid, Error> {
        self.read("_uuid", "a UUID", |d| d.single()?.as_uuid())
    }

    pub fn string(&self, column: &str) -> Result<&str, Error> {
        self.read(column, "a string", |d| d.single()?.as_str())
    }

    /// An optional string column (min 0, max 1): the empty set is `None`.
    pub fn optional_string(&self, column: &str) -> Result<Option<&str>, Error> {
        self.read(column, "an optional string", |d| match d.optional()? {
            None => Some(None),
            Some(atom) => atom.as_str().map(Some),
        })
    }

    pub fn integer(&self, column: &str) -> Result<i64, Error> {
        self.read(column, "an integer", |d| match d.single()? {
            super::Atom::Integer(n) => Some(*n),
            _ => None,
        })
    }

    pub fn boolean(&self, column: &str) -> Result<bool, Error> {
        self.read(column, "a boolean", |d| match d.single()? {
            super::Atom::Boolean(b) => Some(*b),
            _ => None,
        })
    }

    pub fn string_map(&self, column: &str) -> Result<BTreeMap<String, String>, Error> {
        self.read(column, "a map of strings to strings", Datum::to_string_map)
    }

    pub fn uuid_set(&self, column: &str) -> Result<Vec<Uuid>, Error> {
        self.read(column, "a set of UUIDs", Datum::to_uuid_set)
    }

    pub fn string_set(&self, column: &str) -> Result<Vec<String>, Error> {
        self.read(column, "a set of strings", Datum::to_string_set)
    }

    fn read<'a, T>(
        &'a self,
        column: &str,
        expected: &'static str,
        convert: impl FnOnce(&'a Datum) -> Option<T>,
    ) -> Result<T, Error> {
        let problem = |found: String| Error::Column {
            column: column.to_owned(),
            expected,
            found,
        };
        let datum = self
            .columns
            .get(column)
            .ok_or_else(|| problem("no such column in the row (was it selected?)".to_owned()))?;
        convert(datum).ok_or_else(|| problem(datum.to_json().to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn interface() -> Row {
        Row::from_json(&json!({
            "_uuid": ["uuid", "72aab3ba-78f9-4ec9-841c-344a0c6e1604"],
            "name": "vhu1",
            "type": "dpdkvhostuserclient",
            "options": ["map", [["vhost-server-path", "/run/vhu1"]]],
            "error": ["set", []],
            "ofport": -1,
            "status": ["set", []],
        }))
        .unwrap()
    }

    #[test]
    fn typed_readers_decode_the_cells() {
        let row = interface();
        assert_eq!(
            row.uuid().unwrap().as_str(),
            "72aab3ba-78f9-4ec9-841c-344a0c6e1604"
        );
        assert_eq!(row.string("type").unwrap(), "dpdkvhostuserclient");
        assert_eq!(row.optional_string("error").unwrap(), None);
        assert_eq!(row.integer("ofport").unwrap(), -1);
        assert_eq!(
            row.string_map("options").unwrap()["vhost-server-path"],
            "/run/vhu1"
        );
        assert!(row.string_map("status").unwrap().is_empty());
    }

    #[test]
    fn reader_errors_name_the_column_and_what_was_found() {
        let row = interface();
        let wrong = row.integer("type").unwrap_err().to_string();
        assert_eq!(
            wrong,
            "column type: expected an integer, found \"dpdkvhostuserclient\""
        );
        let missing = row.string("mtu").unwrap_err().to_string();
        assert!(
            missing.contains("column mtu") && missing.contains("selected"),
            "{missing}"
        );
    }

    #[test]
    fn only_keeps_the_named_columns() {
        let row = interface().only(&["type", "options", "nonexistent"]);
        assert_eq!(row.columns().collect::<Vec<_>>(), ["options", "type"]);
    }
}
