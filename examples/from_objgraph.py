"""objgraph's documented session, unchanged but for the import (README: "From objgraph").

    python3 examples/from_objgraph.py

Needs the refgraph package (`pip install .`) or PYTHONPATH=python with `refgraph` on PATH.
"""

import refgraph
import refgraph.objgraph as objgraph


class Session:
    pass


CACHE = {"users": {"alice": [Session()]}}

objgraph.show_growth(limit=3)           # the baseline: the most common types
leaked = [Session() for _ in range(10)]
objgraph.show_growth(limit=3)           # what grew since: Session +10, list +1
obj = objgraph.by_type("Session")[0]
chain = objgraph.find_backref_chain(obj, objgraph.is_proper_module)
print(" -> ".join(type(o).__name__ for o in chain))
objgraph.show_backrefs([obj], max_depth=4, filename="backrefs.png")   # no Graphviz needed
print(refgraph.why_alive(CACHE["users"]["alice"][0]))
