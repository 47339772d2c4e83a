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

/// The `top` objects retaining the most, with their holder chains.
fn largest_objects(snap: &Snapshot, retained: &Retained, top: usize) -> Vec<LargeObject> {
    let skip = namespaces(snap);
    let mut nodes: Vec<NodeIx> = snap.nodes().filter(|n| !skip.contains(n)).collect();
    let k = top.min(nodes.len());
    if k == 0 {
        return Vec::new();
    }
    let key = |n: NodeIx| (retained.retained(n), snap.size(n));
    let by_size_desc = |a: &NodeIx, b: &NodeIx| key(*b).cmp(&key(*a)).then(a.cmp(b));
    nodes.select_nth_unstable_by(k - 1, by_size_desc);
    nodes.truncate(k);
    nodes.sort_by(by_size_desc);
    let q = ChainQuery {
        max_depth: SUMMARY_CHAIN_DEPTH,
        ..Default::default()
    };
    nodes
        .into_iter()
        .map(|n| LargeObject {
            object: ObjectInfo::of(snap, n),
            retained: retained.retained(n),
            held_by: backref_chain(snap, n, &q).map(|c| ChainView::of(snap, &c)),
        })
        .collect()
}
