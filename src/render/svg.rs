//! The builtin renderer: a `refs`/`backrefs`/chain/cycle picture laid out in pure Rust with
//! `dagre` (a port of dagre.js: Sugiyama ranks, crossing reduction, edge-label slots) and
//! written as SVG in the DOT writer's look ([`super::style`]), so `-o x.svg` works on a
//! machine without Graphviz.
//!
//! Boxes are sized from the embedded font's advance widths ([`super::font`]), and every
//! coordinate is shifted by the bounding box of everything drawn (boxes, edge points, edge
//! labels, caption), so nothing is clipped. Heap text goes through [`xml_text`].

use super::font::{text_width, FONT_STACK};
use super::style::{
    edge_text, key, key_fill, more_fill, more_text, node_fill, node_lines, tooltip, visible, wrap,
    Fill, KeyEntry,
};
use crate::query::subgraph::{
    MoreView, SubgraphDirection, SubgraphEdgeView, SubgraphNodeView, SubgraphView,
};
use dagre::graph::{Graph, GraphOptions};
use dagre::{EdgeLabel, LayoutOptions, NodeLabel, RankDir};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Font sizes as Graphviz's defaults and the DOT writer's: boxes, edge labels, caption.
const NODE_FONT: f64 = 14.0;
const EDGE_FONT: f64 = 10.0;
const LEGEND_FONT: f64 = 12.0;
/// Graphviz box geometry: margins 0.11 × 0.055 in, at least 0.75 × 0.5 in (72 units/in).
const PAD_X: f64 = 8.0;
const PAD_Y: f64 = 4.0;
const MIN_W: f64 = 54.0;
const MIN_H: f64 = 36.0;
/// Space around the drawing.
const MARGIN: f64 = 8.0;
const ARROW_LEN: f64 = 10.0;
const ARROW_HALF: f64 = 3.5;

/// A point or a size, in SVG user units: points, as Graphviz's SVG (4/3 pixel each).
type Pt = (f64, f64);

/// One box to draw: an object or a "N more" node.
#[derive(Debug, Clone)]
struct BoxSpec {
    lines: Vec<String>,
    font: f64,
    fill: String,
    text_colour: &'static str,
    stroke: &'static str,
    stroke_width: f64,
    /// `stroke-dasharray`: dashed for unexpanded objects, dotted for "more" boxes.
    dash: Option<&'static str>,
    tooltip: String,
    size: Pt,
    /// Breadth-first depth (of the object a "more" box hangs from, plus one).
    rank: usize,
}

/// One arrow: referrer → referent, or to/from a "more" box (red, dotted, no label).
#[derive(Debug, Clone)]
struct EdgeSpec {
    from: usize,
    to: usize,
    label: Option<String>,
    more: bool,
    /// Graphviz's `weight`: heavy edges are kept short and straight.
    weight: i32,
}

/// What a picture holds before layout.
#[derive(Debug, Clone)]
struct Scene {
    boxes: Vec<BoxSpec>,
    edges: Vec<EdgeSpec>,
    legend: String,
    /// What the picture's marks mean.
    key: Vec<KeyEntry>,
}

/// Where an edge goes and where its label sits.
#[derive(Debug, Clone, Default)]
struct Route {
    points: Vec<Pt>,
    label_at: Option<Pt>,
}

/// Box centres and edge routes, as the layout placed them.
#[derive(Debug, Clone)]
struct Placement {
    centres: Vec<Pt>,
    routes: Vec<Route>,
    engine: Engine,
}

/// Which layout placed a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// dagre: Sugiyama ranks, crossing reduction, edge-label slots.
    Dagre,
    /// [`super::layered`]: plainer, near-linear, for large pictures.
    Layered,
}

/// A laid-out picture: box centres and edge routes in canvas coordinates.
#[derive(Debug, Clone)]
pub struct Layout {
    scene: Scene,
    centres: Vec<Pt>,
    routes: Vec<Route>,
    /// The caption's lines, wrapped to the drawing's width.
    caption: Vec<String>,
    /// The key's rows, wrapped likewise.
    key_rows: Vec<Vec<KeyEntry>>,
    /// Where the caption starts (below the drawing).
    caption_top: f64,
    /// The canvas size, caption included.
    pub width: f64,
    /// See `width`.
    pub height: f64,
    /// Which layout placed it.
    pub engine: Engine,
}

impl Layout {
    /// The boxes as `(x, y, width, height)`, top-left corner first.
    pub fn boxes(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        self.scene.boxes.iter().zip(&self.centres).map(|(b, c)| {
            let (w, h) = b.size;
            (c.0 - w / 2.0, c.1 - h / 2.0, w, h)
        })
    }
}

/// `view` as a standalone SVG document with `legend` as its caption.
pub fn write_svg(view: &SubgraphView, legend: &str) -> String {
    svg_document(&layout(view, legend))
}

/// Lay `view` out: objgraph's top-to-bottom ranks, or left-to-right when that is much more
/// compact. A large fan-out makes a top-to-bottom picture a strip 10–20 times wider than
/// tall, unreadable once scaled to a screen; boxes are wider than tall, so stacking each
/// rank vertically packs it tighter.
pub fn layout(view: &SubgraphView, legend: &str) -> Layout {
    layout_with(view, legend, None)
}

/// [`layout`] by the given engine whatever the picture's size (benchmarks and tests), or as
/// [`place`] chooses.
pub fn layout_with(view: &SubgraphView, legend: &str, engine: Option<Engine>) -> Layout {
    let scene = scene(view, legend);
    let place = |scene: &Scene, dir: RankDir| place(scene, dir, engine);
    // One layout, not two, when the answer is plain (a 300-object layout takes ~0.5 s).
    let (guess_w, guess_h) = guess_down(&scene);
    if guess_w > SCREEN_WIDTH && guess_w / guess_h > 2.0 * MAX_ASPECT {
        let across = place(&scene, RankDir::LR);
        return fit(scene, across);
    }
    let down = place(&scene, RankDir::TB);
    let (down_w, down_aspect) = extent(&scene, &down);
    if down_aspect <= MAX_ASPECT || down_w <= SCREEN_WIDTH {
        return fit(scene, down);
    }
    let across = place(&scene, RankDir::LR);
    if extent(&scene, &across).1 < down_aspect {
        fit(scene, across)
    } else {
        fit(scene, down)
    }
}

/// How much wider than tall a top-to-bottom picture may be before left-to-right is tried…
const MAX_ASPECT: f64 = 4.0;
/// … unless it fits a wide screen anyway (in units, 4/3 pixel each).
const SCREEN_WIDTH: f64 = 2400.0;

/// A quick guess at a top-to-bottom picture's size from the breadth-first depths: the
/// widest depth's boxes side by side, and per depth a row of boxes and a row of labels.
fn guess_down(scene: &Scene) -> Pt {
    let mut row_widths: HashMap<usize, f64> = HashMap::new();
    for b in &scene.boxes {
        *row_widths.entry(b.rank).or_default() += b.size.0 + NODESEP;
    }
    let tallest = scene.boxes.iter().map(|b| b.size.1).fold(MIN_H, f64::max);
    let row = tallest + RANKSEP + line_height(EDGE_FONT);
    let width = row_widths.values().copied().fold(0.0, f64::max);
    (width, row * row_widths.len().max(1) as f64)
}

/// A placement's width and how far from square it is (longer side over shorter side).
fn extent(scene: &Scene, p: &Placement) -> (f64, f64) {
    let (min, max) = bounds(scene, p);
    let (w, h) = ((max.0 - min.0).max(1.0), (max.1 - min.1).max(1.0));
    (w, (w / h).max(h / w))
}

/// The boxes and arrows of `view`, before layout: its objects, then one "more" box per
/// cut fan-out.
fn scene(view: &SubgraphView, legend: &str) -> Scene {
    let index: HashMap<&str, usize> = view
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut scene = Scene {
        boxes: view
            .nodes
            .iter()
            .map(|n| object_box(n, view.max_depth))
            .collect(),
        edges: view
            .edges
            .iter()
            .filter_map(|e| reference_edge(e, &index))
            .collect(),
        legend: visible(legend),
        key: key(view),
    };
    for more in &view.more {
        if let Some(&of) = index.get(more.of.as_str()) {
            add_more(&mut scene, view, more, of);
        }
    }
    scene
}

/// A drawn reference; objgraph's heavy weight on `.__dict__` keeps an instance and its dict
/// together.
fn reference_edge(e: &SubgraphEdgeView, index: &HashMap<&str, usize>) -> Option<EdgeSpec> {
    let label = e.label.as_deref();
    Some(EdgeSpec {
        from: *index.get(e.from.as_str())?,
        to: *index.get(e.to.as_str())?,
        label: label.map(edge_text),
        more: false,
        weight: if label == Some(".__dict__") { 10 } else { 1 },
    })
}

/// The "N more references" box of object `of` and its dotted arrow (into the object in
/// backrefs, as objgraph draws it).
fn add_more(scene: &mut Scene, view: &SubgraphView, more: &MoreView, of: usize) {
    let depth = view.nodes[of].depth + 1;
    let text = more_text(more, view.direction);
    scene.boxes.push(more_box(&text, depth, view.max_depth));
    let it = scene.boxes.len() - 1;
    let (from, to) = match view.direction {
        SubgraphDirection::Refs => (of, it),
        SubgraphDirection::Backrefs => (it, of),
    };
    scene.edges.push(EdgeSpec {
        from,
        to,
        label: None,
        more: true,
        weight: 10,
    });
}

fn object_box(n: &SubgraphNodeView, max_depth: usize) -> BoxSpec {
    let Fill { hex, dark } = node_fill(n, max_depth);
    let lines = node_lines(n);
    let text_colour = match (dark, n.start) {
        (true, _) => "white",
        (false, true) => "red",
        (false, false) => "black",
    };
    BoxSpec {
        size: box_size(&lines, NODE_FONT, MIN_H),
        lines,
        font: NODE_FONT,
        fill: hex,
        text_colour,
        stroke: "black",
        stroke_width: if n.start { 2.0 } else { 1.0 },
        dash: n.truncated.then_some("5,2"),
        tooltip: tooltip(n),
        rank: n.depth,
    }
}

fn more_box(text: &str, depth: usize, max_depth: usize) -> BoxSpec {
    let lines = vec![text.to_string()];
    BoxSpec {
        size: box_size(&lines, EDGE_FONT, 18.0),
        lines,
        font: EDGE_FONT,
        fill: more_fill(depth, max_depth),
        text_colour: "red",
        stroke: "red",
        stroke_width: 1.0,
        dash: Some("1,3"),
        tooltip: text.to_string(),
        rank: depth,
    }
}

/// Graphviz's box: the text plus margins, never smaller than its minimum size.
fn box_size(lines: &[String], font: f64, min_h: f64) -> Pt {
    let text_w = lines
        .iter()
        .map(|l| text_width(l, font as f32))
        .fold(0.0, f64::max);
    let w = (text_w + 2.0 * PAD_X).max(MIN_W).ceil();
    let h = (lines.len() as f64 * line_height(font) + 2.0 * PAD_Y)
        .max(min_h)
        .ceil();
    (w, h)
}

fn line_height(font: f64) -> f64 {
    (font * 1.2).round()
}

/// The size of an edge label's slot.
fn label_size(text: &str) -> Pt {
    (
        text_width(text, EDGE_FONT as f32).ceil() + 4.0,
        line_height(EDGE_FONT),
    )
}

// ---- layout ------------------------------------------------------------------------

/// dagre lays out pictures of at most this many boxes and edges; larger ones go to
/// [`super::layered`]. dagre is roughly quadratic (measured, release build: a 5,000-object
/// star took over 300 s) and recursive (a 30,000-object chain overflowed the stack); at
/// these sizes it takes about a second (docs/benchmarks.md, "Builtin layout").
pub const DAGRE_MAX_BOXES: usize = 400;
/// See [`DAGRE_MAX_BOXES`].
pub const DAGRE_MAX_EDGES: usize = 800;
/// dagre's thread stack: its recursion over a picture of [`DAGRE_MAX_BOXES`] boxes (and
/// their edge-label dummies) must never reach the end of it.
const DAGRE_STACK: usize = 64 << 20;

/// dagre's placement when the picture is small enough ([`DAGRE_MAX_BOXES`]) or `engine`
/// asks for it, else [`super::layered`]'s.
fn place(scene: &Scene, rankdir: RankDir, engine: Option<Engine>) -> Placement {
    let mut p = place_boxes(scene, rankdir, engine);
    settle_labels(scene, &mut p);
    p
}

fn place_boxes(scene: &Scene, rankdir: RankDir, engine: Option<Engine>) -> Placement {
    let small = scene.boxes.len() <= DAGRE_MAX_BOXES && scene.edges.len() <= DAGRE_MAX_EDGES;
    if engine.map_or(small, |e| e == Engine::Dagre) {
        // On its own thread with a large stack; should dagre panic, the plainer layout
        // draws the picture instead.
        let placed = std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("dagre".into())
                .stack_size(DAGRE_STACK)
                .spawn_scoped(s, || place_dagre(scene, rankdir))
                .ok()
                .and_then(|t| t.join().ok())
        });
        if let Some(p) = placed {
            return p;
        }
    }
    place_layered(scene, rankdir)
}

// ---- edge labels -------------------------------------------------------------------

/// Longest the label pass may take; labels not reached keep the layout's place (where
/// thousands of lines meet one box, each try is slow: a 3,000-object star took 12 s).
const LABEL_BUDGET: std::time::Duration = std::time::Duration::from_millis(500);
/// Gap between a label and the line it labels.
const LABEL_GAP: f64 = 3.0;
/// Spacing of the points a line is checked at, and of the places tried along it.
const LINE_STEP: f64 = 2.0;
const TRY_STEP: f64 = 6.0;
/// Most points along the lines the label pass may hold (16 bytes each).
const MAX_LINE_POINTS: f64 = 2_000_000.0;
/// Side of a cell of the grid that finds what is near a place.
const CELL: f64 = 32.0;

/// A rectangle `(x, y, width, height)`.
type Rect = (f64, f64, f64, f64);

/// What a label must keep clear of, bucketed in a grid: boxes, points along every line,
/// and the labels already placed.
#[derive(Default)]
struct Obstacles {
    rects: Vec<Rect>,
    cells: HashMap<(i64, i64), (Vec<usize>, Vec<Pt>)>,
}

impl Obstacles {
    fn cell(p: Pt) -> (i64, i64) {
        ((p.0 / CELL).floor() as i64, (p.1 / CELL).floor() as i64)
    }

    fn cells_of((x, y, w, h): Rect) -> impl Iterator<Item = (i64, i64)> {
        let (a, b) = (Self::cell((x, y)), Self::cell((x + w, y + h)));
        (a.0..=b.0).flat_map(move |i| (a.1..=b.1).map(move |j| (i, j)))
    }

    fn add_rect(&mut self, r: Rect) {
        let k = self.rects.len();
        self.rects.push(r);
        for c in Self::cells_of(r) {
            self.cells.entry(c).or_default().0.push(k);
        }
    }

    fn add_line(&mut self, points: &[Pt]) {
        for p in line_samples(points, LINE_STEP) {
            self.cells.entry(Self::cell(p)).or_default().1.push(p);
        }
    }

    /// Nothing in the way of `r`, nor within a line step of it (lines are known by points
    /// [`LINE_STEP`] apart, so one may cut a corner between two of them).
    fn clear(&self, (x, y, w, h): Rect) -> bool {
        let m = LINE_STEP;
        let r = (x - m, y - m, w + 2.0 * m, h + 2.0 * m);
        Self::cells_of(r).all(|c| {
            self.cells.get(&c).is_none_or(|(rects, points)| {
                rects.iter().all(|&k| !rects_overlap(r, self.rects[k]))
                    && points.iter().all(|&p| !inside(r, p))
            })
        })
    }
}

fn rects_overlap(a: Rect, b: Rect) -> bool {
    a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
}

fn inside((x, y, w, h): Rect, p: Pt) -> bool {
    p.0 > x && p.0 < x + w && p.1 > y && p.1 < y + h
}

/// Points every `step` along a polyline, its corners included.
fn line_samples(points: &[Pt], step: f64) -> Vec<Pt> {
    let mut out: Vec<Pt> = points.first().copied().into_iter().collect();
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let n = ((b.0 - a.0).hypot(b.1 - a.1) / step).ceil().max(1.0) as usize;
        out.extend((1..=n).map(|k| {
            let t = k as f64 / n as f64;
            (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        }));
    }
    out
}

/// Put each edge label by its own edge, clear of every box, every line and the labels
/// placed before it: where the layout put it if that is clear, else the first clear place
/// beside its line (right, left, above, below), trying from the middle of the line
/// outwards. A label with no clear place keeps the layout's. Labels are placed in edge
/// order, within [`LABEL_BUDGET`].
fn settle_labels(scene: &Scene, p: &mut Placement) {
    let mut obstacles = Obstacles::default();
    for (b, &c) in scene.boxes.iter().zip(&p.centres) {
        obstacles.add_rect((
            c.0 - b.size.0 / 2.0,
            c.1 - b.size.1 / 2.0,
            b.size.0,
            b.size.1,
        ));
    }
    let curves: Vec<Vec<Pt>> = p.routes.iter().map(|r| drawn_curve(&r.points)).collect();
    let length: f64 = curves
        .iter()
        .flat_map(|c| c.windows(2))
        .map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1))
        .sum();
    if length / LINE_STEP > MAX_LINE_POINTS {
        // A picture this large (a 3,000-object star drawn left to right has lines 80,000
        // units long): its labels keep the layout's places, beside their edges.
        return;
    }
    for c in &curves {
        obstacles.add_line(c);
    }
    let start = std::time::Instant::now();
    for ((e, r), curve) in scene.edges.iter().zip(p.routes.iter_mut()).zip(&curves) {
        if start.elapsed() >= LABEL_BUDGET {
            break;
        }
        let (Some(text), Some(at)) = (e.label.as_deref(), r.label_at) else {
            continue;
        };
        let (w, h) = label_size(text);
        let rect_at = |c: Pt| (c.0 - w / 2.0, c.1 - h / 2.0, w, h);
        let near_own = |c: Pt| {
            line_samples(curve, 1.0)
                .iter()
                .any(|&q| gap_to(rect_at(c), q) <= 2.0 * LABEL_GAP)
        };
        let mut chosen = at;
        if !(obstacles.clear(rect_at(at)) && near_own(at)) {
            let in_time = |_: &Pt| start.elapsed() < LABEL_BUDGET;
            let mut tries = beside_line(curve, (w, h)).take_while(in_time);
            if let Some(c) = tries.find(|&c| obstacles.clear(rect_at(c))) {
                chosen = c;
            }
        }
        r.label_at = Some(chosen);
        obstacles.add_rect(rect_at(chosen));
    }
}

/// The line [`edge_geometry`] draws through `points`, as a polyline: the B-spline's
/// Bézier pieces at eight points each (the arrowhead's last few units left as a straight
/// end, as drawn).
fn drawn_curve(points: &[Pt]) -> Vec<Pt> {
    let Some((line, tip)) = shaft(points) else {
        return points.to_vec();
    };
    let mut out: Vec<Pt> = line.first().copied().into_iter().collect();
    if line.len() < 3 {
        out.extend(line.iter().skip(1));
        out.push(tip);
        return out;
    }
    let (a, b) = (line[0], line[1]);
    let mut at = ((5.0 * a.0 + b.0) / 6.0, (5.0 * a.1 + b.1) / 6.0);
    out.push(at);
    let n = line.len();
    let mut triples: Vec<(Pt, Pt, Pt)> = line.windows(3).map(|w| (w[0], w[1], w[2])).collect();
    triples.push((line[n - 2], line[n - 1], line[n - 1]));
    for (p0, p1, p) in triples {
        let c1 = ((2.0 * p0.0 + p1.0) / 3.0, (2.0 * p0.1 + p1.1) / 3.0);
        let c2 = ((p0.0 + 2.0 * p1.0) / 3.0, (p0.1 + 2.0 * p1.1) / 3.0);
        let end = (
            (p0.0 + 4.0 * p1.0 + p.0) / 6.0,
            (p0.1 + 4.0 * p1.1 + p.1) / 6.0,
        );
        for k in 1..=8 {
            let t = f64::from(k) / 8.0;
            let u = 1.0 - t;
            let bez = |a: f64, b: f64, c: f64, d: f64| {
                u * u * u * a + 3.0 * u * u * t * b + 3.0 * u * t * t * c + t * t * t * d
            };
            out.push((bez(at.0, c1.0, c2.0, end.0), bez(at.1, c1.1, c2.1, end.1)));
        }
        at = end;
    }
    out.push(line[n - 1]);
    out.push(tip);
    out
}

/// The points the curve of an edge goes through (ending at the arrowhead's base) and the
/// arrow's tip; `None` for fewer than two distinct points.
fn shaft(points: &[Pt]) -> Option<(Vec<Pt>, Pt)> {
    let (&tip, rest) = points.split_last()?;
    let &before = rest.last()?;
    let (dx, dy) = (tip.0 - before.0, tip.1 - before.1);
    let len = dx.hypot(dy);
    if len < f64::EPSILON {
        return None;
    }
    let base = (tip.0 - dx / len * ARROW_LEN, tip.1 - dy / len * ARROW_LEN);
    let mut line = rest.to_vec();
    line.push(base);
    Some((line, tip))
}

/// How far `p` is from rectangle `r` (0 inside).
fn gap_to((x, y, w, h): Rect, p: Pt) -> f64 {
    let dx = (x - p.0).max(p.0 - (x + w)).max(0.0);
    let dy = (y - p.1).max(p.1 - (y + h)).max(0.0);
    dx.hypot(dy)
}

/// Label centres beside a line: at points every [`TRY_STEP`] from its middle outwards, to
/// the right, left, above, below and at the four corners, [`LABEL_GAP`] away, then two and
/// three times that (the corners no farther than twice).
fn beside_line(points: &[Pt], (w, h): Pt) -> impl Iterator<Item = Pt> {
    let samples = line_samples(points, TRY_STEP);
    let mid = samples.len() / 2;
    let order = (0..samples.len()).map(move |k| {
        // mid, mid+1, mid-1, mid+2, …
        let off = k.div_ceil(2);
        if k % 2 == 1 {
            mid + off
        } else {
            mid.wrapping_sub(off)
        }
    });
    let picked: Vec<Pt> = order.filter_map(|i| samples.get(i).copied()).collect();
    picked.into_iter().flat_map(move |q| {
        [LABEL_GAP, 2.0 * LABEL_GAP, 3.0 * LABEL_GAP]
            .into_iter()
            .flat_map(move |g| {
                let (dx, dy) = (g + w / 2.0, g + h / 2.0);
                // Corners only as near as the sides at twice the gap.
                let (cx, cy) = (
                    dx.min(2.0 * LABEL_GAP + w / 2.0),
                    dy.min(2.0 * LABEL_GAP + h / 2.0),
                );
                [
                    (q.0 + dx, q.1),
                    (q.0 - dx, q.1),
                    (q.0, q.1 - dy),
                    (q.0, q.1 + dy),
                    (q.0 + cx, q.1 - cy),
                    (q.0 - cx, q.1 - cy),
                    (q.0 + cx, q.1 + cy),
                    (q.0 - cx, q.1 + cy),
                ]
            })
    })
}

/// [`super::layered`]'s placement of `scene`.
fn place_layered(scene: &Scene, rankdir: RankDir) -> Placement {
    let sizes: Vec<Pt> = scene.boxes.iter().map(|b| b.size).collect();
    let ranks: Vec<usize> = scene.boxes.iter().map(|b| b.rank).collect();
    let edges: Vec<(usize, usize)> = scene.edges.iter().map(|e| (e.from, e.to)).collect();
    let labels: Vec<Option<Pt>> = scene
        .edges
        .iter()
        .map(|e| e.label.as_deref().map(label_size))
        .collect();
    let out = super::layered::place(&super::layered::Input {
        sizes: &sizes,
        ranks: &ranks,
        edges: &edges,
        labels: &labels,
        across: rankdir == RankDir::LR,
        nodesep: NODESEP,
        ranksep: RANKSEP,
    });
    let routes = out
        .points
        .into_iter()
        .zip(out.label_at)
        .map(|(points, label_at)| Route { points, label_at })
        .collect();
    Placement {
        centres: out.centres,
        routes,
        engine: Engine::Layered,
    }
}

fn place_dagre(scene: &Scene, rankdir: RankDir) -> Placement {
    let mut g: Graph<NodeLabel, EdgeLabel> = Graph::with_options(GraphOptions {
        directed: true,
        multigraph: true,
        compound: false,
    });
    for (i, b) in scene.boxes.iter().enumerate() {
        let label = NodeLabel {
            width: b.size.0,
            height: b.size.1,
            ..NodeLabel::default()
        };
        g.set_node(node_key(i), Some(label));
    }
    for (i, e) in scene.edges.iter().enumerate() {
        let key = i.to_string();
        g.set_edge(
            node_key(e.from),
            node_key(e.to),
            Some(edge_label(e)),
            Some(&key),
        );
    }
    dagre::layout(&mut g, Some(layout_options(rankdir)));
    Placement {
        centres: centres(&g, scene),
        routes: routes(&g, scene),
        engine: Engine::Dagre,
    }
}

fn node_key(i: usize) -> String {
    format!("n{i}")
}

fn edge_label(e: &EdgeSpec) -> EdgeLabel {
    let (width, height) = e.label.as_deref().map_or((0.0, 0.0), label_size);
    EdgeLabel {
        width,
        height,
        weight: e.weight,
        label_offset: 4.0,
        ..EdgeLabel::default()
    }
}

fn layout_options(rankdir: RankDir) -> LayoutOptions {
    LayoutOptions {
        rankdir,
        nodesep: NODESEP,
        edgesep: 10.0,
        ranksep: RANKSEP,
        // Of equally good orderings keep the first, the edges' order: a list's items then
        // stand [0], [1], [2] from left to right, as `dot` draws them.
        tie_keep_first: true,
        ..LayoutOptions::default()
    }
}

/// Graphviz's spacing: `nodesep` 0.25 in, `ranksep` 0.5 in (dagre halves it, for the rank
/// of edge labels between two ranks of boxes, so a little more).
const NODESEP: f64 = 18.0;
const RANKSEP: f64 = 60.0;

fn centres(g: &Graph<NodeLabel, EdgeLabel>, scene: &Scene) -> Vec<Pt> {
    (0..scene.boxes.len())
        .map(|i| {
            g.node(&node_key(i))
                .map_or((0.0, 0.0), |n| (n.x.unwrap_or(0.0), n.y.unwrap_or(0.0)))
        })
        .collect()
}

fn routes(g: &Graph<NodeLabel, EdgeLabel>, scene: &Scene) -> Vec<Route> {
    scene
        .edges
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let key = i.to_string();
            let Some(l) = g.edge(&node_key(e.from), &node_key(e.to), Some(&key)) else {
                return Route::default();
            };
            let points: Vec<Pt> = l.points.iter().map(|p| (p.x, p.y)).collect();
            let label_at = match (l.x, l.y) {
                (Some(x), Some(y)) => Some((x, y)),
                _ => points.get(points.len() / 2).copied(),
            };
            Route {
                points,
                label_at: label_at.filter(|_| e.label.is_some()),
            }
        })
        .collect()
}

/// Captions and keys wrap to the drawing's width, but never narrower than this.
const MIN_CAPTION_WIDTH: f64 = 300.0;
/// The key's text size, its sample boxes' size, and the gaps after a sample and an entry.
const KEY_FONT: f64 = 10.0;
const SWATCH: Pt = (18.0, 10.0);
const SWATCH_GAP: f64 = 4.0;
const ENTRY_GAP: f64 = 14.0;

/// Shift everything so the bounding box of all that is drawn starts at the margin, and size
/// the canvas to hold it and, below, the caption and key wrapped to its width: the
/// drawing, not a long caption, sets the picture's width (and so its scale on a page).
fn fit(scene: Scene, placement: Placement) -> Layout {
    let (min, max) = bounds(&scene, &placement);
    let drawing_w = max.0 - min.0;
    let inner = drawing_w.max(MIN_CAPTION_WIDTH);
    let caption = wrap(&scene.legend, |l| {
        text_width(l, LEGEND_FONT as f32) <= inner
    });
    let key_rows = key_rows(&scene.key, inner);
    let widest = caption
        .iter()
        .map(|l| text_width(l, LEGEND_FONT as f32))
        .fold(inner, f64::max);
    let width = widest + 2.0 * MARGIN;
    let caption_top = max.1 - min.1 + 2.0 * MARGIN;
    let height = caption_top
        + caption.len() as f64 * line_height(LEGEND_FONT)
        + key_rows.len() as f64 * line_height(KEY_FONT + 4.0)
        + MARGIN;
    let dx = MARGIN - min.0 + (width - 2.0 * MARGIN - drawing_w) / 2.0;
    let dy = MARGIN - min.1;
    let Placement {
        mut centres,
        mut routes,
        engine,
    } = placement;
    let shift = |p: &mut Pt| {
        p.0 += dx;
        p.1 += dy;
    };
    centres.iter_mut().for_each(shift);
    for r in &mut routes {
        r.points.iter_mut().for_each(shift);
        r.label_at.iter_mut().for_each(shift);
    }
    Layout {
        scene,
        centres,
        routes,
        caption,
        key_rows,
        caption_top,
        width: width.ceil(),
        height: height.ceil(),
        engine,
    }
}

/// The width of one key entry: sample, gap, text.
fn key_entry_width(e: KeyEntry) -> f64 {
    SWATCH.0 + SWATCH_GAP + text_width(e.text(), KEY_FONT as f32)
}

/// The key's entries in rows no wider than `width`.
fn key_rows(key: &[KeyEntry], width: f64) -> Vec<Vec<KeyEntry>> {
    let mut rows: Vec<Vec<KeyEntry>> = Vec::new();
    let mut used = 0.0;
    for &e in key {
        let w = key_entry_width(e);
        match rows.last_mut() {
            Some(row) if used + ENTRY_GAP + w <= width => {
                row.push(e);
                used += ENTRY_GAP + w;
            }
            _ => {
                rows.push(vec![e]);
                used = w;
            }
        }
    }
    rows
}

/// The smallest and largest coordinates of boxes, edge points and edge labels.
fn bounds(scene: &Scene, p: &Placement) -> (Pt, Pt) {
    let mut min = (f64::INFINITY, f64::INFINITY);
    let mut max = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let mut add = |c: Pt, (w, h): Pt| {
        min = (min.0.min(c.0 - w / 2.0), min.1.min(c.1 - h / 2.0));
        max = (max.0.max(c.0 + w / 2.0), max.1.max(c.1 + h / 2.0));
    };
    for (b, &c) in scene.boxes.iter().zip(&p.centres) {
        add(c, b.size);
    }
    for (e, r) in scene.edges.iter().zip(&p.routes) {
        r.points.iter().for_each(|&p| add(p, (0.0, 0.0)));
        if let (Some(at), Some(text)) = (r.label_at, e.label.as_deref()) {
            add(at, label_size(text));
        }
    }
    if !min.0.is_finite() {
        return ((0.0, 0.0), (0.0, 0.0));
    }
    (min, max)
}

// ---- SVG ---------------------------------------------------------------------------

/// The SVG text of a laid-out picture.
pub fn svg_document(l: &Layout) -> String {
    let mut out = String::new();
    let (w, h) = (l.width, l.height);
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}pt" height="{h}pt" viewBox="0 0 {w} {h}" font-family="{FONT_STACK}">"#
    );
    let _ = writeln!(out, "<title>{}</title>", xml_text(&l.scene.legend));
    let _ = writeln!(out, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    for (e, r) in l.scene.edges.iter().zip(&l.routes) {
        write_edge(&mut out, e, r);
    }
    for (b, &c) in l.scene.boxes.iter().zip(&l.centres) {
        write_box(&mut out, b, c);
    }
    for (e, r) in l.scene.edges.iter().zip(&l.routes) {
        write_edge_label(&mut out, e, r);
    }
    write_legend(&mut out, l);
    out.push_str("</svg>\n");
    out
}

fn write_box(out: &mut String, b: &BoxSpec, (cx, cy): Pt) {
    let (w, h) = b.size;
    let dash = b
        .dash
        .map(|d| format!(r#" stroke-dasharray="{d}""#))
        .unwrap_or_default();
    let _ = writeln!(out, "<g><title>{}</title>", xml_text(&b.tooltip));
    let _ = writeln!(
        out,
        r#"<rect x="{:.1}" y="{:.1}" width="{w}" height="{h}" fill="{}" stroke="{}" stroke-width="{}"{dash}/>"#,
        cx - w / 2.0,
        cy - h / 2.0,
        b.fill,
        b.stroke,
        b.stroke_width
    );
    let lh = line_height(b.font);
    let top = cy - lh * b.lines.len() as f64 / 2.0;
    for (i, line) in b.lines.iter().enumerate() {
        let baseline = top + lh * i as f64 + lh * 0.75;
        let _ = writeln!(
            out,
            r#"<text x="{cx:.1}" y="{baseline:.1}" text-anchor="middle" font-size="{}" fill="{}">{}</text>"#,
            b.font,
            b.text_colour,
            xml_text(line)
        );
    }
    out.push_str("</g>\n");
}

fn write_edge(out: &mut String, e: &EdgeSpec, r: &Route) {
    let Some((path, arrow)) = edge_geometry(&r.points) else {
        return;
    };
    let (colour, dash) = if e.more {
        ("red", r#" stroke-dasharray="1,3""#)
    } else {
        ("black", "")
    };
    let _ = writeln!(
        out,
        r#"<g class="edge"><path d="{path}" fill="none" stroke="{colour}"{dash}/><polygon points="{arrow}" fill="{colour}" stroke="{colour}"/></g>"#
    );
}

fn write_edge_label(out: &mut String, e: &EdgeSpec, r: &Route) {
    let (Some(text), Some((x, y))) = (e.label.as_deref(), r.label_at) else {
        return;
    };
    let baseline = y + EDGE_FONT * 0.35;
    let _ = writeln!(
        out,
        r#"<text x="{x:.1}" y="{baseline:.1}" text-anchor="middle" font-size="{EDGE_FONT}">{}</text>"#,
        xml_text(text)
    );
}

/// The caption's lines, centred below the drawing, then the key's rows: a sample box of
/// each mark and what it means.
fn write_legend(out: &mut String, l: &Layout) {
    let lh = line_height(LEGEND_FONT);
    let mut y = l.caption_top;
    for line in &l.caption {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="{LEGEND_FONT}">{}</text>"#,
            l.width / 2.0,
            y + lh * 0.75,
            xml_text(line)
        );
        y += lh;
    }
    let row_h = line_height(KEY_FONT + 4.0);
    for row in &l.key_rows {
        let row_w: f64 = row.iter().map(|&e| key_entry_width(e)).sum::<f64>()
            + ENTRY_GAP * (row.len().saturating_sub(1)) as f64;
        let mut x = (l.width - row_w) / 2.0;
        let mid = y + row_h / 2.0;
        out.push_str("<g class=\"key\">");
        for &e in row {
            write_swatch(out, e, (x, mid - SWATCH.1 / 2.0));
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="{KEY_FONT}">{}</text>"#,
                x + SWATCH.0 + SWATCH_GAP,
                mid + KEY_FONT * 0.35,
                xml_text(e.text())
            );
            x += key_entry_width(e) + ENTRY_GAP;
        }
        out.push_str("</g>\n");
        y += row_h;
    }
}

/// A small box marked as the picture marks the objects `e` stands for.
fn write_swatch(out: &mut String, e: KeyEntry, (x, y): Pt) {
    let (stroke, width, dash) = match e {
        KeyEntry::Start => ("red", 2.0, ""),
        KeyEntry::NotExpanded => ("black", 1.0, r#" stroke-dasharray="5,2""#),
        KeyEntry::More => ("red", 1.0, r#" stroke-dasharray="1,3""#),
        _ => ("black", 1.0, ""),
    };
    let _ = write!(
        out,
        r#"<rect x="{x:.1}" y="{y:.1}" width="{}" height="{}" fill="{}" stroke="{stroke}" stroke-width="{width}"{dash}/>"#,
        SWATCH.0,
        SWATCH.1,
        key_fill(e)
    );
}

/// The path of an edge (a B-spline through dagre's points, as dagre-d3 draws it) ending at
/// the base of its arrowhead, and the arrowhead's triangle ending on the target's border.
fn edge_geometry(points: &[Pt]) -> Option<(String, String)> {
    let (line, tip) = shaft(points)?;
    let base = *line.last()?;
    // The unit vector along the arrow, from its base to its tip (ARROW_LEN apart).
    let (ux, uy) = ((tip.0 - base.0) / ARROW_LEN, (tip.1 - base.1) / ARROW_LEN);
    let arrow = format!(
        "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
        tip.0,
        tip.1,
        base.0 - uy * ARROW_HALF,
        base.1 + ux * ARROW_HALF,
        base.0 + uy * ARROW_HALF,
        base.1 - ux * ARROW_HALF
    );
    Some((basis_path(&line), arrow))
}

/// d3's `curveBasis`: a uniform cubic B-spline that starts and ends at the end points.
fn basis_path(p: &[Pt]) -> String {
    let mut d = String::new();
    let Some(&first) = p.first() else {
        return d;
    };
    let _ = write!(d, "M{:.1},{:.1}", first.0, first.1);
    if p.len() == 2 {
        let _ = write!(d, " L{:.1},{:.1}", p[1].0, p[1].1);
        return d;
    }
    if p.len() > 2 {
        let (a, b) = (p[0], p[1]);
        let _ = write!(
            d,
            " L{:.1},{:.1}",
            (5.0 * a.0 + b.0) / 6.0,
            (5.0 * a.1 + b.1) / 6.0
        );
    }
    for w in p.windows(3) {
        basis_segment(&mut d, w[0], w[1], w[2]);
    }
    if p.len() > 2 {
        let n = p.len();
        basis_segment(&mut d, p[n - 2], p[n - 1], p[n - 1]);
        let _ = write!(d, " L{:.1},{:.1}", p[n - 1].0, p[n - 1].1);
    }
    d
}

fn basis_segment(d: &mut String, p0: Pt, p1: Pt, p: Pt) {
    let _ = write!(
        d,
        " C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
        (2.0 * p0.0 + p1.0) / 3.0,
        (2.0 * p0.1 + p1.1) / 3.0,
        (p0.0 + 2.0 * p1.0) / 3.0,
        (p0.1 + 2.0 * p1.1) / 3.0,
        (p0.0 + 4.0 * p1.0 + p.0) / 6.0,
        (p0.1 + 4.0 * p1.1 + p.1) / 6.0
    );
}

/// Heap text as XML character data or attribute value: made visible (no control
/// characters, which XML forbids even as references), then `&`, `<`, `>` and both quotes
/// escaped. A `<script>` in a label stays text.
pub fn xml_text(s: &str) -> String {
    let shown = visible(s);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::subgraph::tests::{heap, hostile_text_heap, obj, seed};
    use crate::query::subgraph::{subgraph, SubgraphOptions};
    use crate::render::style::legend;
    use crate::snapshot::{ObjectId, Snapshot};
    use resvg::usvg::roxmltree;

    fn view_of(
        snap: &Snapshot,
        start: u64,
        dir: SubgraphDirection,
        opts: &SubgraphOptions,
    ) -> SubgraphView {
        let n = snap.node_by_id(ObjectId(start)).expect("start in heap");
        subgraph(snap, &[n], dir, opts).view()
    }

    /// A fan-out cut by `too_many`, a self-reference, two references to one object and
    /// a cycle back to the start.
    fn busy_heap() -> Snapshot {
        let mut refs: Vec<(u64, Option<&str>)> = (0..6).map(|i| (10 + i, Some("[i]"))).collect();
        refs.extend([(1, Some("[self]")), (10, Some("[again]"))]);
        let mut objects = vec![obj(1, "list", Some("8 items"), &refs)];
        objects.extend((0..6).map(|i| obj(10 + i, "app.Thing", None, &[(1, Some(".owner"))])));
        heap(&objects, &[])
    }

    fn overlaps(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
        a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
    }

    fn assert_tidy(l: &Layout) {
        let boxes: Vec<_> = l.boxes().collect();
        for (i, &a) in boxes.iter().enumerate() {
            assert!(
                a.0 >= 0.0 && a.1 >= 0.0,
                "box {i} {a:?} starts off the canvas"
            );
            assert!(
                a.0 + a.2 <= l.width && a.1 + a.3 <= l.height,
                "box {i} {a:?} ends off the {}×{} canvas",
                l.width,
                l.height
            );
            for (j, &b) in boxes.iter().enumerate().skip(i + 1) {
                assert!(!overlaps(a, b), "boxes {i} {a:?} and {j} {b:?} overlap");
            }
        }
        for r in &l.routes {
            for &(x, y) in &r.points {
                assert!(
                    (0.0..=l.width).contains(&x) && (0.0..=l.height).contains(&y),
                    "edge point ({x}, {y}) off the canvas"
                );
            }
        }
    }

    #[test]
    fn boxes_never_overlap_and_everything_is_on_the_canvas() {
        let opts = SubgraphOptions {
            too_many: 4,
            ..SubgraphOptions::default()
        };
        let busy = busy_heap();
        let seed = seed();
        let views = [
            view_of(
                &seed,
                10,
                SubgraphDirection::Refs,
                &SubgraphOptions::default(),
            ),
            view_of(
                &seed,
                10,
                SubgraphDirection::Backrefs,
                &SubgraphOptions::default(),
            ),
            view_of(&busy, 1, SubgraphDirection::Refs, &opts),
            view_of(&busy, 1, SubgraphDirection::Backrefs, &opts),
        ];
        for v in &views {
            let l = layout(v, &legend(v));
            assert_eq!(l.boxes().count(), v.nodes.len() + v.more.len());
            assert_tidy(&l);
        }
    }

    /// A rectangle `(x, y, width, height)`.
    type Rect = (f64, f64, f64, f64);

    fn label_rect(text: &str, (x, y): Pt) -> Rect {
        let (w, h) = label_size(text);
        (x - w / 2.0, y - h / 2.0, w, h)
    }

    fn shrink((x, y, w, h): Rect, by: f64) -> Rect {
        (
            x + by,
            y + by,
            (w - 2.0 * by).max(0.0),
            (h - 2.0 * by).max(0.0),
        )
    }

    fn contains((x, y, w, h): Rect, p: Pt) -> bool {
        p.0 > x && p.0 < x + w && p.1 > y && p.1 < y + h
    }

    /// Points every unit along a polyline.
    fn samples(points: &[Pt]) -> Vec<Pt> {
        let mut out = Vec::new();
        for w in points.windows(2) {
            let (a, b) = (w[0], w[1]);
            let steps = ((b.0 - a.0).hypot(b.1 - a.1).ceil() as usize).max(1);
            out.extend((0..=steps).map(|k| {
                let t = k as f64 / steps as f64;
                (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
            }));
        }
        out
    }

    fn distance((x, y, w, h): Rect, p: Pt) -> f64 {
        let dx = (x - p.0).max(p.0 - (x + w)).max(0.0);
        let dy = (y - p.1).max(p.1 - (y + h)).max(0.0);
        dx.hypot(dy)
    }

    /// What issue 12.11 asks of a picture: each label next to its own edge (within
    /// `near`), over no box and no edge's line; no edge through a box it does not join.
    fn label_faults(l: &Layout, near: f64) -> Vec<String> {
        let mut faults = Vec::new();
        let boxes: Vec<Rect> = l.boxes().collect();
        let lines: Vec<Vec<Pt>> = l
            .routes
            .iter()
            .map(|r| samples(&drawn_curve(&r.points)))
            .collect();
        for (i, (e, r)) in l.scene.edges.iter().zip(&l.routes).enumerate() {
            for (j, b) in boxes.iter().enumerate() {
                if j != e.from
                    && j != e.to
                    && lines[i].iter().any(|&p| contains(shrink(*b, 2.0), p))
                {
                    faults.push(format!("edge {i} {}→{} runs through box {j}", e.from, e.to));
                }
            }
            let (Some(text), Some(at)) = (e.label.as_deref(), r.label_at) else {
                continue;
            };
            let rect = label_rect(text, at);
            let inner = shrink(rect, 1.0);
            if let Some(j) = boxes.iter().position(|b| overlaps(inner, *b)) {
                faults.push(format!("label {text:?} of edge {i} is over box {j}"));
            }
            for (k, line) in lines.iter().enumerate() {
                if line.iter().any(|&p| contains(inner, p)) {
                    faults.push(format!(
                        "label {text:?} of edge {i} is over the line of edge {k}"
                    ));
                }
            }
            let gap = lines[i]
                .iter()
                .map(|&p| distance(rect, p))
                .fold(f64::INFINITY, f64::min);
            if gap > near {
                faults.push(format!(
                    "label {text:?} of edge {i} is {gap:.0} from its edge"
                ));
            }
        }
        faults
    }

    /// `x = [7] * 6` held by an object with a few attributes, a dict with opposite
    /// references, and a wide fan-out that is laid out left to right.
    fn label_views() -> Vec<SubgraphView> {
        let sevens: Vec<(u64, Option<&str>)> = (0..6).map(|_| (7, None)).collect();
        let mut wide: Vec<(u64, Option<&str>)> = Vec::new();
        let keys: Vec<String> = (0..40).map(|i| format!("['key{i}']")).collect();
        for (i, k) in keys.iter().enumerate() {
            wide.push((100 + i as u64, Some(k.as_str())));
        }
        let mut objects = vec![
            obj(
                1,
                "app.Holder",
                None,
                &[(2, Some(".items")), (3, Some(".peer")), (4, Some(".wide"))],
            ),
            obj(2, "list", Some("6 items"), &sevens),
            obj(
                3,
                "app.Peer",
                None,
                &[(1, Some(".holder")), (2, Some(".same_items"))],
            ),
            obj(4, "dict", Some("40 items"), &wide),
            obj(7, "int", Some("7"), &[]),
        ];
        objects.extend((0..40).map(|i| obj(100 + i, "str", Some("'value'"), &[])));
        let snap = heap(&objects, &[]);
        let opts = SubgraphOptions {
            too_many: 50,
            ..SubgraphOptions::default()
        };
        vec![
            view_of(&snap, 2, SubgraphDirection::Refs, &opts),
            view_of(
                &snap,
                1,
                SubgraphDirection::Refs,
                &SubgraphOptions {
                    too_many: 4,
                    ..opts.clone()
                },
            ),
            view_of(&snap, 1, SubgraphDirection::Refs, &opts),
            view_of(&snap, 7, SubgraphDirection::Backrefs, &opts),
            view_of(&busy_heap(), 1, SubgraphDirection::Refs, &opts),
        ]
    }

    /// Issue 12.11, for every picture of up to [`DAGRE_MAX_BOXES`] objects. The plainer
    /// layout of larger pictures keeps its labels by their edges and off boxes, but where
    /// a dozen lines meet one box a label may have to cross one.
    #[test]
    fn labels_sit_by_their_own_edge_clear_of_lines_and_boxes() {
        for engine in [Engine::Dagre, Engine::Layered] {
            for (k, v) in label_views().iter().enumerate() {
                let l = layout_with(v, &legend(v), Some(engine));
                let mut faults = label_faults(&l, 3.0 * LABEL_GAP);
                if engine == Engine::Layered {
                    faults.retain(|f| !f.contains("over the line"));
                }
                if let Ok(dir) = std::env::var("REFGRAPH_TEST_PICTURES") {
                    let png = crate::render::png::svg_to_png(svg_document(&l).as_bytes());
                    let _ = std::fs::write(
                        format!("{dir}/labels-{engine:?}-{k}.png"),
                        png.unwrap_or_default(),
                    );
                }
                assert!(faults.is_empty(), "{engine:?} view {k}: {faults:#?}");
            }
        }
    }

    /// Issue 12.12: a caption far wider than the drawing is wrapped to the drawing's width
    /// (or `MIN_CAPTION_WIDTH`), so the drawing sets the picture's width; and the key
    /// names each kind of mark the picture has.
    #[test]
    fn a_long_caption_wraps_to_the_drawing_and_the_key_explains_the_marks() {
        let opts = SubgraphOptions {
            too_many: 4,
            max_depth: 1,
            ..SubgraphOptions::default()
        };
        let v = view_of(&busy_heap(), 1, SubgraphDirection::Refs, &opts);
        let long = "held by a chain ".repeat(40);
        let short = layout(&v, "short");
        let l = layout(&v, &long);
        assert_eq!(
            l.width, short.width,
            "the caption does not widen the picture"
        );
        assert!(l.caption.len() > 3, "{:?}", l.caption);
        for line in &l.caption {
            assert!(
                text_width(line, LEGEND_FONT as f32) <= l.width - 2.0 * MARGIN,
                "{line}"
            );
        }
        let doc_text = svg_document(&l);
        let doc = roxmltree::Document::parse(&doc_text).expect("well-formed");
        let key: Vec<String> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("key"))
            .flat_map(|g| g.children().filter_map(|t| t.text().map(str::to_string)))
            .collect();
        assert_eq!(
            key,
            [
                "start",
                "darker: farther from the start",
                "not expanded",
                "more, not drawn"
            ],
            "{doc_text}"
        );
        assert!(
            l.height > short.height,
            "the wrapped caption's lines are below the drawing"
        );
    }

    #[test]
    fn an_empty_view_is_still_a_picture() {
        let mut v = view_of(
            &seed(),
            10,
            SubgraphDirection::Refs,
            &SubgraphOptions::default(),
        );
        v.nodes.clear();
        v.edges.clear();
        v.more.clear();
        let doc = write_svg(&v, "nothing");
        assert!(roxmltree::Document::parse(&doc).is_ok());
    }

    /// Heap text that has broken SVG writers: markup, entities, quotes, controls, emoji.
    const EVIL: [&str; 7] = [
        "<script>alert(1)</script>",
        "&lt;b&gt; & &amp;",
        "say \"hi\" 'there'",
        "nul\0bell\x07 \u{1b}[31m",
        "two\nlines\r\t",
        "🐍 snake é \u{202e}rtl",
        "\u{fffe}\u{ffff}]]>",
    ];

    fn evil_view() -> SubgraphView {
        let snap = hostile_text_heap("app.Weird<T>&\"", "<svg onload=x>", &EVIL);
        view_of(
            &snap,
            1,
            SubgraphDirection::Refs,
            &SubgraphOptions::default(),
        )
    }

    /// Every `<text>`'s content, as an XML reader sees it.
    fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text") || n.has_tag_name("title"))
            .map(|n| n.text().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn hostile_heap_text_stays_text_in_well_formed_svg() {
        let v = evil_view();
        let doc_text = write_svg(&v, &legend(&v));
        let doc =
            roxmltree::Document::parse(&doc_text).unwrap_or_else(|e| panic!("{e}\n{doc_text}"));
        let elements: Vec<&str> = doc
            .descendants()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert!(
            elements
                .iter()
                .all(|t| ["svg", "title", "rect", "g", "text", "path", "polygon"].contains(t)),
            "{elements:?}"
        );
        let shown = texts(&doc);
        for label in EVIL {
            let want = visible(&crate::render::style::shorten(label));
            assert!(
                shown.contains(&want),
                "{want:?} not drawn as text: {shown:?}"
            );
        }
        assert!(shown.iter().any(|t| t == "Weird<T>&\""));
        assert!(shown.iter().all(|t| !t.chars().any(char::is_control)));
    }

    #[test]
    fn curves_start_and_end_where_dagre_says_and_arrows_touch_the_target() {
        let (path, arrow) =
            edge_geometry(&[(0.0, 0.0), (10.0, 50.0), (0.0, 100.0)]).expect("an edge");
        assert!(
            path.starts_with("M0.0,0.0") && path.contains(" C"),
            "{path}"
        );
        assert!(
            arrow.starts_with("0.0,100.0 "),
            "the tip is the last point: {arrow}"
        );
        assert_eq!(edge_geometry(&[(1.0, 1.0)]), None);
        assert_eq!(edge_geometry(&[(1.0, 1.0), (1.0, 1.0)]), None);
    }

    fn arb_view() -> impl proptest::strategy::Strategy<Value = SubgraphView> {
        use proptest::prelude::*;
        (1usize..14).prop_flat_map(|n| {
            let edge = (0..n, 0..n, prop::option::of("[a-z'\\[\\]._ ]{0,12}"));
            let nodes = prop::collection::vec((0usize..4, any::<bool>(), "[a-z<&> ]{0,20}"), n);
            (nodes, prop::collection::vec(edge, 0..3 * n), 0usize..3)
                .prop_map(move |(nodes, edges, more)| random_view(&nodes, &edges, more))
        })
    }

    fn random_view(
        nodes: &[(usize, bool, String)],
        edges: &[(usize, usize, Option<String>)],
        more: usize,
    ) -> SubgraphView {
        use crate::query::subgraph::{MoreView, SubgraphEdgeView, SubgraphNodeView};
        let id = |i: usize| format!("{:#x}", i + 1);
        SubgraphView {
            direction: SubgraphDirection::Refs,
            max_depth: 3,
            too_many: 10,
            max_nodes: 300,
            cap_reached: false,
            not_expanded_by_cap: 0,
            nodes: nodes
                .iter()
                .enumerate()
                .map(|(i, (depth, truncated, label))| SubgraphNodeView {
                    id: id(i),
                    type_name: "thing".into(),
                    type_long: "app.thing".into(),
                    label: Some(label.clone()),
                    size: 16,
                    depth: *depth,
                    start: i == 0,
                    highlight: false,
                    module: false,
                    truncated: *truncated,
                })
                .collect(),
            more: (0..more.min(nodes.len()))
                .map(|i| MoreView {
                    of: id(i),
                    count: 3,
                })
                .collect(),
            edges: edges
                .iter()
                .map(|(a, b, label)| SubgraphEdgeView {
                    from: id(*a),
                    to: id(*b),
                    label: label.clone(),
                    refs: 1,
                })
                .collect(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Self-references, parallel edges, cycles and empty labels: dagre never panics, and
        /// the picture stays tidy and well-formed.
        #[test]
        fn any_small_graph_lays_out_tidily(v in arb_view()) {
            let l = layout(&v, "legend");
            assert_tidy(&l);
            let doc = svg_document(&l);
            proptest::prop_assert!(roxmltree::Document::parse(&doc).is_ok());
        }
    }
}
