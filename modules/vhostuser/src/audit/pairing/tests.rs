//! The join itself: which sides end up in one pair, and the verdict each pair gets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::audit::Source;
use crate::audit::checks::fixture::{
    RUNDIR, SOCKET_DIR, client_iface, domain, healthy, make_first_legacy, qemu,
};

fn verdicts(facts: &Facts) -> Vec<Verdict> {
    pair(facts, RUNDIR).iter().map(|p| p.verdict).collect()
}

fn by_interface<'a>(pairs: &'a [Pair], name: &str) -> &'a Pair {
    pairs
        .iter()
        .find(|p| p.ovs.as_ref().is_some_and(|o| o.interface == name))
        .unwrap()
}

#[test]
fn each_port_meets_its_domain_and_its_qemu_on_the_same_socket() {
    let (facts, _) = healthy();
    let pairs = pair(&facts, RUNDIR);
    assert_eq!(pairs.len(), 2);
    for (port, guest, pid) in [
        ("vhu1", "instance-00000001", 2001),
        ("vhu2", "instance-00000002", 2002),
    ] {
        let p = by_interface(&pairs, port);
        assert_eq!(p.verdict, Verdict::Matched);
        assert_eq!(p.ovs.as_ref().unwrap().path, format!("{SOCKET_DIR}/{port}"));
        assert_eq!(p.libvirt.as_ref().unwrap().domain, guest);
        assert_eq!(p.libvirt.as_ref().unwrap().mode, Some(SourceMode::Server));
        assert_eq!(p.qemu.as_ref().unwrap().pid, pid);
    }
}

#[test]
fn a_legacy_socket_is_in_the_rundir_under_vhost_sock_dir() {
    let mut iface = client_iface("vhu9");
    iface.kind = OvsType::DpdkVhostUser;
    assert_eq!(
        ovs_socket_path(&iface, "/var/run/openvswitch/", None),
        "/var/run/openvswitch/vhu9"
    );
    assert_eq!(
        ovs_socket_path(&iface, "/run/openvswitch", Some("")),
        "/run/openvswitch/vhu9"
    );
    assert_eq!(
        ovs_socket_path(&iface, "/run/openvswitch", Some("/sub/")),
        "/run/openvswitch/sub/vhu9"
    );
    // The client type's socket is its server path, wherever that is.
    let client = client_iface("vhu9");
    assert_eq!(
        ovs_socket_path(&client, "/run/openvswitch", Some("sub")),
        format!("{SOCKET_DIR}/vhu9")
    );
}

#[test]
fn a_consistent_legacy_port_is_matched() {
    let (mut facts, _) = healthy();
    make_first_legacy(&mut facts);
    assert_eq!(verdicts(&facts), [Verdict::Matched, Verdict::Matched]);
}

#[test]
fn both_sides_servers_is_a_mode_mismatch() {
    let (mut facts, _) = healthy();
    // OvS listens (legacy) and QEMU listens too: the pair joins by the port's name, and the
    // mode is judged before the path.
    facts.ovs.as_mut().unwrap().interfaces[0].kind = OvsType::DpdkVhostUser;
    let pairs = pair(&facts, RUNDIR);
    let p = by_interface(&pairs, "vhu1");
    assert_eq!(p.verdict, Verdict::MismatchedMode, "{p:?}");
}

#[test]
fn the_running_qemu_decides_the_mode_over_the_xml() {
    let (mut facts, _) = healthy();
    // The XML says client (edited, not yet restarted); the running QEMU is still the server.
    facts.domains.as_mut().unwrap()[0].interfaces[0].mode = Some(SourceMode::Client);
    assert_eq!(verdicts(&facts)[0], Verdict::Matched);
    // Without the process, the XML is all there is.
    facts.qemus.remove(0);
    assert_eq!(verdicts(&facts)[0], Verdict::MismatchedMode);
}

#[test]
fn the_same_port_name_on_another_path_is_a_path_mismatch() {
    let (mut facts, _) = healthy();
    let moved = "/var/lib/other_sockets/vhu1".to_owned();
    facts.domains.as_mut().unwrap()[0].interfaces[0].path = Some(moved.clone());
    facts.qemus[0].vhost_user[0].path = moved;
    let pairs = pair(&facts, RUNDIR);
    let p = by_interface(&pairs, "vhu1");
    assert_eq!(p.verdict, Verdict::MismatchedPath);
    assert_eq!(p.libvirt.as_ref().unwrap().domain, "instance-00000001");
    assert_eq!(
        pairs.len(),
        2,
        "the QEMU joins the pair its domain is in: {pairs:#?}"
    );
}

#[test]
fn what_meets_nothing_is_an_orphan_on_its_own_side() {
    let (mut facts, _) = healthy();
    facts.ovs.as_mut().unwrap().interfaces.remove(1);
    facts
        .domains
        .as_mut()
        .unwrap()
        .push(domain("instance-00000003", "vhu3"));
    facts.qemus.push(qemu(2004, "instance-00000004", "vhu4"));
    let pairs = pair(&facts, RUNDIR);
    let orphan = |verdict: Verdict| pairs.iter().filter(|p| p.verdict == verdict).count();
    assert_eq!(orphan(Verdict::Matched), 1);
    // vhu2's domain and QEMU meet each other but no OvS port; so does vhu3's domain alone.
    assert_eq!(orphan(Verdict::OrphanLibvirt), 2, "{pairs:#?}");
    assert_eq!(orphan(Verdict::OrphanQemu), 1, "{pairs:#?}");
    facts.domains = Source::Read(Vec::new());
    facts.qemus.clear();
    assert_eq!(verdicts(&facts), [Verdict::OrphanOvs]);
}

#[test]
fn one_port_takes_one_domain_interface() {
    let (mut facts, _) = healthy();
    // A second domain on vhu1's socket: the first keeps the pair, the second is left over.
    facts
        .domains
        .as_mut()
        .unwrap()
        .push(domain("instance-00000009", "vhu1"));
    let pairs = pair(&facts, RUNDIR);
    assert_eq!(
        by_interface(&pairs, "vhu1")
            .libvirt
            .as_ref()
            .unwrap()
            .domain,
        "instance-00000001"
    );
    let left: Vec<_> = pairs
        .iter()
        .filter(|p| p.verdict == Verdict::OrphanLibvirt)
        .collect();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].libvirt.as_ref().unwrap().domain,
        "instance-00000009"
    );
}

#[test]
fn without_open_vswitch_every_domain_is_unpaired() {
    let (mut facts, _) = healthy();
    facts.ovs = Source::Unavailable("refused".into());
    assert_eq!(
        verdicts(&facts),
        [Verdict::OrphanLibvirt, Verdict::OrphanLibvirt]
    );
}
