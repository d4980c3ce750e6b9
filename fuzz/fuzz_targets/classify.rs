//! Arbitrary bytes as a TPACKET_V3 block, classified as mmap-rx classifies what its ring lends:
//! never a panic, and every packet the walker yields is either counted or ignored for a
//! reason (none vanishes), with a fresh accounting per input (no `--count`, so the sliding
//! sequence window that faces hostile sequence jumps is exercised too).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::engine::classify::account_block;
use pktmmap::ring::BlockView;
use pktmmap::stats::RxAccounting;

fuzz_target!(|block: &[u8]| {
    let mut acct = RxAccounting::new(None, None);
    account_block(block, 9000, &mut acct);
    let c = acct.counts();
    match BlockView::parse(block) {
        Err(_) => assert_eq!((c.received, c.ignored), (0, 1), "one corrupt block"),
        Ok(view) => {
            // Each packet the walker yields is accounted once; a failed walk adds one
            // corrupt-block count and ends.
            let walked = view.packets().count() as u64;
            assert_eq!(
                c.received + c.ignored + c.other_run,
                walked,
                "every packet accounted: {c:?}"
            );
        }
    }
    assert_eq!(c.probes + c.no_probe, c.received);
    assert!(c.unique <= c.probes);
});
