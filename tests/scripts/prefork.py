"""A prefork server in miniature: the master forks WORKERS workers and waits for them; each
worker prints its pid once it runs (a signal that reaches a child before CPython's after-fork
setup is dropped), holds a Worker object, waits for the stop file, and reaches the end of the
program."""
import os
import sys
import time


class Worker:
    pass


class Master:
    pass


stop_file = sys.argv[1]
workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
held = [Master()]
children = []
for _ in range(workers):
    pid = os.fork()
    if pid == 0:
        held = [Worker()]
        children = []
        sys.stdout.write("worker %d\n" % os.getpid())  # one write: workers share the pipe
        sys.stdout.flush()
        break
    children.append(pid)
if children:
    for pid in children:
        os.waitpid(pid, 0)
else:
    deadline = time.monotonic() + 60
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        time.sleep(0.02)
