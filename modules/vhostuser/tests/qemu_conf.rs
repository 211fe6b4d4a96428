//! The qemu.conf parser and editor against real stock files and the shapes hand-edited files take.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use vhostuser::qemu_conf::{
    Applied, Desired, Duplicate, EditError, Entry, ParseError, Value, apply, parse,
};

const DEBIAN: &str = "debian12-libvirt-9.0.0.conf";
const RHEL: &str = "rhel-libvirt-9.0.0.conf";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/qemu_conf")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| s(i)).collect())
}

fn set(key: &str, value: Value) -> (String, Desired) {
    (key.to_owned(), Desired::Present(value))
}

fn absent(key: &str) -> (String, Desired) {
    (key.to_owned(), Desired::Absent)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Applies `changes`, then applies them again to the result and checks that the second run
/// changes nothing: every edit case goes through here.
fn apply_twice(original: &[u8], changes: &[(String, Desired)]) -> Applied {
    let first = apply(original, changes).unwrap();
    let second = apply(&first.content, changes).unwrap();
    assert!(
        !second.changed,
        "second run changed:\n{}",
        String::from_utf8_lossy(&second.content)
    );
    assert_eq!(second.content, first.content);
    assert!(second.commented_duplicates.is_empty());
    assert_eq!(second.values, first.values);
    assert_eq!(first.changed, first.content != original);
    first
}

/// `original` with `new` inserted right after the one occurrence of `anchor`.
fn insert_after(original: &[u8], anchor: &str, new: &str) -> String {
    let original = text(original);
    assert_eq!(original.matches(anchor).count(), 1, "anchor {anchor:?}");
    original.replacen(anchor, &format!("{anchor}{new}"), 1)
}

fn values(pairs: &[(&str, Option<Value>)]) -> BTreeMap<String, Option<Value>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn parse_error(bytes: &[u8]) -> ParseError {
    parse(bytes).unwrap_err()
}

fn error_at(line: usize, column: usize, message: &str) -> ParseError {
    ParseError {
        line,
        column,
        message: message.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Stock files

#[test]
fn debian12_stock_file_parses_with_every_setting_commented() {
    let doc = parse(&fixture(DEBIAN)).unwrap();
    assert_eq!(doc.entries().count(), 0);
    assert!(doc.duplicates().is_empty());
    assert_eq!(doc.get("group"), None);
}

#[test]
fn rhel_stock_file_parses_with_every_setting_commented() {
    let doc = parse(&fixture(RHEL)).unwrap();
    assert_eq!(doc.entries().count(), 0);
    assert!(doc.duplicates().is_empty());
}

#[test]
fn debian12_group_goes_under_its_commented_default() {
    let original = fixture(DEBIAN);
    let applied = apply_twice(&original, &[set("group", s("hugetlbfs"))]);
    let expected = insert_after(
        &original,
        "#group = \"libvirt-qemu\"\n",
        "group = \"hugetlbfs\"\n",
    );
    assert_eq!(text(&applied.content), expected);
    assert!(applied.changed);
    assert!(applied.commented_duplicates.is_empty());
    assert_eq!(applied.values, values(&[("group", Some(s("hugetlbfs")))]));
    let doc = parse(&applied.content).unwrap();
    assert_eq!(
        doc.entries().collect::<Vec<_>>(),
        [&Entry {
            key: "group".into(),
            value: s("hugetlbfs"),
            line: 524
        }]
    );
}

#[test]
fn debian12_user_goes_under_the_default_not_under_the_examples() {
    // The stock file shows `#       user = "qemu"   # A user named "qemu"` and other examples
    // above the default: the new line belongs after the last one, the real default.
    let original = fixture(DEBIAN);
    let applied = apply_twice(&original, &[set("user", s("root"))]);
    let expected = insert_after(&original, "#user = \"libvirt-qemu\"\n", "user = \"root\"\n");
    assert_eq!(text(&applied.content), expected);
}

#[test]
fn debian12_list_goes_after_the_whole_commented_multi_line_default() {
    let original = fixture(DEBIAN);
    let acl = list(&[
        "/dev/null",
        "/dev/full",
        "/dev/zero",
        "/dev/random",
        "/dev/urandom",
        "/dev/ptmx",
        "/dev/kvm",
        "/dev/vfio/vfio",
    ]);
    let applied = apply_twice(&original, &[set("cgroup_device_acl", acl.clone())]);
    let expected = insert_after(
        &original,
        "#    \"/dev/ptmx\", \"/dev/kvm\"\n#]\n",
        "cgroup_device_acl = [ \"/dev/null\", \"/dev/full\", \"/dev/zero\", \"/dev/random\", \
         \"/dev/urandom\", \"/dev/ptmx\", \"/dev/kvm\", \"/dev/vfio/vfio\" ]\n",
    );
    assert_eq!(text(&applied.content), expected);
    assert_eq!(
        parse(&applied.content).unwrap().get("cgroup_device_acl"),
        Some(&acl)
    );
}

#[test]
fn debian12_absent_setting_is_no_change() {
    let original = fixture(DEBIAN);
    let applied = apply_twice(&original, &[absent("group"), absent("user")]);
    assert!(!applied.changed);
    assert_eq!(applied.content, original);
    assert_eq!(applied.values, values(&[("group", None), ("user", None)]));
}

#[test]
fn debian12_with_settings_appended_by_hand_is_edited_in_place() {
    let mut original = fixture(DEBIAN);
    original.extend_from_slice(b"\n# added by hand\nuser = \"root\"\ngroup = \"root\"\n");
    let applied = apply_twice(
        &original,
        &[set("group", s("hugetlbfs")), set("user", s("root"))],
    );
    let mut expected = fixture(DEBIAN);
    expected.extend_from_slice(b"\n# added by hand\nuser = \"root\"\ngroup = \"hugetlbfs\"\n");
    assert_eq!(text(&applied.content), text(&expected));
}

#[test]
fn rhel_user_and_group_go_under_their_defaults() {
    let original = fixture(RHEL);
    let applied = apply_twice(
        &original,
        &[set("user", s("root")), set("group", s("hugetlbfs"))],
    );
    let expected = insert_after(&original, "#user = \"qemu\"\n", "user = \"root\"\n");
    let expected = insert_after(
        expected.as_bytes(),
        "#group = \"qemu\"\n",
        "group = \"hugetlbfs\"\n",
    );
    assert_eq!(text(&applied.content), expected);
    assert_eq!(
        applied.values,
        values(&[("group", Some(s("hugetlbfs"))), ("user", Some(s("root")))])
    );
}

#[test]
fn rhel_nvram_goes_after_its_commented_list() {
    let original = fixture(RHEL);
    let nvram = list(&["/usr/share/OVMF/OVMF_CODE.fd:/usr/share/OVMF/OVMF_VARS.fd"]);
    let applied = apply_twice(&original, &[set("nvram", nvram)]);
    let expected = insert_after(
        &original,
        "AAVMF32_VARS.fd\"\n#]\n",
        "nvram = [ \"/usr/share/OVMF/OVMF_CODE.fd:/usr/share/OVMF/OVMF_VARS.fd\" ]\n",
    );
    assert_eq!(text(&applied.content), expected);
}

// ---------------------------------------------------------------------------------------------
// Parsing the shapes of hand-edited files

#[test]
fn first_active_occurrence_wins_and_duplicates_are_listed() {
    let doc = parse(&fixture("duplicates.conf")).unwrap();
    assert_eq!(doc.get("group"), Some(&s("qemu")));
    assert_eq!(doc.get("dynamic_ownership"), Some(&Value::Int(1)));
    assert_eq!(
        doc.duplicates(),
        [Duplicate {
            key: "group".into(),
            lines: vec![3, 7]
        }]
    );
    let keys: Vec<_> = doc.entries().map(|e| (e.key.as_str(), e.line)).collect();
    assert_eq!(
        keys,
        [
            ("user", 2),
            ("group", 3),
            ("dynamic_ownership", 4),
            ("group", 7)
        ]
    );
}

#[test]
fn trailing_comments_and_blanks_around_the_assignment() {
    let doc = parse(&fixture("trailing-comments.conf")).unwrap();
    assert_eq!(doc.get("user"), Some(&s("qemu")));
    assert_eq!(doc.get("group"), Some(&s("qemu")));
    assert_eq!(doc.get("max_files"), Some(&Value::Int(1024)));
}

#[test]
fn semicolons_separate_statements() {
    let doc = parse(&fixture("semicolons.conf")).unwrap();
    assert_eq!(doc.entries().count(), 9);
    assert_eq!(doc.get("group"), Some(&s("qemu")));
    assert_eq!(doc.get("max_processes"), Some(&Value::Int(5)));
    assert_eq!(
        doc.duplicates(),
        [Duplicate {
            key: "group".into(),
            lines: vec![1, 2, 3, 4]
        }]
    );
    let doc = parse(b"a = 1; # a comment after a separator\nb = 2;").unwrap();
    assert_eq!(doc.get("b"), Some(&Value::Int(2)));
}

#[test]
fn single_double_and_triple_quotes() {
    let doc = parse(&fixture("quotes.conf")).unwrap();
    assert_eq!(doc.get("user"), Some(&s("qemu")));
    assert_eq!(doc.get("group"), Some(&s("qemu")));
    assert_eq!(doc.get("vnc_listen"), Some(&s("0.0.0.0")));
    assert_eq!(
        doc.get("vnc_tls_x509_cert_dir"),
        Some(&s("/etc/pki/\nlibvirt-vnc"))
    );
    assert_eq!(
        parse(b"a = '\"'\nb = \"'\"").unwrap().get("a"),
        Some(&s("\""))
    );
    // No escapes: a backslash is just a byte.
    assert_eq!(
        parse(br#"a = "C:\dir\""#).unwrap().get("a"),
        Some(&s(r"C:\dir\"))
    );
}

#[test]
fn triple_quotes_need_seven_bytes_left_as_in_virconf() {
    assert_eq!(parse(b"a = \"\"\"\"\"\"\n").unwrap().get("a"), Some(&s("")));
    // With no line break after it, `""""""` is read as `""` followed by junk, as libvirt does.
    assert_eq!(
        parse_error(b"a = \"\"\"\"\"\""),
        error_at(1, 7, "expecting a separator")
    );
}

#[test]
fn integers_with_signs_and_limits() {
    let doc = parse(b"a = +5\nb = -12\nc = 0\nd = -9223372036854775808\ne = 007").unwrap();
    let got: Vec<_> = doc.entries().map(|e| e.value.clone()).collect();
    assert_eq!(
        got,
        [
            Value::Int(5),
            Value::Int(-12),
            Value::Int(0),
            Value::Int(i64::MIN),
            Value::Int(7)
        ]
    );
}

#[test]
fn multi_line_lists_with_trailing_comma() {
    let doc = parse(&fixture("multiline-list.conf")).unwrap();
    assert_eq!(
        doc.get("cgroup_device_acl"),
        Some(&list(&[
            "/dev/null",
            "/dev/full",
            "/dev/zero",
            "/dev/random",
            "/dev/urandom",
            "/dev/ptmx",
            "/dev/kvm"
        ]))
    );
    assert_eq!(doc.get("namespaces"), Some(&Value::List(vec![])));
    assert_eq!(
        doc.get("hugetlbfs_mount"),
        Some(&list(&["/dev/hugepages2M", "/dev/hugepages1G"]))
    );
    let entries: Vec<_> = doc.entries().map(|e| e.line).collect();
    assert_eq!(entries, [1, 6, 7]);
    let mixed = parse(b"a = [ 1, \"x\", -2, [ 'y' ] ]").unwrap();
    assert_eq!(
        mixed.get("a"),
        Some(&Value::List(vec![
            Value::Int(1),
            s("x"),
            Value::Int(-2),
            Value::List(vec![s("y")])
        ]))
    );
}

#[test]
fn crlf_line_endings() {
    let doc = parse(&fixture("crlf.conf")).unwrap();
    assert_eq!(doc.get("user"), Some(&s("qemu")));
    assert_eq!(doc.get("group"), Some(&s("kvm")));
    assert_eq!(
        doc.duplicates(),
        [Duplicate {
            key: "group".into(),
            lines: vec![4, 7]
        }]
    );
}

#[test]
fn no_final_newline() {
    let doc = parse(&fixture("no-final-newline.conf")).unwrap();
    assert_eq!(doc.get("user"), Some(&s("qemu")));
    assert_eq!(parse(b"# only a comment").unwrap().entries().count(), 0);
}

#[test]
fn non_utf8_bytes_in_comments_and_strings() {
    let doc = parse(&fixture("non-utf8.conf")).unwrap();
    assert_eq!(doc.get("user"), Some(&s("qemu")));
    assert_eq!(doc.get("group"), Some(&s("qemu")));
    let doc = parse(b"group = \"gr\xfcppe\"\n").unwrap();
    assert_eq!(doc.get("group"), Some(&s("gr\u{FFFD}ppe")));
}

#[test]
fn empty_and_blank_files_have_no_entries() {
    assert_eq!(parse(b"").unwrap().entries().count(), 0);
    // virconf.c rejects a file of only blanks ("expecting a name"); this parser takes it as
    // empty so that the editor can fill it.
    assert_eq!(parse(b"\n  \r\n\t\n").unwrap().entries().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Parse errors, placed where libvirt's cursor stops

#[test]
fn bare_word_is_expecting_a_value() {
    let e = parse_error(&fixture("bad-bare-word.conf"));
    assert_eq!(e, error_at(3, 9, "expecting a value"));
    assert_eq!(e.to_string(), "line 3, column 9: expecting a value");
}

#[test]
fn unterminated_string_points_at_its_opening_quote() {
    assert_eq!(
        parse_error(&fixture("bad-unterminated-string.conf")),
        error_at(1, 8, "unterminated string")
    );
    assert_eq!(
        parse_error(b"a = 'x"),
        error_at(1, 5, "unterminated string")
    );
    assert_eq!(
        parse_error(b"a = 1\nb = \"\"\"abc\n def\n"),
        error_at(2, 5, "unterminated string")
    );
    // A CRLF ends a quoted string as a LF does.
    assert_eq!(
        parse_error(b"a = \"x\r\n\"\r\n"),
        error_at(1, 5, "unterminated string")
    );
}

#[test]
fn missing_assignment() {
    assert_eq!(
        parse_error(&fixture("bad-missing-equals.conf")),
        error_at(2, 6, "expecting an assignment")
    );
    // '.' is not part of a qemu.conf name (only of VMX and LXC ones).
    assert_eq!(
        parse_error(b"a.b = 1"),
        error_at(1, 2, "expecting an assignment")
    );
}

#[test]
fn comment_inside_a_list_is_rejected_as_virconf_does() {
    let e = parse_error(&fixture("bad-comment-in-list.conf"));
    assert_eq!((e.line, e.column), (2, 18));
    assert!(e.message.starts_with("expecting a value"), "{}", e.message);
    assert!(
        e.message.contains("no comment inside a list"),
        "{}",
        e.message
    );
    let e = parse_error(b"a = [ \"x\" # note\n]");
    assert_eq!((e.line, e.column), (1, 11));
    assert!(
        e.message.starts_with("expecting a separator in list"),
        "{}",
        e.message
    );
}

#[test]
fn unclosed_list_points_at_its_bracket() {
    assert_eq!(
        parse_error(&fixture("bad-unclosed-list.conf")),
        error_at(1, 14, "list is not closed with ]")
    );
    assert_eq!(
        parse_error(b"a = [ \"x\",\n"),
        error_at(2, 1, "expecting a value")
    );
}

#[test]
fn other_errors_in_libvirt_words() {
    let cases: &[(&[u8], ParseError)] = &[
        (b"1a = 1", error_at(1, 1, "expecting a name")),
        (b"a = 1\n= 2", error_at(2, 1, "expecting a name")),
        (b"a = 1 b = 2", error_at(1, 7, "expecting a separator")),
        (b"a = 12abc", error_at(1, 7, "expecting a separator")),
        (
            b"a = [ \"x\" \"y\" ]",
            error_at(1, 11, "expecting a separator in list"),
        ),
        (b"a = -x", error_at(1, 6, "unterminated number")),
        (b"a =", error_at(1, 4, "expecting a value")),
        (b"a = \n1", error_at(1, 5, "expecting a value")),
        (
            b"a = 9223372036854775808",
            error_at(1, 5, "numeric overflow in conf value"),
        ),
        (
            b"a = 1\r\nb = bare\r\n",
            error_at(2, 5, "expecting a value"),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            &parse_error(input),
            want,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn columns_count_characters() {
    assert_eq!(
        parse_error("x = \"héllo\" junk".as_bytes()),
        error_at(1, 13, "expecting a separator")
    );
    assert_eq!(
        parse_error(b"# caf\xe9\nx = \"\xe9\" y"),
        error_at(2, 9, "expecting a separator")
    );
}

// ---------------------------------------------------------------------------------------------
// Editing

#[test]
fn duplicates_later_occurrences_are_commented_out() {
    let original = fixture("duplicates.conf");
    let applied = apply_twice(&original, &[set("group", s("hugetlbfs"))]);
    assert_eq!(
        text(&applied.content),
        "# Written by an earlier play, then appended to by hand.\n\
         user = \"qemu\"\n\
         group = \"hugetlbfs\"\n\
         dynamic_ownership = 1\n\
         \n\
         # hugepages for vhost-user\n\
         #group = \"hugetlbfs\"\n"
    );
    assert_eq!(
        applied.commented_duplicates,
        [Duplicate {
            key: "group".into(),
            lines: vec![7]
        }]
    );
    assert_eq!(applied.values, values(&[("group", Some(s("hugetlbfs")))]));
}

#[test]
fn commenting_out_a_duplicate_is_a_change_even_when_the_first_is_right() {
    let original = fixture("duplicates.conf");
    let applied = apply_twice(&original, &[set("group", s("qemu"))]);
    assert!(applied.changed);
    let expected = text(&original).replace("\ngroup = \"hugetlbfs\"", "\n#group = \"hugetlbfs\"");
    assert_eq!(text(&applied.content), expected);
    assert_eq!(
        applied.commented_duplicates,
        [Duplicate {
            key: "group".into(),
            lines: vec![7]
        }]
    );
}

#[test]
fn absent_comments_out_every_occurrence() {
    let original = fixture("duplicates.conf");
    let applied = apply_twice(&original, &[absent("group")]);
    assert_eq!(
        text(&applied.content),
        "# Written by an earlier play, then appended to by hand.\n\
         user = \"qemu\"\n\
         #group = \"qemu\"\n\
         dynamic_ownership = 1\n\
         \n\
         # hugepages for vhost-user\n\
         #group = \"hugetlbfs\"\n"
    );
    assert!(applied.commented_duplicates.is_empty());
    assert_eq!(applied.values, values(&[("group", None)]));
}

#[test]
fn rewrite_keeps_indentation_spacing_and_trailing_comments() {
    let original = fixture("trailing-comments.conf");
    let changes = [
        set("user", s("root")),
        set("group", s("hugetlbfs")),
        set("max_files", Value::Int(4096)),
    ];
    let applied = apply_twice(&original, &changes);
    assert_eq!(
        text(&applied.content),
        "  user = \"root\"   # who runs QEMU\n\
         group\t=\t\"hugetlbfs\"\t# tabs around =\n\
         max_files = 4096 # raised for OVS\n"
    );
}

#[test]
fn absent_keeps_the_trailing_comment_inside_the_new_comment() {
    let original = fixture("trailing-comments.conf");
    let applied = apply_twice(&original, &[absent("user")]);
    assert!(text(&applied.content).starts_with("#  user = \"qemu\"   # who runs QEMU\ngroup"));
}

#[test]
fn duplicates_sharing_a_line_are_removed_from_it() {
    let original = fixture("semicolons.conf");
    let applied = apply_twice(&original, &[set("group", s("hugetlbfs"))]);
    assert_eq!(
        text(&applied.content),
        "user = \"qemu\"; group = \"hugetlbfs\"\n\
         max_files = 10 ; max_processes = 5\n\
         remember_owner = 0; # last on the line\n\
         set_process_name = 1;\n"
    );
    assert_eq!(
        applied.commented_duplicates,
        [Duplicate {
            key: "group".into(),
            lines: vec![2, 3, 4]
        }]
    );
}

#[test]
fn absent_statement_first_on_a_shared_line_is_removed() {
    let original = fixture("semicolons.conf");
    let applied = apply_twice(&original, &[absent("user"), absent("max_processes")]);
    assert_eq!(
        text(&applied.content),
        "group = \"qemu\"\n\
         max_files = 10 ; group = \"kvm\" ;\n\
         remember_owner = 0; group = \"old\" # last on the line\n\
         set_process_name = 1; group = \"tail\"\n"
    );
}

#[test]
fn statement_alone_on_its_line_with_a_semicolon_is_commented() {
    let applied = apply_twice(
        b"group = \"a\"; # why\ngroup = \"b\";\n",
        &[absent("group")],
    );
    assert_eq!(
        text(&applied.content),
        "#group = \"a\"; # why\n#group = \"b\";\n"
    );
}

#[test]
fn equal_single_quoted_value_is_no_change() {
    let original = fixture("quotes.conf");
    let applied = apply_twice(
        &original,
        &[set("user", s("qemu")), set("vnc_listen", s("0.0.0.0"))],
    );
    assert!(!applied.changed);
    assert_eq!(applied.content, original);
}

#[test]
fn rewrites_keep_single_quotes_and_turn_triple_quotes_into_double() {
    let original = fixture("quotes.conf");
    let changes = [
        set("user", s("root")),
        set("group", s("hugetlbfs")),
        set("vnc_listen", s("127.0.0.1")),
        set("vnc_tls_x509_cert_dir", s("/etc/pki/libvirt-vnc")),
    ];
    let applied = apply_twice(&original, &changes);
    assert_eq!(
        text(&applied.content),
        "user = 'root'\n\
         group = \"hugetlbfs\"\n\
         vnc_listen = \"127.0.0.1\"\n\
         vnc_tls_x509_cert_dir = \"/etc/pki/libvirt-vnc\"\n"
    );
}

#[test]
fn absent_multi_line_triple_quoted_string_comments_each_line() {
    let original = fixture("quotes.conf");
    let applied = apply_twice(&original, &[absent("vnc_tls_x509_cert_dir")]);
    assert!(
        text(&applied.content)
            .ends_with("\n#vnc_tls_x509_cert_dir = \"\"\"/etc/pki/\n#libvirt-vnc\"\"\"\n")
    );
}

#[test]
fn multi_line_list_is_rewritten_on_one_line_keeping_its_comment() {
    let original = fixture("multiline-list.conf");
    let acl = list(&["/dev/null", "/dev/kvm", "/dev/vfio/vfio"]);
    let applied = apply_twice(&original, &[set("cgroup_device_acl", acl)]);
    assert_eq!(
        text(&applied.content),
        "cgroup_device_acl = [ \"/dev/null\", \"/dev/kvm\", \"/dev/vfio/vfio\" ]   \
         # a trailing comma is fine\n\
         namespaces = [ ]\n\
         hugetlbfs_mount = [\"/dev/hugepages2M\", \"/dev/hugepages1G\"]\n"
    );
}

#[test]
fn absent_multi_line_list_comments_every_line() {
    let original = fixture("multiline-list.conf");
    let applied = apply_twice(&original, &[absent("cgroup_device_acl")]);
    assert_eq!(
        text(&applied.content),
        "#cgroup_device_acl = [\n\
         #    \"/dev/null\", \"/dev/full\", \"/dev/zero\",\n\
         #    \"/dev/random\", \"/dev/urandom\",\n\
         #    \"/dev/ptmx\", \"/dev/kvm\",\n\
         #]   # a trailing comma is fine\n\
         namespaces = [ ]\n\
         hugetlbfs_mount = [\"/dev/hugepages2M\", \"/dev/hugepages1G\"]\n"
    );
}

#[test]
fn lists_and_strings_replace_each_other() {
    let original = fixture("multiline-list.conf");
    let changes = [
        set("namespaces", Value::List(vec![])),
        set("hugetlbfs_mount", s("/dev/hugepages")),
    ];
    let applied = apply_twice(&original, &changes);
    assert!(text(&applied.content).ends_with(
        "\nnamespaces = [ ]\n\
         hugetlbfs_mount = \"/dev/hugepages\"\n"
    ));
    let applied = apply_twice(
        b"namespaces = [ \"mount\" ]\n",
        &[set("namespaces", list(&[]))],
    );
    assert_eq!(text(&applied.content), "namespaces = []\n");
}

#[test]
fn multi_line_duplicate_is_commented_on_every_line() {
    let original = b"namespaces = [ \"mount\" ]\nnamespaces = [\n  \"mount\",\n]\n";
    let applied = apply_twice(original, &[set("namespaces", list(&["mount"]))]);
    assert_eq!(
        text(&applied.content),
        "namespaces = [ \"mount\" ]\n#namespaces = [\n#  \"mount\",\n#]\n"
    );
    assert_eq!(
        applied.commented_duplicates,
        [Duplicate {
            key: "namespaces".into(),
            lines: vec![2]
        }]
    );
}

#[test]
fn integers_are_written_bare_and_strings_quoted() {
    let original = b"max_files = 1024\nuser = \"100\"\nset_process_name = 0\n";
    let changes = [
        set("max_files", s("unlimited")),
        set("user", Value::Int(100)),
        set(
            "set_process_name",
            Value::from_json(&serde_json::json!(true)).unwrap(),
        ),
    ];
    let applied = apply_twice(original, &changes);
    assert_eq!(
        text(&applied.content),
        "max_files = \"unlimited\"\nuser = 100\nset_process_name = 1\n"
    );
}

#[test]
fn crlf_file_keeps_crlf_in_every_edit() {
    let original = fixture("crlf.conf");
    let changes = [
        set("group", s("hugetlbfs")),
        set("remember_owner", Value::Int(0)),
        set("max_files", Value::Int(4096)),
    ];
    let applied = apply_twice(&original, &changes);
    assert_eq!(
        text(&applied.content),
        "# Edited on Windows\r\n\
         user = \"qemu\"\r\n\
         #group = \"qemu\"\r\n\
         group = \"hugetlbfs\"\r\n\
         #remember_owner = 1\r\n\
         remember_owner = 0\r\n\
         \r\n\
         #group = \"hugetlbfs\"\r\n\
         max_files = 4096\r\n"
    );
    assert_eq!(
        applied.commented_duplicates,
        [Duplicate {
            key: "group".into(),
            lines: vec![7]
        }]
    );
}

#[test]
fn no_final_newline_gets_one_before_an_appended_line() {
    let original = fixture("no-final-newline.conf");
    let applied = apply_twice(&original, &[set("group", s("hugetlbfs"))]);
    assert_eq!(
        text(&applied.content),
        "# no line break at the end\nuser = \"qemu\"\ngroup = \"hugetlbfs\"\n"
    );
    let applied = apply_twice(&original, &[set("user", s("root"))]);
    assert_eq!(
        text(&applied.content),
        "# no line break at the end\nuser = \"root\""
    );
    let applied = apply_twice(&original, &[absent("user")]);
    assert_eq!(
        text(&applied.content),
        "# no line break at the end\n#user = \"qemu\""
    );
    let applied = apply_twice(b"#group = \"qemu\"", &[set("group", s("hugetlbfs"))]);
    assert_eq!(
        text(&applied.content),
        "#group = \"qemu\"\ngroup = \"hugetlbfs\"\n"
    );
}

#[test]
fn non_utf8_bytes_survive_an_edit() {
    let original = fixture("non-utf8.conf");
    let applied = apply_twice(
        &original,
        &[set("user", s("root")), set("group", s("hugetlbfs"))],
    );
    assert_eq!(
        applied.content,
        b"# Caf\xe9 des h\xf4tes: latin-1 in a comment\n\
          user = \"root\" # \xff\xfe\n\
          group = \"hugetlbfs\"\n"
    );
    let applied = apply_twice(b"a = \"\xfc\"\nb = 1\n", &[set("b", Value::Int(2))]);
    assert_eq!(applied.content, b"a = \"\xfc\"\nb = 2\n");
}

#[test]
fn new_keys_without_a_commented_default_go_to_the_end_in_order() {
    let applied = apply_twice(
        b"user = \"qemu\"\n",
        &[
            set("max_files", Value::Int(1)),
            set("max_processes", Value::Int(2)),
        ],
    );
    assert_eq!(
        text(&applied.content),
        "user = \"qemu\"\nmax_files = 1\nmax_processes = 2\n"
    );
    let applied = apply_twice(
        b"user = \"qemu\"",
        &[
            set("max_files", Value::Int(1)),
            set("max_processes", Value::Int(2)),
        ],
    );
    assert_eq!(
        text(&applied.content),
        "user = \"qemu\"\nmax_files = 1\nmax_processes = 2\n"
    );
    let applied = apply_twice(b"", &[set("group", s("hugetlbfs"))]);
    assert_eq!(text(&applied.content), "group = \"hugetlbfs\"\n");
}

#[test]
fn commented_default_forms() {
    // `# key = ...` with a blank after '#', followed by prose.
    let applied = apply_twice(
        b"# group = \"root\"\n# more prose\n",
        &[set("group", s("hugetlbfs"))],
    );
    assert_eq!(
        text(&applied.content),
        "# group = \"root\"\ngroup = \"hugetlbfs\"\n# more prose\n"
    );
    // A comment after a statement on the same line is not a commented default.
    let applied = apply_twice(b"a = 1; #group = \"x\"\n# end\n", &[set("group", s("y"))]);
    assert_eq!(
        text(&applied.content),
        "a = 1; #group = \"x\"\n# end\ngroup = \"y\"\n"
    );
    // Only the key itself: `#swtpm_group = ...` is not a default of `group`.
    let applied = apply_twice(b"#swtpm_group = \"tss\"\n# end\n", &[set("group", s("y"))]);
    assert_eq!(
        text(&applied.content),
        "#swtpm_group = \"tss\"\n# end\ngroup = \"y\"\n"
    );
    // A commented list that never closes counts as a one-line default.
    let applied = apply_twice(b"#acl = [\n# prose\n", &[set("acl", list(&["x"]))]);
    assert_eq!(
        text(&applied.content),
        "#acl = [\nacl = [ \"x\" ]\n# prose\n"
    );
}

#[test]
fn new_line_lands_before_a_commented_out_duplicate_at_the_same_place() {
    let original = b"group = \"a\"\n#remember_owner = 1\ngroup = \"b\"\n";
    // `group` first, so that the order of `changes` cannot be what puts the new line first.
    let applied = apply_twice(
        original,
        &[set("group", s("a")), set("remember_owner", Value::Int(0))],
    );
    assert_eq!(
        text(&applied.content),
        "group = \"a\"\n#remember_owner = 1\nremember_owner = 0\n#group = \"b\"\n"
    );
}

#[test]
fn last_desired_state_of_a_key_wins() {
    let applied = apply_twice(
        &fixture("duplicates.conf"),
        &[set("group", s("hugetlbfs")), absent("group")],
    );
    assert_eq!(applied.values, values(&[("group", None)]));
    assert_eq!(parse(&applied.content).unwrap().get("group"), None);
}

// ---------------------------------------------------------------------------------------------
// Refusals: all or nothing

#[test]
fn invalid_keys_are_refused() {
    for key in ["x y", "", "1a", "a-b", "a.b", "_a"] {
        let err = apply(b"", &[set(key, s("v"))]).unwrap_err();
        assert_eq!(err, EditError::InvalidKey(key.to_owned()));
    }
    assert_eq!(
        EditError::InvalidKey("x y".into()).to_string(),
        "'x y' is not a valid qemu.conf key: a key starts with a letter and holds only \
         letters, digits and '_'"
    );
}

#[test]
fn values_that_cannot_be_quoted_are_refused_and_nothing_is_applied() {
    let original = fixture("quotes.conf");
    let cases = [
        set("user", s("it's")),
        set("group", s("a\"b")),
        set("group", s("two\nlines")),
        set("group", s("cr\r")),
        set("group", s("nul\0")),
        set("new_key", s("a\"b")),
        set("namespaces", list(&["a\"b"])),
    ];
    for bad in cases {
        let key = bad.0.clone();
        let err = apply(&original, &[set("vnc_listen", s("127.0.0.1")), bad]).unwrap_err();
        let EditError::UnsafeValue { key: got, reason } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(got, &key);
        assert!(
            err.to_string()
                .starts_with(&format!("cannot write '{key}' safely")),
            "{err}"
        );
        assert!(!reason.is_empty());
    }
    // A double quote is fine inside single quotes.
    let applied = apply_twice(&original, &[set("user", s("say \"hi\""))]);
    assert!(text(&applied.content).starts_with("user = 'say \"hi\"'\n"));
}

#[test]
fn unparsable_file_is_refused_with_the_position() {
    let err = apply(
        &fixture("bad-bare-word.conf"),
        &[set("group", s("hugetlbfs"))],
    )
    .unwrap_err();
    assert_eq!(err, EditError::Parse(error_at(3, 9, "expecting a value")));
    assert!(
        err.to_string()
            .contains("line 3, column 9: expecting a value"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
}
