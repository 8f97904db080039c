//! Issue #4: decimating a metric series for display.
//!
//! A series of 1,000,000 points (a noisy decaying loss with a spike and a
//! few NaNs) decimated to 1,000 pixel columns, as a chart asks for it: the
//! whole series, with and without smoothing, and a narrow range that comes
//! back at full resolution. Target: under 20 ms for the whole series.
//!
//!     cargo bench -p snapline-bench --bench series

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use snapline_query::{decimate, ViewOptions};

const POINTS: usize = 1_000_000;

fn loss_curve() -> Vec<[f64; 2]> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..POINTS)
        .map(|i| {
            // xorshift noise: no dependency, same series every run.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64;
            let x = i as f64;
            let y = match i {
                500_000 => 50.0,
                i if i % 250_000 == 1_234 => f64::NAN,
                _ => 2.0 * (-x / 300_000.0).exp() + 0.3 * noise,
            };
            [x, y]
        })
        .collect()
}

fn series(c: &mut Criterion) {
    let xy = loss_curve();
    let plain = ViewOptions {
        width_px: 1000,
        ..ViewOptions::default()
    };
    let smoothed = ViewOptions {
        smoothing: 0.6,
        ..plain.clone()
    };
    let narrow = ViewOptions {
        x_min: Some(400_000.0),
        x_max: Some(401_999.0),
        ..smoothed.clone()
    };
    let mut group = c.benchmark_group("series");
    group.sample_size(50);
    for (name, opts) in [
        ("decimate_1M_to_1000px", &plain),
        ("decimate_1M_to_1000px_smoothed", &smoothed),
        ("range_2000_of_1M_smoothed", &narrow),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| match decimate(black_box(&xy), black_box(opts)) {
                Ok(d) => d.points.len(),
                Err(e) => panic!("{e}"),
            })
        });
    }
    group.finish();
}

criterion_group!(benches, series);
criterion_main!(benches);
