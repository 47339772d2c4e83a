# Objects of C extension types, some in states where reading them fails (a released
# memoryview, a closed sqlite3 connection, a closed BytesIO): the dump completes and the
# objects are in it.
import array
import collections
import ctypes
import datetime
import decimal
import functools
import io
import itertools
import re
import sqlite3
import sys

from hostile_common import arm, dump_if_asked, hook


class Callback:
    def __call__(self, *args):
        return hook("Callback.__call__")

    def __repr__(self):
        return hook("Callback.__repr__", "Callback")


connection = sqlite3.connect(":memory:")
connection.execute("create table t (x)")
connection.executemany("insert into t values (?)", [(i,) for i in range(10)])
connection.create_function("hostile", 1, Callback())
connection.set_progress_handler(Callback(), 1_000_000)
cursor = connection.execute("select x from t")
cursor.fetchone()
closed = sqlite3.connect(":memory:")
closed.close()

buffer = bytearray(b"exported")
view = memoryview(buffer)
released = memoryview(b"released")
released.release()
closed_io = io.BytesIO(b"closed")
closed_io.close()

objects = {
    "array": array.array("d", range(1000)),
    "array_u": array.array("u", "text"),
    "decimal": decimal.Decimal("3.14159265358979323846264338327950288"),
    "decimal_context": decimal.getcontext(),
    "sqlite_connection": connection,
    "sqlite_cursor": cursor,
    "sqlite_closed": closed,
    "deque": collections.deque(range(100), maxlen=200),
    "defaultdict": collections.defaultdict(Callback(), {"a": 1}),
    "ordered": collections.OrderedDict(a=1, b=Callback()),
    "counter": collections.Counter("hostile"),
    "chainmap": collections.ChainMap({"a": 1}, {"b": Callback()}),
    "bytesio": io.BytesIO(b"x" * 1000),
    "bytesio_closed": closed_io,
    "stringio": io.StringIO("text"),
    "memoryview": view,
    "memoryview_released": released,
    "memoryview_cast": memoryview(bytes(64)).cast("I"),
    "ctypes_int": ctypes.c_int(42),
    "ctypes_array": (ctypes.c_char * 16)(),
    "ctypes_pointer": ctypes.pointer(ctypes.c_double(1.5)),
    "ctypes_callback": ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 0),
    "partial": functools.partial(Callback(), 1, key=Callback()),
    "count": itertools.count(10),
    "cycle": itertools.cycle([Callback()]),
    "tee": itertools.tee(iter([Callback(), 2]))[0],
    "pattern": re.compile(r"(?P<word>\w+)"),
    "match": re.match(r"(\w+)", "hostile words"),
    "datetime": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
    "slice": slice(1, Callback(), 3),
    "range": range(10 ** 20),
    "big_int": 10 ** 5000,
    "complex": complex(1, -2),
    "ellipsis": Ellipsis,
    "not_implemented": NotImplemented,
    "exception": ValueError("boom", Callback()),
}
try:
    raise KeyError("with a traceback")
except KeyError as e:
    objects["exception_with_traceback"] = e


def generator():
    local = Callback()
    yield local


objects["generator"] = generator()
next(objects["generator"])

arm()
dump_if_asked()
print("C extension objects ready: %d" % len(objects))
sys.stdout.flush()
