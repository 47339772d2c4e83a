# Dumps that cannot be written. argv: DUMPER_DIR DIR [capture]
#   with DUMPER_DIR: through the API, to DIR/file.txt/snap.rgsnap (a path under a regular
#   file), DIR/missing/snap.rgsnap, and DIR/too_big.rgsnap with a file size limit that stops
#   the write half-way (as a full disk would); each must raise one DumpError naming its path.
#   With DUMPER_DIR "-": only set the file size limit and exit 5 (under refgraph capture, the
#   exit dump then fails).
import os
import resource
import signal
import sys

from hostile_common import arm

LIMIT = 64 * 1024      # far less than any snapshot


def limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # a failed write returns EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def unlimit_file_size():
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))


def try_dump(refgraph_dump, path):
    try:
        refgraph_dump.dump(path)
    except refgraph_dump.DumpError as e:
        named = path in str(e)
        print("DumpError naming the path: %s; one line: %s" % (named, "\n" not in str(e)))
        sys.stderr.write("%s\n" % e)
    except BaseException as e:   # noqa: BLE001 - anything else is the failure
        print("WRONG EXCEPTION %s: %s" % (type(e).__name__, e))
    else:
        print("NO EXCEPTION")


with open(os.path.join(sys.argv[2], "file.txt"), "w") as f:
    f.write("a regular file, where a directory is expected\n")
arm()
if sys.argv[1] == "-":
    limit_file_size()
    print("file size limited")
    sys.exit(5)
sys.path.insert(0, sys.argv[1])
import refgraph_dump  # noqa: E402

try_dump(refgraph_dump, os.path.join(sys.argv[2], "file.txt", "snap.rgsnap"))
try_dump(refgraph_dump, os.path.join(sys.argv[2], "missing", "snap.rgsnap"))
limit_file_size()
try_dump(refgraph_dump, os.path.join(sys.argv[2], "too_big.rgsnap"))
try_dump(refgraph_dump, os.path.join(sys.argv[2], "too_big.rgsnap.gz"))
unlimit_file_size()
print("still running")
