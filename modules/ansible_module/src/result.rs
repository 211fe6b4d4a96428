//! What a module answers: one JSON object on stdout, as Ansible's action plugin reads it.

use std::collections::BTreeSet;
use std::fmt::Display;

use serde::Serialize;
use serde_json::{Map, Value};

/// One `diff` entry; Ansible's callback renders `before`/`after` as a unified diff.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diff {
    pub before: Value,
    pub after: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_header: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_header: Option<String>,
}

impl Diff {
    /// A text diff of one file; both headers name it.
    #[must_use]
    pub fn file(path: &str, before: impl Into<String>, after: impl Into<String>) -> Self {
        Diff {
            before: Value::String(before.into()),
            after: Value::String(after.into()),
            before_header: Some(path.to_owned()),
            after_header: Some(path.to_owned()),
        }
    }
}

/// A deprecation notice, shown by Ansible as `[DEPRECATION WARNING]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deprecation {
    pub msg: String,
    pub version: String,
    pub collection_name: String,
}

/// A module's answer. Module-specific return values go in `fields`.
#[derive(Debug, Clone, Default)]
pub struct ModuleResult {
    pub changed: bool,
    pub msg: Option<String>,
    pub diff: Vec<Diff>,
    pub warnings: Vec<String>,
    pub deprecations: Vec<Deprecation>,
    pub fields: Map<String, Value>,
}

impl ModuleResult {
    #[must_use]
    pub fn new(changed: bool) -> Self {
        ModuleResult {
            changed,
            ..Self::default()
        }
    }

    /// Sets a module-specific return value.
    pub fn set(&mut self, key: &str, value: impl Serialize) -> &mut Self {
        // Serializing plain data (strings, numbers, maps with string keys) cannot fail.
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.fields.insert(key.to_owned(), value);
        self
    }

    pub fn warn(&mut self, warning: impl Into<String>) -> &mut Self {
        self.warnings.push(warning.into());
        self
    }

    /// The JSON object Ansible reads. The diff is kept only in diff mode; values of `no_log`
    /// options are scrubbed everywhere, as AnsibleModule does.
    #[must_use]
    pub fn to_json(&self, failed: bool, diff_mode: bool, secrets: &BTreeSet<String>) -> Value {
        let mut out = self.fields.clone();
        out.insert("changed".into(), self.changed.into());
        if failed {
            out.insert("failed".into(), true.into());
        }
        if let Some(msg) = &self.msg {
            out.insert("msg".into(), msg.as_str().into());
        }
        if diff_mode && !self.diff.is_empty() {
            let diff = serde_json::to_value(&self.diff).unwrap_or(Value::Null);
            let diff = match diff {
                Value::Array(mut one) if one.len() == 1 => one.remove(0),
                many => many,
            };
            out.insert("diff".into(), diff);
        }
        if !self.warnings.is_empty() {
            out.insert("warnings".into(), self.warnings.clone().into());
        }
        if !self.deprecations.is_empty() {
            out.insert(
                "deprecations".into(),
                serde_json::to_value(&self.deprecations).unwrap_or(Value::Null),
            );
        }
        let mut out = Value::Object(out);
        if !secrets.is_empty() {
            scrub(&mut out, secrets);
        }
        out
    }
}

/// A failed run: the message, plus whatever the module can still truthfully report (for
/// example `changed: true` when the database was written before a wait timed out).
#[derive(Debug, Clone)]
pub struct Failure {
    pub msg: String,
    pub result: Box<ModuleResult>,
}

impl Failure {
    #[must_use]
    pub fn new(msg: impl Into<String>) -> Self {
        Failure {
            msg: msg.into(),
            result: Box::default(),
        }
    }

    /// A failure that keeps what the run did and found so far.
    #[must_use]
    pub fn with_result(msg: impl Into<String>, result: ModuleResult) -> Self {
        Failure {
            msg: msg.into(),
            result: Box::new(result),
        }
    }
}

/// `?` on a library error (an OVSDB error, say) fails the module with the error's own text:
/// the domain library writes its errors for the user, saying what to do.
impl<E: std::error::Error> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure::new(error.to_string())
    }
}

/// `result.context("could not read /etc/x")?` turns any error into a Failure whose message
/// says what was being done, then why.
pub trait Context<T> {
    fn context(self, what: impl Display) -> Result<T, Failure>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(format!("{what}: {e}")))
    }
}

/// Every secret known so far (`no_log` option values and the values modules hid), for the
/// panic hook, which has no `Ctx`.
static HIDDEN: std::sync::Mutex<BTreeSet<String>> = std::sync::Mutex::new(BTreeSet::new());

pub(crate) fn hide_globally(value: &str) {
    if let Ok(mut hidden) = HIDDEN.lock() {
        hidden.insert(value.to_owned());
    }
}

pub(crate) fn hidden_globally() -> BTreeSet<String> {
    HIDDEN.lock().map(|h| h.clone()).unwrap_or_default()
}

const MASK_WHOLE: &str = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER";
const MASK_PART: &str = "********";

/// AnsibleModule's `remove_values`: a value equal to a secret is replaced whole, a string
/// containing one has it starred out; dict keys, booleans and null stay.
pub(crate) fn scrub(value: &mut Value, secrets: &BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if secrets.contains(s.as_str()) {
                *s = MASK_WHOLE.into();
            } else {
                for secret in secrets {
                    if s.contains(secret.as_str()) {
                        *s = s.replace(secret.as_str(), MASK_PART);
                    }
                }
            }
        }
        Value::Number(n) => {
            let text = n.to_string();
            if secrets.iter().any(|secret| text.contains(secret.as_str())) {
                *value = MASK_WHOLE.into();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub(v, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub(v, secrets)),
        Value::Null | Value::Bool(_) => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_scrubbed_like_ansiblemodule() {
        let secrets = BTreeSet::from(["topsecret".to_owned(), "42".to_owned()]);
        let mut r = ModuleResult::new(true);
        r.set("secret", "topsecret")
            .set("line", "pw=topsecret;")
            .set("n", 1420)
            .set("flag", true);
        r.set("nested", json!({"topsecret": ["topsecret"]}));
        let out = r.to_json(false, false, &secrets);
        assert_eq!(out["secret"], json!("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"));
        assert_eq!(out["line"], json!("pw=********;"));
        assert_eq!(out["n"], json!("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"));
        assert_eq!(out["flag"], json!(true));
        assert_eq!(
            out["nested"],
            json!({"topsecret": ["VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"]})
        );
    }

    #[test]
    fn diff_only_in_diff_mode_and_unwrapped_when_single() {
        let mut r = ModuleResult::new(true);
        r.diff.push(Diff::file("/f", "a\n", "b\n"));
        let none = BTreeSet::new();
        assert!(r.to_json(false, false, &none).get("diff").is_none());
        let out = r.to_json(true, true, &none);
        assert_eq!(out["diff"]["before_header"], json!("/f"));
        assert_eq!(out["failed"], json!(true));
        r.diff.push(Diff::file("/g", "", "x"));
        assert_eq!(
            r.to_json(false, true, &none)["diff"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}
