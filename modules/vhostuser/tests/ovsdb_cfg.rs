//! The `next_cfg`/`cur_cfg` handshake against a real ovsdb-server with no ovs-vswitchd: a
//! second client plays ovs-vswitchd by copying `next_cfg` to `cur_cfg`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::thread;
use std::time::{Duration, Instant};
use test_support::ovsdb_server;

use ovsdb_server::{DB, OvsdbServer};
use vhostuser::ovsdb::{self, Client, Error, Operation, Row};

/// A change plus the bump, as a module would send it; returns the `next_cfg` to wait for.
fn commit_with_bump(client: &mut Client) -> i64 {
    let change = Row::new().with(
        "other_config",
        ovsdb::Datum::string_map([("vhost-postcopy-support", "true")]),
    );
    let mut ops = vec![Operation::update("Open_vSwitch", &[], &change)];
    ops.extend(ovsdb::bump_next_cfg());
    let results = client.transact(DB, &ops).unwrap();
    ovsdb::next_cfg(&results).unwrap()
}

fn read_root(client: &mut Client) -> Row {
    let select = Operation::select(
        "Open_vSwitch",
        &[],
        &["next_cfg", "cur_cfg", "other_config"],
    );
    client
        .transact(DB, &[select])
        .unwrap()
        .remove(0)
        .rows
        .remove(0)
}

#[test]
fn without_vswitchd_wait_applied_times_out_but_the_change_is_committed() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    let next_cfg = commit_with_bump(&mut client);
    assert_eq!(next_cfg, 1);

    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    let error = ovsdb::wait_applied(&mut client, next_cfg, timeout).unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(2),
        "took {took:?}"
    );
    let Error::NotApplied {
        next_cfg: wanted,
        cur_cfg,
        ..
    } = error
    else {
        panic!("expected NotApplied, got {error}");
    };
    assert_eq!((wanted, cur_cfg), (1, 0));
    let message = error.to_string();
    assert!(message.contains("cur_cfg 0 < next_cfg 1"), "{message}");
    assert!(message.contains("committed"), "{message}");

    let root = read_root(&mut client);
    assert_eq!(root.integer("next_cfg").unwrap(), 1);
    assert_eq!(
        root.string_map("other_config").unwrap()["vhost-postcopy-support"],
        "true"
    );
}

#[test]
fn wait_applied_returns_once_vswitchd_catches_up() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    let mut vswitchd = server.client();
    commit_with_bump(&mut client);
    let next_cfg = commit_with_bump(&mut client);
    assert_eq!(next_cfg, 2);

    let applier = thread::spawn(move || {
        thread::sleep(Duration::from_millis(150));
        let next_cfg = read_root(&mut vswitchd).integer("next_cfg").unwrap();
        let applied = Row::new().with("cur_cfg", next_cfg);
        let update = Operation::update("Open_vSwitch", &[], &applied);
        vswitchd.transact(DB, &[update]).unwrap();
    });
    let cur_cfg = ovsdb::wait_applied(&mut client, next_cfg, Duration::from_secs(5)).unwrap();
    assert_eq!(cur_cfg, 2);
    applier.join().unwrap();
}

#[test]
fn a_cur_cfg_already_past_next_cfg_counts_as_applied() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    let next_cfg = commit_with_bump(&mut client);
    // Another writer bumped again and ovs-vswitchd applied both at once.
    let applied = Row::new().with("cur_cfg", next_cfg + 1);
    client
        .transact(DB, &[Operation::update("Open_vSwitch", &[], &applied)])
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        ovsdb::wait_applied(&mut client, next_cfg, Duration::from_secs(5)).unwrap(),
        next_cfg + 1
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn next_cfg_names_an_uninitialised_database() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    client
        .transact(DB, &[Operation::delete("Open_vSwitch", &[])])
        .unwrap();
    let results = client.transact(DB, &ovsdb::bump_next_cfg()).unwrap();
    let message = ovsdb::next_cfg(&results).unwrap_err().to_string();
    assert!(message.contains("never initialised"), "{message}");
}
