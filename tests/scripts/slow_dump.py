"""Holds enough objects that a dump takes a while, says "ready", then waits for the stop file:
for sending a second dump signal while the first dump runs."""
import os
import sys
import time

data = [[i, str(i)] for i in range(400_000)]
print("ready", flush=True)
deadline = time.monotonic() + 60
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    time.sleep(0.02)
