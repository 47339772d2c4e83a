"""refgraph.objgraph as a drop-in for objgraph 3.7: its documented behaviour, function by
function (run by tests/objgraph.rs on every CPython here: `python -m unittest` or pytest)."""

import gc
import io
import os
import re
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

import refgraph
import refgraph.objgraph as objgraph


class MyClass(object):
    pass


class Slotted(object):
    """Objects of a size nothing else in these tests has (23 slots)."""
    __slots__ = tuple("s%d" % i for i in range(23))

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values):
            setattr(self, name, value)


class WithDel(object):
    def __del__(self):
        pass


def printed(fn, *args, **kw):
    out = io.StringIO()
    with redirect_stdout(out):
        result = fn(*args, **kw)
    return out.getvalue(), result


def dot_of(fn, *args, **kw):
    out = io.StringIO()
    assert fn(*args, output=out, **kw) is None
    return out.getvalue()


def run_program(lines, timeout):
    """A Python program of these lines in a new process of this interpreter (a test that forks,
    dies or installs audit hooks): its CompletedProcess, output as text."""
    import subprocess
    return subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True,
                          text=True, timeout=timeout)


def node_ids(dot):
    return set(re.findall(r"^  o(\d+)\[label=", dot, re.M))


class Statistics(unittest.TestCase):
    def test_the_drop_ins_own_session_is_not_counted(self):
        # a program with its own `Session` class must not see refgraph's session in its counts
        class Session(object):
            pass
        keep = [Session(), Session()]
        objgraph.refresh()
        self.assertEqual(objgraph.typestats(shortnames=True).get("Session"), 2)
        del keep

    def test_count_and_dotted_names(self):
        gc.collect()
        xs = [MyClass() for _ in range(3)]
        self.assertEqual(objgraph.count("MyClass"), 3)
        self.assertEqual(objgraph.count(__name__ + ".MyClass"), 3)
        self.assertEqual(objgraph.count("nosuch.MyClass"), 0)
        self.assertEqual(objgraph.count("builtins.dict", [{}, [], {}]), 2)
        self.assertEqual(objgraph.count("dict", [{}, [], {}]), 2)
        del xs

    def test_typestats_and_most_common_types(self):
        objects = [[], [], {}, MyClass()]
        self.assertEqual(objgraph.typestats(objects), {"list": 2, "dict": 1, "MyClass": 1})
        long = objgraph.typestats(objects, shortnames=False)
        self.assertEqual(long["builtins.list"], 2)
        self.assertEqual(long[__name__ + ".MyClass"], 1)
        self.assertEqual(objgraph.typestats(objects, filter=lambda o: isinstance(o, list)),
                         {"list": 2})
        self.assertEqual(objgraph.most_common_types(1, objects), [("list", 2)])
        self.assertEqual(len(objgraph.most_common_types(None, objects)), 3)
        whole = objgraph.typestats()
        self.assertGreater(whole["function"], 100)
        self.assertNotIn("int", whole)          # gc-tracked objects only
        gc.collect()
        xs = [MyClass() for _ in range(4)]
        self.assertEqual(objgraph.typestats()["MyClass"],
                         objgraph.typestats(gc.get_objects())["MyClass"])
        del xs

    def test_show_most_common_types_format(self):
        out, _ = printed(objgraph.show_most_common_types, objects=[[], [], {}, MyClass()])
        self.assertEqual(out, "list    2\ndict    1\nMyClass 1\n")
        buf = io.StringIO()
        objgraph.show_most_common_types(limit=3, file=buf)
        lines = buf.getvalue().splitlines()
        self.assertEqual(len(lines), 3)
        self.assertTrue(all(re.match(r"^\S+ +\d+$", l) for l in lines), lines)

    def test_show_growth_reports_new_peaks_only(self):
        peak = {}
        objgraph.growth(peak_stats=peak)
        xs = [MyClass() for _ in range(5)]
        out, _ = printed(objgraph.show_growth, peak_stats=peak)
        self.assertRegex(out, r"(?m)^MyClass +5 +\+5$")
        width = max(len(l.split()[0]) for l in out.splitlines())
        self.assertTrue(all(len(l) == width + 19 for l in out.splitlines()), out)
        out, _ = printed(objgraph.show_growth, peak_stats=peak, limit=1)
        self.assertEqual(len(out.splitlines()), 1 if out else 0)
        self.assertNotIn("MyClass", out)         # it did not grow again
        del xs[:]
        xs.extend(MyClass() for _ in range(3))   # below the old peak: not reported
        out, _ = printed(objgraph.show_growth, peak_stats=peak)
        self.assertNotIn("MyClass", out)
        xs.extend(MyClass() for _ in range(4))
        buf = io.StringIO()
        objgraph.show_growth(limit=None, peak_stats=peak, shortnames=False, file=buf)
        self.assertIn(__name__ + ".MyClass", buf.getvalue())
        self.assertEqual(objgraph.growth(peak_stats=peak, shortnames=False), [])

    def test_get_new_ids_documented_example(self):
        objgraph.get_new_ids(limit=0)
        objgraph.get_new_ids(limit=0)
        a = [0, 1, 2]
        b = [3, 4, 5]
        out, new_ids = printed(objgraph.get_new_ids, limit=3)
        lines = out.splitlines()
        self.assertEqual(len(lines), 7)
        self.assertRegex(lines[3], r"^\S+ +\d+ +\d+ +[+-]\d+ +[+-]\d+$")
        self.assertEqual(lines[0], lines[2])
        self.assertTrue(set(lines[0]) == {"="})
        self.assertEqual(lines[1].split(), ["Type", "Old_ids", "Current_ids", "New_ids",
                                            "Count_Deltas"])
        width = max(len(l.split()[0]) for l in lines[3:6])
        self.assertEqual(len(lines[0]), width + 52)
        self.assertGreaterEqual(len(new_ids["list"]), 2)
        new_lists = objgraph.at_addrs(new_ids["list"])
        self.assertTrue(any(x is a for x in new_lists))
        self.assertTrue(any(x is b for x in new_lists))
        self.assertIs(objgraph.get_new_ids(skip_update=True), new_ids)
        out, again = printed(objgraph.get_new_ids, limit=0)
        self.assertEqual(out, "")
        self.assertIs(again, new_ids)

    def test_get_new_ids_sortby(self):
        objgraph.get_new_ids(limit=0)
        xs = [MyClass() for _ in range(7)]
        out, _ = printed(objgraph.get_new_ids, limit=None, sortby="new")
        rows = [l.split() for l in out.splitlines()[3:-1]]
        self.assertIn(["MyClass", "0", "7", "+7", "+7"], rows)
        news = [int(r[3]) for r in rows]
        self.assertEqual(news, sorted(news, reverse=True))
        del xs


class Locating(unittest.TestCase):
    def test_by_type_returns_the_live_objects(self):
        xs = [MyClass() for _ in range(3)]
        found = objgraph.by_type("MyClass")
        self.assertEqual(sorted(map(id, found)), sorted(map(id, xs)))
        self.assertTrue(all(any(f is x for x in xs) for f in found))
        self.assertEqual(len(objgraph.by_type(__name__ + ".MyClass")), 3)
        self.assertEqual(objgraph.by_type("nosuch.MyClass"), [])
        self.assertEqual(objgraph.by_type("list", [[], {}, []]), [[], []])
        self.assertEqual(objgraph.by_type("NoSuchType"), [])

    def test_at_and_at_addrs(self):
        x = MyClass()
        self.assertIs(objgraph.at(id(x)), x)
        self.assertIsNone(objgraph.at(id(12345678)))     # not gc-tracked
        self.assertEqual(objgraph.at_addrs({id(x)}), [x])

    def test_get_leaking_objects(self):
        self.assertEqual(objgraph.get_leaking_objects([]), [])
        x = MyClass()
        held = [x]
        self.assertEqual(objgraph.get_leaking_objects([x]), [])   # `held` refers to it
        leaking = objgraph.get_leaking_objects()
        self.assertTrue(any(objgraph.is_proper_module(o) for o in leaking) or leaking)
        self.assertFalse(any(o is x for o in leaking))
        del held

    def test_is_proper_module(self):
        import types
        self.assertFalse(objgraph.is_proper_module([]))
        self.assertTrue(objgraph.is_proper_module(types))
        self.assertFalse(objgraph.is_proper_module(types.ModuleType("foo")))


HOLDER = {}


class NamedByTheirMetaclass(type):
    """A metaclass whose classes' __name__ and __module__ are properties that fail: the
    program's code, which the drop-in must never run to name a type."""

    @property
    def __name__(cls):
        raise AssertionError("a metaclass's __name__ ran")

    @property
    def __module__(cls):
        raise AssertionError("a metaclass's __module__ ran")


class OddlyNamed(metaclass=NamedByTheirMetaclass):
    pass


class Chains(unittest.TestCase):
    def test_find_backref_chain_to_a_module(self):
        x = MyClass()
        HOLDER["a"] = {"b": [x]}
        try:
            chain = objgraph.find_backref_chain(x, objgraph.is_proper_module)
            self.assertIs(chain[0], sys.modules[__name__])
            self.assertIs(chain[-1], x)
            for holder, held in zip(chain, chain[1:]):
                self.assertTrue(any(r is held for r in gc.get_referents(holder)),
                                (type(holder), type(held)))
            short = objgraph.find_backref_chain(x, objgraph.is_proper_module, max_depth=1)
            self.assertEqual(len(short), 1)
            self.assertIs(short[0], x)
        finally:
            HOLDER.clear()

    def test_threads_asking_at_once_each_get_their_answer(self):
        # one engine serves the process: a request, its reply and a refresh are never mixed
        import threading
        xs = [MyClass() for _ in range(8)]
        HOLDER["threads"] = xs
        errors, done = [], []

        def ask(n):
            try:
                for i in range(3):
                    x = xs[(n * 3 + i) % len(xs)]
                    chain = objgraph.find_backref_chain(x, objgraph.is_proper_module)
                    self.assertIs(chain[-1], x)
                    objgraph.show_backrefs([x], max_depth=2, output=io.StringIO())
                    done.append(n)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append("%s: %s" % (type(e).__name__, e))
        try:
            threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            self.assertFalse(any(t.is_alive() for t in threads), "a thread hangs")
            self.assertEqual((errors, len(done)), ([], 12))
        finally:
            HOLDER.clear()

    def test_a_module_asked_about_is_its_own_chain_and_drawn_alone(self):
        # objgraph tests the object itself first, and never expands a module upward
        self.assertEqual(objgraph.find_backref_chain(os, objgraph.is_proper_module), [os])
        out = io.StringIO()
        objgraph.show_backrefs([os], max_depth=3, output=out)
        self.assertEqual(out.getvalue().count("[label="), 1, out.getvalue()[:2000])

    def test_find_backref_chain_extra_ignore_and_any_predicate(self):
        x = MyClass()
        inner = [x]
        HOLDER["only"] = inner
        try:
            chain = objgraph.find_backref_chain(
                x, objgraph.is_proper_module, extra_ignore=(id(inner),))
            self.assertFalse(any(o is inner for o in chain))
            chain = objgraph.find_backref_chain(x, lambda o: o is HOLDER)
            self.assertIs(chain[0], HOLDER)
            self.assertIs(chain[-1], x)
        finally:
            HOLDER.clear()

    def test_find_ref_chain(self):
        target = MyClass()
        start = {"k": [(1, target)]}
        chain = objgraph.find_ref_chain(start, lambda o: isinstance(o, MyClass))
        self.assertIs(chain[0], start)
        self.assertIs(chain[-1], target)
        self.assertEqual(objgraph.find_ref_chain(start, lambda o: False, max_depth=2),
                         [start])


    def test_the_live_search_used_when_no_snapshot_holds_gives_objgraphs_chains(self):
        x = MyClass()
        HOLDER["live"] = [x]
        try:
            chain = objgraph._live_chain(x, objgraph.is_proper_module, "backrefs", 20, ())
            self.assertIs(chain[0], sys.modules[__name__])
            self.assertIs(chain[-1], x)
            start = {"k": [(1, x)]}
            chain = objgraph._live_chain(start, lambda o: o is x, "refs", 20, ())
            self.assertIs(chain[0], start)
            self.assertIs(chain[-1], x)
            self.assertEqual(objgraph._live_chain(x, lambda o: False, "backrefs", 2, ()), [x])
        finally:
            HOLDER.clear()

class Graphs(unittest.TestCase):
    def test_a_metaclass_that_names_its_classes_never_runs(self):
        x = OddlyNamed()
        HOLDER["oddly named"] = x
        for show in (objgraph.show_refs, objgraph.show_backrefs):
            self.assertIn('o%d[label="OddlyNamed' % id(x), dot_of(show, [x], max_depth=2))
        self.assertEqual(objgraph.count("OddlyNamed"), 1)
        self.assertEqual(objgraph.by_type("OddlyNamed"), [x])
        self.assertEqual(objgraph.typestats(shortnames=False)[__name__ + ".OddlyNamed"], 1)
        chain = objgraph.find_backref_chain(x, objgraph.is_proper_module)
        self.assertIs(chain[-1], x)

    def test_show_refs_documented_example(self):
        a = [1, 2, 3]
        b = [4, 5, 6]
        a.append(b)
        b.append(a)
        dot = dot_of(objgraph.show_refs, [a])
        self.assertTrue(dot.startswith("digraph ObjectGraph {\n  node[shape=box, style=filled,"
                                       " fillcolor=white];\n  o%d[fontcolor=red];\n" % id(a)))
        self.assertTrue(dot.endswith("}\n"))
        self.assertEqual(len(node_ids(dot)), 8)
        self.assertIn('o%d[label="list\\n4 items"];' % id(a), dot)
        self.assertIn('o%d[fillcolor="0,0,1"];' % id(a), dot)
        self.assertIn('o%d[fillcolor="0,0,0.766667"];' % id(b), dot)
        self.assertIn("o%d -> o%d" % (id(b), id(a)), dot)

    def test_show_backrefs_stops_at_modules_and_colours_them(self):
        HOLDER["x"] = x = MyClass()
        try:
            dot = dot_of(objgraph.show_backrefs, x, max_depth=4, too_many=1000)
            module = sys.modules[__name__]
            self.assertIn('o%d[label="module\\n%s"];' % (id(module), __name__), dot)
            self.assertRegex(dot, r'o%d\[fillcolor="0\.3,1,' % id(module))
            self.assertNotIn("-> o%d" % id(sys.modules), dot)   # not expanded past it
            self.assertIn('-> o%d [label="x",weight=2];' % id(x), dot)
        finally:
            HOLDER.clear()

    def test_refcounts_are_the_references_the_program_holds(self):
        x = MyClass()
        holders = ([x], {"k": x})
        dot_of(objgraph.show_refs, [holders], max_depth=2)   # (a dump here may add a reference)
        expected = sys.getrefcount(x) - 1       # the local, the list, the dict (+ the dump's)
        dot = dot_of(objgraph.show_refs, [holders], max_depth=2, refcounts=True)
        self.assertIn('o%d[label="MyClass [%d]\\n' % (id(x), expected), dot)
        dot = dot_of(objgraph.show_backrefs, [x], max_depth=1, refcounts=True)
        self.assertIn('o%d[label="MyClass [%d]\\n' % (id(x), expected + 1), dot)  # + [x]

    def test_options(self):
        kids = [MyClass() for _ in range(13)]
        dot = dot_of(objgraph.show_refs, [kids], max_depth=1)
        self.assertIn('too_many_o%d[label="3 more references"' % id(kids), dot)
        self.assertEqual(dot.count("o%d -> " % id(kids)), 10)
        dot = dot_of(objgraph.show_refs, [kids], max_depth=1, too_many=20,
                     filter=lambda o: o is not kids[0])
        self.assertNotIn("o%d[" % id(kids[0]), dot)
        self.assertEqual(dot.count("o%d -> " % id(kids)), 12)
        # kids[5]: drawn in either order (objgraph draws the ten gc reports first: the last
        # ten; the engine's snapshot lists them from the first)
        dot = dot_of(objgraph.show_refs, [kids], max_depth=1,
                     highlight=lambda o: o is kids[5],
                     extra_info=lambda o: "extra-%d" % id(o), refcounts=True,
                     shortnames=False, extra_node_attrs=lambda o: {"URL": "u", "x": None})
        self.assertRegex(dot, r'o%d\[fillcolor="0\.6,0\.6,' % id(kids[5]))
        self.assertIn("\\nextra-%d" % id(kids[5]), dot)
        self.assertRegex(dot, r'label="builtins\.list \[\d+\]\\n13 items')
        self.assertIn(', URL="u"];', dot)
        w = WithDel()
        dot = dot_of(objgraph.show_refs, [w], max_depth=0)
        self.assertIn("o%d_has_a_del[label=\"__del__\"" % id(w), dot)

    def test_filename_and_output_messages(self):
        x = [MyClass()]
        with self.assertRaises(ValueError):
            objgraph.show_refs(x, filename="x.dot", output=io.StringIO())
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "refs.dot")
            out, result = printed(objgraph.show_refs, [x], filename=path)
            self.assertIsNone(result)
            with open(path, encoding="utf-8") as f:
                dot = f.read()
            self.assertTrue(dot.startswith("digraph ObjectGraph {"))
            self.assertEqual(out, "Graph written to %s (%d nodes)\n" % (path, len(node_ids(dot))))
            for ext, magic in ((".png", b"\x89PNG"), (".svg", b"<")):
                pic = os.path.join(d, "refs" + ext)
                out, _ = printed(objgraph.show_backrefs, [x], filename=pic)
                lines = out.splitlines()
                self.assertRegex(lines[0], r"^Graph written to .*objgraph-.*\.dot \(\d+ nodes\)$")
                self.assertEqual(lines[1], "Image generated as %s" % pic)
                with open(pic, "rb") as f:
                    self.assertTrue(f.read().startswith(magic))

    def test_a_relative_filename_is_written_where_the_program_is_now(self):
        x = [MyClass()]
        here = os.getcwd()
        with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
            try:
                os.chdir(first)
                printed(objgraph.show_refs, [x], filename="a.svg")  # the engine starts here
                os.chdir(second)
                printed(objgraph.show_refs, [x], filename="b.png")
                self.assertTrue(os.path.isfile(os.path.join(second, "b.png")))
            finally:
                os.chdir(here)

    def test_show_chain(self):
        x = MyClass()
        HOLDER["c"] = [x]
        try:
            chain = objgraph.find_backref_chain(x, objgraph.is_proper_module)
            dot = dot_of(objgraph.show_chain, chain)
            self.assertEqual(node_ids(dot), set(str(id(o)) for o in chain))
            dot = dot_of(objgraph.show_chain, chain[::-1], backrefs=False)
            self.assertIn("o%d[fontcolor=red]" % id(x), dot)
            with self.assertRaises(TypeError):
                objgraph.show_chain(chain, filter=None, output=io.StringIO())
            with self.assertRaises(ValueError):
                objgraph.show_chain([], output=io.StringIO())
        finally:
            HOLDER.clear()

    def test_not_interactive_outside_ipython(self):
        self.assertFalse(objgraph.IS_INTERACTIVE)


class WhyAlive(unittest.TestCase):
    def test_chain_from_a_module(self):
        HOLDER["why"] = MyClass()
        try:
            why = refgraph.why_alive(HOLDER["why"])
            self.assertEqual(why.kind, "chain")
            self.assertIn("['why']", str(why))
            self.assertEqual(why.chain[-1]["id"], id(HOLDER["why"]))
        finally:
            HOLDER.clear()

    def test_cyclic_garbage(self):
        gc.disable()
        try:
            a = MyClass()
            a.me = a
            ident = id(a)
            del a
            why = refgraph.why_alive(next(o for o in gc.get_objects() if id(o) == ident))
            self.assertEqual(why.kind, "cyclic garbage")
            self.assertIn("cyclic garbage", why)
        finally:
            gc.enable()
            gc.collect()


class OnASnapshot:
    """The same tests with graph and chain questions asked of the engine on a snapshot (as
    where the accelerator is not loaded), not walked in the process."""

    def setUp(self):
        self.live, objgraph._LIVE = objgraph._LIVE, False

    def tearDown(self):
        objgraph._LIVE = self.live


class ChainsOnASnapshot(OnASnapshot, Chains):
    pass


class GraphsOnASnapshot(OnASnapshot, Graphs):
    pass


class Describe(unittest.TestCase):
    """_dump.describe: the drawn objects of an in-process picture, named as a dump names them,
    looked up (not labelled whole) in big containers, with no code of the objects run."""

    def test_names_the_wanted_references_only(self):
        x, y = MyClass(), MyClass()
        x.partner = y
        big = [None] * 100000 + [x, y, x]
        d = {"k": x, 7: y, (1, 2): x}

        class Loud(object):
            def __repr__(self):
                raise AssertionError("repr ran")

            def __eq__(self, other):
                raise AssertionError("__eq__ ran")

            __hash__ = object.__hash__

        loud = Loud()
        d[loud] = y
        gc.collect()
        rows = refgraph._dump.describe([big, d, x, loud], [{id(x), id(y)}, {id(x), id(y)},
                                                            {id(y)}, set()])
        (t_big, label_big, named_big), (t_d, label_d, named_d), (t_x, _, named_x), \
            (t_loud, label_loud, named_loud) = rows
        self.assertEqual(t_big, ["builtins", "list"])
        self.assertEqual(label_big, "100003 items")
        self.assertEqual([(id(r), lab) for r, lab in named_big],
                         [(id(x), "[100000]"), (id(y), "[100001]")])   # first place of each
        self.assertEqual(label_d, "4 items")
        self.assertIn((id(x), "['k']"), [(id(r), lab) for r, lab in named_d])
        self.assertIn((id(y), "[7]"), [(id(r), lab) for r, lab in named_d])
        self.assertEqual(t_x[1], "MyClass")
        # 3.11+ (inline values): x refers to y itself; before, through its __dict__
        inline = any(r is y for r in gc.get_referents(x))
        self.assertEqual([(id(r), lab) for r, lab in named_x],
                         [(id(y), ".partner")] if inline else [])
        self.assertEqual(t_loud[1].rsplit(".", 1)[-1], "Loud")
        self.assertEqual(named_loud, [])
        self.assertEqual(gc.collect(), 0)       # describe left no cyclic garbage


@unittest.skipUnless(objgraph._live.available(), "the accelerator is not loaded here")
class InProcess(unittest.TestCase):
    """With the accelerator, graph and chain questions walk the live heap (refgraph._live):
    objgraph's own walk, its answers, one heap pass per level and no snapshot."""

    def tree(self):
        """A leaf held three ways, two levels deep, by globals only (no frame holds it)."""
        HOLDER["t"] = {"a": {"b": [MyClass()]}, "c": [None]}
        HOLDER["t"]["c"][0] = HOLDER["t"]["a"]["b"][0]
        HOLDER["u"] = (HOLDER["t"]["c"][0], HOLDER["t"]["a"])

    def tearDown(self):
        HOLDER.clear()

    def test_referrers_of_is_gc_get_referrers_for_many(self):
        import random
        referrers_of = refgraph._dump._native_module.referrers_of
        gc.collect()
        objs = gc.get_objects()
        indexed = set(map(id, objs))
        targets = random.Random(7).sample(objs, 300) + [MyClass, sys.modules[__name__]]
        targets.append(targets[0])          # one twice
        answers = referrers_of(objs, targets)
        self.assertEqual(len(answers), len(targets))
        left_out = {id(objs), id(targets), id(globals()), id(answers)}
        for t, got in zip(targets, answers):
            want = [r for r in gc.get_referrers(t) if id(r) in indexed and id(r) not in left_out]
            self.assertEqual([id(r) for r in got if id(r) not in left_out],
                             [id(r) for r in want], type(t))
        with self.assertRaises(TypeError):
            referrers_of(objs, None)
        self.assertEqual(referrers_of([], [1]), [[]])

    def test_no_snapshot_is_taken(self):
        self.tree()
        objgraph.session().close()
        dot = dot_of(objgraph.show_backrefs, [HOLDER["t"]["c"][0]], max_depth=4)
        chain = objgraph.find_backref_chain(HOLDER["u"][0], objgraph.is_proper_module)
        self.assertIs(chain[0], sys.modules[__name__])
        self.assertTrue(objgraph._implicit["session"].closed)
        self.assertIn('[label="c",weight=2]', dot)

    def test_pictures_are_objgraphs_walk(self):
        """The nodes and edges objgraph's own walk (its _show_graph with gc.get_referrers or
        gc.get_referents) draws, for several depths, too_many and a filter."""
        self.tree()
        for show, edge_func, swap, cull, start in (
                (objgraph.show_backrefs, gc.get_referrers, False, objgraph.is_proper_module,
                 lambda: [HOLDER["u"][0]]),
                (objgraph.show_refs, gc.get_referents, True, None, lambda: [HOLDER["t"]])):
            for options in ({"max_depth": 2}, {"max_depth": 4}, {"max_depth": 3, "too_many": 1},
                            {"max_depth": 3, "filter": lambda o: not isinstance(o, tuple)}):
                ours = dot_of(show, start(), **options)
                theirs = io.StringIO()
                objgraph._show_graph(start(), edge_func, swap, output=theirs, cull_func=cull,
                                     **options)
                theirs = theirs.getvalue()
                self.assertEqual(node_ids(ours), node_ids(theirs), (show, options))
                self.assertEqual(edges_of(ours), edges_of(theirs), (show, options))
                self.assertEqual(ours.count("more references") + ours.count("backreferences"),
                                 theirs.count("more references")
                                 + theirs.count("backreferences"))

    def test_another_walks_containers_are_never_referrers(self):
        """A question asked while another one runs (another thread, or a `filter` asking one)
        never draws that one's lists of the whole heap and of answers."""
        x = MyClass()
        holder = [x]
        other = objgraph._live.Heap()       # as another question would have open
        try:
            other.referrers([x])
            dot = dot_of(objgraph.show_backrefs, [x], max_depth=1)
            self.assertEqual(node_ids(dot), {str(id(x)), str(id(holder))}, dot)
            self.assertEqual(len(objgraph.find_backref_chain(
                x, lambda o: isinstance(o, list) and len(o) > 1000, max_depth=1)), 1)
            inner = []

            def nested(o, holder=holder):       # (not a closure: its cell would hold x)
                if not inner:
                    inner.append(dot_of(objgraph.show_backrefs, [holder[0]], max_depth=1))
                return True
            dot_of(objgraph.show_backrefs, [holder], max_depth=1, filter=nested)
            self.assertEqual(node_ids(inner[0]), {str(id(x)), str(id(holder))}, inner[0])
        finally:
            other.close()

    def test_no_code_of_the_drawn_objects_runs(self):
        class Hostile(list):
            def __len__(self):
                raise AssertionError("__len__ ran")

            def __repr__(self):
                raise AssertionError("__repr__ ran")

        x = Hostile([MyClass()])
        HOLDER["h"] = x
        for show in (objgraph.show_refs, objgraph.show_backrefs):
            dot = dot_of(show, [x], max_depth=2)
            self.assertIn('o%d[label="Hostile\\n1 item"];' % id(x), dot)

    def test_objects_that_lie_about_their_class_are_drawn(self):
        import weakref

        class Liar(object):
            @property
            def __class__(self):
                raise AssertionError("__class__ ran")

            def __getattr__(self, name):
                raise AssertionError("__getattr__ ran")

        class Gone(object):
            pass
        gone = Gone()
        dead = weakref.proxy(gone)
        del gone
        HOLDER["liar"], HOLDER["dead"] = Liar(), dead
        for x in (HOLDER["liar"], dead):
            for show in (objgraph.show_refs, objgraph.show_backrefs):
                self.assertIn("o%d[label=" % id(x), dot_of(show, [x], max_depth=2))
        chain = objgraph.find_backref_chain(HOLDER["liar"], objgraph.is_proper_module)
        self.assertIs(chain[0], sys.modules[__name__])

    def test_types_are_named_as_objgraph_names_them(self):
        class Base(object):
            pass
        Base.__name__ = "Renamed"
        b = Base()
        self.assertIn('o%d[label="Renamed\\n' % id(b), dot_of(objgraph.show_refs, [b],
                                                                  max_depth=0))
        # objgraph never draws its extra_ignore, by default the empty tuple
        dot = dot_of(objgraph.show_refs, [[(), "a"]], max_depth=1)
        self.assertNotIn("o%d[" % id(()), dot)

    def test_the_drawing_engine_is_restarted_and_never_shared_with_a_child(self):
        x = [MyClass()]
        with tempfile.TemporaryDirectory() as d:
            printed(objgraph.show_refs, [x], filename=os.path.join(d, "a.svg"))
            engine = objgraph._implicit["renderer"]
            engine._proc.kill()
            engine._proc.wait()
            printed(objgraph.show_refs, [x], filename=os.path.join(d, "b.svg"))
            self.assertTrue(os.path.isfile(os.path.join(d, "b.svg")))
            self.assertIsNot(objgraph._implicit["renderer"], engine)
            parent_engine = objgraph._implicit["renderer"]._proc.pid
            pid = os.fork()
            if pid == 0:
                ok = False
                try:
                    printed(objgraph.show_refs, [x], filename=os.path.join(d, "child.svg"))
                    ok = objgraph._implicit["renderer"]._proc.pid != parent_engine
                finally:
                    os._exit(0 if ok else 1)
            printed(objgraph.show_refs, [x], filename=os.path.join(d, "parent.svg"))
            _, status = os.waitpid(pid, 0)
            self.assertEqual(status, 0)
            self.assertEqual(objgraph._implicit["renderer"]._proc.pid, parent_engine)
            self.assertTrue(os.path.isfile(os.path.join(d, "child.svg")))

    def test_dot_needs_no_engine_and_a_missing_one_is_named(self):
        x = [MyClass()]
        old = os.environ.get("REFGRAPH_BIN")
        engines = dict(objgraph._implicit)      # (an open session would draw too)
        objgraph._implicit.update(session=None, renderer=None)
        os.environ["REFGRAPH_BIN"] = "/nonexistent/refgraph"
        try:
            self.assertIn("->", dot_of(objgraph.show_refs, [x]))
            self.assertEqual(len(objgraph.find_backref_chain(x[0], lambda o: o is x)), 2)
            with tempfile.TemporaryDirectory() as d:
                with self.assertRaisesRegex(refgraph.EngineError,
                                            "did not start: /nonexistent/refgraph: "):
                    printed(objgraph.show_refs, [x], filename=os.path.join(d, "x.png"))
                self.assertFalse(os.path.exists(os.path.join(d, "x.png")))
        finally:
            if old is None:
                del os.environ["REFGRAPH_BIN"]
            else:
                os.environ["REFGRAPH_BIN"] = old
            objgraph._implicit.update(engines)

    def test_chains_are_objgraphs(self):
        self.tree()
        for predicate in (objgraph.is_proper_module, lambda o: o is HOLDER["u"]):
            ours = objgraph.find_backref_chain(HOLDER["u"][0], predicate)
            theirs = objgraph._find_chain(HOLDER["u"][0], predicate, gc.get_referrers)
            self.assertEqual(list(map(id, ours)), list(map(id, theirs)))
        ours = objgraph.find_ref_chain(HOLDER["t"], lambda o: isinstance(o, MyClass))
        theirs = objgraph._find_chain(HOLDER["t"], lambda o: isinstance(o, MyClass),
                                      gc.get_referents)[::-1]
        self.assertEqual(list(map(id, ours)), list(map(id, theirs)))
        self.assertEqual(len(objgraph.find_backref_chain(HOLDER["u"][0], lambda o: False,
                                                         max_depth=3)), 1)


def edges_of(dot):
    """{(referrer id, referent id)} of a DOT picture's object edges."""
    return set(re.findall(r"^  o(\d+) -> o(\d+)", dot, re.M))


def reused(make, old_id, keep):
    """A new object from `make()` at the address `old_id` (a freed object's), or None: the
    objects made on the way are kept in `keep` so that each try gets a new address."""
    for _ in range(2000):
        o = make()
        if id(o) == old_id:
            return o
        keep.append(o)
    return None


class Freshness(unittest.TestCase):
    """Graph and chain answers come from one snapshot while they hold in the live heap, and
    are retaken when they do not (the module docstring's rule); counting questions never dump.
    `session().refreshes` counts the dumps."""

    def setUp(self):
        self.live, objgraph._LIVE = objgraph._LIVE, False
        objgraph.refresh()
        self.s = objgraph.session()
        self.dumps = self.s.refreshes
        self.reasons = len(self.s.stale_reasons)

    def redumps(self):
        return self.s.refreshes - self.dumps

    def tearDown(self):
        objgraph._LIVE = self.live
        HOLDER.clear()
        # an answer retaken on a new snapshot always holds there (the heap did not change
        # during the question): else the checks themselves are wrong
        self.assertFalse([r for r in self.s.stale_reasons[self.reasons:]
                          if r.startswith("on a new snapshot")])

    def test_an_unchanged_heap_is_answered_from_one_snapshot(self):
        leaf = MyClass()
        HOLDER["tree"] = {"a": {"b": [leaf]}}
        HOLDER["tree2"] = {"c": [leaf]}
        objgraph.refresh()
        dumps = self.s.refreshes
        gc.collect()        # collections since the dump do not make it stale
        dot = dot_of(objgraph.show_backrefs, [leaf], max_depth=4)
        self.assertEqual(len(re.findall(r"-> o%d" % id(leaf), dot)), 2)
        gc.collect()
        chain = objgraph.find_backref_chain(leaf, objgraph.is_proper_module)
        self.assertIs(chain[-1], leaf)
        self.assertIs(chain[0], sys.modules[__name__])
        dot_of(objgraph.show_chain, chain)
        dot_of(objgraph.show_refs, [HOLDER], max_depth=3)
        out = io.StringIO()
        objgraph.show_growth(file=out)
        objgraph.typestats()
        objgraph.by_type("MyClass")
        self.assertEqual(objgraph.count("MyClass"), len(objgraph.by_type("MyClass")))
        self.assertEqual(self.s.refreshes, dumps, self.s.stale_reasons[self.reasons:])

    def test_counting_questions_never_dump_and_are_always_fresh(self):
        gc.collect()
        before = objgraph.count("MyClass")
        xs = [MyClass() for _ in range(4)]
        self.assertEqual(objgraph.count("MyClass"), before + 4)
        self.assertEqual(objgraph.typestats()["MyClass"], before + 4)
        self.assertEqual(len(objgraph.by_type("MyClass")), before + 4)
        del xs
        gc.collect()
        self.assertEqual(objgraph.count("MyClass"), before)
        self.assertEqual(self.redumps(), 0)

    def test_a_new_holder_is_drawn(self):
        HOLDER["x"] = x = MyClass()
        objgraph.refresh()
        self.dumps = self.s.refreshes
        dot_of(objgraph.show_backrefs, [x], max_depth=1)
        self.assertEqual(self.redumps(), 0)
        other = [x]
        dot = dot_of(objgraph.show_backrefs, [x], max_depth=1)
        self.assertIn((str(id(other)), str(id(x))), edges_of(dot))
        self.assertEqual(self.redumps(), 1)

    def test_a_dropped_holder_is_not_drawn(self):
        x = MyClass()
        HOLDER["x"] = x
        HOLDER["list"] = held = [x]
        objgraph.refresh()
        dumps = self.s.refreshes
        held.clear()
        dot = dot_of(objgraph.show_backrefs, [x], max_depth=1)
        self.assertNotIn((str(id(held)), str(id(x))), edges_of(dot))
        self.assertIn((str(id(HOLDER)), str(id(x))), edges_of(dot))
        self.assertEqual(self.s.refreshes, dumps + 1)
        # and a chain through the dropped holder is not given
        HOLDER.clear()
        HOLDER["l"] = [x]
        objgraph.refresh()
        HOLDER["l"].clear()
        HOLDER["m"] = {"k": x}
        chain = objgraph.find_backref_chain(x, objgraph.is_proper_module)
        self.assertLinked(chain)
        self.assertIs(chain[-1], x)
        self.assertTrue(any(o is HOLDER["m"] for o in chain), chain)

    def test_an_object_made_after_the_dump_is_drawn_as_it_is(self):
        x = [MyClass(), MyClass()]
        dot = dot_of(objgraph.show_refs, [x], max_depth=1)
        self.assertEqual(node_ids(dot), set(str(id(o)) for o in [x] + x))
        self.assertGreaterEqual(self.redumps(), 1)

    def test_a_freed_and_reused_address_is_not_trusted(self):
        # Slotted's objects have a size nothing else here has, so the allocator gives a freed
        # one's address to the next one made. The old objects are made and dropped in helpers:
        # a dump keeps a copy of each frame's variables (before 3.13), which would keep them.
        keep = []
        new = self.at_a_dumped_address(lambda: Slotted(MyClass(), MyClass()),
                                       lambda: Slotted(MyClass()), keep)
        self.assertIsNotNone(new, "no object took the freed object's address")
        dumps = self.s.refreshes
        # refs: the new object's own referents, not the old one's
        dot = dot_of(objgraph.show_refs, [new], max_depth=1)
        live = set(str(id(o)) for o in [new] + gc.get_referents(new))
        self.assertLessEqual(node_ids(dot), live)
        self.assertIn(str(id(new.s0)), node_ids(dot))
        self.assertEqual(self.s.refreshes, dumps + 1)
        # backrefs: its own holder, not the old one's
        again = self.at_a_dumped_address(lambda: Slotted(1), lambda: Slotted(2), keep)
        self.assertIsNotNone(again, "no object took the freed object's address")
        box = {"in": again}
        dot = dot_of(objgraph.show_backrefs, [again], max_depth=1)
        self.assertIn((str(id(box)), str(id(again))), edges_of(dot))
        self.assertNotIn((str(id(HOLDER)), str(id(again))), edges_of(dot))
        # a chain: the new object is held elsewhere
        twin = self.at_a_dumped_address(lambda: Slotted(3), lambda: Slotted(4), keep)
        self.assertIsNotNone(twin, "no object took the freed object's address")
        HOLDER["elsewhere"] = {"twin": twin}
        chain = objgraph.find_backref_chain(twin, objgraph.is_proper_module)
        self.assertIs(chain[-1], twin)
        self.assertTrue(any(o is HOLDER["elsewhere"] for o in chain), chain)
        self.assertLinked(chain)

    def dumped_then_freed(self, make):
        """The address of an object made by `make()`, held by HOLDER while the snapshot is
        taken, then freed."""
        HOLDER["old"] = make()
        objgraph.refresh()
        old_id = id(HOLDER["old"])
        del HOLDER["old"]
        return old_id

    def at_a_dumped_address(self, make_old, make_new, keep):
        """A new object from `make_new()` at the address of one from `make_old()` that the
        snapshot recorded and that was freed since (None if the allocator never gave it)."""
        for _ in range(5):
            new = reused(make_new, self.dumped_then_freed(make_old), keep)
            if new is not None:
                return new
        return None

    def assertLinked(self, chain):
        for holder, held in zip(chain, chain[1:]):
            refs = gc.get_referents(holder) + (list(holder) if type(holder) is dict else [])
            self.assertTrue(any(r is held for r in refs), (type(holder), type(held)))

class Sessions(unittest.TestCase):
    def test_engine_and_files_end_with_the_session(self):
        with refgraph.session() as s:
            proc = s._proc
            self.assertGreater(s.objects, 1000)
            self.assertEqual(s.ask("hello")["version"], 1)
            with self.assertRaises(refgraph.EngineError):
                s.ask("chain", id=1, direction="backrefs")
            s.refresh()
            self.assertIsNot(s._proc, proc)
            self.assertIsNotNone(proc.poll())
            proc = s._proc
        self.assertIsNotNone(proc.poll())
        self.assertTrue(s.closed)

    def test_session_graph_answers(self):
        HOLDER["g"] = x = MyClass()
        try:
            with refgraph.session() as s:
                g = s.backrefs(x, max_depth=2)
                self.assertIn("<svg", g._repr_svg_())
                self.assertIn("digraph", g.dot)
                self.assertIn("['g']", g.dot)
                self.assertGreaterEqual(g.nodes, 2)
                self.assertGreater(s.refs(HOLDER).nodes, 1)
        finally:
            HOLDER.clear()

    def test_the_dump_streams_into_the_engine_and_a_file_gives_the_same_answers(self):
        from refgraph import _session
        HOLDER["streamed"] = x = MyClass()
        try:
            answers = []
            for stream in (True, False):
                saved = _session._can_stream
                _session._can_stream = lambda: stream
                try:
                    with refgraph.session() as s:
                        fed = [a for a in s._proc.args if a.startswith("/dev/fd/")]
                        self.assertEqual(bool(fed), stream, s._proc.args)
                        answers.append(str(s.why_alive(x)))
                        self.assertIn("['streamed']", s.backrefs(x, max_depth=2).dot)
                        self.assertGreater(s.objects, 1000)
                finally:
                    _session._can_stream = saved
            self.assertEqual(answers[0], answers[1])
            self.assertIn("local 'x'", answers[0])
            self.assertTrue(_session._can_stream(), "Python ignores SIGPIPE: a pipe is safe")
        finally:
            HOLDER.clear()

    def test_an_engine_that_ends_during_a_streamed_dump_is_reported_with_its_reason(self):
        with tempfile.TemporaryDirectory() as d:
            fake = os.path.join(d, "engine")
            with open(fake, "w") as f:
                f.write("#!/bin/sh\necho 'cannot load: out of luck' >&2\nexit 3\n")
            os.chmod(fake, 0o755)
            saved = os.environ.get("REFGRAPH_BIN")
            os.environ["REFGRAPH_BIN"] = fake
            try:
                with self.assertRaises(refgraph.EngineError) as caught:
                    refgraph.session()
            finally:
                if saved is None:
                    del os.environ["REFGRAPH_BIN"]
                else:
                    os.environ["REFGRAPH_BIN"] = saved
            self.assertIn("cannot load: out of luck", str(caught.exception))

    def test_a_child_forked_during_a_streamed_dump_does_not_hold_the_engine(self):
        # The engine reads the snapshot to its end: a child forked (without exec) while the
        # dump streams must not keep the pipe open, or the session waits for that child.
        done = run_program((
            "import os, time, refgraph",
            "from refgraph import _session",
            "real, kids = _session._dump_stream, []",
            "def forking(fd, *args, **kwargs):",
            "    pid = os.fork()",
            "    if pid == 0:",
            "        time.sleep(120)",
            "        os._exit(0)",
            "    kids.append(pid)",
            "    return real(fd, *args, **kwargs)",
            "_session._dump_stream = forking",
            "try:",
            "    with refgraph.session() as s:",
            "        print('answered', s.objects > 1000, len(kids), flush=True)",
            "finally:",
            "    for pid in kids:",
            "        os.kill(pid, 9)",
            "        os.waitpid(pid, 0)",
        ), timeout=90)
        self.assertIn("answered True 1", done.stdout, done.stderr)

    def test_a_dump_that_fails_while_streaming_raises_and_leaves_no_engine(self):
        done = run_program((
            "import os, sys, refgraph",
            "def refuse(event, args):",
            "    if event == 'gc.get_objects':",
            "        raise RuntimeError('no heap for you')",
            "sys.addaudithook(refuse)",
            "before = set(os.listdir('/proc/self/task'))",
            "try:",
            "    refgraph.session()",
            "except refgraph.DumpError as e:",
            "    print('DumpError', e)",
            "def parent_of(pid):",
            "    try:",     # (a process of the machine may end between listdir and open)
            "        with open('/proc/%s/stat' % pid) as f:",
            "            return f.read().rsplit(') ', 1)[1].split()[1]",
            "    except (OSError, IndexError):",
            "        return None",
            "kids = [p for p in os.listdir('/proc') if p.isdigit() and",
            "        parent_of(p) == str(os.getpid())]",
            "print('children', len(kids))",
        ), timeout=60)
        self.assertIn("DumpError", done.stdout, done.stderr)
        self.assertIn("no heap for you", done.stdout)
        self.assertIn("children 0", done.stdout, done.stdout)

    def test_questions_keep_none_of_the_callers_variables_alive(self):
        # The dump walks the stack through frame objects: none may outlive the question (a
        # cycle among them kept the caller's variables until a collection, and the drop-in's
        # dumps run none).
        def ask():
            x = MyClass()
            HOLDER["x"] = x
            objgraph.refresh()
            objgraph.find_backref_chain(x, objgraph.is_proper_module)
            objgraph.show_backrefs([x], max_depth=2, output=io.StringIO())
            HOLDER.clear()
            return id(x)
        gc.collect()
        gc.disable()
        try:
            gone = ask()
            alive = [o for o in gc.get_objects() if id(o) == gone]
            kept = [f.f_code.co_name for f in gc.get_objects()
                    if type(f) is type(sys._getframe()) and f.f_code.co_name == "ask"]
        finally:
            gc.enable()
        self.assertEqual((alive, kept), ([], []))

    def test_a_killed_python_leaves_no_engine(self):
        import signal
        import subprocess
        import time
        code = ("import refgraph, sys; s = refgraph.session(); print(s._proc.pid, flush=True);"
                " sys.stdin.read()")
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE)
        pid = int(child.stdout.readline())
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdin.close()
        child.stdout.close()
        for _ in range(100):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().split(") ")[1].startswith("Z"):
                        break
            except FileNotFoundError:
                break
            time.sleep(0.05)
        else:
            self.fail("the engine outlived its Python")

    def test_graph_object_displays_inline(self):
        saved = objgraph.IS_INTERACTIVE
        objgraph.IS_INTERACTIVE = True
        try:
            x = [MyClass()]
            g = objgraph.show_refs([x])
        finally:
            objgraph.IS_INTERACTIVE = saved
        svg = g._repr_svg_()
        self.assertIn("<svg", svg)
        self.assertIn("MyClass", svg)
        html = g._repr_html_()
        self.assertIn("<script>", html)
        self.assertIn("wheel", html)
        self.assertNotIn("http://", html.replace("http://www.w3.org", ""))
        self.assertTrue(g.dot.startswith("digraph ObjectGraph {"))
        with tempfile.TemporaryDirectory() as d:
            with open(g.save(os.path.join(d, "g.png")), "rb") as f:
                self.assertEqual(f.read(4), b"\x89PNG")


if __name__ == "__main__":
    unittest.main()
