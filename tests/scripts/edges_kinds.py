"""Each kind of reference refgraph names (docs/FORMAT.md, edge labels), one object per kind:
an instance of class ViaKIND that only that reference holds. tests/edges.rs asks `refgraph chain`
for each and checks the chain names the reference. Run under `refgraph capture` (dump at exit)."""

import asyncio
import collections
import functools
import itertools
import sys
import weakref


def kind(name):
    return type(name, (), {"method": lambda self, *args: None})


# traceback .tb_next / .tb_frame, then the frame's local
def _inner_raises():
    held_by_tb = kind("ViaTraceback")()
    raise ValueError(held_by_tb is not None)


def _outer_catches():
    try:
        _inner_raises()
    except ValueError as e:
        return e


ERROR = _outer_catches()


# a frame's cell variable and free variable
def _cells():
    cell_var = kind("ViaCell")()

    def uses():
        return cell_var
    return sys._getframe(), uses


FRAME_WITH_CELL, _USES = _cells()
del _USES


def _free():
    free_var = kind("ViaFree")()

    def inner():
        assert free_var is not None
        return sys._getframe()
    return inner()


FRAME_WITH_FREE = _free()


# a suspended generator's local
def _gen():
    gen_local = kind("ViaGenerator")()
    yield gen_local is not None


GEN = _gen()
next(GEN)


# asyncio: a Task's coroutine and its local; a Future's result
async def _coro_body():
    coro_local = kind("ViaCoroutine")()
    await asyncio.sleep(3600)
    return coro_local


async def _start():
    global TASK, FUTURE
    TASK = asyncio.ensure_future(_coro_body())
    await asyncio.sleep(0)
    FUTURE = asyncio.get_running_loop().create_future()
    FUTURE.set_result(kind("ViaFutureResult")())


LOOP = asyncio.new_event_loop()
LOOP.run_until_complete(_start())


# functools.lru_cache: an unbounded cache (its dict) and a bounded one (its entries)
class Cached:
    @functools.lru_cache(maxsize=None)
    def method(self, arg):
        return 1


Cached().method(kind("ViaLruCache")())


@functools.lru_cache(maxsize=4)
def bounded(n):
    return kind("ViaLruResult")()


bounded(1)

# containers and C types with members
SET = {kind("ViaSet")(), 1}
FROZEN = frozenset([kind("ViaFrozenset")(), 2])
DEQUE = collections.deque([0, kind("ViaDeque")()])
PARTIAL = functools.partial(print, kind("ViaPartialArg")(), sep=kind("ViaPartialKeyword")())


class _Factory:
    def __call__(self):
        return 0


DEFAULTS = collections.defaultdict(type("ViaDefaultFactory", (_Factory,), {})())


class _Referent:
    pass


REFERENT = _Referent()
WEAK = weakref.ref(REFERENT, kind("ViaWeakCallback")().method)
BOUND = kind("ViaBoundSelf")().method


class Holder:
    class_attr = kind("ViaClassDict")()


GLOBAL = kind("ViaGlobal")()
# a C type that exposes no attribute for what it holds: named by its type
REPEAT = itertools.repeat(kind("ViaUnnamed")())
