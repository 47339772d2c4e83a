"""attach target: the main thread holds the GIL inside a C call (libc sleep through
ctypes.PyDLL, which keeps the GIL) for SECONDS; a thread beats whenever it gets the GIL.
argv: DIR SECONDS."""
import ctypes
import sys
import threading
import time

import attach_common as c

d = sys.argv[1]


def beat():
    while True:
        c.beat(d)
        time.sleep(0.05)


threading.Thread(target=beat, daemon=True).start()
time.sleep(0.2)
c.ready(d)
ctypes.PyDLL(None).sleep(int(sys.argv[2]))
with open(d + "/c_call_returned", "w") as f:
    f.write("1")
while not c.should_stop(d):
    time.sleep(0.05)
c.finish(d, 7)
