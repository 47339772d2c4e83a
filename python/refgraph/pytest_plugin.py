"""pytest plugin: `pytest --refgraph-leaks` fails a test whose objects outlive it, naming what it
leaked, the bytes retained, and the chain that holds each (refgraph's own `chain`).

Per test, the live container objects (gc's list) are recorded by id and type right before the
test body and right after it; once the test's fixtures are torn down, the objects created by
the body that are still alive are its leaks (matched on id *and* type, so a reused address is
not an old object). Setup and teardown are outside that window, and what pytest keeps about a
test (its reports, captured output, log records) is created outside it or freed by teardown.
Objects the collector does not list (strs, bytes, numbers, tuples and dicts of them) are
found where they pile up: a list, dict, set or deque a module global names that is longer once
teardown is done (reported when the test left no tracked object behind, which would be that
leak). The body runs `--refgraph-leaks-runs N` times (default 2): the first run warms caches up, and
only objects the later runs keep accumulating are reported. When a test leaks, the process is
dumped once to a binary snapshot (`refgraph report SNAP` opens it; the last 3 runs' are kept)
and the engine answers the chains.
The leaked objects' own code never runs: no repr, only their types and the snapshot's labels.

Inactive unless asked: `--refgraph-leaks`, or `@pytest.mark.refgraph_leaks(...)` on a test.
`-p no:refgraph` removes the plugin.
"""

import collections
import gc
import os
import re
import types
import warnings
import weakref
import subprocess
import sys
import tempfile
import time
from itertools import compress
from functools import partial
from operator import is_not, sub

import pytest

_MARKER = "refgraph_leaks"
_TOP_CHAINS = 3        # chains shown per leaked type
_TOP_TYPES = 10        # leaked types shown per test
_MAX_RETAINED_QUERIES = 200   # objects per type whose retained size the engine is asked for


def pytest_addoption(parser):
    group = parser.getgroup("refgraph", "refgraph: leak check with the chain that holds it")
    group.addoption("--refgraph-leaks", action="store_true", default=False,
                    help="fail tests whose objects outlive them, with the chain holding them")
    group.addoption("--refgraph-leaks-runs", type=int, default=2, metavar="N",
                    help="run each test body N times (default 2): the first warms caches up, "
                         "only objects the later runs keep accumulating are leaks")
    group.addoption("--refgraph-leaks-ignore", action="append", default=[], metavar="TYPE",
                    help="never report objects of this type (name or module.name); repeatable")
    group.addoption("--refgraph-leaks-min-count", type=int, default=1, metavar="N",
                    help="report a type only when at least N of its objects leaked")
    group.addoption("--refgraph-leaks-min-size", type=int, default=0, metavar="BYTES",
                    help="report a test only when its leaks retain at least BYTES")
    group.addoption("--refgraph-leaks-dir", default=None, metavar="DIR",
                    help="where leak snapshots go (default: a directory per run under "
                         "refgraph-leaks-UID in the temp directory, the last 3 runs kept)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "refgraph_leaks(allow=[], types=[], runs=None, min_count=None, min_size=None): "
        "check this test for leaked objects (also without --refgraph-leaks); allow: types "
        "never reported; types: report only these; runs/min_count/min_size as the options")


class _Settings:
    """What the options and the test's marker ask for."""

    def __init__(self, config, marker):
        kwargs = marker.kwargs if marker is not None else {}
        self.runs = max(1, int(_first(kwargs.get("runs"),
                                      config.getoption("--refgraph-leaks-runs"))))
        self.ignore = set(config.getoption("--refgraph-leaks-ignore")) | set(
            kwargs.get("allow", ()))
        self.only = set(kwargs.get("types", ()))
        self.min_count = int(_first(kwargs.get("min_count"),
                                    config.getoption("--refgraph-leaks-min-count")))
        self.min_size = int(_first(kwargs.get("min_size"),
                                   config.getoption("--refgraph-leaks-min-size")))

    def allows(self, cls):
        """Whether objects of `cls` may outlive the test (allow=, --refgraph-leaks-ignore)."""
        return bool(_type_names(cls) & self.ignore)

    def wants(self, names):
        """Whether a type (its short and qualified names) is reported."""
        if names & self.ignore:
            return False
        return not self.only or bool(names & self.only)


def _first(value, default):
    return default if value is None else value


def _settings_for(item):
    """The settings of a test function; None when it is not checked. Only test functions
    are: a doctest cannot run twice (doctest clears its globals after a run) and makes a new
    debugger object at each."""
    if not isinstance(item, pytest.Function):
        return None
    marker = item.get_closest_marker(_MARKER)
    if marker is None and not item.config.getoption("--refgraph-leaks"):
        return None
    return _Settings(item.config, marker)


def _live():
    """id -> type of every object the collector tracks, in C-level bulk calls."""
    objects = gc.get_objects()
    return dict(zip(map(id, objects), map(type, objects)))


_is_found = partial(is_not, None)   # filter(_is_found, ...) keeps what a .get found


def _new_since(before):
    """The tracked objects that are not in `before` (by id and type: an address reused by an
    object of another type is a new object), found in C-level bulk calls."""
    gc.collect(1)   # what the body made and dropped is not a candidate (a cycle old enough
    # to escape the young generations is held only by itself: `_still_held` tells it apart)
    objects = gc.get_objects()
    ids = list(map(id, objects))
    changed = map(is_not, map(before.get, ids), map(type, objects))
    return list(compress(objects, changed))


def _still_held(created, unfollowed=None, harness_holders=()):
    """Of `created` (strong references to what the body made and left alive, taken right after
    it, so no address can have been reused since), the objects that something besides `created`
    keeps alive once teardown is over — directly, or through other such objects — grouped as
    {type: [ids]}. Each object's references from outside are its refcount less the list's, the
    call's and the references from the other created objects (gc's referents). Objects of the
    classes `unfollowed` accepts are found but not followed."""
    index = {id(o): n for n, o in enumerate(created)}
    inside = [0] * len(created)
    for referents in map(gc.get_referents, created):
        for n in filter(_is_found, map(index.get, map(id, referents))):
            inside[n] += 1
    # What sys.getrefcount reports for an object only `created` holds, on this Python.
    baseline = list(map(sys.getrefcount, [object()]))[0]
    outside = map(sub, map(sys.getrefcount, created), inside)
    # What the harness keeps about a test (pytest's warning log, subtest reports) is not the
    # test's: neither reported nor followed to what it holds.
    harness = {n for n, o in enumerate(created) if _is_harness(type(o)) or _is_c_cache_entry(o)}
    # The objects of the types a test allows (`unfollowed`: allow=, --refgraph-leaks-ignore)
    # are found, but not followed: what only they hold (their attributes' lists and dicts)
    # goes with them.
    allowed = set() if unfollowed is None else {
        n for n, o in enumerate(created) if n not in harness and unfollowed(type(o))}
    held = _held_by_the_program(created, [n for n, c in enumerate(outside)
                                          if c > baseline and n not in harness],
                                harness_holders)
    seen = set(held) | harness
    while held:
        n = held.pop()
        if n in allowed:
            continue
        for n in filter(_is_found, map(index.get, map(id, gc.get_referents(created[n])))):
            if n not in seen:
                seen.add(n)
                held.append(n)
    seen -= harness
    found = {}
    for n in sorted(seen):
        found.setdefault(type(created[n]), []).append(id(created[n]))
    return found


# The harness's own classes: pytest's reports and warning records (warnings.WarningMessage is
# what pytest's recwarn log keeps for every warning a test emits), the interpreter's ABC
# caches (an isinstance check the harness makes the first time adds weak references there),
# and locks (a background thread waiting on a Condition, a Queue's get, puts a new lock in its
# waiters each time; a leaked object's locks are found with it).
_HARNESS_TYPES = ("warnings.WarningMessage", "_abc._abc_data", "builtins._abc_data",
                  "_thread.lock", "_thread.RLock")


def _is_harness(cls):
    """A class of the test harness (pytest, pluggy, xdist, refgraph) or of _HARNESS_TYPES,
    read through type's descriptors (no metaclass code runs)."""
    module = type.__dict__["__module__"].__get__(cls)
    if type(module) is not str:
        return False
    if str.split(module, ".")[0] in _HARNESS:
        return True
    return "%s.%s" % (module, type.__dict__["__qualname__"].__get__(cls)) in _HARNESS_TYPES


def _is_c_cache_entry(o):
    """A weak reference that C code made, with a callback of its own to drop it: an entry of an
    ABC's caches (isinstance() adds one for each new class it checks: pytest's first report of
    a kind, under xdist). Before 3.11 those caches are not visible to gc, so it would look like
    a leak of the test's."""
    return type(o) is weakref.ref and type(weakref.ref.__callback__.__get__(o)) is _BuiltinType


_BuiltinType = type(len)


def _held_by_the_program(created, held, harness_holders=()):
    """Of the objects `created[n]` for n in `held` (referenced from outside `created`), those
    a recorded object refers to (a container, a module, a class, an instance). What only a
    running frame or C code holds was not left behind by the test: another thread's local or
    call in progress (pytest-xdist's I/O thread reading a message, a worker blocked in a
    `with` block of Queue.get, a logging or a watchdog thread), which 3.11+ does not show the
    collector at all. Only when no other thread runs Python code is a callback nothing refers
    to taken as held by C state the test changed (atexit.register(conn.close), a signal
    handler, a C extension's registry)."""
    if not held:
        return held
    roots = tuple(created[n] for n in held)
    lists = {id(roots), id(created)}
    mine = set(map(id, harness_holders))
    mine.add(id(harness_holders))
    referrers = [holder for holder in gc.get_referrers(*roots) if id(holder) not in lists]
    holders = [holder for holder in referrers
               if type(holder) is not _FrameType and id(holder) not in mine]
    harness = _harness_parts(holders)
    harness |= mine
    referred, visible = set(), set()
    for holder in referrers:
        parts = set(map(id, gc.get_referents(holder)))
        visible |= parts
        if type(holder) is not _FrameType and id(holder) not in harness:
            referred |= parts
    referrers = holders = holder = None
    c_held = _no_other_thread()
    return [n for n, obj in zip(held, roots) if id(obj) in referred
            or (c_held and id(obj) not in visible and _may_be_c_held(obj))]


def _no_other_thread():
    """Whether this is the only thread running Python code."""
    frames = sys._current_frames()
    alone = dict.__len__(frames) == 1
    dict.clear(frames)      # this call's frame is one of them: no cycle may keep it
    return alone


def _may_be_c_held(obj):
    """Whether `obj`, when nothing the collector sees refers to it, is taken as held by C
    state the test changed: a callback (a function, a bound method, a partial). Never an
    instance or a container: a C object that holds those is more often the interpreter's own
    (the copy of warnings.filters _warnings caches after a catch_warnings block on 3.8; an
    instance's __dict__ on 3.13, which the collector does not list among its referents)."""
    return type(obj) in _CALLBACK_TYPES


_CALLBACK_TYPES = (types.FunctionType, types.MethodType, types.BuiltinMethodType, partial)



def _harness_parts(holders):
    """The ids of those of `holders` that are the reporting's: pytest's reporters and reports
    and their attributes (the list pytest's terminal reporter makes the first time it logs a
    subtest is its own state, not the test's). What a test stores on the config, the session,
    a node or a stash stays the test's."""
    found = {id(h) for h in holders if _is_reporter(type(h))}
    rest = [h for h in holders if id(h) not in found]
    if not rest:
        return found
    wanted = set(map(id, rest))
    # An attribute is in the instance itself (3.11+: its values) or in its __dict__.
    dicts = []
    for owner in gc.get_referrers(*rest):
        if _is_reporter(type(owner)):
            found.update(i for i in map(id, gc.get_referents(owner)) if i in wanted)
        elif type(owner) is dict:
            dicts.append(owner)
    if dicts:
        dict_ids = set(map(id, dicts))
        for owner in gc.get_referrers(*dicts):
            if _is_reporter(type(owner)):
                for attributes in gc.get_referents(owner):
                    if id(attributes) in dict_ids:
                        found.update(i for i in map(id, gc.get_referents(attributes))
                                     if i in wanted)
    return found


# The modules of pytest's reporting: reporters, reports, their subtests and xdist's relaying.
_REPORTING = ("_pytest.terminal", "_pytest.reports", "_pytest.subtests", "_pytest.junitxml",
              "pytest_subtests")


def _is_reporter(cls):
    """A class of pytest's reporting (see _REPORTING), read through type's descriptors."""
    module = type.__dict__["__module__"].__get__(cls)
    return type(module) is str and (module in _REPORTING or
                                    str.split(module, ".")[0] in ("xdist", "execnet"))


def _test_instance_parts(item):
    """The instance of the test's class and its __dict__: pytest keeps the instance of every
    test method it ran for the whole session, so what a test sets on `self` is held by the
    harness, not left behind by the test."""
    instance = getattr(item, "instance", None)
    if instance is None:
        return ()
    from ._dump import _dict_getter
    getter = _dict_getter(type(instance))     # the C getter of __dict__: no code of the class
    try:
        return (instance,) if getter is None else (instance, getter(instance))
    except Exception:
        return (instance,)


_FrameType = type(sys._getframe())


class _Window:
    """The objects alive right before and right after the measured runs of one test."""

    # No instance dict: before 3.11 a dict holding only None and False is untracked, so it
    # would turn up as a new object once `before` is stored in it.
    __slots__ = ("before", "created", "globals", "call", "call_logged")

    def __init__(self):
        self.before = None      # id -> type of what was alive before the measured runs
        self.created = None     # what the measured runs created and left alive (held through
                                # teardown, so that no address is reused meanwhile)
        self.globals = None     # [(module, name, container, length)] before the measured runs
        self.call = None        # the call's report, once made
        self.call_logged = False    # ... and logged (pytest_runtest_logreport)


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_call(item):
    """Innermost around the test body: warm-up runs, then the window around the measured ones
    (the last of which is pytest's own call). A run that raises ends the test there, failed
    with that exception: an extra run never turns a failing test into a passing one (a test
    that fails only when run first would otherwise pass on its repeat)."""
    window = getattr(item, "_refgraph_window", None)
    if window is None:
        yield
        return
    settings = item._refgraph_settings
    failed = []     # the failed subtests' reports of the extra runs
    if settings.runs > 1:
        failed += _extra_run(item)
    # Listed first, so that the list itself is no new object of the test's.
    window.globals = _global_containers()
    window.before = _live()
    for _ in range(settings.runs - 2):
        failed += _extra_run(item)
    _OWN_RUN_FAILURES[item.nodeid] = 0
    yield
    before, window.before = window.before, None
    window.created = [o for o in _new_since(before) if o is not before]
    before = None
    # A subtest that failed in an extra run only still fails (logged now); when pytest's own
    # run failed subtests too, those are the test's failures, each counted once.
    if not _OWN_RUN_FAILURES.pop(item.nodeid, 0):
        for report in failed:
            item.ihook.pytest_runtest_logreport(report=report)


# Failed reports logged during pytest's own run of a checked body, by node id (subtests').
_OWN_RUN_FAILURES = {}


def _extra_run(item):
    """One run of the body besides pytest's own: the warnings it emits are dropped (the
    filters still apply: an "error" one raises), and the reports it logs (a subtest's:
    unittest's subTest, pytest's `subtests` fixture) are not logged, so that pytest counts
    each warning and subtest of the test once, not once a run. Returns the failed ones:
    a subtest that fails in an extra run only must still fail."""
    hook_lists = _logreport_hook_lists(item.config)
    saved = [list(hooks) for hooks in hook_lists]
    me = sys.modules[__name__]
    for hooks in hook_lists:
        hooks[:] = [impl for impl in hooks if getattr(impl, "plugin", None) is me]
    _EXTRA_RUN_REPORTS.append([])
    try:
        with warnings.catch_warnings(record=True):
            item.runtest()
    finally:
        for hooks, kept in zip(hook_lists, saved):
            hooks[:] = kept
        reports = _EXTRA_RUN_REPORTS.pop()
    return [report for report in reports if report.failed]


# The reports an extra run of a body logged, while it runs (see _extra_run).
_EXTRA_RUN_REPORTS = []


def _logreport_hook_lists(config):
    """The lists of pytest_runtest_logreport's implementations (pluggy's: `_hookimpls` from
    1.1 on, `_wrappers` and `_nonwrappers` before), emptied while an extra run logs nothing.
    Subtests call the hook through their node's hook proxy, which reads these lists at each
    call; an xdist worker's report goes to its controller through it too. [] where pluggy
    keeps them otherwise: the extra runs' subtests are then counted again."""
    caller = getattr(config.hook, "pytest_runtest_logreport", None)
    found = [getattr(caller, name, None) for name in ("_hookimpls", "_wrappers", "_nonwrappers")]
    return [hooks for hooks in found if type(hooks) is list]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item):
    """Before the test's setup: what it is checked for, and a window for its measured runs
    (a new one at each run a plugin makes: pytest-rerunfailures' and flaky's reruns)."""
    settings = _settings_for(item)
    if settings is not None:
        item._refgraph_settings = settings
        item._refgraph_window = _Window()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the call's report, which the leak check may turn into a failure before it is
    logged; once teardown is over (every fixture this test ends is torn down), look for
    leaks. That is the one point every way of running a test goes through: pytest's own
    protocol, ours, and those of the plugins that run it themselves (pytest-rerunfailures,
    flaky, pytest-forked: they all make a teardown report)."""
    outcome = yield
    window = getattr(item, "_refgraph_window", None)
    if window is None:
        return
    # (Reports made during the body, a subtest's, come before the window closes.)
    if call.when == "call" and window.created is not None:
        window.call = outcome.get_result()
        _UNLOGGED_CALLS[item.nodeid] = window
    elif call.when == "teardown":
        _check_leaks(item, outcome.get_result())


# Windows whose call report is not logged yet, by node id: a leak can still fail that report.
_UNLOGGED_CALLS = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report):
    """A checked test's call report is logged: from now on a leak can only fail its
    teardown (a plugin running the protocol logs each phase's report as it ends: flaky).
    During an extra run of a body, the only implementation called: keep the report."""
    if _EXTRA_RUN_REPORTS:
        _EXTRA_RUN_REPORTS[-1].append(report)
        return
    if report.failed and report.nodeid in _OWN_RUN_FAILURES:
        _OWN_RUN_FAILURES[report.nodeid] += 1
    window = _UNLOGGED_CALLS.get(report.nodeid)
    if window is not None and report is window.call:
        del _UNLOGGED_CALLS[report.nodeid]
        window.call_logged = True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """Run the test's setup, call and teardown and only then log the reports, so that a leak
    found at the end of teardown fails the call itself. A test another plugin runs
    (pytest-rerunfailures' reruns, flaky, pytest-forked, a conftest's own protocol) is left to
    it: the check runs at the end of each of its teardowns all the same."""
    if _settings_for(item) is None or _protocol_owners(item):
        return None
    from _pytest.runner import runtestprotocol

    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reports = runtestprotocol(item, nextitem=nextitem, log=False)
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _protocol_owners(item):
    """The names of the other plugins that may run this test's protocol themselves (their
    pytest_runtest_protocol is no wrapper); pytest's runner and ours are not counted, nor the
    plugins known to leave this test alone (pytest-rerunfailures without reruns for it,
    pytest-forked without --forked or its marker)."""
    owners = []
    for impl in item.ihook.pytest_runtest_protocol.get_hookimpls():
        if impl.hookwrapper or getattr(impl, "wrapper", False):
            continue
        name = impl.plugin_name
        if impl.plugin is sys.modules[__name__] or name == "runner":
            continue
        leaves_it = _LEAVES_IT_ALONE.get(name)
        if leaves_it is not None and leaves_it(item):
            continue
        owners.append(name)
    return owners


def _check_leaks(item, teardown):
    """A leak turns the call's report into a failure that says what leaked and who holds it;
    when that report was logged already, the teardown's report instead (with a warning)."""
    window = item._refgraph_window
    settings = item._refgraph_settings
    del item._refgraph_window, item._refgraph_settings
    if _UNLOGGED_CALLS.get(item.nodeid) is window:
        del _UNLOGGED_CALLS[item.nodeid]
    call, window.call = window.call, None
    if call is None or not call.passed or not (window.created or window.globals):
        return
    text = _leak_report(item, settings, window)
    if not text:
        return
    if window.call_logged:
        _fail_teardown(item, teardown, text)
    else:
        call.outcome = "failed"
        call.longrepr = text


def _fail_teardown(item, teardown, text):
    """The leak as the teardown's failure (or, when teardown failed already, a section of
    it), saying why; warned once."""
    owners = ", ".join(_protocol_owners(item)) or "another plugin"
    _warn_reported_at_teardown(item.config, owners)
    text += ("\n  (reported at teardown: %s logged the test's result before its teardown "
             "ended)" % owners)
    if teardown.failed:
        teardown.sections.append(("refgraph leaks", text))
    else:
        teardown.outcome = "failed"
        teardown.longrepr = text


def _warn_reported_at_teardown(config, owners):
    """Once a session: say why leaks are errors at teardown instead of failed tests."""
    warned = getattr(config, "_refgraph_warned", None)
    if warned is None:
        warned = config._refgraph_warned = set()
    if owners in warned:
        return
    warned.add(owners)
    warnings.warn(pytest.PytestWarning(
        "refgraph: %s runs the test protocol and logs a test's result before its teardown "
        "is over, so a leak (found once the test's fixtures are torn down) fails the test's "
        "teardown (ERROR at teardown) instead of the test itself" % owners))


def _rerun_by_rerunfailures(item):
    """Whether pytest-rerunfailures runs this test's protocol (it reruns it): through its own
    functions, guarded, as a plugin's internals may change."""
    plugin = item.config.pluginmanager.get_plugin("rerunfailures")
    reruns_count = getattr(plugin, "get_reruns_count", None)
    if reruns_count is None:
        return True     # unknown internals: its protocol may run the test
    excluded = getattr(plugin, "_is_rerun_path_excluded", None)
    try:
        if excluded is not None and excluded(item):
            return False
        return reruns_count(item) is not None
    except Exception:
        return True


def _forked_by_pytest_forked(item):
    """Whether pytest-forked runs this test in a child process (--forked, or its marker)."""
    return bool(item.config.getoption("forked", False)) or \
        item.get_closest_marker("forked") is not None


# Plugins that run the protocol of some tests only: name -> whether they leave `item` alone.
_LEAVES_IT_ALONE = {
    "rerunfailures": lambda item: not _rerun_by_rerunfailures(item),
    "pytest_forked": lambda item: not _forked_by_pytest_forked(item),
}


def _leak_report(item, settings, window):
    """The failure text for a test's leaks, or None when it leaked nothing reportable."""
    gc.collect()
    created, window.created = window.created, None
    leaked = _still_held(created or [], settings.allows if settings.ignore else None,
                         _test_instance_parts(item) + _bounded_caches())
    created = None
    measured_runs = max(1, settings.runs - 1)
    # Grown globals speak for what the collector does not list: when the test left tracked
    # objects behind (reported below with their chains, or allowed), they are that leak.
    grown = _grown_globals(window, settings, measured_runs) if not leaked else []
    window.globals = None
    groups = []
    for names, ids in [(_type_names(c), i) for c, i in leaked.items()]:
        if not settings.wants(names) or len(ids) < settings.min_count:
            continue
        if settings.runs > 2 and len(ids) < measured_runs:
            continue    # grew once, not at every run: not accumulating
        groups.append((max(names, key=len), ids))
    # Only names and ids from here on: no frame of ours holds a leaked object or its class.
    leaked = names = None
    if not groups and not grown:
        return None
    return _describe(item, settings, groups, grown)


# What leaks of objects the collector does not list (strs, bytes, numbers, and tuples and
# dicts of them) accumulate in, measured where they most often are: module globals. Their C
# length is read, never a __len__ of the program's.
_SIZED = (list, dict, set, collections.deque)
# The test harness's own modules: what they keep per test is not the test's.
_HARNESS = ("_pytest", "pytest", "pluggy", "refgraph", "xdist", "execnet", "pytest_subtests")
_module_dict = types.ModuleType.__dict__["__dict__"].__get__


def _c_len(cls):
    """Whether len() of a `cls` instance is the C length of one of _SIZED: `cls` is one of
    them, or a subclass no class of which defines __len__ (read through type's descriptors: no
    metaclass code runs)."""
    # A static type never readied (unicodedata.UCD on 3.8) has no mro yet.
    for base in type.__dict__["__mro__"].__get__(cls) or ():
        if any(base is sized for sized in _SIZED):
            return True
        if "__len__" in type.__dict__["__dict__"].__get__(base):
            return False
    return False


def _global_containers():
    """Every list, dict, set and deque a module global names (outside the harness's modules),
    and those that a class or an instance the module defines has as an attribute, with its
    length: [(module name, (global,) or (global, attribute), container, length)]. The
    references are the modules' own objects, so holding them changes no lifetime. Never fails
    a test: whatever a module holds that cannot be read is left out."""
    try:
        return _read_global_containers()
    except Exception:
        return []


def _read_global_containers():
    found = []
    kinds = {}
    _installed_prefixes()       # first: it may import modules, growing sys.modules

    def add(mod_name, name, value, where):
        cls = type(value)
        sized = kinds.get(cls)
        if sized is None:
            sized = kinds[cls] = _c_len(cls)
        # Dunder names are the interpreter's (__warningregistry__ grows per warning), and
        # the standard library's bounded caches fill as they are used.
        if sized and issubclass(type(name), str) and not str.startswith(name, "__") \
                and (mod_name, where) not in _BOUNDED_CACHES:
            found.append((mod_name, where, value, len(value)))

    for mod_name, module in list(dict.items(sys.modules)):
        if not issubclass(type(mod_name), str) or not issubclass(type(module), types.ModuleType):
            continue
        if str.split(mod_name, ".")[0] in _HARNESS:
            continue
        try:
            names = _module_dict(module)
        except Exception:
            continue
        # One level down in the project's own modules, for what a module itself defines: a
        # class's attributes (a cache on the class) and a module-level instance's (a registry
        # object). Not in the installed ones: a scan of every class costs tens of ms a test.
        own = _is_project_module(names)
        for name, value in list(dict.items(names)):
            add(mod_name, name, value, (name,))
            if own and issubclass(type(name), str) and not str.startswith(name, "__"):
                for attr, attr_value in _own_attributes(value, mod_name):
                    add(mod_name, attr, attr_value, (name, attr))
    return found


# The standard library's caches of a bounded size: (module, (global,)).
_BOUNDED_CACHES = frozenset([("re", ("_cache",)), ("re", ("_cache2",)),
                             ("re._compiler", ("_cache",)), ("sre_compile", ("_cache",)),
                             ("linecache", ("cache",)), ("fnmatch", ("_cache",))])


def _bounded_caches():
    """The containers of _BOUNDED_CACHES: what only they hold is no leak (re's compiled
    patterns), as the pytest harness's holders are not."""
    found = []
    for mod_name, (name,) in _BOUNDED_CACHES:
        module = dict.get(sys.modules, mod_name)
        if issubclass(type(module), types.ModuleType):
            cache = dict.get(_module_dict(module), name)
            if type(cache) is dict:
                found.append(cache)
    return tuple(found)


def _is_project_module(names):
    """Whether the module with these globals is the project's own: loaded from a file outside
    the Python installation and its site-packages (the tests, the code under test)."""
    path = dict.get(names, "__file__")
    return issubclass(type(path), str) and not str.startswith(path, _installed_prefixes())


def _installed_prefixes():
    global _INSTALLED
    if _INSTALLED is None:
        import sysconfig
        paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            try:
                paths.add(sysconfig.get_path(key))
            except Exception:
                pass
        import site
        try:
            paths.update(site.getsitepackages() + [site.getusersitepackages()])
        except Exception:
            pass
        _INSTALLED = tuple(os.path.realpath(p) for p in paths if isinstance(p, str) and p) + \
            tuple(p for p in paths if isinstance(p, str) and p)
    return _INSTALLED


_INSTALLED = None


def _own_attributes(value, mod_name):
    """[(name, value)] of the attributes of `value` when it is a class that module `mod_name`
    defines, or an instance of one (read by C: no descriptor or __getattr__ of the program
    runs, and an instance's __dict__ is not made where there is none); [] otherwise."""
    # By type() alone: isinstance() would ask a lazy proxy's __class__ property.
    kind = type(value)
    cls = value if issubclass(kind, type) else kind
    if issubclass(kind, (types.ModuleType, types.FunctionType)) or \
            type.__dict__["__module__"].__get__(cls) != mod_name:
        return []
    if cls is value:
        attributes = dict(type.__dict__["__dict__"].__get__(cls))
    else:
        from ._dump import _instance_dict_of
        attributes = (_instance_dict_of(value) or [{}])[0]
        if type(attributes) is not dict:
            return []
    return list(dict.items(attributes))


def _still_named(mod_name, where, value):
    """Whether the container `value` is still at `where` in module `mod_name`: (global,) or
    (global, attribute)."""
    module = dict.get(sys.modules, mod_name)
    if module is None:
        return False
    found = dict.get(_module_dict(module), where[0])
    if len(where) == 2:
        found = dict(_own_attributes(found, mod_name)).get(where[1]) if found is not None \
            else None
    return found is value


def _grown_globals(window, settings, measured_runs):
    """The module-global containers (and those a module's own class or instance has as an
    attribute) still named there and longer once teardown is over, by at least min_count
    items and, over several measured runs, at every run: [(module name, dotted name, type
    name, id, growth, length)]."""
    before, window.globals = window.globals or [], None
    least = max(settings.min_count, measured_runs if settings.runs > 2 else 1)
    grown = []
    for mod_name, where, value, length in before:
        try:
            still = _still_named(mod_name, where, value)
        except Exception:
            still = False
        growth = len(value) - length
        names = _type_names(type(value))
        if still and growth >= least and settings.wants(names):
            grown.append((mod_name, ".".join(where), max(names, key=len), id(value), growth,
                          len(value)))
    return grown


def _type_names(cls):
    """{short name, module.qualname} of a class, read through type's own descriptors (no
    metaclass code runs)."""
    qualname = type.__dict__["__qualname__"].__get__(cls)
    module = type.__dict__["__module__"].__get__(cls)
    names = {qualname, type.__dict__["__name__"].__get__(cls)}
    if type(module) is str and module != "builtins":
        names.add("%s.%s" % (module, qualname))
    return names


def _describe(item, settings, groups, grown):
    from . import dump, find_bin

    grown = grown[:_TOP_TYPES]
    try:
        snap = _snapshot_path(item)
        dump(snap, collect=False, format="binary")
    except Exception as e:
        # A full disk, a directory gone: the leak is still reported, without chains or sizes
        # (never an INTERNALERROR that ends the session).
        snap, unwritten = None, "%s: %s" % (type(e).__name__, e)
        answers = {"retained": {}, "chains": {}}
    else:
        unwritten = None
        answers = _ask_engine(find_bin(), snap, groups, [g[3] for g in grown])
    rows = []
    total_retained = 0
    for qual, ids in groups:
        retained = sum(answers["retained"].get(_hex(i), 0) for i in ids[:_MAX_RETAINED_QUERIES])
        total_retained += retained
        rows.append((retained, len(ids), qual, ids))
    grown_retained = sum(answers["retained"].get(_hex(g[3]), 0) for g in grown)
    if snap is not None and total_retained + grown_retained < settings.min_size:
        return None
    rows.sort(key=lambda r: (-r[0], -r[1]))
    name = item.name
    lines = []
    count = sum(r[1] for r in rows)
    if rows:
        lines.append("refgraph: %s leaked %d object%s (%s retained) of %d type%s"
                     % (name, count, "" if count == 1 else "s", _size(total_retained),
                        len(rows), "" if len(rows) == 1 else "s"))
    for retained, n, qual, ids in rows[:_TOP_TYPES]:
        more = " (at least)" if n > _MAX_RETAINED_QUERIES else ""
        lines.append("  %s leaked %d %s (%s retained%s)"
                     % (name, n, qual, _size(retained), more))
        for oid in ids[:_TOP_CHAINS]:
            lines.append("    " + answers["chains"].get(_hex(oid), "%s: no chain found" % _hex(oid)))
        if n > _TOP_CHAINS:
            lines.append("    … and %d more %s" % (n - _TOP_CHAINS, qual))
    if len(rows) > _TOP_TYPES:
        lines.append("  … and %d more types" % (len(rows) - _TOP_TYPES))
    for mod_name, global_name, qual, oid, growth, length in grown:
        # Objects the collector does not list (strs, bytes, numbers, tuples and dicts of
        # them) show as the module global they accumulate in.
        lines.append("refgraph: %s leaked %d item%s into %s %s.%s (%d now, %s retained)"
                     % (name, growth, "" if growth == 1 else "s", qual, mod_name, global_name,
                        length, _size(answers["retained"].get(_hex(oid), 0))))
    if snap is not None:
        lines.append("  snapshot: %s" % snap)
    else:
        lines.append("  snapshot: not written (%s)" % unwritten)
    return "\n".join(lines)


def _ask_engine(binary, snap, groups, sized=()):
    """One `refgraph shell` answers every chain and retained size (the snapshot is read once);
    `sized`: more ids whose retained size alone is wanted."""
    commands = []
    for _qual, ids in groups:
        for oid in ids[:_TOP_CHAINS]:
            commands.append("chain %s --json" % _hex(oid))
        for oid in ids[:_MAX_RETAINED_QUERIES]:
            commands.append("show %s --limit 0 --json" % _hex(oid))
    commands.extend("show %s --limit 0 --json" % _hex(oid) for oid in sized)
    # No index beside the snapshot (as big again): `refgraph report SNAP` makes one if asked.
    result = subprocess.run([binary, "shell", snap], input="\n".join(commands) + "\n",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, REFGRAPH_NO_INDEX="1"))
    return _parse_answers(result.stdout)


def _parse_answers(text):
    import json

    decoder = json.JSONDecoder()
    answers = {"chains": {}, "retained": {}}
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return answers
        try:
            doc, at = decoder.raw_decode(text, at)
        except ValueError:
            return answers
        data = doc.get("data")
        if doc.get("command") == "show" and isinstance(data, dict):
            answers["retained"][data["object"]["id"]] = data.get("retained", 0)
        elif doc.get("command") == "chain" and isinstance(data, list):
            for answer in data:
                answers["chains"][answer["object"]["id"]] = _chain_text(answer)


def _chain_text(answer):
    chains = answer.get("chains") or []
    if chains:
        return chains[0].get("text", "")
    why = answer.get("unrooted") or {}
    oid, reason = answer["object"]["id"], why.get("reason", "unknown")
    if reason == "held_from_outside" and not why.get("recorded_referrers"):
        return ("%s: held by C code only, no object refers to it (atexit.register, a signal "
                "handler, a C extension's registry)" % oid)
    holders = why.get("cycle_members") or []
    if reason == "held_by_unrooted" and holders:
        named = ", ".join("%s %s" % (h.get("type", "?"), h.get("id", "?")) for h in holders[:2])
        return "%s: held by %s%s, which no root reaches" % (
            oid, named, " and %d more" % (len(holders) - 2) if len(holders) > 2 else "")
    return "%s: not held by a root (%s)" % (oid, reason)


# Leak snapshots go to one directory per run (session) under refgraph-leaks-USER in the temp
# directory, of which the last _RUNS_KEPT are kept, as pytest keeps its basetemp directories:
# a snapshot is a whole heap (megabytes), and a suite run again and again would fill the disk.
_RUNS_KEPT = 3
_RUN_PREFIX = "run-"
_RUN_MARK = ".refgraph-leaks-run"     # in every run directory the plugin made, and only there
_RUN_KEY = "refgraph_run_dir"        # the run directory, in pytest-xdist's workerinput


def _runs_base():
    """refgraph-leaks-USER in the temp directory, made private; None when it is not a
    directory of this user's that others cannot write (planted by someone else)."""
    try:
        user = "%d" % os.getuid()
    except AttributeError:
        user = re.sub(r"[^A-Za-z0-9_.-]", "_", os.environ.get("USERNAME", "user"))
    base = os.path.join(tempfile.gettempdir(), "refgraph-leaks-" + user)
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        st = os.lstat(base)
    except OSError:
        return None
    import stat
    if not stat.S_ISDIR(st.st_mode) or st.st_mode & 0o022:
        return None
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return None
    return base


def _remove_old_runs(base, keep):
    """Remove the run directories under `base` but the newest `keep`: only directories named
    run-* holding the plugin's mark file, and never one of a session still running (several
    at once, `tox -p`: its failures already name the snapshots in it)."""
    import shutil
    runs = []
    for name in os.listdir(base):
        path = os.path.join(base, name)
        mark = os.path.join(path, _RUN_MARK)
        if name.startswith(_RUN_PREFIX) and not os.path.islink(path) and os.path.isfile(mark):
            runs.append((os.path.getmtime(mark), name, path))
    runs.sort(reverse=True)
    for _mtime, name, path in runs[keep:]:
        if not _session_running(name):
            shutil.rmtree(path, ignore_errors=True)


_RUN_NAME = re.compile(r"%s\d+-(\d+)\Z" % _RUN_PREFIX)


def _session_running(run_name):
    """Whether the session that named a run directory (run-TIME-PID) may still be running: its
    pid is alive. A reused pid only keeps a directory a while longer. Not asked on Windows,
    where os.kill(pid, 0) would end the process."""
    match = _RUN_NAME.match(run_name)
    if match is None or os.name != "posix":
        return False
    pid = int(match.group(1))
    if pid == os.getpid():
        return False    # a run directory of an earlier session with this pid (pid namespace)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True     # alive, another user's (EPERM)
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Before any test: the run directories of old runs go, and this run's is named (made
    when its first snapshot is written). Not in pytest-xdist's workers (their controller does
    it and hands them the name), nor when --refgraph-leaks-dir names the directory."""
    config = session.config
    if hasattr(config, "workerinput") or config.getoption("--refgraph-leaks-dir"):
        return
    base = _runs_base()
    if base is None:
        return
    try:
        _remove_old_runs(base, _RUNS_KEPT - 1)
    except OSError:
        pass
    config._refgraph_run_dir = os.path.join(
        base, "%s%d-%d" % (_RUN_PREFIX, int(time.time()), os.getpid()))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist: a worker writes its snapshots to the run directory of its controller."""
    run = getattr(node.config, "_refgraph_run_dir", None)
    if run is not None:
        node.workerinput[_RUN_KEY] = run


def _snapshots_dir(config):
    """Where this run's snapshots go: --refgraph-leaks-dir as given, else the run directory
    (a temp directory of its own where that cannot be made)."""
    directory = config.getoption("--refgraph-leaks-dir")
    if directory is not None:
        os.makedirs(directory, exist_ok=True)
        return directory
    run = getattr(config, "workerinput", {}).get(_RUN_KEY) or getattr(
        config, "_refgraph_run_dir", None)
    if run is not None:
        try:
            os.makedirs(run, mode=0o700, exist_ok=True)
            with open(os.path.join(run, _RUN_MARK), "a"):
                pass
            return run
        except OSError:
            pass
    made = getattr(config, "_refgraph_leaks_dir", None)
    if made is None:
        made = config._refgraph_leaks_dir = tempfile.mkdtemp(prefix="refgraph-leaks-")
    return made


def _snapshot_path(item):
    directory = _snapshots_dir(item.config)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return os.path.join(directory, "%s%s.rgsnap" % (worker + "-" if worker else "",
                                                    _file_name_of(item.nodeid)))


def _file_name_of(nodeid):
    """A file name for a test: its whole node id (file, class, name, parameters), so that
    `test_a.py::test_x` and `test_b.py::test_x` get two snapshots; a long one keeps its end
    and a hash of the whole."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)
    if len(name) <= 100:
        return name
    import zlib
    return "%s-%08x" % (name[-91:], zlib.crc32(nodeid.encode("utf-8", "surrogatepass")))


def _hex(oid):
    return "0x%x" % oid


def _size(n):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return "%.1f %s" % (n / scale, unit)
    return "%d B" % n
