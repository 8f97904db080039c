//! Charts written as files: valid PNG and SVG, the series named, NaN marked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::path::Path;

use snapline_plot::{render, render_rgb, write_image, ChartOptions, ImageFormat, PlotError};
use snapline_query::{decimate, SeriesView, ViewOptions, XAxis};

fn view(run: &str, name: &str, values: &[f64], opts: &ViewOptions) -> SeriesView {
    let xy: Vec<[f64; 2]> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| [i as f64, v])
        .collect();
    SeriesView {
        run: run.into(),
        name: name.into(),
        x_axis: XAxis::Step,
        data: decimate(&xy, opts).unwrap(),
        total_points: values.len(),
        no_x: 0,
        snapshots: vec![0.0, 10.0, 20.0],
        snapshot_seqs: vec![0, 1, 2],
    }
}

fn loss(nan_at: Option<usize>) -> Vec<f64> {
    (0..200)
        .map(|i| {
            if Some(i) == nan_at {
                f64::NAN
            } else {
                2.0 * (-(i as f64) / 40.0).exp() + 0.1 * ((i * 7919) % 13) as f64 / 13.0
            }
        })
        .collect()
}

fn nan_red_pixels(rgb: &[u8]) -> usize {
    rgb.chunks_exact(3)
        .filter(|p| p[0] == 214 && p[1] == 39 && p[2] == 40)
        .count()
}

#[test]
fn png_and_svg_files_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let o = ViewOptions {
        smoothing: 0.6,
        ..ViewOptions::default()
    };
    let series = vec![
        view("a1b2c3d4e5f6", "train:loss", &loss(Some(120)), &o),
        view(
            "a1b2c3d4e5f6",
            "val_acc",
            &loss(None).iter().map(|v| 1.0 - v / 3.0).collect::<Vec<_>>(),
            &o,
        ),
    ];
    let chart = ChartOptions::default();

    let png_path = dir.path().join("curves.png");
    assert_eq!(
        write_image(&png_path, &series, &chart).unwrap(),
        ImageFormat::Png
    );
    let png = std::fs::read(&png_path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height as asked.
    assert_eq!(&png[16..24], &[0, 0, 5, 0, 0, 0, 2, 208]);

    let svg_path = dir.path().join("curves.SVG");
    assert_eq!(
        write_image(&svg_path, &series, &chart).unwrap(),
        ImageFormat::Svg
    );
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::to_owned))
        .collect();
    for wanted in ["train:loss", "val_acc", "NaN", "snapshot", "step"] {
        assert!(
            texts.iter().any(|t| t.contains(wanted)),
            "{wanted} not in {texts:?}"
        );
    }
    // No temporary file is left beside the outputs.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_nan_is_marked_and_only_then() {
    let o = ViewOptions::default();
    let chart = ChartOptions::default();
    let with = render_rgb(&[view("r1", "loss", &loss(Some(100)), &o)], &chart).unwrap();
    let without = render_rgb(&[view("r1", "loss", &loss(None), &o)], &chart).unwrap();
    assert_eq!(with.len(), 1280 * 720 * 3);
    // The red cross in the plot and in the legend.
    assert!(nan_red_pixels(&with) > 20, "{}", nan_red_pixels(&with));
    assert_eq!(nan_red_pixels(&without), 0);

    let svg = String::from_utf8(
        render(
            &[view("r1", "loss", &loss(Some(100)), &o)],
            &chart,
            ImageFormat::Svg,
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        svg.contains("#D62728") || svg.contains("#d62728"),
        "no NaN red in the SVG"
    );
}

#[test]
fn several_runs_log_y_and_edge_cases_draw() {
    let o = ViewOptions {
        log_y: true,
        ..ViewOptions::default()
    };
    let mut inf = loss(None);
    inf[50] = f64::INFINITY;
    inf[60] = f64::NEG_INFINITY;
    let series = vec![
        view("run000000001", "loss", &loss(None), &o),
        view("run000000002", "loss", &inf, &o),
        view("run000000003", "loss", &[], &o),
        view("run000000004", "loss", &[f64::NAN, 5.0], &o),
    ];
    let chart = ChartOptions {
        log_y: true,
        ..ChartOptions::default()
    };
    let svg = String::from_utf8(render(&series, &chart, ImageFormat::Svg).unwrap()).unwrap();
    assert!(svg.contains("run000000002"));
    assert!(svg.contains("log scale"));
    // Nothing at all, and a single point: still a chart.
    render(&[], &chart, ImageFormat::Png).unwrap();
    render(&series[3..], &ChartOptions::default(), ImageFormat::Png).unwrap();
}

#[test]
fn bad_outputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let series = [view("r1", "loss", &loss(None), &ViewOptions::default())];
    let chart = ChartOptions::default();
    let err = write_image(&dir.path().join("x.jpg"), &series, &chart).unwrap_err();
    assert!(matches!(err, PlotError::UnknownFormat(_)));
    assert!(err.to_string().contains(".png or .svg"), "{err}");
    let err = write_image(&dir.path().join("nope/x.png"), &series, &chart).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = write_image(
        Path::new("x.png"),
        &series,
        &ChartOptions { width: 10, ..chart },
    )
    .unwrap_err();
    assert!(err.to_string().contains("200 to 8192"), "{err}");
}
