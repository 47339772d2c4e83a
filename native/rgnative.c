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
 *   attr_edges(counts, names, values, cls, class_label, dotted, rest_nrefs, rest_refs,
 *              rest_labels)         -> (nrefs, refs, labels)  (edges_instances_read's loop)
 *   column(tag, values, signed)     -> bytes                  (_column: a binary objects column)
 *   column_of(tag, fragments, signed) -> (bytes, count)       (_column of the ints of texts
 *                                          "1,-2,3" and raw fragments)
 *   raw_ints(list), raw_ids(objs), raw_counts(counts, offset) -> bytes
 *                                          (ints, id_text, counts_text as raw fragments)
 *   label_column(labels)            -> (lengths column, UTF-8 data) or None
 *                                                                (the binary label columns)
 *   referrers_of(objs, targets)     -> per target, gc.get_referrers(target) among objs, from
 *                                          one pass (refgraph.objgraph's backrefs, by level)
 *
 * and, each doing in one pass over a group what several of the steps above and the Python
 * code around them do one after the other (the dumper's hot path for the kinds of objects a
 * heap holds by the million):
 *
 *   refcounts(objs)                 -> list(map(sys.getrefcount, objs))       (_measure)
 *   own_columns(objs, counts, ...)  -> a group's ids, sizes, refcounts, flags (add_columns)
 *   sequence_edges(seen, excluded, objs, shift, raw)     lists and tuples: references,
 *                                          discovery, text (edges_sequence + discover + text)
 *   attr_edges_text(counts, names, values, cls, ...)    the same for instances read by
 *                                          instance_attrs (attr_edges + discover + text)
 *   json_strs(labels), int_labels(objs, big_bits)        label columns as JSON (_json_items)
 *   line_bytes(parts)                -> the UTF-8 of an objects line (_Line.pieces, encoded)
 *   label_column_of(fragments), Interner().codes(fragments)   the binary writer's label and
 *                                          edge-label columns from the lines' JSON fragments
 *   KeySet.has_any(objs, shift)      whether a group may hold one of the dumper's special
 *                                          objects (subtract_held's prefilter)
 *
 * Rules it keeps, as the Python dumper does: it never runs the program's code (it only reads
 * object headers and calls the C functions of builtin types: lists, dicts, sets of ints and
 * int objects, and a type's own C __sizeof__), it holds no reference after a call returns,
 * and it creates no objects but the ones the Python code it replaces would have created (and
 * its texts, freed before it returns).
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

/* the binary columns are little-endian: on such a host they are plain copies */
#define RG_LITTLE_ENDIAN (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)

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
extern PyObject *PyExc_TypeError, *PyExc_RuntimeError, *PyExc_ValueError;
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
extern PyObject *PyList_GetSlice(PyObject *, Py_ssize_t, Py_ssize_t);
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
extern PyObject *PyUnicode_Concat(PyObject *, PyObject *);
extern PyObject *PyBytes_FromStringAndSize(const char *, Py_ssize_t);
extern char *PyBytes_AsString(PyObject *);
extern Py_ssize_t PyBytes_Size(PyObject *);
extern PyObject PyBytes_Type;
extern int PyObject_IsTrue(PyObject *);
extern const char *PyUnicode_AsUTF8AndSize(PyObject *, Py_ssize_t *);
extern PyObject PyBool_Type;
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
    /* the last few types met and their lists (borrowed, from groups): a chunk of a few types
     * that alternate (an int, a str, an int ...) asks the dict only for a type not there */
    PyObject *recent_type[4] = {NULL, NULL, NULL, NULL}, *recent_list[4];
    unsigned next_recent = 0;
    for (i = 0; i < n; i++) {
        PyObject *o = PyList_GetItem(objs, i);
        PyObject *t = TYPE(o);
        PyObject *list = NULL;
        for (int r = 0; r < 4; r++)
            if (recent_type[r] == t)
                list = recent_list[r];
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
            recent_type[next_recent & 3] = t;
            recent_list[next_recent & 3] = list;
            next_recent++;
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
 * bitmap of keys, one bit per key, in pages of PAGE_KEYS keys found through a small hash table
 * of page numbers. Keys are addresses >> 4 of live objects, which the allocator packs densely
 * (pymalloc's arenas, malloc's heap): a 10M-object heap spans ~1 GB of addresses, 8 MB of
 * bits. A table of 64-bit keys took 11-21 bytes per object (128 MB at 10M objects, most of the
 * dump's extra memory) and a cache miss per probe; a Python set of ints ~60 bytes.
 * It answers what the dumper asks of its set: `k in s`, len(s), s.update(ints),
 * s.difference_update(ints). A page, once made, stays (a discarded key clears its bit).
 * Keys are never 0 (no object lives at address 0): 0 is refused, as the dumper never asks it.
 * Not a GC object: it holds no references. */
#define PAGE_SHIFT 12                       /* 4096 keys per page: 64 KB of addresses */
#define PAGE_KEYS ((uint64_t)1 << PAGE_SHIFT)
#define PAGE_WORDS (PAGE_KEYS / 64)         /* 512 bytes of bits */
#define SLAB_PAGES 64                       /* pages allocated together (32 KB) */

typedef struct {
    PyObject ob_base;
    uint64_t *page_no;      /* hash table of page numbers + 1 (0: a free slot) ... */
    uint64_t **pages;       /* ... and each one's bits */
    size_t mask;            /* table capacity - 1 (a power of two), 0 before the first add */
    size_t n_pages;
    size_t used;            /* keys in the set */
    uint64_t **slabs;       /* the page memory, SLAB_PAGES pages per slab */
    size_t n_slabs, slab_left;
    uint64_t last_no;       /* the last page found (page number + 1, 0: none) ... */
    uint64_t *last_page;    /* ... and its bits: consecutive keys are often on one page */
} KeySet;

static size_t slot_of(uint64_t page_no, size_t mask)
{
    return (size_t)((page_no * 0x9E3779B97F4A7C15ull) >> 17) & mask;
}

/* The bits of page number `no` (+ 1), or NULL if there is no such page yet. */
static uint64_t *ks_page(KeySet *s, uint64_t no)
{
    if (no == s->last_no)
        return s->last_page;
    if (s->page_no == NULL)
        return NULL;
    for (size_t i = slot_of(no, s->mask);; i = (i + 1) & s->mask) {
        uint64_t here = s->page_no[i];
        if (here == no) {
            s->last_no = no;
            s->last_page = s->pages[i];
            return s->pages[i];
        }
        if (here == 0)
            return NULL;
    }
}

static int ks_has(KeySet *s, uint64_t key)
{
    if (key == 0)
        return 0;
    uint64_t *bits = ks_page(s, (key >> PAGE_SHIFT) + 1);
    uint64_t at = key & (PAGE_KEYS - 1);
    return bits != NULL && (bits[at >> 6] >> (at & 63)) & 1;
}

/* The page table at twice its size (1024 slots at first): kept at most half full. */
static int ks_grow(KeySet *s)
{
    size_t capacity = s->page_no == NULL ? 1024 : (s->mask + 1) * 2;
    uint64_t *page_no = PyMem_Calloc(capacity, sizeof(uint64_t));
    uint64_t **pages = PyMem_Calloc(capacity, sizeof(uint64_t *));
    if (page_no == NULL || pages == NULL) {
        PyMem_Free(page_no);
        PyMem_Free(pages);
        PyErr_NoMemory();
        return -1;
    }
    size_t mask = capacity - 1;
    if (s->page_no != NULL) {
        for (size_t j = 0; j <= s->mask; j++) {
            uint64_t no = s->page_no[j];
            if (no == 0)
                continue;
            size_t i = slot_of(no, mask);
            while (page_no[i] != 0)
                i = (i + 1) & mask;
            page_no[i] = no;
            pages[i] = s->pages[j];
        }
        PyMem_Free(s->page_no);
        PyMem_Free(s->pages);
    }
    s->page_no = page_no;
    s->pages = pages;
    s->mask = mask;
    return 0;
}

/* A new page of zero bits, from the current slab (a new one when it is used up). */
static uint64_t *ks_new_page(KeySet *s)
{
    if (s->slab_left == 0) {
        uint64_t **slabs = PyMem_Realloc(s->slabs, (s->n_slabs + 1) * sizeof(uint64_t *));
        if (slabs == NULL)
            return NULL;
        s->slabs = slabs;
        uint64_t *slab = PyMem_Calloc(SLAB_PAGES * PAGE_WORDS, sizeof(uint64_t));
        if (slab == NULL)
            return NULL;
        s->slabs[s->n_slabs++] = slab;
        s->slab_left = SLAB_PAGES;
    }
    return s->slabs[s->n_slabs - 1] + (SLAB_PAGES - s->slab_left--) * PAGE_WORDS;
}

/* A hint that the page table slot of `key`'s page is read soon. */
static inline void ks_prefetch(const KeySet *s, uint64_t key)
{
    if (s->page_no != NULL)
        __builtin_prefetch(&s->page_no[slot_of((key >> PAGE_SHIFT) + 1, s->mask)]);
}

/* 1: added, 0: was there, -1: error */
static int ks_add(KeySet *s, uint64_t key)
{
    if (key == 0) {
        PyErr_SetString(PyExc_TypeError, "KeySet: key 0");
        return -1;
    }
    uint64_t no = (key >> PAGE_SHIFT) + 1;
    uint64_t *bits = ks_page(s, no);
    if (bits == NULL) {
        if (s->page_no == NULL || (s->n_pages + 1) * 2 > s->mask + 1)
            if (ks_grow(s) < 0)
                return -1;
        bits = ks_new_page(s);
        if (bits == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        size_t i = slot_of(no, s->mask);
        while (s->page_no[i] != 0)
            i = (i + 1) & s->mask;
        s->page_no[i] = no;
        s->pages[i] = bits;
        s->n_pages++;
        s->last_no = no;
        s->last_page = bits;
    }
    uint64_t at = key & (PAGE_KEYS - 1), bit = (uint64_t)1 << (at & 63);
    if (bits[at >> 6] & bit)
        return 0;
    bits[at >> 6] |= bit;
    s->used++;
    return 1;
}

static void ks_discard(KeySet *s, uint64_t key)
{
    if (key == 0)
        return;
    uint64_t *bits = ks_page(s, (key >> PAGE_SHIFT) + 1);
    uint64_t at = key & (PAGE_KEYS - 1), bit = (uint64_t)1 << (at & 63);
    if (bits != NULL && bits[at >> 6] & bit) {
        bits[at >> 6] &= ~bit;
        s->used--;
    }
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
        s->page_no = NULL;
        s->pages = NULL;
        s->slabs = NULL;
        s->mask = s->n_pages = s->used = s->n_slabs = s->slab_left = 0;
        s->last_no = 0;
        s->last_page = NULL;
    }
    return (PyObject *)s;
}

static void ks_dealloc(PyObject *self)
{
    KeySet *s = (KeySet *)self;
    PyObject *type = TYPE(self);
    for (size_t i = 0; i < s->n_slabs; i++)
        PyMem_Free(s->slabs[i]);
    PyMem_Free(s->slabs);
    PyMem_Free(s->page_no);
    PyMem_Free(s->pages);
    s->slabs = NULL;
    s->page_no = NULL;
    s->pages = NULL;
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

/* has_any(objs, shift): whether the key of some object of the list is in the set (a
 * prefilter: keys of distinct objects may meet, never miss). */
static PyObject *ks_has_any(PyObject *self, PyObject *args)
{
    KeySet *s = (KeySet *)self;
    PyObject *objs = arg(args, 0, &PyList_Type, "has_any: a list");
    PyObject *shift_o = objs ? arg(args, 1, &PyLong_Type, "has_any: shift int") : NULL;
    if (shift_o == NULL)
        return NULL;
    unsigned long long shift = PyLong_AsUnsignedLongLong(shift_o);
    if (shift > 16) {
        PyErr_SetString(PyExc_TypeError, "has_any: bad shift");
        return NULL;
    }
    Py_ssize_t n = s->used ? PyList_Size(objs) : 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (ks_has(s, ((uint64_t)(uintptr_t)PyList_GetItem(objs, i)) >> shift))
            return PyBool_FromLong(1);
    return PyBool_FromLong(0);
}

static PyMethodDef ks_methods[] = {
    {"has_any", ks_has_any, METH_VARARGS, "whether some object's key of a list is in the set"},
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
 * excluded_keys: a set of ints, or a KeySet of the same keys. 
 * The objects of `objs` (ids `ids`, or None: made here for the ones found) whose key (id >> shift) is neither in `seen` nor in
 * `excluded_keys`, once each in order of first appearance, with their ids; their keys are
 * added to `seen`. clean: no object of `objs` not seen before was an excluded one. */
static PyObject *rg_discover(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *seen = arg(args, 0, keyset_type, "discover: seen must be a KeySet");
    PyObject *excluded = seen ? arg(args, 1, NULL, "") : NULL;
    if (excluded != NULL && TYPE(excluded) != &PySet_Type && TYPE(excluded) != keyset_type) {
        PyErr_SetString(PyExc_TypeError, "discover: excluded keys: a set or a KeySet");
        return NULL;
    }
    int excluded_bits = excluded != NULL && TYPE(excluded) == keyset_type;
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
    int excluded_empty = excluded_bits ? ((KeySet *)excluded)->used == 0
                                       : PySet_Size(excluded) == 0;
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
        if (excluded_bits) {
            known = ks_has((KeySet *)excluded, k);
            if (known)
                clean = 0;
        } else if (!excluded_empty) {
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

/* attr_edges(counts, names, values, cls, class_label, dotted, rest_nrefs, rest_refs, rest_labels)
 * -> (nrefs, refs, labels): instance_attrs' result as the references of each instance, its
 * attributes then its class, named ".name" (from `dotted`, a dict name -> ".name" that this
 * fills) and `class_label`; an instance whose count is -1 takes its references from the
 * rest_* lists (edges_each's result for those instances, in order). */
static PyObject *rg_attr_edges(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *counts = arg(args, 0, &PyList_Type, "attr_edges: counts list");
    PyObject *names = counts ? arg(args, 1, &PyList_Type, "attr_edges: names list") : NULL;
    PyObject *values = names ? arg(args, 2, &PyList_Type, "attr_edges: values list") : NULL;
    PyObject *cls = values ? arg(args, 3, NULL, "") : NULL;
    PyObject *class_label = cls ? arg(args, 4, &PyUnicode_Type, "attr_edges: label str") : NULL;
    PyObject *dotted = class_label ? arg(args, 5, &PyDict_Type, "attr_edges: dotted dict") : NULL;
    PyObject *rest_nrefs = dotted ? arg(args, 6, &PyList_Type, "attr_edges: rest list") : NULL;
    PyObject *rest_refs = rest_nrefs ? arg(args, 7, &PyList_Type, "attr_edges: rest list") : NULL;
    PyObject *rest_labels = rest_refs ? arg(args, 8, &PyList_Type, "attr_edges: rest list") : NULL;
    if (rest_labels == NULL)
        return NULL;
    PyObject *dot = NULL, *nrefs = PyList_New(0), *refs = PyList_New(0),
             *labels = PyList_New(0), *out = NULL;
    if (nrefs == NULL || refs == NULL || labels == NULL)
        goto done;
    dot = PyUnicode_FromStringAndSize(".", 1);
    if (dot == NULL)
        goto done;
    Py_ssize_t n = PyList_Size(counts), at = 0, r = 0, e = 0;
    Py_ssize_t n_names = PyList_Size(names), n_values = PyList_Size(values);
    Py_ssize_t n_rest = PyList_Size(rest_nrefs), n_rest_refs = PyList_Size(rest_refs);
    if (n_rest_refs != PyList_Size(rest_labels) || n_names != n_values) {
        PyErr_SetString(PyExc_ValueError, "attr_edges: lists of different lengths");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *c_o = PyList_GetItem(counts, i);
        Py_ssize_t c = TYPE(c_o) == &PyLong_Type ? PyLong_AsSsize_t(c_o) : -2;
        if (c == -1 && PyErr_Occurred())
            goto done;                                  /* beyond a Py_ssize_t */
        if (c < 0) {
            if (c != -1 || r >= n_rest) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "attr_edges: bad counts");
                goto done;
            }
            PyObject *m_o = PyList_GetItem(rest_nrefs, r++);
            Py_ssize_t m = TYPE(m_o) == &PyLong_Type ? PyLong_AsSsize_t(m_o) : -1;
            if (m < 0 || m > n_rest_refs - e) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "attr_edges: bad rest counts");
                goto done;
            }
            if (PyList_Append(nrefs, m_o) < 0)
                goto done;
            for (Py_ssize_t j = 0; j < m; j++, e++)
                if (PyList_Append(refs, PyList_GetItem(rest_refs, e)) < 0
                    || PyList_Append(labels, PyList_GetItem(rest_labels, e)) < 0)
                    goto done;
            continue;
        }
        if (c > n_names - at) {
            PyErr_SetString(PyExc_ValueError, "attr_edges: counts beyond the names");
            goto done;
        }
        PyObject *k = PyLong_FromSsize_t(c + 1);
        if (k == NULL)
            goto done;
        int failed = PyList_Append(nrefs, k);
        Py_DecRef(k);
        if (failed < 0)
            goto done;
        for (Py_ssize_t j = 0; j < c; j++, at++) {
            PyObject *key = PyList_GetItem(names, at);
            if (TYPE(key) != &PyUnicode_Type) {
                PyErr_SetString(PyExc_TypeError, "attr_edges: str names");
                goto done;
            }
            PyObject *label = PyDict_GetItem(dotted, key);      /* borrowed */
            if (label == NULL) {
                PyObject *made = PyUnicode_Concat(dot, key);
                if (made == NULL)
                    goto done;
                failed = PyDict_SetItem(dotted, key, made);
                Py_DecRef(made);                /* the dict holds it */
                if (failed < 0)
                    goto done;
                label = made;
            }
            if (PyList_Append(refs, PyList_GetItem(values, at)) < 0
                || PyList_Append(labels, label) < 0)
                goto done;
        }
        if (PyList_Append(refs, cls) < 0 || PyList_Append(labels, class_label) < 0)
            goto done;
    }
    if (r != n_rest || e != n_rest_refs || at != n_names) {
        PyErr_SetString(PyExc_ValueError, "attr_edges: lists left over");
        goto done;
    }
    out = PyTuple_New(3);
    if (out == NULL)
        goto done;
    PyTuple_SetItem(out, 0, nrefs);
    PyTuple_SetItem(out, 1, refs);
    PyTuple_SetItem(out, 2, labels);
    Py_DecRef(dot);
    return out;
done:
    if (dot != NULL)
        Py_DecRef(dot);
    if (nrefs != NULL)
        Py_DecRef(nrefs);
    if (refs != NULL)
        Py_DecRef(refs);
    if (labels != NULL)
        Py_DecRef(labels);
    return NULL;
}

/* ---- column ----------------------------------------------------------------------------- */

/* x as 8 bytes little-endian at p (a raw column_of value) */
static void put_raw(void *p, uint64_t x)
{
#if RG_LITTLE_ENDIAN
    memcpy(p, &x, 8);
#else
    unsigned char *b = p;
    for (int k = 0; k < 8; k++)
        b[k] = (unsigned char)(x >> (8 * k));
#endif
}

/* Appends the LEB128 varint of v at p; returns the end. */
static unsigned char *put_varint(unsigned char *p, unsigned long long v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)((v & 0x7f) | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

/* The column of n values (raw: the 64-bit patterns; top: the largest magnitude, for a signed
 * column max(x, -1 - x)) as bytes: tag, width, varint byte length, the values little-endian in
 * the narrowest of 1/2/4/8 bytes that holds top (signed: two's complement). */
static PyObject *column_bytes(int tag, int is_signed, const uint64_t *raw, Py_ssize_t n,
                              unsigned long long top)
{
    int width;
    if (is_signed)
        width = top <= 0x7f ? 1 : top <= 0x7fff ? 2 : top <= 0x7fffffff ? 4 : 8;
    else
        width = top <= 0xff ? 1 : top <= 0xffff ? 2 : top <= 0xffffffffULL ? 4 : 8;
    size_t size = (size_t)n * (size_t)width;
    unsigned char *buf = PyMem_Malloc(size + 12);
    if (buf == NULL)
        return PyErr_NoMemory();
    unsigned char *p = buf;
    *p++ = (unsigned char)tag;
    *p++ = (unsigned char)width;
    p = put_varint(p, size);
#if RG_LITTLE_ENDIAN
    /* one loop per width, each a plain narrowing store the compiler vectorizes */
    switch (width) {
    case 1:
        for (Py_ssize_t i = 0; i < n; i++)
            p[i] = (unsigned char)raw[i];
        break;
    case 2:
        for (Py_ssize_t i = 0; i < n; i++) {
            uint16_t x = (uint16_t)raw[i];
            memcpy(p + 2 * i, &x, 2);
        }
        break;
    case 4:
        for (Py_ssize_t i = 0; i < n; i++) {
            uint32_t x = (uint32_t)raw[i];
            memcpy(p + 4 * i, &x, 4);
        }
        break;
    default:
        memcpy(p, raw, size);
    }
    p += size;
#else
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t x = raw[i];
        for (int b = 0; b < width; b++)         /* little-endian whatever the host */
            *p++ = (unsigned char)(x >> (8 * b));
    }
#endif
    PyObject *out = PyBytes_FromStringAndSize((const char *)buf, p - buf);
    PyMem_Free(buf);
    return out;
}

/* The tag (0-255) and signed (a bool) arguments of column and column_of; -1: an error. */
static int column_args(PyObject *args, const char *what, int *tag, int *is_signed)
{
    PyObject *tag_o = arg(args, 0, &PyLong_Type, what);
    PyObject *signed_o = tag_o ? arg(args, 2, &PyBool_Type, what) : NULL;
    if (signed_o == NULL)
        return -1;
    long long t = PyLong_AsLongLong(tag_o);
    *is_signed = PyObject_IsTrue(signed_o);
    if (t < 0 || t > 255 || *is_signed < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, what);
        return -1;
    }
    *tag = (int)t;
    return 0;
}

static PyObject *too_large(void)
{
    PyErr_Clear();
    PyErr_SetString(PyExc_ValueError, "a value too large for 64 bits");
    return NULL;
}

/* column(tag, values, signed) -> bytes: one binary objects column (docs/FORMAT.md) of a list of
 * ints. ValueError for a value that does not fit 64 bits, TypeError for one that is not an int:
 * the Python _column fails on the same. */
static PyObject *rg_column(PyObject *self, PyObject *args)
{
    (void)self;
    int tag, is_signed;
    if (column_args(args, "column(tag 0-255, list of ints, bool)", &tag, &is_signed) < 0)
        return NULL;
    PyObject *values = arg(args, 1, &PyList_Type, "column: a list of ints");
    if (values == NULL)
        return NULL;
    Py_ssize_t n = PyList_Size(values);
    uint64_t *raw = PyMem_Malloc(n ? (size_t)n * 8 : 1);
    if (raw == NULL)
        return PyErr_NoMemory();
    unsigned long long top = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyList_GetItem(values, i);
        if (TYPE(v) != &PyLong_Type) {
            PyMem_Free(raw);
            PyErr_SetString(PyExc_TypeError, "column: a list of ints");
            return NULL;
        }
        unsigned long long magnitude;
        if (is_signed) {
            long long x = PyLong_AsLongLong(v);
            if (x == -1 && PyErr_Occurred()) {
                PyMem_Free(raw);
                return too_large();
            }
            raw[i] = (uint64_t)x;
            magnitude = x < 0 ? (unsigned long long)(-1 - x) : (unsigned long long)x;
        } else {
            magnitude = PyLong_AsUnsignedLongLong(v);
            if (magnitude == (unsigned long long)-1 && PyErr_Occurred()) {
                PyMem_Free(raw);
                return too_large();
            }
            raw[i] = magnitude;
        }
        if (magnitude > top)
            top = magnitude;
    }
    PyObject *out = column_bytes(tag, is_signed, raw, n, top);
    PyMem_Free(raw);
    return out;
}

/* Parses the n ints of `text` (the inside of a JSON array of ints, "1,-2,3"; n = its commas
 * + 1) into raw[], raising *top to the largest magnitude (for a signed column max(x, -1 - x)).
 * 0, or -1 with ValueError for anything else (a float, a space, an empty item, a value beyond
 * 64 bits). */
static int parse_ints(const char *p, const char *end, Py_ssize_t n, int is_signed,
                      uint64_t *raw, unsigned long long *top)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        int negative = 0;
        if (p < end && *p == '-' && is_signed) {
            negative = 1;
            p++;
        }
        const char *digits = p;
        unsigned long long v = 0;
        int overflow = 0;
        /* 19 digits never overflow 64 bits: only a 20th is checked (ids have 15) */
        for (; p < end && p - digits < 19 && (unsigned)(*p - '0') < 10; p++)
            v = v * 10 + (unsigned)(*p - '0');
        for (; p < end && (unsigned)(*p - '0') < 10; p++) {
            unsigned d = (unsigned)(*p - '0');
            if (v > (~0ULL - d) / 10)
                overflow = 1;
            v = v * 10 + d;
        }
        if (p == digits || (p < end && *p != ',') || (p - digits > 1 && *digits == '0')) {
            PyErr_SetString(PyExc_ValueError, "column_of: not a list of ints");
            return -1;
        }
        p++;                                            /* the comma */
        if (v == 0)
            negative = 0;                               /* "-0" is 0 */
        unsigned long long magnitude;
        if (is_signed) {
            if (overflow || v > (negative ? (1ULL << 63) : (1ULL << 63) - 1)) {
                too_large();
                return -1;
            }
            raw[i] = negative ? (uint64_t)0 - v : v;
            magnitude = negative ? v - 1 : v;
        } else {
            if (overflow) {
                too_large();
                return -1;
            }
            raw[i] = magnitude = v;
        }
        if (magnitude > *top)
            *top = magnitude;
    }
    return 0;
}

/* The number of items of a JSON array's inside: its commas + 1, none if empty. */
static Py_ssize_t items_in(const char *text, Py_ssize_t len)
{
    if (len == 0)
        return 0;
    Py_ssize_t m = 1;
    for (const char *c = text; (c = memchr(c, ',', (size_t)(text + len - c))) != NULL; c++)
        m++;
    return m;
}

/* column_of(tag, fragments, signed) -> (bytes, count): column() of the values the fragments
 * give, in order, without an int object for each: a str fragment is the inside of a JSON array
 * of ints ("1,-2,3"; "" none), a bytes fragment values of 8 bytes little-endian (two's
 * complement when signed), as raw_ids/raw_ints/raw_counts make them. How the binary writer
 * turns an objects line's number columns into columns. ValueError for a str that is not such
 * a list, a bytes whose length is not a multiple of 8, or a value beyond 64 bits. */
static PyObject *rg_column_of(PyObject *self, PyObject *args)
{
    (void)self;
    int tag, is_signed;
    if (column_args(args, "column_of(tag 0-255, list of str/bytes, bool)", &tag, &is_signed) < 0)
        return NULL;
    PyObject *fragments = arg(args, 1, &PyList_Type, "column_of: a list of str or bytes");
    if (fragments == NULL)
        return NULL;
    Py_ssize_t k = PyList_Size(fragments), n = 0;
    for (Py_ssize_t j = 0; j < k; j++) {
        PyObject *f = PyList_GetItem(fragments, j);
        if (TYPE(f) == &PyBytes_Type) {
            Py_ssize_t len = PyBytes_Size(f);
            if (len % 8) {
                PyErr_SetString(PyExc_ValueError, "column_of: raw values of 8 bytes");
                return NULL;
            }
            n += len / 8;
        } else if (TYPE(f) == &PyUnicode_Type) {
            Py_ssize_t len;
            const char *text = PyUnicode_AsUTF8AndSize(f, &len);
            if (text == NULL)
                return NULL;
            n += items_in(text, len);
        } else {
            PyErr_SetString(PyExc_TypeError, "column_of: a list of str or bytes");
            return NULL;
        }
    }
    uint64_t *raw = PyMem_Malloc(n ? (size_t)n * 8 : 1);
    if (raw == NULL)
        return PyErr_NoMemory();
    unsigned long long top = 0;
    Py_ssize_t at = 0;
    for (Py_ssize_t j = 0; j < k; j++) {
        PyObject *f = PyList_GetItem(fragments, j);
        if (TYPE(f) == &PyBytes_Type) {
            const unsigned char *b = (const unsigned char *)PyBytes_AsString(f);
            Py_ssize_t m = PyBytes_Size(f) / 8;
            uint64_t *to = raw + at;
#if RG_LITTLE_ENDIAN
            memcpy(to, b, (size_t)m * 8);
#else
            for (Py_ssize_t i = 0; i < m; i++, b += 8) {
                uint64_t x = 0;
                for (int q = 7; q >= 0; q--)
                    x = (x << 8) | b[q];
                to[i] = x;
            }
#endif
            /* the largest magnitude as a bitwise or: it has the largest value's top bit,
             * which is all the width needs */
            uint64_t bits = 0;
            if (is_signed)
                for (Py_ssize_t i = 0; i < m; i++)
                    bits |= to[i] ^ (uint64_t)((int64_t)to[i] >> 63);
            else
                for (Py_ssize_t i = 0; i < m; i++)
                    bits |= to[i];
            if (bits > top)
                top = bits;
            at += m;
        } else {
            Py_ssize_t len;
            const char *text = PyUnicode_AsUTF8AndSize(f, &len);
            Py_ssize_t m = items_in(text, len);
            if (parse_ints(text, text + len, m, is_signed, raw + at, &top) < 0) {
                PyMem_Free(raw);
                return NULL;
            }
            at += m;
        }
    }
    PyObject *column = column_bytes(tag, is_signed, raw, n, top);
    PyMem_Free(raw);
    if (column == NULL)
        return NULL;
    PyObject *count = PyLong_FromSsize_t(n), *out = count ? PyTuple_New(2) : NULL;
    if (out == NULL) {
        Py_DecRef(column);
        if (count != NULL)
            Py_DecRef(count);
        return NULL;
    }
    PyTuple_SetItem(out, 0, column);
    PyTuple_SetItem(out, 1, count);
    return out;
}

/* The values number(i) gives for i < n as bytes, 8 each, little-endian (a negative one in
 * two's complement): a column_of fragment. */
static PyObject *numbers_raw(Py_ssize_t n, number_at number, void *ctx)
{
    unsigned char *buf = PyMem_Malloc(n ? (size_t)n * 8 : 1);
    if (buf == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        int negative = 0;
        unsigned long long magnitude;
        if (number(ctx, i, &negative, &magnitude) < 0) {
            PyMem_Free(buf);
            return NULL;
        }
        put_raw(buf + 8 * i, negative ? (uint64_t)0 - magnitude : magnitude);
    }
    PyObject *out = PyBytes_FromStringAndSize((const char *)buf, n * 8);
    PyMem_Free(buf);
    return out;
}

/* raw_ints(list of non-negative ints), raw_ids(list of objects), raw_counts(counts, offset):
 * ints(), id_text() and counts_text() as column_of fragments instead of text. */
static PyObject *rg_raw_ints(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *values = arg(args, 0, &PyList_Type, "raw_ints: a list of ints");
    if (values == NULL)
        return NULL;
    return numbers_raw(PyList_Size(values), int_at, values);
}

static PyObject *rg_raw_ids(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs = arg(args, 0, &PyList_Type, "raw_ids: a list");
    if (objs == NULL)
        return NULL;
    return numbers_raw(PyList_Size(objs), id_at, objs);
}

static PyObject *rg_raw_counts(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *values = arg(args, 0, &PyList_Type, "raw_counts: a list of ints");
    PyObject *offset_o = values ? arg(args, 1, &PyLong_Type, "raw_counts: an int offset") : NULL;
    if (offset_o == NULL)
        return NULL;
    struct counts c = {values, PyLong_AsLongLong(offset_o)};
    if (c.offset == -1 && PyErr_Occurred())
        return NULL;
    return numbers_raw(PyList_Size(values), count_at, &c);
}

/* label_column(labels) -> (column 7, data) for a list of str or None: the binary objects block's
 * label lengths (0: no label, else the UTF-8 length + 1) and the labels' UTF-8 bytes one after
 * the other; None if a label cannot be UTF-8 (a lone surrogate: the Python writer escapes it). */
static PyObject *rg_label_column(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *labels = arg(args, 0, &PyList_Type, "label_column: a list");
    if (labels == NULL)
        return NULL;
    Py_ssize_t n = PyList_Size(labels);
    uint64_t *lens = PyMem_Malloc(n ? (size_t)n * 8 : 1);
    if (lens == NULL)
        return PyErr_NoMemory();
    size_t total = 0, cap = 0;
    char *data = NULL;
    PyObject *lengths = NULL, *bytes = NULL, *out = NULL;
    unsigned long long top = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *label = PyList_GetItem(labels, i);
        if (label == &_Py_NoneStruct) {
            lens[i] = 0;
            continue;
        }
        if (TYPE(label) != &PyUnicode_Type) {
            PyErr_SetString(PyExc_TypeError, "label_column: str or None");
            goto done;
        }
        Py_ssize_t len;
        const char *utf8 = PyUnicode_AsUTF8AndSize(label, &len);
        if (utf8 == NULL) {                 /* a lone surrogate: the Python way */
            PyErr_Clear();
            Py_IncRef(&_Py_NoneStruct);
            out = &_Py_NoneStruct;
            goto done;
        }
        if (total + (size_t)len > cap) {
            size_t want = cap ? cap * 2 : 65536;
            while (want < total + (size_t)len)
                want *= 2;
            char *grown = PyMem_Realloc(data, want);
            if (grown == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            data = grown;
            cap = want;
        }
        memcpy(data + total, utf8, (size_t)len);
        total += (size_t)len;
        lens[i] = (uint64_t)len + 1;
        if (lens[i] > top)
            top = lens[i];
    }
    lengths = column_bytes(7, 0, lens, n, top);
    bytes = lengths ? PyBytes_FromStringAndSize(data ? data : "", (Py_ssize_t)total) : NULL;
    out = bytes ? PyTuple_New(2) : NULL;
    if (out != NULL) {
        PyTuple_SetItem(out, 0, lengths);
        PyTuple_SetItem(out, 1, bytes);
        lengths = bytes = NULL;
    }
done:
    if (lengths != NULL)
        Py_DecRef(lengths);
    if (bytes != NULL)
        Py_DecRef(bytes);
    PyMem_Free(lens);
    PyMem_Free(data);
    return out;
}

/* ---- referrers_of ------------------------------------------------------------------------- */

/* referrers_of(objs, targets) -> [[objects of objs that refer to targets[0]], ...]: what
 * gc.get_referrers(t) says for each target t, but for many targets from ONE pass over objs
 * (gc.get_objects()), where each gc.get_referrers call walks the whole heap: objgraph's
 * backrefs pictures and chains ask it once per object they reach, the drop-in once per level.
 * Each referrer is listed once per target, in objs order (gc.get_referrers' order when objs is
 * gc.get_objects()). Each object's references are read with its type's tp_traverse, called as
 * gc.get_referrers calls it: tp_traverse runs no Python code and changes nothing, and the visit
 * function below only records (target, referrer) pairs in C memory; the lists are made after
 * the pass. */

#define Py_tp_traverse 71
#define TRAVERSE_CACHE 256

typedef int (*visitproc)(PyObject *, void *);
typedef int (*traverseproc)(PyObject *, visitproc, void *);

typedef struct {
    uintptr_t *keys;        /* the targets' addresses, open addressing; 0: empty */
    uint32_t *which;        /* per slot: the target's index */
    uint32_t *last;         /* per target: 1 + the last referrer recorded */
    size_t mask;
    uint32_t current;       /* the referrer being traversed */
    uint32_t *pairs;        /* (target, referrer) indexes, two per pair */
    size_t n_pairs, cap_pairs;
    int failed;
} Referrers;

static size_t rf_slot(const Referrers *r, uintptr_t key)
{
    size_t at = (size_t)((((uint64_t)key >> 4) * 0x9E3779B97F4A7C15ull) >> 32) & r->mask;
    while (r->keys[at] != 0 && r->keys[at] != key)
        at = (at + 1) & r->mask;
    return at;
}

static int rf_visit(PyObject *o, void *arg)
{
    Referrers *r = arg;
    if (o == NULL || r->failed)
        return 0;
    size_t at = rf_slot(r, (uintptr_t)o);
    if (r->keys[at] == 0)
        return 0;
    uint32_t t = r->which[at];
    if (r->last[t] == r->current + 1)
        return 0;           /* it refers to the target twice: listed once */
    r->last[t] = r->current + 1;
    if (r->n_pairs == r->cap_pairs) {
        size_t cap = r->cap_pairs ? r->cap_pairs * 2 : 1024;
        uint32_t *more = PyMem_Realloc(r->pairs, cap * 2 * sizeof(uint32_t));
        if (more == NULL) {
            r->failed = 1;
            return 0;
        }
        r->pairs = more;
        r->cap_pairs = cap;
    }
    r->pairs[2 * r->n_pairs] = t;
    r->pairs[2 * r->n_pairs + 1] = r->current;
    r->n_pairs++;
    return 0;
}

static PyObject *rg_referrers_of(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs = arg(args, 0, &PyList_Type, "referrers_of: objs list");
    PyObject *targets = objs ? arg(args, 1, &PyList_Type, "referrers_of: targets list") : NULL;
    if (targets == NULL)
        return NULL;
    Py_ssize_t n = PyList_Size(objs), m = PyList_Size(targets);
    if (n >= (Py_ssize_t)UINT32_MAX - 1 || m >= (Py_ssize_t)UINT32_MAX / 4) {
        PyErr_SetString(PyExc_ValueError, "referrers_of: too many objects");
        return NULL;
    }
    Referrers r = {0};
    size_t cap = 16;
    while (cap < (size_t)m * 2)
        cap *= 2;
    r.mask = cap - 1;
    r.keys = PyMem_Calloc(cap, sizeof(uintptr_t));
    r.which = PyMem_Calloc(cap, sizeof(uint32_t));
    r.last = PyMem_Calloc((size_t)m + 1, sizeof(uint32_t));
    uint32_t *first = PyMem_Calloc((size_t)m + 1, sizeof(uint32_t));
    PyObject **held = NULL;
    size_t n_held = 0;
    PyObject *out = NULL;
    if (r.keys == NULL || r.which == NULL || r.last == NULL || first == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t j = 0; j < m; j++) {
        uintptr_t key = (uintptr_t)PyList_GetItem(targets, j);
        size_t at = rf_slot(&r, key);
        if (r.keys[at] == 0) {      /* a target listed twice keeps its first index */
            r.keys[at] = key;
            r.which[at] = (uint32_t)j;
        }
        first[j] = r.which[at];
    }
    /* each type's tp_traverse, looked up once: a small cache keyed by the type's address */
    PyObject *cached_type[TRAVERSE_CACHE] = {0};
    traverseproc cached[TRAVERSE_CACHE];
    for (Py_ssize_t i = 0; i < n && !r.failed; i++) {
        PyObject *o = PyList_GetItem(objs, i);
        if (i + PREFETCH_AHEAD < n)
            __builtin_prefetch(PyList_GetItem(objs, i + PREFETCH_AHEAD));
        size_t c = ((uintptr_t)TYPE(o) >> 4) & (TRAVERSE_CACHE - 1);
        if (cached_type[c] != TYPE(o)) {
            cached_type[c] = TYPE(o);
            cached[c] = (traverseproc)PyType_GetSlot(TYPE(o), Py_tp_traverse);
            PyErr_Clear();      /* a type without the slot (before 3.10: a static type) */
        }
        traverseproc traverse = cached[c];
        r.current = (uint32_t)i;
        if (traverse != NULL)
            /* SAFETY: `o` is alive (objs holds it) and tp_traverse is the collector's own
             * walk of its references: it calls rf_visit on each, which only reads the
             * address and writes this call's C arrays. */
            traverse(o, rf_visit, &r);
    }
    if (r.failed) {
        PyErr_NoMemory();
        goto done;
    }
    /* The referrers found, held before anything below allocates: an allocation can run a
     * collection, and a finalizer could change `objs` (found through gc.get_objects()). */
    held = PyMem_Malloc((r.n_pairs ? r.n_pairs : 1) * sizeof(PyObject *));
    if (held == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (; n_held < r.n_pairs; n_held++) {
        held[n_held] = PyList_GetItem(objs, r.pairs[2 * n_held + 1]);
        Py_IncRef(held[n_held]);
    }
    /* built by appending, never with empty slots, for the same reason */
    out = PyList_New(0);
    if (out == NULL)
        goto done;
    for (Py_ssize_t j = 0; j < m; j++) {
        PyObject *l = first[j] == (uint32_t)j ? PyList_New(0) : NULL;
        if (first[j] != (uint32_t)j) {      /* a target listed twice: filled below */
            l = &_Py_NoneStruct;
            Py_IncRef(l);
        }
        int failed = l == NULL || PyList_Append(out, l) < 0;
        if (l != NULL)
            Py_DecRef(l);
        if (failed)
            goto fail;
    }
    for (size_t k = 0; k < r.n_pairs; k++) {
        PyObject *into = PyList_GetItem(out, r.pairs[2 * k]);
        if (into == NULL || TYPE(into) != &PyList_Type || PyList_Append(into, held[k]) < 0)
            goto fail;
    }
    for (Py_ssize_t j = 0; j < m; j++) {
        if (first[j] == (uint32_t)j)
            continue;
        PyObject *from = PyList_GetItem(out, first[j]);
        PyObject *copy = from == NULL || TYPE(from) != &PyList_Type
                             ? NULL : PyList_GetSlice(from, 0, PyList_Size(from));
        if (copy == NULL || PyList_SetItem(out, j, copy) < 0)   /* SetItem steals copy */
            goto fail;
    }
    goto done;
fail:
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "referrers_of: its answer changed while it was made");
    Py_DecRef(out);
    out = NULL;
done:
    for (size_t k = 0; k < n_held; k++)
        Py_DecRef(held[k]);
    PyMem_Free(held);
    PyMem_Free(first);
    PyMem_Free(r.keys);
    PyMem_Free(r.which);
    PyMem_Free(r.last);
    PyMem_Free(r.pairs);
    return out;
}

/* ---- own_columns and line_bytes -------------------------------------------------------- */

/* weak: 3.8 has no PyObject_GC_IsTracked, and the module must still load there (it is then
 * never called: the dumper uses the module on 3.10+ only) */
extern int PyObject_GC_IsTracked(PyObject *) __attribute__((weak));
extern PyObject *PyObject_CallFunctionObjArgs(PyObject *, ...);

/* A growing byte buffer for one column's text (or raw values). */
typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static int buf_reserve(Buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t want = b->cap ? b->cap * 2 : 4096;
    while (want < b->len + more)
        want *= 2;
    char *grown = PyMem_Realloc(b->data, want);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = grown;
    b->cap = want;
    return 0;
}

/* one more number of a column: ",-12" (no comma before the first), or 8 raw bytes */
static void buf_number(Buf *b, int raw, long long v)
{
    if (raw) {
        put_raw(b->data + b->len, (uint64_t)v);
        b->len += 8;
        return;
    }
    char *p = b->data + b->len;
    if (b->len)
        *p++ = ',';
    if (v < 0) {
        *p++ = '-';
        p = put_u64(p, (unsigned long long)0 - (unsigned long long)v);
    } else
        p = put_u64(p, (unsigned long long)v);
    b->len = (size_t)(p - b->data);
}

static PyObject *buf_take(Buf *b, int raw)
{
    PyObject *out = raw ? PyBytes_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len)
                        : PyUnicode_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len);
    PyMem_Free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    return out;
}

extern PyObject PyMethodDescr_Type;
extern int PyType_IsSubtype(PyObject *, PyObject *);

/* The C function of a method descriptor that takes no argument (list.__sizeof__, ...), to be
 * called on objects of `type` as the descriptor calls it, without making an argument tuple;
 * NULL for anything else. A method descriptor is PyDescr_COMMON (the object header, d_type,
 * d_name, d_qualname) and then its PyMethodDef, in every CPython 3.8-3.13. The C function reads
 * its argument as a d_type: a class may copy another builtin's (`__sizeof__ =
 * dict.__sizeof__`), and the descriptor's call would refuse its objects, so this does too. */
static PyCFunction noargs_method(PyObject *descr, PyObject *type)
{
    if (TYPE(descr) != &PyMethodDescr_Type)
        return NULL;
    PyObject *d_type = *(PyObject *const *)((const char *)descr + 2 * sizeof(void *));
    if (d_type == NULL || !PyType_IsSubtype(type, d_type))
        return NULL;
    const PyMethodDef *def = *(PyMethodDef *const *)((const char *)descr + 5 * sizeof(void *));
    return def != NULL && (def->ml_flags & ~0x0040 /* METH_COEXIST */) == METH_NOARGS
               ? def->ml_meth : NULL;
}

static int small_long(PyObject *o, long long *v)
{
    if (o == NULL || TYPE(o) != &PyLong_Type)
        return -1;
    *v = PyLong_AsLongLong(o);
    if ((*v == -1 && PyErr_Occurred()) || *v < -(1LL << 62) || *v > (1LL << 62))
        return -1;
    return 0;
}

/* refcounts(objs) -> [sys.getrefcount(o) as list(map(sys.getrefcount, objs)) gives it, ...]
 * (_measure): map holds each object once more while getrefcount reads it, which adds one to
 * ob_refcnt, but not to an immortal object's (3.12-3.13: the low 32 bits of ob_refcnt negative
 * as an int32; never so before 3.12, where no count gets near 2**31). */
static PyObject *rg_refcounts(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs = arg(args, 0, &PyList_Type, "refcounts: a list");
    if (objs == NULL)
        return NULL;
    Py_ssize_t n = PyList_Size(objs);
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t count = PyList_GetItem(objs, i)->ob_refcnt;
        if ((int32_t)count >= 0)
            count++;
        PyObject *c = PyLong_FromSsize_t(count);
        if (c == NULL) {
            Py_DecRef(out);
            return NULL;
        }
        PyList_SetItem(out, i, c);      /* steals */
    }
    return out;
}

/* own_columns(objs, counts, offset, sizeof, size_extra, const_size, flag_base, tracked_flag,
 *             gc, raw) -> (ids, sizes, refcounts, flags) or None
 * The columns of a group of objects of one type that are the objects' own, in one pass, as
 * _Dumper.add_columns writes them one by one: ids (id_text / raw_ids), sizes (sizes_text:
 * const_size for each if it is >= 0, else sizeof(o) + size_extra), refcounts (counts_text /
 * raw_counts of counts less offset) and flags (flags_text without garbage or internal dicts:
 * flag_base, with tracked_flag added for each gc-tracked object when gc is true). sizeof is
 * the type's C __sizeof__ (the dumper passes nothing else), so no program code runs. None,
 * with no error set, when a size is not an int >= 0: the dumper then takes its Python way.
 * raw: every column as 8-byte values (column_of fragments), not text. */
static PyObject *rg_own_columns(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs = arg(args, 0, &PyList_Type, "own_columns: a list");
    PyObject *counts = objs ? arg(args, 1, &PyList_Type, "own_columns: counts list") : NULL;
    PyObject *sizeof_fn = counts ? arg(args, 3, NULL, "") : NULL;
    long long offset, size_extra, const_size, flag_base, tracked_flag, gc, raw;
    if (sizeof_fn == NULL || small_long(PyTuple_GetItem(args, 2), &offset) < 0
        || small_long(PyTuple_GetItem(args, 4), &size_extra) < 0
        || small_long(PyTuple_GetItem(args, 5), &const_size) < 0
        || small_long(PyTuple_GetItem(args, 6), &flag_base) < 0
        || small_long(PyTuple_GetItem(args, 7), &tracked_flag) < 0
        || small_long(PyTuple_GetItem(args, 8), &gc) < 0
        || small_long(PyTuple_GetItem(args, 9), &raw) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "own_columns: bad arguments");
        return NULL;
    }
    Py_ssize_t n = PyList_Size(objs);
    if (PyList_Size(counts) != n || (const_size < 0 && sizeof_fn == &_Py_NoneStruct)
        || PyObject_GC_IsTracked == NULL) {
        PyErr_SetString(PyExc_TypeError, "own_columns: bad arguments");
        return NULL;
    }
    /* the group's objects are of one type: the direct call for them, when their type is the
     * descriptor's (or a subclass), checked as the descriptor's call checks it */
    PyObject *type = n > 0 ? TYPE(PyList_GetItem(objs, 0)) : NULL;
    PyCFunction direct = const_size < 0 && type != NULL ? noargs_method(sizeof_fn, type) : NULL;
    Buf ids = {0}, sizes = {0}, refcounts = {0}, flags = {0};
    PyObject *out = NULL, *cols[4] = {NULL, NULL, NULL, NULL};
    size_t most = (size_t)n * 22;
    if (buf_reserve(&ids, most) < 0 || buf_reserve(&sizes, most) < 0
        || buf_reserve(&refcounts, most) < 0 || buf_reserve(&flags, most) < 0)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyList_GetItem(objs, i);
        long long count, size = const_size;
        if (small_long(PyList_GetItem(counts, i), &count) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "own_columns: counts are ints");
            goto done;
        }
        if (size < 0) {
            PyObject *s = direct != NULL && TYPE(o) == type ? direct(o, NULL)
                                 : PyObject_CallFunctionObjArgs(sizeof_fn, o, NULL);
            int bad = small_long(s, &size) < 0 || size < 0;
            if (s != NULL)
                Py_DecRef(s);
            if (bad) {                  /* the Python way, which knows what to do */
                PyErr_Clear();
                Py_IncRef(&_Py_NoneStruct);
                out = &_Py_NoneStruct;
                goto done;
            }
            size += size_extra;
        }
        buf_number(&ids, (int)raw, (long long)(uintptr_t)o);
        buf_number(&sizes, (int)raw, size);
        buf_number(&refcounts, (int)raw, count - offset);
        buf_number(&flags, (int)raw,
                   flag_base | (gc && PyObject_GC_IsTracked(o) ? tracked_flag : 0));
    }
    cols[0] = buf_take(&ids, (int)raw);
    cols[1] = buf_take(&sizes, (int)raw);
    cols[2] = buf_take(&refcounts, (int)raw);
    cols[3] = buf_take(&flags, (int)raw);
    if (cols[0] && cols[1] && cols[2] && cols[3] && (out = PyTuple_New(4)) != NULL) {
        for (int k = 0; k < 4; k++) {
            PyTuple_SetItem(out, k, cols[k]);
            cols[k] = NULL;
        }
    }
done:
    for (int k = 0; k < 4; k++)
        if (cols[k] != NULL)
            Py_DecRef(cols[k]);
    PyMem_Free(ids.data);
    PyMem_Free(sizes.data);
    PyMem_Free(refcounts.data);
    PyMem_Free(flags.data);
    return out;
}

/* One pass over a group's references (sequence_edges, attr_edges_text): the nrefs, labels and
 * refs columns' text (nrefs and refs raw, 8 bytes a value, when `raw`), and each reference
 * discovered as discover() does it: the objects not seen before, once each, in order, their
 * keys added to `seen`; `edges` counts the references. */
typedef struct {
    KeySet *seen, *mine;    /* the dumper's `seen` set; the keys of its own objects */
    int shift, raw;
    Buf nrefs, labels, refs;
    PyObject *found, *found_ids;
    Py_ssize_t edges;
} EdgePass;

/* The pass's KeySets, args[sets] and args[sets + 1] (seen, excluded), and ints, args[ints] and
 * args[ints + 1] (shift, raw); 0, or -1 with an error set (then ep_finish still frees it). */
static int ep_start(EdgePass *e, PyObject *args, Py_ssize_t sets, Py_ssize_t ints,
                    const char *what)
{
    memset(e, 0, sizeof(*e));
    PyObject *seen = arg(args, sets, keyset_type, what);
    PyObject *mine = seen ? arg(args, sets + 1, keyset_type, what) : NULL;
    long long shift, raw;
    if (mine == NULL || small_long(PyTuple_GetItem(args, ints), &shift) < 0
        || small_long(PyTuple_GetItem(args, ints + 1), &raw) < 0 || shift < 0 || shift > 16) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, what);
        return -1;
    }
    e->seen = (KeySet *)seen;
    e->mine = (KeySet *)mine;
    e->shift = (int)shift;
    e->raw = raw != 0;
    e->found = PyList_New(0);
    e->found_ids = e->found ? PyList_New(0) : NULL;
    return e->found_ids ? 0 : -1;
}

/* One object's count of references, before them. */
static int ep_object(EdgePass *e, Py_ssize_t count)
{
    if (buf_reserve(&e->nrefs, 22) < 0 || buf_reserve(&e->refs, (size_t)count * 22) < 0)
        return -1;
    buf_number(&e->nrefs, e->raw, count);
    e->edges += count;
    return 0;
}

/* One reference (room for it reserved by ep_object): 0, 1 when it is one of the dumper's own
 * (the pass is refused), -1 with an error set. */
static int ep_ref(EdgePass *e, PyObject *ref)
{
    buf_number(&e->refs, e->raw, (long long)(uintptr_t)ref);
    uint64_t k = ((uint64_t)(uintptr_t)ref) >> e->shift;
    if (ks_has(e->seen, k))
        return 0;
    if (ks_has(e->mine, k))
        return 1;
    if (ks_add(e->seen, k) < 0 || PyList_Append(e->found, ref) < 0)
        return -1;
    PyObject *x = PyLong_FromVoidPtr(ref);
    int failed = x == NULL || PyList_Append(e->found_ids, x) < 0;
    if (x != NULL)
        Py_DecRef(x);
    return failed ? -1 : 0;
}

/* The pass's result, and its memory freed: for outcome 0 (all read) the tuple (nrefs, labels,
 * refs, edges, found, found_ids); for 1 (refused) None and for -1 (an error set) NULL, both
 * with `seen` as it was (the keys the pass added are those of `found`). */
static PyObject *ep_finish(EdgePass *e, int outcome)
{
    PyObject *out = NULL, *cols[4] = {NULL, NULL, NULL, NULL};
    if (outcome == 0) {
        cols[0] = buf_take(&e->nrefs, e->raw);
        cols[1] = cols[0] ? buf_take(&e->labels, 0) : NULL;
        cols[2] = cols[1] ? buf_take(&e->refs, e->raw) : NULL;
        cols[3] = cols[2] ? PyLong_FromSsize_t(e->edges) : NULL;
        if (cols[3] != NULL && (out = PyTuple_New(6)) != NULL) {
            for (int c = 0; c < 4; c++) {
                PyTuple_SetItem(out, c, cols[c]);      /* steals */
                cols[c] = NULL;
            }
            PyTuple_SetItem(out, 4, e->found);
            PyTuple_SetItem(out, 5, e->found_ids);
            e->found = e->found_ids = NULL;
        } else
            outcome = -1;       /* out of memory: undone all the same */
    }
    if (outcome != 0) {
        for (Py_ssize_t i = 0; e->found != NULL && i < PyList_Size(e->found); i++)
            ks_discard(e->seen,
                       ((uint64_t)(uintptr_t)PyList_GetItem(e->found, i)) >> e->shift);
        if (outcome > 0 && !PyErr_Occurred()) {
            Py_IncRef(&_Py_NoneStruct);
            out = &_Py_NoneStruct;
        }
    }
    for (int c = 0; c < 4; c++)
        if (cols[c] != NULL)
            Py_DecRef(cols[c]);
    if (e->found != NULL)
        Py_DecRef(e->found);
    if (e->found_ids != NULL)
        Py_DecRef(e->found_ids);
    PyMem_Free(e->nrefs.data);
    PyMem_Free(e->labels.data);
    PyMem_Free(e->refs.data);
    return out;
}

/* sequence_edges(seen, excluded, objs, shift, raw)
 *   -> (nrefs, labels, refs, edges, found, found_ids) or None
 * The references of a group of exact lists and tuples, as edges_sequence, discover and
 * add_columns make them, in one pass (EdgePass): nrefs, the labels ("3 items"), the items'
 * ids, their number, and the items found. None, with `seen` as it was, when an item is one of
 * the dumper's own (its key in `excluded`, a KeySet) or an object is not an exact list or
 * tuple: then the Python way, which knows what to do. */
static PyObject *rg_sequence_edges(PyObject *self, PyObject *args)
{
    (void)self;
    EdgePass e;
    PyObject *objs = arg(args, 2, &PyList_Type, "sequence_edges: a list");
    if (objs == NULL || ep_start(&e, args, 0, 3, "sequence_edges: bad arguments") < 0)
        return objs == NULL ? NULL : ep_finish(&e, -1);
    Py_ssize_t n = PyList_Size(objs);
    int outcome = buf_reserve(&e.labels, (size_t)n * 32) < 0 ? -1 : 0;
    for (Py_ssize_t i = 0; i < n && outcome == 0; i++) {
        PyObject *o = PyList_GetItem(objs, i);
        int is_list = TYPE(o) == &PyList_Type;
        if (!is_list && TYPE(o) != &PyTuple_Type) {
            outcome = 1;
            break;
        }
        Py_ssize_t m = is_list ? PyList_Size(o) : PyTuple_Size(o);
        if (ep_object(&e, m) < 0) {
            outcome = -1;
            break;
        }
        Buf *labels = &e.labels;            /* reserved above: 28 bytes at most each */
        if (labels->len)
            labels->data[labels->len++] = ',';
        labels->data[labels->len++] = '"';
        char *p = put_u64(labels->data + labels->len, (unsigned long long)m);
        const char *word = m == 1 ? " item\"" : " items\"";
        memcpy(p, word, strlen(word));
        labels->len = (size_t)(p - labels->data) + strlen(word);
        for (Py_ssize_t j = 0; j < m && outcome == 0; j++)
            outcome = ep_ref(&e, is_list ? PyList_GetItem(o, j) : PyTuple_GetItem(o, j));
    }
    return ep_finish(&e, outcome);
}

extern PyObject *PyUnicode_AsUTF8String(PyObject *);

/* JSON text of one str's UTF-8 (json's encode_basestring, without ensure_ascii: '"' and '\'
 * escaped, control characters as \n \r \t \b \f or \u00xx, everything else as it is) at p,
 * which has room for 6 bytes per input byte + 3; returns the end. A `dot` of 1 puts "." before
 * the text (the edge label ".name" of an attribute `name`). */
static char *put_json_str(char *p, int dot, const char *utf8, Py_ssize_t len)
{
    static const char hex[] = "0123456789abcdef";
    *p++ = '"';
    if (dot)
        *p++ = '.';
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)utf8[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        default:
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p++ = '"';
    return p;
}

#define LABEL_CACHE 512     /* distinct label objects remembered in one call */

/* The JSON texts of the str objects met in one call, by address (the objects stay alive
 * through the call: the caller's lists hold them); at most LABEL_CACHE / 2 of them. */
typedef struct {
    struct {
        PyObject *key;
        size_t at, len;     /* its text in `texts` */
    } slot[LABEL_CACHE];
    Buf texts;
    size_t cached;
} LabelCache;

/* Appends the JSON text of str o (after a "." if dot) to out, from the cache or made once:
 * 0, -1 with an error set, or 1 when o cannot be UTF-8 (a lone surrogate; nothing set). */
static int put_label(LabelCache *c, Buf *out, PyObject *o, int dot)
{
    size_t h = (size_t)((((uint64_t)(uintptr_t)o >> 4) * 0x9E3779B97F4A7C15ull) >> 40)
               & (LABEL_CACHE - 1);
    while (c->slot[h].key != NULL && c->slot[h].key != o)
        h = (h + 1) & (LABEL_CACHE - 1);
    size_t at, len;
    if (c->slot[h].key == o) {
        at = c->slot[h].at;
        len = c->slot[h].len;
    } else {
        PyObject *utf8 = PyUnicode_AsUTF8String(o);
        if (utf8 == NULL) {
            PyErr_Clear();
            return 1;
        }
        Py_ssize_t n = PyBytes_Size(utf8);
        if (buf_reserve(&c->texts, (size_t)n * 6 + 3) < 0) {
            Py_DecRef(utf8);
            return -1;
        }
        at = c->texts.len;
        char *end = put_json_str(c->texts.data + at, dot, PyBytes_AsString(utf8), n);
        Py_DecRef(utf8);
        len = (size_t)(end - (c->texts.data + at));
        if (c->cached < LABEL_CACHE / 2) {
            c->slot[h].key = o;
            c->slot[h].at = at;
            c->slot[h].len = len;
            c->cached++;
            c->texts.len += len;
        }                       /* else: written from the buffer's end, not remembered */
    }
    if (buf_reserve(out, len) < 0)
        return -1;
    memcpy(out->data + out->len, c->texts.data + at, len);
    out->len += len;
    return 0;
}

/* json_strs(labels) -> str or None: the inside of the JSON array of a list of str and None
 * (_json_items of it), each distinct str object encoded once (edge labels: a few names
 * repeated for every object of a group). Each str is read through a UTF-8 copy, so no str
 * gains a cached UTF-8 form; None when one has a lone surrogate (the Python writer escapes it)
 * or an item is neither str nor None. */
static PyObject *rg_json_strs(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *labels = arg(args, 0, &PyList_Type, "json_strs: a list");
    if (labels == NULL)
        return NULL;
    LabelCache *cache = PyMem_Calloc(1, sizeof(LabelCache));
    Buf out = {0};
    PyObject *result = NULL;
    if (cache == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n = PyList_Size(labels);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyList_GetItem(labels, i);
        if (buf_reserve(&out, 8) < 0)
            goto done;
        if (i)
            out.data[out.len++] = ',';
        if (o == &_Py_NoneStruct) {
            memcpy(out.data + out.len, "null", 4);
            out.len += 4;
            continue;
        }
        int put = TYPE(o) == &PyUnicode_Type ? put_label(cache, &out, o, 0) : 1;
        if (put < 0)
            goto done;
        if (put > 0) {
            Py_IncRef(&_Py_NoneStruct);
            result = &_Py_NoneStruct;
            goto done;
        }
    }
    result = buf_take(&out, 0);
done:
    if (cache != NULL)
        PyMem_Free(cache->texts.data);
    PyMem_Free(cache);
    PyMem_Free(out.data);
    return result;
}

/* attr_edges_text(counts, names, values, cls, seen, excluded, shift, raw)
 *   -> (nrefs, labels, refs, edges, found, found_ids) or None
 * attr_edges for instances that were all read (every count >= 0), then discover and the
 * columns' text in the same pass (EdgePass), as sequence_edges does for lists: each
 * instance's references are its attributes (".name", each name's JSON text made once) and then
 * its class (".__class__"). None, with `seen` as it was, when a reference is one of the
 * dumper's own (its key in `excluded`), a name is not a str or cannot be UTF-8, or the lists do
 * not agree. */
static PyObject *rg_attr_edges_text(PyObject *self, PyObject *args)
{
    (void)self;
    EdgePass e;
    PyObject *counts = arg(args, 0, &PyList_Type, "attr_edges_text: counts list");
    PyObject *names = counts ? arg(args, 1, &PyList_Type, "attr_edges_text: names list") : NULL;
    PyObject *values = names ? arg(args, 2, &PyList_Type, "attr_edges_text: values") : NULL;
    PyObject *cls = values ? arg(args, 3, NULL, "") : NULL;
    if (cls == NULL || ep_start(&e, args, 4, 6, "attr_edges_text: bad arguments") < 0)
        return cls == NULL ? NULL : ep_finish(&e, -1);
    Py_ssize_t n = PyList_Size(counts), n_names = PyList_Size(names), at = 0;
    LabelCache *cache = PyMem_Calloc(1, sizeof(LabelCache));
    PyObject *class_label = PyUnicode_FromStringAndSize("__class__", 9);
    int outcome = 0;
    if (cache == NULL) {
        PyErr_NoMemory();
        outcome = -1;
    } else if (class_label == NULL)
        outcome = -1;
    else if (n_names != PyList_Size(values))
        outcome = 1;
    for (Py_ssize_t i = 0; i < n && outcome == 0; i++) {
        PyObject *c_o = PyList_GetItem(counts, i);
        Py_ssize_t c = TYPE(c_o) == &PyLong_Type ? PyLong_AsSsize_t(c_o) : -1;
        if (c < 0 || c > n_names - at) {
            PyErr_Clear();
            outcome = 1;
            break;
        }
        if (ep_object(&e, c + 1) < 0) {
            outcome = -1;
            break;
        }
        for (Py_ssize_t j = 0; j <= c && outcome == 0; j++) {
            PyObject *key = j < c ? PyList_GetItem(names, at + j) : class_label;
            if (buf_reserve(&e.labels, 1) < 0) {
                outcome = -1;
                break;
            }
            if (e.labels.len)
                e.labels.data[e.labels.len++] = ',';
            outcome = TYPE(key) == &PyUnicode_Type ? put_label(cache, &e.labels, key, 1) : 1;
            if (outcome == 0)
                outcome = ep_ref(&e, j < c ? PyList_GetItem(values, at + j) : cls);
        }
        at += c;
    }
    if (outcome == 0 && at != n_names)
        outcome = 1;
    if (class_label != NULL)
        Py_DecRef(class_label);
    if (cache != NULL)
        PyMem_Free(cache->texts.data);
    PyMem_Free(cache);
    return ep_finish(&e, outcome);
}

/* int_labels(objs, big_bits) -> str or None: the label column of a group of exact ints
 * (_int_text: '"123"' each) or None when one does not fit in 63 bits or has more than
 * big_bits bits (the Python way labels it "<int N bits>"). */
static PyObject *rg_int_labels(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *objs = arg(args, 0, &PyList_Type, "int_labels: a list");
    long long big_bits;
    if (objs == NULL || small_long(PyTuple_GetItem(args, 1), &big_bits) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "int_labels: bad arguments");
        return NULL;
    }
    Py_ssize_t n = PyList_Size(objs);
    Buf out = {0};
    if (buf_reserve(&out, (size_t)n * 24 + 1) < 0)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyList_GetItem(objs, i);
        long long v = TYPE(o) == &PyLong_Type ? PyLong_AsLongLong(o) : 0;
        unsigned long long m = v < 0 ? (unsigned long long)0 - (unsigned long long)v
                                     : (unsigned long long)v;
        int bits = 0;
        while (bits < 64 && (m >> bits))
            bits++;
        if (TYPE(o) != &PyLong_Type || (v == -1 && PyErr_Occurred()) || bits > big_bits) {
            PyErr_Clear();
            PyMem_Free(out.data);
            Py_IncRef(&_Py_NoneStruct);
            return &_Py_NoneStruct;
        }
        char *p = out.data + out.len;
        if (i)
            *p++ = ',';
        *p++ = '"';
        if (v < 0)
            *p++ = '-';
        p = put_u64(p, m);
        *p++ = '"';
        out.len = (size_t)(p - out.data);
    }
    return buf_take(&out, 0);
}

/* line_bytes(parts) -> bytes or None: the UTF-8 of a line given as its parts, each a str, or a
 * list of str fragments written joined by commas ("".join of _Line.pieces(), encoded, with no
 * str of the whole made first). None if a fragment cannot be UTF-8 (a lone surrogate in a
 * label: the Python writer escapes it). */
static PyObject *rg_line_bytes(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *parts = arg(args, 0, &PyList_Type, "line_bytes: a list");
    if (parts == NULL)
        return NULL;
    Py_ssize_t n_parts = PyList_Size(parts), n_pieces = 0;
    for (Py_ssize_t i = 0; i < n_parts; i++) {
        PyObject *part = PyList_GetItem(parts, i);
        if (TYPE(part) == &PyList_Type)
            n_pieces += PyList_Size(part) + 1;
        else if (TYPE(part) == &PyUnicode_Type)
            n_pieces += 1;
        else {
            PyErr_SetString(PyExc_TypeError, "line_bytes: str or lists of str");
            return NULL;
        }
    }
    struct piece {
        const char *at;
        Py_ssize_t len;
    } *pieces = PyMem_Malloc((size_t)(n_pieces ? n_pieces : 1) * sizeof(struct piece));
    if (pieces == NULL)
        return PyErr_NoMemory();
    PyObject *out = NULL;
    size_t total = 0;
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n_parts; i++) {
        PyObject *part = PyList_GetItem(parts, i);
        int is_list = TYPE(part) == &PyList_Type;
        Py_ssize_t m = is_list ? PyList_Size(part) : 1;
        for (Py_ssize_t j = 0; j < m; j++) {
            PyObject *text = is_list ? PyList_GetItem(part, j) : part;
            if (TYPE(text) != &PyUnicode_Type) {
                PyErr_SetString(PyExc_TypeError, "line_bytes: str or lists of str");
                goto done;
            }
            const char *utf8 = PyUnicode_AsUTF8AndSize(text, &pieces[k].len);
            if (utf8 == NULL) {
                PyErr_Clear();
                Py_IncRef(&_Py_NoneStruct);
                out = &_Py_NoneStruct;
                goto done;
            }
            pieces[k++].at = utf8;
            total += (size_t)pieces[k - 1].len + (is_list && j + 1 < m);
        }
    }
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    if (out == NULL)
        goto done;
    char *p = PyBytes_AsString(out);
    k = 0;
    for (Py_ssize_t i = 0; i < n_parts; i++) {
        PyObject *part = PyList_GetItem(parts, i);
        Py_ssize_t m = TYPE(part) == &PyList_Type ? PyList_Size(part) : 1;
        for (Py_ssize_t j = 0; j < m; j++, k++) {
            if (j)
                *p++ = ',';
            memcpy(p, pieces[k].at, (size_t)pieces[k].len);
            p += pieces[k].len;
        }
    }
done:
    PyMem_Free(pieces);
    return out;
}

/* ---- binary columns from the JSON fragments ---------------------------------------------- */

/* The binary writer gets an objects line's label and edge-label columns as the JSON text
 * fragments the dumper made (_Line: each the inside of an array, items separated by commas,
 * each `null` or a string as json's encode_basestring writes it). These read them straight
 * into the binary columns, without a str per label. Anything else (a lone surrogate, which
 * cannot be UTF-8; a \u escape of a surrogate; text not made that way) is refused: None, and
 * the writer takes its Python way. */

/* (a, b, c) made of three new references, which it takes over whatever happens (NULL ones mean
 * an error is set: the others are released); NULL with an error set on failure. */
static PyObject *steal3(PyObject *a, PyObject *b, PyObject *c)
{
    PyObject *out = a && b && c ? PyTuple_New(3) : NULL;
    PyObject *items[3] = {a, b, c};
    for (int k = 0; k < 3; k++) {
        if (out != NULL)
            PyTuple_SetItem(out, k, items[k]);      /* steals */
        else if (items[k] != NULL)
            Py_DecRef(items[k]);
    }
    return out;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Reads one item at *p (< end): null (*is_null set), or a string whose UTF-8 is appended to
 * out; then the ',' after it, if any. 0: read; 1: refused (nothing to undo but out's tail);
 * -1: out of memory (error set). */
static int next_item(const char **at, const char *end, Buf *out, int *is_null)
{
    const char *p = *at;
    *is_null = 0;
    if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
        *is_null = 1;
        p += 4;
    } else {
        if (p >= end || *p != '"')
            return 1;
        p++;
        const char *run = p;
        for (;;) {
            while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
                p++;
            if (buf_reserve(out, (size_t)(p - run) + 4) < 0)
                return -1;
            memcpy(out->data + out->len, run, (size_t)(p - run));
            out->len += (size_t)(p - run);
            if (p >= end || (unsigned char)*p < 0x20)
                return 1;
            if (*p == '"') {
                p++;
                break;
            }
            if (end - p < 2)
                return 1;
            char c = p[1], put;
            p += 2;
            switch (c) {
            case '"': put = '"'; break;
            case '\\': put = '\\'; break;
            case '/': put = '/'; break;
            case 'b': put = '\b'; break;
            case 'f': put = '\f'; break;
            case 'n': put = '\n'; break;
            case 'r': put = '\r'; break;
            case 't': put = '\t'; break;
            case 'u': {
                if (end - p < 4)
                    return 1;
                int v = 0;
                for (int k = 0; k < 4; k++) {
                    int d = hex_digit(p[k]);
                    if (d < 0)
                        return 1;
                    v = v * 16 + d;
                }
                p += 4;
                if (v >= 0xd800 && v <= 0xdfff)
                    return 1;           /* the dumper never writes one: not this reader's */
                if (v < 0x80)
                    out->data[out->len++] = (char)v;
                else if (v < 0x800) {
                    out->data[out->len++] = (char)(0xc0 | (v >> 6));
                    out->data[out->len++] = (char)(0x80 | (v & 0x3f));
                } else {
                    out->data[out->len++] = (char)(0xe0 | (v >> 12));
                    out->data[out->len++] = (char)(0x80 | ((v >> 6) & 0x3f));
                    out->data[out->len++] = (char)(0x80 | (v & 0x3f));
                }
                run = p;
                continue;
            }
            default:
                return 1;
            }
            out->data[out->len++] = put;
            run = p;
        }
    }
    if (p < end) {
        if (*p != ',' || p + 1 >= end)
            return 1;
        p++;
    }
    *at = p;
    return 0;
}

/* Calls item(ctx, ...) for each item of the fragments, the string's UTF-8 at text[at..] of
 * `scratch`; returns 0, 1 (refused) or -1 (error set). */
typedef int (*item_fn)(void *ctx, int is_null, const char *text, size_t len);

static int each_item(PyObject *fragments, Buf *scratch, item_fn item, void *ctx)
{
    Py_ssize_t n = PyList_Size(fragments);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *f = PyList_GetItem(fragments, i);
        if (TYPE(f) != &PyUnicode_Type)
            return 1;
        Py_ssize_t len;
        const char *p = PyUnicode_AsUTF8AndSize(f, &len);   /* the dumper's own text */
        if (p == NULL) {
            PyErr_Clear();
            return 1;
        }
        const char *end = p + len;
        while (p < end) {
            int is_null;
            scratch->len = 0;
            int got = next_item(&p, end, scratch, &is_null);
            if (got == 0)
                got = item(ctx, is_null, scratch->data, scratch->len);
            if (got != 0)
                return got;
        }
    }
    return 0;
}

typedef struct {
    uint64_t *lens;
    size_t n, cap;
    Buf data;
    unsigned long long top;
} LabelColumn;

static int label_item(void *ctx, int is_null, const char *text, size_t len)
{
    LabelColumn *c = ctx;
    if (c->n == c->cap) {
        size_t want = c->cap ? c->cap * 2 : 8192;
        uint64_t *grown = PyMem_Realloc(c->lens, want * sizeof(uint64_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        c->lens = grown;
        c->cap = want;
    }
    uint64_t v = is_null ? 0 : (uint64_t)len + 1;
    c->lens[c->n++] = v;
    if (v > c->top)
        c->top = v;
    if (!is_null) {
        if (buf_reserve(&c->data, len) < 0)
            return -1;
        memcpy(c->data.data + c->data.len, text, len);
        c->data.len += len;
    }
    return 0;
}

/* label_column_of(fragments) -> (column 7, UTF-8 data, count) or None: label_column of the
 * labels the fragments hold. */
static PyObject *rg_label_column_of(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *fragments = arg(args, 0, &PyList_Type, "label_column_of: a list");
    if (fragments == NULL)
        return NULL;
    LabelColumn c = {NULL, 0, 0, {0}, 0};
    Buf scratch = {0};
    PyObject *out = NULL;
    int got = each_item(fragments, &scratch, label_item, &c);
    if (got > 0) {
        Py_IncRef(&_Py_NoneStruct);
        out = &_Py_NoneStruct;
    } else if (got == 0)
        out = steal3(column_bytes(7, 0, c.lens, (Py_ssize_t)c.n, c.top),
                     PyBytes_FromStringAndSize(c.data.data ? c.data.data : "",
                                               (Py_ssize_t)c.data.len),
                     PyLong_FromSize_t(c.n));
    PyMem_Free(c.lens);
    PyMem_Free(c.data.data);
    PyMem_Free(scratch.data);
    return out;
}

/* Interner(): the binary writer's table of edge labels (FORMAT.md: block 3 adds labels, an
 * objects block refers to them by code, 0 for none, k + 1 for the k-th), across the whole
 * dump, keyed by each label's UTF-8. */
typedef struct {
    PyObject ob_base;
    struct ientry {
        uint64_t hash;
        size_t at, len;     /* the label's UTF-8 in `texts` */
        uint32_t code;      /* 0: a free slot */
    } *table;
    size_t mask, n;         /* n labels, codes 1..n */
    Buf texts;
} Interner;

static uint64_t text_hash(const char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;           /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h | 1;
}

static PyObject *in_new(PyObject *type, PyObject *args, PyObject *kwargs)
{
    (void)args;
    (void)kwargs;
    PyObject *(*alloc)(PyObject *, Py_ssize_t) = PyType_GetSlot(type, 47 /* Py_tp_alloc */);
    Interner *t = (Interner *)alloc(type, 0);
    if (t != NULL) {
        t->table = NULL;
        t->mask = t->n = 0;
        t->texts.data = NULL;
        t->texts.len = t->texts.cap = 0;
    }
    return (PyObject *)t;
}

static void in_dealloc(PyObject *self)
{
    Interner *t = (Interner *)self;
    PyObject *type = TYPE(self);
    PyMem_Free(t->table);
    PyMem_Free(t->texts.data);
    t->table = NULL;
    t->texts.data = NULL;
    void (*free_fn)(void *) = PyType_GetSlot(type, Py_tp_free);
    free_fn(self);
    Py_DecRef(type);
}

/* the slot of a label: where it is, or the free slot where it goes */
static size_t in_slot(const Interner *t, uint64_t h, const char *text, size_t len)
{
    size_t i = (size_t)(h >> 7) & t->mask;
    while (t->table[i].code != 0
           && !(t->table[i].hash == h && t->table[i].len == len
                && memcmp(t->texts.data + t->table[i].at, text, len) == 0))
        i = (i + 1) & t->mask;
    return i;
}

static int in_grow(Interner *t)
{
    size_t cap = t->mask ? (t->mask + 1) * 2 : 1024;
    struct ientry *table = PyMem_Calloc(cap, sizeof(struct ientry));
    if (table == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    struct ientry *old = t->table;
    size_t old_cap = t->mask ? t->mask + 1 : 0;
    t->table = table;
    t->mask = cap - 1;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].code != 0) {
            size_t j = (size_t)(old[i].hash >> 7) & t->mask;
            while (table[j].code != 0)
                j = (j + 1) & t->mask;
            table[j] = old[i];
        }
    PyMem_Free(old);
    return 0;
}

typedef struct {
    Interner *t;
    uint64_t *codes;
    size_t n, cap;
    uint32_t top;
    size_t first_new;       /* labels before this call */
    Buf block;              /* the new labels' entries: varint length, UTF-8 */
} CodeRun;

static int code_item(void *ctx, int is_null, const char *text, size_t len)
{
    CodeRun *r = ctx;
    Interner *t = r->t;
    if (r->n == r->cap) {
        size_t want = r->cap ? r->cap * 2 : 16384;
        uint64_t *grown = PyMem_Realloc(r->codes, want * sizeof(uint64_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        r->codes = grown;
        r->cap = want;
    }
    uint32_t code = 0;
    if (!is_null) {
        if ((t->n + 1) * 2 > t->mask + 1 && in_grow(t) < 0)
            return -1;
        uint64_t h = text_hash(text, len);
        size_t i = in_slot(t, h, text, len);
        if (t->table[i].code == 0) {
            if (t->n >= 0xfffffffe) {
                PyErr_SetString(PyExc_ValueError, "Interner: too many labels");
                return -1;
            }
            if (buf_reserve(&t->texts, len) < 0 || buf_reserve(&r->block, len + 10) < 0)
                return -1;
            memcpy(t->texts.data + t->texts.len, text, len);
            t->table[i].hash = h;
            t->table[i].at = t->texts.len;
            t->table[i].len = len;
            t->table[i].code = (uint32_t)++t->n;
            t->texts.len += len;
            unsigned char *p = put_varint((unsigned char *)r->block.data + r->block.len, len);
            memcpy(p, text, len);
            r->block.len = (size_t)((char *)p + len - r->block.data);
        }
        code = t->table[i].code;
    }
    r->codes[r->n++] = code;
    if (code > r->top)
        r->top = code;
    return 0;
}

/* Interner.codes(fragments) -> (column 10, the new labels' block 3 payload or b"", count) or
 * None: the edge-label codes of the fragments' labels, the labels not met before given the
 * next codes. None (refused) leaves the table as it was. */
static PyObject *in_codes(PyObject *self, PyObject *args)
{
    Interner *t = (Interner *)self;
    PyObject *fragments = arg(args, 0, &PyList_Type, "codes: a list");
    if (fragments == NULL)
        return NULL;
    CodeRun r = {t, NULL, 0, 0, 0, t->n, {0}};
    size_t texts_before = t->texts.len;
    Buf scratch = {0};
    PyObject *out = NULL, *column = NULL, *block = NULL;
    int got = each_item(fragments, &scratch, code_item, &r);
    if (got != 0) {         /* the table as it was: drop the labels added by this call */
        for (size_t i = 0; t->mask && i <= t->mask; i++)
            if (t->table[i].code > r.first_new)
                t->table[i].code = 0;
        /* a removed entry may sit in another's probe run: rehash what is left */
        size_t cap = t->mask ? t->mask + 1 : 0;
        struct ientry *old = t->table;
        if (cap) {
            struct ientry *table = PyMem_Calloc(cap, sizeof(struct ientry));
            if (table == NULL) {
                got = -1;
                PyErr_NoMemory();
            } else {
                for (size_t i = 0; i < cap; i++)
                    if (old[i].code != 0) {
                        size_t j = (size_t)(old[i].hash >> 7) & t->mask;
                        while (table[j].code != 0)
                            j = (j + 1) & t->mask;
                        table[j] = old[i];
                    }
                t->table = table;
                PyMem_Free(old);
            }
        }
        t->n = r.first_new;
        t->texts.len = texts_before;
        if (got > 0) {
            Py_IncRef(&_Py_NoneStruct);
            out = &_Py_NoneStruct;
        }
    } else {
        column = column_bytes(10, 0, r.codes, (Py_ssize_t)r.n, r.top);
        if (column != NULL && t->n > r.first_new) {
            unsigned char head[20], *p = put_varint(head, r.first_new);
            p = put_varint(p, t->n - r.first_new);
            size_t head_len = (size_t)(p - head);
            block = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(head_len + r.block.len));
            if (block != NULL) {
                char *b = PyBytes_AsString(block);
                memcpy(b, head, head_len);
                memcpy(b + head_len, r.block.data, r.block.len);
            }
        } else if (column != NULL)
            block = PyBytes_FromStringAndSize("", 0);
        out = steal3(column, block, PyLong_FromSize_t(r.n));
    }
    PyMem_Free(r.codes);
    PyMem_Free(r.block.data);
    PyMem_Free(scratch.data);
    return out;
}

extern PyObject *PyUnicode_DecodeUTF8(const char *, Py_ssize_t, const char *);

/* Interner.texts() -> [label, ...] in code order (code k + 1 is the k-th). */
static PyObject *in_texts(PyObject *self, PyObject *unused)
{
    (void)unused;
    Interner *t = (Interner *)self;
    PyObject *out = PyList_New((Py_ssize_t)t->n);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; t->mask && i <= t->mask; i++) {
        if (t->table[i].code == 0)
            continue;
        PyObject *text = PyUnicode_DecodeUTF8(t->texts.data + t->table[i].at,
                                              (Py_ssize_t)t->table[i].len, "strict");
        if (text == NULL) {
            Py_DecRef(out);
            return NULL;
        }
        PyList_SetItem(out, (Py_ssize_t)t->table[i].code - 1, text);     /* steals */
    }
    return out;
}

static PyMethodDef in_methods[] = {
    {"codes", in_codes, METH_VARARGS, "codes(fragments) -> (column, block, count) or None"},
    {"texts", in_texts, METH_NOARGS, "the labels in code order"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot in_slots[] = {
    {Py_tp_new, (void *)in_new},
    {Py_tp_dealloc, (void *)in_dealloc},
    {Py_tp_methods, in_methods},
    {Py_tp_doc, "the binary writer's edge-label table (see native/rgnative.c)"},
    {0, NULL},
};

static PyType_Spec in_spec = {
    "_refgraph_native.Interner", sizeof(Interner), 0, Py_TPFLAGS_DEFAULT, in_slots,
};

static PyObject *interner_type;    /* set at import */

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
    {"attr_edges", rg_attr_edges, METH_VARARGS,
     "attr_edges(counts, names, values, cls, class_label, dotted, rest_nrefs, rest_refs, "
     "rest_labels) -> (nrefs, refs, labels)"},
    {"column", rg_column, METH_VARARGS, "column(tag, values, signed) -> bytes"},
    {"column_of", rg_column_of, METH_VARARGS,
     "column_of(tag, fragments, signed) -> (bytes, count)"},
    {"raw_ints", rg_raw_ints, METH_VARARGS, "raw_ints(list) -> 8 bytes per int"},
    {"raw_ids", rg_raw_ids, METH_VARARGS, "raw_ids(list) -> 8 bytes per object's id"},
    {"raw_counts", rg_raw_counts, METH_VARARGS, "raw_counts(list, offset) -> 8 bytes each"},
    {"label_column", rg_label_column, METH_VARARGS,
     "label_column(labels) -> (lengths column, UTF-8 data) or None"},
    {"refcounts", rg_refcounts, METH_VARARGS, "refcounts(objs) -> list(map(getrefcount, objs))"},
    {"own_columns", rg_own_columns, METH_VARARGS,
     "own_columns(objs, counts, offset, sizeof, size_extra, const_size, flag_base, "
     "tracked_flag, gc, raw) -> (ids, sizes, refcounts, flags) or None"},
    {"sequence_edges", rg_sequence_edges, METH_VARARGS,
     "sequence_edges(seen, excluded, objs, shift, raw) "
     "-> (nrefs, labels, refs, edges, found, found_ids) or None"},
    {"attr_edges_text", rg_attr_edges_text, METH_VARARGS,
     "attr_edges_text(counts, names, values, cls, seen, excluded, shift, raw) "
     "-> (nrefs, labels, refs, edges, found, found_ids) or None"},
    {"json_strs", rg_json_strs, METH_VARARGS, "json_strs(labels) -> str or None"},
    {"int_labels", rg_int_labels, METH_VARARGS, "int_labels(objs, big_bits) -> str or None"},
    {"label_column_of", rg_label_column_of, METH_VARARGS,
     "label_column_of(fragments) -> (column 7, data, count) or None"},
    {"line_bytes", rg_line_bytes, METH_VARARGS, "line_bytes(parts) -> bytes or None"},
    {"referrers_of", rg_referrers_of, METH_VARARGS,
     "referrers_of(objs, targets) -> per target, the objects of objs that refer to it"},
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
    if (interner_type == NULL) {
        interner_type = PyType_FromSpec(&in_spec);
        if (interner_type == NULL) {
            Py_DecRef(m);
            return NULL;
        }
    }
    Py_IncRef(interner_type);
    if (PyModule_AddObject(m, "Interner", interner_type) < 0) {
        Py_DecRef(interner_type);
        Py_DecRef(m);
        return NULL;
    }
    return m;
}
