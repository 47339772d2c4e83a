//! `refs` / `backrefs`: the neighbourhood of some objects, breadth-first, as objgraph's
//! `show_refs` / `show_backrefs` draw it, built as a small `petgraph::Graph` for the renderers.
//!
//! Rules, objgraph's unless marked (new):
//! - the start objects are drawn at depth 0; nodes are expanded while `depth < max_depth`;
//! - at most `too_many` edges are drawn per expanded node, the first ones in snapshot order
//!   (refs: slot order; backrefs: referrers in file order); the rest become one "more" node;
//! - `filter` keeps only neighbours of the given types and `ignore` drops objects; both apply
//!   to neighbours only, never to the start objects, and what they drop is not counted;
//! - (new) one edge per pair of objects, in every picture: refs draw one edge per distinct
//!   referent (objgraph draws one per slot, so `[x] * 2_000_000` was two million arrows),
//!   backrefs one per referrer (objgraph's `gc.get_referrers` also lists a referrer once);
//!   an edge standing for several references is labelled with them all, joined by `, `, or
//!   with the first three and `… ×N` ([`merged_label`]); `too_many` counts edges;
//! - backrefs draw modules (`sys.modules` entries) but do not expand them, except a module
//!   that is itself a start object (new: the user asked for its referrers);
//! - (new) nodes left unexpanded by the depth limit or the node cap that have neighbours to
//!   show are marked `truncated`;
//! - (new) at most `max_nodes` objects: when the cap is reached the node being expanded puts
//!   the rest of its neighbours into its "more" node and no further node is expanded.

use crate::snapshot::{EdgeLabel, NodeIx, ObjectId, RootKind, Snapshot};
use petgraph::graph::{Graph, NodeIndex};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Which way the search follows references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubgraphDirection {
    /// What the start objects refer to (objgraph's `show_refs`).
    Refs,
    /// What refers to the start objects (objgraph's `show_backrefs`).
    Backrefs,
}

impl SubgraphDirection {
    /// `refs` or `backrefs`, as the subcommand is called.
    pub fn name(self) -> &'static str {
        match self {
            SubgraphDirection::Refs => "refs",
            SubgraphDirection::Backrefs => "backrefs",
        }
    }
}

/// The knobs of [`subgraph`], with objgraph's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphOptions {
    /// Nodes at this depth are drawn but not expanded (objgraph: 3).
    pub max_depth: usize,
    /// Edges drawn per expanded node; the rest are summarized (objgraph: 10).
    pub too_many: usize,
    /// Stop expanding once this many objects are drawn.
    pub max_nodes: usize,
    /// Keep only neighbours of these type indices (`None`: all).
    pub filter: Option<Vec<u32>>,
    /// Objects never drawn nor entered (unless they are start objects).
    pub ignore: Vec<NodeIx>,
    /// Mark objects of these type indices for the renderer.
    pub highlight: Option<Vec<u32>>,
    /// Backrefs do not expand a start object that is a module either, as objgraph's
    /// `show_backrefs([module])` (the objgraph drop-in asks for it); the CLI expands it.
    pub modules_stop_at_start: bool,
}

impl Default for SubgraphOptions {
    fn default() -> Self {
        SubgraphOptions {
            max_depth: 3,
            too_many: 10,
            max_nodes: 300,
            filter: None,
            ignore: Vec::new(),
            highlight: None,
            modules_stop_at_start: false,
        }
    }
}

/// One object drawn in a [`Subgraph`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectNode {
    /// Its index in the snapshot.
    pub node: NodeIx,
    /// Its address.
    pub id: ObjectId,
    /// Short type name.
    pub type_short: String,
    /// Qualified type name.
    pub type_long: String,
    /// The snapshot's label, if any.
    pub label: Option<String>,
    /// Shallow size, bytes.
    pub size: u64,
    /// BFS depth at which it was first reached (0 for the start objects).
    pub depth: usize,
    /// One of the start objects.
    pub start: bool,
    /// Of a highlighted type.
    pub highlight: bool,
    /// A module (any `module` instance, or an entry of `sys.modules`).
    pub module: bool,
    /// Its neighbours were looked at (some may be in a "more" node).
    pub expanded: bool,
    /// Not expanded (depth limit or node cap) although it has neighbours to show.
    pub truncated: bool,
}

/// The neighbours of an expanded object that `too_many` (or the node cap) left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoreNode {
    /// The object whose fan-out was cut.
    pub of: NodeIx,
    /// How many neighbours (refs: references; backrefs: referrers) are not drawn.
    pub count: usize,
}

/// A node of a [`Subgraph`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubNode {
    /// A heap object.
    Object(ObjectNode),
    /// "N more references" / "N more backreferences".
    More(MoreNode),
}

impl SubNode {
    /// The object, when this is not a "more" node.
    pub fn object(&self) -> Option<&ObjectNode> {
        match self {
            SubNode::Object(o) => Some(o),
            SubNode::More(_) => None,
        }
    }
}

/// An edge of a [`Subgraph`]: always referrer → referent, in both directions (as objgraph
/// draws them). An edge to or from a [`SubNode::More`] node has no label and `refs == 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubEdge {
    /// The reference's label from the snapshot (`[0]`, `['key']`, `.attr`, `local 'x'`);
    /// for an edge standing for several references, [`merged_label`]: their labels joined
    /// by `, ` (an unknown one shown as `?`), or the first three and `… ×N`. `None` when no
    /// label is known.
    pub label: Option<String>,
    /// How many references the edge stands for (≥ 1).
    pub refs: u32,
}

/// The answer of `refs` / `backrefs`.
#[derive(Debug, Clone)]
pub struct Subgraph {
    /// The drawn objects, "more" nodes and edges; node indices in BFS order.
    pub graph: Graph<SubNode, SubEdge>,
    /// Which way it was searched.
    pub direction: SubgraphDirection,
    /// The options it was built with.
    pub options: SubgraphOptions,
    /// True when `max_nodes` stopped the expansion.
    pub cap_reached: bool,
    /// Objects drawn but left unexpanded because of the node cap (they are `truncated`).
    pub not_expanded_by_cap: usize,
}

impl Subgraph {
    /// The objects, in BFS order, with their graph indices.
    pub fn objects(&self) -> impl Iterator<Item = (NodeIndex, &ObjectNode)> + '_ {
        self.graph
            .node_indices()
            .filter_map(move |i| self.graph[i].object().map(|o| (i, o)))
    }
}

/// The neighbourhood of `starts` along `dir`, as [`SubgraphOptions`] bound it. Duplicate
/// and out-of-range start indices are skipped.
pub fn subgraph(
    snap: &Snapshot,
    starts: &[NodeIx],
    dir: SubgraphDirection,
    opts: &SubgraphOptions,
) -> Subgraph {
    let mut b = Builder::new(snap, dir, opts);
    for &s in starts {
        b.add_start(s);
    }
    while let Some(gi) = b.queue.pop_front() {
        b.visit(gi);
    }
    Subgraph {
        graph: b.graph,
        direction: dir,
        options: opts.clone(),
        cap_reached: b.cap_reached,
        not_expanded_by_cap: b.not_expanded_by_cap,
    }
}

/// objgraph's `show_chain`: exactly the objects of `chains` and one edge per consecutive
/// pair (labelled with all its references), searched as `dir` says. `Backrefs`: chains run
/// from a root to the object asked about, which ends each chain, is a start object, and
/// depth counts back from it. `Refs` (forward chains): the first object is the start.
/// `max_depth` is the longest chain's length − 1, as objgraph draws it.
pub fn chain_view(snap: &Snapshot, chains: &[Vec<NodeIx>], dir: SubgraphDirection) -> Subgraph {
    let valid = |c: &&Vec<NodeIx>| c.iter().all(|&n| (n as usize) < snap.node_count());
    let chains: Vec<&Vec<NodeIx>> = chains.iter().filter(valid).collect();
    // Each object at its least distance from a chain's start end, nearest first.
    let mut depth: FxHashMap<NodeIx, usize> = FxHashMap::default();
    for chain in &chains {
        for (i, &n) in chain.iter().enumerate() {
            let d = match dir {
                SubgraphDirection::Refs => i,
                SubgraphDirection::Backrefs => chain.len() - 1 - i,
            };
            let at = depth.entry(n).or_insert(d);
            *at = (*at).min(d);
        }
    }
    let mut order: Vec<NodeIx> = chains.iter().flat_map(|c| c.iter().copied()).collect();
    let mut seen = FxHashSet::default();
    order.retain(|n| seen.insert(*n));
    order.sort_by_key(|n| depth[n]);
    let opts = SubgraphOptions {
        max_depth: chains.iter().map(|c| c.len() - 1).max().unwrap_or(0),
        max_nodes: order.len(),
        ..SubgraphOptions::default()
    };
    let mut b = Builder::new(snap, dir, &opts);
    for &n in &order {
        let d = depth[&n];
        let gi = b
            .graph
            .add_node(SubNode::Object(b.object_node(n, d, d == 0)));
        b.index.insert(n, gi);
    }
    let mut drawn = FxHashSet::default();
    for pair in chains.iter().flat_map(|c| c.windows(2)) {
        let (src, dst) = (pair[0], pair[1]);
        if !drawn.insert((src, dst)) {
            continue;
        }
        let refs = snap
            .referents(src)
            .iter()
            .filter(|&&t| t == dst)
            .count()
            .max(1);
        let edge = SubEdge {
            label: backref_label(snap, src, dst, refs as u64),
            refs: u32::try_from(refs).unwrap_or(u32::MAX),
        };
        b.graph.add_edge(b.index[&src], b.index[&dst], edge);
    }
    Subgraph {
        graph: b.graph,
        direction: dir,
        options: opts,
        cap_reached: false,
        not_expanded_by_cap: 0,
    }
}

/// A reference cycle as a picture: its first `max_nodes` members (the first one, where a
/// chain from a root enters, is the start object), and one edge per pair of them with a
/// reference between them (labelled with all its references, [`merged_label`]). Depth is the distance from the first member along those references.
pub fn cycle_view(snap: &Snapshot, members: &[NodeIx], max_nodes: usize) -> Subgraph {
    let mut seen = FxHashSet::default();
    let mut kept: Vec<NodeIx> = members
        .iter()
        .copied()
        .filter(|&n| (n as usize) < snap.node_count() && seen.insert(n))
        .collect();
    let cap_reached = kept.len() > max_nodes;
    kept.truncate(max_nodes);
    let set: FxHashSet<NodeIx> = kept.iter().copied().collect();
    // Breadth-first distances from the first member, inside the drawn members.
    let mut depth: FxHashMap<NodeIx, usize> = kept.first().map(|&n| (n, 0)).into_iter().collect();
    let mut queue: VecDeque<NodeIx> = kept.first().copied().into_iter().collect();
    while let Some(u) = queue.pop_front() {
        for &v in snap.referents(u) {
            if set.contains(&v) && !depth.contains_key(&v) {
                depth.insert(v, depth[&u] + 1);
                queue.push_back(v);
            }
        }
    }
    let deepest = depth.values().copied().max().unwrap_or(0);
    let unreached = deepest + 1;
    let opts = SubgraphOptions {
        max_depth: deepest.max(1),
        max_nodes,
        ..SubgraphOptions::default()
    };
    let dir = SubgraphDirection::Refs;
    let mut b = Builder::new(snap, dir, &opts);
    for (i, &n) in kept.iter().enumerate() {
        let d = depth.get(&n).copied().unwrap_or(unreached);
        let gi = b
            .graph
            .add_node(SubNode::Object(b.object_node(n, d, i == 0)));
        b.index.insert(n, gi);
    }
    // One edge per pair of members, however many references it stands for.
    for &src in &kept {
        let mut pairs: Vec<(NodeIndex, u32, Vec<EdgeLabel<'_>>)> = Vec::new();
        let mut at: FxHashMap<NodeIndex, usize> = FxHashMap::default();
        for (dst, label) in snap.labelled_referents(src) {
            let Some(&to) = b.index.get(&dst) else {
                continue;
            };
            let i = *at.entry(to).or_insert_with(|| {
                pairs.push((to, 0, Vec::new()));
                pairs.len() - 1
            });
            let (_, refs, labels) = &mut pairs[i];
            *refs = refs.saturating_add(1);
            if labels.len() < LABELS_READ {
                labels.push(label);
            }
        }
        for (to, refs, labels) in pairs {
            let edge = SubEdge {
                label: merged_label(labels.into_iter().map(label_text), u64::from(refs)),
                refs,
            };
            b.graph.add_edge(b.index[&src], to, edge);
        }
    }
    Subgraph {
        graph: b.graph,
        direction: dir,
        options: opts,
        cap_reached,
        not_expanded_by_cap: 0,
    }
}

/// A neighbour worth drawing: passes `ignore` and `filter`.
struct Neighbour<'s> {
    node: NodeIx,
    /// References it stands for (refs: the node's slots holding it; backrefs: a referrer's
    /// references to the node).
    refs: u32,
    /// Refs: the first [`LABELS_READ`] slots' labels. Backrefs: empty, the label is computed
    /// only for drawn edges (it needs a scan of the referrer's references, which can be a
    /// million-entry dict).
    labels: Vec<EdgeLabel<'s>>,
}

/// Why a dequeued node is not expanded.
enum Stop {
    Depth,
    Module,
    Cap,
}

struct Builder<'s, 'o> {
    snap: &'s Snapshot,
    dir: SubgraphDirection,
    opts: &'o SubgraphOptions,
    ignore: FxHashSet<NodeIx>,
    graph: Graph<SubNode, SubEdge>,
    index: FxHashMap<NodeIx, NodeIndex>,
    queue: VecDeque<NodeIndex>,
    cap_reached: bool,
    not_expanded_by_cap: usize,
}

impl<'s, 'o> Builder<'s, 'o> {
    fn new(snap: &'s Snapshot, dir: SubgraphDirection, opts: &'o SubgraphOptions) -> Self {
        Builder {
            snap,
            dir,
            opts,
            ignore: opts.ignore.iter().copied().collect(),
            graph: Graph::new(),
            index: FxHashMap::default(),
            queue: VecDeque::new(),
            cap_reached: false,
            not_expanded_by_cap: 0,
        }
    }

    fn add_start(&mut self, n: NodeIx) {
        if (n as usize) < self.snap.node_count() && !self.index.contains_key(&n) {
            self.add_object(n, 0, true);
        }
    }

    fn add_object(&mut self, n: NodeIx, depth: usize, start: bool) -> NodeIndex {
        let node = self.object_node(n, depth, start);
        let gi = self.graph.add_node(SubNode::Object(node));
        self.index.insert(n, gi);
        self.queue.push_back(gi);
        gi
    }

    fn object_node(&self, n: NodeIx, depth: usize, start: bool) -> ObjectNode {
        let snap = self.snap;
        let ty = snap.type_name(n);
        ObjectNode {
            node: n,
            id: snap.id(n),
            type_short: ty.short().to_string(),
            type_long: ty.long(),
            label: snap.label(n).map(str::to_string),
            size: snap.size(n),
            depth,
            start,
            highlight: has_type(self.opts.highlight.as_deref(), snap, n),
            module: is_module_root(snap, n) || ty.long() == "module",
            expanded: false,
            truncated: false,
        }
    }

    fn object_mut(&mut self, gi: NodeIndex) -> Option<&mut ObjectNode> {
        match &mut self.graph[gi] {
            SubNode::Object(o) => Some(o),
            SubNode::More(_) => None,
        }
    }

    fn visit(&mut self, gi: NodeIndex) {
        let Some(o) = self.graph[gi].object() else {
            return;
        };
        let (n, depth, start) = (o.node, o.depth, o.start);
        match self.stop(n, depth, start) {
            None => self.expand(gi, n, depth),
            Some(Stop::Module) => {}
            Some(Stop::Depth) => {
                self.mark_truncated(gi, n);
            }
            Some(Stop::Cap) => {
                if self.mark_truncated(gi, n) {
                    self.not_expanded_by_cap += 1;
                }
            }
        }
    }

    fn stop(&self, n: NodeIx, depth: usize, start: bool) -> Option<Stop> {
        let backrefs = self.dir == SubgraphDirection::Backrefs;
        let may_stop = !start || self.opts.modules_stop_at_start;
        if backrefs && may_stop && is_module_root(self.snap, n) {
            Some(Stop::Module)
        } else if depth >= self.opts.max_depth {
            Some(Stop::Depth)
        } else if self.cap_reached {
            Some(Stop::Cap)
        } else {
            None
        }
    }

    /// Marks `gi` truncated when it has something to show; says whether it did.
    fn mark_truncated(&mut self, gi: NodeIndex, n: NodeIx) -> bool {
        let truncated = self.raw_neighbours(n).iter().any(|&m| self.eligible(m));
        if let Some(o) = self.object_mut(gi) {
            o.truncated = truncated;
        }
        truncated
    }

    fn expand(&mut self, gi: NodeIndex, n: NodeIx, depth: usize) {
        if let Some(o) = self.object_mut(gi) {
            o.expanded = true;
        }
        let (first, total) = self.neighbours(n);
        let mut drawn = 0;
        // What a "more" node counts: references for refs, referrers for backrefs.
        let dir = self.dir;
        let unit = |nb: &Neighbour<'_>| match dir {
            SubgraphDirection::Refs => nb.refs as usize,
            SubgraphDirection::Backrefs => 1,
        };
        for nb in &first {
            // At the node cap the rest go into the "more" node: drawn + more = total.
            let Some(other) = self.node_for(nb.node, depth + 1) else {
                break;
            };
            let edge = SubEdge {
                label: self.edge_label(n, nb),
                refs: nb.refs,
            };
            self.add_edge(gi, other, edge);
            drawn += unit(nb);
        }
        let rest = total - drawn;
        if rest > 0 {
            let more = self
                .graph
                .add_node(SubNode::More(MoreNode { of: n, count: rest }));
            self.add_edge(
                gi,
                more,
                SubEdge {
                    label: None,
                    refs: 0,
                },
            );
        }
    }

    /// The graph node of `n`, added at `depth` if new; `None` once the node cap is reached.
    fn node_for(&mut self, n: NodeIx, depth: usize) -> Option<NodeIndex> {
        if let Some(&gi) = self.index.get(&n) {
            return Some(gi);
        }
        if self.index.len() >= self.opts.max_nodes {
            self.cap_reached = true;
            return None;
        }
        Some(self.add_object(n, depth, false))
    }

    /// An edge between the expanded node and a neighbour, drawn referrer → referent.
    fn add_edge(&mut self, expanded: NodeIndex, other: NodeIndex, edge: SubEdge) {
        match self.dir {
            SubgraphDirection::Refs => self.graph.add_edge(expanded, other, edge),
            SubgraphDirection::Backrefs => self.graph.add_edge(other, expanded, edge),
        };
    }

    fn raw_neighbours(&self, n: NodeIx) -> &'s [NodeIx] {
        match self.dir {
            SubgraphDirection::Refs => self.snap.referents(n),
            SubgraphDirection::Backrefs => self.snap.referrers(n),
        }
    }

    fn eligible(&self, n: NodeIx) -> bool {
        !self.ignore.contains(&n)
            && self
                .opts
                .filter
                .as_deref()
                .is_none_or(|types| has_type(Some(types), self.snap, n))
    }

    /// The first `too_many` eligible neighbours of `n` (one per distinct object) and how
    /// many references (refs) or referrers (backrefs) there are in all: a type object can
    /// have a million referrers, and only the first few are drawn.
    fn neighbours(&self, n: NodeIx) -> (Vec<Neighbour<'s>>, usize) {
        match self.dir {
            SubgraphDirection::Refs => self.referents_merged(n),
            SubgraphDirection::Backrefs => {
                let mut first = Vec::new();
                let mut total = 0;
                let all = distinct_runs(self.snap.referrers(n)).map(|(node, refs)| Neighbour {
                    node,
                    refs,
                    labels: Vec::new(),
                });
                for nb in all.filter(|nb| self.eligible(nb.node)) {
                    if first.len() < self.opts.too_many {
                        first.push(nb);
                    }
                    total += 1;
                }
                (first, total)
            }
        }
    }

    /// The eligible referents of `n`, each once in the order of its first slot, with its
    /// number of slots; and the number of eligible slots. Only the first `too_many`
    /// referents are kept, but every slot is counted.
    fn referents_merged(&self, n: NodeIx) -> (Vec<Neighbour<'s>>, usize) {
        let mut first: Vec<Neighbour<'s>> = Vec::new();
        let mut at: FxHashMap<NodeIx, Option<usize>> = FxHashMap::default();
        let mut total = 0;
        for (node, label) in self.snap.labelled_referents(n) {
            if !self.eligible(node) {
                continue;
            }
            total += 1;
            let slot = at.entry(node).or_insert_with(|| {
                (first.len() < self.opts.too_many).then(|| {
                    first.push(Neighbour {
                        node,
                        refs: 0,
                        labels: Vec::new(),
                    });
                    first.len() - 1
                })
            });
            if let Some(i) = *slot {
                let nb = &mut first[i];
                nb.refs = nb.refs.saturating_add(1);
                if nb.labels.len() < LABELS_READ {
                    nb.labels.push(label);
                }
            }
        }
        (first, total)
    }

    fn edge_label(&self, expanded: NodeIx, nb: &Neighbour<'s>) -> Option<String> {
        match self.dir {
            SubgraphDirection::Refs => {
                merged_label(nb.labels.iter().map(|&l| label_text(l)), u64::from(nb.refs))
            }
            SubgraphDirection::Backrefs => {
                backref_label(self.snap, nb.node, expanded, u64::from(nb.refs))
            }
        }
    }
}

/// `(value, run length)` for each run of equal adjacent values: referrer lists are sorted,
/// so this gives each referrer once with its number of references.
fn distinct_runs(sorted: &[NodeIx]) -> impl Iterator<Item = (NodeIx, u32)> + '_ {
    sorted
        .chunk_by(|a, b| a == b)
        .map(|run| (run[0], run.len() as u32))
}

fn label_text(label: EdgeLabel<'_>) -> Option<String> {
    match label {
        EdgeLabel::Unknown => None,
        other => Some(other.to_string()),
    }
}

/// The label of the `refs` references `src` → `dst` ([`merged_label`]).
fn backref_label(snap: &Snapshot, src: NodeIx, dst: NodeIx, refs: u64) -> Option<String> {
    let labels = snap
        .labels_between(src, dst)
        .take(LABELS_READ)
        .map(label_text);
    merged_label(labels, refs)
}

/// Labels an edge lists before it says `… ×N`.
pub const LABELS_SHOWN: usize = 3;
/// Labels read for an edge: one more than shown, to tell "all of them" from "cut".
pub const LABELS_READ: usize = LABELS_SHOWN + 1;

/// The label of one edge standing for `refs` references, from the labels of the first few
/// (`None`: unknown, shown as `?`; at most [`LABELS_READ`] are read): all of them joined by
/// `, ` when there are at most [`LABELS_READ`], else the first [`LABELS_SHOWN`] and
/// `… ×2,000,000`. `None` for a single unknown reference; `×N` when none of several is known.
/// A list holding one object two million times is one arrow with a short label.
pub fn merged_label(labels: impl Iterator<Item = Option<String>>, refs: u64) -> Option<String> {
    let read: Vec<Option<String>> = labels.take(LABELS_READ).collect();
    let count = crate::render::text::thousands(refs);
    if read.iter().all(Option::is_none) {
        return (refs > 1).then(|| format!("×{count}"));
    }
    let cut = refs > LABELS_READ as u64 || refs > read.len() as u64;
    let shown = if cut { LABELS_SHOWN } else { read.len() };
    let texts: Vec<&str> = read[..shown.min(read.len())]
        .iter()
        .map(|l| l.as_deref().unwrap_or("?"))
        .collect();
    let mut text = texts.join(", ");
    if cut {
        text.push_str(&format!(", … ×{count}"));
    }
    Some(text)
}

fn has_type(types: Option<&[u32]>, snap: &Snapshot, n: NodeIx) -> bool {
    types.is_some_and(|t| t.contains(&snap.type_index(n)))
}

/// An entry of `sys.modules`: objgraph's `is_proper_module`, where backrefs stop.
fn is_module_root(snap: &Snapshot, n: NodeIx) -> bool {
    matches!(snap.root(n).map(|r| &r.kind), Some(RootKind::Module { .. }))
}

/// A [`Subgraph`] as `--json` shows it and as the DOT renderer reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubgraphView {
    /// `refs` or `backrefs`.
    pub direction: SubgraphDirection,
    /// Nodes at this depth were not expanded.
    pub max_depth: usize,
    /// Edges drawn per expanded node at most.
    pub too_many: usize,
    /// Objects drawn at most before expansion stops.
    pub max_nodes: usize,
    /// True when `max_nodes` stopped the expansion.
    pub cap_reached: bool,
    /// Objects drawn but not expanded because of `max_nodes` (they are `truncated`).
    pub not_expanded_by_cap: usize,
    /// The objects, in BFS order (start objects first).
    pub nodes: Vec<SubgraphNodeView>,
    /// Fan-outs cut by `too_many` (or the node cap): one "N more" pseudo-node each.
    pub more: Vec<MoreView>,
    /// The references drawn, referrer → referent in both directions.
    pub edges: Vec<SubgraphEdgeView>,
}

/// One drawn object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubgraphNodeView {
    /// The address, `0x…`.
    pub id: String,
    /// Short type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Qualified type name.
    pub type_long: String,
    /// The snapshot's label, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Shallow size, bytes.
    pub size: u64,
    /// Distance from the start objects along the drawn edges (0 for a start object).
    pub depth: usize,
    /// One of the start objects.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub start: bool,
    /// Of a type given to `--highlight`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub highlight: bool,
    /// A module (backrefs draw `sys.modules` entries without expanding them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub module: bool,
    /// Not expanded (depth limit or node cap) although it has neighbours to show.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// A "N more references" / "N more backreferences" pseudo-node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoreView {
    /// The id of the object whose fan-out was cut.
    pub of: String,
    /// How many neighbours are not drawn (refs: references; backrefs: referrers).
    pub count: usize,
}

/// One drawn edge: all the references of one object to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubgraphEdgeView {
    /// The referrer's id.
    pub from: String,
    /// The referent's id.
    pub to: String,
    /// The reference's label (`[0]`, `['key']`, `.attr`, `local 'x'`); several labels are
    /// joined by `, ` (`?` for an unknown one), more than four cut to the first three and
    /// `… ×N`. Absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// How many references it stands for, when more than one.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub refs: u32,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

impl Subgraph {
    /// The serde view: plain data with ids instead of indices.
    pub fn view(&self) -> SubgraphView {
        SubgraphView {
            direction: self.direction,
            max_depth: self.options.max_depth,
            too_many: self.options.too_many,
            max_nodes: self.options.max_nodes,
            cap_reached: self.cap_reached,
            not_expanded_by_cap: self.not_expanded_by_cap,
            nodes: self.objects().map(|(_, o)| node_view(o)).collect(),
            more: self.more_views(),
            edges: self.edge_views(),
        }
    }

    fn more_views(&self) -> Vec<MoreView> {
        let ids: FxHashMap<NodeIx, ObjectId> =
            self.objects().map(|(_, o)| (o.node, o.id)).collect();
        // A "more" node's `of` is always drawn: it is the object that was expanded.
        let id = |n: NodeIx| ids.get(&n).map_or_else(String::new, ToString::to_string);
        self.graph
            .node_weights()
            .filter_map(|w| match w {
                SubNode::More(m) => Some(MoreView {
                    of: id(m.of),
                    count: m.count,
                }),
                SubNode::Object(_) => None,
            })
            .collect()
    }

    fn edge_views(&self) -> Vec<SubgraphEdgeView> {
        let g = &self.graph;
        g.edge_indices()
            .filter_map(|e| {
                let (a, b) = g.edge_endpoints(e)?;
                let (from, to) = (g[a].object()?, g[b].object()?);
                Some(SubgraphEdgeView {
                    from: from.id.to_string(),
                    to: to.id.to_string(),
                    label: g[e].label.clone(),
                    refs: g[e].refs,
                })
            })
            .collect()
    }
}

fn node_view(o: &ObjectNode) -> SubgraphNodeView {
    SubgraphNodeView {
        id: o.id.to_string(),
        type_name: o.type_short.clone(),
        type_long: o.type_long.clone(),
        label: o.label.clone(),
        size: o.size,
        depth: o.depth,
        start: o.start,
        highlight: o.highlight,
        module: o.module,
        truncated: o.truncated,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::snapshot::parse_snapshot;
    use petgraph::visit::EdgeRef;
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::{HashMap, HashSet};
    use std::path::Path;

    /// One object of a test heap: id, type `module.qualname`, label, references.
    pub(crate) struct Obj<'a> {
        pub id: u64,
        pub ty: &'a str,
        pub label: Option<&'a str>,
        pub refs: Vec<(u64, Option<&'a str>)>,
    }

    /// A heap of one object 1 of type `ty` and label `label` holding one `str` per text of
    /// `texts` (ids 10, 11, ...), each reference named by its text: the renderers' test of
    /// hostile heap text, in labels and edge names alike.
    pub(crate) fn hostile_text_heap(ty: &str, label: &str, texts: &[&str]) -> Snapshot {
        let refs: Vec<(u64, Option<&str>)> = texts
            .iter()
            .enumerate()
            .map(|(i, l)| (10 + i as u64, Some(*l)))
            .collect();
        let mut objects = vec![obj(1, ty, Some(label), &refs)];
        objects.extend(
            texts
                .iter()
                .enumerate()
                .map(|(i, l)| obj(10 + i as u64, "str", Some(*l), &[])),
        );
        heap(&objects, &[])
    }

    /// A snapshot from objects and module roots `(name, id)`, written as the dumper would.
    pub(crate) fn heap(objects: &[Obj<'_>], modules: &[(&str, u64)]) -> Snapshot {
        let mut types: Vec<&str> = Vec::new();
        for o in objects {
            if !types.contains(&o.ty) {
                types.push(o.ty);
            }
        }
        let names: Vec<[&str; 2]> = types
            .iter()
            .map(|t| t.rsplit_once('.').map_or(["builtins", t], |(m, q)| [m, q]))
            .collect();
        let col = |f: &dyn Fn(&Obj<'_>) -> serde_json::Value| -> Vec<serde_json::Value> {
            objects.iter().map(f).collect()
        };
        let mut lines = vec![
            json!({"kind":"header","format":"refgraph-snapshot","version":[1,0]}),
            json!({"kind":"types","base":0,"names":names}),
            json!({"kind":"objects",
                "id": col(&|o| json!(o.id)),
                "type": col(&|o| json!(types.iter().position(|t| *t == o.ty))),
                "size": col(&|o| json!(16 + 8 * o.refs.len())),
                "refcount": col(&|_| json!(1)),
                "flags": col(&|_| json!(2)),
                "label": col(&|o| json!(o.label)),
                "nrefs": col(&|o| json!(o.refs.len())),
                "refs": objects.iter().flat_map(|o| o.refs.iter().map(|r| r.0)).collect::<Vec<_>>(),
                "edge_labels": objects.iter().flat_map(|o| o.refs.iter().map(|r| r.1)).collect::<Vec<_>>(),
            }),
        ];
        for (name, id) in modules {
            lines.push(json!({"kind":"root","root":"module","name":name,"id":id}));
        }
        let edges: usize = objects.iter().map(|o| o.refs.len()).sum();
        lines.push(json!({"kind":"end","objects":objects.len(),"edges":edges}));
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        parse_snapshot(Path::new("t"), text.as_bytes()).expect("test heap loads")
    }

    pub(crate) fn obj<'a>(
        id: u64,
        ty: &'a str,
        label: Option<&'a str>,
        refs: &[(u64, Option<&'a str>)],
    ) -> Obj<'a> {
        Obj {
            id,
            ty,
            label,
            refs: refs.to_vec(),
        }
    }

    fn node(s: &Snapshot, id: u64) -> NodeIx {
        s.node_by_id(ObjectId(id)).expect("id in test heap")
    }

    /// The seed example: `a = [1, 2, 3]; b = [4, 5, 6]; a.append(b); b.append(a)`, both
    /// globals of module `__main__`.
    pub(crate) fn seed() -> Snapshot {
        let idx = [Some("[0]"), Some("[1]"), Some("[2]"), Some("[3]")];
        heap(
            &[
                obj(1, "module", Some("__main__"), &[(2, Some(".__dict__"))]),
                obj(
                    2,
                    "dict",
                    Some("2 items"),
                    &[
                        (20, Some("key 'a'")),
                        (10, Some("['a']")),
                        (21, Some("key 'b'")),
                        (11, Some("['b']")),
                    ],
                ),
                obj(
                    10,
                    "list",
                    Some("4 items"),
                    &[(101, idx[0]), (102, idx[1]), (103, idx[2]), (11, idx[3])],
                ),
                obj(
                    11,
                    "list",
                    Some("4 items"),
                    &[(104, idx[0]), (105, idx[1]), (106, idx[2]), (10, idx[3])],
                ),
                obj(20, "str", Some("'a'"), &[]),
                obj(21, "str", Some("'b'"), &[]),
                obj(101, "int", Some("1"), &[]),
                obj(102, "int", Some("2"), &[]),
                obj(103, "int", Some("3"), &[]),
                obj(104, "int", Some("4"), &[]),
                obj(105, "int", Some("5"), &[]),
                obj(106, "int", Some("6"), &[]),
            ],
            &[("__main__", 1)],
        )
    }

    fn edges_of(view: &SubgraphView) -> Vec<(String, String, Option<String>)> {
        view.edges
            .iter()
            .map(|e| (e.from.clone(), e.to.clone(), e.label.clone()))
            .collect()
    }

    fn e(from: &str, to: &str, label: &str) -> (String, String, Option<String>) {
        (
            from.into(),
            to.into(),
            (!label.is_empty()).then(|| label.to_string()),
        )
    }

    #[test]
    fn refs_of_the_seed_list_are_objgraphs_eight_nodes_with_labelled_edges() {
        let s = seed();
        let sub = subgraph(
            &s,
            &[node(&s, 10)],
            SubgraphDirection::Refs,
            &SubgraphOptions::default(),
        );
        let v = sub.view();
        let ids: Vec<&str> = v.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(
            ids,
            ["0xa", "0x65", "0x66", "0x67", "0xb", "0x68", "0x69", "0x6a"]
        );
        let depths: Vec<usize> = v.nodes.iter().map(|n| n.depth).collect();
        assert_eq!(depths, [0, 1, 1, 1, 1, 2, 2, 2]);
        assert_eq!(
            edges_of(&v)[..5],
            [
                e("0xa", "0x65", "[0]"),
                e("0xa", "0x66", "[1]"),
                e("0xa", "0x67", "[2]"),
                e("0xa", "0xb", "[3]"),
                e("0xb", "0x68", "[0]")
            ]
        );
        assert_eq!(v.edges.len(), 8, "b -> a is drawn, a is not entered again");
        assert!(v.nodes[0].start && v.nodes.iter().skip(1).all(|n| !n.start));
        assert!(v.more.is_empty() && !v.cap_reached && v.nodes.iter().all(|n| !n.truncated));
    }

    #[test]
    fn backrefs_stop_at_the_module_and_label_the_referrers_references() {
        let s = seed();
        let sub = subgraph(
            &s,
            &[node(&s, 10)],
            SubgraphDirection::Backrefs,
            &SubgraphOptions::default(),
        );
        let v = sub.view();
        let ids: Vec<&str> = v.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["0xa", "0x2", "0xb", "0x1"]);
        assert_eq!(
            edges_of(&v),
            [
                e("0x2", "0xa", "['a']"),
                e("0xb", "0xa", "[3]"),
                e("0x1", "0x2", ".__dict__"),
                e("0x2", "0xb", "['b']"),
                e("0xa", "0xb", "[3]")
            ]
        );
        let module = &v.nodes[3];
        assert!(
            module.module && !module.truncated,
            "a module is a stop, not a cut"
        );
    }

    /// The CLI expands a module asked about (its referrers were asked for); objgraph's
    /// `show_backrefs([module])`, which the drop-in asks for, draws it alone.
    #[test]
    fn a_start_module_is_expanded_unless_objgraph_modules_are_asked_for() {
        // sys.modules (a dict) → module m
        let s = heap(
            &[
                obj(1, "module", Some("m"), &[]),
                obj(2, "dict", Some("1 item"), &[(1, Some("['m']"))]),
            ],
            &[("m", 1)],
        );
        let start = [node(&s, 1)];
        let cli = subgraph(
            &s,
            &start,
            SubgraphDirection::Backrefs,
            &SubgraphOptions::default(),
        );
        assert_eq!(
            cli.view().nodes.len(),
            2,
            "the CLI draws the module's referrer"
        );
        let opts = SubgraphOptions {
            modules_stop_at_start: true,
            ..SubgraphOptions::default()
        };
        let v = subgraph(&s, &start, SubgraphDirection::Backrefs, &opts).view();
        assert_eq!(v.nodes.len(), 1);
        assert!(v.nodes[0].module && !v.nodes[0].truncated);
        assert!(v.edges.is_empty() && v.more.is_empty());
    }

    #[test]
    fn a_start_module_is_expanded_in_backrefs() {
        let s = heap(
            &[
                obj(1, "module", Some("m"), &[]),
                obj(2, "dict", Some("1 item"), &[(1, Some("['m']"))]),
            ],
            &[("m", 1)],
        );
        let sub = subgraph(
            &s,
            &[node(&s, 1)],
            SubgraphDirection::Backrefs,
            &SubgraphOptions::default(),
        );
        assert_eq!(sub.view().edges.len(), 1);
    }

    fn fan_out(n: u64) -> Snapshot {
        let labels: Vec<String> = (0..n).map(|i| format!("[{i}]")).collect();
        let refs: Vec<(u64, Option<&str>)> = (0..n)
            .map(|i| (100 + i, Some(labels[i as usize].as_str())))
            .collect();
        let mut objects = vec![obj(1, "list", Some("13 items"), &refs)];
        objects.extend((0..n).map(|i| obj(100 + i, "int", None, &[(1, None)])));
        heap(&objects, &[])
    }

    #[test]
    fn too_many_keeps_the_first_references_and_counts_the_rest() {
        let s = fan_out(13);
        let sub = subgraph(
            &s,
            &[node(&s, 1)],
            SubgraphDirection::Refs,
            &SubgraphOptions::default(),
        );
        let v = sub.view();
        let from_list: Vec<_> = v.edges.iter().filter(|e| e.from == "0x1").collect();
        assert_eq!(from_list.len(), 10);
        assert_eq!(from_list[9].label.as_deref(), Some("[9]"));
        assert_eq!(
            v.more,
            [MoreView {
                of: "0x1".into(),
                count: 3
            }]
        );
        let back = subgraph(
            &s,
            &[node(&s, 1)],
            SubgraphDirection::Backrefs,
            &SubgraphOptions::default(),
        );
        assert_eq!(
            back.view().more,
            [MoreView {
                of: "0x1".into(),
                count: 3
            }]
        );
    }

    #[test]
    fn merged_labels_list_up_to_four_and_cut_the_rest() {
        let l = |xs: &[Option<&str>], refs| {
            merged_label(xs.iter().map(|x| x.map(str::to_string)), refs)
        };
        assert_eq!(l(&[Some("[0]")], 1).as_deref(), Some("[0]"));
        assert_eq!(l(&[None], 1), None);
        assert_eq!(l(&[None, None], 2).as_deref(), Some("×2"));
        assert_eq!(l(&[Some("[0]"), None], 2).as_deref(), Some("[0], ?"));
        let four = [Some("[0]"), Some("[1]"), Some("[2]"), Some("[3]")];
        assert_eq!(l(&four, 4).as_deref(), Some("[0], [1], [2], [3]"));
        assert_eq!(
            l(&four, 2_000_000).as_deref(),
            Some("[0], [1], [2], … ×2,000,000")
        );
        // Only the first few labels are read, however many are offered.
        let many = (0..).map(|i| Some(format!("[{i}]")));
        assert_eq!(
            merged_label(many, 7).as_deref(),
            Some("[0], [1], [2], … ×7")
        );
    }

    /// `a = []; a.extend([a] * n); a.append(b); b.x = a`-like heaps: a list holding itself
    /// and another object many times. Every picture has one edge per pair of objects, with
    /// a short label, and "more" counts what was not drawn.
    #[test]
    fn parallel_references_are_one_edge_in_every_picture() {
        for n in [2usize, 5, 3000] {
            let mut refs: Vec<(u64, Option<&str>)> = Vec::new();
            let labels: Vec<String> = (0..2 * n).map(|i| format!("[{i}]")).collect();
            for i in 0..n {
                refs.push((1, Some(labels[2 * i].as_str())));
                refs.push((2, Some(labels[2 * i + 1].as_str())));
            }
            refs.push((3, Some("[last]")));
            let s = heap(
                &[
                    obj(1, "list", Some("many items"), &refs),
                    obj(2, "Thing", None, &[(1, Some(".back")), (1, Some(".again"))]),
                    obj(3, "int", Some("7"), &[]),
                ],
                &[],
            );
            let one_edge_per_pair = |v: &SubgraphView| {
                let mut pairs: Vec<(&str, &str)> = v
                    .edges
                    .iter()
                    .map(|e| (e.from.as_str(), e.to.as_str()))
                    .collect();
                let all = pairs.len();
                pairs.sort_unstable();
                pairs.dedup();
                assert_eq!(pairs.len(), all, "{n}: {:?}", v.edges);
                for e in &v.edges {
                    let label = e.label.as_deref().unwrap_or("");
                    assert!(label.chars().count() <= 40, "{n}: {label}");
                }
            };
            let refs_view = subgraph(
                &s,
                &[node(&s, 1)],
                SubgraphDirection::Refs,
                &SubgraphOptions {
                    too_many: 2,
                    ..SubgraphOptions::default()
                },
            )
            .view();
            one_edge_per_pair(&refs_view);
            let self_edge = refs_view
                .edges
                .iter()
                .find(|e| e.from == "0x1" && e.to == "0x1")
                .expect("the self-reference");
            assert_eq!(self_edge.refs as usize, n);
            if n > 4 {
                let want = format!(
                    "[0], [2], [4], … ×{}",
                    crate::render::text::thousands(n as u64)
                );
                assert_eq!(self_edge.label.as_deref(), Some(want.as_str()));
            }
            // Two referents drawn (too_many = 2), the int's one reference left in "more".
            assert_eq!(
                refs_view.more,
                [MoreView {
                    of: "0x1".into(),
                    count: 1
                }]
            );
            let back = subgraph(
                &s,
                &[node(&s, 1)],
                SubgraphDirection::Backrefs,
                &SubgraphOptions::default(),
            )
            .view();
            one_edge_per_pair(&back);
            let cycle = cycle_view(&s, &[node(&s, 1), node(&s, 2)], 300).view();
            one_edge_per_pair(&cycle);
            assert_eq!(cycle.edges.len(), 3, "1→1, 1→2, 2→1: {:?}", cycle.edges);
            assert_eq!(
                cycle.edges.iter().map(|e| e.refs as usize).sum::<usize>(),
                2 * n + 2
            );
            let chain = chain_view(
                &s,
                &[vec![node(&s, 2), node(&s, 1)]],
                SubgraphDirection::Backrefs,
            )
            .view();
            one_edge_per_pair(&chain);
            assert_eq!(chain.edges[0].label.as_deref(), Some(".back, .again"));
        }
    }

    #[test]
    fn a_referrer_with_several_references_is_one_edge_with_all_labels() {
        let s = heap(
            &[
                obj(
                    1,
                    "dict",
                    Some("2 items"),
                    &[
                        (3, Some("key 'a'")),
                        (2, Some("['a']")),
                        (4, None),
                        (2, None),
                    ],
                ),
                obj(2, "Thing", None, &[]),
                obj(3, "str", Some("'a'"), &[]),
                obj(4, "str", None, &[]),
            ],
            &[],
        );
        let v = subgraph(
            &s,
            &[node(&s, 2)],
            SubgraphDirection::Backrefs,
            &SubgraphOptions::default(),
        )
        .view();
        assert_eq!(v.edges.len(), 1);
        assert_eq!(v.edges[0].label.as_deref(), Some("['a'], ?"));
        assert_eq!(v.edges[0].refs, 2);
    }

    #[test]
    fn nodes_at_max_depth_with_more_to_show_are_truncated() {
        let s = seed();
        let opts = SubgraphOptions {
            max_depth: 1,
            ..SubgraphOptions::default()
        };
        let v = subgraph(&s, &[node(&s, 10)], SubgraphDirection::Refs, &opts).view();
        let truncated: Vec<&str> = v
            .nodes
            .iter()
            .filter(|n| n.truncated)
            .map(|n| n.id.as_str())
            .collect();
        assert_eq!(truncated, ["0xb"], "the ints have nothing to show");
    }

    #[test]
    fn the_node_cap_stops_expansion_and_says_so() {
        let s = seed();
        let opts = SubgraphOptions {
            max_nodes: 3,
            ..SubgraphOptions::default()
        };
        let v = subgraph(&s, &[node(&s, 10)], SubgraphDirection::Refs, &opts).view();
        assert_eq!(v.nodes.len(), 3);
        assert!(v.cap_reached);
        assert_eq!(
            v.more,
            [MoreView {
                of: "0xa".into(),
                count: 2
            }]
        );
        assert_eq!(v.not_expanded_by_cap, 0, "two ints: nothing to expand");
    }

    #[test]
    fn filter_ignore_and_highlight_apply_to_neighbours() {
        let s = seed();
        let int = s.type_index(node(&s, 101));
        let list = s.type_index(node(&s, 10));
        let opts = SubgraphOptions {
            filter: Some(vec![int]),
            ignore: vec![node(&s, 102)],
            highlight: Some(vec![list]),
            ..SubgraphOptions::default()
        };
        let v = subgraph(&s, &[node(&s, 10)], SubgraphDirection::Refs, &opts).view();
        let ids: Vec<&str> = v.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(
            ids,
            ["0xa", "0x65", "0x67"],
            "the start list passes, b is filtered, 2 ignored"
        );
        assert!(v.nodes[0].highlight && !v.nodes[1].highlight);
    }

    #[test]
    fn the_json_view_round_trips_with_unknown_fields_denied() {
        let s = seed();
        let v = subgraph(
            &s,
            &[node(&s, 10)],
            SubgraphDirection::Backrefs,
            &SubgraphOptions::default(),
        )
        .view();
        let text = serde_json::to_string(&v).expect("serializes");
        let back: SubgraphView = serde_json::from_str(&text).expect("deserializes");
        assert_eq!(back, v);
        assert!(text.contains(r#""direction":"backrefs""#) && text.contains(r#""type":"list""#));
        let extra = text.replacen(r#""size""#, r#""bogus":1,"size""#, 1);
        assert!(serde_json::from_str::<SubgraphView>(&extra).is_err());
    }

    // ---- property tests -------------------------------------------------------------

    const TYPES: [&str; 4] = ["list", "dict", "module", "app.Thing"];
    const LABELS: [&str; 4] = ["[0]", ".x", "['k\"\\\\']", "local 'y'"];

    /// A random heap: per object a type and references `(target, label)`.
    type Spec = Vec<(usize, Vec<(usize, Option<usize>)>)>;

    fn arb_spec() -> impl Strategy<Value = Spec> {
        (1usize..10).prop_flat_map(|n| {
            let refs = prop::collection::vec((0..n, prop::option::of(0..LABELS.len())), 0..5);
            prop::collection::vec((0..TYPES.len(), refs), n)
        })
    }

    fn build(spec: &Spec) -> Snapshot {
        let objects: Vec<Obj<'_>> = spec
            .iter()
            .enumerate()
            .map(|(i, (ty, refs))| Obj {
                id: 1000 + i as u64,
                ty: TYPES[*ty],
                label: (*ty == 0).then_some("n items"),
                refs: refs
                    .iter()
                    .map(|&(t, l)| (1000 + t as u64, l.map(|l| LABELS[l])))
                    .collect(),
            })
            .collect();
        // Every other module instance is in sys.modules.
        let modules: Vec<(String, u64)> = objects
            .iter()
            .filter(|o| o.ty == "module" && o.id % 2 == 0)
            .map(|o| (format!("m{}", o.id), o.id))
            .collect();
        let modules: Vec<(&str, u64)> = modules.iter().map(|(n, id)| (n.as_str(), *id)).collect();
        heap(&objects, &modules)
    }

    #[derive(Debug, Clone)]
    struct Case {
        spec: Spec,
        starts: Vec<NodeIx>,
        backrefs: bool,
        opts: SubgraphOptions,
    }

    fn arb_case() -> impl Strategy<Value = Case> {
        arb_spec().prop_flat_map(|spec| {
            let n = spec.len() as u32;
            let types = || prop::option::of(prop::collection::vec(0..TYPES.len() as u32, 0..3));
            (
                Just(spec),
                prop::collection::vec(0..n, 1..3),
                prop::collection::vec(0..n, 0..3),
                any::<bool>(),
                (types(), types(), 0usize..4, 0usize..5, 1usize..12),
            )
                .prop_map(
                    |(
                        spec,
                        starts,
                        ignore,
                        backrefs,
                        (filter, highlight, max_depth, too_many, max_nodes),
                    )| {
                        let ignore = ignore.into_iter().filter(|i| !starts.contains(i)).collect();
                        let opts = SubgraphOptions {
                            max_depth,
                            too_many,
                            max_nodes,
                            filter,
                            ignore,
                            highlight,
                            modules_stop_at_start: false,
                        };
                        Case {
                            spec,
                            starts,
                            backrefs,
                            opts,
                        }
                    },
                )
        })
    }

    /// The snapshot's own rules, without `too_many` or the cap: what may be entered, and
    /// what is expanded when reached.
    struct Reference<'a> {
        s: &'a Snapshot,
        c: &'a Case,
    }

    impl Reference<'_> {
        fn dir(&self) -> SubgraphDirection {
            if self.c.backrefs {
                SubgraphDirection::Backrefs
            } else {
                SubgraphDirection::Refs
            }
        }
        fn eligible(&self, n: NodeIx) -> bool {
            let ty = self.s.type_index(n);
            !self.c.opts.ignore.contains(&n)
                && self.c.opts.filter.as_ref().is_none_or(|f| f.contains(&ty))
        }
        fn module_stop(&self, n: NodeIx) -> bool {
            self.c.backrefs && !self.c.starts.contains(&n) && is_module_root(self.s, n)
        }
        fn raw(&self, n: NodeIx) -> &[NodeIx] {
            if self.c.backrefs {
                self.s.referrers(n)
            } else {
                self.s.referents(n)
            }
        }
        /// Eligible neighbours as drawn, each once with its number of references: distinct
        /// referents in the order of their first slot for refs, referrers for backrefs.
        fn neighbours(&self, n: NodeIx) -> Vec<(NodeIx, u32)> {
            let raw: Vec<NodeIx> = self.raw(n).to_vec();
            let mut all: Vec<(NodeIx, u32)> = Vec::new();
            for m in raw.into_iter().filter(|&m| self.eligible(m)) {
                match all.iter_mut().find(|(k, _)| *k == m) {
                    Some((_, refs)) => *refs += 1,
                    None => all.push((m, 1)),
                }
            }
            all
        }
        /// What a "more" node counts of a neighbour: references (refs), referrers (backrefs).
        fn unit(&self, refs: u32) -> usize {
            if self.c.backrefs {
                1
            } else {
                refs as usize
            }
        }
        /// BFS distances from the starts, entering only eligible nodes, not expanding
        /// stopped modules.
        fn distances(&self) -> HashMap<NodeIx, usize> {
            let mut dist: HashMap<NodeIx, usize> = self.c.starts.iter().map(|&s| (s, 0)).collect();
            let mut queue: VecDeque<NodeIx> = self.c.starts.iter().copied().collect();
            while let Some(u) = queue.pop_front() {
                if self.module_stop(u) {
                    continue;
                }
                for &v in self.raw(u) {
                    if self.eligible(v) && !dist.contains_key(&v) {
                        dist.insert(v, dist[&u] + 1);
                        queue.push_back(v);
                    }
                }
            }
            dist
        }
    }

    /// Distances along drawn object edges, in the search direction, from the drawn starts.
    fn drawn_distances(sub: &Subgraph) -> HashMap<NodeIndex, usize> {
        let dir = match sub.direction {
            SubgraphDirection::Refs => petgraph::Direction::Outgoing,
            SubgraphDirection::Backrefs => petgraph::Direction::Incoming,
        };
        let mut dist: HashMap<NodeIndex, usize> = sub
            .objects()
            .filter(|(_, o)| o.start)
            .map(|(i, _)| (i, 0))
            .collect();
        let mut queue: VecDeque<NodeIndex> = dist.keys().copied().collect();
        while let Some(u) = queue.pop_front() {
            for v in sub.graph.neighbors_directed(u, dir) {
                if sub.graph[v].object().is_some() && !dist.contains_key(&v) {
                    dist.insert(v, dist[&u] + 1);
                    queue.push_back(v);
                }
            }
        }
        dist
    }

    /// The edges drawn by expanding `gi` (in the search direction), in drawing order, and
    /// the count of its "more" node.
    fn expansion(sub: &Subgraph, gi: NodeIndex) -> (Vec<(NodeIx, u32)>, usize) {
        let dir = match sub.direction {
            SubgraphDirection::Refs => petgraph::Direction::Outgoing,
            SubgraphDirection::Backrefs => petgraph::Direction::Incoming,
        };
        let mut edges: Vec<_> = sub.graph.edges_directed(gi, dir).collect();
        edges.sort_by_key(|e| e.id());
        let mut drawn = Vec::new();
        let mut more = 0;
        for e in edges {
            let other = if e.source() == gi {
                e.target()
            } else {
                e.source()
            };
            match &sub.graph[other] {
                SubNode::Object(o) => drawn.push((o.node, e.weight().refs)),
                SubNode::More(m) => more = m.count,
            }
        }
        (drawn, more)
    }

    fn check(c: &Case) -> Result<(), TestCaseError> {
        let s = build(&c.spec);
        let r = Reference { s: &s, c };
        let sub = subgraph(&s, &c.starts, r.dir(), &c.opts);
        let o = &c.opts;
        let reference = r.distances();
        let drawn = drawn_distances(&sub);
        let present: HashSet<NodeIx> = sub.objects().map(|(_, n)| n.node).collect();
        for &st in &c.starts {
            prop_assert!(present.contains(&st), "start {} missing", st);
        }
        let distinct_starts: HashSet<NodeIx> = c.starts.iter().copied().collect();
        prop_assert!(present.len() <= o.max_nodes.max(distinct_starts.len()));
        prop_assert!(!sub.cap_reached || present.len() >= o.max_nodes);
        let max_degree = s.nodes().map(|n| r.neighbours(n).len()).max().unwrap_or(0);
        let complete = !sub.cap_reached && o.too_many >= max_degree;
        let mut capped = 0;
        for (gi, n) in sub.objects() {
            prop_assert_eq!(n.start, c.starts.contains(&n.node));
            prop_assert!(
                n.start || !o.ignore.contains(&n.node),
                "ignored {} drawn",
                n.node
            );
            prop_assert!(n.depth <= o.max_depth);
            // Depth is the distance along drawn edges; never shorter than the true distance,
            // equal to it when neither too_many nor the cap dropped an edge.
            prop_assert_eq!(Some(&n.depth), drawn.get(&gi));
            prop_assert!(n.depth >= reference[&n.node]);
            if complete {
                prop_assert_eq!(n.depth, reference[&n.node]);
            }
            let expected = n.depth < o.max_depth && !r.module_stop(n.node);
            prop_assert!(
                !n.expanded || expected,
                "{} expanded but should not be",
                n.node
            );
            prop_assert!(n.expanded || !expected || sub.cap_reached);
            let (edges, more) = expansion(&sub, gi);
            let eligible = r.neighbours(n.node);
            if n.expanded {
                prop_assert!(edges.len() <= o.too_many);
                let units = |e: &[(NodeIx, u32)]| e.iter().map(|&(_, k)| r.unit(k)).sum::<usize>();
                prop_assert_eq!(units(&edges) + more, units(&eligible));
                let mut ends: Vec<NodeIx> = edges.iter().map(|&(m, _)| m).collect();
                ends.sort_unstable();
                ends.dedup();
                prop_assert_eq!(ends.len(), edges.len(), "one edge per pair of objects");
                prop_assert_eq!(
                    &edges[..],
                    &eligible[..edges.len()],
                    "first N in snapshot order"
                );
                prop_assert!(!n.truncated);
            } else {
                prop_assert!(edges.is_empty() && more == 0);
                let has_more = r.raw(n.node).iter().any(|&m| r.eligible(m));
                prop_assert_eq!(n.truncated, !r.module_stop(n.node) && has_more);
                capped += usize::from(n.truncated && expected);
            }
        }
        prop_assert_eq!(capped, sub.not_expanded_by_cap);
        if complete {
            let within: HashSet<NodeIx> = reference
                .iter()
                .filter(|&(_, &d)| d <= o.max_depth)
                .map(|(&n, _)| n)
                .collect();
            prop_assert_eq!(present, within);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_drawn_subgraph_obeys_depth_fan_out_filter_ignore_and_module_rules(c in arb_case()) {
            check(&c)?;
            let view = subgraph(&build(&c.spec), &c.starts, if c.backrefs { SubgraphDirection::Backrefs } else { SubgraphDirection::Refs }, &c.opts).view();
            let mut dot = Vec::new();
            crate::render::dot::write_dot(&mut dot, &view).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
    }
}
