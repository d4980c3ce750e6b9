//! Arbitrary bytes as a captured frame, and as a stream of probes.
//!
//! The parser must never panic, and a frame it accepts must be what etherparse (an independent
//! parser) reads as IPv4 UDP, or IPv6 UDP without extension headers, to the port, with the
//! same payload and source address. Then the input's bytes become
//! a sequence of probes of two runs with arbitrary sequence numbers, fed to a fresh accounting
//! without `--count` (the sliding window that faces hostile sequence jumps): every probe of
//! the followed run lands in exactly one counter.
#![no_main]

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use libfuzzer_sys::fuzz_target;
use pktmmap::stats::RxAccounting;
use pktmmap::wire::{parse_udp, Probe, PROBE_LEN};

fuzz_target!(|frame: &[u8]| {
    for verify in [true, false] {
        if let Ok(d) = parse_udp(frame, 9000, verify) {
            let sliced = SlicedPacket::from_ethernet(frame).expect("etherparse reads what we accept");
            match &sliced.net {
                Some(NetSlice::Ipv4(ip)) => {
                    assert_eq!(ip.header().protocol(), etherparse::IpNumber::UDP);
                    assert_eq!(d.src_ip, std::net::IpAddr::V4(ip.header().source_addr()));
                }
                Some(NetSlice::Ipv6(ip)) => {
                    assert_eq!(ip.header().next_header(), etherparse::IpNumber::UDP);
                    assert!(ip.extensions().is_empty(), "no extension header accepted");
                    assert_eq!(d.src_ip, std::net::IpAddr::V6(ip.header().source_addr()));
                }
                _ => panic!("we accepted a frame etherparse sees as neither IP: {sliced:?}"),
            }
            let Some(TransportSlice::Udp(udp)) = sliced.transport else {
                panic!("we accepted a frame etherparse does not see as UDP")
            };
            assert_eq!(udp.destination_port(), 9000);
            assert_eq!(udp.payload(), d.payload, "same payload");
        }
    }
    // The bytes as probes: 10 bytes each (a run bit, a 64-bit sequence number, a 1-byte time).
    let mut acct = RxAccounting::new(None, Some(1));
    let mut followed = 0u64;
    let mut payload = [0u8; PROBE_LEN];
    for chunk in frame.chunks_exact(10) {
        let run_id = 1 + u32::from(chunk[0] & 1);
        let seq = u64::from_le_bytes(chunk[1..9].try_into().unwrap());
        Probe {
            run_id,
            seq,
            sent_ns: u64::from(chunk[9]),
        }
        .write(&mut payload);
        acct.on_datagram(&payload, 1_000);
        followed += u64::from(run_id == 1);
    }
    let c = acct.counts();
    assert_eq!(c.probes, followed, "{c:?}");
    assert_eq!(c.other_run, frame.len() as u64 / 10 - followed);
    assert_eq!(c.unique + c.duplicates + c.late + c.out_of_range, c.probes, "{c:?}");
    assert!(c.reordered <= c.unique);
});
