"""Leaks that only C state holds: no object the collector sees refers to them. `pytest
--refgraph-leaks c_state`: 1 failed (the atexit registration), 1 passed (C objects made and
dropped around a thread's I/O), when no other thread runs Python code in the test process
(pytest-rerunfailures and xdist's workers run one: `-p no:rerunfailures`)."""
import atexit
import threading


class Connection:
    def __init__(self):
        self.buffer = bytearray(10000)

    def close(self):
        pass


def test_atexit_registration_leaks_fails():
    atexit.register(Connection().close)     # a new Connection each run, kept until exit


def test_thread_io_with_memoryviews_passes():
    data = bytearray(64)
    done = []

    def fill():
        view = memoryview(data)
        view[:4] = b"abcd"
        done.append(bytes(view[:4]))
        view.release()

    worker = threading.Thread(target=fill)
    worker.start()
    worker.join()
    assert done == [b"abcd"]
