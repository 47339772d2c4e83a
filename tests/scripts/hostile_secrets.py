# Secrets planted in every kind of place a str or bytes value can sit. Under
# `refgraph capture --no-values` (or dump(values=False)) none of them may reach the snapshot.
# argv[1] is a secret too (as a --token=... argument would be); the environment variable
# HOSTILE_SECRET holds another.
import sys
import threading

from hostile_common import arm, dump_if_asked

PART = "s3cr3t"          # every secret contains it; the test greps for it in the snapshot


class Vault:
    __slots__ = ("combination", "__dict__")


def closure():
    captured = "closure-" + PART + "-cell"
    return lambda: captured


def running(secret_local):
    frame_local = "local-" + PART + "-value"
    arm()
    dump_if_asked(values=False)
    return secret_local, frame_local


vault = Vault()
vault.combination = "slot-" + PART + "-value"
setattr(vault, "attribute name with " + PART, 1)
keep = {
    "str": "str-" + PART + "-value",
    "long_str": ("long-" + PART) * 100,
    "bytes": b"bytes-" + PART.encode() + b"-value",
    "bytearray": bytearray(b"bytearray-" + PART.encode()),
    "dict": {"password": "dict-" + PART + "-value", "key " + PART + " (not an identifier)": 1},
    "bytes_key": {b"bytes-key-" + PART.encode(): 2},
    # API tokens are identifiers: a cache keyed by them must not show its keys
    "sessions": {"ghp_" + PART + "R4nd0mT0kenAbCdEf0123": 3, "sk_live_51" + PART + "Key00": 4},
    "str_subclass": type("Secret", (str,), {})("subclass-" + PART + "-value"),
    "tuple": ("tuple-" + PART,),
    "set": {"set-" + PART},
    "exception": ValueError("exception-" + PART + "-message"),
    "closure": closure(),
    "vault": vault,
    "unicode": "unicod\u00e9-" + PART + "-\U0001f511",
    "surrogate": "surrogate-" + PART + "-\udc80",
}
thread = threading.Thread(target=lambda: None, name="worker")
release = threading.Event()
named = threading.Thread(target=release.wait, name="job-" + PART + "-runner", daemon=True)
named.start()    # a daemon still waiting when either dump is written: a thread line names it
running("argument-" + PART + "-value")
print("secrets planted: %d" % len(keep))
