"""refgraph.session(): dump this process once, then ask the engine many questions.

The engine is the `refgraph shell --json SNAPSHOT` process, kept open: one JSON request per line
to its stdin, one JSON reply per line from its stdout (protocol in docs/JSON.md, "shell
--json"). The snapshot lives in a private temporary directory that is removed as soon as the
engine has loaded it, so nothing is left on disk; the engine ends when its stdin closes, so a
Python process that dies (even by SIGKILL) leaves no engine behind.
"""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import weakref

from ._dump import dump
from ._find_bin import find_bin

PROTOCOL_VERSION = 1

# The session's snapshot format: the one whose dump + load is faster end to end
# (docs/benchmarks.md, "objgraph drop-in").
SNAPSHOT_FORMAT = "json"

_open_sessions = weakref.WeakSet()


class EngineError(RuntimeError):
    """The engine could not answer (its one-line reason is the message)."""


def engine_bin():
    """The refgraph binary: $REFGRAPH_BIN, else the one installed with this package."""
    return os.environ.get("REFGRAPH_BIN") or find_bin()


class Session:
    """A snapshot of this process and an engine answering questions about it.

    `ask(op, **fields)` sends one request and returns the reply's data; `refresh()` dumps the
    heap again; `close()` (or leaving a `with` block) ends the engine.
    """

    def __init__(self, values=True, collect=True, format=SNAPSHOT_FORMAT):
        self._values = values
        self._collect = collect
        self._format = format
        self._proc = None
        self.objects = 0
        self.edges = 0
        self.own_ids = frozenset()
        self.stack_ids = frozenset()
        self.refreshes = 0
        self._types = None
        self.refresh()
        _open_sessions.add(self)

    # -- lifecycle -------------------------------------------------------------------------

    def refresh(self):
        """Dump the heap again and restart the engine on the new snapshot."""
        self.close()
        self._types = None
        directory = tempfile.mkdtemp(prefix="refgraph-session-")
        try:
            path = os.path.join(directory, "heap.rgsnap")
            # Only ids are held while the dump runs: the dumper reads every frame's variables
            # (before 3.13 into a dict the frame keeps), and a list of frames held here would
            # become a cycle keeping the whole stack and its variables alive.
            own_ids, stack_ids = _frame_ids()
            started, started_cpu = time.perf_counter(), time.process_time()
            dump(path, values=self._values, collect=self._collect, format=self._format)
            dumped = time.perf_counter()
            self.dump_cpu_seconds = time.process_time() - started_cpu
            self.own_ids = own_ids
            self.stack_ids = stack_ids | _locals_dicts(stack_ids)
            self._start(path, directory)
            # what the last snapshot cost: the dump, and the engine's load of it
            self.dump_seconds = dumped - started
            self.load_seconds = time.perf_counter() - dumped
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        self.refreshes += 1

    def _start(self, path, directory):
        err = open(os.path.join(directory, "engine.err"), "w+")
        try:
            self._proc = subprocess.Popen(
                [engine_bin(), "shell", "--json", path],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                close_fds=True)
            hello = self._proc.stdout.readline()
            if not hello:
                self._proc.wait()
                err.seek(0)
                why = err.read().strip() or "exit %s" % self._proc.returncode
                self._proc = None
                raise EngineError("the refgraph engine did not start: %s" % why)
        finally:
            err.close()
        hello = json.loads(hello.decode("utf-8"))
        if hello.get("protocol") != "refgraph-shell" or hello.get("version") != PROTOCOL_VERSION:
            self.close()
            raise EngineError("the refgraph binary speaks protocol %r version %r; this package "
                              "needs version %d" % (hello.get("protocol"), hello.get("version"),
                                                    PROTOCOL_VERSION))
        self.objects = hello["objects"]
        self.edges = hello["edges"]

    def close(self):
        """End the engine (the snapshot file is already gone)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    @property
    def closed(self):
        return self._proc is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # -- questions -------------------------------------------------------------------------

    def ask(self, op, **fields):
        """One request; the reply's `data`, or EngineError with the engine's reason."""
        if self._proc is None:
            raise EngineError("the session is closed")
        fields["op"] = op
        line = json.dumps(fields, separators=(",", ":")).encode("utf-8") + b"\n"
        try:
            self._proc.stdin.write(line)
            self._proc.stdin.flush()
            reply = self._proc.stdout.readline()
        except (BrokenPipeError, OSError):
            reply = b""
        if not reply:
            self.close()
            raise EngineError("the refgraph engine ended unexpectedly")
        reply = json.loads(reply.decode("utf-8"))
        if "error" in reply:
            raise EngineError(reply["error"])
        return reply["data"]

    def types(self):
        """[(index, module, qualname, gc-tracked count)], asked once per snapshot."""
        if self._types is None:
            self._types = [tuple(t) for t in self.ask("types", tracked_only=True)]
        return self._types

    def type_names(self):
        """{type index: (module, __name__)} of every type with tracked objects."""
        return {i: (m, q.rsplit(".", 1)[-1]) for i, m, q, _ in self.types()}

    def why_alive(self, obj):
        """`refgraph.why_alive(obj)` on this snapshot."""
        from ._why import WhyAlive
        from ._session import _own_frames
        frames = _own_frames()
        ignore = sorted(set(id(f) for f in frames) | self.own_ids)
        del frames
        return WhyAlive(self.ask("why", id=id(obj), ignore=ignore))

    def refs(self, obj, max_depth=3, too_many=10, max_nodes=300):
        """What `obj` refers to, as the engine's `refs` draws it: a Graph (inline in Jupyter,
        `.save(path)`, `.dot`)."""
        return self._graph(obj, "refs", max_depth, too_many, max_nodes)

    def backrefs(self, obj, max_depth=3, too_many=10, max_nodes=300):
        """What refers to `obj` (modules in sys.modules drawn, not expanded): a Graph."""
        return self._graph(obj, "backrefs", max_depth, too_many, max_nodes)

    def _graph(self, obj, direction, max_depth, too_many, max_nodes):
        from ._display import Graph
        objs = obj if isinstance(obj, (list, tuple)) else [obj]
        view = self.ask("subgraph", ids=[id(o) for o in objs], direction=direction,
                        max_depth=max_depth, too_many=too_many, max_nodes=max_nodes,
                        ignore=sorted(self.own_ids))
        dot = self.ask("render", view=view, format="dot")["dot"]
        return Graph(view, dot, lambda: self, len(view["nodes"]))

def _stack_frames():
    """Every thread's executing frames: roots for refgraph, invisible to gc.get_referrers (so
    objgraph's searches never pass through them)."""
    frames = []
    for f in sys._current_frames().values():
        while f is not None:
            frames.append(f)
            f = f.f_back
    # Not this function's own frame: the list would hold the frame holding the list, a cycle
    # that keeps every frame of the stack (and their variables) until a collection.
    me = sys._getframe()
    frames = [f for f in frames if f is not me]
    del me
    return frames


def _frame_ids():
    """(ids of this package's frames on the current stack, ids of every thread's executing
    frames)."""
    return frozenset(map(id, _own_frames())), frozenset(map(id, _stack_frames()))


def _locals_dicts(frame_ids):
    """The f_locals dicts the dumper made by reading the variables of the frames `frame_ids`
    (CPython before 3.13 keeps one per frame): they exist because of the dump, so they are left
    out too."""
    if sys.version_info >= (3, 13):
        return frozenset()
    frames = [f for f in _stack_frames() if id(f) in frame_ids]
    return frozenset(id(f.f_locals) for f in frames if f.f_locals is not f.f_globals)


def _own_frames():
    """This package's frames on the current stack: they are in the snapshot but are refgraph's
    bookkeeping, not the program's (as objgraph leaves its own frames out)."""
    here = os.path.dirname(os.path.abspath(__file__))
    frames = []
    f = sys._getframe(1)
    while f is not None:
        if os.path.dirname(os.path.abspath(f.f_code.co_filename)) == here:
            frames.append(f)
        f = f.f_back
    return frames


def session(values=True, collect=True, format=SNAPSHOT_FORMAT):
    """Dump this process and keep an engine open on the snapshot: ask it many questions.

        with refgraph.session() as s:
            print(s.why_alive(obj))
    """
    return Session(values=values, collect=collect, format=format)


@atexit.register
def _close_all():
    for s in list(_open_sessions):
        s.close()
