//! The tools: for each, its command-line options and the one call that opens its backend,
//! drops privileges and runs an engine. The binaries in `src/bin/` parse and call.
//!
//! - [`mmap_tx`], [`mmap_rx`]: packet_mmap rings.
//! - [`udp_tx`], [`udp_rx`]: plain UDP sockets.
//! - [`xdp_tx`], [`xdp_rx`]: AF_XDP sockets (and the XDP program).
//! - [`options`]: the command-line faces of the ring and socket options.

pub mod docs;
pub mod mmap_rx;
pub mod mmap_tx;
pub mod options;
pub mod udp_rx;
pub mod udp_tx;
pub mod xdp_rx;
pub mod xdp_tx;

use std::sync::Arc;
use std::time::Duration;

use crate::engine::reflect::RoundTrips;

use crate::cli::{CliError, Failure, ReceiveOptions, SendOptions};
use crate::engine::reflect::Reflector;
use crate::net;
use crate::wire::{Family, Flow, FrameMix, FrameTemplate};

/// Refuses `--gso n` of `size`-byte datagrams whose super-packet would not fit one UDP
/// datagram of `family` (65,507 B over IPv4, 65,527 B over IPv6): the one check and message
/// of udp-tx and mmap-tx.
pub fn check_gso_fits(size: usize, n: u16, family: Family) -> Result<(), CliError> {
    let total = size * usize::from(n);
    let max = family.max_udp_payload();
    if total > max {
        return Err(CliError::new(
            Failure::Size,
            format!(
                "--gso {n} x size {size} B = {total} B is over the {max} B a UDP datagram can carry over {family}"
            ),
        ));
    }
    Ok(())
}

/// Where the senders that build whole frames (mmap-tx, xdp-tx) send them.
#[derive(Debug, Clone, clap::Args)]
pub struct LinkOptions {
    /// Interface to send on.
    #[arg(long, short = 'i')]
    pub interface: String,
    /// Destination MAC, skipping neighbour resolution (aa:bb:cc:dd:ee:ff).
    #[arg(long)]
    pub dst_mac: Option<String>,
    /// Seconds to wait for the destination's MAC to resolve.
    #[arg(long, default_value_t = 3.0)]
    pub resolve_timeout: f64,
}

/// The test flow of a sender of whole frames (mmap-tx, xdp-tx), resolved: the interface, the
/// addresses, the run id and the frame.
#[derive(Debug)]
pub struct FrameFlow {
    /// The interface sent on.
    pub iface: net::Interface,
    /// The addresses and ports.
    pub flow: Flow,
    /// The run id every probe carries.
    pub run_id: u32,
    /// The frame, stamped per packet (with `--size MIX`, the first datagram's).
    pub template: FrameTemplate,
    /// With `--size MIX`: every size's frame, datagram `seq` taking its turn's.
    pub mix: Option<FrameMix>,
}

impl FrameFlow {
    /// The sender engine's plan: the destination is the flow's address, port and MAC.
    pub fn plan(
        &self,
        tool: &'static str,
        send: &SendOptions,
        batch: u64,
    ) -> Result<crate::engine::SendPlan, CliError> {
        let (flow, run_id) = (&self.flow, self.run_id);
        Ok(crate::engine::SendPlan {
            tool,
            destination: format!(
                "{} ({})",
                std::net::SocketAddr::new(flow.ip.dst(), flow.dst_port),
                net::format_mac(&flow.dst_mac)
            ),
            run_id,
            size: send.size.mean_payload(flow.family()),
            frame_bytes: send.size.mean_payload(flow.family()) + flow.family().frame_overhead(),
            size_mix: send.size.mix().map(ToString::to_string),
            flows: send.flows_told_apart()?,
            count: send.count()?,
            rate: send.rate()?,
            batch,
            gso_segments: None,
            cpu: send.process.cpu,
            interval: send.process.interval,
            round_trip: send
                .probe
                .reflect_every
                .map(|n| RoundTrips::listen(n, run_id, send.src_port, flow.family()).map(Arc::new))
                .transpose()?,
        })
    }
}

impl LinkOptions {
    /// The test flow on this link: [`resolve`](Self::resolve)d, with a run id and its frame.
    pub fn frame_flow(&self, send: &SendOptions) -> Result<FrameFlow, CliError> {
        let flows = send.flows()?;
        let (iface, flow) = self.resolve(send)?;
        let run_id = send.run_id();
        let order = send.flow_order()?;
        let by = send.flow_by;
        let mix = send
            .size
            .mix()
            .map(|m| FrameMix::new(&flow, m, iface.mtu, run_id, (flows, by), order.clone()))
            .transpose()?;
        let first = send.size.payload_cycle(flow.family())[0];
        let template = FrameTemplate::new(&flow, first, iface.mtu, run_id)?
            .with_flows(flows)
            .with_order(order)
            .flow_by(by)
            .map_err(crate::wire::FrameError::from)?;
        Ok(FrameFlow {
            iface,
            flow,
            run_id,
            template,
            mix,
        })
    }

    /// The interface and the flow's addresses: the interface must be up with an address of
    /// the destination's family, the payload must fit its MTU, and the destination's MAC must
    /// resolve.
    pub fn resolve(&self, send: &SendOptions) -> Result<(net::Interface, Flow), CliError> {
        let dst_ip = send.dst_ip()?;
        let family = Family::of(dst_ip);
        let iface = net::interface_up(&self.interface)?;
        let src_mac = iface
            .mac
            .ok_or_else(|| net::NetError::NoMac(iface.name.clone()))?;
        let src_ip = match send.src_ip(family)? {
            Some(ip) => ip,
            None => iface
                .address(family)
                .ok_or_else(|| net::NetError::NoAddress(iface.name.clone(), family))?,
        };
        crate::wire::check_payload_size(send.size.max_payload(family), iface.mtu, family)?;
        let dst_mac = match &self.dst_mac {
            Some(s) => net::parse_mac(s).ok_or_else(|| {
                CliError::new(
                    Failure::Usage,
                    format!("--dst-mac {s:?} is not a MAC address"),
                )
            })?,
            None => net::resolve_neighbour(
                dst_ip,
                &iface.name,
                iface.index,
                Duration::from_secs_f64(self.resolve_timeout.max(0.0)),
            )?,
        };
        let flow = Flow {
            src_mac,
            dst_mac,
            ip: crate::wire::Endpoints::new(src_ip, dst_ip)
                .ok_or_else(|| net::NetError::NoAddress(iface.name.clone(), family))?,
            src_port: send.src_port,
            dst_port: send.port,
        };
        Ok((iface, flow))
    }
}

/// The receiver engine's plan for `tool` receiving on `endpoint` (interface or address).
pub fn receive_plan(
    recv: &ReceiveOptions,
    tool: &'static str,
    endpoint: String,
) -> crate::engine::ReceivePlan {
    crate::engine::ReceivePlan {
        tool,
        endpoint,
        port: recv.port,
        count: recv.count,
        run_id: recv.probe.run_id,
        cpu: recv.process.cpu,
        interval: recv.process.interval,
        reflect: None,
    }
}

/// The raw-socket reflector of `--reflect-every` (mmap-rx, xdp-rx), opened while the tool
/// still holds CAP_NET_RAW.
pub fn raw_reflector(recv: &ReceiveOptions) -> Result<Option<Arc<Reflector>>, CliError> {
    recv.probe
        .reflect_every
        .map(|n| Reflector::raw(n, recv.port).map(Arc::new))
        .transpose()
}
