# A BytesIO's size: sys.getsizeof before 3.12; on 3.12+ the object alone, its buffer (a bytes
# object it refers to) counted once, in the retained size.
import gc
import io
import sys

from versions_common import dumper, record

BUFFER = io.BytesIO(b"x" * 100000)
BUFFER.write(b"more")                 # the buffer is the BytesIO's own (not shared)
vars(BUFFER)                          # its __dict__, which the dumper would make by reading it
refs = [r for r in gc.get_referents(BUFFER) if not isinstance(r, type)]
alone = object.__sizeof__(BUFFER) + sys.getsizeof([]) - [].__sizeof__()
buffered = any(type(r) is bytes for r in refs)
size = alone if buffered else sys.getsizeof(BUFFER)
retained = size + sum(sys.getsizeof(r) for r in refs)
refs = None
record(["BUFFER"], retained={"BUFFER": retained}, extra={"size": size})
dumper().dump(sys.argv[2])
