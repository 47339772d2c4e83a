"""attach target: the program patched the os and time functions a dump uses (as mock.patch,
freezegun or pyfakefs do) before refgraph attached; the dump must call the real ones. The
result lists the replacements that ran. argv: DIR."""
import os
import sys
import time

import attach_common as c

calls = []
d = sys.argv[1]
c.ready(d)
real_sleep = time.sleep
real_replace = os.replace


def patch(module, name):
    original = getattr(module, name)

    def replacement(*args, **kwargs):
        calls.append("%s.%s" % (module.__name__, name))
        return original(*args, **kwargs)

    setattr(module, name, replacement)


for name in ("getpid", "open", "write", "close", "replace", "unlink", "rename"):
    patch(os, name)
if sys.version_info >= (3, 9):
    for name in ("time", "perf_counter", "gmtime", "strftime", "monotonic"):
        patch(time, name)
heartbeat = os.path.join(d, "heartbeat")
beats = 0
while not os.path.exists(os.path.join(d, "stop")):
    beats += 1
    with open(heartbeat + ".tmp", "w") as f:
        f.write(str(beats))
    real_replace(heartbeat + ".tmp", heartbeat)
    real_sleep(0.05)
ran = list(calls)
c.finish(d, 3, patched_calls=ran)
