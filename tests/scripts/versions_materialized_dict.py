# Instances whose __dict__ the program made (vars(), functools.cached_property), beside ones
# whose attributes stay inline: each attribute has one holder, the dict is never an orphan.
import functools
import sys

from versions_common import dumper, record


class Node:
    def __init__(self, i):
        self.payload = [bytearray(100 + i)]
        self.name = "node-%d" % i


class Cached:
    def __init__(self):
        self.rows = [bytearray(64)]

    @functools.cached_property
    def total(self):
        return [len(self.rows)]


NODES = [Node(i) for i in range(30)]
VIEWS = [vars(n) for n in NODES[:15]]         # materialized, and held by the program too
for n in NODES[15:20]:
    vars(n)                                   # materialized, held by the instance only
CACHED = Cached()
CACHED.total
FIRST, LAST, MADE = NODES[0], NODES[-1], NODES[16]
# gc's view of an instance whose dict exists is [dict, class] before 3.13; on 3.13 it still
# reports the values itself, and the snapshot records them once, through the dict
expected = {name: [vars(obj), type(obj)] for name, obj in
            (("FIRST", FIRST), ("MADE", MADE), ("CACHED", CACHED))}
# An instance whose attributes are inline (3.11+) as gc sees it; on 3.11/3.12 the dumper makes
# its dict when it reads __dict__ (FORMAT.md, residual effects), so gc's earlier view is
# only the snapshot's on 3.8-3.10 and 3.13+
inline_kept = sys.version_info < (3, 11) or sys.version_info >= (3, 13)
record(["FIRST", "MADE", "CACHED", "VIEWS"] + (["LAST"] if inline_kept else []),
       classes=(Node, Cached), expected=expected,
       extra={"dicts": [["0x%x" % id(o), "0x%x" % id(vars(o))] for o in (FIRST, MADE, CACHED)]})
dumper().dump(sys.argv[2])
