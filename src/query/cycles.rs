//! `cycles`: the reference cycles of a heap — strongly connected components of two or more
//! objects, and single objects that refer to themselves — ranked by retained size (what
//! freeing the cycle would free), each with its types, whether anything rooted holds it, the
//! chain that does, and its inner edges.
//!
//! A cycle's retained size is [`Retained::retained_by_group`] of its members: what only the
//! cycle keeps alive, counting each object once (a lower bound when objects are held by two
//! members jointly). A garbage cycle is entered by the dominator tree at one member, which
//! then retains all of it.
//!
//! In a real heap the interpreter's own references join almost everything into one
//! component (instance → class → class `__dict__` → function → `__globals__` → module dict →
//! instance), so by default a few kinds of reference are left out: see [`EDGE_RULES_HELP`].

use super::chain::{backref_chain, ChainQuery, ChainView};
use super::object::ObjectInfo;
use super::retained::Retained;
use super::scc::{edge_mask, snapshot_sccs, Sccs};
use super::subgraph::{merged_label, LABELS_READ};
use crate::snapshot::{sum_sizes, EdgeLabel, NodeIx, RootKind, Snapshot};
use fixedbitset::FixedBitSet;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;

/// The references the default rules leave out, one line per rule (`refgraph cycles --help`
/// quotes it; `--all-edges` keeps them all).
///
/// In a heap every instance refers to its class, every class reaches its module's globals
/// through its methods' `__globals__`, and those globals hold the instances: one component
/// swallows a quarter of the heap. Measured with `dumper.py` on CPython 3.11.7 (largest
/// component, in objects, with the references of the rules named left out):
///
/// | heap | none | `classes` | `modules` | `classes` + `modules` | all three (default) |
/// |---|---|---|---|---|---|
/// | Flask app, 89,413 objects | 22,853 | 3,593 | 1,078 | 44 | 44 (Flask's URL map) |
/// | with boto3, sympy, networkx, asyncio, threads: 320,466 | 85,778 | 24,677 | 2,584 | 400 | 400 ¹ |
///
/// ¹ a boto3 session and its config providers: a real cycle.
///
/// - `classes`: nothing may enter a class, so classes are on no cycle. It cuts instance →
///   class (`.__class__`), an `__mro__`'s first item, `__objclass__`, `super()`'s `__class__`
///   cell, enum members ↔ their class. A class is an object of type `type`, or of a type
///   one of whose instances refers to its own `__mro__`, a tuple `(itself, …, object)`:
///   metaclasses (`ABCMeta`, `EnumType`) are found without relying on edge labels.
/// - `modules`: nothing may enter a module or a module's `__dict__` (a dict a module refers
///   to). It cuts `sys.modules`, `import` bindings, a function's `__globals__` and
///   `__builtins__`, a frame's `f_globals`/`f_builtins`.
/// - `namespaces`: a function's `.__globals__`/`.__builtins__` and a frame's
///   `.f_globals`/`.f_builtins` are cut even when the namespace is not a module's: `exec()`
///   namespaces (a Jinja template's render function, generated proxy methods) hold the
///   functions compiled into them (2 components in the Flask heap, 5 of 4 to 20 objects in
///   the larger one).
///
/// One direction is enough: an object nothing can enter lies on no cycle, so "references
/// from a class" (`__mro__`, `__bases__`, `__dict__`) need no rule, nor does the
/// `sys.modules` dict (it refers only to modules). Code objects, frames' `f_back` and thread
/// stacks formed no component in these heaps, so they keep their references. Everything
/// else is a real cycle, including library ones (a `logging` manager and its loggers,
/// asyncio tasks and their coroutines, networkx's self-referring decorated functions).
pub const EDGE_RULES_HELP: &str = "\
classes: references to classes (instance → class, super() cells, enum members): never members
modules: references to modules and module __dict__s (sys.modules, imports, __globals__, f_globals)
namespaces: .__globals__/.__builtins__ of functions, .f_globals/.f_builtins of frames (exec() too)";

/// What to look for.
#[derive(Debug, Clone)]
pub struct CyclesQuery {
    /// Keep every reference (no [`EDGE_RULES_HELP`] rules): the interpreter's structure shows
    /// as one large component.
    pub all_edges: bool,
    /// Only cycles whose total shallow size is at least this many bytes.
    pub min_size: u64,
    /// How many cycles to describe (those retaining the most first).
    pub limit: usize,
    /// Only cycles with a member of one of these types (indices into the type table).
    pub type_filter: Option<Vec<u32>>,
}

impl Default for CyclesQuery {
    fn default() -> Self {
        CyclesQuery {
            all_edges: false,
            min_size: 0,
            limit: 20,
            type_filter: None,
        }
    }
}

/// The `cycles` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cycles {
    /// Cycles that pass the filters (`cycles` holds the first `limit` of them).
    pub total_found: u64,
    /// True when every reference was kept (`--all-edges`).
    pub all_edges: bool,
    /// The rules that left references out, one line each (empty with `all_edges`).
    pub rules: Vec<String>,
    /// How many references the rules left out.
    pub references_left_out: u64,
    /// The cycles, by retained size descending, then total shallow size, then member count,
    /// then lowest id.
    pub cycles: Vec<CycleInfo>,
}

/// One cycle: a strongly connected component, or an object that refers to itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CycleInfo {
    /// Number of objects in it.
    pub members: u64,
    /// Sum of their shallow sizes, bytes.
    pub size: u64,
    /// Bytes the cycle keeps alive: the retained sizes of its members that no other member
    /// dominates, summed (at least its shallow size; see the module docs).
    pub retained: u64,
    /// Members per type, most frequent first (then largest).
    pub types: Vec<TypeCount>,
    /// Nothing rooted (no module, no thread frame) reaches it: only the cycle collector can
    /// free it.
    pub garbage: bool,
    /// The collector flagged its members as garbage when the dumper ran it.
    pub collector_flagged: bool,
    /// The shortest chain from a root to a member (the member nearest a root); `None` for
    /// garbage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<ChainView>,
    /// Up to 20 members, in breadth-first order along the cycle's references from the member
    /// `held_by` reaches (or from the largest member); all members when the cycle is that small.
    pub examples: Vec<ObjectInfo>,
    /// The references of the cycle between two of `examples`, one entry per pair of objects
    /// (however many references it stands for), at most [`MAX_EDGES`]: complete when
    /// `examples` holds all members and `edges_left_out` is 0, so renderers can draw `a ↔ b`.
    pub edges: Vec<CycleEdge>,
    /// Pairs of `examples` with references between them beyond the first [`MAX_EDGES`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub edges_left_out: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

/// How many members of one type a cycle has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeCount {
    /// Short type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Qualified type name.
    pub type_long: String,
    /// Members of this type.
    pub count: u64,
    /// Their total shallow size, bytes.
    pub size: u64,
}

/// A reference inside a cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CycleEdge {
    /// The referring object's id, `0x…`.
    pub from: String,
    /// The label of the reference (`.parent`, `[0]`, `['cb']`), when known; for several
    /// references their labels joined by `, `, more than four cut to the first three and
    /// `… ×N` (`a = []; a.extend([a] * 2_000_000)` is one entry, `[0], [1], [2], … ×2,000,000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The referenced object's id.
    pub to: String,
    /// How many references from `from` to `to` the entry stands for, when more than one.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub refs: u64,
}

/// How many members a cycle lists.
const MAX_EXAMPLES: usize = 20;
/// How many pairs of members with references between them a cycle lists.
pub const MAX_EDGES: usize = 40;

/// Find the reference cycles of `snap`, ranked by the retained sizes of `retained` (computed
/// here, on a second core while the components are found, when `None`).
pub fn cycles(snap: &Snapshot, q: &CyclesQuery, retained: Option<&Retained>) -> Cycles {
    match retained {
        Some(r) => ranked(snap, q, components(snap, q), r),
        None => {
            let (comps, r) = rayon::join(|| components(snap, q), || Retained::compute(snap));
            ranked(snap, q, comps, &r)
        }
    }
}

/// The kept references and the strongly connected components over them.
pub struct Components {
    mask: FixedBitSet,
    sccs: Sccs,
}

/// The components `q` asks about (the references its rules keep, and their SCCs).
pub fn components(snap: &Snapshot, q: &CyclesQuery) -> Components {
    let mask = if q.all_edges {
        all_kept(snap)
    } else {
        default_edge_mask(snap)
    };
    let sccs = snapshot_sccs(snap, Some(&mask));
    Components { mask, sccs }
}

/// The cycles among `comps`, ranked by the retained sizes of `r`.
pub fn ranked(snap: &Snapshot, q: &CyclesQuery, comps: Components, r: &Retained) -> Cycles {
    let Components { mask, sccs } = comps;
    let mut found = candidates(snap, &sccs, &mask, q, r);
    let total_found = found.len() as u64;
    found.sort_by_key(|c| c.rank);
    found.truncate(q.limit);
    let described = found
        .iter()
        .map(|c| describe(snap, &sccs, &mask, r, c))
        .collect();
    Cycles {
        total_found,
        all_edges: q.all_edges,
        rules: if q.all_edges {
            Vec::new()
        } else {
            rule_lines()
        },
        references_left_out: (mask.len() - mask.count_ones(..)) as u64,
        cycles: described,
    }
}

fn rule_lines() -> Vec<String> {
    EDGE_RULES_HELP.lines().map(str::to_string).collect()
}

fn all_kept(snap: &Snapshot) -> FixedBitSet {
    let mut m = FixedBitSet::with_capacity(snap.edge_count());
    m.insert_range(..);
    m
}

/// The references the default rules keep (see [`EDGE_RULES_HELP`]), one bit per reference in
/// [`scc::edge_mask`](super::scc::edge_mask) order.
pub fn default_edge_mask(snap: &Snapshot) -> FixedBitSet {
    let left_out = infrastructure(snap);
    edge_mask(snap, |_, label, dst| {
        !left_out.contains(dst as usize) && !is_namespace_label(label)
    })
}

/// The objects no reference may enter: classes, modules and module dicts.
pub(crate) fn infrastructure(snap: &Snapshot) -> FixedBitSet {
    let mut set = FixedBitSet::with_capacity(snap.node_count());
    let class_types = metaclasses(snap);
    let module_type = type_flags(snap, |m, q| m == "builtins" && q == "module");
    let dict_type = type_flags(snap, |m, q| m == "builtins" && q == "dict");
    for n in snap.nodes() {
        let t = snap.type_index(n) as usize;
        if class_types[t] {
            set.insert(n as usize);
        }
        if module_type[t] || is_module_root(snap, n) {
            set.insert(n as usize);
            let dicts = snap
                .referents(n)
                .iter()
                .filter(|&&d| dict_type[snap.type_index(d) as usize]);
            set.extend(dicts.map(|&d| d as usize));
        }
    }
    set
}

fn is_module_root(snap: &Snapshot, n: NodeIx) -> bool {
    matches!(snap.root(n).map(|r| &r.kind), Some(RootKind::Module { .. }))
}

/// One flag per entry of the type table.
fn type_flags(snap: &Snapshot, f: impl Fn(&str, &str) -> bool) -> Vec<bool> {
    snap.types()
        .iter()
        .map(|t| f(&t.module, &t.qualname))
        .collect()
}

/// The types whose instances are classes: `type`, and any type with an instance that refers
/// to its own `__mro__`: a tuple `(itself, …, object)` (either order, whichever way the dumper
/// wrote the items). Requiring `object` at the other end keeps a list or dict that holds a
/// tuple `(itself, x)` from passing for a class.
fn metaclasses(snap: &Snapshot) -> Vec<bool> {
    let mut meta = type_flags(snap, |m, q| m == "builtins" && q == "type");
    let tuple_type = type_flags(snap, |m, q| m == "builtins" && q == "tuple");
    let type_type = meta.clone();
    let is_object =
        |o: NodeIx| type_type[snap.type_index(o) as usize] && snap.label(o) == Some("object");
    let is_own_mro = |n: NodeIx, t: NodeIx| {
        let items = snap.referents(t);
        let ends = (items.first().copied(), items.last().copied());
        tuple_type[snap.type_index(t) as usize]
            && match ends {
                (Some(a), Some(z)) => (a == n && is_object(z)) || (z == n && is_object(a)),
                _ => false,
            }
    };
    for n in snap.nodes() {
        let t = snap.type_index(n) as usize;
        if !meta[t] && snap.referents(n).iter().any(|&m| is_own_mro(n, m)) {
            meta[t] = true;
        }
    }
    meta
}

/// A function's or frame's global or builtin namespace.
fn is_namespace_label(label: EdgeLabel<'_>) -> bool {
    matches!(
        label,
        EdgeLabel::Text(".__globals__" | ".__builtins__" | ".f_globals" | ".f_builtins")
    )
}

/// A cycle that passed the filters, with its sort key.
struct Candidate {
    comp: u32,
    retained: u64,
    /// (retained descending, size descending, members descending, lowest id).
    rank: (Reverse<u64>, Reverse<u64>, Reverse<usize>, u64),
}

/// Components of two or more members and self-referring singletons that pass `q`'s filters.
fn candidates(
    snap: &Snapshot,
    sccs: &Sccs,
    mask: &FixedBitSet,
    q: &CyclesQuery,
    r: &Retained,
) -> Vec<Candidate> {
    let mut comps: Vec<u32> = sccs.with_at_least(2).collect();
    comps.extend(
        self_loops(snap, mask)
            .filter(|&n| sccs.len(sccs.component_of(n)) == 1)
            .map(|n| sccs.component_of(n)),
    );
    comps
        .into_iter()
        .filter_map(|c| candidate(snap, sccs, c, q, r))
        .collect()
}

fn candidate(
    snap: &Snapshot,
    sccs: &Sccs,
    comp: u32,
    q: &CyclesQuery,
    r: &Retained,
) -> Option<Candidate> {
    let members = sccs.members(comp);
    let size = sum_sizes(members.iter().map(|&n| snap.size(n)));
    if size < q.min_size {
        return None;
    }
    if let Some(types) = &q.type_filter {
        if !members.iter().any(|&n| types.contains(&snap.type_index(n))) {
            return None;
        }
    }
    let lowest_id = members.iter().map(|&n| snap.id(n).0).min().unwrap_or(0);
    let retained = cycle_retained(sccs, comp, r);
    let rank = (
        Reverse(retained),
        Reverse(size),
        Reverse(members.len()),
        lowest_id,
    );
    Some(Candidate {
        comp,
        retained,
        rank,
    })
}

/// What component `comp` retains (see the module docs).
fn cycle_retained(sccs: &Sccs, comp: u32, r: &Retained) -> u64 {
    r.retained_by_group(sccs.members(comp), |d| sccs.component_of(d) == comp)
}

/// Nodes with a kept reference to themselves.
fn self_loops<'a>(snap: &'a Snapshot, mask: &'a FixedBitSet) -> impl Iterator<Item = NodeIx> + 'a {
    snap.nodes()
        .filter(move |&n| kept_referents(snap, mask, n).any(|m| m == n))
}

fn describe(
    snap: &Snapshot,
    sccs: &Sccs,
    mask: &FixedBitSet,
    r: &Retained,
    c: &Candidate,
) -> CycleInfo {
    let members = sccs.members(c.comp);
    let garbage = r.is_unreachable(members[0]);
    let held_by = if garbage {
        None
    } else {
        chain_to_nearest(snap, members)
    };
    let entry = match &held_by {
        Some((member, _)) => *member,
        None => largest(snap, members),
    };
    let examples = examples(snap, sccs, mask, entry);
    let edges = inner_edges(snap, mask, &examples);
    CycleInfo {
        members: members.len() as u64,
        size: sum_sizes(members.iter().map(|&n| snap.size(n))),
        retained: c.retained,
        types: type_counts(snap, members),
        garbage,
        collector_flagged: members.iter().any(|&n| snap.is_garbage(n)),
        held_by: held_by.map(|(_, view)| view),
        edges_left_out: (edges.len() - edges.len().min(MAX_EDGES)) as u64,
        edges: edges.into_iter().take(MAX_EDGES).collect(),
        examples: examples.iter().map(|&n| ObjectInfo::of(snap, n)).collect(),
    }
}

/// The largest member, lowest id on ties.
fn largest(snap: &Snapshot, members: &[NodeIx]) -> NodeIx {
    let key = |&n: &NodeIx| (std::cmp::Reverse(snap.size(n)), snap.id(n));
    members
        .iter()
        .copied()
        .min_by_key(key)
        .unwrap_or(members[0])
}

fn type_counts(snap: &Snapshot, members: &[NodeIx]) -> Vec<TypeCount> {
    let mut by_type: FxHashMap<u32, (u64, u64)> = FxHashMap::default();
    for &n in members {
        let e = by_type.entry(snap.type_index(n)).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(snap.size(n));
    }
    let mut counts: Vec<TypeCount> = by_type
        .into_iter()
        .map(|(t, (count, size))| {
            let name = &snap.types()[t as usize];
            TypeCount {
                type_name: name.short().to_string(),
                type_long: name.long(),
                count,
                size,
            }
        })
        .collect();
    counts.sort_by(|a, b| {
        (b.count, b.size)
            .cmp(&(a.count, a.size))
            .then_with(|| a.type_long.cmp(&b.type_long))
    });
    counts
}

/// The member a root reaches in the fewest references, and its chain (a chain from a root to
/// any other member would pass through it or be longer).
fn chain_to_nearest(snap: &Snapshot, members: &[NodeIx]) -> Option<(NodeIx, ChainView)> {
    let member = nearest_to_root(snap, members)?;
    let q = ChainQuery {
        max_depth: usize::MAX,
        ..Default::default()
    };
    let chain = backref_chain(snap, member, &q)?;
    Some((member, ChainView::of(snap, &chain)))
}

/// Breadth-first search backwards from all members at once, level by level. At the first
/// level that holds a root, the root chosen is a module before a thread frame, then the lowest
/// node index; the answer is the member whose search reached that root first.
fn nearest_to_root(snap: &Snapshot, members: &[NodeIx]) -> Option<NodeIx> {
    let mut origin: FxHashMap<NodeIx, NodeIx> = members.iter().map(|&m| (m, m)).collect();
    let mut frontier: Vec<NodeIx> = members.to_vec();
    while !frontier.is_empty() {
        if let Some(found) = best_root(snap, &frontier) {
            return origin.get(&found).copied();
        }
        let mut next = Vec::new();
        for &n in &frontier {
            let from = origin[&n];
            for &h in snap.referrers(n) {
                if let std::collections::hash_map::Entry::Vacant(e) = origin.entry(h) {
                    e.insert(from);
                    next.push(h);
                }
            }
        }
        frontier = next;
    }
    None
}

fn best_root(snap: &Snapshot, frontier: &[NodeIx]) -> Option<NodeIx> {
    let rank = |n: NodeIx| match snap.root(n)?.kind {
        RootKind::Module { .. } => Some(0),
        RootKind::ThreadFrame { .. } => Some(1),
    };
    frontier
        .iter()
        .filter_map(|&n| rank(n).map(|r| (r, n)))
        .min()
        .map(|(_, n)| n)
}

/// Up to [`MAX_EXAMPLES`] members, breadth-first from `entry` along kept references inside
/// its component.
fn examples(snap: &Snapshot, sccs: &Sccs, mask: &FixedBitSet, entry: NodeIx) -> Vec<NodeIx> {
    let comp = sccs.component_of(entry);
    let mut order = vec![entry];
    let mut i = 0;
    while i < order.len() && order.len() < MAX_EXAMPLES {
        let n = order[i];
        for m in kept_referents(snap, mask, n) {
            if sccs.component_of(m) == comp && !order.contains(&m) && order.len() < MAX_EXAMPLES {
                order.push(m);
            }
        }
        i += 1;
    }
    order
}

/// The referents of `n` along kept references, with their labels.
fn kept_referents<'a>(
    snap: &'a Snapshot,
    mask: &'a FixedBitSet,
    n: NodeIx,
) -> impl Iterator<Item = NodeIx> + 'a {
    kept_labelled(snap, mask, n).map(|(m, _)| m)
}

fn kept_labelled<'a>(
    snap: &'a Snapshot,
    mask: &'a FixedBitSet,
    n: NodeIx,
) -> impl Iterator<Item = (NodeIx, EdgeLabel<'a>)> + 'a {
    let start = super::scc::edge_slot(snap, n, 0);
    snap.labelled_referents(n)
        .enumerate()
        .filter(move |(k, _)| mask.contains(start + k))
        .map(|(_, e)| e)
}

/// The kept references between two of `nodes`, one entry per pair (in the order of `nodes`
/// and of each one's first reference to the other), labelled by [`merged_label`].
fn inner_edges(snap: &Snapshot, mask: &FixedBitSet, nodes: &[NodeIx]) -> Vec<CycleEdge> {
    let mut edges = Vec::new();
    for &n in nodes {
        // Per referent among `nodes`: references, and the first few labels.
        let mut pairs: Vec<(NodeIx, u64, Vec<Option<String>>)> = Vec::new();
        for (m, label) in kept_labelled(snap, mask, n) {
            if !nodes.contains(&m) {
                continue;
            }
            let i = match pairs.iter().position(|p| p.0 == m) {
                Some(i) => i,
                None => {
                    pairs.push((m, 0, Vec::new()));
                    pairs.len() - 1
                }
            };
            let (_, refs, labels) = &mut pairs[i];
            *refs += 1;
            if labels.len() < LABELS_READ {
                let text = label.to_string();
                labels.push((!text.is_empty()).then_some(text));
            }
        }
        edges.extend(pairs.into_iter().map(|(m, refs, labels)| CycleEdge {
            from: snap.id(n).to_string(),
            label: merged_label(labels.into_iter(), refs),
            to: snap.id(m).to_string(),
            refs,
        }));
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const TYPES: &str = r#"{"kind":"types","base":0,"names":[["builtins","module"],["builtins","dict"],["builtins","type"],["builtins","function"],["builtins","list"],["app","Node"],["builtins","tuple"],["builtins","method"],["abc","ABCMeta"],["app","Plugin"]]}"#;
    const MODULE: u32 = 0;
    const DICT: u32 = 1;
    const TYPE: u32 = 2;
    const FUNCTION: u32 = 3;
    const LIST: u32 = 4;
    const NODE: u32 = 5;
    const TUPLE: u32 = 6;
    const ABCMETA: u32 = 8;
    const PLUGIN: u32 = 9;

    /// An object line: id, type, size, flags, references as (target, label); a list or tuple
    /// (indexed) takes no labels.
    fn obj(id: u64, ty: u32, size: u64, flags: u8, refs: &[(u64, &str)]) -> String {
        labelled(id, ty, size, flags, None, refs)
    }

    /// The class `object` (id 6), which every `__mro__` ends with.
    fn object_class() -> String {
        labelled(6, TYPE, 400, 0, Some("object"), &[])
    }

    fn labelled(
        id: u64,
        ty: u32,
        size: u64,
        flags: u8,
        label: Option<&str>,
        refs: &[(u64, &str)],
    ) -> String {
        let label = label.map_or("null".to_string(), |l| format!("{l:?}"));
        let indexed = ty == LIST || ty == TUPLE;
        let targets: Vec<String> = refs.iter().map(|r| r.0.to_string()).collect();
        let labels: Vec<String> = if indexed {
            Vec::new()
        } else {
            refs.iter().map(|r| format!("{:?}", r.1)).collect()
        };
        let flags = flags | 2 | if indexed { 4 } else { 0 };
        format!(
            r#"{{"kind":"objects","id":[{id}],"type":[{ty}],"size":[{size}],"refcount":[1],"flags":[{flags}],"label":[{label}],"nrefs":[{}],"refs":[{}],"edge_labels":[{}]}}"#,
            refs.len(),
            targets.join(","),
            labels.join(",")
        )
    }

    fn snapshot(objects: &[String]) -> Snapshot {
        let text = format!(
            "{}\n{TYPES}\n{}\n{}\n",
            r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0]}"#,
            objects.join("\n"),
            r#"{"kind":"root","root":"module","name":"app","id":1}"#
        );
        crate::snapshot::parse_snapshot(Path::new("t"), text.as_bytes()).expect("valid snapshot")
    }

    /// A small interpreter-shaped heap: module `app` whose globals hold a class with a method,
    /// a function, and the user cycles `a ↔ b`, a `Node` ring, a self-referencing list, an
    /// ABCMeta class with an instance registry; plus a garbage pair nothing rooted reaches.
    fn heap() -> Snapshot {
        snapshot(&[
            obj(1, MODULE, 72, 0, &[(2, ".__dict__")]),
            obj(
                2,
                DICT,
                1000,
                0,
                &[
                    (3, "['Node']"),
                    (4, "['f']"),
                    (10, "['a']"),
                    (11, "['b']"),
                    (20, "['n1']"),
                    (30, "['s']"),
                    (50, "['Plugin']"),
                ],
            ),
            obj(3, TYPE, 900, 0, &[(5, ".__mro__"), (7, ".__dict__")]),
            obj(5, TUPLE, 56, 0, &[(3, ""), (6, "")]),
            object_class(),
            obj(7, DICT, 300, 0, &[(8, "['method']")]),
            obj(8, FUNCTION, 150, 0, &[(2, ".__globals__")]),
            obj(4, FUNCTION, 150, 0, &[(2, ".__globals__")]),
            obj(10, LIST, 80, 0, &[(11, "")]),
            obj(11, LIST, 88, 0, &[(10, "")]),
            obj(20, NODE, 48, 0, &[(21, ".__dict__"), (3, ".__class__")]),
            obj(21, DICT, 100, 0, &[(22, "['next']")]),
            obj(22, NODE, 48, 0, &[(23, ".__dict__"), (3, ".__class__")]),
            obj(23, DICT, 100, 0, &[(20, "['next']")]),
            obj(30, LIST, 64, 0, &[(30, "")]),
            obj(40, LIST, 500, 1, &[(41, "")]),
            obj(41, LIST, 500, 1, &[(40, "")]),
            obj(50, ABCMETA, 1000, 0, &[(51, ".__mro__"), (53, ".__dict__")]),
            obj(51, TUPLE, 56, 0, &[(50, ""), (6, "")]),
            obj(53, DICT, 200, 0, &[(52, "['instance']")]),
            obj(52, PLUGIN, 48, 0, &[(50, ".__class__")]),
        ])
    }

    fn ids(c: &CycleInfo) -> Vec<String> {
        let mut ids: Vec<String> = c.examples.iter().map(|o| o.id.clone()).collect();
        ids.sort();
        ids
    }

    fn all(q: CyclesQuery) -> CyclesQuery {
        CyclesQuery {
            limit: usize::MAX,
            ..q
        }
    }

    #[test]
    fn default_rules_find_the_user_cycles_and_no_blob() {
        let found = cycles(&heap(), &all(CyclesQuery::default()), None);
        let members: Vec<Vec<String>> = found.cycles.iter().map(ids).collect();
        // By size: garbage pair 1000 B, Node ring 296 B, a ↔ b 168 B, self list 64 B.
        assert_eq!(
            members,
            [
                vec!["0x28", "0x29"],
                vec!["0x14", "0x15", "0x16", "0x17"],
                vec!["0xa", "0xb"],
                vec!["0x1e"]
            ]
        );
        assert_eq!(found.total_found, 4);
        assert_eq!(found.cycles[1].size, 296);
        assert_eq!(found.cycles[1].members, 4);
        assert!(!found.all_edges);
        assert_eq!(found.rules, EDGE_RULES_HELP.lines().collect::<Vec<_>>());
        // Into classes: 3 × .__class__, 4 mro items, 2 module globals; into the module dict:
        // .__dict__ and 2 × .__globals__.
        assert_eq!(found.references_left_out, 12);
    }

    #[test]
    fn all_edges_shows_the_interpreter_blob() {
        let found = cycles(
            &heap(),
            &all(CyclesQuery {
                all_edges: true,
                ..Default::default()
            }),
            None,
        );
        let blob = &found.cycles[0];
        // module dict, class, its mro tuple, class dict, method, function, the Node ring.
        assert_eq!(blob.members, 10, "{:?}", ids(blob));
        assert!(ids(blob).contains(&"0x2".to_string()));
        assert!(ids(blob).contains(&"0x14".to_string()));
        assert!(found.rules.is_empty());
        assert_eq!(found.references_left_out, 0);
        let plugin = found
            .cycles
            .iter()
            .find(|c| ids(c).contains(&"0x34".to_string()));
        assert_eq!(
            plugin.map(|c| c.members),
            Some(4),
            "ABCMeta class ↔ instance registry"
        );
    }

    #[test]
    fn a_metaclass_instance_is_recognised_as_a_class_by_its_mro() {
        let found = cycles(&heap(), &all(CyclesQuery::default()), None);
        assert!(found
            .cycles
            .iter()
            .all(|c| !ids(c).contains(&"0x32".to_string())));
    }

    #[test]
    fn a_reversed_mro_still_marks_a_metaclass_and_a_dict_holding_itself_in_a_tuple_does_not() {
        let snap = snapshot(&[
            obj(1, MODULE, 72, 0, &[(2, ".__dict__")]),
            obj(2, DICT, 100, 0, &[(50, "['Plugin']"), (60, "['d']")]),
            obj(50, ABCMETA, 1000, 0, &[(51, ".__mro__"), (53, ".__dict__")]),
            obj(51, TUPLE, 56, 0, &[(6, ""), (50, "")]),
            object_class(),
            obj(53, DICT, 200, 0, &[(52, "['instance']")]),
            obj(52, PLUGIN, 48, 0, &[(50, ".__class__")]),
            obj(60, DICT, 100, 0, &[(61, "['pair']")]),
            obj(61, TUPLE, 56, 0, &[(60, ""), (50, "")]),
        ]);
        let found = cycles(&snap, &CyclesQuery::default(), None);
        let members: Vec<Vec<String>> = found.cycles.iter().map(ids).collect();
        assert_eq!(
            members,
            [vec!["0x3c", "0x3d"]],
            "only the dict ↔ tuple pair"
        );
    }

    #[test]
    fn garbage_cycles_have_no_chain_and_reachable_ones_do() {
        let found = cycles(&heap(), &all(CyclesQuery::default()), None);
        let garbage = &found.cycles[0];
        assert!(garbage.garbage && garbage.collector_flagged && garbage.held_by.is_none());
        let pair = &found.cycles[2];
        assert!(!pair.garbage && !pair.collector_flagged);
        let chain = pair.held_by.as_ref().map(|c| c.text.as_str());
        assert_eq!(chain, Some("module app → .__dict__['a'] → list"));
        let ring = &found.cycles[1];
        assert_eq!(
            ring.examples[0].id, "0x14",
            "the member the chain reaches comes first"
        );
    }

    /// `a = []; a.extend([a] * n)`, and a dict whose values are `n` lists each holding the
    /// dict many times: one entry per pair of members, at most `MAX_EDGES` of them, the rest
    /// counted.
    #[test]
    fn parallel_references_are_one_entry_and_a_cycle_lists_a_bounded_number() {
        for n in [5u64, 10_000] {
            let self_refs: Vec<(u64, &str)> = (0..n).map(|_| (70, "")).collect();
            let keys: Vec<String> = (0..30).map(|i| format!("['k{i}']")).collect();
            let mut objects = vec![
                obj(1, MODULE, 72, 0, &[]),
                obj(70, LIST, 64, 0, &self_refs),
                obj(
                    80,
                    DICT,
                    64,
                    0,
                    &keys
                        .iter()
                        .enumerate()
                        .map(|(i, k)| (81 + i as u64, k.as_str()))
                        .collect::<Vec<_>>(),
                ),
            ];
            for i in 0..30 {
                let back: Vec<(u64, &str)> = (0..n).map(|_| (80, "")).collect();
                objects.push(obj(81 + i, LIST, 64, 0, &back));
            }
            let found = cycles(&snapshot(&objects), &CyclesQuery::default(), None);
            let one = found
                .cycles
                .iter()
                .find(|c| c.members == 1)
                .expect("the self-referring list");
            let want = format!("[0], [1], [2], … ×{}", crate::render::text::thousands(n));
            assert_eq!(one.edges.len(), 1);
            assert_eq!(one.edges[0].refs, n);
            assert_eq!(one.edges[0].label.as_deref(), Some(want.as_str()));
            let star = found
                .cycles
                .iter()
                .find(|c| c.members == 31)
                .expect("the star");
            // 19 lists among the 20 examples: 19 pairs dict → list and 19 list → dict.
            assert_eq!(star.edges.len(), 38);
            assert!(star.edges.iter().all(|e| e.refs == 1 || e.refs == n));
            assert_eq!(star.edges_left_out, 0);
        }
    }

    #[test]
    fn a_cycle_lists_at_most_max_edges_pairs_and_counts_the_rest() {
        // Twenty lists each holding all twenty: 400 pairs among the examples.
        let ids: Vec<u64> = (100..120).collect();
        let objects: Vec<String> = std::iter::once(obj(1, MODULE, 72, 0, &[]))
            .chain(ids.iter().map(|&i| {
                let refs: Vec<(u64, &str)> = ids.iter().flat_map(|&j| [(j, ""), (j, "")]).collect();
                obj(i, LIST, 64, 0, &refs)
            }))
            .collect();
        let found = cycles(&snapshot(&objects), &CyclesQuery::default(), None);
        let c = &found.cycles[0];
        assert_eq!(c.edges.len(), MAX_EDGES);
        assert_eq!(c.edges_left_out, 400 - MAX_EDGES as u64);
        assert!(c.edges.iter().all(|e| e.refs == 2));
    }

    #[test]
    fn inner_edges_carry_labels() {
        let found = cycles(&heap(), &all(CyclesQuery::default()), None);
        let edge = |from: &str, label: &str, to: &str| CycleEdge {
            from: from.into(),
            label: Some(label.into()),
            to: to.into(),
            refs: 1,
        };
        assert_eq!(
            found.cycles[2].edges,
            [edge("0xa", "[0]", "0xb"), edge("0xb", "[0]", "0xa")]
        );
        assert_eq!(found.cycles[3].edges, [edge("0x1e", "[0]", "0x1e")]);
        assert_eq!(
            found.cycles[1].edges.len(),
            4,
            "n1 → dict → n2 → dict → n1, no .__class__"
        );
    }

    #[test]
    fn types_are_counted_most_frequent_first() {
        let found = cycles(&heap(), &all(CyclesQuery::default()), None);
        let types: Vec<(&str, u64, u64)> = found.cycles[1]
            .types
            .iter()
            .map(|t| (t.type_name.as_str(), t.count, t.size))
            .collect();
        assert_eq!(types, [("dict", 2, 200), ("Node", 2, 96)]);
        assert_eq!(found.cycles[1].types[1].type_long, "app.Node");
    }

    #[test]
    fn filters_and_limit_apply_before_counting_and_after_ranking() {
        let snap = heap();
        let big = cycles(
            &snap,
            &all(CyclesQuery {
                min_size: 100,
                ..Default::default()
            }),
            None,
        );
        assert_eq!((big.total_found, big.cycles.len()), (3, 3));
        let nodes = cycles(
            &snap,
            &all(CyclesQuery {
                type_filter: Some(vec![NODE]),
                ..Default::default()
            }),
            None,
        );
        assert_eq!(nodes.total_found, 1);
        assert_eq!(nodes.cycles[0].members, 4);
        let top = cycles(
            &snap,
            &CyclesQuery {
                limit: 1,
                ..Default::default()
            },
            None,
        );
        assert_eq!((top.total_found, top.cycles.len()), (4, 1));
        assert_eq!(top.cycles[0].size, 1000);
    }

    #[test]
    fn a_function_in_an_exec_namespace_is_not_a_cycle() {
        let snap = snapshot(&[
            obj(1, MODULE, 72, 0, &[(2, ".__dict__")]),
            obj(2, DICT, 100, 0, &[(3, "['ns']")]),
            obj(3, DICT, 100, 0, &[(4, "['render']")]),
            obj(4, FUNCTION, 150, 0, &[(3, ".__globals__")]),
        ]);
        assert!(cycles(&snap, &CyclesQuery::default(), None)
            .cycles
            .is_empty());
        let all_edges = CyclesQuery {
            all_edges: true,
            ..Default::default()
        };
        assert_eq!(cycles(&snap, &all_edges, None).cycles.len(), 1);
    }

    #[test]
    fn a_heap_without_cycles_answers_nothing() {
        let snap = snapshot(&[
            obj(1, MODULE, 72, 0, &[(2, ".__dict__")]),
            obj(2, DICT, 100, 0, &[]),
        ]);
        let found = cycles(&snap, &CyclesQuery::default(), None);
        assert!(found.cycles.is_empty());
        assert_eq!(found.total_found, 0);
    }

    #[test]
    fn large_cycles_list_twenty_connected_examples() {
        let ring: Vec<String> = (0..30u64)
            .map(|i| obj(100 + i, NODE, 10, 0, &[(100 + (i + 1) % 30, ".next")]))
            .collect();
        let mut objects = vec![
            obj(1, MODULE, 72, 0, &[(2, ".__dict__")]),
            obj(2, DICT, 100, 0, &[(105, "['head']")]),
        ];
        objects.extend(ring);
        let found = cycles(&snapshot(&objects), &CyclesQuery::default(), None);
        let c = &found.cycles[0];
        assert_eq!((c.members, c.examples.len(), c.edges.len()), (30, 20, 19));
        assert_eq!(
            c.examples[0].id, "0x69",
            "starts at the member the module holds"
        );
        assert_eq!(c.held_by.as_ref().map(|h| h.steps.len()), Some(3));
    }

    #[test]
    fn the_answer_round_trips_through_json_with_unknown_fields_denied() {
        let found = cycles(&heap(), &all(CyclesQuery::default()), None);
        let json = serde_json::to_string(&found).expect("serializes");
        let back: Cycles = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, found);
        let extra = json.replacen("{", "{\"surprise\":1,", 1);
        assert!(serde_json::from_str::<Cycles>(&extra).is_err());
    }
}
