# The program patches the os and time functions a dump uses, as mock.patch, freezegun or
# pyfakefs do, and leaves the patches in place: the dump must call the real functions (bound
# when the dumper was imported), so that none of these replacements runs.
import os
import sys
import time

from hostile_common import arm, dump_if_asked, record

if len(sys.argv) >= 3:
    sys.path.insert(0, sys.argv[1])
    import refgraph_dump  # noqa: F401 - imported before the patches, as a program would


def patch(module, name):
    original = getattr(module, name)

    def replacement(*args, **kwargs):
        record((module.__name__, name))
        return original(*args, **kwargs)
    setattr(module, name, replacement)


for name in ("time", "perf_counter", "gmtime", "strftime", "monotonic"):
    patch(time, name)
for name in ("getpid", "open", "write", "close", "replace", "unlink", "rename"):
    patch(os, name)
arm()
dump_if_asked()
print("patched os and time")
