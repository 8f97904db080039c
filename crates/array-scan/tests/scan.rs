//! Behaviour of the public API against straightforward reference implementations.

use half::{bf16, f16};
use snapline_array_scan::{
    hash_bytes, scan, scan_keeping, stats_of, ChunkHash, DType, PartialStats, Stats, StatsCache,
    CHUNK_SIZE, PARALLEL_MIN_BYTES,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Deterministic random test data (fastrand's seeded generator).
struct Rng(fastrand::Rng);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(fastrand::Rng::with_seed(seed))
    }

    fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = vec![0; n];
        self.0.fill(&mut out);
        out
    }

    /// Uniform in [-1000, 1000).
    fn real(&mut self) -> f64 {
        self.0.f64() * 2000.0 - 1000.0
    }
}

fn arr8(c: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(c);
    a
}

/// Decodes every whole element of `bytes` to f64 (exactly for all but huge 64-bit integers).
fn decode(bytes: &[u8], dtype: DType) -> Vec<f64> {
    let size = dtype.size();
    bytes
        .chunks_exact(size)
        .map(|c| match dtype {
            DType::Bool => f64::from(u8::from(c[0] != 0)),
            DType::I8 => f64::from(c[0] as i8),
            DType::U8 => f64::from(c[0]),
            DType::I16 => f64::from(i16::from_ne_bytes([c[0], c[1]])),
            DType::U16 => f64::from(u16::from_ne_bytes([c[0], c[1]])),
            DType::F16 => f64::from(f16::from_bits(u16::from_ne_bytes([c[0], c[1]]))),
            DType::BF16 => f64::from(bf16::from_bits(u16::from_ne_bytes([c[0], c[1]]))),
            DType::I32 => f64::from(i32::from_ne_bytes([c[0], c[1], c[2], c[3]])),
            DType::U32 => f64::from(u32::from_ne_bytes([c[0], c[1], c[2], c[3]])),
            DType::F32 => f64::from(f32::from_ne_bytes([c[0], c[1], c[2], c[3]])),
            DType::I64 => i64::from_ne_bytes(arr8(c)) as f64,
            DType::U64 => u64::from_ne_bytes(arr8(c)) as f64,
            DType::F64 => f64::from_ne_bytes(arr8(c)),
        })
        .collect()
}

/// The obvious implementation (what numpy computes, up to summation order).
fn reference(bytes: &[u8], dtype: DType) -> Stats {
    let vals = decode(bytes, dtype);
    let mut s = Stats {
        count: vals.len() as u64,
        ..Stats::default()
    };
    let finite: Vec<f64> = vals.iter().copied().filter(|v| v.is_finite()).collect();
    for v in &vals {
        if v.is_nan() {
            s.nan += 1;
        } else if *v == f64::INFINITY {
            s.posinf += 1;
        } else if *v == f64::NEG_INFINITY {
            s.neginf += 1;
        }
    }
    if !finite.is_empty() {
        s.min = Some(finite.iter().copied().fold(f64::INFINITY, f64::min));
        s.max = Some(finite.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        s.mean = Some(finite.iter().sum::<f64>() / finite.len() as f64);
        s.l2 = Some(finite.iter().map(|v| v * v).sum::<f64>().sqrt());
    }
    s
}

/// Exact counts and extrema; mean and l2 to within summation-order rounding.
fn assert_close(got: &Stats, want: &Stats, scale: f64, what: &str) {
    assert_eq!(got.count, want.count, "{what}: count");
    assert_eq!(got.nan, want.nan, "{what}: nan");
    assert_eq!(got.posinf, want.posinf, "{what}: posinf");
    assert_eq!(got.neginf, want.neginf, "{what}: neginf");
    assert_eq!(got.min, want.min, "{what}: min");
    assert_eq!(got.max, want.max, "{what}: max");
    let close = |a: Option<f64>, b: Option<f64>, tol: f64| match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || (a - b).abs() <= tol,
        _ => false,
    };
    assert!(
        close(got.mean, want.mean, 1e-12 * scale),
        "{what}: mean {:?} vs {:?}",
        got.mean,
        want.mean
    );
    let l2_tol = 1e-12 * want.l2.unwrap_or(0.0).abs();
    assert!(
        close(got.l2, want.l2, l2_tol),
        "{what}: l2 {:?} vs {:?}",
        got.l2,
        want.l2
    );
}

/// Mean absolute value of the finite elements: the scale of the mean's rounding error.
fn scale(bytes: &[u8], dtype: DType) -> f64 {
    let finite: Vec<f64> = decode(bytes, dtype)
        .into_iter()
        .filter(|v| v.is_finite())
        .collect();
    if finite.is_empty() {
        return 0.0;
    }
    finite.iter().map(|v| v.abs()).sum::<f64>() / finite.len() as f64
}

fn f32_bytes(vals: &[f32]) -> Vec<u8> {
    vals.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn f64_bytes(vals: &[f64]) -> Vec<u8> {
    vals.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// Values in [-1000, 1000) encoded as `dtype`, with NaN/+inf/-inf sprinkled in for floats
/// (about one element in `special_every`; 0 = none).
fn nice_buffer(rng: &mut Rng, dtype: DType, n: usize, special_every: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * dtype.size());
    for _ in 0..n {
        let mut v = rng.real();
        if rng.next().checked_rem(special_every) == Some(0) {
            v = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][(rng.next() % 3) as usize];
        }
        match dtype {
            DType::F16 => out.extend(f16::from_f64(v).to_bits().to_ne_bytes()),
            DType::BF16 => out.extend(bf16::from_f64(v).to_bits().to_ne_bytes()),
            DType::F32 => out.extend((v as f32).to_ne_bytes()),
            DType::F64 => out.extend(v.to_ne_bytes()),
            _ => unreachable!("float dtypes only"),
        }
    }
    out
}

const LENGTHS: [usize; 12] = [0, 1, 3, 7, 8, 15, 16, 17, 100, 1000, 16 * 1024 + 13, 70_001];

// ---------------------------------------------------------------------------------------------
// DType

#[test]
fn dtype_names() {
    for d in DType::ALL {
        assert_eq!(DType::from_name(d.name()), Some(d));
        assert_eq!(d.name().parse::<DType>(), Ok(d));
        assert_eq!(d.to_string(), d.name());
    }
    assert_eq!(DType::from_name("half"), Some(DType::F16));
    assert_eq!(DType::from_name("float"), Some(DType::F32));
    assert_eq!(DType::from_name("double"), Some(DType::F64));
    assert_eq!(DType::from_name("torch.bfloat16"), Some(DType::BF16));
    assert_eq!(DType::from_name("uint64"), Some(DType::U64));
    assert_eq!(DType::from_name("complex64"), None);
    assert_eq!(DType::from_name(""), None);
    assert!("float128".parse::<DType>().is_err());
    let sizes: Vec<usize> = DType::ALL.iter().map(|d| d.size()).collect();
    assert_eq!(sizes, [1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 2, 4, 8]);
    let floats: Vec<DType> = DType::ALL.into_iter().filter(|d| d.is_float()).collect();
    assert_eq!(floats, [DType::F16, DType::BF16, DType::F32, DType::F64]);
    for d in DType::ALL {
        assert_eq!(CHUNK_SIZE % d.size(), 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Stats

#[test]
fn every_dtype_random_bits_matches_reference() {
    let mut rng = Rng::new(0x1234_5678_9ABC_DEF1);
    for d in DType::ALL {
        for n in LENGTHS {
            // Plus one stray byte: a trailing partial element must be ignored.
            let extra = usize::from(d.size() > 1);
            let bytes = rng.bytes(n * d.size() + extra);
            let got = stats_of(&bytes, d).finish();
            let want = reference(&bytes, d);
            if d == DType::F32 || d == DType::F64 {
                // Random bit patterns span the whole exponent range: sums over them are
                // dominated by a few huge values and overflow, so compare counts and extrema.
                assert_eq!(got.count, want.count, "{d} n={n}");
                assert_eq!(
                    (got.nan, got.posinf, got.neginf),
                    (want.nan, want.posinf, want.neginf),
                    "{d} n={n}"
                );
                assert_eq!((got.min, got.max), (want.min, want.max), "{d} n={n}");
            } else {
                assert_close(&got, &want, scale(&bytes, d), &format!("{d} n={n}"));
            }
        }
    }
}

#[test]
fn floats_in_range_match_reference() {
    let mut rng = Rng::new(42);
    for d in [DType::F16, DType::BF16, DType::F32, DType::F64] {
        for special_every in [0, 5, 1000] {
            for n in LENGTHS {
                let bytes = nice_buffer(&mut rng, d, n, special_every);
                let got = stats_of(&bytes, d).finish();
                let want = reference(&bytes, d);
                assert_close(
                    &got,
                    &want,
                    1000.0,
                    &format!("{d} n={n} every={special_every}"),
                );
            }
        }
    }
}

#[test]
fn integer_extremes() {
    let b: Vec<u8> = [i64::MIN, -1, 0, 1, i64::MAX]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    let s = stats_of(&b, DType::I64).finish();
    assert_eq!(s.min, Some(i64::MIN as f64));
    assert_eq!(s.max, Some(i64::MAX as f64));
    let b: Vec<u8> = [u64::MAX, 3].iter().flat_map(|v| v.to_ne_bytes()).collect();
    let s = stats_of(&b, DType::U64).finish();
    assert_eq!((s.min, s.max), (Some(3.0), Some(u64::MAX as f64)));
    let b: Vec<u8> = [i32::MIN, i32::MAX, i32::MIN]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    let s = stats_of(&b, DType::I32).finish();
    assert_eq!(
        s.mean,
        Some((2.0 * i32::MIN as f64 + i32::MAX as f64) / 3.0)
    );
    // Sums of 8/16-bit elements are exact, even for long buffers.
    let b = vec![0xFFu8; 3 * 65536 + 5];
    let s = stats_of(&b, DType::U8).finish();
    assert_eq!(s.mean, Some(255.0));
    assert_eq!(s.l2, Some((255.0f64 * 255.0 * b.len() as f64).sqrt()));
    let s = stats_of(&b, DType::I8).finish();
    assert_eq!((s.min, s.max, s.mean), (Some(-1.0), Some(-1.0), Some(-1.0)));
    let s = stats_of(&b, DType::U16).finish();
    assert_eq!((s.count, s.mean), ((b.len() / 2) as u64, Some(65535.0)));
    assert_eq!(
        s.l2,
        Some((65535.0f64 * 65535.0 * (b.len() / 2) as f64).sqrt())
    );
}

#[test]
fn bool_counts_nonzero_as_one() {
    let b = [0u8, 1, 2, 255, 0, 1];
    let s = stats_of(&b, DType::Bool).finish();
    assert_eq!(s.count, 6);
    assert_eq!((s.min, s.max), (Some(0.0), Some(1.0)));
    assert_eq!(s.mean, Some(4.0 / 6.0));
    assert_eq!(s.l2, Some(2.0));
    assert_eq!((s.nan, s.posinf, s.neginf), (0, 0, 0));
}

#[test]
fn nan_and_infinity_counting() {
    let vals = [
        1.0,
        f64::NAN,
        f64::INFINITY,
        -2.0,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::INFINITY,
        3.0,
        -f64::NAN,
    ];
    for d in [DType::F16, DType::BF16, DType::F32, DType::F64] {
        // Repeat so that the lane kernels (not only the tail loop) see the specials.
        let mut b = Vec::new();
        for _ in 0..1000 {
            for &v in &vals {
                match d {
                    DType::F16 => b.extend(f16::from_f64(v).to_bits().to_ne_bytes()),
                    DType::BF16 => b.extend(bf16::from_f64(v).to_bits().to_ne_bytes()),
                    DType::F32 => b.extend((v as f32).to_ne_bytes()),
                    _ => b.extend(v.to_ne_bytes()),
                }
            }
        }
        let s = stats_of(&b, d).finish();
        assert_eq!(s.count, 9000, "{d}");
        assert_eq!((s.nan, s.posinf, s.neginf), (3000, 2000, 1000), "{d}");
        assert_eq!((s.min, s.max), (Some(-2.0), Some(3.0)), "{d}");
        assert_eq!(s.mean, Some(2000.0 / 3000.0), "{d}");
        assert_eq!(s.l2, Some(14000.0f64.sqrt()), "{d}");
    }
    // A single non-finite element among many finite ones, at every position of a block.
    for pos in 0..40 {
        let mut v = vec![1.5f32; 40];
        v[pos] = f32::NEG_INFINITY;
        let s = stats_of(&f32_bytes(&v), DType::F32).finish();
        assert_eq!((s.neginf, s.nan, s.posinf), (1, 0, 0));
        assert_eq!((s.min, s.max, s.mean), (Some(1.5), Some(1.5), Some(1.5)));
    }
}

#[test]
fn ints_have_no_specials() {
    let mut rng = Rng::new(7);
    for d in DType::ALL.into_iter().filter(|d| !d.is_float()) {
        let s = stats_of(&rng.bytes(1000), d).finish();
        assert_eq!((s.nan, s.posinf, s.neginf), (0, 0, 0), "{d}");
    }
}

#[test]
fn empty_buffer() {
    for d in DType::ALL {
        let s = stats_of(&[], d).finish();
        assert_eq!(s, Stats::default(), "{d}");
        assert_eq!(s.min, None);
        // Less than one element is empty too.
        assert_eq!(stats_of(&[1u8; 8][..d.size() - 1], d).finish().count, 0);
        let sc = scan(&[], d, None, 2);
        assert!(sc.chunks.is_empty());
        assert_eq!(sc.stats, Stats::default());
        assert_eq!(sc.bytes_hashed, 0);
    }
}

#[test]
fn all_nan_buffer() {
    for n in [1, 5, 64, 100_000] {
        let s = stats_of(&f32_bytes(&vec![f32::NAN; n]), DType::F32).finish();
        assert_eq!(
            s,
            Stats {
                count: n as u64,
                nan: n as u64,
                ..Stats::default()
            }
        );
        let s = stats_of(&f64_bytes(&vec![f64::INFINITY; n]), DType::F64).finish();
        assert_eq!(
            (s.count, s.posinf, s.min, s.mean, s.l2),
            (n as u64, n as u64, None, None, None)
        );
    }
}

#[test]
fn huge_finite_f64_values() {
    // Squares overflow f64: l2 is +inf (as in numpy), but nothing is counted as infinite.
    let v = [1e300, -1e300, 1e300];
    let s = stats_of(&f64_bytes(&v.repeat(100)), DType::F64).finish();
    assert_eq!((s.nan, s.posinf, s.neginf), (0, 0, 0));
    assert_eq!((s.min, s.max), (Some(-1e300), Some(1e300)));
    assert_eq!(s.l2, Some(f64::INFINITY));
    assert!((s.mean.unwrap_or(0.0) - 1e300 / 3.0).abs() < 1e286);
}

#[test]
fn f16_all_bit_patterns() {
    let b: Vec<u8> = (0..=u16::MAX).flat_map(|x| x.to_ne_bytes()).collect();
    for d in [DType::F16, DType::BF16] {
        let got = stats_of(&b, d).finish();
        let want = reference(&b, d);
        assert_close(&got, &want, scale(&b, d), d.name());
    }
    let s = stats_of(&b, DType::F16).finish();
    assert_eq!((s.min, s.max), (Some(-65504.0), Some(65504.0)));
    assert_eq!((s.posinf, s.neginf, s.nan), (1, 1, 2 * 1023));
}

#[test]
fn merge_equals_concatenation() {
    // Small integers and halves: every sum is exact, so the merged result is bit-identical.
    let mut rng = Rng::new(99);
    let v: Vec<f32> = (0..50_000)
        .map(|i| match i % 97 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            _ => ((rng.next() % 2001) as f32 - 1000.0) / 2.0,
        })
        .collect();
    let bytes = f32_bytes(&v);
    let whole = stats_of(&bytes, DType::F32).finish();
    for cut in [0, 1, 7, 100, 12_345, 49_999, 50_000] {
        let (a, b) = bytes.split_at(cut * 4);
        let mut p = stats_of(a, DType::F32);
        p.merge(&stats_of(b, DType::F32));
        assert_eq!(p.finish(), whole, "cut at {cut}");
    }
    // Three-way, ints.
    let ib = rng.bytes(30_000);
    let whole = stats_of(&ib, DType::I16).finish();
    let mut p = PartialStats::default();
    for part in [&ib[..1000], &ib[1000..1002], &ib[1002..]] {
        p.merge(&stats_of(part, DType::I16));
    }
    assert_eq!(p.finish(), whole);
    // Merging empty partials changes nothing, in either order.
    let mut e = PartialStats::default();
    e.merge(&stats_of(&ib, DType::I16));
    e.merge(&PartialStats::default());
    assert_eq!(e.finish(), whole);
    // A partial with no finite element does not contribute its (meaningless) min/max.
    let mut p = stats_of(&f32_bytes(&[f32::NAN]), DType::F32);
    p.merge(&stats_of(&f32_bytes(&[5.0, 6.0]), DType::F32));
    assert_eq!((p.finish().min, p.finish().max), (Some(5.0), Some(6.0)));
}

// ---------------------------------------------------------------------------------------------
// Hashes

#[test]
fn hex_round_trip() {
    let mut rng = Rng::new(5);
    for h in [0u128, 1, u128::MAX, 0xDEAD_BEEF << 64]
        .into_iter()
        .chain((0..100).map(|_| (u128::from(rng.next()) << 64) | u128::from(rng.next())))
    {
        let hash = ChunkHash(h);
        let hex = hash.to_hex();
        assert_eq!(hex.len(), 32);
        assert!(hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(ChunkHash::from_hex(&hex), Some(hash));
        assert_eq!(ChunkHash::from_hex(&hex.to_uppercase()), Some(hash));
        assert_eq!(hash.to_string(), hex);
    }
    assert_eq!(ChunkHash(1).to_hex(), "00000000000000000000000000000001");
    for bad in [
        "",
        "0",
        "0000000000000000000000000000001",
        "000000000000000000000000000000001",
        "+0000000000000000000000000000001",
        "g0000000000000000000000000000000",
        " 0000000000000000000000000000000",
    ] {
        assert_eq!(ChunkHash::from_hex(bad), None, "{bad:?}");
    }
}

#[test]
fn hash_is_xxh3_128() {
    // Reference values of XXH3_128bits with seed 0.
    assert_eq!(hash_bytes(b"").to_hex(), "99aa06d3014798d86001c324468d497f");
    assert_ne!(hash_bytes(b"a"), hash_bytes(b"b"));
}

// ---------------------------------------------------------------------------------------------
// Scan

fn sample_f32(n_bytes: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..n_bytes / 4)
        .flat_map(|_| (rng.real() as f32).to_ne_bytes())
        .collect()
}

#[test]
fn chunk_boundaries() {
    let bytes = sample_f32(CHUNK_SIZE * 5 / 2, 1);
    let s = scan(&bytes, DType::F32, None, 1);
    let layout: Vec<(usize, usize)> = s.chunks.iter().map(|c| (c.offset, c.len)).collect();
    assert_eq!(
        layout,
        [
            (0, CHUNK_SIZE),
            (CHUNK_SIZE, CHUNK_SIZE),
            (2 * CHUNK_SIZE, CHUNK_SIZE / 2)
        ]
    );
    for c in &s.chunks {
        assert_eq!(c.hash, hash_bytes(&bytes[c.offset..c.offset + c.len]));
    }
    assert_eq!(s.bytes_hashed, bytes.len());
    assert_eq!(s.chunks_from_cache, 0);
    // Exactly one chunk; and exact multiples do not produce an empty trailing chunk.
    assert_eq!(scan(&bytes[..10], DType::F32, None, 2).chunks.len(), 1);
    assert_eq!(
        scan(&bytes[..2 * CHUNK_SIZE], DType::F32, None, 2)
            .chunks
            .len(),
        2
    );
    assert_eq!(
        scan(&bytes[..2 * CHUNK_SIZE + 1], DType::F32, None, 2)
            .chunks
            .len(),
        3
    );
}

#[test]
fn keep_copies_each_hashed_chunk_it_wants_and_nothing_known() {
    // Large enough for two threads; chunk 1 is known (not hashed, not kept);
    // `keep` declines chunk 3.
    let bytes = sample_f32(PARALLEL_MIN_BYTES + CHUNK_SIZE / 2, 7);
    let n = bytes.len().div_ceil(CHUNK_SIZE);
    let plain = scan(&bytes, DType::F32, None, 2);
    let mut known = vec![None; n];
    known[1] = Some(plain.chunks[1].hash);
    let declined = plain.chunks[3].hash;
    for threads in [1, 2] {
        let keep = |hash: ChunkHash, chunk: &[u8]| (hash != declined).then(|| chunk.to_vec());
        let (s, kept) = scan_keeping(&bytes, DType::F32, None, threads, &known, &keep);
        assert_eq!((&s.chunks, &s.stats), (&plain.chunks, &plain.stats));
        assert_eq!(
            s.bytes_hashed,
            bytes.len() - CHUNK_SIZE,
            "threads {threads}"
        );
        assert_eq!(kept.len(), n);
        for (i, (c, copy)) in s.chunks.iter().zip(&kept).enumerate() {
            match i {
                1 | 3 => assert!(copy.is_none(), "chunk {i}, threads {threads}"),
                _ => assert_eq!(
                    copy.as_deref(),
                    Some(&bytes[c.offset..c.offset + c.len]),
                    "chunk {i}, threads {threads}"
                ),
            }
        }
    }
}

#[test]
fn scan_stats_match_reference() {
    let bytes = sample_f32(CHUNK_SIZE * 5 / 2 + 12, 2);
    let s = scan(&bytes, DType::F32, None, 2);
    assert_close(&s.stats, &reference(&bytes, DType::F32), 1000.0, "scan");
    // A trailing partial element in the last chunk is ignored.
    let s = scan(&bytes[..bytes.len() - 1], DType::F32, None, 2);
    assert_eq!(s.stats.count, (bytes.len() / 4 - 1) as u64);
    assert_eq!(s.bytes_hashed, bytes.len() - 1);
}

#[test]
fn one_changed_element_changes_one_chunk() {
    let mut bytes = sample_f32(CHUNK_SIZE * 5 / 2, 3);
    let before = scan(&bytes, DType::F32, None, 2);
    let i = CHUNK_SIZE + 4 * 1000;
    bytes[i..i + 4].copy_from_slice(&1234.5f32.to_ne_bytes());
    let after = scan(&bytes, DType::F32, None, 2);
    let changed: Vec<usize> = (0..3)
        .filter(|&k| before.chunks[k].hash != after.chunks[k].hash)
        .collect();
    assert_eq!(changed, [1]);
    assert_eq!(after.stats.max, Some(1234.5));
}

#[test]
fn cache_makes_rescans_hash_only() {
    let mut bytes = sample_f32(CHUNK_SIZE * 5 / 2, 4);
    let mut cache = StatsCache::new(100);
    assert!(cache.is_empty());
    let first = scan(&bytes, DType::F32, Some(&mut cache), 2);
    assert_eq!(first.chunks_from_cache, 0);
    assert_eq!(cache.len(), 3);
    let second = scan(&bytes, DType::F32, Some(&mut cache), 2);
    assert_eq!(second.chunks_from_cache, second.chunks.len());
    assert_eq!(second.stats, first.stats);
    assert_eq!(second.chunks, first.chunks);
    assert_eq!(cache.len(), 3);
    // Same bytes read as another dtype: not a cache hit.
    let other = scan(&bytes, DType::I32, Some(&mut cache), 2);
    assert_eq!(other.chunks_from_cache, 0);
    assert_eq!(cache.len(), 6);
    // One chunk changed: the other two come from the cache, and the stats are still right.
    bytes[10] ^= 0xFF;
    let third = scan(&bytes, DType::F32, Some(&mut cache), 2);
    assert_eq!(third.chunks_from_cache, 2);
    assert_eq!(third.stats, scan(&bytes, DType::F32, None, 1).stats);
}

#[test]
fn cache_is_bounded() {
    let bytes = sample_f32(CHUNK_SIZE * 5 / 2, 5);
    let mut cache = StatsCache::new(2);
    let s = scan(&bytes, DType::F32, Some(&mut cache), 1);
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.capacity(), 2);
    // The oldest (chunk 0) was evicted; the newest two are there.
    assert_eq!(cache.get(s.chunks[0].hash, DType::F32), None);
    assert!(cache.get(s.chunks[2].hash, DType::F32).is_some());
    let again = scan(&bytes, DType::F32, Some(&mut cache), 1);
    assert!(again.chunks_from_cache <= 2);
    assert!(cache.len() <= 2);
    let mut none = StatsCache::new(0);
    scan(&bytes, DType::F32, Some(&mut none), 1);
    assert_eq!(none.len(), 0);
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn thread_count_does_not_change_results() {
    let mut rng = Rng::new(6);
    // (At least PARALLEL_MIN_BYTES, or every scan runs on one thread.)
    let mut bytes = sample_f32(CHUNK_SIZE * 9 + 1000, 6);
    // Sprinkle specials so the slow paths run too.
    for _ in 0..100 {
        let i = (rng.next() as usize % (bytes.len() / 4)) * 4;
        bytes[i..i + 4].copy_from_slice(&f32::NAN.to_ne_bytes());
    }
    for d in [DType::F32, DType::BF16, DType::I8, DType::U64] {
        let one = scan(&bytes, d, None, 1);
        for t in [0, 2, 3, 4, 16] {
            assert_eq!(scan(&bytes, d, None, t), one, "{d} threads={t}");
        }
        let mut c1 = StatsCache::new(100);
        let mut c2 = StatsCache::new(100);
        scan(&bytes, d, Some(&mut c1), 1);
        scan(&bytes, d, Some(&mut c2), 2);
        let a = scan(&bytes, d, Some(&mut c1), 1);
        let b = scan(&bytes, d, Some(&mut c2), 2);
        assert_eq!(a, b, "{d} warm");
        assert_eq!(a.stats, one.stats, "{d} warm vs cold");
    }
}
