//! The data model the store speaks: runs, snapshots, object records,
//! entries (path -> object in a snapshot), chunks and metric points.

use serde::{Deserialize, Serialize};
use snapline_array_scan::Stats;

/// Why a snapshot was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Statement,
    Iteration,
    Cell,
    Explicit,
    Exception,
    Signal,
    Exit,
    Timer,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Statement => "statement",
            Trigger::Iteration => "iteration",
            Trigger::Cell => "cell",
            Trigger::Explicit => "explicit",
            Trigger::Exception => "exception",
            Trigger::Signal => "signal",
            Trigger::Exit => "exit",
            Trigger::Timer => "timer",
        }
    }

    pub fn parse(s: &str) -> Option<Trigger> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// Life-cycle state of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Failed => "failed",
            RunStatus::Killed => "killed",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// What the agent knows when a run starts. `lineage` is free-form JSON
/// (argv, cwd, script hash, git, python, packages, host, pid).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunInfo {
    pub script: String,
    pub started_at: f64,
    pub lineage: serde_json::Value,
    #[serde(default)]
    pub parent_run: Option<String>,
    #[serde(default)]
    pub parent_seq: Option<i64>,
}

/// A run as stored in the catalog.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    pub id: String,
    pub ordinal: i64,
    pub script: String,
    pub status: RunStatus,
    pub started_at: f64,
    pub ended_at: Option<f64>,
    pub exit_code: Option<i64>,
    pub exception: Option<serde_json::Value>,
    pub parent_run: Option<String>,
    pub parent_seq: Option<i64>,
    pub lineage: serde_json::Value,
    pub snapshots: i64,
    pub bytes_new: i64,
    /// Where an imported run came from (`snapline import`): host, exporter,
    /// exported_at, imported_at, bundle. `None` for runs captured here.
    pub origin: Option<serde_json::Value>,
}

/// One snapshot's row.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SnapshotMeta {
    pub seq: i64,
    pub trigger: Trigger,
    pub file: Option<String>,
    pub line: Option<i64>,
    /// Completed iterations of each enclosing loop, outermost first.
    pub loops: Vec<i64>,
    #[serde(default)]
    pub label: Option<String>,
    pub time: f64,
    pub capture_ms: f64,
    pub bytes_new: i64,
    pub bytes_reused: i64,
    pub objects: i64,
    pub nonfinite: i64,
    /// Where the program was: the trigger's place (`at`), the script's
    /// frames outermost first and the enclosing loops with their counts.
    /// Read by `restore --resume`; opaque to everything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<serde_json::Value>,
}

/// What kind of thing an object record describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// An immutable value (number, string, tuple of numbers...) held as tagged JSON.
    Value,
    /// A numpy array or torch tensor: raw chunks plus dtype, shape and stats.
    Array,
    /// A list, tuple, dict or set whose children are listed.
    Container,
    /// An instance rebuilt from its class and its attributes (children).
    Instance,
    /// Pickle bytes (protocol 5) in chunks; never unpickled to inspect.
    Pickle,
    /// A function or class defined by the script, kept by reference to its source.
    Reference,
    /// Could not be saved; `reason` says why.
    Unrestorable,
    /// A node of a large value's chunk list (`chunk_list.rs`): no object of
    /// the program, never an entry; reached through `extra.chunk_list`.
    #[serde(rename = "chunk_list")]
    ChunkList,
}

/// A child of a container or instance: its key and either its object hash
/// (`hash`) or, for plain immutable values, the value inline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Child {
    pub key: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// The inline value; `Some(Null)` for a child that is `None`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    pub value: Option<serde_json::Value>,
    /// A cycle: the path of the ancestor this child is (`a.append(a)`).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub cycle: Option<String>,
}

/// A present JSON `null` is a value (Python's None), not an absent one.
fn present_value<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

/// The content-addressed description of one object, identical for every
/// snapshot in which the object is unchanged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectRecord {
    pub kind: ObjectKind,
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
    #[serde(default)]
    pub preview: String,
    pub restorable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Tagged JSON of a `Value` object (see docs/store-format.md);
    /// `Some(Null)` for Python's None.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    pub value: Option<serde_json::Value>,
    /// Hex hashes of the chunks holding the content, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<String>,
    #[serde(default)]
    pub nbytes: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Child>,
    /// Kind-specific details: framework, device, strides, requires_grad,
    /// pickle references, source location of a reference...
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Path -> object in one snapshot. Entries with the same `node` are the same
/// object reached by several paths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntryRow {
    pub path: String,
    pub node: i64,
    pub hash: String,
}

/// A chunk that this snapshot stores for the first time. Its file (if not
/// inline) must already be durable when the snapshot commits.
#[derive(Clone, Debug)]
pub struct NewChunk {
    pub hash: String,
    pub size: u64,
    pub stored: u64,
    /// The zstd frame, for chunks small enough to live in the catalog.
    pub inline: Option<Vec<u8>>,
}

impl NewChunk {
    /// About what its catalog row takes besides the frame: the hash and two
    /// sizes, and for an inline frame with a base (a twist frame) the
    /// base's name. `bytes_new` counts it, so that STORED matches the disk.
    pub fn row_bytes(&self) -> u64 {
        let key = self.hash.len() as u64 + 8;
        match self.inline.as_deref().map(crate::chunks::frame_base) {
            Some(Some(_)) => key + 32,
            _ => key,
        }
    }
}

/// One point of a metric series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MetricPoint {
    pub name: String,
    pub step: f64,
    /// In JSON, NaN and infinities are the strings "nan", "inf" and "-inf".
    #[serde(with = "wire_float")]
    #[cfg_attr(feature = "ts", ts(type = "number | \"nan\" | \"inf\" | \"-inf\""))]
    pub value: f64,
    pub time: f64,
    #[serde(default)]
    pub seq: Option<i64>,
    #[serde(default)]
    pub epoch: Option<i64>,
}

/// One point of a series without its name: what a chart reads, a million
/// at a time (`Store::metric_points`). NaN is NaN here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PointRow {
    pub step: f64,
    pub value: f64,
    pub time: f64,
    pub seq: Option<i64>,
    pub epoch: Option<i64>,
}

/// Something the agent noticed between snapshots, stored in time order
/// with them. `kind` says what (`"nonfinite"`: the first non-finite module
/// output, gradient or numpy result of a run, with `--nan-hooks`); `detail`
/// is a JSON object whose fields depend on the kind (docs/store-format.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Event {
    pub time: f64,
    /// The seq of the last snapshot committed before the event; `None` when
    /// none was yet.
    pub seq: Option<i64>,
    pub kind: String,
    pub detail: serde_json::Value,
}

/// Everything that becomes visible atomically with one snapshot.
#[derive(Clone, Debug)]
pub struct SnapshotCommit {
    pub run_id: String,
    pub meta: SnapshotMeta,
    pub chunks: Vec<NewChunk>,
    pub objects: Vec<(String, ObjectRecord)>,
    pub entries: Vec<EntryRow>,
    pub metrics: Vec<MetricPoint>,
}

/// f64 in JSON, with NaN and the infinities as strings (JSON has neither).
pub mod wire_float {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        if value.is_nan() {
            s.serialize_str("nan")
        } else if value.is_infinite() {
            s.serialize_str(if *value > 0.0 { "inf" } else { "-inf" })
        } else {
            s.serialize_f64(*value)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Number(f64),
        Text(String),
        Null(()),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(match Wire::deserialize(d)? {
            Wire::Number(v) => v,
            Wire::Text(t) => match t.as_str() {
                "inf" | "+inf" | "Infinity" => f64::INFINITY,
                "-inf" | "-Infinity" => f64::NEG_INFINITY,
                _ => f64::NAN,
            },
            Wire::Null(()) => f64::NAN,
        })
    }
}
