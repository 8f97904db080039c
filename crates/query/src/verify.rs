//! Checking that a committed snapshot is whole: every object record it
//! names exists and every chunk they reference reads back with its hash.

use std::collections::HashSet;

use serde::Serialize;
use snapline_store::{record_children, record_chunks, Store, StoreError};

use crate::error::QueryResult;

/// The outcome of verifying one snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    pub seq: i64,
    pub ok: bool,
    pub objects: usize,
    pub chunks: usize,
    pub bytes: u64,
    /// The first problem found, naming the object or chunk.
    pub problem: Option<String>,
}

/// Reads every chunk of a snapshot and checks its hash.
pub fn verify_snapshot(store: &Store, run: &str, seq: i64) -> QueryResult<Verification> {
    let mut report = Verification {
        seq,
        ok: true,
        objects: 0,
        chunks: 0,
        bytes: 0,
        problem: None,
    };
    let mut seen_objects = HashSet::new();
    let mut seen_chunks = HashSet::new();
    let mut pending: Vec<String> = store
        .entries(run, seq)?
        .into_iter()
        .map(|e| e.hash)
        .collect();
    while let Some(hash) = pending.pop() {
        if !seen_objects.insert(hash.clone()) {
            continue;
        }
        let record = match store.object(&hash) {
            Ok(r) => r,
            Err(e @ (StoreError::MissingObject { .. } | StoreError::BadRecord { .. })) => {
                report.ok = false;
                report.problem = Some(e.to_string());
                return Ok(report);
            }
            Err(e) => return Err(e.into()),
        };
        report.objects += 1;
        pending.extend(record_children(&record));
        for chunk in record_chunks(&record) {
            if !seen_chunks.insert(chunk.clone()) {
                continue;
            }
            match store.read_chunk(&chunk) {
                Ok(raw) => {
                    report.chunks += 1;
                    report.bytes += raw.len() as u64;
                }
                Err(e @ (StoreError::MissingChunk { .. } | StoreError::DamagedChunk { .. })) => {
                    report.ok = false;
                    report.problem = Some(format!("object {hash}: {e}"));
                    return Ok(report);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(report)
}
