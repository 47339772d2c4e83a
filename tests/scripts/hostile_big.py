# A 5 MB str and a 5 MB bytes: their labels are cut to 80 characters, the file stays small.
import sys

from hostile_common import arm, dump_if_asked

big_str = "S" * (5 * 1024 * 1024)
big_bytes = b"B" * (5 * 1024 * 1024)
big_unicode = "\u00e9\U0001f600" * (1024 * 1024)   # non-ASCII: cut on a character boundary
arm()
dump_if_asked()
print("big values ready: %d %d %d" % (len(big_str), len(big_bytes), len(big_unicode)))
