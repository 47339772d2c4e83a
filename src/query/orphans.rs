//! `orphans`: objects nothing recorded refers to (objgraph's `get_leaking_objects`), and
//! objects whose refcount is higher than the references the snapshot recorded — held from C
//! code or interpreter internals, the classic C-extension leak signal.

use super::object::ObjectInfo;
use super::types::{type_stats, TypeSort, TypeStat};
use crate::snapshot::{NodeIx, Snapshot, TypeName};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One group of suspects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuspectGroup {
    /// How many objects.
    pub count: u64,
    /// Counts by type, most first.
    pub by_type: Vec<TypeStat>,
    /// The first examples (largest first).
    pub examples: Vec<ObjectInfo>,
}

/// The `orphans` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Orphans {
    /// Only gc-tracked objects were considered (as objgraph does).
    pub tracked_only: bool,
    /// Not roots, and no recorded object refers to them.
    pub unreferenced: SuspectGroup,
    /// Refcount exceeds the recorded referrers.
    pub held_from_outside: SuspectGroup,
}

/// Find both kinds of suspects; `examples` bounds the examples and type rows per group.
pub fn orphans(snap: &Snapshot, tracked_only: bool, examples: usize) -> Orphans {
    let type_objects: Vec<bool> = snap.types().iter().map(is_type_type).collect();
    // Cheapest tests first; a root lookup (a hash probe) only for the few that pass them.
    let considered = |n: NodeIx| {
        (!tracked_only || snap.is_tracked(n)) && !type_objects[snap.type_index(n) as usize]
    };
    let suspects = |keep: &(dyn Fn(NodeIx) -> bool + Sync)| -> Vec<NodeIx> {
        (0..snap.node_count() as NodeIx)
            .into_par_iter()
            .filter(|&n| considered(n) && keep(n) && snap.root(n).is_none())
            .collect()
    };
    let unreferenced = suspects(&|n| snap.referrers(n).is_empty());
    let outside = suspects(&|n| snap.refcount(n) as usize > snap.referrers(n).len());
    Orphans {
        tracked_only,
        unreferenced: group(snap, unreferenced, examples),
        held_from_outside: group(snap, outside, examples),
    }
}

/// Type objects are referenced from C everywhere (static types, caches): never suspects.
fn is_type_type(t: &TypeName) -> bool {
    &*t.module == "builtins" && &*t.qualname == "type"
}

fn group(snap: &Snapshot, mut nodes: Vec<NodeIx>, examples: usize) -> SuspectGroup {
    let mut by_type = type_stats(snap, nodes.iter().copied(), false, TypeSort::Count);
    by_type.truncate(examples);
    nodes.sort_by_key(|&n| (std::cmp::Reverse(snap.size(n)), n));
    SuspectGroup {
        count: nodes.len() as u64,
        by_type,
        examples: nodes
            .iter()
            .take(examples)
            .map(|&n| ObjectInfo::of(snap, n))
            .collect(),
    }
}
