//! `pktmmap report`: the page a committed results directory gets, opened in a real browser
//! (Debian's headless Chromium): it loads with no console message, every chart is in the DOM,
//! and a screenshot is kept under target/test-artifacts/ for a person to look at.

mod common;

use common::*;
use pktmmap::experiment::search::SEARCH_CSV;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Chromium's headless run of `page`: (the DOM after load, its console lines).
fn chromium(page: &Path, screenshot: Option<&Path>) -> (String, Vec<String>) {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--window-size=1100,2400",
    ]);
    match screenshot {
        Some(s) => c.arg(format!("--screenshot={}", s.display())),
        None => c.arg("--dump-dom"),
    };
    let o = c
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (apt-get install chromium)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let console = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&o.stdout).into_owned(), console)
}

fn copy_csvs(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "csv") {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn the_report_of_a_committed_run_opens_in_a_browser_with_every_chart() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tmp("report");
    copy_csvs(
        &repo.join("results/2026-11-23T14-12-57Z-default-overlay"),
        &dir,
    );
    let o = pktmmap(&["report", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = dir.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Three set-ups x three scenarios, and the ratio chart.
    assert_eq!(html.matches("<svg").count(), 10);
    for want in [
        "overlay (netns): count scenario",
        "mmap against udp, beside the thesis",
        "What the latency columns mean",
        "Runs that did not succeed",
    ] {
        assert!(html.contains(want), "{want}");
    }

    // The control: a console message is seen when there is one.
    let control = dir.join("control.html");
    std::fs::write(
        &control,
        "<html><body><script>console.error('control')</script></body></html>",
    )
    .unwrap();
    let (_, console) = chromium(&control, None);
    assert_eq!(console.len(), 1, "{console:?}");

    let (dom, console) = chromium(&page, None);
    assert_eq!(console, Vec::<String>::new(), "no console message");
    assert_eq!(dom.matches("<svg").count(), 10, "every chart is in the DOM");
    assert!(dom.contains("<title>pktmmap: "));

    let artefacts: PathBuf = repo.join("target/test-artifacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = artefacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let (_, console) = chromium(&page, Some(&shot));
    assert!(console.is_empty(), "{console:?}");
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 50_000,
        "a screenshot with charts: {} bytes",
        png.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_without_results_gets_one_line_and_exit_2() {
    let dir = tmp("report-empty");
    std::fs::create_dir_all(&dir).unwrap();
    let o = pktmmap(&["report", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no runs-v*.csv results"), "{err}");
    assert!(!dir.join("report.html").exists());
    let o = pktmmap(&["report", "/nonexistent-results-dir"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// README, "The report": every committed directory under `results/` with runs (or the
/// current search schema's results) has its report, one self-contained page with no script and nothing fetched, naming its directory;
/// and this version still reads its rows: `pktmmap report` on a copy of it succeeds.
#[test]
fn every_committed_results_directory_has_its_self_contained_report() {
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let mut seen = 0;
    for entry in std::fs::read_dir(&results).unwrap() {
        let dir = entry.unwrap().path();
        let has_runs = dir.is_dir()
            && std::fs::read_dir(&dir).unwrap().any(|f| {
                let name = f.unwrap().file_name().to_string_lossy().into_owned();
                (name.starts_with("runs-v") || name.starts_with(SEARCH_CSV))
                    && name.ends_with(".csv")
            });
        if !has_runs {
            continue;
        }
        seen += 1;
        let page = std::fs::read_to_string(dir.join("report.html"))
            .unwrap_or_else(|e| panic!("{}: no report.html ({e})", dir.display()));
        let name = dir.file_name().unwrap().to_string_lossy();
        assert!(
            page.contains(&format!("<h1>pktmmap results: {name}</h1>")),
            "{name}: the page names its directory"
        );
        assert!(!page.contains("<script"), "{name}: no script");
        assert!(
            !page.contains("src=\"http") && !page.contains("href=\"http"),
            "{name}: nothing fetched"
        );
        let copy = tmp(&format!("report-copy-{seen}"));
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy).unwrap();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.is_file() {
                std::fs::copy(&f, copy.join(f.file_name().unwrap())).unwrap();
            }
        }
        let o = pktmmap(&["report", copy.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let _ = std::fs::remove_dir_all(&copy);
    }
    assert!(seen >= 10, "only {seen} committed run directories found");
}

/// README, "The CSV": `plot` wants `--emulated` for rows made under software emulation, and
/// refuses a directory that mixes them with others even then (one chart would draw a TCG
/// guest's rates beside the host's); the report likewise. The committed guest run and a
/// committed host run, copied into one directory, are such a mix.
#[test]
fn plot_and_report_refuse_emulated_rows_mixed_with_others() {
    let dir = tmp("mixed-emulated");
    let _ = std::fs::remove_dir_all(&dir);
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    copy_csvs(
        &results.join("guest/2026-11-23-debian-6.1-tcg/emulated"),
        &dir,
    );
    copy_csvs(&results.join("2026-11-22T00-38-03Z-default"), &dir);
    let d = dir.to_str().unwrap();
    for args in [
        vec!["plot", d],
        vec!["plot", "--emulated", d],
        vec!["report", d],
        vec!["report", "--emulated", d],
    ] {
        let o = pktmmap(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        let why = if args.contains(&"--emulated") {
            "ran under software emulation and the rest did not"
        } else {
            "emulat"
        };
        assert!(err.contains(why), "{args:?}: {err}");
    }
    assert!(!dir.join("charts").exists() && !dir.join("report.html").exists());
    // The guest's rows alone are drawn when asked.
    let alone = tmp("emulated-alone");
    let _ = std::fs::remove_dir_all(&alone);
    copy_csvs(
        &results.join("guest/2026-11-23-debian-6.1-tcg/emulated"),
        &alone,
    );
    let o = pktmmap(&["plot", "--emulated", alone.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_dir(alone.join("charts")).unwrap().count() > 0);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&alone);
}
