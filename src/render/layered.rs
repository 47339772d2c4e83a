//! The builtin renderer's layout for pictures too large for dagre: ranks from the
//! breadth-first depths, each rank ordered by barycenters, boxes packed along their rank and
//! pulled towards their neighbours in the rank before. Every step is a loop over ranks and
//! boxes (no recursion over the graph, so a 30,000-object chain cannot overflow the stack),
//! near-linear in boxes + edges, and the ordering sweeps stop at a time budget.
//!
//! It is plainer than dagre's (no dummy nodes: an edge spanning several ranks is drawn
//! straight), so [`super::svg`] uses it only above [`super::svg::DAGRE_MAX_BOXES`] boxes or
//! [`super::svg::DAGRE_MAX_EDGES`] edges, where dagre takes seconds to minutes.

use std::time::{Duration, Instant};

/// A point or a size, in SVG user units.
pub type Pt = (f64, f64);

/// What the layout needs of a picture.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Box sizes `(width, height)`.
    pub sizes: &'a [Pt],
    /// Each box's rank (breadth-first depth); ranks need not be dense.
    pub ranks: &'a [usize],
    /// Edges as `(from, to)` box indices.
    pub edges: &'a [(usize, usize)],
    /// Each edge's label size, if it has a label.
    pub labels: &'a [Option<Pt>],
    /// Ranks run left to right (else top to bottom).
    pub across: bool,
    /// Space between neighbouring boxes of a rank, and between ranks.
    pub nodesep: f64,
    /// See `nodesep`.
    pub ranksep: f64,
}

/// Box centres, and per edge its points and its label's centre.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Per box.
    pub centres: Vec<Pt>,
    /// Per edge: the points of its line, source first.
    pub points: Vec<Vec<Pt>>,
    /// Per edge with a label: where the label's centre goes.
    pub label_at: Vec<Option<Pt>>,
}

/// Longest the ordering sweeps may take; the first sweep always runs.
pub const SWEEP_BUDGET: Duration = Duration::from_millis(500);
/// Most ordering sweeps (each down and up once).
const SWEEPS: usize = 6;
/// Gap between an edge and its label.
const LABEL_GAP: f64 = 4.0;

/// Lay `input` out.
pub fn place(input: &Input<'_>) -> Output {
    let n = input.sizes.len();
    if n == 0 {
        return Output {
            points: vec![Vec::new(); input.edges.len()],
            label_at: vec![None; input.edges.len()],
            ..Output::default()
        };
    }
    let rank = dense_ranks(input.ranks, n);
    let layers = order(input, &rank);
    // Sizes in layout space: `along` runs along a rank, `thick` across ranks.
    let along = |i: usize| {
        if input.across {
            input.sizes[i].1
        } else {
            input.sizes[i].0
        }
    };
    let thick = |i: usize| {
        if input.across {
            input.sizes[i].0
        } else {
            input.sizes[i].1
        }
    };
    let cross = cross_positions(input, &layers, &rank, &along);
    let label_room = input
        .labels
        .iter()
        .flatten()
        .map(|&(w, h)| if input.across { w } else { h })
        .fold(0.0, f64::max);
    let mut depth_of_rank = Vec::with_capacity(layers.len());
    let mut y = 0.0;
    for layer in &layers {
        let t = layer.iter().map(|&i| thick(i)).fold(0.0, f64::max);
        depth_of_rank.push((y, t));
        y += t + input.ranksep + 2.0 * label_room;
    }
    let centres: Vec<Pt> = (0..n)
        .map(|i| {
            let (top, t) = depth_of_rank[rank[i]];
            let main = top + t / 2.0;
            if input.across {
                (main, cross[i])
            } else {
                (cross[i], main)
            }
        })
        .collect();
    let mut out = Output {
        centres,
        points: Vec::with_capacity(input.edges.len()),
        label_at: Vec::with_capacity(input.edges.len()),
    };
    let ports = ports(input, &out.centres, &rank);
    for (k, &(a, b)) in input.edges.iter().enumerate() {
        let pts = route(input, &out.centres, &rank, (a, b), ports[k]);
        let label = input.labels.get(k).copied().flatten();
        out.label_at
            .push(label.map(|size| beside(input.across, &pts, size)));
        out.points.push(pts);
    }
    out
}

/// Ranks renumbered `0..` in order, so empty depths leave no gap.
fn dense_ranks(ranks: &[usize], n: usize) -> Vec<usize> {
    let mut distinct: Vec<usize> = ranks.iter().copied().take(n).collect();
    distinct.sort_unstable();
    distinct.dedup();
    (0..n)
        .map(|i| {
            let r = ranks.get(i).copied().unwrap_or(0);
            distinct.binary_search(&r).unwrap_or(0)
        })
        .collect()
}

/// The boxes of each rank in drawing order: first in index order (breadth-first, so
/// siblings stand together), then sorted by the barycenter of their neighbours in the rank
/// before (down sweeps) and after (up sweeps), while the time budget lasts.
fn order(input: &Input<'_>, rank: &[usize]) -> Vec<Vec<usize>> {
    let n = rank.len();
    let ranks = rank.iter().copied().max().map_or(0, |r| r + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); ranks];
    for (i, &r) in rank.iter().enumerate() {
        layers[r].push(i);
    }
    // Neighbours in the rank before and the rank after, each box once per edge.
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in input.edges {
        if a >= n || b >= n {
            continue;
        }
        let (ra, rb) = (rank[a], rank[b]);
        if rb == ra + 1 {
            up[b].push(a);
            down[a].push(b);
        } else if ra == rb + 1 {
            up[a].push(b);
            down[b].push(a);
        }
    }
    // A box's place in its rank, as a fraction, so ranks of any length compare.
    let mut place = vec![0.0; n];
    let set_places = |layers: &[Vec<usize>], place: &mut Vec<f64>| {
        for layer in layers {
            let len = layer.len() as f64;
            for (k, &i) in layer.iter().enumerate() {
                place[i] = (k as f64 + 0.5) / len;
            }
        }
    };
    set_places(&layers, &mut place);
    let start = Instant::now();
    for sweep in 0..SWEEPS {
        if sweep > 0 && start.elapsed() > SWEEP_BUDGET {
            break;
        }
        for layer in layers.iter_mut().skip(1) {
            sort_layer(layer, &up, &mut place);
        }
        for layer in layers.iter_mut().rev().skip(1) {
            sort_layer(layer, &down, &mut place);
        }
    }
    layers
}

/// Sort one rank by the mean place of each box's neighbours in `adjacent`; a box without
/// any keeps its place. The sort is stable, so ties keep their order.
fn sort_layer(layer: &mut [usize], adjacent: &[Vec<usize>], place: &mut [f64]) {
    let key = |i: usize| {
        let nb = &adjacent[i];
        if nb.is_empty() {
            place[i]
        } else {
            nb.iter().map(|&j| place[j]).sum::<f64>() / nb.len() as f64
        }
    };
    let mut keyed: Vec<(f64, usize)> = layer.iter().map(|&i| (key(i), i)).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let len = layer.len() as f64;
    for (k, (_, i)) in keyed.into_iter().enumerate() {
        layer[k] = i;
        place[i] = (k as f64 + 0.5) / len;
    }
}

/// Positions along each rank. Down the ranks: the first rank packed and centred on 0,
/// each later one packed with every box as near the mean of its neighbours in the ranks
/// above as the boxes to its left allow. Then back up: each rank packed again, every box
/// as near the mean of its neighbours below, so a parent stands over its children once
/// they have the room they need.
fn cross_positions(
    input: &Input<'_>,
    layers: &[Vec<usize>],
    rank: &[usize],
    along: &dyn Fn(usize) -> f64,
) -> Vec<f64> {
    let n = rank.len();
    let mut above: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut below: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in input.edges {
        if a < n && b < n && a != b {
            let (hi, lo) = if rank[a] <= rank[b] { (a, b) } else { (b, a) };
            if rank[hi] < rank[lo] {
                above[lo].push(hi);
                below[hi].push(lo);
            }
        }
    }
    let mut x = vec![0.0; n];
    for layer in layers {
        pack(layer, &above, &mut x, input.nodesep, along);
    }
    for layer in layers.iter().rev().skip(1) {
        pack(layer, &below, &mut x, input.nodesep, along);
    }
    x
}

/// Place one rank's boxes in their order, `nodesep` apart, each as near the mean position
/// of its `toward` neighbours as the boxes to its left allow; then shift the rank as a
/// whole by the mean distance still wanted (or centre it on 0 when no box has a
/// neighbour there).
fn pack(
    layer: &[usize],
    toward: &[Vec<usize>],
    x: &mut [f64],
    nodesep: f64,
    along: &dyn Fn(usize) -> f64,
) {
    let wanted: Vec<Option<f64>> = layer
        .iter()
        .map(|&i| {
            let nb = &toward[i];
            (!nb.is_empty()).then(|| nb.iter().map(|&j| x[j]).sum::<f64>() / nb.len() as f64)
        })
        .collect();
    let mut right_edge = f64::NEG_INFINITY;
    for (k, &i) in layer.iter().enumerate() {
        let half = along(i) / 2.0;
        let earliest = right_edge + nodesep + half;
        let at = match wanted[k] {
            Some(w) => w.max(earliest),
            None if right_edge.is_finite() => earliest,
            None => half,
        };
        x[i] = at;
        right_edge = at + half;
    }
    let offsets: Vec<f64> = layer
        .iter()
        .zip(&wanted)
        .filter_map(|(&i, w)| w.map(|w| w - x[i]))
        .collect();
    let shift = if offsets.is_empty() {
        let first = layer.first().map_or(0.0, |&i| x[i] - along(i) / 2.0);
        -(first + right_edge) / 2.0
    } else {
        offsets.iter().sum::<f64>() / offsets.len() as f64
    };
    for &i in layer {
        x[i] += shift;
    }
}

/// Where each edge leaves and enters its boxes, as offsets along the rank from the box's
/// centre: the edges on one side of a box (its top or its bottom) are spread over the middle
/// of that side in the order of the boxes at their other ends, so a fan-out does not start
/// from one point and two opposite edges between a pair of boxes do not draw one line.
fn ports(input: &Input<'_>, centres: &[Pt], rank: &[usize]) -> Vec<(f64, f64)> {
    let n = centres.len();
    let along_of = |i: usize| {
        if input.across {
            centres[i].1
        } else {
            centres[i].0
        }
    };
    let size_of = |i: usize| {
        if input.across {
            input.sizes[i].1
        } else {
            input.sizes[i].0
        }
    };
    // Per box side: (the other end's position, edge, is this the edge's start).
    let mut top: Vec<Vec<(f64, usize, bool)>> = vec![Vec::new(); n];
    let mut bottom: Vec<Vec<(f64, usize, bool)>> = vec![Vec::new(); n];
    for (k, &(a, b)) in input.edges.iter().enumerate() {
        if a >= n || b >= n || rank[a] == rank[b] {
            continue;
        }
        if rank[a] < rank[b] {
            bottom[a].push((along_of(b), k, true));
            top[b].push((along_of(a), k, false));
        } else {
            top[a].push((along_of(b), k, true));
            bottom[b].push((along_of(a), k, false));
        }
    }
    let mut out = vec![(0.0, 0.0); input.edges.len()];
    for (i, side) in top.iter_mut().chain(bottom.iter_mut()).enumerate() {
        let i = i % n;
        side.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let spread = size_of(i) * 0.8;
        let count = side.len() as f64;
        for (j, &(_, k, start)) in side.iter().enumerate() {
            let off = if side.len() == 1 {
                0.0
            } else {
                -spread / 2.0 + spread * (j as f64 + 0.5) / count
            };
            if start {
                out[k].0 = off;
            } else {
                out[k].1 = off;
            }
        }
    }
    out
}

/// An edge's points: border to border at its ports; a self-reference as a loop beside its
/// box; an edge within a rank goes round below.
fn route(
    input: &Input<'_>,
    centres: &[Pt],
    rank: &[usize],
    (a, b): (usize, usize),
    (port_a, port_b): (f64, f64),
) -> Vec<Pt> {
    let (Some(&ca), Some(&cb)) = (centres.get(a), centres.get(b)) else {
        return Vec::new();
    };
    let (sa, sb) = (input.sizes[a], input.sizes[b]);
    // Work in (along, main) space: `main` grows with rank.
    let flip = |p: Pt| if input.across { (p.1, p.0) } else { p };
    let (pa, pb) = (flip(ca), flip(cb));
    let (ha, hb) = (flip(sa), flip(sb));
    let pts: Vec<Pt> = if a == b {
        let side = pa.0 + ha.0 / 2.0;
        vec![
            (side, pa.1 - ha.1 / 4.0),
            (side + 24.0, pa.1 - ha.1 / 2.0),
            (side + 24.0, pa.1 + ha.1 / 2.0),
            (side, pa.1 + ha.1 / 4.0),
        ]
    } else if rank[b] > rank[a] {
        let start = (pa.0 + port_a, pa.1 + ha.1 / 2.0);
        let end = (pb.0 + port_b, pb.1 - hb.1 / 2.0);
        vec![start, mid(start, end), end]
    } else if rank[b] < rank[a] {
        let start = (pa.0 + port_a, pa.1 - ha.1 / 2.0);
        let end = (pb.0 + port_b, pb.1 + hb.1 / 2.0);
        vec![start, mid(start, end), end]
    } else {
        // Same rank: below, from side to side (above is where the rank's own edges
        // arrive, and their labels sit).
        let dir = if pb.0 > pa.0 { 1.0 } else { -1.0 };
        let start = (pa.0 + dir * ha.0 / 3.0, pa.1 + ha.1 / 2.0);
        let end = (pb.0 - dir * hb.0 / 3.0, pb.1 + hb.1 / 2.0);
        let low = start.1.max(end.1) + input.ranksep / 2.0;
        vec![start, ((start.0 + end.0) / 2.0, low), end]
    };
    pts.into_iter().map(flip).collect()
}

fn mid(a: Pt, b: Pt) -> Pt {
    ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0)
}

/// A label's centre beside the middle of its edge: to the right of it (top to bottom), or
/// above it (left to right), `LABEL_GAP` clear of the line.
fn beside(across: bool, pts: &[Pt], (w, h): Pt) -> Pt {
    let m = pts.get(pts.len() / 2).copied().unwrap_or((0.0, 0.0));
    if across {
        (m.0, m.1 - h / 2.0 - LABEL_GAP)
    } else {
        (m.0 + w / 2.0 + LABEL_GAP, m.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> (Vec<Pt>, Vec<usize>, Vec<(usize, usize)>) {
        let sizes = vec![(60.0, 36.0); n];
        let ranks = (0..n).collect();
        let edges = (1..n).map(|i| (i - 1, i)).collect();
        (sizes, ranks, edges)
    }

    fn input<'a>(
        sizes: &'a [Pt],
        ranks: &'a [usize],
        edges: &'a [(usize, usize)],
        labels: &'a [Option<Pt>],
        across: bool,
    ) -> Input<'a> {
        Input {
            sizes,
            ranks,
            edges,
            labels,
            across,
            nodesep: 18.0,
            ranksep: 40.0,
        }
    }

    #[test]
    fn a_long_chain_is_laid_out_without_recursion_one_box_per_rank() {
        // Run on a small stack: any recursion over 100,000 boxes would overflow it.
        let out = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let (sizes, ranks, edges) = chain(100_000);
                let labels = vec![Some((30.0, 12.0)); edges.len()];
                place(&input(&sizes, &ranks, &edges, &labels, false))
            })
            .expect("thread starts")
            .join()
            .expect("no stack overflow");
        assert_eq!(out.centres.len(), 100_000);
        for w in out.centres.windows(2) {
            assert!(w[1].1 > w[0].1 + 36.0, "ranks go down: {w:?}");
            assert!((w[1].0 - w[0].0).abs() < 1e-9, "a chain is straight");
        }
    }

    #[test]
    fn boxes_of_a_rank_never_overlap_and_children_stand_under_their_parent() {
        // A star: one box and 2,000 children; then each child with two of its own.
        let n = 1 + 2000 + 4000;
        let sizes = vec![(70.0, 36.0); n];
        let mut ranks = vec![0; n];
        let mut edges = Vec::new();
        for c in 1..=2000 {
            ranks[c] = 1;
            edges.push((0, c));
            for k in 0..2 {
                let g = 2001 + 2 * (c - 1) + k;
                ranks[g] = 2;
                edges.push((c, g));
            }
        }
        for across in [false, true] {
            let labels = vec![None; edges.len()];
            let out = place(&input(&sizes, &ranks, &edges, &labels, across));
            let along = |p: Pt| if across { p.1 } else { p.0 };
            let along_size = if across { 36.0 } else { 70.0 };
            for r in 0..3 {
                let mut xs: Vec<f64> = (0..n)
                    .filter(|&i| ranks[i] == r)
                    .map(|i| along(out.centres[i]))
                    .collect();
                xs.sort_by(f64::total_cmp);
                for w in xs.windows(2) {
                    assert!(w[1] - w[0] >= along_size + 18.0 - 1e-6, "rank {r}: {w:?}");
                }
            }
            // Each grandchild pair is centred under its parent.
            for c in 1..=2000 {
                let g = 2001 + 2 * (c - 1);
                let mean = (along(out.centres[g]) + along(out.centres[g + 1])) / 2.0;
                let off = (mean - along(out.centres[c])).abs();
                assert!(off < along_size + 18.0, "child {c} is {off} off");
            }
        }
    }

    #[test]
    fn labels_sit_beside_their_own_edge() {
        let (sizes, ranks, edges) = chain(3);
        let labels = vec![Some((40.0, 12.0)); 2];
        for across in [false, true] {
            let out = place(&input(&sizes, &ranks, &edges, &labels, across));
            for (pts, at) in out.points.iter().zip(&out.label_at) {
                let (x, y) = at.expect("labelled");
                let m = pts[pts.len() / 2];
                let d = if across {
                    (m.1 - y - 6.0 - LABEL_GAP).abs() + (m.0 - x).abs()
                } else {
                    (x - 20.0 - LABEL_GAP - m.0).abs() + (m.1 - y).abs()
                };
                assert!(d < 1e-9, "label {at:?} not beside {m:?}");
            }
        }
    }

    #[test]
    fn nothing_to_lay_out_gives_nothing() {
        let out = place(&input(&[], &[], &[(0, 1)], &[None], false));
        assert!(out.centres.is_empty());
        assert_eq!(out.points.len(), 1);
    }
}
