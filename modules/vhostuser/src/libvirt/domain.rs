//! What the audit needs to know about one libvirt domain: its vhost-user interfaces and whether
//! its guest RAM is shared, as plain data.

use serde::Serialize;

use crate::OvsType;

/// One domain as its XML describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Domain {
    pub name: String,
    pub uuid: Option<String>,
    /// Every `<devices><interface type='vhostuser'>`, in document order.
    pub vhostuser_interfaces: Vec<VhostUserInterface>,
    pub memory: Memory,
    /// [`Memory::is_shared`], computed once so that it appears in the JSON.
    pub shared_memory: bool,
}

/// QEMU's role on the vhost-user socket: libvirt's `<source mode>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceMode {
    /// QEMU listens (`server=on` on the chardev).
    Server,
    /// QEMU connects.
    Client,
}

impl SourceMode {
    /// The Open vSwitch interface type that pairs with this mode: exactly one side listens, so
    /// `server` (QEMU listens) pairs with `dpdkvhostuserclient` and `client` with the legacy
    /// `dpdkvhostuser`. Neutron's `get_vhost_mode` says the same: "If OVS is the server, qemu is
    /// the client and vice-versa."
    #[must_use]
    pub fn ovs_type(self) -> OvsType {
        match self {
            SourceMode::Server => OvsType::DpdkVhostUserClient,
            SourceMode::Client => OvsType::DpdkVhostUser,
        }
    }

    /// The inverse of [`SourceMode::ovs_type`].
    #[must_use]
    pub fn for_ovs_type(ovs_type: OvsType) -> SourceMode {
        match ovs_type {
            OvsType::DpdkVhostUserClient => SourceMode::Server,
            OvsType::DpdkVhostUser => SourceMode::Client,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SourceMode::Server => "server",
            SourceMode::Client => "client",
        }
    }

    /// libvirt's spelling; anything else is `None`.
    #[must_use]
    pub fn parse(text: &str) -> Option<SourceMode> {
        match text {
            "server" => Some(SourceMode::Server),
            "client" => Some(SourceMode::Client),
            _ => None,
        }
    }
}

impl std::fmt::Display for SourceMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `<interface type='vhostuser'>`. Every field is optional because libvirt's own defaults
/// differ by version: the test driver invents `<target dev>`, and libvirt 11.1+ (passt backend)
/// no longer requires `<source type/mode>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VhostUserInterface {
    /// `<mac address>`.
    pub mac: Option<String>,
    /// `<source type>`: `unix` is the only type libvirt documents.
    pub source_type: Option<String>,
    /// `<source path>`: the socket.
    pub path: Option<String>,
    /// `<source mode>`; `None` when the attribute is absent.
    pub mode: Option<SourceMode>,
    /// `<source><reconnect>`, which libvirt accepts only with `mode='client'`.
    pub reconnect: Option<Reconnect>,
    /// `<target dev>`: the tap-like name libvirt reports (nova names it after the port).
    pub target_dev: Option<String>,
    /// `<model type>`: vhost-user requires a virtio model.
    pub model: Option<String>,
    /// `<driver queues>`.
    pub queues: Option<u32>,
    /// `<backend type>`: `passt` means the socket belongs to passt, not to Open vSwitch.
    pub backend: Option<String>,
}

impl VhostUserInterface {
    /// The Open vSwitch type this interface pairs with, when its mode is known.
    #[must_use]
    pub fn ovs_type(&self) -> Option<OvsType> {
        self.mode.map(SourceMode::ovs_type)
    }
}

/// `<reconnect enabled timeout>`: QEMU (as client) reconnects after the server went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reconnect {
    pub enabled: bool,
    /// Seconds between attempts.
    pub timeout: Option<u32>,
}

/// The raw memory facts vhost-user depends on, and the rule that combines them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// `<memoryBacking><hugepages>` is present.
    pub hugepages: bool,
    /// `<memoryBacking><access mode>`: `shared` or `private`.
    pub access_mode: Option<String>,
    /// `<memoryBacking><source type>`: `file`, `anonymous` or `memfd`.
    pub source_type: Option<String>,
    /// `<cpu><numa><cell>`, in document order.
    pub numa_cells: Vec<NumaCell>,
}

/// One `<cpu><numa><cell>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NumaCell {
    pub id: Option<u32>,
    /// `memAccess`: `shared` or `private`.
    pub mem_access: Option<String>,
}

const SHARED: &str = "shared";

impl Memory {
    /// Whether all guest RAM is mapped shared, which vhost-user needs: the switch reads and
    /// writes the guest's buffers through its own mapping of the same memory. Without it QEMU
    /// logs "Failed initializing vhost-user memory map, consider using -object
    /// memory-backend-file share=on" and the NIC does not work.
    ///
    /// The rule, as libvirt applies the settings: a NUMA cell's `memAccess` overrides
    /// `<memoryBacking><access mode>` for that cell. So with NUMA cells, every cell must end up
    /// `shared` (its own `memAccess='shared'`, or no `memAccess` and `access mode='shared'`);
    /// without NUMA cells, `access mode='shared'` is required.
    ///
    /// `<hugepages>` alone is NOT enough: it only chooses hugetlbfs as the backing, which QEMU
    /// maps private (`share=off`) unless access is shared. It is reported as a raw fact
    /// ([`Memory::hugepages`]) because the shared mapping usually needs a file-backed source
    /// (hugepages, `memfd` or `file`), not because it shares anything.
    #[must_use]
    pub fn is_shared(&self) -> bool {
        let domain_wide = self.access_mode.as_deref();
        if self.numa_cells.is_empty() {
            return domain_wide == Some(SHARED);
        }
        self.numa_cells
            .iter()
            .all(|cell| cell.mem_access.as_deref().or(domain_wide) == Some(SHARED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(mem_access: Option<&str>) -> NumaCell {
        NumaCell {
            id: None,
            mem_access: mem_access.map(str::to_owned),
        }
    }

    fn memory(access: Option<&str>, cells: Vec<NumaCell>) -> Memory {
        Memory {
            hugepages: true,
            access_mode: access.map(str::to_owned),
            source_type: None,
            numa_cells: cells,
        }
    }

    #[test]
    fn hugepages_alone_are_not_shared() {
        assert!(!memory(None, vec![]).is_shared());
        assert!(!memory(None, vec![cell(None)]).is_shared());
    }

    #[test]
    fn domain_wide_access_shares_cells_without_their_own() {
        assert!(memory(Some("shared"), vec![]).is_shared());
        assert!(memory(Some("shared"), vec![cell(None), cell(Some("shared"))]).is_shared());
        assert!(!memory(Some("private"), vec![]).is_shared());
    }

    #[test]
    fn every_cell_must_end_up_shared() {
        assert!(memory(None, vec![cell(Some("shared")), cell(Some("shared"))]).is_shared());
        assert!(!memory(None, vec![cell(Some("shared")), cell(None)]).is_shared());
        // A cell's memAccess overrides the domain-wide mode.
        assert!(!memory(Some("shared"), vec![cell(Some("private"))]).is_shared());
        assert!(memory(Some("private"), vec![cell(Some("shared"))]).is_shared());
    }

    #[test]
    fn modes_pair_with_the_opposite_ovs_role() {
        assert_eq!(SourceMode::Server.ovs_type(), OvsType::DpdkVhostUserClient);
        assert_eq!(SourceMode::Client.ovs_type(), OvsType::DpdkVhostUser);
        for mode in [SourceMode::Server, SourceMode::Client] {
            assert_eq!(SourceMode::for_ovs_type(mode.ovs_type()), mode);
            assert_eq!(SourceMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(SourceMode::parse("Server"), None);
    }
}
