//! The OVSDB methods a module needs: `list_dbs`, `get_schema` and `transact`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::connection::Connection;
use super::{Error, OpResult, Operation, Schema, address, reply};

/// A session with the local ovsdb-server. Each call, connect included, finishes or fails within
/// the timeout. After a timeout or a broken connection the next call reconnects, so a late
/// reply to an abandoned call can never be taken for the answer to a new one.
#[derive(Debug)]
pub struct Client {
    address: String,
    path: PathBuf,
    timeout: Duration,
    connection: Option<Connection>,
}

impl Client {
    /// Connects to `address` (`unix:<path>` or an absolute path) now, so that a missing or
    /// refusing socket is reported before anything else is attempted.
    pub fn connect(address: &str, timeout: Duration) -> Result<Client, Error> {
        let path = address::socket_path(address)?;
        let deadline = Instant::now() + timeout;
        let connection = Connection::open(address, &path, deadline)?;
        Ok(Client {
            address: address.to_owned(),
            path,
            timeout,
            connection: Some(connection),
        })
    }

    #[must_use]
    pub fn address(&self) -> &str {
        &self.address
    }

    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The databases the server holds, e.g. `["Open_vSwitch", "_Server"]`.
    pub fn list_dbs(&mut self) -> Result<Vec<String>, Error> {
        let result = self.call("list_dbs", &json!([]))?;
        result
            .as_array()
            .and_then(|names| {
                names
                    .iter()
                    .map(|n| n.as_str().map(str::to_owned))
                    .collect()
            })
            .ok_or_else(|| self.protocol(format!("list_dbs returned {result}")))
    }

    pub fn get_schema(&mut self, database: &str) -> Result<Schema, Error> {
        let result = self.call("get_schema", &json!([database]))?;
        Schema::from_json(&result).map_err(|detail| self.protocol(detail))
    }

    /// Runs `operations` as one atomic transaction on `database` and returns one result per
    /// operation. Any failed operation, failed `wait` or refused commit is an error, and then
    /// nothing was written.
    pub fn transact(
        &mut self,
        database: &str,
        operations: &[Operation],
    ) -> Result<Vec<OpResult>, Error> {
        let params: Vec<Value> = std::iter::once(json!(database))
            .chain(operations.iter().map(|op| op.to_json().clone()))
            .collect();
        let result = self.call("transact", &Value::Array(params))?;
        reply::parse(operations, &result, |detail| self.protocol(detail))
    }

    fn call(&mut self, method: &str, params: &Value) -> Result<Value, Error> {
        let deadline = Instant::now() + self.timeout;
        let mut connection = match self.connection.take() {
            Some(connection) => connection,
            None => Connection::open(&self.address, &self.path, deadline)?,
        };
        let result = connection.call(method, params, deadline, self.timeout);
        // Keep the session only while it is known to be in step: after an Rpc error it is,
        // after a timeout or a broken stream it is not.
        if matches!(result, Ok(_) | Err(Error::Rpc { .. })) {
            self.connection = Some(connection);
        }
        result
    }

    fn protocol(&self, detail: String) -> Error {
        Error::Protocol {
            address: self.address.clone(),
            detail,
        }
    }
}
