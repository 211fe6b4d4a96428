//! One JSON-RPC session on a unix socket, every step bounded by the caller's deadline.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Error;
use super::framing::Framer;

#[derive(Debug)]
pub(crate) struct Connection {
    address: String,
    stream: UnixStream,
    framer: Framer,
    next_id: u64,
}

impl Connection {
    pub(crate) fn open(address: &str, path: &Path, deadline: Instant) -> Result<Self, Error> {
        let stream = connect(path.to_owned(), deadline).map_err(|source| Error::Connect {
            address: address.to_owned(),
            source,
        })?;
        Ok(Connection {
            address: address.to_owned(),
            stream,
            framer: Framer::default(),
            next_id: 1,
        })
    }

    /// Sends one request and returns its `result`, answering the server's `echo` probes and
    /// skipping notifications while it waits.
    pub(crate) fn call(
        &mut self,
        method: &str,
        params: &Value,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Value, Error> {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({"method": method, "params": params, "id": id});
        self.send(&request, method, deadline, timeout)?;
        loop {
            let message = self.receive(method, deadline, timeout)?;
            let Value::Object(mut message) = message else {
                return Err(self.protocol(format!("a message is not a JSON object: {message}")));
            };
            if let Some(incoming) = message.get("method").and_then(Value::as_str) {
                // ovsdb-server's inactivity probe: it drops the session unless echo is answered.
                let id = message.get("id").filter(|id| !id.is_null());
                if incoming == "echo" && id.is_some() {
                    let reply = json!({
                        "id": id,
                        "result": message.get("params"),
                        "error": null,
                    });
                    self.send(&reply, method, deadline, timeout)?;
                }
                // Anything else (update, locked, stolen) belongs to monitors and locks: unused.
                continue;
            }
            if message.get("id").and_then(Value::as_u64) != Some(id) {
                continue;
            }
            match message.remove("error") {
                None | Some(Value::Null) => {}
                Some(error) => return Err(rpc_error(method, &error)),
            }
            return message
                .remove("result")
                .ok_or_else(|| self.protocol(format!("the reply to {method} has no result")));
        }
    }

    fn send(
        &mut self,
        message: &Value,
        method: &str,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), Error> {
        let bytes = message.to_string();
        let remaining = self.remaining(method, deadline, timeout)?;
        let written = self
            .stream
            .set_write_timeout(Some(remaining))
            .and_then(|()| self.stream.write_all(bytes.as_bytes()));
        written.map_err(|source| self.io_error(method, source, timeout))
    }

    fn receive(
        &mut self,
        method: &str,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Value, Error> {
        let mut chunk = [0_u8; 16 * 1024];
        loop {
            match self.framer.next_message() {
                Ok(Some(bytes)) => {
                    return serde_json::from_slice(&bytes)
                        .map_err(|e| self.protocol(format!("a message is not JSON: {e}")));
                }
                Ok(None) => {}
                Err(detail) => return Err(self.protocol(detail)),
            }
            let remaining = self.remaining(method, deadline, timeout)?;
            let read = self
                .stream
                .set_read_timeout(Some(remaining))
                .and_then(|()| self.stream.read(&mut chunk));
            match read {
                Ok(0) => {
                    let closed = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "ovsdb-server closed the connection",
                    );
                    return Err(self.io_error(method, closed, timeout));
                }
                Ok(n) => self.framer.push(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(method, e, timeout)),
            }
        }
    }

    /// Time left before the deadline; none left is a timeout (a zero socket timeout would mean
    /// "block forever" to the OS, and std refuses it).
    fn remaining(
        &self,
        method: &str,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Duration, Error> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(self.timeout(method, timeout))
        } else {
            Ok(left)
        }
    }

    fn io_error(&self, method: &str, source: io::Error, timeout: Duration) -> Error {
        if matches!(
            source.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            return self.timeout(method, timeout);
        }
        Error::Io {
            address: self.address.clone(),
            method: method.to_owned(),
            source,
        }
    }

    fn timeout(&self, method: &str, timeout: Duration) -> Error {
        Error::Timeout {
            address: self.address.clone(),
            method: method.to_owned(),
            timeout,
        }
    }

    fn protocol(&self, detail: String) -> Error {
        Error::Protocol {
            address: self.address.clone(),
            detail,
        }
    }
}

/// connect(2) on a unix socket blocks without limit while the listener's backlog is full, and
/// std offers no timeout for it; a helper thread does. If it is still stuck at the deadline it
/// is left behind and its socket is closed whenever connect returns.
fn connect(path: PathBuf, deadline: Instant) -> io::Result<UnixStream> {
    let (sender, receiver) = mpsc::channel();
    thread::Builder::new()
        .name("ovsdb-connect".to_owned())
        .spawn(move || {
            // The receiver is gone only if the caller already gave up: nothing to report to.
            let _ = sender.send(UnixStream::connect(path));
        })?;
    let left = deadline.saturating_duration_since(Instant::now());
    match receiver.recv_timeout(left) {
        Ok(connected) => connected,
        Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "connect did not finish in time (is the listener's backlog full?)",
        )),
        Err(RecvTimeoutError::Disconnected) => Err(io::Error::other(
            "the connecting thread ended without a result",
        )),
    }
}

/// OVSDB's JSON-RPC `error` is an `{"error", "details"}` object, or a bare string.
fn rpc_error(method: &str, error: &Value) -> Error {
    let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
    Error::Rpc {
        method: method.to_owned(),
        error: error
            .as_str()
            .map(str::to_owned)
            .or_else(|| text("error"))
            .unwrap_or_else(|| error.to_string()),
        details: text("details"),
    }
}
