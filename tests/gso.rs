//! The strongest socket path and packet_mmap with GSO, end to end in two namespaces: every
//! GSO sender (ours and one outside the project) into every receiver, counted per datagram.
//! Needs root (CI runs it as root); every test removes what it creates.

mod common;

use common::*;

/// Datagrams per run: 5,000 super-packets of 64.
const COUNT: u64 = 320_000;

/// A GSO sender that is not ours: Python's socket module with `UDP_SEGMENT` (103), 64
/// datagrams of 64 B per `sendto()`, no probe in them. Arguments: destination, super-packets.
const PYTHON_GSO_SENDER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_UDP, 103, 64)
buf = bytes(64 * 64)
for _ in range(int(sys.argv[2])):
    assert s.sendto(buf, (sys.argv[1], 9000)) == len(buf)
"#;

/// Runs one GSO sender to its end: ours with `--gso 64`, or the Python one (`None`).
fn send_gso(p: &VethPair, tool: Option<&str>) {
    let count = COUNT.to_string();
    match tool {
        Some(tool) => {
            let mut args = vec![
                "--dst-ip", &p.rx_ip, "--count", &count, "--gso", "64", "--json",
            ];
            if tool == MMAP_TX {
                args.extend(["-i", &p.tx_if]);
            }
            let t = send(&p.tx_ns, tool, &args);
            assert_eq!((t.sent, t.gso_segments), (COUNT, Some(64)), "{t:?}");
        }
        None => {
            let supers = (COUNT / 64).to_string();
            let out = VethPair::cmd(
                &p.tx_ns,
                "python3",
                &["-c", PYTHON_GSO_SENDER, &p.rx_ip, &supers],
            )
            .output()
            .expect("run python3");
            assert!(
                out.status.success(),
                "python GSO sender: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn every_gso_sender_into_every_receiver_counts_each_datagram() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let count = COUNT.to_string();
    let receivers: [(&str, &[&str]); 4] = [
        (MMAP_RX, &["-i", &p.rx_if]),
        // As large as mmap-rx's ring (the tool's default), not the tests' 4 MiB.
        (UDP_RX, &["--gro", "--batch", "8", "--rcvbuf", "33554432"]),
        (UDP_RX, &[]),
        (XDP_RX, &["-i", &p.rx_if]),
    ];
    for sender in [Some(UDP_TX), Some(MMAP_TX), None] {
        let ours = sender.is_some();
        let name = sender.map_or("python3 UDP_SEGMENT".into(), |s| {
            s.rsplit('/').next().unwrap().to_string()
        });
        for (rx, options) in receivers {
            let mut args = vec!["--count", &count, "--idle-timeout", "2", "--json"];
            args.extend_from_slice(options);
            let r = Receiver::start(&p.rx_ns, rx, &args);
            send_gso(&p, sender);
            let (code, r) = r.finish();
            let what = format!(
                "{name} -> {} {}: {r:?}",
                rx.rsplit('/').next().unwrap(),
                options.join(" ")
            );
            assert_eq!(code, 0, "{what}");
            assert_eq!(r.counts.ignored, 0, "{what}");
            let gro = options.contains(&"--gro");
            if rx == MMAP_RX || gro {
                // The super-packet crosses the veth pair whole and is split by the receiver:
                // the ring (32 MiB) and the socket buffer hold all 5,000 of them, so nothing
                // may be missing.
                assert_eq!(r.counts.received, COUNT, "{what}");
                assert_eq!(r.counts.gso_frames, COUNT / 64, "{what}");
                assert_eq!(r.kernel_drops, 0, "{what}");
            } else {
                // Split before the receiver: by the UDP socket layer for a socket without
                // UDP_GRO, or (xdp-rx) by the sending veth, whose GSO an XDP program on its
                // peer turns off. Each datagram is received or a counted drop.
                assert_eq!(r.counts.gso_frames, 0, "{what}");
                assert_eq!(r.counts.received + r.kernel_drops, COUNT, "{what}");
            }
            if ours {
                assert_eq!(r.counts.unique, r.counts.received, "{what}");
                assert_eq!(r.counts.lost, r.kernel_drops, "{what}");
                assert_eq!(r.counts.duplicates, 0, "{what}");
            } else {
                // No probe: counted as datagrams, none of them a sequence number.
                assert_eq!(r.counts.unique, 0, "{what}");
            }
        }
    }
}

#[test]
fn gso_options_refuse_what_the_kernel_cannot_send_with_a_clear_message() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let mmap = |extra: &[&str]| {
        let mut a = vec![
            "-i",
            p.tx_if.as_str(),
            "--dst-ip",
            &p.rx_ip,
            "--count",
            "10",
        ];
        a.extend_from_slice(extra);
        run(&p.tx_ns, MMAP_TX, &a)
    };
    let udp = |extra: &[&str]| {
        let mut a = vec!["--dst-ip", p.rx_ip.as_str(), "--count", "10"];
        a.extend_from_slice(extra);
        run(&p.tx_ns, UDP_TX, &a)
    };
    // 128 x 1,024 B is 131,072 B: more than one UDP datagram carries (exit 6).
    for (tool, out) in [
        ("mmap-tx", mmap(&["--gso", "128", "--size", "1024"])),
        ("udp-tx", udp(&["--gso", "128", "--size", "1024"])),
    ] {
        assert_eq!(out.status.code(), Some(6), "{tool}: {}", text(&out));
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(
            e.contains(
                "--gso 128 x size 1024 B = 131072 B is over the 65507 B a UDP datagram can carry"
            ),
            "{tool}: {e}"
        );
        assert_eq!(e.trim().lines().count(), 1, "{tool}: one line: {e}");
    }
    // A segment above the MTU: the size check names the MTU.
    let out = mmap(&["--gso", "4", "--size", "1500"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        text(&out).contains("does not fit the MTU"),
        "{}",
        text(&out)
    );
    // One datagram is no super-packet; the kernel caps segments at 128.
    for n in ["1", "129"] {
        for out in [mmap(&["--gso", n]), udp(&["--gso", n])] {
            assert_eq!(out.status.code(), Some(2), "--gso {n}: {}", text(&out));
        }
    }
    // The virtio_net_hdr carries the segmentation: fragment skbs have none.
    let out = mmap(&["--gso", "8", "--skb", "fragments"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("--gso needs --skb linear"),
        "{}",
        text(&out)
    );
}
