//! The pairing table: each OvS vhost-user interface with the libvirt interface and the QEMU
//! chardev on the same socket, and what is wrong between them. Built with hash maps in one
//! pass over each side, so a node with thousands of ports costs linear time.

use std::collections::HashMap;

use serde::Serialize;

use super::facts::{DomainInterface, Facts, OvsInterface};
use crate::OvsType;
use crate::libvirt::SourceMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Matched,
    /// Both sides clients or both servers: they can never connect.
    MismatchedMode,
    /// The same port by name, but the two sides use different socket paths.
    MismatchedPath,
    /// An OvS interface no domain uses.
    OrphanOvs,
    /// A domain interface no OvS interface serves.
    OrphanLibvirt,
    /// A running QEMU's vhost-user socket that neither side describes.
    OrphanQemu,
}

#[derive(Debug, Clone, Serialize)]
pub struct OvsSide {
    pub interface: String,
    #[serde(rename = "type")]
    pub kind: OvsType,
    pub path: String,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LibvirtSide {
    pub domain: String,
    pub running: bool,
    pub mode: Option<SourceMode>,
    pub path: Option<String>,
    pub mac: Option<String>,
    pub target: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QemuSide {
    pub pid: u32,
    pub guest: Option<String>,
    pub server: bool,
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub ovs: Option<OvsSide>,
    pub libvirt: Option<LibvirtSide>,
    pub qemu: Option<QemuSide>,
    pub verdict: Verdict,
}

impl Pair {
    /// The VM on the pair, if one runs: the running domain's name, else the QEMU's guest or
    /// pid.
    #[must_use]
    pub fn running_vm(&self) -> Option<String> {
        if let Some(l) = self.libvirt.as_ref().filter(|l| l.running) {
            return Some(l.domain.clone());
        }
        self.qemu.as_ref().map(|q| {
            q.guest
                .clone()
                .unwrap_or_else(|| format!("QEMU pid {}", q.pid))
        })
    }
}

/// The socket an OvS interface uses: the server path for `dpdkvhostuserclient`, and
/// `<rundir>/<vhost-sock-dir>/<name>` for `dpdkvhostuser`.
#[must_use]
pub fn ovs_socket_path(iface: &OvsInterface, rundir: &str, vhost_sock_dir: Option<&str>) -> String {
    if iface.kind.is_client() {
        return iface.server_path.clone().unwrap_or_default();
    }
    let mut path = rundir.trim_end_matches('/').to_owned();
    if let Some(sub) = vhost_sock_dir.filter(|s| !s.is_empty()) {
        path.push('/');
        path.push_str(sub.trim_matches('/'));
    }
    path.push('/');
    path.push_str(&iface.name);
    path
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Builds the table.
#[must_use]
pub fn pair(facts: &Facts, rundir: &str) -> Vec<Pair> {
    let empty = Vec::new();
    let ovs_ifaces = facts.ovs.as_ref().map_or(&empty, |o| &o.interfaces);
    let sock_dir = facts
        .ovs
        .as_ref()
        .and_then(|o| o.other_config.get("vhost-sock-dir"))
        .map(String::as_str);
    let mut pairs: Vec<Pair> = ovs_ifaces
        .iter()
        .map(|i| Pair {
            ovs: Some(OvsSide {
                interface: i.name.clone(),
                kind: i.kind,
                path: ovs_socket_path(i, rundir, sock_dir),
                status: i.status.get("status").cloned(),
            }),
            libvirt: None,
            qemu: None,
            verdict: Verdict::OrphanOvs,
        })
        .collect();
    let mut by_path: HashMap<String, usize> = HashMap::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (index, pair) in pairs.iter().enumerate() {
        if let Some(ovs) = &pair.ovs {
            by_path.entry(ovs.path.clone()).or_insert(index);
            by_name.entry(ovs.interface.clone()).or_insert(index);
        }
    }
    for domain in facts.domains.iter().flatten() {
        for iface in &domain.interfaces {
            attach_libvirt(
                &mut pairs,
                &by_path,
                &by_name,
                domain.name.as_str(),
                domain.running,
                iface,
            );
        }
    }
    attach_qemus(facts, &mut pairs);
    for pair in &mut pairs {
        pair.verdict = judge(pair);
    }
    pairs
}

fn attach_libvirt(
    pairs: &mut Vec<Pair>,
    by_path: &HashMap<String, usize>,
    by_name: &HashMap<String, usize>,
    domain: &str,
    running: bool,
    iface: &DomainInterface,
) {
    let side = LibvirtSide {
        domain: domain.to_owned(),
        running,
        mode: iface.mode,
        path: iface.path.clone(),
        mac: iface.mac.clone(),
        target: iface.target.clone(),
    };
    let path = iface.path.as_deref().unwrap_or_default();
    let slot = by_path
        .get(path)
        .or_else(|| by_name.get(basename(path)))
        .copied()
        .filter(|i| pairs[*i].libvirt.is_none());
    match slot {
        Some(index) => pairs[index].libvirt = Some(side),
        None => pairs.push(Pair {
            ovs: None,
            libvirt: Some(side),
            qemu: None,
            verdict: Verdict::OrphanLibvirt,
        }),
    }
}

fn attach_qemus(facts: &Facts, pairs: &mut Vec<Pair>) {
    let mut by_path: HashMap<String, usize> = HashMap::new();
    for (index, pair) in pairs.iter().enumerate() {
        let path = pair
            .libvirt
            .as_ref()
            .and_then(|l| l.path.clone())
            .or_else(|| pair.ovs.as_ref().map(|o| o.path.clone()));
        if let Some(path) = path {
            by_path.entry(path).or_insert(index);
        }
    }
    for qemu in &facts.qemus {
        for chardev in &qemu.vhost_user {
            let side = QemuSide {
                pid: qemu.process.pid,
                guest: qemu.guest.clone(),
                server: chardev.server,
                path: chardev.path.clone(),
            };
            match by_path.get(&chardev.path) {
                Some(index) if pairs[*index].qemu.is_none() => pairs[*index].qemu = Some(side),
                _ => pairs.push(Pair {
                    ovs: None,
                    libvirt: None,
                    qemu: Some(side),
                    verdict: Verdict::OrphanQemu,
                }),
            }
        }
    }
}

fn judge(pair: &Pair) -> Verdict {
    let Some(ovs) = &pair.ovs else {
        return if pair.libvirt.is_some() {
            Verdict::OrphanLibvirt
        } else {
            Verdict::OrphanQemu
        };
    };
    // What the QEMU side is: the running process if there is one, else the domain XML.
    let qemu_server = pair.qemu.as_ref().map(|q| q.server).or_else(|| {
        pair.libvirt
            .as_ref()
            .and_then(|l| l.mode)
            .map(|m| m == SourceMode::Server)
    });
    let qemu_path = pair
        .qemu
        .as_ref()
        .map(|q| q.path.clone())
        .or_else(|| pair.libvirt.as_ref().and_then(|l| l.path.clone()));
    if pair.libvirt.is_none() && pair.qemu.is_none() {
        return Verdict::OrphanOvs;
    }
    if let Some(server) = qemu_server {
        if server != ovs.kind.is_client() {
            return Verdict::MismatchedMode;
        }
    }
    if qemu_path.is_some_and(|p| p != ovs.path) {
        return Verdict::MismatchedPath;
    }
    Verdict::Matched
}

#[cfg(test)]
mod tests;
