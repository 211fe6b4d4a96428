//! The built `ovs_user` binary, run the way Ansible runs it: one argument, an args file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const STOCK: &str = "# Open vSwitch\n#OVS_USER_ID=\"openvswitch:openvswitch\"\n";

fn scratch(name: &str) -> PathBuf {
    test_support::scratch("ovs_user-bin", name)
}

/// Runs the module as root:root with `args`, killing it if it has not answered within 20 s.
fn run(dir: &Path, args: &Value) -> (Value, i32) {
    let all = test_support::merged(
        json!({
            "user": "root", "group": "root",
            "_ansible_check_mode": false, "_ansible_diff": false, "_ansible_no_log": false,
            "_ansible_module_name": "nfv.vhostuser.ovs_user",
        }),
        args,
    );
    test_support::run_module(env!("CARGO_BIN_EXE_ovs_user"), &dir.join("args"), &all)
}

#[test]
fn a_link_to_a_device_or_a_fifo_is_refused_and_nothing_written() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch("special");
    let null = dir.join("null");
    assert!(
        Command::new("mknod")
            .arg(&null)
            .args(["c", "1", "3"])
            .status()
            .unwrap()
            .success(),
        "mknod needs root"
    );
    let conf = dir.join("openvswitch");
    std::os::unix::fs::symlink(&null, &conf).unwrap();
    let (out, code) = run(&dir, &json!({"path": conf, "backup": true}));
    assert_eq!((code, &out["changed"]), (1, &json!(false)), "{out}");
    assert!(
        out["msg"]
            .as_str()
            .unwrap()
            .contains("is a character device, not a regular file"),
        "{out}"
    );
    assert!(
        std::fs::metadata(&null)
            .unwrap()
            .file_type()
            .is_char_device()
    );

    let fifo = dir.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (out, code) = run(&dir, &json!({"path": fifo}));
    assert_eq!(code, 1, "{out}");
    assert!(
        out["msg"]
            .as_str()
            .unwrap()
            .contains("is a FIFO (named pipe), not a regular file"),
        "{out}"
    );
}

#[test]
fn a_relative_directory_is_refused_before_anything_changes() {
    let dir = scratch("relative");
    let conf = dir.join("openvswitch");
    std::fs::write(&conf, STOCK).unwrap();
    let tree = dir.join("etc-ovs");
    std::fs::create_dir(&tree).unwrap();
    std::os::unix::fs::chown(&tree, Some(65534), Some(65534)).unwrap();
    let args = json!({
        "path": conf, "fix_ownership": true, "paths": [tree, "relative/dir"],
    });
    let (out, code) = run(&dir, &args);
    assert_eq!((code, &out["changed"]), (1, &json!(false)), "{out}");
    assert_eq!(
        out["msg"],
        json!("paths: 'relative/dir' is relative; give absolute directories (nothing was changed)")
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), STOCK);
    assert_eq!(std::fs::metadata(&tree).unwrap().uid(), 65534);
}

#[test]
fn concurrent_runs_leave_one_setting_and_no_temporary_file() {
    let dir = scratch("concurrent");
    let conf = dir.join("openvswitch");
    std::fs::write(&conf, STOCK).unwrap();
    let runs: Vec<_> = (0..6)
        .map(|i| {
            let args = dir.join(format!("args-{i}"));
            let all = json!({"path": conf, "user": "root", "group": "root", "backup": true});
            std::fs::write(&args, all.to_string()).unwrap();
            Command::new(env!("CARGO_BIN_EXE_ovs_user"))
                .arg(&args)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut changed = 0;
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert!(out.status.success());
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        changed += usize::from(answer["changed"] == json!(true));
    }
    // Serialized: exactly one run found the template line, the others the setting.
    assert_eq!(changed, 1);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert_eq!(
        text.matches("OVS_USER_ID=\"root:root\"").count(),
        1,
        "{text}"
    );
    let temps = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(temps, 0);
}

/// What the module really returns, and RETURN in its sidecar, agree both ways.
#[test]
fn the_keys_returned_are_the_keys_documented() {
    let dir = scratch("returns");
    let conf = dir.join("openvswitch");
    std::fs::write(&conf, STOCK).unwrap();
    let tree = dir.join("etc-openvswitch");
    std::fs::create_dir(&tree).unwrap();
    let args = json!({"path": conf, "paths": [tree], "fix_ownership": true, "backup": true});
    let (changed, code) = run(&dir, &args);
    assert_eq!(code, 0, "{changed}");
    assert!(changed["backup_file"].is_string(), "{changed}");
    let (unchanged, code) = run(&dir, &args);
    assert_eq!(
        (code, &unchanged["changed"]),
        (0, &json!(false)),
        "{unchanged}"
    );
    test_support::assert_return_documented("ovs_user", &[changed, unchanged]);
}
