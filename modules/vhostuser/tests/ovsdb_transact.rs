//! The OVSDB client against a real, isolated ovsdb-server: methods, operations, the encodings
//! as the server sends them, and how its errors read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ovsdb_server::{DB, OvsdbServer};
use test_support::ovsdb_server;
use vhostuser::ovsdb::{
    Atom, Client, Condition, Datum, Error, Mutation, OpResult, Operation, Row, Uuid,
};

const PORT: &str = "vhu1";
const SOCKET: &str = "/var/lib/vhost_sockets/vhu1";

fn by_name() -> [Condition; 1] {
    [Condition::eq("name", PORT)]
}

/// Bridge br-int with one port holding `interface`, the way `ovs-vsctl add-br`/`add-port` make
/// them: rows linked by named UUIDs and the bridge hooked into the root row.
fn add_port(client: &mut Client, interface: &Row) -> Vec<OpResult> {
    let interface = interface.clone().with("name", PORT);
    let port = Row::new()
        .with("name", PORT)
        .with("interfaces", Datum::named_uuid("iface"));
    let bridge = Row::new()
        .with("name", "br-int")
        .with("datapath_type", "netdev")
        .with("ports", Datum::set([Atom::NamedUuid("port".into())]));
    let ops = [
        Operation::insert_named("Interface", "iface", &interface),
        Operation::insert_named("Port", "port", &port),
        Operation::insert_named("Bridge", "bridge", &bridge),
        Operation::mutate(
            "Open_vSwitch",
            &[],
            &[Mutation::insert("bridges", Datum::named_uuid("bridge"))],
        ),
    ];
    client.transact(DB, &ops).unwrap()
}

fn server_mode() -> Row {
    Row::new().with("type", "dpdkvhostuser")
}

fn client_mode(path: &str) -> Row {
    Row::new()
        .with("type", "dpdkvhostuserclient")
        .with("options", Datum::string_map([("vhost-server-path", path)]))
}

fn read_interface(client: &mut Client) -> Row {
    let columns = [
        "_uuid", "name", "type", "options", "status", "error", "ofport",
    ];
    let select = Operation::select("Interface", &by_name(), &columns);
    let mut results = client.transact(DB, &[select]).unwrap();
    assert_eq!(results[0].rows.len(), 1, "{results:?}");
    results.remove(0).rows.remove(0)
}

#[test]
fn list_dbs_and_get_schema() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    let dbs = client.list_dbs().unwrap();
    assert!(dbs.contains(&DB.to_owned()), "{dbs:?}");
    let schema = client.get_schema(DB).unwrap();
    assert_eq!(schema.name, DB);
    assert!(!schema.version.is_empty());
    assert!(schema.has_column("Interface", "options"));
    assert!(schema.has_column("Open_vSwitch", "cur_cfg"));
    assert!(schema.has_column("Interface", "_uuid"));
    assert!(!schema.has_column("Interface", "vhost-server-path"));
    // What replacing a port needs to know: ovs-vswitchd's in-memory status, and who points
    // at a port.
    assert!(schema.column("Interface", "status").unwrap().ephemeral);
    assert!(!schema.column("Interface", "lldp").unwrap().ephemeral);
    let to_port: Vec<_> = schema
        .references_to("Port")
        .into_iter()
        .map(|r| (r.table, r.column, r.weak))
        .collect();
    for expected in [
        ("Bridge", "ports", false),
        ("Mirror", "select_src_port", true),
        ("Mirror", "output_port", true),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned(), expected.2);
        assert!(to_port.contains(&expected), "{to_port:?}");
    }
}

#[test]
fn inserted_rows_read_back_in_every_encoding() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    let inserted = add_port(&mut client, &client_mode(SOCKET));
    assert_eq!(inserted[3].count, Some(1));
    let interface_uuid = inserted[0].uuid.clone().unwrap();

    // What ovs-vswitchd would write for a port it failed to open.
    let status = Datum::string_map([("mode", "client"), ("status", "disconnected")]);
    let failed = Row::new()
        .with("status", status)
        .with("error", "could not open network device vhu1")
        .with("ofport", -1_i64);
    let update = Operation::update("Interface", &by_name(), &failed);
    assert_eq!(client.transact(DB, &[update]).unwrap()[0].count, Some(1));

    let row = read_interface(&mut client);
    assert_eq!(row.uuid().unwrap(), &interface_uuid);
    assert_eq!(row.string("type").unwrap(), "dpdkvhostuserclient");
    let options = row.string_map("options").unwrap();
    assert_eq!(
        options.into_iter().collect::<Vec<_>>(),
        [("vhost-server-path".to_owned(), SOCKET.to_owned())]
    );
    let status = row.string_map("status").unwrap();
    assert_eq!(status["mode"], "client");
    assert_eq!(status["status"], "disconnected");
    // Optional columns holding one value arrive as the bare atom.
    assert_eq!(
        row.optional_string("error").unwrap(),
        Some("could not open network device vhu1")
    );
    assert_eq!(row.integer("ofport").unwrap(), -1);

    // Port.interfaces is a set of UUIDs; with one member the server sends the bare UUID.
    let ports = Operation::select("Port", &by_name(), &["interfaces"]);
    let ports = client.transact(DB, &[ports]).unwrap();
    assert_eq!(
        ports[0].rows[0].uuid_set("interfaces").unwrap(),
        [interface_uuid]
    );
    let root = Operation::select("Open_vSwitch", &[], &["bridges", "ovs_version"]);
    let root = client.transact(DB, &[root]).unwrap();
    assert_eq!(
        root[0].rows[0].uuid_set("bridges").unwrap(),
        [inserted[2].uuid.clone().unwrap()]
    );
    assert_eq!(
        root[0].rows[0].optional_string("ovs_version").unwrap(),
        None
    );
}

#[test]
fn a_guarded_update_changes_type_and_options_together() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    add_port(&mut client, &server_mode());
    let before = read_interface(&mut client).only(&["type", "options"]);

    let ops = [
        Operation::wait_unchanged("Interface", &by_name(), &before),
        Operation::update("Interface", &by_name(), &client_mode(SOCKET)),
    ];
    let results = client.transact(DB, &ops).unwrap();
    assert_eq!(results[1].count, Some(1));

    let after = read_interface(&mut client);
    assert_eq!(after.string("type").unwrap(), "dpdkvhostuserclient");
    assert_eq!(
        after.string_map("options").unwrap()["vhost-server-path"],
        SOCKET
    );
}

#[test]
fn a_change_between_read_and_write_is_a_conflict_and_writes_nothing() {
    let server = OvsdbServer::start();
    let mut ours = server.client();
    add_port(&mut ours, &server_mode());
    let before = read_interface(&mut ours).only(&["type", "options"]);

    // Another writer moves the port to client mode with its own path in the meantime.
    let mut theirs = server.client();
    let update = Operation::update("Interface", &by_name(), &client_mode("/elsewhere"));
    theirs.transact(DB, &[update]).unwrap();

    let ops = [
        Operation::wait_unchanged("Interface", &by_name(), &before),
        Operation::update("Interface", &by_name(), &client_mode(SOCKET)),
    ];
    let error = ours.transact(DB, &ops).unwrap_err();
    assert!(error.is_conflict(), "{error}");
    let Error::Conflict(failure) = &error else {
        unreachable!()
    };
    assert_eq!((failure.index, failure.kind), (0, "wait"));
    assert_eq!(failure.table.as_deref(), Some("Interface"));
    let message = error.to_string();
    assert!(
        message.contains("operation 1 of 2 (wait on table Interface)"),
        "{message}"
    );
    assert!(message.contains("nothing was written"), "{message}");

    let now = read_interface(&mut ours);
    assert_eq!(
        now.string_map("options").unwrap()["vhost-server-path"],
        "/elsewhere"
    );
}

#[test]
fn waiting_on_an_empty_row_asserts_that_no_row_matches() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    let absent = [Operation::wait_unchanged("Port", &by_name(), &Row::new())];
    client.transact(DB, &absent).unwrap();
    add_port(&mut client, &server_mode());
    assert!(client.transact(DB, &absent).unwrap_err().is_conflict());
}

#[test]
fn deleting_the_port_collects_its_interface() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    let inserted = add_port(&mut client, &server_mode());
    let port: &Uuid = inserted[1].uuid.as_ref().unwrap();
    let ops = [
        Operation::mutate("Bridge", &[], &[Mutation::delete("ports", port)]),
        Operation::delete("Port", &[Condition::uuid(port)]),
    ];
    let results = client.transact(DB, &ops).unwrap();
    assert_eq!((results[0].count, results[1].count), (Some(1), Some(1)));
    // Interface is not a root table: unreferenced, it is gone with the port.
    let left = Operation::select("Interface", &by_name(), &[]);
    assert!(client.transact(DB, &[left]).unwrap()[0].rows.is_empty());
}

#[test]
fn server_errors_become_messages_naming_the_operation_and_table() {
    let server = OvsdbServer::start();
    let mut client = server.client();

    let ops = [
        Operation::comment("first"),
        Operation::select("NoSuchTable", &[], &[]),
    ];
    let message = client.transact(DB, &ops).unwrap_err().to_string();
    assert!(
        message.contains("operation 2 of 2 (select on table NoSuchTable) failed: syntax error"),
        "{message}"
    );
    assert!(message.contains("No table named NoSuchTable"), "{message}");

    let bad_column = Row::new().with("vhost-server-path", SOCKET);
    let update = Operation::update("Interface", &by_name(), &bad_column);
    let error = client.transact(DB, &[update]).unwrap_err();
    assert!(matches!(error, Error::Operation(_)), "{error}");
    assert!(error.to_string().contains("vhost-server-path"), "{error}");

    let error = client.transact("NoSuchDb", &[]).unwrap_err();
    assert!(matches!(error, Error::Rpc { .. }), "{error}");
    assert!(error.to_string().contains("unknown database"), "{error}");
    // The session survives a refused request.
    assert!(client.list_dbs().is_ok());
}

#[test]
fn a_refused_commit_is_its_own_error() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    add_port(&mut client, &server_mode());
    // The port still refers to the interface: OVSDB checks that at commit, after the ops ran.
    let delete = Operation::delete("Interface", &by_name());
    let error = client.transact(DB, &[delete]).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, Error::Commit { operations: 1, .. }),
        "{message}"
    );
    assert!(
        message.contains("referential integrity violation"),
        "{message}"
    );
    assert_eq!(read_interface(&mut client).string("name").unwrap(), PORT);
}
