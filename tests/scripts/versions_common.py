"""Ground truth for tests/versions.rs, computed in the observed process itself.

Each versions_*.py program is run as `PYTHON PROGRAM DUMPER_DIR SNAPSHOT TRUTH.json`: it builds
its heap, calls record() (the live heap as gc sees it, written to TRUTH.json), then dump()
(the snapshot). The test compares what refgraph answers about the snapshot with the truth.

The truth, per chosen object (a global of __main__, by name):
  id         "0x…", as refgraph writes ids
  referents  every object gc.get_referents reports for it: each must be a reference in the
             snapshot (unless `expected` overrides gc's view, see record())
  referrers  every tracked object gc.get_referrers reports (but record()'s own): each must be a
             referrer in the snapshot
and for the heap:
  types      {"__main__.Class": count of live instances (all gc-tracked)}
  retained   {name: bytes the object keeps alive, computed here}
  edges      {"0x…": ids of gc.get_referents} for every object on a path from __main__'s
             module to each chosen object: a chain's every step must be among them
"""
import gc
import json
import sys

MAIN = sys.modules["__main__"]


def hexid(o):
    return "0x%x" % id(o)


def dumper():
    """The dumper module, from DUMPER_DIR (argv[1])."""
    sys.path.insert(0, sys.argv[1])
    import refgraph_dump
    return refgraph_dump


def record(names, classes=(), retained=(), expected=None, extra=None):
    """Write the truth file (argv[3]). names: globals of __main__ to check; classes: classes
    whose instances are counted; retained: {name: bytes}; expected: {name: [objects]} where the
    snapshot's references deliberately differ from gc's (FORMAT.md, where versions differ)."""
    g = vars(MAIN)
    chosen = [g[n] for n in names]
    own = {id(chosen), id(sys._getframe())}
    truth = {"python": list(sys.version_info[:3]), "objects": {}, "types": {},
             "retained": dict(retained), "edges": {}, "extra": extra or {}}
    for i in range(len(names)):        # (zip's result tuple would be a referrer)
        name, obj = names[i], chosen[i]
        refs = (expected or {}).get(name)
        if refs is None:
            refs = gc.get_referents(obj)
        referrers = [r for r in gc.get_referrers(obj)
                     if id(r) not in own and type(r).__name__ != "frame"]
        truth["objects"][name] = {
            "id": hexid(obj),
            "referents": [hexid(r) for r in refs],
            "referrers": [hexid(r) for r in referrers],
        }
    for cls in classes:
        count = sum(1 for o in gc.get_objects() if type(o) is cls)
        truth["types"]["%s.%s" % (cls.__module__, cls.__qualname__)] = count
    obj = None
    for path in paths_to(chosen):
        for o in path:
            truth["edges"][hexid(o)] = [hexid(r) for r in gc.get_referents(o)]
    chosen = None
    with open(sys.argv[3], "w") as f:
        json.dump(truth, f)


def paths_to(targets, limit=4):
    """Paths (lists of objects) from __main__'s module to each target, found by a BFS over
    gc.get_referents, at most `limit` long."""
    wanted = {id(t) for t in targets}
    parent = {id(MAIN): None}
    objs = {id(MAIN): MAIN}
    frontier = [MAIN]
    for _ in range(limit):
        nxt = []
        for o in frontier:
            for r in gc.get_referents(o):
                if id(r) not in parent:
                    parent[id(r)] = id(o)
                    objs[id(r)] = r
                    nxt.append(r)
        frontier = nxt
    out = []
    for t in wanted:
        if t in parent:
            path, at = [], t
            while at is not None:
                path.append(objs[at])
                at = parent[at]
            out.append(path)
    return out


def retained_size(root, stop=()):
    """What `root` alone keeps alive: the objects reachable from it (not through `stop`:
    classes, modules, shared objects) that no object outside that set refers to, found as a
    fixed point over gc.get_referrers. Sizes are sys.getsizeof."""
    stop_ids = {id(s) for s in stop}
    inside = {id(root): root}
    todo = [root]
    while todo:
        o = todo.pop()
        for r in gc.get_referents(o):
            if id(r) not in inside and id(r) not in stop_ids and not isinstance(r, type):
                inside[id(r)] = r
                todo.append(r)
    own = {id(inside), id(todo), id(sys._getframe())}
    changed = True
    while changed:
        changed = False
        for key in list(inside):        # (items() tuples would be referrers)
            o = inside[key]
            if o is root:
                continue
            holders = [h for h in gc.get_referrers(o) if id(h) not in own
                       and type(h).__name__ != "frame"]
            if any(id(h) not in inside for h in holders):
                del inside[key]
                changed = True
    # what is no longer reachable from the root inside the set is not retained by it
    reach, todo = {id(root)}, [root]
    while todo:
        for r in gc.get_referents(todo.pop()):
            if id(r) in inside and id(r) not in reach:
                reach.add(id(r))
                todo.append(r)
    return sum(sys.getsizeof(inside[k]) for k in reach)
