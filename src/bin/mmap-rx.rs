//! mmap-rx: count test datagrams from a TPACKET_V3 RX ring.
#![forbid(unsafe_code)]

use std::time::Duration;

use clap::{Parser, ValueEnum};
use pktmmap::cli::{self, CliError, StopRule};
use pktmmap::net;
use pktmmap::report::{RxSummary, StopReason};
use pktmmap::ring::{self, filter, geometry, RingGeometry, RxConfig, RxRing};
use pktmmap::stats::RxAccounting;
use pktmmap::wire::{parse_ipv4_udp, IgnoreReason};

const TOOL: &str = "mmap-rx";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FilterMode {
    /// Only IPv4 UDP to --port enters the ring (a classic BPF filter in the kernel).
    Flow,
    /// Every frame on the interface enters the ring and is classified (for hostile traffic).
    None,
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
}

fn main() {
    let args = Args::parse();
    cli::run_tool(TOOL, args.recv.json, RxSummary::to_text, |stop| {
        run(&args, stop)
    });
}

fn run(args: &Args, stop: &std::sync::atomic::AtomicBool) -> Result<(RxSummary, i32), CliError> {
    let mut rule = StopRule::new(args.recv.count, args.recv.idle_timeout)?;
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
        fanout: None,
    };
    let mut ring = RxRing::open(iface.index, &config).map_err(|e| cli::from_sys(TOOL, e))?;
    cli::drop_capabilities()?;
    eprintln!(
        "{TOOL}: ready on {} port {} (ring {} x {} B)",
        iface.name, args.recv.port, geometry.block_count, geometry.block_size
    );

    let mut acct = RxAccounting::new(args.recv.count, args.recv.run_id);
    let mut error = None;
    let reason = loop {
        if let Some(r) = rule.check(acct.received(), stop) {
            break r;
        }
        match ring.next_block(rule.poll_interval()) {
            Ok(Some(block)) => count_block(&block, args.recv.port, &mut acct),
            Ok(None) => {}
            Err(e) => {
                error = Some(e.to_string());
                break StopReason::Error;
            }
        }
    };
    // Nothing seen is thrown away: packets in the block the kernel is still filling reach us
    // when it retires that block (its timer runs even after the interface went away), so wait
    // for that, then count every block handed over.
    if reason != StopReason::Count {
        std::thread::sleep(Duration::from_millis(
            2 * u64::from(args.block_timeout_ms) + 5,
        ));
    }
    while let Ok(Some(block)) = ring.next_block(Duration::ZERO) {
        count_block(&block, args.recv.port, &mut acct);
    }
    let kernel = ring.statistics().ok();
    let (cpu_user_s, cpu_sys_s) = cli::cpu_seconds();
    let summary = RxSummary {
        tool: TOOL.into(),
        endpoint: iface.name.clone(),
        port: args.recv.port,
        counts: acct.counts(),
        kernel_packets: kernel.map(|k| k.packets),
        kernel_drops: kernel.map_or(0, |k| k.drops),
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
