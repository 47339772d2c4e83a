"""Benchmark of the heap dumper (python/refgraph/_dump.py).

Builds a heap of about N objects the way an application holds data (instances of a class with
attributes, their dicts, lists, strings, ints, a module-level cache dict, a few pairwise
cycles), dumps it with dump() and prints objects, edges, seconds, objects/s, file size and peak
RSS.

    python3 benches/dumper_bench.py [N] [--heapgen] [--gz] [--novalues] [--nocollect] [--out PATH] [--profile]
                                      [--format json|binary]

--heapgen builds benches/heapgen.py's heap instead. The dumper uses its native accelerator
when python/refgraph/_refgraph_native.so is there (any `cargo build` puts it there) and this
Python can load it; REFGRAPH_NATIVE=0 makes it pure Python. The `dumper` line says which ran.
"""

import argparse
import gc
import importlib.util
import os
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DUMPER = os.path.join(HERE, "..", "python", "refgraph", "_dump.py")

# Objects one Session adds to the heap: the instance, its __dict__, its name (str), its id
# (int), its tags list, its meta dict, the meta value (str) and its cache key (str).
OBJECTS_PER_SESSION = 8

CACHE = {}          # module-level cache: key -> Session (what keeps most of the heap alive)


class Session:
    def __init__(self, i):
        self.name = "user-%d@example.org" % i
        self.user_id = 1_000_000 + i
        self.tags = [i % 7, i % 11]
        self.meta = {"agent": "client/%d" % (i % 5000 + i)}
        self.peer = None


def build_heap(n):
    """Fill CACHE so the process holds about n objects in all (gc-tracked or not)."""
    baseline = len(gc.get_objects())
    sessions = max(1, (n - 2 * baseline) // OBJECTS_PER_SESSION)
    for i in range(sessions):
        CACHE["session:%d" % i] = Session(i)
    # a few pairwise cycles that nothing else holds: the collector finds them
    for i in range(0, 200, 2):
        a, b = Session(-i), Session(-i - 1)
        a.peer, b.peer = b, a
    return sessions


def load_dumper():
    spec = importlib.util.spec_from_file_location("refgraph_dump", DUMPER)
    module = importlib.util.module_from_spec(spec)
    sys.modules["refgraph_dump"] = module
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000, help="objects to build")
    parser.add_argument("--heapgen", action="store_true", help="build heapgen.py's heap")
    parser.add_argument("--gz", action="store_true", help="write a .gz snapshot")
    parser.add_argument("--novalues", action="store_true", help="dump with values=False")
    parser.add_argument("--nocollect", action="store_true", help="dump with collect=False")
    parser.add_argument("--out", help="snapshot path (default: a temp file, removed after)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of dump()")
    parser.add_argument("--format", choices=("json", "binary"), default="json",
                        help="snapshot format (docs/FORMAT.md)")
    args = parser.parse_args()

    dumper = load_dumper()
    started = time.perf_counter()
    if args.heapgen:
        sys.path.insert(0, HERE)
        import heapgen
        heapgen.build(args.n)
        sessions = len(heapgen.ITEMS)      # items, here
    else:
        sessions = build_heap(args.n)
    built = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    out = args.out
    tmpdir = None
    if out is None:
        tmpdir = tempfile.mkdtemp(prefix="refgraph-bench-")
        out = os.path.join(tmpdir, "bench.rgsnap" + (".gz" if args.gz else ""))
    kwargs = dict(values=not args.novalues, collect=not args.nocollect)
    if args.format != "json":
        kwargs["format"] = args.format
    cpu = time.process_time()
    if args.profile:
        import cProfile
        import pstats
        profile = cProfile.Profile()
        # dump() pauses the program's profilers (and cannot restore cProfile's C hook through
        # sys.setprofile): let this one run so it sees the dump
        dumper._pause_tracers = lambda: (None, None, [])
        result = profile.runcall(dumper.dump, out, **kwargs)
        pstats.Stats(profile).sort_stats(os.environ.get("RG_SORT", "tottime")).print_stats(int(os.environ.get("RG_TOP", "25")))
    else:
        result = dumper.dump(out, **kwargs)
    cpu = time.process_time() - cpu     # less sensitive than wall time to a busy machine
    size = os.path.getsize(out)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print("python          %s" % sys.version.split()[0])
    print("dumper          %s" % result["dumper"])
    print("heap built      %d sessions in %.2f s" % (sessions, built))
    print("objects         %d" % result["objects"])
    print("edges           %d" % result["edges"])
    print("garbage         %d" % result["garbage"])
    print("seconds         %.3f wall (as reported by dump), %.3f CPU (whole dump() call)"
          % (result["seconds"], cpu))
    print("objects/s       %d wall, %d CPU"
          % (result["objects"] / result["seconds"], result["objects"] / cpu))
    print("file size       %.1f MB (%s)" % (size / 1e6, os.path.basename(out)))
    print("peak RSS        %.1f MB before dump, %.1f MB after (+%.1f MB)"
          % (rss_before / 1024, rss_after / 1024, (rss_after - rss_before) / 1024))
    if tmpdir is not None:
        os.remove(out)
        os.rmdir(tmpdir)


if __name__ == "__main__":
    main()
