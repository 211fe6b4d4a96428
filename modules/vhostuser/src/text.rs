//! What the configuration-file editors share: where a parse failed, and which line ending a
//! file uses for the lines an edit adds.

use std::fmt;

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

#[cfg(test)]
mod tests {
    use super::*;

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
