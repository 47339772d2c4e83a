"""objgraph's API, answered by refgraph: `import refgraph.objgraph as objgraph`.

Every public function of objgraph 3.7 with its signature, defaults and printed output.
Counting questions (count, typestats, most_common_types, show_most_common_types, growth,
show_growth, get_new_ids, by_type, get_leaking_objects, at, at_addrs) are objgraph's own
semantics, counts of the live gc-tracked objects: they are answered here, in one pass over
gc.get_objects() (grouped by the dumper's native accelerator when it is loaded), so they are
always fresh and never dump.

Graph and chain questions (show_refs, show_backrefs, show_chain, find_ref_chain,
find_backref_chain) are answered one of two ways:
- With the dumper's native accelerator loaded (CPython 3.10-3.13 on 64-bit Linux; not with
  REFGRAPH_NATIVE=0): objgraph's own walk of the live heap, in the process (refgraph._live).
  objgraph calls gc.get_referrers once per object it reaches, a whole-heap scan each; here the
  referrers of a whole breadth-first level come from one scan in C. The answers are objgraph's
  (the same collection first, neighbours in the collector's order, `filter` and `too_many`
  applied the same way), always fresh, and no snapshot is taken.
- Otherwise: one implicit `refgraph.session()` (a snapshot of this process taken at the first
  of them, and the engine kept open on it): one engine query per picture, the shortest chain
  to a module from the engine's own search. The engine's ids are mapped back to objects of
  this process by walking from objects known to be alive along the answer's own edges, and
  each answer is checked against the live heap (below).
Either way the drawn objects are labelled as a dump labels them (no `repr()` of your objects
runs), `filter`, `highlight`, `extra_info` and `extra_node_attrs` run here, only on the
objects of the answer, and pictures are drawn by refgraph's own renderer: no Graphviz needed.

Freshness (the snapshot way): the snapshot is never trusted because of an address (a
collection can free an object and a new one can take its address). Each graph or chain answer
is checked against the live heap before it is given, and the snapshot is retaken (and the
question asked again, once) when the check fails:
- every object asked about is in the snapshot with its type (an object made after the dump is
  not, or has another type there);
- every object of the answer is found alive by walking from the objects asked about, the
  modules of sys.modules and the chain's module along the answer's edges (gc.get_referents,
  and gc.get_referrers one level at a time for backrefs), with the same type (and, for a
  container the snapshot labels `N items`, the same length);
- every drawn edge, and every link of a chain, still holds (identity, not address);
- show_backrefs: each object asked about has exactly the referrers the picture accounts for
  (the drawn ones and the "N more" box), counted with gc.get_referrers on those objects (after
  `filter`, and leaving out the executing frames and refgraph's own objects): a new holder or a
  dropped one retakes the snapshot;
- show_refs: no expanded object refers to anything the snapshot does not list for it;
- a chain question the snapshot answers with "no chain" is confirmed on a snapshot taken for
  the question.
What this does not see: a new referrer of an object deeper than the ones asked about in a
backrefs picture, a reference dropped from an object's undrawn "N more" references, and a
chain that became shorter than the (still valid) one the snapshot gives; `refresh()` retakes
the snapshot by hand.

Differences from objgraph: node labels are a dump's safe labels (no `repr()` of your objects
runs), and edges carry a dump's names of references (list indices, dict keys, attributes of
3.11+ inline values, cell contents, ...). Without `filter` the engine draws the first
`too_many` neighbours in the snapshot's order; objgraph, and the in-process walk, the first
ones the collector reports (a list's last items). `refcounts=True` shows the references the
program holds to each live object (sys.getrefcount less this module's own, the `objs` list
counted); objgraph subtracts a fixed 4, which is the same for the other objects of a
`show_refs` picture and one lower for the objects asked about and for every object of a
`show_backrefs` one. The executing frames of every thread are left out of graphs and chains
(objgraph leaves out its own; on 3.11+ the collector does not see the others either), and so
are refgraph's own objects; `refgraph.why_alive` shows frames, as roots.
"""

import codecs
import collections
import gc
import inspect
import operator
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types

from . import _dump, _live
from ._display import Graph
from ._session import EngineError, Renderer, Session, _locked
# objgraph's own underscore helpers (labels, edge names, its in-process walk with a given edge
# function, the Graphviz launcher), with objgraph's behaviour, for code that calls them.
from ._objgraph_private import (  # noqa: F401
    _edge_label, _find_chain, _get_obj_type, _gradient, _is_identifier, _isinstance,
    _long_typename, _name_or_repr, _obj_attrs, _obj_label, _obj_node_id, _present_graph,
    _program_in_path, _quote, _run_dot, _safe_repr, _short_repr, _short_typename, _show_graph,
)

__all__ = [
    "count", "typestats", "most_common_types", "show_most_common_types", "growth",
    "show_growth", "get_new_ids", "get_leaking_objects", "by_type", "at", "at_addrs",
    "find_ref_chain", "find_backref_chain", "show_chain", "show_backrefs", "show_refs",
    "is_proper_module", "refresh", "session",
]

IS_INTERACTIVE = False
try:  # pragma: nocover
    if "TerminalInteractiveShell" not in get_ipython().__class__.__name__:  # noqa: F821
        IS_INTERACTIVE = True
except NameError:
    pass
graphviz = None  # objgraph's: its IPython display; the drop-in draws without it

_implicit = {"session": None, "renderer": None}
# Graph and chain questions walk the live heap in the process when the dumper's accelerator is
# loaded (refgraph._live); False: they always ask the engine on a snapshot (tests set it).
_LIVE = True


def _in_process():
    return _LIVE and _live.available()
# The drop-in's own classes (its session, graphs, answers) are not the program's: their
# instances are left out of the counts, as objgraph, which has none, never counts them. (A
# program's own `Session` class would otherwise count one more.)
_OWN_MODULES = frozenset(("refgraph._session", "refgraph._display", "refgraph._why",
                          "refgraph.objgraph"))


@_locked
def session():
    """The implicit session: a snapshot taken at the first graph or chain question asked of the
    engine (without the accelerator, or when called), kept while the answers it gives hold in
    the live heap (see the module's docstring)."""
    s = _implicit["session"]
    if s is None or s.closed:
        s = _implicit["session"] = Session(collect=False)
        s.stale_reasons = []    # why answers were retaken, in order (tests read it)
    return s


def _begin():
    """The implicit session and whether its snapshot was taken just now."""
    s = _implicit["session"]
    if s is None or s.closed:
        return session(), True
    return s, False


class _Stale(Exception):
    """The snapshot's answer does not hold in the live heap."""


@_locked
def _answer(question, *args):
    """question(s, verify, new, *args) on the current snapshot; when its answer does not hold
    (_Stale), on a new snapshot, once. An answer that does not hold even there (the heap
    changed during the dump) is given unverified: graphs as that snapshot draws them, chains
    from objgraph's own live search. The question's objects travel as arguments, never in a
    closure: a cell holding them would be one more referrer in the snapshot."""
    s, new = _begin()
    if not new:
        try:
            return question(s, True, False, *args)
        except _Stale as e:
            s.stale_reasons.append(str(e))
        s.refresh()
    try:
        return question(s, True, True, *args)
    except _Stale as e:
        s.stale_reasons.append("on a new snapshot: %s" % e)
    return question(s, False, True, *args)


@_locked
def _renderer():
    """An engine to draw with: the implicit session's, else one on an empty snapshot (drawing
    a picture of the live heap needs no dump)."""
    s = _implicit["session"]
    if s is not None and not s.closed:
        return s
    r = _implicit["renderer"]
    if r is None or not r.alive():
        r = _implicit["renderer"] = Renderer()
    return r


@_locked
def refresh():
    """Retake the snapshot now (graph and chain questions retake it themselves when their
    answer does not hold; this is for the changes their checks cannot see)."""
    s, new = _begin()
    if not new:
        s.refresh()


# -- type names, as objgraph spells them ---------------------------------------------------

def _name_of(t):
    """A type's __name__, read by type's own C getter (see _dump._class_name; `__module__`
    below likewise)."""
    return _dump._class_name(t, "?")


def _module_of(t):
    try:
        module = _dump._type_module(t)
    except Exception:
        return None
    return module if type(module) is str else None


def _long_name(t):
    module = _module_of(t)
    return "%s.%s" % (module, _name_of(t)) if module else _name_of(t)


def _engine_name(module, name, shortnames):
    if shortnames:
        return name
    return "%s.%s" % (module, name) if module else name


# -- the live gc-tracked objects, as objgraph counts them ---------------------------------

_SHARED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
           types.MethodType, types.CodeType)


def _own_objects():
    """The gc-tracked objects that are the drop-in's bookkeeping, not the program's: the
    implicit session and the drawing engine, and what only they hold (their engine's Popen,
    pipes, dicts, id sets). Types, modules and functions they refer to are shared, and never
    their own."""
    own = {}
    stack = [s for s in (_implicit["session"], _implicit["renderer"]) if s is not None]
    while stack:
        o = stack.pop()
        if id(o) in own or isinstance(o, _SHARED) or not gc.is_tracked(o):
            continue
        own[id(o)] = o
        stack.extend(gc.get_referents(o))
    return own


def _live_groups():
    """({type: [objects]} of the live gc-tracked objects, {id: object} of the drop-in's own
    among them): one pass, as objgraph's own counts make. Instances of the drop-in's classes
    are left out already; its other objects are in the lists (see _type_groups)."""
    objects = gc.get_objects()
    own = _own_objects()
    native = _dump._native_module
    if native is not None:
        groups = {type(g[0]): g for g in native.group_by_type(objects).values()}
    else:
        groups = {}
        get = groups.get
        for o in objects:
            t = type(o)
            g = get(t)
            if g is None:
                groups[t] = [o]
            else:
                g.append(o)
    del objects
    for t in [t for t in groups if _module_of(t) in _OWN_MODULES]:
        del groups[t]
    return groups, own


def _type_groups():
    """{type: [objects]} of the live gc-tracked objects without the drop-in's own."""
    groups, own = _live_groups()
    for t in set(map(type, own.values())):
        if t in groups:
            groups[t] = [o for o in groups[t] if id(o) not in own]
    return groups


def _counts(shortnames):
    """{type name: number of live gc-tracked objects}, without the drop-in's own."""
    groups, own = _live_groups()
    stats = collections.Counter()
    for t, g in groups.items():
        stats[_name_of(t) if shortnames else _long_name(t)] += len(g)
    for o in own.values():
        t = type(o)
        if t in groups:
            stats[_name_of(t) if shortnames else _long_name(t)] -= 1
    return {name: n for name, n in stats.items() if n > 0}


def _named(groups, shortnames):
    """{type name: [lists of objects]}: several types can have one name."""
    named = collections.defaultdict(list)
    for t, g in groups.items():
        named[_name_of(t) if shortnames else _long_name(t)].append(g)
    return named


# -- statistics -----------------------------------------------------------------------------

def count(typename, objects=None):
    """How many objects (gc-tracked, or of `objects`) have this type name; a dotted name is
    compared with `module.Name`."""
    if objects is not None:
        key = _long_typename if "." in typename else _short_typename
        return sum(1 for o in objects if key(o) == typename)
    return _counts("." not in typename).get(typename, 0)


def typestats(objects=None, shortnames=True, filter=None):
    """{type name: number of instances} of the gc-tracked objects (or of `objects`)."""
    if objects is not None or filter is not None:
        if objects is None:
            objects = [o for g in _type_groups().values() for o in g]
        key = _short_typename if shortnames else _long_typename
        stats = {}
        for o in objects:
            if filter and not filter(o):
                continue
            n = key(o)
            stats[n] = stats.get(n, 0) + 1
        return stats
    return _counts(shortnames)


def most_common_types(limit=10, objects=None, shortnames=True, filter=None):
    """[(type name, count)], most common first, `limit` of them (all if falsy)."""
    stats = sorted(typestats(objects, shortnames=shortnames, filter=filter).items(),
                   key=operator.itemgetter(1), reverse=True)
    if limit:
        stats = stats[:limit]
    return stats


def show_most_common_types(limit=10, objects=None, shortnames=True, file=None, filter=None):
    """Print the most common types and their counts."""
    if file is None:
        file = sys.stdout
    stats = most_common_types(limit, objects, shortnames=shortnames, filter=filter)
    width = max(len(name) for name, _ in stats)
    for name, n in stats:
        file.write("%-*s %i\n" % (width, name, n))


def growth(limit=10, peak_stats={}, shortnames=True, filter=None):
    """[(type name, count, increase)] of the types whose count rose above their peak."""
    gc.collect()
    stats = typestats(shortnames=shortnames, filter=filter)
    deltas = {}
    for name, n in stats.items():
        old = peak_stats.get(name, 0)
        if n > old:
            deltas[name] = n - old
            peak_stats[name] = n
    deltas = sorted(deltas.items(), key=operator.itemgetter(1), reverse=True)
    if limit:
        deltas = deltas[:limit]
    return [(name, stats[name], delta) for name, delta in deltas]


def show_growth(limit=10, peak_stats=None, shortnames=True, file=None, filter=None):
    """Print the increase in peak object counts since the last call."""
    if peak_stats is None:
        result = growth(limit, shortnames=shortnames, filter=filter)
    else:
        result = growth(limit, peak_stats, shortnames, filter)
    if result:
        if file is None:
            file = sys.stdout
        width = max(len(name) for name, _, _ in result)
        for name, n, delta in result:
            file.write("%-*s%9d %+9d\n" % (width, name, n, delta))


def _ids_by_type(shortnames):
    groups, own = _live_groups()
    by_name = {}
    for name, gs in _named(groups, shortnames).items():
        ids = set()
        for g in gs:
            ids.update(map(id, g))
        ids.difference_update(own)
        if ids:
            by_name[name] = ids
    return by_name


def get_new_ids(skip_update=False, limit=10, sortby="deltas", shortnames=None, file=None,
                _state={}):
    """Record the ids of the gc-tracked objects by type, print how they changed since the last
    call, and return {type name: set of new ids} (the same dict each time)."""
    if not _state:
        _state["old"] = collections.defaultdict(set)
        _state["current"] = collections.defaultdict(set)
        _state["new"] = collections.defaultdict(set)
        _state["shortnames"] = True
    new_ids = _state["new"]
    if skip_update:
        return new_ids
    old_ids, current_ids = _state["old"], _state["current"]
    if shortnames is None:
        shortnames = _state["shortnames"]
    else:
        _state["shortnames"] = shortnames
    gc.collect()
    now = _ids_by_type(shortnames)
    for name in old_ids:
        old_ids[name].clear()
    for name, ids in current_ids.items():
        old_ids[name].update(ids)
    for name in current_ids:
        current_ids[name].clear()
    for name, ids in now.items():
        current_ids[name].update(ids)
    for name in new_ids:
        new_ids[name].clear()
    rows, gone = [], []
    for name in current_ids:
        n_old, n_current = len(old_ids[name]), len(current_ids[name])
        if n_old == 0 and n_current == 0:
            gone.append(name)
            continue
        fresh = current_ids[name] - old_ids[name]
        new_ids[name].update(fresh)
        rows.append((name, n_old, n_current, len(fresh), n_current - n_old))
    for name in gone:
        for ids in (old_ids, current_ids, new_ids):
            ids.pop(name, None)
    column = {"old": 1, "current": 2, "new": 3, "deltas": 4}[sortby]
    rows.sort(key=operator.itemgetter(column, 0), reverse=True)
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        return new_ids
    if file is None:
        file = sys.stdout
    width = max(len(row[0]) for row in rows)
    print("=" * (width + 13 * 4), file=file)
    print("%-*s%13s%13s%13s%13s" % (width, "Type", "Old_ids", "Current_ids", "New_ids",
                                    "Count_Deltas"), file=file)
    print("=" * (width + 13 * 4), file=file)
    for name, old, current, new, delta in rows:
        print("%-*s%13d%13d%+13d%+13d" % (width, name, old, current, new, delta), file=file)
    print("=" * (width + 13 * 4), file=file)
    return new_ids




# -- locating objects -----------------------------------------------------------------------

def get_leaking_objects(objects=None):
    """The gc-tracked objects (of `objects`, if given) that no gc-tracked object (but the list
    `objects` itself) refers to: objgraph's algorithm, on the live heap."""
    gc.collect()
    everything = gc.get_objects()
    if objects is None:
        own = _own_objects()
        objects = [o for o in everything if id(o) not in own]
        del own
    try:
        ids = set(map(id, objects))
        for o in everything:
            if o is not objects:
                ids.difference_update(map(id, gc.get_referents(o)))
        return [o for o in objects if id(o) in ids]
    finally:
        del objects, everything


def by_type(typename, objects=None):
    """The gc-tracked objects (or those of `objects`) with this type name."""
    if objects is not None:
        key = _long_typename if "." in typename else _short_typename
        return [o for o in objects if key(o) == typename]
    groups, own = _live_groups()
    named = _named(groups, "." not in typename)
    return [o for g in named.get(typename, ()) for o in g if id(o) not in own]


def at(addr):
    """The gc-tracked object at this address, or None."""
    for o in gc.get_objects():
        if id(o) == addr:
            return o
    return None


def at_addrs(address_set):
    """The gc-tracked objects whose addresses are in `address_set`."""
    return [o for o in gc.get_objects() if id(o) in address_set]


def is_proper_module(obj):
    """True for a module that is in sys.modules (objgraph's notion of a root)."""
    return inspect.ismodule(obj) and obj is sys.modules.get(getattr(obj, "__name__", None))


def _is_root_module(obj):
    """is_proper_module, read without running any code of `obj` (a `__class__` property, a
    module subclass's `__getattr__`): where the walk stops upward."""
    if not issubclass(type(obj), types.ModuleType):
        return False
    try:
        name = dict.get(_dump._module_dict(obj), "__name__")
    except Exception:
        return False
    return type(name) is str and dict.get(sys.modules, name) is obj


def _has_del(obj):
    """Whether the object's class defines __del__ (objgraph's `__del__` mark), looked up in the
    class dicts of its type, without running a `__class__` property or a metaclass's code."""
    try:
        return any("__del__" in _dump._type_dictproxy(klass)
                   for klass in _dump._type_mro(type(obj)))
    except Exception:
        return False


# -- live objects for the engine's ids ----------------------------------------------------

def _referents(o):
    """What `o` refers to, as gc.get_referents says, with a dict's keys (3.11+ does not report
    the str keys of a dict, but the snapshot records them)."""
    rs = gc.get_referents(o)
    if type(o) is dict:
        rs.extend(o)
    return rs


def _stack_frame_ids():
    """The executing frames of every thread now: roots to refgraph, and never referrers in
    objgraph's answers (this module's own frames are among them)."""
    ids = set()
    for f in sys._current_frames().values():
        while f is not None:
            ids.add(id(f))
            f = f.f_back
    return ids


class _Live:
    """Maps the engine's ids back to objects of this process: from objects known to be alive,
    along references (gc.get_referents down, gc.get_referrers of known objects up), never by
    address alone. (An id of an object known alive is that object: ids are unique among live
    objects.) Scans of a container's referents stay in C: a list can hold a million."""

    def __init__(self, known):
        self.objects = {id(o): o for o in known}
        self._referents = {}
        self._referent_ids = {}
        self._referrers = {}

    def referents(self, i):
        """What the live object `i` refers to now, as _referents lists it."""
        rs = self._referents.get(i)
        if rs is None:
            rs = self._referents[i] = _referents(self.objects[i])
        return rs

    def refers(self, a, b):
        """The live object `a` refers to the live object `b`."""
        ids = self._referent_ids.get(a)
        if ids is None:
            ids = self._referent_ids[a] = frozenset(map(id, self.referents(a)))
        return b in ids

    def referrers(self, o):
        """gc.get_referrers(o): one heap scan, once per object."""
        found = self._referrers.get(id(o))
        if found is None:
            found = self._referrers[id(o)] = gc.get_referrers(o)
        return found

    def modules(self, ids):
        """Maps the modules of sys.modules among `ids`."""
        for m in list(sys.modules.values()):
            if id(m) in ids and id(m) not in self.objects and is_proper_module(m):
                self.objects[id(m)] = m

    def down(self, ids, via):
        """Maps `ids` among the referents of the known objects `via`."""
        want = set(i for i in ids if i not in self.objects)
        for parent in via:
            if not want:
                return
            if parent in self.objects:
                rs = self.referents(parent)
                hits = want.intersection(map(id, rs))
                if hits:
                    at = list(map(id, rs))
                    for h in hits:
                        self.objects[h] = rs[at.index(h)]
                    want -= hits

    def up(self, ids, children):
        """Maps `ids` among the referrers of the known objects `children` (one heap scan)."""
        want = set(i for i in ids if i not in self.objects)
        children = [c for c in set(children) if c in self.objects]
        if not want or not children:
            return
        mine = _stack_frame_ids() | self.own_ids()
        if len(children) == 1:
            # cached for the referrer count (_verify_graph): no list of ours holds the child
            found = self.referrers(self.objects[children[0]])
        else:
            kids = [self.objects[c] for c in children]
            mine.add(id(kids))
            found = gc.get_referrers(*kids)
            del kids
        for r in found:
            if id(r) in want and id(r) not in mine:
                self.objects[id(r)] = r
        del found

    def own_ids(self):
        """This map's own containers (they refer to the program's objects too)."""
        return (set(map(id, self._referents.values())) | set(map(id, self._referrers.values()))
                | {id(self.objects), id(self._referents), id(self._referrers)})

    def get(self, i):
        return self.objects.get(i)

    def close(self):
        """Drop the maps (they hold the program's objects)."""
        self.objects = {}
        self._referents = {}
        self._referent_ids = {}
        self._referrers = {}


def _known(s, objs, verify):
    """Each object asked about is in the snapshot with its type: else the snapshot is older
    than the object (_Stale), or, on a snapshot taken for the question, an EngineError."""
    names = s.type_names()
    rows = s.ask("info", ids=[id(o) for o in objs])
    for o, row in zip(objs, rows):
        if row is None or names.get(row[1], (None, None))[1] != _name_of(type(o)):
            if verify:
                raise _Stale("an object asked about is not in the snapshot")
            raise EngineError("an object asked about is not in the heap snapshot")


_ITEMS = re.compile(r"^(\d+) items?$")


def _live_label(obj, label):
    """The snapshot's label, with a container's `N items` as it is now (a dict of module
    globals grows with every new variable; that alone does not make the picture stale). The
    length is the builtin base type's: a subclass's own __len__ never runs."""
    if obj is None or label is None or not _ITEMS.match(label):
        return label
    for base in (list, tuple, dict, set, frozenset):
        if issubclass(type(obj), base):
            n = base.__len__(obj)
            return "%d item%s" % (n, "" if n == 1 else "s")
    return label


def _check_types(s, ids, info, live):
    """Every object of the answer was found alive, with the snapshot's type. (A frame object
    may be gone: 3.11+ makes them on demand, and the dumper's is dropped when its function
    returns.)"""
    names = s.type_names()
    for i in ids:
        o = live.get(i)
        name = names.get(info[i][1], (None, None))[1]
        if o is None and name == "frame":
            continue
        if o is None or _name_of(type(o)) != name:
            raise _Stale("an object of the answer is gone or changed")


# -- chains ---------------------------------------------------------------------------------

def _find(obj, predicate, direction, max_depth, extra_ignore):
    if _in_process():
        return _in_process_chain(obj, predicate, direction, max_depth, extra_ignore)
    return _answer(_chain_question, obj, predicate, direction, max_depth, extra_ignore)


def _in_process_chain(obj, predicate, direction, max_depth, extra_ignore):
    """objgraph's search on the live heap, a breadth-first level per heap pass (_live)."""
    # objgraph leaves out extra_ignore itself too (by default (), the empty tuple)
    ignore = set(extra_ignore) | _stack_frame_ids() | set(_own_objects()) | {id(extra_ignore)}
    if predicate is is_proper_module:
        predicate = _is_root_module     # the same answer, read without running obj's code
    found = _live.chain(obj, predicate, direction == "backrefs", max_depth, ignore)
    return found if direction == "backrefs" else found[::-1]


def _chain_question(s, verify, new, obj, predicate, direction, max_depth, extra_ignore):
    if not verify:
        return _live_chain(obj, predicate, direction, max_depth, extra_ignore)
    _known(s, [obj], verify)
    live = _Live([obj])
    try:
        chain = _walk_chain(s, obj, predicate, direction, max_depth, extra_ignore, live)
    finally:
        live.close()
    if len(chain) == 1 and not new:
        # "no chain" is only believed from a snapshot taken for the question
        raise _Stale("no chain in an older snapshot")
    return chain


def _live_chain(obj, predicate, direction, max_depth, extra_ignore):
    """objgraph's own search on the live heap (gc.get_referrers or gc.get_referents at each
    step): the answer when the snapshot's does not hold even on a new snapshot."""
    edges = gc.get_referrers if direction == "backrefs" else gc.get_referents
    # objgraph's search, the drop-in's own frames left out as objgraph leaves out its own.
    chain = _find_chain(obj, predicate, edges, max_depth,
                        tuple(extra_ignore) + tuple(_stack_frame_ids()))
    return chain if direction == "backrefs" else chain[::-1]


def _verify_chain(chain):
    """Each link of the chain (referrer first) holds in the live heap."""
    for a, b in zip(chain, chain[1:]):
        if not any(r is b for r in _referents(a)):
            raise _Stale("a link of the chain no longer holds")


def _walk_chain(s, obj, predicate, direction, max_depth, extra_ignore, live):
    """The chain [match, ..., obj] (backrefs) or [obj, ..., match] (refs), or [obj]."""
    ignore = set(extra_ignore) | s.own_ids | s.stack_ids | {id(extra_ignore)}
    if predicate is is_proper_module and direction == "backrefs":
        if _is_root_module(obj):
            return [obj]        # objgraph tests the object itself first
        chain = _module_chain(s, obj, max_depth, ignore, live)
        if chain is not None:
            return chain
    parent = {id(obj): None}
    level = [id(obj)]
    depth = 0
    while level:
        for i in level:
            o = live.get(i)
            if o is None:
                # Gone since the dump (or reached through an object that is): not in this
                # heap, so not shown to the predicate; the answer is checked below.
                continue
            if predicate(o):
                chain = [o]
                while parent[i] is not None:
                    i = parent[i]
                    chain.append(live.get(i))
                if direction == "refs":
                    chain.reverse()     # [obj, ..., match]: each refers to the next
                _verify_chain(chain)
                return chain
        if depth >= max_depth:
            break
        nxt = []
        for i, neighbours in s.ask("neighbours", ids=level, direction=direction):
            for j, _ in neighbours:
                if j not in parent and j not in ignore:
                    parent[j] = i
                    nxt.append(j)
        if direction == "refs":
            live.down(nxt, via=level)
        else:
            live.up(nxt, children=level)
        level = nxt
        depth += 1
    return [obj]


def _module_chain(s, obj, max_depth, ignore, live):
    """The engine's shortest chain from a module, walked down from the module to `obj` in the
    live heap; None when its end is not a proper module (then the generic search decides)."""
    modules = [i for i, (m, n) in s.type_names().items() if m == "builtins" and n == "module"]
    ids = s.ask("chain", id=id(obj), direction="backrefs", to_types=modules,
                max_depth=max_depth, ignore=sorted(ignore))
    if len(ids) == 1:
        return [obj]
    live.modules(ids[:1])
    if live.get(ids[0]) is None:
        return None
    for a, b in zip(ids, ids[1:]):
        live.down([b], via=[a])
    chain = [live.get(i) for i in ids]
    if any(o is None for o in chain) or chain[-1] is not obj:
        raise _Stale("the chain does not lead to the object in the live heap")
    _verify_chain(chain)
    _check_types(s, ids, {row[0]: row for row in s.ask("info", ids=ids)}, live)
    return chain


def find_ref_chain(obj, predicate, max_depth=20, extra_ignore=()):
    """The shortest chain [obj, ..., match] of references to an object `predicate` accepts,
    or [obj]."""
    return _find(obj, predicate, "refs", max_depth, extra_ignore)


def find_backref_chain(obj, predicate, max_depth=20, extra_ignore=()):
    """The shortest chain [match, ..., obj] of referrers from an object `predicate` accepts
    (e.g. is_proper_module), or [obj]."""
    return _find(obj, predicate, "backrefs", max_depth, extra_ignore)


# -- graphs ---------------------------------------------------------------------------------

def _subgraph(s, objs, direction, max_depth, ignore, too_many):
    """objgraph's picture as ONE engine query: the ids in BFS order, their depths, the edges
    (referrer, referent, label) per expanded node, the "N more" counts and each node's info."""
    view = s.ask("subgraph", ids=[id(o) for o in objs], direction=direction,
                 max_depth=max_depth, too_many=too_many, ignore=sorted(ignore),
                 objgraph_modules=True)
    order = [int(n["id"], 16) for n in view["nodes"]]
    depth = {int(n["id"], 16): n["depth"] for n in view["nodes"]}
    edges = collections.defaultdict(list)
    for e in view["edges"]:
        a, b = int(e["from"], 16), int(e["to"], 16)
        edges[a if direction == "refs" else b].append((a, b, e.get("label")))
    skipped = {int(m["of"], 16): m["count"] for m in view["more"]}
    info = {row[0]: row for row in s.ask("info", ids=order)}
    return order, depth, edges, skipped, info


def _map_live(live, order, edges, direction):
    """Finds the live objects of the picture: down along its edges from the objects asked
    about and the modules, and (backrefs) up, one level per heap scan, through
    gc.get_referrers of the objects already found."""
    live.modules(set(order))
    pairs = [(a, b) for i in order for a, b, _ in edges.get(i, ())]
    while True:
        before = len(live.objects)
        for a, b in pairs:
            if b not in live.objects and a in live.objects:
                live.down([b], via=[a])
        if direction == "backrefs":
            wanted = [a for a, b in pairs if a not in live.objects and b in live.objects]
            if wanted:
                live.up(wanted, [b for a, b in pairs if a in wanted])
        if len(live.objects) == before:
            return


def _verify_graph(s, objs, order, depth, edges, skipped, info, live, direction, max_depth,
                  ignore, filter):
    """The picture holds in the live heap (the module's docstring says what is checked)."""
    _check_types(s, order, info, live)
    for i in order:
        for a, b, _ in edges.get(i, ()):
            if live.get(a) is None or live.get(b) is None:
                continue        # a frame made on demand (_check_types)
            if not live.refers(a, b):
                raise _Stale("a drawn edge no longer holds")
    if max_depth < 1:
        return
    if direction == "backrefs":
        mine = _stack_frame_ids() | ignore | live.own_ids()
        for o in objs:
            i = id(o)
            drawn = set(a for a, _, _ in edges.get(i, ()))
            holders = set()
            for r in live.referrers(o):
                if id(r) not in mine and (filter is None or filter(r)):
                    holders.add(id(r))
            if not drawn <= holders or len(holders) != len(drawn) + skipped.get(i, 0):
                raise _Stale("the referrers of an object asked about changed")
    else:
        expanded = [i for i in order if depth[i] < max_depth]
        if not expanded:
            return
        listed = {i: set(j for j, _ in ns)
                  for i, ns in s.ask("neighbours", ids=expanded, direction="refs")}
        for i in expanded:
            now = set(map(id, live.referents(i))) - ignore
            if not now <= listed[i]:
                raise _Stale("an object refers to something new")


def _bfs(s, objs, direction, max_depth, ignore, filter, too_many, live):
    """objgraph's breadth-first walk when a `filter` is given (objgraph counts `too_many`
    after it): the engine's neighbours one level per query, the filter run here on the live
    neighbours. Returns the ids in BFS order, their depths, the edges (referrer, referent,
    label) per expanded node, the skipped counts and each node's info."""
    depth, order = {}, []
    for o in objs:
        if id(o) not in depth:
            depth[id(o)] = 0
            order.append(id(o))
    edges = collections.defaultdict(list)
    skipped = {}
    info = {}
    level, d = list(order), 0
    while level:
        for row in s.ask("info", ids=level):
            info[row[0]] = row
        if d >= max_depth:
            break
        expand = [i for i in level if not (direction == "backrefs" and info[i][3])]
        nxt = []
        if expand:
            answer = s.ask("neighbours", ids=expand, direction=direction)
            candidates = [j for _, ns in answer for j, _ in ns if j not in ignore]
            if direction == "refs":
                live.down(candidates, via=expand)
            else:
                live.up(candidates, children=expand)
            for i, neighbours in answer:
                n = skip = 0
                for j, label in neighbours:
                    if j in ignore:
                        continue
                    o = live.get(j)
                    if o is None or not filter(o):
                        continue
                    if n >= too_many:
                        skip += 1
                        continue
                    edges[i].append((i, j, label) if direction == "refs" else (j, i, label))
                    if j not in depth:
                        depth[j] = d + 1
                        order.append(j)
                        nxt.append(j)
                    n += 1
                if skip:
                    skipped[i] = skip
        level, d = nxt, d + 1
    missing = [i for i in order if i not in info]
    if missing:
        for row in s.ask("info", ids=missing):
            info[row[0]] = row
    return order, depth, edges, skipped, info


def _edge_attrs(label, source_type):
    """objgraph's edge attributes from the snapshot's label of the reference."""
    if not label:
        return ""
    if label == ".__dict__":
        return ' [label="__dict__",weight=10]'
    if source_type == "dict" and label.startswith("['") and label.endswith("']"):
        key = label[2:-2]
        if _is_identifier(key):
            return ' [label="%s",weight=2]' % _quote(key)
        return ' [label="%s"]' % _quote("str\n'%s'" % key)
    if label.startswith(".") and _is_identifier(label[1:]):
        return ' [label="%s",weight=10]' % _quote(label[1:])
    return ' [label="%s"]' % _quote(label)


def _node_id(i):
    return ("o%d" % i).replace("-", "_")


def _node_repr(type_name, module, label, i):
    """The second line of a box: the snapshot's safe label, or what objgraph's repr of an
    object without one looks like."""
    if label is not None:
        return label
    return ("<%s.%s object at %#x>" % (module, type_name, i))[:40]


def _write_dot(f, names, objs, order, depth, edges, skipped, info, live, max_depth, too_many,
               highlight, extra_info, refcounts, shortnames, extra_node_attrs, direction):
    """objgraph's DOT text of a picture (`names`: {type key: (module, __name__)}, `info`: the
    engine's info row of each drawn id); returns the picture as a SubgraphView to render."""
    f.write("digraph ObjectGraph {\n  node[shape=box, style=filled, fillcolor=white];\n")
    for o in objs:
        f.write("  %s[fontcolor=red];\n" % _node_id(id(o)))
    view_nodes = []
    for i in order:
        _, t, label, _root, refcount, _ = info[i]
        module, name = names.get(t, ("", "?"))
        o = live.get(i)
        type_name = _engine_name(module, name, shortnames)
        if refcounts:
            type_name += " [%d]" % (refcount if o is None else _program_refcount(o, live))
        parts = [type_name, _node_repr(name, module, _live_label(o, label), i)]
        if extra_info and o is not None:
            parts.append(str(extra_info(o)))
        attrs = ""
        if extra_node_attrs is not None and o is not None:
            attrs = "".join(', %s="%s"' % (k, _quote(v))
                            for k, v in sorted(extra_node_attrs(o).items()) if v is not None)
        f.write('  %s[label="%s"%s];\n' % (_node_id(i), _quote("\n".join(parts)), attrs))
        h, sat, v = _gradient((0, 0, 1), (0, 0, .3), depth[i], max_depth)
        is_module = module == "builtins" and name == "module"
        if is_module:
            h, sat = .3, 1
        lit = bool(highlight and o is not None and highlight(o))
        if lit:
            h, sat, v = .6, .6, 0.5 + v * 0.5
        f.write('  %s[fillcolor="%g,%g,%g"];\n' % (_node_id(i), h, sat, v))
        if v < 0.5:
            f.write("  %s[fontcolor=white];\n" % _node_id(i))
        if o is not None and _has_del(o):
            f.write("  %s->%s_has_a_del[color=red,style=dotted,len=0.25,weight=10];\n"
                    % (_node_id(i), _node_id(i)))
            f.write('  %s_has_a_del[label="__del__",shape=doublecircle,height=0.25,'
                    'color=red,fillcolor="0,.5,1",fontsize=6];\n' % _node_id(i))
        for src, dst, elabel in edges.get(i, ()):
            src_type = names.get(info[src][1], ("", ""))[1] if src in info else ""
            f.write("  %s -> %s%s;\n" % (_node_id(src), _node_id(dst),
                                         _edge_attrs(elabel, src_type)))
        if i in skipped:
            h, sat, v = _gradient((0, 1, 1), (0, 1, .3), depth[i] + 1, max_depth)
            if direction == "refs":
                text = "%d more references" % skipped[i]
                edge = "%s->too_many_%s" % (_node_id(i), _node_id(i))
            else:
                text = "%d more backreferences" % skipped[i]
                edge = "too_many_%s->%s" % (_node_id(i), _node_id(i))
            f.write("  %s[color=red,style=dotted,len=0.25,weight=10];\n" % edge)
            f.write('  too_many_%s[label="%s",shape=box,height=0.25,color=red,'
                    'fillcolor="%g,%g,%g",fontsize=6];\n' % (_node_id(i), text, h, sat, v))
            f.write("  too_many_%s[fontcolor=white];\n" % _node_id(i))
        node = {"id": "%#x" % i, "type": type_name, "type_long": _engine_name(module, name,
                                                                              False),
                "size": 0, "depth": depth[i]}
        # The renderer draws a box's label on one line (it shows a newline as `\n`).
        node["label"] = " · ".join(parts[1:])
        if i in {id(o) for o in objs}:
            node["start"] = True
        if lit:
            node["highlight"] = True
        if is_module:
            node["module"] = True
        view_nodes.append(node)
    f.write("}\n")
    view = {
        "direction": direction, "max_depth": max_depth, "too_many": too_many,
        "max_nodes": len(order), "cap_reached": False, "not_expanded_by_cap": 0,
        "nodes": view_nodes,
        "more": [{"of": "%#x" % i, "count": c} for i, c in skipped.items()],
        "edges": [dict({"from": "%#x" % a, "to": "%#x" % b}, **({"label": l} if l else {}))
                  for i in order for a, b, l in edges.get(i, ())],
    }
    return view




def _show(objs, direction, max_depth=3, extra_ignore=(), filter=None, too_many=10,
                highlight=None, filename=None, extra_info=None, refcounts=False,
                shortnames=True, output=None, extra_node_attrs=None):
    if not isinstance(objs, (list, tuple)):
        objs = [objs]
    if filename and output:
        raise ValueError("Cannot specify both output and filename.")
    ask = _in_process_draw if _in_process() else lambda *args: _answer(_draw, *args)
    graph = ask(objs, direction, max_depth, extra_ignore, filter, too_many, highlight,
                extra_info, refcounts, shortnames, extra_node_attrs)
    if output:
        output.write(graph.dot)
        return None
    if IS_INTERACTIVE and not filename:
        return graph
    if filename and filename.endswith(".dot"):
        with codecs.open(filename, "w", encoding="utf-8") as f:
            f.write(graph.dot)
        print("Graph written to %s (%d nodes)" % (filename, graph.nodes))
        return None
    fd, dot_filename = tempfile.mkstemp(prefix="objgraph-", suffix=".dot", text=True)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(graph.dot)
    print("Graph written to %s (%d nodes)" % (dot_filename, graph.nodes))
    _present(graph, dot_filename, filename)
    return None


def _draw(s, verify, new, objs, direction, max_depth, extra_ignore, filter, too_many,
          highlight, extra_info, refcounts, shortnames, extra_node_attrs):
    """The picture, from one engine query (or, with a `filter`, one per level); with
    `verify`, _Stale when it does not hold in the live heap."""
    _known(s, objs, verify)
    ignore = set(extra_ignore) | s.own_ids | s.stack_ids | {id(extra_ignore)}
    ignore.add(id(objs))
    live = _Live(objs)
    try:
        if filter is None:
            order, depth, edges, skipped, info = _subgraph(s, objs, direction, max_depth,
                                                           ignore, too_many)
            _map_live(live, order, edges, direction)
        else:
            order, depth, edges, skipped, info = _bfs(s, objs, direction, max_depth, ignore,
                                                      filter, too_many, live)
        if verify:
            _verify_graph(s, objs, order, depth, edges, skipped, info, live, direction,
                          max_depth, ignore, filter)
        from io import StringIO
        text = StringIO()
        view = _write_dot(text, s.type_names(), objs, order, depth, edges, skipped, info, live,
                          max_depth,
                          too_many, highlight, extra_info, refcounts, shortnames,
                          extra_node_attrs, direction)
    finally:
        live.close()
    return Graph(view, text.getvalue(), _renderer, len(order))


def _in_process_draw(objs, direction, max_depth, extra_ignore, filter, too_many, highlight,
                     extra_info, refcounts, shortnames, extra_node_attrs):
    """The picture from objgraph's walk of the live heap (_live), drawn as _draw draws the
    engine's."""
    # objgraph leaves out objs and extra_ignore themselves too (by default (), the empty tuple)
    ignore = set(extra_ignore) | _stack_frame_ids() | set(_own_objects())
    ignore.update((id(objs), id(extra_ignore)))
    backrefs = direction == "backrefs"
    objects, order, depth, pairs, skipped = _live.walk(
        objs, backrefs, max_depth, ignore, filter, too_many,
        _is_root_module if backrefs else None)
    live = _Live(())
    live.objects = objects          # (still in _live._BUSY: walks meanwhile leave it out)
    objects = None
    try:
        names, type_keys, labels, edge_labels = _live.described(live.objects, order, pairs)
        info = {i: [i, type_keys[i], labels[i], False, 0, True] for i in order}
        edges = {i: [(a, b, edge_labels.get((a, b))) for a, b in found]
                 for i, found in pairs.items()}
        from io import StringIO
        text = StringIO()
        view = _write_dot(text, names, objs, order, depth, edges, skipped, info, live,
                          max_depth, too_many, highlight, extra_info, refcounts, shortnames,
                          extra_node_attrs, direction)
    finally:
        _live._BUSY.discard(id(live.objects))
        live.close()
    return Graph(view, text.getvalue(), _renderer, len(order))


# Before 3.11 a call's arguments stay on the caller's stack while the callee runs: one more
# reference to `o` in _program_refcount.
_CALL_HOLDS = 1 if sys.version_info < (3, 11) else 0


def _program_refcount(o, live):
    """sys.getrefcount of a drawn object without this module's references to it (the call's
    argument, this parameter, the caller's variable and the live maps), as objgraph's
    `refcounts=True` shows it."""
    i = id(o)
    held = 1 + sum(list(map(id, rs)).count(i)
                   for rs in list(live._referents.values()) + list(live._referrers.values()))
    return sys.getrefcount(o) - 3 - _CALL_HOLDS - held


def _present(graph, dot_filename, filename):
    """objgraph's `_present_graph`, with refgraph's renderer for .svg and .png (and for the
    picture made when no viewer is found)."""
    if not filename and shutil.which("xdot"):
        print("Spawning graph viewer (xdot)")
        subprocess.Popen(["xdot", dot_filename], close_fds=True)
        return
    if not filename:
        print("Graph viewer (xdot) not found, generating a png instead")
        filename = dot_filename[:-4] + ".png"
    ext = os.path.splitext(filename)[1].lower()
    if ext in (".svg", ".png"):
        graph.save(filename)
        print("Image generated as %s" % filename)
    elif shutil.which("dot"):
        _run_dot(subprocess.Popen, ext[1:], dot_filename, filename)
    else:
        print("Image renderer (dot) not found, not doing anything else")


def show_backrefs(objs, max_depth=3, extra_ignore=(), filter=None, too_many=10,
                  highlight=None, filename=None, extra_info=None, refcounts=False,
                  shortnames=True, output=None, extra_node_attrs=None):
    """Draw what refers to `objs` (modules in sys.modules are drawn, not expanded)."""
    return _show(objs, "backrefs", max_depth, extra_ignore, filter, too_many, highlight,
                       filename, extra_info, refcounts, shortnames, output, extra_node_attrs)


def show_refs(objs, max_depth=3, extra_ignore=(), filter=None, too_many=10, highlight=None,
              filename=None, extra_info=None, refcounts=False, shortnames=True, output=None,
              extra_node_attrs=None):
    """Draw what `objs` refer to."""
    return _show(objs, "refs", max_depth, extra_ignore, filter, too_many, highlight,
                       filename, extra_info, refcounts, shortnames, output, extra_node_attrs)


def show_chain(*chains, **kw):
    """Draw chains from find_backref_chain (or, with backrefs=False, find_ref_chain)."""
    backrefs = kw.pop("backrefs", True)
    chains = [chain for chain in chains if chain]
    ids = set(id(o) for chain in chains for o in chain)

    def in_chains(x, ids=ids):
        return id(x) in ids

    max_depth = max(map(len, chains)) - 1
    if backrefs:
        return show_backrefs([chain[-1] for chain in chains], max_depth=max_depth,
                             filter=in_chains, **kw)
    return show_refs([chain[0] for chain in chains], max_depth=max_depth, filter=in_chains,
                     **kw)
