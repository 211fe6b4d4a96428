//! What Ansible tells a module about the run (the `_ansible_*` keys), and the operations that
//! must behave the same in every module: check mode, diff mode, file writes and backups.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::convert::to_bool;

/// The run's settings, taken from the `_ansible_*` keys of the args file.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// The module's name as written in the task (`nfv.vhostuser.qemu_conf` or a short name).
    pub module_name: String,
    pub check_mode: bool,
    pub diff: bool,
    pub no_log: bool,
    pub verbosity: u64,
    pub ignore_unknown_opts: bool,
    pub ansible_version: Option<String>,
    pub tmpdir: Option<PathBuf>,
    /// Warnings raised while validating, shown with the module's own.
    pub warnings: Vec<String>,
    /// Values the module found to be secret while running (see [`Ctx::hide`]).
    pub hidden: BTreeSet<String>,
}

impl Ctx {
    /// Takes every `_ansible_*` key out of `params`. Unknown ones are dropped, since ansible-core
    /// adds new ones in minor releases.
    pub fn take_from(params: &mut Map<String, Value>, fallback_name: &str) -> Ctx {
        let internal: Vec<String> = params
            .keys()
            .filter(|k| k.starts_with("_ansible_"))
            .cloned()
            .collect();
        let mut ctx = Ctx {
            module_name: fallback_name.to_owned(),
            ..Ctx::default()
        };
        for key in internal {
            let Some(value) = params.remove(&key) else {
                continue;
            };
            let flag = || to_bool(&value).unwrap_or(false);
            match &key["_ansible_".len()..] {
                "check_mode" => ctx.check_mode = flag(),
                "diff" => ctx.diff = flag(),
                "no_log" => ctx.no_log = flag(),
                "ignore_unknown_opts" => ctx.ignore_unknown_opts = flag(),
                "verbosity" => ctx.verbosity = value.as_u64().unwrap_or(0),
                "module_name" => {
                    if let Some(name) = value.as_str().filter(|n| !n.is_empty()) {
                        name.clone_into(&mut ctx.module_name);
                    }
                }
                "version" => ctx.ansible_version = value.as_str().map(str::to_owned),
                "tmpdir" => ctx.tmpdir = value.as_str().map(PathBuf::from),
                _ => {}
            }
        }
        ctx
    }

    /// Treats `value` as a secret from now on: it is masked in everything the module returns
    /// (results, diffs, messages), as the values of `no_log` options are. For values only the
    /// module can tell are secret, such as a password read from a file.
    pub fn hide(&mut self, value: impl Into<String>) {
        let value = value.into();
        // An empty secret would match everywhere; AnsibleModule skips empty values too.
        if !value.is_empty() {
            crate::result::hide_globally(&value);
            self.hidden.insert(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_internal_key_is_taken_out() {
        let Value::Object(mut params) = json!({
            "path": "/x", "_ansible_check_mode": true, "_ansible_diff": "yes",
            "_ansible_module_name": "nfv.vhostuser.qemu_conf", "_ansible_verbosity": 3,
            "_ansible_some_future_key": {"a": 1}, "_ansible_tmpdir": "/tmp/t/"
        }) else {
            unreachable!()
        };
        let ctx = Ctx::take_from(&mut params, "qemu_conf");
        assert_eq!(params.keys().collect::<Vec<_>>(), ["path"]);
        assert!(ctx.check_mode && ctx.diff && !ctx.no_log);
        assert_eq!(ctx.module_name, "nfv.vhostuser.qemu_conf");
        assert_eq!(ctx.verbosity, 3);
        assert_eq!(ctx.tmpdir, Some(PathBuf::from("/tmp/t/")));
    }

    #[test]
    fn hidden_values_are_kept_for_the_output_and_empty_ones_ignored() {
        let mut ctx = Ctx::default();
        ctx.hide("S3cret-1");
        ctx.hide("");
        assert_eq!(ctx.hidden, BTreeSet::from(["S3cret-1".to_owned()]));
        assert!(crate::result::hidden_globally().contains("S3cret-1"));
    }
}
