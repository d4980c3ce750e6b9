//! `pktmmap search`: throughput as RFC 2544 and FD.io CSIT's MLRsearch (RFC 9971) measure it.
//! For each set-up x app x size x repetition, the generator's ceiling on the path is
//! calibrated (one unpaced run: the fastest the sender offers there), then trials at fixed
//! offered loads find, per goal, the highest load that loses at most the goal's loss ratio
//! (the NDR at 0 %, the PDR at 0.5 %) with its bounds ([`mlr`]). Every trial is a runner run
//! ([`crate::experiment::run::point`]): receiver ready first, then the sender paced at the
//! load; the receiver's idle timeout drains the path after it; a settle time follows. Frames
//! a sender failed to send in the trial's time count as lost ([`trial`]).
//!
//! Writes `search-v1.csv` (a row per set-up x app x size x repetition x goal) and
//! `search-trials-v2.csv` (every trial, every frame accounted) into the output directory.

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
use crate::experiment::plan::kinds::{App, Engine, Fate, Status};
use crate::experiment::plan::profile::{Param, Point};
use crate::experiment::rows::{header_of, utc_now, ResultsFile};
use crate::experiment::run::point::{run_point, RunConfig};
use crate::experiment::Error;
use crate::pace::Rate;
use goal::Goal;
use mlr::{GoalResult, Outcome, Search, Trial};

/// The search results' file stem.
pub const SEARCH_CSV: &str = "search-v1";
/// The trials' file stem.
pub const TRIALS_CSV: &str = "search-trials-v2";

/// Bytes a frame has on the wire beyond the UDP payload: Ethernet header 14, IPv4 20, UDP 8,
/// and the 4-byte FCS that no socket sees but RFC 2544's frame sizes include.
pub const FRAME_OVERHEAD_WITH_FCS: usize = 46;
/// Bytes each frame occupies on the line beyond the frame: preamble and start delimiter 8,
/// inter-frame gap 12 (L1 rates).
pub const L1_OVERHEAD: usize = 20;

/// RFC 2544's frame sizes (FCS included), as the UDP payload our frames carry; the 64-byte
/// frame cannot hold the 24-byte probe, so it is sent as the smallest frame that can (70 B).
pub const RFC2544_FRAMES: [usize; 7] = [64, 128, 256, 512, 1024, 1280, 1518];

/// The UDP payload of an RFC 2544 frame of `frame` bytes (FCS included), never below the
/// probe.
pub fn payload_of_frame(frame: usize) -> usize {
    frame
        .saturating_sub(FRAME_OVERHEAD_WITH_FCS)
        .max(crate::wire::PROBE_LEN)
}

/// The `--size` list: UDP payload bytes, or `rfc2544` for RFC 2544's seven frame sizes.
pub fn parse_sizes(words: &[String]) -> Result<Vec<usize>, String> {
    let mut sizes = Vec::new();
    for w in words {
        if w == "rfc2544" {
            sizes.extend(RFC2544_FRAMES.iter().map(|&f| payload_of_frame(f)));
            continue;
        }
        let n: usize = w
            .parse()
            .map_err(|_| format!("size {w:?} is not a number of bytes or rfc2544"))?;
        if n < crate::wire::PROBE_LEN {
            return Err(format!(
                "size {n} B is below the {} B probe every frame carries",
                crate::wire::PROBE_LEN
            ));
        }
        sizes.push(n);
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
    /// UDP payload sizes.
    pub sizes: Vec<usize>,
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
    /// Schema version (1).
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
    /// Frame bytes on the wire, FCS included (`size + 46`).
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
}

/// One trial, as a CSV row: every intended frame accounted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialRow {
    /// Schema version (2: `switch_drops` added).
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
    /// `calibration` (unpaced) or `search`.
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
            rate,
        };
        let run = run_point(
            &RunConfig {
                env: self.env,
                bin_dir: &self.plan.bin_dir,
                app: self.app,
                point: &point,
                fate: self.plan.fate,
                tx_cpu: 0,
                rx_cpu: 1,
                idle_timeout_s: self.plan.idle_timeout_s,
                interval_s: None,
                reflect_every: None,
                stop: self.stop,
            },
            &mut |_| {},
        );
        let loss = trial::account(count, load, &run);
        let row = TrialRow {
            schema: 2,
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
            offered_pps: run.tx.as_ref().map(trial::offered_pps),
            loss_ratio: loss.as_ref().ok().map(|l| l.loss_ratio),
            generator_short: loss.as_ref().is_ok_and(|l| l.generator_short),
            status: run.status,
            reason: run.reason.clone(),
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
        None => {
            let (row, loss) = cell.measure("calibration", None, 0.0, plan.calibration_count);
            trials_csv.append(&row)?;
            match (loss, row.offered_pps) {
                (Ok(_), Some(pps)) if pps >= 2.0 => pps.floor() as u64,
                (Err(why), _) => {
                    done.status = if cell.stop.load(Ordering::Relaxed) {
                        Status::Partial
                    } else {
                        Status::Failed
                    };
                    done.reason = format!("calibration: {why}");
                    return Ok(done);
                }
                _ => {
                    done.status = Status::Failed;
                    done.reason = "calibration: the sender reported no rate".into();
                    return Ok(done);
                }
            }
        }
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
        let count = ((load as f64 * duration_s).round() as u64).max(1);
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
    let frame_bytes = cell.size + FRAME_OVERHEAD_WITH_FCS;
    cell.plan
        .goals
        .iter()
        .zip(results)
        .map(|(g, r)| {
            let mut row = SearchRow {
                time: utc_now(),
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
    'setups: for name in &plan.setups {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let _ = plan.setups_scripts.down(name);
        let outcome = plan.setups_scripts.up(name)?;
        let _guard = crate::experiment::run::SetupGuard::new(&plan.setups_scripts, name);
        let base = SearchRow {
            schema: 1,
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
        for &size in &plan.sizes {
            for repetition in 1..=plan.repetitions {
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
                        repetition,
                        stop,
                    };
                    let base = SearchRow {
                        datapath: env.datapath.clone(),
                        fate: plan.fate.for_app(app),
                        ..base.clone()
                    };
                    let searched = search_cell(&cell, &mut trials_csv)?;
                    for row in result_rows(&cell, &base, &searched) {
                        eprintln!("{}", summary_line(&row));
                        csv.append(&row)?;
                        rows.push(row);
                    }
                }
            }
        }
    }
    let md = plan.out.join("search.md");
    std::fs::write(&md, table(&rows)).map_err(Error::io("write", &md))?;
    Ok(SearchOutcome {
        rows,
        csv: csv.path().to_path_buf(),
        interrupted: stop.load(Ordering::Relaxed),
    })
}

/// The results as a Markdown table per set-up: a row per app x size x repetition with each
/// goal's bounds, what limits them and how many trials they took.
pub fn table(rows: &[SearchRow]) -> String {
    let mut out = String::new();
    let mut setups: Vec<&str> = rows.iter().map(|r| r.setup.as_str()).collect();
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
    for setup in setups {
        let mine: Vec<&SearchRow> = rows.iter().filter(|r| r.setup == setup).collect();
        let first = mine[0];
        out.push_str(&format!(
            "### {setup} ({}, {} engine), preset {}\n\n",
            first.datapath, first.engine, first.preset
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
                any.frame_bytes,
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
        out.push('\n');
    }
    out
}

/// One result on one line.
pub fn summary_line(r: &SearchRow) -> String {
    let pps = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
    format!(
        "{:<9} {:<9} {:>5} B #{} {:<3} lower {:>9} upper {:>9} pps of max {:>9}  {} {}{}{}",
        r.setup,
        r.app.as_str(),
        r.size,
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
        let payloads: Vec<usize> = RFC2544_FRAMES
            .iter()
            .map(|&f| payload_of_frame(f))
            .collect();
        // 64-byte frames cannot hold the probe: the smallest frame that can (70 B) goes out.
        assert_eq!(payloads, [24, 82, 210, 466, 978, 1234, 1472]);
        // The largest is a full 1500-byte MTU datagram.
        assert_eq!(payload_of_frame(1518), 1500 - 28);
        let sizes = parse_sizes(&["64".into(), "rfc2544".into()]).unwrap();
        assert_eq!(sizes.len(), 8);
        assert_eq!(sizes[..2], [64, 24]);
        let e = parse_sizes(&["10".into()]).unwrap_err();
        assert!(e.contains("below the 24 B probe"), "{e}");
        assert!(parse_sizes(&["big".into()])
            .unwrap_err()
            .contains("\"big\""));
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
        let t = table(&rows);
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
    }
}
