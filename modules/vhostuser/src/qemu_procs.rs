//! Running QEMU processes and their vhost-user sockets, read from `/proc/<pid>/cmdline`: what
//! QEMU really does (server or client, which path, which user and group), whatever the domain
//! XML or qemu.conf now say.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::procfs::{Process, processes_named};

/// The kernel's names for QEMU binaries (`comm` is cut at 15 bytes).
pub const QEMU_NAMES: &[&str] = &[
    "qemu-kvm",
    "qemu-system-x86",
    "qemu-system-x86_64",
    "qemu-system-aar",
];

/// One vhost-user chardev of a running QEMU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VhostChardev {
    pub id: String,
    pub path: String,
    /// QEMU listens (libvirt `mode='server'`, pairs with OvS `dpdkvhostuserclient`).
    pub server: bool,
}

/// A running QEMU with its identity and vhost-user sockets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QemuProcess {
    #[serde(flatten)]
    pub process: Process,
    /// The guest name from `-name guest=NAME` or `-name NAME` (libvirt's domain name).
    pub guest: Option<String>,
    pub vhost_user: Vec<VhostChardev>,
}

/// Every running QEMU. A process that exits during the scan is skipped.
#[must_use]
pub fn qemu_processes(proc_root: &Path) -> Vec<QemuProcess> {
    processes_named(proc_root, QEMU_NAMES)
        .into_iter()
        .filter_map(|process| {
            let raw =
                std::fs::read(proc_root.join(process.pid.to_string()).join("cmdline")).ok()?;
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            Some(from_args(process, &args))
        })
        .collect()
}

/// Reads the guest name and vhost-user chardevs from QEMU's arguments.
#[must_use]
pub fn from_args(process: Process, args: &[String]) -> QemuProcess {
    let mut chardevs: BTreeMap<String, (String, bool)> = BTreeMap::new();
    let mut vhost_ids = Vec::new();
    let mut guest = None;
    let mut pairs = args.iter().zip(args.iter().skip(1));
    while let Some((flag, value)) = pairs.next() {
        let flag = flag.trim_start_matches('-');
        match flag {
            "name" => guest = name_of(value),
            "chardev" => {
                let opts = split_opts(value);
                if opts
                    .first()
                    .is_some_and(|(k, v)| k == "socket" && v.is_none())
                {
                    let get =
                        |key: &str| opts.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
                    if let (Some(Some(id)), Some(Some(path))) = (get("id"), get("path")) {
                        chardevs.insert(id, (path, is_server(&opts)));
                    }
                }
            }
            "netdev" => vhost_ids.extend(vhost_user_chardev(value)),
            _ => continue,
        }
        // The value was consumed with its flag.
        pairs.next();
    }
    let vhost_user = vhost_ids
        .into_iter()
        .filter_map(|id| {
            chardevs.get(&id).map(|(path, server)| VhostChardev {
                id,
                path: path.clone(),
                server: *server,
            })
        })
        .collect();
    QemuProcess {
        process,
        guest,
        vhost_user,
    }
}

/// The chardev of a `-netdev` of type vhost-user, written as QEMU options
/// (`vhost-user,chardev=charnet0,id=hostnet0`) or, as current libvirt writes it, as JSON
/// (`{"type":"vhost-user","chardev":"charnet0","id":"hostnet0"}`).
fn vhost_user_chardev(value: &str) -> Option<String> {
    if value.trim_start().starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(value).ok()?;
        return (json.get("type")?.as_str()? == "vhost-user")
            .then(|| json.get("chardev")?.as_str().map(str::to_owned))?;
    }
    let opts = split_opts(value);
    if !opts
        .first()
        .is_some_and(|(k, v)| k == "vhost-user" && v.is_none())
    {
        return None;
    }
    opts.into_iter()
        .find(|(k, _)| k == "chardev")
        .and_then(|(_, v)| v)
}

/// `-name guest=NAME,debug-threads=on` (libvirt) or a bare `-name NAME`.
fn name_of(value: &str) -> Option<String> {
    let opts = split_opts(value);
    opts.iter()
        .find(|(k, _)| k == "guest")
        .and_then(|(_, v)| v.clone())
        .or_else(|| {
            opts.first()
                .filter(|(_, v)| v.is_none())
                .map(|(k, _)| k.clone())
        })
}

/// QEMU's role: `server=on` today, a bare `server` (or `server=yes`/`true`) before QEMU 6;
/// no `server` key, or `server=off`, means client.
fn is_server(opts: &[(String, Option<String>)]) -> bool {
    opts.iter().any(|(k, v)| {
        k == "server"
            && v.as_deref()
                .is_none_or(|v| matches!(v, "on" | "yes" | "true" | "y"))
    })
}

/// QEMU's `key=value,key,...` option syntax, where `,,` is a literal comma.
fn split_opts(text: &str) -> Vec<(String, Option<String>)> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                current.push(',');
            } else {
                parts.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (p, None),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn process() -> Process {
        Process {
            pid: 7,
            name: "qemu-kvm".into(),
            uid: 107,
            gid: 42477,
            groups: vec![42477],
        }
    }

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn libvirt_command_lines_old_and_new() {
        let q = from_args(
            process(),
            &args(
                "/usr/libexec/qemu-kvm -name guest=instance-00000001,debug-threads=on -m 1024 \
                 -chardev socket,id=charnet0,path=/var/lib/vhost_sockets/vhu1,server=on \
                 -netdev vhost-user,chardev=charnet0,id=hostnet0 \
                 -chardev socket,id=charnet1,path=/var/run/openvswitch/vhu2 \
                 -netdev vhost-user,chardev=charnet1,id=hostnet1 \
                 -chardev socket,id=charnet2,path=/tmp/old,,sock,server,nowait \
                 -netdev vhost-user,chardev=charnet2,id=hostnet2 \
                 -chardev socket,id=charmonitor,fd=30,server=on,wait=off",
            ),
        );
        assert_eq!(q.guest.as_deref(), Some("instance-00000001"));
        assert_eq!(
            q.vhost_user,
            vec![
                VhostChardev {
                    id: "charnet0".into(),
                    path: "/var/lib/vhost_sockets/vhu1".into(),
                    server: true
                },
                VhostChardev {
                    id: "charnet1".into(),
                    path: "/var/run/openvswitch/vhu2".into(),
                    server: false
                },
                VhostChardev {
                    id: "charnet2".into(),
                    path: "/tmp/old,sock".into(),
                    server: true
                },
            ]
        );
    }

    #[test]
    fn current_libvirt_writes_the_netdev_as_json() {
        let q = from_args(
            process(),
            &args(
                "qemu-kvm -name guest=instance-1 -chardev socket,id=charnet0,path=/var/lib/vhost_sockets/vhu1,server=on \
                 -netdev {\"type\":\"vhost-user\",\"chardev\":\"charnet0\",\"id\":\"hostnet0\"} \
                 -netdev {\"type\":\"tap\",\"fd\":\"30\",\"id\":\"hostnet1\"}",
            ),
        );
        assert_eq!(
            q.vhost_user,
            vec![VhostChardev {
                id: "charnet0".into(),
                path: "/var/lib/vhost_sockets/vhu1".into(),
                server: true
            }]
        );
    }

    #[test]
    fn plain_name_and_server_off() {
        let q = from_args(
            process(),
            &args(
                "qemu-system-x86_64 -name vm1 -chardev socket,id=c,path=/s,server=off -netdev vhost-user,id=n,chardev=c",
            ),
        );
        assert_eq!(q.guest.as_deref(), Some("vm1"));
        assert!(!q.vhost_user[0].server);
    }
}
