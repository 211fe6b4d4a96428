//! What the modules' tests share, in one dev-only crate: a real isolated ovsdb-server, fresh
//! scratch directories, and running a built module binary the way Ansible does (one argument,
//! an args file). Never a dependency of a module, only a dev-dependency.
// Test helpers: a failure is a panic that names what went wrong, and a result left unused
// is the test's business.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::must_use_candidate)]

pub mod ovsdb_server;

use std::ffi::OsStr;
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
