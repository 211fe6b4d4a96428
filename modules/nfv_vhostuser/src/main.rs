//! The one binary the collection ships: every module shares the standard library, `serde_json`
//! and the protocol code, so one file holds them all for less than two of them apart, and a host
//! receives one file per collection version. `plugins/modules/<name>` are hard links of it; it runs
//! the module the task names (`_ansible_module_name`), else the one it is called by.

use std::process::ExitCode;

/// The modules this binary holds, by the name of their file in `plugins/modules/`.
const MODULES: [&str; 6] = [
    "ovs_user",
    "qemu_conf",
    "vhostuser_domain",
    "vhostuser_info",
    "vhostuser_port",
    "vhostuser_socket",
];

fn main() -> ExitCode {
    match ansible_module::invoked_module(&MODULES) {
        Some("ovs_user") => ovs_user::run_module(),
        Some("qemu_conf") => qemu_conf::run_module(),
        Some("vhostuser_domain") => vhostuser_domain::run_module(),
        Some("vhostuser_info") => vhostuser_info::run_module(),
        Some("vhostuser_port") => vhostuser_port::run_module(),
        Some("vhostuser_socket") => vhostuser_socket::run_module(),
        _ => ansible_module::unknown_module(&MODULES),
    }
}
