//! The sender engine: lanes (one thread and one backend each), pacing, the stop signal, the
//! drain and the summary. A backend only queues stamped frames and hands them to the kernel.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::reflect::{reflectable, RoundTrips};
use crate::exit::{CliError, Failure};
use crate::pace::{MonotonicClock, Pacer, Rate};
use crate::process;
use crate::report::{StopReason, TxInterval, TxSummary};

/// Frames the engine asks a backend to queue: up to `n`, with sequence numbers `next`,
/// `next + stride`, ..., all stamped with send time `now_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// The first frame's sequence number.
    pub next: u64,
    /// The distance between a lane's sequence numbers (the number of lanes).
    pub stride: u64,
    /// How many frames at most.
    pub n: u64,
    /// The probes' send time, ns since the epoch (one clock read per batch).
    pub now_ns: u64,
}

impl Batch {
    /// The sequence number of the batch's `i`-th frame.
    pub fn seq(self, i: u64) -> u64 {
        self.next + i * self.stride
    }
}

/// What a lane's backend has done, kept by the engine and updated by the backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxCounters {
    /// Frames handed to the kernel (or queued for it).
    pub published: u64,
    /// System calls that sent.
    pub syscalls: u64,
    /// Times the device or socket buffer was full and sending was retried.
    pub retries: u64,
}

/// A way to send frames: a TX ring, a UDP socket, an AF_XDP socket.
///
/// The engine calls [`Transmit::queue`] with as many frames as pacing and batching allow,
/// [`Transmit::flush`] when they must leave, [`Transmit::wait_room`] when the backend took
/// fewer than asked, and [`Transmit::drain`] once at the end.
pub trait Transmit: Send {
    /// How frames leave (`tpacket_v3`, `sendto`, ...): the summary's `method`.
    fn method(&self) -> &'static str;

    /// Queues up to `batch.n` frames and returns how many it took (added to
    /// `counters.published`). Fewer than `batch.n` means no room now. An error that is not
    /// [`Failure::Runtime`] before anything was sent ends the run without a summary (e.g. a
    /// size the path refuses).
    fn queue(&mut self, batch: Batch, counters: &mut TxCounters) -> Result<u64, CliError>;

    /// Frames queued but not handed to the kernel yet.
    fn unflushed(&self) -> u64 {
        0
    }

    /// Hands every queued frame to the kernel without blocking.
    fn flush(&mut self, _counters: &mut TxCounters) -> Result<(), CliError> {
        Ok(())
    }

    /// Waits, briefly, until [`Transmit::queue`] can take a frame again.
    fn wait_room(&mut self) -> Result<(), CliError>;

    /// After the last frame: waits up to `timeout` for every frame handed over to leave and
    /// returns how many did not (they are not counted as sent). On an error, also says how
    /// many were still in flight.
    fn drain(&mut self, _timeout: Duration) -> Result<u64, (CliError, u64)> {
        Ok(0)
    }
}

/// What to send and how to describe it.
#[derive(Debug, Clone)]
pub struct SendPlan {
    /// The tool's name, for the summary.
    pub tool: &'static str,
    /// Destination as the summary shows it.
    pub destination: String,
    /// Run id in every probe.
    pub run_id: u32,
    /// UDP payload bytes (a size mix's mean, rounded).
    pub size: usize,
    /// Ethernet frame bytes per datagram (a size mix's mean, rounded).
    pub frame_bytes: usize,
    /// The size mix (`imix`, `64x7,...`), when the datagrams' sizes vary.
    pub size_mix: Option<String>,
    /// Flows and what tells them apart, when there are more than one.
    pub flows: Option<(u16, crate::wire::FlowBy)>,
    /// Frames to send, over all lanes.
    pub count: u64,
    /// Rate over all lanes.
    pub rate: Rate,
    /// Frames per flush when unpaced.
    pub batch: u64,
    /// Datagrams per GSO super-packet (`--gso`), for the summary.
    pub gso_segments: Option<u16>,
    /// Core of lane 0 when lanes are pinned one per core (`--cpu` with several lanes).
    pub cpu: Option<usize>,
    /// Report every this long (`--interval`).
    pub interval: Option<Duration>,
    /// Time the reflections of every N-th probe (`--reflect-every`).
    pub round_trip: Option<Arc<RoundTrips>>,
}

/// How long a lane waits, after its last frame, for every frame it handed over to leave.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the sender waits for reflections still missing after its last frame left.
pub const REFLECTION_GRACE: Duration = Duration::from_secs(1);

/// A lane's counters as the interval reporter reads them: stored after every batch (three
/// relaxed stores, only when `--interval` is given), read once per interval.
#[derive(Debug, Default)]
struct SharedCounters {
    published: AtomicU64,
    syscalls: AtomicU64,
    retries: AtomicU64,
}

impl SharedCounters {
    fn store(&self, c: &TxCounters) {
        self.published.store(c.published, Ordering::Relaxed);
        self.syscalls.store(c.syscalls, Ordering::Relaxed);
        self.retries.store(c.retries, Ordering::Relaxed);
    }

    fn sum(all: &[SharedCounters]) -> TxCounters {
        all.iter().fold(TxCounters::default(), |t, c| TxCounters {
            published: t.published + c.published.load(Ordering::Relaxed),
            syscalls: t.syscalls + c.syscalls.load(Ordering::Relaxed),
            retries: t.retries + c.retries.load(Ordering::Relaxed),
        })
    }
}

/// Turns counter totals into interval reports.
struct TxMeter<'a> {
    tool: &'static str,
    frame_bytes: u64,
    last: TxCounters,
    last_end_s: f64,
    index: u32,
    sink: &'a mut dyn FnMut(&TxInterval),
}

impl TxMeter<'_> {
    fn report(&mut self, now: TxCounters, end_s: f64) {
        let seconds = (end_s - self.last_end_s).max(1e-9);
        let sent = now.published.saturating_sub(self.last.published);
        self.index += 1;
        (self.sink)(&TxInterval {
            tool: self.tool.into(),
            interval: self.index,
            start_s: self.last_end_s,
            end_s,
            sent,
            sent_total: now.published,
            retries: now.retries.saturating_sub(self.last.retries),
            syscalls: now.syscalls.saturating_sub(self.last.syscalls),
            pps: sent as f64 / seconds,
            mbps: (sent * self.frame_bytes * 8) as f64 / seconds / 1e6,
        });
        self.last = now;
        self.last_end_s = end_s;
    }
}

/// Frames of `count` that lane `i` of `n` sends: sequence numbers i, i + n, ... < count.
pub fn lane_count(count: u64, i: u64, n: u64) -> u64 {
    if count > i {
        (count - i - 1) / n + 1
    } else {
        0
    }
}

#[derive(Debug, Default)]
struct LaneResult {
    counters: TxCounters,
    /// From the first send to the last frame handed over.
    sending: Duration,
    in_flight: u64,
    reason: StopReason,
    error: Option<CliError>,
}

/// Sends the plan over `lanes` (one thread each; lane `i` sends sequence numbers i, i + N,
/// ...), drains them and returns the summary (its `stop_reason` says how the run ended). With `plan.interval`,
/// `on_interval` gets a report every interval (frames handed to the kernel) and one for the
/// stretch before the end.
pub fn send<B: Transmit>(
    lanes: Vec<B>,
    plan: &SendPlan,
    stop: &AtomicBool,
    on_interval: &mut dyn FnMut(&TxInterval),
) -> Result<TxSummary, CliError> {
    let n = lanes.len().max(1) as u64;
    let method = lanes.first().map_or("none", |l| l.method());
    let shared: Vec<SharedCounters> = (0..n).map(|_| SharedCounters::default()).collect();
    let mut meter = plan.interval.map(|_| TxMeter {
        tool: plan.tool,
        frame_bytes: plan.frame_bytes as u64,
        last: TxCounters::default(),
        last_end_s: 0.0,
        index: 0,
        sink: on_interval,
    });
    let started = Instant::now();
    // When the lanes were done, and how many reflections their frames should bring back.
    let lanes_done: Mutex<Option<(Instant, u64)>> = Mutex::new(None);
    let (results, duration_s, round_trip) = std::thread::scope(|scope| {
        let collector = plan.round_trip.as_deref().map(|rt| {
            let lanes_done = &lanes_done;
            let handle = scope.spawn(move || {
                let mut finished =
                    |reflected: u64| match *lanes_done.lock().unwrap_or_else(|p| p.into_inner()) {
                        Some((at, expected)) => {
                            reflected >= expected || at.elapsed() >= REFLECTION_GRACE
                        }
                        None => false,
                    };
                rt.collect(plan.count, &mut finished)
            });
            (rt.every(), handle)
        });
        let handles: Vec<_> = lanes
            .into_iter()
            .enumerate()
            .map(|(i, backend)| {
                let core = plan
                    .cpu
                    .filter(|_| n > 1)
                    .map(|c| process::core_for_thread(c, i));
                let shared = plan.interval.map(|_| &shared[i]);
                scope.spawn(move || run_lane(backend, plan, i as u64, n, core, stop, shared))
            })
            .collect();
        if let (Some(every), Some(m)) = (plan.interval, meter.as_mut()) {
            let mut next_at = started + every;
            while !handles.iter().all(|h| h.is_finished()) {
                let now = Instant::now();
                if now >= next_at {
                    m.report(
                        SharedCounters::sum(&shared),
                        now.duration_since(started).as_secs_f64(),
                    );
                    next_at += every;
                }
                std::thread::sleep(
                    next_at
                        .saturating_duration_since(now)
                        .min(Duration::from_millis(10)),
                );
            }
        }
        let results: Vec<LaneResult> = handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| LaneResult {
                    reason: StopReason::Error,
                    error: Some(CliError::new(Failure::Runtime, "a sending thread panicked")),
                    ..LaneResult::default()
                })
            })
            .collect();
        let duration_s = started.elapsed().as_secs_f64();
        let round_trip = collector.and_then(|(every, h)| {
            let expected = (0..n)
                .zip(&results)
                .map(|(i, r)| {
                    let sent = r.counters.published.saturating_sub(r.in_flight);
                    reflectable(i, n, sent, every)
                })
                .sum();
            *lanes_done.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((Instant::now(), expected));
            h.join().ok().map(|times| times.summary(expected))
        });
        (results, duration_s, round_trip)
    });
    let mut total = TxCounters::default();
    let mut in_flight = 0;
    let mut sending = Duration::ZERO;
    let mut reason = StopReason::Count;
    let mut error: Option<CliError> = None;
    for lane in results {
        total.published += lane.counters.published;
        total.syscalls += lane.counters.syscalls;
        total.retries += lane.counters.retries;
        in_flight += lane.in_flight;
        sending = sending.max(lane.sending);
        if let Some(e) = lane.error {
            reason = StopReason::Error;
            error = error.or(Some(e));
        } else if lane.reason == StopReason::Signal && reason == StopReason::Count {
            reason = StopReason::Signal;
        }
    }
    if let Some(m) = meter.as_mut() {
        if duration_s > m.last_end_s {
            m.report(total, duration_s);
        }
    }
    let sent = total.published.saturating_sub(in_flight);
    if let Some(e) = &error {
        if sent == 0 && e.kind != Failure::Runtime {
            return Err(CliError::new(e.kind, e.message.clone()));
        }
    }
    let (cpu_user_s, cpu_sys_s) = process::cpu_seconds();
    let per_second = |v: f64| {
        if duration_s > 0.0 {
            v / duration_s
        } else {
            0.0
        }
    };
    let summary = TxSummary {
        tool: plan.tool.into(),
        method: method.into(),
        destination: plan.destination.clone(),
        run_id: plan.run_id,
        size: plan.size,
        frame_bytes: plan.frame_bytes,
        size_mix: plan.size_mix.clone(),
        flows: plan.flows.map(|(n, _)| n),
        flow_by: plan.flows.map(|(_, by)| by.to_string()),
        requested_rate: plan.rate.to_string(),
        requested_pps: plan.rate.packets_per_second(plan.frame_bytes),
        count: plan.count,
        sent,
        gso_segments: plan.gso_segments,
        retries: total.retries,
        replay: None,
        round_trip,
        syscalls: total.syscalls,
        duration_s,
        sending_s: sending.as_secs_f64(),
        pps: per_second(sent as f64),
        mbps: per_second((sent * plan.frame_bytes as u64 * 8) as f64) / 1e6,
        cpu_user_s,
        cpu_sys_s,
        max_rss_kib: process::max_rss_kib(),
        partial: matches!(reason, StopReason::Signal | StopReason::Error),
        stop_reason: reason,
        error: error.map(|e| e.message),
    };
    Ok(summary)
}

/// One lane: paces and sends its share, then drains its backend.
fn run_lane<B: Transmit>(
    mut backend: B,
    plan: &SendPlan,
    first: u64,
    stride: u64,
    core: Option<usize>,
    stop: &AtomicBool,
    shared: Option<&SharedCounters>,
) -> LaneResult {
    let mut result = LaneResult::default();
    if let Some(core) = core {
        if let Err(e) = process::pin_to_cpu(core) {
            result.reason = StopReason::Error;
            result.error = Some(CliError::new(Failure::Usage, e));
            return result;
        }
    }
    let count = lane_count(plan.count, first, stride);
    let mut pacer = Pacer::new(
        plan.rate.share(stride),
        plan.frame_bytes,
        MonotonicClock::default(),
    );
    pacer.restart();
    let sending_since = Instant::now();
    let lane = Lane {
        first,
        stride,
        count,
        batch: plan.batch.max(1),
    };
    match send_lane(
        &mut backend,
        &mut pacer,
        lane,
        stop,
        &mut result.counters,
        shared,
    ) {
        Ok(reason) => result.reason = reason,
        Err(e) => {
            result.reason = StopReason::Error;
            result.error = Some(e);
        }
    }
    result.sending = sending_since.elapsed();
    // Whatever was handed over goes out (or is accounted as not sent) before we report.
    match backend.drain(DRAIN_TIMEOUT) {
        Ok(0) => {}
        Ok(left) => {
            // The device kept refusing them: the run did not send its count, whatever the
            // loop's reason was (a TX ring puts a refused frame back and tries it again).
            result.in_flight = left;
            if result.error.is_none() {
                result.reason = StopReason::Error;
                result.error = Some(CliError::new(
                    Failure::Runtime,
                    format!(
                        "{left} frames handed to the kernel had not left after {} s: the device kept refusing them (is the link, or its peer, up?)",
                        DRAIN_TIMEOUT.as_secs()
                    ),
                ));
            }
        }
        Err((e, left)) => {
            result.in_flight = left;
            result.reason = StopReason::Error;
            result.error.get_or_insert(e);
        }
    }
    result
}

#[derive(Debug, Clone, Copy)]
struct Lane {
    first: u64,
    stride: u64,
    count: u64,
    batch: u64,
}

/// Queues and flushes until the lane's frames are handed over or a signal arrives.
///
/// Unpaced, it flushes every `batch` frames. Paced, it queues the frames that are due (all
/// of them at once when behind schedule) and flushes at once.
fn send_lane<B: Transmit>(
    backend: &mut B,
    pacer: &mut Pacer<MonotonicClock>,
    lane: Lane,
    stop: &AtomicBool,
    counters: &mut TxCounters,
    shared: Option<&SharedCounters>,
) -> Result<StopReason, CliError> {
    let paced = pacer.is_paced();
    while counters.published < lane.count {
        if let Some(s) = shared {
            s.store(counters);
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(StopReason::Signal);
        }
        let allowance = pacer.allowance(counters.published);
        if allowance == 0 {
            backend.flush(counters)?;
            pacer.wait_for(counters.published);
            continue;
        }
        let want = allowance
            .min(lane.batch)
            .min(lane.count - counters.published);
        // One clock read per batch: every frame of a batch leaves in the same system call, so
        // the probes' send time is the batch's (paced batches are a frame or two).
        let batch = Batch {
            next: lane.first + counters.published * lane.stride,
            stride: lane.stride,
            n: want,
            now_ns: process::realtime_ns(),
        };
        let took = backend.queue(batch, counters)?;
        let no_room = took < want;
        if paced || no_room || backend.unflushed() >= lane.batch || counters.published == lane.count
        {
            backend.flush(counters)?;
        }
        if no_room {
            backend.wait_room()?;
        }
    }
    Ok(StopReason::Count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend that takes at most `room` frames per call and records every sequence number.
    struct Fake {
        room: u64,
        seqs: Vec<u64>,
        pending: u64,
        fail_after: Option<u64>,
        in_flight_at_end: u64,
    }

    impl Transmit for Fake {
        fn method(&self) -> &'static str {
            "fake"
        }
        fn queue(&mut self, b: Batch, c: &mut TxCounters) -> Result<u64, CliError> {
            if self.fail_after.is_some_and(|k| self.seqs.len() as u64 >= k) {
                return Err(CliError::new(Failure::Runtime, "link went away"));
            }
            let took = b.n.min(self.room);
            self.seqs.extend((0..took).map(|i| b.seq(i)));
            self.pending += took;
            c.published += took;
            Ok(took)
        }
        fn unflushed(&self) -> u64 {
            self.pending
        }
        fn flush(&mut self, c: &mut TxCounters) -> Result<(), CliError> {
            if self.pending > 0 {
                self.pending = 0;
                c.syscalls += 1;
            }
            Ok(())
        }
        fn wait_room(&mut self) -> Result<(), CliError> {
            Ok(())
        }
        fn drain(&mut self, _t: Duration) -> Result<u64, (CliError, u64)> {
            Ok(self.in_flight_at_end)
        }
    }

    fn plan(count: u64, batch: u64) -> SendPlan {
        SendPlan {
            tool: "test",
            destination: "nowhere".into(),
            run_id: 7,
            size: 64,
            frame_bytes: 106,
            size_mix: None,
            flows: None,
            count,
            rate: Rate::Max,
            batch,
            gso_segments: None,
            cpu: None,
            interval: None,
            round_trip: None,
        }
    }

    fn fake(room: u64) -> Fake {
        Fake {
            room,
            seqs: Vec::new(),
            pending: 0,
            fail_after: None,
            in_flight_at_end: 0,
        }
    }

    #[test]
    fn lanes_share_the_sequence_numbers_exactly() {
        for (count, n) in [(10u64, 3u64), (7, 7), (2, 4), (1000, 1)] {
            let total: u64 = (0..n).map(|i| lane_count(count, i, n)).sum();
            assert_eq!(total, count, "{count} over {n}");
        }
        // Through the engine: a backend per lane, each sees only its own sequence numbers.
        let stop = AtomicBool::new(false);
        let (s, code) = crate::cli::with_exit_code(
            send(
                vec![fake(5), fake(5), fake(5)],
                &plan(10, 4),
                &stop,
                &mut |_| {},
            )
            .unwrap(),
        );
        assert_eq!((s.sent, code, s.stop_reason), (10, 0, StopReason::Count));
    }

    #[test]
    fn a_backend_with_little_room_gets_every_frame_in_order_and_batches_are_flushed() {
        let stop = AtomicBool::new(false);
        let mut b = fake(3);
        let mut c = TxCounters::default();
        let mut pacer = Pacer::new(Rate::Max, 106, MonotonicClock::default());
        let lane = Lane {
            first: 1,
            stride: 2,
            count: 10,
            batch: 4,
        };
        let r = send_lane(&mut b, &mut pacer, lane, &stop, &mut c, None).unwrap();
        assert_eq!(r, StopReason::Count);
        assert_eq!(b.seqs, (0..10).map(|k| 1 + 2 * k).collect::<Vec<_>>());
        assert_eq!(b.pending, 0, "the last frames were flushed");
        assert_eq!(c.published, 10);
    }

    #[test]
    fn frames_left_in_flight_are_not_counted_as_sent_and_errors_make_a_partial_summary() {
        let stop = AtomicBool::new(false);
        let mut b = fake(8);
        b.in_flight_at_end = 3;
        let (s, code) =
            crate::cli::with_exit_code(send(vec![b], &plan(20, 8), &stop, &mut |_| {}).unwrap());
        // Frames that never left are an error: the run did not send its count.
        assert_eq!(
            (s.sent, s.partial, s.stop_reason, code),
            (17, true, StopReason::Error, Failure::Runtime as i32)
        );
        assert!(
            s.error
                .as_deref()
                .is_some_and(|e| e.starts_with("3 frames handed to the kernel had not left")),
            "{s:?}"
        );
        let mut b = fake(8);
        b.fail_after = Some(8);
        let (s, code) =
            crate::cli::with_exit_code(send(vec![b], &plan(20, 8), &stop, &mut |_| {}).unwrap());
        assert_eq!(
            (s.sent, s.partial, code),
            (8, true, Failure::Runtime as i32)
        );
        assert_eq!(s.error.as_deref(), Some("link went away"));
    }

    #[test]
    fn a_signal_stops_every_lane_with_a_partial_summary() {
        let stop = AtomicBool::new(true);
        let (s, code) = crate::cli::with_exit_code(
            send(vec![fake(8)], &plan(20, 8), &stop, &mut |_| {}).unwrap(),
        );
        assert_eq!((s.sent, s.stop_reason, code), (0, StopReason::Signal, 130));
        assert!(s.partial);
    }
}
