//! The module's options: the raw `Params` as Ansible sends them, and the `Wanted` they are
//! checked into once, which the rest of the module works from.

use std::path::Path;

use ansible_module::{Failure, ModuleResult};
use serde::Deserialize;
use serde_json::Value;
use vhostuser::Roots;
use vhostuser::identity::{self, Account, GroupInfo, Unresolved};

#[derive(Debug, Deserialize)]
pub struct Params {
    pub path: String,
    pub owner: String,
    pub group: String,
    pub mode: Value,
    pub setype: String,
    pub sockets: SocketPolicy,
    pub remove_stale: bool,
    pub state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SocketPolicy {
    Check,
    Fix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Directory,
    Absent,
}

/// The validated wish: path absolute, ids resolved, mode parsed.
pub(crate) struct Wanted {
    /// The directory, as given.
    pub path: String,
    pub owner: Account,
    pub group: GroupInfo,
    pub mode: u32,
    pub setype: String,
    pub sockets: SocketPolicy,
    pub remove_stale: bool,
    pub state: State,
    /// Where `/proc` and `/sys` are.
    pub roots: Roots,
}

impl Wanted {
    pub(crate) fn dir(&self) -> &Path {
        Path::new(&self.path)
    }
}

/// Checks the options in the order the module always has: the path, then the mode (whose
/// warning goes into `result`), the owner and the group.
pub(crate) fn wanted(
    params: &Params,
    roots: &Roots,
    result: &mut ModuleResult,
) -> Result<Wanted, Failure> {
    if !Path::new(&params.path).is_absolute() {
        return Err(Failure::new(format!(
            "path '{}' is relative; give the socket directory's absolute path",
            params.path
        )));
    }
    let (mode, warning) =
        ansible_module::file_mode::parse("mode", &params.mode).map_err(Failure::new)?;
    if let Some(warning) = warning {
        result.warn(warning);
    }
    let owner = identity::resolve_user(&params.owner).map_err(|e| match e {
        Unresolved::Missing => Failure::new(format!(
            "owner '{}' does not exist on this host; create the user first",
            params.owner
        )),
        Unresolved::NotAnId(why) => Failure::new(format!("owner: {why}; give a user name or uid")),
    })?;
    let group = identity::resolve_group(&params.group).map_err(|e| match e {
        Unresolved::Missing => Failure::new(identity::missing_group(&params.group)),
        Unresolved::NotAnId(why) => Failure::new(format!("group: {why}; give a group name or gid")),
    })?;
    Ok(Wanted {
        path: params.path.clone(),
        owner,
        group,
        mode,
        setype: params.setype.clone(),
        sockets: params.sockets,
        remove_stale: params.remove_stale,
        state: params.state,
        roots: roots.clone(),
    })
}
