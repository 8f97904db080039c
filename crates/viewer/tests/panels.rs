//! Each panel of the viewer on a synthetic store (written through the
//! store's API by `snapline-bench`'s `SyntheticRun`), driven with
//! egui_kittest: clicks, keys, and snapshot images compared with those in
//! tests/snapshots (rendered with wgpu; `UPDATE_SNAPSHOTS=1` rewrites them).
//! Run ids and the temporary store's path change at each run, so their
//! text is masked in the images.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::{Harness, SnapshotOptions};
use egui_plot::{PlotMemory, PlotPoint};
use snapline_bench::{Object, SyntheticRun};
use snapline_query::XAxis;
use snapline_store::MetricPoint;
use snapline_viewer::panels::charts;
use snapline_viewer::{SideTab, ViewerApp, ViewerOptions};

fn weights(seed: u64, nan: bool) -> Object {
    let mut data = snapline_bench::noise(16, seed);
    if nan {
        data[3] = f32::NAN;
    }
    Object::F32 {
        shape: vec![4, 4],
        data,
    }
}

/// A store with two runs: `baseline.py` (3 clean snapshots) and, newest,
/// `train.py` (12 snapshots: its weights go NaN at 9, its loss at 10).
/// Returns the still-open `train.py` run so a test can add to it.
fn store() -> (tempfile::TempDir, SyntheticRun) {
    let dir = tempfile::tempdir().unwrap();
    let mut base = SyntheticRun::create(dir.path(), "baseline.py").unwrap();
    for i in 0..3 {
        base.snapshot(
            &[("w", &weights(i, false))],
            &[("loss", 1.0 - 0.1 * i as f64)],
        )
        .unwrap();
    }
    let mut train = SyntheticRun::create(dir.path(), "train.py").unwrap();
    let bias = Object::F32 {
        shape: vec![4],
        data: vec![0.5; 4],
    };
    for step in 1..=12u64 {
        let w = weights(step, step >= 9);
        let loss = if step >= 10 {
            f64::NAN
        } else {
            2.0 / step as f64
        };
        let lr = Object::Scalar(0.01);
        train
            .snapshot(
                &[("model.w", &w), ("model.b", &bias), ("lr", &lr)],
                &[("loss", loss), ("acc", 0.5 + 0.04 * step as f64)],
            )
            .unwrap();
    }
    (dir, train)
}

fn app(dir: &std::path::Path, follow: bool) -> ViewerApp {
    let mut app = ViewerApp::new(
        &ViewerOptions {
            store: dir.to_path_buf(),
            run: None,
        },
        None,
        follow,
    );
    app.state.wait_for_loads();
    app
}

fn harness(app: ViewerApp) -> Harness<'static, ViewerApp> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 860.0))
        .wgpu()
        .build_ui_state(|ui, app: &mut ViewerApp| app.show(ui), app);
    harness.run();
    harness
}

fn seq(harness: &Harness<'_, ViewerApp>) -> i64 {
    harness
        .state()
        .state
        .run
        .as_ref()
        .and_then(|r| r.cursor_row())
        .map(|r| r.seq)
        .unwrap()
}

/// The id of the run the viewer has open.
fn run_id(harness: &Harness<'_, ViewerApp>) -> String {
    harness
        .state()
        .state
        .run
        .as_ref()
        .unwrap()
        .summary
        .id
        .clone()
}

/// Masks text that changes from one test run to the next (run ids, the
/// temporary directory), then compares with tests/snapshots/NAME.png.
fn snapshot(harness: &mut Harness<'_, ViewerApp>, name: &str) {
    harness.remove_cursor();
    harness.run();
    let mut volatile: Vec<String> = harness
        .state()
        .state
        .runs
        .iter()
        .map(|r| r.id.clone())
        .collect();
    volatile.push(harness.state().state.store_dir.display().to_string());
    let mut rects = Vec::new();
    for text in &volatile {
        for node in harness.query_all_by_label_contains(text) {
            rects.push(node.rect());
        }
    }
    for rect in rects {
        harness.mask(rect);
    }
    // Text is antialiased slightly differently from one software renderer
    // to the next: a per-pixel tolerance, and a few hundred pixels of
    // slack in a 1400x860 image.
    let options = SnapshotOptions::new().threshold(2.0).max_failed_pixels(400);
    harness.snapshot_options(name, &options);
}

#[test]
fn opens_the_newest_run_on_its_last_snapshot() {
    let (dir, _train) = store();
    let mut harness = harness(app(dir.path(), false));
    let app = harness.state();
    let run = app.state.run.as_ref().unwrap();
    assert_eq!(run.summary.script, "train.py");
    assert_eq!(run.rows.len(), 12);
    assert!(
        run.series.iter().all(|s| s.loaded.is_some()),
        "charts loaded"
    );
    // The runs list, the charts, the variables at the cursor are drawn.
    harness.get_by_label_contains("baseline.py");
    harness.get_by_label("loss");
    harness.get_by_label("acc");
    harness.get_by_label("model.w");
    harness.get_by_label("@12");
    snapshot(&mut harness, "overview");
}

#[test]
fn the_keyboard_scrubs_the_timeline_and_the_variables_follow() {
    let (dir, _train) = store();
    let mut harness = harness(app(dir.path(), false));
    assert_eq!(seq(&harness), 12);
    harness.key_press(egui::Key::Home);
    harness.run();
    assert_eq!(seq(&harness), 1);
    harness.key_press(egui::Key::ArrowRight);
    harness.run();
    assert_eq!(seq(&harness), 2);
    // At 2 the weights changed since 1, the bias did not.
    let at = harness
        .state()
        .state
        .run
        .as_ref()
        .unwrap()
        .at_cursor
        .as_ref()
        .unwrap();
    assert_eq!(at.seq, 2);
    assert!(at.changed.contains("model.w"));
    assert!(!at.changed.contains("model.b"));
    harness.key_press(egui::Key::ArrowLeft);
    harness.key_press(egui::Key::ArrowLeft);
    harness.run();
    assert_eq!(seq(&harness), 1, "the cursor stops at the first snapshot");
    harness.key_press(egui::Key::End);
    harness.run();
    assert_eq!(seq(&harness), 12);
    // Only what changed, on request.
    harness.get_by_label("changed only").click();
    harness.run();
    assert!(harness.state().changed_only);
    assert!(harness.query_by_label("model.b").is_none());
    harness.get_by_label("model.w");
}

#[test]
fn the_runs_list_opens_another_run() {
    let (dir, _train) = store();
    let mut harness = harness(app(dir.path(), false));
    harness.get_by_label_contains("baseline.py").click();
    // The click opens the run; its chart loads on the loader thread.
    harness.step();
    harness.state_mut().state.wait_for_loads();
    harness.run();
    let run = harness.state().state.run.as_ref().unwrap();
    assert_eq!(run.summary.script, "baseline.py");
    assert_eq!(run.rows.len(), 3);
}

#[test]
fn charts_smooth_and_switch_to_a_log_scale() {
    let (dir, _train) = store();
    let mut app = app(dir.path(), false);
    app.charts.smoothing = 0.6;
    app.charts.log_y = true;
    let mut harness = harness(app);
    let loss = harness.state().charts.summary("loss").unwrap();
    assert!(loss.smoothed && loss.log_y);
    // Steps 10-12 are NaN: markers, not points; a tick per snapshot.
    assert_eq!(
        (loss.points, loss.markers[0], loss.snapshot_ticks),
        (9, 3, 12)
    );
    snapshot(&mut harness, "charts_smoothed_log");
    harness.get_by_label("log y").click();
    harness.run();
    assert!(!harness.state().charts.log_y);
}

/// A store with one run written the way a training loop with a periodic
/// snapshot is: four `train:loss` points logged by the loop (no snapshot
/// of their own, steps 1-4, 5-8, 9-12) before each of 3 snapshots.
fn looped_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "loop.py").unwrap();
    for seq in 1..=3i64 {
        let points: Vec<MetricPoint> = (1..=4i64)
            .map(|k| {
                let step = (seq - 1) * 4 + k;
                MetricPoint {
                    name: "train:loss".into(),
                    step: step as f64,
                    value: 3.0 / step as f64,
                    // Snapshot `seq` is taken at start + seq: these come just before it.
                    time: 1_700_000_000.0 + seq as f64 - 0.5 + 0.1 * k as f64,
                    seq: None,
                    epoch: Some(seq - 1),
                }
            })
            .collect();
        run.store.add_metrics(&run.run, &points).unwrap();
        run.snapshot(&[("model.w", &weights(seq as u64, false))], &[])
            .unwrap();
    }
    dir
}

#[test]
fn loop_points_between_snapshots_are_charted_at_their_steps() {
    let dir = looped_store();
    let mut harness = harness(app(dir.path(), false));
    let loss = harness.state().charts.summary("train:loss").unwrap();
    // On the snapshot axis the 12 points stacked at 2 x; on the step axis
    // each has its own, and each snapshot a tick at the step it reached.
    assert_eq!(loss.x_axis, XAxis::Step);
    assert_eq!((loss.points, loss.distinct_x), (12, 12));
    assert_eq!((loss.snapshot_ticks, loss.range), (3, None));
    let charts = &harness.state().charts;
    // The cursor (the last snapshot) sits at step 12; the timeline's
    // first snapshot at step 4.
    assert_eq!(charts.x_of_seq("train:loss", 3), Some(12.0));
    assert_eq!(charts.x_of_seq("train:loss", 1), Some(4.0));
    // A point at step 6 was logged before snapshot 2.
    assert_eq!(charts.seq_at_x("train:loss", 6.0), Some(2));
    snapshot(&mut harness, "charts_step_axis");

    // Where steps are on the screen: the plot's transform of the last frame.
    let run = run_id(&harness);
    let id = charts::plot_id(&run, "train:loss");
    let transform = PlotMemory::load(&harness.ctx, id).unwrap().transform();
    let y = transform.bounds().center().y;
    let at = |x: f64| transform.position_from_point(&PlotPoint::new(x, y));
    let click = |harness: &mut Harness<'_, ViewerApp>, x: f64| {
        harness.hover_at(at(x));
        harness.drag_at(at(x));
        harness.step();
        harness.drop_at(at(x));
        harness.run();
    };
    // A click at step 5 (between the ticks at 4 and 8) moves the cursor to
    // snapshot 2, the first taken after the point there; one near the tick
    // at 4 to snapshot 1.
    click(&mut harness, 5.0);
    assert_eq!(seq(&harness), 2);
    click(&mut harness, 4.05);
    assert_eq!(seq(&harness), 1);

    // Dragging a box from step 2 to 6 zooms x: the chart is cut to that
    // range (padded), read again from the loaded series.
    harness.hover_at(at(2.0));
    harness.drag_at(at(2.0));
    harness.step();
    for x in [3.0, 4.5, 6.0] {
        harness.hover_at(at(x));
        harness.step();
    }
    // Released with the pointer still there (`drop_at` also removes it,
    // and egui_plot zooms to where the pointer is at the release).
    harness.event(egui::Event::PointerButton {
        pos: at(6.0),
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    harness.run();
    let zoomed = harness.state().charts.summary("train:loss").unwrap();
    let (lo, hi) = zoomed.range.expect("zoomed");
    assert!(lo < 2.0 && (6.0..11.0).contains(&hi), "{lo}..{hi}");
    assert!((5..12).contains(&zoomed.points), "{zoomed:?}");
    assert_eq!(seq(&harness), 1, "a drag does not move the cursor");
    // Beyond the zoom's snapshots, x still maps to the whole run's.
    assert_eq!(harness.state().charts.seq_at_x("train:loss", 9.0), Some(3));

    // A double-click resets it to the whole series.
    // (In one frame: the harness steps a quarter of a second per event, too
    // slow for a double-click.)
    harness.hover_at(at(8.0));
    harness.step();
    for pressed in [true, false, true, false] {
        harness.input_mut().events.push(egui::Event::PointerButton {
            pos: at(8.0),
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    harness.run();
    let reset = harness.state().charts.summary("train:loss").unwrap();
    assert_eq!((reset.range, reset.points), (None, 12));
}

#[test]
fn the_first_nan_panel_names_where_it_began_and_jumps_there() {
    let (dir, _train) = store();
    let mut harness = harness(app(dir.path(), false));
    harness.get_by_label("First NaN").click();
    harness.run();
    assert_eq!(harness.state().tab, SideTab::FirstNan);
    harness.get_by_label("First NaN/Inf at @9");
    harness.get_by_label("Last clean snapshot: @8");
    snapshot(&mut harness, "first_nan");
    harness.get_all_by_label("go there").next().unwrap().click();
    harness.run();
    assert_eq!(seq(&harness), 9);
}

/// Opens the Diff tab and compares snapshots `a` and `b`.
fn compare(harness: &mut Harness<'_, ViewerApp>, a: i64, b: i64) {
    harness.get_by_label("Diff").click();
    harness.run();
    harness.state_mut().diff.a = a;
    harness.state_mut().diff.b = b;
    harness.get_by_label("Compare").click();
    harness.run();
}

#[test]
fn the_diff_panel_compares_two_snapshots() {
    let (dir, _train) = store();
    let mut harness = harness(app(dir.path(), false));
    compare(&mut harness, 3, 9);
    let diff = harness
        .state()
        .diff
        .result
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap();
    assert_eq!((diff.a.seq, diff.b.seq), (3, 9));
    assert_eq!(
        diff.changed, 1,
        "only the weights changed: {:?}",
        diff.changes
    );
    assert_eq!(diff.changes[0].path, "model.w");
    harness.get_by_label_contains("1 changed");
    snapshot(&mut harness, "diff");
}

#[test]
fn the_restore_command_is_copied() {
    let (dir, _train) = store();
    let mut harness = harness(app(dir.path(), false));
    harness.key_press(egui::Key::Home);
    harness.run();
    harness.get_by_label("resume").click();
    harness.run();
    harness.get_by_label("Copy").click();
    harness.run();
    let run = run_id(&harness);
    let expected = format!(
        "snapline --store {} restore {run}@1 --resume",
        snapline_query::shell_quote(&dir.path().display().to_string())
    );
    assert_eq!(
        harness.state().restore.copied.as_deref(),
        Some(expected.as_str())
    );
    harness.get_by_label(&expected);
}

#[test]
fn follows_a_live_run() {
    let (dir, mut train) = store();
    let mut harness = harness(app(dir.path(), true));
    assert_eq!(seq(&harness), 12);
    for step in 13..=14 {
        train
            .snapshot(&[("model.w", &weights(step, false))], &[("loss", 0.1)])
            .unwrap();
    }
    // The watcher sees the catalog change; the window re-reads it at most
    // twice a second and keeps its cursor on the last snapshot.
    let deadline = Instant::now() + Duration::from_secs(20);
    while seq(&harness) != 14 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        harness.step();
    }
    assert_eq!(seq(&harness), 14, "the new snapshots appear");
    assert_eq!(harness.state().state.run.as_ref().unwrap().rows.len(), 14);
}

/// A torch run's optimizer state: paths far longer than the panel's path
/// column (a BERT layer's Adam moments).
const LONG_PATH: &str =
    "optimizer.state[model.encoder.layer.0.attention.self.query.weight][\"exp_avg_sq\"]";

#[test]
fn long_paths_are_elided_and_the_other_columns_stay_in_the_panel() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(dir.path(), "bert_adam.py").unwrap();
    for step in 1..=2u64 {
        let w = weights(step, false);
        let moment = weights(step + 100, false);
        run.snapshot(&[("model.w", &w), (LONG_PATH, &moment)], &[("loss", 1.0)])
            .unwrap();
    }
    let mut harness = harness(app(dir.path(), false));
    // Every dtype and type cell lies inside the side panel (right of its
    // tabs, left of the window's edge).
    let panel_left = harness.get_by_label("Variables").rect().left();
    let window_right = 1400.0;
    let cells: Vec<_> = harness
        .query_all_by_label("float32")
        .chain(harness.query_all_by_label("numpy.ndarray"))
        .map(|n| n.rect())
        .collect();
    assert_eq!(cells.len(), 4, "two rows of dtype and type");
    for rect in cells {
        assert!(
            rect.left() >= panel_left && rect.right() <= window_right,
            "a cell at {rect:?} is outside the panel ({panel_left}..{window_right})"
        );
    }
    // The table shows the path's end (the parameter and the key), not its start.
    assert!(
        harness.query_by_label(LONG_PATH).is_none(),
        "the long path is elided"
    );
    let elided = harness.get_by_label_contains("[\"exp_avg_sq\"]");
    let elided_label = elided.accesskit_node().label().unwrap_or_default();
    assert!(elided_label.starts_with('…'), "{elided_label}");
    assert!(elided_label.contains("weight]"), "{elided_label}");
    // A click on the row shows the full path in the details.
    harness.get_by_label(&elided_label).click();
    harness.run();
    assert_eq!(harness.state().selected_path.as_deref(), Some(LONG_PATH));
    harness.get_by_label(LONG_PATH);
    snapshot(&mut harness, "variables_long_path");
    // The keys still scrub, and the selection follows the cursor.
    harness.key_press(egui::Key::Home);
    harness.run();
    assert_eq!(seq(&harness), 1);
    harness.get_by_label(LONG_PATH);
    // The diff lists the changed long path cut the same way.
    compare(&mut harness, 1, 2);
    harness.get_by_label_contains("2 changed");
    assert!(
        harness.query_by_label(LONG_PATH).is_none(),
        "the long path is elided in the diff too"
    );
    let in_diff = harness.get_by_label_contains("weight][\"exp_avg_sq\"]");
    let node = in_diff.accesskit_node();
    let text = node.label().or(node.value()).unwrap_or_default();
    assert!(text.starts_with('…'), "{text}");
}
