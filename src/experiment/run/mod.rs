//! The scenario runner: every set-up x point x repetition x app, one CSV row each.

pub mod files;
pub mod point;

use crate::experiment::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::experiment::place::conditions::Conditions;
use crate::experiment::place::host::Machine;
use crate::experiment::place::setup::{SetupEnv, Setups};
use crate::experiment::plan::kinds::{App, Engine, Families, Family, Fate, Status};
use crate::experiment::plan::profile::{Point, Profile};
use crate::experiment::rows::{
    header_of, utc_now, IntervalRow, ResultsFile, Row, INTERVALS_STEM, SCHEMA,
};
use crate::experiment::run::point::{run_point, RunConfig, RunResult};

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The profile.
    pub profile: Profile,
    /// Set-ups, in order.
    pub setups: Vec<String>,
    /// Apps; each point runs them alternately.
    pub apps: Vec<App>,
    /// IP versions; each repetition of each point runs them in turn (every app over each).
    pub families: Families,
    /// Repetitions of every point.
    pub repetitions: u32,
    /// Receive-side fate for mmap runs.
    pub fate: Fate,
    /// Receiver idle timeout, seconds.
    pub idle_timeout_s: f64,
    /// Interval reports from the tools every this many seconds (kept in
    /// `intervals-v1.csv`, the receiver's shown live); none for no reports.
    pub interval_s: Option<f64>,
    /// Round trips of every N-th probe, timed by the sender (`--reflect-every`); none: off.
    pub reflect_every: Option<u64>,
    /// Where the results go.
    pub out: PathBuf,
    /// `experiments/`.
    pub experiments: PathBuf,
    /// The engine's set-up scripts.
    pub setups_scripts: Setups,
    /// Where the four tools are.
    pub bin_dir: PathBuf,
}

/// What a whole run produced.
#[derive(Debug)]
pub struct Outcome {
    /// Every row written.
    pub rows: Vec<Row>,
    /// The CSV file.
    pub csv: PathBuf,
    /// The interval series file.
    pub intervals_csv: PathBuf,
    /// True if the user stopped it early.
    pub interrupted: bool,
}

/// Tears a set-up down when dropped, also on error or interruption.
#[derive(Debug)]
pub struct SetupGuard<'a> {
    scripts: &'a Setups,
    name: &'a str,
}

impl<'a> SetupGuard<'a> {
    /// Takes set-up `name` (already up) down when dropped.
    pub fn new(scripts: &'a Setups, name: &'a str) -> Self {
        Self { scripts, name }
    }
}

impl Drop for SetupGuard<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.scripts.down(self.name) {
            eprintln!("warning: {e}");
        }
    }
}

fn base_row(plan: &Plan, machine: &Machine, setup: &str, family: Family) -> Row {
    Row {
        family,
        schema: SCHEMA,
        time: utc_now(),
        setup: setup.to_string(),
        engine: plan.setups_scripts.engine(),
        profile: plan.profile.name.clone(),
        kernel: machine.kernel.clone(),
        cpu_model: machine.cpu_model.clone(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: machine.git_commit.clone(),
        emulated: machine.emulated.clone(),
        ..Row::default()
    }
}

fn fill_row(
    mut row: Row,
    env: &SetupEnv,
    plan: &Plan,
    p: &Point,
    app: App,
    rep: u32,
    r: &RunResult,
) -> Row {
    row.datapath = env.datapath.clone();
    row.tx_node = env.tx_node.clone().unwrap_or_default();
    row.rx_node = env.rx_node.clone().unwrap_or_default();
    row.rps = env.rps;
    row.fate = plan.fate.for_app(app);
    row.scenario = p.scenario.clone();
    row.param = p.param.to_string();
    row.value = p.value.clone();
    row.app = app;
    row.repetition = rep;
    row.requested_rate = p.rate.to_string();
    row.count = p.count;
    row.size = p.size;
    row.flows = Some(p.flows);
    if let Some(t) = &r.tx {
        row.tx_method = t.method.clone();
        row.sent = Some(t.sent);
        row.tx_pps = Some(t.pps);
        row.tx_retries = Some(t.retries);
        row.tx_cpu_s = Some(t.cpu_user_s + t.cpu_sys_s);
        row.tx_gso_segments = t.gso_segments;
        if let Some(rt) = &t.round_trip {
            row.reflect_every = Some(rt.reflect_every);
            row.reflections_expected = Some(rt.expected);
            row.reflections = Some(rt.reflected);
            row.rtt_p50_ns = rt.latency.p50_ns;
            row.rtt_p90_ns = rt.latency.p90_ns;
            row.rtt_p99_ns = rt.latency.p99_ns;
            row.rtt_max_ns = rt.latency.max_ns;
        }
    }
    if let Some(x) = &r.rx {
        let c = &x.counts;
        row.rx_mode = x.mode.clone().unwrap_or_default();
        row.rx_gso_frames = Some(c.gso_frames);
        row.rx_buffer_bytes = x.buffer_bytes;
        row.received = Some(c.received);
        row.received_ipv6 = Some(c.received_ipv6);
        row.rx_flows = Some(c.flows.flows);
        row.flow_min = Some(c.flows.min);
        row.flow_max = Some(c.flows.max);
        row.unique = Some(c.unique);
        row.lost = Some(c.lost);
        row.duplicates = Some(c.duplicates);
        row.reordered = Some(c.reordered);
        // Everything the kernel counted as dropped on the way: the ring or socket, and the
        // receive backlogs (where RPS or an overloaded core loses packets before any tap).
        row.kernel_drops = Some(x.kernel_drops + x.backlog_drops);
        row.switch_drops = r.switch_drops;
        row.link_drops = r.link_drops;
        row.ignored = Some(c.ignored);
        row.first_arrival_ns = c.first_arrival_ns;
        row.last_arrival_ns = c.last_arrival_ns;
        row.duration_s = Some(c.duration_s);
        row.pps = Some(c.pps);
        row.mbps = Some(c.mbps);
        row.latency_p50_ns = c.latency.p50_ns;
        row.latency_p90_ns = c.latency.p90_ns;
        row.latency_p99_ns = c.latency.p99_ns;
        row.latency_p99_9_ns = c.latency.p99_9_ns;
        row.latency_max_ns = c.latency.max_ns;
        row.rx_cpu_s = Some(x.cpu_user_s + x.cpu_sys_s);
    }
    // A sender stopped early did not offer `count`: the loss is what it sent and was not seen.
    if let (Status::Partial, Some(sent), Some(unique)) = (r.status, row.sent, row.unique) {
        row.lost = Some(sent.saturating_sub(unique));
    }
    row.status = r.status;
    row.reason = r.reason.clone();
    row
}

/// The runner's `--reflect-every`: 0 turns round trips off; unset, the engine's default
/// (swarm, whose two ends may not share a clock: every 1000th probe; elsewhere off).
pub fn reflect_every(engine: Engine, asked: Option<u64>) -> Option<u64> {
    match asked {
        Some(0) => None,
        Some(n) => Some(n),
        None => engine.spec().reflect_every,
    }
}

/// Where a run's results go unless told: `results/<UTC time>-<profile><engine's suffix>`.
pub fn default_out(engine: Engine, profile: &str) -> PathBuf {
    PathBuf::from("results").join(format!(
        "{}-{profile}{}",
        crate::experiment::rows::utc_now().replace(':', "-"),
        engine.spec().out_suffix
    ))
}

/// Runs the plan, appending a row per run to the results file in `plan.out`.
pub fn execute(plan: &Plan, stop: &AtomicBool) -> Result<Outcome, Error> {
    let points = plan.profile.points()?;
    let mut csv = ResultsFile::open(&plan.out)?;
    let mut intervals_csv =
        ResultsFile::open_with(&plan.out, INTERVALS_STEM, &header_of::<IntervalRow>())?;
    let machine = Machine::probe(&plan.experiments);
    let mut conditions = Conditions::of_machine(&machine, 0, 1);
    let per_setup: u64 = points.iter().map(|p| p.count).sum::<u64>()
        * u64::from(plan.repetitions)
        * plan.apps.len() as u64
        * plan.families.list().len() as u64;
    let bar = ProgressBar::with_draw_target(
        Some(per_setup * plan.setups.len() as u64),
        ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {percent}% ETA {eta} {msg}")
            .map_err(|e| Error::Render(format!("progress bar: {e}")))?
            .progress_chars("=> "),
    );
    let mut rows = Vec::new();
    let mut write = |row: Row, rows: &mut Vec<Row>| -> Result<(), Error> {
        csv.append(&row)?;
        rows.push(row);
        Ok(())
    };

    'setups: for name in &plan.setups {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // Start clean: a killed earlier run may have left this set-up half made.
        let _ = plan.setups_scripts.down(name);
        bar.set_message(format!("{name}: setting up"));
        let outcome = plan.setups_scripts.up(name)?;
        let _guard = SetupGuard::new(&plan.setups_scripts, name);
        let env = match outcome.into_env() {
            Ok(env) => env,
            Err((status, reason)) => {
                bar.suspend(|| eprintln!("{name}: {status}: {reason}"));
                let mut row = base_row(plan, &machine, name, plan.families.list()[0]);
                row.status = status;
                row.reason = reason;
                write(row, &mut rows)?;
                bar.inc(per_setup);
                continue;
            }
        };
        conditions.add_setup(&env, plan.setups_scripts.engine().as_str());
        conditions.write(&plan.out)?;
        // A family the set-up has no addresses of: one skipped row per point and app, saying so.
        let families: Vec<(Family, Option<String>)> = plan
            .families
            .list()
            .iter()
            .map(|&f| (f, env.addresses(f).err()))
            .collect();
        for p in &points {
            for rep in 1..=plan.repetitions {
                for &(family, ref no_addresses) in &families {
                    for &app in &plan.apps {
                        if stop.load(Ordering::Relaxed) {
                            break 'setups;
                        }
                        let what = format!(
                            "{name} {} {} {}={} {} #{rep}",
                            family,
                            p.scenario,
                            p.param,
                            p.value,
                            app.as_str()
                        );
                        if let Some(why) = no_addresses {
                            let row = base_row(plan, &machine, name, family);
                            let skipped = RunResult {
                                status: Status::Skipped,
                                ..RunResult::failed(why.clone())
                            };
                            let row = fill_row(row, &env, plan, p, app, rep, &skipped);
                            bar.suspend(|| eprintln!("{what}: skipped: {why}"));
                            write(row, &mut rows)?;
                            bar.inc(p.count);
                            continue;
                        }
                        bar.set_message(what.clone());
                        let row = base_row(plan, &machine, name, family);
                        let mut live = |r: &crate::report::RxInterval| {
                            bar.set_message(format!(
                                "{what}: receiving {:.0} pps, lost {}, drops {}",
                                r.pps, r.lost, r.kernel_drops
                            ));
                        };
                        let result = run_point(
                            &RunConfig {
                                env: &env,
                                bin_dir: &plan.bin_dir,
                                app,
                                point: p,
                                family,
                                fate: plan.fate,
                                tx_cpu: 0,
                                rx_cpu: 1,
                                idle_timeout_s: plan.idle_timeout_s,
                                interval_s: plan.interval_s,
                                reflect_every: plan.reflect_every,
                                busy_poll_us: None,
                                stop,
                            },
                            &mut live,
                        );
                        let row = fill_row(row, &env, plan, p, app, rep, &result);
                        for r in
                            IntervalRow::of_run(&row, &result.tx_intervals, &result.rx_intervals)
                        {
                            intervals_csv.append(&r)?;
                        }
                        bar.suspend(|| {
                        eprintln!(
                            "{name:<13} {family} {:<5} {:>9} {:<4} #{rep} {:>9} pps  received {}/{}  lost {} drops {}{}{}  {}{}",
                            p.scenario,
                            p.value,
                            app.as_str(),
                            row.pps.map_or("-".into(), |v| format!("{v:.0}")),
                            row.received.map_or("-".into(), |v| v.to_string()),
                            p.count,
                            row.lost.map_or("-".into(), |v| v.to_string()),
                            row.kernel_drops.map_or("-".into(), |v| v.to_string()),
                            row.switch_drops.map_or(String::new(), |v| format!(" switch drops {v}")),
                            row.link_drops.filter(|v| *v > 0).map_or(String::new(), |v| format!(" link drops {v}")),
                            row.status,
                            if result.status == Status::Ok { String::new() } else { format!(": {}", row.reason) }
                        )
                    });
                        write(row, &mut rows)?;
                        bar.inc(p.count);
                    }
                }
            }
        }
    }
    bar.finish_and_clear();
    Ok(Outcome {
        rows,
        csv: csv.path().to_path_buf(),
        intervals_csv: intervals_csv.path().to_path_buf(),
        interrupted: stop.load(Ordering::Relaxed),
    })
}
