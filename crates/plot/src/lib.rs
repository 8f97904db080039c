//! Charts of Snapline metric series: one or more series of one or more
//! runs on one chart, drawn from what `snapline_query::series_view` returns.
//!
//! `snapline plot` writes PNG
//! or SVG files (`write_image`), `render` gives the same bytes in memory
//! and `render_rgb` gives the RGB pixels the PNG is encoded from. Text is drawn
//! with a font built into the binary, so nothing depends on system fonts.

mod chart;
mod error;
mod output;

pub use chart::{ChartOptions, MAX_SIDE, MIN_SIDE};
pub use error::{PlotError, PlotResult};
pub use output::{render, render_rgb, write_image, ImageFormat};
