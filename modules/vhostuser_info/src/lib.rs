//! `nfv.vhostuser.vhostuser_info`: the read-only audit of one node. It collects what Open
//! vSwitch, libvirt, the running processes and the configuration files say, pairs every OvS
//! vhost-user interface with its VM, and reports every known way the two sides break, with the
//! fix, and whether the node is ready for `dpdkvhostuserclient`. It never changes anything.

mod domains;
mod shape;

use ansible_module::{ArgSpec, Ctx, Failure, Kind, Lit, ModuleResult, Opt};
use serde::Deserialize;
use serde_json::Value;
use vhostuser::audit::checks::{self, CATALOGUE};
use vhostuser::audit::collect::{self, Sources};
use vhostuser::audit::facts::Expected;
use vhostuser::audit::{Finding, FindingGroup, Severity, finding, pairing, verdict};

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
    Opt::new("fail_on", Kind::Str).choices(&["info", "warning", "error", "critical"]),
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

fn expected(params: &Params) -> Result<Expected, Failure> {
    let (mode, _) = ansible_module::file_mode::parse("socket_mode", &params.socket_mode)
        .map_err(Failure::new)?;
    let gid = u32::try_from(params.gid)
        .map_err(|_| Failure::new(format!("gid {} is not a group id", params.gid)))?;
    Ok(Expected {
        group: params.group.clone(),
        gid,
        socket_dir: params.socket_dir.clone(),
        socket_dir_owner: params.socket_owner.clone(),
        socket_dir_mode: mode,
        setype: params.setype.clone(),
        ovs_rundir: params.ovs_rundir.clone(),
        ovs_paths: params.ovs_paths.clone(),
    })
}

/// Check ids must be known: a typo would silently select nothing.
fn selected(params: &Params) -> Result<Option<Vec<String>>, Failure> {
    let known: Vec<&str> = CATALOGUE.iter().map(|c| c.id).collect();
    for id in params
        .checks
        .iter()
        .chain(params.skip_checks.iter())
        .flatten()
    {
        if !known.contains(&id.as_str()) {
            return Err(Failure::new(format!(
                "unknown check id '{id}'; the checks are: {}",
                known.join(", ")
            )));
        }
    }
    Ok(params.checks.clone())
}

fn keep(finding: &Finding, only: Option<&[String]>, skip: &[String]) -> bool {
    only.is_none_or(|o| o.iter().any(|id| id == finding.id))
        && !skip.iter().any(|id| id == finding.id)
}

/// The module: collect, pair, judge, report.
pub fn ensure(params: &Params, _ctx: &mut Ctx) -> Result<ModuleResult, Failure> {
    let expected = expected(params)?;
    let only = selected(params)?;
    let timeout = ansible_module::positive_seconds("timeout", params.timeout)?;
    let sources = Sources {
        ovsdb: params.ovsdb.clone(),
        timeout,
        qemu_conf: params.qemu_conf_path.clone(),
        sysconfig: params.sysconfig_path.clone(),
        hugepages: params.hugepages_path.clone(),
        proc_root: "/proc".into(),
    };
    let read = domains::read(params, timeout);
    let mut facts = collect::collect(&sources, &expected, read.domains);
    for (name, why) in read.broken {
        facts.unavailable.insert(format!("domain {name}"), why);
    }
    let pairs = pairing::pair(&facts, &expected.ovs_rundir);
    let skip = params.skip_checks.clone().unwrap_or_default();
    let findings: Vec<Finding> = checks::run(&facts, &expected, &pairs)
        .into_iter()
        .filter(|f| keep(f, only.as_deref(), &skip))
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
    if let Some(level) = params.fail_on.as_deref().and_then(Severity::parse) {
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
                    params.fail_on.as_deref().unwrap_or(""),
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
