//! Whether one process will be able to connect to the unix socket another is about to create:
//! the socket takes its creator's user, the directory's group when the directory is setgid
//! (else the creator's group) and `0777 & !umask`; connecting needs search permission on the
//! directory and write permission on the socket, checked as the kernel checks them (owner
//! bits, else group bits for any of the process's groups, else other bits; root passes).
//! Pure: the credentials and modes in, the prediction or the reason out.

use std::fmt;

use crate::identity::{group_name, user_name};
use crate::procfs::Process;

/// A file's owner, group and permission bits (with the setgid bit, `0o2000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owned {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

impl fmt::Display for Owned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} {:04o}",
            user_name(self.uid),
            group_name(self.gid),
            self.mode & 0o7777
        )
    }
}

const SETGID: u32 = 0o2000;

/// Who a process is, for messages: `qemu:hugetlbfs (groups kvm, hugetlbfs)`.
#[must_use]
pub fn describe(process: &Process) -> String {
    let ids = format!("{}:{}", user_name(process.uid), group_name(process.gid));
    if process.groups.is_empty() {
        return ids;
    }
    let groups: Vec<String> = process.groups.iter().map(|g| group_name(*g)).collect();
    format!("{ids} (groups {})", groups.join(", "))
}

/// The socket `creator` (with `umask`) will make in `dir`.
#[must_use]
pub fn predict(creator: &Process, umask: u32, dir: &Owned) -> Owned {
    Owned {
        uid: creator.uid,
        gid: if dir.mode & SETGID != 0 {
            dir.gid
        } else {
            creator.gid
        },
        mode: 0o777 & !umask,
    }
}

/// Whether `who` has the permission `bits` (4 read, 2 write, 1 execute/search) on `file`.
#[must_use]
pub fn permits(who: &Process, file: &Owned, bits: u32) -> bool {
    if who.uid == 0 {
        return true;
    }
    let granted = if who.uid == file.uid {
        file.mode >> 6
    } else if who.has_group(file.gid) {
        file.mode >> 3
    } else {
        file.mode
    } & 0o7;
    granted & bits == bits
}

/// `Ok` when `creator` can make a socket in `dir` (search and write on it).
pub fn can_create(creator: &Process, dir: &Owned) -> Result<(), String> {
    if permits(creator, dir, 3) {
        Ok(())
    } else {
        Err(format!(
            "{} ({}) cannot create a socket in the directory ({dir})",
            creator.name,
            describe(creator)
        ))
    }
}

/// `Ok` when `opener` can connect to `socket` in `dir`; otherwise why not, in a sentence.
pub fn can_connect(opener: &Process, dir: &Owned, socket: &Owned) -> Result<(), String> {
    if !permits(opener, dir, 1) {
        return Err(format!(
            "{} ({}) cannot enter the socket directory ({dir})",
            opener.name,
            describe(opener)
        ));
    }
    if !permits(opener, socket, 2) {
        return Err(format!(
            "{} ({}) could not connect to a socket {socket}",
            opener.name,
            describe(opener)
        ));
    }
    Ok(())
}

/// The socket as it must become for `opener` to connect when it cannot now: `opener`'s own
/// group, with group read and write. `None` when it can already connect, or when no group
/// change would let it (the directory is what stops it).
#[must_use]
pub fn regrouped(opener: &Process, dir: &Owned, socket: &Owned) -> Option<Owned> {
    if can_connect(opener, dir, socket).is_ok() {
        return None;
    }
    let fixed = Owned {
        gid: opener.gid,
        mode: (socket.mode | 0o060) & 0o777,
        ..*socket
    };
    can_connect(opener, dir, &fixed).is_ok().then_some(fixed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn process(name: &str, uid: u32, gid: u32, groups: &[u32]) -> Process {
        Process {
            pid: 1,
            name: name.to_owned(),
            uid,
            gid,
            groups: groups.to_vec(),
        }
    }

    const QEMU: u32 = 107;
    const OVS: u32 = 42476;
    const HUGETLBFS: u32 = 42477;

    #[test]
    fn a_setgid_directory_gives_the_socket_its_group() {
        let qemu = process("qemu-system-x86", QEMU, QEMU, &[36, HUGETLBFS]);
        let ovs = process("ovs-vswitchd", OVS, HUGETLBFS, &[]);
        let dir = Owned {
            uid: QEMU,
            gid: HUGETLBFS,
            mode: 0o2775,
        };
        let socket = predict(&qemu, 0o002, &dir);
        assert_eq!(
            socket,
            Owned {
                uid: QEMU,
                gid: HUGETLBFS,
                mode: 0o775
            }
        );
        assert_eq!(can_connect(&ovs, &dir, &socket), Ok(()));
    }

    #[test]
    fn without_setgid_qemu_s_own_group_locks_a_non_root_ovs_out() {
        // QEMU as root (the legacy user = "root"), the directory not setgid: root:root 0775.
        let qemu = process("qemu-system-x86", 0, 0, &[]);
        let ovs = process("ovs-vswitchd", OVS, HUGETLBFS, &[]);
        let dir = Owned {
            uid: QEMU,
            gid: HUGETLBFS,
            mode: 0o775,
        };
        let socket = predict(&qemu, 0o002, &dir);
        assert_eq!((socket.uid, socket.gid, socket.mode), (0, 0, 0o775));
        let why = can_connect(&ovs, &dir, &socket).unwrap_err();
        assert!(why.contains("could not connect to a socket"), "{why}");
        // A root Open vSwitch (the legacy node) opens anything.
        let root_ovs = process("ovs-vswitchd", 0, QEMU, &[]);
        assert_eq!(can_connect(&root_ovs, &dir, &socket), Ok(()));
        // The group OvS holds fixes it.
        let fixed = regrouped(&ovs, &dir, &socket).unwrap();
        assert_eq!((fixed.uid, fixed.gid, fixed.mode), (0, HUGETLBFS, 0o775));
        assert_eq!(can_connect(&ovs, &dir, &fixed), Ok(()));
        assert_eq!(regrouped(&ovs, &dir, &fixed), None, "nothing left to fix");
        // A socket without group write gets it.
        let narrow = Owned {
            mode: 0o755,
            ..socket
        };
        assert_eq!(regrouped(&ovs, &dir, &narrow).unwrap().mode, 0o775);
        // A directory OvS cannot enter is not fixed by a group on the socket.
        let closed = Owned { mode: 0o700, ..dir };
        assert_eq!(regrouped(&ovs, &closed, &socket), None);
    }

    #[test]
    fn the_directory_must_be_searchable() {
        let ovs = process("ovs-vswitchd", OVS, HUGETLBFS, &[]);
        let dir = Owned {
            uid: 0,
            gid: 0,
            mode: 0o700,
        };
        let socket = Owned {
            uid: OVS,
            gid: HUGETLBFS,
            mode: 0o777,
        };
        let why = can_connect(&ovs, &dir, &socket).unwrap_err();
        assert!(why.contains("cannot enter the socket directory"), "{why}");
        let qemu = process("qemu-system-x86", QEMU, QEMU, &[]);
        let legacy_dir = Owned {
            uid: 0,
            gid: 0,
            mode: 0o755,
        };
        let why = can_create(&qemu, &legacy_dir).unwrap_err();
        assert!(why.contains("cannot create a socket"), "{why}");
        assert_eq!(can_create(&process("q", 0, 0, &[]), &legacy_dir), Ok(()));
    }

    #[test]
    fn owner_bits_win_over_group_bits() {
        let who = process("x", 5, 6, &[]);
        let file = Owned {
            uid: 5,
            gid: 6,
            mode: 0o070,
        };
        assert!(!permits(&who, &file, 2), "the owner bits say no");
        let umask_tight = predict(&who, 0o027, &file);
        assert_eq!(umask_tight.mode, 0o750);
    }
}
