//! `snapline._native`: the Rust half of the capture agent.
//!
//! Python walks the object graph (it is the only side that can); this module
//! does the heavy, GIL-free part: hashing and scanning array buffers,
//! chunking blobs, deduplicating against the store, and streaming new chunks
//! and snapshot commits to the background writer; and, for restore,
//! reading chunks back straight into array buffers, and the Landlock
//! sandbox a restore of a foreign snapshot runs in.

mod chunk_memory;
mod delta_chains;
mod plain_values;
mod reader;
mod record_json;
mod recorder;
mod rng_words;
mod same_items;
mod sandbox;
mod scalars;
mod writer;
mod written_pages;

use pyo3::prelude::*;

/// The system allocator, keeping freed chunk-copy buffers for the next
/// snapshot's copies (chunk_memory.rs: their pages stay mapped).
#[global_allocator]
pub(crate) static ALLOCATOR: chunk_memory::ChunkMemory = chunk_memory::ChunkMemory::new();

/// 128-bit xxh3 of `data`, as 32 hex digits (the store's content address).
#[pyfunction]
fn hash_bytes(py: Python<'_>, data: &[u8]) -> String {
    if data.len() > 1 << 16 {
        let ptr = data.as_ptr() as usize;
        let len = data.len();
        // SAFETY: `data` borrows a Python bytes object that the caller holds
        // for the duration of this call; bytes objects are immutable.
        py.detach(move || {
            let slice = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
            snapline_array_scan::hash_bytes(slice).to_hex()
        })
    } else {
        snapline_array_scan::hash_bytes(data).to_hex()
    }
}

/// A large value's chunk list as a tree of content-defined node records
/// (`snapline_store::build_chunk_list`): (root hash, [(node hash, node
/// record JSON)], leaves first). The graph walker stores the nodes it has
/// not committed before and names the root in the value's record.
#[pyfunction]
fn chunk_list(chunks: Vec<String>) -> PyResult<(String, Vec<(String, String)>)> {
    let tree = snapline_store::build_chunk_list(&chunks);
    let nodes = tree
        .nodes
        .into_iter()
        .map(|(hash, record)| {
            serde_json::to_string(&record)
                .map(|json| (hash, json))
                .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
        })
        .collect::<PyResult<_>>()?;
    Ok((tree.root, nodes))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    if let Some(bytes) = chunk_memory::limit_from_env() {
        ALLOCATOR.set_limit(bytes);
    }
    m.add_function(wrap_pyfunction!(hash_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(chunk_list, m)?)?;
    m.add("CHUNK_LIST_OVER", snapline_store::CHUNK_LIST_OVER)?;
    m.add_class::<recorder::Recorder>()?;
    m.add_class::<scalars::ScalarTracker>()?;
    plain_values::register(m)?;
    same_items::register(m)?;
    reader::register(m)?;
    record_json::register(m)?;
    sandbox::register(m)?;
    m.add("SCHEMA_VERSION", snapline_store::SCHEMA_VERSION)?;
    m.add("CHUNK_SIZE", snapline_array_scan::CHUNK_SIZE)?;
    Ok(())
}
