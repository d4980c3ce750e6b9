//! `pktmmap search`: throughput as RFC 2544 and FD.io CSIT's MLRsearch (RFC 9971) measure it.
//! For each set-up x app x size x repetition, the generator's ceiling on the path is
//! calibrated (one unpaced run, then paced runs down to the rate a paced sender sustains
//! there: [`PACED_CALIBRATIONS`]), then trials at fixed
//! offered loads find, per goal, the highest load that loses at most the goal's loss ratio
//! (the NDR at 0 %, the PDR at 0.5 %) with its bounds ([`mlr`]). Every trial is a runner run
//! ([`crate::experiment::run::point`]): receiver ready first, then the sender paced at the
//! load; the receiver's idle timeout drains the path after it; a settle time follows. Frames
//! a sender failed to send in the trial's time count as lost ([`trial`]).
//!
//! Writes `search-v3.csv` (a row per set-up x app x size x family x repetition x goal) and
//! `search-trials-v5.csv` (every trial, every frame accounted) into the output directory.

pub mod command;
pub mod goal;
pub mod mlr;
pub mod trial;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::experiment::place::conditions::Conditions;
use crate::experiment::place::host::Machine;
use crate::experiment::place::setup::{SetupEnv, Setups};
use crate::experiment::plan::kinds::{setup_label, App, Engine, Families, Family, Fate, Status};
use crate::experiment::plan::profile::{Param, Point};
use crate::experiment::rows::{header_of, utc_now, ResultsFile};
use crate::experiment::run::point::{run_point, RunConfig};
use crate::experiment::Error;
use crate::pace::Rate;
use crate::wire::{DatagramSizes, SizeMix};
use goal::Goal;
use mlr::{GoalResult, Outcome, Search, Trial};

/// The search results' file stem (schema 2: `family`; 3: `size_mix`).
pub const SEARCH_CSV: &str = "search-v3";
/// The trials' file stem (schema 4: latency, `goal`, `fraction`, the latency and loss-curve
/// phases; 5: `size_mix`).
pub const TRIALS_CSV: &str = "search-trials-v5";
/// The results' file stem before `size_mix` (schema 2), still read: its rows have none.
pub const SEARCH_CSV_V2: &str = "search-v2";
/// The trials' file stem before `size_mix` (schema 4), still read.
pub const TRIALS_CSV_V4: &str = "search-trials-v4";

pub use crate::wire::FCS_LEN;

/// The bytes a frame of `family` has on the wire beyond its UDP payload, FCS included:
/// Ethernet 14, IP 20 or 40, UDP 8, FCS 4 (46 over IPv4, 66 over IPv6).
pub fn frame_overhead_with_fcs(family: Family) -> usize {
    family.wire().frame_overhead() + FCS_LEN
}
/// Bytes each frame occupies on the line beyond the frame: preamble and start delimiter 8,
/// inter-frame gap 12 (L1 rates).
pub const L1_OVERHEAD: usize = 20;

/// RFC 2544's frame sizes (FCS included), as the UDP payload our frames carry; the 64-byte
/// frame cannot hold the 24-byte probe, so it is sent as the smallest frame that can (70 B
/// over IPv4, 90 B over IPv6).
pub const RFC2544_FRAMES: [usize; 7] = [64, 128, 256, 512, 1024, 1280, 1518];

/// The UDP payload of an RFC 2544 frame of `frame` bytes (FCS included) over `family`, never
/// below the probe.
pub fn payload_of_frame(frame: usize, family: Family) -> usize {
    crate::wire::mix::payload_of_frame(frame, family.wire())
}

/// One `--size`: a UDP payload, one of RFC 2544's frame sizes, whose payload depends on the
/// IP version (the same frame carries 20 bytes less over IPv6), or the simple IMIX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeSpec {
    /// UDP payload bytes, the same over either family.
    Payload(usize),
    /// An RFC 2544 frame size, FCS included.
    Frame(usize),
    /// The simple IMIX (7:4:1 of 64, 570 and 1518 B frames, [`crate::wire::mix::IMIX`]).
    Imix,
}

impl SizeSpec {
    /// The UDP payload to send over `family` (the IMIX's mean, rounded: what rows give as
    /// `size`, their `frame_bytes` following).
    pub fn payload(self, family: Family) -> usize {
        match self {
            SizeSpec::Payload(n) => n,
            SizeSpec::Frame(f) => payload_of_frame(f, family),
            SizeSpec::Imix => DatagramSizes::Mix(SizeMix::imix()).mean_payload(family.wire()),
        }
    }

    /// The largest UDP payload it sends over `family` (the IMIX's 1518-byte frame's).
    pub fn max_payload(self, family: Family) -> usize {
        match self.mix() {
            Some(m) => DatagramSizes::Mix(m).max_payload(family.wire()),
            None => self.payload(family),
        }
    }

    /// Why the datagrams do not fit an `mtu`-byte path over `family`, if they do not.
    pub fn misfit(self, family: Family, mtu: u32) -> Option<String> {
        let (largest, overhead) = (self.max_payload(family), family.wire().ip_overhead());
        (largest + overhead > mtu as usize).then(|| {
            format!(
                "the set-up's MTU {mtu} carries at most {} B of UDP payload over {}: {largest} B ({} B frames) does not fit",
                (mtu as usize).saturating_sub(overhead),
                family.wire(),
                largest + frame_overhead_with_fcs(family)
            )
        })
    }

    /// The size mix the sender follows, if any.
    pub fn mix(self) -> Option<SizeMix> {
        (self == SizeSpec::Imix).then(SizeMix::imix)
    }

    /// The rows' `size_mix`: `imix`, or empty for one size.
    pub fn mix_label(self) -> String {
        self.mix().map(|m| m.to_string()).unwrap_or_default()
    }
}

/// The `--size` list: UDP payload bytes, `rfc2544` for RFC 2544's seven frame sizes, or
/// `imix`.
pub fn parse_sizes(words: &[String]) -> Result<Vec<SizeSpec>, String> {
    let mut sizes = Vec::new();
    for w in words {
        if w == "rfc2544" {
            sizes.extend(RFC2544_FRAMES.iter().map(|&f| SizeSpec::Frame(f)));
            continue;
        }
        if w == "imix" {
            sizes.push(SizeSpec::Imix);
            continue;
        }
        let n: usize = w
            .parse()
            .map_err(|_| format!("size {w:?} is not a number of bytes, rfc2544 or imix"))?;
        if n < crate::wire::PROBE_LEN {
            return Err(format!(
                "size {n} B is below the {} B probe every frame carries",
                crate::wire::PROBE_LEN
            ));
        }
        sizes.push(SizeSpec::Payload(n));
    }
    if sizes.is_empty() {
        return Err("no size".into());
    }
    Ok(sizes)
}

/// A `--max-rate` in packets per second (`250kpps`, `1Mpps`, `30000pps`).
pub fn parse_pps(text: &str) -> Result<u64, String> {
    match text.parse::<Rate>() {
        Ok(Rate::MilliPacketsPerSecond(m)) if m >= 2000 => Ok(m / 1000),
        Ok(Rate::MilliPacketsPerSecond(_)) => Err(format!("--max-rate {text} is below 2 pps")),
        Ok(_) => Err(format!(
            "--max-rate {text}: give packets per second (250kpps): the search's loads are packet rates"
        )),
        Err(e) => Err(format!("--max-rate {text}: {e}")),
    }
}

/// What to search.
#[derive(Debug)]
pub struct SearchPlan {
    /// Set-ups, in order.
    pub setups: Vec<String>,
    /// Apps, searched one after another at each size.
    pub apps: Vec<App>,
    /// Sizes: UDP payloads or RFC 2544 frames.
    pub sizes: Vec<SizeSpec>,
    /// The IP versions searched, each cell over each in turn.
    pub families: Families,
    /// The goals, strictest first.
    pub goals: Vec<Goal>,
    /// The preset's name (or `custom`), recorded in every row.
    pub preset: String,
    /// Searches per set-up x app x size.
    pub repetitions: u32,
    /// The maximum load, pps; `None`: the generator's ceiling, calibrated per search.
    pub max_load: Option<u64>,
    /// Packets of the calibration run.
    pub calibration_count: u64,
    /// The minimum load as a fraction of the maximum.
    pub min_load_fraction: f64,
    /// Trials per search before it stops unfinished.
    pub max_trials: usize,
    /// Seconds between trials.
    pub settle_s: f64,
    /// Loads of the latency trials after a search, as fractions of the laxest goal's lower
    /// bound (the PDR's; the NDR's under `rfc2544`); empty: none.
    pub latency_at: Vec<f64>,
    /// Seconds of each latency and loss-curve trial; `None`: the laxest goal's final trial
    /// duration.
    pub phase_trial_s: Option<f64>,
    /// Each latency trial again with the receiver busy polling this many microseconds, for
    /// the apps whose receiver can (xdp); `None`: not.
    pub busy_poll_us: Option<u32>,
    /// After a search, the frame loss rate curve: loads from the maximum down in 10 % steps
    /// until two trials in a row lose nothing.
    pub loss_curve: bool,
    /// Receive-side fate for mmap runs.
    pub fate: Fate,
    /// The receiver's idle timeout (the drain after a lossy trial), seconds.
    pub idle_timeout_s: f64,
    /// Where the results go.
    pub out: PathBuf,
    /// `experiments/`.
    pub experiments: PathBuf,
    /// The engine's set-up scripts.
    pub setups_scripts: Setups,
    /// Where the tools are.
    pub bin_dir: PathBuf,
}

/// One goal's result of one search, as a CSV row. Column order is field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchRow {
    /// Schema version (2: `family` added).
    pub schema: u32,
    /// When the search ended (UTC).
    pub time: String,
    /// Set-up.
    pub setup: String,
    /// Engine.
    pub engine: Engine,
    /// What switched the frames.
    pub datapath: String,
    /// Receive-side fate.
    pub fate: Fate,
    /// App.
    pub app: App,
    /// UDP payload bytes.
    pub size: usize,
    /// Frame bytes on the wire, FCS included (`size + 46` over IPv4, `size + 66` over IPv6).
    pub frame_bytes: usize,
    /// Repetition, from 1.
    pub repetition: u32,
    /// Preset (`rfc2544`, `csit`, `quick`, `custom`).
    pub preset: String,
    /// Goal (`NDR`, `PDR`).
    pub goal: String,
    /// The goal's loss ratio.
    pub loss_ratio: f64,
    /// The goal's exceed ratio.
    pub exceed_ratio: f64,
    /// The goal's final trial duration, seconds.
    pub final_trial_s: f64,
    /// The goal's duration sum, seconds.
    pub duration_sum_s: f64,
    /// The goal's width (relative).
    pub width: f64,
    /// The maximum load searched: the calibrated generator ceiling or the one given, pps.
    pub max_load_pps: Option<u64>,
    /// The relevant lower bound, pps.
    pub lower_bound_pps: Option<u64>,
    /// The relevant upper bound, pps.
    pub upper_bound_pps: Option<u64>,
    /// The conditional throughput at the lower bound, pps.
    pub conditional_pps: Option<f64>,
    /// The lower bound in Gbit/s of frames (FCS included).
    pub lower_bound_l2_gbps: Option<f64>,
    /// The lower bound in Gbit/s on the line (20 more bytes per frame).
    pub lower_bound_l1_gbps: Option<f64>,
    /// The lower bound as a fraction of the maximum load.
    pub of_max_load: Option<f64>,
    /// False when the path passed a load above one it failed.
    pub regular: bool,
    /// `found`, `at-max-load`, `lossy-at-min-load` or `unfinished`.
    pub outcome: String,
    /// What limits the result: `generator` (the maximum load passed, or the sender fell short
    /// at the upper bound) or `path`.
    pub limited_by: String,
    /// Trials in this search (all goals share them).
    pub trials: usize,
    /// Seconds of trials in this search.
    pub trial_s: f64,
    /// `ok`, `partial` (interrupted or out of trials: the bounds so far), `failed`.
    pub status: Status,
    /// Why, when not ok.
    pub reason: String,
    /// Kernel release.
    pub kernel: String,
    /// CPU model.
    pub cpu_model: String,
    /// Git commit of the tools.
    pub git_commit: String,
    /// The IP version of the test traffic (`ipv4`, `ipv6`). Schema 2.
    pub family: Family,
    /// The size mix (`imix`) whose mean `size` and `frame_bytes` are; empty for one size.
    /// Schema 3.
    #[serde(default)]
    pub size_mix: String,
}

/// One trial, as a CSV row: every intended frame accounted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialRow {
    /// Schema version (2: `switch_drops` added; 3: `link_drops` and `family`).
    pub schema: u32,
    /// When the trial ended (UTC).
    pub time: String,
    /// Set-up.
    pub setup: String,
    /// App.
    pub app: App,
    /// UDP payload bytes.
    pub size: usize,
    /// Repetition of the search.
    pub repetition: u32,
    /// `calibration` (unpaced without a load, then paced), `search`, `latency` or
    /// `loss-curve`.
    pub phase: String,
    /// Offered load, pps (none for the unpaced calibration).
    pub load_pps: Option<u64>,
    /// Planned seconds.
    pub duration_s: f64,
    /// Frames intended.
    pub count: u64,
    /// Frames the sender sent.
    pub sent: Option<u64>,
    /// Distinct test frames received.
    pub unique: Option<u64>,
    /// Drops the kernel counted at the receiver.
    pub kernel_drops: Option<u64>,
    /// Drops the software switch between the sides counted itself (Open vSwitch). Schema 2.
    pub switch_drops: Option<u64>,
    /// Drops the interfaces on the path counted at transmit (see the runner's `link_drops`).
    /// Schema 3.
    pub link_drops: Option<u64>,
    /// The rate the sender offered: frames sent over the time it spent sending.
    pub offered_pps: Option<f64>,
    /// The trial's loss ratio (frames never sent in time included).
    pub loss_ratio: Option<f64>,
    /// The sender fell short of the load.
    pub generator_short: bool,
    /// How the run ended.
    pub status: Status,
    /// Why, when not ok.
    pub reason: String,
    /// The IP version of the test traffic. Schema 3.
    pub family: Family,
    /// A `latency` trial: the goal whose lower bound its load is a fraction of. Schema 4.
    pub goal: String,
    /// A `latency` trial's load as a fraction of that goal's lower bound; a `loss-curve`
    /// trial's as a fraction of the maximum load. Schema 4.
    pub fraction: Option<f64>,
    /// Probes whose one-way latency was recorded (probe send time to the receiver's
    /// timestamp: the kernel's for mmap and udp, user space's for xdp); none when the sender
    /// and receiver ran on different nodes (two clocks). Schema 4.
    pub latency_samples: Option<u64>,
    /// Minimum one-way latency, ns. Schema 4.
    pub latency_min_ns: Option<u64>,
    /// Median one-way latency, ns. Schema 4.
    pub latency_p50_ns: Option<u64>,
    /// 90th percentile, ns. Schema 4.
    pub latency_p90_ns: Option<u64>,
    /// 99th percentile, ns. Schema 4.
    pub latency_p99_ns: Option<u64>,
    /// 99.9th percentile, ns. Schema 4.
    pub latency_p99_9_ns: Option<u64>,
    /// Maximum, ns. Schema 4.
    pub latency_max_ns: Option<u64>,
    /// The size mix (`imix`) whose mean `size` is; empty for one size. Schema 5.
    #[serde(default)]
    pub size_mix: String,
    /// A latency trial whose receiver busy polled (`--busy-poll`): its `SO_BUSY_POLL`
    /// microseconds; empty otherwise. Schema 5.
    #[serde(default)]
    pub busy_poll_us: Option<u32>,
}

/// What a whole search run produced.
#[derive(Debug)]
pub struct SearchOutcome {
    /// Every result row written.
    pub rows: Vec<SearchRow>,
    /// The results file.
    pub csv: PathBuf,
    /// True if the user stopped it.
    pub interrupted: bool,
}

/// One search's fixed context.
struct Cell<'a> {
    plan: &'a SearchPlan,
    env: &'a SetupEnv,
    setup: &'a str,
    app: App,
    size: usize,
    /// The size as asked for (the mix's, for `imix`).
    spec: SizeSpec,
    family: Family,
    repetition: u32,
    stop: &'a AtomicBool,
}

impl Cell<'_> {
    /// Runs `count` frames at `rate`; the row of the trial and, if it measured, its loss.
    fn measure(
        &self,
        phase: &str,
        load: Option<u64>,
        duration_s: f64,
        count: u64,
    ) -> (TrialRow, Result<trial::TrialLoss, String>) {
        self.measure_with(phase, load, duration_s, count, None)
    }

    /// [`Cell::measure`], the receiver busy polling for `busy_poll_us` where it can.
    fn measure_with(
        &self,
        phase: &str,
        load: Option<u64>,
        duration_s: f64,
        count: u64,
        busy_poll_us: Option<u32>,
    ) -> (TrialRow, Result<trial::TrialLoss, String>) {
        let rate = match load {
            Some(pps) => Rate::MilliPacketsPerSecond(pps * 1000),
            None => Rate::Max,
        };
        let point = Point {
            scenario: "search".into(),
            param: Param::Rate,
            value: rate.to_string(),
            count,
            size: self.size,
            size_mix: self.spec.mix(),
            rate,
            flows: 1,
        };
        let run = run_point(
            &RunConfig {
                env: self.env,
                bin_dir: &self.plan.bin_dir,
                app: self.app,
                point: &point,
                family: self.family,
                fate: self.plan.fate,
                tx_cpu: 0,
                rx_cpu: 1,
                idle_timeout_s: self.plan.idle_timeout_s,
                interval_s: None,
                reflect_every: None,
                busy_poll_us,
                stop: self.stop,
            },
            &mut |_| {},
        );
        let loss = trial::account(count, load, &run);
        // One-way latency needs one clock: sender and receiver on one host.
        let latency = run
            .rx
            .as_ref()
            .map(|r| &r.counts.latency)
            .filter(|_| self.env.tx_node == self.env.rx_node);
        let row = TrialRow {
            schema: 5,
            size_mix: self.spec.mix_label(),
            busy_poll_us,
            time: utc_now(),
            setup: self.setup.to_string(),
            app: self.app,
            size: self.size,
            repetition: self.repetition,
            phase: phase.to_string(),
            load_pps: load,
            duration_s,
            count,
            sent: run.tx.as_ref().map(|t| t.sent),
            unique: run.rx.as_ref().map(|r| r.counts.unique),
            kernel_drops: run.rx.as_ref().map(|r| r.kernel_drops + r.backlog_drops),
            switch_drops: run.switch_drops,
            link_drops: run.link_drops,
            offered_pps: run.tx.as_ref().map(trial::offered_pps),
            loss_ratio: loss.as_ref().ok().map(|l| l.loss_ratio),
            generator_short: loss.as_ref().is_ok_and(|l| l.generator_short),
            status: run.status,
            reason: run.reason.clone(),
            family: self.family,
            goal: String::new(),
            fraction: None,
            latency_samples: latency.map(|l| l.samples),
            latency_min_ns: latency.and_then(|l| l.min_ns),
            latency_p50_ns: latency.and_then(|l| l.p50_ns),
            latency_p90_ns: latency.and_then(|l| l.p90_ns),
            latency_p99_ns: latency.and_then(|l| l.p99_ns),
            latency_p99_9_ns: latency.and_then(|l| l.p99_9_ns),
            latency_max_ns: latency.and_then(|l| l.max_ns),
        };
        (row, loss)
    }
}

/// How one search ended.
struct Searched {
    max_load: Option<u64>,
    search: Option<Search>,
    short_at: Vec<u64>,
    status: Status,
    reason: String,
}

/// Calibrates and searches one cell, writing each trial as it ends.
fn search_cell(cell: &Cell<'_>, trials_csv: &mut ResultsFile) -> Result<Searched, Error> {
    let plan = cell.plan;
    let mut done = Searched {
        max_load: plan.max_load,
        search: None,
        short_at: Vec::new(),
        status: Status::Ok,
        reason: String::new(),
    };
    let max_load = match plan.max_load {
        Some(l) => l,
        None => match calibrate(cell, trials_csv)? {
            Ok(l) => l,
            Err((status, reason)) => {
                done.status = status;
                done.reason = reason;
                return Ok(done);
            }
        },
    };
    done.max_load = Some(max_load);
    let min_load = ((max_load as f64 * plan.min_load_fraction).floor() as u64).max(1);
    let mut search = Search::new(plan.goals.clone(), min_load, max_load)
        .map_err(|e| Error::Request(format!("search: {e}")))?;
    let mut failures = 0;
    while let Some((load, duration_s)) = search.next() {
        if cell.stop.load(Ordering::Relaxed) {
            done.status = Status::Partial;
            done.reason = "interrupted: the bounds found so far".into();
            break;
        }
        if search.trials().len() >= plan.max_trials {
            done.status = Status::Partial;
            done.reason = format!(
                "stopped after {} trials (--max-trials): the bounds found so far",
                plan.max_trials
            );
            break;
        }
        let count = frames_of(load, duration_s);
        let (row, loss) = cell.measure("search", Some(load), duration_s, count);
        trials_csv.append(&row)?;
        match loss {
            Ok(l) => {
                failures = 0;
                if l.generator_short {
                    done.short_at.push(load);
                }
                search.record(Trial {
                    load,
                    duration_s,
                    loss_ratio: l.loss_ratio,
                });
            }
            Err(why) if cell.stop.load(Ordering::Relaxed) => {
                done.status = Status::Partial;
                done.reason = format!("interrupted: the bounds found so far ({why})");
                break;
            }
            Err(why) => {
                failures += 1;
                if failures >= 2 {
                    done.status = Status::Failed;
                    done.reason =
                        format!("two trials in a row failed, the last at {load} pps: {why}");
                    break;
                }
            }
        }
        if plan.settle_s > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(plan.settle_s));
        }
    }
    done.search = Some(search);
    Ok(done)
}

/// Paced calibration runs after the unpaced one, at most.
pub const PACED_CALIBRATIONS: usize = 3;

/// The maximum load of a cell: the generator's ceiling on the path. One unpaced run of the
/// calibration count gives the fastest the sender offers; then paced runs of the same count,
/// the first at that rate, each next at the rate the last one sustained, until the sender
/// keeps up within [`trial::GENERATOR_TOLERANCE`] (at most [`PACED_CALIBRATIONS`]): a paced
/// sender sustains less than an unpaced one where it shares its core with the receive path
/// (veth), and the search's loads are paced. Every run is a `calibration` trial row. `Err`:
/// the status and reason the cell ends with.
fn calibrate(
    cell: &Cell<'_>,
    trials_csv: &mut ResultsFile,
) -> Result<Result<u64, (Status, String)>, Error> {
    let plan = cell.plan;
    let failed = |why: String| -> Result<Result<u64, (Status, String)>, Error> {
        let status = if cell.stop.load(Ordering::Relaxed) {
            Status::Partial
        } else {
            Status::Failed
        };
        Ok(Err((status, format!("calibration: {why}"))))
    };
    let (row, loss) = cell.measure("calibration", None, 0.0, plan.calibration_count);
    trials_csv.append(&row)?;
    let mut load = match (loss, row.offered_pps) {
        (Ok(_), Some(pps)) if pps >= 2.0 => pps.floor() as u64,
        (Err(why), _) => return failed(why),
        _ => return failed("the sender reported no rate".into()),
    };
    for _ in 0..PACED_CALIBRATIONS {
        let duration_s = plan.calibration_count as f64 / load as f64;
        let (row, loss) = cell.measure(
            "calibration",
            Some(load),
            duration_s,
            plan.calibration_count,
        );
        trials_csv.append(&row)?;
        match loss {
            Ok(l) if !l.generator_short => return Ok(Ok(load)),
            // What it sustained, the next run's load (never above this one's).
            Ok(l) => load = (l.offered_pps.floor() as u64).clamp(1, load),
            Err(why) => return failed(why),
        }
    }
    Ok(Ok(load))
}

/// The frames a trial of `duration_s` seconds at `load` pps sends (at least one).
fn frames_of(load: u64, duration_s: f64) -> u64 {
    ((load as f64 * duration_s).round() as u64).max(1)
}

/// How far below the maximum load the loss-rate curve steps (RFC 2544 26.3: at most 10 %).
pub const LOSS_CURVE_STEP: f64 = 0.1;

/// The phases after a cell's search, each trial appended as it ends and returned for the
/// table: latency at fractions of the laxest goal's lower bound (RFC 2544 26.2, at the
/// fractions the containerized-infrastructure draft asks for), then the frame loss rate curve
/// (RFC 2544 26.3). Neither runs after a search that did not end `ok`.
fn after_search(
    cell: &Cell<'_>,
    s: &Searched,
    trials_csv: &mut ResultsFile,
) -> Result<Vec<TrialRow>, Error> {
    let plan = cell.plan;
    let mut rows = Vec::new();
    let Some(goal) = plan.goals.last() else {
        return Ok(rows);
    };
    if s.status != Status::Ok {
        return Ok(rows);
    }
    let duration_s = plan.phase_trial_s.unwrap_or(goal.final_trial_s);
    let stopped = || cell.stop.load(Ordering::Relaxed);
    let busy_poll = plan
        .busy_poll_us
        .filter(|_| cell.app.spec().receiver.busy_polls());
    let mut trial = |phase: &str,
                     load: u64,
                     fraction: f64,
                     busy_poll_us: Option<u32>|
     -> Result<TrialRow, Error> {
        let count = frames_of(load, duration_s);
        let (mut row, _) = cell.measure_with(phase, Some(load), duration_s, count, busy_poll_us);
        if phase == "latency" {
            row.goal = goal.name.clone();
        }
        row.fraction = Some(fraction);
        trials_csv.append(&row)?;
        if plan.settle_s > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(plan.settle_s));
        }
        Ok(row)
    };
    let bound = s
        .search
        .as_ref()
        .and_then(|x| x.results().last().and_then(|r| r.lower));
    if let Some(bound) = bound {
        for &f in &plan.latency_at {
            if stopped() {
                return Ok(rows);
            }
            let load = ((bound as f64 * f).round() as u64).max(1);
            rows.push(trial("latency", load, f, None)?);
            if busy_poll.is_some() && !stopped() {
                rows.push(trial("latency", load, f, busy_poll)?);
            }
        }
    }
    if let (true, Some(max)) = (plan.loss_curve, s.max_load) {
        let mut clean = 0;
        let steps = (1.0 / LOSS_CURVE_STEP).round() as u32;
        for step in (1..=steps).rev() {
            if stopped() {
                break;
            }
            let f = f64::from(step) * LOSS_CURVE_STEP;
            let row = trial(
                "loss-curve",
                ((max as f64 * f).round() as u64).max(1),
                f,
                None,
            )?;
            // A trial that measured nothing (a tool failed) is not one without loss.
            clean = if row.loss_ratio == Some(0.0) {
                clean + 1
            } else {
                0
            };
            rows.push(row);
            if clean == 2 {
                break;
            }
        }
    }
    Ok(rows)
}

/// The rows of one cell's search, a row per goal.
fn result_rows(cell: &Cell<'_>, base: &SearchRow, s: &Searched) -> Vec<SearchRow> {
    let results: Vec<Option<GoalResult>> = match &s.search {
        Some(search) => search.results().into_iter().map(Some).collect(),
        None => cell.plan.goals.iter().map(|_| None).collect(),
    };
    let (trials, trial_s) = s.search.as_ref().map_or((0, 0.0), |x| {
        (
            x.trials().len(),
            x.trials().iter().map(|t| t.duration_s).sum(),
        )
    });
    let frame_bytes = cell.size + frame_overhead_with_fcs(cell.family);
    cell.plan
        .goals
        .iter()
        .zip(results)
        .map(|(g, r)| {
            let mut row = SearchRow {
                time: utc_now(),
                family: cell.family,
                app: cell.app,
                size: cell.size,
                frame_bytes,
                repetition: cell.repetition,
                goal: g.name.clone(),
                loss_ratio: g.loss_ratio,
                exceed_ratio: g.exceed_ratio,
                final_trial_s: g.final_trial_s,
                duration_sum_s: g.duration_sum_s,
                width: g.width,
                max_load_pps: s.max_load,
                trials,
                trial_s,
                status: s.status,
                reason: s.reason.clone(),
                ..base.clone()
            };
            if let Some(r) = r {
                let gbps = |pps: u64, bytes: usize| pps as f64 * bytes as f64 * 8.0 / 1e9;
                row.lower_bound_pps = r.lower;
                row.upper_bound_pps = r.upper;
                row.conditional_pps = r.conditional_pps;
                row.lower_bound_l2_gbps = r.lower.map(|l| gbps(l, frame_bytes));
                row.lower_bound_l1_gbps = r.lower.map(|l| gbps(l, frame_bytes + L1_OVERHEAD));
                row.of_max_load = r.lower.zip(s.max_load).map(|(l, m)| l as f64 / m as f64);
                row.regular = r.regular;
                row.outcome = r.outcome.as_str().to_string();
                let short_at_upper = r.upper.is_some_and(|u| s.short_at.contains(&u));
                row.limited_by = match r.outcome {
                    Outcome::AtMaxLoad => "generator".into(),
                    Outcome::Found if short_at_upper => "generator".into(),
                    Outcome::Found | Outcome::LossyAtMinLoad => "path".into(),
                    Outcome::Unfinished => String::new(),
                };
                if r.outcome == Outcome::Unfinished && row.status == Status::Ok {
                    row.status = Status::Partial;
                }
            }
            row
        })
        .collect()
}

/// Runs the plan: every set-up x app x size x repetition searched, rows appended as they end.
pub fn execute(plan: &SearchPlan, stop: &AtomicBool) -> Result<SearchOutcome, Error> {
    goal::check(&plan.goals).map_err(|e| Error::Request(format!("search goals: {e}")))?;
    let mut csv = ResultsFile::open_with(&plan.out, SEARCH_CSV, &header_of::<SearchRow>())?;
    let mut trials_csv = ResultsFile::open_with(&plan.out, TRIALS_CSV, &header_of::<TrialRow>())?;
    let machine = Machine::probe(&plan.experiments);
    let mut conditions = Conditions::of_machine(&machine, 0, 1);
    let mut rows = Vec::new();
    let mut phase_trials = Vec::new();
    'setups: for name in &plan.setups {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let _ = plan.setups_scripts.down(name);
        let outcome = plan.setups_scripts.up(name)?;
        let _guard = crate::experiment::run::SetupGuard::new(&plan.setups_scripts, name);
        let base = SearchRow {
            schema: 3,
            setup: name.clone(),
            engine: plan.setups_scripts.engine(),
            preset: plan.preset.clone(),
            kernel: machine.kernel.clone(),
            cpu_model: machine.cpu_model.clone(),
            git_commit: machine.git_commit.clone(),
            ..SearchRow::default()
        };
        let env = match outcome.into_env() {
            Ok(env) => env,
            Err((status, reason)) => {
                eprintln!("{name}: {status}: {reason}");
                let row = SearchRow {
                    time: utc_now(),
                    status,
                    reason,
                    ..base
                };
                csv.append(&row)?;
                rows.push(row);
                continue;
            }
        };
        conditions.add_setup(&env, plan.setups_scripts.engine().as_str());
        conditions.write(&plan.out)?;
        // The sending interface's MTU, where it could be read.
        let tx_mtu = conditions.setups.last().and_then(|s| {
            s.interfaces
                .iter()
                .find(|i| i.side == "tx")
                .and_then(|i| i.mtu)
        });
        for &spec in &plan.sizes {
            for repetition in 1..=plan.repetitions {
                for &family in plan.families.list() {
                    let size = spec.payload(family);
                    for &app in &plan.apps {
                        if stop.load(Ordering::Relaxed) {
                            break 'setups;
                        }
                        let cell = Cell {
                            plan,
                            env: &env,
                            setup: name,
                            app,
                            size,
                            spec,
                            family,
                            repetition,
                            stop,
                        };
                        let base = SearchRow {
                            datapath: env.datapath.clone(),
                            fate: plan.fate.for_app(app),
                            family,
                            size_mix: spec.mix_label(),
                            ..base.clone()
                        };
                        // A family the set-up has no addresses of, or a size its MTU cannot
                        // carry: a skipped row saying so.
                        let misfit = tx_mtu.and_then(|mtu| spec.misfit(family, mtu));
                        if let Some(why) = env.addresses(family).err().or(misfit) {
                            let row = SearchRow {
                                time: utc_now(),
                                app,
                                size,
                                frame_bytes: size + frame_overhead_with_fcs(family),
                                repetition,
                                status: Status::Skipped,
                                reason: why,
                                ..base
                            };
                            eprintln!("{}", summary_line(&row));
                            csv.append(&row)?;
                            rows.push(row);
                            continue;
                        }
                        let searched = search_cell(&cell, &mut trials_csv)?;
                        for row in result_rows(&cell, &base, &searched) {
                            eprintln!("{}", summary_line(&row));
                            csv.append(&row)?;
                            rows.push(row);
                        }
                        for t in after_search(&cell, &searched, &mut trials_csv)? {
                            eprintln!("{}", trial_line(&t));
                            phase_trials.push(t);
                        }
                    }
                }
            }
        }
    }
    let md = plan.out.join("search.md");
    std::fs::write(&md, table(&rows, &phase_trials)).map_err(Error::io("write", &md))?;
    Ok(SearchOutcome {
        rows,
        csv: csv.path().to_path_buf(),
        interrupted: stop.load(Ordering::Relaxed),
    })
}

/// The results as a Markdown table per set-up and family: a row per app x size x repetition
/// with each goal's bounds, what limits them and how many trials they took; then, from
/// `trials`, the latency at fractions of the bound and the loss-rate curve where they ran.
pub fn table(rows: &[SearchRow], trials: &[TrialRow]) -> String {
    let mut out = String::new();
    let mut setups: Vec<(&str, Family)> =
        rows.iter().map(|r| (r.setup.as_str(), r.family)).collect();
    setups.sort_by_key(|(s, f)| (rows.iter().position(|r| r.setup == *s), *f));
    setups.dedup();
    let goals: Vec<&str> = {
        let mut g: Vec<&str> = rows
            .iter()
            .filter(|r| !r.goal.is_empty())
            .map(|r| r.goal.as_str())
            .collect();
        g.dedup();
        g.sort_unstable();
        g.dedup();
        g
    };
    let kpps = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{:.1}", v as f64 / 1e3));
    for (setup, family) in setups {
        let mine: Vec<&SearchRow> = rows
            .iter()
            .filter(|r| r.setup == setup && r.family == family)
            .collect();
        let first = mine[0];
        out.push_str(&format!(
            "### {} ({}, {} engine), preset {}\n\n",
            setup_label(setup, family),
            first.datapath,
            first.engine,
            first.preset
        ));
        out.push_str("| app | frame B | # | max load kpps |");
        for g in &goals {
            out.push_str(&format!(
                " {g} kpps (lower-upper) | {g} L1 Gbit/s | {g} limited by |"
            ));
        }
        out.push_str(" trials | status |\n|---|---|---|---|");
        out.push_str(&"---|---|---|".repeat(goals.len()));
        out.push_str("---|---|\n");
        let mut cells: Vec<(App, usize, u32)> = mine
            .iter()
            .filter(|r| !r.goal.is_empty())
            .map(|r| (r.app, r.size, r.repetition))
            .collect();
        cells.dedup();
        for (app, size, rep) in cells {
            let of = |g: &str| {
                mine.iter()
                    .find(|r| (r.app, r.size, r.repetition) == (app, size, rep) && r.goal == g)
            };
            let any = goals.iter().find_map(|g| of(g)).expect("a row of the cell");
            out.push_str(&format!(
                "| {} | {} | {rep} | {} |",
                app.as_str(),
                frame_text(any.frame_bytes, &any.size_mix),
                kpps(any.max_load_pps)
            ));
            for g in &goals {
                match of(g) {
                    Some(r) => out.push_str(&format!(
                        " {}-{}{} | {} | {} |",
                        kpps(r.lower_bound_pps),
                        kpps(r.upper_bound_pps),
                        if r.regular { "" } else { " (irregular)" },
                        r.lower_bound_l1_gbps
                            .map_or("-".into(), |v| format!("{v:.3}")),
                        if r.limited_by.is_empty() {
                            &r.outcome
                        } else {
                            &r.limited_by
                        }
                    )),
                    None => out.push_str(" - | - | - |"),
                }
            }
            out.push_str(&format!(" {} | {} |\n", any.trials, any.status));
        }
        let failed: Vec<&&SearchRow> = mine.iter().filter(|r| r.goal.is_empty()).collect();
        for r in failed {
            out.push_str(&format!("\n{}: {}\n", r.status, r.reason));
        }
        let mine: Vec<&TrialRow> = trials
            .iter()
            .filter(|t| t.setup == setup && t.family == family)
            .collect();
        out.push_str(&latency_table(&mine));
        out.push_str(&loss_curve_table(&mine));
        out.push('\n');
    }
    out
}

/// A frame size as the tables show it: its bytes, or `imix (mean 357)` for a size mix's mean.
pub fn frame_text(frame_bytes: usize, size_mix: &str) -> String {
    if size_mix.is_empty() {
        frame_bytes.to_string()
    } else {
        format!("{size_mix} (mean {frame_bytes})")
    }
}

/// A payload size as a line shows it: `64 B`, or `imix 311 B` for a size mix's mean.
fn size_text(size: usize, size_mix: &str) -> String {
    if size_mix.is_empty() {
        format!("{size} B")
    } else {
        format!("{size_mix} {size} B")
    }
}

/// Microseconds with one decimal, or `-`.
fn us(ns: Option<u64>) -> String {
    ns.map_or("-".into(), |v| format!("{:.1}", v as f64 / 1e3))
}

/// The latency trials of one set-up and family as a Markdown table (empty without any).
fn latency_table(trials: &[&TrialRow]) -> String {
    let rows: Vec<&&TrialRow> = trials.iter().filter(|t| t.phase == "latency").collect();
    let Some(first) = rows.first() else {
        return String::new();
    };
    let mut out = format!(
        "\nOne-way latency at fractions of the {} lower bound, µs (probe send time to the \
         receiver's timestamp; PDV is p99 - min, RFC 5481):\n\n\
         | app | frame B | # | of {} | busy poll µs | load kpps | loss % | min | p50 | p90 | p99 | p99.9 | max | PDV p99 | status |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        first.goal, first.goal
    );
    for t in rows {
        let pdv = t.latency_p99_ns.zip(t.latency_min_ns).map(|(p, m)| p - m);
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} % | {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            t.app.as_str(),
            frame_text(t.size + frame_overhead_with_fcs(t.family), &t.size_mix),
            t.repetition,
            t.fraction.unwrap_or(0.0) * 100.0,
            t.busy_poll_us.map_or("-".into(), |v| v.to_string()),
            t.load_pps.unwrap_or(0) as f64 / 1e3,
            percent(t.loss_ratio),
            us(t.latency_min_ns),
            us(t.latency_p50_ns),
            us(t.latency_p90_ns),
            us(t.latency_p99_ns),
            us(t.latency_p99_9_ns),
            us(t.latency_max_ns),
            us(pdv),
            status_cell(t),
        ));
    }
    out
}

/// The share of what the sender sent that did not arrive (the path's loss, without the
/// sender's shortfall), or `None` when the trial did not say.
pub fn path_loss(t: &TrialRow) -> Option<f64> {
    let (sent, unique) = (t.sent?, t.unique?);
    (sent > 0).then(|| 1.0 - unique.min(sent) as f64 / sent as f64)
}

/// A loss ratio in percent with three decimals, or `-`.
fn percent(ratio: Option<f64>) -> String {
    ratio.map_or("-".into(), |r| format!("{:.3}", r * 100.0))
}

/// `ok`, or the status with its reason.
fn status_cell(t: &TrialRow) -> String {
    if t.status == Status::Ok {
        "ok".into()
    } else {
        format!("{}: {}", t.status, t.reason.replace('|', "/"))
    }
}

/// The loss-curve trials of one set-up and family as a Markdown table (empty without any).
fn loss_curve_table(trials: &[&TrialRow]) -> String {
    let rows: Vec<&&TrialRow> = trials.iter().filter(|t| t.phase == "loss-curve").collect();
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nFrame loss rate (RFC 2544 26.3; frames not sent in time count as lost; path loss % \
         is what the path lost of what was sent, so a loss with no path loss is the \
         sender's shortfall):\n\n\
         | app | frame B | # | of max load | load kpps | offered kpps | loss % | path loss % | status |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for t in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} % | {:.1} | {} | {} | {} | {} |\n",
            t.app.as_str(),
            frame_text(t.size + frame_overhead_with_fcs(t.family), &t.size_mix),
            t.repetition,
            t.fraction.unwrap_or(0.0) * 100.0,
            t.load_pps.unwrap_or(0) as f64 / 1e3,
            t.offered_pps
                .map_or("-".into(), |v| format!("{:.1}", v / 1e3)),
            percent(t.loss_ratio),
            percent(path_loss(t)),
            status_cell(t),
        ));
    }
    out
}

/// One latency or loss-curve trial on one line.
pub fn trial_line(t: &TrialRow) -> String {
    format!(
        "{:<9} {:<4} {:<9} {:>7} #{} {:<10} {:>4.0} % of {:<8} load {:>9} pps loss {} % latency us p50 {} p99 {}{}{}",
        t.setup,
        t.family,
        t.app.as_str(),
        size_text(t.size, &t.size_mix),
        t.repetition,
        t.phase,
        t.fraction.unwrap_or(0.0) * 100.0,
        if t.goal.is_empty() { "max load" } else { &t.goal },
        t.load_pps.unwrap_or(0),
        percent(t.loss_ratio),
        us(t.latency_p50_ns),
        us(t.latency_p99_ns),
        t.busy_poll_us
            .map_or(String::new(), |v| format!(" (busy poll {v} us)")),
        if t.status == Status::Ok {
            String::new()
        } else {
            format!(" [{}: {}]", t.status, t.reason)
        }
    )
}

/// One result on one line.
pub fn summary_line(r: &SearchRow) -> String {
    let pps = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
    format!(
        "{:<9} {:<4} {:<9} {:>7} #{} {:<3} lower {:>9} upper {:>9} pps of max {:>9}  {} {}{}{}",
        r.setup,
        r.family,
        r.app.as_str(),
        size_text(r.size, &r.size_mix),
        r.repetition,
        r.goal,
        pps(r.lower_bound_pps),
        pps(r.upper_bound_pps),
        pps(r.max_load_pps),
        r.outcome,
        r.limited_by,
        if r.regular || r.outcome.is_empty() {
            ""
        } else {
            " IRREGULAR"
        },
        if r.status == Status::Ok {
            String::new()
        } else {
            format!(" [{}: {}]", r.status, r.reason)
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2544_frame_sizes_carry_the_payload_that_fills_them() {
        let payloads = |family| -> Vec<usize> {
            RFC2544_FRAMES
                .iter()
                .map(|&f| payload_of_frame(f, family))
                .collect()
        };
        // 64-byte frames cannot hold the probe: the smallest frame that can (70 B) goes out.
        assert_eq!(payloads(Family::V4), [24, 82, 210, 466, 978, 1234, 1472]);
        // Over IPv6 the same frames carry 20 bytes less (the 64-byte one goes out as 90 B).
        assert_eq!(payloads(Family::V6), [24, 62, 190, 446, 958, 1214, 1452]);
        assert_eq!(
            (
                frame_overhead_with_fcs(Family::V4),
                frame_overhead_with_fcs(Family::V6)
            ),
            (46, 66)
        );
        // The largest is a full 1500-byte MTU datagram either way.
        assert_eq!(payload_of_frame(1518, Family::V4), 1500 - 28);
        assert_eq!(payload_of_frame(1518, Family::V6), 1500 - 48);
        let sizes = parse_sizes(&["64".into(), "rfc2544".into()]).unwrap();
        assert_eq!(sizes.len(), 8);
        assert_eq!(sizes[..2], [SizeSpec::Payload(64), SizeSpec::Frame(64)]);
        assert_eq!(
            sizes[0].payload(Family::V6),
            64,
            "a payload stays a payload"
        );
        let e = parse_sizes(&["10".into()]).unwrap_err();
        assert!(e.contains("below the 24 B probe"), "{e}");
        assert!(parse_sizes(&["big".into()])
            .unwrap_err()
            .contains("\"big\""));
    }

    #[test]
    fn imix_rows_carry_its_mean_and_the_gso_apps_refuse_it() {
        let sizes = parse_sizes(&["imix".into(), "rfc2544".into()]).unwrap();
        assert_eq!(sizes[0], SizeSpec::Imix);
        // The mean frame of 7 x 70 (the 64-byte frame holding the probe), 4 x 570 and
        // 1 x 1518 is 357.33 B over IPv4; over IPv6 7 x 90 + ... is 369 B.
        assert_eq!(SizeSpec::Imix.payload(Family::V4) + 46, 357);
        assert_eq!(SizeSpec::Imix.payload(Family::V6) + 66, 369);
        assert_eq!(SizeSpec::Imix.mix_label(), "imix");
        assert_eq!(SizeSpec::Frame(64).mix_label(), "");
        assert!(command::check_mix(&sizes, &[App::Mmap, App::Udp, App::Xdp]).is_ok());
        let e = command::check_mix(&sizes, &[App::Mmap, App::UdpGso]).unwrap_err();
        assert!(e.contains("GSO"), "{e}");
        // A payload whose frame is the IMIX's mean would share its rows' frame size.
        let e = command::check_mix(&parse_sizes(&["imix".into(), "311".into()]).unwrap(), &[])
            .unwrap_err();
        assert!(e.contains("311 B"), "{e}");
    }

    #[test]
    fn a_size_the_mtu_cannot_carry_is_named_with_the_payload_that_fits() {
        // The overlay's 1450: 1422 B of payload over IPv4, so the 1518-byte frame (and the
        // IMIX, which holds one) does not fit; 512 B frames do.
        assert_eq!(
            SizeSpec::Imix.misfit(Family::V4, 1450).as_deref(),
            Some("the set-up's MTU 1450 carries at most 1422 B of UDP payload over IPv4: 1472 B (1518 B frames) does not fit")
        );
        assert!(SizeSpec::Frame(1518).misfit(Family::V6, 1450).is_some());
        assert_eq!(SizeSpec::Frame(512).misfit(Family::V4, 1450), None);
        // A full 1500-byte MTU carries the 1518-byte frame over either family.
        assert_eq!(SizeSpec::Imix.misfit(Family::V6, 1500), None);
        assert!(SizeSpec::Payload(1473).misfit(Family::V4, 1500).is_some());
    }

    #[test]
    fn rows_written_before_size_mix_still_read() {
        let dir = std::env::temp_dir().join(format!("pktmmap-search-v2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let row = SearchRow {
            schema: 2,
            setup: "native".into(),
            app: App::Udp,
            size: 24,
            frame_bytes: 70,
            goal: "NDR".into(),
            lower_bound_pps: Some(1234),
            ..SearchRow::default()
        };
        // The schema-2 file: this version's header and row without the last column.
        let head = crate::experiment::rows::header_of::<SearchRow>();
        let mut w = csv::Writer::from_writer(Vec::new());
        w.serialize(&row).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let strip = |line: &str| line.rsplit_once(',').unwrap().0.to_string();
        let body: Vec<String> = text.lines().map(strip).collect();
        assert_eq!(body[0], strip(&head));
        std::fs::write(dir.join("search-v2.csv"), body.join("\n") + "\n").unwrap();
        let read: Vec<SearchRow> =
            crate::experiment::rows::read_csv_rows_before(&dir, SEARCH_CSV_V2, 1).unwrap();
        assert_eq!(read, vec![row]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn path_loss_is_what_was_sent_and_did_not_arrive() {
        let t = |sent, unique| TrialRow {
            sent,
            unique,
            ..TrialRow::default()
        };
        assert!((path_loss(&t(Some(100), Some(90))).unwrap() - 0.1).abs() < 1e-12);
        // Everything sent arrived: a trial's loss is then the sender's shortfall alone.
        assert_eq!(path_loss(&t(Some(100), Some(100))), Some(0.0));
        assert_eq!(path_loss(&t(Some(100), Some(150))), Some(0.0), "duplicates");
        assert_eq!(path_loss(&t(Some(0), Some(0))), None);
        assert_eq!(path_loss(&t(None, Some(5))), None);
        let mut curve = t(Some(100), Some(100));
        (curve.phase, curve.fraction, curve.loss_ratio, curve.status) =
            ("loss-curve".into(), Some(1.0), Some(0.2), Status::Ok);
        let md = loss_curve_table(&[&curve]);
        assert!(
            md.contains("| 100 % | 0.0 | - | 20.000 | 0.000 | ok |"),
            "{md}"
        );
    }

    #[test]
    fn the_table_has_a_row_per_cell_with_each_goals_bounds() {
        let row = |app, goal: &str, lower, upper, limited: &str| SearchRow {
            setup: "native".into(),
            datapath: "veth".into(),
            preset: "quick".into(),
            app,
            size: 64,
            frame_bytes: 110,
            repetition: 1,
            goal: goal.into(),
            max_load_pps: Some(900_000),
            lower_bound_pps: lower,
            upper_bound_pps: upper,
            lower_bound_l1_gbps: lower.map(|l| l as f64 * 130.0 * 8.0 / 1e9),
            regular: true,
            limited_by: limited.into(),
            trials: 9,
            ..SearchRow::default()
        };
        let rows = [
            row(App::Mmap, "NDR", Some(900_000), None, "generator"),
            row(App::Mmap, "PDR", Some(900_000), None, "generator"),
            row(App::Udp, "NDR", Some(500_000), Some(520_000), "path"),
            row(App::Udp, "PDR", Some(510_000), Some(520_000), "path"),
        ];
        let t = table(&rows, &[]);
        assert!(
            t.contains("### native (veth, netns engine), preset quick"),
            "{t}"
        );
        assert!(
            t.contains("| mmap | 110 | 1 | 900.0 | 900.0-- | 0.936 | generator | 900.0-- |"),
            "{t}"
        );
        assert!(
            t.contains("| udp | 110 | 1 | 900.0 | 500.0-520.0 | 0.520 | path | 510.0-520.0 |"),
            "{t}"
        );
        assert_eq!(
            t.matches("\n| mmap ").count() + t.matches("\n| udp ").count(),
            2
        );
        // IPv6 rows of the same set-up get a table of their own, after IPv4's.
        let mut both = rows.to_vec();
        both.extend(rows.iter().map(|r| SearchRow {
            family: Family::V6,
            frame_bytes: 130,
            ..r.clone()
        }));
        let t = table(&both, &[]);
        let (v4, v6) = (
            t.find("### native (veth, netns engine)").unwrap(),
            t.find("### native ipv6 (veth, netns engine)").unwrap(),
        );
        assert!(v4 < v6, "{t}");
        assert_eq!(t[v6..].matches("\n| mmap | 130 |").count(), 1, "{t}");
        assert_eq!(t[..v6].matches("\n| mmap | 110 |").count(), 1, "{t}");
    }
}
