//! Sending crafted frames through a TX ring, to test how receivers handle odd traffic
//! (`pktmmap inject`). Frames are given in hex, one per line; `#` starts a comment.

use std::time::Duration;

use crate::cli::{self, CliError, Failure};
use crate::net;
use crate::ring::{
    self, geometry, Flush, FrameLayout, RingGeometry, SkbLayout, TpacketVersion, TxConfig, TxRing,
};

/// Parses frames written one per line in hex (white space inside a line is ignored).
pub fn parse_hex_frames(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut frames = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        let hex: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if hex.is_empty() {
            continue;
        }
        if !hex.len().is_multiple_of(2) {
            return Err(format!("line {}: odd number of hex digits", n + 1));
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| format!("line {}: not hex", n + 1))?;
        frames.push(bytes);
    }
    Ok(frames)
}

/// Writes frames as hex lines (the inverse of [`parse_hex_frames`]).
pub fn to_hex_line(frame: &[u8]) -> String {
    frame.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends `frames`, in order, on interface `name`; returns how many the kernel sent.
///
/// Each frame must be at least an Ethernet header and at most the MTU plus that header: the
/// kernel refuses anything else on an Ethernet device, so those are refused here first.
pub fn send_frames(name: &str, frames: &[Vec<u8>]) -> Result<u64, CliError> {
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
    let version = TpacketVersion::V3;
    let geometry = RingGeometry::new(
        1 << 16,
        16,
        2048,
        None,
        ring::sys::page_size() as u32,
        geometry::tx_min_frame_size(FrameLayout::for_version(version).data, iface.mtu),
    )?;
    let config = TxConfig {
        geometry,
        version,
        qdisc_bypass: false,
        populate: false,
        // Exactly the bytes given, as the kernel attaches them by default.
        skb: SkbLayout::Fragments,
    };
    let mut ring =
        TxRing::open(iface.index, &config).map_err(|e| cli::from_sys("pktmmap inject", e))?;
    let mut sent = 0u64;
    for f in frames {
        loop {
            if let Some(mut slot) = ring.claim()? {
                slot.data()[..f.len()].copy_from_slice(f);
                slot.publish(f.len())?;
                sent += 1;
                break;
            }
            if ring.flush()? == Flush::Congested || ring.unflushed() == 0 {
                ring.wait_writable(10)
                    .map_err(|e| cli::from_sys("pktmmap inject", e))?;
            }
        }
    }
    let left = ring.drain(Duration::from_secs(5))?;
    Ok(sent - u64::from(left))
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
    }
}
