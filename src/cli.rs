//! What the four tools share at their edges: exit codes, error classification, signals,
//! CPU pinning and CPU accounting, so the binaries stay thin.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::resource::{getrusage, UsageWho};

use crate::net::NetError;
use crate::report::StopReason;
use crate::ring::{GeometryError, SysError, TxError};
use crate::wire::SizeError;

/// Options every sender takes (`mmap-tx`, `udp-tx`).
#[derive(Debug, Clone, clap::Args)]
pub struct SendOptions {
    /// Destination IPv4 address (for mmap-tx: on the interface's segment).
    #[arg(long)]
    pub dst_ip: std::net::Ipv4Addr,
    /// UDP destination port.
    #[arg(long, default_value_t = crate::DEFAULT_PORT)]
    pub port: u16,
    /// UDP source port.
    #[arg(long, default_value_t = crate::DEFAULT_PORT + 1)]
    pub src_port: u16,
    /// Datagrams to send.
    #[arg(long)]
    pub count: u64,
    /// UDP payload bytes per datagram (the Ethernet frame is size + 42); at least the 24-byte
    /// probe, at most MTU - 28.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Transmit rate: 500Mbps, 1Gbps (Ethernet frame bits), 250kpps, or max.
    #[arg(long, default_value = "max")]
    pub rate: String,
    /// Run id carried in every probe (default: fresh for every run).
    #[arg(long)]
    pub run_id: Option<u32>,
    /// Pin to this CPU core.
    #[arg(long, value_name = "CORE")]
    pub cpu: Option<usize>,
    /// Print one JSON object instead of the readable summary.
    #[arg(long)]
    pub json: bool,
}

impl SendOptions {
    /// The parsed `--rate` (exit code 7 if it does not parse).
    pub fn rate(&self) -> Result<crate::pace::Rate, CliError> {
        self.rate
            .parse()
            .map_err(|e| CliError::new(Failure::Rate, format!("{e}")))
    }
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
    /// Follow this run id instead of the first one seen.
    #[arg(long)]
    pub run_id: Option<u32>,
    /// Pin to this CPU core.
    #[arg(long, value_name = "CORE")]
    pub cpu: Option<usize>,
    /// Print one JSON object instead of the readable summary.
    #[arg(long)]
    pub json: bool,
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
    let stop = stop_flag();
    match run(&stop) {
        Ok((summary, code)) => {
            emit(&summary, || text(&summary), json);
            std::process::exit(code)
        }
        Err(e) => e.exit(tool),
    }
}

/// Exit codes, one per kind of failure (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 1: a runtime I/O error (the summary printed is partial).
    Runtime = 1,
    /// 2: a bad command line (clap's own code).
    Usage = 2,
    /// 3: missing privilege: `CAP_NET_RAW`.
    Privilege = 3,
    /// 4: unknown or down interface, or one without the address needed.
    Interface = 4,
    /// 5: impossible ring geometry.
    Geometry = 5,
    /// 6: size below the probe header or above the MTU.
    Size = 6,
    /// 7: unparseable rate.
    Rate = 7,
    /// 8: destination not resolvable.
    Neighbour = 8,
    /// 130: interrupted by SIGINT or SIGTERM (the summary printed is partial).
    Interrupted = 130,
}

/// A failure with its one-line message.
#[derive(Debug)]
pub struct CliError {
    /// The kind, which selects the exit code.
    pub kind: Failure,
    /// One line for the user.
    pub message: String,
}

impl CliError {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: Failure, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The process exit code.
    pub fn code(&self) -> i32 {
        self.kind as i32
    }

    /// Prints `TOOL: error: MESSAGE` to stderr and exits with the kind's code.
    pub fn exit(&self, tool: &str) -> ! {
        eprintln!("{tool}: error: {}", self.message);
        std::process::exit(self.code())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

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

/// A flag set by SIGINT or SIGTERM; the tools poll it between batches.
pub fn stop_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registration only fails for forbidden signals, which these are not.
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
    flag
}

/// When a receiver stops: after `count` datagrams, after `idle` without a new one (counted
/// from the start too, so a receiver that never sees traffic ends with an honest zero), or on
/// a signal.
#[derive(Debug)]
pub struct StopRule {
    count: Option<u64>,
    idle: Option<Duration>,
    last_received: u64,
    last_activity: Instant,
}

impl StopRule {
    /// A rule for `count` datagrams and an idle timeout in seconds.
    pub fn new(count: Option<u64>, idle_timeout_s: Option<f64>) -> Result<Self, CliError> {
        let idle = match idle_timeout_s {
            Some(s) if !(s.is_finite() && s > 0.0) => {
                return Err(CliError::new(
                    Failure::Usage,
                    format!("--idle-timeout must be a positive number of seconds, not {s}"),
                ))
            }
            Some(s) => Some(Duration::from_secs_f64(s)),
            None => None,
        };
        Ok(Self {
            count,
            idle,
            last_received: 0,
            last_activity: Instant::now(),
        })
    }

    /// How long a receiver may block waiting for traffic before checking again.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(100).min(self.idle.unwrap_or(Duration::MAX))
    }

    /// Whether to stop, given `received` so far and the signal flag.
    pub fn check(&mut self, received: u64, stop: &AtomicBool) -> Option<StopReason> {
        if stop.load(Ordering::Relaxed) {
            return Some(StopReason::Signal);
        }
        if self.count.is_some_and(|n| received >= n) {
            return Some(StopReason::Count);
        }
        if received != self.last_received {
            self.last_received = received;
            self.last_activity = Instant::now();
        } else if self.idle.is_some_and(|d| self.last_activity.elapsed() >= d) {
            return Some(StopReason::Idle);
        }
        None
    }
}

/// The exit code for a run that ended for `reason`.
pub fn exit_code_for(reason: StopReason) -> i32 {
    match reason {
        StopReason::Count | StopReason::Idle => 0,
        StopReason::Signal => Failure::Interrupted as i32,
        StopReason::Error => Failure::Runtime as i32,
    }
}

/// Gives up every capability (effective, permitted, inheritable, ambient) once the sockets and
/// rings exist: the open fds keep working, and nothing later in the run can use CAP_NET_RAW.
pub fn drop_capabilities() -> Result<(), CliError> {
    use caps::CapSet;
    for set in [
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        caps::clear(None, set).map_err(|e| {
            CliError::new(
                Failure::Runtime,
                format!("cannot drop capabilities ({set:?}): {e}"),
            )
        })?;
    }
    Ok(())
}

/// Pins the calling thread to one CPU core.
pub fn pin_to_cpu(core: usize) -> Result<(), CliError> {
    let mut set = nix::sched::CpuSet::new();
    set.set(core)
        .and_then(|_| nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set))
        .map_err(|e| CliError::new(Failure::Usage, format!("cannot pin to CPU {core}: {e}")))
}

/// The core for thread `i` of a tool started with `--cpu base`: the cores after `base`, in
/// turn, wrapping around the machine's cores (so 4 threads on 2 cores share them 2 by 2).
pub fn core_for_thread(base: usize, i: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (base + i) % cores.max(base + 1)
}

/// User and system CPU seconds used by this process so far.
pub fn cpu_seconds() -> (f64, f64) {
    cpu_seconds_of(UsageWho::RUSAGE_SELF)
}

/// User and system CPU seconds of this process's children that have been waited for.
pub fn children_cpu_seconds() -> (f64, f64) {
    cpu_seconds_of(UsageWho::RUSAGE_CHILDREN)
}

fn cpu_seconds_of(who: UsageWho) -> (f64, f64) {
    match getrusage(who) {
        Ok(u) => {
            let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
            (secs(u.user_time()), secs(u.system_time()))
        }
        Err(_) => (0.0, 0.0),
    }
}

/// Peak resident memory of this process in KiB (`getrusage` `ru_maxrss`).
pub fn max_rss_kib() -> u64 {
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| u.max_rss().max(0) as u64)
        .unwrap_or(0)
}

/// `CLOCK_REALTIME` in nanoseconds: the clock of the probe's send time and of the kernel's
/// packet timestamps.
pub fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A run id when none is given: different for every run, from the clock and the process id.
pub fn fresh_run_id() -> u32 {
    let t = realtime_ns();
    let mixed =
        (t ^ (t >> 29) ^ (u64::from(std::process::id()) << 16)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 32) as u32
}

/// Prints a summary: pretty JSON on stdout with `--json`, else readable text on stdout.
pub fn emit<T: serde::Serialize>(summary: &T, text: impl FnOnce() -> String, json: bool) {
    if json {
        match serde_json::to_string(summary) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("cannot serialise the summary: {e}"),
        }
    } else {
        println!("{}", text());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct() {
        let all = [
            Failure::Runtime,
            Failure::Usage,
            Failure::Privilege,
            Failure::Interface,
            Failure::Geometry,
            Failure::Size,
            Failure::Rate,
            Failure::Neighbour,
            Failure::Interrupted,
        ];
        let mut codes: Vec<i32> = all.iter().map(|f| *f as i32).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

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
