//! The domain XML parser and the directory reader against real `virsh dumpxml` output, a
//! libvirt status file, and the ways a dump goes wrong. No virsh needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::json;
use vhostuser::OvsType;
use vhostuser::libvirt::{
    Domain, DomainError, Error, Memory, NumaCell, Reconnect, SourceMode, VhostUserInterface,
    XmlError, parse_domain, read_dir_xml, read_file,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/libvirt")
        .join(name)
}

fn text(name: &str) -> String {
    let path = fixture(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn xml_error(xml: &str) -> XmlError {
    match parse_domain(xml) {
        Err(e) => e,
        Ok(d) => panic!("parsed: {d:?}"),
    }
}

#[test]
fn nova_dumpxml() {
    let domain = parse_domain(&text("dir/instance-00000001.xml")).unwrap();
    assert_eq!(
        domain,
        Domain {
            // Not <nova:name>, which says "not-the-domain-name".
            name: "instance-00000001".into(),
            uuid: Some("0d6a8bde-3f12-4c7e-9a55-1b8ec6f3a001".into()),
            vhostuser_interfaces: vec![
                VhostUserInterface {
                    mac: Some("fa:16:3e:5c:1a:01".into()),
                    source_type: Some("unix".into()),
                    path: Some("/var/lib/vhost_sockets/vhu6a1d9b2c-11".into()),
                    mode: Some(SourceMode::Server),
                    reconnect: None,
                    target_dev: Some("vhu6a1d9b2c-11".into()),
                    model: Some("virtio".into()),
                    queues: Some(2),
                    backend: None,
                },
                VhostUserInterface {
                    mac: Some("fa:16:3e:5c:1a:02".into()),
                    source_type: Some("unix".into()),
                    path: Some("/var/run/openvswitch/vhu7b2eac3d-22".into()),
                    mode: Some(SourceMode::Client),
                    reconnect: Some(Reconnect {
                        enabled: true,
                        timeout: Some(10),
                    }),
                    target_dev: Some("vhu7b2eac3d-22".into()),
                    model: Some("virtio".into()),
                    queues: None,
                    backend: None,
                },
            ],
            memory: Memory {
                hugepages: true,
                access_mode: None,
                source_type: None,
                numa_cells: vec![NumaCell {
                    id: Some(0),
                    mem_access: Some("shared".into()),
                }],
            },
            shared_memory: true,
        }
    );
    let types: Vec<_> = domain
        .vhostuser_interfaces
        .iter()
        .map(VhostUserInterface::ovs_type)
        .collect();
    assert_eq!(
        types,
        [
            Some(OvsType::DpdkVhostUserClient),
            Some(OvsType::DpdkVhostUser)
        ]
    );
}

#[test]
fn json_names_every_fact() {
    let domain = parse_domain(&text("dir/vm with spaces.xml")).unwrap();
    assert_eq!(
        serde_json::to_value(&domain).unwrap(),
        json!({
            "name": "vm with spaces",
            "uuid": "0d6a8bde-3f12-4c7e-9a55-1b8ec6f3a004",
            "vhostuser_interfaces": [{
                "mac": "52:54:00:00:04:01",
                "source_type": "unix",
                "path": "/var/lib/vhost_sockets/vm with spaces.sock",
                "mode": "server",
                "reconnect": null,
                "target_dev": "testnet0",
                "model": "virtio",
                "queues": null,
                "backend": null
            }],
            "memory": {
                "hugepages": false,
                "access_mode": "shared",
                "source_type": "memfd",
                "numa_cells": []
            },
            "shared_memory": true
        })
    );
}

#[test]
fn status_file_of_a_running_domain() {
    let domain = read_file(&fixture("dir/instance-00000005.xml")).unwrap();
    assert_eq!(domain.name, "instance-00000005");
    // <domstatus><devices><device alias='net0'/> is libvirt's bookkeeping, not an interface.
    assert_eq!(domain.vhostuser_interfaces.len(), 1);
    assert_eq!(domain.vhostuser_interfaces[0].queues, Some(4));
    // Both cells override access mode='private'.
    assert_eq!(domain.memory.access_mode.as_deref(), Some("private"));
    assert_eq!(domain.memory.numa_cells.len(), 2);
    assert!(domain.shared_memory);
}

#[test]
fn new_libvirt_without_mode() {
    let domain = parse_domain(&text("passt-no-mode.xml")).unwrap();
    let interface = &domain.vhostuser_interfaces[0];
    assert_eq!(interface.mode, None);
    assert_eq!(interface.source_type, None);
    assert_eq!(interface.backend.as_deref(), Some("passt"));
    assert_eq!(interface.ovs_type(), None);
}

#[test]
fn hugepages_without_shared_access_are_not_shared_memory() {
    let xml = "<domain><name>h</name><memoryBacking><hugepages/></memoryBacking>\
               <cpu><numa><cell id='0' memAccess='shared'/><cell id='1'/></numa></cpu></domain>";
    let domain = parse_domain(xml).unwrap();
    assert!(domain.memory.hugepages);
    assert!(!domain.shared_memory, "cell 1 is private");
}

#[test]
fn names_and_values_are_unescaped() {
    let xml = "<domain><name>it&apos;s &quot;q&quot; &amp; &#x41;<![CDATA[<b>]]></name>\
               <devices><interface type='vhostuser'>\
               <source type='unix' path='/tmp/a&amp;b&#9;c' mode='server'/>\
               </interface></devices></domain>";
    let domain = parse_domain(xml).unwrap();
    assert_eq!(domain.name, "it's \"q\" & A<b>");
    assert_eq!(
        domain.vhostuser_interfaces[0].path.as_deref(),
        Some("/tmp/a&b\tc")
    );
}

#[test]
fn only_vhostuser_interfaces_count() {
    let xml = "<domain><name>n</name><devices>\
               <interface type='bridge'><source bridge='br0'/><mac address='00:00:00:00:00:01'/></interface>\
               <interface type='vhostuser'/>\
               </devices></domain>";
    let domain = parse_domain(xml).unwrap();
    assert_eq!(
        domain.vhostuser_interfaces,
        vec![VhostUserInterface::default()]
    );
}

#[test]
fn broken_xml_says_where() {
    let e = xml_error(&text("dir/broken.xml"));
    assert_eq!((e.line, e.column), (20, 5), "{e}");
    assert!(
        e.to_string().starts_with("line 20, column 5 (byte 693): "),
        "{e}"
    );

    let e = xml_error("<domain>\n  <name>a</name>\n  <devices>\n  </domain>\n");
    assert_eq!((e.line, e.column), (4, 3), "{e}");
    assert!(e.message.contains("</devices>"), "{e}");

    let e = xml_error("<domain>\n  <name>a</name>\n  <devices>\n");
    assert!(e.message.contains("cut short"), "{e}");
}

#[test]
fn refusals_name_the_problem() {
    let cases = [
        ("", "no XML element"),
        (
            "error: failed to get domain 'x'\n",
            r"text outside the root element: 'error: failed to get domain \'x\''",
        ),
        (
            "<network><name>default</name></network>",
            "not a libvirt domain XML",
        ),
        ("<domain><uuid>x</uuid></domain>", "no <name>"),
        (
            "<domain><name>a</name></domain><domain/>",
            "after the end of the root",
        ),
        ("<domstatus state='running'/>", "holds no <domain>"),
        ("<domain><name>&nbsp;</name></domain>", "unknown entity"),
        (
            "<domain><name a='1' a='2'>x</name></domain>",
            "duplicated attribute",
        ),
    ];
    for (xml, expected) in cases {
        let e = xml_error(xml);
        assert!(e.message.contains(expected), "{xml:?}: {e}");
    }
}

#[test]
fn values_libvirt_refuses_are_errors_at_their_element() {
    let xml = "<domain>\n<name>a</name>\n<devices>\n<interface type='vhostuser'>\n  \
               <source type='unix' path='/x' mode='listen'/>\n</interface></devices></domain>";
    let e = xml_error(xml);
    assert_eq!((e.line, e.column), (5, 3), "{e}");
    assert!(e.message.contains("mode='listen'"), "{e}");

    let queues = "<domain><name>a</name><devices><interface type='vhostuser'>\
                  <driver queues='many'/></interface></devices></domain>";
    assert!(xml_error(queues).message.contains("queues='many'"));

    let reconnect = "<domain><name>a</name><devices><interface type='vhostuser'>\
                     <source mode='client'><reconnect enabled='maybe'/></source>\
                     </interface></devices></domain>";
    assert!(xml_error(reconnect).message.contains("enabled='maybe'"));
}

#[test]
fn no_prefix_of_a_dump_panics() {
    let xml = text("dir/instance-00000001.xml");
    let whole = xml.trim_end();
    for (end, _) in whole.char_indices().skip(1) {
        assert!(parse_domain(&whole[..end]).is_err(), "prefix {end} parsed");
    }
    assert!(parse_domain(whole).is_ok());
}

#[test]
fn reads_a_directory() {
    let read = read_dir_xml(&fixture("dir")).unwrap();
    let names: Vec<_> = read
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "broken.xml",
            "instance-00000001.xml",
            "instance-00000005.xml",
            "latin1.xml",
            "vm with spaces.xml"
        ]
    );
    assert!(matches!(read[0].domain, Err(DomainError::Xml(_))));
    assert_eq!(read[1].domain.as_ref().unwrap().name, "instance-00000001");
    assert_eq!(read[2].domain.as_ref().unwrap().name, "instance-00000005");
    assert_eq!(read[4].domain.as_ref().unwrap().name, "vm with spaces");

    let Err(DomainError::Xml(latin1)) = &read[3].domain else {
        panic!("{:?}", read[3]);
    };
    assert_eq!((latin1.line, latin1.column), (2, 12), "{latin1}");
    assert!(latin1.message.contains("not UTF-8"));

    let json = serde_json::to_value(&read).unwrap();
    assert!(json[0]["domain"].is_null());
    assert!(json[0]["error"].as_str().unwrap().contains("line 20"));
    assert!(json[1]["error"].is_null());
    assert_eq!(json[1]["domain"]["name"], "instance-00000001");
}

#[test]
fn a_missing_directory_fails_as_a_whole() {
    let err = read_dir_xml(&fixture("no-such-dir")).unwrap_err();
    assert!(matches!(err, Error::ReadDir { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
    assert!(!err.is_not_found());
}

#[test]
fn mode_mapping() {
    assert_eq!(
        SourceMode::Server.ovs_type().as_str(),
        "dpdkvhostuserclient"
    );
    assert_eq!(SourceMode::Client.ovs_type().as_str(), "dpdkvhostuser");
    assert_eq!(
        SourceMode::for_ovs_type(OvsType::DpdkVhostUserClient),
        SourceMode::Server
    );
    assert_eq!(
        SourceMode::for_ovs_type(OvsType::DpdkVhostUser),
        SourceMode::Client
    );
    assert_eq!(OvsType::parse("system"), None);
}
