//! The `qemu_conf` binary that Ansible copies to the host and runs.

use std::process::ExitCode;

fn main() -> ExitCode {
    ansible_module::run(&qemu_conf::SPEC, |params, ctx| {
        qemu_conf::ensure(&params, ctx)
    })
}
