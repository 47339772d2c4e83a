"""Dumps of one process, JSON lines then binary (tests/binfmt.rs): the program's objects
are the same in both, so every answer about them must be too.

    python3 binfmt_twice.py DUMPER_DIR OUT.rgsnap OUT.rgbin[.gz]
"""
import sys
import threading

sys.path.insert(0, sys.argv[1])
import refgraph_dump  # noqa: E402


class Node:
    def __init__(self, i):
        self.i = i
        self.data = [i, "s%d" % i, (i, 2.5), b"\x00\xff", None]
        self.label = "\u00e9%d\U0001F600 \x00 \udc80" % i
        self.peer = None


class Leak:
    __slots__ = ("payload", "owner")

    def __init__(self, i):
        self.payload = {"k%d" % i: bytearray(100), 7: frozenset({i, -i})}
        self.owner = None


def make_cycle():
    a, b = Node(1), Node(2)
    a.peer, b.peer = b, a
    return a


cycle = make_cycle()
cache = {"key%d" % i: Leak(i) for i in range(50)}
items = [Node(i) for i in range(200)]
for leak, node in zip(cache.values(), items):
    leak.owner = node
target = cache["key7"]
big = -(10 ** 40)
ready = threading.Event()
done = threading.Event()


def worker(held=items[3]):
    ready.set()
    done.wait()


thread = threading.Thread(target=worker, name="holder", daemon=True)
thread.start()
ready.wait()
# a first dump changes the heap (on 3.11+ it makes the instances' __dict__s, see FORMAT.md
# "residual effects"): the two compared are the second and the third
refgraph_dump.dump(sys.argv[2], marks={"target": target})
refgraph_dump.dump(sys.argv[2], marks={"target": target})
refgraph_dump.dump(sys.argv[3], marks={"target": target}, format="binary")
done.set()
thread.join()
