"""attach target: CPU-bound and forking all the time (no thread ever parks, so refgraph uses
its breakpoints, which a child forked meanwhile inherits): every child allocates, then exits 5;
the result counts the children that ended otherwise. argv: DIR."""
import os
import sys

import attach_common as c


class AttachMarker:
    pass


held = [AttachMarker() for _ in range(5)]
d = sys.argv[1]
c.ready(d)
children = []
bad = []
n = 0
while not c.should_stop(d):
    n += 1
    if n % 1000 == 0:
        pid = os.fork()
        if pid == 0:
            junk = [[i, str(i)] for i in range(20000)]
            os._exit(5)
        children.append(pid)
    pair = [n, n * n]
    for pid in list(children):
        got, status = os.waitpid(pid, os.WNOHANG)
        if got:
            children.remove(pid)
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 5):
                bad.append(status)
    if n % 20000 == 0:
        c.beat(d)
for pid in children:
    _, status = os.waitpid(pid, 0)
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 5):
        bad.append(status)
c.finish(d, 3, bad_children=bad, forks=n // 1000)
