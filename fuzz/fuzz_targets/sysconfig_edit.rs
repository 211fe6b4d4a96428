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
    only_its_lines_changed(file, &edited.content, key);
    let again = sysconfig::set(&edited.content, key, &value).expect("a second run succeeds");
    assert!(!again.changed);
    assert_eq!(again.content, edited.content);
});

/// The lines of `text`, each without its line ending (LF, or CRLF): a last line gains one when
/// an edit adds a line after it.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// Panics unless every line of `before` that does not mention `key` is still in `after`, in
/// the same order: an edit of one key changes only that key's lines (and may add lines). Every
/// statement of a sysconfig file the editor accepts is one line.
fn only_its_lines_changed(before: &[u8], after: &[u8], key: &str) {
    let mentions = |line: &[u8]| line.windows(key.len()).any(|w| w == key.as_bytes());
    let mut rest = lines(after);
    for line in lines(before).filter(|l| !mentions(l)) {
        assert!(
            rest.any(|l| l == line),
            "line {:?} of the original is gone:\n{}\n---\n{}",
            String::from_utf8_lossy(line),
            String::from_utf8_lossy(before),
            String::from_utf8_lossy(after)
        );
    }
}
