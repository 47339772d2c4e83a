"""Prints what a program sees at startup (argv, sys.path, __main__, environment) as JSON, so a
test can compare a run under `refgraph capture` with a plain run of the same command."""
import json
import os
import sys

_main = vars(sys.modules["__main__"])
_loader = _main.get("__loader__")
PROBE = {
    "argv": sys.argv,
    "path": sys.path,
    "main": sorted(k for k in _main if not k.startswith("_probe")),
    "file": _main.get("__file__"),
    "loader": getattr(_loader, "__name__", type(_loader).__name__),
    "spec": [getattr(_main.get("__spec__"), "name", None), getattr(_main.get("__spec__"), "origin", None)],
    "env": sorted(os.environ),
    "executable": sys.executable,
    "exit": int(os.environ.get("PROBE_EXIT", "0")),
}
sys.stdout.write(json.dumps(PROBE, sort_keys=True) + "\n")
sys.exit(PROBE["exit"])
