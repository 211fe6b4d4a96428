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
use vhostuser::Roots;

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

/// Runs the module as Ansible calls it: arguments in, one JSON result out.
#[must_use]
pub fn run_module() -> std::process::ExitCode {
    ansible_module::run(&SPEC, |params, ctx| ensure(&params, ctx))
}

/// The module: bring the directory and its sockets to the wanted state.
pub fn ensure(params: &Params, ctx: &mut Ctx) -> Result<ModuleResult, Failure> {
    ensure_in(params, ctx, &Roots::host())
}

/// [`ensure`] with `/proc` and `/sys` at `roots`.
pub fn ensure_in(params: &Params, ctx: &mut Ctx, roots: &Roots) -> Result<ModuleResult, Failure> {
    let mut result = ModuleResult::new(false);
    let wanted = wanted::wanted(params, roots, &mut result)?;
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
            if wanted.roots.selinux_enabled() {
                "enabled"
            } else {
                "not applicable"
            },
        )
        .set("sockets", &outcome.sockets)
        .set("other_entries", &outcome.skipped);
    Ok(result)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod ensure_tests {
    use std::collections::BTreeSet;
    use std::os::unix::net::UnixListener;
    use std::path::{Path, PathBuf};

    use serde_json::Value;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("socket-ensure-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn params(dir: &Path) -> Params {
        let raw = json!({"path": dir, "owner": "root", "group": "root", "remove_stale": true});
        let validated = ansible_module::validate(&SPEC, raw.as_object().unwrap().clone(), false)
            .expect("valid options");
        serde_json::from_value(Value::Object(validated.params)).unwrap()
    }

    /// A made-up `/proc` whose socket table lists no listener (an unreadable table would make
    /// every socket count as in use), and a `/sys` with selinuxfs mounted or not.
    fn roots(work: &Path, selinux: bool) -> Roots {
        let proc = work.join("proc");
        let sys = work.join(format!("sys-{selinux}"));
        std::fs::create_dir_all(proc.join("net")).unwrap();
        std::fs::write(
            proc.join("net/unix"),
            "Num       RefCount Protocol Flags    Type St Inode Path\n",
        )
        .unwrap();
        std::fs::create_dir_all(sys.join("fs/selinux")).unwrap();
        if selinux {
            std::fs::write(sys.join("fs/selinux/enforce"), "1\n").unwrap();
        }
        Roots { proc, sys }
    }

    #[test]
    fn a_live_socket_no_table_shows_is_kept_and_a_stale_one_removed() {
        let work = scratch("stale");
        let dir = work.join("vhost_sockets");
        std::fs::create_dir(&dir).unwrap();
        let live = dir.join("vhu-live");
        let _listener = UnixListener::bind(&live).unwrap();
        let stale = dir.join("vhu-stale");
        drop(UnixListener::bind(&stale).unwrap());
        let result = ensure_in(&params(&dir), &mut Ctx::default(), &roots(&work, false))
            .unwrap()
            .to_json(false, false, &BTreeSet::new());
        assert!(live.exists(), "a live socket was removed: {result}");
        assert!(!stale.exists(), "{result}");
        assert_eq!(result["selinux"], json!("not applicable"));
        assert_eq!(result["directory"]["after"]["setype"], Value::Null);
        std::fs::remove_dir_all(&work).unwrap();
    }

    #[test]
    fn without_a_socket_table_nothing_is_called_stale() {
        let work = scratch("no-table");
        let dir = work.join("vhost_sockets");
        std::fs::create_dir(&dir).unwrap();
        let stale = dir.join("vhu-stale");
        drop(UnixListener::bind(&stale).unwrap());
        let mut blind = roots(&work, false);
        blind.proc = work.join("no-proc");
        let result = ensure_in(&params(&dir), &mut Ctx::default(), &blind)
            .unwrap()
            .to_json(false, false, &BTreeSet::new());
        assert!(stale.exists(), "removed without knowing: {result}");
        assert_eq!(result["sockets"][0]["removed"], json!(false), "{result}");
        std::fs::remove_dir_all(&work).unwrap();
    }

    #[test]
    fn selinux_is_judged_from_the_sys_it_is_given() {
        let work = scratch("selinux");
        let dir = work.join("vhost_sockets");
        let mut ctx = Ctx {
            check_mode: true,
            ..Ctx::default()
        };
        let result = ensure_in(&params(&dir), &mut ctx, &roots(&work, true))
            .unwrap()
            .to_json(false, false, &BTreeSet::new());
        assert_eq!(result["selinux"], json!("enabled"), "{result}");
        assert_eq!(
            result["directory"]["after"]["setype"],
            json!("virt_cache_t")
        );
        assert!(!dir.exists(), "check mode created it");
        std::fs::remove_dir_all(&work).unwrap();
    }
}
