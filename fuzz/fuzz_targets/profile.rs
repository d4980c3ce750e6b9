//! Arbitrary text as a scenario profile: a checked profile or an error, never a panic; a
//! profile that loads expands into points that each have a count, a size and a rate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::experiment::plan::profile::Profile;

fuzz_target!(|text: &str| {
    if let Ok(p) = Profile::parse(text) {
        for point in p.points().expect("checked when parsed") {
            assert!(point.count > 0 && point.size >= pktmmap::wire::PROBE_LEN);
        }
    }
});
