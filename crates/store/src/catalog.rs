//! Opening a store: the directory, the catalog connection, its pragmas and
//! migrations.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::chunks::ChunkDir;
use crate::error::{StoreError, StoreResult};
use crate::schema::{check_version, classify, migrate};

/// The store directory used when neither `--store` nor `SNAPLINE_STORE` is given.
pub const DEFAULT_STORE_DIR: &str = ".snapline";

const CATALOG_FILE: &str = "catalog.sqlite";

/// Page size of a newly created catalog (see `Store::connect`).
const CATALOG_PAGE_SIZE: i64 = 16384;

/// An open store. One per thread; several processes may open the same store
/// (one writer per run, any number of readers).
pub struct Store {
    pub(crate) dir: PathBuf,
    pub(crate) catalog: PathBuf,
    pub(crate) conn: Connection,
    pub(crate) chunks: ChunkDir,
}

/// Puts the catalog in WAL mode. A fresh catalog's switch needs an
/// exclusive lock and SQLite does not call the busy handler for it: when
/// several processes create one store at once (the ranks of a torchrun job
/// on one node), the others retry here for as long as the busy timeout
/// rather than fail with "database is locked".
fn set_wal(conn: &Connection, catalog: &Path) -> StoreResult<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Ok(()) => return Ok(()),
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(classify(catalog, e)),
        }
    }
}

impl Store {
    /// Opens an existing store; `NotFound` when there is none at `dir`.
    pub fn open(dir: impl AsRef<Path>) -> StoreResult<Store> {
        let dir = dir.as_ref().to_path_buf();
        let catalog = dir.join(CATALOG_FILE);
        if !catalog.is_file() {
            return Err(StoreError::NotFound(dir));
        }
        Self::connect(dir, catalog, OpenFlags::SQLITE_OPEN_READ_WRITE)
    }

    /// Opens the store at `dir`, creating the directory and catalog if needed.
    pub fn create(dir: impl AsRef<Path>) -> StoreResult<Store> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(dir.join("chunks")).map_err(|source| StoreError::Create {
            path: dir.clone(),
            source,
        })?;
        let catalog = dir.join(CATALOG_FILE);
        Self::connect(
            dir,
            catalog,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
    }

    fn connect(dir: PathBuf, catalog: PathBuf, flags: OpenFlags) -> StoreResult<Store> {
        let flags = flags | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let mut conn =
            Connection::open_with_flags(&catalog, flags).map_err(|e| classify(&catalog, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| classify(&catalog, e))?;
        // Reading the version first turns "not a database" into a clear error
        // before any pragma tries to write.
        check_version(&conn, &catalog)?;
        // A new catalog's page size (an existing one keeps its own: SQLite
        // ignores this once the file has pages). Objects and entries are
        // WITHOUT ROWID tables, whose rows overflow at about a quarter of a
        // page: at 4 KiB every 1-4 KB record (a 2.5 KB RNG state, a long
        // string) took an overflow page mostly empty, a third of the file.
        conn.pragma_update(None, "page_size", CATALOG_PAGE_SIZE)
            .map_err(|e| classify(&catalog, e))?;
        set_wal(&conn, &catalog)?;
        // FULL: a committed snapshot survives power loss, not just kill -9.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| classify(&catalog, e))?;
        migrate(&mut conn, &catalog)?;
        Ok(Store {
            chunks: ChunkDir::new(&dir),
            dir,
            catalog,
            conn,
        })
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| classify(&self.catalog, e)
    }
}
