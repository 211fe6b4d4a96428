//! The audit's fixes tell users to run `nfv.vhostuser.vhostuser_domain key=value ...`: every
//! key they name must be an option of this module.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

/// The `key=` words after each mention of the module in `text`, up to the first word that is
/// neither `key=value` nor a `{placeholder}` (whose options the check's own tests pin down).
fn keys_after_mentions(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for (at, _) in text.match_indices("nfv.vhostuser.vhostuser_domain ") {
        let rest = &text[at + "nfv.vhostuser.vhostuser_domain ".len()..];
        for word in rest.split_whitespace().filter(|w| *w != "\\") {
            if word.starts_with('{') && !word.contains('=') {
                continue;
            }
            let Some((key, _)) = word.split_once('=') else {
                break;
            };
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                break;
            }
            keys.push(key.to_owned());
        }
    }
    keys
}

#[test]
fn the_audit_names_only_options_this_module_has() {
    let checks = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vhostuser/src/audit/checks");
    let options: Vec<&str> = vhostuser_domain::SPEC
        .options
        .iter()
        .map(|o| o.name)
        .collect();
    let mut named = Vec::new();
    for entry in fs::read_dir(&checks).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        for key in keys_after_mentions(&text) {
            assert!(
                options.contains(&key.as_str()),
                "{} tells users to run vhostuser_domain with {key}=, which is not one of its \
                 options: {}",
                path.display(),
                options.join(", ")
            );
            named.push(key);
        }
    }
    for key in ["name", "mode", "path", "socket_dir", "restart"] {
        assert!(
            named.iter().any(|k| k == key),
            "no fix names {key}=: {named:?}"
        );
    }
}

#[test]
fn keys_are_read_across_line_continuations() {
    let text = r#""plain: nfv.vhostuser.vhostuser_domain {domain} mode=server \
             path={path} restart=true (or not)""#;
    assert_eq!(keys_after_mentions(text), ["mode", "path", "restart"]);
}
