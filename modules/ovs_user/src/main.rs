//! The `ovs_user` binary that Ansible copies to the host and runs.

use std::process::ExitCode;

fn main() -> ExitCode {
    ansible_module::run(&ovs_user::SPEC, |params, ctx| {
        ovs_user::ensure(&params, ctx)
    })
}
