//! The qemu.conf parser and editor: any bytes parse or fail cleanly; setting a key reads back
//! as requested, leaves every other setting as libvirt reads it (a statement may span lines, so
//! this is checked on the parsed file rather than line by line), and a second run changes
//! nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vhostuser::qemu_conf::{self, Desired, Value};

#[path = "common.rs"]
mod common;

use common::split;

const KEYS: [&str; 4] = ["group", "user", "vnc_listen", "cgroup_device_acl"];

fuzz_target!(|data: &[u8]| {
    let (file, rest) = split(data);
    let Ok(doc) = qemu_conf::parse(file) else {
        return;
    };
    let _ = doc.duplicates();
    let selector = rest.first().copied().unwrap_or(0);
    let key = KEYS[usize::from(selector) % KEYS.len()];
    let text = String::from_utf8_lossy(rest.get(1..).unwrap_or_default()).into_owned();
    let value = match selector / 16 % 3 {
        0 => Value::Str(text),
        1 => Value::Int(text.len() as i64 - 3),
        _ => Value::List(text.split(',').map(|s| Value::Str(s.to_owned())).collect()),
    };
    let changes = [(key.to_owned(), Desired::Present(value.clone()))];
    let Ok(applied) = qemu_conf::apply(file, &changes) else {
        return;
    };
    assert_eq!(applied.changed, applied.content != file);
    let reread = qemu_conf::parse(&applied.content).expect("the edited file parses");
    assert_eq!(reread.get(key), Some(&value));
    for entry in doc.entries().filter(|e| e.key != key) {
        assert_eq!(reread.get(&entry.key), doc.get(&entry.key), "{}", entry.key);
    }
    assert_eq!(
        reread.entries().filter(|e| e.key != key).count(),
        doc.entries().filter(|e| e.key != key).count()
    );
    let again = qemu_conf::apply(&applied.content, &changes).expect("a second run succeeds");
    assert!(!again.changed);
    assert_eq!(again.content, applied.content);
    // Removing it leaves no effective value, and keeps the other lines too.
    let removal = [(key.to_owned(), Desired::Absent)];
    if let Ok(removed) = qemu_conf::apply(&applied.content, &removal) {
        let reread = qemu_conf::parse(&removed.content).expect("the edited file parses");
        assert_eq!(reread.get(key), None);
    }
});
