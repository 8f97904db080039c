"""What `show` reports about values: array statistics equal to numpy's and
torch's own, shared references as one node, unpicklable objects marked."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLES, assert_same_output

ARRAYS = """
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(7)
f32 = rng.standard_normal(10_001).astype(np.float32) * 3 + 1
f64 = rng.standard_normal(5_000) * 1e3
f16 = (rng.standard_normal(4_097) * 20).astype(np.float16)
i32 = rng.integers(-2**31, 2**31 - 1, 3_000, dtype=np.int32)
bad = rng.standard_normal(2_000).astype(np.float32)
bad[[3, 50, 999]] = np.nan
bad[[10, 11]] = np.inf
bad[1500] = -np.inf
big = (rng.standard_normal(1_000_003) * 7 - 2).astype(np.float32)  # 3.8 MiB: 4 chunks
strided = f64.reshape(100, 50)[::3, 1::2]  # not contiguous
fortran = np.asfortranarray(f64.reshape(50, 100))
for name in ("f32", "f64", "f16", "i32", "bad", "big", "strided", "fortran"):
    np.save(f"{out}/{name}.npy", globals()[name])
print("saved")
"""


def numpy_stats(np, a):
    flat = np.asarray(a).ravel()
    isfloat = flat.dtype.kind == "f"
    finite = flat[np.isfinite(flat)] if isfloat else flat
    wide = finite.astype(np.float64)
    return {
        "count": int(flat.size),
        "nan": int(np.isnan(flat).sum()) if isfloat else 0,
        "posinf": int(np.isposinf(flat).sum()) if isfloat else 0,
        "neginf": int(np.isneginf(flat).sum()) if isfloat else 0,
        "min": float(wide.min()),
        "max": float(wide.max()),
        "mean": float(wide.mean()),
        "l2": float(np.sqrt(np.sum(wide * wide))),
    }


def assert_stats_equal(got, want, what):
    for key in ("count", "nan", "posinf", "neginf"):
        assert got[key] == want[key], f"{what}: {key} {got[key]} != {want[key]}"
    # min and max are elements of the array: exact.
    assert got["min"] == want["min"], f"{what}: min"
    assert got["max"] == want["max"], f"{what}: max"
    assert got["mean"] == pytest.approx(want["mean"], rel=1e-6, abs=1e-9), f"{what}: mean"
    assert got["l2"] == pytest.approx(want["l2"], rel=1e-6), f"{what}: l2"


def test_array_stats_equal_numpy(sl, tmp_path):
    np = pytest.importorskip("numpy")
    out = tmp_path / "arrays"
    out.mkdir()
    done = sl.capture(ARRAYS, out)
    assert done.returncode == 0, done.stderr
    objects = sl.objects("last@last")
    expected_dtypes = {"f32": "float32", "f64": "float64", "f16": "float16", "i32": "int32",
                       "bad": "float32", "big": "float32", "strided": "float64",
                       "fortran": "float64"}
    for name, dtype in expected_dtypes.items():
        a = np.load(out / f"{name}.npy")
        obj = objects[name]
        assert obj["kind"] == "array", name
        assert obj["type"] == "numpy.ndarray", name
        assert obj["dtype"] == dtype, name
        assert obj["shape"] == list(a.shape), name
        assert obj["nbytes"] == a.nbytes, name
        assert_stats_equal(obj["stats"], numpy_stats(np, a), name)
    assert objects["bad"]["stats"]["nan"] == 3
    assert objects["bad"]["stats"]["posinf"] == 2
    assert objects["bad"]["stats"]["neginf"] == 1
    # The big array spans several chunks.
    detail = sl.show("last@last", "big")
    assert detail["extra"]["chunks"] == 4
    # The snapshot counts non-finite elements.
    assert sl.log()[-1]["nonfinite"] == 6


TORCH_STATS = """
import json
import math

import torch

torch.set_num_threads(1)
torch.manual_seed(3)
bf = (torch.randn(50_000) * 5 + 1).to(torch.bfloat16)
hf = (torch.randn(3, 1_000) * 30).to(torch.float16)
hf[0, 7] = float("nan")
hf[1, 9] = float("inf")
hf[2, 0] = float("-inf")
hf[2, 1] = 70000  # overflows float16: +inf


def stats(t):
    flat = t.float().flatten()
    finite = flat[torch.isfinite(flat)].double()
    return {"count": flat.numel(), "nan": int(torch.isnan(flat).sum()),
            "posinf": int(torch.isposinf(flat).sum()),
            "neginf": int(torch.isneginf(flat).sum()),
            "min": finite.min().item(), "max": finite.max().item(),
            "mean": finite.mean().item(), "l2": math.sqrt((finite * finite).sum().item())}


print(json.dumps({"bf": stats(bf), "hf": stats(hf)}))
"""


def test_torch_half_precision_stats_equal_torch(sl, need_torch):
    done = sl.capture(TORCH_STATS)
    assert done.returncode == 0, done.stderr
    want = json.loads(done.stdout)
    objects = sl.objects("last@last")
    assert objects["bf"]["dtype"] == "bfloat16"
    assert objects["hf"]["dtype"] == "float16"
    assert objects["hf"]["shape"] == [3, 1000]
    assert objects["bf"]["type"] == "torch.Tensor"
    for name in ("bf", "hf"):
        assert_stats_equal(objects[name]["stats"], want[name], name)
    assert want["hf"]["posinf"] == 2 and want["hf"]["nan"] == 1


def test_shared_references_are_one_node(sl):
    script = sl.script("""
        import numpy as np


        def build():
            a = np.ones(3)
            b = np.zeros(3)
            c = np.arange(1e6)
            return [a, c], [b, c]


        o1, o2 = build()
        print(o1[1] is o2[1])
    """)
    done = sl.capture(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True\n"
    objects = sl.objects("last@last", all_=True)
    shared, other = objects["o1[1]"], objects["o2[1]"]
    assert shared["node"] == other["node"]
    assert shared["hash"] == other["hash"]
    assert "o2[1]" in shared["aliases"] and "o1[1]" in other["aliases"]
    assert objects["o1[0]"]["node"] != objects["o2[0]"]["node"]
    assert objects["o1[0]"]["stats"]["mean"] == 1.0
    assert objects["o2[0]"]["stats"]["mean"] == 0.0
    assert shared["stats"]["max"] == 999_999.0

    # The snapshot after `o1, o2 = build()` stores c once.
    c_nbytes = 8 * 1_000_000
    rows = sl.log()
    first_with_o1 = next(r for r in rows if "o1" in sl.objects(f"last@{r['seq']}"))
    # (bytes_new counts chunks as written: c, an arange, compresses to
    # about a ninth as plain zstd and to well under 1% byte-shuffled.)
    assert c_nbytes / 1000 <= first_with_o1["bytes_new"] < 1.5 * c_nbytes
    assert first_with_o1["bytes_reused"] < c_nbytes


def test_in_place_alias_in_numpy_example(sl):
    done = sl.capture(EXAMPLES / "numpy_mlp.py", "--epochs", "2")
    assert done.returncode == 0, done.stderr
    objects = sl.objects("last@last", all_=True)
    w1, layer0 = objects['params["W1"]'], objects["layers[0]"]
    assert w1["node"] == layer0["node"]
    assert w1["hash"] == layer0["hash"]
    assert objects['params["W2"]']["node"] == objects["layers[1]"]["node"]
    assert w1["node"] != objects['params["W2"]']["node"]
    assert w1["shape"] == [2, 64]
    assert "layers[0]" in w1["aliases"]


def test_torch_parameters_shared_with_optimizer(torch_run):
    sl = torch_run.sl
    assert torch_run.captured.returncode == 0, torch_run.captured.stderr
    objects = sl.objects("last@last", all_=True)
    weight = objects["model.0.weight"]
    assert weight["type"] == "torch.nn.Parameter"
    assert weight["shape"] == [128, 32]
    assert weight["dtype"] == "float32"
    params = {p: o for p, o in objects.items()
              if p.startswith("model.") and o["type"] == "torch.nn.Parameter"}
    assert set(params) == {f"model.{i}.{w}" for i in (0, 2, 4) for w in ("weight", "bias")}
    param_nodes = {o["node"] for o in params.values()}
    in_optimizer = {p: o for p, o in objects.items()
                    if p.startswith("optimizer") and o["type"] == "torch.nn.Parameter"}
    # Adam holds all six parameters; each is the model's own object.
    assert len(in_optimizer) == 6
    assert {o["node"] for o in in_optimizer.values()} == param_nodes
    for path, obj in in_optimizer.items():
        twin = next(o for o in params.values() if o["node"] == obj["node"])
        assert obj["hash"] == twin["hash"], path
    # Adam's state is keyed by the parameters.
    assert objects["optimizer.state[model.0.weight][\"exp_avg\"]"]["shape"] == [128, 32]


UNPICKLABLE = """
import threading


def numbers():
    yield 1


gen = numbers()
lock = threading.Lock()
handle = open(__file__)


class Stubborn:
    def __getstate__(self):
        raise RuntimeError("no pickling for you")


stubborn = Stubborn()
square = lambda x: x * x  # noqa: E731


def make_adder(n):
    def add(x):
        return x + n
    return add


adder = make_adder(3)
print(square(4), adder(1), next(gen))
"""


def test_unpicklable_objects_are_marked(sl):
    script = sl.script(UNPICKLABLE)
    plain = sl.plain(script)
    captured = sl.capture(script)
    assert plain.stdout == "16 4 1\n"
    assert_same_output(plain, captured)
    objects = sl.objects("last@last")
    for name in ("gen", "lock", "handle", "stubborn"):
        obj = objects[name]
        assert obj["restorable"] is False, name
        assert obj["kind"] == "unrestorable", name
        assert obj["reason"], name
    assert "no pickling for you" in objects["stubborn"]["reason"]
    for name in ("square", "adder"):
        obj = objects[name]
        assert obj["restorable"] is True, name
        assert obj["reason"] is None, name
        # Kept by reference to the script's source (restore rebuilds them
        # from the def's line, with their closure cells).
        assert obj["kind"] == "reference", name
    assert objects["make_adder"]["kind"] == "reference"
    assert objects["Stubborn"]["kind"] == "reference"
