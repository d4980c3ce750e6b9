//! The transmit drops of the interfaces on a run's path, read before and after each run
//! where the tools run (`pktmmap-idle link-drops` in each namespace or container), so that a
//! frame a device dropped is a counted drop like one a ring or a socket dropped.
//!
//! The case that needs it: a veth whose peer runs an XDP program hands each frame to the
//! peer's XDP ring (256 frames) instead of its backlog; when that ring is full (the peer's
//! NAPI poll has not run yet, e.g. a loaded machine deferred it to ksoftirqd), the frame is
//! dropped and counted only in the sending device's `tx_dropped`, in the namespace of the
//! sender, of a bridge, or of an overlay host. Only `tx_dropped` is summed: a device's
//! `rx_dropped` repeats what the receiver's own counters already hold (an XDP redirect into
//! a full AF_XDP ring counts in both).

use std::collections::BTreeMap;

use super::Place;
use crate::experiment::Error;

/// One reading: each interface of the places read, by place and name, with its
/// `tx_dropped`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkReading(BTreeMap<(usize, String), u64>);

impl LinkReading {
    /// Reads every place in `places` (each a namespace or container on the path).
    pub fn read(places: &[Box<dyn Place + '_>]) -> Result<LinkReading, Error> {
        let mut reading = BTreeMap::new();
        for (i, place) in places.iter().enumerate() {
            let out = place
                .command("pktmmap-idle")
                .arg("link-drops")
                .output()
                .map_err(|e| Error::Tool(format!("pktmmap-idle link-drops: {e}")))?;
            if !out.status.success() {
                return Err(Error::Tool(format!(
                    "pktmmap-idle link-drops failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            for (name, dropped) in parse_link_drops(&String::from_utf8_lossy(&out.stdout))? {
                reading.insert((i, name), dropped);
            }
        }
        Ok(LinkReading(reading))
    }

    /// The drops counted between `self` and the later reading `after`, over the interfaces
    /// in both; `None` if a counter went backwards (an interface re-created mid-run).
    pub fn since(&self, after: &LinkReading) -> Option<u64> {
        let mut total = 0u64;
        for (key, before) in &self.0 {
            if let Some(now) = after.0.get(key) {
                total = total.checked_add(now.checked_sub(*before)?)?;
            }
        }
        Some(total)
    }
}

/// Parses `pktmmap-idle link-drops` output: `NAME TX_DROPPED` per line.
pub fn parse_link_drops(text: &str) -> Result<Vec<(String, u64)>, Error> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            match (
                words.next(),
                words.next().map(str::parse::<u64>),
                words.next(),
            ) {
                (Some(name), Some(Ok(dropped)), None) => Ok((name.to_string(), dropped)),
                _ => Err(Error::Tool(format!(
                    "pktmmap-idle link-drops printed {line:?}, not NAME TX_DROPPED"
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_drops_lines_parse_and_anything_else_is_refused() {
        assert_eq!(
            parse_link_drops("lo 0\npkm0 690\n").unwrap(),
            vec![("lo".into(), 0), ("pkm0".into(), 690)]
        );
        for bad in ["pkm0", "pkm0 -1", "pkm0 12 extra", "pkm0 x"] {
            assert!(parse_link_drops(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_drops_between_two_readings_are_summed_over_the_interfaces_in_both() {
        let reading = |v: &[(usize, &str, u64)]| {
            LinkReading(
                v.iter()
                    .map(|(p, n, d)| ((*p, n.to_string()), *d))
                    .collect(),
            )
        };
        let before = reading(&[(0, "pkm0", 10), (1, "pkm0", 5), (1, "pkmrx", 0)]);
        let after = reading(&[(0, "pkm0", 700), (1, "pkm0", 5), (1, "pkmrx", 95)]);
        assert_eq!(before.since(&after), Some(690 + 95));
        // The same name in another place is another interface.
        let other = reading(&[(0, "pkm0", 10), (1, "pkm0", 4)]);
        assert_eq!(before.since(&other), None, "a counter that went backwards");
    }
}
