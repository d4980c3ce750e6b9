//! The packet_mmap backends: a TX ring whose frames carry the probe (or replay given frames),
//! and a TPACKET_V3 RX ring whose blocks are classified frame by frame.

use std::time::Duration;

use crate::engine::{classify, Batch, KernelStats, Receive, Transmit, TxCounters};
use crate::exit::{CliError, Failure};
use crate::pcap::{CaptureLane, Replay};
use crate::ring::{Flush, RxRing, TpacketVersion, TxError, TxRing};
use crate::stats::RxAccounting;
use crate::wire::{FrameMix, FrameTemplate, GsoTemplate, Probe};

/// What the frames of a TX ring carry.
#[derive(Debug, Clone, Copy)]
pub enum Frames<'a> {
    /// The test flow: every frame is the template with its probe stamped.
    Probe(&'a FrameTemplate),
    /// The test flow as GSO super-packets: every ring frame carries up to the template's
    /// segments datagrams, each with its probe stamped, for the kernel to split.
    Gso(&'a GsoTemplate),
    /// The test flow in a size mix: datagram `seq` is written whole at its turn's size.
    Mix(&'a FrameMix),
    /// Given frames sent as they are, frame `seq % len` for sequence number `seq`.
    Replay(&'a [Vec<u8>]),
    /// A capture's frames, frame `seq % len` for sequence number `seq`, with a probe of run
    /// `run_id` stamped into the UDP payload of those that have room for one.
    ReplayStamped(&'a Replay, u32),
}

/// A TX ring as a [`Transmit`] backend.
#[derive(Debug)]
pub struct MmapTx<'a> {
    ring: TxRing,
    frames: Frames<'a>,
}

impl<'a> MmapTx<'a> {
    /// Sends `frames` through `ring`. For the probe, the template's headers and padding are
    /// written into every slot once, so a frame only needs its probe stamped.
    pub fn new(mut ring: TxRing, frames: Frames<'a>) -> Self {
        match frames {
            Frames::Probe(t) => ring.prefill(|slot| slot[..t.len()].copy_from_slice(t.bytes())),
            Frames::Gso(t) => ring.prefill(|slot| t.write(slot, t.segments())),
            Frames::Mix(_) | Frames::Replay(_) | Frames::ReplayStamped(..) => {}
        }
        Self { ring, frames }
    }

    /// The ring's header version (after any fallback).
    pub fn version(&self) -> TpacketVersion {
        self.ring.version()
    }
}

impl MmapTx<'_> {
    /// Queues up to `batch.n` datagrams as super-packets of up to `t.segments()` each, one
    /// ring frame per super-packet; returns how many datagrams it took.
    fn queue_gso(
        &mut self,
        t: &GsoTemplate,
        batch: Batch,
        counters: &mut TxCounters,
    ) -> Result<u64, CliError> {
        let per = t.segments() as u64;
        let mut took = 0;
        while took < batch.n {
            let Some(mut frame) = self.ring.claim().map_err(runtime)? else {
                break;
            };
            let k = per.min(batch.n - took);
            let room = frame.data();
            // Every slot was prefilled with a full super-packet; the lengths change only
            // for a shorter one (the last of a run, or a paced few).
            t.write_headers(room, k as usize);
            for i in 0..k {
                t.stamp(room, i as usize, batch.seq(took + i), batch.now_ns);
            }
            let k_usize = k as usize;
            frame
                .publish_with(t.frame_len(k_usize), t.vnet_hdr(k_usize))
                .map_err(runtime)?;
            took += k;
        }
        counters.published += took;
        Ok(took)
    }
}

/// Copies frame `seq % len` of `list` into a ring slot; returns its length.
fn copy_frame(room: &mut [u8], list: &[Vec<u8>], seq: u64) -> Result<usize, CliError> {
    let f = &list[(seq % list.len() as u64) as usize];
    if f.len() > room.len() {
        return Err(runtime(TxError::FrameTooLong {
            len: f.len(),
            capacity: room.len(),
        }));
    }
    room[..f.len()].copy_from_slice(f);
    Ok(f.len())
}

fn runtime(e: impl std::fmt::Display) -> CliError {
    CliError::new(Failure::Runtime, e.to_string())
}

impl Transmit for MmapTx<'_> {
    fn method(&self) -> &'static str {
        match self.ring.version() {
            TpacketVersion::V3 => "tpacket_v3",
            TpacketVersion::V2 => "tpacket_v2",
        }
    }

    fn queue(&mut self, batch: Batch, counters: &mut TxCounters) -> Result<u64, CliError> {
        if let Frames::Gso(t) = self.frames {
            return self.queue_gso(t, batch, counters);
        }
        let mut took = 0;
        while took < batch.n {
            let Some(mut frame) = self.ring.claim().map_err(runtime)? else {
                break;
            };
            let seq = batch.seq(took);
            let len = match self.frames {
                Frames::Probe(t) => {
                    t.stamp(frame.data(), seq, batch.now_ns);
                    t.len()
                }
                Frames::Mix(mix) => {
                    let room = frame.data();
                    if room.len() < mix.max_len() {
                        return Err(runtime(TxError::FrameTooLong {
                            len: mix.max_len(),
                            capacity: room.len(),
                        }));
                    }
                    mix.write(room, seq, batch.now_ns)
                }
                Frames::Gso(_) => unreachable!("queued by queue_gso"),
                Frames::Replay(list) => copy_frame(frame.data(), list, seq)?,
                Frames::ReplayStamped(replay, run_id) => {
                    let room = frame.data();
                    let len = copy_frame(room, &replay.frames, seq)?;
                    let at = replay.probe_at[(seq % replay.frames.len() as u64) as usize];
                    if let Some(at) = at {
                        let probe = Probe {
                            run_id,
                            seq,
                            sent_ns: batch.now_ns,
                        };
                        crate::pcap::stamp_probe(&mut room[..len], at, probe);
                    }
                    len
                }
            };
            frame.publish(len).map_err(runtime)?;
            took += 1;
        }
        counters.published += took;
        Ok(took)
    }

    fn unflushed(&self) -> u64 {
        u64::from(self.ring.unflushed())
    }

    /// One non-blocking send() of everything published; a full device queue is a retry later.
    fn flush(&mut self, counters: &mut TxCounters) -> Result<(), CliError> {
        match self.ring.flush().map_err(runtime)? {
            Flush::Idle => {}
            Flush::Sent(_) => counters.syscalls += 1,
            Flush::Congested => {
                counters.syscalls += 1;
                counters.retries += 1;
                self.ring.wait_writable(1).map_err(runtime)?;
            }
        }
        Ok(())
    }

    fn wait_room(&mut self) -> Result<(), CliError> {
        self.ring.wait_writable(1).map_err(runtime)
    }

    fn drain(&mut self, timeout: Duration) -> Result<u64, (CliError, u64)> {
        match self.ring.drain(timeout) {
            Ok(left) => Ok(u64::from(left)),
            Err(e) => Err((runtime(e), u64::from(self.ring.in_flight()))),
        }
    }
}

/// An RX ring as a [`Receive`] backend: every block is classified with
/// [`classify::account_block`].
#[derive(Debug)]
pub struct MmapRx {
    ring: RxRing,
    vnet_hdr: bool,
    port: u16,
    retire: Duration,
    capture: Option<CaptureLane>,
}

impl MmapRx {
    /// Receives the test flow to `port` from `ring`, whose blocks retire after `retire_ms`.
    pub fn new(ring: RxRing, port: u16, retire_ms: u32) -> Self {
        Self {
            vnet_hdr: ring.has_vnet_hdr(),
            ring,
            port,
            retire: Duration::from_millis(u64::from(retire_ms)),
            capture: None,
        }
    }

    /// Also hands every block to a capture (`--write`).
    pub fn with_capture(mut self, capture: CaptureLane) -> Self {
        self.capture = Some(capture);
        self
    }
}

impl Receive for MmapRx {
    fn receive(&mut self, acct: &mut RxAccounting, timeout: Duration) -> Result<(), String> {
        match self.ring.next_block(timeout) {
            Ok(Some(block)) => {
                classify::account_block(block.bytes(), self.vnet_hdr, self.port, acct);
                match &self.capture {
                    Some(c) => c.block(block.bytes()),
                    None => Ok(()),
                }
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Packets in the block the kernel is still filling reach us when it retires that block.
    fn linger(&self) -> Duration {
        2 * self.retire + Duration::from_millis(5)
    }

    fn collect(&mut self, acct: &mut RxAccounting) {
        while let Ok(Some(block)) = self.ring.next_block(Duration::ZERO) {
            classify::account_block(block.bytes(), self.vnet_hdr, self.port, acct);
            if let Some(c) = &self.capture {
                // After the stop: a writer that failed has already ended the run.
                let _ = c.block(block.bytes());
            }
        }
    }

    /// The ring: every block the kernel can fill before it drops.
    fn buffer_bytes(&self) -> Option<u64> {
        let g = self.ring.geometry();
        Some(u64::from(g.block_size) * u64::from(g.block_count))
    }

    fn kernel_stats(&mut self) -> Option<KernelStats> {
        self.ring.statistics().ok().map(|s| KernelStats {
            packets: Some(s.packets),
            drops: s.drops,
            freezes: s.freeze_count,
            detail: Vec::new(),
        })
    }
}
