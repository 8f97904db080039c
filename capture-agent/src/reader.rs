//! `Reader`: read access to a store for restore (Python rebuilds objects;
//! this side resolves names, lists entries and fills buffers from chunks).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use snapline_query::{resolve_snapshot, QueryError};
use snapline_store::{decode_chain_into, decode_into, Store, StoreError, MAX_CHAIN};

create_exception!(
    _native,
    ReadError,
    PyException,
    "The store cannot be read, or names no such run or snapshot."
);
create_exception!(
    _native,
    DamagedError,
    ReadError,
    "A chunk or object record is missing or does not match its hash."
);

fn store_err(e: StoreError) -> PyErr {
    match e {
        StoreError::MissingChunk { .. }
        | StoreError::DamagedChunk { .. }
        | StoreError::MissingObject { .. }
        | StoreError::BadRecord { .. } => DamagedError::new_err(e.to_string()),
        other => ReadError::new_err(other.to_string()),
    }
}

fn query_err(e: QueryError) -> PyErr {
    match e {
        QueryError::Store(inner) => store_err(inner),
        other => ReadError::new_err(other.to_string()),
    }
}

fn json_err(e: serde_json::Error) -> PyErr {
    ReadError::new_err(e.to_string())
}

/// Where one chunk goes in the output buffer.
struct Piece {
    hash: String,
    len: usize,
    inline: Option<Vec<u8>>,
    path: std::path::PathBuf,
    /// The chain a delta chunk is decoded through: its base, the base's
    /// base, ... down to a plain chunk (empty for a plain chunk).
    bases: Vec<Piece>,
}

impl Piece {
    /// The chunk's stored frame (inline, or read from its file).
    fn frame(&self) -> Result<std::borrow::Cow<'_, [u8]>, StoreError> {
        match &self.inline {
            Some(frame) => Ok(std::borrow::Cow::Borrowed(frame.as_slice())),
            None => std::fs::read(&self.path)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => StoreError::MissingChunk {
                        hash: self.hash.clone(),
                    },
                    _ => StoreError::Io {
                        path: self.path.clone(),
                        source: e,
                    },
                }),
        }
    }

    /// Decodes the chunk into `out`, verified (a delta through its chain).
    fn decode_into(&self, out: &mut [u8]) -> Result<(), StoreError> {
        let frame = self.frame()?;
        if self.bases.is_empty() {
            return decode_into(&self.hash, &frame, None, out);
        }
        let mut frames = Vec::with_capacity(self.bases.len());
        for base in &self.bases {
            frames.push(base.frame().map_err(|e| StoreError::DamagedChunk {
                hash: self.hash.clone(),
                detail: match e {
                    StoreError::MissingChunk { .. } => format!(
                        "it is stored as a delta of chunk {}, which is missing",
                        base.hash
                    ),
                    other => format!(
                        "it is stored as a delta of chunk {}, which cannot be read: {other}",
                        base.hash
                    ),
                },
            })?);
        }
        let chain: Vec<(&str, &[u8])> = std::iter::once((self.hash.as_str(), &*frame))
            .chain(
                self.bases
                    .iter()
                    .zip(&frames)
                    .map(|(b, f)| (b.hash.as_str(), &**f)),
            )
            .collect();
        decode_chain_into(&chain, out)
    }
}

/// Read-only handle on a store.
#[pyclass(module = "snapline._native", unsendable)]
pub struct Reader {
    store: Store,
}

impl Reader {
    /// The chain of delta chunk `hash` (`len` bytes): its base, the
    /// base's base, ... down to a plain chunk; empty for a plain one.
    fn base_pieces(&self, hash: &str, len: usize) -> PyResult<Vec<Piece>> {
        let damaged = |detail: String| {
            store_err(StoreError::DamagedChunk {
                hash: hash.to_owned(),
                detail,
            })
        };
        let mut bases: Vec<Piece> = Vec::new();
        let mut below = hash.to_owned();
        while let Some(base) = self.store.chunk_base(&below).map_err(store_err)? {
            if bases.len() as u32 >= MAX_CHAIN {
                return Err(damaged(format!(
                    "its chain of deltas is more than {MAX_CHAIN} deep (a cycle or a damaged \
                     catalog)"
                )));
            }
            let (size, inline) = self.store.chunk_location(&base).map_err(|e| {
                damaged(format!(
                    "it is stored as a delta of chunk {base}, which the store lacks ({e})"
                ))
            })?;
            if size != len as u64 {
                return Err(damaged(format!(
                    "its delta base {base} holds {size} bytes where it holds {len}"
                )));
            }
            bases.push(Piece {
                path: self.store.chunk_path(&base),
                hash: base.clone(),
                len,
                inline,
                bases: Vec::new(),
            });
            below = base;
        }
        Ok(bases)
    }

    fn pieces(&self, hashes: &[String]) -> PyResult<(Vec<Piece>, usize)> {
        let mut pieces = Vec::with_capacity(hashes.len());
        let mut total = 0usize;
        for hash in hashes {
            let (size, inline) = self.store.chunk_location(hash).map_err(store_err)?;
            let len = usize::try_from(size)
                .map_err(|_| DamagedError::new_err(format!("chunk {hash}: size too large")))?;
            // An inline frame needs a base only when it is a twist frame
            // (Mersenne Twister words; inline chunks are never deltas).
            let bases = match &inline {
                Some(frame) if snapline_store::frame_base(frame).is_none() => Vec::new(),
                _ => self.base_pieces(hash, len)?,
            };
            pieces.push(Piece {
                hash: hash.clone(),
                len,
                inline,
                path: self.store.chunk_path(hash),
                bases,
            });
            total = total
                .checked_add(len)
                .ok_or_else(|| DamagedError::new_err("chunk sizes overflow"))?;
        }
        // Bounded work from declared sizes: a record listing one chunk
        // thousands of times (or many chunks) cannot make this process
        // allocate more than the machine has.
        let ceiling = snapline_store::read_ceiling();
        if total as u64 > ceiling {
            return Err(DamagedError::new_err(format!(
                "its {} chunks declare {total} bytes, more than this machine's memory \
                 ({ceiling} bytes): the record is damaged or forged",
                hashes.len()
            )));
        }
        Ok((pieces, total))
    }
}

/// Decompresses every piece into its place in `out`, on several threads.
fn fill(pieces: &[Piece], out: &mut [u8]) -> Result<(), StoreError> {
    let mut slots: Vec<(&Piece, &mut [u8])> = Vec::with_capacity(pieces.len());
    let mut rest = out;
    for piece in pieces {
        let (head, tail) = rest.split_at_mut(piece.len);
        slots.push((piece, head));
        rest = tail;
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
        .min(slots.len().max(1));
    let mut lanes: Vec<Vec<(&Piece, &mut [u8])>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, slot) in slots.into_iter().enumerate() {
        lanes[i % threads].push(slot);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .into_iter()
            .map(|lane| {
                scope.spawn(move || -> Result<(), StoreError> {
                    for (piece, buf) in lane {
                        piece.decode_into(buf)?;
                    }
                    Ok(())
                })
            })
            .collect();
        let mut result = Ok(());
        for handle in handles {
            let outcome = handle.join().unwrap_or_else(|_| {
                Err(StoreError::DamagedChunk {
                    hash: String::new(),
                    detail: "a reader thread panicked".into(),
                })
            });
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    })
}

#[pymethods]
impl Reader {
    /// Opens the store at `store_dir` (never creates one).
    #[new]
    fn new(store_dir: &str) -> PyResult<Self> {
        let store = Store::open(store_dir).map_err(store_err)?;
        Ok(Reader { store })
    }

    /// `RUN@SEQ` (RUN: id prefix or `last`; SEQ: number, `first`, `last`)
    /// -> (run id, seq).
    fn resolve(&self, name: &str) -> PyResult<(String, i64)> {
        let r = resolve_snapshot(&self.store, name).map_err(query_err)?;
        Ok((r.run, r.seq))
    }

    /// The run's catalog row as JSON (lineage included).
    fn run(&self, run_id: &str) -> PyResult<String> {
        let run = self.store.run(run_id).map_err(store_err)?;
        serde_json::to_string(&run).map_err(json_err)
    }

    /// Every snapshot's meta of a run, as a JSON list.
    fn snapshots(&self, run_id: &str) -> PyResult<String> {
        let metas = self.store.snapshots(run_id).map_err(store_err)?;
        serde_json::to_string(&metas).map_err(json_err)
    }

    /// One snapshot's meta as JSON.
    fn snapshot(&self, run_id: &str, seq: i64) -> PyResult<String> {
        let meta = self
            .store
            .snapshot(run_id, seq)
            .map_err(store_err)?
            .ok_or_else(|| {
                store_err(StoreError::UnknownSnapshot {
                    run: run_id.to_owned(),
                    seq: seq.to_string(),
                })
            })?;
        serde_json::to_string(&meta).map_err(json_err)
    }

    /// (path, node, hash) of every entry of a snapshot, sorted by path.
    fn entries(&self, run_id: &str, seq: i64) -> PyResult<Vec<(String, i64, String)>> {
        let rows = self.store.entries(run_id, seq).map_err(store_err)?;
        Ok(rows.into_iter().map(|e| (e.path, e.node, e.hash)).collect())
    }

    /// The object record with this hash, as JSON.
    fn object(&self, hash: &str) -> PyResult<String> {
        let record = self.store.object(hash).map_err(store_err)?;
        serde_json::to_string(&record).map_err(json_err)
    }

    /// The chunks of the chunk-list tree rooted at `root` (a large value's
    /// `extra.chunk_list`), in order.
    fn chunk_list(&self, root: &str) -> PyResult<Vec<String>> {
        snapline_store::chunk_list_chunks(&self.store, root).map_err(store_err)
    }

    /// The concatenated raw content of `hashes` (pickles, JSON, blobs).
    fn read_blob<'py>(
        &self,
        py: Python<'py>,
        hashes: Vec<String>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (pieces, total) = self.pieces(&hashes)?;
        let mut out: Vec<u8> = Vec::new();
        out.try_reserve_exact(total).map_err(|_| {
            DamagedError::new_err(format!("cannot allocate {total} bytes to read it"))
        })?;
        out.resize(total, 0);
        py.detach(|| fill(&pieces, &mut out)).map_err(store_err)?;
        Ok(PyBytes::new(py, &out))
    }

    /// Decompresses `hashes`, in order, into the `nbytes` of writable memory
    /// at `address` (an array's buffer, held by the caller), verifying each
    /// chunk; runs without the GIL on several threads.
    fn read_into(
        &self,
        py: Python<'_>,
        hashes: Vec<String>,
        address: usize,
        nbytes: usize,
    ) -> PyResult<()> {
        let (pieces, total) = self.pieces(&hashes)?;
        if total != nbytes {
            return Err(DamagedError::new_err(format!(
                "chunks hold {total} bytes where the object says {nbytes}"
            )));
        }
        if nbytes == 0 {
            return Ok(());
        }
        if address == 0 {
            return Err(ReadError::new_err("null buffer address"));
        }
        py.detach(|| {
            // SAFETY: the caller passes the address and size of a writable
            // buffer it keeps alive and does not touch during this call.
            let out = unsafe { std::slice::from_raw_parts_mut(address as *mut u8, nbytes) };
            fill(&pieces, out)
        })
        .map_err(store_err)
    }
}

/// Registers the reader and its exceptions on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Reader>()?;
    m.add("ReadError", m.py().get_type::<ReadError>())?;
    m.add("DamagedError", m.py().get_type::<DamagedError>())?;
    Ok(())
}
