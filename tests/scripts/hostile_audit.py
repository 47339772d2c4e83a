# An audit hook (sys.addaudithook) refuses the heap walk a dump needs: the program runs and
# exits as it would (code 3), and the failure names the hook, not a crash.
import sys


def refuse_heap_walks(event, args):
    if event == "gc.get_objects":
        raise PermissionError("no heap walks here")


sys.addaudithook(refuse_heap_walks)
print("audited")
sys.exit(3)
