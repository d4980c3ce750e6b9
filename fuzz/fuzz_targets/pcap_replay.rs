//! Arbitrary bytes as a capture to replay (`mmap-tx --pcap`, `pktmmap inject`): frames or an
//! error, never a panic; every frame kept is at least an Ethernet header, at most the
//! interface's frame, and no longer than the input; stamping a probe where one was found
//! (the frame readied first, as a stamped replay does) leaves a frame whose probe parses back
//! and whose UDP checksum no receiver refuses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::pcap::{parse_replay, prepare_stamp, probe_offset, stamp_probe};
use pktmmap::wire::{parse_udp, IgnoreReason, Probe};

const MAX_FRAME: usize = 1514;

fuzz_target!(|bytes: &[u8]| {
    let skip_oversize = bytes.first().is_some_and(|b| b & 1 == 1);
    let Ok(replay) = parse_replay("fuzz", bytes, MAX_FRAME, skip_oversize) else {
        return;
    };
    assert!(!replay.frames.is_empty());
    assert_eq!(replay.frames.len(), replay.probe_at.len());
    for (frame, at) in replay.frames.iter().zip(&replay.probe_at) {
        assert!((14..=MAX_FRAME).contains(&frame.len()));
        assert!(frame.len() <= bytes.len());
        assert_eq!(*at, probe_offset(frame));
        if let Some(at) = *at {
            let mut f = frame.clone();
            prepare_stamp(&mut f, at);
            let probe = Probe { run_id: 7, seq: 11, sent_ns: 13 };
            stamp_probe(&mut f, at, probe);
            assert_eq!(f.len(), frame.len());
            let back = Probe::parse(&f[at..]).expect("a stamped probe parses");
            assert_eq!((back.run_id, back.seq, back.sent_ns), (7, 11, 13));
            let port = u16::from_be_bytes([f[at - 6], f[at - 5]]);
            assert_ne!(
                parse_udp(&f, port, true).err(),
                Some(IgnoreReason::BadUdpChecksum),
                "a stamped frame's checksum is right (or none over IPv4)"
            );
        }
    }
});
