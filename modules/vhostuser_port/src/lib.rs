//! `nfv.vhostuser.vhostuser_port`: one Open vSwitch interface's vhost-user type
//! (`dpdkvhostuserclient` or `dpdkvhostuser`) and `options:vhost-server-path`, changed in OVSDB
//! transactions guarded by `wait`s on the rows as read, so a concurrent writer (neutron's
//! agent, another play) is never clobbered: one for a change of type, two for a new server
//! path alone (the port is re-created, see `carry`). It speaks OVSDB directly; no ovs-vsctl
//! text is parsed.

mod apply;
mod carry;
mod name;
mod plan;

use std::path::Path;

use ansible_module::{ArgSpec, Ctx, Diff, Failure, Kind, Lit, ModuleResult, Opt};
use serde::Deserialize;
use serde_json::json;
use vhostuser::ovsdb::{self, Client};
use vhostuser::vhost_ports;

use crate::plan::Plan;

const OPTIONS: &[Opt] = &[
    Opt::new("name", Kind::Str).required(),
    Opt::new("type", Kind::Str)
        .choices(&["dpdkvhostuserclient", "dpdkvhostuser"])
        .default(Lit::Str("dpdkvhostuserclient")),
    Opt::new("server_path", Kind::Path),
    Opt::new("socket_dir", Kind::Path).default(Lit::Str("/var/lib/vhost_sockets")),
    Opt::new("bridge", Kind::Str),
    Opt::new("state", Kind::Str)
        .choices(&["present", "absent"])
        .default(Lit::Str("present")),
    Opt::new("wait", Kind::Bool).default(Lit::Bool(true)),
    Opt::new("timeout", Kind::Int).default(Lit::Int(30)),
    Opt::new("ovsdb", Kind::Str).default(Lit::Str("unix:/var/run/openvswitch/db.sock")),
];

/// The module's argument spec; `plugins/modules/vhostuser_port.yml` documents it.
pub const SPEC: ArgSpec = ArgSpec::new(OPTIONS);

/// A unix socket path must fit `sun_path` with its terminating NUL.
const SUN_PATH: usize = 108;

#[derive(Debug, Deserialize)]
pub struct Params {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub server_path: Option<String>,
    pub socket_dir: String,
    pub bridge: Option<String>,
    pub state: State,
    pub wait: bool,
    pub timeout: i64,
    pub ovsdb: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Present,
    Absent,
}

pub(crate) const CLIENT: &str = "dpdkvhostuserclient";

/// The server path the interface should have: given, or `<socket_dir>/<name>`; none for
/// `dpdkvhostuser`, whose socket ovs-vswitchd creates in its own run directory.
fn wanted_server_path(params: &Params) -> Result<Option<String>, Failure> {
    if params.kind != CLIENT {
        if params.server_path.is_some() {
            return Err(Failure::new(format!(
                "server_path is only for type {CLIENT}; a dpdkvhostuser socket is created by \
                 ovs-vswitchd in its run directory (vhost-sock-dir)"
            )));
        }
        return Ok(None);
    }
    let path = match &params.server_path {
        Some(path) => path.clone(),
        None => Path::new(&params.socket_dir)
            .join(&params.name)
            .to_string_lossy()
            .into_owned(),
    };
    if !path.starts_with('/') {
        return Err(Failure::new(format!(
            "server_path '{path}' must be absolute"
        )));
    }
    if path.len() >= SUN_PATH {
        return Err(Failure::new(format!(
            "server_path '{path}' is {} bytes; a unix socket path must be shorter than {SUN_PATH} \
             bytes, so QEMU and ovs-vswitchd could never use it: choose a shorter socket_dir or name",
            path.len()
        )));
    }
    Ok(Some(path))
}

fn db_failure(e: &ovsdb::Error) -> Failure {
    Failure::new(e.to_string())
}

/// Runs the module as Ansible calls it: arguments in, one JSON result out.
#[must_use]
pub fn run_module() -> std::process::ExitCode {
    ansible_module::run(&SPEC, |params, ctx| ensure(&params, ctx))
}

/// The module: bring the interface to the wanted type and path, or remove it.
pub fn ensure(params: &Params, ctx: &mut Ctx) -> Result<ModuleResult, Failure> {
    name::check(&params.name)?;
    let server_path = wanted_server_path(params)?;
    let timeout = ansible_module::positive_seconds("timeout", params.timeout)?;
    let mut client = Client::connect(&params.ovsdb, timeout).map_err(|e| db_failure(&e))?;
    let mut result = ModuleResult::new(false);

    let (before, plan) = plan::plan_now(&mut client, params, server_path.as_deref())?;
    if let Plan::Nothing = plan {
        report(&mut result, before.as_ref(), None)?;
        return Ok(result);
    }
    if params.state == State::Present && !plan::is_delete(&plan) {
        warn_unsupported_type(&mut client, params, &mut result);
    }
    result.changed = true;
    result.diff.push(Diff {
        before: plan::diff_view(before.as_ref()),
        after: plan.diff_after(before.as_ref(), params, server_path.as_deref()),
        before_header: Some(format!("Interface {}", params.name)),
        after_header: Some(format!("Interface {}", params.name)),
    });
    if ctx.check_mode {
        result.msg = Some(format!(
            "interface {} would change: {}",
            params.name,
            plan.describe()
        ));
        report(&mut result, before.as_ref(), None)?;
        return Ok(result);
    }
    let outcome = apply::apply(
        &mut client,
        params,
        server_path.as_deref(),
        &plan,
        before.as_ref(),
        timeout,
    )?;
    let after = vhost_ports::find(&mut client, &params.name).map_err(|e| db_failure(&e))?;
    report(&mut result, after.as_ref(), outcome.not_applied.as_deref())?;
    result.changed = outcome.changed;
    result.msg = Some(outcome.summary);
    match outcome.not_applied {
        Some(why) => Err(Failure::with_result(why, result)),
        None => Ok(result),
    }
}

/// A type the running ovs-vswitchd cannot create ends up as an interface `error`; say so now.
fn warn_unsupported_type(client: &mut Client, params: &Params, result: &mut ModuleResult) {
    if let Ok(types) = vhost_ports::iface_types(client) {
        if !types.is_empty() && !types.contains(&params.kind) {
            result.warn(format!(
                "the running ovs-vswitchd does not offer interface type {} (iface_types: {}): DPDK is \
                 not initialised (other_config:dpdk-init) or this is not a DPDK build",
                params.kind,
                types.join(", ")
            ));
        }
    }
}

/// Puts the interface as it is now into the result, with a warning for an `error`.
fn report(
    result: &mut ModuleResult,
    located: Option<&vhost_ports::Located>,
    not_applied: Option<&str>,
) -> Result<(), Failure> {
    let view = located
        .map(vhost_ports::Located::view)
        .transpose()
        .map_err(|e| db_failure(&e))?;
    if let Some(error) = view.as_ref().and_then(|v| v.error.as_deref()) {
        if not_applied.is_none() {
            result.warn(format!(
                "ovs-vswitchd reports an error for this interface: {error}"
            ));
        }
    }
    result.set("interface", json!(view));
    Ok(())
}

#[cfg(test)]
#[path = "../../vhostuser/tests/support/ovsdb_server.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod ovsdb_server;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use ovsdb_server::OvsdbServer;
    use std::time::Duration;
    use vhostuser::ovsdb::{Condition, Datum, Mutation, Operation, Row};

    fn params(server: &OvsdbServer, kind: &str) -> Params {
        Params {
            name: "vhu1".into(),
            kind: kind.into(),
            server_path: None,
            socket_dir: "/var/lib/vhost_sockets".into(),
            bridge: Some("br-int".into()),
            state: State::Present,
            wait: false,
            timeout: 5,
            ovsdb: server.address(),
        }
    }

    /// Another writer changes the row between this module's read and its write: the guard
    /// refuses the write, and the retry works from the fresh row, keeping the other change.
    #[test]
    fn a_concurrent_writer_is_never_clobbered() {
        let server = OvsdbServer::start();
        let mut client = server.client();
        server.add_bridge("br-int");
        let legacy = params(&server, "dpdkvhostuser");
        let (before, plan) = plan::plan_now(&mut client, &legacy, None).unwrap();
        apply::apply(
            &mut client,
            &legacy,
            None,
            &plan,
            before.as_ref(),
            Duration::from_secs(5),
        )
        .unwrap();

        let wanted = params(&server, CLIENT);
        let path = Some("/var/lib/vhost_sockets/vhu1");
        let (before, plan) = plan::plan_now(&mut client, &wanted, path).unwrap();
        let theirs = Row::new().with("options", Datum::string_map([("n_rxq_desc", "1024")]));
        server.update_interface("vhu1", &theirs);

        let guarded = apply::run(
            &mut client,
            &wanted,
            path,
            &plan,
            before.as_ref(),
            Duration::from_secs(5),
        );
        assert!(
            matches!(guarded, Err(ref e) if e.is_conflict()),
            "{:?}",
            guarded.err()
        );
        let row = vhost_ports::find(&mut client, "vhu1")
            .unwrap()
            .unwrap()
            .interface;
        assert_eq!(
            row.string("type").unwrap(),
            "dpdkvhostuser",
            "nothing was written"
        );

        apply::apply(
            &mut client,
            &wanted,
            path,
            &plan,
            before.as_ref(),
            Duration::from_secs(5),
        )
        .unwrap();
        let options = vhost_ports::find(&mut client, "vhu1")
            .unwrap()
            .unwrap()
            .interface
            .string_map("options")
            .unwrap();
        assert_eq!(
            options["n_rxq_desc"], "1024",
            "the other writer's change survived"
        );
        assert_eq!(options["vhost-server-path"], "/var/lib/vhost_sockets/vhu1");
    }

    /// Another writer takes the port out of a mirror between this module's read and the
    /// removal: the guard refuses the removal, and the retry keeps that writer's change while
    /// the rest of the mirror follows the new port.
    #[test]
    fn a_reference_changed_meanwhile_is_never_restored_over_another_writer() {
        let server = OvsdbServer::start();
        let mut client = server.client();
        server.add_bridge("br-int");
        let mut wanted = params(&server, CLIENT);
        wanted.server_path = Some("/run/a/vhu1".into());
        let (before, plan) = plan::plan_now(&mut client, &wanted, Some("/run/a/vhu1")).unwrap();
        let quick = Duration::from_secs(1);
        apply::apply(
            &mut client,
            &wanted,
            Some("/run/a/vhu1"),
            &plan,
            before.as_ref(),
            quick,
        )
        .unwrap();
        let port_uuid = |client: &mut Client| {
            vhost_ports::find(client, "vhu1")
                .unwrap()
                .unwrap()
                .port
                .unwrap()
                .uuid()
                .unwrap()
                .clone()
        };
        let old = port_uuid(&mut client);
        let mirror = Row::new()
            .with("name", "m0")
            .with("select_src_port", &old)
            .with("select_dst_port", &old);
        client
            .transact(
                vhost_ports::DATABASE,
                &[
                    Operation::insert_named("Mirror", "m", &mirror),
                    Operation::mutate(
                        "Bridge",
                        &[Condition::eq("name", "br-int")],
                        &[Mutation::insert("mirrors", Datum::named_uuid("m"))],
                    ),
                ],
            )
            .unwrap();

        let path = Some("/run/b/vhu1");
        let (before, plan) = plan::plan_now(&mut client, &wanted, path).unwrap();
        let by_name = [Condition::eq("name", "m0")];
        let theirs = Row::new().with("select_src_port", Datum::empty());
        client
            .transact(
                vhost_ports::DATABASE,
                &[Operation::update("Mirror", &by_name, &theirs)],
            )
            .unwrap();
        let guarded = apply::run(&mut client, &wanted, path, &plan, before.as_ref(), quick);
        assert!(
            matches!(guarded, Err(ref e) if e.is_conflict()),
            "{:?}",
            guarded.err()
        );
        assert_eq!(port_uuid(&mut client), old, "nothing was written");

        // The retry reads again; without ovs-vswitchd the removal is never applied, which
        // is reported, not raised.
        apply::apply(&mut client, &wanted, path, &plan, before.as_ref(), quick).unwrap();
        let new = port_uuid(&mut client);
        assert_ne!(new, old);
        let select = Operation::select("Mirror", &by_name, &[]);
        let results = client.transact(vhost_ports::DATABASE, &[select]).unwrap();
        let mirror = &results[0].rows[0];
        assert!(mirror.uuid_set("select_src_port").unwrap().is_empty());
        assert_eq!(mirror.uuid_set("select_dst_port").unwrap(), [new]);
    }
}
