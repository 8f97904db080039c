//! `export_tensors`: safetensors and npz files read back by hand.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use snapline_bench::{noise, stage_chunks, Object, SyntheticRun};
use snapline_query::{export_tensors, QueryError, SnapshotRef, TensorFormat};
use snapline_store::{
    chunk_hash, EntryRow, NewChunk, ObjectKind, ObjectRecord, SnapshotCommit, SnapshotMeta, Trigger,
};

/// An array record with its raw bytes, for snapshots `SyntheticRun` cannot write.
struct Raw {
    path: &'static str,
    node: i64,
    dtype: &'static str,
    shape: Vec<i64>,
    bytes: Vec<u8>,
    extra: serde_json::Value,
}

/// Commits a snapshot of arbitrary array records (seq `seq`).
fn commit_raw(run: &mut SyntheticRun, seq: i64, arrays: &[Raw]) {
    let mut chunks: Vec<NewChunk> = Vec::new();
    let mut objects = Vec::new();
    let mut entries = Vec::new();
    let mut dirs = BTreeSet::new();
    for a in arrays {
        let hashes = stage_chunks(&run.store, &a.bytes, &mut chunks, &mut dirs).unwrap();
        let record = ObjectRecord {
            kind: ObjectKind::Array,
            type_name: "numpy.ndarray".into(),
            shape: Some(a.shape.clone()),
            dtype: Some(a.dtype.into()),
            stats: None,
            preview: String::new(),
            restorable: true,
            reason: None,
            value: None,
            chunks: hashes,
            nbytes: a.bytes.len() as u64,
            children: Vec::new(),
            extra: a.extra.as_object().unwrap().clone(),
        };
        let hash = chunk_hash(serde_json::to_string(&record).unwrap().as_bytes());
        entries.push(EntryRow {
            path: a.path.into(),
            node: a.node,
            hash: hash.clone(),
        });
        if !objects.iter().any(|(h, _)| *h == hash) {
            objects.push((hash, record));
        }
    }
    run.store.sync_chunk_dirs(&dirs).unwrap();
    let commit = SnapshotCommit {
        run_id: run.run.clone(),
        meta: SnapshotMeta {
            seq,
            trigger: Trigger::Iteration,
            file: Some("train.py".into()),
            line: Some(1),
            loops: vec![],
            label: None,
            time: 1_700_000_000.0 + seq as f64,
            capture_ms: 1.0,
            bytes_new: 0,
            bytes_reused: 0,
            objects: objects.len() as i64,
            nonfinite: 0,
            position: None,
        },
        chunks,
        objects,
        entries,
        metrics: Vec::new(),
    };
    run.store.commit_snapshot(&commit).unwrap();
}

/// A parsed safetensors file: header JSON and the data bytes.
fn read_safetensors(path: &Path) -> (serde_json::Map<String, serde_json::Value>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "header padded to 8");
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header.as_object().unwrap().clone(), bytes[8 + n..].to_vec())
}

fn tensor<'a>(
    header: &serde_json::Map<String, serde_json::Value>,
    data: &'a [u8],
    name: &str,
) -> (String, Vec<u64>, &'a [u8]) {
    let t = header
        .get(name)
        .unwrap_or_else(|| panic!("{name} not in {header:?}"));
    let offsets: Vec<usize> = t["data_offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let shape = t["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    (
        t["dtype"].as_str().unwrap().to_owned(),
        shape,
        &data[offsets[0]..offsets[1]],
    )
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Checks that the data of a safetensors file is fully and exactly covered.
fn check_layout(header: &serde_json::Map<String, serde_json::Value>, data_len: usize) {
    let mut spans: Vec<(u64, u64)> = header
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(_, t)| {
            let o = t["data_offsets"].as_array().unwrap();
            (o[0].as_u64().unwrap(), o[1].as_u64().unwrap())
        })
        .collect();
    spans.sort();
    let mut at = 0;
    for (a, b) in spans {
        assert_eq!(a, at, "no holes");
        at = b;
    }
    assert_eq!(at as usize, data_len);
}

/// A minimal zip reader (central directory, stored entries only).
fn read_zip(path: &Path) -> (HashMap<String, Vec<u8>>, String) {
    let b = std::fs::read(path).unwrap();
    let eocd = (0..b.len() - 21)
        .rev()
        .find(|&i| b[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .unwrap();
    let u16_at = |i: usize| u16::from_le_bytes(b[i..i + 2].try_into().unwrap()) as usize;
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as usize;
    let count = u16_at(eocd + 10);
    let mut at = u32_at(eocd + 16);
    let comment_len = u16_at(eocd + 20);
    let comment = String::from_utf8(b[eocd + 22..eocd + 22 + comment_len].to_vec()).unwrap();
    let mut files = HashMap::new();
    for _ in 0..count {
        assert_eq!(u32_at(at), 0x0201_4b50);
        assert_eq!(u16_at(at + 10), 0, "stored");
        let crc = u32_at(at + 16) as u32;
        let size = u32_at(at + 24);
        let name_len = u16_at(at + 28);
        let extra_len = u16_at(at + 30);
        let offset = u32_at(at + 42);
        let name = String::from_utf8(b[at + 46..at + 46 + name_len].to_vec()).unwrap();
        assert_eq!(u32_at(offset), 0x0403_4b50);
        assert_eq!(u32_at(offset + 14) as u32, crc);
        let data_at = offset + 30 + u16_at(offset + 26) + u16_at(offset + 28);
        let data = b[data_at..data_at + size].to_vec();
        assert_eq!(crc32fast::hash(&data), crc, "crc of {name}");
        files.insert(name, data);
        at += 46 + name_len + extra_len;
    }
    (files, comment)
}

/// (header dict text, data) of a .npy file.
fn read_npy(bytes: &[u8]) -> (String, &[u8]) {
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let n = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + n) % 64, 0);
    (
        String::from_utf8(bytes[10..10 + n].to_vec()).unwrap(),
        &bytes[10 + n..],
    )
}

#[test]
fn synthetic_run_exports_to_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(&dir.path().join("store"), "train.py").unwrap();
    let big = noise(300_000, 3); // 1.2 MB: two chunks
    let small = noise(6, 4);
    let w = Object::F32 {
        shape: vec![600, 500],
        data: big.clone(),
    };
    let b = Object::F32 {
        shape: vec![2, 3],
        data: small.clone(),
    };
    let seq = run
        .snapshot(
            &[
                ("w", &w),
                ("params[\"b\"]", &b),
                ("lr", &Object::Scalar(0.1)),
            ],
            &[],
        )
        .unwrap();
    let snap = SnapshotRef {
        run: run.run.clone(),
        seq,
    };

    let out = dir.path().join("w.safetensors");
    let done = export_tensors(&run.store, &snap, TensorFormat::Safetensors, &out).unwrap();
    assert_eq!(done.arrays, 2);
    assert!(done.skipped.is_empty());
    assert_eq!(done.bytes, std::fs::metadata(&out).unwrap().len());
    let (header, data) = read_safetensors(&out);
    check_layout(&header, data.len());
    assert_eq!(
        header["__metadata__"]["snapline_snapshot"],
        format!("{}@{seq}", run.run)
    );
    let (dtype, shape, bytes) = tensor(&header, &data, "w");
    assert_eq!((dtype.as_str(), shape), ("F32", vec![600, 500]));
    assert_eq!(bytes, f32_bytes(&big));
    let (_, shape, bytes) = tensor(&header, &data, "params[\"b\"]");
    assert_eq!(shape, vec![2, 3]);
    assert_eq!(bytes, f32_bytes(&small));
    let json = serde_json::to_value(&done).unwrap();
    assert_eq!(json["format"], "safetensors");

    let out = dir.path().join("w.npz");
    let done = export_tensors(&run.store, &snap, TensorFormat::Npz, &out).unwrap();
    assert_eq!(done.arrays, 2);
    let (files, comment) = read_zip(&out);
    let mut names: Vec<_> = files.keys().cloned().collect();
    names.sort();
    assert_eq!(names, vec!["params['b'].npy", "w.npy"]);
    let (head, bytes) = read_npy(&files["w.npy"]);
    assert!(
        head.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (600, 500), }"),
        "{head}"
    );
    assert_eq!(bytes, f32_bytes(&big));
    let comment: serde_json::Value = serde_json::from_str(&comment).unwrap();
    assert_eq!(comment["paths"]["params['b']"], "params[\"b\"]");
    // No temporary files are left beside the exports.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("snapline-export"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn dtypes_orders_aliases_and_skips() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(&dir.path().join("store"), "train.py").unwrap();
    // A 3 x 400_000 float32 F-order array: 4.8 MB over five chunks, C value = i * 1e6 + j.
    let (rows, cols) = (3usize, 400_000usize);
    let c_values: Vec<f32> = (0..rows * cols)
        .map(|k| ((k / cols) * 1_000_000 + k % cols) as f32)
        .collect();
    let mut f_bytes = Vec::new();
    for j in 0..cols {
        for i in 0..rows {
            f_bytes.extend_from_slice(&c_values[i * cols + j].to_le_bytes());
        }
    }
    let be: Vec<u8> = [1.5f64, -2.0]
        .iter()
        .flat_map(|x| x.to_be_bytes())
        .collect();
    let ints: Vec<u8> = [1i64, -2, 3].iter().flat_map(|x| x.to_le_bytes()).collect();
    commit_raw(
        &mut run,
        1,
        &[
            Raw {
                path: "fortran",
                node: 0,
                dtype: "float32",
                shape: vec![rows as i64, cols as i64],
                bytes: f_bytes.clone(),
                extra: serde_json::json!({"framework": "numpy", "order": "F", "dtype_str": "<f4"}),
            },
            Raw {
                path: "big_endian",
                node: 1,
                dtype: "float64",
                shape: vec![2],
                bytes: be.clone(),
                extra: serde_json::json!({"framework": "numpy", "order": "C", "dtype_str": ">f8"}),
            },
            Raw {
                path: "ints",
                node: 2,
                dtype: "int64",
                shape: vec![3],
                bytes: ints.clone(),
                extra: serde_json::json!({"framework": "numpy", "order": "C", "dtype_str": "<i8"}),
            },
            // The same object again under another name: exported once.
            Raw {
                path: "ints_again",
                node: 2,
                dtype: "int64",
                shape: vec![3],
                bytes: ints.clone(),
                extra: serde_json::json!({"framework": "numpy", "order": "C", "dtype_str": "<i8"}),
            },
            Raw {
                path: "scalar",
                node: 3,
                dtype: "bool",
                shape: vec![],
                bytes: vec![1],
                extra: serde_json::json!({"framework": "numpy", "order": "C", "dtype_str": "|b1"}),
            },
            Raw {
                path: "z",
                node: 4,
                dtype: "complex64",
                shape: vec![1],
                bytes: vec![0; 8],
                extra: serde_json::json!({"framework": "numpy", "order": "C", "dtype_str": "<c8"}),
            },
            Raw {
                path: "model.w",
                node: 5,
                dtype: "bfloat16",
                shape: vec![2],
                bytes: vec![0x80, 0x3f, 0, 0x40],
                extra: serde_json::json!({"framework": "torch"}),
            },
            Raw {
                path: "$rng.numpy",
                node: 6,
                dtype: "uint32",
                shape: vec![1],
                bytes: vec![0; 4],
                extra: serde_json::json!({"framework": "numpy", "order": "C", "dtype_str": "<u4"}),
            },
        ],
    );
    let snap = SnapshotRef {
        run: run.run.clone(),
        seq: 1,
    };

    let out = dir.path().join("x.safetensors");
    let done = export_tensors(&run.store, &snap, TensorFormat::Safetensors, &out).unwrap();
    assert_eq!(done.arrays, 5, "{done:?}");
    assert_eq!(done.skipped.len(), 1);
    assert_eq!(done.skipped[0].path, "z");
    assert!(
        done.skipped[0].reason.contains("complex64"),
        "{:?}",
        done.skipped
    );
    let (header, data) = read_safetensors(&out);
    check_layout(&header, data.len());
    assert!(!header.contains_key("ints_again"));
    assert!(!header.contains_key("$rng.numpy"));
    let (dtype, shape, bytes) = tensor(&header, &data, "fortran");
    assert_eq!((dtype.as_str(), shape), ("F32", vec![3, 400_000]));
    assert!(
        bytes == f32_bytes(&c_values),
        "F order is written in C order"
    );
    let (dtype, _, bytes) = tensor(&header, &data, "big_endian");
    assert_eq!(dtype, "F64");
    let le: Vec<u8> = [1.5f64, -2.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    assert_eq!(
        bytes, le,
        "big-endian numpy arrays are swapped to little endian"
    );
    let (dtype, shape, bytes) = tensor(&header, &data, "scalar");
    assert_eq!((dtype.as_str(), shape, bytes), ("BOOL", vec![], &[1u8][..]));
    let (dtype, _, bytes) = tensor(&header, &data, "model.w");
    assert_eq!(
        (dtype.as_str(), bytes),
        ("BF16", &[0x80, 0x3f, 0, 0x40][..])
    );
    // Every tensor is aligned to its element size.
    for (name, t) in &header {
        if name != "__metadata__" {
            let size = match t["dtype"].as_str().unwrap() {
                "F64" | "I64" => 8,
                "F32" => 4,
                "BF16" => 2,
                _ => 1,
            };
            assert_eq!(t["data_offsets"][0].as_u64().unwrap() % size, 0, "{name}");
        }
    }

    let out = dir.path().join("x.npz");
    let done = export_tensors(&run.store, &snap, TensorFormat::Npz, &out).unwrap();
    assert_eq!(done.arrays, 5, "{done:?}");
    let skipped: Vec<_> = done.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, vec!["model.w"], "bfloat16 has no numpy dtype");
    let (files, _) = read_zip(&out);
    let (head, bytes) = read_npy(&files["fortran.npy"]);
    assert!(
        head.contains("'fortran_order': True, 'shape': (3, 400000)"),
        "{head}"
    );
    assert!(bytes == f_bytes, "F order kept as stored");
    let (head, bytes) = read_npy(&files["big_endian.npy"]);
    assert!(head.contains("'descr': '>f8'"), "{head}");
    assert_eq!(bytes, be);
    let (head, _) = read_npy(&files["z.npy"]);
    assert!(head.contains("'descr': '<c8'"), "{head}");
    let (head, bytes) = read_npy(&files["scalar.npy"]);
    assert!(head.contains("'shape': ()"), "{head}");
    assert_eq!(bytes, [1]);
    assert!(!files.contains_key("ints_again.npy"));
}

#[test]
fn unwritable_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = SyntheticRun::create(&dir.path().join("store"), "train.py").unwrap();
    let seq = run
        .snapshot(
            &[(
                "w",
                &Object::F32 {
                    shape: vec![2],
                    data: vec![1.0, 2.0],
                },
            )],
            &[],
        )
        .unwrap();
    let snap = SnapshotRef {
        run: run.run.clone(),
        seq,
    };
    let out = dir.path().join("missing").join("w.safetensors");
    let err = export_tensors(&run.store, &snap, TensorFormat::Safetensors, &out).unwrap_err();
    assert!(matches!(err, QueryError::ExportWrite { .. }), "{err:?}");
    assert!(err.to_string().contains("missing/w.safetensors"), "{err}");
    assert_eq!(TensorFormat::from_name("npz"), Some(TensorFormat::Npz));
    assert_eq!(TensorFormat::from_name("pt"), None);
}
