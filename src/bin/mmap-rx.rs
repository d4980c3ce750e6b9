//! mmap-rx: count test datagrams from a TPACKET_V3 RX ring.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use pktmmap::cli::{self, CliError, StopRule};
use pktmmap::net;
use pktmmap::report::{RxSummary, StopReason};
use pktmmap::ring::{self, filter, geometry, RingGeometry, RxConfig, RxRing};
use pktmmap::stats::{RxAccounting, MAX_WINDOW};
use pktmmap::wire::{parse_ipv4_udp, IgnoreReason};

const TOOL: &str = "mmap-rx";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FilterMode {
    /// Only IPv4 UDP to --port enters the ring (a classic BPF filter in the kernel).
    Flow,
    /// Every frame on the interface enters the ring and is classified (for hostile traffic).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FanoutMode {
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
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    recv: cli::ReceiveOptions,
    /// Interface to capture on.
    #[arg(long, short = 'i')]
    interface: String,
    /// Which frames enter the ring.
    #[arg(long, value_enum, default_value_t = FilterMode::Flow)]
    filter: FilterMode,
    /// Ring block size in bytes (a multiple of the page size).
    #[arg(long, default_value_t = 1 << 20)]
    block_size: u32,
    /// Number of ring blocks.
    #[arg(long, default_value_t = 32)]
    block_count: u32,
    /// Frame size in bytes (multiple of 16; must hold a full-MTU frame plus the header).
    #[arg(long, default_value_t = 2048)]
    frame_size: u32,
    /// Total frames; if given, must equal block_size / frame_size * block_count.
    #[arg(long)]
    frame_count: Option<u32>,
    /// Milliseconds after which a partly filled block is handed over.
    #[arg(long, default_value_t = 10)]
    block_timeout_ms: u32,
    /// Receive threads, each with its own ring, in one PACKET_FANOUT group; their counts are
    /// merged exactly (needs --count). With --cpu C, thread i runs on core C + i (wrapping
    /// around the machine's cores).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: u16,
    /// How the kernel spreads packets over the threads.
    #[arg(long, value_enum, default_value_t = FanoutMode::Lb)]
    fanout: FanoutMode,
}

fn main() {
    let args = Args::parse();
    cli::run_tool(TOOL, args.recv.json, RxSummary::to_text, |stop| {
        run(&args, stop)
    });
}

fn run(args: &Args, stop: &AtomicBool) -> Result<(RxSummary, i32), CliError> {
    let mut rule = StopRule::new(args.recv.count, args.recv.idle_timeout)?;
    let threads = usize::from(args.threads);
    if threads > 1 && args.recv.count.is_none_or(|n| n > MAX_WINDOW) {
        return Err(CliError::new(
            cli::Failure::Usage,
            format!("--threads needs --count (at most {MAX_WINDOW}) to merge the threads' counts exactly"),
        ));
    }
    if let Some(core) = args.recv.cpu {
        cli::pin_to_cpu(core)?;
    }
    let iface = net::interface_up(&args.interface)?;
    let geometry = RingGeometry::new(
        args.block_size,
        args.block_count,
        args.frame_size,
        args.frame_count,
        ring::sys::page_size() as u32,
        geometry::rx_min_frame_size(iface.mtu),
    )?;
    let config = RxConfig {
        geometry,
        retire_timeout_ms: args.block_timeout_ms,
        populate: true,
        filter: (args.filter == FilterMode::Flow)
            .then(|| filter::ipv4_udp_dst_port(args.recv.port)),
        // One group per process: the id only has to differ from other groups on this host.
        fanout: (threads > 1).then(|| (std::process::id() as u16, args.fanout.kernel())),
    };
    let mut rings = (0..threads)
        .map(|_| RxRing::open(iface.index, &config).map_err(|e| cli::from_sys(TOOL, e)))
        .collect::<Result<Vec<_>, _>>()?;
    cli::drop_capabilities()?;
    let backlog_start = net::softnet_drops();
    eprintln!(
        "{TOOL}: ready on {} port {} (ring {} x {} B{})",
        iface.name,
        args.recv.port,
        geometry.block_count,
        geometry.block_size,
        if threads > 1 {
            format!(" per thread, {threads} threads, fanout {:?}", args.fanout).to_lowercase()
        } else {
            String::new()
        }
    );

    let mut accts: Vec<RxAccounting> = (0..threads)
        .map(|_| RxAccounting::new(args.recv.count, args.recv.run_id))
        .collect();
    let total = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let reason = std::thread::scope(|scope| {
        for (i, (ring, acct)) in rings.iter_mut().zip(accts.iter_mut()).enumerate() {
            let (total, done, failure) = (&total, &done, &failure);
            let core = args.recv.cpu.map(|c| cli::core_for_thread(c, i));
            scope.spawn(move || {
                let result = match core {
                    Some(c) if threads > 1 => cli::pin_to_cpu(c).map_err(|e| e.to_string()),
                    _ => Ok(()),
                }
                .and_then(|()| receive(ring, args.recv.port, acct, total, done));
                if let Err(e) = result {
                    failure
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                    done.store(true, Ordering::Relaxed);
                }
            });
        }
        // This thread only watches the stop rule; the receive threads do the work.
        let reason = loop {
            if done.load(Ordering::Relaxed) {
                break StopReason::Error;
            }
            if let Some(r) = rule.check(total.load(Ordering::Relaxed), stop) {
                break r;
            }
            std::thread::sleep(rule.poll_interval().min(Duration::from_millis(2)));
        };
        done.store(true, Ordering::Relaxed);
        reason
    });
    let mut error = failure.into_inner().unwrap_or_else(|p| p.into_inner());
    // Nothing seen is thrown away: packets in the block the kernel is still filling reach us
    // when it retires that block (its timer runs even after the interface went away), so wait
    // for that, then count every block handed over.
    if reason != StopReason::Count {
        std::thread::sleep(Duration::from_millis(
            2 * u64::from(args.block_timeout_ms) + 5,
        ));
    }
    let mut kernel = Some(ring::PacketStats::default());
    for (ring, acct) in rings.iter_mut().zip(accts.iter_mut()) {
        while let Ok(Some(block)) = ring.next_block(Duration::ZERO) {
            count_block(&block, args.recv.port, acct);
        }
        kernel = match (kernel, ring.statistics()) {
            (Some(k), Ok(s)) => Some(ring::PacketStats {
                packets: k.packets + s.packets,
                drops: k.drops + s.drops,
                freeze_count: k.freeze_count + s.freeze_count,
            }),
            _ => None,
        };
    }
    let mut acct = accts.swap_remove(0);
    for other in &accts {
        if let Err(e) = acct.merge(other) {
            error.get_or_insert(e);
        }
    }
    let reason = if error.is_some() {
        StopReason::Error
    } else {
        reason
    };
    let backlog_end = net::softnet_drops();
    let (cpu_user_s, cpu_sys_s) = cli::cpu_seconds();
    let summary = RxSummary {
        tool: TOOL.into(),
        endpoint: iface.name.clone(),
        port: args.recv.port,
        counts: acct.counts(),
        kernel_packets: kernel.map(|k| k.packets),
        kernel_drops: kernel.map_or(0, |k| k.drops),
        backlog_drops: backlog_end
            .zip(backlog_start)
            .map_or(0, |(end, start)| end.saturating_sub(start)),
        freeze_count: kernel.map_or(0, |k| k.freeze_count),
        cpu_user_s,
        cpu_sys_s,
        max_rss_kib: cli::max_rss_kib(),
        partial: matches!(reason, StopReason::Signal | StopReason::Error),
        stop_reason: reason,
        error,
    };
    Ok((summary, cli::exit_code_for(reason)))
}

/// One receive thread: counts blocks until told to stop, adding to the shared total.
fn receive(
    ring: &mut RxRing,
    port: u16,
    acct: &mut RxAccounting,
    total: &AtomicU64,
    done: &AtomicBool,
) -> Result<(), String> {
    while !done.load(Ordering::Relaxed) {
        match ring.next_block(Duration::from_millis(20)) {
            Ok(Some(block)) => {
                let before = acct.received();
                count_block(&block, port, acct);
                total.fetch_add(acct.received() - before, Ordering::Relaxed);
            }
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// Counts every packet of one block; a corrupt packet chain skips the rest of the block.
fn count_block(block: &ring::Block<'_>, port: u16, acct: &mut RxAccounting) {
    let view = match block.view() {
        Ok(v) => v,
        Err(_) => return acct.on_ignored(IgnoreReason::CorruptBlock),
    };
    for packet in view.packets() {
        let Ok(p) = packet else {
            acct.on_ignored(IgnoreReason::CorruptBlock);
            break;
        };
        if (p.data.len() as u64) < u64::from(p.wire_len) {
            acct.on_ignored(IgnoreReason::TruncatedCapture);
            continue;
        }
        // The kernel moves an 802.1Q tag into metadata before the tap: a frame that arrived
        // tagged is not the untagged test flow of this interface.
        if p.status & libc::TP_STATUS_VLAN_VALID != 0 {
            acct.on_ignored(IgnoreReason::VlanTagged);
            continue;
        }
        // A locally generated packet with checksum offload has no UDP checksum yet
        // (CSUMNOTREADY); one the device verified needs no second look (CSUM_VALID).
        let verify = p.status & (libc::TP_STATUS_CSUMNOTREADY | libc::TP_STATUS_CSUM_VALID) == 0;
        match parse_ipv4_udp(p.data, port, verify) {
            Ok(d) => {
                acct.on_datagram(d.payload, p.timestamp_ns);
            }
            Err(reason) => acct.on_ignored(reason),
        }
    }
}
