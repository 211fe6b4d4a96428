//! A native OVSDB client (RFC 7047): JSON-RPC over the local ovsdb-server's unix socket.
//!
//! Why not `ovs-vsctl`: its text output has to be re-parsed (the `openvswitch.openvswitch`
//! collection's regexes break on `-`, `=` and `, ` in values), it changes one column per call so
//! a type and its `options` cannot change together, and without `--no-wait` it blocks on
//! ovs-vswitchd and can be killed *after* committing. Here a change is one atomic `transact`,
//! guarded by `wait` operations on the values it was computed from, and waiting for
//! ovs-vswitchd is a separate, bounded step ([`wait_applied`]).
//!
//! Every call is bounded by the client's timeout: connect, each write and each read, and the
//! call as a whole. A typical change:
//!
//! ```no_run
//! use std::time::Duration;
//! use vhostuser::ovsdb::{self, Client, Condition, Operation, Row};
//!
//! # fn main() -> Result<(), ovsdb::Error> {
//! let mut client = Client::connect("unix:/var/run/openvswitch/db.sock", Duration::from_secs(5))?;
//! let by_name = [Condition::eq("name", "vhu1")];
//! let read = client.transact(
//!     "Open_vSwitch",
//!     &[Operation::select("Interface", &by_name, &["type", "options"])],
//! )?;
//! let before = read[0].rows.first().cloned().unwrap_or_default();
//! let mut ops = vec![
//!     // Fails with Error::Conflict if another writer changed the row since it was read.
//!     Operation::wait_unchanged("Interface", &by_name, &before),
//!     Operation::update("Interface", &by_name, &Row::new().with("type", "dpdkvhostuserclient")),
//! ];
//! ops.extend(ovsdb::bump_next_cfg());
//! let results = client.transact("Open_vSwitch", &ops)?;
//! ovsdb::wait_applied(&mut client, ovsdb::next_cfg(&results)?, Duration::from_secs(10))?;
//! # Ok(())
//! # }
//! ```

mod address;
mod cfg;
mod client;
mod connection;
mod datum;
mod error;
mod framing;
mod operation;
mod reply;
mod row;
mod schema;

pub use address::socket_path;
pub use cfg::{bump_next_cfg, next_cfg, wait_applied};
pub use client::Client;
pub use datum::{Atom, Datum, Uuid};
pub use error::{Error, OpFailure};
pub use operation::{Condition, Function, Mutation, Mutator, OpKind, Operation, Until};
pub use reply::OpResult;
pub use row::Row;
pub use schema::{BaseType, Column, Reference, Schema, Table};

/// Entry points for the fuzz targets in `fuzz/`, built only with `--cfg fuzzing`: the path
/// every byte from ovsdb-server takes, without a socket.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use serde_json::Value;

    use super::{Condition, Error, Function, OpResult, Operation, Row, Schema};

    /// Feeds `chunks` to the framer as reads would, and decodes each complete message as the
    /// client does; stops at the first framing error.
    #[must_use]
    pub fn messages(chunks: &[&[u8]]) -> Vec<Result<Value, String>> {
        let mut framer = super::framing::Framer::default();
        let mut out = Vec::new();
        for chunk in chunks {
            framer.push(chunk);
            loop {
                match framer.next_message() {
                    Ok(Some(bytes)) => {
                        out.push(serde_json::from_slice(&bytes).map_err(|e| e.to_string()));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        out.push(Err(e));
                        return out;
                    }
                }
            }
        }
        out
    }

    /// A `transact` reply read for a select, an insert and an update.
    pub fn transact_reply(reply: &Value) -> Result<Vec<OpResult>, Error> {
        let row = Row::new().with("name", "x");
        let operations = [
            Operation::select("Interface", &[], &["name"]),
            Operation::insert("Interface", &row),
            Operation::update(
                "Interface",
                &[Condition::new("name", Function::Equal, "x")],
                &row,
            ),
        ];
        super::reply::parse(&operations, reply, |detail| Error::Protocol {
            address: "fuzz".to_owned(),
            detail,
        })
    }

    /// A `get_schema` reply.
    pub fn schema(value: &Value) -> Result<Schema, String> {
        Schema::from_json(value)
    }
}
