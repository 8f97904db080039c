//! Issue #17: the native viewer on the run of the app's bench (#6): 10,000
//! snapshots, 1,000,000 metric points (built once under
//! target/bench-stores/app-10k-1m by `snapline_bench::long_run`).
//!
//!     cargo bench -p snapline-viewer --bench viewer_open
//!
//! Timed in the process, through egui with no window: a frame is the whole
//! UI pass (`Context::run_ui`: layout, the store reads it asks for) plus
//! tessellation into triangles; what is left to a real window is uploading
//! those triangles to the GPU.
//! - open to first frame: `ViewerApp::new` (the store, the run list, the
//!   run's summary, snapshot rows, series list, the variables at the
//!   cursor) and its first frame, timeline and variables drawn, the chart
//!   still loading on its thread;
//! - open to chart drawn: the same until the frame that draws the loss
//!   curve (1,000,000 points read, decimated to the chart's width);
//! - scrub step: a Right key press to the end of the frame showing the next
//!   snapshot (cursor, variables, what changed, every chart's cursor line).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench panics on a broken fixture

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui;
use snapline_viewer::{ViewerApp, ViewerOptions};

const SNAPSHOTS: i64 = 10_000;
const POINTS_PER_SNAPSHOT: usize = 100;

fn frame(ctx: &egui::Context, app: &mut ViewerApp, events: Vec<egui::Event>) {
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1400.0, 860.0),
        )),
        events,
        ..Default::default()
    };
    let out = ctx.run_ui(input, |ui| app.show(ui));
    let primitives = ctx.tessellate(out.shapes, out.pixels_per_point);
    std::hint::black_box(primitives.len());
}

fn key(key: egui::Key, pressed: bool) -> egui::Event {
    egui::Event::Key {
        key,
        physical_key: None,
        pressed,
        repeat: false,
        modifiers: egui::Modifiers::NONE,
    }
}

fn stats(name: &str, mut xs: Vec<Duration>) {
    xs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p95 = xs[(xs.len() * 95 / 100).min(xs.len() - 1)];
    println!(
        "| {name} | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
        ms(xs[xs.len() / 2]),
        ms(p95),
        ms(xs[xs.len() - 1]),
        xs.len()
    );
}

fn main() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-stores/app-10k-1m");
    drop(snapline_bench::long_run(
        &dir,
        SNAPSHOTS,
        POINTS_PER_SNAPSHOT,
    ));
    let options = ViewerOptions {
        store: dir,
        run: None,
    };
    let reps = std::env::var("REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let (mut first, mut charted, mut scrub) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let ctx = egui::Context::default();
        let t0 = Instant::now();
        let mut app = ViewerApp::new(&options, Some(ctx.clone()), false);
        frame(&ctx, &mut app, Vec::new());
        first.push(t0.elapsed());
        app.state.wait_for_loads();
        frame(&ctx, &mut app, Vec::new());
        charted.push(t0.elapsed());
        // Settle layout (egui sizes some things on the second frame).
        frame(&ctx, &mut app, Vec::new());
        app.state.set_cursor(4_000);
        frame(&ctx, &mut app, Vec::new());
        for _ in 0..40 {
            let t = Instant::now();
            frame(
                &ctx,
                &mut app,
                vec![
                    key(egui::Key::ArrowRight, true),
                    key(egui::Key::ArrowRight, false),
                ],
            );
            scrub.push(t.elapsed());
        }
        let seq = app
            .state
            .run
            .as_ref()
            .and_then(|r| r.cursor_row())
            .map(|r| r.seq);
        assert_eq!(
            seq,
            Some(4_041),
            "the Right key moves the cursor one snapshot a frame"
        );
    }
    println!("| what | median | p95 | max | samples |");
    println!("|---|---|---|---|---|");
    stats("open to first frame (timeline, variables)", first);
    stats("open to the loss chart drawn (1,000,000 points)", charted);
    stats("scrub one snapshot (key to frame tessellated)", scrub);
}
