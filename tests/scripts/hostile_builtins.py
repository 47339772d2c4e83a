# The program replaces the builtins and the gc/sys functions a dump could use, leaves a
# `mock.patch("builtins.open")` active, a no-op gc.collect, a tracer and a profiler installed
# (and, on 3.12+, a sys.monitoring tool): a dump must call none of them, nor fail because of
# them, and must still find the cyclic garbage. Prints "patched builtins"; the atexit check
# adds "no user code ran".
import atexit
import builtins
import gc
import sys
from unittest import mock

from hostile_common import CHECKS

ASKED = len(sys.argv) >= 3     # argv DUMPER_DIR SNAPSHOT: dump through the API
if ASKED:
    sys.path.insert(0, sys.argv[1])
    import refgraph_dump  # imported before the patches, as a program would

# Functions a dump is allowed to be entered through, or that belong to `refgraph capture`'s
# launcher around the dump: a tracer sees their call (before the dumper can pause it).
ENTRY = {"dump", "_dump", "_capture_main", "_capture_dump", "_status", "dumps", "_dumps",
         "_on_signal", "_describe", "_pause_tracers", "_resume_tracers", "_pause_monitoring"}
TRACED = []
# Lines of the pause itself a monitoring tool's LINE events may report, before it takes
# effect (it was 80 when only the tools' global events were paused).
PAUSE_LINES = 12
PAUSING = ("_pause_tracers", "_pause_monitoring")
PAUSE_LINES_SEEN = []


class Cycle:
    def __init__(self):
        self.me = self


Cycle()          # cyclic garbage: only a real collection finds it
gc.disable()     # ... and no automatic one before the dump


def in_dumper(frame):
    return frame.f_code.co_filename.endswith("refgraph_dump.py") and \
        frame.f_code.co_name not in ENTRY


def tracer(frame, event, arg):
    if in_dumper(frame):
        TRACED.append(("trace", frame.f_code.co_name, event))
        raise RuntimeError("tracer called by the dump")
    return tracer


def profiler(frame, event, arg):
    if in_dumper(frame):
        TRACED.append(("profile", frame.f_code.co_name, event))


ORIGINALS = {}
PATCHED_CALLS = []
getframe = sys._getframe


def called_by_dumper():
    return getframe(2).f_code.co_filename.endswith("refgraph_dump.py")


def patch(owner, name, replacement=None):
    """Replace owner.name by a function that records the calls made from the dumper's code
    (the program's own calls, and the standard library's, are not the dump's business)."""
    original = getattr(owner, name)
    ORIGINALS[(owner, name)] = original
    what = "%s.%s" % (owner.__name__, name)

    def recording(*args, **kwargs):
        if called_by_dumper():
            PATCHED_CALLS.append(what)
        return (replacement or original)(*args, **kwargs)
    setattr(owner, name, recording)


def unpatch():
    """At exit (after the capture's dump), so that the checks and shutdown run normally."""
    sys.settrace(None)
    sys.setprofile(None)
    for (owner, name), original in ORIGINALS.items():
        setattr(owner, name, original)


open_mock = mock.patch("builtins.open", mock.MagicMock(name="open"))


def open_not_called():
    opened = open_mock.new.call_args_list
    return [("builtins.open mock called", len(opened))] if opened else []


def not_traced():
    return [("traced", TRACED[:5], len(TRACED))] if TRACED else []


def not_patched():
    return [("patched functions called", sorted(set(PATCHED_CALLS)))] if PATCHED_CALLS else []


CHECKS.extend([open_not_called, not_traced, not_patched])
atexit.register(unpatch)
if hasattr(sys, "monitoring"):
    mon = sys.monitoring
    mon.use_tool_id(3, "hostile")

    def on_start(code, offset):
        if code.co_filename.endswith("refgraph_dump.py") and code.co_name not in ENTRY:
            TRACED.append(("monitoring", code.co_name))
        # as a coverage tool does: every function that starts gets LINE events
        mon.set_local_events(3, code, mon.events.LINE)

    def on_line(code, line):
        if not code.co_filename.endswith("refgraph_dump.py") or code.co_name == "<module>":
            return
        if code.co_name in PAUSING:
            PAUSE_LINES_SEEN.append(line)
            if len(PAUSE_LINES_SEEN) > PAUSE_LINES:
                TRACED.append(("monitoring: lines of the pause", len(PAUSE_LINES_SEEN)))
        elif code.co_name not in ENTRY:
            TRACED.append(("monitoring: line", code.co_name, line))
    mon.register_callback(3, mon.events.PY_START, on_start)
    mon.register_callback(3, mon.events.LINE, on_line)
    mon.set_events(3, mon.events.PY_START)

open_mock.start()
sys.setprofile(profiler)
sys.settrace(tracer)
for name in ("id", "len", "isinstance", "map", "zip", "iter", "next", "getattr", "sum",
             "max", "any", "all", "enumerate", "filter", "range", "reversed", "round",
             "dict", "list", "tuple", "set", "frozenset", "type", "str", "int", "bool",
             "bytes", "object", "memoryview", "compile", "exec", "globals"):
    patch(builtins, name)
for name in ("get_referents", "get_referrers", "get_objects", "is_tracked", "isenabled",
             "disable", "enable", "get_debug", "set_debug"):
    patch(gc, name)
patch(gc, "collect", lambda *args: 0)        # a no-op collect would hide the garbage
for name in ("getsizeof", "getrefcount", "_getframe", "_current_frames"):
    patch(sys, name)
if ASKED:
    refgraph_dump.dump(sys.argv[2])
print("patched builtins")
