//! Changing one domain through virsh: read its persistent definition and its running form in
//! one process, define it again from stdin, and shut it down, power it off or start it. These
//! need a read-write connection ([`Virsh::readonly`] false): `--security-info` and every
//! change are refused on a read-only one.

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use super::error::Error;
use super::script::{self, Marker, quote};
use super::virsh::Virsh;

/// What `virsh dominfo` says about a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainInfo {
    /// It has a QEMU process (running, paused, ...): `Id` is a number, not `-`.
    pub active: bool,
    /// It has a persistent definition; a transient domain is forgotten when it stops.
    pub persistent: bool,
    /// `State`, as virsh prints it: `running`, `shut off`, `paused`, ...
    pub state: String,
}

/// A domain as one virsh process read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub info: DomainInfo,
    /// `dumpxml --inactive --security-info`: the definition the next start uses, with the
    /// passwords a redefinition must keep.
    pub inactive_xml: String,
    /// `dumpxml`: what the running QEMU was started with (the definition when inactive).
    pub live_xml: String,
}

/// Why a change through virsh failed.
#[derive(Debug)]
pub enum ManageError {
    /// virsh itself could not run, timed out or could not connect.
    Virsh(Error),
    /// No domain has this name.
    NoDomain { name: String, stderr: String },
    /// A command ran but failed; `stderr` is virsh's error.
    Command { command: String, stderr: String },
}

impl fmt::Display for ManageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManageError::Virsh(e) => e.fmt(f),
            ManageError::NoDomain { name, stderr } => {
                write!(f, "domain '{name}' does not exist")?;
                if !stderr.trim().is_empty() {
                    write!(f, " ({})", stderr.trim())?;
                }
                Ok(())
            }
            ManageError::Command { command, stderr } => {
                write!(f, "virsh {command} failed: ")?;
                if stderr.trim().is_empty() {
                    write!(f, "it printed no error")
                } else {
                    write!(f, "{}", stderr.trim())
                }
            }
        }
    }
}

impl std::error::Error for ManageError {}

impl From<Error> for ManageError {
    fn from(e: Error) -> Self {
        ManageError::Virsh(e)
    }
}

/// How often the state is read while waiting for a shutdown.
const POLL: Duration = Duration::from_millis(500);

impl Virsh {
    /// The domain's state, persistent definition and running form, in one virsh process.
    pub fn snapshot(&self, name: &str) -> Result<Snapshot, ManageError> {
        let marker = Marker::new();
        let commands = [
            format!("dominfo -- {}", quote(name)),
            format!("dumpxml --inactive --security-info -- {}", quote(name)),
            format!("dumpxml -- {}", quote(name)),
        ];
        let script = script::script(
            commands.iter().enumerate().map(|(i, c)| (i, c.as_str())),
            &marker,
        );
        let run = self.run_with_input(&script, None, Instant::now() + self.timeout)?;
        let mut sections = script::split(&run.stdout, &marker, 0..commands.len()).into_iter();
        let about = |section: Option<Option<String>>, command: &str| {
            section
                .flatten()
                .filter(|text| !text.trim().is_empty())
                .ok_or_else(|| ManageError::Command {
                    command: command.to_owned(),
                    stderr: lines_about(&run.stderr, name),
                })
        };
        let info_text = sections.next().flatten().unwrap_or_default();
        let Some(info) = parse_dominfo(&info_text) else {
            let stderr = lines_about(&run.stderr, name);
            if stderr.contains("failed to get domain") {
                return Err(ManageError::NoDomain {
                    name: name.to_owned(),
                    stderr,
                });
            }
            return Err(ManageError::Command {
                command: commands[0].clone(),
                stderr,
            });
        };
        let inactive_xml = about(sections.next(), &commands[1])?;
        let live_xml = about(sections.next(), &commands[2])?;
        Ok(Snapshot {
            info,
            inactive_xml,
            live_xml,
        })
    }

    /// `virsh define` of `xml` (through stdin, so that it works inside a container too, where
    /// the wrapper passes stdin on: `podman exec -i`), then the definition libvirt now holds,
    /// in the same process.
    pub fn define(&self, name: &str, xml: &str) -> Result<String, ManageError> {
        let marker = Marker::new();
        let commands = [
            "define /dev/stdin".to_owned(),
            format!("dumpxml --inactive --security-info -- {}", quote(name)),
        ];
        let script = script::script(
            commands.iter().enumerate().map(|(i, c)| (i, c.as_str())),
            &marker,
        );
        let run = self.run_with_input(
            &script,
            Some(xml.as_bytes().to_vec()),
            Instant::now() + self.timeout,
        )?;
        let sections = script::split(&run.stdout, &marker, 0..commands.len());
        let defined = sections[0]
            .as_deref()
            .is_some_and(|text| text.contains(" defined from "));
        if !defined {
            return Err(ManageError::Command {
                command: commands[0].clone(),
                stderr: run.stderr,
            });
        }
        sections[1]
            .clone()
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| ManageError::Command {
                command: commands[1].clone(),
                stderr: run.stderr,
            })
    }

    /// The domain's state now.
    pub fn info(&self, name: &str) -> Result<DomainInfo, ManageError> {
        let command = format!("dominfo -- {}", quote(name));
        let run = self.one(&command)?;
        parse_dominfo(&run).ok_or_else(|| ManageError::Command {
            command,
            stderr: format!("unexpected output: {}", run.trim()),
        })
    }

    /// `virsh shutdown`: asks the guest to power off (ACPI power button, or the guest agent
    /// when the domain has one) and returns at once.
    pub fn shutdown(&self, name: &str) -> Result<(), ManageError> {
        self.one(&format!("shutdown -- {}", quote(name))).map(drop)
    }

    /// `virsh destroy`: powers the domain off at once, as pulling the plug would.
    pub fn destroy(&self, name: &str) -> Result<(), ManageError> {
        self.one(&format!("destroy -- {}", quote(name))).map(drop)
    }

    /// `virsh start`.
    pub fn start(&self, name: &str) -> Result<(), ManageError> {
        self.one(&format!("start -- {}", quote(name))).map(drop)
    }

    /// Waits until the domain is no longer active, reading its state twice a second; `false`
    /// when it still is after `timeout`.
    pub fn wait_inactive(&self, name: &str, timeout: Duration) -> Result<bool, ManageError> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.info(name)?.active {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    /// `virsh version`: the libvirt library's version (`Using library: libvirt 9.0.0`) and the
    /// running hypervisor's (`Running hypervisor: QEMU 10.0.2`), when virsh prints them.
    pub fn versions(&self) -> Result<(Option<String>, Option<String>), ManageError> {
        let text = self.one("version")?;
        let after = |prefix: &str| {
            text.lines().find_map(|line| {
                let rest = line.trim().strip_prefix(prefix)?;
                rest.split_whitespace().last().map(str::to_owned)
            })
        };
        Ok((after("Using library:"), after("Running hypervisor:")))
    }

    /// `virsh dumpxml`: the running domain as QEMU runs it now.
    pub fn live_xml(&self, name: &str) -> Result<String, ManageError> {
        self.one(&format!("dumpxml -- {}", quote(name)))
    }

    /// `virsh attach-device` or `detach-device` (`verb`) of the device `xml` (through stdin) on
    /// the running domain only, bounded by `timeout`: a virsh still waiting then is killed and
    /// the error is [`Error::Timeout`] (libvirt may still finish the job).
    pub fn live_device(
        &self,
        verb: &str,
        name: &str,
        xml: &str,
        timeout: Duration,
    ) -> Result<(), ManageError> {
        let command = format!("{verb} --live -- {} /dev/stdin", quote(name));
        match self.run_with_input(
            &command,
            Some(xml.as_bytes().to_vec()),
            Instant::now() + timeout,
        ) {
            Ok(_) => Ok(()),
            Err(Error::Failed { stderr, .. }) => Err(ManageError::Command { command, stderr }),
            Err(e) => Err(ManageError::Virsh(e)),
        }
    }

    /// One command in its own process; its stdout, or its error.
    fn one(&self, command: &str) -> Result<String, ManageError> {
        match self.run_with_input(command, None, Instant::now() + self.timeout) {
            Ok(output) => Ok(output.stdout),
            Err(Error::Failed { stderr, .. }) => Err(ManageError::Command {
                command: command.to_owned(),
                stderr,
            }),
            Err(e) => Err(ManageError::Virsh(e)),
        }
    }
}

/// virsh's error lines about `name` (it quotes the name in them), or all of them; each once,
/// since every command of a script repeats "failed to get domain".
fn lines_about(stderr: &str, name: &str) -> String {
    let quoted = format!("'{name}'");
    let mut about: Vec<&str> = Vec::new();
    for line in stderr.lines().filter(|l| l.contains(&quoted)) {
        if !about.contains(&line) {
            about.push(line);
        }
    }
    if about.is_empty() {
        stderr.trim().to_owned()
    } else {
        about.join("\n")
    }
}

/// `Key:   value` lines; `None` unless `Name`, `Id`, `State` and `Persistent` are all there.
fn parse_dominfo(text: &str) -> Option<DomainInfo> {
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    };
    field("Name")?;
    Some(DomainInfo {
        active: field("Id")? != "-",
        persistent: field("Persistent")? == "yes",
        state: field("State")?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dominfo_says_state_and_persistence() {
        let running = "Id:             1\nName:           test\nState:          running\n\
                       Persistent:     yes\nSecurity DOI:   \n";
        assert_eq!(
            parse_dominfo(running),
            Some(DomainInfo {
                active: true,
                persistent: true,
                state: "running".to_owned()
            })
        );
        let off =
            "Id:             -\nName:           vm\nState:          shut off\nPersistent:     no\n";
        let info = parse_dominfo(off).unwrap();
        assert!(!info.active && !info.persistent);
        assert_eq!(info.state, "shut off");
        assert_eq!(parse_dominfo(""), None);
        assert_eq!(parse_dominfo("Name: x\nId: 1\n"), None);
    }

    #[test]
    fn errors_about_the_domain_are_kept() {
        let stderr =
            "error: failed to get domain 'vm1'\nerror: other\nerror: failed to get domain 'vm1'\n";
        assert_eq!(
            lines_about(stderr, "vm1"),
            "error: failed to get domain 'vm1'"
        );
        assert_eq!(lines_about("error: boom\n", "vm1"), "error: boom");
    }
}
