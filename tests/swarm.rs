//! The swarm engine end to end on a single-node swarm: the quick profile on the swarm's
//! overlay and macvlan networks with exact counts, an interrupted run, a killed task, bad nodes
//! and a missing image; on two nodes (a second engine in a namespace): the quick profile with
//! the receiver's engine reached over ssh, and the receiver's node lost outright. Each checks
//! that the swarm is left as found (here: inactive, as the test starts it) with no service,
//! network, namespace, link or second engine of ours. Needs root, a Docker engine and sshd.

mod common;

use std::process::Command;

use common::{
    confinement, docker, docker_test, image, leftovers, pktmmap, rps_masks, running, swarm_state,
    text, tmp, wait_until_sending, Confinement, RunnerSetup, ScriptSetup, Serial, Spawned,
    NET_RAW_ONLY, PKTMMAP,
};
use pktmmap::experiment::plan::kinds::{App, Engine, Family, Status};
use pktmmap::experiment::rows::{read_rows, Row};

/// How every swarm test starts: [`docker_test`], then the swarm as the test found it must be
/// inactive (CI's engine is; a developer's swarm is not touched by these tests).
fn swarm_test() -> Option<Serial> {
    let guard = docker_test()?;
    let state = swarm_state();
    assert_eq!(
        state, "inactive",
        "these tests make and leave their own single-node swarm: this engine's swarm is {state}"
    );
    Some(guard)
}

/// Starts `pktmmap --engine swarm run` of profile `prof` on the overlay (mmap only, results in
/// `out`) and returns once its first mmap-tx has sent 1,000 packets.
fn run_until_mmap_tx_sends(prof: &std::path::Path, out: &std::path::Path) -> Spawned {
    run_until_mmap_tx_sends_with(prof, out, &[])
}

/// The same, with more environment variables for the runner.
fn run_until_mmap_tx_sends_with(
    prof: &std::path::Path,
    out: &std::path::Path,
    env: &[(&str, &str)],
) -> Spawned {
    let child = Spawned::pktmmap(
        Command::new(PKTMMAP)
            .envs(env.iter().copied())
            .args(["--engine", "swarm", "run", "--profile"])
            .arg(prof)
            .args([
                "--setup", "overlay", "--app", "mmap", "--plot", "false", "--out",
            ])
            .arg(out),
    );
    wait_until_sending("mmap-tx", 1000);
    child
}

/// A profile in `dir` of one point of 2,000,000 packets at 100 kpps: 20 s of traffic unless
/// an interrupt reaches the tools.
fn long_point(dir: &std::path::Path) -> std::path::PathBuf {
    let prof = dir.join("long.toml");
    std::fs::write(
        &prof,
        "name = \"long\"\ndescription = \"one long paced point\"\nrepetitions = 1\n\n\
         [[scenario]]\nname = \"count\"\nvary = \"count\"\nvalues = [\"2000000\"]\n\
         rate = \"100kpps\"\nsize = 64\n",
    )
    .unwrap();
    prof
}

/// A profile in `dir` of three points of 3 s each (30,000 packets at 10 kpps).
fn three_points(dir: &std::path::Path) -> std::path::PathBuf {
    let prof = dir.join("three.toml");
    std::fs::write(
        &prof,
        "name = \"three\"\ndescription = \"three paced points\"\nrepetitions = 1\n\n\
         [[scenario]]\nname = \"count\"\nvary = \"count\"\n\
         values = [\"30000\", \"30001\", \"30002\"]\nrate = \"10kpps\"\nsize = 64\n",
    )
    .unwrap();
    prof
}

fn this_node() -> String {
    String::from_utf8_lossy(&docker(&["info", "--format", "{{.Name}}"]).stdout)
        .trim()
        .to_string()
}

#[test]
fn the_quick_profile_runs_on_a_single_node_swarm_overlay_and_macvlan() {
    let Some(_g) = swarm_test() else {
        return;
    };
    image();
    let out = tmp("swarm-quick");
    let o = pktmmap(&[
        "--engine",
        "swarm",
        "run",
        "--profile",
        "quick",
        "--app",
        "mmap,udp",
        "--family",
        "both",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let all = read_rows(&out).unwrap();
    // The swarm's networks are IPv4 only: each IPv6 point is a skipped row that says why,
    // and the run still succeeds.
    let (rows, ipv6): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.family == Family::V4);
    assert_eq!(ipv6.len(), 24, "{ipv6:?}");
    for r in &ipv6 {
        assert_eq!(r.status, Status::Skipped, "{r:?}");
        assert!(r.reason.contains("has no IPv6 addresses"), "{r:?}");
        assert_eq!(r.sent, None, "nothing sent: {r:?}");
    }
    // Two set-ups x 6 points x 2 apps.
    assert_eq!(rows.len(), 24, "{rows:?}");
    let node = this_node();
    for r in &rows {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(r.engine, Engine::Swarm);
        // hostname/short node ID: two engines on one machine share the hostname.
        assert!(r.tx_node.starts_with(&format!("{node}/")), "{r:?}");
        assert_eq!(r.tx_node, r.rx_node, "one node: {r:?}");
        assert!(r.shares_clock());
        let want = if r.setup == "overlay" {
            "swarm-overlay"
        } else {
            "swarm-macvlan"
        };
        assert_eq!(r.datapath, want, "{r:?}");
        // On one node nothing is lost on either network: every packet sent arrives once.
        assert_eq!(
            (r.sent, r.unique, r.lost),
            (Some(r.count), Some(r.count), Some(0)),
            "{r:?}"
        );
    }
    assert!(rows
        .iter()
        .any(|r| r.app == App::Udp && r.setup == "macvlan"));
    assert!(out.join("report.html").is_file());
    assert_eq!(swarm_state(), "inactive", "the swarm the run made is left");
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn receive_steering_reaches_the_receiving_task_and_other_prefixes_are_cleaned_up() {
    let Some(_g) = swarm_test() else {
        return;
    };
    image();
    let networks = || {
        let o = docker(&["network", "ls", "--format", "{{.Name}}"]);
        let mut names: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        names.sort();
        names
    };
    let before = networks();
    // PKTMMAP_RPS was once recorded (RPS=2, the rows' rps column) but never applied to a
    // swarm task's interface.
    let (setup, up) = ScriptSetup::up("docker/swarm/overlay.sh", &[("PKTMMAP_RPS", "2")]);
    assert!(up.status.success(), "{}", text(&up));
    let env = setup.env();
    assert!(env.lines().any(|l| l == "RPS=2"), "{env}");
    let rx_if = env
        .lines()
        .find_map(|l| l.strip_prefix("RX_IF="))
        .unwrap_or_else(|| panic!("no RX_IF in {env}"))
        .to_string();
    let masks = rps_masks("pktmmap-sw-overlay-rx", &rx_if);
    assert!(
        !masks.is_empty() && masks.iter().all(|&m| m == 2),
        "{masks:?}"
    );
    // README, "Across machines": the tasks get CAP_NET_RAW only and a read-only root, never
    // privileged; and no `no_new_privs` (a service has no such option in Docker 20.10).
    for side in ["tx", "rx"] {
        let service = format!("pktmmap-sw-overlay-{side}");
        let filter = format!("label=com.docker.swarm.service.name={service}");
        let o = docker(&["ps", "--filter", &filter, "--format", "{{.ID}}"]);
        let ids = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert_eq!(
            ids.lines().count(),
            1,
            "one task of {service}: {}",
            text(&o)
        );
        assert_eq!(
            confinement(&ids),
            Confinement {
                caps: [NET_RAW_ONLY; 3].map(str::to_string),
                no_new_privs: false,
                read_only_root: true,
                privileged: false,
            },
            "{service}"
        );
    }
    drop(setup);
    assert_eq!(swarm_state(), "inactive");
    // Docker left as found: the swarm's docker_gwbridge goes with the swarm made here (swarm
    // init makes it, leaving keeps it).
    assert_eq!(networks(), before);
    // With another namespace prefix the overlay network is named after it too, so that its
    // down finds and removes it (it once made pktmmap-sw-overlay whatever the prefix).
    let (setup, up) = ScriptSetup::up(
        "docker/swarm/overlay.sh",
        &[("PKTMMAP_NS_PREFIX", "pktmmap-px")],
    );
    assert!(up.status.success(), "{}", text(&up));
    let networks = docker(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(
        String::from_utf8_lossy(&networks.stdout)
            .lines()
            .any(|n| n == "pktmmap-px-sw-overlay"),
        "{}",
        text(&networks)
    );
    let down = setup.down();
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(swarm_state(), "inactive");
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn an_interrupted_swarm_run_keeps_its_rows_and_leaves_nothing() {
    let Some(_g) = swarm_test() else {
        return;
    };
    image();
    interrupted_long_run("swarm-sigint", &[]);
    assert_eq!(swarm_state(), "inactive");
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// Runs the long point on the overlay (the runner with `env` added), interrupts it as a
/// terminal's Ctrl-C does (SIGINT to the runner's whole process group) once mmap-tx sends,
/// and checks the one partial row: what was sent, and loss against it from the receiver's
/// partial summary. Returns that row.
fn interrupted_long_run(tag: &str, env: &[(&str, &str)]) -> Row {
    let out = tmp(tag);
    std::fs::create_dir_all(&out).unwrap();
    let prof = long_point(&out);
    let child = run_until_mmap_tx_sends_with(&prof, &out, env);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(-(child.id() as i32)),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    let mut rows = read_rows(&out).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = rows.remove(0);
    assert_eq!(r.status, Status::Partial, "{r:?}");
    let sent = r.sent.expect("the sender's partial summary");
    assert!(sent > 0 && sent < 2_000_000, "{r:?}");
    let unique = r.unique.expect("the receiver's partial summary");
    let lost = r.lost.unwrap();
    assert!(
        unique + lost <= sent,
        "loss against what was sent, not the 2,000,000: {r:?}"
    );
    let _ = std::fs::remove_dir_all(&out);
    r
}

#[test]
fn a_receiver_task_killed_mid_run_fails_its_rows_with_the_reason_and_the_run_goes_on() {
    let Some(_g) = swarm_test() else {
        return;
    };
    image();
    let out = tmp("swarm-rx-killed");
    std::fs::create_dir_all(&out).unwrap();
    // Three points of 3 s each; the receiver's task is killed during the first.
    let prof = three_points(&out);
    let child = run_until_mmap_tx_sends(&prof, &out);
    let rx_task = docker(&[
        "ps",
        "--quiet",
        "--filter",
        "label=com.docker.swarm.service.name=pktmmap-sw-overlay-rx",
    ]);
    let rx_task = String::from_utf8_lossy(&rx_task.stdout).trim().to_string();
    assert!(
        !rx_task.is_empty() && !rx_task.contains('\n'),
        "one rx task: {rx_task:?}"
    );
    let k = docker(&["kill", &rx_task]);
    assert!(k.status.success(), "{}", text(&k));
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "failed rows make the run exit 1: {}",
        text(&o)
    );
    let rows = read_rows(&out).unwrap();
    assert_eq!(rows.len(), 3, "every point has its row: {rows:?}");
    assert!(rows.iter().all(|r| r.status == Status::Failed), "{rows:?}");
    assert_eq!(
        rows[0].received, None,
        "nothing made up for the lost receiver"
    );
    let gone = format!("receiver's container {rx_task} is exited (killed, or its node is gone)");
    assert_eq!(
        rows[0].reason,
        format!("mmap-rx exited 137 (signal 9) without a summary; {gone}"),
        "the killed run names the receiver, how it ended and its container"
    );
    for r in &rows[1..] {
        assert!(
            r.reason == gone && r.sent.is_none(),
            "later runs fail at once, nothing sent: {r:?}"
        );
    }
    assert_eq!(swarm_state(), "inactive");
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_node_that_does_not_exist_a_missing_image_or_no_engine_is_refused_with_its_reason() {
    let Some(_g) = swarm_test() else {
        return;
    };
    image();
    let o = pktmmap(&[
        "--engine",
        "swarm",
        "--rx-node",
        "nosuch-node",
        "setup",
        "up",
        "overlay",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no swarm node named nosuch-node"),
        "{}",
        text(&o)
    );
    // The failed up left nothing, not even the swarm it made.
    assert_eq!(swarm_state(), "inactive");
    assert_eq!(leftovers(), Vec::<String>::new());

    // No engine to talk to: skipped (exit 3), saying what is missing.
    let o = Command::new(PKTMMAP)
        .args(["--engine", "swarm", "setup", "up", "overlay"])
        .env("DOCKER_HOST", "unix:///run/pktmmap-no-engine.sock")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "overlay: skipped: the Docker engine is not running (docker info failed)",
        "{}",
        text(&o)
    );
    assert_eq!(swarm_state(), "inactive");

    let o = Command::new(PKTMMAP)
        .args(["--engine", "swarm", "setup", "up", "overlay"])
        .env("PKTMMAP_IMAGE", "pktmmap:not-built")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("image pktmmap:not-built not found") && err.contains("docker/build.sh"),
        "{err}"
    );
    assert_eq!(swarm_state(), "inactive");
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// `docker/swarm/second-node.sh ARGS`.
fn second_node(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docker/swarm/second-node.sh"
        ))
        .args(args)
        .output()
        .unwrap()
}

/// `second-node.sh env` as a lookup: the value of `NAME=` (panics if it is missing).
fn second_node_env() -> impl Fn(&str) -> String {
    let env = String::from_utf8_lossy(&second_node(&["env"]).stdout).into_owned();
    move |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} missing in {env}"))
            .to_string()
    }
}

/// Takes the second engine down however the test ends.
struct SecondNode;

impl Drop for SecondNode {
    fn drop(&mut self) {
        let _ = second_node(&["down"]);
    }
}

#[test]
fn two_swarm_nodes_reached_over_ssh_carry_every_packet_across_the_overlay_and_are_recorded() {
    let Some(_g) = swarm_test() else {
        return;
    };
    image();
    // The second node as the README's second machine: its image loaded with `docker save |
    // ssh ... docker load`, its engine listed as ssh://root@10.77.70.2 and reached over ssh.
    let up = second_node(&["up", "--ssh"]);
    let _down = SecondNode;
    assert!(up.status.success(), "{}", text(&up));
    let env = second_node_env();
    let (node2, engine) = (env("NODE2_ID"), env("NODE2_ENGINE"));
    assert_eq!(engine, "ssh://root@10.77.70.2");
    let logins = || {
        std::fs::read_to_string(env("NODE2_SSH_LOG"))
            .unwrap()
            .matches("Accepted publickey for root from 10.77.70.1")
            .count()
    };
    let before = logins();
    assert!(before >= 1, "the image went over ssh");
    let out = tmp("swarm-two");
    // The receiver goes to the second node by default: there is one whose engine is reachable.
    let path = format!(
        "{}:{}",
        env("NODE2_SSH_PATH"),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = Command::new(PKTMMAP)
        .args(["--engine", "swarm", "run", "--profile", "quick"])
        .args(["--setup", "overlay", "--app", "mmap,udp", "--out"])
        .arg(&out)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let rows = read_rows(&out).unwrap();
    assert_eq!(rows.len(), 12, "{rows:?}");
    assert!(
        logins() - before >= rows.len(),
        "every run reached its receiver over ssh: {} logins",
        logins() - before
    );
    for r in &rows {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert!(r.rx_node.ends_with(&node2[..12]), "{r:?}");
        assert_ne!(r.tx_node, r.rx_node);
        assert!(!r.shares_clock());
        assert_eq!(
            (r.sent, r.unique, r.lost),
            (Some(r.count), Some(r.count), Some(0)),
            "{r:?}"
        );
        // Round trips need no shared clock: the swarm engine times every 1000th probe's, and
        // every one came back across the overlay.
        assert_eq!(r.reflect_every, Some(1000), "{r:?}");
        assert_eq!(
            r.reflections_expected,
            Some(r.count.div_ceil(1000)),
            "{r:?}"
        );
        assert_eq!(r.reflections, r.reflections_expected, "{r:?}");
        assert!(r.rtt_p50_ns.is_some_and(|v| v > 0), "{r:?}");
    }
    // One-way latency between two engines' clocks is not shown.
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("two clocks"));
    // The swarm macvlan's parent is a veth of this host: with two nodes it still places both
    // tasks here, and refuses the other node, saying so.
    let o = Command::new(PKTMMAP)
        .args([
            "--engine",
            "swarm",
            "--rx-node",
            &node2,
            "setup",
            "up",
            "macvlan",
        ])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("the swarm macvlan set-up places both tasks on this node"),
        "{}",
        text(&o)
    );
    let (setup, up) = RunnerSetup::up("swarm", "macvlan");
    assert!(up.status.success(), "{}", text(&up));
    let down = setup.down();
    assert!(down.status.success(), "{}", text(&down));
    // Ctrl-C reaches the receiver on the other node over ssh too, and its partial summary
    // comes back the same way.
    let r = interrupted_long_run("swarm-two-sigint", &[("PATH", &path)]);
    assert!(r.rx_node.ends_with(&node2[..12]), "{r:?}");
    // The swarm stays while the second node is in it; its own down leaves both.
    assert_eq!(swarm_state(), "active");
    let down = second_node(&["down"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(second_engine_processes(), Vec::<String>::new());
    assert_eq!(swarm_state(), "inactive");
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&out);
}

/// Processes whose command line names the second engine's files (its dockerd, a containerd it
/// started, their shims).
fn second_engine_processes() -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains("pktmmap-node2") {
                found.push(format!(
                    "{}: {}",
                    entry.file_name().to_string_lossy(),
                    cmd.trim()
                ));
            }
        }
    }
    found
}

#[test]
fn a_receiver_node_lost_outright_fails_its_rows_with_the_reason_and_its_down_cleans_up() {
    let Some(_g) = swarm_test() else {
        return;
    };
    image();
    let up = second_node(&["up"]);
    let _down = SecondNode;
    assert!(up.status.success(), "{}", text(&up));
    let env = second_node_env();
    let engine = env("NODE2_ENGINE");
    let pid: i32 = env("NODE2_PID").parse().expect("the second engine's pid");
    // Both engines run on this machine, so both nodes have its hostname: a name that picks
    // no single node is refused, saying to give the ID.
    let host = this_node();
    let o = pktmmap(&[
        "--engine",
        "swarm",
        "--rx-node",
        &host,
        "setup",
        "up",
        "overlay",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!(
            "swarm node name {host} is ambiguous (several nodes have that hostname): give the node's ID"
        )),
        "{}",
        text(&o)
    );
    let out = tmp("swarm-node-lost");
    std::fs::create_dir_all(&out).unwrap();
    let prof = three_points(&out);
    // The receiver goes to the second node; its engine dies (SIGKILL: no shutdown, no leaving
    // the swarm) while the first point's sender runs.
    let child = run_until_mmap_tx_sends(&prof, &out);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the second engine");
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "failed rows: {}", text(&o));
    let rows = read_rows(&out).unwrap();
    assert_eq!(rows.len(), 3, "every point has its row: {rows:?}");
    assert!(rows.iter().all(|r| r.status == Status::Failed), "{rows:?}");
    assert_eq!(rows[0].received, None, "nothing made up: {:?}", rows[0]);
    let gone = format!("its engine ({engine}) does not answer (its node is gone?)");
    assert!(
        rows[0].reason.starts_with("mmap-rx exited") && rows[0].reason.contains(&gone),
        "the first row names the receiver and its unreachable engine: {}",
        rows[0].reason
    );
    for r in &rows[1..] {
        assert!(
            r.reason.starts_with("receiver's container") && r.reason.contains(&gone),
            "later runs fail at once with the reason: {r:?}"
        );
        assert_eq!(r.sent, None, "nothing sent: {r:?}");
    }
    // down starts the dead engine once more so that it stops the containers it left, then
    // takes everything away.
    let down = second_node(&["down"]);
    assert!(down.status.success(), "{}", text(&down));
    assert_eq!(second_engine_processes(), Vec::<String>::new());
    assert!(!running("mmap-rx"), "no receiver of the lost node is left");
    assert_eq!(swarm_state(), "inactive");
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&out);
}
