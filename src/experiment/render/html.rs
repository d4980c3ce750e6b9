//! One self-contained page per results directory (`report.html`): the machine and commit,
//! the ratio table beside the thesis, per set-up and scenario the charts (inline SVG) and a
//! table with the offered rate, loss, drops and latency of every point, what latency means
//! here, each set-up's longest runs over time, and every run that did not succeed. No script,
//! no style sheet or font from the network: it opens from a file anywhere.

use crate::experiment::place::conditions::Conditions;
use crate::experiment::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::experiment::analysis::compare::{
    best_socket_apps, best_socket_cells, offered_pps, ratios, Ratio, CAPPED_SHARE,
};
use crate::experiment::analysis::series::{provenance, series, Series, LOSSY};
use crate::experiment::analysis::{median, stat};
use crate::experiment::plan::kinds::{setup_label, App, Family, Status};
use crate::experiment::render::chart::{intervals_svg, ratio_svg, slug, throughput_svg};
use crate::experiment::render::escape::esc;
use crate::experiment::render::rfc2544;
use crate::experiment::rows::{IntervalRow, Row};
use crate::experiment::search::{SearchRow, TrialRow};

/// The report's file name in a results directory.
pub const FILE: &str = "report.html";

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:960px;margin:2em auto;color:#222;line-height:1.45}\
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .55em;text-align:right}\
th{background:#f3f3f3}td.l,th.l{text-align:left}.lossy{background:#fde2e2}.capped{color:#888}\
.note{background:#f7f7f7;border-left:4px solid #888;padding:.5em 1em}.warn{border-left-color:#c00}\
figure{margin:1em 0}svg{max-width:100%;height:auto}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}";

/// What a directory's `pktmmap search` wrote: its result rows and its trials.
pub type SearchResults<'a> = (&'a [SearchRow], &'a [TrialRow]);

/// The page for `rows` (and their interval series) and `search`'s results of the directory
/// called `name`; either may be empty.
pub fn render(
    name: &str,
    rows: &[Row],
    intervals: &[IntervalRow],
    conditions: Option<&Conditions>,
    search: SearchResults<'_>,
) -> Result<String, Error> {
    let caption = if rows.is_empty() {
        search_provenance(search.0)
    } else {
        provenance(rows)
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pktmmap: {}</title><style>{STYLE}</style></head><body>\n<h1>pktmmap results: {}</h1>\n",
        esc(name),
        esc(name)
    );
    if rows.is_empty() {
        search_machine(&mut h, search.0);
    } else {
        machine(&mut h, rows);
    }
    if let Some(c) = conditions {
        conditions_section(&mut h, c);
    }
    // Where a search ran, its bounds lead: rates at which nothing (or the PDR's share) was lost.
    h.push_str(&rfc2544::section(search.0, search.1, &caption)?);
    if rows.is_empty() {
        return Ok(h + &closing());
    }
    let _ = writeln!(
        h,
        "<div class=\"note\"><p><b>Reading this report.</b> A sender sends <i>count</i> UDP datagrams at an \
offered rate (the requested rate in packets per second for that frame size; <i>max</i> means unpaced); \
the receiver counts every datagram by the sequence number in its probe. <b>Received pps</b> is what \
arrived divided by the time from the first to the last arrival (the thesis's measure), so a point \
that lost packets can still show a high rate: <b>read it with its loss</b>. Loss is the share of \
sent sequence numbers that never arrived; counted drops are the part the kernel counted (ring or \
socket full, backlog) and, on Open vSwitch, the part the switch counted itself. Points that lost more than {:.0} % are drawn hollow and marked in the tables. \
Each point is the median of its repetitions, bars and ranges min-max.</p></div>",
        LOSSY * 100.0
    );
    ratio_section(&mut h, rows, &caption)?;
    for s in series(rows) {
        let _ = write!(
            h,
            "<h2 id=\"{}\">{} ({}): {} scenario</h2>\n<figure>{}</figure>\n",
            slug(&format!("{}-{}-{}", s.label(), s.engine, s.scenario)),
            esc(&s.label()),
            s.engine,
            esc(&s.scenario),
            throughput_svg(&s, &caption)?
        );
        point_table(&mut h, rows, &s);
    }
    latency_note(&mut h, rows);
    interval_section(&mut h, rows, intervals, &caption)?;
    failures(&mut h, rows);
    Ok(h + &closing())
}

/// The page's last line.
fn closing() -> String {
    format!(
        "<p style=\"color:#888;font-size:.8em\">Written by pktmmap {} from the CSV files of this directory \
(<code>pktmmap report DIR</code> writes it again).</p>\n</body></html>\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The charts' footer for a directory of search results only.
fn search_provenance(rows: &[SearchRow]) -> String {
    let of = |f: fn(&SearchRow) -> &str| {
        rows.iter()
            .map(f)
            .filter(|s| !s.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "{} | Linux {} | commit {}",
        of(|r| r.cpu_model.as_str()),
        of(|r| r.kernel.as_str()),
        of(|r| r.git_commit.as_str())
    )
}

/// The machine of a directory of search results only.
fn search_machine(h: &mut String, rows: &[SearchRow]) {
    let of = |f: fn(&SearchRow) -> String| {
        rows.iter()
            .map(f)
            .filter(|s| !s.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join("; ")
    };
    let items = [
        ("CPU", of(|r| r.cpu_model.clone())),
        ("kernel", of(|r| r.kernel.clone())),
        ("pktmmap commit", of(|r| r.git_commit.clone())),
        ("preset", of(|r| r.preset.clone())),
        ("engine", of(|r| r.engine.as_str().to_string())),
        (
            "from, to",
            format!(
                "{} to {} (UTC)",
                rows.iter().map(|r| r.time.as_str()).min().unwrap_or("-"),
                rows.iter().map(|r| r.time.as_str()).max().unwrap_or("-")
            ),
        ),
    ];
    h.push_str("<dl>\n");
    for (k, v) in items.into_iter().filter(|(_, v)| !v.is_empty()) {
        let _ = writeln!(h, "<dt>{k}</dt><dd>{}</dd>", esc(&v));
    }
    h.push_str("</dl>\n");
}

fn distinct(rows: &[Row], f: fn(&Row) -> String) -> Vec<String> {
    rows.iter()
        .map(f)
        .filter(|s| !s.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The offloads the conditions table shows (of the dozens `ethtool -k` lists, those that
/// change what a packet costs on these paths).
const SHOWN_OFFLOADS: [&str; 7] = [
    "rx-checksumming",
    "tx-checksumming",
    "scatter-gather",
    "generic-segmentation-offload",
    "tx-udp-segmentation",
    "generic-receive-offload",
    "rx-udp-gro-forwarding",
];

/// The conditions file's summary: cores, busy polling, versions, and a row per interface.
fn conditions_section(h: &mut String, c: &Conditions) {
    let pairs = |m: &std::collections::BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        h,
        "<h2 id=\"conditions\">Conditions</h2>\n<p>{} CPUs; senders on core {}, receivers on core {}; {}; {}. Every interface's full offload list is in <code>{}</code>.</p>",
        c.cpus,
        c.sender_core,
        c.receiver_core,
        esc(&pairs(&c.busy_poll)),
        esc(&if c.versions.is_empty() { "no engine versions recorded".into() } else { pairs(&c.versions) }),
        crate::experiment::place::conditions::FILE
    );
    h.push_str("<table><tr><th>set-up</th><th>engine</th><th>datapath</th><th>side</th><th>interface</th><th>MTU</th><th>queues rx/tx</th><th>RPS mask</th><th>offloads</th></tr>\n");
    let opt = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
    for s in &c.setups {
        for i in &s.interfaces {
            let offloads: Vec<String> = SHOWN_OFFLOADS
                .iter()
                .filter_map(|k| i.offloads.get(*k).map(|v| format!("{k}: {v}")))
                .collect();
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{} ({})</td><td>{}</td><td>{}/{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                esc(&s.setup),
                esc(&s.engine),
                esc(&s.datapath),
                esc(&i.side),
                esc(&i.name),
                esc(&i.namespace),
                opt(i.mtu),
                opt(i.rx_queues),
                opt(i.tx_queues),
                esc(i.rps_cpus.as_deref().unwrap_or("?")),
                esc(&if i.unknown.is_empty() { offloads.join("; ") } else { format!("{} (unknown: {})", offloads.join("; "), i.unknown.join("; ")) })
            );
        }
    }
    h.push_str("</table>\n");
}

fn machine(h: &mut String, rows: &[Row]) {
    let count = |st: Status| rows.iter().filter(|r| r.status == st).count();
    let times = distinct(rows, |r| r.time.clone());
    let items = [
        ("CPU", distinct(rows, |r| r.cpu_model.clone()).join("; ")),
        ("kernel", distinct(rows, |r| r.kernel.clone()).join("; ")),
        (
            "pktmmap",
            format!(
                "{} (commit {})",
                distinct(rows, |r| r.tool_version.clone()).join(", "),
                distinct(rows, |r| r.git_commit.clone()).join(", ")
            ),
        ),
        ("profile", distinct(rows, |r| r.profile.clone()).join(", ")),
        (
            "engine",
            distinct(rows, |r| r.engine.as_str().to_string()).join(", "),
        ),
        (
            "nodes (swarm)",
            distinct(rows, |r| {
                if r.tx_node.is_empty() {
                    String::new()
                } else {
                    format!("{} -> {}", r.tx_node, r.rx_node)
                }
            })
            .join(", "),
        ),
        (
            "runs",
            format!(
                "{} rows: {} ok, {} partial, {} failed, {} skipped",
                rows.len(),
                count(Status::Ok),
                count(Status::Partial),
                count(Status::Failed),
                count(Status::Skipped)
            ),
        ),
        (
            "from, to",
            format!(
                "{} to {} (UTC)",
                times.first().map_or("-", |s| s.as_str()),
                times.last().map_or("-", |s| s.as_str())
            ),
        ),
    ];
    h.push_str("<dl>\n");
    for (k, v) in items.into_iter().filter(|(_, v)| !v.is_empty()) {
        let _ = writeln!(h, "<dt>{k}</dt><dd>{}</dd>", esc(&v));
    }
    h.push_str("</dl>\n");
    let emulated = distinct(rows, |r| r.emulated.clone());
    if !emulated.is_empty() {
        let _ = writeln!(
            h,
            "<div class=\"note warn\"><p><b>These rows ran under software emulation ({}).</b> They show that \
the set-ups and tools work, with exact counts; their rates say nothing about speed.</p></div>",
            esc(&emulated.join(", "))
        );
    }
}

fn ratio_section(h: &mut String, rows: &[Row], caption: &str) -> Result<(), Error> {
    let r = ratios(rows);
    if r.is_empty() {
        return Ok(());
    }
    h.push_str("<h2 id=\"ratios\">mmap against udp, beside the thesis</h2>\n");
    h.push_str("<table><tr><th class=\"l\">set-up</th><th class=\"l\">engine</th><th class=\"l\">scenario</th><th class=\"l\">datapath</th><th class=\"l\">mmap fate</th><th>mmap/udp (min-max, points)</th><th>capped, left out</th><th>lossy, left out</th><th>xdp/udp</th><th>thesis</th></tr>\n");
    for x in &r {
        row_of_ratio(h, x);
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<p>Each ratio is the median over the scenario's points of (median mmap pps / median udp pps). \
A point where both apps reached the offered rate is <i>capped</i>: its ratio is 1 by construction, so it \
is left out and counted. A point where either app lost more than 0.5 % of what was offered (the PDR's loss \
ratio) is <i>lossy</i>: the rate of what survived is not a throughput, so it is left out and counted too \
(<code>pktmmap search</code> gives such a path's NDR and PDR). The thesis's OVS was Open vSwitch's kernel datapath; where this machine has \
no openvswitch module the ovs set-up runs the userspace datapath (<code>ovs-netdev</code>), a different \
switch.</p>\n<figure>{}</figure>",
        ratio_svg(rows, caption)?
    );
    best_socket_section(h, &r);
    Ok(())
}

/// Where the strongest socket path (`udp-gso`) ran: each bypass app against it, and it
/// against plain UDP.
fn best_socket_section(h: &mut String, r: &[Ratio]) {
    let apps = best_socket_apps(r);
    if apps.is_empty() && r.iter().all(|x| x.best_over_plain.is_none()) {
        return;
    }
    h.push_str("<h2 id=\"best-socket\">Bypass or the best socket path?</h2>\n");
    h.push_str("<table><tr><th class=\"l\">set-up</th><th class=\"l\">engine</th><th class=\"l\">scenario</th>");
    for app in &apps {
        let _ = write!(h, "<th>{app}/{}</th>", App::UdpGso);
    }
    let _ = writeln!(h, "<th>{}/{}</th></tr>", App::UdpGso, App::Udp);
    for x in r {
        let _ = write!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td>",
            esc(&x.label()),
            x.engine,
            esc(&x.scenario)
        );
        for c in best_socket_cells(x, &apps) {
            let _ = write!(h, "<td>{}</td>", esc(&c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n<p><code>udp-gso</code> is the socket path at its strongest: udp-tx sends GSO super-packets \
(<code>--gso 64 --batch 8</code>), udp-rx reads with <code>UDP_GRO</code> and <code>recvmmsg()</code>. \
<code>mmap-gso</code> is mmap-tx sending GSO super-packets through its TX ring. Each ratio is the median over the \
scenario's points of the two apps' median rates; a point where both reached the offered rate is left out and \
counted as capped, one where either lost more than 0.5 % as lossy.</p>\n");
}

fn row_of_ratio(h: &mut String, x: &Ratio) {
    let f2 = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2}"));
    let ours = x.ours.map_or("-".into(), |(m, lo, hi)| {
        format!("{m:.2} ({lo:.2}-{hi:.2}, {})", x.points)
    });
    let xdp = x.xdp.map_or("-".into(), |(m, lo, hi, n)| {
        format!("{m:.2} ({lo:.2}-{hi:.2}, {n})")
    }) + &crate::experiment::analysis::compare::left_out(0, x.xdp_lossy);
    let _ = writeln!(
        h,
        "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{ours}</td><td>{}</td><td>{}</td><td>{xdp}</td><td>{}</td></tr>",
        esc(&x.label()),
        x.engine,
        esc(&x.scenario),
        esc(&x.datapath),
        esc(&x.fate),
        x.capped,
        x.lossy,
        f2(x.thesis)
    );
}

/// Per value and app of series `s`: received kpps, offered, sent, loss, drops, latency.
fn point_table(h: &mut String, rows: &[Row], s: &Series) {
    let mut groups: BTreeMap<(usize, App), Vec<&Row>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for r in rows.iter().filter(|r| {
        r.status == Status::Ok
            && r.setup == s.setup
            && r.family == s.family
            && r.engine == s.engine
            && r.scenario == s.scenario
    }) {
        let i = order.iter().position(|v| *v == r.value).unwrap_or_else(|| {
            order.push(r.value.clone());
            order.len() - 1
        });
        groups.entry((i, r.app)).or_default().push(r);
    }
    h.push_str("<table><tr><th class=\"l\">value</th><th class=\"l\">app</th><th>received kpps (min-max)</th><th>offered kpps</th><th>sent</th><th>lost</th><th>counted drops</th><th>latency p50 / p99 (µs)</th><th>round trip p50 / p99 (µs)</th><th>reps</th></tr>\n");
    for ((i, app), rs) in groups {
        let med = |f: fn(&Row) -> Option<f64>| {
            let mut v: Vec<f64> = rs.iter().filter_map(|r| f(r)).collect();
            median(&mut v)
        };
        let kpps = stat(rs.iter().filter_map(|r| r.pps).map(|p| p / 1e3).collect());
        let sent = med(|r| r.sent.map(|v| v as f64));
        let lost = med(|r| {
            let sent = r.sent.unwrap_or(r.count).max(1) as f64;
            r.lost.map(|l| l as f64 / sent)
        })
        .unwrap_or(0.0);
        // The kernel's, the switch's own (Open vSwitch) and the path's interfaces' together:
        // every counted drop.
        let drops = med(|r| {
            r.kernel_drops
                .map(|v| (v + r.switch_drops.unwrap_or(0) + r.link_drops.unwrap_or(0)) as f64)
        });
        // One-way latency needs one clock: across two nodes it is not shown.
        let one_clock = rs.iter().all(|r| r.shares_clock());
        let p50 = med(|r| r.latency_p50_ns.map(|v| v as f64 / 1e3)).filter(|_| one_clock);
        let p99 = med(|r| r.latency_p99_ns.map(|v| v as f64 / 1e3)).filter(|_| one_clock);
        // Round trips are read on the sender's clock alone: shown wherever they were timed.
        let rtt50 = med(|r| r.rtt_p50_ns.map(|v| v as f64 / 1e3));
        let rtt99 = med(|r| r.rtt_p99_ns.map(|v| v as f64 / 1e3));
        let offered = rs.first().and_then(|r| offered_pps(r)).map(|p| p / 1e3);
        let capped = offered
            .zip(kpps)
            .is_some_and(|(o, k)| k.median >= CAPPED_SHARE * o);
        let class = if lost > LOSSY { " class=\"lossy\"" } else { "" };
        let opt = |v: Option<f64>, p: usize| v.map_or("-".into(), |v| format!("{v:.p$}"));
        let _ = writeln!(
            h,
            "<tr{class}><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{:.2} %</td><td>{}</td><td>{} / {}</td><td>{} / {}</td><td>{}</td></tr>",
            esc(&order[i]),
            app,
            kpps.map_or("-".into(), |k| format!("{:.1} ({:.1}-{:.1})", k.median, k.min, k.max)),
            if capped { " class=\"capped\" title=\"reached: capped\"" } else { "" },
            opt(offered, 1),
            opt(sent, 0),
            lost * 100.0,
            opt(drops, 0),
            if one_clock { opt(p50, 1) } else { "two clocks".into() },
            if one_clock { opt(p99, 1) } else { "-".into() },
            opt(rtt50, 1),
            opt(rtt99, 1),
            rs.len()
        );
    }
    h.push_str("</table>\n");
}

fn latency_note(h: &mut String, rows: &[Row]) {
    let paced: Vec<f64> = rows
        .iter()
        .filter(|r| r.status == Status::Ok && r.requested_rate != "max")
        .filter_map(|r| r.latency_p50_ns.map(|v| v as f64 / 1e3))
        .collect();
    let unpaced: Vec<f64> = rows
        .iter()
        .filter(|r| r.status == Status::Ok && r.requested_rate == "max")
        .filter_map(|r| r.latency_p50_ns.map(|v| v as f64 / 1e3))
        .collect();
    let m = |mut v: Vec<f64>| median(&mut v).map_or("-".into(), |v| format!("{v:.1} µs"));
    let _ = writeln!(
        h,
        "<h2 id=\"latency\">What the latency columns mean</h2>\n<p>Latency is one-way: from the send time the \
sender stamps into each probe (CLOCK_REALTIME, read once per batch) to the kernel's receive timestamp \
(mmap-rx, udp-rx), or to the moment user space sees the packet (xdp-rx in copy mode has no kernel \
timestamp). Sender and receiver share this machine's clock, so no synchronisation error enters; across \
machines it would. Unpaced runs send batches as fast as the ring takes them, so their latency is mostly \
queueing: a probe waits for the rest of its batch, then in the receiver's ring or socket queue. It is \
not the network's latency. Paced runs at rates the path carries show the path. In these rows the median \
p50 is {} paced and {} unpaced.</p>\n<p>Round trips (runs made with <code>--reflect-every N</code>, the default on the swarm engine): the receiver sends every N-th probe back to the sender, which times it against the probe's send time on its own clock, so they hold between machines. They include what the receiving application adds: mmap-rx sees frames a ring block at a time, so at low rates its round trip includes the wait for the block to be handed over (the block retire timeout), which the kernel timestamp behind the one-way column does not.</p>",
        m(paced),
        m(unpaced)
    );
}

fn interval_section(
    h: &mut String,
    rows: &[Row],
    intervals: &[IntervalRow],
    caption: &str,
) -> Result<(), Error> {
    if intervals.is_empty() {
        h.push_str("<h2 id=\"over-time\">Over time</h2>\n<p>No interval series in this directory (runs made before pktmmap kept them, or with <code>--interval 0</code>).</p>\n");
        return Ok(());
    }
    h.push_str("<h2 id=\"over-time\">Over time: each set-up's longest runs</h2>\n<p>The sender's and the receiver's rate in each one-second interval of the run with the largest count, per set-up and app: a rate that sags, stalls or oscillates shows here and nowhere else.</p>\n");
    let setups: BTreeSet<(String, Family, App)> = rows
        .iter()
        .filter(|r| r.status == Status::Ok)
        .map(|r| (r.setup.clone(), r.family, r.app))
        .collect();
    for (setup, family, app) in setups {
        let Some(longest) = rows
            .iter()
            .filter(|r| {
                r.status == Status::Ok && r.setup == setup && r.family == family && r.app == app
            })
            .max_by_key(|r| r.count)
        else {
            continue;
        };
        let of_run: Vec<&IntervalRow> = intervals
            .iter()
            .filter(|i| {
                (
                    i.time.as_str(),
                    i.setup.as_str(),
                    i.scenario.as_str(),
                    i.value.as_str(),
                ) == (
                    longest.time.as_str(),
                    longest.setup.as_str(),
                    longest.scenario.as_str(),
                    longest.value.as_str(),
                ) && (i.app, i.repetition) == (longest.app, longest.repetition)
            })
            .collect();
        if of_run.is_empty() {
            continue;
        }
        let title = format!(
            "{}, {app}: {} packets at {} ({} scenario, repetition {})",
            setup_label(&setup, family),
            longest.count,
            longest.requested_rate,
            longest.scenario,
            longest.repetition
        );
        let _ = writeln!(
            h,
            "<figure>{}</figure>",
            intervals_svg(&title, &of_run, caption)?
        );
    }
    Ok(())
}

fn failures(h: &mut String, rows: &[Row]) {
    let bad: Vec<&Row> = rows.iter().filter(|r| r.status != Status::Ok).collect();
    h.push_str("<h2 id=\"not-ok\">Runs that did not succeed</h2>\n");
    if bad.is_empty() {
        h.push_str("<p>None: every run is <code>ok</code>.</p>\n");
        return;
    }
    h.push_str("<table><tr><th class=\"l\">time</th><th class=\"l\">set-up</th><th class=\"l\">scenario</th><th class=\"l\">value</th><th class=\"l\">app</th><th class=\"l\">status</th><th class=\"l\">reason</th></tr>\n");
    for r in bad {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
            esc(&r.time),
            esc(&setup_label(&r.setup, r.family)),
            esc(&r.scenario),
            esc(&r.value),
            if r.status == Status::Skipped { "" } else { r.app.as_str() },
            r.status,
            esc(&r.reason)
        );
    }
    h.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::plan::kinds::{Engine, Fate};

    fn row(value: &str, app: App, pps: f64, lost: u64) -> Row {
        Row {
            time: "2026-11-23T20:00:00Z".into(),
            setup: "ovs".into(),
            engine: Engine::Netns,
            datapath: "ovs-netdev".into(),
            scenario: "count".into(),
            param: "count".into(),
            value: value.into(),
            app,
            fate: Fate::Stack.for_app(app),
            requested_rate: "500Mbps".into(),
            count: 1000,
            size: 64,
            sent: Some(1000),
            lost: Some(lost),
            pps: Some(pps),
            latency_p50_ns: Some(120_000),
            latency_p99_ns: Some(900_000),
            status: Status::Ok,
            kernel: "6.18".into(),
            cpu_model: "Test <CPU>".into(),
            git_commit: "abc".into(),
            tool_version: "0.1.0".into(),
            repetition: 1,
            ..Row::default()
        }
    }

    #[test]
    fn the_page_names_the_machine_marks_loss_and_lists_failures() {
        let mut failed = row("2000", App::Udp, 0.0, 0);
        failed.status = Status::Failed;
        failed.reason = "udp-rx exited 1 without a summary: <gone>".into();
        let rows = vec![
            row("1000", App::Mmap, 200_000.0, 710),
            row("1000", App::Udp, 190_000.0, 0),
            failed,
        ];
        let intervals = vec![IntervalRow {
            time: rows[0].time.clone(),
            setup: "ovs".into(),
            scenario: "count".into(),
            value: "1000".into(),
            app: App::Mmap,
            repetition: 1,
            side: "rx".into(),
            interval: 1,
            start_s: 0.0,
            end_s: 1.0,
            packets: 290,
            pps: 290.0,
            ..IntervalRow::default()
        }];
        let mut conditions = Conditions {
            cpus: 2,
            ..Conditions::default()
        };
        conditions
            .setups
            .push(crate::experiment::place::conditions::SetupConditions {
                setup: "ovs".into(),
                interfaces: vec![crate::experiment::place::conditions::InterfaceConditions {
                    side: "rx".into(),
                    name: "pkm0".into(),
                    mtu: Some(1500),
                    offloads: [("tx-checksumming".to_string(), "off".to_string())].into(),
                    ..Default::default()
                }],
                ..Default::default()
            });
        let page = render("run-x", &rows, &intervals, Some(&conditions), (&[], &[])).unwrap();
        assert!(page.contains("<h2 id=\"conditions\">Conditions</h2>"));
        assert!(page.contains("<td>1500</td>") && page.contains("tx-checksumming: off"));
        assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
        assert!(page.contains("Test &lt;CPU&gt;"), "escaped");
        assert!(
            page.contains("<tr class=\"lossy\"><td class=\"l\">1000</td><td class=\"l\">mmap</td>")
        );
        assert!(page.contains("71.00 %"));
        assert!(page.contains("udp-rx exited 1 without a summary: &lt;gone&gt;"));
        assert!(page.contains("ovs, mmap: 1000 packets at 500Mbps"));
        // Charts: count scenario, ratio, one run over time; all inline, nothing fetched.
        assert_eq!(page.matches("<svg").count(), 3);
        assert!(!page.contains("src=\"http") && !page.contains("href=\"http"));
        assert!(
            !page.contains("Bypass or the best socket path?"),
            "no udp-gso rows"
        );
    }

    #[test]
    fn counted_drops_are_the_kernels_and_the_switchs() {
        let mut ovs = row("1000", App::Mmap, 200_000.0, 710);
        (ovs.kernel_drops, ovs.switch_drops) = (Some(10), Some(700));
        let page = render(
            "run-d",
            &[ovs, row("1000", App::Udp, 1.0, 0)],
            &[],
            None,
            (&[], &[]),
        )
        .unwrap();
        assert!(page.contains("<th>counted drops</th>"));
        assert!(page.contains("<td>710</td>"), "10 + 700 in the mmap row");
    }

    #[test]
    fn where_the_best_socket_path_ran_the_page_sets_each_bypass_against_it() {
        let rows = vec![
            row("1000", App::Mmap, 200_000.0, 0),
            row("1000", App::Udp, 100_000.0, 0),
            row("1000", App::UdpGso, 400_000.0, 0),
        ];
        let page = render("run-g", &rows, &[], None, (&[], &[])).unwrap();
        assert!(!page.contains("id=\"conditions\""), "none recorded");
        let at = page
            .find("Bypass or the best socket path?")
            .expect("the section");
        let section = &page[at..];
        assert!(section.contains("<th>mmap/udp-gso</th>"), "{section}");
        assert!(!section.contains("<th>xdp/udp-gso</th>"), "xdp did not run");
        assert!(
            section.contains("<td>0.50 (0.50-0.50, 1 pts)</td><td>4.00 (4.00-4.00, 1 pts)</td>"),
            "{section}"
        );
    }
}
