//! The probe header at the start of every test datagram's UDP payload.
//!
//! ```text
//! 0       4        8                16               24
//! | magic | run id | sequence (u64) | send time (ns) |
//! ```
//! All fields big-endian. The send time is `CLOCK_REALTIME` in nanoseconds, the clock the
//! kernel uses for packet socket receive timestamps, so one-way latency on one host is
//! `receive timestamp - send time`.

/// The first four bytes of a probe: `PKM1` (pktmmap, layout version 1).
pub const MAGIC: [u8; 4] = *b"PKM1";

/// Bytes a probe occupies; the smallest `--size`.
pub const PROBE_LEN: usize = 24;

/// Byte offsets inside the probe.
pub mod field {
    use std::ops::Range;
    /// Magic value.
    pub const MAGIC: Range<usize> = 0..4;
    /// Run id.
    pub const RUN_ID: Range<usize> = 4..8;
    /// Sequence number.
    pub const SEQ: Range<usize> = 8..16;
    /// Send time in nanoseconds.
    pub const SENT_NS: Range<usize> = 16..24;
}

/// A parsed probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// Identifies one sender run; receivers follow one run at a time.
    pub run_id: u32,
    /// Sequence number, 0 for the first datagram of a run.
    pub seq: u64,
    /// Send time, nanoseconds since the Unix epoch (`CLOCK_REALTIME`).
    pub sent_ns: u64,
}

impl Probe {
    /// Parses the start of a UDP payload; `None` if it is too short or lacks the magic value.
    pub fn parse(payload: &[u8]) -> Option<Probe> {
        let p = payload.get(..PROBE_LEN)?;
        if p[field::MAGIC] != MAGIC {
            return None;
        }
        let u32_at =
            |r: std::ops::Range<usize>| u32::from_be_bytes(p[r].try_into().unwrap_or([0; 4]));
        let u64_at =
            |r: std::ops::Range<usize>| u64::from_be_bytes(p[r].try_into().unwrap_or([0; 8]));
        Some(Probe {
            run_id: u32_at(field::RUN_ID),
            seq: u64_at(field::SEQ),
            sent_ns: u64_at(field::SENT_NS),
        })
    }

    /// Writes the probe into the first [`PROBE_LEN`] bytes of `buf` (which must be that long).
    pub fn write(&self, buf: &mut [u8]) {
        let p = &mut buf[..PROBE_LEN];
        p[field::MAGIC].copy_from_slice(&MAGIC);
        p[field::RUN_ID].copy_from_slice(&self.run_id.to_be_bytes());
        p[field::SEQ].copy_from_slice(&self.seq.to_be_bytes());
        p[field::SENT_NS].copy_from_slice(&self.sent_ns.to_be_bytes());
    }
}

/// Overwrites only the sequence number and send time of a probe already written to `buf`.
pub fn stamp(buf: &mut [u8], seq: u64, sent_ns: u64) {
    buf[field::SEQ].copy_from_slice(&seq.to_be_bytes());
    buf[field::SENT_NS].copy_from_slice(&sent_ns.to_be_bytes());
}

/// Whether the probe with sequence number `seq` is reflected when every `every`-th is.
pub fn reflects(seq: u64, every: u64) -> bool {
    every > 0 && seq.is_multiple_of(every)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let p = Probe {
            run_id: 0xdead_beef,
            seq: 9_999_999_999,
            sent_ns: 1_763_000_000_123_456_789,
        };
        let mut buf = [0u8; 64];
        p.write(&mut buf);
        assert_eq!(&buf[..4], b"PKM1");
        assert_eq!(Probe::parse(&buf), Some(p));
    }

    #[test]
    fn rejects_short_or_foreign_payloads() {
        let mut buf = [0u8; PROBE_LEN];
        Probe {
            run_id: 1,
            seq: 2,
            sent_ns: 3,
        }
        .write(&mut buf);
        assert_eq!(Probe::parse(&buf[..PROBE_LEN - 1]), None);
        buf[0] = b'X';
        assert_eq!(Probe::parse(&buf), None);
        assert_eq!(Probe::parse(b""), None);
    }
}
