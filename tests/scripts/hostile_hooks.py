# Objects whose every hook records its call and raises: the dumper must call none of them.
# Exits 7 with "hostile hooks ready" on stdout; the atexit check adds "no user code ran".
import sys
import types

from hostile_common import arm, dump_if_asked, hook


class Meta(type):
    """A metaclass whose instance-level hooks fire on any attribute read of its classes."""

    def __getattribute__(cls, name):
        return hook(("Meta.__getattribute__", name), type.__getattribute__(cls, name))

    def __getattr__(cls, name):
        return hook(("Meta.__getattr__", name))

    def __repr__(cls):
        return hook("Meta.__repr__", "Meta")

    def __eq__(cls, other):
        return hook("Meta.__eq__", cls is other)

    def __hash__(cls):
        return hook("Meta.__hash__", id(cls))

    def __instancecheck__(cls, obj):
        return hook("Meta.__instancecheck__", False)

    def __subclasscheck__(cls, sub):
        return hook("Meta.__subclasscheck__", False)

    def __dir__(cls):
        return hook("Meta.__dir__", [])

    def __len__(cls):
        return hook("Meta.__len__", 0)

    def __iter__(cls):
        return hook("Meta.__iter__", iter(()))

    @property
    def __module__(cls):
        return hook("Meta.__module__ property", "__main__")


class Hostile(metaclass=Meta):
    """Every hook the dumper could be tempted to use records and raises."""

    def __init__(self, n):
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "payload", [n, "payload"])

    def __repr__(self):
        return hook("__repr__", "Hostile")

    def __str__(self):
        return hook("__str__", "Hostile")

    def __format__(self, spec):
        return hook("__format__", "Hostile")

    def __getattr__(self, name):
        return hook(("__getattr__", name))

    def __getattribute__(self, name):
        return hook(("__getattribute__", name), object.__getattribute__(self, name))

    def __setattr__(self, name, value):
        hook(("__setattr__", name))

    def __eq__(self, other):
        return hook("__eq__", self is other)

    def __ne__(self, other):
        return hook("__ne__", self is not other)

    def __lt__(self, other):
        return hook("__lt__", False)

    def __hash__(self):
        # the program itself hashes these (dict keys, sets) before arm()
        return hook("__hash__", object.__hash__(self))

    def __len__(self):
        return hook("__len__", 1)

    def __bool__(self):
        return hook("__bool__", True)

    def __iter__(self):
        return hook("__iter__", iter(()))

    def __contains__(self, item):
        return hook("__contains__", False)

    def __getitem__(self, key):
        return hook(("__getitem__", key))

    def __index__(self):
        return hook("__index__", 0)

    def __int__(self):
        return hook("__int__", 0)

    def __sizeof__(self):
        return hook("__sizeof__", 16)

    def __dir__(self):
        return hook("__dir__", [])

    def __reduce_ex__(self, protocol):
        return hook("__reduce_ex__", (Hostile, (0,)))

    def __copy__(self):
        return hook("__copy__", self)

    def __del__(self):
        pass   # not a hook the dumper could call: these objects are all alive at the dump

    @property
    def __class__(self):
        return hook("__class__ property", Hostile)

    @property
    def __dict__(self):
        return hook("__dict__ property", {})

    @property
    def prop(self):
        return hook("property", None)


class Slotted:
    """The hooks again on a class with __slots__ (read through member descriptors)."""

    __slots__ = ("a", "b")

    def __init__(self):
        object.__setattr__(self, "a", Hostile(1))
        object.__setattr__(self, "b", "slot b")

    def __getattribute__(self, name):
        return hook(("Slotted.__getattribute__", name), object.__getattribute__(self, name))

    def __repr__(self):
        return hook("Slotted.__repr__", "Slotted")

    def __sizeof__(self):
        return hook("Slotted.__sizeof__", 0)

    def __eq__(self, other):
        return hook("Slotted.__eq__", self is other)

    def __hash__(self):
        return hook("Slotted.__hash__", 0)


class Descriptor:
    """A data descriptor on a class: reading the attribute runs __get__."""

    def __get__(self, obj, owner=None):
        return hook("Descriptor.__get__", self)

    def __set__(self, obj, value):
        hook("Descriptor.__set__")


class WithDescriptor:
    field = Descriptor()

    def __init__(self):
        self.__dict__["field"] = "shadowed by the data descriptor"


class HostileModule(types.ModuleType):
    """A module object (as lazy importers put in sys.modules) with hostile hooks."""

    def __getattribute__(self, name):
        return hook(("HostileModule.__getattribute__", name),
                    types.ModuleType.__getattribute__(self, name))

    def __getattr__(self, name):
        return hook(("HostileModule.__getattr__", name))

    def __repr__(self):
        return hook("HostileModule.__repr__", "<module>")


def module_getattr(name):
    return hook(("module __getattr__ (PEP 562)", name))


plain_module = types.ModuleType("hostile_pep562")
plain_module.__getattr__ = module_getattr
plain_module.value = Hostile(2)
sys.modules["hostile_pep562"] = plain_module
sys.modules["hostile_lazy"] = HostileModule("hostile_lazy")
sys.modules["hostile_not_a_module"] = Hostile(3)

keep = {
    "hostile": Hostile(4),
    "slotted": Slotted(),
    "descriptor": WithDescriptor(),
    "as_key": {Hostile(5): "value", "k": Hostile(6)},
    "in_set": {Hostile(7)},
    "in_frozenset": frozenset([Hostile(8)]),
    "in_tuple": (Hostile(9), Hostile),
    "class": Hostile,
    "metaclass": Meta,
    "bound": Hostile(10).__init__,
    "lambda": lambda h=Hostile(11): h,
}
Hostile.class_attribute = Hostile(12)


def running_frame_with_hostile_locals():
    local_hostile = Hostile(13)
    arm()
    dump_if_asked()
    return local_hostile


running_frame_with_hostile_locals()
print("hostile hooks ready")
sys.exit(7)
