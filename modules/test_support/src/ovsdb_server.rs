//! A real, isolated ovsdb-server for tests: its own database, socket, pidfile and log under a
//! fresh temporary directory, run as a child of the test (no `--detach`), so that Drop kills
//! exactly that process and removes the directory. The system's /var/run/openvswitch and its
//! database are never touched.

use std::env;
use std::fs;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use vhostuser::ovsdb::{Client, Condition, Datum, Mutation, Operation, Row};

pub const DB: &str = "Open_vSwitch";
pub const TIMEOUT: Duration = Duration::from_secs(5);
const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";
const MISSING: &str = "run tools/setup, which installs Debian's openvswitch-common and \
                       openvswitch-switch (no service is started)";

#[derive(Debug)]
pub struct OvsdbServer {
    child: Child,
    // Dropped after Drop::drop has killed the child.
    dir: TempDir,
}

impl OvsdbServer {
    /// Creates a database from the installed vswitch schema, starts ovsdb-server on it, and
    /// inserts the root `Open_vSwitch` row as `ovs-vsctl init` would.
    pub fn start() -> OvsdbServer {
        let server = program("ovsdb-server");
        let tool = program("ovsdb-tool");
        assert!(
            Path::new(SCHEMA).is_file(),
            "{SCHEMA} is missing: {MISSING}"
        );
        let dir = TempDir::create();
        let db = dir.join("conf.db");
        let created = Command::new(tool)
            .arg("create")
            .arg(&db)
            .arg(SCHEMA)
            .status()
            .unwrap();
        assert!(
            created.success(),
            "ovsdb-tool create {} failed",
            db.display()
        );

        let output = fs::File::create(dir.join("ovsdb-server.out")).unwrap();
        let child = Command::new(server)
            .arg(&db)
            .arg(format!("--remote=punix:{}", dir.join("db.sock").display()))
            .arg(format!(
                "--unixctl={}",
                dir.join("ovsdb-server.ctl").display()
            ))
            .arg(format!(
                "--pidfile={}",
                dir.join("ovsdb-server.pid").display()
            ))
            .arg(format!(
                "--log-file={}",
                dir.join("ovsdb-server.log").display()
            ))
            .arg("--no-chdir")
            .envs(
                ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"]
                    .map(|v| (v, dir.as_os_str())),
            )
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap();
        // From here on Drop cleans up, even if a step below panics.
        let mut running = OvsdbServer { child, dir };
        running.wait_for_socket();
        let init = Operation::insert("Open_vSwitch", &Row::new());
        running.client().transact(DB, &[init]).unwrap();
        running
    }

    /// `unix:<dir>/db.sock`, the address a module would be given.
    pub fn address(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.address(), TIMEOUT).unwrap()
    }

    /// Changes the interface `name` as another writer would (neutron's agent, ovs-vswitchd).
    pub fn update_interface(&self, name: &str, row: &Row) {
        let op = Operation::update("Interface", &[Condition::eq("name", name)], row);
        self.client().transact(DB, &[op]).unwrap();
    }

    /// Adds a bridge (userspace datapath) to the root row, as `ovs-vsctl add-br` would.
    pub fn add_bridge(&self, name: &str) {
        let bridge = Row::new()
            .with("name", name)
            .with("datapath_type", "netdev");
        let ops = [
            Operation::insert_named("Bridge", "br", &bridge),
            Operation::mutate(
                "Open_vSwitch",
                &[],
                &[Mutation::insert("bridges", Datum::named_uuid("br"))],
            ),
        ];
        self.client().transact(DB, &ops).unwrap();
    }

    fn wait_for_socket(&mut self) {
        let started = Instant::now();
        // The socket file appears at bind(), a moment before listen(): until then connecting
        // is refused, so wait for a connection, not for the file.
        while UnixStream::connect(self.socket()).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("ovsdb-server exited with {status}:\n{}", self.log());
            }
            assert!(
                started.elapsed() < TIMEOUT,
                "ovsdb-server did not listen within {TIMEOUT:?}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn log(&self) -> String {
        ["ovsdb-server.out", "ovsdb-server.log"]
            .map(|name| fs::read_to_string(self.dir.join(name)).unwrap_or_default())
            .join("\n")
    }
}

impl Drop for OvsdbServer {
    fn drop(&mut self) {
        // Child::kill signals this child's own pid; nothing else is ever signalled.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new empty directory under the temporary directory, removed on Drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn create() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = env::temp_dir().join(format!("ovsdb-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The installed binary; a missing one fails the test with what to do, never skips it.
fn program(name: &str) -> PathBuf {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed: {MISSING}"))
}
