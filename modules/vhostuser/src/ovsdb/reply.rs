//! Reading a `transact` reply: one result per operation, or the error that stopped it.
//!
//! As ovsdb-server 3.1 sends it: successful results, then at most one `{"error", "details"}`
//! object for the failed operation, then `null` for each operation not attempted. If every
//! operation succeeded but the commit failed, one extra error follows the results.

use serde_json::Value;

use super::{Error, OpFailure, OpKind, Operation, Row, Uuid};

/// What a successful operation returned; fields the operation does not produce stay empty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpResult {
    /// `select`: the matching rows.
    pub rows: Vec<Row>,
    /// `insert`: the new row's UUID.
    pub uuid: Option<Uuid>,
    /// `update`, `mutate`, `delete`: how many rows matched.
    pub count: Option<u64>,
}

/// The results of `operations`, or the first error in `reply`, typed. `protocol` builds the
/// error for a reply that is not shaped like RFC 7047's.
pub(crate) fn parse(
    operations: &[Operation],
    reply: &Value,
    protocol: impl Fn(String) -> Error,
) -> Result<Vec<OpResult>, Error> {
    let elements = reply
        .as_array()
        .ok_or_else(|| protocol(format!("the transact result is not an array: {reply}")))?;
    let mut results = Vec::with_capacity(operations.len());
    for (index, element) in elements.iter().enumerate() {
        if let Some(error) = element.get("error") {
            return Err(failure(operations, index, error, element.get("details")));
        }
        if element.is_null() {
            break;
        }
        let result = op_result(element).map_err(|detail| {
            protocol(format!(
                "the result of operation {} of {}: {detail}",
                index + 1,
                operations.len()
            ))
        })?;
        results.push(result);
    }
    if results.len() != operations.len() {
        return Err(protocol(format!(
            "{} results without an error for {} operations: {reply}",
            results.len(),
            operations.len()
        )));
    }
    Ok(results)
}

fn failure(
    operations: &[Operation],
    index: usize,
    error: &Value,
    details: Option<&Value>,
) -> Error {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let error = text(error);
    let details = details.map(text);
    let Some(op) = operations.get(index) else {
        return Error::Commit {
            operations: operations.len(),
            error,
            details,
        };
    };
    // A wait reports its unmet condition as "timed out"; any other error is a real failure.
    let conflict = op.kind() == OpKind::Wait && error == "timed out";
    let failure = OpFailure {
        index,
        operations: operations.len(),
        kind: op.kind().as_str(),
        table: op.table().map(str::to_owned),
        error,
        details,
    };
    if conflict {
        Error::Conflict(failure)
    } else {
        Error::Operation(failure)
    }
}

fn op_result(element: &Value) -> Result<OpResult, String> {
    let object = element
        .as_object()
        .ok_or_else(|| format!("expected an object, found {element}"))?;
    let rows = match object.get("rows") {
        None => Vec::new(),
        Some(Value::Array(rows)) => rows.iter().map(Row::from_json).collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("rows is not an array: {other}")),
    };
    let uuid = match object.get("uuid") {
        None => None,
        Some(value) => Some(
            super::Atom::from_json(value)?
                .as_uuid()
                .cloned()
                .ok_or_else(|| format!("uuid is not a UUID: {value}"))?,
        ),
    };
    let count = match object.get("count") {
        None => None,
        Some(value) => Some(
            value
                .as_u64()
                .ok_or_else(|| format!("count is not a number: {value}"))?,
        ),
    };
    Ok(OpResult { rows, uuid, count })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ovsdb::Condition;
    use serde_json::json;

    fn ops() -> Vec<Operation> {
        let by_name = [Condition::eq("name", "vhu1")];
        vec![
            Operation::select("Interface", &by_name, &[]),
            Operation::wait_unchanged("Interface", &by_name, &Row::new()),
            Operation::delete("Interface", &by_name),
        ]
    }

    fn protocol(detail: String) -> Error {
        Error::Protocol {
            address: "unix:/test".to_owned(),
            detail,
        }
    }

    #[test]
    fn a_failed_wait_is_a_conflict_naming_the_operation() {
        let reply = json!([{"rows": []},
            {"error": "timed out", "details": "\"where\" clause test failed"}, null]);
        let error = parse(&ops(), &reply, protocol).unwrap_err();
        assert!(error.is_conflict());
        let message = error.to_string();
        assert!(
            message.contains("operation 2 of 3 (wait on table Interface)"),
            "{message}"
        );
    }

    #[test]
    fn a_commit_error_follows_the_results() {
        let reply = json!([{"rows": []}, {}, {"count": 1},
            {"error": "referential integrity violation", "details": "cannot delete"}]);
        let message = parse(&ops(), &reply, protocol).unwrap_err().to_string();
        assert!(
            message.contains("after all 3 operations succeeded"),
            "{message}"
        );
        assert!(message.contains("referential integrity violation (cannot delete)"));
    }

    #[test]
    fn a_short_reply_without_an_error_is_a_protocol_error() {
        let error = parse(&ops(), &json!([{"rows": []}, null, null]), protocol).unwrap_err();
        assert!(matches!(error, Error::Protocol { .. }), "{error}");
    }
}
