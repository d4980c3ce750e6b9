//! README claims that no other test checked, each with a test that fails when the claim is
//! false: the runner's refusals and exit codes, the lock file's override and `--force`, the
//! default results directory and `--interval 0`, and the AF_XDP tools' privileges, limits and
//! busy queues.

mod common;

use std::process::Command;

use common::{
    fails, leftovers, network_test, pktmmap, text, Receiver, VethPair, MMAP_RX, PKTMMAP, UDP_RX,
    UDP_TX, XDP_RX, XDP_TX,
};

/// Asserts that `o` failed with exit `code` and one line of stderr containing `says`.
fn refused(o: &std::process::Output, code: i32, says: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(says), "{err}");
}

/// README, "The runner": exit 2 for an unknown set-up, a profile that does not exist or does
/// not parse, a directory without results (`plot`, `ratios`); each said in one line.
#[test]
fn the_runner_refuses_what_it_cannot_run_with_exit_2_in_one_line() {
    // The runner takes the host's set-up lock before it reads its request.
    let Some(_g) = network_test() else {
        return;
    };
    let dir = common::tmp("claims-refusals");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\n[[scenario]]\nname = \"x\"\nvary = \"colour\"\n",
    )
    .unwrap();
    let unclosed = dir.join("unclosed.toml");
    std::fs::write(&unclosed, "garbage = [\n").unwrap();
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for (args, says) in [
        (
            vec!["run", "--profile", "quick", "--setup", "nosuch"],
            "unknown set-up \"nosuch\" for the netns engine",
        ),
        (vec!["run", "--profile", "nosuchprofile"], "no profile"),
        (
            vec!["run", "--profile", bad.to_str().unwrap()],
            "line 4, column 8: unknown variant `colour`",
        ),
        (
            vec!["run", "--profile", unclosed.to_str().unwrap()],
            "line 1, column 12: unclosed array",
        ),
        (
            vec!["plot", empty.to_str().unwrap()],
            "no runs-v*.csv results in",
        ),
        (
            vec!["ratios", empty.to_str().unwrap()],
            "no runs-v*.csv results in",
        ),
    ] {
        refused(&pktmmap(&args), 2, says);
    }
    // The known profiles are named in the refusal.
    let o = pktmmap(&["run", "--profile", "nosuchprofile"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("quick, thesis"),
        "{}",
        text(&o)
    );
    // An unknown engine is clap's refusal: exit 2 naming the choices.
    let o = pktmmap(&["--engine", "nosuch", "run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("netns, docker, swarm"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// README, "One measurement per host": the lock is `$PKTMMAP_LOCK_FILE` when set; a held lock
/// refuses `setup up` and `setup down --all` (exit 9, one line), and `--force` goes on anyway,
/// saying so.
#[test]
fn the_lock_file_moves_with_its_variable_and_force_goes_past_a_holder() {
    let Some(_g) = network_test() else {
        return;
    };
    // Were the variable ignored, `setup up` below would bring native up: taken down however
    // the test ends.
    let _native = common::RunnerSetup::guard("netns", "native");
    let lock = common::tmp("claims-lock").with_extension("lock");
    std::fs::write(&lock, "").unwrap();
    // Someone else holds it (flock(1), as long as `sleep` runs).
    let holder = common::Spawned::new(
        Command::new("flock")
            .arg(&lock)
            .args(["sleep", "60"])
            .spawn()
            .expect("flock (util-linux)"),
    );
    let by = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let with_lock = |args: &[&str]| {
        Command::new(PKTMMAP)
            .env("PKTMMAP_LOCK_FILE", &lock)
            .args(args)
            .output()
            .unwrap()
    };
    // Wait until flock(1) holds it: a probe that takes it and lets go fails from then on.
    while Command::new("flock")
        .args(["--nonblock", lock.to_str().unwrap(), "true"])
        .status()
        .unwrap()
        .success()
    {
        assert!(std::time::Instant::now() < by, "flock never took the lock");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // flock(1) wrote nothing in the file: a holder that does not name itself, refused with
    // the file's path (never a made-up pid).
    let unnamed = format!(
        "holds this host's set-up lock {} without naming itself",
        lock.display()
    );
    refused(&with_lock(&["setup", "up", "native"]), 9, &unnamed);
    // A holder that wrote its pid and command line (as a pktmmap does) is named.
    std::fs::write(
        &lock,
        format!("{}\tpktmmap run --profile thesis\n", holder.id()),
    )
    .unwrap();
    let busy = format!(
        "another pktmmap is using this host's set-ups: pid {} (pktmmap run --profile thesis)",
        holder.id()
    );
    refused(&with_lock(&["setup", "up", "native"]), 9, &busy);
    refused(&with_lock(&["setup", "down", "--all"]), 9, &busy);
    // The default lock is free: the variable, not the default, was read.
    assert!(pktmmap(&["setup", "down", "--all"]).status.success());
    let o = with_lock(&["setup", "down", "--all", "--force"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--force: going on although"),
        "{}",
        text(&o)
    );
    drop(holder);
    let _ = std::fs::remove_file(&lock);
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// README, "The runner": without `--out` results go to `results/<UTC time>-<profile>/` (under
/// the working directory); `--interval 0` turns interval reports off, so the intervals file
/// holds its header only.
#[test]
fn results_go_to_a_dated_directory_and_interval_0_keeps_no_intervals() {
    let Some(_g) = network_test() else {
        return;
    };
    let cwd = common::tmp("claims-cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let o = Command::new(PKTMMAP)
        .current_dir(&cwd)
        .args([
            "run",
            "--profile",
            "quick",
            "--setup",
            "native",
            "--app",
            "udp",
            "--interval",
            "0",
            "--plot",
            "false",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let dirs: Vec<String> = std::fs::read_dir(cwd.join("results"))
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    // 2026-12-07T06-49-20Z-quick
    let (time, profile) = dirs[0].split_at(dirs[0].len() - "-quick".len());
    assert_eq!(profile, "-quick");
    let t = time.as_bytes();
    assert!(
        t.len() == 20
            && t[4] == b'-'
            && t[10] == b'T'
            && t[13] == b'-'
            && t[19] == b'Z'
            && time.chars().filter(char::is_ascii_digit).count() == 14,
        "{time}"
    );
    let out = cwd.join("results").join(&dirs[0]);
    let rows = pktmmap::experiment::rows::read_rows(&out).unwrap();
    assert_eq!(rows.len(), 6, "{rows:?}");
    let series = pktmmap::experiment::rows::read_interval_rows(&out).unwrap();
    assert_eq!(
        series.len(),
        0,
        "--interval 0 keeps no intervals: {series:?}"
    );
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&cwd);
}

/// README, "AF_XDP": the UMEM is charged to RLIMIT_MEMLOCK without CAP_IPC_LOCK (exit 3, the
/// hint in one line); another AF_XDP socket on the queue is exit 9; xdp-rx keeps no
/// capability once its socket and link exist.
#[test]
fn the_xdp_tools_say_what_limits_them_and_drop_their_capabilities() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    // No CAP_IPC_LOCK and a locked-memory limit of 0: the UMEM cannot be registered.
    let o = Command::new("ip")
        .args([
            "netns",
            "exec",
            &p.tx_ns,
            "prlimit",
            "--memlock=0:0",
            "setpriv",
        ])
        .args(["--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock", XDP_TX])
        .args(["-i", &p.tx_if, "--dst-ip", &p.rx_ip, "--count", "10"])
        .output()
        .unwrap();
    refused(
        &o,
        3,
        "does not fit the locked-memory limit (RLIMIT_MEMLOCK): raise it (ulimit -l",
    );
    // A receiver holds queue 0: a second AF_XDP socket there is refused, busy.
    let r = Receiver::start(&p.rx_ns, XDP_RX, &["-i", &p.rx_if, "--json"]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", r.pid())).unwrap();
    let caps: Vec<&str> = status
        .lines()
        .filter(|l| l.starts_with("CapEff:") || l.starts_with("CapPrm:"))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(caps, ["0000000000000000"; 2], "xdp-rx dropped them all");
    let dst = ["--dst-ip", p.tx_ip.as_str(), "--count", "10"];
    for (tool, more) in [(XDP_RX, &[][..]), (XDP_TX, &dst[..])] {
        let mut args = vec!["-i", p.rx_if.as_str()];
        args.extend_from_slice(more);
        let (code, err) = fails(&p.rx_ns, tool, &args);
        assert_eq!(code, 9, "{tool}: {err}");
        assert!(
            err.contains("another AF_XDP socket is bound to this queue"),
            "{tool}: {err}"
        );
    }
    drop(r);
}

/// README, "Privileges": the UDP tools need no privilege at all: an unprivileged user with
/// no capability sends and receives every datagram.
#[test]
fn the_udp_tools_run_without_any_privilege() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let nobody = |ns: &str, tool: &str, args: &[&str]| {
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            ns,
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
        ])
        .args([
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            tool,
        ])
        .args(args);
        c
    };
    let rx = nobody(
        &p.rx_ns,
        UDP_RX,
        &["--count", "1000", "--idle-timeout", "5", "--json"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let rx = common::Spawned::new(rx);
    // Ready once it has bound: its socket shows in the namespace (no pipe line to wait on
    // without reading its stderr here: the port is the event).
    let by = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let udp = std::fs::read_to_string(format!("/proc/{}/net/udp", rx.id())).unwrap_or_default();
        if udp.lines().any(|l| l.contains(":2328 ")) {
            break;
        }
        assert!(std::time::Instant::now() < by, "udp-rx never bound: {udp}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let tx = nobody(
        &p.tx_ns,
        UDP_TX,
        &[
            "--dst-ip", &p.rx_ip, "--count", "1000", "--rate", "20kpps", "--json",
        ],
    )
    .output()
    .unwrap();
    assert!(tx.status.success(), "{}", text(&tx));
    let o = rx.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let r = common::rx_summary(&serde_json::from_slice(&o.stdout).unwrap());
    assert_eq!(r.counts.received, 1000, "{r:?}");
}

/// README, "Options": `--cpu CORE` pins each tool to that core.
#[test]
fn cpu_pins_the_tools_to_the_core_asked() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    for (tool, args) in [
        (MMAP_RX, vec!["-i", p.rx_if.as_str(), "--cpu", "1"]),
        (UDP_RX, vec!["--cpu", "1"]),
        (XDP_RX, vec!["-i", p.rx_if.as_str(), "--cpu", "1"]),
    ] {
        let r = Receiver::start(&p.rx_ns, tool, &args);
        let status = std::fs::read_to_string(format!("/proc/{}/status", r.pid())).unwrap();
        let allowed = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .unwrap()
            .trim()
            .to_string();
        assert_eq!(allowed, "1", "{tool}");
    }
}

/// README, exit codes: 10 when the capture cannot be written for lack of permission (a
/// directory the tool may not write to, without CAP_DAC_OVERRIDE), in one line.
#[test]
fn a_capture_without_permission_to_write_is_exit_10() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let dir = common::tmp("claims-readonly");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    let file = dir.join("x.pcap");
    let o = Command::new("ip")
        .args(["netns", "exec", &p.rx_ns, "setpriv"])
        .args([
            "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search",
            MMAP_RX,
            "-i",
            &p.rx_if,
            "--idle-timeout",
            "1",
            "--write",
            file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    refused(&o, 10, "Permission denied");
    assert!(!file.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// README, "AF_XDP": `--xdp-mode auto` runs natively where the driver can and falls back to
/// generic with a note where it cannot (macvlan has no native XDP); `native` insists (exit 4,
/// one line), `generic` is generic even where native would work.
#[test]
fn xdp_mode_auto_falls_back_with_a_note_and_native_or_generic_insist() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    // A macvlan on the receiving veth, inside the receiving namespace.
    common::ip(&[
        "-n", &p.rx_ns, "link", "add", "pkmmv0", "link", &p.rx_if, "type", "macvlan",
    ]);
    common::ip(&["-n", &p.rx_ns, "link", "set", "pkmmv0", "up"]);
    let xdp_rx = |interface: &str, mode: &str| {
        VethPair::cmd(
            &p.rx_ns,
            XDP_RX,
            &[
                "-i",
                interface,
                "--xdp-mode",
                mode,
                "--idle-timeout",
                "0.2",
                "--json",
            ],
        )
        .output()
        .unwrap()
    };
    refused(
        &xdp_rx("pkmmv0", "native"),
        4,
        "the interface has no native XDP",
    );
    let mode_of = |o: &std::process::Output| {
        assert!(o.status.success(), "{}", text(o));
        common::rx_summary(&serde_json::from_slice(&o.stdout).unwrap()).mode
    };
    let auto = xdp_rx("pkmmv0", "auto");
    assert_eq!(mode_of(&auto).as_deref(), Some("generic xdp, copy"));
    assert!(
        String::from_utf8_lossy(&auto.stderr)
            .contains("note: pkmmv0 has no native XDP; running in generic (skb) mode"),
        "{}",
        text(&auto)
    );
    let generic = xdp_rx(&p.rx_if, "generic");
    assert_eq!(mode_of(&generic).as_deref(), Some("generic xdp, copy"));
    let native = xdp_rx(&p.rx_if, "auto");
    assert_eq!(mode_of(&native).as_deref(), Some("native xdp, copy"));
    assert!(!String::from_utf8_lossy(&native.stderr).contains("note:"));
}

/// README, "Containers": `docker/build.sh` refuses a binary that still needs shared libraries
/// (the image is `FROM scratch`: no libc). Run from a copy of `docker/` whose `cargo` (first
/// on PATH) leaves dynamically linked binaries (copies of `/bin/true`) where the static build
/// puts its own: the script must stop there, naming the binary, before any image is built.
#[test]
fn build_sh_refuses_a_dynamically_linked_binary() {
    let root = common::tmp("build-sh");
    let _ = std::fs::remove_dir_all(&root);
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(root.join("docker")).unwrap();
    std::fs::copy(repo.join("docker/build.sh"), root.join("docker/build.sh")).unwrap();
    std::fs::copy(
        repo.join("docker/Dockerfile"),
        root.join("docker/Dockerfile"),
    )
    .unwrap();
    let fake = root.join("fake-bin");
    std::fs::create_dir_all(&fake).unwrap();
    // A cargo that "builds" each --bin as a dynamically linked program, and a docker that
    // must never be reached.
    let cargo = "#!/bin/sh\nset -e\nwhile [ $# -gt 0 ]; do\n  case $1 in\n    --target) t=$2; shift ;;\n    --bin) bins=\"$bins $2\"; shift ;;\n  esac\n  shift\ndone\nmkdir -p target/$t/release\nfor b in $bins; do cp /bin/true target/$t/release/$b; done\n";
    let docker = "#!/bin/sh\necho \"docker $*\" >> \"$(dirname \"$0\")/docker-called\"\n";
    for (name, body) in [("cargo", cargo), ("docker", docker)] {
        std::fs::write(fake.join(name), body).unwrap();
        Command::new("chmod")
            .args(["+x", fake.join(name).to_str().unwrap()])
            .status()
            .unwrap();
    }
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    let o = Command::new("bash")
        .arg(root.join("docker/build.sh"))
        .env("PATH", path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        err.contains("/release/mmap-tx needs shared libraries; the image has no libc"),
        "{err}"
    );
    assert!(
        !fake.join("docker-called").exists(),
        "docker ran: {:?}",
        std::fs::read_to_string(fake.join("docker-called"))
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// README, "Tools" (`mmap-tx --qdisc-bypass`): with it the ring's frames go past the sending
/// device's qdisc (PACKET_QDISC_BYPASS); without it through it. A pfifo the test puts on the
/// sending veth counts every frame of a run without the option and none of a run with it.
#[test]
fn qdisc_bypass_sends_past_the_devices_qdisc_and_without_it_through_it() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    // Nothing but the test's frames may pass the qdisc (CI once counted an MLD report).
    p.quiet_sender();
    let tc = |args: &[&str]| {
        let o = VethPair::cmd(&p.tx_ns, "tc", args).output().unwrap();
        assert!(o.status.success(), "tc {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    tc(&[
        "qdisc", "add", "dev", &p.tx_if, "root", "pfifo", "limit", "10000",
    ]);
    // `Sent B bytes N pkt ...`: the packets the qdisc passed.
    let through_qdisc = || -> u64 {
        let s = tc(&["-s", "qdisc", "show", "dev", &p.tx_if]);
        let at = s
            .find(" pkt")
            .unwrap_or_else(|| panic!("no packet count: {s}"));
        s[..at].rsplit(' ').next().unwrap().parse().unwrap()
    };
    // The receiver's MAC given: no neighbour resolution, so nothing else leaves the device.
    let mac = VethPair::cmd(
        &p.rx_ns,
        "cat",
        &[&format!("/sys/class/net/{}/address", p.rx_if)],
    )
    .output()
    .unwrap();
    let mac = String::from_utf8_lossy(&mac.stdout).trim().to_string();
    for (bypass, expected) in [(false, 1000), (true, 0)] {
        // A receiver takes the datagrams: no ICMP error goes back, nothing but the test's
        // frames crosses the sending device.
        let r = Receiver::start(&p.rx_ns, UDP_RX, &["--count", "1000", "--json"]);
        let before = through_qdisc();
        let mut args = vec![
            "-i",
            p.tx_if.as_str(),
            "--dst-ip",
            p.rx_ip.as_str(),
            "--dst-mac",
            mac.as_str(),
            "--count",
            "1000",
            "--json",
        ];
        if bypass {
            args.push("--qdisc-bypass");
        }
        let t = common::send(&p.tx_ns, common::MMAP_TX, &args);
        assert_eq!(t.sent, 1000, "{t:?}");
        let (_, r) = r.finish();
        assert_eq!(r.counts.unique, 1000, "{r:?}");
        assert_eq!(
            through_qdisc() - before,
            expected,
            "--qdisc-bypass {bypass}: frames through the qdisc"
        );
    }
    drop(p);
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// README, "The runner" and "Privileges": it needs CAP_NET_ADMIN and CAP_SYS_ADMIN and says
/// so. Without either, each command that changes the network (`setup`, `run`, `search`,
/// `bench`) is refused with exit 3 in one line, before it creates a namespace, takes the
/// host's lock or writes a results directory.
#[test]
fn the_runner_without_net_admin_or_sys_admin_says_so_and_changes_nothing() {
    let Some(_g) = network_test() else {
        return;
    };
    let namespaces = || {
        let o = Command::new("ip").args(["netns", "list"]).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let before = namespaces();
    // Down however the test ends, should a refusal fail to refuse.
    let _native = common::RunnerSetup::guard("netns", "native");
    let out = common::tmp("claims-no-privilege");
    let _ = std::fs::remove_dir_all(&out);
    let out_arg = out.to_str().unwrap();
    let commands: [&[&str]; 4] = [
        &["setup", "up", "native"],
        &[
            "run",
            "--profile",
            "quick",
            "--setup",
            "native",
            "--app",
            "udp",
            "--out",
            out_arg,
        ],
        &[
            "search", "--setup", "native", "--app", "udp", "--preset", "quick", "--out", out_arg,
        ],
        &["bench", "--count", "1000", "--out", out_arg],
    ];
    for cap in ["net_admin", "sys_admin"] {
        for args in commands {
            // Root without that one capability: the others (CAP_NET_RAW among them) kept.
            let o = Command::new("setpriv")
                .args([
                    format!("--inh-caps=-{cap}"),
                    format!("--bounding-set=-{cap}"),
                ])
                .arg(PKTMMAP)
                .args(args)
                .output()
                .unwrap();
            refused(
                &o,
                3,
                "pktmmap needs CAP_NET_ADMIN to create links and CAP_SYS_ADMIN for network namespaces (ip netns): run it as root",
            );
        }
    }
    assert_eq!(namespaces(), before, "no namespace made");
    assert!(!out.exists(), "no results directory written");
    // With both, the same set-up comes up (and goes down): the refusal was the capability's.
    let (native, o) = common::RunnerSetup::up("netns", "native");
    assert!(o.status.success(), "setup up: {}", text(&o));
    assert_ne!(namespaces(), before, "native's namespaces made");
    let o = native.down();
    assert!(o.status.success(), "setup down: {}", text(&o));
    assert_eq!(namespaces(), before);
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// README, "The runner": a receiver that stopped on its idle timeout while the sender was
/// still sending is a failed row that says "raise --idle-timeout", never a row of loss. A
/// sender of 3 datagrams at 1 pps and a 0.3 s idle timeout: the receiver gives up between the
/// first and the second.
#[test]
fn a_receiver_idle_while_its_sender_still_sends_is_a_failed_row_saying_raise_idle_timeout() {
    let Some(_g) = network_test() else {
        return;
    };
    let dir = common::tmp("claims-idle");
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("slow.toml");
    std::fs::write(
        &profile,
        "name = \"slow\"\ndescription = \"one datagram a second\"\nrepetitions = 1\n\
         [[scenario]]\nname = \"slow\"\nvary = \"rate\"\nvalues = [\"1pps\"]\ncount = 3\nsize = 64\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = pktmmap(&[
        "run",
        "--profile",
        profile.to_str().unwrap(),
        "--setup",
        "native",
        "--app",
        "udp",
        "--idle-timeout",
        "0.3",
        "--interval",
        "0",
        "--plot",
        "false",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed row is exit 1: {}",
        text(&o)
    );
    let rows = pktmmap::experiment::rows::read_rows(&out).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(
        row.status,
        pktmmap::experiment::plan::kinds::Status::Failed,
        "{row:?}"
    );
    assert!(
        row.reason
            .contains("without traffic while udp-tx was still running")
            && row.reason.ends_with("raise --idle-timeout"),
        "{row:?}"
    );
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}

const OVS_CTL: &str = "/usr/share/openvswitch/scripts/ovs-ctl";

/// Whether ovsdb-server and ovs-vswitchd run (`ovs-ctl status`).
fn ovs_running() -> bool {
    Command::new(OVS_CTL)
        .arg("status")
        .output()
        .unwrap()
        .status
        .success()
}

/// `ovs-ctl start|stop`, which must succeed.
fn ovs_ctl(verb: &str) {
    let o = Command::new(OVS_CTL)
        .args([
            "--system-id=random",
            "--no-mlockall",
            "--no-record-hostname",
            verb,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "ovs-ctl {verb}: {}", text(&o));
}

/// Leaves the Open vSwitch daemons running or not, as they were, however the test ends.
struct OvsAsFound(bool);

impl Drop for OvsAsFound {
    fn drop(&mut self) {
        if ovs_running() != self.0 {
            let _ = Command::new(OVS_CTL)
                .args([
                    "--system-id=random",
                    "--no-mlockall",
                    "--no-record-hostname",
                    if self.0 { "start" } else { "stop" },
                ])
                .output();
        }
    }
}

/// README, "Set-ups": `ovs` starts ovsdb-server and ovs-vswitchd if they are not running and
/// its `down` stops only what it started: daemons it found running stay up after `down`,
/// daemons it started are gone after it. Both cases, whichever the machine was in.
#[test]
fn the_ovs_set_up_stops_only_the_daemons_it_started() {
    let Some(_g) = network_test() else {
        return;
    };
    let _as_found = OvsAsFound(ovs_running());
    for running_before in [ovs_running(), !ovs_running()] {
        if ovs_running() != running_before {
            ovs_ctl(if running_before { "start" } else { "stop" });
        }
        let (setup, o) = common::RunnerSetup::up("netns", "ovs");
        assert!(o.status.success(), "{}", text(&o));
        assert!(ovs_running(), "up runs the daemons");
        let o = setup.down();
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(
            ovs_running(),
            running_before,
            "down leaves the daemons as up found them (running before: {running_before})"
        );
        drop(setup);
    }
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// A seccomp filter, set by Python's ctypes before it execs the command in its arguments, that
/// refuses exactly what a kernel without the TPACKET_V3 TX ring (before 4.11) refuses:
/// `setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &tpacket_req3, 28)`, with EINVAL. Everything
/// else, a `tpacket_req` (16 bytes) included, passes. x86-64 only (another architecture passes
/// everything, and the test below fails saying V3 was used).
const REFUSE_V3_TX_RING: &str = r#"
import ctypes, os, struct, sys
LD, JEQ, RET = 0x20, 0x15, 0x06
prog = [
    (LD, 0, 0, 4), (JEQ, 0, 9, 0xC000003E),   # arch: x86-64
    (LD, 0, 0, 0), (JEQ, 0, 7, 54),           # nr: setsockopt
    (LD, 0, 0, 24), (JEQ, 0, 5, 263),         # level: SOL_PACKET
    (LD, 0, 0, 32), (JEQ, 0, 3, 13),          # optname: PACKET_TX_RING
    (LD, 0, 0, 48), (JEQ, 0, 1, 28),          # optlen: sizeof(struct tpacket_req3)
    (RET, 0, 0, 0x00050000 | 22),             # SECCOMP_RET_ERRNO | EINVAL
    (RET, 0, 0, 0x7FFF0000),                  # SECCOMP_RET_ALLOW
]
code = ctypes.create_string_buffer(b"".join(struct.pack("=HBBI", *i) for i in prog))
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
fprog = Fprog(len(prog), ctypes.addressof(code))
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
if libc.prctl(38, 1, None, 0, 0) or libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0):
    sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])
"#;

/// README, "Set up, build, test": where the kernel has no TPACKET_V3 TX ring, `mmap-tx` falls
/// back to TPACKET_V2 and says so. This kernel has one, so the sender runs under a seccomp
/// filter that refuses the V3 ring's request as such a kernel does (EINVAL); it then sends on
/// a V2 ring, every frame arrives, and stderr names both versions. The same run without the
/// filter stays on V3 and prints no note.
#[test]
fn mmap_tx_falls_back_to_tpacket_v2_where_the_kernel_has_no_v3_tx_ring_and_says_so() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let note = "mmap-tx: this kernel has no TPACKET_V3 TX ring; fell back to TPACKET_V2";
    for (refuse_v3, method) in [(true, "tpacket_v2"), (false, "tpacket_v3")] {
        let r = Receiver::start(
            &p.rx_ns,
            MMAP_RX,
            &["-i", &p.rx_if, "--count", "1000", "--json"],
        );
        let mut args = vec![
            "-i",
            p.tx_if.as_str(),
            "--dst-ip",
            p.rx_ip.as_str(),
            "--count",
            "1000",
            "--json",
        ];
        let tool = if refuse_v3 {
            args.splice(0..0, ["-c", REFUSE_V3_TX_RING, common::MMAP_TX]);
            "python3"
        } else {
            common::MMAP_TX
        };
        let o = VethPair::cmd(&p.tx_ns, tool, &args).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.contains(note), refuse_v3, "{err}");
        let t = common::tx_summary(&serde_json::from_slice(&o.stdout).unwrap());
        assert_eq!((t.method.as_str(), t.sent), (method, 1000), "{t:?}");
        let (_, r) = r.finish();
        assert_eq!((r.counts.unique, r.counts.lost), (1000, 0), "{r:?}");
    }
    drop(p);
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// README, "The CSV": each row is written whole with one `write(2)` to a file opened for
/// appending, then synced. The runner runs under `strace -ff`, which records every `openat`,
/// `write` and `fdatasync` of every process it starts: the results file is opened with
/// O_APPEND, and its header and each row are one complete write followed by an fdatasync of
/// the same file, in one process, adding up to the file's length.
#[test]
fn each_results_row_is_one_whole_write_then_a_sync() {
    let Some(_g) = network_test() else {
        return;
    };
    let dir = common::tmp("claims-write");
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("two.toml");
    std::fs::write(
        &profile,
        "name = \"two\"\ndescription = \"two small points\"\nrepetitions = 1\n\
         [[scenario]]\nname = \"count\"\nvary = \"count\"\nvalues = [\"1000\", \"2000\"]\n\
         rate = \"20kpps\"\nsize = 64\n",
    )
    .unwrap();
    let out = dir.join("out");
    let trace = dir.join("trace");
    let o = Command::new("strace")
        .args(["-ff", "-y", "-s", "0", "--seccomp-bpf"])
        .args(["-e", "trace=openat,write,fdatasync"])
        .arg("-o")
        .arg(&trace)
        .arg(PKTMMAP)
        .args(["run", "--profile"])
        .arg(&profile)
        .args(["--setup", "native", "--app", "mmap,udp", "--plot", "false"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let rows = pktmmap::experiment::rows::read_rows(&out).unwrap();
    assert_eq!(rows.len(), 4, "{rows:?}");
    let csv = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("runs-v")
        })
        .expect("a runs file");
    let tag = format!("<{}>", csv.display());
    // Each process's calls on the results file, as "open", "write N" or "sync".
    let mut writers = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("trace.")
        {
            continue;
        }
        let calls: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| l.contains(&tag) || l.contains(&format!("\"{}\"", csv.display())))
            .map(|l| {
                if l.starts_with("openat(") {
                    let writes = l.contains("O_WRONLY") || l.contains("O_RDWR");
                    assert!(
                        !writes || l.contains("O_APPEND"),
                        "written without O_APPEND: {l}"
                    );
                    "open".to_string()
                } else if l.starts_with("fdatasync(") {
                    assert!(l.ends_with(" = 0"), "{l}");
                    "sync".to_string()
                } else {
                    assert!(l.starts_with("write("), "{l}");
                    // write(3</.../runs-v9.csv>, "..."..., 412) = 412
                    let (call, ret) = l.rsplit_once(") = ").unwrap();
                    let asked = call.rsplit(", ").next().unwrap();
                    assert_eq!(asked, ret, "a short write: {l}");
                    format!("write {ret}")
                }
            })
            .collect();
        if !calls.is_empty() {
            writers.push(calls);
        }
    }
    assert_eq!(writers.len(), 1, "one process writes the file: {writers:?}");
    let calls = &writers[0];
    let written: Vec<u64> = calls
        .iter()
        .filter_map(|c| c.strip_prefix("write ")?.parse().ok())
        .collect();
    assert_eq!(
        written.len(),
        1 + rows.len(),
        "the header, then a write per row: {calls:?}"
    );
    let mut expected = Vec::new();
    for n in &written {
        expected.extend([format!("write {n}"), "sync".to_string()]);
    }
    let after_open: Vec<String> = calls.iter().filter(|c| *c != "open").cloned().collect();
    assert_eq!(after_open, expected, "each write followed by its sync");
    assert_eq!(
        written.iter().sum::<u64>(),
        std::fs::metadata(&csv).unwrap().len(),
        "the writes are the whole file"
    );
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}
