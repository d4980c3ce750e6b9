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
