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
    /// Not roots, and no recorded object refers to them (the program's own: interpreter
    /// internals are in `interpreter_internal`).
    pub unreferenced: SuspectGroup,
    /// Unreferenced objects the dumper flagged as held by the interpreter itself (static
    /// types' dicts, subclass registries, …): listed after the program's, never suspects.
    pub interpreter_internal: SuspectGroup,
    /// Refcount exceeds the recorded referrers.
    pub held_from_outside: SuspectGroup,
}

/// gc-tracked objects that no gc-tracked object refers to, in snapshot order: objgraph's
/// `get_leaking_objects()`, which subtracts the referents of every `gc.get_objects()` entry
/// (so roots, classes and interpreter internals are in it, as there). References from
/// `ignore` do not count (objgraph leaves out the list it is given).
pub fn unreferenced_tracked(snap: &Snapshot, ignore: &[NodeIx]) -> Vec<NodeIx> {
    snap.nodes()
        .filter(|&n| snap.is_tracked(n))
        .filter(|&n| {
            !snap
                .referrers(n)
                .iter()
                .any(|&r| snap.is_tracked(r) && !ignore.contains(&r))
        })
        .collect()
}

/// Find both kinds of suspects; `examples` bounds the examples and type rows per group.
pub fn orphans(snap: &Snapshot, tracked_only: bool, examples: usize) -> Orphans {
    let type_objects: Vec<bool> = snap.types().iter().map(is_type_type).collect();
    // Blocks of nodes on both cores; in each, the cheapest tests first, and a root lookup (a
    // hash probe) only for the few objects that pass them.
    const BLOCK: usize = 1 << 16;
    let blocks: Vec<(Vec<NodeIx>, Vec<NodeIx>, Vec<NodeIx>)> =
        (0..snap.node_count().div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let (mut unreferenced, mut outside, mut internal) =
                    (Vec::new(), Vec::new(), Vec::new());
                for n in (b * BLOCK)..((b + 1) * BLOCK).min(snap.node_count()) {
                    let n = n as NodeIx;
                    if (tracked_only && !snap.is_tracked(n))
                        || type_objects[snap.type_index(n) as usize]
                    {
                        continue;
                    }
                    let referrers = snap.referrers(n).len();
                    let none = referrers == 0;
                    let more = snap.refcount(n) as usize > referrers;
                    if (none || more) && snap.root(n).is_none() {
                        if none && is_internal(snap, n) {
                            internal.push(n);
                        } else if none {
                            unreferenced.push(n);
                        }
                        if more {
                            outside.push(n);
                        }
                    }
                }
                (unreferenced, outside, internal)
            })
            .collect();
    let unreferenced = blocks.iter().flat_map(|b| b.0.iter().copied()).collect();
    let outside = blocks.iter().flat_map(|b| b.1.iter().copied()).collect();
    let internal = blocks.iter().flat_map(|b| b.2.iter().copied()).collect();
    Orphans {
        tracked_only,
        unreferenced: group(snap, unreferenced, examples),
        interpreter_internal: group(snap, internal, examples),
        held_from_outside: group(snap, outside, examples),
    }
}

/// Flag 16 of the snapshot format (docs/FORMAT.md): the dumper recognized an object the
/// interpreter itself holds (a static type's `__dict__`, a subclass registry, …). The dumper
/// knows this for certain in the process; guessing it from a dict's contents here could not.
const FLAG_INTERNAL: u8 = 16;

fn is_internal(snap: &Snapshot, n: NodeIx) -> bool {
    snap.flags[n as usize] & FLAG_INTERNAL != 0
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Four unreferenced tracked dicts, the middle two flagged internal (16) by the dumper.
    fn snapshot() -> Snapshot {
        let text = concat!(
            r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0]}"#,
            "\n",
            r#"{"kind":"types","base":0,"names":[["builtins","dict"]]}"#,
            "\n",
            r#"{"kind":"objects","id":[1,2,3,4],"type":[0,0,0,0],"size":[400,300,200,100],"#,
            r#""refcount":[1,1,1,1],"flags":[2,18,18,2],"label":[null,null,null,null],"#,
            r#""nrefs":[0,0,0,0],"refs":[],"edge_labels":[]}"#,
            "\n"
        );
        crate::snapshot::parse_snapshot(Path::new("t"), text.as_bytes()).expect("valid")
    }

    #[test]
    fn interpreter_internals_are_listed_apart_from_the_programs_orphans() {
        let snap = snapshot();
        let o = orphans(&snap, true, 10);
        let ids = |g: &SuspectGroup| g.examples.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(o.unreferenced.count, 2);
        assert_eq!(ids(&o.unreferenced), ["0x1", "0x4"]);
        assert_eq!(o.interpreter_internal.count, 2);
        assert_eq!(ids(&o.interpreter_internal), ["0x2", "0x3"]);
    }
}
