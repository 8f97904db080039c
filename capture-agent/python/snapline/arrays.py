"""Numpy arrays and torch tensors: find their raw buffer so Rust can hash,
scan and chunk it without a copy, and describe them for the store."""

from __future__ import annotations

import sys
from typing import Any, TypedDict

from .values import JsonObject


class Stats(TypedDict):
    """A record's `stats`: of its finite values, over `count` elements."""

    count: int
    nan: int
    posinf: int
    neginf: int
    min: float | None
    max: float | None
    mean: float | None
    l2: float | None

# dtypes the Rust scanner computes stats for; other fixed-size dtypes are
# stored as raw bytes ("raw" scan) with no stats.
SCANNED_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "bfloat16", "float32", "float64",
}


def is_array(obj: Any) -> bool:
    """A numpy ndarray (exact type, no object dtype) or a strided torch tensor."""
    np = sys.modules.get("numpy")
    if np is not None and type(obj) is np.ndarray:
        return not obj.dtype.hasobject
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        return (
            obj.layout == torch.strided
            and not obj.is_quantized
            and obj.device.type != "meta"
            and type(obj) in (torch.Tensor, torch.nn.Parameter)
        )
    return False


def view_of(obj: Any) -> tuple[Any, dict[str, object]] | None:
    """(base, where) when `obj` is a view into another array that owns
    its memory: numpy `{"offset": bytes, "strides"}` (the base contiguous),
    torch `{"storage_offset", "base_storage_offset", "strides"}`."""
    np = sys.modules.get("numpy")
    if np is not None and type(obj) is np.ndarray:
        base = obj.base
        while type(base) is np.ndarray and base.base is not None:
            base = base.base
        if (type(base) is not np.ndarray or not is_array(base)
                or not (base.flags.c_contiguous or base.flags.f_contiguous)):
            return None
        offset = obj.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        return base, {"offset": offset, "strides": list(obj.strides)}
    base = getattr(obj, "_base", None)
    if base is None or not is_array(base) or base.device != obj.device:
        return None
    return base, {"storage_offset": obj.storage_offset(),
                  "base_storage_offset": base.storage_offset(),
                  "strides": list(obj.stride())}


def memory_key(obj: Any) -> tuple[str, int] | None:
    """Where `obj`'s memory starts: numpy arrays by data address, torch
    tensors by their storage's (CPU only); None when empty."""
    np = sys.modules.get("numpy")
    if np is not None and type(obj) is np.ndarray:
        return ("cpu", obj.__array_interface__["data"][0]) if obj.nbytes else None
    if obj.device.type != "cpu":
        return None
    storage = obj.untyped_storage()
    return ("cpu", storage.data_ptr()) if storage.nbytes() else None


def shared_memory(obj: Any, owner: Any) -> dict[str, object] | None:
    """How `obj` lies in the memory of `owner` (another array or tensor
    starting at the same address: `torch.from_numpy(a)`, `t.numpy()`, a
    state_dict's detached tensors), as `view_of` says it; None when the
    two cannot be rebuilt as one memory (different element sizes)."""
    np = sys.modules.get("numpy")
    obj_numpy = np is not None and type(obj) is np.ndarray
    owner_numpy = np is not None and type(owner) is np.ndarray
    if obj_numpy:
        return {"offset": 0, "strides": list(obj.strides), "memory_of": "torch"} if (
            not owner_numpy) else None
    if owner_numpy and owner.dtype.itemsize != obj.element_size():
        return None
    if owner_numpy:
        return {"storage_offset": obj.storage_offset(), "strides": list(obj.stride()),
                "memory_of": "numpy"}
    if owner.dtype != obj.dtype:
        return None
    return {"storage_offset": obj.storage_offset(),
            "base_storage_offset": owner.storage_offset(), "strides": list(obj.stride())}


def _numpy_preview(np: Any, a: Any) -> str:
    try:
        return str(np.array2string(a, threshold=8, edgeitems=2, precision=4,
                                   max_line_width=100))
    except Exception:  # noqa: BLE001 - preview is cosmetic
        return ""


def preview_of(obj: Any) -> str:
    """A few of the array's values, for display (host arrays only)."""
    np = sys.modules.get("numpy")
    if np is None:
        return ""
    if type(obj) is np.ndarray:
        return _numpy_preview(np, obj)
    dtype = str(obj.dtype).replace("torch.", "")
    if obj.device.type != "cpu" or dtype == "bfloat16" or dtype.startswith("complex"):
        return ""
    try:
        return _numpy_preview(np, obj.detach().numpy())
    except Exception:  # noqa: BLE001 - preview is cosmetic
        return ""


def describe(obj: Any, recorder: Any) -> JsonObject:
    """Scan the buffer through the recorder (storing new chunks) and return
    the object record of an array or tensor."""
    np = sys.modules.get("numpy")
    if np is not None and type(obj) is np.ndarray:
        return _describe_numpy(np, obj, recorder)
    return _describe_torch(sys.modules["torch"], obj, recorder)


def _record(type_name: str, shape: list[int], dtype: str,
            scanned: tuple[list[str], Stats | None], nbytes: int,
            extra: dict[str, object]) -> JsonObject:
    hashes, stats = scanned
    record: JsonObject = {
        "kind": "array",
        "type": type_name,
        "shape": shape,
        "dtype": dtype,
        "restorable": True,
        "chunks": hashes,
        "nbytes": nbytes,
        "extra": extra,
    }
    if stats is not None:
        record["stats"] = stats
    return record


def stats_dict(t: tuple[int, int, int, int, float | None, float | None, float | None,
                        float | None]) -> Stats:
    count, nan, posinf, neginf, mn, mx, mean, l2 = t
    return {"count": count, "nan": nan, "posinf": posinf, "neginf": neginf,
            "min": mn, "max": mx, "mean": mean, "l2": l2}


# Buffers at least this large may have their written pages tracked by the
# kernel between snapshots (capture-agent/src/written_pages.rs, the same
# threshold).
TRACK_MIN_BYTES = 1 << 20


def _scan(recorder: Any, holder: Any, address: int, nbytes: int, dtype: str,
          trackable: bool = False) -> tuple[list[str], Stats | None]:
    """`trackable`: `holder` is the array's own memory (no temporary copy,
    not pinned for device DMA, which page tables do not see)."""
    scan_dtype = dtype if dtype in SCANNED_DTYPES else "uint8"
    if trackable and nbytes >= TRACK_MIN_BYTES:
        hashes, stats = recorder.scan_array(address, nbytes, scan_dtype, None, True)
    else:
        hashes, stats = recorder.scan_array(address, nbytes, scan_dtype)
    del holder  # kept alive until the scan returned
    return hashes, (stats_dict(stats) if scan_dtype == dtype else None)


def _describe_numpy(np: Any, a: Any, recorder: Any) -> JsonObject:
    order = "C" if a.flags.c_contiguous else ("F" if a.flags.f_contiguous else "C-copy")
    flat = a if order != "C-copy" else np.ascontiguousarray(a)
    dtype = a.dtype.name
    extra: dict[str, object] = {"framework": "numpy", "order": order,
                                "strides": list(a.strides), "dtype_str": a.dtype.str}
    if a.dtype.fields is not None:
        # A structured dtype (sklearn's tree nodes): its fields, which
        # `dtype.str` ("|V64") leaves out.
        extra["dtype_fields"] = {
            "names": list(a.dtype.names),
            "formats": [_field_format(a.dtype.fields[n][0]) for n in a.dtype.names],
            "offsets": [a.dtype.fields[n][1] for n in a.dtype.names],
            "itemsize": a.dtype.itemsize}
    scanned = _scan(recorder, flat, flat.__array_interface__["data"][0], flat.nbytes, dtype,
                    trackable=order != "C-copy")
    return _record("numpy.ndarray", list(a.shape), dtype, scanned, int(a.nbytes), extra)


def _field_format(dtype: Any) -> Any:
    """A field's dtype as numpy reads it back: `<f8`, `(2,)<f8`, or the
    fields of a nested structure."""
    if dtype.fields is not None:
        return [[n, _field_format(dtype.fields[n][0]), dtype.fields[n][1]] for n in dtype.names]
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return f"{shape}{_field_format(base)}"
    return dtype.str


def _describe_torch(torch: Any, t: Any, recorder: Any) -> JsonObject:
    type_name = "torch.nn.Parameter" if isinstance(t, torch.nn.Parameter) else "torch.Tensor"
    dtype = str(t.dtype).replace("torch.", "")
    extra: dict[str, object] = {
        "framework": "torch",
        "device": str(t.device),
        "requires_grad": bool(t.requires_grad),
        "strides": list(t.stride()),
        "contiguous": bool(t.is_contiguous()),
    }
    d = t.detach()
    if d.device.type != "cpu":
        return _describe_on_device(torch, d, type_name, dtype, extra, recorder)
    flat = d.contiguous()
    nbytes = flat.numel() * flat.element_size()
    trackable = (nbytes >= TRACK_MIN_BYTES and d.is_contiguous()
                 and not _is_pinned(d))
    scanned = _scan(recorder, flat, flat.data_ptr(), nbytes, dtype, trackable)
    return _record(type_name, list(t.shape), dtype, scanned, nbytes, extra)


def _is_pinned(t: Any) -> bool:
    """Page-locked for device copies (DMA writes no page table sees); True
    when unsure."""
    try:
        return bool(t.is_pinned())
    except Exception:  # noqa: BLE001 - unsure: not tracked
        return True


# Accelerator tensors: (device, data_ptr, dtype, shape) -> (fingerprint, record)
_device_cache: dict[tuple[str, int, str, tuple[int, ...]],
                    tuple[tuple[float, float, int], JsonObject]] = {}
_DEVICE_CACHE_LIMIT = 4096


def device_stats_and_fingerprint(torch: Any, d: Any) -> tuple[Stats, tuple[float, float, int]]:
    """Stats and a content fingerprint computed where the tensor lives (one
    small transfer), so an unchanged accelerator tensor is never copied."""
    flat = d.contiguous().reshape(-1)
    n = flat.numel()
    if d.is_floating_point():
        nan = torch.isnan(flat).sum()
        posinf = torch.isposinf(flat).sum()
        neginf = torch.isneginf(flat).sum()
        finite = flat[torch.isfinite(flat)].double()
    else:
        zero = torch.zeros((), dtype=torch.int64, device=flat.device)
        nan = posinf = neginf = zero
        finite = flat.double()
    nbytes = n * flat.element_size()
    words = flat.view(torch.int32) if nbytes % 4 == 0 and nbytes else flat.view(torch.uint8)
    words = words.long()
    weights = torch.arange(1, words.numel() + 1, device=flat.device, dtype=torch.int64) % 65521
    empty = finite.numel() == 0
    parts = torch.stack([
        nan.double(), posinf.double(), neginf.double(),
        finite.min() if not empty else torch.zeros((), dtype=torch.float64, device=flat.device),
        finite.max() if not empty else torch.zeros((), dtype=torch.float64, device=flat.device),
        finite.sum(), (finite * finite).sum(),
        (words * (weights + 1)).sum().double(), (words ^ weights).sum().double(),
    ]).tolist()
    count_finite = finite.numel()
    stats: Stats = {
        "count": n, "nan": int(parts[0]), "posinf": int(parts[1]), "neginf": int(parts[2]),
        "min": None if empty else parts[3], "max": None if empty else parts[4],
        "mean": None if empty else parts[5] / count_finite,
        "l2": None if empty else parts[6] ** 0.5,
    }
    return stats, (parts[7], parts[8], n)


def _describe_on_device(torch: Any, d: Any, type_name: str, dtype: str,
                        extra: dict[str, object], recorder: Any) -> JsonObject:
    """Stats on the device; a host copy (then the usual scan) only when the
    fingerprint says the content changed since the last snapshot."""
    stats, fingerprint = device_stats_and_fingerprint(torch, d)
    key = (str(d.device), d.data_ptr(), dtype, tuple(d.shape))
    cached = _device_cache.get(key)
    if cached is not None and cached[0] == fingerprint:
        return dict(cached[1])
    host = d.to("cpu").contiguous()
    nbytes = host.numel() * host.element_size()
    scan_dtype = dtype if dtype in SCANNED_DTYPES else "uint8"
    # Keyed by the device buffer: the host copy's address changes every
    # time, and a changed float chunk is stored as a delta of its last version.
    hashes, _ = recorder.scan_array(host.data_ptr(), nbytes, scan_dtype, d.data_ptr())
    extra["host_copy"] = True
    record = _record(type_name, list(d.shape), dtype, (hashes, stats), nbytes, extra)
    if len(_device_cache) >= _DEVICE_CACHE_LIMIT:
        _device_cache.clear()
    _device_cache[key] = (fingerprint, dict(record))
    return record
