//! Throughput of hashing, the f32 stats kernel, whole-buffer scans (cold and warm cache), and
//! a scan that stores every chunk: copied after the scan, or while in cache (`scan_keeping`),
//! ordinarily or with streaming stores.

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use snapline_array_scan::{
    copy_streaming_into, hash_bytes, scan, scan_keeping, stats_of, ChunkHash, DType, StatsCache,
    CHUNK_SIZE,
};

const MIB: usize = 1 << 20;

/// `n` bytes of float32 values in [-1, 1) from a small LCG (deterministic, incompressible).
fn f32_buffer(n: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n / 4 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let x = ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
        out.extend_from_slice(&x.to_ne_bytes());
    }
    out
}

/// The float32 values of `f32_buffer` narrowed to a 16-bit float format (finite data).
fn narrow(src: &[u8], to_bits: fn(f32) -> u16) -> Vec<u8> {
    src.chunks_exact(4)
        .flat_map(|c| to_bits(f32::from_ne_bytes([c[0], c[1], c[2], c[3]])).to_ne_bytes())
        .collect()
}

fn benches(c: &mut Criterion) {
    let small = f32_buffer(256 * MIB);

    let mut g = c.benchmark_group("kernels_256MiB");
    g.throughput(Throughput::Bytes(small.len() as u64));
    g.bench_function("hash_bytes", |b| b.iter(|| hash_bytes(black_box(&small))));
    g.bench_function("stats_of_f32", |b| {
        b.iter(|| stats_of(black_box(&small), DType::F32))
    });
    g.bench_function("stats_of_f64", |b| {
        b.iter(|| stats_of(black_box(&small), DType::F64))
    });
    // 16-bit formats: all of `small`'s values, narrowed (128 MiB).
    g.throughput(Throughput::Bytes((small.len() / 2) as u64));
    let bf = narrow(&small, |x| half::bf16::from_f32(x).to_bits());
    g.bench_function("stats_of_bf16", |b| {
        b.iter(|| stats_of(black_box(&bf), DType::BF16))
    });
    drop(bf);
    let hf = narrow(&small, |x| half::f16::from_f32(x).to_bits());
    g.bench_function("stats_of_f16", |b| {
        b.iter(|| stats_of(black_box(&hf), DType::F16))
    });
    drop(hf);
    g.throughput(Throughput::Bytes(small.len() as u64));
    g.bench_function("stats_of_i32", |b| {
        b.iter(|| stats_of(black_box(&small), DType::I32))
    });
    g.bench_function("stats_of_u8", |b| {
        b.iter(|| stats_of(black_box(&small), DType::U8))
    });
    g.finish();
    drop(small);

    let big = f32_buffer(1024 * MIB);
    let mut g = c.benchmark_group("scan_1GiB_f32");
    g.throughput(Throughput::Bytes(big.len() as u64));
    for threads in [1usize, 2] {
        g.bench_with_input(BenchmarkId::new("cold", threads), &threads, |b, &t| {
            b.iter(|| scan(black_box(&big), DType::F32, None, t))
        });
    }
    let mut cache = StatsCache::new(big.len() / CHUNK_SIZE + 16);
    scan(&big, DType::F32, Some(&mut cache), 2);
    g.bench_with_input(BenchmarkId::new("warm_cache", 2), &2usize, |b, &t| {
        b.iter(|| {
            let s = scan(black_box(&big), DType::F32, Some(&mut cache), t);
            assert_eq!(s.chunks_from_cache, s.chunks.len());
            s
        })
    });
    g.finish();
    drop(big);

    // 128 MiB, every chunk new (a model whose weights all changed): the
    // copies go into buffers made once, as the capture agent's kept ones.
    let changed = f32_buffer(128 * MIB);
    let mut g = c.benchmark_group("scan_and_copy_128MiB_f32");
    g.throughput(Throughput::Bytes(changed.len() as u64));
    g.bench_function("copy_after_scan", |b| {
        let mut copies = vec![vec![0u8; CHUNK_SIZE]; changed.len() / CHUNK_SIZE];
        b.iter(|| {
            let s = scan(black_box(&changed), DType::F32, None, 1);
            for (c, copy) in s.chunks.iter().zip(copies.iter_mut()) {
                copy.copy_from_slice(&changed[c.offset..c.offset + c.len]);
            }
            s
        })
    });
    g.bench_function("copy_while_in_cache", |b| {
        let ready = std::sync::Mutex::new(vec![vec![0u8; CHUNK_SIZE]; changed.len() / CHUNK_SIZE]);
        b.iter(|| {
            let keep = |_: ChunkHash, chunk: &[u8]| {
                let mut copy = ready.lock().ok()?.pop()?;
                copy.copy_from_slice(chunk);
                Some(copy)
            };
            let (s, kept) = scan_keeping(black_box(&changed), DType::F32, None, 1, &[], &keep);
            if let Ok(mut ready) = ready.lock() {
                ready.extend(kept.into_iter().flatten());
            }
            s
        })
    });
    // The same with streaming stores (the agent's `keep_new`).
    g.bench_function("stream_while_in_cache", |b| {
        let ready = std::sync::Mutex::new(vec![vec![0u8; CHUNK_SIZE]; changed.len() / CHUNK_SIZE]);
        b.iter(|| {
            let keep = |_: ChunkHash, chunk: &[u8]| {
                let mut copy = ready.lock().ok()?.pop()?;
                copy_streaming_into(&mut copy, chunk);
                Some(copy)
            };
            let (s, kept) = scan_keeping(black_box(&changed), DType::F32, None, 1, &[], &keep);
            if let Ok(mut ready) = ready.lock() {
                ready.extend(kept.into_iter().flatten());
            }
            s
        })
    });
    g.bench_function("scan_only", |b| {
        b.iter(|| scan(black_box(&changed), DType::F32, None, 1))
    });
    g.finish();
}

criterion_group! {
    name = scan_benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(scan_benches);
