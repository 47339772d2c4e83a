# Parallel references (issue 11.12): a list holding itself N times, and one holding another
# object N times. Every listing and picture must show each pair of objects once, `×N`.
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000


class Hoard(list):
    pass


class Item:
    pass


hoard = Hoard()
hoard.extend([hoard] * n)
item = Item()
item.owner = hoard
hoard.extend([item] * n)
