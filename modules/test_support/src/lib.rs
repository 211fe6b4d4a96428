//! What the modules' tests share, in one dev-only crate: a real isolated ovsdb-server, fresh
//! scratch directories, and running a built module binary the way Ansible does (one argument,
//! an args file). Never a dependency of a module, only a dev-dependency.
// Test helpers: a failure is a panic that names what went wrong, and a result left unused
// is the test's business.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::must_use_candidate)]

pub mod ovsdb_server;

use std::ffi::OsStr;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a module may run before the test kills it: a module that hangs (on a FIFO, say)
/// fails the test instead of hanging it.
pub const MODULE_DEADLINE: Duration = Duration::from_secs(20);

/// A fresh, empty directory `<tmp>/<prefix>-<name>-<pid>` (emptied if a previous run left it).
pub fn scratch(prefix: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `base` with every key of `extra` added or replaced: Ansible's internal keys plus a task's
/// options.
pub fn merged(mut base: Value, extra: &Value) -> Value {
    base.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    base
}

/// Writes `args` to `args_file` and runs the module on it; its JSON and exit code.
pub fn run_module(exe: &str, args_file: &Path, args: &Value) -> (Value, i32) {
    std::fs::write(args_file, args.to_string()).unwrap();
    run_binary(exe, &[args_file.as_os_str()])
}

/// Runs the binary with `argv`, killed after [`MODULE_DEADLINE`]; its JSON and exit code.
pub fn run_binary(exe: &str, argv: &[&OsStr]) -> (Value, i32) {
    let mut child = Command::new(exe)
        .args(argv)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + MODULE_DEADLINE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "the module still ran after {} s: {exe} {argv:?}",
                MODULE_DEADLINE.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (json, out.status.code().unwrap())
}

/// Asserts that what `module` really returned (`results`) and the `RETURN` of its sidecar
/// (`plugins/modules/<module>.yml`) agree both ways (see
/// `ansible_module::sidecar::return_differences`).
pub fn assert_return_documented(module: &str, results: &[Value]) {
    let sidecar = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/modules")
        .join(format!("{module}.yml"));
    assert_eq!(
        ansible_module::sidecar::return_differences(results, &sidecar),
        Ok(vec![]),
        "{} and what {module} returns differ",
        sidecar.display()
    );
}

/// A listener bound in a network namespace of its own, made on a thread that then ends: no
/// process is left in that namespace, so no `/proc` table shows the socket, yet it accepts
/// connections for as long as the listener is open. Needs root (`unshare`).
pub fn listener_in_an_abandoned_netns(path: &Path) -> UnixListener {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: a plain syscall on this thread's own namespaces.
                let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
                assert_eq!(
                    rc,
                    0,
                    "unshare: {} (run as root)",
                    std::io::Error::last_os_error()
                );
                UnixListener::bind(path).unwrap()
            })
            .join()
            .unwrap()
    })
}
