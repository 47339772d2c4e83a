# A class attribute list accumulates instances forever.
class Registry:
    instances = []


class Item:
    def __init__(self):
        Registry.instances.append(self)


for _ in range(10):
    Item()
