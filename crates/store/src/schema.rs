//! Versioned migrations of the catalog. `PRAGMA user_version` holds the
//! schema version; a catalog newer than this build is refused, never altered.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{StoreError, StoreResult};

/// Migrations in order; migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_position.sql"),
    include_str!("../migrations/0003_events.sql"),
    include_str!("../migrations/0004_origin.sql"),
    include_str!("../migrations/0005_metric_indexes.sql"),
    include_str!("../migrations/0006_delta_base.sql"),
    include_str!("../migrations/0007_shuffled_frames.sql"),
    include_str!("../migrations/0008_twist_frames.sql"),
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn sql_err(path: &Path) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |source| classify(path, source)
}

/// Turns "file is not a database" and friends into a `Corrupt` error.
pub(crate) fn classify(path: &Path, source: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::ErrorCode;
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: source.to_string(),
        },
        _ => StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Reads the schema version, refusing catalogs from a newer build.
pub(crate) fn check_version(conn: &Connection, path: &Path) -> StoreResult<i64> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql_err(path))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

/// Brings the catalog up to `SCHEMA_VERSION`: every pending migration in
/// one transaction (one synchronous commit: creating a store costs one
/// fsync of the catalog, not one per migration), all or none applied.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> StoreResult<()> {
    if check_version(conn, path)? >= SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql_err(path))?;
    // Another process may have migrated between our read and the lock.
    let mut version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql_err(path))?;
    while version < SCHEMA_VERSION {
        let index = usize::try_from(version).unwrap_or(usize::MAX);
        let sql = MIGRATIONS.get(index).copied().unwrap_or_default();
        tx.execute_batch(sql).map_err(sql_err(path))?;
        version += 1;
    }
    tx.pragma_update(None, "user_version", version)
        .map_err(sql_err(path))?;
    tx.commit().map_err(sql_err(path))?;
    check_version(conn, path).map(|_| ())
}
