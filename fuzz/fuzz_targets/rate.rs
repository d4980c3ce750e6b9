//! Arbitrary text as a `--rate`: a rate or an error, never a panic; a rate prints back as text
//! that parses to the same rate, and its schedule never divides by zero.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::pace::Rate;

fuzz_target!(|text: &str| {
    if let Ok(rate) = text.parse::<Rate>() {
        let again: Rate = rate.to_string().parse().expect("a rate prints as a rate");
        assert_eq!(again.to_string(), rate.to_string());
        for frame in [64usize, 1514, 9018] {
            let _ = rate.interval_ns(frame);
            let _ = rate.packets_per_second(frame);
            let _ = rate.share(3);
        }
    }
});
