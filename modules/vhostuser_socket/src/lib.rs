//! `nfv.vhostuser.vhostuser_socket`: the vhost-user socket directory (default
//! `/var/lib/vhost_sockets`) and the sockets in it. For `dpdkvhostuserclient` ports QEMU
//! creates the sockets there and ovs-vswitchd must open them, so the directory and every
//! socket must belong to a group both share (`hugetlbfs`) and be group-writable.
//!
//! Nothing here follows a symbolic link: the directory is opened with `O_NOFOLLOW` and every
//! change inside it is made relative to that descriptor.

mod directory;
mod sockets;

use std::path::Path;

use ansible_module::{ArgSpec, Ctx, Diff, Failure, Kind, Lit, ModuleResult, Opt};
use serde::Deserialize;
use serde_json::{Value, json};
use vhostuser::identity::{self, Account, GroupInfo, Unresolved};

const OPTIONS: &[Opt] = &[
    Opt::new("path", Kind::Path).default(Lit::Str("/var/lib/vhost_sockets")),
    Opt::new("owner", Kind::Str).default(Lit::Str("qemu")),
    Opt::new("group", Kind::Str).default(Lit::Str("hugetlbfs")),
    Opt::new("mode", Kind::Raw).default(Lit::Str("0775")),
    Opt::new("setype", Kind::Str).default(Lit::Str("virt_cache_t")),
    Opt::new("sockets", Kind::Str)
        .choices(&["check", "fix"])
        .default(Lit::Str("check")),
    Opt::new("remove_stale", Kind::Bool).default(Lit::Bool(false)),
    Opt::new("state", Kind::Str)
        .choices(&["directory", "absent"])
        .default(Lit::Str("directory")),
];

/// The module's argument spec; `plugins/modules/vhostuser_socket.yml` documents it.
pub const SPEC: ArgSpec = ArgSpec::new(OPTIONS);

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

/// The validated wish: ids resolved, mode parsed.
pub(crate) struct Wanted {
    pub owner: Account,
    pub group: GroupInfo,
    pub mode: u32,
    pub setype: String,
}

fn wanted(params: &Params, result: &mut ModuleResult) -> Result<Wanted, Failure> {
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
        owner,
        group,
        mode,
        setype: params.setype.clone(),
    })
}

/// Runs the module as Ansible calls it: arguments in, one JSON result out.
#[must_use]
pub fn run_module() -> std::process::ExitCode {
    ansible_module::run(&SPEC, |params, ctx| ensure(&params, ctx))
}

/// The module: bring the directory and its sockets to the wanted state.
pub fn ensure(params: &Params, ctx: &mut Ctx) -> Result<ModuleResult, Failure> {
    let path = Path::new(&params.path);
    if !path.is_absolute() {
        return Err(Failure::new(format!(
            "path '{}' is relative; give the socket directory's absolute path",
            params.path
        )));
    }
    let mut result = ModuleResult::new(false);
    let wanted = wanted(params, &mut result)?;
    let outcome = match params.state {
        State::Directory => directory::ensure_present(path, &wanted, params, ctx, &mut result)?,
        State::Absent => directory::ensure_absent(path, params, ctx, &mut result)?,
    };
    result.changed = outcome.changed;
    result.diff.push(Diff {
        before: json!({"directory": outcome.before, "sockets": sockets::diff_view(&outcome.sockets, false)}),
        after: json!({"directory": outcome.after, "sockets": sockets::diff_view(&outcome.sockets, true)}),
        before_header: Some(params.path.clone()),
        after_header: Some(params.path.clone()),
    });
    result
        .set("path", &params.path)
        .set(
            "directory",
            json!({"before": outcome.before, "after": outcome.after}),
        )
        .set(
            "selinux",
            if directory::selinux_enabled() {
                "enabled"
            } else {
                "not applicable"
            },
        )
        .set("sockets", &outcome.sockets)
        .set("other_entries", &outcome.skipped);
    Ok(result)
}
