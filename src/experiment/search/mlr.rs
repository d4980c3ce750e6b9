//! The search itself, an MLRsearch-style one (RFC 9971's goals, our own loads): pure, so that
//! it is tested against paths of known capacity without a packet sent.
//!
//! Every trial is kept and serves every goal. For a goal and a load, the trials there add up
//! to seconds that lost at most the goal's loss ratio (good; only trials at least the goal's
//! final trial duration count) and seconds that lost more (bad; any trial). Against the goal
//! duration sum `D` and exceed ratio `E`, with `T = max(D, good + bad)`:
//!
//! - the load is an **upper bound** once `bad / T > E` (even if every missing second were
//!   good, too much of it lost too much);
//! - a **lower bound** once `(bad + max(0, D - good - bad)) / T <= E` (even if every missing
//!   second were bad, little enough would be);
//! - undecided otherwise: it gets another trial.
//!
//! The relevant upper bound is the lowest upper bound; the relevant lower bound the highest
//! lower bound below it. A goal is done when they are within its width of each other (a
//! search result), when the maximum load is a lower bound (the generator's ceiling limits the
//! result, not the path), or when the minimum load is an upper bound (even the lowest load
//! loses). Loads come lowest first where there is a choice: undecided loads between the
//! bounds are retried before a new load is tried; below an upper bound with no lower bound
//! the search steps down (first to one width below the rate the maximum load forwarded, then
//! in growing steps), between bounds it halves the interval. A result is irregular when some load above
//! the relevant upper bound is a lower bound (the path passed a higher load than one it
//! failed).

use super::goal::Goal;

/// One trial's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trial {
    /// Offered load, packets per second.
    pub load: u64,
    /// Seconds it lasted (as planned: the intended frames over the load).
    pub duration_s: f64,
    /// Fraction of the intended frames that did not arrive (frames the sender failed to
    /// send count as lost).
    pub loss_ratio: f64,
}

/// What the trials so far say of one load for one goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Loses too much.
    Upper,
    /// Loses little enough.
    Lower,
    /// Needs more trials.
    Undecided,
}

/// How a goal's search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The bounds are within the goal's width.
    Found,
    /// The maximum load is a lower bound: the generator, not the path, limits the result.
    AtMaxLoad,
    /// The minimum load is an upper bound: even the lowest load loses too much.
    LossyAtMinLoad,
    /// The search stopped before the goal was decided (budget spent, interrupted, failed).
    Unfinished,
}

impl Outcome {
    /// Its name in the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Found => "found",
            Outcome::AtMaxLoad => "at-max-load",
            Outcome::LossyAtMinLoad => "lossy-at-min-load",
            Outcome::Unfinished => "unfinished",
        }
    }
}

/// One goal's result.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalResult {
    /// The goal.
    pub goal: Goal,
    /// The relevant lower bound, pps (none: no load passed).
    pub lower: Option<u64>,
    /// The relevant upper bound, pps (none: no load failed).
    pub upper: Option<u64>,
    /// The conditional throughput: the relevant lower bound times one minus the loss ratio
    /// of its trials at the goal's exceed-ratio quantile (what the path forwarded there).
    pub conditional_pps: Option<f64>,
    /// False when a load above the relevant upper bound is a lower bound.
    pub regular: bool,
    /// How the search for it ended.
    pub outcome: Outcome,
}

/// A search in progress: its goals, load range and trials.
#[derive(Debug, Clone)]
pub struct Search {
    goals: Vec<Goal>,
    min_load: u64,
    max_load: u64,
    trials: Vec<Trial>,
}

impl Search {
    /// A search for `goals` (checked by [`super::goal::check`]) between `min_load` and
    /// `max_load` packets per second.
    pub fn new(goals: Vec<Goal>, min_load: u64, max_load: u64) -> Result<Self, String> {
        super::goal::check(&goals)?;
        if min_load == 0 || min_load >= max_load {
            return Err(format!(
                "the load range {min_load}..{max_load} pps is empty (the minimum must be above 0 and below the maximum)"
            ));
        }
        Ok(Self {
            goals,
            min_load,
            max_load,
            trials: Vec::new(),
        })
    }

    /// The trials so far.
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }

    /// Records a trial's outcome.
    pub fn record(&mut self, trial: Trial) {
        self.trials.push(trial);
    }

    /// The next trial to run, `(load, seconds)`; `None` when every goal is decided.
    pub fn next(&self) -> Option<(u64, f64)> {
        self.goals
            .iter()
            .find_map(|g| self.next_for(g).map(|load| (load, g.final_trial_s)))
    }

    /// What the trials say of `load` for goal `g`.
    pub fn class(&self, g: &Goal, load: u64) -> Class {
        let (mut good, mut bad) = (0.0, 0.0);
        // A trial planned at the goal's duration counts as one (float seconds).
        let full = g.final_trial_s * (1.0 - 1e-9);
        for t in self.trials.iter().filter(|t| t.load == load) {
            if t.loss_ratio > g.loss_ratio {
                bad += t.duration_s;
            } else if t.duration_s >= full {
                good += t.duration_s;
            }
        }
        let total = f64::max(g.duration_sum_s, good + bad);
        let missing = (g.duration_sum_s - good - bad).max(0.0);
        if bad / total > g.exceed_ratio {
            Class::Upper
        } else if (bad + missing) / total <= g.exceed_ratio {
            Class::Lower
        } else {
            Class::Undecided
        }
    }

    /// Every load tried, ascending, with its class for `g`.
    fn classes(&self, g: &Goal) -> Vec<(u64, Class)> {
        let mut loads: Vec<u64> = self.trials.iter().map(|t| t.load).collect();
        loads.sort_unstable();
        loads.dedup();
        loads.into_iter().map(|l| (l, self.class(g, l))).collect()
    }

    /// The relevant bounds for `g`: (lower, upper).
    fn bounds(&self, g: &Goal) -> (Option<u64>, Option<u64>) {
        let classes = self.classes(g);
        let upper = classes
            .iter()
            .find(|(_, c)| *c == Class::Upper)
            .map(|(l, _)| *l);
        let lower = classes
            .iter()
            .filter(|(l, c)| *c == Class::Lower && upper.is_none_or(|u| *l < u))
            .map(|(l, _)| *l)
            .next_back();
        (lower, upper)
    }

    /// The load goal `g` needs next, or `None` if it is decided.
    fn next_for(&self, g: &Goal) -> Option<u64> {
        let (lower, upper) = self.bounds(g);
        let undecided = self.classes(g).into_iter().find(|(l, c)| {
            *c == Class::Undecided && lower.is_none_or(|lo| *l > lo) && upper.is_none_or(|u| *l < u)
        });
        if let Some((load, _)) = undecided {
            return Some(load);
        }
        match (lower, upper) {
            (_, None) => {
                // No load failed: the maximum load, until it is a lower bound.
                (lower != Some(self.max_load)).then_some(self.max_load)
            }
            (None, Some(u)) => {
                if u <= self.min_load {
                    return None;
                }
                Some(self.step_down(g, u).max(self.min_load))
            }
            (Some(l), Some(u)) => {
                let mid = l + (u - l) / 2;
                let narrow = (u - l) as f64 <= g.width * u as f64;
                (!narrow && mid > l && mid < u).then_some(mid)
            }
        }
    }

    /// Below the lowest upper bound `u` with no lower bound yet: first one width below the
    /// rate the maximum load forwarded (if below `u`; the forwarded rate estimates the
    /// capacity, and a path that lets a burst through forwards a little more than it
    /// sustains), then steps of 2, 8, 32 ... widths, at most halving.
    fn step_down(&self, g: &Goal, u: u64) -> u64 {
        let failed_below_max = self
            .classes(g)
            .iter()
            .filter(|(l, c)| *c == Class::Upper && *l < self.max_load)
            .count() as i32;
        let step = (2.0 * g.width * 4f64.powi(failed_below_max)).min(0.5);
        let stepped = (u as f64 * (1.0 - step)).floor() as u64;
        let forwarded = self
            .forwarded_at_max()
            .map(|f| (f as f64 * (1.0 - g.width)).floor() as u64);
        match forwarded {
            Some(f) if failed_below_max == 0 && f < stepped && f > 0 => f,
            _ => stepped.min(u - 1),
        }
    }

    /// The rate the trials at the maximum load forwarded (their mean loss applied).
    fn forwarded_at_max(&self) -> Option<u64> {
        let at_max: Vec<&Trial> = self
            .trials
            .iter()
            .filter(|t| t.load == self.max_load)
            .collect();
        if at_max.is_empty() {
            return None;
        }
        let loss = at_max.iter().map(|t| t.loss_ratio).sum::<f64>() / at_max.len() as f64;
        Some((self.max_load as f64 * (1.0 - loss)).floor() as u64)
    }

    /// Every goal's result as the trials stand (`Unfinished` for goals not yet decided).
    pub fn results(&self) -> Vec<GoalResult> {
        self.goals
            .iter()
            .map(|g| {
                let (lower, upper) = self.bounds(g);
                let decided = self.next_for(g).is_none();
                let outcome = match (decided, lower, upper) {
                    (false, ..) => Outcome::Unfinished,
                    (true, _, None) => Outcome::AtMaxLoad,
                    (true, None, Some(_)) => Outcome::LossyAtMinLoad,
                    (true, Some(_), Some(_)) => Outcome::Found,
                };
                let regular = upper.is_none_or(|u| {
                    !self
                        .classes(g)
                        .iter()
                        .any(|(l, c)| *l > u && *c == Class::Lower)
                });
                GoalResult {
                    goal: g.clone(),
                    lower,
                    upper,
                    conditional_pps: lower.map(|l| self.conditional(g, l)),
                    regular,
                    outcome,
                }
            })
            .collect()
    }

    /// The conditional throughput at lower bound `load`.
    fn conditional(&self, g: &Goal, load: u64) -> f64 {
        let full = g.final_trial_s * (1.0 - 1e-9);
        let mut losses: Vec<f64> = self
            .trials
            .iter()
            .filter(|t| t.load == load && t.duration_s >= full)
            .map(|t| t.loss_ratio)
            .collect();
        losses.sort_by(f64::total_cmp);
        if losses.is_empty() {
            return load as f64;
        }
        // The (1 - exceed ratio) quantile: the worst loss for E = 0, the median for E = 0.5.
        let q = 1.0 - g.exceed_ratio;
        let index = ((q * losses.len() as f64).ceil() as usize).clamp(1, losses.len()) - 1;
        load as f64 * (1.0 - losses[index])
    }
}

#[cfg(test)]
mod tests {
    use super::super::goal::Preset;
    use super::*;

    /// Runs a search against a path that forwards at most `capacity` pps (the excess is
    /// lost, as with a rate limiter), with `noise(trial number)` added to the loss ratio.
    fn against(
        goals: Vec<Goal>,
        min: u64,
        max: u64,
        capacity: f64,
        noise: &dyn Fn(usize) -> f64,
    ) -> (Search, Vec<GoalResult>) {
        let mut s = Search::new(goals, min, max).unwrap();
        let mut n = 0;
        while let Some((load, duration_s)) = s.next() {
            let loss = (1.0 - capacity / load as f64).max(0.0) + noise(n);
            s.record(Trial {
                load,
                duration_s,
                loss_ratio: loss.clamp(0.0, 1.0),
            });
            n += 1;
            assert!(n < 1000, "the search never ends: {:?}", s.trials());
        }
        let r = s.results();
        (s, r)
    }

    #[test]
    fn a_path_of_known_capacity_gives_bounds_around_it_within_the_width() {
        for preset in Preset::ALL {
            // The PDR of the last (990,000 / 0.995) is still below the maximum load.
            for capacity in [12_345.0, 400_000.0, 990_000.0] {
                let (s, results) = against(preset.goals(), 1_000, 1_000_000, capacity, &|_| 0.0);
                for r in &results {
                    let (lo, up) = (r.lower.unwrap(), r.upper.unwrap());
                    let what = format!("{preset} {} at {capacity}: {r:?}", r.goal.name);
                    assert_eq!(r.outcome, Outcome::Found, "{what}");
                    assert!(r.regular, "{what}");
                    assert!((up - lo) as f64 <= r.goal.width * up as f64, "{what}");
                    // The NDR is at or below the capacity and the upper bound above it.
                    if r.goal.loss_ratio == 0.0 {
                        assert!(lo as f64 <= capacity && up as f64 > capacity, "{what}");
                    } else {
                        // The PDR's lower bound loses at most its ratio: at or above capacity,
                        // below capacity / (1 - ratio).
                        assert!(lo as f64 >= capacity * (1.0 - r.goal.width), "{what}");
                        assert!(
                            (lo as f64) * (1.0 - r.goal.loss_ratio) <= capacity,
                            "{what}"
                        );
                    }
                    // What the path forwarded at the lower bound: all of it below capacity.
                    let forwarded = (lo as f64).min(capacity);
                    assert!(
                        (r.conditional_pps.unwrap() - forwarded).abs() < 1.0,
                        "{what}"
                    );
                }
                // A guard against a search that wanders: bisection over three decades at
                // 0.5 % width is some 20 loads, each decided in at most 11 trials per goal.
                assert!(
                    s.trials().len() < 400,
                    "{preset} {capacity}: {}",
                    s.trials().len()
                );
            }
        }
    }

    #[test]
    fn a_path_faster_than_the_generator_is_limited_by_the_maximum_load() {
        let (s, results) = against(Preset::Csit.goals(), 1_000, 500_000, 2e6, &|_| 0.0);
        for r in &results {
            assert_eq!(r.outcome, Outcome::AtMaxLoad, "{r:?}");
            assert_eq!((r.lower, r.upper), (Some(500_000), None));
        }
        // 11 good seconds of the 21 s sum make the maximum load a lower bound for both goals
        // (even if the 10 missing ones were bad, no more than half would be); nothing else
        // is tried.
        assert!(s.trials().iter().all(|t| t.load == 500_000));
        assert_eq!(s.trials().len(), 11);
    }

    #[test]
    fn a_path_that_loses_even_at_the_minimum_load_says_so() {
        let (_, results) = against(Preset::Quick.goals(), 1_000, 100_000, 10.0, &|_| 0.0);
        for r in &results {
            assert_eq!(r.outcome, Outcome::LossyAtMinLoad, "{r:?}");
            assert_eq!(
                (r.lower, r.upper, r.conditional_pps),
                (None, Some(1_000), None)
            );
        }
    }

    #[test]
    fn noise_within_the_exceed_ratio_still_finds_the_capacity() {
        // Every third trial loses 1 % on top: under the csit preset's exceed ratio of 0.5 the
        // bounds still bracket the capacity; with exceed ratio 0 (rfc2544) the noisy trials
        // push the NDR below it, never above.
        let noise = |n: usize| if n % 3 == 2 { 0.01 } else { 0.0 };
        let (_, csit) = against(Preset::Csit.goals(), 1_000, 1_000_000, 300_000.0, &noise);
        let ndr = &csit[0];
        assert_eq!(ndr.outcome, Outcome::Found);
        assert!(
            ndr.lower.unwrap() as f64 >= 300_000.0 * (1.0 - 2.0 * ndr.goal.width),
            "{ndr:?}"
        );
        assert!(ndr.lower.unwrap() as f64 <= 300_000.0, "{ndr:?}");
        let (_, strict) = against(Preset::Rfc2544.goals(), 1_000, 1_000_000, 300_000.0, &noise);
        assert!(
            strict[0].lower.is_none_or(|l| l as f64 <= 300_000.0),
            "{strict:?}"
        );
    }

    #[test]
    fn a_lower_bound_above_the_upper_bound_is_reported_irregular() {
        let goals = vec![Goal {
            name: "NDR".into(),
            loss_ratio: 0.0,
            final_trial_s: 1.0,
            duration_sum_s: 1.0,
            exceed_ratio: 0.0,
            width: 0.01,
        }];
        let mut s = Search::new(goals, 1_000, 100_000).unwrap();
        for (load, loss) in [(100_000, 0.0), (50_000, 0.2), (40_000, 0.0), (45_000, 0.0)] {
            s.record(Trial {
                load,
                duration_s: 1.0,
                loss_ratio: loss,
            });
        }
        let r = &s.results()[0];
        assert_eq!((r.lower, r.upper), (Some(45_000), Some(50_000)));
        assert!(!r.regular, "100,000 passed although 50,000 failed: {r:?}");
    }

    #[test]
    fn an_undecided_load_is_retried_before_a_new_one_and_short_trials_only_count_if_bad() {
        let g = Preset::Csit.goals().remove(0);
        let mut s = Search::new(vec![g.clone()], 1_000, 100_000).unwrap();
        s.record(Trial {
            load: 100_000,
            duration_s: 1.0,
            loss_ratio: 0.1,
        });
        // One bad second of 21: undecided (it could still be a lower bound).
        assert_eq!(s.class(&g, 100_000), Class::Undecided);
        assert_eq!(s.next(), Some((100_000, 1.0)));
        // Eleven bad seconds exceed half of 21: an upper bound.
        for _ in 0..10 {
            s.record(Trial {
                load: 100_000,
                duration_s: 1.0,
                loss_ratio: 0.1,
            });
        }
        assert_eq!(s.class(&g, 100_000), Class::Upper);
        // A short good trial proves nothing; a short bad one counts.
        s.record(Trial {
            load: 50_000,
            duration_s: 0.1,
            loss_ratio: 0.0,
        });
        assert_eq!(s.class(&g, 50_000), Class::Undecided);
        // The next load steps down to one width (0.5 %) below what the maximum forwarded
        // (90 % of it).
        let mut fresh = Search::new(vec![g.clone()], 1_000, 100_000).unwrap();
        for _ in 0..11 {
            fresh.record(Trial {
                load: 100_000,
                duration_s: 1.0,
                loss_ratio: 0.1,
            });
        }
        assert_eq!(fresh.next(), Some((89_550, 1.0)));
    }

    #[test]
    fn an_empty_load_range_is_refused() {
        let e = Search::new(Preset::Quick.goals(), 5_000, 5_000).unwrap_err();
        assert!(e.contains("5000..5000 pps is empty"), "{e}");
        assert!(Search::new(Preset::Quick.goals(), 0, 5_000).is_err());
    }
}
