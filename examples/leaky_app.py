"""refgraph's bundled example: the seed article's three programs, plus a cache leak.

1. local_list():  a big list in a local variable is freed when the function returns.
2. global_list(): the same list bound to the module global `a` stays alive.
3. list_cycle():  two lists that refer to each other are never freed by reference
                  counting; only the cycle collector can reclaim them.
4. handle_request(): sessions are cached in a module-level dict and never evicted.

Run it under refgraph:  refgraph capture -o leaky.rgsnap -- python3 leaky_app.py
"""

import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def local_list():
    a = [i for i in range(N)]
    return len(a)


a = None


def global_list():
    global a
    a = [i for i in range(N)]


class Session:
    def __init__(self, user):
        self.user = user
        self.payload = bytearray(10_000)


_sessions = {}


def handle_request(user):
    session = Session(user)
    _sessions["user:%d" % user] = session
    return len(session.payload)


def list_cycle():
    a = [i for i in range(N)]
    b = [i for i in range(N)]
    a.append(b)
    b.append(a)


def main():
    local_list()
    global_list()
    for user in range(50):
        handle_request(user)
    list_cycle()


if __name__ == "__main__":
    main()
