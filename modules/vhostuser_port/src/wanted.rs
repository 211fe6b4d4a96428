//! The module's options as the rest of it uses them: checked once, then typed (`Wanted`).

use std::path::Path;
use std::time::Duration;

use ansible_module::Failure;
use serde::Deserialize;
use vhostuser::OvsType;

use crate::name;

/// A unix socket path must fit `sun_path` with its terminating NUL.
const SUN_PATH: usize = 108;

#[derive(Debug, Deserialize)]
pub struct Params {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OvsType,
    pub server_path: Option<String>,
    pub socket_dir: String,
    pub bridge: Option<String>,
    pub state: State,
    pub wait: bool,
    pub timeout: i64,
    pub ovsdb: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Present,
    Absent,
}

pub(crate) const CLIENT: OvsType = OvsType::DpdkVhostUserClient;

/// The server path the interface should have: given, or `<socket_dir>/<name>`; none for
/// `dpdkvhostuser`, whose socket ovs-vswitchd creates in its own run directory.
fn server_path(params: &Params) -> Result<Option<String>, Failure> {
    if params.kind != CLIENT {
        if params.server_path.is_some() {
            return Err(Failure::new(format!(
                "server_path is only for type {CLIENT}; a dpdkvhostuser socket is created by \
                 ovs-vswitchd in its run directory (vhost-sock-dir)"
            )));
        }
        return Ok(None);
    }
    let path = match &params.server_path {
        Some(path) => path.clone(),
        None => Path::new(&params.socket_dir)
            .join(&params.name)
            .to_string_lossy()
            .into_owned(),
    };
    if !path.starts_with('/') {
        return Err(Failure::new(format!(
            "server_path '{path}' must be absolute"
        )));
    }
    if path.len() >= SUN_PATH {
        return Err(Failure::new(format!(
            "server_path '{path}' is {} bytes; a unix socket path must be shorter than {SUN_PATH} \
             bytes, so QEMU and ovs-vswitchd could never use it: choose a shorter socket_dir or name",
            path.len()
        )));
    }
    Ok(Some(path))
}

/// What the task asks for, validated: the name checked, the server path worked out, the
/// timeout a duration.
#[derive(Debug, Clone)]
pub(crate) struct Wanted {
    pub name: String,
    pub kind: OvsType,
    /// The `vhost-server-path`; `None` for `dpdkvhostuser`.
    pub server_path: Option<String>,
    pub bridge: Option<String>,
    pub state: State,
    pub wait: bool,
    pub timeout: Duration,
    pub ovsdb: String,
}

impl Wanted {
    pub(crate) fn from_params(params: &Params) -> Result<Wanted, Failure> {
        name::check(&params.name)?;
        let server_path = server_path(params)?;
        let timeout = ansible_module::positive_seconds("timeout", params.timeout)?;
        Ok(Wanted {
            name: params.name.clone(),
            kind: params.kind,
            server_path,
            bridge: params.bridge.clone(),
            state: params.state,
            wait: params.wait,
            timeout,
            ovsdb: params.ovsdb.clone(),
        })
    }

    pub(crate) fn server_path(&self) -> Option<&str> {
        self.server_path.as_deref()
    }
}
