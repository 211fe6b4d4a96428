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

/// A command that ran to its end, with what its stdout became (the bytes, or what a
/// [`Sink`] made of them).
#[derive(Debug)]
pub(crate) struct Finished<O = Vec<u8>> {
    pub status: ExitStatus,
    pub stdout: O,
    pub stderr: Vec<u8>,
}

/// Takes a command's stdout as it arrives, so that work on it (parsing) overlaps the command's
/// own run instead of following it.
pub(crate) trait Sink: Send + 'static {
    type Output: Send + 'static;
    fn feed(&mut self, bytes: &[u8]);
    /// At the end of the stream (or at a read error: what was read so far still counts).
    fn finish(self) -> Self::Output;
}

/// The bytes, kept as they are.
impl Sink for Vec<u8> {
    type Output = Vec<u8>;

    fn feed(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    fn finish(self) -> Vec<u8> {
        self
    }
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
    run_into(argv, None, deadline, Vec::new())
}

/// [`run`], with `input` written to the command's stdin (on a thread of its own, so that a
/// command that prints before it reads cannot block on a full pipe) and then closed, and
/// stdout fed to `sink` as it arrives.
pub(crate) fn run_into<S: Sink>(
    argv: &[String],
    input: Option<Vec<u8>>,
    deadline: Instant,
    sink: S,
) -> Result<Finished<S::Output>, RunError> {
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
    let pipes = Pipes::start(&mut child, sink);

    let mut stdout = None;
    let mut stderr = None;
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match pipes.rx.recv_timeout(left) {
            Ok(Drained::Out(out)) => stdout = Some(out),
            Ok(Drained::Err(bytes)) => stderr = Some(bytes),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    if let (Some(out), Some(err)) = (stdout, stderr.take()) {
        // Both pipes are closed: the child has exited or is about to.
        loop {
            if let Some(status) = child.try_wait().map_err(RunError::Wait)? {
                return Ok(Finished {
                    status,
                    stdout: out,
                    stderr: err,
                });
            }
            if Instant::now() >= deadline {
                stderr = Some(err);
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

/// What one pipe's reader sends when its pipe is closed.
enum Drained<O> {
    Out(O),
    Err(Vec<u8>),
}

/// The child's stdout and stderr, each read to its end on its own thread, so that neither can
/// fill up and block the child while the other is read.
struct Pipes<O> {
    rx: Receiver<Drained<O>>,
}

impl<O: Send + 'static> Pipes<O> {
    fn start<S: Sink<Output = O>>(child: &mut Child, sink: S) -> Pipes<O> {
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            drain(out, sink, Drained::Out, tx.clone());
        }
        if let Some(err) = child.stderr.take() {
            drain(err, Vec::new(), Drained::Err, tx);
        }
        Pipes { rx }
    }

    /// stderr, if its reader finishes within `wait`.
    fn stderr_within(&self, wait: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Drained::Err(bytes)) => return Some(bytes),
                Ok(Drained::Out(_)) => {}
                Err(_) => return None,
            }
        }
    }
}

/// Feeds `pipe` to `sink` until it ends, on a detached thread, and sends what the sink made of
/// it. A read error ends the stream early; what was read so far still counts.
fn drain<S: Sink, O: Send + 'static>(
    mut pipe: impl Read + Send + 'static,
    mut sink: S,
    wrap: fn(S::Output) -> Drained<O>,
    tx: mpsc::Sender<Drained<O>>,
) {
    thread::spawn(move || {
        let mut buf = vec![0; 64 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => sink.feed(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        // The receiver is gone when the run timed out; nobody needs the output then.
        let _ = tx.send(wrap(sink.finish()));
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
        let done = run_into(&argv(&["wc", "-c"]), Some(input), soon(), Vec::new()).unwrap();
        assert_eq!(String::from_utf8_lossy(&done.stdout).trim(), "1000000");
        let ignored = run_into(
            &argv(&["true"]),
            Some(vec![b'x'; 1_000_000]),
            soon(),
            Vec::new(),
        );
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
