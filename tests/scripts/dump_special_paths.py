"""dump() to paths that are not regular files. argv: DUMPER_DIR DIR
DIR holds `null` (a character device), `fifo` (a FIFO) and `link.rgsnap` (a symlink to
real.rgsnap). A device and a FIFO are written in place, never replaced by a file; a symlink is
kept and its target replaced. Prints what each path is afterwards."""
import os
import stat
import sys
import threading

sys.path.insert(0, sys.argv[1])
import refgraph_dump  # noqa: E402

d = sys.argv[2]
through = []


def read_fifo():
    with open(os.path.join(d, "fifo"), "rb") as f:
        through.append(len(f.read()))


reader = threading.Thread(target=read_fifo)
reader.start()
for name in ("null", "fifo", "link.rgsnap"):
    path = os.path.join(d, name)
    refgraph_dump.dump(path)
    print(name, stat.filemode(os.lstat(path).st_mode)[0])
reader.join()
print("through the fifo", through[0] > 1000)
with open(os.path.join(d, "real.rgsnap")) as f:
    print("target", f.readline().startswith('{"kind":"header"'))
