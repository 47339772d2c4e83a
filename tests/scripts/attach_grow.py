"""attach target: sleeps, and adds 100 Growing objects to a global list at every tick.
argv: DIR."""
import sys
import time

import attach_common as c


class Growing:
    pass


leak = []
d = sys.argv[1]
c.ready(d)
while not c.should_stop(d):
    leak.extend(Growing() for _ in range(100))
    c.beat(d)
    time.sleep(0.05)
c.finish(d, 3)
