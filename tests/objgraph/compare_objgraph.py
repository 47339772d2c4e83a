"""refgraph.objgraph and PyPI's objgraph side by side in one process, on the same objects
(run by tests/objgraph.rs in a venv where `pip install objgraph` was done). Exits 1 and says
which answer differs."""

import gc
import io
import re
import sys

import objgraph as pypi
import refgraph.objgraph as ours

failures = []
checks = []


def same(what, a, b):
    checks.append(what)
    if a != b:
        failures.append("%s:\n  objgraph: %r\n  refgraph: %r" % (what, a, b))


class Item(object):
    pass


def dot(fn, *args, **kw):
    out = io.StringIO()
    fn(*args, output=out, **kw)
    return out.getvalue()


def nodes(text):
    return set(re.findall(r"^  o(\d+)\[label=", text, re.M))


def fills(text):
    return dict(re.findall(r'^  o(\d+)\[fillcolor="([^"]+)"\];', text, re.M))


CACHE = {"l1": {"l2": {"l3": {}}}}


def edges(text):
    return set(re.findall(r"^  o(\d+) -> o(\d+)", text, re.M))


def mores(text):
    return sorted(re.findall(r'too_many_o(\d+)\[label="(\d+) more', text))


class Slots(object):
    __slots__ = ("a", "b")


def compare_walks():
    """Pictures and chains of varied objects, with the options that change the walk: the same
    nodes, edges, "N more" boxes and chains as objgraph's (in the process with the accelerator,
    from a snapshot without it)."""
    import collections
    import functools
    leaf = Item()
    s = Slots()
    s.a, s.b = leaf, [leaf, ()]
    holder = Item()
    holder.attr = leaf
    holder.items = [leaf] * 3 + [Item() for _ in range(30)]
    CACHE["walk"] = {
        "leaf": leaf, "slots": s, "holder": holder, "tuple": (leaf, "x", ()),
        "deque": collections.deque([leaf, 1]), "partial": functools.partial(print, leaf),
        "method": holder.__init__, "closure": (lambda: leaf), "klass": Item,
        "big": {i: leaf for i in range(20)},
    }
    options = ({}, {"max_depth": 1}, {"max_depth": 4}, {"max_depth": 3, "too_many": 2},
               {"max_depth": 3, "too_many": 0},
               {"max_depth": 3, "filter": lambda o: not isinstance(o, tuple)},
               {"max_depth": 3, "extra_ignore": [id(holder.items)]})
    for start in (leaf, s, holder, CACHE["walk"]["tuple"], Item):
        for kw in options:
            for show in ("show_backrefs", "show_refs"):
                a = dot(getattr(pypi, show), [start], **kw)
                b = dot(getattr(ours, show), [start], **kw)
                what = "%s(%s, %s)" % (show, type(start).__name__, sorted(kw))
                same(what + " nodes", nodes(a), nodes(b))
                same(what + " edges", edges(a), edges(b))
                same(what + " more boxes", mores(a), mores(b))
    for predicate in (pypi.is_proper_module, lambda o: isinstance(o, dict) and "big" in o):
        for depth in (20, 3):
            same("find_backref_chain(leaf, max_depth=%d)" % depth,
                 [id(o) for o in pypi.find_backref_chain(leaf, predicate, max_depth=depth)],
                 [id(o) for o in ours.find_backref_chain(leaf, predicate, max_depth=depth)])
    same("find_ref_chain(CACHE, Slots)",
         [id(o) for o in pypi.find_ref_chain(CACHE, lambda o: isinstance(o, Slots))],
         [id(o) for o in ours.find_ref_chain(CACHE, lambda o: isinstance(o, Slots))])
    del CACHE["walk"]


def main():
    objects = [[], [], {}, Item(), Item(), Item(), (1, [])]
    for shortnames in (True, False):
        a, b = io.StringIO(), io.StringIO()
        pypi.show_most_common_types(objects=objects, shortnames=shortnames, file=a)
        ours.show_most_common_types(objects=objects, shortnames=shortnames, file=b)
        same("show_most_common_types(objects=...)", a.getvalue(), b.getvalue())
    same("count('Item', objects)", pypi.count("Item", objects), ours.count("Item", objects))
    same("by_type dotted", pypi.by_type(__name__ + ".Item", objects),
         ours.by_type(__name__ + ".Item", objects))

    gc.collect()
    same("count('Item')", pypi.count("Item"), ours.count("Item"))
    same("by_type('Item') ids", sorted(map(id, pypi.by_type("Item"))),
         sorted(map(id, ours.by_type("Item"))))

    p1, p2 = {}, {}
    pypi.growth(peak_stats=p1)
    ours.growth(peak_stats=p2)
    more = [Item() for _ in range(6)]
    g1 = [r for r in pypi.growth(peak_stats=p1, limit=None) if r[0] == "Item"]
    g2 = [r for r in ours.growth(peak_stats=p2, limit=None) if r[0] == "Item"]
    same("growth: Item row", g1, g2)

    a = [1, 2, 3]
    b = [4, 5, 6]
    a.append(b)
    b.append(a)
    r1, r2 = dot(pypi.show_refs, [a]), dot(ours.show_refs, [a])
    same("show_refs([a]) nodes", nodes(r1), nodes(r2))
    same("show_refs([a]) colours", fills(r1), fills(r2))
    CACHE["l1"]["l2"]["l3"]["leaf"] = leaf = Item()
    b1 = dot(pypi.show_backrefs, [leaf], max_depth=5)
    b2 = dot(ours.show_backrefs, [leaf], max_depth=5)
    same("show_backrefs(cached leaf) nodes", nodes(b1), nodes(b2))
    same("show_backrefs(cached leaf) colours", fills(b1), fills(b2))
    c1 = pypi.find_backref_chain(leaf, pypi.is_proper_module)
    c2 = ours.find_backref_chain(leaf, ours.is_proper_module)
    same("find_backref_chain(leaf)", [id(o) for o in c1], [id(o) for o in c2])
    same("find_backref_chain(leaf, max_depth=2)",
         [id(o) for o in pypi.find_backref_chain(leaf, pypi.is_proper_module, max_depth=2)],
         [id(o) for o in ours.find_backref_chain(leaf, ours.is_proper_module, max_depth=2)])
    s1, s2 = dot(pypi.show_chain, c1), dot(ours.show_chain, c2)
    same("show_chain nodes", nodes(s1), nodes(s2))
    kids = [Item() for _ in range(13)]
    t1, t2 = dot(pypi.show_refs, [kids], max_depth=1), dot(ours.show_refs, [kids], max_depth=1)
    same("too_many box", re.findall(r"too_many_\S+\[label=[^\]]*\]", t1),
         re.findall(r"too_many_\S+\[label=[^\]]*\]", t2))
    if ours._in_process():
        # objgraph's walk itself (the engine's pictures, where the accelerator cannot load,
        # draw the first neighbours in the snapshot's order: the module's docstring)
        same("show_refs([kids]) nodes (the ten gc reports first)", nodes(t1), nodes(t2))
        compare_walks()
    same("is_proper_module", [pypi.is_proper_module(m) for m in (sys, [], gc)],
         [ours.is_proper_module(m) for m in (sys, [], gc)])
    del more
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("objgraph and refgraph.objgraph agree (%d checks)" % len(checks))


if __name__ == "__main__":
    main()
