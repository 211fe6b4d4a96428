//! Every way an OVSDB call fails, each with a message that names what failed and what to do.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::text;

/// An OVSDB failure. Nothing was written unless the variant says otherwise.
#[derive(Debug)]
pub enum Error {
    /// The address is not `unix:<absolute path>` (or a bare absolute path).
    Address { address: String, reason: String },
    /// The socket could not be connected: it does not exist, nobody listens, no permission, or
    /// `connect()` did not finish within the timeout.
    Connect { address: String, source: io::Error },
    /// ovsdb-server accepted the request but did not answer within the timeout. A `transact`
    /// may or may not have been committed.
    Timeout {
        address: String,
        method: String,
        timeout: Duration,
    },
    /// Reading or writing the socket failed, or ovsdb-server closed it.
    Io {
        address: String,
        method: String,
        source: io::Error,
    },
    /// ovsdb-server sent something that is not RFC 7047 JSON-RPC.
    Protocol { address: String, detail: String },
    /// ovsdb-server refused the whole request (a JSON-RPC error), e.g. an unknown database.
    Rpc {
        method: String,
        error: String,
        details: Option<String>,
    },
    /// One operation of a transaction failed, so the transaction was not committed.
    Operation(OpFailure),
    /// A `wait` operation failed: the rows no longer hold the values the change was computed
    /// from, because another writer changed them. Nothing was committed; read again and retry,
    /// or report the conflict.
    Conflict(OpFailure),
    /// Every operation succeeded but the commit was refused (a constraint or referential
    /// integrity check, which OVSDB runs at commit time). Nothing was committed.
    Commit {
        operations: usize,
        error: String,
        details: Option<String>,
    },
    /// A column is missing from a row or holds another type than the caller asked for.
    Column {
        column: String,
        expected: &'static str,
        found: String,
    },
    /// A rule the caller relies on did not hold (a bug, not the server's doing): for example
    /// a plan made from a row that the plan then finds missing.
    Internal { detail: String },
    /// ovs-vswitchd did not reach `next_cfg` in time. The change IS committed in the database.
    NotApplied {
        next_cfg: i64,
        cur_cfg: i64,
        waited: Duration,
    },
}

/// The operation of a transaction that failed, with OVSDB's own `error` and `details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpFailure {
    /// Position in the slice given to `transact`, from 0.
    pub index: usize,
    /// How many operations the transaction had.
    pub operations: usize,
    pub kind: &'static str,
    pub table: Option<String>,
    pub error: String,
    pub details: Option<String>,
}

impl Error {
    /// Whether this is a failed `wait`: a concurrent writer changed the rows.
    #[must_use]
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict(_))
    }
}

impl fmt::Display for OpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "operation {} of {} ({}",
            self.index + 1,
            self.operations,
            self.kind
        )?;
        if let Some(table) = &self.table {
            write!(f, " on table {table}")?;
        }
        write!(
            f,
            ") failed: {}",
            with_details(&self.error, self.details.as_deref())
        )
    }
}

fn with_details(error: &str, details: Option<&str>) -> String {
    match details {
        Some(details) if !details.is_empty() => format!("{error} ({details})"),
        _ => error.to_owned(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Address { address, reason } => {
                write!(
                    f,
                    "unsupported OVSDB address {}: {reason}",
                    text::quoted(address)
                )
            }
            Error::Connect { address, source } => write!(
                f,
                "cannot connect to ovsdb-server at {address}: {source} (is ovsdb-server running \
                 and is this its socket?)"
            ),
            Error::Timeout {
                address,
                method,
                timeout,
            } => write!(
                f,
                "ovsdb-server at {address} did not answer {method} within {}",
                text::seconds(*timeout)
            ),
            Error::Io {
                address,
                method,
                source,
            } => write!(f, "{method} on ovsdb-server at {address} failed: {source}"),
            Error::Protocol { address, detail } => {
                write!(f, "ovsdb-server at {address} broke the protocol: {detail}")
            }
            Error::Rpc {
                method,
                error,
                details,
            } => write!(
                f,
                "ovsdb-server refused {method}: {}",
                with_details(error, details.as_deref())
            ),
            Error::Operation(failure) => {
                write!(f, "OVSDB transaction not committed: {failure}")
            }
            Error::Conflict(failure) => write!(
                f,
                "conflict: the rows changed after they were read, so nothing was written; read \
                 again and retry ({failure})"
            ),
            Error::Commit {
                operations,
                error,
                details,
            } => write!(
                f,
                "ovsdb-server refused to commit the transaction after all {operations} \
                 operations succeeded: {}; nothing was written",
                with_details(error, details.as_deref())
            ),
            Error::Column {
                column,
                expected,
                found,
            } => write!(f, "column {column}: expected {expected}, found {found}"),
            Error::Internal { detail } => write!(
                f,
                "internal error: {detail}; this is a bug in nfv.vhostuser, please report it"
            ),
            Error::NotApplied {
                next_cfg,
                cur_cfg,
                waited,
            } => write!(
                f,
                "ovs-vswitchd did not apply the configuration within {} (cur_cfg \
                 {cur_cfg} < next_cfg {next_cfg}); the change is committed in the database and \
                 takes effect when ovs-vswitchd catches up: is ovs-vswitchd running?",
                text::seconds(*waited)
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. } | Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
