"""Cut real snapshots into small valid seeds for the load_snapshot fuzz target.

    python3 fuzz/make_seeds.py OUT_DIR SNAPSHOT...

A real snapshot of even a tiny program is over 1 MB (the interpreter's own 12,000 objects); a
fuzzer mutates small inputs far better. Each seed keeps the header, a slice of consecutive
objects (with their references, edge labels and types, renumbered), the roots, threads and
marks among them, and a matching end line: the shapes of real records at a few kB.
"""
import json
import os
import sys

SLICE = 24          # objects per seed
SEEDS_PER_FILE = 6


def records(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def object_rows(recs):
    """Every object as a dict of its columns, with its references and edge labels."""
    rows = []
    for r in (r for r in recs if r["kind"] == "objects"):
        at = labels_at = 0
        for i in range(len(r["id"])):
            n = r["nrefs"][i]
            indexed = r["flags"][i] & 4
            rows.append({"id": r["id"][i], "type": r["type"][i], "size": r["size"][i],
                         "refcount": r["refcount"][i], "flags": r["flags"][i],
                         "label": r["label"][i], "refs": r["refs"][at:at + n],
                         "edge_labels": [] if indexed else r["edge_labels"][labels_at:labels_at + n]})
            at += n
            labels_at += 0 if indexed else n
    return rows


def seed(header, type_names, rows, recs):
    types = sorted({row["type"] for row in rows})
    new_index = {t: i for i, t in enumerate(types)}
    ids = {row["id"] for row in rows}
    objects = {"kind": "objects"}
    for column in ("id", "type", "size", "refcount", "flags", "label"):
        objects[column] = [new_index[row[column]] if column == "type" else row[column]
                           for row in rows]
    objects["nrefs"] = [len(row["refs"]) for row in rows]
    objects["refs"] = [ref for row in rows for ref in row["refs"]]
    objects["edge_labels"] = [label for row in rows for label in row["edge_labels"]]
    lines = [header, {"kind": "types", "base": 0, "names": [type_names[t] for t in types]},
             objects]
    lines += [r for r in recs if r["kind"] in ("root", "mark") and r["id"] in ids]
    lines += [dict(r, frames=[f for f in r["frames"] if f in ids])
              for r in recs if r["kind"] == "thread"]
    lines.append({"kind": "end", "objects": len(rows), "edges": len(objects["refs"])})
    return "".join(json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n"
                   for line in lines)


def main(out_dir, paths):
    os.makedirs(out_dir, exist_ok=True)
    for path in paths:
        recs = records(path)
        type_names = [n for r in recs if r["kind"] == "types" for n in r["names"]]
        rows = object_rows(recs)
        step = max(1, len(rows) // SEEDS_PER_FILE)
        stem = os.path.basename(path).split(".")[0]
        for k, start in enumerate(range(0, len(rows), step)):
            text = seed(recs[0], type_names, rows[start:start + SLICE], recs)
            with open(os.path.join(out_dir, "%s-%d.snap" % (stem, k)), "w", encoding="utf-8") as f:
                f.write(text)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
