//! Opening and verifying a bundle without trusting it: the footer and
//! manifest are checked against the file's real length before any part is
//! read, every read is bounded by a checked length, and every chunk frame is
//! decompressed into a buffer of exactly its declared size (a frame that
//! inflates beyond it fails) and hashed. Nothing here writes anything.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use snapline_store::{ObjectRecord, RunStatus, TransferRows};

use crate::error::{chunk_part, damaged, BundleError, BundleResult};
use crate::format::{
    check_layout, is_hex32, parse_footer, part_hash, ChunkPart, Manifest, FOOTER_LEN, HEADER,
    HEADER_LEN, MAX_MANIFEST, MAX_ROWS,
};
use crate::progress::Progress;

/// Bytes that can be read at an offset from several threads.
pub trait Source: Sync {
    /// Total length in bytes.
    fn size(&self) -> u64;
    /// Fills `buf` from `offset`; an error when the bytes are not there.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
}

/// A bundle file (its length read once, at open).
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    pub fn open(path: &Path) -> std::io::Result<FileSource> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileSource { file, len })
    }
}

impl Source for FileSource {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }
}

impl Source for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(buf.len());
        match self.get(start..end) {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(std::io::ErrorKind::UnexpectedEof.into()),
        }
    }
}

/// A bundle whose footer, manifest and layout have been checked (its
/// parts not yet).
pub struct BundleReader<S: Source + ?Sized> {
    pub manifest: Manifest,
    source: Box<S>,
}

/// A bundle whose every part has been checked: the catalog rows parsed and
/// consistent with the chunks, every chunk frame decompressed and hashed.
pub struct Verified {
    pub manifest: Manifest,
    pub rows: TransferRows,
}

fn read_part<S: Source + ?Sized>(
    source: &S,
    part: &str,
    offset: u64,
    length: u64,
) -> BundleResult<Vec<u8>> {
    // The layout check bounds every length by the file's real size.
    let len = usize::try_from(length).map_err(|_| damaged(part, "too long"))?;
    let mut buf = vec![0u8; len];
    source
        .read_exact_at(&mut buf, offset)
        .map_err(|e| damaged(part, format!("unreadable: {e}")))?;
    Ok(buf)
}

impl BundleReader<FileSource> {
    /// Opens a bundle file and checks its header, footer, manifest and layout.
    pub fn open_file(path: &Path) -> BundleResult<BundleReader<FileSource>> {
        let source = FileSource::open(path).map_err(|source| BundleError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        BundleReader::open(Box::new(source), &path.display().to_string())
    }
}

impl<S: Source + ?Sized> BundleReader<S> {
    /// Checks header, footer, manifest hash and layout; reads only those.
    pub fn open(source: Box<S>, name: &str) -> BundleResult<BundleReader<S>> {
        let len = source.size();
        if len < HEADER_LEN + FOOTER_LEN {
            return Err(BundleError::NotABundle {
                path: name.to_owned(),
                detail: format!("{len} bytes, too short"),
            });
        }
        let mut header = [0u8; 16];
        source
            .read_exact_at(&mut header, 0)
            .map_err(|e| damaged("header", e.to_string()))?;
        if header[..15] != HEADER[..15] {
            return Err(BundleError::NotABundle {
                path: name.to_owned(),
                detail: "no bundle header".into(),
            });
        }
        if header[15] != HEADER[15] {
            return Err(BundleError::TooNew {
                detail: format!("bundle format {}", header[15]),
            });
        }
        let mut foot = [0u8; 48];
        source
            .read_exact_at(&mut foot, len - FOOTER_LEN)
            .map_err(|e| damaged("footer", e.to_string()))?;
        let (offset, length, hash) = parse_footer(&foot).ok_or_else(|| {
            damaged(
                "footer",
                "missing (the file is truncated or has bytes appended)",
            )
        })?;
        if length > MAX_MANIFEST {
            return Err(damaged("footer", format!("a {length}-byte manifest")));
        }
        if offset < HEADER_LEN || offset.checked_add(length) != Some(len - FOOTER_LEN) {
            return Err(damaged(
                "footer",
                format!("the manifest at {offset}+{length} is not where the footer starts"),
            ));
        }
        let bytes = read_part(&*source, "manifest", offset, length)?;
        if xxhash_rust::xxh3::xxh3_128(&bytes) != hash {
            return Err(damaged(
                "manifest",
                "its bytes do not match the footer's hash",
            ));
        }
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| damaged("manifest", format!("not valid JSON: {e}")))?;
        check_layout(&manifest, offset)?;
        Ok(BundleReader { manifest, source })
    }

    /// The frame of one chunk part, checked against its part hash.
    pub fn frame(&self, chunk: &ChunkPart) -> BundleResult<Vec<u8>> {
        let part = chunk_part(&chunk.chunk);
        let frame = read_part(&*self.source, &part, chunk.part.offset, chunk.part.length)?;
        if part_hash(&frame) != chunk.part.hash {
            return Err(damaged(part, "its bytes do not match the manifest's hash"));
        }
        Ok(frame)
    }

    /// Reads, hashes and parses the catalog part.
    pub fn catalog(&self) -> BundleResult<TransferRows> {
        let c = &self.manifest.catalog;
        let bytes = read_part(&*self.source, "catalog", c.offset, c.length)?;
        if part_hash(&bytes) != c.hash {
            return Err(damaged(
                "catalog",
                "its bytes do not match the manifest's hash",
            ));
        }
        parse_catalog(&bytes)
    }

    /// The catalog part, checked: hashed, parsed, consistent in itself and
    /// with the manifest's chunk parts.
    pub fn checked_catalog(&self) -> BundleResult<TransferRows> {
        let rows = self.catalog()?;
        check_rows_against_manifest(&rows, &self.manifest)?;
        Ok(rows)
    }

    /// One chunk part's frame, checked: frame hash, bounded decompression
    /// to exactly its declared size, content hash. `scratch` is reused
    /// between calls.
    fn checked_frame<'b>(
        &self,
        chunk: &ChunkPart,
        frame: &'b mut Vec<u8>,
        scratch: &mut Vec<u8>,
    ) -> BundleResult<&'b [u8]> {
        let part = chunk_part(&chunk.chunk);
        // The layout check bounds every length by the file's real size.
        let len = usize::try_from(chunk.part.length).map_err(|_| damaged(&part, "too long"))?;
        // Buffers are reused between chunks: only growth is zeroed, and
        // every byte used is overwritten first.
        if frame.len() < len {
            frame.resize(len, 0);
        }
        let frame = &mut frame[..len];
        self.source
            .read_exact_at(frame, chunk.part.offset)
            .map_err(|e| damaged(&part, format!("unreadable: {e}")))?;
        if part_hash(frame) != chunk.part.hash {
            return Err(damaged(part, "its bytes do not match the manifest's hash"));
        }
        let size = usize::try_from(chunk.size).map_err(|_| damaged(&part, "too large"))?;
        if scratch.len() < size {
            scratch.resize(size, 0);
        }
        let mut decoder =
            zstd::bulk::Decompressor::new().map_err(|e| damaged(&part, e.to_string()))?;
        let written = decoder
            .decompress_to_buffer(&*frame, &mut scratch[..size])
            .map_err(|e| {
                damaged(
                    &part,
                    format!("does not decompress within its declared {size} bytes: {e}"),
                )
            })?;
        if written != size {
            return Err(damaged(
                &part,
                format!("decompresses to {written} bytes where it declares {size}"),
            ));
        }
        let actual = part_hash(&scratch[..size]);
        if actual != chunk.chunk {
            return Err(damaged(&part, format!("its content hashes to {actual}")));
        }
        Ok(frame)
    }

    /// Checks the frame of each of `chunks` on `threads` threads (none
    /// spawned when `threads <= 1`) and hands each checked frame to `use_frame`,
    /// reading every frame once. Stops at the first failure; the error
    /// returned is that of the earliest failing chunk in `chunks` order.
    pub fn each_checked_frame<F>(
        &self,
        chunks: &[&ChunkPart],
        threads: usize,
        phase: &str,
        progress: &dyn Progress,
        use_frame: F,
    ) -> BundleResult<()>
    where
        F: Fn(&ChunkPart, &[u8]) -> BundleResult<()> + Sync,
    {
        let total: u64 = chunks.iter().map(|c| c.part.length).sum();
        progress.start(phase, total);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let first_error: Mutex<Option<(usize, BundleError)>> = Mutex::new(None);
        let work = || {
            let (mut frame, mut scratch) = (Vec::new(), Vec::new());
            while !failed.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else {
                    break;
                };
                let done = self
                    .checked_frame(chunk, &mut frame, &mut scratch)
                    .and_then(|frame| use_frame(chunk, frame));
                match done {
                    Ok(()) => progress.advance(chunk.part.length),
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        if let Ok(mut slot) = first_error.lock() {
                            if slot.as_ref().is_none_or(|(j, _)| i < *j) {
                                *slot = Some((i, e));
                            }
                        }
                        break;
                    }
                }
            }
        };
        if threads <= 1 {
            // No thread at all: what the fuzz targets run.
            work();
        } else {
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(work);
                }
            });
        }
        progress.finish();
        if let Some((_, e)) = first_error.into_inner().ok().flatten() {
            return Err(e);
        }
        if failed.load(Ordering::Relaxed) {
            return Err(damaged("chunks", "verification failed"));
        }
        Ok(())
    }

    /// Checks every part: the catalog (parsed, every reference present),
    /// then every chunk on `threads` threads. Reads everything once and
    /// writes nothing.
    pub fn verify(&self, threads: usize, progress: &dyn Progress) -> BundleResult<Verified> {
        let rows = self.checked_catalog()?;
        let chunks: Vec<&ChunkPart> = self.manifest.chunks.iter().collect();
        self.each_checked_frame(&chunks, threads, "verifying", progress, |_, _| Ok(()))?;
        Ok(Verified {
            manifest: self.manifest.clone(),
            rows,
        })
    }
}

/// Opens and verifies a bundle held in memory, on this thread (what the
/// fuzz target `bundle_reader` and the hostile tests drive).
pub fn verify_bytes(bytes: &[u8]) -> BundleResult<Verified> {
    let reader: BundleReader<[u8]> = BundleReader::open(Box::from(bytes), "<bytes>")?;
    reader.verify(1, &crate::progress::NoProgress)
}

fn too_many(what: &str, n: usize) -> BundleResult<()> {
    if n > MAX_ROWS {
        return Err(damaged(
            "catalog",
            format!("{n} {what} (at most {MAX_ROWS})"),
        ));
    }
    Ok(())
}

/// Parses the catalog part and checks it is consistent in itself: a valid
/// run id and status, unique snapshots, entries of those snapshots naming
/// objects the part holds, object records that parse and whose children
/// and chunks the part holds. (What the fuzz target `catalog_rows` drives.)
pub fn parse_catalog(bytes: &[u8]) -> BundleResult<TransferRows> {
    let rows: TransferRows = serde_json::from_slice(bytes)
        .map_err(|e| damaged("catalog", format!("not valid JSON rows: {e}")))?;
    check_rows(&rows)?;
    Ok(rows)
}

fn check_rows(rows: &TransferRows) -> BundleResult<()> {
    let bad = |detail: String| damaged("catalog", detail);
    let run = &rows.run;
    if run.id.is_empty() || run.id.len() > 64 || !run.id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(bad(format!(
            "run id {:?} is not an id",
            run.id.escape_debug().to_string()
        )));
    }
    if RunStatus::parse(&run.status).is_none() {
        return Err(bad(format!("run status {:?} is unknown", run.status)));
    }
    too_many("snapshots", rows.snapshots.len())?;
    too_many("entries", rows.entries.len())?;
    too_many("objects", rows.objects.len())?;
    too_many("chunks", rows.chunks.len())?;
    too_many("metric points", rows.metrics.len())?;
    too_many("events", rows.events.len())?;
    too_many("warnings", rows.warnings.len())?;
    let mut seqs = BTreeSet::new();
    for s in &rows.snapshots {
        if !seqs.insert(s.seq) {
            return Err(bad(format!("snapshot {} is listed twice", s.seq)));
        }
    }
    let chunks: HashMap<&str, u64> = rows
        .chunks
        .iter()
        .map(|c| (c.hash.as_str(), c.size))
        .collect();
    if chunks.len() != rows.chunks.len() {
        return Err(bad("a chunk row is listed twice".into()));
    }
    for c in &rows.chunks {
        if !snapline_store::is_chunk_name(&c.hash) {
            return Err(bad(format!(
                "chunk row {:?} is not a chunk name",
                c.hash.escape_debug().to_string()
            )));
        }
    }
    let mut objects: HashMap<&str, &str> = HashMap::with_capacity(rows.objects.len());
    for o in &rows.objects {
        if !is_hex32(&o.hash) {
            return Err(bad(format!(
                "object {:?} is not an object hash",
                o.hash.escape_debug().to_string()
            )));
        }
        if objects.insert(o.hash.as_str(), o.record.as_str()).is_some() {
            return Err(bad(format!("object {} is listed twice", o.hash)));
        }
    }
    let mut paths = HashSet::with_capacity(rows.entries.len());
    for e in &rows.entries {
        if !seqs.contains(&e.seq) {
            return Err(bad(format!(
                "an entry of snapshot {} which the bundle lacks",
                e.seq
            )));
        }
        if !paths.insert((e.seq, e.path.as_str())) {
            return Err(bad(format!("snapshot {} lists {:?} twice", e.seq, e.path)));
        }
        if !objects.contains_key(e.hash.as_str()) {
            return Err(bad(format!(
                "snapshot {} path {:?} names object {:?}, which the bundle lacks",
                e.seq,
                e.path,
                e.hash.escape_debug().to_string()
            )));
        }
    }
    for o in &rows.objects {
        let record: ObjectRecord = serde_json::from_str(&o.record)
            .map_err(|e| bad(format!("object {} is not a record: {e}", o.hash)))?;
        for child in snapline_store::record_children(&record) {
            if !objects.contains_key(child.as_str()) {
                return Err(bad(format!(
                    "object {} has a child {:?} which the bundle lacks",
                    o.hash,
                    child.escape_debug().to_string()
                )));
            }
        }
        for chunk in snapline_store::record_chunks(&record) {
            if !chunks.contains_key(chunk.as_str()) {
                return Err(bad(format!(
                    "object {} needs chunk {:?}, which the bundle lacks",
                    o.hash,
                    chunk.escape_debug().to_string()
                )));
            }
        }
    }
    Ok(())
}

/// Every chunk row has a part of the same size and stored length, and every
/// part a row.
fn check_rows_against_manifest(rows: &TransferRows, manifest: &Manifest) -> BundleResult<()> {
    if rows.run.id != manifest.run {
        return Err(damaged(
            "catalog",
            format!(
                "holds run {} where the manifest says {}",
                rows.run.id, manifest.run
            ),
        ));
    }
    let parts: HashMap<&str, &ChunkPart> = manifest
        .chunks
        .iter()
        .map(|c| (c.chunk.as_str(), c))
        .collect();
    for c in &rows.chunks {
        let part = parts.get(c.hash.as_str()).ok_or_else(|| {
            damaged(
                "catalog",
                format!("chunk {} has no part in the bundle", c.hash),
            )
        })?;
        if part.size != c.size || part.part.length != c.stored {
            return Err(damaged(
                chunk_part(&c.hash),
                format!(
                    "the catalog says {} raw / {} stored bytes, the manifest {} / {}",
                    c.size, c.stored, part.size, part.part.length
                ),
            ));
        }
    }
    if rows.chunks.len() != manifest.chunks.len() {
        return Err(damaged(
            "manifest",
            format!(
                "{} chunk parts for {} chunk rows",
                manifest.chunks.len(),
                rows.chunks.len()
            ),
        ));
    }
    Ok(())
}
