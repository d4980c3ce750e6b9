//! Arbitrary text under each CSV header the runner and `plot`/`report` read (the five past run
//! schemas, the current one, interval rows, benchmark rows): rows or an error naming the
//! file, never a panic, and never more rows than the text has lines.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use pktmmap::experiment::bench::BenchRow;
use pktmmap::experiment::rows::{self, parse_csv_rows, IntervalRow, Row, PAST_SCHEMAS};

fuzz_target!(|input: (u8, &str)| {
    let (which, body) = input;
    let current = rows::header();
    let intervals = rows::header_of::<IntervalRow>();
    let bench = rows::header_of::<BenchRow>();
    let mut heads: Vec<&str> = PAST_SCHEMAS.iter().map(|(_, h)| *h).collect();
    heads.extend([current.as_str(), intervals.as_str(), bench.as_str()]);
    let head = heads[usize::from(which) % heads.len()];
    let text = format!("{head}\n{body}");
    let lines = text.lines().count();
    let origin = Path::new("fuzz.csv");
    let n = if head == intervals {
        parse_csv_rows::<IntervalRow>(origin, text.as_bytes()).map(|r| r.len())
    } else if head == bench {
        parse_csv_rows::<BenchRow>(origin, text.as_bytes()).map(|r| r.len())
    } else {
        parse_csv_rows::<Row>(origin, text.as_bytes()).map(|r| r.len())
    };
    match n {
        Ok(n) => assert!(n < lines.max(1) + 1),
        Err(e) => assert!(e.to_string().contains("fuzz.csv"), "{e}"),
    }
});
