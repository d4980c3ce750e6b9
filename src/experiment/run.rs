//! One measured run: a receiver started in the receiving namespace (or container) and awaited
//! until ready, a sender pinned to the other core, both JSON summaries collected.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde::de::DeserializeOwned;

use super::profile::Point;
use super::setup::SetupEnv;
use crate::net::validate_interface_name;
use crate::report::{RxSummary, TxSummary};

/// Which pair of tools a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum App {
    /// mmap-tx and mmap-rx.
    Mmap,
    /// udp-tx and udp-rx.
    Udp,
}

impl App {
    /// `mmap` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            App::Mmap => "mmap",
            App::Udp => "udp",
        }
    }
}

/// What happens to test packets in the receiving namespace after the receiver has them.
///
/// On veth the receiving namespace's softirq runs on the sending core, so this changes the
/// sender's rate; it is recorded in every row, and runs under different fates must not be
/// compared without saying so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The kernel stack also processes every captured packet (IP, UDP, a closed port).
    Stack,
    /// An nftables netdev ingress rule drops the test flow right after the packet tap, as a
    /// real bypass would leave the stack alone.
    IngressDrop,
}

impl Fate {
    /// The fate's name in the CSV for an app: UDP packets always end in their socket.
    pub fn label(self, app: App) -> &'static str {
        match (app, self) {
            (App::Udp, _) => "socket",
            (App::Mmap, Fate::Stack) => "stack",
            (App::Mmap, Fate::IngressDrop) => "ingress-drop",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Both tools finished normally.
    Ok,
    /// Interrupted: the figures cover only part of the run.
    Partial,
    /// A tool failed; see the reason.
    Failed,
}

impl RunStatus {
    /// `ok`, `partial` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }
}

/// Everything one run needs.
#[derive(Debug)]
pub struct RunConfig<'a> {
    /// Where the tools run.
    pub env: &'a SetupEnv,
    /// Directory holding the four tools (netns engine; containers have their own).
    pub bin_dir: &'a Path,
    /// Which tools.
    pub app: App,
    /// Count, size and rate.
    pub point: &'a Point,
    /// Receive-side fate for mmap runs.
    pub fate: Fate,
    /// Core for the sender.
    pub tx_cpu: usize,
    /// Core for the receiver.
    pub rx_cpu: usize,
    /// Seconds without traffic after which the receiver stops.
    pub idle_timeout_s: f64,
    /// Set when the user asked to stop.
    pub stop: &'a AtomicBool,
}

/// What one run produced.
#[derive(Debug)]
pub struct RunResult {
    /// The sender's summary, if it produced one.
    pub tx: Option<TxSummary>,
    /// The receiver's summary, if it produced one.
    pub rx: Option<RxSummary>,
    /// How it ended.
    pub status: RunStatus,
    /// Why, when not ok.
    pub reason: String,
}

/// Where one tool runs.
#[derive(Debug, Clone, Copy)]
enum Place<'a> {
    /// `ip netns exec NS BIN_DIR/TOOL`.
    Netns { ns: &'a str, bin_dir: &'a Path },
    /// `docker exec CONTAINER TOOL` (the image's PATH holds the tools).
    Container(&'a str),
}

impl<'a> Place<'a> {
    fn of(container: Option<&'a str>, ns: &'a str, bin_dir: &'a Path) -> Self {
        match container {
            Some(c) => Place::Container(c),
            None => Place::Netns { ns, bin_dir },
        }
    }

    fn command(self, tool: &str) -> Command {
        match self {
            Place::Netns { ns, bin_dir } => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(bin_dir.join(tool));
                c
            }
            Place::Container(name) => {
                let mut c = Command::new("docker");
                c.args(["exec", name, tool]);
                c
            }
        }
    }
}

/// Sends `signal` to every process named `tool` inside `container`'s PID namespace, as seen
/// from the host. `docker exec` does not forward signals to what it started, so stopping a
/// tool in a container means finding it.
fn signal_in_container(container: &str, tool: &str, signal: Signal) {
    let Ok(out) = Command::new("docker")
        .args(["inspect", "--format", "{{.State.Pid}}", container])
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    let init = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let Ok(pid_ns) = std::fs::read_link(format!("/proc/{init}/ns/pid")) else {
        return;
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let same_ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|n| n == pid_ns);
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if same_ns && comm.trim_end() == tool {
            let _ = kill(Pid::from_raw(pid), signal);
        }
    }
}

/// A child process with its stderr collected line by line; killed on drop.
pub(super) struct Tool {
    child: Child,
    pub(super) stderr: mpsc::Receiver<String>,
    name: &'static str,
    /// `(container, tool)` when it runs in a container.
    inside: Option<(String, String)>,
}

impl Tool {
    fn spawn(
        place: Place<'_>,
        tool: &str,
        args: &[String],
        name: &'static str,
    ) -> Result<Tool, String> {
        let mut command = place.command(tool);
        command.args(args);
        let inside = match place {
            Place::Container(c) => Some((c.to_string(), tool.to_string())),
            Place::Netns { .. } => None,
        };
        Self::start(command, name, inside)
    }

    /// Runs `program args` in namespace `ns` (any program, e.g. trafgen under taskset).
    pub(super) fn spawn_in(
        ns: &str,
        program: &Path,
        args: &[String],
        name: &'static str,
    ) -> Result<Tool, String> {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns]).arg(program).args(args);
        Self::start(command, name, None)
    }

    fn start(
        mut command: Command,
        name: &'static str,
        inside: Option<(String, String)>,
    ) -> Result<Tool, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().expect("stderr is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Tool {
            child,
            stderr: rx,
            name,
            inside,
        })
    }

    /// Signals the tool. In a container the signal goes to the tool itself: the `docker exec`
    /// client must live on to relay the tool's summary, so only SIGKILL also ends the client.
    fn signal(&self, signal: Signal) {
        if let Some((container, tool)) = &self.inside {
            signal_in_container(container, tool, signal);
            if signal != Signal::SIGKILL {
                return;
            }
        }
        let _ = kill(Pid::from_raw(self.child.id() as i32), signal);
    }

    pub(super) fn interrupt(&self) {
        self.signal(Signal::SIGINT);
    }

    /// Waits for exit until `deadline`, interrupting (then killing) it if `stop` is set or the
    /// deadline passes. Returns the exit code and stdout.
    pub(super) fn wait(
        mut self,
        deadline: Instant,
        stop: &AtomicBool,
    ) -> (Option<i32>, String, Vec<String>) {
        let mut interrupted_at: Option<Instant> = None;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    let mut out = String::new();
                    if let Some(mut o) = self.child.stdout.take() {
                        let _ = o.read_to_string(&mut out);
                    }
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
            match interrupted_at {
                None if stop.load(Ordering::Relaxed) || now >= deadline => {
                    self.interrupt();
                    interrupted_at = Some(now);
                }
                Some(t) if now.duration_since(t) > Duration::from_secs(5) => {
                    self.signal(Signal::SIGKILL);
                }
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tool {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// An nftables table in the receiving namespace dropping the test flow at netdev ingress,
/// after the packet tap; removed on drop.
pub(super) struct IngressDrop<'a> {
    ns: &'a str,
}

const FATE_TABLE: &str = "pktmmap_fate";

impl<'a> IngressDrop<'a> {
    /// Drops UDP to `port`; with `udp_len`, only datagrams of that UDP length (header and
    /// payload), so that a tool's own small control datagrams (iperf3's) still pass.
    pub(super) fn install(
        ns: &'a str,
        interface: &str,
        port: u16,
        udp_len: Option<usize>,
    ) -> Result<Self, String> {
        validate_interface_name(interface).map_err(|e| e.to_string())?;
        let length = udp_len.map_or(String::new(), |l| format!(" udp length {l}"));
        let rules = format!(
            "table netdev {FATE_TABLE} {{\n chain ingress {{\n  type filter hook ingress device \"{interface}\" priority 0; policy accept;\n  udp dport {port}{length} drop\n }}\n}}\n"
        );
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run nft (apt-get install nftables): {e}"))?;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(rules.as_bytes())
            .map_err(|e| format!("nft: {e}"))?;
        let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "nft ingress drop: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self { ns })
    }
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

pub(super) fn parse<T: DeserializeOwned>(
    who: &str,
    code: Option<i32>,
    out: &str,
    err: &[String],
) -> Result<T, String> {
    serde_json::from_str(out.trim()).map_err(|_| {
        let last = err.last().cloned().unwrap_or_default();
        format!(
            "{who} exited {} without a summary: {last}",
            code.map_or("by a signal".into(), |c| c.to_string())
        )
    })
}

/// Runs one point with one app; never panics and always returns a result to record.
pub fn run_point(cfg: &RunConfig<'_>) -> RunResult {
    match try_run(cfg) {
        Ok(r) => r,
        Err(reason) => RunResult {
            tx: None,
            rx: None,
            status: RunStatus::Failed,
            reason,
        },
    }
}

fn try_run(cfg: &RunConfig<'_>) -> Result<RunResult, String> {
    let env = cfg.env;
    let p = cfg.point;
    let (tx_bin, rx_bin) = match cfg.app {
        App::Mmap => ("mmap-tx", "mmap-rx"),
        App::Udp => ("udp-tx", "udp-rx"),
    };
    let common_rx = [
        "--count".to_string(),
        p.count.to_string(),
        "--idle-timeout".into(),
        cfg.idle_timeout_s.to_string(),
        "--cpu".into(),
        cfg.rx_cpu.to_string(),
        "--json".into(),
    ];
    let mut rx_args: Vec<String> = match cfg.app {
        App::Mmap => vec!["--interface".into(), env.rx_if.clone()],
        // A socket buffer as large as the kernel allows by default policy: the baseline is not
        // handicapped by a small buffer (the kernel caps it at net.core.rmem_max).
        App::Udp => vec![
            "--bind".into(),
            env.rx_ip.clone(),
            "--rcvbuf".into(),
            "4194304".into(),
        ],
    };
    rx_args.extend(common_rx);
    let mut tx_args: Vec<String> = match cfg.app {
        App::Mmap => vec!["--interface".into(), env.tx_if.clone()],
        App::Udp => vec![],
    };
    tx_args.extend([
        "--dst-ip".into(),
        env.rx_ip.clone(),
        "--count".into(),
        p.count.to_string(),
        "--size".into(),
        p.size.to_string(),
        "--rate".into(),
        p.rate.to_string(),
        "--cpu".into(),
        cfg.tx_cpu.to_string(),
        "--json".into(),
    ]);

    let _fate = match (cfg.app, cfg.fate) {
        (App::Mmap, Fate::IngressDrop) => Some(IngressDrop::install(
            &env.rx_ns,
            &env.rx_if,
            crate::DEFAULT_PORT,
            None,
        )?),
        _ => None,
    };

    let rx_place = Place::of(env.rx_container.as_deref(), &env.rx_ns, cfg.bin_dir);
    let tx_place = Place::of(env.tx_container.as_deref(), &env.tx_ns, cfg.bin_dir);
    let receiver = Tool::spawn(rx_place, rx_bin, &rx_args, "receiver")?;
    let ready_by = Instant::now() + Duration::from_secs(10);
    let mut early = Vec::new();
    loop {
        match receiver.stderr.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.contains("ready") => break,
            Ok(line) => early.push(line),
            Err(mpsc::RecvTimeoutError::Timeout)
                if Instant::now() < ready_by && !cfg.stop.load(Ordering::Relaxed) => {}
            Err(_) => {
                return Err(format!("{rx_bin} never said ready: {}", early.join(" / ")));
            }
        }
    }

    // Generous: a slow path (OVS userspace) at 20 kpps, plus start-up.
    let send_budget = Duration::from_secs(30 + p.count / 20_000);
    let sender = Tool::spawn(tx_place, tx_bin, &tx_args, "sender")?;
    let (tx_code, tx_out, tx_err) = sender.wait(Instant::now() + send_budget, cfg.stop);
    let rx_deadline = Instant::now() + Duration::from_secs_f64(cfg.idle_timeout_s + 15.0);
    let (rx_code, rx_out, rx_err) = receiver.wait(rx_deadline, cfg.stop);

    let tx: Result<TxSummary, String> = parse(tx_bin, tx_code, &tx_out, &tx_err);
    let rx: Result<RxSummary, String> = parse(rx_bin, rx_code, &rx_out, &rx_err);
    let mut reasons: Vec<String> = Vec::new();
    for e in [tx.as_ref().err(), rx.as_ref().err()].into_iter().flatten() {
        reasons.push(e.clone());
    }
    let tx = tx.ok();
    let rx = rx.ok();
    if let Some(e) = tx.as_ref().and_then(|t| t.error.clone()) {
        reasons.push(format!("{tx_bin}: {e}"));
    }
    if let Some(e) = rx.as_ref().and_then(|r| r.error.clone()) {
        reasons.push(format!("{rx_bin}: {e}"));
    }
    let partial = tx.as_ref().is_some_and(|t| t.partial) || rx.as_ref().is_some_and(|r| r.partial);
    let status = if tx.is_none() || rx.is_none() || !reasons.is_empty() && !partial {
        RunStatus::Failed
    } else if partial {
        reasons.push("interrupted".into());
        RunStatus::Partial
    } else {
        RunStatus::Ok
    };
    Ok(RunResult {
        tx,
        rx,
        status,
        reason: reasons.join("; "),
    })
}
