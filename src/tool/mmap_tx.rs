//! `mmap-tx`: test datagrams through a packet_mmap TX ring.

use crate::backend::mmap::{Frames, MmapTx};
use crate::cli::{self, CliError};
use crate::engine;
use crate::pcap;
use crate::report::{ReplaySummary, TxInterval, TxSummary};
use crate::ring::{SkbLayout, TxRing};
use crate::wire::frame::ETH_HEADER_LEN;
use crate::wire::header::ethernet;
use crate::wire::{Family, GsoTemplate, FRAME_OVERHEAD};
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
    pub ring: super::options::TxRingArgs,
    /// Frames published per send() when unpaced.
    #[arg(long, default_value_t = 256)]
    pub batch: u32,
    /// Datagrams per ring frame, as one GSO super-packet (a virtio_net_hdr of
    /// VIRTIO_NET_HDR_GSO_UDP_L4, checksum partial; kernel 6.2+): the kernel splits it into
    /// N datagrams of --size bytes, each with its own probe. --count and --rate count
    /// datagrams; --batch counts ring frames. Needs --skb linear; N x --size must stay within
    /// 65,507 B, and the ring's frames are sized to hold N datagrams.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(2..=128),
          conflicts_with_all = ["pcap", "print_frame"])]
    pub gso: Option<u16>,
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
    /// --count, or each frame once without --count. Sent as captured, unless --stamp.
    /// --dst-ip and --size are not used.
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
    if args.pcap.is_none() {
        args.send.count()?; // so does a missing --count (a capture plays once without one)
    }
    cli::pin(args.send.process.cpu)?;
    if let Some(path) = &args.pcap {
        return replay(args, path, stop);
    }
    let f = args.link.frame_flow(&args.send)?;
    if let Some(n) = args.gso {
        return send_gso(args, &f, n, stop);
    }
    let rings = open_rings(args, &f.iface, f.iface.mtu)?;
    let frames = match &f.mix {
        Some(mix) => Frames::Mix(mix),
        None => Frames::Probe(&f.template),
    };
    let lanes = rings
        .into_iter()
        .map(|ring| MmapTx::new(ring, frames))
        .collect();
    let plan = f.plan(TOOL, &args.send, u64::from(args.batch))?;
    let mut print = args.send.process.interval_printer(TxInterval::to_text);
    engine::send(lanes, &plan, stop, &mut print).map(cli::with_exit_code)
}

/// `--gso N`: the test flow as super-packets of N datagrams, one per ring frame.
fn send_gso(
    args: &Args,
    f: &super::FrameFlow,
    n: u16,
    stop: &AtomicBool,
) -> Result<(TxSummary, i32), CliError> {
    if args.ring.skb != SkbLayout::Linear {
        return Err(CliError::new(
            cli::Failure::Usage,
            "--gso needs --skb linear: the virtio_net_hdr carries the segmentation",
        ));
    }
    let Some(size) = args.send.size.fixed() else {
        return Err(CliError::new(
            cli::Failure::Usage,
            "--gso with a size mix: a super-packet's datagrams all have one size",
        ));
    };
    super::check_gso_fits(size, n, f.flow.family())?;
    if args.send.flows()? > 1 {
        return Err(CliError::new(
            cli::Failure::Usage,
            "--flows with --gso: a super-packet has one UDP header, so one flow (udp-tx --gso takes --flows)",
        ));
    }
    let t = GsoTemplate::new(&f.flow, size, usize::from(n), f.iface.mtu, f.run_id)
        .map_err(|e| CliError::new(cli::Failure::Size, format!("--gso {n}: {e}")))?;
    let largest = f.iface.mtu.max((t.max_frame_len() - ETH_HEADER_LEN) as u32);
    let rings = open_rings(args, &f.iface, largest)?;
    let lanes = rings
        .into_iter()
        .map(|ring| MmapTx::new(ring, Frames::Gso(&t)))
        .collect();
    let mut plan = f.plan(TOOL, &args.send, u64::from(args.batch) * u64::from(n))?;
    plan.gso_segments = Some(n);
    let mut print = args.send.process.interval_printer(TxInterval::to_text);
    let (summary, code) = cli::with_exit_code(engine::send(lanes, &plan, stop, &mut print)?);
    if summary.sent == 0 && summary.error.is_some() {
        let e = summary.error.clone().unwrap_or_default();
        return Err(CliError::new(
            cli::Failure::Interface,
            format!("--gso {n}: the kernel refused the super-packets ({e}); VIRTIO_NET_HDR_GSO_UDP_L4 needs Linux 6.2+"),
        ));
    }
    Ok((summary, code))
}

/// One ring per thread, each slot holding an IP packet of `largest` bytes; then every
/// capability is dropped (the sockets, the rings and the neighbour's address are all we
/// needed privileges for).
fn open_rings(
    args: &Args,
    iface: &crate::net::Interface,
    largest: u32,
) -> Result<Vec<TxRing>, CliError> {
    let rings = (0..args.threads)
        .map(|_| {
            TxRing::open_with(iface.index, largest, &args.ring.options())
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
    let mut capture = pcap::read_replay(
        path,
        iface.mtu as usize + ETH_HEADER_LEN,
        args.skip_oversize,
    )?;
    if args.stamp {
        capture.prepare_stamps();
    }
    let rings = open_rings(args, &iface, iface.mtu)?;
    let run_id = args.send.run_id();
    let n = capture.frames.len() as u64;
    let bytes: u64 = capture.frames.iter().map(|f| f.len() as u64).sum();
    let mean = bytes.div_ceil(n);
    // The mean UDP payload: each frame less the headers of its family (by its ethertype:
    // IPv6's 62 B, else IPv4's 42).
    let headers: u64 = capture
        .frames
        .iter()
        .map(
            |f| match ethernet::Frame::new_checked(&f[..]).map(|e| e.ethertype()) {
                Some(ethernet::ETHERTYPE_IPV6) => Family::V6.frame_overhead() as u64,
                _ => FRAME_OVERHEAD as u64,
            },
        )
        .sum();
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
        size: bytes.saturating_sub(headers).div_ceil(n) as usize,
        frame_bytes: mean as usize,
        size_mix: None,
        flows: None,
        // Without --count the capture plays once.
        count: args.send.count.unwrap_or(n),
        rate: args.send.rate()?,
        batch: u64::from(args.batch),
        gso_segments: None,
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
