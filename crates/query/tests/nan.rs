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

fn instance(type_name: &str, owner: &str) -> Object {
    Object::Instance {
        type_name: type_name.into(),
        owner: Some(owner.into()),
    }
}

fn with_inf(n: usize, value: f32) -> Object {
    let mut data = vec![0.5f32; n];
    data[0] = value;
    Object::F32 {
        shape: vec![n as i64],
        data,
    }
}

#[test]
fn a_figure_holding_inf_by_design_is_not_the_first_nan() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    let fig = instance("matplotlib.figure.Figure", "library");
    let limits = with_inf(4, f32::INFINITY);
    let transform = with_inf(9, f32::NEG_INFINITY);
    let figure = [("fig", &fig), ("fig.<3>", &limits), ("fig.<7>", &transform)];
    // 1, 2: trained after plotting, all finite; 3: the weights diverge.
    for _ in 0..2 {
        let mut objects = figure.to_vec();
        let w = weights(1.0, 8);
        objects.push(("w", &w));
        run.snapshot(&objects, &[("loss", 0.5)]).unwrap();
    }
    let mut objects = figure.to_vec();
    let w = weights(f32::NAN, 8);
    objects.push(("w", &w));
    run.snapshot(&objects, &[("loss", f64::NAN)]).unwrap();

    let r = first_nonfinite(&run.store, &run.run).unwrap();
    assert_eq!(r.first.as_ref().unwrap().seq, 3);
    assert_eq!(r.last_clean, Some(2));
    let began: Vec<&str> = r.began.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(began, vec!["w"]);
    assert!(r.followed.is_empty());
    assert_eq!(r.library.len(), 1);
    let held = &r.library[0];
    assert_eq!(
        (held.holder.as_str(), held.type_name.as_str(), held.seq),
        ("fig", "matplotlib.figure.Figure", 3)
    );
    assert_eq!(
        (held.objects, held.posinf, held.neginf, held.nan),
        (2, 1, 1, 0)
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["library"][0]["type"], "matplotlib.figure.Figure");
}

#[test]
fn a_clean_run_after_plotting_has_no_first_and_lists_the_figure() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    let fig = instance("matplotlib.figure.Figure", "library");
    let limits = with_inf(4, f32::INFINITY);
    let w = weights(1.0, 8);
    for _ in 0..3 {
        run.snapshot(&[("fig", &fig), ("fig.<3>", &limits), ("w", &w)], &[])
            .unwrap();
    }
    let r = first_nonfinite(&run.store, &run.run).unwrap();
    assert!(r.first.is_none(), "{:?}", r.first);
    assert!(r.began.is_empty() && r.metrics.is_empty());
    assert_eq!(r.library.len(), 1);
    assert_eq!((r.library[0].holder.as_str(), r.library[0].seq), ("fig", 3));
}

#[test]
fn a_model_inside_a_library_object_is_the_users() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    let trainer = instance("lightning.pytorch.trainer.trainer.Trainer", "library");
    let model = instance("__main__.Net", "user");
    let best = Object::Scalar(f64::INFINITY);
    let fine = weights(1.0, 4);
    let bad = weights(f32::NAN, 4);
    for w in [&fine, &bad] {
        run.snapshot(
            &[
                ("trainer", &trainer),
                (
                    "trainer.early_stopping",
                    &instance("EarlyStopping", "library"),
                ),
                ("trainer.early_stopping.best_score", &best),
                ("trainer.model", &model),
                ("trainer.model.w", w),
            ],
            &[],
        )
        .unwrap();
    }
    let r = first_nonfinite(&run.store, &run.run).unwrap();
    assert_eq!(r.first.as_ref().unwrap().seq, 2);
    let began: Vec<&str> = r.began.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(began, vec!["trainer.model.w"]);
    let holders: Vec<&str> = r.library.iter().map(|h| h.holder.as_str()).collect();
    assert_eq!(holders, vec!["trainer.early_stopping"]);
}

#[test]
fn a_variable_infinite_from_its_first_value_is_a_sentinel() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "train.py").unwrap();
    let w = weights(1.0, 4);
    let inf = Object::Scalar(f64::INFINITY);
    // best = float("inf") before the loop, then the best loss so far.
    run.snapshot(&[("w", &w), ("best", &inf)], &[("best", f64::INFINITY)])
        .unwrap();
    run.snapshot(&[("w", &w), ("best", &inf)], &[]).unwrap();
    for best in [0.9, 0.7] {
        run.snapshot(
            &[("w", &w), ("best", &Object::Scalar(best))],
            &[("best", best)],
        )
        .unwrap();
    }
    let r = first_nonfinite(&run.store, &run.run).unwrap();
    assert!(r.first.is_none(), "{:?}", r.first);
    assert!(r.metrics.is_empty());
    assert_eq!(r.sentinels.len(), 1);
    let s = &r.sentinels[0];
    assert_eq!(
        (s.name.as_str(), s.seq, s.finite_from),
        ("best", Some(1), Some(3))
    );
    assert!(s.value.is_infinite() && s.value > 0.0);

    // A sentinel that later goes NaN is reported there.
    run.snapshot(
        &[("w", &w), ("best", &Object::Scalar(f64::NAN))],
        &[("best", f64::NAN)],
    )
    .unwrap();
    let r = first_nonfinite(&run.store, &run.run).unwrap();
    assert_eq!(r.first.as_ref().unwrap().seq, 5);
    assert_eq!(r.metrics.len(), 1);
    assert!(r.metrics[0].value.is_nan());
    let began: Vec<&str> = r.began.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(began, vec!["best"]);
}
