//! The Snapline store: a directory holding `catalog.sqlite` (runs, snapshots,
//! object records, metrics) and content-addressed, zstd-compressed chunks.
//!
//! Nothing outside this crate reads or writes those files. A snapshot becomes
//! visible in one catalog transaction, after every chunk it needs is durable,
//! so a reader never sees half a snapshot and `kill -9` loses at most the
//! snapshot in flight.

mod catalog;
mod chunk_list;
mod chunks;
mod compaction;
mod delta;
mod error;
mod events;
mod health;
mod liveness;
mod model;
mod nonfinite;
mod read;
mod references;
mod retention;
mod schema;
mod transfer;
mod twist;
mod write;

pub use catalog::{Store, DEFAULT_STORE_DIR};
pub use chunk_list::{
    build_chunk_list, chunk_list_chunks, chunk_list_pieces, chunk_list_root, value_chunks,
    ChunkListTree, CHUNK_LIST_OVER, CHUNK_LIST_TYPE,
};
pub use chunks::{
    apply_frame_in_place, chunk_hash, compress, decode_chain_into, decode_into, decompress_into,
    frame_base, read_ceiling, INLINE_LIMIT, MAX_CHUNK_SIZE,
};
pub use compaction::COMPACT_LIMIT;
pub use delta::{
    apply_delta_in_place, delta_header, delta_width, encode_delta, encode_shuffled, shuffled_width,
    DeltaHeader, MAX_CHAIN,
};
pub use error::{StoreError, StoreResult};
pub use health::{FsckReport, FsckScan, Leftovers, Problem, ProblemKind, Progress, RepairReport};
pub use liveness::{host_name, process_gone};
pub use model::wire_float;
pub use model::{
    Child, EntryRow, Event, MetricPoint, NewChunk, ObjectKind, ObjectRecord, PointRow, RunInfo,
    RunRecord, RunStatus, SnapshotCommit, SnapshotMeta, Trigger,
};
pub use nonfinite::{EntryOwner, NonfiniteEntry, FIRST_NONFINITE_METRICS};
pub use references::{is_chunk_name, lineage_chunks, record_children, record_chunks};
pub use retention::{KeepRules, RunRetention, SweepReport};
pub use schema::SCHEMA_VERSION;
pub use snapline_array_scan::Stats;
pub use transfer::{
    ChunkFiles, ChunkRow, ImportOutcome, RunRow, TransferEntry, TransferObject, TransferRows,
    WrittenFile,
};
pub use twist::{
    apply_twist_in_place, encode_twist, twist_header, twists_between, TwistHeader, MAX_TWISTS,
    MT_WORDS_BYTES, TWIST_FRAME_LEN,
};
