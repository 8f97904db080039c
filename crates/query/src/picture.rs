//! An array as a picture: the histogram of its values, and for a matrix a
//! heatmap of cell means (what the app draws for arrays too large to print).
//! The chunks are read and decoded like a diff reads them; nothing is
//! unpickled. Arrays over `READ_LIMIT` are sampled chunk by chunk.

use serde::Serialize;
use snapline_array_scan::CHUNK_SIZE;
use snapline_store::{ObjectKind, Store};

use crate::diff::array::{fortran, ElementKind};
use crate::error::{QueryError, QueryResult};
use crate::reference::SnapshotRef;

/// Bytes read at most; a larger array is sampled (evenly spaced chunks).
pub const READ_LIMIT: usize = 32 << 20;

/// Counts of finite values in equal bins over [min, max].
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Histogram {
    pub min: f64,
    pub max: f64,
    pub counts: Vec<u64>,
    /// NaN and infinite values read (not in any bin).
    pub nonfinite: u64,
}

/// A matrix (rows x the product of the other dimensions) shrunk to at most
/// `grid` x `grid` cells, each the mean of its finite values (null: none).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Heatmap {
    pub rows: usize,
    pub cols: usize,
    pub source_rows: u64,
    pub source_cols: u64,
    pub values: Vec<Option<f64>>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// What `array_picture` returns.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ArrayPicture {
    pub path: String,
    pub shape: Vec<i64>,
    pub dtype: Option<String>,
    pub histogram: Option<Histogram>,
    pub heatmap: Option<Heatmap>,
    /// Elements read (fewer than the array's when it was sampled).
    pub elements_read: u64,
    pub sampled: bool,
}

/// The picture of the array at `path` in `snap`: a histogram in `bins` bins
/// and, for arrays of two or more dimensions, a heatmap of at most `grid`
/// cells a side.
pub fn array_picture(
    store: &Store,
    snap: &SnapshotRef,
    path: &str,
    bins: usize,
    grid: usize,
) -> QueryResult<ArrayPicture> {
    let entry = store
        .entries(&snap.run, snap.seq)?
        .into_iter()
        .find(|e| e.path == path)
        .ok_or_else(|| QueryError::UnknownPath {
            snapshot: format!("{}@{}", snap.run, snap.seq),
            path: path.to_owned(),
        })?;
    let record = store.object(&entry.hash)?;
    let shape = record.shape.clone().unwrap_or_default();
    let mut out = ArrayPicture {
        path: path.to_owned(),
        shape: shape.clone(),
        dtype: record.dtype.clone(),
        histogram: None,
        heatmap: None,
        elements_read: 0,
        sampled: false,
    };
    let kind = ElementKind::of(&record);
    if record.kind != ObjectKind::Array || !kind.numeric() || record.chunks.is_empty() {
        return Ok(out);
    }
    let size = kind.size();
    // Evenly spaced chunks when the array is larger than the read limit.
    let total = record.chunks.len();
    let take = (READ_LIMIT / CHUNK_SIZE).max(1).min(total);
    let picked: Vec<usize> = (0..take).map(|i| i * total / take).collect();
    out.sampled = take < total;
    let mut values: Vec<(u64, f64)> = Vec::new();
    for &i in &picked {
        let bytes = store.read_chunk(&record.chunks[i])?;
        let first = (i * CHUNK_SIZE / size) as u64;
        for (k, element) in bytes.chunks_exact(size).enumerate() {
            values.push((first + k as u64, kind.value(element)));
        }
    }
    out.elements_read = values.len() as u64;
    let finite = values.iter().map(|(_, v)| *v).filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let bins = bins.clamp(1, 512);
    let mut hist = Histogram {
        min: if lo.is_finite() { lo } else { 0.0 },
        max: if hi.is_finite() { hi } else { 0.0 },
        counts: vec![0; bins],
        nonfinite: 0,
    };
    let span = hist.max - hist.min;
    for (_, v) in &values {
        if !v.is_finite() {
            hist.nonfinite += 1;
            continue;
        }
        let b = if span > 0.0 {
            (((v - hist.min) / span) * bins as f64) as usize
        } else {
            0
        };
        hist.counts[b.min(bins - 1)] += 1;
    }
    out.histogram = Some(hist);
    if shape.len() >= 2 && !out.sampled {
        let rows = u64::try_from(shape[0]).unwrap_or(0);
        let cols: u64 = shape[1..]
            .iter()
            .map(|&d| u64::try_from(d).unwrap_or(0))
            .product();
        if rows > 0 && cols > 0 {
            let grid = grid.clamp(1, 256) as u64;
            let (gr, gc) = (rows.min(grid), cols.min(grid));
            let mut sums = vec![0.0f64; (gr * gc) as usize];
            let mut counts = vec![0u32; (gr * gc) as usize];
            let f_order = fortran(&record) && shape.len() == 2;
            for (flat, v) in &values {
                if !v.is_finite() {
                    continue;
                }
                let (r, c) = if f_order {
                    (flat % rows, flat / rows)
                } else {
                    (flat / cols, flat % cols)
                };
                let cell = ((r * gr / rows) * gc + c * gc / cols) as usize;
                if let (Some(s), Some(n)) = (sums.get_mut(cell), counts.get_mut(cell)) {
                    *s += v;
                    *n += 1;
                }
            }
            let cells: Vec<Option<f64>> = sums
                .iter()
                .zip(&counts)
                .map(|(s, &n)| (n > 0).then(|| s / f64::from(n)))
                .collect();
            let present = cells.iter().flatten().copied();
            let (cmin, cmax) = present.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
            out.heatmap = Some(Heatmap {
                rows: gr as usize,
                cols: gc as usize,
                source_rows: rows,
                source_cols: cols,
                values: cells,
                min: cmin.is_finite().then_some(cmin),
                max: cmax.is_finite().then_some(cmax),
            });
        }
    }
    Ok(out)
}
