"""Safe mode's restricted unpickler and policy (restore/safety.py), against
hand-written pickles: what loads, what is withheld, and that a withheld
global is never imported nor called."""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import importlib.util
import io
import os
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from snapline.restore.rebuild import Withheld
from snapline.restore.safety import Policy, RestrictedUnpickler, pickle_globals


def load(data: bytes) -> Any:
    return RestrictedUnpickler(io.BytesIO(data)).load()


class _Calls:
    """Pickles as a call of `func(*args)` (nothing runs when pickling)."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple:
        return (self.func, self.args)


def calls(func: Any, *args: Any, protocol: int = 5) -> bytes:
    return pickle.dumps(_Calls(func, *args), protocol=protocol)


def test_plain_data_and_well_known_types_load() -> None:
    value = [complex(1, 2), {1, 2}, frozenset({3}), slice(1, 5, 2), range(3), bytearray(b"ab"),
             datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.timezone.utc),
             datetime.date(2024, 1, 1), datetime.timedelta(seconds=5),
             decimal.Decimal("1.25"), fractions.Fraction(1, 3),
             collections.OrderedDict(a=1), collections.deque([1, 2]),
             collections.Counter("aab"), collections.defaultdict(list, {"k": [1]})]
    for protocol in (2, 5):
        assert load(pickle.dumps(value, protocol=protocol)) == value


def test_numpy_arrays_dtypes_scalars_and_generators_load() -> None:
    np = pytest.importorskip("numpy")
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    structured = np.zeros(2, dtype=[("x", "f8"), ("y", "i4")])
    for protocol in (2, 5):
        out = load(pickle.dumps({"a": a, "s": structured, "f": np.float64(2.5), "i": np.int8(3),
                                 "dt": np.dtype("<u2"),
                                 "m": np.ma.masked_array([1, 2], mask=[0, 1])},
                                protocol=protocol))
        assert out["a"].dtype == np.float32 and (out["a"] == a).all()
        assert out["s"].dtype == structured.dtype
        assert out["f"] == 2.5 and type(out["f"]) is np.float64
        assert out["dt"] == np.dtype("<u2")
        assert out["m"].mask.tolist() == [False, True]
    rng = np.random.default_rng(7)
    again = load(pickle.dumps(rng))
    assert again.random() == rng.random()


def test_torch_tensors_state_dicts_and_nn_modules_load() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    state = model.state_dict()
    out = load(pickle.dumps({"state": state, "size": torch.Size([2, 3]), "dtype": torch.float16,
                             "model": model, "t": torch.arange(4.0)}))
    assert list(out["state"]) == list(state)
    assert torch.equal(out["state"]["0.weight"], state["0.weight"])
    assert out["size"] == torch.Size([2, 3]) and out["dtype"] is torch.float16
    assert isinstance(out["model"][0], torch.nn.Linear)
    assert torch.equal(out["t"], torch.arange(4.0))


def test_pandas_frames_that_fall_back_to_pickle_load() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"c": pd.Categorical(["x", "y"]), "v": [1.5, 2.5]},
                         index=pd.MultiIndex.from_tuples([(1, "a"), (2, "b")]))
    series = pd.Series(pd.date_range("2024-01-01", periods=2, tz="UTC"))
    out = load(pickle.dumps({"frame": frame, "series": series, "ts": pd.Timestamp("2024-01-02"),
                             "td": pd.Timedelta("1h")}))
    pd.testing.assert_frame_equal(out["frame"], frame)
    pd.testing.assert_series_equal(out["series"], series)
    assert out["ts"] == pd.Timestamp("2024-01-02") and out["td"] == pd.Timedelta("1h")


@pytest.mark.parametrize("data", [
    calls(eval, "__import__('os').getcwd()"),
    calls(exec, "x = 1"),
    calls(getattr, object, "__subclasses__"),
    calls(os.system, "true"),
    calls(__import__, "os"),
    b"cbuiltins\neval\n(S'1+1'\ntR.",  # protocol 0, GLOBAL
    b"cbuiltins\ngetattr\n(cbuiltins\nobject\nS'__subclasses__'\ntR.",
    b"csubprocess\nPopen\n((S'true'\nltR.",
    b"cimportlib\nimport_module\n(S'os'\ntR.",
    b"cos\nsystem\n(S'true'\ntR.",
    b"cposix\nsystem\n(S'true'\ntR.",
    b"c__main__\nEvil\n)R.",
    b"\x80\x04\x8c\x08builtins\x94\x8c\x04exec\x94\x93\x94.",
], ids=["eval", "exec", "getattr", "os.system", "__import__", "p0-eval", "p0-getattr",
        "subprocess", "importlib", "p0-os.system", "posix.system", "__main__", "p4-exec"])
def test_code_running_globals_are_withheld(data: bytes) -> None:
    with pytest.raises(Withheld):
        load(data)


def test_a_withheld_global_is_neither_imported_nor_called(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sentinel = tmp_path / "SENTINEL"
    module = tmp_path / "snapline_safety_probe.py"
    module.write_text(f"open({str(sentinel)!r}, 'w').close()\n\ndef f():\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(Withheld):
        load(b"csnapline_safety_probe\nf\n)R.")
    assert "snapline_safety_probe" not in sys.modules
    assert not sentinel.exists()
    with pytest.raises(Withheld):
        load(calls(os.system, f"touch {sentinel}"))
    assert not sentinel.exists()
    # The same pickle through the ordinary unpickler does run it.
    pickle.loads(calls(os.system, f"touch {sentinel}"))
    assert sentinel.exists()


def test_scikit_learn_estimators_need_trust() -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    with pytest.raises(Withheld, match="scikit-learn"):
        load(pickle.dumps(sklearn.LinearRegression()))


def test_torch_classes_outside_torch_nn_are_withheld() -> None:
    pytest.importorskip("torch")
    assert Policy("t").global_reason("torch.nn.modules.linear", "Linear") is None
    assert Policy("t").global_reason("torch", "load") is not None
    assert Policy("t").global_reason("torch.hub", "load") is not None
    assert Policy("t").global_reason("torch.nn.modules.linear", "Linear.forward") is not None


def test_pandas_functions_beyond_the_unpickling_helpers_are_withheld() -> None:
    pytest.importorskip("pandas")
    policy = Policy("t")
    assert policy.global_reason("pandas", "DataFrame") is None
    for name in ("read_pickle", "eval", "read_csv"):
        assert policy.global_reason("pandas", name) is not None
    assert policy.global_reason("pandas.io.pickle", "read_pickle") is not None


def test_records_outside_the_allowlist_are_withheld() -> None:
    policy = Policy("t")
    ref = {"kind": "reference", "extra": {"ref": "function", "module": "math",
                                          "qualname": "sqrt"}}
    assert policy.record_reason(ref) is None
    ref["extra"]["module"] = "antigravity"
    assert "antigravity" in (policy.record_reason(ref) or "")
    ref["extra"]["module"] = "__main__"
    assert "defined by the script" in (policy.record_reason(ref) or "")
    module_ref = {"kind": "reference", "extra": {"ref": "module", "qualname": "subprocess"}}
    assert policy.record_reason(module_ref) is not None
    instance = {"kind": "instance", "extra": {"class": {"module": "torch.nn.modules.linear",
                                                        "qualname": "Linear"},
                                              "torch_module": True}}
    if importlib.util.find_spec("torch") is not None:
        import torch.nn  # noqa: F401 - safe mode restores only classes already imported
        assert policy.record_reason(instance) is None
    else:  # nothing new is imported: without torch, a torch module is withheld
        assert "not imported" in (policy.record_reason(instance) or "")
    instance["extra"]["class"] = {"module": "torchvision.models.resnet", "qualname": "ResNet"}
    assert policy.record_reason(instance) is not None
    instance["extra"]["class"] = {"module": "__main__", "qualname": "Net"}
    assert "the script defined" in (policy.record_reason(instance) or "")
    assert policy.record_reason({"kind": "value", "value": 1}) is None


def test_pickle_globals_are_read_without_loading() -> None:
    found = pickle_globals(calls(os.system, "true"))
    assert (os.system.__module__, "system") in found
    assert ("builtins", "eval") in pickle_globals(b"cbuiltins\neval\n(S'1+1'\ntR.")
    assert ("builtins", "complex") in pickle_globals(pickle.dumps([complex(1, 2)] * 2))


def test_classes_with_finalizers_get_no_instance_without_constructor() -> None:
    class Finalized:
        def __del__(self) -> None:
            pass

    class Child(Finalized):
        pass

    policy = Policy("t")
    assert "__del__" in (policy.built_class_reason(Child) or "")
    assert policy.built_class_reason(collections.OrderedDict) is None


def test_only_exact_numpy_classes_load(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    target = tmp_path / "mapped"
    with pytest.raises(Withheld, match="numpy.memmap"):
        load(calls(np.memmap, str(target), "uint8", "w+", 0, (4,)))
    assert not target.exists()
    with pytest.raises(Withheld):
        load(pickle.dumps(np.rec.array([(1, 2.0)], names="a,b")))
    assert load(pickle.dumps(np.arange(3))).tolist() == [0, 1, 2]


def test_build_applies_only_to_objects_the_pickle_created() -> None:
    def text(s: str) -> bytes:
        return b"\x8c" + bytes([len(s)]) + s.encode()

    forged = (b"\x80\x04" + text("fractions") + text("Fraction") + b"\x93N}"
              + text("pwned") + b"K\x01s\x86b.")
    with pytest.raises(Withheld, match="did not create"):
        load(forged)
    assert not hasattr(fractions.Fraction, "pwned")
    assert load(pickle.dumps(collections.OrderedDict(a=1))) == {"a": 1}


def test_no_new_module_is_imported_and_no_main_ever() -> None:
    policy = Policy("t")
    assert "__main__" in (policy.global_reason("numpy.f2py.__main__", "main") or "")
    loaded = "numpy.f2py" in sys.modules  # torch's import may have loaded it
    reason = policy.module_reason("numpy.f2py") or ""
    assert ("reaches files" if loaded else "imports nothing new") in reason, reason
    assert ("numpy.f2py" in sys.modules) == loaded
    assert policy.module_reason("math", "sqrt") is None


def test_references_that_reach_the_system_are_withheld() -> None:
    policy = Policy("t")
    for module, name in (("builtins", "exec"), ("builtins", "open"), ("os", "system"),
                         ("numpy", "save"), ("numpy", "fromfile"), ("subprocess", "run")):
        assert policy.module_reason(module, name) is not None, (module, name)
    for module, name in (("builtins", "max"), ("math", "sqrt"), ("numpy", "mean"),
                         ("operator", "add"), ("collections", "OrderedDict")):
        assert policy.module_reason(module, name) is None, (module, name)
