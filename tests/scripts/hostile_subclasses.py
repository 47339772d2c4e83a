# Subclasses of str, bytes, int, float, dict, list, tuple and set whose methods record and
# raise: the dumper reads them through the builtin base's C methods only, and labels them by
# their real contents.
import collections
import enum
import sys

from hostile_common import arm, dump_if_asked, hook

CONTAINER_HOOKS = ("__len__", "__iter__", "__getitem__", "__contains__", "__repr__", "__str__",
                   "__eq__", "__ne__", "__hash__", "__sizeof__", "__reversed__", "__bool__",
                   "__getattribute__", "__format__")
MAPPING_HOOKS = ("keys", "values", "items", "get", "__missing__", "copy", "setdefault", "pop")
STR_HOOKS = ("__add__", "__mod__", "encode", "isidentifier", "isascii", "isprintable",
             "startswith", "join", "replace", "__lt__", "split", "lower", "upper", "strip",
             "count", "find", "index", "format", "__rmod__", "__mul__")


def hooked(base, names):
    """A subclass of `base` whose `names` methods record and raise once armed."""
    def make(name):
        original = getattr(base, name, None)

        def method(self, *args, **kwargs):
            if original is None:
                return hook((base.__name__, name))
            return hook((base.__name__, name), original(self, *args, **kwargs))
        return method
    namespace = {name: make(name) for name in names}
    return type("Hooked" + base.__name__.capitalize(), (base,), namespace)


HStr = hooked(str, CONTAINER_HOOKS + STR_HOOKS)
HBytes = hooked(bytes, CONTAINER_HOOKS + ("decode", "hex"))
HInt = hooked(int, CONTAINER_HOOKS[3:] + ("bit_length", "__index__", "__int__", "__abs__"))
HFloat = hooked(float, ("__repr__", "__str__", "__eq__", "__hash__", "__float__"))
HDict = hooked(dict, CONTAINER_HOOKS + MAPPING_HOOKS)
HList = hooked(list, CONTAINER_HOOKS + ("index", "count", "copy"))
HTuple = hooked(tuple, CONTAINER_HOOKS + ("index", "count"))
HSet = hooked(set, CONTAINER_HOOKS + ("copy", "isdisjoint"))
HOrderedDict = hooked(collections.OrderedDict, CONTAINER_HOOKS + MAPPING_HOOKS)


class Point(collections.namedtuple("Point", "x y")):
    """A namedtuple: a tuple subclass whose fields are properties."""

    def __repr__(self):
        return hook("Point.__repr__", "Point")


class Color(enum.Enum):
    """Enum classes have a metaclass with __len__, __iter__, __getattr__, __contains__."""

    RED = 1
    GREEN = HStr("green")


key = HStr("a str subclass key")
secret_key = HStr("not an identifier!")
values = {
    "str": HStr("a str subclass with every method hooked"),
    "long_str": HStr("L" * 500),
    "bytes": HBytes(b"a bytes subclass"),
    "int": HInt(12345),
    "big_int": HInt(7 ** 400),
    "float": HFloat(2.5),
    "dict": HDict({key: HList([1, 2, 3]), secret_key: HTuple((1,)), HInt(3): "three"}),
    "list": HList([HStr("item"), HInt(1), HTuple((HStr("x"),))]),
    "tuple": HTuple((1, 2, HStr("in a tuple"))),
    "set": HSet({1, 2}),
    "ordered": HOrderedDict(a=1, b=HStr("b")),
    "namedtuple": Point(HInt(1), HStr("y")),
    "enum": Color,
    "enum_member": Color.GREEN,
}
namespace = type("Namespace", (), {})()
namespace.__dict__[HStr("attr_key")] = "an attribute named by a str subclass"
values["namespace"] = namespace

arm()
dump_if_asked()
print("subclasses ready")
sys.stdout.flush()
