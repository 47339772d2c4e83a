"""Shared by the hostile_*.py programs: a record of every call into the program's own hooks,
checked from an atexit handler (which runs after refgraph capture's exit dump).

A program builds its objects first (building them may call its hooks: a dict insert calls
__hash__), then calls arm(); from then on every hook call is recorded. With arguments
DUMPER_DIR SNAPSHOT, dump_if_asked() dumps through the API at that point; without them it does
nothing, so the same program also runs under plain python3 or `refgraph capture` and must
print the same output.
"""
import atexit
import os
import sys

CALLS = []
ARMED = []
CHECKS = []       # functions returning a list of problems, run at exit


def arm():
    ARMED.append(True)


def record(what):
    """Called by every hook: remembered once armed. Returns True when armed, so that a hook
    can raise only then (raising during setup would break the program itself)."""
    if ARMED:
        CALLS.append(what)
        return True
    return False


def hook(what, result=None):
    """Record a call; once armed, raise so that a dumper that ignored the record still fails."""
    if record(what):
        raise RuntimeError("user code called: %s" % (what,))
    return result


def dump_if_asked(**options):
    """argv DUMPER_DIR SNAPSHOT: dump through the API now, while the objects are alive."""
    if len(sys.argv) < 3:
        return None
    sys.path.insert(0, sys.argv[1])
    import refgraph_dump
    return refgraph_dump.dump(sys.argv[2], **options)


def _check():
    problems = list(CALLS)
    for check in CHECKS:
        try:
            problems.extend(check())
        except Exception as e:     # an exception here would be ignored: exit 0
            problems.append(("check failed", check.__name__, repr(e)))
    if problems:
        sys.stderr.write("USER CODE RAN: %r\n" % (problems,))
        sys.stderr.flush()
        os._exit(99)
    print("no user code ran")
    sys.stdout.flush()


atexit.register(_check)
