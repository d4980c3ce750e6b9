//! Many flows: every sender's `--flows` into every receiver, counted per flow exactly, and
//! `mmap-rx --threads 2 --fanout hash` spreading them. Needs root; every test removes what it
//! creates.

mod common;

use common::*;

const SENDERS: [ToolBin; 3] = [ToolBin::MmapTx, ToolBin::UdpTx, ToolBin::XdpTx];
const RECEIVERS: [ToolBin; 3] = [ToolBin::MmapRx, ToolBin::UdpRx, ToolBin::XdpRx];

#[test]
fn every_flow_of_every_sender_is_counted_exactly() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    for tx in SENDERS {
        for rx in RECEIVERS {
            let (t, r) = run_pair(
                &p,
                &p.receiver(rx, 25_600),
                &SenderArgs {
                    extra: words(&["--flows", "256"]),
                    ..p.sender(tx, 25_600, "50kpps")
                },
            );
            let what = format!("{tx:?} -> {rx:?}: {r:?}");
            assert_eq!(
                (t.sent, r.counts.unique, r.counts.lost),
                (25_600, 25_600, 0),
                "{what}"
            );
            assert_eq!((t.flows, t.flow_by.as_deref()), (Some(256), Some("port")));
            // Round robin over 256 source ports: 100 datagrams each, none more, none fewer.
            let f = r.counts.flows;
            assert_eq!((f.flows, f.min, f.max), (256, 100, 100), "{what}");
        }
    }
}

/// `--flow-by addr`: 16 flows from 16 source addresses (`--src-ip` up, one source port),
/// every sender into every receiver over both families, each flow counted exactly; a capture
/// shows the addresses taking turns, each frame's checksums valid. udp-tx binds each flow's
/// address, so the test gives the sending interface those 16 addresses; past the address's
/// last 16 bits, without --src-ip (udp-tx) or with an address of the other family: exit 2;
/// an address this host does not have: exit 4.
#[test]
fn flows_by_address_are_counted_apart_by_every_receiver_over_both_families() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let dir = tmp("flow-by-addr");
    std::fs::create_dir_all(&dir).unwrap();
    let base4 = p.tx_ip.rsplit_once('.').unwrap().0.to_string() + ".100";
    let base6 = p.tx_ip6.rsplit_once("::").unwrap().0.to_string() + "::100";
    let addresses = |base: &str| -> Vec<std::net::IpAddr> {
        let ip: std::net::IpAddr = base.parse().unwrap();
        (0..16)
            .map(|i| pktmmap::wire::address_plus(ip, i))
            .collect()
    };
    // Before the addresses exist, udp-tx cannot bind the first: exit 4 naming it.
    let o = run(
        &p.tx_ns,
        UDP_TX,
        &[
            "--dst-ip",
            &p.rx_ip,
            "--count",
            "10",
            "--flows",
            "16",
            "--flow-by",
            "addr",
            "--src-ip",
            &base4,
        ],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains(&format!("{base4} is not an address of this host")),
        "{}",
        text(&o)
    );
    for (base, len) in [(&base4, "32"), (&base6, "128")] {
        for a in addresses(base) {
            let o = VethPair::cmd(
                &p.tx_ns,
                "ip",
                &[
                    "addr",
                    "add",
                    &format!("{a}/{len}"),
                    "dev",
                    &p.tx_if,
                    "nodad",
                ],
            )
            .output()
            .unwrap();
            assert!(o.status.success(), "{}", text(&o));
        }
    }
    for (family, dst, base) in [("ipv4", &p.rx_ip, &base4), ("ipv6", &p.rx_ip6, &base6)] {
        let want = addresses(base);
        for tx in SENDERS {
            for rx in RECEIVERS {
                let pcap = dir.join(format!("{tx:?}-{rx:?}-{family}.pcap"));
                let mut receiver = p.receiver(rx, 160);
                if dst == &p.rx_ip6 && rx == ToolBin::UdpRx {
                    receiver.bind = Some((p.rx_ip6.as_str(), 4 << 20));
                }
                if rx == ToolBin::MmapRx {
                    receiver.extra = words(&["--write", pcap.to_str().unwrap()]);
                }
                let (t, r) = run_pair(
                    &p,
                    &receiver,
                    &SenderArgs {
                        dst_ip: dst,
                        extra: words(&["--flows", "16", "--flow-by", "addr", "--src-ip", base]),
                        ..p.sender(tx, 160, "20kpps")
                    },
                );
                let what = format!("{tx:?} -> {rx:?} from {base}: {r:?}");
                assert_eq!((t.flows, t.flow_by.as_deref()), (Some(16), Some("addr")));
                assert_eq!(
                    (t.sent, r.counts.unique, r.counts.lost),
                    (160, 160, 0),
                    "{what}"
                );
                let f = r.counts.flows;
                assert_eq!((f.flows, f.min, f.max), (16, 10, 10), "{what}");
                if rx != ToolBin::MmapRx {
                    continue;
                }
                // The frames as they crossed: addresses in turn, one port, valid checksums
                // (mmap-tx's and xdp-tx's own; the IPv4 header's of every sender).
                let replay = pktmmap::pcap::read_replay(&pcap, 1514, false).unwrap();
                assert_eq!(replay.frames.len(), 160, "{what}");
                for (k, frame) in replay.frames.iter().enumerate() {
                    let packet = etherparse::SlicedPacket::from_ethernet(frame).unwrap();
                    let (src, ok) = match &packet.net {
                        Some(etherparse::NetSlice::Ipv4(ip)) => {
                            let h = ip.header().to_header();
                            (
                                std::net::IpAddr::from(h.source),
                                h.header_checksum == h.calc_header_checksum(),
                            )
                        }
                        Some(etherparse::NetSlice::Ipv6(ip)) => {
                            (std::net::IpAddr::from(ip.header().to_header().source), true)
                        }
                        _ => panic!("not IP: {what}"),
                    };
                    assert_eq!(src, want[k % 16], "frame {k}: {what}");
                    assert!(ok, "frame {k}: IPv4 header checksum: {what}");
                    // udp-tx's checksum is the stack's, left partial on veth (offloaded).
                    let verify = tx != ToolBin::UdpTx;
                    let d = pktmmap::wire::parse_udp(frame, 9000, verify)
                        .unwrap_or_else(|e| panic!("frame {k}: {e:?}: {what}"));
                    assert_eq!(d.src_port, 9001, "frame {k}: {what}");
                }
            }
        }
    }
    // Refusals, each in one line.
    let cases: [(&str, Vec<&str>, i32, &str); 3] = [
        (
            UDP_TX,
            vec!["--flow-by", "addr"],
            2,
            "--flow-by addr needs --src-ip",
        ),
        (
            MMAP_TX,
            vec!["--flow-by", "addr", "--src-ip", "10.77.255.250"],
            2,
            "would change more than the address's last 16 bits (at most 6 flows from this address)",
        ),
        (
            XDP_TX,
            vec!["--src-ip", "fd00::1"],
            2,
            "is not of the destination's family (IPv4)",
        ),
    ];
    for (tool, extra, code, message) in cases {
        let mut args = vec![
            "--dst-ip",
            p.rx_ip.as_str(),
            "--count",
            "10",
            "--flows",
            "16",
        ];
        if tool != UDP_TX {
            args.extend(["-i", p.tx_if.as_str()]);
        }
        args.extend(extra.iter().copied());
        let o = run(&p.tx_ns, tool, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{tool} {extra:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{tool} {extra:?}: {err}");
        assert!(err.contains(message), "{tool} {extra:?}: {err}");
    }
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn a_seeded_flow_order_is_what_every_sender_sends_in_every_round() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let dir = tmp("flow-order");
    std::fs::create_dir_all(&dir).unwrap();
    let order = pktmmap::wire::flow_order(16, 5);
    for tx in SENDERS {
        // 10 rounds of 16 datagrams, captured in arrival order (one veth queue, one sender).
        let pcap = dir.join(format!("{tx:?}.pcap"));
        let (t, r) = run_pair(
            &p,
            &ReceiverArgs {
                extra: words(&["--write", pcap.to_str().unwrap()]),
                ..p.receiver(ToolBin::MmapRx, 160)
            },
            &SenderArgs {
                extra: words(&["--flows", "16", "--flow-seed", "5"]),
                ..p.sender(tx, 160, "20kpps")
            },
        );
        assert_eq!((t.sent, r.counts.unique), (160, 160), "{tx:?}: {r:?}");
        let f = r.counts.flows;
        assert_eq!((f.flows, f.min, f.max), (16, 10, 10), "{tx:?}: {r:?}");
        let replay = pktmmap::pcap::read_replay(&pcap, 1514, false).unwrap();
        let ports: Vec<u16> = replay
            .frames
            .iter()
            .map(|f| u16::from_be_bytes([f[34], f[35]]))
            .collect();
        let want: Vec<u16> = (0..160).map(|k| 9001 + order[k % 16]).collect();
        assert_eq!(ports, want, "{tx:?}: the seed's order, every round");
        assert_ne!(
            ports[..16],
            (9001..9017).collect::<Vec<u16>>()[..],
            "not round robin"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fanout_hash_spreads_many_flows_over_the_receive_threads() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let fanout = ReceiverArgs {
        extra: words(&["--threads", "2", "--fanout", "hash"]),
        ..p.receiver(ToolBin::MmapRx, 256_000)
    };
    for (tx, dst) in [(ToolBin::MmapTx, &p.rx_ip), (ToolBin::XdpTx, &p.rx_ip6)] {
        let (_, r) = run_pair(
            &p,
            &fanout,
            &SenderArgs {
                dst_ip: dst,
                extra: words(&["--flows", "256"]),
                ..p.sender(tx, 256_000, "200kpps")
            },
        );
        assert_eq!(r.counts.unique, 256_000, "{r:?}");
        let threads = &r.thread_received;
        assert_eq!(threads.len(), 2, "{r:?}");
        assert_eq!(threads.iter().sum::<u64>(), 256_000, "{threads:?}");
        for &n in threads {
            let share = n as f64 / 256_000.0;
            assert!((0.4..=0.6).contains(&share), "{tx:?} to {dst}: {threads:?}");
        }
    }
    // One flow hashes to one thread: the other gets nothing.
    let (_, r) = run_pair(&p, &fanout, &p.sender(ToolBin::MmapTx, 20_000, "100kpps"));
    let mut threads = r.thread_received.clone();
    threads.sort_unstable();
    assert_eq!(threads, [0, 20_000], "{r:?}");
}

#[test]
fn flows_the_senders_cannot_make_are_refused_in_one_line() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let cases: [(&str, &[&str], &str); 6] = [
        (UDP_TX, &["--flows", "0"], "--flows must be at least 1"),
        (
            MMAP_TX,
            &["--flows", "60000"],
            "needs ports up to 69000, past 65535 (at most 56535 flows from this port)",
        ),
        (
            XDP_TX,
            &["--flows", "2", "--src-port", "65535"],
            "at most 1 flows from this port",
        ),
        (
            UDP_TX,
            &["--flows", "4", "--reflect-every", "10"],
            "--flows with --reflect-every",
        ),
        (
            MMAP_TX,
            &["--flows", "4", "--gso", "8", "--skb", "linear"],
            "--flows with --gso",
        ),
        (
            XDP_TX,
            &["--flow-seed", "3"],
            "--flow-seed orders the turns of two or more --flows",
        ),
    ];
    for (tool, extra, message) in cases {
        let (code, err) = p.sender_fails(tool, extra);
        assert_eq!(code, 2, "{tool} {extra:?}: {err}");
        assert!(err.contains(message), "{tool} {extra:?}: {err}");
    }
}

/// The conntrack in the path of bridge-conntrack is real: one entry per flow in the switch
/// namespace's table, every datagram through its `ct state` rule.
fn conntrack_entries(sw: &str) -> u64 {
    let o = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            sw,
            "cat",
            "/proc/sys/net/netfilter/nf_conntrack_count",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

/// The runner's `vary = "flows"` on the bridge with and without connection tracking: each
/// row's flows seen by the receiver, round robin giving each the same share, and the tracked
/// set-up making one conntrack entry per flow.
#[test]
fn a_flows_scenario_runs_on_the_bridge_with_and_without_conntrack() {
    let Some(_g) = network_test() else {
        return;
    };
    let sw = "pktmmap-bridge-conntrack-sw";
    {
        let (_setup, o) = RunnerSetup::up("netns", "bridge-conntrack");
        assert!(o.status.success(), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("(linux-bridge-conntrack)"),
            "{}",
            text(&o)
        );
        // The namespaces' own traffic (IPv6 neighbour discovery and MLD reports as the links
        // come up) may already have made an entry or two: count the flows' entries from here.
        let before = conntrack_entries(sw);
        assert!(
            before <= 8,
            "{before} conntrack entries before any test traffic"
        );
        let args = [
            "-i",
            "pkm0",
            "--dst-ip",
            "10.77.7.2",
            "--count",
            "25600",
            "--flows",
            "256",
            "--rate",
            "100kpps",
            "--json",
        ];
        let t = send("pktmmap-bridge-conntrack-tx", MMAP_TX, &args);
        assert_eq!(t.sent, 25_600);
        // 256 flows, and at most a few entries of the namespaces' own traffic (an ICMP
        // error for the closed port, neighbour discovery).
        let entries = conntrack_entries(sw) - before;
        assert!(
            (256..=264).contains(&entries),
            "{entries} new conntrack entries ({before} before)"
        );
    }
    let out = tmp("flows-scenario");
    std::fs::create_dir_all(&out).unwrap();
    let profile = out.join("flows.toml");
    std::fs::write(
        &profile,
        "name = \"flows-test\"\ndescription = \"1 and 256 flows\"\nrepetitions = 1\n\
         [[scenario]]\nname = \"flows\"\nvary = \"flows\"\nvalues = [\"1\", \"256\"]\n\
         count = 25600\nrate = \"100kpps\"\nsize = 64\n",
    )
    .unwrap();
    let o = pktmmap(&[
        "run",
        "--profile",
        profile.to_str().unwrap(),
        "--setup",
        "bridge,bridge-conntrack",
        "--app",
        "mmap,udp,xdp",
        "--out",
        out.to_str().unwrap(),
        "--plot",
        "false",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let rows = pktmmap::experiment::rows::read_rows(&out).unwrap();
    assert_eq!(rows.len(), 12, "2 set-ups x 2 points x 3 apps: {rows:?}");
    for r in &rows {
        let flows: u64 = r.value.parse().unwrap();
        assert_eq!((r.param.as_str(), r.flows), ("flows", Some(flows as u16)));
        assert_eq!(
            r.datapath,
            if r.setup == "bridge" {
                "linux-bridge"
            } else {
                "linux-bridge-conntrack"
            }
        );
        assert_eq!((r.sent, r.lost), (Some(25_600), Some(0)), "{r:?}");
        let each = 25_600 / flows;
        assert_eq!(
            (r.rx_flows, r.flow_min, r.flow_max),
            (Some(flows), Some(each), Some(each)),
            "{r:?}"
        );
    }
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&out);
}
