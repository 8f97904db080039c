"""Coverage cases: numpy (declare, change in place)."""
import numpy as np

rng = np.random.default_rng(0)
weights = rng.normal(size=(4, 3)).astype(np.float32)
weights[0, 0] = 5.0
f_order = np.asfortranarray(rng.normal(size=(3, 5)))
f_order[1, 1] = -1
row_view = weights[1]
row_view += 1
col_slice = weights[:, 1]
transposed = weights.T
strided = weights[::2, ::-1]
offset_view = weights.ravel()[3:9]
broadcast = np.broadcast_to(np.arange(3.0), (4, 3))
readonly = np.arange(6.0)
readonly.flags.writeable = False
empty = np.zeros((0, 3))
zero_d = np.array(3.5)
scalar64 = np.float64(2.5)
scalar32 = np.float32(1.25)
int_scalar = np.int64(-7)
bool_arr = rng.random(8) > 0.5
int8 = np.arange(-4, 4, dtype=np.int8)
uint16 = np.arange(10, dtype=np.uint16) * 3
float16 = np.linspace(0, 1, 5, dtype=np.float16)
complex_arr = np.array([1 + 2j, 3 - 1j])
datetimes = np.array(["2024-01-01", "2024-03-05"], dtype="datetime64[D]")
timedeltas = np.array([1, 5], dtype="timedelta64[h]")
strings = np.array(["cat", "dog", "bird"])
bytes_arr = np.array([b"ab", b"c"])
object_arr = np.array([{"a": 1}, [1, 2], None], dtype=object)
object_arr[1].append(3)
records = np.zeros(3, dtype=[("id", "i4"), ("score", "f8"), ("tag", "U4"), ("xy", "f4", (2,))])
records["score"] = [0.5, 0.25, 0.125]
records[1]["tag"] = "b"
record_field = records["score"]
nested_dtype = np.zeros(2, dtype=[("pos", [("x", "f4"), ("y", "f4")]), ("n", "i2")])
nested_dtype["pos"]["y"] = 2
recarray = np.rec.array([(1, 2.0), (3, 4.0)], names="a,b")
masked = np.ma.masked_array([1.0, 2.0, 3.0, 4.0], mask=[0, 1, 0, 0])
masked[0] = np.ma.masked
hard = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0], hard_mask=True)
hard[1] = 10
matrix_like = np.arange(12).reshape(3, 4)
matrix_like[matrix_like > 6] = 0
nan_arr = np.array([1.0, np.nan, np.inf, -np.inf])
big = np.arange(300_000, dtype=np.float64)
big[-1] = -1
shared_a = np.ones(4)
holder = {"a": shared_a, "again": shared_a}
arr_list = [np.zeros(2), np.ones(2)]
arr_list[0][1] = 7
legacy_state = np.random.RandomState(3)
legacy_state.rand()
generator = np.random.default_rng(5)
generator.random()
dtype_obj = np.dtype("float32")
finfo = np.finfo(np.float32)
memmap_like = np.frombuffer(bytearray(b"\x01\x02\x03\x04"), dtype=np.uint8)
poly = np.polynomial.Polynomial([1, 2, 3])
ufunc = np.add

CASES = {
    "float32_matrix": ("weights", "sig(weights)"),
    "fortran_order": ("f_order", "[sig(f_order), f_order.flags.f_contiguous]"),
    "row_view": ("row_view weights", "[sig(row_view), np.shares_memory(row_view, weights)]"),
    "column_view": ("col_slice weights", "[sig(col_slice), np.shares_memory(col_slice, weights)]"),
    "transpose_view": ("transposed weights", "[sig(transposed), np.shares_memory(transposed, weights)]"),
    "negative_strides": ("strided weights", "[sig(strided), np.shares_memory(strided, weights)]"),
    "offset_view": ("offset_view weights", "[sig(offset_view), np.shares_memory(offset_view, weights)]"),
    "broadcast": ("broadcast", "[sig(broadcast)]"),
    "readonly": ("readonly", "[sig(readonly), readonly.flags.writeable]"),
    "empty": ("empty", "sig(empty)"),
    "zero_d": ("zero_d", "[sig(zero_d), float(zero_d)]"),
    "float64_scalar": ("scalar64", "[sig(scalar64)]"),
    "float32_scalar": ("scalar32", "[sig(scalar32)]"),
    "int_scalar": ("int_scalar", "[sig(int_scalar)]"),
    "bool": ("bool_arr", "sig(bool_arr)"),
    "int8": ("int8", "sig(int8)"),
    "uint16": ("uint16", "sig(uint16)"),
    "float16": ("float16", "sig(float16)"),
    "complex": ("complex_arr", "sig(complex_arr)"),
    "datetime64": ("datetimes", "[sig(datetimes), str(datetimes[1] - datetimes[0])]"),
    "timedelta64": ("timedeltas", "sig(timedeltas)"),
    "unicode": ("strings", "[sig(strings), strings.tolist()]"),
    "bytes": ("bytes_arr", "[sig(bytes_arr), bytes_arr.tolist()]"),
    "object_dtype": ("object_arr", "sig(object_arr)"),
    "structured": ("records", "[sig(records), records['tag'].tolist(), records[1]['xy'].tolist()]"),
    "structured_field_view": ("record_field records",
                              "[sig(record_field), np.shares_memory(record_field, records)]"),
    "nested_structured": ("nested_dtype", "[sig(nested_dtype), nested_dtype['pos']['y'].tolist()]"),
    "recarray": ("recarray", "[type(recarray).__name__, recarray.a.tolist(), recarray.b.tolist()]"),
    "masked": ("masked", "sig(masked)"),
    "masked_hardmask": ("hard", "sig(hard)"),
    "boolean_assign": ("matrix_like", "sig(matrix_like)"),
    "non_finite": ("nan_arr", "sig(nan_arr)"),
    "large": ("big", "[sig(big), float(big.sum())]"),
    "shared_array": ("holder shared_a", "[holder['a'] is holder['again'] is shared_a]"),
    "list_of_arrays": ("arr_list", "sig(arr_list)"),
    "random_state": ("legacy_state", "[legacy_state.rand()]"),
    "generator": ("generator", "[generator.random()]"),
    "dtype": ("dtype_obj", "[str(dtype_obj)]"),
    "finfo": ("finfo", "[float(finfo.eps)]"),
    "frombuffer": ("memmap_like", "[sig(memmap_like), memmap_like.flags.writeable]"),
    "polynomial": ("poly", "[poly(2.0), poly.coef.tolist()]"),
    "ufunc": ("ufunc", "[ufunc is np.add]"),
}
