//! IPv6 end to end: every sender to every receiver over the native set-up's ULA addresses,
//! GSO and GRO, round trips, and what the tools refuse. Needs root; every test removes what
//! it creates.

mod common;

use common::*;

const SENDERS: [ToolBin; 3] = [ToolBin::MmapTx, ToolBin::UdpTx, ToolBin::XdpTx];
const RECEIVERS: [ToolBin; 3] = [ToolBin::MmapRx, ToolBin::UdpRx, ToolBin::XdpRx];

#[test]
fn every_sender_reaches_every_receiver_over_ipv6_exactly() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    for tx in SENDERS {
        for rx in RECEIVERS {
            let (t, r) = run_pair(&p, &p.receiver6(rx, 5_000), &p.sender6(tx, 5_000, "50kpps"));
            let what = format!("{tx:?} -> {rx:?}: {r:?}");
            assert_eq!(t.sent, 5_000, "{what}");
            assert_eq!(
                (r.counts.unique, r.counts.lost, r.counts.duplicates),
                (5_000, 0, 0),
                "{what}"
            );
            assert_eq!(r.counts.ignored, 0, "{what}");
            assert_eq!(r.counts.run_id, Some(t.run_id), "{what}");
            // 64 B of payload + 14 (Ethernet) + 40 (IPv6) + 8 (UDP).
            assert_eq!(r.counts.frame_bytes, 5_000 * 126, "{what}");
            assert_eq!(t.frame_bytes, 126, "{tx:?}: {t:?}");
            assert!(t.destination.contains(&p.rx_ip6), "{t:?}");
        }
    }
}

#[test]
fn gso_super_packets_count_as_their_segments_over_ipv6() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let gro = |tool| ReceiverArgs {
        extra: words(&["--gro", "--batch", "8"]),
        ..p.receiver6(tool, 64_000)
    };
    let cases = [
        (
            SenderArgs {
                extra: words(&["--gso", "64", "--batch", "8"]),
                ..p.sender6(ToolBin::UdpTx, 64_000, "max")
            },
            gro(ToolBin::UdpRx),
        ),
        (
            SenderArgs {
                extra: words(&["--gso", "64", "--skb", "linear"]),
                ..p.sender6(ToolBin::MmapTx, 64_000, "max")
            },
            p.receiver6(ToolBin::MmapRx, 64_000),
        ),
        (
            SenderArgs {
                extra: words(&["--gso", "64", "--skb", "linear"]),
                ..p.sender6(ToolBin::MmapTx, 64_000, "max")
            },
            gro(ToolBin::UdpRx),
        ),
    ];
    for (tx, rx) in cases {
        let (t, r) = run_pair(&p, &rx, &tx);
        let what = format!("{:?} -> {:?}: {r:?}", tx.tool, rx.tool);
        assert_eq!(t.sent, 64_000, "{what}");
        assert_eq!((r.counts.unique, r.counts.lost), (64_000, 0), "{what}");
        // On veth a super-packet crosses unsegmented: 1,000 of 64 datagrams each.
        assert_eq!(r.counts.gso_frames, 1_000, "{what}");
        assert_eq!(r.counts.ignored, 0, "{what}");
    }
}

#[test]
fn round_trips_come_back_over_ipv6() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    // mmap-rx and xdp-rx answer through their raw IPv6 socket, udp-rx from its own.
    for (tx, rx) in [
        (ToolBin::MmapTx, ToolBin::MmapRx),
        (ToolBin::UdpTx, ToolBin::UdpRx),
        (ToolBin::XdpTx, ToolBin::XdpRx),
    ] {
        let (t, r) = run_pair(
            &p,
            &ReceiverArgs {
                reflect_every: Some(100),
                ..p.receiver6(rx, 10_000)
            },
            &SenderArgs {
                reflect_every: Some(100),
                ..p.sender6(tx, 10_000, "50kpps")
            },
        );
        assert_eq!(r.counts.unique, 10_000, "{rx:?}: {r:?}");
        let rt = t.round_trip.expect("a round-trip summary");
        assert_eq!(
            (rt.expected, rt.reflected, rt.foreign),
            (100, 100, 0),
            "{tx:?} -> {rx:?}: {rt:?}"
        );
        assert_eq!(rt.latency.samples, 100, "{rt:?}");
    }
}

#[test]
fn ipv6_destinations_the_tools_cannot_use_are_refused_clearly() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    for tool in [MMAP_TX, XDP_TX, UDP_TX] {
        let mut args = vec!["--count", "10", "--dst-ip", "fe80::1"];
        if tool != UDP_TX {
            args.extend(["-i", &p.tx_if]);
        }
        let (code, err) = fails(&p.tx_ns, tool, &args);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("fe80::1 is an IPv6 link-local address"),
            "{err}"
        );
    }
    // Nobody at this address: the neighbour never resolves (exit 8).
    let (code, err) = fails(
        &p.tx_ns,
        MMAP_TX,
        &[
            "-i",
            &p.tx_if,
            "--count",
            "10",
            "--dst-ip",
            "fd00:77:1::99",
            "--resolve-timeout",
            "0.5",
        ],
    );
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains("neighbour fd00:77:1::99 did not resolve on pkm0"),
        "{err}"
    );
    // The largest payload is MTU - 48 over IPv6, 20 bytes less than over IPv4 (exit 6).
    let (code, err) = fails(
        &p.tx_ns,
        MMAP_TX,
        &[
            "-i", &p.tx_if, "--count", "10", "--dst-ip", &p.rx_ip6, "--size", "1453",
        ],
    );
    assert_eq!(code, 6, "{err}");
    assert!(
        err.contains("24..=1452 B of UDP payload over IPv6, MTU - 48"),
        "{err}"
    );
    // The sending interface without an IPv6 address of its own (the link-local one does not
    // count): exit 4, naming the interface and the family.
    ip(&[
        "-n",
        &p.tx_ns,
        "-6",
        "addr",
        "del",
        &format!("{}/64", p.tx_ip6),
        "dev",
        &p.tx_if,
    ]);
    for tool in [MMAP_TX, XDP_TX] {
        let (code, err) = fails(
            &p.tx_ns,
            tool,
            &["-i", &p.tx_if, "--count", "10", "--dst-ip", &p.rx_ip6],
        );
        assert_eq!(code, 4, "{err}");
        assert!(
            err.contains("interface pkm0 has no IPv6 address to send from"),
            "{err}"
        );
    }
}

#[test]
fn ipv4_and_ipv6_in_one_run_are_counted_apart() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    // One receiver, one run id, 5,000 datagrams over each family from each kind of sender:
    // every sequence number arrives twice, once per family.
    for (rx, tx) in [
        (ToolBin::MmapRx, ToolBin::MmapTx),
        (ToolBin::UdpRx, ToolBin::UdpTx),
        (ToolBin::XdpRx, ToolBin::XdpTx),
    ] {
        // udp-rx on `::` takes both families; the interface receivers take what the link
        // brings. No --count (it would stop the receiver at the first 5,000): the idle
        // timeout ends the run.
        let receiver = ReceiverArgs {
            bind: p.receiver(rx, 5_000).bind.map(|(_, buffer)| ("::", buffer)),
            count: None,
            extra: words(&["--run-id", "77"]),
            ..p.receiver(rx, 5_000)
        };
        let receiving = Receiver::start(&p.rx_ns, binary(rx), &as_strs(&receiver.argv()));
        for sender in [
            p.sender(tx, 5_000, "50kpps"),
            p.sender6(tx, 5_000, "50kpps"),
        ] {
            let argv = SenderArgs {
                extra: words(&["--run-id", "77"]),
                ..sender
            }
            .argv();
            let t = send(&p.tx_ns, binary(tx), &as_strs(&argv));
            assert_eq!(t.sent, 5_000, "{t:?}");
        }
        let (code, r) = receiving.finish();
        assert_eq!(code, 0, "{r:?}");
        let c = &r.counts;
        assert_eq!(
            (c.received, c.received_ipv6, c.unique, c.duplicates),
            (10_000, 5_000, 5_000, 5_000),
            "{rx:?}: {r:?}"
        );
        // 64 B over IPv4 (106-byte frames) and over IPv6 (126).
        assert_eq!(c.frame_bytes, 5_000 * (106 + 126), "{rx:?}: {r:?}");
    }
}

#[test]
fn an_ipv6_capture_replays_stamped_with_a_checksum_every_receiver_accepts() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let dir = tmp("replay6");
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("ipv6.pcap");
    let (_, r) = run_pair(
        &p,
        &ReceiverArgs {
            extra: words(&["--write", pcap.to_str().unwrap()]),
            ..p.receiver6(ToolBin::MmapRx, 1_000)
        },
        &p.sender6(ToolBin::MmapTx, 1_000, "20kpps"),
    );
    assert_eq!(r.capture.as_ref().unwrap().packets, 1_000, "{r:?}");
    // Every captured UDP checksum made wrong, as a capture taken at a sender with checksum
    // offload holds them (a partial sum): pcap's 24-byte file header, then per packet a
    // 16-byte record header and the 126-byte frame, its UDP checksum at 14 + 40 + 6.
    let mut bytes = std::fs::read(&pcap).unwrap();
    assert_eq!(bytes.len(), 24 + 1_000 * (16 + 126));
    for k in 0..1_000 {
        let at = 24 + k * (16 + 126) + 16 + 60;
        bytes[at..at + 2].copy_from_slice(&[0x12, 0x34]);
    }
    let bad = dir.join("ipv6-bad-checksums.pcap");
    std::fs::write(&bad, &bytes).unwrap();
    let replay = |extra: &[&str], rx: ReceiverArgs| {
        let mut args = vec!["--pcap", bad.to_str().unwrap()];
        args.extend(extra);
        run_pair(
            &p,
            &rx,
            &SenderArgs {
                extra: words(&args),
                ..p.sender6(ToolBin::MmapTx, 3_000, "20kpps")
            },
        )
    };
    // As captured, the checksums are wrong: mmap-rx counts every frame as such.
    let (t, r) = replay(
        &[],
        ReceiverArgs {
            count: None,
            idle_timeout_s: 1.0,
            ..p.receiver6(ToolBin::MmapRx, 3_000)
        },
    );
    assert_eq!(t.sent, 3_000);
    assert_eq!(
        (
            r.counts.unique,
            r.counts.ignored_by_reason.get("bad_udp_checksum").copied()
        ),
        (0, Some(3_000)),
        "{r:?}"
    );
    // Stamped, each frame's checksum is computed once and updated for every probe: the
    // kernel's IPv6 stack (udp-rx) and mmap-rx's own check accept all 3,000, looped over the
    // 1,000 captured.
    for rx in [ToolBin::UdpRx, ToolBin::MmapRx] {
        let (t, r) = replay(&["--stamp"], p.receiver6(rx, 3_000));
        assert_eq!(t.replay.as_ref().unwrap().stamped, 1_000, "{t:?}");
        // The summary's size is the capture's UDP payload: 126-byte IPv6 frames carry 64.
        assert_eq!((t.size, t.frame_bytes), (64, 126), "{t:?}");
        assert_eq!(r.counts.run_id, Some(t.run_id), "{rx:?}");
        assert_eq!(
            (
                r.counts.unique,
                r.counts.lost,
                r.counts.ignored,
                r.counts.received_ipv6
            ),
            (3_000, 0, 0, 3_000),
            "{rx:?}: {r:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    drop(p);
    assert_eq!(leftovers(), Vec::<String>::new());
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
