//! The values this run must never show: those of qemu.conf's secret settings (passwords, the
//! UUIDs of TLS key secrets), in the task and in the file; and with the task's `no_log`, those
//! of every setting it manages. They are handed to [`ansible_module::Ctx::hide`], which masks
//! them in results, diffs and messages as AnsibleModule masks `no_log` values.

use serde_json::Value;
use vhostuser::{qemu_conf, text};

use crate::wanted::Params;

/// The task's own secret values.
pub(crate) fn wanted(params: &Params, no_log: bool) -> Vec<String> {
    let mut out = Vec::new();
    let named = [("user", &params.user), ("group", &params.group)];
    for (key, value) in named {
        if let Some(value) = value {
            if no_log || qemu_conf::is_secret_key(key) {
                texts_of_json(&Value::String(value.clone()), &mut out);
            }
        }
    }
    for (key, value) in params.settings.iter().flatten() {
        if no_log || qemu_conf::is_secret_key(key) {
            texts_of_json(value, &mut out);
        }
    }
    out
}

/// The secret values in the file: every secret key's, and with `no_log` every managed key's.
pub(crate) fn in_file(bytes: &[u8], params: &Params, no_log: bool) -> Vec<String> {
    let mut out = Vec::new();
    for value in qemu_conf::secret_values(bytes) {
        with_escaped(value, &mut out);
    }
    if no_log {
        if let Ok(doc) = qemu_conf::parse(bytes) {
            let managed = |key: &str| {
                ["user", "group"].contains(&key)
                    || params
                        .settings
                        .as_ref()
                        .is_some_and(|s| s.contains_key(key))
            };
            for entry in doc.entries().filter(|e| managed(&e.key)) {
                texts_of_json(&entry.value.to_json(), &mut out);
            }
        }
    }
    out
}

fn texts_of_json(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => with_escaped(s.clone(), out),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|v| texts_of_json(v, out)),
        Value::Object(map) => map.values().for_each(|v| texts_of_json(v, out)),
        // AnsibleModule keeps booleans and null.
        Value::Bool(_) | Value::Null => {}
    }
}

/// A value and the escaped form messages quote it in (`'a\'b'`), so neither shows.
fn with_escaped(value: String, out: &mut Vec<String>) {
    let escaped = text::escaped(&value);
    if escaped != value {
        out.push(escaped);
    }
    out.push(value);
}
