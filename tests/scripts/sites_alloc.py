"""Allocation sites (issue 15.2): objects made on known lines (marked `# ALLOC ...` and
`# CALL ...`; tests/sites.rs finds the line numbers by these marks). With --start the program
turns tracemalloc on itself; otherwise the test does (PYTHONTRACEMALLOC, capture
--trace-alloc) or nothing does."""

import sys
import tracemalloc

if "--start" in sys.argv:
    tracemalloc.start(10)


class Leak:
    # slots: on CPython 3.11 tracemalloc cannot find an instance that keeps a __dict__ (the
    # managed-dict pre-header hides its allocation); this class has a site on every version
    __slots__ = ("payload",)


class Plain:
    pass


def make_leak():
    leak = Leak()  # ALLOC leak
    leak.payload = None
    return leak


def fill():
    out = []
    for _ in range(3):
        out.append(make_leak())  # CALL fill
    return out


def main():
    global CACHE, PLAIN
    CACHE = fill()  # CALL main
    PLAIN = Plain()  # ALLOC plain


main()  # CALL top
