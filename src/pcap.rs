//! Captures that leave the tools and come back: `mmap-rx --write` writes what its ring
//! received as pcap or pcapng (nanosecond kernel timestamps), and `mmap-tx --pcap` /
//! `pktmmap inject` replay a capture's Ethernet frames through a TX ring. The file formats
//! are the `pcap-file` crate's; this module decides what is written, when, and what a file
//! must hold to be replayed.
//!
//! Writing is off the hot path: a receive thread copies the used part of each ring block
//! (one copy per block, into a recycled buffer) and a writer thread turns the block's packets
//! into records. Every packet counted is in the file; a writer that falls behind holds the
//! receive thread back (bounded memory), so the ring overruns and the kernel's drop counter
//! says so. A write that fails (a full disk) cuts the file back to its last whole packet and
//! stops the receiver with the error.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgReader, PcapNgWriter};
use pcap_file::{DataLink, TsResolution};
use serde::{Deserialize, Serialize};

use crate::ring::BlockView;
use crate::wire::checksum;
use crate::wire::header::{ethernet, ipv4, ipv6, udp};
use crate::wire::{Probe, PROBE_LEN};

/// The capture file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Classic pcap with nanosecond timestamps (magic a1b23c4d).
    Pcap,
    /// pcapng, one interface with `if_tsresol` 9 (nanoseconds).
    Pcapng,
}

impl Format {
    /// pcapng for a `.pcapng` file name, pcap otherwise.
    pub fn for_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("pcapng") => Format::Pcapng,
            _ => Format::Pcap,
        }
    }
}

/// What a capture wrote, for the receiver's summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureSummary {
    /// The file.
    pub path: String,
    /// Its format.
    pub format: Option<Format>,
    /// Packets written.
    pub packets: u64,
    /// Bytes of the file.
    pub bytes: u64,
    /// Packets cut to the snap length.
    pub truncated: u64,
}

/// Why a capture or a replay failed.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// The output could not be created or written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The input could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The input is not a capture this tool replays.
    #[error("{path}: {what}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong, naming the packet where there is one.
        what: String,
    },
    /// A frame does not fit the interface.
    #[error("{path}: packet {index} is {len} bytes, more than the {max} an Ethernet frame of this MTU may have (--skip-oversize skips and counts such packets)")]
    Oversize {
        /// The file.
        path: String,
        /// 1-based packet number in the file.
        index: u64,
        /// Its length.
        len: usize,
        /// The largest frame the interface sends.
        max: usize,
    },
}

/// How many buffered blocks a writer may fall behind before the receive thread waits.
const QUEUE_BLOCKS: usize = 16;

/// The file being written: the encoder and where the last whole packet ends.
struct Sink {
    path: String,
    file: File,
    encoder: Encoder,
    staging: Staging,
    /// File length after the last whole packet written.
    good_len: u64,
    snaplen: u32,
    summary: CaptureSummary,
}

enum Encoder {
    Pcap(PcapWriter<Staging>),
    Pcapng(PcapNgWriter<Staging>),
}

/// Where the encoders put records until they are written to the file together.
#[derive(Clone, Default)]
struct Staging(Arc<Mutex<Vec<u8>>>);

impl Write for Staging {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn write_error(&self, source: std::io::Error) -> PcapError {
        PcapError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Encodes every packet of a block copy, then writes them with one `write_all`; on
    /// failure the file is cut back to its last whole packet.
    fn write_block(&mut self, block: &[u8]) -> Result<(), PcapError> {
        let Ok(view) = BlockView::parse(block) else {
            return Ok(());
        };
        let (mut packets, mut truncated) = (0, 0);
        for p in view.packets().map_while(Result::ok) {
            let keep = p.data.len().min(self.snaplen as usize);
            if keep < p.data.len() {
                truncated += 1;
            }
            let ts = Duration::from_nanos(p.timestamp_ns);
            let data = &p.data[..keep];
            let encoded = match &mut self.encoder {
                Encoder::Pcap(w) => w
                    .write_packet(&PcapPacket::new(ts, p.wire_len, data))
                    .map(|_| ()),
                Encoder::Pcapng(w) => w
                    .write_pcapng_block(EnhancedPacketBlock {
                        interface_id: 0,
                        timestamp: ts,
                        original_len: p.wire_len,
                        data: Cow::Borrowed(data),
                        options: Vec::new(),
                    })
                    .map(|_| ()),
            };
            encoded.map_err(|e| self.write_error(std::io::Error::other(e.to_string())))?;
            packets += 1;
        }
        // Counted once they are in the file.
        self.flush()?;
        self.summary.packets += packets;
        self.summary.truncated += truncated;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), PcapError> {
        let staging = Arc::clone(&self.staging.0);
        let mut bytes = staging.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = self.file.write_all(&bytes) {
            // Whatever part of this write landed is cut off: the file ends on a whole packet.
            let _ = self.file.set_len(self.good_len);
            return Err(self.write_error(e));
        }
        self.good_len += bytes.len() as u64;
        self.summary.bytes = self.good_len;
        bytes.clear();
        Ok(())
    }
}

/// A capture being written by its own thread. Each receive thread holds a [`CaptureLane`].
#[derive(Debug)]
pub struct Capture {
    lane: CaptureLane,
    writer: std::thread::JoinHandle<(CaptureSummary, Option<String>)>,
}

/// A receive thread's way into the capture: block copies go to the writer, buffers come
/// back to be reused.
#[derive(Debug, Clone)]
pub struct CaptureLane {
    blocks: SyncSender<Vec<u8>>,
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
    failed: Arc<Mutex<Option<String>>>,
}

impl CaptureLane {
    /// Hands the used part of a V3 block to the writer (waits while the writer is
    /// [`QUEUE_BLOCKS`] behind). An error is the writer's failure (a full disk): the
    /// receiver stops with it.
    pub fn block(&self, block: &[u8]) -> Result<(), String> {
        if let Some(e) = self
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Err(e);
        }
        let used = BlockView::parse(block)
            .map(|v| (v.descriptor().block_len as usize).min(block.len()))
            .unwrap_or(0);
        if used == 0 {
            return Ok(());
        }
        let mut buf = self
            .spare
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(&block[..used]);
        self.blocks
            .send(buf)
            .map_err(|_| "the capture writer stopped".to_string())
    }
}

impl Capture {
    /// Creates `path` (never over an existing file) and writes the file header now, so a
    /// path that cannot be written fails before any packet is received.
    pub fn create(path: &Path, format: Format, snaplen: u32) -> Result<Capture, PcapError> {
        let name = path.display().to_string();
        let io = |source| PcapError::Write {
            path: name.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io)?;
        let staging = Staging::default();
        let encoder = match format {
            Format::Pcap => Encoder::Pcap(
                PcapWriter::with_header(
                    staging.clone(),
                    PcapHeader {
                        snaplen,
                        datalink: DataLink::ETHERNET,
                        ts_resolution: TsResolution::NanoSecond,
                        ..PcapHeader::default()
                    },
                )
                .map_err(|e| io(std::io::Error::other(e.to_string())))?,
            ),
            Format::Pcapng => {
                let mut w = PcapNgWriter::new(staging.clone())
                    .map_err(|e| io(std::io::Error::other(e.to_string())))?;
                w.write_pcapng_block(InterfaceDescriptionBlock {
                    linktype: DataLink::ETHERNET,
                    snaplen,
                    options: vec![InterfaceDescriptionOption::IfTsResol(9)],
                })
                .map_err(|e| io(std::io::Error::other(e.to_string())))?;
                Encoder::Pcapng(w)
            }
        };
        let mut sink = Sink {
            path: name.clone(),
            file: {
                file.flush().map_err(io)?;
                file
            },
            encoder,
            staging,
            good_len: 0,
            snaplen,
            summary: CaptureSummary {
                path: name,
                format: Some(format),
                ..CaptureSummary::default()
            },
        };
        sink.flush()?;
        let (blocks, queue): (SyncSender<Vec<u8>>, Receiver<Vec<u8>>) =
            mpsc::sync_channel(QUEUE_BLOCKS);
        let spare = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::new(Mutex::new(None));
        let (spare_w, failed_w) = (Arc::clone(&spare), Arc::clone(&failed));
        let writer = std::thread::spawn(move || {
            let mut error = None;
            for block in queue {
                if error.is_none() {
                    if let Err(e) = sink.write_block(&block) {
                        let e = e.to_string();
                        *failed_w.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
                        error = Some(e);
                    }
                }
                let mut spare = spare_w.lock().unwrap_or_else(|p| p.into_inner());
                if spare.len() < QUEUE_BLOCKS {
                    spare.push(block);
                }
            }
            if error.is_none() {
                if let Err(e) = sink.file.sync_data() {
                    error = Some(sink.write_error(e).to_string());
                }
            }
            (sink.summary, error)
        });
        Ok(Capture {
            lane: CaptureLane {
                blocks,
                spare,
                failed,
            },
            writer,
        })
    }

    /// A handle for one receive thread.
    pub fn lane(&self) -> CaptureLane {
        self.lane.clone()
    }

    /// Waits for the writer to write everything handed over (every lane must be dropped
    /// first) and returns what it wrote, with its error if it failed.
    pub fn finish(self) -> (CaptureSummary, Option<String>) {
        drop(self.lane);
        self.writer.join().unwrap_or_else(|_| {
            (
                CaptureSummary::default(),
                Some("the capture writer panicked".into()),
            )
        })
    }
}

/// Frames read from a capture to replay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replay {
    /// The frames, in file order.
    pub frames: Vec<Vec<u8>>,
    /// Where a probe can be stamped in each frame: the UDP payload of an untagged IPv4 UDP
    /// frame (not a fragment) or IPv6 UDP frame (no extension header) with room for the probe.
    pub probe_at: Vec<Option<usize>>,
    /// Packets skipped: longer than the interface's frames (with `skip_oversize`).
    pub skipped_oversize: u64,
    /// Packets skipped: captured shorter than they were on the wire (cut by the snap
    /// length), which would be sent malformed.
    pub skipped_truncated: u64,
}

impl Replay {
    /// Readies every frame that has room for a probe for a stamped replay
    /// ([`prepare_stamp`]).
    pub fn prepare_stamps(&mut self) {
        for (frame, at) in self.frames.iter_mut().zip(&self.probe_at) {
            if let Some(at) = *at {
                prepare_stamp(frame, at);
            }
        }
    }
}

/// The largest capture replayed: frames are held in memory.
pub const MAX_REPLAY_BYTES: usize = 256 << 20;

/// Reads every Ethernet frame of a pcap or pcapng file for replay. Frames longer than
/// `max_frame` are an error naming the packet, or skipped and counted with `skip_oversize`;
/// frames cut by the snap length are skipped and counted. A truncated file, another link
/// type or an empty capture is an error.
pub fn read_replay(
    path: &Path,
    max_frame: usize,
    skip_oversize: bool,
) -> Result<Replay, PcapError> {
    let name = path.display().to_string();
    let fmt = |what: String| PcapError::Format {
        path: name.clone(),
        what,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_REPLAY_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|source| PcapError::Open {
            path: name.clone(),
            source,
        })?;
    if bytes.len() > MAX_REPLAY_BYTES {
        return Err(fmt(format!(
            "larger than the {} MiB a replay holds in memory",
            MAX_REPLAY_BYTES >> 20
        )));
    }
    parse_replay(&name, &bytes, max_frame, skip_oversize)
}

/// [`read_replay`] of a capture's bytes, `name` naming it in errors: every frame kept is at
/// least an Ethernet header and at most `max_frame` bytes, and exactly the bytes the file
/// gives for it.
pub fn parse_replay(
    name: &str,
    bytes: &[u8],
    max_frame: usize,
    skip_oversize: bool,
) -> Result<Replay, PcapError> {
    let fmt = |what: String| PcapError::Format {
        path: name.to_string(),
        what,
    };
    let mut r = Reading {
        path: name.to_string(),
        max_frame,
        skip_oversize,
        index: 0,
        replay: Replay::default(),
    };
    match bytes.get(..4) {
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => {
            let mut reader = PcapNgReader::new(bytes).map_err(|e| fmt(e.to_string()))?;
            let mut links = Vec::new();
            while let Some(block) = reader.next_block() {
                let block = block.map_err(|e| r.corrupt(e))?;
                match block {
                    Block::InterfaceDescription(i) => links.push(i.linktype),
                    Block::EnhancedPacket(p) => {
                        r.check_link(links.get(p.interface_id as usize).copied())?;
                        r.take(&p.data, p.original_len)?;
                    }
                    // A Simple Packet Block has no interface id: it belongs to the first
                    // interface (draft-ietf-opsawg-pcapng, "Simple Packet Block"), whose link
                    // type is checked the same way.
                    // Its data runs to the block's end, padding included: the packet is the
                    // first `original_len` bytes of it (fewer if the snap length cut it).
                    Block::SimplePacket(p) => {
                        r.check_link(links.first().copied())?;
                        let len = p.data.len().min(p.original_len as usize);
                        r.take(&p.data[..len], p.original_len)?;
                    }
                    _ => {}
                }
            }
        }
        _ => {
            let mut reader = PcapReader::new(bytes).map_err(|e| fmt(e.to_string()))?;
            let link = reader.header().datalink;
            if link != DataLink::ETHERNET {
                return Err(fmt(format!(
                    "link type {link:?}, not Ethernet: only Ethernet frames can be replayed"
                )));
            }
            // Raw records: pcap-file 2.0's checked ones refuse a packet whose wire length
            // exceeds the snap length, which is what a snap length is for.
            while let Some(p) = reader.next_raw_packet() {
                let p = p.map_err(|e| r.corrupt(e))?;
                r.take(&p.data, p.orig_len)?;
            }
        }
    }
    if r.replay.frames.is_empty() {
        return Err(fmt(format!(
            "no frame to replay ({} packets read, {} too long, {} truncated)",
            r.index, r.replay.skipped_oversize, r.replay.skipped_truncated
        )));
    }
    Ok(r.replay)
}

/// A capture being read for replay.
struct Reading {
    path: String,
    max_frame: usize,
    skip_oversize: bool,
    index: u64,
    replay: Replay,
}

impl Reading {
    /// Keeps, skips or refuses the next packet.
    fn take(&mut self, data: &[u8], orig_len: u32) -> Result<(), PcapError> {
        self.index += 1;
        if (data.len() as u64) < u64::from(orig_len) {
            self.replay.skipped_truncated += 1;
            return Ok(());
        }
        if data.len() < ethernet::HEADER_LEN {
            return Err(PcapError::Format {
                path: self.path.clone(),
                what: format!(
                    "packet {} is {} bytes, shorter than an Ethernet header",
                    self.index,
                    data.len()
                ),
            });
        }
        if data.len() > self.max_frame {
            if self.skip_oversize {
                self.replay.skipped_oversize += 1;
                return Ok(());
            }
            return Err(PcapError::Oversize {
                path: self.path.clone(),
                index: self.index,
                len: data.len(),
                max: self.max_frame,
            });
        }
        self.replay.probe_at.push(probe_offset(data));
        self.replay.frames.push(data.to_vec());
        Ok(())
    }

    /// Refuses the next packet unless its interface is Ethernet.
    fn check_link(&self, link: Option<DataLink>) -> Result<(), PcapError> {
        if link == Some(DataLink::ETHERNET) {
            return Ok(());
        }
        Err(PcapError::Format {
            path: self.path.clone(),
            what: format!(
                "packet {}: link type {link:?}, not Ethernet",
                self.index + 1
            ),
        })
    }

    /// The file ends inside a record, or a record makes no sense.
    fn corrupt(&self, e: pcap_file::PcapError) -> PcapError {
        PcapError::Format {
            path: self.path.clone(),
            what: format!("after packet {}: {e} (truncated or corrupt)", self.index),
        }
    }
}

/// Where a probe fits in `frame`: the UDP payload of an untagged IPv4 UDP frame that is not a
/// fragment, or of an untagged IPv6 frame whose next header is UDP (a frame with an extension
/// header is not walked), if the payload holds [`PROBE_LEN`] bytes.
pub fn probe_offset(frame: &[u8]) -> Option<usize> {
    let eth = ethernet::Frame::new_checked(frame)?;
    let (ip_header_len, ip_payload) = match eth.ethertype() {
        ethernet::ETHERTYPE_IPV4 => {
            let ip = ipv4::Packet::new_checked(eth.payload()).ok()?;
            if ip.protocol() != ipv4::PROTOCOL_UDP || ip.is_fragment() {
                return None;
            }
            (ip.header_len(), ip.into_payload())
        }
        ethernet::ETHERTYPE_IPV6 => {
            let ip = ipv6::Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != ipv4::PROTOCOL_UDP {
                return None;
            }
            (ipv6::HEADER_LEN, ip.into_payload())
        }
        _ => return None,
    };
    let datagram = udp::Datagram::new_checked(ip_payload)?;
    if !datagram.len_ok() || datagram.payload().len() < PROBE_LEN {
        return None;
    }
    Some(ethernet::HEADER_LEN + ip_header_len + udp::HEADER_LEN)
}

/// Readies a frame for [`stamp_probe`] at `at` (from [`probe_offset`]), once before a stamped
/// replay: an IPv4 datagram's UDP checksum is cleared (0: none, which IPv4 allows), an IPv6
/// datagram's computed afresh (IPv6 requires one, and a capture taken at a sender with
/// checksum offload holds only the pseudo-header's partial sum), so that stamping only has to
/// update it.
pub fn prepare_stamp(frame: &mut [u8], at: usize) {
    let udp_at = at - udp::HEADER_LEN;
    let checksum_at = udp_at + udp::field::CHECKSUM.start;
    frame[checksum_at..checksum_at + 2].copy_from_slice(&[0, 0]);
    if frame[ethernet::field::ETHERTYPE] != ethernet::ETHERTYPE_IPV6.to_be_bytes() {
        return;
    }
    let Ok(ip) = ipv6::Packet::new_checked(&frame[ethernet::HEADER_LEN..]) else {
        return;
    };
    let (src, dst) = (ip.src().into(), ip.dst().into());
    let datagram = &frame[udp_at..];
    let len = udp::Datagram::new_checked(datagram).map_or(0, |d| d.len_field());
    let sum = checksum::accumulate(udp::pseudo_header_sum(src, dst, len), &datagram[..len]);
    let value = match !checksum::fold(sum) {
        0 => 0xffff,
        v => v,
    };
    frame[checksum_at..checksum_at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Stamps a probe into a replayed frame's UDP payload at `at` (from [`probe_offset`], the
/// frame readied by [`prepare_stamp`]) and updates the UDP checksum for the new bytes (RFC
/// 1624's incremental update: twelve words, not the whole datagram); a checksum of 0 (an IPv4
/// datagram without one) stays 0.
pub fn stamp_probe(frame: &mut [u8], at: usize, probe: Probe) {
    // The UDP checksum is the last field of the UDP header, just before the payload; the
    // probe starts on a 16-bit word of the datagram (8 bytes in), as the checksum counts them.
    let checksum_at = at - udp::HEADER_LEN + udp::field::CHECKSUM.start;
    let old = u16::from_be_bytes([frame[checksum_at], frame[checksum_at + 1]]);
    let region = &mut frame[at..at + PROBE_LEN];
    // HC' = ~(~HC + ~m + m') over every word m the probe replaces by m'.
    let mut sum = u64::from(!old);
    for w in region.chunks_exact(2) {
        sum += u64::from(!u16::from_be_bytes([w[0], w[1]]));
    }
    probe.write(region);
    if old == 0 {
        return;
    }
    let value = match !checksum::fold(checksum::accumulate(sum, region)) {
        0 => 0xffff,
        v => v,
    };
    frame[checksum_at..checksum_at + 2].copy_from_slice(&value.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::block::synth::block;
    use crate::wire::frame::fixture;
    use std::path::PathBuf;

    fn frame(seq: u64, size: usize) -> Vec<u8> {
        fixture::frame(size, 5, seq, 1)
    }

    fn scratch(tag: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("pktmmap-pcap-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn blocks_written_as_pcap_and_pcapng_read_back_as_the_same_frames() {
        let frames: Vec<Vec<u8>> = (0..5).map(|i| frame(i, 64 + 100 * i as usize)).collect();
        let refs: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
        for format in [Format::Pcap, Format::Pcapng] {
            let path = scratch(&format!("{format:?}"));
            let c = Capture::create(&path, format, 65535).unwrap();
            let lane = c.lane();
            lane.block(&block(16384, &refs[..3], 1_000_000_007, 66))
                .unwrap();
            lane.block(&block(16384, &refs[3..], 2_000_000_009, 66))
                .unwrap();
            drop(lane);
            let (summary, error) = c.finish();
            assert_eq!(error, None);
            assert_eq!(summary.packets, 5);
            assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
            let replay = read_replay(&path, 1514, false).unwrap();
            assert_eq!(replay.frames, frames, "{format:?}");
            assert!(replay.probe_at.iter().all(|p| *p == Some(42)));
            // An existing file is never overwritten.
            let e = Capture::create(&path, format, 65535).unwrap_err();
            assert!(e.to_string().contains("exists"), "{e}");
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn nanosecond_timestamps_and_the_snap_length_are_kept() {
        let path = scratch("ts");
        let c = Capture::create(&path, Format::Pcap, 60).unwrap();
        let f = frame(0, 200);
        c.lane()
            .block(&block(8192, &[&f], 1_700_000_000_123_456_789, 66))
            .unwrap();
        let (summary, _) = c.finish();
        assert_eq!(summary.truncated, 1);
        let mut r = PcapReader::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(r.header().ts_resolution, TsResolution::NanoSecond);
        let p = r.next_raw_packet().unwrap().unwrap();
        assert_eq!((p.ts_sec, p.ts_frac), (1_700_000_000, 123_456_789));
        assert_eq!((p.data.len(), p.incl_len, p.orig_len), (60, 60, 242));
        // A frame cut by the snap length is not replayed: it would go out malformed.
        let e = read_replay(&path, 1514, false).unwrap_err();
        assert!(e.to_string().contains("1 truncated"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn bad_captures_are_refused_naming_what_is_wrong() {
        let path = scratch("bad");
        let c = Capture::create(&path, Format::Pcap, 65535).unwrap();
        let frames: Vec<Vec<u8>> = (0..3).map(|i| frame(i, 64)).collect();
        let refs: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
        c.lane().block(&block(8192, &refs, 1, 66)).unwrap();
        c.finish();
        let whole = std::fs::read(&path).unwrap();
        // Truncated in the middle of the third packet.
        std::fs::write(&path, &whole[..whole.len() - 10]).unwrap();
        let e = read_replay(&path, 1514, false).unwrap_err().to_string();
        assert!(
            e.contains("after packet 2") && e.contains("truncated"),
            "{e}"
        );
        // Another link type (raw IP, 101).
        let mut raw = whole.clone();
        raw[20..24].copy_from_slice(&101u32.to_le_bytes());
        std::fs::write(&path, &raw).unwrap();
        let e = read_replay(&path, 1514, false).unwrap_err().to_string();
        assert!(e.contains("not Ethernet"), "{e}");
        // Frames larger than the interface takes: an error naming the first, or skipped.
        std::fs::write(&path, &whole).unwrap();
        let e = read_replay(&path, 100, false).unwrap_err().to_string();
        assert!(e.contains("packet 1 is 106 bytes"), "{e}");
        let e = read_replay(&path, 100, true).unwrap_err().to_string();
        assert!(e.contains("3 too long"), "{e}");
        // Not a capture at all.
        std::fs::write(&path, b"hello, this is text").unwrap();
        assert!(read_replay(&path, 1514, false).is_err());
        std::fs::remove_file(&path).unwrap();
    }

    /// A little-endian pcapng: a section header, an interface of `link` (none if `None`) and
    /// one Simple Packet Block carrying `frame`.
    fn pcapng_with_a_simple_packet(link: Option<u16>, frame: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        let mut block = |kind: u32, body: &[u8]| {
            let padded = body.len().div_ceil(4) * 4;
            let total = (12 + padded) as u32;
            v.extend(kind.to_le_bytes());
            v.extend(total.to_le_bytes());
            v.extend(body);
            v.resize(v.len() + padded - body.len(), 0);
            v.extend(total.to_le_bytes());
        };
        let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
        shb.extend(1u16.to_le_bytes());
        shb.extend(0u16.to_le_bytes());
        shb.extend((-1i64).to_le_bytes());
        block(0x0A0D_0D0A, &shb);
        if let Some(link) = link {
            let mut idb = link.to_le_bytes().to_vec();
            idb.extend(0u16.to_le_bytes());
            idb.extend(65535u32.to_le_bytes());
            block(1, &idb);
        }
        let mut spb = (frame.len() as u32).to_le_bytes().to_vec();
        spb.extend(frame);
        block(3, &spb);
        v
    }

    #[test]
    fn simple_packet_blocks_replay_only_from_an_ethernet_interface() {
        let f = frame(3, 64);
        let ethernet = pcapng_with_a_simple_packet(Some(1), &f);
        let replay = parse_replay("spb", &ethernet, 1514, false).unwrap();
        assert_eq!(replay.frames, std::slice::from_ref(&f));
        // Raw IP (101), or no interface at all: refused, not replayed as Ethernet.
        for bytes in [
            pcapng_with_a_simple_packet(Some(101), &f),
            pcapng_with_a_simple_packet(None, &f),
        ] {
            let e = parse_replay("spb", &bytes, 1514, false)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("packet 1: link type") && e.contains("not Ethernet"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_stamped_replay_carries_a_probe_the_receivers_parse() {
        let probe = |seq| Probe {
            run_id: 42,
            seq,
            sent_ns: 5,
        };
        // IPv4 (the probe after 14 + 20 + 8 bytes) and IPv6 (14 + 40 + 8).
        for (mut f, expected_at) in [(frame(7, 100), 42), (fixture::frame6(100, 5, 7, 1), 62)] {
            let at = probe_offset(&f).unwrap();
            assert_eq!(at, expected_at);
            // A checksum the capture got wrong (a sender's offload left a partial sum):
            // readied, every stamp after keeps it right, which the parser verifies.
            f[at - 2..at].copy_from_slice(&[0x12, 0x34]);
            prepare_stamp(&mut f, at);
            for seq in [9, u64::MAX, 0] {
                stamp_probe(&mut f, at, probe(seq));
                let d = crate::wire::parse_udp(&f, 9000, true).unwrap();
                let p = Probe::parse(d.payload).unwrap();
                assert_eq!((p.run_id, p.seq, p.sent_ns), (42, seq, 5));
            }
            let checksum = u16::from_be_bytes([f[at - 2], f[at - 1]]);
            // IPv4's cleared (none), IPv6's kept.
            assert_eq!(checksum == 0, at == 42, "{checksum:#x}");
        }
        // ARP, an IPv6 extension header, or a UDP payload too short for the probe: no place
        // for it.
        let f = frame(7, 100);
        let mut arp = f.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(probe_offset(&arp), None);
        assert_eq!(probe_offset(&f[..42 + 10]), None);
        let mut hop_by_hop = fixture::frame6(100, 5, 7, 1);
        hop_by_hop[14 + 6] = 0;
        assert_eq!(probe_offset(&hop_by_hop), None);
    }

    #[test]
    fn stamping_updates_a_right_checksum_as_recomputing_it_would() {
        // Whatever the probe's old and new bytes, the incremental update (RFC 1624) gives the
        // checksum the frame builder computes for that probe; a readied IPv6 frame keeps the
        // builder's checksum, a readied IPv4 one has none.
        for (family, make) in [
            (
                "ipv4",
                fixture::frame as fn(usize, u32, u64, u64) -> Vec<u8>,
            ),
            ("ipv6", fixture::frame6),
        ] {
            let mut f = make(300, 1, 0, 0);
            let at = probe_offset(&f).unwrap();
            let mut readied = f.clone();
            prepare_stamp(&mut readied, at);
            let mut built = f.clone();
            built[at - 2..at].fill(0);
            assert_eq!(
                readied,
                if family == "ipv6" { f.clone() } else { built },
                "{family}"
            );
            for (run_id, seq, sent_ns) in [(7, 1, 2), (u32::MAX, u64::MAX, u64::MAX), (0, 0, 0)] {
                stamp_probe(
                    &mut f,
                    at,
                    Probe {
                        run_id,
                        seq,
                        sent_ns,
                    },
                );
                assert_eq!(
                    f,
                    make(300, run_id, seq, sent_ns),
                    "{family}: {run_id} {seq} {sent_ns}"
                );
            }
        }
    }
}
