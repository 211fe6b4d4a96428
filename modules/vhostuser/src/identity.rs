//! Users and groups by name and id, from the host's account databases (with a static musl
//! binary: the local `/etc/passwd` and `/etc/group`, where service accounts live).

use nix::unistd::{Gid, Group, Uid, User};

/// A user as the permission checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// A group and its listed members (not the users whose primary group it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

#[must_use]
pub fn user(name: &str) -> Option<Account> {
    User::from_name(name).ok().flatten().map(|u| Account {
        name: u.name,
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
    })
}

#[must_use]
pub fn group(name: &str) -> Option<GroupInfo> {
    Group::from_name(name).ok().flatten().map(|g| GroupInfo {
        name: g.name,
        gid: g.gid.as_raw(),
        members: g.mem,
    })
}

/// The name of a uid, or the number as text when it has none.
#[must_use]
pub fn user_name(uid: u32) -> String {
    User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name)
}

/// The name of a gid, or the number as text when it has none.
#[must_use]
pub fn group_name(gid: u32) -> String {
    Group::from_gid(Gid::from_raw(gid))
        .ok()
        .flatten()
        .map_or_else(|| gid.to_string(), |g| g.name)
}

/// Whether a process started as `account` (with its supplementary groups) is in `group`.
#[must_use]
pub fn is_member(account: &Account, group: &GroupInfo) -> bool {
    account.gid == group.gid || group.members.contains(&account.name)
}

/// Why a user or group given by name or number has no id to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// No account of that name, and not a number.
    Missing,
    /// A number that is no id: `4294967295` is `(uid_t)-1`, which chown(2) takes as "leave it
    /// as it is" (so a change would never happen, and be reported forever), and larger numbers
    /// do not fit an id at all.
    NotAnId(String),
}

/// The id a numeric `spec` names, `Ok(None)` when it is not a number.
fn numeric_id(spec: &str) -> Result<Option<u32>, Unresolved> {
    if spec.is_empty() || !spec.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match spec.parse::<u32>() {
        Ok(u32::MAX) => Err(Unresolved::NotAnId(format!(
            "{spec} is (uid_t)-1, which chown reads as 'leave it unchanged', not an id"
        ))),
        Ok(id) => Ok(Some(id)),
        Err(_) => Err(Unresolved::NotAnId(format!(
            "{spec} is larger than any id (the largest is 4294967294)"
        ))),
    }
}

/// How libvirt reads a `user` or `group` in qemu.conf: `+N` is the numeric id N and never a
/// name; anything else is a name (which libvirt, failing to find it, tries as a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibvirtId<'a> {
    Numeric(u32),
    Name(&'a str),
}

impl LibvirtId<'_> {
    /// Reads `spec` as libvirt does.
    #[must_use]
    pub fn parse(spec: &str) -> LibvirtId<'_> {
        spec.strip_prefix('+')
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok())
            .map_or(LibvirtId::Name(spec), LibvirtId::Numeric)
    }

    /// The id when it is numeric, by `+N` or as a bare number.
    #[must_use]
    pub fn number(self) -> Option<u32> {
        match self {
            LibvirtId::Numeric(id) => Some(id),
            LibvirtId::Name(name) => name.parse().ok(),
        }
    }
}

/// A user given by name, or by number as Ansible's `file` module accepts it.
pub fn resolve_user(spec: &str) -> Result<Account, Unresolved> {
    if let Some(account) = user(spec) {
        return Ok(account);
    }
    let uid = numeric_id(spec)?.ok_or(Unresolved::Missing)?;
    Ok(User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(
            || Account {
                name: spec.to_owned(),
                uid,
                gid: uid,
            },
            |u| Account {
                name: u.name,
                uid,
                gid: u.gid.as_raw(),
            },
        ))
}

/// A group given by name, or by number.
pub fn resolve_group(spec: &str) -> Result<GroupInfo, Unresolved> {
    if let Some(group) = group(spec) {
        return Ok(group);
    }
    let gid = numeric_id(spec)?.ok_or(Unresolved::Missing)?;
    Ok(Group::from_gid(Gid::from_raw(gid))
        .ok()
        .flatten()
        .map_or_else(
            || GroupInfo {
                name: spec.to_owned(),
                gid,
                members: Vec::new(),
            },
            |g| GroupInfo {
                name: g.name,
                gid,
                members: g.mem,
            },
        ))
}

/// The failure for a group a module needs that the host does not have.
#[must_use]
pub fn missing_group(name: &str) -> String {
    format!(
        "group '{name}' does not exist on this host; create it first (TripleO uses hugetlbfs with \
         GID 42477 on the host and in its containers)"
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::LibvirtId;

    #[test]
    fn plus_n_is_a_number_for_libvirt_and_nothing_else_is() {
        assert_eq!(LibvirtId::parse("+107"), LibvirtId::Numeric(107));
        assert_eq!(LibvirtId::parse("+0"), LibvirtId::Numeric(0));
        assert_eq!(LibvirtId::parse("107"), LibvirtId::Name("107"));
        assert_eq!(LibvirtId::parse("qemu"), LibvirtId::Name("qemu"));
        assert_eq!(LibvirtId::parse("+"), LibvirtId::Name("+"));
        assert_eq!(LibvirtId::parse("+q"), LibvirtId::Name("+q"));
        assert_eq!(
            LibvirtId::parse("+99999999999"),
            LibvirtId::Name("+99999999999")
        );
        assert_eq!(LibvirtId::parse("107").number(), Some(107));
        assert_eq!(LibvirtId::parse("+42477").number(), Some(42477));
        assert_eq!(LibvirtId::parse("hugetlbfs").number(), None);
    }
    use super::*;

    #[test]
    fn root_resolves_both_ways() {
        let root = user("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(group("root").unwrap().gid, 0);
        assert_eq!(user_name(0), "root");
        assert_eq!(group_name(0), "root");
        assert!(is_member(&root, &group("root").unwrap()));
        assert_eq!(resolve_user("0").unwrap().name, "root");
        assert!(user("no-such-user-nfv").is_none());
        assert_eq!(resolve_group("no-such-group-nfv"), Err(Unresolved::Missing));
        assert_eq!(group_name(4_000_000_000), "4000000000");
    }

    #[test]
    fn chowns_leave_it_unchanged_id_is_no_id() {
        for spec in ["4294967295", "4294967296", "99999999999999999999"] {
            assert!(
                matches!(resolve_user(spec), Err(Unresolved::NotAnId(_))),
                "{spec}"
            );
            assert!(
                matches!(resolve_group(spec), Err(Unresolved::NotAnId(_))),
                "{spec}"
            );
        }
        assert_eq!(
            resolve_group("4294967295"),
            Err(Unresolved::NotAnId(
                "4294967295 is (uid_t)-1, which chown reads as 'leave it unchanged', not an id"
                    .to_owned()
            ))
        );
        // The largest id there is still resolves, with or without an account.
        assert_eq!(resolve_group("4294967294").unwrap().gid, 4_294_967_294);
        assert_eq!(resolve_user("4294967294").unwrap().uid, 4_294_967_294);
        assert_eq!(resolve_user("-1"), Err(Unresolved::Missing));
    }
}
