//! The receiver engine: one thread per backend, the stop rule watched from the calling thread,
//! the final collection, kernel statistics, exact merging of the threads' accounting and the
//! summary. A backend only waits for traffic and accounts what arrived.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::reflect::{ReflectionCounts, Reflector};
use super::StopRule;
use crate::exit::CliError;
use crate::process;
use crate::report::{RxInterval, RxSummary, StopReason};
use crate::stats::{latency_summary, RxAccounting, RxProgress};

/// The kernel's counters for one receiving socket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Frames the kernel offered the socket after its filter, drops included, where known.
    pub packets: Option<u64>,
    /// Frames the kernel dropped for lack of room in the ring or socket buffer.
    pub drops: u64,
    /// Times a ring froze waiting for a free block.
    pub freezes: u64,
    /// The socket's own counters by name, where it has several (AF_XDP).
    pub detail: Vec<(&'static str, u64)>,
}

/// A way to receive frames: an RX ring, a UDP socket, an AF_XDP socket.
pub trait Receive: Send {
    /// Waits up to `timeout` for traffic and accounts everything that has arrived.
    fn receive(&mut self, acct: &mut RxAccounting, timeout: Duration) -> Result<(), String>;

    /// After the stop: how long frames the kernel has already taken may need to reach user
    /// space (a V3 ring hands a partly filled block over when its retire timer fires).
    fn linger(&self) -> Duration {
        Duration::ZERO
    }

    /// Accounts, without waiting, what has reached user space since the last call.
    fn collect(&mut self, _acct: &mut RxAccounting) {}

    /// The kernel's counters for this socket since it was opened; `None` if unreadable.
    fn kernel_stats(&mut self) -> Option<KernelStats>;

    /// Bytes the kernel may hold for this socket before it drops (ring, UMEM or socket
    /// buffer), where known.
    fn buffer_bytes(&self) -> Option<u64> {
        None
    }
}

/// What to receive and how to describe it.
#[derive(Debug, Clone)]
pub struct ReceivePlan {
    /// The tool's name, for the summary.
    pub tool: &'static str,
    /// Interface or address, for the summary.
    pub endpoint: String,
    /// UDP port of the test flow.
    pub port: u16,
    /// Datagrams after which to stop (also sizes the loss tracker).
    pub count: Option<u64>,
    /// Follow this run id instead of the first one seen.
    pub run_id: Option<u32>,
    /// Core of thread 0 when threads are pinned one per core.
    pub cpu: Option<usize>,
    /// Report every this long (`--interval`).
    pub interval: Option<Duration>,
    /// Reflect every N-th probe back to its sender (`--reflect-every`).
    pub reflect: Option<Arc<Reflector>>,
}

/// What the receive threads reflected, shared between them.
#[derive(Debug, Default)]
struct ReflectTally {
    sent: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ReflectTally {
    /// Sends the reflections `acct` queued.
    fn send(&self, reflector: &Reflector, acct: &mut RxAccounting) {
        let (mut sent, mut failed) = (0, 0);
        let mut queued = acct.take_reflections().peekable();
        if queued.peek().is_none() {
            return; // most batches: nothing to reflect, nothing to count
        }
        for (to, probe) in queued {
            match reflector.send(to, &probe) {
                Ok(()) => sent += 1,
                Err(e) => {
                    failed += 1;
                    *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(format!("sendto {to}: {e}"));
                }
            }
        }
        self.sent.fetch_add(sent, Ordering::Relaxed);
        self.failed.fetch_add(failed, Ordering::Relaxed);
    }

    fn counts(self, every: u64) -> ReflectionCounts {
        ReflectionCounts {
            every,
            sent: self.sent.into_inner(),
            failed: self.failed.into_inner(),
            last_error: self
                .last_error
                .into_inner()
                .unwrap_or_else(|p| p.into_inner()),
        }
    }
}

/// A receive thread's totals at an interval boundary.
#[derive(Debug)]
struct LaneSample {
    epoch: u64,
    progress: RxProgress,
    drops: u64,
}

/// Where the watcher asks the receive threads for their totals and turns them into interval
/// reports. The threads look at `epoch` between batches (one relaxed load per batch) and post
/// a sample when it changed: nothing is added per packet.
struct IntervalMeter<'a> {
    tool: &'static str,
    every: Duration,
    started: Instant,
    next_at: Instant,
    pending: Option<(u64, f64)>,
    last: Option<(RxProgress, u64)>,
    last_end_s: f64,
    index: u32,
    sink: &'a mut dyn FnMut(&RxInterval),
}

impl IntervalMeter<'_> {
    /// Opens the next interval when it is due, and reports the pending one once every thread
    /// has posted its sample.
    fn tick(&mut self, epoch: &AtomicU64, slots: &[Mutex<Option<LaneSample>>]) {
        let now = Instant::now();
        if self.pending.is_none() && now >= self.next_at {
            let e = epoch.fetch_add(1, Ordering::Relaxed) + 1;
            self.pending = Some((e, now.duration_since(self.started).as_secs_f64()));
            self.next_at += self.every;
        }
        let Some((e, end_s)) = self.pending else {
            return;
        };
        let mut merged: Option<(RxProgress, u64)> = None;
        for slot in slots {
            let guard = slot.lock().unwrap_or_else(|p| p.into_inner());
            match guard.as_ref() {
                Some(sample) if sample.epoch >= e => match merged.as_mut() {
                    Some((p, d)) => {
                        p.add(&sample.progress);
                        *d += sample.drops;
                    }
                    None => merged = Some((sample.progress.clone(), sample.drops)),
                },
                _ => return,
            }
        }
        if let Some(now_totals) = merged {
            self.report(now_totals, end_s);
        }
        self.pending = None;
    }

    /// Reports the change from the last interval to `totals`, ending at `end_s`.
    fn report(&mut self, totals: (RxProgress, u64), end_s: f64) {
        let (cur, drops) = totals;
        let (received, frame_bytes, gaps, last_drops, latency) = match &self.last {
            Some((prev, prev_drops)) => {
                let mut h = cur.latency.clone();
                // prev is an earlier state of the same histograms: its counts are all in cur.
                let _ = h.subtract(&prev.latency);
                (
                    cur.received - prev.received.min(cur.received),
                    cur.frame_bytes - prev.frame_bytes.min(cur.frame_bytes),
                    cur.gaps() as i64 - prev.gaps() as i64,
                    *prev_drops,
                    h,
                )
            }
            None => (
                cur.received,
                cur.frame_bytes,
                cur.gaps() as i64,
                0,
                cur.latency.clone(),
            ),
        };
        let seconds = (end_s - self.last_end_s).max(1e-9);
        self.index += 1;
        (self.sink)(&RxInterval {
            tool: self.tool.into(),
            interval: self.index,
            start_s: self.last_end_s,
            end_s,
            received,
            received_total: cur.received,
            lost: gaps,
            kernel_drops: drops.saturating_sub(last_drops),
            pps: received as f64 / seconds,
            mbps: frame_bytes as f64 * 8.0 / seconds / 1e6,
            latency: latency_summary(&latency, 0),
        });
        self.last = Some((cur, drops));
        self.last_end_s = end_s;
    }
}

/// Receives with every backend (one thread each) until `rule` or `stop` says so, then
/// returns the merged summary (its `stop_reason` says how the run ended). With `plan.interval`, `on_interval` gets a
/// report every interval and one for the stretch before the stop.
pub fn receive<B: Receive>(
    mut lanes: Vec<B>,
    plan: &ReceivePlan,
    mut rule: StopRule,
    stop: &AtomicBool,
    on_interval: &mut dyn FnMut(&RxInterval),
) -> Result<RxSummary, CliError> {
    let threads = lanes.len();
    rule.restart();
    let started = Instant::now();
    let epoch = AtomicU64::new(0);
    let slots: Vec<Mutex<Option<LaneSample>>> = (0..threads).map(|_| Mutex::new(None)).collect();
    let mut meter = plan.interval.map(|every| IntervalMeter {
        tool: plan.tool,
        every,
        started,
        next_at: started + every,
        pending: None,
        last: None,
        last_end_s: 0.0,
        index: 0,
        sink: on_interval,
    });
    let backlog_start = crate::net::softnet_drops();
    let mut accts: Vec<RxAccounting> = (0..threads)
        .map(|_| {
            RxAccounting::new(plan.count, plan.run_id)
                .reflecting(plan.reflect.as_ref().map(|r| r.every()))
        })
        .collect();
    let reflected = ReflectTally::default();
    let reflector = plan.reflect.as_deref();
    let total = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let reason = std::thread::scope(|scope| {
        for (i, (backend, acct)) in lanes.iter_mut().zip(accts.iter_mut()).enumerate() {
            let (total, done, failure, reflected) = (&total, &done, &failure, &reflected);
            let (epoch, slot) = (&epoch, &slots[i]);
            let core = plan
                .cpu
                .filter(|_| threads > 1)
                .map(|c| process::core_for_thread(c, i));
            scope.spawn(move || {
                let result = match core {
                    Some(c) => process::pin_to_cpu(c),
                    None => Ok(()),
                }
                .and_then(|()| {
                    let reflect = reflector.map(|r| (r, reflected));
                    receive_until(backend, acct, total, done, (epoch, slot), reflect)
                });
                if let Err(e) = result {
                    failure
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                    done.store(true, Ordering::Relaxed);
                }
            });
        }
        // This thread only watches the stop rule; the receive threads do the work.
        let reason = loop {
            if done.load(Ordering::Relaxed) {
                break StopReason::Error;
            }
            if let Some(r) = rule.check(total.load(Ordering::Relaxed), stop) {
                break r;
            }
            if let Some(m) = meter.as_mut() {
                m.tick(&epoch, &slots);
            }
            std::thread::sleep(rule.poll_interval().min(Duration::from_millis(2)));
        };
        done.store(true, Ordering::Relaxed);
        reason
    });
    let mut error = failure.into_inner().unwrap_or_else(|p| p.into_inner());
    // Nothing seen is thrown away: wait for what the kernel has taken to reach user space
    // (its timers run even after the interface went away), then count it.
    if reason != StopReason::Count {
        let linger = lanes.iter().map(Receive::linger).max().unwrap_or_default();
        std::thread::sleep(linger);
    }
    let mut kernel = Some(KernelStats {
        packets: Some(0),
        ..KernelStats::default()
    });
    let mut by_name = std::collections::BTreeMap::new();
    for (backend, acct) in lanes.iter_mut().zip(accts.iter_mut()) {
        backend.collect(acct);
        if let Some(r) = reflector {
            reflected.send(r, acct);
        }
        let stats = backend.kernel_stats();
        for (name, n) in stats.iter().flat_map(|s| s.detail.iter()) {
            *by_name.entry(name.to_string()).or_insert(0) += n;
        }
        kernel = kernel.zip(stats).map(|(k, s)| KernelStats {
            packets: k.packets.zip(s.packets).map(|(a, b)| a + b),
            drops: k.drops + s.drops,
            freezes: k.freezes + s.freezes,
            detail: Vec::new(),
        });
    }
    if let Some(m) = meter.as_mut() {
        // The stretch since the last report, from the final counts.
        let mut totals: Option<RxProgress> = None;
        for a in &accts {
            let p = a.progress();
            match totals.as_mut() {
                Some(t) => t.add(&p),
                None => totals = Some(p),
            }
        }
        let end_s = started.elapsed().as_secs_f64();
        if let Some(t) = totals.filter(|_| end_s > m.last_end_s) {
            m.report((t, kernel.as_ref().map_or(0, |k| k.drops)), end_s);
        }
    }
    let reflections = reflector.map(|r| reflected.counts(r.every()));
    let thread_received: Vec<u64> = if accts.len() > 1 {
        accts.iter().map(RxAccounting::received).collect()
    } else {
        Vec::new()
    };
    let mut acct = accts.swap_remove(0);
    for other in &accts {
        if let Err(e) = acct.merge(other) {
            error.get_or_insert(e);
        }
    }
    let reason = if error.is_some() {
        StopReason::Error
    } else {
        reason
    };
    let backlog_end = crate::net::softnet_drops();
    let (cpu_user_s, cpu_sys_s) = process::cpu_seconds();
    let buffer_bytes = lanes.iter().map(Receive::buffer_bytes).sum::<Option<u64>>();
    let summary = RxSummary {
        tool: plan.tool.into(),
        endpoint: plan.endpoint.clone(),
        port: plan.port,
        counts: acct.counts(),
        mode: None,
        kernel_packets: kernel.as_ref().and_then(|k| k.packets),
        kernel_drops: kernel.as_ref().map_or(0, |k| k.drops),
        kernel_counters: by_name,
        backlog_drops: backlog_end
            .zip(backlog_start)
            .map_or(0, |(end, start)| end.saturating_sub(start)),
        freeze_count: kernel.as_ref().map_or(0, |k| k.freezes),
        buffer_bytes,
        capture: None,
        reflections,
        thread_received,
        cpu_user_s,
        cpu_sys_s,
        max_rss_kib: process::max_rss_kib(),
        voluntary_switches: process::voluntary_switches(),
        partial: matches!(reason, StopReason::Signal | StopReason::Error),
        stop_reason: reason,
        error,
    };
    Ok(summary)
}

/// One receive thread: accounts traffic until told to stop, adding to the shared total,
/// sends the reflections it queued, and posts its totals in `slot` whenever the watcher opens
/// a new interval (`epoch`).
fn receive_until<B: Receive>(
    backend: &mut B,
    acct: &mut RxAccounting,
    total: &AtomicU64,
    done: &AtomicBool,
    (epoch, slot): (&AtomicU64, &Mutex<Option<LaneSample>>),
    reflect: Option<(&Reflector, &ReflectTally)>,
) -> Result<(), String> {
    let mut posted = 0;
    while !done.load(Ordering::Relaxed) {
        let before = acct.received();
        backend.receive(acct, Duration::from_millis(20))?;
        if let Some((reflector, tally)) = reflect {
            tally.send(reflector, acct);
        }
        let added = acct.received() - before;
        if added > 0 {
            total.fetch_add(added, Ordering::Relaxed);
        }
        let e = epoch.load(Ordering::Relaxed);
        if e != posted {
            let sample = LaneSample {
                epoch: e,
                progress: acct.progress(),
                drops: backend.kernel_stats().map_or(0, |k| k.drops),
            };
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(sample);
            posted = e;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Probe;

    /// Delivers the probes `seqs` (one per receive call), then fails or idles.
    struct Fake {
        seqs: Vec<u64>,
        at: usize,
        fail_at_end: bool,
        drops: u64,
    }

    impl Receive for Fake {
        fn receive(&mut self, acct: &mut RxAccounting, _t: Duration) -> Result<(), String> {
            if let Some(&seq) = self.seqs.get(self.at) {
                self.at += 1;
                let mut payload = [0u8; 64];
                Probe {
                    run_id: 9,
                    seq,
                    sent_ns: 1,
                }
                .write(&mut payload);
                acct.on_datagram(&payload, 2);
                Ok(())
            } else if self.fail_at_end {
                Err("poll: Network is down".into())
            } else {
                std::thread::sleep(Duration::from_millis(1));
                Ok(())
            }
        }
        fn kernel_stats(&mut self) -> Option<KernelStats> {
            Some(KernelStats {
                packets: Some(self.seqs.len() as u64 + self.drops),
                drops: self.drops,
                ..KernelStats::default()
            })
        }
    }

    fn plan(count: Option<u64>) -> ReceivePlan {
        ReceivePlan {
            tool: "test",
            endpoint: "fake0".into(),
            port: 9000,
            count,
            run_id: None,
            cpu: None,
            interval: None,
            reflect: None,
        }
    }

    #[test]
    fn threads_are_merged_exactly_and_kernel_counters_added() {
        let a = Fake {
            seqs: vec![0, 2, 4, 6],
            at: 0,
            fail_at_end: false,
            drops: 1,
        };
        let b = Fake {
            seqs: vec![1, 3, 5, 7, 9],
            at: 0,
            fail_at_end: false,
            drops: 2,
        };
        let rule = StopRule::new(Some(10), Some(0.3)).unwrap();
        let (s, code) = crate::cli::with_exit_code(
            receive(
                vec![a, b],
                &plan(Some(10)),
                rule,
                &AtomicBool::new(false),
                &mut |_| {},
            )
            .unwrap(),
        );
        assert_eq!(s.counts.received, 9);
        assert_eq!(s.counts.unique, 9);
        assert_eq!(s.counts.lost, 1, "sequence 8 never came");
        assert_eq!((s.kernel_drops, s.kernel_packets), (3, Some(12)));
        assert_eq!((s.stop_reason, code), (StopReason::Idle, 0));
    }

    #[test]
    fn a_backend_error_is_an_error_stop_with_what_was_counted() {
        let a = Fake {
            seqs: vec![0, 1, 2],
            at: 0,
            fail_at_end: true,
            drops: 0,
        };
        let rule = StopRule::new(Some(10), None).unwrap();
        let (s, code) = crate::cli::with_exit_code(
            receive(
                vec![a],
                &plan(Some(10)),
                rule,
                &AtomicBool::new(false),
                &mut |_| {},
            )
            .unwrap(),
        );
        assert_eq!(s.counts.received, 3);
        assert_eq!(s.stop_reason, StopReason::Error);
        assert!(s.partial);
        assert_eq!(code, 1);
        assert_eq!(s.error.as_deref(), Some("poll: Network is down"));
    }
}
