//! An array as a picture: its histogram and, for a matrix, a heatmap.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use snapline_bench::{Object, SyntheticRun};
use snapline_query::{array_picture, resolve_snapshot};

#[test]
fn a_matrix_gives_its_histogram_and_heatmap() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    // 4 x 6: row r holds r everywhere, one NaN in the last row.
    let mut data: Vec<f32> = (0..24).map(|i| (i / 6) as f32).collect();
    data[23] = f32::NAN;
    let m = Object::F32 {
        shape: vec![4, 6],
        data,
    };
    let seq = run.snapshot(&[("m", &m)], &[]).unwrap();
    let snap = resolve_snapshot(&run.store, &format!("{}@{seq}", run.run)).unwrap();
    let p = array_picture(&run.store, &snap, "m", 4, 64).unwrap();
    let h = p.histogram.unwrap();
    assert_eq!((h.min, h.max, h.nonfinite), (0.0, 3.0, 1));
    assert_eq!(h.counts, vec![6, 6, 6, 5]);
    let map = p.heatmap.unwrap();
    assert_eq!((map.rows, map.cols), (4, 6));
    assert_eq!(map.values[0], Some(0.0));
    assert_eq!(map.values[6 * 3], Some(3.0));
    assert_eq!(map.values[23], None, "a NaN-only cell has no mean");
    // Shrunk to a 2 x 2 grid: cell means of 2 x 3 blocks.
    let small = array_picture(&run.store, &snap, "m", 4, 2)
        .unwrap()
        .heatmap
        .unwrap();
    assert_eq!((small.rows, small.cols), (2, 2));
    assert_eq!(
        small.values,
        vec![Some(0.5), Some(0.5), Some(2.5), Some(2.4)]
    );
    // Not an array, and no such path.
    let s = run.snapshot(&[("x", &Object::Scalar(1.0))], &[]).unwrap();
    let snap = resolve_snapshot(&run.store, &format!("{}@{s}", run.run)).unwrap();
    let none = array_picture(&run.store, &snap, "x", 4, 8).unwrap();
    assert!(none.histogram.is_none() && none.heatmap.is_none());
    assert!(array_picture(&run.store, &snap, "nope", 4, 8).is_err());
}
