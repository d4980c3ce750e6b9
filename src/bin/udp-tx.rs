//! udp-tx: send test datagrams through an ordinary UDP socket, one sendto() per datagram, or
//! a batch per sendmmsg() with --batch.
#![forbid(unsafe_code)]

use std::io::IoSlice;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::Parser;
use nix::sys::socket::{sendmmsg, MsgFlags, MultiHeaders, SockaddrIn};
use pktmmap::cli::{self, CliError, Failure};
use pktmmap::pace::{MonotonicClock, Pacer};
use pktmmap::report::{StopReason, TxSummary};
use pktmmap::ring::sys;
use pktmmap::wire::{probe, Probe, FRAME_OVERHEAD, PROBE_LEN};

const TOOL: &str = "udp-tx";

/// Largest UDP payload over IPv4.
const MAX_UDP_PAYLOAD: usize = 65_507;

/// Largest --batch: datagrams per sendmmsg() call.
const MAX_BATCH: usize = 64;

/// Send test datagrams with a plain UDP socket: the baseline for mmap-tx.
///
/// One sendto() per datagram, like the thesis's client, with the same probe, sizes, rates and
/// output as mmap-tx. DF is set (IP_PMTUDISC_DO), so a size above the path MTU is refused as
/// mmap-tx refuses it; local drops (ENOBUFS) are reported (IP_RECVERR) and retried rather than
/// lost silently. Needs no privileges.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    send: cli::SendOptions,
    /// Datagrams per system call: 1 sends each with sendto() (the thesis's client); more
    /// (up to 64) hands them to one sendmmsg(), the fastest a plain UDP socket sends.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    batch: u16,
}

fn main() {
    let args = Args::parse();
    cli::run_tool(TOOL, args.send.json, TxSummary::to_text, |stop| {
        run(&args, stop)
    });
}

fn run(args: &Args, stop: &AtomicBool) -> Result<(TxSummary, i32), CliError> {
    let rate = args.send.rate()?;
    if args.send.size < PROBE_LEN || args.send.size > MAX_UDP_PAYLOAD {
        return Err(CliError::new(
            Failure::Size,
            format!(
                "size {} B is outside {PROBE_LEN}..={MAX_UDP_PAYLOAD} B of UDP payload",
                args.send.size
            ),
        ));
    }
    if let Some(core) = args.send.cpu {
        cli::pin_to_cpu(core)?;
    }
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, args.send.src_port)).map_err(|e| {
        CliError::new(
            Failure::Runtime,
            format!("cannot bind UDP port {}: {e}", args.send.src_port),
        )
    })?;
    let fd = std::os::fd::AsFd::as_fd(&sock);
    sys::set_ip_pmtudisc_do(fd).map_err(|e| CliError::new(Failure::Runtime, e.to_string()))?;
    sys::set_ip_recverr(fd, true).map_err(|e| CliError::new(Failure::Runtime, e.to_string()))?;
    let dst = SocketAddrV4::new(args.send.dst_ip, args.send.port);

    let run_id = args.send.run_id.unwrap_or_else(cli::fresh_run_id);
    let batch = usize::from(args.batch);
    // One buffer per datagram of a batch; each carries the probe, restamped before sending.
    let mut payloads = vec![vec![0u8; args.send.size]; batch];
    for payload in &mut payloads {
        Probe {
            run_id,
            seq: 0,
            sent_ns: 0,
        }
        .write(payload);
    }
    if batch > 1 {
        // sendmmsg() sends to the connected peer.
        sock.connect(dst).map_err(|e| {
            CliError::new(Failure::Runtime, format!("cannot connect to {dst}: {e}"))
        })?;
    }
    let mut headers = MultiHeaders::<SockaddrIn>::preallocate(batch, None);
    let no_addresses = [None::<SockaddrIn>; MAX_BATCH];
    let frame_bytes = args.send.size + FRAME_OVERHEAD;
    let mut pacer = Pacer::new(rate, frame_bytes, MonotonicClock::default());

    let (mut sent, mut syscalls, mut retries) = (0u64, 0u64, 0u64);
    let mut error = None;
    let mut reason = StopReason::Count;
    let started = Instant::now();
    pacer.restart();
    while sent < args.send.count {
        if stop.load(Ordering::Relaxed) {
            reason = StopReason::Signal;
            break;
        }
        let mut allowance = pacer.allowance(sent);
        if allowance == 0 {
            pacer.wait_for(sent);
            allowance = pacer.allowance(sent).max(1);
        }
        let want = allowance.min(batch as u64).min(args.send.count - sent) as usize;
        let now = cli::realtime_ns();
        for (i, payload) in payloads[..want].iter_mut().enumerate() {
            probe::stamp(payload, sent + i as u64, now);
        }
        syscalls += 1;
        let result = if batch == 1 {
            sock.send_to(&payloads[0], dst).map(|_| 1)
        } else {
            let slices: [[IoSlice<'_>; 1]; MAX_BATCH] =
                std::array::from_fn(|i| [IoSlice::new(&payloads[i.min(want - 1)])]);
            sendmmsg(
                sock.as_raw_fd(),
                &mut headers,
                &slices[..want],
                &no_addresses[..want],
                [],
                MsgFlags::empty(),
            )
            .map(|results| results.count())
            .map_err(std::io::Error::from)
        };
        match result {
            Ok(n) => sent += n as u64,
            Err(e) => match e.raw_os_error() {
                // A full device queue, or an ICMP error reported for an earlier datagram
                // (IP_RECVERR): this datagram did not go; retry it.
                Some(libc::ENOBUFS)
                | Some(libc::EAGAIN)
                | Some(libc::ECONNREFUSED)
                | Some(libc::EHOSTUNREACH) => {
                    retries += 1;
                    std::thread::yield_now();
                }
                Some(libc::EMSGSIZE) => {
                    return Err(CliError::new(
                        Failure::Size,
                        format!(
                            "size {} B does not fit the MTU of the path to {} (EMSGSIZE)",
                            args.send.size, args.send.dst_ip
                        ),
                    ))
                }
                _ if sent == 0 => {
                    return Err(CliError::new(
                        Failure::Runtime,
                        format!("sendto {dst}: {e}"),
                    ));
                }
                _ => {
                    error = Some(format!("sendto {dst}: {e}"));
                    reason = StopReason::Error;
                    break;
                }
            },
        }
    }
    let duration_s = started.elapsed().as_secs_f64();
    let (cpu_user_s, cpu_sys_s) = cli::cpu_seconds();
    let summary = TxSummary {
        tool: TOOL.into(),
        method: if batch > 1 { "sendmmsg" } else { "sendto" }.into(),
        destination: dst.to_string(),
        run_id,
        size: args.send.size,
        frame_bytes,
        requested_rate: rate.to_string(),
        requested_pps: rate.packets_per_second(frame_bytes),
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
            (sent * frame_bytes as u64 * 8) as f64 / duration_s / 1e6
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
