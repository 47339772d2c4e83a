# A module-level cache dict that never evicts: appcache._sessions['user:42'] holds a Session.
import sys
import types

appcache = types.ModuleType("appcache")
sys.modules["appcache"] = appcache


class Session:
    def __init__(self, user):
        self.user = user
        self.data = bytearray(1000)


appcache._sessions = {}
for user in range(100):
    appcache._sessions["user:%d" % user] = Session(user)
del user
