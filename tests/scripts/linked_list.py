# A 200,000-long linked list held by a global: chains and traversals must not recurse.
# Writes the id of the deepest node (the tail) to the file named by argv[1].
import sys


class Node:
    __slots__ = ("next", "value")

    def __init__(self, value, next_node):
        self.value = value
        self.next = next_node


head = None
for i in range(200_000):
    head = Node(i, head)
node = head
while node.next is not None:
    node = node.next
with open(sys.argv[1], "w") as f:
    f.write(str(id(node)))
del node, i, f
