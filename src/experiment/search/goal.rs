//! What a search looks for: its goals (RFC 9971's search goals, each a loss ratio with the
//! durations and exceed ratio that decide it) and the presets that bundle them.

use std::fmt;

/// One search goal: the highest load whose trials lose at most `loss_ratio`, decided by
/// `duration_sum_s` seconds of trials of `final_trial_s` each, of which at most
/// `exceed_ratio` may exceed the loss ratio; found to within `width` (relative to the upper
/// bound).
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    /// Its name in the output (`NDR`, `PDR`).
    pub name: String,
    /// The largest fraction of a trial's frames that may be lost for the trial to count as
    /// good (0 for the NDR).
    pub loss_ratio: f64,
    /// Seconds each trial that decides the goal lasts.
    pub final_trial_s: f64,
    /// Seconds of trials a load needs before it is a lower bound (RFC 9971's goal duration
    /// sum); at least `final_trial_s`.
    pub duration_sum_s: f64,
    /// The fraction of that duration that may be spent in trials losing more than
    /// `loss_ratio` (0: a single bad trial makes the load an upper bound).
    pub exceed_ratio: f64,
    /// The search stops when the bounds are within this fraction of the upper bound.
    pub width: f64,
}

/// A search's goals as a named bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// RFC 2544 section 26.1: 60 s trials, no loss, one trial decides.
    Rfc2544,
    /// FD.io CSIT's MLRsearch: 1 s trials, NDR (0 %) and PDR (0.5 %), 21 s per bound, half
    /// of which may exceed the loss ratio, 0.5 % width.
    Csit,
    /// For tests and a first look: 0.5 s trials, NDR and PDR, 1 s per bound, 5 % width.
    Quick,
}

impl Preset {
    /// Every preset, as named on the command line.
    pub const ALL: [Preset; 3] = [Preset::Rfc2544, Preset::Csit, Preset::Quick];

    /// Its command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Rfc2544 => "rfc2544",
            Preset::Csit => "csit",
            Preset::Quick => "quick",
        }
    }

    /// The preset named `name`, or an error listing the known ones.
    pub fn parse(name: &str) -> Result<Preset, String> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
                format!("unknown preset {name:?} (known: {})", known.join(", "))
            })
    }

    /// Its goals, lowest loss ratio first.
    pub fn goals(self) -> Vec<Goal> {
        let goal =
            |name: &str, loss_ratio, final_trial_s, duration_sum_s, exceed_ratio, width| Goal {
                name: name.to_string(),
                loss_ratio,
                final_trial_s,
                duration_sum_s,
                exceed_ratio,
                width,
            };
        match self {
            Preset::Rfc2544 => vec![goal("NDR", 0.0, 60.0, 60.0, 0.0, 0.005)],
            Preset::Csit => vec![
                goal("NDR", 0.0, 1.0, 21.0, 0.5, 0.005),
                goal("PDR", 0.005, 1.0, 21.0, 0.5, 0.005),
            ],
            Preset::Quick => vec![
                goal("NDR", 0.0, 0.5, 1.0, 0.5, 0.05),
                goal("PDR", 0.005, 0.5, 1.0, 0.5, 0.05),
            ],
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Changes to a preset's goals asked on the command line (each applies to every goal; the
/// loss ratio to the goals above the strictest).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// Final trial duration, seconds.
    pub trial_s: Option<f64>,
    /// Duration sum, seconds.
    pub duration_sum_s: Option<f64>,
    /// Exceed ratio.
    pub exceed_ratio: Option<f64>,
    /// Width.
    pub width: Option<f64>,
    /// The PDR's loss ratio.
    pub pdr_loss_ratio: Option<f64>,
}

impl Overrides {
    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == Overrides::default()
    }
}

/// The goals of `preset` with `overrides` applied, checked; with its name for the rows
/// (`custom` when anything was overridden).
pub fn goals_for(preset: &str, overrides: &Overrides) -> Result<(String, Vec<Goal>), String> {
    let p = Preset::parse(preset)?;
    let mut goals = p.goals();
    for (i, g) in goals.iter_mut().enumerate() {
        let o = overrides;
        if let Some(v) = o.trial_s {
            g.final_trial_s = v;
            // A duration sum below the new trial duration follows it up.
            if o.duration_sum_s.is_none() {
                g.duration_sum_s = g.duration_sum_s.max(v);
            }
        }
        if let Some(v) = o.duration_sum_s {
            g.duration_sum_s = v;
        }
        if let Some(v) = o.exceed_ratio {
            g.exceed_ratio = v;
        }
        if let Some(v) = o.width {
            g.width = v;
        }
        if let (Some(v), true) = (o.pdr_loss_ratio, i > 0) {
            g.loss_ratio = v;
        }
    }
    check(&goals)?;
    let name = if overrides.is_empty() {
        p.name().to_string()
    } else {
        format!("{}-custom", p.name())
    };
    Ok((name, goals))
}

/// Checks goals that could never be met or contradict each other: an error naming the goal
/// and what is wrong.
pub fn check(goals: &[Goal]) -> Result<(), String> {
    if goals.is_empty() {
        return Err("no search goal".into());
    }
    for g in goals {
        let n = &g.name;
        if !(0.0..1.0).contains(&g.loss_ratio) {
            return Err(format!(
                "{n}: loss ratio {} is outside [0, 1)",
                g.loss_ratio
            ));
        }
        if !(0.0..1.0).contains(&g.exceed_ratio) {
            return Err(format!(
                "{n}: exceed ratio {} is outside [0, 1)",
                g.exceed_ratio
            ));
        }
        if !(g.width > 0.0 && g.width < 1.0) {
            return Err(format!(
                "{n}: width {} must be above 0 and below 1",
                g.width
            ));
        }
        if !(g.final_trial_s > 0.0 && g.final_trial_s.is_finite()) {
            return Err(format!(
                "{n}: trial duration {} s must be positive",
                g.final_trial_s
            ));
        }
        if !(g.duration_sum_s >= g.final_trial_s && g.duration_sum_s.is_finite()) {
            return Err(format!(
                "{n}: trial duration {} s is longer than the duration sum {} s",
                g.final_trial_s, g.duration_sum_s
            ));
        }
    }
    for pair in goals.windows(2) {
        if pair[1].loss_ratio < pair[0].loss_ratio {
            return Err(format!(
                "{}'s loss ratio {} is below {}'s {}: goals go from the strictest up",
                pair[1].name, pair[1].loss_ratio, pair[0].name, pair[0].loss_ratio
            ));
        }
    }
    let mut names: Vec<&str> = goals.iter().map(|g| g.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("two goals are named {}", w[0]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_consistent_and_named_for_the_command_line() {
        for p in Preset::ALL {
            check(&p.goals()).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(Preset::parse(p.name()), Ok(p));
        }
        let e = Preset::parse("fast").unwrap_err();
        assert!(e.contains("rfc2544, csit, quick"), "{e}");
        // CSIT's published goals: NDR 0 %, PDR 0.5 %, 1 s trials, 21 s sum.
        let csit = Preset::Csit.goals();
        assert_eq!(
            csit.iter().map(|g| g.loss_ratio).collect::<Vec<_>>(),
            [0.0, 0.005]
        );
        assert!(csit
            .iter()
            .all(|g| g.final_trial_s == 1.0 && g.duration_sum_s == 21.0));
    }

    #[test]
    fn contradicting_goals_are_refused_naming_the_goal() {
        let base = Preset::Quick.goals();
        let with = |i: usize, f: &dyn Fn(&mut Goal)| {
            let mut g = base.clone();
            f(&mut g[i]);
            check(&g).unwrap_err()
        };
        let e = with(1, &|g| g.loss_ratio = -0.1);
        assert!(e.contains("PDR: loss ratio -0.1"), "{e}");
        let e = with(0, &|g| g.loss_ratio = 0.01);
        assert!(
            e.contains("PDR's loss ratio 0.005 is below NDR's 0.01"),
            "{e}"
        );
        let e = with(0, &|g| g.width = 0.0);
        assert!(e.contains("NDR: width 0"), "{e}");
        let e = with(1, &|g| g.final_trial_s = 5.0);
        assert!(e.contains("longer than the duration sum"), "{e}");
        let e = with(1, &|g| g.name = "NDR".into());
        assert!(e.contains("two goals are named NDR"), "{e}");
        assert!(check(&[]).is_err());
    }

    #[test]
    fn overrides_apply_to_every_goal_and_are_checked() {
        let o = Overrides {
            trial_s: Some(2.0),
            pdr_loss_ratio: Some(0.001),
            ..Overrides::default()
        };
        let (name, goals) = goals_for("quick", &o).unwrap();
        assert_eq!(name, "quick-custom");
        assert!(goals
            .iter()
            .all(|g| g.final_trial_s == 2.0 && g.duration_sum_s == 2.0));
        assert_eq!((goals[0].loss_ratio, goals[1].loss_ratio), (0.0, 0.001));
        assert_eq!(goals_for("csit", &Overrides::default()).unwrap().0, "csit");
        let bad = Overrides {
            trial_s: Some(30.0),
            duration_sum_s: Some(21.0),
            ..Overrides::default()
        };
        let e = goals_for("csit", &bad).unwrap_err();
        assert!(e.contains("longer than the duration sum"), "{e}");
        assert!(goals_for("nope", &Overrides::default()).is_err());
    }
}
