//! The `vhostuser_domain` binary that Ansible copies to the host and runs.

use std::process::ExitCode;

fn main() -> ExitCode {
    ansible_module::run(&vhostuser_domain::SPEC, |params, ctx| {
        vhostuser_domain::ensure(&params, ctx)
    })
}
