//! The extension's memory allocator: the system's, keeping a bounded number
//! of freed chunk-sized buffers for reuse.
//!
//! Every new chunk of a snapshot is copied (`Recorder::store_chunks_against`)
//! into a buffer of up to `CHUNK_SIZE` bytes that the writer thread frees
//! once it has compressed it. The C allocator gives memory that size back to
//! the kernel at once (its own mapping, or the trimmed top of its heap), so
//! the next snapshot's copies faulted in every page again: for a model whose
//! 96 MiB of weights all change, about 24,000 page faults and three quarters
//! of the scan's time (issue #16). Freed buffers of chunk sizes are kept
//! here instead, up to [`KEEP_BYTES`] in all, and handed out again for the
//! same size: the pages stay mapped between snapshots.
//!
//! What is kept is memory the process had already used for copies, at most
//! `KEEP_BYTES` (`SNAPLINE_CHUNK_MEMORY_MB` sets another bound, 0 keeps
//! nothing); everything else goes to the system allocator untouched.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, TryLockError};

/// Buffers of these sizes (bytes) are kept: the largest chunk, down to the
/// size from which the C allocator maps memory of its own by default.
const MIN_SIZE: usize = 128 << 10;
const MAX_SIZE: usize = snapline_array_scan::CHUNK_SIZE;
/// At most this many bytes of freed buffers are kept (by default).
pub const KEEP_BYTES: usize = 128 << 20;
/// `SNAPLINE_CHUNK_MEMORY_MB` as bytes, when set to a number.
pub fn limit_from_env() -> Option<usize> {
    let mb = std::env::var("SNAPLINE_CHUNK_MEMORY_MB").ok()?;
    mb.trim()
        .parse::<usize>()
        .ok()
        .map(|mb| mb.saturating_mul(1 << 20))
}
/// At most this many buffers (KEEP_BYTES of the smallest size).
const SLOTS: usize = KEEP_BYTES / MIN_SIZE;
/// The C allocator's alignment (malloc's): layouts aligned no more than
/// this come from `malloc` and can stand in for one another.
const MALLOC_ALIGN: usize = 16;
/// The page size the kernel faults in (`prepare` writes one byte per page;
/// where pages are larger, it only writes more often than it needs to).
const PAGE: usize = 4096;

/// Freed buffers: (address, size) pairs in `slots[..len]`.
struct Kept {
    slots: [(usize, usize); SLOTS],
    len: usize,
    bytes: usize,
}

/// The allocator (`#[global_allocator]` in lib.rs).
pub struct ChunkMemory {
    kept: Mutex<Kept>,
    /// The bound in force (`set_limit`).
    limit: AtomicUsize,
}

impl ChunkMemory {
    pub const fn new() -> ChunkMemory {
        ChunkMemory {
            kept: Mutex::new(Kept {
                slots: [(0, 0); SLOTS],
                len: 0,
                bytes: 0,
            }),
            limit: AtomicUsize::new(KEEP_BYTES),
        }
    }

    /// Keeps at most `bytes` (capped at `KEEP_BYTES`) from now on; what is
    /// kept beyond it already goes back to the system when next asked for.
    /// The extension sets it from `SNAPLINE_CHUNK_MEMORY_MB` when loaded.
    pub fn set_limit(&self, bytes: usize) {
        self.limit.store(bytes.min(KEEP_BYTES), Ordering::Relaxed);
    }

    fn keeps(layout: Layout) -> bool {
        layout.align() <= MALLOC_ALIGN && (MIN_SIZE..=MAX_SIZE).contains(&layout.size())
    }

    /// The list, or None while another thread holds it: the caller then
    /// goes to the system allocator instead of waiting (nor can a child
    /// forked while the writer thread held it ever wait for it).
    fn lock(&self) -> Option<std::sync::MutexGuard<'_, Kept>> {
        match self.kept.try_lock() {
            Ok(kept) => Some(kept),
            // (Nothing panics while the lock is held: a poisoned lock is fine.)
            Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// A kept buffer of exactly `size` bytes, taken out of the list.
    fn take(&self, size: usize) -> Option<*mut u8> {
        let mut kept = self.lock()?;
        let len = kept.len;
        let i = kept.slots[..len].iter().rposition(|&(_, s)| s == size)?;
        let (address, _) = kept.slots[i];
        kept.slots[i] = kept.slots[len - 1];
        kept.len -= 1;
        kept.bytes -= size;
        Some(address as *mut u8)
    }

    /// Keeps a freed buffer; false when the list is full.
    fn keep(&self, ptr: *mut u8, size: usize) -> bool {
        let Some(mut kept) = self.lock() else {
            return false;
        };
        if kept.len == SLOTS || kept.bytes + size > self.limit.load(Ordering::Relaxed) {
            return false;
        }
        let len = kept.len;
        kept.slots[len] = (ptr as usize, size);
        kept.len += 1;
        kept.bytes += size;
        true
    }

    /// Tops the kept buffers of `size` bytes up to `bytes` (within the
    /// bound) with new ones whose pages are faulted in now, so that the
    /// next snapshot's copies of that much do not fault: the writer thread
    /// calls it after a commit with what that snapshot copied (issue #16:
    /// a DCGAN's 76 MB of changed weights took about 20 ms of page faults
    /// on the program's thread in each of its first two snapshots, whose
    /// copies the delta chains still hold when the next one comes). Returns
    /// the number of buffers added.
    pub fn prepare(&self, size: usize, bytes: usize) -> usize {
        let Ok(layout) = Layout::from_size_align(size, MALLOC_ALIGN) else {
            return 0;
        };
        if !Self::keeps(layout) {
            return 0;
        }
        let want = bytes.min(self.limit.load(Ordering::Relaxed)) / size;
        if want == 0 {
            return 0;
        }
        let have = match self.lock() {
            Some(kept) => kept.slots[..kept.len]
                .iter()
                .filter(|&&(_, s)| s == size)
                .count(),
            None => return 0,
        };
        let mut added = 0;
        for _ in have..want {
            // SAFETY: a valid non-zero layout; the block is written within
            // it, then kept or freed with the same layout.
            unsafe {
                let ptr = System.alloc(layout);
                if ptr.is_null() {
                    break;
                }
                let mut offset = 0;
                while offset < size {
                    ptr.add(offset).write_volatile(0);
                    offset += PAGE;
                }
                if !self.keep(ptr, size) {
                    System.dealloc(ptr, layout);
                    break;
                }
            }
            added += 1;
        }
        added
    }

    /// Bytes kept now (tests).
    #[cfg(test)]
    fn kept_bytes(&self) -> usize {
        self.lock().map_or(0, |kept| kept.bytes)
    }
}

impl Default for ChunkMemory {
    fn default() -> ChunkMemory {
        ChunkMemory::new()
    }
}

// SAFETY: every block comes from `System` with a layout that `System` would
// serve with malloc (size and alignment checked by `keeps`), and a kept
// block is handed out again only for a layout of the same size and such an
// alignment, so it is valid for it; blocks are freed by `System`.
unsafe impl GlobalAlloc for ChunkMemory {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if Self::keeps(layout) {
            if let Some(ptr) = self.take(layout.size()) {
                return ptr;
            }
        }
        // SAFETY: the caller's layout contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::keeps(layout) && self.keep(ptr, layout.size()) {
            return;
        }
        // SAFETY: `ptr` came from `System` with this layout (see above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // (A kept buffer would need zeroing: the system's calloc is faster.)
        // SAFETY: the caller's layout contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a live block from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_chunk_buffer_is_handed_out_again_for_the_same_size() {
        let memory = ChunkMemory::new();
        let layout = Layout::from_size_align(MAX_SIZE, 1).unwrap();
        // SAFETY: a valid non-zero layout; the block is written within it.
        unsafe {
            let a = memory.alloc(layout);
            assert!(!a.is_null());
            a.write_bytes(7, MAX_SIZE);
            memory.dealloc(a, layout);
            assert_eq!(memory.kept_bytes(), MAX_SIZE);
            let other = Layout::from_size_align(MAX_SIZE - 4096, 8).unwrap();
            let b = memory.alloc(other);
            assert_ne!(a, b, "another size is not served from the kept buffer");
            let c = memory.alloc(Layout::from_size_align(MAX_SIZE, 8).unwrap());
            assert_eq!(a, c);
            assert_eq!(memory.kept_bytes(), 0);
            memory.dealloc(b, other);
            memory.dealloc(c, layout);
        }
    }

    #[test]
    fn at_most_keep_bytes_are_kept_and_other_sizes_never() {
        let memory = ChunkMemory::new();
        let layout = Layout::from_size_align(MAX_SIZE, 1).unwrap();
        let n = KEEP_BYTES / MAX_SIZE + 3;
        // SAFETY: valid non-zero layouts, each block freed once.
        unsafe {
            let blocks: Vec<_> = (0..n).map(|_| memory.alloc(layout)).collect();
            for &b in &blocks {
                memory.dealloc(b, layout);
            }
            assert_eq!(memory.kept_bytes(), KEEP_BYTES);
            let small = Layout::from_size_align(4096, 1).unwrap();
            let s = memory.alloc(small);
            memory.dealloc(s, small);
            let aligned = Layout::from_size_align(MAX_SIZE, 4096).unwrap();
            let p = memory.alloc(aligned);
            assert_eq!(p as usize % 4096, 0);
            memory.dealloc(p, aligned);
            assert_eq!(memory.kept_bytes(), KEEP_BYTES);
            for _ in 0..KEEP_BYTES / MAX_SIZE {
                let b = memory.alloc(layout);
                System.dealloc(b, layout);
            }
            assert_eq!(memory.kept_bytes(), 0);
        }
    }

    #[test]
    fn prepare_tops_the_kept_buffers_up_within_the_limit() {
        let memory = ChunkMemory::new();
        assert_eq!(memory.prepare(MAX_SIZE, 3 * MAX_SIZE + 17), 3);
        assert_eq!(memory.kept_bytes(), 3 * MAX_SIZE);
        assert_eq!(memory.prepare(MAX_SIZE, 3 * MAX_SIZE), 0, "already there");
        assert_eq!(memory.prepare(MAX_SIZE, 4 * MAX_SIZE), 1);
        assert_eq!(memory.prepare(4096, 1 << 20), 0, "a size never kept");
        let layout = Layout::from_size_align(MAX_SIZE, 1).unwrap();
        // SAFETY: valid layouts; the blocks handed out are the kept ones.
        unsafe {
            let a = memory.alloc(layout);
            assert_eq!(
                memory.kept_bytes(),
                3 * MAX_SIZE,
                "served from what was prepared"
            );
            a.write_bytes(1, MAX_SIZE);
            memory.dealloc(a, layout);
        }
        let fresh = ChunkMemory::new();
        fresh.set_limit(2 * MAX_SIZE);
        assert_eq!(
            fresh.prepare(MAX_SIZE, 10 * MAX_SIZE),
            2,
            "the limit bounds it"
        );
        let none = ChunkMemory::new();
        none.set_limit(0);
        assert_eq!(none.prepare(MAX_SIZE, 10 * MAX_SIZE), 0);
        for m in [&memory, &fresh] {
            // SAFETY: every kept block came from `System` with this layout.
            while let Some(p) = m.take(MAX_SIZE) {
                unsafe {
                    System.dealloc(p, Layout::from_size_align(MAX_SIZE, MALLOC_ALIGN).unwrap())
                };
            }
        }
    }

    #[test]
    fn a_limit_of_zero_keeps_nothing() {
        let memory = ChunkMemory::new();
        memory.set_limit(0);
        let layout = Layout::from_size_align(MAX_SIZE, 1).unwrap();
        // SAFETY: a valid non-zero layout, freed once.
        unsafe {
            let a = memory.alloc(layout);
            memory.dealloc(a, layout);
        }
        assert_eq!(memory.kept_bytes(), 0);
    }
}
