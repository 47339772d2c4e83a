"""A native dump makes no __dict__ objects, and names instances' attributes right.

    python native_no_dicts.py DUMPER_DIR SNAPSHOT

10,000 instances whose attributes live where CPython keeps them without a dict (3.11+: the
managed values), and the cases around it: attributes set in different orders per instance,
deleted attributes, more than 30 attributes (more than the shared keys hold), a class whose
instances partly got a __dict__ (vars()) before the dump, subclass instances, an instance whose
__dict__ was replaced. The program counts its own dicts (gc.get_objects()) before and after a
native dump(): none may be new. Then every instance's references in the snapshot must be its
attributes, named .name in its __dict__'s order, then its class; or, only where the __dict__
existed before the dump, .__dict__ and .__class__. Prints `ok`.
"""

import gc
import json
import sys
import types

sys.path.insert(0, sys.argv[1])
import refgraph_dump  # noqa: E402

del sys.path[0]


class Plain:
    def __init__(self, i):
        names = ("a", "b", "c", "d") if i % 4 else ("d", "c", "a", "b")
        for name in names[:1 + i % 4]:
            setattr(self, name, [i, name])
        if i % 7 == 3 and hasattr(self, "a"):
            del self.a
        if i % 11 == 5 and hasattr(self, "b"):
            del self.b
            self.b = [i, "again"]


class Sub(Plain):
    def __init__(self, i):
        self.z = [i, "z"]
        Plain.__init__(self, i)


class Big:
    def __init__(self, i):
        for j in range(35):
            setattr(self, "f%d" % j, [i, j])


class Partly:
    def __init__(self, i):
        self.p = [i]
        self.q = [i, "q"]


class Replaced:
    def __init__(self, i):
        self.r = [i]


KEEP = [Plain(i) for i in range(6000)] + [Sub(i) for i in range(2000)]
KEEP += [Big(i) for i in range(500)] + [Partly(i) for i in range(1000)]
KEEP += [Replaced(i) for i in range(500)]
VIEWS = [vars(o) for o in KEEP if type(o) is Partly and o.p[0] % 2]   # made by the program
for o in KEEP:
    if type(o) is Replaced and o.r[0] % 3 == 0:
        o.__dict__ = {"s": [o.r[0]], "r": o.r}

assert refgraph_dump._use_native(True) == "native", "the native dumper did not load"
gc.collect()
BEFORE = {id(o) for o in gc.get_objects() if type(o) is dict}
RESULT = refgraph_dump.dump(sys.argv[2], collect=False)
gc.collect()         # the dumper's own cyclic temporaries, if any: not what is counted here
NEW = [o for o in gc.get_objects() if type(o) is dict and id(o) not in BEFORE and o is not RESULT]
# a suspended generator's or frame's locals dict (f_locals) is another residual effect
# (FORMAT.md): not an instance's
FRAMES = (types.FrameType, types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
NEW = [d for d in NEW if not any(type(r) in FRAMES for r in gc.get_referrers(d))]
assert not NEW, "%d dicts made by the dump, e.g. %r" % (len(NEW), sorted(NEW[0])[:8])

names, found = [], {}
with open(sys.argv[2]) as f:
    for line in f:
        rec = json.loads(line)
        if rec["kind"] == "types":
            names[rec["base"]:] = [tuple(n) for n in rec["names"]]
        elif rec["kind"] == "objects":
            r = e = 0
            for i, oid in enumerate(rec["id"]):
                n = rec["nrefs"][i]
                refs = rec["refs"][r:r + n]
                if rec["flags"][i] & 4:
                    labels = ["[%d]" % j for j in range(n)]
                else:
                    labels, e = rec["edge_labels"][e:e + n], e + n
                r += n
                if names[rec["type"][i]][0] == "__main__":
                    found[oid] = list(zip(refs, labels))

inline = through_dict = 0
for o in KEEP:
    got = found[id(o)]
    d = vars(o)          # made now, after the dump, where it did not exist
    if got == [(id(d), ".__dict__"), (id(type(o)), ".__class__")]:
        assert id(d) in BEFORE, ("a __dict__ the dump made is in the snapshot", type(o), got)
        through_dict += 1
        continue
    want = [(id(v), "." + k) for k, v in d.items()] + [(id(type(o)), ".__class__")]
    assert got == want, (type(o).__name__, got, want)
    assert id(d) not in BEFORE, ("named inline although its __dict__ existed", got)
    inline += 1
# which were read without a dict: all but the ones with a __dict__ from the program (and, where
# the interpreter made one for >30 attributes, those); before 3.11 every instance has its dict
if sys.version_info >= (3, 11):
    assert inline >= 6000 + 2000 + 500 + 333, inline
    assert through_dict >= 500 + 167, through_dict
else:
    assert inline == 0, inline
print("ok")
