//! `show`: everything about one object (objgraph's `at`, and more): facts, flags, what it
//! references and what references it, with edge labels, and the chain that holds it.

use super::chain::{backref_chain, ChainQuery, ChainView};
use super::object::ObjectInfo;
use super::retained::Retained;
use crate::snapshot::{NodeIx, Snapshot};
use serde::{Deserialize, Serialize};

/// A neighbour and the label of the reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Neighbour {
    /// The label of the reference (`['key']`, `.attr`, `[3]`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<String>,
    /// The object at the other end.
    pub object: ObjectInfo,
}

/// The `show` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shown {
    /// The object.
    pub object: ObjectInfo,
    /// Whether it is gc-tracked.
    pub tracked: bool,
    /// How many references it has.
    pub referents_total: u64,
    /// The first of them.
    pub referents: Vec<Neighbour>,
    /// How many references to it the snapshot recorded.
    pub referrers_total: u64,
    /// The first of them (edge = the referrer's label for the reference).
    pub referrers: Vec<Neighbour>,
    /// What it keeps alive (freed if it went away), bytes.
    pub retained: u64,
    /// The shortest chain from a root, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<ChainView>,
    /// Where it was allocated: tracemalloc's traceback, most recent frame first (the first
    /// is the line that made it), when the dump recorded sites (format 1.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocated: Vec<crate::snapshot::Frame>,
    /// Text output only: print every frame of `allocated`, not just the first (`--stack`).
    #[serde(skip)]
    pub stack: bool,
}

/// Describe `n`, listing at most `cap` referents and referrers.
pub fn show(snap: &Snapshot, n: NodeIx, cap: usize, retained: &Retained) -> Shown {
    let referents = snap
        .labelled_referents(n)
        .take(cap)
        .map(|(m, label)| neighbour(snap, m, label.to_string()))
        .collect();
    let mut holders: Vec<NodeIx> = snap.referrers(n).to_vec();
    holders.dedup();
    let referrers = holders
        .iter()
        .take(cap)
        .map(|&m| neighbour(snap, m, snap.edge_label(m, n).to_string()))
        .collect();
    let q = ChainQuery {
        max_depth: usize::MAX,
        ..Default::default()
    };
    Shown {
        object: ObjectInfo::of(snap, n),
        tracked: snap.is_tracked(n),
        referents_total: snap.referents(n).len() as u64,
        referents,
        referrers_total: snap.referrers(n).len() as u64,
        referrers,
        retained: retained.retained(n),
        held_by: backref_chain(snap, n, &q).map(|c| ChainView::of(snap, &c)),
        allocated: snap.allocation(n).map(<[_]>::to_vec).unwrap_or_default(),
        stack: false,
    }
}

fn neighbour(snap: &Snapshot, n: NodeIx, edge: String) -> Neighbour {
    Neighbour {
        edge: (!edge.is_empty()).then_some(edge),
        object: ObjectInfo::of(snap, n),
    }
}
