//! Arbitrary text as a sender's `--size`: a size or a mix, or an error, never a panic. A mix
//! prints back as text that parses to the same mix; its cycle has each size exactly as often
//! as its weight; every payload holds the probe, over either family.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::wire::{DatagramSizes, Family, PROBE_LEN};

fuzz_target!(|text: &str| {
    let Ok(sizes) = text.parse::<DatagramSizes>() else {
        return;
    };
    let again: DatagramSizes = sizes.to_string().parse().expect("a size prints as a size");
    assert_eq!(again, sizes);
    let Some(mix) = sizes.mix() else {
        return;
    };
    let sequence = mix.sequence();
    assert_eq!(sequence.len(), mix.cycle());
    for (i, part) in mix.parts().iter().enumerate() {
        let n = sequence.iter().filter(|&&p| usize::from(p) == i).count();
        assert_eq!(n, part.weight as usize, "{mix}");
    }
    for family in [Family::V4, Family::V6] {
        let cycle = sizes.payload_cycle(family);
        assert_eq!(cycle.len(), mix.cycle());
        assert!(cycle.iter().all(|&n| n >= PROBE_LEN));
        let mean = sizes.mean_payload(family);
        assert!(mean >= PROBE_LEN && mean <= sizes.max_payload(family));
    }
});
