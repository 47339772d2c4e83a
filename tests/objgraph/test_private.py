"""objgraph 3.7's underscore helpers that code written for objgraph calls directly, as
`refgraph.objgraph` gives them: their DOT text, labels and Graphviz launching. Where PyPI's
objgraph is importable (the CI venv) each answer is also compared with objgraph's own.
Run by tests/objgraph.rs on every CPython here."""

import gc
import io
import os
import sys
import tempfile
import types
import unittest
from contextlib import redirect_stdout
from unittest import mock

import refgraph.objgraph as objgraph

try:
    import objgraph as pypi_objgraph
except ImportError:
    pypi_objgraph = None


class Node:
    """An object of a test graph whose edges an edge function gives by name."""
    made = {}

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "Node(%s)" % self.name

    @classmethod
    def get(cls, name):
        return cls.made.setdefault(name, Node(name))


def edges(links=None):
    links = links or {}

    def edge_function(node):
        names = links.get(node.name, [])
        return [Node.get(n) for n in ([names] if isinstance(names, str) else names)]
    return edge_function


def show(module, roots, links, **options):
    out = io.StringIO()
    module._show_graph(roots, edges(links), False, output=out, shortnames=True, **options)
    return out.getvalue()


class ShowGraph(unittest.TestCase):
    def node(self, name):
        return objgraph._obj_node_id(Node.get(name))

    def test_one_node(self):
        a = self.node("A")
        self.assertEqual(show(objgraph, [Node.get("A")], {}), (
            "digraph ObjectGraph {\n"
            "  node[shape=box, style=filled, fillcolor=white];\n"
            "  %s[fontcolor=red];\n"
            '  %s[label="Node\\nNode(A)"];\n'
            '  %s[fillcolor="0,0,1"];\n'
            "}\n") % (a, a, a))

    def test_a_chain_is_drawn_backwards_and_shaded_by_depth(self):
        a, b = self.node("A"), self.node("B")
        dot = show(objgraph, [Node.get("A")], {"A": "B"})
        self.assertIn("  %s -> %s;\n" % (b, a), dot)
        self.assertIn('  %s[fillcolor="0,0,0.766667"];\n' % b, dot)

    def test_cull_func_stops_the_walk_at_a_node_but_draws_it(self):
        dot = show(objgraph, [Node.get("A")], {"A": "B", "B": "C"},
                   cull_func=lambda n: n.name == "B")
        self.assertIn(self.node("B") + "[label=", dot)
        self.assertNotIn(self.node("C"), dot)

    def test_extra_node_attrs_are_sorted_quoted_and_none_left_out(self):
        dot = show(objgraph, [Node.get("A")], {},
                   extra_node_attrs=lambda n: {"z": 'say "hi"', "a": "1", "n": None})
        self.assertIn('[label="Node\\nNode(A)", a="1", z="say \\"hi\\""];', dot)

    def test_too_many_neighbours_become_one_red_node(self):
        links = {"A": ["N%d" % i for i in range(5)]}
        dot = show(objgraph, [Node.get("A")], links, too_many=2)
        a = self.node("A")
        self.assertIn("  too_many_%s->%s[color=red,style=dotted,len=0.25,weight=10];" % (a, a),
                      dot)
        self.assertIn('too_many_%s[label="3 more backreferences"' % a, dot)

    def test_filename_and_output_together_are_refused(self):
        with self.assertRaises(ValueError):
            objgraph._show_graph([], edges(), False, filename="x", output=io.StringIO())

    def test_a_dot_file_is_written_and_named(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.dot")
            out = io.StringIO()
            with redirect_stdout(out):
                objgraph._show_graph([Node.get("A")], edges({"A": "B"}), False, filename=path)
            self.assertEqual(out.getvalue(), "Graph written to %s (2 nodes)\n" % path)
            with open(path, encoding="utf-8") as f:
                self.assertTrue(f.read().startswith("digraph ObjectGraph {"))

    def test_in_ipython_it_returns_a_graphviz_source(self):
        with mock.patch.object(objgraph, "IS_INTERACTIVE", True), \
                mock.patch.object(objgraph, "graphviz", create=True) as graphviz:
            graphviz.Source = lambda text: ("source", text)
            kind, text = objgraph._show_graph([Node.get("A")], edges(), False)
        self.assertEqual(kind, "source")
        self.assertTrue(text.startswith("digraph ObjectGraph {"))

    @unittest.skipIf(pypi_objgraph is None, "PyPI objgraph not installed")
    def test_the_same_text_as_objgraph(self):
        links = {"A": ["B", "C"], "B": ["C", "D"], "D": ["A"]}
        for options in ({}, {"max_depth": 1}, {"too_many": 1},
                        {"highlight": lambda n: n.name == "C"},
                        {"extra_info": lambda n: n.name * 2}):
            self.assertEqual(show(objgraph, [Node.get("A")], links, **options),
                             show(pypi_objgraph, [Node.get("A")], links, **options), options)


class FindChain(unittest.TestCase):
    def test_no_chain_is_the_object_alone(self):
        a = object()
        self.assertEqual(objgraph._find_chain(a, lambda x: False, gc.get_referrers), [a])

    def test_the_chain_runs_from_the_found_object_to_the_start(self):
        chain = objgraph._find_chain(Node.get("A"), lambda n: n.name == "C",
                                     edges({"A": "B", "B": "C"}))
        self.assertEqual([n.name for n in chain], ["C", "B", "A"])

    def test_max_depth_bounds_the_search(self):
        chain = objgraph._find_chain(Node.get("A"), lambda n: n.name == "C",
                                     edges({"A": "B", "B": "C"}), max_depth=1)
        self.assertEqual([n.name for n in chain], ["A"])


class Popen:
    """subprocess.Popen's stand-in: says what it would run, exits with `code`."""
    code = 0

    def __init__(self, args, close_fds=False):
        print("ran %s" % args)
        self.returncode = None

    def wait(self):
        self.returncode = Popen.code


class PresentGraph(unittest.TestCase):
    def present(self, programs, *args, code=0):
        Popen.code = code
        out = io.StringIO()
        with mock.patch.object(objgraph, "_program_in_path", set(programs).__contains__), \
                mock.patch.object(objgraph, "subprocess", types.SimpleNamespace(Popen=Popen)), \
                redirect_stdout(out):
            objgraph._present_graph(*args)
        return out.getvalue()

    def test_a_dot_file_asked_for_is_left_alone(self):
        self.assertEqual(self.present(["dot", "xdot"], "g.dot", "g.dot"), "")

    def test_dot_converts_to_the_format_of_the_name(self):
        self.assertEqual(self.present(["dot"], "g.dot", "g.svg"),
                         "ran ['dot', '-Tsvg', '-og.svg', 'g.dot']\nImage generated as g.svg\n")

    def test_a_failing_dot_is_reported(self):
        self.assertEqual(self.present(["dot"], "g.dot", "g.png", code=3),
                         "ran ['dot', '-Tpng', '-og.png', 'g.dot']\n"
                         'dot failed (exit code 3) while executing "dot -Tpng -og.png g.dot"\n')

    def test_without_a_name_xdot_shows_it_or_dot_makes_a_png(self):
        self.assertEqual(self.present(["xdot", "dot"], "g.dot"),
                         "Spawning graph viewer (xdot)\nran ['xdot', 'g.dot']\n")
        self.assertEqual(self.present(["dot"], "g.dot"),
                         "Graph viewer (xdot) not found, generating a png instead\n"
                         "ran ['dot', '-Tpng', '-og.png', 'g.dot']\nImage generated as g.png\n")

    def test_without_graphviz_it_says_so(self):
        self.assertEqual(self.present([], "g.dot", "g.png"),
                         "Image renderer (dot) not found, not doing anything else\n")
        self.assertEqual(self.present([], "g.dot"),
                         "Graph viewer (xdot) and image renderer (dot) not found,"
                         " not doing anything else\n")


def sample_function():
    pass


def paused_frame():
    """The frame of a generator paused at its yield: its line does not move."""
    def generator():
        yield
    g = generator()
    next(g)
    paused_frame.keep = g
    return g.gi_frame


class Labels(unittest.TestCase):
    def test_short_repr_by_kind(self):
        lam = lambda: None  # noqa: E731
        line = sys._getframe().f_lineno - 1
        self.assertEqual(objgraph._short_repr(lam), "lambda: test_private.py:%d" % line)
        frame = paused_frame()
        self.assertEqual(objgraph._short_repr(frame),
                         "%s:%d" % (frame.f_code.co_filename, frame.f_lineno))
        self.assertEqual(objgraph._short_repr([1, 2]), "2 items")
        self.assertEqual(objgraph._short_repr({}), "0 items")
        self.assertEqual(objgraph._short_repr(Labels), "Labels")
        self.assertEqual(objgraph._short_repr(Node("x").__repr__), "__repr__ (bound)")
        self.assertRegex(objgraph._short_repr(sample_function), "^<function sample_function at")
        self.assertEqual(objgraph._short_repr("x" * 100), repr("x" * 100)[:40])

    def test_mocks_are_named_by_their_repr(self):
        self.assertRegex(objgraph._short_repr(mock.Mock(__name__=mock.Mock())), "^<Mock")
        self.assertRegex(objgraph._short_repr(mock.Mock(spec=list)), "^<Mock")
        method = types.MethodType(mock.Mock(__name__=mock.MagicMock()), Node("m"))
        self.assertRegex(objgraph._short_repr(method), "^<Mock")

    def test_a_failing_repr_is_unrepresentable(self):
        class Broken:
            def __repr__(self):
                raise ZeroDivisionError
        self.assertEqual(objgraph._safe_repr(Broken()), "(unrepresentable)")

    def test_labels_attrs_and_type_names(self):
        cls = type("K", (), {"__module__": "mod"})
        k = cls()
        self.assertRegex(objgraph._obj_label(k, shortnames=False), r"^mod\.K\\n<mod\.K object")
        self.assertRegex(objgraph._obj_label(k, extra_info=lambda o: "x\ny"), r"\\nx\\ny$")
        self.assertEqual(objgraph._long_typename(type("N", (), {"__module__": None})()), "N")
        self.assertEqual(objgraph._obj_attrs(k, lambda o: {"b": "2", "a": "1"}),
                         ', a="1", b="2"')
        self.assertEqual(objgraph._obj_attrs(k, None), "")
        self.assertEqual(objgraph._gradient((0.1, 0.2, 0.3), (1, 1, 1), 0, 0), (0.1, 0.2, 0.3))

    def test_edge_labels(self):
        frame = sys._getframe()
        self.assertEqual(objgraph._edge_label(frame, frame.f_globals),
                         ' [label="f_globals",weight=10]')
        n = Node("e")
        self.assertEqual(objgraph._edge_label(n, n.__dict__), ' [label="__dict__",weight=10]')
        bound = n.__repr__
        self.assertEqual(objgraph._edge_label(bound, bound.__func__),
                         ' [label="__func__",weight=10]')
        self.assertEqual(objgraph._edge_label(bound, n), ' [label="__self__",weight=10]')
        value = object()
        self.assertEqual(objgraph._edge_label({"name": value}, value),
                         ' [label="name",weight=2]')
        self.assertEqual(objgraph._edge_label({"not id": value}, value),
                         ' [label="str\\n\'not id\'"]')
        self.assertEqual(objgraph._edge_label({1: value}, value), ' [label="int\\n1"]')
        self.assertEqual(objgraph._edge_label([value], value), "")

    @unittest.skipIf(pypi_objgraph is None, "PyPI objgraph not installed")
    def test_the_same_labels_as_objgraph(self):
        samples = [Node("a"), [1], {}, Labels, sample_function, lambda: 0, paused_frame(),
                   "text", 12, mock.Mock(spec=list), Node("b").__repr__]
        for obj in samples:
            for shortnames in (True, False):
                self.assertEqual(objgraph._obj_label(obj, shortnames=shortnames),
                                 pypi_objgraph._obj_label(obj, shortnames=shortnames))
        d = {"k": samples[0], 3: samples[1], "a b": samples[2]}
        for value in d.values():
            self.assertEqual(objgraph._edge_label(d, value), pypi_objgraph._edge_label(d, value))


if __name__ == "__main__":
    unittest.main()
