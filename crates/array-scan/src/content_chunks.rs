//! Content-defined chunking of serialized values (the JSON of a large list, dict or set).
//!
//! Fixed-size chunks re-store everything after an insertion; here a boundary falls where a
//! rolling (gear) hash of the last bytes matches a mask, so boundaries move with the content:
//! an item appended, changed or inserted in a long container changes the one or two chunks
//! around it, and the snapshot stores O(changed items), not O(size).

use std::ops::Range;

/// No boundary before this many bytes of a chunk.
pub const CONTENT_CHUNK_MIN: usize = 512;
/// A boundary after this many bytes whatever the content.
pub const CONTENT_CHUNK_MAX: usize = 16 * 1024;
/// Average chunk size past the minimum is about 2^10 = 1 KiB: a change in a
/// growing container stores about 1.5 KiB (before zstd) besides the record,
/// which lists one hash per chunk.
/// (The top bits: they depend on the last 64 bytes, the low ones on the last few.)
const MASK: u64 = ((1 << 10) - 1) << 54;

/// 256 pseudo-random words (splitmix64), one per byte value.
const GEAR: [u64; 256] = gear_table();

const fn gear_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut state: u64 = 0x5EED_0F5A_1DE5_C0DE;
    let mut i = 0;
    while i < 256 {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        table[i] = z ^ (z >> 31);
        i += 1;
    }
    table
}

/// The content-defined chunks of `bytes`, in order, covering all of it (none when empty).
///
/// ```
/// use snapline_array_scan::content_chunks;
///
/// let text: Vec<u8> = (0..20_000).flat_map(|i| format!("\"w{i}\",").into_bytes()).collect();
/// let chunks = content_chunks(&text);
/// assert_eq!(chunks.first().map(|c| c.start), Some(0));
/// assert_eq!(chunks.last().map(|c| c.end), Some(text.len()));
/// ```
pub fn content_chunks(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut chunks = Vec::with_capacity(bytes.len() / (CONTENT_CHUNK_MIN * 4) + 1);
    let mut start = 0;
    while start < bytes.len() {
        let end = next_boundary(&bytes[start..]) + start;
        chunks.push(start..end);
        start = end;
    }
    chunks
}

/// The length of the first chunk of `bytes`.
fn next_boundary(bytes: &[u8]) -> usize {
    let limit = bytes.len().min(CONTENT_CHUNK_MAX);
    if limit <= CONTENT_CHUNK_MIN {
        return limit;
    }
    let mut hash: u64 = 0;
    // The hash covers the last 64 bytes (older ones are shifted out), so it
    // starts a little before the minimum to be warm there.
    for (i, &byte) in bytes
        .iter()
        .enumerate()
        .take(limit)
        .skip(CONTENT_CHUNK_MIN - 64)
    {
        hash = (hash << 1).wrapping_add(GEAR[usize::from(byte)]);
        if i + 1 >= CONTENT_CHUNK_MIN && hash & MASK == 0 {
            return i + 1;
        }
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_json(items: impl Iterator<Item = usize>) -> Vec<u8> {
        let mut text = b"[".to_vec();
        for i in items {
            text.extend_from_slice(format!("\"token{}\",{},", i, i * 7 % 1000).as_bytes());
        }
        text.push(b']');
        text
    }

    fn pieces(bytes: &[u8]) -> Vec<&[u8]> {
        content_chunks(bytes)
            .into_iter()
            .map(|r| &bytes[r])
            .collect()
    }

    #[test]
    fn chunks_cover_the_bytes_within_bounds() {
        let text = list_json(0..50_000);
        let chunks = content_chunks(&text);
        assert_eq!(chunks[0].start, 0);
        for pair in chunks.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        assert_eq!(chunks.last().map(|c| c.end), Some(text.len()));
        for c in &chunks[..chunks.len() - 1] {
            assert!(c.len() >= CONTENT_CHUNK_MIN && c.len() <= CONTENT_CHUNK_MAX);
        }
        assert!(chunks.len() > 200, "{} chunks", chunks.len());
        assert!(content_chunks(b"").is_empty());
        assert_eq!(content_chunks(b"[1]"), vec![0..3]);
    }

    #[test]
    fn one_change_touches_few_chunks() {
        let before = list_json(0..50_000);
        // One item changed in the middle, one inserted, one appended.
        let mut items: Vec<usize> = (0..50_000).collect();
        items[20_000] = 999_999;
        items.insert(35_000, 123_456);
        items.push(50_000);
        let after = list_json(items.into_iter());
        let old: std::collections::HashSet<&[u8]> = pieces(&before).into_iter().collect();
        let new = pieces(&after);
        let changed = new.iter().filter(|p| !old.contains(*p)).count();
        assert!(changed <= 6, "{changed} of {} chunks changed", new.len());
    }
}
