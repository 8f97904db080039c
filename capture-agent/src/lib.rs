//! `snapline._native`: the Rust half of the capture agent.
//!
//! Python walks the object graph (it is the only side that can); this module
//! does the heavy, GIL-free part: hashing and scanning array buffers,
//! chunking blobs, deduplicating against the store, and streaming new chunks
//! and snapshot commits to the background writer; and, for restore,
//! reading chunks back straight into array buffers, and the Landlock
//! sandbox a restore of a foreign snapshot runs in.

mod reader;
mod recorder;
mod sandbox;
mod scalars;
mod writer;
mod written_pages;

use pyo3::prelude::*;

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

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(hash_bytes, m)?)?;
    m.add_class::<recorder::Recorder>()?;
    m.add_class::<scalars::ScalarTracker>()?;
    reader::register(m)?;
    sandbox::register(m)?;
    m.add("SCHEMA_VERSION", snapline_store::SCHEMA_VERSION)?;
    m.add("CHUNK_SIZE", snapline_array_scan::CHUNK_SIZE)?;
    Ok(())
}
