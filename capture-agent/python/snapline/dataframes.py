"""pandas DataFrames and Series as their columns, so that inspecting a
snapshot (show, diff) never needs pickle.

`split` turns a DataFrame into an `instance` record (labels, dtypes and
index in `extra`) and its parts: one per column, then the index unless it
is a plain RangeIndex. A part is a C-contiguous numpy array (numeric, bool,
datetime64 and timedelta64 columns) or a list of plain values (object and
"str" columns); graph.py walks each as a child node at `df["col"]`, so the
columns are hashed, deduplicated and scanned for stats like any array.
Whatever would not come back exactly (categoricals, extension dtypes,
MultiIndex, DatetimeIndex, duplicated or non-atomic labels, `attrs`,
subclasses) gets None: the caller pickles the object as before.
restore/rebuild.py rebuilds the frame from the same record.

pandas is never imported here: only objects of an already imported pandas
are recognised.
"""

from __future__ import annotations

import math
import sys
from typing import Any, NamedTuple

from .values import encode, key_suffix, type_name

PREVIEW_ROWS = 5
PREVIEW_LIMIT = 2000
# Labels and index names stored as such (anything else: pickle).
_LABEL_TYPES = (type(None), bool, int, float, str)
# Elements of object columns stored as values (and numpy numbers: values.encode).
_PLAIN_TYPES = frozenset((type(None), bool, int, float, complex, str, bytes))


class Part(NamedTuple):
    """A child of a frame's record."""

    key: str  # the child's key, which is also its path suffix: ["loss"], .index
    data: Any  # a C-contiguous numpy array, or a list of plain values


class Split(NamedTuple):
    record: dict[str, Any]  # kind, type, shape, restorable and extra (without children and class)
    parts: list[Part]


class _Unsupported(Exception):
    """Not storable as columns: the object is pickled instead."""


def is_frame(obj: Any) -> bool:
    """A DataFrame or a Series (exactly those types) of an imported pandas."""
    pd = sys.modules.get("pandas")
    if pd is None:
        return False
    t = type(obj)
    return t is getattr(pd, "DataFrame", None) or t is getattr(pd, "Series", None)


def split(obj: Any) -> Split | None:
    """The record and the parts of a DataFrame or Series, or None when it
    must be pickled."""
    pd = sys.modules.get("pandas")
    np = sys.modules.get("numpy")
    if pd is None or np is None:
        return None
    try:
        if type(obj) is pd.DataFrame:
            return _split_frame(pd, np, obj)
        if type(obj) is pd.Series:
            return _split_series(pd, np, obj)
    except Exception:  # noqa: BLE001 - _Unsupported, or anything pandas raises: pickle it
        return None
    return None


def preview_of(obj: Any) -> str:
    """The first rows as text, then the size (never raises)."""
    try:
        head = obj.head(PREVIEW_ROWS)
        if obj.ndim == 2:
            rows, cols = obj.shape
            text = head.to_string(max_cols=8, line_width=100, max_colwidth=30)
            footer = f"[{rows} rows x {cols} columns]"
        else:
            text = head.to_string()
            footer = f"[{len(obj)} rows] Name: {obj.name}, dtype: {obj.dtype}"
    except Exception:  # noqa: BLE001 - the preview is cosmetic
        return ""
    room = PREVIEW_LIMIT - len(footer) - 5
    if len(text) > room:
        text = text[:room] + "\n..."
    return f"{text}\n{footer}"


# -- capture --------------------------------------------------------------------


def _split_frame(pd: Any, np: Any, df: Any) -> Split:
    _check_metadata(df)
    columns = df.columns
    if not columns.is_unique:
        raise _Unsupported("duplicated column labels")
    columns_info = _axis_info(pd, np, columns)
    labels = list(columns)
    for label in labels:
        _check_label(label)
    keys = [key_suffix(label) for label in labels]
    if len(set(keys)) != len(keys):
        raise _Unsupported("two labels with the same path")
    index_info, index_part = _index(pd, np, df.index)
    parts, dtypes = [], []
    checked: dict[Any, Any] = {}  # dtype -> how it is stored (wide frames repeat a few dtypes)
    for i, key in enumerate(keys):
        # iloc, not items(): pandas 2 fills the frame's item cache in items().
        column = df.iloc[:, i]
        parts.append(Part(key, _data(pd, np, column, checked)))
        dtypes.append(str(column.dtype))
    if index_part is not None:
        parts.append(index_part)
    rows, cols = df.shape
    extra = {"pandas": "DataFrame", "columns": [encode(label) for label in labels],
             "dtypes": dtypes, "index": index_info, "columns_index": columns_info}
    return Split({"kind": "instance", "type": type_name(df), "shape": [int(rows), int(cols)],
                  "restorable": True, "extra": extra}, parts)


def _split_series(pd: Any, np: Any, s: Any) -> Split:
    _check_metadata(s)
    _check_label(s.name)
    index_info, index_part = _index(pd, np, s.index)
    parts = [Part(".values", _data(pd, np, s))]
    if index_part is not None:
        parts.append(index_part)
    extra = {"pandas": "Series", "dtype": str(s.dtype), "name": encode(s.name),
             "index": index_info}
    return Split({"kind": "instance", "type": type_name(s), "shape": [len(s)],
                  "restorable": True, "extra": extra}, parts)


def _check_metadata(obj: Any) -> None:
    if obj.attrs:
        raise _Unsupported("attrs")
    if not obj.flags.allows_duplicate_labels:
        raise _Unsupported("flags")


def _check_label(label: Any) -> None:
    if type(label) not in _LABEL_TYPES:
        raise _Unsupported(f"a {type(label).__name__} label")


def _index(pd: Any, np: Any, index: Any) -> tuple[dict[str, Any], Part | None]:
    """The index's `extra.index` and its part (None for a RangeIndex)."""
    info = _axis_info(pd, np, index)
    if "range" in info:
        return info, None
    return info, Part(".index", _data(pd, np, index))


def _axis_info(pd: Any, np: Any, index: Any) -> dict[str, Any]:
    """{"range": [start, stop, step]} or {"dtype": ..., "name": ...}; a
    RangeIndex with a name has "name" too."""
    name = index.name
    _check_label(name)
    if type(index) is pd.RangeIndex:
        info: dict[str, Any] = {"range": [int(index.start), int(index.stop), int(index.step)]}
        if name is not None:
            info["name"] = encode(name)
        return info
    if type(index) is not pd.Index:  # MultiIndex, DatetimeIndex, CategoricalIndex...
        raise _Unsupported(type(index).__name__)
    _storage(pd, np, index.dtype)
    return {"dtype": str(index.dtype), "name": encode(name)}


def _storage(pd: Any, np: Any, dtype: Any) -> str:
    """"array" or "values" for the dtypes stored as columns; raises for
    the others. The dtype's name must name it again at restore."""
    if isinstance(dtype, np.dtype):
        if dtype.kind in "biufcmM" and dtype.fields is None and dtype.subdtype is None:
            how = "array"
        elif dtype == object:
            how = "values"
        else:
            raise _Unsupported(str(dtype))
    elif _is_str_dtype(pd, dtype):
        # pandas 3's default for strings: StringDtype with NaN as missing.
        how = "values"
    else:  # categorical, "Int64", "string", sparse, tz-aware datetimes...
        raise _Unsupported(str(dtype))
    if pd.api.types.pandas_dtype(str(dtype)) != dtype:
        raise _Unsupported(f"{dtype} does not name itself")
    return how


def _is_str_dtype(pd: Any, dtype: Any) -> bool:
    string_dtype = getattr(pd, "StringDtype", None)
    if string_dtype is None or not isinstance(dtype, string_dtype):
        return False
    missing = getattr(dtype, "na_value", None)
    return type(missing) is float and math.isnan(missing)


def _data(pd: Any, np: Any, holder: Any, checked: dict[Any, Any] | None = None) -> Any:
    """The content of a Series or an Index: an array, or a list of plain values."""
    dtype = holder.dtype
    if checked is None:
        how = _storage(pd, np, dtype)
    else:
        how = checked.get(dtype) or checked.setdefault(dtype, _storage(pd, np, dtype))
    if how == "array":
        a = holder.to_numpy()
        if type(a) is not np.ndarray or a.dtype != dtype or a.ndim != 1:
            raise _Unsupported("not a plain array")
        return np.ascontiguousarray(a)
    items = holder.tolist()
    for t in set(map(type, items)) - _PLAIN_TYPES:
        if not (issubclass(t, np.generic) and np.dtype(t).kind in "biufc"):
            raise _Unsupported(f"a {t.__name__} element")
    return items
