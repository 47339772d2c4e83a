"""A realistic Python heap of about N gc-tracked objects, for refgraph's benchmarks.

`build(n)` makes, held by the module-level list ITEMS:
- Item instances with attributes (a name string, a tags tuple, a children list, a data list);
- pairwise cycles: every 10th item and its neighbour point at each other (`partner`);
- one Item held only through a cache five dicts deep: CACHE['l1']['l2']['l3']['l4']['l5'];
- one hub Item listed in the children of 100 items (fan-in 100), held by nothing else.
About five gc-tracked objects per item once the pure-Python dumper has materialized instance
dicts (3.11+); four with the native dumper, which makes none.
"""

ITEMS = []
CACHE = {}


class Item:
    def __init__(self, i):
        self.name = "item-%d" % i
        self.tags = (i, "tag")
        self.children = []
        self.data = [i, i + 1]


def build(n):
    """Fill ITEMS and CACHE; returns the hub's index in ITEMS (see `hub()`)."""
    count = max(n // 5, 200)
    ITEMS[:] = [Item(i) for i in range(count)]
    for i in range(0, count - 1, 10):
        a, b = ITEMS[i], ITEMS[i + 1]
        a.partner = b
        b.partner = a
    hub_object = Item(-1)
    for item in ITEMS[count // 2:count // 2 + 100]:
        item.children.append(hub_object)
    CACHE["l1"] = {"l2": {"l3": {"l4": {"l5": Item(-2)}}}}
    return count // 2


def hub(index):
    """The fan-in object, fetched without keeping a reference in the caller's frame."""
    return ITEMS[index].children[0]


def leaked():
    """The object held only through the five-level cache."""
    return CACHE["l1"]["l2"]["l3"]["l4"]["l5"]
