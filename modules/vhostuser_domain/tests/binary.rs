//! The built `vhostuser_domain` binary through a real virsh with libvirt's test driver
//! (`test:///<node.xml>`, no daemon). The driver loads the node file afresh in every virsh
//! process, so a second run sees the change only once the test writes the defined XML back
//! into the node file. Restarts, transient domains and check mode's "nothing changed" are
//! proven on a real libvirtd by the integration target.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// Fails, never skips, when virsh is missing.
fn require_virsh() {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("virsh").is_file()));
    assert!(
        found,
        "virsh is not installed: run tools/setup, which installs Debian's libvirt-clients"
    );
}

/// A directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "nfv-vhostuser-domain-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Two legacy vhost-user NICs (a fixed UUID: the driver invents a new one on every load
/// otherwise, and `define` refuses a second domain of the same name) (one with a `<reconnect>`), a plain network NIC, and settings the
/// module must keep.
const VM1: &str = "<domain type='test'>
  <name>vm1</name>
  <uuid>5b5a1c2e-0000-4000-8000-000000000001</uuid>
  <memory unit='KiB'>262144</memory>
  <os><type>hvm</type></os>
  <devices>
    <interface type='network'>
      <mac address='52:54:00:00:00:09'/>
      <source network='default'/>
      <target dev='tap9'/>
    </interface>
    <interface type='vhostuser'>
      <mac address='52:54:00:00:00:01'/>
      <source type='unix' path='/var/run/openvswitch/vhu1' mode='client'>
        <reconnect enabled='yes' timeout='10'/>
      </source>
      <target dev='vhu1'/>
      <model type='virtio'/>
      <driver queues='2'/>
    </interface>
    <interface type='vhostuser'>
      <mac address='52:54:00:00:00:02'/>
      <source type='unix' path='/var/run/openvswitch/vhu2' mode='client'/>
      <target dev='vhu2'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>";

const PLAIN: &str = "<domain type='test'>
  <name>plain</name>
  <uuid>5b5a1c2e-0000-4000-8000-000000000002</uuid>
  <memory unit='KiB'>262144</memory>
  <os><type>hvm</type></os>
  <devices>
    <interface type='network'>
      <mac address='52:54:00:00:01:09'/>
      <source network='default'/>
    </interface>
  </devices>
</domain>";

/// A test-driver node holding `domains` (each running and persistent).
struct Node {
    dir: TempDir,
}

impl Node {
    fn new(domains: &[&str]) -> Node {
        require_virsh();
        let node = Node {
            dir: TempDir::new(),
        };
        node.write(domains);
        node
    }

    fn path(&self) -> PathBuf {
        self.dir.0.join("node.xml")
    }

    fn write(&self, domains: &[&str]) {
        let mut xml = "<node>\n".to_owned();
        for domain in domains {
            xml.push_str(domain);
            xml.push('\n');
        }
        xml.push_str("</node>\n");
        fs::write(self.path(), xml).unwrap();
    }

    fn uri(&self) -> String {
        format!("test://{}", self.path().display())
    }

    /// What `virsh dumpxml --inactive` prints for `name` on this node.
    fn dumpxml(&self, name: &str) -> String {
        let out = Command::new("virsh")
            .args(["-c", &self.uri(), "dumpxml", "--inactive", name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn run(&self, args: &Value) -> (Value, i32) {
        let mut all = json!({
            "_ansible_module_name": "nfv.vhostuser.vhostuser_domain",
            "_ansible_diff": true,
            "libvirt_uri": self.uri(),
        });
        all.as_object_mut()
            .unwrap()
            .extend(args.as_object().unwrap().clone());
        let file = self.dir.0.join("args");
        fs::write(&file, all.to_string()).unwrap();
        run_file(&file)
    }
}

fn run_file(file: &Path) -> (Value, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_vhostuser_domain"))
        .arg(file)
        .output()
        .unwrap();
    let answer = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (answer, out.status.code().unwrap())
}

fn msg(out: &Value) -> &str {
    out["msg"].as_str().unwrap_or_default()
}

#[test]
fn moves_a_whole_domain_to_server_mode_changing_only_its_sources() {
    let node = Node::new(&[VM1, PLAIN]);
    let before = node.dumpxml("vm1");
    let (out, code) = node.run(&json!({
        "name": "vm1", "mode": "server", "socket_dir": "/var/lib/vhost_sockets",
    }));
    assert_eq!((code, &out["changed"]), (0, &json!(true)), "{out}");
    assert_eq!(out["definition_changed"], json!(true));
    assert_eq!(
        out["restart_required"],
        json!(true),
        "the test driver's domains run"
    );
    assert_eq!(out["restarted"], json!(false));
    assert_eq!(out["state"], json!("running"));
    let interfaces = out["interfaces"].as_array().unwrap();
    assert_eq!(
        interfaces.len(),
        2,
        "the network NIC is not selected: {out}"
    );
    assert_eq!(
        interfaces[0],
        json!({
            "mac": "52:54:00:00:00:01", "target": "vhu1", "port": "vhu1",
            "mode": "server", "path": "/var/lib/vhost_sockets/vhu1",
            "ovs_type": "dpdkvhostuserclient",
            "previous_mode": "client", "previous_path": "/var/run/openvswitch/vhu1",
            "previous_ovs_type": "dpdkvhostuser", "changed": true,
        })
    );
    assert_eq!(interfaces[1]["path"], json!("/var/lib/vhost_sockets/vhu2"));
    assert!(
        msg(&out).contains(
            "vhu1 mode=server path=/var/lib/vhost_sockets/vhu1 (pairs with dpdkvhostuserclient)"
        ),
        "{out}"
    );
    assert!(msg(&out).contains("restart required"), "{out}");

    // The diff is libvirt's own text with exactly the managed bytes changed.
    assert_eq!(out["diff"]["before"], json!(before));
    let expected = before
        .replace(
            "<source type='unix' path='/var/run/openvswitch/vhu1' mode='client'>\n        \
             <reconnect enabled='yes' timeout='10'/>\n      </source>",
            "<source type='unix' path='/var/lib/vhost_sockets/vhu1' mode='server'/>",
        )
        .replace(
            "path='/var/run/openvswitch/vhu2' mode='client'",
            "path='/var/lib/vhost_sockets/vhu2' mode='server'",
        );
    assert_ne!(expected, before);
    assert_eq!(out["diff"]["after"], json!(expected));
    assert_eq!(
        out["diff"]["before_header"],
        json!("domain vm1 (persistent definition)")
    );

    // The node as libvirt now holds it: a second run changes nothing and, since the domain
    // now runs with this definition, needs no restart.
    node.write(&[&expected, PLAIN]);
    let (again, code) = node.run(&json!({
        "name": "vm1", "mode": "server", "socket_dir": "/var/lib/vhost_sockets",
    }));
    assert_eq!((code, &again["changed"]), (0, &json!(false)), "{again}");
    assert_eq!(again["restart_required"], json!(false));
    assert!(again.get("diff").is_none(), "{again}");
    assert!(
        msg(&again).contains("already have the wanted mode and path"),
        "{again}"
    );
}

#[test]
fn one_interface_by_mac_target_or_current_path() {
    let node = Node::new(&[VM1]);
    let (out, code) = node.run(&json!({
        "name": "vm1", "mac": "52:54:00:00:00:02", "mode": "server",
        "path": "/var/lib/vhost_sockets/custom",
    }));
    assert_eq!((code, &out["changed"]), (0, &json!(true)), "{out}");
    assert_eq!(out["interfaces"].as_array().unwrap().len(), 1);
    assert_eq!(
        out["interfaces"][0]["path"],
        json!("/var/lib/vhost_sockets/custom")
    );
    let after = out["diff"]["after"].as_str().unwrap();
    assert!(
        after.contains("path='/var/run/openvswitch/vhu1' mode='client'"),
        "vhu1 untouched"
    );

    for selector in [
        json!({"target": ["vhu1"]}),
        json!({"current_path": "/var/run/openvswitch/vhu1"}),
    ] {
        let mut args = json!({"name": "vm1", "mode": "client"});
        args.as_object_mut()
            .unwrap()
            .extend(selector.as_object().unwrap().clone());
        let (out, code) = node.run(&args);
        assert_eq!((code, &out["changed"]), (0, &json!(false)), "{out}");
        assert_eq!(out["interfaces"][0]["mac"], json!("52:54:00:00:00:01"));
        assert_eq!(out["restart_required"], json!(false));
    }
}

#[test]
fn check_mode_reports_what_would_change() {
    let node = Node::new(&[VM1]);
    let (out, code) = node.run(&json!({
        "name": "vm1", "mode": "server", "socket_dir": "/var/lib/vhost_sockets",
        "restart": true, "_ansible_check_mode": true,
    }));
    assert_eq!((code, &out["changed"]), (0, &json!(true)), "{out}");
    assert_eq!(out["restarted"], json!(true), "it would restart");
    assert_eq!(out["restart_required"], json!(false));
    assert!(msg(&out).contains("would be defined anew"), "{out}");
    assert!(msg(&out).contains("would be restarted"), "{out}");
    assert!(
        out["diff"]["after"]
            .as_str()
            .unwrap()
            .contains("mode='server'")
    );
}

#[test]
fn bad_input_fails_clearly() {
    let node = Node::new(&[VM1, PLAIN]);
    let cases = [
        (
            json!({"name": "nope", "mode": "server"}),
            "domain 'nope' does not exist (error: failed to get domain 'nope'): no domain of \
             that name is defined or running; nothing was changed",
        ),
        (
            json!({"name": "vm1", "mac": "52:54:00:00:00:09", "mode": "server"}),
            "the interface with mac 52:54:00:00:00:09 of domain vm1 is type='network', not \
             'vhostuser': this module changes vhost-user interfaces only",
        ),
        (
            json!({"name": "plain", "mode": "server"}),
            "domain plain has no vhost-user interface (<interface type='vhostuser'>)",
        ),
        (
            json!({"name": "vm1", "target": "vhu7"}),
            "domain vm1 has no interface with target vhu7; its vhost-user interfaces are: mac \
             52:54:00:00:00:01 (target vhu1, path /var/run/openvswitch/vhu1, mode client); mac \
             52:54:00:00:00:02 (target vhu2, path /var/run/openvswitch/vhu2, mode client)",
        ),
        (
            json!({"name": "vm1", "path": "/var/lib/vhost_sockets/x"}),
            "path names one socket, but 2 vhost-user interfaces of domain vm1 are selected",
        ),
        (
            json!({"name": "vm1", "path": "/a", "socket_dir": "/b"}),
            "parameters are mutually exclusive: path|socket_dir",
        ),
        (
            json!({"name": "vm1", "mode": "listen"}),
            "value of mode must be one of: server, client, got: listen",
        ),
        (
            json!({"name": "vm1", "mod": "server"}),
            "Unsupported parameters for (nfv.vhostuser.vhostuser_domain) module: mod. Supported \
             parameters include:",
        ),
        (
            json!({"name": "vm1", "restart": true, "shutdown_timeout": 0}),
            "shutdown_timeout must be a positive number of seconds, not 0",
        ),
        (
            json!({"name": "vm1", "target": "vhu1", "path": "relative"}),
            "the socket path 'relative' must be absolute",
        ),
    ];
    for (args, expected) in cases {
        let (out, code) = node.run(&args);
        assert_eq!(code, 1, "{args} -> {out}");
        assert_eq!(out["failed"], json!(true));
        assert_eq!(out["changed"], json!(false), "{args} -> {out}");
        assert!(
            msg(&out).contains(expected),
            "{args}:\n{}\nlacks\n{expected}",
            msg(&out)
        );
    }
}

#[test]
fn virsh_that_cannot_connect_or_is_missing() {
    let node = Node::new(&[VM1]);
    let (out, code) = node.run(&json!({
        "name": "vm1", "libvirt_uri": "test:///nonexistent/node.xml",
    }));
    assert_eq!(code, 1, "{out}");
    assert!(
        msg(&out).starts_with("domain vm1: virsh -c test:///nonexistent/node.xml failed"),
        "{out}"
    );
    let (out, code) = node.run(&json!({"name": "vm1", "virsh_command": ["/nonexistent/virsh"]}));
    assert_eq!(code, 1, "{out}");
    assert!(
        msg(&out).contains("virsh not found: /nonexistent/virsh"),
        "{out}"
    );
}

#[test]
fn a_name_with_blanks_and_quotes_reaches_virsh_whole() {
    let odd = VM1
        .replace("<name>vm1</name>", "<name>it's vm 1; list</name>")
        .replace("000000000001", "000000000003");
    let node = Node::new(&[&odd]);
    let (out, code) = node.run(&json!({
        "name": "it's vm 1; list", "mode": "server", "socket_dir": "/var/lib/vhost_sockets",
    }));
    assert_eq!((code, &out["changed"]), (0, &json!(true)), "{out}");
    assert_eq!(out["domain"], json!("it's vm 1; list"));
    assert!(
        out["diff"]["after"]
            .as_str()
            .unwrap()
            .contains("<name>it&apos;s vm 1; list</name>")
    );
}
