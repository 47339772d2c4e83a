# Five different tuples hold one object through a set, so their chains read the same; a
# function is reachable from the object through its own data, and (shorter) through its class.
def handler():
    pass


class Item:
    def method(self):
        pass


shared = Item()
holders = {(shared, i) for i in range(5)}
# (one level deeper than the class path also when no __dict__ object is in between: the
# native dumper on 3.11+ names inline attributes without making one)
shared.callbacks = {"on_event": [[handler]]}
