// refgraph report: sortable tables, a type filter, pan and zoom on the cycle pictures, and
// opening the object a link points at. Plain DOM code, no libraries, no network.
(function () {
  "use strict";
  var root = document.documentElement;

  // Errors are kept in the DOM (data-js-errors) so a headless browser's --dump-dom shows them.
  function recordError(message) {
    var n = Number(root.getAttribute("data-js-errors") || "0") + 1;
    root.setAttribute("data-js-errors", String(n));
    root.setAttribute("data-js-error-log", (root.getAttribute("data-js-error-log") || "") + message + "\n");
  }
  window.addEventListener("error", function (e) { recordError(String(e.message)); });

  // ---- Sortable tables: a <th data-sort="num|text"> sorts its column on click or Enter.
  function cellKey(row, col, kind) {
    var cell = row.cells[col];
    var raw = cell ? (cell.getAttribute("data-v") || cell.textContent) : "";
    return kind === "num" ? Number(raw) : raw.trim().toLowerCase();
  }

  function sortTable(table, th) {
    var col = th.cellIndex;
    var kind = th.getAttribute("data-sort");
    var current = th.getAttribute("aria-sort");
    // Numbers start largest first, names A to Z; a second click reverses.
    var first = kind === "num" ? "descending" : "ascending";
    var dir = current === first ? (first === "ascending" ? "descending" : "ascending") : first;
    var sign = dir === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, col, kind), y = cellKey(b, col, kind);
      return x < y ? -sign : x > y ? sign : 0;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.cells, function (c) {
      if (c !== th) c.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", dir);
  }

  function initSortable(table) {
    Array.prototype.forEach.call(table.querySelectorAll("thead th[data-sort]"), function (th) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortTable(table, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, th); }
      });
    });
  }

  // ---- Filter: <input data-filter="TABLE-ID"> hides rows whose first cell lacks the text.
  function initFilter(input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    var counter = document.getElementById(input.getAttribute("data-counter"));
    if (!table) return;
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        var hit = r.cells[0].textContent.toLowerCase().indexOf(q) >= 0;
        r.hidden = !hit;
        if (hit) shown += 1;
      });
      if (counter) counter.textContent = q ? shown + " matching" : counter.getAttribute("data-all");
    });
  }

  // ---- Pan and zoom: the picture's viewBox moves (drag) and scales around the pointer (wheel).
  function viewBoxOf(svg) {
    var vb = svg.viewBox && svg.viewBox.baseVal;
    if (vb && vb.width > 0 && vb.height > 0) return { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
    var w = parseFloat(svg.getAttribute("width")), h = parseFloat(svg.getAttribute("height"));
    if (w > 0 && h > 0) return { x: 0, y: 0, w: w, h: h };
    var b = svg.getBBox();
    return { x: b.x, y: b.y, w: Math.max(b.width, 1), h: Math.max(b.height, 1) };
  }

  function setViewBox(svg, v) {
    svg.setAttribute("viewBox", [v.x, v.y, v.w, v.h].map(function (n) { return +n.toFixed(3); }).join(" "));
  }

  function toPicture(matrix, clientX, clientY) {
    var p = new DOMPoint(clientX, clientY).matrixTransform(matrix);
    return { x: p.x, y: p.y };
  }

  function initPanZoom(figure) {
    var box = figure.querySelector(".panzoom");
    var svg = box && box.querySelector("svg");
    if (!svg) return;
    var home = viewBoxOf(svg);
    var view = { x: home.x, y: home.y, w: home.w, h: home.h };
    // The box sets the size; the picture's own width and height would fight it.
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    setViewBox(svg, view);

    function zoom(k, at) {
      var w = Math.min(Math.max(view.w * k, home.w / 40), home.w * 8);
      k = w / view.w;
      view = { x: at.x - (at.x - view.x) * k, y: at.y - (at.y - view.y) * k, w: view.w * k, h: view.h * k };
      setViewBox(svg, view);
    }
    function centre() { return { x: view.x + view.w / 2, y: view.y + view.h / 2 }; }
    function reset() { view = { x: home.x, y: home.y, w: home.w, h: home.h }; setViewBox(svg, view); }

    box.addEventListener("wheel", function (e) {
      e.preventDefault();
      var lines = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
      var matrix = svg.getScreenCTM();
      if (!matrix) return;
      zoom(Math.exp(e.deltaY * lines * 0.0015), toPicture(matrix.inverse(), e.clientX, e.clientY));
    }, { passive: false });

    var drag = null;
    box.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) return;
      var matrix = svg.getScreenCTM();
      if (!matrix) return;
      // The matrix of the moment the drag began: the pointer's travel in picture units.
      drag = { inverse: matrix.inverse(), x: e.clientX, y: e.clientY, view: view };
      // Capture keeps the drag going outside the box; a pointer the browser does not know
      // (a synthetic event) cannot be captured, and the drag works without it.
      try { box.setPointerCapture(e.pointerId); } catch (err) { /* drag without capture */ }
      box.classList.add("dragging");
    });
    box.addEventListener("pointermove", function (e) {
      if (!drag) return;
      var a = toPicture(drag.inverse, drag.x, drag.y);
      var b = toPicture(drag.inverse, e.clientX, e.clientY);
      view = { x: drag.view.x - (b.x - a.x), y: drag.view.y - (b.y - a.y), w: drag.view.w, h: drag.view.h };
      setViewBox(svg, view);
    });
    function endDrag() { drag = null; box.classList.remove("dragging"); }
    box.addEventListener("pointerup", endDrag);
    box.addEventListener("pointercancel", endDrag);
    box.addEventListener("dblclick", reset);

    figure.addEventListener("click", function (e) {
      var action = e.target && e.target.getAttribute && e.target.getAttribute("data-zoom");
      if (action === "in") zoom(1 / 1.25, centre());
      else if (action === "out") zoom(1.25, centre());
      else if (action === "reset") reset();
    });
  }

  // ---- Links to #obj-…: open the <details> they point at.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el || el.tagName !== "DETAILS") return;
    el.open = true;
    el.scrollIntoView({ block: "start" });
    el.classList.add("flash");
    setTimeout(function () { el.classList.remove("flash"); }, 1200);
  }

  function initDetailsTools(bar) {
    bar.addEventListener("click", function (e) {
      var action = e.target && e.target.getAttribute && e.target.getAttribute("data-details");
      if (!action) return;
      Array.prototype.forEach.call(document.querySelectorAll("details.object"), function (d) {
        d.open = action === "open";
      });
    });
  }

  function each(selector, init) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), function (el) {
      try { init(el); } catch (err) { recordError(String(err && err.message || err)); }
    });
  }

  each("table.sortable", initSortable);
  each("input[data-filter]", initFilter);
  each(".figure", initPanZoom);
  each(".details-tools", initDetailsTools);
  window.addEventListener("hashchange", openTarget);
  openTarget();
  root.setAttribute("data-ready", "yes");
})();
