//! What the configuration-file editors share: where a parse failed, and which line ending a
//! file uses for the lines an edit adds; and how every message quotes a value and gives a
//! duration.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// Where and why a file does not parse. `column` counts characters from 1 (a byte that is not
/// UTF-8 counts as one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// The line ending most lines of `src` use, for new lines to match (`\n` for an empty file).
#[must_use]
pub fn line_ending(src: &[u8]) -> &'static [u8] {
    let crlf = src.windows(2).filter(|w| w == b"\r\n").count();
    let lf = src.split(|&b| b == b'\n').count() - 1 - crlf;
    if crlf > lf { b"\r\n" } else { b"\n" }
}

/// `value` as messages quote it: in single quotes, as Ansible does, escaped by [`escaped`].
#[must_use]
pub fn quoted(value: &str) -> String {
    format!("'{}'", escaped(value))
}

/// `value` with what a message cannot show as itself escaped: a single quote (`\'`), a
/// backslash (`\\`) and control characters (`\n`, `\0`, `\u{1b}`), so a reader sees
/// exactly what the value holds and where it ends.
#[must_use]
pub fn escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.extend(c.escape_debug()),
            c => out.push(c),
        }
    }
    out
}

/// A duration as messages give it: in seconds, with the fraction only when there is one
/// (`5s`, `0.3s`).
#[must_use]
pub fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

/// The first `shown` names joined for a message, then how many more: `a, b and 3 more`.
#[must_use]
pub fn short_list(names: &[String], shown: usize) -> String {
    if names.len() <= shown {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..shown].join(", "),
            names.len() - shown
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_as_ansible_quotes_them_with_what_hides_escaped() {
        assert_eq!(quoted("vhu1"), "'vhu1'");
        assert_eq!(quoted("it's"), "'it\\'s'");
        assert_eq!(quoted("a\\b"), "'a\\\\b'");
        assert_eq!(quoted("a\nb\0\u{1b}"), "'a\\nb\\0\\u{1b}'");
        assert_eq!(quoted("a \"b\" é"), "'a \"b\" é'");
    }

    #[test]
    fn durations_are_given_in_seconds() {
        assert_eq!(seconds(Duration::from_secs(5)), "5s");
        assert_eq!(seconds(Duration::from_millis(300)), "0.3s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn line_ending_follows_most_lines() {
        assert_eq!(line_ending(b""), b"\n");
        assert_eq!(line_ending(b"a\r\nb\r\nc\n"), b"\r\n");
        assert_eq!(line_ending(b"a\r\nb\nc\n"), b"\n");
        assert_eq!(line_ending(b"a\r\n"), b"\r\n");
        assert_eq!(line_ending(b"a"), b"\n");
    }

    #[test]
    fn errors_say_where() {
        let e = ParseError {
            line: 3,
            column: 9,
            message: "expecting a value".into(),
        };
        assert_eq!(e.to_string(), "line 3, column 9: expecting a value");
    }
}
