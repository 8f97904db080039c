//! Where a chart goes: RGB pixels, PNG or SVG bytes, a file written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use plotters::prelude::{BitMapBackend, IntoDrawingArea, SVGBackend};
use snapline_query::SeriesView;

use crate::chart::{draw, ChartOptions, Joins};
use crate::error::{PlotError, PlotResult};

/// The file formats a chart is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    /// The format a file name asks for (`.png` or `.svg`, any case).
    pub fn from_path(path: &Path) -> PlotResult<ImageFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => Ok(ImageFormat::Png),
            Some("svg") => Ok(ImageFormat::Svg),
            _ => Err(PlotError::UnknownFormat(path.to_owned())),
        }
    }
}

/// The chart as RGB pixels, row by row (`width * height * 3` bytes): what
/// the PNG is encoded from.
pub fn render_rgb(series: &[SeriesView], opts: &ChartOptions) -> PlotResult<Vec<u8>> {
    opts.validate()?;
    let mut pixels = vec![0u8; opts.width as usize * opts.height as usize * 3];
    {
        let root =
            BitMapBackend::with_buffer(&mut pixels, (opts.width, opts.height)).into_drawing_area();
        draw(&root, series, opts, Joins::Separate)?;
        root.present().map_err(|e| PlotError::Draw(e.to_string()))?;
    }
    Ok(pixels)
}

/// The chart as the bytes of a PNG or SVG file (SVG is UTF-8 text: what
/// the desktop app shows).
pub fn render(
    series: &[SeriesView],
    opts: &ChartOptions,
    format: ImageFormat,
) -> PlotResult<Vec<u8>> {
    match format {
        ImageFormat::Png => encode_png(&render_rgb(series, opts)?, opts.width, opts.height),
        ImageFormat::Svg => {
            opts.validate()?;
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (opts.width, opts.height))
                    .into_drawing_area();
                draw(&root, series, opts, Joins::Native)?;
                root.present().map_err(|e| PlotError::Draw(e.to_string()))?;
            }
            Ok(svg.into_bytes())
        }
    }
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> PlotResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder
        .write_header()
        .map_err(|e| PlotError::Encode(e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| PlotError::Encode(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| PlotError::Encode(e.to_string()))?;
    Ok(out)
}

/// Draws the chart into `path`, in the format its extension names (.png or
/// .svg). The file appears whole or not at all: the chart is written to a
/// temporary file beside it, synced, then renamed over it.
pub fn write_image(
    path: &Path,
    series: &[SeriesView],
    opts: &ChartOptions,
) -> PlotResult<ImageFormat> {
    let format = ImageFormat::from_path(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(PlotError::NoDirectory {
            path: path.to_owned(),
            dir,
        });
    }
    let bytes = render(series, opts, format)?;
    let failed = |cause| PlotError::Write {
        path: path.to_owned(),
        cause,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".snapline-plot-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(failed)?;
    tmp.write_all(&bytes).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A chart is an ordinary file, not a secret (temporary files start at 0600).
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(failed)?;
    }
    tmp.as_file().sync_all().map_err(failed)?;
    tmp.persist(path).map_err(|e| failed(e.error))?;
    Ok(format)
}
