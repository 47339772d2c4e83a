"""attach target: the main thread sleeps (clock_nanosleep / select), holding AttachMarker
objects in a global list. argv: DIR."""
import sys
import time

import attach_common as c


class AttachMarker:
    pass


held = [AttachMarker() for _ in range(5)]
d = sys.argv[1]
c.ready(d)
while not c.should_stop(d):
    c.beat(d)
    time.sleep(0.05)
c.finish(d, 3)
