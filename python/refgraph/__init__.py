"""refgraph: why does this Python process keep memory alive?

    import refgraph
    refgraph.dump("app.rgsnap", marks={"cache": my_cache})   # then: refgraph summary app.rgsnap

`dump` writes a heap snapshot of this process (stdlib only; none of the program's code runs
while it walks the heap); the `refgraph` command answers questions about it. `find_bin()` is
the path of that command as installed with this package.
"""

from ._dump import DumpError, dump
from ._find_bin import find_bin
from ._session import EngineError, Session, session


def why_alive(obj):
    """What keeps `obj` alive: a str (the chain from a root, "cyclic garbage", or "held from
    outside the recorded heap") with `.kind` and `.chain` (the steps, root first). Dumps this
    process for the question; use `session().why_alive(obj)` to ask many."""
    with session() as s:
        return s.why_alive(obj)


__all__ = ["DumpError", "EngineError", "Session", "dump", "find_bin", "session", "why_alive"]
