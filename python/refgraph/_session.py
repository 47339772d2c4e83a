"""refgraph.session(): dump this process once, then ask the engine many questions.

The engine is the `refgraph shell --json SNAPSHOT` process, kept open: one JSON request per line
to its stdin, one JSON reply per line from its stdout (protocol in docs/JSON.md, "shell
--json"). The snapshot is streamed to the engine through a pipe, so that the engine parses it
on another core while the dump runs (where a pipe cannot be used safely: in a private temporary
directory, removed as soon as the engine has loaded it); nothing is left on disk. The engine
ends when its stdin closes, so a Python process that dies (even by SIGKILL) leaves no engine
behind.
"""

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref

from ._dump import DumpError, _dump_stream, dump
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


# One engine conversation at a time in the process: a request and its reply are one exchange
# on the engine's pipes, a refresh replaces the engine, and the objgraph drop-in's questions
# (several requests on one snapshot) take it around all of theirs. Threads asking at once
# would otherwise read each other's replies, or an engine closed under them.
ENGINE_LOCK = threading.RLock()


def _locked(method):
    """`method` run holding ENGINE_LOCK."""
    def run(*args, **kwargs):
        with ENGINE_LOCK:
            return method(*args, **kwargs)
    run.__name__, run.__doc__ = method.__name__, method.__doc__
    return run


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

    @_locked
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
            if self._format == "json" and _can_stream():
                self._stream(directory)
            else:
                dump(path, values=self._values, collect=self._collect, format=self._format)
            dumped = time.perf_counter()
            self.dump_cpu_seconds = time.process_time() - started_cpu
            self.own_ids = own_ids
            self.stack_ids = stack_ids | _locals_dicts(stack_ids)
            if self._proc is None:
                self._spawn(path, directory)
            self._hello(directory)
            # what the last snapshot cost: the dump, and the engine's load of it
            self.dump_seconds = dumped - started
            self.load_seconds = time.perf_counter() - dumped
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        self.refreshes += 1

    def _stream(self, directory):
        """The dump written into a pipe the engine reads as it is written (the engine's parse
        then runs beside the dump instead of after it). If the engine ends early the dump
        fails on the pipe, and the engine's own reason is reported."""
        read_end, write_end = os.pipe()
        streaming = (read_end, write_end)
        _STREAMING.update(streaming)    # closed in a child forked meanwhile (_close_streams)
        try:
            import fcntl
            # a pipe as big as the dumper's write batches (Linux: 64 KiB by default), so that
            # the dump does not wait while the engine parses the batch before
            fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except (ImportError, OSError):
            pass
        try:
            try:
                self._spawn("/dev/fd/%d" % read_end, directory, pass_fds=(read_end,))
            finally:
                os.close(read_end)
            _dump_stream(write_end, "<refgraph session>", values=self._values,
                         collect=self._collect)
        except DumpError:
            # Either the engine ended (the pipe broke: its stderr says why; it is gone or
            # going) or the dump failed (the engine still waits for the rest of the snapshot).
            ended = self._ended_within(0.25)
            os.close(write_end)
            write_end = None
            if ended:
                self._hello(directory)          # raises the engine's reason
            self.close()
            raise
        except BaseException:
            os.close(write_end)
            write_end = None
            self.close()
            raise
        finally:
            _STREAMING.difference_update(streaming)
            if write_end is not None:
                os.close(write_end)             # the end of the snapshot, for the engine

    def _ended_within(self, seconds):
        try:
            self._proc.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _spawn(self, path, directory, pass_fds=()):
        with open(os.path.join(directory, "engine.err"), "w") as err:
            env = dict(os.environ)
            env["REFGRAPH_NO_INDEX"] = "1"      # the snapshot is gone after the load
            binary = engine_bin()
            try:
                self._proc = subprocess.Popen(
                    [binary, "shell", "--json", path],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                    close_fds=True, pass_fds=pass_fds, env=env)
            except OSError as e:
                raise EngineError("the refgraph engine did not start: %s: %s"
                                  % (binary, e.strerror or e)) from None

    def _hello(self, directory):
        """The engine's first line, once it has loaded the snapshot; EngineError with its
        stderr if it ended instead."""
        hello = self._proc.stdout.readline()
        if not hello:
            self._proc.wait()
            with open(os.path.join(directory, "engine.err")) as err:
                why = err.read().strip() or "exit %s" % self._proc.returncode
            self.close()
            raise EngineError("the refgraph engine did not start: %s" % why)
        hello = json.loads(hello.decode("utf-8"))
        if hello.get("protocol") != "refgraph-shell" or hello.get("version") != PROTOCOL_VERSION:
            self.close()
            raise EngineError("the refgraph binary speaks protocol %r version %r; this package "
                              "needs version %d" % (hello.get("protocol"), hello.get("version"),
                                                    PROTOCOL_VERSION))
        self.objects = hello["objects"]
        self.edges = hello["edges"]

    @_locked
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

    def alive(self):
        """The engine is running (not closed, and has not ended by itself)."""
        return self._proc is not None and self._proc.poll() is None

    def _forget(self):
        """In a child forked from this process: the engine is the parent's. Close this
        process's copies of its pipes (without waiting for it: it is not this process's child)
        and treat the session as closed; the child's next question starts its own."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for pipe in (proc.stdin, proc.stdout):
                try:
                    pipe.close()
                except (OSError, ValueError):
                    pass
            # Not this process's child: Popen would warn that it still runs and try to reap
            # it (Popen's own flag for that, stable since 3.3).
            proc._child_created = False

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

    @_locked
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

# The ends of the pipes dumps are streaming into now. A child forked meanwhile (a
# multiprocessing worker: fork without exec) would hold a copy open, and the engine, reading
# to the end of the snapshot, would wait for that child to exit: the child closes them.
_STREAMING = set()


def _forget_engines():
    """After a fork, in the child: every session's engine is the parent's (two processes
    writing requests to one engine read each other's replies)."""
    for s in list(_open_sessions):
        s._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_engines)


def _close_streams():
    for fd in list(_STREAMING):
        try:
            os.close(fd)
        except OSError:
            pass
    _STREAMING.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_streams)


def _can_stream():
    """Whether the dump can be written into a pipe to the engine: /dev/fd names the pipe for
    the engine, and SIGPIPE is ignored (Python's default), so that an engine that ends early
    makes the dump fail with EPIPE rather than kill the program."""
    try:
        return os.path.isdir("/dev/fd") and hasattr(signal, "SIGPIPE") and \
            signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN
    except (ValueError, OSError):
        return False


class Renderer(Session):
    """An engine on an empty snapshot, to draw pictures of the live heap (`render` requests
    need no snapshot): refgraph.objgraph's pictures when it walked the heap in the process."""

    def __init__(self):
        Session.__init__(self, collect=False)

    @_locked
    def refresh(self):
        self.close()
        directory = tempfile.mkdtemp(prefix="refgraph-render-")
        try:
            path = os.path.join(directory, "empty.rgsnap")
            with open(path, "w") as f:
                f.write('{"kind":"header","format":"refgraph-snapshot","version":[1,3]}\n'
                        '{"kind":"end","objects":0,"edges":0,"garbage":0}\n')
            self._spawn(path, directory)
            self._hello(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


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
    found = frozenset(id(f.f_locals) for f in frames if f.f_locals is not f.f_globals)
    # `frames` may hold this very frame (a frame of the recorded stack freed since, whose
    # address it took): a cycle keeping every frame below and their variables until a
    # collection (a dump with collect=False, as objgraph's, runs none)
    del frames
    return found


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
