//! Exporting a snapshot's arrays and tensors for people without Snapline:
//! a safetensors file or a numpy `.npz` archive, written by hand and
//! streamed chunk by chunk (memory stays bounded whatever the arrays' size).
//!
//! - safetensors: u64 LE header length, the JSON header
//!   `{name: {dtype, shape, data_offsets}, "__metadata__": {...}}` padded
//!   with spaces to 8 bytes, then the tensors' bytes (C order, little
//!   endian), larger elements first so that every tensor is aligned.
//! - npz: a zip (stored, no compression; zip64 when needed) of `NAME.npy`
//!   files (NEP-1 format 1.0; the zip by `zip_writer.rs`); F-order arrays keep their bytes with
//!   `fortran_order: True`. The zip comment holds the snapshot name and the
//!   key -> snapshot path mapping as JSON.

use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};
use snapline_array_scan::DType;
use snapline_store::{EntryRow, ObjectKind, ObjectRecord, Store};

use crate::error::{QueryError, QueryResult};
use crate::reference::SnapshotRef;
use crate::zip_writer::ZipWriter;

/// Memory used to bring an F-order array into C order for safetensors: an
/// array larger than this is reordered in several passes over its chunks.
const REORDER_WINDOW: usize = 128 << 20;

/// The file formats of `snapline export --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TensorFormat {
    Safetensors,
    Npz,
}

impl TensorFormat {
    /// `"safetensors"` or `"npz"`.
    pub fn from_name(s: &str) -> Option<TensorFormat> {
        match s {
            "safetensors" => Some(TensorFormat::Safetensors),
            "npz" => Some(TensorFormat::Npz),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TensorFormat::Safetensors => "safetensors",
            TensorFormat::Npz => "npz",
        }
    }
}

/// What an export wrote (the `snapline export --json` shape).
#[derive(Clone, Debug, Serialize)]
pub struct TensorExport {
    pub path: PathBuf,
    pub format: TensorFormat,
    /// Arrays and tensors written.
    pub arrays: usize,
    /// Size of the written file.
    pub bytes: u64,
    /// Arrays the format cannot hold, each with why.
    pub skipped: Vec<SkippedArray>,
}

/// An array left out of an export.
#[derive(Clone, Debug, Serialize)]
pub struct SkippedArray {
    pub path: String,
    pub reason: String,
}

/// Writes every array and tensor of a snapshot to `out` (atomically: a
/// temporary file in the same directory, renamed when complete).
pub fn export_tensors(
    store: &Store,
    snap: &SnapshotRef,
    format: TensorFormat,
    out: &Path,
) -> QueryResult<TensorExport> {
    export_with_window(store, snap, format, out, REORDER_WINDOW)
}

fn export_with_window(
    store: &Store,
    snap: &SnapshotRef,
    format: TensorFormat,
    out: &Path,
    window: usize,
) -> QueryResult<TensorExport> {
    let arrays = snapshot_arrays(store, snap)?;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io_err = |e: std::io::Error| QueryError::ExportWrite {
        path: out.to_path_buf(),
        detail: e.to_string(),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".snapline-export-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io_err)?;
    let ctx = Ctx {
        store,
        snap,
        out,
        window,
    };
    let (written, skipped) = {
        let mut file = BufWriter::with_capacity(1 << 20, tmp.as_file());
        let written = match format {
            TensorFormat::Safetensors => write_safetensors(&ctx, &arrays, &mut file)?,
            TensorFormat::Npz => write_npz(&ctx, &arrays, &mut file)?,
        };
        file.flush().map_err(io_err)?;
        written
    };
    tmp.as_file().sync_all().map_err(io_err)?;
    let bytes = tmp.as_file().metadata().map_err(io_err)?.len();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(io_err)?;
    }
    tmp.persist(out).map_err(|e| io_err(e.error))?;
    Ok(TensorExport {
        path: out.to_path_buf(),
        format,
        arrays: written,
        bytes,
        skipped,
    })
}

struct Ctx<'a> {
    store: &'a Store,
    snap: &'a SnapshotRef,
    out: &'a Path,
    window: usize,
}

impl Ctx<'_> {
    fn io(&self, e: std::io::Error) -> QueryError {
        QueryError::ExportWrite {
            path: self.out.to_path_buf(),
            detail: e.to_string(),
        }
    }

    fn bad_array(&self, path: &str, detail: String) -> QueryError {
        QueryError::BadArray {
            path: path.to_owned(),
            snapshot: self.snap.to_string(),
            detail,
        }
    }
}

/// One array of the snapshot, at its first path.
struct Item {
    path: String,
    record: ObjectRecord,
    shape: Vec<u64>,
    count: u64,
}

impl Item {
    /// Whether the stored bytes are in Fortran order (numpy F-contiguous,
    /// two or more dimensions).
    fn fortran(&self) -> bool {
        self.record.extra.get("order").and_then(Value::as_str) == Some("F") && self.shape.len() > 1
    }

    fn dtype_str(&self) -> Option<&str> {
        self.record.extra.get("dtype_str").and_then(Value::as_str)
    }

    fn big_endian(&self) -> bool {
        self.dtype_str().is_some_and(|s| s.starts_with('>'))
    }
}

/// The variable a path starts from (as `show` orders them).
fn root_of(path: &str) -> &str {
    let end = path
        .char_indices()
        .skip(1)
        .find(|&(_, c)| matches!(c, '[' | '.' | '{'))
        .map(|(i, _)| i)
        .unwrap_or(path.len());
    &path[..end]
}

/// Every array record of a snapshot once (at its first path in `show`
/// order: variables in capture order, then path), internal `$` paths left out.
fn snapshot_arrays(store: &Store, snap: &SnapshotRef) -> QueryResult<Vec<Item>> {
    let mut entries: Vec<EntryRow> = store
        .entries(&snap.run, snap.seq)?
        .into_iter()
        .filter(|e| !e.path.starts_with('$'))
        .collect();
    let node_of: HashMap<String, i64> = entries.iter().map(|e| (e.path.clone(), e.node)).collect();
    let root_node = |path: &str| node_of.get(root_of(path)).copied().unwrap_or(i64::MAX);
    entries.sort_by(|a, b| (root_node(&a.path), &a.path).cmp(&(root_node(&b.path), &b.path)));
    let mut seen_nodes = HashSet::new();
    let mut kinds: HashMap<String, bool> = HashMap::new();
    let mut out = Vec::new();
    for e in entries {
        if seen_nodes.contains(&e.node) || kinds.get(&e.hash) == Some(&false) {
            continue;
        }
        let record = store.object(&e.hash)?;
        let is_array = record.kind == ObjectKind::Array;
        kinds.insert(e.hash.clone(), is_array);
        if !is_array {
            continue;
        }
        seen_nodes.insert(e.node);
        let shape: Vec<u64> = record
            .shape
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|&d| u64::try_from(d).unwrap_or(0))
            .collect();
        let count = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .unwrap_or(u64::MAX);
        out.push(Item {
            path: e.path,
            record,
            shape,
            count,
        });
    }
    Ok(out)
}

/// Why an array's stored size cannot be its shape times `itemsize`.
fn size_mismatch(item: &Item, itemsize: u64) -> Option<String> {
    let expected = item.count.checked_mul(itemsize);
    if expected != Some(item.record.nbytes) {
        return Some(format!(
            "stored size {} bytes does not match shape {:?} of {itemsize}-byte elements",
            item.record.nbytes, item.shape
        ));
    }
    if item.record.nbytes > 0 && item.record.chunks.is_empty() {
        return Some("no data stored".into());
    }
    None
}

/// Streams an array's raw chunks (hash-checked) in order; the total must be
/// the record's `nbytes`.
fn for_each_chunk(
    ctx: &Ctx,
    item: &Item,
    mut f: impl FnMut(&[u8]) -> QueryResult<()>,
) -> QueryResult<()> {
    let mut total = 0u64;
    for hash in &item.record.chunks {
        let raw = ctx.store.read_chunk(hash)?;
        total += raw.len() as u64;
        if total > item.record.nbytes {
            break;
        }
        f(&raw)?;
    }
    if total != item.record.nbytes {
        return Err(ctx.bad_array(
            &item.path,
            format!(
                "its chunks hold {total} bytes, the record says {}",
                item.record.nbytes
            ),
        ));
    }
    Ok(())
}

/// Calls `f` with runs of whole `size`-byte elements, however the chunks
/// split them.
fn for_each_elements(
    ctx: &Ctx,
    item: &Item,
    size: usize,
    mut f: impl FnMut(&[u8]) -> QueryResult<()>,
) -> QueryResult<()> {
    let size = size.max(1);
    let mut pending: Vec<u8> = Vec::new();
    for_each_chunk(ctx, item, |raw| {
        if pending.is_empty() {
            let whole = raw.len() - raw.len() % size;
            f(&raw[..whole])?;
            pending.extend_from_slice(&raw[whole..]);
        } else {
            pending.extend_from_slice(raw);
            let whole = pending.len() - pending.len() % size;
            f(&pending[..whole])?;
            pending.drain(..whole);
        }
        Ok(())
    })
}

fn swap_elements(bytes: &mut [u8], size: usize) {
    if size > 1 {
        for e in bytes.chunks_exact_mut(size) {
            e.reverse();
        }
    }
}

// ---------------------------------------------------------------------------
// safetensors

/// The safetensors dtype of a record's dtype name.
fn safetensors_dtype(name: &str) -> Option<(&'static str, usize)> {
    if let Some(d) = DType::from_name(name) {
        let tag = match d {
            DType::Bool => "BOOL",
            DType::U8 => "U8",
            DType::I8 => "I8",
            DType::I16 => "I16",
            DType::U16 => "U16",
            DType::I32 => "I32",
            DType::U32 => "U32",
            DType::I64 => "I64",
            DType::U64 => "U64",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::F32 => "F32",
            DType::F64 => "F64",
        };
        return Some((tag, d.size()));
    }
    match name.strip_prefix("torch.").unwrap_or(name) {
        "float8_e4m3fn" => Some(("F8_E4M3", 1)),
        "float8_e5m2" => Some(("F8_E5M2", 1)),
        _ => None,
    }
}

struct Planned<'a> {
    item: &'a Item,
    tag: &'static str,
    size: usize,
}

fn write_safetensors(
    ctx: &Ctx,
    arrays: &[Item],
    file: &mut impl Write,
) -> QueryResult<(usize, Vec<SkippedArray>)> {
    let mut skipped = Vec::new();
    let mut planned = Vec::new();
    for item in arrays {
        let dtype = item.record.dtype.as_deref().unwrap_or("?");
        let Some((tag, size)) = safetensors_dtype(dtype) else {
            skipped.push(SkippedArray {
                path: item.path.clone(),
                reason: format!("safetensors has no dtype for {dtype}"),
            });
            continue;
        };
        if item.path == "__metadata__" {
            skipped.push(SkippedArray {
                path: item.path.clone(),
                reason: "the name __metadata__ is reserved by safetensors".into(),
            });
            continue;
        }
        if let Some(reason) = size_mismatch(item, size as u64) {
            skipped.push(SkippedArray {
                path: item.path.clone(),
                reason,
            });
            continue;
        }
        planned.push(Planned { item, tag, size });
    }
    // Larger elements first: every tensor starts aligned to its element size.
    planned.sort_by_key(|p| std::cmp::Reverse(p.size));
    let mut header = serde_json::Map::new();
    let mut offset = 0u64;
    for p in &planned {
        let end = offset + p.item.record.nbytes;
        header.insert(
            p.item.path.clone(),
            json!({"dtype": p.tag, "shape": p.item.shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    header.insert(
        "__metadata__".into(),
        json!({
            "snapline_snapshot": ctx.snap.to_string(),
            "snapline_run": ctx.snap.run,
            "snapline_seq": ctx.snap.seq.to_string(),
        }),
    );
    let mut text = serde_json::to_string(&Value::Object(header))
        .map_err(|e| ctx.io(std::io::Error::other(e)))?;
    while text.len() % 8 != 0 {
        text.push(' ');
    }
    file.write_all(&(text.len() as u64).to_le_bytes())
        .map_err(|e| ctx.io(e))?;
    file.write_all(text.as_bytes()).map_err(|e| ctx.io(e))?;
    for p in &planned {
        let swap = p.item.big_endian();
        if p.item.fortran() {
            write_fortran_as_c(ctx, p.item, p.size, swap, file)?;
        } else {
            let mut buf = Vec::new();
            for_each_elements(ctx, p.item, p.size, |bytes| {
                if swap {
                    buf.clear();
                    buf.extend_from_slice(bytes);
                    swap_elements(&mut buf, p.size);
                    file.write_all(&buf).map_err(|e| ctx.io(e))
                } else {
                    file.write_all(bytes).map_err(|e| ctx.io(e))
                }
            })?;
        }
    }
    Ok((planned.len(), skipped))
}

/// Writes an array stored in Fortran order in C order.
fn write_fortran_as_c(
    ctx: &Ctx,
    item: &Item,
    size: usize,
    swap: bool,
    file: &mut impl Write,
) -> QueryResult<()> {
    fortran_to_c_windows(
        &item.shape,
        size,
        ctx.window,
        &mut |f| for_each_elements(ctx, item, size, f),
        &mut |buf| {
            if swap {
                swap_elements(buf, size);
            }
            file.write_all(buf).map_err(|e| ctx.io(e))
        },
    )
}

/// A source of whole elements: calls its argument with runs of them, in
/// storage order, once per call.
type Elements<'s> = dyn FnMut(&mut dyn FnMut(&[u8]) -> QueryResult<()>) -> QueryResult<()> + 's;

/// Brings F-order elements into C order window by window of the output
/// (`window` bytes at most), each window filled by one pass over `elements`;
/// `emit` receives the windows in order.
fn fortran_to_c_windows(
    shape: &[u64],
    size: usize,
    window: usize,
    elements: &mut Elements,
    emit: &mut dyn FnMut(&mut [u8]) -> QueryResult<()>,
) -> QueryResult<()> {
    let ndim = shape.len();
    let count: u64 = shape.iter().product();
    // C-order strides in elements.
    let mut c_stride = vec![1u64; ndim];
    for k in (0..ndim.saturating_sub(1)).rev() {
        c_stride[k] = c_stride[k + 1] * shape[k + 1];
    }
    let per_window = (window / size.max(1)).max(1) as u64;
    let mut start = 0u64;
    while start < count {
        let end = count.min(start + per_window);
        let mut buf = vec![0u8; usize::try_from((end - start) * size as u64).unwrap_or(0)];
        let mut index = vec![0u64; ndim];
        let mut c = 0u64;
        elements(&mut |bytes: &[u8]| {
            for e in bytes.chunks_exact(size) {
                if c >= start && c < end {
                    let at = usize::try_from(c - start).unwrap_or(0) * size;
                    if let Some(slot) = buf.get_mut(at..at + size) {
                        slot.copy_from_slice(e);
                    }
                }
                // The next element in F order: the first axis moves fastest.
                for k in 0..ndim {
                    index[k] += 1;
                    c += c_stride[k];
                    if index[k] < shape[k] {
                        break;
                    }
                    c -= c_stride[k] * shape[k];
                    index[k] = 0;
                }
            }
            Ok(())
        })?;
        emit(&mut buf)?;
        start = end;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// npz

/// The numpy dtype descr of an array (`<f4`), or why there is none.
fn npy_descr(item: &Item) -> Result<String, String> {
    let name = item.record.dtype.as_deref().unwrap_or("?");
    if let Some(s) = item.dtype_str() {
        let valid = s.len() >= 2
            && matches!(s.as_bytes()[0], b'<' | b'>' | b'|' | b'=')
            && s.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'<' | b'>' | b'|' | b'=' | b'[' | b']')
            });
        if !valid {
            return Err(format!("unusable numpy dtype '{s}'"));
        }
        if s.as_bytes()[1] == b'V' {
            return Err(format!(
                "{name}: structured and void dtypes are stored without their fields"
            ));
        }
        return Ok(s.to_owned());
    }
    let bare = name.strip_prefix("torch.").unwrap_or(name);
    if let Some(d) = DType::from_name(bare) {
        return Ok(match d {
            DType::Bool => "|b1",
            DType::I8 => "|i1",
            DType::U8 => "|u1",
            DType::I16 => "<i2",
            DType::U16 => "<u2",
            DType::I32 => "<i4",
            DType::U32 => "<u4",
            DType::I64 => "<i8",
            DType::U64 => "<u8",
            DType::F16 => "<f2",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::BF16 => return Err("bfloat16 has no numpy dtype".into()),
        }
        .to_owned());
    }
    match bare {
        "complex64" | "cfloat" => Ok("<c8".into()),
        "complex128" | "cdouble" => Ok("<c16".into()),
        _ => Err(format!("{name} has no numpy dtype")),
    }
}

/// Bytes of one element of a numpy descr (`<U5` is 20).
fn descr_itemsize(descr: &str) -> Option<u64> {
    let kind = descr.as_bytes().get(1).copied()?;
    let digits: String = descr[2..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let n: u64 = digits.parse().ok()?;
    Some(if kind == b'U' { n * 4 } else { n })
}

/// The NEP-1 header of a `.npy` file (version 1.0, or 2.0 past 64 KiB).
fn npy_header(descr: &str, fortran: bool, shape: &[u64]) -> Vec<u8> {
    let dims = match shape {
        [] => "()".to_owned(),
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let fortran = if fortran { "True" } else { "False" };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {dims}, }}");
    let v1 = dict.len() + 64 <= 0xFFFF;
    let prefix = if v1 { 10 } else { 12 };
    while (prefix + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    if v1 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out
}

/// A file-name-safe npz key for a snapshot path: `"` becomes `'`
/// (`params['W1']`), characters unsafe in file names become `_`.
fn npz_key(path: &str) -> String {
    let mut key: String = path
        .chars()
        .map(|c| match c {
            '"' => '\'',
            '/' | '\\' | ':' | '*' | '?' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if key.len() > 200 {
        let mut cut = 200;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        key.truncate(cut);
    }
    if key.is_empty() || key.starts_with('.') {
        key.insert(0, '_');
    }
    key
}

/// Unique keys for the paths, in order: a key taken already gets `~2`, `~3`...
fn unique_keys<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut taken = HashSet::new();
    let mut out = Vec::new();
    for path in paths {
        let base = npz_key(path);
        let mut key = base.clone();
        let mut n = 2;
        while !taken.insert(key.clone()) {
            key = format!("{base}~{n}");
            n += 1;
        }
        out.push(key);
    }
    out
}

/// A seekable writer that counts what it wrote (the zip needs offsets).
/// Writes the arrays as one `.npz` (a stored zip of `.npy` files, what
/// `np.load` reads): plan, then one entry per array, then the comment that
/// maps each key back to its path.
fn write_npz<W: Write + Seek>(
    ctx: &Ctx,
    arrays: &[Item],
    file: &mut W,
) -> QueryResult<(usize, Vec<SkippedArray>)> {
    let (planned, skipped) = plan_npy(arrays);
    let keys = unique_keys(planned.iter().map(|(item, _)| item.path.as_str()));
    let mut zip = ZipWriter::new(file);
    for ((item, descr), key) in planned.iter().zip(&keys) {
        write_npy_entry(ctx, &mut zip, item, descr, &format!("{key}.npy"))?;
    }
    zip.finish(&npz_comment(ctx, &planned, &keys))
        .map_err(|e| ctx.io(e))?;
    Ok((planned.len(), skipped))
}

/// The arrays `.npy` can hold, each with its numpy dtype descr, and the
/// others with the reason they are skipped.
fn plan_npy(arrays: &[Item]) -> (Vec<(&Item, String)>, Vec<SkippedArray>) {
    let mut skipped = Vec::new();
    let mut planned = Vec::new();
    for item in arrays {
        let checked = npy_descr(item).and_then(|descr| {
            let itemsize =
                descr_itemsize(&descr).ok_or_else(|| format!("unusable numpy dtype '{descr}'"))?;
            match size_mismatch(item, itemsize) {
                Some(reason) => Err(reason),
                None => Ok(descr),
            }
        });
        match checked {
            Ok(descr) => planned.push((item, descr)),
            Err(reason) => skipped.push(SkippedArray {
                path: item.path.clone(),
                reason,
            }),
        }
    }
    (planned, skipped)
}

/// One array as zip entry `name`: the `.npy` header, then its chunks.
fn write_npy_entry<W: Write + Seek>(
    ctx: &Ctx,
    zip: &mut ZipWriter<'_, W>,
    item: &Item,
    descr: &str,
    name: &str,
) -> QueryResult<()> {
    let header = npy_header(descr, item.fortran(), &item.shape);
    let size = header.len() as u64 + item.record.nbytes;
    zip.start_entry(name, size).map_err(|e| ctx.io(e))?;
    zip.write(&header).map_err(|e| ctx.io(e))?;
    for_each_chunk(ctx, item, |raw| zip.write(raw).map_err(|e| ctx.io(e)))?;
    zip.finish_entry().map_err(|e| ctx.io(e))
}

/// The archive comment: the snapshot and where each key came from (just
/// the snapshot when the mapping would not fit a zip comment).
fn npz_comment(ctx: &Ctx, planned: &[(&Item, String)], keys: &[String]) -> String {
    let mapping: serde_json::Map<String, Value> = planned
        .iter()
        .zip(keys)
        .map(|((item, _), key)| (key.clone(), Value::from(item.path.clone())))
        .collect();
    let comment = json!({"snapline_snapshot": ctx.snap.to_string(), "paths": mapping}).to_string();
    if comment.len() > 0xFFFF {
        return json!({"snapline_snapshot": ctx.snap.to_string()}).to_string();
    }
    comment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_padded_to_64() {
        let h = npy_header("<f4", false, &[2, 3]);
        assert_eq!(h.len() % 64, 0);
        assert!(h.starts_with(b"\x93NUMPY\x01\x00"));
        let text = String::from_utf8_lossy(&h[10..]).to_string();
        assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(text.ends_with('\n'));
        let h = npy_header("|b1", true, &[]);
        assert!(String::from_utf8_lossy(&h).contains("'shape': ()"));
        let h = npy_header("<i8", false, &[7]);
        assert!(String::from_utf8_lossy(&h).contains("'shape': (7,)"));
    }

    #[test]
    fn keys_are_file_names_and_unique() {
        assert_eq!(npz_key("params[\"W1\"]"), "params['W1']");
        assert_eq!(npz_key("train:model.fc1.weight"), "train_model.fc1.weight");
        assert_eq!(npz_key("a/b"), "a_b");
        let keys = unique_keys(["a/b", "a:b", "a_b"].into_iter());
        assert_eq!(keys, vec!["a_b", "a_b~2", "a_b~3"]);
    }

    #[test]
    fn itemsizes() {
        assert_eq!(descr_itemsize("<f4"), Some(4));
        assert_eq!(descr_itemsize("<U5"), Some(20));
        assert_eq!(descr_itemsize("<M8[ns]"), Some(8));
        assert_eq!(descr_itemsize("|S3"), Some(3));
    }

    /// Column-major bytes of a `shape` array whose C-order value k is k.
    fn fortran_bytes(shape: &[u64]) -> Vec<u8> {
        let count: u64 = shape.iter().product();
        let mut out = Vec::new();
        for f in 0..count {
            // The multi-index of F position f, then its C position.
            let mut rest = f;
            let mut c = 0u64;
            for (k, &d) in shape.iter().enumerate() {
                let i = rest % d;
                rest /= d;
                c += i * shape[k + 1..].iter().product::<u64>();
            }
            out.extend_from_slice(&(c as u32).to_le_bytes());
        }
        out
    }

    #[test]
    fn fortran_order_comes_out_in_c_order_in_any_window() {
        for shape in [vec![2u64, 3], vec![3, 1, 4], vec![4, 5, 6, 2], vec![7, 0]] {
            let stored = fortran_bytes(&shape);
            let count: u64 = shape.iter().product();
            let want: Vec<u8> = (0..count as u32).flat_map(|k| k.to_le_bytes()).collect();
            for window in [4, 8, 12, 100, 1 << 20] {
                let mut got = Vec::new();
                // Chunks that split elements.
                let mut source = |f: &mut dyn FnMut(&[u8]) -> QueryResult<()>| {
                    for part in stored.chunks(12) {
                        f(part)?;
                    }
                    Ok(())
                };
                fortran_to_c_windows(&shape, 4, window, &mut source, &mut |buf| {
                    got.extend_from_slice(buf);
                    Ok(())
                })
                .unwrap();
                assert_eq!(got, want, "shape {shape:?} window {window}");
            }
        }
    }

    #[test]
    fn dtypes_map_to_safetensors() {
        assert_eq!(safetensors_dtype("float32"), Some(("F32", 4)));
        assert_eq!(safetensors_dtype("torch.bfloat16"), Some(("BF16", 2)));
        assert_eq!(safetensors_dtype("long"), Some(("I64", 8)));
        assert_eq!(safetensors_dtype("complex64"), None);
        assert_eq!(safetensors_dtype("datetime64[ns]"), None);
    }
}
