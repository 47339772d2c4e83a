# Objects held only by running frames' locals: a worker thread's Session (a real library
# pattern) and the local of the function that calls dump(). On 3.13 f_locals is a
# FrameLocalsProxy (PEP 667). The worker's frame is labelled with its package path.
import sys
import threading

from versions_common import dumper, hexid
from versions_pkg.worker import Session, work

ready, stop = threading.Event(), threading.Event()
thread = threading.Thread(target=work, args=(ready, stop), name="worker")
thread.start()
ready.wait()


def main():
    mine = Session()
    import json
    sessions = [o for o in __import__("gc").get_objects() if type(o) is Session]
    with open(sys.argv[3], "w") as f:
        json.dump({"python": list(sys.version_info[:3]), "mine": hexid(mine),
                   "sessions": [hexid(s) for s in sessions], "objects": {}, "types": {},
                   "retained": {}, "edges": {}, "extra": {}}, f)
    sessions = None
    dumper().dump(sys.argv[2])
    return mine


main()
stop.set()
thread.join()
