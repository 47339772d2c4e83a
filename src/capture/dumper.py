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
import time
import _thread
from itertools import chain, compress, filterfalse, repeat
from _operator import is_, mul, sub

try:
    import zlib
except ImportError:  # pragma: no cover - zlib is part of every normal CPython build
    zlib = None

__all__ = ["dump", "DumpError"]

_FORMAT_VERSION = [1, 0]
_CHUNK = 8192              # objects per `objects` line
_LABEL_CHARS = 80          # str/bytes labels show this much of the value
_LABEL_MAX = 100           # other labels are clipped to this length
_BIG_INT_BITS = 200        # larger ints are labelled by size, not value
_KEY_CACHE_MAX = 200000    # dict-key labels remembered per dump
_WRITE_BUFFER = 1 << 20

_FLAG_GARBAGE = 1
_FLAG_TRACKED = 2
_FLAG_INDEXED = 4

_TPFLAGS_HEAPTYPE = 1 << 9
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


_FunctionType = type(_sample_function)
_CodeType = type(_sample_function.__code__)
_CellType = type((lambda x: (lambda: x))(0).__closure__[0])
_MethodType = type(_sample_function.__get__(0))
_BuiltinFunctionType = type(len)
_MethodWrapperType = type(object().__str__)
_ModuleType = type(sys)
_FrameType = type(sys._getframe())
_GeneratorType = type(_sample_generator())
_GetSetType = type(_FunctionType.__dict__["__code__"])
_MemberType = type(_FunctionType.__dict__["__globals__"])
_MethodDescrType = type(str.join)
_WrapperDescrType = type(object.__init__)
_MappingProxyType = type(type.__dict__)
_TracebackType = type(sys.exc_info()[2]) if sys.exc_info()[2] is not None else None

_type_mro = type.__dict__["__mro__"].__get__
_type_qualname = type.__dict__["__qualname__"].__get__
_type_module = type.__dict__["__module__"].__get__
_type_flags = type.__dict__["__flags__"].__get__
_type_dictproxy = type.__dict__["__dict__"].__get__
_type_base = type.__dict__["__base__"].__get__
_type_bases = type.__dict__["__bases__"].__get__
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

_m_func = _MethodType.__dict__["__func__"].__get__
_m_self = _MethodType.__dict__["__self__"].__get__
_bf_name = _BuiltinFunctionType.__dict__["__name__"].__get__
_bf_self = _BuiltinFunctionType.__dict__["__self__"].__get__
_module_dict = _ModuleType.__dict__["__dict__"].__get__

_exc_set_traceback = BaseException.__dict__["__traceback__"].__set__
_HEAD = slice(0, _LABEL_CHARS)

# Getsets of builtin types that only read a stored field (no object is created, no code runs):
# they may be used to name references. Members (member_descriptor) are always such reads.
_PURE_GETSETS = {
    id(BaseException): ("args", "__traceback__", "__context__", "__cause__"),
    id(_CellType): ("cell_contents",),
    id(_BuiltinFunctionType): ("__self__",),
    id(_MethodWrapperType): ("__self__",),
    id(_GeneratorType): ("gi_code", "gi_yieldfrom", "__name__", "__qualname__"),
    id(_MappingProxyType): ("mapping",),
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
_ITEMS_LABEL = _Memo(_items_text)
_STR_COUNT_LABEL = _Memo("<str {} chars>".format)
_BYTES_COUNT_LABEL = _Memo("<bytes {} bytes>".format)
_INDEX_LABEL = _Memo("[{}]".format)


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


def _class_dict(cls):
    """The real dict behind a class's __dict__ mapping proxy."""
    refs = gc.get_referents(_type_dictproxy(cls))
    if refs and type(refs[0]) is dict:
        return refs[0]
    return {}


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
    """Codec error handler: a lone surrogate (only possible inside a JSON string) is written
    as the text \\udXXX, so the file stays valid UTF-8 and valid JSON."""
    bad = error.object[error.start:error.end]
    return "".join("\\\\u%04x" % ord(c) for c in bad), error.end


_SURROGATE_ERRORS = "refgraph.escape_surrogates"
_surrogate_handler_registered = []


def _encode(text):
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        if not _surrogate_handler_registered:
            import codecs
            codecs.register_error(_SURROGATE_ERRORS, _escape_surrogates)
            _surrogate_handler_registered.append(True)
        return text.encode("utf-8", _SURROGATE_ERRORS)


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
        data = _encode(text)
        if self.z is not None:
            data = self.z.compress(data)
        self.buffer.append(data)
        self.buffered += len(data)
        if self.buffered >= _WRITE_BUFFER:
            self.flush()

    def flush(self):
        data = b"".join(self.buffer)
        self.buffer = []
        self.buffered = 0
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.size += len(data)

    def finish(self):
        if self.z is not None:
            self.buffer.append(self.z.flush())
            self.z = None
        self.flush()


# ---------------------------------------------------------------------------------------------
# Labels. Each function takes a list of objects of one type and returns their labels.

def _str_label(s):
    if str.__len__(s) <= _LABEL_CHARS:
        return str.__repr__(s)
    return str.__repr__(str.__getitem__(s, _HEAD)) + "\u2026"


def _str_labels(objs, values):
    lengths = list(map(str.__len__, objs))
    if not values:
        return list(map(_STR_COUNT_LABEL.__getitem__, lengths))
    if max(lengths) <= _LABEL_CHARS:
        return list(map(str.__repr__, objs))
    return list(map(_str_label, objs))


def _bytes_label(b, base):
    head = base.__getitem__(b, _HEAD)
    text = bytes.__repr__(bytes(head) if base is bytearray else head)
    return text + "\u2026" if base.__len__(b) > _LABEL_CHARS else text


def _bytes_labels(objs, values, base):
    if not values:
        return list(map(_BYTES_COUNT_LABEL.__getitem__, map(base.__len__, objs)))
    return [_bytes_label(b, base) for b in objs]


def _int_label(i):
    bits = int.bit_length(i)
    return int.__repr__(i) if bits <= _BIG_INT_BITS else "<int %d bits>" % bits


def _int_labels(objs):
    if max(map(int.bit_length, objs)) <= _BIG_INT_BITS:
        return list(map(int.__repr__, objs))
    return list(map(_int_label, objs))


def _code_where(code):
    return "%s:%d" % (_basename(_text(_co_filename(code))), _co_firstlineno(code))


def _code_label(code):
    return _clip("%s %s" % (_text(_co_name(code)), _code_where(code)))


def _function_label(f):
    qualname = _text(_f_qualname(f))
    if _text(_f_name(f)) == "<lambda>":
        return _clip("%s %s" % (qualname, _code_where(_f_code(f))))
    return _clip(qualname)


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
    return _clip("%s() %s:%s" % (_text(_co_name(code)), _basename(_text(_co_filename(code))),
                                 _fr_lineno(f)))


def _module_label(m):
    md = _module_dict(m)
    name = _str_key_get(md, "__name__") if type(md) is dict else None
    return _clip(_text(name)) if name is not None else None


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
    """Label each reference by the first unused (label, object) pair naming the same object."""
    by_id = {}
    for label, obj in named:
        by_id.setdefault(id(obj), []).append(label)
    out = []
    for r in refs:
        labels = by_id.get(id(r))
        out.append(labels.pop(0) if labels else None)
    return out


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


def _measure(group):
    """Refcounts of a group of objects. Calibrated by _refcount_offset, which must call it the
    same way: at that moment each object is held by the dumper only through `group`."""
    return list(map(sys.getrefcount, group))


def _group_by_type(objs):
    """Split a chunk into lists of objects of one exact type, keyed by id(type)."""
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
# The dumper's own objects: left out of the snapshot, and their references subtracted.

def _own_code_ids():
    """ids of the code objects of every function in this module (frames running them are ours)."""
    out = set()
    stack = []
    for own in _own_objects():
        if type(own) is _FunctionType:
            stack.append(_f_code(own))
    while stack:
        code = stack.pop()
        if id(code) in out:
            continue
        out.add(id(code))
        stack.extend(c for c in _co_consts(code) if type(c) is _CodeType)
    return out


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
    while stack:
        o = stack.pop()
        if id(o) in found:
            continue
        found[id(o)] = o
        stack.extend(_own_parts(o, g))
    return list(found.values())


def _instance_dict_of(o):
    getter = _dict_getter(type(o))
    if getter is None:
        return []
    try:
        return [getter(o)]
    except Exception:
        return []


def _is_own_class(cls):
    return _str_key_get(_class_dict(cls), "__module__") == __name__


def _own_parts(o, g):
    """The parts of one of our objects that are ours as well."""
    t = type(o)
    if t is dict:
        values = [v for k, v in list(dict.items(o)) if not (o is g and k == "__builtins__")]
        return [v for v in values if _is_own_value(v, g)]
    if t in (list, tuple, set, frozenset):
        return [v for v in gc.get_referents(o) if _is_own_value(v, g)]
    if t is _FunctionType:
        parts = [_f_code(o)]
        parts.extend(r for r in gc.get_referents(o)
                     if type(r) in (tuple, dict, _CellType) and r is not _f_globals(o)
                     and (_f_builtins is None or r is not _f_builtins(o)))
        return parts
    if t is _CellType:
        return [v for v in gc.get_referents(o) if _is_own_value(v, g)]
    if t is _CodeType:
        return [c for c in _co_consts(o) if type(c) is _CodeType]
    if _is_subclass(type, t):
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
        return _instance_dict_of(o) + [v for v in gc.get_referents(o) if _is_own_value(v, g)]
    if t in (_MethodType, _MethodWrapperType, _BuiltinFunctionType):
        return [r for r in gc.get_referents(o) if _is_own_value(r, g)]
    return []


def _is_own_value(v, g):
    t = type(v)
    if t in (dict, list, tuple, set, frozenset, _CellType, _CodeType):
        return True
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
        mro = _type_mro(cls)
    except Exception:
        return None
    for klass in mro:
        desc = dict.get(_class_dict(klass), "__dict__")
        if type(desc) is _GetSetType:
            return desc.__get__
    return None


# ---------------------------------------------------------------------------------------------
# Per-type plans: how objects of one exact type are read, decided once per dump.

class _Plan:
    __slots__ = ("type", "index", "edges", "each", "labels", "label_base", "sizes", "indexed",
                 "dict_get", "readers", "heap", "base")


def _sizeof_is_builtin(mro):
    """True when sys.getsizeof would call a C __sizeof__ (never the program's own)."""
    for cls in mro:
        found = dict.get(_class_dict(cls), "__sizeof__", _MISSING)
        if found is not _MISSING:
            return type(found) in (_MethodDescrType, _WrapperDescrType)
    return True


class _Dumper:
    """One dump: walks the heap in chunks and writes the snapshot lines."""

    def __init__(self, out, values, garbage):
        self.out = out
        self.values = values
        self.garbage = garbage            # ids the collector found unreachable
        self.seen = set()                 # ids scheduled for writing
        self.excluded = set()             # ids of the dumper's own objects
        self.held = {}                    # id -> references the dumper holds to that object
        self.keep = []                    # objects kept alive while their ids are cached
        self.pending = []                 # lists of discovered objects not yet written
        self.plans = {}                   # id(type) -> _Plan
        self.new_types = []               # type names not yet written in a `types` line
        self.type_count = 0
        self.key_labels = {}              # id(dict key) -> (key edge label, value edge label)
        self.rc_offset = _refcount_offset()
        self.objects = 0
        self.edges = 0
        self.garbage_written = 0
        deque = sys.modules.get("_collections")
        self.deque = getattr(deque, "deque", None) if type(deque) is _ModuleType else None

    # -- bookkeeping ---------------------------------------------------------------------------

    def hold(self, obj):
        """Keep obj alive (its id is cached) and count that reference out of its refcount."""
        self.keep.append(obj)
        self.held[id(obj)] = self.held.get(id(obj), 0) + 1

    def count_held(self, objs):
        """References the caller holds for the dumper (not cached: nothing kept alive here)."""
        for o in objs:
            self.held[id(o)] = self.held.get(id(o), 0) + 1

    def count_refs_of_excluded(self, objs):
        """References from the dumper's own objects are not the program's: count them as held."""
        excluded = self.excluded
        for o in objs:
            refs = _dict_pairs(o) if type(o) is dict else gc.get_referents(o)
            for r in refs:
                if id(r) not in excluded:
                    self.held[id(r)] = self.held.get(id(r), 0) + 1

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
        self.type_count += 1
        self.new_types.append(_type_name(cls))
        try:
            mro = _type_mro(cls) or (cls,)
        except Exception:
            mro = (cls, object)
        flags = _type_flags(cls)
        plan.heap = bool(flags & _TPFLAGS_HEAPTYPE)
        plan.indexed = False
        plan.readers = []
        plan.dict_get = None
        plan.base = None
        plan.each = self.edges_generic

        kind, plan.label_base = None, None
        for klass in mro:
            kind = _LABEL_KINDS.get(id(klass))
            if kind is not None:
                plan.label_base = klass
                break
            if klass is self.deque:
                kind, plan.label_base = "items", klass
                break
        plan.labels = kind

        if _sizeof_is_builtin(mro):
            plan.sizes = self.sizes_builtin
        else:
            plan.sizes = self.sizes_plain_object

        builtin_bases = [k for k in mro if not _type_flags(k) & _TPFLAGS_HEAPTYPE]
        for klass in (dict, list, tuple):
            if klass in builtin_bases:
                plan.base = klass
        if plan.heap:
            plan.dict_get = _dict_getter(cls)
            if plan.dict_get is not None:
                self.hold(plan.dict_get)
        self.add_readers(plan, mro)

        if not flags & _TPFLAGS_HAVE_GC:
            plan.edges = self.edges_none
        elif cls is list or cls is tuple:
            plan.edges, plan.indexed = self.edges_sequence, True
        elif cls is dict:
            plan.edges, plan.each = self.edges_dict, self.edges_dict_one
        elif kind == "function" and not plan.heap:
            plan.edges, plan.each = self.edges_each, self.edges_function
        elif kind == "type":
            plan.edges, plan.each = self.edges_each, self.edges_type
        elif kind == "frame":
            plan.edges, plan.each = self.edges_each, self.edges_frame
        elif plan.heap and builtin_bases == [object] and not plan.readers:
            plan.edges = self.edges_instances
        else:
            plan.edges = self.edges_each
        return plan

    def add_readers(self, plan, mro):
        """Named fields to label references with: slots of the program's classes and fields of
        builtin bases (member descriptors, and getsets that only read a stored pointer)."""
        names = set()
        for klass in mro:
            pure = _PURE_GETSETS.get(id(klass), ())
            heap = _type_flags(klass) & _TPFLAGS_HEAPTYPE
            for name, desc in list(dict.items(_class_dict(klass))):
                if type(name) is not str or name in names:
                    continue
                if type(desc) is _MemberType or (type(desc) is _GetSetType and not heap
                                                 and name in pure):
                    names.add(name)
                    getter = desc.__get__
                    self.hold(getter)
                    plan.readers.append(("." + name, getter))

    # -- sizes ---------------------------------------------------------------------------------

    @staticmethod
    def sizes_builtin(plan, objs):
        try:
            return list(map(sys.getsizeof, objs))
        except Exception:
            return [_safe_getsizeof(o) for o in objs]

    @staticmethod
    def sizes_plain_object(plan, objs):
        """For types with their own __sizeof__ (never called): the basic C size."""
        extra = _GC_HEADER if _type_flags(plan.type) & _TPFLAGS_HAVE_GC else 0
        try:
            return [object.__sizeof__(o) + extra for o in objs]
        except Exception:
            return [0] * len(objs)

    # -- labels --------------------------------------------------------------------------------

    def labels(self, plan, objs):
        kind = plan.labels
        try:
            if kind is None:
                return [None] * len(objs)
            if kind == "str":
                return _str_labels(objs, self.values)
            if kind == "items":
                return list(map(_ITEMS_LABEL.__getitem__, map(plan.label_base.__len__, objs)))
            if kind == "int":
                return _int_labels(objs)
            if kind == "bool":
                return list(map(int.__repr__, objs)) if False else list(map(bool.__repr__, objs))
            if kind == "float":
                return list(map(float.__repr__, objs))
            if kind == "none":
                return ["None"] * len(objs)
            if kind == "complex":
                return list(map(complex.__repr__, objs))
            if kind in ("bytes", "bytearray"):
                return _bytes_labels(objs, self.values, plan.label_base)
            return _each_label(_PER_OBJECT_LABELS[kind], objs)
        except Exception:
            return _each_label(self.label_one, objs)

    def label_one(self, o):
        return self.labels(self.plan(type(o)), [o])[0]

    def key_text(self, k):
        """The text of a dict key in edge labels (FORMAT.md: `'name'`, `42`, `<tuple>`)."""
        plan = self.plan(type(k))
        kind = plan.labels
        if kind == "str":
            if self.values or str.isidentifier(k):
                return _str_label(k)
            return "<str %d chars>" % str.__len__(k)
        if kind in ("bytes", "bytearray", "int", "bool", "float", "complex", "none"):
            return self.labels(plan, [k])[0]
        return "<%s>" % _type_name(type(k))[1]

    def pair_labels(self, pairs):
        """Edge labels for [k0, v0, k1, v1, ...]: key 'k', ['k'], ..."""
        keys = pairs[0::2]
        cache = self.key_labels
        found = list(map(cache.get, map(id, keys)))
        if None in found:
            for i in compress(range(len(found)), map(is_, found, repeat(None))):
                found[i] = self.new_key_labels(keys[i])
        return list(chain.from_iterable(found))

    def new_key_labels(self, k):
        try:
            text = self.key_text(k)
        except Exception:
            text = "?"
        labels = ("key " + text, "[" + text + "]")
        if len(self.key_labels) < _KEY_CACHE_MAX:
            self.key_labels[id(k)] = labels
            self.hold(k)
        return labels

    # -- references ----------------------------------------------------------------------------
    # Each edges_* method takes a plan and a list of its objects and returns
    # (nrefs, flat references, flat edge labels or None when the plan is indexed).

    def edges_none(self, plan, objs):
        return [0] * len(objs), [], []

    def edges_sequence(self, plan, objs):
        refs = list(map(gc.get_referents, objs))
        return list(map(len, refs)), list(chain.from_iterable(refs)), None

    def edges_dict(self, plan, objs):
        lengths = list(map(dict.__len__, objs))
        try:
            pairs = list(chain.from_iterable(chain.from_iterable(map(dict.items, objs))))
        except RuntimeError:
            pairs = None
        if pairs is None or len(pairs) != 2 * sum(lengths):   # changed under us: one by one
            return self.edges_each(plan, objs)
        return list(map(mul, lengths, repeat(2))), pairs, self.pair_labels(pairs)

    def edges_instances(self, plan, objs):
        """Instances of a plain class (object as only builtin base, no slots): their references
        are exactly [__dict__, class] once the dict exists. Checked, else done one by one."""
        cls, get_dict, n = plan.type, plan.dict_get, len(objs)
        dicts = None
        if get_dict is not None:
            try:
                dicts = list(map(get_dict, objs))
            except Exception:
                return self.edges_each(plan, objs)
        refs = list(chain.from_iterable(map(gc.get_referents, objs)))
        if dicts is not None:
            if (len(refs) == 2 * n and all(map(is_, refs[0::2], dicts))
                    and all(map(is_, refs[1::2], repeat(cls)))):
                return [2] * n, refs, [".__dict__", ".__class__"] * n
        elif len(refs) == n and all(map(is_, refs, repeat(cls))):
            return [1] * n, refs, [".__class__"] * n
        return self.edges_each(plan, objs)

    def edges_each(self, plan, objs):
        nrefs, refs, labels = [], [], []
        each = plan.each
        for o in objs:
            try:
                r, lab = each(plan, o)
            except Exception:
                try:
                    r = gc.get_referents(o)
                except Exception:
                    r = []
                lab = [None] * len(r)
            nrefs.append(len(r))
            refs.extend(r)
            labels.extend(lab)
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
        if plan.dict_get is not None:
            try:
                named.append((".__dict__", plan.dict_get(o)))
            except Exception:
                pass
        if plan.heap:
            named.append((".__class__", plan.type))
        self.read_named(plan, o, named)
        base = plan.base
        if base is dict:
            pairs = _dict_pairs(o)
            rest = _without(gc.get_referents(o), pairs)
            return pairs + rest, self.pair_labels(pairs) + _identity_labels(rest, named)
        refs = gc.get_referents(o)
        labels = _identity_labels(refs, named)
        if base is list or base is tuple:
            # the items come last (after the instance's own slots, __dict__ and class)
            n = base.__len__(o)
            start = len(refs) - n
            if start >= 0:
                labels[start:] = map(_INDEX_LABEL.__getitem__, range(n))
        return refs, labels

    def edges_dict_one(self, plan, d):
        pairs = _dict_pairs(d)
        return pairs, self.pair_labels(pairs)

    def edges_function(self, plan, f):
        refs = gc.get_referents(f)
        code = _f_code(f)
        named = [(".__code__", code), (".__globals__", _f_globals(f))]
        if _f_builtins is not None:
            named.append((".__builtins__", _f_builtins(f)))
        named.append((".__module__", _f_module(f)))
        for label, read in ((".__defaults__", _f_defaults), (".__kwdefaults__", _f_kwdefaults)):
            value = read(f)
            if value is not None:
                named.append((label, value))
        named.append((".__doc__", _f_doc(f)))
        named.append((".__name__", _f_name(f)))
        closure = _f_closure(f)
        if closure is not None:
            named.append((".__closure__", closure))
        named.append((".__qualname__", _f_qualname(f)))
        labels = _identity_labels(refs, named)
        if None in labels:
            _name_function_extras(refs, labels, code)
        return refs, labels

    def edges_type(self, plan, cls):
        refs = gc.get_referents(cls)
        named = [(".__class__", type(cls)), (".__dict__", _class_dict(cls)),
                 (".__mro__", _type_mro(cls)), (".__bases__", _type_bases(cls)),
                 (".__base__", _type_base(cls))]
        self.read_named(plan, cls, named)
        return refs, _identity_labels(refs, named)

    def edges_frame(self, plan, f):
        """A frame's locals by name. A running frame reports (almost) nothing to the collector,
        so its code, globals, builtins, caller and locals are added as references."""
        refs = gc.get_referents(f)
        code, back = _fr_code(f), _fr_back(f)
        fglobals, fbuiltins, trace = _fr_globals(f), _fr_builtins(f), _fr_trace(f)
        try:
            flocals = _fr_locals(f)
        except Exception:
            flocals = None
        optimized = bool(_co_flags(code) & _CO_OPTIMIZED)
        local_pairs = _dict_pairs(flocals) if optimized and type(flocals) is dict else []
        named = [(".f_back", back), (".f_trace", trace), (".f_code", code),
                 (".f_globals", fglobals), (".f_builtins", fbuiltins)]
        for i in range(0, len(local_pairs), 2):
            named.append(("local " + _str_label(_text(local_pairs[i])), local_pairs[i + 1]))
        if not optimized and flocals is not None and flocals is not fglobals:
            named.append((".f_locals", flocals))
        labels = _identity_labels(refs, named)
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
        """The next objects to write, as a list that is their only holder in the dumper."""
        if self.pending:
            last = self.pending[-1]
            if len(last) <= _CHUNK:
                return self.pending.pop()
            chunk = last[-_CHUNK:]
            del last[-_CHUNK:]
            return chunk
        chunk = source[-_CHUNK:]
        del source[-_CHUNK:]
        return chunk

    def walk(self, source):
        while source or self.pending:
            self.write_chunk(_group_by_type(self.next_chunk(source)))

    def write_chunk(self, groups):
        # Refcounts first: until they are read, nothing but the group lists may hold these
        # objects (and the references in self.held, subtracted below).
        measured = [(group, list(map(id, group)), _measure(group)) for group in groups.values()]
        groups = None
        measured = [self.corrected(group, ids, counts) for group, ids, counts in measured]
        cols = _Columns()
        for group, ids, counts in measured:
            if group:
                self.add_group(cols, group, ids, counts)
        measured = None
        self.finish_chunk(cols)

    def corrected(self, group, ids, counts):
        counts = list(map(sub, counts, repeat(self.rc_offset)))
        held = self.held
        hits = list(filter(held.__contains__, ids))
        if hits:
            where = dict(zip(ids, range(len(ids))))
            for h in hits:
                counts[where[h]] -= held[h]
        if not self.excluded.isdisjoint(ids):
            keep = [i for i, x in enumerate(ids) if x not in self.excluded]
            group = [group[i] for i in keep]
            ids = [ids[i] for i in keep]
            counts = [counts[i] for i in keep]
        return group, ids, counts

    def add_group(self, cols, group, ids, counts):
        plan = self.plan(type(group[0]))
        try:
            nrefs, refs, labels = plan.edges(plan, group)
        except Exception:
            plan_each, plan.each = plan.each, self.edges_generic
            try:
                nrefs, refs, labels = self.edges_each(plan, group)
            finally:
                plan.each = plan_each
            labels = labels if labels is not None else [None] * len(refs)
        n = len(group)
        cols.ids += ids
        cols.types += [plan.index] * n
        cols.sizes += plan.sizes(plan, group)
        cols.refcounts += counts
        base = _FLAG_INDEXED if labels is None else 0
        cols.flags += map((base, base | _FLAG_TRACKED).__getitem__, map(gc.is_tracked, group))
        cols.labels += self.labels(plan, group)
        cols.nrefs += nrefs
        cols.refs += refs
        if labels is not None:
            cols.edge_labels += labels

    def finish_chunk(self, cols):
        ref_ids = list(map(id, cols.refs))
        if not self.excluded.isdisjoint(ref_ids):
            ref_ids = self.drop_excluded_refs(cols, ref_ids)
        self.discover(cols.refs, ref_ids)
        cols.refs = None
        if self.garbage and not self.garbage.isdisjoint(cols.ids):
            for i, x in enumerate(cols.ids):
                if x in self.garbage:
                    cols.flags[i] |= _FLAG_GARBAGE
                    self.garbage_written += 1
        if self.new_types:
            self.out.write('{"kind":"types","base":%d,"names":%s}\n'
                           % (self.type_count - len(self.new_types), _dumps(self.new_types)))
            self.new_types = []
        self.out.write("".join((
            '{"kind":"objects","id":[', _ints(cols.ids),
            '],"type":[', _small_ints(cols.types),
            '],"size":[', _small_ints(cols.sizes),
            '],"refcount":[', _small_ints(cols.refcounts),
            '],"flags":[', _small_ints(cols.flags),
            '],"label":', _dumps(cols.labels),
            ',"nrefs":[', _small_ints(cols.nrefs),
            '],"refs":[', _ints(ref_ids),
            '],"edge_labels":', _dumps(cols.edge_labels), "}\n")))
        self.objects += len(cols.ids)
        self.edges += len(ref_ids)

    def drop_excluded_refs(self, cols, ref_ids):
        """Remove references to the dumper's own objects. An indexed object that loses one gets
        explicit [i] labels instead of flag 4, so the remaining indices stay right."""
        excluded = self.excluded
        refs, kept_ids, labels, nrefs = [], [], [], []
        pos = lpos = 0
        for i, n in enumerate(cols.nrefs):
            indexed = cols.flags[i] & _FLAG_INDEXED
            ids = ref_ids[pos:pos + n]
            own_labels = None if indexed else cols.edge_labels[lpos:lpos + n]
            if not excluded.isdisjoint(ids):
                keep = [j for j, x in enumerate(ids) if x not in excluded]
                if indexed:
                    cols.flags[i] &= ~_FLAG_INDEXED
                    own_labels = [_INDEX_LABEL[j] for j in keep]
                else:
                    own_labels = [own_labels[j] for j in keep]
                refs.extend(cols.refs[pos + j] for j in keep)
                kept_ids.extend(ids[j] for j in keep)
                n_kept = len(keep)
            else:
                refs.extend(cols.refs[pos:pos + n])
                kept_ids.extend(ids)
                n_kept = n
            if own_labels is not None:
                labels.extend(own_labels)
            nrefs.append(n_kept)
            pos += n
            if not indexed:
                lpos += n
        cols.refs, cols.edge_labels, cols.nrefs = refs, labels, nrefs
        return kept_ids

    def discover(self, refs, ref_ids):
        """Queue referenced objects not seen before (untracked leaves such as str and int,
        dicts created since the walk began, ...)."""
        new = list(filterfalse(self.seen.__contains__, ref_ids))
        if not new:
            return
        new = set(new)
        self.seen.update(new)
        found = list(compress(refs, map(new.__contains__, ref_ids)))
        self.pending.append(list(dict(zip(map(id, found), found)).values()))

    def seed(self, objs):
        """Queue objects that must be written even if nothing tracked refers to them."""
        new = [o for o in objs if id(o) not in self.seen and id(o) not in self.excluded]
        if new:
            self.seen.update(map(id, new))
            self.pending.append(list(dict(zip(map(id, new), new)).values()))


class _Columns:
    """The columns of one `objects` line."""

    def __init__(self):
        self.ids, self.types, self.sizes, self.refcounts, self.flags = [], [], [], [], []
        self.labels, self.nrefs, self.refs, self.edge_labels = [], [], [], []


_PER_OBJECT_LABELS = {
    "module": _module_label, "function": _function_label, "builtin": _builtin_label,
    "method": _method_label, "type": lambda cls: _clip(_type_name(cls)[1]),
    "code": _code_label, "frame": _frame_label,
}

_GC_HEADER = sys.getsizeof([]) - [].__sizeof__()


def _safe_getsizeof(o):
    try:
        return sys.getsizeof(o)
    except Exception:
        return 0


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

def dump(path, marks=None, values=True, collect=True):
    """Write a heap snapshot of this process to `path` (gzip-compressed if it ends in .gz).

    marks: optional dict name -> object, recorded as `mark` lines.
    values: False keeps str/bytes contents out of every label.
    collect: run the cycle collector first (with DEBUG_SAVEALL) and flag what it found
    unreachable as garbage.
    Returns {"path", "objects", "edges", "garbage", "seconds"}; raises DumpError on failure.
    """
    return _dump(path, marks, values, collect, "api")


def _dump(path, marks, values, collect, trigger, held=()):
    started = time.perf_counter()
    wall = time.time()
    try:
        path = os.fspath(path)
    except Exception:
        raise DumpError("heap snapshot path %r: not a path" % (type(path).__name__,)) from None
    if type(path) is not str:
        raise DumpError("heap snapshot path %r: must be a str" % (path,))
    if marks is not None and not _is_subclass(dict, type(marks)):
        raise DumpError("heap snapshot %s: marks must be a dict" % path)
    if type(values) not in (bool, int) or type(collect) not in (bool, int):
        raise DumpError("heap snapshot %s: values and collect must be bools" % path)
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, ".%s.tmp-%d" % (name, os.getpid()))
    fd = None
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0),
                     0o666)
        garbage = _collect_garbage() if collect else frozenset()
        heap = gc.get_objects()
        result = _write_snapshot(fd, path, heap, garbage, marks, bool(values), bool(collect),
                                 trigger, started, wall, held)
        heap = None
        os.close(fd)
        fd = None
        os.replace(tmp, path)
        return result
    except BaseException as error:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if not isinstance(error, Exception):
            raise                    # KeyboardInterrupt, SystemExit: not ours to swallow
        raise DumpError("cannot write heap snapshot %s: %s" % (path, _describe(error))) from None
    finally:
        if collect:
            gc.collect()             # free the cyclic garbage, as the next collection would
        if gc_was_enabled:
            gc.enable()


def _describe(error):
    if isinstance(error, OSError) and error.strerror:
        return "%s (errno %s)" % (error.strerror, error.errno)
    text = str(error)
    return "%s: %s" % (type(error).__name__, text) if text else type(error).__name__


def _collect_garbage():
    """Run the cycle collector saving what it finds unreachable, and return the ids of those
    objects. gc.garbage and the debug flags are restored; the objects stay alive (they hold
    each other) until the collection after the dump."""
    garbage = gc.garbage
    if type(garbage) is not list:
        return frozenset()
    before = list.__len__(garbage)
    flags = gc.get_debug()
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        gc.collect()
    finally:
        gc.set_debug(flags)
    found = garbage[before:]
    del garbage[before:]
    return frozenset(map(id, found))


def _write_snapshot(fd, path, heap, garbage, marks, values, collect, trigger, started, wall,
                    held):
    """The walk proper. `heap` (gc.get_objects()) is consumed: objects leave it as written."""
    out = _Output(fd, path.endswith(".gz"))
    d = _Dumper(out, values, garbage)
    own = _own_objects()
    d.excluded.update(map(id, own))
    d.excluded.add(id(garbage))
    if marks is not None:
        d.excluded.add(id(marks))
    own_codes = _own_code_ids()
    d.excluded.update(own_codes)
    d.count_refs_of_excluded(own)
    own = None
    d.count_held(held)

    out.write(_dumps(_header(path, values, collect, trigger, wall, len(heap))) + "\n")
    threads, frames = _thread_stacks(d, own_codes)
    mark_objects = _write_marks(d, marks) if marks is not None else []
    _write_roots(d)
    for line in threads:
        out.write(_dumps(line) + "\n")

    heap.reverse()            # chunks are taken from the end; keep gc order in the file
    d.seen.update(map(id, heap))
    d.seen.difference_update(d.excluded)
    d.seed(frames)
    d.seed(mark_objects)
    frames = mark_objects = None
    d.walk(heap)

    seconds = round(time.perf_counter() - started, 4)
    out.write(_dumps({"kind": "end", "objects": d.objects, "edges": d.edges,
                      "garbage": d.garbage_written, "seconds": seconds}) + "\n")
    out.finish()
    return {"path": path, "objects": d.objects, "edges": d.edges,
            "garbage": d.garbage_written, "seconds": seconds}


def _header(path, values, collect, trigger, wall, hint):
    argv = sys.argv
    argv = [_text(a) for a in list(argv)] if type(argv) is list else []
    return {
        "kind": "header", "format": "refgraph-snapshot", "version": _FORMAT_VERSION,
        "python": sys.version, "python_version": list(sys.version_info[:3]),
        "implementation": sys.implementation.name, "platform": sys.platform,
        "pointer_size": 8 if sys.maxsize > 2 ** 32 else 4,
        "pid": os.getpid(), "argv": argv, "executable": sys.executable,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall)),
        "unix_time": round(wall, 3), "values": values, "collect": collect,
        "trigger": trigger, "objects_hint": hint,
    }


def _write_marks(d, marks):
    """`mark` lines; the marks dict is the dumper's, so its references are counted as held."""
    objs = []
    for name, obj in list(dict.items(marks)):
        d.count_held((name, obj))
        d.out.write(_dumps({"kind": "mark", "name": _text(name), "id": id(obj)}) + "\n")
        objs.append(obj)
    return objs


def _write_roots(d):
    for name, module in list(dict.items(sys.modules)):
        if id(module) in d.excluded or not _is_subclass(_ModuleType, type(module)):
            continue
        d.out.write(_dumps({"kind": "root", "root": "module", "name": _text(name),
                            "id": id(module)}) + "\n")


def _thread_stacks(d, own_codes):
    """`thread` lines and the frames to write. The dumper's frames are left out, and under
    capture also the bootstrap and runpy frames below the program's own."""
    stop_frame = _CAPTURE.get("stop_frame")
    runpy_codes = _CAPTURE.get("runpy_codes", ())
    names = _thread_names()
    main_ident = _main_thread_ident()
    lines, frames = [], []
    for ident, top in list(dict.items(sys._current_frames())):
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
        lines.append({"kind": "thread", "name": name, "ident": ident, "daemon": daemon,
                      "main": ident == main_ident, "frames": [id(f) for f in kept]})
        frames.extend(kept)
    return lines, frames


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
    return _thread.get_ident()


# ---------------------------------------------------------------------------------------------
# Capture mode: `refgraph capture` runs the program through the bootstrap
#   python3 -c "import sys;...;_m._capture_main(sys.argv[2:])" DUMPER_DIR script.py ARGS...

_CAPTURE = {}
_ENV_NAMES = ("REFGRAPH_OUTPUT", "REFGRAPH_SIGNAL", "REFGRAPH_VALUES", "REFGRAPH_COLLECT",
              "REFGRAPH_STATUS")


def _capture_main(argv):
    """Run `script ARGS` (or `-m module ARGS`) exactly as python3 would, dump the heap when
    its code finishes (and on REFGRAPH_SIGNAL), then exit the way python3 would have."""
    _CAPTURE["stop_frame"] = id(sys._getframe())
    _CAPTURE["boot_frame"] = id(sys._getframe(1))
    _CAPTURE["main_ident"] = _thread.get_ident()
    _CAPTURE["signals"] = 0
    config = _take_config()
    _CAPTURE.update(config)
    dumper_dir = sys.argv[1] if len(sys.argv) > 1 else None
    _forget_bootstrap(dumper_dir, argv)
    if config["signal"]:
        _install_signal(config["signal"])
    outcome = ()       # (exception,): the only reference the dumper holds to it while dumping
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
        target = namespace = None
        outcome = (e,)
    if config["output"]:
        _capture_dump(config["output"], "exit", held=outcome)
    if not outcome:
        return
    error = outcome[0]
    if _is_subclass(SystemExit, type(error)):
        raise error
    _strip_traceback_on_print()
    raise error


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
    }


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
    absolute = os.path.abspath(script)
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
    output = _CAPTURE.get("output")
    if not output:
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
    try:
        result = _dump(path, None, _CAPTURE["values"], _CAPTURE["collect"], trigger, held)
    except DumpError as e:
        _status({"error": str(e).replace("\n", " "), "path": path})
        return
    except Exception as e:   # cannot happen (dump raises only DumpError): be safe anyway
        _status({"error": "heap snapshot %s: %s" % (path, _describe(e)), "path": path})
        return
    except KeyboardInterrupt:
        _status({"error": "heap snapshot %s: interrupted" % path, "path": path})
        if trigger == "signal":
            raise
        return
    result["trigger"] = trigger
    _status(result)


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
