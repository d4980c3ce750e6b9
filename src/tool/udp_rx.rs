//! `udp-rx`: test datagrams from an ordinary UDP socket, the baseline for mmap-rx.

use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::udp::UdpRx;
use crate::cli::{self, CliError, Failure};
use crate::engine::reflect::Reflector;
use crate::engine::{self, StopRule};
use crate::report::{RxInterval, RxSummary};

/// The tool's name in messages and summaries.
pub const TOOL: &str = "udp-rx";

/// Receive test datagrams with a plain UDP socket: the baseline for mmap-rx.
///
/// One recvmsg() per datagram (like the thesis's recvfrom() server), with the kernel's receive
/// timestamp (SO_TIMESTAMPNS) so arrival times are measured the same way as mmap-rx's. Counts,
/// loss, latency and output are the same as mmap-rx's. Needs no privileges.
#[derive(Debug, clap::Parser)]
#[command(name = "udp-rx", version)]
pub struct Args {
    /// What to count and when to stop.
    #[command(flatten)]
    pub recv: cli::ReceiveOptions,
    /// Local address to bind.
    #[arg(long, default_value_t = Ipv4Addr::UNSPECIFIED)]
    pub bind: Ipv4Addr,
    /// Socket receive buffer in bytes (SO_RCVBUF; the kernel caps it at net.core.rmem_max).
    #[arg(long)]
    pub rcvbuf: Option<usize>,
}

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
            format!("cannot bind {}:{}: {e}", args.bind, args.recv.port),
        )
    })?;
    let poll = rule.poll_interval().min(Duration::from_millis(20));
    let reflect = args
        .recv
        .probe
        .reflect_every
        .map(|n| Reflector::through_socket(n, &sock).map(Arc::new))
        .transpose()?;
    let backend = UdpRx::new(sock, args.rcvbuf, poll)?;
    eprintln!("{TOOL}: ready on {}:{}", args.bind, args.recv.port);
    let mut plan = super::receive_plan(&args.recv, TOOL, args.bind.to_string());
    plan.reflect = reflect;
    let mut print = args.recv.process.interval_printer(RxInterval::to_text);
    engine::receive(vec![backend], &plan, rule, stop, &mut print).map(cli::with_exit_code)
}
