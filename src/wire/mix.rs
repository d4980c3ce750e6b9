//! Sizes of a sender's datagrams: one UDP payload for all of them, or a mix of Ethernet frame
//! sizes that repeats (IMIX, as RFC 6985 describes it: a fixed sequence of sizes, so that a
//! trial is repeatable and every receiver can be checked against it).
//!
//! A mix is written as frame sizes with their weights, `64x7,570x4,1518x1` (the classic
//! "simple IMIX", also spelt `imix`). Frame sizes count the 4-byte FCS, as RFC 2544's and the
//! IMIX literature's do; a frame too small for the probe goes out as the smallest that holds
//! it (the 64-byte frame as 70 B over IPv4, 90 B over IPv6). Datagram `seq` has the size at
//! position `seq % cycle` of the mix's sequence, where the cycle is the sum of the weights and
//! the sizes take turns as evenly as their weights allow (smooth weighted round robin: for
//! `imix`, the one large frame sits between the small ones, not at the end of a burst).

use std::fmt;
use std::str::FromStr;

use super::ip::Family;
use super::probe::PROBE_LEN;

/// The 4-byte frame check sequence: no socket sees it, but RFC 2544's and IMIX's frame sizes
/// include it.
pub const FCS_LEN: usize = 4;

/// The classic simple IMIX: 7 frames of 64 B, 4 of 570 B, 1 of 1518 B (FCS included).
pub const IMIX: [MixPart; 3] = [
    MixPart {
        frame: 64,
        weight: 7,
    },
    MixPart {
        frame: 570,
        weight: 4,
    },
    MixPart {
        frame: 1518,
        weight: 1,
    },
];

/// The longest cycle a mix may have (the sum of its weights).
pub const MAX_CYCLE: u32 = 4096;

/// The largest frame a mix may name, FCS included (a 9,000-byte MTU's frame is 9,018).
pub const MAX_MIX_FRAME: usize = 65_535;

/// One size of a mix and how many of each cycle's frames have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixPart {
    /// Ethernet frame bytes, FCS included.
    pub frame: usize,
    /// Frames of this size per cycle.
    pub weight: u32,
}

/// A repeating mix of frame sizes (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeMix {
    parts: Vec<MixPart>,
}

impl SizeMix {
    /// The classic simple IMIX ([`IMIX`]).
    pub fn imix() -> Self {
        Self {
            parts: IMIX.to_vec(),
        }
    }

    /// The sizes and their weights, as given.
    pub fn parts(&self) -> &[MixPart] {
        &self.parts
    }

    /// Frames per cycle: the sum of the weights.
    pub fn cycle(&self) -> usize {
        self.parts.iter().map(|p| p.weight as usize).sum()
    }

    /// For each position of a cycle, the index of its part: each part appears as often as
    /// its weight, spread as evenly as the weights allow (smooth weighted round robin; ties
    /// go to the part given first).
    pub fn sequence(&self) -> Vec<u16> {
        let total: i64 = self.cycle() as i64;
        let mut credit = vec![0i64; self.parts.len()];
        (0..total)
            .map(|_| {
                for (c, p) in credit.iter_mut().zip(&self.parts) {
                    *c += i64::from(p.weight);
                }
                let mut pick = 0;
                for (i, &c) in credit.iter().enumerate() {
                    if c > credit[pick] {
                        pick = i;
                    }
                }
                credit[pick] -= total;
                pick as u16
            })
            .collect()
    }

    /// The UDP payload of each part over `family`: the frame less the FCS and the headers,
    /// never below the probe.
    pub fn payloads(&self, family: Family) -> Vec<usize> {
        self.parts
            .iter()
            .map(|p| payload_of_frame(p.frame, family))
            .collect()
    }

    /// The mean UDP payload over a cycle, over `family`.
    pub fn mean_payload(&self, family: Family) -> f64 {
        let bytes: usize = self
            .payloads(family)
            .iter()
            .zip(&self.parts)
            .map(|(&b, p)| b * p.weight as usize)
            .sum();
        bytes as f64 / self.cycle() as f64
    }
}

/// The UDP payload of an Ethernet frame of `frame` bytes (FCS included) over `family`, never
/// below the probe.
pub fn payload_of_frame(frame: usize, family: Family) -> usize {
    frame
        .saturating_sub(family.frame_overhead() + FCS_LEN)
        .max(PROBE_LEN)
}

impl fmt::Display for SizeMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parts == IMIX {
            return f.write_str("imix");
        }
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|p| format!("{}x{}", p.frame, p.weight))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for SizeMix {
    type Err = String;

    /// `imix`, or `FRAMExWEIGHT[,FRAMExWEIGHT...]`: distinct frame sizes (FCS included, at
    /// most [`MAX_MIX_FRAME`]) with weights of at least 1, summing to at most [`MAX_CYCLE`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("imix") {
            return Ok(Self::imix());
        }
        let err = |why: String| {
            format!("size mix {s:?}: {why} (write imix, or frame sizes with weights: 64x7,570x4,1518x1)")
        };
        let mut parts: Vec<MixPart> = Vec::new();
        for word in t.split(',') {
            let (frame, weight) = word
                .trim()
                .split_once(['x', 'X'])
                .ok_or_else(|| err(format!("{word:?} is not FRAMExWEIGHT")))?;
            let frame: usize = frame
                .trim()
                .parse()
                .map_err(|_| err(format!("frame size {frame:?} is not a number of bytes")))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| err(format!("weight {weight:?} is not a whole number")))?;
            if frame == 0 || frame > MAX_MIX_FRAME {
                return Err(err(format!(
                    "frame size {frame} B is outside 1..={MAX_MIX_FRAME}"
                )));
            }
            if weight == 0 {
                return Err(err(format!("frame size {frame} B has weight 0")));
            }
            if parts.iter().any(|p| p.frame == frame) {
                return Err(err(format!("frame size {frame} B is given twice")));
            }
            parts.push(MixPart { frame, weight });
        }
        let cycle: u64 = parts.iter().map(|p| u64::from(p.weight)).sum();
        if cycle > u64::from(MAX_CYCLE) {
            return Err(err(format!(
                "the weights sum to {cycle}, over the {MAX_CYCLE} frames a cycle may have"
            )));
        }
        Ok(Self { parts })
    }
}

/// A sender's `--size`: one UDP payload for every datagram, or a [`SizeMix`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatagramSizes {
    /// Every datagram carries this many bytes of UDP payload.
    Payload(usize),
    /// Frame sizes that repeat in a fixed sequence.
    Mix(SizeMix),
}

impl DatagramSizes {
    /// The single payload, or `None` for a mix.
    pub fn fixed(&self) -> Option<usize> {
        match self {
            DatagramSizes::Payload(n) => Some(*n),
            DatagramSizes::Mix(_) => None,
        }
    }

    /// The mix, or `None` for a single payload.
    pub fn mix(&self) -> Option<&SizeMix> {
        match self {
            DatagramSizes::Payload(_) => None,
            DatagramSizes::Mix(m) => Some(m),
        }
    }

    /// The payload of every position of a cycle over `family`: one entry for a single
    /// payload; datagram `seq` has entry `seq % len`.
    pub fn payload_cycle(&self, family: Family) -> Vec<usize> {
        match self {
            DatagramSizes::Payload(n) => vec![*n],
            DatagramSizes::Mix(m) => {
                let payloads = m.payloads(family);
                m.sequence()
                    .into_iter()
                    .map(|i| payloads[usize::from(i)])
                    .collect()
            }
        }
    }

    /// The largest payload over `family`.
    pub fn max_payload(&self, family: Family) -> usize {
        self.payload_cycle(family).into_iter().max().unwrap_or(0)
    }

    /// The mean payload over `family`, rounded to the byte: what summaries and rows give as
    /// `size` (exact for a single payload).
    pub fn mean_payload(&self, family: Family) -> usize {
        match self {
            DatagramSizes::Payload(n) => *n,
            DatagramSizes::Mix(m) => m.mean_payload(family).round() as usize,
        }
    }
}

impl Default for DatagramSizes {
    fn default() -> Self {
        DatagramSizes::Payload(64)
    }
}

impl fmt::Display for DatagramSizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatagramSizes::Payload(n) => write!(f, "{n}"),
            DatagramSizes::Mix(m) => m.fmt(f),
        }
    }
}

impl FromStr for DatagramSizes {
    type Err = String;

    /// A number of UDP payload bytes, or a mix ([`SizeMix`]'s syntax).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<usize>() {
            Ok(n) => Ok(DatagramSizes::Payload(n)),
            Err(_) if s.trim().chars().all(|c| c.is_ascii_digit()) => {
                Err(format!("size {s:?} is not a number of bytes"))
            }
            Err(_) => s.parse().map(DatagramSizes::Mix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imix_takes_turns_seven_four_one_with_the_large_frame_between_small_ones() {
        let m: SizeMix = "imix".parse().unwrap();
        let seq = m.sequence();
        assert_eq!(seq.len(), 12);
        // The README's order: S M S S M S L S M S M S.
        assert_eq!(seq, [0, 1, 0, 0, 1, 0, 2, 0, 1, 0, 1, 0]);
        for (part, weight) in [(0u16, 7), (1, 4), (2, 1)] {
            assert_eq!(seq.iter().filter(|&&p| p == part).count(), weight);
        }
        // No two medium frames in a row, and no run of more than two small ones: spread.
        let runs = seq.windows(3).filter(|w| w.iter().all(|&p| p == 0)).count();
        assert_eq!(runs, 0, "{seq:?}");
        assert!(!seq.windows(2).any(|w| w == [1, 1]), "{seq:?}");
        assert_eq!(m.to_string(), "imix");
        assert_eq!("64x7,570x4,1518x1".parse::<SizeMix>().unwrap(), m);
    }

    #[test]
    fn imix_payloads_over_each_family_hold_the_probe() {
        let m = SizeMix::imix();
        assert_eq!(m.payloads(Family::V4), [24, 524, 1472]);
        assert_eq!(m.payloads(Family::V6), [24, 504, 1452]);
        // 1,472 + 28 and 1,452 + 48: the 1518-byte frame fills a 1,500-byte MTU exactly.
        let sizes = DatagramSizes::Mix(m);
        assert_eq!(
            sizes.max_payload(Family::V4) + Family::V4.ip_overhead(),
            1500
        );
        assert_eq!(
            sizes.max_payload(Family::V6) + Family::V6.ip_overhead(),
            1500
        );
        // (7 x 24 + 4 x 524 + 1472) / 12 = 311.33; over IPv6 (168 + 2016 + 1452) / 12 = 303.
        assert_eq!(sizes.mean_payload(Family::V4), 311);
        assert_eq!(sizes.mean_payload(Family::V6), 303);
        let cycle = sizes.payload_cycle(Family::V4);
        assert_eq!(cycle.iter().sum::<usize>(), 7 * 24 + 4 * 524 + 1472);
    }

    #[test]
    fn a_custom_mix_keeps_its_order_and_weights() {
        let m: SizeMix = "128x1, 1024x3".parse().unwrap();
        assert_eq!(m.to_string(), "128x1,1024x3");
        assert_eq!(m.sequence(), [1, 0, 1, 1]);
        let one: SizeMix = "256x5".parse().unwrap();
        assert_eq!(one.sequence(), [0; 5]);
    }

    #[test]
    fn bad_mixes_are_refused_with_the_reason() {
        for (text, why) in [
            ("64x0", "weight 0"),
            ("64x7,64x1", "given twice"),
            ("64", "not FRAMExWEIGHT"),
            ("big", "not FRAMExWEIGHT"),
            ("ax3", "not a number of bytes"),
            ("64x-1", "not a whole number"),
            ("0x1", "outside"),
            ("70000x1", "outside"),
            ("64x4000,128x97", "over the 4096"),
            ("64x7,", "not FRAMExWEIGHT"),
        ] {
            let e = text.parse::<SizeMix>().unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
        assert_eq!(
            "64".parse::<DatagramSizes>().unwrap(),
            DatagramSizes::Payload(64)
        );
        assert!("imix".parse::<DatagramSizes>().unwrap().mix().is_some());
        assert!("99999999999999999999999"
            .parse::<DatagramSizes>()
            .unwrap_err()
            .contains("not a number"));
    }
}
