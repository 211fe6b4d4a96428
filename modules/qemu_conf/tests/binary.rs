//! The built `qemu_conf` binary, run the way Ansible runs it: one argument, an args file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn scratch(name: &str) -> PathBuf {
    test_support::scratch("qemu_conf-bin", name)
}

/// Runs the module with `args` (plus Ansible's usual internal keys) and returns its JSON and
/// exit code.
fn run(dir: &Path, args: &Value) -> (Value, i32) {
    let all = test_support::merged(
        json!({
            "_ansible_check_mode": false, "_ansible_diff": false, "_ansible_no_log": false,
            "_ansible_module_name": "nfv.vhostuser.qemu_conf", "_ansible_version": "2.21.5",
            "_ansible_tmpdir": dir, "_ansible_a_key_from_the_future": [1, 2],
        }),
        args,
    );
    test_support::run_module(env!("CARGO_BIN_EXE_qemu_conf"), &dir.join("args"), &all)
}

/// Runs the binary with `argv`, killed if it has not answered within 20 s.
fn raw(argv: &[&std::ffi::OsStr]) -> (Value, i32) {
    test_support::run_binary(env!("CARGO_BIN_EXE_qemu_conf"), argv)
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

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "args")
        .collect();
    names.sort();
    names
}

#[test]
fn a_link_to_a_device_is_refused_and_the_device_kept() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch("device");
    // A null device of our own, so that a regression replaces it and never the host's.
    let null = dir.join("null");
    let made = Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status()
        .unwrap();
    assert!(made.success(), "mknod needs root");
    let conf = dir.join("qemu.conf");
    std::os::unix::fs::symlink(&null, &conf).unwrap();
    for path in [&conf, &null] {
        let (out, code) = run(
            &dir,
            &json!({"path": path, "group": "root", "backup": true}),
        );
        assert_eq!((code, &out["changed"]), (1, &json!(false)), "{out}");
        let msg = out["msg"].as_str().unwrap();
        assert!(
            msg.contains("is a character device, not a regular file")
                && msg.contains("nothing was written"),
            "{msg}"
        );
        assert!(
            std::fs::metadata(&null)
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
    assert!(
        std::fs::symlink_metadata(&conf)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(names_in(&dir), ["null", "qemu.conf"]);
}

#[test]
fn a_fifo_is_refused_at_once() {
    let dir = scratch("fifo");
    let fifo = dir.join("qemu.conf");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let (out, code) = run(&dir, &json!({"path": fifo, "group": "root"}));
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
fn concurrent_runs_on_one_file_lose_no_key() {
    let dir = scratch("concurrent");
    let conf = dir.join("qemu.conf");
    for round in 0..10 {
        std::fs::write(&conf, "# qemu.conf\n").unwrap();
        let runs: Vec<_> = ["user", "group", "max_files", "max_processes"]
            .iter()
            .map(|key| {
                let args = dir.join(format!("args-{key}"));
                let all = json!({"path": conf, "settings": {*key: format!("{key}{round}")}});
                std::fs::write(&args, all.to_string()).unwrap();
                Command::new(env!("CARGO_BIN_EXE_qemu_conf"))
                    .arg(&args)
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut run in runs {
            assert!(run.wait().unwrap().success());
        }
        let text = std::fs::read_to_string(&conf).unwrap();
        for key in ["user", "group", "max_files", "max_processes"] {
            assert!(
                text.contains(&format!("{key} = \"{key}{round}\"")),
                "round {round}: {key} was lost:\n{text}"
            );
        }
    }
}

#[test]
fn secret_values_are_masked_everywhere() {
    let dir = scratch("secrets");
    let conf = dir.join("qemu.conf");
    std::fs::write(
        &conf,
        "vnc_password = \"S3cret-1\"\n#spice_password = \"Old-Spice-9\"\n",
    )
    .unwrap();
    let args = json!({
        "path": conf, "_ansible_diff": true,
        "settings": {"vnc_password": "N3w-secret", "spice_password": "Sp1ce-pw"},
    });
    let (out, code) = run(&dir, &args);
    assert_eq!(code, 0, "{out}");
    let text = out.to_string();
    for secret in ["S3cret-1", "Old-Spice-9", "N3w-secret", "Sp1ce-pw"] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
    assert_eq!(
        out["effective"]["vnc_password"],
        json!("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER")
    );
    assert!(
        out["diff"]["after"]
            .as_str()
            .unwrap()
            .contains("vnc_password = \"********\""),
        "{out}"
    );
    // The file itself holds the new values.
    let written = std::fs::read_to_string(&conf).unwrap();
    assert!(
        written.contains("vnc_password = \"N3w-secret\""),
        "{written}"
    );

    // A refused value is not echoed either.
    let args = json!({"path": conf, "settings": {"vnc_password": "bad\"Quote"}});
    let (out, code) = run(&dir, &args);
    assert_eq!(code, 1, "{out}");
    let msg = out["msg"].as_str().unwrap();
    assert!(msg.contains("cannot write 'vnc_password' safely"), "{msg}");
    assert!(
        !msg.contains("Quote") && !out.to_string().contains("N3w-secret"),
        "{out}"
    );
}

#[test]
fn with_the_task_s_no_log_every_managed_value_is_masked() {
    let dir = scratch("no_log");
    let conf = dir.join("qemu.conf");
    std::fs::write(&conf, "remote_display_port_min = 5900\n").unwrap();
    let args = json!({
        "path": conf, "_ansible_diff": true, "_ansible_no_log": true,
        "settings": {"remote_display_port_min": 61234},
    });
    let (out, code) = run(&dir, &args);
    assert_eq!(code, 0, "{out}");
    let text = out.to_string();
    assert!(!text.contains("61234") && !text.contains("5900"), "{text}");
    assert!(
        std::fs::read_to_string(&conf)
            .unwrap()
            .contains("remote_display_port_min = 61234")
    );
}

#[test]
fn a_backup_holds_the_file_as_it_was_and_nothing_else_is_left() {
    let dir = scratch("backup");
    let conf = dir.join("qemu.conf");
    std::fs::write(&conf, "#group = \"qemu\"\n").unwrap();
    let (out, code) = run(
        &dir,
        &json!({"path": conf, "group": "root", "backup": true}),
    );
    assert_eq!((code, &out["changed"]), (0, &json!(true)), "{out}");
    let backup = PathBuf::from(out["backup_file"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        "#group = \"qemu\"\n"
    );
    assert_eq!(names_in(&dir).len(), 2, "{:?}", names_in(&dir));
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let name = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 4096];
    // SAFETY: NUL-terminated strings, buffer valid for its length.
    let len = unsafe {
        libc::getxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    (len >= 0).then(|| buf[..len as usize].to_vec())
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let name = std::ffi::CString::new(name).unwrap();
    // SAFETY: NUL-terminated strings, value valid for its length.
    let rc = unsafe {
        libc::setxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
}

#[test]
fn a_rewrite_keeps_the_acl_and_user_attributes() {
    let dir = scratch("xattrs");
    let conf = dir.join("qemu.conf");
    std::fs::write(&conf, "#group = \"qemu\"\n").unwrap();
    // user::rw-, user:nobody:r--, group::r--, mask::r--, other::---
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 4, 65534),
        (0x04, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        acl.extend(tag.to_le_bytes());
        acl.extend(perm.to_le_bytes());
        acl.extend(id.to_le_bytes());
    }
    set_xattr(&conf, "system.posix_acl_access", &acl);
    set_xattr(&conf, "user.managed-by", b"puppet");
    let (out, code) = run(&dir, &json!({"path": conf, "group": "root"}));
    assert_eq!((code, &out["changed"]), (0, &json!(true)), "{out}");
    assert_eq!(xattr(&conf, "system.posix_acl_access"), Some(acl));
    assert_eq!(
        xattr(&conf, "user.managed-by").as_deref(),
        Some(&b"puppet"[..])
    );
}

/// What the module really returns, and RETURN in its sidecar, agree both ways.
#[test]
fn the_keys_returned_are_the_keys_documented() {
    let dir = scratch("returns");
    let conf = dir.join("qemu.conf");
    std::fs::write(&conf, "#group = \"qemu\"\n").unwrap();
    let args = json!({"path": conf, "group": "root", "backup": true});
    let (changed, code) = run(&dir, &args);
    assert_eq!(code, 0, "{changed}");
    assert!(changed["backup_file"].is_string(), "{changed}");
    let (unchanged, code) = run(&dir, &args);
    assert_eq!(
        (code, &unchanged["changed"]),
        (0, &json!(false)),
        "{unchanged}"
    );
    test_support::assert_return_documented("qemu_conf", &[changed, unchanged]);
}
