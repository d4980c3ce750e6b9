//! The results CSV: one row per run, appended whole, never rewritten.
//!
//! The file name carries the schema version (`runs-v4.csv`); a schema change starts a new file
//! instead of mixing columns. Each row is written with a single `write(2)` to a file opened
//! with `O_APPEND` and then synced, and a file found with a torn last line (a writer killed
//! mid-row) has that fragment cut off before anything is appended.

use crate::experiment::Error;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::experiment::plan::kinds::{App, Engine, Family, Fate, Status};

/// Version of the column set below; bump it whenever a column changes.
pub const SCHEMA: u32 = 9;

/// The header of schema 1 (before `tx_method` and `rx_mode`): its files are still read, the
/// new columns empty.
pub const V1_HEADER: &str = "schema,time,setup,engine,datapath,fate,rps,profile,scenario,param,value,app,repetition,requested_rate,count,size,sent,tx_pps,tx_retries,received,unique,lost,duplicates,reordered,kernel_drops,ignored,first_arrival_ns,last_arrival_ns,duration_s,pps,mbps,latency_p50_ns,latency_p90_ns,latency_p99_ns,latency_p99_9_ns,latency_max_ns,tx_cpu_s,rx_cpu_s,status,reason,kernel,cpu_model,tool_version,git_commit";

/// The header of schema 2 (before `emulated`): its files are still read, `emulated` empty.
pub const V2_HEADER: &str = "schema,time,setup,engine,datapath,fate,rps,profile,scenario,param,value,app,tx_method,rx_mode,repetition,requested_rate,count,size,sent,tx_pps,tx_retries,received,unique,lost,duplicates,reordered,kernel_drops,ignored,first_arrival_ns,last_arrival_ns,duration_s,pps,mbps,latency_p50_ns,latency_p90_ns,latency_p99_ns,latency_p99_9_ns,latency_max_ns,tx_cpu_s,rx_cpu_s,status,reason,kernel,cpu_model,tool_version,git_commit";

/// The header of schema 3 (before `tx_node` and `rx_node`): its files are still read, the
/// node columns empty (every run on this host).
pub const V3_HEADER: &str = "schema,time,setup,engine,datapath,fate,rps,profile,scenario,param,value,app,tx_method,rx_mode,repetition,requested_rate,count,size,sent,tx_pps,tx_retries,received,unique,lost,duplicates,reordered,kernel_drops,ignored,first_arrival_ns,last_arrival_ns,duration_s,pps,mbps,latency_p50_ns,latency_p90_ns,latency_p99_ns,latency_p99_9_ns,latency_max_ns,tx_cpu_s,rx_cpu_s,status,reason,kernel,cpu_model,tool_version,git_commit,emulated";

/// The header of schema 4 (before the round-trip columns): its files are still read, those
/// columns empty.
pub const V4_HEADER: &str = "schema,time,setup,engine,datapath,fate,rps,profile,scenario,param,value,app,tx_method,rx_mode,repetition,requested_rate,count,size,sent,tx_pps,tx_retries,received,unique,lost,duplicates,reordered,kernel_drops,ignored,first_arrival_ns,last_arrival_ns,duration_s,pps,mbps,latency_p50_ns,latency_p90_ns,latency_p99_ns,latency_p99_9_ns,latency_max_ns,tx_cpu_s,rx_cpu_s,status,reason,kernel,cpu_model,tool_version,git_commit,emulated,tx_node,rx_node";

/// The header of schema 5 (before the GSO and receive-buffer columns): its files are still
/// read, those columns empty.
pub const V5_HEADER: &str = "schema,time,setup,engine,datapath,fate,rps,profile,scenario,param,value,app,tx_method,rx_mode,repetition,requested_rate,count,size,sent,tx_pps,tx_retries,received,unique,lost,duplicates,reordered,kernel_drops,ignored,first_arrival_ns,last_arrival_ns,duration_s,pps,mbps,latency_p50_ns,latency_p90_ns,latency_p99_ns,latency_p99_9_ns,latency_max_ns,tx_cpu_s,rx_cpu_s,status,reason,kernel,cpu_model,tool_version,git_commit,emulated,tx_node,rx_node,reflect_every,reflections_expected,reflections,rtt_p50_ns,rtt_p90_ns,rtt_p99_ns,rtt_max_ns";

/// The header of schema 6 (before `switch_drops`).
pub const V6_HEADER: &str = "schema,time,setup,engine,datapath,fate,rps,profile,scenario,param,value,app,tx_method,rx_mode,repetition,requested_rate,count,size,sent,tx_pps,tx_retries,received,unique,lost,duplicates,reordered,kernel_drops,ignored,first_arrival_ns,last_arrival_ns,duration_s,pps,mbps,latency_p50_ns,latency_p90_ns,latency_p99_ns,latency_p99_9_ns,latency_max_ns,tx_cpu_s,rx_cpu_s,status,reason,kernel,cpu_model,tool_version,git_commit,emulated,tx_node,rx_node,reflect_every,reflections_expected,reflections,rtt_p50_ns,rtt_p90_ns,rtt_p99_ns,rtt_max_ns,tx_gso_segments,rx_gso_frames,rx_buffer_bytes";

/// The header of schema 7 (before `family`).
pub const V7_HEADER: &str = "schema,time,setup,engine,datapath,fate,rps,profile,scenario,param,value,app,tx_method,rx_mode,repetition,requested_rate,count,size,sent,tx_pps,tx_retries,received,unique,lost,duplicates,reordered,kernel_drops,ignored,first_arrival_ns,last_arrival_ns,duration_s,pps,mbps,latency_p50_ns,latency_p90_ns,latency_p99_ns,latency_p99_9_ns,latency_max_ns,tx_cpu_s,rx_cpu_s,status,reason,kernel,cpu_model,tool_version,git_commit,emulated,tx_node,rx_node,reflect_every,reflections_expected,reflections,rtt_p50_ns,rtt_p90_ns,rtt_p99_ns,rtt_max_ns,tx_gso_segments,rx_gso_frames,rx_buffer_bytes,switch_drops";

/// The header of schema 8 (before `link_drops`).
pub const V8_HEADER: &str = "schema,time,setup,engine,datapath,fate,rps,profile,scenario,param,value,app,tx_method,rx_mode,repetition,requested_rate,count,size,sent,tx_pps,tx_retries,received,unique,lost,duplicates,reordered,kernel_drops,ignored,first_arrival_ns,last_arrival_ns,duration_s,pps,mbps,latency_p50_ns,latency_p90_ns,latency_p99_ns,latency_p99_9_ns,latency_max_ns,tx_cpu_s,rx_cpu_s,status,reason,kernel,cpu_model,tool_version,git_commit,emulated,tx_node,rx_node,reflect_every,reflections_expected,reflections,rtt_p50_ns,rtt_p90_ns,rtt_p99_ns,rtt_max_ns,tx_gso_segments,rx_gso_frames,rx_buffer_bytes,switch_drops,family,received_ipv6,flows,rx_flows,flow_min,flow_max";

/// Earlier schemas, whose files are read beside the current one's: (file stem, header).
pub const PAST_SCHEMAS: [(&str, &str); 8] = [
    ("runs-v1", V1_HEADER),
    ("runs-v2", V2_HEADER),
    ("runs-v3", V3_HEADER),
    ("runs-v4", V4_HEADER),
    ("runs-v5", V5_HEADER),
    ("runs-v6", V6_HEADER),
    ("runs-v7", V7_HEADER),
    ("runs-v8", V8_HEADER),
];

/// One run, as one CSV row. Column order is field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Schema version of this row.
    pub schema: u32,
    /// When the runner started this run (UTC, RFC 3339).
    pub time: String,
    /// Set-up name.
    pub setup: String,
    /// `netns` (tools in namespaces) or `docker` (tools in containers).
    #[serde(deserialize_with = "empty_as_default")]
    pub engine: Engine,
    /// What switched the frames.
    pub datapath: String,
    /// Receive-side fate of test packets: `stack`, `ingress-drop` (mmap) or `socket` (udp).
    #[serde(deserialize_with = "empty_as_default")]
    pub fate: Fate,
    /// Whether RPS moved the receiver's softirq to another core.
    pub rps: bool,
    /// Profile name.
    pub profile: String,
    /// Scenario name.
    pub scenario: String,
    /// Parameter varied.
    pub param: String,
    /// Its value in this run.
    pub value: String,
    /// `mmap`, `udp` or `xdp`.
    #[serde(deserialize_with = "empty_as_default")]
    pub app: App,
    /// How the sender moved packets (its summary's `method`: `tpacket_v3`, `sendto`,
    /// `af_xdp_copy`, ...). Schema 2.
    #[serde(default)]
    pub tx_method: String,
    /// How they reached the receiver where it has a choice (xdp-rx: `native xdp, copy`).
    /// Schema 2.
    #[serde(default)]
    pub rx_mode: String,
    /// Repetition number, from 1.
    pub repetition: u32,
    /// Requested rate.
    pub requested_rate: String,
    /// Packets requested.
    pub count: u64,
    /// UDP payload bytes.
    pub size: usize,
    /// Packets the sender handed to the kernel.
    pub sent: Option<u64>,
    /// Sender's rate, packets per second.
    pub tx_pps: Option<f64>,
    /// Sender's retries on a full queue.
    pub tx_retries: Option<u64>,
    /// Well-formed datagrams received.
    pub received: Option<u64>,
    /// Distinct sequence numbers.
    pub unique: Option<u64>,
    /// Sequence numbers never seen.
    pub lost: Option<u64>,
    /// Duplicate arrivals.
    pub duplicates: Option<u64>,
    /// Reordered arrivals.
    pub reordered: Option<u64>,
    /// Kernel drops at the receiver: its ring or socket buffer, plus the host's receive
    /// backlogs during the run (`/proc/net/softnet_stat`, where RPS can lose packets).
    pub kernel_drops: Option<u64>,
    /// Frames the receiver ignored.
    pub ignored: Option<u64>,
    /// First arrival, ns since the epoch.
    pub first_arrival_ns: Option<u64>,
    /// Last arrival, ns since the epoch.
    pub last_arrival_ns: Option<u64>,
    /// Last minus first arrival, seconds.
    pub duration_s: Option<f64>,
    /// Received packets per second (the thesis's throughput).
    pub pps: Option<f64>,
    /// Received Ethernet frame Mbit/s.
    pub mbps: Option<f64>,
    /// Latency median, ns.
    pub latency_p50_ns: Option<u64>,
    /// Latency 90th percentile, ns.
    pub latency_p90_ns: Option<u64>,
    /// Latency 99th percentile, ns.
    pub latency_p99_ns: Option<u64>,
    /// Latency 99.9th percentile, ns.
    pub latency_p99_9_ns: Option<u64>,
    /// Latency maximum, ns.
    pub latency_max_ns: Option<u64>,
    /// Sender CPU seconds (user + system).
    pub tx_cpu_s: Option<f64>,
    /// Receiver CPU seconds (user + system).
    pub rx_cpu_s: Option<f64>,
    /// `ok`, `partial`, `failed` or `skipped`.
    pub status: Status,
    /// Why, when not ok.
    pub reason: String,
    /// Kernel release.
    pub kernel: String,
    /// CPU model.
    pub cpu_model: String,
    /// pktmmap version.
    pub tool_version: String,
    /// Git commit of the tools.
    pub git_commit: String,
    /// `tcg` when the run was under software emulation (the guest harness without KVM): such
    /// rows prove correctness, never speed, and are kept out of speed comparisons. Empty on a
    /// real (or hardware-virtualised) machine. Schema 3.
    #[serde(default)]
    pub emulated: String,
    /// The swarm node the sender ran on (swarm engine); empty: this host. Schema 4.
    #[serde(default)]
    pub tx_node: String,
    /// The swarm node the receiver ran on (swarm engine); empty: this host. Where it differs
    /// from `tx_node` the two ends read different clocks and one-way latency is unreliable.
    /// Schema 4.
    #[serde(default)]
    pub rx_node: String,
    /// Every how many sequence numbers the receiver reflected a probe back (`--reflect-every`);
    /// empty: no round trips were timed. Schema 5.
    #[serde(default)]
    pub reflect_every: Option<u64>,
    /// Reflections the probes sent should have brought back. Schema 5.
    #[serde(default)]
    pub reflections_expected: Option<u64>,
    /// Distinct reflections that came back in time. Schema 5.
    #[serde(default)]
    pub reflections: Option<u64>,
    /// Round trip median, ns, on the sender's clock alone (valid across hosts). Schema 5.
    #[serde(default)]
    pub rtt_p50_ns: Option<u64>,
    /// Round trip 90th percentile, ns. Schema 5.
    #[serde(default)]
    pub rtt_p90_ns: Option<u64>,
    /// Round trip 99th percentile, ns. Schema 5.
    #[serde(default)]
    pub rtt_p99_ns: Option<u64>,
    /// Round trip maximum, ns. Schema 5.
    #[serde(default)]
    pub rtt_max_ns: Option<u64>,
    /// Datagrams per GSO super-packet the sender handed the kernel (`--gso`); empty: one
    /// datagram per packet. Schema 6.
    #[serde(default)]
    pub tx_gso_segments: Option<u16>,
    /// Frames or socket reads the receiver split into several datagrams (a GSO super-packet
    /// or a GRO-coalesced read), each datagram counted. Schema 6.
    #[serde(default)]
    pub rx_gso_frames: Option<u64>,
    /// Bytes the kernel could hold for the receiver before dropping: its RX ring, UMEM or
    /// socket receive buffer (as the kernel reports it). Schema 6.
    #[serde(default)]
    pub rx_buffer_bytes: Option<u64>,
    /// Packets the software switch between the sides dropped itself during the run, by its
    /// own counters (Open vSwitch: its packet sockets' drops, `ovs_*drops`, lost upcalls);
    /// empty where there is no such switch. Schema 7.
    #[serde(default)]
    pub switch_drops: Option<u64>,
    /// The IP version of the test traffic (`ipv4`, `ipv6`); rows before schema 8 were IPv4.
    #[serde(default, deserialize_with = "empty_as_default")]
    pub family: Family,
    /// Of `received`, the datagrams that came over IPv6, by the receiver's own parse (so an
    /// `ipv6` row's traffic is shown to have been IPv6). Schema 8.
    #[serde(default)]
    pub received_ipv6: Option<u64>,
    /// Flows the sender spread its datagrams over (source ports). Schema 8.
    #[serde(default)]
    pub flows: Option<u16>,
    /// Source ports the receiver saw, and the datagrams of its smallest and largest flow.
    /// Schema 8.
    #[serde(default)]
    pub rx_flows: Option<u64>,
    /// See `rx_flows`.
    #[serde(default)]
    pub flow_min: Option<u64>,
    /// See `rx_flows`.
    #[serde(default)]
    pub flow_max: Option<u64>,
    /// Frames the interfaces on the path dropped at transmit during the run (`tx_dropped`
    /// of every interface in the sender's, the receiver's and the namespaces between them:
    /// a veth whose peer's XDP ring was full); empty where they were not read. Schema 9.
    #[serde(default)]
    pub link_drops: Option<u64>,
}

impl Row {
    /// True if sender and receiver read one clock (one host), so one-way latency holds.
    pub fn shares_clock(&self) -> bool {
        self.tx_node == self.rx_node
    }
}

/// A kind written as an empty cell (a `skipped` row of an early version has no app or fate)
/// reads as its default.
fn empty_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    use serde::de::IntoDeserializer;
    let s = String::deserialize(d)?;
    if s.is_empty() {
        Ok(T::default())
    } else {
        T::deserialize(s.into_deserializer())
    }
}

/// The file of interval series beside the runs: `intervals-v1.csv`.
pub const INTERVALS_STEM: &str = "intervals-v1";

/// One interval report of one tool in one run, as a CSV row of `intervals-v1.csv`. Its run
/// is the runs file's row with the same `time`, `setup`, `scenario`, `value`, `app` and
/// `repetition`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntervalRow {
    /// The run's `time` (its row in the runs file).
    pub time: String,
    /// Set-up name.
    pub setup: String,
    /// Scenario name.
    pub scenario: String,
    /// The scenario's value in this run.
    pub value: String,
    /// `mmap`, `udp` or `xdp`.
    pub app: App,
    /// Repetition, from 1.
    pub repetition: u32,
    /// `tx` or `rx`.
    pub side: String,
    /// 1 for the first interval.
    pub interval: u32,
    /// Start, seconds since the tool started measuring (the receiver: since it was ready).
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Packets sent (tx) or received (rx) in the interval.
    pub packets: u64,
    /// Packets per second in the interval.
    pub pps: f64,
    /// Ethernet frame Mbit/s in the interval.
    pub mbps: f64,
    /// rx: change in missing sequence numbers (negative when late arrivals fill gaps).
    pub lost: Option<i64>,
    /// rx: kernel drops in the interval.
    pub kernel_drops: Option<u64>,
    /// rx: median one-way latency of the interval's probes, ns.
    pub latency_p50_ns: Option<u64>,
    /// rx: 99th percentile, ns.
    pub latency_p99_ns: Option<u64>,
}

impl IntervalRow {
    /// The rows of one run's interval reports, keyed by its runs-file row.
    pub fn of_run(
        row: &Row,
        tx: &[crate::report::TxInterval],
        rx: &[crate::report::RxInterval],
    ) -> Vec<IntervalRow> {
        let base = IntervalRow {
            time: row.time.clone(),
            setup: row.setup.clone(),
            scenario: row.scenario.clone(),
            value: row.value.clone(),
            app: row.app,
            repetition: row.repetition,
            ..IntervalRow::default()
        };
        let tx_rows = tx.iter().map(|t| IntervalRow {
            side: "tx".into(),
            interval: t.interval,
            start_s: t.start_s,
            end_s: t.end_s,
            packets: t.sent,
            pps: t.pps,
            mbps: t.mbps,
            ..base.clone()
        });
        let rx_rows = rx.iter().map(|r| IntervalRow {
            side: "rx".into(),
            interval: r.interval,
            start_s: r.start_s,
            end_s: r.end_s,
            packets: r.received,
            pps: r.pps,
            mbps: r.mbps,
            lost: Some(r.lost),
            kernel_drops: Some(r.kernel_drops),
            latency_p50_ns: r.latency.p50_ns,
            latency_p99_ns: r.latency.p99_ns,
            ..base.clone()
        });
        tx_rows.chain(rx_rows).collect()
    }
}

/// Reads `dir`'s interval series (every `intervals-v1*.csv` with the current header); none
/// is an empty list (runs made before intervals existed).
pub fn read_interval_rows(dir: &Path) -> Result<Vec<IntervalRow>, Error> {
    read_csv_rows::<IntervalRow>(dir, INTERVALS_STEM)
}

/// The header line for the current schema.
pub fn header() -> String {
    header_of::<Row>()
}

/// The CSV header line of a row type (its field names, in order).
pub fn header_of<T: Serialize + Default>() -> String {
    let mut w = csv::WriterBuilder::new()
        .has_headers(true)
        .from_writer(Vec::new());
    // Serialising a default row writes the header, then the row; keep the first line.
    let _ = w.serialize(T::default());
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// An open results file.
#[derive(Debug)]
pub struct ResultsFile {
    path: PathBuf,
    file: File,
}

impl ResultsFile {
    /// Opens (or creates) the current schema's file in `dir` for appending. An existing file
    /// with another header is left alone and a new numbered file is used.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        Self::open_with(dir, &format!("runs-v{SCHEMA}"), &header())
    }

    /// Opens (or creates) `dir/STEM.csv` whose first line is `head`, for appending; a file of
    /// that name with another header is left alone and `STEM-2.csv`, ... is used instead.
    pub fn open_with(dir: &Path, stem: &str, head: &str) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(Error::io("create", &dir))?;
        for n in 1.. {
            let name = if n == 1 {
                format!("{stem}.csv")
            } else {
                format!("{stem}-{n}.csv")
            };
            let path = dir.join(name);
            if !path.exists() {
                let mut file = OpenOptions::new()
                    .create_new(true)
                    .append(true)
                    .open(&path)
                    .map_err(Error::io("create", &path))?;
                file.write_all(format!("{head}\n").as_bytes())
                    .and_then(|_| file.sync_data())
                    .map_err(Error::io("write", &path))?;
                return Ok(Self { path, file });
            }
            let mut file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .map_err(Error::io("open", &path))?;
            let mut text = String::new();
            file.read_to_string(&mut text)
                .map_err(Error::io("read", &path))?;
            if text.lines().next() != Some(head) {
                continue;
            }
            if !text.ends_with('\n') {
                // A writer died mid-row: drop the fragment, keep every whole row.
                let keep = text.rfind('\n').map_or(0, |i| i + 1);
                file.set_len(keep as u64)
                    .and_then(|_| file.seek(SeekFrom::End(0)).map(|_| ()))
                    .map_err(Error::io("repair", &path))?;
                eprintln!("note: removed a torn last line from {}", path.display());
            }
            return Ok(Self { path, file });
        }
        unreachable!("the loop above returns")
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one row, whole, and syncs it to disk.
    pub fn append<T: Serialize>(&mut self, row: &T) -> Result<(), Error> {
        let mut w = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        let bad_row = |e: &dyn std::fmt::Display| {
            Error::malformed(&self.path, format!("cannot format a row: {e}"))
        };
        w.serialize(row).map_err(|e| bad_row(&e))?;
        let bytes = w.into_inner().map_err(|e| bad_row(&e))?;
        self.file
            .write_all(&bytes)
            .and_then(|_| self.file.sync_data())
            .map_err(Error::io("append to", &self.path))
    }
}

/// Reads every row of `dir`: earlier schemas' files first (`runs-v1*.csv`, `runs-v2*.csv`,
/// their newer columns empty), then the current schema's, each only from files written with
/// that schema's header. Files with a foreign header are passed over as long as some file
/// has rows.
pub fn read_rows(dir: &Path) -> Result<Vec<Row>, Error> {
    let current = format!("runs-v{SCHEMA}");
    let head = header();
    let mut rows = Vec::new();
    let (mut found, mut first_error) = (false, None);
    for (stem, head) in PAST_SCHEMAS
        .into_iter()
        .chain([(current.as_str(), head.as_str())])
    {
        match read_csv_rows_with::<Row>(dir, stem, head) {
            Ok(Some(r)) => {
                found = true;
                rows.extend(r);
            }
            Ok(None) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (found, first_error) {
        (true, _) => Ok(rows),
        (false, Some(e)) => Err(e),
        (false, None) => Err(Error::Request(format!(
            "no runs-v*.csv results in {}",
            dir.display()
        ))),
    }
}

/// Reads every row of every `STEM*.csv` in `dir` whose header is `T`'s, files in name order.
///
/// A file with another header (from another version, or edited by hand) is what made the
/// writer move on to `STEM-2.csv`; it is passed over here, not an error, unless no file of
/// `dir` has the expected header, which is.
pub fn read_csv_rows<T: DeserializeOwned + Serialize + Default>(
    dir: &Path,
    stem: &str,
) -> Result<Vec<T>, Error> {
    match read_csv_rows_with(dir, stem, &header_of::<T>())? {
        Some(rows) => Ok(rows),
        None => Ok(Vec::new()),
    }
}

/// Rows of `T` from `STEM*.csv` files of an earlier schema whose header is `T`'s without its
/// last `dropped` columns (each of them `#[serde(default)]`, so the rows read with defaults).
pub fn read_csv_rows_before<T: DeserializeOwned + Serialize + Default>(
    dir: &Path,
    stem: &str,
    dropped: usize,
) -> Result<Vec<T>, Error> {
    let head = header_of::<T>();
    let columns: Vec<&str> = head.split(',').collect();
    let kept = columns[..columns.len().saturating_sub(dropped)].join(",");
    Ok(read_csv_rows_with(dir, stem, &kept)?.unwrap_or_default())
}

/// Like [`read_csv_rows`] for files with header `head`; `None` when `dir` has no `STEM*.csv`.
fn read_csv_rows_with<T: DeserializeOwned>(
    dir: &Path,
    stem: &str,
    head: &str,
) -> Result<Option<Vec<T>>, Error> {
    if !dir.is_dir() {
        return Err(Error::Request(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(Error::io("read", &dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(stem) && n.ends_with(".csv"))
        })
        .collect();
    files.sort();
    let (ours, foreign): (Vec<PathBuf>, Vec<PathBuf>) = files
        .into_iter()
        .partition(|f| std::fs::read_to_string(f).is_ok_and(|t| t.lines().next() == Some(head)));
    if ours.is_empty() && foreign.is_empty() {
        return Ok(None);
    }
    if ours.is_empty() && !foreign.is_empty() {
        return Err(Error::malformed(
            dir,
            format!(
                "no {stem}*.csv with this version's columns (other headers in {})",
                foreign
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut rows = Vec::new();
    for f in ours {
        let bytes = std::fs::read(&f).map_err(Error::io("read", &f))?;
        rows.extend(parse_csv_rows(&f, &bytes)?);
    }
    Ok(Some(rows))
}

/// The rows of one CSV file's bytes (header first), `origin` naming it in errors: a row that
/// does not parse as `T` is an error naming the file and the line.
pub fn parse_csv_rows<T: DeserializeOwned>(origin: &Path, bytes: &[u8]) -> Result<Vec<T>, Error> {
    csv::Reader::from_reader(bytes)
        .deserialize()
        .map(|row| row.map_err(|e| Error::malformed(origin, e)))
        .collect()
}

/// Now as RFC 3339 UTC (`2026-11-22T01:02:03Z`).
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    utc(secs)
}

/// Seconds since the epoch as RFC 3339 UTC.
pub fn utc(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + std::time::Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pktmmap-results-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn row(value: &str) -> Row {
        Row {
            schema: SCHEMA,
            setup: "native".into(),
            app: App::Mmap,
            value: value.into(),
            pps: Some(123.5),
            status: Status::Ok,
            reason: "a, \"quoted\" reason".into(),
            ..Row::default()
        }
    }

    #[test]
    fn schema_1_files_are_still_read_with_the_new_columns_empty() {
        let d = tmpdir("v1");
        std::fs::create_dir_all(&d).unwrap();
        let v1_row = "1,2026-11-22T00:38:03Z,native,netns,veth,stack,false,default,count,count,200000,mmap,1,500Mbps,200000,64,200000,342265.4,0,200000,200000,0,0,0,0,0,1,2,0.58,342346.7,290.3,327167,750591,1079295,1253375,1436671,0.58,0.03,ok,,6.18,Xeon,0.1.0,b4113a9";
        // A skipped set-up, as the first version wrote it: no app, no fate (found in the
        // committed thesis run, which `plot` could not read).
        let skipped = "1,2026-11-22T02:16:12Z,macvlan-trunk,netns,,,false,thesis,,,,,0,,0,0,,,,,,,,,,,,,,,,,,,,,,,skipped,no 802.1Q,6.18,Xeon,0.1.0,b4113a9";
        std::fs::write(
            d.join("runs-v1.csv"),
            format!("{V1_HEADER}\n{v1_row}\n{skipped}\n"),
        )
        .unwrap();
        ResultsFile::open(&d).unwrap().append(&row("7")).unwrap();
        let mut rows = read_rows(&d).unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        let skipped = rows.remove(1);
        assert_eq!(
            (skipped.status, skipped.app, skipped.fate),
            (Status::Skipped, App::Mmap, Fate::Stack)
        );
        assert_eq!((rows[0].schema, rows[0].value.as_str()), (1, "200000"));
        assert_eq!(
            (rows[0].tx_method.as_str(), rows[0].rx_mode.as_str()),
            ("", "")
        );
        assert_eq!((rows[1].schema, rows[1].value.as_str()), (SCHEMA, "7"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn schema_3_files_are_read_beside_schema_4_with_the_nodes_empty() {
        let d = tmpdir("v3");
        std::fs::create_dir_all(&d).unwrap();
        let v3_row = "3,2026-11-23T14:12:57Z,overlay,netns,vxlan,stack,false,default,count,count,200000,mmap,tpacket_v3,,1,500Mbps,200000,64,200000,342265.4,0,200000,200000,0,0,0,0,0,1,2,0.58,342346.7,290.3,1,2,3,4,5,0.58,0.03,ok,,6.18,Xeon,0.1.0,b4113a9,";
        std::fs::write(d.join("runs-v3.csv"), format!("{V3_HEADER}\n{v3_row}\n")).unwrap();
        let mut swarm = row("9");
        swarm.engine = Engine::Swarm;
        (swarm.tx_node, swarm.rx_node) = ("node1".into(), "node2".into());
        ResultsFile::open(&d).unwrap().append(&swarm).unwrap();
        let rows = read_rows(&d).unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!((rows[0].schema, rows[0].tx_node.as_str()), (3, ""));
        assert!(rows[0].shares_clock());
        assert_eq!(
            (rows[1].engine, rows[1].rx_node.as_str()),
            (Engine::Swarm, "node2")
        );
        assert!(!rows[1].shares_clock());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn schema_8_files_are_read_beside_schema_9_with_link_drops_empty() {
        let d = tmpdir("v8");
        std::fs::create_dir_all(&d).unwrap();
        let v8_row = "8,2026-12-07T12:08:56Z,native,netns,veth,xdp-redirect,false,quick,count,count,20000,xdp,af_xdp_copy,\"native xdp, copy\",1,500Mbps,20000,64,20000,264291.1,20,19205,19205,795,0,0,105,0,1,2,0.05,368235.8,312.3,1,2,3,4,5,0.06,0.04,ok,,6.18,EPYC,0.1.0,252adfe,,,,,,,,,,,,,8388608,,ipv4,0,1,1,19205,19205";
        std::fs::write(d.join("runs-v8.csv"), format!("{V8_HEADER}\n{v8_row}\n")).unwrap();
        let mut now = row("9");
        now.link_drops = Some(690);
        ResultsFile::open(&d).unwrap().append(&now).unwrap();
        let text = std::fs::read_to_string(d.join(format!("runs-v{SCHEMA}.csv"))).unwrap();
        assert!(
            text.lines()
                .next()
                .unwrap()
                .ends_with(",flow_max,link_drops"),
            "{text}"
        );
        let rows = read_rows(&d).unwrap();
        assert_eq!(
            (
                rows[0].schema,
                rows[0].lost,
                rows[0].kernel_drops,
                rows[0].link_drops
            ),
            (8, Some(795), Some(105), None)
        );
        assert_eq!(rows[0].flow_max, Some(19_205));
        assert_eq!((rows[1].schema, rows[1].link_drops), (SCHEMA, Some(690)));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn schema_7_files_are_read_beside_schema_8_as_ipv4() {
        let d = tmpdir("v7");
        std::fs::create_dir_all(&d).unwrap();
        let v7_row = "7,2026-12-06T21:30:56Z,ovs,netns,ovs-netdev,stack,false,default,count,count,200000,mmap,tpacket_v3,,1,500Mbps,200000,64,200000,342265.4,0,50000,50000,150000,0,0,0,0,1,2,0.58,342346.7,290.3,1,2,3,4,5,0.58,0.03,ok,,6.18,Xeon,0.1.0,b4113a9,,,,,,,,,,,,,4194304,150000";
        std::fs::write(d.join("runs-v7.csv"), format!("{V7_HEADER}\n{v7_row}\n")).unwrap();
        let mut v6 = row("9");
        v6.family = Family::V6;
        ResultsFile::open(&d).unwrap().append(&v6).unwrap();
        let text = std::fs::read_to_string(d.join(format!("runs-v{SCHEMA}.csv"))).unwrap();
        assert!(
            text.lines().next().unwrap().ends_with(
                ",switch_drops,family,received_ipv6,flows,rx_flows,flow_min,flow_max,link_drops"
            ),
            "{text}"
        );
        assert!(
            text.lines().nth(1).unwrap().ends_with(",ipv6,,,,,,"),
            "{text}"
        );
        let rows = read_rows(&d).unwrap();
        assert_eq!(
            (rows[0].schema, rows[0].switch_drops, rows[0].family),
            (7, Some(150_000), Family::V4)
        );
        assert_eq!(rows[0].received_ipv6, None);
        assert_eq!((rows[1].schema, rows[1].family), (SCHEMA, Family::V6));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn schema_6_files_are_read_beside_schema_7_with_switch_drops_empty() {
        let d = tmpdir("v6");
        std::fs::create_dir_all(&d).unwrap();
        let v6_row = "6,2026-12-06T21:30:56Z,ovs,netns,ovs-netdev,stack,false,default,count,count,200000,mmap,tpacket_v3,,1,500Mbps,200000,64,200000,342265.4,0,50000,50000,150000,0,0,0,0,1,2,0.58,342346.7,290.3,1,2,3,4,5,0.58,0.03,ok,,6.18,Xeon,0.1.0,b4113a9,,,,,,,,,,,,,4194304";
        std::fs::write(d.join("runs-v6.csv"), format!("{V6_HEADER}\n{v6_row}\n")).unwrap();
        let mut ovs = row("9");
        ovs.switch_drops = Some(150_000);
        ResultsFile::open(&d).unwrap().append(&ovs).unwrap();
        let rows = read_rows(&d).unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(
            (rows[0].schema, rows[0].lost, rows[0].switch_drops),
            (6, Some(150_000), None)
        );
        assert_eq!(rows[0].rx_buffer_bytes, Some(4_194_304));
        assert_eq!(
            (rows[1].schema, rows[1].switch_drops),
            (SCHEMA, Some(150_000))
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn schema_5_files_are_read_beside_schema_6_with_the_gso_columns_empty() {
        let d = tmpdir("v5");
        std::fs::create_dir_all(&d).unwrap();
        let v5_row = "5,2026-11-24T00:56:22Z,native,netns,veth,stack,false,default,count,count,200000,udp,sendto,,1,500Mbps,200000,64,200000,342265.4,0,200000,200000,0,0,0,0,0,1,2,0.58,342346.7,290.3,1,2,3,4,5,0.58,0.03,ok,,6.18,Xeon,0.1.0,b4113a9,,node1,node2,100,2000,1999,41000,1,2,3";
        std::fs::write(d.join("runs-v5.csv"), format!("{V5_HEADER}\n{v5_row}\n")).unwrap();
        let mut gso = row("9");
        (gso.tx_gso_segments, gso.rx_gso_frames) = (Some(64), Some(3125));
        gso.rx_buffer_bytes = Some(67_108_864);
        ResultsFile::open(&d).unwrap().append(&gso).unwrap();
        let rows = read_rows(&d).unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!((rows[0].schema, rows[0].rtt_p50_ns), (5, Some(41_000)));
        assert_eq!(
            (rows[0].tx_gso_segments, rows[0].rx_buffer_bytes),
            (None, None)
        );
        assert_eq!(
            (
                rows[1].schema,
                rows[1].tx_gso_segments,
                rows[1].rx_gso_frames
            ),
            (SCHEMA, Some(64), Some(3125))
        );
        assert_eq!(rows[1].rx_buffer_bytes, Some(67_108_864));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn schema_4_files_are_read_beside_schema_5_with_the_round_trips_empty() {
        let d = tmpdir("v4");
        std::fs::create_dir_all(&d).unwrap();
        let v4_row = "4,2026-11-24T00:56:22Z,native,netns,veth,stack,false,default,count,count,200000,udp,sendto,,1,500Mbps,200000,64,200000,342265.4,0,200000,200000,0,0,0,0,0,1,2,0.58,342346.7,290.3,1,2,3,4,5,0.58,0.03,ok,,6.18,Xeon,0.1.0,b4113a9,,node1,node2";
        std::fs::write(d.join("runs-v4.csv"), format!("{V4_HEADER}\n{v4_row}\n")).unwrap();
        let mut timed = row("9");
        (timed.reflect_every, timed.reflections_expected) = (Some(100), Some(2000));
        (timed.reflections, timed.rtt_p50_ns) = (Some(1999), Some(41_000));
        ResultsFile::open(&d).unwrap().append(&timed).unwrap();
        let rows = read_rows(&d).unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!((rows[0].schema, rows[0].rx_node.as_str()), (4, "node2"));
        assert_eq!((rows[0].reflect_every, rows[0].rtt_p50_ns), (None, None));
        assert_eq!(
            (rows[1].schema, rows[1].reflections, rows[1].rtt_p50_ns),
            (SCHEMA, Some(1999), Some(41_000))
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn schema_2_files_are_read_beside_schema_3_with_emulated_empty() {
        let d = tmpdir("v2");
        std::fs::create_dir_all(&d).unwrap();
        let v2_row = "2,2026-11-23T11:48:34Z,native,netns,veth,stack,false,quick,size,size,1024,xdp,af_xdp_copy,\"native xdp, copy\",1,500Mbps,20000,1024,20000,58000.5,0,20000,20000,0,0,0,0,0,1,2,0.3,58000.1,491.2,1,2,3,4,5,0.1,0.2,ok,,6.18.44,AMD EPYC,0.1.0,3fa7a9224048";
        std::fs::write(d.join("runs-v2.csv"), format!("{V2_HEADER}\n{v2_row}\n")).unwrap();
        let mut emulated = row("9");
        emulated.emulated = "tcg".into();
        ResultsFile::open(&d).unwrap().append(&emulated).unwrap();
        assert!(d.join(format!("runs-v{SCHEMA}.csv")).is_file());
        let rows = read_rows(&d).unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(
            (rows[0].schema, rows[0].app, rows[0].rx_mode.as_str()),
            (2, App::Xdp, "native xdp, copy")
        );
        assert_eq!(rows[0].emulated, "");
        assert_eq!(
            (rows[1].value.as_str(), rows[1].emulated.as_str()),
            ("9", "tcg")
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_foreign_header_moves_the_writer_on_and_the_reader_past_it() {
        let d = tmpdir("foreign");
        std::fs::create_dir_all(&d).unwrap();
        let file = |suffix: &str| d.join(format!("runs-v{SCHEMA}{suffix}.csv"));
        std::fs::write(file(""), "setup,pps\nnative,1\n").unwrap();
        let mut f = ResultsFile::open(&d).unwrap();
        assert_eq!(f.path(), file("-2"));
        f.append(&row("7")).unwrap();
        let rows = read_rows(&d).unwrap();
        assert_eq!(rows.len(), 1, "the foreign file is passed over");
        assert_eq!(rows[0].value, "7");
        assert_eq!(
            std::fs::read_to_string(file("")).unwrap(),
            "setup,pps\nnative,1\n",
            "never rewritten"
        );
        std::fs::remove_file(file("-2")).unwrap();
        let e = read_rows(&d).unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "no runs-v{SCHEMA}*.csv with this version's columns"
            )),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn rows_round_trip_and_appending_keeps_earlier_rows() {
        let d = tmpdir("roundtrip");
        ResultsFile::open(&d).unwrap().append(&row("1")).unwrap();
        ResultsFile::open(&d).unwrap().append(&row("2")).unwrap();
        let rows = read_rows(&d).unwrap();
        assert_eq!(rows, vec![row("1"), row("2")]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_torn_last_line_is_cut_and_whole_rows_stay() {
        let d = tmpdir("torn");
        ResultsFile::open(&d).unwrap().append(&row("1")).unwrap();
        let path = d.join(format!("runs-v{SCHEMA}.csv"));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"1,2026-11-22T00:00:00Z,nat").unwrap();
        ResultsFile::open(&d).unwrap().append(&row("2")).unwrap();
        assert_eq!(read_rows(&d).unwrap(), vec![row("1"), row("2")]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_file_with_other_columns_is_never_appended_to() {
        let d = tmpdir("schema");
        std::fs::create_dir_all(&d).unwrap();
        let old = d.join(format!("runs-v{SCHEMA}.csv"));
        std::fs::write(&old, "some,other,columns\n1,2,3\n").unwrap();
        let f = ResultsFile::open(&d).unwrap();
        assert_eq!(f.path(), d.join(format!("runs-v{SCHEMA}-2.csv")));
        assert_eq!(
            std::fs::read_to_string(&old).unwrap(),
            "some,other,columns\n1,2,3\n"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_header_names_every_column_once() {
        let h = header();
        assert!(h.starts_with("schema,time,setup,engine,datapath,fate,rps,"));
        let cols: Vec<&str> = h.split(',').collect();
        let mut sorted = cols.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), cols.len());
        assert!(
            cols.contains(&"kernel_drops")
                && cols.contains(&"latency_p99_9_ns")
                && cols.contains(&"git_commit")
        );
    }

    #[test]
    fn formats_utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_795_306_596), "2026-11-22T00:16:36Z");
    }
}
