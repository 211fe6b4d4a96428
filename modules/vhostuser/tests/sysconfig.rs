//! The sysconfig parser and editor against RHEL's stock `/etc/sysconfig/openvswitch` and the
//! shapes hand-edited files take.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use vhostuser::sysconfig::systemd::{self, Systemd};
use vhostuser::sysconfig::{Assignment, EditError, Edited, ParseError, parse, set};

const RHEL: &str = "rhel-openvswitch.sysconfig";
const KEY: &str = "OVS_USER_ID";
const HUGETLBFS: &str = "openvswitch:hugetlbfs";
const OPENVSWITCH: &str = "openvswitch:openvswitch";
const EXPORTED: &str = "the line was exported (systemd ignores export lines)";
const COMMENTED: &str = "the line had a trailing comment (systemd reads it as part of the value)";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sysconfig")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Sets `key`, then sets it again on the result and checks that the second run changes nothing:
/// every edit case goes through here.
fn set_twice(original: &[u8], key: &str, value: &str) -> Edited {
    let first = set(original, key, value).unwrap();
    let second = set(&first.content, key, value).unwrap();
    assert!(
        !second.changed,
        "second run changed:\n{}",
        String::from_utf8_lossy(&second.content)
    );
    assert_eq!(second.content, first.content);
    assert!(second.commented_duplicates.is_empty());
    assert_eq!(second.rewritten_for_systemd, None);
    assert_eq!(first.changed, first.content != original);
    if first.rewritten_for_systemd.is_some() {
        assert!(first.changed);
    }
    let effective = parse(&first.content).unwrap();
    assert_eq!(effective.get(key).map(|a| a.value.as_str()), Some(value));
    assert!(!effective.get(key).unwrap().exported);
    assert_eq!(
        systemd_value(&first.content, key).as_deref(),
        Some(value),
        "systemd reads:\n{}",
        text(&first.content)
    );
    // A real sh sourcing the file reads the value too, and every other variable as before.
    if let Some(before) = sh_reads(original) {
        let mut after = sh_reads(&first.content).expect("sh fails on the edited file");
        assert_eq!(
            after.remove(key.as_bytes()).as_deref(),
            Some(value.as_bytes()),
            "sh reads:\n{}",
            text(&first.content)
        );
        let mut before = before;
        before.remove(key.as_bytes());
        assert_eq!(after, before, "{}", text(&first.content));
    }
    first
}

/// Every variable a real `sh` has after sourcing `bytes` (with `set -a`, so that `env` lists
/// them all), or `None` when sourcing fails. The temporary directory's `PWD` is left out, and
/// so is one CR at the end of a value: sh reads a CRLF line's CR as part of the value, in every
/// line of such a file alike, where this module and systemd take it as the line ending.
fn sh_reads(bytes: &[u8]) -> Option<BTreeMap<Vec<u8>, Vec<u8>>> {
    let dir = tempfile_dir();
    let path = dir.join("openvswitch");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("sh")
        .args([
            "-c",
            "set -a; . \"$1\" >/dev/null 2>&1 || exit 3; env -0",
            "sh",
        ])
        .arg(&path)
        .env_clear()
        .current_dir(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    if !out.status.success() {
        return None;
    }
    Some(
        out.stdout
            .split(|&b| b == 0)
            .filter_map(|pair| {
                let eq = pair.iter().position(|&b| b == b'=')?;
                let value = &pair[eq + 1..];
                let value = value.strip_suffix(b"\r").unwrap_or(value);
                Some((pair[..eq].to_vec(), value.to_vec()))
            })
            .filter(|(name, _)| name != b"PWD")
            .collect(),
    )
}

fn tempfile_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sysconfig-sh-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What systemd's `EnvironmentFile=` gives, as RHEL 9's systemd 252 reads it (a backslash at
/// the end of a comment still continues it); `None` when systemd refuses the file.
fn systemd_env(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    systemd::read(bytes, Systemd::Before254).environment()
}

/// The value systemd gives the units for `key`; panics when systemd refuses the file.
fn systemd_value(bytes: &[u8], key: &str) -> Option<String> {
    let env = systemd_env(bytes).expect("systemd refuses the file");
    env.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// `original` with its one occurrence of `from` replaced by `to`.
fn replaced(original: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(original.to_vec()).unwrap();
    assert_eq!(text.matches(from).count(), 1, "{from:?}");
    text.replacen(from, to, 1).into_bytes()
}

fn assignment(key: &str, value: &str, line: usize, exported: bool) -> Assignment {
    Assignment {
        key: key.to_owned(),
        value: value.to_owned(),
        line,
        exported,
    }
}

fn value_of(bytes: &[u8], key: &str) -> Option<String> {
    parse(bytes).unwrap().get(key).map(|a| a.value.clone())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// RHEL's stock file

#[test]
fn rhel_stock_file_has_only_options_set() {
    let file = parse(&fixture(RHEL)).unwrap();
    assert_eq!(
        file.get("OPTIONS"),
        Some(&assignment("OPTIONS", "", 28, false))
    );
    assert_eq!(file.get(KEY), None);
    assert!(file.assignments(KEY).is_empty());
    assert!(file.unparsed_lines().is_empty());
}

#[test]
fn rhel_stock_template_is_replaced_as_the_rpm_post_scriptlet_does() {
    // The RPM's %post, on a DPDK build:
    //   sed -i 's@^#OVS_USER_ID="openvswitch:openvswitch"@OVS_USER_ID="openvswitch:hugetlbfs"@'
    let original = fixture(RHEL);
    let edited = set_twice(&original, KEY, HUGETLBFS);
    let expected = replaced(
        &original,
        "#OVS_USER_ID=\"openvswitch:openvswitch\"\n",
        "OVS_USER_ID=\"openvswitch:hugetlbfs\"\n",
    );
    assert_eq!(text(&edited.content), text(&expected));
    assert!(edited.changed);
    assert!(edited.commented_duplicates.is_empty());
    assert_eq!(
        parse(&edited.content).unwrap().get(KEY),
        Some(&assignment(KEY, HUGETLBFS, 31, false))
    );
}

#[test]
fn rhel_file_after_the_rpm_post_scriptlet_is_edited_in_place() {
    let installed = replaced(
        &fixture(RHEL),
        "#OVS_USER_ID=\"openvswitch:openvswitch\"",
        "OVS_USER_ID=\"openvswitch:hugetlbfs\"",
    );
    let same = set_twice(&installed, KEY, HUGETLBFS);
    assert!(!same.changed);
    assert_eq!(same.content, installed);
    let root = set_twice(&installed, KEY, "root:root");
    let expected = replaced(
        &installed,
        "OVS_USER_ID=\"openvswitch:hugetlbfs\"",
        "OVS_USER_ID=\"root:root\"",
    );
    assert_eq!(text(&root.content), text(&expected));
}

#[test]
fn rhel_stock_options_can_be_set_too() {
    let original = fixture(RHEL);
    let edited = set_twice(
        &original,
        "OPTIONS",
        "--ovs-vswitchd-options='-vconsole:dbg'",
    );
    let expected = replaced(
        &original,
        "OPTIONS=\"\"\n",
        "OPTIONS=\"--ovs-vswitchd-options='-vconsole:dbg'\"\n",
    );
    assert_eq!(text(&edited.content), text(&expected));
}

// ---------------------------------------------------------------------------------------------
// Shapes of hand-edited files

#[test]
fn unquoted_value_is_read_and_rewritten_double_quoted() {
    let original = fixture("unquoted-root.sysconfig");
    assert_eq!(value_of(&original, KEY).as_deref(), Some("root:root"));
    let edited = set_twice(&original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "# Set by hand: run the daemons as root\n\
         OPTIONS=\"\"\n\
         OVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
}

#[test]
fn a_value_already_right_is_left_as_written_whatever_its_quotes() {
    for (name, value) in [
        ("unquoted-root.sysconfig", "root:root"),
        ("single-quotes.sysconfig", OPENVSWITCH),
    ] {
        let original = fixture(name);
        let edited = set_twice(&original, KEY, value);
        assert!(!edited.changed, "{name}");
        assert_eq!(edited.content, original, "{name}");
        assert_eq!(edited.rewritten_for_systemd, None, "{name}");
    }
    let edited = set_twice(b"  OVS_USER_ID=\"a\"  \r\n", KEY, "a");
    assert!(!edited.changed);
}

#[test]
fn single_quotes() {
    let original = fixture("single-quotes.sysconfig");
    let file = parse(&original).unwrap();
    assert_eq!(
        file.get("OPTIONS"),
        Some(&assignment("OPTIONS", "", 1, false))
    );
    assert_eq!(
        file.get("DPDK_OPTIONS").map(|a| a.value.as_str()),
        Some("--dpdk -c 0x1 -n 4 --socket-mem 1024,0")
    );
    let edited = set_twice(&original, KEY, HUGETLBFS);
    let expected = replaced(
        &original,
        "OVS_USER_ID='openvswitch:openvswitch'",
        "OVS_USER_ID=\"openvswitch:hugetlbfs\"",
    );
    assert_eq!(text(&edited.content), text(&expected));
}

#[test]
fn export_is_dropped_and_leading_blanks_are_kept() {
    let original = fixture("export.sysconfig");
    let file = parse(&original).unwrap();
    assert_eq!(
        file.get(KEY),
        Some(&assignment(KEY, "openvswitch:openvswitch", 3, true))
    );
    assert_eq!(
        file.get("OPTIONS"),
        Some(&assignment("OPTIONS", "", 2, true))
    );
    // systemd never saw the exported line.
    assert_eq!(systemd_value(&original, KEY), None);
    let edited = set_twice(&original, KEY, HUGETLBFS);
    // Only the line of the key set is touched: OPTIONS stays exported.
    assert_eq!(
        text(&edited.content),
        "# Also sourced by the old init script, hence the exports.\n\
         export OPTIONS=\"\"\n  \
         OVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
    // The value changed anyway: no rewrite for systemd alone to report.
    assert_eq!(edited.rewritten_for_systemd, None);
}

#[test]
fn an_exported_line_with_the_right_value_is_rewritten_without_export() {
    let original = fixture("export.sysconfig");
    let edited = set_twice(&original, KEY, OPENVSWITCH);
    assert!(edited.changed);
    assert_eq!(edited.rewritten_for_systemd.as_deref(), Some(EXPORTED));
    assert!(edited.commented_duplicates.is_empty());
    let expected = replaced(
        &original,
        "  export OVS_USER_ID=openvswitch:openvswitch\n",
        "  OVS_USER_ID=\"openvswitch:openvswitch\"\n",
    );
    assert_eq!(text(&edited.content), text(&expected));
}

#[test]
fn duplicates_the_last_wins_and_earlier_ones_are_commented_out() {
    let original = fixture("duplicates.sysconfig");
    let file = parse(&original).unwrap();
    assert_eq!(
        file.get(KEY),
        Some(&assignment(KEY, "openvswitch:openvswitch", 7, false))
    );
    assert_eq!(
        file.assignments(KEY),
        [
            &assignment(KEY, HUGETLBFS, 4, false),
            &assignment(KEY, "openvswitch:openvswitch", 7, false)
        ]
    );
    let edited = set_twice(&original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OPTIONS=\"\"\n\
         \n\
         # Uncomment and set the OVS User/Group value\n\
         #OVS_USER_ID=\"openvswitch:hugetlbfs\"\n\
         \n\
         # added for the DPDK rollout\n\
         OVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
    assert_eq!(edited.commented_duplicates, [4]);
}

#[test]
fn commenting_out_a_duplicate_is_a_change_even_when_the_last_is_right() {
    let original = fixture("duplicates.sysconfig");
    let edited = set_twice(&original, KEY, "openvswitch:openvswitch");
    assert!(edited.changed);
    assert_eq!(edited.commented_duplicates, [4]);
    let expected = replaced(
        &original,
        "\nOVS_USER_ID=\"openvswitch:hugetlbfs\"",
        "\n#OVS_USER_ID=\"openvswitch:hugetlbfs\"",
    );
    assert_eq!(text(&edited.content), text(&expected));
}

#[test]
fn three_assignments_in_mixed_forms() {
    let original = b"OVS_USER_ID=a\n  export OVS_USER_ID='b' # old\nOVS_USER_ID=\"c\"\n";
    let edited = set_twice(original, KEY, "d");
    assert_eq!(
        text(&edited.content),
        "#OVS_USER_ID=a\n#  export OVS_USER_ID='b' # old\nOVS_USER_ID=\"d\"\n"
    );
    assert_eq!(edited.commented_duplicates, [1, 2]);
}

#[test]
fn crlf_file_gets_a_crlf_line() {
    let original = fixture("crlf.sysconfig");
    assert_eq!(
        value_of(&original, "DPDK_OPTIONS").as_deref(),
        Some("-l 1 -n 4")
    );
    let edited = set_twice(&original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "# Edited on a Windows desktop\r\n\
         OPTIONS=\"\"\r\n\
         DPDK_OPTIONS=\"-l 1 -n 4\"\r\n\
         OVS_USER_ID=\"openvswitch:hugetlbfs\"\r\n"
    );
    let rewritten = set_twice(&edited.content, KEY, "root:root");
    assert_eq!(
        text(&rewritten.content),
        text(&edited.content).replace(HUGETLBFS, "root:root")
    );
}

#[test]
fn crlf_template_keeps_its_line_ending() {
    let original = text(&fixture(RHEL)).replace('\n', "\r\n").into_bytes();
    let edited = set_twice(&original, KEY, HUGETLBFS);
    let expected = replaced(
        &original,
        "#OVS_USER_ID=\"openvswitch:openvswitch\"\r\n",
        "OVS_USER_ID=\"openvswitch:hugetlbfs\"\r\n",
    );
    assert_eq!(text(&edited.content), text(&expected));
}

#[test]
fn no_final_newline_gets_one_before_the_new_line() {
    let original = fixture("no-final-newline.sysconfig");
    assert_eq!(
        value_of(&original, "DPDK_OPTIONS").as_deref(),
        Some("--socket-mem 1024")
    );
    let edited = set_twice(&original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OPTIONS=\"\"\nDPDK_OPTIONS=\"--socket-mem 1024\"\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
}

#[test]
fn no_final_newline_after_the_edited_line_stays_so() {
    let edited = set_twice(b"OPTIONS=\"\"\nOVS_USER_ID=root:root", KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OPTIONS=\"\"\nOVS_USER_ID=\"openvswitch:hugetlbfs\""
    );
    let edited = set_twice(b"OPTIONS=\"\"\r\n#OVS_USER_ID=x\r", KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OPTIONS=\"\"\r\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\r"
    );
}

#[test]
fn a_final_lone_cr_is_completed_into_a_crlf() {
    let edited = set_twice(b"OPTIONS=\"\"\r\nDPDK_OPTIONS=x\r", KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OPTIONS=\"\"\r\nDPDK_OPTIONS=x\r\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\r\n"
    );
}

#[test]
fn empty_file_gets_one_line() {
    let edited = set_twice(b"", KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
    let edited = set_twice(b"\n", KEY, "");
    assert_eq!(text(&edited.content), "\nOVS_USER_ID=\"\"\n");
}

#[test]
fn non_utf8_comments_survive_byte_for_byte() {
    let original = fixture("non-utf8.sysconfig");
    let edited = set_twice(&original, KEY, HUGETLBFS);
    let mut expected = original.clone();
    let template = b"#OVS_USER_ID=\"openvswitch:openvswitch\"";
    let at = original
        .windows(template.len())
        .position(|w| w == template)
        .unwrap();
    expected.splice(
        at..at + template.len(),
        b"OVS_USER_ID=\"openvswitch:hugetlbfs\"".iter().copied(),
    );
    assert_eq!(edited.content, expected);
    assert!(
        edited
            .content
            .starts_with(b"# Konfiguration f\xfcr Open vSwitch")
    );
}

#[test]
fn non_utf8_values_read_lossily_and_are_compared_as_bytes() {
    let original = b"OVS_USER_ID=\"gr\xfcppe\"\n";
    assert_eq!(value_of(original, KEY).as_deref(), Some("gr\u{FFFD}ppe"));
    // systemd refuses the whole file for it.
    assert_eq!(systemd_env(original), None);
    // The lossy text is not what the file holds, so setting it rewrites the value.
    let edited = set_twice(original, KEY, "gr\u{FFFD}ppe");
    assert!(edited.changed);
    assert_eq!(edited.rewritten_for_systemd, None);
    assert_eq!(text(&edited.content), "OVS_USER_ID=\"gr\u{FFFD}ppe\"\n");
}

#[test]
fn a_non_utf8_effective_value_is_rewritten_and_systemd_reads_the_file_again() {
    let original = b"# f\xfcr DPDK\nexport OVS_USER_ID=gr\xfcppe # Gro\xdf\nOPTIONS=\"\"\n";
    assert_eq!(systemd_env(original), None);
    let edited = set_twice(original, KEY, "openvswitch:gr\u{fc}ppe");
    assert_eq!(edited.rewritten_for_systemd, None);
    assert_eq!(
        edited.content,
        b"# f\xfcr DPDK\n# Gro\xdf\nOVS_USER_ID=\"openvswitch:gr\xc3\xbcppe\"\nOPTIONS=\"\"\n"
    );
    // A comment that is not UTF-8 on the right value moves above byte for byte.
    let original = b"OVS_USER_ID=\"a:b\" # f\xfcr DPDK\n";
    assert_eq!(systemd_env(original), None);
    let edited = set_twice(original, KEY, "a:b");
    assert_eq!(edited.rewritten_for_systemd.as_deref(), Some(COMMENTED));
    assert_eq!(edited.content, b"# f\xfcr DPDK\nOVS_USER_ID=\"a:b\"\n");
    // Shadowed assignments that are not UTF-8 are commented out.
    let edited = set_twice(b"OVS_USER_ID=\xfc\nOVS_USER_ID=a:b\n", KEY, "a:b");
    assert_eq!(edited.commented_duplicates, [1]);
    assert_eq!(edited.content, b"#OVS_USER_ID=\xfc\nOVS_USER_ID=a:b\n");
}

#[test]
fn another_line_that_makes_systemd_refuse_the_file_is_not_edited_around() {
    for original in [
        &b"OPTIONS=\"\" # f\xfcr DPDK\nOVS_USER_ID=a:b\n"[..],
        b"OPTIONS=\"\"\nDPDK_OPTIONS = \xfc\n#OVS_USER_ID=a:b\n",
        b"export OPTIONS=\xfc\n",
    ] {
        assert_eq!(systemd_env(original), None);
        match set(original, KEY, "a:b") {
            Err(EditError::UnsafeValue { key, reason }) => {
                assert_eq!(key, KEY);
                assert!(
                    reason.ends_with(
                        "holds bytes that are not UTF-8 where systemd reads a variable, so \
                         systemd refuses the whole file (a unit that loads it with \
                         EnvironmentFile=- starts without any of its settings); fix that line \
                         by hand"
                    ),
                    "{reason}"
                );
                assert!(reason.starts_with("line "), "{reason}");
            }
            other => panic!("{}: {other:?}", text(original)),
        }
    }
    let error = set(b"A=1\nOPTIONS=\xfc\n", KEY, "a:b").unwrap_err();
    assert!(
        error.to_string().contains(": line 2 holds bytes"),
        "{error}"
    );
}

#[test]
fn the_systemd_reader_of_these_tests_has_systemds_quirks() {
    let env = |bytes: &[u8]| systemd_env(bytes).unwrap();
    let pairs = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(env(b"export A=1\nB=2\n"), pairs(&[("B", "2")]));
    assert_eq!(
        env(b"A=\"a\" # n\nB=b  # n \nC='c'#n\n"),
        pairs(&[("A", "a# n"), ("B", "b  # n"), ("C", "c#n")])
    );
    assert_eq!(env(b"  A = 1 \r\nA\t=\t2"), pairs(&[("A", "2")]));
    assert_eq!(
        env(b"A=\"x\\\"\\$\\n\"\nB=a\\ b\\\nc\n"),
        pairs(&[("A", "x\"$\\n"), ("B", "a bc")])
    );
    // Before v254 a comment continues past a backslash at its end.
    assert_eq!(env(b"# a \\\nA=1\nB=2\n"), pairs(&[("B", "2")]));
    assert_eq!(env(b"; a\nA=\n"), pairs(&[("A", "")]));
    assert_eq!(
        systemd_env(b"# \xfc\nA=1\nno equals sign \xfc\n").map(|e| e.len()),
        Some(1)
    );
    assert_eq!(systemd_env(b"A=1\nB=\xfc\n"), None);
}

#[test]
fn trailing_comment_moves_to_its_own_line_above() {
    let original = fixture("trailing-comment.sysconfig");
    let file = parse(&original).unwrap();
    assert_eq!(file.get("OPTIONS").map(|a| a.value.as_str()), Some(""));
    assert_eq!(file.get(KEY).map(|a| a.value.as_str()), Some(OPENVSWITCH));
    // What systemd reads instead; OPTIONS is not the key set, so it stays as it is.
    assert_eq!(
        systemd_value(&original, KEY).as_deref(),
        Some("openvswitch:openvswitch  # hugetlbfs is needed for DPDK")
    );
    assert_eq!(
        systemd_value(&original, "OPTIONS").as_deref(),
        Some("# nothing extra")
    );
    let edited = set_twice(&original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OPTIONS=\"\" # nothing extra\n\
         # hugetlbfs is needed for DPDK\n\
         OVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
    assert_eq!(edited.rewritten_for_systemd, None);
}

#[test]
fn a_trailing_comment_on_the_right_value_moves_above_and_leaves_a_clean_line() {
    let original = fixture("trailing-comment.sysconfig");
    let edited = set_twice(&original, KEY, OPENVSWITCH);
    assert!(edited.changed);
    assert_eq!(edited.rewritten_for_systemd.as_deref(), Some(COMMENTED));
    assert_eq!(
        text(&edited.content),
        "OPTIONS=\"\" # nothing extra\n\
         # hugetlbfs is needed for DPDK\n\
         OVS_USER_ID=\"openvswitch:openvswitch\"\n"
    );
}

#[test]
fn crlf_trailing_comment_moves_above_with_a_crlf() {
    let original = text(&fixture("trailing-comment.sysconfig"))
        .replace('\n', "\r\n")
        .into_bytes();
    let expected = |value: &str| {
        format!(
            "OPTIONS=\"\" # nothing extra\r\n\
             # hugetlbfs is needed for DPDK\r\n\
             OVS_USER_ID=\"{value}\"\r\n"
        )
    };
    let same = set_twice(&original, KEY, OPENVSWITCH);
    assert_eq!(same.rewritten_for_systemd.as_deref(), Some(COMMENTED));
    assert_eq!(text(&same.content), expected(OPENVSWITCH));
    let other = set_twice(&original, KEY, HUGETLBFS);
    assert_eq!(other.rewritten_for_systemd, None);
    assert_eq!(text(&other.content), expected(HUGETLBFS));
    // The file's line ending, also on a last line that has none, or only a CR.
    let edited = set_twice(b"A=1\r\nOVS_USER_ID=x # n", KEY, "x");
    assert_eq!(text(&edited.content), "A=1\r\n# n\r\nOVS_USER_ID=\"x\"");
    let edited = set_twice(b"A=1\r\nOVS_USER_ID=x # n\r", KEY, "x");
    assert_eq!(text(&edited.content), "A=1\r\n# n\r\nOVS_USER_ID=\"x\"\r");
}

#[test]
fn an_exported_indented_line_with_a_comment_is_rewritten_whole() {
    let original =
        b"OPTIONS=\"\"\n\t export OVS_USER_ID='openvswitch:openvswitch'  #  was root  \n";
    let edited = set_twice(original, KEY, OPENVSWITCH);
    assert_eq!(
        edited.rewritten_for_systemd.as_deref(),
        Some(
            "the line was exported (systemd ignores export lines) and had a trailing comment \
             (systemd reads it as part of the value)"
        )
    );
    // The comment keeps its text and trailing blanks, and the line's indentation.
    assert_eq!(
        text(&edited.content),
        "OPTIONS=\"\"\n\t #  was root  \n\t OVS_USER_ID=\"openvswitch:openvswitch\"\n"
    );
    // An empty value with a comment: systemd reads the comment as the value.
    let original = b"OVS_USER_ID= # unset\n";
    assert_eq!(systemd_value(original, KEY).as_deref(), Some("# unset"));
    let edited = set_twice(original, KEY, "");
    assert_eq!(edited.rewritten_for_systemd.as_deref(), Some(COMMENTED));
    assert_eq!(text(&edited.content), "# unset\nOVS_USER_ID=\"\"\n");
}

#[test]
fn duplicates_and_a_misread_last_line_are_fixed_together() {
    let original = b"export OVS_USER_ID=root:root # old\nOVS_USER_ID=a:b # new\n";
    let edited = set_twice(original, KEY, "a:b");
    assert_eq!(edited.commented_duplicates, [1]);
    assert_eq!(edited.rewritten_for_systemd.as_deref(), Some(COMMENTED));
    assert_eq!(
        text(&edited.content),
        "#export OVS_USER_ID=root:root # old\n# new\nOVS_USER_ID=\"a:b\"\n"
    );
}

#[test]
fn a_trailing_comment_that_ends_with_a_backslash_is_not_moved() {
    // systemd before v254 would continue the moved comment onto the assignment below it.
    for original in [
        &b"OVS_USER_ID=\"a:b\" # see \\\nOPTIONS=\"\"\n"[..],
        b"OVS_USER_ID=x # \\\\\\\nOVS_USER_ID=\"a:b\"\n",
    ] {
        match set(original, KEY, "a:b") {
            Err(EditError::UnsafeValue { key, reason }) => {
                assert_eq!(key, KEY);
                assert_eq!(
                    reason,
                    "the comment at the end of line 1 ends with a backslash, which systemd \
                     reads as continuing onto the next line (before v254 even from a comment \
                     line); remove the backslash by hand"
                );
            }
            other => panic!("{}: {other:?}", text(original)),
        }
    }
    // An escaped backslash does not continue the line, and neither does one before a blank.
    for (original, comment) in [
        (&b"OVS_USER_ID=x # a\\\\\n"[..], "# a\\\\"),
        (b"OVS_USER_ID=x # a\\ \n", "# a\\ "),
    ] {
        let edited = set_twice(original, KEY, "x");
        assert_eq!(
            text(&edited.content),
            format!("{comment}\nOVS_USER_ID=\"x\"\n")
        );
    }
}

#[test]
fn blanks_around_equals_is_reported_not_read() {
    let original = fixture("blanks-around-equals.sysconfig");
    let file = parse(&original).unwrap();
    assert_eq!(file.get(KEY), None);
    assert_eq!(file.unparsed_lines(), [2]);
    // The line is left for a person to judge; the new assignment comes last, so it wins.
    let edited = set_twice(&original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OPTIONS=\"\"\nOVS_USER_ID = openvswitch:hugetlbfs\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
    assert_eq!(parse(&edited.content).unwrap().unparsed_lines(), [2]);
}

#[test]
fn a_line_systemd_reads_below_the_template_sends_the_new_line_to_the_end() {
    // systemd takes `OVS_USER_ID = root:root` as an assignment: the new line must come after it.
    let original =
        b"#OVS_USER_ID=\"openvswitch:openvswitch\"\nOVS_USER_ID = root:root\nOPTIONS=\"\"\n";
    let edited = set_twice(original, KEY, HUGETLBFS);
    let mut expected = original.to_vec();
    expected.extend_from_slice(b"OVS_USER_ID=\"openvswitch:hugetlbfs\"\n");
    assert_eq!(text(&edited.content), text(&expected));
    // Above the template it is overridden anyway.
    let original = b"OVS_USER_ID = root:root\n#OVS_USER_ID=\"openvswitch:openvswitch\"\n";
    let edited = set_twice(original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OVS_USER_ID = root:root\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
}

#[test]
fn an_assignment_that_systemd_overrides_is_not_edited() {
    for value in [HUGETLBFS, "root:root"] {
        let original = b"OVS_USER_ID=root:root\nOVS_USER_ID = openvswitch:openvswitch\n";
        match set(original, KEY, value) {
            Err(EditError::UnsafeValue { key, reason }) => {
                assert_eq!(key, KEY);
                assert_eq!(
                    reason,
                    "line 2 is not a shell assignment, but systemd reads it as one that \
                     overrides OVS_USER_ID on line 1; fix or remove it by hand"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // Above the assignment it is overridden for both readers.
    let original = b"OVS_USER_ID = openvswitch:openvswitch\nOVS_USER_ID=root:root\n";
    let edited = set_twice(original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OVS_USER_ID = openvswitch:openvswitch\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
}

#[test]
fn other_unparsed_lines_are_listed() {
    let file = parse(
        b"ulimit -n 2048\n[service]\nexport OVS_USER_ID\nOVS_USER_ID=it's\nOK=1\nA= b\nB=\"x\"y\n",
    )
    .unwrap();
    assert_eq!(file.unparsed_lines(), [1, 2, 3, 4, 6, 7]);
    assert_eq!(file.get("OK").map(|a| a.value.as_str()), Some("1"));
    assert_eq!(file.get(KEY), None);
}

#[test]
fn semicolon_comments_are_not_templates() {
    let original = b";OVS_USER_ID=\"openvswitch:openvswitch\"\n";
    assert_eq!(parse(original).unwrap().get(KEY), None);
    let edited = set_twice(original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        ";OVS_USER_ID=\"openvswitch:openvswitch\"\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
}

#[test]
fn the_last_of_several_templates_is_replaced() {
    let original = b"#OVS_USER_ID=root:root\n  # OVS_USER_ID=\"a:b\" # example\nOPTIONS=\"\"\n";
    let edited = set_twice(original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "#OVS_USER_ID=root:root\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\nOPTIONS=\"\"\n"
    );
}

#[test]
fn a_template_is_left_alone_when_the_key_is_assigned() {
    let original = b"#OVS_USER_ID=\"openvswitch:openvswitch\"\nOVS_USER_ID=root:root\n";
    let edited = set_twice(original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "#OVS_USER_ID=\"openvswitch:openvswitch\"\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
}

#[test]
fn prose_that_names_the_key_is_not_a_template() {
    let original = b"# OVS_USER_ID is user:group\n# OVS_USER_ID = a:b\n";
    let edited = set_twice(original, KEY, HUGETLBFS);
    let mut expected = original.to_vec();
    expected.extend_from_slice(b"OVS_USER_ID=\"openvswitch:hugetlbfs\"\n");
    assert_eq!(text(&edited.content), text(&expected));
}

#[test]
fn values_with_blanks_and_escapes() {
    let file = parse(
        b"A=\"x \\\"y\\\" \\$HOME \\\\ \\n\"\nB='a \\ b'\nC=a b   # c\nD=a\\ b\nE=\nF=\"\" # none\n",
    )
    .unwrap();
    let value = |k: &str| file.get(k).unwrap().value.clone();
    assert_eq!(value("A"), "x \"y\" $HOME \\ \\n");
    assert_eq!(value("B"), "a \\ b");
    assert_eq!(value("C"), "a b");
    assert_eq!(value("D"), "a b");
    assert_eq!(value("E"), "");
    assert_eq!(value("F"), "");
    // A value written with escapes is replaced whole.
    let edited = set_twice(b"A=\"x \\\"y\\\"\" # c\n", "A", "z");
    assert_eq!(text(&edited.content), "# c\nA=\"z\"\n");
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn unterminated_quote_is_an_error_at_the_quote() {
    let original = fixture("bad-unterminated-quote.sysconfig");
    let error = parse(&original).unwrap_err();
    assert_eq!((error.line, error.column), (2, 13));
    assert_eq!(
        error.to_string(),
        "line 2, column 13: unterminated double quote: sh and systemd would read the next \
         lines into the value; close the quote on this line"
    );
    assert_eq!(set(&original, KEY, HUGETLBFS), Err(EditError::Parse(error)));
}

#[test]
fn other_parse_errors_in_place() {
    let cases: &[(&[u8], usize, usize, &str)] = &[
        (b"A=1\n  export B='x\n", 2, 12, "unterminated single quote"),
        (b"A=\"x\\\n\"\n", 1, 3, "unterminated double quote"),
        (b"A=x \\\nB=1\n", 1, 5, "a backslash at the end of the line"),
        ("# é\r\nÉ=1\r\n  A=é\\\r\n".as_bytes(), 3, 6, "a backslash"),
        (
            b"# \xfc\nA=\xfc\xfc'\xfc\nB=\xfc\xfc\\",
            3,
            5,
            "a backslash",
        ),
    ];
    for &(input, line, column, start) in cases {
        let error: ParseError = parse(input).unwrap_err();
        assert_eq!(
            (error.line, error.column),
            (line, column),
            "{}",
            text(input)
        );
        assert!(error.message.starts_with(start), "{}", error.message);
    }
}

#[test]
fn unsafe_values_are_refused_with_the_reason() {
    let original = fixture(RHEL);
    for (value, shown, reason) in [
        ("openvswitch:\"x", r#"'openvswitch:"x'"#, "a double quote"),
        ("a\\b", r"'a\\b'", "a backslash"),
        ("$(id -un):x", "'$(id -un):x'", "a dollar sign"),
        ("`id -un`:x", "'`id -un`:x'", "a backquote"),
        ("a\nOPTIONS=x", r"'a\nOPTIONS=x'", "a line break"),
        ("a\r", r"'a\r'", "a line break"),
        ("a\0b", r"'a\0b'", "a NUL byte"),
    ] {
        match set(&original, KEY, value) {
            Err(EditError::UnsafeValue { key, reason: got }) => {
                assert_eq!(key, KEY);
                assert!(
                    got.starts_with(&format!("the value {shown} contains {reason}")),
                    "{got}"
                );
            }
            other => panic!("{value:?}: {other:?}"),
        }
    }
}

#[test]
fn unsafe_value_message_in_full() {
    let error = set(&fixture(RHEL), KEY, "$(id -un):hugetlbfs").unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot write 'OVS_USER_ID' safely, so nothing was changed: the value \
         '$(id -un):hugetlbfs' contains a dollar sign ($), which starts an expansion when sh \
         sources the file; this editor writes values without escapes"
    );
}

#[test]
fn invalid_keys_are_refused() {
    for key in [
        "",
        "1OVS",
        "OVS-USER",
        "OVS USER",
        "export OVS_USER_ID",
        "OVS=x",
        "ÜSER",
    ] {
        assert_eq!(
            set(b"", key, "x"),
            Err(EditError::InvalidKey(key.to_owned())),
            "{key:?}"
        );
    }
    assert!(
        EditError::InvalidKey("1OVS".into())
            .to_string()
            .starts_with("'1OVS' is not a valid variable name")
    );
}

#[test]
fn assignments_serialize_for_ansible_results() {
    let file = parse(&fixture("export.sysconfig")).unwrap();
    assert_eq!(
        serde_json::to_value(file.get(KEY).unwrap()).unwrap(),
        serde_json::json!({
            "key": "OVS_USER_ID",
            "value": "openvswitch:openvswitch",
            "line": 3,
            "exported": true
        })
    );
    let error = parse(b"A='").unwrap_err();
    assert_eq!(
        serde_json::to_value(&error).unwrap()["column"],
        serde_json::json!(3)
    );
}

// ---------------------------------------------------------------------------------------------
// Lines that run on into the next one

#[test]
fn a_comment_continued_onto_the_template_gets_a_blank_line_between() {
    // systemd 252 reads the template line as more of the comment above it, so an assignment
    // put there would be lost.
    let original =
        b"# e.g. OPTIONS=\"--foo \\\n#OVS_USER_ID=\"openvswitch:openvswitch\"\nOPTIONS=\"\"\n";
    let edited = set_twice(original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "# e.g. OPTIONS=\"--foo \\\n\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\nOPTIONS=\"\"\n"
    );
    assert_eq!(edited.rewritten_for_systemd, None);
}

#[test]
fn a_value_continued_onto_the_end_gets_a_blank_line_before_the_new_one() {
    // systemd reads `--pidfile# keep ` (its comment is part of the value, and the backslash
    // joins the next line): appended right below, the new line would become part of OPTIONS.
    for original in [
        &b"OPTIONS=\"--pidfile\" # keep \\\n"[..],
        b"OPTIONS=\"--pidfile\" # keep \\",
    ] {
        let before = systemd_value(original, "OPTIONS");
        assert_eq!(before.as_deref(), Some("--pidfile# keep "));
        let edited = set_twice(original, KEY, HUGETLBFS);
        assert_eq!(
            text(&edited.content),
            "OPTIONS=\"--pidfile\" # keep \\\n\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
        );
        assert_eq!(systemd_value(&edited.content, "OPTIONS"), before);
    }
}

#[test]
fn an_assignment_hidden_by_a_continued_comment_is_separated_from_it() {
    let original = b"# see the manual \\\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n";
    // systemd 252 never saw it; sh did.
    assert_eq!(systemd_value(original, KEY), None);
    let edited = set_twice(original, KEY, HUGETLBFS);
    assert!(edited.changed);
    assert_eq!(
        edited.rewritten_for_systemd.as_deref(),
        Some(
            "the line above it ended with a backslash, which systemd read as continuing onto \
             it (a blank line now separates them)"
        )
    );
    assert_eq!(
        text(&edited.content),
        "# see the manual \\\n\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
    let edited = set_twice(original, KEY, "root:root");
    assert_eq!(
        text(&edited.content),
        "# see the manual \\\n\nOVS_USER_ID=\"root:root\"\n"
    );
}

#[test]
fn an_assignment_inside_another_value_for_systemd_is_refused_with_the_line() {
    // systemd reads one variable, OPTIONS, from both lines: no edit keeps OPTIONS as it is.
    let original = b"OPTIONS=\"--pidfile\" # keep \\\nOVS_USER_ID=\"root:root\"\n";
    assert_eq!(
        systemd_value(original, "OPTIONS").as_deref(),
        Some("--pidfile# keep OVS_USER_ID=\"root:root\"")
    );
    match set(original, KEY, HUGETLBFS) {
        Err(EditError::UnsafeValue { key, reason }) => {
            assert_eq!(key, KEY);
            assert_eq!(
                reason,
                "line 1 ends with a backslash, which systemd reads as continuing onto line 2, \
                 where OVS_USER_ID is set, and a blank line between them would change what line \
                 1 means (systemd before v254 would read OPTIONS differently); remove the \
                 backslash by hand"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_command_continued_for_sh_hides_the_next_line() {
    // sh runs `ulimit -n 2048 OVS_USER_ID=root:root`: the second line assigns nothing.
    let original = b"ulimit -S -n 2048 \\\nOVS_USER_ID=root:root\n";
    let file = parse(original).unwrap();
    assert_eq!(file.get(KEY), None);
    assert_eq!(file.unparsed_lines(), [1, 2]);
    // At the end of the file, the appended line is kept apart from it.
    let original = b"OPTIONS=\"\"\nulimit -S -n 2048 \\\n";
    let edited = set_twice(original, KEY, HUGETLBFS);
    assert_eq!(
        text(&edited.content),
        "OPTIONS=\"\"\nulimit -S -n 2048 \\\n\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n"
    );
}

#[test]
fn every_edit_reads_alike_for_real_sh_and_systemd() {
    // The RHEL file with a continued comment in each place an edit can go.
    let stock = text(&fixture(RHEL));
    let shapes = [
        stock.replace("#OVS_USER_ID", "# a \\\n#OVS_USER_ID"),
        stock.replace("OPTIONS=\"\"", "OPTIONS=\"\" # \\"),
        format!("{stock}# trailing \\"),
        format!("{stock}OVS_USER_ID=root:root # old\n"),
        stock.replace(
            "#OVS_USER_ID=\"openvswitch:openvswitch\"",
            "# x \\\n OVS_USER_ID=a:b",
        ),
    ];
    for shape in &shapes {
        let original = shape.as_bytes();
        let before = sh_reads(original).expect("sh sources the original");
        for value in [HUGETLBFS, OPENVSWITCH, ""] {
            let edited = set_twice(original, KEY, value);
            let after = sh_reads(&edited.content).unwrap();
            assert_eq!(
                after.get(KEY.as_bytes()).map(Vec::as_slice),
                Some(value.as_bytes())
            );
            assert_eq!(after.get(&b"OPTIONS"[..]), before.get(&b"OPTIONS"[..]));
        }
    }
}

#[test]
fn the_librarys_model_of_systemd_reads_as_this_tests_port_does() {
    use vhostuser::sysconfig::systemd::{Systemd, read};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysconfig");
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sysconfig"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert!(inputs.len() >= 10);
    inputs.extend(
        [
            &b"# e.g. OPTIONS=\"--foo \\\n#OVS_USER_ID=x\nA=1\n"[..],
            b"OPTIONS=\"--pidfile\" # keep \\\nOVS_USER_ID=\"a:b\"\n",
            b"A='x\ny' B\nC=\"q\\\nr\"\n;D=1\n  E = 2 \r\n",
        ]
        .map(<[u8]>::to_vec),
    );
    for input in &inputs {
        assert_eq!(
            read(input, Systemd::Before254).environment(),
            systemd_env(input),
            "{}",
            text(input)
        );
    }
}
