//! pktmmap: set up the networks, run the scenarios for both apps, write CSV and charts.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};
use pktmmap::cli::{self, CliError, Failure};
use pktmmap::experiment::analysis::compare::{
    check_chartable, check_comparable, ratio_table, ratios,
};
use pktmmap::experiment::bench::{self, BenchPlan, Phase, Sender};
use pktmmap::experiment::place::lock;
use pktmmap::experiment::place::setup::{self, Engine, SetupOutcome, Setups};
use pktmmap::experiment::plan::kinds::{App, Families, Fate, Status};
use pktmmap::experiment::plan::profile::Profile;
use pktmmap::experiment::rows::read_rows;
use pktmmap::experiment::run::files::{write_charts, write_report};
use pktmmap::experiment::run::{execute, Plan};
use pktmmap::experiment::search;

const TOOL: &str = "pktmmap";

/// The receiver's core in every run (the sender's is 0).
const RX_CPU: u64 = 1;

/// Runs the thesis's scenarios (packet count, transmit rate, payload size) for packet_mmap and
/// plain UDP over several network set-ups, and writes CSV results and charts.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
    /// The experiments/ directory (set-up scripts, scenario profiles); found automatically
    /// when run from the repository.
    #[arg(long, global = true)]
    experiments: Option<PathBuf>,
    /// Where the tools run: netns (network namespaces, no Docker needed), docker
    /// (containers of the pktmmap image, built by docker/build.sh) or swarm (services of that
    /// image on a Docker Swarm: the active one, or a single-node swarm made for the run).
    #[arg(long, global = true, value_enum, default_value_t = Engine::Netns)]
    engine: Engine,
    /// Swarm engine: the node the sender's task runs on (default: this node).
    #[arg(long, global = true, value_name = "NODE")]
    tx_node: Option<String>,
    /// Swarm engine: the node the receiver's task runs on (default: this node).
    #[arg(long, global = true, value_name = "NODE")]
    rx_node: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run every set-up x scenario x value x app x repetition; one CSV row per run.
    Run {
        /// Profile: thesis, default, quick, or a path to a .toml file.
        #[arg(long, default_value = "default")]
        profile: String,
        /// Set-ups, comma-separated (default: every set-up of the engine).
        #[arg(long, value_delimiter = ',')]
        setup: Vec<String>,
        /// Apps, comma-separated; each point runs them alternately.
        #[arg(long, value_enum, value_delimiter = ',', default_value = "mmap,udp")]
        app: Vec<App>,
        /// IP version of the test traffic: 4, 6, or both (each repetition of each point runs
        /// every app over IPv4, then over IPv6); recorded in the `family` column.
        #[arg(long, value_enum, default_value = "4")]
        family: Families,
        /// Repetitions of every point (default: the profile's).
        #[arg(long)]
        repetitions: Option<u32>,
        /// Output directory (default: results/<UTC time>-<profile>); rows are appended.
        #[arg(long)]
        out: Option<PathBuf>,
        /// What happens to test packets after mmap-rx has them.
        #[arg(long, value_enum, default_value_t = Fate::Stack)]
        fate: Fate,
        /// Seconds without traffic after which a receiver stops.
        #[arg(long, default_value_t = 2.0)]
        idle_timeout: f64,
        /// Interval reports from both tools every SECONDS (at least 0.1), kept in
        /// intervals-v1.csv beside the runs; the receiver's rate shows in the progress line.
        /// 0 turns them off.
        #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
        interval: f64,
        /// Round trips of probes 0, N, 2N, ...: the receiver reflects them, the sender times
        /// them on its own clock (rtt_* columns). 0: off. Default: 1000 on swarm, else off.
        #[arg(long, value_name = "N")]
        reflect_every: Option<u64>,
        /// Also draw the charts when done.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        plot: bool,
        /// Receive packet steering: run the receiving interface's softirq on the receiver's
        /// core (1) instead of the sender's, as on a real NIC; recorded in the `rps` column.
        #[arg(long)]
        rps: bool,
    },
    /// Benchmark the senders (mmap-tx V3 and V2, udp-tx, xdp-tx, trafgen -P 1, iperf3 -u,
    /// dpdk-testpmd txonly over af_packet and af_xdp) and the receivers side by side on the
    /// native set-up, alternating the tools; writes results/bench/<UTC time>/bench-v1.csv and
    /// bench.md. experiments/bench installs trafgen, iperf3 and DPDK first.
    Bench {
        /// Packets per run.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
        /// UDP payload bytes.
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Runs of each tool per table (the tools alternate).
        #[arg(long, default_value_t = 5)]
        repetitions: u32,
        /// Rates for the paced-sender tables, comma-separated (one table each).
        #[arg(long, value_delimiter = ',', default_value = "500Mbps,3Gbps")]
        paced_rate: Vec<String>,
        /// Fixed offered rate for the receiver table (the other is the fastest sender's).
        #[arg(long, default_value = "200kpps")]
        receiver_rate: String,
        /// Senders, comma-separated (default: all; one whose program is missing is skipped).
        #[arg(long, value_enum, value_delimiter = ',')]
        senders: Vec<Sender>,
        /// Receive packet steering to the receiver's core (see `run --rps`).
        #[arg(long)]
        rps: bool,
        /// Phases, comma-separated: send, receive, capacity (capacity: each receiver at
        /// --capacity-rates; use with --rps).
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "send,receive"
        )]
        phases: Vec<Phase>,
        /// Offered rates of the capacity phase, comma-separated, ascending.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "200kpps,400kpps,600kpps,800kpps,1000kpps,1200kpps,1500kpps,2000kpps"
        )]
        capacity_rates: Vec<String>,
        /// Output directory (default: results/bench/<UTC time>[-rps]).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Find each set-up x app x size's NDR and PDR (RFC 2544 throughput, MLRsearch goals):
    /// the generator's ceiling on the path calibrated, then trials at fixed loads until each
    /// goal's bounds are within its width. Writes search-v3.csv (a row per goal) and
    /// search-trials-v5.csv (every trial) into results/<UTC time>-search-<preset>.
    Search(search::command::SearchArgs),
    /// Rewrite DIR/bench.md from the benchmark CSV in DIR, and print it.
    BenchTable {
        /// A benchmark results directory.
        dir: PathBuf,
    },
    /// Draw PNG and SVG charts from the CSV files in DIR (into DIR/charts).
    Plot {
        /// A results directory.
        dir: PathBuf,
        /// Draw rows made under software emulation (a guest's `tcg` rows); a directory that
        /// mixes them with other rows is refused.
        #[arg(long)]
        emulated: bool,
    },
    /// Write DIR/report.html from the CSV files in DIR: one self-contained page with the
    /// machine, the ratio table, every chart (inline SVG), loss, latency, the runs over time
    /// and every run that did not succeed. Exit 2 if DIR holds no results.
    Report {
        /// A results directory.
        dir: PathBuf,
        /// Include rows made under software emulation (a directory that mixes them with
        /// other rows is refused).
        #[arg(long)]
        emulated: bool,
    },
    /// Write shell completions (bash, zsh, fish) and man pages for pktmmap and the six tools
    /// into DIR (DIR/completions/SHELL/, DIR/man/).
    Docs {
        /// Output directory (created).
        dir: PathBuf,
    },
    /// Print the mmap/udp ratio table of the CSV files in DIR.
    Ratios {
        /// A results directory.
        dir: PathBuf,
        /// Compare rows made under software emulation too (the guest harness's `tcg` rows:
        /// correct counts, meaningless rates); they are still never grouped with others.
        #[arg(long)]
        emulated: bool,
    },
    /// Send raw Ethernet frames through a TX ring, to test a receiver against odd traffic.
    /// Needs CAP_NET_RAW.
    Inject {
        /// Interface to send on.
        #[arg(long, short = 'i')]
        interface: String,
        /// File of frames: a pcap or pcapng capture (its Ethernet frames, in order), or one
        /// frame per line in hex (`#` comments); - for hex on standard input.
        frames: PathBuf,
    },
    /// Print the nft rules (for `nft -f -`) that drop the test flow at netdev ingress of
    /// INTERFACE, after the packet tap: the rule `run --fate ingress-drop` and the benchmark
    /// install, for scripts to use as they are.
    FateRule {
        /// The receiving interface.
        #[arg(long, short = 'i')]
        interface: String,
        /// UDP destination port of the test flow.
        #[arg(long, default_value_t = pktmmap::DEFAULT_PORT)]
        port: u16,
        /// Only datagrams of this UDP length (8-byte header included).
        #[arg(long)]
        udp_len: Option<usize>,
    },
    /// Bring one network set-up up or down.
    Setup {
        /// up or down.
        #[arg(value_parser = ["up", "down"])]
        action: String,
        /// The set-up (netns: native, bridge, ovs, macvlan, macvlan-trunk, overlay; docker:
        /// bridge, ovs, macvlan, macvlan-trunk).
        #[arg(required_unless_present = "all")]
        name: Option<String>,
        /// With down: remove every set-up's leftovers, found by name prefix.
        #[arg(long)]
        all: bool,
        /// Go on even while another pktmmap holds the host's set-up lock (its runs will fail).
        #[arg(long)]
        force: bool,
    },
}

fn main() {
    let args = Args::parse();
    let code = match run(args) {
        Ok(code) => code,
        Err(e) => e.exit(TOOL),
    };
    std::process::exit(code);
}

fn run(args: Args) -> Result<i32, CliError> {
    match args.command {
        Cmd::Report { dir, emulated } => {
            let path = write_report(&dir, emulated)?;
            println!("report: {}", path.display());
            Ok(0)
        }
        Cmd::Plot { dir, emulated } => {
            let rows = read_rows(&dir)?;
            check_chartable(&rows, emulated)?;
            let files = write_charts(&rows, &dir)?;
            println!(
                "wrote {} chart files under {}",
                files.len(),
                dir.join("charts").display()
            );
            Ok(0)
        }
        Cmd::Inject { interface, frames } => {
            let list = pktmmap::inject::read_frames(&frames)?;
            let sent = pktmmap::inject::send_frames(&interface, &list)?;
            println!("sent {sent} of {} frames on {interface}", list.len());
            Ok(if sent == list.len() as u64 {
                0
            } else {
                Failure::Runtime as i32
            })
        }
        Cmd::Bench {
            count,
            size,
            repetitions,
            paced_rate,
            receiver_rate,
            senders,
            rps,
            phases,
            capacity_rates,
            out,
        } => {
            let _lock = lock::take_host(false)?;
            let experiments = setup::experiments_dir(args.experiments.as_deref())?;
            let out = out.unwrap_or_else(|| bench::default_out(rps));
            let plan = BenchPlan {
                count,
                size,
                repetitions: repetitions.max(1),
                paced_rates: cli::parse_rates(&paced_rate)?,
                receiver_rate: cli::parse_rate(&receiver_rate)?,
                phases,
                capacity_rates: cli::parse_rates(&capacity_rates)?,
                senders: Sender::installed(&senders),
                out: out.clone(),
                repo: experiments.clone(),
                bin_dir: setup::tool_dir()?,
                setups: Setups::new(Engine::Netns, &experiments)?
                    .with_rps(rps.then_some(1 << RX_CPU)),
            };
            eprintln!(
                "pktmmap bench: {} packets of {size} B per run, {} repetitions, phases {:?}, senders {}, paced at {}, receivers at {} and max{}; results in {}",
                plan.count,
                plan.repetitions,
                plan.phases,
                plan.senders.iter().map(|s| s.name()).collect::<Vec<_>>().join(","),
                plan.paced_rates.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(","),
                plan.receiver_rate,
                if rps { ", RPS on" } else { "" },
                out.display()
            );
            let stop = pktmmap::process::stop_flag();
            let rows = bench::execute(&plan, &stop)?;
            println!("{}", bench::write_report(&out, &rows)?);
            println!("results: {}", out.display());
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(Failure::Interrupted as i32);
            }
            Ok(if rows.iter().any(|r| r.status != Status::Ok) {
                Failure::Runtime as i32
            } else {
                0
            })
        }
        Cmd::Search(options) => {
            let plan = options.plan(
                args.engine,
                args.experiments.as_deref(),
                (args.tx_node.clone(), args.rx_node.clone()),
            )?;
            let _lock = lock::take_host(false)?;
            let stop = pktmmap::process::stop_flag();
            let outcome = search::execute(&plan, &stop)?;
            println!("results: {}", outcome.csv.display());
            if outcome.interrupted {
                eprintln!(
                    "pktmmap: interrupted; the bounds found so far are saved, marked partial"
                );
                return Ok(Failure::Interrupted as i32);
            }
            Ok(if outcome.rows.iter().any(|r| r.status == Status::Failed) {
                Failure::Runtime as i32
            } else {
                0
            })
        }
        Cmd::FateRule {
            interface,
            port,
            udp_len,
        } => {
            print!(
                "{}",
                pktmmap::experiment::place::fate::drop_rules(&interface, port, udp_len)?
            );
            Ok(0)
        }
        Cmd::BenchTable { dir } => {
            let rows = bench::read_bench_rows(&dir)?;
            print!("{}", bench::write_report(&dir, &rows)?);
            Ok(0)
        }
        Cmd::Docs { dir } => {
            let mut commands = vec![Args::command().name("pktmmap")];
            commands.extend(pktmmap::tool::docs::tool_commands());
            let files = pktmmap::tool::docs::write(commands, &dir)
                .map_err(|e| CliError::new(Failure::Runtime, format!("{}: {e}", dir.display())))?;
            println!("wrote {} files under {}", files.len(), dir.display());
            Ok(0)
        }
        Cmd::Ratios { dir, emulated } => {
            let rows = read_rows(&dir)?;
            check_comparable(&rows, emulated)?;
            print!("{}", ratio_table(&ratios(&rows)));
            Ok(0)
        }
        Cmd::Setup {
            action,
            name,
            all,
            force,
        } => {
            let _lock = lock::take_host(force)?;
            let dir = setup::experiments_dir(args.experiments.as_deref())?;
            let scripts = Setups::new(args.engine, &dir)?
                .with_nodes(args.tx_node.clone(), args.rx_node.clone());
            match (action.as_str(), name, all) {
                ("down", _, true) => {
                    print!("{}", scripts.down_all()?);
                    Ok(0)
                }
                ("down", Some(n), false) => {
                    scripts.down(&n)?;
                    Ok(0)
                }
                ("up", Some(n), false) => match scripts.up(&n)? {
                    SetupOutcome::Up(e) => {
                        println!("{e}");
                        Ok(0)
                    }
                    SetupOutcome::Skipped(r) => {
                        println!("{n}: skipped: {r}");
                        Ok(setup::SKIP_EXIT)
                    }
                    SetupOutcome::Failed(r) => Err(CliError::new(Failure::Runtime, r)),
                },
                _ => Err(CliError::new(
                    Failure::Usage,
                    "use: setup up NAME | setup down NAME | setup down --all",
                )),
            }
        }
        Cmd::Run {
            profile,
            setup: setups,
            app,
            family,
            repetitions,
            out,
            fate,
            idle_timeout,
            interval,
            reflect_every,
            plot,
            rps,
        } => {
            let interval_s = pktmmap::cli::runner_interval(interval)?;
            let experiments = setup::experiments_dir(args.experiments.as_deref())?;
            let profile = Profile::load(&Profile::path(&experiments, &profile))?;
            let engine = args.engine;
            let scripts = Setups::new(engine, &experiments)?
                .with_rps(rps.then_some(1 << RX_CPU))
                .with_nodes(args.tx_node.clone(), args.rx_node.clone());
            let setups = if setups.is_empty() {
                engine.setups().iter().map(|s| s.to_string()).collect()
            } else {
                setups
            };
            scripts.check_names(&setups)?;
            // The request is checked (a typo is exit 2 with its reason) before the host is
            // taken, so that a wrong word never reads as "another run holds the lock".
            let _lock = lock::take_host(false)?;
            let apps = app;
            // AF_XDP needs more than CAP_NET_RAW; containers get it only for runs that use it.
            let scripts = scripts.with_xdp(
                apps.iter()
                    .any(|a| a.tools().0.needs() == pktmmap::experiment::plan::apps::Needs::Xdp),
            );
            let bin_dir = setup::tool_dir()?;
            let out =
                out.unwrap_or_else(|| pktmmap::experiment::run::default_out(engine, &profile.name));
            let plan = Plan {
                repetitions: repetitions.unwrap_or(profile.repetitions).max(1),
                profile,
                setups,
                apps,
                families: family,
                fate,
                idle_timeout_s: idle_timeout,
                interval_s,
                reflect_every: pktmmap::experiment::run::reflect_every(engine, reflect_every),
                out: out.clone(),
                experiments,
                setups_scripts: scripts,
                bin_dir,
            };
            let stop = pktmmap::process::stop_flag();
            eprintln!(
                "pktmmap: profile {} ({}), {} repetition(s), {engine} engine, set-ups {}, results in {}",
                plan.profile.name,
                plan.profile.description,
                plan.repetitions,
                plan.setups.join(","),
                out.display()
            );
            let outcome = execute(&plan, &stop)?;
            match check_comparable(&outcome.rows, false) {
                Ok(()) => println!("{}", ratio_table(&ratios(&outcome.rows))),
                Err(why) => println!("no ratio table: {why} (pktmmap ratios --emulated DIR)"),
            }
            println!("results: {}", outcome.csv.display());
            let all_rows = read_rows(&out).unwrap_or_default();
            if let (true, Err(why)) = (plot, check_chartable(&all_rows, false)) {
                println!("no charts: {why}");
            } else if plot && outcome.rows.iter().any(|r| r.status == Status::Ok) {
                match write_charts(&all_rows, &out) {
                    Ok(files) => println!(
                        "charts: {} files under {}",
                        files.len(),
                        out.join("charts").display()
                    ),
                    Err(e) => eprintln!("warning: charts not drawn: {e}"),
                }
                match write_report(&out, false) {
                    Ok(path) => println!("report: {}", path.display()),
                    Err(e) => eprintln!("warning: no report: {e}"),
                }
            }
            if outcome.interrupted {
                eprintln!("pktmmap: interrupted; every finished run is saved, the last one marked partial");
                return Ok(Failure::Interrupted as i32);
            }
            Ok(if outcome.rows.iter().any(|r| r.status == Status::Failed) {
                Failure::Runtime as i32
            } else {
                0
            })
        }
    }
}
