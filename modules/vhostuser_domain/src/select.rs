//! Which interfaces of the definition the task is about, and the `<source>` each should have.
//! Pure: the definition in, the plan or a message for the user out.

use std::collections::BTreeMap;

use serde::Serialize;
use vhostuser::OvsType;
use vhostuser::libvirt::{Definition, InterfaceXml, SourceChange, SourceMode};

/// A unix socket path must fit `sun_path` with its terminating NUL.
const SUN_PATH: usize = 108;

/// What the task asks for, from the options.
#[derive(Debug, Clone, Default)]
pub struct Wanted<'a> {
    pub macs: &'a [String],
    pub targets: &'a [String],
    pub current_paths: &'a [String],
    pub mode: Option<SourceMode>,
    pub path: Option<&'a str>,
    pub socket_dir: Option<&'a str>,
}

/// One selected interface: where it is in the definition, and its source before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub index: usize,
    pub mac: Option<String>,
    pub target: Option<String>,
    /// The Open vSwitch port it plugs into: `<target dev>`, or else its socket's file name.
    pub port: Option<String>,
    pub before: Source,
    pub after: Source,
}

/// A `<source>`'s mode and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub mode: Option<SourceMode>,
    pub path: Option<String>,
}

impl Source {
    fn of(interface: &InterfaceXml) -> Source {
        Source {
            mode: interface.source_mode(),
            path: interface.path.clone(),
        }
    }

    /// The Open vSwitch type this side pairs with.
    pub fn ovs_type(&self) -> Option<OvsType> {
        self.mode.map(SourceMode::ovs_type)
    }
}

impl Planned {
    /// The Open vSwitch interface a live swap switches: a `dpdkvhostuser` socket is named after
    /// its interface, so a client-mode interface's current socket names it; else [`Planned::port`].
    pub fn ovs_port(&self) -> Option<&str> {
        let from_socket = (self.before.mode == Some(SourceMode::Client))
            .then(|| self.before.path.as_deref()?.rsplit('/').next())
            .flatten()
            .filter(|name| !name.is_empty());
        from_socket.or(self.port.as_deref())
    }

    pub fn changes(&self) -> bool {
        self.before != self.after
    }

    pub fn change(&self) -> SourceChange {
        SourceChange {
            interface: self.index,
            mode: self.after.mode,
            path: self.after.path.clone(),
        }
    }
}

/// The interface as the result reports it.
#[derive(Debug, Clone, Serialize)]
pub struct Reported<'a> {
    pub mac: Option<&'a str>,
    pub target: Option<&'a str>,
    pub port: Option<&'a str>,
    pub mode: Option<SourceMode>,
    pub path: Option<&'a str>,
    pub ovs_type: Option<OvsType>,
    pub previous_mode: Option<SourceMode>,
    pub previous_path: Option<&'a str>,
    pub previous_ovs_type: Option<OvsType>,
    pub changed: bool,
}

impl Planned {
    pub fn reported(&self) -> Reported<'_> {
        Reported {
            mac: self.mac.as_deref(),
            target: self.target.as_deref(),
            port: self.port.as_deref(),
            mode: self.after.mode,
            path: self.after.path.as_deref(),
            ovs_type: self.after.ovs_type(),
            previous_mode: self.before.mode,
            previous_path: self.before.path.as_deref(),
            previous_ovs_type: self.before.ovs_type(),
            changed: self.changes(),
        }
    }
}

/// Plans the task on `definition`, or says why it cannot be done.
pub fn plan(definition: &Definition, wanted: &Wanted) -> Result<Vec<Planned>, String> {
    let domain = &definition.name;
    let selected = select(definition, wanted)?;
    if wanted.path.is_some() && selected.len() > 1 {
        return Err(format!(
            "path names one socket, but {} vhost-user interfaces of domain {domain} are selected \
             ({}): select one with mac, target or current_path, or give socket_dir to put each \
             on <socket_dir>/<port>",
            selected.len(),
            selected
                .iter()
                .map(|&i| describe(&definition.interfaces[i]))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let mut planned = Vec::with_capacity(selected.len());
    for index in selected {
        let interface = &definition.interfaces[index];
        let what = || format!("interface {} of domain {domain}", describe(interface));
        if interface.backend.as_deref() == Some("passt") {
            return Err(format!(
                "{} uses the passt backend: its socket belongs to passt, not to Open vSwitch",
                what()
            ));
        }
        if !interface.has_source() {
            return Err(format!("{} has no <source> element to set", what()));
        }
        let port = port_name(interface);
        let path = match (wanted.path, wanted.socket_dir) {
            (Some(path), _) => Some(path.to_owned()),
            (None, Some(dir)) => {
                let Some(port) = &port else {
                    return Err(format!(
                        "{} has neither a <target dev> nor a socket path naming its Open vSwitch \
                         port, so socket_dir cannot name its socket: give path instead",
                        what()
                    ));
                };
                Some(format!("{}/{port}", dir.trim_end_matches('/')))
            }
            (None, None) => interface.path.clone(),
        };
        if wanted.path.is_some() || wanted.socket_dir.is_some() {
            if let Some(path) = &path {
                check_path(path).map_err(|why| format!("{}: {why}", what()))?;
            }
        }
        let mode = wanted.mode.or_else(|| interface.source_mode());
        planned.push(Planned {
            index,
            mac: interface.mac.clone(),
            target: interface.target_dev.clone(),
            port,
            before: Source::of(interface),
            after: Source { mode, path },
        });
    }
    check_unique_paths(definition, &planned)?;
    Ok(planned)
}

/// The indexes of the selected interfaces, in document order. Each value of each selector must
/// name an interface, and every interface it names must be a vhost-user one.
fn select(definition: &Definition, wanted: &Wanted) -> Result<Vec<usize>, String> {
    let domain = &definition.name;
    let vhostuser: Vec<usize> = (0..definition.interfaces.len())
        .filter(|&i| definition.interfaces[i].is_vhostuser())
        .collect();
    let selectors = [
        ("mac", wanted.macs),
        ("target", wanted.targets),
        ("current_path", wanted.current_paths),
    ];
    if selectors.iter().all(|(_, values)| values.is_empty()) {
        if vhostuser.is_empty() {
            return Err(format!(
                "domain {domain} has no vhost-user interface (<interface type='vhostuser'>)"
            ));
        }
        return Ok(vhostuser);
    }
    let mut chosen = Vec::new();
    for (option, values) in selectors {
        for value in values {
            let matching: Vec<usize> = (0..definition.interfaces.len())
                .filter(|&i| matches(&definition.interfaces[i], option, value))
                .collect();
            if matching.is_empty() {
                return Err(format!(
                    "domain {domain} has no interface with {option} {value}; its vhost-user \
                     interfaces are: {}",
                    listing(definition, &vhostuser)
                ));
            }
            if let Some(&other) = matching
                .iter()
                .find(|&&i| !definition.interfaces[i].is_vhostuser())
            {
                return Err(format!(
                    "the interface with {option} {value} of domain {domain} is type='{}', not \
                     'vhostuser': this module changes vhost-user interfaces only",
                    definition.interfaces[other].kind.as_deref().unwrap_or("")
                ));
            }
            chosen.extend(matching);
        }
    }
    chosen.sort_unstable();
    chosen.dedup();
    Ok(chosen)
}

fn matches(interface: &InterfaceXml, option: &str, value: &str) -> bool {
    match option {
        "mac" => interface
            .mac
            .as_deref()
            .is_some_and(|mac| mac.eq_ignore_ascii_case(value)),
        "target" => interface.target_dev.as_deref() == Some(value),
        _ => interface.path.as_deref() == Some(value),
    }
}

/// `<target dev>`, or else the file name of the socket: a `dpdkvhostuser` socket is named
/// after its port, and so is a `<socket_dir>/<port>` one.
fn port_name(interface: &InterfaceXml) -> Option<String> {
    interface
        .target_dev
        .clone()
        .filter(|t| !t.is_empty() && !t.contains('/'))
        .or_else(|| {
            let path = interface.path.as_deref()?;
            let name = path.rsplit('/').next()?;
            (!name.is_empty()).then(|| name.to_owned())
        })
}

fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("the socket path '{path}' must be absolute"));
    }
    if path.chars().any(char::is_control) {
        return Err(format!(
            "the socket path {} holds a control character",
            vhostuser::text::quoted(path)
        ));
    }
    if path.len() >= SUN_PATH {
        return Err(format!(
            "the socket path '{path}' is {} bytes; a unix socket path must be shorter than \
             {SUN_PATH} bytes, so QEMU could never create it: choose a shorter socket_dir or path",
            path.len()
        ));
    }
    Ok(())
}

/// Two interfaces on one socket would both be QEMU's listeners, or clients of one port.
fn check_unique_paths(definition: &Definition, planned: &[Planned]) -> Result<(), String> {
    let mut owners: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, interface) in definition.interfaces.iter().enumerate() {
        if !interface.is_vhostuser() {
            continue;
        }
        let path = planned
            .iter()
            .find(|p| p.index == index)
            .map_or(interface.path.as_deref(), |p| p.after.path.as_deref());
        let Some(path) = path else { continue };
        if let Some(&first) = owners.get(path) {
            return Err(format!(
                "interfaces {} and {} of domain {} would share the socket {path}: each \
                 vhost-user interface needs a socket of its own",
                describe(&definition.interfaces[first]),
                describe(interface),
                definition.name
            ));
        }
        owners.insert(path, index);
    }
    Ok(())
}

/// `mac 52:54:00:00:00:01 (target vhu1, path /run/openvswitch/vhu1, mode client)`.
fn describe(interface: &InterfaceXml) -> String {
    let mut text = format!("mac {}", interface.mac.as_deref().unwrap_or("(none)"));
    let mut details = Vec::new();
    if let Some(target) = &interface.target_dev {
        details.push(format!("target {target}"));
    }
    if let Some(path) = &interface.path {
        details.push(format!("path {path}"));
    }
    if let Some(mode) = &interface.mode {
        details.push(format!("mode {mode}"));
    }
    if !details.is_empty() {
        text = format!("{text} ({})", details.join(", "));
    }
    text
}

fn listing(definition: &Definition, indexes: &[usize]) -> String {
    if indexes.is_empty() {
        return "none".to_owned();
    }
    indexes
        .iter()
        .map(|&i| describe(&definition.interfaces[i]))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const XML: &str = "<domain type='kvm'><name>vm1</name><devices>\
        <interface type='network'><mac address='52:54:00:00:00:09'/>\
        <source network='default'/></interface>\
        <interface type='vhostuser'><mac address='52:54:00:00:00:01'/>\
        <source type='unix' path='/run/openvswitch/vhu1' mode='client'/>\
        <target dev='vhu1'/><model type='virtio'/></interface>\
        <interface type='vhostuser'><mac address='52:54:00:00:00:02'/>\
        <source type='unix' path='/run/openvswitch/vhu2' mode='client'/>\
        <model type='virtio'/></interface>\
        </devices></domain>";

    fn definition() -> Definition {
        Definition::parse(XML).unwrap()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn socket_dir_moves_every_vhostuser_interface_to_its_port() {
        let wanted = Wanted {
            mode: Some(SourceMode::Server),
            socket_dir: Some("/var/lib/vhost_sockets/"),
            ..Wanted::default()
        };
        let planned = plan(&definition(), &wanted).unwrap();
        let after: Vec<_> = planned
            .iter()
            .map(|p| (p.index, p.port.as_deref(), p.after.path.as_deref()))
            .collect();
        assert_eq!(
            after,
            [
                (1, Some("vhu1"), Some("/var/lib/vhost_sockets/vhu1")),
                // No <target dev>: the legacy socket's name is the port's.
                (2, Some("vhu2"), Some("/var/lib/vhost_sockets/vhu2")),
            ]
        );
        assert!(planned.iter().all(Planned::changes));
        assert_eq!(planned[1].ovs_port(), Some("vhu2"));
        let mut renamed = planned[0].clone();
        renamed.target = Some("tap0".into());
        renamed.port = Some("tap0".into());
        assert_eq!(
            renamed.ovs_port(),
            Some("vhu1"),
            "the legacy socket names the Open vSwitch interface"
        );
        assert_eq!(
            planned[0].after.ovs_type(),
            Some(OvsType::DpdkVhostUserClient)
        );
        assert_eq!(planned[0].before.ovs_type(), Some(OvsType::DpdkVhostUser));
    }

    #[test]
    fn selectors_pick_interfaces_and_keep_what_is_not_asked() {
        let macs = strings(&["52:54:00:00:00:02"]);
        let wanted = Wanted {
            macs: &macs,
            mode: Some(SourceMode::Server),
            ..Wanted::default()
        };
        let planned = plan(&definition(), &wanted).unwrap();
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].index, 2);
        assert_eq!(
            planned[0].after.path.as_deref(),
            Some("/run/openvswitch/vhu2")
        );
        let targets = strings(&["vhu1"]);
        let paths = strings(&["/run/openvswitch/vhu2"]);
        let wanted = Wanted {
            targets: &targets,
            current_paths: &paths,
            ..Wanted::default()
        };
        let planned = plan(&definition(), &wanted).unwrap();
        assert_eq!(planned.iter().map(|p| p.index).collect::<Vec<_>>(), [1, 2]);
        assert!(!planned.iter().any(Planned::changes), "nothing asked");
        let lower = Definition::parse(&XML.replace("00:00:00:01", "00:00:0a:01")).unwrap();
        let upper = strings(&["52:54:00:00:0A:01"]);
        let wanted = Wanted {
            macs: &upper,
            path: Some("/s/x"),
            ..Wanted::default()
        };
        assert_eq!(
            plan(&lower, &wanted).unwrap()[0].index,
            1,
            "MACs match in any case"
        );
    }

    #[test]
    fn bad_selections_say_what_is_there() {
        let macs = strings(&["52:54:00:00:00:09"]);
        let wanted = Wanted {
            macs: &macs,
            ..Wanted::default()
        };
        let err = plan(&definition(), &wanted).unwrap_err();
        assert!(err.contains("is type='network', not 'vhostuser'"), "{err}");
        let targets = strings(&["vhu9"]);
        let wanted = Wanted {
            targets: &targets,
            ..Wanted::default()
        };
        let err = plan(&definition(), &wanted).unwrap_err();
        assert!(err.contains("no interface with target vhu9"), "{err}");
        assert!(err.contains("mac 52:54:00:00:00:01 (target vhu1"), "{err}");
        let wanted = Wanted {
            path: Some("/s/one"),
            ..Wanted::default()
        };
        let err = plan(&definition(), &wanted).unwrap_err();
        assert!(err.contains("2 vhost-user interfaces"), "{err}");
    }

    #[test]
    fn paths_must_be_usable_and_unique() {
        let targets = strings(&["vhu1"]);
        let relative = Wanted {
            targets: &targets,
            path: Some("sock"),
            ..Wanted::default()
        };
        assert!(
            plan(&definition(), &relative)
                .unwrap_err()
                .contains("must be absolute")
        );
        let control = Wanted {
            targets: &targets,
            path: Some("/run/vhu\n1"),
            ..Wanted::default()
        };
        assert_eq!(
            plan(&definition(), &control).unwrap_err(),
            "interface mac 52:54:00:00:00:01 (target vhu1, path /run/openvswitch/vhu1, mode client) \
             of domain vm1: the socket path '/run/vhu\\n1' holds a control character"
        );
        let long = format!("/{}", "x".repeat(107));
        let too_long = Wanted {
            targets: &targets,
            path: Some(&long),
            ..Wanted::default()
        };
        assert!(
            plan(&definition(), &too_long)
                .unwrap_err()
                .contains("108 bytes")
        );
        let taken = Wanted {
            targets: &targets,
            path: Some("/run/openvswitch/vhu2"),
            ..Wanted::default()
        };
        assert!(
            plan(&definition(), &taken)
                .unwrap_err()
                .contains("would share the socket /run/openvswitch/vhu2")
        );
    }

    #[test]
    fn a_domain_without_vhostuser_is_refused() {
        let d = Definition::parse(
            "<domain><name>plain</name><devices><interface type='network'/></devices></domain>",
        )
        .unwrap();
        let err = plan(&d, &Wanted::default()).unwrap_err();
        assert_eq!(
            err,
            "domain plain has no vhost-user interface (<interface type='vhostuser'>)"
        );
    }
}
