//! Keeps a module's sidecar documentation (`plugins/modules/<module>.yml`) and its Rust spec
//! equal, option by option, so the docs never drift. ansible-test cannot do it for a binary.

use std::path::Path;

use serde_json::Value;

use crate::spec::{ArgSpec, Kind, Opt};

/// Every difference between the spec and the sidecar's `DOCUMENTATION.options`, as readable
/// lines; empty when they agree.
pub fn differences(spec: &ArgSpec, sidecar: &Path) -> Result<Vec<String>, String> {
    let text =
        std::fs::read_to_string(sidecar).map_err(|e| format!("{}: {e}", sidecar.display()))?;
    let doc: Value =
        serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", sidecar.display()))?;
    let options = doc
        .pointer("/DOCUMENTATION/options")
        .cloned()
        .unwrap_or(Value::Null);
    let mut found = Vec::new();
    compare(spec.options, &options, "", &mut found);
    Ok(found)
}

fn compare(options: &[Opt], docs: &Value, prefix: &str, found: &mut Vec<String>) {
    let empty = serde_json::Map::new();
    let docs = docs.as_object().unwrap_or(&empty);
    for name in docs
        .keys()
        .filter(|k| !options.iter().any(|o| o.name == k.as_str()))
    {
        found.push(format!("{prefix}{name}: documented but not in the spec"));
    }
    for opt in options {
        let here = format!("{prefix}{}", opt.name);
        let Some(doc) = docs.get(opt.name) else {
            found.push(format!("{here}: in the spec but not documented"));
            continue;
        };
        let mut check = |what: &str, spec_value: Value, doc_value: Value| {
            if spec_value != doc_value {
                found.push(format!(
                    "{here}.{what}: spec says {spec_value}, docs say {doc_value}"
                ));
            }
        };
        // Ansible's docs default `type` to str and `required` to false.
        check(
            "type",
            opt.kind.name().into(),
            doc.get("type").cloned().unwrap_or("str".into()),
        );
        check(
            "required",
            opt.required.into(),
            doc.get("required").cloned().unwrap_or(false.into()),
        );
        check(
            "default",
            opt.default.map_or(Value::Null, crate::spec::Lit::to_json),
            doc.get("default").cloned().unwrap_or(Value::Null),
        );
        check(
            "choices",
            strings(opt.choices),
            doc.get("choices").cloned().unwrap_or(Value::Array(vec![])),
        );
        check(
            "aliases",
            strings(opt.aliases),
            doc.get("aliases").cloned().unwrap_or(Value::Array(vec![])),
        );
        check(
            "elements",
            opt.elements.map_or(Value::Null, |k: Kind| k.name().into()),
            doc.get("elements").cloned().unwrap_or(Value::Null),
        );
        if !opt.options.is_empty() || doc.get("suboptions").is_some() {
            compare(
                opt.options,
                doc.get("suboptions").unwrap_or(&Value::Null),
                &format!("{here}."),
                found,
            );
        }
    }
}

fn strings(items: &[&str]) -> Value {
    items.iter().map(|s| Value::from(*s)).collect()
}
