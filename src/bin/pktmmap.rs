//! pktmmap: set up the networks, run the scenarios for both apps, write CSV and charts.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use pktmmap::cli::{self, CliError, Failure};
use pktmmap::experiment::chart::write_charts;
use pktmmap::experiment::compare::{ratio_table, ratios};
use pktmmap::experiment::profile::Profile;
use pktmmap::experiment::results::{read_rows, utc_now};
use pktmmap::experiment::run::{App, Fate};
use pktmmap::experiment::runner::{execute, Plan};
use pktmmap::experiment::setup::{self, Engine, SetupOutcome, Setups};

const TOOL: &str = "pktmmap";

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
    /// Where the tools run: netns (network namespaces, no Docker needed) or docker
    /// (containers of the pktmmap image, built by docker/build.sh).
    #[arg(long, global = true, value_enum, default_value_t = EngineArg::Netns)]
    engine: EngineArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineArg {
    /// Network namespaces: native, bridge, ovs, macvlan, macvlan-trunk.
    Netns,
    /// Docker containers: bridge, ovs, macvlan, macvlan-trunk.
    Docker,
}

impl From<EngineArg> for Engine {
    fn from(e: EngineArg) -> Self {
        match e {
            EngineArg::Netns => Engine::Netns,
            EngineArg::Docker => Engine::Docker,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FateArg {
    /// The kernel stack also processes every captured packet (a closed UDP port).
    Stack,
    /// nftables drops the test flow at netdev ingress, right after mmap-rx's packet tap.
    IngressDrop,
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
        #[arg(long, value_delimiter = ',', default_value = "mmap,udp")]
        app: Vec<String>,
        /// Repetitions of every point (default: the profile's).
        #[arg(long)]
        repetitions: Option<u32>,
        /// Output directory (default: results/<UTC time>-<profile>); rows are appended.
        #[arg(long)]
        out: Option<PathBuf>,
        /// What happens to test packets after mmap-rx has them.
        #[arg(long, value_enum, default_value_t = FateArg::Stack)]
        fate: FateArg,
        /// Seconds without traffic after which a receiver stops.
        #[arg(long, default_value_t = 2.0)]
        idle_timeout: f64,
        /// Also draw the charts when done.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        plot: bool,
    },
    /// Draw PNG and SVG charts from the CSV files in DIR (into DIR/charts).
    Plot {
        /// A results directory.
        dir: PathBuf,
    },
    /// Print the mmap/udp ratio table of the CSV files in DIR.
    Ratios {
        /// A results directory.
        dir: PathBuf,
    },
    /// Send raw Ethernet frames through a TX ring, to test a receiver against odd traffic.
    /// Needs CAP_NET_RAW.
    Inject {
        /// Interface to send on.
        #[arg(long, short = 'i')]
        interface: String,
        /// File of frames, one per line in hex (`#` comments); - for standard input.
        frames: PathBuf,
    },
    /// Bring one network set-up up or down.
    Setup {
        /// up or down.
        #[arg(value_parser = ["up", "down"])]
        action: String,
        /// The set-up (netns: native, bridge, ovs, macvlan, macvlan-trunk; docker: bridge,
        /// ovs, macvlan, macvlan-trunk).
        #[arg(required_unless_present = "all")]
        name: Option<String>,
        /// With down: remove every set-up's leftovers, found by name prefix.
        #[arg(long)]
        all: bool,
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

fn err(kind: Failure) -> impl Fn(String) -> CliError {
    move |m| CliError::new(kind, m)
}

/// The runner changes network configuration: it needs CAP_NET_ADMIN (and CAP_SYS_ADMIN for
/// `ip netns`). Read from /proc/self/status rather than guessed from the uid.
fn require_net_admin() -> Result<(), CliError> {
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_SYS_ADMIN: u32 = 21;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    if eff & (1 << CAP_NET_ADMIN) == 0 || eff & (1 << CAP_SYS_ADMIN) == 0 {
        return Err(CliError::new(
            Failure::Privilege,
            "pktmmap needs CAP_NET_ADMIN to create links and CAP_SYS_ADMIN for network namespaces (ip netns): run it as root",
        ));
    }
    Ok(())
}

fn profile_path(experiments: &Path, name: &str) -> PathBuf {
    if name.ends_with(".toml") || name.contains('/') {
        PathBuf::from(name)
    } else {
        experiments.join("scenarios").join(format!("{name}.toml"))
    }
}

fn run(args: Args) -> Result<i32, CliError> {
    match args.command {
        Cmd::Plot { dir } => {
            let rows = read_rows(&dir).map_err(err(Failure::Runtime))?;
            let files = write_charts(&rows, &dir).map_err(err(Failure::Runtime))?;
            println!(
                "wrote {} chart files under {}",
                files.len(),
                dir.join("charts").display()
            );
            Ok(0)
        }
        Cmd::Inject { interface, frames } => {
            let text = if frames.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(&frames)
            }
            .map_err(|e| {
                CliError::new(
                    Failure::Usage,
                    format!("cannot read {}: {e}", frames.display()),
                )
            })?;
            let list = pktmmap::inject::parse_hex_frames(&text).map_err(err(Failure::Usage))?;
            let sent = pktmmap::inject::send_frames(&interface, &list)?;
            println!("sent {sent} of {} frames on {interface}", list.len());
            Ok(if sent == list.len() as u64 {
                0
            } else {
                Failure::Runtime as i32
            })
        }
        Cmd::Ratios { dir } => {
            let rows = read_rows(&dir).map_err(err(Failure::Runtime))?;
            print!("{}", ratio_table(&ratios(&rows)));
            Ok(0)
        }
        Cmd::Setup { action, name, all } => {
            require_net_admin()?;
            let dir =
                setup::experiments_dir(args.experiments.as_deref()).map_err(err(Failure::Usage))?;
            let scripts = Setups::new(args.engine.into(), &dir).map_err(err(Failure::Usage))?;
            match (action.as_str(), name, all) {
                ("down", _, true) => {
                    print!("{}", scripts.down_all().map_err(err(Failure::Runtime))?);
                    Ok(0)
                }
                ("down", Some(n), false) => {
                    scripts.down(&n).map_err(err(Failure::Usage))?;
                    Ok(0)
                }
                ("up", Some(n), false) => match scripts.up(&n).map_err(err(Failure::Usage))? {
                    SetupOutcome::Up(e) => {
                        let place = |container: &Option<String>, ns: &str| match container {
                            Some(c) => format!("container {c}"),
                            None => format!("netns {ns}"),
                        };
                        println!(
                            "{}: up ({}); sender {} {} {} -> receiver {} {} {}",
                            e.setup,
                            e.datapath,
                            place(&e.tx_container, &e.tx_ns),
                            e.tx_if,
                            e.tx_ip,
                            place(&e.rx_container, &e.rx_ns),
                            e.rx_if,
                            e.rx_ip
                        );
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
            repetitions,
            out,
            fate,
            idle_timeout,
            plot,
        } => {
            require_net_admin()?;
            let experiments =
                setup::experiments_dir(args.experiments.as_deref()).map_err(err(Failure::Usage))?;
            let profile = Profile::load(&profile_path(&experiments, &profile))
                .map_err(err(Failure::Usage))?;
            let engine = Engine::from(args.engine);
            let scripts = Setups::new(engine, &experiments).map_err(err(Failure::Usage))?;
            let setups = if setups.is_empty() {
                engine.setups().iter().map(|s| s.to_string()).collect()
            } else {
                setups
            };
            for s in &setups {
                if !engine.setups().contains(&s.as_str()) {
                    return Err(CliError::new(
                        Failure::Usage,
                        format!(
                            "unknown set-up {s:?} for the {engine} engine: choose from {}",
                            engine.setups().join(", ")
                        ),
                    ));
                }
            }
            let apps = app
                .iter()
                .map(|a| match a.as_str() {
                    "mmap" => Ok(App::Mmap),
                    "udp" => Ok(App::Udp),
                    other => Err(CliError::new(
                        Failure::Usage,
                        format!("unknown app {other:?}: mmap or udp"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let bin_dir = std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .ok_or_else(|| {
                    CliError::new(Failure::Runtime, "cannot locate the tools next to pktmmap")
                })?;
            let out = out.unwrap_or_else(|| {
                let suffix = match engine {
                    Engine::Netns => String::new(),
                    Engine::Docker => "-docker".into(),
                };
                PathBuf::from("results").join(format!(
                    "{}-{}{suffix}",
                    utc_now().replace(':', "-"),
                    profile.name
                ))
            });
            let plan = Plan {
                repetitions: repetitions.unwrap_or(profile.repetitions).max(1),
                profile,
                setups,
                apps,
                fate: match fate {
                    FateArg::Stack => Fate::Stack,
                    FateArg::IngressDrop => Fate::IngressDrop,
                },
                idle_timeout_s: idle_timeout,
                out: out.clone(),
                experiments,
                setups_scripts: scripts,
                bin_dir,
            };
            let stop = cli::stop_flag();
            eprintln!(
                "pktmmap: profile {} ({}), {} repetition(s), {engine} engine, set-ups {}, results in {}",
                plan.profile.name,
                plan.profile.description,
                plan.repetitions,
                plan.setups.join(","),
                out.display()
            );
            let outcome = execute(&plan, &stop).map_err(err(Failure::Runtime))?;
            println!("{}", ratio_table(&ratios(&outcome.rows)));
            println!("results: {}", outcome.csv.display());
            if plot && outcome.rows.iter().any(|r| r.status == "ok") {
                match write_charts(&read_rows(&out).unwrap_or_default(), &out) {
                    Ok(files) => println!(
                        "charts: {} files under {}",
                        files.len(),
                        out.join("charts").display()
                    ),
                    Err(e) => eprintln!("warning: charts not drawn: {e}"),
                }
            }
            if outcome.interrupted {
                eprintln!("pktmmap: interrupted; every finished run is saved, the last one marked partial");
                return Ok(Failure::Interrupted as i32);
            }
            Ok(if outcome.rows.iter().any(|r| r.status == "failed") {
                Failure::Runtime as i32
            } else {
                0
            })
        }
    }
}
