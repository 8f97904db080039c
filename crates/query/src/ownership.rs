//! Whose numbers a path holds: the user's state, or a library object's own
//! (matplotlib's transforms and data limits, an early-stopping `best = inf`).
//!
//! The capture marks the record of every object of a class that holds
//! others with `extra.owner` ("user": the user's classes, torch modules,
//! optimizers and datasets, scikit-learn estimators, pandas; "library":
//! any other installed package's). A path belongs to a library when the
//! nearest marked object above it is a library's; records without marks
//! (older stores) leave everything to the user.

use std::collections::HashMap;

use snapline_store::{EntryOwner, Store};

use crate::error::QueryResult;

/// Who owns the value at a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathOwner {
    /// The user's state: reported.
    User,
    /// Held by the library object at `holder` (its type `type_name`).
    Library { holder: String, type_name: String },
}

/// Answers `PathOwner` for the paths of one run, one lookup per ancestor
/// path and snapshot.
pub struct Owners<'a> {
    store: &'a Store,
    run: &'a str,
    marks: HashMap<(i64, String), Option<EntryOwner>>,
}

impl<'a> Owners<'a> {
    pub fn new(store: &'a Store, run: &'a str) -> Self {
        Owners {
            store,
            run,
            marks: HashMap::new(),
        }
    }

    /// Who owns the value at `path` in snapshot `seq`.
    pub fn of_path(&mut self, seq: i64, path: &str) -> QueryResult<PathOwner> {
        for ancestor in ancestors(path) {
            let key = (seq, ancestor.to_owned());
            let mark = match self.marks.get(&key) {
                Some(mark) => mark.clone(),
                None => {
                    let mark = self.store.entry_owner(self.run, seq, ancestor)?;
                    self.marks.insert(key, mark.clone());
                    mark
                }
            };
            match mark.as_ref().and_then(|m| m.owner.as_deref()) {
                Some("library") => {
                    return Ok(PathOwner::Library {
                        holder: ancestor.to_owned(),
                        type_name: mark.map(|m| m.type_name).unwrap_or_default(),
                    })
                }
                Some("user") => return Ok(PathOwner::User),
                _ => continue,
            }
        }
        Ok(PathOwner::User)
    }
}

/// The paths above `path`, nearest first: `fig.<3>` -> `fig`;
/// `h["w"].b` -> `h["w"]`, `h`. A prefix that is no object's path (cut
/// inside a key) is simply not found.
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.char_indices()
        .filter(|&(i, c)| i > 0 && matches!(c, '.' | '[' | '{'))
        .map(|(i, _)| &path[..i])
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
}

#[cfg(test)]
mod tests {
    use super::ancestors;

    #[test]
    fn ancestors_nearest_first() {
        let found: Vec<&str> = ancestors(r#"fig.<3>"#).collect();
        assert_eq!(found, vec!["fig"]);
        let found: Vec<&str> = ancestors(r#"h["w"].b[0]"#).collect();
        assert_eq!(found, vec![r#"h["w"].b"#, r#"h["w"]"#, "h"]);
        assert_eq!(ancestors("loss").count(), 0);
        assert_eq!(ancestors("train:loss").count(), 0);
    }
}
