# A worker in a package: its frame is labelled versions_pkg/worker.py, not worker.py.
class Session:
    def __init__(self):
        self.buffer = bytearray(4096)


def work(ready, stop):
    session = Session()
    ready.set()
    stop.wait()
    return session
