//! The last few series the window drew, loaded (a million points read out
//! of SQLite takes ~0.4 s; cutting and decimating them again for a zoom, a
//! pan, a new smoothing or width takes milliseconds). An entry is keyed by
//! the run's snapshot count too: a live run's next commit makes it stale.

use std::sync::{Arc, Mutex};

use snapline_query::{LoadedSeries, XAxis};
use snapline_store::Store;

use crate::views::AppError;

/// Series kept (each holds its points as 16 bytes apiece).
const KEEP: usize = 8;

type Key = (String, String, XAxis, i64);

#[derive(Default)]
pub struct SeriesCache {
    entries: Mutex<Vec<(Key, Arc<LoadedSeries>)>>,
}

impl SeriesCache {
    /// The series `name` of `run` on `axis`, from the cache or the store.
    pub fn get(
        &self,
        store: &Store,
        run: &str,
        name: &str,
        axis: XAxis,
    ) -> Result<Arc<LoadedSeries>, AppError> {
        let id = store.resolve_run(run)?;
        let snapshots = store.run(&id)?.snapshots;
        let key: Key = (id.clone(), name.to_owned(), axis, snapshots);
        if let Ok(mut entries) = self.entries.lock() {
            if let Some(i) = entries.iter().position(|(k, _)| *k == key) {
                // Most recently used last.
                let hit = entries.remove(i);
                let series = Arc::clone(&hit.1);
                entries.push(hit);
                return Ok(series);
            }
        }
        let loaded = Arc::new(LoadedSeries::load(store, &id, name, axis)?);
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(k, _)| !(k.0 == key.0 && k.1 == key.1 && k.2 == key.2));
            entries.push((key, Arc::clone(&loaded)));
            let excess = entries.len().saturating_sub(KEEP);
            entries.drain(..excess);
        }
        Ok(loaded)
    }
}
