//! What tests leave behind and what takes it down however a test ends: leftovers, the
//! runner a test started, a set-up brought up by its script; what a set-up set (RPS, mounts).

use super::*;
/// What `program args` printed, or why it could not list anything: a listing that fails
/// must not read as "nothing left".
fn listing(program: &str, args: &[&str]) -> Result<String, String> {
    match Command::new(program).args(args).output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => Err(format!(
            "cannot tell: `{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("cannot tell: `{program}` did not run: {e}")),
    }
}

/// Everything a set-up of any engine could leave behind: namespaces (the tests' own pairs
/// too, except those a test of this process still holds), host links and OVS bridges of
/// ours, and Docker containers and networks named pktmmap-*. A listing command that fails is
/// itself a finding, so that a broken `ip` or `docker` cannot hide a leak.
pub fn leftovers() -> Vec<String> {
    let mut found = Vec::new();
    let mut list =
        |program: &str, args: &[&str], keep: &dyn Fn(&str) -> Option<String>| match listing(
            program, args,
        ) {
            Ok(out) => found.extend(out.lines().filter_map(keep)),
            Err(e) => found.push(e),
        };
    let held = held_namespaces();
    list("ip", &["netns", "list"], &|l| {
        let n = l.split_whitespace().next()?;
        (n.starts_with("pktmmap-") && !held.iter().any(|h| h == n)).then(|| format!("netns {n}"))
    });
    list("ip", &["-o", "link", "show"], &|l| {
        let n = l.split(": ").nth(1)?;
        let n = n.split('@').next().unwrap_or(n);
        (n.starts_with("pkm") && !n.starts_with("pkt")).then(|| format!("link {n}"))
    });
    // Without a running OVS database there is no OVS bridge to leave (the set-up stops what
    // it started); with one, a failing ovs-vsctl is a finding.
    if std::path::Path::new("/var/run/openvswitch/db.sock").exists() {
        list("ovs-vsctl", &["--timeout=3", "list-br"], &|b| {
            b.starts_with("pkm").then(|| format!("ovs bridge {b}"))
        });
    }
    list("docker", &["ps", "--all", "--format", "{{.Names}}"], &|n| {
        n.starts_with("pktmmap-").then(|| format!("container {n}"))
    });
    list(
        "docker",
        &["network", "ls", "--format", "{{.Name}}"],
        &|n| {
            n.starts_with("pktmmap-")
                .then(|| format!("docker network {n}"))
        },
    );
    if swarm_state() == "active" {
        list(
            "docker",
            &["service", "ls", "--format", "{{.Name}}"],
            &|n| {
                n.starts_with("pktmmap-")
                    .then(|| format!("swarm service {n}"))
            },
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

/// A set-up brought up by the runner (`pktmmap [--engine E] setup up NAME`) and taken down
/// the same way however the test ends, so that a failed assertion does not leave it behind
/// for every later test's `leftovers()` check.
pub struct RunnerSetup {
    engine: &'static str,
    name: String,
}

impl RunnerSetup {
    /// `pktmmap --engine ENGINE setup up NAME`, and its output (the test asserts on it).
    pub fn up(engine: &'static str, name: &str) -> (Self, Output) {
        let setup = Self {
            engine,
            name: name.to_string(),
        };
        let out = super::pktmmap(&["--engine", engine, "setup", "up", name]);
        (setup, out)
    }

    /// A guard that takes NAME down when dropped, for a test that expects `up` to be refused.
    pub fn guard(engine: &'static str, name: &str) -> Self {
        Self {
            engine,
            name: name.to_string(),
        }
    }

    /// `pktmmap --engine ENGINE setup down NAME` now, and its output (dropping the guard runs
    /// it again, harmlessly).
    pub fn down(&self) -> Output {
        super::pktmmap(&["--engine", self.engine, "setup", "down", &self.name])
    }
}

impl Drop for RunnerSetup {
    fn drop(&mut self) {
        let _ = self.down();
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
