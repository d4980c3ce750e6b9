//! The four tools end to end, in two network namespaces joined by a veth pair.
//! Needs root (CI runs it as root); every test removes what it creates.

mod common;

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use pktmmap::report::{RxInterval, TxInterval};
use std::process::Command;

#[test]
fn mmap_tx_to_mmap_rx_delivers_every_packet() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let (t, r) = run_pair(
        &p,
        &p.receiver(ToolBin::MmapRx, 100_000),
        &p.sender(ToolBin::MmapTx, 100_000, "100kpps"),
    );
    assert_eq!(t.sent, 100_000);
    assert_eq!(t.method, "tpacket_v3");
    assert_eq!(r.counts.received, 100_000);
    assert_eq!(r.counts.unique, 100_000);
    assert_eq!(r.counts.lost, 0);
    assert_eq!(r.counts.duplicates, 0);
    assert_eq!(r.kernel_drops, 0);
    assert_eq!(r.counts.ignored, 0);
    assert_eq!(r.counts.run_id, Some(t.run_id));
    assert_eq!(r.counts.frame_bytes, 100_000 * 106);
    assert_eq!(r.counts.latency.samples, 100_000);
    assert!(!r.partial);
    assert_eq!(r.stop_reason, StopReason::Count);
}

#[test]
fn jumbo_frames_need_no_hand_set_ring_geometry() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    for (ns, dev) in [(&p.tx_ns, &p.tx_if), (&p.rx_ns, &p.rx_if)] {
        ip(&["-n", ns, "link", "set", dev, "mtu", "9000"]);
    }
    // The largest datagram of a 9000-byte MTU (9000 - 28 bytes of payload) with the default
    // geometry: the frame size follows the MTU, on both rings and both TX ring versions.
    for version in ["v3", "v2"] {
        let (t, r) = run_pair(
            &p,
            &p.receiver(ToolBin::MmapRx, 2000),
            &SenderArgs {
                size: "8972".into(),
                extra: words(&["--ring-version", version]),
                ..p.sender(ToolBin::MmapTx, 2000, "20kpps")
            },
        );
        assert_eq!(t.sent, 2000, "{version}");
        assert_eq!(r.counts.unique, 2000, "{version}: {r:?}");
        assert_eq!(r.counts.frame_bytes, 2000 * 9014, "{version}: whole frames");
    }
    // A frame size the user sets is checked, never overridden: too small is exit 5.
    let o = run(
        &p.tx_ns,
        MMAP_TX,
        &[
            "-i",
            &p.tx_if,
            "--dst-ip",
            &p.rx_ip,
            "--count",
            "1",
            "--frame-size",
            "2048",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("frame size 2048 is too small"));
}

#[test]
fn tpacket_v2_tx_ring_delivers_every_packet() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let (t, r) = run_pair(
        &p,
        &p.receiver(ToolBin::MmapRx, 20_000),
        &SenderArgs {
            size: "1472".into(),
            extra: words(&["--ring-version", "v2"]),
            ..p.sender(ToolBin::MmapTx, 20_000, "50kpps")
        },
    );
    assert_eq!(t.method, "tpacket_v2");
    assert_eq!(
        (t.sent, r.counts.unique, r.counts.lost),
        (20_000, 20_000, 0)
    );
    assert_eq!(r.counts.frame_bytes, 20_000 * 1514);
}

#[test]
fn the_kernel_udp_stack_accepts_mmap_tx_frames() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    // Both ways the kernel can build the skb from a ring frame.
    for skb in ["linear", "fragments"] {
        let (t, r) = run_pair(
            &p,
            &p.receiver(ToolBin::UdpRx, 20_000),
            &SenderArgs {
                extra: words(&["--skb", skb]),
                ..p.sender(ToolBin::MmapTx, 20_000, "20kpps")
            },
        );
        assert_eq!(t.sent, 20_000, "{skb}");
        // Bad checksums would make the kernel drop every frame before the socket.
        assert_eq!(r.counts.received + r.kernel_drops, 20_000, "{skb}: {r:?}");
        // (Bad checksums would make both zero: the stack drops such frames before any socket.)
        assert!(r.counts.received > 0, "{skb}: {r:?}");
        // A starved udp-rx may overflow its buffer even at 20 kpps: every loss is a drop.
        assert_eq!(r.counts.lost, r.kernel_drops, "{skb}: {r:?}");
    }
}

#[test]
fn udp_tx_to_mmap_rx_delivers_every_packet() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let (t, r) = run_pair(
        &p,
        &p.receiver(ToolBin::MmapRx, 50_000),
        &p.sender(ToolBin::UdpTx, 50_000, "50kpps"),
    );
    assert_eq!(t.sent, 50_000);
    assert_eq!(
        (r.counts.received, r.counts.unique, r.counts.lost),
        (50_000, 50_000, 0)
    );
    assert_eq!(
        r.counts.ignored, 0,
        "checksum offload must not look like bad checksums: {r:?}"
    );
}

#[test]
fn udp_tx_to_udp_rx_accounts_for_every_packet() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let (t, r) = run_pair(
        &p,
        &p.receiver(ToolBin::UdpRx, 50_000),
        &SenderArgs {
            size: "512".into(),
            ..p.sender(ToolBin::UdpTx, 50_000, "max")
        },
    );
    // `lost` is derived from `unique` (count - unique), so their sum proves nothing: compare
    // what arrived with what the sender says it sent, and every loss with a counted drop.
    assert_eq!(t.sent, 50_000);
    assert_eq!(
        r.counts.unique,
        t.sent - r.kernel_drops,
        "every packet sent arrived or is a counted socket drop: {r:?}"
    );
    assert_eq!(r.counts.lost, r.kernel_drops, "{r:?}");
}

#[test]
fn a_tiny_rx_ring_overruns_and_the_numbers_add_up() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let (t, r) = run_pair(
        &p,
        &ReceiverArgs {
            extra: words(&["--block-size", "4096", "--block-count", "2"]),
            ..p.receiver(ToolBin::MmapRx, 300_000)
        },
        &p.sender(ToolBin::MmapTx, 300_000, "max"),
    );
    let sent = t.sent;
    assert_eq!(sent, 300_000);
    let (recv, lost, drops) = (r.counts.unique, r.counts.lost, r.kernel_drops);
    assert!(drops > 0, "an 8 KiB ring must overrun at full speed: {r:?}");
    assert_eq!(
        recv,
        sent - drops,
        "what the ring did not drop arrived: {r:?}"
    );
    assert_eq!(
        lost, drops,
        "every lost sequence number is a kernel ring drop: {r:?}"
    );
    assert_eq!(r.kernel_packets, Some(recv + drops));
    // README, "The CSV": `freeze_count` is the V3 ring's freezes: a ring that overran froze.
    assert!(r.freeze_count > 0, "an overrun V3 ring freezes: {r:?}");
    assert_eq!(r.stop_reason, StopReason::Idle);
}

/// README, "Round trips": `--block-timeout-ms` is how long a frame can wait in a V3 block the
/// kernel is still filling. At 20 pps with every probe reflected, a 300 ms timeout holds each
/// frame until its block retires (the round trip's median well over 50 ms), a 1 ms one hands
/// it over almost at once (well under 50 ms).
#[test]
fn block_timeout_ms_is_how_long_a_frame_waits_in_a_block_being_filled() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let mut p50 = Vec::new();
    for ms in ["300", "1"] {
        let (t, r) = run_pair(
            &p,
            &ReceiverArgs {
                reflect_every: Some(1),
                extra: words(&["--block-timeout-ms", ms]),
                ..p.receiver(ToolBin::MmapRx, 20)
            },
            &SenderArgs {
                reflect_every: Some(1),
                ..p.sender(ToolBin::MmapTx, 20, "20pps")
            },
        );
        assert_eq!(r.counts.unique, 20, "{ms} ms: {r:?}");
        let rt = t.round_trip.expect("round trips");
        assert_eq!(rt.reflected, 20, "{ms} ms: {rt:?}");
        p50.push(rt.latency.p50_ns.unwrap());
    }
    assert!(
        p50[0] > 50_000_000,
        "300 ms blocks: round trip p50 {} ns",
        p50[0]
    );
    assert!(
        p50[1] < 50_000_000,
        "1 ms blocks: round trip p50 {} ns",
        p50[1]
    );
}

fn check_pacing(p: &VethPair, tx: ToolBin, extra: &[&str], rate: &str, count: u64, want_pps: f64) {
    let (_t, r) = run_pair(
        p,
        &p.receiver(ToolBin::MmapRx, count),
        &SenderArgs {
            extra: words(extra),
            ..p.sender(tx, count, rate)
        },
    );
    // Pinned apart and ~4 s long, so a stall of a few ms at either end moves the measured rate
    // by well under the 1 % tolerance on a busy 2-core machine; any loss is a counted drop.
    assert_eq!(r.counts.lost, r.kernel_drops, "{r:?}");
    let pps = r.counts.pps;
    let err = (pps / want_pps - 1.0).abs();
    assert!(
        err < 0.01,
        "{tx} at {rate}: receiver saw {pps:.1} pps, want {want_pps:.1} (error {:.2}%)",
        err * 100.0
    );
}

#[test]
fn pacing_is_within_one_percent_at_the_receiver() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    check_pacing(&p, ToolBin::MmapTx, &[], "20kpps", 80_000, 20_000.0);
    // 50 Mbit/s of 106-byte frames is 58,962.3 packets per second.
    check_pacing(
        &p,
        ToolBin::MmapTx,
        &[],
        "50Mbps",
        240_000,
        50e6 / (106.0 * 8.0),
    );
    check_pacing(&p, ToolBin::UdpTx, &[], "30kpps", 120_000, 30_000.0);
    // GSO senders pace per datagram, not per super-packet.
    check_pacing(
        &p,
        ToolBin::UdpTx,
        &["--gso", "64"],
        "40kpps",
        160_000,
        40_000.0,
    );
    check_pacing(
        &p,
        ToolBin::MmapTx,
        &["--gso", "64"],
        "40kpps",
        160_000,
        40_000.0,
    );
}

#[test]
fn flow_filter_keeps_other_ports_out_and_no_filter_classifies_them() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    // One run per filter, with traffic to the test port and to another port: the flow filter
    // lets exactly the test flow in (so zero other-port frames means filtered, not absent),
    // and without a filter every other-port frame is classified.
    for (filter, ignored_other_port) in [("flow", 0u64), ("none", 1000)] {
        let r = Receiver::start(
            &p.rx_ns,
            MMAP_RX,
            &[
                "-i",
                &p.rx_if,
                "--filter",
                filter,
                "--idle-timeout",
                "3",
                "--json",
            ],
        );
        for (port, count) in [("9100", "1000"), ("9000", "700")] {
            send(
                &p.tx_ns,
                UDP_TX,
                &[
                    "--dst-ip", &p.rx_ip, "--port", port, "--count", count, "--rate", "50kpps",
                    "--json",
                ],
            );
        }
        let (code, r) = r.finish();
        assert_eq!(code, 0);
        assert_eq!(
            (r.counts.received, r.counts.unique),
            (700, 700),
            "{filter}: the test flow arrives whole: {r:?}"
        );
        assert_eq!(
            r.counts
                .ignored_by_reason
                .get("other_port")
                .copied()
                .unwrap_or(0),
            ignored_other_port,
            "{filter}: {r:?}"
        );
    }
}

#[test]
fn an_interrupted_receiver_prints_a_partial_summary() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    for (rx, args) in [
        (
            MMAP_RX,
            vec!["-i", p.rx_if.as_str(), "--interval", "0.1", "--json"],
        ),
        (UDP_RX, vec!["--interval", "0.1", "--json"]),
    ] {
        let mut r = Receiver::start(&p.rx_ns, rx, &args);
        send(
            &p.tx_ns,
            UDP_TX,
            &[
                "--dst-ip", &p.rx_ip, "--count", "1000", "--rate", "100kpps", "--json",
            ],
        );
        // Interrupted once it has counted every packet (received or dropped).
        r.wait_for_counted(1000);
        kill(Pid::from_raw(r.pid()), Signal::SIGINT).unwrap();
        let (code, r) = r.finish();
        assert_eq!(code, 130, "{rx}");
        assert!(r.partial);
        assert_eq!(r.stop_reason, StopReason::Signal);
        // What was seen is kept; a socket-buffer overflow is counted, not lost silently.
        assert_eq!(r.counts.received + r.kernel_drops, 1000, "{rx}: {r:?}");
        assert!(r.counts.received > 0, "{rx}: {r:?}");
    }
}

#[test]
fn a_receiver_without_traffic_stops_at_the_idle_timeout_with_zero() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let r = Receiver::start(
        &p.rx_ns,
        MMAP_RX,
        &[
            "-i",
            &p.rx_if,
            "--count",
            "10",
            "--idle-timeout",
            "0.5",
            "--json",
        ],
    );
    let (code, r) = r.finish();
    assert_eq!(code, 0);
    assert_eq!((r.counts.received, r.counts.lost), (0, 10));
    assert_eq!(r.stop_reason, StopReason::Idle);
    assert_eq!(r.counts.pps, 0.0);
}

#[test]
fn bad_input_gets_one_line_and_its_own_exit_code() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let tx = |extra: &[&str]| {
        let mut a = vec![
            "-i",
            p.tx_if.as_str(),
            "--dst-ip",
            p.rx_ip.as_str(),
            "--count",
            "1",
        ];
        a.extend_from_slice(extra);
        fails(&p.tx_ns, MMAP_TX, &a)
    };
    let cases: Vec<((i32, String), i32, &str)> = vec![
        (
            fails(
                &p.tx_ns,
                MMAP_TX,
                &["-i", "nosuch0", "--dst-ip", &p.rx_ip, "--count", "1"],
            ),
            4,
            "does not exist",
        ),
        (tx(&["--rate", "fast"]), 7, "cannot parse rate"),
        (tx(&["--size", "1473"]), 6, "does not fit the MTU"),
        (tx(&["--size", "23"]), 6, "below the 24-byte probe"),
        (tx(&["--frame-size", "1000"]), 5, "not a multiple of 16"),
        (tx(&["--frame-size", "1024"]), 5, "too small"),
        (tx(&["--block-size", "5000"]), 5, "page size"),
        (
            tx(&["--block-size", "4096", "--frame-count", "7"]),
            5,
            "frame count",
        ),
        (
            fails(
                &p.tx_ns,
                MMAP_TX,
                &[
                    "-i",
                    &p.tx_if,
                    "--dst-ip",
                    "10.77.249.99",
                    "--count",
                    "1",
                    "--resolve-timeout",
                    "0.5",
                ],
            ),
            8,
            "did not resolve",
        ),
        (
            fails(&p.rx_ns, MMAP_RX, &["-i", &p.rx_if, "--block-count", "0"]),
            5,
            "block count",
        ),
        (
            fails(
                &p.tx_ns,
                UDP_TX,
                &["--dst-ip", &p.rx_ip, "--count", "1", "--rate", "12"],
            ),
            7,
            "no unit",
        ),
        (
            fails(
                &p.tx_ns,
                UDP_TX,
                &["--dst-ip", &p.rx_ip, "--count", "1", "--size", "2000"],
            ),
            6,
            "does not fit the MTU",
        ),
        (
            fails(
                &p.tx_ns,
                "setpriv",
                &[
                    "--bounding-set",
                    "-net_raw",
                    "--inh-caps",
                    "-net_raw",
                    MMAP_TX,
                    "-i",
                    &p.tx_if,
                    "--dst-ip",
                    &p.rx_ip,
                    "--count",
                    "1",
                ],
            ),
            3,
            "CAP_NET_RAW",
        ),
        (
            fails(
                &p.rx_ns,
                "setpriv",
                &[
                    "--bounding-set",
                    "-net_raw",
                    "--inh-caps",
                    "-net_raw",
                    MMAP_RX,
                    "-i",
                    &p.rx_if,
                ],
            ),
            3,
            "CAP_NET_RAW",
        ),
        (
            fails(&p.rx_ns, UDP_RX, &["--bind", "10.77.249.99"]),
            4,
            "cannot bind 10.77.249.99:9000",
        ),
        (
            fails(&p.rx_ns, UDP_RX, &["--idle-timeout", "0"]),
            2,
            "--idle-timeout must be a positive number",
        ),
        (
            fails(&p.rx_ns, MMAP_RX, &["-i", &p.rx_if, "--idle-timeout=-1"]),
            2,
            "--idle-timeout must be a positive number",
        ),
    ];
    for ((code, err), want_code, want_text) in cases {
        assert_eq!(code, want_code, "{err}");
        assert!(err.contains(want_text), "{err:?} should say {want_text:?}");
    }
    ip(&["-n", &p.rx_ns, "link", "set", &p.rx_if, "down"]);
    let (code, err) = fails(&p.rx_ns, MMAP_RX, &["-i", &p.rx_if]);
    assert_eq!(code, 4);
    assert!(err.contains("is down"), "{err}");
}

#[test]
fn threaded_senders_and_fanout_receivers_count_exactly() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    // 60,001 does not divide by 3 or 2: the lanes' shares differ by one.
    for (tx_threads, rx_threads, fanout, n) in [
        ("2", "1", "lb", 60_000),
        ("1", "2", "lb", 60_000),
        ("2", "2", "hash", 60_001),
        ("3", "2", "cpu", 60_001),
    ] {
        let (t, r) = run_pair(
            &p,
            &ReceiverArgs {
                extra: words(&["--threads", rx_threads, "--fanout", fanout]),
                ..p.receiver(ToolBin::MmapRx, n)
            },
            &SenderArgs {
                extra: words(&["--threads", tx_threads]),
                ..p.sender(ToolBin::MmapTx, n, "60kpps")
            },
        );
        let case = format!("tx {tx_threads} threads, rx {rx_threads} threads, fanout {fanout}");
        assert_eq!(t.sent, n, "{case}: {t:?}");
        assert_eq!(
            (
                r.counts.received,
                r.counts.unique,
                r.counts.lost,
                r.counts.duplicates,
                r.kernel_drops
            ),
            (n, n, 0, 0, 0),
            "{case}: {r:?}"
        );
        assert_eq!(r.counts.run_id, Some(t.run_id), "{case}");
        assert_eq!(r.counts.latency.samples, n, "{case}: histograms merged");
    }
}

#[test]
fn fanout_threads_need_a_count_to_merge() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let o = run(&p.rx_ns, MMAP_RX, &["-i", &p.rx_if, "--threads", "2"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--threads needs --count"), "{err}");
}

#[test]
fn print_frame_shows_the_frame_mmap_tx_sends() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let o = run(
        &p.tx_ns,
        MMAP_TX,
        &[
            "-i",
            &p.tx_if,
            "--dst-ip",
            &p.rx_ip,
            "--count",
            "1",
            "--size",
            "100",
            "--print-frame",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hex = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let frame: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    assert_eq!(frame.len(), 14 + 20 + 8 + 100);
    let d = pktmmap::wire::parse_udp(&frame, 9000, true).expect("a valid IPv4/UDP frame");
    assert_eq!(d.src_ip.to_string(), p.tx_ip);
    assert_eq!(&d.payload[..4], b"PKM1", "the probe leads the payload");
    let probe = pktmmap::wire::Probe::parse(d.payload).expect("probe");
    assert_eq!(probe.seq, 0);
}

#[test]
fn batched_udp_tx_delivers_every_packet() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    for rate in ["50kpps", "max"] {
        let (t, r) = run_pair(
            &p,
            &p.receiver(ToolBin::MmapRx, 50_000),
            &SenderArgs {
                extra: words(&["--batch", "32"]),
                ..p.sender(ToolBin::UdpTx, 50_000, rate)
            },
        );
        assert_eq!(t.method, "sendmmsg", "{t:?}");
        assert_eq!(t.sent, 50_000, "{rate}: {t:?}");
        if rate == "max" {
            assert!(t.syscalls <= 50_000 / 32 + 100, "batched: {t:?}");
        }
        assert_eq!(
            (
                r.counts.received,
                r.counts.unique,
                r.counts.lost,
                r.counts.duplicates
            ),
            (50_000, 50_000, 0, 0),
            "{rate}: {r:?}"
        );
    }
    let o = run(
        &p.tx_ns,
        UDP_TX,
        &["--dst-ip", &p.rx_ip, "--count", "1", "--batch", "65"],
    );
    assert_eq!(o.status.code(), Some(2), "--batch is 1..=64");
}

/// The `ingress-drop` fate acts: its nft rule drops the test flow after the packet tap (its
/// counter says so, for exactly the packets sent), mmap-rx still sees every one, and the
/// kernel's UDP stack never does (no port-unreachable counted).
#[test]
fn the_ingress_drop_rule_drops_the_test_flow_after_the_tap() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let udp_no_ports = || {
        let o = std::process::Command::new("ip")
            .args(["netns", "exec", &p.rx_ns, "cat", "/proc/net/snmp"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
        let (names, values) = (udp.next().unwrap(), udp.next().unwrap());
        let i = names
            .split_whitespace()
            .position(|n| n == "NoPorts")
            .unwrap();
        values
            .split_whitespace()
            .nth(i)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    // The MAC given, so that mmap-tx sends no datagram of its own to trigger ARP (it sends
    // one to the discard port otherwise, which the stack would count).
    let mac = std::process::Command::new("ip")
        .args(["netns", "exec", &p.rx_ns, "cat"])
        .arg(format!("/sys/class/net/{}/address", p.rx_if))
        .output()
        .unwrap();
    let mac = String::from_utf8_lossy(&mac.stdout).trim().to_string();
    let before = udp_no_ports();
    let rule = pktmmap::experiment::place::IngressDrop::install(&p.rx_ns, &p.rx_if, 9000, None)
        .expect("nft");
    // mmap-tx to the receiver's MAC, unpaced, into mmap-rx.
    let flow = |count| {
        run_pair(
            &p,
            &ReceiverArgs {
                idle_timeout_s: 2.0,
                ..p.receiver(ToolBin::MmapRx, count)
            },
            &SenderArgs {
                extra: words(&["--dst-mac", &mac]),
                ..p.sender(ToolBin::MmapTx, count, "max")
            },
        )
    };
    let (t, r) = flow(5000);
    assert_eq!(t.sent, 5000);
    assert_eq!(
        r.counts.unique, 5000,
        "the tap sees them before the rule: {r:?}"
    );
    assert_eq!(rule.dropped().unwrap(), 5000, "the rule dropped each one");
    assert_eq!(udp_no_ports(), before, "none reached the UDP stack");
    drop(rule);
    // Without the rule the same flow reaches the stack, which has no socket on the port.
    let (_, r) = flow(100);
    assert_eq!(r.counts.unique, 100);
    assert_eq!(
        udp_no_ports(),
        before + 100,
        "the stack saw them: the counter works"
    );
}

/// `pktmmap inject`'s errors: each a single line with its exit code, never a panic (a
/// multi-byte character once aborted it with exit 134).
#[test]
fn inject_refuses_bad_frames_with_one_line() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let inject = |frames: &str| {
        let mut c = std::process::Command::new("ip");
        c.args([
            "netns", "exec", &p.tx_ns, PKTMMAP, "inject", "-i", &p.tx_if, "-",
        ]);
        let mut child = c
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(frames.as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    for (text, code, says) in [
        ("a\u{e9}0\n", 2, "line 1: not hex"),
        ("abc\n", 2, "odd number of hex digits"),
        ("0a0b\n", 6, "frame 1 is 2 bytes"),
        (
            &format!("{}\n", "00".repeat(1600)),
            6,
            "frame 1 is 1600 bytes",
        ),
    ] {
        let (got, err, _) = inject(text);
        assert_eq!(got, code, "{text:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err:?} should say {says:?}");
    }
    // A good frame goes out: an ARP request to the broadcast address.
    let arp =
        "ffffffffffff020000000001080600010800060400010200000000010a4d0001000000000000 0a4d0002";
    let (got, err, out) = inject(&format!("# one frame\n{arp}\n"));
    assert_eq!(got, 0, "{err}");
    assert!(out.contains("sent 1 of 1 frames"), "{out}");
}

/// An interval report of either side, as the test reads it.
trait Interval: serde::de::DeserializeOwned + std::fmt::Debug {
    fn number(&self) -> u32;
    fn span_s(&self) -> (f64, f64);
    /// Packets sent or received in the interval.
    fn packets(&self) -> u64;
    fn pps(&self) -> f64;
}

impl Interval for pktmmap::report::TxInterval {
    fn number(&self) -> u32 {
        self.interval
    }
    fn span_s(&self) -> (f64, f64) {
        (self.start_s, self.end_s)
    }
    fn packets(&self) -> u64 {
        self.sent
    }
    fn pps(&self) -> f64 {
        self.pps
    }
}

impl Interval for pktmmap::report::RxInterval {
    fn number(&self) -> u32 {
        self.interval
    }
    fn span_s(&self) -> (f64, f64) {
        (self.start_s, self.end_s)
    }
    fn packets(&self) -> u64 {
        self.received
    }
    fn pps(&self) -> f64 {
        self.pps
    }
}

/// Checks a tool's JSON Lines: every object with `type` and `schema` 1, intervals numbered
/// from 1, back to back from 0 s, each pps its own packets over its span, then one summary;
/// returns them typed (intervals, summary).
fn intervals_then_summary<I: Interval, S: serde::de::DeserializeOwned>(
    mut lines: Vec<serde_json::Value>,
) -> (Vec<I>, S) {
    let summary = lines.pop().expect("at least the summary");
    assert_eq!(summary["type"], "summary", "{summary}");
    for l in lines.iter().chain([&summary]) {
        assert_eq!(l["schema"], 1, "{l}");
    }
    let mut end = 0.0;
    let mut intervals = Vec::new();
    for (i, l) in lines.into_iter().enumerate() {
        assert_eq!(l["type"], "interval", "{l}");
        let l: I = serde_json::from_value(l.clone())
            .unwrap_or_else(|e| panic!("not an interval report ({e}): {l}"));
        let (start, stop) = l.span_s();
        assert_eq!(l.number(), i as u32 + 1, "{l:?}");
        assert_eq!(start, end, "intervals are back to back: {l:?}");
        assert!(stop > start, "{l:?}");
        assert!(
            (l.pps() * (stop - start) - l.packets() as f64).abs() < 1.0,
            "pps is the interval's: {l:?}"
        );
        end = stop;
        intervals.push(l);
    }
    let summary = serde_json::from_value(summary.clone())
        .unwrap_or_else(|e| panic!("not a summary ({e}): {summary}"));
    (intervals, summary)
}

#[test]
fn interval_reports_are_json_lines_that_add_up_to_the_summary() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    for (tx, rx) in [(MMAP_TX, MMAP_RX), (UDP_TX, UDP_RX)] {
        let frames = tx == MMAP_TX;
        let mut rx_args = vec![
            "--count",
            "60000",
            "--idle-timeout",
            "3",
            "--json",
            "--interval",
            "0.2",
        ];
        if frames {
            rx_args.extend(["-i", p.rx_if.as_str()]);
        } else {
            rx_args.extend(["--bind", p.rx_ip.as_str()]);
        }
        let mut tx_args = vec![
            "--dst-ip",
            p.rx_ip.as_str(),
            "--count",
            "60000",
            "--rate",
            "50kpps",
            "--json",
            "--interval",
            "0.2",
        ];
        if frames {
            tx_args.extend(["-i", p.tx_if.as_str()]);
        }
        let r = Receiver::start(&p.rx_ns, rx, &rx_args);
        let out = run(&p.tx_ns, tx, &tx_args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (t_int, t): (Vec<TxInterval>, TxSummary) =
            intervals_then_summary(json_lines(&out.stdout));
        let (code, r_lines) = r.finish_lines();
        assert_eq!(code, 0);
        let (r_int, r): (Vec<RxInterval>, RxSummary) = intervals_then_summary(r_lines);

        // 60,000 packets at 50 kpps take 1.2 s: several 0.2 s intervals on each side.
        assert!(t_int.len() >= 4, "{tx}: {} intervals", t_int.len());
        assert!(r_int.len() >= 4, "{rx}: {} intervals", r_int.len());
        assert_eq!(t_int.iter().map(|l| l.sent).sum::<u64>(), t.sent, "{tx}");
        assert_eq!(t.sent, 60_000);
        assert_eq!(t_int.last().unwrap().sent_total, 60_000);
        assert_eq!(
            r_int.iter().map(|l| l.received).sum::<u64>(),
            r.counts.received,
            "{rx}"
        );
        assert_eq!(r.counts.received, 60_000, "{rx}: {r:?}");
        assert_eq!(r_int.last().unwrap().received_total, 60_000);
        assert_eq!(
            r_int.iter().map(|l| l.kernel_drops).sum::<u64>(),
            r.kernel_drops
        );
        let lost: i64 = r_int.iter().map(|l| l.lost).sum();
        assert_eq!(lost, 0, "{rx}");
        assert_eq!(
            r_int.iter().map(|l| l.latency.samples).sum::<u64>(),
            r.counts.latency.samples,
            "every probe's latency in exactly one interval"
        );
    }

    // Bad intervals are a usage error (exit 2), named.
    for bad in ["0", "-1", "0.05", "soon", "inf"] {
        let out = run(
            &p.rx_ns,
            MMAP_RX,
            &["-i", &p.rx_if, "--interval", bad, "--idle-timeout", "1"],
        );
        assert_eq!(out.status.code(), Some(2), "--interval {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--interval"), "--interval {bad}: {err}");
        assert!(out.stdout.is_empty());
    }
}

/// A classic pcap (microsecond, Ethernet unless `link` says otherwise) holding `frames`.
fn pcap_bytes(frames: &[Vec<u8>], link: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&link.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        for v in [i as u32, 0, f.len() as u32, f.len() as u32] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(f);
    }
    b
}

/// Runs `tool` with `args`, expecting exit `code` and one line of stderr containing `says`.
fn refuses(ns: &str, tool: &str, args: &[&str], code: i32, says: &str) {
    let (got, err) = fails(ns, tool, args);
    assert_eq!(got, code, "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: {err}");
}

#[test]
fn captures_open_in_tcpdump_and_tshark_and_replay_exactly() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let dir = tmp("capture");
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("two-thousand.pcap");
    let pcapng = dir.join("two-thousand.pcapng");
    for (file, size) in [(&pcap, 64), (&pcapng, 700)] {
        let (t, r) = run_pair(
            &p,
            &ReceiverArgs {
                extra: words(&["--write", file.to_str().unwrap()]),
                ..p.receiver(ToolBin::MmapRx, 2000)
            },
            &SenderArgs {
                size: size.to_string(),
                ..p.sender(ToolBin::MmapTx, 2000, "20kpps")
            },
        );
        assert_eq!(t.sent, 2000);
        assert_eq!(r.counts.unique, 2000);
        assert_eq!(r.capture.as_ref().unwrap().packets, 2000, "{r:?}");
        assert_eq!(
            r.capture.as_ref().unwrap().bytes,
            std::fs::metadata(file).unwrap().len()
        );
    }
    // tcpdump reads the pcap: 2,000 test datagrams of 64 bytes.
    let o = Command::new("tcpdump")
        .args(["-nn", "-r", pcap.to_str().unwrap()])
        .output()
        .expect("tcpdump (apt-get install tcpdump)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().count(), 2000);
    assert!(text
        .lines()
        .all(|l| l.contains(&format!("> {}.9000: UDP, length 64", p.rx_ip))));
    // tshark reads the pcapng, with nanosecond timestamps in order.
    let o = Command::new("tshark")
        .args([
            "-r",
            pcapng.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.time_epoch",
            "-e",
            "udp.length",
        ])
        .output()
        .expect("tshark (apt-get install tshark)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<(&str, &str)> = text.lines().map(|l| l.split_once('\t').unwrap()).collect();
    assert_eq!(rows.len(), 2000);
    assert!(rows
        .iter()
        .all(|(ts, len)| *len == "708" && ts.split('.').nth(1).map(str::len) == Some(9)));
    assert!(rows.windows(2).all(|w| w[0].0 <= w[1].0));
    // tshark prints nine digits for microsecond files too: nanoseconds show as a value below
    // the microsecond (a microsecond clock would give ...000 every time), and the pcap says
    // so in its magic (a1b23c4d: nanosecond pcap).
    assert!(
        rows.iter().any(|(ts, _)| !ts.ends_with("000")),
        "no sub-microsecond timestamp in {} rows",
        rows.len()
    );
    let head = std::fs::read(&pcap).unwrap();
    let magic = [head[0], head[1], head[2], head[3]];
    assert!(
        [u32::from_be_bytes(magic), u32::from_le_bytes(magic)].contains(&0xa1b2_3c4d),
        "nanosecond pcap magic (in the writer's byte order): {magic:x?}"
    );

    // README: `--format` overrides the name's format, `--snaplen N` cuts longer frames and
    // keeps their wire length. A `.pcap` name written as pcapng, 742-byte frames cut to 100.
    let cut = dir.join("cut.pcap");
    let (_, r) = run_pair(
        &p,
        &ReceiverArgs {
            extra: words(&[
                "--write",
                cut.to_str().unwrap(),
                "--format",
                "pcapng",
                "--snaplen",
                "100",
            ]),
            ..p.receiver(ToolBin::MmapRx, 500)
        },
        &SenderArgs {
            size: "700".into(),
            ..p.sender(ToolBin::MmapTx, 500, "20kpps")
        },
    );
    assert_eq!(r.capture.as_ref().unwrap().packets, 500, "{r:?}");
    let head = std::fs::read(&cut).unwrap();
    assert_eq!(
        head[..4],
        0x0a0d_0d0a_u32.to_le_bytes(),
        "a pcapng section header block"
    );
    let o = Command::new("tshark")
        .args([
            "-r",
            cut.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.cap_len",
            "-e",
            "frame.len",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.lines().count(), 500, "{text}");
    assert!(text.lines().all(|l| l == "100\t742"), "{text}");

    // Replayed as captured, and without --count once (as tcpreplay plays a file): the same
    // 2,000 probes arrive once each, and the receiver (waiting for 4,000) sees no more.
    let receiver = Receiver::start(
        &p.rx_ns,
        MMAP_RX,
        &[
            "-i",
            &p.rx_if,
            "--count",
            "4000",
            "--idle-timeout",
            "2",
            "--json",
        ],
    );
    let t = send(
        &p.tx_ns,
        MMAP_TX,
        &[
            "-i",
            &p.tx_if,
            "--pcap",
            pcap.to_str().unwrap(),
            "--rate",
            "20kpps",
            "--json",
        ],
    );
    let (_, r) = receiver.finish();
    assert_eq!(r.stop_reason, StopReason::Idle, "{r:?}");
    assert_eq!(t.sent, 2000);
    assert_eq!(t.replay.as_ref().unwrap().frames, 2000);
    assert_eq!((r.counts.unique, r.counts.duplicates), (2000, 0), "{r:?}");
    // Looped to 6,000 with a fresh probe stamped in each: every one counted, none lost.
    let (t, r) = run_pair(
        &p,
        &p.receiver(ToolBin::MmapRx, 6000),
        &SenderArgs {
            extra: words(&["--pcap", pcapng.to_str().unwrap(), "--stamp"]),
            ..p.sender(ToolBin::MmapTx, 6000, "20kpps")
        },
    );
    assert_eq!(t.replay.as_ref().unwrap().stamped, 2000);
    assert_eq!(r.counts.run_id, Some(t.run_id));
    assert_eq!(
        (r.counts.unique, r.counts.lost, r.counts.ignored),
        (6000, 0, 0),
        "{r:?}"
    );
    // pktmmap inject takes the capture too.
    let o = Command::new("ip")
        .args([
            "netns",
            "exec",
            &p.tx_ns,
            PKTMMAP,
            "inject",
            "-i",
            &p.tx_if,
            pcap.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("sent 2000 of 2000 frames on {}", p.tx_if)
    );

    // Bad captures and unwritable outputs: one line, their own exit codes.
    let rx = |path: &str| -> Vec<String> {
        ["-i", &p.rx_if, "--idle-timeout", "1", "--write", path]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let args = rx("/nonexistent-dir/x.pcap");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refuses(
        &p.rx_ns,
        MMAP_RX,
        &args,
        10,
        "cannot write /nonexistent-dir/x.pcap",
    );
    let args = rx(pcap.to_str().unwrap());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refuses(&p.rx_ns, MMAP_RX, &args, 10, "exists");
    let good = std::fs::read(&pcap).unwrap();
    let first = good[40..40 + 106].to_vec();
    let cases: Vec<(&str, Vec<u8>, i32, &str)> = vec![
        (
            "truncated.pcap",
            good[..good.len() - 50].to_vec(),
            11,
            "truncated or corrupt",
        ),
        (
            "raw-ip.pcap",
            pcap_bytes(std::slice::from_ref(&first), 101),
            11,
            "not Ethernet",
        ),
        ("text.pcap", b"not a capture\n".to_vec(), 11, "text.pcap"),
        (
            "jumbo.pcap",
            pcap_bytes(&[first.clone(), vec![0xee; 1600]], 1),
            6,
            "packet 2 is 1600 bytes",
        ),
    ];
    // Each bad capture fails before anything is sent (jumbo.pcap's first packet is fine): a
    // receiver on the other side sees no frame of any run while they are refused.
    let watch = Receiver::start(
        &p.rx_ns,
        MMAP_RX,
        &["-i", &p.rx_if, "--idle-timeout", "60", "--json"],
    );
    for (name, bytes, code, says) in cases {
        let f = dir.join(name);
        std::fs::write(&f, bytes).unwrap();
        refuses(
            &p.tx_ns,
            MMAP_TX,
            &[
                "-i",
                &p.tx_if,
                "--pcap",
                f.to_str().unwrap(),
                "--count",
                "1",
            ],
            code,
            says,
        );
    }
    refuses(
        &p.tx_ns,
        MMAP_TX,
        &[
            "-i",
            &p.tx_if,
            "--pcap",
            "/nonexistent.pcap",
            "--count",
            "1",
        ],
        11,
        "cannot read",
    );
    kill(Pid::from_raw(watch.pid()), Signal::SIGINT).unwrap();
    let (_, seen) = watch.finish();
    assert_eq!(
        (seen.counts.received, seen.counts.ignored),
        (0, 0),
        "a refused replay sent nothing: {seen:?}"
    );
    // --skip-oversize sends the rest and counts what it skipped.
    let t = send(
        &p.tx_ns,
        MMAP_TX,
        &[
            "-i",
            &p.tx_if,
            "--pcap",
            dir.join("jumbo.pcap").to_str().unwrap(),
            "--skip-oversize",
            "--count",
            "3",
            "--json",
        ],
    );
    assert_eq!(
        (t.sent, t.replay.as_ref().unwrap().skipped_oversize),
        (3, 1)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_capture_that_fills_the_disk_ends_partial_and_stays_readable() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let dir = tmp("full-disk");
    std::fs::create_dir_all(&dir).unwrap();
    // A 256 KiB file system: about 250 frames of 1,042 bytes.
    let mounted = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "size=256k",
            "pktmmap-test",
            dir.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(mounted.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _u = Unmount(dir.clone());
    let file = dir.join("full.pcap");
    let r = Receiver::start(
        &p.rx_ns,
        MMAP_RX,
        &[
            "-i",
            &p.rx_if,
            "--count",
            "5000",
            "--idle-timeout",
            "3",
            "--write",
            file.to_str().unwrap(),
            "--json",
        ],
    );
    let _ = run(
        &p.tx_ns,
        MMAP_TX,
        &[
            "-i", &p.tx_if, "--dst-ip", &p.rx_ip, "--count", "5000", "--size", "1000", "--rate",
            "5kpps",
        ],
    );
    let (code, r) = r.finish();
    assert_eq!(code, 1, "{r:?}");
    assert!(r.partial);
    assert!(
        r.error
            .as_deref()
            .is_some_and(|e| e.contains("No space left on device")),
        "{r:?}"
    );
    let written = r.capture.as_ref().unwrap().packets;
    assert!(written > 100 && written < 5000, "{r:?}");
    // Every whole packet written is readable; the file ends on a packet boundary.
    let o = Command::new("tcpdump")
        .args(["-nn", "-r", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().count() as u64,
        written
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        24 + written * (16 + 1042)
    );
}

/// Round trips (`--reflect-every`): every receiver reflects exactly the probes 0, N, 2N, ...
/// back to the sender's source port, from the test port (a connected udp-tx socket accepts
/// them), and the sender times every one of them on its own clock. A receiver that does not
/// reflect brings none back, and the sender says so.
#[test]
fn every_receiver_reflects_probes_and_every_sender_times_them() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let pairs = [
        (ToolBin::UdpTx, &[][..], ToolBin::UdpRx),
        (ToolBin::MmapTx, &[], ToolBin::MmapRx),
        (ToolBin::XdpTx, &[], ToolBin::XdpRx),
        (ToolBin::UdpTx, &["--batch", "32"], ToolBin::MmapRx),
        (ToolBin::MmapTx, &[], ToolBin::XdpRx),
    ];
    for (tx, tx_own, rx) in pairs {
        let what = format!("{tx} -> {rx}");
        let (t, r) = run_pair(
            &p,
            &ReceiverArgs {
                reflect_every: Some(100),
                ..p.receiver(rx, 20_000)
            },
            &SenderArgs {
                reflect_every: Some(100),
                extra: words(tx_own),
                ..p.sender(tx, 20_000, "40kpps")
            },
        );
        assert_eq!((t.sent, r.counts.unique), (20_000, 20_000), "{what}");
        let reflected = r
            .reflections
            .unwrap_or_else(|| panic!("{what}: no reflections"));
        assert_eq!(
            (reflected.every, reflected.sent, reflected.failed),
            (100, 200, 0),
            "{what}: {reflected:?}"
        );
        let rt = t
            .round_trip
            .unwrap_or_else(|| panic!("{what}: no round trips"));
        assert_eq!(
            (rt.expected, rt.reflected, rt.duplicates, rt.foreign),
            (200, 200, 0, 0),
            "{what}: {rt:?}"
        );
        let l = &rt.latency;
        assert_eq!((l.samples, l.clock_skew), (200, 0), "{what}: {l:?}");
        let (p50, max) = (l.p50_ns.unwrap(), l.max_ns.unwrap());
        assert!(
            p50 > 0 && p50 <= max && max < 2_000_000_000,
            "{what}: {l:?}"
        );
    }
    // Nobody reflects: the sender counts what should have come back and nothing did.
    let (t, r) = run_pair(
        &p,
        &p.receiver(ToolBin::UdpRx, 1000),
        &SenderArgs {
            reflect_every: Some(10),
            ..p.sender(ToolBin::UdpTx, 1000, "max")
        },
    );
    assert!(r.reflections.is_none(), "{r:?}");
    let rt = t.round_trip.expect("round trip summary");
    assert_eq!(
        (rt.expected, rt.reflected, rt.latency.samples),
        (100, 0, 0),
        "{rt:?}"
    );
    assert_eq!(rt.latency.p50_ns, None);
    // README: the sender waits up to 1 s after its last frame for missing reflections; when
    // none comes it waits the whole second before it reports (its 1,000 frames take
    // milliseconds).
    let r = Receiver::start(&p.rx_ns, UDP_RX, &["--count", "1000", "--json"]);
    let started = std::time::Instant::now();
    let t = send(
        &p.tx_ns,
        UDP_TX,
        &[
            "--dst-ip",
            &p.rx_ip,
            "--count",
            "1000",
            "--reflect-every",
            "10",
            "--json",
        ],
    );
    let took = started.elapsed();
    let (_, r) = r.finish();
    assert_eq!((t.sent, r.counts.unique), (1000, 1000), "{r:?}");
    assert!(
        took >= std::time::Duration::from_secs(1),
        "the sender reported after {took:?}"
    );
}

/// A frame the sending device itself drops reaches no ring and no socket: only the device's
/// `tx_dropped` knows. `pktmmap-idle link-drops` (what the runner reads in every namespace on
/// the path before and after each run, the row's `link_drops`) must show each one. Here the
/// veth's peer is down, so the veth drops every frame it is handed (as it does when its
/// peer's XDP ring is full): xdp-tx's 1,000 frames, twice, counted exactly. mmap-tx is not
/// counted: TPACKET puts a frame the device refused back into the ring and mmap-tx sends it
/// again, so its refusals are retries, each a device drop; its run must end as an error.
#[test]
fn frames_the_sending_device_drops_are_read_as_link_drops() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let read = || -> u64 {
        let o = VethPair::cmd(
            &p.tx_ns,
            env!("CARGO_BIN_EXE_pktmmap-idle"),
            &["link-drops"],
        )
        .output()
        .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let links = pktmmap::experiment::place::links::parse_link_drops(&String::from_utf8_lossy(
            &o.stdout,
        ))
        .unwrap();
        assert!(links.iter().any(|(n, _)| n == "lo"), "{links:?}");
        links
            .iter()
            .find(|(n, _)| *n == p.tx_if)
            .unwrap_or_else(|| panic!("no {} in {links:?}", p.tx_if))
            .1
    };
    // Nothing but the test's frames may leave the sending device. Made quiet while the peer
    // is up, so what that sends is not dropped.
    p.quiet_sender();
    let status = Command::new("ip")
        .args(["-n", &p.rx_ns, "link", "set", &p.rx_if, "down"])
        .status()
        .unwrap();
    assert!(status.success());
    let mut total = read();
    for round in 1..=2 {
        let args = [
            "-i",
            &p.tx_if,
            "--dst-ip",
            &p.rx_ip,
            "--dst-mac",
            "02:00:00:00:00:02",
            "--count",
            "1000",
            "--json",
        ];
        let t = send(&p.tx_ns, binary(ToolBin::XdpTx), &args);
        assert_eq!(t.sent, 1000, "round {round}: {t:?}");
        let now = read();
        assert_eq!(
            now - total,
            1000,
            "round {round}: tx_dropped went {total} -> {now}"
        );
        total = now;
    }
    // mmap-tx past the qdisc into the dead link: the ring keeps each refused frame and tries
    // it again, so they do not leave. That is an error (exit 1, partial, said in one line), never a
    // run that "stopped at its count" having sent nothing.
    let o = VethPair::cmd(
        &p.tx_ns,
        binary(ToolBin::MmapTx),
        &[
            "-i",
            &p.tx_if,
            "--dst-ip",
            &p.rx_ip,
            "--dst-mac",
            "02:00:00:00:00:02",
            "--count",
            "1000",
            "--qdisc-bypass",
            "--json",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let t = tx_summary(&serde_json::from_slice(&o.stdout).expect("a summary"));
    assert_eq!(
        (t.stop_reason, t.partial),
        (pktmmap::report::StopReason::Error, true),
        "{t:?}"
    );
    assert!(t.sent < 1000, "{t:?}");
    assert!(
        t.error
            .as_deref()
            .is_some_and(|e| e.contains("had not left after 5 s")),
        "{t:?}"
    );
    assert!(read() > total, "the refused frames are the device's drops");
}

/// README, "Frame sizes and IMIX": `--size imix` from every sender into every receiver, over
/// both families: every datagram counted, the receivers' frame bytes exactly 100 cycles of
/// 7 x 64, 4 x 570 and 1 x 1518 B frames (FCS left out; the 64-byte frame is the smallest
/// holding the probe), and a capture in arrival order showing the cycle of 12 repeating.
#[test]
fn a_size_mix_from_every_sender_arrives_in_its_cycle_at_every_receiver() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let dir = tmp("imix");
    std::fs::create_dir_all(&dir).unwrap();
    let senders = [ToolBin::MmapTx, ToolBin::UdpTx, ToolBin::XdpTx];
    let receivers = [ToolBin::MmapRx, ToolBin::UdpRx, ToolBin::XdpRx];
    for six in [false, true] {
        // The smallest frame: the 24-byte probe + 42 (IPv4) or 62 (IPv6) bytes of headers.
        let small = if six { 86 } else { 66 };
        let cycle_bytes = 7 * small + 4 * 566 + 1514;
        for tx in senders {
            for rx in receivers {
                let pcap = dir.join(format!("{tx:?}-{rx:?}-{six}.pcap"));
                let receiver = if six {
                    p.receiver6(rx, 1200)
                } else {
                    p.receiver(rx, 1200)
                };
                let receiver = match rx {
                    ToolBin::MmapRx => ReceiverArgs {
                        extra: words(&["--write", pcap.to_str().unwrap()]),
                        ..receiver
                    },
                    _ => receiver,
                };
                let sender = if six {
                    p.sender6(tx, 1200, "20kpps")
                } else {
                    p.sender(tx, 1200, "20kpps")
                };
                let (t, r) = run_pair(
                    &p,
                    &receiver,
                    &SenderArgs {
                        size: "imix".into(),
                        ..sender
                    },
                );
                let what = format!("{tx:?} -> {rx:?}, IPv6 {six}: {t:?} {r:?}");
                assert_eq!(
                    (t.sent, r.counts.unique, r.counts.lost, r.counts.ignored),
                    (1200, 1200, 0, 0),
                    "{what}"
                );
                assert_eq!(r.counts.frame_bytes, 100 * cycle_bytes as u64, "{what}");
                assert_eq!(t.size_mix.as_deref(), Some("imix"), "{what}");
                assert_eq!(
                    t.frame_bytes,
                    (cycle_bytes as f64 / 12.0).round() as usize,
                    "{what}"
                );
                if rx != ToolBin::MmapRx {
                    continue;
                }
                let lens: Vec<usize> = pktmmap::pcap::read_replay(&pcap, 1514, false)
                    .unwrap()
                    .frames
                    .iter()
                    .map(Vec::len)
                    .collect();
                assert_eq!(lens.len(), 1200, "{what}");
                for cycle in lens.chunks(12) {
                    for (len, n) in [(small, 7), (566, 4), (1514, 1)] {
                        let got = cycle.iter().filter(|&&l| l == len).count();
                        assert_eq!(got, n, "{what}: {cycle:?}");
                    }
                }
                assert!(
                    lens.windows(13).all(|w| w[0] == w[12]),
                    "{what}: the same order every cycle"
                );
            }
        }
    }
    // A bit rate paces by the mix's mean frame: 10 Mbit/s of imix's 353-byte mean (IPv4,
    // no FCS) is 3,541 pps, and the receiver's frame bits over its first-to-last arrival
    // come to the rate asked for.
    let (t, r) = run_pair(
        &p,
        &p.receiver(ToolBin::MmapRx, 1200),
        &SenderArgs {
            size: "imix".into(),
            ..p.sender(ToolBin::MmapTx, 1200, "10Mbps")
        },
    );
    assert_eq!((t.sent, r.counts.unique), (1200, 1200), "{r:?}");
    assert_eq!(t.requested_pps.map(|v| v.round()), Some(3541.0), "{t:?}");
    assert!(
        (r.counts.mbps / 10.0 - 1.0).abs() < 0.03,
        "received {} Mbit/s of a 10 Mbit/s imix",
        r.counts.mbps
    );
    // A mix that does not parse is a usage error naming why.
    let out = run(
        &p.tx_ns,
        XDP_TX,
        &[
            "-i", &p.tx_if, "--dst-ip", &p.rx_ip, "--count", "10", "--size", "64x0",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("weight 0"), "{err}");
    // What a mix cannot do is refused in one line: GSO (one size per super-packet), a
    // frame the MTU cannot carry (exit 6, as for one size; udp-tx learns it from the
    // kernel at its first datagram, here the large one).
    let cases: [(&str, &[&str], i32, &str); 4] = [
        (
            UDP_TX,
            &["--size", "imix", "--gso", "8"],
            2,
            "--gso with a size mix",
        ),
        (
            MMAP_TX,
            &["--size", "imix", "--gso", "8", "--skb", "linear"],
            2,
            "--gso with a size mix",
        ),
        (
            MMAP_TX,
            &["--size", "64x3,1600x1"],
            6,
            "does not fit the MTU",
        ),
        (
            UDP_TX,
            &["--size", "1600x3,64x1"],
            6,
            "does not fit the MTU",
        ),
    ];
    for (tool, extra, want, message) in cases {
        let (code, err) = p.sender_fails(tool, extra);
        assert_eq!(code, want, "{tool} {extra:?}: {err}");
        assert!(err.contains(message), "{tool} {extra:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
