//! Test fixtures: network namespaces joined by veth, and the tools run inside them.
#![allow(dead_code)]

#[allow(unused_imports)] // not every test file uses every one
pub use pktmmap::report::{RxSummary, StopReason, TxSummary};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Network tests send real traffic on 2 cores: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The lock that serialises network tests, with the test's watchdog: held for the test's
/// whole body.
pub struct Serial {
    _lock: MutexGuard<'static, ()>,
    _watchdog: mpsc::Sender<()>,
}

/// How long one network test may hold the lock: `$PKTMMAP_TEST_TIMEOUT` seconds, default 1800
/// (the guest tests, the slowest, build an image and run profiles in a TCG guest).
fn test_timeout() -> Duration {
    let s = std::env::var("PKTMMAP_TEST_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1800);
    Duration::from_secs(s)
}

/// Takes the lock that serialises network tests (a failed test does not poison the others)
/// and starts the test's watchdog: a test still running after [`test_timeout`] is a hang, so
/// the whole test process exits 124 naming it, instead of eating CI's time. A hang elsewhere
/// is bounded by `experiments/test`'s overall `timeout`.
pub fn serial() -> Serial {
    let lock = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = std::thread::current()
        .name()
        .unwrap_or("a network test")
        .to_string();
    let (done, wait) = mpsc::channel::<()>();
    let limit = test_timeout();
    std::thread::spawn(move || {
        // The sender is dropped when the test ends (passed or panicked): Disconnected.
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "TIMEOUT {name}: still running after {} s ($PKTMMAP_TEST_TIMEOUT); exiting\n",
                    limit.as_secs()
                )
                .as_bytes(),
            );
            std::process::exit(124);
        }
    });
    Serial {
        _lock: lock,
        _watchdog: done,
    }
}

/// Whether a test that cannot get what it needs may skip: only when the person running the
/// tests says so (`PKTMMAP_ALLOW_SKIP=1`). By default it fails, so a skipped test can never
/// read as a pass; a skip prints `SKIPPED` and the reason even on a passing run.
pub fn skip_allowed(test: &str, why: &str) -> bool {
    if std::env::var_os("PKTMMAP_ALLOW_SKIP").is_some_and(|v| v == "1") {
        // Printed on the terminal, not captured: the harness hides a passing test's output.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIPPED {test}: {why} (PKTMMAP_ALLOW_SKIP=1)\n").as_bytes(),
        );
        return true;
    }
    panic!("{test} {why}; run as root, or set PKTMMAP_ALLOW_SKIP=1 to skip it knowingly");
}

/// True if the tests can create namespaces; without root the test fails unless skipping was
/// asked for ([`skip_allowed`]).
pub fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    !skip_allowed(test, "needs root (network namespaces, CAP_NET_RAW)")
}

/// Waits until process `pid` catches SIGINT and SIGTERM (`SigCgt` in /proc/PID/status): its
/// handlers are installed, so a signal sent next is the tool's to handle, not one that kills
/// `ip netns exec` (or the tool) before the tool is ready for it.
pub fn wait_for_signal_handlers(pid: u32) {
    let want: u64 = (1 << (libc::SIGINT - 1)) | (1 << (libc::SIGTERM - 1));
    let by = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0);
        if caught & want == want {
            return;
        }
        assert!(
            std::time::Instant::now() < by,
            "process {pid} never installed its SIGINT/SIGTERM handlers"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `ip` with `args`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A private copy of the `native` set-up, brought up by its script
/// (`experiments/setups/native.sh`, with `PKTMMAP_NS_PREFIX` naming this copy's namespaces):
/// namespaces `tx` and `rx` joined by a veth pair, `pkm0` 10.77.1.1/24 and 10.77.1.2/24.
/// Torn down by the script on drop, also when the test fails.
pub struct VethPair {
    pub tx_ns: String,
    pub rx_ns: String,
    pub tx_if: String,
    pub rx_if: String,
    pub tx_ip: String,
    pub rx_ip: String,
    prefix: String,
}

const NATIVE_SH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/experiments/setups/native.sh");

fn native_sh(prefix: &str, verb: &str) -> Output {
    let out = Command::new("bash")
        .args([NATIVE_SH, verb])
        .env("PKTMMAP_NS_PREFIX", prefix)
        .env_remove("PKTMMAP_RPS")
        .output()
        .expect("run native.sh");
    assert!(
        out.status.success(),
        "native.sh {verb} ({prefix}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl VethPair {
    pub fn new() -> Self {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("pktmmap-t{}{n}", std::process::id() % 100_000);
        native_sh(&prefix, "up");
        let env = String::from_utf8_lossy(&native_sh(&prefix, "env").stdout).into_owned();
        let get = |key: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("native.sh env lacks {key}: {env}"))
                .to_string()
        };
        VethPair {
            tx_ns: get("TX_NS"),
            rx_ns: get("RX_NS"),
            tx_if: get("TX_IF"),
            rx_if: get("RX_IF"),
            tx_ip: get("TX_IP"),
            rx_ip: get("RX_IP"),
            prefix,
        }
    }

    /// A command running `tool` inside namespace `ns`.
    pub fn cmd(ns: &str, tool: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, tool]).args(args);
        c
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Not native_sh(): a failed tear-down must not panic inside a panicking test.
        let _ = Command::new("bash")
            .args([NATIVE_SH, "down"])
            .env("PKTMMAP_NS_PREFIX", &self.prefix)
            .output();
    }
}

/// A running receiver: killed on drop if still running.
pub struct Receiver {
    child: Option<Child>,
    stderr: mpsc::Receiver<String>,
}

impl Receiver {
    /// Starts `tool args` in `ns` and waits until it prints its `ready` line.
    ///
    /// udp-rx gets a 4 MiB socket buffer unless the test sets one: the tests count exactly on
    /// a two-core machine running them side by side, and the default (208 KiB, ~5 ms at
    /// 50 kpps) overflows whenever udp-rx waits that long for a core (the runner does the same,
    /// `run::UDP_RCVBUF`).
    pub fn start(ns: &str, tool: &str, args: &[&str]) -> Self {
        let mut args = args.to_vec();
        if tool == UDP_RX && !args.contains(&"--rcvbuf") {
            args.extend(["--rcvbuf", "4194304"]);
        }
        let mut child = VethPair::cmd(ns, tool, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn receiver");
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut lines = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(l) if l.contains("ready") => break,
                Ok(l) => lines.push(l),
                Err(_) => {
                    let _ = child.kill();
                    panic!("{tool} never said ready; stderr: {lines:?}");
                }
            }
        }
        Receiver {
            child: Some(child),
            stderr: rx,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// Waits for the receiver to exit, however it ends; returns its exit status.
    pub fn finish_any(mut self) -> std::process::ExitStatus {
        self.child.take().unwrap().wait().expect("wait receiver")
    }

    /// Waits for the receiver to exit; returns its exit code and its summary.
    pub fn finish(mut self) -> (i32, RxSummary) {
        let out = self
            .child
            .take()
            .unwrap()
            .wait_with_output()
            .expect("wait receiver");
        let err: Vec<String> = self.stderr.try_iter().collect();
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "receiver printed no JSON ({e}): stdout {:?} stderr {err:?}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        (out.status.code().unwrap_or(-1), rx_summary(&json))
    }
}

impl Receiver {
    /// Waits for the receiver to exit; returns its exit code and every JSON line it printed
    /// (`--interval` with `--json`).
    pub fn finish_lines(mut self) -> (i32, Vec<serde_json::Value>) {
        let out = self
            .child
            .take()
            .unwrap()
            .wait_with_output()
            .expect("wait receiver");
        (out.status.code().unwrap_or(-1), json_lines(&out.stdout))
    }
}

/// Every line of `stdout` as JSON; panics naming the first line that is not.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts a receiver in the receiving namespace, waits for its ready line, runs a sender to
/// its end, and returns both summaries (the receiver must exit 0).
pub fn pair(p: &VethPair, rx: (&str, &[&str]), tx: (&str, &[&str])) -> (TxSummary, RxSummary) {
    let r = Receiver::start(&p.rx_ns, rx.0, rx.1);
    let t = send(&p.tx_ns, tx.0, tx.1);
    let (code, r) = r.finish();
    assert_eq!(code, 0, "receiver exit code; summary {r:?}");
    (t, r)
}

/// Runs a sender to completion; panics if it fails; returns its summary.
pub fn send(ns: &str, tool: &str, args: &[&str]) -> TxSummary {
    let out = VethPair::cmd(ns, tool, args).output().expect("run sender");
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    tx_summary(&serde_json::from_slice(&out.stdout).expect("sender JSON"))
}

/// A receiver's JSON summary read into its type (every field present with its type).
pub fn rx_summary(v: &serde_json::Value) -> RxSummary {
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("not a receiver summary ({e}): {v}"))
}

/// A sender's JSON summary read into its type.
pub fn tx_summary(v: &serde_json::Value) -> TxSummary {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not a sender summary ({e}): {v}"))
}

/// Runs a command to completion and returns its output.
pub fn run(ns: &str, tool: &str, args: &[&str]) -> Output {
    VethPair::cmd(ns, tool, args).output().expect("run tool")
}

pub const MMAP_TX: &str = env!("CARGO_BIN_EXE_mmap-tx");
pub const MMAP_RX: &str = env!("CARGO_BIN_EXE_mmap-rx");
pub const UDP_TX: &str = env!("CARGO_BIN_EXE_udp-tx");
pub const UDP_RX: &str = env!("CARGO_BIN_EXE_udp-rx");
pub const XDP_TX: &str = env!("CARGO_BIN_EXE_xdp-tx");
pub const XDP_RX: &str = env!("CARGO_BIN_EXE_xdp-rx");

/// The runner's binary.
pub const PKTMMAP: &str = env!("CARGO_BIN_EXE_pktmmap");

/// Runs the runner with `args`.
pub fn pktmmap(args: &[&str]) -> Output {
    Command::new(PKTMMAP)
        .args(args)
        .output()
        .expect("run pktmmap")
}

/// A fresh temporary directory path (not created) for results.
pub fn tmp(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pktmmap-exp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn stdout_of(c: &mut Command) -> String {
    c.output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// A command's exit code and output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `docker ARGS`.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run docker")
}

/// True if root and a Docker engine are here; otherwise skips (outside CI) or fails (in CI).
pub fn docker_or_skip(test: &str) -> bool {
    if !root_or_skip(test) {
        return false;
    }
    let engine = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if engine {
        return true;
    }
    !skip_allowed(test, "needs a Docker engine (docker info failed)")
}

/// Builds the image once per test binary with `docker/build.sh --print`; returns its output.
pub fn image() -> &'static str {
    static BUILT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let o = Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/docker/build.sh"))
            .arg("--print")
            .output()
            .expect("run docker/build.sh");
        assert!(o.status.success(), "docker/build.sh: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    })
}

/// Whether a process named `comm` runs anywhere on the host (containers included).
pub fn running(comm: &str) -> bool {
    !pids_of(comm).is_empty()
}

/// The host PIDs of every process named `comm` (containers included).
pub fn pids_of(comm: &str) -> Vec<i32> {
    pktmmap::process::pids_named(comm)
}

/// This engine's swarm state: `active` or `inactive`.
pub fn swarm_state() -> String {
    stdout_of(Command::new("docker").args(["info", "--format", "{{.Swarm.LocalNodeState}}"]))
        .trim()
        .to_string()
}

/// Everything a set-up of any engine could leave behind: namespaces, host links and OVS
/// bridges of ours, and Docker containers and networks named pktmmap-*.
pub fn leftovers() -> Vec<String> {
    let mut found: Vec<String> = stdout_of(Command::new("ip").args(["netns", "list"]))
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("pktmmap-") && !n.starts_with("pktmmap-t"))
        .map(|n| format!("netns {n}"))
        .collect();
    found.extend(
        stdout_of(Command::new("ip").args(["-o", "link", "show"]))
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n))
            .filter(|n| n.starts_with("pkm") && !n.starts_with("pkt"))
            .map(|n| format!("link {n}")),
    );
    found.extend(
        stdout_of(Command::new("ovs-vsctl").args(["--timeout=3", "list-br"]))
            .lines()
            .filter(|b| b.starts_with("pkm"))
            .map(|b| format!("ovs bridge {b}")),
    );
    found.extend(
        stdout_of(Command::new("docker").args(["ps", "--all", "--format", "{{.Names}}"]))
            .lines()
            .filter(|n| n.starts_with("pktmmap-"))
            .map(|n| format!("container {n}")),
    );
    found.extend(
        stdout_of(Command::new("docker").args(["network", "ls", "--format", "{{.Name}}"]))
            .lines()
            .filter(|n| n.starts_with("pktmmap-"))
            .map(|n| format!("docker network {n}")),
    );
    if swarm_state() == "active" {
        found.extend(
            stdout_of(Command::new("docker").args(["service", "ls", "--format", "{{.Name}}"]))
                .lines()
                .filter(|n| n.starts_with("pktmmap-"))
                .map(|n| format!("swarm service {n}")),
        );
    }
    for (path, what) in [
        (
            "/run/pktmmap-swarm.made",
            "the mark of a swarm a set-up made",
        ),
        ("/run/pktmmap-node2.pid", "the second Docker engine"),
        ("/run/pktmmap-nodes", "the list of second engines"),
        ("/var/lib/pktmmap-node2", "the second engine's data root"),
    ] {
        if std::path::Path::new(path).exists() {
            found.push(what.into());
        }
    }
    found
}

/// A runner (or another long process) the test started. If the test ends before the process
/// does — a failed assertion panics past its wait — the process is interrupted as Ctrl-C
/// would (SIGINT, to its whole process group where it leads one), so that it tears down its
/// set-ups and releases the host's lock instead of spoiling the tests after this one; SIGKILL
/// after 60 s.
pub struct Spawned(Option<Child>);

impl Spawned {
    /// Takes charge of `child`.
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    /// Starts `command` (the runner, with its arguments) in a process group of its own, as
    /// a terminal starts a job (a test signals the group as Ctrl-C would), stdout and stderr
    /// collected.
    pub fn pktmmap(command: &mut Command) -> Self {
        use std::os::unix::process::CommandExt;
        Self::new(
            command
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0)
                .spawn()
                .expect("start pktmmap"),
        )
    }

    /// The process's ID.
    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("not yet waited for").id()
    }

    /// Waits for it to end, collecting what it printed.
    pub fn wait_with_output(mut self) -> std::io::Result<Output> {
        self.0
            .take()
            .expect("not yet waited for")
            .wait_with_output()
    }

    /// SIGKILL, to the process alone.
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.0.as_mut().expect("not yet waited for").kill()
    }

    /// Waits for it to end.
    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.as_mut().expect("not yet waited for").wait()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::{getpgid, Pid};
        let Some(mut child) = self.0.take() else {
            return;
        };
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        let pid = Pid::from_raw(child.id() as i32);
        let target = if getpgid(Some(pid)) == Ok(pid) {
            Pid::from_raw(-pid.as_raw())
        } else {
            pid
        };
        let _ = kill(target, Signal::SIGINT);
        let by = std::time::Instant::now() + Duration::from_secs(60);
        while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < by {
            std::thread::sleep(Duration::from_millis(50));
        }
        if matches!(child.try_wait(), Ok(None)) {
            let _ = kill(target, Signal::SIGKILL);
        }
        let _ = child.wait();
    }
}

/// A set-up script of this repository (`docker/setups/bridge.sh`, ...) run directly with
/// extra environment (`PKTMMAP_RPS`, `PKTMMAP_NS_PREFIX`, ...) for each action, as the runner
/// runs it; taken down however the test ends.
pub struct ScriptSetup {
    script: std::path::PathBuf,
    env: Vec<(String, String)>,
}

impl ScriptSetup {
    /// `SCRIPT up` with `env` (the path relative to the repository), and its output.
    pub fn up(script: &str, env: &[(&str, &str)]) -> (Self, Output) {
        let setup = Self {
            script: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(script),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let out = setup.command("up").output();
        (setup, out.expect("set-up script"))
    }

    /// `SCRIPT down` now, and its output (dropping the set-up runs it again, harmlessly).
    pub fn down(&self) -> Output {
        self.command("down").output().expect("set-up script")
    }

    /// `SCRIPT env`: the set-up's environment lines.
    pub fn env(&self) -> String {
        stdout_of(&mut self.command("env"))
    }

    fn command(&self, action: &str) -> Command {
        // The default prefix unless the test gives one (set after the removal).
        let mut c = Command::new(&self.script);
        c.arg(action)
            .env_remove("PKTMMAP_NS_PREFIX")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }
}

impl Drop for ScriptSetup {
    fn drop(&mut self) {
        let _ = self.command("down").output();
    }
}

/// The receive packet steering mask of every RX queue of `interface` in namespace `ns`.
pub fn rps_masks(ns: &str, interface: &str) -> Vec<u64> {
    let glob = format!("/sys/class/net/{interface}/queues/rx-*/rps_cpus");
    stdout_of(Command::new("ip").args(["netns", "exec", ns, "sh", "-c", &format!("cat {glob}")]))
        .lines()
        .map(|l| u64::from_str_radix(&l.replace(',', ""), 16).expect("a hex CPU mask"))
        .collect()
}

/// How `/sys` is mounted in the mount namespace of process `pid`: (mount options, superblock
/// options), from its mountinfo.
pub fn sys_mount_of(pid: &str) -> (String, String) {
    let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    let line = info
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/sys"))
        .unwrap_or_else(|| panic!("no /sys in {info}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[5].to_string(), fields[fields.len() - 1].to_string())
}
