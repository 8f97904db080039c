//! Whether the process capturing a run is still alive, and this machine's
//! host name (what the agent records as lineage `host`, and what a bundle's
//! manifest and an import's origin name). The one copy of both: `runs`,
//! `gc`, `rm`, `fsck` and bundles ask here.

use std::path::Path;

/// This machine's host name (`/proc/sys/kernel/hostname`, else
/// `$HOSTNAME`), or None when neither says.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
}

/// Whether the process that captures a run (lineage `host` and `pid`) is
/// known to be gone: same host and no such pid. Anything uncertain
/// (another host, no pid, no host name here) counts as alive.
pub fn process_gone(lineage: &serde_json::Value) -> bool {
    let host = lineage.get("host").and_then(|h| h.as_str());
    let pid = lineage.get("pid").and_then(|p| p.as_i64());
    match (host, pid, host_name()) {
        (Some(h), Some(pid), Some(me)) if h == me => !Path::new(&format!("/proc/{pid}")).exists(),
        _ => false,
    }
}
