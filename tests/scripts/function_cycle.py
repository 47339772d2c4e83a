# A function that refers to itself through its own attribute dict: a cycle of a function and
# a dict, which the picture labels with the function's name.
def on_message():
    pass


on_message.handlers = {"self": on_message}
