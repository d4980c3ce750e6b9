//! `mmap-rx`: test datagrams from a TPACKET_V3 RX ring.

use std::sync::atomic::AtomicBool;

use crate::backend::mmap::MmapRx;
use crate::cli::{self, CliError};
use crate::engine::{self, StopRule};
use crate::net;
use crate::pcap::{Capture, Format};
use crate::report::{RxInterval, RxSummary, StopReason};
use crate::ring::{filter, RxConfig, RxRing};
use crate::stats::MAX_WINDOW;

/// The tool's name in messages and summaries.
pub const TOOL: &str = "mmap-rx";

/// Which frames enter the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FilterMode {
    /// Only IPv4 UDP to --port enters the ring (a classic BPF filter in the kernel).
    Flow,
    /// Every frame on the interface enters the ring and is classified (for hostile traffic).
    None,
}

/// How the kernel spreads packets over the threads of a `PACKET_FANOUT` group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FanoutMode {
    /// Round robin over the threads: spreads even a single flow.
    Lb,
    /// By flow hash: one flow stays on one thread, in order (for many flows).
    Hash,
    /// By the CPU that received the packet (follows RSS/RPS).
    Cpu,
}

impl FanoutMode {
    fn kernel(self) -> u16 {
        (match self {
            FanoutMode::Lb => libc::PACKET_FANOUT_LB,
            FanoutMode::Hash => libc::PACKET_FANOUT_HASH,
            FanoutMode::Cpu => libc::PACKET_FANOUT_CPU,
        }) as u16
    }
}

/// Receive test datagrams with packet_mmap: a TPACKET_V3 RX ring shared with the kernel.
///
/// Counts every well-formed IPv4 UDP datagram to --port. Where the payload starts with a
/// pktmmap probe it also counts unique, lost, duplicated and reordered sequence numbers and
/// one-way latency (probe send time to kernel receive timestamp). Prints "ready" on stderr once
/// it can receive. Needs CAP_NET_RAW.
#[derive(Debug, clap::Parser)]
#[command(name = "mmap-rx", version)]
pub struct Args {
    /// What to count and when to stop.
    #[command(flatten)]
    pub recv: cli::ReceiveOptions,
    /// Interface to capture on.
    #[arg(long, short = 'i')]
    pub interface: String,
    /// Which frames enter the ring.
    #[arg(long, value_enum, default_value_t = FilterMode::Flow)]
    pub filter: FilterMode,
    /// The ring's shape.
    #[command(flatten)]
    pub ring: super::options::RxRingArgs,
    /// Receive threads, each with its own ring, in one PACKET_FANOUT group; their counts are
    /// merged exactly (needs --count). With --cpu C, thread i runs on core C + i (wrapping
    /// around the machine's cores).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// How the kernel spreads packets over the threads.
    #[arg(long, value_enum, default_value_t = FanoutMode::Lb)]
    pub fanout: FanoutMode,
    /// Write every frame the ring receives to FILE (never over an existing file), with the
    /// kernel's nanosecond timestamps, for tcpdump, tshark or Wireshark. A writer thread does
    /// the writing; the receive threads only copy each block.
    #[arg(long, value_name = "FILE")]
    pub write: Option<std::path::PathBuf>,
    /// The capture's format (default: pcapng for a .pcapng file name, else pcap).
    #[arg(long, value_enum, requires = "write")]
    pub format: Option<Format>,
    /// Bytes of each frame written (longer frames are cut; the record keeps the wire length).
    #[arg(long, default_value_t = 262_144, requires = "write",
          value_parser = clap::value_parser!(u32).range(14..))]
    pub snaplen: u32,
}

/// Opens one ring per thread, drops every capability, says ready and receives.
pub fn run(args: &Args, stop: &AtomicBool) -> Result<(RxSummary, i32), CliError> {
    let rule = StopRule::new(args.recv.count, args.recv.idle_timeout)?;
    let threads = usize::from(args.threads);
    if threads > 1 && args.recv.count.is_none_or(|n| n > MAX_WINDOW) {
        return Err(CliError::new(
            cli::Failure::Usage,
            format!("--threads needs --count (at most {MAX_WINDOW}) to merge the threads' counts exactly"),
        ));
    }
    cli::pin(args.recv.process.cpu)?;
    let iface = net::interface_up(&args.interface)?;
    let config = RxConfig::new(
        &args.ring.options(),
        iface.mtu,
        (args.filter == FilterMode::Flow).then(|| filter::udp_dst_port(args.recv.port)),
        // One group per process: the id only has to differ from other groups on this host.
        (threads > 1).then(|| (std::process::id() as u16, args.fanout.kernel())),
    )?;
    // Created before any packet is received: a path that cannot be written fails now.
    let capture = match &args.write {
        Some(path) => Some(Capture::create(
            path,
            args.format.unwrap_or_else(|| Format::for_path(path)),
            args.snaplen,
        )?),
        None => None,
    };
    let lanes = (0..threads)
        .map(|_| {
            RxRing::open(iface.index, &config)
                .map(|ring| {
                    let rx = MmapRx::new(ring, args.recv.port, config.retire_timeout_ms);
                    match &capture {
                        Some(c) => rx.with_capture(c.lane()),
                        None => rx,
                    }
                })
                .map_err(|e| cli::from_sys(TOOL, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let reflect = super::raw_reflector(&args.recv)?;
    cli::drop_capabilities()?;
    let g = config.geometry;
    eprintln!(
        "{TOOL}: ready on {} port {} (ring {} x {} B{})",
        iface.name,
        args.recv.port,
        g.block_count,
        g.block_size,
        if threads > 1 {
            format!(" per thread, {threads} threads, fanout {:?}", args.fanout).to_lowercase()
        } else {
            String::new()
        }
    );
    let mut plan = super::receive_plan(&args.recv, TOOL, iface.name.clone());
    plan.reflect = reflect;
    let mut print = args.recv.process.interval_printer(RxInterval::to_text);
    let (mut summary, mut code) =
        cli::with_exit_code(engine::receive(lanes, &plan, rule, stop, &mut print)?);
    if let Some(c) = capture {
        let (written, error) = c.finish();
        if let Some(e) = error {
            // The run stopped on this error already, unless it came with the last blocks.
            if summary.error.is_none() {
                summary.error = Some(e);
                summary.partial = true;
                summary.stop_reason = StopReason::Error;
                code = cli::exit_code_for(StopReason::Error);
            }
        }
        summary.capture = Some(written);
    }
    Ok((summary, code))
}
