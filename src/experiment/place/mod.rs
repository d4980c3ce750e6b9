//! Where tools run and how they are supervised: the one launch layer the runner, the
//! benchmark and the tests share.
//!
//! A [`Place`] turns a tool's name into a command and delivers signals to what it started
//! there. Two places exist: [`Netns`] (`ip netns exec`) and [`Container`] (`docker exec`); a
//! new one (a Kubernetes pod, a host reached another way) is one more implementation.
//!
//! - [`argv`]: command lines from typed structs ([`SenderArgs`], [`ReceiverArgs`]), never
//!   from a shell string.
//! - [`process`]: a started tool ([`ToolProcess`]), killed when dropped, so a failing run
//!   leaves nothing behind.
//! - [`protocol`]: the tools' JSON lines (interval reports, the summary).
//! - [`fate`]: the receive-side fate rule (the nft ingress drop).
//! - [`setup`]: the set-up scripts (up, down, env) and what they say of each side.
//! - [`switch`]: the drops a software switch (Open vSwitch) counts itself, around each run.
//! - [`links`]: the transmit drops of the path's interfaces (a veth into a full XDP ring),
//!   around each run.
//! - [`lock`]: one measurement per host.
//! - [`host`]: facts about the host every row records.
//! - [`conditions`]: the conditions of each set-up (interfaces' MTU, queues, RPS, offloads;
//!   busy polling; versions), recorded once beside the rows.

pub mod argv;
pub mod conditions;
pub mod fate;
pub mod host;
pub mod links;
pub mod lock;
pub mod process;
pub mod protocol;
pub mod setup;
pub mod switch;

use std::path::Path;
use std::process::{Command, Stdio};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

pub use argv::{ReceiverArgs, SenderArgs};
pub use fate::IngressDrop;
pub use process::{Exit, ToolProcess};
pub use protocol::{parse_intervals, parse_summary};

/// Runs `argv` here (never through a shell) and returns its stdout, or in one line why not
/// (it could not start, or it failed: its stderr).
pub fn stdout_of(argv: &[&str]) -> Result<String, String> {
    let o = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| format!("{}: {e}", argv[0]))?;
    if !o.status.success() {
        return Err(format!(
            "{} failed: {}",
            argv.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Somewhere our tools can run.
pub trait Place: std::fmt::Debug {
    /// The command that runs our tool `tool` there.
    fn command(&self, tool: &str) -> Command;

    /// Whether `tool`, which `child` (the local process) started there, has its SIGINT
    /// handler installed: before that, a SIGINT would kill it without a summary.
    fn catches_sigint(&self, child: u32, tool: &str) -> bool {
        let _ = tool;
        crate::process::catches_sigint(child as i32)
    }

    /// Delivers `signal` to `tool`, which `child` (the local process) started there.
    fn signal(&self, child: u32, tool: &str, signal: Signal) {
        let _ = tool;
        let _ = kill(Pid::from_raw(child as i32), signal);
    }

    /// Why nothing can run there any more (a container killed, its node gone), or `None`
    /// while it is usable. A place that cannot vanish mid-run is always usable.
    fn lost(&self) -> Option<String> {
        None
    }
}

impl Place for Box<dyn Place + '_> {
    fn command(&self, tool: &str) -> Command {
        (**self).command(tool)
    }
    fn catches_sigint(&self, child: u32, tool: &str) -> bool {
        (**self).catches_sigint(child, tool)
    }
    fn signal(&self, child: u32, tool: &str, signal: Signal) {
        (**self).signal(child, tool, signal)
    }
    fn lost(&self) -> Option<String> {
        (**self).lost()
    }
}

/// A network namespace made by `ip netns`; the tools come from `bin_dir`.
#[derive(Debug, Clone, Copy)]
pub struct Netns<'a> {
    /// The namespace.
    pub ns: &'a str,
    /// Directory holding our tools.
    pub bin_dir: &'a Path,
}

impl Netns<'_> {
    /// The command that runs any `program` (not only ours) in the namespace.
    pub fn external(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.ns]).arg(program);
        c
    }
}

impl Place for Netns<'_> {
    fn command(&self, tool: &str) -> Command {
        self.external(&self.bin_dir.join(tool))
    }
}

/// A running container of the pktmmap image; the image's PATH holds the tools.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// The container's name.
    pub name: &'a str,
    /// The Docker engine that runs it (`docker -H`), where it is not this host's default
    /// one: a second engine on this machine, as a swarm node.
    pub engine: Option<&'a str>,
}

impl Container<'_> {
    fn docker(&self) -> Command {
        let mut c = Command::new("docker");
        if let Some(host) = self.engine {
            c.args(["-H", host]);
        }
        c
    }
}

impl Place for Container<'_> {
    fn command(&self, tool: &str) -> Command {
        let mut c = self.docker();
        c.args(["exec", self.name, tool]);
        c
    }

    /// Asked inside the container (`pktmmap-idle catches-sigint TOOL`), through its engine:
    /// the same for an engine on this machine and one reached over the network.
    fn catches_sigint(&self, _child: u32, tool: &str) -> bool {
        self.docker()
            .args(["exec", self.name, "pktmmap-idle", "catches-sigint", tool])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Asks its engine whether the container still runs.
    fn lost(&self) -> Option<String> {
        let out = self
            .docker()
            .args(["inspect", "--format", "{{.State.Status}}", self.name])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let state = String::from_utf8_lossy(&o.stdout).trim().to_string();
                (state != "running").then(|| {
                    format!(
                        "container {} is {state} (killed, or its node is gone)",
                        self.name
                    )
                })
            }
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
                let answers = self
                    .docker()
                    .args(["version", "--format", "{{.Server.Version}}"])
                    .output()
                    .is_ok_and(|v| v.status.success());
                Some(if answers {
                    format!("container {} cannot be found: {err}", self.name)
                } else {
                    format!(
                        "container {} is out of reach: its engine ({}) does not answer (its node is gone?): {err}",
                        self.name,
                        self.engine.unwrap_or("this host's")
                    )
                })
            }
            Err(e) => Some(format!(
                "cannot run docker to find container {}: {e}",
                self.name
            )),
        }
    }

    /// `docker exec` does not forward signals: the signal is sent inside the container
    /// (`pktmmap-idle signal SIGNAL TOOL`), through its engine, so it reaches the tool on
    /// whichever machine the container runs. The `docker exec` client must live on to relay
    /// the tool's summary, so only SIGKILL also ends it.
    fn signal(&self, child: u32, tool: &str, signal: Signal) {
        let _ = self
            .docker()
            .args([
                "exec",
                self.name,
                "pktmmap-idle",
                "signal",
                signal.as_str(),
                tool,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if signal == Signal::SIGKILL {
            let _ = kill(Pid::from_raw(child as i32), signal);
        }
    }
}
