"""What `pytest --refgraph-leaks` adds to a passing test on a heap of N objects.

    python3 benches/pytest_overhead.py [--objects 100000] [--tests 50] [--python PY]

PY must have pytest and refgraph installed (e.g. a venv with `pip install . pytest`). It writes
a throwaway project whose conftest keeps N objects alive, with T clean tests, runs it with and
without the flag (best of 3 each) and prints the time per test of each and the difference.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--tests", type=int, default=50)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as project:
        with open(os.path.join(project, "conftest.py"), "w") as f:
            f.write("HEAP = [[i] for i in range(%d)]\n" % (args.objects // 2))
        with open(os.path.join(project, "test_clean.py"), "w") as f:
            for n in range(args.tests):
                f.write("def test_%d():\n    data = {'k': [1, 2, 3]}\n    assert data\n" % n)
        base = best_of(3, args.python, project, [])
        flagged = best_of(3, args.python, project, ["--refgraph-leaks"])
        runs1 = best_of(3, args.python, project, ["--refgraph-leaks", "--refgraph-leaks-runs", "1"])
    per = lambda t: t / args.tests * 1000
    print("heap: %d objects, %d passing tests" % (args.objects, args.tests))
    print("without the flag:              %6.1f ms per test" % per(base))
    print("--refgraph-leaks (runs 2):     %6.1f ms per test (+%.1f ms)" % (per(flagged), per(flagged - base)))
    print("--refgraph-leaks-runs 1:       %6.1f ms per test (+%.1f ms)" % (per(runs1), per(runs1 - base)))


def best_of(n, python, project, flags):
    best = None
    for _ in range(n):
        started = time.perf_counter()
        result = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + flags,
                                cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(result.stdout.decode())
        best = elapsed if best is None else min(best, elapsed)
    return best


if __name__ == "__main__":
    main()
