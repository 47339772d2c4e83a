//! `summary`: the first answer from a snapshot — counts, top types, the largest objects and
//! what holds each of them.

use super::chain::{backref_chain, ChainQuery, ChainView};
use super::object::ObjectInfo;
use super::reach::reachable_from_roots;
use super::retained::Retained;
use super::types::{type_stats_retained, TypeSort, TypeStat};
use crate::snapshot::format::Memory;
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
    /// The process's memory when the dump started (RSS, allocators), when recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
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
            memory: h.memory.clone(),
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
    pub inside: Vec<InsideCount>,
}

/// How many objects of one type a row of the largest objects keeps alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsideCount {
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
/// `inside` (the objects it dominates that retain as much as the last row), so that one
/// leak's nested parts do not fill the list.
fn largest_objects(snap: &Snapshot, retained: &Retained, top: usize) -> Vec<LargeObject> {
    let rows = top_rows(snap, retained, &namespaces(snap), top);
    let Some(&last) = rows.last() else {
        return Vec::new();
    };
    let threshold = retained.retained(last);
    let q = ChainQuery {
        max_depth: SUMMARY_CHAIN_DEPTH,
        ..Default::default()
    };
    rows.into_iter()
        .map(|n| LargeObject {
            object: ObjectInfo::of(snap, n),
            retained: retained.retained(n),
            held_by: backref_chain(snap, n, &q).map(|c| ChainView::of(snap, &c)),
            inside: type_counts(snap, &dominated_at_least(retained, n, threshold)),
        })
        .collect()
}

/// The `top` objects retaining the most that no other of them dominates, largest first.
///
/// An object's dominators retain more than it does, so these are found from the top of the
/// dominator tree down: take the largest node of the frontier; a module or its namespace is
/// never a row, its children join the frontier instead.
fn top_rows(
    snap: &Snapshot,
    retained: &Retained,
    skip: &FxHashSet<NodeIx>,
    top: usize,
) -> Vec<NodeIx> {
    use std::cmp::Reverse;
    let key = |n: NodeIx| (retained.retained(n), snap.size(n), Reverse(n));
    let mut frontier: std::collections::BinaryHeap<_> =
        retained.top_level().iter().map(|&n| key(n)).collect();
    let mut rows = Vec::new();
    while rows.len() < top {
        let Some((_, _, Reverse(n))) = frontier.pop() else {
            break;
        };
        if skip.contains(&n) {
            frontier.extend(retained.children(n).iter().map(|&c| key(c)));
        } else {
            rows.push(n);
        }
    }
    rows
}

/// The objects `row` dominates that retain at least `threshold` bytes: those the list would
/// have shown next to it. (Children are sorted largest first, so the walk stops early.)
fn dominated_at_least(retained: &Retained, row: NodeIx, threshold: u64) -> Vec<NodeIx> {
    let mut out = Vec::new();
    let mut stack = vec![row];
    while let Some(n) = stack.pop() {
        for &c in retained.children(n) {
            if retained.retained(c) < threshold {
                break;
            }
            out.push(c);
            stack.push(c);
        }
    }
    out
}

/// `nodes` counted by short type name, most first (then by name).
fn type_counts(snap: &Snapshot, nodes: &[NodeIx]) -> Vec<InsideCount> {
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    for &n in nodes {
        *counts
            .entry(snap.type_name(n).short().to_string())
            .or_default() += 1;
    }
    let mut out: Vec<InsideCount> = counts
        .into_iter()
        .map(|(type_name, count)| InsideCount { type_name, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.type_name.cmp(&b.type_name)));
    out
}
