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
mod wanted;

use ansible_module::{ArgSpec, Ctx, Diff, Failure, Kind, Lit, ModuleResult, Opt};
use serde_json::json;
use vhostuser::OvsType;
use vhostuser::ovsdb::Client;
use vhostuser::vhost_ports;

use crate::plan::Plan;
use crate::wanted::{CLIENT, Wanted};

const OPTIONS: &[Opt] = &[
    Opt::new("name", Kind::Str).required(),
    Opt::new("type", Kind::Str)
        .choices(&[CLIENT.as_str(), OvsType::DpdkVhostUser.as_str()])
        .default(Lit::Str(CLIENT.as_str())),
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

pub use wanted::{Params, State};

/// Runs the module as Ansible calls it: arguments in, one JSON result out.
#[must_use]
pub fn run_module() -> std::process::ExitCode {
    ansible_module::run(&SPEC, |params, ctx| ensure(&params, ctx))
}

/// The module: bring the interface to the wanted type and path, or remove it.
pub fn ensure(params: &Params, ctx: &mut Ctx) -> Result<ModuleResult, Failure> {
    let wanted = Wanted::from_params(params)?;
    let wanted = &wanted;
    let mut client = Client::connect(&wanted.ovsdb, wanted.timeout)?;
    let mut result = ModuleResult::new(false);

    let (before, plan) = plan::plan_now(&mut client, wanted)?;
    if let Plan::Nothing = plan {
        report(&mut result, before.as_ref(), None)?;
        return Ok(result);
    }
    if wanted.state == State::Present && !plan::is_delete(&plan) {
        warn_unsupported_type(&mut client, wanted, &mut result);
    }
    result.changed = true;
    result.diff.push(Diff {
        before: plan::diff_view(before.as_ref()),
        after: plan.diff_after(before.as_ref(), wanted),
        before_header: Some(format!("Interface {}", wanted.name)),
        after_header: Some(format!("Interface {}", wanted.name)),
    });
    if ctx.check_mode {
        result.msg = Some(format!(
            "interface {} would change: {}",
            wanted.name,
            plan.describe()
        ));
        report(&mut result, before.as_ref(), None)?;
        return Ok(result);
    }
    let outcome = apply::apply(&mut client, wanted, &plan, before.as_ref())?;
    let after = vhost_ports::find(&mut client, &wanted.name)?;
    report(&mut result, after.as_ref(), outcome.not_applied.as_deref())?;
    result.changed = outcome.changed;
    result.msg = Some(outcome.summary);
    match outcome.not_applied {
        Some(why) => Err(Failure::with_result(why, result)),
        None => Ok(result),
    }
}

/// A type the running ovs-vswitchd cannot create ends up as an interface `error`; say so now.
fn warn_unsupported_type(client: &mut Client, wanted: &Wanted, result: &mut ModuleResult) {
    if let Ok(types) = vhost_ports::iface_types(client) {
        if !types.is_empty() && !types.iter().any(|t| wanted.kind == t.as_str()) {
            result.warn(format!(
                "the running ovs-vswitchd does not offer interface type {} (iface_types: {}): DPDK is \
                 not initialised (other_config:dpdk-init) or this is not a DPDK build",
                wanted.kind,
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
    let view = located.map(vhost_ports::Located::view).transpose()?;
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
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Duration;
    use test_support::ovsdb_server::OvsdbServer;
    use vhostuser::ovsdb::{Condition, Datum, Mutation, Operation, Row};

    fn params(server: &OvsdbServer, kind: OvsType) -> Params {
        Params {
            name: "vhu1".into(),
            kind,
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
        let legacy = Wanted::from_params(&params(&server, OvsType::DpdkVhostUser)).unwrap();
        let (before, plan) = plan::plan_now(&mut client, &legacy).unwrap();
        apply::apply(&mut client, &legacy, &plan, before.as_ref()).unwrap();

        let wanted = Wanted::from_params(&params(&server, CLIENT)).unwrap();
        assert_eq!(wanted.server_path(), Some("/var/lib/vhost_sockets/vhu1"));
        assert_eq!(wanted.timeout, Duration::from_secs(5));
        let (before, plan) = plan::plan_now(&mut client, &wanted).unwrap();
        let theirs = Row::new().with("options", Datum::string_map([("n_rxq_desc", "1024")]));
        server.update_interface("vhu1", &theirs);

        let guarded = apply::run(&mut client, &wanted, &plan, before.as_ref());
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

        apply::apply(&mut client, &wanted, &plan, before.as_ref()).unwrap();
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
        let mut raw = params(&server, CLIENT);
        raw.server_path = Some("/run/a/vhu1".into());
        let mut wanted = Wanted::from_params(&raw).unwrap();
        wanted.timeout = Duration::from_secs(1);
        let (before, plan) = plan::plan_now(&mut client, &wanted).unwrap();
        apply::apply(&mut client, &wanted, &plan, before.as_ref()).unwrap();
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

        wanted.server_path = Some("/run/b/vhu1".into());
        let (before, plan) = plan::plan_now(&mut client, &wanted).unwrap();
        let by_name = [Condition::eq("name", "m0")];
        let theirs = Row::new().with("select_src_port", Datum::empty());
        client
            .transact(
                vhost_ports::DATABASE,
                &[Operation::update("Mirror", &by_name, &theirs)],
            )
            .unwrap();
        let guarded = apply::run(&mut client, &wanted, &plan, before.as_ref());
        assert!(
            matches!(guarded, Err(ref e) if e.is_conflict()),
            "{:?}",
            guarded.err()
        );
        assert_eq!(port_uuid(&mut client), old, "nothing was written");

        // The retry reads again; without ovs-vswitchd the removal is never applied, which
        // is reported, not raised.
        apply::apply(&mut client, &wanted, &plan, before.as_ref()).unwrap();
        let new = port_uuid(&mut client);
        assert_ne!(new, old);
        let select = Operation::select("Mirror", &by_name, &[]);
        let results = client.transact(vhost_ports::DATABASE, &[select]).unwrap();
        let mirror = &results[0].rows[0];
        assert!(mirror.uuid_set("select_src_port").unwrap().is_empty());
        assert_eq!(mirror.uuid_set("select_dst_port").unwrap(), [new]);
    }
}
