//! The docker engine end to end: the image, the tools inside containers on each network mode,
//! the runner's `--engine docker`, and tear-down. Needs root and a Docker engine; outside CI a
//! machine without Docker skips these tests (loudly), in CI they must run.

mod common;

use std::process::{Command, Stdio};

use common::{
    confinement, counted_drops, docker, docker_test, image, leftovers, pktmmap, rps_masks,
    sys_mount_of, text, tmp, wait_until_sending, Confinement, RunnerSetup, ScriptSetup, Spawned,
    NET_RAW_ONLY, PKTMMAP,
};
use pktmmap::experiment::place::switch::SwitchDrops;
use pktmmap::experiment::plan::kinds::{App, Engine, Family, Fate, Status};
use pktmmap::experiment::rows::read_rows;

const IMAGE: &str = "pktmmap:latest";
const TOOLS: [&str; 6] = ["mmap-tx", "mmap-rx", "udp-tx", "udp-rx", "xdp-tx", "xdp-rx"];

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
    let Some(_g) = docker_test() else {
        return;
    };
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
        "the image holds seven static binaries and nothing else: {size} bytes"
    );
    assert!(
        built.contains(&format!("image size: {size} bytes")),
        "--print shows the image's size: {built}"
    );
    for tool in TOOLS {
        assert!(
            built.contains(&format!("/bin/{tool}: ")),
            "--print lists {tool}: {built}"
        );
    }
    // pktmmap-idle is also how the runner signals a tool through the engine.
    let idle = |args: &[&str]| {
        let mut a = vec!["run", "--rm", "--network", "none", IMAGE, "pktmmap-idle"];
        a.extend_from_slice(args);
        docker(&a).status.code()
    };
    assert_eq!(
        idle(&["signal", "SIGINT", "mmap-rx"]),
        Some(1),
        "no such process"
    );
    assert_eq!(
        idle(&["catches-sigint", "mmap-rx"]),
        Some(1),
        "no such process"
    );
    assert_eq!(idle(&["signal", "NOSIG", "mmap-rx"]), Some(2));
    assert_eq!(idle(&["bogus"]), Some(2));
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
    let Some(_g) = docker_test() else {
        return;
    };
    image();
    let out = tmp("docker-exact");
    let count = 30_000u64;
    let prof = profile(&out.with_extension("profile"), count, "30kpps");
    for (fate, mmap_fate) in [("stack", Fate::Stack), ("ingress-drop", Fate::IngressDrop)] {
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
            "--app",
            "mmap,udp,udp-gso,mmap-gso",
            "--out",
            dir.to_str().unwrap(),
            "--plot",
            "false",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let rows = read_rows(&dir).unwrap();
        assert_eq!(rows.len(), 8, "2 set-ups x 4 apps: {rows:?}");
        for r in &rows {
            assert_eq!(r.engine, Engine::Docker, "{r:?}");
            assert_eq!(r.status, Status::Ok, "{r:?}");
            let expect_dp = match r.setup.as_str() {
                "bridge" => "docker-bridge",
                "macvlan" => "macvlan-bridge",
                other => panic!("unexpected set-up {other}"),
            };
            assert_eq!(r.datapath, expect_dp);
            assert_eq!(r.sent, Some(count), "{r:?}");
            assert_eq!(r.duplicates, Some(0), "{r:?}");
            let gso = matches!(r.app, App::UdpGso | App::MmapGso);
            assert_eq!(r.tx_gso_segments, gso.then_some(64), "{r:?}");
            if matches!(r.app, App::Mmap | App::MmapGso) {
                // The ring at these rates takes everything, each super-packet's datagrams
                // counted one by one.
                assert_eq!(r.received, Some(count), "{r:?}");
                assert_eq!(r.unique, Some(count), "{r:?}");
                assert_eq!(r.kernel_drops, Some(0), "{r:?}");
            } else {
                // A starved udp-rx may overflow its socket buffer: every loss is a drop (with
                // --gro a dropped super-packet is one drop for up to 64 datagrams).
                let lost = r.lost.unwrap();
                assert_eq!(r.unique, r.received, "no duplicates: {r:?}");
                let per_drop = if gso { 64 } else { 1 };
                assert!(lost <= per_drop * r.kernel_drops.unwrap(), "{r:?}");
            }
            assert_eq!(r.fate, mmap_fate.for_app(r.app), "{r:?}");
        }
        assert_eq!(leftovers(), Vec::<String>::new(), "torn down after {fate}");
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(out.with_extension("profile"));
}

/// `--family 6` with the docker engine: every app over IPv6 in containers on the bridge and
/// macvlan networks (Docker's `enable_ipv6`) and on OVS ports (addresses from the script), the
/// quick profile, each row's traffic IPv6 by the receiver's own parse.
#[test]
fn the_quick_profile_runs_over_ipv6_in_containers_on_every_network() {
    let Some(_g) = docker_test() else {
        return;
    };
    image();
    let out = tmp("docker-ipv6");
    let o = pktmmap(&[
        "run",
        "--engine",
        "docker",
        "--profile",
        "quick",
        "--setup",
        "bridge,ovs,macvlan",
        "--family",
        "6",
        "--app",
        "mmap,udp,xdp",
        "--idle-timeout",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--plot",
        "false",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let rows = read_rows(&out).unwrap();
    assert_eq!(
        rows.len(),
        3 * 18,
        "3 set-ups x 6 points x 3 apps: {rows:?}"
    );
    for r in &rows {
        assert_eq!(
            (r.engine, r.family, r.status),
            (Engine::Docker, Family::V6, Status::Ok),
            "{r:?}"
        );
        assert_eq!(r.sent, Some(r.count), "{r:?}");
        assert_eq!(r.received_ipv6, r.received, "{r:?}");
        assert_eq!(r.unique, r.received, "no duplicates: {r:?}");
        assert!(
            r.lost.unwrap() <= counted_drops(r),
            "every loss a counted drop: {r:?}"
        );
    }
    for setup in ["bridge", "ovs", "macvlan"] {
        assert_eq!(
            rows.iter().filter(|r| r.setup == setup).count(),
            18,
            "{setup}"
        );
    }
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&out);
}

/// The capabilities compose gives the `service` container of `mode`, with the AF_XDP
/// additions (docker/compose/xdp.yml) or without.
fn compose_caps(mode: &str, service: &str, xdp: bool) -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/compose");
    let mut c = Command::new("docker-compose");
    c.args(["-p", "pktmmap-captest", "-f", &format!("{dir}/{mode}.yml")]);
    if xdp {
        c.args(["-f", &format!("{dir}/xdp.yml")]);
    }
    let o = c.arg("config").output().expect("docker-compose config");
    assert!(o.status.success(), "{}", text(&o));
    let config = String::from_utf8_lossy(&o.stdout).to_string();
    // The service's block: from "  SERVICE:" to the next two-space key.
    let block: Vec<&str> = config
        .lines()
        .skip_while(|l| *l != format!("  {service}:"))
        .skip(1)
        .take_while(|l| l.starts_with("    ") || l.is_empty())
        .collect();
    block
        .iter()
        .skip_while(|l| l.trim() != "cap_add:")
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| l.trim_start().trim_start_matches("- ").to_string())
        .collect()
}

#[test]
fn af_xdp_runs_in_containers_with_exactly_the_capabilities_it_needs() {
    let Some(_g) = docker_test() else {
        return;
    };
    image();
    // Only runs that use AF_XDP widen the containers, and only by what xdp-tx and xdp-rx need.
    for mode in ["bridge", "macvlan", "ovs"] {
        assert_eq!(compose_caps(mode, "tx", false), ["NET_RAW"], "{mode}");
        assert_eq!(compose_caps(mode, "rx", false), ["NET_RAW"], "{mode}");
        assert_eq!(
            compose_caps(mode, "tx", true),
            ["IPC_LOCK", "NET_RAW"],
            "{mode}"
        );
        assert_eq!(
            compose_caps(mode, "rx", true),
            ["IPC_LOCK", "NET_ADMIN", "NET_RAW", "SYS_ADMIN"],
            "{mode}"
        );
    }
    let out = tmp("docker-xdp");
    let count = 20_000u64;
    let prof = profile(&out.with_extension("profile"), count, "20kpps");
    let o = pktmmap(&[
        "run",
        "--engine",
        "docker",
        "--profile",
        &prof,
        "--setup",
        "bridge,macvlan",
        "--app",
        "xdp,mmap",
        "--out",
        out.to_str().unwrap(),
        "--plot",
        "false",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let rows = read_rows(&out).unwrap();
    assert_eq!(rows.len(), 4, "2 set-ups x 2 apps: {rows:?}");
    for r in &rows {
        assert_eq!((r.engine, r.status), (Engine::Docker, Status::Ok), "{r:?}");
        assert_eq!(r.sent, Some(count), "{r:?}");
        assert_eq!(r.received, Some(count), "{r:?}");
        assert_eq!(r.unique, Some(count), "{r:?}");
        if r.app == App::Xdp {
            assert_eq!(r.fate, Fate::XdpRedirect, "{r:?}");
            assert!(r.tx_method.starts_with("af_xdp"), "{r:?}");
            assert!(r.rx_mode.contains("xdp"), "the mode is recorded: {r:?}");
        }
    }
    assert_eq!(leftovers(), Vec::<String>::new(), "torn down");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(out.with_extension("profile"));
}

#[test]
fn receive_steering_reaches_the_receiving_container_whose_sysfs_stays_read_only() {
    let Some(_g) = docker_test() else {
        return;
    };
    image();
    // A container's namespace shares the sysfs its container mounted read-only: the set-up
    // script must still set the mask (it once failed here with "Read-only file system").
    let (setup, up) = ScriptSetup::up("docker/setups/bridge.sh", &[("PKTMMAP_RPS", "2")]);
    assert!(up.status.success(), "{}", text(&up));
    assert!(setup.env().lines().any(|l| l == "RPS=2"), "{}", setup.env());
    let masks = rps_masks("pktmmap-dk-bridge-rx", "eth0");
    assert!(
        !masks.is_empty() && masks.iter().all(|&m| m == 2),
        "{masks:?}"
    );
    // ... and the container's own /sys is read-only again, mount and superblock.
    let pid = String::from_utf8_lossy(
        &docker(&["inspect", "--format", "{{.State.Pid}}", "pktmmap-bridge-rx"]).stdout,
    )
    .trim()
    .to_string();
    let (mount, superblock) = sys_mount_of(&pid);
    assert!(mount.split(',').any(|o| o == "ro"), "{mount}");
    assert!(superblock.split(',').any(|o| o == "ro"), "{superblock}");
    // The sender's side is left alone.
    assert_eq!(rps_masks("pktmmap-dk-bridge-tx", "eth0"), vec![0]);
    drop(setup);
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// README, "Networks": the containers run with CAP_NET_RAW alone, a read-only root and
/// `no-new-privileges`, never privileged: read from each container's first process as the
/// kernel sees it (its capability sets, its no_new_privs flag, its root mount).
#[test]
fn the_containers_hold_net_raw_alone_a_read_only_root_and_no_new_privileges() {
    let Some(_g) = docker_test() else {
        return;
    };
    image();
    let (setup, up) = ScriptSetup::up("docker/setups/bridge.sh", &[]);
    assert!(up.status.success(), "{}", text(&up));
    for side in ["tx", "rx"] {
        let name = format!("pktmmap-bridge-{side}");
        // CAP_NET_RAW alone: nothing else effective, permitted or in the bounding set.
        assert_eq!(
            confinement(&name),
            Confinement {
                caps: [NET_RAW_ONLY; 3].map(str::to_string),
                no_new_privs: true,
                read_only_root: true,
                privileged: false,
            },
            "{name}"
        );
    }
    drop(setup);
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn the_trunk_network_comes_up_or_reports_its_skip_without_8021q() {
    let Some(_g) = docker_test() else {
        return;
    };
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
    let (setup, o) = RunnerSetup::up("docker", "macvlan-trunk");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    if kernel_has_8021q {
        assert!(o.status.success(), "{}", text(&o));
        assert!(out.contains("container pktmmap-macvlan-trunk-rx"), "{out}");
        let d = setup.down();
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
    let Some(_g) = docker_test() else {
        return;
    };
    image();
    let (setup, o) = RunnerSetup::up("docker", "ovs");
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
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let before = SwitchDrops::read_ovs("pkmdovs0").unwrap();
    // Send only once the receiver says it is ready (a fixed sleep raced its start-up).
    {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(rx.stderr.take().unwrap()).lines();
        let ready = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.contains("ready"));
        assert!(ready, "mmap-rx in the container never said ready");
    }
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
    let v: common::RxSummary = serde_json::from_str(&rx_out).expect("mmap-rx summary");
    // OVS's userspace datapath may drop some inside ovs-vswitchd: each one a drop the switch
    // counts (give or take a few frames of its own, ARP or neighbour discovery).
    let dropped = before
        .since(&SwitchDrops::read_ovs("pkmdovs0").unwrap())
        .expect("counters only grow")
        .total();
    let lost = 2000 - v.counts.unique;
    assert!(
        lost <= dropped && dropped <= lost + 8 && v.counts.unique > 0,
        "frames crossed OVS, lost {lost}, switch drops {dropped}: {v:?}"
    );

    let d = setup.down();
    assert!(d.status.success(), "{}", text(&d));
    assert_eq!(vsctl(&["list-ports", "pkmdovs0"]), "", "ports detached");
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn interrupting_a_docker_run_stops_the_tools_inside_the_containers() {
    let Some(_g) = docker_test() else {
        return;
    };
    image();
    // SIGINT with mmap, SIGTERM with udp: both must reach the tools inside the containers.
    for (sig, app, sender) in [
        (nix::sys::signal::Signal::SIGINT, "mmap", "mmap-tx"),
        (nix::sys::signal::Signal::SIGTERM, "udp", "udp-tx"),
    ] {
        let out = tmp(&format!("docker-{sig}"));
        // 20 s of traffic unless the signal reaches the tools inside the containers.
        let prof = profile(&out.with_extension("profile"), 2_000_000, "100kpps");
        let child = Spawned::pktmmap(
            Command::new(PKTMMAP)
                .args([
                    "--engine",
                    "docker",
                    "run",
                    "--profile",
                    &prof,
                    "--setup",
                    "bridge",
                ])
                .args([
                    "--app",
                    app,
                    "--out",
                    out.to_str().unwrap(),
                    "--plot",
                    "false",
                ]),
        );
        // Signal once the first run's sender is under way inside its container.
        wait_until_sending(sender, 1000);
        // SIGINT as a terminal's Ctrl-C sends it, to the runner's whole process group (the
        // docker exec clients included); SIGTERM as `kill PID`, to the runner alone.
        let pid = child.id() as i32;
        let to = if sig == nix::sys::signal::Signal::SIGINT {
            -pid
        } else {
            pid
        };
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(to), sig).unwrap();
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(130), "{sig}: {}", text(&o));
        let rows = read_rows(&out).unwrap();
        assert_eq!(rows.len(), 1, "{sig}: {rows:?}");
        let r = &rows[0];
        // Partial only if both tools inside the containers saw the signal and printed their
        // summary.
        assert_eq!(r.status, Status::Partial, "{sig}: {r:?}");
        let sent = r.sent.expect("the sender's partial summary");
        assert!(sent > 0 && sent < 2_000_000, "{sig}: {r:?}");
        // The receiver drained what was sent (udp: or counted it as a socket drop).
        let lost = sent - r.received.unwrap();
        assert!(lost <= r.kernel_drops.unwrap(), "{sig}: {r:?}");
        if app == "mmap" {
            assert_eq!(lost, 0, "{sig}: {r:?}");
        }
        assert_eq!(leftovers(), Vec::<String>::new(), "{sig}");
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_dir_all(out.with_extension("profile"));
    }
    // What a killed runner would leave, removed by `--engine docker setup down --all`.
    let (_setup, up) = RunnerSetup::up("docker", "bridge");
    assert!(up.status.success(), "{}", text(&up));
    assert!(!leftovers().is_empty());
    let down = pktmmap(&["--engine", "docker", "setup", "down", "--all"]);
    assert!(down.status.success(), "{}", text(&down));
    let said = String::from_utf8_lossy(&down.stdout);
    assert!(
        said.contains("removed container pktmmap-bridge-rx") && said.contains("removed network"),
        "{said}"
    );
    assert_eq!(leftovers(), Vec::<String>::new());
}
