//! Arbitrary bytes as a TPACKET_V3 block, classified as mmap-rx classifies what its ring lends:
//! never a panic, and every packet the walker yields is either counted or ignored for a
//! reason (none vanishes), with a fresh accounting per input (no `--count`, so the sliding
//! sequence window that faces hostile sequence jumps is exercised too). The first byte says
//! whether the ring has `PACKET_VNET_HDR` (odd: each frame's `virtio_net_hdr`, possibly a
//! GSO super-packet of many datagrams or a malformed one, precedes it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::engine::classify::account_block;
use pktmmap::ring::BlockView;
use pktmmap::stats::RxAccounting;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, block)) = input.split_first() else {
        return;
    };
    let vnet_hdr = mode & 1 == 1;
    let mut acct = RxAccounting::new(None, None);
    account_block(block, vnet_hdr, 9000, &mut acct);
    let c = acct.counts();
    match BlockView::parse(block) {
        Err(_) => assert_eq!((c.received, c.ignored), (0, 1), "one corrupt block"),
        Ok(view) => {
            // Each packet the walker yields is accounted once; a failed walk adds one
            // corrupt-block count and ends.
            let walked = view.packets().count() as u64;
            if vnet_hdr {
                // A super-packet is one or more datagrams; no frame is more than one
                // super-packet, and none vanishes.
                assert!(c.gso_frames <= walked, "{c:?}");
                assert!(
                    c.received + c.ignored + c.other_run >= walked,
                    "every packet accounted: {c:?}"
                );
            } else {
                assert_eq!(c.gso_frames, 0);
                assert_eq!(
                    c.received + c.ignored + c.other_run,
                    walked,
                    "every packet accounted: {c:?}"
                );
            }
        }
    }
    assert_eq!(c.probes + c.no_probe, c.received);
    assert!(c.unique <= c.probes);
});
