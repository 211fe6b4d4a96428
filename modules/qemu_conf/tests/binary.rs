//! The built `qemu_conf` binary, run the way Ansible runs it: one argument, an args file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qemu_conf-bin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the module with `args` (plus Ansible's usual internal keys) and returns its JSON and
/// exit code.
fn run(dir: &Path, args: &Value) -> (Value, i32) {
    let mut all = json!({
        "_ansible_check_mode": false, "_ansible_diff": false, "_ansible_no_log": false,
        "_ansible_module_name": "nfv.vhostuser.qemu_conf", "_ansible_version": "2.21.5",
        "_ansible_tmpdir": dir, "_ansible_a_key_from_the_future": [1, 2],
    });
    all.as_object_mut()
        .unwrap()
        .extend(args.as_object().unwrap().clone());
    let args_file = dir.join("args");
    std::fs::write(&args_file, all.to_string()).unwrap();
    raw(&[args_file.as_os_str()])
}

fn raw(argv: &[&std::ffi::OsStr]) -> (Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_qemu_conf"))
        .args(argv)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (json, out.status.code().unwrap())
}

#[test]
fn run_by_hand_it_says_how_modules_are_run() {
    let (out, code) = raw(&[]);
    assert_eq!(code, 1);
    assert_eq!(out["failed"], json!(true));
    assert!(
        out["msg"]
            .as_str()
            .unwrap()
            .contains("exactly one argument"),
        "{out}"
    );
}

#[test]
fn a_broken_args_file_is_a_clear_failure() {
    let dir = scratch("broken");
    let file = dir.join("args");
    std::fs::write(&file, "{not json").unwrap();
    let (out, code) = raw(&[file.as_os_str()]);
    assert_eq!(code, 1);
    assert!(
        out["msg"]
            .as_str()
            .unwrap()
            .starts_with("the module arguments file is not valid JSON")
    );
}

#[test]
fn unknown_options_are_named_with_the_task_s_module_name() {
    let dir = scratch("unknown");
    let (out, code) = run(&dir, &json!({"group": "root", "grup": "x"}));
    assert_eq!(code, 1);
    assert_eq!(
        out["msg"],
        json!(
            "Unsupported parameters for (nfv.vhostuser.qemu_conf) module: grup. Supported \
             parameters include: backup, create, group, path, settings, state, user."
        )
    );
}

#[test]
fn check_mode_writes_nothing_and_diff_mode_adds_the_diff() {
    let dir = scratch("check");
    let conf = dir.join("qemu.conf");
    std::fs::write(&conf, "#group = \"qemu\"\n").unwrap();
    let args = json!({"path": conf, "group": "root", "_ansible_check_mode": true});
    let (out, code) = run(&dir, &args);
    assert_eq!((code, &out["changed"]), (0, &json!(true)), "{out}");
    assert!(out.get("diff").is_none(), "no diff unless asked: {out}");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "#group = \"qemu\"\n"
    );

    let args = json!({"path": conf, "group": "root", "_ansible_diff": true});
    let (out, _) = run(&dir, &args);
    assert_eq!(
        out["diff"]["after"],
        json!("#group = \"qemu\"\ngroup = \"root\"\n")
    );
    assert_eq!(out["effective"], json!({"group": "root"}));
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "#group = \"qemu\"\ngroup = \"root\"\n"
    );
}

#[test]
fn python_style_wrapped_arguments_work_too() {
    let dir = scratch("wrapped");
    let conf = dir.join("qemu.conf");
    std::fs::write(&conf, "group = \"root\"\n").unwrap();
    let file = dir.join("args");
    let args = json!({"ANSIBLE_MODULE_ARGS": {"path": conf, "group": "root"}});
    std::fs::write(&file, args.to_string()).unwrap();
    let (out, code) = raw(&[file.as_os_str()]);
    assert_eq!((code, &out["changed"]), (0, &json!(false)), "{out}");
}
