//! `udp-tx`: test datagrams through an ordinary UDP socket, the baseline for mmap-tx.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::backend::udp::{UdpSend, UdpTx};
use crate::cli::{self, CliError, Failure};
use crate::engine::reflect::RoundTrips;
use crate::engine::{self, SendPlan};
use crate::report::{TxInterval, TxSummary};
use crate::wire::{address_plus, check_addr_flows, Family, FlowBy, PROBE_LEN};

/// The tool's name in messages and summaries.
pub const TOOL: &str = "udp-tx";

/// Send test datagrams with a plain UDP socket: the baseline for mmap-tx.
///
/// One sendto() per datagram, like the thesis's client, with the same probe, sizes, rates and
/// output as mmap-tx. DF is set (IP_PMTUDISC_DO), so a size above the path MTU is refused as
/// mmap-tx refuses it; local drops (ENOBUFS) are reported (IP_RECVERR) and retried rather than
/// lost silently. Needs no privileges.
#[derive(Debug, clap::Parser)]
#[command(name = "udp-tx", version)]
pub struct Args {
    /// What to send, how much and how fast.
    #[command(flatten)]
    pub send: cli::SendOptions,
    /// Datagrams per system call: 1 sends each with sendto() (the thesis's client); more
    /// (up to 64) hands them to one sendmmsg(), the fastest a plain UDP socket sends.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub batch: u16,
    /// Datagrams per send, as one GSO super-packet (UDP_SEGMENT of --size): the kernel
    /// splits it into N datagrams of --size bytes, each with its own probe. With --batch,
    /// each of the sendmmsg() messages is one. --count and --rate count datagrams, not
    /// calls. N x --size must stay within 65,507 B; the kernel caps N (UDP_MAX_SEGMENTS).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(2..=128))]
    pub gso: Option<u16>,
}

/// The address and port each flow's socket binds: `--src-ip` (or the unspecified address:
/// the kernel picks by the route) with ports `--src-port` up, or with `--flow-by addr` the
/// addresses `--src-ip` up from one port. Exit code 2 for `--flow-by addr` without
/// `--src-ip` or flows past the address's last 16 bits.
fn flow_sources(args: &Args, family: Family) -> Result<Vec<SocketAddr>, CliError> {
    let flows = args.send.flows()?;
    let usage = |m: String| CliError::new(Failure::Usage, m);
    let src_ip = args.send.src_ip(family)?;
    let port = args.send.src_port;
    Ok(match args.send.flow_by {
        FlowBy::Port => {
            let ip = src_ip.unwrap_or(family.unspecified());
            (0..flows).map(|i| SocketAddr::new(ip, port + i)).collect()
        }
        FlowBy::Addr => {
            let src = src_ip.ok_or_else(|| {
                usage("--flow-by addr needs --src-ip: udp-tx binds each flow's socket to its own address, --src-ip up".into())
            })?;
            check_addr_flows(u32::from(flows), src).map_err(|e| usage(e.to_string()))?;
            (0..flows)
                .map(|i| SocketAddr::new(address_plus(src, i), port))
                .collect()
        }
    })
}

/// Opens the socket and sends.
pub fn run(args: &Args, stop: &AtomicBool) -> Result<(TxSummary, i32), CliError> {
    let rate = args.send.rate()?;
    let count = args.send.count()?;
    let dst = SocketAddr::new(args.send.dst_ip()?, args.send.port);
    let family = Family::of(dst.ip());
    let cycle = args.send.size.payload_cycle(family);
    let size = args.send.size.max_payload(family);
    let max = family.max_udp_payload();
    if let Some(&bad) = cycle.iter().find(|n| !(PROBE_LEN..=max).contains(n)) {
        return Err(CliError::new(
            Failure::Size,
            format!("size {bad} B is outside {PROBE_LEN}..={max} B of UDP payload over {family}"),
        ));
    }
    cli::pin(args.send.process.cpu)?;
    let run_id = args.send.run_id();
    let batch = usize::from(args.batch);
    if let Some(n) = args.gso {
        if args.send.size.mix().is_some() {
            return Err(CliError::new(
                Failure::Usage,
                "--gso with a size mix: a super-packet's datagrams all have one size",
            ));
        }
        super::check_gso_fits(size, n, family)?;
    }
    let gso = args.gso.map_or(1, usize::from);
    let backend = UdpTx::open(
        &flow_sources(args, family)?,
        dst,
        size,
        run_id,
        UdpSend { batch, gso },
    )?
    .with_order(args.send.flow_order()?)
    .with_cycle(cycle);
    let plan = SendPlan {
        tool: TOOL,
        destination: dst.to_string(),
        run_id,
        size: args.send.size.mean_payload(family),
        frame_bytes: args.send.size.mean_payload(family) + family.frame_overhead(),
        size_mix: args.send.size.mix().map(ToString::to_string),
        flows: args.send.flows_told_apart()?,
        count,
        rate,
        batch: (batch * gso) as u64,
        gso_segments: args.gso,
        cpu: args.send.process.cpu,
        interval: args.send.process.interval,
        round_trip: args
            .send
            .probe
            .reflect_every
            .map(|n| RoundTrips::on_socket(n, run_id, backend.socket()).map(Arc::new))
            .transpose()?,
    };
    let mut print = args.send.process.interval_printer(TxInterval::to_text);
    engine::send(vec![backend], &plan, stop, &mut print).map(cli::with_exit_code)
}
