"""The dumper's two formats on one heapgen heap (docs/benchmarks.md, "Binary snapshots").

    python3 benches/binfmt_bench.py N OUT_DIR

Builds benches/heapgen.py's heap of about N objects, dumps it three times in one process
(JSON lines once to warm the heap up: the first dump makes instance __dict__s on 3.11+; then
JSON lines and binary, each timed) to OUT_DIR/heap.rgsnap and OUT_DIR/heap.rgbin, and prints
objects, seconds, objects/s, bytes and bytes/object of each.
"""
import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import heapgen  # noqa: E402


def load_dumper():
    spec = importlib.util.spec_from_file_location(
        "refgraph_dump", os.path.join(HERE, "..", "python", "refgraph", "_dump.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    dumper = load_dumper()
    heapgen.build(n)
    json_path = os.path.join(out, "heap.rgsnap")
    dumper.dump(json_path)
    for fmt, path in (("json", json_path), ("binary", os.path.join(out, "heap.rgbin"))):
        cpu = time.process_time()
        r = dumper.dump(path, format=fmt)
        cpu = time.process_time() - cpu
        size = os.path.getsize(path)
        print("%-6s %9d objects  %6.2f s wall  %5.2f s CPU  %7.0f objects/s  %11d bytes"
              "  %5.1f B/object" % (fmt, r["objects"], r["seconds"], cpu,
                                     r["objects"] / r["seconds"], size, size / r["objects"]))


if __name__ == "__main__":
    main()
