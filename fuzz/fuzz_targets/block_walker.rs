//! Arbitrary bytes as a TPACKET_V3 block: the walker must never panic, never lend bytes from
//! outside the block, and end after a bounded number of packets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::ring::block::packet_field::HEADER_LEN;
use pktmmap::ring::BlockView;

fuzz_target!(|block: &[u8]| {
    let Ok(view) = BlockView::parse(block) else {
        return;
    };
    let (lo, hi) = (
        block.as_ptr() as usize,
        block.as_ptr() as usize + block.len(),
    );
    let mut packets = 0usize;
    for p in view.packets() {
        let Ok(p) = p else { break };
        let start = p.data.as_ptr() as usize;
        assert!(
            start >= lo && start + p.data.len() <= hi,
            "packet bytes outside the block"
        );
        packets += 1;
    }
    assert!(
        packets <= block.len() / HEADER_LEN + 1,
        "more packets than headers fit"
    );
});
