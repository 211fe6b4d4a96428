//! The sysconfig parser and editor: any bytes parse or fail cleanly; an edit reads back as
//! requested for sh (the parser) and for systemd (both of its readings), changes only the
//! key's lines, and a second run changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vhostuser::sysconfig::{self, systemd};

#[path = "common.rs"]
mod common;

const KEYS: [&str; 3] = ["OVS_USER_ID", "OPTIONS", "A"];

fuzz_target!(|data: &[u8]| {
    let (file, rest) = common::split(data);
    let Ok(parsed) = sysconfig::parse(file) else {
        return;
    };
    let key = KEYS[rest.first().map_or(0, |&b| usize::from(b) % KEYS.len())];
    let value = String::from_utf8_lossy(rest.get(1..).unwrap_or_default()).into_owned();
    let _ = parsed.get(key);
    let Ok(edited) = sysconfig::set(file, key, &value) else {
        return;
    };
    assert_eq!(edited.changed, edited.content != file);
    let reread = sysconfig::parse(&edited.content).expect("the edited file parses");
    assert_eq!(
        reread.get(key).map(|a| a.value.as_str()),
        Some(value.as_str())
    );
    for version in systemd::Systemd::ALL {
        let env = systemd::read(&edited.content, version)
            .environment()
            .expect("systemd reads the edited file");
        let got = env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        assert_eq!(got, Some(value.as_str()), "{version:?}");
    }
    common::only_its_lines_changed(file, &edited.content, key, common::Eol::Lf);
    let again = sysconfig::set(&edited.content, key, &value).expect("a second run succeeds");
    assert!(!again.changed);
    assert_eq!(again.content, edited.content);
});
