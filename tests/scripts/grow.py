# Leaks 1000 Leaked instances between two snapshots taken through the API.
import sys

sys.path.insert(0, sys.argv[1])
import refgraph_dump  # noqa: E402


class Leaked:
    pass


leaks = []
refgraph_dump.dump(sys.argv[2])
for _ in range(1000):
    leaks.append(Leaked())
refgraph_dump.dump(sys.argv[3])
