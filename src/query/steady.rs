//! `diff A B C`: the steady leak across three snapshots of one process — the objects new in B
//! that are still alive in C (B ∩ C ∖ A, as memlab and dump-heap define it), by type with their
//! bytes and the chain that holds them, and the types that grew at every step. Objects B made
//! and C no longer has (a temporary burst) are not a leak.
//!
//! Identity is compared on integers only (`identity.rs`).

use super::chain::{answer_chain, ChainMode, ChainQuery};
use super::identity::{Key, TypeNumbers};
use super::object::ObjectInfo;
use crate::snapshot::{NodeIx, Snapshot};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// One type's steady leak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SteadyType {
    /// The type's qualified name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Objects new in B and still alive in C.
    pub count: u64,
    /// Their total size in C.
    pub size: u64,
    /// The first of them (in C), with the chain that holds it.
    pub example: ObjectInfo,
    /// `module app → .__dict__['cache'] → …` in C, when a root reaches it.
    pub held_by: Option<String>,
}

/// A type's instance counts in A, B and C, for the types that grew at every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrowingType {
    /// The type's qualified name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Instances in A, B and C.
    pub counts: [u64; 3],
}

/// The `diff A B C` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SteadyLeak {
    /// The three paths, oldest first.
    pub snapshots: [String; 3],
    /// Objects in A, B and C.
    pub objects: [u64; 3],
    /// How many objects new in B are still alive in C, of every type.
    pub count: u64,
    /// Their total size in C.
    pub size: u64,
    /// Objects new in B that C still has, per type: the program's types before builtins, each
    /// by bytes.
    pub types: Vec<SteadyType>,
    /// How many types `types` left out (past the limit).
    pub more_types: u64,
    /// Types whose count grew from A to B and from B to C, most grown first.
    pub grew_every_step: Vec<GrowingType>,
}

/// The steady leak of A → B → C; at most `limit` types (0: all), each with a chain in C.
pub fn steady_leak(a: &Snapshot, b: &Snapshot, c: &Snapshot, limit: usize) -> SteadyLeak {
    let numbers = TypeNumbers::new(&[a, b, c]);
    let in_a: FxHashSet<Key> = a.nodes().map(|n| numbers.key(0, a, n)).collect();
    let new_in_b: FxHashSet<Key> = b
        .nodes()
        .map(|n| numbers.key(1, b, n))
        .filter(|k| !in_a.contains(k))
        .collect();
    drop(in_a);
    // Per shared type number: count, bytes, first object in C.
    let mut per_type: FxHashMap<u32, (u64, u64, NodeIx)> = FxHashMap::default();
    for n in c.nodes() {
        let key = numbers.key(2, c, n);
        if new_in_b.contains(&key) && !made_by_the_dump(c, n) {
            let entry = per_type.entry(key.1).or_insert((0, 0, n));
            entry.0 += 1;
            entry.1 = entry.1.saturating_add(c.size(n));
        }
    }
    let mut ranked: Vec<(u32, (u64, u64, NodeIx))> = per_type.into_iter().collect();
    let count = ranked.iter().map(|r| r.1 .0).sum();
    let size = ranked.iter().fold(0u64, |s, r| s.saturating_add(r.1 .1));
    // The program's (and its libraries') types first, then builtins; each by bytes, count.
    ranked.sort_by_key(|&(number, (count, size, _))| {
        (
            numbers.is_builtin(number),
            std::cmp::Reverse(size),
            std::cmp::Reverse(count),
            number,
        )
    });
    let shown = if limit == 0 {
        ranked.len()
    } else {
        limit.min(ranked.len())
    };
    let query = ChainQuery {
        to_types: None,
        ignore: Vec::new(),
        max_depth: usize::MAX,
        infrastructure: None,
    };
    let types = ranked[..shown]
        .iter()
        .map(|&(number, (count, size, first))| {
            let answer = answer_chain(c, first, &query, ChainMode::Shortest);
            SteadyType {
                type_name: numbers.name(number).to_string(),
                count,
                size,
                example: ObjectInfo::of(c, first),
                held_by: answer.chains.first().map(|chain| chain.text.clone()),
            }
        })
        .collect();
    SteadyLeak {
        snapshots: [a, b, c].map(|s| s.path().display().to_string()),
        objects: [a, b, c].map(|s| s.node_count() as u64),
        count,
        size,
        types,
        more_types: (ranked.len() - shown) as u64,
        grew_every_step: grew_every_step(&numbers, [a, b, c]),
    }
}

/// Whether `n` is a frame's `f_locals` dict: on CPython before 3.13 reading a frame's
/// variables makes that dict (a residual effect of the dump, FORMAT.md), so a later snapshot
/// finds it "new" although the program made nothing.
fn made_by_the_dump(snap: &Snapshot, n: NodeIx) -> bool {
    if snap.type_name(n).short() != "dict" {
        return false;
    }
    let mut holders = snap.referrers(n).to_vec();
    holders.dedup();
    !holders.is_empty()
        && holders.iter().all(|&h| {
            snap.labelled_referents(h)
                .filter(|&(m, _)| m == n)
                .all(|(_, label)| label.to_string().ends_with(".f_locals"))
        })
}

fn grew_every_step(numbers: &TypeNumbers, snaps: [&Snapshot; 3]) -> Vec<GrowingType> {
    let counts: Vec<Vec<u64>> = snaps
        .iter()
        .enumerate()
        .map(|(i, s)| numbers.counts(i, s))
        .collect();
    let mut grew: Vec<GrowingType> = (0..numbers.len())
        .filter(|&t| counts[0][t] < counts[1][t] && counts[1][t] < counts[2][t])
        .map(|t| GrowingType {
            type_name: numbers.name(t as u32).to_string(),
            counts: [counts[0][t], counts[1][t], counts[2][t]],
        })
        .collect();
    grew.sort_by(|x, y| {
        (y.counts[2] - y.counts[0])
            .cmp(&(x.counts[2] - x.counts[0]))
            .then_with(|| x.type_name.cmp(&y.type_name))
    });
    grew
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// A snapshot of objects given as (id, type in module `app`), nothing referencing anything.
    fn snap(objects: &[(u64, &str)]) -> Snapshot {
        let mut types: Vec<&str> = objects.iter().map(|o| o.1).collect();
        types.sort();
        types.dedup();
        let names: Vec<String> = types.iter().map(|t| format!("[\"app\",\"{t}\"]")).collect();
        let column = |f: &dyn Fn(&(u64, &str)) -> String| {
            objects.iter().map(f).collect::<Vec<_>>().join(",")
        };
        let zeros = vec!["0"; objects.len()].join(",");
        let text = format!(
            "{{\"kind\":\"header\",\"format\":\"refgraph-snapshot\",\"version\":[1,0]}}\n\
             {{\"kind\":\"types\",\"base\":0,\"names\":[{}]}}\n\
             {{\"kind\":\"objects\",\"id\":[{}],\"type\":[{}],\"size\":[{}],\
             \"refcount\":[{zeros}],\"flags\":[{zeros}],\"label\":[{}],\"nrefs\":[{zeros}],\
             \"refs\":[],\"edge_labels\":[]}}\n",
            names.join(","),
            column(&|o| o.0.to_string()),
            column(&|o| types
                .iter()
                .position(|t| *t == o.1)
                .unwrap_or(0)
                .to_string()),
            column(&|_| "16".to_string()),
            column(&|_| "null".to_string()),
        );
        crate::snapshot::parse_snapshot(Path::new("t"), text.as_bytes()).expect("valid snapshot")
    }

    #[test]
    fn only_what_b_added_and_c_kept_is_a_steady_leak() {
        // A has 1, 2; B adds 10, 11 (kept) and 20, 21 (a burst, gone in C); C adds 30.
        let a = snap(&[(1, "Kept"), (2, "Kept")]);
        let b = snap(&[
            (1, "Kept"),
            (2, "Kept"),
            (10, "Leak"),
            (11, "Leak"),
            (20, "Burst"),
            (21, "Burst"),
        ]);
        let c = snap(&[
            (1, "Kept"),
            (2, "Kept"),
            (10, "Leak"),
            (11, "Leak"),
            (30, "Leak"),
        ]);
        let leak = steady_leak(&a, &b, &c, 0);
        let names: Vec<(&str, u64)> = leak
            .types
            .iter()
            .map(|t| (t.type_name.as_str(), t.count))
            .collect();
        assert_eq!(names, [("app.Leak", 2)]);
        let grew: Vec<&str> = leak
            .grew_every_step
            .iter()
            .map(|g| g.type_name.as_str())
            .collect();
        assert_eq!(grew, ["app.Leak"]);
    }

    #[test]
    fn a_reused_address_of_another_type_is_a_new_object() {
        let a = snap(&[(1, "Old")]);
        let b = snap(&[(1, "New")]);
        let c = snap(&[(1, "New")]);
        let leak = steady_leak(&a, &b, &c, 0);
        assert_eq!(leak.types.len(), 1);
        assert_eq!(leak.types[0].type_name, "app.New");
    }
}
