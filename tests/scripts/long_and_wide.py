# A 30,000-long chain and a 5,000-item list (issue 11.13): pictures of them must be drawn,
# by the builtin renderer too, without recursion and in seconds.


class Node:
    __slots__ = ("next",)

    def __init__(self, next_node):
        self.next = next_node


class Head(Node):
    __slots__ = ()


class Star(list):
    pass


head = None
for i in range(29_999):
    head = Node(head)
head = Head(head)
star = Star(object() for _ in range(5_000))
