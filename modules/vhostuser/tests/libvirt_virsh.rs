//! Reading domains through a real virsh with libvirt's test driver (`test:///<node.xml>`),
//! which needs no daemon, and through commands that fail, are missing or hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vhostuser::libvirt::{DomainError, DomainRead, DomainState, Error, SourceMode, Virsh};

const TIMEOUT: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/libvirt")
        .join(name)
}

/// Fails, never skips, when virsh is missing: these tests are the only proof that the
/// quoting and splitting work with the real program.
fn require_virsh() {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("virsh").is_file()));
    assert!(
        found,
        "virsh is not installed: run tools/setup, which installs Debian's libvirt-clients"
    );
}

fn test_uri(node: &Path) -> String {
    format!("test://{}", node.display())
}

fn argv(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn virsh(node: &Path) -> Virsh {
    require_virsh();
    Virsh::new(&argv(&["virsh"]), Some(&test_uri(node)), TIMEOUT)
}

/// A directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir =
            std::env::temp_dir().join(format!("nfv-libvirt-{tag}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn domain<'a>(read: &'a [DomainRead], name: &str) -> &'a DomainRead {
    read.iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} not listed"))
}

#[test]
fn lists_names_and_states_in_virsh_order() {
    let listed = virsh(&fixture("node.xml")).list().unwrap();
    let got: Vec<_> = listed.iter().map(|l| (l.name.as_str(), l.state)).collect();
    assert_eq!(
        got,
        [
            ("instance-00000001", DomainState::Running),
            ("instance-00000003", DomainState::Paused),
            ("vm with spaces", DomainState::Running),
            ("instance-00000002", DomainState::ShutOff),
        ]
    );
}

#[test]
fn reads_every_domain() {
    let read = virsh(&fixture("node.xml")).read_domains().unwrap();
    assert_eq!(read.len(), 4);

    let nova = domain(&read, "instance-00000001").domain.as_ref().unwrap();
    assert_eq!(
        nova.uuid.as_deref(),
        Some("0d6a8bde-3f12-4c7e-9a55-1b8ec6f3a001")
    );
    assert!(nova.shared_memory);
    let modes: Vec<_> = nova
        .vhostuser_interfaces
        .iter()
        .map(|i| (i.mode, i.path.as_deref(), i.target_dev.as_deref()))
        .collect();
    assert_eq!(
        modes,
        [
            (
                Some(SourceMode::Server),
                Some("/var/lib/vhost_sockets/vhu6a1d9b2c-11"),
                Some("vhu6a1d9b2c-11")
            ),
            (
                Some(SourceMode::Client),
                Some("/var/run/openvswitch/vhu7b2eac3d-22"),
                Some("vhu7b2eac3d-22")
            ),
        ]
    );

    let unshared = domain(&read, "instance-00000002");
    assert_eq!(unshared.state, DomainState::ShutOff);
    let unshared = unshared.domain.as_ref().unwrap();
    assert_eq!(unshared.vhostuser_interfaces.len(), 1);
    assert!(unshared.memory.hugepages);
    assert!(!unshared.shared_memory);

    let plain = domain(&read, "instance-00000003").domain.as_ref().unwrap();
    assert!(plain.vhostuser_interfaces.is_empty());

    let spaced = domain(&read, "vm with spaces").domain.as_ref().unwrap();
    assert!(spaced.shared_memory);
    // The test driver invents a target for an interface that has none.
    assert_eq!(
        spaced.vhostuser_interfaces[0].target_dev.as_deref(),
        Some("testnet0")
    );

    let json = serde_json::to_value(&read).unwrap();
    assert_eq!(json[0]["name"], "instance-00000001");
    assert_eq!(json[0]["state"], "running");
    assert!(json[0]["error"].is_null());
    assert_eq!(
        json[0]["domain"]["vhostuser_interfaces"][1]["mode"],
        "client"
    );
}

#[test]
fn names_survive_virshs_quoting() {
    let read = virsh(&fixture("names.xml")).read_domains().unwrap();
    let expected = [
        "plain",
        "it's \"quoted\"",
        "--inactive",
        "#hash",
        "semi;colon",
        "back\\slash",
        "$HOME `x`",
        " leading blank",
        "a&b<c>",
    ];
    for name in expected {
        let entry = domain(&read, name);
        assert_eq!(entry.domain.as_ref().unwrap().name, name);
    }
    // virsh resolves "1" as the id of the running domain "plain": reported, not mistaken.
    assert_eq!(
        domain(&read, "1").domain,
        Err(DomainError::OtherDomain {
            found: "plain".to_owned()
        })
    );
    assert_eq!(read.len(), expected.len() + 1);
}

#[test]
fn a_domain_that_is_gone_fails_alone() {
    let names = argv(&["instance-00000001", "no-such-domain", "vm with spaces"]);
    let dumped = virsh(&fixture("node.xml")).dump(&names).unwrap();
    assert_eq!(dumped[0].as_ref().unwrap().name, "instance-00000001");
    assert_eq!(dumped[2].as_ref().unwrap().name, "vm with spaces");
    let Err(DomainError::NoOutput { stderr }) = &dumped[1] else {
        panic!("{:?}", dumped[1]);
    };
    assert!(stderr.contains("'no-such-domain'"), "{stderr}");
    assert!(!stderr.contains("vm with spaces"), "{stderr}");
}

#[test]
fn a_last_domain_that_is_gone_fails_alone() {
    // virsh exits with its last command's status: the script must not end on the failed dump.
    let names = argv(&["instance-00000001", "no-such-domain"]);
    let dumped = virsh(&fixture("node.xml")).dump(&names).unwrap();
    assert_eq!(dumped[0].as_ref().unwrap().name, "instance-00000001");
    let Err(DomainError::NoOutput { stderr }) = &dumped[1] else {
        panic!("{:?}", dumped[1]);
    };
    assert!(stderr.contains("'no-such-domain'"), "{stderr}");
}

#[test]
fn a_wrapper_command_is_run_with_its_arguments() {
    require_virsh();
    // Like `podman exec nova_libvirt virsh`: leading arguments, then virsh's.
    let command = argv(&["sh", "-c", "exec virsh \"$@\"", "wrapper"]);
    let uri = test_uri(&fixture("node.xml"));
    let read = Virsh::new(&command, Some(&uri), TIMEOUT)
        .read_domains()
        .unwrap();
    assert_eq!(read.len(), 4);
}

#[test]
fn a_bad_uri_is_a_failure_with_virshs_message() {
    let err = virsh(&fixture("no-such-node.xml"))
        .read_domains()
        .unwrap_err();
    let Error::Failed { stderr, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(stderr.contains("failed to connect"), "{stderr}");
    let message = err.to_string();
    assert!(message.contains("-c test://"), "{message}");
    assert!(message.contains("exit status 1"), "{message}");
    assert!(!err.is_not_found());
}

#[test]
fn a_failing_command_is_a_failure() {
    let err = Virsh::new(&argv(&["false"]), None, TIMEOUT)
        .list()
        .unwrap_err();
    assert!(matches!(err, Error::Failed { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "false -r failed (exit status 1) with no error output"
    );
}

#[test]
fn a_missing_virsh_is_not_found() {
    let err = Virsh::new(&argv(&["/nonexistent/virsh"]), None, TIMEOUT)
        .read_domains()
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("virsh not found: /nonexistent/virsh ("),
        "{err}"
    );

    // How `podman exec` and shells say it: exit 127.
    let wrapper = argv(&[
        "sh",
        "-c",
        "echo 'virsh: command not found' >&2; exit 127",
        "w",
    ]);
    let err = Virsh::new(&wrapper, None, TIMEOUT).list().unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("command not found"), "{err}");
}

#[test]
fn a_hanging_virsh_is_killed_in_time() {
    let dir = TempDir::new("hang");
    let pidfile = dir.0.join("sleep.pid");
    // The fake virsh starts a grandchild and waits for it: both must die.
    let script = format!("sleep 100 & echo $! > '{}'; wait", pidfile.display());
    let command = argv(&["sh", "-c", &script, "fake-virsh"]);
    let timeout = Duration::from_millis(500);
    let start = Instant::now();
    let err = Virsh::new(&command, Some("test:///default"), timeout)
        .read_domains()
        .unwrap_err();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(took >= timeout, "took {took:?}");
    let Error::Timeout { pid, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        err.to_string().contains(&format!("process group {pid}")),
        "{err}"
    );

    let sleep_pid = fs::read_to_string(&pidfile).unwrap();
    let proc_stat = PathBuf::from(format!("/proc/{}/stat", sleep_pid.trim()));
    let deadline = Instant::now() + Duration::from_secs(5);
    // Gone, or a zombie waiting for init to reap it.
    while fs::read_to_string(&proc_stat).is_ok_and(|s| !s.contains(") Z ")) {
        assert!(
            Instant::now() < deadline,
            "the grandchild survived the timeout"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Not a benchmark: prints how long the virsh processes take for 500 domains, and proves how
/// many there are: one for the lists, and one per 100 domains for the dumps, no more than the
/// machine's cores nor four.
#[test]
fn five_hundred_domains_in_few_processes() {
    require_virsh();
    let dir = TempDir::new("500");
    let mut node = String::from(
        "<node><cpu><mode>fixed</mode><nodes>1</nodes><sockets>1</sockets><cores>2</cores>\
         <threads>1</threads><active>2</active><mhz>2400</mhz></cpu><memory>67108864</memory>\n",
    );
    for i in 0..500 {
        writeln!(
            node,
            "<domain type='test'><name>instance-{i:08x}</name>\
             <uuid>00000000-0000-4000-8000-{i:012x}</uuid><memory unit='MiB'>64</memory>\
             <memoryBacking><hugepages/></memoryBacking><os><type arch='x86_64'>hvm</type></os>\
             <cpu><numa><cell id='0' cpus='0' memory='65536' unit='KiB' memAccess='shared'/></numa></cpu>\
             <devices><interface type='vhostuser'><mac address='fa:16:3e:00:{:02x}:{:02x}'/>\
             <source type='unix' path='/var/lib/vhost_sockets/vhu{i:08x}' mode='server'/>\
             <model type='virtio'/></interface></devices></domain>",
            i / 256,
            i % 256
        )
        .unwrap();
    }
    node.push_str("</node>\n");
    let node_path = dir.0.join("node.xml");
    fs::write(&node_path, node).unwrap();

    let calls = dir.0.join("calls");
    let counting = format!("echo call >> '{}'; exec virsh \"$@\"", calls.display());
    let command = argv(&["sh", "-c", &counting, "counting-virsh"]);
    let start = Instant::now();
    let read = Virsh::new(&command, Some(&test_uri(&node_path)), TIMEOUT)
        .read_domains()
        .unwrap();
    let took = start.elapsed();
    eprintln!("listing and dumping 500 test-driver domains took {took:?}");

    assert_eq!(read.len(), 500);
    assert!(read.iter().all(|r| {
        r.domain
            .as_ref()
            .is_ok_and(|d| d.shared_memory && d.vhostuser_interfaces.len() == 1)
    }));
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    assert_eq!(
        fs::read_to_string(&calls).unwrap().lines().count(),
        1 + cores.clamp(1, 4)
    );
}
