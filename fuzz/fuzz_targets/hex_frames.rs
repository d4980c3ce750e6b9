//! Arbitrary text as `pktmmap inject`'s hex frames: frames or a one-line error, never a panic
//! (a multi-byte character once split a str inside a character); what parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::inject::{parse_hex_frames, to_hex_line};

fuzz_target!(|text: &str| {
    match parse_hex_frames(text) {
        Ok(frames) => {
            let again = frames.iter().map(|f| to_hex_line(f)).collect::<Vec<_>>().join("\n");
            assert_eq!(parse_hex_frames(&again).unwrap(), frames);
        }
        Err(e) => assert!(e.starts_with("line ") && !e.contains('\n'), "{e}"),
    }
});
