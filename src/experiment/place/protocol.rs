//! The tools' JSON-lines protocol on stdout: interval reports (`"type":"interval"`) and one
//! summary, the last line that is not an interval report.

use serde::de::DeserializeOwned;

use super::process::Exit;
use crate::experiment::Error;

/// The type of one JSON line a tool printed (`interval`, `summary`; none before schema 1).
fn record_type(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(v.get("type")?.as_str()?.to_string())
}

/// The interval reports among a tool's stdout lines, in order (lines that are not one are
/// skipped).
pub fn parse_intervals<T: DeserializeOwned>(lines: &[String]) -> Vec<T> {
    lines
        .iter()
        .filter(|l| record_type(l).as_deref() == Some("interval"))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Parses a tool's JSON summary (its last line that is not an interval report); without
/// one, says how the tool ended and its last words.
pub fn parse_summary<T: DeserializeOwned>(who: &str, exit: &Exit) -> Result<T, Error> {
    let (code, out, err) = exit;
    let line = out
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && record_type(l).as_deref() != Some("interval"))
        .unwrap_or("");
    serde_json::from_str(line.trim()).map_err(|_| {
        let how = match code {
            None => "by a signal".to_string(),
            // docker exec's way of saying the process died of a signal.
            Some(c @ 129..=192) => format!("{c} (signal {})", c - 128),
            Some(c) => c.to_string(),
        };
        match err.iter().rev().find(|l| !l.trim().is_empty()) {
            Some(last) => Error::Tool(format!("{who} exited {how} without a summary: {last}")),
            None => Error::Tool(format!("{who} exited {how} without a summary")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::place::process::ToolProcess;
    use std::process::Command;
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    #[test]
    fn json_lines_give_their_intervals_and_the_summary_and_a_chatty_tool_never_blocks() {
        // 200,000 interval lines (~9 MB) are more than a pipe holds: the reader thread must
        // drain stdout while the tool runs, or it would never exit.
        let mut c = Command::new("sh");
        c.args([
            "-c",
            r#"yes '{"type":"interval","schema":1,"received":2}' | head -n 200000; echo '{"type":"summary","schema":1,"received":400000}'"#,
        ]);
        let t = ToolProcess::start(c, "fake-rx", None).unwrap();
        let exit = t.wait(
            Instant::now() + Duration::from_secs(30),
            &AtomicBool::new(false),
        );
        assert_eq!(exit.0, Some(0));
        let lines: Vec<String> = exit.1.lines().map(str::to_string).collect();
        let intervals: Vec<serde_json::Value> = parse_intervals(&lines);
        assert_eq!(intervals.len(), 200_000);
        let s: serde_json::Value = parse_summary("fake-rx", &exit).unwrap();
        assert_eq!(s["received"], 400_000);
        // A summary of before schema 1 (no type) still parses.
        let old = (Some(0), "{\"received\":3}\n".to_string(), Vec::new());
        let s: serde_json::Value = parse_summary("fake-rx", &old).unwrap();
        assert_eq!(s["received"], 3);
    }
}
