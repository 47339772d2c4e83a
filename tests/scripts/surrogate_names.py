"""Names no UTF-8 can hold (lone surrogates) wherever a snapshot writes a name as text: a
class's qualname and module, an attribute name, a dict key, a module's name, a code file name
(an allocation site, with --trace-alloc), a thread's name."""
import sys
import threading
import types

C = type("C", (), {})
C.__qualname__ = "lone\udc80surr"
C.__module__ = "mod\udc81x"
KEEP = [C(), C()]
for k in KEEP:
    setattr(k, "attr\udc82y", "val\udc83z")
M = types.ModuleType("m\udc84")
sys.modules["m\udc84"] = M
D = {"key\udc85": 1}
NS = {}
exec(compile("def mk():\n    return [bytearray(10) for _ in range(5)]\n", "f\udc86.py", "exec"), NS)
MADE = NS["mk"]()
DONE = threading.Event()
threading.Thread(target=DONE.wait, name="th\udc87", daemon=True).start()
