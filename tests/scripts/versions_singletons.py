# References to shared immutable singletons (the empty tuple, 3.8/3.9's empty frozenset, small
# ints, interned strings) are kept like any other.
import sys

from versions_common import dumper, record

HOLD = [(), frozenset(), (), 0, 1, "", "a", None, True]
PAIR = ((), frozenset())
record(["HOLD", "PAIR"])
dumper().dump(sys.argv[2])
