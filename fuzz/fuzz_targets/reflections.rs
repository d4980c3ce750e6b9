//! Arbitrary datagrams arriving on a sender's reflection socket (`--reflect-every`): each is
//! a reflection of this run's probe or foreign, never a panic, and the summary accounts for
//! every datagram exactly once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::engine::reflect::RoundTripTimes;

fuzz_target!(|input: (u8, u16, Vec<(u64, Vec<u8>)>)| {
    let (every, count, datagrams) = input;
    let every = u64::from(every).max(1);
    let mut times = RoundTripTimes::new(every, u64::from(count));
    for (arrival_ns, payload) in &datagrams {
        times.record(payload, 0x5043_4b4d, *arrival_ns);
    }
    let s = times.summary(0);
    let seen = s.reflected + s.duplicates + s.foreign;
    // A probe of another sequence number (out of range, or not reflected) is foreign or
    // dropped as out of range; nothing is counted twice.
    assert!(seen <= datagrams.len() as u64, "{s:?} from {} datagrams", datagrams.len());
    assert!(s.reflected <= u64::from(count));
    let timed = s.latency.samples + s.latency.clock_skew;
    assert_eq!(timed, s.reflected, "{s:?}");
});
