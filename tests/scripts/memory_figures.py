"""Dumps itself holding 30 MB of bytearrays (malloc'd by glibc: each is over pymalloc's 512-byte
limit) and writes what /proc/self/status said right before and right after, to compare with the
header's memory figures. argv: DUMPER_DIR SNAPSHOT FIGURES_JSON [ctypes]"""
import json
import sys

sys.path.insert(0, sys.argv[1])
if sys.argv[4:] == ["ctypes"]:
    import ctypes  # noqa: F401  (the dumper reads glibc's totals only when ctypes is loaded)
import refgraph_dump  # noqa: E402


def status():
    found = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0]) * 1024
    return found


held = [bytearray(10_000) for _ in range(3_000)]
before = status()
refgraph_dump.dump(sys.argv[2])
after = status()
with open(sys.argv[3], "w") as f:
    json.dump({"before": before, "after": after}, f)
