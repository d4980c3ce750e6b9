//! The Docker engine, our image and the swarm, and the processes anywhere on the host.

use super::*;
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

/// Packets sent from the network namespace of process `pid` (every interface but `lo`, from
/// the kernel's link statistics read with `ip` inside it), or `None` once the process is gone.
fn netns_tx_packets(pid: i32) -> Option<u64> {
    let o = Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "-n",
            "ip",
            "-j",
            "-s",
            "link",
            "show",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let links: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    Some(
        links
            .as_array()?
            .iter()
            .filter(|l| l["ifname"] != "lo")
            .filter_map(|l| l["stats64"]["tx"]["packets"].as_u64())
            .sum(),
    )
}

/// Waits until a process named `comm` (a sender, anywhere on the host: a namespace or a
/// container) has sent at least `packets` packets out of its namespace since this call first
/// saw it: the observable event "it is sending", instead of a fixed sleep after it starts.
pub fn wait_until_sending(comm: &str, packets: u64) {
    let by = std::time::Instant::now() + Duration::from_secs(120);
    let mut first: Vec<(i32, u64)> = Vec::new();
    loop {
        for pid in pids_of(comm) {
            let Some(now) = netns_tx_packets(pid) else {
                continue;
            };
            match first.iter().find(|(p, _)| *p == pid) {
                Some((_, at)) if now.saturating_sub(*at) >= packets => return,
                Some(_) => {}
                None => first.push((pid, now)),
            }
        }
        assert!(
            std::time::Instant::now() < by,
            "{comm} never sent {packets} packets (first seen: {first:?})"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What confines a container's first process, as the kernel reports it (`/proc/PID/status`,
/// `/proc/PID/mountinfo`) and the engine records it.
#[derive(Debug, PartialEq, Eq)]
pub struct Confinement {
    /// `CapEff`, `CapPrm` and `CapBnd`, in hex as the kernel prints them.
    pub caps: [String; 3],
    /// `NoNewPrivs: 1`.
    pub no_new_privs: bool,
    /// `/` mounted `ro`.
    pub read_only_root: bool,
    /// `HostConfig.Privileged`.
    pub privileged: bool,
}

/// CAP_NET_RAW (bit 13) alone, as `/proc/PID/status` prints a capability set.
pub const NET_RAW_ONLY: &str = "0000000000002000";

/// The [`Confinement`] of `container` (a name or ID on this host's engine).
pub fn confinement(container: &str) -> Confinement {
    let inspect = |format: &str| {
        let o = docker(&["inspect", "--format", format, container]);
        assert!(o.status.success(), "{}", super::text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let pid = inspect("{{.State.Pid}}");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {status}"))
            .trim()
            .to_string()
    };
    let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let root = info
        .lines()
        .find(|l| l.split_whitespace().nth(4) == Some("/"))
        .unwrap_or_else(|| panic!("no / in {info}"));
    let options = root.split_whitespace().nth(5).unwrap();
    Confinement {
        caps: ["CapEff:", "CapPrm:", "CapBnd:"].map(field),
        no_new_privs: field("NoNewPrivs:") == "1",
        read_only_root: options.split(',').any(|o| o == "ro"),
        privileged: inspect("{{.HostConfig.Privileged}}") == "true",
    }
}
