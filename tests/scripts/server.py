# A long-running "server": says ready, then serves until the file named by argv[1] exists.
import os
import sys
import time

requests_seen = [{"path": "/"} for _ in range(10)]
print("ready", flush=True)
deadline = time.time() + 30
while not os.path.exists(sys.argv[1]) and time.time() < deadline:
    time.sleep(0.05)
