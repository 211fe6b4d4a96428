//! The catalogue kept honest by its tests: every check has a test that makes it report and one
//! that proves it stays silent, and every module, playbook or role a fix names is in the
//! collection.
//! Both read the check files' own source, so a new check without its two tests fails here.

use std::path::Path;

use super::catalogue::CATALOGUE;

/// Each check file, as compiled.
const SOURCES: &[(&str, &str)] = &[
    ("checks.rs", include_str!("../checks.rs")),
    ("accounts.rs", include_str!("accounts.rs")),
    ("domains.rs", include_str!("domains.rs")),
    ("ovs.rs", include_str!("ovs.rs")),
    ("pairs.rs", include_str!("pairs.rs")),
    ("paths.rs", include_str!("paths.rs")),
    ("processes.rs", include_str!("processes.rs")),
    ("qemu_conf.rs", include_str!("qemu_conf.rs")),
    ("sockets.rs", include_str!("sockets.rs")),
    ("sources.rs", include_str!("sources.rs")),
];

const TESTS_START: &str = "mod tests {";

/// The test modules of every check file, whitespace collapsed so a statement reads on one line.
fn test_code() -> String {
    let mut code = String::new();
    for (name, source) in SOURCES {
        let start = source
            .find(TESTS_START)
            .unwrap_or_else(|| panic!("{name} has no test module"));
        code.push_str(&source[start..]);
        code.push(' ');
    }
    code.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The product code of every check file (what builds the messages and fixes).
fn product_code() -> String {
    SOURCES
        .iter()
        .map(|(_, source)| source.split(TESTS_START).next().unwrap_or(source))
        .collect()
}

/// The statement around byte `at`: from the previous `;`, `{` or `}` to the next `;`.
fn statement(code: &str, at: usize) -> &str {
    let start = code[..at].rfind([';', '{', '}']).map_or(0, |i| i + 1);
    let end = code[at..].find(';').map_or(code.len(), |i| at + i);
    code[start..end].trim()
}

/// Whether one use of the id in a test asserts the check stays silent.
fn is_silent_assertion(statement: &str, token: &str) -> bool {
    statement.starts_with("assert!(!")
        || statement.contains(&format!("{token}).is_empty()"))
        || statement.contains(&format!("{token}) .is_empty()"))
}

#[test]
fn every_check_has_a_triggering_and_a_silent_test() {
    let code = test_code();
    let mut missing = Vec::new();
    for check in CATALOGUE {
        let token = format!("CheckId::{:?}", check.id);
        let (mut fires, mut silent) = (false, false);
        for (at, _) in code.match_indices(&token) {
            // `CheckId::SocketDir` must not count for `CheckId::SocketDirMode`.
            let next = code[at + token.len()..].chars().next();
            if next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let statement = statement(&code, at);
            if is_silent_assertion(statement, &token) {
                silent = true;
            } else {
                fires = true;
            }
        }
        if !fires || !silent {
            let mut lacks = Vec::new();
            if !fires {
                lacks.push("no test that triggers it");
            }
            if !silent {
                lacks.push("no test that it stays silent");
            }
            missing.push(format!("{}: {}", check.id, lacks.join(", ")));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn every_named_module_and_playbook_exists() {
    let collection = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let code = product_code();
    let mut named: Vec<&str> = code
        .match_indices("nfv.vhostuser.")
        .map(|(at, prefix)| {
            let rest = &code[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    named.sort_unstable();
    named.dedup();
    assert!(named.len() >= 5, "{named:?}");
    for name in named {
        let module = collection.join(format!("plugins/modules/{name}.yml"));
        let playbook = collection.join(format!("playbooks/{name}.yml"));
        let role = collection.join(format!("roles/{name}"));
        assert!(
            module.is_file() || playbook.is_file() || role.is_dir(),
            "a fix names nfv.vhostuser.{name}, which is no module, playbook or role"
        );
    }
}
