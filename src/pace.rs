//! Transmit rates and pacing.
//!
//! A [`Rate`] is parsed from `500Mbps`, `1Gbps`, `250kpps` or `max`. Bit rates count Ethernet
//! frame bytes (UDP payload + 42), as the thesis did. A [`Pacer`] keeps an absolute schedule:
//! packet `k` is due `k * interval` after the start, computed in 128-bit integers, so the rate
//! never drifts and never overflows (the thesis's limiter overflowed a 32-bit int after ~2.5 M
//! packets and stopped limiting).

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// A requested transmit rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// As fast as possible.
    Max,
    /// Bits per second of Ethernet frames (payload + 42 bytes each).
    BitsPerSecond(u64),
    /// Packets per second, in thousandths (so `1.5pps` is exact).
    MilliPacketsPerSecond(u64),
}

/// A rate that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateError(String);

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RateError {}

impl FromStr for Rate {
    type Err = RateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        if t == "max" || t == "unlimited" {
            return Ok(Rate::Max);
        }
        let err = |why: &str| {
            RateError(format!(
                "cannot parse rate {s:?}: {why} (examples: 500Mbps, 1Gbps, 250kpps, max)"
            ))
        };
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| err("no unit"))?;
        let (num, unit) = t.split_at(split);
        let (scale, bits): (u128, bool) = match unit.trim() {
            "bps" => (1, true),
            "kbps" => (1_000, true),
            "mbps" => (1_000_000, true),
            "gbps" => (1_000_000_000, true),
            "pps" => (1_000, false),
            "kpps" => (1_000_000, false),
            "mpps" => (1_000_000_000, false),
            _ => return Err(err("unknown unit")),
        };
        // Exact decimal: mantissa / 10^frac_digits.
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if int.is_empty() && frac.is_empty() || frac.contains('.') || frac.len() > 9 {
            return Err(err("not a number"));
        }
        let digits = format!("{int}{frac}");
        let mantissa: u128 = digits.parse().map_err(|_| err("not a number"))?;
        let value = mantissa
            .checked_mul(scale)
            .ok_or_else(|| err("too large"))?
            / 10u128.pow(frac.len() as u32);
        if value == 0 {
            return Err(err("must be greater than zero"));
        }
        let value = u64::try_from(value).map_err(|_| err("too large"))?;
        Ok(if bits {
            Rate::BitsPerSecond(value)
        } else {
            Rate::MilliPacketsPerSecond(value)
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Rate::Max => f.write_str("max"),
            Rate::BitsPerSecond(b) if b % 1_000_000_000 == 0 => {
                write!(f, "{}Gbps", b / 1_000_000_000)
            }
            Rate::BitsPerSecond(b) if b % 1_000_000 == 0 => write!(f, "{}Mbps", b / 1_000_000),
            Rate::BitsPerSecond(b) if b % 1_000 == 0 => write!(f, "{}kbps", b / 1_000),
            Rate::BitsPerSecond(b) => write!(f, "{b}bps"),
            Rate::MilliPacketsPerSecond(m) if m % 1_000_000 == 0 => {
                write!(f, "{}kpps", m / 1_000_000)
            }
            Rate::MilliPacketsPerSecond(m) if m % 1_000 == 0 => write!(f, "{}pps", m / 1_000),
            Rate::MilliPacketsPerSecond(m) => write!(f, "{}.{:03}pps", m / 1_000, m % 1_000),
        }
    }
}

impl Rate {
    /// Nanoseconds between packets as an exact fraction `(numerator, denominator)`, for frames
    /// of `frame_bytes` (Ethernet header included); `None` for [`Rate::Max`].
    pub fn interval_ns(&self, frame_bytes: usize) -> Option<(u128, u128)> {
        match *self {
            Rate::Max => None,
            Rate::BitsPerSecond(bps) => {
                Some((8 * frame_bytes as u128 * 1_000_000_000, u128::from(bps)))
            }
            Rate::MilliPacketsPerSecond(m) => Some((1_000_000_000_000, u128::from(m))),
        }
    }

    /// One of `n` equal shares of this rate (for `n` sending threads); `Max` stays `Max`.
    pub fn share(&self, n: u64) -> Rate {
        let n = n.max(1);
        match *self {
            Rate::Max => Rate::Max,
            Rate::BitsPerSecond(b) => Rate::BitsPerSecond((b / n).max(1)),
            Rate::MilliPacketsPerSecond(m) => Rate::MilliPacketsPerSecond((m / n).max(1)),
        }
    }

    /// Packets per second for frames of `frame_bytes`; `None` for [`Rate::Max`].
    pub fn packets_per_second(&self, frame_bytes: usize) -> Option<f64> {
        self.interval_ns(frame_bytes)
            .map(|(num, den)| den as f64 * 1e9 / num as f64)
    }
}

/// A source of monotonic nanoseconds, injectable for tests.
pub trait Clock {
    /// Nanoseconds since an arbitrary fixed origin.
    fn now_ns(&self) -> u64;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

/// An absolute send schedule.
#[derive(Debug, Clone)]
pub struct Pacer<C: Clock> {
    clock: C,
    start_ns: u64,
    interval: Option<(u128, u128)>,
}

impl<C: Clock> Pacer<C> {
    /// A schedule for `rate` and frames of `frame_bytes`, starting now.
    pub fn new(rate: Rate, frame_bytes: usize, clock: C) -> Self {
        let start_ns = clock.now_ns();
        Self {
            clock,
            start_ns,
            interval: rate.interval_ns(frame_bytes),
        }
    }

    /// Restarts the schedule now (for example once the first packet is ready to go).
    pub fn restart(&mut self) {
        self.start_ns = self.clock.now_ns();
    }

    /// False for [`Rate::Max`].
    pub fn is_paced(&self) -> bool {
        self.interval.is_some()
    }

    /// When packet `k` is due, in nanoseconds after the start.
    pub fn due_ns(&self, k: u64) -> u64 {
        match self.interval {
            None => 0,
            Some((num, den)) => (u128::from(k) * num / den).min(u128::from(u64::MAX)) as u64,
        }
    }

    /// How many packets may be sent now, given that `sent` have been: those whose due time has
    /// passed. `u64::MAX` when unpaced.
    pub fn allowance(&self, sent: u64) -> u64 {
        let Some((num, den)) = self.interval else {
            return u64::MAX;
        };
        let elapsed = u128::from(self.clock.now_ns().saturating_sub(self.start_ns));
        let due = (elapsed * den / num + 1).min(u128::from(u64::MAX)) as u64;
        due.saturating_sub(sent)
    }

    /// How long until packet `sent` is due (zero if it already is).
    pub fn time_until_due(&self, sent: u64) -> Duration {
        let due = self.start_ns.saturating_add(self.due_ns(sent));
        Duration::from_nanos(due.saturating_sub(self.clock.now_ns()))
    }
}

impl Pacer<MonotonicClock> {
    /// Waits until packet `sent` is due: sleeps while it is far off, then spins for the last
    /// stretch, where sleeping would overshoot.
    pub fn wait_for(&self, sent: u64) {
        const SPIN: Duration = Duration::from_micros(80);
        loop {
            let left = self.time_until_due(sent);
            if left.is_zero() {
                return;
            }
            if left > SPIN {
                std::thread::sleep(left - SPIN);
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[derive(Clone, Default)]
    struct FakeClock(Rc<Cell<u64>>);
    impl Clock for FakeClock {
        fn now_ns(&self) -> u64 {
            self.0.get()
        }
    }

    #[test]
    fn parses_every_documented_form() {
        let ok = [
            ("500Mbps", Rate::BitsPerSecond(500_000_000)),
            ("1Gbps", Rate::BitsPerSecond(1_000_000_000)),
            ("1.5gbps", Rate::BitsPerSecond(1_500_000_000)),
            ("800kbps", Rate::BitsPerSecond(800_000)),
            ("250kpps", Rate::MilliPacketsPerSecond(250_000_000)),
            ("2.5pps", Rate::MilliPacketsPerSecond(2_500)),
            ("1Mpps", Rate::MilliPacketsPerSecond(1_000_000_000)),
            (" max ", Rate::Max),
            ("MAX", Rate::Max),
        ];
        for (s, want) in ok {
            assert_eq!(s.parse::<Rate>(), Ok(want), "{s}");
        }
        for bad in [
            "",
            "500",
            "fast",
            "500 Mbit",
            "-5Mbps",
            "0Mbps",
            "1.2.3Mbps",
            "Mbps",
            "99999999999999Gbps",
        ] {
            let e = bad.parse::<Rate>().unwrap_err();
            assert!(e.to_string().starts_with("cannot parse rate"), "{bad}: {e}");
        }
    }

    #[test]
    fn displays_canonically() {
        for s in ["500Mbps", "1Gbps", "250kpps", "max", "2.500pps", "1500bps"] {
            assert_eq!(s.parse::<Rate>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn bit_rates_count_ethernet_frame_bytes() {
        // 500 Mbps of 64-byte payloads: 106-byte frames, 589,622.6 packets per second.
        let pps = Rate::BitsPerSecond(500_000_000)
            .packets_per_second(64 + 42)
            .unwrap();
        assert!((pps - 589_622.64).abs() < 0.01, "{pps}");
    }

    #[test]
    fn allowance_follows_the_injected_clock() {
        let clock = FakeClock::default();
        clock.0.set(1_000);
        let p = Pacer::new(Rate::MilliPacketsPerSecond(1_000_000), 106, clock.clone()); // 1000 pps
        assert_eq!(p.allowance(0), 1, "packet 0 is due at once");
        assert_eq!(p.allowance(1), 0);
        clock.0.set(1_000 + 999_999);
        assert_eq!(p.allowance(1), 0, "packet 1 is due after 1 ms");
        clock.0.set(1_000 + 1_000_000);
        assert_eq!(p.allowance(1), 1);
        clock.0.set(1_000 + 10_500_000);
        assert_eq!(p.allowance(2), 9, "behind schedule: packets 2..=10 are due");
        assert_eq!(p.time_until_due(11), Duration::from_nanos(500_000));
        assert_eq!(p.time_until_due(5), Duration::ZERO);
    }

    #[test]
    fn the_schedule_does_not_overflow_after_billions_of_packets() {
        let clock = FakeClock::default();
        let p = Pacer::new(Rate::BitsPerSecond(500_000_000), 106, clock.clone());
        // 10 billion packets at 589,622.6 pps take 16,959.9 s.
        let due = p.due_ns(10_000_000_000);
        assert_eq!(due, 16_960_000_000_000);
        clock.0.set(due);
        assert_eq!(p.allowance(10_000_000_000), 1);
    }

    #[test]
    fn unpaced_allows_everything() {
        let p = Pacer::new(Rate::Max, 106, FakeClock::default());
        assert!(!p.is_paced());
        assert_eq!(p.allowance(123), u64::MAX);
        assert_eq!(p.time_until_due(123), Duration::ZERO);
    }

    #[test]
    fn a_rate_too_large_for_the_arithmetic_is_an_error_not_an_overflow() {
        // Found by the rate fuzz target: 10^30 times the unit overflowed u128.
        let e = "1000000000000000000000000000000gbps"
            .parse::<Rate>()
            .unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        assert!("18446744073709551616bps"
            .parse::<Rate>()
            .unwrap_err()
            .to_string()
            .contains("too large"));
    }

    #[test]
    fn a_rate_shared_by_threads_adds_up() {
        let r: Rate = "300kpps".parse().unwrap();
        assert_eq!(r.share(3).packets_per_second(100), Some(100_000.0));
        let b: Rate = "500Mbps".parse().unwrap();
        assert_eq!(b.share(2), "250Mbps".parse().unwrap());
        assert_eq!(Rate::Max.share(4), Rate::Max);
        assert_eq!(r.share(0), r, "zero threads is one");
    }
}
