# Threads mutate a shared dict, list, set, deque and an instance's attributes as fast as they
# can while the main thread dumps several times through the API (argv: DUMPER_DIR SNAPSHOT N;
# the snapshots are SNAPSHOT.0 ... SNAPSHOT.N-1). Every dump must complete and no mutator
# may see an exception.
import collections
import sys
import threading

from hostile_common import CHECKS, arm

sys.setswitchinterval(1e-5)     # switch threads as often as the interpreter allows

shared_dict = {}
shared_list = []
shared_set = set()
shared_deque = collections.deque(maxlen=1000)


class Holder:
    pass


holder = Holder()
stop = threading.Event()
errors = []
progress = collections.Counter()


def mutate_containers(name):
    i = 0
    try:
        while not stop.is_set():
            shared_dict["k%d" % (i % 3000)] = [i]          # grows, then shrinks: resizes
            if i % 4 == 0:
                shared_dict.pop("k%d" % ((i * 7) % 3000), None)
            if i % 5000 == 4999:
                shared_dict.clear()
            shared_list.append(("item", i))
            if len(shared_list) > 4000:
                del shared_list[:3000]
            shared_set.add(i % 2000)
            shared_set.discard((i * 3) % 2000)
            shared_deque.append({"i": i})
            setattr(holder, "a%d" % (i % 300), i)
            if i % 300 == 299:
                holder.__dict__.clear()
            progress[name] += 1
            i += 1
    except Exception as e:       # noqa: BLE001 - any exception here is the failure to report
        errors.append("%s: %r" % (name, e))


def churn(name):
    """Allocate and free objects all the time, so that addresses are reused during a dump."""
    try:
        while not stop.is_set():
            junk = [object() for _ in range(100)]
            junk.append({"cycle": junk})
            progress[name] += 1
    except Exception as e:       # noqa: BLE001
        errors.append("%s: %r" % (name, e))


def thread_problems():
    problems = list(errors)
    if DUMPS and not DURING:
        problems.append("the mutators never ran while a dump was being written")
    return problems


CHECKS.append(thread_problems)
DUMPS = []
DURING = []

threads = [threading.Thread(target=mutate_containers, args=("mutator-%d" % k,), name="mutator-%d" % k)
           for k in range(2)]
threads.append(threading.Thread(target=churn, args=("churn",), name="churn"))
for t in threads:
    t.start()
arm()
if len(sys.argv) >= 4:
    sys.path.insert(0, sys.argv[1])
    import refgraph_dump
    for n in range(int(sys.argv[3])):
        before = sum(progress.values())
        DUMPS.append(refgraph_dump.dump("%s.%d" % (sys.argv[2], n)))
        DURING.append(sum(progress.values()) - before)
else:
    stop.wait(1.0)
stop.set()
for t in threads:
    t.join()
print("mutators stopped cleanly")
