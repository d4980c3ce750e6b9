//! The docker engine end to end: the image, the tools inside containers on each network mode,
//! the runner's `--engine docker`, and tear-down. Needs root and a Docker engine; outside CI a
//! machine without Docker skips these tests (loudly), in CI they must run.

mod common;

use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::{leftovers, pktmmap, root_or_skip, serial, tmp, PKTMMAP};
use pktmmap::experiment::results::read_rows;

const IMAGE: &str = "pktmmap:latest";
const TOOLS: [&str; 4] = ["mmap-tx", "mmap-rx", "udp-tx", "udp-rx"];

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run docker")
}

/// True if root and a Docker engine are here; otherwise skips (outside CI) or fails (in CI).
fn docker_or_skip(test: &str) -> bool {
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
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs a Docker engine and CI must run it");
    }
    eprintln!("SKIPPED {test}: no Docker engine here (docker info failed)");
    false
}

/// Builds the image once per test binary with docker/build.sh; returns its output.
fn image() -> &'static str {
    static BUILT: OnceLock<String> = OnceLock::new();
    BUILT.get_or_init(|| {
        let o = Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/docker/build.sh"))
            .output()
            .expect("run docker/build.sh");
        assert!(o.status.success(), "docker/build.sh: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    })
}

fn profile(dir: &std::path::Path, count: u64, rate: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("docker-test.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"docker-test\"\ndescription = \"one paced point\"\nrepetitions = 1\n\n\
             [[scenario]]\nname = \"count\"\nvary = \"count\"\nvalues = [\"{count}\"]\n\
             rate = \"{rate}\"\nsize = 64\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_image_is_small_static_and_each_tool_runs_in_it_with_net_raw_only() {
    if !docker_or_skip("the_image_is_small_static_and_each_tool_runs_in_it_with_net_raw_only") {
        return;
    }
    let _g = serial();
    let built = image();
    assert!(built.starts_with(&format!("built {IMAGE}")), "{built}");
    let size: u64 = String::from_utf8_lossy(
        &docker(&["image", "inspect", "--format", "{{.Size}}", IMAGE]).stdout,
    )
    .trim()
    .parse()
    .expect("image size");
    assert!(
        size < 20 << 20,
        "the image holds five static binaries and nothing else: {size} bytes"
    );
    for tool in TOOLS {
        let o = docker(&["run", "--rm", "--network", "none", IMAGE, tool, "--help"]);
        assert!(o.status.success(), "{tool} --help: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(&format!("Usage: {tool}")),
            "{}",
            text(&o)
        );
    }
    // Without CAP_NET_RAW a raw socket is refused: one clear line naming the capability, exit 3.
    let o = docker(&[
        "run",
        "--rm",
        "--cap-drop",
        "ALL",
        IMAGE,
        "mmap-rx",
        "--interface",
        "eth0",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("CAP_NET_RAW"),
        "{}",
        text(&o)
    );
}

#[test]
fn mmap_and_udp_runs_in_containers_on_bridge_and_macvlan_count_exactly() {
    if !docker_or_skip("mmap_and_udp_runs_in_containers_on_bridge_and_macvlan_count_exactly") {
        return;
    }
    let _g = serial();
    image();
    let out = tmp("docker-exact");
    let count = 30_000u64;
    let prof = profile(&out.with_extension("profile"), count, "30kpps");
    for fate in ["stack", "ingress-drop"] {
        let dir = out.join(fate);
        let o = pktmmap(&[
            "run",
            "--engine",
            "docker",
            "--profile",
            &prof,
            "--setup",
            "bridge,macvlan",
            "--fate",
            fate,
            "--out",
            dir.to_str().unwrap(),
            "--plot",
            "false",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let rows = read_rows(&dir).unwrap();
        assert_eq!(rows.len(), 4, "2 set-ups x 2 apps: {rows:?}");
        for r in &rows {
            assert_eq!(r.engine, "docker", "{r:?}");
            assert_eq!(r.status, "ok", "{r:?}");
            let expect_dp = match r.setup.as_str() {
                "bridge" => "docker-bridge",
                "macvlan" => "macvlan-bridge",
                other => panic!("unexpected set-up {other}"),
            };
            assert_eq!(r.datapath, expect_dp);
            assert_eq!(r.sent, Some(count), "{r:?}");
            assert_eq!(r.received, Some(count), "{r:?}");
            assert_eq!(r.unique, Some(count), "{r:?}");
            assert_eq!(r.lost, Some(0), "{r:?}");
            assert_eq!(r.duplicates, Some(0), "{r:?}");
            assert_eq!(r.kernel_drops, Some(0), "{r:?}");
            let want_fate = match (r.app.as_str(), fate) {
                ("udp", _) => "socket",
                (_, f) => f,
            };
            assert_eq!(r.fate, want_fate, "{r:?}");
        }
        assert_eq!(leftovers(), Vec::<String>::new(), "torn down after {fate}");
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(out.with_extension("profile"));
}

#[test]
fn the_trunk_network_comes_up_or_reports_its_skip_without_8021q() {
    if !docker_or_skip("the_trunk_network_comes_up_or_reports_its_skip_without_8021q") {
        return;
    }
    let _g = serial();
    image();
    let kernel_has_8021q = !std::fs::read("/proc/config.gz").is_ok_and(|gz| {
        let o = Command::new("zcat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(&gz)?;
                c.wait_with_output()
            })
            .expect("zcat");
        String::from_utf8_lossy(&o.stdout).contains("# CONFIG_VLAN_8021Q is not set")
    });
    let o = pktmmap(&["--engine", "docker", "setup", "up", "macvlan-trunk"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    if kernel_has_8021q {
        assert!(o.status.success(), "{}", text(&o));
        assert!(out.contains("container pktmmap-macvlan-trunk-rx"), "{out}");
        let d = pktmmap(&["--engine", "docker", "setup", "down", "macvlan-trunk"]);
        assert!(d.status.success(), "{}", text(&d));
    } else {
        assert_eq!(o.status.code(), Some(3), "skip exit code; {}", text(&o));
        assert!(
            out.contains("macvlan-trunk: skipped: this kernel has no 802.1Q VLAN support"),
            "{out}"
        );
    }
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn ovs_ports_are_attached_like_ovs_docker_and_detached_on_teardown() {
    if !docker_or_skip("ovs_ports_are_attached_like_ovs_docker_and_detached_on_teardown") {
        return;
    }
    let _g = serial();
    image();
    let o = pktmmap(&["--engine", "docker", "setup", "up", "ovs"]);
    assert!(o.status.success(), "{}", text(&o));
    let up = String::from_utf8_lossy(&o.stdout).into_owned();
    let datapath = if std::path::Path::new("/sys/module/openvswitch").exists() {
        "ovs-system"
    } else {
        "ovs-netdev"
    };
    assert!(up.contains(&format!("ovs: up ({datapath})")), "{up}");
    let vsctl = |args: &[&str]| {
        let o = Command::new("ovs-vsctl").args(args).output().unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(vsctl(&["list-ports", "pkmdovs0"]), "pkmdovsrx\npkmdovstx");
    assert_eq!(
        vsctl(&["get", "interface", "pkmdovsrx", "external_ids:container_id"]),
        "pktmmap-ovs-rx"
    );
    let addr = Command::new("ip")
        .args([
            "-n",
            "pktmmap-dk-ovs-rx",
            "-4",
            "-o",
            "addr",
            "show",
            "eth0",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&addr.stdout).contains("10.77.13.2/24"),
        "{}",
        text(&addr)
    );
    // Traffic crosses the switch between the containers: a short paced mmap burst, accounted.
    let mut rx = Command::new("docker")
        .args([
            "exec",
            "pktmmap-ovs-rx",
            "mmap-rx",
            "--interface",
            "eth0",
            "--count",
            "2000",
            "--idle-timeout",
            "2",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let tx = docker(&[
        "exec",
        "pktmmap-ovs-tx",
        "mmap-tx",
        "--interface",
        "eth0",
        "--dst-ip",
        "10.77.13.2",
        "--count",
        "2000",
        "--rate",
        "10kpps",
        "--json",
    ]);
    assert!(tx.status.success(), "{}", text(&tx));
    let rx_out = {
        use std::io::Read;
        let mut s = String::new();
        rx.stdout.take().unwrap().read_to_string(&mut s).unwrap();
        let _ = rx.wait();
        s
    };
    let v: serde_json::Value = serde_json::from_str(&rx_out).expect("mmap-rx JSON");
    let unique = v["unique"].as_u64().unwrap();
    assert!(unique > 0, "frames crossed OVS: {v}");
    assert_eq!(unique + v["lost"].as_u64().unwrap(), 2000, "{v}");

    let d = pktmmap(&["--engine", "docker", "setup", "down", "ovs"]);
    assert!(d.status.success(), "{}", text(&d));
    assert_eq!(vsctl(&["list-ports", "pkmdovs0"]), "", "ports detached");
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn interrupting_a_docker_run_stops_the_tools_inside_the_containers() {
    if !docker_or_skip("interrupting_a_docker_run_stops_the_tools_inside_the_containers") {
        return;
    }
    let _g = serial();
    image();
    let out = tmp("docker-sigint");
    // 20 s of traffic unless the interrupt reaches the tools inside the containers.
    let prof = profile(&out.with_extension("profile"), 2_000_000, "100kpps");
    let child = Command::new(PKTMMAP)
        .args([
            "--engine",
            "docker",
            "run",
            "--profile",
            &prof,
            "--setup",
            "bridge",
            "--app",
            "mmap",
            "--out",
            out.to_str().unwrap(),
            "--plot",
            "false",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    let rows = read_rows(&out).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    // Partial only if both tools inside the containers saw SIGINT and printed their summary.
    assert_eq!(r.status, "partial", "{r:?}");
    let sent = r.sent.expect("the sender's partial summary");
    assert!(sent > 0 && sent < 2_000_000, "{r:?}");
    assert_eq!(
        r.received,
        Some(sent),
        "the receiver drained what was sent: {r:?}"
    );
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(out.with_extension("profile"));
}
