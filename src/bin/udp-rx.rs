//! udp-rx: count test datagrams from an ordinary UDP socket, one recvmsg() per datagram.
#![forbid(unsafe_code)]

use std::io::IoSliceMut;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicBool;

use clap::Parser;
use nix::errno::Errno;
use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn};
use pktmmap::cli::{self, CliError, Failure, StopRule};
use pktmmap::report::{RxSummary, StopReason};
use pktmmap::stats::RxAccounting;

const TOOL: &str = "udp-rx";

/// Receive test datagrams with a plain UDP socket: the baseline for mmap-rx.
///
/// One recvmsg() per datagram (like the thesis's recvfrom() server), with the kernel's receive
/// timestamp (SO_TIMESTAMPNS) so arrival times are measured the same way as mmap-rx's. Counts,
/// loss, latency and output are the same as mmap-rx's. Needs no privileges.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    recv: cli::ReceiveOptions,
    /// Local address to bind.
    #[arg(long, default_value_t = Ipv4Addr::UNSPECIFIED)]
    bind: Ipv4Addr,
    /// Socket receive buffer in bytes (SO_RCVBUF; the kernel caps it at net.core.rmem_max).
    #[arg(long)]
    rcvbuf: Option<usize>,
}

fn main() {
    let args = Args::parse();
    cli::run_tool(TOOL, args.recv.json, RxSummary::to_text, |stop| {
        run(&args, stop)
    });
}

fn io_err(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(Failure::Runtime, format!("{what}: {e}"))
}

fn run(args: &Args, stop: &AtomicBool) -> Result<(RxSummary, i32), CliError> {
    let mut rule = StopRule::new(args.recv.count, args.recv.idle_timeout)?;
    if let Some(core) = args.recv.cpu {
        cli::pin_to_cpu(core)?;
    }
    let sock = UdpSocket::bind((args.bind, args.recv.port)).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::AddrNotAvailable {
            Failure::Interface
        } else {
            Failure::Runtime
        };
        CliError::new(
            kind,
            format!("cannot bind {}:{}: {e}", args.bind, args.recv.port),
        )
    })?;
    setsockopt(&sock, sockopt::ReceiveTimestampns, &true)
        .map_err(|e| io_err("SO_TIMESTAMPNS", e))?;
    if let Some(bytes) = args.rcvbuf {
        setsockopt(&sock, sockopt::RcvBuf, &bytes).map_err(|e| io_err("SO_RCVBUF", e))?;
    }
    sock.set_read_timeout(Some(rule.poll_interval()))
        .map_err(|e| io_err("SO_RCVTIMEO", e))?;
    let inode = nix::sys::stat::fstat(&sock).map(|s| s.st_ino).ok();
    let backlog_start = pktmmap::net::softnet_drops();
    eprintln!("{TOOL}: ready on {}:{}", args.bind, args.recv.port);

    let mut acct = RxAccounting::new(args.recv.count, args.recv.run_id);
    let mut buf = vec![0u8; 65536];
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let mut error = None;
    let reason = loop {
        if let Some(r) = rule.check(acct.received(), stop) {
            break r;
        }
        let mut iov = [IoSliceMut::new(&mut buf)];
        let (len, ts) = match recvmsg::<SockaddrIn>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        ) {
            Ok(msg) => {
                let ts = msg.cmsgs().ok().and_then(|mut it| {
                    it.find_map(|c| match c {
                        ControlMessageOwned::ScmTimestampns(t) => {
                            Some(t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
                        }
                        _ => None,
                    })
                });
                (msg.bytes, ts)
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            Err(e) => {
                error = Some(format!("recvmsg: {e}"));
                break StopReason::Error;
            }
        };
        acct.on_datagram(&buf[..len], ts.unwrap_or_else(cli::realtime_ns));
    };
    let backlog_end = pktmmap::net::softnet_drops();
    let (cpu_user_s, cpu_sys_s) = cli::cpu_seconds();
    let summary = RxSummary {
        tool: TOOL.into(),
        endpoint: args.bind.to_string(),
        port: args.recv.port,
        counts: acct.counts(),
        kernel_packets: None,
        kernel_drops: inode.and_then(pktmmap::net::udp_socket_drops).unwrap_or(0),
        backlog_drops: backlog_end
            .zip(backlog_start)
            .map_or(0, |(end, start)| end.saturating_sub(start)),
        freeze_count: 0,
        cpu_user_s,
        cpu_sys_s,
        max_rss_kib: cli::max_rss_kib(),
        partial: matches!(reason, StopReason::Signal | StopReason::Error),
        stop_reason: reason,
        error,
    };
    Ok((summary, cli::exit_code_for(reason)))
}
