//! `pktmmap search`'s command-line options and the plan they ask for (checked before
//! anything runs: a bad goal, size or rate is a request error, exit 2).

use std::path::{Path, PathBuf};

use super::{goal, parse_pps, parse_sizes, SearchPlan};
use crate::experiment::place::setup::{self, Setups};
use crate::experiment::plan::apps::Needs;
use crate::experiment::plan::kinds::{App, Engine, Fate};
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
    /// UDP payload sizes, comma-separated, or rfc2544: RFC 2544's frames of 64 to 1518 B
    /// (FCS included; the 64-byte frame goes out as 70 B, the smallest that holds the
    /// probe).
    #[arg(long, value_delimiter = ',', default_value = "64")]
    pub size: Vec<String>,
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
    /// ceiling on the path, calibrated by an unpaced run before each search.
    #[arg(long)]
    pub max_rate: Option<String>,
    /// The lowest load tried, as a fraction of the maximum.
    #[arg(long, default_value_t = 0.01)]
    pub min_load_fraction: f64,
    /// Packets of the calibration run.
    #[arg(long, default_value_t = 500_000)]
    pub calibration_count: u64,
    /// Trials per search before it stops with the bounds found so far (partial).
    #[arg(long, default_value_t = 400)]
    pub max_trials: usize,
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
            goals,
            preset,
            repetitions: self.repetitions.max(1),
            max_load,
            calibration_count: self.calibration_count,
            min_load_fraction: fraction,
            max_trials: self.max_trials,
            settle_s: self.settle,
            fate: self.fate,
            idle_timeout_s: self.idle_timeout,
            out,
            experiments,
            setups_scripts: scripts,
            bin_dir: setup::tool_dir()?,
        })
    }
}
