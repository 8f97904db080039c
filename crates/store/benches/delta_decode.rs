//! Decoding a delta-encoded 1 MiB float32 chunk against plain decompression
//! of the same chunk (both verified against the content hash), and the parts
//! each is made of: zstd alone, the hash alone; and what the capture's
//! writer pays to encode one (plain zstd, shuffled, a delta).
//!
//!     cargo bench -p snapline-store --bench delta_decode

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench panics on a broken fixture

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use snapline_array_scan::hash_bytes;
use snapline_store::{
    apply_delta_in_place, chunk_hash, compress, decode_chain_into, decompress_into, encode_delta,
    encode_shuffled,
};

const MIB: usize = 1 << 20;

/// Roughly normal in (-1.5, 1.5): a sum of three uniforms.
fn normal(rng: &mut fastrand::Rng) -> f32 {
    (0..3).map(|_| rng.f32() - 0.5).sum()
}

/// Versions of one 1 MiB float32 chunk of weights, each an optimizer step
/// (a small move of every weight) from the one before.
fn versions(count: usize) -> Vec<Vec<u8>> {
    let mut rng = fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15);
    let mut w: Vec<f32> = (0..MIB / 4).map(|_| 0.05 * normal(&mut rng)).collect();
    let mut out = Vec::new();
    for _ in 0..count {
        out.push(w.iter().flat_map(|v| v.to_le_bytes()).collect());
        for v in &mut w {
            *v -= 1e-4 * normal(&mut rng);
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let v = versions(3);
    let hashes: Vec<String> = v.iter().map(|b| chunk_hash(b)).collect();
    let plain = compress(&v[0]).unwrap();
    let plain2 = compress(&v[2]).unwrap();
    // What the capture stores a float chunk as when it is not a delta.
    let shuffled = encode_shuffled(&v[0], 4).unwrap();
    let shuffled2 = encode_shuffled(&v[2], 4).unwrap();
    // A chain: v1 against v0, v2 against v1; a star: v2 against v0.
    let d1 = encode_delta(&v[1], &v[0], hash_bytes(&v[0]), 4).unwrap();
    let d2_chain = encode_delta(&v[2], &v[1], hash_bytes(&v[1]), 4).unwrap();
    let d2_star = encode_delta(&v[2], &v[0], hash_bytes(&v[0]), 4).unwrap();
    eprintln!(
        "frames: plain {} B, shuffled {} B, delta {} B (chain) / {} B (star, 2 steps)",
        plain2.len(),
        shuffled2.len(),
        d2_chain.len(),
        d2_star.len()
    );
    let mut out = vec![0u8; MIB];
    let mut g = c.benchmark_group("decode_1MiB_f32");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("hash_only", |b| b.iter(|| hash_bytes(black_box(&v[2]))));
    g.bench_function("zstd_plain_frame_only", |b| {
        b.iter(|| zstd::bulk::decompress_to_buffer(black_box(&plain2), &mut out).unwrap())
    });
    g.bench_function("zstd_delta_frame_only", |b| {
        b.iter(|| zstd::bulk::decompress_to_buffer(black_box(&d2_chain[22..]), &mut out).unwrap())
    });
    g.bench_function("delta_apply_in_place_unverified", |b| {
        b.iter(|| apply_delta_in_place(&hashes[2], black_box(&d2_star), &mut out).unwrap())
    });
    g.bench_function("plain_decompress_verified", |b| {
        b.iter(|| decompress_into(&hashes[2], black_box(&plain2), &mut out).unwrap())
    });
    g.bench_function("shuffled_decompress_verified", |b| {
        b.iter(|| decompress_into(&hashes[2], black_box(&shuffled2), &mut out).unwrap())
    });
    g.bench_function("delta_depth1_on_shuffled_verified", |b| {
        let chain = [
            (hashes[2].as_str(), &d2_star[..]),
            (hashes[0].as_str(), &shuffled[..]),
        ];
        b.iter(|| decode_chain_into(black_box(&chain), &mut out).unwrap())
    });
    g.bench_function("delta_depth2_on_shuffled_verified", |b| {
        let chain = [
            (hashes[2].as_str(), &d2_chain[..]),
            (hashes[1].as_str(), &d1[..]),
            (hashes[0].as_str(), &shuffled[..]),
        ];
        b.iter(|| decode_chain_into(black_box(&chain), &mut out).unwrap())
    });
    g.bench_function("delta_depth1_verified", |b| {
        let chain = [
            (hashes[2].as_str(), &d2_star[..]),
            (hashes[0].as_str(), &plain[..]),
        ];
        b.iter(|| decode_chain_into(black_box(&chain), &mut out).unwrap())
    });
    g.bench_function("delta_depth2_verified", |b| {
        let chain = [
            (hashes[2].as_str(), &d2_chain[..]),
            (hashes[1].as_str(), &d1[..]),
            (hashes[0].as_str(), &plain[..]),
        ];
        b.iter(|| decode_chain_into(black_box(&chain), &mut out).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("encode_1MiB_f32");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("zstd_plain", |b| {
        b.iter(|| compress(black_box(&v[2])).unwrap())
    });
    g.bench_function("shuffled", |b| {
        b.iter(|| encode_shuffled(black_box(&v[2]), 4).unwrap())
    });
    let base_hash = hash_bytes(&v[0]);
    g.bench_function("delta", |b| {
        b.iter(|| encode_delta(black_box(&v[2]), &v[0], base_hash, 4).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = decode;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(decode);
