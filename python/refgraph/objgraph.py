"""objgraph's API, answered by the refgraph engine: `import refgraph.objgraph as objgraph`.

Every public function of objgraph 3.7 with its signature, defaults and printed output. The
questions go to one implicit `refgraph.session()` (a snapshot of this process and the engine
kept open on it): type counts, instances of a type, neighbours, chains and unreferenced objects
are the engine's answers, so a backref search costs the referrers of the objects it visits, not
a scan of the heap per step. Where objgraph returns live objects, so does this module: the
engine's ids are mapped back to objects in this process (and their type checked). `filter`,
`highlight`, `extra_info` and `extra_node_attrs` run here, only on the objects the engine
returned. Pictures are drawn by refgraph's own renderer: no Graphviz needed.

Staleness: the snapshot is retaken when a counting question (count, typestats, growth,
get_new_ids, by_type, get_leaking_objects) comes after the number of gc-tracked objects changed
since the last answer. A graph or chain question reuses it while that number moved by at most
GRAPH_DRIFT and the young gc generations were not collected (so every object made since is
still young), and retakes it when it lacks an object asked about, an asked or answered object
is young (its address was reused by a new object), or it answers with an object that no longer
exists. A new reference made with fewer than GRAPH_DRIFT new objects goes unseen: call
refresh(). Differences from objgraph: node labels are
the snapshot's safe labels (no `repr()` of your objects runs), edges carry the snapshot's labels
(list indices, attributes of 3.11+ inline values, cell contents, ...), and `refcounts=True` shows
the snapshot's reference count (without refgraph's own references).
The executing frames of every thread are roots to refgraph, but objgraph (through
`gc.get_referrers`) never sees them: graphs and chains here leave them out as objgraph does;
`refgraph.why_alive` does not.
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

from ._display import Graph
from ._session import EngineError, Session

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

_implicit = {"session": None}
# The drop-in's own classes (its session, graphs, answers) are not the program's: their
# instances are left out of the counts, as objgraph, which has none, never counts them. (A
# program's own `Session` class would otherwise count one more.)
_OWN_MODULES = frozenset(("refgraph._session", "refgraph._display", "refgraph._why",
                          "refgraph.objgraph"))


# A graph or chain question reuses the snapshot while the number of gc-tracked objects moved
# by at most this many since the last answer, and no collection of any generation happened
# meanwhile: then every object made since is still young (gc generations 0 and 1), and
# the answer is checked against them (see _young_conflict). A re-dump of a big heap costs
# seconds; the asker's own bookkeeping between two questions is a few objects.
GRAPH_DRIFT = 16


def session(graph=False):
    """The implicit session, fresh: dumped again if the number of gc-tracked objects changed
    since the last answer (for a graph or chain question: by more than GRAPH_DRIFT, or a
    collection ran)."""
    s = _implicit["session"]
    if s is None or s.closed:
        s = _implicit["session"] = Session(collect=False)
        return s
    drift = abs(len(gc.get_objects()) - s.fingerprint)
    if graph:
        stale = drift > GRAPH_DRIFT or _young_collections() != s.young_collections
    else:
        stale = drift > 0
    if stale:
        s.refresh()
        s.young_collections = _young_collections()
    return s


def _young_collections():
    """Collections of every generation so far: after any of them (a full one too, which
    promotes every young object to the old generation) youth proves nothing."""
    return sum(g["collections"] for g in gc.get_stats())


def _young():
    """The gc-tracked objects made since the last full collection (which every answer ends
    with): those the snapshot cannot have."""
    return [o for g in (0, 1) for o in gc.get_objects(generation=g)]


def _young_conflict(ids):
    """The snapshot is stale for an answer made of `ids`: one of them is young, so its address
    now belongs to an object made after the dump."""
    return any(id(o) in ids for o in _young())


def _renderer():
    """A session to draw with (drawing does not need a fresh snapshot)."""
    s = _implicit["session"]
    return s if s is not None and not s.closed else session()


def refresh():
    """Retake the snapshot now (for a change the staleness rule cannot see)."""
    session().refresh()


def _answered(s):
    """After a question: this state of the heap is the snapshot's (our own temporaries are
    gone, cycles included; what the caller keeps is the caller's)."""
    gc.collect()
    s.fingerprint = len(gc.get_objects())
    s.young_collections = _young_collections()
    s.refreshes_answered = s.refreshes


# -- type names, as objgraph spells them ---------------------------------------------------

def _short_typename(obj):
    return type(obj).__name__


def _long_typename(obj):
    t = type(obj)
    module = getattr(t, "__module__", None)
    return "%s.%s" % (module, t.__name__) if module else t.__name__


def _engine_name(module, name, shortnames):
    if shortnames:
        return name
    return "%s.%s" % (module, name) if module else name


def _matches(typename, module, name):
    if "." in typename:
        return _engine_name(module, name, False) == typename
    return name == typename


def _type_ok(obj, names, index):
    module, name = names.get(index, (None, None))
    return type(obj).__name__ == name


# -- statistics -----------------------------------------------------------------------------

def count(typename, objects=None):
    """How many objects (gc-tracked, or of `objects`) have this type name; a dotted name is
    compared with `module.Name`."""
    if objects is not None:
        key = _long_typename if "." in typename else _short_typename
        return sum(1 for o in objects if key(o) == typename)
    s = session()
    total = sum(c for _, m, q, c in s.types() if _matches(typename, m, q.rsplit(".", 1)[-1]))
    _answered(s)
    return total


def typestats(objects=None, shortnames=True, filter=None):
    """{type name: number of instances} of the gc-tracked objects (or of `objects`)."""
    if objects is not None or filter is not None:
        if objects is None:
            objects = gc.get_objects()
        key = _short_typename if shortnames else _long_typename
        stats = {}
        for o in objects:
            if filter and not filter(o):
                continue
            n = key(o)
            stats[n] = stats.get(n, 0) + 1
        return stats
    s = session()
    stats = {}
    for _, module, qualname, c in s.types():
        if c and module not in _OWN_MODULES:
            n = _engine_name(module, qualname.rsplit(".", 1)[-1], shortnames)
            stats[n] = stats.get(n, 0) + c
    _answered(s)
    return stats


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
    s = session()
    names = s.type_names()
    found = s.ask("find", types=sorted(i for i, _, _, c in s.types() if c), tracked_only=True)
    by_name = collections.defaultdict(set)
    for index, ids in found:
        module, name = names[index]
        by_name[_engine_name(module, name, shortnames)].update(ids)
    _answered(s)
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
        del old_ids[name], current_ids[name], new_ids[name]
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

def _live_tracked(ids):
    """The gc-tracked objects among `ids`, in gc.get_objects() order."""
    return [o for o in gc.get_objects() if id(o) in ids]


def get_leaking_objects(objects=None):
    """The gc-tracked objects (of `objects`, if given) that no gc-tracked object refers to."""
    gc.collect()
    s = session()
    ignore = [id(objects)] if objects is not None else []
    leaking = set(s.ask("leaking", ignore=ignore + sorted(s.own_ids | s.stack_ids)))
    if objects is None:
        found = _live_tracked(leaking)
    else:
        found = [o for o in objects if id(o) in leaking]
    _answered(s)
    return found


def by_type(typename, objects=None):
    """The gc-tracked objects (or those of `objects`) with this type name."""
    if objects is not None:
        key = _long_typename if "." in typename else _short_typename
        return [o for o in objects if key(o) == typename]
    s = session()
    names = s.type_names()
    wanted = [i for i, (m, n) in names.items() if _matches(typename, m, n)]
    found = []
    if wanted:
        ids = set()
        for _, group in s.ask("find", types=wanted, tracked_only=True):
            ids.update(group)
        key = _long_typename if "." in typename else _short_typename
        found = [o for o in _live_tracked(ids) if key(o) == typename]
    _answered(s)
    return found


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


# -- live objects for the engine's ids ----------------------------------------------------

class _Live:
    """Maps the engine's ids back to objects of this process: the objects given, what they
    refer to, and (once, when needed) every gc-tracked object."""

    def __init__(self, known):
        self.objects = {id(o): o for o in known}
        self._tracked = None

    def resolve(self, ids, via=()):
        missing = [i for i in ids if i not in self.objects]
        if not missing:
            return
        want = set(missing)
        for parent in via:
            if parent in self.objects:
                holder = self.objects[parent]
                for r in gc.get_referents(holder):
                    if id(r) in want:
                        self.objects[id(r)] = r
                if type(holder) is dict:
                    # str keys are not reported by gc.get_referents on 3.11+
                    for r in list(holder):
                        if id(r) in want:
                            self.objects[id(r)] = r
        want -= set(self.objects)
        if want:
            if self._tracked is None:
                self._tracked = {id(o): o for o in gc.get_objects()}
            for i in list(want):
                o = self._tracked.get(i)
                if o is not None:
                    self.objects[i] = o
                    want.discard(i)
        if want:
            # Untracked objects (ints, strs, ...) are reachable only through their holders.
            for o in list(self.objects.values()):
                for r in gc.get_referents(o):
                    if id(r) in want:
                        self.objects[id(r)] = r

    def get(self, i):
        return self.objects.get(i)

    def close(self):
        """Drop the maps: the map of every tracked object holds this one (a cycle)."""
        self._tracked = None
        self.objects = {}


def _fresh_for(objs):
    """The session, retaken if the snapshot lacks one of `objs` or has another type there.
    Holds nothing of the caller's while it dumps (the snapshot must not show refgraph's own
    bookkeeping as a referrer)."""
    s = session(graph=True)
    young = set(map(id, _young()))
    if any(id(o) in young for o in objs) or not _has_all(s, objs):
        s.refresh()
        if not _has_all(s, objs):
            raise EngineError("an object asked about is not in the heap snapshot")
    return s


def _has_all(s, objs):
    names = s.type_names()
    rows = s.ask("info", ids=[id(o) for o in objs])
    return all(row is not None and names.get(row[1], (None, None))[1] == type(o).__name__
               and _same_size(o, row[2]) for o, row in zip(objs, rows))


_ITEMS = re.compile(r"^(\d+) items?$")


def _same_size(obj, label):
    """A container the snapshot labels `N items` still has N (else its address was reused, or
    it changed since the dump)."""
    if not isinstance(obj, (list, tuple, dict, set)) or label is None:
        return True
    m = _ITEMS.match(label)
    return m is None or int(m.group(1)) == len(obj)


# -- chains ---------------------------------------------------------------------------------

def _find_chain(obj, predicate, direction, max_depth, extra_ignore):
    gc.collect()
    s = _fresh_for([obj])
    older = s.refreshes == getattr(s, "refreshes_answered", None)
    chain = _search_chain(s, obj, predicate, direction, max_depth, extra_ignore)
    if chain is not None and len(chain) > 1 and _young_conflict(set(map(id, chain[:-1]))):
        chain = None
    if chain is not None and len(chain) == 1 and older:
        # No chain in a snapshot taken before this question: confirm on a fresh one (the
        # reference that makes the chain may be newer than the snapshot).
        chain = None
    gc.collect()
    if chain is None:
        s.refresh()
        chain = _search_chain(s, obj, predicate, direction, max_depth, extra_ignore)
    _answered(s)
    return chain if chain is not None else [obj]


def _search_chain(s, obj, predicate, direction, max_depth, extra_ignore):
    """The chain [match, ..., obj], or [obj] when there is none."""
    live = _Live([obj])
    try:
        return _walk_chain(s, obj, predicate, direction, max_depth, extra_ignore, live)
    finally:
        live.close()


def _walk_chain(s, obj, predicate, direction, max_depth, extra_ignore, live):
    ignore = set(extra_ignore) | s.own_ids | s.stack_ids
    if predicate is is_proper_module and direction == "backrefs":
        chain = _module_chain(s, obj, max_depth, ignore, live)
        if chain is not None:
            return chain
    parent = {id(obj): None}
    level = [id(obj)]
    depth = 0
    while level:
        live.resolve(level)
        for i in level:
            o = live.get(i)
            if o is None:
                # Gone since the dump, or not reachable through gc.get_referents: it cannot
                # be shown to the predicate (objgraph would not have seen it either).
                continue
            if predicate(o):
                chain = [o]
                while parent[i] is not None:
                    i = parent[i]
                    chain.append(live.get(i))
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
            live.resolve(nxt, via=level)
        level = nxt
        depth += 1
    return [obj]


def _module_chain(s, obj, max_depth, ignore, live):
    """The engine's shortest chain from a module; None when its end is not a proper module
    (then the generic search decides)."""
    modules = [i for i, (m, n) in s.type_names().items() if m == "builtins" and n == "module"]
    ids = s.ask("chain", id=id(obj), direction="backrefs", to_types=modules,
                max_depth=max_depth, ignore=sorted(ignore))
    if len(ids) == 1:
        return [obj]
    live.resolve(ids)
    chain = [live.get(i) for i in ids]
    if any(o is None for o in chain) or not is_proper_module(chain[0]):
        return None
    return chain


def find_ref_chain(obj, predicate, max_depth=20, extra_ignore=()):
    """The shortest chain [obj, ..., match] of references to an object `predicate` accepts,
    or [obj]."""
    chain = _find_chain(obj, predicate, "refs", max_depth, extra_ignore)
    return chain[::-1] if len(chain) > 1 else chain


def find_backref_chain(obj, predicate, max_depth=20, extra_ignore=()):
    """The shortest chain [match, ..., obj] of referrers from an object `predicate` accepts
    (e.g. is_proper_module), or [obj]."""
    return _find_chain(obj, predicate, "backrefs", max_depth, extra_ignore)


# -- graphs ---------------------------------------------------------------------------------

def _bfs(s, objs, direction, max_depth, ignore, filter, too_many, cull_modules):
    """objgraph's breadth-first walk over the engine's neighbours. Returns the ids in BFS
    order, their depths, the edges (referrer, referent, label) per expanded node and the
    skipped counts."""
    live = _Live(objs)
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
        expand = [i for i in level if not (cull_modules and info[i][3])]
        nxt = []
        if expand:
            answer = s.ask("neighbours", ids=expand, direction=direction)
            if filter is not None:
                candidates = [j for _, ns in answer for j, _ in ns]
                live.resolve(candidates, via=expand if direction == "refs" else ())
            for i, neighbours in answer:
                n = skip = 0
                for j, label in neighbours:
                    if j in ignore:
                        continue
                    if filter is not None:
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
    return order, depth, edges, skipped, info, live


def _quote(s):
    return (s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
            .replace("\0", "\\\\0"))


def _gradient(start, end, depth, max_depth):
    if max_depth == 0:
        return start
    f = float(depth) / max_depth
    return tuple(a * (1 - f) + b * f for a, b in zip(start, end))


_is_identifier = re.compile("[a-zA-Z_][a-zA-Z_0-9]*$").match


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


def _short_repr(type_name, module, label, i):
    """The second line of a box: the snapshot's safe label, or what objgraph's repr of an
    object without one looks like."""
    if label is not None:
        return label
    return ("<%s.%s object at %#x>" % (module, type_name, i))[:40]


def _write_dot(f, s, objs, order, depth, edges, skipped, info, live, max_depth, too_many,
               highlight, extra_info, refcounts, shortnames, extra_node_attrs, direction):
    names = s.type_names()
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
            type_name += " [%d]" % refcount
        parts = [type_name, _short_repr(name, module, label, i)]
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
        if o is not None and hasattr(getattr(o, "__class__", None), "__del__"):
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


def _show_graph(objs, direction, max_depth=3, extra_ignore=(), filter=None, too_many=10,
                highlight=None, filename=None, extra_info=None, refcounts=False,
                shortnames=True, output=None, extra_node_attrs=None):
    if not isinstance(objs, (list, tuple)):
        objs = [objs]
    if filename and output:
        raise ValueError("Cannot specify both output and filename.")
    gc.collect()
    s = _fresh_for(objs)
    args = (objs, direction, max_depth, extra_ignore, filter, too_many, highlight, extra_info,
            refcounts, shortnames, extra_node_attrs)
    graph = _draw(s, *args)
    if graph is None:
        s.refresh()
        graph = _draw(s, *args, stale_ok=True)
    _answered(s)
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


def _draw(s, objs, direction, max_depth, extra_ignore, filter, too_many, highlight, extra_info,
          refcounts, shortnames, extra_node_attrs, stale_ok=False):
    """The graph, or None when the snapshot answered with objects this process no longer
    has (then the caller retakes it, with none of this function's bookkeeping alive)."""
    ignore = set(extra_ignore) | s.own_ids | s.stack_ids
    ignore.add(id(objs))
    order, depth, edges, skipped, info, live = _bfs(
        s, list(objs), direction, max_depth, ignore, filter, too_many,
        cull_modules=direction == "backrefs")
    try:
        live.resolve(order, via=order)
        if not stale_ok and (not _all_alive(s, order, info, live)
                             or _young_conflict(set(order))):
            return None
        from io import StringIO
        text = StringIO()
        view = _write_dot(text, s, objs, order, depth, edges, skipped, info, live, max_depth,
                          too_many, highlight, extra_info, refcounts, shortnames,
                          extra_node_attrs, direction)
    finally:
        live.close()
    return Graph(view, text.getvalue(), _renderer, len(order))


def _all_alive(s, ids, info, live):
    """Every object the snapshot answered with still exists here, with the same type: else
    the snapshot is stale (an object was freed and another took its place in the count)."""
    names = s.type_names()
    for i in ids:
        o = live.get(i)
        name = names.get(info[i][1], (None, None))[1]
        if name == "frame":
            # 3.11+ makes frame objects on demand: the one the dumper saw may be gone.
            continue
        if o is None or type(o).__name__ != name or not _same_size(o, info[i][2]):
            return False
    return True


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
        cmd = ["dot", "-T" + ext[1:], "-o" + filename, dot_filename]
        dot = subprocess.Popen(cmd, close_fds=False)
        dot.wait()
        if dot.returncode != 0:
            print('dot failed (exit code %d) while executing "%s"'
                  % (dot.returncode, " ".join(cmd)))
        else:
            print("Image generated as %s" % filename)
    else:
        print("Image renderer (dot) not found, not doing anything else")


def show_backrefs(objs, max_depth=3, extra_ignore=(), filter=None, too_many=10,
                  highlight=None, filename=None, extra_info=None, refcounts=False,
                  shortnames=True, output=None, extra_node_attrs=None):
    """Draw what refers to `objs` (modules in sys.modules are drawn, not expanded)."""
    return _show_graph(objs, "backrefs", max_depth, extra_ignore, filter, too_many, highlight,
                       filename, extra_info, refcounts, shortnames, output, extra_node_attrs)


def show_refs(objs, max_depth=3, extra_ignore=(), filter=None, too_many=10, highlight=None,
              filename=None, extra_info=None, refcounts=False, shortnames=True, output=None,
              extra_node_attrs=None):
    """Draw what `objs` refer to."""
    return _show_graph(objs, "refs", max_depth, extra_ignore, filter, too_many, highlight,
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
