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
//!
//! The module's parts: this file holds what a run is (senders, phases, the plan, the CSV row);
//! [`measure`] runs it (the native set-up, the meter, one process per tool and run);
//! [`summary`] turns rows into the Markdown report (medians, paired ratios, capacity).

pub mod measure;
pub mod summary;

use crate::experiment::Error;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::experiment::place::setup::Setups;
use crate::experiment::plan::apps::ToolBin;
use crate::experiment::plan::kinds::{App, Fate, Status};
use crate::experiment::rows::read_csv_rows;
use crate::pace::Rate;

pub use measure::execute;
pub use summary::{capacity, pair_ratio, report, summary, write_report, Capacity};

/// The benchmark's receive phases: each name and the sender that offers the traffic.
pub const RECEIVE_PHASES: [(&str, Sender); 2] = [
    ("receive", Sender::MmapV3),
    ("receive-gso", Sender::MmapGso),
];

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
    /// The `udp-gso` app's sender (udp-tx --gso 64 --batch 8): the strongest socket path,
    /// GSO super-packets of 64 datagrams (fewer where 64 do not fit), 8 per sendmmsg().
    #[value(name = "udp-tx-gso")]
    UdpGso,
    /// The `mmap-gso` app's sender (mmap-tx --gso 64): GSO super-packets through the TX ring.
    #[value(name = "mmap-tx-gso")]
    MmapGso,
    /// netsniff-ng's trafgen, one process (`-P 1`), fed the bytes of mmap-tx's first frame.
    #[value(name = "trafgen")]
    Trafgen,
    /// iperf3 in UDP mode (`-u -l SIZE`).
    #[value(name = "iperf3")]
    Iperf3,
    /// xdp-tx: an AF_XDP socket's TX ring.
    #[value(name = "xdp-tx")]
    Xdp,
    /// DPDK's dpdk-testpmd, `txonly` on one forwarding core, over the `net_af_packet`
    /// poll-mode driver (a packet_mmap ring underneath).
    #[value(name = "testpmd-af_packet")]
    TestpmdAfPacket,
    /// dpdk-testpmd `txonly` over the `net_af_xdp` poll-mode driver (an AF_XDP socket).
    #[value(name = "testpmd-af_xdp")]
    TestpmdAfXdp,
}

/// A receiver under test (its name in the CSV is [`Receiver::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    /// mmap-rx: a TPACKET_V3 RX ring.
    MmapRx,
    /// udp-rx: one recvmsg() per datagram.
    UdpRx,
    /// udp-rx --batch 64: one recvmmsg() of up to 64 datagrams.
    UdpRxMmsg,
    /// udp-rx --gro --batch 8: coalesced datagrams (UDP_GRO), 8 reads per recvmmsg().
    UdpRxGro,
    /// xdp-rx: an AF_XDP socket and its XDP program.
    XdpRx,
}

impl Receiver {
    /// Every receiver, in the order they alternate.
    pub const ALL: [Receiver; 5] = [
        Receiver::MmapRx,
        Receiver::UdpRx,
        Receiver::UdpRxMmsg,
        Receiver::UdpRxGro,
        Receiver::XdpRx,
    ];

    /// The receiver's name in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Receiver::MmapRx => "mmap-rx",
            Receiver::UdpRx => "udp-rx",
            Receiver::UdpRxMmsg => "udp-rx-mmsg",
            Receiver::UdpRxGro => "udp-rx-gro",
            Receiver::XdpRx => "xdp-rx",
        }
    }

    /// Our tool and its options (`udp-rx-gro` is the `udp-gso` app's receiver).
    pub fn tool(self) -> (ToolBin, Vec<String>) {
        match self {
            Receiver::MmapRx => (ToolBin::MmapRx, Vec::new()),
            Receiver::UdpRx => (ToolBin::UdpRx, Vec::new()),
            Receiver::UdpRxMmsg => (ToolBin::UdpRx, vec!["--batch".into(), "64".into()]),
            Receiver::UdpRxGro => {
                let spec = App::UdpGso.spec();
                (spec.receiver, spec.receiver_extra())
            }
            Receiver::XdpRx => (ToolBin::XdpRx, Vec::new()),
        }
    }

    /// Its receive-side fate: mmap-rx leaves packets to the stack too, udp-rx's end in its
    /// socket, xdp-rx's program takes them before the stack.
    fn fate(self) -> Fate {
        Fate::Stack.for_app(self.tool().0.app())
    }
}

impl std::fmt::Display for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

impl Sender {
    /// Every sender, in the order they alternate.
    pub const ALL: [Sender; 11] = [
        Sender::MmapV3,
        Sender::MmapV2,
        Sender::Udp,
        Sender::UdpBatch,
        Sender::UdpGso,
        Sender::MmapGso,
        Sender::Trafgen,
        Sender::Iperf3,
        Sender::Xdp,
        Sender::TestpmdAfPacket,
        Sender::TestpmdAfXdp,
    ];

    /// The senders to run: those `wanted` (all when empty), less those whose program is not
    /// installed, each skip said on stderr.
    pub fn installed(wanted: &[Sender]) -> Vec<Sender> {
        let mut chosen = Vec::new();
        for s in Sender::ALL {
            if !wanted.is_empty() && !wanted.contains(&s) {
                continue;
            }
            match s.program() {
                Some(p) if which(p).is_none() => eprintln!(
                    "pktmmap bench: {p} is not installed; skipping {} (experiments/bench installs it)",
                    s.name()
                ),
                _ => chosen.push(s),
            }
        }
        chosen
    }

    /// The sender's name in the CSV and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Sender::MmapV3 => "mmap-tx-v3",
            Sender::MmapV2 => "mmap-tx-v2",
            Sender::Udp => "udp-tx",
            Sender::UdpBatch => "udp-tx-mmsg",
            Sender::UdpGso => "udp-tx-gso",
            Sender::MmapGso => "mmap-tx-gso",
            Sender::Trafgen => "trafgen",
            Sender::Iperf3 => "iperf3",
            Sender::Xdp => "xdp-tx",
            Sender::TestpmdAfPacket => "testpmd-af_packet",
            Sender::TestpmdAfXdp => "testpmd-af_xdp",
        }
    }

    /// True for a sender that has no count and no rate: it sends until interrupted, and is
    /// measured by a meter that stops at the count (testpmd's txonly mode). Such senders run
    /// in the unpaced tables only, and their loss is not known.
    pub fn endless(self) -> bool {
        matches!(self, Sender::TestpmdAfPacket | Sender::TestpmdAfXdp)
    }

    /// One of our tools and its options for that sender at payloads of `size` bytes; `None`
    /// for another program. The GSO senders are the registry's GSO apps' senders, with as
    /// many segments as fit one UDP datagram at `size`.
    pub fn ours(self, size: usize) -> Option<(ToolBin, Vec<String>)> {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        let app = |app: App| {
            let spec = app.spec();
            (spec.sender, spec.sender_extra(size))
        };
        Some(match self {
            Sender::MmapV3 => (ToolBin::MmapTx, Vec::new()),
            Sender::MmapV2 => (ToolBin::MmapTx, words(&["--ring-version", "v2"])),
            Sender::Udp => (ToolBin::UdpTx, Vec::new()),
            Sender::UdpBatch => (ToolBin::UdpTx, words(&["--batch", "64"])),
            Sender::UdpGso => app(App::UdpGso),
            Sender::MmapGso => app(App::MmapGso),
            Sender::Xdp => (ToolBin::XdpTx, Vec::new()),
            _ => return None,
        })
    }

    /// The external program it needs (trafgen, iperf3, dpdk-testpmd), looked up on PATH;
    /// `None` for ours.
    pub fn program(self) -> Option<&'static str> {
        match self {
            Sender::Trafgen => Some("trafgen"),
            Sender::Iperf3 => Some("iperf3"),
            Sender::TestpmdAfPacket | Sender::TestpmdAfXdp => Some("dpdk-testpmd"),
            _ => None,
        }
    }
}

/// A part of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// The senders, unpaced (both fates) and paced.
    Send,
    /// The receivers at a fixed offered rate and at the offering sender's fastest, offered
    /// by mmap-tx (`receive`) and by mmap-tx's GSO super-packets (`receive-gso`).
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

/// Looks a program up in PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}
/// Where a benchmark's results go unless told: `results/bench/<UTC time>[-rps]`.
pub fn default_out(rps: bool) -> PathBuf {
    PathBuf::from("results").join("bench").join(format!(
        "{}{}",
        crate::experiment::rows::utc_now().replace(':', "-"),
        if rps { "-rps" } else { "" }
    ))
}

/// Reads every `bench-v1*.csv` in `dir`.
pub fn read_bench_rows(dir: &Path) -> Result<Vec<BenchRow>, Error> {
    let rows: Vec<BenchRow> = read_csv_rows(dir, BENCH_CSV)?;
    if rows.is_empty() {
        return Err(Error::Request(format!(
            "no {BENCH_CSV}.csv rows in {}",
            dir.display()
        )));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::rows::header_of;

    #[test]
    fn a_senders_command_line_value_is_its_csv_name() {
        use clap::ValueEnum;
        for s in Sender::ALL {
            assert_eq!(Sender::from_str(s.name(), false), Ok(s));
        }
        assert_eq!(Sender::value_variants(), Sender::ALL.as_slice());
    }

    #[test]
    fn the_gso_senders_and_receiver_are_the_registrys_sized_to_the_payload() {
        let words = |s: Sender, size| s.ours(size).unwrap().1.join(" ");
        assert_eq!(words(Sender::UdpGso, 64), "--batch 8 --gso 64");
        assert_eq!(words(Sender::MmapGso, 64), "--gso 64");
        // 64 x 1,024 B is over one UDP datagram: the benchmark must not ask for it.
        assert_eq!(words(Sender::MmapGso, 1024), "--gso 63");
        assert_eq!(Sender::Trafgen.ours(64), None);
        assert_eq!(Receiver::UdpRxGro.tool().1.join(" "), "--gro --batch 8");
    }

    #[test]
    fn the_csv_header_names_every_field() {
        let h = header_of::<BenchRow>();
        assert!(h.starts_with("time,phase,fate,rps,tool,repetition,"), "{h}");
        assert!(h.contains(",rx_cpu_s_per_mpkt,"), "{h}");
    }
}
