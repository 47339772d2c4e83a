"""A program profiled with cProfile (a C profiler before 3.12, sys.monitoring after) dumps its
heap: the dump succeeds and the profiler is still on afterwards, recording the program.

    python under_cprofile.py DUMPER_DIR SNAPSHOT
"""
import cProfile
import sys

sys.path.insert(0, sys.argv[1])
import refgraph_dump  # noqa: E402


def work():
    refgraph_dump.dump(sys.argv[2])
    return after_the_dump()


def after_the_dump():
    return sum(range(10))


profiler = cProfile.Profile()
profiler.enable()
work()
profiler.disable()
profiler.create_stats()
names = {fn for (_file, _line, fn) in profiler.stats}
assert "after_the_dump" in names, sorted(names)
print("profiled after the dump")
