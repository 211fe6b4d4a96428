//! libvirt's domains as the audit sees them: through virsh (two processes up to about 650
//! domains), or from a directory of XML files where virsh cannot run.

use std::path::Path;
use std::time::Duration;

use vhostuser::audit::facts::{DomainFacts, DomainInterface};
use vhostuser::libvirt::{self, Domain, DomainState, Virsh};

use crate::Params;

fn facts(domain: &Domain, running: bool) -> DomainFacts {
    DomainFacts {
        name: domain.name.clone(),
        running,
        shared_memory: domain.shared_memory,
        hugepages: domain.memory.hugepages,
        interfaces: domain
            .vhostuser_interfaces
            .iter()
            .map(|i| DomainInterface {
                mac: i.mac.clone(),
                path: i.path.clone(),
                mode: i.mode.map(|m| m.as_str().to_owned()),
                target: i.target_dev.clone(),
            })
            .collect(),
    }
}

/// The domains, or why they could not be read at all; and those that could not be parsed.
pub(crate) struct Read {
    pub domains: Result<Vec<DomainFacts>, String>,
    /// Name (or file) and why.
    pub broken: Vec<(String, String)>,
}

/// The domains, or why they could not be read at all, plus the domains that could not be
/// parsed (name and why): those are reported, and the others are still audited.
pub(crate) fn read(params: &Params, timeout: Duration) -> Read {
    let mut broken = Vec::new();
    if let Some(dir) = &params.libvirt_xml_dir {
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
    let virsh = Virsh::new(&params.virsh_command, Some(&params.libvirt_uri), timeout);
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
