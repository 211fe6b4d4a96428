//! The `vhostuser_info` binary on its own, as the module's tests run it; the collection ships the
//! multi-call binary `nfv_vhostuser`, which holds every module.

use std::process::ExitCode;

fn main() -> ExitCode {
    vhostuser_info::run_module()
}
