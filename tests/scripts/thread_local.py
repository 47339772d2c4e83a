# A thread's frame local holds a Payload while the main program ends.
import threading

ready = threading.Event()
done = threading.Event()


class Payload:
    pass


def worker():
    held = Payload()
    ready.set()
    done.wait(10)
    return held


t = threading.Thread(target=worker, name="holder-thread", daemon=True)
t.start()
ready.wait(10)
