"""attach target: its only thread waits on a lock (a futex: not a safe point) for SECONDS,
then exits 3. argv: DIR SECONDS."""
import sys
import threading

import attach_common as c

d = sys.argv[1]
lock = threading.Lock()
lock.acquire()
c.ready(d)
lock.acquire(timeout=float(sys.argv[2]))
c.finish(d, 3)
