//! The Open vSwitch side of a live swap, through `nfv.vhostuser.vhostuser_port`'s own code (its
//! guarded OVSDB transactions): the port of an interface checked before anything changes,
//! switched to the type that pairs with the interface's new mode between the unplug and the
//! plug, and watched until it reports `connected`.

use std::thread;
use std::time::{Duration, Instant};

use ansible_module::Ctx;
use vhostuser::libvirt::SourceMode;
use vhostuser::ovsdb::Client;
use vhostuser::vhost_ports;

use crate::select::{Planned, Source};

/// How often the port's status is read while waiting for `connected`.
const POLL: Duration = Duration::from_millis(20);

/// Where Open vSwitch's database is, and how long each exchange may take.
#[derive(Debug, Clone)]
pub(crate) struct PortSwitch {
    pub ovsdb: String,
    pub timeout: i64,
}

impl PortSwitch {
    /// `vhostuser_port`'s parameters that give `port` the type pairing with `source`.
    fn params(&self, port: &str, source: &Source) -> Result<vhostuser_port::Params, String> {
        let mode = source
            .mode
            .ok_or_else(|| format!("port {port}: the interface has no mode to pair with"))?;
        let server_path = match mode {
            SourceMode::Server => source.path.clone(),
            SourceMode::Client => None,
        };
        Ok(vhostuser_port::Params {
            name: port.to_owned(),
            kind: mode.ovs_type(),
            socket_dir: "/var/lib/vhost_sockets".to_owned(),
            server_path,
            bridge: None,
            state: vhostuser_port::State::Present,
            wait: true,
            timeout: self.timeout,
            ovsdb: self.ovsdb.clone(),
        })
    }

    fn run(&self, port: &str, source: &Source, ctx: &Ctx, check: bool) -> Result<(), String> {
        let params = self.params(port, source)?;
        let mut ctx = Ctx {
            check_mode: check,
            ..ctx.clone()
        };
        vhostuser_port::ensure(&params, &mut ctx)
            .map(drop)
            .map_err(|f| format!("Open vSwitch port {port}: {}", f.msg))
    }

    /// Whether the port of `planned` exists and can take its new type (a check-mode run).
    pub fn check(&self, planned: &Planned, ctx: &Ctx) -> Result<(), String> {
        let port = planned.ovs_port().unwrap_or_default();
        self.run(port, &planned.after, ctx, true)
    }

    /// Gives `port` the type (and server path) pairing with `source`.
    pub fn switch(&self, port: &str, source: &Source, ctx: &Ctx) -> Result<(), String> {
        self.run(port, source, ctx, false)
    }

    /// When `port` reported `status=connected`, read every 20 ms until `deadline`; `None` when
    /// it did not by then.
    pub fn wait_connected(&self, port: &str, deadline: Instant) -> Result<Option<Instant>, String> {
        let timeout = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        let mut client = Client::connect(&self.ovsdb, timeout).map_err(|e| e.to_string())?;
        loop {
            let located = vhost_ports::find(&mut client, port).map_err(|e| e.to_string())?;
            let view = located
                .map(|l| l.view())
                .transpose()
                .map_err(|e| e.to_string())?;
            if view.is_some_and(|v| v.status.get("status").map(String::as_str) == Some("connected"))
            {
                return Ok(Some(Instant::now()));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            thread::sleep(POLL);
        }
    }
}
