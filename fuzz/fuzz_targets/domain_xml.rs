//! Domain XML as virsh dumpxml gives it: any text parses or fails cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vhostuser::libvirt::parse_domain;

fuzz_target!(|data: &[u8]| {
    if let Ok(xml) = std::str::from_utf8(data) {
        if let Ok(domain) = parse_domain(xml) {
            let _ = format!("{domain:?}");
        }
    }
});
