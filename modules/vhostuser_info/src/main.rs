//! The `vhostuser_info` binary that Ansible copies to the host and runs.

use std::process::ExitCode;

fn main() -> ExitCode {
    ansible_module::run(&vhostuser_info::SPEC, |params, ctx| {
        vhostuser_info::ensure(&params, ctx)
    })
}
