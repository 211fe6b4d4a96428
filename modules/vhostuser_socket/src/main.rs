//! The `vhostuser_socket` binary that Ansible copies to the host and runs.

use std::process::ExitCode;

fn main() -> ExitCode {
    ansible_module::run(&vhostuser_socket::SPEC, |params, ctx| {
        vhostuser_socket::ensure(&params, ctx)
    })
}
