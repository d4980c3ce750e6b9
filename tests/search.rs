//! `pktmmap search` end to end: against a path of known capacity (an nft rate limiter the test
//! puts on the receiving interface, after the native set-up's script brings it up), on the
//! plain native set-up with every trial's frames accounted, and with bad goals refused.
//! Needs root (CI runs it as root); the set-ups are the test's own (`PKTMMAP_NS_PREFIX`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use pktmmap::experiment::plan::kinds::{App, Family};
use pktmmap::experiment::rows::read_csv_rows;
use pktmmap::experiment::search::{SearchRow, TrialRow, SEARCH_CSV, TRIALS_CSV};

/// A private experiments/ directory whose `native` set-up is the real one plus, when
/// `$PKTMMAP_TEST_LIMIT_PPS` is set, an nft rule on the receiving interface that drops the
/// test flow's packets above that rate (after the packet tap: udp-rx sees only what passes).
struct LimitedExperiments(PathBuf);

impl LimitedExperiments {
    fn new(tag: &str) -> Self {
        let dir = tmp(tag);
        let setups = dir.join("setups");
        std::fs::create_dir_all(&setups).unwrap();
        let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/setups");
        std::fs::copy(real.join("lib.sh"), setups.join("lib.sh")).unwrap();
        let script = format!(
            r#"#!/usr/bin/env bash
set -euo pipefail
real={real}/native.sh
bash "$real" "$@"
if [ "$1" = up ] && [ -n "${{PKTMMAP_TEST_LIMIT_PPS:-}}" ]; then
  rx=$(bash "$real" env | sed -n 's/^RX_NS=//p')
  ip netns exec "$rx" nft -f - <<EOF
table netdev pktmmap_test_limit {{
 chain ingress {{
  type filter hook ingress device "pkm0" priority 0; policy accept;
  udp dport 9000 limit rate over $PKTMMAP_TEST_LIMIT_PPS/second burst 200 packets drop
 }}
}}
EOF
fi
"#,
            real = real.display()
        );
        std::fs::write(setups.join("native.sh"), script).unwrap();
        LimitedExperiments(dir)
    }

    /// Runs `pktmmap --experiments DIR search ARGS` with the limiter at `limit` pps (none:
    /// off) and the test's own namespace prefix; it must succeed. Its result and trial rows.
    fn search(
        &self,
        limit: Option<u64>,
        out: &Path,
        args: &[&str],
    ) -> (Vec<SearchRow>, Vec<TrialRow>) {
        let o = self
            .native(limit)
            .args(["--experiments", self.0.to_str().unwrap(), "search"])
            .args(args)
            .args(["--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        rows(out)
    }

    /// `pktmmap` with the limiter at `limit` pps and the test's namespace prefix.
    fn native(&self, limit: Option<u64>) -> Command {
        let mut c = Command::new(PKTMMAP);
        c.env("PKTMMAP_NS_PREFIX", "pktmmap-search")
            .env_remove("PKTMMAP_TEST_LIMIT_PPS");
        if let Some(l) = limit {
            c.env("PKTMMAP_TEST_LIMIT_PPS", l.to_string());
        }
        c
    }

    /// Brings the (limited) native set-up up itself; where its two sides are, read with the
    /// runner's own parser.
    fn up(&self, limit: Option<u64>) -> pktmmap::experiment::place::setup::SetupEnv {
        let script = self.0.join("setups/native.sh");
        let run = |verb: &str| {
            let o = Command::new("bash")
                .arg(&script)
                .arg(verb)
                .env("PKTMMAP_NS_PREFIX", "pktmmap-search")
                .envs(limit.map(|l| ("PKTMMAP_TEST_LIMIT_PPS", l.to_string())))
                .output()
                .unwrap();
            assert!(o.status.success(), "native.sh {verb}: {}", text(&o));
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        run("up");
        pktmmap::experiment::place::setup::parse_env(&run("env")).unwrap()
    }
}

impl Drop for LimitedExperiments {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .args([self.0.join("setups/native.sh").to_str().unwrap(), "down"])
            .env("PKTMMAP_NS_PREFIX", "pktmmap-search")
            .output();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rows(out: &Path) -> (Vec<SearchRow>, Vec<TrialRow>) {
    (
        read_csv_rows(out, SEARCH_CSV).unwrap(),
        read_csv_rows(out, TRIALS_CSV).unwrap(),
    )
}

/// Every frame of every trial after the calibration arrived or was dropped where the kernel
/// (or a link) counted it.
fn every_frame_accounted(trials: &[TrialRow]) {
    for t in trials.iter().filter(|t| t.phase != "calibration") {
        let lost = t.count - t.unique.unwrap();
        assert_eq!(
            lost,
            t.kernel_drops.unwrap() + t.link_drops.expect("read on every trial"),
            "{t:?}"
        );
    }
}

fn goal<'a>(rows: &'a [SearchRow], name: &str) -> &'a SearchRow {
    rows.iter()
        .find(|r| r.goal == name)
        .unwrap_or_else(|| panic!("no {name} row: {rows:?}"))
}

#[test]
fn the_search_finds_the_rate_a_limiter_lets_through_and_that_rate_loses_nothing() {
    let Some(_g) = network_test() else {
        return;
    };
    let limit = 20_000u64;
    let exp = LimitedExperiments::new("search-limit");
    let out = tmp("search-limit-out");
    // 1 s trials, 2 s per bound: the limiter's 200-packet burst is 1 % of a trial at the limit.
    // Over IPv4, then over IPv6 (the limiter's `udp dport` matches both): each finds it.
    let (results, trials) = exp.search(
        Some(limit),
        &out,
        &[
            "--setup",
            "native",
            "--app",
            "udp",
            "--preset",
            "quick",
            "--trial",
            "1",
            "--duration-sum",
            "2",
            "--max-rate",
            "60kpps",
            "--settle",
            "0",
            "--family",
            "both",
        ],
    );
    assert_eq!(results.len(), 4, "two families x two goals: {results:?}");
    let mut ndr_v4 = 0;
    for family in [Family::V4, Family::V6] {
        let results: Vec<SearchRow> = results
            .iter()
            .filter(|r| r.family == family)
            .cloned()
            .collect();
        // The search's own trials (the latency trials after it are checked elsewhere).
        let trials: Vec<&TrialRow> = trials
            .iter()
            .filter(|t| t.family == family && t.phase == "search")
            .collect();
        let (ndr, pdr) = (goal(&results, "NDR"), goal(&results, "PDR"));
        let (lo, up) = (ndr.lower_bound_pps.unwrap(), ndr.upper_bound_pps.unwrap());
        assert_eq!(
            (ndr.outcome.as_str(), ndr.limited_by.as_str(), ndr.regular),
            ("found", "path", true),
            "{ndr:?}"
        );
        // 64-byte payloads: 110-byte frames over IPv4, 130 over IPv6 (FCS included).
        let frame = if family == Family::V4 { 110 } else { 130 };
        assert_eq!((ndr.size, ndr.frame_bytes), (64, frame), "{ndr:?}");
        // Within the search's width of the limit: the limit is bracketed (up to the burst's
        // 1 %).
        assert!(lo as f64 >= limit as f64 * (1.0 - ndr.width), "{ndr:?}");
        assert!(lo as f64 <= limit as f64 * 1.01, "{ndr:?}");
        assert!((up - lo) as f64 <= ndr.width * up as f64, "{ndr:?}");
        assert!(up > limit, "{ndr:?}");
        // The PDR may lose 0.5 %: at or above the NDR.
        assert!(pdr.lower_bound_pps.unwrap() >= lo, "{pdr:?} vs {ndr:?}");
        assert_eq!(pdr.max_load_pps, Some(60_000));
        // Every trial accounted: the rows' trial count, and each trial's loss from its
        // counts.
        assert_eq!(trials.len(), ndr.trials, "{trials:?}");
        for t in &trials {
            let (count, unique) = (t.count, t.unique.unwrap());
            assert!(unique <= count, "{t:?}");
            let loss = 1.0 - unique as f64 / count as f64;
            assert!(
                (t.loss_ratio.unwrap() - loss).abs() < 1e-9 || t.generator_short,
                "{t:?}"
            );
            // Trials above the limit lose, trials at or below it lose nothing the limiter
            // took.
            if t.load_pps.unwrap() as f64 > limit as f64 * 1.02 {
                assert!(unique < count, "{t:?}");
            }
        }
        if family == Family::V4 {
            ndr_v4 = lo;
        }
    }
    let md = std::fs::read_to_string(out.join("search.md")).unwrap();
    for heading in ["### native (veth", "### native ipv6 (veth"] {
        assert_eq!(md.matches(heading).count(), 1, "{heading}: {md}");
    }
    let lo = ndr_v4;

    // The NDR again, with the tools directly: one second at the NDR through the limiter
    // loses nothing.
    let env = exp.up(Some(limit));
    let (tx_ns, rx_ns) = (env.tx_ns.as_str(), env.rx_ns.as_str());
    let count = lo.to_string();
    let rate = format!("{lo}pps");
    let r = Receiver::start(
        rx_ns,
        UDP_RX,
        &[
            "--count",
            &count,
            "--idle-timeout",
            "2",
            "--cpu",
            "1",
            "--json",
        ],
    );
    let t = send(
        tx_ns,
        UDP_TX,
        &[
            "--dst-ip", &env.rx_ip, "--count", &count, "--rate", &rate, "--cpu", "0", "--json",
        ],
    );
    let (_, r) = r.finish();
    assert_eq!(
        (t.sent, r.counts.unique),
        (lo, lo),
        "at the NDR {lo} pps: {r:?}"
    );

    // A limiter below the lowest load: lossy at the minimum load, no lower bound (not 0 pps).
    let out2 = tmp("search-lossy-out");
    let (results, _) = exp.search(
        Some(500),
        &out2,
        &[
            "--setup",
            "native",
            "--app",
            "udp",
            "--preset",
            "quick",
            "--max-rate",
            "50kpps",
            "--min-load-fraction",
            "0.1",
            "--settle",
            "0",
        ],
    );
    for r in &results {
        assert_eq!(r.outcome, "lossy-at-min-load", "{r:?}");
        assert_eq!(
            (r.lower_bound_pps, r.upper_bound_pps),
            (None, Some(5_000)),
            "{r:?}"
        );
        assert_eq!(r.limited_by, "path");
    }
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&out2);
    drop(exp);
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// RFC 2544 26.3 and 26.2 after the search: the loss-rate curve steps down from the maximum
/// load in 10 % steps and its losses are the limiter's (1 - limit / load), ending after two
/// loss-free trials; the latency trials run at the asked fractions of the PDR's lower bound,
/// lose nothing there and time every probe.
#[test]
fn the_loss_curve_follows_a_limiter_down_and_latency_is_timed_below_the_bound() {
    let Some(_g) = network_test() else {
        return;
    };
    let limit = 20_000u64;
    let exp = LimitedExperiments::new("search-curve");
    let out = tmp("search-curve-out");
    let (results, trials) = exp.search(
        Some(limit),
        &out,
        &[
            "--setup",
            "native",
            "--app",
            "udp",
            "--preset",
            "quick",
            "--trial",
            "1",
            "--duration-sum",
            "2",
            "--max-rate",
            "40kpps",
            "--settle",
            "0",
            "--latency-at",
            "50,90",
            "--loss-curve",
        ],
    );
    let pdr = goal(&results, "PDR");
    let bound = pdr.lower_bound_pps.expect("a PDR lower bound");
    let curve: Vec<&TrialRow> = trials.iter().filter(|t| t.phase == "loss-curve").collect();
    // 40k, 36k, ... down to the second loss-free trial.
    for (i, t) in curve.iter().enumerate() {
        let fraction = 1.0 - 0.1 * i as f64;
        assert!((t.fraction.unwrap() - fraction).abs() < 1e-9, "{t:?}");
        assert_eq!(
            t.load_pps,
            Some((40_000.0 * fraction).round() as u64),
            "{t:?}"
        );
        let load = t.load_pps.unwrap() as f64;
        let loss = t.loss_ratio.expect("every curve trial measured");
        if load > limit as f64 * 1.05 {
            // The limiter passes its rate (plus its 200-packet burst) of each second.
            let expected = 1.0 - limit as f64 / load;
            assert!((loss - expected).abs() < 0.03, "{expected}: {t:?}");
        }
    }
    assert!(curve.len() >= 7, "40k to 16k at least: {curve:?}");
    let n = curve.len();
    assert_eq!(
        (curve[n - 2].loss_ratio, curve[n - 1].loss_ratio),
        (Some(0.0), Some(0.0)),
        "the curve ends with two trials without loss: {curve:?}"
    );
    assert!(
        curve[..n - 1]
            .windows(2)
            .all(|w| w[0].loss_ratio != Some(0.0) || w[1].loss_ratio != Some(0.0)),
        "it stops at the first two loss-free trials in a row: {curve:?}"
    );
    let latency: Vec<&TrialRow> = trials.iter().filter(|t| t.phase == "latency").collect();
    assert_eq!(latency.len(), 2, "{latency:?}");
    for (t, fraction) in latency.iter().zip([0.5, 0.9]) {
        assert_eq!(
            (t.goal.as_str(), t.fraction, t.load_pps),
            (
                "PDR",
                Some(fraction),
                Some((bound as f64 * fraction).round() as u64)
            ),
            "{t:?}"
        );
        // Below the limit nothing is lost, and udp-rx times every datagram by the kernel's
        // timestamp.
        assert_eq!(t.unique, Some(t.count), "{t:?}");
        assert_eq!(t.latency_samples, Some(t.count), "{t:?}");
        let order = [
            t.latency_min_ns,
            t.latency_p50_ns,
            t.latency_p90_ns,
            t.latency_p99_ns,
            t.latency_p99_9_ns,
            t.latency_max_ns,
        ];
        assert!(order.iter().all(Option::is_some), "{t:?}");
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "{t:?}");
    }
    let md = std::fs::read_to_string(out.join("search.md")).unwrap();
    assert!(
        md.contains("One-way latency at fractions of the PDR lower bound")
            && md.contains("\n| udp | 110 | 1 | 50 % |")
            && md.contains("\n| udp | 110 | 1 | 90 % |"),
        "{md}"
    );
    assert!(
        md.contains("Frame loss rate (RFC 2544 26.3")
            && md.contains("\n| udp | 110 | 1 | 100 % | 40.0 |"),
        "{md}"
    );
    // The report of a directory of search results only: the RFC 2544 section, with the
    // latency at 50 and 90 % of the PDR in the app's row, the throughput chart and the
    // loss-rate chart.
    let o = pktmmap(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<h3 id=\"rfc2544-native\">native (veth, netns engine)</h3>"));
    let us = |t: &TrialRow| {
        format!(
            "{:.1} / {:.1}",
            t.latency_p50_ns.unwrap() as f64 / 1e3,
            t.latency_p99_ns.unwrap() as f64 / 1e3
        )
    };
    assert!(
        page.contains(&format!(
            "<td>{}</td><td>{}</td></tr>",
            us(latency[0]),
            us(latency[1])
        )),
        "{page}"
    );
    assert_eq!(page.matches("<svg").count(), 2, "{page}");
    let _ = std::fs::remove_dir_all(&out);
    drop(exp);
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn a_quick_search_on_the_native_set_up_accounts_for_every_frame() {
    let Some(_g) = network_test() else {
        return;
    };
    let exp = LimitedExperiments::new("search-native");
    let out = tmp("search-native-out");
    let (results, trials) = exp.search(
        None,
        &out,
        &[
            "--setup",
            "native",
            "--app",
            "mmap,udp",
            "--preset",
            "quick",
            "--calibration-count",
            "200000",
            "--settle",
            "0",
        ],
    );
    assert_eq!(results.len(), 4, "two apps x two goals: {results:?}");
    for r in &results {
        assert_eq!(
            r.status,
            pktmmap::experiment::plan::kinds::Status::Ok,
            "{r:?}"
        );
        assert!(
            ["found", "at-max-load"].contains(&r.outcome.as_str()),
            "{r:?}"
        );
        // The calibration: one unpaced run, then paced runs from its rate down, each at what
        // the last sustained, until the sender keeps up within 1 % (three at most); the
        // maximum is the last load, never above the unpaced rate.
        let calibration: Vec<&TrialRow> = trials
            .iter()
            .filter(|t| t.app == r.app && t.phase == "calibration")
            .collect();
        assert!((2..=4).contains(&calibration.len()), "{calibration:?}");
        let unpaced = calibration[0].offered_pps.unwrap().floor() as u64;
        assert_eq!(calibration[0].load_pps, None);
        assert_eq!(calibration[1].load_pps, Some(unpaced), "{calibration:?}");
        for w in calibration[1..].windows(2) {
            assert_eq!(
                w[1].load_pps,
                Some(w[0].offered_pps.unwrap().floor() as u64),
                "each next at what the last sustained: {calibration:?}"
            );
        }
        let last = calibration.last().unwrap();
        let sustained = last.offered_pps.unwrap() >= 0.99 * last.load_pps.unwrap() as f64;
        assert!(sustained || calibration.len() == 4, "{calibration:?}");
        let expected = if sustained {
            last.load_pps.unwrap()
        } else {
            last.offered_pps.unwrap().floor() as u64
        };
        assert_eq!(r.max_load_pps, Some(expected), "{calibration:?}");
        assert!(expected <= unpaced);
        assert!(r.lower_bound_pps.unwrap() <= r.max_load_pps.unwrap());
        if r.outcome == "at-max-load" {
            assert_eq!(r.limited_by, "generator");
        }
    }
    // The table: a row per app under the set-up's heading.
    let md = std::fs::read_to_string(out.join("search.md")).unwrap();
    assert!(
        md.contains("### native (veth, netns engine), preset quick"),
        "{md}"
    );
    assert!(
        md.contains("\n| mmap | 110 | 1 |") && md.contains("\n| udp | 110 | 1 |"),
        "{md}"
    );
    // The latency trials (10, 50 and 90 % of the PDR by default) time every probe that
    // arrived: mmap-rx and udp-rx by the kernel's receive timestamp.
    for app in [App::Mmap, App::Udp] {
        let latency: Vec<&TrialRow> = trials
            .iter()
            .filter(|t| t.app == app && t.phase == "latency")
            .collect();
        let fractions: Vec<Option<f64>> = latency.iter().map(|t| t.fraction).collect();
        assert_eq!(fractions, [Some(0.1), Some(0.5), Some(0.9)], "{latency:?}");
        for t in latency {
            assert_eq!(t.latency_samples, t.unique, "{t:?}");
            assert!(t.latency_min_ns <= t.latency_p50_ns, "{t:?}");
        }
    }
    assert!(md.contains("| mmap | 110 | 1 | 10 % |"), "{md}");
    every_frame_accounted(&trials);
    let _ = std::fs::remove_dir_all(&out);
    drop(exp);
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// README, "Frame sizes and IMIX": `--size imix` searches the simple IMIX like a frame size:
/// its rows carry `size_mix` and its mean frame (357 B over IPv4), every trial's frames are
/// accounted, and the table names it.
#[test]
fn an_imix_search_accounts_for_every_frame_and_names_the_mix() {
    let Some(_g) = network_test() else {
        return;
    };
    let exp = LimitedExperiments::new("search-imix");
    let out = tmp("search-imix-out");
    let (results, trials) = exp.search(
        None,
        &out,
        &[
            "--setup",
            "native",
            "--app",
            "xdp,udp",
            "--size",
            "imix",
            "--preset",
            "quick",
            "--latency-at",
            "50",
            "--busy-poll",
            "50",
            "--calibration-count",
            "100000",
            "--settle",
            "0",
        ],
    );
    assert_eq!(results.len(), 4, "two apps x two goals: {results:?}");
    for r in &results {
        assert_eq!(
            r.status,
            pktmmap::experiment::plan::kinds::Status::Ok,
            "{r:?}"
        );
        // (7 x 70 + 4 x 570 + 1518) / 12 = 357.33 B, FCS included; 311 B of mean payload.
        assert_eq!(
            (r.size_mix.as_str(), r.size, r.frame_bytes),
            ("imix", 311, 357),
            "{r:?}"
        );
        assert!(r.lower_bound_pps.unwrap() > 0, "{r:?}");
    }
    assert!(!trials.is_empty());
    assert!(trials.iter().all(|t| t.size_mix == "imix"), "{trials:?}");
    every_frame_accounted(&trials);
    // `--busy-poll 50`: xdp's latency trial again with xdp-rx busy polling; udp-rx cannot.
    let latency = |app: App| -> Vec<Option<u32>> {
        trials
            .iter()
            .filter(|t| t.app == app && t.phase == "latency")
            .map(|t| t.busy_poll_us)
            .collect()
    };
    assert_eq!(latency(App::Xdp), [None, Some(50)]);
    assert_eq!(latency(App::Udp), [None]);
    let md = std::fs::read_to_string(out.join("search.md")).unwrap();
    assert!(
        md.contains("| xdp | imix (mean 357) | 1 | 50 % | 50 |"),
        "{md}"
    );
    assert!(md.contains("\n| xdp | imix (mean 357) | 1 |"), "{md}");
    assert!(md.contains("\n| udp | imix (mean 357) | 1 |"), "{md}");
    let _ = std::fs::remove_dir_all(&out);
    drop(exp);
    assert_eq!(leftovers(), Vec::<String>::new());
}

/// README, "Frame sizes": a size the set-up's MTU cannot carry (the overlay's 1450 and the
/// 1518-byte frame, and so the IMIX) is a `skipped` row naming the MTU, not a failed search;
/// the sizes that fit are searched.
#[test]
fn sizes_the_set_ups_mtu_cannot_carry_are_skipped_with_the_reason() {
    let Some(_g) = network_test() else {
        return;
    };
    let out = tmp("search-mtu-out");
    let o = pktmmap(&[
        "search",
        "--out",
        out.to_str().unwrap(),
        "--setup",
        "overlay",
        "--app",
        "udp",
        "--size",
        "466,1472,imix",
        "--preset",
        "quick",
        "--latency-at",
        "none",
        "--calibration-count",
        "50000",
        "--settle",
        "0",
    ]);
    assert!(
        o.status.success(),
        "skipped rows are no failure: {}",
        text(&o)
    );
    let (results, trials) = rows(&out);
    let status = |size: usize| -> Vec<(String, String)> {
        results
            .iter()
            .filter(|r| r.size == size)
            .map(|r| (r.status.to_string(), r.reason.clone()))
            .collect()
    };
    assert!(status(466).iter().all(|(s, _)| s == "ok"), "{results:?}");
    for size in [1472, 311] {
        let rows = status(size);
        assert_eq!(rows.len(), 1, "one skipped row, no goals: {results:?}");
        assert_eq!(rows[0].0, "skipped");
        assert!(
            rows[0].1.starts_with(
                "the set-up's MTU 1450 carries at most 1422 B of UDP payload over IPv4: 1472 B"
            ),
            "{rows:?}"
        );
    }
    assert!(
        trials.iter().all(|t| t.size == 466),
        "nothing run at the skipped sizes"
    );
    let _ = std::fs::remove_dir_all(&out);
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn contradicting_goals_and_bad_options_are_refused_before_anything_runs() {
    let cases: [(&[&str], &str); 10] = [
        (&["--preset", "fast"], "unknown preset \"fast\""),
        (
            &["--trial", "5", "--duration-sum", "2"],
            "longer than the duration sum",
        ),
        (&["--width", "0"], "width 0 must be above 0"),
        (
            &["--pdr-loss-ratio", "1.5"],
            "PDR: loss ratio 1.5 is outside",
        ),
        (&["--max-rate", "10Mbps"], "give packets per second"),
        (&["--size", "10"], "below the 24 B probe"),
        (
            &["--size", "imix", "--app", "mmap,udp-gso"],
            "--size imix with --app udp-gso",
        ),
        (
            &["--size", "imix,311"],
            "their rows would share a frame size",
        ),
        (&["--latency-at", "50,150"], "--latency-at \"150\""),
        (&["--phase-trial", "0"], "--phase-trial 0"),
    ];
    for (args, says) in cases {
        let mut all = vec!["search"];
        all.extend_from_slice(args);
        let o = pktmmap(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}
