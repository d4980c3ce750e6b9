//! `udp-rx`: test datagrams from an ordinary UDP socket, the baseline for mmap-rx.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::udp::{UdpRead, UdpRx};
use crate::cli::{self, CliError, Failure};
use crate::engine::reflect::Reflector;
use crate::engine::{self, StopRule};
use crate::report::{RxInterval, RxSummary};

/// The tool's name in messages and summaries.
pub const TOOL: &str = "udp-rx";

/// Receive test datagrams with a plain UDP socket: the baseline for mmap-rx.
///
/// One recvmsg() per datagram (like the thesis's recvfrom() server), with the kernel's receive
/// timestamp (SO_TIMESTAMPNS) so arrival times are measured the same way as mmap-rx's; or, as
/// the strongest socket path reads, a recvmmsg() of --batch messages and UDP_GRO (--gro).
/// Counts, loss, latency and output are the same as mmap-rx's. Needs no privileges
/// (CAP_NET_ADMIN lets the default receive buffer exceed net.core.rmem_max).
#[derive(Debug, clap::Parser)]
#[command(name = "udp-rx", version)]
pub struct Args {
    /// What to count and when to stop.
    #[command(flatten)]
    pub recv: cli::ReceiveOptions,
    /// Local address to bind: 0.0.0.0 (the default) takes IPv4, `::` takes IPv6 and IPv4
    /// (as IPv4-mapped addresses), a single address only datagrams to it.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::UNSPECIFIED))]
    pub bind: IpAddr,
    /// Socket receive buffer to ask for, in bytes: by default as many as mmap-rx's default
    /// ring holds (32 MiB), so that neither receiver has the other's slack. Set with
    /// SO_RCVBUFFORCE where the process has CAP_NET_ADMIN, else with SO_RCVBUF, which the
    /// kernel caps at net.core.rmem_max (a note says so). The summary's buffer_bytes is what
    /// the socket got (the kernel doubles the request for its bookkeeping).
    #[arg(long, default_value_t = DEFAULT_RCVBUF)]
    pub rcvbuf: usize,
    /// UDP_GRO: the kernel hands over coalesced datagrams (a GSO super-packet as it arrived,
    /// or what GRO merged), one read for many; each segment is counted and its probe checked.
    /// Every segment of a read gets that read's one kernel timestamp.
    #[arg(long)]
    pub gro: bool,
    /// Messages per call: 1 reads with recvmsg(); more (up to 64) with one recvmmsg()
    /// that waits for the first and takes what else is queued.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub batch: u16,
}

/// mmap-rx's default ring: 32 blocks of 1 MiB.
pub const DEFAULT_RCVBUF: usize = 32 << 20;

/// Binds the socket, says ready and receives.
pub fn run(args: &Args, stop: &AtomicBool) -> Result<(RxSummary, i32), CliError> {
    let rule = StopRule::new(args.recv.count, args.recv.idle_timeout)?;
    cli::pin(args.recv.process.cpu)?;
    let sock = UdpSocket::bind((args.bind, args.recv.port)).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::AddrNotAvailable {
            Failure::Interface
        } else {
            Failure::Runtime
        };
        CliError::new(
            kind,
            format!(
                "cannot bind {}: {e}",
                std::net::SocketAddr::new(args.bind, args.recv.port)
            ),
        )
    })?;
    let poll = rule.poll_interval().min(Duration::from_millis(20));
    let reflect = args
        .recv
        .probe
        .reflect_every
        .map(|n| Reflector::through_socket(n, &sock).map(Arc::new))
        .transpose()?;
    let how = UdpRead {
        rcvbuf: Some(args.rcvbuf),
        gro: args.gro,
        batch: usize::from(args.batch),
    };
    let backend = UdpRx::new(sock, how, poll)?;
    let got = backend.rcvbuf();
    if got.capped {
        eprintln!(
            "{TOOL}: note: receive buffer capped by net.core.rmem_max at {} B (asked {} B; SO_RCVBUFFORCE needs CAP_NET_ADMIN)",
            got.bytes / 2,
            args.rcvbuf
        );
    }
    eprintln!(
        "{TOOL}: ready on {} (receive buffer {} B{}{})",
        std::net::SocketAddr::new(args.bind, args.recv.port),
        got.bytes,
        if args.gro { ", gro" } else { "" },
        if args.batch > 1 {
            format!(", recvmmsg {}", args.batch)
        } else {
            String::new()
        }
    );
    let mut plan = super::receive_plan(&args.recv, TOOL, args.bind.to_string());
    plan.reflect = reflect;
    let mut print = args.recv.process.interval_printer(RxInterval::to_text);
    engine::receive(vec![backend], &plan, rule, stop, &mut print).map(cli::with_exit_code)
}
