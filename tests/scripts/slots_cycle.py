# A __slots__ parent/child pair that refer to each other, held by a global.
class Parent:
    __slots__ = ("child", "name")


class Child:
    __slots__ = ("parent",)


family = Parent()
family.name = "root"
family.child = Child()
family.child.parent = family
