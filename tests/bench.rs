//! `pktmmap bench` end to end with tiny counts: every table is written, every run accounted
//! for; an interrupted benchmark keeps what it measured. A functional test only: the benchmark's numbers are not asserted (that is what the
//! benchmark itself is for). Needs root; trafgen and iperf3 take part where installed
//! (.ci/run installs them).

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{leftovers, network_test, running, text, tmp, Spawned, PKTMMAP};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use pktmmap::experiment::bench::BenchRow;
use pktmmap::experiment::plan::kinds::Status;

#[test]
fn the_benchmark_runs_every_table_and_accounts_for_every_packet() {
    let Some(_g) = network_test() else {
        return;
    };
    let out = tmp("bench");
    let o = Command::new(PKTMMAP)
        .args([
            "bench",
            "--count",
            "3000",
            "--repetitions",
            "1",
            "--paced-rate",
            "100kpps",
            "--receiver-rate",
            "50kpps",
            "--phases",
            "send,receive,capacity",
            "--capacity-rates",
            "20kpps,40kpps",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    // experiments/install-deps installs trafgen, iperf3 and DPDK: every sender takes part
    // (testpmd in the two unpaced tables only).
    assert!(!stderr.contains("is not installed"), "{stderr}");
    let mut csv = csv::Reader::from_path(out.join("bench-v1.csv")).unwrap();
    let rows: Vec<BenchRow> = csv.deserialize().map(|r| r.unwrap()).collect();
    // 9 paced senders in 3 tables, testpmd's 2 in 2; 5 receivers at 2 rates in the 2 receive
    // phases (offered plain frames and GSO super-packets) and at 2 capacity rates.
    assert_eq!(rows.len(), 3 * 9 + 2 * 2 + 5 * 2 * 2 + 5 * 2, "{rows:#?}");
    for tool in ["udp-tx-gso", "mmap-tx-gso"] {
        assert_eq!(rows.iter().filter(|r| r.tool == tool).count(), 3, "{tool}");
    }
    for receiver in ["udp-rx-gro", "udp-rx-mmsg"] {
        assert_eq!(
            rows.iter()
                .filter(|r| r.tool == receiver && r.phase == "receive-gso")
                .count(),
            2,
            "{receiver}"
        );
    }
    let testpmd = |r: &&BenchRow| r.tool.starts_with("testpmd-");
    assert_eq!(rows.iter().filter(testpmd).count(), 4);
    assert!(
        rows.iter()
            .filter(testpmd)
            .all(|r| r.phase == "send-unpaced"),
        "testpmd has no rate: {rows:#?}"
    );
    for r in &rows {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let received = r.received.unwrap();
        if testpmd(&r) {
            // It sends until the meter has the count (the meter stops at its first look
            // after that, and its rate covers all it took); what it sent, and so loss, is not
            // known.
            assert!(received >= 3000, "{r:?}");
            assert_eq!((r.sent, r.lost), (None, None), "{r:?}");
            assert!(r.pps.unwrap() > 0.0 && r.tx_cpu_s.unwrap() > 0.0, "{r:?}");
            continue;
        }
        // iperf3 adds its own small UDP handshake datagrams to the port.
        if r.tool == "iperf3" {
            assert!((3000..3010).contains(&received), "{r:?}");
        } else {
            // Two independent counts: what the meter received and what the kernel dropped
            // (its figure holds the host-wide backlogs, so it bounds from above).
            assert!(
                received <= 3000 && received + r.kernel_drops.unwrap() >= 3000,
                "every packet received or a counted drop: {r:?}"
            );
            assert_eq!(r.lost, Some(r.kernel_drops.unwrap().min(3000)), "{r:?}");
        }
        if r.phase.starts_with("send") {
            assert_eq!(
                r.lost.unwrap_or(0),
                0,
                "the meter sees every sent packet: {r:?}"
            );
        }
    }
    let md = std::fs::read_to_string(out.join("bench.md")).unwrap();
    assert!(
        md.contains("| mmap-tx-v3 / udp-tx | send-unpaced max, ingress-drop |"),
        "{md}"
    );
    assert!(
        md.contains("| mmap-tx-gso / udp-tx-gso | send-unpaced max, ingress-drop |")
            && md.contains("| udp-tx-gso / mmap-tx-v3 | send-unpaced max, socket |"),
        "bypass against the best socket path: {md}"
    );
    assert!(
        md.contains("| xdp-tx / testpmd-af_xdp | send-unpaced max, ingress-drop |")
            && md.contains("| mmap-tx-v3 / testpmd-af_packet | send-unpaced max, socket |"),
        "{md}"
    );
    assert!(
        !std::path::Path::new("/var/run/dpdk/pktmmap-bench").exists(),
        "testpmd's runtime directory is removed"
    );
    // bench-table rewrites the same report from the CSV alone.
    std::fs::remove_file(out.join("bench.md")).unwrap();
    let o = Command::new(PKTMMAP)
        .args(["bench-table", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(out.join("bench.md")).unwrap(), md);
    let _ = std::fs::remove_dir_all(&out);
    // With --rps the receiving softirq moves to the receiver's core, and the rows say so.
    let out = tmp("bench-rps");
    let o = Command::new(PKTMMAP)
        .args(["bench", "--rps", "--count", "2000", "--repetitions", "1"])
        .args(["--phases", "capacity", "--capacity-rates", "20kpps"])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut csv = csv::Reader::from_path(out.join("bench-v1.csv")).unwrap();
    let rows: Vec<BenchRow> = csv.deserialize().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 5, "every receiver at one rate: {rows:#?}");
    for r in &rows {
        assert!(r.rps && r.status == Status::Ok, "{r:?}");
        assert_eq!(r.received, Some(2000 - r.lost.unwrap()), "{r:?}");
        assert!(r.lost.unwrap() <= r.kernel_drops.unwrap(), "{r:?}");
    }
    assert_eq!(leftovers(), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn an_interrupted_benchmark_keeps_what_it_measured_as_a_partial_row() {
    let Some(_g) = network_test() else {
        return;
    };
    // A sender of ours (it says what it sent) and testpmd (it does not), each interrupted as
    // Ctrl-C would (SIGINT to the whole process group) while sending a 20 M-packet row, once
    // 10,000 frames have reached the receiving veth (testpmd's start-up alone has taken from
    // one to several seconds).
    for (sender, program) in [
        ("mmap-tx-v3", "mmap-tx"),
        ("testpmd-af_packet", "dpdk-testpmd"),
    ] {
        let out = tmp(&format!("bench-int-{program}"));
        let child = Spawned::pktmmap(
            Command::new(PKTMMAP)
                .args(["bench", "--count", "20000000", "--repetitions", "1"])
                .args([
                    "--phases",
                    "send",
                    "--senders",
                    sender,
                    "--paced-rate",
                    "100kpps",
                ])
                .arg("--out")
                .arg(&out),
        );
        let by = Instant::now() + Duration::from_secs(60);
        while !running(program) {
            assert!(Instant::now() < by, "the benchmark never started {program}");
            std::thread::sleep(Duration::from_millis(20));
        }
        while received_on_the_veth() < 10_000 {
            assert!(Instant::now() < by, "{program} never sent");
            std::thread::sleep(Duration::from_millis(20));
        }
        kill(Pid::from_raw(-(child.id() as i32)), Signal::SIGINT).unwrap();
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(130), "{sender}: {}", text(&o));
        let mut csv = csv::Reader::from_path(out.join("bench-v1.csv")).unwrap();
        let rows: Vec<BenchRow> = csv.deserialize().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 1, "the interrupted row alone: {rows:#?}");
        let r = &rows[0];
        assert_eq!(
            (r.status, r.reason.as_str(), r.tool.as_str()),
            (Status::Partial, "interrupted", sender),
            "{r:?}"
        );
        let received = r.received.expect("what the meter counted is kept");
        assert!(received > 0 && received < 20_000_000, "{r:?}");
        assert!(r.pps.is_some_and(|p| p > 0.0), "{r:?}");
        if sender == "testpmd-af_packet" {
            // What testpmd sent is not known, so neither is its loss.
            assert_eq!((r.sent, r.lost), (None, None), "{r:?}");
        } else {
            // Loss counts against what was sent, not against the 20 M asked for.
            let sent = r.sent.expect("mmap-tx's partial summary");
            assert!(
                received <= sent && sent - received <= r.kernel_drops.unwrap(),
                "what the sender said it sent arrived or is a counted drop: {r:?}"
            );
            assert!(r.lost.unwrap() < 20_000_000 - received, "{r:?}");
        }
        assert!(out.join("bench.md").exists(), "the report is written");
        assert!(
            !std::path::Path::new("/var/run/dpdk/pktmmap-bench").exists(),
            "testpmd's runtime directory is removed"
        );
        assert_eq!(leftovers(), Vec::<String>::new());
        let _ = std::fs::remove_dir_all(&out);
    }
}

/// Packets the benchmark's receiving veth (`native`: pkm0 in pktmmap-native-rx) has received,
/// 0 while it does not exist.
fn received_on_the_veth() -> u64 {
    let out = Command::new("ip")
        .args([
            "-n",
            "pktmmap-native-rx",
            "-j",
            "-s",
            "link",
            "show",
            "dev",
            "pkm0",
        ])
        .output()
        .unwrap();
    let links: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    links[0]["stats64"]["rx"]["packets"].as_u64().unwrap_or(0)
}
