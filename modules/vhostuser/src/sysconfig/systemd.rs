//! How systemd's `EnvironmentFile=` reads a file: a byte-for-byte model of
//! `parse_env_file_internal` and `load_env_file_push` (src/basic/env-file.c), so that an edit can
//! be checked against what the units really get, continuation lines included.
//!
//! systemd reads the file as one stream, not line by line: a backslash before a line ending
//! continues an unquoted value onto the next line, a quoted value runs on until its quote closes,
//! and, before v254, a backslash at the end of a comment continues the comment too (so
//! `# e.g. OPTIONS="--foo \` hides the line below it). Both versions are modelled, since RHEL 9
//! ships 252 and newer distributions do not continue comments.

use std::collections::BTreeMap;

/// Which of systemd's two readings of a comment that ends with a backslash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Systemd {
    /// Up to v253 (RHEL 9 has 252): the comment continues onto the next line.
    Before254,
    /// From v254 on: the comment ends there.
    Since254,
}

impl Systemd {
    /// Every reading an edit must satisfy.
    pub const ALL: [Systemd; 2] = [Systemd::Before254, Systemd::Since254];
}

/// One `key=value` that systemd hands on, before its UTF-8 and name checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// 1-based line where the key starts.
    pub line: usize,
}

/// What systemd reads from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// In file order, every line systemd takes as `key=value`.
    pub pushed: Vec<Pushed>,
    /// 1-based numbers of the lines (counted at LF) that systemd reads as part of the line
    /// before them: the rest of a value or of a comment. Nothing written on them stands alone.
    pub continued: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    Single,
    Double,
    DoubleEscape,
    Comment,
    CommentEscape,
}

/// The assignment being read and where trailing blanks start in its key and value.
#[derive(Debug, Default)]
struct Pending {
    key: Vec<u8>,
    key_blanks: Option<usize>,
    value: Vec<u8>,
    value_blanks: Option<usize>,
    line: usize,
}

impl Pending {
    fn push(&mut self, out: &mut Vec<Pushed>, trim_value: bool) {
        let mut key = std::mem::take(&mut self.key);
        key.truncate(self.key_blanks.unwrap_or(key.len()));
        let mut value = std::mem::take(&mut self.value);
        if trim_value {
            value.truncate(self.value_blanks.unwrap_or(value.len()));
        }
        out.push(Pushed {
            key,
            value,
            line: self.line,
        });
    }
}

fn is_newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

fn is_white(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Tracks where trailing blanks start, as `last_*_whitespace` does.
fn note_blank(blanks: &mut Option<usize>, len: usize, c: u8) {
    if !is_white(c) {
        *blanks = None;
    } else if blanks.is_none() {
        *blanks = Some(len);
    }
}

/// Reads `bytes` as `version` of systemd does.
#[must_use]
pub fn read(bytes: &[u8], version: Systemd) -> Reading {
    use State::{
        Comment, CommentEscape, Double, DoubleEscape, Key, PreKey, PreValue, Single, Value,
        ValueEscape,
    };
    let mut pushed = Vec::new();
    let mut continued = Vec::new();
    let mut at = Pending::default();
    let mut state = PreKey;
    let mut line = 1;
    for &c in bytes {
        state = match state {
            PreKey if c == b'#' || c == b';' => Comment,
            PreKey if !is_white(c) => {
                at = Pending {
                    key: vec![c],
                    line,
                    ..Pending::default()
                };
                Key
            }
            PreKey => PreKey,
            Key if is_newline(c) => PreKey,
            Key if c == b'=' => PreValue,
            Key => {
                note_blank(&mut at.key_blanks, at.key.len(), c);
                at.key.push(c);
                Key
            }
            PreValue | Value if is_newline(c) => {
                at.push(&mut pushed, state == Value);
                PreKey
            }
            PreValue if c == b'\'' => Single,
            PreValue if c == b'"' => Double,
            PreValue | Value if c == b'\\' => {
                at.value_blanks = None;
                ValueEscape
            }
            PreValue if is_white(c) => PreValue,
            PreValue | Value => {
                note_blank(&mut at.value_blanks, at.value.len(), c);
                at.value.push(c);
                Value
            }
            ValueEscape => {
                if !is_newline(c) {
                    at.value.push(c);
                }
                Value
            }
            Single if c == b'\'' => PreValue,
            Double if c == b'"' => PreValue,
            Double if c == b'\\' => DoubleEscape,
            Single | Double => {
                at.value.push(c);
                state
            }
            DoubleEscape => {
                if !b"\"\\`$".contains(&c) && c != b'\n' {
                    at.value.push(b'\\');
                }
                if c != b'\n' {
                    at.value.push(c);
                }
                Double
            }
            Comment if c == b'\\' => CommentEscape,
            Comment if is_newline(c) => PreKey,
            CommentEscape if is_newline(c) && version == Systemd::Since254 => PreKey,
            Comment | CommentEscape => Comment,
        };
        if c == b'\n' {
            line += 1;
            if !matches!(state, PreKey | Key) {
                continued.push(line);
            }
        }
    }
    if matches!(
        state,
        PreValue | Value | ValueEscape | Single | Double | DoubleEscape
    ) {
        at.push(&mut pushed, state == Value);
    }
    Reading { pushed, continued }
}

/// A name systemd keeps in the environment: `[A-Za-z_][A-Za-z0-9_]*`.
fn valid_name(key: &[u8]) -> bool {
    key.first()
        .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_')
        && key.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Reading {
    /// The environment the units get, in the order systemd keeps it, or `None` when systemd
    /// refuses the whole file: a key or value that is not UTF-8.
    #[must_use]
    pub fn environment(&self) -> Option<Vec<(String, String)>> {
        let mut env: Vec<(String, String)> = Vec::new();
        for p in &self.pushed {
            let key = String::from_utf8(p.key.clone()).ok()?;
            let value = String::from_utf8(p.value.clone()).ok()?;
            if valid_name(key.as_bytes()) {
                env.retain(|(k, _)| *k != key);
                env.push((key, value));
            }
        }
        Some(env)
    }

    /// The last value of each valid name as bytes, whether or not systemd would accept the
    /// file: what an edit must leave as it was for every name but its own.
    #[must_use]
    pub fn values(&self) -> BTreeMap<&[u8], &[u8]> {
        self.pushed
            .iter()
            .filter(|p| valid_name(&p.key))
            .map(|p| (p.key.as_slice(), p.value.as_slice()))
            .collect()
    }

    /// Whether `line` is read as part of the line before it.
    #[must_use]
    pub fn is_continued(&self, line: usize) -> bool {
        self.continued.contains(&line)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn env(bytes: &[u8], version: Systemd) -> Vec<(String, String)> {
        read(bytes, version).environment().unwrap()
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_comment_continues_before_v254_only() {
        let src = b"# e.g. OPTIONS=\"--foo \\\nOVS_USER_ID=\"a:b\"\nC=1\n";
        assert_eq!(env(src, Systemd::Before254), pairs(&[("C", "1")]));
        assert_eq!(read(src, Systemd::Before254).continued, [2]);
        assert_eq!(
            env(src, Systemd::Since254),
            pairs(&[("OVS_USER_ID", "a:b"), ("C", "1")])
        );
        assert!(read(src, Systemd::Since254).continued.is_empty());
        // An escaped backslash ends the comment for both.
        for version in Systemd::ALL {
            assert_eq!(
                env(b"# a \\\\\nB=2\n", version),
                pairs(&[("B", "2")]),
                "{version:?}"
            );
        }
    }

    #[test]
    fn a_trailing_comment_is_part_of_the_value_and_continues_it() {
        let src = b"OPTIONS=\"--pidfile\" # keep \\\nOVS_USER_ID=\"openvswitch:hugetlbfs\"\n";
        for version in Systemd::ALL {
            let reading = read(src, version);
            assert_eq!(
                reading.environment().unwrap(),
                pairs(&[(
                    "OPTIONS",
                    "--pidfile# keep OVS_USER_ID=\"openvswitch:hugetlbfs\""
                )])
            );
            assert_eq!(reading.continued, [2]);
        }
        // A CR before the LF is eaten by the backslash, and the LF then ends the value.
        let crlf = b"A=x \\\r\nB=1\r\n";
        assert_eq!(
            env(crlf, Systemd::Before254),
            pairs(&[("A", "x "), ("B", "1")])
        );
        assert!(read(crlf, Systemd::Before254).continued.is_empty());
    }

    #[test]
    fn quirks() {
        let v = Systemd::Before254;
        assert_eq!(env(b"export A=1\nB=2\n", v), pairs(&[("B", "2")]));
        assert_eq!(
            env(b"A=\"a\" # n\nB=b  # n \nC='c'#n\n", v),
            pairs(&[("A", "a# n"), ("B", "b  # n"), ("C", "c#n")])
        );
        assert_eq!(env(b"  A = 1 \r\nA\t=\t2", v), pairs(&[("A", "2")]));
        assert_eq!(
            env(b"A=\"x\\\"\\$\\n\"\nB=a\\ b\\\nc\n", v),
            pairs(&[("A", "x\"$\\n"), ("B", "a bc")])
        );
        assert_eq!(env(b"; a\nA=\n", v), pairs(&[("A", "")]));
        assert_eq!(read(b"A=1\nB=\xfc\n", v).environment(), None);
        assert_eq!(
            read(b"A=1\nB=\xfc\n", v).values().get(&b"B"[..]),
            Some(&&b"\xfc"[..])
        );
        let lines: Vec<usize> = read(b"\n A=1\n\nB='x\ny'\n", v)
            .pushed
            .iter()
            .map(|p| p.line)
            .collect();
        assert_eq!(lines, [2, 4]);
        assert_eq!(read(b"B='x\ny'\n", v).continued, [2]);
    }
}
