//! Parameter validation in AnsibleModule's order (`ArgumentSpecValidator.validate`) and with its
//! message texts. Only the first error is reported, as AnsibleModule does, so the order of the
//! steps below is part of the contract.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::convert::{convert, python_str, python_type};
use crate::spec::{ArgSpec, Kind, Opt};

/// Parameters after validation: every option present (unset ones as null or their default).
#[derive(Debug, Default)]
pub struct Validated {
    pub params: Map<String, Value>,
    pub warnings: Vec<String>,
    /// Values of `no_log` options, scrubbed from every output.
    pub no_log_values: BTreeSet<String>,
}

/// Why validation failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Any rule but unknown options; the text is AnsibleModule's.
    Rule(String),
    /// Unknown options: `bogus. Supported parameters include: a, b (alias).` (the caller
    /// prefixes `Unsupported parameters for (module) module: `).
    Unsupported(String),
}

struct Unknown {
    name: String,
    supported: String,
}

/// Validates `params` against `spec`. `ignore_unknown` mirrors `_ansible_ignore_unknown_opts`.
pub fn validate(
    spec: &ArgSpec,
    mut params: Map<String, Value>,
    ignore_unknown: bool,
) -> Result<Validated, Invalid> {
    let mut out = Validated::default();
    let mut unknown = Vec::new();
    let context = Vec::new();
    check_level(
        spec.options,
        Some(spec),
        &mut params,
        (&context, ""),
        &mut out,
        &mut unknown,
    )
    .map_err(Invalid::Rule)?;
    if !ignore_unknown && !unknown.is_empty() {
        unknown.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<&str> = unknown.iter().map(|u| u.name.as_str()).collect();
        return Err(Invalid::Unsupported(format!(
            "{}. Supported parameters include: {}.",
            names.join(", "),
            unknown[0].supported
        )));
    }
    out.params = params;
    Ok(out)
}

/// The values of `no_log` options (by name or alias) and their defaults, read before
/// validation so that even a validation failure cannot echo a secret.
#[must_use]
pub fn raw_no_log_values(spec: &ArgSpec, params: &Map<String, Value>) -> BTreeSet<String> {
    let mut secrets = BTreeSet::new();
    for opt in spec.options.iter().filter(|o| o.no_log) {
        let given = std::iter::once(opt.name)
            .chain(opt.aliases.iter().copied())
            .filter_map(|n| params.get(n));
        let default = opt.default.map(crate::spec::Lit::to_json);
        let values: Map<String, Value> = given
            .cloned()
            .chain(default)
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect();
        collect_no_log(
            &[Opt { name: "", ..*opt }],
            &Map::from_iter([(String::new(), Value::Object(values))]),
            &mut secrets,
        );
    }
    secrets
}

fn suffix(context: &[String]) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!(" found in {}", context.join(" -> "))
    }
}

/// ` found in 'a -> b'` plus `end`, as the type messages place it (before "and we were ...").
fn quoted_context(context: &[String], end: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!(" found in '{}'{end}", context.join(" -> "))
    }
}

fn supported_names(options: &[Opt]) -> String {
    let mut names: Vec<&str> = options.iter().map(|o| o.name).collect();
    let mut aliases: Vec<&str> = options
        .iter()
        .flat_map(|o| o.aliases.iter().copied())
        .collect();
    names.sort_unstable();
    aliases.sort_unstable();
    let mut text = names.join(", ");
    if !aliases.is_empty() {
        text = format!("{text} ({})", aliases.join(", "));
    }
    text
}

/// One level of options: the top-level spec, or the suboptions of a dict.
/// `rules` are the spec's rules between options, which apply at the top level only;
/// `context` names the enclosing options, `warn_prefix` spells them as alias warnings do
/// (`sub.`, `subs[0].`).
fn check_level(
    options: &[Opt],
    rules: Option<&ArgSpec>,
    params: &mut Map<String, Value>,
    (context, warn_prefix): (&[String], &str),
    out: &mut Validated,
    unknown: &mut Vec<Unknown>,
) -> Result<(), String> {
    resolve_aliases(options, params, warn_prefix, &mut out.warnings);
    collect_no_log(options, params, &mut out.no_log_values);
    let legal: BTreeSet<&str> = options
        .iter()
        .flat_map(|o| std::iter::once(o.name).chain(o.aliases.iter().copied()))
        .collect();
    let prefix: String = context.iter().flat_map(|c| [c.as_str(), "."]).collect();
    for key in params.keys().filter(|k| !legal.contains(k.as_str())) {
        unknown.push(Unknown {
            name: format!("{prefix}{key}"),
            supported: supported_names(options),
        });
    }
    if let Some(spec) = rules {
        check_mutually_exclusive(spec, params)?;
    }
    set_defaults(options, params, out, false);
    check_required(options, params, context)?;
    convert_types(options, params, context)?;
    check_choices(options, params, context)?;
    if let Some(spec) = rules {
        check_dependencies(spec, params)?;
    }
    set_defaults(options, params, out, true);
    for opt in options.iter().filter(|o| !o.options.is_empty()) {
        check_suboptions(opt, params, (context, warn_prefix), out, unknown)?;
    }
    Ok(())
}

fn resolve_aliases(
    options: &[Opt],
    params: &mut Map<String, Value>,
    prefix: &str,
    warnings: &mut Vec<String>,
) {
    for opt in options {
        for alias in opt.aliases {
            if let Some(value) = params.get(*alias).cloned() {
                if params.contains_key(opt.name) {
                    warnings.push(format!(
                        "Both option {prefix}{} and its alias {prefix}{alias} are set.",
                        opt.name
                    ));
                }
                params.insert(opt.name.to_owned(), value);
            }
        }
    }
}

/// Every string and number inside a `no_log` option's value, as AnsibleModule collects them.
fn collect_no_log(options: &[Opt], params: &Map<String, Value>, secrets: &mut BTreeSet<String>) {
    fn walk(value: &Value, secrets: &mut BTreeSet<String>) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| walk(v, secrets)),
            Value::Object(map) => map.values().for_each(|v| walk(v, secrets)),
            Value::Null | Value::Bool(_) => {}
            // Python skips falsy values: masking every "0" would hide the whole output.
            Value::Number(n) if n.as_f64() == Some(0.0) => {}
            other => {
                let text = python_str(other);
                if !text.is_empty() {
                    secrets.insert(text);
                }
            }
        }
    }
    for opt in options.iter().filter(|o| o.no_log) {
        if let Some(value) = params.get(opt.name) {
            walk(value, secrets);
        }
    }
}

/// First pass (`all == false`): only options with a default; second pass: every option.
fn set_defaults(options: &[Opt], params: &mut Map<String, Value>, out: &mut Validated, all: bool) {
    for opt in options {
        if params.contains_key(opt.name) || (opt.default.is_none() && !all) {
            continue;
        }
        let value = opt.default.map_or(Value::Null, crate::spec::Lit::to_json);
        if opt.no_log {
            collect_no_log(
                std::slice::from_ref(opt),
                &Map::from_iter([(opt.name.to_owned(), value.clone())]),
                &mut out.no_log_values,
            );
        }
        params.insert(opt.name.to_owned(), value);
    }
}

fn check_required(
    options: &[Opt],
    params: &Map<String, Value>,
    context: &[String],
) -> Result<(), String> {
    let mut missing: Vec<&str> = options
        .iter()
        .filter(|o| o.required && !params.contains_key(o.name))
        .map(|o| o.name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable();
    Err(format!(
        "missing required arguments: {}{}",
        missing.join(", "),
        suffix(context)
    ))
}

fn convert_types(
    options: &[Opt],
    params: &mut Map<String, Value>,
    context: &[String],
) -> Result<(), String> {
    for opt in options {
        let Some(value) = params.get(opt.name) else {
            continue;
        };
        if value.is_null() && !opt.required && opt.default.is_none() {
            continue;
        }
        let mut converted = convert(opt.kind, value).map_err(|e| {
            format!(
                "argument '{}' is of type {}{} and we were unable to convert to {}: {e}",
                opt.name,
                python_type(value),
                quoted_context(context, "."),
                opt.kind.name(),
            )
        })?;
        if let (Some(elements), Value::Array(items)) = (opt.elements, &mut converted) {
            for item in items.iter_mut() {
                *item = convert(elements, item).map_err(|e| {
                    format!(
                        "Elements value for option '{}'{} is of type {} and we were unable to convert to {}: {e}",
                        opt.name,
                        quoted_context(context, ""),
                        python_type(item),
                        elements.name(),
                    )
                })?;
            }
        }
        params.insert(opt.name.to_owned(), converted);
    }
    Ok(())
}

/// A str option given YAML `yes` arrives as `True`; Ansible maps it back to the choice spelled
/// as a boolean (`yes`, `on`, ...), so `choices: [yes, no]` keeps working.
fn boolean_choice(text: &str, choices: &[&'static str]) -> Option<&'static str> {
    let want = match text {
        "True" => true,
        "False" => false,
        _ => return None,
    };
    // Only an unambiguous overlap counts: with both `yes` and `on` among the choices, `True`
    // could be either, and Ansible then reports the value as it is.
    let table: &[&str] = if want {
        &["y", "yes", "on", "1", "true", "t"]
    } else {
        &["n", "no", "off", "0", "false", "f"]
    };
    let mut overlap = choices.iter().copied().filter(|c| table.contains(c));
    match (overlap.next(), overlap.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

fn check_choices(
    options: &[Opt],
    params: &mut Map<String, Value>,
    context: &[String],
) -> Result<(), String> {
    for opt in options.iter().filter(|o| !o.choices.is_empty()) {
        let Some(value) = params.get(opt.name) else {
            continue;
        };
        match value {
            Value::Array(items) => {
                let misses: Vec<String> = items
                    .iter()
                    .map(python_str)
                    .filter(|s| !opt.choices.contains(&s.as_str()))
                    .collect();
                if !misses.is_empty() {
                    return Err(format!(
                        "value of {} must be one or more of: {}. Got no match for: {}{}",
                        opt.name,
                        opt.choices.join(", "),
                        misses.join(", "),
                        suffix(context)
                    ));
                }
            }
            other => {
                let text = python_str(other);
                if opt.choices.contains(&text.as_str()) {
                    continue;
                }
                if let (Kind::Str, Some(choice)) = (opt.kind, boolean_choice(&text, opt.choices)) {
                    params.insert(opt.name.to_owned(), Value::String(choice.to_owned()));
                    continue;
                }
                return Err(format!(
                    "value of {} must be one of: {}, got: {text}{}",
                    opt.name,
                    opt.choices.join(", "),
                    suffix(context)
                ));
            }
        }
    }
    Ok(())
}

fn count_present(names: &[&str], params: &Map<String, Value>) -> usize {
    names.iter().filter(|n| params.contains_key(**n)).count()
}

fn is_set(name: &str, params: &Map<String, Value>) -> bool {
    params.get(name).is_some_and(|v| !v.is_null())
}

fn check_mutually_exclusive(spec: &ArgSpec, params: &Map<String, Value>) -> Result<(), String> {
    let exclusive: Vec<String> = spec
        .mutually_exclusive
        .iter()
        .filter(|g| count_present(g, params) > 1)
        .map(|g| g.join("|"))
        .collect();
    if !exclusive.is_empty() {
        return Err(format!(
            "parameters are mutually exclusive: {}",
            exclusive.join(", ")
        ));
    }
    Ok(())
}

/// `required_together`, `required_one_of`, `required_if` and `required_by`, in AnsibleModule's order.
fn check_dependencies(spec: &ArgSpec, params: &Map<String, Value>) -> Result<(), String> {
    for group in spec.required_together {
        let count = count_present(group, params);
        if count != 0 && count != group.len() {
            return Err(format!(
                "parameters are required together: {}",
                group.join(", ")
            ));
        }
    }
    for group in spec.required_one_of {
        if count_present(group, params) == 0 {
            return Err(format!(
                "one of the following is required: {}",
                group.join(", ")
            ));
        }
    }
    for rule in spec.required_if {
        if params.get(rule.key) != Some(&rule.value.to_json()) {
            continue;
        }
        let missing: Vec<&str> = rule
            .requirements
            .iter()
            .copied()
            .filter(|r| !params.contains_key(*r))
            .collect();
        let limit = if rule.any { rule.requirements.len() } else { 1 };
        if !missing.is_empty() && missing.len() >= limit {
            return Err(format!(
                "{} is {} but {} of the following are missing: {}",
                rule.key,
                python_str(&rule.value.to_json()),
                if rule.any { "any" } else { "all" },
                missing.join(", ")
            ));
        }
    }
    for (key, required) in spec.required_by {
        if !is_set(key, params) {
            continue;
        }
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|r| !is_set(r, params))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "missing parameter(s) required by '{key}': {}",
                missing.join(", ")
            ));
        }
    }
    Ok(())
}

fn check_suboptions(
    opt: &Opt,
    params: &mut Map<String, Value>,
    (context, warn_prefix): (&[String], &str),
    out: &mut Validated,
    unknown: &mut Vec<Unknown>,
) -> Result<(), String> {
    let mut inner = context.to_vec();
    inner.push(opt.name.to_owned());
    let check = |value: &mut Value,
                 prefix: String,
                 out: &mut Validated,
                 unknown: &mut Vec<Unknown>| match value {
        Value::Object(map) => check_level(opt.options, None, map, (&inner, &prefix), out, unknown),
        Value::Null => Ok(()),
        _ => Err(format!(
            "value of '{}' must be of type dict or list of dicts",
            opt.name
        )),
    };
    match params.get_mut(opt.name) {
        Some(Value::Array(items)) if opt.elements == Some(Kind::Dict) => {
            items.iter_mut().enumerate().try_for_each(|(i, item)| {
                check(
                    item,
                    format!("{warn_prefix}{}[{i}].", opt.name),
                    out,
                    unknown,
                )
            })
        }
        Some(value) if opt.kind == Kind::Dict => {
            check(value, format!("{warn_prefix}{}.", opt.name), out, unknown)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::spec::{Lit, RequiredIf};
    use serde_json::json;

    // The reference module `pyspec` whose AnsibleModule messages the reference records.
    const SUB: &[Opt] = &[
        Opt::new("key", Kind::Str).required(),
        Opt::new("val", Kind::Str).aliases(&["v"]),
        Opt::new("num", Kind::Int),
        Opt::new("ports", Kind::List).elements(Kind::Int),
    ];
    const OPTIONS: &[Opt] = &[
        Opt::new("name", Kind::Str).aliases(&["n", "nm"]),
        Opt::new("count", Kind::Int),
        Opt::new("ratio", Kind::Float),
        Opt::new("enabled", Kind::Bool).default(Lit::Bool(false)),
        Opt::new("state", Kind::Str)
            .choices(&["present", "absent"])
            .default(Lit::Str("present")),
        Opt::new("modes", Kind::List)
            .elements(Kind::Str)
            .choices(&["a", "b"]),
        Opt::new("ports", Kind::List).elements(Kind::Int),
        Opt::new("tags", Kind::List).elements(Kind::Str),
        Opt::new("opts", Kind::Dict),
        Opt::new("path", Kind::Path),
        Opt::new("secret", Kind::Str).no_log(),
        Opt::new("yesno", Kind::Str).choices(&["yes", "no"]),
        Opt::new("sub", Kind::Dict).suboptions(SUB),
    ];
    const SPEC: ArgSpec = ArgSpec::new(OPTIONS)
        .mutually_exclusive(&[&["count", "ratio"]])
        .required_together(&[&["tags", "ports"]])
        .required_if(&[RequiredIf {
            key: "state",
            value: Lit::Str("absent"),
            requirements: &["path"],
            any: false,
        }])
        .required_by(&[("secret", &["path"])]);
    const REQUIRED_NAME: &[Opt] = &[
        Opt::new("name", Kind::Str).required(),
        Opt::new("count", Kind::Int),
        Opt::new("state", Kind::Str).choices(&["present", "absent"]),
    ];

    fn run(spec: &ArgSpec, params: serde_json::Value) -> Result<Validated, Invalid> {
        let serde_json::Value::Object(map) = params else {
            panic!("test params must be an object")
        };
        validate(spec, map, false)
    }
    fn rule(spec: &ArgSpec, params: serde_json::Value) -> String {
        match run(spec, params) {
            Err(Invalid::Rule(msg)) => msg,
            other => panic!("expected a rule error, got {other:?}"),
        }
    }

    #[test]
    fn unsupported_lists_sorted_names_then_aliases() {
        let Err(Invalid::Unsupported(msg)) = run(&SPEC, json!({"other": 1, "bogus": 2})) else {
            panic!()
        };
        assert_eq!(
            msg,
            "bogus, other. Supported parameters include: count, enabled, modes, name, opts, path, \
             ports, ratio, secret, state, sub, tags, yesno (n, nm)."
        );
        let Err(Invalid::Unsupported(msg)) = run(&SPEC, json!({"sub": {"key": "k", "nope": 1}}))
        else {
            panic!()
        };
        assert_eq!(
            msg,
            "sub.nope. Supported parameters include: key, num, ports, val (v)."
        );
        assert!(validate(&SPEC, Map::from_iter([("bogus".into(), json!(1))]), true).is_ok());
    }

    #[test]
    fn messages_match_ansiblemodule() {
        let spec = ArgSpec::new(REQUIRED_NAME);
        assert_eq!(
            rule(&spec, json!({"count": "abc", "state": "maybe", "bogus": 1})),
            "missing required arguments: name"
        );
        assert_eq!(
            rule(
                &spec,
                json!({"name": "x", "count": "abc", "state": "maybe", "bogus": 1})
            ),
            "argument 'count' is of type str and we were unable to convert to int: \"'abc'\" cannot be converted to an int"
        );
        assert_eq!(
            rule(&spec, json!({"name": "x", "state": "maybe", "bogus": 1})),
            "value of state must be one of: present, absent, got: maybe"
        );
        assert_eq!(
            rule(&SPEC, json!({"modes": ["a", "c", "d"]})),
            "value of modes must be one or more of: a, b. Got no match for: c, d"
        );
        assert!(rule(&SPEC, json!({"enabled": "maybe"})).starts_with(
            "argument 'enabled' is of type str and we were unable to convert to bool: The value 'maybe' is not a valid boolean. Valid booleans include: "
        ));
        assert_eq!(
            rule(&SPEC, json!({"enabled": null})),
            "argument 'enabled' is of type NoneType and we were unable to convert to bool: <class 'NoneType'> cannot be converted to a bool"
        );
        assert_eq!(
            rule(&SPEC, json!({"ratio": "x"})),
            "argument 'ratio' is of type str and we were unable to convert to float: <class 'str'> cannot be converted to a float"
        );
        assert_eq!(
            rule(&SPEC, json!({"ports": ["abc"], "tags": ["t"]})),
            "Elements value for option 'ports' is of type str and we were unable to convert to int: \"'abc'\" cannot be converted to an int"
        );
        assert_eq!(
            rule(&SPEC, json!({"opts": "nope"})),
            "argument 'opts' is of type str and we were unable to convert to dict: dictionary requested, could not parse JSON or key=value"
        );
        assert_eq!(
            rule(&SPEC, json!({"count": 1, "ratio": 2})),
            "parameters are mutually exclusive: count|ratio"
        );
        assert_eq!(
            rule(&SPEC, json!({"state": "absent"})),
            "state is absent but all of the following are missing: path"
        );
        assert_eq!(
            rule(&SPEC, json!({"tags": ["a"]})),
            "parameters are required together: tags, ports"
        );
        assert_eq!(
            rule(&SPEC, json!({"secret": "s"})),
            "missing parameter(s) required by 'secret': path"
        );
        assert_eq!(
            rule(&SPEC, json!({"sub": {"val": "v"}})),
            "missing required arguments: key found in sub"
        );
    }

    #[test]
    fn the_first_error_wins_in_ansiblemodules_order() {
        // A choice error comes before the unknown option.
        assert_eq!(
            rule(
                &ArgSpec::new(REQUIRED_NAME),
                json!({"name": "n", "state": "maybe", "bogus": 1})
            ),
            "value of state must be one of: present, absent, got: maybe"
        );
        // mutually exclusive comes before a type error.
        assert_eq!(
            rule(&SPEC, json!({"count": "x", "ratio": 1})),
            "parameters are mutually exclusive: count|ratio"
        );
    }

    #[test]
    fn nested_options_read_like_ansiblemodule() {
        assert_eq!(
            rule(&SPEC, json!({"sub": {"key": "k", "num": "x"}})),
            "argument 'num' is of type str found in 'sub'. and we were unable to convert to int: \"'x'\" cannot be converted to an int"
        );
        assert_eq!(
            rule(&SPEC, json!({"sub": {"key": "k", "ports": ["x"]}})),
            "Elements value for option 'ports' found in 'sub' is of type str and we were unable to convert to int: \"'x'\" cannot be converted to an int"
        );
        let v = run(&SPEC, json!({"sub": {"key": "k", "val": "a", "v": "b"}})).unwrap();
        assert_eq!(
            v.warnings,
            vec!["Both option sub.val and its alias sub.v are set.".to_owned()]
        );
    }

    #[test]
    fn choices_take_null_and_only_unambiguous_booleans() {
        const CHOICES: &[Opt] = &[
            Opt::new("kind", Kind::Str).choices(&["x", "y"]),
            Opt::new("onoff", Kind::Str).choices(&["yes", "on", "no"]),
        ];
        let spec = ArgSpec::new(CHOICES);
        assert_eq!(
            rule(&spec, json!({"kind": null})),
            "value of kind must be one of: x, y, got: None"
        );
        assert_eq!(
            rule(&spec, json!({"onoff": true})),
            "value of onoff must be one of: yes, on, no, got: True"
        );
        assert_eq!(
            run(&spec, json!({"onoff": false})).unwrap().params["onoff"],
            json!("no")
        );
    }

    #[test]
    fn secrets_are_known_before_validation_and_zero_is_no_secret() {
        const PIN: &[Opt] = &[Opt::new("pin", Kind::Int).no_log()];
        let raw = json!({"secret": "s3cret", "count": "12ab"});
        let secrets = raw_no_log_values(&SPEC, raw.as_object().unwrap());
        assert_eq!(secrets, BTreeSet::from(["s3cret".to_owned()]));
        let v = run(&ArgSpec::new(PIN), json!({"pin": 0})).unwrap();
        assert!(v.no_log_values.is_empty());
    }

    #[test]
    fn aliases_defaults_and_secrets() {
        let v = run(
            &SPEC,
            json!({"name": "a", "n": "b", "secret": "topsecret", "path": "/x"}),
        )
        .unwrap();
        assert_eq!(v.params["name"], json!("b"), "the alias wins");
        assert_eq!(v.params["n"], json!("b"), "the alias stays");
        assert_eq!(
            v.warnings,
            vec!["Both option name and its alias n are set.".to_owned()]
        );
        assert_eq!(v.params["state"], json!("present"));
        assert_eq!(v.params["enabled"], json!(false));
        assert_eq!(v.params["count"], json!(null));
        assert!(v.no_log_values.contains("topsecret"));
        let v = run(
            &SPEC,
            json!({"yesno": true, "count": "42", "ports": "1,2", "tags": "a"}),
        )
        .unwrap();
        assert_eq!(v.params["yesno"], json!("yes"));
        assert_eq!(v.params["count"], json!(42));
        assert_eq!(v.params["ports"], json!([1, 2]));
    }
}
