//! The live swap of one vhost-user interface of a running domain, in the order that keeps the
//! guest's gap shortest and leaves it whole when a step fails:
//!
//! 1. unplug the interface as it runs (`detach-device --live`), waiting until QEMU has let
//!    it go;
//! 2. switch its Open vSwitch port to the type pairing with the new mode (a `server` socket
//!    of QEMU's needs a `dpdkvhostuserclient` port connecting to it, else QEMU waits for a peer
//!    with the guest frozen, so the port comes first);
//! 3. plug the replacement (`attach-device --live`: same MAC, same PCI address, the new
//!    `<source>`), bounded by `attach_timeout`;
//! 4. wait until Open vSwitch reports the port `connected`: the gap is from the unplug to then.
//!
//! The persistent definition was defined before, so an interruption at any step leaves a
//! domain whose next start, or a second run of the module, completes the move. When the port
//! switch or the plug fails, the old interface and port are put back. When the plug times out
//! (QEMU waiting for a peer that cannot open its socket), the socket is given a group
//! ovs-vswitchd holds, so that the guest resumes, and the run fails saying so.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use ansible_module::Ctx;
use serde::Serialize;
use vhostuser::libvirt::hotplug::HotplugFacts;
use vhostuser::libvirt::{
    Definition, Error as VirshError, ManageError, SourceChange, SourceMode, Virsh, without_alias,
};
use vhostuser::socket_access;

use crate::ports::PortSwitch;
use crate::preflight::{Peers, owned};
use crate::select::Planned;

/// How often the running XML is read while waiting for an unplug or a plug to show.
const POLL: Duration = Duration::from_millis(20);

/// Settings of the swap.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub attach_timeout: Duration,
    pub timeout: Duration,
}

/// One swapped interface, for the result. Seconds are counted from the start of the unplug.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Swapped {
    pub mac: String,
    pub port: String,
    pub mode: String,
    pub path: String,
    /// The unplug returned and the device was gone.
    pub detached_s: f64,
    /// The port had its new type.
    pub port_switched_s: f64,
    /// The plug returned.
    pub attached_s: f64,
    /// Open vSwitch reported the port `connected`; `None` if it did not within `timeout`.
    pub connected_s: Option<f64>,
    /// The network gap the guest saw on this interface: from the unplug until `connected`
    /// (until the plug returned when `connected` was not seen).
    pub gap_s: f64,
    /// The replacement sits at the PCI address of the interface it replaced.
    pub same_pci_address: bool,
}

fn seconds(from: Instant, to: Instant) -> f64 {
    (to.saturating_duration_since(from).as_secs_f64() * 1000.0).round() / 1000.0
}

/// The PCI address of the interface with `mac` in a domain XML.
fn pci_address(xml: &str, mac: &str) -> Option<(Option<u32>, Option<u32>, Option<u32>)> {
    let facts = HotplugFacts::parse(xml).ok()?;
    facts
        .interfaces
        .into_iter()
        .find(|i| {
            i.mac
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(mac))
        })
        .map(|i| (i.bus, i.slot, i.function))
}

/// Waits until the running domain has (`present`) or has not an interface with `mac`; its
/// running XML then, or `None` at `deadline`.
fn wait_for_mac(
    virsh: &Virsh,
    name: &str,
    mac: &str,
    present: bool,
    deadline: Instant,
) -> Result<Option<String>, ManageError> {
    loop {
        let xml = virsh.live_xml(name)?;
        let has = Definition::parse(&xml)
            .ok()
            .is_some_and(|d| d.find_mac(mac).is_some());
        if has == present {
            return Ok(Some(xml));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(POLL);
    }
}

/// The device XML of the replacement: the running interface (else the definition's) with
/// the planned `<source>`, without libvirt's alias.
fn replacement(
    live: &Definition,
    definition: &Definition,
    planned: &Planned,
) -> Result<String, String> {
    let mac = planned.mac.as_deref().unwrap_or_default();
    let (from, index) = match live.find_mac(mac) {
        Some(index) => (live, index),
        None => (
            definition,
            definition.find_mac(mac).ok_or_else(|| {
                format!("the interface with mac {mac} is neither running nor defined")
            })?,
        ),
    };
    let change = SourceChange {
        interface: index,
        mode: planned.after.mode,
        path: planned.after.path.clone(),
    };
    let edited = from.with_sources(&[change]).map_err(|e| e.to_string())?;
    let edited = Definition::parse(&edited).map_err(|e| e.to_string())?;
    edited
        .interface_text(index)
        .map(without_alias)
        .ok_or_else(|| format!("the interface with mac {mac} has no element to copy"))
}

/// Swaps one interface. On failure the message says what state it is left in.
#[allow(clippy::too_many_arguments)]
pub(crate) fn swap(
    virsh: &Virsh,
    live: &Definition,
    definition: &Definition,
    planned: &Planned,
    ports: &PortSwitch,
    peers: &Peers,
    settings: &Settings,
    ctx: &Ctx,
) -> Result<Swapped, String> {
    let name = live.name.as_str();
    let mac = planned.mac.as_deref().unwrap_or_default();
    let port = planned.ovs_port().unwrap_or_default();
    let new_xml = replacement(live, definition, planned)?;
    let old_xml = live
        .find_mac(mac)
        .and_then(|i| live.interface_text(i))
        .map(without_alias);
    let old_address = pci_address(&live.xml, mac);
    let mut swapped = Swapped {
        mac: mac.to_owned(),
        port: port.to_owned(),
        mode: planned.after.mode.map_or("", SourceMode::as_str).to_owned(),
        path: planned.after.path.clone().unwrap_or_default(),
        ..Swapped::default()
    };

    let start = Instant::now();
    if let Some(old) = &old_xml {
        virsh
            .live_device("detach-device", name, old, settings.timeout)
            .map_err(|e| {
                format!(
                    "unplugging the interface with mac {mac} failed: {e}; nothing was changed on it"
                )
            })?;
        if wait_for_mac(virsh, name, mac, false, start + settings.timeout)
            .map_err(|e| e.to_string())?
            .is_none()
        {
            return Err(format!(
                "the guest did not release the interface with mac {mac} within {}s of the \
                 unplug request (does it handle PCI hot-unplug?); libvirt may still remove it. \
                 Its port is unchanged",
                settings.timeout.as_secs()
            ));
        }
    }
    swapped.detached_s = seconds(start, Instant::now());

    if let Err(e) = ports.switch(port, &planned.after, ctx) {
        return Err(put_back(
            virsh,
            name,
            old_xml.as_deref(),
            ports,
            planned,
            ctx,
            &e,
            settings,
        ));
    }
    swapped.port_switched_s = seconds(start, Instant::now());
    if planned.after.mode == Some(SourceMode::Client) {
        // Open vSwitch creates a dpdkvhostuser socket once it applies the port; QEMU's client
        // connects at plug time.
        wait_for_file(&swapped.path, Instant::now() + settings.timeout);
    }

    match virsh.live_device("attach-device", name, &new_xml, settings.attach_timeout) {
        Ok(()) => {}
        Err(ManageError::Virsh(VirshError::Timeout { .. })) => {
            return Err(unfreeze(virsh, name, &swapped, peers, settings));
        }
        Err(e) => {
            let why = format!("plugging the replacement failed: {e}");
            return Err(put_back(
                virsh,
                name,
                old_xml.as_deref(),
                ports,
                planned,
                ctx,
                &why,
                settings,
            ));
        }
    }
    swapped.attached_s = seconds(start, Instant::now());

    let connected =
        ports.wait_connected(port, start + settings.timeout + settings.attach_timeout)?;
    swapped.connected_s = connected.map(|at| seconds(start, at));
    swapped.gap_s = swapped.connected_s.unwrap_or(swapped.attached_s);
    let after = virsh.live_xml(name).map_err(|e| e.to_string())?;
    swapped.same_pci_address = old_address.is_none() || pci_address(&after, mac) == old_address;
    Ok(swapped)
}

fn wait_for_file(path: &str, deadline: Instant) {
    while !Path::new(path).exists() && Instant::now() < deadline {
        thread::sleep(POLL);
    }
}

/// After a failed port switch or plug: the port back to its type, the old interface plugged
/// back; the message says how far that got.
#[allow(clippy::too_many_arguments)]
fn put_back(
    virsh: &Virsh,
    name: &str,
    old_xml: Option<&str>,
    ports: &PortSwitch,
    planned: &Planned,
    ctx: &Ctx,
    why: &str,
    settings: &Settings,
) -> String {
    let port = planned.ovs_port().unwrap_or_default();
    let mac = planned.mac.as_deref().unwrap_or_default();
    let mut message = vec![format!("{why}. ")];
    match ports.switch(port, &planned.before, ctx) {
        Ok(()) => message.push(format!("Port {port} was given its previous type back")),
        Err(e) => message.push(format!("Putting port {port} back failed too ({e})")),
    }
    if planned.before.mode == Some(SourceMode::Client) {
        if let Some(path) = &planned.before.path {
            wait_for_file(path, Instant::now() + settings.timeout);
        }
    }
    match old_xml.map(|xml| virsh.live_device("attach-device", name, xml, settings.attach_timeout))
    {
        Some(Ok(())) => message.push(format!(
            " and the interface with mac {mac} was plugged back on its old socket, so the guest \
             runs as before; the domain's persistent definition has the new socket already (it \
             takes effect at its next start)"
        )),
        Some(Err(e)) => message.push(format!(
            "; plugging the interface with mac {mac} back failed ({e}): the guest runs without \
             it. Start the domain again (its definition has the new socket) or attach it by hand"
        )),
        None => message.push(format!(
            "; the interface with mac {mac} was not running before, and is not now"
        )),
    }
    message.concat()
}

/// The plug did not return in time: QEMU is most likely waiting for a peer that cannot open
/// its new socket, with the guest frozen. Give the socket a group ovs-vswitchd holds, with
/// group write, so that it connects and QEMU resumes; then say what happened.
fn unfreeze(
    virsh: &Virsh,
    name: &str,
    swapped: &Swapped,
    peers: &Peers,
    settings: &Settings,
) -> String {
    let path = Path::new(&swapped.path);
    let mut parts = vec![format!(
        "plugging the replacement of the interface with mac {} did not finish within {}s \
         (attach_timeout)",
        swapped.mac,
        settings.attach_timeout.as_secs()
    )];
    match owned(path) {
        None => parts.push(format!("; its socket {} does not exist", swapped.path)),
        Some(socket) => {
            let fix = owned(crate::preflight::parent(&swapped.path))
                .and_then(|dir| socket_access::regrouped(&peers.ovs, &dir, &socket));
            if let Some(fix) = fix {
                let group = fix.gid;
                let fixed = nix_chgrp(path, group).and_then(|()| {
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(fix.mode))
                });
                match fixed {
                    Ok(()) => parts.push(format!(
                        "; its socket {} was {socket}, which ovs-vswitchd ({}) cannot open, so \
                         QEMU waited for a peer with the guest frozen: the socket was given \
                         group {} so that Open vSwitch connects and the guest resumes",
                        swapped.path,
                        socket_access::describe(&peers.ovs),
                        vhostuser::identity::group_name(group)
                    )),
                    Err(e) => parts.push(format!(
                        "; its socket {} is {socket}, which ovs-vswitchd cannot open, and \
                         changing its group failed ({e}): the guest may be frozen. Run chgrp {} \
                         {} now",
                        swapped.path,
                        vhostuser::identity::group_name(group),
                        swapped.path
                    )),
                }
            } else {
                parts.push(format!("; its socket {} is {socket}", swapped.path));
            }
        }
    }
    let deadline = Instant::now() + settings.timeout;
    match wait_for_mac(virsh, name, &swapped.mac, true, deadline) {
        Ok(Some(_)) => parts.push("; libvirt then finished the plug".to_owned()),
        _ => parts.push(
            "; libvirt has not finished the plug (virsh domjobinfo, virsh dumpxml)".to_owned(),
        ),
    }
    parts.concat()
}

/// `chown(path, -1, gid)`.
fn nix_chgrp(path: &Path, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::chown(path, None, Some(gid))
}
