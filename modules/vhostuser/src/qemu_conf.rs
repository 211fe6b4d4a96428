//! libvirt's `qemu.conf`: a parser that reads it the way libvirt's `virconf.c` does, and an
//! editor that changes single settings in place.
//!
//! Why not parse into a tree and write it back: the file is an administrator's, hundreds of lines
//! of comments that document every setting, sometimes with CRLF endings or bytes that are not
//! UTF-8. So the parser works on bytes and remembers where each statement sits, and the editor
//! splices new bytes into exactly those places; every other byte stays as it was.
//!
//! Where this parser differs from `virconf.c`, on purpose:
//! - a file of only blanks and line breaks parses as empty (libvirt reports "expecting a name"),
//!   so that the editor can still fill it;
//! - an integer that does not fit in 64 bits is an error (libvirt silently wraps it);
//! - an unterminated string or list is reported where it opens, not where the input ran out.
//!
//! Comments inside a list (`[ "a", # note`) are rejected, as `virconf.c` rejects them: it skips
//! only blanks and line breaks between list items.

mod edit;
mod parser;
mod secrets;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Serialize;

pub use edit::apply;
pub use parser::parse;
pub use secrets::{is_secret_key, secret_values};

/// A setting's value, in the three kinds `virconf.c` knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Str(String),
    List(Vec<Value>),
}

impl Value {
    /// From an Ansible option value: string -> `Str`, integer -> `Int`, bool -> `Int(1|0)`
    /// (libvirt's booleans are ints), list of strings/ints/bools -> `List`. A float, null, dict
    /// or nested list is an error that names the type and says what is accepted.
    pub fn from_json(v: &serde_json::Value) -> Result<Value, String> {
        match v {
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    scalar_from_json(item).map_err(|e| format!("item {} of the list: {e}", i + 1))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            other => scalar_from_json(other),
        }
    }

    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(n) => serde_json::Value::from(*n),
            Value::Str(s) => serde_json::Value::from(s.as_str()),
            Value::List(items) => items.iter().map(Value::to_json).collect(),
        }
    }
}

fn scalar_from_json(v: &serde_json::Value) -> Result<Value, String> {
    const ACCEPTED: &str = "use an integer, a string or a list of them";
    match v {
        serde_json::Value::String(s) => Ok(Value::Str(s.clone())),
        serde_json::Value::Bool(b) => Ok(Value::Int(i64::from(*b))),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(Value::Int(i)),
            None if n.is_u64() => Err(format!(
                "the integer {n} is too large for qemu.conf (at most {})",
                i64::MAX
            )),
            None => Err(format!(
                "a float ({n}) is not a qemu.conf value; use an integer or a string"
            )),
        },
        serde_json::Value::Null => Err(format!(
            "null is not a qemu.conf value; {ACCEPTED} (to remove a setting, make it absent)"
        )),
        serde_json::Value::Array(_) => Err(
            "a nested list is not a qemu.conf value; a list holds strings and integers".to_owned(),
        ),
        serde_json::Value::Object(_) => Err(format!("a dict is not a qemu.conf value; {ACCEPTED}")),
    }
}

pub use crate::text::ParseError;

/// One active (uncommented) statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub key: String,
    pub value: Value,
    /// 1-based line of the key.
    pub line: usize,
}

/// A key set more than once. libvirt uses the first occurrence and silently ignores the rest,
/// which is how a later `group = ...` line fools whoever reads the file from the bottom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    pub key: String,
    pub lines: Vec<usize>,
}

/// A parsed `qemu.conf` that still knows its bytes, so that it can be edited in place.
#[derive(Debug, Clone)]
pub struct Document {
    bytes: Vec<u8>,
    statements: Vec<Statement>,
    defaults: Vec<CommentedDefault>,
}

impl Document {
    /// Active entries, in file order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.statements.iter().map(|s| &s.entry)
    }

    /// The value libvirt uses: the first active occurrence.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries().find(|e| e.key == key).map(|e| &e.value)
    }

    /// Every key with more than one active occurrence, in the order of first occurrence.
    #[must_use]
    pub fn duplicates(&self) -> Vec<Duplicate> {
        let mut seen: Vec<Duplicate> = Vec::new();
        for entry in self.entries() {
            match seen.iter_mut().find(|d| d.key == entry.key) {
                Some(d) => d.lines.push(entry.line),
                None => seen.push(Duplicate {
                    key: entry.key.clone(),
                    lines: vec![entry.line],
                }),
            }
        }
        seen.retain(|d| d.lines.len() > 1);
        seen
    }
}

/// An active statement and where its parts sit in the original bytes.
#[derive(Debug, Clone)]
struct Statement {
    entry: Entry,
    /// First byte of the key.
    start: usize,
    /// The value as written, quotes and brackets included.
    value: Range<usize>,
    quote: Quote,
    /// After the value, its trailing blanks and any trailing comment: where a separator follows.
    end: usize,
}

/// How a value was written, so that a rewrite can keep the administrator's quoting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Single,
    Double,
    Triple,
    None,
}

/// A comment line that reads as a setting (`#group = "qemu"`): the stock file documents each
/// setting this way, so a new setting goes right after its commented default.
#[derive(Debug, Clone)]
struct CommentedDefault {
    key: String,
    /// End of the text of its last line (a commented list spans lines), before the line ending.
    end: usize,
}

/// What a managed key should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Desired {
    Present(Value),
    Absent,
}

/// The outcome of [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The new file bytes (equal to the input when nothing changed).
    pub content: Vec<u8>,
    pub changed: bool,
    /// Later active duplicates of the `Present` keys that were commented out; `lines` are those
    /// lines, numbered as in the original file. Occurrences commented out for an `Absent` key are
    /// removals, not duplicates, and are not listed.
    pub commented_duplicates: Vec<Duplicate>,
    /// The value libvirt will use for each managed key after the edit (`None`: unset, so its
    /// built-in default).
    pub values: BTreeMap<String, Option<Value>>,
}

/// Why [`apply`] changed nothing.
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
                "qemu.conf does not parse, so it was left untouched: {e} \
                 (libvirt cannot read it either; fix the file by hand first)"
            ),
            EditError::InvalidKey(key) => write!(
                f,
                "'{key}' is not a valid qemu.conf key: a key starts with a letter \
                 and holds only letters, digits and '_'"
            ),
            EditError::UnsafeValue { key, reason } => {
                write!(
                    f,
                    "cannot write '{key}' safely, so nothing was changed: {reason}"
                )
            }
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

/// A key as `virconf.c` reads one: a letter, then letters, digits and '_'.
fn is_valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn from_json_takes_scalars_and_flat_lists() {
        assert_eq!(
            Value::from_json(&json!("hugetlbfs")),
            Ok(Value::Str("hugetlbfs".into()))
        );
        assert_eq!(Value::from_json(&json!(-3)), Ok(Value::Int(-3)));
        assert_eq!(Value::from_json(&json!(true)), Ok(Value::Int(1)));
        assert_eq!(Value::from_json(&json!(false)), Ok(Value::Int(0)));
        assert_eq!(
            Value::from_json(&json!(["a", 2, true])),
            Ok(Value::List(vec![
                Value::Str("a".into()),
                Value::Int(2),
                Value::Int(1)
            ]))
        );
        assert_eq!(Value::from_json(&json!([])), Ok(Value::List(vec![])));
    }

    #[test]
    fn from_json_names_what_it_refuses() {
        let err = |v| Value::from_json(&v).unwrap_err();
        assert_eq!(
            err(json!(1.5)),
            "a float (1.5) is not a qemu.conf value; use an integer or a string"
        );
        assert!(err(json!(null)).starts_with("null is not a qemu.conf value"));
        assert!(err(json!({"a": 1})).starts_with("a dict is not a qemu.conf value"));
        assert_eq!(
            err(json!(["a", ["b"]])),
            "item 2 of the list: a nested list is not a qemu.conf value; \
             a list holds strings and integers"
        );
        assert!(err(json!(u64::MAX)).contains("too large"));
    }

    #[test]
    fn to_json_round_trips() {
        for v in [json!("x"), json!(7), json!(["a", 1]), json!([])] {
            assert_eq!(Value::from_json(&v).unwrap().to_json(), v);
        }
    }

    #[test]
    fn serializes_untagged() {
        let v = Value::List(vec![Value::Str("a".into()), Value::Int(1)]);
        assert_eq!(serde_json::to_value(&v).unwrap(), json!(["a", 1]));
    }

    #[test]
    fn keys_follow_virconf() {
        for good in ["user", "group", "cgroup_device_acl", "a1", "A_"] {
            assert!(is_valid_key(good), "{good}");
        }
        for bad in ["", "1a", "_a", "x y", "a-b", "a.b", "grüppe", "a=b"] {
            assert!(!is_valid_key(bad), "{bad}");
        }
    }
}
