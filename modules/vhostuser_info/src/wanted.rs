//! The options checked once and typed: what the node should look like, which checks to keep
//! (as check ids, so a typo is refused here), the severity that fails the task, the timeout.

use std::time::Duration;

use ansible_module::Failure;
use vhostuser::audit::Severity;
use vhostuser::audit::checks::{CATALOGUE, CheckId};
use vhostuser::audit::facts::Expected;

use crate::Params;

#[derive(Debug)]
pub(crate) struct Wanted {
    pub expected: Expected,
    /// `checks`: only these, when given.
    pub only: Option<Vec<CheckId>>,
    /// `skip_checks`.
    pub skip: Vec<CheckId>,
    pub fail_on: Option<Severity>,
    pub timeout: Duration,
}

impl Wanted {
    /// Checks in the order the module always has: the expected node, the check ids, then the
    /// timeout.
    pub(crate) fn from_params(params: &Params) -> Result<Wanted, Failure> {
        let expected = expected(params)?;
        let only = params.checks.as_deref().map(check_ids).transpose()?;
        let skip = check_ids(params.skip_checks.as_deref().unwrap_or_default())?;
        let timeout = ansible_module::positive_seconds("timeout", params.timeout)?;
        Ok(Wanted {
            expected,
            only,
            skip,
            fail_on: params.fail_on.as_deref().and_then(Severity::parse),
            timeout,
        })
    }
}

fn expected(params: &Params) -> Result<Expected, Failure> {
    let (mode, _) = ansible_module::file_mode::parse("socket_mode", &params.socket_mode)
        .map_err(Failure::new)?;
    let gid = u32::try_from(params.gid)
        .map_err(|_| Failure::new(format!("gid {} is not a group id", params.gid)))?;
    Ok(Expected {
        group: params.group.clone(),
        gid,
        socket_dir: params.socket_dir.clone(),
        socket_dir_owner: params.socket_owner.clone(),
        socket_dir_mode: mode,
        setype: params.setype.clone(),
        ovs_rundir: params.ovs_rundir.clone(),
        ovs_paths: params.ovs_paths.clone(),
    })
}

/// Check ids must be known: a typo would silently select nothing.
fn check_ids(ids: &[String]) -> Result<Vec<CheckId>, Failure> {
    ids.iter()
        .map(|id| {
            CheckId::parse(id).ok_or_else(|| {
                let known: Vec<&str> = CATALOGUE.iter().map(|c| c.id.as_str()).collect();
                Failure::new(format!(
                    "unknown check id '{id}'; the checks are: {}",
                    known.join(", ")
                ))
            })
        })
        .collect()
}
