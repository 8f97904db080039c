//! Export: a run or one snapshot of it into one bundle file. Chunk frames
//! are copied as the store holds them (no recompression), each once. The
//! file is written under a temporary name beside the target, fsynced and
//! renamed, so the target is either the whole bundle or untouched.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use snapline_store::{Store, SCHEMA_VERSION};

use crate::error::{BundleError, BundleResult};
use crate::format::{
    footer, part_hash, ChunkPart, Manifest, PartRef, FORMAT_NAME, FORMAT_VERSION, HEADER,
    HEADER_LEN,
};
use crate::progress::Progress;

/// What to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every snapshot of the run.
    Run,
    /// One snapshot (with its run's row and all its metrics).
    Snapshot(i64),
}

/// What an export wrote (the `snapline export --json` shape).
#[derive(Clone, Debug, Serialize)]
pub struct ExportSummary {
    pub path: PathBuf,
    pub format: String,
    pub run: String,
    /// `run` or `snapshot`.
    pub scope: String,
    pub seqs: Vec<i64>,
    pub snapshots: usize,
    pub objects: usize,
    pub chunks: usize,
    pub metrics: usize,
    /// Raw bytes of the chunks carried.
    pub raw_bytes: u64,
    /// Size of the bundle file.
    pub bytes: u64,
}

struct Counting<W: Write> {
    inner: W,
    at: u64,
}

impl<W: Write> Counting<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<PartRef> {
        let offset = self.at;
        self.inner.write_all(bytes)?;
        self.at += bytes.len() as u64;
        Ok(PartRef {
            offset,
            length: bytes.len() as u64,
            hash: part_hash(bytes),
        })
    }
}

/// Writes the bundle of `run_id` (all of it, or one snapshot) to `out`.
pub fn export_bundle(
    store: &Store,
    run_id: &str,
    scope: Scope,
    out: &Path,
    progress: &dyn Progress,
) -> BundleResult<ExportSummary> {
    let seqs = match scope {
        Scope::Run => None,
        Scope::Snapshot(seq) => Some(vec![seq]),
    };
    let mut rows = store.export_rows(run_id, seqs.as_deref())?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".into());
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(".{name}.partial-{}", std::process::id()));
    let written = write_file(store, &mut rows, scope, &tmp, progress);
    let manifest = match written {
        Ok(m) => m,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(source) = fs::rename(&tmp, out) {
        let _ = fs::remove_file(&tmp);
        return Err(BundleError::Write {
            path: out.to_path_buf(),
            source,
        });
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    let bytes = fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(ExportSummary {
        path: out.to_path_buf(),
        format: "snapline".into(),
        run: rows.run.id.clone(),
        scope: manifest.scope.clone(),
        seqs: manifest.seqs.clone(),
        snapshots: rows.snapshots.len(),
        objects: rows.objects.len(),
        chunks: rows.chunks.len(),
        metrics: rows.metrics.len(),
        raw_bytes: rows.chunks.iter().map(|c| c.size).sum(),
        bytes,
    })
}

fn write_file(
    store: &Store,
    rows: &mut snapline_store::TransferRows,
    scope: Scope,
    tmp: &Path,
    progress: &dyn Progress,
) -> BundleResult<Manifest> {
    let werr = |source: std::io::Error| BundleError::Write {
        path: tmp.to_path_buf(),
        source,
    };
    let file = File::create(tmp).map_err(werr)?;
    let mut w = Counting {
        inner: BufWriter::with_capacity(1 << 20, file),
        at: 0,
    };
    w.inner.write_all(HEADER).map_err(werr)?;
    w.at = HEADER_LEN;
    let total: u64 = rows.chunks.iter().map(|c| c.stored).sum();
    progress.start("exporting", total);
    let mut chunks = Vec::with_capacity(rows.chunks.len());
    for c in rows.chunks.iter_mut() {
        let (size, inline) = store.chunk_location(&c.hash)?;
        let frame = match inline {
            // An inline twist frame needs its base: it leaves decoded.
            Some(frame) => store.portable_frame(&c.hash, frame)?,
            None => store.chunk_frame(&c.hash)?,
        };
        let part = w.put(&frame).map_err(werr)?;
        // The stored size is the frame carried, whatever the row said.
        c.size = size;
        c.stored = part.length;
        progress.advance(part.length);
        chunks.push(ChunkPart {
            chunk: c.hash.clone(),
            size,
            part,
        });
    }
    progress.finish();
    let catalog_bytes = serde_json::to_vec(&*rows).map_err(|e| werr(e.into()))?;
    let catalog = w.put(&catalog_bytes).map_err(werr)?;
    drop(catalog_bytes);
    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        schema: SCHEMA_VERSION,
        snapline: env!("CARGO_PKG_VERSION").into(),
        host: snapline_store::host_name().unwrap_or_else(|| "unknown".into()),
        exporter: crate::user_name(),
        exported_at: crate::now(),
        run: rows.run.id.clone(),
        scope: match scope {
            Scope::Run => "run".into(),
            Scope::Snapshot(_) => "snapshot".into(),
        },
        seqs: rows.snapshots.iter().map(|s| s.seq).collect(),
        catalog,
        chunks,
    };
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| werr(e.into()))?;
    let manifest_offset = w.at;
    w.put(&manifest_bytes).map_err(werr)?;
    w.inner
        .write_all(&footer(manifest_offset, &manifest_bytes))
        .map_err(werr)?;
    let file = w.inner.into_inner().map_err(|e| werr(e.into_error()))?;
    file.sync_all().map_err(werr)?;
    Ok(manifest)
}
