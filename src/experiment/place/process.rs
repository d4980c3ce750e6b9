//! A started tool: its output collected line by line, started in a process group of its own,
//! awaited with a deadline, interrupted so that it prints a partial summary, killed when
//! dropped.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::Place;
use crate::experiment::plan::apps::ToolBin;
use crate::experiment::Error;

/// A started process with its stdout and stderr collected line by line (a reader thread
/// each, so a chatty tool never blocks on a full pipe); killed when dropped.
#[derive(Debug)]
pub struct ToolProcess<'p> {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stdout_seen: Vec<String>,
    stdout_reader: Option<std::thread::JoinHandle<()>>,
    stderr: mpsc::Receiver<String>,
    name: String,
    place: Option<Box<dyn Place + 'p>>,
}

/// A thread sending `from`'s lines to the returned channel until end of file.
fn line_reader(
    from: impl Read + Send + 'static,
) -> (mpsc::Receiver<String>, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (rx, handle)
}

/// How a tool ended: its exit code (none if a signal ended it), stdout and stderr lines.
pub type Exit = (Option<i32>, String, Vec<String>);

impl<'p> ToolProcess<'p> {
    /// Starts our tool `tool` with `args` at `place`.
    pub fn spawn(place: impl Place + 'p, tool: ToolBin, args: &[String]) -> Result<Self, Error> {
        let mut command = place.command(tool.name());
        command.args(args);
        Self::start(command, tool.name(), Some(Box::new(place)))
    }

    /// Starts a prepared command (another program; signals go to the local process).
    pub fn start(
        mut command: Command,
        name: &str,
        place: Option<Box<dyn Place + 'p>>,
    ) -> Result<Self, Error> {
        // A process group of its own: a Ctrl-C at the terminal reaches the runner alone, which
        // then interrupts each tool once it can print a partial summary. In the terminal's
        // group, a `docker exec` client would die of that SIGINT and take the summary of the
        // tool in the container with it (found: a docker-engine run interrupted from a shell
        // gave a failed row with neither summary).
        let mut child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Tool(format!("cannot start {name}: {e}")))?;
        let (stderr, _) = line_reader(child.stderr.take().expect("stderr is piped"));
        let (stdout, reader) = line_reader(child.stdout.take().expect("stdout is piped"));
        Ok(ToolProcess {
            child,
            stdout,
            stdout_seen: Vec::new(),
            stdout_reader: Some(reader),
            stderr,
            name: name.to_string(),
            place,
        })
    }

    /// Waits up to `within` for the tool's `ready` line on stderr (stopping early if `stop`
    /// is set); the error quotes what it printed instead.
    pub fn wait_ready(&self, within: Duration, stop: &AtomicBool) -> Result<(), Error> {
        let by = Instant::now() + within;
        let mut early = Vec::new();
        loop {
            match self.stderr.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.contains("ready") => return Ok(()),
                Ok(line) => early.push(line),
                Err(mpsc::RecvTimeoutError::Timeout)
                    if Instant::now() < by && !stop.load(Ordering::Relaxed) => {}
                Err(_) => {
                    return Err(Error::Tool(format!(
                        "{} never said ready: {}",
                        self.name,
                        early.join(" / ")
                    )))
                }
            }
        }
    }

    /// Waits up to `within` until the process (whose namespace is its own: `ip netns exec`
    /// execs the program in place) listens on TCP `port`, as its namespace's
    /// `/proc/PID/net/tcp{,6}` shows: how a server that says nothing on a pipe (iperf3
    /// buffers its output) is known to be ready. The error says how it ended instead.
    pub fn wait_listening(&mut self, port: u16, within: Duration) -> Result<(), Error> {
        let by = Instant::now() + within;
        let pid = self.child.id();
        loop {
            let listens = ["tcp", "tcp6"].iter().any(|t| {
                std::fs::read_to_string(format!("/proc/{pid}/net/{t}"))
                    .is_ok_and(|table| crate::net::tcp_listens(&table, port))
            });
            if listens {
                return Ok(());
            }
            if self.has_exited() || Instant::now() >= by {
                return Err(Error::Tool(format!(
                    "{} never listened on TCP port {port}",
                    self.name
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// True once the process has exited (it is not reaped from the caller's view: `wait`
    /// still returns its exit).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// The stdout lines that arrived since the last call (they stay part of the exit's
    /// stdout).
    pub fn new_lines(&mut self) -> &[String] {
        let from = self.stdout_seen.len();
        self.stdout_seen.extend(self.stdout.try_iter());
        &self.stdout_seen[from..]
    }

    /// Signals the tool where it runs.
    pub fn signal(&self, signal: Signal) {
        match &self.place {
            Some(p) => p.signal(self.child.id(), &self.name, signal),
            None => {
                let _ = kill(Pid::from_raw(self.child.id() as i32), signal);
            }
        }
    }

    /// Whether every process running our tool has its SIGINT handler installed (another
    /// program, started without a place, is not waited for).
    fn catches_sigint(&self) -> bool {
        let Some(place) = &self.place else {
            return true;
        };
        place.catches_sigint(self.child.id(), &self.name)
    }

    /// Asks the tool to stop (SIGINT): it prints a partial summary.
    pub fn interrupt(&self) {
        self.signal(Signal::SIGINT);
    }

    /// Waits for the exit until `deadline`, interrupting (then killing) the tool if `stop` is
    /// set or the deadline passes.
    pub fn wait(self, deadline: Instant, stop: &AtomicBool) -> Exit {
        self.wait_watching(deadline, stop, &mut || {})
    }

    /// [`ToolProcess::wait`], calling `tick` every 20 ms meanwhile (to follow another tool's
    /// interval reports).
    pub fn wait_watching(
        mut self,
        deadline: Instant,
        stop: &AtomicBool,
        tick: &mut dyn FnMut(),
    ) -> Exit {
        let mut interrupted_at: Option<Instant> = None;
        let mut interrupt_sent = false;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    // The pipe ends when every process holding it has (a docker exec may
                    // outlive its tool briefly): wait for the reader, but not forever.
                    if let Some(reader) = self.stdout_reader.take() {
                        let by = Instant::now() + Duration::from_secs(2);
                        while !reader.is_finished() && Instant::now() < by {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                    self.stdout_seen.extend(self.stdout.try_iter());
                    let mut out = self.stdout_seen.join("\n");
                    out.push('\n');
                    let err = self.stderr.try_iter().collect();
                    return (status.code(), out, err);
                }
                Ok(None) => {}
                Err(_) => {
                    return (
                        None,
                        String::new(),
                        vec![format!("{}: lost track of the process", self.name)],
                    )
                }
            }
            let now = Instant::now();
            if interrupted_at.is_none() && (stop.load(Ordering::Relaxed) || now >= deadline) {
                interrupted_at = Some(now);
            }
            match interrupted_at {
                Some(t) if now.duration_since(t) > Duration::from_secs(5) => {
                    self.signal(Signal::SIGKILL);
                }
                // A tool interrupted before it installed its handler would die without a
                // summary: the SIGINT waits for the handler (a tool just started).
                Some(_) if !interrupt_sent && self.catches_sigint() => {
                    self.interrupt();
                    interrupt_sent = true;
                }
                _ => {}
            }
            tick();
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ToolProcess<'_> {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::place::protocol::parse_summary;

    #[test]
    fn a_tool_that_never_says_ready_is_reported_with_what_it_said() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo starting >&2; echo oops >&2; exec sleep 5"]);
        let t = ToolProcess::start(c, "fake-rx", None).unwrap();
        let e = t
            .wait_ready(Duration::from_millis(300), &AtomicBool::new(false))
            .unwrap_err();
        assert_eq!(e.to_string(), "fake-rx never said ready: starting / oops");
        let exit = t.wait(Instant::now(), &AtomicBool::new(false));
        assert_eq!(exit.0, None, "interrupted by a signal");
        assert!(parse_summary::<serde_json::Value>("fake-rx", &exit)
            .unwrap_err()
            .to_string()
            .contains("exited by a signal"));
    }
}
