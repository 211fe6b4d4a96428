//! What Ansible tells a module about the run (the `_ansible_*` keys), and the operations that
//! must behave the same in every module: check mode, diff mode, file writes and backups.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::convert::to_bool;
use crate::files;

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

    /// Replaces a file atomically, unless in check mode. Returns whether it wrote.
    pub fn replace_file(
        &self,
        path: &Path,
        content: &[u8],
        new_mode: u32,
    ) -> std::io::Result<bool> {
        if self.check_mode {
            return Ok(false);
        }
        files::write_atomic(path, content, new_mode)?;
        Ok(true)
    }

    /// Backs a file up with Ansible's naming, unless in check mode.
    pub fn backup_file(&self, path: &Path) -> std::io::Result<Option<PathBuf>> {
        if self.check_mode {
            Ok(None)
        } else {
            files::backup(path).map(Some)
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
}
