"""Dump one heap with the native accelerator and in pure Python, and compare the graphs.

    python native_equivalence.py DUMPER_DIR OUT_DIR PROGRAM [ARGS...]

Runs PROGRAM (as __main__, through runpy; a SystemExit ends it as usual), or builds a heapgen
heap when PROGRAM is `heapgen:N`, having imported the dumper from DUMPER_DIR first (refgraph_dump.py,
with _refgraph_native.so beside it when it is there) and dumps five times: native (a warm-up:
the first dump leaves a few objects behind, which the later dumps see), native, Python, native,
Python. Prints `dumper: native|python` (what dump() chose by itself) and, when native ran:
`first same` or each difference between the first compared native snapshot and the Python one
after it (on a heap where no dump has read an instance's __dict__ yet: the Python dump makes
those dicts on 3.11-3.13, and an instance it records through its new dict must be the one the
native dump named by the same attributes, in the same order), then the objects/references
compared and `same` or each difference found between the second native snapshot and the
Python snapshots around it (an object must agree with one of them in everything).
"""

import gc
import json
import runpy
import sys

from os import rename

dumper_dir, out_dir, program = sys.argv[1], sys.argv[2], sys.argv[3]
# The dumper first, as under capture: the hostile programs patch builtins, os and time.
sys.path.insert(0, dumper_dir)
import refgraph_dump  # noqa: E402

del sys.path[0]
KEEP = []
if program.startswith("heapgen:"):
    sys.path.insert(0, sys.argv[4])
    import heapgen
    heapgen.build(int(program.split(":", 1)[1]))
else:
    sys.argv = sys.argv[3:]
    try:
        KEEP.append(runpy.run_path(program, run_name="__main__"))
    except SystemExit:
        pass
    sys.argv = ["native_equivalence.py"]



# The three dumps run from one loop line, with nothing of this script changing in between but
# WHICH (the mode) and STEP: its frame, globals and locals read the same in each snapshot.
PATH = out_dir + "/dump.rgsnap"
NAMES = [out_dir + "/warmup.rgsnap", out_dir + "/native0.rgsnap", out_dir + "/python1.rgsnap",
         out_dir + "/native.rgsnap", out_dir + "/python2.rgsnap"]
WHICH = [True, True, False, True, False]
STEP = [0]
CHOSE = [refgraph_dump._use_native(True)]
print("dumper: %s" % CHOSE[0])
while STEP[0] < 5 and CHOSE[0] == "native":
    refgraph_dump._use_native(WHICH[STEP[0]])
    refgraph_dump.dump(PATH)
    rename(PATH, NAMES[STEP[0]])
    STEP[0] += 1


def load(path):
    """id -> (type name, size, refcount, flags, label, [(ref id, edge label)]), and the other
    lines (roots, marks, threads) as sorted JSON texts."""
    objects, other, names = {}, [], []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            kind = rec["kind"]
            if kind == "types":
                names[rec["base"]:] = [tuple(n) for n in rec["names"]]
            elif kind == "objects":
                refs, labels, r, e = rec["refs"], rec["edge_labels"], 0, 0
                for i, oid in enumerate(rec["id"]):
                    n, flags = rec["nrefs"][i], rec["flags"][i]
                    mine = refs[r:r + n]
                    if flags & 4:
                        edge = ["[%d]" % j for j in range(n)]
                    else:
                        edge, e = labels[e:e + n], e + n
                    r += n
                    objects[oid] = (names[rec["type"][i]], rec["size"][i], rec["refcount"][i],
                                    flags, rec["label"][i], list(zip(mine, edge)))
            elif kind not in ("header", "end"):
                other.append(json.dumps(rec, sort_keys=True))
            elif kind == "header":
                header = rec
    return header, objects, sorted(other)


SHARED = {("builtins", "NoneType"), ("builtins", "bool"), ("builtins", "int")}


def shared_refcount_only(rec, *pythons):
    """None, True, False and the small ints differ only in refcount, by a few: every dump's own
    temporary lists (of flags, of pending ids, ...) hold some while they are counted, in the
    Python dumper too (documented residue: docs/FORMAT.md, `dumper`).
    Names of attributes (identifier strs) differ by a few on 3.10/3.11, whose type attribute
    cache holds a reference to each name recently looked up, the dumper's own lookups included:
    one entry per type a name was looked up on, while no other lookup took its slot. The two
    dumpers do not make the same lookups (the native one calls C __sizeof__ functions itself):
    `__sizeof__` was seen 3 apart. 3.12+ hold none: there the snapshots agree exactly."""
    if rec[0] == ("builtins", "str") and type(rec[4]) is str and rec[4][1:-1].isidentifier():
        limit = 4
    elif rec[0] not in SHARED or (rec[0][1] == "int" and not -5 <= int(rec[4]) <= 256):
        return False
    else:
        limit = 100
    return any(p is not None and p[:2] == rec[:2] and p[3:] == rec[3:]
               and abs(p[2] - rec[2]) <= limit for p in pythons)


def through_dict(rec, python, objects):
    """An instance the native dump named by its attributes (.name ..., .__class__: it had no
    __dict__ object) that the Python dump, reading its __dict__ and so making one, recorded
    through that dict (.__dict__, .__class__), the dict holding the same attributes in the
    same order: the one difference a native dump on 3.11-3.13 may have (FORMAT.md, residual
    effects). Returns the dict's id, or None."""
    if python is None or python[:5] != rec[:5] or len(python[5]) != 2 \
            or python[5][0][1] != ".__dict__" or python[5][1] != rec[5][-1] \
            or rec[5][-1][1] != ".__class__":
        return None
    d = objects.get(python[5][0][0])
    if d is None or d[0] != ("builtins", "dict"):
        return None
    values = d[5][1::2]
    want = [(v, "." + label[2:-2]) for v, label in values] + [rec[5][-1]]
    keys_ok = all(label == "key " + v[1:-1] for (_, label), (_, v) in zip(d[5][0::2], values))
    return python[5][0][0] if keys_ok and want == rec[5] else None


if CHOSE[0] == "native":
    # the first native dump, on a heap no dump has touched: it must agree with the Python dump
    # after it but for instances whose __dict__ only that Python dump made
    first, python1 = load(NAMES[1]), load(NAMES[2])
    problems, made = [], set()
    for oid, rec in first[1].items():
        if oid == id(STEP):
            continue
        p = python1[1].get(oid)
        if rec == p or shared_refcount_only(rec, p):
            continue
        if p is not None and p[:2] == rec[:2] and p[3:] == rec[3:] and min(p[2], rec[2]) > 2**30:
            continue         # immortal (3.12+): a count of nothing, which readings may move
        d = through_dict(rec, p, python1[1])
        if d is not None:
            made.add(d)
            continue
        problems.append("object %d: first native %r, python %r" % (oid, rec, p))
    for d in made:
        if d in first[1]:
            problems.append("object %d: a made __dict__ in the native snapshot" % d)
    print("first native dump: %d objects, %d named without their __dict__" % (
        len(first[1]), len(made)))
    for p in problems[:20]:
        print("DIFF " + p)
    print("first same" if not problems else "first: %d differences" % len(problems))
    NAMES = NAMES[2:]
    before, native, after = load(NAMES[0]), load(NAMES[1]), load(NAMES[2])
    assert native[0]["dumper"] == "native" and before[0]["dumper"] == "python"
    problems = []
    for oid, rec in native[1].items():
        if oid == id(STEP):      # the loop's counter: 1 here, 0 and 2 around it
            continue
        if rec != before[1].get(oid) and rec != after[1].get(oid) \
                and not shared_refcount_only(rec, before[1].get(oid), after[1].get(oid)):
            problems.append("object %d: native %r, python %r / %r"
                            % (oid, rec, before[1].get(oid), after[1].get(oid)))
    for oid in set(before[1]) & set(after[1]):
        if oid not in native[1] and before[1][oid] == after[1][oid]:
            problems.append("object %d missing from native: %r" % (oid, before[1][oid]))
    if native[2] != before[2] and native[2] != after[2]:
        problems.append("roots/marks/threads differ:\n%s\n%s"
                        % (set(native[2]) - set(before[2]), set(before[2]) - set(native[2])))
    edges = sum(len(r[5]) for r in native[1].values())
    print("compared %d objects, %d references" % (len(native[1]), edges))
    for p in problems[:20]:
        print("DIFF " + p)
    print("same" if not problems else "%d differences" % len(problems))
sys.stdout.flush()
