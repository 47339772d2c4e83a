# A leak in __main__'s globals: its holder is `module __main__ → .__dict__['SEEN']`, not the
# running <module> frame that sees the same dict through .f_globals; its retained size is
# what it keeps alive, computed here.
import sys

from versions_common import dumper, record, retained_size


class Payload:
    __slots__ = ("data", "parts")

    def __init__(self, i):
        self.data = bytearray(100 + i)
        self.parts = [bytearray(8)]


SEEN = [Payload(i) for i in range(50)]
ITEM = SEEN[7]
record(["SEEN", "ITEM"], classes=(Payload,),
       retained={"SEEN": retained_size(SEEN, stop=(Payload,))})
dumper().dump(sys.argv[2])
