//! `snapline nan`: the first non-finite snapshot, what began it, what
//! followed, the metric that broke and the last clean snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use snapline_bench::{Object, SyntheticRun};
use snapline_query::first_nonfinite;

fn weights(value: f32, n: usize) -> Object {
    Object::F32 {
        shape: vec![n as i64],
        data: vec![value; n],
    }
}

#[test]
fn names_the_first_bad_snapshot_the_objects_and_what_followed() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    for _ in 0..3 {
        run.snapshot(
            &[("w", &weights(1.0, 8)), ("b", &weights(0.0, 2))],
            &[("loss", 0.5)],
        )
        .unwrap();
    }
    let mut bad = vec![1.0f32; 8];
    bad[3] = f32::NAN;
    let w_bad = Object::F32 {
        shape: vec![8],
        data: bad,
    };
    // 4: w holds one NaN; 5: the loss is inf; 6: b goes -inf too.
    run.snapshot(&[("w", &w_bad), ("b", &weights(0.0, 2))], &[("loss", 0.7)])
        .unwrap();
    run.snapshot(
        &[
            ("w", &w_bad),
            ("b", &weights(0.0, 2)),
            ("loss", &Object::Scalar(f64::INFINITY)),
        ],
        &[("loss", f64::INFINITY)],
    )
    .unwrap();
    run.snapshot(
        &[("w", &w_bad), ("b", &weights(f32::NEG_INFINITY, 2))],
        &[("loss", f64::NAN)],
    )
    .unwrap();

    let r = first_nonfinite(&run.store, &run.run).unwrap();
    assert_eq!(r.snapshots, 6);
    let first = r.first.as_ref().unwrap();
    assert_eq!(first.seq, 4);
    assert_eq!(first.loops, vec![3]);
    assert_eq!(r.last_clean, Some(3));
    assert_eq!(r.began.len(), 1);
    assert_eq!(
        (r.began[0].path.as_str(), r.began[0].began_as.as_str()),
        ("w", "nan")
    );
    assert_eq!((r.began[0].nan, r.began[0].count), (1, 8));
    assert!(!r.began[0].scalar);
    let followed: Vec<(&str, i64, &str, bool)> = r
        .followed
        .iter()
        .map(|o| (o.path.as_str(), o.seq, o.began_as.as_str(), o.scalar))
        .collect();
    assert_eq!(
        followed,
        vec![("loss", 5, "inf", true), ("b", 6, "-inf", false)]
    );
    assert_eq!(r.metrics.len(), 1);
    assert_eq!(
        (r.metrics[0].name.as_str(), r.metrics[0].step),
        ("loss", 5.0)
    );
    assert!(r.metrics[0].value.is_infinite());
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["metrics"][0]["value"], "inf");
    assert_eq!(json["first"]["trigger"], "iteration");
}

#[test]
fn a_metric_alone_can_be_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    run.snapshot(&[("w", &weights(1.0, 4))], &[("loss", 0.3)])
        .unwrap();
    run.snapshot(
        &[("w", &weights(1.0, 4)), ("loss", &Object::Scalar(f64::NAN))],
        &[("loss", f64::NAN)],
    )
    .unwrap();
    let r = first_nonfinite(&run.store, &run.run).unwrap();
    assert_eq!(r.first.as_ref().unwrap().seq, 2);
    assert_eq!(r.last_clean, Some(1));
    assert_eq!(r.began.len(), 1);
    assert!(r.began[0].scalar);
    assert_eq!(r.began[0].began_as, "nan");
}

#[test]
fn a_clean_run_and_an_empty_run_have_no_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    let r = first_nonfinite(&run.store, &run.run).unwrap();
    assert!(r.first.is_none() && r.snapshots == 0);
    run.snapshot(&[("w", &weights(1.0, 4))], &[("loss", 0.3)])
        .unwrap();
    let r = first_nonfinite(&run.store, &run.run).unwrap();
    assert!(r.first.is_none());
    assert_eq!(r.snapshots, 1);
    assert!(r.metrics.is_empty() && r.began.is_empty());
}
