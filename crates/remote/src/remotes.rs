//! The remotes a store knows (`snapline remote add/list/remove`), kept in
//! `remotes.json` in the store directory. The first one is the default.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{io_err, RemoteError, RemoteResult};
use crate::layout::RemoteUrl;

/// The file, in the store directory.
pub const REMOTES_FILE: &str = "remotes.json";

/// One named remote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteSpec {
    pub name: String,
    pub url: String,
}

/// Every remote of a store, in the order they were added.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Remotes {
    pub remotes: Vec<RemoteSpec>,
}

fn file(store_dir: &Path) -> PathBuf {
    store_dir.join(REMOTES_FILE)
}

impl Remotes {
    /// The remotes of the store at `store_dir` (none when it has no file).
    pub fn load(store_dir: &Path) -> RemoteResult<Remotes> {
        let path = file(store_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RemoteError::BadConfig {
                path,
                detail: format!("not a list of remotes: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Remotes::default()),
            Err(e) => Err(io_err(path)(e)),
        }
    }

    /// Writes the file whole (temporary file, rename), creating the store
    /// directory if needed.
    pub fn save(&self, store_dir: &Path) -> RemoteResult<()> {
        std::fs::create_dir_all(store_dir).map_err(io_err(store_dir))?;
        let path = file(store_dir);
        let tmp = store_dir.join(format!("{REMOTES_FILE}.tmp-{}", std::process::id()));
        let text = serde_json::to_string_pretty(self).map_err(|e| RemoteError::BadConfig {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        std::fs::write(&tmp, text + "\n").map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// Adds `name` -> `url` (checked; refused when the name is taken).
    pub fn add(&mut self, name: &str, url: &str) -> RemoteResult<RemoteSpec> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(RemoteError::BadName {
                name: name.to_owned(),
            });
        }
        let url = RemoteUrl::parse(url)?.display();
        if let Some(old) = self.remotes.iter().find(|r| r.name == name) {
            return Err(RemoteError::RemoteExists {
                name: name.to_owned(),
                url: old.url.clone(),
            });
        }
        let spec = RemoteSpec {
            name: name.to_owned(),
            url,
        };
        self.remotes.push(spec.clone());
        Ok(spec)
    }

    /// Removes `name`; returns what it was.
    pub fn remove(&mut self, name: &str) -> RemoteResult<RemoteSpec> {
        let at = self
            .remotes
            .iter()
            .position(|r| r.name == name)
            .ok_or_else(|| self.unknown(name))?;
        Ok(self.remotes.remove(at))
    }

    /// The remote `name`, or the default (the first) when `None`.
    pub fn resolve(&self, name: Option<&str>) -> RemoteResult<RemoteSpec> {
        match name {
            Some(name) => self
                .remotes
                .iter()
                .find(|r| r.name == name)
                .cloned()
                .ok_or_else(|| self.unknown(name)),
            None => self.remotes.first().cloned().ok_or(RemoteError::NoRemote),
        }
    }

    fn unknown(&self, name: &str) -> RemoteError {
        let known: Vec<&str> = self.remotes.iter().map(|r| r.name.as_str()).collect();
        RemoteError::UnknownRemote {
            name: name.to_owned(),
            known: if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_list_remove_and_default() {
        let dir = tempfile::tempdir().unwrap();
        let mut remotes = Remotes::load(dir.path()).unwrap();
        assert!(matches!(remotes.resolve(None), Err(RemoteError::NoRemote)));
        remotes.add("team", "s3://team-runs/snap/").unwrap();
        remotes.add("backup", "s3://backup-runs").unwrap();
        assert!(matches!(
            remotes.add("team", "s3://other-bucket"),
            Err(RemoteError::RemoteExists { .. })
        ));
        assert!(remotes.add("a/b", "s3://other-bucket").is_err());
        remotes.save(dir.path()).unwrap();
        let back = Remotes::load(dir.path()).unwrap();
        assert_eq!(back.resolve(None).unwrap().url, "s3://team-runs/snap");
        assert_eq!(
            back.resolve(Some("backup")).unwrap().url,
            "s3://backup-runs"
        );
        let mut back = back;
        back.remove("team").unwrap();
        assert_eq!(back.resolve(None).unwrap().name, "backup");
        assert!(matches!(
            back.resolve(Some("team")),
            Err(RemoteError::UnknownRemote { .. })
        ));
    }
}
