//! The built `vhostuser_socket` binary, run the way Ansible runs it, against real sockets: one
//! whose listener no `/proc` table shows, one truly stale, one hard-linked from outside.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn scratch(name: &str) -> PathBuf {
    test_support::scratch("vhostuser_socket-bin", name)
}

/// Runs the module with `args` (plus Ansible's usual internal keys) and returns its JSON.
fn run(dir: &Path, args: &Value) -> Value {
    let all = test_support::merged(
        json!({
            "_ansible_check_mode": false, "_ansible_diff": false, "_ansible_no_log": false,
            "_ansible_module_name": "nfv.vhostuser.vhostuser_socket", "_ansible_tmpdir": dir,
        }),
        args,
    );
    test_support::run_module(
        env!("CARGO_BIN_EXE_vhostuser_socket"),
        &dir.join("args"),
        &all,
    )
    .0
}

#[test]
fn remove_stale_keeps_a_listener_no_table_shows_and_removes_a_stale_socket() {
    let work = scratch("stale");
    let dir = work.join("vhost_sockets");
    std::fs::create_dir(&dir).unwrap();
    let hidden = dir.join("vhu-hidden");
    let _listener = test_support::listener_in_an_abandoned_netns(&hidden);
    let stale = dir.join("vhu-stale");
    drop(UnixListener::bind(&stale).unwrap());
    let out = run(
        &work,
        &json!({"path": dir, "owner": "root", "group": "daemon", "remove_stale": true}),
    );
    assert_eq!(out["failed"], Value::Null, "{out}");
    assert!(hidden.exists(), "a live socket was removed: {out}");
    assert!(!stale.exists(), "{out}");
    let sockets = out["sockets"].as_array().unwrap();
    let of = |path: &Path| {
        sockets
            .iter()
            .find(|s| s["path"] == json!(path))
            .unwrap_or_else(|| panic!("{out}"))
    };
    assert_eq!(of(&hidden)["listening"], json!(true));
    assert_eq!(of(&hidden)["removed"], json!(false));
    assert_eq!(of(&stale)["removed"], json!(true));
    assert_eq!(out["changed"], json!(true));
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_socket_hard_linked_from_outside_is_left_alone() {
    let work = scratch("hardlink");
    let dir = work.join("vhost_sockets");
    std::fs::create_dir(&dir).unwrap();
    let outside = work.join("elsewhere");
    std::fs::create_dir(&outside).unwrap();
    let admin = outside.join("admin.sock");
    let _admin = UnixListener::bind(&admin).unwrap();
    std::fs::set_permissions(&admin, std::fs::Permissions::from_mode(0o600)).unwrap();
    let linked = dir.join("vhu-admin");
    std::fs::hard_link(&admin, &linked).unwrap();
    let own = dir.join("vhu-own");
    let _own = UnixListener::bind(&own).unwrap();
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o600)).unwrap();
    for remove_stale in [false, true] {
        let out = run(
            &work,
            &json!({"path": dir, "owner": "root", "group": "daemon", "sockets": "fix",
                    "remove_stale": remove_stale}),
        );
        assert_eq!(out["failed"], Value::Null, "{out}");
        let meta = std::fs::metadata(&admin).unwrap();
        assert_eq!(
            (meta.gid(), meta.mode() & 0o7777),
            (0, 0o600),
            "the outside socket was changed: {out}"
        );
        assert!(linked.exists());
        let skipped = out["other_entries"].as_array().unwrap();
        assert_eq!(
            skipped,
            &vec![json!({
                "path": linked,
                "type": "socket",
                "reason": "hard-linked: changing it would change the file under its other names \
                           too: left alone"
            })],
            "{out}"
        );
        assert!(
            out["warnings"].as_array().unwrap().iter().any(|w| w
                .as_str()
                .unwrap()
                .starts_with(&linked.display().to_string())),
            "{out}"
        );
    }
    // The socket that is the directory's own was fixed.
    let meta = std::fs::metadata(&own).unwrap();
    assert_eq!((meta.gid(), meta.mode() & 0o060), (1, 0o060));
    std::fs::remove_dir_all(&work).unwrap();
}

#[test]
fn chowns_leave_it_unchanged_id_is_refused_and_nothing_is_made() {
    let work = scratch("minus-one");
    let dir = work.join("vhost_sockets");
    for (option, word) in [
        ("owner", "user name or uid"),
        ("group", "group name or gid"),
    ] {
        let mut args = json!({"path": dir, "owner": "root", "group": "root"});
        args[option] = json!("4294967295");
        let out = run(&work, &args);
        assert_eq!(out["failed"], json!(true), "{out}");
        assert_eq!(
            out["msg"],
            json!(format!(
                "{option}: 4294967295 is (uid_t)-1, which chown reads as 'leave it unchanged', \
                 not an id; give a {word}"
            ))
        );
        assert!(!dir.exists());
    }
    let out = run(
        &work,
        &json!({"path": dir, "owner": "root", "group": "4294967296"}),
    );
    assert_eq!(
        out["msg"],
        json!(
            "group: 4294967296 is larger than any id (the largest is 4294967294); give a group \
             name or gid"
        )
    );
    std::fs::remove_dir_all(&work).unwrap();
}

/// What the module really returns, and RETURN in its sidecar, agree both ways.
#[test]
fn the_keys_returned_are_the_keys_documented() {
    let work = scratch("returns");
    let dir = work.join("vhost_sockets");
    let args = json!({"path": dir, "owner": "root", "group": "daemon"});
    let created = run(&work, &args);
    assert_eq!(created["changed"], json!(true), "{created}");
    let _listener = UnixListener::bind(dir.join("vhu1")).unwrap();
    let checked = run(&work, &args);
    assert_eq!(checked["failed"], Value::Null, "{checked}");
    test_support::assert_return_documented("vhostuser_socket", &[created, checked]);
    std::fs::remove_dir_all(&work).unwrap();
}
