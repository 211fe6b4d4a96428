//! `nfv.vhostuser.vhostuser_info`: the read-only audit of one node. It collects what Open
//! vSwitch, libvirt, the running processes and the configuration files say, pairs every OvS
//! vhost-user interface with its VM, and reports every known way the two sides break, with the
//! fix, and whether the node is ready for `dpdkvhostuserclient`. It never changes anything.

use ansible_module::{ArgSpec, Ctx, Failure, Kind, Lit, ModuleResult, Opt};
use serde::Deserialize;
use serde_json::Value;
use vhostuser::Roots;
use vhostuser::audit::checks;
use vhostuser::audit::collect::{self, Sources};
use vhostuser::audit::domains::LibvirtSource;
use vhostuser::audit::{Finding, FindingGroup, Severity, finding, live_swap, pairing, verdict};

use crate::wanted::Wanted;

mod shape;
mod wanted;

const OPTIONS: &[Opt] = &[
    Opt::new("ovsdb", Kind::Str).default(Lit::Str("unix:/var/run/openvswitch/db.sock")),
    Opt::new("ovs_rundir", Kind::Path).default(Lit::Str("/var/run/openvswitch")),
    Opt::new("virsh_command", Kind::List)
        .elements(Kind::Str)
        .default(Lit::StrList(&["virsh"])),
    Opt::new("libvirt_uri", Kind::Str).default(Lit::Str("qemu:///system")),
    Opt::new("libvirt_xml_dir", Kind::Path),
    Opt::new("qemu_conf_path", Kind::Path).default(Lit::Str("/etc/libvirt/qemu.conf")),
    Opt::new("sysconfig_path", Kind::Path).default(Lit::Str("/etc/sysconfig/openvswitch")),
    Opt::new("socket_dir", Kind::Path).default(Lit::Str("/var/lib/vhost_sockets")),
    Opt::new("socket_owner", Kind::Str).default(Lit::Str("qemu")),
    Opt::new("socket_mode", Kind::Raw).default(Lit::Str("0775")),
    Opt::new("setype", Kind::Str).default(Lit::Str("virt_cache_t")),
    Opt::new("group", Kind::Str).default(Lit::Str("hugetlbfs")),
    Opt::new("gid", Kind::Int).default(Lit::Int(42477)),
    Opt::new("hugepages_path", Kind::Path).default(Lit::Str("/dev/hugepages")),
    Opt::new("ovs_paths", Kind::List)
        .elements(Kind::Path)
        .default(Lit::StrList(&[
            "/etc/openvswitch",
            "/var/log/openvswitch",
            "/var/lib/openvswitch",
        ])),
    Opt::new("checks", Kind::List).elements(Kind::Str),
    Opt::new("skip_checks", Kind::List).elements(Kind::Str),
    Opt::new("fail_on", Kind::Str).choices(&[
        Severity::Info.as_str(),
        Severity::Warning.as_str(),
        Severity::Error.as_str(),
        Severity::Critical.as_str(),
    ]),
    Opt::new("timeout", Kind::Int).default(Lit::Int(10)),
    Opt::new("details", Kind::Bool).default(Lit::Bool(false)),
];

/// The module's argument spec; `plugins/modules/vhostuser_info.yml` documents it.
pub const SPEC: ArgSpec = ArgSpec::new(OPTIONS);

#[derive(Debug, Deserialize)]
pub struct Params {
    pub ovsdb: String,
    pub ovs_rundir: String,
    pub virsh_command: Vec<String>,
    pub libvirt_uri: String,
    pub libvirt_xml_dir: Option<String>,
    pub qemu_conf_path: String,
    pub sysconfig_path: String,
    pub socket_dir: String,
    pub socket_owner: String,
    pub socket_mode: Value,
    pub setype: String,
    pub group: String,
    pub gid: i64,
    pub hugepages_path: String,
    pub ovs_paths: Vec<String>,
    pub checks: Option<Vec<String>>,
    pub skip_checks: Option<Vec<String>>,
    pub fail_on: Option<String>,
    pub timeout: i64,
    pub details: bool,
}

/// Runs the module as Ansible calls it: arguments in, one JSON result out.
#[must_use]
pub fn run_module() -> std::process::ExitCode {
    ansible_module::run(&SPEC, |params, ctx| ensure(&params, ctx))
}

/// The module: collect, pair, judge, report.
pub fn ensure(params: &Params, ctx: &mut Ctx) -> Result<ModuleResult, Failure> {
    ensure_in(params, ctx, &Roots::host())
}

/// [`ensure`] with `/proc` and `/sys` at `roots`.
pub fn ensure_in(params: &Params, _ctx: &mut Ctx, roots: &Roots) -> Result<ModuleResult, Failure> {
    let Wanted {
        expected,
        only,
        skip,
        fail_on,
        timeout,
    } = Wanted::from_params(params)?;
    let sources = Sources {
        ovsdb: params.ovsdb.clone(),
        timeout,
        qemu_conf: params.qemu_conf_path.clone(),
        sysconfig: params.sysconfig_path.clone(),
        hugepages: params.hugepages_path.clone(),
        proc_root: roots.proc.to_string_lossy().into_owned(),
        sys_root: roots.sys.to_string_lossy().into_owned(),
        libvirt: match &params.libvirt_xml_dir {
            Some(dir) => LibvirtSource::XmlDir(dir.clone()),
            None => LibvirtSource::Virsh {
                command: params.virsh_command.clone(),
                uri: params.libvirt_uri.clone(),
            },
        },
    };
    let mut facts = collect::collect(&sources, &expected);
    let live: Vec<_> = facts
        .domains
        .iter()
        .flatten()
        .map(|d| live_swap::assess(&facts, &expected, d))
        .collect();
    for (domain, verdict) in facts.domains.iter_mut().flatten().zip(live) {
        domain.live_swap = verdict;
    }
    let pairs = pairing::pair(&facts, &expected.ovs_rundir);
    let findings: Vec<Finding> = checks::run(&facts, &expected, &pairs)
        .into_iter()
        .filter(|f| only.as_ref().is_none_or(|o| o.contains(&f.id)) && !skip.contains(&f.id))
        .collect();
    let verdict = verdict::verdict(&facts, &pairs, &findings);

    let groups = finding::group(&findings);

    let mut result = ModuleResult::new(false);
    result.msg = Some(summary(&verdict, &findings, &groups));
    shape::fill(
        &mut result,
        &facts,
        &verdict,
        &groups,
        &pairs,
        params.details,
    );
    if let Some(level) = fail_on {
        let count = findings.iter().filter(|f| f.severity >= level).count();
        let failing: Vec<String> = groups
            .iter()
            .filter(|g| g.severity >= level)
            .map(|g| format!("{} ({})", g.id, shape::short_list(&g.subjects)))
            .collect();
        if !failing.is_empty() {
            return Err(Failure::with_result(
                format!(
                    "{count} finding(s) at or above {}: {}",
                    level.as_str(),
                    failing.join(", ")
                ),
                result,
            ));
        }
    }
    Ok(result)
}

fn summary(verdict: &verdict::Verdict, findings: &[Finding], groups: &[FindingGroup]) -> String {
    let worst = findings.iter().map(|f| f.severity).max();
    format!(
        "mode {}; {}; {} finding(s) of {} kind(s){}",
        verdict.mode,
        if verdict.ready_for_client_mode {
            "ready for dpdkvhostuserclient"
        } else {
            "not ready for dpdkvhostuserclient"
        },
        findings.len(),
        groups.len(),
        worst.map_or_else(String::new, |w| format!(
            ", the worst {}",
            serde_json::to_value(w)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("")
        ))
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod ensure_tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use serde_json::{Value, json};

    use super::*;

    fn params(dir: &Path) -> Params {
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let raw = json!({
            "ovsdb": format!("unix:{}", path("db.sock")),
            "ovs_rundir": path("run"),
            "virsh_command": [path("no-virsh")],
            "qemu_conf_path": path("qemu.conf"),
            "sysconfig_path": path("openvswitch"),
            "socket_dir": path("vhost_sockets"),
            "hugepages_path": path("hugepages"),
            "ovs_paths": [path("etc-openvswitch")],
        });
        let validated = ansible_module::validate(&SPEC, raw.as_object().unwrap().clone(), false)
            .expect("valid options");
        serde_json::from_value(Value::Object(validated.params)).unwrap()
    }

    /// A made-up `/proc` with one ovs-vswitchd, and a `/sys` with selinuxfs mounted or not.
    fn roots(dir: &Path, selinux: bool) -> Roots {
        let proc = dir.join("proc");
        let pid = proc.join("4242");
        std::fs::create_dir_all(&pid).unwrap();
        std::fs::write(
            pid.join("status"),
            "Name:\tovs-vswitchd\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t0\n",
        )
        .unwrap();
        let sys = dir.join(format!("sys-{selinux}"));
        std::fs::create_dir_all(sys.join("fs/selinux")).unwrap();
        if selinux {
            std::fs::write(sys.join("fs/selinux/enforce"), "1\n").unwrap();
        }
        Roots { proc, sys }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("info-ensure-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_audit_reads_proc_and_sys_where_it_is_told() {
        let dir = scratch("roots");
        for selinux in [false, true] {
            let result = ensure_in(&params(&dir), &mut Ctx::default(), &roots(&dir, selinux))
                .unwrap()
                .to_json(false, false, &BTreeSet::new());
            assert_eq!(result["changed"], json!(false));
            assert_eq!(
                result["processes"]["ovs"][0]["pid"],
                json!(4242),
                "{result}"
            );
            assert_eq!(result["processes"]["qemu"], json!([]));
            assert_eq!(
                result["selinux"],
                json!(if selinux { "enabled" } else { "not enabled" }),
                "{result}"
            );
            assert!(result["unavailable"]["ovsdb"].is_string(), "{result}");
            assert_eq!(result["verdict"]["ready_for_client_mode"], json!(false));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
