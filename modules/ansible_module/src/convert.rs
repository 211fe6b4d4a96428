//! AnsibleModule's type conversions (`module_utils/common/validation.py`), with its error
//! texts, so a value that `lineinfile` accepts is accepted here and a rejected one reads the same.

use serde_json::{Map, Number, Value};

use crate::spec::Kind;

const BOOL_TRUE: [&str; 6] = ["y", "yes", "on", "1", "true", "t"];
const BOOL_FALSE: [&str; 6] = ["n", "no", "off", "0", "false", "f"];

/// The type name Python would print for this JSON value (`str`, `int`, `NoneType`, ...).
#[must_use]
pub fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn python_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Python's `str()` of a value, which is what a `str` option receives for a non-string.
#[must_use]
pub fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// Python's `repr()` of a value, as AnsibleModule's messages quote it.
#[must_use]
pub fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n
            .as_f64()
            .filter(|_| n.is_f64())
            .map_or_else(|| n.to_string(), python_float),
        Value::String(s) if s.contains('\'') && !s.contains('"') => format!("\"{s}\""),
        Value::String(s) => format!("'{}'", s.replace('\'', "\\'")),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("'{k}': {}", python_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// Converts `value` to `kind`; the error is the part of AnsibleModule's message after the colon.
pub fn convert(kind: Kind, value: &Value) -> Result<Value, String> {
    match kind {
        Kind::Str => Ok(Value::String(to_str(value))),
        Kind::Bool => to_bool(value).map(Value::Bool),
        Kind::Int => to_int(value).map(Value::from),
        Kind::Float => to_float(value),
        Kind::List => to_list(value).map(Value::Array),
        Kind::Dict => to_dict(value).map(Value::Object),
        Kind::Path => Ok(Value::String(expand_path(&to_str(value)))),
        Kind::Raw => Ok(value.clone()),
    }
}

fn to_str(value: &Value) -> String {
    match value {
        // ansible-core 2.19 and later turn None into '' for str options.
        Value::Null => String::new(),
        other => python_str(other),
    }
}

/// Ansible's boolean table: `yes/no/on/off/y/n/t/f/true/false/1/0` in any case with
/// surrounding blanks, and the numbers 1 and 0.
pub fn to_bool(value: &Value) -> Result<bool, String> {
    let text = match value {
        Value::Bool(b) => return Ok(*b),
        // 1, 0, 1.0 and 0.0 are exact in binary floating point.
        Value::Number(n) => match n.as_f64().map(f64::to_bits) {
            Some(bits) if bits == 1.0f64.to_bits() => return Ok(true),
            Some(bits) if bits == 0.0f64.to_bits() || bits == (-0.0f64).to_bits() => {
                return Ok(false);
            }
            _ => python_str(value),
        },
        Value::String(s) => s.trim().to_lowercase(),
        other => {
            return Err(format!(
                "<class '{}'> cannot be converted to a bool",
                python_type(other)
            ));
        }
    };
    if BOOL_TRUE.contains(&text.as_str()) {
        Ok(true)
    } else if BOOL_FALSE.contains(&text.as_str()) {
        Ok(false)
    } else {
        Err(format!(
            "The value '{}' is not a valid boolean. Valid booleans include: {}",
            python_str(value),
            "'true', 1, 0, 'off', 'f', 'false', '1', 't', 'n', '0', 'y', 'on', 'no', 'yes'"
        ))
    }
}

fn int_error(value: &Value) -> String {
    format!("\"{}\" cannot be converted to an int", python_repr(value))
}

fn to_int(value: &Value) -> Result<i64, String> {
    match value {
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(i),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
            _ => Err(int_error(value)),
        },
        Value::String(s) => {
            let t = s.trim();
            if let Ok(i) = t.parse::<i64>() {
                return Ok(i);
            }
            // Python's Decimal accepts "4.0" and "1e3" but not "0x10" or "inf".
            let decimal_like = !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
            match t.parse::<f64>() {
                Ok(f) if decimal_like && f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
                _ => Err(int_error(value)),
            }
        }
        other => Err(int_error(other)),
    }
}

fn to_float(value: &Value) -> Result<Value, String> {
    let float = match value {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    float
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| {
            format!(
                "<class '{}'> cannot be converted to a float",
                python_type(value)
            )
        })
}

fn to_list(value: &Value) -> Result<Vec<Value>, String> {
    match value {
        Value::Array(items) => Ok(items.clone()),
        // Like Ansible: split on commas, no trimming.
        Value::String(s) => Ok(s.split(',').map(|p| Value::String(p.to_owned())).collect()),
        Value::Number(_) | Value::Bool(_) => Ok(vec![Value::String(python_str(value))]),
        other => Err(format!(
            "<class '{}'> cannot be converted to a list",
            python_type(other)
        )),
    }
}

const DICT_ERROR: &str = "dictionary requested, could not parse JSON or key=value";
const KEY_VALUE_ERROR: &str = "unable to evaluate string in the \"key=value\" format as dictionary";

fn to_dict(value: &Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map.clone()),
        Value::String(s) if s.starts_with('{') => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err("unable to evaluate string as dictionary".into()),
        },
        Value::String(s) if s.contains('=') => key_value_pairs(s),
        Value::String(_) => Err(DICT_ERROR.into()),
        other => Err(format!(
            "<class '{}'> cannot be converted to a dict",
            python_type(other)
        )),
    }
}

/// `a=1 b='x y'` or `a=1, b=2`: fields split on blanks and commas outside quotes, backslash
/// escaping one character, each field split at its first `=`.
fn key_value_pairs(text: &str) -> Result<Map<String, Value>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.trim().chars() {
        if escaped {
            field.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == ',' || c == ' ') {
            if !field.is_empty() {
                fields.push(std::mem::take(&mut field));
            }
        } else {
            field.push(c);
        }
    }
    if !field.is_empty() {
        fields.push(field);
    }
    fields
        .into_iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                .ok_or_else(|| KEY_VALUE_ERROR.to_owned())
        })
        .collect()
}

/// `os.path.expanduser(os.path.expandvars(path))`: `$VAR` and `${VAR}` first (unknown ones stay
/// as written), then a leading `~` or `~user`.
#[must_use]
pub fn expand_path(path: &str) -> String {
    expand_path_in(path, &|name| std::env::var(name).ok())
}

/// [`expand_path`] with the environment given as a lookup, so that tests never have to change
/// the process's own environment (which other test threads read).
fn expand_path_in(path: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    expand_user(&expand_vars(path, env), env)
}

fn expand_vars(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match env(name) {
            Some(value) if !name.is_empty() => out.push_str(&value),
            _ => out.push_str(&rest[pos..=pos + len]),
        }
        rest = &rest[pos + 1 + len..];
    }
    out.push_str(rest);
    out
}

fn expand_user(path: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let Some(after) = path.strip_prefix('~') else {
        return path.to_owned();
    };
    let split = after.find('/').unwrap_or(after.len());
    let (user, tail) = after.split_at(split);
    let home = if user.is_empty() {
        env("HOME").or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.dir.to_string_lossy().into_owned())
        })
    } else {
        nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .map(|u| u.dir.to_string_lossy().into_owned())
    };
    match home {
        Some(home) => {
            let joined = format!("{}{tail}", home.trim_end_matches('/'));
            if joined.is_empty() {
                "/".into()
            } else {
                joined
            }
        }
        None => path.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_follow_ansibles_table() {
        for t in [
            json!("yes"),
            json!(" YES "),
            json!("On"),
            json!("t"),
            json!(1),
            json!(1.0),
            json!(true),
        ] {
            assert_eq!(to_bool(&t), Ok(true), "{t}");
        }
        for f in [
            json!("no"),
            json!("OFF"),
            json!("f"),
            json!("0"),
            json!(0),
            json!(false),
        ] {
            assert_eq!(to_bool(&f), Ok(false), "{f}");
        }
        let err = to_bool(&json!("maybe")).unwrap_err();
        assert!(
            err.starts_with("The value 'maybe' is not a valid boolean. Valid booleans include: ")
        );
        assert!(to_bool(&json!(2)).is_err());
        assert!(
            to_bool(&json!("It's"))
                .unwrap_err()
                .starts_with("The value 'It's' is not a valid boolean.")
        );
        assert!(to_bool(&json!("")).is_err());
        assert_eq!(
            to_bool(&Value::Null).unwrap_err(),
            "<class 'NoneType'> cannot be converted to a bool"
        );
    }

    #[test]
    fn ints_accept_what_decimal_accepts() {
        assert_eq!(to_int(&json!("42")), Ok(42));
        assert_eq!(to_int(&json!(" 42 ")), Ok(42));
        assert_eq!(to_int(&json!("4.0")), Ok(4));
        assert_eq!(to_int(&json!(4.0)), Ok(4));
        assert_eq!(to_int(&json!("1e3")), Ok(1000));
        assert_eq!(
            to_int(&json!("abc")).unwrap_err(),
            "\"'abc'\" cannot be converted to an int"
        );
        assert_eq!(
            to_int(&json!("1.5")).unwrap_err(),
            "\"'1.5'\" cannot be converted to an int"
        );
        assert!(to_int(&json!("0x10")).is_err());
        assert!(to_int(&json!("")).is_err());
        assert_eq!(
            to_int(&json!(4.5)).unwrap_err(),
            "\"4.5\" cannot be converted to an int"
        );
        assert_eq!(
            to_int(&json!([1])).unwrap_err(),
            "\"[1]\" cannot be converted to an int"
        );
        assert_eq!(
            to_int(&Value::Null).unwrap_err(),
            "\"None\" cannot be converted to an int"
        );
    }

    #[test]
    fn strings_and_lists_convert_like_python() {
        assert_eq!(convert(Kind::Str, &json!(5)).unwrap(), json!("5"));
        assert_eq!(convert(Kind::Str, &json!(true)).unwrap(), json!("True"));
        assert_eq!(convert(Kind::Str, &json!([1, 2])).unwrap(), json!("[1, 2]"));
        assert_eq!(convert(Kind::Str, &Value::Null).unwrap(), json!(""));
        assert_eq!(
            convert(Kind::List, &json!("a,b, c")).unwrap(),
            json!(["a", "b", " c"])
        );
        assert_eq!(convert(Kind::List, &json!(5)).unwrap(), json!(["5"]));
        assert!(convert(Kind::List, &json!({"a": 1})).is_err());
        assert_eq!(
            convert(Kind::Float, &json!("x")).unwrap_err(),
            "<class 'str'> cannot be converted to a float"
        );
    }

    #[test]
    fn dicts_from_json_or_key_value_text() {
        assert_eq!(
            convert(Kind::Dict, &json!("{\"a\": 1}")).unwrap(),
            json!({"a": 1})
        );
        assert_eq!(
            convert(Kind::Dict, &json!("a=1 b=2")).unwrap(),
            json!({"a": "1", "b": "2"})
        );
        assert_eq!(
            convert(Kind::Dict, &json!("a=1, b='x y'")).unwrap(),
            json!({"a": "1", "b": "x y"})
        );
        assert_eq!(convert(Kind::Dict, &json!("nope")).unwrap_err(), DICT_ERROR);
        assert_eq!(
            convert(Kind::Dict, &json!("a=1 b")).unwrap_err(),
            "unable to evaluate string in the \"key=value\" format as dictionary"
        );
    }

    #[test]
    fn paths_expand_variables_then_home() {
        let env = |name: &str| match name {
            "HOME" => Some("/root".to_owned()),
            "NFV_TEST_FOO" => Some("bar".to_owned()),
            _ => None,
        };
        let expand = |path: &str| expand_path_in(path, &env);
        assert_eq!(expand("~/x/$HOME/y"), "/root/x//root/y");
        assert_eq!(
            expand("~/$NFV_TEST_FOO/${NFV_TEST_FOO}/$NFV_UNDEFINED_X/~root"),
            "/root/bar/bar/$NFV_UNDEFINED_X/~root"
        );
        assert_eq!(expand("/etc/$"), "/etc/$");
        assert_eq!(expand("~nosuchuser_nfv/x"), "~nosuchuser_nfv/x");
    }
}
