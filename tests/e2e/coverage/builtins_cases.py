"""Coverage cases: builtins and the standard library (declare, change in place)."""
import array
import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import io
import itertools
import operator
import pathlib
import queue
import random
import re
import types
import uuid

Point = collections.namedtuple("Point", "x y")


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Flag(enum.IntFlag):
    READ = 1
    WRITE = 2


@dataclasses.dataclass
class Config:
    lr: float = 0.1
    layers: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Frozen:
    name: str
    size: int


class Registry:
    items: list = []  # noqa: RUF012 - class state the script changes (the case)
    count = 0


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = 1
        self.b = [1, 2]


class Node:
    def __init__(self, value):
        self.value = value
        self.children = []


def scale(x, factor=2, *, shift=0):
    return x * factor + shift


# containers changed in place
lst = [1, 2, 3]
lst.append([4, 5])
lst[3].append(6)
dct = {"a": 1}
dct["b"] = [1, 2]
dct.setdefault("c", {}).update(x=1)
st = {1, 2}
st.add(3)
nested_shared = [1]
pair = {"left": nested_shared, "right": nested_shared}
nested_shared.append(2)
cyclic = [1]
cyclic.append(cyclic)
tup_mut = ([1], [2])
tup_mut[0].append(9)
big_list = list(range(5000))
big_list[10] = -1
ba = bytearray(b"abc")
ba.extend(b"def")
mv = memoryview(bytearray(b"hello"))
mv[0] = ord("j")
arr = array.array("d", [1.0, 2.0])
arr.append(3.5)
dq = collections.deque([1, 2, 3], maxlen=5)
dq.appendleft(0)
ctr = collections.Counter("abracadabra")
ctr.update("aaa")
odict = collections.OrderedDict(a=1, b=2)
odict.move_to_end("a")
ddict = collections.defaultdict(list)
ddict["x"].append(1)
chain = collections.ChainMap({"a": 1}, {"b": 2})
chain["c"] = 3
pt = Point(1, 2)
pt_class = Point
color = Color.GREEN
color_class = Color
by_color = {Color.RED: 0.5, Color.GREEN: 0.25}
flag = Flag.READ | Flag.WRITE
cfg = Config()
cfg.layers.append(64)
cfg.lr = 0.01
frozen = Frozen("x", 3)
Registry.items.append("conv")
Registry.count = 7
registry_class = Registry
slotted = Slotted()
slotted.b.append(3)
tree = Node(0)
tree.children.append(Node(1))
tree.children[0].children.append(tree)
p = functools.partial(scale, 3)
p2 = functools.partial(p, 5)
method = tree.__class__.__init__
bound = tree.children.append
getter = operator.itemgetter(1, 0)
attr = operator.attrgetter("value")
none_type = type(None)
rng_obj = range(2, 20, 3)
rng_type = range
slc = slice(1, 10, 2)
slc_type = slice
ellipsis = ...
not_impl = NotImplemented
dec = decimal.Decimal("1.10")
frac = fractions.Fraction(3, 7)
cplx = complex(1, -2)
big_int = 2**100 + 1
neg_zero = -0.0
nan = float("nan")
inf = float("-inf")
when = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)
day = datetime.date(2024, 5, 1)
delta = datetime.timedelta(days=2, seconds=5)
path = pathlib.Path("data") / "train.csv"
ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
pattern = re.compile(r"(\d+)-(\w+)", re.IGNORECASE)
match = pattern.match("12-ab")
ns = types.SimpleNamespace(epochs=3)
ns.history = [0.5]
sio = io.StringIO()
sio.write("log line\n")
bio = io.BytesIO(b"\x00\x01")
bio.seek(1)
rnd = random.Random(7)
rnd.random()
q = queue.Queue()
q.put(1)
counter = itertools.count(5)
next(counter)
surrogate = "bad \udcff byte"
lam = lambda x: x + 1
text_keys = {("a", 1): [1], frozenset({2}): "f"}

CASES = {
    "list_nested_append": ("lst", "sig(lst)"),
    "dict_update": ("dct", "sig(dct)"),
    "set_add": ("st", "sig(st)"),
    "shared_in_dict": ("pair nested_shared", "[pair['left'] is pair['right'] is nested_shared]"),
    "cyclic_list": ("cyclic", "[cyclic[1] is cyclic, cyclic[0]]"),
    "tuple_of_lists": ("tup_mut", "sig(tup_mut)"),
    "big_list": ("big_list", "[sum(big_list), big_list[10]]"),
    "bytearray": ("ba", "sig(ba) + [type(ba).__name__]"),
    "memoryview": ("mv", "[type(mv).__name__, bytes(mv), mv.readonly]"),
    "array_array": ("arr", "[type(arr).__name__, arr.typecode, list(arr)]"),
    "deque_maxlen": ("dq", "[list(dq), dq.maxlen]"),
    "counter": ("ctr", "sig(ctr)"),
    "ordered_dict": ("odict", "sig(odict)"),
    "defaultdict": ("ddict", "[sig(ddict), ddict.default_factory is list, ddict['new']]"),
    "chainmap": ("chain", "[dict(chain), len(chain.maps)]"),
    "namedtuple_instance": ("pt", "[sig(pt), pt.x, type(pt) is Point]"),
    "namedtuple_class": ("pt_class", "[pt_class is Point, pt_class(3, 4).y]"),
    "enum_member": ("color", "[color is Color.GREEN, color.value]"),
    "enum_class": ("color_class", "[color_class is Color, [c.name for c in color_class]]"),
    "enum_keyed_dict": ("by_color", "[sig(by_color), by_color[Color.RED]]"),
    "int_flag": ("flag", "[int(flag), Flag.READ in flag]"),
    "dataclass": ("cfg", "[sig(cfg), cfg == Config(0.01, [64])]"),
    "frozen_dataclass": ("frozen", "[sig(frozen), hash(frozen) == hash(Frozen('x', 3))]"),
    "class_attrs_mutated": ("registry_class", "[registry_class.items, registry_class.count]"),
    "slots_instance": ("slotted", "[slotted.a, slotted.b]"),
    "object_graph_cycle": ("tree", "[tree.children[0].children[0] is tree, tree.children[0].value]"),
    "partial": ("p", "[p(1), p.args]"),
    "partial_of_partial": ("p2 p", "[p2.func is p, p2.func is scale, p2(shift=1), p2.args]"),
    "unbound_function": ("method", "[method is Node.__init__]"),
    "bound_method": ("bound tree", "[bound.__self__ is tree.children]"),
    "itemgetter": ("getter", "[getter([5, 6])]"),
    "attrgetter": ("attr tree", "[attr(tree)]"),
    "none_type": ("none_type", "[none_type is type(None)]"),
    "range": ("rng_obj", "[list(rng_obj), type(rng_obj).__name__]"),
    "range_type": ("rng_type", "[rng_type is range]"),
    "slice": ("slc", "[slc.indices(20), type(slc).__name__]"),
    "slice_type": ("slc_type", "[slc_type is slice]"),
    "ellipsis": ("ellipsis", "[ellipsis is ...]"),
    "not_implemented": ("not_impl", "[not_impl is NotImplemented]"),
    "decimal": ("dec", "[str(dec), type(dec).__name__]"),
    "fraction": ("frac", "[str(frac)]"),
    "complex": ("cplx", "[repr(cplx)]"),
    "big_int": ("big_int", "[str(big_int)]"),
    "negative_zero": ("neg_zero", "[repr(neg_zero)]"),
    "nan_inf": ("nan inf", "[repr(nan), repr(inf)]"),
    "datetime_tz": ("when", "[when.isoformat()]"),
    "date_timedelta": ("day delta", "[(day + delta).isoformat(), delta.total_seconds()]"),
    "pathlib": ("path", "[str(path), type(path).__name__]"),
    "uuid": ("ident", "[str(ident)]"),
    "regex_pattern": ("pattern", "[pattern.pattern, pattern.flags, pattern.findall('1-a 2-b')]"),
    "regex_match": ("match", "[match.groups() if match else None]"),
    "simple_namespace": ("ns", "sig(ns)"),
    "string_io": ("sio", "[sio.getvalue(), sio.tell()]"),
    "bytes_io": ("bio", "[bio.getvalue(), bio.tell()]"),
    "random_instance": ("rnd", "[rnd.random()]"),
    "queue": ("q", "[q.qsize()]"),
    "itertools_count": ("counter", "[next(counter)]"),
    "lone_surrogate": ("surrogate", "[surrogate.encode('utf-8', 'surrogateescape').hex()]"),
    "lambda": ("lam", "[lam(1)]"),
    "tuple_keys": ("text_keys", "sig(text_keys)"),
}
