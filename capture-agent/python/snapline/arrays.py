"""Numpy arrays and torch tensors: find their raw buffer so Rust can hash,
scan and chunk it without a copy, and describe them for the store."""

from __future__ import annotations

import sys
from typing import Any

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


def _numpy_preview(np: Any, a: Any) -> str:
    try:
        return np.array2string(a, threshold=8, edgeitems=2, precision=4, max_line_width=100)
    except Exception:  # noqa: BLE001 - preview is cosmetic
        return ""


def describe(obj: Any, recorder: Any) -> dict:
    """Scan the buffer through the recorder (storing new chunks) and return
    the object record of an array or tensor."""
    np = sys.modules.get("numpy")
    if np is not None and type(obj) is np.ndarray:
        return _describe_numpy(np, obj, recorder)
    return _describe_torch(sys.modules["torch"], obj, recorder)


def _record(type_name: str, shape: list, dtype: str, scanned: tuple, nbytes: int,
            preview: str, extra: dict) -> dict:
    hashes, stats = scanned
    record = {
        "kind": "array",
        "type": type_name,
        "shape": shape,
        "dtype": dtype,
        "preview": preview,
        "restorable": True,
        "chunks": hashes,
        "nbytes": nbytes,
        "extra": extra,
    }
    if stats is not None:
        record["stats"] = stats
    return record


def stats_dict(t: tuple) -> dict:
    count, nan, posinf, neginf, mn, mx, mean, l2 = t
    return {"count": count, "nan": nan, "posinf": posinf, "neginf": neginf,
            "min": mn, "max": mx, "mean": mean, "l2": l2}


def _scan(recorder: Any, holder: Any, address: int, nbytes: int, dtype: str) -> tuple:
    scan_dtype = dtype if dtype in SCANNED_DTYPES else "uint8"
    hashes, stats = recorder.scan_array(address, nbytes, scan_dtype)
    del holder  # kept alive until the scan returned
    return hashes, (stats_dict(stats) if scan_dtype == dtype else None)


def _describe_numpy(np: Any, a: Any, recorder: Any) -> dict:
    order = "C" if a.flags.c_contiguous else ("F" if a.flags.f_contiguous else "C-copy")
    flat = a if order != "C-copy" else np.ascontiguousarray(a)
    dtype = a.dtype.name
    extra = {"framework": "numpy", "order": order, "strides": list(a.strides),
             "dtype_str": a.dtype.str}
    scanned = _scan(recorder, flat, flat.__array_interface__["data"][0], flat.nbytes, dtype)
    return _record("numpy.ndarray", list(a.shape), dtype, scanned, int(a.nbytes),
                   _numpy_preview(np, a), extra)


def _describe_torch(torch: Any, t: Any, recorder: Any) -> dict:
    type_name = "torch.nn.Parameter" if isinstance(t, torch.nn.Parameter) else "torch.Tensor"
    dtype = str(t.dtype).replace("torch.", "")
    extra = {
        "framework": "torch",
        "device": str(t.device),
        "requires_grad": bool(t.requires_grad),
        "strides": list(t.stride()),
        "contiguous": bool(t.is_contiguous()),
    }
    d = t.detach()
    if d.device.type != "cpu":
        d = _device_to_host(d, extra)
    flat = d.contiguous()
    nbytes = flat.numel() * flat.element_size()
    scanned = _scan(recorder, flat, flat.data_ptr(), nbytes, dtype)
    preview = ""
    np = sys.modules.get("numpy")
    if np is not None and dtype not in ("bfloat16",) and not dtype.startswith("complex"):
        try:
            preview = _numpy_preview(np, flat.numpy())
        except Exception:  # noqa: BLE001 - preview is cosmetic
            preview = ""
    return _record(type_name, list(t.shape), dtype, scanned, nbytes, preview, extra)


def _device_to_host(d: Any, extra: dict) -> Any:
    """Accelerator tensors: copied to the host for hashing and storage."""
    extra["copied_from_device"] = True
    return d.to("cpu")
