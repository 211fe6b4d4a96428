//! The editor: plans byte splices against the parsed original, applies them all or none, and
//! reads the result back before handing it out.

use super::parser::{is_blank, is_eol, parse};
use super::{
    Applied, Desired, Document, Duplicate, EditError, Quote, Statement, Value, is_valid_key,
};
use crate::text::{self, line_ending};
use std::collections::BTreeMap;
use std::ops::Range;

/// Sets or removes `changes` in `original`, touching no other byte.
///
/// All or nothing: an invalid key or a value that cannot be written safely fails the whole list.
/// A key given twice in `changes` takes its last desired state, as a dict would.
///
/// Choices where a duplicate shares its line with another statement (`a = 1; group = "x"`):
/// prefixing `#` would also hide the other statement, so only that statement's text (and its `;`)
/// is removed. A statement alone on its line(s) is commented out line by line instead, so that
/// the administrator still sees what was there.
pub fn apply(original: &[u8], changes: &[(String, Desired)]) -> Result<Applied, EditError> {
    let doc = parse(original).map_err(EditError::Parse)?;
    let eol = line_ending(original);
    let mut edits = Vec::new();
    let mut commented_duplicates = Vec::new();
    let mut values = BTreeMap::new();
    for (key, desired) in last_wins(changes)? {
        let found: Vec<&Statement> = doc
            .statements
            .iter()
            .filter(|s| s.entry.key == key)
            .collect();
        match desired {
            Desired::Present(value) => {
                edits.extend(present(&doc, key, value, &found, eol)?);
                if found.len() > 1 {
                    let lines = found[1..].iter().map(|s| s.entry.line).collect();
                    commented_duplicates.push(Duplicate {
                        key: key.to_owned(),
                        lines,
                    });
                }
                values.insert(key.to_owned(), Some(value.clone()));
            }
            Desired::Absent => {
                edits.extend(found.iter().flat_map(|s| comment_out(original, s)));
                values.insert(key.to_owned(), None);
            }
        }
    }
    if needs_final_line_break(original, &edits) {
        let end = original.len();
        edits.push(Edit {
            range: end..end,
            rank: RANK_LINE_BREAK,
            text: eol.to_vec(),
        });
    }
    let content = splice(original, edits);
    read_back(&content, &values)?;
    Ok(Applied {
        changed: content != original,
        content,
        commented_duplicates,
        values,
    })
}

/// The changes with keys checked, each key once, in order of first mention.
fn last_wins(changes: &[(String, Desired)]) -> Result<Vec<(&str, &Desired)>, EditError> {
    let mut wanted: Vec<(&str, &Desired)> = Vec::new();
    for (key, desired) in changes {
        if !is_valid_key(key) {
            return Err(EditError::InvalidKey(key.clone()));
        }
        match wanted.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = desired,
            None => wanted.push((key, desired)),
        }
    }
    Ok(wanted)
}

/// One splice: replace `range` of the original with `text`. `rank` orders splices at the same
/// offset: a missing final line break goes before new lines appended at the end, and a new line
/// goes before a `#` that comments out the line it lands in front of.
#[derive(Debug)]
struct Edit {
    range: Range<usize>,
    rank: u8,
    text: Vec<u8>,
}

const RANK_LINE_BREAK: u8 = 0;
const RANK_NEW_LINE: u8 = 1;
const RANK_IN_PLACE: u8 = 2;

fn present(
    doc: &Document,
    key: &str,
    value: &Value,
    found: &[&Statement],
    eol: &[u8],
) -> Result<Vec<Edit>, EditError> {
    let unsafe_value = |reason| EditError::UnsafeValue {
        key: key.to_owned(),
        reason,
    };
    let Some((first, later)) = found.split_first() else {
        let text = render(value, b'"').map_err(unsafe_value)?;
        return Ok(vec![insertion(doc, key, &text, eol)]);
    };
    let mut edits: Vec<Edit> = later
        .iter()
        .flat_map(|s| comment_out(&doc.bytes, s))
        .collect();
    if first.entry.value != *value {
        // Keep the administrator's quote style; `"""` and non-strings get plain double quotes.
        let quote = if first.quote == Quote::Single {
            b'\''
        } else {
            b'"'
        };
        let text = render(value, quote).map_err(unsafe_value)?;
        edits.push(Edit {
            range: first.value.clone(),
            rank: RANK_IN_PLACE,
            text: text.into(),
        });
    }
    Ok(edits)
}

/// A value as qemu.conf text. Strings have no escapes in virconf, so a string holding its own
/// quote, a line break or a NUL (where libvirt's C string would end) cannot be written.
fn render(value: &Value, quote: u8) -> Result<String, String> {
    match value {
        Value::Int(n) => Ok(n.to_string()),
        Value::Str(s) => quoted(s, quote),
        Value::List(items) if items.is_empty() => Ok("[]".to_owned()),
        Value::List(items) => {
            let items = items
                .iter()
                .map(|v| render(v, b'"'))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(format!("[ {} ]", items.join(", ")))
        }
    }
}

fn quoted(s: &str, quote: u8) -> Result<String, String> {
    let quote = char::from(quote);
    if s.contains(quote) {
        let name = if quote == '"' { "double" } else { "single" };
        return Err(format!(
            "{} contains a {name} quote ({quote}), the quote it must be written in; \
             qemu.conf strings have no escapes",
            text::quoted(s)
        ));
    }
    if s.contains(['\n', '\r']) {
        return Err(format!(
            "{} contains a line break; a quoted qemu.conf string is one line",
            text::quoted(s)
        ));
    }
    if s.contains('\0') {
        return Err(format!(
            "{} contains a NUL byte, where libvirt would cut the string",
            text::quoted(s)
        ));
    }
    Ok(format!("{quote}{s}{quote}"))
}

/// `key = text` on a new line after the key's last commented default, else at the end.
fn insertion(doc: &Document, key: &str, text: &str, eol: &[u8]) -> Edit {
    let src = &doc.bytes;
    let anchor = doc
        .defaults
        .iter()
        .rev()
        .find(|d| d.key == key)
        .map_or(src.len(), |d| d.end);
    let at = anchor + eol_len(&src[anchor..]);
    let mut line = format!("{key} = {text}").into_bytes();
    line.extend_from_slice(eol);
    Edit {
        range: at..at,
        rank: RANK_NEW_LINE,
        text: line,
    }
}

/// Takes a statement out of effect: `#` before each of its lines when it has them to itself,
/// else its text (with its `;`) removed.
fn comment_out(src: &[u8], s: &Statement) -> Vec<Edit> {
    let line_start = src[..s.start]
        .iter()
        .rposition(|&b| is_eol(b))
        .map_or(0, |i| i + 1);
    let alone_before = src[line_start..s.start].iter().all(|&b| is_blank(b));
    let semicolon = (src.get(s.end) == Some(&b';')).then_some(s.end);
    let after = semicolon.map_or(s.end, |i| skip(src, i + 1, is_blank));
    let alone_after = match src.get(after) {
        None | Some(b'#') => true,
        Some(&b) => is_eol(b),
    };
    if alone_before && alone_after {
        return line_starts(src, line_start, s.value.clone())
            .map(|at| Edit {
                range: at..at,
                rank: RANK_IN_PLACE,
                text: b"#".to_vec(),
            })
            .collect();
    }
    let after_value = skip(src, s.value.end, is_blank);
    let range = if semicolon.is_some() {
        s.start..after
    } else if src.get(after_value) == Some(&b'#') {
        // Keep the trailing comment: it may explain the statement before.
        s.start..after_value
    } else {
        // Last on its line: take the blanks before it too, so no trailing blank is left.
        let start = src[..s.start]
            .iter()
            .rposition(|&b| !is_blank(b))
            .map_or(0, |i| i + 1);
        start..s.end
    };
    vec![Edit {
        range,
        rank: RANK_IN_PLACE,
        text: Vec::new(),
    }]
}

/// The start of the statement's first line and of every line its value continues on. A lone
/// '\r' ends a line for virconf, so it starts one here too.
fn line_starts(src: &[u8], first: usize, value: Range<usize>) -> impl Iterator<Item = usize> {
    let breaks = value
        .filter(move |&i| src[i] == b'\n' || (src[i] == b'\r' && src.get(i + 1) != Some(&b'\n')));
    std::iter::once(first).chain(breaks.map(|i| i + 1))
}

/// Whether a line is appended to a file whose last line has no line ending yet.
fn needs_final_line_break(src: &[u8], edits: &[Edit]) -> bool {
    src.last().is_some_and(|&b| !is_eol(b))
        && edits
            .iter()
            .any(|e| e.rank == RANK_NEW_LINE && e.range.start == src.len())
}

fn splice(src: &[u8], mut edits: Vec<Edit>) -> Vec<u8> {
    edits.sort_by_key(|e| (e.range.start, e.rank));
    let mut out = Vec::with_capacity(src.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut copied = 0;
    for edit in edits {
        // Statements never overlap, so neither do their edits; `read_back` is the safety net.
        if edit.range.start >= copied {
            out.extend_from_slice(&src[copied..edit.range.start]);
            copied = edit.range.end;
        }
        out.extend_from_slice(&edit.text);
    }
    out.extend_from_slice(&src[copied.min(src.len())..]);
    out
}

/// Parses the result and checks that libvirt will see exactly the wanted values, once each:
/// a file that libvirt would misread or reject is never handed out.
fn read_back(content: &[u8], values: &BTreeMap<String, Option<Value>>) -> Result<(), EditError> {
    let doc = parse(content).map_err(|e| EditError::UnsafeValue {
        key: values.keys().cloned().collect::<Vec<_>>().join(", "),
        reason: format!("the edited file would not parse ({e})"),
    })?;
    for (key, wanted) in values {
        let count = doc.entries().filter(|e| &e.key == key).count();
        if doc.get(key) != wanted.as_ref() || count > 1 {
            return Err(EditError::UnsafeValue {
                key: key.clone(),
                reason: "the edited file would not read back with the wanted value".to_owned(),
            });
        }
    }
    Ok(())
}

fn eol_len(rest: &[u8]) -> usize {
    if rest.starts_with(b"\r\n") {
        2
    } else {
        usize::from(rest.first().is_some_and(|&b| is_eol(b)))
    }
}

fn skip(src: &[u8], from: usize, pred: fn(u8) -> bool) -> usize {
    from + src[from..].iter().take_while(|&&b| pred(b)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eol_len_counts_crlf_as_one_break() {
        assert_eq!(eol_len(b"\r\nx"), 2);
        assert_eq!(eol_len(b"\nx"), 1);
        assert_eq!(eol_len(b"\rx"), 1);
        assert_eq!(eol_len(b"x"), 0);
        assert_eq!(eol_len(b""), 0);
    }

    #[test]
    fn strings_it_cannot_write_are_refused_quoted_as_ansible_quotes() {
        assert_eq!(quoted("qemu", b'"'), Ok("\"qemu\"".to_owned()));
        assert_eq!(
            quoted("a\"b", b'"'),
            Err(
                "'a\"b' contains a double quote (\"), the quote it must be written in; \
                 qemu.conf strings have no escapes"
                    .to_owned()
            )
        );
        assert_eq!(
            quoted("it's", b'\''),
            Err(
                "'it\\'s' contains a single quote ('), the quote it must be written in; \
                 qemu.conf strings have no escapes"
                    .to_owned()
            )
        );
        assert_eq!(
            quoted("a\nb", b'"'),
            Err("'a\\nb' contains a line break; a quoted qemu.conf string is one line".to_owned())
        );
        assert_eq!(
            quoted("a\0b", b'"'),
            Err("'a\\0b' contains a NUL byte, where libvirt would cut the string".to_owned())
        );
    }
}
