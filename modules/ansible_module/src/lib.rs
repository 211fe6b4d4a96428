//! Ansible's binary module protocol, once, for every module of the collection.
//!
//! Ansible copies a binary module to the host and runs it with one argument: the path of a JSON
//! file holding the task's options and `_ansible_*` settings. The module prints one JSON object.
//! [`run`] does everything around a module's own logic: reads the arguments, validates them
//! with AnsibleModule's rules and texts, honours check and diff mode, scrubs secrets, and turns
//! errors and panics into JSON failures. It knows nothing about vhost-user.

mod convert;
mod ctx;
mod edit;
pub mod file_mode;
pub mod files;
mod result;
#[cfg(feature = "sidecar-check")]
pub mod sidecar;
pub mod spec;
mod validate;

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use convert::expand_path;
pub use ctx::Ctx;
pub use edit::{Edit, Edited, FileEdit, Missing, unparsable};
pub use result::{Context, Deprecation, Diff, Failure, ModuleResult};
pub use spec::{ArgSpec, Kind, Lit, Opt, RequiredIf};
pub use validate::{Invalid, Validated, validate};

/// The longest wait a duration option gives: 100 years. Every deadline is `now + timeout`, and
/// an `Instant` overflows (a panic) long before `i64::MAX` seconds; Python's Ansible takes any
/// int, so a larger value means "as long as it takes" and is saturated, not refused.
pub const MAX_SECONDS: u64 = 100 * 365 * 24 * 60 * 60;

/// An `int` option that is a duration in seconds, such as `timeout`: it must be positive, and
/// is capped at [`MAX_SECONDS`] so that a deadline computed from it never overflows.
pub fn positive_seconds(option: &str, value: i64) -> Result<std::time::Duration, Failure> {
    u64::try_from(value)
        .ok()
        .filter(|seconds| *seconds > 0)
        .map(|seconds| std::time::Duration::from_secs(seconds.min(MAX_SECONDS)))
        .ok_or_else(|| {
            Failure::new(format!(
                "{option} must be a positive number of seconds, not {value}"
            ))
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod positive_seconds_tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_largest_int_saturates_to_a_deadline_that_can_be_computed() {
        for value in [i64::MAX, i64::MAX / 1000, 9_223_372_036_854_775] {
            let timeout = positive_seconds("timeout", value).unwrap();
            assert_eq!(timeout, Duration::from_secs(MAX_SECONDS));
            assert!(Instant::now().checked_add(timeout).is_some(), "{value}");
        }
        assert_eq!(
            positive_seconds("timeout", 30).unwrap(),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn zero_and_negatives_are_refused() {
        for value in [0, -1, i64::MIN] {
            let failure = positive_seconds("timeout", value).unwrap_err();
            assert_eq!(
                failure.msg,
                format!("timeout must be a positive number of seconds, not {value}")
            );
        }
    }
}

static MODULE_NAME: OnceLock<String> = OnceLock::new();

/// Runs a module: `main` gets the validated parameters and the run's settings, and returns
/// the result or a failure. Exit code 1 on failure, as Ansible's own modules do.
pub fn run<P: DeserializeOwned>(
    spec: &ArgSpec,
    main: impl FnOnce(P, &mut Ctx) -> Result<ModuleResult, Failure>,
) -> ExitCode {
    install_panic_hook();
    let (output, failed) = match prepare::<P>(spec) {
        Ok((params, mut ctx, validated)) => {
            let outcome = if ctx.check_mode && !spec.supports_check_mode {
                let mut skipped = ModuleResult::new(false);
                skipped.msg = Some(format!(
                    "remote module ({}) does not support check mode",
                    ctx.module_name
                ));
                skipped.set("skipped", true);
                Ok(skipped)
            } else {
                main(params, &mut ctx)
            };
            let (mut result, failed) = match outcome {
                Ok(result) => (result, false),
                Err(Failure { msg, result }) => {
                    let mut result = *result;
                    result.msg = Some(msg);
                    (result, true)
                }
            };
            let mut warnings = std::mem::take(&mut ctx.warnings);
            warnings.append(&mut result.warnings);
            result.warnings = warnings;
            let mut secrets = validated.no_log_values.clone();
            secrets.extend(std::mem::take(&mut ctx.hidden));
            (result.to_json(failed, ctx.diff, &secrets), failed)
        }
        Err(failure) => (failure, true),
    };
    emit(&output);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// How the module was called: the name it was called by and its arguments, read once.
#[derive(Debug)]
struct Invocation {
    /// The file name the module was called by, without Ansible's `AnsiballZ_` prefix.
    binary: String,
    /// The arguments object, or the complete JSON failure to print.
    args: Result<Map<String, Value>, Value>,
}

static INVOCATION: OnceLock<Invocation> = OnceLock::new();

fn failure(msg: &str) -> Value {
    serde_json::json!({"failed": true, "changed": false, "msg": msg})
}

/// Reads the arguments the first time it is asked: from the file Ansible names as the one
/// argument, or from standard input when that argument is `-` (the collection's action plugins
/// send them that way, saving a file transfer).
fn invocation() -> &'static Invocation {
    INVOCATION.get_or_init(|| {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let binary = args
            .first()
            .and_then(|a| std::path::Path::new(a).file_name())
            .map_or_else(String::new, |n| {
                n.to_string_lossy()
                    .trim_start_matches("AnsiballZ_")
                    .to_owned()
            });
        let args = read_args(&binary, &args);
        Invocation { binary, args }
    })
}

fn read_args(binary: &str, args: &[std::ffi::OsString]) -> Result<Map<String, Value>, Value> {
    if args.len() != 2 {
        return Err(failure(&format!(
            "{binary} is an Ansible module: run it from a playbook or with `ansible -m`. Ansible \
             calls it with exactly one argument, the path of a JSON file of arguments (or `-` to \
             read them from standard input); it got {}.",
            args.len().saturating_sub(1)
        )));
    }
    let text = if args[1] == "-" {
        let mut text = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut text)
            .map_err(|e| {
                failure(&format!(
                    "could not read the module arguments from standard input: {e}"
                ))
            })?;
        text
    } else {
        std::fs::read(&args[1]).map_err(|e| {
            failure(&format!(
                "could not read the module arguments file {}: {e}",
                args[1].to_string_lossy()
            ))
        })?
    };
    match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(unwrap_module_args(map)),
        Ok(_) => Err(failure("the module arguments file must hold a JSON object")),
        Err(e) => Err(failure(&format!(
            "the module arguments file is not valid JSON: {e}"
        ))),
    }
}

/// The module a multi-call binary is asked to be: the last part of `_ansible_module_name` (the
/// action as the task wrote it, `nfv.vhostuser.qemu_conf` or `qemu_conf`) when it is one of
/// `known`, else the name the binary was called by (`plugins/modules/qemu_conf` is a hard link of
/// the one binary), else `None`.
#[must_use]
pub fn invoked_module(known: &[&'static str]) -> Option<&'static str> {
    let invocation = invocation();
    let from_task = invocation
        .args
        .as_ref()
        .ok()
        .and_then(|args| args.get("_ansible_module_name"))
        .and_then(Value::as_str)
        .and_then(|name| name.rsplit('.').next());
    [from_task, Some(invocation.binary.as_str())]
        .into_iter()
        .flatten()
        .find_map(|name| known.iter().copied().find(|k| *k == name))
}

/// The answer of a multi-call binary asked to be a module it does not hold, or whose arguments
/// could not be read (that failure then, as the module would give it).
#[must_use]
pub fn unknown_module(known: &[&'static str]) -> ExitCode {
    let invocation = invocation();
    if let Err(failure) = &invocation.args {
        emit(failure);
        return ExitCode::FAILURE;
    }
    let asked = invocation
        .args
        .as_ref()
        .ok()
        .and_then(|args| args.get("_ansible_module_name"))
        .and_then(Value::as_str)
        .unwrap_or(&invocation.binary);
    emit(&failure(&format!(
        "this binary holds the modules {}, not '{asked}': call it by one of those names",
        known.join(", ")
    )));
    ExitCode::FAILURE
}

/// Reads and validates the arguments; an error is the complete JSON failure to print.
fn prepare<P: DeserializeOwned>(spec: &ArgSpec) -> Result<(P, Ctx, Validated), Value> {
    let invocation = invocation();
    let mut params = invocation.args.clone()?;
    let binary = &invocation.binary;
    let mut ctx = Ctx::take_from(&mut params, binary);
    let _ = MODULE_NAME.set(ctx.module_name.clone());
    let secrets = validate::raw_no_log_values(spec, &params);
    let validated = validate(spec, params, ctx.ignore_unknown_opts).map_err(|invalid| {
        let mut answer = failure(&match invalid {
            Invalid::Rule(msg) => msg,
            Invalid::Unsupported(msg) => {
                format!(
                    "Unsupported parameters for ({}) module: {msg}",
                    ctx.module_name
                )
            }
        });
        result::scrub(&mut answer, &secrets);
        answer
    })?;
    for secret in &validated.no_log_values {
        result::hide_globally(secret);
    }
    ctx.warnings.clone_from(&validated.warnings);
    let params = P::deserialize(Value::Object(validated.params.clone())).map_err(|e| {
        failure(&format!(
            "internal error in {}: its parameters do not fit its spec ({e}); please report this bug",
            ctx.module_name
        ))
    })?;
    Ok((params, ctx, validated))
}

/// Python modules get `{"ANSIBLE_MODULE_ARGS": {...}}`; accept that shape too, so a module
/// can be run by hand with the same file.
fn unwrap_module_args(mut map: Map<String, Value>) -> Map<String, Value> {
    if map.len() == 1 {
        if let Some(Value::Object(inner)) = map.remove("ANSIBLE_MODULE_ARGS") {
            return inner;
        }
    }
    map
}

fn emit(output: &Value) {
    let mut stdout = std::io::stdout().lock();
    // Nothing useful can be done if stdout is gone; Ansible then reports the missing JSON.
    let _ = writeln!(stdout, "{output}");
    let _ = stdout.flush();
}

/// A bug must still answer in JSON, naming the module, never with a bare backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let name = MODULE_NAME.get().map_or("the module", String::as_str);
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info
            .location()
            .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
        let mut answer = serde_json::json!({
            "failed": true,
            "changed": false,
            "msg": format!("internal error in {name}: {payload}{place}. This is a bug; please report it with the task that triggered it."),
        });
        let secrets = result::hidden_globally();
        if !secrets.is_empty() {
            result::scrub(&mut answer, &secrets);
        }
        emit(&answer);
        std::process::exit(1);
    }));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Re-runs this test binary as a child that panics with the hook installed, because the
    /// hook ends the process.
    #[test]
    fn a_panic_answers_in_json_naming_the_module() {
        if std::env::var_os("NFV_PANIC_CHILD").is_some() {
            let _ = MODULE_NAME.set("nfv.vhostuser.example".into());
            install_panic_hook();
            panic!("boom");
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tests::a_panic_answers_in_json_naming_the_module",
                "--nocapture",
            ])
            .env("NFV_PANIC_CHILD", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .expect("a JSON line");
        let answer: Value = serde_json::from_str(line).unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(answer["failed"], Value::Bool(true));
        let msg = answer["msg"].as_str().unwrap();
        assert!(
            msg.starts_with("internal error in nfv.vhostuser.example: boom at "),
            "{msg}"
        );
    }
}
