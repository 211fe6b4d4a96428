//! The built `vhostuser_info` binary on inputs that must never make it panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::{Value, json};

/// A directory of this test's own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn create(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nfv-info-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the module on a node whose every source is missing, so it answers from what it can see.
fn run(dir: &TempDir, extra: &Value) -> (Value, i32) {
    let path = |name: &str| dir.0.join(name).to_string_lossy().into_owned();
    let args = json!({
        "_ansible_module_name": "nfv.vhostuser.vhostuser_info",
        "ovsdb": format!("unix:{}", path("db.sock")),
        "ovs_rundir": path("run"),
        "virsh_command": [path("no-virsh")],
        "qemu_conf_path": path("qemu.conf"),
        "sysconfig_path": path("openvswitch"),
        "socket_dir": path("vhost_sockets"),
        "hugepages_path": path("hugepages"),
        "ovs_paths": [path("etc-openvswitch")],
    });
    let args = test_support::merged(args, extra);
    test_support::run_module(
        env!("CARGO_BIN_EXE_vhostuser_info"),
        &dir.0.join("args"),
        &args,
    )
}

#[test]
fn the_largest_timeout_is_saturated_not_a_panic() {
    let dir = TempDir::create("timeout");
    for timeout in [json!(i64::MAX), json!("9223372036854775807")] {
        let (out, code) = run(&dir, &json!({"timeout": timeout}));
        let msg = out["msg"].as_str().unwrap_or_default();
        assert!(!msg.contains("internal error"), "{out}");
        assert!(!msg.contains("overflow"), "{out}");
        assert_eq!(code, 0, "{out}");
        assert!(out["unavailable"]["ovsdb"].is_string(), "{out}");
    }
}

#[test]
fn a_timeout_of_zero_is_refused_in_ansibles_words() {
    let dir = TempDir::create("zero");
    let (out, code) = run(&dir, &json!({"timeout": 0}));
    assert_eq!((code, &out["failed"]), (1, &json!(true)), "{out}");
    assert!(out["msg"].as_str().unwrap().contains("timeout"), "{out}");
}

/// What the module really returns, and RETURN in its sidecar, agree both ways.
#[test]
fn the_keys_returned_are_the_keys_documented() {
    let dir = TempDir::create("returns");
    let (out, code) = run(&dir, &json!({}));
    assert_eq!(code, 0, "{out}");
    // `sockets` comes only with details.
    let (detailed, code) = run(&dir, &json!({"details": true}));
    assert_eq!(code, 0, "{detailed}");
    assert!(out.get("sockets").is_none(), "{out}");
    assert!(detailed["sockets"].is_object(), "{detailed}");
    test_support::assert_return_documented("vhostuser_info", &[out, detailed]);
}
