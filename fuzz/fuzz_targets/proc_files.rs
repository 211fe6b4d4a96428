//! What is read from /proc: a process's status, QEMU's command line (NUL-separated, as in
//! /proc/<pid>/cmdline) and the unix socket table. Any bytes parse or are skipped cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vhostuser::procfs::{Process, parse_status};
use vhostuser::qemu_procs::from_args;
use vhostuser::unix_sockets::parse_listening;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_status(1, &text);
    let _ = parse_listening(&text);
    let args: Vec<String> = data
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let process = Process {
        pid: 1,
        name: "qemu-kvm".to_owned(),
        uid: 107,
        gid: 107,
        groups: vec![],
    };
    let qemu = from_args(process, &args);
    // Every chardev found is one the arguments name (QEMU writes a comma in a value as ",,").
    for chardev in &qemu.vhost_user {
        let written = chardev.path.replace(',', ",,");
        assert!(args.iter().any(|a| a.contains(&written)), "{chardev:?}");
    }
});
