"""refgraph.objgraph's in-process walk: objgraph's pictures and chains read from the live heap,
without a snapshot, when the dumper's native accelerator is loaded.

objgraph asks `gc.get_referrers` once per object its backrefs pictures and chains reach, and
each call walks the whole heap: on a heap of a million objects a chain to a module costs
seconds. Here the referrers of a whole breadth-first level are found in one pass (the
accelerator's `referrers_of`, the collector's own `tp_traverse` walk over `gc.get_objects()`),
so a picture or chain costs one pass per level. The walk is objgraph's own (`_show_graph`,
`_find_chain`): the same collection first, the same order of neighbours (the collector's),
`filter` and `too_many` applied the same way, modules of sys.modules not expanded upward. The
drawn objects are then described as a dump records them (`_dump.describe`: type, safe label,
named references): no `repr()` of the program's objects runs.
"""

import _thread
import gc

from . import _dump
from ._objgraph_private import _path_back

# ids of the containers of every walk running now (in any thread, or nested in a `filter`) that
# hold the program's objects: the heap list, the answers, the walk's maps. A walk started
# meanwhile finds them among gc.get_objects() and must not draw them as referrers (objgraph
# leaves out its own containers the same way, by id).
_BUSY = set()
# Held from the making of such a container until its id is in _BUSY, and while a walk takes its
# gc.get_objects() and the ids busy then (the only such containers it can meet: they stay alive
# in its list even after their walk ends). Without it a walk in another thread that gets the GIL
# in between (a long C call such as gc.get_objects() gives it up right after) would see a
# container unregistered.
_REGISTER = _thread.RLock()     # reentrant: a finalizer run by a collection may ask too


def _busy(make):
    """make(), registered in _BUSY before any other walk can look."""
    with _REGISTER:
        made = make()
        _BUSY.add(id(made))
    return made


def available():
    """Whether the walk can run here: the accelerator is loaded (REFGRAPH_NATIVE=0 turns it
    off, and the drop-in then asks the engine on a snapshot)."""
    native = _dump._native_module
    return native is not None and hasattr(native, "referrers_of")


class Heap:
    """The gc-tracked objects of the process after a collection (objgraph collects before each
    walk), asked for referrers a level at a time. Objects made after it (the walk's own lists
    and dicts) are never referrers."""

    def __init__(self):
        gc.collect()
        with _REGISTER:
            self._objs = _busy(gc.get_objects)
            self._foreign = frozenset(_BUSY)    # this walk's own list among them: no matter
        self._found = _busy(dict)

    def referrers(self, targets):
        """gc.get_referrers(t) for each of `targets`, from one pass for the ones not asked
        before; every answer is kept until close()."""
        want = _busy(lambda: [t for t in targets if id(t) not in self._found])
        answers = None
        try:
            answers = _busy(lambda: _dump._native_module.referrers_of(self._objs, want)
                            if want else [])
            foreign = self._foreign
            for t, found in zip(want, answers):
                if any(id(r) in foreign for r in found):
                    found = _busy(lambda: [r for r in found if id(r) not in foreign])
                else:
                    _BUSY.add(id(found))
                self._found[id(t)] = found
        finally:
            _BUSY.discard(id(want))
            _BUSY.discard(id(answers))
        return [self._found[id(t)] for t in targets]

    def has(self, target):
        return id(target) in self._found

    def close(self):
        """Drop the lists (they hold the program's objects)."""
        _BUSY.difference_update(map(id, self._found.values()))
        _BUSY.difference_update((id(self._objs), id(self._found)))
        self._objs = None
        self._found = {}


def _neighbours(heap, target, level, backrefs):
    """target's referrers (backrefs: with the rest of its `level` when first asked) or
    referents, as objgraph's edge function gives them."""
    if not backrefs:
        return gc.get_referents(target)
    if not heap.has(target):
        heap.referrers(level())
    return heap.referrers([target])[0]


def walk(objs, backrefs, max_depth, ignore, filter, too_many, cull):
    """objgraph's breadth-first walk of a picture from `objs`. Returns ({id: object}, the ids in
    BFS order, {id: depth}, {expanded id: [(referrer id, referent id)]}, {id: neighbours not
    drawn because of too_many}). `ignore`: ids never drawn; `cull(obj)`: drawn, not expanded.
    The {id: object} map stays in _BUSY: the caller discards it when done with the objects."""
    heap = Heap() if backrefs else None
    if heap is None:
        gc.collect()        # objgraph's walk collects first in both directions
    objects = _busy(dict)
    try:
        depth, order = {}, []
        for o in objs:
            if id(o) not in depth:
                objects[id(o)] = o
                depth[id(o)] = 0
                order.append(id(o))
        o = None

        def level(d, start):
            """The objects of depth d from order[start] on that will be expanded."""
            return [objects[j] for j in order[start:]
                    if depth[j] == d and (cull is None or not cull(objects[j]))]

        edges, skipped = {}, {}
        k = 0
        while k < len(order):
            i = order[k]
            d = depth[i]
            target = objects[i]
            if d >= max_depth or (cull is not None and cull(target)):
                k += 1
                continue
            neighbours = _neighbours(heap, target, lambda: level(d, k), backrefs)
            drawn = skip = 0
            found = []
            for n in neighbours:
                j = id(n)
                if j in ignore or (filter is not None and not filter(n)):
                    continue
                if drawn >= too_many:
                    skip += 1
                    continue
                found.append((j, i) if backrefs else (i, j))
                if j not in depth:
                    objects[j] = n
                    depth[j] = d + 1
                    order.append(j)
                drawn += 1
            n = neighbours = target = None
            edges[i] = found
            if skip:
                skipped[i] = skip
            k += 1
        return objects, order, depth, edges, skipped
    except BaseException:
        _BUSY.discard(id(objects))
        raise
    finally:
        if heap is not None:
            heap.close()


def chain(obj, predicate, backrefs, max_depth, ignore):
    """objgraph's `_find_chain`: the first object `predicate` accepts, breadth-first from `obj`
    along referrers (backrefs) or referents, and the chain [match, ..., obj] from it."""
    heap = Heap() if backrefs else None
    if heap is None:
        gc.collect()
    queue = _busy(list)
    queue.append(obj)
    parent = _busy(dict)
    parent[id(obj)] = None
    try:
        depth = {id(obj): 0}
        k = 0
        while k < len(queue):
            target = queue[k]
            if predicate(target):
                return _path_back(target, parent)
            d = depth[id(target)]
            if d + 1 > max_depth:
                k += 1
                continue
            neighbours = _neighbours(
                heap, target,
                lambda: [q for q in queue[k:] if depth[id(q)] == d and d + 1 <= max_depth],
                backrefs)
            for source in neighbours:
                if id(source) not in ignore and id(source) not in depth:
                    depth[id(source)] = d + 1
                    parent[id(source)] = target
                    queue.append(source)
            source = neighbours = None
            k += 1
        return [obj]
    finally:
        _BUSY.difference_update((id(queue), id(parent)))
        if heap is not None:
            heap.close()


def _type_name(cls, qualname):
    """A class's __name__ (objgraph's name for it; a class renamed after it was made keeps its
    old qualname), read by the C getter of `type`."""
    return _dump._class_name(cls, qualname.rsplit(".", 1)[-1])


def described(objects, order, edges):
    """The drawn objects as a dump records them: ({type key: (module, __name__)}, {id: type
    key}, {id: label}, {(referrer id, referent id): the reference's label or None})."""
    names, types, labels, edge_labels = {}, {}, {}, {}
    wanted = {}
    for pairs in edges.values():
        for a, b in pairs:
            wanted.setdefault(a, set()).add(b)
    rows = _dump.describe([objects[i] for i in order], [wanted.get(i, ()) for i in order])
    for i, row in zip(order, rows):
        type_name, label, refs = row
        cls = type(objects[i])
        types[i] = id(cls)
        names[id(cls)] = (type_name[0], _type_name(cls, type_name[1]))
        labels[i] = label
        want = wanted.get(i, ())
        for referent, ref_label in refs:
            j = id(referent)
            if j in want and (i, j) not in edge_labels:
                edge_labels[(i, j)] = ref_label
    rows = row = refs = referent = None    # they hold the drawn objects (refcounts=True)
    return names, types, labels, edge_labels
