//! Domains through virsh, in few processes however many domains there are: one lists the names
//! and their states, then a few dump every domain's XML side by side (one per 100 domains, no
//! more than the host's cores nor four at once, and one more per 48 KiB of script). virsh runs a
//! `;`-separated list of commands given as one argument on one connection, so a host with 500
//! domains costs three connections at most, not 501.

use std::ops::Range;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::domain::Domain;
use super::error::{DomainError, Error, serialize_outcome};
use super::process::{self, Finished, RunError, Sink};
use super::script::{self, Marker, SCRIPT_LIMIT};
use super::xml::parse_domain;

/// How to run virsh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Virsh {
    /// The program and its leading arguments: `["virsh"]`, or
    /// `["podman", "exec", "nova_libvirt", "virsh"]` where libvirt runs in a container.
    pub command: Vec<String>,
    /// `-c URI`: `qemu:///system`, or `test:///abs/path/node.xml` in tests. `None` lets virsh
    /// pick (`LIBVIRT_DEFAULT_URI`, then its built-in default).
    pub uri: Option<String>,
    /// `-r`: a read-only connection, which is all reading needs and which libvirt grants
    /// without the read-write socket's privileges.
    pub readonly: bool,
    /// How long one read may take (both processes of [`Virsh::read_domains`] together).
    pub timeout: Duration,
}

impl Virsh {
    /// A read-only `command -c uri`.
    #[must_use]
    pub fn new(command: &[String], uri: Option<&str>, timeout: Duration) -> Virsh {
        Virsh {
            command: command.to_vec(),
            uri: uri.map(str::to_owned),
            readonly: true,
            timeout,
        }
    }

    /// Every domain (`list --all --name`, virsh's order) with its state, in one process.
    pub fn list(&self) -> Result<Vec<Listed>, Error> {
        self.list_until(Instant::now() + self.timeout)
    }

    /// The XML of each of `names`, in one process (one more per 64 KiB of script, far beyond
    /// a thousand domains). The outcome of `names[i]` is at index `i`; one domain's failure
    /// does not stop the others.
    pub fn dump(&self, names: &[String]) -> Result<Vec<Result<Domain, DomainError>>, Error> {
        self.dump_until(names, Instant::now() + self.timeout)
    }

    /// [`Virsh::list`] then [`Virsh::dump`], within one [`Virsh::timeout`].
    pub fn read_domains(&self) -> Result<Vec<DomainRead>, Error> {
        let deadline = Instant::now() + self.timeout;
        let listed = self.list_until(deadline)?;
        let names: Vec<String> = listed.iter().map(|l| l.name.clone()).collect();
        let dumped = self.dump_until(&names, deadline)?;
        Ok(listed
            .into_iter()
            .zip(dumped)
            .map(|(l, domain)| DomainRead {
                name: l.name,
                state: l.state,
                domain,
            })
            .collect())
    }

    fn list_until(&self, deadline: Instant) -> Result<Vec<Listed>, Error> {
        let marker = Marker::new();
        let commands: Vec<&str> = std::iter::once("list --all --name")
            .chain(STATES.iter().map(|(_, command)| *command))
            .collect();
        let run = self.run(
            &script::script(commands.iter().copied().enumerate(), &marker),
            deadline,
        )?;
        let sections = script::split(&run.stdout, &marker, 0..commands.len());
        let names_of = |section: &Option<String>| -> Option<Vec<String>> {
            // `list --name` ends with an empty line even when there is no domain; a section
            // without it is a list that failed (its error went to stderr).
            let text = section.as_deref().filter(|t| t.ends_with('\n'))?;
            Some(
                text.split('\n')
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
        };
        let Some(names) = sections.first().and_then(names_of) else {
            return Err(Error::Output {
                command: self.describe(),
                detail: format!(
                    "'list --all --name' printed no list{}",
                    stderr_note(&run.stderr)
                ),
            });
        };
        // A state list that failed leaves its domains `Unknown`: the names are what matter.
        // By name, the first state list that names a domain wins (thousands of domains: a
        // map, not a search of every list for every name).
        let mut by_name: std::collections::HashMap<String, DomainState> =
            std::collections::HashMap::new();
        for ((state, _), section) in STATES.iter().zip(&sections[1..]) {
            for name in names_of(section).into_iter().flatten() {
                by_name.entry(name).or_insert(*state);
            }
        }
        Ok(names
            .into_iter()
            .map(|name| {
                let state = by_name.get(&name).copied().unwrap_or(DomainState::Unknown);
                Listed { name, state }
            })
            .collect())
    }

    fn dump_until(
        &self,
        names: &[String],
        deadline: Instant,
    ) -> Result<Vec<Result<Domain, DomainError>>, Error> {
        // A few processes at once: libvirtd answers them in parallel, and virsh's own parsing
        // of its argument grows faster than the argument, so several short scripts side by
        // side beat one long one (1,000 domains on two cores: 0.35 s in one, 0.28 s in two).
        let ranges = script::balanced_chunks(names, SCRIPT_LIMIT, dump_processes(names.len()));
        // Each worker runs the next script and parses each domain's XML as it arrives, so the
        // parsing overlaps the dumps rather than following them.
        let next = AtomicUsize::new(0);
        let dump = |range: &Range<usize>| -> Result<Vec<Result<Domain, DomainError>>, Error> {
            let script = script::dump_script(names, range.clone());
            let (parsed, stderr) =
                self.run_into(&script, None, deadline, ParsedDumps::default())?;
            Ok(attribute(&names[range.clone()], parsed, &stderr))
        };
        // One failure fails the read: the other workers then stop taking scripts.
        let failed = AtomicBool::new(false);
        let worker = || {
            let mut done = Vec::new();
            while !failed.load(Ordering::Relaxed) {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(range) = ranges.get(index) else {
                    break;
                };
                let dumped = dump(range);
                if dumped.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                done.push((index, dumped));
            }
            done
        };
        let mut done: Vec<(usize, Result<Vec<_>, Error>)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..ranges.len().min(PARALLEL_DUMPS))
                .map(|_| scope.spawn(worker))
                .collect();
            let mut done = Vec::with_capacity(ranges.len());
            for handle in workers {
                match handle.join() {
                    Ok(finished) => done.extend(finished),
                    Err(_) => done.push((
                        usize::MAX,
                        Err(Error::Output {
                            command: self.describe(),
                            detail: "the thread running it panicked".to_owned(),
                        }),
                    )),
                }
            }
            done
        });
        done.sort_by_key(|(index, _)| *index);
        let mut outcomes = Vec::with_capacity(names.len());
        for (_, dumped) in done {
            outcomes.extend(dumped?);
        }
        Ok(outcomes)
    }

    /// Runs `command [-r] [-c uri] script` and insists on exit status 0.
    fn run(&self, script: &str, deadline: Instant) -> Result<Output, Error> {
        self.run_with_input(script, None, deadline)
    }

    /// [`Virsh::run`] with `input` on virsh's stdin (for `define /dev/stdin`).
    pub(super) fn run_with_input(
        &self,
        script: &str,
        input: Option<Vec<u8>>,
        deadline: Instant,
    ) -> Result<Output, Error> {
        let (stdout, stderr) = self.run_into(script, input, deadline, Vec::new())?;
        Ok(Output {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr,
        })
    }

    /// [`Virsh::run_with_input`], with stdout fed to `sink` as it arrives; what the sink made
    /// of it, and stderr.
    fn run_into<S: Sink>(
        &self,
        script: &str,
        input: Option<Vec<u8>>,
        deadline: Instant,
        sink: S,
    ) -> Result<(S::Output, String), Error> {
        let mut argv = self.command.clone();
        if self.readonly {
            argv.push("-r".to_owned());
        }
        if let Some(uri) = &self.uri {
            argv.extend(["-c".to_owned(), uri.clone()]);
        }
        argv.push(script.to_owned());
        match process::run_into(&argv, input, deadline, sink) {
            Ok(Finished {
                status,
                stdout,
                stderr,
            }) => {
                let stderr = String::from_utf8_lossy(&stderr).into_owned();
                if status.code() == Some(127) {
                    return Err(Error::NotFound {
                        command: self.command.join(" "),
                        detail: format!("it exited 127{}", stderr_note(&stderr)),
                    });
                }
                if !status.success() {
                    return Err(Error::Failed {
                        command: self.describe(),
                        status: describe_status(status),
                        stderr,
                    });
                }
                Ok((stdout, stderr))
            }
            Err(RunError::Spawn(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::NotFound {
                    command: self.command.join(" "),
                    detail: format!(
                        "cannot run '{}': {e}",
                        self.command.first().map_or("", String::as_str)
                    ),
                })
            }
            Err(RunError::Spawn(source) | RunError::Wait(source)) => Err(Error::Io {
                command: self.describe(),
                source,
            }),
            Err(RunError::TimedOut { pid, stderr }) => Err(Error::Timeout {
                command: self.describe(),
                timeout: self.timeout,
                pid,
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            }),
        }
    }

    /// `command -r -c uri`, for messages.
    pub(super) fn describe(&self) -> String {
        let mut text = self.command.join(" ");
        if self.readonly {
            text.push_str(" -r");
        }
        if let Some(uri) = &self.uri {
            text.push_str(" -c ");
            text.push_str(uri);
        }
        text
    }
}

/// How many `dumpxml` processes run at once, at most.
const PARALLEL_DUMPS: usize = 4;

/// Below this many domains per process, another virsh's start and connection cost more than
/// the dumps it takes over.
const DOMAINS_PER_DUMP: usize = 100;

/// How many processes share the dumps of `domains` domains: one per [`DOMAINS_PER_DUMP`], no
/// more than the host has cores, nor [`PARALLEL_DUMPS`].
fn dump_processes(domains: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    domains
        .div_ceil(DOMAINS_PER_DUMP)
        .min(cores)
        .clamp(1, PARALLEL_DUMPS)
}

/// The state lists folded into the listing process. `--all` keeps old virsh from limiting
/// them to active domains.
const STATES: [(DomainState, &str); 4] = [
    (DomainState::Running, "list --all --name --state-running"),
    (DomainState::Paused, "list --all --name --state-paused"),
    (DomainState::ShutOff, "list --all --name --state-shutoff"),
    (DomainState::Other, "list --all --name --state-other"),
];

/// What virsh printed, as text.
#[derive(Debug)]
pub(super) struct Output {
    pub stdout: String,
    pub stderr: String,
}

fn stderr_note(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

fn describe_status(status: ExitStatus) -> String {
    status.to_string().replace(": ", " ")
}

/// One document of a dump, parsed as soon as it was complete; one that did not parse keeps its
/// text, to tell whose it is.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // nearly every document parses; boxing would cost each one
enum Dumped {
    Parsed(Domain),
    Broken { error: DomainError, text: String },
}

impl Dumped {
    fn parse(xml: String) -> Dumped {
        match parse_domain(&xml) {
            Ok(domain) => Dumped::Parsed(domain),
            Err(e) => Dumped::Broken {
                error: e.into(),
                text: xml,
            },
        }
    }

    /// Whether this is `name`'s document.
    fn is_of(&self, name: &str) -> bool {
        match self {
            Dumped::Parsed(domain) => domain.name == name,
            Dumped::Broken { text, .. } => {
                text.contains(&format!("<name>{}</name>", escape_text(name)))
            }
        }
    }

    /// The domain, if it is `name`'s.
    fn domain_of(self, name: &str) -> Result<Domain, DomainError> {
        match self {
            Dumped::Parsed(domain) if domain.name == name => Ok(domain),
            Dumped::Parsed(domain) => Err(DomainError::OtherDomain { found: domain.name }),
            Dumped::Broken { error, .. } => Err(error),
        }
    }
}

/// A dump's documents, each parsed as it arrives (see [`script::Documents`]).
#[derive(Debug, Default)]
struct ParsedDumps {
    split: script::Documents,
    parsed: Vec<Dumped>,
}

impl Sink for ParsedDumps {
    type Output = Vec<Dumped>;

    fn feed(&mut self, bytes: &[u8]) {
        let parsed = &mut self.parsed;
        self.split
            .feed(bytes, |xml| parsed.push(Dumped::parse(xml)));
    }

    fn finish(self) -> Vec<Dumped> {
        let mut parsed = self.parsed;
        self.split.finish(|xml| parsed.push(Dumped::parse(xml)));
        parsed
    }
}

/// Gives each name its document. virsh runs the dumps in order and prints nothing on stdout
/// for one that fails (its error, naming the domain in quotes, goes to stderr), so the
/// documents follow the names in order, minus the failed ones: a name that stderr names and
/// that is not the next document's is skipped as failed. A document for another name than
/// expected (virsh takes a name that is a number as an id) is reported as such.
fn attribute(
    names: &[String],
    docs: Vec<Dumped>,
    stderr: &str,
) -> Vec<Result<Domain, DomainError>> {
    let failed = |name: &str| stderr.contains(&format!("'{name}'"));
    let mut out = Vec::with_capacity(names.len());
    let mut docs = docs.into_iter().peekable();
    for name in names {
        let next = docs.peek();
        if failed(name) && !next.is_some_and(|doc| doc.is_of(name)) {
            out.push(Err(no_output(name, stderr)));
            continue;
        }
        out.push(
            docs.next()
                .map_or(Err(DomainError::Truncated), |doc| doc.domain_of(name)),
        );
    }
    out
}

/// `name` as XML text inside an element, the way libvirt writes it.
fn escape_text(name: &str) -> String {
    name.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Why `name` printed no XML: the stderr lines that name it in quotes, as virsh's errors do
/// ("failed to get domain 'x'"), or all of stderr when none does.
fn no_output(name: &str, stderr: &str) -> DomainError {
    let quoted = format!("'{name}'");
    let mut lines: Vec<&str> = stderr.lines().filter(|l| l.contains(&quoted)).collect();
    if lines.is_empty() {
        lines = stderr.lines().collect();
    }
    DomainError::NoOutput {
        stderr: lines.join("\n"),
    }
}

/// A domain's state, from the `list --state-*` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainState {
    Running,
    Paused,
    ShutOff,
    /// Any other state libvirt knows (crashed, pmsuspended, being shut down, ...).
    Other,
    /// In none of the state lists: it appeared between the lists, or they failed.
    Unknown,
}

/// A domain as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub name: String,
    pub state: DomainState,
}

/// A listed domain with its XML, or why that could not be read. Serialized as `name`,
/// `state`, `domain` and `error`, one of the last two null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRead {
    pub name: String,
    pub state: DomainState,
    pub domain: Result<Domain, DomainError>,
}

impl Serialize for DomainRead {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("DomainRead", 4)?;
        state.serialize_field("name", &self.name)?;
        state.serialize_field("state", &self.state)?;
        serialize_outcome(&mut state, &self.domain)?;
        state.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const XML: &str = "<domain><name>a</name></domain>\n";

    fn dumped(out: &str) -> Vec<Dumped> {
        script::documents(out)
            .into_iter()
            .map(Dumped::parse)
            .collect()
    }

    #[test]
    fn a_document_parses_or_says_why_not() {
        let names = ["a"].map(str::to_owned);
        assert_eq!(
            attribute(&names, dumped(XML), "")[0].as_ref().unwrap().name,
            "a"
        );
        assert_eq!(
            attribute(&names, Vec::new(), ""),
            vec![Err(DomainError::Truncated)]
        );
        assert_eq!(
            attribute(&["b".to_owned()], dumped(XML), ""),
            vec![Err(DomainError::OtherDomain {
                found: "a".to_owned()
            })]
        );
        let Err(DomainError::Xml(e)) = &attribute(&names, dumped("<domain>\n<name>"), "")[0] else {
            panic!("expected an XML error");
        };
        assert_eq!(e.line, 2);
    }

    #[test]
    fn a_failed_dump_keeps_the_stderr_lines_about_it() {
        let stderr = "error: failed to get domain 'gone'\nerror: failed to get domain 'other'\n";
        assert_eq!(
            no_output("gone", stderr),
            DomainError::NoOutput {
                stderr: "error: failed to get domain 'gone'".to_owned()
            }
        );
        assert_eq!(
            no_output("x", "error: boom\n"),
            DomainError::NoOutput {
                stderr: "error: boom".to_owned()
            }
        );
    }

    #[test]
    fn one_broken_dump_among_several() {
        let names = ["a", "b", "c"].map(str::to_owned);
        let out = "<domain><name>a</name></domain>\n<domain><name>b</name>\n<devices>\n\
                   <domain><name>c</name></domain>\n";
        let outcomes = attribute(&names, dumped(out), "");
        assert_eq!(outcomes[0].as_ref().unwrap().name, "a");
        assert_eq!(outcomes[2].as_ref().unwrap().name, "c");
        let Err(DomainError::Xml(e)) = &outcomes[1] else {
            panic!("{:?}", outcomes[1]);
        };
        assert!(e.message.contains("<devices>"), "{e}");
    }

    #[test]
    fn documents_follow_the_names_that_did_not_fail() {
        let names = ["a", "gone", "1", "c", "cut"].map(str::to_owned);
        // "1" is taken as an id and dumps "c"; "cut" never came (virsh stopped).
        let out = "<domain><name>a</name></domain>\n<domain><name>c</name></domain>\n\
                   <domain><name>c</name></domain>\n";
        let stderr = "error: failed to get domain 'gone'\n";
        let outcomes = attribute(&names, dumped(out), stderr);
        assert_eq!(outcomes[0].as_ref().unwrap().name, "a");
        assert_eq!(
            outcomes[1],
            Err(DomainError::NoOutput {
                stderr: "error: failed to get domain 'gone'".to_owned()
            })
        );
        assert_eq!(
            outcomes[2],
            Err(DomainError::OtherDomain {
                found: "c".to_owned()
            })
        );
        assert_eq!(outcomes[3].as_ref().unwrap().name, "c");
        assert_eq!(outcomes[4], Err(DomainError::Truncated));
    }

    #[test]
    fn a_failed_name_that_still_has_its_document_keeps_it() {
        // stderr quotes "a" for another reason (a warning), but its XML came.
        let names = ["a", "b"].map(str::to_owned);
        let out = "<domain><name>a</name></domain>\n<domain><name>b</name></domain>\n";
        let outcomes = attribute(&names, dumped(out), "warning: 'a' is old\n");
        assert_eq!(outcomes[0].as_ref().unwrap().name, "a");
        assert_eq!(outcomes[1].as_ref().unwrap().name, "b");
        // Even when that XML does not parse, its text says whose it is: a's XML error, not a
        // missing dump.
        let out = "<domain><name>a</name>\n<devices>\n<domain><name>b</name></domain>\n";
        let outcomes = attribute(&names, dumped(out), "warning: 'a' is old\n");
        assert!(
            matches!(&outcomes[0], Err(DomainError::Xml(_))),
            "{:?}",
            outcomes[0]
        );
        assert_eq!(outcomes[1].as_ref().unwrap().name, "b");
    }

    #[test]
    fn serializes_with_both_outcome_keys() {
        let read = DomainRead {
            name: "x".into(),
            state: DomainState::ShutOff,
            domain: Err(DomainError::Truncated),
        };
        let json = serde_json::to_value(&read).unwrap();
        assert_eq!(json["state"], "shut_off");
        assert!(json["domain"].is_null());
        assert!(json["error"].as_str().unwrap().contains("ended before"));
    }
}
