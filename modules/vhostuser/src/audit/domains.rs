//! libvirt's domains as the audit sees them: through virsh (a few processes however many
//! domains there are), or from a directory of XML files where virsh cannot run.

use std::path::Path;
use std::time::Duration;

use super::facts::{DomainFacts, DomainInterface};
use crate::libvirt::{self, Domain, DomainState, Virsh};

/// Where the domains come from: virsh, or a directory of domain XML files.
#[derive(Debug, Clone)]
pub enum LibvirtSource {
    /// The command that runs virsh (`["virsh"]`, or through a container), and the URI.
    Virsh { command: Vec<String>, uri: String },
    /// A directory of `<domain>` XML files, for hosts where virsh cannot run.
    XmlDir(String),
}

fn facts(domain: &Domain, running: bool) -> DomainFacts {
    DomainFacts {
        name: domain.name.clone(),
        uuid: domain.uuid.clone(),
        running,
        shared_memory: domain.shared_memory,
        hugepages: domain.memory.hugepages,
        interfaces: domain
            .vhostuser_interfaces
            .iter()
            .map(|i| DomainInterface {
                mac: i.mac.clone(),
                path: i.path.clone(),
                mode: i.mode,
                target: i.target_dev.clone(),
            })
            .collect(),
        nova: domain.nova.clone(),
        hotplug: domain.hotplug.clone(),
        live_swap: None,
    }
}

/// The domains, or why they could not be read at all; and those that could not be parsed.
#[derive(Debug)]
pub struct Read {
    pub domains: Result<Vec<DomainFacts>, String>,
    /// Name (or file) and why.
    pub broken: Vec<(String, String)>,
}

/// The domains, or why they could not be read at all, plus the domains that could not be
/// parsed (name and why): those are reported, and the others are still audited.
#[must_use]
pub fn read(source: &LibvirtSource, timeout: Duration) -> Read {
    let mut broken = Vec::new();
    let (command, uri) = match source {
        LibvirtSource::Virsh { command, uri } => (command, uri),
        LibvirtSource::XmlDir(dir) => {
            let files = match libvirt::read_dir_xml(Path::new(dir)) {
                Ok(files) => files,
                Err(e) => {
                    return Read {
                        domains: Err(e.to_string()),
                        broken,
                    };
                }
            };
            let mut domains = Vec::new();
            for file in files {
                match &file.domain {
                    // Files describe definitions; whether a domain runs is the process scan's to say.
                    Ok(domain) => domains.push(facts(domain, false)),
                    Err(e) => broken.push((file.path.display().to_string(), e.to_string())),
                }
            }
            return Read {
                domains: Ok(domains),
                broken,
            };
        }
    };
    let virsh = Virsh::new(command, Some(uri), timeout);
    let read = match virsh.read_domains() {
        Ok(read) => read,
        Err(e) => {
            return Read {
                domains: Err(e.to_string()),
                broken,
            };
        }
    };
    let mut domains = Vec::new();
    for entry in read {
        match &entry.domain {
            Ok(domain) => domains.push(facts(domain, entry.state == DomainState::Running)),
            Err(e) => broken.push((entry.name.clone(), e.to_string())),
        }
    }
    Read {
        domains: Ok(domains),
        broken,
    }
}
