"""Shared by the attach_*.py targets of tests/attach.rs: a heartbeat file, a stop file, and a
result file written at exit that says whether anything of refgraph stayed in the process."""
import json
import os
import sys

_beats = [0]


def ready(d):
    _write(d, "ready", json.dumps({"pid": os.getpid(), "tasks": _tasks(), "py_threads": _py_threads()}))


def beat(d):
    _beats[0] += 1
    _write(d, "heartbeat", str(_beats[0]))


def should_stop(d):
    return os.path.exists(os.path.join(d, "stop"))


def finish(d, code, **extra):
    main = sys.modules["__main__"]
    result = {
        "modules": [m for m in sys.modules if "refgraph" in m],
        "path": [p for p in sys.path if "refgraph" in p],
        "main": [k for k in vars(main) if "refgraph" in k],
        "tasks": _tasks(),
        "rwx_pages": _rwx_pages(),
        "py_threads": _py_threads(),
    }
    result.update(extra)
    _write(d, "result", json.dumps(result))
    sys.exit(code)


def _py_threads():
    """Threads threading knows (a _DummyThread left by the dump thread would show here)."""
    threading = sys.modules.get("threading")
    return len(threading._active) if threading else 0


def _rwx_pages():
    with open("/proc/self/maps") as f:
        return sum(1 for line in f if line.split()[1].startswith("rwx"))


def _tasks():
    return len(os.listdir("/proc/self/task"))


def _write(d, name, text):
    tmp = os.path.join(d, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(d, name))
