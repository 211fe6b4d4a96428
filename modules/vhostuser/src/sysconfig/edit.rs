//! The editor: plans byte splices against the parsed original and reads the result back before
//! handing it out.

use super::parser::{ends_with_escape, parse};
use super::systemd::{self, Systemd};
use super::{EditError, Edited, File, Located, is_valid_key};
use crate::text::{self, line_ending};
use std::collections::BTreeMap;
use std::ops::Range;

/// Sets `key` to `value`, touching no other byte, so that sh and systemd both read `value`.
///
/// - The last assignment is the effective one. It is left alone when both readers already get
///   `value` from it, however it is quoted. If only its value is wrong, the value is rewritten in
///   place as `"value"` (leading blanks and trailing blanks kept). A value that is not UTF-8
///   (which makes systemd refuse the whole file) never equals `value` and is rewritten so.
/// - An effective assignment that systemd misreads is rewritten whole as `KEY="value"` after its
///   leading blanks, even when its value is right for sh: an `export KEY=...` line (systemd
///   ignores it) loses `export `, and a trailing comment (systemd reads it as part of the value)
///   moves to a line of its own right above, with the same indentation and text and the file's
///   line ending, so nothing written is lost. When the value was right, that is still a change
///   and [`Edited::rewritten_for_systemd`] says why.
/// - Earlier assignments of the key are shadowed but misleading, so each is commented out by
///   prefixing its line with `#`: the clearest mark, and it keeps what was there for whoever
///   looks. That counts as a change even when the effective value was already right.
/// - An unassigned key replaces its last commented template (`#KEY=...`), as the RPM's `%post`
///   does, so the file reads the way its packager meant; with no template, or with a `KEY = x`
///   line below it that systemd would still read, `KEY="value"` is appended, after a line ending
///   if the file lacks a final one. New text uses the file's line ending (CRLF when most lines
///   end so).
///
/// When the line above the key's runs on into it for sh or systemd (it ends with a backslash:
/// a command, a value or its trailing comment, or a comment before systemd v254), a blank line
/// goes between them, so the key's line stands alone; if that would change what the line above
/// means (a value that would lose the line it swallows), the edit is refused naming the line.
/// Every result is read back by this module's parser and by the model of systemd's reader, for
/// both of its readings of comments: the key must read as `value` and every other variable as
/// before, or nothing is handed out.
///
/// A value that would need escaping in double quotes or that sh would expand is refused rather
/// than escaped: sh and systemd then read the written line alike. An edit is refused too when
/// another line makes systemd refuse the whole file (a value that is not UTF-8), and when an
/// assignment of the key has a trailing comment that ends with a backslash: systemd reads on into
/// the next line from there, and would still do so once the comment stands on its own line.
pub fn set(original: &[u8], key: &str, value: &str) -> Result<Edited, EditError> {
    if !is_valid_key(key) {
        return Err(EditError::InvalidKey(key.to_owned()));
    }
    let unsafe_value = |reason| EditError::UnsafeValue {
        key: key.to_owned(),
        reason,
    };
    check_value(value).map_err(unsafe_value)?;
    let file = parse(original).map_err(EditError::Parse)?;
    let found = file.located(key);
    systemd_loads(&file, &found).map_err(unsafe_value)?;
    if let Some(last) = found.last() {
        systemd_agrees(&file, last).map_err(unsafe_value)?;
        continued_comment(&file, &found).map_err(unsafe_value)?;
    }
    let plan = plan(&file, &found, key, value, false);
    let content = splice(original, plan.edits.clone());
    let Err(misread) = read_back(original, &content, key, value) else {
        return Ok(edited(original, content, plan));
    };
    // The line above where the key goes may run on into it for one of the readers (a backslash
    // at its end): a blank line ends that, if nothing else then reads differently.
    let Some(continuing) = continued_into(&file, plan.line) else {
        return Err(unsafe_value(misread));
    };
    let separated = plan_separated(&file, &found, key, value);
    let content = splice(original, separated.edits.clone());
    match read_back(original, &content, key, value) {
        Ok(()) => Ok(edited(original, content, separated)),
        Err(why) => Err(unsafe_value(format!(
            "line {above} ends with a backslash, which {continuing} reads as continuing onto \
             line {line}, where {key} is set, and a blank line between them would change what \
             line {above} means ({why}); remove the backslash by hand",
            above = plan.line - 1,
            line = plan.line,
        ))),
    }
}

fn edited(original: &[u8], content: Vec<u8>, plan: Plan) -> Edited {
    Edited {
        changed: content != original,
        content,
        commented_duplicates: plan.commented_duplicates,
        rewritten_for_systemd: plan.rewritten_for_systemd,
    }
}

/// Who reads `line` of the file as part of the line above it, if anyone does. The line after
/// the last is where an edit appends; a missing final line ending counts as written, as the
/// edit writes it.
fn continued_into(file: &File, line: usize) -> Option<&'static str> {
    if line < 2 {
        return None;
    }
    if file.sh_continued.contains(&line) {
        return Some("sh");
    }
    let mut padded = file.bytes.clone();
    if padded.last().is_some_and(|&b| b != b'\n') {
        padded.push(b'\n');
    }
    let since = systemd::read(&padded, Systemd::Since254).is_continued(line);
    let before = systemd::read(&padded, Systemd::Before254).is_continued(line);
    match (since, before) {
        (true, _) => Some("systemd"),
        (false, true) => Some("systemd before v254 (RHEL 9 has 252)"),
        (false, false) => None,
    }
}

/// What to change for `key`: rewrite its effective assignment in place, or write a new line.
/// With `separate`, a blank line goes right above the key's assignment.
fn plan(file: &File, found: &[&Located], key: &str, value: &str, separate: bool) -> Plan {
    match found.split_last() {
        Some((last, earlier)) => in_place(file, last, earlier, value, separate),
        None => new_line(file, key, value, separate),
    }
}

fn plan_separated(file: &File, found: &[&Located], key: &str, value: &str) -> Plan {
    let mut plan = plan(file, found, key, value, true);
    // Only the blank line was needed: the line itself already held the value for both.
    if plan.rewritten_for_systemd.is_none() && plan.edits.len() == 1 && !found.is_empty() {
        plan.rewritten_for_systemd = Some(SEPARATED.to_owned());
    }
    plan
}

/// The edits for one call of [`set`] and what to report about them.
#[derive(Debug, Clone)]
struct Plan {
    edits: Vec<Edit>,
    commented_duplicates: Vec<usize>,
    rewritten_for_systemd: Option<String>,
    /// 1-based line of the original where the key's assignment is (or goes: one past the last
    /// line when appended).
    line: usize,
}

const SEPARATED: &str = "the line above it ended with a backslash, which systemd read as \
    continuing onto it (a blank line now separates them)";

/// Rewrites the effective assignment unless both readers already get `value` from it, and
/// comments out the shadowed ones.
fn in_place(
    file: &File,
    last: &Located,
    earlier: &[&Located],
    value: &str,
    separate: bool,
) -> Plan {
    let mut edits: Vec<Edit> = earlier
        .iter()
        .map(|shadowed| Edit {
            range: shadowed.line_start..shadowed.line_start,
            text: b"#".to_vec(),
        })
        .collect();
    if separate {
        // Before any edit of the line itself, which `splice` keeps in this order.
        edits.push(Edit {
            range: last.line_start..last.line_start,
            text: line_ending(&file.bytes).to_vec(),
        });
    }
    let misread = systemd_misreads(last);
    let right = last.raw == value.as_bytes();
    if misread.is_some() {
        edits.push(clean_line(file, last, value));
    } else if !right {
        edits.push(Edit {
            range: last.value.clone(),
            text: quoted(value),
        });
    }
    Plan {
        edits,
        commented_duplicates: earlier.iter().map(|l| l.assignment.line).collect(),
        rewritten_for_systemd: misread.filter(|_| right).map(str::to_owned),
        line: last.assignment.line,
    }
}

/// Why systemd does not read the value that sh reads from `located`, if it does not.
fn systemd_misreads(located: &Located) -> Option<&'static str> {
    match (located.assignment.exported, located.comment.is_some()) {
        (false, false) => None,
        (true, false) => Some("the line was exported (systemd ignores export lines)"),
        (false, true) => {
            Some("the line had a trailing comment (systemd reads it as part of the value)")
        }
        (true, true) => Some(
            "the line was exported (systemd ignores export lines) and had a trailing comment \
             (systemd reads it as part of the value)",
        ),
    }
}

/// `KEY="value"` in place of everything from `export` or the key to the end of the value or of
/// its trailing comment; the comment goes to a line of its own above, indented like this one.
fn clean_line(file: &File, last: &Located, value: &str) -> Edit {
    let src = &file.bytes;
    let mut text = Vec::new();
    let end = match &last.comment {
        Some(comment) => {
            // Inserted after the line's leading blanks: they now indent the comment, and are
            // repeated for the assignment.
            text.extend_from_slice(&src[comment.clone()]);
            text.extend_from_slice(line_ending(src));
            text.extend_from_slice(&src[last.line_start..last.statement_start]);
            comment.end
        }
        None => last.value.end,
    };
    text.extend(assignment_line(&last.assignment.key, value));
    Edit {
        range: last.statement_start..end,
        text,
    }
}

/// Refuses to edit a file that systemd refuses as a whole because of a line that the edit does
/// not fix: every assignment of the key is either rewritten with a UTF-8 value or commented out
/// (a value that is not UTF-8 never equals the wanted one, and a trailing comment moves to a
/// line of its own), but any other such line stays, and the units would start without the
/// file's settings.
fn systemd_loads(file: &File, found: &[&Located]) -> Result<(), String> {
    let fixed = |line: usize| found.iter().any(|l| l.assignment.line == line);
    match file.systemd_rejects.iter().find(|&&line| !fixed(line)) {
        None => Ok(()),
        Some(line) => Err(format!(
            "line {line} holds bytes that are not UTF-8 where systemd reads a variable, so \
             systemd refuses the whole file (a unit that loads it with EnvironmentFile=- starts \
             without any of its settings); fix that line by hand"
        )),
    }
}

/// Refuses to touch an assignment of the key whose trailing comment ends with a backslash.
/// systemd reads that comment as part of the value and the backslash as a continuation onto
/// the next line; moved to a line of its own or commented out, it would still continue onto the
/// next line for systemd before v254 (RHEL 9 has 252), which then loses that line.
fn continued_comment(file: &File, found: &[&Located]) -> Result<(), String> {
    let continued = found.iter().find(|l| {
        l.comment
            .as_ref()
            .is_some_and(|c| ends_with_escape(&file.bytes[c.clone()]))
    });
    match continued {
        None => Ok(()),
        Some(l) => Err(format!(
            "the comment at the end of line {} ends with a backslash, which systemd reads as \
             continuing onto the next line (before v254 even from a comment line); remove the \
             backslash by hand",
            l.assignment.line
        )),
    }
}

/// Refuses to edit an assignment that a later `KEY = x` line overrides for systemd: editing it
/// would report success while the service gets the other value.
fn systemd_agrees(file: &File, last: &Located) -> Result<(), String> {
    let key = &last.assignment.key;
    match file
        .systemd_only
        .iter()
        .find(|s| &s.key == key && s.at > last.line_start)
    {
        None => Ok(()),
        Some(later) => Err(format!(
            "line {} is not a shell assignment, but systemd reads it as one that overrides \
             {key} on line {}; fix or remove it by hand",
            later.line, last.assignment.line
        )),
    }
}

fn quoted(value: &str) -> Vec<u8> {
    format!("\"{value}\"").into_bytes()
}

/// `KEY="value"`, the form both readers take alike.
fn assignment_line(key: &str, value: &str) -> Vec<u8> {
    let mut line = format!("{key}=").into_bytes();
    line.extend(quoted(value));
    line
}

/// Why `value` cannot go between double quotes as it is, if it cannot.
fn check_value(value: &str) -> Result<(), String> {
    let Some(c) = value.chars().find(|c| "\"\\$`\n\r\0".contains(*c)) else {
        return Ok(());
    };
    let (what, why) = match c {
        '"' => (
            "a double quote (\")",
            "would end the double-quoted value early",
        ),
        '\\' => ("a backslash (\\)", "starts an escape inside double quotes"),
        '$' => (
            "a dollar sign ($)",
            "starts an expansion when sh sources the file",
        ),
        '`' => (
            "a backquote (`)",
            "starts a command substitution when sh sources the file",
        ),
        '\n' | '\r' => ("a line break", "would split the assignment across lines"),
        _ => ("a NUL byte", "would cut the value short for systemd and sh"),
    };
    Err(format!(
        "the value {} contains {what}, which {why}; this editor writes values without \
         escapes",
        text::quoted(value)
    ))
}

/// One splice: replace `range` of the original with `text`.
#[derive(Debug, Clone)]
struct Edit {
    range: Range<usize>,
    text: Vec<u8>,
}

/// `KEY="value"` in place of the key's last template line, or appended at the end. The template
/// is passed over when a line that only systemd reads as an assignment of the key follows it.
fn new_line(file: &File, key: &str, value: &str, separate: bool) -> Plan {
    let src = &file.bytes;
    let eol = line_ending(src);
    let line = assignment_line(key, value);
    let template = file.templates.iter().rev().find(|t| t.key == key);
    let overridden = |start: usize| {
        file.systemd_only
            .iter()
            .any(|s| s.key == key && s.at > start)
    };
    let plan = |edit: Edit, line: usize| Plan {
        edits: vec![edit],
        commented_duplicates: Vec::new(),
        rewritten_for_systemd: None,
        line,
    };
    if let Some(template) = template.filter(|t| !overridden(t.text.start)) {
        let mut text = if separate { eol.to_vec() } else { Vec::new() };
        text.extend(line);
        let edit = Edit {
            range: template.text.clone(),
            text,
        };
        return plan(edit, template.line);
    }
    let mut text = match src.last() {
        None | Some(b'\n') => Vec::new(),
        // A final CR already reads as a line ending's start: complete it rather than add one.
        Some(b'\r') => b"\n".to_vec(),
        Some(_) => eol.to_vec(),
    };
    if separate {
        text.extend_from_slice(eol);
    }
    text.extend(line);
    text.extend_from_slice(eol);
    let edit = Edit {
        range: src.len()..src.len(),
        text,
    };
    plan(edit, file.line_count + 1)
}

fn splice(src: &[u8], mut edits: Vec<Edit>) -> Vec<u8> {
    edits.sort_by_key(|e| e.range.start);
    let mut out = Vec::with_capacity(src.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut copied = 0;
    for edit in edits {
        // Edits sit on distinct lines, so they never overlap; `read_back` is the safety net.
        out.extend_from_slice(&src[copied..edit.range.start.max(copied)]);
        out.extend_from_slice(&edit.text);
        copied = copied.max(edit.range.end);
    }
    out.extend_from_slice(&src[copied..]);
    out
}

/// Checks the result as both readers read it, whatever bug the planning above might have:
/// for sh (this module's parser) and for systemd (both readings of a comment's backslash),
/// `key` must read as `value` and every other variable as it did before. For sh, `key` must
/// also be assigned once, in a line that systemd reads as sh does and that no line only systemd
/// reads overrides. The reason says what would be misread.
fn read_back(original: &[u8], content: &[u8], key: &str, value: &str) -> Result<(), String> {
    let file = parse(content).map_err(|e| format!("the edited file would not parse ({e})"))?;
    let found = file.located(key);
    let clean = match found[..] {
        [only] => {
            only.raw == value.as_bytes()
                && systemd_misreads(only).is_none()
                && systemd_agrees(&file, only).is_ok()
                && file.systemd_rejects.is_empty()
        }
        _ => false,
    };
    if !clean {
        return Err("the edited file would not read back with the wanted value".to_owned());
    }
    // The original parsed already (`set` parses it first).
    let before = parse(original).map_err(|e| e.to_string())?;
    if let Some(other) = changed_name(&sh_values(&before), &sh_values(&file), key) {
        return Err(format!("sh would read {other} differently"));
    }
    for version in Systemd::ALL {
        let who = match version {
            Systemd::Before254 => "systemd before v254",
            Systemd::Since254 => "systemd",
        };
        let after = systemd::read(content, version);
        let values = after.values();
        if after.environment().is_none() {
            return Err(format!("{who} would refuse the edited file"));
        }
        if values.get(key.as_bytes()) != Some(&value.as_bytes()) {
            return Err(format!("{who} would not read {key} as set"));
        }
        let old = systemd::read(original, version);
        if let Some(other) = changed_name(&old.values(), &values, key) {
            return Err(format!("{who} would read {other} differently"));
        }
    }
    Ok(())
}

/// The effective value of each variable as sh reads it.
fn sh_values(file: &File) -> BTreeMap<&[u8], &[u8]> {
    file.assignments
        .iter()
        .map(|l| (l.assignment.key.as_bytes(), l.raw.as_slice()))
        .collect()
}

/// A variable other than `key` whose value differs between the two readings, if any.
fn changed_name(
    before: &BTreeMap<&[u8], &[u8]>,
    after: &BTreeMap<&[u8], &[u8]>,
    key: &str,
) -> Option<String> {
    before
        .keys()
        .chain(after.keys())
        .find(|name| **name != key.as_bytes() && before.get(**name) != after.get(**name))
        .map(|name| String::from_utf8_lossy(name).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn values_that_need_no_escape_pass() {
        for ok in [
            "",
            "openvswitch:hugetlbfs",
            "root:root",
            "a b # c",
            "it's",
            "é",
        ] {
            assert_eq!(check_value(ok), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn each_unsafe_character_is_named() {
        let cases = [
            ("a\"b", r#"'a"b'"#, "a double quote"),
            ("a\\b", r"'a\\b'", "a backslash"),
            ("$USER", "'$USER'", "a dollar sign"),
            ("`id`", "'`id`'", "a backquote"),
            ("a\nb", r"'a\nb'", "a line break"),
            ("a\rb", r"'a\rb'", "a line break"),
            ("a\0b", r"'a\0b'", "a NUL byte"),
        ];
        for (value, shown, named) in cases {
            let reason = check_value(value).unwrap_err();
            assert!(
                reason.starts_with(&format!("the value {shown} contains {named}")),
                "{reason}"
            );
        }
    }

    #[test]
    fn splice_applies_edits_in_offset_order() {
        let edits = vec![
            Edit {
                range: 4..5,
                text: b"X".to_vec(),
            },
            Edit {
                range: 0..0,
                text: b"#".to_vec(),
            },
        ];
        assert_eq!(splice(b"abc\nd\n", edits), b"#abc\nX\n");
    }

    #[test]
    fn read_back_refuses_a_wrong_or_repeated_value() {
        assert_eq!(read_back(b"", b"K=\"v\"\n", "K", "v"), Ok(()));
        for content in [
            &b"K=w\n"[..],
            b"K=v\nK=v\n",
            b"",
            b"K=\"v",
            b"export K=v\n",
            b"K=v # c\n",
            b"K=v\nK = w\n",
            b"K=v\nA=\xfc\n",
        ] {
            assert!(
                read_back(b"", content, "K", "v").is_err(),
                "{}",
                String::from_utf8_lossy(content)
            );
        }
    }
}
