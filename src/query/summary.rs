//! `summary`: the first answer from a snapshot — counts, top types, the largest objects and
//! what holds each of them.

use super::chain::{backref_chain, ChainQuery, ChainView};
use super::object::ObjectInfo;
use super::reach::reachable_from_roots;
use super::retained::Retained;
use super::types::{type_stats_retained, TypeSort, TypeStat};
use crate::snapshot::{EdgeLabel, NodeIx, RootKind, Snapshot};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

/// Facts from the snapshot header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotFacts {
    /// The snapshot file.
    pub path: String,
    /// `sys.version`, first line.
    pub python: Option<String>,
    /// `sys.platform`.
    pub platform: Option<String>,
    /// Process id.
    pub pid: Option<u64>,
    /// `sys.argv`.
    pub argv: Vec<String>,
    /// When the dump started.
    pub time: Option<String>,
    /// `api`, `exit` or `signal`.
    pub trigger: Option<String>,
    /// False when str/bytes contents were left out.
    pub values: bool,
    /// The collector ran before the dump.
    pub collect: bool,
    /// Warnings from loading (truncation, dangling references).
    pub warnings: Vec<String>,
}

impl SnapshotFacts {
    /// The facts of `snap`.
    pub fn of(snap: &Snapshot) -> Self {
        let h = snap.header();
        SnapshotFacts {
            path: snap.path().display().to_string(),
            python: h
                .python
                .as_ref()
                .map(|p| p.lines().next().unwrap_or_default().to_string()),
            platform: h.platform.clone(),
            pid: h.pid,
            argv: h.argv.clone(),
            time: h.time.clone(),
            trigger: h.trigger.clone(),
            values: h.values,
            collect: h.collect,
            warnings: snap.load_report().warnings.clone(),
        }
    }
}

/// A large object and the first steps of what holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LargeObject {
    /// The object.
    pub object: ObjectInfo,
    /// What it keeps alive: freed if it went away (itself and what it dominates), bytes.
    pub retained: u64,
    /// The shortest chain from a root; `None` when nothing rooted holds it.
    pub held_by: Option<ChainView>,
    /// Objects that would have been listed after this one but are kept alive by it (it
    /// dominates them), counted by type, most first: listed, they would hide other suspects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inside: Vec<TypeCount>,
}

/// How many objects of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeCount {
    /// Short type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// How many.
    pub count: u64,
}

/// The `summary` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Header facts.
    pub snapshot: SnapshotFacts,
    /// Objects recorded.
    pub objects: u64,
    /// References recorded.
    pub references: u64,
    /// Module roots.
    pub modules: u64,
    /// Thread-frame roots.
    pub thread_frames: u64,
    /// Sum of shallow sizes, bytes.
    pub total_size: u64,
    /// Objects the collector flagged as cyclic garbage.
    pub garbage: u64,
    /// Objects no root reaches (garbage included).
    pub unreachable: u64,
    /// Top types by count.
    pub top_by_count: Vec<TypeStat>,
    /// Top types by total size.
    pub top_by_size: Vec<TypeStat>,
    /// The objects retaining the most, largest retained size first (modules and their
    /// namespace dicts left out: they retain everything of their module).
    pub largest: Vec<LargeObject>,
}

/// Chains longer than this are not searched for the summary's largest objects.
const SUMMARY_CHAIN_DEPTH: usize = 64;

/// Summarize `snap`, its largest objects ranked by `retained`; `top` bounds each list.
pub fn summarize(snap: &Snapshot, top: usize, retained: &Retained) -> Summary {
    let reachable = reachable_from_roots(snap);
    let modules = snap
        .roots()
        .iter()
        .filter(|r| matches!(r.kind, crate::snapshot::RootKind::Module { .. }))
        .count() as u64;
    let mut by_count = type_stats_retained(snap, snap.type_totals(), false, TypeSort::Count, None);
    by_count.truncate(top);
    let mut by_size = type_stats_retained(snap, snap.type_totals(), false, TypeSort::Size, None);
    by_size.truncate(top);
    Summary {
        snapshot: SnapshotFacts::of(snap),
        objects: snap.node_count() as u64,
        references: snap.edge_count() as u64,
        modules,
        thread_frames: snap.roots().len() as u64 - modules,
        total_size: snap.total_size(),
        garbage: snap.nodes().filter(|&n| snap.is_garbage(n)).count() as u64,
        unreachable: (snap.node_count() - reachable.count_ones(..)) as u64,
        top_by_count: by_count,
        top_by_size: by_size,
        largest: largest_objects(snap, retained, top),
    }
}

/// Module objects and the dicts that are their namespaces.
fn namespaces(snap: &Snapshot) -> FxHashSet<NodeIx> {
    let mut set = FxHashSet::default();
    for root in snap.roots() {
        if matches!(root.kind, RootKind::Module { .. }) {
            set.insert(root.node);
            for (n, label) in snap.labelled_referents(root.node) {
                if label == EdgeLabel::Text(".__dict__") {
                    set.insert(n);
                }
            }
        }
    }
    set
}

/// The `top` objects retaining the most, with their holder chains. An object kept alive by
/// one listed above it (dominated by it) is not listed again but counted in that row's
/// `inside`, so that one leak's nested parts do not fill the list.
fn largest_objects(snap: &Snapshot, retained: &Retained, top: usize) -> Vec<LargeObject> {
    if top == 0 {
        return Vec::new();
    }
    let skip = namespaces(snap);
    let candidates: Vec<NodeIx> = snap.nodes().filter(|n| !skip.contains(n)).collect();
    let key = |n: NodeIx| (retained.retained(n), snap.size(n));
    let mut pool = top.saturating_mul(64);
    let (rows, inside) = loop {
        let ranked = largest_by(&candidates, pool, |a, b| {
            key(b).cmp(&key(a)).then(a.cmp(&b))
        });
        let (rows, inside) = collapse_dominated(&ranked, top, retained);
        if rows.len() >= top || pool >= candidates.len() {
            break (rows, inside);
        }
        pool = pool.saturating_mul(8);
    };
    let q = ChainQuery {
        max_depth: SUMMARY_CHAIN_DEPTH,
        ..Default::default()
    };
    rows.into_iter()
        .zip(inside)
        .map(|(n, inside)| LargeObject {
            object: ObjectInfo::of(snap, n),
            retained: retained.retained(n),
            held_by: backref_chain(snap, n, &q).map(|c| ChainView::of(snap, &c)),
            inside: type_counts(snap, &inside),
        })
        .collect()
}

/// The first `k` of `nodes` in the order `cmp`, sorted.
fn largest_by(
    nodes: &[NodeIx],
    k: usize,
    cmp: impl Fn(NodeIx, NodeIx) -> std::cmp::Ordering,
) -> Vec<NodeIx> {
    let mut nodes = nodes.to_vec();
    let k = k.min(nodes.len());
    if k == 0 {
        return nodes;
    }
    nodes.select_nth_unstable_by(k - 1, |a, b| cmp(*a, *b));
    nodes.truncate(k);
    nodes.sort_by(|a, b| cmp(*a, *b));
    nodes
}

/// Walks `ranked` (largest retained first) and keeps up to `top` rows, each object that a
/// kept row dominates going into that row's list instead.
fn collapse_dominated(
    ranked: &[NodeIx],
    top: usize,
    retained: &Retained,
) -> (Vec<NodeIx>, Vec<Vec<NodeIx>>) {
    let mut rows: Vec<NodeIx> = Vec::new();
    let mut inside: Vec<Vec<NodeIx>> = Vec::new();
    let mut row_of: rustc_hash::FxHashMap<NodeIx, usize> = Default::default();
    for &n in ranked {
        // Retained sizes only grow going up the dominator tree: past the largest row's
        // size no dominator can be a row.
        let ceiling = rows.first().map_or(0, |&r| retained.retained(r));
        let holder = retained
            .dominators(n)
            .take_while(|&d| retained.retained(d) <= ceiling)
            .find_map(|d| row_of.get(&d).copied());
        match holder {
            Some(row) => inside[row].push(n),
            None if rows.len() < top => {
                row_of.insert(n, rows.len());
                rows.push(n);
                inside.push(Vec::new());
            }
            None => {}
        }
    }
    (rows, inside)
}

/// `nodes` counted by short type name, most first (then by name).
fn type_counts(snap: &Snapshot, nodes: &[NodeIx]) -> Vec<TypeCount> {
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    for &n in nodes {
        *counts
            .entry(snap.type_name(n).short().to_string())
            .or_default() += 1;
    }
    let mut out: Vec<TypeCount> = counts
        .into_iter()
        .map(|(type_name, count)| TypeCount { type_name, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.type_name.cmp(&b.type_name)));
    out
}
