//! One search trial measured: a run at a fixed offered load, and what of it counts as loss.

use crate::experiment::plan::kinds::Status;
use crate::experiment::run::point::RunResult;

/// The sender may fall this far short of the offered load before the shortfall counts: a
/// paced sender's rate is exact to well under 1 % (the pacing tests hold it to 1 %).
pub const GENERATOR_TOLERANCE: f64 = 0.01;

/// A trial's accounting: every intended frame arrived, was lost, or was never sent in time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialLoss {
    /// The rate the sender offered: what it sent over the time it spent sending.
    pub offered_pps: f64,
    /// The fraction of the intended frames lost: `1 - unique / count`, or, when the sender
    /// could not offer the load, at least the fraction it fell short by (frames it failed to
    /// send in the trial's time count as lost, RFC 2544's offered load being the measure).
    pub loss_ratio: f64,
    /// True when the sender fell short of the load by more than [`GENERATOR_TOLERANCE`]:
    /// the generator, not the path, set this trial's loss.
    pub generator_short: bool,
}

/// The rate a sender offered: what it sent over the time it spent sending (for N frames
/// paced at R that is N / ((N - 1) / R), a hair above R), or its overall rate where it did not
/// say.
pub fn offered_pps(tx: &crate::report::TxSummary) -> f64 {
    if tx.sending_s > 0.0 {
        tx.sent as f64 / tx.sending_s
    } else {
        tx.pps
    }
}

/// The loss of a trial of `count` frames offered at `load` pps (`None`: unpaced, the sender's
/// rate is the load), from its run; `Err` with the reason when the run measured nothing to
/// judge by (a tool failed, or it was interrupted).
pub fn account(count: u64, load: Option<u64>, run: &RunResult) -> Result<TrialLoss, String> {
    if run.status != Status::Ok {
        return Err(if run.reason.is_empty() {
            format!("the trial's run {}", run.status)
        } else {
            run.reason.clone()
        });
    }
    let (Some(tx), Some(rx)) = (&run.tx, &run.rx) else {
        return Err("the trial's run gave no summary".into());
    };
    let unique = rx.counts.unique.min(count);
    let mut loss_ratio = if count == 0 {
        0.0
    } else {
        1.0 - unique as f64 / count as f64
    };
    let offered_pps = offered_pps(tx);
    let short = load.map_or(0.0, |load| 1.0 - offered_pps / load as f64);
    let generator_short = short > GENERATOR_TOLERANCE;
    if generator_short {
        loss_ratio = loss_ratio.max(short);
    }
    Ok(TrialLoss {
        offered_pps,
        loss_ratio,
        generator_short,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{fixture, StopReason};

    fn run(status: Status, tx_pps: f64, unique: u64) -> RunResult {
        let mut rx = fixture::rx("udp-rx", StopReason::Count);
        rx.counts.unique = unique;
        RunResult {
            tx: Some(fixture::tx("udp-tx", 1, tx_pps, StopReason::Count)),
            rx: Some(rx),
            status,
            reason: String::new(),
            tx_intervals: Vec::new(),
            rx_intervals: Vec::new(),
            switch_drops: None,
            link_drops: None,
        }
    }

    #[test]
    fn loss_is_what_did_not_arrive_or_was_never_sent_in_time() {
        let t = account(10_000, Some(10_000), &run(Status::Ok, 10_000.0, 9_900)).unwrap();
        assert!(
            (t.loss_ratio - 0.01).abs() < 1e-12 && !t.generator_short,
            "{t:?}"
        );
        // Everything arrived, but the sender managed only 80 % of the load: 20 % loss.
        let t = account(10_000, Some(10_000), &run(Status::Ok, 8_000.0, 10_000)).unwrap();
        assert!(
            (t.loss_ratio - 0.2).abs() < 1e-12 && t.generator_short,
            "{t:?}"
        );
        // Within the tolerance, the sender's rate is the load.
        let t = account(10_000, Some(10_000), &run(Status::Ok, 9_950.0, 10_000)).unwrap();
        assert_eq!((t.loss_ratio, t.generator_short), (0.0, false));
        // A sender that reports its sending time is judged by it, not by its overall rate
        // (which includes its start-up and the drain of its last frames).
        let mut r = run(Status::Ok, 9_500.0, 5_000);
        let tx = r.tx.as_mut().unwrap();
        (tx.sent, tx.sending_s) = (5_000, 0.4999);
        let t = account(5_000, Some(10_000), &r).unwrap();
        assert_eq!((t.loss_ratio, t.generator_short), (0.0, false), "{t:?}");
        assert!((t.offered_pps - 10_002.0).abs() < 1.0, "{t:?}");
        // Unpaced (calibration): whatever rate the sender reached is the load.
        let t = account(10_000, None, &run(Status::Ok, 123.0, 10_000)).unwrap();
        assert_eq!((t.loss_ratio, t.generator_short), (0.0, false), "{t:?}");
        // Duplicates beyond the count never make loss negative.
        let t = account(100, Some(100), &run(Status::Ok, 100.0, 150)).unwrap();
        assert_eq!(t.loss_ratio, 0.0);
    }

    #[test]
    fn a_failed_or_interrupted_run_is_no_trial() {
        let mut failed = run(Status::Failed, 1.0, 1);
        failed.reason = "udp-rx exited 1".into();
        assert_eq!(account(1, Some(1), &failed).unwrap_err(), "udp-rx exited 1");
        assert!(account(1, Some(1), &run(Status::Partial, 1.0, 1)).is_err());
    }
}
