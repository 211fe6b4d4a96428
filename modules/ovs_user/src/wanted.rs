//! The module's options: the raw `Params` as Ansible sends them, and the `Wanted` they are
//! checked into once, which the rest of the module works from.

use std::path::{Path, PathBuf};

use ansible_module::Failure;
use serde::Deserialize;
use vhostuser::identity::{self, Account, GroupInfo};

#[derive(Debug, Deserialize)]
pub struct Params {
    pub path: String,
    pub user: String,
    pub group: String,
    pub fix_ownership: bool,
    pub paths: Vec<String>,
    pub backup: bool,
}

/// The validated wish: accounts resolved, the directories to re-own all absolute.
pub(crate) struct Wanted {
    /// The sysconfig file.
    pub path: PathBuf,
    pub user: Account,
    pub group: GroupInfo,
    /// Empty unless `fix_ownership` is on.
    pub ownership_dirs: Vec<PathBuf>,
    pub backup: bool,
}

impl Wanted {
    /// `OVS_USER_ID`'s value: `user:group`.
    pub(crate) fn value(&self) -> String {
        format!("{}:{}", self.user.name, self.group.name)
    }
}

/// Checks the options in the order the module always has: the user, the group, then the
/// directories to re-own.
pub(crate) fn wanted(params: &Params) -> Result<Wanted, Failure> {
    let user = identity::user(&params.user).ok_or_else(|| {
        Failure::new(format!(
            "user '{}' does not exist on this host; the openvswitch package creates it, or create it first",
            params.user
        ))
    })?;
    let group = identity::group(&params.group)
        .ok_or_else(|| Failure::new(identity::missing_group(&params.group)))?;
    Ok(Wanted {
        path: PathBuf::from(&params.path),
        user,
        group,
        ownership_dirs: ownership_dirs(params)?,
        backup: params.backup,
    })
}

/// Every directory to re-own, checked before anything is changed: a bad one found after the
/// file was rewritten would leave the task half applied.
fn ownership_dirs(params: &Params) -> Result<Vec<PathBuf>, Failure> {
    if !params.fix_ownership {
        return Ok(Vec::new());
    }
    let relative: Vec<&str> = params
        .paths
        .iter()
        .filter(|dir| !Path::new(dir).is_absolute())
        .map(String::as_str)
        .collect();
    match relative.as_slice() {
        [] => Ok(params.paths.iter().map(PathBuf::from).collect()),
        [dir] => Err(Failure::new(format!(
            "paths: '{dir}' is relative; give absolute directories (nothing was changed)"
        ))),
        dirs => Err(Failure::new(format!(
            "paths: '{}' are relative; give absolute directories (nothing was changed)",
            dirs.join("', '")
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn params(fix_ownership: bool, paths: &[&str]) -> Params {
        Params {
            path: "/etc/sysconfig/openvswitch".into(),
            user: "root".into(),
            group: "root".into(),
            fix_ownership,
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            backup: false,
        }
    }

    #[test]
    fn directories_are_kept_only_to_be_reowned_and_must_be_absolute() {
        let kept = wanted(&params(true, &["/etc/openvswitch", "/run/openvswitch"])).unwrap();
        assert_eq!(kept.value(), "root:root");
        assert_eq!(
            kept.ownership_dirs,
            [PathBuf::from("/etc/openvswitch"), "/run/openvswitch".into()]
        );
        assert!(
            wanted(&params(false, &["relative"]))
                .unwrap()
                .ownership_dirs
                .is_empty()
        );
        assert_eq!(
            wanted(&params(true, &["/etc/openvswitch", "log"]))
                .err()
                .unwrap()
                .msg,
            "paths: 'log' is relative; give absolute directories (nothing was changed)"
        );
        assert_eq!(
            wanted(&params(true, &["a", "/b", "c"])).err().unwrap().msg,
            "paths: 'a', 'c' are relative; give absolute directories (nothing was changed)"
        );
    }

    #[test]
    fn a_missing_user_is_refused_before_the_directories_are_looked_at() {
        let mut p = params(true, &["relative"]);
        p.user = "no-such-user-for-ovs".into();
        assert_eq!(
            wanted(&p).err().unwrap().msg,
            "user 'no-such-user-for-ovs' does not exist on this host; the openvswitch package \
             creates it, or create it first"
        );
    }
}
