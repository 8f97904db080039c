//! Charts of Snapline metric series: one or more series of one or more
//! runs on one chart, drawn from what `snapline_query::series_view` returns.
//!
//! The same drawing code serves every front end: `snapline plot` writes PNG
//! or SVG files (`write_image`), the desktop app shows the SVG (`render`),
//! and the lite viewer shows the RGB pixels (`render_rgb`). Text is drawn
//! with a font built into the binary, so nothing depends on system fonts.

mod chart;
mod error;
mod output;

pub use chart::{ChartOptions, MAX_SIDE, MIN_SIDE};
pub use error::{PlotError, PlotResult};
pub use output::{render, render_rgb, write_image, ImageFormat};
