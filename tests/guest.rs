//! The guest harness (experiments/guest): Debian's own kernel under QEMU, where 802.1Q and the
//! OVS kernel datapath exist. Needs root (debootstrap), qemu-system-x86, debootstrap and
//! e2fsprogs; CI installs them and runs this, never skips it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{network_test, tmp};
use pktmmap::experiment::plan::kinds::Status;
use pktmmap::experiment::rows::{read_rows, Row};

fn harness() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/guest/guest.sh")
}

fn guest_run(out: &Path, envs: &[(&str, &str)], command: &[&str]) -> Output {
    Command::new(harness())
        .arg("run")
        .arg(out)
        .args(command)
        .envs(envs.iter().copied())
        .output()
        .expect("run experiments/guest/guest.sh")
}

fn host_links() -> Vec<String> {
    let o = Command::new("ip").args(["-o", "link"]).output().unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split(':').nth(1).map(|n| n.trim().to_string()))
        .collect();
    names.sort();
    names
}

fn read(out: &Path, file: &str) -> String {
    std::fs::read_to_string(out.join(file))
        .unwrap_or_else(|e| panic!("{}: {e}", out.join(file).display()))
        .trim()
        .to_string()
}

/// Every row of a guest run says where it ran: the guest's kernel, and `tcg` when emulated.
fn assert_from_the_guest(rows: &[Row], kernel: &str, accel: &str) {
    let emulated = if accel == "tcg" { "tcg" } else { "" };
    for r in rows {
        assert_eq!(
            (r.kernel.as_str(), r.emulated.as_str()),
            (kernel, emulated),
            "{r:?}"
        );
        assert_ne!(r.git_commit, "unknown", "the guest knows the tools' commit");
    }
}

#[test]
fn the_trunk_tags_and_ovs_runs_on_the_kernel_datapath_in_a_debian_guest() {
    let Some(_g) = network_test() else {
        return;
    };
    let out = tmp("guest");
    let links = host_links();
    let o = guest_run(
        &out,
        &[("PKTMMAP_GUEST_TIMEOUT", "1200")],
        &[
            "bash",
            "../experiments/guest/checks.sh",
            "quick:macvlan-trunk,ovs",
            "emulated:native,bridge,macvlan,macvlan-trunk,ovs",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "guest run failed:\n{stdout}\n{stderr}");
    // The checks, with their exact numbers.
    for line in [
        "CHECK trunk: 1000 of 1000 test frames crossed the trunk tagged with VLAN 100, 0 untagged",
        "CHECK ovs datapath: datapath_type=system, 2 of 2 ports in the kernel datapath",
        "CHECK ovs down: no kernel datapath left",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    let accel = read(&out, "accel");
    let kernel = read(&out, "kernel");
    assert!(matches!(accel.as_str(), "tcg" | "kvm"), "{accel}");
    // The guest ran the kernel the image carries (Debian's, read from its bzImage header),
    // whatever kernel this host runs.
    assert_eq!(
        kernel,
        read(&out, "boot-kernel"),
        "the guest runs the image's kernel"
    );

    // quick: as fast as the emulated CPU goes; the accounting must still be exact.
    let quick = read_rows(&out.join("quick")).unwrap();
    assert_eq!(quick.len(), 24, "2 set-ups x 6 points x 2 apps");
    assert_from_the_guest(&quick, &kernel, &accel);
    for r in &quick {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let want = match r.setup.as_str() {
            "ovs" => "ovs-system",
            "macvlan-trunk" => "macvlan-8021q",
            other => panic!("unexpected set-up {other}"),
        };
        assert_eq!(r.datapath, want, "{r:?}");
        assert_eq!(r.sent, Some(r.count), "{r:?}");
        assert_eq!(r.unique, r.received, "{r:?}");
        assert_eq!(
            r.lost, r.kernel_drops,
            "every loss is a counted drop: {r:?}"
        );
        // The kernel datapath's own counters (lost upcalls) are read on OVS, and only there;
        // the path's interfaces' transmit drops everywhere (pktmmap-idle is in the guest).
        assert_eq!(r.switch_drops.is_some(), r.setup == "ovs", "{r:?}");
        assert!(r.link_drops.is_some() && r.reason.is_empty(), "{r:?}");
    }
    // emulated: paced slowly enough that every packet arrives, on every netns set-up.
    let paced = read_rows(&out.join("emulated")).unwrap();
    assert_eq!(paced.len(), 60, "5 set-ups x 6 points x 2 apps");
    assert_from_the_guest(&paced, &kernel, &accel);
    for r in &paced {
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert_eq!(
            (r.received, r.lost),
            (Some(r.count), Some(0)),
            "exact count at a paced rate: {r:?}"
        );
    }
    // The ratio table refuses emulated rows unless asked.
    let refused = common::pktmmap(&["ratios", out.join("quick").to_str().unwrap()]);
    if accel == "tcg" {
        assert_eq!(refused.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("software emulation"));
        let asked = common::pktmmap(&["ratios", "--emulated", out.join("quick").to_str().unwrap()]);
        assert!(String::from_utf8_lossy(&asked.stdout).contains("ovs [tcg]"));
    }
    assert_eq!(host_links(), links, "the guest touched no host link");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_guest_that_does_not_boot_or_hangs_fails_in_bounded_time_with_its_console_tail() {
    let Some(_g) = network_test() else {
        return;
    };
    let out = tmp("guest-noboot");
    let o = guest_run(
        &out,
        &[
            ("PKTMMAP_GUEST_ACCEL", "tcg"),
            ("PKTMMAP_GUEST_BOOT_WAIT", "2"),
        ],
        &["true"],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(70), "{stderr}");
    assert!(
        stderr.contains("did not reach its init within 2s"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the guest's console, last 40 lines"),
        "{stderr}"
    );

    // A command that hangs inside the guest is cut off after its timeout.
    let o = guest_run(&out, &[("PKTMMAP_GUEST_TIMEOUT", "5")], &["sleep", "600"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(70), "{stderr}");
    assert!(
        stderr.contains("the command did not finish within 5s"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pktmmap-guest: init"),
        "the console tail shows the guest got that far: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
