# A bound method in a callback registry keeps its instance (__self__) alive.
class Widget:
    def on_click(self):
        pass


callbacks = {}


def subscribe():
    w = Widget()
    callbacks["click"] = w.on_click


subscribe()
