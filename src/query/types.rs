//! Per-type statistics: objgraph's `typestats` / `show_most_common_types`, with sizes.

use crate::snapshot::{NodeIx, Snapshot};
use serde::{Deserialize, Serialize};

/// Count and total shallow size of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeStat {
    /// The type's name (short or long, as asked).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Number of instances.
    pub count: u64,
    /// Sum of their shallow sizes, bytes.
    pub size: u64,
    /// What the instances retain together (freed if they all went away; each object counted
    /// once), bytes; present when retained sizes were computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retained: Option<u64>,
}

/// How to order type statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TypeSort {
    /// Most instances first.
    Count,
    /// Largest total size first.
    Size,
    /// Largest retained size first (computes the dominator tree).
    Retained,
}

/// Count and size per type over `nodes`, merged by name (short names lump same-named classes
/// of different modules together, as objgraph does), sorted, ties broken by name.
pub fn type_stats(
    snap: &Snapshot,
    nodes: impl Iterator<Item = NodeIx>,
    long_names: bool,
    sort: TypeSort,
) -> Vec<TypeStat> {
    type_stats_retained(snap, &snap.type_totals_of(nodes), long_names, sort, None)
}

/// Type statistics from counts per type index ([`Snapshot::type_totals_of`], or
/// [`Snapshot::type_totals`] for the whole heap), with each type's retained size
/// (`retained_by_type`, indexed like [`Snapshot::types`], from `Retained::by_type`).
pub fn type_stats_retained(
    snap: &Snapshot,
    per_type: &[(u64, u64)],
    long_names: bool,
    sort: TypeSort,
    retained_by_type: Option<&[u64]>,
) -> Vec<TypeStat> {
    let mut merged: rustc_hash::FxHashMap<String, (u64, u64, u64)> = Default::default();
    for (t, &(count, size)) in per_type.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let name = &snap.types()[t];
        let key = if long_names {
            name.long()
        } else {
            name.short().to_string()
        };
        let e = merged.entry(key).or_default();
        e.0 += count;
        e.1 = u64::saturating_add(e.1, size);
        e.2 = u64::saturating_add(
            e.2,
            retained_by_type
                .and_then(|r| r.get(t))
                .copied()
                .unwrap_or(0),
        );
    }
    let mut stats: Vec<TypeStat> = merged
        .into_iter()
        .map(|(type_name, (count, size, retained))| TypeStat {
            type_name,
            count,
            size,
            retained: retained_by_type.map(|_| retained),
        })
        .collect();
    stats.sort_by(|a, b| {
        let key = |s: &TypeStat| match sort {
            TypeSort::Count => (s.count, s.size),
            TypeSort::Size => (s.size, s.count),
            TypeSort::Retained => (s.retained.unwrap_or(0), s.size),
        };
        key(b)
            .cmp(&key(a))
            .then_with(|| a.type_name.cmp(&b.type_name))
    });
    stats
}
