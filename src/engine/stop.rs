//! When a receiver stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::exit::{CliError, Failure};
use crate::report::StopReason;

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

    /// Starts the idle clock now: the receiver is ready, so the time it took to open its
    /// socket or ring does not count as time without traffic.
    pub fn restart(&mut self) {
        self.last_activity = Instant::now();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_positive_idle_timeouts_are_refused() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = StopRule::new(None, Some(bad)).unwrap_err();
            assert_eq!(e.kind, Failure::Usage);
            assert!(e.message.contains("--idle-timeout"), "{}", e.message);
        }
    }

    #[test]
    fn count_signal_and_idle_each_stop() {
        let stop = AtomicBool::new(false);
        let mut r = StopRule::new(Some(3), Some(0.05)).unwrap();
        assert_eq!(r.check(1, &stop), None);
        assert_eq!(r.check(3, &stop), Some(StopReason::Count));
        let mut r = StopRule::new(None, Some(0.02)).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(r.check(0, &stop), Some(StopReason::Idle));
        stop.store(true, Ordering::Relaxed);
        assert_eq!(r.check(0, &stop), Some(StopReason::Signal));
    }
}
