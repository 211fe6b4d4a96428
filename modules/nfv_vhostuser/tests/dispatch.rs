//! The multi-call binary picks the module the task names, else the one it is called as, and
//! reads the arguments from a file or, given `-`, from standard input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nfv_vhostuser-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `binary` with `argv`, `stdin` on its standard input; returns its JSON and exit code.
fn run(binary: &Path, argv: &[&str], stdin: &[u8]) -> (Value, i32) {
    let mut child = Command::new(binary)
        .args(argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (json, out.status.code().unwrap())
}

fn multicall() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nfv_vhostuser"))
}

/// Arguments `qemu_conf` fails on naming its path, so the answer shows which module ran.
fn qemu_conf_args(dir: &Path, name: Option<&str>) -> Value {
    let mut args = json!({"path": dir.join("missing.conf"), "group": "hugetlbfs"});
    if let Some(name) = name {
        args["_ansible_module_name"] = json!(name);
    }
    args
}

#[test]
fn the_task_names_the_module_by_fqcn_or_short_name_and_the_arguments_come_on_stdin() {
    let dir = scratch("stdin");
    for name in ["nfv.vhostuser.qemu_conf", "qemu_conf"] {
        let args = qemu_conf_args(&dir, Some(name));
        let (out, code) = run(&multicall(), &["-"], args.to_string().as_bytes());
        assert_eq!(code, 1, "{out}");
        let msg = out["msg"].as_str().unwrap();
        assert!(
            msg.contains("missing.conf does not exist; set create: true"),
            "{msg}"
        );
    }
    let (out, code) = run(
        &multicall(),
        &["-"],
        json!({"_ansible_module_name": "nfv.vhostuser.vhostuser_socket", "path": dir.join("none"), "bogus": 1})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(code, 1);
    assert!(
        out["msg"].as_str().unwrap().starts_with(
            "Unsupported parameters for (nfv.vhostuser.vhostuser_socket) module: bogus."
        ),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_module_name_it_is_the_module_it_is_called_as() {
    let dir = scratch("argv0");
    // As Ansible copies a module: AnsiballZ_<file name>, and an args file.
    let linked = dir.join("AnsiballZ_qemu_conf");
    std::fs::hard_link(multicall(), &linked)
        .or_else(|_| std::fs::copy(multicall(), &linked).map(|_| ()))
        .unwrap();
    let args_file = dir.join("args");
    std::fs::write(&args_file, qemu_conf_args(&dir, None).to_string()).unwrap();
    let (out, code) = run(&linked, &[args_file.to_str().unwrap()], b"");
    assert_eq!(code, 1, "{out}");
    assert!(
        out["msg"]
            .as_str()
            .unwrap()
            .contains("missing.conf does not exist"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_module_it_does_not_hold_is_refused_naming_those_it_holds() {
    let (out, code) = run(
        &multicall(),
        &["-"],
        br#"{"_ansible_module_name": "nfv.vhostuser.nope"}"#,
    );
    assert_eq!(code, 1);
    assert_eq!(out["failed"], json!(true));
    assert_eq!(
        out["msg"],
        json!(
            "this binary holds the modules ovs_user, qemu_conf, vhostuser_domain, vhostuser_info, \
             vhostuser_port, vhostuser_socket, not 'nfv.vhostuser.nope': call it by one of those names"
        )
    );
}

#[test]
fn standard_input_that_is_not_json_is_a_clear_failure() {
    let (out, code) = run(&multicall(), &["-"], b"not json");
    assert_eq!(code, 1);
    let msg = out["msg"].as_str().unwrap();
    assert!(
        msg.starts_with("the module arguments file is not valid JSON"),
        "{msg}"
    );
}
