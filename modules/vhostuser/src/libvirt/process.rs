//! Runs one external command with a deadline. A command that does not finish in time is killed
//! with its whole process group, by the group id the child was given at spawn (its pid), never
//! by name, so a `sh -c` wrapper and what it started go too.

use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// How long to wait for the output pipes after the kill: a grandchild that left the process
/// group may hold them open forever, and the caller must not wait for it.
const DRAIN_AFTER_KILL: Duration = Duration::from_millis(200);

/// A command that ran to its end.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[derive(Debug)]
pub(crate) enum RunError {
    /// `spawn` failed; `NotFound` when the program does not exist.
    Spawn(io::Error),
    /// The deadline passed; the process group `pid` was sent SIGKILL.
    TimedOut { pid: u32, stderr: Vec<u8> },
    /// Waiting for the child failed (should not happen with a child we own).
    Wait(io::Error),
}

/// Runs `argv` with stdin from /dev/null and `LC_ALL=C` (messages in English, so they mean the
/// same to whoever reads the report), collecting its output until it exits or `deadline`.
#[cfg(test)]
pub(crate) fn run(argv: &[String], deadline: Instant) -> Result<Finished, RunError> {
    run_with_input(argv, None, deadline)
}

/// [`run`], with `input` written to the command's stdin (on a thread of its own, so that a
/// command that prints before it reads cannot block on a full pipe) and then closed.
pub(crate) fn run_with_input(
    argv: &[String],
    input: Option<Vec<u8>>,
    deadline: Instant,
) -> Result<Finished, RunError> {
    let Some((program, rest)) = argv.split_first() else {
        return Err(RunError::Spawn(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the command is empty",
        )));
    };
    let mut child = Command::new(program)
        .args(rest)
        .env("LC_ALL", "C")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a timeout can kill everything it started.
        .process_group(0)
        .spawn()
        .map_err(RunError::Spawn)?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        // A command that exits without reading gets EPIPE here, which only ends the thread.
        thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    let pipes = Pipes::start(&mut child);

    let mut stdout = None;
    let mut stderr = None;
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match pipes.rx.recv_timeout(left) {
            Ok((Stream::Out, bytes)) => stdout = Some(bytes),
            Ok((Stream::Err, bytes)) => stderr = Some(bytes),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    if stdout.is_some() && stderr.is_some() {
        // Both pipes are closed: the child has exited or is about to.
        loop {
            if let Some(status) = child.try_wait().map_err(RunError::Wait)? {
                return Ok(Finished {
                    status,
                    stdout: stdout.unwrap_or_default(),
                    stderr: stderr.unwrap_or_default(),
                });
            }
            if Instant::now() >= deadline {
                break;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }
    let pid = child.id();
    kill_group(&mut child);
    // Reap it; SIGKILL cannot be ignored, so this returns.
    let _ = child.wait();
    let stderr = stderr.or_else(|| pipes.stderr_within(DRAIN_AFTER_KILL));
    Err(RunError::TimedOut {
        pid,
        stderr: stderr.unwrap_or_default(),
    })
}

/// SIGKILL to the child's process group. The child is not reaped yet, so its pid (which is
/// the group id) cannot have been reused by an unrelated process.
fn kill_group(child: &mut Child) {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else {
        let _ = child.kill();
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of this process.
    let sent = unsafe { libc::kill(-pgid, libc::SIGKILL) };
    if sent != 0 {
        // The group is gone already (only the zombie leader is left): kill the child itself,
        // which is harmless for a zombie.
        let _ = child.kill();
    }
}

#[derive(Debug, Clone, Copy)]
enum Stream {
    Out,
    Err,
}

/// The child's stdout and stderr, each read to its end on its own thread, so that neither can
/// fill up and block the child while the other is read.
struct Pipes {
    rx: Receiver<(Stream, Vec<u8>)>,
}

impl Pipes {
    fn start(child: &mut Child) -> Pipes {
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            drain(out, Stream::Out, tx.clone());
        }
        if let Some(err) = child.stderr.take() {
            drain(err, Stream::Err, tx);
        }
        Pipes { rx }
    }

    /// stderr, if its reader finishes within `wait`.
    fn stderr_within(&self, wait: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok((Stream::Err, bytes)) => return Some(bytes),
                Ok((Stream::Out, _)) => {}
                Err(_) => return None,
            }
        }
    }
}

/// Reads `pipe` to its end on a detached thread and sends what it read. A read error ends the
/// stream early; what was read so far still counts.
fn drain(
    mut pipe: impl Read + Send + 'static,
    stream: Stream,
    tx: mpsc::Sender<(Stream, Vec<u8>)>,
) {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        // The receiver is gone when the run timed out; nobody needs the bytes then.
        let _ = tx.send((stream, bytes));
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn collects_both_streams_and_the_status() {
        let done = run(
            &argv(&["sh", "-c", "echo out; echo err >&2; exit 3"]),
            soon(),
        )
        .unwrap();
        assert_eq!(done.stdout, b"out\n");
        assert_eq!(done.stderr, b"err\n");
        assert_eq!(done.status.code(), Some(3));
    }

    #[test]
    fn input_reaches_stdin_even_past_a_pipe_buffer() {
        let input = vec![b'x'; 1_000_000];
        let done = run_with_input(&argv(&["wc", "-c"]), Some(input), soon()).unwrap();
        assert_eq!(String::from_utf8_lossy(&done.stdout).trim(), "1000000");
        let ignored = run_with_input(&argv(&["true"]), Some(vec![b'x'; 1_000_000]), soon());
        assert!(ignored.unwrap().status.success(), "EPIPE is not an error");
    }

    #[test]
    fn large_output_on_both_streams_does_not_deadlock() {
        let script = "head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2";
        let done = run(&argv(&["sh", "-c", script]), soon()).unwrap();
        assert_eq!(
            (done.stdout.len(), done.stderr.len()),
            (1_000_000, 1_000_000)
        );
    }

    #[test]
    fn a_missing_program_is_not_found() {
        let err = run(&argv(&["/nonexistent/virsh"]), soon()).unwrap_err();
        assert!(
            matches!(&err, RunError::Spawn(e) if e.kind() == io::ErrorKind::NotFound),
            "{err:?}"
        );
    }

    #[test]
    fn an_empty_command_is_refused() {
        assert!(matches!(run(&[], soon()), Err(RunError::Spawn(_))));
    }

    #[test]
    fn a_hang_is_killed_with_its_children() {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(300);
        // The shell stays (two commands), so `sleep` is a grandchild holding the pipes.
        let err = run(
            &argv(&["sh", "-c", "echo started >&2; sleep 100; true"]),
            deadline,
        )
        .unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        let RunError::TimedOut { stderr, .. } = err else {
            panic!("{err:?}");
        };
        assert_eq!(stderr, b"started\n");
    }
}
