"""refgraph: why does this Python process keep memory alive?

    import refgraph
    refgraph.dump("app.rgsnap", marks={"cache": my_cache})   # then: refgraph summary app.rgsnap

`dump` writes a heap snapshot of this process (stdlib only; none of the program's code runs
while it walks the heap); the `refgraph` command answers questions about it. `find_bin()` is
the path of that command as installed with this package.
"""

from ._dump import DumpError, dump
from ._find_bin import find_bin

__all__ = ["DumpError", "dump", "find_bin"]
