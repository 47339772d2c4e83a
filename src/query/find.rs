//! `find`: the instances of a type (objgraph's `by_type`), with labels and sizes.

use super::object::ObjectInfo;
use crate::select::matching_types;
use crate::snapshot::{NodeIx, Snapshot};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

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
///
/// Counts come from [`Snapshot::type_totals`]; one pass over the type column keeps only the
/// `limit` objects to show (a bounded heap when sorting; in snapshot order it stops at the
/// `limit`-th): no list of every instance is built.
pub fn find(snap: &Snapshot, type_name: &str, sort: FindSort, limit: usize) -> Found {
    let mut wanted = vec![false; snap.types().len()];
    for t in matching_types(snap, type_name) {
        wanted[t as usize] = true;
    }
    let key = |n: NodeIx| match sort {
        FindSort::Order => 0,
        FindSort::Size => snap.size(n),
        FindSort::Refcount => u64::from(snap.refcount(n)),
    };
    let (total, total_size) = snap
        .type_totals()
        .iter()
        .zip(&wanted)
        .filter(|(_, &w)| w)
        .fold((0, 0), |(c, b), (&(count, size), _)| (c + count, b + size));
    // Min-heap of the best `limit` so far by (key descending, then snapshot order): its top
    // is the one to drop. In snapshot order the first `limit` instances are the answer.
    let mut best: BinaryHeap<(Reverse<u64>, NodeIx)> = BinaryHeap::new();
    for (n, &t) in snap.type_of.iter().enumerate() {
        if !wanted[t as usize] {
            continue;
        }
        let n = n as NodeIx;
        if best.len() < limit {
            best.push((Reverse(key(n)), n));
        } else if sort == FindSort::Order {
            break;
        } else if let Some(mut worst) = best.peek_mut() {
            if (Reverse(key(n)), n) < *worst {
                *worst = (Reverse(key(n)), n);
            }
        }
    }
    let shown = best.into_sorted_vec();
    Found {
        type_name: type_name.to_string(),
        total,
        total_size,
        objects: shown
            .into_iter()
            .map(|(_, n)| ObjectInfo::of(snap, n))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;

    /// (type index, size, refcount).
    type Obj = (u32, u64, u32);

    /// Objects 1..=n with the given (type, size, refcount); types `A` and `B`.
    fn snapshot(objs: &[Obj]) -> Snapshot {
        let col = |f: &dyn Fn(usize, &Obj) -> String| {
            objs.iter()
                .enumerate()
                .map(|(i, o)| f(i, o))
                .collect::<Vec<_>>()
                .join(",")
        };
        let text = format!(
            "{}\n{}\n{{\"kind\":\"objects\",\"id\":[{}],\"type\":[{}],\"size\":[{}],\"refcount\":[{}],\"flags\":[{}],\"label\":[{}],\"nrefs\":[{}],\"refs\":[],\"edge_labels\":[]}}\n",
            r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0]}"#,
            r#"{"kind":"types","base":0,"names":[["app","A"],["app","B"]]}"#,
            col(&|i, _| (i + 1).to_string()),
            col(&|_, o| o.0.to_string()),
            col(&|_, o| o.1.to_string()),
            col(&|_, o| o.2.to_string()),
            col(&|_, _| "2".into()),
            col(&|_, _| "null".into()),
            col(&|_, _| "0".into()),
        );
        crate::snapshot::parse_snapshot(Path::new("t"), text.as_bytes()).expect("valid")
    }

    /// The obvious way: every instance, stably sorted, cut.
    fn brute(snap: &Snapshot, sort: FindSort, limit: usize) -> (u64, u64, Vec<NodeIx>) {
        let mut nodes: Vec<NodeIx> = snap.nodes().filter(|&n| snap.type_index(n) == 0).collect();
        let size = nodes.iter().map(|&n| snap.size(n)).sum();
        match sort {
            FindSort::Order => {}
            FindSort::Size => nodes.sort_by_key(|&n| Reverse(snap.size(n))),
            FindSort::Refcount => nodes.sort_by_key(|&n| Reverse(snap.refcount(n))),
        }
        let total = nodes.len() as u64;
        nodes.truncate(limit);
        (total, size, nodes)
    }

    proptest! {
        #[test]
        fn find_keeps_what_sorting_everything_would(
            objs in proptest::collection::vec((0u32..2, 0u64..5, 0u32..4), 1..60),
            limit in 0usize..12,
            sort in prop_oneof![Just(FindSort::Order), Just(FindSort::Size), Just(FindSort::Refcount)],
        ) {
            let snap = snapshot(&objs);
            let found = find(&snap, "A", sort, limit);
            let (total, size, nodes) = brute(&snap, sort, limit);
            prop_assert_eq!(found.total, total);
            prop_assert_eq!(found.total_size, size);
            let ids: Vec<String> = nodes.iter().map(|&n| ObjectInfo::of(&snap, n).id).collect();
            let got: Vec<String> = found.objects.iter().map(|o| o.id.clone()).collect();
            prop_assert_eq!(got, ids);
        }
    }
}
