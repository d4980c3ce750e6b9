//! The AF_XDP backends: a TX-only socket whose UMEM frames carry the probe, and an RX-only
//! socket fed by the XDP program, whose frames are classified like the RX ring's.

use std::time::Duration;

use crate::engine::{classify, Batch, KernelStats, Receive, Transmit, TxCounters};
use crate::exit::{CliError, Failure};
use crate::stats::RxAccounting;
use crate::wire::{FrameMix, FrameTemplate, IgnoreReason};
use crate::xdp::{Kick, XskRx, XskTx};

fn runtime(e: impl std::fmt::Display) -> CliError {
    CliError::new(Failure::Runtime, e.to_string())
}

/// An AF_XDP socket as a [`Transmit`] backend.
#[derive(Debug)]
pub struct XdpTx<'a> {
    xsk: XskTx,
    template: &'a FrameTemplate,
    mix: Option<&'a FrameMix>,
    unflushed: u64,
}

impl<'a> XdpTx<'a> {
    /// Sends `template`'s frames through `xsk`; headers and padding are written into every
    /// UMEM frame once, so a frame only needs its probe stamped.
    pub fn new(mut xsk: XskTx, template: &'a FrameTemplate) -> Self {
        xsk.prefill(template.bytes());
        Self {
            xsk,
            template,
            mix: None,
            unflushed: 0,
        }
    }

    /// Sends a size mix's frames instead: each written whole at its turn's size (the UMEM
    /// frames hold the longest, which the MTU check already bounded).
    pub fn with_mix(mut self, mix: Option<&'a FrameMix>) -> Self {
        self.mix = mix;
        self
    }
}

impl Transmit for XdpTx<'_> {
    fn method(&self) -> &'static str {
        if self.xsk.xsk().zero_copy() {
            "af_xdp_zerocopy"
        } else {
            "af_xdp_copy"
        }
    }

    fn queue(&mut self, batch: Batch, counters: &mut TxCounters) -> Result<u64, CliError> {
        let (t, mix) = (self.template, self.mix);
        let n = self
            .xsk
            .queue(batch.n.min(u64::from(u32::MAX)) as u32, |i, frame| {
                let seq = batch.seq(u64::from(i));
                match mix {
                    Some(mix) => mix.write(frame, seq, batch.now_ns),
                    None => {
                        t.stamp(frame, seq, batch.now_ns);
                        t.len()
                    }
                }
            });
        counters.published += u64::from(n);
        self.unflushed += u64::from(n);
        Ok(u64::from(n))
    }

    fn unflushed(&self) -> u64 {
        self.unflushed
    }

    /// Wakes the kernel's TX path: in copy mode it sends a bounded batch per call and says
    /// `EAGAIN` when more remain, so it is called until the ring is empty or the kernel
    /// pushes back.
    fn flush(&mut self, counters: &mut TxCounters) -> Result<(), CliError> {
        if self.unflushed == 0 {
            return Ok(());
        }
        counters.syscalls += 1;
        if self.xsk.kick().map_err(runtime)? == Kick::Again {
            counters.retries += 1;
        }
        self.unflushed = 0;
        Ok(())
    }

    fn wait_room(&mut self) -> Result<(), CliError> {
        self.xsk.wait(Duration::from_millis(1)).map_err(runtime)
    }

    fn drain(&mut self, timeout: Duration) -> Result<u64, (CliError, u64)> {
        let by = std::time::Instant::now() + timeout;
        while self.xsk.in_flight() > 0 && std::time::Instant::now() < by {
            if let Err(e) = self.xsk.wait(Duration::from_millis(10)) {
                return Err((runtime(e), u64::from(self.xsk.in_flight())));
            }
        }
        Ok(u64::from(self.xsk.in_flight()))
    }
}

/// An AF_XDP socket as a [`Receive`] backend. The kernel gives no receive timestamp in copy
/// mode, so a batch's arrival time is read once when user space sees it: latency includes the
/// time frames waited in the RX ring.
#[derive(Debug)]
pub struct XdpRx {
    xsk: XskRx,
    port: u16,
    coalesce: Duration,
    busy_poll: bool,
}

impl XdpRx {
    /// Receives the test flow to `port` from `xsk`; after each wakeup it lets the RX ring
    /// fill for `coalesce` before draining it (fewer wakeups per packet, up to `coalesce`
    /// more latency: what a V3 ring's block timeout does for mmap-rx).
    pub fn new(xsk: XskRx, port: u16, coalesce: Duration) -> Self {
        Self {
            xsk,
            port,
            coalesce,
            busy_poll: false,
        }
    }

    /// Waits for frames by busy polling ([`XskRx::busy_wait`]; the socket's busy-poll options
    /// are set) instead of sleeping in `poll(2)`.
    pub fn with_busy_poll(mut self, on: bool) -> Self {
        self.busy_poll = on;
        self
    }

    fn take(&mut self, acct: &mut RxAccounting) -> Result<u32, String> {
        let now = crate::process::realtime_ns();
        let port = self.port;
        // XDP sees a datagram sent by a local stack (udp-tx over veth) before its UDP checksum
        // is filled in (CHECKSUM_PARTIAL), and AF_XDP carries no flag saying so, as the RX
        // ring's TP_STATUS_CSUMNOTREADY does: checked here, 1000 of 1000 udp-tx datagrams
        // would fail. So the UDP checksum is not verified (the IPv4 header checksum is).
        self.xsk
            .receive(|frame| match frame {
                Some(frame) => classify::account_frame(
                    frame,
                    frame.len() as u32,
                    libc::TP_STATUS_CSUMNOTREADY,
                    now,
                    port,
                    acct,
                ),
                None => acct.on_ignored(IgnoreReason::BadDescriptor),
            })
            .map_err(|e| e.to_string())
    }
}

impl Receive for XdpRx {
    fn receive(&mut self, acct: &mut RxAccounting, timeout: Duration) -> Result<(), String> {
        let ready = if self.busy_poll {
            self.xsk.busy_wait(timeout)
        } else {
            self.xsk.wait(timeout)
        };
        if ready.map_err(|e| e.to_string())? {
            if !self.coalesce.is_zero() {
                std::thread::sleep(self.coalesce);
            }
            self.take(acct)?;
        }
        Ok(())
    }

    fn collect(&mut self, acct: &mut RxAccounting) {
        while let Ok(n) = self.take(acct) {
            if n == 0 {
                break;
            }
        }
    }

    /// The UMEM: what the kernel can fill before it drops.
    fn buffer_bytes(&self) -> Option<u64> {
        Some(self.xsk.xsk().umem_bytes())
    }

    /// Drops the kernel counted: no room in the RX ring, no frame in the fill ring, other
    /// drops, and invalid descriptors.
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        self.xsk.xsk().statistics().ok().map(|s| KernelStats {
            packets: None,
            drops: s.rx_dropped + s.rx_ring_full + s.rx_invalid_descs,
            freezes: 0,
            detail: vec![
                ("rx_dropped", s.rx_dropped),
                ("rx_ring_full", s.rx_ring_full),
                ("rx_fill_ring_empty", s.rx_fill_ring_empty_descs),
                ("rx_invalid_descs", s.rx_invalid_descs),
            ],
        })
    }
}
