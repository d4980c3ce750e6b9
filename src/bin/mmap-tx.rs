//! mmap-tx: send test datagrams through a packet_mmap TX ring.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use pktmmap::cli::{self, CliError, Failure};
use pktmmap::net;
use pktmmap::pace::{MonotonicClock, Pacer};
use pktmmap::report::{StopReason, TxSummary};
use pktmmap::ring::{
    self, geometry, Flush, FrameLayout, RingGeometry, TpacketVersion, TxConfig, TxRing,
};
use pktmmap::wire::{Flow, FrameTemplate};

const TOOL: &str = "mmap-tx";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RingVersion {
    V3,
    V2,
}

/// Send test datagrams with packet_mmap: frames are written into a TX ring shared with the
/// kernel and flushed in batches with one send() each.
///
/// Frames are Ethernet II + IPv4 (valid checksum, DF, TTL 64) + UDP (valid checksum), whose
/// payload starts with a pktmmap probe (run id, sequence number, send time). The destination
/// MAC comes from the kernel's neighbour table (resolved if needed). Needs CAP_NET_RAW.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    send: cli::SendOptions,
    /// Interface to send on.
    #[arg(long, short = 'i')]
    interface: String,
    /// Destination MAC, skipping neighbour resolution (aa:bb:cc:dd:ee:ff).
    #[arg(long)]
    dst_mac: Option<String>,
    /// TX ring header version; v3 falls back to v2 (with a note) where the kernel lacks it.
    #[arg(long, value_enum, default_value_t = RingVersion::V3)]
    ring_version: RingVersion,
    /// Ring block size in bytes (a multiple of the page size).
    #[arg(long, default_value_t = 1 << 16)]
    block_size: u32,
    /// Number of ring blocks.
    #[arg(long, default_value_t = 64)]
    block_count: u32,
    /// Frame slot size in bytes (multiple of 16; must hold a full-MTU frame plus the header).
    #[arg(long, default_value_t = 2048)]
    frame_size: u32,
    /// Total frames; if given, must equal block_size / frame_size * block_count.
    #[arg(long)]
    frame_count: Option<u32>,
    /// Frames published per send() when unpaced.
    #[arg(long, default_value_t = 256)]
    batch: u32,
    /// Bypass the qdisc layer (PACKET_QDISC_BYPASS).
    #[arg(long)]
    qdisc_bypass: bool,
    /// Seconds to wait for the destination's MAC to resolve.
    #[arg(long, default_value_t = 3.0)]
    resolve_timeout: f64,
}

fn main() {
    let args = Args::parse();
    cli::run_tool(TOOL, args.send.json, TxSummary::to_text, |stop| {
        run(&args, stop)
    });
}

fn open_ring(args: &Args, ifindex: u32, mtu: u32) -> Result<TxRing, CliError> {
    let config = |version| -> Result<TxConfig, CliError> {
        let data = FrameLayout::for_version(version).data;
        let geometry = RingGeometry::new(
            args.block_size,
            args.block_count,
            args.frame_size,
            args.frame_count,
            ring::sys::page_size() as u32,
            geometry::tx_min_frame_size(data, mtu),
        )?;
        Ok(TxConfig {
            geometry,
            version,
            qdisc_bypass: args.qdisc_bypass,
            populate: true,
        })
    };
    let wanted = match args.ring_version {
        RingVersion::V3 => TpacketVersion::V3,
        RingVersion::V2 => TpacketVersion::V2,
    };
    match TxRing::open(ifindex, &config(wanted)?) {
        Ok(r) => Ok(r),
        Err(e) if wanted == TpacketVersion::V3 && e.raw_os_error() == Some(libc::EINVAL) => {
            eprintln!(
                "{TOOL}: this kernel has no TPACKET_V3 TX ring ({e}); falling back to TPACKET_V2"
            );
            TxRing::open(ifindex, &config(TpacketVersion::V2)?).map_err(|e| cli::from_sys(TOOL, e))
        }
        Err(e) => Err(cli::from_sys(TOOL, e)),
    }
}

fn run(args: &Args, stop: &AtomicBool) -> Result<(TxSummary, i32), CliError> {
    let rate = args.send.rate()?;
    if let Some(core) = args.send.cpu {
        cli::pin_to_cpu(core)?;
    }
    let iface = net::interface_up(&args.interface)?;
    let src_mac = iface
        .mac
        .ok_or_else(|| net::NetError::NoMac(iface.name.clone()))?;
    let src_ip = iface
        .ipv4
        .ok_or_else(|| net::NetError::NoIpv4(iface.name.clone()))?;
    pktmmap::wire::check_payload_size(args.send.size, iface.mtu)?;
    let mut ring = open_ring(args, iface.index, iface.mtu)?;
    let dst_mac = match &args.dst_mac {
        Some(s) => net::parse_mac(s).ok_or_else(|| {
            CliError::new(
                Failure::Usage,
                format!("--dst-mac {s:?} is not a MAC address"),
            )
        })?,
        None => net::resolve_neighbour(
            args.send.dst_ip,
            &iface.name,
            Duration::from_secs_f64(args.resolve_timeout.max(0.0)),
        )?,
    };
    // The socket, the ring and the neighbour's address are all we needed privileges for.
    cli::drop_capabilities()?;
    let run_id = args.send.run_id.unwrap_or_else(cli::fresh_run_id);
    let flow = Flow {
        src_mac,
        dst_mac,
        src_ip,
        dst_ip: args.send.dst_ip,
        src_port: args.send.src_port,
        dst_port: args.send.port,
    };
    let template = FrameTemplate::new(&flow, args.send.size, iface.mtu, run_id)?;
    let len = template.len();
    // Headers and padding are the same in every frame: write them into every slot once.
    ring.prefill(|slot| slot[..len].copy_from_slice(template.bytes()));

    let mut pacer = Pacer::new(rate, len, MonotonicClock::default());
    let mut progress = Progress::default();
    let started = Instant::now();
    pacer.restart();
    let (mut reason, mut error) =
        match send_all(&mut ring, &template, &mut pacer, args, stop, &mut progress) {
            Ok(reason) => (reason, None),
            Err(e) => (StopReason::Error, Some(e.to_string())),
        };
    let Progress {
        published,
        syscalls,
        retries,
    } = progress;
    // Whatever was published goes out (or is accounted as not sent) before we report.
    let in_flight = match ring.drain(Duration::from_secs(5)) {
        Ok(n) => n,
        Err(e) => {
            error.get_or_insert(e.to_string());
            reason = StopReason::Error;
            ring.in_flight()
        }
    };
    let duration_s = started.elapsed().as_secs_f64();
    let sent = published.saturating_sub(u64::from(in_flight));
    let (cpu_user_s, cpu_sys_s) = cli::cpu_seconds();
    let summary = TxSummary {
        tool: TOOL.into(),
        method: match ring.version() {
            TpacketVersion::V3 => "tpacket_v3".into(),
            TpacketVersion::V2 => "tpacket_v2".into(),
        },
        destination: format!(
            "{}:{} ({})",
            args.send.dst_ip,
            args.send.port,
            net::format_mac(&dst_mac)
        ),
        run_id,
        size: args.send.size,
        frame_bytes: len,
        requested_rate: rate.to_string(),
        requested_pps: rate.packets_per_second(len),
        count: args.send.count,
        sent,
        retries,
        syscalls,
        duration_s,
        pps: if duration_s > 0.0 {
            sent as f64 / duration_s
        } else {
            0.0
        },
        mbps: if duration_s > 0.0 {
            (sent * len as u64 * 8) as f64 / duration_s / 1e6
        } else {
            0.0
        },
        cpu_user_s,
        cpu_sys_s,
        max_rss_kib: cli::max_rss_kib(),
        partial: matches!(reason, StopReason::Signal | StopReason::Error),
        stop_reason: reason,
        error,
    };
    Ok((summary, cli::exit_code_for(reason)))
}

/// What the send loop has done so far.
#[derive(Debug, Default)]
struct Progress {
    /// Frames handed to the kernel.
    published: u64,
    /// send() calls.
    syscalls: u64,
    /// Flushes that found the device queue full.
    retries: u64,
}

/// Fills and flushes the ring until `args.send.count` frames are published or a signal arrives.
///
/// Unpaced, it publishes `--batch` frames per send(). Paced, it publishes the frames that are
/// due (all of them at once when behind schedule) and flushes at once.
fn send_all(
    ring: &mut TxRing,
    template: &FrameTemplate,
    pacer: &mut Pacer<MonotonicClock>,
    args: &Args,
    stop: &AtomicBool,
    progress: &mut Progress,
) -> Result<StopReason, ring::TxError> {
    let batch = u64::from(args.batch.max(1));
    let paced = pacer.is_paced();
    let len = template.len();
    while progress.published < args.send.count {
        if stop.load(Ordering::Relaxed) {
            return Ok(StopReason::Signal);
        }
        let allowance = pacer.allowance(progress.published);
        if allowance == 0 {
            flush(ring, progress)?;
            pacer.wait_for(progress.published);
            continue;
        }
        let want = allowance
            .min(batch)
            .min(args.send.count - progress.published);
        let mut filled = 0;
        while filled < want {
            let Some(mut frame) = ring.claim()? else {
                break;
            };
            template.stamp(frame.data(), progress.published, cli::realtime_ns());
            frame.publish(len)?;
            progress.published += 1;
            filled += 1;
        }
        let ring_full = filled < want;
        if paced
            || ring_full
            || u64::from(ring.unflushed()) >= batch
            || progress.published == args.send.count
        {
            flush(ring, progress)?;
        }
        if ring_full {
            ring.wait_writable(1)?;
        }
    }
    Ok(StopReason::Count)
}

/// One non-blocking send() of everything published; a full device queue is a retry later.
fn flush(ring: &mut TxRing, progress: &mut Progress) -> Result<(), ring::TxError> {
    match ring.flush()? {
        Flush::Idle => {}
        Flush::Sent(_) => progress.syscalls += 1,
        Flush::Congested => {
            progress.syscalls += 1;
            progress.retries += 1;
            ring.wait_writable(1)?;
        }
    }
    Ok(())
}
