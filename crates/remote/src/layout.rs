//! Where things live on a remote, and the manifest of a run.
//!
//! Under `s3://BUCKET/PREFIX/`:
//! - `chunks/<hash>`: one chunk's zstd frame, exactly as the store keeps it
//!   (its name is the hash of its decompressed content, so it is checked
//!   on the way in and on the way out);
//! - `runs/<run id>.json`: the run's manifest, written after every chunk it
//!   names, so a run is on the remote whole or not at all.

use serde::{Deserialize, Serialize};
use snapline_store::{is_chunk_name, TransferRows};

use crate::error::{RemoteError, RemoteResult};

/// The `format` field of every manifest.
pub const MANIFEST_FORMAT: &str = "snapline-remote-manifest/1";

/// An `s3://bucket/prefix` URL, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteUrl {
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
}

impl RemoteUrl {
    /// Parses `s3://bucket[/prefix]`.
    pub fn parse(url: &str) -> RemoteResult<RemoteUrl> {
        let bad = |why: &str| RemoteError::BadUrl {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it does not start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(bad(
                "the bucket name must be 3 to 63 lowercase letters, digits, '-' or '.'",
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix
            .split('/')
            .any(|part| part == "." || part == ".." || (part.is_empty() && !prefix.is_empty()))
        {
            return Err(bad("the prefix has an empty, '.' or '..' part"));
        }
        Ok(RemoteUrl {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The URL back, normalised (`s3://bucket/prefix`).
    pub fn display(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// `rest` under the prefix.
    pub fn under(&self, rest: &str) -> String {
        if self.prefix.is_empty() {
            rest.to_owned()
        } else {
            format!("{}/{rest}", self.prefix)
        }
    }

    /// The key prefix of every chunk (`PREFIX/chunks`).
    pub fn chunks_dir(&self) -> String {
        self.under("chunks")
    }

    /// The key prefix of every manifest (`PREFIX/runs`).
    pub fn runs_dir(&self) -> String {
        self.under("runs")
    }
}

/// The key of chunk `hash`.
pub fn chunk_key(url: &RemoteUrl, hash: &str) -> String {
    format!("{}/{hash}", url.chunks_dir())
}

/// The key of run `run`'s manifest.
pub fn run_key(url: &RemoteUrl, run: &str) -> String {
    format!("{}/{run}.json", url.runs_dir())
}

/// The chunk a key under `chunks/` names (None for anything else).
pub(crate) fn chunk_of_key<'a>(url: &RemoteUrl, key: &'a str) -> Option<&'a str> {
    let dir = url.chunks_dir();
    let name = key.strip_prefix(dir.as_str())?.strip_prefix('/')?;
    is_chunk_name(name).then_some(name)
}

/// The run a key under `runs/` names (None for anything else).
pub(crate) fn run_of_key<'a>(url: &RemoteUrl, key: &'a str) -> Option<&'a str> {
    let dir = url.runs_dir();
    let name = key
        .strip_prefix(dir.as_str())?
        .strip_prefix('/')?
        .strip_suffix(".json")?;
    is_run_id(name).then_some(name)
}

/// Whether `s` can be a run id (and so part of a key): what bundles accept.
pub(crate) fn is_run_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A run's manifest: who pushed it, when, and its catalog rows (the
/// bundle's catalog part, checked the same way on the way in).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub pushed_at: f64,
    pub host: String,
    pub user: String,
    pub rows: TransferRows,
}

/// Parses and checks a manifest read from the key of run `run`: the format,
/// rows consistent in themselves (`snapline_bundle::parse_catalog`), the
/// run id the key names, and chunk names that can never be paths.
pub fn parse_manifest(bytes: &[u8], run: &str) -> Result<Manifest, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if format != MANIFEST_FORMAT {
        return Err(format!(
            "format {format:?}, this snapline reads {MANIFEST_FORMAT:?} (upgrade snapline?)"
        ));
    }
    let rows_bytes = value
        .get("rows")
        .map(serde_json::to_vec)
        .transpose()
        .map_err(|e| e.to_string())?
        .ok_or("no rows")?;
    let rows = snapline_bundle::parse_catalog(&rows_bytes).map_err(|e| e.to_string())?;
    if rows.run.id != run {
        return Err(format!("it describes run {} instead", rows.run.id));
    }
    if let Some(bad) = rows.chunks.iter().find(|c| !is_chunk_name(&c.hash)) {
        return Err(format!("chunk name {:?} is not a hash", bad.hash));
    }
    let text = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_owned()
    };
    Ok(Manifest {
        format: format.to_owned(),
        pushed_at: value
            .get("pushed_at")
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0),
        host: text("host"),
        user: text("user"),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        let url = RemoteUrl::parse("s3://team-runs/snapline/").unwrap();
        assert_eq!(url.bucket, "team-runs");
        assert_eq!(url.prefix, "snapline");
        assert_eq!(url.display(), "s3://team-runs/snapline");
        let root = RemoteUrl::parse("s3://team-runs").unwrap();
        assert_eq!(root.prefix, "");
        assert_eq!(chunk_key(&root, "ab"), "chunks/ab");
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "http://x/y",
            "s3://",
            "s3://Upper/x",
            "s3://ok-bucket/a/../b",
            "s3://ok-bucket/a//b",
        ] {
            assert!(RemoteUrl::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn keys_round_trip_and_refuse_strangers() {
        let url = RemoteUrl::parse("s3://bucket/team/a").unwrap();
        let hash = "0123456789abcdef0123456789abcdef";
        assert_eq!(chunk_key(&url, hash), format!("team/a/chunks/{hash}"));
        assert_eq!(chunk_of_key(&url, &chunk_key(&url, hash)), Some(hash));
        assert_eq!(run_key(&url, "abc123"), "team/a/runs/abc123.json");
        assert_eq!(run_of_key(&url, "team/a/runs/abc123.json"), Some("abc123"));
        assert_eq!(chunk_of_key(&url, "team/a/chunks/../../x"), None);
        assert_eq!(
            chunk_of_key(&url, "team/b/chunks/0123456789abcdef0123456789abcdef"),
            None
        );
        assert_eq!(run_of_key(&url, "team/a/runs/a-b.json"), None);
        assert_eq!(run_of_key(&url, "team/a/runs/abc.txt"), None);
    }

    #[test]
    fn manifests_are_checked() {
        assert!(parse_manifest(b"{}", "abc").unwrap_err().contains("format"));
        assert!(parse_manifest(b"not json", "abc")
            .unwrap_err()
            .contains("JSON"));
        let wrong = serde_json::json!({"format": MANIFEST_FORMAT, "rows": {}});
        assert!(parse_manifest(wrong.to_string().as_bytes(), "abc").is_err());
    }
}
