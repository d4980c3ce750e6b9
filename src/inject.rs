//! Sending crafted frames through a TX ring, to test how receivers handle odd traffic
//! (`pktmmap inject`). Frames are given in hex, one per line; `#` starts a comment.

use std::sync::atomic::AtomicBool;

use crate::backend::mmap::{Frames, MmapTx};
use crate::cli::{self, CliError, Failure};
use crate::engine::{self, SendPlan};
use crate::net;
use crate::pace::Rate;
use crate::ring::{SkbLayout, TxRing, TxRingOptions};

/// Parses frames written one per line in hex (white space inside a line is ignored).
///
/// Untrusted input: any text gives frames or a one-line error naming the line and the first
/// character that is not a hex digit, never a panic.
pub fn parse_hex_frames(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut frames = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        let mut digits = Vec::new();
        for c in line.chars().filter(|c| !c.is_whitespace()) {
            let d = c
                .to_digit(16)
                .ok_or_else(|| format!("line {}: not hex: {c:?}", n + 1))?;
            digits.push(d as u8);
        }
        if digits.is_empty() {
            continue;
        }
        if digits.len() % 2 != 0 {
            return Err(format!("line {}: odd number of hex digits", n + 1));
        }
        frames.push(digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect());
    }
    Ok(frames)
}

/// The frames of `path`: a pcap or pcapng capture (recognised by its magic number), else hex
/// lines; `-` is hex on standard input.
pub fn read_frames(path: &std::path::Path) -> Result<Vec<Vec<u8>>, CliError> {
    let unreadable = |e: std::io::Error| {
        CliError::new(
            Failure::Usage,
            format!("cannot read {}: {e}", path.display()),
        )
    };
    let bytes = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(unreadable)?
            .into_bytes()
    } else {
        std::fs::read(path).map_err(unreadable)?
    };
    const MAGICS: [[u8; 4]; 5] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x0a, 0x0d, 0x0d, 0x0a],
    ];
    if bytes
        .get(..4)
        .is_some_and(|m| MAGICS.iter().any(|k| k == m))
    {
        // Sizes are checked against the interface by send_frames.
        return Ok(crate::pcap::read_replay(path, usize::MAX, false)?.frames);
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        CliError::new(
            Failure::Usage,
            format!("{}: neither a capture nor hex text", path.display()),
        )
    })?;
    parse_hex_frames(&text).map_err(|e| CliError::new(Failure::Usage, e))
}

/// Writes frames as hex lines (the inverse of [`parse_hex_frames`]).
pub fn to_hex_line(frame: &[u8]) -> String {
    frame.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends `frames`, in order, on interface `name` through a TX ring driven by the sender
/// engine; returns how many the kernel sent.
///
/// Each frame must be at least an Ethernet header and at most the MTU plus that header: the
/// kernel refuses anything else on an Ethernet device, so those are refused here first.
pub fn send_frames(name: &str, frames: &[Vec<u8>]) -> Result<u64, CliError> {
    const TOOL: &str = "pktmmap inject";
    let iface = net::interface_up(name)?;
    let max = iface.mtu as usize + 14;
    if let Some((i, f)) = frames
        .iter()
        .enumerate()
        .find(|(_, f)| f.len() < 14 || f.len() > max)
    {
        return Err(CliError::new(
            Failure::Size,
            format!(
                "frame {} is {} bytes: it must be 14..={max} on {name}",
                i + 1,
                f.len()
            ),
        ));
    }
    if frames.is_empty() {
        return Ok(0);
    }
    let options = TxRingOptions {
        block_count: 16,
        // Exactly the bytes given, as the kernel attaches them by default.
        skb: SkbLayout::Fragments,
        ..TxRingOptions::default()
    };
    let ring =
        TxRing::open_with(iface.index, iface.mtu, &options).map_err(|e| cli::from_open(TOOL, e))?;
    let plan = SendPlan {
        flows: None,
        round_trip: None,
        tool: TOOL,
        destination: name.to_string(),
        run_id: 0,
        size: 0,
        frame_bytes: 0,
        size_mix: None,
        count: frames.len() as u64,
        rate: Rate::Max,
        batch: 256,
        gso_segments: None,
        cpu: None,
        interval: None,
    };
    let lane = MmapTx::new(ring, Frames::Replay(frames));
    let summary = engine::send(vec![lane], &plan, &AtomicBool::new(false), &mut |_| {})?;
    match summary.error {
        Some(e) if summary.sent == 0 => Err(CliError::new(Failure::Runtime, e)),
        _ => Ok(summary.sent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_frames_round_trip_with_comments_and_spaces() {
        let text = "# two frames\nff ff ff ff ff ff 02 00 00 00 00 01 08 06  # ARP-ish\n\n0a0b\n";
        let f = parse_hex_frames(text).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[1], [0x0a, 0x0b]);
        assert_eq!(
            to_hex_line(&f[0]),
            "ffffffffffff020000000001".to_string() + "0806"
        );
        assert!(parse_hex_frames("abc").unwrap_err().contains("odd"));
        assert!(parse_hex_frames("zz").unwrap_err().contains("not hex"));
        // Found by a user: a multi-byte character used to split a str inside a character.
        assert_eq!(
            parse_hex_frames("a\u{e9}0\n").unwrap_err(),
            "line 1: not hex: '\u{e9}'"
        );
        assert_eq!(
            parse_hex_frames("0a\n\u{1F600}").unwrap_err(),
            "line 2: not hex: '\u{1f600}'"
        );
    }
}
