# unittest.mock objects and weakref proxies: any attribute read, call or comparison the dumper
# made would show in mock_calls, create a child mock, or reach the proxied object's hooks.
import gc
import sys
import unittest.mock
import weakref

from hostile_common import CHECKS, arm, dump_if_asked, hook


class Target:
    """Proxied through weakref.proxy: a proxy forwards every attribute read and operator here."""

    def __init__(self, name):
        self.name = name

    def __getattribute__(self, name):
        return hook(("Target.__getattribute__", name), object.__getattribute__(self, name))

    def __repr__(self):
        return hook("Target.__repr__", "Target")

    def __eq__(self, other):
        return hook("Target.__eq__", self is other)

    def __hash__(self):
        return hook("Target.__hash__", 0)

    def __len__(self):
        return hook("Target.__len__", 0)


class CallableTarget(Target):
    """A proxy to a callable object is a different type (weakref.CallableProxyType)."""

    def __call__(self):
        return hook("CallableTarget.__call__")


mocks = {
    "Mock": unittest.mock.Mock(),
    "MagicMock": unittest.mock.MagicMock(),
    "NonCallableMagicMock": unittest.mock.NonCallableMagicMock(),
    "AsyncMock": unittest.mock.AsyncMock(),
    "spec": unittest.mock.MagicMock(spec=Target),
    "sentinel": unittest.mock.sentinel.hostile,
}
mocks["parent"] = unittest.mock.MagicMock()
mocks["parent"].configured.return_value = 1   # a child the program made itself
mocks["in_a_list"] = [unittest.mock.MagicMock(), unittest.mock.Mock()]


def children(m):
    return dict(object.__getattribute__(m, "__dict__")["_mock_children"])


def all_mocks():
    found = [m for m in mocks.values() if isinstance(m, unittest.mock.NonCallableMock)]
    return found + mocks["in_a_list"]


CHILDREN = {}


def mocks_untouched():
    problems = []
    for m in all_mocks():
        d = object.__getattribute__(m, "__dict__")
        if d["_mock_mock_calls"] or d["_mock_call_count"] or d["method_calls"]:
            problems.append(("mock called", d["_mock_name"], list(d["_mock_mock_calls"])))
        if children(m).keys() != CHILDREN[id(m)]:
            problems.append(("mock attribute read", sorted(children(m).keys() - CHILDREN[id(m)])))
    return problems


CHECKS.append(mocks_untouched)

live = Target("live")
live_callable = CallableTarget("callable")
dead = Target("dead")
proxies = {
    "live": weakref.proxy(live),
    "callable": weakref.proxy(live_callable),
    "dead": weakref.proxy(dead),
    "ref": weakref.ref(live),
    "dead_ref": weakref.ref(dead),
    "values": weakref.WeakValueDictionary({"k": live}),
    "set": weakref.WeakSet([live]),
}
del dead
gc.collect()
assert proxies["dead_ref"]() is None

for m in all_mocks():
    CHILDREN[id(m)] = children(m).keys()
arm()
dump_if_asked()
print("mocks and proxies ready")
