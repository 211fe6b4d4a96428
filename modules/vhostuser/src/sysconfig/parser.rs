//! The reader: one line at a time, recording where each assignment and template sits.

use super::{Assignment, File, Located, ParseError, SystemdOnly, Template};
use std::ops::Range;

const UNTERMINATED_DOUBLE: &str = "unterminated double quote: sh and systemd would read the \
     next lines into the value; close the quote on this line";
const UNTERMINATED_SINGLE: &str = "unterminated single quote: sh and systemd would read the \
     next lines into the value; close the quote on this line";
const CONTINUATION: &str = "a backslash at the end of the line continues the value on the \
     next line, which is not supported here; join the lines";

/// Parses a shell-variable file (see the module docs for the grammar).
pub fn parse(bytes: &[u8]) -> Result<File, ParseError> {
    let mut file = File {
        bytes: bytes.to_vec(),
        assignments: Vec::new(),
        templates: Vec::new(),
        unparsed: Vec::new(),
        systemd_only: Vec::new(),
        systemd_rejects: Vec::new(),
        sh_continued: Vec::new(),
        line_count: 0,
    };
    let mut continues = false;
    for (index, text) in lines(bytes).into_iter().enumerate() {
        let number = index + 1;
        file.line_count = number;
        let mut line =
            read_line(&bytes[text.clone()]).map_err(|e| e.located(bytes, &text, number))?;
        if continues {
            // sh reads this line as more words of the command above it.
            file.sh_continued.push(number);
            line = Line::Unparsed;
        }
        continues = line == Line::Unparsed && ends_with_escape(&bytes[text.clone()]);
        if systemd_rejects(&line, &bytes[text.clone()]) {
            file.systemd_rejects.push(number);
        }
        match line {
            Line::Blank | Line::Comment { template: None } => {}
            Line::Comment {
                template: Some(key),
            } => file.templates.push(Template {
                key,
                text,
                line: number,
            }),
            Line::Assignment {
                key,
                exported,
                raw,
                value,
                comment,
            } => file.assignments.push(Located {
                assignment: Assignment {
                    key,
                    value: String::from_utf8_lossy(&raw).into_owned(),
                    line: number,
                    exported,
                },
                raw,
                line_start: text.start,
                statement_start: skip_blanks(&bytes[text.clone()], 0) + text.start,
                value: text.start + value.start..text.start + value.end,
                comment: comment.map(|c| text.start + c.start..text.start + c.end),
            }),
            Line::Unparsed => {
                file.unparsed.push(number);
                if let Some(key) = systemd_key(&bytes[text.clone()]) {
                    file.systemd_only.push(SystemdOnly {
                        key,
                        line: number,
                        at: text.start,
                    });
                }
            }
        }
    }
    if continues {
        file.sh_continued.push(file.line_count + 1);
    }
    Ok(file)
}

/// Whether `text` ends with a backslash that escapes the line ending (an odd number of them):
/// sh then joins the next line to this one.
pub(super) fn ends_with_escape(text: &[u8]) -> bool {
    text.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// The text of each line: up to its LF, without a CR right before it. A CR that ends the file
/// is taken as a line ending too, so that a value is never read with a stray CR at its end.
fn lines(src: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < src.len() {
        let end = src[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |i| start + i);
        let text_end = if end > start && src[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        out.push(start..text_end);
        start = end + 1;
    }
    out
}

/// What one line is. Spans are relative to the line's text.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Blank,
    /// `template`: the key when the comment reads as `#KEY=...`.
    Comment {
        template: Option<String>,
    },
    Assignment {
        key: String,
        exported: bool,
        raw: Vec<u8>,
        value: Range<usize>,
        /// A trailing comment: from its `#` to the end of the text, trailing blanks included.
        comment: Option<Range<usize>>,
    },
    Unparsed,
}

/// A parse error at an offset in a line's text, placed as a `ParseError` by [`Self::located`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LineError {
    at: usize,
    message: &'static str,
}

impl LineError {
    fn located(&self, src: &[u8], text: &Range<usize>, line: usize) -> ParseError {
        let before = &src[text.start..text.start + self.at];
        ParseError {
            line,
            // UTF-8 continuation bytes do not start a character.
            column: 1 + before.iter().filter(|&&b| b & 0xC0 != 0x80).count(),
            message: self.message.to_owned(),
        }
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn skip_blanks(text: &[u8], from: usize) -> usize {
    from + text[from..].iter().take_while(|&&b| is_blank(b)).count()
}

/// End of the name that starts at `from`, or `from` itself when none does.
pub(super) fn name_end(text: &[u8], from: usize) -> usize {
    let starts = text
        .get(from)
        .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_');
    if !starts {
        return from;
    }
    from + 1
        + text[from + 1..]
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_')
            .count()
}

fn read_line(text: &[u8]) -> Result<Line, LineError> {
    let start = skip_blanks(text, 0);
    match text.get(start) {
        None => Ok(Line::Blank),
        Some(b'#') => Ok(Line::Comment {
            template: template_key(&text[start + 1..]),
        }),
        Some(b';') => Ok(Line::Comment { template: None }),
        Some(_) => assignment(text, start),
    }
}

/// The key of a comment's text (after its `#`) that reads `KEY=...` once blanks are skipped.
fn template_key(text: &[u8]) -> Option<String> {
    let start = skip_blanks(text, 0);
    let end = name_end(text, start);
    (end > start && text.get(end) == Some(&b'='))
        .then(|| String::from_utf8_lossy(&text[start..end]).into_owned())
}

/// The name systemd's `EnvironmentFile=` reader takes from a line: everything before the first
/// `=`, blanks around it dropped. `None` where systemd ignores the line: no `=`, or not a valid
/// name (`export KEY` is not one).
fn systemd_key(text: &[u8]) -> Option<String> {
    let eq = text.iter().position(|&b| b == b'=')?;
    let name = text[..eq].trim_ascii();
    (!name.is_empty() && name_end(name, 0) == name.len())
        .then(|| String::from_utf8_lossy(name).into_owned())
}

/// Whether systemd's `EnvironmentFile=` reader fails on the line, and so refuses the whole
/// file: it takes every line that is not a comment and holds a `=` as `key=value`, and fails on
/// a key or value that is not UTF-8. The key of an assignment is ASCII, so any other byte is in
/// its value, or in its trailing comment, which systemd reads as part of the value.
fn systemd_rejects(line: &Line, text: &[u8]) -> bool {
    let pushed = match line {
        Line::Assignment { .. } => true,
        Line::Unparsed => text.contains(&b'='),
        Line::Blank | Line::Comment { .. } => false,
    };
    pushed && std::str::from_utf8(text).is_err()
}

/// `[export ]KEY=value`; anything that is not is `Unparsed`.
fn assignment(text: &[u8], start: usize) -> Result<Line, LineError> {
    const EXPORT: &[u8] = b"export";
    let exported = text[start..].starts_with(EXPORT)
        && text.get(start + EXPORT.len()).is_some_and(|&b| is_blank(b));
    let key_start = if exported {
        skip_blanks(text, start + EXPORT.len())
    } else {
        start
    };
    let key_end = name_end(text, key_start);
    if key_end == key_start || text.get(key_end) != Some(&b'=') {
        return Ok(Line::Unparsed);
    }
    let Some((raw, value)) = value(text, key_end + 1)? else {
        return Ok(Line::Unparsed);
    };
    // `value` accepted only blanks and a ` #` comment after the value: the first byte that is
    // not a blank starts that comment.
    let comment_start = skip_blanks(text, value.end);
    Ok(Line::Assignment {
        key: String::from_utf8_lossy(&text[key_start..key_end]).into_owned(),
        exported,
        raw,
        value,
        comment: (comment_start < text.len()).then_some(comment_start..text.len()),
    })
}

/// A value's bytes and its span in the line.
type Value = (Vec<u8>, Range<usize>);

/// The value starting at `at` (right after `=`), or `None` when the rest of the line is not one
/// value and an optional comment.
fn value(text: &[u8], at: usize) -> Result<Option<Value>, LineError> {
    let quoted = match text.get(at) {
        Some(b'"') => double_quoted(text, at)?,
        Some(b'\'') => single_quoted(text, at)?,
        // `KEY= word` runs `word` in sh; only `KEY=` then blanks or a comment is an empty value.
        Some(&b) if is_blank(b) => {
            return Ok(only_comment_after(text, at).then_some((Vec::new(), at..at)));
        }
        _ => return unquoted(text, at),
    };
    Ok(only_comment_after(text, quoted.1.end).then_some(quoted))
}

/// Whether the line ends at `at`, or after blanks, or has a ` #` comment there.
fn only_comment_after(text: &[u8], at: usize) -> bool {
    let next = skip_blanks(text, at);
    next == text.len() || (next > at && text[next] == b'#')
}

/// `"..."` with the escapes sh honours inside double quotes; any other `\c` stays `\c`.
fn double_quoted(text: &[u8], open: usize) -> Result<Value, LineError> {
    let unterminated = LineError {
        at: open,
        message: UNTERMINATED_DOUBLE,
    };
    let mut raw = Vec::new();
    let mut i = open + 1;
    loop {
        match text.get(i) {
            None => return Err(unterminated),
            Some(b'"') => return Ok((raw, open..i + 1)),
            Some(b'\\') => {
                // A backslash that ends the line continues the string: still unterminated here.
                let &next = text.get(i + 1).ok_or(unterminated)?;
                if !matches!(next, b'"' | b'\\' | b'$' | b'`') {
                    raw.push(b'\\');
                }
                raw.push(next);
                i += 2;
            }
            Some(&b) => {
                raw.push(b);
                i += 1;
            }
        }
    }
}

/// `'...'`: every byte as it is.
fn single_quoted(text: &[u8], open: usize) -> Result<Value, LineError> {
    let body = open + 1;
    let len = text[body..]
        .iter()
        .position(|&b| b == b'\'')
        .ok_or(LineError {
            at: open,
            message: UNTERMINATED_SINGLE,
        })?;
    Ok((text[body..body + len].to_vec(), open..body + len + 1))
}

/// Up to the end of the line or a ` #` comment, trailing blanks trimmed, `\c` read as `c`. A
/// quote inside gives `None`: sh would join a quoted part (`a'b c'`), systemd keeps it literal.
fn unquoted(text: &[u8], at: usize) -> Result<Option<Value>, LineError> {
    let mut raw = Vec::new();
    // Length of `raw` and end of the span after the last byte that is not a trailing blank.
    let mut kept = (0, at);
    let mut after_blank = false;
    let mut i = at;
    while let Some(&b) = text.get(i) {
        match b {
            b'"' | b'\'' => return Ok(None),
            b'#' if after_blank => break,
            b'\\' => {
                let &next = text.get(i + 1).ok_or(LineError {
                    at: i,
                    message: CONTINUATION,
                })?;
                raw.push(next);
                i += 2;
            }
            _ => {
                raw.push(b);
                i += 1;
            }
        }
        // An escaped blank (`\ `) is part of the value, not a separator.
        after_blank = is_blank(b);
        if !after_blank {
            kept = (raw.len(), i);
        }
    }
    raw.truncate(kept.0);
    Ok(Some((raw, at..kept.1)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn assignment_of(text: &str) -> (String, bool, String, String) {
        match read_line(text.as_bytes()).unwrap() {
            Line::Assignment {
                key,
                exported,
                raw,
                value,
                ..
            } => (
                key,
                exported,
                String::from_utf8(raw).unwrap(),
                text[value].to_owned(),
            ),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn lines_split_at_lf_and_drop_the_cr_before_it() {
        let src = b"a\r\nb\n\nc\rd\r";
        let got: Vec<&[u8]> = lines(src).into_iter().map(|r| &src[r]).collect();
        assert_eq!(got, [&b"a"[..], b"b", b"", b"c\rd"]);
        assert!(lines(b"").is_empty());
        assert_eq!(lines(b"x\n"), vec![Range { start: 0, end: 1 }]);
    }

    #[test]
    fn values_and_their_spans() {
        let cases = [
            ("K=v", ("K", false, "v", "v")),
            ("K=", ("K", false, "", "")),
            ("K= ", ("K", false, "", "")),
            ("K= # c", ("K", false, "", "")),
            ("K=a b  ", ("K", false, "a b", "a b")),
            ("K=a#b # c", ("K", false, "a#b", "a#b")),
            ("K=#a", ("K", false, "#a", "#a")),
            ("K=a\\  # c", ("K", false, "a ", "a\\ ")),
            ("K=a\\ # c", ("K", false, "a # c", "a\\ # c")),
            ("K=a\\\"b", ("K", false, "a\"b", "a\\\"b")),
            ("K=$HOME", ("K", false, "$HOME", "$HOME")),
            (
                r#"K="a\"\\\$\`\nb""#,
                ("K", false, "a\"\\$`\\nb", r#""a\"\\\$\`\nb""#),
            ),
            ("K='a\\b' # c", ("K", false, "a\\b", "'a\\b'")),
            ("K=\"\"", ("K", false, "", "\"\"")),
            ("K=\"a # b\"\t#c", ("K", false, "a # b", "\"a # b\"")),
            ("  export\t K=\"x\"  ", ("K", true, "x", "\"x\"")),
            ("export=1", ("export", false, "1", "1")),
            ("exportK=1", ("exportK", false, "1", "1")),
        ];
        for (text, (key, exported, value, span)) in cases {
            assert_eq!(
                assignment_of(text),
                (key.to_owned(), exported, value.to_owned(), span.to_owned()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn trailing_comments_and_their_spans() {
        let comment = |text: &str| match read_line(text.as_bytes()).unwrap() {
            Line::Assignment { comment, .. } => comment.map(|c| text[c].to_owned()),
            other => panic!("{text:?}: {other:?}"),
        };
        let cases = [
            ("K=v", None),
            ("K=v  \t", None),
            ("K=\"a # b\"", None),
            ("K=a#b", None),
            ("K=a\\ # b", None),
            ("K=v # note", Some("# note")),
            ("  export K='v'\t# note  ", Some("# note  ")),
            ("K= # c \\", Some("# c \\")),
            ("K=\"\" #", Some("#")),
        ];
        for (text, expected) in cases {
            assert_eq!(comment(text).as_deref(), expected, "{text:?}");
        }
    }

    #[test]
    fn lines_that_are_not_assignments() {
        for text in [
            "K = v",
            "K =v",
            "K= v",
            "ulimit -n 2048",
            "[section]",
            "export K",
            "export",
            "1K=v",
            "K=\"a\"b",
            "K=\"a\"#c",
            "K='a' b",
            "K=it's",
            "K=a\"b\"",
            "K-1=v",
        ] {
            assert_eq!(read_line(text.as_bytes()), Ok(Line::Unparsed), "{text:?}");
        }
    }

    #[test]
    fn blanks_comments_and_templates() {
        let template = |k: &str| Line::Comment {
            template: Some(k.to_owned()),
        };
        let prose = Line::Comment { template: None };
        assert_eq!(read_line(b""), Ok(Line::Blank));
        assert_eq!(read_line(b" \t"), Ok(Line::Blank));
        assert_eq!(
            read_line(b"#OVS_USER_ID=\"a:b\""),
            Ok(template("OVS_USER_ID"))
        );
        assert_eq!(read_line(b"  #  K=v"), Ok(template("K")));
        assert_eq!(read_line(b"# K = v"), Ok(prose));
        assert_eq!(read_line(b"# prose"), Ok(Line::Comment { template: None }));
        assert_eq!(read_line(b";K=v"), Ok(Line::Comment { template: None }));
        assert_eq!(read_line(b"#"), Ok(Line::Comment { template: None }));
    }

    #[test]
    fn keys_that_systemd_reads_from_unparsed_lines() {
        let key = |text: &str| systemd_key(text.as_bytes());
        assert_eq!(key("K = v").as_deref(), Some("K"));
        assert_eq!(key("\tK\t=v = w").as_deref(), Some("K"));
        assert_eq!(key("K=it's").as_deref(), Some("K"));
        assert_eq!(key("export K = v"), None);
        assert_eq!(key("ulimit -n 2048"), None);
        assert_eq!(key("[section]"), None);
        assert_eq!(key(" = v"), None);
    }

    #[test]
    fn open_quotes_and_continuations_are_errors_where_they_start() {
        let error = |text: &str| read_line(text.as_bytes()).unwrap_err();
        let at = |at, message| LineError { at, message };
        assert_eq!(error("K=\"abc"), at(2, UNTERMINATED_DOUBLE));
        assert_eq!(error("K=\"abc\\"), at(2, UNTERMINATED_DOUBLE));
        assert_eq!(error("K=\"a\\\""), at(2, UNTERMINATED_DOUBLE));
        assert_eq!(error("export K='abc"), at(9, UNTERMINATED_SINGLE));
        assert_eq!(error("K=abc\\"), at(5, CONTINUATION));
    }

    #[test]
    fn lines_that_systemd_fails_on() {
        let file = parse(
            b"# f\xfcr\nA=\"\xfc\"\nB=x # f\xfcr\nexport C=\xfc\nD = \xfc\nulimit \xfc\nE=\"\xc3\xa9\"\n",
        )
        .unwrap();
        assert_eq!(file.systemd_rejects, [2, 3, 4, 5]);
    }

    #[test]
    fn columns_count_characters() {
        let e = parse(b"x\n# \xe9\nK=\xe9\xe9\\").unwrap_err();
        assert_eq!((e.line, e.column), (3, 5));
        let e = parse("é=1\nK=é\\".as_bytes()).unwrap_err();
        assert_eq!((e.line, e.column), (2, 4));
        let e = parse("K=1\n# é\n  K=\"é".as_bytes()).unwrap_err();
        assert_eq!((e.line, e.column), (3, 5));
    }
}
