"""`snapline export --format safetensors|npz`: a snapshot's arrays and tensors
read back with numpy (and the `safetensors` package when installed), element
for element equal to the originals the script saved with np.save."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from conftest import BIN, run

NUMPY_SCRIPT = """
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(11)
f32 = rng.standard_normal((40, 30)).astype(np.float32)
f64 = rng.standard_normal(1_000) * 1e3
i64 = rng.integers(-2**62, 2**62, 500, dtype=np.int64)
flags = rng.random(77) > 0.5
fortran = np.asfortranarray(rng.standard_normal((60, 70)))
zero_d = np.array(3.25, dtype=np.float32)
big = rng.standard_normal(3 * 2**20 // 4 + 123).astype(np.float32)  # 3 MiB: 4 chunks
cplx = np.arange(4) * (1 + 2j)  # npz only: safetensors has no complex dtype
params = {"W1": rng.standard_normal((5, 4)).astype(np.float32)}
same_f32 = f32  # the same array again: exported once, under its first path in `show`
for name in ("f32", "f64", "i64", "flags", "fortran", "zero_d", "big", "cplx"):
    np.save(f"{out}/{name}.npy", globals()[name])
np.save(f"{out}/W1.npy", params["W1"])
del rng  # its state array would be exported too (as `rng.<0>`)
print("saved")
"""

# path in the snapshot -> file the script saved
NUMPY_ARRAYS = {
    "f32": "f32", "f64": "f64", "i64": "i64", "flags": "flags", "fortran": "fortran",
    "zero_d": "zero_d", "big": "big", "cplx": "cplx", 'params["W1"]': "W1",
}

TORCH_SCRIPT = """
import sys

import numpy as np
import torch

out = sys.argv[1]
torch.manual_seed(2)
model = torch.nn.Linear(6, 3)
t32 = torch.randn(4, 5)
t64 = torch.randint(-1000, 1000, (7,), dtype=torch.int64)
half = torch.randn(9).to(torch.float16)
bf = torch.randn(11).to(torch.bfloat16)
strided = torch.randn(8, 6).t()  # not contiguous: stored in C order
for name in ("t32", "t64", "half", "strided"):
    np.save(f"{out}/{name}.npy", globals()[name].numpy())
np.save(f"{out}/bf.npy", bf.float().numpy())
np.save(f"{out}/weight.npy", model.weight.detach().numpy())
np.save(f"{out}/bias.npy", model.bias.detach().numpy())
print("saved")
"""

TORCH_ARRAYS = {
    "t32": "t32", "t64": "t64", "half": "half", "strided": "strided",
    "model.weight": "weight", "model.bias": "bias",
}

ST_DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "U16": "<u2", "I32": "<i4",
             "U32": "<u4", "I64": "<i8", "U64": "<u8", "F16": "<f2", "F32": "<f4",
             "F64": "<f8"}


def export_format_available() -> bool:
    done = run([BIN, "export", "--help"], timeout=60)
    return done.returncode == 0 and "--format" in done.stdout


@pytest.fixture
def need_export(sl):
    if not export_format_available():
        pytest.skip("`snapline export --format` is not in this build of the CLI yet "
                    "(the library's export is tested in crates/query/tests/tensors.rs)")


def read_safetensors(np, path: Path) -> tuple:
    """(tensors by name as numpy arrays, metadata): with the `safetensors`
    package when installed, else by parsing header and bytes here."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        data = raw[8 + n + begin:8 + n + end]
        if t["dtype"] == "BF16":
            words = np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16
            a = words.view(np.float32)
        else:
            a = np.frombuffer(data, dtype=ST_DTYPES[t["dtype"]])
        tensors[name] = a.reshape(t["shape"])
    if any(t["dtype"] == "BF16" for t in header.values()):
        # numpy has no bfloat16: the safetensors package reads it through torch.
        try:
            import torch
            from safetensors.torch import load_file as load_torch
        except ImportError:
            return tensors, meta
        loaded = {name: (t.float() if t.dtype == torch.bfloat16 else t).numpy()
                  for name, t in load_torch(str(path)).items()}
    else:
        try:
            from safetensors.numpy import load_file
        except ImportError:
            return tensors, meta
        loaded = load_file(str(path))
    for name, a in loaded.items():
        assert np.array_equal(a, tensors[name]), name
    return tensors, meta


def export(sl, fmt: str, out: Path) -> dict:
    report = sl.cli("export", "last@last", "--format", fmt, "-o", out)
    assert Path(report["path"]).resolve() == out.resolve()
    assert report["format"] == fmt
    assert report["bytes"] == out.stat().st_size
    return report


def test_numpy_arrays_export_exactly(sl, tmp_path, need_export):
    np = pytest.importorskip("numpy")
    saved = tmp_path / "saved"
    saved.mkdir()
    done = sl.capture(NUMPY_SCRIPT, saved)
    assert done.returncode == 0, done.stderr
    run_id = sl.last_run()["id"]

    st_path = tmp_path / "w.safetensors"
    report = export(sl, "safetensors", st_path)
    assert [s["path"] for s in report["skipped"]] == ["cplx"], report
    tensors, meta = read_safetensors(np, st_path)
    assert meta["snapline_snapshot"].startswith(run_id)
    assert "same_f32" not in tensors, "an alias is exported once"
    assert report["arrays"] == len(tensors) == len(NUMPY_ARRAYS) - 1
    for path, name in NUMPY_ARRAYS.items():
        if name == "cplx":
            continue
        want = np.load(saved / f"{name}.npy")
        got = tensors[path]
        assert got.shape == want.shape, path
        assert got.dtype == want.dtype, path
        assert np.array_equal(got, want), path

    npz_path = tmp_path / "w.npz"
    report = export(sl, "npz", npz_path)
    assert report["skipped"] == [], report
    assert report["arrays"] == len(NUMPY_ARRAYS)
    with zipfile.ZipFile(npz_path) as z:
        assert z.testzip() is None
        mapping = json.loads(z.comment)["paths"]
    with np.load(npz_path) as npz:
        keys = set(npz.files)
        assert keys == set(mapping)
        by_path = {mapping[k]: npz[k] for k in keys}
    assert set(by_path) == set(NUMPY_ARRAYS)
    assert "params['W1']" in keys
    for path, name in NUMPY_ARRAYS.items():
        want = np.load(saved / f"{name}.npy")
        got = by_path[path]
        assert got.shape == want.shape, path
        assert got.dtype == want.dtype, path
        assert np.array_equal(got, want), path
    # F-order arrays keep their memory order in npz (no copy at export).
    assert by_path["fortran"].flags.f_contiguous


def test_torch_tensors_export_exactly(sl, tmp_path, need_torch, need_export):
    np = pytest.importorskip("numpy")
    saved = tmp_path / "saved"
    saved.mkdir()
    done = sl.capture(TORCH_SCRIPT, saved)
    assert done.returncode == 0, done.stderr

    st_path = tmp_path / "t.safetensors"
    report = export(sl, "safetensors", st_path)
    tensors, _ = read_safetensors(np, st_path)
    for path, name in TORCH_ARRAYS.items():
        want = np.load(saved / f"{name}.npy")
        assert tensors[path].dtype == want.dtype, path
        assert np.array_equal(tensors[path], want), path
    # bfloat16 is exact in float32.
    assert np.array_equal(tensors["bf"], np.load(saved / "bf.npy"))
    assert report["skipped"] == [], report

    npz_path = tmp_path / "t.npz"
    report = export(sl, "npz", npz_path)
    assert [s["path"] for s in report["skipped"]] == ["bf"], report
    assert "bfloat16" in report["skipped"][0]["reason"]
    with np.load(npz_path) as npz:
        for path, name in TORCH_ARRAYS.items():
            got = npz[path]
            want = np.load(saved / f"{name}.npy")
            assert got.dtype == want.dtype, path
            assert np.array_equal(got, want), path


def test_unwritable_directory_fails_clearly(sl, tmp_path, need_export):
    done = sl.capture("import numpy as np\nw = np.ones(3)\n")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "missing" / "w.npz"
    _, stderr = sl.cli_fail("export", "last@last", "--format", "npz", "-o", out)
    assert str(out) in stderr
