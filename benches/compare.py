"""refgraph against objgraph and refcycle, on the same heap, in one run.

    python3 benches/compare.py [N_OBJECTS] [--refgraph target/release/refgraph]

Builds a heap of about N gc-tracked objects (benches/heapgen.py), dumps it with refgraph's
dumper, times refgraph's commands on the snapshot (each a fresh process: load included), asks
the same questions again in one `refgraph shell` (the snapshot loaded once, as objgraph has the
heap in process; each answer timed by the shell's --timings), then asks objgraph and refcycle
the same questions inside the process. objgraph and refcycle are
installed from PyPI into a venv under target/bench-venv (created on first use), and this
script re-runs itself there. Prints a Markdown table with times, peak memory and ratios.
"""

import argparse
import gc
import io
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.path.join(ROOT, "target", "bench-venv")


def ensure_venv():
    """Re-exec inside a venv that has objgraph and refcycle."""
    if os.environ.get("REFGRAPH_BENCH_VENV") == "1":
        return
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([python, "-m", "pip", "install", "-q", "objgraph", "refcycle"])
    env = dict(os.environ, REFGRAPH_BENCH_VENV="1")
    os.execve(python, [python] + sys.argv, env)


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_refgraph(binary, args):
    """Run one refgraph command; (seconds, peak RSS MiB of that process, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    _, status, usage = os.wait4(proc.pid, 0) if proc.returncode is None else (0, 0, None)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit("refgraph %s failed: %s" % (" ".join(args), err.decode()))
    return seconds, out


def run_shell(binary, snap, argvs):
    """Ask every question (argv without the snapshot) in one `refgraph shell`: (seconds to
    open the snapshot, [seconds per answer])."""
    lines = [" ".join(shlex.quote(a) for a in [argv[0]] + argv[2:]) for argv in argvs]
    proc = subprocess.run([binary, "shell", snap, "--timings"], input="\n".join(lines) + "\n",
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    times = [float(t) / 1000 for t in re.findall(r"answered in ([0-9.]+) ms", proc.stderr)]
    if proc.returncode != 0 or len(times) != len(argvs):
        raise SystemExit("refgraph shell failed: %s" % proc.stderr)
    opened = re.search(r"open: .*\(([0-9.]+) s\)", proc.stderr)
    return float(opened.group(1)) if opened else 0.0, times


def child_peak(binary, args):
    """Peak RSS of one refgraph command, via GNU time when it is there."""
    if not os.path.exists("/usr/bin/time"):
        return None
    res = subprocess.run(["/usr/bin/time", "-f", "%M", binary] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        return int(res.stderr.decode().strip().splitlines()[-1]) / 1024
    except (ValueError, IndexError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("objects", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--refgraph", default=os.path.join(ROOT, "target", "release", "refgraph"))
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "bench"))
    ap.add_argument("--skip-refcycle", action="store_true")
    ap.add_argument("--format", choices=("json", "binary"), default="json",
                    help="the snapshot format the dumper writes")
    args = ap.parse_args()
    ensure_venv()
    import objgraph
    import refcycle

    sys.path.insert(0, HERE)
    import heapgen

    os.makedirs(args.out, exist_ok=True)
    dumper_dir = os.path.join(args.out, "dumper")
    os.makedirs(dumper_dir, exist_ok=True)
    with open(os.path.join(dumper_dir, "refgraph_dump.py"), "wb") as f:
        f.write(subprocess.check_output([args.refgraph, "dumper"]))
    # the native accelerator beside it, as `refgraph capture` places it (any cargo build
    # leaves a copy in python/refgraph): without it the dump is the pure-Python one
    native = os.path.join(ROOT, "python", "refgraph", "_refgraph_native.so")
    if os.path.isfile(native):
        shutil.copyfile(native, os.path.join(dumper_dir, "_refgraph_native.so"))
    sys.path.insert(0, dumper_dir)
    import refgraph_dump

    rows = []

    def row(question, ours, theirs, tool, peak=None):
        rows.append((question, ours, theirs, tool, peak))

    t_build, hub_index = timed(lambda: heapgen.build(args.objects))
    gc.collect()
    tracked = len(gc.get_objects())
    snap = os.path.join(args.out, "heap.rgsnap")
    # a first capture, into a new file: replacing the last run's snapshot by rename makes
    # ext4 write the new one out first (auto_da_alloc: 0.03-0.05 s of the dump at 1M objects)
    for old in (snap, snap + ".rgidx"):
        if os.path.exists(old):
            os.remove(old)
    hub_id = id(heapgen.hub(hub_index))
    t_dump, stats = timed(lambda: refgraph_dump.dump(snap, collect=False, format=args.format))
    size_mb = os.path.getsize(snap) / 1e6
    print("heap: %d gc-tracked objects (built in %.2f s); snapshot: %d objects, %d references, %.0f MB"
          % (tracked, t_build, stats["objects"], stats["edges"], size_mb))
    print("dumper (%s): %.2f s = %.0f objects/s (peak RSS of this process so far %.0f MiB)"
          % (stats.get("dumper", "python"), t_dump, stats["objects"] / t_dump, peak_mib()))

    rg = args.refgraph
    questions = [
        ("cold load (find a missing type)", ["find", snap, "NoSuchType"], None),
        ("summary", ["summary", snap], None),
        ("types (show_most_common_types)", ["types", snap], "show_most_common_types"),
        ("find Item (by_type)", ["find", snap, "Item", "--limit", "10"], "by_type"),
        ("chain to the fan-in object (find_backref_chain)", ["chain", snap, str(hub_id)], "find_backref_chain"),
        ("backrefs -o .dot (show_backrefs)", ["backrefs", snap, str(hub_id), "--max-depth", "5", "-o", os.path.join(args.out, "hub.dot")], "show_backrefs"),
        ("orphans (get_leaking_objects)", ["orphans", snap], "get_leaking_objects"),
        ("cycles (refcycle SCC)", ["cycles", snap], "refcycle"),
        ("backrefs -o .svg (builtin layout)", ["backrefs", snap, str(hub_id), "--max-depth", "5", "--renderer", "builtin", "-o", os.path.join(args.out, "hub.svg")], None),
        ("top (dominator tree, leak suspects)", ["top", snap], None),
        ("types (show_growth: objgraph's second call)", ["types", snap], "show_growth"),
    ]
    ours = {}
    for i, (name, argv, _) in enumerate(questions):
        seconds, _ = run_refgraph(rg, argv)
        if i == 0:
            # the peak of a cold load, not of re-opening the index the timed run just wrote
            os.remove(snap + ".rgidx")
        ours[name] = (seconds, child_peak(rg, argv))

    shell_open, answers = run_shell(rg, snap, [q[1] for q in questions[1:]])
    shell_times = dict(zip([q[0] for q in questions[1:]], answers))

    theirs = {}
    sink = io.StringIO()
    hub = heapgen.hub
    theirs["show_most_common_types"] = timed(lambda: objgraph.show_most_common_types(file=sink))[0]
    theirs["by_type"] = timed(lambda: len(objgraph.by_type("Item")))[0]
    theirs["find_backref_chain"] = timed(lambda: len(objgraph.find_backref_chain(hub(hub_index), objgraph.is_proper_module)))[0]
    theirs["show_backrefs"] = timed(lambda: objgraph.show_backrefs([hub(hub_index)], max_depth=5, filename=os.path.join(args.out, "objgraph-hub.dot")))[0]
    theirs["get_leaking_objects"] = timed(lambda: len(objgraph.get_leaking_objects()))[0]
    theirs["show_growth"] = timed(lambda: objgraph.show_growth(file=sink))[0]
    if not args.skip_refcycle:
        t_snap, graph = timed(refcycle.snapshot)
        t_scc, _ = timed(lambda: len(graph.strongly_connected_components()))
        theirs["refcycle"] = t_snap + t_scc
        del graph
    print("peak RSS of the Python process after objgraph/refcycle: %.0f MiB" % peak_mib())

    print()
    print("| question | refgraph (s) | refgraph peak MiB | refgraph shell (s) | objgraph/refcycle (s) | ratio | ratio, shell |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, argv, other in questions:
        seconds, peak = ours[name]
        them = theirs.get(other) if other else None
        in_shell = shell_times.get(name)
        ratio = "%.1fx" % (them / seconds) if them else ""
        shell_ratio = "%.0fx" % (them / in_shell) if them and in_shell else ""
        print("| %s | %.3f | %s | %s | %s | %s | %s |" % (
            name, seconds, "%.0f" % peak if peak else "?",
            "%.4f" % in_shell if in_shell is not None else "",
            "%.3f" % them if them else "", ratio, shell_ratio))
    session_ours = t_dump + sum(ours[q[0]][0] for q in questions[2:7])
    session_theirs = sum(theirs[k] for k in ["show_most_common_types", "by_type", "find_backref_chain", "show_backrefs", "get_leaking_objects"])
    # the whole hunt: the first question after a dump loads the snapshot cold (and writes its
    # index), so it is charged the cold load on top of its re-opened time
    hunt = session_ours + ours[questions[0][0]][0]
    print()
    print("leak hunt (dump + cold load + types, find, chain, backrefs, orphans, each a process): "
          "refgraph %.2f s, objgraph %.2f s (%.2fx)" % (hunt, session_theirs, session_theirs / hunt))
    print("leak-hunting session without the cold load (dump + the five questions): refgraph %.2f s, "
          "objgraph %.2f s (%.2fx)" % (session_ours, session_theirs, session_theirs / session_ours))
    # the shell ran after the index existed: charge it the cold load (JSON parse + index)
    shell_session = t_dump + ours[questions[0][0]][0] + sum(shell_times[q[0]] for q in questions[2:7])
    print("the same session in `refgraph shell` (dump + cold load + five answers): %.2f s (%.2fx); "
          "the shell re-opened the indexed snapshot in %.2f s" % (shell_session, session_theirs / shell_session, shell_open))
    if "refcycle" in theirs:
        print("cycles end to end: refgraph dump + cycles %.2f s, refcycle snapshot + SCC %.2f s (%.1fx)"
              % (t_dump + ours[questions[7][0]][0], theirs["refcycle"], theirs["refcycle"] / (t_dump + ours[questions[7][0]][0])))


if __name__ == "__main__":
    main()
