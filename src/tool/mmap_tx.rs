//! `mmap-tx`: test datagrams through a packet_mmap TX ring.

use crate::backend::mmap::{Frames, MmapTx};
use crate::cli::{self, CliError};
use crate::engine;
use crate::pcap;
use crate::report::{ReplaySummary, TxInterval, TxSummary};
use crate::ring::{TxRing, TxRingOptions};
use crate::wire::frame::ETH_HEADER_LEN;
use crate::wire::FRAME_OVERHEAD;
use std::sync::atomic::AtomicBool;

/// The tool's name in messages and summaries.
pub const TOOL: &str = "mmap-tx";

/// Send test datagrams with packet_mmap: frames are written into a TX ring shared with the
/// kernel and flushed in batches with one send() each.
///
/// Frames are Ethernet II + IPv4 (valid checksum, DF, TTL 64) + UDP (valid checksum), whose
/// payload starts with a pktmmap probe (run id, sequence number, send time). The destination
/// MAC comes from the kernel's neighbour table (resolved if needed). Needs CAP_NET_RAW.
#[derive(Debug, clap::Parser)]
#[command(name = "mmap-tx", version)]
pub struct Args {
    /// What to send, how much and how fast.
    #[command(flatten)]
    pub send: cli::SendOptions,
    /// The interface and the destination's MAC.
    #[command(flatten)]
    pub link: super::LinkOptions,
    /// The ring's shape.
    #[command(flatten)]
    pub ring: TxRingOptions,
    /// Frames published per send() when unpaced.
    #[arg(long, default_value_t = 256)]
    pub batch: u32,
    /// Sending threads, each with its own socket and ring; thread i sends sequence numbers
    /// i, i + N, i + 2N, ... With --cpu C, thread i runs on core C + i (wrapping around the
    /// machine's cores); a rate is shared equally between them.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// Print the first frame this command would send, in hex on one line, and exit without
    /// opening a ring: the same bytes for another generator (the benchmark feeds trafgen).
    #[arg(long)]
    pub print_frame: bool,
    /// Replay the Ethernet frames of a pcap or pcapng file instead of the test flow: frame
    /// k % N for packet k, at --rate (bit rates count the capture's mean frame length) until
    /// --count. Sent as captured, unless --stamp. --dst-ip and --size are not used.
    #[arg(long, value_name = "FILE", conflicts_with = "print_frame")]
    pub pcap: Option<std::path::PathBuf>,
    /// With --pcap: stamp a probe (run id, sequence number, send time) into every replayed
    /// IPv4 UDP frame with room for one, so that a receiver counts loss and latency; the UDP
    /// checksum becomes 0 (none).
    #[arg(long, requires = "pcap")]
    pub stamp: bool,
    /// With --pcap: skip and count frames longer than the interface sends, instead of
    /// refusing the file.
    #[arg(long, requires = "pcap")]
    pub skip_oversize: bool,
}

/// The first frame this command would send, in hex (`--print-frame`).
pub fn first_frame_hex(args: &Args) -> Result<String, CliError> {
    let f = args.link.frame_flow(&args.send)?;
    let mut frame = f.template.bytes().to_vec();
    f.template
        .stamp(&mut frame, 0, crate::process::realtime_ns());
    Ok(crate::inject::to_hex_line(&frame))
}

/// Opens one ring per thread, drops every capability and sends.
pub fn run(args: &Args, stop: &AtomicBool) -> Result<(TxSummary, i32), CliError> {
    args.send.rate()?; // a bad --rate fails before anything is opened
    cli::pin(args.send.process.cpu)?;
    if let Some(path) = &args.pcap {
        return replay(args, path, stop);
    }
    let f = args.link.frame_flow(&args.send)?;
    let rings = open_rings(args, &f.iface)?;
    let lanes = rings
        .into_iter()
        .map(|ring| MmapTx::new(ring, Frames::Probe(&f.template)))
        .collect();
    let plan = f.plan(TOOL, &args.send, u64::from(args.batch))?;
    let mut print = args.send.process.interval_printer(TxInterval::to_text);
    engine::send(lanes, &plan, stop, &mut print).map(cli::with_exit_code)
}

/// One ring per thread; then every capability is dropped (the sockets, the rings and the
/// neighbour's address are all we needed privileges for).
fn open_rings(args: &Args, iface: &crate::net::Interface) -> Result<Vec<TxRing>, CliError> {
    let rings = (0..args.threads)
        .map(|_| {
            TxRing::open_with(iface.index, iface.mtu, &args.ring)
                .map_err(|e| cli::from_open(TOOL, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    cli::drop_capabilities()?;
    if rings[0].version() != args.ring.ring_version {
        eprintln!(
            "{TOOL}: this kernel has no {} TX ring; fell back to {}",
            args.ring.ring_version,
            rings[0].version()
        );
    }
    Ok(rings)
}

/// `--pcap`: the capture's frames through the rings, stamped with a probe if asked.
fn replay(
    args: &Args,
    path: &std::path::Path,
    stop: &AtomicBool,
) -> Result<(TxSummary, i32), CliError> {
    let iface = crate::net::interface_up(&args.link.interface)?;
    let capture = pcap::read_replay(
        path,
        iface.mtu as usize + ETH_HEADER_LEN,
        args.skip_oversize,
    )?;
    let rings = open_rings(args, &iface)?;
    let run_id = args.send.run_id();
    let n = capture.frames.len() as u64;
    let mean = (capture.frames.iter().map(|f| f.len() as u64).sum::<u64>()).div_ceil(n);
    let lanes = rings
        .into_iter()
        .map(|ring| {
            let frames = if args.stamp {
                Frames::ReplayStamped(&capture, run_id)
            } else {
                Frames::Replay(&capture.frames)
            };
            MmapTx::new(ring, frames)
        })
        .collect();
    if args.send.probe.reflect_every.is_some() {
        return Err(CliError::new(
            cli::Failure::Usage,
            "--reflect-every times the test flow's probes, not a replayed capture's",
        ));
    }
    let plan = engine::SendPlan {
        round_trip: None,
        tool: TOOL,
        destination: format!("{} as captured", path.display()),
        run_id,
        size: (mean as usize).saturating_sub(FRAME_OVERHEAD),
        frame_bytes: mean as usize,
        count: args.send.count,
        rate: args.send.rate()?,
        batch: u64::from(args.batch),
        cpu: args.send.process.cpu,
        interval: args.send.process.interval,
    };
    let mut print = args.send.process.interval_printer(TxInterval::to_text);
    let (mut summary, code) = cli::with_exit_code(engine::send(lanes, &plan, stop, &mut print)?);
    summary.replay = Some(ReplaySummary {
        path: path.display().to_string(),
        frames: n,
        stamped: if args.stamp {
            capture.probe_at.iter().filter(|p| p.is_some()).count() as u64
        } else {
            0
        },
        skipped_oversize: capture.skipped_oversize,
        skipped_truncated: capture.skipped_truncated,
    });
    Ok((summary, code))
}
