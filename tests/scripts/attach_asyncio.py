"""attach target: an asyncio loop (the main thread parks in epoll_wait, which Linux does not
restart after a ptrace stop: it returns EINTR, which Python retries). argv: DIR."""
import asyncio
import sys

import attach_common as c


class AttachMarker:
    pass


held = [AttachMarker() for _ in range(5)]
d = sys.argv[1]


async def main():
    c.ready(d)
    while not c.should_stop(d):
        c.beat(d)
        await asyncio.sleep(0.05)


asyncio.run(main())
c.finish(d, 3)
