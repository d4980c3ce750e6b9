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
            // Round robin over 256 source ports: 100 datagrams each, none more, none fewer.
            let f = r.counts.flows;
            assert_eq!((f.flows, f.min, f.max), (256, 100, 100), "{what}");
        }
    }
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
    let cases: [(&str, &[&str], &str); 5] = [
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
    ];
    for (tool, extra, message) in cases {
        let mut args = vec!["--dst-ip", p.rx_ip.as_str(), "--count", "10"];
        if tool != UDP_TX {
            args.extend(["-i", p.tx_if.as_str()]);
        }
        args.extend(extra);
        let (code, err) = fails(&p.tx_ns, tool, &args);
        assert_eq!(code, 2, "{tool} {extra:?}: {err}");
        assert!(err.contains(message), "{tool} {extra:?}: {err}");
    }
}
