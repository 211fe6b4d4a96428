//! A byte-preserving edit of a domain definition's vhost-user `<source>` elements.
//!
//! [`Definition::parse`] records where each `<devices><interface>` and its `<source>` sit in
//! the text; [`Definition::with_sources`] rewrites only the `mode` and `path` attributes it is
//! asked to change (and the `<reconnect>` child libvirt allows only with `mode='client'` when
//! the mode becomes `server`). Every other byte stays as libvirt printed it: nothing is
//! re-serialised, so a definition read with `virsh dumpxml --inactive` and defined again keeps
//! every setting this crate does not know about.

use std::fmt;
use std::ops::Range;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::domain::SourceMode;
use super::xml::{XmlError, attr, next_event, parse_domain};
use crate::text;

/// One `<devices><interface>` of any type, as the definition says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceXml {
    /// `<interface type>`: `vhostuser`, `network`, `bridge`, ...
    pub kind: Option<String>,
    /// `<mac address>`.
    pub mac: Option<String>,
    /// `<target dev>`.
    pub target_dev: Option<String>,
    /// `<source path>`, references resolved.
    pub path: Option<String>,
    /// `<source mode>`, as written (libvirt knows `server` and `client`).
    pub mode: Option<String>,
    /// `<backend type>`: `passt` means the socket is passt's, not Open vSwitch's.
    pub backend: Option<String>,
    /// `<source>` holds a `<reconnect>`.
    pub reconnect: bool,
    spans: Option<SourceSpans>,
    /// The whole `<interface>` element.
    element: Option<Range<usize>>,
}

impl InterfaceXml {
    /// An `<interface type='vhostuser'>`.
    #[must_use]
    pub fn is_vhostuser(&self) -> bool {
        self.kind.as_deref() == Some("vhostuser")
    }

    /// Whether it has a `<source>` element to edit.
    #[must_use]
    pub fn has_source(&self) -> bool {
        self.spans.is_some()
    }

    /// The mode, when it is one libvirt knows.
    #[must_use]
    pub fn source_mode(&self) -> Option<SourceMode> {
        self.mode.as_deref().and_then(SourceMode::parse)
    }
}

/// Where one `<source>` is: the whole element, its start tag, and its `<reconnect>` child
/// (from the line break before it, so that removing it leaves no blank line).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SourceSpans {
    element: Range<usize>,
    start_tag: Range<usize>,
    reconnect: Option<Range<usize>>,
}

/// What to set on one interface's `<source>`; `None` leaves an attribute as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceChange {
    /// Index in [`Definition::interfaces`].
    pub interface: usize,
    pub mode: Option<SourceMode>,
    pub path: Option<String>,
}

/// Why an edit cannot be made. Nothing is written in that case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// No interface with that index.
    NoInterface(usize),
    /// The interface has no `<source>` element.
    NoSource(usize),
    /// A path holding a control character, which no socket path should.
    BadPath(String),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::NoInterface(i) => write!(f, "the definition has no interface #{i}"),
            EditError::NoSource(i) => write!(f, "interface #{i} has no <source> element"),
            EditError::BadPath(p) => {
                write!(f, "path {} holds a control character", text::quoted(p))
            }
        }
    }
}

impl std::error::Error for EditError {}

/// A domain definition and where its interfaces are in the text.
#[derive(Debug, Clone)]
pub struct Definition {
    pub xml: String,
    /// The domain's `<name>`.
    pub name: String,
    /// Every `<devices><interface>`, in document order.
    pub interfaces: Vec<InterfaceXml>,
}

impl Definition {
    /// Parses a domain XML (the whole document must be well-formed, as for
    /// [`parse_domain`]) and locates its interfaces.
    pub fn parse(xml: &str) -> Result<Definition, XmlError> {
        let domain = parse_domain(xml)?;
        Ok(Definition {
            xml: xml.to_owned(),
            name: domain.name,
            interfaces: locate(xml)?,
        })
    }

    /// The text of interface `index`'s whole `<interface>` element, as libvirt printed it.
    #[must_use]
    pub fn interface_text(&self, index: usize) -> Option<&str> {
        let range = self.interfaces.get(index)?.element.clone()?;
        self.xml.get(range)
    }

    /// The index of the interface with `mac` (any case).
    #[must_use]
    pub fn find_mac(&self, mac: &str) -> Option<usize> {
        self.interfaces.iter().position(|i| {
            i.mac
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(mac))
        })
    }

    /// The text with `changes` made. Changes that set what is already there change nothing, so
    /// the result equals [`Definition::xml`] when there is nothing to do.
    pub fn with_sources(&self, changes: &[SourceChange]) -> Result<String, EditError> {
        let mut edits: Vec<(Range<usize>, String)> = Vec::new();
        for change in changes {
            let interface = self
                .interfaces
                .get(change.interface)
                .ok_or(EditError::NoInterface(change.interface))?;
            let spans = interface
                .spans
                .as_ref()
                .ok_or(EditError::NoSource(change.interface))?;
            if let Some(path) = &change.path {
                if path.chars().any(char::is_control) {
                    return Err(EditError::BadPath(path.clone()));
                }
            }
            edits.push(self.source_edit(interface, spans, change));
        }
        // Later edits first, so earlier offsets stay valid; spans of different interfaces
        // never overlap.
        edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
        let mut xml = self.xml.clone();
        for (range, text) in edits {
            xml.replace_range(range, &text);
        }
        Ok(xml)
    }

    fn source_edit(
        &self,
        interface: &InterfaceXml,
        spans: &SourceSpans,
        change: &SourceChange,
    ) -> (Range<usize>, String) {
        let mut tag = self.xml[spans.start_tag.clone()].to_owned();
        if let Some(mode) = change.mode {
            if interface.mode.as_deref() != Some(mode.as_str()) {
                tag = set_attribute(&tag, "mode", mode.as_str());
            }
        }
        if let Some(path) = &change.path {
            if interface.path.as_deref() != Some(path.as_str()) {
                tag = set_attribute(&tag, "path", path);
            }
        }
        let drop_reconnect = change.mode == Some(SourceMode::Server) && spans.reconnect.is_some();
        let Some(reconnect) = spans.reconnect.clone().filter(|_| drop_reconnect) else {
            return (spans.start_tag.clone(), tag);
        };
        let inner = format!(
            "{}{}",
            &self.xml[spans.start_tag.end..reconnect.start],
            &self.xml[reconnect.end..close_tag_start(&self.xml, spans)]
        );
        if inner.trim().is_empty() {
            // `<source ...></source>` with nothing left in it: libvirt's own form is `<source .../>`.
            let open = tag.trim_end_matches('>').trim_end();
            return (spans.element.clone(), format!("{open}/>"));
        }
        let closing = &self.xml[close_tag_start(&self.xml, spans)..spans.element.end];
        (spans.element.clone(), format!("{tag}{inner}{closing}"))
    }
}

/// Where `</source>` starts in a non-empty `<source>` element.
fn close_tag_start(xml: &str, spans: &SourceSpans) -> usize {
    xml[..spans.element.end]
        .rfind("</")
        .filter(|&at| at >= spans.start_tag.end)
        .unwrap_or(spans.element.end)
}

/// A device element without its `<alias name='netN'/>` lines: libvirt names the devices it
/// attaches itself and accepts only user aliases (`ua-...`) in an attach.
#[must_use]
pub fn without_alias(element: &str) -> String {
    let mut out = String::with_capacity(element.len());
    let mut rest = element;
    while let Some(at) = rest.find("<alias ") {
        let Some(len) = rest[at..].find("/>") else {
            break;
        };
        let kept = rest[..at].trim_end_matches([' ', '\t']);
        let kept = kept.strip_suffix('\n').unwrap_or(kept);
        out.push_str(kept);
        rest = &rest[at + len + 2..];
    }
    out.push_str(rest);
    out
}

/// A copy of `xml` with the value of every `passwd` attribute (graphics and console
/// passwords, which `--security-info` reveals) replaced by `********`, for diffs and logs.
#[must_use]
pub fn redact_passwords(xml: &str) -> String {
    let mut reader = Reader::from_str(xml);
    let mut values: Vec<Range<usize>> = Vec::new();
    loop {
        let start = reader.buffer_position() as usize;
        match reader.read_event() {
            Ok(Event::Start(_) | Event::Empty(_)) => {
                let end = reader.buffer_position() as usize;
                for attribute in scan_attributes(&xml[start..end]) {
                    if &xml[start..end][attribute.name.clone()] == "passwd" {
                        values.push(start + attribute.value.start..start + attribute.value.end);
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let mut out = xml.to_owned();
    for range in values.into_iter().rev() {
        out.replace_range(range, "********");
    }
    out
}

/// Every `<domain><devices><interface>` with its spans.
fn locate(xml: &str) -> Result<Vec<InterfaceXml>, XmlError> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut interfaces = Vec::new();
    let mut current: Option<InterfaceXml> = None;
    // The open `<source>`: where it starts and its start tag.
    let mut source: Option<(usize, Range<usize>)> = None;
    let mut reconnect: Option<Range<usize>> = None;
    loop {
        let (start, event) = next_event(&mut reader, xml)?;
        let end = reader.buffer_position() as usize;
        let at = |message: String| XmlError::at(xml.as_bytes(), start, message);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.name().as_ref().to_owned();
                let within = within_domain(&path);
                match (within.as_slice(), name.as_str()) {
                    (["devices"], "interface") => {
                        current = Some(InterfaceXml {
                            kind: attr(e, "type").map_err(at)?,
                            element: Some(start..end),
                            ..InterfaceXml::default()
                        });
                        if empty {
                            interfaces.extend(current.take());
                        }
                    }
                    (["devices", "interface"], child) => {
                        if let Some(interface) = current.as_mut() {
                            read_child(interface, child, e).map_err(at)?;
                            if child == "source" {
                                if empty {
                                    interface.spans = Some(SourceSpans {
                                        element: start..end,
                                        start_tag: start..end,
                                        reconnect: None,
                                    });
                                } else {
                                    source = Some((start, start..end));
                                }
                            }
                        }
                    }
                    (["devices", "interface", "source"], "reconnect") if current.is_some() => {
                        let from = xml[..start]
                            .rfind(|c: char| !c.is_whitespace())
                            .map_or(start, |i| i + 1);
                        reconnect = Some(from..end);
                        if let Some(interface) = current.as_mut() {
                            interface.reconnect = true;
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
                let within = within_domain(&path);
                match (within.as_slice(), name.as_str()) {
                    (["devices"], "interface") => {
                        if let Some(interface) = current.as_mut() {
                            if let Some(element) = interface.element.as_mut() {
                                element.end = end;
                            }
                        }
                        interfaces.extend(current.take());
                    }
                    (["devices", "interface"], "source") => {
                        if let (Some(interface), Some((from, start_tag))) =
                            (current.as_mut(), source.take())
                        {
                            interface.spans = Some(SourceSpans {
                                element: from..end,
                                start_tag,
                                reconnect: reconnect.take(),
                            });
                        }
                    }
                    (["devices", "interface", "source"], "reconnect") => {
                        if let Some(r) = reconnect.as_mut() {
                            r.end = end;
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => return Ok(interfaces),
            _ => {}
        }
    }
}

/// The open elements below the root `<domain>` (or `<domstatus><domain>`).
fn within_domain(path: &[String]) -> Vec<&str> {
    let skip = match path.first().map(String::as_str) {
        Some("domstatus") if path.len() > 1 => 2,
        Some(_) => 1,
        None => 0,
    };
    path.iter().skip(skip).map(String::as_str).collect()
}

fn read_child(interface: &mut InterfaceXml, child: &str, e: &BytesStart) -> Result<(), String> {
    match child {
        "mac" => interface.mac = attr(e, "address")?,
        "source" => {
            interface.path = attr(e, "path")?;
            interface.mode = attr(e, "mode")?;
        }
        "target" => interface.target_dev = attr(e, "dev")?,
        "backend" => interface.backend = attr(e, "type")?,
        _ => {}
    }
    Ok(())
}

/// One attribute in a start tag: the byte ranges of its name and of its value (inside the
/// quotes), and the quote.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AttributeSpan {
    name: Range<usize>,
    value: Range<usize>,
    quote: char,
}

/// The attributes of a start tag (`<name a='1' b="2"/>`), which quick-xml has already found
/// well-formed.
fn scan_attributes(tag: &str) -> Vec<AttributeSpan> {
    let bytes = tag.as_bytes();
    let mut at = 1;
    let skip_name = |mut at: usize| {
        while at < bytes.len()
            && !matches!(bytes[at], b' ' | b'\t' | b'\r' | b'\n' | b'=' | b'/' | b'>')
        {
            at += 1;
        }
        at
    };
    let skip_blanks = |mut at: usize| {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        at
    };
    at = skip_name(at);
    let mut found = Vec::new();
    loop {
        at = skip_blanks(at);
        if at >= bytes.len() || matches!(bytes[at], b'/' | b'>') {
            return found;
        }
        let name = at..skip_name(at);
        at = skip_blanks(name.end);
        if bytes.get(at) != Some(&b'=') {
            return found;
        }
        at = skip_blanks(at + 1);
        let Some(&quote) = bytes.get(at).filter(|q| matches!(q, b'\'' | b'"')) else {
            return found;
        };
        let value_start = at + 1;
        let Some(length) = bytes[value_start..].iter().position(|&b| b == quote) else {
            return found;
        };
        let value = value_start..value_start + length;
        at = value.end + 1;
        found.push(AttributeSpan {
            name,
            value,
            quote: char::from(quote),
        });
    }
}

/// `value` escaped for an attribute in `quote`s, as libvirt escapes its own output.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The start tag with attribute `name` set to `value`: replaced in place, or added after the
/// last attribute in the quotes the tag already uses.
fn set_attribute(tag: &str, name: &str, value: &str) -> String {
    let attributes = scan_attributes(tag);
    let escaped = escape(value);
    if let Some(existing) = attributes.iter().find(|a| &tag[a.name.clone()] == name) {
        let mut out = tag.to_owned();
        out.replace_range(existing.value.clone(), &escaped);
        return out;
    }
    let quote = attributes.first().map_or('\'', |a| a.quote);
    let insert_at = attributes.last().map_or_else(
        || {
            tag.find(|c: char| c.is_whitespace() || c == '/' || c == '>')
                .unwrap_or(tag.len())
        },
        |a| a.value.end + 1,
    );
    let mut out = tag.to_owned();
    out.insert_str(insert_at, &format!(" {name}={quote}{escaped}{quote}"));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const XML: &str = "<domain type='kvm'>\n  <name>vm1</name>\n  <devices>\n    \
        <interface type='network'>\n      <mac address='52:54:00:00:00:09'/>\n      \
        <source network='default'/>\n    </interface>\n    \
        <interface type='vhostuser'>\n      <mac address='52:54:00:00:00:01'/>\n      \
        <source type='unix' path='/run/openvswitch/vhu1' mode='client'>\n        \
        <reconnect enabled='yes' timeout='10'/>\n      </source>\n      \
        <target dev='vhu1'/>\n      <model type='virtio'/>\n    </interface>\n    \
        <interface type='vhostuser'>\n      <mac address='52:54:00:00:00:02'/>\n      \
        <source type='unix' path='/run/openvswitch/a&amp;b' mode='client'/>\n      \
        <model type='virtio'/>\n    </interface>\n    \
        <graphics type='vnc' port='-1' passwd='s3cret'/>\n  </devices>\n</domain>\n";

    #[test]
    fn an_interface_element_is_found_by_mac_and_cut_out_whole() {
        let definition = Definition::parse(XML).unwrap();
        let index = definition.find_mac("52:54:00:00:00:02").unwrap();
        assert_eq!(index, 2);
        assert_eq!(definition.find_mac("52:54:00:00:00:0A"), None);
        let text = definition.interface_text(index).unwrap();
        assert!(text.starts_with("<interface type='vhostuser'>"), "{text}");
        assert!(text.ends_with("</interface>"), "{text}");
        assert!(text.contains("a&amp;b"), "{text}");
        let live = "<interface type='vhostuser'>\n  <mac address='52:54:00:00:00:01'/>\n  \
            <alias name='net0'/>\n  <rom enabled='no'/>\n</interface>";
        assert_eq!(
            without_alias(live),
            "<interface type='vhostuser'>\n  <mac address='52:54:00:00:00:01'/>\n  \
             <rom enabled='no'/>\n</interface>"
        );
    }

    fn change(interface: usize, mode: Option<SourceMode>, path: Option<&str>) -> SourceChange {
        SourceChange {
            interface,
            mode,
            path: path.map(str::to_owned),
        }
    }

    #[test]
    fn locates_every_interface_with_its_source() {
        let d = Definition::parse(XML).unwrap();
        assert_eq!(d.name, "vm1");
        let kinds: Vec<_> = d.interfaces.iter().map(|i| i.kind.as_deref()).collect();
        assert_eq!(
            kinds,
            [Some("network"), Some("vhostuser"), Some("vhostuser")]
        );
        let vhu1 = &d.interfaces[1];
        assert_eq!(vhu1.mac.as_deref(), Some("52:54:00:00:00:01"));
        assert_eq!(vhu1.target_dev.as_deref(), Some("vhu1"));
        assert_eq!(vhu1.path.as_deref(), Some("/run/openvswitch/vhu1"));
        assert_eq!(vhu1.source_mode(), Some(SourceMode::Client));
        assert!(vhu1.reconnect && vhu1.has_source());
        assert_eq!(
            d.interfaces[2].path.as_deref(),
            Some("/run/openvswitch/a&b")
        );
        assert!(!d.interfaces[2].reconnect);
    }

    #[test]
    fn changes_only_the_managed_attributes() {
        let d = Definition::parse(XML).unwrap();
        let edited = d
            .with_sources(&[change(
                2,
                Some(SourceMode::Server),
                Some("/var/lib/vhost_sockets/vhu2"),
            )])
            .unwrap();
        assert_eq!(
            edited,
            XML.replace(
                "path='/run/openvswitch/a&amp;b' mode='client'/>",
                "path='/var/lib/vhost_sockets/vhu2' mode='server'/>"
            )
        );
    }

    #[test]
    fn server_mode_drops_the_client_only_reconnect() {
        let d = Definition::parse(XML).unwrap();
        let edited = d
            .with_sources(&[change(
                1,
                Some(SourceMode::Server),
                Some("/var/lib/vhost_sockets/vhu1"),
            )])
            .unwrap();
        let expected = XML.replace(
            "<source type='unix' path='/run/openvswitch/vhu1' mode='client'>\n        \
             <reconnect enabled='yes' timeout='10'/>\n      </source>",
            "<source type='unix' path='/var/lib/vhost_sockets/vhu1' mode='server'/>",
        );
        assert_eq!(edited, expected);
        let again = Definition::parse(&edited).unwrap();
        assert!(!again.interfaces[1].reconnect);
        assert_eq!(again.interfaces[1].source_mode(), Some(SourceMode::Server));
    }

    #[test]
    fn a_client_keeps_its_reconnect_and_other_children() {
        let xml = "<domain><name>v</name><devices><interface type='vhostuser'>\
            <source type=\"unix\" path=\"/a\"><reconnect enabled='no'/><x/></source>\
            </interface></devices></domain>";
        let d = Definition::parse(xml).unwrap();
        let client = d
            .with_sources(&[change(0, Some(SourceMode::Client), None)])
            .unwrap();
        assert_eq!(
            client,
            xml.replace("path=\"/a\">", "path=\"/a\" mode=\"client\">")
        );
        let server = d
            .with_sources(&[change(0, Some(SourceMode::Server), Some("/b'c"))])
            .unwrap();
        assert_eq!(
            server,
            xml.replace(
                "path=\"/a\"><reconnect enabled='no'/><x/>",
                "path=\"/b&apos;c\" mode=\"server\"><x/>"
            )
        );
        assert_eq!(
            Definition::parse(&server).unwrap().interfaces[0]
                .path
                .as_deref(),
            Some("/b'c")
        );
    }

    #[test]
    fn nothing_to_change_gives_the_same_bytes() {
        let d = Definition::parse(XML).unwrap();
        let same = d
            .with_sources(&[
                change(1, Some(SourceMode::Client), Some("/run/openvswitch/vhu1")),
                change(2, Some(SourceMode::Client), Some("/run/openvswitch/a&b")),
            ])
            .unwrap();
        assert_eq!(same, XML);
    }

    #[test]
    fn several_interfaces_in_one_edit() {
        let d = Definition::parse(XML).unwrap();
        let edited = d
            .with_sources(&[
                change(2, Some(SourceMode::Server), Some("/s/vhu2")),
                change(1, Some(SourceMode::Server), Some("/s/vhu1")),
            ])
            .unwrap();
        let again = Definition::parse(&edited).unwrap();
        let paths: Vec<_> = again.interfaces.iter().map(|i| i.path.as_deref()).collect();
        assert_eq!(paths, [None, Some("/s/vhu1"), Some("/s/vhu2")]);
        assert!(edited.contains("<source network='default'/>"));
        assert!(edited.contains("passwd='s3cret'"));
    }

    #[test]
    fn refuses_what_it_cannot_edit() {
        let d = Definition::parse(XML).unwrap();
        assert_eq!(
            d.with_sources(&[change(7, None, None)]),
            Err(EditError::NoInterface(7))
        );
        assert_eq!(
            d.with_sources(&[change(1, None, Some("/a\nb"))]),
            Err(EditError::BadPath("/a\nb".to_owned()))
        );
        assert_eq!(
            EditError::BadPath("/a\nb".to_owned()).to_string(),
            r"path '/a\nb' holds a control character"
        );
        let bare =
            "<domain><name>v</name><devices><interface type='vhostuser'/></devices></domain>";
        let d = Definition::parse(bare).unwrap();
        assert_eq!(d.interfaces.len(), 1);
        assert_eq!(
            d.with_sources(&[change(0, Some(SourceMode::Server), None)]),
            Err(EditError::NoSource(0))
        );
    }

    #[test]
    fn a_broken_document_is_an_error() {
        assert!(Definition::parse("<domain><name>v</name><devices>").is_err());
        assert!(Definition::parse("error: failed to get domain 'v'").is_err());
    }

    #[test]
    fn every_cut_short_document_fails_without_panic() {
        let complete = XML.trim_end().len();
        for end in (0..complete).filter(|&i| XML.is_char_boundary(i)) {
            assert!(
                Definition::parse(&XML[..end]).is_err(),
                "prefix of {end} bytes"
            );
        }
        assert!(Definition::parse(&XML[..complete]).is_ok());
    }

    #[test]
    fn bytes_outside_the_edited_sources_never_change() {
        let d = Definition::parse(XML).unwrap();
        let edited = d
            .with_sources(&[
                change(1, Some(SourceMode::Server), Some("/s/1")),
                change(2, Some(SourceMode::Server), Some("/s/2")),
            ])
            .unwrap();
        let outside = |xml: &str| {
            let d = Definition::parse(xml).unwrap();
            let mut text = xml.to_owned();
            for spans in d.interfaces.iter().rev().filter_map(|i| i.spans.as_ref()) {
                text.replace_range(spans.element.clone(), "<source/>");
            }
            text
        };
        assert_eq!(outside(&edited), outside(XML));
        assert_ne!(edited, XML);
    }

    #[test]
    fn passwords_are_redacted() {
        let redacted = redact_passwords(XML);
        assert!(!redacted.contains("s3cret"));
        assert!(redacted.contains("passwd='********'"));
        assert_eq!(redacted.len(), XML.len() - "s3cret".len() + 8);
    }

    #[test]
    fn attributes_are_found_with_either_quote() {
        let tag = "<source type='unix'  path = \"/a b\"\n mode='client'/>";
        let found = scan_attributes(tag);
        let names: Vec<_> = found.iter().map(|a| &tag[a.name.clone()]).collect();
        assert_eq!(names, ["type", "path", "mode"]);
        assert_eq!(&tag[found[1].value.clone()], "/a b");
        assert_eq!(found[1].quote, '"');
        assert_eq!(
            set_attribute("<source type='unix'/>", "mode", "server"),
            "<source type='unix' mode='server'/>"
        );
        assert_eq!(
            set_attribute("<source/>", "path", "/p"),
            "<source path='/p'/>"
        );
        assert_eq!(
            set_attribute("<source>", "path", "<&>"),
            "<source path='&lt;&amp;&gt;'>"
        );
    }
}
