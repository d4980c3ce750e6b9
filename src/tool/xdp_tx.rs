//! `xdp-tx`: test datagrams through an AF_XDP socket's TX ring.

use std::sync::atomic::AtomicBool;

use crate::backend::xdp::XdpTx;
use crate::cli::{self, CliError};
use crate::engine;
use crate::report::{TxInterval, TxSummary};
use crate::xdp::XskTx;

/// The tool's name in messages and summaries.
pub const TOOL: &str = "xdp-tx";

/// Send test datagrams with AF_XDP: frames are written into a UMEM shared with the kernel and
/// handed over through the socket's TX ring; the completion ring returns them.
///
/// The same frames, probe, pacing, options and output as mmap-tx. Zero-copy where the driver
/// offers it, copy mode otherwise (veth: copy); the summary's method says which. Needs
/// CAP_NET_RAW, and locked memory for the UMEM (RLIMIT_MEMLOCK, raised when allowed, or
/// CAP_IPC_LOCK).
#[derive(Debug, clap::Parser)]
#[command(name = "xdp-tx", version)]
pub struct Args {
    /// What to send, how much and how fast.
    #[command(flatten)]
    pub send: cli::SendOptions,
    /// The interface and the destination's MAC.
    #[command(flatten)]
    pub link: super::LinkOptions,
    /// The socket's UMEM and rings.
    #[command(flatten)]
    pub xsk: super::options::XskArgs,
    /// Frames queued per wakeup of the kernel when unpaced.
    #[arg(long, default_value_t = 256)]
    pub batch: u32,
}

/// Opens the socket, drops every capability and sends.
pub fn run(args: &Args, stop: &AtomicBool) -> Result<(TxSummary, i32), CliError> {
    args.send.rate()?; // a bad --rate fails before anything is opened
    args.send.count()?; // so does a missing --count
    cli::pin(args.send.process.cpu)?;
    let f = args.link.frame_flow(&args.send)?;
    let (index, mtu) = (f.iface.index, f.iface.mtu);
    let xsk = super::xdp_rx::open_xsk(TOOL, &args.xsk.options(), mtu, |o| XskTx::open(index, o))?;
    // A copy-mode wakeup sends up to this many frames (kernels before 6.17 keep 32).
    let _ = crate::sys::set_xdp_tx_budget(xsk.xsk().fd(), args.batch.max(32));
    cli::drop_capabilities()?;
    let plan = f.plan(
        TOOL,
        &args.send,
        u64::from(args.batch.min(args.xsk.ring_size)),
    )?;
    let mut print = args.send.process.interval_printer(TxInterval::to_text);
    let lane = XdpTx::new(xsk, &f.template).with_mix(f.mix.as_ref());
    engine::send(vec![lane], &plan, stop, &mut print).map(cli::with_exit_code)
}
