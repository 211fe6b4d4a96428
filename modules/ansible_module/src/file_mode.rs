//! A file mode given the way Ansible's `file` module takes it: an octal string (`"0775"`,
//! `"775"`) or a number that already holds the mode bits (YAML's `0775` arrives as 509).

use serde_json::Value;

/// The mode bits, and a warning when a number looks like an octal mode typed without
/// quotes or a leading zero (YAML reads `775` as decimal 775, which is mode 01407).
pub fn parse(option: &str, value: &Value) -> Result<(u32, Option<String>), String> {
    match value {
        Value::String(text) => {
            let digits = text.strip_prefix("0o").unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(format!(
                    "{option} '{text}' is not an octal mode; give it as a quoted octal string such \
                     as '0775' (symbolic modes like 'u+rwx' are not accepted)"
                ));
            }
            u32::from_str_radix(digits, 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .map(|m| (m, None))
                .ok_or_else(|| format!("{option} '{text}' is larger than 07777"))
        }
        Value::Number(n) => {
            let mode = n
                .as_u64()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| format!("{option} {n} is not a mode between 0 and 07777"))?;
            let text = mode.to_string();
            let looks_octal = text.len() >= 3 && text.bytes().all(|b| (b'0'..=b'7').contains(&b));
            let warning = looks_octal.then(|| {
                format!(
                    "{option} {mode} was given as a number, which is octal {mode:04o}; if you meant \
                     0{mode}, quote it: '0{mode}'"
                )
            });
            Ok((mode as u32, warning))
        }
        other => Err(format!(
            "{option} must be an octal string such as '0775', not {}",
            crate::convert::python_type(other)
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn octal_text_and_numbers() {
        assert_eq!(parse("mode", &json!("0775")), Ok((0o775, None)));
        assert_eq!(parse("mode", &json!("2775")), Ok((0o2775, None)));
        assert_eq!(parse("mode", &json!(509)), Ok((0o775, None)));
        let (mode, warning) = parse("mode", &json!(775)).unwrap();
        assert_eq!(mode, 775);
        assert!(warning.unwrap().contains("quote it: '0775'"));
    }

    #[test]
    fn bad_modes_say_what_is_accepted() {
        assert!(
            parse("mode", &json!("0799"))
                .unwrap_err()
                .contains("is not an octal mode")
        );
        assert!(
            parse("mode", &json!("rwx"))
                .unwrap_err()
                .contains("symbolic modes")
        );
        assert!(parse("mode", &json!("")).is_err());
        assert!(
            parse("mode", &json!("77777"))
                .unwrap_err()
                .contains("larger than 07777")
        );
        assert!(parse("mode", &json!(99999)).is_err());
        assert!(parse("mode", &json!(-1)).is_err());
        assert!(parse("mode", &json!(true)).is_err());
    }
}
