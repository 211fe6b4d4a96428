//! The `qemu_conf` binary on its own, as the module's tests run it; the collection ships the
//! multi-call binary `nfv_vhostuser`, which holds every module.

use std::process::ExitCode;

fn main() -> ExitCode {
    qemu_conf::run_module()
}
