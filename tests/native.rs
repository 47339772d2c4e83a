//! The native accelerator (native/rgnative.c): on every CPython the machine has, the same heap
//! dumped with it and in pure Python gives the same graph (tests/scripts/native_equivalence.py
//! compares them object by object), it is chosen by itself on 3.10-3.13 and silently left out
//! on 3.8/3.9, hostile programs stay untouched, and REFGRAPH_NATIVE=0 means pure Python.

use crate::util::{refgraph, script, Workdir};
use crate::versions::pythons;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The dumper and the accelerator as `refgraph capture` places them, in `dir`.
fn place_dumper(dir: &Path) -> bool {
    std::fs::write(
        dir.join("refgraph_dump.py"),
        refgraph::capture::DUMPER_SOURCE,
    )
    .expect("writing the dumper");
    match refgraph::capture::NATIVE_MODULE {
        Some(so) => {
            std::fs::write(dir.join(refgraph::capture::NATIVE_FILE), so).expect("writing .so");
            true
        }
        None => false,
    }
}

/// A directory in `w` with the dumper and, when this binary carries it, the native module
/// (then true).
fn dumper_dir(w: &Workdir) -> (PathBuf, bool) {
    let dir = w.path("dumper");
    std::fs::create_dir(&dir).expect("mkdir");
    let native = place_dumper(&dir);
    (dir, native)
}

/// [`dumper_dir`] for a test of the native module: None, said as SKIPPED, without one.
fn native_dumper_dir(w: &Workdir) -> Option<PathBuf> {
    let (dir, native) = dumper_dir(w);
    if !native {
        eprintln!("SKIPPED: this binary was built without a C compiler: no native module");
    }
    native.then_some(dir)
}

/// A directory in `w` holding the native module alone, for tests of its functions; None, said
/// as SKIPPED, when this binary carries none.
fn native_module_dir(w: &Workdir) -> Option<PathBuf> {
    let Some(so) = refgraph::capture::NATIVE_MODULE else {
        eprintln!("SKIPPED: this binary was built without a C compiler: no native module");
        return None;
    };
    let dir = w.path("native");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join(refgraph::capture::NATIVE_FILE), so).expect("writing .so");
    Some(dir)
}

fn supported(label: &str) -> bool {
    ["3.10.", "3.11.", "3.12.", "3.13."]
        .iter()
        .any(|v| label.contains(&format!(" {v}")))
}

/// Runs the comparison; returns its stdout after checking it ran cleanly.
fn compare(python: &Path, dumper: &Path, out: &Path, program: &[&str]) -> String {
    let mut c = Command::new(python);
    c.arg(script("native_equivalence.py"))
        .arg(dumper)
        .arg(out)
        .args(program)
        .env_remove("REFGRAPH_NATIVE");
    let done = c.output().expect("running python");
    let stdout = String::from_utf8_lossy(&done.stdout).into_owned();
    assert!(
        done.status.success(),
        "{} {program:?}: exit {:?}\n{stdout}\n{}",
        python.display(),
        done.status.code(),
        String::from_utf8_lossy(&done.stderr)
    );
    stdout
}

/// Run `python -c CODE ARGS…` (REFGRAPH_NATIVE unset: the dumper chooses) and require it to
/// print exactly `ok`; `context` goes into the failure message.
fn assert_prints_ok(label: &str, python: &Path, code: &str, args: &[&Path], context: &str) {
    let done = Command::new(python)
        .arg("-c")
        .arg(code)
        .args(args)
        .env_remove("REFGRAPH_NATIVE")
        .output()
        .expect("python");
    assert!(
        done.status.success() && done.stdout == b"ok\n",
        "{label}{context}: {}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
}

#[test]
fn native_and_python_dumps_of_one_heap_are_the_same_graph() {
    let w = Workdir::new();
    let Some(dumper) = native_dumper_dir(&w) else {
        return;
    };
    let benches = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches");
    let heapgen = benches.to_string_lossy().into_owned();
    let programs: Vec<Vec<String>> = vec![
        vec!["heapgen:30000".into(), heapgen],
        vec![script("hostile.py").to_string_lossy().into_owned()],
        vec![script("hostile_hooks.py").to_string_lossy().into_owned()],
        vec![script("hostile_patched.py").to_string_lossy().into_owned()],
        vec![script("edges_kinds.py").to_string_lossy().into_owned()],
        vec![script("native_attr_orders.py")
            .to_string_lossy()
            .into_owned()],
        vec![script("native_fast_paths.py")
            .to_string_lossy()
            .into_owned()],
    ];
    for (label, python) in pythons() {
        for program in &programs {
            let out = w.path("out");
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir(&out).expect("mkdir");
            let args: Vec<&str> = program.iter().map(String::as_str).collect();
            let said = compare(&python, &dumper, &out, &args);
            if supported(&label) {
                assert!(
                    said.contains("dumper: native\n"),
                    "{label} {args:?}:\n{said}"
                );
                assert!(said.contains("\nsame\n"), "{label} {args:?}:\n{said}");
                assert!(said.contains("\nfirst same\n"), "{label} {args:?}:\n{said}");
                assert!(said.contains("compared "), "{label}: {said}");
            } else {
                // 3.8/3.9: the module is there but not loaded, and nothing says so
                assert!(said.contains("dumper: python\n"), "{label}: {said}");
                assert!(!said.contains("compared "), "{label}: {said}");
            }
        }
    }
}

#[test]
fn capture_says_which_dumper_ran_and_refgraph_native_0_forces_python() {
    if refgraph::capture::NATIVE_MODULE.is_none() {
        eprintln!("SKIPPED: this binary was built without a C compiler: no native module");
        return;
    }
    for (label, python) in pythons() {
        let w = Workdir::new();
        for (setting, want) in [(None, "native"), (Some("0"), "python")] {
            let snap = w.path(&format!("{want}.rgsnap"));
            let mut c = refgraph();
            c.args(["capture", "-o"]).arg(&snap).arg("--").arg(&python);
            c.arg(script("hostile.py"));
            match setting {
                Some(v) => c.env("REFGRAPH_NATIVE", v),
                None => c.env_remove("REFGRAPH_NATIVE"),
            };
            let done = c.output().expect("capture");
            let stderr = String::from_utf8_lossy(&done.stderr);
            let stdout = String::from_utf8_lossy(&done.stdout);
            assert_eq!(done.status.code(), Some(7), "{label}: {stderr}");
            assert!(stdout.contains("hostile ok"), "{label}: {stdout} {stderr}");
            let want = if supported(&label) { want } else { "python" };
            let header = std::fs::read_to_string(&snap).expect("snapshot");
            let header = header.lines().next().unwrap_or_default();
            assert!(
                header.contains(&format!("\"dumper\":\"{want}\"")),
                "{label}: {header}"
            );
            let said = if want == "native" {
                "native dumper"
            } else {
                "Python dumper"
            };
            assert!(stderr.contains(said), "{label}: {stderr}");
        }
    }
}

/// The accelerator's KeySet (the dumper's `seen`) against a Python set: random adds and
/// removals (its deletion moves keys back along their probe runs), then every membership.
#[test]
fn the_key_set_and_number_texts_agree_with_python() {
    let w = Workdir::new();
    let Some(dir) = native_module_dir(&w) else {
        return;
    };
    let code = "import random, sys
sys.path.insert(0, sys.argv[1])
import _refgraph_native as n
rng = random.Random(16)
for size in (50, 3000, 40000):
    s, ref = n.KeySet(), set()
    for _ in range(100000):
        k = rng.randrange(1, size)
        if rng.random() < 0.6:
            s.update([k]); ref.add(k)
        else:
            s.difference_update([k]); ref.discard(k)
    assert len(s) == len(ref), (size, len(s), len(ref))
    wrong = [k for k in range(0, size + 10) if (k in s) != (k in ref)]
    assert not wrong, (size, wrong[:10])
    assert 'x' not in s and -1 not in s
# add_objects: the keys update(map(rshift, map(id, objs), repeat(shift))) adds, the table
# grown once for many objects (and repeats, and keys there already, counted once)
for shift in (0, 4):
    objs = [object() for _ in range(70000)] + [1, 'a', None]
    s, ref = n.KeySet(), set()
    s.update([id(objs[5]) >> shift]); ref.add(id(objs[5]) >> shift)
    s.add_objects(objs + objs[:100], shift)
    ref.update(id(o) >> shift for o in objs)
    assert len(s) == len(ref), (shift, len(s), len(ref))
    assert all(k in s for k in ref) and (id(s) >> shift) not in s
# the columns' number texts: every digit count, both signs of a refcount
values = [0, 9, 10, 99, 100, 2**64 - 1] + [rng.getrandbits(rng.randrange(1, 65)) for _ in range(5000)]
assert n.ints(values) == ','.join(map(str, values))
assert n.id_text(objs) == ','.join(str(id(o)) for o in objs)
counts = [rng.randrange(-10**6, 2**40) for _ in range(5000)] + [0, 1, 3]
for offset in (0, 3, -2):
    assert n.counts_text(counts, offset) == ','.join(str(c - offset) for c in counts)
assert n.counts_text([], 3) == ''
assert n.counts_text([], 2**63 - 1) == '' and n.ints([]) == '' and n.id_text([]) == ''
for call in (lambda: n.ints([1, 'x']), lambda: n.ints([1, -1]), lambda: n.ints([2**64]),
             lambda: n.counts_text([1, 2**63], 0), lambda: n.counts_text([1, 'x'], 0),
             lambda: n.counts_text([1], 2**62 + 1)):
    try:
        call()
    except (TypeError, OverflowError):
        continue
    raise AssertionError('no error')
# the binary writer's columns: column() of a list and column_of() of its JSON text are
# the Python writer's bytes (tag, narrowest width, varint length, little-endian values)
def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7f | 0x80)
        v >>= 7
    return bytes(out + bytes((v,)))
def py_column(tag, values, signed):
    top = max(max(values), -1 - min(values) if signed else 0) if values else 0
    width = next(w for w in (1, 2, 4, 8) if top < 1 << (8 * w - signed))
    data = b''.join((v & (1 << 8 * width) - 1).to_bytes(width, 'little') for v in values)
    return bytes((tag, width)) + varint(len(data)) + data
for signed in (False, True):
    top = 63 if signed else 64
    edges = [(1 << b) + d for b in (7, 8, 15, 16, 31, 32, 63) for d in (-1, 0) if b < top]
    cases = [[], [0], [2**top - 1]] + [[e] for e in edges] + [
        [rng.getrandbits(rng.randrange(1, top + 1)) >> 1 for _ in range(rng.randrange(1, 300))]
        for _ in range(200)]
    if signed:
        cases += [[-1], [-128, 127], [-129], [-2**31], [-2**31 - 1], [-2**63, 5]]
        cases += [[v if rng.random() < 0.5 else -v - 1 for v in c] for c in cases[:150]]
    for values in cases:
        want = py_column(9, values, signed)
        assert n.column(9, values, signed) == want, (values, signed)
        assert n.column_of(9, [','.join(map(str, values))], signed) == (want, len(values)), values
        # raw fragments (8 bytes a value) and text fragments mixed, empty ones too
        k = len(values) // 2
        raw = b''.join((v & 2**64 - 1).to_bytes(8, 'little') for v in values[:k]) if signed \
            else n.raw_ints(values[:k])
        parts = [raw, '', ','.join(map(str, values[k:])), b'']
        assert n.column_of(9, parts, signed) == (want, len(values)), values
for call in (lambda: n.column(1, [2**64], False), lambda: n.column(1, [2**63], True),
             lambda: n.column_of(1, ['18446744073709551616'], False),
             lambda: n.column_of(1, ['9223372036854775808'], True),
             lambda: n.column_of(1, ['-9223372036854775809'], True)):
    try:
        call()
    except ValueError as e:
        assert 'too large' in str(e), e
        continue
    raise AssertionError('no error')
for text, signed in (('-1', False), ('1,,2', False), ('1,', False), (',1', False),
                     ('1.5', True), (' 1', False), ('01', False), ('-', True), ('x', True)):
    try:
        n.column_of(1, [text], signed)
    except ValueError:
        continue
    raise AssertionError('no error: %r' % text)
for bad in ([b'1234567'], [1], [None]):
    try:
        n.column_of(1, bad, False)
    except (ValueError, TypeError):
        continue
    raise AssertionError('no error: %r' % bad)
assert n.column_of(4, ['-0,0'], True) == (py_column(4, [0, 0], True), 2)
assert n.raw_ids(objs) == b''.join(id(o).to_bytes(8, 'little') for o in objs)
assert n.raw_counts([5, 0, 2**40], 3) == b''.join(
    (v & 2**64 - 1).to_bytes(8, 'little') for v in (2, -3, 2**40 - 3))
# label_column: lengths + 1 (0: none) and the UTF-8 bytes; None for a lone surrogate
labels = [None, '', 'a', 'h\\u00e9llo', '\\u2603' * 200, 'x' * 70000, None, '\\U0001f600']
data = [t.encode() for t in labels if t is not None]
assert n.label_column(labels) == (
    py_column(7, [0 if t is None else len(t.encode()) + 1 for t in labels], False), b''.join(data))
assert n.label_column([]) == (py_column(7, [], False), b'')
assert n.label_column(['ok', 'a\\ud800b']) is None
# attr_edges: each instance's attributes, then its class; a count of -1 takes the next
# instance's references from the rest lists
class C: pass
vals = [object() for _ in range(7)]
rest_refs, rest_labels = [object(), object(), object()], ['[0]', '.x', '<other>']
counts, names = [2, -1, 0, 3, -1, 2], ['a', 'b', 'a', 'c', 'd', 'b', 'a']
nrefs, refs, labels = n.attr_edges(counts, names, vals, C, '.__class__', {}, [2, 1],
                                   rest_refs, rest_labels)
assert nrefs == [3, 2, 1, 4, 1, 3], nrefs
assert refs == [vals[0], vals[1], C, rest_refs[0], rest_refs[1], C, vals[2], vals[3],
                vals[4], C, rest_refs[2], vals[5], vals[6], C], refs
assert labels == ['.a', '.b', '.__class__', '[0]', '.x', '.__class__', '.a', '.c', '.d',
                  '.__class__', '<other>', '.b', '.a', '.__class__'], labels
assert labels[0] is labels[6] is labels[12]          # one label str per attribute name
for bad in (([3], ['a'], [1]), ([1, -1], ['a'], [1]), ([-2], [], []), ([1], ['a', 'b'], [1, 2])):
    try:
        n.attr_edges(bad[0], bad[1], bad[2], C, '.__class__', {}, [], [], [])
    except ValueError:
        continue
    raise AssertionError('no error: %r' % (bad,))
print('ok')
";
    for (label, python) in pythons() {
        if !supported(&label) {
            continue;
        }
        assert_prints_ok(&label, &python, code, &[dir.as_path()], "");
    }
}

/// The accelerator's fused steps (one pass doing what several Python steps do) against those
/// steps: own_columns, sequence_edges (and its undo when an item is the dumper's own),
/// KeySet.has_any, discover with a KeySet of excluded keys, line_bytes.
#[test]
fn the_fused_steps_give_what_the_python_steps_give() {
    let w = Workdir::new();
    let Some(dir) = native_module_dir(&w) else {
        return;
    };
    let code = r#"import gc, json, random, sys
sys.path.insert(0, sys.argv[1])
import _refgraph_native as n
rng = random.Random(7)
texts = lambda values: ','.join(map(str, values))
raw = lambda values: b''.join((v & 2**64 - 1).to_bytes(8, 'little') for v in values)
# own_columns: ids, sizes (each object's C __sizeof__ + extra, or one constant), refcounts less
# an offset, flags (gc-tracked or not); raw: ids and refcounts as 8-byte values
objs = [[] for _ in range(50)] + [[1, 2, 3]] * 3 + [list(range(k)) for k in range(40)]
objs.append([object()])                   # tracked; a list of ints only is tracked too
counts = [rng.randrange(-5, 2**40) for _ in objs]
for r in (0, 1):
    got = n.own_columns(objs, counts, 3, list.__sizeof__, 16, -1, 4, 2, 1, r)
    ids = [id(o) for o in objs]
    col = raw if r else texts
    want = (col(ids), col([list.__sizeof__(o) + 16 for o in objs]), col([c - 3 for c in counts]),
            col([4 | (2 if gc.is_tracked(o) else 0) for o in objs]))
    assert got == want, (r, got[1][:80], want[1][:80])
ints = [10**k for k in range(30)]
got = n.own_columns(ints, [1] * 30, 0, int.__sizeof__, 0, -1, 0, 2, 0, 0)
assert got[1] == texts([int.__sizeof__(i) for i in ints]) and got[3] == texts([0] * 30)
strs = ['a', 'b' * 100, '\u00e9t\u00e9', '\U0001f600']
gc_untracked = tuple([1, 2])
gc.collect()                              # untracks a tuple of ints
assert not gc.is_tracked(gc_untracked)
got = n.own_columns([gc_untracked, (1, [])], [2, 2], 1, None, 0, 40, 0, 2, 1, 0)
assert got[1:] == ('40,40', '1,1', '0,2'), got
assert n.own_columns([], [], 0, None, 0, 5, 0, 2, 1, 0) == ('', '', '', '')
class Odd:
    def __sizeof__(self):
        return -1
assert n.own_columns([Odd()], [1], 0, Odd.__sizeof__, 0, -1, 0, 2, 1, 0) is None
# a class that copies another builtin's C __sizeof__: refused as the descriptor's call refuses it
# (the C function would read the object as a dict)
class Copied:
    __sizeof__ = dict.__sizeof__
assert n.own_columns([Copied()] * 3, [1] * 3, 0, dict.__sizeof__, 16, -1, 0, 2, 1, 0) is None
for bad in ((objs, counts[:-1], 0, list.__sizeof__, 0, -1, 0, 2, 1, 0),
            (objs, counts, 0, None, 0, -1, 0, 2, 1, 0), (objs, counts, 'x', None, 0, 1, 0, 2, 1, 0)):
    try:
        n.own_columns(*bad)
    except TypeError:
        continue
    raise AssertionError('no error')
# refcounts: what list(map(sys.getrefcount, objs)) gives, immortal objects (3.12+) included
probe = [None, True, 1, 'a', (), object(), [], objs, n, sys, 10 ** 20] + objs[:5]
assert n.refcounts(probe) == list(map(sys.getrefcount, probe))
assert n.refcounts([]) == []
# sequence_edges: lists and tuples -> nrefs, "N items" labels, the items' ids, their number,
# and the items not seen before (once each, in order), as edges_sequence + discover give them
shared = object()
seqs = [[shared, 1, 'x'], (shared, 2.5), [], (), [shared] * 4, ('y',), [None, None]]
for r in (0, 1):
    seen, mine = n.KeySet(), n.KeySet()
    seen.update([id(shared) >> 4])
    got = n.sequence_edges(seen, mine, seqs, 4, r)
    items = [x for s in seqs for x in s]
    labels = ','.join('"1 item"' if len(s) == 1 else '"%d items"' % len(s) for s in seqs)
    firsts = list({id(x): x for x in items if x is not shared}.values())
    col = raw if r else texts
    want = (col(map(len, seqs)), labels, col(map(id, items)), len(items), firsts,
            [id(x) for x in firsts])
    assert got == want, (got, want)
    assert all((id(x) >> 4) in seen for x in items)
    # an item of the dumper's own: None, and `seen` as it was
    seen2, mine2 = n.KeySet(), n.KeySet()
    mine2.update([id('x') >> 4])
    assert n.sequence_edges(seen2, mine2, seqs, 4, r) is None and len(seen2) == 0
    assert n.sequence_edges(n.KeySet(), n.KeySet(), [[1], {1: 2}], 4, r) is None
assert n.sequence_edges(n.KeySet(), n.KeySet(), [], 4, 0) == ('', '', '', 0, [], [])
# attr_edges_text: attr_edges' references and labels for instances all read, discovered and
# written in the same pass
class C: pass
vals = [object() for _ in range(6)] + [shared]
counts, names = [2, 0, 3, 2], ['a', 'b', 'a', 'c', 'd\u00e9"', 'b', 'a']
for r in (0, 1):
    seen, mine = n.KeySet(), n.KeySet()
    seen.update([id(shared) >> 4, id(C) >> 4])
    got = n.attr_edges_text(counts, names, vals, C, seen, mine, 4, r)
    nrefs, refs, labels = n.attr_edges(counts, names, vals, C, '.__class__', {}, [], [], [])
    firsts = [v for v in vals if v is not shared]
    col = raw if r else texts
    want = (col(nrefs), json.dumps(labels, ensure_ascii=False, separators=(',', ':'))[1:-1],
            col(map(id, refs)), len(refs), firsts, [id(v) for v in firsts])
    assert got == want, (got, want)
    seen2, mine2 = n.KeySet(), n.KeySet()
    mine2.update([id(vals[4]) >> 4])
    assert n.attr_edges_text(counts, names, vals, C, seen2, mine2, 4, r) is None
    assert len(seen2) == 0
    for bad in (([2, -1], names, vals), ([3, 3, 3], names, vals), (counts, names, vals[:-1]),
                (counts, names[:-1] + [5], vals), (counts, names[:-1] + ['\ud800'], vals)):
        assert n.attr_edges_text(*bad, C, n.KeySet(), n.KeySet(), 4, r) is None, bad
# has_any: some object's key in the set
s = n.KeySet()
assert not s.has_any(objs, 4)
s.update([id(objs[7]) >> 4])
assert s.has_any(objs, 4) and not s.has_any(objs[:7], 4)
# discover with the excluded keys as a KeySet: what it gives with them as a set
pool = [object() for _ in range(300)]
refs = [rng.choice(pool) for _ in range(1000)]
excluded = {id(o) >> 4 for o in pool[:20]}
bits = n.KeySet()
bits.update(excluded)
a, b = n.KeySet(), n.KeySet()
got_set = n.discover(a, excluded, None, refs, 4)
got_bits = n.discover(b, bits, None, refs, 4)
assert got_set == got_bits and got_set[2] is False and len(a) == len(b)
# json_strs: _json_items of a list of str and None, each str object encoded once
kinds = ['.name', '.__class__', 'key \'a"b\'', 'tab\there', '\x00\x1f\x7f', '\u00e9\u2603',
         '\U0001f600', '', '\\', None] + ['.a%d' % k for k in range(600)]
labels = [rng.choice(kinds) for _ in range(5000)] + kinds
assert n.json_strs(labels) == json.dumps(labels, ensure_ascii=False, separators=(',', ':'))[1:-1]
assert n.json_strs([]) == ''
assert n.json_strs(['ok', 'a\ud800']) is None and n.json_strs(['ok', 3]) is None
# int_labels: '"123"' for each exact int of at most big_bits bits; None otherwise
small = [0, 1, -1, 2**62, -2**63, 2**63 - 1] + [rng.randrange(-2**40, 2**40) for _ in range(3000)]
assert n.int_labels(small, 200) == ','.join('"%d"' % i for i in small)
assert n.int_labels([], 200) == ''
assert n.int_labels([1, 2**63], 200) is None and n.int_labels([1, True], 200) is None
assert n.int_labels([2**20], 20) is None and n.int_labels([2**20 - 1], 20) == '"1048575"'
# label_column_of: label_column of the labels in JSON fragments; Interner.codes: the edge-label
# codes (0 for null, k + 1 for the k-th label met in the dump) and block 3 for the new ones
def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7f | 0x80)
        v >>= 7
    return bytes(out + bytes((v,)))
def frags(items):
    text = json.dumps(items, ensure_ascii=False, separators=(',', ':'))[1:-1]
    cut = text.find(',', len(text) // 2)
    return [text] if cut < 0 else [text[:cut], '', text[cut + 1:]]
kinds = ['.a', '.b', 'key \'x\'', 'tab\there "q" \\', '\x00\x1f\x7f', '\u00e9\u2603', '\U0001f600', '']
items = [rng.choice(kinds + [None]) for _ in range(3000)] + kinds
lens, data, k = n.label_column_of(frags(items))
assert (lens, data) == n.label_column(items) and k == len(items)
assert n.label_column_of([]) == (n.label_column([]) + (0,))
escaped = ['"\\u0041\\u00e9\\u2603\\/"']          # \u escapes and \/ as a JSON reader reads them
assert n.label_column_of(escaped)[1] == 'A\u00e9\u2603/'.encode()
for bad in (['"\ud800"'], ['"\\ud800"'], ['"a",'], ['nul'], ['"a"x'], ['"a'], ['1'], [1]):
    assert n.label_column_of(bad) is None, bad
table, codes = n.Interner(), {None: 0}
for chunk in (items[:1000], items[1000:], kinds[::-1], [None, None]):
    new = [t for t in dict.fromkeys(chunk) if t not in codes]
    base = len(codes) - 1
    for t in new:
        codes[t] = len(codes)
    block = (varint(base) + varint(len(new)) + b''.join(
        varint(len(t.encode())) + t.encode() for t in new)) if new else b''
    got = table.codes(frags(chunk))
    assert got == (n.column(10, [codes[t] for t in chunk], False), block, len(chunk)), chunk[:5]
assert table.texts() == [t for t in codes if t is not None]
# a refused line leaves the table as it was
before = table.texts()
assert table.codes(['"new1","new2"', '"\ud800"']) is None and table.texts() == before
assert table.codes(['"new1"'])[1] == varint(len(before)) + varint(1) + varint(4) + b'new1'
# line_bytes: the UTF-8 of the parts, each list's fragments joined by commas; None when a
# fragment has a lone surrogate
parts = ['{"a":[', ['1', '2', ''], '],"b":[', [], '],"c":[', ['"\u00e9"', '"\U0001f600"'], ']}\n']
want = ''.join(p if type(p) is str else ','.join(p) for p in parts).encode()
assert n.line_bytes(parts) == want
assert n.line_bytes([]) == b''
assert n.line_bytes(['x', ['"\ud800"']]) is None
for bad in ([1], [['x', 2]], [b'x']):
    try:
        n.line_bytes(bad)
    except TypeError:
        continue
    raise AssertionError('no error')
print('ok')
"#;
    for (label, python) in pythons() {
        if !supported(&label) {
            continue;
        }
        assert_prints_ok(&label, &python, code, &[dir.as_path()], "");
    }
}

/// The set of garbage ids the dumper makes (an empty frozenset when the collector found
/// nothing) is its own: never in the snapshot. From 3.10 on an empty frozenset is a new object
/// each time, not the interpreter's shared one; it was written as an object nothing refers
/// to (and, its address moving between dumps, made native and Python snapshots differ).
#[test]
fn the_dumpers_empty_garbage_set_is_not_in_the_snapshot() {
    let w = Workdir::new();
    let (dumper, native) = dumper_dir(&w);
    let code = "import json, sys
sys.path.insert(0, sys.argv[1])
import refgraph_dump
KEEP = [frozenset(), frozenset([1])]      # the program's own: written, and referred to
for mode in (False, True):
    chose = refgraph_dump._use_native(mode)
    refgraph_dump.dump(sys.argv[2], collect=True)
    objs, referred, names = {}, set(), []
    for line in open(sys.argv[2]):
        rec = json.loads(line)
        if rec['kind'] == 'types':
            names[rec['base']:] = [tuple(n) for n in rec['names']]
        elif rec['kind'] == 'objects':
            referred.update(rec['refs'])
            for i, oid in enumerate(rec['id']):
                objs[oid] = names[rec['type'][i]]
    lone = [o for o, t in objs.items() if t == ('builtins', 'frozenset') and o not in referred]
    assert not lone, (chose, lone)
    assert id(KEEP[0]) in objs and id(KEEP[1]) in objs, chose
print('ok')
";
    for (label, python) in pythons() {
        let snap = w.path("x.rgsnap");
        let context = format!(" (native module built: {native})");
        assert_prints_ok(&label, &python, code, &[dumper.as_path(), &snap], &context);
    }
}

/// What the dumper saves while it pauses the program's tracers (a tuple and a list per pause,
/// alive in its frames) is its own: never in the snapshot. They were written as objects
/// nothing refers to, and their addresses, moving from one dump to the next, made native and
/// Python snapshots differ. With and without a profiler of the program's, both dumpers.
#[test]
fn the_dumpers_saved_tracers_are_not_in_the_snapshot() {
    let w = Workdir::new();
    let (dumper, native) = dumper_dir(&w);
    let code = "import gc, json, sys
sys.path.insert(0, sys.argv[1])
import refgraph_dump
KEEP = [[], (1, [])]
def profiler(frame, event, arg):
    pass
for mode, profile in ((False, None), (True, None), (False, profiler), (True, profiler)):
    chose = refgraph_dump._use_native(mode)
    gc.collect()
    before = set(map(id, gc.get_objects()))
    sys.setprofile(profile)
    refgraph_dump.dump(sys.argv[2])
    sys.setprofile(None)
    objs, referred, names = {}, set(), []
    for line in open(sys.argv[2]):
        rec = json.loads(line)
        if rec['kind'] == 'types':
            names[rec['base']:] = [tuple(n) for n in rec['names']]
        elif rec['kind'] == 'objects':
            referred.update(rec['refs'])
            for i, oid in enumerate(rec['id']):
                objs[oid] = names[rec['type'][i]]
    lone = [(o, t) for o, t in objs.items()
            if o not in before and o not in referred and t != ('builtins', 'frame')]
    assert not lone, (chose, profile, lone)
    assert id(KEEP[0]) in objs and id(KEEP[1]) in objs, chose
print('ok')
";
    for (label, python) in pythons() {
        let snap = w.path("x.rgsnap");
        let context = format!(" (native module built: {native})");
        assert_prints_ok(&label, &python, code, &[dumper.as_path(), &snap], &context);
    }
}

/// A dump with `collect` runs one full collection to find the garbage and, only when that
/// found some, a second one after the dump to free it (a second walk of the whole heap that
/// found nothing cost 0.1-0.2 s at 1M objects); the garbage is still written and still freed,
/// the dump's own cyclic garbage is freed, and every object is old after it (as after a full
/// collection: the objgraph drop-in relies on it), with both dumpers; frozen objects (a
/// program's, or those 3.12 freezes at startup) stay frozen, and then both collections run.
#[test]
fn a_dump_collects_twice_only_when_there_was_garbage() {
    let w = Workdir::new();
    let (dumper, native) = dumper_dir(&w);
    let code = "import gc, json, sys, weakref
sys.path.insert(0, sys.argv[1])
import refgraph_dump
class Node:
    pass
def full_collections():
    return gc.get_stats()[2]['collections']
def young():
    return len(gc.get_objects(0)) + len(gc.get_objects(1))
FROZEN = [Node()]
for mode in (False, True):
    chose = refgraph_dump._use_native(mode)
    gc.collect()
    before = full_collections()
    refgraph_dump.dump(sys.argv[2], collect=True)
    # 1; 2 where objects are frozen (3.12 freezes some at startup): unfreeze would thaw them
    expected = 1 if gc.get_freeze_count() == 0 else 2
    assert full_collections() - before == expected, (chose, 'no garbage', full_collections() - before)
    assert young() < 20, (chose, 'young objects after the dump', young())
    real_get_objects = refgraph_dump._gc_get_objects
    def get_objects_leaving_junk():        # stands for cyclic garbage the dump itself makes
        n = Node()
        n.me = n
        DUMP_JUNK.append(weakref.ref(n))
        return real_get_objects()
    DUMP_JUNK = []
    refgraph_dump._gc_get_objects = get_objects_leaving_junk
    try:
        refgraph_dump.dump(sys.argv[2], collect=True)
    finally:
        refgraph_dump._gc_get_objects = real_get_objects
    assert DUMP_JUNK and not [r for r in DUMP_JUNK if r() is not None], (chose, 'dump junk')
    gc.freeze()
    frozen = gc.get_freeze_count()
    before = full_collections()
    refgraph_dump.dump(sys.argv[2], collect=True)
    assert gc.get_freeze_count() == frozen, (chose, 'a frozen object was thawed')
    gc.unfreeze()
    a, b = Node(), Node()
    a.peer, b.peer = b, a
    alive = weakref.ref(a)
    garbage_id = id(a)
    del a, b
    before = full_collections()
    refgraph_dump.dump(sys.argv[2], collect=True)
    assert full_collections() - before == 2, (chose, 'garbage', full_collections() - before)
    assert alive() is None, (chose, 'the garbage was not freed')
    flagged = set()
    for line in open(sys.argv[2]):
        rec = json.loads(line)
        if rec['kind'] == 'objects':
            flagged.update(o for o, f in zip(rec['id'], rec['flags']) if f & 1)
    assert garbage_id in flagged, (chose, 'the garbage was not written as garbage')
print('ok')
";
    for (label, python) in pythons() {
        let snap = w.path("x.rgsnap");
        let context = format!(" (native module built: {native})");
        assert_prints_ok(&label, &python, code, &[dumper.as_path(), &snap], &context);
    }
}

/// Instances of one class with different attribute sets (3.13+: inline values, named in bulk
/// per attribute count) get each its own attributes' names, in its order, then its class,
/// with both dumpers; other versions name them through their __dict__s.
#[test]
fn instances_with_different_attributes_are_each_named_by_their_own() {
    let w = Workdir::new();
    let (dumper, _) = dumper_dir(&w);
    let code = "import json, sys
sys.path.insert(0, sys.argv[1])
import refgraph_dump
class Rec:
    def __init__(self, i):
        self.a = 'a%d' % i
        self.d = 'd%d' % i
        if i % 3 == 0:     # a few with one or two more, in one order (3.13: still inline)
            self.b = [i]
            if i % 5 == 0:
                self.c = (i, 'c')
KEEP = [Rec(i) for i in range(300)]
for mode in (False, True):
    chose = refgraph_dump._use_native(mode)
    refgraph_dump.dump(sys.argv[2])
    names, found = [], {}
    for line in open(sys.argv[2]):
        rec = json.loads(line)
        if rec['kind'] == 'types':
            names[rec['base']:] = [tuple(n) for n in rec['names']]
        elif rec['kind'] == 'objects':
            r = e = 0
            for i, oid in enumerate(rec['id']):
                n = rec['nrefs'][i]
                refs = rec['refs'][r:r + n]
                if rec['flags'][i] & 4:
                    labels = ['[%d]' % j for j in range(n)]
                else:
                    labels, e = rec['edge_labels'][e:e + n], e + n
                r += n
                if names[rec['type'][i]][1] == 'Rec':
                    found[oid] = list(zip(refs, labels))
    for o in KEEP:
        got = found[id(o)]
        if got[0][1] == '.__dict__':       # before 3.13: through the instance's dict
            assert got == [(id(o.__dict__), '.__dict__'), (id(Rec), '.__class__')], (chose, got)
            continue
        want = [(id(v), '.' + k) for k, v in o.__dict__.items()] + [(id(Rec), '.__class__')]
        assert got == want, (chose, got, want)
print('ok')
";
    for (label, python) in pythons() {
        let snap = w.path("x.rgsnap");
        assert_prints_ok(&label, &python, code, &[dumper.as_path(), &snap], "");
    }
}

/// Loading the accelerator asks none of the program's import machinery: a sys.meta_path
/// finder and a path hook installed before the dumper is imported never hear of it, and it is
/// not left in sys.modules.
#[test]
fn loading_the_native_module_bypasses_the_programs_import_hooks() {
    if refgraph::capture::NATIVE_MODULE.is_none() {
        eprintln!("SKIPPED: this binary was built without a C compiler: no native module");
        return;
    }
    let w = Workdir::new();
    let (dir, _) = dumper_dir(&w);
    let code = "import sys
ASKED = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        ASKED.append(name)
        return None
    def find_module(self, name, path=None):
        ASKED.append(name)
        return None
sys.meta_path.insert(0, Spy())
sys.path_hooks.insert(0, lambda p: ASKED.append('hook ' + p) or (_ for _ in ()).throw(ImportError))
sys.path_importer_cache.clear()
sys.path.insert(0, sys.argv[1])
import refgraph_dump
r = refgraph_dump.dump(sys.argv[2])
bad = [a for a in ASKED if '_refgraph_native' in a]
print(r['dumper'], bad, '_refgraph_native' in sys.modules)
";
    for (label, python) in pythons() {
        if !supported(&label) {
            continue;
        }
        let done = Command::new(&python)
            .arg("-c")
            .arg(code)
            .arg(&dir)
            .arg(w.path("x.rgsnap"))
            .env_remove("REFGRAPH_NATIVE")
            .output()
            .expect("python");
        let stdout = String::from_utf8_lossy(&done.stdout);
        assert_eq!(
            stdout.trim(),
            "native [] False",
            "{label}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
}

/// A native dump makes no `__dict__`s (3.11-3.13: attributes are read where the interpreter
/// keeps them; before that every instance has its dict): a program with 10,000 instances
/// counts its dicts before and after `dump()`, and each instance's attributes are in the
/// snapshot by name, in `__dict__` order, for every case around the reader (different orders,
/// deleted attributes, >30 attributes, some `__dict__`s made by the program, subclasses, a
/// replaced `__dict__`). tests/scripts/native_no_dicts.py says what it checks.
#[test]
fn a_native_dump_makes_no_instance_dicts_and_names_their_attributes() {
    if refgraph::capture::NATIVE_MODULE.is_none() {
        eprintln!("SKIPPED: this binary was built without a C compiler: no native module");
        return;
    }
    let w = Workdir::new();
    let (dir, _) = dumper_dir(&w);
    for (label, python) in pythons() {
        if !supported(&label) {
            continue;
        }
        let done = Command::new(&python)
            .arg(script("native_no_dicts.py"))
            .arg(&dir)
            .arg(w.path("x.rgsnap"))
            .env_remove("REFGRAPH_NATIVE")
            .output()
            .expect("python");
        assert!(
            done.status.success() && done.stdout == b"ok\n",
            "{label}: {}{}",
            String::from_utf8_lossy(&done.stdout),
            String::from_utf8_lossy(&done.stderr)
        );
    }
}

/// The attribute reader reads one minor version's internals, so the dumper uses it only after
/// its self-test at import: a reader that gets any order, name or value wrong, refuses what it
/// should read, reads an instance whose `__dict__` exists, or fails, is not used (today's
/// `__dict__` path then names attributes). Here the real reader passes on 3.11-3.13 and
/// readers wrong in each of these ways are refused.
#[test]
fn the_attribute_reader_is_used_only_when_its_self_test_passes() {
    if refgraph::capture::NATIVE_MODULE.is_none() {
        eprintln!("SKIPPED: this binary was built without a C compiler: no native module");
        return;
    }
    let w = Workdir::new();
    let (dir, _) = dumper_dir(&w);
    let code = "import sys
sys.path.insert(0, sys.argv[1])
import refgraph_dump as d
real = d._native_module
assert (d._attrs_reader() is not None) == (sys.version_info[:2] >= (3, 11)), 'real reader'
class Fake:
    def __init__(self, f):
        self.instance_attrs = f
def wrong(change):
    def read(objs, minor):
        return change(*real.instance_attrs(objs, minor))
    read.__name__ = change.__name__
    return read
def order(c, n, v):
    return c, n[::-1], v[::-1]
def value(c, n, v):
    return c, n, v[1:] + v[:1]
def name(c, n, v):
    return c, n[:1] + ['zz'] + n[2:], v
def refuses(c, n, v):
    k = c[0]
    return [-1] + c[1:], n[k:], v[k:]
def reads_made(c, n, v):
    return c[:-2] + [0, 0], n, v
def fails(c, n, v):
    raise SystemError('no')
if sys.version_info[:2] >= (3, 11):
    for change in (order, value, name, refuses, reads_made, fails):
        d._native_module = Fake(wrong(change))
        assert d._attrs_reader() is None, change.__name__
    d._native_module = Fake(wrong(lambda c, n, v: (c, n, v)))
    assert d._attrs_reader() is not None, 'the real reader through the fake'
print('ok')
";
    for (label, python) in pythons() {
        if supported(&label) {
            assert_prints_ok(&label, &python, code, &[dir.as_path()], "");
        }
    }
}

/// The binary writer's objects blocks are the same bytes whether their columns are made by the
/// accelerator (`raw_*` fragments, `column_of`, `label_column`, `column`) or in Python: every objects line of a
/// real dump (labels with accents, emoji and a lone surrogate, negative refcount deltas of
/// immortal objects on 3.12+) is written again both ways and compared.
#[test]
fn binary_blocks_are_the_same_bytes_with_and_without_the_accelerator() {
    let w = Workdir::new();
    let Some(dumper) = native_dumper_dir(&w) else {
        return;
    };
    let code = "import os, sys
sys.path.insert(0, sys.argv[1])
import refgraph_dump as d
class Rec:
    def __init__(self, i):
        self.name = 'r\\u00e9c-%d-\\U0001f600' % i
        self.data = [i, 'x' * (i % 300), (i, -i, 2**40 + i)]
        if i % 7 == 0:
            self.extra = {'k%d' % i: i}
KEEP = [Rec(i) for i in range(20000)] + ['a\\ud800b', b'\\xff' * 3, 10**30, 2**63 + 5]
lines = []
real_objects = d._BinaryOutput.objects
def recording(self, line):
    lines.append(line)
    return real_objects(self, line)
d._BinaryOutput.objects = recording
assert d._use_native(True), 'the accelerator did not load'
d.dump(sys.argv[2], format='binary')
d._BinaryOutput.objects = real_objects
assert len(lines) >= 3, len(lines)
def blocks(native):
    d._native = d._native_module if native else None
    fd = os.open(os.devnull, os.O_WRONLY)
    out = d._BinaryOutput(fd, False)
    out.flush = lambda: None
    for line in lines:
        out.objects(line)
    os.close(fd)
    return b''.join(out.buffer)
# with the accelerator the ids, refcounts and references arrive as raw 8-byte fragments:
# the Python writer gets the same lines as text
raw = [f for line in lines for f in line.ids + line.refs + line.refcounts if type(f) is bytes]
assert raw, 'no raw fragment: the raw path was not taken'
def as_text(line):
    text = d._Line()
    for name in ('ids', 'types', 'sizes', 'refcounts', 'flags', 'labels', 'nrefs', 'refs',
                 'edge_labels', 'sites', 'objects', 'edges'):
        value = getattr(line, name)
        if type(value) is list:
            value = [f if type(f) is str else ','.join(
                str(int.from_bytes(f[i:i + 8], 'little', signed=name == 'refcounts'))
                for i in range(0, len(f), 8)) for f in value]
        setattr(text, name, value)
    return text
with_c = blocks(True)
lines = list(map(as_text, lines))
without = blocks(False)
assert with_c == without, (len(with_c), len(without),
    next(i for i, (a, b) in enumerate(zip(with_c, without)) if a != b))
print('ok')
";
    for (label, python) in pythons() {
        if !supported(&label) {
            continue;
        }
        let snap = w.path("x.rgsnap");
        assert_prints_ok(&label, &python, code, &[dumper.as_path(), &snap], "");
    }
}

/// A dump leaves nothing behind for the collector, with both dumpers, with and without its
/// collection (the objgraph drop-in dumps with collect=False, so no collection follows): no
/// cyclic garbage of its own (its plans held its bound methods), and no frame object of its
/// callers kept alive by its stack walk (sys._current_frames() made one for the walk's own
/// frame, whose variables held the whole stack: the callers' locals outlived them).
#[test]
fn a_dump_leaves_no_garbage_and_no_caller_frame_alive() {
    let w = Workdir::new();
    let (dumper, _) = dumper_dir(&w);
    let code = "import gc, sys, types
sys.path.insert(0, sys.argv[1])
import refgraph_dump
class Payload:
    pass
def caller(path, collect):
    payload = Payload()         # a local of a frame below the dump
    refgraph_dump.dump(path, collect=collect)
    return id(payload)
for native in (False, True):
    chose = refgraph_dump._use_native(native)
    for collect in (True, False):
        gc.collect()
        gc.disable()
        caller(sys.argv[2], collect)
        alive = [type(o).__name__ for o in gc.get_objects() if type(o) in (Payload, types.FrameType)]
        gc.set_debug(gc.DEBUG_SAVEALL)
        found = gc.collect()
        garbage = sorted(set(type(o).__name__ for o in gc.garbage))
        gc.set_debug(0)
        del gc.garbage[:]
        gc.enable()
        assert not alive, (chose, collect, alive)
        assert found == 0, (chose, collect, found, garbage)
print('ok')
";
    for (label, python) in pythons() {
        let snap = w.path("x.rgsnap");
        assert_prints_ok(&label, &python, code, &[dumper.as_path(), &snap], "");
    }
}
