//! What the task asks for, as a list of keys and their desired state.

use ansible_module::Failure;
use serde::Deserialize;
use serde_json::{Map, Value};
use vhostuser::qemu_conf::{self, Desired, Document};

/// The options as Ansible sends them (after the spec's checks).
#[derive(Debug, Deserialize)]
pub struct Params {
    pub path: String,
    pub user: Option<String>,
    pub group: Option<String>,
    pub settings: Option<Map<String, Value>>,
    pub state: State,
    pub backup: bool,
    pub create: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Present,
    Absent,
}

/// The keys to manage and what each should become, in the order given. `current` is the file
/// as it is, which decides how a quoted number is written.
pub(crate) fn wanted(
    params: &Params,
    current: &Document,
) -> Result<Vec<(String, Desired)>, Failure> {
    let mut wanted = Vec::new();
    for (key, value) in [("user", &params.user), ("group", &params.group)] {
        if let Some(value) = value {
            wanted.push((
                key.to_owned(),
                desire(params.state, &Value::String(value.clone()))?,
            ));
        }
    }
    for (key, value) in params.settings.iter().flatten() {
        if wanted.iter().any(|(k, _)| k == key) {
            return Err(Failure::new(format!(
                "settings repeats '{key}', which is also given as the {key} option; give it once"
            )));
        }
        let value = typed_like_current(key, value, current);
        let desired = desire(params.state, &value)
            .map_err(|e| Failure::new(format!("settings.{key}: {}", e.msg)))?;
        wanted.push((key.clone(), desired));
    }
    if wanted.is_empty() {
        return Err(Failure::new(
            "nothing to manage: give user, group or settings with at least one value",
        ));
    }
    Ok(wanted)
}

fn desire(state: State, value: &Value) -> Result<Desired, Failure> {
    match state {
        State::Present => qemu_conf::Value::from_json(value)
            .map(Desired::Present)
            .map_err(Failure::new),
        State::Absent => Ok(Desired::Absent),
    }
}

/// A number may arrive quoted (k=v arguments, quoted YAML, templates before ansible-core
/// 2.19). Written as a string where libvirt expects an integer, it stops libvirtd from
/// starting; written as an integer where it expects a string (a numeric password), likewise.
/// So a quoted number takes the type the key already has in the file.
fn typed_like_current(key: &str, value: &Value, current: &Document) -> Value {
    match (value, current.get(key)) {
        (Value::String(text), Some(qemu_conf::Value::Int(_))) => text
            .trim()
            .parse::<i64>()
            .map_or_else(|_| value.clone(), Value::from),
        _ => value.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoted_numbers_follow_the_current_type() {
        let doc = qemu_conf::parse(b"dynamic_ownership = 1\nvnc_password = \"1234\"\n").unwrap();
        assert_eq!(
            typed_like_current("dynamic_ownership", &json!("0"), &doc),
            json!(0)
        );
        assert_eq!(
            typed_like_current("vnc_password", &json!("5678"), &doc),
            json!("5678")
        );
        assert_eq!(
            typed_like_current("max_files", &json!("10"), &doc),
            json!("10")
        );
        assert_eq!(
            typed_like_current("dynamic_ownership", &json!("yes"), &doc),
            json!("yes")
        );
    }
}
