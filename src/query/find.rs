//! `find`: the instances of a type (objgraph's `by_type`), with labels and sizes.

use super::object::ObjectInfo;
use crate::select::matching_types;
use crate::snapshot::{NodeIx, Snapshot};
use serde::{Deserialize, Serialize};

/// How to order found objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FindSort {
    /// Snapshot order (the dumper's gc order).
    Order,
    /// Largest first.
    Size,
    /// Most referenced first.
    Refcount,
}

/// The `find` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Found {
    /// The type asked for.
    #[serde(rename = "type")]
    pub type_name: String,
    /// How many instances exist.
    pub total: u64,
    /// Their total shallow size.
    pub total_size: u64,
    /// The instances shown (at most the limit).
    pub objects: Vec<ObjectInfo>,
}

/// Instances of `type_name` (short or qualified), sorted, at most `limit`.
pub fn find(snap: &Snapshot, type_name: &str, sort: FindSort, limit: usize) -> Found {
    let mut wanted = vec![false; snap.types().len()];
    for t in matching_types(snap, type_name) {
        wanted[t as usize] = true;
    }
    let mut nodes: Vec<NodeIx> = snap
        .nodes()
        .filter(|&n| wanted[snap.type_index(n) as usize])
        .collect();
    let total_size = nodes.iter().map(|&n| snap.size(n)).sum();
    match sort {
        FindSort::Order => {}
        FindSort::Size => nodes.sort_by_key(|&n| std::cmp::Reverse(snap.size(n))),
        FindSort::Refcount => nodes.sort_by_key(|&n| std::cmp::Reverse(snap.refcount(n))),
    }
    Found {
        type_name: type_name.to_string(),
        total: nodes.len() as u64,
        total_size,
        objects: nodes
            .iter()
            .take(limit)
            .map(|&n| ObjectInfo::of(snap, n))
            .collect(),
    }
}
