"""Coverage cases: pandas (declare, change in place)."""
import numpy as np
import pandas as pd

frame = pd.DataFrame({"loss": [0.9, 0.7, 0.5], "acc": [0.1, 0.4, 0.6]})
frame.loc[3] = [0.4, 0.7]
frame["epoch"] = range(4)
series = pd.Series([1.0, 2.0, np.nan], name="grad_norm")
series.iloc[0] = 5.0
strings = pd.DataFrame({"name": ["a", "b", None], "n": [1, 2, 3]})
strings.loc[1, "name"] = "z"
categorical = pd.Series(["lo", "hi", "lo"], dtype="category")
categorical = categorical.cat.add_categories(["mid"])
nullable = pd.Series([1, None, 3], dtype="Int64")
nullable[1] = 2
dates = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=3, freq="D"), "v": [1, 2, 3]})
dates = dates.set_index("t")
tz_dates = pd.Series(pd.date_range("2024-01-01", periods=2, freq="h", tz="UTC"))
multi = pd.DataFrame({"a": [1, 2, 3, 4]},
                     index=pd.MultiIndex.from_product([["x", "y"], [0, 1]], names=["k", "i"]))
multi.loc[("x", 1), "a"] = 9
grouped = frame.groupby("epoch").mean()
with_attrs = pd.DataFrame({"a": [1]})
with_attrs.attrs["source"] = "synthetic"
index_obj = pd.Index(["a", "b", "c"], name="letters")
range_index = pd.RangeIndex(0, 10, 2)
interval = pd.Interval(0, 5, closed="left")
period = pd.Period("2024-03", freq="M")
timestamp = pd.Timestamp("2024-01-01 12:00", tz="Europe/Paris")
timedelta = pd.Timedelta("1 days 2 hours")
column_view = frame["loss"]
wide = pd.DataFrame(np.arange(40.0).reshape(4, 10), columns=[f"c{i}" for i in range(10)])
wide.iloc[2, 3] = -1
sparse = pd.Series(pd.arrays.SparseArray([0, 0, 1, 0]))
bools = pd.Series([True, False, True])
mixed_obj = pd.Series([1, "a", (1, 2)], dtype=object)
empty = pd.DataFrame(columns=["a", "b"])
frames_dict = {"train": frame, "val": frame.iloc[:2].copy()}

CASES = {
    "frame_numeric": ("frame", "[frame.to_dict('list'), list(frame.dtypes.astype(str))]"),
    "series_nan": ("series", "[series.tolist().__repr__(), series.name]"),
    "string_column": ("strings", "[strings.to_dict('list').__repr__(), list(strings.dtypes.astype(str))]"),
    "categorical": ("categorical", "[categorical.tolist(), list(categorical.cat.categories)]"),
    "nullable_int": ("nullable", "[repr(nullable.tolist()), str(nullable.dtype)]"),
    "datetime_index": ("dates", "[str(dates.index.freq), list(map(str, dates.index)), dates['v'].tolist()]"),
    "tz_series": ("tz_dates", "[list(map(str, tz_dates)), str(tz_dates.dtype)]"),
    "multiindex": ("multi", "[repr(multi.index.tolist()), multi['a'].tolist(), list(multi.index.names)]"),
    "groupby_result": ("grouped", "[grouped.to_dict('list'), grouped.index.name]"),
    "attrs": ("with_attrs", "[with_attrs.attrs]"),
    "index": ("index_obj", "[list(index_obj), index_obj.name]"),
    "range_index": ("range_index", "[repr(range_index)]"),
    "interval": ("interval", "[repr(interval)]"),
    "period": ("period", "[str(period), str(period + 1)]"),
    "timestamp_tz": ("timestamp", "[str(timestamp), str(timestamp.tz)]"),
    "timedelta": ("timedelta", "[str(timedelta)]"),
    "column_of_frame": ("column_view frame", "[column_view.tolist(), column_view.name]"),
    "wide": ("wide", "[float(wide.values.sum()), list(wide.columns)]"),
    "sparse": ("sparse", "[sparse.tolist(), str(sparse.dtype)]"),
    "bool_series": ("bools", "[bools.tolist(), str(bools.dtype)]"),
    "object_series": ("mixed_obj", "[repr(mixed_obj.tolist())]"),
    "empty_frame": ("empty", "[list(empty.columns), len(empty)]"),
    "dict_of_frames": ("frames_dict frame", "[frames_dict['train'] is frame, frames_dict['val'].to_dict('list')]"),
}
