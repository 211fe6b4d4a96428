//! `nfv.vhostuser.qemu_conf`: ensures settings in libvirt's qemu.conf, above all the `group`
//! QEMU runs as, which must be the group that owns the vhost-user sockets (`hugetlbfs`).
//!
//! The file is read as libvirt's virconf reads it: the first active occurrence of a key is the
//! one libvirt uses, so a setting is rewritten where libvirt will see it and later duplicates
//! are commented out. Every other byte of the file stays as it was.

use std::path::Path;

use ansible_module::{
    ArgSpec, Ctx, Edit, Failure, FileEdit, Kind, Lit, Missing, ModuleResult, Opt, unparsable,
};
use serde_json::{Map, Value};
use vhostuser::identity::LibvirtId;
use vhostuser::qemu_conf::{self, Applied, Desired, Document};

mod secrets;
mod wanted;

const OPTIONS: &[Opt] = &[
    Opt::new("path", Kind::Path).default(Lit::Str("/etc/libvirt/qemu.conf")),
    Opt::new("user", Kind::Str),
    Opt::new("group", Kind::Str),
    Opt::new("settings", Kind::Dict),
    Opt::new("state", Kind::Str)
        .choices(&["present", "absent"])
        .default(Lit::Str("present")),
    Opt::new("backup", Kind::Bool).default(Lit::Bool(false)),
    Opt::new("create", Kind::Bool).default(Lit::Bool(false)),
];

/// The module's argument spec; `plugins/modules/qemu_conf.yml` documents exactly these options.
pub const SPEC: ArgSpec = ArgSpec::new(OPTIONS).required_one_of(&[&["user", "group", "settings"]]);

/// A new qemu.conf may hold passwords (VNC, SPICE), so only root reads it, as packaged.
const NEW_FILE_MODE: u32 = 0o600;

pub use wanted::{Params, State};

/// What to do when the file does not exist: nothing to comment out for `absent`, a new file
/// with `create`, and otherwise the reason to stop.
fn missing(path: &Path, params: &Params) -> Missing {
    if params.state == State::Absent || params.create {
        return Missing::Allow;
    }
    Missing::Refuse(format!(
        "{} does not exist; set create: true to create it, or give the right path (TripleO \
         keeps nova_libvirt's copy under /var/lib/config-data/puppet-generated/nova_libvirt/etc/libvirt/)",
        path.display()
    ))
}

/// A user or group that does not resolve here is only a warning: TripleO's copy of qemu.conf
/// is read inside the `nova_libvirt` container, whose users the host may not have.
fn check_identity(key: &str, value: &qemu_conf::Value, path: &str) -> Option<String> {
    let qemu_conf::Value::Str(name) = value else {
        return None;
    };
    // "+107" is a numeric id by libvirt's rule, and a bare "107" falls back to one when no
    // such name exists: neither needs a name.
    if LibvirtId::parse(name).number().is_some() {
        return None;
    }
    let known = match key {
        "user" => nix::unistd::User::from_name(name).ok().flatten().is_some(),
        "group" => nix::unistd::Group::from_name(name).ok().flatten().is_some(),
        _ => return None,
    };
    (!known).then(|| {
        format!(
            "{key} '{name}' set in {path} does not exist on this host; QEMU will not start with it \
             unless it exists where libvirt runs (for example inside the nova_libvirt container)"
        )
    })
}

/// Runs the module as Ansible calls it: arguments in, one JSON result out.
#[must_use]
pub fn run_module() -> std::process::ExitCode {
    ansible_module::run(&SPEC, |params, ctx| ensure(&params, ctx))
}

/// The module: bring the file to the wanted settings.
pub fn ensure(params: &Params, ctx: &mut Ctx) -> Result<ModuleResult, Failure> {
    if params.path.is_empty() {
        return Err(Failure::new("path is empty; give the path of qemu.conf"));
    }
    let path = Path::new(&params.path);
    let display = path.display().to_string();
    for secret in secrets::wanted(params, ctx.no_log) {
        ctx.hide(secret);
    }
    let file = FileEdit {
        path,
        what: "the qemu.conf file",
        new_mode: NEW_FILE_MODE,
        backup: params.backup,
        missing: missing(path, params),
    };
    let mut result = ModuleResult::new(false);
    let mut found = Vec::new();
    let edited = ctx.edit_file(&file, &mut result, |before| {
        let bytes = before.unwrap_or_default();
        found.extend(secrets::in_file(bytes, params, ctx.no_log));
        let parsed: Document = qemu_conf::parse(bytes).map_err(|e| unparsable(path, e))?;
        let wanted = wanted::wanted(params, &parsed)?;
        let applied: Applied = qemu_conf::apply(bytes, &wanted)
            .map_err(|e| Failure::new(format!("{display}: {e}")))?;
        // A missing file with only keys to remove needs no file.
        let write = applied.changed && (before.is_some() || params.state == State::Present);
        Ok(Edit {
            content: write.then(|| applied.content.clone()),
            outcome: (parsed, wanted, applied),
        })
    });
    for secret in found {
        ctx.hide(secret);
    }
    let edited = edited?;
    let (parsed, wanted, applied) = edited.outcome;
    let duplicates = parsed.duplicates();
    result.changed = edited.changed;

    let managed = |key: &str| wanted.iter().any(|(k, _)| k == key);
    for dup in duplicates.iter().filter(|d| !managed(&d.key)) {
        result.warn(format!(
            "{display}: '{}' is set on lines {}; libvirt uses only the first",
            dup.key,
            join_lines(&dup.lines)
        ));
    }
    for dup in &applied.commented_duplicates {
        result.warn(format!(
            "{display}: {} '{}' on line(s) {}: libvirt ignores every occurrence but the first, so \
             they only mislead readers",
            if ctx.check_mode {
                "would comment out"
            } else {
                "commented out"
            },
            dup.key,
            join_lines(&dup.lines)
        ));
    }
    if params.state == State::Present {
        for (key, value) in applied
            .values
            .iter()
            .filter_map(|(k, v)| Some((k, v.as_ref()?)))
        {
            if let Some(warning) = check_identity(key, value, &display) {
                result.warn(warning);
            }
        }
    }
    if edited.changed {
        let keys = changed_keys(&wanted, &parsed, &applied);
        result.msg = Some(format!(
            "{display}: {} {}; restart libvirtd (or virtqemud) so that QEMU processes started \
             afterwards use it",
            keys.join(", "),
            if ctx.check_mode {
                "would change"
            } else {
                "changed"
            }
        ));
    }
    let effective: Map<String, Value> = applied
        .values
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_ref().map_or(Value::Null, qemu_conf::Value::to_json),
            )
        })
        .collect();
    result
        .set("path", &display)
        .set("effective", effective)
        .set("duplicates", &duplicates);
    Ok(result)
}

/// The managed keys whose lines the run rewrote: a new value, or duplicates commented out.
fn changed_keys<'a>(
    wanted: &'a [(String, Desired)],
    before: &Document,
    applied: &Applied,
) -> Vec<&'a str> {
    wanted
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| {
            let now = applied.values.get(*k).and_then(Option::as_ref);
            let duplicated = applied.commented_duplicates.iter().any(|d| d.key == *k);
            before.get(k) != now
                || duplicated
                || before.entries().filter(|e| e.key == *k).count() > 1
        })
        .collect()
}

fn join_lines(lines: &[usize]) -> String {
    lines
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
