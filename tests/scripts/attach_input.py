"""attach target: the main thread is blocked in input() (stdin a pipe); a thread beats.
Exits when a line arrives. argv: DIR."""
import sys
import threading
import time

import attach_common as c


class AttachMarker:
    pass


held = [AttachMarker() for _ in range(5)]
d = sys.argv[1]


def beat():
    while True:
        c.beat(d)
        time.sleep(0.05)


threading.Thread(target=beat, daemon=True).start()
c.ready(d)
line = input()
c.finish(d, 3, line=line)
