//! The side-by-side benchmark (`pktmmap bench`): senders and receivers measured in one
//! invocation on the native set-up, the tools alternating (A B C A B C ...), with the same
//! frames and the same receive-side fate for every sender.
//!
//! Every sender is measured at the same place: a meter (`mmap-rx` on the receiving veth,
//! pinned to core 1) that counts the test datagrams and timestamps their arrival in the
//! kernel; a sender's rate is the meter's `received / (last - first arrival)`. Senders run
//! pinned to core 0. On veth the receiving namespace's softirq runs on the sending core, so
//! what happens to a packet after the meter (its *fate*) is part of every sender's cost: it
//! is the same for all senders within a table, and the benchmark runs both fates:
//!
//! - `ingress-drop`: an nftables netdev ingress rule drops test-sized datagrams right after
//!   the tap (packets consumed early, as a real bypass would leave the stack alone);
//! - `socket`: a UDP socket reads every datagram (udp-rx; for iperf3 its own server).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::analysis::stat;
use super::kinds::{Fate, Status};
use super::launch::{parse_summary, Exit, IngressDrop, Netns, ReceiverArgs, SenderArgs, Tool};
use super::results::{header_of, read_csv_rows, utc_now, Machine, ResultsFile};
use super::run::UDP_RCVBUF;
use super::setup::{SetupEnv, Setups};
use crate::pace::Rate;
use crate::report::{RxSummary, TxSummary};
use crate::wire::frame::FRAME_OVERHEAD;

/// A sender under test (its command-line value is its [`Sender::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sender {
    /// mmap-tx with a TPACKET_V3 TX ring.
    #[value(name = "mmap-tx-v3")]
    MmapV3,
    /// mmap-tx with a TPACKET_V2 TX ring.
    #[value(name = "mmap-tx-v2")]
    MmapV2,
    /// udp-tx: one sendto() per datagram.
    #[value(name = "udp-tx")]
    Udp,
    /// udp-tx --batch 64: one sendmmsg() per 64 datagrams.
    #[value(name = "udp-tx-mmsg")]
    UdpBatch,
    /// netsniff-ng's trafgen, one process (`-P 1`), fed the bytes of mmap-tx's first frame.
    #[value(name = "trafgen")]
    Trafgen,
    /// iperf3 in UDP mode (`-u -l SIZE`).
    #[value(name = "iperf3")]
    Iperf3,
    /// xdp-tx: an AF_XDP socket's TX ring.
    #[value(name = "xdp-tx")]
    Xdp,
}

/// The receivers under test, in the order they alternate.
pub const RECEIVERS: [&str; 3] = ["mmap-rx", "udp-rx", "xdp-rx"];

/// A receiver's receive-side fate: mmap-rx leaves packets to the stack too, udp-rx's end in
/// its socket, xdp-rx's program takes them before the stack.
fn receiver_fate(receiver: &str) -> Fate {
    match receiver {
        "mmap-rx" => Fate::Stack,
        "xdp-rx" => Fate::XdpRedirect,
        _ => Fate::Socket,
    }
}

impl Sender {
    /// Every sender, in the order they alternate.
    pub const ALL: [Sender; 7] = [
        Sender::MmapV3,
        Sender::MmapV2,
        Sender::Udp,
        Sender::UdpBatch,
        Sender::Trafgen,
        Sender::Iperf3,
        Sender::Xdp,
    ];

    /// Its name in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Sender::MmapV3 => "mmap-tx-v3",
            Sender::MmapV2 => "mmap-tx-v2",
            Sender::Udp => "udp-tx",
            Sender::UdpBatch => "udp-tx-mmsg",
            Sender::Trafgen => "trafgen",
            Sender::Iperf3 => "iperf3",
            Sender::Xdp => "xdp-tx",
        }
    }

    /// The external program it needs, if any.
    pub fn program(self) -> Option<&'static str> {
        match self {
            Sender::Trafgen => Some("trafgen"),
            Sender::Iperf3 => Some("iperf3"),
            _ => None,
        }
    }
}

/// A part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// The senders, unpaced (both fates) and paced.
    Send,
    /// The receivers at a fixed offered rate and at mmap-tx's fastest.
    Receive,
    /// Each receiver at rising offered rates: its capacity is the highest rate it takes with
    /// nothing lost. Meant for `--rps`, which gives the receiver its own core for the softirq
    /// work, so that the sender's core does not set the limit.
    Capacity,
}

/// What to run.
#[derive(Debug)]
pub struct BenchPlan {
    /// Packets per run.
    pub count: u64,
    /// UDP payload bytes.
    pub size: usize,
    /// Runs of every tool in every table (alternating).
    pub repetitions: u32,
    /// The paced senders' rates: one table each (one above what the path carries shows the
    /// cost of pacing).
    pub paced_rates: Vec<Rate>,
    /// The receivers' fixed offered rate.
    pub receiver_rate: Rate,
    /// Which phases run.
    pub phases: Vec<Phase>,
    /// Offered rates of the capacity phase, ascending.
    pub capacity_rates: Vec<Rate>,
    /// Senders to compare (missing external programs are skipped with a note).
    pub senders: Vec<Sender>,
    /// Results directory (bench-v1.csv, bench.md).
    pub out: PathBuf,
    /// The repository (for the git commit).
    pub repo: PathBuf,
    /// Where mmap-tx, mmap-rx, udp-tx, udp-rx are.
    pub bin_dir: PathBuf,
    /// The netns set-up scripts (the benchmark runs on `native`).
    pub setups: Setups,
}

/// One row of `bench-v1.csv`: one run of one tool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchRow {
    /// When the run started (UTC).
    pub time: String,
    /// `send-unpaced`, `send-paced` or `receive`.
    pub phase: String,
    /// Fate after the meter (`ingress-drop`, `socket`), or the receiver's (`stack`, `socket`).
    pub fate: Fate,
    /// Whether receive packet steering moved the receiving softirq to another core.
    pub rps: bool,
    /// The tool under test.
    pub tool: String,
    /// Repetition number.
    pub repetition: u32,
    /// Requested rate (`max` or packets per second).
    pub requested_rate: String,
    /// Packets asked for.
    pub count: u64,
    /// UDP payload bytes.
    pub size: usize,
    /// Packets the sender says it sent (our senders only).
    pub sent: Option<u64>,
    /// Test datagrams that reached the meter (send phases) or the receiver (receive phase).
    pub received: Option<u64>,
    /// `count - received` (send phases) or the receiver's lost sequence numbers.
    pub lost: Option<u64>,
    /// Drops the kernel counted: the meter's or receiver's ring or socket, plus the host's
    /// receive-backlog drops during the run.
    pub kernel_drops: Option<u64>,
    /// Received packets per second, first to last arrival.
    pub pps: Option<f64>,
    /// Sender CPU seconds (user + system), from the kernel's accounting of the child.
    pub tx_cpu_s: Option<f64>,
    /// Sender wall-clock seconds, start to exit (start-up included). For a paced sender,
    /// `received / tx_wall_s` is the rate it kept over the run, while `pps` (first to last
    /// arrival) shows how fast its packets really arrived: a sender that bursts has a `pps`
    /// far above its requested rate.
    pub tx_wall_s: Option<f64>,
    /// Receive phases: the rate mmap-tx achieved by its own count (what the receiver was
    /// really offered, which the sender may keep below the requested rate).
    #[serde(default)]
    pub offered_pps: Option<f64>,
    /// Receiver CPU seconds (receive phase: the receiver under test; else the meter).
    pub rx_cpu_s: Option<f64>,
    /// Receiver CPU seconds per million received packets.
    pub rx_cpu_s_per_mpkt: Option<f64>,
    /// Receiver peak resident size.
    pub rx_max_rss_kib: Option<u64>,
    /// `ok` or `failed`.
    pub status: Status,
    /// Why it failed.
    pub reason: String,
    /// Kernel release.
    pub kernel: String,
    /// Git commit of the tools.
    pub git_commit: String,
}

/// The CSV file name (without `.csv`).
pub const BENCH_CSV: &str = "bench-v1";

struct Ctx<'a> {
    plan: &'a BenchPlan,
    env: SetupEnv,
    machine: Machine,
    frame_file: PathBuf,
    stop: &'a AtomicBool,
}

fn children_cpu_s() -> f64 {
    let (user, sys) = crate::process::children_cpu_seconds();
    user + sys
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Looks a program up in PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

impl Ctx<'_> {
    fn row(&self, phase: &str, fate: Fate, tool: &str, rep: u32, rate: &str) -> BenchRow {
        BenchRow {
            time: utc_now(),
            phase: phase.into(),
            fate,
            rps: self.env.rps,
            tool: tool.into(),
            repetition: rep,
            requested_rate: rate.into(),
            count: self.plan.count,
            size: self.plan.size,
            status: Status::Ok,
            kernel: self.machine.kernel.clone(),
            git_commit: self.machine.git_commit.clone(),
            ..BenchRow::default()
        }
    }

    fn ours(&self, tool: &str) -> PathBuf {
        self.plan.bin_dir.join(tool)
    }

    /// Starts a tool of ours in namespace `ns` and waits for its `ready` line.
    fn start_ready<'a>(
        &'a self,
        ns: &'a str,
        tool: &str,
        args: &[String],
    ) -> Result<Tool<'a>, String> {
        let place = Netns {
            ns,
            bin_dir: &self.plan.bin_dir,
        };
        let t = Tool::spawn(place, tool, args)?;
        t.wait_ready(Duration::from_secs(10), self.stop)?;
        Ok(t)
    }

    /// Starts another program (trafgen, iperf3, under taskset) in namespace `ns`.
    fn start_external<'a>(
        &'a self,
        ns: &'a str,
        program: &Path,
        args: &[String],
    ) -> Result<Tool<'a>, String> {
        let place = Netns {
            ns,
            bin_dir: &self.plan.bin_dir,
        };
        let mut command = place.external(program);
        command.args(args);
        let name = program
            .file_name()
            .map_or("program".into(), |n| n.to_string_lossy());
        Tool::start(command, &name, None)
    }

    fn meter(&self) -> Result<Tool<'_>, String> {
        let args = ReceiverArgs {
            tool: "mmap-rx",
            interface: Some(&self.env.rx_if),
            bind: None,
            count: None,
            idle_timeout_s: 1.5,
            cpu: 1,
            interval_s: None,
        };
        self.start_ready(&self.env.rx_ns, "mmap-rx", &args.argv())
    }

    /// The sender's command line: program and arguments (run in the sending namespace).
    fn sender_command(&self, sender: Sender, pps: Option<u64>) -> (PathBuf, Vec<String>) {
        let p = self.plan;
        let e = &self.env;
        let rate = pps.map_or("max".to_string(), |r| format!("{r}pps"));
        let ours = |tool: &'static str, extra: &[&str]| {
            let args = SenderArgs {
                tool,
                interface: (tool != "udp-tx").then_some(e.tx_if.as_str()),
                dst_ip: &e.rx_ip,
                count: p.count,
                size: p.size,
                rate: rate.clone(),
                cpu: 0,
                extra,
                interval_s: None,
            };
            (self.ours(tool), args.argv())
        };
        match sender {
            Sender::MmapV3 => ours("mmap-tx", &[]),
            Sender::MmapV2 => ours("mmap-tx", &["--ring-version", "v2"]),
            Sender::Udp => ours("udp-tx", &[]),
            Sender::UdpBatch => ours("udp-tx", &["--batch", "64"]),
            Sender::Xdp => ours("xdp-tx", &[]),
            Sender::Trafgen => {
                let mut a = strings(&[
                    "-c",
                    "0",
                    "trafgen",
                    "--dev",
                    &e.tx_if,
                    "--conf",
                    &self.frame_file.to_string_lossy(),
                    "--num",
                    &p.count.to_string(),
                    "--cpus",
                    "1",
                ]);
                if let Some(r) = pps {
                    a.extend(strings(&["--rate", &format!("{r}pps")]));
                }
                (PathBuf::from("taskset"), a)
            }
            Sender::Iperf3 => {
                let bits = pps.map_or(0, |r| r * p.size as u64 * 8);
                (
                    PathBuf::from("taskset"),
                    strings(&[
                        "-c",
                        "0",
                        "iperf3",
                        "--client",
                        &e.rx_ip,
                        "--port",
                        "9000",
                        "--udp",
                        "--length",
                        &p.size.to_string(),
                        "--bitrate",
                        &bits.to_string(),
                        "--bytes",
                        &(p.count * p.size as u64).to_string(),
                        "--udp-counters-64bit",
                    ]),
                )
            }
        }
    }

    /// Runs a sender in the sending namespace to its end; records its wall time and CPU time
    /// (the kernel's accounting of the reaped child) in `row`.
    fn run_sender(
        &self,
        sender: Sender,
        pps: Option<u64>,
        row: &mut BenchRow,
    ) -> Result<Exit, String> {
        let (program, args) = self.sender_command(sender, pps);
        let cpu_before = children_cpu_s();
        let started = Instant::now();
        let tx = self.start_external(&self.env.tx_ns, &program, &args)?;
        let budget = Duration::from_secs(60 + self.plan.count / 20_000);
        let done = tx.wait(Instant::now() + budget, self.stop);
        row.tx_wall_s = Some(started.elapsed().as_secs_f64());
        row.tx_cpu_s = Some(children_cpu_s() - cpu_before);
        Ok(done)
    }

    /// One sender run: fate, meter, sender, summaries.
    fn send_run(&self, sender: Sender, fate: Fate, pps: Option<u64>, rep: u32) -> BenchRow {
        let phase = if pps.is_some() {
            "send-paced"
        } else {
            "send-unpaced"
        };
        let rate = pps.map_or("max".into(), |r| format!("{r}pps"));
        let mut row = self.row(phase, fate, sender.name(), rep, &rate);
        if let Err(e) = self.try_send_run(sender, fate, pps, &mut row) {
            row.status = Status::Failed;
            row.reason = e;
        }
        row
    }

    fn try_send_run(
        &self,
        sender: Sender,
        fate: Fate,
        pps: Option<u64>,
        row: &mut BenchRow,
    ) -> Result<(), String> {
        let e = &self.env;
        let udp_len = 8 + self.plan.size;
        let _drop = match fate {
            Fate::IngressDrop => Some(IngressDrop::install(
                &e.rx_ns,
                &e.rx_if,
                crate::DEFAULT_PORT,
                Some(udp_len),
            )?),
            Fate::Socket | Fate::Stack | Fate::XdpRedirect => None,
        };
        // iperf3 needs its server in any case (control connection); under `socket` it is also
        // the sink. The other senders' socket sink is udp-rx.
        let server = if sender == Sender::Iperf3 {
            let t = self.start_external(
                &e.rx_ns,
                Path::new("taskset"),
                &strings(&[
                    "-c",
                    "1",
                    "iperf3",
                    "--server",
                    "--port",
                    "9000",
                    "--bind",
                    &e.rx_ip,
                    "--one-off",
                ]),
            )?;
            std::thread::sleep(Duration::from_millis(400));
            Some(t)
        } else {
            None
        };
        let sink = match (fate, sender) {
            (Fate::Socket, s) if s != Sender::Iperf3 => {
                let sink = ReceiverArgs {
                    tool: "udp-rx",
                    interface: None,
                    bind: Some((&e.rx_ip, UDP_RCVBUF)),
                    count: None,
                    idle_timeout_s: 1.5,
                    cpu: 1,
                    interval_s: None,
                };
                Some(self.start_ready(&e.rx_ns, "udp-rx", &sink.argv())?)
            }
            _ => None,
        };
        let meter = self.meter()?;
        let tx_exit = self.run_sender(sender, pps, row)?;
        if tx_exit.0 != Some(0) {
            return Err(format!(
                "{} exited {:?}: {}",
                sender.name(),
                tx_exit.0,
                tx_exit.2.last().cloned().unwrap_or_default()
            ));
        }
        if sender.program().is_none() {
            let t: TxSummary = parse_summary(sender.name(), &tx_exit)?;
            row.sent = Some(t.sent);
        }
        let m_exit = meter.wait(Instant::now() + Duration::from_secs(20), self.stop);
        let m: RxSummary = parse_summary("meter (mmap-rx)", &m_exit)?;
        row.received = Some(m.counts.received);
        row.lost = Some(self.plan.count.saturating_sub(m.counts.received));
        row.kernel_drops = Some(m.kernel_drops + m.backlog_drops);
        row.pps = Some(m.counts.pps);
        row.rx_cpu_s = Some(m.cpu_user_s + m.cpu_sys_s);
        for t in [sink, server].into_iter().flatten() {
            t.interrupt();
            let _ = t.wait(Instant::now() + Duration::from_secs(5), self.stop);
        }
        Ok(())
    }

    /// One receiver run: mmap-tx (V3) offers `pps` (or its fastest), the receiver counts.
    fn receive_run(&self, phase: &str, receiver: &str, pps: Option<u64>, rep: u32) -> BenchRow {
        let rate = pps.map_or("max".into(), |r| format!("{r}pps"));
        let mut row = self.row(phase, receiver_fate(receiver), receiver, rep, &rate);
        if let Err(e) = self.try_receive_run(receiver, pps, &mut row) {
            row.status = Status::Failed;
            row.reason = e;
        }
        row
    }

    fn try_receive_run(
        &self,
        receiver: &str,
        pps: Option<u64>,
        row: &mut BenchRow,
    ) -> Result<(), String> {
        let e = &self.env;
        let frames = receiver != "udp-rx";
        let args = ReceiverArgs {
            tool: receiver,
            interface: frames.then_some(e.rx_if.as_str()),
            bind: (!frames).then_some((e.rx_ip.as_str(), UDP_RCVBUF)),
            count: Some(self.plan.count),
            idle_timeout_s: 2.0,
            cpu: 1,
            interval_s: None,
        };
        let rx = self.start_ready(&e.rx_ns, receiver, &args.argv())?;
        let tx_exit = self.run_sender(Sender::MmapV3, pps, row)?;
        let t: TxSummary = parse_summary("mmap-tx", &tx_exit)?;
        row.sent = Some(t.sent);
        row.offered_pps = Some(t.pps);
        let r: RxSummary = parse_summary(
            receiver,
            &rx.wait(Instant::now() + Duration::from_secs(30), self.stop),
        )?;
        let cpu = r.cpu_user_s + r.cpu_sys_s;
        row.received = Some(r.counts.received);
        row.lost = Some(r.counts.lost);
        row.kernel_drops = Some(r.kernel_drops + r.backlog_drops);
        row.pps = Some(r.counts.pps);
        row.rx_cpu_s = Some(cpu);
        if r.counts.received > 0 {
            row.rx_cpu_s_per_mpkt = Some(cpu / r.counts.received as f64 * 1e6);
        }
        row.rx_max_rss_kib = Some(r.max_rss_kib);
        Ok(())
    }
}

/// Writes mmap-tx's first frame (from `mmap-tx --print-frame`) as a trafgen configuration.
fn trafgen_config(env: &SetupEnv, bin_dir: &Path, size: usize, path: &Path) -> Result<(), String> {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &env.tx_ns])
        .arg(bin_dir.join("mmap-tx"))
        .args([
            "--interface",
            &env.tx_if,
            "--dst-ip",
            &env.rx_ip,
            "--size",
            &size.to_string(),
            "--count",
            "1",
            "--print-frame",
        ])
        .output()
        .map_err(|e| format!("mmap-tx --print-frame: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mmap-tx --print-frame: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let hex = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let conf = trafgen_conf(&hex, FRAME_OVERHEAD + size)?;
    std::fs::write(path, conf).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A trafgen configuration sending one frame, given as hex, that must be `len` bytes long.
pub fn trafgen_conf(hex: &str, len: usize) -> Result<String, String> {
    if hex.len() != 2 * len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "expected {len} bytes of hex for the frame, got {:?}",
            hex.chars().take(40).collect::<String>()
        ));
    }
    let mut conf = String::from("# mmap-tx's first frame, byte for byte (valid checksums)\n{\n");
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let sep = if i + 1 == len {
            "\n"
        } else if i % 12 == 11 {
            ",\n"
        } else {
            ", "
        };
        let _ = write!(conf, "0x{}{sep}", String::from_utf8_lossy(pair));
    }
    conf.push_str("}\n");
    Ok(conf)
}

/// Runs the benchmark: every table, the tools alternating, one CSV row per run, then the
/// Markdown summary. Returns the rows.
pub fn execute(plan: &BenchPlan, stop: &AtomicBool) -> Result<Vec<BenchRow>, String> {
    let _ = plan.setups.down("native");
    let env = match plan.setups.up("native")?.into_env() {
        Ok(env) => env,
        Err((status, why)) => return Err(format!("native set-up {status}: {why}")),
    };
    struct Down<'a>(&'a Setups);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = self.0.down("native");
        }
    }
    let _down = Down(&plan.setups);
    std::fs::create_dir_all(&plan.out)
        .map_err(|e| format!("cannot create {}: {e}", plan.out.display()))?;
    let frame_file = plan.out.join(format!("trafgen-{}B.cfg", plan.size));
    trafgen_config(&env, &plan.bin_dir, plan.size, &frame_file)?;
    let ctx = Ctx {
        plan,
        env,
        machine: Machine::probe(&plan.repo),
        frame_file,
        stop,
    };
    let mut csv = ResultsFile::open_with(&plan.out, BENCH_CSV, &header_of::<BenchRow>())?;
    let mut rows = Vec::new();
    let mut keep = |row: BenchRow, rows: &mut Vec<BenchRow>| -> Result<(), String> {
        eprintln!(
            "{:<13} {:<13} {:<11} #{} {:>10} pps  received {}  drops {}  tx cpu {}  {}{}",
            row.phase,
            row.fate,
            row.tool,
            row.repetition,
            row.pps.map_or("-".into(), |v| format!("{v:.0}")),
            row.received.map_or("-".into(), |v| v.to_string()),
            row.kernel_drops.map_or("-".into(), |v| v.to_string()),
            row.tx_cpu_s.map_or("-".into(), |v| format!("{v:.2}s")),
            row.status,
            if row.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", row.reason)
            }
        );
        csv.append(&row)?;
        rows.push(row);
        Ok(())
    };
    let frame_len = FRAME_OVERHEAD + plan.size;
    let pps_of = |r: &Rate| r.packets_per_second(frame_len).map(|p| p.round() as u64);
    let stopped = || stop.load(std::sync::atomic::Ordering::Relaxed);
    if plan.phases.contains(&Phase::Send) {
        let mut tables = vec![(Fate::IngressDrop, None), (Fate::Socket, None)];
        tables.extend(
            plan.paced_rates
                .iter()
                .map(|r| (Fate::IngressDrop, pps_of(r))),
        );
        for (fate, pps) in tables {
            for rep in 1..=plan.repetitions {
                for &s in &plan.senders {
                    if stopped() {
                        return Ok(rows);
                    }
                    keep(ctx.send_run(s, fate, pps, rep), &mut rows)?;
                }
            }
        }
    }
    let mut receive_tables: Vec<(&str, Option<u64>)> = Vec::new();
    if plan.phases.contains(&Phase::Receive) {
        receive_tables.extend([("receive", pps_of(&plan.receiver_rate)), ("receive", None)]);
    }
    if plan.phases.contains(&Phase::Capacity) {
        receive_tables.extend(plan.capacity_rates.iter().map(|r| ("capacity", pps_of(r))));
    }
    for (phase, pps) in receive_tables {
        for rep in 1..=plan.repetitions {
            for receiver in RECEIVERS {
                if stopped() {
                    return Ok(rows);
                }
                keep(ctx.receive_run(phase, receiver, pps, rep), &mut rows)?;
            }
        }
    }
    Ok(rows)
}

/// Writes `dir/bench.md` from `rows`; returns the Markdown.
pub fn write_report(dir: &Path, rows: &[BenchRow]) -> Result<String, String> {
    let md = report(rows);
    let path = dir.join("bench.md");
    std::fs::write(&path, &md).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(md)
}

/// Reads every `bench-v1*.csv` in `dir`.
pub fn read_bench_rows(dir: &Path) -> Result<Vec<BenchRow>, String> {
    let rows: Vec<BenchRow> = read_csv_rows(dir, BENCH_CSV)?;
    if rows.is_empty() {
        return Err(format!("no {BENCH_CSV}.csv rows in {}", dir.display()));
    }
    Ok(rows)
}

/// The whole Markdown report: a header saying what ran, then [`summary`].
pub fn report(rows: &[BenchRow]) -> String {
    let first = rows.first();
    let reps = rows.iter().map(|r| r.repetition).max().unwrap_or(0);
    format!(
        "# pktmmap bench, {}\n\n{} packets of {} B per run; up to {reps} repetitions, tools alternating; native veth; sender on core 0, receiver/meter on core 1; RPS {}; kernel {}, tools at {}.\n{}",
        first.map_or("", |r| r.time.as_str()),
        first.map_or(0, |r| r.count),
        first.map_or(0, |r| r.size),
        if rows.iter().any(|r| r.rps) { "on" } else { "off" },
        first.map_or("", |r| r.kernel.as_str()),
        first.map_or("", |r| r.git_commit.as_str()),
        summary(rows)
    )
}

/// The median, minimum and maximum of `values`.
fn stats(values: Vec<f64>) -> Option<(f64, f64, f64)> {
    stat(values).map(|s| (s.median, s.min, s.max))
}

fn group<'a>(
    rows: &'a [BenchRow],
    phase: &'a str,
    fate: Fate,
) -> impl Iterator<Item = &'a BenchRow> + 'a {
    rows.iter()
        .filter(move |r| r.phase == phase && r.fate == fate && r.status == Status::Ok)
}

/// Per-repetition ratios `a / b` of the received pps in one table (phase, fate, rate) (both measured in the
/// same repetition, so under the same conditions): median, min, max.
pub fn pair_ratio(
    rows: &[BenchRow],
    phase: &str,
    fate: Fate,
    rate: &str,
    a: &str,
    b: &str,
) -> Option<(f64, f64, f64)> {
    let table = || group(rows, phase, fate).filter(move |r| r.requested_rate == rate);
    let of = |tool: &str, rep: u32| {
        table()
            .find(|r| r.tool == tool && r.repetition == rep)
            .and_then(|r| r.pps)
    };
    let reps: Vec<u32> = table().map(|r| r.repetition).collect();
    let mut ratios = Vec::new();
    let mut seen = Vec::new();
    for rep in reps {
        if seen.contains(&rep) {
            continue;
        }
        seen.push(rep);
        if let (Some(x), Some(y)) = (of(a, rep), of(b, rep)) {
            if y > 0.0 {
                ratios.push(x / y);
            }
        }
    }
    stats(ratios)
}

/// The Markdown summary: a table per phase and fate (median pps, spread, CPU), then ratios.
pub fn summary(rows: &[BenchRow]) -> String {
    let mut md = String::new();
    let tables = [
        (
            "send-unpaced",
            Fate::IngressDrop,
            "Senders, unpaced, packets consumed at ingress",
        ),
        (
            "send-unpaced",
            Fate::Socket,
            "Senders, unpaced, packets read by a UDP socket",
        ),
        (
            "send-paced",
            Fate::IngressDrop,
            "Senders, paced, packets consumed at ingress",
        ),
        (
            "receive",
            Fate::Stack,
            "mmap-rx (kernel stack also sees the packets)",
        ),
        ("receive", Fate::Socket, "udp-rx"),
        (
            "receive",
            Fate::XdpRedirect,
            "xdp-rx (its XDP program takes the packets)",
        ),
    ];
    for (phase, fate, title) in tables {
        let rs: Vec<&BenchRow> = group(rows, phase, fate).collect();
        if rs.is_empty() {
            continue;
        }
        let _ = writeln!(md, "\n### {title} (`{phase}`, fate `{fate}`)\n");
        let _ = writeln!(
            md,
            "| tool | requested | runs | median pps | min–max pps | received / sender wall s | tx CPU s | rx CPU s / M pkt | lost (median) | kernel drops (max) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        let mut keys: Vec<(String, String)> = Vec::new();
        for r in &rs {
            let k = (r.tool.clone(), r.requested_rate.clone());
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for (tool, rate) in keys {
            let of: Vec<&&BenchRow> = rs
                .iter()
                .filter(|r| r.tool == tool && r.requested_rate == rate)
                .collect();
            let pps = stats(of.iter().filter_map(|r| r.pps).collect());
            let tx_cpu = stats(of.iter().filter_map(|r| r.tx_cpu_s).collect());
            let kept = stats(
                of.iter()
                    .filter_map(|r| Some(r.received? as f64 / r.tx_wall_s?))
                    .collect(),
            );
            let per_m = stats(of.iter().filter_map(|r| r.rx_cpu_s_per_mpkt).collect());
            let lost = stats(of.iter().filter_map(|r| r.lost.map(|v| v as f64)).collect());
            let drops = of.iter().filter_map(|r| r.kernel_drops).max();
            let _ = writeln!(
                md,
                "| {tool} | {rate} | {} | {} | {} | {} | {} | {} | {} | {} |",
                of.len(),
                pps.map_or("-".into(), |(m, _, _)| format!("{m:.0}")),
                pps.map_or("-".into(), |(_, lo, hi)| format!("{lo:.0}–{hi:.0}")),
                kept.map_or("-".into(), |(m, _, _)| format!("{m:.0}")),
                tx_cpu.map_or("-".into(), |(m, _, _)| format!("{m:.2}")),
                per_m.map_or("-".into(), |(m, _, _)| format!("{m:.2}")),
                lost.map_or("-".into(), |(m, _, _)| format!("{m:.0}")),
                drops.map_or("-".into(), |d| d.to_string()),
            );
        }
    }
    let _ = writeln!(
        md,
        "\n### Ratios (per repetition, same conditions; median, min–max)\n"
    );
    let _ = writeln!(md, "| ratio | table | median | min–max |");
    let _ = writeln!(md, "|---|---|---|---|");
    let pairs = [
        ("mmap-tx-v3", "trafgen", "send-unpaced", Fate::IngressDrop),
        ("mmap-tx-v3", "trafgen", "send-unpaced", Fate::Socket),
        ("mmap-tx-v3", "udp-tx", "send-unpaced", Fate::IngressDrop),
        ("mmap-tx-v3", "udp-tx", "send-unpaced", Fate::Socket),
        (
            "mmap-tx-v3",
            "udp-tx-mmsg",
            "send-unpaced",
            Fate::IngressDrop,
        ),
        ("mmap-tx-v3", "udp-tx-mmsg", "send-unpaced", Fate::Socket),
        ("udp-tx-mmsg", "udp-tx", "send-unpaced", Fate::IngressDrop),
        ("mmap-tx-v3", "iperf3", "send-unpaced", Fate::IngressDrop),
        ("mmap-tx-v3", "iperf3", "send-unpaced", Fate::Socket),
        (
            "mmap-tx-v3",
            "mmap-tx-v2",
            "send-unpaced",
            Fate::IngressDrop,
        ),
        ("mmap-tx-v3", "trafgen", "send-paced", Fate::IngressDrop),
        ("mmap-tx-v3", "udp-tx", "send-paced", Fate::IngressDrop),
        ("xdp-tx", "mmap-tx-v3", "send-unpaced", Fate::IngressDrop),
        ("xdp-tx", "mmap-tx-v3", "send-unpaced", Fate::Socket),
        ("xdp-tx", "trafgen", "send-unpaced", Fate::IngressDrop),
        ("xdp-tx", "mmap-tx-v3", "send-paced", Fate::IngressDrop),
    ];
    for (a, b, phase, fate) in pairs {
        for rate in rates(rows, phase) {
            if let Some((m, lo, hi)) = pair_ratio(rows, phase, fate, &rate, a, b) {
                let _ = writeln!(
                    md,
                    "| {a} / {b} | {phase} {rate}, {fate} | {m:.2} | {lo:.2}–{hi:.2} |"
                );
            }
        }
    }
    // Paced against unpaced, per tool (both with packets consumed at ingress), by arrival
    // rate and by the rate kept over the sender's whole run.
    let paced_rates = rates(rows, "send-paced");
    if !paced_rates.is_empty() {
        let _ = writeln!(
            md,
            "\n### Paced against unpaced (medians, ingress-drop)\n\n| tool | paced at | arrival pps paced / unpaced | received per sender wall s, paced / unpaced arrival pps |\n|---|---|---|---|"
        );
    }
    for rate in paced_rates {
        for tool in Sender::ALL.map(Sender::name) {
            let of = |phase: &'static str, rate: Option<String>| {
                group(rows, phase, Fate::IngressDrop).filter(move |r| {
                    r.tool == tool && rate.as_ref().is_none_or(|x| &r.requested_rate == x)
                })
            };
            let unpaced = stats(of("send-unpaced", None).filter_map(|r| r.pps).collect());
            let paced = stats(
                of("send-paced", Some(rate.clone()))
                    .filter_map(|r| r.pps)
                    .collect(),
            );
            let kept = stats(
                of("send-paced", Some(rate.clone()))
                    .filter_map(|r| Some(r.received? as f64 / r.tx_wall_s?))
                    .collect(),
            );
            if let (Some((u, _, _)), Some((p, _, _)), Some((k, _, _))) = (unpaced, paced, kept) {
                let _ = writeln!(md, "| {tool} | {rate} | {:.2} | {:.2} |", p / u, k / u);
            }
        }
    }
    md.push_str(&capacity_summary(rows));
    md
}

/// The requested rates of a phase, in order of appearance.
fn rates(rows: &[BenchRow], phase: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for r in rows.iter().filter(|r| r.phase == phase) {
        if !v.contains(&r.requested_rate) {
            v.push(r.requested_rate.clone());
        }
    }
    v
}

/// A receiver's capacity, as far as the capacity phase could tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// The highest requested rate at which every run lost nothing and the kernel dropped
    /// nothing (every lower rate clean too).
    pub rate: String,
    /// The median received rate there.
    pub received_pps: f64,
    /// True if no rate tried lost anything: the receiver took all it was offered, so its
    /// capacity is at least `received_pps` and the sender was the limit.
    pub at_least: bool,
}

/// Each receiver's capacity: the highest clean rate below the first that lost anything.
pub fn capacity(rows: &[BenchRow], receiver: &str) -> Option<Capacity> {
    let mut best: Option<Capacity> = None;
    let all = rates(rows, "capacity");
    for (i, rate) in all.iter().enumerate() {
        let runs: Vec<&BenchRow> = rows
            .iter()
            .filter(|r| r.phase == "capacity" && r.tool == receiver && &r.requested_rate == rate)
            .collect();
        let clean = !runs.is_empty()
            && runs
                .iter()
                .all(|r| r.status == Status::Ok && r.lost == Some(0) && r.kernel_drops == Some(0));
        if !clean {
            break;
        }
        best = Some(Capacity {
            rate: rate.clone(),
            received_pps: stats(runs.iter().filter_map(|r| r.pps).collect()).map_or(0.0, |s| s.0),
            at_least: i + 1 == all.len(),
        });
    }
    best
}

fn capacity_summary(rows: &[BenchRow]) -> String {
    if !rows.iter().any(|r| r.phase == "capacity") {
        return String::new();
    }
    let rps = rows.iter().any(|r| r.phase == "capacity" && r.rps);
    let mut md = format!(
        "\n### Receive capacity (RPS {}): highest offered rate with nothing lost\n\n| receiver | requested | runs | mmap-tx achieved pps (median) | received pps (median) | lost (max) | kernel drops (max) | rx CPU s / M pkt |\n|---|---|---|---|---|---|---|---|\n",
        if rps { "on" } else { "off" }
    );
    for receiver in RECEIVERS {
        for rate in rates(rows, "capacity") {
            let runs: Vec<&BenchRow> = rows
                .iter()
                .filter(|r| r.phase == "capacity" && r.tool == receiver && r.requested_rate == rate)
                .collect();
            let pps = stats(runs.iter().filter_map(|r| r.pps).collect());
            let offered = stats(runs.iter().filter_map(|r| r.offered_pps).collect());
            let per_m = stats(runs.iter().filter_map(|r| r.rx_cpu_s_per_mpkt).collect());
            let _ = writeln!(
                md,
                "| {receiver} | {rate} | {} | {} | {} | {} | {} | {} |",
                runs.len(),
                offered.map_or("-".into(), |(m, _, _)| format!("{m:.0}")),
                pps.map_or("-".into(), |(m, _, _)| format!("{m:.0}")),
                runs.iter()
                    .filter_map(|r| r.lost)
                    .max()
                    .map_or("-".into(), |v| v.to_string()),
                runs.iter()
                    .filter_map(|r| r.kernel_drops)
                    .max()
                    .map_or("-".into(), |v| v.to_string()),
                per_m.map_or("-".into(), |(m, _, _)| format!("{m:.2}")),
            );
        }
    }
    for receiver in RECEIVERS {
        let verdict = match capacity(rows, receiver) {
            None => "below the lowest rate tried".to_string(),
            Some(c) if c.at_least => format!(
                "at least {:.0} pps: nothing lost at any rate tried (up to {}); the sender was the limit",
                c.received_pps, c.rate
            ),
            Some(c) => format!(
                "{:.0} pps received with nothing lost at {} requested; the next rate lost packets",
                c.received_pps, c.rate
            ),
        };
        let _ = writeln!(md, "\n**{receiver} capacity: {verdict}**");
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(phase: &str, fate: Fate, tool: &str, rep: u32, pps: f64) -> BenchRow {
        BenchRow {
            phase: phase.into(),
            fate,
            tool: tool.into(),
            repetition: rep,
            pps: Some(pps),
            status: Status::Ok,
            requested_rate: "max".into(),
            ..BenchRow::default()
        }
    }

    #[test]
    fn a_senders_command_line_value_is_its_csv_name() {
        use clap::ValueEnum;
        for s in Sender::ALL {
            assert_eq!(Sender::from_str(s.name(), false), Ok(s));
        }
        assert_eq!(Sender::value_variants(), Sender::ALL.as_slice());
    }

    #[test]
    fn ratios_pair_runs_of_the_same_repetition() {
        let rows = vec![
            row("send-unpaced", Fate::Socket, "mmap-tx-v3", 1, 300.0),
            row("send-unpaced", Fate::Socket, "udp-tx", 1, 100.0),
            row("send-unpaced", Fate::Socket, "mmap-tx-v3", 2, 200.0),
            row("send-unpaced", Fate::Socket, "udp-tx", 2, 200.0),
            row("send-unpaced", Fate::Socket, "mmap-tx-v3", 3, 400.0),
            row("send-unpaced", Fate::Socket, "udp-tx", 3, 200.0),
            // Another table and a failed run take no part.
            row("send-unpaced", Fate::IngressDrop, "udp-tx", 1, 1.0),
            BenchRow {
                status: Status::Failed,
                ..row("send-unpaced", Fate::Socket, "udp-tx", 4, 1.0)
            },
            row("send-unpaced", Fate::Socket, "mmap-tx-v3", 4, 900.0),
        ];
        let (m, lo, hi) = pair_ratio(
            &rows,
            "send-unpaced",
            Fate::Socket,
            "max",
            "mmap-tx-v3",
            "udp-tx",
        )
        .expect("three paired repetitions");
        assert_eq!((m, lo, hi), (2.0, 1.0, 3.0));
        assert!(pair_ratio(
            &rows,
            "send-paced",
            Fate::Socket,
            "max",
            "mmap-tx-v3",
            "udp-tx"
        )
        .is_none());
        assert!(pair_ratio(
            &rows,
            "send-unpaced",
            Fate::Socket,
            "1pps",
            "mmap-tx-v3",
            "udp-tx"
        )
        .is_none());
    }

    #[test]
    fn the_summary_shows_medians_and_ratios() {
        let mut rows = Vec::new();
        for (rep, (a, b)) in [(1, (500.0, 250.0)), (2, (480.0, 240.0))] {
            rows.push(row("send-unpaced", Fate::IngressDrop, "mmap-tx-v3", rep, a));
            rows.push(row("send-unpaced", Fate::IngressDrop, "trafgen", rep, b));
        }
        let md = summary(&rows);
        assert!(
            md.contains("| mmap-tx-v3 | max | 2 | 490 | 480–500 |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| mmap-tx-v3 / trafgen | send-unpaced max, ingress-drop | 2.00 | 2.00–2.00 |"
            ),
            "{md}"
        );
    }

    #[test]
    fn capacity_is_the_highest_clean_rate_below_the_first_loss() {
        let run = |tool: &str, rate: &str, rep: u32, lost: u64, drops: u64| BenchRow {
            phase: "capacity".into(),
            tool: tool.into(),
            requested_rate: rate.into(),
            repetition: rep,
            lost: Some(lost),
            kernel_drops: Some(drops),
            status: Status::Ok,
            ..BenchRow::default()
        };
        let rows = vec![
            run("mmap-rx", "100pps", 1, 0, 0),
            run("mmap-rx", "100pps", 2, 0, 0),
            run("mmap-rx", "200pps", 1, 0, 0),
            run("mmap-rx", "200pps", 2, 0, 3),
            // Clean again at a higher rate: luck, not capacity.
            run("mmap-rx", "300pps", 1, 0, 0),
            run("udp-rx", "100pps", 1, 5, 5),
        ];
        let c = capacity(&rows, "mmap-rx").expect("clean at 100pps");
        assert_eq!((c.rate.as_str(), c.at_least), ("100pps", false));
        assert_eq!(capacity(&rows, "udp-rx"), None);
        let clean_to_the_top = vec![run("mmap-rx", "100pps", 1, 0, 0)];
        assert!(capacity(&clean_to_the_top, "mmap-rx").unwrap().at_least);
        assert!(summary(&rows).contains("**udp-rx capacity: below the lowest rate tried**"));
    }

    #[test]
    fn trafgen_gets_the_frame_byte_for_byte() {
        let hex: String = (0..30u8).map(|b| format!("{b:02x}")).collect();
        let conf = trafgen_conf(&hex, 30).unwrap();
        let bytes: Vec<u8> = conf
            .lines()
            .filter(|l| l.starts_with("0x"))
            .flat_map(|l| l.split(','))
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .map(|t| u8::from_str_radix(t.trim_start_matches("0x"), 16).unwrap())
            .collect();
        assert_eq!(bytes, (0..30u8).collect::<Vec<_>>());
        assert!(conf.contains("{\n") && conf.ends_with("}\n"), "{conf}");
        assert!(trafgen_conf(&hex, 31).is_err(), "a short frame is refused");
        assert!(
            trafgen_conf(&"zz".repeat(30), 30).is_err(),
            "non-hex is refused"
        );
    }

    #[test]
    fn the_csv_header_names_every_field() {
        let h = header_of::<BenchRow>();
        assert!(h.starts_with("time,phase,fate,rps,tool,repetition,"), "{h}");
        assert!(h.contains(",rx_cpu_s_per_mpkt,"), "{h}");
    }
}
