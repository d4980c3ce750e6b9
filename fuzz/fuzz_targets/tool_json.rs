//! Arbitrary stdout of a tool as the runner reads it (the tools' JSON lines can come over ssh
//! from another node): interval reports and a summary of either side, or an error saying the
//! tool ended without one, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmmap::experiment::place::{parse_intervals, parse_summary};
use pktmmap::report::{RxInterval, RxSummary, TxInterval, TxSummary};

fuzz_target!(|input: (Option<i32>, &str)| {
    let (code, stdout) = input;
    let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    let rx: Vec<RxInterval> = parse_intervals(&lines);
    let tx: Vec<TxInterval> = parse_intervals(&lines);
    assert!(rx.len() <= lines.len() && tx.len() <= lines.len());
    let exit = (code, stdout.to_string(), vec!["last words".to_string()]);
    if let Err(e) = parse_summary::<RxSummary>("fuzz-rx", &exit) {
        let e = e.to_string();
        assert!(e.starts_with("fuzz-rx exited") && e.contains("last words"), "{e}");
    }
    let _ = parse_summary::<TxSummary>("fuzz-tx", &exit);
});
