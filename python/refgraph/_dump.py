"""refgraph heap dumper: write a snapshot of this CPython process's heap to a file.

Standard library only, CPython >= 3.8. It runs inside the observed program, in two ways:

* imported as a library::

      import refgraph_dump
      refgraph_dump.dump("app.rgsnap", marks={"cache": cache})

* through ``refgraph capture``, which writes this file as ``DUMPER_DIR/refgraph_dump.py`` and
  starts the program with a bootstrap that calls ``_capture_main`` (dump at exit and,
  optionally, on a signal).

The output is the JSON-lines snapshot format of docs/FORMAT.md. Three rules hold throughout:

* No code of the observed program runs. Its objects are never handed to ``getattr``,
  ``isinstance``, ``repr``, ``len``, ``hash``, ``==``, ``bool`` or ``str``: everything is read
  through C functions and descriptors of builtin types (``str.__len__``,
  ``type.__dict__['__mro__'].__get__``, ...) and objects are keyed by ``id()`` only.
* The dumper leaves itself out: its module, functions, frames and temporaries are not written,
  and the references it holds are subtracted from the refcounts it reports.
* Speed comes from bulk C-level operations on chunks of objects of one type
  (``map(id, ...)``, ``map(gc.get_referents, ...)``, ``chain.from_iterable``); per-object Python
  code runs only for the rarer kinds of objects (functions, classes, frames, ...).
"""

import gc
import os
import sys
import _thread
import _weakref
from itertools import accumulate, chain, compress, count, cycle, repeat
from _operator import add, and_, is_, mul, not_, rshift
# Bound once, at import: a program that patches these (mock.patch, freezegun, pyfakefs) must
# not have its replacements run by a dump, nor fake the file it writes or the time it records.
from os import close as _close, getpid as _getpid, open as _open, replace as _replace
from os import unlink as _unlink, write as _write
from os import lstat as _lstat, readlink as _readlink
from stat import S_ISDIR as _S_ISDIR, S_ISLNK as _S_ISLNK, S_ISREG as _S_ISREG
_set_blocking = getattr(os, "set_blocking", None)   # POSIX only
from time import gmtime as _gmtime, perf_counter as _perf_counter, strftime as _strftime
from time import time as _time
_writev = getattr(os, "writev", None)      # POSIX only
from os import fspath as _fspath, getcwd as _getcwd
from os.path import abspath as _abspath, join as _path_join, split as _path_split
from gc import collect as _gc_collect, disable as _gc_disable, enable as _gc_enable
from gc import get_debug as _gc_get_debug, get_objects as _gc_get_objects
from gc import get_referents as _gc_get_referents, is_tracked as _gc_is_tracked
from gc import isenabled as _gc_isenabled, set_debug as _gc_set_debug
from gc import freeze as _gc_freeze, unfreeze as _gc_unfreeze
from gc import get_freeze_count as _gc_get_freeze_count
from sys import getrefcount as _getrefcount, getsizeof as _getsizeof
from sys import _current_frames as _sys_current_frames, _getframe as _sys_getframe
from sys import getprofile as _getprofile, gettrace as _gettrace
from sys import setprofile as _setprofile, settrace as _settrace
from _thread import get_ident as _get_ident
_monitoring = getattr(sys, "monitoring", None)      # 3.12+ (PEP 669)
_mon_get_events = getattr(_monitoring, "get_events", None)
_mon_set_events = getattr(_monitoring, "set_events", None)
_mon_get_tool = getattr(_monitoring, "get_tool", None)
_mon_get_local_events = getattr(_monitoring, "get_local_events", None)
_mon_set_local_events = getattr(_monitoring, "set_local_events", None)
# The builtins too, as this module's globals: a program that replaces builtins.id, len, map,
# isinstance, open, dict, list, type, str ... (mock.patch("builtins.open")) changes nothing a
# dump calls. Under `refgraph capture` this runs before any code of the program.
from builtins import (
    BaseException, Exception, ImportError, KeyboardInterrupt, OSError, RuntimeError,
    SystemExit, TypeError, UnicodeEncodeError, ValueError, abs, all, any, bool, bytearray, bytes,
    callable, classmethod, compile, complex, dict, enumerate, exec, filter, float, frozenset, getattr,
    format, globals, hasattr, id, int, isinstance, iter, len, list, map, max, memoryview, min,
    next, object, open, ord, property, range, reversed, round, set, slice, sorted, staticmethod,
    str, sum, tuple, type, zip)

try:
    import zlib
except ImportError:  # pragma: no cover - zlib is part of every normal CPython build
    zlib = None
# tracemalloc's C module (builtin in every CPython, like gc and _weakref: importing it runs no
# import hook of the program, and under capture this runs before the program anyway). Only its
# C functions are used: they read the allocator's traces and run no Python code.
try:
    import _tracemalloc
except ImportError:  # pragma: no cover - a CPython built without tracemalloc
    _tracemalloc = None
_tm_is_tracing = getattr(_tracemalloc, "is_tracing", None)
_tm_traceback = getattr(_tracemalloc, "_get_object_traceback", None)
_tm_limit = getattr(_tracemalloc, "get_traceback_limit", None)

__all__ = ["dump", "DumpError"]

_FORMAT_VERSION = [1, 3]
_CHUNK = 8192              # objects per `objects` line
_LABEL_CHARS = 80          # str/bytes labels show this much of the value
_LABEL_MAX = 100           # other labels are clipped to this length
_BIG_INT_BITS = 200        # larger ints are labelled by size, not value
_KEY_CACHE_MAX = 50000     # dict-key labels remembered per dump
_SHAPED_MAX = 256          # dicts with the same keys: at most this many references each
_WRITE_BUFFER = 1 << 20

_FLAG_GARBAGE = 1
_FLAG_TRACKED = 2
_FLAG_INDEXED = 4
_FLAG_INTERNAL = 16

_TPFLAGS_HEAPTYPE = 1 << 9
_TPFLAGS_READY = 1 << 12
_TPFLAGS_HAVE_GC = 1 << 14
_CO_OPTIMIZED = 0x1
_MISSING = object()


class DumpError(Exception):
    """A heap snapshot could not be written; the message names the path and the problem."""


# ---------------------------------------------------------------------------------------------
# Builtin types and the C-level accessors used to read objects without running their code.
# Everything here is a method-wrapper or descriptor of a builtin type: calling it can never
# reach a __getattr__, property or metaclass hook of the observed program.

def _sample_function():
    """Stand-in used to get at builtin types (function, code, cell, method)."""


def _sample_generator():
    yield


def _sample_error():
    try:
        raise ValueError
    except ValueError as e:
        return e


_FunctionType = type(_sample_function)
_CodeType = type(_sample_function.__code__)
_CellType = type((lambda x: (lambda: x))(0).__closure__[0])
_MethodType = type(_sample_function.__get__(0))
_BuiltinFunctionType = type(len)
_MethodWrapperType = type(object().__str__)
_ModuleType = type(sys)
_FrameType = type(_sys_getframe())
_GeneratorType = type(_sample_generator())


async def _sample_coroutine():
    pass


async def _sample_async_generator():
    yield


def _coroutine_types():
    """The coroutine and async generator types (never started: closing them warns nothing)."""
    c = _sample_coroutine()
    c.close()
    return type(c), type(_sample_async_generator())


_CoroutineType, _AsyncGeneratorType = _coroutine_types()
_GetSetType = type(_FunctionType.__dict__["__code__"])
_MemberType = type(_FunctionType.__dict__["__globals__"])
_MethodDescrType = type(str.join)
_WrapperDescrType = type(object.__init__)
_MappingProxyType = type(type.__dict__)

_type_mro = type.__dict__["__mro__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
_type_dunder_name = type.__dict__["__name__"].__get__
_type_module = type.__dict__["__module__"].__get__


def _class_name(cls, fallback):
    """A class's __name__, read by type's own C getter (a metaclass's `__name__` property is
    the program's code, and never runs), or `fallback` when that is no str."""
    try:
        name = _type_dunder_name(cls)
    except Exception:
        return fallback
    return name if type(name) is str else fallback
_type_flags = type.__dict__["__flags__"].__get__
_type_dictproxy = type.__dict__["__dict__"].__get__
_type_base = type.__dict__["__base__"].__get__
_type_bases = type.__dict__["__bases__"].__get__
_type_subclasses = type.__dict__["__subclasses__"]
_WeakrefType = _weakref.ref
_weakref_call = _WeakrefType.__call__
_is_subclass = type.__subclasscheck__          # _is_subclass(Base, T), C-level for real types

_fd = _FunctionType.__dict__
_f_code = _fd["__code__"].__get__
_f_globals = _fd["__globals__"].__get__
_f_builtins = _fd["__builtins__"].__get__ if "__builtins__" in _fd else None
_f_module = _fd["__module__"].__get__
_f_defaults = _fd["__defaults__"].__get__
_f_kwdefaults = _fd["__kwdefaults__"].__get__
_f_doc = _fd["__doc__"].__get__
_f_name = _fd["__name__"].__get__
_f_qualname = _fd["__qualname__"].__get__
_f_closure = _fd["__closure__"].__get__
del _fd

_co_name = _CodeType.__dict__["co_name"].__get__
_co_filename = _CodeType.__dict__["co_filename"].__get__
_co_firstlineno = _CodeType.__dict__["co_firstlineno"].__get__
_co_flags = _CodeType.__dict__["co_flags"].__get__
_co_varnames = _CodeType.__dict__["co_varnames"].__get__
_co_consts = _CodeType.__dict__["co_consts"].__get__

_fr_back = _FrameType.__dict__["f_back"].__get__
_fr_code = _FrameType.__dict__["f_code"].__get__
_fr_globals = _FrameType.__dict__["f_globals"].__get__
_fr_builtins = _FrameType.__dict__["f_builtins"].__get__
_fr_locals = _FrameType.__dict__["f_locals"].__get__
_fr_lineno = _FrameType.__dict__["f_lineno"].__get__
_fr_trace = _FrameType.__dict__["f_trace"].__get__



def _sample_locals():
    here = 0
    return _sys_getframe().f_locals, here


# 3.13+ (PEP 667): a running function's f_locals is a FrameLocalsProxy, read through its own
# C `items` (it reads the frame's variables; no program code runs). Before: a dict.
_FrameLocalsType = type(_sample_locals()[0])
_flp_items = None if _FrameLocalsType is dict else _FrameLocalsType.__dict__["items"]

_m_func = _MethodType.__dict__["__func__"].__get__
_bf_name = _BuiltinFunctionType.__dict__["__name__"].__get__
_bf_self = _BuiltinFunctionType.__dict__["__self__"].__get__
_module_dict = _ModuleType.__dict__["__dict__"].__get__

# Version-specific CPython hazards: things the dumper must not do on an interpreter with a
# known bug, each with its test in tests/versions.rs (run on every CPython the machine has).
# (Not version-specific, so not here: a static type never readied must not have its
# __bases__/__mro__/__dict__ read, see _is_ready; observed on 3.8-3.11; tests/versions.rs:
# static_types_never_readied_are_dumped_without_a_crash.)
_VERSION = tuple(sys.version_info[:3])
_HAZARDS = {
    # gh-122695, fixed in 3.12.5: gc.get_referents on the _asyncio module reports objects of
    # its free list, which are then freed twice (the program hangs at its next collection).
    # A module's references are read from its __dict__ instead (tests/versions.rs:
    # asyncio_programs_do_not_hang_after_a_dump).
    "module_referents": (3, 12, 0) <= _VERSION < (3, 12, 5),
    # 3.12+: a BytesIO reports its buffer (a bytes object) to the collector, so the buffer is
    # an object of the snapshot; BytesIO.__sizeof__ counts it too unless something else holds
    # it (the dumper does, while it writes). A BytesIO's size is then the object alone, so the
    # buffer is counted once, in the bytes object (tests/versions.rs:
    # a_bytesio_is_sized_alone_and_retains_its_buffer). Not a CPython bug.
    "buffer_referent": _VERSION >= (3, 12),
}


def _module_referents(m):
    """What a module refers to, from its __dict__ only (see _HAZARDS)."""
    md = _module_dict(m)
    return [md] if md is not None else []


def _any_referents(o):
    """gc.get_referents of any object, but never of a module where that is unsafe."""
    if _HAZARDS["module_referents"] and _is_subclass(_ModuleType, type(o)):
        return _module_referents(o)
    return _gc_get_referents(o)

_exc_set_traceback = BaseException.__dict__["__traceback__"].__set__
_exc_traceback = BaseException.__dict__["__traceback__"].__get__
_TracebackType = type(_exc_traceback(_sample_error()))
_tb_next = _TracebackType.__dict__["tb_next"].__get__
_tb_frame = _TracebackType.__dict__["tb_frame"].__get__
_HEAD = slice(0, _LABEL_CHARS)

# 3.11+: a suspended generator, coroutine or async generator holds its frame's variables
# itself (the frame is embedded in it). To name them, its frame is read through the type's own
# C getter (which makes the frame object if it was not made yet: C code, no program code) and
# the frame's locals give the names (format 1.2). Before 3.11, gi_frame/cr_frame/ag_frame are
# members (named like any member) and the frame object names its locals itself.
_GEN_FRAMES = {}
if _VERSION >= (3, 11):
    for _t, _name in ((_GeneratorType, "gi_frame"), (_CoroutineType, "cr_frame"),
                      (_AsyncGeneratorType, "ag_frame")):
        _desc = _t.__dict__.get(_name)
        if type(_desc) is _GetSetType:
            _GEN_FRAMES[id(_t)] = ("." + _name, _desc.__get__)
    del _t, _name, _desc

# Getsets of builtin types of modules that may be imported later (asyncio's C Future and
# Task), by (module, qualname): each returns the stored field as it is (format 1.2).
_PURE_GETSETS_BY_NAME = {
    ("_asyncio", "Future"): ("_loop", "_result", "_exception", "_source_traceback",
                             "_cancel_message", "_callbacks"),
    ("_asyncio", "Task"): ("_coro", "_fut_waiter", "_context", "_name"),
}
_cell_contents = _CellType.__dict__["cell_contents"].__get__
_co_cellvars = _CodeType.__dict__["co_cellvars"].__get__
_co_freevars = _CodeType.__dict__["co_freevars"].__get__


# Getsets of builtin types that only read a stored field (no object is created, no code runs):
# they may be used to name references. Members (member_descriptor) are always such reads.
_PURE_GETSETS = {
    id(BaseException): ("args", "__traceback__", "__context__", "__cause__"),
    id(_CellType): ("cell_contents",),
    id(_BuiltinFunctionType): ("__self__",),
    id(_MethodWrapperType): ("__self__",),
    id(_GeneratorType): ("gi_code", "gi_yieldfrom", "__name__", "__qualname__"),
    id(_MappingProxyType): ("mapping",),
    id(_TracebackType): ("tb_next",),
}

# Builtin bases that decide how an object is labelled, found by walking the type's MRO.
_LABEL_KINDS = {
    id(str): "str", id(bytes): "bytes", id(bytearray): "bytearray", id(bool): "bool",
    id(int): "int", id(float): "float", id(complex): "complex", id(type(None)): "none",
    id(list): "items", id(tuple): "items", id(dict): "items", id(set): "items",
    id(frozenset): "items", id(_ModuleType): "module", id(_FunctionType): "function",
    id(_BuiltinFunctionType): "builtin", id(_MethodType): "method", id(type): "type",
    id(_CodeType): "code", id(_FrameType): "frame",
}


class _Memo(dict):
    """A lookup table that fills itself: `map(memo.__getitem__, keys)` runs at C speed and
    calls Python code only for keys not seen before."""

    __slots__ = ("make", "limit")

    def __init__(self, make, limit=65536):
        dict.__init__(self)
        self.make = make
        self.limit = limit

    def __missing__(self, key):
        value = self.make(key)
        if dict.__len__(self) < self.limit:
            self[key] = value
        return value


def _items_text(n):
    return "1 item" if n == 1 else "%d items" % n


_INT_TEXT = _Memo(str)
_INDEX_LABEL = _Memo("[{}]".format)
# JSON text of labels, by the number they show
_ITEMS_JSON = _Memo(lambda n: '"1 item"' if n == 1 else '"%d items"' % n)
_STR_COUNT_JSON = _Memo('"<str {} chars>"'.format)
_BYTES_COUNT_JSON = _Memo('"<bytes {} bytes>"'.format)
_FLAG_TEXT = {base: (str(base), str(base | _FLAG_TRACKED)) for base in (0, _FLAG_INDEXED)}
_PAIR_TEXT = '"key \'%s\'","[\'%s\']"'     # edge labels of a plain str dict key
_INT_PAIR_TEXT = '"key %d","[%d]"'                # ... of an int dict key
_HIDDEN_PAIR_TEXT = _Memo(lambda n: '"key <str %d chars>","[<str %d chars>]"' % (n, n))


def _shown_name(k):
    """With values=False, whether a thread's name is written: an identifier that does not look
    like a secret. API tokens and keys are identifiers too (ghp_…, sk_live_…, AKIA…, hex
    digests): an identifier of 16 characters or more with a digit in it, or of 32 or more, is
    not written. (Dict keys follow another rule: see _Dumper.namespaces.)"""
    if not str.isidentifier(k):
        return False
    n = str.__len__(k)
    return n < 16 or (n < 32 and not any(map(str.isdigit, k)))


# Edge labels of the references to a namespace: a dict whose str keys are names from code (a
# module's, a class's, an instance's or a function's __dict__, globals, builtins, the locals
# of a module or class body or of a generator's frame, a function's keyword-only defaults
# and annotations, keyed by parameter names). See _Dumper.namespaces.
_NAMESPACE_LABELS = frozenset(
    [".__dict__", ".__globals__", ".__builtins__", ".f_globals", ".f_builtins", ".f_locals",
     ".__kwdefaults__", ".__annotations__"]
    + [label + ".f_locals" for label, _get in _GEN_FRAMES.values()])
_GC_HEADER = _getsizeof([]) - [].__sizeof__()
# Every object starts with a header of at least this many bytes, so no two live objects have
# the same id() >> _KEY_SHIFT. The `seen` set is keyed by that: ids are multiples of 16, and a
# set of them collides much more (and runs much slower) than one of the shifted keys.
_KEY_SHIFT = object.__basicsize__.bit_length() - 1
_type_itemsize = type.__dict__["__itemsize__"].__get__


# ---------------------------------------------------------------------------------------------
# Small helpers: text, JSON, safe reads.

def _text(value):
    """An exact str for a name-like value (str subclasses are copied), or '?'."""
    if type(value) is str:
        return value
    if _is_subclass(str, type(value)):
        return str.__str__(value)
    return "?"


def _clip(text):
    if len(text) <= _LABEL_MAX:
        return text
    return text[:_LABEL_MAX - 1] + "\u2026"


def _basename(path):
    return path.replace("\\", "/").rpartition("/")[2]


def _str_key_get(d, key, default=None):
    """d[key] for a str key, comparing only with exact-str keys (never a program's __eq__)."""
    try:
        for k, v in list(dict.items(d)):
            if type(k) is str and str.__eq__(k, key):
                return v
    except Exception:
        pass
    return default


def _is_ready(cls):
    """Whether PyType_Ready ran for a class. A static type of an extension that never readied
    it (unicodedata.UCD on 3.8/3.9, _testcapi's test types up to 3.11) has NULL tp_bases,
    tp_mro and tp_dict: `type`'s __bases__ getter dereferences them and crashes the process.
    Such a type is read through __flags__ (a plain field), __qualname__ and __module__ (from
    tp_name for a static type) only."""
    return bool(_type_flags(cls) & _TPFLAGS_READY)


def _class_dict(cls):
    """The real dict behind a class's __dict__ mapping proxy ({} for a type not readied)."""
    if not _is_ready(cls):
        return {}
    refs = _gc_get_referents(_type_dictproxy(cls))
    if refs and type(refs[0]) is dict:
        return refs[0]
    return {}


def _lru_dict_getter(cls):
    """functools.lru_cache's C wrapper type (format 1.2, recognised by name: functools may be
    imported after the dumper): the C getter of its __dict__, else None. Its `cache` dict and
    `func` are not exposed as attributes, so they are named by identity: `func` is the
    `__wrapped__` that update_wrapper stores in the wrapper's __dict__."""
    if _type_name(cls) != ["functools", "_lru_cache_wrapper"]:
        return None
    desc = dict.get(_class_dict(cls), "__dict__")
    return desc.__get__ if type(desc) is _GetSetType else None


def _type_name(cls):
    """[module, qualname] of a class, read through the C getters of `type`."""
    try:
        qualname = _text(_type_qualname(cls))
    except Exception:
        qualname = "?"
    try:
        module = _text(_type_module(cls))
    except Exception:
        module = "?"
    return [module, qualname]


def _ints(values):
    """The inside of a JSON array of (large) ints."""
    n = len(values)
    if not n:
        return ""
    return ("%d," * n)[:-1] % tuple(values)


def _keys(ids):
    """The `seen` keys of objects with these ids."""
    return list(map(rshift, ids, repeat(_KEY_SHIFT)))


def _key_of(obj):
    return id(obj) >> _KEY_SHIFT


def _small_ints(values):
    """The inside of a JSON array of ints that repeat a lot (types, sizes, counts)."""
    return ",".join(map(_INT_TEXT.__getitem__, values))


def _json_default(value):
    raise TypeError("not JSON serializable: %s" % type(value).__name__)


def _make_dumps():
    """A compact JSON encoder: the C encoder of `_json` when available (importing `json`
    would also import `re` and friends into the observed program)."""
    try:
        from _json import make_encoder, encode_basestring
        encode = make_encoder(None, _json_default, encode_basestring, None, ":", ",",
                              False, False, True)

        def dumps(value):
            return "".join(encode(value, 0))

        if dumps([1, None, "\u00e9\n", 2.5, {"k": True}]) == '[1,null,"\u00e9\\n",2.5,{"k":true}]':
            return dumps
    except Exception:
        pass
    import json

    def dumps(value):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return dumps


_dumps = _make_dumps()


def _escape_surrogates(error):
    """Codec error handler for JSON text: a lone surrogate (only possible inside a JSON
    string) is written as the JSON string text \\\\udXXX, which reads back as the text
    \\udXXX, so the file stays valid UTF-8 and valid JSON."""
    bad = error.object[error.start:error.end]
    return "".join("\\\\u%04x" % ord(c) for c in bad), error.end


def _escape_surrogates_text(error):
    """Codec error handler for plain text (the binary format's): a lone surrogate is written
    as the text \\udXXX, the same text a JSON snapshot holds for it."""
    bad = error.object[error.start:error.end]
    return "".join("\\u%04x" % ord(c) for c in bad), error.end


_SURROGATE_ERRORS = "refgraph.escape_surrogates"
_SURROGATE_TEXT_ERRORS = "refgraph.escape_surrogates_text"
_surrogate_handler_registered = []


def _encode(text, errors=_SURROGATE_ERRORS):
    """UTF-8 of JSON text (or, with `errors=_SURROGATE_TEXT_ERRORS`, of plain text), lone
    surrogates escaped."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        if not _surrogate_handler_registered:
            import codecs
            codecs.register_error(_SURROGATE_ERRORS, _escape_surrogates)
            codecs.register_error(_SURROGATE_TEXT_ERRORS, _escape_surrogates_text)
            _surrogate_handler_registered.append(True)
        return text.encode("utf-8", errors)


# ---------------------------------------------------------------------------------------------
# Output: a file descriptor (no Python file objects exist while the heap is walked), optionally
# gzip-compressed with zlib.

class _Output:
    def __init__(self, fd, gz):
        self.fd = fd
        self.z = zlib.compressobj(1, zlib.DEFLATED, 31) if gz else None
        self.buffer = []
        self.buffered = 0
        self.size = 0

    def write(self, text):
        self.write_pieces((text,))

    def write_pieces(self, texts):
        """Write the concatenation of `texts` (each is encoded alone: no copy of the whole)."""
        for text in texts:
            self.add_data(_encode(text))
        if self.buffered >= _WRITE_BUFFER:
            self.flush()

    def add_data(self, data):
        if self.z is not None:
            data = self.z.compress(data)
        if len(data) < 2:
            # b"" and the 1-byte bytes are the interpreter's shared singletons (before
            # 3.12 not immortal): held in the buffer while later chunks are measured, they
            # would add the dump's own pieces to the refcounts it writes of them
            if not data:
                return
            data = bytearray(data)
        self.buffer.append(data)
        self.buffered += len(data)

    def flush(self):
        buffers, total = self.buffer, self.buffered
        self.buffer = []
        self.buffered = 0
        written = 0
        if _writev is not None and 1 < len(buffers) <= 256:
            written = _writev(self.fd, buffers)
        if written < total:
            view = memoryview(b"".join(buffers))[written:]
            while view:
                written = _write(self.fd, view)
                view = view[written:]
        self.size += total

    def finish(self):
        if self.z is not None:
            self.buffer.append(self.z.flush())
            self.z = None
        self.flush()

    def record(self, record):
        """A header, root, thread, mark or end record (a dict)."""
        self.write(_dumps(record) + "\n")

    def types(self, base, names):
        self.write('{"kind":"types","base":%d,"names":%s}\n' % (base, _dumps(names)))

    def objects(self, line):
        # with the accelerator, the line's UTF-8 made at once from its fragments (no str of
        # each column, no encoding of it); None (a lone surrogate in a label): the Python way
        data = _native.line_bytes(line.parts()) if _native is not None else None
        if data is None:
            self.write_pieces(line.pieces())
            return
        self.add_data(data)
        if self.buffered >= _WRITE_BUFFER:
            self.flush()

    def sites(self, base, sites):
        """A `sites` record: allocation tracebacks [[file, line], ...] numbered from base."""
        self.write('{"kind":"sites","base":%d,"sites":%s}\n' % (base, _dumps(sites)))


class _BinaryOutput(_Output):
    """The binary format (docs/FORMAT.md, "Binary snapshots"): the same records as blocks of
    little-endian columns. An objects line's columns arrive as JSON text fragments (see _Line):
    they are read back with the C JSON scanner and packed by int.to_bytes (a C-level map: the
    `array` module would be faster, but importing it would add a module to the heap of every
    dump), fixed widths sized by each column's largest value."""

    def __init__(self, fd, gz):
        _Output.__init__(self, fd, gz)
        self.edge_codes = {None: 0}       # edge label -> code (k + 1 = table entry k)
        # ... kept by the accelerator instead, which reads the label columns from their JSON
        # fragments (until a line it refuses: then the table moves to edge_codes)
        self.interner = _native.Interner() if _native is not None else None
        self.write_bytes(_BINARY_MAGIC + bytes((1, 0)))

    def write_bytes(self, data):
        if self.z is not None:
            data = self.z.compress(data)
        self.buffer.append(data)
        self.buffered += len(data)
        if self.buffered >= _WRITE_BUFFER:
            self.flush()

    def block(self, kind, payload):
        self.write_bytes(bytes((kind,)) + len(payload).to_bytes(4, "little"))
        self.write_bytes(payload)

    def record(self, r):
        kind = r["kind"]
        if kind == "header":
            self.block(1, _encode(_dumps(r)))
        elif kind == "root":
            self.block(5, b"".join((b"\x01\x00", _text_bytes(r["name"]), _varint(r["id"]))))
        elif kind == "thread":
            name, ident, frames = r["name"], r["ident"], r["frames"]
            bits = ((name is not None) | (ident is not None) << 1 | bool(r["daemon"]) << 2
                    | bool(r["main"]) << 3)
            parts = [b"\x01", bytes((bits,))]
            if name is not None:
                parts.append(_text_bytes(name))
            if ident is not None:
                parts.append(_varint(ident))
            parts.append(_varint(len(frames)))
            parts.extend(map(_varint, frames))
            self.block(6, b"".join(parts))
        elif kind == "mark":
            self.block(7, b"".join((b"\x01", _text_bytes(r["name"]), _varint(r["id"]))))
        elif kind == "end":
            self.block(9, b"".join((_varint(r["objects"]), b"\x07", _varint(r["edges"]),
                                    _varint(r["garbage"]),
                                    _float_bytes(float(r["seconds"])))))
        else:
            raise ValueError("no binary encoding for a %s record" % kind)

    def types(self, base, names):
        parts = [_varint(base), _varint(len(names))]
        for module, qualname in names:
            parts.append(_text_bytes(module))
            parts.append(_text_bytes(qualname))
        self.block(2, b"".join(parts))

    def objects(self, line):
        column_of = None if _native is None else getattr(_native, "column_of", None)
        if column_of is None:
            cols = _scan_json("".join(line.pieces()), 0)[0]
            number_columns = [_column(tag, cols[key], signed)
                              for tag, key, _attr, signed in _NUMBER_COLUMNS]
            labels, edge_labels, sites = cols["label"], cols["edge_labels"], cols.get("site")
        else:
            # the number columns straight from their fragments (text, or raw: _Dumper.raw),
            # without an int object for each
            number_columns = [column_of(tag, getattr(line, attr), signed)[0]
                              for tag, _key, attr, signed in _NUMBER_COLUMNS]
            if self.native_label_columns(line, number_columns):
                return
            labels = _scan_json("[%s]" % ",".join(line.labels), 0)[0]
            edge_labels = _scan_json("[%s]" % ",".join(line.edge_labels), 0)[0]
            sites = None if line.sites is None else \
                _scan_json("[%s]" % ",".join(line.sites), 0)[0]
        codes = self.edge_codes
        new = [t for t in dict.fromkeys(edge_labels) if t not in codes]
        if new:
            parts = [_varint(len(codes) - 1), _varint(len(new))]
            for text in new:
                codes[text] = len(codes)
                parts.append(_text_bytes(text))
            self.block(3, b"".join(parts))
        lens_column, data = self.label_columns(labels)
        ids, types, sizes, refcounts, flags, nrefs, refs = number_columns
        self.block(4, b"".join((
            _varint(len(labels)), ids, types, sizes, refcounts, flags, nrefs,
            lens_column,
            b"\x08\x20", _varint(len(data)), data,
            refs,
            _column(10, list(map(codes.__getitem__, edge_labels)), False),
            self.site_column(sites))))

    def native_label_columns(self, line, number_columns):
        """The objects block with its label and edge-label columns read by the accelerator
        from the line's JSON fragments; False (nothing written) where it refuses them."""
        if self.interner is None or line.sites is not None:
            return False
        labels = _native.label_column_of(line.labels)
        edges = self.interner.codes(line.edge_labels) if labels is not None else None
        if edges is None:       # the Python way from now on, with the labels given so far
            self.edge_codes.update(zip(self.interner.texts(), count(1)))
            self.interner = None
            return False
        lens_column, data, n = labels
        codes_column, new_labels, _edges = edges
        if new_labels:
            self.block(3, new_labels)
        ids, types, sizes, refcounts, flags, nrefs, refs = number_columns
        self.block(4, b"".join((
            _varint(n), ids, types, sizes, refcounts, flags, nrefs, lens_column,
            b"\x08\x20", _varint(len(data)), data, refs, codes_column)))
        return True

    @staticmethod
    def label_columns(labels):
        """Column 7 (0: no label, else UTF-8 length + 1) and the labels' UTF-8 bytes."""
        label_column = None if _native is None else getattr(_native, "label_column", None)
        found = None if label_column is None else label_column(labels)
        if found is not None:
            return found
        text = "".join(filter(None, labels))
        if str.isascii(text):
            data = text.encode("ascii")
            lens = [0 if t is None else len(t) + 1 for t in labels]
        else:
            encoded = [None if t is None else _encode(t, _SURROGATE_TEXT_ERRORS)
                       for t in labels]
            data = b"".join(filter(None, encoded))
            lens = [0 if t is None else len(t) + 1 for t in encoded]
        return _column(7, lens, False), data

    @staticmethod
    def site_column(sites):
        """Column 11 (0 unknown, k + 1 site k), only when tracemalloc traced the dump."""
        if sites is None:
            return b""
        return _column(11, [0 if k is None else k + 1 for k in sites], False)

    def sites(self, base, sites):
        parts = [_varint(base), _varint(len(sites))]
        for frames in sites:
            parts.append(_varint(len(frames)))
            for filename, line in frames:
                parts.append(_text_bytes(filename))
                parts.append(_varint(line))
        self.block(8, b"".join(parts))


_BINARY_MAGIC = b"\x89RGSNAP\x1a"
# an objects block's number columns: tag, JSON key, _Line attribute, signed
_NUMBER_COLUMNS = ((1, "id", "ids", False), (2, "type", "types", False),
                   (3, "size", "sizes", False), (4, "refcount", "refcounts", True),
                   (5, "flags", "flags", False), (6, "nrefs", "nrefs", False),
                   (9, "refs", "refs", False))
# column widths by largest value, unsigned and signed
_UNSIGNED_WIDTHS = ((0xff, 1), (0xffff, 2), (0xffffffff, 4), (0xffffffffffffffff, 8))
_SIGNED_WIDTHS = ((0x7f, 1), (0x7fff, 2), (0x7fffffff, 4), (0x7fffffffffffffff, 8))


def _column(tag, values, signed):
    """One objects column, fixed-width little-endian, as narrow as its values allow."""
    if _native is not None and type(values) is list:
        column = getattr(_native, "column", None)
        if column is not None:
            return column(tag, values, bool(signed))
    top = max(values) if values else 0     # to_bytes refuses a negative value unsigned
    if signed and values:
        top = max(top, -1 - min(values))
    for limit, width in (_SIGNED_WIDTHS if signed else _UNSIGNED_WIDTHS):
        if top <= limit:
            break
    else:
        raise ValueError("a value too large for 64 bits")
    if signed:      # two's complement of the width: `signed=` is keyword-only, so no map of it
        values = map(and_, values, repeat((1 << (8 * width)) - 1))
    data = b"".join(map(int.to_bytes, values, repeat(width), repeat("little")))
    return b"".join((bytes((tag, width)), _varint(len(data)), data))


def _varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _text_bytes(text):
    data = _encode(text, _SURROGATE_TEXT_ERRORS)
    return _varint(len(data)) + data


def _float_bytes(x):
    """An f64, little-endian, without the struct module: float.hex gives the exact bits."""
    if x != x or x in (float("inf"), float("-inf")):
        x = 0.0
    if x == 0.0:
        return bytes(8)
    sign = 1 if x < 0 else 0
    mantissa, exponent = float.hex(abs(x))[2:].split("p")
    lead, frac = mantissa.split(".") if "." in mantissa else (mantissa, "0")
    exponent = int(exponent)
    bits = int((frac + "0" * 13)[:13], 16)
    if lead == "0":          # subnormal
        biased = 0
    else:
        biased = exponent + 1023
    return ((sign << 63) | (biased << 52) | bits).to_bytes(8, "little")


class _ScanContext:
    """What the C JSON scanner reads from its context (json.JSONDecoder's attributes)."""
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float
    memo = None


def _make_scanner():
    try:
        from _json import make_scanner
        scan = make_scanner(_ScanContext)     # read as attributes: the class will do
        text = '{"a":[1,null,"\u00e9"]}'
        if scan(text, 0) == ({"a": [1, None, "\u00e9"]}, len(text)):
            return scan
    except Exception:
        pass
    import json
    decoder = json.JSONDecoder()
    return decoder.raw_decode


_scan_json = _make_scanner()


# ---------------------------------------------------------------------------------------------
# Labels. The *_label functions label one object. The *_text functions label a list of objects
# of one type and return the JSON text of their labels (the inside of a JSON array): building
# that text in one C-level operation is much faster than encoding a list of label strings.

def _json_items(values):
    """The inside of the JSON array of a non-empty list."""
    return _dumps(values)[1:-1]


def _repeat(text, n):
    """The inside of a JSON array holding `text` n times."""
    return ((text + ",") * n)[:-1]


def _str_label(s):
    if str.__len__(s) <= _LABEL_CHARS:
        return str.__repr__(s)
    return str.__repr__(str.__getitem__(s, _HEAD)) + "\u2026"


def _is_plain(s):
    """Whether repr(s) is just 's' in quotes and needs no JSON escaping (printable ASCII
    without quotes or backslashes), and s is short enough to be shown whole."""
    return (str.__len__(s) <= _LABEL_CHARS and s.isascii() and s.isprintable()
            and "'" not in s and '"' not in s and "\\" not in s)


# printable ASCII but quotes and backslash: what a plain str (_is_plain) is made of
_PLAIN_BYTES = bytes(c for c in range(0x20, 0x7f) if c not in b"'\"\\")


def _all_plain(strs):
    """_is_plain for every one of a list of exact strs, checked at C speed (len() of an exact
    str runs no code of the program)."""
    if max(map(len, strs)) > _LABEL_CHARS:
        return False
    joined = "".join(strs)
    return joined.isascii() and not joined.encode("ascii").translate(None, _PLAIN_BYTES)


def _str_text(objs, values):
    exact = type(objs[0]) is str
    if not values:
        return ",".join(map(_STR_COUNT_JSON.__getitem__, map(len if exact else str.__len__,
                                                                objs)))
    if exact and max(map(len, objs)) <= _LABEL_CHARS:
        # when each repr(s) is 's' and needs no JSON escaping, the text is one join
        text = "\"'" + "'\",\"'".join(objs) + "'\""
        if text.isascii():
            rest = text.encode("ascii").translate(None, _PLAIN_BYTES)
            n = len(objs)
            if len(rest) == 4 * n and rest.count(b"'") == 2 * n and rest.count(b'"') == 2 * n:
                return text      # nothing but printable ASCII and the quotes added
    return _json_items(list(map(_str_label, objs)))


def _bytes_label(b, base):
    head = base.__getitem__(b, _HEAD)
    text = bytes.__repr__(bytes(head) if base is bytearray else head)
    return text + "\u2026" if base.__len__(b) > _LABEL_CHARS else text


def _bytes_text(objs, values, base):
    if not values:
        return ",".join(map(_BYTES_COUNT_JSON.__getitem__, map(base.__len__, objs)))
    return _json_items([_bytes_label(b, base) for b in objs])


def _int_label(i):
    bits = int.bit_length(i)
    return int.__repr__(i) if bits <= _BIG_INT_BITS else "<int %d bits>" % bits


def _int_text(objs):
    if max(map(int.bit_length, objs)) > _BIG_INT_BITS:
        return _json_items(list(map(_int_label, objs)))
    if type(objs[0]) is int:
        return ('"%d",' * len(objs))[:-1] % tuple(objs)
    return _json_items(list(map(int.__repr__, objs)))


def _float_text(objs):
    if type(objs[0]) is float:
        return ('"%r",' * len(objs))[:-1] % tuple(objs)    # float repr needs no escaping
    return _json_items(list(map(float.__repr__, objs)))


def _code_where(code):
    return "%s:%d" % (_basename(_text(_co_filename(code))), _co_firstlineno(code))


def _code_label(code):
    return _clip("%s %s" % (_text(_co_name(code)), _code_where(code)))


def _function_label(f):
    qualname = _text(_f_qualname(f))
    if _text(_f_name(f)) == "<lambda>":
        return _clip("%s %s" % (qualname, _code_where(_f_code(f))))
    return _clip(qualname)


def _function_text(objs):
    """Function labels at once: their qualnames, unless some need more (lambdas, long names)."""
    qualnames = list(map(_f_qualname, objs))
    if (not any(map(str.__eq__, repeat("<lambda>"), map(_f_name, objs)))
            and all(map(is_, map(type, qualnames), repeat(str)))
            and max(map(str.__len__, qualnames)) <= _LABEL_MAX):
        return _json_items(qualnames)
    return _json_items(_each_label(_function_label, objs))


def _builtin_label(b):
    name = _text(_bf_name(b))
    owner = _bf_self(b)
    if owner is None or _is_subclass(_ModuleType, type(owner)):
        return _clip(name)
    cls = owner if _is_subclass(type, type(owner)) else type(owner)
    return _clip("%s.%s" % (_type_name(cls)[1], name))


def _method_label(m):
    func = _m_func(m)
    if type(func) is _FunctionType:
        name = _function_label(func)
    elif type(func) is _BuiltinFunctionType:
        name = _builtin_label(func)
    else:
        name = _type_name(type(func))[1]
    return _clip(name + " (bound)")


def _frame_label(f):
    code = _fr_code(f)
    return _clip("%s() %s:%s" % (_text(_co_name(code)), _short_path(_text(_co_filename(code))),
                                 _fr_lineno(f)))


# The sys.path directories (absolute, "/"-terminated, longest first) a frame's file is shown
# relative to; set for each dump by _note_path_prefixes.
_PATH_PREFIXES = []


def _note_path_prefixes():
    """sys.path's absolute directories, longest first: the program's directory, the standard
    library, site-packages ... A file is shown relative to the longest one holding it."""
    entries = sys.path if type(sys.path) is list else []
    found = set()
    for entry in list(entries):
        if type(entry) is str and str.startswith(entry, os.sep) and len(entry) > 1:
            # copies: a list of the dumper's must not hold (and count in) program strings
            found.add(_str_copy(entry if str.endswith(entry, os.sep) else entry + os.sep))
    _PATH_PREFIXES[:] = sorted(found, key=len, reverse=True)


def _short_path(filename):
    """A frame's file as a path that tells files apart: relative to the sys.path directory
    holding it (`flask/app.py`, `json/decoder.py`, the program's own `app.py`), else whole."""
    for prefix in _PATH_PREFIXES:
        if str.startswith(filename, prefix):
            return filename[len(prefix):]
    return filename


def _module_label(m):
    md = _module_dict(m)
    name = _str_key_get(md, "__name__") if type(md) is dict else None
    return _clip(_text(name)) if name is not None else None


def _type_label(cls):
    return _clip(_type_name(cls)[1])


_PER_OBJECT_LABELS = {
    "module": _module_label, "function": _function_label, "builtin": _builtin_label,
    "method": _method_label, "type": _type_label, "code": _code_label, "frame": _frame_label,
}


def _each_label(fn, objs):
    """Per-object labels where one failure must not lose the others."""
    out = []
    for o in objs:
        try:
            out.append(fn(o))
        except Exception:
            out.append(None)
    return out


def _identity_labels(refs, named):
    """Label each reference with the name, in `named` [(label, object)], of the same object."""
    by_id = {}
    for label, obj in reversed(named):        # the first name of an object wins
        by_id[id(obj)] = label
    if len(by_id) == len(named):
        return list(map(by_id.get, map(id, refs)))
    # an object with two names (f.__name__ is f.__qualname__, ...): one name per reference
    names = {}
    for label, obj in named:
        names.setdefault(id(obj), []).append(label)
    out = []
    for r in refs:
        labels = names.get(id(r))
        out.append(labels.pop(0) if labels else None)
    return out


def _type_label_text(cls):
    """module.qualname of a type, read without running its code (for fallback edge labels)."""
    try:
        name = _type_name(cls)
        return "%s.%s" % (name[0], name[1]) if name[0] != "builtins" else name[1]
    except Exception:
        return "?"


def _name_frame_cells(refs, labels, code, local_pairs):
    """A frame's cell and free variables (its references to cell objects): `cell 'x'` for a
    variable of its own that inner functions use, `free 'x'` for one of an outer function.
    A cell is matched to its name through the frame's locals, which show the cell's contents."""
    values = {}
    for i in range(0, len(local_pairs), 2):
        values.setdefault(id(local_pairs[i + 1]), []).append(local_pairs[i])
    cellvars, freevars = set(_co_cellvars(code)), set(_co_freevars(code))
    for i, r in enumerate(refs):
        if labels[i] is not None or type(r) is not _CellType:
            continue
        try:
            contents = _cell_contents(r)
        except ValueError:      # an empty cell: a variable not bound yet
            continue
        for name in values.get(id(contents), ()):
            if name in freevars:
                labels[i] = "free " + _str_label(_text(name))
            elif name in cellvars:
                labels[i] = "cell " + _str_label(_text(name))
            else:
                continue
            values[id(contents)].remove(name)
            break


def _dict_pairs(d):
    """[k0, v0, k1, v1, ...] of a dict or dict subclass, read by the C iterator of dict."""
    for _attempt in range(3):
        try:
            return list(chain.from_iterable(dict.items(d)))
        except RuntimeError:   # another thread resized it while we copied it
            continue
    return []


def _without(refs, taken):
    """refs minus one occurrence of each object in `taken` (by identity)."""
    counts = {}
    for x in taken:
        counts[id(x)] = counts.get(id(x), 0) + 1
    out = []
    for r in refs:
        n = counts.get(id(r))
        if n:
            counts[id(r)] = n - 1
        else:
            out.append(r)
    return out


def _str_copy(s):
    """A new str equal to s: caches keyed by content must not hold the program's strings."""
    return s.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")


def _measure(group):
    """Refcounts of a group of objects. Calibrated by _refcount_offset, which must call it the
    same way: at that moment each object is held by the dumper only through `group`. The
    accelerator reads the same counts without a call per object (and without the references
    the Python way holds to `list` and getrefcount meanwhile: see _measure_held)."""
    if _native is not None:
        return _native.refcounts(group)
    return list(map(_getrefcount, group))


def _measure_held():
    """What _measure's Python way holds while it counts, besides the group: `list` (on the
    evaluation stack) and getrefcount (in the map object), each counted once more when they
    are measured themselves; but an immortal object's count (3.12+) does not change."""
    held = []
    for obj in (list, _getrefcount):
        before = _getrefcount(obj)
        extra = [obj]
        if _getrefcount(obj) != before:
            held.append(obj)
        extra = None
    return held


def _group_by_type(objs):
    """Split a chunk into lists of objects of one exact type, keyed by id(type)."""
    first = type(objs[0]) if objs else None
    if all(map(is_, map(type, objs), repeat(first))):
        return {id(first): objs} if objs else {}      # often: discovered by column
    groups = {}
    get = groups.get
    for o in objs:
        key = id(type(o))
        group = get(key)
        if group is None:
            groups[key] = [o]
        else:
            group.append(o)
    return groups


def _refcount_offset():
    """How many references the dumper's own machinery adds to what _measure reports: measure a
    probe whose refcount is known (only the local `probe` holds it) the exact way chunks are."""
    probe = object()
    for group in _group_by_type([probe]).values():
        return _measure(group)[0] - 1
    return 0


# ---------------------------------------------------------------------------------------------
# The native accelerator (native/rgnative.c, the extension module _refgraph_native): when the
# file sits next to this one (refgraph capture and the pip package put it there) and this is a
# CPython it was checked on, the hot per-chunk steps _ints, _group_by_type and
# _Dumper.discover run in C, with the same results (tests/native.rs compares snapshots written
# both ways). REFGRAPH_NATIVE=0 keeps it unloaded. Anywhere else: pure Python, silently.

_NATIVE_NAME = "_refgraph_native"


class _NativeSpec:
    """What _imp.create_dynamic reads of a module spec: the name and the file."""
    __slots__ = ("name", "origin")

    def __init__(self, name, origin):
        self.name, self.origin = name, origin


def _native_supported():
    """A CPython the module was checked on: 3.10-3.13, 64-bit Linux, default (GIL) release
    build (the module reads object headers in that layout)."""
    abiflags = getattr(sys, "abiflags", None)
    return (sys.implementation.name == "cpython" and sys.platform.startswith("linux")
            and sys.maxsize > 2 ** 32 and (3, 10) <= tuple(sys.version_info[:2]) <= (3, 13)
            and type(abiflags) is str and "t" not in abiflags and "d" not in abiflags
            and getattr(sys, "gettotalrefcount", None) is None)


def _load_native():
    """The accelerator module, or None. Loaded through _imp.create_dynamic, the call importlib's
    ExtensionFileLoader makes: no sys.meta_path or path hook (the program's) is asked, and the
    module is taken back out of sys.modules (only this dumper uses it)."""
    try:
        if os.environ.get("REFGRAPH_NATIVE", "") in ("0", "false", "no"):
            return None
        if not _native_supported():
            return None
        path = _path_join(_path_split(_abspath(__file__))[0], _NATIVE_NAME + ".so")
        if not os.path.isfile(path):
            return None
        imp = sys.modules.get("_imp")
        if type(imp) is not _ModuleType:
            return None
        modules = sys.modules
        before = dict.get(modules, _NATIVE_NAME, _MISSING) if type(modules) is dict else None
        module = imp.create_dynamic(_NativeSpec(_NATIVE_NAME, path))
        imp.exec_dynamic(module)
        if type(modules) is dict and before is _MISSING \
                and dict.get(modules, _NATIVE_NAME) is module:
            dict.pop(modules, _NATIVE_NAME)
        if type(module) is not _ModuleType or not hasattr(module, "attr_edges_text"):
            return None        # (a module of another refgraph version: not used)
        return module
    except Exception:
        return None


_native_module = _load_native()
_native = None                  # _native_module while it is in use (see _use_native)
_python_ints, _python_group_by_type = _ints, _group_by_type


def _native_ints(values):
    try:
        return _native.ints(values)
    except Exception:       # not a list of ints (never for ids): the Python way
        return _python_ints(values)


def _use_native(on):
    """Dump with the accelerator (if it loaded) or in pure Python; returns which is in use,
    "native" or "python" (the header's `dumper`). Dumps after this call use it."""
    global _native, _ints, _group_by_type
    if on and _native_module is not None:
        _native = _native_module
        _ints, _group_by_type = _native_ints, _native.group_by_type
        return "native"
    _native = None
    _ints, _group_by_type = _python_ints, _python_group_by_type
    return "python"


_use_native(True)


def _native_objects():
    """The accelerator's own objects, left out of the snapshot like this module's."""
    if _native_module is None:
        return []
    d = _module_dict(_native_module)
    found = [_native_module, d]
    for value in dict.values(d):
        if type(value) is _BuiltinFunctionType:
            found.append(value)
        elif type(value) is type:        # KeySet: the class and its parts
            found.extend((value, _class_dict(value), _type_mro(value), _type_bases(value)))
            found.extend(v for v in dict.values(_class_dict(value))
                         if type(v) in (_MethodDescrType, _WrapperDescrType, _GetSetType,
                                        _MemberType))
            found.extend(_weakref.getweakrefs(value))
    return found


# The accelerator's attribute reader (instance_attrs): on 3.11-3.13 it reads instances'
# attributes where the interpreter keeps them, so that no __dict__ is made for them (reading
# __dict__ would make one per instance: FORMAT.md, residual effects). It reads interpreter
# internals of one minor version, so it is used only when it reads the probe instances below
# exactly as their __dict__s list them; else (and for an instance it cannot read) the dumper
# reads __dict__ as before.

class _AttrProbe:
    """Instances for the reader's self-test (a class of the dumper: left out of snapshots)."""


class _AttrProbeSub(_AttrProbe):
    """Subclass instances: keys of their own class."""


class _AttrProbeBig:
    """More attributes than the shared keys hold."""


def _attrs_reader():
    """_native_module.instance_attrs if it agrees with __dict__ here, else None."""
    try:
        minor = sys.version_info[1]
        if _native_module is None or sys.version_info[0] != 3 or not 11 <= minor <= 13:
            return None
        read = _native_module.instance_attrs
        probes, setattr_, delattr_ = [], object.__setattr__, object.__delattr__
        for i in range(12):
            o = (_AttrProbeSub if i % 2 else _AttrProbe)()
            names = ("a", "b", "c", "d", "e") if i % 3 else ("e", "d", "c", "b", "a")
            for name in names[:2 + i % 4]:
                setattr_(o, name, (i, name))
            if i % 4 == 3:
                delattr_(o, "b")
                setattr_(o, "b", (i, "b2"))
            if i % 5 == 4:
                delattr_(o, names[0])
            probes.append(o)
        readable = len(probes)
        big = _AttrProbeBig()
        for j in range(40):
            setattr_(big, "a%d" % j, j)
        made = _AttrProbe()
        setattr_(made, "a", 1)
        made.__dict__                              # materialized: the reader must refuse it
        replaced = _AttrProbe()
        replaced.__dict__ = {"z": 1}
        probes += [big, made, replaced]
        counts, names, values = read(probes, minor)
        if type(counts) is not list or len(counts) != len(probes) or \
                min(counts[:readable]) < 0 or counts[-2:] != [-1, -1]:
            return None
        at = 0
        for o, k in zip(probes, counts):
            if k < 0:
                continue
            want = list(dict.items(o.__dict__))
            if len(want) != k or any(n != w[0] or v is not w[1] for n, v, w in
                                     zip(names[at:at + k], values[at:at + k], want)):
                return None
            at += k
        return read if at == len(names) == len(values) else None
    except Exception:
        return None


_read_attrs = _attrs_reader()
_attr_edges = getattr(_native_module, "attr_edges", None) if _read_attrs is not None else None
_MINOR = sys.version_info[1]


# ---------------------------------------------------------------------------------------------
# The dumper's own objects: left out of the snapshot, and their references subtracted.

def _own_code_ids(own=None):
    """ids of the code objects of every function in this module (frames running them are ours);
    `own` is _own_objects() if the caller has it."""
    functions = [o for o in (own or _own_objects()) if type(o) is _FunctionType]
    return set(map(id, _codes_of(functions)))


def _codes_of(functions):
    """The code objects of these functions and those nested in them, each once: a function's
    own, then those nested in it, in the order of `functions`."""
    found, order = set(), []
    stack = [_f_code(f) for f in reversed(functions)]
    while stack:
        code = stack.pop()
        if id(code) in found:
            continue
        found.add(id(code))
        order.append(code)
        stack.extend(c for c in reversed(_co_consts(code)) if type(c) is _CodeType)
    return order


def _own_objects():
    """The container objects this module created: its module object and dict, functions,
    classes, tables and their parts. Never shared objects such as strings or other modules."""
    g = globals()
    found = {}
    stack = [g]
    me = sys.modules.get(__name__)
    if type(me) is _ModuleType and _module_dict(me) is g:
        stack.append(me)
    for key in ("__spec__", "__loader__"):
        value = g.get(key)
        if value is not None and type(value) is not type:
            stack.append(value)
            stack.extend(_instance_dict_of(value))
    stack.extend(_native_objects())
    while stack:
        o = stack.pop()
        if id(o) in found:
            continue
        found[id(o)] = o
        stack.extend(_own_parts(o, g))
    return list(found.values())


def _instance_dict_of(o):
    """[o.__dict__, read by the C getter] or []. With the attribute reader (_attrs_reader), an
    instance whose __dict__ was never made gets [a dict of its attributes] made here instead:
    the dumper's own, where reading __dict__ would make one in the instance."""
    if _native is not None and _read_attrs is not None:
        try:
            counts, names, values = _read_attrs([o], _MINOR)
            if counts[0] >= 0:
                return [dict(zip(names, values))]
        except Exception:
            pass
    getter = _dict_getter(type(o))
    if getter is None:
        return []
    try:
        return [getter(o)]
    except Exception:
        return []


def _is_own_class(cls):
    module = _str_key_get(_class_dict(cls), "__module__")
    return type(module) is str and str.__eq__(module, __name__)


def _own_parts(o, g):
    """The parts of one of our objects that are ours as well."""
    t = type(o)
    if t is dict:
        values = [v for k, v in list(dict.items(o)) if not (o is g and k == "__builtins__")]
        return [v for v in values if _is_own_value(v, g)]
    if t in (list, tuple, set, frozenset):
        return [v for v in _gc_get_referents(o) if _is_own_value(v, g)]
    if t is _FunctionType:
        parts = [_f_code(o)]
        parts.extend(r for r in _gc_get_referents(o)
                     if type(r) in (tuple, dict, _CellType) and not _is_shared(r)
                     and r is not _f_globals(o)
                     and (_f_builtins is None or r is not _f_builtins(o)))
        return parts
    if t is _CellType or t in (staticmethod, classmethod, property):
        return [v for v in _gc_get_referents(o) if _is_own_value(v, g)]
    if t is _CodeType:
        consts = _co_consts(o)
        parts = [c for c in consts if type(c) is _CodeType]
        return parts + [consts] if type(consts) is tuple and not _is_shared(consts) else parts
    if _is_subclass(type, t) and _is_ready(o):
        parts = [_class_dict(o), _type_mro(o), _type_bases(o)]
        parts.extend(v for v in dict.values(_class_dict(o))
                     if type(v) in (_FunctionType, _GetSetType, _MemberType, staticmethod,
                                    classmethod, property))
        try:
            import _weakref
            parts.extend(_weakref.getweakrefs(o))
        except Exception:
            pass
        return parts
    if type(t) is type and _type_flags(t) & _TPFLAGS_HEAPTYPE and _is_own_class(t):
        return _instance_dict_of(o) + [v for v in _gc_get_referents(o) if _is_own_value(v, g)]
    if t in (_MethodType, _MethodWrapperType, _BuiltinFunctionType):
        return [r for r in _gc_get_referents(o) if _is_own_value(r, g)]
    return []


# The interpreter's one empty frozenset on 3.8/3.9; None from 3.10 on, where each empty
# frozenset made is a new (gc-tracked) object: the dumper's own when it made it.
_SHARED_EMPTY_FROZENSET = frozenset() if frozenset() is frozenset() else None


def _is_shared(o):
    """An object the interpreter shares between all its users (the empty tuple, and the empty
    frozenset on 3.8/3.9): never the dumper's own, whoever refers to it."""
    t = type(o)
    if t is tuple:
        return not len(o)
    return t is frozenset and o is _SHARED_EMPTY_FROZENSET


def _is_own_value(v, g):
    t = type(v)
    if t in (dict, list, tuple, set, frozenset, _CellType, _CodeType):
        return not _is_shared(v)
    if t is _FunctionType:
        return _f_globals(v) is g
    if t in (_MethodType, _MethodWrapperType):
        return True        # bindings created by this module (e.g. descriptor.__get__)
    if t is _BuiltinFunctionType:
        owner = _bf_self(v)
        return owner is not None and not _is_subclass(_ModuleType, type(owner))
    if t is _GetSetType or t is _MemberType:
        return False
    if _is_subclass(type, t):
        return _type_flags(v) & _TPFLAGS_HEAPTYPE and _is_own_class(v)
    return type(t) is type and bool(_type_flags(t) & _TPFLAGS_HEAPTYPE) and _is_own_class(t)


def _dict_getter(cls):
    """The C getter of instances' __dict__ (a getset_descriptor of the class or a base), or
    None. A property or other Python-level `__dict__` is never used."""
    try:
        mro = _type_mro(cls) if _is_ready(cls) else None
    except Exception:
        return None
    for klass in mro or ():
        desc = dict.get(_class_dict(klass), "__dict__")
        if type(desc) is _GetSetType:
            return desc.__get__
    return None


# ---------------------------------------------------------------------------------------------
# Per-type plans: how objects of one exact type are read, decided once per dump.

class _Plan:
    __slots__ = ("type", "index", "index_text", "index_raw", "edges", "each", "label_kind",
                 "label_base", "size", "size_extra", "gc", "indexed", "dict_get", "readers",
                 "heap", "base", "plain")


def _sizeof_of(mro):
    """The __sizeof__ that sys.getsizeof would call, if it is C code; else None."""
    for cls in mro:
        found = dict.get(_class_dict(cls), "__sizeof__", _MISSING)
        if found is not _MISSING:
            kind = type(found)
            return found if kind is _MethodDescrType or kind is _WrapperDescrType else None
    return None


class _KeyLabels:
    """Edge labels of dict pairs not made yet: the keys they will be made from (`times` times
    over, for a group of dicts with the same keys)."""
    __slots__ = ("keys", "times")

    def __init__(self, keys, times=1):
        self.keys = keys
        self.times = times


class _Shaped:
    """The references of a group of `n` objects that all have `width` references, the same
    object at each position of `fixed` ({position: object}) for all of them: the class of
    instances, the keys of dicts with the same keys, a value they all share (None, ...). Each
    other position has a column: [(position, [the object there, object by object])]. The ids
    are written through a row template (the fixed ids formatted once), and only the columns
    need looking up, column by column (what one column holds is mostly of one type: a chunk
    of one type needs no sorting)."""
    __slots__ = ("n", "width", "fixed", "columns")

    def __init__(self, n, width, fixed, columns):
        self.n, self.width, self.fixed, self.columns = n, width, fixed, columns
        if n > 1:       # a column of one shared object is fixed too
            for column in list(columns):
                first = column[1][0]
                if all(map(is_, column[1], repeat(first))):
                    fixed[column[0]] = first
                    columns.remove(column)

    def expand(self):
        """The plain flat list of references."""
        n, width = self.n, self.width
        refs = [None] * (n * width)
        for p, column in self.columns:
            refs[p::width] = column
        for p, obj in self.fixed.items():
            refs[p::width] = [obj] * n
        return refs

    def text(self, column_ids):
        """The inside of the JSON array of the references' ids (column_ids: the ids of each
        column)."""
        fixed = self.fixed
        row = ",".join(["%d" % id(fixed[p]) if p in fixed else "%d" for p in range(self.width)])
        values = [None] * (self.n * len(column_ids))
        for k, ids in enumerate(column_ids):
            values[k::len(column_ids)] = ids
        return ((row + ",") * self.n)[:-1] % tuple(values)


class _Group:
    """One group of objects of one exact type, on its way to an `objects` line. `special`:
    some are held by the dumper, its own, or garbage (see _Dumper.special)."""
    __slots__ = ("objs", "ids", "counts", "special")

    def __init__(self, objs, ids, counts, special=True):
        self.objs, self.ids, self.counts, self.special = objs, ids, counts, special


class _Line:
    """The columns of one `objects` line, as JSON text fragments (one per group)."""

    def __init__(self):
        self.ids, self.types, self.sizes, self.refcounts, self.flags = [], [], [], [], []
        self.labels, self.nrefs, self.refs, self.edge_labels = [], [], [], []
        self.sites = None                 # a list of text fragments when tracing
        self.objects = self.edges = 0

    def parts(self):
        """The text of the line: str, and lists of fragments to be joined by commas."""
        return [
            '{"kind":"objects","id":[', self.ids,
            '],"type":[', self.types,
            '],"size":[', self.sizes,
            '],"refcount":[', self.refcounts,
            '],"flags":[', self.flags,
            '],"label":[', self.labels,
            '],"nrefs":[', self.nrefs,
            '],"refs":[', self.refs,
            '],"edge_labels":[', self.edge_labels,
            "]}\n" if self.sites is None else '],"site":[',
            [] if self.sites is None else self.sites,
            "" if self.sites is None else "]}\n"]

    def pieces(self):
        """The text of the line, in pieces."""
        return [part if type(part) is str else ",".join(part) for part in self.parts()]


class _Dumper:
    """One dump: walks the heap in chunks and writes the snapshot lines."""

    def __init__(self, out, values, garbage):
        self.out = out
        self.values = values
        self.garbage = garbage            # ids the collector found unreachable
        # keys (_key_of) of objects written or queued: a set, or the accelerator's compact one
        self.seen = _native.KeySet() if _native is not None else set()
        self.excluded = set()             # ids of the dumper's own objects
        self.excluded_keys = set()        # ... and their keys, set when the walk starts
        self.held = {}                    # id -> references the dumper holds to that object
        self.special = set()              # ids held, excluded or garbage (filled as the walk
                                          # starts): a group without any needs no sorting out
        # ... and their keys, with the accelerator: a group none of whose keys is there is
        # known to have none without making its objects' ids (a key may stand for two ids)
        self.special_keys = _native.KeySet() if _native is not None else None
        # excluded_keys as the accelerator's set, when the walk starts
        self.excluded_bits = None
        self.pending = []                 # lists of discovered objects not yet written
        self.pending_ids = []             # ... and their ids, or None
        self.plans = {}                   # id(type) -> _Plan
        self.new_types = []               # type names not yet written in a `types` line
        self.type_count = 0
        self.pair_texts = {}              # str key (a copy) -> JSON text of its two edge labels
        self.pair_labels_of = {}          # str key (a copy) -> (key edge label, value edge label)
        # Which str dict keys the edge labels show: "all" (values=True); with values=False
        # "names" (identifiers) for a namespace's keys, which are names from code
        # (`.__dict__['CACHE']`), and "none" for any other dict's, which are data: a cache
        # keyed by bearer tokens must not put them in the file. Namespaces are the exact dicts
        # a module, class, instance, function or frame refers to by a _NAMESPACE_LABELS edge:
        # id -> the dict, held (so that its id stands for no other dict) and counted as held.
        # Every other object is written before any exact dict (`deferred`), so each namespace
        # is known by the time its keys are written.
        self.keys_shown = "all" if values else "none"
        self.namespaces = None if values else {}
        self.deferred = None if values else []     # lists of exact dicts not written yet
        offset = self.refcount_offset = _refcount_offset()
        if _native is None:
            self.count_held(_measure_held())
        self.refcount_text = _Memo(lambda n: str(n - offset))
        self.objects = self.edges = self.garbage_written = 0
        deque = sys.modules.get("_collections")
        self.deque = getattr(deque, "deque", None) if type(deque) is _ModuleType else None
        self.last_refs = None
        self.static_type_dicts = _static_type_dicts()
        self.modules = None               # _modules_by_name(), when first needed
        io = sys.modules.get("_io")
        self.bytesio = _str_key_get(_module_dict(io), "BytesIO") if type(io) is _ModuleType \
            else None
        self.sites = _Sites() if _tracing() else None
        # the binary writer with the accelerator: ids, refcounts and references as raw 8-byte
        # fragments (_native.raw_*), not as text it would parse back (_BinaryOutput.objects)
        self.raw = type(out) is _BinaryOutput and _native is not None and \
            hasattr(_native, "column_of")

    # -- bookkeeping ---------------------------------------------------------------------------

    def hold(self, obj):
        """Count one reference that a structure of this dump (a plan) holds to obj."""
        self.count_held((obj,))

    def count_held(self, objs):
        """References the caller holds for the dumper (not kept here)."""
        for o in objs:
            self.held[id(o)] = self.held.get(id(o), 0) + 1
            self.special.add(id(o))
            if self.special_keys is not None:
                self.special_keys.add_objects([o], _KEY_SHIFT)

    def count_refs_of_excluded(self, objs):
        """References from the dumper's own objects are not the program's: count them as held."""
        excluded = self.excluded
        for o in objs:
            refs = _dict_pairs(o) if type(o) is dict else _any_referents(o)
            self.count_held(r for r in refs if id(r) not in excluded)

    def note_namespaces(self, refs, labels):
        """values=False: the exact dicts among `refs` that a _NAMESPACE_LABELS edge names."""
        self.note_namespace_dicts([r for r, label in zip(refs, labels)
                                   if label in _NAMESPACE_LABELS])

    def note_namespace_dicts(self, dicts):
        """values=False: these objects, those that are exact dicts, are namespaces (in bulk:
        an instance's __dict__ each, before 3.11)."""
        fresh = {id(d): d for d in dicts if type(d) is dict}
        for known in list(filter(self.namespaces.__contains__, fresh)):
            del fresh[known]
        if not fresh:
            return
        self.namespaces.update(fresh)
        held = self.held
        held.update(zip(fresh, map(add, map(held.get, fresh, repeat(0)), repeat(1))))
        self.special.update(fresh)
        if self.special_keys is not None:
            self.special_keys.add_objects(list(fresh.values()), _KEY_SHIFT)

    def namespaces_among(self, ids):
        """values=False: for each of these dict ids, whether that dict is a namespace."""
        found = list(map(self.namespaces.__contains__, ids))
        static = self.static_type_dicts
        if static.isdisjoint(ids):
            return found
        return [known or i in static for known, i in zip(found, ids)]

    # -- type plans ----------------------------------------------------------------------------

    def plan(self, cls):
        plan = self.plans.get(id(cls))
        if plan is None:
            plan = self.plans[id(cls)] = self.make_plan(cls)
        return plan

    def make_plan(self, cls):
        plan = _Plan()
        plan.type = cls
        self.hold(cls)
        plan.index = self.type_count
        plan.index_text = str(plan.index)
        plan.index_raw = plan.index.to_bytes(8, "little")      # (a column_of fragment)
        self.type_count += 1
        self.new_types.append(_type_name(cls))
        try:
            mro = (_type_mro(cls) if _is_ready(cls) else None) or (cls,)
        except Exception:
            mro = (cls, object)
        flags = _type_flags(cls)
        plan.heap = bool(flags & _TPFLAGS_HEAPTYPE)
        plan.gc = bool(flags & _TPFLAGS_HAVE_GC)
        plan.indexed = False
        plan.readers = []
        plan.dict_get = None
        plan.base = None
        plan.each = self.edges_generic
        plan.plain = False      # instances of a plain class (edges_instances)

        plan.label_kind = plan.label_base = None
        for klass in mro:
            kind = _LABEL_KINDS.get(id(klass))
            if kind is None and klass is self.deque:
                kind = "items"
            if kind is not None:
                plan.label_kind, plan.label_base = kind, klass
                break
        kind = plan.label_kind

        plan.size = _sizeof_of(mro)     # decided on the first group (see sizes_text)
        # by identity: `in` would call __eq__ of a program's metaclass (hostile_hooks.py)
        if (_HAZARDS["buffer_referent"] and self.bytesio is not None
                and any(map(is_, mro, repeat(self.bytesio)))):
            plan.size = None    # the object alone: its buffer is a referent, sized on its own
        plan.size_extra = None
        if plan.size is not None:
            self.hold(plan.size)

        builtin_bases = [k for k in mro if not _type_flags(k) & _TPFLAGS_HEAPTYPE]
        for klass in (dict, list, tuple):
            if klass in builtin_bases:
                plan.base = klass
        if plan.heap:
            plan.dict_get = _dict_getter(cls)
            if plan.dict_get is not None:
                self.hold(plan.dict_get.__self__)     # the method-wrapper holds the getset
        # classes are named by edges_type; only the slots of a metaclass add to that
        self.add_readers(plan, mro if kind != "type" else [k for k in mro if k not in
                                                           builtin_bases])

        if not plan.gc:
            plan.edges = self.edges_none
        elif cls is list or cls is tuple:
            plan.edges, plan.indexed = self.edges_sequence, True
        elif id(cls) in _GEN_FRAMES:
            plan.edges, plan.each = self.edges_each, self.edges_generator
        elif cls is set or cls is frozenset:
            plan.edges, plan.each = self.edges_members, self.edges_members_one
        elif cls is self.deque and cls is not None:
            plan.edges, plan.each = self.edges_each, self.edges_items_one
        elif _lru_dict_getter(cls) is not None:
            plan.edges, plan.each = self.edges_each, self.edges_lru_wrapper
            plan.dict_get = _lru_dict_getter(cls)
            self.hold(plan.dict_get.__self__)
        elif cls is dict:
            plan.edges, plan.each = self.edges_dict, self.edges_dict_one
        elif kind == "function" and not plan.heap:
            plan.edges, plan.each = self.edges_each, self.edges_function
        elif kind == "type":
            plan.edges, plan.each = self.edges_each, self.edges_type
        elif kind == "frame":
            plan.edges, plan.each = self.edges_each, self.edges_frame
        elif kind == "module" and _HAZARDS["module_referents"]:
            plan.edges, plan.each = self.edges_each, self.edges_module
        elif plan.heap and builtin_bases == [object] and not plan.readers:
            plan.edges = self.edges_instances
            plan.plain = True
        else:
            plan.edges = self.edges_each
        return plan

    def add_readers(self, plan, mro):
        """Named fields to label references with: slots of the program's classes and fields of
        builtin bases (member descriptors, and getsets that only read a stored pointer)."""
        names = set()
        for klass in mro:
            heap = _type_flags(klass) & _TPFLAGS_HEAPTYPE
            pure = _PURE_GETSETS.get(id(klass), ())
            by_name = False
            if not pure:
                # a heap type on 3.12+ (module state); a getset is C code of a builtin type
                # even when a class copies it (it then refuses the class's objects)
                pure = _PURE_GETSETS_BY_NAME.get(tuple(_type_name(klass)), ())
                by_name = bool(pure)
            for name, desc in list(dict.items(_class_dict(klass))):
                if type(name) is not str or name in names:
                    continue
                if type(desc) is _MemberType or (type(desc) is _GetSetType
                                                 and (not heap or by_name) and name in pure):
                    names.add(name)
                    self.hold(desc)                   # held by the method-wrapper below
                    plan.readers.append(("." + name, desc.__get__))

    # -- columns -------------------------------------------------------------------------------

    def sizes_text(self, plan, objs):
        """sys.getsizeof, computed as the type's C __sizeof__ plus the constant the interpreter
        adds for the type (GC header, ...). A type with a __sizeof__ of its own, which is
        never called, gets object.__sizeof__ plus that header."""
        if plan.size_extra is None:
            plan.size_extra = self.size_extra(plan, objs[0])
        sizeof = plan.size if plan.size is not None else object.__sizeof__
        try:
            if sizeof is object.__sizeof__ and not _type_itemsize(plan.type):
                return _repeat(str(sizeof(objs[0]) + plan.size_extra), len(objs))
            sizes = map(sizeof, objs)
            if plan.size_extra:
                sizes = map(add, sizes, repeat(plan.size_extra))
            return _small_ints(list(sizes))
        except Exception:
            return _small_ints([_safe_getsizeof(o) if plan.size is not None else 0
                                for o in objs])

    @staticmethod
    def size_extra(plan, sample):
        if plan.size is not None and plan.label_kind != "type":
            try:
                return _getsizeof(sample) - plan.size(sample)
            except Exception:
                pass
        return _GC_HEADER if plan.gc else 0

    def labels_text(self, plan, objs):
        kind = plan.label_kind
        try:
            if kind is None:
                return _repeat("null", len(objs))
            if kind == "str":
                return _str_text(objs, self.values)
            if kind == "items":
                length = len if plan.type is plan.label_base else plan.label_base.__len__
                return ",".join(map(_ITEMS_JSON.__getitem__, map(length, objs)))
            if kind == "int":
                text = _native.int_labels(objs, _BIG_INT_BITS) if _native is not None else None
                return _int_text(objs) if text is None else text
            if kind == "float":
                return _float_text(objs)
            if kind == "bool":
                return _json_items(list(map(bool.__repr__, objs)))
            if kind == "none":
                return _repeat('"None"', len(objs))
            if kind == "complex":
                return _json_items(list(map(complex.__repr__, objs)))
            if kind in ("bytes", "bytearray"):
                return _bytes_text(objs, self.values, plan.label_base)
            if kind == "function" and plan.type is _FunctionType:
                return _function_text(objs)
            return _json_items(_each_label(_PER_OBJECT_LABELS[kind], objs))
        except Exception:
            return _json_items(_each_label(lambda o: self.label_of(plan, o), objs))

    def label_of(self, plan, o):
        """The label of one object (the slow path of labels_text)."""
        kind, base = plan.label_kind, plan.label_base
        if kind is None:
            return None
        if kind == "str":
            return _str_label(o) if self.values else "<str %d chars>" % str.__len__(o)
        if kind in ("bytes", "bytearray"):
            return (_bytes_label(o, base) if self.values
                    else "<bytes %d bytes>" % base.__len__(o))
        if kind == "items":
            return _items_text(base.__len__(o))
        if kind == "int":
            return _int_label(o)
        if kind == "none":
            return "None"
        if kind in ("float", "bool", "complex"):
            return base.__repr__(o)
        return _PER_OBJECT_LABELS[kind](o)

    def flags_text(self, plan, group, indexed):
        base = _FLAG_INDEXED if indexed else 0
        objs = group.objs
        internal = self.internal_dicts(group) if plan.type is dict else None
        if internal or (group.special and self.garbage
                        and not self.garbage.isdisjoint(group.ids)):
            garbage = self.garbage
            flags = [base | (_FLAG_TRACKED if _gc_is_tracked(o) else 0) for o in objs]
            for i, x in enumerate(group.ids):
                if x in garbage:
                    flags[i] |= _FLAG_GARBAGE
                    self.garbage_written += 1
            for i in internal or ():
                flags[i] |= _FLAG_INTERNAL
            return _small_ints(flags)
        if not plan.gc:
            return _repeat(str(base), len(objs))
        tracked = list(map(_gc_is_tracked, objs))
        if all(tracked):
            return _repeat(str(base | _FLAG_TRACKED), len(objs))
        if not any(tracked):
            return _repeat(str(base), len(objs))
        return ",".join(map(_FLAG_TEXT[base].__getitem__, tracked))

    def internal_dicts(self, group):
        """Positions in a group of exact dicts of those the interpreter itself holds and no
        object reports (flag 16): static types' __dict__, class subclass registries
        ({id(cls): weakref(cls)}), the import system's copies of extension modules' dicts."""
        objs, found = group.objs, []
        ids = self.group_ids(group)
        if not self.static_type_dicts.isdisjoint(ids):
            found = [i for i, x in enumerate(ids) if x in self.static_type_dicts]
        try:
            firsts = list(map(next, map(iter, objs), repeat(None)))
        except RuntimeError:         # resized by another thread: not flagged
            return found
        for i in compress(range(len(objs)), map(is_, map(type, firsts), repeat(int))):
            if _is_subclass_registry(objs[i]):
                found.append(i)
        for i in compress(range(len(objs)), map(is_, firsts, repeat("__name__"))):
            if self.modules is None:
                self.modules = _modules_by_name()
            if _is_module_dict_copy(objs[i], self.modules):
                found.append(i)
        return found

    # -- dict keys -----------------------------------------------------------------------------

    def key_text(self, k):
        """The text of a dict key in edge labels (FORMAT.md: `'name'`, `42`, `<tuple>`)."""
        plan = self.plan(type(k))
        kind = plan.label_kind
        if kind == "str":
            if self.keys_shown == "all" or (self.keys_shown == "names" and str.isidentifier(k)):
                return _str_label(k)
            return "<str %d chars>" % str.__len__(k)
        if kind in ("bytes", "bytearray", "int", "bool", "float", "complex", "none"):
            return self.label_of(plan, k)
        return "<%s>" % _type_name(type(k))[1]

    def key_labels(self, k):
        """(key edge label, value edge label) of a dict key; cached by content for str keys
        (not while they are hidden: the cache may hold a namespace's shown names)."""
        cached = type(k) is str and self.keys_shown != "none"
        if cached:
            found = self.pair_labels_of.get(k)
            if found is not None:
                return found
        try:
            text = self.key_text(k)
        except Exception:
            text = "?"
        labels = ("key " + text, "[" + text + "]")
        if cached and len(self.pair_labels_of) < _KEY_CACHE_MAX:
            self.pair_labels_of[_str_copy(k)] = labels
        return labels

    def pair_labels(self, pairs):
        """Edge labels (a list) for [k0, v0, k1, v1, ...]."""
        return list(chain.from_iterable(map(self.key_labels, pairs[0::2])))

    def pair_text(self, keys):
        """JSON text of the edge labels of the pairs with these keys (key 'k', ['k'], ...)."""
        is_str = list(map(is_, map(type, keys), repeat(str)))
        strs = keys if all(is_str) else list(compress(keys, is_str))
        if len(strs) > 64 and self.keys_shown == "all":
            found = list(map(self.pair_texts.get, strs))
            if found.count(None) * 2 > len(strs) and _all_plain(strs):
                return self.bulk_pair_text(keys, is_str, strs, found)
        if strs is keys:
            return ",".join(self.str_pair_texts(keys))
        texts = [None] * len(keys)
        where = list(compress(range(len(keys)), is_str))
        for i, text in zip(where, self.str_pair_texts(strs)):
            texts[i] = text
        for i in compress(range(len(keys)), map(not_, is_str)):
            texts[i] = self.other_pair_text(keys[i])
        return ",".join(texts)

    def bulk_pair_text(self, keys, is_str, strs, found):
        """pair_text when most str keys are new plain words (the keys of a big cache ...): the
        text is formatted at once, each str key going into _PAIR_TEXT."""
        self.str_pair_texts(list(filter(str.isidentifier, compress(
            strs, map(is_, found, repeat(None))))))      # the identifiers go to the cache
        if strs is keys:
            template = ((_PAIR_TEXT + ",") * len(keys))[:-1]
        else:
            pieces = [_PAIR_TEXT] * len(keys)
            for i in compress(range(len(keys)), map(not_, is_str)):
                pieces[i] = self.other_pair_text(keys[i]).replace("%", "%%")
            template = ",".join(pieces)
        return template % tuple(chain.from_iterable(zip(strs, strs)))

    def other_pair_text(self, k):
        """pair_text of one key that is not an exact str."""
        if type(k) is int and int.bit_length(k) <= _BIG_INT_BITS:
            return _INT_PAIR_TEXT % (k, k)
        return self.slow_pair_text(k)

    def str_pair_texts(self, keys):
        """pair_text of each of a list of exact str keys, through a cache keyed by content
        (not while they are hidden: the cache may hold a namespace's shown names)."""
        if not keys:
            return []
        if self.keys_shown == "none":
            return list(map(_HIDDEN_PAIR_TEXT.__getitem__, map(str.__len__, keys)))
        cache = self.pair_texts
        found = list(map(cache.get, keys))
        if not all(found):
            missed = list(compress(range(len(found)), map(not_, found)))
            new_keys = list(map(keys.__getitem__, missed))
            texts = self.new_pair_texts(new_keys)
            for i, text in zip(missed, texts):
                found[i] = text
            if len(cache) < _KEY_CACHE_MAX:
                # Identifiers (attribute names, ...) are the keys that come back: cache those,
                # keyed by copies, so that the cache holds (and counts in) no program strings.
                names = list(map(str.isidentifier, new_keys))
                cache.update(zip(map("".join, zip(compress(new_keys, names), repeat(""))),
                                 compress(texts, names)))
        return found

    def new_pair_texts(self, keys):
        """pair_text for str keys not seen before, in bulk when they are plain ASCII words.
        A namespace's with values=False: only identifiers are shown, others by their length."""
        shown = [True] * len(keys) if self.keys_shown == "all" else list(
            map(str.isidentifier, keys))
        if all(shown) and _all_plain(keys):
            return list(map(_PAIR_TEXT.__mod__, zip(keys, keys)))
        return [(_PAIR_TEXT % (k, k) if _is_plain(k) else self.slow_pair_text(k)) if show
                else _HIDDEN_PAIR_TEXT[str.__len__(k)] for k, show in zip(keys, shown)]

    def slow_pair_text(self, k):
        return _json_items(list(self.key_labels(k)))

    # -- references ----------------------------------------------------------------------------
    # Each edges_* method takes a plan and a list of its objects and returns (nrefs, flat list of
    # references, edge labels). nrefs is a list or one int for all; edge labels are None (the
    # plan is indexed), a list, or the JSON text of the list.

    def edges_none(self, plan, objs):
        return 0, [], ""

    def edges_sequence(self, plan, objs):
        """Exact lists and tuples: their items in index order (gc.get_referents reports them
        last to first)."""
        lengths = list(map(len, objs))               # exact lists and tuples
        items = list(chain.from_iterable(objs))      # the C iterator of list/tuple
        if len(items) != sum(lengths):                # a list changed under us
            parts = [list(o) for o in objs]
            lengths, items = list(map(len, parts)), list(chain.from_iterable(parts))
        return lengths, items, None

    def edges_members(self, plan, objs):
        """Exact sets and frozensets: the collector reports exactly their members."""
        parts = list(map(_gc_get_referents, objs))
        lengths = list(map(len, parts))
        return lengths, list(chain.from_iterable(parts)), _repeat('"{member}"', sum(lengths))

    def edges_members_one(self, plan, o):
        refs = _gc_get_referents(o)
        return refs, ["{member}"] * len(refs)

    def edges_items_one(self, plan, o):
        """A deque: its collector visits the items left to right (the index order), after its
        class when that is a heap type (3.12+)."""
        refs = _gc_get_referents(o)
        start = 1 if refs and plan.heap and refs[0] is plan.type else 0
        labels = [".__class__"] * start
        labels.extend(map(_INDEX_LABEL.__getitem__, range(len(refs) - start)))
        return refs, labels

    def edges_dict(self, plan, objs):
        lengths = list(map(len, objs))               # exact dicts
        try:
            pairs = list(chain.from_iterable(chain.from_iterable(map(dict.items, objs))))
        except RuntimeError:
            pairs = None
        if pairs is None or len(pairs) != 2 * sum(lengths):   # changed under us: one by one
            return self.edges_each(plan, objs)
        # the labels are made once the references are known to be kept (see references())
        n, width = len(objs), 2 * lengths[0]
        if n > 1 and 0 < width <= _SHAPED_MAX and lengths.count(lengths[0]) == n:
            keys = pairs[0::2]
            row = keys[:lengths[0]]
            if all(map(is_, keys, cycle(row))):
                # the same keys in the same order (instance dicts, records): each key's id,
                # label and lookup once for the whole group
                fixed = dict(zip(range(0, width, 2), row))
                values = pairs[1::2]
                columns = [(2 * j + 1, values[j::len(row)]) for j in range(len(row))]
                return width, _Shaped(n, width, fixed, columns), _KeyLabels(row, n)
        return list(map(mul, lengths, repeat(2))), pairs, _KeyLabels(pairs[0::2])

    def edges_instances(self, plan, objs):
        """Instances of a plain class (object as only builtin base, no slots): their references
        are exactly [__dict__, class] once the dict exists. Checked, else done one by one."""
        if _native is not None and _read_attrs is not None and plan.dict_get is not None:
            # (a class whose __dict__ is not the C getter: its attributes stay unnamed, as the
            # Python code leaves them)
            found = self.edges_instances_read(plan, objs)
            if found is not None:
                return found
        cls, get_dict, n = plan.type, plan.dict_get, len(objs)
        dicts = None
        if get_dict is not None:
            try:
                dicts = list(map(get_dict, objs))
            except Exception:
                return self.edges_each(plan, objs)
            if self.namespaces is not None:
                self.note_namespace_dicts(dicts)
        per_object = list(map(_gc_get_referents, objs))
        refs = list(chain.from_iterable(per_object))
        if dicts is not None:
            if (len(refs) == 2 * n and all(map(is_, refs[0::2], dicts))
                    and all(map(is_, refs[1::2], repeat(cls)))):
                return 2, _Shaped(n, 2, {1: cls}, [(0, dicts)]), _repeat(
                    '".__dict__",".__class__"', n)
            found = _inline_values(cls, dicts, refs, n)
            if found is not None:
                # 3.13+: a __dict__ the program made (vars(), cached_property, copy ...) exists
                # beside the inline values, which the instance still reports itself. Recorded
                # once, through the dict (instance -> .__dict__ -> dict -> values); dicts the
                # dumper just made by reading __dict__ are not written.
                made = list(map(self.seen.__contains__, _keys(list(map(id, dicts)))))
                if not any(made):
                    return found
                if all(made):
                    return 2, _Shaped(n, 2, {1: cls}, [(0, dicts)]), _repeat(
                        '".__dict__",".__class__"', n)
            else:
                found = self.inline_values_mixed(cls, dicts, per_object, refs)
                if found is not None:
                    return found
        elif len(refs) == n and all(map(is_, refs, repeat(cls))):
            return 1, _Shaped(n, 1, {0: cls}, []), _repeat('".__class__"', n)
        return self.edges_each(plan, objs)

    def edges_instances_read(self, plan, objs):
        """edges_instances with the accelerator on 3.11-3.13: the attributes read where the
        interpreter keeps them, no __dict__ made (_attrs_reader), named .name in the order of
        their __dict__, then the class: the references of an instance with no __dict__ object
        (as gc reports them for inline values). Instances it cannot read (their __dict__
        exists, ...) are named one by one as before. None: it read none of them."""
        try:
            counts, names, values = _read_attrs(objs, _MINOR)
        except Exception:
            return None
        cls, n = plan.type, len(objs)
        k = counts[0] if n else -1
        if k >= 0 and counts.count(k) == n:
            row = names[:k]
            if all(map(is_, names, cycle(row))):
                columns = [(j, values[j::k]) for j in range(k)] if k else []
                labels = _json_items(["." + key for key in row] + [".__class__"])
                return k + 1, _Shaped(n, k + 1, {k: cls}, columns), _repeat(labels, n)
        if max(counts, default=-1) < 0:
            return None
        rest = [o for o, c in zip(objs, counts) if c < 0]
        rest_nrefs, rest_refs, rest_labels = self.edges_each(plan, rest) if rest else ([], [], [])
        if _attr_edges is not None:
            # (a dict of this call only: its keys are the program's attribute names, which
            # must not gain a reference while a later chunk reads their refcounts)
            return _attr_edges(counts, names, values, cls, ".__class__", {},
                               list(rest_nrefs), list(rest_refs), list(rest_labels))
        nrefs, refs, labels, at, r, e = [], [], [], 0, 0, 0
        dotted = {}
        for c in counts:
            if c < 0:
                m = rest_nrefs[r]
                nrefs.append(m)
                refs.extend(rest_refs[e:e + m])
                labels.extend(rest_labels[e:e + m])
                r, e = r + 1, e + m
                continue
            nrefs.append(c + 1)
            refs.extend(values[at:at + c])
            refs.append(cls)
            for key in names[at:at + c]:
                label = dotted.get(key)
                if label is None:
                    label = dotted[key] = "." + key
                labels.append(label)
            labels.append(".__class__")
            at += c
        return nrefs, refs, labels

    def inline_values_mixed(self, cls, dicts, per_object, refs):
        """_inline_values for instances whose attributes are not all the same (a few have one
        more ...): each set of instances with the same number of attributes must pass it, and
        their references are then named as it names them, in the objects' order. None if any
        does not, or if one of their __dict__s was made by the program (then edges_generic
        sorts them out one by one)."""
        if len(dicts) < 2 or not all(map(is_, map(type, dicts), repeat(dict))):
            return None
        lengths = list(map(len, dicts))           # exact dicts: len() runs no program code
        nrefs = list(map(len, per_object))
        if nrefs != list(map(add, lengths, repeat(1))):     # each: its values, its class
            return None
        where = {}
        for i, k in enumerate(lengths):
            where.setdefault(k, []).append(i)
        if len(where) < 2 or len(where) > 8:
            return None
        label_texts = {}
        for k, index in where.items():
            part = _inline_values(cls, list(map(dicts.__getitem__, index)),
                                  list(chain.from_iterable(map(per_object.__getitem__, index))),
                                  len(index))
            if part is None:
                return None
            width, _shaped, labels = part
            # _repeat(text, m): m texts and m - 1 commas
            label_texts[k] = labels[:(len(labels) + 1) // len(index) - 1]
        if any(map(self.seen.__contains__, _keys(list(map(id, dicts))))):
            return None
        return nrefs, refs, ",".join(map(label_texts.__getitem__, lengths))

    def edges_each(self, plan, objs):
        nrefs, refs, labels = [], [], []
        each = plan.each
        for o in objs:
            try:
                r, lab = each(plan, o)
            except Exception:
                try:
                    r = _any_referents(o)
                except Exception:
                    r = []
                lab = [None] * len(r)
            nrefs.append(len(r))
            refs.extend(r)
            labels.extend(lab)
        if self.namespaces is not None:
            self.note_namespaces(refs, labels)
        if None in labels:
            # a reference nothing names still says why (format 1.2): the collector reports it
            # from C code of this type, which exposes no attribute holding it
            unknown = "<referent of C type %s>" % _type_label_text(plan.type)
            labels = [unknown if label is None else label for label in labels]
        return nrefs, refs, labels

    def read_named(self, plan, o, named):
        for label, read in plan.readers:
            try:
                value = read(o)
            except Exception:
                continue
            if value is not None:     # None usually means an empty (NULL) field
                named.append((label, value))

    def edges_generic(self, plan, o):
        """Any object: what gc.get_referents reports, named by identity with its fields."""
        named = []
        attrs = None
        if plan.dict_get is not None:
            try:
                attrs = plan.dict_get(o)
                named.append((".__dict__", attrs))
            except Exception:
                pass
        if plan.heap:
            named.append((".__class__", plan.type))
        self.read_named(plan, o, named)
        base = plan.base
        if base is dict:
            pairs = _dict_pairs(o)
            rest = _without(_gc_get_referents(o), pairs)
            return pairs + rest, self.pair_labels(pairs) + _identity_labels(rest, named)
        refs = _gc_get_referents(o)
        if type(attrs) is dict and not any(map(is_, refs, repeat(attrs))):
            # the instance reports its attribute values itself (inline values, 3.13+)
            pairs = _dict_pairs(attrs)
            if _key_of(attrs) in self.seen:
                # ... and the program made its __dict__: recorded once, through the dict
                refs = [attrs] + _without(refs, pairs[1::2])
            else:
                # in the __dict__'s order (the collector reports them in the order of the
                # class's keys), as the native dumper's attribute reader lists them
                values = pairs[1::2]
                rest = _without(refs, values)
                if len(rest) + len(values) == len(refs):
                    refs = values + rest
                named.extend(("." + _text(pairs[i]), pairs[i + 1])
                             for i in range(0, len(pairs), 2))
        labels = _identity_labels(refs, named)
        if base is list or base is tuple:
            # the items come last (after the instance's own slots, __dict__ and class), last
            # item first: write them in index order
            items = list(base.__iter__(o))
            start = len(refs) - len(items)
            if start >= 0:
                refs[start:] = items
                labels[start:] = map(_INDEX_LABEL.__getitem__, range(len(items)))
        return refs, labels

    def edges_module(self, plan, m):
        """A module where the collector's visit is unsafe (_HAZARDS): its __dict__ only."""
        refs = _module_referents(m)
        return refs, [".__dict__"] * len(refs)

    def edges_dict_one(self, plan, d):
        pairs = _dict_pairs(d)
        return pairs, self.pair_labels(pairs)

    def edges_function(self, plan, f):
        """A function's references, named. Usually they are exactly its code, globals,
        builtins, module, defaults, kwdefaults, doc, name, closure and qualname (those that
        are set), in that order: checked by identity, else named one by one."""
        refs = _gc_get_referents(f)
        if _FUNCTION_FIELDS is not None:
            expected, labels = [], []
            for label, read in _FUNCTION_FIELDS:
                value = read(f)
                if value is not None or label == ".__doc__":
                    expected.append(value)
                    labels.append(label)
            if len(expected) == len(refs) and all(map(is_, refs, expected)):
                return refs, labels
        code = _f_code(f)
        named = [(".__code__", code), (".__globals__", _f_globals(f))]
        if _f_builtins is not None:
            named.append((".__builtins__", _f_builtins(f)))
        named.append((".__module__", _f_module(f)))
        for label, read in ((".__defaults__", _f_defaults), (".__kwdefaults__", _f_kwdefaults)):
            value = read(f)
            if value is not None:
                named.append((label, value))
        name, qualname = _f_name(f), _f_qualname(f)
        named.append((".__doc__", _f_doc(f)))
        named.append((".__name__", name))
        closure = _f_closure(f)
        if closure is not None:
            named.append((".__closure__", closure))
        if qualname is not name:
            named.append((".__qualname__", qualname))
        labels = _identity_labels(refs, named)
        if qualname is name:
            # the same str is visited twice, as __name__ and (last) as __qualname__
            for i in range(len(refs) - 1, -1, -1):
                if refs[i] is name:
                    labels[i] = ".__qualname__"
                    break
        if None in labels:
            _name_function_extras(refs, labels, code)
        return refs, labels

    def edges_type(self, plan, cls):
        refs = _gc_get_referents(cls)
        named = [(".__class__", type(cls))]
        if _is_ready(cls):      # else its __bases__ getter would crash the process
            named += [(".__dict__", _class_dict(cls)), (".__mro__", _type_mro(cls)),
                      (".__bases__", _type_bases(cls)), (".__base__", _type_base(cls))]
        self.read_named(plan, cls, named)
        return refs, _identity_labels(refs, named)

    def edges_generator(self, plan, g):
        """A 3.11+ generator, coroutine or async generator (see _GEN_FRAMES): its fields, its
        frame (`.gi_frame`, `.cr_frame`, `.ag_frame`) and the variables it holds for the frame
        (`local 'x'`, `cell 'x'`, `free 'x'`)."""
        label, get_frame = _GEN_FRAMES[id(plan.type)]
        frame = get_frame(g)            # before the referents: a frame made now is one of them
        refs = _gc_get_referents(g)
        named = []
        self.read_named(plan, g, named)
        local_pairs, code = [], None
        if frame is not None:
            named.append((label, frame))
            code = _fr_code(frame)
            try:
                flocals = _fr_locals(frame)
            except Exception:
                flocals = None
            if type(flocals) is dict:
                named.append((label + ".f_locals", flocals))
                local_pairs = _dict_pairs(flocals)
            elif _flp_items is not None and type(flocals) is _FrameLocalsType:
                local_pairs = list(chain.from_iterable(_flp_items(flocals)))
            for i in range(0, len(local_pairs), 2):
                named.append(("local " + _str_label(_text(local_pairs[i])), local_pairs[i + 1]))
        labels = _identity_labels(refs, named)
        if code is not None and None in labels:
            _name_frame_cells(refs, labels, code, local_pairs)
            for i, r in enumerate(refs):
                if labels[i] is None and type(r) is _FunctionType and _f_code(r) is code:
                    labels[i] = label + ".f_func"
        return refs, labels

    def edges_lru_wrapper(self, plan, w):
        """functools.lru_cache's C wrapper: `.cache` (its dict of results), `.__wrapped__` (the
        cached function), `.__dict__`; a bounded cache's entries (its
        linked list's keys and results, visited first) are `lru key` / `lru result`."""
        refs = _gc_get_referents(w)
        attrs = plan.dict_get(w)
        func = _str_key_get(attrs, "__wrapped__") if type(attrs) is dict else None
        named = [(".__class__", type(w)), (".__dict__", attrs)]
        labels = _identity_labels(refs, named)
        at = -1
        if func is not None:
            for i, r in enumerate(refs):
                if r is func:
                    at = i
            if at >= 0:
                labels[at] = ".__wrapped__"
        # the collector visits the entries, then (3.10+) cache, func or (3.8-3.9) func, cache
        end = -1
        cache_at = at - 1 if _VERSION >= (3, 10) else at + 1
        if at >= 0 and 0 <= cache_at < len(refs) and type(refs[cache_at]) is dict:
            labels[cache_at] = ".cache"
            end = min(at, cache_at)
        start = 1 if refs and refs[0] is type(w) else 0
        for i in range(start, end):
            labels[i] = "lru key" if (i - start) % 2 == 0 else "lru result"
        return refs, labels

    def edges_frame(self, plan, f):
        """A frame's locals by name. A running frame reports (almost) nothing to the collector,
        so its code, globals, builtins, caller and locals are added as references."""
        refs = _gc_get_referents(f)
        code, back = _fr_code(f), _fr_back(f)
        fglobals, fbuiltins, trace = _fr_globals(f), _fr_builtins(f), _fr_trace(f)
        try:
            flocals = _fr_locals(f)
        except Exception:
            flocals = None
        optimized = bool(_co_flags(code) & _CO_OPTIMIZED)
        local_pairs = []
        if optimized and type(flocals) is dict:
            local_pairs = _dict_pairs(flocals)
        elif optimized and _flp_items is not None and type(flocals) is _FrameLocalsType:
            local_pairs = list(chain.from_iterable(_flp_items(flocals)))
        named = [(".f_back", back), (".f_trace", trace), (".f_code", code),
                 (".f_globals", fglobals), (".f_builtins", fbuiltins)]
        for i in range(0, len(local_pairs), 2):
            named.append(("local " + _str_label(_text(local_pairs[i])), local_pairs[i + 1]))
        if not optimized and flocals is not None and flocals is not fglobals:
            named.append((".f_locals", flocals))
        labels = _identity_labels(refs, named)
        if None in labels:
            _name_frame_cells(refs, labels, code, local_pairs)
        for i, r in enumerate(refs):
            if labels[i] is None and type(r) is _FunctionType and _f_code(r) is code:
                labels[i] = ".f_func"
        present = set(map(id, refs))
        if id(code) not in present:        # running (or suspended) frame: add what it holds
            extra = [(label, v) for label, v in named if v is not None and id(v) not in present]
            refs = refs + [v for _label, v in extra]
            labels = labels + [label for label, _v in extra]
        return refs, labels

    # -- the walk ------------------------------------------------------------------------------

    def next_chunk(self, source):
        """The next objects to write, as a list that is their only holder in the dumper, and
        their ids if known (else None)."""
        if self.pending:
            last, ids = self.pending[-1], self.pending_ids[-1]
            if len(last) <= _CHUNK:
                self.pending_ids.pop()
                return self.pending.pop(), ids
            chunk = last[-_CHUNK:]
            del last[-_CHUNK:]
            if ids is not None:
                part = ids[-_CHUNK:]
                del ids[-_CHUNK:]
                return chunk, part
            return chunk, None
        chunk = source[-_CHUNK:]
        del source[-_CHUNK:]
        return chunk, None

    def walk(self, source):
        self.walk_chunks(source)
        deferred, self.deferred = self.deferred, None
        if deferred:        # values=False: the dicts, once every namespace is known
            self.pending.extend(deferred)
            self.pending_ids.extend([None] * len(deferred))
            deferred = None
            self.walk_chunks([])

    def walk_chunks(self, source):
        while source or self.pending:
            chunk, ids = self.next_chunk(source)
            groups = _group_by_type(chunk)
            chunk = None             # the groups' lists must be the objects' only holders
            if len(groups) != 1:
                ids = None           # (the chunk's ids are those of its one group only)
            if self.deferred is not None:
                self.defer_dicts(groups)
            if groups:
                self.write_chunk(groups, ids)

    def defer_dicts(self, groups):
        """values=False, until every other object is written: set the exact dicts of `groups`
        aside (see namespaces)."""
        for key in [key for key, objs in groups.items() if type(objs[0]) is dict]:
            self.deferred.append(groups.pop(key))

    def queue(self, objs, ids=None):
        """Queue objects (a list of the dumper's own) to be written; `ids`: their ids."""
        self.pending.append(objs)
        self.pending_ids.append(ids)

    def write_chunk(self, groups, ids=None):
        # Refcounts first: until they are read, nothing but the group lists may hold these
        # objects (apart from the references counted in self.held).
        if _native is not None:
            # measured in the same frames as below: the dumper's frames hold references too
            groups = [_Group(objs, ids, _measure(objs), False) for objs in groups.values()]
            self.may_be_special(groups)
        else:
            groups = [_Group(objs, list(map(id, objs)) if ids is None else ids, _measure(objs))
                      for objs in groups.values()]
        self.subtract_held(groups)
        line = _Line()
        if self.sites is not None:
            line.sites = []
        for group in groups:
            self.add_group(line, group)
        groups = None
        if self.new_types:
            self.out.types(self.type_count - len(self.new_types), self.new_types)
            self.new_types = []
        if self.sites is not None and self.sites.new:
            self.out.sites(*self.sites.take())
        self.out.objects(line)
        self.objects += line.objects
        self.edges += line.edges

    def may_be_special(self, groups):
        """With the accelerator: the groups one of whose objects may be special get their ids
        and special = None, for subtract_held to decide; the others' ids are made only if
        needed (group_ids)."""
        has_any = self.special_keys.has_any
        for group in groups:
            if has_any(group.objs, _KEY_SHIFT):
                group.special = None
                self.group_ids(group)

    @staticmethod
    def group_ids(group):
        if group.ids is None:
            group.ids = list(map(id, group.objs))
        return group.ids

    def subtract_held(self, groups):
        held, excluded, special = self.held, self.excluded, self.special
        for group in groups:
            if group.special is False:
                continue
            group.special = not special.isdisjoint(group.ids)
            if not group.special:
                continue
            hits = list(filter(held.__contains__, group.ids))
            if hits:
                where = dict(zip(group.ids, range(len(group.ids))))
                for h in hits:
                    group.counts[where[h]] -= held[h]
            if not excluded.isdisjoint(group.ids):
                keep = [i for i, x in enumerate(group.ids) if x not in excluded]
                group.objs = [group.objs[i] for i in keep]
                group.ids = [group.ids[i] for i in keep]
                group.counts = [group.counts[i] for i in keep]

    def add_group(self, line, group):
        if not group.objs:
            return
        plan = self.plan(type(group.objs[0]))
        if plan.type is dict and self.namespaces is not None:
            self.add_dicts(line, plan, group)
        else:
            self.add_objects(line, plan, group)

    def add_dicts(self, line, plan, group):
        """values=False: the namespaces among a group of exact dicts with their identifier
        keys shown, the others with none."""
        ids = self.group_ids(group)
        names = self.namespaces_among(ids)
        for shown, wanted in (("names", True), ("none", False)):
            keep = [n is wanted for n in names]
            part = _Group(list(compress(group.objs, keep)), list(compress(ids, keep)),
                          list(compress(group.counts, keep)), group.special)
            self.keys_shown = shown
            try:
                self.add_objects(line, plan, part)
            finally:
                self.keys_shown = "none"

    def add_objects(self, line, plan, group):
        if not group.objs:
            return
        found = self.references(plan, group.objs, careful=False)
        if found is not None:
            self.add_columns(line, plan, group, found)
            return
        # Some of these objects refer to the dumper's own objects (its module in sys.modules,
        # ...): those few are done one by one, the others in bulk as usual.
        for part, careful, kept in self.split_by_own_refs(group):
            if part.objs:
                if kept is not None:    # what was read already, less the few objects' parts
                    found = self.found_references(*kept)
                else:
                    found = self.references(plan, part.objs, careful)
                if found is None:     # changed since (another thread): no more bulk
                    found = self.references(plan, part.objs, True)
                self.add_columns(line, plan, part, found)

    def add_columns(self, line, plan, group, found):
        """found: what references() gives: (nrefs, edge labels, the references' text, their
        number[, the label column's text, when it was made with them])."""
        nrefs, labels, refs_text, edges = found[:4]
        objs = group.objs
        n = len(objs)
        own = self.own_columns(plan, group, labels is None)
        if own is not None:
            ids, sizes, refcounts, flags = own
            line.ids.append(ids)
            line.sizes.append(sizes)
            line.refcounts.append(refcounts)
            line.flags.append(flags)
        else:
            ids = self.group_ids(group)
            line.ids.append(_native.raw_ints(ids) if self.raw else _ints(ids))
            line.sizes.append(self.sizes_text(plan, objs))
            if _native is not None:
                counts = _native.raw_counts if self.raw else _native.counts_text
                line.refcounts.append(counts(group.counts, self.refcount_offset))
            else:
                line.refcounts.append(",".join(map(self.refcount_text.__getitem__,
                                                   group.counts)))
            line.flags.append(self.flags_text(plan, group, labels is None))
        line.types.append(plan.index_raw * n if self.raw else _repeat(plan.index_text, n))
        line.labels.append(found[4] if len(found) > 4 else self.labels_text(plan, objs))
        if line.sites is not None:
            line.sites.append(self.sites.text(objs))
        if type(nrefs) is int:
            line.nrefs.append(_repeat(str(nrefs), n))
        elif type(nrefs) is str or type(nrefs) is bytes:    # (bytes: raw, self.raw)
            line.nrefs.append(nrefs)
        else:
            line.nrefs.append(_small_ints(nrefs))
        if edges:
            line.refs.append(refs_text)
            if type(labels) is list:
                text = _native.json_strs(labels) if _native is not None else None
                line.edge_labels.append(_json_items(labels) if text is None else text)
            elif labels:
                line.edge_labels.append(labels)
        line.objects += n
        line.edges += edges

    def sequences_in_one_pass(self, objs):
        """references() of exact lists and tuples (edges_sequence, discover and the columns'
        text in one C pass), with their label column's text; None where they must go the
        Python way (an item is the dumper's own)."""
        done = _native.sequence_edges(self.seen, self.excluded_bits, objs, _KEY_SHIFT,
                                      1 if self.raw else 0)
        if done is None:
            return None
        nrefs_text, label_text, refs_text, edges, found, found_ids = done
        if found:
            self.queue(found, found_ids)
        return nrefs_text, None, refs_text, edges, label_text

    def instances_in_one_pass(self, plan, objs):
        """references() of instances of a plain class whose attributes the accelerator reads
        (edges_instances_read), with the references discovered and their columns written in
        the same C pass; None where edges_instances must run."""
        try:
            counts, names, values = _read_attrs(objs, _MINOR)
        except Exception:
            return None
        if not counts or min(counts) < 0:
            return None
        done = _native.attr_edges_text(counts, names, values, plan.type, self.seen,
                                       self.excluded_bits, _KEY_SHIFT, 1 if self.raw else 0)
        names = values = None
        if done is None:
            return None
        nrefs_text, labels_text, refs_text, edges, found, found_ids = done
        if found:
            self.queue(found, found_ids)
        return nrefs_text, labels_text, refs_text, edges

    def own_columns(self, plan, group, indexed):
        """(ids, sizes, refcounts, flags) of a group in one pass of the accelerator, as
        add_columns' Python way writes them; None where that way must run (no accelerator,
        dicts, garbage, a size that is not a plain int)."""
        if _native is None or plan.type is dict or (group.special and self.garbage):
            return None
        objs = group.objs
        if plan.size_extra is None:
            plan.size_extra = self.size_extra(plan, objs[0])
        sizeof = plan.size if plan.size is not None else object.__sizeof__
        const = -1
        try:
            if sizeof is object.__sizeof__ and not _type_itemsize(plan.type):
                const = sizeof(objs[0]) + plan.size_extra
            return _native.own_columns(objs, group.counts, self.refcount_offset, sizeof,
                                       plan.size_extra, const, _FLAG_INDEXED if indexed else 0,
                                       _FLAG_TRACKED, 1 if plan.gc else 0, 1 if self.raw else 0)
        except Exception:
            return None

    def references(self, plan, objs, careful):
        """(nrefs, edge labels, JSON text of the references' ids, number of references) of a
        group, with the objects they reach for the first time queued for writing. References
        to the dumper's own objects are left out when `careful`; otherwise their presence
        returns None."""
        if not careful and self.excluded_bits is not None:      # (the accelerator's)
            done = None
            if plan.type is list or plan.type is tuple:
                done = self.sequences_in_one_pass(objs)
            elif plan.plain and _read_attrs is not None and plan.dict_get is not None:
                done = self.instances_in_one_pass(plan, objs)
            if done is not None:
                return done
        try:
            if careful:
                raise ValueError("one by one")
            nrefs, refs, labels = plan.edges(plan, objs)
        except Exception:
            nrefs, refs, labels = self.edges_each(plan, objs)
        if careful:
            nrefs, refs, labels = self.without_excluded(plan, objs, nrefs, refs, labels)
        if type(refs) is _Shaped:
            shaped = refs
            column_ids = [list(map(id, column)) for _p, column in shaped.columns]
            if self.discover_shaped(shaped, column_ids):
                text = shaped.text(column_ids)
                return nrefs, self.edge_label_text(labels), text, shaped.n * shaped.width
            refs = shaped.expand()       # one of the dumper's own objects: the slow way
            if type(labels) is _KeyLabels:
                labels = _KeyLabels(refs[0::2])
        return self.finish_references(nrefs, refs, labels, careful)

    def finish_references(self, nrefs, refs, labels, careful):
        """references() once the references are read."""
        if _native is not None and type(refs) is list:
            # the same steps in C, ids made only for the objects found (and all of them only
            # when some reference is the dumper's own)
            found, found_ids, clean = _native.discover(self.seen, self.excluded_set(), None,
                                                       refs, _KEY_SHIFT)
            if found:
                self.queue(found, found_ids)
            if not clean and not careful:
                self.last_refs = nrefs, list(map(id, refs)), labels
                return None
            refs_text = (_native.raw_ids if self.raw else _native.id_text)(refs)
            return nrefs, self.edge_label_text(labels), refs_text, len(refs)
        ref_ids = list(map(id, refs))
        if not self.discover(ref_ids, refs) and not careful:
            self.last_refs = nrefs, ref_ids, labels
            return None
        return self.found_references(nrefs, ref_ids, labels)

    def found_references(self, nrefs, ref_ids, labels):
        return nrefs, self.edge_label_text(labels), _ints(ref_ids), len(ref_ids)

    def edge_label_text(self, labels):
        if type(labels) is _KeyLabels:
            text = self.pair_text(labels.keys)
            return _repeat(text, labels.times) if labels.times > 1 else text
        return labels

    def excluded_set(self):
        """excluded_keys for the accelerator's discover: its own set once the walk started."""
        return self.excluded_keys if self.excluded_bits is None else self.excluded_bits

    def discover_shaped(self, shaped, column_ids):
        """discover() for a _Shaped group, column by column."""
        fixed = list(shaped.fixed.values())
        clean = self.discover(list(map(id, fixed)), fixed)
        for ids, (_p, column) in zip(column_ids, shaped.columns):
            clean = self.discover(ids, column) and clean
        return clean

    def discover(self, ids, objs):
        """Queue for writing the objects of `objs` (whose ids are `ids`) not seen before, but
        the dumper's own. Returns False if there were some of those."""
        if _native is not None and type(ids) is list and type(objs) is list:
            found, found_ids, clean = _native.discover(self.seen, self.excluded_set(), ids, objs,
                                                       _KEY_SHIFT)
            if found:
                self.queue(found, found_ids)
            return clean
        keys = _keys(ids)
        known = list(map(self.seen.__contains__, keys))
        if all(known):
            return True
        if not any(known) and self.excluded_keys.isdisjoint(keys):
            # all new (a column of fresh values ...): no sorting out, unless one is there twice
            before = len(self.seen)
            self.seen.update(keys)
            if len(self.seen) - before == len(keys):
                self.queue(list(objs), list(ids))
                return True
            self.seen.difference_update(keys)       # as it was: now the slow way
        unknown = list(map(not_, known))
        new = set(compress(keys, unknown))
        found = list(compress(objs, unknown))
        clean = self.excluded_keys.isdisjoint(new)      # they are never "seen"
        if not clean:
            new -= self.excluded_keys
            mine = list(map(self.excluded_keys.__contains__, compress(keys, unknown)))
            found = list(compress(found, map(not_, mine)))
            unknown = list(map(and_, unknown, map(not_, map(self.excluded_keys.__contains__,
                                                              keys))))
        if len(found) != len(new):          # some are referenced twice: once each
            found = list(dict(zip(compress(keys, unknown), found)).values())
        unknown = None
        self.seen |= new
        if found:
            self.queue(found)
        return clean

    def split_by_own_refs(self, group):
        """(objects without references to the dumper's objects, False, what references() read
        of them or None), (the others, True, None), from the references() call that returned
        None."""
        nrefs, ref_ids, labels = self.last_refs
        self.last_refs = None
        if type(nrefs) is int:
            nrefs = [nrefs] * len(group.objs)
        ends = list(accumulate(nrefs))
        owners, i = set(), 0
        for p in compress(range(len(ref_ids)), map(self.excluded.__contains__, ref_ids)):
            while ends[i] <= p:
                i += 1
            owners.add(i)
        keep = [i not in owners for i in range(len(group.objs))]
        parts = (_Group([], [], []), _Group([], [], []))
        for i, (o, x, c) in enumerate(zip(group.objs, self.group_ids(group), group.counts)):
            part = parts[i in owners]
            part.objs.append(o)
            part.ids.append(x)
            part.counts.append(c)
        kept = _kept_references(keep, nrefs, ref_ids, labels)
        return (parts[0], False, kept), (parts[1], True, None)

    def without_excluded(self, plan, objs, nrefs, refs, labels):
        """Drop references to the dumper's own objects. An indexed object that loses one gets
        explicit [i] labels instead of flag 4, so the remaining indices stay right."""
        if type(nrefs) is int:
            nrefs = [nrefs] * len(objs)
        excluded = self.excluded
        out_nrefs, out_refs, out_labels = [], [], []
        pos = 0
        for n in nrefs:
            start = len(out_refs)
            for j in range(n):
                r = refs[pos + j]
                if id(r) not in excluded:
                    out_refs.append(r)
                    out_labels.append(_INDEX_LABEL[j] if labels is None else labels[pos + j])
            out_nrefs.append(len(out_refs) - start)
            pos += n
        return out_nrefs, out_refs, out_labels

    def seed(self, objs):
        """Queue objects that must be written even if nothing tracked refers to them."""
        new = [o for o in objs if _key_of(o) not in self.seen and id(o) not in self.excluded]
        if new:
            self.seen.update(_keys(map(id, new)))
            self.queue(list(dict(zip(map(id, new), new)).values()))


def _inline_values(cls, dicts, refs, n):
    """Instances that report their attribute values themselves (3.13+: inline values), in their
    __dict__'s order, then their class: when all have the same str keys, (nrefs, _Shaped,
    edge labels) as edges_generic would name them one by one (.name ..., .__class__); else
    None."""
    width = len(refs) // n
    k = width - 1
    if k < 0 or len(refs) != n * width or width > _SHAPED_MAX:
        return None
    if not all(map(is_, map(type, dicts), repeat(dict))):
        return None
    if list(map(len, dicts)).count(k) != n:          # exact dicts: len() runs no program code
        return None
    try:
        pairs = list(chain.from_iterable(chain.from_iterable(map(dict.items, dicts))))
    except RuntimeError:
        return None
    if len(pairs) != 2 * n * k:
        return None
    keys, values = pairs[0::2], pairs[1::2]
    row = keys[:k]
    if not (all(map(is_, keys, cycle(row))) and all(map(is_, map(type, row), repeat(str)))
            and all(map(is_, refs[k::width], repeat(cls)))):
        return None
    columns = []
    for j in range(k):
        column = refs[j::width]
        if not all(map(is_, column, values[j::k])):
            return None
        columns.append((j, column))
    # a value that is the class or the instance's own dict would be named that way instead
    if any(map(is_, values, repeat(cls))) or any(map(is_, values, chain.from_iterable(
            map(repeat, dicts, repeat(k))))):
        return None
    labels = _json_items(["." + key for key in row] + [".__class__"])
    return width, _Shaped(n, width, {k: cls}, columns), _repeat(labels, n)


def _static_type_dicts():
    """ids of the __dict__s of static (C) types, all classes being found through
    type.__subclasses__ from object: the interpreter holds these dicts, no object reports
    them."""
    found, done, stack = set(), set(), [object]
    while stack:
        cls = stack.pop()
        if id(cls) in done:
            continue
        done.add(id(cls))
        if not _is_ready(cls):
            continue
        try:
            stack.extend(_type_subclasses(cls))
        except Exception:
            pass
        if not _type_flags(cls) & _TPFLAGS_HEAPTYPE:
            found.add(id(_class_dict(cls)))
    return found


def _is_subclass_registry(d):
    """A class's registry of its subclasses (tp_subclasses): {id(cls): weakref to cls}."""
    pairs = _dict_pairs(d)
    if not pairs:
        return False
    for k, w in zip(pairs[0::2], pairs[1::2]):
        if type(k) is not int or type(w) is not _WeakrefType:
            return False
        target = _weakref_call(w)          # C: no callback, no program code
        if target is not None and (id(target) != k or not _is_subclass(type, type(target))):
            return False
    return True


def _is_module_dict_copy(d, modules):
    """The import system's copy of an extension module's dict (kept to re-initialize it):
    named like a live module, taken before the import system set its __spec__ (None in the
    copy, a spec in the module), at least half its values that module's dict's very objects.
    A copy the program makes (dict(vars(module))) has the module's __spec__."""
    pairs = _dict_pairs(d)
    name = pairs[1] if pairs else None
    module = modules.get(name) if type(name) is str else None
    if module is None:
        return False
    md = _module_dict(module)
    if md is d or type(md) is not dict:
        return False
    live = _str_keyed(_dict_pairs(md))      # lookups compare exact strs only
    if _str_keyed(pairs).get("__spec__", _MISSING) is not None or live.get("__spec__") is None:
        return False
    same = 0
    for k, v in zip(pairs[0::2], pairs[1::2]):
        if type(k) is str and live.get(k, _MISSING) is v:
            same += 1
    return same * 4 >= len(pairs)        # half of the keys (pairs holds keys and values)


def _str_keyed(pairs):
    """{key: value} of the exact-str keys of [k0, v0, k1, v1, ...]: looking a str up in it
    can only compare it with exact strs (never a program's __eq__)."""
    return dict(compress(zip(pairs[0::2], pairs[1::2]),
                         map(is_, map(type, pairs[0::2]), repeat(str))))


def _modules_by_name():
    """sys.modules' modules by exact-str name."""
    modules = sys.modules
    if type(modules) is not dict:
        return {}
    named = _str_keyed(_dict_pairs(modules))
    return {k: m for k, m in named.items() if _is_subclass(_ModuleType, type(m))}


def _kept_references(keep, nrefs, refs, labels):
    """(nrefs, references (or their ids), edge labels) of the objects of a group with a true
    `keep`, from those of the whole group; None if the labels cannot be split that way."""
    if not (labels is None or type(labels) is list
            or (type(labels) is _KeyLabels and labels.times == 1)):
        return None
    mask = list(chain.from_iterable(map(repeat, keep, nrefs)))
    if len(mask) != len(refs):
        return None
    if type(labels) is list:
        labels = list(compress(labels, mask))
    elif labels is not None:        # dict pairs: each key is the first of its two references
        labels = _KeyLabels(list(compress(labels.keys, mask[0::2])))
    return list(compress(nrefs, keep)), list(compress(refs, mask)), labels


def _safe_getsizeof(o):
    try:
        return _getsizeof(o)
    except Exception:
        return 0


def _function_fields():
    """The fields of a function in the order gc.get_referents visits them, when this
    interpreter's order is the known one (checked on a sample), else None."""
    fields = [(".__code__", _f_code), (".__globals__", _f_globals)]
    if _f_builtins is not None:
        fields.append((".__builtins__", _f_builtins))
    fields += [(".__module__", _f_module), (".__defaults__", _f_defaults),
               (".__kwdefaults__", _f_kwdefaults), (".__doc__", _f_doc), (".__name__", _f_name),
               (".__closure__", _f_closure), (".__qualname__", _f_qualname)]

    def sample(a, b=[], *, c=[]):
        "doc"
        return fields

    sample.__qualname__ = "sample.qualname"
    refs = _gc_get_referents(sample)
    values = [read(sample) for _label, read in fields]
    if len(refs) == len(values) and all(map(is_, refs, values)):
        return fields
    return None


_FUNCTION_FIELDS = _function_fields()


def _name_function_extras(refs, labels, code):
    """Name a function's __dict__ and __annotations__, which cannot be read without creating
    them: the collector visits __dict__ before __closure__ and __annotations__ after it, and
    annotations are a tuple (as compiled) or a dict keyed by parameter names."""
    try:
        closure_at = labels.index(".__closure__")
    except ValueError:
        closure_at = None
    left = [i for i, label in enumerate(labels) if label is None]
    dicts = [i for i in left if type(refs[i]) is dict]
    for i in left:
        r = refs[i]
        if type(r) is tuple:
            labels[i] = ".__annotations__"
        elif type(r) is dict:
            if closure_at is not None:
                labels[i] = ".__dict__" if i < closure_at else ".__annotations__"
            elif len(dicts) == 2:
                labels[i] = ".__dict__" if i == dicts[0] else ".__annotations__"
            elif any(type(refs[j]) is tuple for j in left):
                labels[i] = ".__dict__"
            else:
                params = set(_co_varnames(code))
                params.add("return")
                keys = [k for k, _v in list(dict.items(r))]
                annotated = all(type(k) is str and k in params for k in keys)
                labels[i] = ".__annotations__" if annotated else ".__dict__"


# ---------------------------------------------------------------------------------------------
# dump()

def dump(path, marks=None, values=True, collect=True, format="json"):
    """Write a heap snapshot of this process to `path` (gzip-compressed if it ends in .gz).

    marks: optional dict name -> object, recorded as `mark` lines.
    values: False keeps str/bytes contents out of every label, dict keys included (but for
    the names of modules', classes' and instances' __dict__s: docs/FORMAT.md).
    collect: run the cycle collector first (with DEBUG_SAVEALL) and flag what it found
    unreachable as garbage.
    format: "json" (JSON lines, the default) or "binary" (docs/FORMAT.md, Binary snapshots).
    Returns {"path", "objects", "edges", "garbage", "seconds"}; raises DumpError on failure.
    """
    tracers = _pause_tracers()      # before anything else runs (see _dump)
    lock = _dump_lock()             # one dump at a time; a dump signal meanwhile is noted
    lock.acquire()
    try:
        path = _path_copy(path)     # so that the caller's str is not held by the dumper's frames
        return _dump(path, marks, values, collect, "api", fmt=format)
    finally:
        lock.release()
        _resume_tracers(tracers)


def _dump_stream(fd, name, values=True, collect=True):
    """dump() as JSON lines written to the open file descriptor `fd` (a pipe to the engine,
    which loads while the dump runs), left open; `name` is the snapshot's name in the header
    and in errors. The caller makes sure a reader dying cannot raise SIGPIPE here (Python
    ignores it unless the program asked otherwise): a failed write raises DumpError."""
    tracers = _pause_tracers()
    lock = _dump_lock()
    lock.acquire()
    try:
        name = _path_copy(name)
        if type(fd) is not int or fd < 0:
            raise DumpError("heap snapshot %s: the stream is not a file descriptor" % name)
        return _dump(name, None, values, collect, "api", stream_fd=fd)
    finally:
        lock.release()
        _resume_tracers(tracers)


def _path_copy(path):
    try:
        path = _fspath(path)
    except Exception:
        raise DumpError("heap snapshot path of type %s: not a str or os.PathLike"
                        % _type_name(type(path))[1]) from None
    if type(path) is not str:
        raise DumpError("heap snapshot path %r: must be a str" % (path,))
    return "".join((path, ""))


def _pause_tracers():
    """Clear the program's tracer and profiler (sys.settrace/setprofile: debuggers, coverage,
    profilers) and, on 3.12+, the sys.monitoring events of its tools, global and local to this
    module's code, so that none of them runs for the dump's million lines (nor raises into
    it). Returns what to restore. threading's hooks (threading.settrace/setprofile) are left as
    they are: they only apply to threads started later, and the dumper starts none."""
    events, local = _pause_monitoring()
    trace, profile = _gettrace(), _getprofile()
    # A C profiler or tracer (cProfile's _lsprof.Profiler before 3.12) is not callable:
    # sys.setprofile could not put it back, and it runs no Python code, so it stays on.
    if trace is not None and not callable(trace):
        trace = None
    if profile is not None and not callable(profile):
        profile = None
    if trace is not None:
        _settrace(None)
    if profile is not None:
        _setprofile(None)
    saved = trace, profile, events, local
    _PAUSED.append(saved)
    return saved


def _pause_monitoring():
    """Switch off the events of every sys.monitoring tool in use: its global events, and its
    local events on this module's code (a coverage tool sets LINE events on each function the
    first time it runs: the dumper's own entry points, run before a pause, would report every
    line after it). Returns ([(tool, global events)], [(tool, code, local events)]). This
    function's own code comes first in _OWN_CODES, so that its remaining lines report nothing."""
    events, local = [], []
    if _mon_get_tool is None:
        return events, local
    tools = [tool for tool in range(6) if _mon_get_tool(tool) is not None]
    for tool in tools:
        for code in _OWN_CODES:
            try:
                found = _mon_get_local_events(tool, code)
                if found:
                    _mon_set_local_events(tool, code, 0)
                    local.append((tool, code, found))
            except Exception:
                break
        try:
            found = _mon_get_events(tool)
            if found:
                _mon_set_events(tool, 0)
                events.append((tool, found))
        except Exception:
            continue
    return events, local


# What each _pause_tracers call in progress saved: the dumper's own objects (a tuple and a list
# each, alive in its frames during the dump), which the walk of _own_objects finds here and
# leaves out; they were written as objects nothing refers to.
_PAUSED = []


def _resume_tracers(saved):
    for i in range(list.__len__(_PAUSED) - 1, -1, -1):
        if _PAUSED[i] is saved:          # by identity: == could call a tracer's __eq__
            del _PAUSED[i]
            break
    trace, profile, events, local = saved
    for tool, code, found in local:
        try:
            _mon_set_local_events(tool, code, found)
        except Exception:
            pass
    for tool, found in events:
        try:
            _mon_set_events(tool, found)
        except Exception:
            pass
    if profile is not None:
        _setprofile(profile)
    if trace is not None:
        _settrace(trace)


def _own_codes():
    """The code objects of this module's functions and methods (nested ones too), those of
    _pause_monitoring and the entry points first: the code a monitoring tool may have set
    local events on."""
    functions = [_pause_monitoring, _pause_tracers, dump]
    for value in list(globals().values()):
        members = dict.values(_class_dict(value)) if _is_subclass(type, type(value)) else (value,)
        for m in members:
            if type(m) in (staticmethod, classmethod):
                m = m.__func__
            if type(m) is _FunctionType and _f_globals(m) is globals():
                functions.append(m)
    return tuple(_codes_of(functions))


def _dump(path, marks, values, collect, trigger, held=(), fmt="json", stream_fd=None):
    """A dump with the program's tracers paused (see _pause_tracers)."""
    tracers = _pause_tracers()
    try:
        return _dump_untraced(path, marks, values, collect, trigger, held, fmt, stream_fd)
    finally:
        _resume_tracers(tracers)


def _dump_untraced(path, marks, values, collect, trigger, held, fmt="json", stream_fd=None):
    """The dump, to a temp file renamed to `path` at the end; or, given `stream_fd`, straight
    to that descriptor (not closed here), `path` being only the snapshot's name."""
    started = _perf_counter()
    wall = _time()
    if marks is not None and not _is_subclass(dict, type(marks)):
        raise DumpError("heap snapshot %s: marks must be a dict" % path)
    if not (_is_flag(values) and _is_flag(collect)):
        raise DumpError("heap snapshot %s: values and collect must be bools" % path)
    if type(fmt) is not str or fmt not in ("json", "binary"):
        raise DumpError("heap snapshot %s: format must be \"json\" or \"binary\"" % path)
    tmp = fd = failure = heap = None
    free_garbage_after = collect      # False: the collection found nothing (see _age_young)
    gc_was_enabled = _gc_isenabled()
    _gc_disable()
    try:
        if stream_fd is None:
            target, in_place = _write_target(path)
            if in_place:
                fd = _open(target, _O_IN_PLACE)
                if _set_blocking is not None:
                    _set_blocking(fd, True)
            else:
                tmp = _temp_path(target)
                fd = _open(tmp, _O_CREATE, 0o666)
        garbage = _collect_garbage() if collect else frozenset()
        if garbage is None:
            garbage = frozenset()
            free_garbage_after = False
        heap = _gc_get_objects()
        result = _write_snapshot(fd if stream_fd is None else stream_fd, path, heap, garbage,
                                 marks, bool(values), bool(collect), trigger, started, wall,
                                 held, fmt)
        heap = None
        if stream_fd is None:
            _close(fd)
            fd = None
            if tmp is not None:
                _replace(tmp, target)
        return result
    except Exception as error:
        heap = None                  # the DumpError's traceback holds this frame
        failure = "cannot write heap snapshot %s: %s%s" % (path, _refused_by(error),
                                                          _describe(error))
        _remove_temp(fd, tmp)
    except BaseException:            # KeyboardInterrupt, SystemExit: not ours to swallow
        _remove_temp(fd, tmp)
        raise
    finally:
        if free_garbage_after:
            _gc_collect()             # free the cyclic garbage, as the next collection would
        elif collect:
            _age_young()
        if gc_was_enabled:
            _gc_enable()
    # Raised here, not in the except clause: the DumpError must not carry the original error,
    # whose traceback holds the dump's state (and so the whole heap list) alive.
    raise DumpError(failure)


_O_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
# A device, FIFO or socket is written in place: opened without blocking (a FIFO with no
# reader fails at once instead of hanging the program), then made blocking for the writes.
_O_IN_PLACE = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _write_target(path):
    """Where a dump to `path` goes, and whether it is written in place. A symlink is followed
    to its final target, which is replaced (the link is kept, as the CLI keeps it); a device,
    FIFO or socket is written in place, never replaced by a file (as root, renaming over
    /dev/null would replace the host's /dev/null). Str methods only, as in _temp_path."""
    for _hop in range(40):
        try:
            mode = _lstat(path).st_mode
        except OSError:
            return path, False
        if not _S_ISLNK(mode):
            return path, not (_S_ISREG(mode) or _S_ISDIR(mode))
        link = _readlink(path)
        if not str.startswith(link, "/"):
            cut = str.rfind(path, "/")
            link = path[:cut + 1] + link
        path = link
    return path, False


def _temp_path(path):
    """The temp file next to `path`: DIR/.NAME.tmp-PID. On POSIX computed here with str
    methods (os.path's functions look up isinstance, bytes and os.getcwd when called, and a
    program may have replaced those)."""
    if os.sep != "/" or os.altsep:
        directory, name = _path_split(_abspath(path))
        return _path_join(directory, ".%s.tmp-%d" % (name, _getpid()))
    if not str.startswith(path, "/"):
        path = _getcwd() + "/" + path
    parts = []
    for part in str.split(path, "/"):
        if part == ".." and parts:
            parts.pop()
        elif part not in ("", ".", ".."):
            parts.append(part)
    name = parts.pop() if parts else ""
    return "/%s%s.%s.tmp-%d" % ("/".join(parts), "/" if parts else "", name, _getpid())


def _remove_temp(fd, tmp):
    if fd is not None:
        try:
            _close(fd)
        except OSError:
            pass
    if tmp is not None:
        try:
            _unlink(tmp)
        except OSError:
            pass


def _refused_by(error):
    """'refused by an audit hook: ' when the error was raised by code that is not the
    dumper's: no other code of the program runs inside a dump (finalizers and gc callbacks run
    in the collection, which reports their errors itself), so it came from a hook added with
    sys.addaudithook refusing one of the dump's operations (open, gc.get_objects, ...)."""
    tb = _exc_traceback(error)
    while tb is not None and _tb_next(tb) is not None:
        tb = _tb_next(tb)
    if tb is None:
        return ""
    code = _fr_code(_tb_frame(tb))
    if _text(_co_filename(code)) == _text(_co_filename(_f_code(_refused_by))):
        return ""
    return "refused by an audit hook: "


def _is_flag(value):
    return type(value) is bool or type(value) is int


def _describe(error):
    if isinstance(error, OSError) and error.strerror:
        return "%s (errno %s)" % (error.strerror, error.errno)
    text = str(error)
    return "%s: %s" % (type(error).__name__, text) if text else type(error).__name__


def _age_young():
    """After a dump whose collection found no garbage: what the full collection that frees the
    garbage would still do, without walking the whole heap again (0.1-0.2 s at 1M objects):
    free the cyclic garbage made during the dump (all young: the collector is off during it)
    with a young collection, and make every object old (a dump leaves no young objects: the
    objgraph drop-in relies on it) by moving them all to the permanent generation and back to
    the oldest. A program that froze objects itself gets the full collection: unfreeze would
    thaw its objects too."""
    if _gc_get_freeze_count() != 0:
        _gc_collect()
        return
    _gc_collect(0)
    _gc_freeze()
    _gc_unfreeze()


def _collect_garbage():
    """Run the cycle collector saving what it finds unreachable, and return the ids of those
    objects. gc.garbage and the debug flags are restored; the objects stay alive (they hold
    each other) until the collection after the dump. None: the collection found nothing (so
    there is nothing for the one after the dump to free)."""
    garbage = gc.garbage
    if type(garbage) is not list:
        return frozenset()
    before = list.__len__(garbage)
    flags = _gc_get_debug()
    _gc_set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        unreachable = _gc_collect()
    finally:
        _gc_set_debug(flags)
    if unreachable == 0 and list.__len__(garbage) == before:
        return None
    found = garbage[before:]
    del garbage[before:]
    return frozenset(map(id, found))


def _write_snapshot(fd, path, heap, garbage, marks, values, collect, trigger, started, wall,
                    held, fmt="json"):
    """The walk proper. `heap` (gc.get_objects()) is consumed: objects leave it as written."""
    out = (_BinaryOutput if fmt == "binary" else _Output)(fd, path.endswith(".gz"))
    d = _Dumper(out, values, garbage)
    try:
        return _write_with(d, out, path, heap, garbage, marks, values, collect, trigger,
                           started, wall, held)
    finally:
        # The plans hold the dumper's bound methods, a cycle: freed now, not by a later
        # collection (a dump with collect=False runs none; the objgraph drop-in's does not).
        d.plans.clear()


def _write_with(d, out, path, heap, garbage, marks, values, collect, trigger, started, wall,
                held):
    own = _own_objects()
    d.excluded.update(map(id, own))
    if not _is_shared(garbage):
        d.excluded.add(id(garbage))
    d.excluded.update(_CAPTURE.get("boot_objects", ()))
    boot_functions = _CAPTURE.get("boot_functions", ())
    d.excluded.update(map(id, boot_functions))
    d.count_refs_of_excluded(boot_functions)
    if marks is not None:
        d.excluded.add(id(marks))
    own_codes = _own_code_ids(own)
    d.excluded.update(own_codes)
    d.count_refs_of_excluded(own)
    own = None
    if not _is_shared(held):        # a tuple of the dumper's: what it holds is counted as held
        d.excluded.add(id(held))
    d.count_held(held)
    d.count_held(_bootstrap_held())

    out.record(_header(path, values, collect, trigger, wall, len(heap)))
    _note_path_prefixes()
    threads, frames = _thread_stacks(d, own_codes)
    mark_objects = _write_marks(d, marks) if marks is not None else []
    _write_roots(d)
    for line in threads:
        out.record(line)

    heap.reverse()            # chunks are taken from the end; keep gc order in the file
    d.excluded_keys.update(_keys(d.excluded))
    d.special.update(d.held, d.excluded, garbage)
    if d.special_keys is not None:
        d.special_keys.update(_keys(d.special))
    if _native is not None:
        d.seen.add_objects(heap, _KEY_SHIFT)        # the same keys, no int per object
    else:
        d.seen.update(map(rshift, map(id, heap), repeat(_KEY_SHIFT)))
    d.seen.difference_update(d.excluded_keys)
    if _native is not None:
        d.excluded_bits = _native.KeySet()
        d.excluded_bits.update(d.excluded_keys)
    d.seed(frames)
    d.seed(mark_objects)
    frames = mark_objects = None
    d.walk(heap)

    seconds = round(_perf_counter() - started, 4)
    out.record({"kind": "end", "objects": d.objects, "edges": d.edges,
                "garbage": d.garbage_written, "seconds": seconds})
    out.finish()
    return {"path": path, "objects": d.objects, "edges": d.edges,
            "garbage": d.garbage_written, "seconds": seconds,
            "dumper": "native" if _native is not None else "python"}


def _header(path, values, collect, trigger, wall, hint):
    argv = sys.argv
    argv = [_text(a) for a in list(argv)] if type(argv) is list else []
    if not values:
        # arguments carry secrets as often as strings do (--token=...): only the program stays
        argv = argv[:1] + ["<str %d chars>" % len(a) for a in argv[1:]]
    return {
        "kind": "header", "format": "refgraph-snapshot", "version": _FORMAT_VERSION,
        "python": sys.version, "python_version": list(sys.version_info[:3]),
        "implementation": sys.implementation.name, "platform": sys.platform,
        "pointer_size": 8 if sys.maxsize > 2 ** 32 else 4,
        "pid": _getpid(), "argv": argv, "executable": sys.executable,
        "time": _strftime("%Y-%m-%dT%H:%M:%SZ", _gmtime(wall)),
        "unix_time": round(wall, 3), "values": values, "collect": collect,
        "trigger": trigger, "objects_hint": hint, "memory": _memory_figures(),
        "dumper": "native" if _native is not None else "python",
        "trace_alloc": _tm_limit() if _tracing() else None,
    }


def _tracing():
    """Whether tracemalloc traces allocations (the program's tracemalloc.start(),
    PYTHONTRACEMALLOC, or `capture --trace-alloc`)."""
    try:
        return _tm_is_tracing is not None and _tm_is_tracing()
    except Exception:
        return False


class _Sites:
    """The allocation sites of one dump: tracemalloc's tracebacks (frames most recent first,
    as its C module gives them), each written once in a `sites` line before the first
    `objects` line that uses it, and referred to by index."""

    def __init__(self):
        self.index_text = {None: "null"}      # traceback -> JSON text of its site column entry
        self.count = 0
        self.new = []                         # sites not written yet: [[file, line], ...]
        self.own_file = _co_filename(_f_code(_tracing))
        boot = _CAPTURE.get("boot_file")
        self.boot_files = frozenset((self.own_file, boot) if boot else (self.own_file,))

    def text(self, objs):
        """The JSON text of the site column of `objs`. One C call per object (no program
        code: it reads tracemalloc's table), one dict lookup per object (the tracebacks are
        tuples of exact str and int)."""
        tracebacks = list(map(_tm_traceback, objs))
        texts = self.index_text
        found = list(map(texts.get, tracebacks))
        if None in found:
            for tb in compress(tracebacks, map(is_, found, repeat(None))):
                if tb not in texts:
                    texts[tb] = self.add(tb)
            found = list(map(texts.__getitem__, tracebacks))
        return ",".join(found)

    def add(self, tb):
        """A new traceback's column text: its index, or null for what the dumper itself made
        (the dicts it asks for on 3.11+, ...), whose most recent frame is the dumper's. The
        bootstrap's frames below the program's (under capture) are dropped."""
        if type(tb) is not tuple or not tb or _frame_file(tb[0]) == self.own_file:
            return "null"
        frames = list(tb)
        while len(frames) > 1 and _frame_file(frames[-1]) in self.boot_files:
            frames.pop()
        self.new.append([[_text(f), n] for f, n in frames])
        self.count += 1
        return "%d" % (self.count - 1)

    def take(self):
        """(base, sites) of the sites not written yet, for the output's `sites` record."""
        new, self.new = self.new, []
        return self.count - len(new), new


def _frame_file(frame):
    return frame[0] if type(frame) is tuple and frame else None


_read_fd = os.read
_O_RDONLY = os.O_RDONLY


def _memory_figures():
    """The process's memory as the OS and the allocators see it, for "is it Python objects or
    the allocator?": RSS and peak RSS (Linux: /proc/self/status), CPython's allocated memory
    blocks, and the C allocator's totals (glibc's malloc_info, only when the program has already
    loaded ctypes: importing it here could run the program's import hooks). Unknown: None."""
    status = _proc_status()
    return {
        "rss": status.get("VmRSS"),
        "peak_rss": status.get("VmHWM"),
        "allocated_blocks": _safe_call(sys.getallocatedblocks),
        "c_allocator": _safe_call(_malloc_totals),
    }


def _safe_call(fn):
    try:
        return fn()
    except Exception:
        return None


def _proc_status():
    """{"VmRSS": bytes, "VmHWM": bytes} from /proc/self/status, read with os calls only."""
    try:
        fd = _open("/proc/self/status", _O_RDONLY)
    except OSError:
        return {}
    try:
        text = _read_fd(fd, 65536)
    except OSError:
        text = b""
    finally:
        _close(fd)
    found = {}
    for line in text.split(b"\n"):
        name, _, value = line.partition(b":")
        words = value.split()
        if name in (b"VmRSS", b"VmHWM") and len(words) == 2 and words[1] == b"kB":
            found[name.decode()] = int(words[0]) * 1024
    return found


def _malloc_totals():
    """glibc's heap: {"in_use", "free", "mmap", "arena"} in bytes, from malloc_info's XML read
    through an open_memstream (no ctypes Structure: no class, no garbage is made)."""
    ctypes = sys.modules.get("ctypes")
    api = getattr(ctypes, "pythonapi", None)
    if api is None or not sys.platform.startswith("linux"):
        return None
    void_p, size_t = ctypes.c_void_p, ctypes.c_size_t
    open_memstream, malloc_info = api["open_memstream"], api["malloc_info"]
    fclose, free = api["fclose"], api["free"]
    open_memstream.restype = void_p
    open_memstream.argtypes = (void_p, void_p)
    malloc_info.argtypes = (ctypes.c_int, void_p)
    fclose.argtypes = free.argtypes = (void_p,)
    buffer, size = void_p(), size_t()
    stream = open_memstream(ctypes.byref(buffer), ctypes.byref(size))
    if not stream:
        return None
    malloc_info(0, stream)
    fclose(stream)
    try:
        xml = ctypes.string_at(buffer.value, size.value)
    finally:
        free(buffer)
    return _malloc_info_totals(xml)


def _malloc_info_totals(xml):
    """The process-wide totals at the end of malloc_info's XML (after the last </heap>)."""
    tail = xml[xml.rfind(b"</heap>"):]
    totals = {}
    for tag in tail.split(b"<")[1:]:
        words = tag.replace(b"/>", b" ").split()
        attrs = dict(w.split(b"=", 1) for w in words[1:] if b"=" in w)
        kind = attrs.get(b"type", b"").strip(b'"')
        size = attrs.get(b"size", b"").strip(b'"')
        if size.isdigit():
            totals[(words[0], kind)] = int(size)
    arena = totals.get((b"system", b"current"))
    if arena is None:
        return None
    free = totals.get((b"total", b"fast"), 0) + totals.get((b"total", b"rest"), 0)
    mmap = totals.get((b"total", b"mmap"), 0)
    return {"in_use": arena - free + mmap, "free": free, "mmap": mmap, "arena": arena}


def _write_marks(d, marks):
    """`mark` lines; the marks dict is the dumper's, so its references are counted as held."""
    objs = []
    for name, obj in list(dict.items(marks)):
        d.count_held((name, obj))
        d.out.record({"kind": "mark", "name": _text(name), "id": id(obj)})
        objs.append(obj)
    return objs


def _write_roots(d):
    for name, module in list(dict.items(sys.modules)):
        if id(module) in d.excluded or not _is_subclass(_ModuleType, type(module)):
            continue
        d.out.record({"kind": "root", "root": "module", "name": _text(name),
                      "id": id(module)})


def _thread_stacks(d, own_codes):
    """`thread` lines and the frames to write. The dumper's frames are left out, and under
    capture also the bootstrap and runpy frames below the program's own."""
    stop_frame = _CAPTURE.get("stop_frame")
    runpy_codes = _CAPTURE.get("runpy_codes", ())
    names = _thread_names()
    main_ident = _main_thread_ident()
    lines, frames = [], []
    for ident, top in list(dict.items(_sys_current_frames())):
        stack = []
        f = top
        while f is not None:
            stack.append(f)
            f = _fr_back(f)
        kept, stopped = [], False
        for f in stack:
            if id(f) == stop_frame:
                stopped = True
            if stopped or id(_fr_code(f)) in own_codes:
                d.excluded.add(id(f))
            else:
                kept.append(f)
        while stopped and kept and id(_fr_code(kept[-1])) in runpy_codes:
            d.excluded.add(id(kept.pop()))
        name, daemon = names.get(ident, ("<thread %d>" % ident, False))
        if not d.values and not _plain_thread_name(name):
            name = "<thread name, %d chars>" % str.__len__(name)
        lines.append({"kind": "thread", "name": name, "ident": ident, "daemon": daemon,
                      "main": type(main_ident) is int and ident == main_ident,
                      "frames": [id(f) for f in kept]})
        frames.extend(kept)
    # This frame is in `stack` and is `top` (sys._current_frames() made its frame object):
    # once it returns, the frame object would keep its variables, a cycle of frame objects
    # that outlives the dump on 3.13 (the collection after it ran before the return).
    stack = kept = f = top = None
    return lines, frames


def _plain_thread_name(name):
    """A name that says nothing but where a thread came from, kept with values=False: an
    identifier that does not look like a secret (as dict keys), or threading's own `Thread-3`
    / `Thread-3 (worker)`."""
    if _shown_name(name):
        return True
    head, _, rest = str.partition(name, " ")
    if not (str.startswith(head, "Thread-") and str.isdigit(head[7:])):
        return False
    return rest == "" or (str.startswith(rest, "(") and str.endswith(rest, ")")
                          and str.isidentifier(rest[1:-1]))


def _threading_module():
    module = sys.modules.get("threading")
    return module if type(module) is _ModuleType else None


def _thread_names():
    """ident -> (name, daemon) from threading._active, read from the Thread instances' dicts
    (never through their properties)."""
    out = {}
    threading = _threading_module()
    if threading is None:
        return out
    active = _str_key_get(_module_dict(threading), "_active")
    if type(active) is not dict:
        return out
    for ident, thread in list(dict.items(active)):
        state = _instance_dict_of(thread)
        if state and type(state[0]) is dict:
            name = _str_key_get(state[0], "_name")
            daemon = _str_key_get(state[0], "_daemonic")
            out[ident] = (_text(name) if name is not None else "?", daemon is True)
    return out


def _main_thread_ident():
    if "main_ident" in _CAPTURE:
        return _CAPTURE["main_ident"]
    threading = _threading_module()
    if threading is not None:
        main = _str_key_get(_module_dict(threading), "_main_thread")
        state = _instance_dict_of(main) if main is not None else []
        if state and type(state[0]) is dict:
            return _str_key_get(state[0], "_ident")
    return _get_ident()


# ---------------------------------------------------------------------------------------------
# Capture mode: `refgraph capture` runs the program through the bootstrap
#   python3 -c "import sys;...;_m._capture_main(sys.argv[2:])" DUMPER_DIR script.py ARGS...

_CAPTURE = {}
_ENV_NAMES = ("REFGRAPH_OUTPUT", "REFGRAPH_SIGNAL", "REFGRAPH_VALUES", "REFGRAPH_COLLECT",
              "REFGRAPH_STATUS", "REFGRAPH_FOLLOW_FORKS", "REFGRAPH_FORMAT")
# Held while a capture dump runs: a dump signal that arrives during a dump (on any thread) is
# noted and skipped instead of dumping the dumper's own work in progress.
_DUMP_LOCK = [_thread.allocate_lock(), _getpid()]


def _dump_lock():
    """The dump lock of this process: a forked child gets a fresh one (the parent's may have
    been held by another thread at the fork, and would then never be released)."""
    if _DUMP_LOCK[1] != _getpid():
        _DUMP_LOCK[:] = [_thread.allocate_lock(), _getpid()]
    return _DUMP_LOCK[0]


def _capture_main(argv):
    """Run `script ARGS` (or `-m module ARGS`) exactly as python3 would, dump the heap when
    its code finishes (and on REFGRAPH_SIGNAL), then exit the way python3 would have."""
    _CAPTURE["stop_frame"] = id(sys._getframe())
    _CAPTURE["boot_frame"] = id(sys._getframe(1))
    _CAPTURE["boot_file"] = _co_filename(_fr_code(sys._getframe(1)))
    _CAPTURE["main_ident"] = _thread.get_ident()
    _CAPTURE["signals"] = 0
    _CAPTURE["pid"] = _CAPTURE["signals_pid"] = _getpid()
    config = _take_config()
    _CAPTURE.update(config)
    _status({"started": True, "pid": _CAPTURE["pid"],
             "python": "%d.%d.%d" % tuple(sys.version_info[:3])})
    # Whatever goes wrong in these preparations, the program must still run as it would.
    _CAPTURE["boot_objects"] = _prepare_safely(_parser_leftovers, ())
    boot = sys._getframe(1)
    _CAPTURE["boot_functions"] = _prepare_safely(lambda: _boot_functions(boot), ())
    boot = None
    dumper_dir = sys.argv[1] if len(sys.argv) > 1 else None
    _prepare_safely(lambda: _forget_bootstrap(dumper_dir, argv), None)
    if config["signal"]:
        _prepare_safely(lambda: _install_signal(config["signal"]), None)
    outcome = ()       # (exception,): the only reference the dumper holds to it while dumping
    target = namespace = None
    try:
        # The program runs right here, so that it sees only this frame and the bootstrap's
        # below its own (python3 -m shows runpy's frames there too).
        target, namespace = _prepare_program(argv)
        if namespace is None:
            import runpy
            runpy._run_module_as_main(*target)
        else:
            exec(target, namespace)
    except BaseException as e:
        outcome = (e,)
    target = namespace = None       # not to be counted in the refcounts of __main__'s dict
    tracers = _pause_tracers()      # the program's tracer sees none of the exit dump's calls
    path = _own_path(config["output"])
    if path:
        _capture_dump(path, "exit", held=outcome)
    _resume_tracers(tracers)
    tracers = None
    if not outcome:
        return
    error = outcome[0]
    if _is_subclass(SystemExit, type(error)):
        raise error
    _strip_traceback_on_print()
    raise error


def _bootstrap_held():
    """Under capture, the objects the bootstrap's own (left out) frame holds a reference to:
    __main__'s dict, its globals."""
    main = sys.modules.get("__main__")
    if "boot_frame" not in _CAPTURE or type(main) is not _ModuleType:
        return ()
    return (_module_dict(main),)


def _boot_functions(frame):
    """The function object CPython made to run the -c bootstrap (3.11+ frames hold one): it
    refers to __main__'s globals, so left in it would show up as a holder of every global."""
    code = _fr_code(frame)
    return tuple(o for o in gc.get_referrers(code)
                 if type(o) is _FunctionType and _FunctionType.__dict__["__code__"].__get__(o) is code)


def _parser_leftovers():
    """ids of the objects the parser keeps for the -c bootstrap while it runs (its token
    list): they belong to refgraph's bootstrap, not to the program."""
    found = []
    for o in gc.get_objects():
        if type(o) is list and any(type(x) is bytes and bytes.__eq__(x, b"_capture_main")
                                   for x in o):
            found.append(id(o))
    return found


def _take_config():
    """Read the REFGRAPH_* variables and remove them from the environment the program sees."""
    raw = {}
    for name in _ENV_NAMES:
        raw[name] = os.environ.pop(name, None)
        posix = sys.modules.get(os.name)
        environ = getattr(posix, "environ", None)
        if type(environ) is dict:
            environ.pop(name.encode() if os.name != "nt" else name, None)
    return {
        "output": raw["REFGRAPH_OUTPUT"] or None,
        "signal": raw["REFGRAPH_SIGNAL"] or None,
        "values": raw["REFGRAPH_VALUES"] not in ("0", "false", "no"),
        "collect": raw["REFGRAPH_COLLECT"] not in ("0", "false", "no"),
        "status": raw["REFGRAPH_STATUS"] or None,
        "follow_forks": raw["REFGRAPH_FOLLOW_FORKS"] in ("1", "true", "yes"),
        "format": "binary" if raw["REFGRAPH_FORMAT"] == "binary" else "json",
    }


def _own_path(path):
    """The snapshot path of this process: `path` in the process refgraph started; in a process
    forked from it (a prefork server's worker, a child that outlives its parent) NAME.<pid>.rgsnap
    with --follow-forks, else None: a forked child never replaces its parent's snapshot."""
    if not path:
        return None
    pid = _getpid()
    if pid == _CAPTURE.get("pid"):
        return path
    if _CAPTURE.get("follow_forks"):
        return _numbered_path(path, pid)
    return None


def _forget_bootstrap(dumper_dir, argv):
    """Undo what the bootstrap left behind: this module in sys.modules, the import cache entry
    for its directory, and the -c command line in sys.orig_argv."""
    me = sys.modules.get(__name__)
    if type(me) is _ModuleType and _module_dict(me) is globals():
        del sys.modules[__name__]
    if dumper_dir is not None:
        sys.path_importer_cache.pop(dumper_dir, None)
    orig = getattr(sys, "orig_argv", None)
    if type(orig) is list and "-c" in orig:
        at = orig.index("-c")
        if len(orig) >= at + 3 and orig[at + 2] == dumper_dir:
            sys.orig_argv = orig[:at] + orig[at + 3:]


def _fresh_main_namespace(script_file):
    """Reset __main__'s dict to what python3 gives a script (or -m before runpy fills it in)."""
    main = sys.modules["__main__"]
    md = _module_dict(main)
    builtins_module = md.get("__builtins__", sys.modules["builtins"])
    loader = md.get("__loader__")
    has_annotations = "__annotations__" in md
    md.clear()
    md["__name__"] = "__main__"
    md["__doc__"] = None
    md["__package__"] = None
    if script_file is not None:
        external = sys.modules.get("_frozen_importlib_external")
        if external is not None:
            loader = external.SourceFileLoader("__main__", script_file)
    md["__loader__"] = loader
    md["__spec__"] = None
    if has_annotations:
        md["__annotations__"] = {}
    md["__builtins__"] = builtins_module
    if script_file is not None:
        md["__file__"] = script_file
        md["__cached__"] = None
    return md


def _adds_path0():
    """Whether python3 puts the script's directory (or cwd for -m) first on sys.path."""
    return not (getattr(sys.flags, "safe_path", False) or sys.flags.isolated)


def _set_path0(entry):
    if _adds_path0() and sys.path and sys.path[0] == "":
        sys.path[0] = entry


def _prepare_program(argv):
    """Set up sys.argv, sys.path and __main__ as python3 would for `script ARGS` or
    `-m module ARGS`. Returns (code, __main__ dict) for a script file, or (arguments of
    runpy._run_module_as_main, None) for a module, directory or zip archive."""
    if not argv:
        sys.stderr.write("refgraph capture: no program to run\n")
        raise SystemExit(2)
    if argv[0] == "-c":
        if len(argv) < 2:
            sys.stderr.write("%s: -c needs an argument\n" % _program_name())
            raise SystemExit(2)
        # python3 -c: argv[0] is "-c", sys.path[0] is "" (already so for the bootstrap), and
        # __main__ has no __file__.
        sys.argv = ["-c"] + list(argv[2:])
        namespace = _fresh_main_namespace(None)
        namespace["__loader__"] = _builtin_importer()
        return compile(argv[1], "<string>", "exec", dont_inherit=True), namespace
    if argv[0] == "-m":
        if len(argv) < 2:
            sys.stderr.write("%s: -m needs a module name\n" % _program_name())
            raise SystemExit(2)
        _note_runpy_frames()
        _fresh_main_namespace(None)
        sys.argv = ["-m"] + list(argv[2:])
        _set_path0(os.getcwd())
        return (argv[1],), None
    script, args = argv[0], argv[1:]
    # 3.9+ makes the script's path absolute by joining it to the working directory, without
    # normalizing it (./app.py gives /cwd/./app.py).
    absolute = script if os.path.isabs(script) else os.path.join(os.getcwd(), script)
    filename = absolute if sys.version_info >= (3, 9) else script
    sys.argv = [script] + list(args)
    if os.path.isdir(script) or _is_zipfile(script):
        # python3 runs a directory or zip archive through its __main__ module
        _note_runpy_frames()
        _fresh_main_namespace(None)
        if _adds_path0() and sys.path and sys.path[0] == "":
            sys.path[0] = filename
        else:
            sys.path.insert(0, filename)
        return ("__main__", False), None
    try:
        with open(script, "rb") as f:
            source = f.read()
    except OSError as e:
        sys.stderr.write("%s: can't open file %r: [Errno %s] %s\n"
                         % (_program_name(), filename, e.errno, e.strerror))
        raise SystemExit(2) from None
    namespace = _fresh_main_namespace(filename)
    _set_path0(os.path.dirname(os.path.realpath(script)))
    return compile(source, filename, "exec", dont_inherit=True), namespace


def _builtin_importer():
    """__main__.__loader__ under python3 -c: the frozen importlib's BuiltinImporter."""
    bootstrap = sys.modules.get("_frozen_importlib")
    return getattr(bootstrap, "BuiltinImporter", None)


def _note_runpy_frames():
    """runpy's frames below the program's are left out of snapshots and tracebacks."""
    import runpy
    _CAPTURE["runpy_codes"] = frozenset(
        (id(_f_code(runpy._run_code)), id(_f_code(runpy._run_module_as_main))))


def _program_name():
    orig = getattr(sys, "orig_argv", None)
    return orig[0] if orig else sys.executable


def _is_zipfile(path):
    try:
        import zipimport
        zipimport.zipimporter(path)
        return True
    except Exception:
        return False


def _strip_traceback_on_print():
    """Have the next sys.excepthook call show the traceback without the bootstrap's and the
    dumper's frames, as python3 would print it (for -m that keeps runpy's frames, as python3
    -m shows them)."""
    original = sys.excepthook
    hidden_frames = {_CAPTURE.get("boot_frame"), _CAPTURE.get("stop_frame")}
    hidden_codes = _own_code_ids()

    def hook(etype, value, tb):
        sys.excepthook = original
        while tb is not None and (id(tb.tb_frame) in hidden_frames
                                  or id(tb.tb_frame.f_code) in hidden_codes):
            tb = tb.tb_next
        if value is not None and _is_subclass(BaseException, type(value)):
            try:
                _exc_set_traceback(value, tb)
            except Exception:
                pass
        sys.last_traceback = tb
        return original(etype, value, tb)

    sys.excepthook = hook


def _install_signal(name):
    import _signal
    try:
        number = int(name) if name.isdigit() else getattr(_signal, name if name.startswith("SIG")
                                                          else "SIG" + name)
        _signal.signal(number, _on_signal)
    except Exception as e:
        _status({"error": "cannot install signal handler %s: %s" % (name, _describe(e)),
                 "path": _CAPTURE.get("output")})


def _on_signal(signum, frame):
    """Dump to a numbered file; the interrupted frames are recorded through the main thread's
    stack (this handler's own frame is left out)."""
    del frame
    tracers = _pause_tracers()      # the program's tracer sees none of the dump's calls
    try:
        _on_signal_untraced(signum)
    finally:
        _resume_tracers(tracers)


def _on_signal_untraced(signum):
    output = _own_path(_CAPTURE.get("output"))
    if not output:
        return
    if _CAPTURE.get("signals_pid") != _getpid():
        # A forked child numbers its own signal dumps from 1.
        _CAPTURE["signals_pid"] = _getpid()
        _CAPTURE["signals"] = 0
    if _dump_lock().locked():
        _status({"note": "dump already in progress: signal %d ignored" % signum,
                 "trigger": "signal", "pid": _getpid()})
        return
    _CAPTURE["signals"] += 1
    _capture_dump(_numbered_path(output, _CAPTURE["signals"]), "signal")


def _numbered_path(path, n):
    """app.rgsnap -> app.1.rgsnap; app.rgsnap.gz -> app.1.rgsnap.gz; app -> app.1"""
    directory, name = os.path.split(path)
    gz = ""
    if name.endswith(".gz") and len(name) > 3:
        name, gz = name[:-3], ".gz"
    stem, dot, suffix = name.rpartition(".")
    if dot and stem:
        name = "%s.%d.%s" % (stem, n, suffix)
    else:
        name = "%s.%d" % (name, n)
    return os.path.join(directory, name + gz)


def _capture_dump(path, trigger, held=()):
    """A dump under capture: never raises, never prints; the outcome goes to the status file."""
    # A failure names its trigger too: refgraph then knows the exit dump was attempted, and
    # prints this one error (it names the path itself) rather than "ended without a snapshot".
    tracers = _pause_tracers()      # the program's tracer sees none of the dump's calls
    try:
        failed = {"path": path, "trigger": trigger, "pid": _getpid()}
        lock = _dump_lock()
        if not lock.acquire(trigger != "signal"):
            _status({"note": "dump already in progress: signal ignored", "trigger": trigger,
                     "pid": _getpid()})
            return
        try:
            _capture_dump_locked(path, trigger, held, failed)
        finally:
            lock.release()
    finally:
        _resume_tracers(tracers)


def _capture_dump_locked(path, trigger, held, failed):
    try:
        result = _dump(path, None, _CAPTURE["values"], _CAPTURE["collect"], trigger, held,
                       _CAPTURE.get("format", "json"))
    except DumpError as e:
        message = str(e).replace("\n", " ")
        prefix = "cannot write heap snapshot %s: " % path
        failed["error"] = message[len(prefix):] if message.startswith(prefix) else message
        _status(failed)
        return
    except Exception as e:   # cannot happen (dump raises only DumpError): be safe anyway
        failed["error"] = _describe(e)
        _status(failed)
        return
    except KeyboardInterrupt:
        failed["error"] = "interrupted"
        _status(failed)
        if trigger == "signal":
            raise
        return
    result["trigger"] = trigger
    result["pid"] = failed["pid"]
    _status(result)


def _prepare_safely(step, default):
    """Run one preparation step of capture; on failure report it in the status file and go on
    without it."""
    try:
        return step()
    except Exception as e:
        _status({"error": "capture setup: %s: %s" % (type(e).__name__, e),
                 "path": _CAPTURE.get("output")})
        return default


def _status(record):
    status = _CAPTURE.get("status")
    if not status:
        return
    try:
        with open(status, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(_dumps(record) + "\n")
            f.flush()
    except Exception:
        pass



def describe(objs, wanted):
    """What a dump would record of each of a few live objects, without a dump: per object
    ([module, qualname] of its type, its label, [(referent, edge label)] of its references to
    the objects whose ids are in its set of `wanted` (a list of sets, one per object)), read the
    dumper's way: no code of the program runs. refgraph.objgraph draws its in-process pictures
    with it; a list or dict of a million items is looked up, not labelled whole."""
    import json
    d = _Dumper(None, True, frozenset())
    out = []
    try:
        for o, want in zip(objs, wanted):
            cls = type(o)
            plan = d.plan(cls)
            try:
                label = d.label_of(plan, o)
            except Exception:
                label = None
            if cls is list or cls is tuple:
                items = list(o)     # one copy: another thread may change the list meanwhile
                first = {}
                for k, j in enumerate(map(id, items)):
                    if j in want and j not in first:
                        first[j] = k
                named = [(items[k], _INDEX_LABEL[k]) for k in sorted(first.values())]
                items = None
            elif cls is dict:
                pairs = _dict_pairs(o)
                named = [(x, d.key_labels(pairs[k - k % 2])[k % 2])
                         for k, x in enumerate(pairs) if id(x) in want]
            else:
                try:
                    nrefs, refs, labels = plan.edges(plan, [o])
                except Exception:
                    nrefs, refs, labels = d.edges_each(plan, [o])
                if type(refs) is _Shaped:
                    refs = refs.expand()
                labels = d.edge_label_text(labels)
                if labels is None:
                    labels = list(map(_INDEX_LABEL.__getitem__, range(len(refs))))
                elif type(labels) is str:   # the JSON text of the labels
                    labels = json.loads("[" + labels + "]")
                named = [(r, lab) for r, lab in zip(refs, labels) if id(r) in want]
            out.append((_type_name(cls), label, named))
    finally:
        d.plans.clear()     # plans hold the dumper's bound methods: a cycle through it
    return out


# Computed last, when every function of the module exists (see _pause_monitoring).
_OWN_CODES = _own_codes()
