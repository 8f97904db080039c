//! A copy of a chunk that does not pull the copy's cache lines in.
//!
//! A scan copies each new chunk right after hashing it (`scan_keeping`), and
//! the copy is read next by another thread (the writer's compression), much
//! later. An ordinary copy first reads every destination line from memory to
//! own it (a "read for ownership"), writes it into the cache, then writes it
//! back: for a chunk of 1 MiB, about 3 MiB of memory traffic and another
//! megabyte of cache evicted. Streaming (non-temporal) stores write whole
//! lines straight to memory: 1 MiB of traffic (issue #16: a DCGAN epoch
//! snapshot copies about 100 MB of changed weights on the program's thread).
//!
//! glibc's `memcpy` streams only copies larger than a share of the last-level
//! cache (several MiB here), so a 1 MiB chunk is copied the ordinary way.

/// A copy of `bytes`, written with streaming stores where the CPU has them
/// (x86-64: SSE2, always there); elsewhere an ordinary copy.
pub fn copy_streaming(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `out` has capacity for `bytes.len()` bytes, which
        // `stream_into` writes in full before `set_len` exposes them; the
        // two buffers do not overlap (`out` is new).
        unsafe {
            stream_into(out.as_mut_ptr(), bytes);
            out.set_len(bytes.len());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    out.extend_from_slice(bytes);
    out
}

/// Copies `src` into `dst` with streaming stores (as [`copy_streaming`]);
/// copies the first `min(dst.len(), src.len())` bytes.
pub fn copy_streaming_into(dst: &mut [u8], src: &[u8]) {
    let len = dst.len().min(src.len());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `dst` is a distinct mutable slice of at least `len` bytes.
    unsafe {
        stream_into(dst.as_mut_ptr(), &src[..len]);
    }
    #[cfg(not(target_arch = "x86_64"))]
    dst[..len].copy_from_slice(&src[..len]);
}

/// Writes all of `src` to `dst`: the bytes before `dst`'s first 16-byte
/// boundary and after its last whole 64-byte block ordinarily, the blocks
/// between with `movntdq`, then a store fence so that the streamed lines are
/// visible to any thread that later synchronizes with this one.
///
/// # Safety
/// `dst` must be valid for writes of `src.len()` bytes and must not overlap `src`.
#[cfg(target_arch = "x86_64")]
unsafe fn stream_into(dst: *mut u8, src: &[u8]) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_sfence, _mm_stream_si128};
    const BLOCK: usize = 64;
    let len = src.len();
    let head = dst.align_offset(16).min(len);
    // SAFETY (whole block): within `dst[..len]` and `src[..len]` by the
    // bounds computed here; `dst + i` is 16-byte aligned for the streamed
    // stores (i starts at `head`, which aligns it, and grows by 16s).
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), dst, head);
        let mut i = head;
        while i + BLOCK <= len {
            let s = src.as_ptr().add(i);
            let a = _mm_loadu_si128(s.cast::<__m128i>());
            let b = _mm_loadu_si128(s.add(16).cast::<__m128i>());
            let c = _mm_loadu_si128(s.add(32).cast::<__m128i>());
            let d = _mm_loadu_si128(s.add(48).cast::<__m128i>());
            let t = dst.add(i);
            _mm_stream_si128(t.cast::<__m128i>(), a);
            _mm_stream_si128(t.add(16).cast::<__m128i>(), b);
            _mm_stream_si128(t.add(32).cast::<__m128i>(), c);
            _mm_stream_si128(t.add(48).cast::<__m128i>(), d);
            i += BLOCK;
        }
        std::ptr::copy_nonoverlapping(src.as_ptr().add(i), dst.add(i), len - i);
        _mm_sfence();
    }
}

#[cfg(test)]
mod tests {
    use super::{copy_streaming, copy_streaming_into};

    #[test]
    fn copies_every_length_and_alignment_exactly() {
        let data: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for start in 0..17 {
            for len in [
                0,
                1,
                15,
                16,
                17,
                63,
                64,
                65,
                127,
                128,
                129,
                1000,
                4096,
                4983 - start,
            ] {
                let src = &data[start..start + len];
                assert_eq!(copy_streaming(src), src, "start {start} len {len}");
            }
        }
    }

    #[test]
    fn a_chunk_copies_whole() {
        let data: Vec<u8> = (0..crate::CHUNK_SIZE + 7)
            .map(|i| (i % 251) as u8)
            .collect();
        assert_eq!(copy_streaming(&data), data);
        assert_eq!(copy_streaming(&data[3..]), &data[3..]);
        let mut into = vec![0u8; data.len() - 5];
        copy_streaming_into(&mut into[..], &data[5..]);
        assert_eq!(into, &data[5..]);
        let mut shorter = [0u8; 100];
        copy_streaming_into(&mut shorter[1..], &data);
        assert_eq!(&shorter[1..], &data[..99]);
        assert_eq!(shorter[0], 0);
    }
}
