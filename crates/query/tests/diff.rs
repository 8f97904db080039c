//! `diff A B` on stores written through the store API: arrays compared
//! chunk by chunk, moves matched by content, scalars, shapes, two runs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use snapline_bench::{noise, Object, SyntheticRun};
use snapline_query::{diff_snapshots, ChangeKind, Detail, DiffOptions, SnapshotRef};

fn at(run: &SyntheticRun, seq: i64) -> SnapshotRef {
    SnapshotRef {
        run: run.run.clone(),
        seq,
    }
}

fn array(data: Vec<f32>) -> Object {
    Object::F32 {
        shape: vec![data.len() as i64 / 4, 4],
        data,
    }
}

#[test]
fn identical_snapshots_short_circuit() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    let w = array(noise(1024, 1));
    let a = run
        .snapshot(&[("w", &w), ("loss", &Object::Scalar(0.5))], &[])
        .unwrap();
    let b = run
        .snapshot(&[("w", &w), ("loss", &Object::Scalar(0.5))], &[])
        .unwrap();
    let d = diff_snapshots(
        &run.store,
        &at(&run, a),
        &at(&run, b),
        &DiffOptions::default(),
    )
    .unwrap();
    assert!(d.identical);
    assert_eq!(d.unchanged, 2);
    assert!(d.changes.is_empty());
}

#[test]
fn one_changed_element_reads_one_chunk_and_names_the_element() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    // 3 MiB: three chunks of 1 MiB.
    let before = noise(3 * 262_144, 2);
    let mut after = before.clone();
    let flat = 262_144 + 4 * 10 + 3; // second chunk, row 65546, column 3
    after[flat] += 0.25;
    let other = array(noise(4096, 3));
    let a = run
        .snapshot(&[("w", &array(before.clone())), ("other", &other)], &[])
        .unwrap();
    let b = run
        .snapshot(&[("w", &array(after)), ("other", &other)], &[])
        .unwrap();
    let d = diff_snapshots(
        &run.store,
        &at(&run, a),
        &at(&run, b),
        &DiffOptions::default(),
    )
    .unwrap();
    assert!(!d.identical);
    assert_eq!(
        (d.changed, d.added, d.removed, d.moved, d.unchanged),
        (1, 0, 0, 0, 1)
    );
    let change = &d.changes[0];
    assert_eq!(change.path, "w");
    assert_eq!(change.change, ChangeKind::Changed);
    let Some(Detail::Array(a)) = &change.detail else {
        panic!("expected an array diff, got {:?}", change.detail);
    };
    assert!(a.compared);
    assert_eq!(a.changed, 1);
    assert_eq!((a.chunks_read, a.chunks_equal), (1, 2));
    assert!((a.max_abs_diff.unwrap() - 0.25).abs() < 1e-6);
    assert_eq!(a.first_changes.len(), 1);
    assert_eq!(a.first_changes[0].index, vec![(flat / 4) as u64, 3]);
    assert_eq!(a.first_changes[0].old, f64::from(before[flat]));
    // The norm moved, the NaN count did not.
    assert!(a.delta.norm.is_some());
    assert_eq!(a.delta.nan, 0);
}

#[test]
fn a_renamed_object_is_a_move_and_nested_paths_fold() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    let w = array(noise(64, 4));
    let x = array(noise(64, 5));
    let a = run
        .snapshot(&[("weights", &w), ("tmp", &x), ("tmp.inner", &x)], &[])
        .unwrap();
    let b = run
        .snapshot(&[("best", &w), ("fresh", &array(noise(64, 6)))], &[])
        .unwrap();
    let d = diff_snapshots(
        &run.store,
        &at(&run, a),
        &at(&run, b),
        &DiffOptions::default(),
    )
    .unwrap();
    assert_eq!((d.moved, d.added, d.removed), (1, 1, 1), "{:#?}", d.changes);
    let moved = d
        .changes
        .iter()
        .find(|c| c.change == ChangeKind::Moved)
        .unwrap();
    assert_eq!(moved.path, "best");
    assert_eq!(moved.from.as_deref(), Some("weights"));
    let removed = d
        .changes
        .iter()
        .find(|c| c.change == ChangeKind::Removed)
        .unwrap();
    assert_eq!(removed.path, "tmp");
    assert_eq!(removed.nested, 1);
}

#[test]
fn scalars_shapes_and_non_finite_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    let a = run
        .snapshot(
            &[
                ("loss", &Object::Scalar(0.5)),
                ("w", &array(vec![1.0; 8])),
                ("grown", &array(vec![0.0; 8])),
            ],
            &[],
        )
        .unwrap();
    let b = run
        .snapshot(
            &[
                ("loss", &Object::Scalar(f64::NAN)),
                (
                    "w",
                    &array(vec![1.0, f32::NAN, 1.0, 1.0, 1.0, 1.0, 1.0, f32::INFINITY]),
                ),
                ("grown", &array(vec![0.0; 12])),
            ],
            &[],
        )
        .unwrap();
    let d = diff_snapshots(
        &run.store,
        &at(&run, a),
        &at(&run, b),
        &DiffOptions::default(),
    )
    .unwrap();
    assert_eq!(d.changed, 3);
    let get = |p: &str| {
        d.changes
            .iter()
            .find(|c| c.path == p)
            .unwrap()
            .detail
            .clone()
            .unwrap()
    };
    let Detail::Value(v) = get("loss") else {
        panic!()
    };
    assert_eq!((v.old.as_str(), v.new.as_str()), ("0.5", "float('nan')"));
    let Detail::Array(w) = get("w") else { panic!() };
    assert_eq!((w.changed, w.became_nonfinite), (2, 2));
    assert_eq!((w.delta.nan, w.delta.inf), (1, 1));
    let Detail::Array(g) = get("grown") else {
        panic!()
    };
    assert!(!g.compared);
    assert_eq!(g.not_compared.as_deref(), Some("the shape changed"));
    // JSON: NaN travels as a string.
    let json = serde_json::to_value(&d).unwrap();
    let w_json = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "w")
        .unwrap();
    assert_eq!(w_json["detail"]["first_changes"][0]["new"], "nan");
}

#[test]
fn two_runs_compare_by_path_and_disjoint_ones_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut one = SyntheticRun::create(dir.path(), "a.py").unwrap();
    let w = array(noise(64, 7));
    let a = one
        .snapshot(&[("w", &w), ("lr", &Object::Scalar(0.1))], &[])
        .unwrap();
    let mut two = SyntheticRun::create(dir.path(), "b.py").unwrap();
    let b = two
        .snapshot(&[("w", &w), ("lr", &Object::Scalar(0.01))], &[])
        .unwrap();
    let c = two
        .snapshot(&[("other", &array(noise(64, 8)))], &[])
        .unwrap();
    let store = &two.store;
    let d = diff_snapshots(store, &at(&one, a), &at(&two, b), &DiffOptions::default()).unwrap();
    assert_eq!((d.changed, d.unchanged), (1, 1));
    assert!(!d.disjoint);
    let d = diff_snapshots(store, &at(&one, a), &at(&two, c), &DiffOptions::default()).unwrap();
    assert!(d.disjoint);
    assert_eq!((d.added, d.removed), (1, 2));
}
