"""objgraph vs refgraph.objgraph on a ~1M-object heap (benches/heapgen.py): one leak-hunting
session of show_backrefs + find_backref_chain + show_growth, timed from the first call (so
refgraph's includes whatever it does first: with the dumper's native accelerator, nothing (its
walk of the live heap runs per question); with --snapshot, the way used without it, the dump
and the engine's load). Run each side in its own process:

    python benches/objgraph_dropin.py objgraph  --objects 1000000 --target hub
    python benches/objgraph_dropin.py refgraph  --objects 1000000 --target hub

(refgraph: PYTHONPATH=python and REFGRAPH_BIN=target/release/refgraph; objgraph: a venv with
`pip install objgraph`.) Each step is shown in wall time and in CPU time (this process's,
plus refgraph's engine process's). --target leaked: the item held through a five-dict cache (a tiny
backref frontier, objgraph's best case); hub: the item listed by 100 items (fan-in 100).
"""

import argparse
import gc
import io
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapgen  # noqa: E402


def cpu_seconds(objgraph):
    """CPU time of this process and, for refgraph, of its engine process: on a loaded machine
    (other jobs on the same cores) the wall time says little, the CPU time what each side
    costs."""
    total = time.process_time()
    s = getattr(objgraph, "_implicit", {}).get("session")
    if s is not None and s._proc is not None:
        with open("/proc/%d/stat" % s._proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("side", choices=["objgraph", "refgraph"])
    ap.add_argument("--objects", type=int, default=1000000)
    ap.add_argument("--target", choices=["hub", "leaked"], default="hub")
    ap.add_argument("--snapshot", action="store_true",
                    help="refgraph: answer graph and chain questions from a snapshot (the way "
                    "without the native accelerator), not by walking the live heap")
    args = ap.parse_args()
    if args.side == "objgraph":
        import objgraph
    else:
        import refgraph.objgraph as objgraph
        if args.snapshot:
            objgraph._LIVE = False
    hub_index = heapgen.build(args.objects)
    gc.collect()
    print("%s: %d gc-tracked objects" % (args.side, len(gc.get_objects())))
    target = heapgen.hub(hub_index) if args.target == "hub" else heapgen.leaked()
    steps = []
    start = (time.perf_counter(), cpu_seconds(objgraph))
    out = io.StringIO()
    objgraph.show_backrefs([target], max_depth=5, output=out)
    steps.append(("show_backrefs", time.perf_counter(), cpu_seconds(objgraph)))
    chain = objgraph.find_backref_chain(target, objgraph.is_proper_module)
    steps.append(("find_backref_chain", time.perf_counter(), cpu_seconds(objgraph)))
    objgraph.show_growth(file=out)
    steps.append(("show_growth", time.perf_counter(), cpu_seconds(objgraph)))
    last = start
    print("  %-20s %9s %9s" % ("", "wall", "CPU"))
    for name, t, c in steps:
        print("  %-20s %7.3f s %7.3f s" % (name, t - last[0], c - last[1]))
        last = (t, c)
    print("  %-20s %7.3f s %7.3f s  (chain of %d, %d DOT lines)"
          % ("session total", last[0] - start[0], last[1] - start[1], len(chain),
             out.getvalue().count("\n")))
    if args.side == "refgraph":
        s = objgraph._implicit["session"]
        if s is None:
            print("  no snapshot taken: graph and chain questions walked the live heap in the "
                  "process (refgraph._live; --snapshot measures the snapshot way)")
        else:
            print("  of which: dump %.3f s (CPU %.3f s), engine load %.3f s (the engine's CPU, "
                  "its answers included: %.3f s); %d snapshot(s) taken"
                  % (s.dump_seconds, s.dump_cpu_seconds, s.load_seconds,
                     cpu_seconds(objgraph) - time.process_time(), s.refreshes))


if __name__ == "__main__":
    main()
