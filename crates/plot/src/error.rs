use std::path::PathBuf;

/// Errors of drawing or writing a chart; each names the thing and the fix.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot tell the image format of '{}': name the file .png or .svg", .0.display())]
    UnknownFormat(PathBuf),

    #[error("a chart of {width}x{height} pixels is too small or too large: each side takes {min} to {max}", min = crate::MIN_SIDE, max = crate::MAX_SIDE)]
    BadSize { width: u32, height: u32 },

    #[error("the built-in chart font could not be loaded")]
    Font,

    #[error("drawing the chart failed: {0}")]
    Draw(String),

    #[error("encoding the PNG failed: {0}")]
    Encode(String),

    #[error("cannot write '{}': the directory '{}' does not exist", path.display(), dir.display())]
    NoDirectory { path: PathBuf, dir: PathBuf },

    #[error("cannot write '{}': {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

pub type PlotResult<T> = Result<T, PlotError>;
