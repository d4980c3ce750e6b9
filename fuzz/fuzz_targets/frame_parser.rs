//! Arbitrary bytes as a captured frame: the parser and the receive accounting must never panic,
//! and a frame they accept must really be IPv4 UDP to the port, with a payload inside the frame.
#![no_main]

use std::cell::{Cell, RefCell};

use libfuzzer_sys::fuzz_target;
use pktmmap::stats::RxAccounting;
use pktmmap::wire::{parse_ipv4_udp, Probe};

thread_local! {
    // Accounting only adds to counters, so one instance serves every input (a fresh HDR
    // histogram per input would cost more than the parsing under test).
    static ACCT: RefCell<RxAccounting> = RefCell::new(RxAccounting::new(Some(1000), None));
    static INPUTS: Cell<u64> = const { Cell::new(0) };
}

fuzz_target!(|frame: &[u8]| ACCT.with_borrow_mut(|acct| {
    for verify in [true, false] {
        match parse_ipv4_udp(frame, 9000, verify) {
            Ok(d) => {
                assert!(frame.len() >= 42 && frame[12..14] == [0x08, 0x00] && frame[23] == 17);
                let (lo, hi) = (
                    frame.as_ptr() as usize,
                    frame.as_ptr() as usize + frame.len(),
                );
                let start = d.payload.as_ptr() as usize;
                assert!(start >= lo && start + d.payload.len() <= hi);
                let _ = Probe::parse(d.payload);
                acct.on_datagram(d.payload, 1_700_000_000_000_000_000);
            }
            Err(reason) => acct.on_ignored(reason),
        }
    }
    // Any bytes as a payload too: counted as received unless it is another run's probe.
    let before = acct.received();
    let counted = acct.on_datagram(frame, 0);
    assert_eq!(acct.received(), before + u64::from(counted));
    let n = INPUTS.get() + 1;
    INPUTS.set(n);
    if n % 4096 == 0 {
        let c = acct.counts();
        assert!(c.unique <= c.probes && c.probes + c.no_probe == c.received);
    }
}));
