//! Which pages of a buffer were written since the last look, from the
//! kernel (Linux 6.7+): userfaultfd write-protection in async mode
//! (`UFFD_FEATURE_WP_ASYNC`: a write to a protected page is not delivered
//! as a fault, the kernel just unprotects the page) plus the `PAGEMAP_SCAN`
//! ioctl on `/proc/self/pagemap`, which lists the pages written since they
//! were protected and protects them again in the same call.
//!
//! A caller hashes only the chunks that hold written pages. Anything
//! uncertain is an error, and the caller hashes everything: no userfaultfd
//! (not Linux, too old a kernel, no permission), a region that is not
//! private anonymous memory (shared memory another process may write, a
//! file mapping), a region unmapped or remapped since (the kernel refuses
//! the scan of an unregistered range: `PM_SCAN_CHECK_WPASYNC`).
//!
//! Not seen by the page tables, so not tracked: device DMA into long-term
//! pinned memory (CUDA pinned host buffers). Callers must not track those.

use std::ops::Range;

/// Why tracking is unavailable or stopped; the caller hashes in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingError(pub String);

impl std::fmt::Display for TrackingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "write tracking unavailable: {}", self.0)
    }
}

impl std::error::Error for TrackingError {}

#[cfg(target_os = "linux")]
pub use linux::WriteTracker;

/// Stand-in where the kernel offers no write tracking: never starts.
#[cfg(not(target_os = "linux"))]
pub struct WriteTracker;

#[cfg(not(target_os = "linux"))]
impl WriteTracker {
    pub fn start(_addr: usize, _len: usize) -> Result<WriteTracker, TrackingError> {
        Err(TrackingError("not Linux".into()))
    }
    pub fn start_covering(_addr: usize, _len: usize) -> Result<WriteTracker, TrackingError> {
        Err(TrackingError("not Linux".into()))
    }
    pub fn region(&self) -> Range<usize> {
        0..0
    }
    pub fn take_written(&mut self) -> Result<Vec<Range<usize>>, TrackingError> {
        Err(TrackingError("not Linux".into()))
    }
}

/// Which of the `CHUNK`-byte chunks of the buffer `[addr, addr + len)` must
/// be hashed again: those holding a written page, and those not wholly
/// inside the tracked `region` (the buffer's unaligned head and tail).
pub fn chunks_to_rehash(
    addr: usize,
    len: usize,
    chunk: usize,
    region: &Range<usize>,
    written: &[Range<usize>],
) -> Vec<bool> {
    let n = len.div_ceil(chunk);
    let mut dirty = vec![false; n];
    for (i, d) in dirty.iter_mut().enumerate() {
        let start = addr + i * chunk;
        let end = (start + chunk).min(addr + len);
        *d = start < region.start || end > region.end;
    }
    for w in written {
        let start = w.start.max(addr);
        let end = w.end.min(addr + len);
        if start >= end {
            continue;
        }
        for d in &mut dirty[(start - addr) / chunk..=(end - 1 - addr) / chunk] {
            *d = true;
        }
    }
    dirty
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::File;
    use std::ops::Range;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use super::TrackingError;

    const UFFD_API: u64 = 0xAA;
    const UFFD_FEATURE_WP_UNPOPULATED: u64 = 1 << 13;
    const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;
    // _IOWR(0xAA, 0x3F, struct uffdio_api /* 24 bytes */)
    const UFFDIO_API: u64 = 0xC018_AA3F;
    // _IOWR(0xAA, 0x00, struct uffdio_register /* 32 bytes */)
    const UFFDIO_REGISTER: u64 = 0xC020_AA00;
    // _IOR(0xAA, 0x01, struct uffdio_range /* 16 bytes */)
    const UFFDIO_UNREGISTER: u64 = 0x8010_AA01;
    // _IOWR(0xAA, 0x06, struct uffdio_writeprotect /* 24 bytes */)
    const UFFDIO_WRITEPROTECT: u64 = 0xC018_AA06;
    // _IO(0xAA, 0x00) on /dev/userfaultfd
    const USERFAULTFD_IOC_NEW: u64 = 0xAA00;
    const UFFDIO_REGISTER_MODE_WP: u64 = 1 << 1;
    const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 1 << 0;
    // _IOWR('f', 16, struct pm_scan_arg /* 96 bytes */)
    const PAGEMAP_SCAN: u64 = 0xC060_6610;
    const PAGE_IS_WRITTEN: u64 = 1 << 1;
    const PM_SCAN_WP_MATCHING: u64 = 1 << 0;
    const PM_SCAN_CHECK_WPASYNC: u64 = 1 << 1;

    #[repr(C)]
    struct UffdioApi {
        api: u64,
        features: u64,
        ioctls: u64,
    }

    #[repr(C)]
    struct UffdioRange {
        start: u64,
        len: u64,
    }

    #[repr(C)]
    struct UffdioRegister {
        range: UffdioRange,
        mode: u64,
        ioctls: u64,
    }

    #[repr(C)]
    struct UffdioWriteprotect {
        range: UffdioRange,
        mode: u64,
    }

    #[repr(C)]
    struct PmScanArg {
        size: u64,
        flags: u64,
        start: u64,
        end: u64,
        walk_end: u64,
        vec: u64,
        vec_len: u64,
        max_pages: u64,
        category_inverted: u64,
        category_mask: u64,
        category_anyof_mask: u64,
        return_mask: u64,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct PageRegion {
        start: u64,
        end: u64,
        categories: u64,
    }

    fn last_os_error(what: &str) -> TrackingError {
        TrackingError(format!("{what}: {}", std::io::Error::last_os_error()))
    }

    /// Write tracking of one page-aligned region of this process's memory.
    /// Dropping it stops the tracking (the region is unregistered).
    pub struct WriteTracker {
        uffd: OwnedFd,
        pagemap: File,
        region: Range<usize>,
    }

    impl WriteTracker {
        /// Starts tracking writes to the whole pages inside
        /// `[addr, addr + len)`, all protected now. Errors when the kernel
        /// cannot, or the memory is not private anonymous memory.
        pub fn start(addr: usize, len: usize) -> Result<WriteTracker, TrackingError> {
            // SAFETY: sysconf only reads a configuration value.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let page = usize::try_from(page).map_err(|_| TrackingError("page size".into()))?;
            let start = addr.div_ceil(page) * page;
            let end = (addr.saturating_add(len) / page) * page;
            if end <= start {
                return Err(TrackingError("no whole page in the buffer".into()));
            }
            check_private_anonymous(start, end)?;
            let uffd = open_userfaultfd()?;
            let mut api = UffdioApi {
                api: UFFD_API,
                features: UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
                ioctls: 0,
            };
            // SAFETY: UFFDIO_API reads and writes the uffdio_api struct we pass.
            if unsafe { libc::ioctl(uffd.as_raw_fd(), UFFDIO_API as _, &mut api) } != 0 {
                return Err(last_os_error("UFFDIO_API with WP_ASYNC"));
            }
            let range = || UffdioRange {
                start: start as u64,
                len: (end - start) as u64,
            };
            let mut register = UffdioRegister {
                range: range(),
                mode: UFFDIO_REGISTER_MODE_WP,
                ioctls: 0,
            };
            // SAFETY: UFFDIO_REGISTER reads and writes the struct we pass; the
            // range is memory of this process (checked mapped above). Write
            // protection in async mode never blocks a writer.
            if unsafe { libc::ioctl(uffd.as_raw_fd(), UFFDIO_REGISTER as _, &mut register) } != 0 {
                return Err(last_os_error("UFFDIO_REGISTER"));
            }
            let pagemap = File::open("/proc/self/pagemap")
                .map_err(|e| TrackingError(format!("/proc/self/pagemap: {e}")))?;
            let tracker = WriteTracker {
                uffd,
                pagemap,
                region: start..end,
            };
            let mut protect = UffdioWriteprotect {
                range: range(),
                mode: UFFDIO_WRITEPROTECT_MODE_WP,
            };
            // SAFETY: UFFDIO_WRITEPROTECT reads the struct we pass, on the
            // range registered above.
            if unsafe {
                libc::ioctl(
                    tracker.uffd.as_raw_fd(),
                    UFFDIO_WRITEPROTECT as _,
                    &mut protect,
                )
            } != 0
            {
                return Err(last_os_error("UFFDIO_WRITEPROTECT"));
            }
            Ok(tracker)
        }

        /// Starts tracking writes to every page that holds a byte of
        /// `[addr, addr + len)`, so that no chunk of the buffer is outside
        /// the region (a write to another object on its first or last page
        /// counts as a write to the buffer: hashed again, never missed).
        /// Those pages must be private anonymous memory too.
        pub fn start_covering(addr: usize, len: usize) -> Result<WriteTracker, TrackingError> {
            // SAFETY: sysconf only reads a configuration value.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let page = usize::try_from(page).map_err(|_| TrackingError("page size".into()))?;
            let start = addr / page * page;
            let end = addr
                .checked_add(len)
                .and_then(|e| e.checked_next_multiple_of(page))
                .ok_or_else(|| TrackingError("buffer past the address space".into()))?;
            WriteTracker::start(start, end - start)
        }

        /// The tracked page-aligned region.
        pub fn region(&self) -> Range<usize> {
            self.region.clone()
        }

        /// The page ranges written since `start` or the last call, protecting
        /// them again. An error (the region unmapped or remapped, the scan
        /// refused) means the tracking is over: hash everything.
        pub fn take_written(&mut self) -> Result<Vec<Range<usize>>, TrackingError> {
            // A hole is no error to the scan: the region must still be
            // mapped (and registered: PM_SCAN_CHECK_WPASYNC refuses a new
            // mapping at the same place).
            check_private_anonymous(self.region.start, self.region.end)?;
            let mut out = Vec::new();
            let mut from = self.region.start as u64;
            let end = self.region.end as u64;
            let mut regions = vec![PageRegion::default(); 512];
            while from < end {
                let mut arg = PmScanArg {
                    size: std::mem::size_of::<PmScanArg>() as u64,
                    flags: PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
                    start: from,
                    end,
                    walk_end: 0,
                    vec: regions.as_mut_ptr() as u64,
                    vec_len: regions.len() as u64,
                    max_pages: 0,
                    category_inverted: 0,
                    category_mask: PAGE_IS_WRITTEN,
                    category_anyof_mask: 0,
                    return_mask: PAGE_IS_WRITTEN,
                };
                // SAFETY: PAGEMAP_SCAN reads `arg` and writes at most
                // `vec_len` page_region structs into `regions`, which we own.
                let n =
                    unsafe { libc::ioctl(self.pagemap.as_raw_fd(), PAGEMAP_SCAN as _, &mut arg) };
                let n = usize::try_from(n).map_err(|_| last_os_error("PAGEMAP_SCAN"))?;
                for r in regions.iter().take(n) {
                    out.push(r.start as usize..r.end as usize);
                }
                if arg.walk_end <= from {
                    return Err(TrackingError("PAGEMAP_SCAN made no progress".into()));
                }
                from = arg.walk_end;
            }
            Ok(out)
        }
    }

    impl Drop for WriteTracker {
        fn drop(&mut self) {
            let mut range = UffdioRange {
                start: self.region.start as u64,
                len: (self.region.end - self.region.start) as u64,
            };
            // SAFETY: UFFDIO_UNREGISTER reads the range we pass; failure (the
            // memory is gone) leaves nothing to undo. Closing the fd ends
            // the registration in any case.
            unsafe { libc::ioctl(self.uffd.as_raw_fd(), UFFDIO_UNREGISTER as _, &mut range) };
        }
    }

    fn open_userfaultfd() -> Result<OwnedFd, TrackingError> {
        // SAFETY: the userfaultfd syscall takes flags and returns a new fd.
        let fd =
            unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC | libc::O_NONBLOCK) };
        if fd >= 0 {
            // SAFETY: a fresh fd the syscall just returned, owned from here.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
        let dev = File::options()
            .read(true)
            .write(true)
            .open("/dev/userfaultfd")
            .map_err(|e| TrackingError(format!("userfaultfd: {e}")))?;
        // SAFETY: USERFAULTFD_IOC_NEW takes flags and returns a new fd.
        let fd = unsafe {
            libc::ioctl(
                dev.as_raw_fd(),
                USERFAULTFD_IOC_NEW as _,
                libc::O_CLOEXEC | libc::O_NONBLOCK,
            )
        };
        if fd < 0 {
            return Err(last_os_error("USERFAULTFD_IOC_NEW"));
        }
        // SAFETY: as above.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    // _IOWR('f', 17, struct procmap_query /* 104 bytes */), Linux 6.11+
    const PROCMAP_QUERY: u64 = 0xC068_6611;
    const PROCMAP_QUERY_VMA_READABLE: u64 = 0x01;
    const PROCMAP_QUERY_VMA_WRITABLE: u64 = 0x02;
    const PROCMAP_QUERY_VMA_SHARED: u64 = 0x08;

    #[repr(C)]
    #[derive(Default)]
    struct ProcmapQuery {
        size: u64,
        query_flags: u64,
        query_addr: u64,
        vma_start: u64,
        vma_end: u64,
        vma_flags: u64,
        vma_page_size: u64,
        vma_offset: u64,
        inode: u64,
        dev_major: u32,
        dev_minor: u32,
        vma_name_size: u32,
        build_id_size: u32,
        vma_name_addr: u64,
        build_id_addr: u64,
    }

    /// Refuses a range not wholly inside private anonymous mappings (`rw-p`,
    /// no file): memory another process could write, unseen by our page
    /// tables. Asks the kernel per mapping (`PROCMAP_QUERY`: microseconds,
    /// where reading `/proc/self/maps` of a process with torch loaded takes
    /// about a millisecond); reads the text where the kernel lacks it.
    fn check_private_anonymous(start: usize, end: usize) -> Result<(), TrackingError> {
        match query_private_anonymous(start, end) {
            Some(result) => result,
            None => parse_private_anonymous(start, end),
        }
    }

    /// `check_private_anonymous` through `PROCMAP_QUERY`; None where the
    /// kernel has no such ioctl.
    pub(super) fn query_private_anonymous(
        start: usize,
        end: usize,
    ) -> Option<Result<(), TrackingError>> {
        let maps = match File::open("/proc/self/maps") {
            Ok(maps) => maps,
            Err(e) => return Some(Err(TrackingError(format!("/proc/self/maps: {e}")))),
        };
        let mut covered = start;
        while covered < end {
            let mut name = [0u8; 64];
            let mut q = ProcmapQuery {
                size: std::mem::size_of::<ProcmapQuery>() as u64,
                query_addr: covered as u64,
                vma_name_size: name.len() as u32,
                vma_name_addr: name.as_mut_ptr() as u64,
                ..ProcmapQuery::default()
            };
            // SAFETY: PROCMAP_QUERY reads `q` and writes it back, plus at
            // most `vma_name_size` bytes into `name`, which we own.
            if unsafe { libc::ioctl(maps.as_raw_fd(), PROCMAP_QUERY as _, &mut q) } != 0 {
                let err = std::io::Error::last_os_error();
                return match err.raw_os_error() {
                    Some(libc::ENOTTY) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => None,
                    Some(libc::ENAMETOOLONG) => Some(Err(TrackingError(format!(
                        "{covered:#x} is a named mapping"
                    )))),
                    _ => Some(Err(TrackingError(format!("PROCMAP_QUERY: {err}")))),
                };
            }
            let (a, b) = (q.vma_start as usize, q.vma_end as usize);
            if !(a <= covered && covered < b) {
                return Some(Err(TrackingError("the buffer is not mapped".into())));
            }
            let flags = q.vma_flags;
            let rw = PROCMAP_QUERY_VMA_READABLE | PROCMAP_QUERY_VMA_WRITABLE;
            let private = flags & rw == rw && flags & PROCMAP_QUERY_VMA_SHARED == 0;
            let len = (q.vma_name_size as usize).saturating_sub(1).min(name.len());
            let label = &name[..len];
            let anonymous = q.inode == 0 && (label.is_empty() || label == b"[heap]");
            if !(private && anonymous) {
                return Some(Err(TrackingError(format!(
                    "{a:#x}-{b:#x} is not private anonymous memory ({})",
                    String::from_utf8_lossy(label)
                ))));
            }
            covered = b;
        }
        Some(Ok(()))
    }

    pub(super) fn parse_private_anonymous(start: usize, end: usize) -> Result<(), TrackingError> {
        let maps = std::fs::read_to_string("/proc/self/maps")
            .map_err(|e| TrackingError(format!("/proc/self/maps: {e}")))?;
        let mut covered = start;
        for line in maps.lines() {
            let mut fields = line.split_whitespace();
            let (Some(span), Some(perms)) = (fields.next(), fields.next()) else {
                continue;
            };
            let inode = fields.nth(2).unwrap_or("0");
            let path = fields.next();
            let Some((a, b)) = span.split_once('-') else {
                continue;
            };
            let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            else {
                continue;
            };
            if a <= covered && covered < b {
                let anonymous = inode == "0" && path.is_none_or(|p| p == "[heap]");
                if !(perms.starts_with("rw") && perms.ends_with('p') && anonymous) {
                    return Err(TrackingError(format!(
                        "{span} is not private anonymous memory ({perms} {})",
                        path.unwrap_or("")
                    )));
                }
                covered = b;
                if covered >= end {
                    return Ok(());
                }
            }
        }
        Err(TrackingError("the buffer is not mapped".into()))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::{hash_bytes, CHUNK_SIZE};

    /// An anonymous mapping, unmapped on drop.
    struct Mapping {
        ptr: *mut u8,
        len: usize,
    }

    impl Mapping {
        /// Private: the memory an array buffer is made of.
        fn new(len: usize) -> Mapping {
            Mapping::with_sharing(len, libc::MAP_PRIVATE)
        }
        /// `sharing`: `libc::MAP_PRIVATE` or `libc::MAP_SHARED`.
        fn with_sharing(len: usize, sharing: libc::c_int) -> Mapping {
            // SAFETY: a fresh anonymous mapping, owned by the returned value.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    sharing | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(ptr, libc::MAP_FAILED);
            Mapping {
                ptr: ptr.cast(),
                len,
            }
        }
        fn bytes(&mut self) -> &mut [u8] {
            // SAFETY: the mapping is `len` bytes, readable and writable.
            unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: unmaps the mapping made in `new`.
            unsafe { libc::munmap(self.ptr.cast(), self.len) };
        }
    }

    fn hashes(bytes: &[u8]) -> Vec<crate::ChunkHash> {
        bytes.chunks(CHUNK_SIZE).map(hash_bytes).collect()
    }

    #[test]
    fn written_pages_are_found_and_tracked_hashes_match_full_hashing() {
        let len = 8 * CHUNK_SIZE + 12_345;
        let mut map = Mapping::new(len + 4096);
        for (i, b) in map.bytes().iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        // The buffer starts mid-page: its head and tail are never tracked.
        let addr = map.ptr as usize + 100;
        let mut tracker = match WriteTracker::start(addr, len) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("skipped: {e}");
                return;
            }
        };
        let region = tracker.region();
        assert_eq!(
            tracker.take_written().unwrap(),
            vec![],
            "nothing written yet"
        );
        let mut known = hashes(&map.bytes()[100..100 + len]);
        for step in 0..3usize {
            // Writes in a few pages: the first chunk, the middle, the last.
            let spots = [
                100 + 5,
                100 + 3 * CHUNK_SIZE + 4096 * step + 7,
                100 + len - 3,
            ];
            for &spot in &spots {
                map.bytes()[spot] ^= 0xff;
            }
            let written = tracker.take_written().unwrap();
            assert!(!written.is_empty());
            let middle = map.ptr as usize + spots[1];
            assert!(written.iter().any(|w| w.contains(&middle)), "{written:?}");
            let dirty = chunks_to_rehash(addr, len, CHUNK_SIZE, &region, &written);
            let data = &map.bytes()[100..100 + len];
            for (i, d) in dirty.iter().enumerate() {
                if *d {
                    let end = ((i + 1) * CHUNK_SIZE).min(len);
                    known[i] = hash_bytes(&data[i * CHUNK_SIZE..end]);
                }
            }
            // The tracking path and the full hashing path agree.
            assert_eq!(known, hashes(data), "step {step}");
            // Chunks 0, 3 and 8 hold the writes; the buffer starts 100 bytes
            // into a page, so the page written in chunk 3 also overlaps the
            // end of chunk 2 (rehashed too: pages, not bytes, are tracked).
            assert!(dirty[0] && dirty[3] && dirty[8], "step {step}: {dirty:?}");
            assert!(
                dirty.iter().filter(|d| **d).count() <= 4,
                "step {step}: {dirty:?}"
            );
            assert_eq!(tracker.take_written().unwrap(), vec![], "protected again");
        }
    }

    #[test]
    fn unavailable_cases_fall_back() {
        // Not mapped at all.
        assert!(WriteTracker::start(4096, 1 << 20).is_err());
        // Shared memory another process could write.
        let len = 1 << 20;
        // SAFETY: a fresh shared anonymous mapping, unmapped below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED);
        assert!(WriteTracker::start(ptr as usize, len).is_err());
        // SAFETY: unmaps the mapping just made.
        unsafe { libc::munmap(ptr, len) };
        // Smaller than a page.
        assert!(WriteTracker::start(12, 100).is_err());
    }

    #[test]
    fn the_kernel_query_and_the_maps_text_agree() {
        let len = 4 * 4096;
        let private = Mapping::new(len);
        let shared = Mapping::with_sharing(len, libc::MAP_SHARED);
        let shared = shared.ptr as usize;
        let heap = vec![7u8; 3 << 20]; // (malloc: the heap or its own mapping)
        let code = the_kernel_query_and_the_maps_text_agree as *const () as usize;
        let p = private.ptr as usize;
        for (start, end, ok) in [
            (p, p + len, Some(true)),
            (shared, shared + len, Some(false)),
            (code, code + 1, Some(false)),
            (4096, 8192, Some(false)),
            (
                heap.as_ptr() as usize,
                heap.as_ptr() as usize + heap.len(),
                None,
            ),
        ] {
            let text = linux::parse_private_anonymous(start, end);
            if let Some(ok) = ok {
                assert_eq!(text.is_ok(), ok, "{start:#x}: {text:?}");
            }
            match linux::query_private_anonymous(start, end) {
                Some(query) => assert_eq!(query.is_ok(), text.is_ok(), "{start:#x}: {query:?}"),
                None => eprintln!("no PROCMAP_QUERY here"),
            }
        }
    }

    #[test]
    fn a_covering_region_leaves_no_chunk_out() {
        let len = 3 * CHUNK_SIZE;
        let mut map = Mapping::new(len + 2 * 4096);
        let addr = map.ptr as usize + 100;
        let Ok(mut tracker) = WriteTracker::start_covering(addr, len) else {
            return;
        };
        let region = tracker.region();
        assert!(region.start <= addr && region.end >= addr + len);
        let written = tracker.take_written().unwrap();
        assert_eq!(
            chunks_to_rehash(addr, len, CHUNK_SIZE, &region, &written),
            vec![false; 3]
        );
        map.bytes()[50] = 1; // before the buffer, on its first page
        let written = tracker.take_written().unwrap();
        assert_eq!(
            chunks_to_rehash(addr, len, CHUNK_SIZE, &region, &written),
            vec![true, false, false]
        );
    }

    #[test]
    fn an_unmapped_region_ends_the_tracking() {
        let len = 2 * CHUNK_SIZE;
        let map = Mapping::new(len);
        let Ok(mut tracker) = WriteTracker::start(map.ptr as usize, len) else {
            return;
        };
        drop(map);
        assert!(tracker.take_written().is_err());
    }

    #[test]
    fn chunks_outside_the_region_are_always_rehashed() {
        let dirty = chunks_to_rehash(100, 3 * 64, 64, &(128..228), &[]);
        assert_eq!(dirty, vec![true, false, true]);
        let written = vec![130..131, 300..400];
        let dirty = chunks_to_rehash(0, 4 * 64, 64, &(0..256), &written);
        assert_eq!(dirty, vec![false, false, true, false]);
    }
}
