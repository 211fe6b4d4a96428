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
