"""`python -m refgraph ARGS`: run the refgraph command installed with this package."""

import os
import subprocess
import sys

from ._find_bin import find_bin


def main():
    try:
        binary = find_bin()
    except FileNotFoundError as e:
        sys.stderr.write("refgraph: %s\n" % e)
        return 2
    argv = [binary] + sys.argv[1:]
    if sys.platform == "win32":
        return subprocess.call(argv)
    os.execv(binary, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
