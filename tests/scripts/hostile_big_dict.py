# A dict with 1,000,000 str keys (and int values): the dump completes in reasonable time.
import time

from hostile_common import arm, dump_if_asked

# values are small (cached) ints: the million objects are the keys
big = {"key%d" % i: i % 100 for i in range(1_000_000)}
arm()
started = time.perf_counter()
result = dump_if_asked()
if result is not None:
    # stderr: timings must not change the output compared with the run without a dump
    import sys
    sys.stderr.write("dump: %d objects in %.2f s\n" % (result["objects"], time.perf_counter() - started))
print("big dict ready: %d keys" % len(big))
