# A closure in a handler list keeps its captured Payload alive through a cell.
class Payload:
    pass


handlers = []


def register():
    payload = Payload()

    def on_event():
        return payload

    handlers.append(on_event)


register()
