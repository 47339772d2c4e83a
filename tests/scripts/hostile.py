# Objects whose hooks record every call or raise: the dumper must call none of them.
import sys
import unittest.mock

CALLS = []


class Meta(type):
    def __getattribute__(cls, name):
        CALLS.append(("meta", name))
        raise RuntimeError("metaclass hook called")


class Hostile(metaclass=Meta):
    def __init__(self):
        object.__setattr__(self, "inner", [1, 2, 3])

    def __repr__(self):
        CALLS.append("repr")
        raise RuntimeError("repr called")

    def __str__(self):
        CALLS.append("str")
        raise RuntimeError("str called")

    def __getattr__(self, name):
        CALLS.append(("getattr", name))
        raise RuntimeError("getattr called")

    def __eq__(self, other):
        CALLS.append("eq")
        raise RuntimeError("eq called")

    def __hash__(self):
        CALLS.append("hash")
        raise RuntimeError("hash called")

    def __len__(self):
        CALLS.append("len")
        raise RuntimeError("len called")

    def __sizeof__(self):
        CALLS.append("sizeof")
        raise RuntimeError("sizeof called")

    def __dir__(self):
        CALLS.append("dir")
        raise RuntimeError("dir called")

    @property
    def prop(self):
        CALLS.append("property")
        raise RuntimeError("property called")


hostile = Hostile()
mock = unittest.mock.MagicMock()
keep = [hostile, mock]


def check():
    # Runs after the exit dump through atexit: the dump happened before atexit handlers.
    if CALLS or mock.mock_calls:
        sys.stderr.write("USER CODE WAS CALLED: %r %r\n" % (CALLS, mock.mock_calls))
        sys.stderr.flush()
        import os

        os._exit(99)
    print("hostile ok")


import atexit  # noqa: E402

atexit.register(check)
sys.exit(7)
