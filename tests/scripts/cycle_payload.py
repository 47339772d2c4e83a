"""Two alive cycles: a small pair of objects whose cycle holds a large payload, and a bigger
ring of lists that holds nothing else. `cycles` must rank the pair first (it retains more)."""


class Node:
    def __init__(self, name):
        self.name = name
        self.other = None


# the pair: 2 instances (plus their dicts) that alone hold a 200,000-int payload
small = Node("a")
small.other = Node("b")
small.other.other = small
small.other.payload = [i + 1_000_000 for i in range(200_000)]

# the ring: 50 lists of 1,000 None each refer to the next one; much larger shallow size than
# the pair, but nothing beyond itself
ring = [[None] * 1000 for _ in range(50)]
for i, lst in enumerate(ring):
    lst.append(ring[(i + 1) % 50])
small_ref, ring_ref = small, ring
del small, ring
