//! Receive-side accounting shared by `mmap-rx` and `udp-rx`: which datagrams count, which run
//! is followed, loss, duplicates, reordering and one-way latency.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::report::FlowSpread;
use crate::report::{LatencySummary, RxCounts};
use crate::wire::{Family, IgnoreReason, Probe, PROBE_LEN};
use std::net::SocketAddr;

/// Window of sequence numbers tracked when the expected count is unknown (bits; 512 KiB).
pub const DEFAULT_WINDOW: u64 = 1 << 22;
/// Largest window ever allocated (bits; 16 MiB), whatever count is expected.
pub const MAX_WINDOW: u64 = 1 << 27;

/// What one sequence number turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// First sight, in order.
    New,
    /// First sight, after a higher sequence number.
    Reordered,
    /// Seen before.
    Duplicate,
    /// Older than the window: cannot tell duplicate from late; counted as lost.
    Late,
    /// At or beyond the expected count: not part of this run.
    OutOfRange,
}

/// Tracks unique, duplicate and reordered sequence numbers in a sliding bitmap whose size is
/// fixed when it is created (from the expected count, capped), never by the wire.
#[derive(Debug, Clone)]
pub struct SequenceTracker {
    words: Vec<u64>,
    window: u64,
    base: u64,
    highest: Option<u64>,
    expected: Option<u64>,
    unique: u64,
    duplicates: u64,
    reordered: u64,
    late: u64,
    out_of_range: u64,
}

impl SequenceTracker {
    /// A tracker for a run of `expected` packets (sequence numbers `0..expected`), or of
    /// unknown length.
    pub fn new(expected: Option<u64>) -> Self {
        let want = expected.unwrap_or(DEFAULT_WINDOW).max(64);
        let window = want.min(MAX_WINDOW).next_power_of_two();
        Self {
            words: vec![0; (window / 64) as usize],
            window,
            base: 0,
            highest: None,
            expected,
            unique: 0,
            duplicates: 0,
            reordered: 0,
            late: 0,
            out_of_range: 0,
        }
    }

    fn bit(&self, seq: u64) -> (usize, u64) {
        let i = seq & (self.window - 1);
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    fn slide_to(&mut self, new_base: u64) {
        if new_base - self.base >= self.window {
            self.words.iter_mut().for_each(|w| *w = 0);
        } else {
            // Clear [base, new_base) a word at a time: the window is a power of two of at
            // least 64 bits, so a run of bits never wraps inside one word.
            let mut s = self.base;
            while s < new_base {
                let (w, first) = self.bit(s);
                let offset = first.trailing_zeros() as u64;
                let n = (64 - offset).min(new_base - s);
                let mask = if n == 64 {
                    u64::MAX
                } else {
                    ((1u64 << n) - 1) << offset
                };
                self.words[w] &= !mask;
                s += n;
            }
        }
        self.base = new_base;
    }

    /// Records one arrival.
    pub fn record(&mut self, seq: u64) -> Arrival {
        if self.expected.is_some_and(|n| seq >= n) {
            self.out_of_range += 1;
            return Arrival::OutOfRange;
        }
        if seq < self.base {
            self.late += 1;
            return Arrival::Late;
        }
        if seq - self.base >= self.window {
            self.slide_to(seq - self.window + 1);
        }
        let (w, m) = self.bit(seq);
        if self.words[w] & m != 0 {
            self.duplicates += 1;
            return Arrival::Duplicate;
        }
        self.words[w] |= m;
        self.unique += 1;
        match self.highest {
            Some(h) if seq < h => {
                self.reordered += 1;
                Arrival::Reordered
            }
            _ => {
                self.highest = Some(seq);
                Arrival::New
            }
        }
    }

    /// Distinct sequence numbers seen.
    pub fn unique(&self) -> u64 {
        self.unique
    }
    /// Arrivals of a sequence number already seen.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }
    /// First arrivals after a higher sequence number.
    pub fn reordered(&self) -> u64 {
        self.reordered
    }
    /// Arrivals older than the window.
    pub fn late(&self) -> u64 {
        self.late
    }
    /// Arrivals at or beyond the expected count.
    pub fn out_of_range(&self) -> u64 {
        self.out_of_range
    }

    /// True if the bitmap covers every expected sequence number, so it never slides and two
    /// trackers of the same run can be merged exactly.
    pub fn covers_run(&self) -> bool {
        self.expected.is_some_and(|n| n <= self.window)
    }

    /// Adds what another tracker of the same run saw (receive threads of one fanout group
    /// each see a part of the flow). Exact only if both cover the whole run; otherwise an
    /// error says so and nothing changes. Reordering stays per tracker: across threads
    /// arrival order is not defined.
    pub fn merge(&mut self, other: &SequenceTracker) -> Result<(), String> {
        if !self.covers_run() || self.expected != other.expected || self.window != other.window {
            return Err(
                "sequence trackers can be merged only for a known --count of at most 2^27 packets"
                    .into(),
            );
        }
        let mut overlap = 0u64;
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            overlap += u64::from((*a & *b).count_ones());
            *a |= *b;
        }
        self.unique = self.unique + other.unique - overlap;
        self.duplicates += other.duplicates + overlap;
        self.reordered += other.reordered;
        self.late += other.late;
        self.out_of_range += other.out_of_range;
        self.highest = self.highest.max(other.highest);
        Ok(())
    }

    /// Packets never seen: of the expected count if known, else up to the highest seen.
    pub fn lost(&self) -> u64 {
        let total = match (self.expected, self.highest) {
            (Some(n), _) => n,
            // A hostile probe may carry u64::MAX: saturate rather than wrap to zero.
            (None, Some(h)) => h.saturating_add(1),
            (None, None) => 0,
        };
        total.saturating_sub(self.unique)
    }
}

/// A receive thread's running totals, taken between batches for interval reports.
#[derive(Debug, Clone)]
pub struct RxProgress {
    /// Datagrams counted as received.
    pub received: u64,
    /// Their Ethernet frame bytes.
    pub frame_bytes: u64,
    /// Distinct sequence numbers.
    pub unique: u64,
    /// The highest sequence number seen.
    pub highest: Option<u64>,
    /// Every latency recorded so far.
    pub latency: Histogram<u64>,
}

impl RxProgress {
    /// Adds another thread's totals (distinct sequence numbers are summed: threads of a
    /// fanout group rarely see the same one, and the summary merges them exactly).
    pub fn add(&mut self, other: &RxProgress) {
        self.received += other.received;
        self.frame_bytes += other.frame_bytes;
        self.unique += other.unique;
        self.highest = self.highest.max(other.highest);
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }

    /// Sequence numbers missing below the highest seen.
    pub fn gaps(&self) -> u64 {
        self.highest
            .map_or(0, |h| h.saturating_add(1))
            .saturating_sub(self.unique)
    }
}

/// Percentiles of a latency histogram (none when it is empty).
pub fn latency_summary(h: &Histogram<u64>, clock_skew: u64) -> LatencySummary {
    let q = |p: f64| (!h.is_empty()).then(|| h.value_at_quantile(p));
    LatencySummary {
        samples: h.len(),
        min_ns: (!h.is_empty()).then(|| h.min()),
        p50_ns: q(0.5),
        p90_ns: q(0.9),
        p99_ns: q(0.99),
        p99_9_ns: q(0.999),
        max_ns: (!h.is_empty()).then(|| h.max()),
        clock_skew,
    }
}

/// Counts everything a receiver sees, for one followed run.
#[derive(Debug)]
pub struct RxAccounting {
    follow: Option<u32>,
    tracker: SequenceTracker,
    latency: Histogram<u64>,
    received: u64,
    received_ipv6: u64,
    frame_bytes: u64,
    probes: u64,
    no_probe: u64,
    other_run: u64,
    clock_skew: u64,
    gso_frames: u64,
    ignored: [u64; IgnoreReason::ALL.len()],
    first_ns: Option<u64>,
    last_ns: u64,
    reflect_every: Option<u64>,
    reflections: Vec<(SocketAddr, [u8; PROBE_LEN])>,
    /// Datagrams received per flow, allocated at the first datagram with a known source:
    /// one allocation per run, none per packet. A flow's slot is its source port plus its
    /// source address's last 16 bits (mod 2^16), which tells apart flows that differ in either
    /// alone, as a sender's `--flows` do (`--flow-by port` or `addr`).
    per_flow: Option<Box<[u64]>>,
}

impl RxAccounting {
    /// Accounting for a run of `expected` packets (if known) with id `run_id` (or the first
    /// run id seen).
    pub fn new(expected: Option<u64>, run_id: Option<u32>) -> Self {
        Self {
            follow: run_id,
            tracker: SequenceTracker::new(expected),
            // One-way latency from 1 ns to one hour at 3 significant digits.
            latency: Histogram::new_with_bounds(1, 3_600_000_000_000, 3)
                .expect("static histogram bounds are valid"),
            received: 0,
            received_ipv6: 0,
            frame_bytes: 0,
            probes: 0,
            no_probe: 0,
            other_run: 0,
            clock_skew: 0,
            gso_frames: 0,
            ignored: [0; IgnoreReason::ALL.len()],
            first_ns: None,
            last_ns: 0,
            reflect_every: None,
            reflections: Vec::new(),
            per_flow: None,
        }
    }

    /// Queues every `every`-th probe of the followed run for reflection (see
    /// `engine::reflect`) when datagrams are accounted with their source.
    pub fn reflecting(mut self, every: Option<u64>) -> Self {
        self.reflect_every = every.filter(|&n| n > 0);
        self
    }

    /// Accounts one well-formed UDP datagram to our port whose payload is `payload`, received
    /// at `arrival_ns` (`CLOCK_REALTIME`), from a sender of unknown address (its frame bytes
    /// counted as IPv4's). Returns true if it counts as received (probes of other runs do
    /// not).
    pub fn on_datagram(&mut self, payload: &[u8], arrival_ns: u64) -> bool {
        self.account(payload, arrival_ns, Family::V4).is_some()
    }

    /// Like [`RxAccounting::on_datagram`] for a datagram from `from`: when reflecting, the
    /// first sighting of a reflected sequence number is queued to go back there.
    pub fn on_datagram_from(&mut self, payload: &[u8], arrival_ns: u64, from: SocketAddr) -> bool {
        let Some(first_sighting) = self.account(payload, arrival_ns, Family::on_wire(from.ip()))
        else {
            return false;
        };
        let per_flow = self
            .per_flow
            .get_or_insert_with(|| vec![0u64; 1 << 16].into_boxed_slice());
        let slot = from
            .port()
            .wrapping_add(crate::wire::address_low16(from.ip()));
        per_flow[usize::from(slot)] += 1;
        if let (Some(every), Some(seq)) = (self.reflect_every, first_sighting) {
            if crate::wire::probe::reflects(seq, every) {
                let mut probe = [0u8; PROBE_LEN];
                probe.copy_from_slice(&payload[..PROBE_LEN]);
                self.reflections.push((from, probe));
            }
        }
        true
    }

    /// Accounts the UDP payload of a GSO super-packet or a GRO-coalesced read: segments of
    /// `segment` bytes (the last may be shorter, as the kernel splits it), each a datagram
    /// with its own probe. Returns how many were counted as received. A segment size of 0 is
    /// a malformed frame, ignored by reason.
    pub fn on_segments(
        &mut self,
        payload: &[u8],
        segment: usize,
        arrival_ns: u64,
        from: Option<SocketAddr>,
    ) -> u64 {
        if segment == 0 {
            self.on_ignored(IgnoreReason::BadGso);
            return 0;
        }
        if payload.len() > segment {
            self.gso_frames += 1;
        }
        let mut counted = 0;
        for datagram in payload.chunks(segment) {
            let got = match from {
                Some(a) => self.on_datagram_from(datagram, arrival_ns, a),
                None => self.on_datagram(datagram, arrival_ns),
            };
            counted += u64::from(got);
        }
        counted
    }

    /// The reflections queued since the last call: (where to, the probe's bytes).
    pub fn take_reflections(&mut self) -> std::vec::Drain<'_, (SocketAddr, [u8; PROBE_LEN])> {
        self.reflections.drain(..)
    }

    /// Counts a datagram of `family`; `None` if it belongs to another run, else `Some` with
    /// the sequence number if it was a probe seen for the first time.
    fn account(&mut self, payload: &[u8], arrival_ns: u64, family: Family) -> Option<Option<u64>> {
        let mut first_sighting = None;
        match Probe::parse(payload) {
            Some(p) => {
                let follow = *self.follow.get_or_insert(p.run_id);
                if p.run_id != follow {
                    self.other_run += 1;
                    return None;
                }
                self.probes += 1;
                if matches!(
                    self.tracker.record(p.seq),
                    Arrival::New | Arrival::Reordered
                ) {
                    first_sighting = Some(p.seq);
                }
                match arrival_ns.checked_sub(p.sent_ns) {
                    Some(d) => self.latency.saturating_record(d.max(1)),
                    None => self.clock_skew += 1,
                }
            }
            None => self.no_probe += 1,
        }
        self.received += 1;
        self.received_ipv6 += u64::from(family == Family::V6);
        self.frame_bytes += (payload.len() + family.frame_overhead()) as u64;
        if self.first_ns.is_none() {
            self.first_ns = Some(arrival_ns);
        }
        self.last_ns = arrival_ns;
        Some(first_sighting)
    }

    /// Adds another receive thread's accounting of the same run (see
    /// [`SequenceTracker::merge`]); both must follow the same run id.
    pub fn merge(&mut self, other: &RxAccounting) -> Result<(), String> {
        match (self.follow, other.follow) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "receive threads followed different runs ({a} and {b}): give --run-id"
                ))
            }
            (None, b) => self.follow = b,
            _ => {}
        }
        self.tracker.merge(&other.tracker)?;
        self.latency
            .add(&other.latency)
            .map_err(|e| format!("latency histograms: {e:?}"))?;
        self.received += other.received;
        self.received_ipv6 += other.received_ipv6;
        self.frame_bytes += other.frame_bytes;
        self.probes += other.probes;
        self.no_probe += other.no_probe;
        self.other_run += other.other_run;
        self.clock_skew += other.clock_skew;
        self.gso_frames += other.gso_frames;
        for (a, b) in self.ignored.iter_mut().zip(other.ignored) {
            *a += b;
        }
        self.first_ns = match (self.first_ns, other.first_ns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_ns = self.last_ns.max(other.last_ns);
        match (&mut self.per_flow, &other.per_flow) {
            (Some(a), Some(b)) => a.iter_mut().zip(b.iter()).for_each(|(a, b)| *a += b),
            (a @ None, Some(b)) => *a = Some(b.clone()),
            _ => {}
        }
        Ok(())
    }

    /// How the received datagrams spread over flows (source ports, or addresses).
    pub fn flow_spread(&self) -> FlowSpread {
        let Some(per_flow) = &self.per_flow else {
            return FlowSpread::default();
        };
        let seen = per_flow.iter().filter(|&&n| n > 0);
        FlowSpread {
            flows: seen.clone().count() as u64,
            min: seen.clone().min().copied().unwrap_or(0),
            max: seen.max().copied().unwrap_or(0),
        }
    }

    /// Accounts one frame that was not a datagram for us.
    pub fn on_ignored(&mut self, reason: IgnoreReason) {
        self.ignored[reason.index()] += 1;
    }

    /// Datagrams counted as received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The running totals for an interval report (clones the latency histogram: call it
    /// once per interval, not per packet).
    pub fn progress(&self) -> RxProgress {
        RxProgress {
            received: self.received,
            frame_bytes: self.frame_bytes,
            unique: self.tracker.unique(),
            highest: self.tracker.highest,
            latency: self.latency.clone(),
        }
    }

    /// The run id followed, once known.
    pub fn run_id(&self) -> Option<u32> {
        self.follow
    }

    /// The counts so far.
    pub fn counts(&self) -> RxCounts {
        let first = self.first_ns.unwrap_or(0);
        let duration_ns = self.last_ns.saturating_sub(first);
        let duration_s = duration_ns as f64 / 1e9;
        let (pps, mbps) = if duration_ns > 0 {
            (
                self.received as f64 / duration_s,
                self.frame_bytes as f64 * 8.0 / duration_s / 1e6,
            )
        } else {
            (0.0, 0.0)
        };
        RxCounts {
            run_id: self.follow,
            received: self.received,
            received_ipv6: self.received_ipv6,
            frame_bytes: self.frame_bytes,
            probes: self.probes,
            no_probe: self.no_probe,
            other_run: self.other_run,
            unique: self.tracker.unique(),
            lost: if self.probes > 0 || self.tracker.expected.is_some() {
                self.tracker.lost()
            } else {
                0
            },
            duplicates: self.tracker.duplicates(),
            reordered: self.tracker.reordered(),
            late: self.tracker.late(),
            out_of_range: self.tracker.out_of_range(),
            gso_frames: self.gso_frames,
            ignored: self.ignored.iter().sum(),
            ignored_by_reason: IgnoreReason::ALL
                .iter()
                .filter(|r| self.ignored[r.index()] > 0)
                .map(|r| (r.as_str().to_string(), self.ignored[r.index()]))
                .collect::<BTreeMap<_, _>>(),
            first_arrival_ns: self.first_ns,
            last_arrival_ns: self.first_ns.map(|_| self.last_ns),
            duration_s,
            pps,
            mbps,
            latency: latency_summary(&self.latency, self.clock_skew),
            flows: self.flow_spread(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_highest_sequence_number_saturates_the_loss() {
        // Found by the frame-parser fuzz target: without --count, lost() added 1 to u64::MAX.
        let mut t = SequenceTracker::new(None);
        t.record(u64::MAX);
        assert_eq!(t.lost(), u64::MAX - 1);
        assert_eq!(t.unique(), 1);
    }
    use crate::wire::PROBE_LEN;

    #[test]
    fn first_sightings_of_reflected_sequence_numbers_of_the_followed_run_are_queued() {
        let from = SocketAddr::from(([10, 77, 1, 1], 9001));
        let mut acct = RxAccounting::new(Some(100), None).reflecting(Some(5));
        for (run_id, seq) in [
            (3, 0),
            (3, 1),
            (3, 5),
            (3, 5),
            (4, 10),
            (3, 10),
            (3, 7),
            (3, 200),
        ] {
            assert_eq!(
                acct.on_datagram_from(&probe(run_id, seq, 1), 2, from),
                run_id == 3,
                "counted unless of another run"
            );
        }
        let queued: Vec<(SocketAddr, u64)> = acct
            .take_reflections()
            .map(|(to, p)| (to, Probe::parse(&p).unwrap().seq))
            .collect();
        // 5 twice: once; 10 of run 4: not followed; 200: outside the run's 100.
        assert_eq!(queued, vec![(from, 0), (from, 5), (from, 10)]);
        assert_eq!(acct.take_reflections().count(), 0, "drained");
        let mut quiet = RxAccounting::new(Some(100), None);
        quiet.on_datagram_from(&probe(3, 0, 1), 2, from);
        assert_eq!(quiet.take_reflections().count(), 0, "not reflecting");
    }

    #[test]
    fn trackers_of_one_run_merge_exactly() {
        // Two threads of a fanout group: each sees part of 0..10, with one seq in both.
        let mut a = SequenceTracker::new(Some(10));
        let mut b = SequenceTracker::new(Some(10));
        for s in [0, 2, 4, 6, 5] {
            a.record(s);
        }
        for s in [1, 3, 6, 7, 7, 11] {
            b.record(s);
        }
        a.merge(&b).unwrap();
        assert_eq!(a.unique(), 8, "0..=7");
        assert_eq!(a.duplicates(), 2, "7 twice in b, 6 in both");
        assert_eq!(a.lost(), 2, "8 and 9");
        assert_eq!(a.reordered(), 1, "5 after 6 in a");
        assert_eq!(a.out_of_range(), 1, "11");
        // Without a known count the bitmap slides and a merge cannot be exact.
        let mut open = SequenceTracker::new(None);
        open.record(1);
        assert!(open.merge(&SequenceTracker::new(None)).is_err());
        assert_eq!(open.unique(), 1, "a refused merge changes nothing");
    }

    #[test]
    fn counts_loss_duplicates_and_reordering() {
        let mut t = SequenceTracker::new(Some(10));
        for s in [0, 1, 3, 2, 2, 5, 4, 9, 9, 12] {
            t.record(s);
        }
        assert_eq!(t.unique(), 7); // 0 1 2 3 4 5 9
        assert_eq!(t.duplicates(), 2);
        assert_eq!(t.reordered(), 2); // 2 after 3, 4 after 5
        assert_eq!(t.out_of_range(), 1);
        assert_eq!(t.lost(), 3); // 6 7 8
    }

    #[test]
    fn without_an_expected_count_loss_is_counted_up_to_the_highest() {
        let mut t = SequenceTracker::new(None);
        for s in [0, 2, 4] {
            t.record(s);
        }
        assert_eq!(t.lost(), 2);
    }

    #[test]
    fn memory_is_bounded_and_the_window_slides() {
        let mut t = SequenceTracker::new(None);
        assert_eq!(t.words.len() as u64 * 64, DEFAULT_WINDOW);
        t.record(0);
        assert_eq!(t.record(DEFAULT_WINDOW + 10), Arrival::New);
        assert_eq!(t.record(5), Arrival::Late, "fell out of the window");
        assert_eq!(t.record(DEFAULT_WINDOW + 9), Arrival::Reordered);
        assert_eq!(t.record(DEFAULT_WINDOW + 10), Arrival::Duplicate);
        assert_eq!(
            t.record(u64::MAX - 1),
            Arrival::New,
            "a hostile jump clears, never grows"
        );
        assert_eq!(t.words.len() as u64 * 64, DEFAULT_WINDOW);
        let big = SequenceTracker::new(Some(u64::MAX));
        assert_eq!(big.words.len() as u64 * 64, MAX_WINDOW);
    }

    #[test]
    fn sliding_clears_exactly_the_bits_that_left_the_window() {
        // Against a model: a set of the sequence numbers inside the window.
        let mut t = SequenceTracker::new(Some(1 << 40));
        t.window = 256;
        t.words = vec![0; 4];
        let mut seen = std::collections::BTreeSet::new();
        let mut x: u64 = 12345;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Mostly forward, with jumps of 0..300 (some past a whole word or the window).
            let seq =
                (t.highest.unwrap_or(0) + (x >> 33) % 300).saturating_sub((x >> 60).min(3) * 50);
            let before = t.base;
            let got = t.record(seq);
            let base = t.base;
            seen.retain(|&s| s >= base);
            let want = if seq < before {
                Arrival::Late
            } else if seen.contains(&seq) {
                Arrival::Duplicate
            } else {
                seen.insert(seq);
                got
            };
            assert_eq!(got, want, "seq {seq}");
            for s in base..base + t.window {
                let (w, m) = t.bit(s);
                assert_eq!(
                    t.words[w] & m != 0,
                    seen.contains(&s),
                    "bit {s} (base {base})"
                );
            }
        }
    }

    #[test]
    fn the_window_covers_the_expected_count_exactly() {
        let n = 100_000;
        let mut t = SequenceTracker::new(Some(n));
        for s in (0..n).rev() {
            assert_eq!(
                t.record(s),
                if s == n - 1 {
                    Arrival::New
                } else {
                    Arrival::Reordered
                }
            );
        }
        assert_eq!((t.unique(), t.lost(), t.late()), (n, 0, 0));
    }

    fn probe(run_id: u32, seq: u64, sent_ns: u64) -> Vec<u8> {
        let mut p = vec![0u8; 64];
        Probe {
            run_id,
            seq,
            sent_ns,
        }
        .write(&mut p);
        p
    }

    #[test]
    fn follows_the_first_run_and_counts_others_apart() {
        let mut a = RxAccounting::new(Some(3), None);
        assert!(a.on_datagram(&probe(7, 0, 1_000), 2_000));
        assert!(!a.on_datagram(&probe(8, 0, 1_000), 2_100));
        assert!(a.on_datagram(&probe(7, 2, 1_000), 3_000));
        assert!(a.on_datagram(b"no probe here", 4_000));
        a.on_ignored(IgnoreReason::OtherPort);
        let c = a.counts();
        assert_eq!(c.run_id, Some(7));
        assert_eq!(
            (c.received, c.probes, c.no_probe, c.other_run),
            (3, 2, 1, 1)
        );
        assert_eq!((c.unique, c.lost), (2, 1));
        assert_eq!(c.ignored, 1);
        assert_eq!(
            c.ignored_by_reason,
            BTreeMap::from([("other_port".to_string(), 1)])
        );
        assert_eq!(c.frame_bytes, 64 + 42 + 64 + 42 + 13 + 42);
        assert_eq!(
            (c.first_arrival_ns, c.last_arrival_ns),
            (Some(2_000), Some(4_000))
        );
        assert_eq!(c.latency.samples, 2);
        assert_eq!(c.latency.max_ns, Some(2_000));
    }

    #[test]
    fn rate_is_received_over_first_to_last_arrival() {
        let mut a = RxAccounting::new(None, Some(1));
        for i in 0..1_001u64 {
            a.on_datagram(&probe(1, i, 0), 1_000_000_000 + i * 1_000_000);
        }
        let c = a.counts();
        assert_eq!(c.duration_s, 1.0);
        assert_eq!(c.pps, 1_001.0);
        assert!((c.mbps - 1_001.0 * 106.0 * 8.0 / 1e6).abs() < 1e-9);
        assert_eq!(PROBE_LEN, 24);
    }
}
