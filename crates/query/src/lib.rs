//! The questions every Snapline front end asks, answered from the store:
//! which runs exist, a run's timeline of snapshots, the objects of a
//! snapshot, metric series. Front ends never write SQL or re-derive these.
//! Nothing here unpickles anything.

pub(crate) mod diff;
mod error;
mod group;
mod history;
mod metrics;
mod nan;
mod objects;
mod ownership;
mod picture;
mod reference;
mod restore_line;
mod run_filter;
mod run_table;
mod runs;
mod series;
mod tensors;
mod verify;
mod warnings;
mod zip_writer;

pub use diff::{
    diff_snapshots, ArrayDiff, Change, ChangeKind, ChildValueChange, ColumnCells, Detail,
    DiffOptions, DtypeChange, ElementChange, FrameDiff, SnapshotDiff, StatsDelta, StructureDiff,
    ValueDiff,
};
pub use error::{QueryError, QueryResult};
pub use group::{
    group_members, group_nan, group_rank_run, is_group_name, resolve_group, run_group,
    snapshot_at_step, snapshot_step, GroupNanReport, RankNan, RunGroup,
};
pub use history::{changed_paths, object_history, StatsPoint};
pub use metrics::{
    list_all_series, list_series, metric_series, resolve_series, Series, SeriesInfo,
};
pub use nan::{
    first_nonfinite, BadMetric, BadObject, HookEvent, LibraryHeld, NanReport, Sentinel,
    SnapshotPlace, FOLLOW_WINDOW,
};
pub use objects::{
    model_view, order_by_importance, show_object, show_snapshot, variable_categories,
    variable_category, LayerNode, ModelView, ObjectView, OptimizerView, ParameterInfo,
    ParameterState, VariableCategory,
};
pub use picture::{array_picture, ArrayPicture, Heatmap, Histogram, READ_LIMIT};
pub use reference::{resolve_run_name, resolve_snapshot, SnapshotRef};
pub use restore_line::{restore_line, shell_quote, RestoreMode};
pub use run_filter::{Cell, Filter, FilterError};
pub use run_table::{
    parse_argv, run_table, ColumnSource, RunColumn, RunRow, RunTable, RunTableOptions,
};
pub use runs::{list_runs, run_log, run_summary, LastMetric, RunSummary, SnapshotRow};
pub use series::{
    axis_series, decimate, series_view, snapshot_positions, x_values, AxisPoint, AxisSeries,
    Decimated, LoadedSeries, Marker, MarkerKind, RunAxes, SeriesPoint, SeriesView, ViewOptions,
    XAxis,
};
pub use snapline_store::{Stats, Store};
pub use tensors::{export_tensors, SkippedArray, TensorExport, TensorFormat};
pub use verify::{verify_snapshot, Verification};
pub use warnings::{run_warnings, AgentWarning};
