//! `xdp-rx`: test datagrams from an AF_XDP socket, fed by an XDP program that redirects the
//! test flow into it.

use std::sync::atomic::AtomicBool;

use crate::backend::xdp::XdpRx;
use crate::cli::{self, CliError, Failure};
use crate::engine::{self, StopRule};
use crate::net;
use crate::report::{RxInterval, RxSummary};
use crate::sys::SysError;
use crate::xdp::{AttachError, XdpMode, XdpProgram, XskError, XskOptions, XskRx};

/// The tool's name in messages and summaries.
pub const TOOL: &str = "xdp-rx";

/// Receive test datagrams with AF_XDP: an XDP program redirects IPv4 UDP to --port into the
/// socket's RX ring, everything else goes on to the stack.
///
/// Counts like mmap-rx (loss, duplicates, reordering, latency from the probe). The program
/// runs in native mode where the driver has it (veth does), else generic; the socket in
/// zero-copy mode where the driver offers it, else copy: the summary's `mode` says which.
/// The program is attached with a bpf_link, so it goes away with the process however it
/// ends, and it never replaces a program already on the interface. Needs CAP_NET_RAW,
/// CAP_NET_ADMIN and CAP_BPF (CAP_SYS_ADMIN before 5.8), and locked memory for the UMEM.
#[derive(Debug, clap::Parser)]
#[command(name = "xdp-rx", version)]
pub struct Args {
    /// What to count and when to stop.
    #[command(flatten)]
    pub recv: cli::ReceiveOptions,
    /// Interface to receive on.
    #[arg(long, short = 'i')]
    pub interface: String,
    /// The socket's UMEM and rings.
    #[command(flatten)]
    pub xsk: super::options::XskArgs,
    /// Queues to receive on: --queue and the N - 1 above it, one AF_XDP socket each (with
    /// its own UMEM and rings, so that no two threads share a ring) and one receiving thread
    /// each (pinned to --cpu and the cores above it). A multi-queue device spreads flows over
    /// its queues by hash; a queue without a socket passes its test datagrams to the stack,
    /// uncounted, so bind them all (xdp-rx says so when it does not).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub queues: u32,
    /// Where the XDP program runs.
    #[arg(long, value_enum, default_value_t = XdpMode::Auto)]
    pub xdp_mode: XdpMode,
    /// After each wakeup, let the RX ring fill this many microseconds before draining it:
    /// fewer wakeups (and CPU) per packet for up to this much more latency, as mmap-rx's
    /// --block-timeout-ms trades them. 0 drains at once. Keep rate x time below the ring size.
    #[arg(long, value_name = "MICROSECONDS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub coalesce_us: u64,
    /// Busy poll: SO_PREFER_BUSY_POLL, SO_BUSY_POLL of this many microseconds and
    /// SO_BUSY_POLL_BUDGET of --busy-poll-budget; the receiving thread then spins, running
    /// the queue's NAPI itself (a full core) instead of sleeping in poll(2) until the
    /// softirq wakes it. Needs CAP_NET_ADMIN. Not with --coalesce-us.
    #[arg(long, value_name = "MICROSECONDS", conflicts_with = "coalesce_us",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub busy_poll: Option<u32>,
    /// Packets per busy poll (SO_BUSY_POLL_BUDGET), with --busy-poll.
    #[arg(long, value_name = "PACKETS", default_value_t = 64, requires = "busy_poll",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub busy_poll_budget: u16,
}

/// What a missing capability or limit looks like for an AF_XDP socket.
fn from_xsk(tool: &str, e: XskError, umem_bytes: u64) -> CliError {
    match e {
        XskError::Options(m) => CliError::new(Failure::Geometry, m),
        XskError::Sys(s) => match (s.call(), s.raw_os_error()) {
            ("socket(AF_XDP)", Some(libc::EAFNOSUPPORT)) => CliError::new(
                Failure::Interface,
                format!("this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS): {s}"),
            ),
            ("socket(AF_XDP)", Some(libc::EPERM) | Some(libc::EACCES)) => CliError::new(
                Failure::Privilege,
                format!("{tool} needs CAP_NET_RAW to open an AF_XDP socket: run it as root or give it --cap-add NET_RAW ({s})"),
            ),
            ("XDP_UMEM_REG", Some(libc::ENOBUFS) | Some(libc::ENOMEM) | Some(libc::EPERM)) => {
                CliError::new(
                    Failure::Privilege,
                    format!("the UMEM ({} KiB) does not fit the locked-memory limit (RLIMIT_MEMLOCK): raise it (ulimit -l, docker run --ulimit memlock=-1), grant CAP_IPC_LOCK, or use fewer --frames ({s})", umem_bytes / 1024),
                )
            }
            ("bind(AF_XDP)", Some(libc::EOPNOTSUPP)) => CliError::new(
                Failure::Interface,
                format!("the driver has no zero-copy AF_XDP: use --bind-mode copy or auto ({s})"),
            ),
            ("bind(AF_XDP)", Some(libc::EBUSY)) => CliError::new(
                Failure::Busy,
                format!("another AF_XDP socket is bound to this queue ({s})"),
            ),
            _ => cli::from_sys(tool, s),
        },
    }
}

/// Checks the options, raises RLIMIT_MEMLOCK for the UMEM where allowed, and opens a socket
/// with `open`; failures become the tools' one-line errors.
pub(super) fn open_xsk<T>(
    tool: &str,
    options: &XskOptions,
    mtu: u32,
    open: impl FnOnce(&XskOptions) -> Result<T, XskError>,
) -> Result<T, CliError> {
    let umem_bytes = u64::from(options.frames) * u64::from(options.frame_size);
    options
        .check(mtu)
        .map_err(|e| from_xsk(tool, e, umem_bytes))?;
    crate::process::raise_memlock(umem_bytes + (8 << 20));
    open(options).map_err(|e| from_xsk(tool, e, umem_bytes))
}

fn from_attach(e: AttachError) -> CliError {
    match e {
        AttachError::Busy { .. } => CliError::new(Failure::Busy, e.to_string()),
        AttachError::Verifier(_) => CliError::new(Failure::Runtime, e.to_string()),
        AttachError::Sys(s) => match s.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => CliError::new(
                Failure::Privilege,
                format!("{TOOL} needs CAP_BPF and CAP_NET_ADMIN (CAP_SYS_ADMIN before Linux 5.8) to load and attach its XDP program ({s})"),
            ),
            Some(libc::EOPNOTSUPP) | Some(libc::EINVAL) if s.call().contains("LINK_CREATE") => {
                CliError::new(
                    Failure::Interface,
                    format!("the interface has no native XDP: use --xdp-mode generic or auto ({s})"),
                )
            }
            _ => CliError::new(Failure::Runtime, s.to_string()),
        },
    }
}

fn mode_name(prog: &XdpProgram, zero_copy: bool, busy_poll: Option<(u32, u16)>) -> String {
    let xdp = match prog.mode() {
        XdpMode::Generic => "generic",
        _ => "native",
    };
    let copy = if zero_copy { "zero-copy" } else { "copy" };
    match busy_poll {
        Some((us, budget)) => format!("{xdp} xdp, {copy}, busy poll {us} us budget {budget}"),
        None => format!("{xdp} xdp, {copy}"),
    }
}

/// `queue 0` or `queues 0-3`.
fn queue_names(queues: &std::ops::Range<u32>) -> String {
    if queues.len() == 1 {
        format!("queue {}", queues.start)
    } else {
        format!("queues {}-{}", queues.start, queues.end - 1)
    }
}

/// Opens a socket per queue, attaches the program and registers them in it, drops every
/// capability, says ready and receives (a thread per queue).
pub fn run(args: &Args, stop: &AtomicBool) -> Result<(RxSummary, i32), CliError> {
    let rule = StopRule::new(args.recv.count, args.recv.idle_timeout)?;
    cli::pin(args.recv.process.cpu)?;
    let iface = net::interface_up(&args.interface)?;
    let first = args.xsk.queue;
    let queues = first..first.saturating_add(args.queues);
    // Every socket's UMEM is locked memory: raise the limit for all of them at once.
    let options = args.xsk.options();
    crate::process::raise_memlock(
        u64::from(args.queues) * u64::from(options.frames) * u64::from(options.frame_size)
            + (8 << 20),
    );
    let socks = queues
        .clone()
        .map(|queue| {
            let o = XskOptions {
                queue,
                ..options.clone()
            };
            open_xsk(TOOL, &o, iface.mtu, |o| XskRx::open(iface.index, o))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let prog = XdpProgram::attach(
        &iface.name,
        iface.index,
        args.recv.port,
        args.xdp_mode,
        queues.end,
    )
    .map_err(from_attach)?;
    for (queue, xsk) in queues.clone().zip(&socks) {
        prog.register(queue, xsk.xsk().fd())
            .map_err(|e: SysError| CliError::new(Failure::Runtime, e.to_string()))?;
    }
    if let Some(n) = net::rx_queue_count(&iface.name).filter(|&n| n > queues.end) {
        eprintln!(
            "{TOOL}: note: {} has {n} receive queues and xdp-rx binds {}: datagrams on the others go to the stack, uncounted (use --queues)",
            iface.name,
            queue_names(&queues)
        );
    }
    if args.xdp_mode == XdpMode::Auto && prog.mode() == XdpMode::Generic {
        eprintln!(
            "{TOOL}: note: {} has no native XDP; running in generic (skb) mode",
            iface.name
        );
    }
    let busy_poll = args.busy_poll.map(|us| (us, args.busy_poll_budget));
    if let Some((us, budget)) = busy_poll {
        for xsk in &socks {
            xsk.set_busy_poll(us, budget)
                .map_err(|s| match s.raw_os_error() {
                    Some(libc::EPERM) => CliError::new(
                        Failure::Privilege,
                        format!("{TOOL} needs CAP_NET_ADMIN for --busy-poll ({s})"),
                    ),
                    _ => cli::from_sys(TOOL, s),
                })?;
        }
    }
    let reflect = super::raw_reflector(&args.recv)?;
    cli::drop_capabilities()?;
    let mode = mode_name(&prog, socks[0].xsk().zero_copy(), busy_poll);
    eprintln!(
        "{TOOL}: ready on {} {} port {} ({mode}, {} frames of {} B{})",
        iface.name,
        queue_names(&queues),
        args.recv.port,
        args.xsk.frames,
        args.xsk.frame_size,
        if args.queues > 1 { " each" } else { "" }
    );
    let mut plan = super::receive_plan(&args.recv, TOOL, iface.name.clone());
    plan.reflect = reflect;
    let lanes = socks
        .into_iter()
        .map(|xsk| {
            XdpRx::new(
                xsk,
                args.recv.port,
                std::time::Duration::from_micros(args.coalesce_us),
            )
            .with_busy_poll(busy_poll.is_some())
        })
        .collect();
    let result = engine::receive(
        lanes,
        &plan,
        rule,
        stop,
        &mut args.recv.process.interval_printer(RxInterval::to_text),
    );
    // The link detaches the program here (and at any exit of the process).
    drop(prog);
    result.map(|mut s| {
        s.mode = Some(mode);
        cli::with_exit_code(s)
    })
}
