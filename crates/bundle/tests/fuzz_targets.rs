//! The cargo-fuzz targets of `fuzz/` (`bundle_reader`, `catalog_rows`) on
//! stable Rust, bounded: the same functions over the same seed corpus
//! (`fuzz/seeds/`), with libFuzzer-style byte mutations (flips, inserts,
//! deletions, splices of two seeds, "interesting" integers) and, for the
//! catalog, structure-aware ones (every number of the rows set to an
//! extreme, every string to a path or control characters). Each target runs
//! a fixed number of inputs from a fixed seed, a few seconds in all: every
//! run of the test command fuzzes the same inputs, and a failure names the
//! iteration to replay.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod mutation;

use std::path::PathBuf;

use snapline_bundle::{parse_catalog, verify_bytes};

use mutation::Rng;

const INTERESTING: [u64; 10] = [
    0,
    1,
    0x7f,
    0xff,
    0xffff,
    1 << 31,
    u32::MAX as u64,
    (1 << 63) - 1,
    1 << 63,
    u64::MAX,
];

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

/// One libFuzzer-like mutation of `input` (another seed for splices).
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let n = out.len();
        match rng.below(7) {
            0 if n > 0 => {
                let i = rng.below(n);
                out[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n);
                out[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(n + 1);
                let len = 1 + rng.below(16);
                out.splice(i..i, (0..len).map(|_| rng.next() as u8));
            }
            3 if n > 0 => {
                let i = rng.below(n);
                let end = (i + 1 + rng.below(64)).min(n);
                out.drain(i..end);
            }
            4 if n >= 8 => {
                let i = rng.below(n - 7);
                let v = INTERESTING[rng.below(INTERESTING.len())];
                out[i..i + 8].copy_from_slice(&v.to_le_bytes());
            }
            5 if !other.is_empty() => {
                let cut = rng.below(n + 1);
                let from = rng.below(other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            _ => out.truncate(rng.below(n + 1)),
        }
    }
    out
}

fn fuzz(target: &str, iterations: usize, run: impl Fn(&[u8]) -> bool) -> usize {
    let corpus = seeds(target);
    for seed in &corpus {
        assert!(run(seed), "{target}: a seed of the corpus is refused");
    }
    let mut rng = Rng::new(0x5eed_f022);
    let mut accepted = 0;
    for i in 0..iterations {
        let a = &corpus[rng.below(corpus.len())];
        let b = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, a, b);
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&input)))
            .unwrap_or_else(|_| panic!("{target}: iteration {i} panicked"));
        accepted += usize::from(ok);
    }
    accepted
}

#[test]
fn bundle_reader_target_on_stable() {
    let accepted = fuzz("bundle_reader", 20_000, |data| verify_bytes(data).is_ok());
    // Every part is hashed: almost no mutation can pass.
    assert!(accepted < 200, "{accepted} mutated bundles verified");
}

#[test]
fn catalog_rows_target_on_stable() {
    fuzz("catalog_rows", 20_000, |data| parse_catalog(data).is_ok());
}

/// Structure-aware: the seed catalogs with one value at a time replaced by
/// an extreme number or a hostile string. Must answer, never panic nor
/// allocate what a declared number says.
#[test]
fn catalog_rows_with_extreme_values() {
    let mut rng = Rng::new(0xca7a_1065);
    let hostile_numbers = [
        serde_json::json!(-1),
        serde_json::json!(i64::MAX),
        serde_json::json!(u64::MAX),
        serde_json::json!(1e308),
        serde_json::json!(-0.0),
    ];
    let hostile_strings = [
        "../../../../etc/passwd",
        "/tmp/x",
        "\u{1b}[2J\u{1b}]0;pwned\u{7}",
        "",
        "a\0b",
        "ffffffffffffffffffffffffffffffff",
    ];
    for seed in seeds("catalog_rows") {
        let rows: serde_json::Value = serde_json::from_slice(&seed).unwrap();
        let mut leaves = Vec::new();
        collect_leaves(&rows, String::new(), &mut leaves);
        for _ in 0..2000 {
            let (pointer, is_number) = &leaves[rng.below(leaves.len())];
            let mut mutated = rows.clone();
            let slot = mutated.pointer_mut(pointer).unwrap();
            *slot = if *is_number {
                hostile_numbers[rng.below(hostile_numbers.len())].clone()
            } else {
                serde_json::json!(hostile_strings[rng.below(hostile_strings.len())])
            };
            let bytes = serde_json::to_vec(&mutated).unwrap();
            let _ = std::panic::catch_unwind(|| parse_catalog(&bytes))
                .unwrap_or_else(|_| panic!("parse_catalog panicked with {pointer} replaced"));
        }
    }
}

fn collect_leaves(value: &serde_json::Value, at: String, out: &mut Vec<(String, bool)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                collect_leaves(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_leaves(v, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Number(_) => out.push((at, true)),
        serde_json::Value::String(_) => out.push((at, false)),
        _ => {}
    }
}
