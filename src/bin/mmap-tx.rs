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
    self, geometry, Flush, FrameLayout, RingGeometry, SkbLayout, TpacketVersion, TxConfig, TxRing,
};
use pktmmap::wire::{Flow, FrameTemplate};

const TOOL: &str = "mmap-tx";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SkbArg {
    /// The whole frame is copied into the skb head (PACKET_VNET_HDR with hdr_len = frame).
    Linear,
    /// The kernel's default: ring pages attached as skb fragments.
    Fragments,
}

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
    /// How the kernel builds each packet's skb from a ring frame. `linear` (a virtio_net_hdr
    /// before each frame) copies the frame into the skb head; `fragments` attaches ring pages,
    /// which veth and namespace crossings then copy again.
    #[arg(long, value_enum, default_value_t = SkbArg::Linear)]
    skb: SkbArg,
    /// Seconds to wait for the destination's MAC to resolve.
    #[arg(long, default_value_t = 3.0)]
    resolve_timeout: f64,
    /// Sending threads, each with its own socket and ring; thread i sends sequence numbers
    /// i, i + N, i + 2N, ... With --cpu C, thread i runs on core C + i (wrapping around the
    /// machine's cores); a rate is shared
    /// equally between them.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    /// Print the first frame this command would send, in hex on one line, and exit without
    /// opening a ring: the same bytes for another generator (the benchmark feeds trafgen).
    #[arg(long)]
    print_frame: bool,
}

fn main() {
    let args = Args::parse();
    if args.print_frame {
        let code = match print_frame(&args) {
            Ok(()) => 0,
            Err(e) => e.exit(TOOL),
        };
        std::process::exit(code);
    }
    cli::run_tool(TOOL, args.send.json, TxSummary::to_text, |stop| {
        run(&args, stop)
    });
}

fn open_ring(args: &Args, ifindex: u32, mtu: u32) -> Result<TxRing, CliError> {
    let skb = match args.skb {
        SkbArg::Linear => SkbLayout::Linear,
        SkbArg::Fragments => SkbLayout::Fragments,
    };
    let config = |version| -> Result<TxConfig, CliError> {
        let vnet = match skb {
            SkbLayout::Linear => ring::sys::VIRTIO_NET_HDR_LEN,
            SkbLayout::Fragments => 0,
        };
        let data = FrameLayout::for_version(version).data + vnet;
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
            skb,
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

/// The interface and the flow's addresses: the interface must be up with an IPv4 address,
/// the payload must fit its MTU, and the destination's MAC must resolve.
fn resolve_flow(args: &Args) -> Result<(net::Interface, Flow), CliError> {
    let iface = net::interface_up(&args.interface)?;
    let src_mac = iface
        .mac
        .ok_or_else(|| net::NetError::NoMac(iface.name.clone()))?;
    let src_ip = iface
        .ipv4
        .ok_or_else(|| net::NetError::NoIpv4(iface.name.clone()))?;
    pktmmap::wire::check_payload_size(args.send.size, iface.mtu)?;
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
    let flow = Flow {
        src_mac,
        dst_mac,
        src_ip,
        dst_ip: args.send.dst_ip,
        src_port: args.send.src_port,
        dst_port: args.send.port,
    };
    Ok((iface, flow))
}

fn print_frame(args: &Args) -> Result<(), CliError> {
    let (iface, flow) = resolve_flow(args)?;
    let run_id = args.send.run_id.unwrap_or_else(cli::fresh_run_id);
    let template = FrameTemplate::new(&flow, args.send.size, iface.mtu, run_id)?;
    let mut frame = template.bytes().to_vec();
    template.stamp(&mut frame, 0, cli::realtime_ns());
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    println!("{hex}");
    Ok(())
}

fn run(args: &Args, stop: &AtomicBool) -> Result<(TxSummary, i32), CliError> {
    let rate = args.send.rate()?;
    if let Some(core) = args.send.cpu {
        cli::pin_to_cpu(core)?;
    }
    let (iface, flow) = resolve_flow(args)?;
    let threads = u64::from(args.threads);
    let mut rings = (0..threads)
        .map(|_| open_ring(args, iface.index, iface.mtu))
        .collect::<Result<Vec<_>, _>>()?;
    // The sockets, the rings and the neighbour's address are all we needed privileges for.
    cli::drop_capabilities()?;
    let run_id = args.send.run_id.unwrap_or_else(cli::fresh_run_id);
    let dst_mac = flow.dst_mac;
    let template = FrameTemplate::new(&flow, args.send.size, iface.mtu, run_id)?;
    let len = template.len();
    // Headers and padding are the same in every frame: write them into every slot once.
    for ring in &mut rings {
        ring.prefill(|slot| slot[..len].copy_from_slice(template.bytes()));
    }
    let method = match rings[0].version() {
        TpacketVersion::V3 => "tpacket_v3",
        TpacketVersion::V2 => "tpacket_v2",
    };

    let started = Instant::now();
    let lanes: Vec<LaneResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = rings
            .into_iter()
            .enumerate()
            .map(|(i, ring)| {
                let lane = Lane {
                    first: i as u64,
                    stride: threads,
                    count: lane_count(args.send.count, i as u64, threads),
                    core: args
                        .send
                        .cpu
                        .filter(|_| threads > 1)
                        .map(|c| cli::core_for_thread(c, i)),
                };
                let template = &template;
                scope
                    .spawn(move || send_lane(ring, template, rate.share(threads), lane, args, stop))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| LaneResult {
                    error: Some("a sending thread panicked".into()),
                    ..LaneResult::default()
                })
            })
            .collect()
    });
    let duration_s = started.elapsed().as_secs_f64();
    let mut total = Progress::default();
    let mut in_flight = 0u64;
    let mut reason = StopReason::Count;
    let mut error = None;
    for lane in lanes {
        total.published += lane.progress.published;
        total.syscalls += lane.progress.syscalls;
        total.retries += lane.progress.retries;
        in_flight += u64::from(lane.in_flight);
        if lane.error.is_some() {
            reason = StopReason::Error;
            error = error.or(lane.error);
        } else if lane.reason == StopReason::Signal && reason == StopReason::Count {
            reason = StopReason::Signal;
        }
    }
    let Progress {
        published,
        syscalls,
        retries,
    } = total;
    let sent = published.saturating_sub(in_flight);
    let (cpu_user_s, cpu_sys_s) = cli::cpu_seconds();
    let summary = TxSummary {
        tool: TOOL.into(),
        method: method.into(),
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

/// The share of the run one sending thread has.
#[derive(Debug, Clone, Copy)]
struct Lane {
    /// Its first sequence number.
    first: u64,
    /// The distance between its sequence numbers (the number of threads).
    stride: u64,
    /// How many frames it sends.
    count: u64,
    /// Its core, when threads are pinned one per core.
    core: Option<usize>,
}

/// Frames of `count` that thread `i` of `n` sends: sequence numbers i, i + n, ... < count.
fn lane_count(count: u64, i: u64, n: u64) -> u64 {
    if count > i {
        (count - i - 1) / n + 1
    } else {
        0
    }
}

/// What one sending thread did.
#[derive(Debug, Default)]
struct LaneResult {
    progress: Progress,
    in_flight: u32,
    reason: StopReason,
    error: Option<String>,
}

/// One sending thread: paces and sends its lane, then drains its ring.
fn send_lane(
    mut ring: TxRing,
    template: &FrameTemplate,
    rate: pktmmap::pace::Rate,
    lane: Lane,
    args: &Args,
    stop: &AtomicBool,
) -> LaneResult {
    if let Some(core) = lane.core {
        if let Err(e) = cli::pin_to_cpu(core) {
            return LaneResult {
                reason: StopReason::Error,
                error: Some(e.to_string()),
                ..LaneResult::default()
            };
        }
    }
    let mut pacer = Pacer::new(rate, template.len(), MonotonicClock::default());
    let mut progress = Progress::default();
    pacer.restart();
    let (mut reason, mut error) = match send_all(
        &mut ring,
        template,
        &mut pacer,
        lane,
        args,
        stop,
        &mut progress,
    ) {
        Ok(reason) => (reason, None),
        Err(e) => (StopReason::Error, Some(e.to_string())),
    };
    // Whatever was published goes out (or is accounted as not sent) before we report.
    let in_flight = match ring.drain(Duration::from_secs(5)) {
        Ok(n) => n,
        Err(e) => {
            error.get_or_insert(e.to_string());
            reason = StopReason::Error;
            ring.in_flight()
        }
    };
    LaneResult {
        progress,
        in_flight,
        reason,
        error,
    }
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

/// Fills and flushes the ring until the lane's frames are published or a signal arrives.
///
/// Unpaced, it publishes `--batch` frames per send(). Paced, it publishes the frames that are
/// due (all of them at once when behind schedule) and flushes at once.
fn send_all(
    ring: &mut TxRing,
    template: &FrameTemplate,
    pacer: &mut Pacer<MonotonicClock>,
    lane: Lane,
    args: &Args,
    stop: &AtomicBool,
    progress: &mut Progress,
) -> Result<StopReason, ring::TxError> {
    let batch = u64::from(args.batch.max(1));
    let paced = pacer.is_paced();
    let len = template.len();
    while progress.published < lane.count {
        if stop.load(Ordering::Relaxed) {
            return Ok(StopReason::Signal);
        }
        let allowance = pacer.allowance(progress.published);
        if allowance == 0 {
            flush(ring, progress)?;
            pacer.wait_for(progress.published);
            continue;
        }
        let want = allowance.min(batch).min(lane.count - progress.published);
        let mut filled = 0;
        // One clock read per batch: every frame of a batch leaves in the same send(), so the
        // probes' send time is the batch's (paced batches are a packet or two).
        let now = cli::realtime_ns();
        while filled < want {
            let Some(mut frame) = ring.claim()? else {
                break;
            };
            let seq = lane.first + progress.published * lane.stride;
            template.stamp(frame.data(), seq, now);
            frame.publish(len)?;
            progress.published += 1;
            filled += 1;
        }
        let ring_full = filled < want;
        if paced
            || ring_full
            || u64::from(ring.unflushed()) >= batch
            || progress.published == lane.count
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
