/* rgnative: the refgraph dumper's native accelerator (the CPython extension module
 * `_refgraph_native`).
 *
 * It does, in C, a few of the per-chunk steps of python/refgraph/_dump.py that cost the most
 * in pure Python, each with exactly the result of the Python code it replaces (the dumper
 * checks this: tests/native.rs compares whole snapshots written both ways):
 *
 *   ints(list of int)                   -> "1,2,3"            (_ints)
 *   id_text(list of objects)            -> "1,2,3"            (_ints(list(map(id, objs))))
 *   group_by_type(list)                 -> {id(type): [objs]} (_group_by_type)
 *   discover(seen, excluded_keys, ids, objs, shift) -> (new objs, their ids, clean)
 *                                                             (_Dumper.discover)
 *   counts_text(list of int, offset)    -> "1,2,3"            (",".join(str(n - offset) ...))
 *   KeySet()                            the dumper's `seen` set of object keys, compact
 *   KeySet.add_objects(objs, shift)     seen.update(map(rshift, map(id, objs), repeat(shift)))
 *   instance_attrs(objs, minor)         -> (counts, names, values): instances' attributes in
 *                                          __dict__ order, read without making the __dict__
 *                                          (3.11-3.13 only; see its comment)
 *
 * Rules it keeps, as the Python dumper does: it never runs the program's code (it only reads
 * object headers and calls the C functions of builtin types: lists, dicts, sets of ints and
 * int objects), it holds no reference after a call returns, and it creates no objects but
 * the ones the Python code it replaces would have created.
 *
 * It is built WITHOUT Python headers (build.rs: one `cc -shared`, no Python needed to build
 * the refgraph binary): the few stable-ABI functions it calls are declared here by hand, and
 * the only object field it reads is ob_type, at the same place in every non-free-threaded
 * 64-bit CPython -- but for instance_attrs, which reads one minor version's internals and is
 * used only after the dumper's self-test found it right on the running interpreter. The module is the limited-API/abi3 kind (PyModule_Create2 with API version
 * 3), so one file loads in every CPython from 3.8 on; the dumper loads it only where it was
 * checked (3.10-3.13, 64-bit Linux, no debug or free-threaded build) and otherwise stays pure
 * Python. At import the module checks that the header layout it assumes holds.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef intptr_t Py_ssize_t;
typedef struct _object PyObject;
struct _object {
    Py_ssize_t ob_refcnt;
    PyObject *ob_type;
};
typedef PyObject *(*PyCFunction)(PyObject *, PyObject *);

typedef struct {
    PyObject ob_base;
    PyObject *(*m_init)(void);
    Py_ssize_t m_index;
    PyObject *m_copy;
} PyModuleDef_Base;

typedef struct {
    const char *ml_name;
    PyCFunction ml_meth;
    int ml_flags;
    const char *ml_doc;
} PyMethodDef;

typedef struct {
    PyModuleDef_Base m_base;
    const char *m_name;
    const char *m_doc;
    Py_ssize_t m_size;
    PyMethodDef *m_methods;
    void *m_slots;
    void *m_traverse;
    void *m_clear;
    void *m_free;
} PyModuleDef;

#define METH_VARARGS 0x0001
#define METH_O 0x0008
#define METH_NOARGS 0x0004

typedef struct {
    int slot;
    void *pfunc;
} PyType_Slot;

typedef struct {
    const char *name;
    int basicsize;
    int itemsize;
    unsigned int flags;
    PyType_Slot *slots;
} PyType_Spec;

/* slot numbers of Include/typeslots.h (part of the stable ABI) */
#define Py_sq_contains 41
#define Py_sq_length 45
#define Py_tp_dealloc 52
#define Py_tp_doc 56
#define Py_tp_free 74
#define Py_tp_methods 64
#define Py_tp_new 65
#define Py_TPFLAGS_DEFAULT 0
#define PYTHON_ABI_VERSION 3

/* The stable ABI (all present since 3.2, most since 3.0). */
extern PyObject *PyModule_Create2(PyModuleDef *, int);
extern PyObject PyList_Type, PyDict_Type, PyTuple_Type, PySet_Type, PyLong_Type;
extern PyObject *PyExc_TypeError, *PyExc_RuntimeError;
extern void PyErr_SetString(PyObject *, const char *);
extern PyObject *PyErr_NoMemory(void);
extern long long PyLong_AsLongLong(PyObject *);
extern PyObject *PyErr_Occurred(void);
extern void PyErr_Clear(void);
extern void Py_IncRef(PyObject *);
extern void Py_DecRef(PyObject *);
extern PyObject *PyList_New(Py_ssize_t);
extern Py_ssize_t PyList_Size(PyObject *);
extern PyObject *PyList_GetItem(PyObject *, Py_ssize_t);
extern int PyList_SetItem(PyObject *, Py_ssize_t, PyObject *);
extern int PyList_Append(PyObject *, PyObject *);
extern PyObject *PyTuple_GetItem(PyObject *, Py_ssize_t);
extern Py_ssize_t PyTuple_Size(PyObject *);
extern PyObject *PyTuple_New(Py_ssize_t);
extern int PyTuple_SetItem(PyObject *, Py_ssize_t, PyObject *);
extern PyObject *PyDict_New(void);
extern PyObject *PyDict_GetItem(PyObject *, PyObject *);
extern int PyDict_SetItem(PyObject *, PyObject *, PyObject *);
extern int PySet_Contains(PyObject *, PyObject *);
extern int PySet_Add(PyObject *, PyObject *);
extern Py_ssize_t PySet_Size(PyObject *);
extern PyObject *PyLong_FromVoidPtr(void *);
extern PyObject *PyLong_FromUnsignedLongLong(unsigned long long);
extern unsigned long long PyLong_AsUnsignedLongLong(PyObject *);
extern PyObject *PyBool_FromLong(long);
extern PyObject *PyUnicode_FromStringAndSize(const char *, Py_ssize_t);
extern PyObject *PyObject_GetIter(PyObject *);
extern PyObject *PyIter_Next(PyObject *);
extern Py_ssize_t PyLong_AsSsize_t(PyObject *);
extern PyObject *PyType_FromSpec(void *);
extern int PyModule_AddObject(PyObject *, const char *, PyObject *);
extern void *PyType_GetSlot(PyObject *, int);
extern PyObject *PyLong_FromSize_t(size_t);
extern PyObject *PyLong_FromSsize_t(Py_ssize_t);
extern PyObject _Py_NoneStruct;
extern void *PyMem_Calloc(size_t, size_t);
extern void *PyMem_Malloc(size_t);
extern void *PyMem_Realloc(void *, size_t);
extern void PyMem_Free(void *);

#define TYPE(o) (((PyObject *)(o))->ob_type)

static PyObject *arg(PyObject *args, Py_ssize_t i, PyObject *type, const char *what)
{
    PyObject *o = PyTuple_GetItem(args, i);
    if (o == NULL)
        return NULL;
    if (type != NULL && TYPE(o) != type) {
        PyErr_SetString(PyExc_TypeError, what);
        return NULL;
    }
    return o;
}

/* ---- ints ----------------------------------------------------------------------------- */

/* "00".."99": two digits per division, half the divisions of one digit at a time (ids have
 * 15 digits, and the id and reference columns are most of a snapshot's text) */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Appends the decimal text of v at p; returns the end. */
static char *put_u64(char *p, unsigned long long v)
{
    char tmp[24];
    int n = 24;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        tmp[--n] = digit_pairs[2 * r + 1];
        tmp[--n] = digit_pairs[2 * r];
    }
    if (v >= 10) {
        tmp[--n] = digit_pairs[2 * v + 1];
        tmp[--n] = digit_pairs[2 * v];
    } else
        tmp[--n] = (char)('0' + v);
    memcpy(p, tmp + n, (size_t)(24 - n));
    return p + (24 - n);
}

/* The one way a column of numbers becomes text: "n0,n1,..." for the n values that number(i)
 * gives (0: ok, -1: an error is set), as a new str. Each number takes at most 21 characters
 * with its sign and comma. */
typedef int (*number_at)(void *ctx, Py_ssize_t i, int *negative, unsigned long long *magnitude);

static PyObject *numbers_joined(Py_ssize_t n, number_at number, void *ctx)
{
    if (n == 0)
        return PyUnicode_FromStringAndSize("", 0);
    char *buf = PyMem_Malloc((size_t)n * 22);
    if (buf == NULL)
        return PyErr_NoMemory();
    char *p = buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        int negative = 0;
        unsigned long long magnitude;
        if (number(ctx, i, &negative, &magnitude) < 0) {
            PyMem_Free(buf);
            return NULL;
        }
        if (i)
            *p++ = ',';
        if (negative)
            *p++ = '-';
        p = put_u64(p, magnitude);
    }
    PyObject *out = PyUnicode_FromStringAndSize(buf, p - buf);
    PyMem_Free(buf);
    return out;
}

static int int_at(void *values, Py_ssize_t i, int *negative, unsigned long long *magnitude)
{
    (void)negative;
    PyObject *v = PyList_GetItem(values, i);
    if (TYPE(v) != &PyLong_Type) {
        PyErr_SetString(PyExc_TypeError, "ints: a list of ints");
        return -1;
    }
    *magnitude = PyLong_AsUnsignedLongLong(v);
    return *magnitude == (unsigned long long)-1 && PyErr_Occurred() ? -1 : 0;
}

/* ints(values): the inside of a JSON array of non-negative ints ("%d,%d" % values). */
static PyObject *rg_ints(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *values = arg(args, 0, &PyList_Type, "ints: a list of ints");
    if (values == NULL)
        return NULL;
    return numbers_joined(PyList_Size(values), int_at, values);
}

struct counts {
    PyObject *values;
    long long offset;
};

static int count_at(void *ctx, Py_ssize_t i, int *negative, unsigned long long *magnitude)
{
    const struct counts *c = ctx;
    PyObject *v = PyList_GetItem(c->values, i);
    long long x = TYPE(v) == &PyLong_Type ? PyLong_AsLongLong(v) : 0;
    /* refcounts are far from the edges of a long long: anything else is an error, not a
     * wrong number */
    if (TYPE(v) != &PyLong_Type || (x == -1 && PyErr_Occurred()) || x < -(1LL << 62)
        || x > (1LL << 62) || c->offset < -(1LL << 62) || c->offset > (1LL << 62)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "counts_text: a list of ints");
        return -1;
    }
    long long d = x - c->offset;
    *negative = d < 0;
    *magnitude = d < 0 ? (unsigned long long)(-d) : (unsigned long long)d;
    return 0;
}

/* counts_text(counts, offset): the refcount column, the inside of a JSON array of
 * count - offset for each int of `counts` (",".join(str(n - offset) for n in counts)). */
static PyObject *rg_counts_text(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *values = arg(args, 0, &PyList_Type, "counts_text: a list of ints");
    PyObject *offset_o = values ? arg(args, 1, &PyLong_Type, "counts_text: an int offset") : NULL;
    if (offset_o == NULL)
        return NULL;
    struct counts c = {values, PyLong_AsLongLong(offset_o)};
    if (c.offset == -1 && PyErr_Occurred())
        return NULL;
    return numbers_joined(PyList_Size(values), count_at, &c);
}

static int id_at(void *objs, Py_ssize_t i, int *negative, unsigned long long *magnitude)
{
    (void)negative;
    *magnitude = (unsigned long long)(uintptr_t)PyList_GetItem(objs, i);
    return 0;
}

/* id_text(objs): the inside of a JSON array of the objects' ids (ints(list(map(id, objs))),
 * without making the ints). */
static PyObject *rg_id_text(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs = arg(args, 0, &PyList_Type, "id_text: a list");
    if (objs == NULL)
        return NULL;
    return numbers_joined(PyList_Size(objs), id_at, objs);
}

/* ---- group_by_type ---------------------------------------------------------------------- */

/* group_by_type(objs): {id(type): [objects of that exact type]}, in order of first
 * appearance; a chunk of one type is returned as {id(type): objs} (the same list). */
static PyObject *rg_group_by_type(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs = arg(args, 0, &PyList_Type, "group_by_type: a list");
    if (objs == NULL)
        return NULL;
    PyObject *groups = PyDict_New();
    if (groups == NULL)
        return NULL;
    Py_ssize_t n = PyList_Size(objs);
    if (n == 0)
        return groups;
    PyObject *first = TYPE(PyList_GetItem(objs, 0));
    Py_ssize_t i = 1;
    while (i < n && TYPE(PyList_GetItem(objs, i)) == first)
        i++;
    if (i == n) {
        PyObject *key = PyLong_FromVoidPtr(first);
        if (key == NULL || PyDict_SetItem(groups, key, objs) < 0)
            goto fail_key;
        Py_DecRef(key);
        return groups;
    fail_key:
        if (key != NULL)
            Py_DecRef(key);
        Py_DecRef(groups);
        return NULL;
    }
    PyObject *last_type = NULL, *last_list = NULL;   /* borrowed, from groups */
    for (i = 0; i < n; i++) {
        PyObject *o = PyList_GetItem(objs, i);
        PyObject *t = TYPE(o);
        PyObject *list = t == last_type ? last_list : NULL;
        if (list == NULL) {
            PyObject *key = PyLong_FromVoidPtr(t);
            if (key == NULL)
                goto fail;
            list = PyDict_GetItem(groups, key);
            if (list == NULL) {
                list = PyList_New(0);
                if (list == NULL || PyDict_SetItem(groups, key, list) < 0) {
                    if (list != NULL)
                        Py_DecRef(list);
                    Py_DecRef(key);
                    goto fail;
                }
                Py_DecRef(list);      /* the dict holds it */
            }
            Py_DecRef(key);
            last_type = t;
            last_list = list;
        }
        if (PyList_Append(list, o) < 0)
            goto fail;
    }
    return groups;
fail:
    Py_DecRef(groups);
    return NULL;
}


/* ---- KeySet ------------------------------------------------------------------------------ */

/* KeySet(): the dumper's `seen` set (keys id >> shift of the objects written or queued) as a
 * table of plain 64-bit keys: a Python set of ints costs ~60 bytes per object (the int and its
 * slot) and a pointer chase per lookup; this costs 11-21 bytes (the table 3/8 to 3/4 full)
 * and one probe. It answers what the dumper asks of its set: `k in s`, len(s),
 * s.update(ints), s.difference_update(ints).
 * Open addressing, linear probing, backward-shift deletion; key 0 marks a free slot (keys are
 * addresses >> 4, never 0). Not a GC object: it holds no references. */
typedef struct {
    PyObject ob_base;
    uint64_t *table;
    size_t mask;     /* capacity - 1 (capacity a power of two), or 0 before the first add */
    size_t used;
} KeySet;

/* Whether a table of mask + 1 slots is too full for `count` keys: at most 3/4 full (at 1/2
 * the table was most of a 10M-object dump's extra memory, 256 MB; a lookup at 3/4 with
 * linear probing still reads one or two cache lines). */
static int ks_too_full(size_t count, size_t mask)
{
    return count * 4 > (mask + 1) * 3;
}

static size_t slot_of(uint64_t key, size_t mask)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;
}

static int ks_has(const KeySet *s, uint64_t key)
{
    if (s->table == NULL || key == 0)
        return 0;
    for (size_t i = slot_of(key, s->mask);; i = (i + 1) & s->mask) {
        uint64_t here = s->table[i];
        if (here == key)
            return 1;
        if (here == 0)
            return 0;
    }
}

static int ks_grow(KeySet *s)
{
    size_t capacity = s->table == NULL ? 1024 : (s->mask + 1) * 2;
    uint64_t *table = PyMem_Calloc(capacity, sizeof(uint64_t));
    if (table == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    size_t mask = capacity - 1;
    if (s->table != NULL) {
        for (size_t j = 0; j <= s->mask; j++) {
            uint64_t key = s->table[j];
            if (key == 0)
                continue;
            size_t i = slot_of(key, mask);
            while (table[i] != 0)
                i = (i + 1) & mask;
            table[i] = key;
        }
        PyMem_Free(s->table);
    }
    s->table = table;
    s->mask = mask;
    return 0;
}

/* A hint that the slot of `key` is read soon: the table is far bigger than the caches and
 * keys are addresses in no useful order, so each probe would otherwise wait for memory. */
static inline void ks_prefetch(const KeySet *s, uint64_t key)
{
    if (s->table != NULL)
        __builtin_prefetch(&s->table[slot_of(key, s->mask)]);
}

/* 1: added, 0: was there, -1: error */
static int ks_add(KeySet *s, uint64_t key)
{
    if (key == 0) {
        PyErr_SetString(PyExc_TypeError, "KeySet: key 0");
        return -1;
    }
    if (s->table == NULL || ks_too_full(s->used + 1, s->mask)) {
        if (ks_has(s, key))
            return 0;
        if (ks_grow(s) < 0)
            return -1;
    }
    size_t i = slot_of(key, s->mask);
    for (;; i = (i + 1) & s->mask) {
        if (s->table[i] == key)
            return 0;
        if (s->table[i] == 0)
            break;
    }
    s->table[i] = key;
    s->used++;
    return 1;
}

static void ks_discard(KeySet *s, uint64_t key)
{
    if (s->table == NULL || key == 0)
        return;
    size_t i = slot_of(key, s->mask);
    for (;; i = (i + 1) & s->mask) {
        if (s->table[i] == 0)
            return;
        if (s->table[i] == key)
            break;
    }
    /* backward-shift: move later keys of the run into the hole when that is where they
     * belong (their home slot is not cyclically in (hole, j]) */
    size_t hole = i;
    for (size_t j = (i + 1) & s->mask; s->table[j] != 0; j = (j + 1) & s->mask) {
        size_t home = slot_of(s->table[j], s->mask);
        int between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!between) {
            s->table[hole] = s->table[j];
            hole = j;
        }
    }
    s->table[hole] = 0;
    s->used--;
}

/* the key an int object stands for; sets an error for anything else */
static int key_of(PyObject *o, uint64_t *key)
{
    if (TYPE(o) != &PyLong_Type) {
        PyErr_SetString(PyExc_TypeError, "KeySet: keys are ints");
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    *key = v;
    return 0;
}

static PyObject *ks_new(PyObject *type, PyObject *args, PyObject *kwargs)
{
    (void)args;
    (void)kwargs;
    PyObject *(*alloc)(PyObject *, Py_ssize_t) = PyType_GetSlot(type, 47 /* Py_tp_alloc */);
    KeySet *s = (KeySet *)alloc(type, 0);
    if (s != NULL) {
        s->table = NULL;
        s->mask = 0;
        s->used = 0;
    }
    return (PyObject *)s;
}

static void ks_dealloc(PyObject *self)
{
    KeySet *s = (KeySet *)self;
    PyObject *type = TYPE(self);
    PyMem_Free(s->table);
    s->table = NULL;
    void (*free_fn)(void *) = PyType_GetSlot(type, Py_tp_free);
    free_fn(self);
    Py_DecRef(type);     /* a heap type: its instances hold it */
}

static int ks_contains(PyObject *self, PyObject *o)
{
    if (TYPE(o) != &PyLong_Type)
        return 0;
    uint64_t key;
    if (key_of(o, &key) < 0) {     /* negative or too big: no key, as a set of keys says */
        PyErr_Clear();
        return 0;
    }
    return ks_has((KeySet *)self, key);
}

static Py_ssize_t ks_len(PyObject *self)
{
    return (Py_ssize_t)((KeySet *)self)->used;
}

static PyObject *ks_each(PyObject *self, PyObject *iterable, int add)
{
    PyObject *it = PyObject_GetIter(iterable), *o;
    if (it == NULL)
        return NULL;
    while ((o = PyIter_Next(it)) != NULL) {
        uint64_t key;
        int bad = key_of(o, &key) < 0;
        Py_DecRef(o);
        if (!bad) {
            if (add)
                bad = ks_add((KeySet *)self, key) < 0;
            else
                ks_discard((KeySet *)self, key);
        }
        if (bad) {
            Py_DecRef(it);
            return NULL;
        }
    }
    Py_DecRef(it);
    if (PyErr_Occurred())
        return NULL;
    Py_IncRef(&_Py_NoneStruct);
    return &_Py_NoneStruct;
}

static PyObject *ks_update(PyObject *self, PyObject *iterable)
{
    return ks_each(self, iterable, 1);
}

static PyObject *ks_difference_update(PyObject *self, PyObject *iterable)
{
    return ks_each(self, iterable, 0);
}

/* how many objects ahead of the one probed the next probe's slot is fetched */
#define PREFETCH_AHEAD 8

/* add_objects(objs, shift): the keys (address >> shift) of a list's objects, as
 * update(map(rshift, map(id, objs), repeat(shift))) does, without an int per object. */
static PyObject *ks_add_objects(PyObject *self, PyObject *args)
{
    KeySet *s = (KeySet *)self;
    PyObject *objs = arg(args, 0, &PyList_Type, "add_objects: a list");
    PyObject *shift_o = objs ? arg(args, 1, &PyLong_Type, "add_objects: shift int") : NULL;
    if (shift_o == NULL)
        return NULL;
    unsigned long long shift = PyLong_AsUnsignedLongLong(shift_o);
    if (shift > 16) {
        PyErr_SetString(PyExc_TypeError, "add_objects: bad shift");
        return NULL;
    }
    Py_ssize_t n = PyList_Size(objs);
    /* grow once to the size the whole list needs (ks_add's own rule) */
    while (s->table == NULL || ks_too_full(s->used + (size_t)n + 1, s->mask))
        if (ks_grow(s) < 0)
            return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n)
            ks_prefetch(s, ((uint64_t)(uintptr_t)PyList_GetItem(objs, i + PREFETCH_AHEAD))
                               >> shift);
        if (ks_add(s, ((uint64_t)(uintptr_t)PyList_GetItem(objs, i)) >> shift) < 0)
            return NULL;
    }
    Py_IncRef(&_Py_NoneStruct);
    return &_Py_NoneStruct;
}

static PyMethodDef ks_methods[] = {
    {"add_objects", ks_add_objects, METH_VARARGS, "add the keys of a list's objects"},
    {"update", ks_update, METH_O, "add the keys of an iterable of ints"},
    {"difference_update", ks_difference_update, METH_O, "remove the keys of an iterable"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot ks_slots[] = {
    {Py_tp_new, (void *)ks_new},
    {Py_tp_dealloc, (void *)ks_dealloc},
    {Py_sq_contains, (void *)ks_contains},
    {Py_sq_length, (void *)ks_len},
    {Py_tp_methods, ks_methods},
    {Py_tp_doc, "the dumper's set of object keys (see native/rgnative.c)"},
    {0, NULL},
};

static PyType_Spec ks_spec = {
    "_refgraph_native.KeySet", sizeof(KeySet), 0, Py_TPFLAGS_DEFAULT, ks_slots,
};

static PyObject *keyset_type;    /* set at import */

/* ---- discover --------------------------------------------------------------------------- */

/* discover(seen, excluded_keys, ids, objs, shift) -> (found, found_ids, clean).
 * The objects of `objs` (ids `ids`, or None: made here for the ones found) whose key (id >> shift) is neither in `seen` nor in
 * `excluded_keys`, once each in order of first appearance, with their ids; their keys are
 * added to `seen`. clean: no object of `objs` not seen before was an excluded one. */
static PyObject *rg_discover(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *seen = arg(args, 0, keyset_type, "discover: seen must be a KeySet");
    PyObject *excluded = seen ? arg(args, 1, &PySet_Type, "discover: a set") : NULL;
    PyObject *ids = excluded ? arg(args, 2, NULL, "") : NULL;
    if (ids != NULL && ids != &_Py_NoneStruct && TYPE(ids) != &PyList_Type) {
        PyErr_SetString(PyExc_TypeError, "discover: ids must be a list or None");
        return NULL;
    }
    PyObject *objs = ids ? arg(args, 3, &PyList_Type, "discover: objs list") : NULL;
    PyObject *shift_o = objs ? arg(args, 4, &PyLong_Type, "discover: shift int") : NULL;
    if (shift_o == NULL)
        return NULL;
    unsigned long long shift = PyLong_AsUnsignedLongLong(shift_o);
    if (shift > 16) {
        PyErr_SetString(PyExc_TypeError, "discover: bad shift");
        return NULL;
    }
    Py_ssize_t n = PyList_Size(objs);
    int make_ids = ids == &_Py_NoneStruct;
    if (!make_ids && PyList_Size(ids) != n) {
        PyErr_SetString(PyExc_TypeError, "discover: ids and objs differ in length");
        return NULL;
    }
    int excluded_empty = PySet_Size(excluded) == 0;
    PyObject *found = PyList_New(0), *found_ids = PyList_New(0), *out = NULL;
    long clean = 1;
    if (found == NULL || found_ids == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n)
            ks_prefetch((KeySet *)seen,
                        ((uint64_t)(uintptr_t)PyList_GetItem(objs, i + PREFETCH_AHEAD)) >> shift);
        PyObject *o = PyList_GetItem(objs, i);
        uint64_t k = ((uint64_t)(uintptr_t)o) >> shift;
        if (ks_has((KeySet *)seen, k))
            continue;
        int known = 0;
        if (!excluded_empty) {
            PyObject *key = PyLong_FromUnsignedLongLong(k);
            if (key == NULL)
                goto done;
            known = PySet_Contains(excluded, key);     /* 1: left out; -1: error */
            Py_DecRef(key);
            if (known > 0)
                clean = 0;
        }
        if (known == 0) {
            if (ks_add((KeySet *)seen, k) < 0 || PyList_Append(found, o) < 0)
                known = -1;
            else if (make_ids) {
                PyObject *x = PyLong_FromVoidPtr(o);
                if (x == NULL || PyList_Append(found_ids, x) < 0)
                    known = -1;
                if (x != NULL)
                    Py_DecRef(x);
            } else if (PyList_Append(found_ids, PyList_GetItem(ids, i)) < 0)
                known = -1;
        }
        if (known < 0)
            goto done;
    }
    out = PyTuple_New(3);
    if (out == NULL)
        goto done;
    PyTuple_SetItem(out, 0, found);
    PyTuple_SetItem(out, 1, found_ids);
    PyTuple_SetItem(out, 2, PyBool_FromLong(clean));
    return out;
done:
    if (found != NULL)
        Py_DecRef(found);
    if (found_ids != NULL)
        Py_DecRef(found_ids);
    return NULL;
}

/* ---- instance_attrs ----------------------------------------------------------------------- */

/* The attributes of instances of plain classes as their __dict__ would list them, read from the
 * interpreter's own storage WITHOUT making the dict (reading obj.__dict__ makes one per instance
 * on 3.11-3.13, when the attributes live in a "values" array keyed by the class's shared keys).
 * Layouts, from CPython's Include/internal/pycore_dict.h, pycore_object.h and cpython/object.h
 * at v3.11.7, v3.12.1 and v3.13.0 (the same within a minor version):
 *   - the class's shared keys: PyHeapTypeObject.ht_cached_keys, at byte 872 (3.11) or 880
 *     (3.12, 3.13) of the type object; a PyDictKeysObject of kind DICT_KEYS_SPLIT whose
 *     entries (PyDictUnicodeEntry: key, value) follow its 1 << dk_log2_index_bytes index bytes;
 *   - 3.11: the values pointer at -4 pointers before the object, the dict pointer at -3
 *     (one of them is NULL); 3.12: one tagged word at -3, (values - 1) when bit 0 is set, else
 *     the dict; in both the values' prefix holds, byte by byte backwards from the values, the
 *     prefix size, the count of attributes, then their indexes in insertion order
 *     (_PyDictValues_AddToInsertionOrder);
 *   - 3.13: the values inline at tp_basicsize (PyDictValues: capacity, size, embedded, valid
 *     bytes, then the values, then `size` order bytes), the dict pointer at -3 pointers.
 * Anything unexpected, a materialized dict, or a value that is the class itself (named
 * differently by the Python dumper): the object is left to the Python code (count -1).
 * The dumper calls this only after its self-test at import (python/refgraph/_dump.py,
 * _attrs_reader) found it agreeing with __dict__ on this interpreter. */

#define TPFLAGS_INLINE_VALUES (1UL << 2)
#define TPFLAGS_MANAGED_DICT (1UL << 4)
#define TPFLAGS_HEAPTYPE (1UL << 9)
#define DICT_KEYS_SPLIT 2
#define SHARED_KEYS_MAX 30

extern unsigned long PyType_GetFlags(PyObject *);
extern PyObject PyUnicode_Type;

typedef struct {
    Py_ssize_t dk_refcnt;
    uint8_t dk_log2_size;
    uint8_t dk_log2_index_bytes;
    uint8_t dk_kind;
    uint32_t dk_version;
    Py_ssize_t dk_usable;
    Py_ssize_t dk_nentries;
    char dk_indices[];
} DictKeys;

typedef struct {
    PyObject *me_key;
    PyObject *me_value;
} UnicodeEntry;

/* Reads one object's attributes: their count (0..30), with order[] the entry indexes and
 * vals the values array; -1 if this object is not readable here. */
static int attrs_of(PyObject *o, int minor, const UnicodeEntry **entries_out,
                    PyObject *const **vals_out, uint8_t order[SHARED_KEYS_MAX])
{
    PyObject *t = TYPE(o);
    unsigned long flags = PyType_GetFlags(t);
    if (!(flags & TPFLAGS_HEAPTYPE) || !(flags & TPFLAGS_MANAGED_DICT))
        return -1;
    size_t keys_at = minor == 11 ? 872 : 880;
    const DictKeys *keys = *(DictKeys *const *)((const char *)t + keys_at);
    if (keys == NULL || keys->dk_kind != DICT_KEYS_SPLIT || keys->dk_nentries < 0
        || keys->dk_nentries > SHARED_KEYS_MAX || keys->dk_log2_index_bytes > 8)
        return -1;
    const UnicodeEntry *entries =
        (const UnicodeEntry *)(keys->dk_indices + ((size_t)1 << keys->dk_log2_index_bytes));
    PyObject *const *vals;
    int count;
    if (minor == 11 || minor == 12) {
        const uint8_t *v;
        if (minor == 11) {
            if (((PyObject *const *)o)[-3] != NULL)
                return -1;                              /* a dict exists */
            v = ((const uint8_t *const *)o)[-4];
        } else {
            uintptr_t dorv = ((const uintptr_t *)o)[-3];
            if (!(dorv & 1))
                return -1;                              /* a dict, or nothing */
            v = (const uint8_t *)(dorv + 1);
        }
        if (v == NULL)
            return -1;
        int prefix = v[-1];
        count = v[-2];
        if (count > SHARED_KEYS_MAX || count + 2 > prefix)
            return -1;
        for (int i = 0; i < count; i++)
            order[i] = v[-3 - i];
        vals = (PyObject *const *)v;
    } else if (minor == 13) {
        if (!(flags & TPFLAGS_INLINE_VALUES) || ((PyObject *const *)o)[-3] != NULL)
            return -1;
        Py_ssize_t basicsize = *(const Py_ssize_t *)((const char *)t + 32);
        if (basicsize < (Py_ssize_t)sizeof(PyObject) || basicsize % 8)
            return -1;
        const uint8_t *v = (const uint8_t *)o + basicsize;
        int capacity = v[0];
        count = v[1];
        if (!v[3] || count > capacity || capacity > SHARED_KEYS_MAX)
            return -1;                                  /* not valid: the dict holds them */
        vals = (PyObject *const *)(v + 8);
        memcpy(order, (const uint8_t *)&vals[capacity], (size_t)count);
        for (int i = 0; i < count; i++)
            if (order[i] >= capacity)
                return -1;
    } else
        return -1;
    for (int i = 0; i < count; i++) {
        int ix = order[i];
        if (ix >= keys->dk_nentries)
            return -1;
        for (int j = 0; j < i; j++)
            if (order[j] == ix)
                return -1;
        PyObject *key = entries[ix].me_key, *value = vals[ix];
        if (key == NULL || TYPE(key) != &PyUnicode_Type || value == NULL || value == t)
            return -1;
    }
    *entries_out = entries;
    *vals_out = vals;
    return count;
}

/* instance_attrs(objs, minor) -> (counts, names, values): for each object the number of its
 * attributes (-1: not readable here, see above), and all the readable ones' attribute names and
 * values, object after object, each in its __dict__'s order. `minor`: sys.version_info[1]. */
static PyObject *rg_instance_attrs(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs = arg(args, 0, &PyList_Type, "instance_attrs: a list");
    PyObject *minor_o = objs ? arg(args, 1, &PyLong_Type, "instance_attrs: minor int") : NULL;
    if (minor_o == NULL)
        return NULL;
    long long minor = PyLong_AsLongLong(minor_o);
    if (minor < 11 || minor > 13) {
        PyErr_SetString(PyExc_TypeError, "instance_attrs: 3.11-3.13 only");
        return NULL;
    }
    Py_ssize_t n = PyList_Size(objs);
    PyObject *counts = PyList_New(n), *names = PyList_New(0), *values = PyList_New(0);
    PyObject *out = NULL;
    if (counts == NULL || names == NULL || values == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        const UnicodeEntry *entries;
        PyObject *const *vals;
        uint8_t order[SHARED_KEYS_MAX];
        int count = attrs_of(PyList_GetItem(objs, i), (int)minor, &entries, &vals, order);
        PyObject *c = PyLong_FromSsize_t(count);
        if (c == NULL)
            goto done;
        PyList_SetItem(counts, i, c);                   /* steals */
        for (int j = 0; j < count; j++)
            if (PyList_Append(names, entries[order[j]].me_key) < 0
                || PyList_Append(values, vals[order[j]]) < 0)
                goto done;
    }
    out = PyTuple_New(3);
    if (out == NULL)
        goto done;
    PyTuple_SetItem(out, 0, counts);
    PyTuple_SetItem(out, 1, names);
    PyTuple_SetItem(out, 2, values);
    return out;
done:
    if (counts != NULL)
        Py_DecRef(counts);
    if (names != NULL)
        Py_DecRef(names);
    if (values != NULL)
        Py_DecRef(values);
    return NULL;
}

/* ---- module ------------------------------------------------------------------------------ */

static PyMethodDef methods[] = {
    {"ints", rg_ints, METH_VARARGS, "ints(list) -> the inside of a JSON array"},
    {"counts_text", rg_counts_text, METH_VARARGS,
     "counts_text(list, offset) -> the refcount column's text"},
    {"id_text", rg_id_text, METH_VARARGS, "id_text(list) -> ints(list(map(id, list)))"},
    {"group_by_type", rg_group_by_type, METH_VARARGS, "group_by_type(list) -> dict"},
    {"discover", rg_discover, METH_VARARGS,
     "discover(seen, excluded_keys, ids, objs, shift) -> (found, found_ids, clean)"},
    {"instance_attrs", rg_instance_attrs, METH_VARARGS,
     "instance_attrs(objs, minor) -> (counts, names, values), read without making __dict__s"},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef module = {
    {{1, NULL}, NULL, 0, NULL},
    "_refgraph_native",
    "refgraph dumper's native accelerator (see native/rgnative.c)",
    0,          /* not -1: the import system then keeps no copy of the module's dict */
    methods,
    NULL, NULL, NULL, NULL,
};

__attribute__((visibility("default"))) PyObject *PyInit__refgraph_native(void)
{
    /* The layout check: an object made here has ob_type where this file reads it. */
    PyObject *probe = PyList_New(0);
    if (probe == NULL)
        return NULL;
    int ok = TYPE(probe) == &PyList_Type && TYPE(&PyList_Type) != NULL;
    Py_DecRef(probe);
    if (!ok || sizeof(void *) != 8) {
        PyErr_SetString(PyExc_RuntimeError, "_refgraph_native: unexpected object layout");
        return NULL;
    }
    PyObject *m = PyModule_Create2(&module, PYTHON_ABI_VERSION);
    if (m == NULL)
        return NULL;
    if (keyset_type == NULL) {
        keyset_type = PyType_FromSpec(&ks_spec);
        if (keyset_type == NULL) {
            Py_DecRef(m);
            return NULL;
        }
    }
    Py_IncRef(keyset_type);
    if (PyModule_AddObject(m, "KeySet", keyset_type) < 0) {     /* steals on success */
        Py_DecRef(keyset_type);
        Py_DecRef(m);
        return NULL;
    }
    return m;
}
