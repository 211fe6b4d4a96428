//! The built `vhostuser_port` binary against a real ovsdb-server (no ovs-vswitchd: the tests
//! that need one run on the sandbox node).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::ovsdb_server::{self, DB, OvsdbServer};
use vhostuser::ovsdb::{Atom, Condition, Datum, Mutation, Operation, Row};

fn run(args: &Value) -> (Value, i32) {
    let dir = ovsdb_server::TempDir::create();
    let all = test_support::merged(
        json!({"_ansible_module_name": "nfv.vhostuser.vhostuser_port", "_ansible_diff": true}),
        args,
    );
    test_support::run_module(
        env!("CARGO_BIN_EXE_vhostuser_port"),
        &dir.join("args"),
        &all,
    )
}

fn interface(server: &OvsdbServer, name: &str) -> Option<Row> {
    let select = Operation::select("Interface", &[Condition::eq("name", name)], &[]);
    server
        .client()
        .transact(DB, &[select])
        .unwrap()
        .remove(0)
        .rows
        .into_iter()
        .next()
}

fn args(server: &OvsdbServer, extra: &Value) -> Value {
    let mut args =
        json!({"ovsdb": server.address(), "name": "vhu1", "bridge": "br-int", "wait": false});
    args.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    args
}

#[test]
fn switches_both_ways_in_one_row_and_is_idempotent() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    let (out, code) = run(&args(&server, &json!({"type": "dpdkvhostuser"})));
    assert_eq!((code, &out["changed"]), (0, &json!(true)), "{out}");
    assert_eq!(out["interface"]["type"], json!("dpdkvhostuser"));
    assert_eq!(out["interface"]["bridge"], json!("br-int"));
    assert_eq!(
        run(&args(&server, &json!({"type": "dpdkvhostuser"}))).0["changed"],
        json!(false)
    );

    let (out, _) = run(&args(
        &server,
        &json!({"socket_dir": "/var/lib/vhost_sockets"}),
    ));
    assert_eq!(out["changed"], json!(true), "{out}");
    let row = interface(&server, "vhu1").unwrap();
    assert_eq!(row.string("type").unwrap(), "dpdkvhostuserclient");
    assert_eq!(
        row.string_map("options").unwrap()["vhost-server-path"],
        "/var/lib/vhost_sockets/vhu1"
    );
    assert_eq!(
        out["diff"]["before"],
        json!({"type": "dpdkvhostuser", "options": {}})
    );
    assert_eq!(
        out["diff"]["after"],
        json!({"type": "dpdkvhostuserclient", "options": {"vhost-server-path": "/var/lib/vhost_sockets/vhu1"}})
    );
    assert_eq!(run(&args(&server, &json!({}))).0["changed"], json!(false));

    let (out, _) = run(&args(&server, &json!({"type": "dpdkvhostuser"})));
    assert_eq!(out["changed"], json!(true));
    let row = interface(&server, "vhu1").unwrap();
    assert_eq!(row.string("type").unwrap(), "dpdkvhostuser");
    assert!(
        row.string_map("options").unwrap().is_empty(),
        "the server path goes with the type"
    );
}

#[test]
fn check_mode_touches_nothing() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    run(&args(&server, &json!({"type": "dpdkvhostuser"})));
    let before = interface(&server, "vhu1").unwrap();
    let (out, code) = run(&args(&server, &json!({"_ansible_check_mode": true})));
    assert_eq!((code, &out["changed"]), (0, &json!(true)), "{out}");
    assert!(out["msg"].as_str().unwrap().contains("would change"));
    assert_eq!(interface(&server, "vhu1").unwrap(), before);
    let (out, _) = run(&args(
        &server,
        &json!({"name": "vhu2", "_ansible_check_mode": true}),
    ));
    assert_eq!(out["changed"], json!(true));
    assert!(interface(&server, "vhu2").is_none());
}

#[test]
fn a_new_server_path_recreates_the_port_and_keeps_its_settings() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    run(&args(&server, &json!({"server_path": "/run/a/vhu1"})));
    let ids = Datum::string_map([("iface-id", "4f1c"), ("attached-mac", "fa:16:3e:00:00:01")]);
    let mut client = server.client();
    client
        .transact(
            DB,
            &[
                Operation::update(
                    "Interface",
                    &[Condition::eq("name", "vhu1")],
                    &Row::new().with("external_ids", ids.clone()),
                ),
                Operation::update(
                    "Port",
                    &[Condition::eq("name", "vhu1")],
                    &Row::new().with("tag", 7i64),
                ),
            ],
        )
        .unwrap();
    let started = Instant::now();
    let (out, code) = run(&args(
        &server,
        &json!({"server_path": "/run/b/vhu1", "timeout": 1}),
    ));
    // No ovs-vswitchd here, so the removal is never applied: the honest answer is a failure
    // that says the database did change.
    assert_eq!(
        (code, &out["changed"], &out["failed"]),
        (1, &json!(true), &json!(true)),
        "{out}"
    );
    assert!(
        out["msg"].as_str().unwrap().contains(
            "the port was removed and added back in the database, but ovs-vswitchd did not apply"
        ),
        "{out}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let row = interface(&server, "vhu1").unwrap();
    assert_eq!(
        row.string_map("options").unwrap()["vhost-server-path"],
        "/run/b/vhu1"
    );
    let kept = row.string_map("external_ids").unwrap();
    assert_eq!(
        (kept["iface-id"].as_str(), kept["attached-mac"].as_str()),
        ("4f1c", "fa:16:3e:00:00:01")
    );
    assert_eq!(out["interface"]["port"], json!("vhu1"));
    let port = server
        .client()
        .transact(
            DB,
            &[Operation::select(
                "Port",
                &[Condition::eq("name", "vhu1")],
                &["tag"],
            )],
        )
        .unwrap()
        .remove(0)
        .rows;
    assert_eq!(port[0].integer("tag").unwrap(), 7);
}

#[test]
fn waiting_for_a_vswitchd_that_is_not_there_fails_honestly() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    let (out, code) = run(&args(&server, &json!({"wait": true, "timeout": 1})));
    assert_eq!(
        (code, &out["changed"], &out["failed"]),
        (1, &json!(true), &json!(true)),
        "{out}"
    );
    let msg = out["msg"].as_str().unwrap();
    assert!(
        msg.contains("committed to the database") && msg.contains("ovs-vswitchd"),
        "{msg}"
    );
    assert_eq!(
        out["interface"]["type"],
        json!("dpdkvhostuserclient"),
        "the state the database now holds"
    );
    assert!(interface(&server, "vhu1").is_some());
}

#[test]
fn an_error_ovs_vswitchd_reports_is_a_warning() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    run(&args(&server, &json!({})));
    let error = Row::new().with(
        "error",
        "could not open network device vhu1 (Address family not supported by protocol)",
    );
    server.update_interface("vhu1", &error);
    let (out, code) = run(&args(&server, &json!({})));
    assert_eq!((code, &out["changed"]), (0, &json!(false)), "{out}");
    assert_eq!(
        out["interface"]["error"],
        json!("could not open network device vhu1 (Address family not supported by protocol)")
    );
    let warnings = out["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("ovs-vswitchd reports an error for this interface")),
        "{out}"
    );
}

#[test]
fn only_vhost_user_interfaces_are_touched() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    let ops = [
        Operation::insert_named(
            "Interface",
            "i",
            &Row::new().with("name", "int0").with("type", "internal"),
        ),
        Operation::insert_named(
            "Port",
            "p",
            &Row::new()
                .with("name", "int0")
                .with("interfaces", Datum::named_uuid("i")),
        ),
        Operation::mutate(
            "Bridge",
            &[Condition::eq("name", "br-int")],
            &[Mutation::insert("ports", Datum::named_uuid("p"))],
        ),
    ];
    server.client().transact(DB, &ops).unwrap();
    for state in ["present", "absent"] {
        let (out, code) = run(&args(&server, &json!({"name": "int0", "state": state})));
        assert_eq!(code, 1, "{out}");
        assert!(
            out["msg"]
                .as_str()
                .unwrap()
                .contains("is of type 'internal', not a vhost-user interface"),
            "{out}"
        );
        assert_eq!(
            interface(&server, "int0").unwrap().string("type").unwrap(),
            "internal"
        );
    }
}

/// A path change ovs-vswitchd never applied shows in the socket it reports; the next run
/// re-creates the port again instead of calling it done.
#[test]
fn a_socket_ovs_vswitchd_still_uses_is_not_done() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    run(&args(&server, &json!({"server_path": "/run/b/vhu1"})));
    let status = Row::new().with(
        "status",
        Datum::string_map([
            ("mode", "client"),
            ("socket", "/run/a/vhu1"),
            ("status", "connected"),
        ]),
    );
    server.update_interface("vhu1", &status);
    let (out, _) = run(&args(
        &server,
        &json!({"server_path": "/run/b/vhu1", "_ansible_check_mode": true}),
    ));
    assert_eq!(out["changed"], json!(true), "{out}");
    assert!(out["msg"].as_str().unwrap().contains("re-created"), "{out}");
}

#[test]
fn absent_removes_the_port_and_is_idempotent() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    run(&args(&server, &json!({})));
    let (out, _) = run(&args(&server, &json!({"state": "absent"})));
    assert_eq!(out["changed"], json!(true), "{out}");
    assert!(interface(&server, "vhu1").is_none());
    let (out, code) = run(&args(&server, &json!({"state": "absent"})));
    assert_eq!((code, &out["changed"]), (0, &json!(false)), "{out}");
}

#[test]
fn bad_input_fails_clearly_and_changes_nothing() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    let long = format!("/var/lib/vhost_sockets/{}", "x".repeat(90));
    let cases = [
        (
            json!({"bridge": null}),
            "interface vhu1 does not exist; give bridge to create it there",
        ),
        (
            json!({"bridge": "br-nope"}),
            "bridge br-nope does not exist",
        ),
        (
            json!({"server_path": long}),
            "must be shorter than 108 bytes",
        ),
        (
            json!({"type": "dpdkvhostuser", "server_path": "/x/y"}),
            "server_path is only for type dpdkvhostuserclient",
        ),
        (
            json!({"type": "dpdkvhost"}),
            "value of type must be one of: dpdkvhostuserclient, dpdkvhostuser, got: dpdkvhost",
        ),
        (json!({"ovsdb": "tcp:127.0.0.1:6640"}), "unix:"),
        (
            json!({"ovsdb": "unix:/nonexistent/db.sock"}),
            "/nonexistent/db.sock",
        ),
        (
            json!({"timeout": 0}),
            "timeout must be a positive number of seconds",
        ),
        (
            json!({"bridges": "br-int"}),
            "Unsupported parameters for (nfv.vhostuser.vhostuser_port) module: bridges. Supported parameters \
             include: bridge, name, ovsdb, server_path, socket_dir, state, timeout, type, wait.",
        ),
    ];
    for (extra, msg) in cases {
        let started = Instant::now();
        let (out, code) = run(&args(&server, &extra));
        assert_eq!(
            (code, &out["failed"], &out["changed"]),
            (1, &json!(true), &json!(false)),
            "{extra}: {out}"
        );
        assert!(out["msg"].as_str().unwrap().contains(msg), "{extra}: {out}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{extra} took {:?}",
            started.elapsed()
        );
        assert!(
            interface(&server, "vhu1").is_none(),
            "{extra} changed the database"
        );
    }
}

#[test]
fn a_database_that_is_down_is_a_quick_clear_failure() {
    let server = OvsdbServer::start();
    let address = server.address();
    drop(server);
    let started = Instant::now();
    let (out, code) = run(&json!({"ovsdb": address, "name": "vhu1", "bridge": "br-int"}));
    assert_eq!(code, 1, "{out}");
    assert!(
        out["msg"]
            .as_str()
            .unwrap()
            .contains(address.trim_start_matches("unix:")),
        "{out}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The largest int a playbook can give is "as long as it takes", not a panic computing the
/// deadline.
#[test]
fn the_largest_timeout_is_saturated_not_a_panic() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    let (out, code) = run(&args(&server, &json!({"timeout": i64::MAX})));
    assert_eq!((code, &out["changed"]), (0, &json!(true)), "{out}");
    assert_eq!(out["interface"]["type"], json!("dpdkvhostuserclient"));
    let (out, code) = run(&args(&server, &json!({"timeout": "9223372036854775807"})));
    assert_eq!((code, &out["changed"]), (0, &json!(false)), "{out}");
}

/// Names that are no socket file name are refused before the database is asked; a bond
/// holding the name is reported as what it is, not as a race to retry.
#[test]
fn names_that_cannot_be_a_socket_and_names_taken_by_a_bond_are_refused_clearly() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    for (name, words) in [
        ("..", "the socket directory's parent itself"),
        (".", "the socket directory itself"),
        ("vhu1\nvhu2", "contains '\\n'"),
        ("vhu 1", "contains ' '"),
        ("../vhu1", "contains '/'"),
        ("", "it is empty"),
    ] {
        let (out, code) = run(&args(&server, &json!({"name": name})));
        assert_eq!(
            (code, &out["changed"]),
            (1, &json!(false)),
            "{name:?}: {out}"
        );
        let msg = out["msg"].as_str().unwrap();
        assert!(
            msg.contains("is not a valid vhost-user interface name") && msg.contains(words),
            "{name:?}: {msg}"
        );
        assert!(interface(&server, name).is_none(), "{name:?} was created");
    }

    let bond = [
        Operation::insert_named("Interface", "a", &Row::new().with("name", "bond0a")),
        Operation::insert_named("Interface", "b", &Row::new().with("name", "bond0b")),
        Operation::insert_named(
            "Port",
            "p",
            &Row::new().with("name", "bond0").with(
                "interfaces",
                Datum::set([Atom::NamedUuid("a".into()), Atom::NamedUuid("b".into())]),
            ),
        ),
        Operation::mutate(
            "Bridge",
            &[Condition::eq("name", "br-int")],
            &[Mutation::insert("ports", Datum::named_uuid("p"))],
        ),
    ];
    server.client().transact(DB, &bond).unwrap();
    let (out, code) = run(&args(&server, &json!({"name": "bond0"})));
    assert_eq!((code, &out["changed"]), (1, &json!(false)), "{out}");
    let msg = out["msg"].as_str().unwrap();
    assert!(
        msg.contains("port bond0 already exists (a bond) with interfaces bond0a, bond0b"),
        "{msg}"
    );
    assert!(!msg.contains("run it again"), "{msg}");
    assert!(interface(&server, "bond0").is_none());
}

fn select_one(server: &OvsdbServer, table: &str, name: &str) -> Row {
    let select = Operation::select(table, &[Condition::eq("name", name)], &[]);
    let mut rows = server
        .client()
        .transact(DB, &[select])
        .unwrap()
        .remove(0)
        .rows;
    assert_eq!(rows.len(), 1, "{table} {name}: {rows:?}");
    rows.remove(0)
}

/// Issue 11's port: protected, LLDP, BFD and CFM settings, a VLAN tag, `QoS`, and a mirror
/// that selects it both ways and outputs to it. Every setting is on the port added back, and
/// the mirror (whose references are weak, so OVSDB drops them with the old port) points at it.
#[test]
fn a_recreated_port_keeps_every_setting_and_every_reference_to_it() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    run(&args(&server, &json!({"server_path": "/run/a/vhu1"})));
    let old_port = select_one(&server, "Port", "vhu1").uuid().unwrap().clone();
    let by_name = [Condition::eq("name", "vhu1")];
    let settings = [
        Operation::update(
            "Interface",
            &by_name,
            &Row::new()
                .with("lldp", Datum::string_map([("enable", "true")]))
                .with("bfd", Datum::string_map([("enable", "false")]))
                .with("cfm_mpid", 7i64)
                .with("mtu_request", 9000i64),
        ),
        Operation::insert_named(
            "QoS",
            "q",
            &Row::new()
                .with("type", "egress-policer")
                .with("other_config", Datum::string_map([("cir", "46000000")])),
        ),
        Operation::update(
            "Port",
            &by_name,
            &Row::new()
                .with("protected", true)
                .with("tag", 10i64)
                .with("qos", Datum::named_uuid("q")),
        ),
        Operation::insert_named(
            "Mirror",
            "m",
            &Row::new()
                .with("name", "m0")
                .with("select_src_port", &old_port)
                .with("select_dst_port", &old_port)
                .with("output_port", &old_port),
        ),
        Operation::mutate(
            "Bridge",
            &[Condition::eq("name", "br-int")],
            &[Mutation::insert("mirrors", Datum::named_uuid("m"))],
        ),
    ];
    server.client().transact(DB, &settings).unwrap();
    let qos = select_one(&server, "Port", "vhu1")
        .get("qos")
        .cloned()
        .unwrap();

    let (out, code) = run(&args(
        &server,
        &json!({"server_path": "/run/b/vhu1", "timeout": 1}),
    ));
    // No ovs-vswitchd applies the removal here: the failure says so, having changed.
    assert_eq!((code, &out["changed"]), (1, &json!(true)), "{out}");
    let msg = out["msg"].as_str().unwrap();
    assert!(msg.contains("did not apply the removal"), "{msg}");

    let interface = select_one(&server, "Interface", "vhu1");
    assert_eq!(
        interface.string_map("options").unwrap()["vhost-server-path"],
        "/run/b/vhu1"
    );
    assert_eq!(interface.string_map("lldp").unwrap()["enable"], "true");
    assert_eq!(interface.string_map("bfd").unwrap()["enable"], "false");
    assert_eq!(interface.integer("cfm_mpid").unwrap(), 7);
    assert_eq!(interface.integer("mtu_request").unwrap(), 9000);
    let port = select_one(&server, "Port", "vhu1");
    let new_port = port.uuid().unwrap().clone();
    assert_ne!(new_port, old_port, "the port was re-created");
    assert!(port.boolean("protected").unwrap());
    assert_eq!(port.integer("tag").unwrap(), 10);
    assert_eq!(port.get("qos"), Some(&qos), "the same QoS row");
    let mirror = select_one(&server, "Mirror", "m0");
    for column in ["select_src_port", "select_dst_port", "output_port"] {
        assert_eq!(
            mirror.uuid_set(column).unwrap(),
            std::slice::from_ref(&new_port),
            "Mirror {column}"
        );
    }
    let bridge = select_one(&server, "Bridge", "br-int");
    assert_eq!(bridge.uuid_set("ports").unwrap(), [new_port]);
}

/// What cannot be left without the port between the two transactions is refused before
/// anything is written: here another port whose only interface is this one.
#[test]
fn a_reference_that_cannot_be_carried_is_refused_with_the_reason() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    run(&args(&server, &json!({"server_path": "/run/a/vhu1"})));
    let iface = select_one(&server, "Interface", "vhu1")
        .uuid()
        .unwrap()
        .clone();
    let other = [
        Operation::insert_named(
            "Port",
            "p",
            &Row::new().with("name", "other").with("interfaces", &iface),
        ),
        Operation::mutate(
            "Bridge",
            &[Condition::eq("name", "br-int")],
            &[Mutation::insert("ports", Datum::named_uuid("p"))],
        ),
    ];
    server.client().transact(DB, &other).unwrap();
    let before = select_one(&server, "Interface", "vhu1");
    let (out, code) = run(&args(&server, &json!({"server_path": "/run/b/vhu1"})));
    assert_eq!((code, &out["changed"]), (1, &json!(false)), "{out}");
    let msg = out["msg"].as_str().unwrap();
    assert!(
        // Whichever of the two ports is taken for the interface's, the other refers to it.
        (msg.contains("Port other interfaces cannot be left without it")
            || msg.contains("Port vhu1 interfaces cannot be left without it"))
            && msg.contains("nothing was changed"),
        "{msg}"
    );
    assert_eq!(select_one(&server, "Interface", "vhu1"), before);
}

/// Another writer gives the mirror another output port while the port is out of the
/// database: the port still comes back, and the task says which references it could not
/// restore.
#[test]
fn a_mirror_filled_meanwhile_never_keeps_the_port_out() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    run(&args(&server, &json!({"server_path": "/run/a/vhu1"})));
    run(&args(
        &server,
        &json!({"name": "vhu2", "server_path": "/run/a/vhu2"}),
    ));
    let old = select_one(&server, "Port", "vhu1").uuid().unwrap().clone();
    let other = select_one(&server, "Port", "vhu2").uuid().unwrap().clone();
    let mirror = Row::new()
        .with("name", "m0")
        .with("select_src_port", &old)
        .with("output_port", &old);
    let ops = [
        Operation::insert_named("Mirror", "m", &mirror),
        Operation::mutate(
            "Bridge",
            &[Condition::eq("name", "br-int")],
            &[Mutation::insert("mirrors", Datum::named_uuid("m"))],
        ),
        Operation::update(
            "Port",
            &[Condition::eq("name", "vhu1")],
            &Row::new().with("tag", 10i64),
        ),
    ];
    server.client().transact(DB, &ops).unwrap();

    // The other writer: once the port is gone, the mirror outputs to vhu2.
    let address = server.address();
    let writer = std::thread::spawn(move || {
        let mut client =
            vhostuser::ovsdb::Client::connect(&address, Duration::from_secs(5)).unwrap();
        let gone = Operation::select("Port", &[Condition::eq("name", "vhu1")], &["_uuid"]);
        let started = Instant::now();
        while !client.transact(DB, std::slice::from_ref(&gone)).unwrap()[0]
            .rows
            .is_empty()
        {
            assert!(started.elapsed() < Duration::from_secs(10), "never removed");
            std::thread::sleep(Duration::from_millis(5));
        }
        let theirs = Row::new().with("output_port", &other);
        let filled = Operation::update("Mirror", &[Condition::eq("name", "m0")], &theirs);
        client.transact(DB, &[filled]).unwrap();
    });
    let (out, code) = run(&args(
        &server,
        &json!({"server_path": "/run/b/vhu1", "timeout": 2}),
    ));
    writer.join().unwrap();
    assert_eq!((code, &out["changed"]), (1, &json!(true)), "{out}");
    let msg = out["msg"].as_str().unwrap();
    assert!(
        msg.contains("Mirror m0 output_port could not be pointed at the port added back")
            && msg.contains("point it at port vhu1 by hand"),
        "{msg}"
    );
    assert!(!msg.contains("select_src_port"), "{msg}");
    let port = select_one(&server, "Port", "vhu1");
    assert_eq!(port.integer("tag").unwrap(), 10, "the port is back");
    let mirror = select_one(&server, "Mirror", "m0");
    let other = select_one(&server, "Port", "vhu2").uuid().unwrap().clone();
    assert_eq!(
        mirror.uuid_set("output_port").unwrap(),
        [other],
        "theirs stays"
    );
    assert_eq!(
        mirror.uuid_set("select_src_port").unwrap(),
        [port.uuid().unwrap().clone()],
        "the reference that could be restored is"
    );
}

/// What the module really returns, and RETURN in its sidecar, agree both ways.
#[test]
fn the_keys_returned_are_the_keys_documented() {
    let server = OvsdbServer::start();
    server.add_bridge("br-int");
    let (created, code) = run(&args(&server, &json!({"type": "dpdkvhostuser"})));
    assert_eq!((code, &created["changed"]), (0, &json!(true)), "{created}");
    let (switched, code) = run(&args(&server, &json!({})));
    assert_eq!(
        (code, &switched["changed"]),
        (0, &json!(true)),
        "{switched}"
    );
    test_support::assert_return_documented("vhostuser_port", &[created, switched]);
}
