# unicodedata's UCD (never readied on 3.8/3.9) and _testcapi's test types (up to 3.11):
# reading __bases__ of such a type crashed the process. The dump must succeed and record them.
import sys
import unicodedata

from versions_common import dumper, record

try:
    import _testcapi
    TESTCAPI = _testcapi
except ImportError:        # a build without the test modules
    TESTCAPI = None

UCD = unicodedata.ucd_3_2_0
HOLDER = [UCD, type(UCD), unicodedata]
record(["HOLDER"])
dumper().dump(sys.argv[2])
