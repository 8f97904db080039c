//! Progress reporting, so front ends can draw bars without this crate
//! knowing about terminals.

/// Told how many bytes a phase will handle, then as they are done. Called
/// from worker threads.
pub trait Progress: Sync {
    /// A phase (`exporting`, `verifying`, `writing`) of `total` bytes begins.
    fn start(&self, phase: &str, total: u64);
    /// `bytes` more are done.
    fn advance(&self, bytes: u64);
    /// The phase is over.
    fn finish(&self);
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _phase: &str, _total: u64) {}
    fn advance(&self, _bytes: u64) {}
    fn finish(&self) {}
}
