# asyncio futures (the _asyncio module's free list): on 3.12.0-3.12.4 gc.get_referents on that
# module frees objects twice and the program hangs at its next collection (gh-122695).
import asyncio
import gc
import sys

from versions_common import dumper, record


async def main():
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(20)]
    for i, f in enumerate(futures):
        f.set_result(i)
    for f in futures:
        await f
    return futures


FUTURES = asyncio.run(main())
record(["FUTURES"])
dumper().dump(sys.argv[2])
gc.collect()               # where a double free hangs
print("collected")
