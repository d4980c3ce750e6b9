//! The network set-ups: scripts `up | down | env` per set-up, run with fixed arguments (never
//! a shell string), whose `env` output says where to run the tools (parsed strictly: an
//! unknown or missing key is an error). Each engine's scripts folder is its row of
//! [`crate::experiment::plan::engines::ENGINES`].

use crate::experiment::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::experiment::plan::engines::ScriptsDir;
pub use crate::experiment::plan::kinds::Engine;
use crate::experiment::plan::kinds::{Family, Status};

/// Exit code of a set-up script that cannot exist on this machine.
pub const SKIP_EXIT: i32 = 3;

/// Where the sender and receiver of a set-up live.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetupEnv {
    /// Set-up name.
    pub setup: String,
    /// Sender's network namespace.
    pub tx_ns: String,
    /// Receiver's network namespace.
    pub rx_ns: String,
    /// Sender's interface.
    pub tx_if: String,
    /// Receiver's interface.
    pub rx_if: String,
    /// Sender's address.
    pub tx_ip: String,
    /// Receiver's address.
    pub rx_ip: String,
    /// Sender's IPv6 address, where the set-up is dual-stack.
    pub tx_ip6: Option<String>,
    /// Receiver's IPv6 address, where the set-up is dual-stack.
    pub rx_ip6: Option<String>,
    /// What switches the frames (veth, linux-bridge, ovs-netdev, macvlan-bridge, ...).
    pub datapath: String,
    /// Anything else worth recording.
    pub note: String,
    /// The sender's container (docker engine), where the tools run with `docker exec`.
    pub tx_container: Option<String>,
    /// The receiver's container (docker engine).
    pub rx_container: Option<String>,
    /// The swarm node the sender's task runs on (swarm engine).
    pub tx_node: Option<String>,
    /// The swarm node the receiver's task runs on (swarm engine).
    pub rx_node: Option<String>,
    /// The Docker engine of the sender's container (`docker -H`), when not this host's
    /// default one (a second swarm node's engine).
    pub tx_engine: Option<String>,
    /// The Docker engine of the receiver's container, likewise.
    pub rx_engine: Option<String>,
    /// True if receive packet steering moves the receiver's softirq (`PKTMMAP_RPS`).
    pub rps: bool,
    /// The Open vSwitch bridge between the two sides, whose own drop counters the runner
    /// reads around each run.
    pub ovs_bridge: Option<String>,
    /// The network namespaces between the two sides (netns engine: a bridge's switch
    /// namespace, an overlay's hosts), whose interfaces' transmit drops the runner reads
    /// around each run beside the sender's and receiver's (`PATH_NS`, space-separated).
    pub path_ns: Vec<String>,
}

/// What bringing a set-up up gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupOutcome {
    /// Ready.
    Up(Box<SetupEnv>),
    /// Not possible on this machine, with the script's reason.
    Skipped(String),
    /// The script failed.
    Failed(String),
}

impl SetupOutcome {
    /// The set-up's environment, or `(status, reason)` with status `skipped` or `failed`.
    pub fn into_env(self) -> Result<SetupEnv, (Status, String)> {
        match self {
            SetupOutcome::Up(env) => Ok(*env),
            SetupOutcome::Skipped(reason) => Err((Status::Skipped, reason)),
            SetupOutcome::Failed(reason) => Err((Status::Failed, reason)),
        }
    }
}

impl SetupEnv {
    /// The sender's and receiver's addresses of `family`, or why there are none: a set-up that
    /// printed no `TX_IP6`/`RX_IP6` has no IPv6 path.
    pub fn addresses(&self, family: Family) -> Result<(&str, &str), String> {
        match (family, &self.tx_ip6, &self.rx_ip6) {
            (Family::V4, _, _) => Ok((&self.tx_ip, &self.rx_ip)),
            (Family::V6, Some(tx), Some(rx)) => Ok((tx, rx)),
            (Family::V6, _, _) => Err(format!(
                "set-up {} has no IPv6 addresses (its env printed no TX_IP6/RX_IP6)",
                self.setup
            )),
        }
    }
}

impl std::fmt::Display for SetupEnv {
    /// One line: the set-up, its datapath, and where sender and receiver are.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = |container: &Option<String>, ns: &str| match container {
            Some(c) => format!("container {c}"),
            None => format!("netns {ns}"),
        };
        write!(
            f,
            "{}: up ({}); sender {} {} {} -> receiver {} {} {}",
            self.setup,
            self.datapath,
            place(&self.tx_container, &self.tx_ns),
            self.tx_if,
            self.tx_ip,
            place(&self.rx_container, &self.rx_ns),
            self.rx_if,
            self.rx_ip
        )
    }
}

/// The directory holding the running program, where the tools are too.
pub fn tool_dir() -> Result<PathBuf, Error> {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .ok_or_else(|| Error::Tool("cannot locate the tools next to pktmmap".into()))
}

/// Finds `experiments/` : the given directory, `$PKTMMAP_EXPERIMENTS`, `./experiments`, or
/// next to the executable's repository (`target/release/../../experiments`).
pub fn experiments_dir(given: Option<&Path>) -> Result<PathBuf, Error> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(g) = given {
        candidates.push(g.to_path_buf());
    }
    if let Some(e) = std::env::var_os("PKTMMAP_EXPERIMENTS") {
        candidates.push(PathBuf::from(e));
    }
    candidates.push(PathBuf::from("experiments"));
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            candidates.push(up.join("experiments"));
        }
    }
    candidates
        .into_iter()
        .find(|c| c.join("setups/lib.sh").is_file())
        .ok_or_else(|| Error::Request("cannot find the experiments/ directory: run from the repository, or set PKTMMAP_EXPERIMENTS".into()))
}

/// The set-up scripts of one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setups {
    engine: Engine,
    dir: PathBuf,
    rps_mask: Option<u64>,
    xdp: bool,
    nodes: (Option<String>, Option<String>),
}

impl Setups {
    /// The scripts of `engine`, given `experiments/` (the docker scripts live in the
    /// repository's `docker/setups`, next to it, or in `$PKTMMAP_DOCKER/setups`).
    pub fn new(engine: Engine, experiments: &Path) -> Result<Self, Error> {
        let docker = || {
            std::env::var_os("PKTMMAP_DOCKER")
                .map(PathBuf::from)
                .unwrap_or_else(|| experiments.join("..").join("docker"))
        };
        let dir = match engine.spec().scripts {
            ScriptsDir::Experiments(d) => experiments.join(d),
            ScriptsDir::Docker(d) => docker().join(d),
        };
        if !dir.join("lib.sh").is_file() {
            return Err(Error::Request(format!(
                "cannot find the {engine} set-up scripts in {}",
                dir.display()
            )));
        }
        Ok(Self {
            engine,
            dir,
            rps_mask: None,
            xdp: false,
            nodes: (None, None),
        })
    }

    /// Swarm set-ups brought up from now on place the sender's and the receiver's tasks on
    /// these nodes (`PKTMMAP_TX_NODE`, `PKTMMAP_RX_NODE`; default: this node).
    pub fn with_nodes(mut self, tx: Option<String>, rx: Option<String>) -> Self {
        self.nodes = (tx, rx);
        self
    }

    /// Set-ups brought up from now on steer the receiver's softirq (RPS) to the cores in
    /// `mask` (bit n = core n); `None` leaves the kernel's default (the sending core, on veth).
    pub fn with_rps(mut self, mask: Option<u64>) -> Self {
        self.rps_mask = mask;
        self
    }

    /// Set-ups brought up from now on give their tools what AF_XDP needs beyond CAP_NET_RAW
    /// (`PKTMMAP_XDP=1` to the scripts: the docker engine adds capabilities to its
    /// containers, listed in `docker/compose/xdp.yml`; the netns engine needs nothing more).
    pub fn with_xdp(mut self, xdp: bool) -> Self {
        self.xdp = xdp;
        self
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Refuses any name that is not one of the engine's set-ups, before anything is brought up.
    pub fn check_names<S: AsRef<str>>(&self, names: &[S]) -> Result<(), Error> {
        for name in names {
            let name = name.as_ref();
            if !self.engine.setups().contains(&name) {
                return Err(Error::Request(format!(
                    "unknown set-up {name:?} for the {} engine: choose from {}",
                    self.engine,
                    self.engine.setups().join(", ")
                )));
            }
        }
        Ok(())
    }

    fn script(&self, name: &str) -> Result<PathBuf, Error> {
        self.check_names(&[name])?;
        Ok(self.dir.join(format!("{name}.sh")))
    }

    /// Brings set-up `name` up (idempotent).
    pub fn up(&self, name: &str) -> Result<SetupOutcome, Error> {
        let path = self.script(name)?;
        let (code, out, err) = run_script(&path, "up", self.rps_mask, self.xdp, &self.nodes)?;
        if code == SKIP_EXIT {
            let reason = out
                .lines()
                .chain(err.lines())
                .find_map(|l| l.strip_prefix("SKIP: "))
                .unwrap_or("skipped");
            return Ok(SetupOutcome::Skipped(reason.to_string()));
        }
        if code != 0 {
            return Ok(SetupOutcome::Failed(format!(
                "{name}.sh up exited {code}: {}",
                err.trim()
            )));
        }
        let (code, out, err) = run_script(&path, "env", self.rps_mask, self.xdp, &self.nodes)?;
        if code != 0 {
            return Ok(SetupOutcome::Failed(format!(
                "{name}.sh env exited {code}: {}",
                err.trim()
            )));
        }
        match parse_env(&out) {
            Ok(env) => Ok(SetupOutcome::Up(Box::new(env))),
            Err(e) => Ok(SetupOutcome::Failed(format!("{name}.sh env: {e}"))),
        }
    }

    /// Tears set-up `name` down.
    pub fn down(&self, name: &str) -> Result<(), Error> {
        let path = self.script(name)?;
        match run_script(&path, "down", None, self.xdp, &self.nodes)? {
            (0, _, _) => Ok(()),
            (code, _, err) => Err(Error::Tool(format!(
                "{name}.sh down exited {code}: {}",
                err.trim()
            ))),
        }
    }

    /// Removes every set-up's leftovers by name prefix (the docker engine's also removes the
    /// netns engine's); returns what it removed.
    pub fn down_all(&self) -> Result<String, Error> {
        match run_script(
            &self.dir.join("down-all.sh"),
            "all",
            None,
            false,
            &(None, None),
        )? {
            (0, out, _) => Ok(out),
            (code, _, err) => Err(Error::Tool(format!(
                "down-all.sh exited {code}: {}",
                err.trim()
            ))),
        }
    }
}

fn run_script(
    path: &Path,
    verb: &str,
    rps_mask: Option<u64>,
    xdp: bool,
    nodes: &(Option<String>, Option<String>),
) -> Result<(i32, String, String), Error> {
    let mut command = Command::new("bash");
    for (key, node) in [("PKTMMAP_TX_NODE", &nodes.0), ("PKTMMAP_RX_NODE", &nodes.1)] {
        if let Some(n) = node {
            command.env(key, n);
        }
    }
    command
        .arg(path)
        .arg(verb)
        .env_remove("PKTMMAP_RPS")
        .env_remove("PKTMMAP_XDP");
    if xdp {
        command.env("PKTMMAP_XDP", "1");
    }
    if let Some(mask) = rps_mask {
        command.env("PKTMMAP_RPS", format!("{mask:x}"));
    }
    let out = command.output().map_err(Error::io("run", &path))?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Whether `name` can be an `ip netns` name: letters, digits, `-`, `_`, `.`, not `.` or `..`.
fn valid_namespace_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// The keys every set-up's `env` output must give.
const REQUIRED_KEYS: [&str; 8] = [
    "SETUP", "TX_NS", "RX_NS", "TX_IF", "RX_IF", "TX_IP", "RX_IP", "DATAPATH",
];

/// Parses the `KEY=VALUE` lines of a script's `env` output (blank lines and `#` comments
/// skipped). A key the runner does not know, a line that is not `KEY=VALUE`, a required key
/// missing or empty, or a container on one side only is an error: a set-up script and the
/// runner that disagree must not produce rows.
pub fn parse_env(text: &str) -> Result<SetupEnv, Error> {
    let bad = |why: String| Error::Tool(format!("set-up env: {why}"));
    let mut e = SetupEnv::default();
    let mut seen: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(bad(format!("{line:?} is not KEY=VALUE")));
        };
        let k = k.trim();
        let v = v.trim().trim_matches('"').to_string();
        let some = |v: String| (!v.is_empty()).then_some(v);
        match k {
            "SETUP" => e.setup = v,
            "TX_NS" => e.tx_ns = v,
            "RX_NS" => e.rx_ns = v,
            "TX_IF" => e.tx_if = v,
            "RX_IF" => e.rx_if = v,
            "TX_IP" => e.tx_ip = v,
            "RX_IP" => e.rx_ip = v,
            "DATAPATH" => e.datapath = v,
            "NOTE" => e.note = v,
            "TX_CONTAINER" => e.tx_container = some(v),
            "RX_CONTAINER" => e.rx_container = some(v),
            "TX_NODE" => e.tx_node = some(v),
            "RX_NODE" => e.rx_node = some(v),
            "TX_ENGINE" => e.tx_engine = some(v),
            "RX_ENGINE" => e.rx_engine = some(v),
            "RPS" => e.rps = !v.is_empty(),
            "TX_IP6" => e.tx_ip6 = some(v),
            "RX_IP6" => e.rx_ip6 = some(v),
            "OVS_BRIDGE" => e.ovs_bridge = some(v),
            "PATH_NS" => e.path_ns = v.split_whitespace().map(str::to_string).collect(),
            other => return Err(bad(format!("unknown key {other}"))),
        }
        if let Some(known) = REQUIRED_KEYS.iter().find(|r| **r == k) {
            seen.push(known);
        }
    }
    let value = |k: &str| match k {
        "SETUP" => &e.setup,
        "TX_NS" => &e.tx_ns,
        "RX_NS" => &e.rx_ns,
        "TX_IF" => &e.tx_if,
        "RX_IF" => &e.rx_if,
        "TX_IP" => &e.tx_ip,
        "RX_IP" => &e.rx_ip,
        _ => &e.datapath,
    };
    let missing: Vec<&str> = REQUIRED_KEYS
        .into_iter()
        .filter(|k| !seen.contains(k) || value(k).is_empty())
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!("missing or empty: {}", missing.join(", "))));
    }
    if e.tx_container.is_some() != e.rx_container.is_some() {
        return Err(bad("TX_CONTAINER and RX_CONTAINER come together".into()));
    }
    if e.tx_ip6.is_some() != e.rx_ip6.is_some() {
        return Err(bad("TX_IP6 and RX_IP6 come together".into()));
    }
    if let Some(ns) = e.path_ns.iter().find(|ns| !valid_namespace_name(ns)) {
        return Err(bad(format!("PATH_NS {ns:?} is not a namespace name")));
    }
    if let Some(bridge) = &e.ovs_bridge {
        if crate::net::validate_interface_name(bridge).is_err() {
            return Err(bad(format!(
                "OVS_BRIDGE {bridge:?} is not an interface name"
            )));
        }
    }
    for v6 in [&e.tx_ip6, &e.rx_ip6].into_iter().flatten() {
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad(format!("{v6:?} is not an IPv6 address")));
        }
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NATIVE: &str = "SETUP=ovs\nTX_NS=a\nRX_NS=b\nTX_IF=pkm0\nRX_IF=pkm0\nTX_IP=10.77.3.1\nRX_IP=10.77.3.2\nDATAPATH=ovs-netdev\nNOTE=\"Open vSwitch netdev datapath\"\nRPS=\n";

    #[test]
    fn parses_a_scripts_env_output() {
        let e = parse_env(NATIVE).unwrap();
        assert_eq!(e.setup, "ovs");
        assert_eq!(e.rx_ip, "10.77.3.2");
        assert_eq!(e.datapath, "ovs-netdev");
        assert_eq!(e.note, "Open vSwitch netdev datapath");
        assert_eq!(e.tx_container, None);
        assert!(!e.rps);
        assert!(parse_env(&format!("{NATIVE}RPS=2\n")).unwrap().rps);
        assert_eq!(e.ovs_bridge, None);
        let e = parse_env(&format!("{NATIVE}OVS_BRIDGE=pkmovs0\n")).unwrap();
        assert_eq!(e.ovs_bridge.as_deref(), Some("pkmovs0"));
        let e = parse_env(&format!("{NATIVE}OVS_BRIDGE=a b;c\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not an interface name"), "{e}");
        assert_eq!(e_path(""), Ok(vec![]));
        assert_eq!(
            e_path("\"pktmmap-overlay-h1 pktmmap-overlay-h2\""),
            Ok(vec![
                "pktmmap-overlay-h1".into(),
                "pktmmap-overlay-h2".into()
            ])
        );
        for bad in ["../etc", "a/b", "..", "x;y"] {
            let e = e_path(bad).unwrap_err();
            assert!(e.contains("is not a namespace name"), "{bad}: {e}");
        }
    }

    fn e_path(v: &str) -> Result<Vec<String>, String> {
        parse_env(&format!("{NATIVE}PATH_NS={v}\n"))
            .map(|e| e.path_ns)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_env_the_runner_does_not_understand_is_refused_naming_what() {
        let e = parse_env(&format!("{NATIVE}TX_POD=x\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key TX_POD"), "{e}");
        let e = parse_env(&NATIVE.replace("RX_IP=10.77.3.2\n", "RX_IP=\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing or empty: RX_IP"), "{e}");
        let e = parse_env("SETUP=x\n").unwrap_err().to_string();
        assert!(
            e.contains("TX_NS, RX_NS, TX_IF, RX_IF, TX_IP, RX_IP, DATAPATH"),
            "{e}"
        );
        let e = parse_env(&format!("{NATIVE}oops\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"oops\" is not KEY=VALUE"), "{e}");
        let e = parse_env(&format!("{NATIVE}TX_CONTAINER=a\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("come together"), "{e}");
    }

    #[test]
    fn parses_a_docker_scripts_containers() {
        let e = parse_env(&format!(
            "{NATIVE}TX_CONTAINER=pktmmap-bridge-tx\nRX_CONTAINER=pktmmap-bridge-rx\n"
        ))
        .unwrap();
        assert_eq!(e.tx_container.as_deref(), Some("pktmmap-bridge-tx"));
        assert_eq!(e.rx_container.as_deref(), Some("pktmmap-bridge-rx"));
    }

    #[test]
    fn only_known_setups_are_run() {
        let setups = |engine| Setups {
            engine,
            dir: PathBuf::from("/x"),
            rps_mask: None,
            xdp: false,
            nodes: (None, None),
        };
        let netns = setups(Engine::Netns);
        let e = netns.script("eth0; rm -rf /").unwrap_err().to_string();
        assert!(e.starts_with("unknown set-up"), "{e}");
        assert!(netns.script("native").is_ok());
        let docker = setups(Engine::Docker);
        let e = docker.script("native").unwrap_err().to_string();
        assert!(e.contains("docker engine: choose from bridge, ovs"), "{e}");
        let swarm = setups(Engine::Swarm);
        assert!(swarm.script("overlay").is_ok());
        let e = swarm.script("bridge").unwrap_err().to_string();
        assert!(
            e.contains("swarm engine: choose from overlay, macvlan"),
            "{e}"
        );
    }

    #[test]
    fn a_swarm_scripts_nodes_are_read() {
        let e = parse_env(&format!(
            "{NATIVE}TX_CONTAINER=ab12\nRX_CONTAINER=cd34\nTX_NODE=vm\nRX_NODE=node2\nTX_ENGINE=\nRX_ENGINE=tcp://10.99.0.2:2375\n"
        ))
        .unwrap();
        assert_eq!(
            (e.tx_node.as_deref(), e.rx_node.as_deref()),
            (Some("vm"), Some("node2"))
        );
        assert_eq!(
            (e.tx_engine.as_deref(), e.rx_engine.as_deref()),
            (None, Some("tcp://10.99.0.2:2375"))
        );
    }
}
