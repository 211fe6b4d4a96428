//! `nfv.vhostuser.vhostuser_socket`: the vhost-user socket directory (default
//! `/var/lib/vhost_sockets`) and the sockets in it. For `dpdkvhostuserclient` ports QEMU
//! creates the sockets there and ovs-vswitchd must open them, so the directory and every
//! socket must belong to a group both share (`hugetlbfs`) and be group-writable.
//!
//! Nothing here follows a symbolic link: the directory is opened with `O_NOFOLLOW` and every
//! change inside it is made relative to that descriptor.

mod directory;
mod sockets;
mod wanted;

use ansible_module::{ArgSpec, Ctx, Diff, Failure, Kind, Lit, ModuleResult, Opt};
use serde_json::json;

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

pub use wanted::{Params, SocketPolicy, State};

/// The module: bring the directory and its sockets to the wanted state.
pub fn ensure(params: &Params, ctx: &mut Ctx) -> Result<ModuleResult, Failure> {
    let mut result = ModuleResult::new(false);
    let wanted = wanted::wanted(params, &mut result)?;
    let outcome = match wanted.state {
        State::Directory => directory::ensure_present(&wanted, ctx, &mut result)?,
        State::Absent => directory::ensure_absent(&wanted, ctx)?,
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
