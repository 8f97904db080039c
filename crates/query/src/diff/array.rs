//! Element-level diff of two stored arrays, chunk by chunk: chunks with
//! equal hashes are skipped unread; the others are decompressed (and
//! hash-checked) and compared element by element.

use serde::Serialize;
use snapline_array_scan::{DType, Stats, CHUNK_SIZE};
use snapline_store::{ObjectRecord, Store};

use crate::error::QueryResult;

/// How many changed elements a diff lists by default.
pub const DEFAULT_ELEMENTS: usize = 10;

/// What changed between two arrays or tensors.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ArrayDiff {
    pub old_shape: Option<Vec<i64>>,
    pub new_shape: Option<Vec<i64>>,
    pub old_dtype: Option<String>,
    pub new_dtype: Option<String>,
    /// Elements in the new array.
    pub elements: u64,
    /// Whether the elements were compared (same shape and dtype).
    pub compared: bool,
    /// Why they were not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_compared: Option<String>,
    /// Elements whose value differs (NaN equals NaN here).
    pub changed: u64,
    /// Largest |new - old| over pairs of finite elements.
    pub max_abs_diff: Option<f64>,
    /// Mean of |new - old| over all pairs of finite elements (unchanged ones count as 0).
    pub mean_abs_diff: Option<f64>,
    /// Elements finite before and NaN or infinite now.
    pub became_nonfinite: u64,
    /// Chunks compared element by element / chunks skipped for equal hashes.
    pub chunks_read: usize,
    pub chunks_equal: usize,
    pub old_stats: Option<Stats>,
    pub new_stats: Option<Stats>,
    /// new - old of the stored stats.
    pub delta: StatsDelta,
    /// The first changed elements, in storage order of the new array.
    pub first_changes: Vec<ElementChange>,
}

/// Differences of two arrays' stats (new minus old).
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatsDelta {
    pub norm: Option<f64>,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub nan: i64,
    pub inf: i64,
}

/// One changed element: its index and both values.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ElementChange {
    pub index: Vec<u64>,
    #[serde(with = "snapline_store::wire_float")]
    #[cfg_attr(feature = "ts", ts(type = "number | \"nan\" | \"inf\" | \"-inf\""))]
    pub old: f64,
    #[serde(with = "snapline_store::wire_float")]
    #[cfg_attr(feature = "ts", ts(type = "number | \"nan\" | \"inf\" | \"-inf\""))]
    pub new: f64,
}

fn sub(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

fn stats_delta(old: Option<&Stats>, new: Option<&Stats>) -> StatsDelta {
    let (Some(o), Some(n)) = (old, new) else {
        return StatsDelta::default();
    };
    let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    StatsDelta {
        norm: sub(n.l2, o.l2),
        mean: sub(n.mean, o.mean),
        min: sub(n.min, o.min),
        max: sub(n.max, o.max),
        nan: signed(n.nan) - signed(o.nan),
        inf: signed(n.posinf + n.neginf) - signed(o.posinf + o.neginf),
    }
}

/// Storage order of an array's chunks: numpy F-contiguous arrays are
/// stored as they lie in memory, everything else in C order.
pub(crate) fn fortran(record: &ObjectRecord) -> bool {
    record.extra.get("order").and_then(|o| o.as_str()) == Some("F")
        && record.shape.as_ref().is_some_and(|s| s.len() > 1)
}

fn element_count(shape: &[i64]) -> u64 {
    shape
        .iter()
        .map(|&d| u64::try_from(d).unwrap_or(0))
        .product()
}

/// Compares two array records of the same or different shape and dtype.
pub fn diff_arrays(
    store: &Store,
    old: &ObjectRecord,
    new: &ObjectRecord,
    elements: usize,
) -> QueryResult<ArrayDiff> {
    let new_shape = new.shape.clone().unwrap_or_default();
    let mut out = ArrayDiff {
        old_shape: old.shape.clone(),
        new_shape: new.shape.clone(),
        old_dtype: old.dtype.clone(),
        new_dtype: new.dtype.clone(),
        elements: element_count(&new_shape),
        compared: false,
        not_compared: None,
        changed: 0,
        max_abs_diff: None,
        mean_abs_diff: None,
        became_nonfinite: 0,
        chunks_read: 0,
        chunks_equal: 0,
        old_stats: old.stats.clone(),
        new_stats: new.stats.clone(),
        delta: stats_delta(old.stats.as_ref(), new.stats.as_ref()),
        first_changes: Vec::new(),
    };
    if old.shape != new.shape {
        out.not_compared = Some("the shape changed".into());
        return Ok(out);
    }
    if old.dtype != new.dtype {
        out.not_compared = Some("the dtype changed".into());
        return Ok(out);
    }
    if old.nbytes != new.nbytes || (new.chunks.is_empty() && new.nbytes > 0) {
        out.not_compared = Some("the stored sizes differ".into());
        return Ok(out);
    }
    let kind = ElementKind::of(new);
    let mut acc = Accumulator::new(kind, elements);
    if fortran(old) == fortran(new) {
        // Same layout: chunk i of one is chunk i of the other.
        for (i, (a, b)) in old.chunks.iter().zip(&new.chunks).enumerate() {
            if a == b {
                out.chunks_equal += 1;
                continue;
            }
            let (ra, rb) = (store.read_chunk(a)?, store.read_chunk(b)?);
            out.chunks_read += 1;
            let first = (i * CHUNK_SIZE / kind.size()) as u64;
            acc.compare(&ra, &rb, first);
        }
    } else {
        // One C, one F: bring both to C order in memory.
        let to_c = |r: &ObjectRecord| -> QueryResult<Vec<u8>> {
            let mut bytes = Vec::with_capacity(usize::try_from(r.nbytes).unwrap_or(0));
            for h in &r.chunks {
                bytes.extend_from_slice(&store.read_chunk(h)?);
            }
            Ok(if fortran(r) {
                fortran_to_c(&bytes, &new_shape, kind.size())
            } else {
                bytes
            })
        };
        let (ra, rb) = (to_c(old)?, to_c(new)?);
        out.chunks_read = old.chunks.len() + new.chunks.len();
        acc.compare(&ra, &rb, 0);
    }
    out.compared = true;
    out.changed = acc.changed;
    out.became_nonfinite = acc.became_nonfinite;
    if kind.numeric() {
        out.max_abs_diff = (acc.pairs > 0).then_some(acc.max_abs);
        out.mean_abs_diff = (acc.pairs > 0).then(|| acc.sum_abs / acc.pairs as f64);
    }
    // Indices are reported in C order (F-order pairs were compared in C order).
    let storage_fortran = fortran(old) && fortran(new);
    out.first_changes = acc
        .first
        .into_iter()
        .map(|(flat, before, after)| ElementChange {
            index: unravel(flat, &new_shape, storage_fortran),
            old: before,
            new: after,
        })
        .collect();
    Ok(out)
}

/// How to read one element.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ElementKind {
    Typed(DType),
    /// A dtype the scanner does not know: compared as raw bytes of this size.
    Raw(usize),
}

impl ElementKind {
    pub(crate) fn of(record: &ObjectRecord) -> ElementKind {
        if let Some(d) = record.dtype.as_deref().and_then(DType::from_name) {
            return ElementKind::Typed(d);
        }
        let count = element_count(record.shape.as_deref().unwrap_or(&[]));
        let size = record
            .nbytes
            .checked_div(count)
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(1);
        ElementKind::Raw(size.max(1))
    }

    pub(crate) fn size(self) -> usize {
        match self {
            ElementKind::Typed(d) => d.size(),
            ElementKind::Raw(n) => n,
        }
    }

    pub(crate) fn numeric(self) -> bool {
        matches!(self, ElementKind::Typed(_))
    }

    pub(crate) fn value(self, bytes: &[u8]) -> f64 {
        let ElementKind::Typed(d) = self else {
            return f64::NAN;
        };
        macro_rules! ne {
            ($t:ty) => {
                <$t>::from_ne_bytes(bytes.try_into().unwrap_or_default()) as f64
            };
        }
        match d {
            DType::Bool => f64::from(u8::from(bytes.first().is_some_and(|b| *b != 0))),
            DType::I8 => ne!(i8),
            DType::I16 => ne!(i16),
            DType::I32 => ne!(i32),
            DType::I64 => ne!(i64),
            DType::U8 => ne!(u8),
            DType::U16 => ne!(u16),
            DType::U32 => ne!(u32),
            DType::U64 => ne!(u64),
            DType::F16 => half::f16::from_ne_bytes(bytes.try_into().unwrap_or_default()).to_f64(),
            DType::BF16 => half::bf16::from_ne_bytes(bytes.try_into().unwrap_or_default()).to_f64(),
            DType::F32 => ne!(f32),
            DType::F64 => ne!(f64),
        }
    }
}

struct Accumulator {
    kind: ElementKind,
    limit: usize,
    changed: u64,
    became_nonfinite: u64,
    pairs: u64,
    sum_abs: f64,
    max_abs: f64,
    first: Vec<(u64, f64, f64)>,
}

impl Accumulator {
    fn new(kind: ElementKind, limit: usize) -> Accumulator {
        Accumulator {
            kind,
            limit,
            changed: 0,
            became_nonfinite: 0,
            pairs: 0,
            sum_abs: 0.0,
            max_abs: 0.0,
            first: Vec::new(),
        }
    }

    /// Compares two equally long runs of elements; `first` is the flat
    /// index of their first element.
    fn compare(&mut self, a: &[u8], b: &[u8], first: u64) {
        let size = self.kind.size();
        match self.kind {
            ElementKind::Typed(DType::F32) => {
                self.floats::<4>(a, b, first, |x| f64::from(f32::from_ne_bytes(x)))
            }
            ElementKind::Typed(DType::F64) => self.floats::<8>(a, b, first, f64::from_ne_bytes),
            _ => {
                for (i, (x, y)) in a.chunks_exact(size).zip(b.chunks_exact(size)).enumerate() {
                    if x == y {
                        if self.kind.numeric() {
                            self.pairs += u64::from(self.kind.value(x).is_finite());
                        }
                        continue;
                    }
                    let (vx, vy) = (self.kind.value(x), self.kind.value(y));
                    self.record(first + i as u64, vx, vy);
                }
            }
        }
    }

    /// The hot path for float32/float64: equal bytes mean an unchanged element.
    fn floats<const N: usize>(
        &mut self,
        a: &[u8],
        b: &[u8],
        first: u64,
        read: impl Fn([u8; N]) -> f64,
    ) {
        for (i, (x, y)) in a.chunks_exact(N).zip(b.chunks_exact(N)).enumerate() {
            let (Ok(x), Ok(y)) = (<[u8; N]>::try_from(x), <[u8; N]>::try_from(y)) else {
                continue;
            };
            if x == y {
                self.pairs += u64::from(read(x).is_finite());
                continue;
            }
            self.record(first + i as u64, read(x), read(y));
        }
    }

    fn record(&mut self, index: u64, old: f64, new: f64) {
        if old.is_nan() && new.is_nan() {
            return;
        }
        if old.is_finite() && new.is_finite() {
            let d = (new - old).abs();
            self.pairs += 1;
            self.sum_abs += d;
            if d > self.max_abs {
                self.max_abs = d;
            }
        } else if old.is_finite() {
            self.became_nonfinite += 1;
        }
        self.changed += 1;
        if self.first.len() < self.limit {
            self.first.push((index, old, new));
        }
    }
}

/// The multi-index of a flat storage index.
fn unravel(mut flat: u64, shape: &[i64], fortran: bool) -> Vec<u64> {
    let dims: Vec<u64> = shape
        .iter()
        .map(|&d| u64::try_from(d).unwrap_or(1).max(1))
        .collect();
    let mut index = vec![0; dims.len()];
    let order: Vec<usize> = if fortran {
        (0..dims.len()).collect()
    } else {
        (0..dims.len()).rev().collect()
    };
    for axis in order {
        index[axis] = flat % dims[axis];
        flat /= dims[axis];
    }
    index
}

/// Reorders the bytes of an F-order array into C order.
fn fortran_to_c(bytes: &[u8], shape: &[i64], size: usize) -> Vec<u8> {
    let count = usize::try_from(element_count(shape)).unwrap_or(0);
    let mut out = vec![0u8; bytes.len()];
    for c in 0..count.min(bytes.len() / size.max(1)) {
        let index = unravel(c as u64, shape, false);
        // The F-order position of that multi-index.
        let mut f = 0u64;
        let mut stride = 1u64;
        for (axis, &i) in index.iter().enumerate() {
            f += i * stride;
            stride *= u64::try_from(shape[axis]).unwrap_or(1).max(1);
        }
        let f = usize::try_from(f).unwrap_or(0);
        out[c * size..(c + 1) * size].copy_from_slice(&bytes[f * size..(f + 1) * size]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unravel_walks_c_and_f_order() {
        assert_eq!(unravel(5, &[2, 3], false), vec![1, 2]);
        assert_eq!(unravel(1, &[2, 3], false), vec![0, 1]);
        assert_eq!(unravel(1, &[2, 3], true), vec![1, 0]);
    }

    #[test]
    fn fortran_bytes_come_back_in_c_order() {
        // [[0, 1, 2], [3, 4, 5]] stored in F order is 0 3 1 4 2 5.
        let f: Vec<u8> = [0u8, 3, 1, 4, 2, 5].to_vec();
        assert_eq!(fortran_to_c(&f, &[2, 3], 1), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn nan_equals_nan_and_finite_to_nan_is_counted() {
        let mut acc = Accumulator::new(ElementKind::Typed(DType::F32), 5);
        let a: Vec<u8> = [1.0f32, f32::NAN, 3.0, 4.0]
            .iter()
            .flat_map(|x| x.to_ne_bytes())
            .collect();
        let b: Vec<u8> = [1.5f32, f32::NAN, f32::NAN, 4.0]
            .iter()
            .flat_map(|x| x.to_ne_bytes())
            .collect();
        acc.compare(&a, &b, 0);
        assert_eq!(acc.changed, 2);
        assert_eq!(acc.became_nonfinite, 1);
        assert_eq!(acc.max_abs, 0.5);
        // Pairs of finite elements: (1, 1.5) and (4, 4).
        assert_eq!(acc.pairs, 2);
        assert_eq!(acc.first.len(), 2);
    }

    #[test]
    fn integers_compare_by_value() {
        let mut acc = Accumulator::new(ElementKind::Typed(DType::I64), 5);
        let a: Vec<u8> = [1i64, -2, 3].iter().flat_map(|x| x.to_ne_bytes()).collect();
        let b: Vec<u8> = [1i64, 2, 3].iter().flat_map(|x| x.to_ne_bytes()).collect();
        acc.compare(&a, &b, 10);
        assert_eq!(acc.changed, 1);
        assert_eq!(acc.max_abs, 4.0);
        assert_eq!(acc.first[0].0, 11);
    }
}
