"""Three dumps of one process (A, B, C) with a steady leak and a temporary burst: between A and
B it leaks 100 Leak objects and makes 500 Burst objects; between B and C it frees the burst and
leaks 100 more. `diff A B C` must report the first 100 Leak objects (new in B, alive in C)
with their holder, and no Burst."""
import sys

sys.path.insert(0, sys.argv[1])
import refgraph_dump  # noqa: E402


class Leak:
    __slots__ = ("n",)      # no instance dict: the counts do not depend on the CPython version

    def __init__(self, n=0):
        self.n = n


class Burst:
    __slots__ = ("n",)

    def __init__(self, n=0):
        self.n = n


leaks = []
refgraph_dump.dump(sys.argv[2])
leaks.extend(Leak() for _ in range(100))
burst = [Burst() for _ in range(500)]
refgraph_dump.dump(sys.argv[3])
del burst
leaks.extend(Leak() for _ in range(100))
refgraph_dump.dump(sys.argv[4])
