"""objgraph 3.7's private helpers, with objgraph's behaviour, for code that calls them.

`refgraph.objgraph` answers objgraph's public functions from a refgraph snapshot. Programs and
test suites written against objgraph also call a few of its underscore helpers directly: the
traversal with a caller-given edge function (`_show_graph`, `_find_chain`), the label and edge
text of one live object (`_obj_label`, `_short_repr`, `_edge_label` ...) and the Graphviz
launcher (`_present_graph`). Those take live objects and arbitrary edge functions, which no
snapshot can answer, so they work here as they do in objgraph: in the process, on the objects
given. `refgraph.objgraph` re-exports them under objgraph's names.

The module-level switches a test may patch on `refgraph.objgraph` (`IS_INTERACTIVE`,
`graphviz`, `subprocess`, `_program_in_path`) are read from that module at call time.
"""

import codecs
import gc
import inspect
import io
import os
import re
import sys
import tempfile
import types


def _dropin():
    """The `refgraph.objgraph` module, whose patchable names these helpers read."""
    return sys.modules["refgraph.objgraph"]


def _isinstance(obj, classes):
    """isinstance() that a proxy lying about `__class__` cannot fool (objgraph's rule)."""
    return isinstance(obj, classes) and issubclass(type(obj), classes)


_is_identifier = re.compile("[a-zA-Z_][a-zA-Z_0-9]*$").match


def _quote(s):
    """Text as a DOT double-quoted string's inside."""
    for raw, quoted in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\0", "\\\\0")):
        s = s.replace(raw, quoted)
    return s


def _gradient(start_color, end_color, depth, max_depth):
    """The colour `depth` steps of `max_depth` from `start_color` towards `end_color`."""
    if max_depth == 0:
        return start_color
    f = float(depth) / max_depth
    return tuple(a * (1 - f) + b * f for a, b in zip(start_color, end_color))


def _get_obj_type(obj):
    return type(obj)


def _short_typename(obj):
    return _get_obj_type(obj).__name__


def _long_typename(obj):
    cls = _get_obj_type(obj)
    module = getattr(cls, "__module__", None)
    return "%s.%s" % (module, cls.__name__) if module else cls.__name__


def _name_or_repr(value):
    """`value.__name__` when it is a str (a mock's may not be), else its repr cut to 40."""
    try:
        name = value.__name__
    except AttributeError:
        name = None
    return name if _isinstance(name, str) else repr(value)[:40]


def _short_repr(obj):
    """objgraph's one-line text of a live object (calls its `__repr__` for most kinds)."""
    if _isinstance(obj, (type, types.ModuleType, types.BuiltinMethodType,
                         types.BuiltinFunctionType)):
        return _name_or_repr(obj)
    if _isinstance(obj, types.MethodType):
        name = _name_or_repr(obj.__func__)
        return name + " (bound)" if obj.__self__ else name
    if _isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        code = obj.__code__
        return "lambda: %s:%s" % (os.path.basename(code.co_filename), code.co_firstlineno)
    if _isinstance(obj, types.FrameType):
        return "%s:%s" % (obj.f_code.co_filename, obj.f_lineno)
    if _isinstance(obj, (tuple, list, dict, set)):
        return "%d items" % len(obj)
    return repr(obj)[:40]


def _safe_repr(obj):
    try:
        return _short_repr(obj)
    except Exception:
        return "(unrepresentable)"


def _obj_node_id(obj):
    return ("o%d" % id(obj)).replace("-", "_")


def _obj_attrs(obj, extra_node_attrs):
    """`, name="value"` for each attribute `extra_node_attrs(obj)` gives, sorted, None left out."""
    if extra_node_attrs is None:
        return ""
    attrs = sorted(extra_node_attrs(obj).items())
    return ", " + ", ".join('%s="%s"' % (k, _quote(v)) for k, v in attrs if v is not None)


def _obj_label(obj, extra_info=None, refcounts=False, shortnames=True):
    first = _short_typename(obj) if shortnames else _long_typename(obj)
    if refcounts:
        # Less the references of this frame, the caller's `target`, getrefcount's argument
        # and one more that gc.get_referrers does not show: objgraph's count.
        first += " [%d]" % (sys.getrefcount(obj) - 4)
    lines = [first, _safe_repr(obj)]
    if extra_info:
        lines.append(str(extra_info(obj)))
    return _quote("\n".join(lines))


def _edge_label(source, target, shortnames=True):
    """The DOT attributes of the edge source -> target: the attribute, key or slot name."""
    if _isinstance(target, dict) and target is getattr(source, "__dict__", None):
        return ' [label="__dict__",weight=10]'
    if _isinstance(source, types.FrameType):
        for name in ("f_locals", "f_globals"):
            if target is getattr(source, name):
                return ' [label="%s",weight=10]' % name
    if _isinstance(source, types.MethodType):
        for name in ("__self__", "__func__"):
            if target is getattr(source, name, None):
                return ' [label="%s",weight=10]' % name
    if _isinstance(source, types.FunctionType):
        for name in dir(source):
            if target is getattr(source, name):
                return ' [label="%s",weight=10]' % _quote(name)
    if _isinstance(source, dict):
        for key, value in source.items():
            if value is not target:
                continue
            if _isinstance(key, str) and _is_identifier(key):
                return ' [label="%s",weight=2]' % _quote(key)
            kind = _short_typename(key) if shortnames else _long_typename(key)
            return ' [label="%s"]' % _quote(kind + "\n" + _safe_repr(key))
    return ""


def _program_in_path(program):
    """Whether `program` (or `program.exe`) is a file in a directory of PATH."""
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(directory, program)
        if os.path.isfile(path) or os.path.isfile(path + ".exe"):
            return True
    return False


def _present_graph(dot_filename, filename=None):
    """objgraph's presenter of a written .dot file: `dot` converts it to `filename`'s format;
    with no filename `xdot` shows it, or `dot` makes a .png beside it."""
    og = _dropin()
    if filename == dot_filename:
        return
    if not filename and og._program_in_path("xdot"):
        print("Spawning graph viewer (xdot)")
        og.subprocess.Popen(["xdot", dot_filename], close_fds=True)
        return
    if not og._program_in_path("dot"):
        if filename:
            print("Image renderer (dot) not found, not doing anything else")
        else:
            print("Graph viewer (xdot) and image renderer (dot) not found,"
                  " not doing anything else")
        return
    if not filename:
        print("Graph viewer (xdot) not found, generating a png instead")
        filename = dot_filename[:-4] + ".png"
    _run_dot(og.subprocess.Popen, os.path.splitext(filename)[1][1:], dot_filename, filename)


def _run_dot(popen, fmt, dot_filename, filename):
    """`dot -T<fmt>` from dot_filename to filename, through `popen` (the caller's
    subprocess.Popen, which tests replace), saying how it went as objgraph does."""
    cmd = ["dot", "-T" + fmt, "-o" + filename, dot_filename]
    dot = popen(cmd, close_fds=False)
    dot.wait()
    if dot.returncode != 0:
        print('dot failed (exit code %d) while executing "%s"'
              % (dot.returncode, " ".join(cmd)))
    else:
        print("Image generated as %s" % filename)


def _path_back(found, parent):
    """[found, ..., the start] of a breadth-first search that recorded in `parent` the object
    each one was reached from ({id: object}, None for the start)."""
    chain = [found]
    while parent[id(found)] is not None:
        found = parent[id(found)]
        chain.append(found)
    return chain


def _find_chain(obj, predicate, edge_func, max_depth=20, extra_ignore=()):
    """Breadth-first from `obj` along `edge_func` to the first object `predicate` accepts:
    the chain from it back to `obj`, or `[obj]` when there is none within `max_depth`."""
    queue = [obj]
    depth = {id(obj): 0}
    parent = {id(obj): None}
    ignore = set(extra_ignore)
    # The search's own containers and frames are referrers of everything it holds.
    ignore.update(map(id, (extra_ignore, queue, depth, parent, ignore)))
    ignore.update((id(sys._getframe()), id(sys._getframe(1))))
    gc.collect()
    while queue:
        target = queue.pop(0)
        if predicate(target):
            return _path_back(target, parent)
        next_depth = depth[id(target)] + 1
        if next_depth > max_depth:
            continue
        neighbours = edge_func(target)
        ignore.add(id(neighbours))
        for source in neighbours:
            if id(source) not in ignore and id(source) not in depth:
                depth[id(source)] = next_depth
                parent[id(source)] = target
                queue.append(source)
    return [obj]


def _open_dot(filename, output, interactive):
    """Where `_show_graph` writes its DOT text: (file, its name or None, interactive)."""
    if filename and output:
        raise ValueError("Cannot specify both output and filename.")
    if output:
        return output, None, False
    if filename and filename.endswith(".dot"):
        return codecs.open(filename, "w", encoding="utf-8"), filename, False
    if interactive and not filename:
        return io.StringIO(), None, True
    fd, dot_filename = tempfile.mkstemp(prefix="objgraph-", suffix=".dot", text=True)
    return io.open(fd, "w", encoding="utf-8"), dot_filename, False


def _write_more(f, target, skipped, depth, max_depth, swap_source_target):
    """The red 'N more (back)references' node of a node whose neighbours were cut."""
    h, s, v = _gradient((0, 1, 1), (0, 1, 0.3), depth + 1, max_depth)
    node = _obj_node_id(target)
    if swap_source_target:
        label, edge = "%d more references" % skipped, "%s->too_many_%s" % (node, node)
    else:
        label, edge = "%d more backreferences" % skipped, "too_many_%s->%s" % (node, node)
    f.write("  %s[color=red,style=dotted,len=0.25,weight=10];\n" % edge)
    f.write('  too_many_%s[label="%s",shape=box,height=0.25,color=red,'
            'fillcolor="%g,%g,%g",fontsize=6];\n' % (node, label, h, s, v))
    f.write("  too_many_%s[fontcolor=white];\n" % node)


def _show_graph(objs, edge_func, swap_source_target,
                max_depth=3, extra_ignore=(), filter=None, too_many=10,
                highlight=None, filename=None, extra_info=None,
                refcounts=False, shortnames=True, output=None,
                cull_func=None, extra_node_attrs=None):
    """objgraph's graph of the objects reached from `objs` along `edge_func`, as DOT text
    (written to `output`, to `filename`, or to a temporary .dot that `_present_graph` shows);
    in IPython (`IS_INTERACTIVE`) a `graphviz.Source`."""
    og = _dropin()
    if not _isinstance(objs, (list, tuple)):
        objs = [objs]
    f, dot_filename, interactive = _open_dot(filename, output, og.IS_INTERACTIVE)
    f.write("digraph ObjectGraph {\n  node[shape=box, style=filled, fillcolor=white];\n")
    queue = []
    depth = {}
    ignore = set(extra_ignore)
    ignore.update(map(id, (objs, extra_ignore, queue, depth, ignore)))
    for frame in (sys._getframe(), sys._getframe(1)):
        ignore.update((id(frame), id(frame.f_locals)))
    for obj in objs:
        f.write("  %s[fontcolor=red];\n" % _obj_node_id(obj))
        depth[id(obj)] = 0
        queue.append(obj)
        del obj  # not a referrer of what the walk reaches
    gc.collect()
    nodes = 0
    while queue:
        nodes += 1
        target = queue.pop(0)
        tdepth = depth[id(target)]
        node = _obj_node_id(target)
        f.write('  %s[label="%s"%s];\n' % (
            node, _obj_label(target, extra_info, refcounts, shortnames),
            _obj_attrs(target, extra_node_attrs)))
        h, s, v = _gradient((0, 0, 1), (0, 0, 0.3), tdepth, max_depth)
        if inspect.ismodule(target):
            h, s = 0.3, 1
        if highlight and highlight(target):
            h, s, v = 0.6, 0.6, 0.5 + v * 0.5
        f.write('  %s[fillcolor="%g,%g,%g"];\n' % (node, h, s, v))
        if v < 0.5:
            f.write("  %s[fontcolor=white];\n" % node)
        if hasattr(getattr(target, "__class__", None), "__del__"):
            f.write("  %s->%s_has_a_del[color=red,style=dotted,len=0.25,weight=10];\n"
                    % (node, node))
            f.write('  %s_has_a_del[label="__del__",shape=doublecircle,height=0.25,'
                    'color=red,fillcolor="0,.5,1",fontsize=6];\n' % node)
        if tdepth >= max_depth or (cull_func is not None and cull_func(target)):
            continue
        neighbours = edge_func(target)
        ignore.add(id(neighbours))
        drawn = skipped = 0
        for source in neighbours:
            if id(source) in ignore or (filter and not filter(source)):
                continue
            if drawn >= too_many:
                skipped += 1
                continue
            src, tgt = (target, source) if swap_source_target else (source, target)
            f.write("  %s -> %s%s;\n" % (_obj_node_id(src), _obj_node_id(tgt),
                                        _edge_label(src, tgt, shortnames)))
            if id(source) not in depth:
                depth[id(source)] = tdepth + 1
                queue.append(source)
            drawn += 1
            del source  # not a referrer of the next node's label (refcounts)
        del neighbours
        if skipped:
            _write_more(f, target, skipped, tdepth, max_depth, swap_source_target)
    f.write("}\n")
    if output:
        return None
    if interactive:
        return og.graphviz.Source(f.getvalue())
    f.close()
    print("Graph written to %s (%d nodes)" % (dot_filename, nodes))
    og._present_graph(dot_filename, filename)
    return None
