//! `pktmmap search`'s command-line options and the plan they ask for (checked before
//! anything runs: a bad goal, size or rate is a request error, exit 2).

use std::path::{Path, PathBuf};

use super::{goal, parse_pps, parse_sizes, SearchPlan, SizeSpec};
use crate::experiment::place::setup::{self, Setups};
use crate::experiment::plan::apps::Needs;
use crate::experiment::plan::kinds::{App, Engine, Families, Family, Fate};
use crate::experiment::Error;

/// What `pktmmap search` is asked.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// Set-ups, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "native")]
    pub setup: Vec<String>,
    /// Apps, comma-separated; searched one after another at each size.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "mmap,udp")]
    pub app: Vec<App>,
    /// UDP payload sizes, comma-separated, rfc2544: RFC 2544's frames of 64 to 1518 B
    /// (FCS included; the 64-byte frame goes out as 70 B over IPv4 and 90 B over IPv6, the
    /// smallest that holds the probe), or imix: 7:4:1 of 64, 570 and 1518 B frames in a fixed
    /// sequence (rows give its mean size, `size_mix` says imix; not with the GSO apps).
    #[arg(long, value_delimiter = ',', default_value = "64")]
    pub size: Vec<String>,
    /// IP version of the test traffic: 4, 6, or both (each cell searched over IPv4, then
    /// over IPv6); recorded in the `family` column. An RFC 2544 frame carries 20 bytes less
    /// payload over IPv6.
    #[arg(long, value_enum, default_value_t = Families::V4)]
    pub family: Families,
    /// Goals: csit (NDR 0 % and PDR 0.5 %, 1 s trials, 21 s per bound), rfc2544 (NDR, one
    /// 60 s trial per load) or quick (0.5 s trials, 5 % width).
    #[arg(long, default_value = "csit")]
    pub preset: String,
    /// Every goal's final trial duration, seconds.
    #[arg(long, value_name = "SECONDS")]
    pub trial: Option<f64>,
    /// Every goal's duration sum: seconds of trials that decide a load.
    #[arg(long, value_name = "SECONDS")]
    pub duration_sum: Option<f64>,
    /// Every goal's exceed ratio: the fraction of that time that may lose too much.
    #[arg(long)]
    pub exceed_ratio: Option<f64>,
    /// Every goal's width, relative to the upper bound.
    #[arg(long)]
    pub width: Option<f64>,
    /// The PDR's loss ratio.
    #[arg(long)]
    pub pdr_loss_ratio: Option<f64>,
    /// Searches of each set-up x app x size.
    #[arg(long, default_value_t = 1)]
    pub repetitions: u32,
    /// The maximum load in packets per second (250kpps); default: the generator's own
    /// ceiling on the path, calibrated before each search (an unpaced run, then paced runs
    /// down to the rate a paced sender sustains).
    #[arg(long)]
    pub max_rate: Option<String>,
    /// The lowest load tried, as a fraction of the maximum.
    #[arg(long, default_value_t = 0.01)]
    pub min_load_fraction: f64,
    /// Packets of each calibration run.
    #[arg(long, default_value_t = 500_000)]
    pub calibration_count: u64,
    /// Trials per search before it stops with the bounds found so far (partial).
    #[arg(long, default_value_t = 400)]
    pub max_trials: usize,
    /// After each search, a trial at each of these percentages of the laxest goal's lower
    /// bound (the PDR's; the NDR's under rfc2544) records one-way latency (min, p50, p90,
    /// p99, p99.9, max, PDV); `none`: no latency trials.
    #[arg(long, value_delimiter = ',', default_value = "10,50,90")]
    pub latency_at: Vec<String>,
    /// After each search, the frame loss rate curve (RFC 2544 26.3): trials from the
    /// maximum load down in 10 % steps until two in a row lose nothing. On with rfc2544.
    #[arg(long)]
    pub loss_curve: bool,
    /// Seconds of each latency and loss-curve trial (default: the laxest goal's final trial
    /// duration).
    #[arg(long, value_name = "SECONDS")]
    pub phase_trial: Option<f64>,
    /// Each latency trial again with the receiver busy polling (SO_PREFER_BUSY_POLL,
    /// SO_BUSY_POLL of this many microseconds): for the apps whose receiver can (xdp-rx);
    /// recorded in the trials' busy_poll_us.
    #[arg(long, value_name = "MICROSECONDS",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub busy_poll: Option<u32>,
    /// Seconds of quiet between trials.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.2)]
    pub settle: f64,
    /// What happens to test packets after mmap-rx has them.
    #[arg(long, value_enum, default_value_t = Fate::Stack)]
    pub fate: Fate,
    /// Seconds without traffic after which a trial's receiver stops (the drain).
    #[arg(long, default_value_t = 1.0)]
    pub idle_timeout: f64,
    /// Output directory (default: results/<UTC time>-search-<preset>).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `--latency-at`: percentages above 0 and at most 100, as fractions; `none` alone for none.
pub fn parse_percentages(words: &[String]) -> Result<Vec<f64>, String> {
    if words.len() == 1 && words[0] == "none" {
        return Ok(Vec::new());
    }
    words
        .iter()
        .map(|w| match w.trim_end_matches('%').parse::<f64>() {
            Ok(p) if p > 0.0 && p <= 100.0 => Ok(p / 100.0),
            _ => Err(format!(
                "--latency-at {w:?}: give percentages of the bound above 0 and at most 100 (10,50,90), or none"
            )),
        })
        .collect()
}

impl SearchArgs {
    /// The plan these options ask for on `engine`, its set-ups from `experiments` (found as
    /// the runner finds it when `None`) and swarm tasks on `nodes` (sender's, receiver's).
    pub fn plan(
        self,
        engine: Engine,
        experiments: Option<&Path>,
        nodes: (Option<String>, Option<String>),
    ) -> Result<SearchPlan, Error> {
        let request = Error::Request;
        let overrides = goal::Overrides {
            trial_s: self.trial,
            duration_sum_s: self.duration_sum,
            exceed_ratio: self.exceed_ratio,
            width: self.width,
            pdr_loss_ratio: self.pdr_loss_ratio,
        };
        let (preset, goals) = goal::goals_for(&self.preset, &overrides).map_err(request)?;
        let sizes = parse_sizes(&self.size).map_err(request)?;
        check_mix(&sizes, &self.app).map_err(request)?;
        let max_load = self
            .max_rate
            .as_deref()
            .map(parse_pps)
            .transpose()
            .map_err(request)?;
        let fraction = self.min_load_fraction;
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(request(format!(
                "--min-load-fraction {fraction} must be above 0 and below 1"
            )));
        }
        // RFC 2544's preset does all of section 26 that applies: the loss curve too.
        let loss_curve = self.loss_curve || self.preset == goal::Preset::Rfc2544.name();
        let latency_at = parse_percentages(&self.latency_at).map_err(request)?;
        if let Some(t) = self.phase_trial {
            if !(t > 0.0 && t.is_finite()) {
                return Err(request(format!(
                    "--phase-trial {t}: give a number of seconds above 0"
                )));
            }
        }
        let experiments = setup::experiments_dir(experiments)?;
        let xdp = self.app.iter().any(|a| a.tools().0.needs() == Needs::Xdp);
        let scripts = Setups::new(engine, &experiments)?
            .with_nodes(nodes.0, nodes.1)
            .with_xdp(xdp);
        scripts.check_names(&self.setup)?;
        let out: PathBuf = self.out.unwrap_or_else(|| {
            crate::experiment::run::default_out(engine, &format!("search-{preset}"))
        });
        Ok(SearchPlan {
            setups: self.setup,
            apps: self.app,
            sizes,
            families: self.family,
            goals,
            preset,
            repetitions: self.repetitions.max(1),
            max_load,
            calibration_count: self.calibration_count,
            min_load_fraction: fraction,
            max_trials: self.max_trials,
            settle_s: self.settle,
            latency_at,
            busy_poll_us: self.busy_poll,
            phase_trial_s: self.phase_trial,
            loss_curve,
            fate: self.fate,
            idle_timeout_s: self.idle_timeout,
            out,
            experiments,
            setups_scripts: scripts,
            bin_dir: setup::tool_dir()?,
        })
    }
}

/// Refuses `imix` with an app that sends GSO super-packets (whose datagrams share one size),
/// and beside a size whose frame equals the IMIX's mean over a family (the rows of the two
/// would share a frame size).
pub(super) fn check_mix(sizes: &[SizeSpec], apps: &[App]) -> Result<(), String> {
    if !sizes.contains(&SizeSpec::Imix) {
        return Ok(());
    }
    if let Some(app) = apps.iter().find(|a| a.spec().gso.is_some()) {
        return Err(format!(
            "--size imix with --app {}: a GSO super-packet's datagrams all have one size",
            app.as_str()
        ));
    }
    for family in [Family::V4, Family::V6] {
        let mean = SizeSpec::Imix.payload(family);
        if let Some(s) = sizes
            .iter()
            .find(|s| **s != SizeSpec::Imix && s.payload(family) == mean)
        {
            return Err(format!(
                "--size imix beside {s:?}: over {family} both are {mean} B of payload, so their rows would share a frame size"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_fractions_are_percentages_of_the_bound_or_none() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_percentages(&words(&["10", "50%", "100"])).unwrap(),
            [0.1, 0.5, 1.0]
        );
        assert!(parse_percentages(&words(&["none"])).unwrap().is_empty());
        for bad in ["0", "101", "half", "none"] {
            let e = parse_percentages(&words(&["50", bad])).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }
}
