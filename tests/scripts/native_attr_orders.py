"""Instances whose attributes the native dumper reads without a __dict__ (3.11-3.13), in every
case around it, for the native/Python equivalence test (tests/native.rs): attributes set in
different orders per instance, deleted and re-set attributes, more than 30 attributes, a class
some of whose instances got a __dict__ from the program, subclass instances, replaced
__dict__s, a value that is the class itself, one object under two attribute names."""


class Plain:
    def __init__(self, i):
        names = ("a", "b", "c", "d") if i % 4 else ("d", "c", "a", "b")
        for name in names[:1 + i % 4]:
            setattr(self, name, [i, name])
        if i % 7 == 3 and hasattr(self, "a"):
            del self.a
        if i % 11 == 5 and hasattr(self, "b"):
            del self.b
            self.b = [i, "again"]
        if i % 13 == 0:
            self.same = self.twice = [i]
        if i % 17 == 0:
            self.cls = Plain


class Sub(Plain):
    def __init__(self, i):
        self.z = [i, "z"]
        Plain.__init__(self, i)


class Big:
    def __init__(self, i):
        for j in range(35):
            setattr(self, "f%d" % j, [i, j])


KEEP = [Plain(i) for i in range(400)] + [Sub(i) for i in range(200)]
KEEP += [Big(i) for i in range(20)]
VIEWS = [vars(o) for o in KEEP[::5]]
for o in KEEP[1::9]:
    o.__dict__ = {"s": [1], "r": o}
