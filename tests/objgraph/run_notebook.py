"""Execute tests/objgraph/notebook.ipynb headlessly (nbclient) with no Graphviz on PATH and
check that its graph cells display inline SVG and the pan-and-zoom HTML. Exits 1 with the
reason otherwise. Usage: python run_notebook.py NOTEBOOK WORKDIR"""

import os
import shutil
import sys

import nbformat
from nbclient import NotebookClient


def main(path, workdir):
    assert shutil.which("dot") is None, "run with no `dot` on PATH"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": workdir}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    problems = []
    printed = "".join(o.get("text", "") for o in code[0].outputs)
    if "dot on PATH: None" not in printed:
        problems.append("the kernel found dot: %r" % printed)
    for number, cell in ((2, code[1]), (3, code[2])):
        data = {}
        for o in cell.outputs:
            if o.output_type == "error":
                problems.append("cell %d failed: %s" % (number, "\n".join(o.traceback)))
            data.update(o.get("data", {}))
        svg, html = data.get("image/svg+xml", ""), data.get("text/html", "")
        if "<svg" not in svg or "Session" not in svg:
            problems.append("cell %d: no inline SVG of the graph (outputs: %s)"
                            % (number, sorted(data)))
        if "<script>" not in html or "<svg" not in html:
            problems.append("cell %d: no pan-and-zoom HTML" % number)
    saved = os.path.join(workdir, "cache.svg")
    if not os.path.isfile(saved) or "<svg" not in open(saved).read():
        problems.append("g.save('cache.svg') wrote no SVG")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("notebook: inline SVG and HTML from the builtin renderer")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
