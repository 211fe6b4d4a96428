//! The reader: a byte-level copy of `virconf.c`'s grammar that also records spans.

use super::{CommentedDefault, Document, Entry, ParseError, Quote, Statement, Value};
use std::ops::Range;

// libvirt's own words, so that an administrator who searches for them finds libvirt's docs.
const EXPECTING_NAME: &str = "expecting a name";
const EXPECTING_ASSIGNMENT: &str = "expecting an assignment";
const EXPECTING_VALUE: &str = "expecting a value";
const EXPECTING_SEPARATOR: &str = "expecting a separator";
const EXPECTING_LIST_SEPARATOR: &str = "expecting a separator in list";
const LIST_NOT_CLOSED: &str = "list is not closed with ]";
const UNTERMINATED_STRING: &str = "unterminated string";
const UNTERMINATED_NUMBER: &str = "unterminated number";
const NUMERIC_OVERFLOW: &str = "numeric overflow in conf value";
const COMMENT_IN_LIST_VALUE: &str =
    "expecting a value (libvirt allows no comment inside a list; move it above the setting)";
const COMMENT_IN_LIST_SEPARATOR: &str = "expecting a separator in list \
     (libvirt allows no comment inside a list; move it above the setting)";

/// How many following comment lines a commented multi-line default may span; the stock file's
/// longest spans 5, and the bound keeps a stray `#x = [` from scanning a whole file of comments.
const MAX_COMMENTED_DEFAULT_LINES: usize = 64;

/// Parses `qemu.conf` as libvirt would (see the module docs for the few differences).
pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    let mut cur = Cursor { src: bytes, pos: 0 };
    let newlines: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'\n').collect();
    let mut statements = Vec::new();
    let mut comments = Vec::new();
    let to_error = |e: RawError| located(bytes, &e);
    cur.skip_blanks_and_eol();
    while !cur.at_end() {
        if cur.peek() == Some(b'#') {
            let start = cur.pos;
            cur.skip_to_eol();
            comments.push(start..cur.pos);
        } else {
            statements.push(cur.statement(&newlines).map_err(to_error)?);
        }
        cur.separator().map_err(to_error)?;
    }
    let defaults = commented_defaults(bytes, &comments);
    Ok(Document {
        bytes: bytes.to_vec(),
        statements,
        defaults,
    })
}

/// An error at a byte offset, placed as a `ParseError` once parsing stops.
#[derive(Debug)]
struct RawError {
    at: usize,
    message: &'static str,
}

fn located(src: &[u8], e: &RawError) -> ParseError {
    let (line, column) = line_column(src, e.at);
    ParseError {
        line,
        column,
        message: e.message.to_owned(),
    }
}

/// 1-based line and column of a byte offset. Lines end at '\n' as libvirt counts them; the
/// column counts UTF-8 characters, so that it matches what an editor shows.
fn line_column(src: &[u8], at: usize) -> (usize, usize) {
    let before = &src[..at.min(src.len())];
    let line = before.split(|&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = 1 + before[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count();
    (line, column)
}

pub(super) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(super) fn is_eol(b: u8) -> bool {
    b == b'\n' || b == b'\r'
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Cursor<'a> {
    src: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn error(&self, message: &'static str) -> RawError {
        RawError {
            at: self.pos,
            message,
        }
    }

    fn skip_while(&mut self, keep: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&keep) {
            self.pos += 1;
        }
    }

    fn skip_blanks(&mut self) {
        self.skip_while(is_blank);
    }

    fn skip_blanks_and_eol(&mut self) {
        self.skip_while(|b| is_blank(b) || is_eol(b));
    }

    fn skip_to_eol(&mut self) {
        self.skip_while(|b| !is_eol(b));
    }

    /// `name = value`, then blanks and an optional trailing comment. `newlines` are the offsets
    /// of the input's '\n's, to number lines without rescanning the input for each statement.
    fn statement(&mut self, newlines: &[usize]) -> Result<Statement, RawError> {
        let start = self.pos;
        let key = self.name()?;
        self.skip_blanks();
        if self.peek() != Some(b'=') {
            return Err(self.error(EXPECTING_ASSIGNMENT));
        }
        self.pos += 1;
        self.skip_blanks();
        let value_start = self.pos;
        let (value, quote) = self.value()?;
        let span = value_start..self.pos;
        self.skip_blanks();
        if self.peek() == Some(b'#') {
            self.skip_to_eol();
        }
        let entry = Entry {
            key,
            value,
            line: 1 + newlines.partition_point(|&nl| nl < start),
        };
        Ok(Statement {
            entry,
            start,
            value: span,
            quote,
            end: self.pos,
        })
    }

    fn name(&mut self) -> Result<String, RawError> {
        let start = self.pos;
        if !self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            return Err(self.error(EXPECTING_NAME));
        }
        self.skip_while(|b| b.is_ascii_alphanumeric() || b == b'_');
        Ok(lossy(&self.src[start..self.pos]))
    }

    fn value(&mut self) -> Result<(Value, Quote), RawError> {
        self.skip_blanks();
        match self.peek() {
            Some(b'"' | b'\'') => self.string(),
            Some(b'[') => Ok((self.list()?, Quote::None)),
            Some(b) if b.is_ascii_digit() || b == b'-' || b == b'+' => {
                Ok((Value::Int(self.integer()?), Quote::None))
            }
            _ => Err(self.error(EXPECTING_VALUE)),
        }
    }

    /// `'...'` and `"..."` end on their line and have no escapes; `"""..."""` may span lines.
    fn string(&mut self) -> Result<(Value, Quote), RawError> {
        let open = self.pos;
        let rest = &self.src[open..];
        // virconf.c takes `"""` as a triple quote only when more than 6 bytes remain.
        if rest.starts_with(b"\"\"\"") && rest.len() > 6 {
            let body = open + 3;
            let Some(len) = self.src[body..].windows(3).position(|w| w == b"\"\"\"") else {
                return Err(RawError {
                    at: open,
                    message: UNTERMINATED_STRING,
                });
            };
            self.pos = body + len + 3;
            return Ok((
                Value::Str(lossy(&self.src[body..body + len])),
                Quote::Triple,
            ));
        }
        let quote = rest[0];
        let body = open + 1;
        let len = self.src[body..]
            .iter()
            .position(|&b| b == quote || is_eol(b));
        match len {
            Some(len) if self.src[body + len] == quote => {
                self.pos = body + len + 1;
                let kind = if quote == b'\'' {
                    Quote::Single
                } else {
                    Quote::Double
                };
                Ok((Value::Str(lossy(&self.src[body..body + len])), kind))
            }
            _ => Err(RawError {
                at: open,
                message: UNTERMINATED_STRING,
            }),
        }
    }

    /// `[ item, item ]` across lines, a trailing comma allowed, as virconf.c reads it.
    fn list(&mut self) -> Result<Value, RawError> {
        let open = self.pos;
        self.pos += 1;
        self.skip_blanks_and_eol();
        let mut items = Vec::new();
        if !matches!(self.peek(), None | Some(b']')) {
            items.push(self.list_item()?);
            self.skip_blanks_and_eol();
        }
        while !matches!(self.peek(), None | Some(b']')) {
            if self.peek() != Some(b',') {
                let message = if self.peek() == Some(b'#') {
                    COMMENT_IN_LIST_SEPARATOR
                } else {
                    EXPECTING_LIST_SEPARATOR
                };
                return Err(self.error(message));
            }
            self.pos += 1;
            self.skip_blanks_and_eol();
            if self.peek() == Some(b']') {
                break;
            }
            items.push(self.list_item()?);
            self.skip_blanks_and_eol();
        }
        if self.peek() != Some(b']') {
            return Err(RawError {
                at: open,
                message: LIST_NOT_CLOSED,
            });
        }
        self.pos += 1;
        Ok(Value::List(items))
    }

    fn list_item(&mut self) -> Result<Value, RawError> {
        if self.peek() == Some(b'#') {
            return Err(self.error(COMMENT_IN_LIST_VALUE));
        }
        Ok(self.value()?.0)
    }

    fn integer(&mut self) -> Result<i64, RawError> {
        let negative = self.peek() == Some(b'-');
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.error(UNTERMINATED_NUMBER));
        }
        let start = self.pos;
        let mut n: i64 = 0;
        while let Some(digit) = self.peek().filter(u8::is_ascii_digit) {
            let digit = i64::from(digit - b'0');
            // Accumulate on the sign's side so that i64::MIN itself parses.
            n = n
                .checked_mul(10)
                .and_then(|n| {
                    if negative {
                        n.checked_sub(digit)
                    } else {
                        n.checked_add(digit)
                    }
                })
                .ok_or(RawError {
                    at: start,
                    message: NUMERIC_OVERFLOW,
                })?;
            self.pos += 1;
        }
        Ok(n)
    }

    /// Between statements: the end of input, line breaks, or `;`.
    fn separator(&mut self) -> Result<(), RawError> {
        self.skip_blanks();
        match self.peek() {
            None => Ok(()),
            Some(b';') => {
                self.pos += 1;
                self.skip_blanks_and_eol();
                Ok(())
            }
            Some(b) if is_eol(b) => {
                self.skip_blanks_and_eol();
                Ok(())
            }
            Some(_) => Err(self.error(EXPECTING_SEPARATOR)),
        }
    }
}

/// Comment lines that read as `key = value` once their `#` and blanks are dropped. A commented
/// value that opens a list or a `"""` string continues on the following comment lines.
fn commented_defaults(src: &[u8], comments: &[Range<usize>]) -> Vec<CommentedDefault> {
    let mut defaults = Vec::new();
    for (i, comment) in comments.iter().enumerate() {
        if !starts_line(src, comment.start) {
            continue;
        }
        let text = &src[comment.start + 1..comment.end];
        let Some((key, value_at)) = commented_key(text) else {
            continue;
        };
        let last = commented_value_end(src, comments, i, value_at);
        defaults.push(CommentedDefault {
            key,
            end: comments[last].end,
        });
    }
    defaults
}

/// The key of `key = ...` and where its value starts, or `None` for prose.
fn commented_key(text: &[u8]) -> Option<(String, usize)> {
    let mut cur = Cursor { src: text, pos: 0 };
    cur.skip_blanks();
    let key = cur.name().ok()?;
    cur.skip_blanks();
    (cur.peek() == Some(b'=')).then_some((key, cur.pos + 1))
}

/// Index of the last comment that the commented value starting in `comments[first]` spans:
/// the value is read from the run of comment lines that follow one another, as libvirt would
/// read them once uncommented. A value that does not read falls back to its first line.
fn commented_value_end(
    src: &[u8],
    comments: &[Range<usize>],
    first: usize,
    value_at: usize,
) -> usize {
    let text_of = |c: &Range<usize>| &src[c.start + 1..c.end];
    let mut text = text_of(&comments[first]).to_vec();
    let mut last = first;
    while last - first < MAX_COMMENTED_DEFAULT_LINES
        && comments
            .get(last + 1)
            .is_some_and(|next| on_next_line(src, comments[last].end, next.start))
    {
        last += 1;
        text.push(b'\n');
        text.extend_from_slice(text_of(&comments[last]));
    }
    let mut cur = Cursor {
        src: &text,
        pos: value_at,
    };
    match cur.value() {
        Ok(_) => first + text[..cur.pos].split(|&b| b == b'\n').count() - 1,
        Err(_) => first,
    }
}

/// Whether only blanks stand between the start of the line and `at`.
fn starts_line(src: &[u8], at: usize) -> bool {
    src[..at]
        .iter()
        .rev()
        .take_while(|&&b| !is_eol(b))
        .all(|&b| is_blank(b))
}

/// Whether `to` is on the line right after the one that ends at `from`, after only blanks.
fn on_next_line(src: &[u8], from: usize, to: usize) -> bool {
    let between = &src[from..to];
    let rest = between
        .strip_prefix(b"\r\n")
        .or_else(|| between.strip_prefix(b"\n"))
        .or_else(|| between.strip_prefix(b"\r"));
    rest.is_some_and(|rest| rest.iter().all(|&b| is_blank(b)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const DEBIAN: &[u8] =
        include_bytes!("../../tests/fixtures/qemu_conf/debian12-libvirt-9.0.0.conf");

    /// Each commented default as (key, line its text ends on).
    fn defaults(src: &[u8]) -> Vec<(String, usize)> {
        let doc = parse(src).unwrap();
        doc.defaults
            .iter()
            .map(|d| (d.key.clone(), line_column(src, d.end).0))
            .collect()
    }

    fn last_line(defaults: &[(String, usize)], key: &str) -> Option<usize> {
        defaults
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|&(_, line)| line)
    }

    #[test]
    fn debian_stock_commented_defaults() {
        let found = defaults(DEBIAN);
        assert_eq!(last_line(&found, "user"), Some(519));
        assert_eq!(last_line(&found, "group"), Some(523));
        // Multi-line commented lists end on their `#]` line.
        assert_eq!(last_line(&found, "cgroup_device_acl"), Some(569));
        assert_eq!(last_line(&found, "nvram"), Some(844));
        assert_eq!(last_line(&found, "hugetlbfs_mount"), Some(646));
        // The examples above `#user = "libvirt-qemu"` count too; the last one is the default.
        let users: Vec<_> = found
            .iter()
            .filter(|(k, _)| k == "user")
            .map(|(_, l)| *l)
            .collect();
        assert_eq!(users, [515, 516, 517, 519]);
    }

    #[test]
    fn commented_default_spans() {
        let src =
            b"#a = [\r\n#  1,\r\n#]\r\n# b = \"\"\"x\n#y\"\"\"\n  #c = 1 # note\n#d = [\n\n#]\n";
        let found = defaults(src);
        assert_eq!(
            found,
            [
                ("a".to_owned(), 3),
                ("b".to_owned(), 5),
                ("c".to_owned(), 6),
                ("d".to_owned(), 7)
            ]
        );
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_column(b"ab\r\ncd", 2), (1, 3));
        assert_eq!(line_column(b"ab", 2), (1, 3));
        assert_eq!(line_column("é x".as_bytes(), 3), (1, 3));
    }
}
