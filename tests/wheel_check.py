"""Build the refgraph wheel once and try it in a fresh venv of every CPython this machine has.

    python3 tests/wheel_check.py [--wheel-dir DIR]

What a user gets from `pip install refgraph`, per interpreter: the `refgraph` command,
`python -m refgraph`, `import refgraph; refgraph.dump(...)`, and `refgraph capture` of a console
script (pytest on a tiny project), of `python -c`, and of a #! script, each checked for a known
object in its snapshot and for the program's exit code. Interpreters looked for: the system
python3 and pyenv's 3.8-3.13; each one not found is reported as skipped. Ends with the line
"N passed, M failed" and exits non-zero when anything failed.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WANTED_MINORS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("  ok   %s" % name, flush=True)
        else:
            self.failed.append(name)
            print("  FAIL %s\n%s" % (name, textwrap.indent(detail.strip(), "       ")), flush=True)
        return ok


def run(argv, cwd=None, env=None, timeout=600, stdin=None):
    return subprocess.run(argv, cwd=cwd, env=env, timeout=timeout, stdin=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def build_wheel(out_dir):
    """`pip wheel .`: maturin builds the release binary and packs python/refgraph with it."""
    result = run([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "-w", out_dir],
                 timeout=1800)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit("wheel_check: pip wheel . failed")
    wheels = glob.glob(os.path.join(out_dir, "refgraph-*.whl"))
    if len(wheels) != 1:
        raise SystemExit("wheel_check: expected one wheel in %s, found %r" % (out_dir, wheels))
    return wheels[0]


def interpreters():
    """(label, path) of each CPython to try, one per minor version, and the minors not found."""
    found = {}
    candidates = [shutil.which("python3") or "", "/usr/bin/python3"]
    pyenv = os.path.expanduser("~/.pyenv/versions")
    candidates += sorted(glob.glob(os.path.join(pyenv, "3.*", "bin", "python3")))
    for path in candidates:
        if not path or not os.path.exists(path):
            continue
        probe = run([path, "-c", "import sys, platform; print('%d.%d' % sys.version_info[:2],"
                     " platform.python_version(), sys.implementation.name)"])
        if probe.returncode != 0:
            continue
        minor, version, implementation = probe.stdout.split()
        if implementation != "cpython" or minor not in WANTED_MINORS:
            continue
        label = "%s (%s)" % (version, path)
        found.setdefault(label, path)
    minors = {label.split(".")[0] + "." + label.split(".")[1] for label in found}
    missing = [m for m in WANTED_MINORS if m not in minors]
    return sorted(found.items()), missing


def try_interpreter(checks, label, python, wheel_dir, work):
    print("%s:" % label, flush=True)
    venv = os.path.join(work, "venv")
    result = run([python, "-m", "venv", venv])
    if not checks.check("venv", result.returncode == 0, result.stderr):
        return
    vpy = os.path.join(venv, "bin", "python")
    refgraph = os.path.join(venv, "bin", "refgraph")
    result = run([vpy, "-m", "pip", "install", "-q", "--no-index", "--find-links", wheel_dir,
                  "refgraph"])
    if not checks.check("pip install --no-index refgraph", result.returncode == 0,
                        result.stdout + result.stderr):
        return
    result = run([refgraph, "--version"])
    checks.check("refgraph --version", result.returncode == 0 and
                 result.stdout.startswith("refgraph "), result.stdout + result.stderr)
    result = run([vpy, "-m", "refgraph", "--version"])
    checks.check("python -m refgraph --version", result.returncode == 0 and
                 result.stdout.startswith("refgraph "), result.stdout + result.stderr)
    result = run([vpy, "-m", "refgraph", "demo", "--dir", os.path.join(work, "demo")])
    checks.check("python -m refgraph demo", result.returncode == 0 and
                 "__main__" in result.stdout, result.stdout + result.stderr)
    found = run([vpy, "-c", "import refgraph, os; print(os.path.realpath(refgraph.find_bin()))"])
    checks.check("refgraph.find_bin()", found.returncode == 0 and
                 found.stdout.strip() == os.path.realpath(refgraph), found.stdout + found.stderr)

    snap = os.path.join(work, "x.rgsnap")
    code = ("import refgraph\nclass InProcess: pass\nKEEP = [InProcess()]\n"
            "print(refgraph.dump(%r)['dumper'])\n" % snap)
    result = run([vpy, "-c", code])
    checks.check("refgraph.dump()", result.returncode == 0, result.stderr)
    # the wheel ships the native accelerator: 3.10+ load it, 3.8/3.9 stay pure Python
    want = "python" if label.startswith(("3.8.", "3.9.")) else "native"
    checks.check("dump() ran the %s dumper" % want, result.stdout.strip() == want,
                 result.stdout + result.stderr)
    summary = run([refgraph, "summary", snap])
    checks.check("refgraph summary of dump()", summary.returncode == 0 and
                 "objects" in summary.stdout, summary.stdout + summary.stderr)
    expect_object(checks, refgraph, snap, "InProcess", "dump() snapshot holds InProcess")

    values_false(checks, vpy, refgraph, work)
    capture_forms(checks, vpy, refgraph, venv, work)
    pytest_plugin(checks, vpy, work)


TOKEN_KEYED = """\
# dicts found with other objects (chunks of mixed types, the dicts set aside; made before the
# import, this data reaches the dumper that way on 3.13)
RECORDS = [[{"n": i}, (i, "x%d" % i), "s%d" % i, {"m": i}] for i in range(20000)]
import sys, refgraph
class Profile:
    pass
class Session:
    def __init__(self):
        self.user_name = "alice"
        self.profile = Profile()
SESSIONS = {}
for token in ("ghp_R4nd0mL00kingT0kenAbCdEf0123456789", "sk_live_51HxYzSecretKey00", "hunter2"):
    SESSIONS[token] = Session()          # sessions keyed by their bearer token
refgraph.dump(sys.argv[1], values=False, format=sys.argv[2])
"""


def values_false(checks, vpy, refgraph, work):
    """dump(values=False), with the Python dumper (3.8, 3.9) and the native one: the str keys of
    a data dict (bearer tokens) are not in the file, the names of a module's and an
    instance's __dict__ are."""
    script = os.path.join(work, "tokens.py")
    with open(script, "w") as f:
        f.write(TOKEN_KEYED)
    for fmt in ("json", "binary"):
        snap = os.path.join(work, "tokens-%s.rgsnap" % fmt)
        result = run([vpy, script, snap, fmt])
        data = b""
        if os.path.exists(snap):
            with open(snap, "rb") as f:
                data = f.read()
        leaked = [t for t in (b"ghp_", b"sk_live_", b"hunter2", b"alice") if t in data]
        chain = run([refgraph, "chain", snap, "type:Profile", "--limit", "1"])
        checks.check("dump(values=False, format=%r): no dict key of data, names from code "
                     "kept" % fmt, result.returncode == 0 and not leaked
                     and ".__dict__['SESSIONS'] → dict[<str " in chain.stdout
                     and ("profile'] → Profile" in chain.stdout
                          or ".profile → Profile" in chain.stdout),
                     "leaked %s\n%s%s" % (leaked, result.stderr, chain.stdout))


def capture_forms(checks, vpy, refgraph, venv, work):
    """`refgraph capture` of -c, of a #! script and of a console script (pytest)."""
    snap = os.path.join(work, "c.rgsnap")
    code = "class FromDashC: pass\nKEEP = [FromDashC()]\nraise SystemExit(3)"
    result = run([refgraph, "capture", "-o", snap, "--", vpy, "-c", code])
    checks.check("capture -- python -c (exit code kept)", result.returncode == 3, result.stderr)
    expect_object(checks, refgraph, snap, "FromDashC", "capture of -c holds FromDashC")

    script = os.path.join(work, "tool.py")
    with open(script, "w") as f:
        f.write("#!%s\nclass FromShebang: pass\nKEEP = [FromShebang()]\nraise SystemExit(4)\n"
                % vpy)
    os.chmod(script, 0o755)
    snap = os.path.join(work, "s.rgsnap")
    result = run([refgraph, "capture", "-o", snap, "--", script])
    checks.check("capture -- ./script.py (exit code kept)", result.returncode == 4, result.stderr)
    expect_object(checks, refgraph, snap, "FromShebang", "capture of a #! script holds it")

    result = run([vpy, "-m", "pip", "install", "-q", "pytest", "pytest-xdist",
                  "pytest-rerunfailures", "flaky", "pytest-forked"])
    if not checks.check("pip install pytest pytest-xdist pytest-rerunfailures flaky "
                        "pytest-forked", result.returncode == 0, result.stderr):
        return
    project = os.path.join(work, "project")
    os.makedirs(project)
    with open(os.path.join(project, "test_leak.py"), "w") as f:
        f.write("HELD = []\nclass FromPytest: pass\n"
                "def test_keeps():\n    HELD.append(FromPytest())\n")
    snap = os.path.join(work, "p.rgsnap")
    env = dict(os.environ, PATH=os.path.join(venv, "bin") + os.pathsep + os.environ["PATH"])
    result = run([refgraph, "capture", "-o", snap, "--", "pytest", "-q", "-p", "no:cacheprovider"],
                 cwd=project, env=env)
    checks.check("capture -- pytest -q (console script)", result.returncode == 0,
                 result.stdout + result.stderr)
    expect_object(checks, refgraph, snap, "FromPytest", "capture of pytest holds FromPytest")
    chain = run([refgraph, "chain", snap, "type:FromPytest", "--json"])
    checks.check("chain names the test module's HELD", chain.returncode == 0 and
                 "HELD" in chain.stdout, chain.stdout + chain.stderr)


LEAKING_TESTS = {
    # test -> a piece of the chain its failure must show (the holder)
    "test_leaks_through_a_module_level_list": "module test_sample → .__dict__['REGISTRY'] → list",
    "test_leaks_through_an_lru_cache_on_a_method": ".__dict__['price'] → _lru_cache_wrapper",
    "test_leaks_through_a_bound_method_listener": ".__dict__['BUS'] → EventBus",
    "test_leaks_through_a_logging_handler": "dict['sample.leaky'] → Logger",
    # objects the collector does not list: named by the module global they pile up in
    "test_leaks_plain_records_into_a_module_list": "100 items into list test_sample.RECORDS",
    "test_leaks_bytes_into_a_module_cache": "1 item into dict test_sample.BLOBS",
}


def pytest_plugin(checks, vpy, work):
    """The sample project (tests/pytest_leaks): with --refgraph-leaks exactly the leaking tests
    fail, each naming its holder (also under xdist); without it all pass; markers; -p no:."""
    project = os.path.join(work, "leaks")
    shutil.copytree(os.path.join(ROOT, "tests", "pytest_leaks"), project)
    # A temp directory of these runs' own: the snapshot run directories counted below are
    # theirs, not those of other pytest sessions on the machine (which the plugin keeps while
    # they run).
    tmp = os.path.join(work, "tmp")
    os.makedirs(tmp)
    env = dict(os.environ, TMPDIR=tmp)
    base = os.path.join(tmp, "refgraph-leaks-%d" % os.getuid())
    # The oldest run directories of two earlier sessions: this script's (still running, so
    # kept) and one that has ended (removed like any older run).
    running = plant_run_dir(base, os.getpid())
    ended = plant_run_dir(base, ended_pid())
    # flaky runs every test's protocol itself: only its own sample run has it
    command = [vpy, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    pytest = command + ["-rf", "-p", "no:flaky"]
    result = run(pytest + ["test_sample.py"], cwd=project, env=env)
    checks.check("plugin: without the flag every sample test passes",
                 result.returncode == 0 and "10 passed" in result.stdout, result.stdout)
    for extra, name in (([], ""), (["-n", "2"], " (xdist -n 2)")):
        result = run(pytest + ["--refgraph-leaks", "test_sample.py"] + extra,
                     cwd=project, env=env)
        failed = {line.split("::")[1].split()[0] for line in result.stdout.splitlines()
                  if line.startswith("FAILED ")}
        checks.check("plugin%s: exactly the leaking tests fail" % name,
                     result.returncode == 1 and failed == set(LEAKING_TESTS),
                     "failed: %s\n%s" % (sorted(failed), result.stdout[-3000:]))
        missing = [t for t, holder in LEAKING_TESTS.items()
                   if "%s leaked" % t not in result.stdout or holder not in result.stdout]
        checks.check("plugin%s: each failure names what leaked and its holder" % name,
                     not missing, "missing: %s\n%s" % (missing, result.stdout[-3000:]))
    result = run(pytest + ["marked"], cwd=project, env=env)
    failed = {line.split("::")[1].split()[0] for line in result.stdout.splitlines()
              if line.startswith("FAILED ")}
    checks.check("plugin: the marker checks single tests; allow= and types= narrow it",
                 failed == {"test_marked_leak_fails_without_the_flag",
                            "test_listed_type_leak_fails"}, result.stdout[-3000:])
    result = run(pytest + ["--refgraph-leaks", "outcomes"], cwd=project, env=env)
    checks.check("plugin: a test failing on its first run fails (the extra runs hide nothing)",
                 result.returncode == 1 and "2 failed" in result.stdout, result.stdout[-3000:])
    result = run(pytest + ["--refgraph-leaks", "--doctest-modules", "harness"], cwd=project,
                 env=env)
    checks.check("plugin: what pytest keeps (warnings, subtests, test instances) is no leak; "
                 "doctests run as is",
                 result.returncode == 0 and "6 passed" in result.stdout, result.stdout[-3000:])
    plain = run(pytest + ["--doctest-modules", "harness"], cwd=project, env=env)
    warned = [re.findall(r"(\d+) warnings?\b", r.stdout)[-1:] for r in (result, plain)]
    checks.check("plugin: each warning is counted once, not once a run of the body",
                 warned[0] == warned[1] != [], "%s\n%s" % (warned, result.stdout[-2000:]))
    subtests_check(checks, pytest, project, env)
    result = run(pytest + ["--refgraph-leaks", "pytest_state"], cwd=project, env=env)
    checks.check("plugin: a leak stored on pytest's config, session or stash fails its test; "
                 "a subtest failing on the first run only fails",
                 result.returncode == 1 and "4 failed" in result.stdout
                 and all("%s leaked 1 test_pytest_state.Kept" % name in result.stdout
                         for name in ("test_leak_on_a_config_attribute_fails",
                                      "test_leak_in_the_config_stash_fails",
                                      "test_leak_on_a_session_attribute_fails")),
                 result.stdout[-3000:])
    result = run(pytest + ["--refgraph-leaks", "attributes"], cwd=project, env=env)
    checks.check("plugin: strs piling up in a class's or a module-level instance's "
                 "container fail their tests",
                 result.returncode == 1 and "2 failed, 4 passed" in result.stdout
                 and "items into list test_attributes.Registry.seen" in result.stdout
                 and "items into dict test_attributes.REGISTRY.names" in result.stdout,
                 result.stdout[-3000:])
    # (pytest-rerunfailures runs a server thread: C-held leaks are looked for only when no
    # other thread runs Python code)
    result = run(pytest + ["-p", "no:rerunfailures", "--refgraph-leaks", "c_state"],
                 cwd=project, env=env)
    checks.check("plugin: a leak only C state holds (atexit.register) fails its test, "
                 "a thread's C objects do not",
                 result.returncode == 1 and "1 failed, 1 passed" in result.stdout
                 and "test_atexit_registration_leaks_fails leaked 1 test_c_state.Connection"
                 in result.stdout and ("held by C code only" in result.stdout
                                       # (before 3.10 the atexit module lists its callbacks)
                                       or "module atexit →" in result.stdout),
                 result.stdout[-3000:])
    result = run(pytest + ["--refgraph-leaks", "reruns"], cwd=project, env=env)
    checks.check("plugin: pytest-rerunfailures reruns a flaky test, and a leak fails each run",
                 result.returncode == 1 and "1 failed, 1 passed, 2 rerun" in result.stdout
                 and "test_leak_fails_after_its_rerun leaked 1 test_reruns.Leaked"
                 in result.stdout, result.stdout[-3000:])
    result = run(command + ["-rE", "-p", "no:rerunfailures", "--refgraph-leaks", "flaky"],
                 cwd=project, env=env)
    checks.check("plugin: flaky reruns a flaky test, and a leak fails the teardown, with a "
                 "warning naming flaky (it logs the result before teardown)",
                 result.returncode == 1 and "2 passed" in result.stdout
                 and "1 error" in result.stdout
                 and "test_leak_under_flaky_fails_its_teardown leaked 1 test_flaky."
                 "LeakedUnderFlaky" in result.stdout
                 and "PytestWarning: refgraph: flaky runs the test protocol" in result.stdout,
                 result.stdout[-3000:])
    result = run(pytest + ["--refgraph-leaks", "same_names"], cwd=project, env=env)
    snapshots = {line.split("snapshot: ")[1] for line in result.stdout.splitlines()
                 if "snapshot: " in line}
    checks.check("plugin: tests of one name in two files get a snapshot each",
                 "2 failed" in result.stdout and len(snapshots) == 2
                 and all(os.path.exists(s) for s in snapshots), result.stdout[-3000:])
    # Every run above wrote its snapshots to a run directory of its own: the last 3 are kept.
    runs = sorted(n for n in os.listdir(base) if n.startswith("run-")
                  and os.path.join(base, n) != running)
    checks.check("plugin: only the last 3 runs' snapshot directories are kept",
                 1 <= len(runs) <= 3 and all(os.path.isfile(os.path.join(base, n, ".refgraph-leaks-run"))
                                             for n in runs)
                 and all(os.path.dirname(s) in [os.path.join(base, n) for n in runs]
                         for s in snapshots), "%s\n%s" % (runs, sorted(snapshots)))
    checks.check("plugin: an old run directory is kept while its session runs, removed after",
                 os.path.isdir(running) and not os.path.exists(ended),
                 "running %s: %s, ended %s: %s" % (running, os.path.exists(running),
                                                   ended, os.path.exists(ended)))
    shutil.rmtree(running, ignore_errors=True)
    blocker = os.path.join(work, "not-a-directory")
    open(blocker, "w").close()
    result = run(pytest + ["--refgraph-leaks", "--refgraph-leaks-dir", blocker,
                           "test_sample.py"], cwd=project, env=env)
    checks.check("plugin: a snapshot that cannot be written still fails each leaking test "
                 "(no INTERNALERROR)", result.returncode == 1 and "6 failed, 4 passed"
                 in result.stdout and "snapshot: not written" in result.stdout,
                 result.stdout[-3000:])
    result = run(pytest + ["--refgraph-leaks", "--refgraph-leaks-ignore", "Session",
                           "test_sample.py::test_leaks_through_a_module_level_list"],
                 cwd=project, env=env)
    checks.check("plugin: --refgraph-leaks-ignore TYPE", result.returncode == 0, result.stdout)
    result = run(pytest + ["-p", "no:refgraph", "--help"], cwd=project, env=env)
    checks.check("plugin: -p no:refgraph disables it", result.returncode == 0 and
                 "--refgraph-leaks" not in result.stdout, result.stdout[-2000:])
    forked_check(checks, vpy, pytest, project, env)     # last: it may change pytest's version


def subtests_check(checks, pytest, project, env):
    """The subtests sample, with and without xdist: the leak fails its test, and pytest counts
    as many subtests as without the check."""
    plain = run(pytest + ["subtests"], cwd=project, env=env)
    counted = re.findall(r"(\d+) subtests passed", plain.stdout)[-1:]
    for xdist in ([], ["-n", "2"]):
        result = run(pytest + ["--refgraph-leaks"] + xdist + ["subtests"], cwd=project, env=env)
        checks.check("plugin: subtests are counted once, and a leak in one fails its test%s"
                     % (" (-n 2)" if xdist else ""),
                     result.returncode == 1 and "1 failed," in result.stdout
                     and re.findall(r"(\d+) subtests passed", result.stdout)[-1:] == counted
                     and "test_leak_in_a_subtest_fails leaked 1 test_subtests.LeakedFromASubtest"
                     in result.stdout, "%s\n%s" % (counted, result.stdout[-3000:]))


def forked_check(checks, vpy, pytest, project, env):
    """The forked sample: a test pytest-forked runs in a child process is checked there.
    pytest-forked cannot send a report back from pytest 9.2 on (marshal refuses the report's
    NodeId): there pytest is taken back to 8.x first."""
    control = run(pytest + ["-p", "no:refgraph", "forked"], cwd=project, env=env)
    if "2 passed" not in control.stdout:
        run([vpy, "-m", "pip", "install", "-q", "pytest<9"])
        control = run(pytest + ["-p", "no:refgraph", "forked"], cwd=project, env=env)
    if "2 passed" not in control.stdout:
        print("  skip plugin: pytest-forked fails without the plugin here: %s"
              % (control.stdout.strip().splitlines() or ["no output"])[-1], flush=True)
        return
    result = run(pytest + ["--refgraph-leaks", "forked"], cwd=project, env=env)
    checks.check("plugin: a test pytest-forked runs in a child process is checked there",
                 result.returncode == 1 and "1 failed, 1 passed" in result.stdout
                 and "test_leak_in_a_forked_child_fails leaked 1 test_forked.LeakedInAFork"
                 in result.stdout, result.stdout[-3000:])


def plant_run_dir(base, pid):
    """A run directory as the plugin makes them, of the session with `pid`, older than any
    other (its mark dated 1 January 2000)."""
    os.makedirs(base, mode=0o700, exist_ok=True)
    path = os.path.join(base, "run-946684800-%d" % pid)
    os.makedirs(path, exist_ok=True)
    mark = os.path.join(path, ".refgraph-leaks-run")
    open(mark, "a").close()
    os.utime(mark, (946684800, 946684800))
    return path


def ended_pid():
    """The pid of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def expect_object(checks, refgraph, snap, type_name, name):
    result = run([refgraph, "find", snap, type_name, "--json"])
    total = -1
    if result.returncode == 0:
        total = json.loads(result.stdout)["data"]["total"]
    checks.check(name, total == 1, result.stdout + result.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel-dir", help="use the wheel already built in DIR")
    args = parser.parse_args()
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="refgraph-wheel-") as tmp:
        wheel_dir = args.wheel_dir or os.path.join(tmp, "dist")
        if not args.wheel_dir:
            print("wheel_check: building the wheel (pip wheel .)", flush=True)
            wheel = build_wheel(wheel_dir)
        else:
            wheel = glob.glob(os.path.join(wheel_dir, "refgraph-*.whl"))[0]
        print("wheel_check: %s, %.1f MB" % (os.path.basename(wheel),
                                              os.path.getsize(wheel) / 1e6), flush=True)
        found, missing = interpreters()
        for minor in missing:
            print("wheel_check: SKIPPED CPython %s: not found on this machine" % minor,
                  flush=True)
        for n, (label, python) in enumerate(found):
            work = os.path.join(tmp, "py%d" % n)
            os.makedirs(work)
            try_interpreter(checks, label, python, wheel_dir, work)
    print("%d passed, %d failed" % (checks.passed, len(checks.failed)))
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
