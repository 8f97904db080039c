//! Which runs of a remote a name means: a run id, an id prefix, `last`
//! (the run that started last), or a run group's id (every run whose
//! lineage says `"group": {"id": ...}`).

use futures::{StreamExt, TryStreamExt};

use crate::client::{Remote, PARALLEL_REQUESTS};
use crate::error::{RemoteError, RemoteResult};
use crate::layout::{parse_manifest, Manifest};

impl Remote {
    /// The manifest of run `run`; None when the remote has none.
    pub fn manifest(&self, run: &str) -> RemoteResult<Option<Manifest>> {
        self.block_on(self.fetch_manifest(run))
    }

    pub(crate) async fn fetch_manifest(&self, run: &str) -> RemoteResult<Option<Manifest>> {
        let Some(bytes) = self.get(&self.run_key(run)).await? else {
            return Ok(None);
        };
        parse_manifest(&bytes, run)
            .map(Some)
            .map_err(|detail| RemoteError::BadManifest {
                url: self.url_text(),
                run: run.to_owned(),
                detail,
            })
    }

    /// Every run's manifest, oldest start first. A manifest deleted between
    /// the listing and its read is left out.
    pub fn manifests(&self) -> RemoteResult<Vec<Manifest>> {
        let ids: Vec<String> = self.run_ids()?.into_keys().collect();
        let mut all: Vec<Manifest> = self
            .block_on(
                futures::stream::iter(ids.iter().map(|id| self.fetch_manifest(id)))
                    .buffer_unordered(PARALLEL_REQUESTS)
                    .try_collect::<Vec<_>>(),
            )?
            .into_iter()
            .flatten()
            .collect();
        all.sort_by(|a, b| a.rows.run.started_at.total_cmp(&b.rows.run.started_at));
        Ok(all)
    }

    /// The runs `name` means on this remote (see the module docs).
    pub fn select(&self, name: &str) -> RemoteResult<Vec<Manifest>> {
        let unknown = || RemoteError::UnknownRun {
            url: self.url_text(),
            what: format!("run or group {name:?}"),
        };
        if crate::layout::is_run_id(name) {
            if let Some(m) = self.manifest(name)? {
                return Ok(vec![m]);
            }
        }
        let mut all = self.manifests()?;
        if name == "last" {
            return all.pop().map(|m| vec![m]).ok_or_else(unknown);
        }
        let group: Vec<Manifest> = all
            .iter()
            .filter(|m| group_id(&m.rows.run.lineage).as_deref() == Some(name))
            .cloned()
            .collect();
        if !group.is_empty() {
            return Ok(group);
        }
        let mut prefixed: Vec<Manifest> = all
            .into_iter()
            .filter(|m| m.rows.run.id.starts_with(name))
            .collect();
        match prefixed.len() {
            0 => Err(unknown()),
            1 => Ok(prefixed.split_off(0)),
            n => Err(RemoteError::UnknownRun {
                url: self.url_text(),
                what: format!(
                    "a single run named {name:?} ({n} run ids start with it; give more of the id)"
                ),
            }),
        }
    }
}

/// The run group a run belongs to (its lineage's `group.id`).
pub fn group_id(lineage: &serde_json::Value) -> Option<String> {
    lineage
        .get("group")
        .and_then(|g| g.get("id"))
        .and_then(|id| {
            id.as_str()
                .map(str::to_owned)
                .or_else(|| Some(id.to_string()))
        })
}
