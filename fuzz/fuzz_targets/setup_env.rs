//! Arbitrary text as a set-up script's `env` output: where each side lives, or an error
//! naming the line or key, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::experiment::place::setup::parse_env;

fuzz_target!(|text: &str| {
    if let Ok(env) = parse_env(text) {
        // Every side parsed from the text is named in it.
        for name in [&env.tx_if, &env.rx_if, &env.tx_ip, &env.rx_ip] {
            assert!(text.contains(name.as_str()), "{name} not in {text:?}");
        }
    }
});
