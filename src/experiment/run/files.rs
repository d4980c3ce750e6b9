//! What a results directory gets from its rows: the charts (SVG and PNG) and the HTML
//! report. Reading and writing happen here; drawing is [`crate::experiment::render`]'s.

use std::path::{Path, PathBuf};

use crate::experiment::analysis::compare::check_chartable;
use crate::experiment::place::conditions::Conditions;
use crate::experiment::render::chart::{charts, svg_to_png};
use crate::experiment::render::html;
use crate::experiment::rows::{
    read_csv_rows, read_csv_rows_before, read_interval_rows, read_rows, Row,
};
use crate::experiment::search::{
    SearchRow, TrialRow, SEARCH_CSV, SEARCH_CSV_V2, TRIALS_CSV, TRIALS_CSV_V4,
};
use crate::experiment::Error;

/// True when `dir` holds a runs file (`runs-v*.csv`), readable or not.
fn has_runs(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("runs-v") && name.ends_with(".csv")
        })
    })
}

/// Writes every chart for `rows` into `dir/charts/` as SVG and PNG; returns the files written.
pub fn write_charts(rows: &[Row], dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let charts = charts(rows).map_err(|e| match e {
        Error::Request(m) => Error::Request(format!("{m} in {}", dir.display())),
        other => other,
    })?;
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).map_err(Error::io("create", &out))?;
    let mut written = Vec::new();
    for (name, svg) in charts {
        let svg_path = out.join(format!("{name}.svg"));
        std::fs::write(&svg_path, &svg).map_err(Error::io("write", &svg_path))?;
        let png_path = out.join(format!("{name}.png"));
        let png = svg_to_png(&svg)?;
        std::fs::write(&png_path, png).map_err(Error::io("write", &png_path))?;
        written.push(svg_path);
        written.push(png_path);
    }
    Ok(written)
}

/// Writes `dir/report.html` from the directory's rows and interval series; refuses emulated
/// rows unless `allow_emulated`, and a directory without results.
pub fn write_report(dir: &Path, allow_emulated: bool) -> Result<PathBuf, Error> {
    // Results written before `size_mix` (search-v2, search-trials-v4) read as one size each.
    let mut search: Vec<SearchRow> = read_csv_rows_before(dir, SEARCH_CSV_V2, 1)?;
    search.extend(read_csv_rows::<SearchRow>(dir, SEARCH_CSV)?);
    let mut trials: Vec<TrialRow> = read_csv_rows_before(dir, TRIALS_CSV_V4, 1)?;
    trials.extend(read_csv_rows::<TrialRow>(dir, TRIALS_CSV)?);
    // A directory of search results only has no runs: its page is the RFC 2544 section.
    let rows = match read_rows(dir) {
        Err(Error::Request(_)) if !search.is_empty() && !has_runs(dir) => Vec::new(),
        other => other?,
    };
    check_chartable(&rows, allow_emulated)?;
    let intervals = read_interval_rows(dir).unwrap_or_default();
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    let conditions = Conditions::read(dir)?;
    let html = html::render(
        &name,
        &rows,
        &intervals,
        conditions.as_ref(),
        (&search, &trials),
    )?;
    let path = dir.join(html::FILE);
    std::fs::write(&path, html).map_err(Error::io("write", &path))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::plan::kinds::{App, Fate, Status};

    #[test]
    fn a_directory_gets_every_chart_as_svg_and_png() {
        let dir = std::env::temp_dir().join(format!("pktmmap-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rows = vec![Row {
            setup: "native".into(),
            datapath: "veth".into(),
            scenario: "rate".into(),
            param: "rate".into(),
            value: "max".into(),
            app: App::Mmap,
            fate: Fate::Stack,
            pps: Some(500_000.0),
            count: 1000,
            sent: Some(1000),
            lost: Some(0),
            size: 64,
            requested_rate: "max".into(),
            status: Status::Ok,
            ..Row::default()
        }];
        let files = write_charts(&rows, &dir).unwrap();
        assert_eq!(files.len(), 4, "{files:?}");
        let png = std::fs::read(dir.join("charts/native-netns-rate.png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(dir.join("charts/ratio-vs-thesis.svg")).unwrap();
        assert!(svg.starts_with("<svg"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
