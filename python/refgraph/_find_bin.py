"""Where pip put the `refgraph` command that came with this package."""

import os
import sys
import sysconfig

_NAME = "refgraph" + (".exe" if sys.platform == "win32" else "")


def find_bin():
    """The path of the `refgraph` binary installed with this package.

    Looks where pip puts scripts for each install layout, in this order: the environment's
    scripts directory, the user scheme's (`pip install --user`), then the directories that
    `pip install --target DIR` and `--prefix DIR` use (a `bin` beside or above the package),
    and last the PATH. Raises FileNotFoundError when none has it.
    """
    for directory in _candidate_dirs():
        path = os.path.join(directory, _NAME)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(
        "the refgraph binary was not found next to the refgraph package "
        "(looked in: %s); reinstall with pip install refgraph" % ", ".join(_candidate_dirs()))


def _candidate_dirs():
    seen = []

    def add(directory):
        if directory and directory not in seen:
            seen.append(directory)

    add(sysconfig.get_path("scripts"))
    user_scheme = "nt_user" if os.name == "nt" else (
        "osx_framework_user" if sys.platform == "darwin" and sys._framework else "posix_user")
    try:
        add(sysconfig.get_path("scripts", scheme=user_scheme))
    except KeyError:
        pass
    # --target DIR: DIR/refgraph/ and DIR/bin/; --prefix DIR: DIR/lib/pythonX.Y/site-packages/
    # refgraph/ and DIR/bin/.
    package_dir = os.path.dirname(os.path.abspath(__file__))
    parent = os.path.dirname(package_dir)
    for _ in range(4):
        add(os.path.join(parent, "bin"))
        add(os.path.join(parent, "Scripts"))
        parent = os.path.dirname(parent)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        add(directory)
    return seen
