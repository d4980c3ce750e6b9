//! What the tools print: a readable summary, or with `--json` one JSON object on stdout.
//!
//! Field names are part of the interface: the scenario runner and users' scripts read them.
//! With `--json` every object printed carries `type` (`interval` or `summary`) and `schema`
//! ([`JSON_SCHEMA`]); with `--interval` the tools print JSON Lines: one `interval` object per
//! interval, then the `summary` (iperf3's `--json-stream` is the model).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Version of the tools' JSON objects: raised when a field changes meaning or goes away
/// (new fields do not raise it).
pub const JSON_SCHEMA: u32 = 1;

/// One JSON object as the tools print it: its kind, the schema version, then its fields.
#[derive(Debug, Serialize)]
pub struct Record<'a, T: Serialize> {
    /// `interval` or `summary`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// [`JSON_SCHEMA`].
    pub schema: u32,
    /// The object's own fields.
    #[serde(flatten)]
    pub body: &'a T,
}

impl<'a, T: Serialize> Record<'a, T> {
    /// A summary record.
    pub fn summary(body: &'a T) -> Self {
        Record {
            kind: "summary",
            schema: JSON_SCHEMA,
            body,
        }
    }

    /// An interval record.
    pub fn interval(body: &'a T) -> Self {
        Record {
            kind: "interval",
            schema: JSON_SCHEMA,
            body,
        }
    }
}

/// What a receiver saw in one interval (`--interval`): the change of its counts since the
/// previous interval, read off the receive threads between batches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RxInterval {
    /// The tool.
    pub tool: String,
    /// 1 for the first interval.
    pub interval: u32,
    /// Start, seconds since the receiver was ready.
    pub start_s: f64,
    /// End, seconds since the receiver was ready.
    pub end_s: f64,
    /// Datagrams received in the interval.
    pub received: u64,
    /// Datagrams received since the start.
    pub received_total: u64,
    /// Change in sequence numbers missing below the highest seen: new gaps minus gaps that
    /// late arrivals filled (negative when reordered packets arrive).
    pub lost: i64,
    /// Kernel drops (ring or socket) in the interval.
    pub kernel_drops: u64,
    /// received / interval length.
    pub pps: f64,
    /// Ethernet frame bits per second / 1e6.
    pub mbps: f64,
    /// One-way latency of the interval's probes.
    #[serde(flatten)]
    pub latency: LatencySummary,
}

/// What a sender did in one interval (`--interval`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TxInterval {
    /// The tool.
    pub tool: String,
    /// 1 for the first interval.
    pub interval: u32,
    /// Start, seconds since sending began.
    pub start_s: f64,
    /// End, seconds since sending began.
    pub end_s: f64,
    /// Frames handed to the kernel in the interval.
    pub sent: u64,
    /// Frames handed to the kernel since the start.
    pub sent_total: u64,
    /// Retries (device or socket buffer full) in the interval.
    pub retries: u64,
    /// Sending system calls in the interval.
    pub syscalls: u64,
    /// sent / interval length.
    pub pps: f64,
    /// Ethernet frame bits per second / 1e6.
    pub mbps: f64,
}

impl RxInterval {
    /// One readable line.
    pub fn to_text(&self) -> String {
        format!(
            "{} [{:7.2}-{:7.2} s] {:>10} pkts {:>10.0} pps {:>9.1} Mbit/s  lost {}  drops {}  latency us p50 {} p99 {}",
            self.tool,
            self.start_s,
            self.end_s,
            self.received,
            self.pps,
            self.mbps,
            self.lost,
            self.kernel_drops,
            opt_us(self.latency.p50_ns),
            opt_us(self.latency.p99_ns)
        )
    }
}

impl TxInterval {
    /// One readable line.
    pub fn to_text(&self) -> String {
        format!(
            "{} [{:7.2}-{:7.2} s] {:>10} sent {:>10.0} pps {:>9.1} Mbit/s  retries {}  syscalls {}",
            self.tool,
            self.start_s,
            self.end_s,
            self.sent,
            self.pps,
            self.mbps,
            self.retries,
            self.syscalls
        )
    }
}

/// What a replay sent (`mmap-tx --pcap`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplaySummary {
    /// The capture.
    pub path: String,
    /// Its frames sent, in a loop until the count.
    pub frames: u64,
    /// Of those, frames that carry a stamped probe (with `--stamp`).
    pub stamped: u64,
    /// Packets of the file skipped as longer than the interface's frames.
    pub skipped_oversize: u64,
    /// Packets of the file skipped as cut by the capture's snap length.
    pub skipped_truncated: u64,
}

/// Why a tool stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Sent or received the requested count.
    #[default]
    Count,
    /// No traffic for the idle timeout.
    Idle,
    /// SIGINT or SIGTERM.
    Signal,
    /// A runtime error (see `error`).
    Error,
}

/// One-way latency percentiles, from the probe's send time to the kernel's receive timestamp.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Probes whose latency was recorded.
    #[serde(rename = "latency_samples")]
    pub samples: u64,
    /// Minimum, ns (the floor packet delay variation is measured from).
    #[serde(rename = "latency_min_ns", default)]
    pub min_ns: Option<u64>,
    /// Median, ns.
    #[serde(rename = "latency_p50_ns")]
    pub p50_ns: Option<u64>,
    /// 90th percentile, ns.
    #[serde(rename = "latency_p90_ns")]
    pub p90_ns: Option<u64>,
    /// 99th percentile, ns.
    #[serde(rename = "latency_p99_ns")]
    pub p99_ns: Option<u64>,
    /// 99.9th percentile, ns.
    #[serde(rename = "latency_p99_9_ns")]
    pub p99_9_ns: Option<u64>,
    /// Maximum, ns.
    #[serde(rename = "latency_max_ns")]
    pub max_ns: Option<u64>,
    /// Probes whose send time was after their receive time (clocks disagree; not recorded).
    pub clock_skew: u64,
}

/// How received datagrams spread over flows (source ports or source addresses, told apart
/// by port + the address's last 16 bits; datagrams whose source the receiver knows: all of
/// mmap-rx's, xdp-rx's and udp-rx's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlowSpread {
    /// Flows seen.
    #[serde(rename = "flows")]
    pub flows: u64,
    /// Datagrams of the flow with the fewest.
    #[serde(rename = "flow_min")]
    pub min: u64,
    /// Datagrams of the flow with the most.
    #[serde(rename = "flow_max")]
    pub max: u64,
}

/// Receive counts shared by both receivers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RxCounts {
    /// The run followed (the first seen, or `--run-id`).
    pub run_id: Option<u32>,
    /// Well-formed UDP datagrams (IPv4 or IPv6) to our port: the followed run's probes plus
    /// datagrams without a probe.
    pub received: u64,
    /// Of those, the ones that came over IPv6 (the rest came over IPv4).
    #[serde(default)]
    pub received_ipv6: u64,
    /// Ethernet frame bytes of those datagrams (UDP payload + 42 each over IPv4, + 62 over
    /// IPv6).
    pub frame_bytes: u64,
    /// Received datagrams carrying the followed run's probe.
    pub probes: u64,
    /// Received datagrams without a probe (no loss or latency figures for those).
    pub no_probe: u64,
    /// Probes of other runs: counted apart, not received.
    pub other_run: u64,
    /// Distinct sequence numbers.
    pub unique: u64,
    /// Sequence numbers never seen (of `--count` if given, else up to the highest seen).
    pub lost: u64,
    /// Arrivals of a sequence number already seen.
    pub duplicates: u64,
    /// First arrivals after a higher sequence number.
    pub reordered: u64,
    /// Arrivals too old for the tracking window (counted as lost).
    pub late: u64,
    /// Probes with a sequence number at or beyond `--count`.
    pub out_of_range: u64,
    /// Frames (mmap-rx, xdp-rx) or socket reads (udp-rx --gro) that carried more than one
    /// datagram: a GSO super-packet or a GRO-coalesced read, each of whose segments is
    /// counted (and its probe checked) as a datagram of its own.
    #[serde(default)]
    pub gso_frames: u64,
    /// Frames not counted, all reasons together.
    pub ignored: u64,
    /// Frames not counted, by reason (only reasons that occurred).
    pub ignored_by_reason: BTreeMap<String, u64>,
    /// Kernel timestamp of the first received datagram, ns since the epoch.
    pub first_arrival_ns: Option<u64>,
    /// Kernel timestamp of the last received datagram, ns since the epoch.
    pub last_arrival_ns: Option<u64>,
    /// Last minus first arrival, seconds.
    pub duration_s: f64,
    /// received / duration: the thesis's packets per second.
    pub pps: f64,
    /// frame_bytes * 8 / duration, in Mbit/s.
    pub mbps: f64,
    /// One-way latency.
    #[serde(flatten)]
    pub latency: LatencySummary,
    /// The spread over flows (`flows`, `flow_min`, `flow_max`).
    #[serde(flatten, default)]
    pub flows: FlowSpread,
}

/// A receiver's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RxSummary {
    /// `mmap-rx` or `udp-rx`.
    pub tool: String,
    /// Interface captured on (mmap-rx) or address bound (udp-rx).
    pub endpoint: String,
    /// UDP port.
    pub port: u16,
    /// What was counted.
    #[serde(flatten)]
    pub counts: RxCounts,
    /// How packets reached the tool where it has a choice (xdp-rx: `native xdp, copy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Frames the kernel offered the socket after its filter, including drops (mmap-rx).
    pub kernel_packets: Option<u64>,
    /// Frames the kernel dropped for lack of room in the ring or socket buffer.
    pub kernel_drops: u64,
    /// The socket's own counters by name, where it has several (xdp-rx: `rx_dropped`,
    /// `rx_ring_full`, `rx_fill_ring_empty`, `rx_invalid_descs`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kernel_counters: BTreeMap<String, u64>,
    /// Times the V3 ring froze waiting for a free block (mmap-rx).
    pub freeze_count: u64,
    /// Bytes the kernel may hold for this receiver before it drops: the RX ring's size
    /// (mmap-rx, per thread), the UMEM's (xdp-rx), or the socket receive buffer as
    /// `getsockopt(SO_RCVBUF)` reads it (udp-rx; the kernel doubles what was asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer_bytes: Option<u64>,
    /// What `--write` wrote (mmap-rx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<crate::pcap::CaptureSummary>,
    /// What was reflected back to the sender (`--reflect-every`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reflections: Option<ReflectionCounts>,
    /// Datagrams each receive thread counted, in thread order (`mmap-rx --threads` above 1;
    /// empty otherwise): how fanout spread the load.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread_received: Vec<u64>,
    /// Packets this host dropped on its per-CPU receive backlogs during the run
    /// (`/proc/net/softnet_stat`): lost before any socket or ring saw them, e.g. when RPS
    /// hands the receiving core more than it can take. Host-wide, so other traffic counts too.
    #[serde(default)]
    pub backlog_drops: u64,
    /// User CPU seconds of this process.
    pub cpu_user_s: f64,
    /// System CPU seconds of this process.
    pub cpu_sys_s: f64,
    /// Peak resident memory of this process, KiB.
    pub max_rss_kib: u64,
    /// Times the receiver slept and was woken (voluntary context switches of the process).
    #[serde(default)]
    pub voluntary_switches: u64,
    /// True if the run was interrupted or failed: the figures cover only what was seen.
    pub partial: bool,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// The error that stopped it, if any.
    pub error: Option<String>,
}

/// A sender's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxSummary {
    /// `mmap-tx` or `udp-tx`.
    pub tool: String,
    /// How packets were sent: `tpacket_v3`, `tpacket_v2`, `sendto`, ...
    pub method: String,
    /// Destination address and port.
    pub destination: String,
    /// Run id in every probe.
    pub run_id: u32,
    /// UDP payload bytes per datagram (a size mix's mean, rounded).
    pub size: usize,
    /// Ethernet frame bytes per datagram (size + 42; a size mix's mean, rounded).
    pub frame_bytes: usize,
    /// The size mix the datagrams followed (`imix`, `64x7,570x4,1518x1`): frame sizes, FCS
    /// included, in a fixed repeating sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_mix: Option<String>,
    /// Flows the datagrams took turns over (`--flows`), when more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flows: Option<u16>,
    /// What told those flows apart: `port` or `addr` (`--flow-by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_by: Option<String>,
    /// The requested rate as given (`max`, `500Mbps`, ...).
    pub requested_rate: String,
    /// The requested rate in packets per second (none for max).
    pub requested_pps: Option<f64>,
    /// Packets requested.
    pub count: u64,
    /// Packets the kernel accepted for transmission.
    pub sent: u64,
    /// Datagrams per GSO super-packet (`--gso`): one send or ring frame carries this many,
    /// each with its own probe; counts and rates are per datagram.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gso_segments: Option<u16>,
    /// Times the device or socket buffer was full and sending was retried.
    pub retries: u64,
    /// The capture replayed (mmap-tx --pcap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<ReplaySummary>,
    /// Round trips of the probes the receiver reflected (`--reflect-every`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trip: Option<RoundTripSummary>,
    /// `send()` calls that flushed the ring (mmap-tx) or send calls made (udp-tx).
    pub syscalls: u64,
    /// Seconds from the sending threads' start to their end, the drain of the last frames
    /// included.
    pub duration_s: f64,
    /// Seconds the slowest sending thread spent handing frames over, from its first send to
    /// its last (no thread start-up, no drain): `sent / sending_s` is the rate it offered,
    /// what a search compares with the load it asked for.
    #[serde(default)]
    pub sending_s: f64,
    /// sent / duration.
    pub pps: f64,
    /// Ethernet frame bits per second / 1e6.
    pub mbps: f64,
    /// User CPU seconds of this process.
    pub cpu_user_s: f64,
    /// System CPU seconds of this process.
    pub cpu_sys_s: f64,
    /// Peak resident memory of this process, KiB.
    pub max_rss_kib: u64,
    /// True if the run was interrupted or failed.
    pub partial: bool,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// The error that stopped it, if any.
    pub error: Option<String>,
}

fn opt_us(v: Option<u64>) -> String {
    v.map(|ns| format!("{:.1}", ns as f64 / 1e3))
        .unwrap_or_else(|| "-".into())
}

impl RxSummary {
    /// A readable multi-line summary.
    pub fn to_text(&self) -> String {
        let c = &self.counts;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} on {} port {}{}",
            self.tool,
            self.endpoint,
            self.port,
            if self.partial { " (PARTIAL)" } else { "" }
        );
        let _ = writeln!(
            s,
            "  received {} datagrams ({} with our probe, {} without; {} of other runs apart)",
            c.received, c.probes, c.no_probe, c.other_run
        );
        let _ = writeln!(
            s,
            "  unique {}  lost {}  duplicates {}  reordered {}  late {}",
            c.unique, c.lost, c.duplicates, c.reordered, c.late
        );
        let _ = writeln!(
            s,
            "  kernel drops {}  backlog drops {}  freezes {}  ignored {} {:?}",
            self.kernel_drops,
            self.backlog_drops,
            self.freeze_count,
            c.ignored,
            c.ignored_by_reason
        );
        let _ = writeln!(
            s,
            "  {:.0} pps  {:.1} Mbit/s  over {:.6} s (first to last arrival)",
            c.pps, c.mbps, c.duration_s
        );
        let _ = writeln!(
            s,
            "  latency us: min {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            opt_us(c.latency.min_ns),
            opt_us(c.latency.p50_ns),
            opt_us(c.latency.p90_ns),
            opt_us(c.latency.p99_ns),
            opt_us(c.latency.p99_9_ns),
            opt_us(c.latency.max_ns)
        );
        if let Some(w) = &self.capture {
            let _ = writeln!(
                s,
                "  wrote {} packets ({} bytes, {} cut to the snap length) to {}",
                w.packets, w.bytes, w.truncated, w.path
            );
        }
        if let Some(r) = &self.reflections {
            let _ = writeln!(
                s,
                "  reflected {} probes (every {}th) to the sender; {} refused{}",
                r.sent,
                r.every,
                r.failed,
                r.last_error
                    .as_ref()
                    .map(|e| format!(" (last: {e})"))
                    .unwrap_or_default()
            );
        }
        let _ = write!(s, "  ");
        ending(
            s,
            self.cpu_user_s,
            self.cpu_sys_s,
            self.stop_reason,
            &self.error,
        )
    }
}

/// The last line of a summary (CPU time and why it stopped), then the error if any.
fn ending(
    mut s: String,
    user_s: f64,
    sys_s: f64,
    reason: StopReason,
    error: &Option<String>,
) -> String {
    let _ = write!(
        s,
        "cpu user {user_s:.3} s  sys {sys_s:.3} s  stopped: {reason:?}"
    );
    if let Some(e) = error {
        let _ = write!(s, "\n  error: {e}");
    }
    s
}

impl TxSummary {
    /// A readable multi-line summary.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} ({}) to {}{}",
            self.tool,
            self.method,
            self.destination,
            if self.partial { " (PARTIAL)" } else { "" }
        );
        match &self.size_mix {
            Some(mix) => writeln!(
                s,
                "  sent {} of {} datagrams of size mix {mix} (mean {} B, frames {} B), run id {}",
                self.sent, self.count, self.size, self.frame_bytes, self.run_id
            ),
            None => writeln!(
                s,
                "  sent {} of {} datagrams of {} B (frames {} B), run id {}",
                self.sent, self.count, self.size, self.frame_bytes, self.run_id
            ),
        }
        .ok();
        let _ = writeln!(
            s,
            "  {:.0} pps  {:.1} Mbit/s over {:.6} s  (requested {})",
            self.pps, self.mbps, self.duration_s, self.requested_rate
        );
        if let (Some(n), Some(by)) = (self.flows, &self.flow_by) {
            let _ = writeln!(s, "  over {n} flows by source {by}");
        }
        if let Some(r) = &self.replay {
            let _ = writeln!(
                s,
                "  replayed {} frames of {} ({} with a probe stamped; skipped {} too long, {} truncated)",
                r.frames, r.path, r.stamped, r.skipped_oversize, r.skipped_truncated
            );
        }
        if let Some(r) = &self.round_trip {
            let l = &r.latency;
            let _ = writeln!(
                s,
                "  round trip us: p50 {}  p90 {}  p99 {}  max {}  ({} of {} reflections back, every {}th probe)",
                opt_us(l.p50_ns),
                opt_us(l.p90_ns),
                opt_us(l.p99_ns),
                opt_us(l.max_ns),
                r.reflected,
                r.expected,
                r.reflect_every
            );
        }
        let _ = write!(
            s,
            "  syscalls {}  retries {}  ",
            self.syscalls, self.retries
        );
        ending(
            s,
            self.cpu_user_s,
            self.cpu_sys_s,
            self.stop_reason,
            &self.error,
        )
    }
}

/// What a receiver reflected, in its summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReflectionCounts {
    /// Every how many sequence numbers a probe was reflected.
    pub every: u64,
    /// Reflections handed to the kernel.
    pub sent: u64,
    /// Reflections the kernel refused (a full socket buffer, no route).
    pub failed: u64,
    /// The last refusal, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Round trips in a sender's summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundTripSummary {
    /// Every how many sequence numbers the receiver reflects.
    pub reflect_every: u64,
    /// Reflections the probes sent should bring back (sequence numbers sent that are
    /// multiples of `reflect_every`).
    pub expected: u64,
    /// Distinct reflections that came back.
    pub reflected: u64,
    /// Reflections that came back more than once (counted once above).
    pub duplicates: u64,
    /// Datagrams on the socket that were not reflections of this run.
    pub foreign: u64,
    /// Round-trip times, from the probe's send time to the reflection's kernel receive time.
    #[serde(flatten)]
    pub latency: LatencySummary,
}

/// A summary that says why its run stopped (the tools' layer turns that into an exit code).
pub trait Stopped {
    /// Why the run stopped.
    fn stop_reason(&self) -> StopReason;
}

impl Stopped for RxSummary {
    fn stop_reason(&self) -> StopReason {
        self.stop_reason
    }
}

impl Stopped for TxSummary {
    fn stop_reason(&self) -> StopReason {
        self.stop_reason
    }
}

/// Summaries for unit tests elsewhere in the crate: every field set, nothing measured.
#[cfg(test)]
pub(crate) mod fixture {
    use super::{RxSummary, StopReason, TxSummary};

    /// A sender's summary: `tool` sent `sent` datagrams at `pps`, stopped for `reason`.
    pub fn tx(tool: &str, sent: u64, pps: f64, reason: StopReason) -> TxSummary {
        TxSummary {
            tool: tool.into(),
            method: "x".into(),
            destination: "x".into(),
            run_id: 1,
            size: 64,
            frame_bytes: 106,
            size_mix: None,
            flows: None,
            flow_by: None,
            requested_rate: "max".into(),
            requested_pps: None,
            count: sent,
            sent,
            gso_segments: None,
            retries: 0,
            replay: None,
            round_trip: None,
            syscalls: 1,
            duration_s: 1.0,
            sending_s: 0.0,
            pps,
            mbps: 0.0,
            cpu_user_s: 0.0,
            cpu_sys_s: 0.0,
            max_rss_kib: 0,
            partial: reason != StopReason::Count,
            stop_reason: reason,
            error: None,
        }
    }

    /// A receiver's summary: `tool` counted nothing yet, stopped for `reason`.
    pub fn rx(tool: &str, reason: StopReason) -> RxSummary {
        RxSummary {
            tool: tool.into(),
            endpoint: "x".into(),
            port: 9000,
            counts: Default::default(),
            mode: None,
            kernel_packets: None,
            kernel_drops: 0,
            kernel_counters: Default::default(),
            freeze_count: 0,
            buffer_bytes: None,
            capture: None,
            reflections: None,
            thread_received: Vec::new(),
            backlog_drops: 0,
            cpu_user_s: 0.0,
            cpu_sys_s: 0.0,
            max_rss_kib: 0,
            voluntary_switches: 0,
            partial: matches!(reason, StopReason::Signal | StopReason::Error),
            stop_reason: reason,
            error: None,
        }
    }
}
