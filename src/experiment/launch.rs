//! Where a tool runs and how it is started, awaited and stopped: the one launch layer the
//! runner, the benchmark and the tests share.
//!
//! A [`Place`] turns a tool's name into a command and delivers signals to what it started
//! there. Two places exist: [`Netns`] (`ip netns exec`) and [`Container`] (`docker exec`); a
//! new one (a Swarm task, a host reached another way) is one more implementation. Command
//! lines are built from typed structs ([`SenderArgs`], [`ReceiverArgs`]), never from a shell
//! string. A [`Tool`] is killed when dropped, so a failing run leaves nothing behind.

use crate::experiment::Error;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::de::DeserializeOwned;

use crate::net::validate_interface_name;

/// Somewhere our tools can run.
pub trait Place: std::fmt::Debug {
    /// The command that runs our tool `tool` there.
    fn command(&self, tool: &str) -> Command;

    /// Whether `tool`, which `child` (the local process) started there, has its SIGINT
    /// handler installed: before that, a SIGINT would kill it without a summary.
    fn catches_sigint(&self, child: u32, tool: &str) -> bool {
        let _ = tool;
        crate::process::catches_sigint(child as i32)
    }

    /// Delivers `signal` to `tool`, which `child` (the local process) started there.
    fn signal(&self, child: u32, tool: &str, signal: Signal) {
        let _ = tool;
        let _ = kill(Pid::from_raw(child as i32), signal);
    }

    /// Why nothing can run there any more (a container killed, its node gone), or `None`
    /// while it is usable. A place that cannot vanish mid-run is always usable.
    fn lost(&self) -> Option<String> {
        None
    }
}

impl Place for Box<dyn Place + '_> {
    fn command(&self, tool: &str) -> Command {
        (**self).command(tool)
    }
    fn catches_sigint(&self, child: u32, tool: &str) -> bool {
        (**self).catches_sigint(child, tool)
    }
    fn signal(&self, child: u32, tool: &str, signal: Signal) {
        (**self).signal(child, tool, signal)
    }
    fn lost(&self) -> Option<String> {
        (**self).lost()
    }
}

/// A network namespace made by `ip netns`; the tools come from `bin_dir`.
#[derive(Debug, Clone, Copy)]
pub struct Netns<'a> {
    /// The namespace.
    pub ns: &'a str,
    /// Directory holding our tools.
    pub bin_dir: &'a Path,
}

impl Netns<'_> {
    /// The command that runs any `program` (not only ours) in the namespace.
    pub fn external(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.ns]).arg(program);
        c
    }
}

impl Place for Netns<'_> {
    fn command(&self, tool: &str) -> Command {
        self.external(&self.bin_dir.join(tool))
    }
}

/// A running container of the pktmmap image; the image's PATH holds the tools.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// The container's name.
    pub name: &'a str,
    /// The Docker engine that runs it (`docker -H`), where it is not this host's default
    /// one: a second engine on this machine, as a swarm node.
    pub engine: Option<&'a str>,
}

impl Container<'_> {
    fn docker(&self) -> Command {
        let mut c = Command::new("docker");
        if let Some(host) = self.engine {
            c.args(["-H", host]);
        }
        c
    }
}

impl Place for Container<'_> {
    fn command(&self, tool: &str) -> Command {
        let mut c = self.docker();
        c.args(["exec", self.name, tool]);
        c
    }

    /// Asked inside the container (`pktmmap-idle catches-sigint TOOL`), through its engine:
    /// the same for an engine on this machine and one reached over the network.
    fn catches_sigint(&self, _child: u32, tool: &str) -> bool {
        self.docker()
            .args(["exec", self.name, "pktmmap-idle", "catches-sigint", tool])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Asks its engine whether the container still runs.
    fn lost(&self) -> Option<String> {
        let out = self
            .docker()
            .args(["inspect", "--format", "{{.State.Status}}", self.name])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let state = String::from_utf8_lossy(&o.stdout).trim().to_string();
                (state != "running").then(|| {
                    format!(
                        "container {} is {state} (killed, or its node is gone)",
                        self.name
                    )
                })
            }
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
                let answers = self
                    .docker()
                    .args(["version", "--format", "{{.Server.Version}}"])
                    .output()
                    .is_ok_and(|v| v.status.success());
                Some(if answers {
                    format!("container {} cannot be found: {err}", self.name)
                } else {
                    format!(
                        "container {} is out of reach: its engine ({}) does not answer (its node is gone?): {err}",
                        self.name,
                        self.engine.unwrap_or("this host's")
                    )
                })
            }
            Err(e) => Some(format!(
                "cannot run docker to find container {}: {e}",
                self.name
            )),
        }
    }

    /// `docker exec` does not forward signals: the signal is sent inside the container
    /// (`pktmmap-idle signal SIGNAL TOOL`), through its engine, so it reaches the tool on
    /// whichever machine the container runs. The `docker exec` client must live on to relay
    /// the tool's summary, so only SIGKILL also ends it.
    fn signal(&self, child: u32, tool: &str, signal: Signal) {
        let _ = self
            .docker()
            .args([
                "exec",
                self.name,
                "pktmmap-idle",
                "signal",
                signal.as_str(),
                tool,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if signal == Signal::SIGKILL {
            let _ = kill(Pid::from_raw(child as i32), signal);
        }
    }
}

/// A sender of ours (mmap-tx, udp-tx) as a command line.
#[derive(Debug, Clone)]
pub struct SenderArgs<'a> {
    /// `mmap-tx` or `udp-tx`.
    pub tool: &'a str,
    /// The interface (mmap-tx only).
    pub interface: Option<&'a str>,
    /// Destination address.
    pub dst_ip: &'a str,
    /// Datagrams.
    pub count: u64,
    /// UDP payload bytes.
    pub size: usize,
    /// Rate as the tools parse it (`max`, `500Mbps`, `250000pps`).
    pub rate: String,
    /// Core to pin to.
    pub cpu: usize,
    /// Options of that tool alone (`--ring-version v2`, `--batch 64`).
    pub extra: &'a [&'a str],
    /// Interval reports every this many seconds (`--interval`).
    pub interval_s: Option<f64>,
    /// Time the reflections of every N-th probe (`--reflect-every`).
    pub reflect_every: Option<u64>,
}

impl SenderArgs<'_> {
    /// The arguments, with `--json`.
    pub fn argv(&self) -> Vec<String> {
        Argv::default()
            .some("--interface", self.interface)
            .opt("--dst-ip", self.dst_ip)
            .opt("--count", self.count)
            .opt("--size", self.size)
            .opt("--rate", &self.rate)
            .opt("--cpu", self.cpu)
            .flag("--json")
            .some("--interval", self.interval_s)
            .some("--reflect-every", self.reflect_every)
            .words(self.extra)
            .build()
    }
}

/// A receiver of ours (mmap-rx, udp-rx) as a command line.
#[derive(Debug, Clone)]
pub struct ReceiverArgs<'a> {
    /// `mmap-rx` or `udp-rx`.
    pub tool: &'a str,
    /// The interface (mmap-rx only).
    pub interface: Option<&'a str>,
    /// Address to bind and socket buffer (udp-rx only).
    pub bind: Option<(&'a str, usize)>,
    /// Stop after this many datagrams.
    pub count: Option<u64>,
    /// Stop after this many seconds without traffic.
    pub idle_timeout_s: f64,
    /// Core to pin to.
    pub cpu: usize,
    /// Interval reports every this many seconds (`--interval`).
    pub interval_s: Option<f64>,
    /// Reflect every N-th probe back to the sender (`--reflect-every`).
    pub reflect_every: Option<u64>,
}

impl ReceiverArgs<'_> {
    /// The arguments, with `--json`.
    pub fn argv(&self) -> Vec<String> {
        Argv::default()
            .some("--interface", self.interface)
            .some("--bind", self.bind.map(|(ip, _)| ip))
            .some("--rcvbuf", self.bind.map(|(_, rcvbuf)| rcvbuf))
            .some("--count", self.count)
            .opt("--idle-timeout", self.idle_timeout_s)
            .opt("--cpu", self.cpu)
            .flag("--json")
            .some("--interval", self.interval_s)
            .some("--reflect-every", self.reflect_every)
            .build()
    }
}

/// A command line built option by option, in order.
#[derive(Debug, Default)]
struct Argv(Vec<String>);

impl Argv {
    /// `name value`.
    fn opt(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.0.extend([name.to_string(), value.to_string()]);
        self
    }

    /// `name value` when there is a value.
    fn some(self, name: &str, value: Option<impl std::fmt::Display>) -> Self {
        match value {
            Some(v) => self.opt(name, v),
            None => self,
        }
    }

    /// `name` alone.
    fn flag(mut self, name: &str) -> Self {
        self.0.push(name.to_string());
        self
    }

    /// `words` as they are.
    fn words(mut self, words: &[&str]) -> Self {
        self.0.extend(words.iter().map(|w| w.to_string()));
        self
    }

    /// The command line.
    fn build(self) -> Vec<String> {
        self.0
    }
}

/// A started process with its stdout and stderr collected line by line (a reader thread
/// each, so a chatty tool never blocks on a full pipe); killed when dropped.
#[derive(Debug)]
pub struct Tool<'p> {
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

impl<'p> Tool<'p> {
    /// Starts our tool `tool` with `args` at `place`.
    pub fn spawn(place: impl Place + 'p, tool: &str, args: &[String]) -> Result<Self, Error> {
        let mut command = place.command(tool);
        command.args(args);
        Self::start(command, tool, Some(Box::new(place)))
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
        Ok(Tool {
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

    /// [`Tool::wait`], calling `tick` every 20 ms meanwhile (to follow another tool's
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

impl Drop for Tool<'_> {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// The type of one JSON line a tool printed (`interval`, `summary`; none before schema 1).
fn record_type(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(v.get("type")?.as_str()?.to_string())
}

/// The interval reports among a tool's stdout lines, in order (lines that are not one are
/// skipped).
pub fn parse_intervals<T: DeserializeOwned>(lines: &[String]) -> Vec<T> {
    lines
        .iter()
        .filter(|l| record_type(l).as_deref() == Some("interval"))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Parses a tool's JSON summary (its last line that is not an interval report); without
/// one, says how the tool ended and its last words.
pub fn parse_summary<T: DeserializeOwned>(who: &str, exit: &Exit) -> Result<T, Error> {
    let (code, out, err) = exit;
    let line = out
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && record_type(l).as_deref() != Some("interval"))
        .unwrap_or("");
    serde_json::from_str(line.trim()).map_err(|_| {
        let how = match code {
            None => "by a signal".to_string(),
            // docker exec's way of saying the process died of a signal.
            Some(c @ 129..=192) => format!("{c} (signal {})", c - 128),
            Some(c) => c.to_string(),
        };
        match err.iter().rev().find(|l| !l.trim().is_empty()) {
            Some(last) => Error::Tool(format!("{who} exited {how} without a summary: {last}")),
            None => Error::Tool(format!("{who} exited {how} without a summary")),
        }
    })
}

/// An nftables table in the receiving namespace dropping the test flow at netdev ingress,
/// after the packet tap; removed when dropped.
#[derive(Debug)]
pub struct IngressDrop<'a> {
    ns: &'a str,
}

const FATE_TABLE: &str = "pktmmap_fate";

impl<'a> IngressDrop<'a> {
    /// Drops UDP to `port`; with `udp_len`, only datagrams of that UDP length (header and
    /// payload), so that a tool's own small control datagrams (iperf3's) still pass.
    pub fn install(
        ns: &'a str,
        interface: &str,
        port: u16,
        udp_len: Option<usize>,
    ) -> Result<Self, Error> {
        validate_interface_name(interface).map_err(|e| Error::Request(e.to_string()))?;
        if !Path::new("/run/netns").join(ns).exists() {
            // A swarm task on another machine: its namespace cannot be entered from here.
            return Err(Error::Request(format!(
                "--fate ingress-drop sets its nft rule in the receiver's network namespace from this host, and there is no namespace {ns} here (does the receiver run on another machine?)"
            )));
        }
        let length = udp_len.map_or(String::new(), |l| format!(" udp length {l}"));
        let rules = format!(
            "table netdev {FATE_TABLE} {{\n chain ingress {{\n  type filter hook ingress device \"{interface}\" priority 0; policy accept;\n  udp dport {port}{length} counter drop\n }}\n}}\n"
        );
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Tool(format!("cannot run nft (apt-get install nftables): {e}")))?;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(rules.as_bytes())
            .map_err(|e| Error::Tool(format!("nft: {e}")))?;
        let out = child
            .wait_with_output()
            .map_err(|e| Error::Tool(format!("nft: {e}")))?;
        if !out.status.success() {
            return Err(Error::Tool(format!(
                "nft ingress drop: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(Self { ns })
    }

    /// Packets the rule has dropped so far (its nft counter).
    pub fn dropped(&self) -> Result<u64, Error> {
        let out = Command::new("ip")
            .args([
                "netns", "exec", self.ns, "nft", "list", "table", "netdev", FATE_TABLE,
            ])
            .output()
            .map_err(|e| Error::Tool(format!("nft: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        parse_counter(&text)
            .ok_or_else(|| Error::Tool(format!("no counter in the nft table: {text}")))
    }
}

/// The packet count of the first `counter packets N bytes M` in nft's listing.
fn parse_counter(listing: &str) -> Option<u64> {
    let rest = &listing[listing.find("counter packets ")? + "counter packets ".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

impl Drop for IngressDrop<'_> {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args([
                "netns", "exec", self.ns, "nft", "delete", "table", "netdev", FATE_TABLE,
            ])
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drop_rules_counter_is_read_from_nfts_listing() {
        let listing = "table netdev pktmmap_fate {\n\tchain ingress {\n\t\ttype filter hook ingress device \"pkt1b\" priority filter; policy accept;\n\t\tudp dport 9000 counter packets 5000 bytes 530000 drop\n\t}\n}\n";
        assert_eq!(parse_counter(listing), Some(5000));
        assert_eq!(parse_counter("table netdev x {}"), None);
    }

    #[test]
    fn an_ingress_drop_in_a_namespace_not_on_this_host_is_refused_saying_why() {
        let e = IngressDrop::install("pktmmap-no-such-ns", "pkm0", 9000, None).unwrap_err();
        assert!(matches!(e, Error::Request(_)), "{e:?}");
        let e = e.to_string();
        assert!(e.contains("no namespace pktmmap-no-such-ns here"), "{e}");
    }

    #[test]
    fn command_lines_are_built_from_types() {
        let s = SenderArgs {
            tool: "mmap-tx",
            interface: Some("veth0"),
            dst_ip: "10.0.0.2",
            count: 5,
            size: 64,
            rate: "max".into(),
            cpu: 0,
            extra: &["--ring-version", "v2"],
            interval_s: Some(0.5),
            reflect_every: Some(100),
        };
        assert_eq!(
            s.argv().join(" "),
            "--interface veth0 --dst-ip 10.0.0.2 --count 5 --size 64 --rate max --cpu 0 --json --interval 0.5 --reflect-every 100 --ring-version v2"
        );
        let r = ReceiverArgs {
            tool: "udp-rx",
            interface: None,
            bind: Some(("10.0.0.2", 4096)),
            count: Some(5),
            idle_timeout_s: 1.5,
            cpu: 1,
            interval_s: None,
            reflect_every: None,
        };
        assert_eq!(
            r.argv().join(" "),
            "--bind 10.0.0.2 --rcvbuf 4096 --count 5 --idle-timeout 1.5 --cpu 1 --json"
        );
    }

    #[test]
    fn a_tool_that_never_says_ready_is_reported_with_what_it_said() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo starting >&2; echo oops >&2; exec sleep 5"]);
        let t = Tool::start(c, "fake-rx", None).unwrap();
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

    #[test]
    fn json_lines_give_their_intervals_and_the_summary_and_a_chatty_tool_never_blocks() {
        // 200,000 interval lines (~9 MB) are more than a pipe holds: the reader thread must
        // drain stdout while the tool runs, or it would never exit.
        let mut c = Command::new("sh");
        c.args([
            "-c",
            r#"yes '{"type":"interval","schema":1,"received":2}' | head -n 200000; echo '{"type":"summary","schema":1,"received":400000}'"#,
        ]);
        let t = Tool::start(c, "fake-rx", None).unwrap();
        let exit = t.wait(
            Instant::now() + Duration::from_secs(30),
            &AtomicBool::new(false),
        );
        assert_eq!(exit.0, Some(0));
        let lines: Vec<String> = exit.1.lines().map(str::to_string).collect();
        let intervals: Vec<serde_json::Value> = parse_intervals(&lines);
        assert_eq!(intervals.len(), 200_000);
        let s: serde_json::Value = parse_summary("fake-rx", &exit).unwrap();
        assert_eq!(s["received"], 400_000);
        // A summary of before schema 1 (no type) still parses.
        let old = (Some(0), "{\"received\":3}\n".to_string(), Vec::new());
        let s: serde_json::Value = parse_summary("fake-rx", &old).unwrap();
        assert_eq!(s["received"], 3);
    }
}
