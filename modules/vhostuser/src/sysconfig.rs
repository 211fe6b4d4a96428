//! Shell-variable files such as `/etc/sysconfig/openvswitch`: a parser that reads them the way
//! systemd's `EnvironmentFile=` and a sourcing `sh` agree on, and an editor that sets one
//! variable in place.
//!
//! Why in place: the file is an administrator's (the RPM ships it as a page of comments with a
//! commented `#OVS_USER_ID="openvswitch:openvswitch"` template), sometimes with CRLF endings or
//! bytes that are not UTF-8. So the parser works on bytes and remembers where each assignment
//! sits, and the editor splices new bytes into exactly those places; every other byte stays.
//!
//! The grammar, line by line (a line ends at LF; a CR right before it, or at the very end of the
//! file, belongs to the line ending):
//! - blank, or a comment: first non-blank `#`, or `;` as systemd also allows;
//! - `[export ]KEY=value` after optional blanks, with no blanks around `=` (the sh rule). The value
//!   is `"double"` (with sh's escapes `\"`, `\\`, `\$`, `` \` ``), `'single'` (no escapes) or
//!   unquoted (to the end of the line or a ` #` comment, trailing blanks trimmed, `\c` read as
//!   `c`); blanks and a ` #` comment may follow it;
//! - anything else is kept as an *unparsed* line and reported, not rejected: `KEY = value`,
//!   `ulimit -n 2048`, `KEY="a"b`, or an unquoted value with a quote inside (`KEY=it's`), where
//!   sh and systemd read different extents.
//!
//! A quote still open at the end of its line, or a backslash that ends an unquoted value, is an
//! error: sh and systemd would read on into the next lines, and this parser does not follow them.
//! A line below an unparsed line that ends with a backslash is unparsed too: sh reads it as more
//! words of that command. systemd runs on past a backslash elsewhere as well (a trailing comment
//! is part of its value, and before v254 a comment line continues), which [`systemd`] models;
//! the editor checks every result against that model and this parser, and puts a blank line
//! between the key's line and a line that would run on into it (see [`set`]).
//!
//! The last assignment of a key wins, as in sh and systemd. `$` and `` ` `` are kept as written
//! (systemd does not expand them; sh would).
//!
//! Where systemd and sh disagree on lines that this parser accepts (callers may want to warn):
//! systemd ignores an `export KEY=...` line (it takes `export KEY` as an invalid name), and reads
//! a ` #` after a value as part of the value (`KEY="a" # note` is `a# note` to systemd). The
//! parser reads such lines as sh does; the editor never leaves the key it sets in either form
//! (see [`set`]). A value that is not UTF-8 (trailing comment included) is worse: systemd then
//! refuses the whole file, and the Open vSwitch units, which load it with
//! `EnvironmentFile=-/etc/sysconfig/openvswitch`, start without any of its settings; the editor
//! rewrites such a line of its key and refuses to edit a file with another one. And systemd reads
//! some unparsed lines as assignments (`KEY = value`): the editor places a new line below those,
//! so that it wins for both readers, and refuses to edit an assignment that such a line
//! overrides.

mod edit;
mod parser;
pub mod systemd;

use std::fmt;
use std::ops::Range;

use serde::Serialize;

pub use edit::set;
pub use parser::parse;

/// One `KEY=value` line, as the reader of the file sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub key: String,
    /// Unquoted and unescaped; bytes that are not UTF-8 read as U+FFFD.
    pub value: String,
    /// 1-based.
    pub line: usize,
    /// Written as `export KEY=...`: sh exports it, systemd ignores the line.
    pub exported: bool,
}

pub use crate::text::ParseError;

/// A parsed file that still knows its bytes, so that it can be edited in place.
#[derive(Debug, Clone)]
pub struct File {
    bytes: Vec<u8>,
    assignments: Vec<Located>,
    templates: Vec<Template>,
    unparsed: Vec<usize>,
    systemd_only: Vec<SystemdOnly>,
    /// 1-based numbers of the lines that make systemd refuse the whole file (see
    /// `parser::systemd_rejects`).
    systemd_rejects: Vec<usize>,
    /// 1-based numbers of the lines that sh joins to an unparsed line above them, which ends
    /// with a backslash: read as `Unparsed` whatever they hold. The line after the last counts
    /// too, for what an edit appends.
    sh_continued: Vec<usize>,
    /// How many lines the file has (a last line without a line ending counts).
    line_count: usize,
}

impl File {
    /// The effective assignment of `key`: the last one, as sh and systemd use.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Assignment> {
        self.located(key).last().map(|l| &l.assignment)
    }

    /// Every assignment of `key` in file order; all but the last are shadowed.
    #[must_use]
    pub fn assignments(&self, key: &str) -> Vec<&Assignment> {
        self.located(key).iter().map(|l| &l.assignment).collect()
    }

    /// 1-based numbers of the lines that are neither blank, a comment nor an assignment: worth a
    /// warning, since sh would run them as commands and systemd skips or misreads them.
    #[must_use]
    pub fn unparsed_lines(&self) -> &[usize] {
        &self.unparsed
    }

    fn located(&self, key: &str) -> Vec<&Located> {
        self.assignments
            .iter()
            .filter(|l| l.assignment.key == key)
            .collect()
    }
}

/// An assignment and where its parts sit in the file's bytes.
#[derive(Debug, Clone)]
struct Located {
    assignment: Assignment,
    /// The value's bytes, unquoted and unescaped: compared as bytes, not as lossy text.
    raw: Vec<u8>,
    /// First byte of the line, where a `#` comments it out.
    line_start: usize,
    /// First byte after the leading blanks: where `export` or the key starts.
    statement_start: usize,
    /// The value as written, quotes included, without trailing blanks or comment.
    value: Range<usize>,
    /// A trailing comment, from its `#` to the end of the line's text (trailing blanks included,
    /// line ending excluded): systemd reads it as part of the value.
    comment: Option<Range<usize>>,
}

/// A comment that reads as an assignment once its `#` is dropped (`#OVS_USER_ID="..."`): the
/// RPM's way of documenting a variable, and where the RPM's own `%post` puts the real line.
#[derive(Debug, Clone)]
struct Template {
    key: String,
    /// The line's text, leading blanks included, line ending excluded.
    text: Range<usize>,
    /// 1-based.
    line: usize,
}

/// An unparsed line that systemd still reads as an assignment, since it allows blanks around `=`
/// and quotes anywhere (`KEY = value`, `KEY=it's`): a new line for `key` must not go above it,
/// or systemd would keep this one.
#[derive(Debug, Clone)]
struct SystemdOnly {
    key: String,
    line: usize,
    /// First byte of the line.
    at: usize,
}

/// The outcome of [`set`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The new file bytes (equal to the input when nothing changed).
    pub content: Vec<u8>,
    pub changed: bool,
    /// Earlier, shadowed assignments of the key that were commented out, numbered as in the
    /// original file: worth reporting, since someone wrote them meaning something.
    pub commented_duplicates: Vec<usize>,
    /// Why the effective assignment was rewritten although it already held the value for sh:
    /// it was `export`ed or had a trailing comment, so systemd did not read that value. `None`
    /// when no such rewrite was needed (also when the value itself changed, which rewrites the
    /// line anyway). Worth a warning, since the line's form changed.
    pub rewritten_for_systemd: Option<String>,
}

/// Why [`set`] changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    Parse(ParseError),
    InvalidKey(String),
    UnsafeValue { key: String, reason: String },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::Parse(e) => write!(
                f,
                "the file does not parse, so it was left untouched: {e} (fix the file by hand first)"
            ),
            EditError::InvalidKey(key) => write!(
                f,
                "'{key}' is not a valid variable name: a name starts with a letter or '_' \
                 and holds only ASCII letters, digits and '_'"
            ),
            EditError::UnsafeValue { key, reason } => write!(
                f,
                "cannot write '{key}' safely, so nothing was changed: {reason}"
            ),
        }
    }
}

impl std::error::Error for EditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EditError::Parse(e) => Some(e),
            _ => None,
        }
    }
}

/// A variable name as sh and systemd accept one: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && parser::name_end(key.as_bytes(), 0) == key.len()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_sh() {
        for good in ["OVS_USER_ID", "_x", "a1", "A_", "_"] {
            assert!(is_valid_key(good), "{good}");
        }
        for bad in ["", "1a", "x y", "a-b", "a.b", "grüppe", "a=b", "export OVS"] {
            assert!(!is_valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn errors_display() {
        let e = ParseError {
            line: 3,
            column: 13,
            message: "m".into(),
        };
        assert_eq!(e.to_string(), "line 3, column 13: m");
        assert_eq!(
            EditError::Parse(e).to_string(),
            "the file does not parse, so it was left untouched: line 3, column 13: m \
             (fix the file by hand first)"
        );
        assert!(
            EditError::InvalidKey("a-b".into())
                .to_string()
                .starts_with("'a-b' is not a valid variable name")
        );
        let unsafe_value = EditError::UnsafeValue {
            key: "K".into(),
            reason: "r".into(),
        };
        assert_eq!(
            unsafe_value.to_string(),
            "cannot write 'K' safely, so nothing was changed: r"
        );
    }
}
