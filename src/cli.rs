//! The tools' command line: the option structs every sender and receiver shares, exit codes
//! (one per kind of failure), error classification and printing the summary. Process matters
//! (signals, capabilities, pinning, accounting) live in [`crate::process`].

use std::sync::atomic::AtomicBool;

pub use crate::exit::{CliError, Failure};

use crate::net::NetError;
use crate::report::StopReason;
use crate::ring::{GeometryError, OpenError, SysError, TxError};
use crate::wire::SizeError;

/// Options every tool takes: where it runs and how it reports.
#[derive(Debug, Clone, clap::Args)]
pub struct ProcessOptions {
    /// Pin to this CPU core.
    #[arg(long, value_name = "CORE")]
    pub cpu: Option<usize>,
    /// Print JSON instead of readable text: one object, or with --interval JSON Lines (one
    /// object per interval, then the summary), each with `type` and `schema`.
    #[arg(long)]
    pub json: bool,
    /// Report every SECONDS (at least 0.1) while running: packets, rate, loss, drops and
    /// latency of the interval.
    #[arg(long, value_name = "SECONDS", value_parser = parse_interval, allow_negative_numbers = true)]
    pub interval: Option<std::time::Duration>,
}

/// The shortest `--interval`: the receive threads look for a new interval between batches,
/// which can be 20 ms apart.
pub const MIN_INTERVAL_S: f64 = 0.1;

/// Parses `--interval`: a number of seconds, at least [`MIN_INTERVAL_S`].
pub fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || v < MIN_INTERVAL_S {
        return Err(format!(
            "{s:?}: the interval must be at least {MIN_INTERVAL_S} seconds"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(v))
}

/// The runner's `--interval SECONDS`: 0 turns the reports off, else as [`parse_interval`].
pub fn runner_interval(seconds: f64) -> Result<Option<f64>, CliError> {
    if seconds == 0.0 {
        return Ok(None);
    }
    parse_interval(&seconds.to_string())
        .map(|d| Some(d.as_secs_f64()))
        .map_err(|e| CliError::new(Failure::Usage, format!("--interval {e}")))
}

impl ProcessOptions {
    /// Prints each interval report on stdout as it comes: a JSON line with `--json`, else a
    /// readable line.
    pub fn interval_printer<T: serde::Serialize>(&self, text: fn(&T) -> String) -> impl FnMut(&T) {
        let json = self.json;
        move |report: &T| {
            if json {
                match serde_json::to_string(&crate::report::Record::interval(report)) {
                    Ok(s) => print_line(&s),
                    Err(e) => eprintln!("cannot serialise an interval report: {e}"),
                }
            } else {
                print_line(&text(report));
            }
        }
    }
}

/// The probe options a sender and its receiver share: which run, and which probes come back.
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeOptions {
    /// Run id: a sender carries it in every probe (default: a fresh one for every run); a
    /// receiver follows it (default: the first run id it sees).
    #[arg(long)]
    pub run_id: Option<u32>,
    /// Time round trips: the receiver sends probes 0, N, 2N, ... of the run (first sightings)
    /// back from the test port to the sender's source port, and the sender's summary
    /// (`round_trip`) gives their times on the sender's clock alone (valid between hosts,
    /// unlike one-way latency). Give both the same N. mmap-rx and xdp-rx reflect through a
    /// raw IPv4 socket (CAP_NET_RAW, which they need anyway).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub reflect_every: Option<u64>,
}

/// Options every sender takes (`mmap-tx`, `udp-tx`).
#[derive(Debug, Clone, clap::Args)]
pub struct SendOptions {
    /// Destination IPv4 or IPv6 address (for mmap-tx and xdp-tx: on the interface's segment,
    /// which must have an address of the same family). Required, except for mmap-tx --pcap,
    /// which sends the capture's frames as they are.
    #[arg(long)]
    pub dst_ip: Option<std::net::IpAddr>,
    /// UDP destination port.
    #[arg(long, default_value_t = crate::DEFAULT_PORT)]
    pub port: u16,
    /// Source address (of the first flow), of the destination's family. mmap-tx and xdp-tx
    /// write it into their frames (default: the interface's address); udp-tx binds it, so it
    /// must be an address of this host (default: the kernel picks by the route).
    #[arg(long, value_name = "ADDR")]
    pub src_ip: Option<std::net::IpAddr>,
    /// UDP source port (of the first flow).
    #[arg(long, default_value_t = crate::DEFAULT_PORT + 1)]
    pub src_port: u16,
    /// Flows: datagrams go from N source ports, --src-port up, taking turns (mmap-tx and
    /// xdp-tx: datagram `seq` from port `src-port + seq % N`; udp-tx: one socket per flow,
    /// each send call on the next). Not with --gso on mmap-tx (one header per super-packet)
    /// or --reflect-every (reflections come back to the first port only).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub flows: u32,
    /// What tells the flows apart: `port` (source ports, --src-port up) or `addr` (source
    /// addresses, --src-ip up, from one source port; only the address's last 16 bits
    /// change). mmap-tx and xdp-tx write each frame's address (and IPv4 header checksum);
    /// udp-tx binds each flow's socket to its address, so --src-ip is required there and
    /// each must be an address of this host (exit 4 naming the first that is not).
    #[arg(long, default_value = "port", value_name = "port|addr")]
    pub flow_by: crate::wire::FlowBy,
    /// With --flows: the flows take turns in a random order drawn from this seed instead of
    /// round robin (the same order in every round of N datagrams, or send calls for udp-tx,
    /// so each flow still gets its exact share; the same seed gives the same order).
    #[arg(long, value_name = "SEED")]
    pub flow_seed: Option<u64>,
    /// Datagrams to send. Required, except for mmap-tx --pcap, which plays the capture once
    /// when it is not given (as tcpreplay does).
    #[arg(long)]
    pub count: Option<u64>,
    /// UDP payload bytes per datagram (the Ethernet frame is size + 42 over IPv4, size + 62
    /// over IPv6); at least the 24-byte probe, at most MTU - 28 (IPv4) or MTU - 48 (IPv6).
    /// Or a mix of Ethernet frame sizes (FCS included) that repeats: `imix` (64x7,570x4,1518x1)
    /// or FRAMExWEIGHT,... (a frame too small for the probe goes out as the smallest that
    /// holds it; bit rates pace by the mix's mean frame).
    #[arg(long, default_value = "64", value_name = "BYTES|MIX")]
    pub size: crate::wire::DatagramSizes,
    /// Transmit rate: 500Mbps, 1Gbps (Ethernet frame bits), 250kpps, or max.
    #[arg(long, default_value = "max")]
    pub rate: String,
    /// Run id and round trips.
    #[command(flatten)]
    pub probe: ProbeOptions,
    /// Core and output format.
    #[command(flatten)]
    pub process: ProcessOptions,
}

impl SendOptions {
    /// `--dst-ip` (exit code 2 if missing).
    /// An IPv6 link-local destination is refused (exit code 2): it needs a scope, which an
    /// address alone does not carry, and the test flows use unique local addresses.
    pub fn dst_ip(&self) -> Result<std::net::IpAddr, CliError> {
        let ip = self
            .dst_ip
            .ok_or_else(|| CliError::new(Failure::Usage, "--dst-ip is required"))?;
        match ip {
            std::net::IpAddr::V6(a) if crate::net::is_link_local(a) => Err(CliError::new(
                Failure::Usage,
                NetError::LinkLocal(a).to_string(),
            )),
            ip => Ok(ip),
        }
    }

    /// `--src-ip`, if given, checked against the destination's `family` (exit code 2).
    pub fn src_ip(
        &self,
        family: crate::wire::Family,
    ) -> Result<Option<std::net::IpAddr>, CliError> {
        match self.src_ip {
            Some(ip) if crate::wire::Family::of(ip) != family => Err(CliError::new(
                Failure::Usage,
                format!("--src-ip {ip} is not of the destination's family ({family})"),
            )),
            other => Ok(other),
        }
    }

    /// `--flows`, checked against the source ports (by port; by address the sender checks
    /// them against its source address) and `--reflect-every` (exit code 2).
    pub fn flows(&self) -> Result<u16, CliError> {
        let first = match self.flow_by {
            crate::wire::FlowBy::Port => self.src_port,
            crate::wire::FlowBy::Addr => 0,
        };
        let n = crate::wire::check_flows(self.flows, first)
            .map_err(|e| CliError::new(Failure::Usage, e.to_string()))?;
        if n > 1 && self.probe.reflect_every.is_some() {
            return Err(CliError::new(
                Failure::Usage,
                "--flows with --reflect-every: reflections come back to each flow's source port, and the sender listens on the first one only",
            ));
        }
        Ok(n)
    }

    /// `--flows` and `--flow-by` when there are more than one flow (for the summary).
    pub fn flows_told_apart(&self) -> Result<Option<(u16, crate::wire::FlowBy)>, CliError> {
        let n = self.flows()?;
        Ok((n > 1).then_some((n, self.flow_by)))
    }

    /// The order of the flows' turns from `--flow-seed` (none: round robin); a seed with one
    /// flow is refused (exit code 2): there is no order to draw.
    pub fn flow_order(&self) -> Result<Option<Vec<u16>>, CliError> {
        let flows = self.flows()?;
        match self.flow_seed {
            None => Ok(None),
            Some(_) if flows < 2 => Err(CliError::new(
                Failure::Usage,
                "--flow-seed orders the turns of two or more --flows",
            )),
            Some(seed) => Ok(Some(crate::wire::flow_order(flows, seed))),
        }
    }

    /// `--count` (exit code 2 if missing).
    pub fn count(&self) -> Result<u64, CliError> {
        self.count
            .ok_or_else(|| CliError::new(Failure::Usage, "--count is required"))
    }

    /// `--run-id`, or a fresh one (a new one on every call: call it once per run).
    pub fn run_id(&self) -> u32 {
        self.probe
            .run_id
            .unwrap_or_else(crate::process::fresh_run_id)
    }

    /// The parsed `--rate` (exit code 7 if it does not parse).
    pub fn rate(&self) -> Result<crate::pace::Rate, CliError> {
        parse_rate(&self.rate)
    }
}

/// Parses a rate: `500Mbps`, `250kpps`, `max` (exit code 7 if it does not parse).
pub fn parse_rate(s: &str) -> Result<crate::pace::Rate, CliError> {
    s.parse()
        .map_err(|e| CliError::new(Failure::Rate, format!("{e}")))
}

/// Parses every rate of a list (exit code 7 for the first that does not parse).
pub fn parse_rates(list: &[String]) -> Result<Vec<crate::pace::Rate>, CliError> {
    list.iter().map(|s| parse_rate(s)).collect()
}

/// Options every receiver takes (`mmap-rx`, `udp-rx`).
#[derive(Debug, Clone, clap::Args)]
pub struct ReceiveOptions {
    /// UDP destination port of the test flow.
    #[arg(long, default_value_t = crate::DEFAULT_PORT)]
    pub port: u16,
    /// Stop after this many datagrams (also sizes the loss tracker).
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this many seconds without a new datagram (fractions allowed).
    #[arg(long, value_name = "SECONDS")]
    pub idle_timeout: Option<f64>,
    /// Run id and round trips.
    #[command(flatten)]
    pub probe: ProbeOptions,
    /// Core and output format.
    #[command(flatten)]
    pub process: ProcessOptions,
}

/// Every tool's `main`: install the stop flag, run, print the summary (text, or JSON with
/// `--json`) and exit with the run's code; a failure before anything was measured prints one
/// line and exits with its kind's code.
pub fn run_tool<S: serde::Serialize>(
    tool: &str,
    json: bool,
    text: fn(&S) -> String,
    run: impl FnOnce(&AtomicBool) -> Result<(S, i32), CliError>,
) -> ! {
    let stop = crate::process::stop_flag();
    match run(&stop) {
        Ok((summary, code)) => {
            emit(&summary, || text(&summary), json);
            std::process::exit(code)
        }
        Err(e) => e.exit(tool),
    }
}

/// The hint printed when `CAP_NET_RAW` is missing.
pub fn cap_net_raw_hint(tool: &str) -> String {
    format!(
        "{tool} needs CAP_NET_RAW to open an AF_PACKET socket: run it as root, give the container --cap-add NET_RAW, or grant the binary: setcap cap_net_raw+ep $(command -v {tool})"
    )
}

/// Classifies a syscall failure from setting up a socket or ring.
pub fn from_sys(tool: &str, e: SysError) -> CliError {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => CliError::new(
            Failure::Privilege,
            format!("{}: {e}", cap_net_raw_hint(tool)),
        ),
        Some(libc::ENODEV) | Some(libc::ENXIO) => {
            CliError::new(Failure::Interface, format!("interface gone: {e}"))
        }
        Some(libc::ENETDOWN) => {
            CliError::new(Failure::Interface, format!("interface is down: {e}"))
        }
        _ => CliError::new(Failure::Runtime, e.to_string()),
    }
}

impl From<NetError> for CliError {
    fn from(e: NetError) -> Self {
        let kind = match &e {
            NetError::Unresolved { .. } => Failure::Neighbour,
            NetError::Sys(s) if s.is_permission_denied() => Failure::Privilege,
            NetError::Io(_, io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
                Failure::Privilege
            }
            NetError::Sys(_) | NetError::Io(..) => Failure::Runtime,
            _ => Failure::Interface,
        };
        CliError::new(kind, e.to_string())
    }
}

impl From<GeometryError> for CliError {
    fn from(e: GeometryError) -> Self {
        CliError::new(Failure::Geometry, format!("impossible ring geometry: {e}"))
    }
}

impl From<crate::wire::FrameError> for CliError {
    fn from(e: crate::wire::FrameError) -> Self {
        match e {
            crate::wire::FrameError::Size(e) => e.into(),
            crate::wire::FrameError::Flows(e) => CliError::new(Failure::Usage, e.to_string()),
        }
    }
}

impl From<SizeError> for CliError {
    fn from(e: SizeError) -> Self {
        CliError::new(Failure::Size, e.to_string())
    }
}

impl From<TxError> for CliError {
    fn from(e: TxError) -> Self {
        CliError::new(Failure::Runtime, e.to_string())
    }
}

/// A summary with the exit code its stop reason calls for.
pub fn with_exit_code<S: crate::report::Stopped>(summary: S) -> (S, i32) {
    let code = exit_code_for(summary.stop_reason());
    (summary, code)
}

/// The exit code for a run that ended for `reason`.
pub fn exit_code_for(reason: StopReason) -> i32 {
    match reason {
        StopReason::Count | StopReason::Idle => 0,
        StopReason::Signal => Failure::Interrupted as i32,
        StopReason::Error => Failure::Runtime as i32,
    }
}

/// Pins the calling thread to `core` (exit code 2 if that core does not exist).
pub fn pin(core: Option<usize>) -> Result<(), CliError> {
    match core {
        Some(c) => crate::process::pin_to_cpu(c).map_err(|e| CliError::new(Failure::Usage, e)),
        None => Ok(()),
    }
}

/// Drops every capability once sockets and rings are open (see
/// [`crate::process::drop_capabilities`]).
pub fn drop_capabilities() -> Result<(), CliError> {
    crate::process::drop_capabilities().map_err(|e| CliError::new(Failure::Runtime, e))
}

/// Classifies a failure to open a ring: its geometry (exit 5) or the kernel.
pub fn from_open(tool: &str, e: OpenError) -> CliError {
    match e {
        OpenError::Geometry(g) => g.into(),
        OpenError::Sys(s) => from_sys(tool, s),
    }
}

impl From<crate::pcap::PcapError> for CliError {
    fn from(e: crate::pcap::PcapError) -> Self {
        use crate::pcap::PcapError;
        let kind = match &e {
            PcapError::Write { .. } => Failure::Output,
            PcapError::Oversize { .. } => Failure::Size,
            PcapError::Open { .. } | PcapError::Format { .. } => Failure::Capture,
        };
        CliError::new(kind, e.to_string())
    }
}

/// Prints a summary: one JSON object (`type` `summary`, with `schema`) on stdout with
/// `--json`, else readable text on stdout.
pub fn emit<T: serde::Serialize>(summary: &T, text: impl FnOnce() -> String, json: bool) {
    if json {
        match serde_json::to_string(&crate::report::Record::summary(summary)) {
            Ok(s) => print_line(&s),
            Err(e) => eprintln!("cannot serialise the summary: {e}"),
        }
    } else {
        print_line(&text());
    }
}

/// Writes one line on stdout; a reader that went away (a closed pipe) is not a panic: what
/// it would have read is lost with it, and the exit code still says how the run went.
fn print_line(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|_| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_errors_name_the_capability() {
        let e = from_sys(
            "mmap-rx",
            SysError::new(
                "socket(AF_PACKET)",
                std::io::Error::from_raw_os_error(libc::EPERM),
            ),
        );
        assert_eq!(e.kind, Failure::Privilege);
        assert!(e.message.contains("CAP_NET_RAW"), "{}", e.message);
    }
}
