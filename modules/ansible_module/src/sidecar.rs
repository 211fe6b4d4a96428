//! Keeps a module's sidecar documentation (`plugins/modules/<module>.yml`) and its Rust spec
//! equal, option by option, so the docs never drift. ansible-test cannot do it for a binary.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::spec::{ArgSpec, Kind, Opt};

/// Every difference between the spec and the sidecar's `DOCUMENTATION.options`, as readable
/// lines; empty when they agree.
pub fn differences(spec: &ArgSpec, sidecar: &Path) -> Result<Vec<String>, String> {
    let doc = read(sidecar)?;
    let options = doc
        .pointer("/DOCUMENTATION/options")
        .cloned()
        .unwrap_or(Value::Null);
    let mut found = Vec::new();
    compare(spec.options, &options, "", &mut found);
    Ok(found)
}

/// Keys Ansible's own result handling owns, which no module's RETURN documents.
const ANSIBLE_KEYS: &[&str] = &[
    "changed",
    "failed",
    "msg",
    "diff",
    "warnings",
    "deprecations",
    "invocation",
];

fn read(sidecar: &Path) -> Result<Value, String> {
    let text =
        std::fs::read_to_string(sidecar).map_err(|e| format!("{}: {e}", sidecar.display()))?;
    serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", sidecar.display()))
}

/// The top-level keys the sidecar's `RETURN` documents, each with its `returned` condition.
pub fn return_keys(sidecar: &Path) -> Result<BTreeMap<String, String>, String> {
    let doc = read(sidecar)?;
    let Some(keys) = doc.get("RETURN").and_then(Value::as_object) else {
        return Err(format!("{}: no RETURN mapping", sidecar.display()));
    };
    Ok(keys
        .iter()
        .map(|(key, doc)| {
            let returned = doc
                .get("returned")
                .and_then(Value::as_str)
                .unwrap_or("always");
            (key.clone(), returned.to_owned())
        })
        .collect())
}

/// Compares the results a module really returned with its `RETURN`, both ways: every key a
/// result has must be documented, every key documented `returned: always` must be in every
/// result that did not fail, and every documented key must appear in at least one result.
/// Readable lines, empty when they agree.
pub fn return_differences(results: &[Value], sidecar: &Path) -> Result<Vec<String>, String> {
    let documented = return_keys(sidecar)?;
    let mut found = Vec::new();
    let mut seen = BTreeSet::new();
    for result in results {
        let Some(fields) = result.as_object() else {
            return Err(format!("not a JSON object: {result}"));
        };
        for key in fields
            .keys()
            .filter(|k| !ANSIBLE_KEYS.contains(&k.as_str()))
        {
            seen.insert(key.clone());
            if !documented.contains_key(key) {
                found.push(format!("{key}: returned but not in RETURN"));
            }
        }
        if result.get("failed") != Some(&Value::Bool(true)) {
            for (key, _) in documented.iter().filter(|(_, when)| *when == "always") {
                if !fields.contains_key(key) {
                    found.push(format!("{key}: RETURN says always, but a result lacks it"));
                }
            }
        }
    }
    for key in documented.keys().filter(|k| !seen.contains(*k)) {
        found.push(format!("{key}: in RETURN but in none of the results"));
    }
    found.sort();
    found.dedup();
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn results_and_return_are_compared_both_ways() {
        let sidecar = std::env::temp_dir().join(format!("sidecar-{}.yml", std::process::id()));
        std::fs::write(
            &sidecar,
            "RETURN:\n  path:\n    returned: always\n  backup_file:\n    returned: changed\n",
        )
        .unwrap();
        let ok = json!({"changed": true, "path": "/x", "backup_file": "/x~", "warnings": []});
        assert_eq!(
            return_differences(std::slice::from_ref(&ok), &sidecar),
            Ok(vec![])
        );
        let found = return_differences(&[json!({"changed": false, "extra": 1})], &sidecar).unwrap();
        assert_eq!(
            found,
            [
                "backup_file: in RETURN but in none of the results",
                "extra: returned but not in RETURN",
                "path: RETURN says always, but a result lacks it",
                "path: in RETURN but in none of the results",
            ]
        );
        // A failed run owes nothing but its message.
        let failed = json!({"failed": true, "msg": "no"});
        assert_eq!(return_differences(&[ok, failed], &sidecar), Ok(vec![]));
        std::fs::remove_file(&sidecar).unwrap();
    }
}
