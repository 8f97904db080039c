//! Buffer statistics: one vectorizable pass per dtype, mergeable partial results.
//!
//! The kernels work on fixed-width lane arrays (`[T; LANES]`) with an independent accumulator
//! per lane, so that LLVM turns the per-lane loops into SIMD code without `unsafe` or target
//! flags. Lanes are reduced in a fixed order, so the result for a given byte slice is always
//! bit-for-bit the same.

// Lane loops index several parallel arrays by lane number on purpose: that is the shape the
// SLP vectorizer turns into SIMD code.
#![allow(clippy::needless_range_loop)]

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

use crate::DType;

/// Statistics of a buffer. `min`/`max`/`mean`/`l2` are over the finite elements only and are
/// `None` when there are none.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Stats {
    /// Number of elements (including NaN and infinities).
    pub count: u64,
    /// Number of NaN elements (always 0 for integer and bool dtypes).
    pub nan: u64,
    /// Number of `+inf` elements.
    pub posinf: u64,
    /// Number of `-inf` elements.
    pub neginf: u64,
    /// Smallest finite element.
    pub min: Option<f64>,
    /// Largest finite element.
    pub max: Option<f64>,
    /// Mean of the finite elements.
    pub mean: Option<f64>,
    /// Euclidean norm (square root of the sum of squares) of the finite elements.
    pub l2: Option<f64>,
}

/// Mergeable partial statistics, accumulated in `f64`.
///
/// `min` and `max` are meaningful only when `finite > 0` (they are 0 otherwise).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PartialStats {
    /// Number of elements.
    pub count: u64,
    /// Number of NaN elements.
    pub nan: u64,
    /// Number of `+inf` elements.
    pub posinf: u64,
    /// Number of `-inf` elements.
    pub neginf: u64,
    /// Number of finite elements.
    pub finite: u64,
    /// Smallest finite element (0 when `finite == 0`).
    pub min: f64,
    /// Largest finite element (0 when `finite == 0`).
    pub max: f64,
    /// Sum of the finite elements.
    pub sum: f64,
    /// Sum of the squares of the finite elements.
    pub sumsq: f64,
}

impl Stats {
    /// The statistics of one number (a Python float or int): a count of 1.
    pub fn of_scalar(v: f64) -> Stats {
        let finite = v.is_finite();
        Stats {
            count: 1,
            nan: u64::from(v.is_nan()),
            posinf: u64::from(v == f64::INFINITY),
            neginf: u64::from(v == f64::NEG_INFINITY),
            min: finite.then_some(v),
            max: finite.then_some(v),
            mean: finite.then_some(v),
            l2: finite.then_some(v.abs()),
        }
    }
}

impl PartialStats {
    /// Folds `other` into `self`: the result describes the concatenation of both buffers.
    pub fn merge(&mut self, other: &PartialStats) {
        self.count += other.count;
        self.nan += other.nan;
        self.posinf += other.posinf;
        self.neginf += other.neginf;
        if other.finite > 0 {
            if self.finite == 0 {
                self.min = other.min;
                self.max = other.max;
            } else {
                self.min = self.min.min(other.min);
                self.max = self.max.max(other.max);
            }
        }
        self.finite += other.finite;
        self.sum += other.sum;
        self.sumsq += other.sumsq;
    }

    /// The final statistics.
    pub fn finish(&self) -> Stats {
        let has = self.finite > 0;
        Stats {
            count: self.count,
            nan: self.nan,
            posinf: self.posinf,
            neginf: self.neginf,
            min: has.then_some(self.min),
            max: has.then_some(self.max),
            mean: has.then(|| self.sum / self.finite as f64),
            l2: has.then(|| self.sumsq.sqrt()),
        }
    }
}

/// Partial statistics of `bytes`, read as native-endian elements of `dtype`.
///
/// A trailing partial element is ignored. `bool` elements count as 0/1 (any non-zero byte is 1).
pub fn stats_of(bytes: &[u8], dtype: DType) -> PartialStats {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above).
        return unsafe { stats_of_avx2(bytes, dtype) };
    }
    kernels(bytes, dtype)
}

/// The same kernels compiled with AVX2 enabled (twice the SIMD width of the x86-64 baseline),
/// selected at run time. Lane counts and summation order are the same as in the baseline
/// build, so both give bit-identical results.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn stats_of_avx2(bytes: &[u8], dtype: DType) -> PartialStats {
    kernels(bytes, dtype)
}

/// Per-dtype kernel selection (inlined into both builds of [`stats_of`]).
#[inline(always)]
fn kernels(bytes: &[u8], dtype: DType) -> PartialStats {
    match dtype {
        DType::Bool => small_int_stats::<u8, 1>(bytes, |b| u8::from(b[0] != 0)),
        DType::I8 => small_int_stats(bytes, i8::from_ne_bytes),
        DType::I16 => small_int_stats(bytes, i16::from_ne_bytes),
        DType::I32 => small_int_stats(bytes, i32::from_ne_bytes),
        DType::I64 => wide_int_stats(bytes, i64::from_ne_bytes),
        DType::U8 => small_int_stats(bytes, u8::from_ne_bytes),
        DType::U16 => small_int_stats(bytes, u16::from_ne_bytes),
        DType::U32 => small_int_stats(bytes, u32::from_ne_bytes),
        DType::U64 => wide_int_stats(bytes, u64::from_ne_bytes),
        DType::F16 => f16_stats(bytes),
        DType::BF16 => bf16_stats(bytes),
        DType::F32 => f32_stats(bytes),
        DType::F64 => f64_stats(bytes),
    }
}

// ---------------------------------------------------------------------------------------------
// Kernels: shared plumbing
//
// Kernels walk the buffer in "super-blocks" of `SUPER` elements. Float sums are not
// associative, so LLVM will not vectorize a plain float reduction; the float kernels therefore
// accumulate into `[T; L]` lane arrays (one independent accumulator per lane), which the SLP
// vectorizer maps onto SIMD registers. Each super-block gets fresh local lanes, in a pure
// branch-free loop that keeps them in registers, and is then folded into the running lanes.
// Lanes are reduced in a fixed order at the end, so results are deterministic (and identical
// between the baseline and AVX2 builds, which use the same lane counts).

/// Elements per super-block: small enough that exact integer sums cannot overflow (see the
/// integer kernels), large enough to amortize the per-super-block work.
const SUPER: usize = 16 * 1024;

/// Pairwise reduction of lane sums (fixed order: deterministic).
#[inline]
fn reduce_lanes<const L: usize>(lanes: &[f64; L]) -> f64 {
    let mut v = *lanes;
    let mut n = L;
    while n > 1 {
        let half = n / 2;
        for i in 0..half {
            v[i] += v[i + half];
        }
        if n % 2 == 1 {
            v[0] += v[n - 1];
        }
        n = half;
    }
    v[0]
}

/// Reduces min/max lanes.
#[inline]
fn reduce_min_max<T: Copy + PartialOrd, const L: usize>(min: &[T; L], max: &[T; L]) -> (T, T) {
    let mut lo = min[0];
    let mut hi = max[0];
    for i in 1..L {
        lo = if min[i] < lo { min[i] } else { lo };
        hi = if max[i] > hi { max[i] } else { hi };
    }
    (lo, hi)
}

// ---------------------------------------------------------------------------------------------
// Floats

trait Float: Copy + PartialOrd {
    const INF: Self;
    const NEG_INF: Self;
    fn finite(self) -> bool;
    fn nan(self) -> bool;
    fn wide(self) -> f64;
}

impl Float for f32 {
    const INF: Self = f32::INFINITY;
    const NEG_INF: Self = f32::NEG_INFINITY;
    #[inline(always)]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline(always)]
    fn nan(self) -> bool {
        self.is_nan()
    }
    #[inline(always)]
    fn wide(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    const INF: Self = f64::INFINITY;
    const NEG_INF: Self = f64::NEG_INFINITY;
    #[inline(always)]
    fn finite(self) -> bool {
        self.is_finite()
    }
    #[inline(always)]
    fn nan(self) -> bool {
        self.is_nan()
    }
    #[inline(always)]
    fn wide(self) -> f64 {
        self
    }
}

/// Lane accumulators of a float kernel: `min`/`max` in the element type (exact), sums in f64.
#[derive(Clone, Copy)]
struct FLanes<T, const L: usize> {
    min: [T; L],
    max: [T; L],
    sum: [f64; L],
    sumsq: [f64; L],
}

impl<T: Float, const L: usize> FLanes<T, L> {
    #[inline(always)]
    fn new() -> Self {
        FLanes {
            min: [T::INF; L],
            max: [T::NEG_INF; L],
            sum: [0.0; L],
            sumsq: [0.0; L],
        }
    }

    /// Folds in one block of finite elements.
    #[inline(always)]
    fn add_block(&mut self, x: &[T; L]) {
        for i in 0..L {
            let v = x[i];
            self.min[i] = if v < self.min[i] { v } else { self.min[i] };
            self.max[i] = if v > self.max[i] { v } else { self.max[i] };
            let w = v.wide();
            self.sum[i] += w;
            self.sumsq[i] += w * w;
        }
    }

    #[inline(always)]
    fn merge(&mut self, o: &Self) {
        for i in 0..L {
            self.min[i] = if o.min[i] < self.min[i] {
                o.min[i]
            } else {
                self.min[i]
            };
            self.max[i] = if o.max[i] > self.max[i] {
                o.max[i]
            } else {
                self.max[i]
            };
            self.sum[i] += o.sum[i];
            self.sumsq[i] += o.sumsq[i];
        }
    }

    /// True when every sum lane is finite. Any NaN or infinity among the inputs makes a sum
    /// lane non-finite, so a finite result proves the inputs were all finite. (Finite inputs
    /// can also overflow the f64 sums; those super-blocks just take the slow path.)
    #[inline(always)]
    fn sums_finite(&self) -> bool {
        let mut ok = true;
        for i in 0..L {
            ok &= (self.sum[i] + self.sumsq[i]).is_finite();
        }
        ok
    }
}

/// Running state of a float kernel.
struct FloatAcc<T, const L: usize> {
    lanes: FLanes<T, L>,
    finite: u64,
    nan: u64,
    posinf: u64,
    neginf: u64,
}

impl<T: Float, const L: usize> FloatAcc<T, L> {
    fn new() -> Self {
        FloatAcc {
            lanes: FLanes::new(),
            finite: 0,
            nan: 0,
            posinf: 0,
            neginf: 0,
        }
    }

    /// One super-block of whole lane blocks. Fast path: optimistic branch-free pass assuming
    /// all elements finite, verified by the finiteness of the sums; otherwise the slow path.
    #[inline(always)]
    fn super_block<I: Iterator<Item = [T; L]> + Clone>(&mut self, blocks: I) {
        let mut sb = FLanes::<T, L>::new();
        let mut n = 0u64;
        for x in blocks.clone() {
            sb.add_block(&x);
            n += 1;
        }
        if sb.sums_finite() {
            self.lanes.merge(&sb);
            self.finite += n * L as u64;
        } else {
            self.slow(blocks);
        }
    }

    /// Super-block containing NaN/inf (or overflowing the sums): per block, fast update when
    /// the block is finite, per element otherwise.
    #[cold]
    #[inline(never)]
    fn slow<I: Iterator<Item = [T; L]>>(&mut self, blocks: I) {
        for x in blocks {
            let mut all_finite = true;
            for v in x {
                all_finite &= v.finite();
            }
            if all_finite {
                self.lanes.add_block(&x);
                self.finite += L as u64;
            } else {
                for (i, &v) in x.iter().enumerate() {
                    self.one(i, v);
                }
            }
        }
    }

    /// A single element, folded into lane `lane`.
    #[inline]
    fn one(&mut self, lane: usize, v: T) {
        if v.finite() {
            let l = &mut self.lanes;
            if v < l.min[lane] {
                l.min[lane] = v;
            }
            if v > l.max[lane] {
                l.max[lane] = v;
            }
            let w = v.wide();
            l.sum[lane] += w;
            l.sumsq[lane] += w * w;
            self.finite += 1;
        } else if v.nan() {
            self.nan += 1;
        } else if v == T::INF {
            self.posinf += 1;
        } else {
            self.neginf += 1;
        }
    }

    fn finish(&self, count: u64) -> PartialStats {
        let (min, max) = if self.finite == 0 {
            (0.0, 0.0)
        } else {
            let (lo, hi) = reduce_min_max(&self.lanes.min, &self.lanes.max);
            (lo.wide(), hi.wide())
        };
        PartialStats {
            count,
            nan: self.nan,
            posinf: self.posinf,
            neginf: self.neginf,
            finite: self.finite,
            min,
            max,
            sum: reduce_lanes(&self.lanes.sum),
            sumsq: reduce_lanes(&self.lanes.sumsq),
        }
    }
}

/// Lanes of the f32 kernel (8 x f32: the f64 sums take 4 SSE registers each).
const F32_LANES: usize = 8;
/// Lanes of the f64 kernel.
const F64_LANES: usize = 4;

/// Runs a float kernel over native-endian elements of `N` bytes decoded by `read`.
#[inline(always)]
fn float_stats_bytes<T: Float + Default, const N: usize, const L: usize>(
    bytes: &[u8],
    read: impl Fn([u8; N]) -> T + Copy,
) -> PartialStats {
    let count = (bytes.len() / N) as u64;
    let mut acc = FloatAcc::<T, L>::new();
    let blocks_of = |sb| byte_blocks::<T, _, N, L>(sb, read);
    let mut supers = bytes.chunks_exact(N * SUPER);
    for sb in &mut supers {
        acc.super_block(blocks_of(sb));
    }
    let rest = supers.remainder();
    let whole = rest.len() / (N * L) * (N * L);
    acc.super_block(blocks_of(&rest[..whole]));
    for (c, i) in rest[whole..].chunks_exact(N).zip(0..) {
        acc.one(i, read(bytes_array(c)));
    }
    acc.finish(count)
}

/// The lane blocks of `sb` (whole blocks only).
#[inline(always)]
fn byte_blocks<'a, T, R, const N: usize, const L: usize>(
    sb: &'a [u8],
    read: R,
) -> impl Iterator<Item = [T; L]> + Clone + 'a
where
    T: Copy + Default + 'a,
    R: Fn([u8; N]) -> T + Copy + 'a,
{
    sb.chunks_exact(N * L).map(move |c| {
        let mut x = [T::default(); L];
        for (o, e) in x.iter_mut().zip(c.chunks_exact(N)) {
            *o = read(bytes_array(e));
        }
        x
    })
}

/// 16-bit float lane blocks widened per batch: a few KiB of f32, stays in L1.
const SUPER_BUF: usize = 256;

#[inline(always)]
fn bytes_array<const N: usize>(c: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(c);
    a
}

#[inline(always)]
fn decode<T, const N: usize>(src: &[u8], dst: &mut [T], read: &impl Fn([u8; N]) -> T) {
    for (o, c) in dst.iter_mut().zip(src.chunks_exact(N)) {
        *o = read(bytes_array(c));
    }
}

#[inline(always)]
fn f32_stats(bytes: &[u8]) -> PartialStats {
    float_stats_bytes::<f32, 4, F32_LANES>(bytes, f32::from_ne_bytes)
}

#[inline(always)]
fn f64_stats(bytes: &[u8]) -> PartialStats {
    float_stats_bytes::<f64, 8, F64_LANES>(bytes, f64::from_ne_bytes)
}

/// float16: widened to f32 (exactly) in batches with `half`'s slice conversion (F16C when the
/// CPU has it, detected at run time), then the f32 kernel.
#[inline(always)]
fn f16_stats(bytes: &[u8]) -> PartialStats {
    let count = (bytes.len() / 2) as u64;
    let mut acc = FloatAcc::<f32, F32_LANES>::new();
    let mut half = [f16::ZERO; SUPER_BUF * F32_LANES];
    let mut wide = [[0.0f32; F32_LANES]; SUPER_BUF];
    let mut batches = bytes.chunks_exact(2 * F32_LANES * SUPER_BUF);
    for batch in &mut batches {
        decode(batch, &mut half, &f16_from_ne_bytes);
        half.convert_to_f32_slice(wide.as_flattened_mut());
        acc.super_block(wide.iter().copied());
    }
    let rest = batches.remainder();
    let n = rest.len() / 2;
    decode(rest, &mut half[..n], &f16_from_ne_bytes);
    half[..n].convert_to_f32_slice(&mut wide.as_flattened_mut()[..n]);
    let whole = n / F32_LANES;
    acc.super_block(wide[..whole].iter().copied());
    for (i, &v) in wide.as_flattened()[whole * F32_LANES..n].iter().enumerate() {
        acc.one(i, v);
    }
    acc.finish(count)
}

#[inline(always)]
fn f16_from_ne_bytes(b: [u8; 2]) -> f16 {
    f16::from_bits(u16::from_ne_bytes(b))
}

#[inline(always)]
fn bf16_stats(bytes: &[u8]) -> PartialStats {
    // bf16 -> f32 is a shift, cheap enough to do while loading the lanes.
    float_stats_bytes::<f32, 2, F32_LANES>(bytes, |b| {
        bf16::from_bits(u16::from_ne_bytes(b)).to_f32()
    })
}

// ---------------------------------------------------------------------------------------------
// Integers and bool
//
// 8/16/32-bit elements: per super-block, plain integer reductions (min, max, sum, sum of
// squares). Integer addition is associative, so LLVM's loop vectorizer widens these loops on its
// own, and the sums are exact: 16384 elements of at most 32 bits sum to < 2^47 in i64, and their
// squares (< 2^64 each) are summed as two 32-bit halves. Each super-block's exact sums are then
// added to f64 running sums. 64-bit elements use f64 lane arrays, like the float kernels.

/// Exact sum of squares of 32-bit magnitudes: the low and high 32-bit halves of each square
/// summed separately (each < 2^46 over a super-block).
#[derive(Clone, Copy, Default)]
struct SplitSq {
    lo: u64,
    hi: u64,
}

impl SplitSq {
    #[inline(always)]
    fn add_square(self, magnitude: u32) -> Self {
        let p = u64::from(magnitude) * u64::from(magnitude);
        SplitSq {
            lo: self.lo.wrapping_add(p & 0xFFFF_FFFF),
            hi: self.hi.wrapping_add(p >> 32),
        }
    }

    #[inline(always)]
    fn wide(self) -> f64 {
        // Exact: hi * 2^32 + lo < 2^79 as u128; one rounding to f64.
        ((u128::from(self.hi) << 32) + u128::from(self.lo)) as f64
    }
}

/// An integer element type of at most 32 bits.
trait SmallInt: Copy + Ord {
    const MIN: Self;
    const MAX: Self;
    /// The element as an exact sum term.
    fn term(self) -> i64;
    /// |element|, whose square is the sum-of-squares term.
    fn magnitude(self) -> u32;
    fn wide(self) -> f64;
}

macro_rules! impl_small_int {
    ($($t:ty),*) => {$(
        impl SmallInt for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            #[inline(always)]
            fn term(self) -> i64 {
                i64::from(self)
            }
            #[inline(always)]
            fn magnitude(self) -> u32 {
                u32::from(self.unsigned_abs())
            }
            #[inline(always)]
            fn wide(self) -> f64 {
                f64::from(self)
            }
        }
    )*};
}
impl_small_int!(i8, i16, i32);

macro_rules! impl_small_uint {
    ($($t:ty),*) => {$(
        impl SmallInt for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            #[inline(always)]
            fn term(self) -> i64 {
                i64::from(self)
            }
            #[inline(always)]
            fn magnitude(self) -> u32 {
                u32::from(self)
            }
            #[inline(always)]
            fn wide(self) -> f64 {
                f64::from(self)
            }
        }
    )*};
}
impl_small_uint!(u8, u16, u32);

/// Kernel for elements of `N <= 4` bytes decoded by `read`.
#[inline(always)]
fn small_int_stats<T: SmallInt, const N: usize>(
    bytes: &[u8],
    read: impl Fn([u8; N]) -> T + Copy,
) -> PartialStats {
    let count = bytes.len() / N;
    let mut min = T::MAX;
    let mut max = T::MIN;
    let mut sum = 0.0f64;
    let mut sumsq = 0.0f64;
    for sb in bytes.chunks(SUPER * N) {
        let mut lo = T::MAX;
        let mut hi = T::MIN;
        let mut s = 0i64;
        let mut q = SplitSq::default();
        for c in sb.chunks_exact(N) {
            let v = read(bytes_array(c));
            lo = if v < lo { v } else { lo };
            hi = if v > hi { v } else { hi };
            s = s.wrapping_add(v.term());
            q = q.add_square(v.magnitude());
        }
        min = min.min(lo);
        max = max.max(hi);
        sum += s as f64;
        sumsq += q.wide();
    }
    int_partial(count, min.wide(), max.wide(), sum, sumsq)
}

#[inline(always)]
fn int_partial(count: usize, min: f64, max: f64, sum: f64, sumsq: f64) -> PartialStats {
    let (min, max) = if count == 0 { (0.0, 0.0) } else { (min, max) };
    PartialStats {
        count: count as u64,
        nan: 0,
        posinf: 0,
        neginf: 0,
        finite: count as u64,
        min,
        max,
        sum,
        sumsq,
    }
}

/// Lanes of the 64-bit integer kernel.
const I64_LANES: usize = 4;

/// A 64-bit integer element type.
trait WideInt: Copy + Ord + Default {
    const MIN: Self;
    const MAX: Self;
    fn wide(self) -> f64;
}

impl WideInt for i64 {
    const MIN: Self = i64::MIN;
    const MAX: Self = i64::MAX;
    #[inline(always)]
    fn wide(self) -> f64 {
        self as f64
    }
}

impl WideInt for u64 {
    const MIN: Self = u64::MIN;
    const MAX: Self = u64::MAX;
    #[inline(always)]
    fn wide(self) -> f64 {
        self as f64
    }
}

/// Kernel for 64-bit integers: exact min/max, f64 lane sums.
#[inline(always)]
fn wide_int_stats<T: WideInt>(bytes: &[u8], read: impl Fn([u8; 8]) -> T + Copy) -> PartialStats {
    const L: usize = I64_LANES;
    let count = bytes.len() / 8;
    let mut min = [T::MAX; L];
    let mut max = [T::MIN; L];
    let mut sum = [0.0f64; L];
    let mut sumsq = [0.0f64; L];
    for x in byte_blocks::<T, _, 8, L>(bytes, read) {
        for i in 0..L {
            let v = x[i];
            min[i] = if v < min[i] { v } else { min[i] };
            max[i] = if v > max[i] { v } else { max[i] };
            let w = v.wide();
            sum[i] += w;
            sumsq[i] += w * w;
        }
    }
    let whole = bytes.len() / (8 * L) * (8 * L);
    for (i, c) in bytes[whole..].chunks_exact(8).enumerate() {
        let v = read(bytes_array(c));
        min[i] = if v < min[i] { v } else { min[i] };
        max[i] = if v > max[i] { v } else { max[i] };
        let w = v.wide();
        sum[i] += w;
        sumsq[i] += w * w;
    }
    let (lo, hi) = reduce_min_max(&min, &max);
    int_partial(
        count,
        lo.wide(),
        hi.wide(),
        reduce_lanes(&sum),
        reduce_lanes(&sumsq),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random bytes (fastrand's seeded generator).
    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut out = vec![0; n];
        fastrand::Rng::with_seed(seed).fill(&mut out);
        out
    }

    #[test]
    fn runtime_dispatch_is_bit_identical_to_baseline() {
        // Random bits (lots of NaN/inf for the 16-bit floats) and tame values (fast paths).
        let tame: Vec<u8> = (0..100_003u32)
            .flat_map(|i| ((i % 1000) as f32 * 0.37 - 100.0).to_ne_bytes())
            .collect();
        for bytes in [noise(200_003, 1), tame] {
            for d in DType::ALL {
                let a = stats_of(&bytes, d);
                let b = kernels(&bytes, d);
                // Debug output distinguishes every bit that matters (and NaN == NaN there).
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{d}");
                assert_eq!(a.sum.to_bits(), b.sum.to_bits(), "{d}");
                assert_eq!(a.sumsq.to_bits(), b.sumsq.to_bits(), "{d}");
            }
        }
    }

    #[test]
    fn split_squares_are_exact() {
        let mut q = SplitSq::default();
        for _ in 0..SUPER {
            q = q.add_square(u32::MAX);
        }
        let want = u128::from(u32::MAX).pow(2) * SUPER as u128;
        assert_eq!(q.wide(), want as f64);
        // i32::MIN's magnitude does not fit i32 but does fit u32.
        assert_eq!(i32::MIN.magnitude(), 1u32 << 31);
        assert_eq!((-5i8).magnitude(), 5);
    }

    #[test]
    fn lane_reduction_order() {
        assert_eq!(reduce_lanes(&[1.0, 2.0, 3.0, 4.0]), 10.0);
        assert_eq!(reduce_lanes(&[1.0, 2.0, 3.0, 4.0, 5.0]), 15.0);
        assert_eq!(reduce_lanes(&[7.0]), 7.0);
        assert_eq!(reduce_min_max(&[3, 1, 2], &[3, 9, 2]), (1, 9));
    }
}
