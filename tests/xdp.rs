//! xdp-tx and xdp-rx end to end, in namespaces joined by veth (native XDP, copy mode). Needs
//! root; the "someone else's program" case uses xdp-tools' xdp-filter (.ci/run installs it).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// XDP programs attached to the receiving veth, as `ip -d link` lists them.
fn programs(p: &VethPair) -> usize {
    let o = Command::new("ip")
        .args(["-n", &p.rx_ns, "-d", "link", "show", &p.rx_if])
        .output()
        .unwrap();
    // A failing `ip` must not read as "no program attached".
    assert!(o.status.success(), "ip link show: {}", text(&o));
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(
        shown.contains(p.rx_if.as_str()),
        "ip showed another link: {shown}"
    );
    shown.matches("prog/xdp").count()
}

#[test]
fn every_pairing_with_af_xdp_counts_exactly() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    // --coalesce-us: the ring fills for 500 us after each wakeup; nothing is lost for it.
    let coalesced = ["--coalesce-us", "500"];
    for (rx, rx_own, tx) in [
        (ToolBin::XdpRx, &[][..], ToolBin::XdpTx),
        (ToolBin::UdpRx, &[], ToolBin::XdpTx),
        (ToolBin::XdpRx, &[], ToolBin::MmapTx),
        (ToolBin::XdpRx, &[], ToolBin::UdpTx),
        (ToolBin::XdpRx, &coalesced, ToolBin::MmapTx),
    ] {
        let (t, r) = run_pair(
            &p,
            &ReceiverArgs {
                extra: words(rx_own),
                ..p.receiver(rx, 100_000)
            },
            &p.sender(tx, 100_000, "max"),
        );
        let case = format!("{tx} -> {rx}");
        assert_eq!(t.sent, 100_000, "{case}: {t:?}");
        if tx == ToolBin::XdpTx {
            assert_eq!(t.method, "af_xdp_copy", "veth has no zero-copy: {t:?}");
        }
        // The kernel's UDP stack took xdp-tx's frames (valid checksums), or xdp-rx got
        // every frame: nothing lost, except what a counted drop explains.
        assert_eq!(r.counts.unique, 100_000 - r.kernel_drops, "{case}: {r:?}");
        assert_eq!(
            (r.counts.duplicates, r.counts.ignored),
            (0, 0),
            "{case}: {r:?}"
        );
        assert_eq!(r.counts.run_id, Some(t.run_id), "{case}");
        if rx == ToolBin::XdpRx {
            assert_eq!(r.mode.as_deref().unwrap(), "native xdp, copy", "{r:?}");
            // Unpaced, a busy receiver may overrun its UMEM: every such loss is counted.
            assert_eq!(r.counts.lost, r.kernel_drops, "{case}: {r:?}");
        }
        assert_eq!(programs(&p), 0, "{case}: the program left with xdp-rx");
    }
}

/// Other traffic still reaches the stack while xdp-rx runs: a UDP flow to another port is
/// read whole by a socket, and ARP resolves (mmap-tx asks for the MAC afresh).
#[test]
fn traffic_outside_the_test_flow_still_reaches_the_stack() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let xr = Receiver::start(
        &p.rx_ns,
        XDP_RX,
        &[
            "-i",
            &p.rx_if,
            "--count",
            "5000",
            "--idle-timeout",
            "5",
            "--json",
        ],
    );
    assert_eq!(programs(&p), 1);
    let (t, other) = run_pair(
        &p,
        &ReceiverArgs {
            extra: words(&["--port", "9100"]),
            ..p.receiver(ToolBin::UdpRx, 3000)
        },
        &SenderArgs {
            extra: words(&["--port", "9100"]),
            ..p.sender(ToolBin::UdpTx, 3000, "30kpps")
        },
    );
    assert_eq!((t.sent, other.counts.unique), (3000, 3000), "{other:?}");
    ip(&["-n", &p.tx_ns, "neigh", "flush", "dev", &p.tx_if]);
    send(
        &p.tx_ns,
        MMAP_TX,
        &[
            "-i", &p.tx_if, "--dst-ip", &p.rx_ip, "--count", "5000", "--json",
        ],
    );
    let (code, r) = xr.finish();
    assert_eq!(code, 0);
    assert_eq!((r.counts.unique, r.counts.ignored), (5000, 0), "{r:?}");
    assert_eq!(programs(&p), 0);
}

/// A UMEM or fill ring too small for the rate overruns, and every lost sequence number is a
/// drop the kernel counted (rx_dropped + rx_ring_full; fill_ring_empty counts the same drops
/// as rx_dropped and is shown, not added).
#[test]
fn a_tiny_umem_overruns_and_every_loss_is_a_counted_drop() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    for shape in [
        ["--frames", "32", "--ring-size", "64"],
        ["--frames", "4096", "--ring-size", "16"],
    ] {
        let mut rx = vec![
            "-i",
            p.rx_if.as_str(),
            "--count",
            "300000",
            "--idle-timeout",
            "3",
            "--json",
        ];
        rx.extend(shape);
        let (t, r) = pair(
            &p,
            (XDP_RX, &rx),
            (
                MMAP_TX,
                &[
                    "-i", &p.tx_if, "--dst-ip", &p.rx_ip, "--count", "300000", "--json",
                ],
            ),
        );
        let (sent, unique, lost, drops) = (t.sent, r.counts.unique, r.counts.lost, r.kernel_drops);
        assert_eq!(sent, 300_000);
        assert!(drops > 0, "{shape:?} must overrun at full speed: {r:?}");
        assert_eq!(unique, sent - drops, "{shape:?}: {r:?}");
        assert_eq!(
            lost, drops,
            "{shape:?}: every lost sequence number is a counted drop: {r:?}"
        );
        let c = |name: &str| r.kernel_counters[name];
        assert_eq!(
            c("rx_dropped") + c("rx_ring_full") + c("rx_invalid_descs"),
            drops,
            "{r:?}"
        );
        // README, "AF_XDP": rx_fill_ring_empty counts the same drops as rx_dropped (a frame
        // with no fill-ring buffer to land in), which is why it is shown and not added.
        assert_eq!(c("rx_fill_ring_empty"), c("rx_dropped"), "{shape:?}: {r:?}");
    }
}

#[test]
fn xdp_tx_paces_within_one_percent_at_two_rates() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    for (rate, count, want) in [
        ("20kpps", 80_000, 20_000.0),
        ("50Mbps", 240_000, 50e6 / (106.0 * 8.0)),
    ] {
        let (_, r) = run_pair(
            &p,
            &p.receiver(ToolBin::MmapRx, count),
            &p.sender(ToolBin::XdpTx, count, rate),
        );
        assert_eq!(r.counts.lost, r.kernel_drops, "{r:?}");
        let err = (r.counts.pps / want - 1.0).abs();
        assert!(
            err < 0.01,
            "xdp-tx at {rate}: {} pps, want {want:.1}",
            r.counts.pps
        );
    }
}

/// The program is attached with a bpf_link: SIGKILL takes it away with the process, and a
/// program someone else attached is never replaced (exit 9, one line naming it).
#[test]
fn the_program_dies_with_xdp_rx_and_never_replaces_another() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let r = Receiver::start(&p.rx_ns, XDP_RX, &["-i", &p.rx_if, "--json"]);
    assert_eq!(programs(&p), 1);
    kill(Pid::from_raw(r.pid()), Signal::SIGKILL).unwrap();
    let _ = r.finish_any();
    // The link goes with the last reference to it, as the kernel releases the process's
    // files: wait for that (5 s at most), never a fixed time.
    let by = std::time::Instant::now() + Duration::from_secs(5);
    while programs(&p) != 0 && std::time::Instant::now() < by {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(programs(&p), 0, "SIGKILL left the program attached");
    // Someone else's program (xdp-tools' xdp-filter) is left alone.
    // xdp-filter pins its state into bpffs, which this host may not mount: it runs in a mount
    // namespace of its own with a bpffs of its own (its program stays attached when that goes).
    let load = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t bpf bpf /sys/fs/bpf && exec nsenter --net=/run/netns/{} xdp-filter load {} -m native",
            p.rx_ns, p.rx_if
        ))
        .output()
        .expect("xdp-filter (apt-get install xdp-tools)");
    assert!(
        load.status.success(),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    let o = Command::new("ip")
        .args([
            "netns",
            "exec",
            &p.rx_ns,
            XDP_RX,
            "-i",
            &p.rx_if,
            "--idle-timeout",
            "1",
        ])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(9), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("another XDP program is already attached"),
        "{err}"
    );
    assert_eq!(programs(&p), 1, "xdp-filter's program is still there");
    ip(&["-n", &p.rx_ns, "link", "set", "dev", &p.rx_if, "xdp", "off"]);
    assert_eq!(programs(&p), 0);
}

#[test]
fn bad_input_and_missing_privileges_get_one_line_and_their_exit_code() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let without = |caps: &str, tool: &str, args: &[&str]| {
        let mut a = vec!["--bounding-set", caps, "--inh-caps", caps, tool];
        a.extend_from_slice(args);
        run(&p.rx_ns, "setpriv", &a)
    };
    let rx = ["-i", p.rx_if.as_str(), "--idle-timeout", "1"];
    let tx = [
        "-i",
        p.tx_if.as_str(),
        "--dst-ip",
        p.rx_ip.as_str(),
        "--count",
        "1",
    ];
    for (o, code, says) in [
        (
            run(&p.rx_ns, XDP_RX, &["-i", &p.rx_if, "--frames", "3"]),
            5,
            "power of two",
        ),
        (
            run(&p.rx_ns, XDP_RX, &["-i", &p.rx_if, "--frame-size", "1024"]),
            5,
            "--frame-size 1024",
        ),
        (
            run(
                &p.rx_ns,
                XDP_RX,
                &["-i", &p.rx_if, "--bind-mode", "zero-copy"],
            ),
            4,
            "no zero-copy",
        ),
        (
            run(&p.rx_ns, XDP_RX, &["-i", "nosuch0"]),
            4,
            "does not exist",
        ),
        (without("-bpf,-sys_admin", XDP_RX, &rx), 3, "CAP_BPF"),
        (without("-net_raw", XDP_RX, &rx), 3, "CAP_NET_RAW"),
        (
            run(&p.tx_ns, XDP_TX, &[&tx[..], &["--rate", "fast"]].concat()),
            7,
            "cannot parse rate",
        ),
        (
            run(&p.tx_ns, XDP_TX, &[&tx[..], &["--size", "1473"]].concat()),
            6,
            "does not fit the MTU",
        ),
    ] {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{says}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err:?} should say {says:?}");
        assert_eq!(programs(&p), 0, "nothing left attached after: {err}");
    }
}

/// README, "AF_XDP": `xdp-rx --busy-poll 50` waits for frames by busy polling instead of
/// sleeping in poll(2): every datagram is counted as without it, the summary's mode says so,
/// and the receiving thread spins (its CPU time near the run's length, where the sleeping
/// receiver's is a small share of it at 10 kpps).
#[test]
fn a_busy_polling_xdp_rx_counts_every_datagram_and_spins() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let mut share = Vec::new();
    for busy in [false, true] {
        let extra = if busy {
            words(&["--busy-poll", "50"])
        } else {
            Vec::new()
        };
        let (t, r) = run_pair(
            &p,
            &ReceiverArgs {
                extra,
                ..p.receiver(ToolBin::XdpRx, 20_000)
            },
            &p.sender(ToolBin::MmapTx, 20_000, "10kpps"),
        );
        assert_eq!(
            (t.sent, r.counts.unique, r.counts.lost),
            (20_000, 20_000, 0),
            "busy {busy}: {r:?}"
        );
        let mode = r.mode.clone().unwrap_or_default();
        assert_eq!(
            mode.ends_with(", busy poll 50 us budget 64"),
            busy,
            "{mode}"
        );
        share.push((r.cpu_user_s + r.cpu_sys_s) / r.counts.duration_s);
    }
    assert!(
        share[0] < 0.5 && share[1] > 0.8,
        "CPU seconds per second of traffic, sleeping and busy polling: {share:?}"
    );
    // Busy polling and coalescing contradict each other; a budget needs busy polling.
    for extra in [
        &["--busy-poll", "50", "--coalesce-us", "10"][..],
        &["--busy-poll-budget", "8"][..],
        &["--busy-poll", "0"][..],
    ] {
        let mut args = vec!["-i", p.rx_if.as_str(), "--count", "1"];
        args.extend_from_slice(extra);
        let o = run(&p.rx_ns, XDP_RX, &args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", text(&o));
    }
}

/// `xdp-rx --queues 2` on a veth whose ends have two queues (`PKTMMAP_QUEUES=2`): udp-tx's 64
/// flows spread over both by hash, one socket and thread per queue takes each share
/// (`thread_received`, both non-zero, adding up), every datagram counted. One socket (the
/// default) binds queue 0 only: xdp-rx says the other queue goes to the stack uncounted, and
/// that share is what it misses, with no counted drop.
#[test]
fn xdp_rx_takes_every_queue_of_a_multi_queue_veth() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::with_queues(2);
    let sender = SenderArgs {
        extra: words(&["--flows", "64"]),
        ..p.sender(ToolBin::UdpTx, 6_400, "50kpps")
    };
    let (t, r) = run_pair(
        &p,
        &ReceiverArgs {
            extra: words(&["--queues", "2"]),
            ..p.receiver(ToolBin::XdpRx, 6_400)
        },
        &sender,
    );
    assert_eq!(
        (t.sent, r.counts.unique, r.counts.lost),
        (6_400, 6_400, 0),
        "{r:?}"
    );
    let f = r.counts.flows;
    assert_eq!((f.flows, f.min, f.max), (64, 100, 100), "{r:?}");
    let per_queue = &r.thread_received;
    assert_eq!(per_queue.len(), 2, "{r:?}");
    assert!(
        per_queue.iter().all(|&n| n > 0) && per_queue.iter().sum::<u64>() == 6_400,
        "both queues' shares: {per_queue:?}"
    );
    // One socket: the note, and the other queue's datagrams missed without a counted drop.
    let o = run(
        &p.rx_ns,
        XDP_RX,
        &["-i", &p.rx_if, "--idle-timeout", "1", "--json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!(
            "xdp-rx: note: {} has 2 receive queues and xdp-rx binds queue 0: datagrams on the others go to the stack, uncounted (use --queues)",
            p.rx_if
        )),
        "{}",
        text(&o)
    );
    let (_, one) = run_pair(&p, &p.receiver(ToolBin::XdpRx, 6_400), &sender);
    assert!(
        one.counts.unique < 6_400 && one.counts.unique + one.kernel_drops < 6_400,
        "queue 1's share is neither received nor a counted drop: {one:?}"
    );
    drop(p);
    assert_eq!(leftovers(), Vec::<String>::new());
}
