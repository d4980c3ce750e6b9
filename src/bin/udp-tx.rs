//! udp-tx: send test datagrams through an ordinary UDP socket, one sendto() per datagram.
#![forbid(unsafe_code)]

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::Parser;
use pktmmap::cli::{self, CliError, Failure};
use pktmmap::pace::{MonotonicClock, Pacer};
use pktmmap::report::{StopReason, TxSummary};
use pktmmap::ring::sys;
use pktmmap::wire::{probe, Probe, FRAME_OVERHEAD, PROBE_LEN};

const TOOL: &str = "udp-tx";

/// Largest UDP payload over IPv4.
const MAX_UDP_PAYLOAD: usize = 65_507;

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
    let mut payload = vec![0u8; args.send.size];
    Probe {
        run_id,
        seq: 0,
        sent_ns: 0,
    }
    .write(&mut payload);
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
        if pacer.allowance(sent) == 0 {
            pacer.wait_for(sent);
        }
        probe::stamp(&mut payload, sent, cli::realtime_ns());
        syscalls += 1;
        match sock.send_to(&payload, dst) {
            Ok(_) => sent += 1,
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
        method: "sendto".into(),
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
