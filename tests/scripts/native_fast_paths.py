"""A heap for the native dumper's one-pass paths (own_columns, sequence_edges,
attr_edges_text, int_labels), each next to what must make it give way to the Python one: lists,
tuples and instances that refer to the dumper's own module and functions (the pass is undone),
classes that copy another builtin's C __sizeof__ (its objects are not that builtin's: the
descriptor's call refuses them), a __sizeof__ of Python code, ints of every size near the
edges of 63 bits and of the label limit, int, list and tuple subclasses.
tests/native.rs dumps it both ways (tests/scripts/native_equivalence.py) on 3.10-3.13."""

import gc
import sys

dumper = sys.modules["refgraph_dump"]

OWN_LIST = [dumper, 1, "a", dumper.dump]
OWN_TUPLE = (dumper, dumper.dump, 3)
OWN_DEEP = [[dumper], (dumper,), [1, 2, (dumper, 3)]]
OWN_LATE = [object() for _ in range(1000)] + [dumper] + [object() for _ in range(1000)]
OWN_LATE_TUPLE = tuple(object() for _ in range(1000)) + (dumper.dump,)
MODULES = [sys.modules["sys"], gc, tuple(sys.modules.values())]


class Plain:
    pass


PLAIN = [Plain() for _ in range(200)]
for i, p in enumerate(PLAIN):
    p.a = i
    p.b = object()
    if i == 50:
        p.module = dumper
    if i == 60:
        p.function = dumper.dump


class CopiesList:
    __sizeof__ = list.__sizeof__


class CopiesDict:
    __sizeof__ = dict.__sizeof__


class TupleCopiesStr(tuple):
    __sizeof__ = str.__sizeof__


class SizeofInPython(list):
    def __sizeof__(self):
        raise RuntimeError("a dump never calls this")


COPIES = [CopiesList() for _ in range(50)] + [CopiesDict() for _ in range(50)]
COPIES += [TupleCopiesStr((i, i)) for i in range(50)] + [SizeofInPython([1]) for _ in range(20)]


class MyInt(int):
    pass


class MyList(list):
    pass


class MyTuple(tuple):
    pass


INTS = [2 ** k + d for k in range(55, 70) for d in (-1, 0, 1)]
INTS += [-x for x in INTS] + [10 ** 100, 2 ** 199, 2 ** 200, 2 ** 201, -(2 ** 200), 2 ** 1000]
INTS += [MyInt(i) for i in range(100)] + [True, False]
SUBCLASSES = [MyList([1, object()]) for _ in range(30)] + [MyTuple((i, object())) for i in range(30)]
MIXED = [1, "a", 2.5, 10 ** 30, None, 2 ** 64, (1,), [2]] * 50
