"""attach target: a CPU-bound pure-Python loop (no thread ever blocks in a system call).
argv: DIR."""
import sys

import attach_common as c


class AttachMarker:
    pass


held = [AttachMarker() for _ in range(5)]
d = sys.argv[1]
c.ready(d)
n = 0
total = 0
while True:
    n += 1
    total += n * n
    pair = [n, total]
    if n % 20000 == 0:
        c.beat(d)
        if c.should_stop(d):
            break
c.finish(d, 3)
