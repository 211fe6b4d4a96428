//! The OVSDB client's transport: addresses, sockets that are missing, refuse or never answer,
//! and the JSON-RPC stream (echo probes, notifications, replies split or run together).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use test_support::ovsdb_server;

use ovsdb_server::{OvsdbServer, TempDir};
use serde_json::{Value, json};
use vhostuser::ovsdb::{Client, Error};

const SHORT: Duration = Duration::from_millis(300);
/// Slack for a loaded test machine on top of the client's timeout.
const SLACK: Duration = Duration::from_secs(2);

fn address(dir: &TempDir, name: &str) -> String {
    format!("unix:{}", dir.join(name).display())
}

/// The next JSON message a peer receives (the client sends one object per request); a client
/// that sends nothing fails the test instead of hanging it.
fn next_message(stream: &mut UnixStream) -> Value {
    stream.set_read_timeout(Some(SLACK)).unwrap();
    serde_json::Deserializer::from_reader(stream)
        .into_iter::<Value>()
        .next()
        .unwrap()
        .unwrap()
}

#[test]
fn a_missing_socket_fails_at_once_naming_the_address() {
    let dir = TempDir::create();
    let missing = address(&dir, "db.sock");
    let started = Instant::now();
    let error = Client::connect(&missing, SHORT).unwrap_err();
    assert!(started.elapsed() < SHORT, "took {:?}", started.elapsed());
    assert!(matches!(error, Error::Connect { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains(&missing), "{message}");
    assert!(message.contains("No such file"), "{message}");
}

#[test]
fn a_socket_nobody_listens_on_is_refused() {
    let dir = TempDir::create();
    let stale = address(&dir, "db.sock");
    // A socket file left behind by a server that is gone.
    drop(UnixListener::bind(dir.join("db.sock")).unwrap());
    let error = Client::connect(&stale, SHORT).unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error}");
    assert!(error.to_string().contains("refused"), "{error}");
}

#[test]
fn only_unix_addresses_are_accepted() {
    for address in [
        "tcp:127.0.0.1:6640",
        "ssl:127.0.0.1:6640",
        "punix:/tmp/db.sock",
    ] {
        let error = Client::connect(address, SHORT).unwrap_err();
        assert!(matches!(error, Error::Address { .. }), "{error}");
        assert!(error.to_string().contains("unix:<path>"), "{error}");
    }
}

#[test]
fn a_server_that_accepts_but_never_answers_times_out_within_the_bound() {
    let dir = TempDir::create();
    let listener = UnixListener::bind(dir.join("db.sock")).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (stop, stopped) = mpsc::channel::<()>();
    // Accepts every connection and holds it open without ever reading or writing.
    let silent = thread::spawn(move || {
        let mut held = Vec::new();
        while matches!(stopped.try_recv(), Err(mpsc::TryRecvError::Empty)) {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        }
        held.len()
    });

    let address = address(&dir, "db.sock");
    let mut client = Client::connect(&address, SHORT).unwrap();
    // Twice: the second call reconnects and is bounded the same way.
    for _ in 0..2 {
        let started = Instant::now();
        let error = client.list_dbs().unwrap_err();
        let took = started.elapsed();
        assert!(took >= SHORT && took < SHORT + SLACK, "took {took:?}");
        assert!(matches!(error, Error::Timeout { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains(&address), "{message}");
        assert!(
            message.contains("did not answer list_dbs within 0.3s"),
            "{message}"
        );
    }
    stop.send(()).unwrap();
    assert_eq!(silent.join().unwrap(), 2, "one connection per call");
}

#[test]
fn echo_probes_are_answered_and_other_messages_skipped() {
    let dir = TempDir::create();
    let listener = UnixListener::bind(dir.join("db.sock")).unwrap();
    let peer = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let request = next_message(&mut stream);
        assert_eq!(request["method"], "list_dbs");
        // An inactivity probe, a monitor notification and a stale reply, back to back.
        let noise = concat!(
            r#"{"method":"echo","params":["probe"],"id":"echo"}"#,
            r#"{"method":"update","params":[null,{}],"id":null}"#,
            r#"{"id":999,"result":["stale"],"error":null}"#,
        );
        stream.write_all(noise.as_bytes()).unwrap();
        let echo = next_message(&mut stream);
        assert_eq!(
            echo,
            json!({"id": "echo", "result": ["probe"], "error": null})
        );
        // The real reply, split across two writes.
        let reply = json!({"id": request["id"], "result": ["Scripted"], "error": null});
        let reply = reply.to_string();
        let (head, tail) = reply.split_at(7);
        stream.write_all(head.as_bytes()).unwrap();
        thread::sleep(Duration::from_millis(20));
        stream.write_all(tail.as_bytes()).unwrap();
    });
    let mut client = Client::connect(&address(&dir, "db.sock"), SHORT).unwrap();
    assert_eq!(client.list_dbs().unwrap(), ["Scripted"]);
    peer.join().unwrap();
}

#[test]
fn a_server_that_hangs_up_is_an_io_error() {
    let dir = TempDir::create();
    let listener = UnixListener::bind(dir.join("db.sock")).unwrap();
    let peer = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        // Hang up once the request is in, before answering it.
        next_message(&mut stream);
    });
    let mut client = Client::connect(&address(&dir, "db.sock"), SHORT).unwrap();
    let error = client.list_dbs().unwrap_err();
    peer.join().unwrap();
    assert!(matches!(error, Error::Io { .. }), "{error}");
    assert!(
        error.to_string().contains("closed the connection"),
        "{error}"
    );
}

#[test]
fn a_stopped_ovsdb_server_is_reported_not_waited_for() {
    let server = OvsdbServer::start();
    let mut client = server.client();
    assert!(client.list_dbs().is_ok());
    drop(server);
    let started = Instant::now();
    let error = client.list_dbs().unwrap_err();
    assert!(started.elapsed() < SLACK, "took {:?}", started.elapsed());
    assert!(
        matches!(error, Error::Io { .. } | Error::Connect { .. }),
        "{error}"
    );
}

/// A peer that answers with one string that never ends: the client stops reading at the size
/// limit for one message and says why, long before its timeout, instead of buffering
/// gigabytes until then.
#[test]
fn a_peer_streaming_an_endless_string_is_cut_off_at_the_message_limit() {
    let dir = TempDir::create();
    let listener = UnixListener::bind(dir.join("db.sock")).unwrap();
    let peer = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let request = next_message(&mut stream);
        let head = format!(r#"{{"id":{},"result":""#, request["id"]);
        stream.write_all(head.as_bytes()).unwrap();
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent: usize = 0;
        // Until the client hangs up; a client without a limit would take it all, so stop at
        // 256 MiB (this machine is shared) and hold the string open until it gives up.
        while stream.write_all(&chunk).is_ok() {
            sent += chunk.len();
            if sent >= 256 << 20 {
                let _ = stream.read(&mut [0; 1]);
                break;
            }
        }
        sent
    });
    let timeout = Duration::from_secs(10);
    let mut client = Client::connect(&address(&dir, "db.sock"), timeout).unwrap();
    let error = client.list_dbs().unwrap_err();
    let sent = peer.join().unwrap();
    assert!(matches!(error, Error::Protocol { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("beyond the limit of 64 MiB for one OVSDB message"),
        "{message}"
    );
    // What the peer got into the socket before the client hung up: the limit, plus what the
    // socket buffers held.
    assert!(
        sent < 80 << 20,
        "{sent} bytes were sent before the client stopped"
    );
}
