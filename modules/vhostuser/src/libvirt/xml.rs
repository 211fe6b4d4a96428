//! The domain XML parser: `virsh dumpxml` output, a file of `/etc/libvirt/qemu`, or a status
//! file of `/run/libvirt/qemu` (`<domstatus>` around the `<domain>`).
//!
//! Elements are matched by their full path below `<domain>` and by their qualified name, so
//! `<metadata><nova:instance><nova:name>` never passes for `<name>`. Everything the audit does
//! not need is skipped, but the whole document must be well-formed: a dump cut short is an
//! error, not a domain with fewer interfaces.

use std::fmt;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde::Serialize;

use super::domain::{
    Domain, Memory, NOVA_NAMESPACE, NovaInstance, NumaCell, Reconnect, SourceMode,
    VhostUserInterface,
};

/// Where and why a domain XML does not parse. `line` and `column` count from 1 (`column` in
/// characters); `offset` is the byte offset in the text that was parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XmlError {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
    pub message: String,
}

impl XmlError {
    /// An error at byte `offset` of `text` (clamped to its end).
    #[must_use]
    pub fn at(text: &[u8], offset: usize, message: impl Into<String>) -> XmlError {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        XmlError {
            line: before.split(|&b| b == b'\n').count(),
            column: String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count()
                + 1,
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {} (byte {}): {}",
            self.line, self.column, self.offset, self.message
        )
    }
}

impl std::error::Error for XmlError {}

/// Parses one domain XML. Never panics: malformed input, a root other than `<domain>` or
/// `<domstatus>`, a missing `<name>`, or a value libvirt would refuse (an unknown vhost-user
/// `mode`, non-numeric `queues`) is an [`XmlError`] that says where.
pub fn parse_domain(xml: &str) -> Result<Domain, XmlError> {
    let mut reader = Reader::from_str(xml);
    let mut parser = Parser::default();
    loop {
        let (offset, event) = next_event(&mut reader, xml)?;
        let at = |message: String| XmlError::at(xml.as_bytes(), offset, message);
        match event {
            Event::Start(e) => {
                parser.open(&e).map_err(at)?;
                parser.path.push(e.name().as_ref().to_owned());
            }
            Event::Empty(e) => {
                parser.open(&e).map_err(at)?;
                parser.close(e.name().as_ref());
            }
            Event::End(e) => {
                parser.path.pop();
                parser.close(e.name().as_ref());
            }
            Event::Text(t) => parser
                .text(&t.xml_content(XmlVersion::Implicit1_0))
                .map_err(at)?,
            Event::CData(t) => parser
                .text(&t.xml_content(XmlVersion::Implicit1_0))
                .map_err(at)?,
            Event::GeneralRef(r) => parser.reference(&r).map_err(at)?,
            Event::Eof => {
                let mut domain = parser.finish().map_err(at)?;
                domain.hotplug = super::hotplug::HotplugFacts::parse(xml).ok();
                return Ok(domain);
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

/// The text element being collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Uuid,
    NovaName,
}

#[derive(Debug, Default)]
struct Parser {
    /// Qualified names of the open elements, root first.
    path: Vec<String>,
    /// Index of `<domain>` in `path`: 0, or 1 inside `<domstatus>`.
    domain_at: Option<usize>,
    /// The root element has been closed.
    root_closed: bool,
    collecting: Option<(Field, String)>,
    name: Option<String>,
    uuid: Option<String>,
    /// The vhost-user interface whose children are being read.
    interface: Option<VhostUserInterface>,
    interfaces: Vec<VhostUserInterface>,
    memory: Memory,
    /// The namespace prefix nova's `<metadata>` child declared (`nova` in `<nova:instance>`).
    nova_prefix: Option<String>,
    nova: Option<NovaInstance>,
}

impl Parser {
    /// The open elements below `<domain>`, or `None` outside it.
    fn inside_domain(&self) -> Option<Vec<&str>> {
        let at = self.domain_at?;
        (self.path.len() > at).then(|| self.path[at + 1..].iter().map(String::as_str).collect())
    }

    /// An element starts; for `<x/>` the caller calls [`Parser::close`] right after.
    fn open(&mut self, e: &BytesStart) -> Result<(), String> {
        let name = e.name().as_ref().to_owned();
        // Malformed or duplicate attributes anywhere make the document ill-formed, as they do
        // for libxml2, even on elements this parser otherwise skips.
        for attribute in e.attributes() {
            attribute.map_err(|err| format!("<{name}>: {err}"))?;
        }
        if self.path.is_empty() {
            return self.open_root(&name);
        }
        if self.path == ["domstatus"] && name == "domain" {
            if self.domain_at.is_some() {
                return Err("a second <domain> in <domstatus>".to_owned());
            }
            self.domain_at = Some(1);
            return Ok(());
        }
        let Some(within) = self.inside_domain() else {
            return Ok(());
        };
        match (within.as_slice(), name.as_str()) {
            ([], "name") => self.collecting = Some((Field::Name, String::new())),
            ([], "uuid") => self.collecting = Some((Field::Uuid, String::new())),
            (["devices"], "interface") if attr(e, "type")?.as_deref() == Some("vhostuser") => {
                self.interface = Some(VhostUserInterface::default());
            }
            (["devices", "interface"], child) => {
                if let Some(interface) = self.interface.as_mut() {
                    read_interface_child(interface, child, e)?;
                }
            }
            (["devices", "interface", "source"], "reconnect") => {
                if let Some(interface) = self.interface.as_mut() {
                    interface.reconnect = Some(reconnect(e)?);
                }
            }
            (["memoryBacking"], "hugepages") => self.memory.hugepages = true,
            (["memoryBacking"], "access") => self.memory.access_mode = attr(e, "mode")?,
            (["memoryBacking"], "source") => self.memory.source_type = attr(e, "type")?,
            (["cpu", "numa"], "cell") => self.memory.numa_cells.push(NumaCell {
                id: number(e, "id")?,
                mem_access: attr(e, "memAccess")?,
            }),
            (["metadata"], _) => {
                if let Some(prefix) = nova_prefix(e)? {
                    self.nova_prefix = Some(prefix);
                    self.nova = Some(NovaInstance::default());
                }
            }
            (["metadata", instance], child)
                if self.is_nova(instance, "instance") && self.is_nova(child, "name") =>
            {
                self.collecting = Some((Field::NovaName, String::new()));
            }
            (["metadata", instance, owner], child)
                if self.is_nova(instance, "instance")
                    && self.is_nova(owner, "owner")
                    && self.is_nova(child, "project") =>
            {
                let project = attr(e, "uuid")?;
                if let Some(nova) = self.nova.as_mut() {
                    nova.project = project;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// `name` is `LOCAL` in nova's namespace, by the prefix its metadata element declared.
    fn is_nova(&self, name: &str, local: &str) -> bool {
        self.nova_prefix.as_deref().is_some_and(|prefix| {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix(':'))
                == Some(local)
        })
    }

    fn open_root(&mut self, name: &str) -> Result<(), String> {
        if self.root_closed {
            return Err(format!(
                "<{name}> after the end of the root element: one document holds one domain"
            ));
        }
        match name {
            "domain" => self.domain_at = Some(0),
            "domstatus" => {}
            other => {
                return Err(format!(
                    "the root element is <{other}>, not <domain>: this is not a libvirt domain XML"
                ));
            }
        }
        Ok(())
    }

    /// An element ends; `path` no longer holds it.
    fn close(&mut self, name: &str) {
        if self.path.is_empty() {
            self.root_closed = true;
        }
        let Some(within) = self.inside_domain() else {
            return;
        };
        match (within.as_slice(), name) {
            ([], "name" | "uuid") => {
                if let Some((field, text)) = self.collecting.take() {
                    match field {
                        Field::Name => self.name = Some(text),
                        // A UUID has no meaningful blanks; pretty-printed XML may add some.
                        Field::Uuid => self.uuid = Some(text.trim().to_owned()),
                        Field::NovaName => {}
                    }
                }
            }
            (["devices"], "interface") => {
                if let Some(interface) = self.interface.take() {
                    self.interfaces.push(interface);
                }
            }
            (["metadata", _], child) if self.is_nova(child, "name") => {
                if let Some((Field::NovaName, text)) = self.collecting.take()
                    && let Some(nova) = self.nova.as_mut()
                {
                    nova.name = Some(text);
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, text: &str) -> Result<(), String> {
        if let Some((_, collected)) = self.collecting.as_mut() {
            collected.push_str(text);
        } else if self.path.is_empty() && !text.trim().is_empty() {
            // What virsh prints instead of XML (an error, a warning) lands here.
            return Err(format!(
                "text outside the root element: {}",
                crate::text::quoted(&text.trim().chars().take(60).collect::<String>())
            ));
        }
        Ok(())
    }

    /// `&apos;`, `&#39;` and the like, which quick-xml reports apart from the text around them.
    fn reference(&mut self, r: &BytesRef) -> Result<(), String> {
        let Some((_, collected)) = self.collecting.as_mut() else {
            return Ok(());
        };
        let name: &str = &r.xml_content(XmlVersion::Implicit1_0);
        match r.resolve_char_ref() {
            Ok(Some(c)) => collected.push(c),
            Ok(None) => match quick_xml::escape::resolve_predefined_entity(name) {
                Some(text) => collected.push_str(text),
                None => return Err(format!("unknown entity &{name};")),
            },
            Err(e) => return Err(format!("&{name};: {e}")),
        }
        Ok(())
    }

    fn finish(self) -> Result<Domain, String> {
        if let Some(open) = self.path.last() {
            return Err(format!(
                "the document ends inside <{open}>: the XML is cut short"
            ));
        }
        if self.domain_at.is_none() {
            return Err(if self.root_closed {
                "<domstatus> holds no <domain>".to_owned()
            } else {
                "no XML element at all (empty output?)".to_owned()
            });
        }
        let name = self
            .name
            .ok_or_else(|| "the domain has no <name>".to_owned())?;
        let shared_memory = self.memory.is_shared();
        Ok(Domain {
            name,
            uuid: self.uuid,
            vhostuser_interfaces: self.interfaces,
            memory: self.memory,
            shared_memory,
            nova: self.nova,
            hotplug: None,
        })
    }
}

fn read_interface_child(
    interface: &mut VhostUserInterface,
    child: &str,
    e: &BytesStart,
) -> Result<(), String> {
    match child {
        "mac" => interface.mac = attr(e, "address")?,
        "source" => {
            interface.source_type = attr(e, "type")?;
            interface.path = attr(e, "path")?;
            interface.mode = attr(e, "mode")?
                .map(|mode| {
                    SourceMode::parse(&mode).ok_or_else(|| {
                        format!("<source mode='{mode}'>: libvirt knows 'server' and 'client'")
                    })
                })
                .transpose()?;
        }
        "target" => interface.target_dev = attr(e, "dev")?,
        "model" => interface.model = attr(e, "type")?,
        "driver" => interface.queues = number(e, "queues")?,
        "backend" => interface.backend = attr(e, "type")?,
        _ => {}
    }
    Ok(())
}

/// The prefix a `<metadata>` child binds to nova's namespace (`xmlns:nova='http://openstack.org/
/// xmlns/libvirt/nova/1.1'` on `<nova:instance>`), if it does. libvirt keeps each metadata
/// child with its own namespace declaration, so the element's own attributes say it.
fn nova_prefix(e: &BytesStart) -> Result<Option<String>, String> {
    let name = e.name().as_ref().to_owned();
    let Some((prefix, _)) = name.split_once(':') else {
        return Ok(None);
    };
    let declared = attr(e, &format!("xmlns:{prefix}"))?;
    Ok(declared
        .is_some_and(|uri| uri.starts_with(NOVA_NAMESPACE))
        .then(|| prefix.to_owned()))
}

fn reconnect(e: &BytesStart) -> Result<Reconnect, String> {
    let enabled = match attr(e, "enabled")?.as_deref() {
        Some("yes") => true,
        Some("no") => false,
        Some(other) => return Err(format!("<reconnect enabled='{other}'>: expected yes or no")),
        None => return Err("<reconnect> without its required 'enabled'".to_owned()),
    };
    Ok(Reconnect {
        enabled,
        timeout: number(e, "timeout")?,
    })
}

/// The next event and the byte offset it starts at; a syntax error says where it is.
pub(super) fn next_event<'a>(
    reader: &mut Reader<&'a [u8]>,
    xml: &str,
) -> Result<(usize, Event<'a>), XmlError> {
    let offset = reader.buffer_position() as usize;
    let event = reader.read_event().map_err(|e| {
        XmlError::at(
            xml.as_bytes(),
            reader.error_position() as usize,
            e.to_string(),
        )
    })?;
    Ok((offset, event))
}

/// An attribute's value with references resolved; duplicates and malformed attributes are
/// errors, as they are for libxml2.
pub(super) fn attr(e: &BytesStart, key: &str) -> Result<Option<String>, String> {
    let element = e.name().as_ref().to_owned();
    let mut found = None;
    for attribute in e.attributes() {
        let attribute = attribute.map_err(|err| format!("<{element}>: {err}"))?;
        if attribute.key.as_ref() == key {
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| format!("<{element} {key}>: {err}"))?;
            found = Some(value.into_owned());
        }
    }
    Ok(found)
}

fn number(e: &BytesStart, key: &str) -> Result<Option<u32>, String> {
    attr(e, key)?
        .map(|text| {
            text.trim().parse().map_err(|_| {
                format!(
                    "<{} {key}='{text}'>: not a non-negative integer",
                    e.name().as_ref()
                )
            })
        })
        .transpose()
}
