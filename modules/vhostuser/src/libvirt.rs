//! libvirt domains as the vhost-user audit needs them: each domain's vhost-user interfaces
//! (socket path, QEMU's mode, MAC, target) and whether its guest RAM is shared.
//!
//! Read through virsh ([`Virsh`]: one process lists, one process dumps every domain, each
//! bounded by a timeout) or from a directory of XML files ([`read_dir_xml`]) where there is no
//! virsh. The XML is parsed here ([`parse_domain`]); virsh's `domiflist` does not show the
//! mode, and `community.libvirt` needs Python bindings and ignores vhostuser interfaces.
//!
//! Changed through virsh too: [`Virsh::snapshot`] reads one domain's state, persistent
//! definition and running XML in one process, [`Definition::with_sources`] edits its vhost-user
//! `<source>` attributes in place (every other byte as libvirt printed it), and
//! [`Virsh::define`], [`Virsh::shutdown`], [`Virsh::destroy`] and [`Virsh::start`] apply it.
//!
//! ```no_run
//! use std::time::Duration;
//! use vhostuser::libvirt::Virsh;
//!
//! let virsh = Virsh::new(&["virsh".to_owned()], Some("qemu:///system"), Duration::from_secs(30));
//! match virsh.read_domains() {
//!     Ok(domains) => {
//!         for read in &domains {
//!             if let Ok(domain) = &read.domain {
//!                 for interface in &domain.vhostuser_interfaces {
//!                     println!("{} {:?} {:?}", domain.name, interface.path, interface.ovs_type());
//!                 }
//!             }
//!         }
//!     }
//!     Err(e) if e.is_not_found() => eprintln!("{e}; libvirt checks skipped"),
//!     Err(e) => eprintln!("{e}"),
//! }
//! ```

mod dir;
mod domain;
mod error;
mod manage;
mod process;
mod script;
mod source_edit;
mod virsh;
mod xml;

pub use dir::{DomainFile, read_dir_xml, read_file};
pub use domain::{Domain, Memory, NumaCell, Reconnect, SourceMode, VhostUserInterface};
pub use error::{DomainError, Error};
pub use manage::{DomainInfo, ManageError, Snapshot};
pub use script::quote;
pub use source_edit::{Definition, EditError, InterfaceXml, SourceChange, redact_passwords};
pub use virsh::{DomainRead, DomainState, Listed, Virsh};
pub use xml::{XmlError, parse_domain};
