//! `pktmmap search` end to end: against a path of known capacity (an nft rate limiter the test
//! puts on the receiving interface, after the native set-up's script brings it up), on the
//! plain native set-up with every trial's frames accounted, and with bad goals refused.
//! Needs root (CI runs it as root); the set-ups are the test's own (`PKTMMAP_NS_PREFIX`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
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
        ],
    );
    let (ndr, pdr) = (goal(&results, "NDR"), goal(&results, "PDR"));
    let (lo, up) = (ndr.lower_bound_pps.unwrap(), ndr.upper_bound_pps.unwrap());
    assert_eq!(
        (ndr.outcome.as_str(), ndr.limited_by.as_str(), ndr.regular),
        ("found", "path", true),
        "{ndr:?}"
    );
    // Within the search's width of the limit: the limit is bracketed (up to the burst's 1 %).
    assert!(lo as f64 >= limit as f64 * (1.0 - ndr.width), "{ndr:?}");
    assert!(lo as f64 <= limit as f64 * 1.01, "{ndr:?}");
    assert!((up - lo) as f64 <= ndr.width * up as f64, "{ndr:?}");
    assert!(up > limit, "{ndr:?}");
    // The PDR may lose 0.5 %: at or above the NDR.
    assert!(pdr.lower_bound_pps.unwrap() >= lo, "{pdr:?} vs {ndr:?}");
    assert_eq!(pdr.max_load_pps, Some(60_000));
    // Every trial accounted: the rows' trial count, and each trial's loss from its counts.
    assert_eq!(trials.len(), ndr.trials, "{trials:?}");
    for t in &trials {
        let (count, unique) = (t.count, t.unique.unwrap());
        assert!(unique <= count, "{t:?}");
        let loss = 1.0 - unique as f64 / count as f64;
        assert!(
            (t.loss_ratio.unwrap() - loss).abs() < 1e-9 || t.generator_short,
            "{t:?}"
        );
        // Trials above the limit lose, trials at or below it lose nothing the limiter took.
        if t.load_pps.unwrap() as f64 > limit as f64 * 1.02 {
            assert!(unique < count, "{t:?}");
        }
    }

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
        // The calibrated maximum is what the unpaced sender achieved on this path.
        let calibration = trials
            .iter()
            .find(|t| t.app == r.app && t.phase == "calibration")
            .unwrap();
        assert_eq!(
            r.max_load_pps,
            calibration.offered_pps.map(|p| p.floor() as u64)
        );
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
    // Every frame of every trial arrived or was dropped where the kernel counted it.
    for t in trials.iter().filter(|t| t.phase == "search") {
        let lost = t.count - t.unique.unwrap();
        assert_eq!(lost, t.kernel_drops.unwrap(), "{t:?}");
    }
    let _ = std::fs::remove_dir_all(&out);
    drop(exp);
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn contradicting_goals_and_bad_options_are_refused_before_anything_runs() {
    let cases: [(&[&str], &str); 6] = [
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
