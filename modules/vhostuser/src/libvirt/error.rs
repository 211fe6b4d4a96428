//! How reading domains fails: for the whole read ([`Error`]), or for one domain while the
//! others still count ([`DomainError`]).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::domain::Domain;
use super::xml::XmlError;

/// Nothing could be read.
#[derive(Debug)]
pub enum Error {
    /// virsh (or the wrapper that should run it) does not exist: spawning failed with ENOENT,
    /// or the command exited 127, which is how shells, `podman exec` and `docker exec` say
    /// "command not found". The audit reports it and carries on without libvirt.
    NotFound { command: String, detail: String },
    /// The command could not be started or waited for, for another reason than absence.
    Io { command: String, source: io::Error },
    /// virsh did not finish in time and was killed with its process group.
    Timeout {
        command: String,
        timeout: Duration,
        pid: u32,
        stderr: String,
    },
    /// virsh exited non-zero, e.g. it could not connect to the URI.
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    /// virsh succeeded but its output is not what it prints for these commands.
    Output { command: String, detail: String },
    /// The directory of XML files could not be listed.
    ReadDir { path: PathBuf, source: io::Error },
}

impl Error {
    /// virsh is not installed (or not in the container): say so and carry on.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

/// ` : <stderr>` when there is any.
fn with_stderr(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        " with no error output".to_owned()
    } else {
        format!(": {stderr}")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { command, detail } => {
                write!(f, "virsh not found: {command} ({detail})")
            }
            Error::Io { command, source } => write!(f, "cannot run {command}: {source}"),
            Error::Timeout {
                command,
                timeout,
                pid,
                stderr,
            } => write!(
                f,
                "{command} did not finish within {:.1}s and was killed (process group {pid}); \
                 the libvirt daemon may be hung{}",
                timeout.as_secs_f64(),
                if stderr.trim().is_empty() {
                    String::new()
                } else {
                    format!("; it printed: {}", stderr.trim())
                }
            ),
            Error::Failed {
                command,
                status,
                stderr,
            } => write!(f, "{command} failed ({status}){}", with_stderr(stderr)),
            Error::Output { command, detail } => {
                write!(f, "{command} printed something unexpected: {detail}")
            }
            Error::ReadDir { path, source } => {
                write!(f, "cannot list {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } | Error::ReadDir { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// One domain could not be read; the others were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// Its XML does not parse.
    Xml(XmlError),
    /// `dumpxml` printed nothing: the domain was undefined between the list and the dump, or
    /// virsh could not read it. `stderr` holds virsh's lines about it.
    NoOutput { stderr: String },
    /// virsh's output ended before this domain's turn.
    Truncated,
    /// virsh looks a name up as a domain id first, then as a UUID: a domain named `5` (or
    /// named like another domain's UUID) comes back as that other domain, `found`.
    OtherDomain { found: String },
    /// The file could not be read.
    Read(String),
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainError::Xml(e) => write!(f, "the domain XML does not parse: {e}"),
            DomainError::NoOutput { stderr } => write!(
                f,
                "virsh dumpxml printed nothing (the domain may have been undefined meanwhile){}",
                with_stderr(stderr)
            ),
            DomainError::Truncated => write!(
                f,
                "virsh's output ended before this domain's XML; it may have crashed"
            ),
            DomainError::OtherDomain { found } => write!(
                f,
                "virsh returned the XML of domain '{found}' for this name: virsh looks a name \
                 up as an id or UUID first, so this domain cannot be read by its name"
            ),
            DomainError::Read(e) => write!(f, "cannot read the file: {e}"),
        }
    }
}

impl std::error::Error for DomainError {}

impl From<XmlError> for DomainError {
    fn from(e: XmlError) -> Self {
        DomainError::Xml(e)
    }
}

/// Reported as its message: the audit shows it to a person.
impl Serialize for DomainError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Writes an outcome as two fields, `domain` and `error`, exactly one of them null, so every
/// entry of a report has the same keys.
pub(crate) fn serialize_outcome<S: SerializeStruct>(
    state: &mut S,
    outcome: &Result<Domain, DomainError>,
) -> Result<(), S::Error> {
    match outcome {
        Ok(domain) => {
            state.serialize_field("domain", domain)?;
            state.serialize_field("error", &None::<DomainError>)
        }
        Err(error) => {
            state.serialize_field("domain", &None::<Domain>)?;
            state.serialize_field("error", error)
        }
    }
}
