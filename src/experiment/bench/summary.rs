//! The benchmark's Markdown report: medians with their spread, ratios of runs paired by
//! repetition, and each receiver's capacity.

use crate::experiment::Error;
use std::fmt::Write as _;
use std::path::Path;

use super::{BenchRow, Receiver, Sender};
use crate::experiment::analysis::stat;
use crate::experiment::plan::kinds::{Fate, Status};

/// Writes `dir/bench.md` from `rows`; returns the Markdown.
pub fn write_report(dir: &Path, rows: &[BenchRow]) -> Result<String, Error> {
    let md = report(rows);
    let path = dir.join("bench.md");
    std::fs::write(&path, &md).map_err(Error::io("write", &path))?;
    Ok(md)
}

/// The whole Markdown report: a header saying what ran, then [`summary`].
pub fn report(rows: &[BenchRow]) -> String {
    let first = rows.first();
    let reps = rows.iter().map(|r| r.repetition).max().unwrap_or(0);
    format!(
        "# pktmmap bench, {}\n\n{} packets of {} B per run; up to {reps} repetitions, tools alternating; native veth; sender on core 0, receiver/meter on core 1; RPS {}; kernel {}, tools at {}.\n{}",
        first.map_or("", |r| r.time.as_str()),
        first.map_or(0, |r| r.count),
        first.map_or(0, |r| r.size),
        if rows.iter().any(|r| r.rps) { "on" } else { "off" },
        first.map_or("", |r| r.kernel.as_str()),
        first.map_or("", |r| r.git_commit.as_str()),
        summary(rows)
    )
}

/// The median, minimum and maximum of `values`.
fn stats(values: Vec<f64>) -> Option<(f64, f64, f64)> {
    stat(values).map(|s| (s.median, s.min, s.max))
}

fn group<'a>(
    rows: &'a [BenchRow],
    phase: &'a str,
    fate: Fate,
) -> impl Iterator<Item = &'a BenchRow> + 'a {
    rows.iter()
        .filter(move |r| r.phase == phase && r.fate == fate && r.status == Status::Ok)
}

/// Per-repetition ratios `a / b` of the received pps in one table (phase, fate, rate) (both measured in the
/// same repetition, so under the same conditions): median, min, max.
pub fn pair_ratio(
    rows: &[BenchRow],
    phase: &str,
    fate: Fate,
    rate: &str,
    a: &str,
    b: &str,
) -> Option<(f64, f64, f64)> {
    let table = || group(rows, phase, fate).filter(move |r| r.requested_rate == rate);
    let of = |tool: &str, rep: u32| {
        table()
            .find(|r| r.tool == tool && r.repetition == rep)
            .and_then(|r| r.pps)
    };
    let reps: Vec<u32> = table().map(|r| r.repetition).collect();
    let mut ratios = Vec::new();
    let mut seen = Vec::new();
    for rep in reps {
        if seen.contains(&rep) {
            continue;
        }
        seen.push(rep);
        if let (Some(x), Some(y)) = (of(a, rep), of(b, rep)) {
            if y > 0.0 {
                ratios.push(x / y);
            }
        }
    }
    stats(ratios)
}

/// The Markdown summary: a table per phase and fate (median pps, spread, CPU), then ratios.
pub fn summary(rows: &[BenchRow]) -> String {
    let mut md = String::new();
    let tables = [
        (
            "send-unpaced",
            Fate::IngressDrop,
            "Senders, unpaced, packets consumed at ingress",
        ),
        (
            "send-unpaced",
            Fate::Socket,
            "Senders, unpaced, packets read by a UDP socket",
        ),
        (
            "send-paced",
            Fate::IngressDrop,
            "Senders, paced, packets consumed at ingress",
        ),
        (
            "receive",
            Fate::Stack,
            "mmap-rx (kernel stack also sees the packets)",
        ),
        ("receive", Fate::Socket, "udp-rx"),
        (
            "receive",
            Fate::XdpRedirect,
            "xdp-rx (its XDP program takes the packets)",
        ),
        (
            "receive-gso",
            Fate::Stack,
            "mmap-rx, offered GSO super-packets of 64 datagrams by mmap-tx --gso 64",
        ),
        (
            "receive-gso",
            Fate::Socket,
            "udp-rx, offered GSO super-packets of 64 datagrams by mmap-tx --gso 64",
        ),
        (
            "receive-gso",
            Fate::XdpRedirect,
            "xdp-rx, offered GSO super-packets (veth segments them: an XDP program turns the peer's GSO off)",
        ),
    ];
    for (phase, fate, title) in tables {
        let rs: Vec<&BenchRow> = group(rows, phase, fate).collect();
        if rs.is_empty() {
            continue;
        }
        let _ = writeln!(md, "\n### {title} (`{phase}`, fate `{fate}`)\n");
        let _ = writeln!(
            md,
            "| tool | requested | runs | median pps | min–max pps | received / sender wall s | tx CPU s | rx CPU s / M pkt | lost (median) | kernel drops (max) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        let mut keys: Vec<(String, String)> = Vec::new();
        for r in &rs {
            let k = (r.tool.clone(), r.requested_rate.clone());
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for (tool, rate) in keys {
            let of: Vec<&&BenchRow> = rs
                .iter()
                .filter(|r| r.tool == tool && r.requested_rate == rate)
                .collect();
            let pps = stats(of.iter().filter_map(|r| r.pps).collect());
            let tx_cpu = stats(of.iter().filter_map(|r| r.tx_cpu_s).collect());
            let kept = stats(
                of.iter()
                    .filter_map(|r| Some(r.received? as f64 / r.tx_wall_s?))
                    .collect(),
            );
            let per_m = stats(of.iter().filter_map(|r| r.rx_cpu_s_per_mpkt).collect());
            let lost = stats(of.iter().filter_map(|r| r.lost.map(|v| v as f64)).collect());
            let drops = of.iter().filter_map(|r| r.kernel_drops).max();
            let _ = writeln!(
                md,
                "| {tool} | {rate} | {} | {} | {} | {} | {} | {} | {} | {} |",
                of.len(),
                pps.map_or("-".into(), |(m, _, _)| format!("{m:.0}")),
                pps.map_or("-".into(), |(_, lo, hi)| format!("{lo:.0}–{hi:.0}")),
                kept.map_or("-".into(), |(m, _, _)| format!("{m:.0}")),
                tx_cpu.map_or("-".into(), |(m, _, _)| format!("{m:.2}")),
                per_m.map_or("-".into(), |(m, _, _)| format!("{m:.2}")),
                lost.map_or("-".into(), |(m, _, _)| format!("{m:.0}")),
                drops.map_or("-".into(), |d| d.to_string()),
            );
        }
    }
    let _ = writeln!(
        md,
        "\n### Ratios (per repetition, same conditions; median, min–max)\n"
    );
    let _ = writeln!(md, "| ratio | table | median | min–max |");
    let _ = writeln!(md, "|---|---|---|---|");
    // Numerator, denominator, table, and the fates compared there.
    let (unpaced, paced) = ("send-unpaced", "send-paced");
    let both: &[Fate] = &[Fate::IngressDrop, Fate::Socket];
    let drop: &[Fate] = &[Fate::IngressDrop];
    let pairs: [(&str, &str, &str, &[Fate]); 19] = [
        ("mmap-tx-v3", "trafgen", unpaced, both),
        ("mmap-tx-v3", "udp-tx", unpaced, both),
        ("mmap-tx-v3", "udp-tx-mmsg", unpaced, both),
        ("udp-tx-mmsg", "udp-tx", unpaced, drop),
        ("mmap-tx-v3", "iperf3", unpaced, both),
        ("mmap-tx-v3", "mmap-tx-v2", unpaced, drop),
        ("mmap-tx-v3", "trafgen", paced, drop),
        ("mmap-tx-v3", "udp-tx", paced, drop),
        ("xdp-tx", "mmap-tx-v3", unpaced, both),
        ("xdp-tx", "trafgen", unpaced, drop),
        ("xdp-tx", "mmap-tx-v3", paced, drop),
        ("mmap-tx-v3", "testpmd-af_packet", unpaced, both),
        ("xdp-tx", "testpmd-af_xdp", unpaced, both),
        ("testpmd-af_xdp", "testpmd-af_packet", unpaced, drop),
        // Bypass or the best socket path?
        ("mmap-tx-gso", "udp-tx-gso", unpaced, both),
        ("udp-tx-gso", "mmap-tx-v3", unpaced, both),
        ("udp-tx-gso", "udp-tx", unpaced, both),
        ("mmap-tx-gso", "mmap-tx-v3", unpaced, both),
        ("xdp-tx", "udp-tx-gso", unpaced, both),
    ];
    for (a, b, phase, fates) in pairs {
        for &fate in fates {
            for rate in rates(rows, phase) {
                if let Some((m, lo, hi)) = pair_ratio(rows, phase, fate, &rate, a, b) {
                    let _ = writeln!(
                        md,
                        "| {a} / {b} | {phase} {rate}, {fate} | {m:.2} | {lo:.2}–{hi:.2} |"
                    );
                }
            }
        }
    }
    // Paced against unpaced, per tool (both with packets consumed at ingress), by arrival
    // rate and by the rate kept over the sender's whole run.
    let paced_rates = rates(rows, "send-paced");
    if !paced_rates.is_empty() {
        let _ = writeln!(
            md,
            "\n### Paced against unpaced (medians, ingress-drop)\n\n| tool | paced at | arrival pps paced / unpaced | received per sender wall s, paced / unpaced arrival pps |\n|---|---|---|---|"
        );
    }
    for rate in paced_rates {
        for tool in Sender::ALL.map(Sender::name) {
            let of = |phase: &'static str, rate: Option<String>| {
                group(rows, phase, Fate::IngressDrop).filter(move |r| {
                    r.tool == tool && rate.as_ref().is_none_or(|x| &r.requested_rate == x)
                })
            };
            let unpaced = stats(of("send-unpaced", None).filter_map(|r| r.pps).collect());
            let paced = stats(
                of("send-paced", Some(rate.clone()))
                    .filter_map(|r| r.pps)
                    .collect(),
            );
            let kept = stats(
                of("send-paced", Some(rate.clone()))
                    .filter_map(|r| Some(r.received? as f64 / r.tx_wall_s?))
                    .collect(),
            );
            if let (Some((u, _, _)), Some((p, _, _)), Some((k, _, _))) = (unpaced, paced, kept) {
                let _ = writeln!(md, "| {tool} | {rate} | {:.2} | {:.2} |", p / u, k / u);
            }
        }
    }
    md.push_str(&capacity_summary(rows));
    md
}

/// The requested rates of a phase, in order of appearance.
fn rates(rows: &[BenchRow], phase: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for r in rows.iter().filter(|r| r.phase == phase) {
        if !v.contains(&r.requested_rate) {
            v.push(r.requested_rate.clone());
        }
    }
    v
}

/// A receiver's capacity, as far as the capacity phase could tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// The highest requested rate at which every run lost nothing and the kernel dropped
    /// nothing (every lower rate clean too).
    pub rate: String,
    /// The median received rate there.
    pub received_pps: f64,
    /// True if no rate tried lost anything: the receiver took all it was offered, so its
    /// capacity is at least `received_pps` and the sender was the limit.
    pub at_least: bool,
}

/// Each receiver's capacity: the highest clean rate below the first that lost anything.
pub fn capacity(rows: &[BenchRow], receiver: &str) -> Option<Capacity> {
    let mut best: Option<Capacity> = None;
    let all = rates(rows, "capacity");
    for (i, rate) in all.iter().enumerate() {
        let runs: Vec<&BenchRow> = rows
            .iter()
            .filter(|r| r.phase == "capacity" && r.tool == receiver && &r.requested_rate == rate)
            .collect();
        let clean = !runs.is_empty()
            && runs
                .iter()
                .all(|r| r.status == Status::Ok && r.lost == Some(0) && r.kernel_drops == Some(0));
        if !clean {
            break;
        }
        best = Some(Capacity {
            rate: rate.clone(),
            received_pps: stats(runs.iter().filter_map(|r| r.pps).collect()).map_or(0.0, |s| s.0),
            at_least: i + 1 == all.len(),
        });
    }
    best
}

fn capacity_summary(rows: &[BenchRow]) -> String {
    if !rows.iter().any(|r| r.phase == "capacity") {
        return String::new();
    }
    let rps = rows.iter().any(|r| r.phase == "capacity" && r.rps);
    let mut md = format!(
        "\n### Receive capacity (RPS {}): highest offered rate with nothing lost\n\n| receiver | requested | runs | mmap-tx achieved pps (median) | received pps (median) | lost (max) | kernel drops (max) | rx CPU s / M pkt |\n|---|---|---|---|---|---|---|---|\n",
        if rps { "on" } else { "off" }
    );
    for receiver in Receiver::ALL {
        for rate in rates(rows, "capacity") {
            let runs: Vec<&BenchRow> = rows
                .iter()
                .filter(|r| {
                    r.phase == "capacity" && r.tool == receiver.name() && r.requested_rate == rate
                })
                .collect();
            let pps = stats(runs.iter().filter_map(|r| r.pps).collect());
            let offered = stats(runs.iter().filter_map(|r| r.offered_pps).collect());
            let per_m = stats(runs.iter().filter_map(|r| r.rx_cpu_s_per_mpkt).collect());
            let _ = writeln!(
                md,
                "| {receiver} | {rate} | {} | {} | {} | {} | {} | {} |",
                runs.len(),
                offered.map_or("-".into(), |(m, _, _)| format!("{m:.0}")),
                pps.map_or("-".into(), |(m, _, _)| format!("{m:.0}")),
                runs.iter()
                    .filter_map(|r| r.lost)
                    .max()
                    .map_or("-".into(), |v| v.to_string()),
                runs.iter()
                    .filter_map(|r| r.kernel_drops)
                    .max()
                    .map_or("-".into(), |v| v.to_string()),
                per_m.map_or("-".into(), |(m, _, _)| format!("{m:.2}")),
            );
        }
    }
    for receiver in Receiver::ALL {
        let verdict = match capacity(rows, receiver.name()) {
            None => "below the lowest rate tried".to_string(),
            Some(c) if c.at_least => format!(
                "at least {:.0} pps: nothing lost at any rate tried (up to {}); the sender was the limit",
                c.received_pps, c.rate
            ),
            Some(c) => format!(
                "{:.0} pps received with nothing lost at {} requested; the next rate lost packets",
                c.received_pps, c.rate
            ),
        };
        let _ = writeln!(md, "\n**{receiver} capacity: {verdict}**");
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(phase: &str, fate: Fate, tool: &str, rep: u32, pps: f64) -> BenchRow {
        BenchRow {
            phase: phase.into(),
            fate,
            tool: tool.into(),
            repetition: rep,
            pps: Some(pps),
            status: Status::Ok,
            requested_rate: "max".into(),
            ..BenchRow::default()
        }
    }

    #[test]
    fn ratios_pair_runs_of_the_same_repetition() {
        let rows = vec![
            row("send-unpaced", Fate::Socket, "mmap-tx-v3", 1, 300.0),
            row("send-unpaced", Fate::Socket, "udp-tx", 1, 100.0),
            row("send-unpaced", Fate::Socket, "mmap-tx-v3", 2, 200.0),
            row("send-unpaced", Fate::Socket, "udp-tx", 2, 200.0),
            row("send-unpaced", Fate::Socket, "mmap-tx-v3", 3, 400.0),
            row("send-unpaced", Fate::Socket, "udp-tx", 3, 200.0),
            // Another table and a failed run take no part.
            row("send-unpaced", Fate::IngressDrop, "udp-tx", 1, 1.0),
            BenchRow {
                status: Status::Failed,
                ..row("send-unpaced", Fate::Socket, "udp-tx", 4, 1.0)
            },
            row("send-unpaced", Fate::Socket, "mmap-tx-v3", 4, 900.0),
        ];
        let (m, lo, hi) = pair_ratio(
            &rows,
            "send-unpaced",
            Fate::Socket,
            "max",
            "mmap-tx-v3",
            "udp-tx",
        )
        .expect("three paired repetitions");
        assert_eq!((m, lo, hi), (2.0, 1.0, 3.0));
        assert!(pair_ratio(
            &rows,
            "send-paced",
            Fate::Socket,
            "max",
            "mmap-tx-v3",
            "udp-tx"
        )
        .is_none());
        assert!(pair_ratio(
            &rows,
            "send-unpaced",
            Fate::Socket,
            "1pps",
            "mmap-tx-v3",
            "udp-tx"
        )
        .is_none());
    }

    #[test]
    fn the_summary_shows_medians_and_ratios() {
        let mut rows = Vec::new();
        for (rep, (a, b)) in [(1, (500.0, 250.0)), (2, (480.0, 240.0))] {
            rows.push(row("send-unpaced", Fate::IngressDrop, "mmap-tx-v3", rep, a));
            rows.push(row("send-unpaced", Fate::IngressDrop, "trafgen", rep, b));
        }
        let md = summary(&rows);
        assert!(
            md.contains("| mmap-tx-v3 | max | 2 | 490 | 480–500 |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| mmap-tx-v3 / trafgen | send-unpaced max, ingress-drop | 2.00 | 2.00–2.00 |"
            ),
            "{md}"
        );
    }

    #[test]
    fn capacity_is_the_highest_clean_rate_below_the_first_loss() {
        let run = |tool: &str, rate: &str, rep: u32, lost: u64, drops: u64| BenchRow {
            phase: "capacity".into(),
            tool: tool.into(),
            requested_rate: rate.into(),
            repetition: rep,
            lost: Some(lost),
            kernel_drops: Some(drops),
            status: Status::Ok,
            ..BenchRow::default()
        };
        let rows = vec![
            run("mmap-rx", "100pps", 1, 0, 0),
            run("mmap-rx", "100pps", 2, 0, 0),
            run("mmap-rx", "200pps", 1, 0, 0),
            run("mmap-rx", "200pps", 2, 0, 3),
            // Clean again at a higher rate: luck, not capacity.
            run("mmap-rx", "300pps", 1, 0, 0),
            run("udp-rx", "100pps", 1, 5, 5),
        ];
        let c = capacity(&rows, "mmap-rx").expect("clean at 100pps");
        assert_eq!((c.rate.as_str(), c.at_least), ("100pps", false));
        assert_eq!(capacity(&rows, "udp-rx"), None);
        let clean_to_the_top = vec![run("mmap-rx", "100pps", 1, 0, 0)];
        assert!(capacity(&clean_to_the_top, "mmap-rx").unwrap().at_least);
        assert!(summary(&rows).contains("**udp-rx capacity: below the lowest rate tried**"));
    }
}
