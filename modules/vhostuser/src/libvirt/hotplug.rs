//! Whether a running domain can have a vhost-user interface unplugged and a replacement plugged
//! into the same PCI slot, read from its live XML: the machine, ACPI, the PCI controllers and
//! the interface's address. Pure: the XML in, the reasons it cannot out.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::xml::{XmlError, attr, next_event};

/// The live swap is supported from these versions on (RHEL 7.6's stack for OSP 13); it was
/// proven on libvirt 9.0 with QEMU 10.0.
pub const MIN_LIBVIRT: (u32, u32, u32) = (4, 5, 0);
pub const MIN_QEMU: (u32, u32, u32) = (2, 12, 0);

/// One `<controller type='pci'>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciController {
    pub index: u32,
    pub model: Option<String>,
    /// `<target hotplug='off'/>`.
    pub hotplug_off: bool,
}

/// One `<interface>`'s MAC and `<address>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceSlot {
    pub mac: Option<String>,
    pub address_type: Option<String>,
    pub bus: Option<u32>,
    pub slot: Option<u32>,
    pub function: Option<u32>,
}

/// What the live XML says about hot-plug.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HotplugFacts {
    /// `<os><type machine>`: `pc-q35-...`, `pc-i440fx-...`.
    pub machine: Option<String>,
    /// `<features><acpi/>`.
    pub acpi: bool,
    pub controllers: Vec<PciController>,
    pub interfaces: Vec<InterfaceSlot>,
}

/// `0x01`, `1`.
fn number(text: Option<String>) -> Option<u32> {
    let text = text?;
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

impl HotplugFacts {
    /// Reads the facts from a domain XML.
    pub fn parse(xml: &str) -> Result<HotplugFacts, XmlError> {
        let mut reader = Reader::from_str(xml);
        let mut path: Vec<String> = Vec::new();
        let mut facts = HotplugFacts::default();
        let mut controller: Option<PciController> = None;
        let mut interface: Option<InterfaceSlot> = None;
        loop {
            let (start, event) = next_event(&mut reader, xml)?;
            let at = |message: String| XmlError::at(xml.as_bytes(), start, message);
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let empty = matches!(event, Event::Empty(_));
                    let name = e.name().as_ref().to_owned();
                    let skip = usize::from(path.first().is_some_and(|p| p == "domstatus")) + 1;
                    let within: Vec<&str> = path.iter().skip(skip).map(String::as_str).collect();
                    match (within.as_slice(), name.as_str()) {
                        (["os"], "type") => facts.machine = attr(e, "machine").map_err(at)?,
                        (["features"], "acpi") => facts.acpi = true,
                        (["devices"], "controller") => {
                            if attr(e, "type").map_err(at)?.as_deref() == Some("pci") {
                                controller = Some(PciController {
                                    index: number(attr(e, "index").map_err(at)?).unwrap_or(0),
                                    model: attr(e, "model").map_err(at)?,
                                    hotplug_off: false,
                                });
                            }
                            if empty {
                                facts.controllers.extend(controller.take());
                            }
                        }
                        (["devices", "controller"], "target") => {
                            if let Some(c) = controller.as_mut() {
                                c.hotplug_off =
                                    attr(e, "hotplug").map_err(at)?.as_deref() == Some("off");
                            }
                        }
                        (["devices"], "interface") => {
                            interface = Some(InterfaceSlot::default());
                            if empty {
                                facts.interfaces.extend(interface.take());
                            }
                        }
                        (["devices", "interface"], "mac") => {
                            if let Some(i) = interface.as_mut() {
                                i.mac = attr(e, "address").map_err(at)?;
                            }
                        }
                        (["devices", "interface"], "address") => {
                            if let Some(i) = interface.as_mut() {
                                i.address_type = attr(e, "type").map_err(at)?;
                                i.bus = number(attr(e, "bus").map_err(at)?);
                                i.slot = number(attr(e, "slot").map_err(at)?);
                                i.function = number(attr(e, "function").map_err(at)?);
                            }
                        }
                        _ => {}
                    }
                    if !empty {
                        path.push(name);
                    }
                }
                Event::End(_) => {
                    let name = path.pop().unwrap_or_default();
                    let skip = usize::from(path.first().is_some_and(|p| p == "domstatus")) + 1;
                    let within: Vec<&str> = path.iter().skip(skip).map(String::as_str).collect();
                    match (within.as_slice(), name.as_str()) {
                        (["devices"], "controller") => facts.controllers.extend(controller.take()),
                        (["devices"], "interface") => facts.interfaces.extend(interface.take()),
                        _ => {}
                    }
                }
                Event::Eof => return Ok(facts),
                _ => {}
            }
        }
    }

    fn is_q35(&self) -> bool {
        self.machine.as_deref().is_some_and(|m| m.contains("q35"))
    }

    /// Why the interface with `mac` cannot be unplugged and plugged back into its slot while
    /// the guest runs; empty when it can.
    #[must_use]
    pub fn blockers(&self, mac: &str) -> Vec<String> {
        let Some(slot) = self.interfaces.iter().find(|i| {
            i.mac
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(mac))
        }) else {
            return vec![format!(
                "the running domain has no interface with mac {mac}"
            )];
        };
        let mut why = Vec::new();
        match slot.address_type.as_deref() {
            None => why.push(format!(
                "the interface with mac {mac} has no <address> in the running domain, so its \
                 replacement cannot be given the same slot"
            )),
            Some("pci") => {}
            Some(other) => why.push(format!(
                "the interface with mac {mac} sits on a '{other}' address, not PCI: only PCI \
                 devices are swapped live"
            )),
        }
        if slot.address_type.as_deref() != Some("pci") {
            return why;
        }
        if slot.function.unwrap_or(0) != 0 {
            why.push(format!(
                "the interface with mac {mac} is function {} of a multifunction slot, which \
                 cannot be unplugged alone",
                slot.function.unwrap_or(0)
            ));
        }
        let bus = slot.bus.unwrap_or(0);
        let controller = self.controllers.iter().find(|c| c.index == bus);
        match controller.and_then(|c| c.model.as_deref()) {
            Some("pcie-root") => why.push(format!(
                "the interface with mac {mac} sits on the PCIe root bus (bus 0x00 of a q35 \
                 machine) as an integrated device, which cannot be hot-plugged; a NIC behind a \
                 pcie-root-port can"
            )),
            None if bus == 0 && self.is_q35() => why.push(format!(
                "the interface with mac {mac} sits on the PCIe root bus (bus 0x00 of a q35 \
                 machine), which cannot hot-plug"
            )),
            None if bus != 0 => why.push(format!(
                "the interface with mac {mac} is on PCI bus {bus:#04x}, but the domain has no \
                 PCI controller with that index"
            )),
            Some("pci-root") | None if !self.acpi => why.push(format!(
                "the domain has no <features><acpi/>: the guest cannot see the PCI hot-plug of \
                 the interface with mac {mac} on the root bus"
            )),
            _ => {}
        }
        if let Some(c) = controller.filter(|c| c.hotplug_off) {
            why.push(format!(
                "the PCI controller of the interface with mac {mac} (index {}, model {}) has \
                 hotplug='off'",
                c.index,
                c.model.as_deref().unwrap_or("?")
            ));
        }
        why
    }
}

/// `9.0.0` → (9, 0, 0); missing parts are 0.
#[must_use]
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.trim().split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let micro = parts.next().flatten().unwrap_or(0);
    Some((major, minor, micro))
}

/// Why these versions cannot swap live; empty when they can. An unknown version is a reason:
/// nothing is changed on a guess.
#[must_use]
pub fn version_blockers(
    libvirt: Option<(u32, u32, u32)>,
    qemu: Option<(u32, u32, u32)>,
) -> Vec<String> {
    let show = |(a, b, c): (u32, u32, u32)| format!("{a}.{b}.{c}");
    let mut why = Vec::new();
    for (what, found, min) in [("libvirt", libvirt, MIN_LIBVIRT), ("QEMU", qemu, MIN_QEMU)] {
        match found {
            None => why.push(format!(
                "the {what} version is unknown (virsh version did not say it)"
            )),
            Some(v) if v < min => why.push(format!(
                "{what} {} is older than {}, the oldest this module swaps live on",
                show(v),
                show(min)
            )),
            Some(_) => {}
        }
    }
    why
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const Q35: &str = "<domain type='qemu'><name>vm</name>\
        <os><type arch='x86_64' machine='pc-q35-9.0'>hvm</type></os>\
        <features><acpi/></features><devices>\
        <controller type='usb' index='0' model='none'/>\
        <controller type='pci' index='0' model='pcie-root'><alias name='pcie.0'/></controller>\
        <controller type='pci' index='1' model='pcie-root-port'><model name='pcie-root-port'/>\
        <target chassis='1' port='0x8'/><address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/></controller>\
        <controller type='pci' index='2' model='pcie-root-port'>\
        <target chassis='2' port='0x9' hotplug='off'/></controller>\
        <interface type='vhostuser'><mac address='52:54:00:00:00:01'/>\
        <source type='unix' path='/run/openvswitch/vhu1' mode='client'/>\
        <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></interface>\
        <interface type='vhostuser'><mac address='52:54:00:00:00:02'/>\
        <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></interface>\
        <interface type='vhostuser'><mac address='52:54:00:00:00:03'/>\
        <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></interface>\
        <interface type='vhostuser'><mac address='52:54:00:00:00:04'/></interface>\
        </devices></domain>";

    #[test]
    fn reads_machine_controllers_and_slots() {
        let facts = HotplugFacts::parse(Q35).unwrap();
        assert_eq!(facts.machine.as_deref(), Some("pc-q35-9.0"));
        assert!(facts.acpi);
        assert_eq!(facts.controllers.len(), 3, "{:?}", facts.controllers);
        assert!(facts.controllers[2].hotplug_off);
        assert!(!facts.controllers[1].hotplug_off);
        assert_eq!(facts.interfaces.len(), 4);
        assert_eq!(facts.interfaces[0].bus, Some(1));
        assert_eq!(facts.interfaces[2].slot, Some(5));
    }

    #[test]
    fn a_nic_behind_a_root_port_can_be_swapped() {
        let facts = HotplugFacts::parse(Q35).unwrap();
        assert_eq!(facts.blockers("52:54:00:00:00:01"), Vec::<String>::new());
        assert_eq!(
            facts.blockers("52:54:00:00:00:01".to_uppercase().as_str()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn what_cannot_hot_plug_says_why() {
        let facts = HotplugFacts::parse(Q35).unwrap();
        let off = facts.blockers("52:54:00:00:00:02");
        assert!(off[0].contains("hotplug='off'"), "{off:?}");
        let root = facts.blockers("52:54:00:00:00:03");
        assert!(root[0].contains("PCIe root bus"), "{root:?}");
        let none = facts.blockers("52:54:00:00:00:04");
        assert!(none[0].contains("has no <address>"), "{none:?}");
        let gone = facts.blockers("52:54:00:00:00:09");
        assert!(gone[0].contains("no interface with mac"), "{gone:?}");
    }

    #[test]
    fn i440fx_needs_acpi() {
        let pc = "<domain><name>p</name><os><type machine='pc-i440fx-7.2'>hvm</type></os>\
            <devices><controller type='pci' index='0' model='pci-root'/>\
            <interface type='vhostuser'><mac address='52:54:00:00:00:01'/>\
            <address type='pci' bus='0x00' slot='0x03' function='0x0'/></interface></devices></domain>";
        let facts = HotplugFacts::parse(pc).unwrap();
        assert!(facts.blockers("52:54:00:00:00:01")[0].contains("<acpi/>"));
        let with_acpi = pc.replace("</os>", "</os><features><acpi/></features>");
        let facts = HotplugFacts::parse(&with_acpi).unwrap();
        assert!(facts.blockers("52:54:00:00:00:01").is_empty());
    }

    #[test]
    fn versions_below_the_minimum_or_unknown_are_refused() {
        assert_eq!(parse_version("9.0.0"), Some((9, 0, 0)));
        assert_eq!(parse_version("10.0"), Some((10, 0, 0)));
        assert_eq!(parse_version("x"), None);
        assert!(version_blockers(Some((9, 0, 0)), Some((10, 0, 2))).is_empty());
        let old = version_blockers(Some((3, 9, 0)), None);
        assert_eq!(old.len(), 2, "{old:?}");
        assert!(old[0].contains("libvirt 3.9.0 is older than 4.5.0"));
        assert!(old[1].contains("QEMU version is unknown"));
    }
}
