//! One AF_XDP ring: a power-of-two array of entries between a producer index and a consumer
//! index, both free-running `u32`s in memory shared with the kernel.
//!
//! Each side keeps a cached copy of the other side's index and reads the shared word only when
//! the cache runs dry: one shared load per batch, not per entry. Ordering, in the kernel's own
//! words (`net/xdp/xsk_queue.h`): the producer writes entries, then publishes its index with a
//! release store; the consumer loads the producer index with acquire before reading entries,
//! and hands entries back with a release store of its index, which the producer loads with
//! acquire before overwriting them. Nothing else is shared.
#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::sys::Mapping;

/// Where the shared words and the entries lie in a ring's mapping (`struct xdp_ring_offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingOffsets {
    /// The producer index.
    pub producer: usize,
    /// The consumer index.
    pub consumer: usize,
    /// The first entry.
    pub desc: usize,
    /// The flags word (`XDP_RING_NEED_WAKEUP`).
    pub flags: usize,
}

impl From<libc::xdp_ring_offset> for RingOffsets {
    fn from(o: libc::xdp_ring_offset) -> Self {
        Self {
            producer: o.producer as usize,
            consumer: o.consumer as usize,
            desc: o.desc as usize,
            flags: o.flags as usize,
        }
    }
}

/// A ring of `T` (`u64` frame addresses for the fill and completion rings, `xdp_desc` for RX
/// and TX), used from one side: as producer or as consumer.
#[derive(Debug)]
pub struct Ring<T: Copy> {
    map: Mapping,
    offsets: RingOffsets,
    size: u32,
    /// Producer: our next index to write. Consumer: the producer index last seen.
    cached_prod: u32,
    /// Producer: the consumer index last seen plus `size` (the first index we may not write).
    /// Consumer: our next index to read.
    cached_cons: u32,
    _entries: PhantomData<T>,
}

impl<T: Copy> Ring<T> {
    /// A ring of `size` entries (a power of two) laid out in `map` as `offsets` say, to be
    /// used as its producer (`producer = true`) or its consumer.
    ///
    /// # Panics
    /// If the entries would not fit the mapping or `size` is not a power of two: both come
    /// from the kernel's answers and our own request, so that is a bug, not input.
    pub fn new(map: Mapping, offsets: RingOffsets, size: u32, producer: bool) -> Self {
        assert!(size.is_power_of_two(), "ring size {size}");
        let end = offsets.desc + size as usize * std::mem::size_of::<T>();
        assert!(
            end <= map.len(),
            "ring entries end at {end}, mapping is {}",
            map.len()
        );
        for word in [offsets.producer, offsets.consumer, offsets.flags] {
            assert!(
                word % 4 == 0 && word + 4 <= map.len(),
                "shared word at {word}"
            );
        }
        let mut ring = Self {
            map,
            offsets,
            size,
            cached_prod: 0,
            cached_cons: 0,
            _entries: PhantomData,
        };
        // Acquire: start from what the other side has published.
        ring.cached_prod = ring.word(offsets.producer).load(Ordering::Acquire);
        ring.cached_cons = ring.word(offsets.consumer).load(Ordering::Acquire);
        if producer {
            ring.cached_cons = ring.cached_cons.wrapping_add(size);
        }
        ring
    }

    fn word(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: `offset` was checked in `new` to be 4-aligned and inside the mapping, which
        // lives as long as `self`. The kernel writes these words concurrently, so they are
        // only ever accessed atomically.
        unsafe { AtomicU32::from_ptr(self.map.as_ptr().add(offset).cast::<u32>()) }
    }

    fn entry(&self, index: u32) -> *mut T {
        let i = (index & (self.size - 1)) as usize;
        // SAFETY: i < size, and `new` checked that `size` entries of T fit after `desc`.
        unsafe { self.map.as_ptr().add(self.offsets.desc).cast::<T>().add(i) }
    }

    /// Entries in the ring.
    pub fn capacity(&self) -> u32 {
        self.size
    }

    // --- as producer ---

    /// How many entries, up to `n`, may be written now (checks the consumer only when the
    /// cached room runs short).
    pub fn reserve(&mut self, n: u32) -> u32 {
        let mut free = self.cached_cons.wrapping_sub(self.cached_prod);
        if free < n {
            // Acquire: pairs with the consumer's release of the entries it has finished with,
            // so our writes below cannot overtake its reads.
            let cons = self.word(self.offsets.consumer).load(Ordering::Acquire);
            self.cached_cons = cons.wrapping_add(self.size);
            free = self.cached_cons.wrapping_sub(self.cached_prod);
        }
        free.min(n)
    }

    /// Writes the `i`-th reserved entry (i < what [`Ring::reserve`] granted).
    pub fn write(&mut self, i: u32, value: T) {
        assert!(
            i < self.cached_cons.wrapping_sub(self.cached_prod),
            "write past the reservation"
        );
        // SAFETY: the entry lies in the ring (see `entry`) and, being between our producer
        // index and the consumer's index plus size, belongs to us until we submit it.
        unsafe {
            self.entry(self.cached_prod.wrapping_add(i))
                .write_volatile(value)
        }
    }

    /// Publishes the next `n` written entries to the consumer.
    pub fn submit(&mut self, n: u32) {
        self.cached_prod = self.cached_prod.wrapping_add(n);
        // Release: the entries written above are visible before the index that hands them over.
        self.word(self.offsets.producer)
            .store(self.cached_prod, Ordering::Release);
    }

    // --- as consumer ---

    /// How many entries, up to `n`, are ready to read (loads the producer index only when
    /// the cached ones are used up).
    pub fn peek(&mut self, n: u32) -> u32 {
        let mut ready = self.cached_prod.wrapping_sub(self.cached_cons);
        if ready == 0 {
            // Acquire: pairs with the producer's release, so the entries it wrote are visible.
            self.cached_prod = self.word(self.offsets.producer).load(Ordering::Acquire);
            ready = self.cached_prod.wrapping_sub(self.cached_cons);
        }
        ready.min(n)
    }

    /// Reads the `i`-th ready entry (i < what [`Ring::peek`] granted).
    pub fn read(&self, i: u32) -> T {
        assert!(
            i < self.cached_prod.wrapping_sub(self.cached_cons),
            "read past the ready entries"
        );
        // SAFETY: the entry lies in the ring and, being between our consumer index and the
        // producer's published index, is not written by the producer until we release it.
        unsafe { self.entry(self.cached_cons.wrapping_add(i)).read_volatile() }
    }

    /// Hands the next `n` read entries back to the producer.
    pub fn release(&mut self, n: u32) {
        self.cached_cons = self.cached_cons.wrapping_add(n);
        // Release: our reads of the entries complete before the producer may reuse them.
        self.word(self.offsets.consumer)
            .store(self.cached_cons, Ordering::Release);
    }

    /// Whether the kernel asks for a system call to make progress (`XDP_RING_NEED_WAKEUP`).
    pub fn needs_wakeup(&self) -> bool {
        // Relaxed: a stale answer costs one extra or one later wakeup, never correctness; the
        // kernel re-checks the ring after setting the flag.
        self.word(self.offsets.flags).load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFSETS: RingOffsets = RingOffsets {
        producer: 0,
        consumer: 64,
        flags: 128,
        desc: 192,
    };

    /// A ring of 8 u64 entries over our own memory, and a second view of the same memory
    /// playing the kernel's side.
    fn pair(producer: bool) -> (Ring<u64>, *mut u8) {
        let map = Mapping::anonymous(4096).unwrap();
        let base = map.as_ptr();
        (Ring::new(map, OFFSETS, 8, producer), base)
    }

    fn shared(base: *mut u8, offset: usize) -> &'static AtomicU32 {
        // SAFETY (test): the anonymous mapping outlives each test's use of it.
        unsafe { AtomicU32::from_ptr(base.add(offset).cast()) }
    }

    #[test]
    fn a_producer_fills_to_capacity_then_waits_for_the_consumer() {
        let (mut ring, base) = pair(true);
        assert_eq!(ring.reserve(20), 8, "room for the whole ring");
        for i in 0..8 {
            ring.write(i, 100 + u64::from(i));
        }
        ring.submit(8);
        assert_eq!(shared(base, OFFSETS.producer).load(Ordering::Acquire), 8);
        assert_eq!(ring.reserve(1), 0, "full until the consumer moves");
        // The kernel consumes 3 entries.
        shared(base, OFFSETS.consumer).store(3, Ordering::Release);
        assert_eq!(ring.reserve(5), 3);
        // SAFETY (test): entry 0 lies in the mapping at `desc`.
        let first = unsafe { base.add(OFFSETS.desc).cast::<u64>().read() };
        assert_eq!(first, 100);
    }

    #[test]
    fn a_consumer_reads_what_was_published_across_the_index_wrap() {
        let map = Mapping::anonymous(4096).unwrap();
        let base = map.as_ptr();
        // Both indices start near u32::MAX, as they do after long runs.
        shared(base, OFFSETS.producer).store(u32::MAX - 1, Ordering::Release);
        shared(base, OFFSETS.consumer).store(u32::MAX - 1, Ordering::Release);
        let mut ring: Ring<u64> = Ring::new(map, OFFSETS, 8, false);
        assert_eq!(ring.peek(4), 0);
        for k in 0..5u32 {
            let idx = (u32::MAX - 1).wrapping_add(k) & 7;
            // SAFETY (test): idx < 8 entries after `desc`, inside the mapping.
            unsafe {
                base.add(OFFSETS.desc)
                    .cast::<u64>()
                    .add(idx as usize)
                    .write(u64::from(k))
            };
        }
        shared(base, OFFSETS.producer).store((u32::MAX - 1).wrapping_add(5), Ordering::Release);
        assert_eq!(ring.peek(16), 5);
        assert_eq!(
            (0..5).map(|i| ring.read(i)).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        ring.release(5);
        assert_eq!(
            shared(base, OFFSETS.consumer).load(Ordering::Acquire),
            (u32::MAX - 1).wrapping_add(5)
        );
        assert_eq!(ring.peek(1), 0);
    }

    #[test]
    fn the_wakeup_flag_is_read_from_the_flags_word() {
        let (ring, base) = pair(true);
        assert!(!ring.needs_wakeup());
        shared(base, OFFSETS.flags).store(libc::XDP_RING_NEED_WAKEUP, Ordering::Release);
        assert!(ring.needs_wakeup());
    }
}
