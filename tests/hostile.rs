//! Hostile traffic end to end: crafted frames injected into the receiver's interface while
//! mmap-rx (every frame into the ring) and udp-rx run; every category must land in the counter
//! it belongs to. Needs root.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use common::*;
use pktmmap::inject::to_hex_line;
use pktmmap::wire::checksum::checksum;
use pktmmap::wire::{Flow, FrameTemplate};

const PKTMMAP: &str = env!("CARGO_BIN_EXE_pktmmap");
const RUN: u32 = 4242;
/// [`RUN`] as the receivers' `--run-id` argument.
const RUN_ID: &str = "4242";

fn mac_of(ns: &str, dev: &str) -> [u8; 6] {
    let out = Command::new("ip")
        .args(["-n", ns, "-j", "link", "show", dev])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    pktmmap::net::parse_mac(v[0]["address"].as_str().unwrap()).unwrap()
}

fn fix_ip_checksum(f: &mut [u8]) {
    let ihl = usize::from(f[14] & 0xf) * 4;
    f[24] = 0;
    f[25] = 0;
    let end = (14 + ihl).min(f.len());
    let c = checksum(&f[14..end]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
}

/// Recomputes the UDP checksum of an unmodified-IHL (20-byte header) frame.
fn fix_udp_checksum(f: &mut [u8]) {
    use pktmmap::wire::checksum::{accumulate, fold};
    use pktmmap::wire::header::udp::pseudo_header_sum;
    f[40] = 0;
    f[41] = 0;
    let udp_len = usize::from(u16::from_be_bytes([f[38], f[39]]));
    let src = Ipv4Addr::new(f[26], f[27], f[28], f[29]);
    let dst = Ipv4Addr::new(f[30], f[31], f[32], f[33]);
    let sum = accumulate(
        pseudo_header_sum(src.into(), dst.into(), udp_len),
        &f[34..34 + udp_len],
    );
    let c = !fold(sum);
    f[40..42].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn every_kind_of_hostile_frame_lands_in_its_counter() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    // No IPv6 chatter (router solicitations, MLD) in the capture.
    for ns in [&p.tx_ns, &p.rx_ns] {
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
            ])
            .status();
    }
    let flow = Flow {
        src_mac: mac_of(&p.tx_ns, &p.tx_if),
        dst_mac: mac_of(&p.rx_ns, &p.rx_if),
        ip: pktmmap::wire::Endpoints::V4 {
            src: p.tx_ip.parse().unwrap(),
            dst: p.rx_ip.parse().unwrap(),
        },
        src_port: 9001,
        dst_port: 9000,
    };
    // The "other port" frame makes the receiver's kernel answer with ICMP port unreachable;
    // a permanent neighbour entry keeps the ARP exchange for that answer off the wire.
    ip(&[
        "-n",
        &p.rx_ns,
        "neigh",
        "replace",
        &p.tx_ip,
        "lladdr",
        &pktmmap::net::format_mac(&flow.src_mac),
        "dev",
        &p.rx_if,
        "nud",
        "permanent",
    ]);
    let t = FrameTemplate::new(&flow, 64, 1500, RUN).unwrap();
    let probe = |seq: u64| {
        let mut f = vec![0u8; t.len()];
        t.write(&mut f, seq, 1);
        f
    };
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut want: BTreeMap<&str, u64> = BTreeMap::new();
    // What xdp-rx's socket sees of them: its program redirects IPv4 UDP to our port that is
    // no later fragment, has IHL >= 5 and a whole UDP header in the frame; the rest goes to
    // the stack untouched (and is not xdp-rx's to count).
    let mut want_xdp: BTreeMap<&str, u64> = BTreeMap::new();
    let mut expect = |frames: &mut Vec<Vec<u8>>, f: Vec<u8>, reason: &'static str, xdp: bool| {
        frames.push(f);
        *want.entry(reason).or_default() += 1;
        if xdp {
            *want_xdp.entry(reason).or_default() += 1;
        }
    };

    // Counted as received.
    for seq in 0..100 {
        frames.push(probe(seq));
    }
    frames.push(probe(5)); // duplicate
    frames.push(probe(6)); // duplicate
    frames.push(probe(101));
    frames.push(probe(100)); // reordered
    frames.push(probe(9_999_999_999)); // beyond --count: out of range
    {
        // IP options (four NOPs): valid, seq 102.
        let f = probe(102);
        let mut g = f[..34].to_vec();
        g.extend_from_slice(&[1, 1, 1, 1]);
        g.extend_from_slice(&f[34..]);
        g[14] = 0x46;
        let total = u16::from_be_bytes([g[16], g[17]]) + 4;
        g[16..18].copy_from_slice(&total.to_be_bytes());
        fix_ip_checksum(&mut g);
        frames.push(g);
    }
    {
        // Total length smaller than the frame: trailing bytes are padding. seq 103.
        let mut f = probe(103);
        f.extend_from_slice(&[0xee; 20]);
        frames.push(f);
    }
    {
        // The largest frame the MTU allows: 1472 B of payload. seq 104.
        let big = FrameTemplate::new(&flow, 1472, 1500, RUN).unwrap();
        let mut f = vec![0u8; big.len()];
        big.write(&mut f, 104, 1);
        frames.push(f);
    }
    {
        // A payload without the probe.
        let mut f = probe(0);
        f[42..46].copy_from_slice(b"NOPE");
        fix_udp_checksum(&mut f);
        frames.push(f);
    }
    {
        // A probe of another run.
        let other = FrameTemplate::new(&flow, 64, 1500, RUN + 1).unwrap();
        let mut f = vec![0u8; other.len()];
        other.write(&mut f, 0, 1);
        frames.push(f);
    }
    let received = 100 + 2 + 2 + 1 + 3 + 1;

    // Ignored, by reason: a valid probe with one edit each.
    let edited = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut f = probe(0);
        edit(&mut f);
        f
    };
    expect(
        &mut frames,
        probe(0)[..24].to_vec(),
        "truncated_ipv4",
        false,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[14] = 0x4f;
            f.truncate(50);
            fix_ip_checksum(f);
        }),
        "truncated_ipv4",
        false,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[14] = 0x44;
            fix_ip_checksum(f);
        }),
        "bad_ipv4_header",
        false,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[14] = 0x65;
            fix_ip_checksum(f);
        }),
        "bad_ipv4_header",
        true,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[16..18].copy_from_slice(&3000u16.to_be_bytes());
            fix_ip_checksum(f);
        }),
        "bad_ipv4_length",
        true,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[24] ^= 0x5a;
        }),
        "bad_ipv4_checksum",
        true,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[20] = 0x20;
            fix_ip_checksum(f);
        }),
        "fragment",
        true,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[20..22].copy_from_slice(&0x0010u16.to_be_bytes());
            fix_ip_checksum(f);
        }),
        "fragment",
        false,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[23] = 6;
            fix_ip_checksum(f);
        }),
        "not_udp",
        false,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[16..18].copy_from_slice(&24u16.to_be_bytes());
            fix_ip_checksum(f);
        }),
        "truncated_udp",
        true,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[38..40].copy_from_slice(&5u16.to_be_bytes());
        }),
        "bad_udp_length",
        true,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[60] ^= 1;
        }),
        "bad_udp_checksum",
        false,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[36..38].copy_from_slice(&9999u16.to_be_bytes());
            fix_udp_checksum(f);
        }),
        "other_port",
        false,
    );
    expect(
        &mut frames,
        edited(&|f| {
            // An IPv4 packet under the IPv6 ethertype.
            f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        }),
        "bad_ipv6_header",
        false,
    );
    expect(
        &mut frames,
        edited(&|f| {
            f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
            f.truncate(42);
        }),
        "not_ip",
        false,
    );
    expect(
        &mut frames,
        {
            // An 802.1Q-tagged copy of a valid probe.
            let f = probe(0);
            let mut g = f[..12].to_vec();
            g.extend_from_slice(&[0x81, 0x00, 0x00, 0x07]);
            g.extend_from_slice(&f[12..]);
            g
        },
        "vlan_tagged",
        false,
    );

    // IPv6, each frame a valid probe of the pair's IPv6 addresses with one edit. The
    // namespaces have IPv6 off, so udp-rx never sees them; xdp-rx's program redirects IPv6
    // UDP to our port right after a fixed header that fits in the frame.
    let flow6 = Flow {
        ip: pktmmap::wire::Endpoints::V6 {
            src: p.tx_ip6.parse().unwrap(),
            dst: p.rx_ip6.parse().unwrap(),
        },
        ..flow
    };
    let t6 = FrameTemplate::new(&flow6, 64, 1500, RUN).unwrap();
    let edited6 = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut f = vec![0u8; t6.len()];
        t6.write(&mut f, 0, 1);
        edit(&mut f);
        f
    };
    let payload_len = |f: &mut Vec<u8>, n: u16| f[18..20].copy_from_slice(&n.to_be_bytes());
    type Edit<'a> = &'a dyn Fn(&mut Vec<u8>);
    let cases6: [(Edit, &str, bool); 9] = [
        (&|f| f.truncate(14 + 30), "truncated_ipv6", false),
        (&|f| f[14] = 0x40, "bad_ipv6_header", true),
        (&|f| payload_len(f, 0), "bad_ipv6_length", true), // a jumbogram's
        (&|f| payload_len(f, 3000), "bad_ipv6_length", true),
        (&|f| f[20] = 44, "fragment", false),
        (&|f| f[20] = 0, "ipv6_extension_header", false), // hop-by-hop
        (&|f| f[20] = 60, "ipv6_extension_header", false), // destination options
        (&|f| f[20] = 6, "not_udp", false),
        (&|f| payload_len(f, 4), "truncated_udp", true),
    ];
    for (edit, reason, xdp) in cases6 {
        expect(&mut frames, edited6(edit), reason, xdp);
    }

    let mmap = Receiver::start(
        &p.rx_ns,
        MMAP_RX,
        &receiver_args(&["-i", &p.rx_if, "--filter", "none"]),
    );
    let udp = Receiver::start(&p.rx_ns, UDP_RX, &receiver_args(&[]));
    inject(&p, &frames);

    let (code, m) = mmap.finish();
    assert_eq!(code, 0, "mmap-rx kept running: {m:?}");
    assert_eq!(m.counts.received, received, "{m:?}");
    assert_eq!(m.counts.unique, 105);
    assert_eq!(m.counts.duplicates, 2);
    assert_eq!(m.counts.reordered, 1);
    assert_eq!(m.counts.out_of_range, 1);
    assert_eq!(m.counts.no_probe, 1);
    assert_eq!(m.counts.other_run, 1);
    assert_eq!(m.counts.lost, 200 - 105);
    let got = m.counts.ignored_by_reason.clone();
    let want: BTreeMap<String, u64> = want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    assert_eq!(got, want, "ignored by reason");
    assert_eq!(m.counts.ignored, want.values().sum::<u64>());

    // The kernel's UDP stack drops every malformed frame itself; udp-rx sees what is valid.
    let (code, d) = udp.finish();
    assert_eq!(code, 0, "{d:?}");
    assert_eq!(d.counts.received, received, "{d:?}");
    assert_eq!(
        (
            d.counts.unique,
            d.counts.duplicates,
            d.counts.other_run,
            d.counts.no_probe
        ),
        (105, 2, 1, 1),
        "{d:?}"
    );

    // The same frames again, to xdp-rx alone: its program takes the test flow before the
    // stack, so it cannot share a pass with udp-rx.
    let xdp = Receiver::start(&p.rx_ns, XDP_RX, &receiver_args(&["-i", &p.rx_if]));
    inject(&p, &frames);
    let (code, x) = xdp.finish();
    assert_eq!(code, 0, "{x:?}");
    let c = &x.counts;
    // xdp-rx does not check UDP checksums (AF_XDP cannot tell a checksum the sender's
    // stack left to offload from a wrong one; README, AF_XDP): the frame with a broken UDP
    // checksum, a copy of seq 0, counts as one more duplicate.
    assert_eq!(
        (
            c.received,
            c.unique,
            c.duplicates,
            c.reordered,
            c.out_of_range
        ),
        (received + 1, 105, 3, 1, 1),
        "xdp-rx counts the valid frames as mmap-rx does: {x:?}"
    );
    assert_eq!(
        (c.no_probe, c.other_run, c.lost),
        (1, 1, 200 - 105),
        "{x:?}"
    );
    let want_xdp: BTreeMap<String, u64> = want_xdp
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(
        c.ignored_by_reason, want_xdp,
        "what the program redirects, by reason"
    );
    assert_eq!(c.ignored, want_xdp.values().sum::<u64>());
    assert_eq!(x.kernel_drops, 0, "{x:?}");
}

/// A receiver's arguments for the hostile frames: `extra`, then our run, 200 sequence numbers,
/// a 1 s idle timeout and JSON.
fn receiver_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = extra.to_vec();
    args.extend([
        "--run-id",
        RUN_ID,
        "--count",
        "200",
        "--idle-timeout",
        "1",
        "--json",
    ]);
    args
}

/// Sends `frames` from the sending namespace with `pktmmap inject`, every one of them.
fn inject(p: &VethPair, frames: &[Vec<u8>]) {
    let mut child = VethPair::cmd(&p.tx_ns, PKTMMAP, &["inject", "-i", &p.tx_if, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let text: String = frames.iter().map(|f| to_hex_line(f) + "\n").collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "inject: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("sent {0} of {0} frames on {1}", frames.len(), p.tx_if)
    );
}

#[test]
fn deleting_the_interface_mid_run_is_a_clear_error_with_a_partial_summary() {
    let Some(_g) = network_test() else {
        return;
    };
    let p = VethPair::new();
    let r = Receiver::start(&p.rx_ns, MMAP_RX, &["-i", &p.rx_if, "--json"]);
    send(
        &p.tx_ns,
        UDP_TX,
        &[
            "--dst-ip", &p.rx_ip, "--count", "500", "--rate", "50kpps", "--json",
        ],
    );
    ip(&["-n", &p.rx_ns, "link", "del", &p.rx_if]);
    let (code, s) = r.finish();
    assert_eq!(code, 1, "{s:?}");
    assert!(s.partial);
    assert_eq!(s.stop_reason, StopReason::Error);
    assert!(
        s.error
            .as_deref()
            .is_some_and(|e| e.contains("Network is down")),
        "{s:?}"
    );
    assert_eq!(
        s.counts.received, 500,
        "what was received before is kept: {s:?}"
    );
}
