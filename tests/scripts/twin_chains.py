# Five different tuples hold one object through a set, so their chains read the same; a
# function is reachable from the object through its own data, and (shorter) through its class.
def handler():
    pass


class Item:
    def method(self):
        pass


shared = Item()
holders = {(shared, i) for i in range(5)}
shared.callbacks = {"on_event": [handler]}
