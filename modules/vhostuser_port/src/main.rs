//! The `vhostuser_port` binary that Ansible copies to the host and runs.

use std::process::ExitCode;

fn main() -> ExitCode {
    ansible_module::run(&vhostuser_port::SPEC, |params, ctx| {
        vhostuser_port::ensure(&params, ctx)
    })
}
