//! Object identity across snapshots of one process, on integers: an object is "the same" in
//! two snapshots when its id, its type and — for immutable builtins, whose size never changes —
//! its size agree. CPython reuses freed addresses, so the id alone proves nothing; mutable
//! containers resize in place, so their size may differ for the same object. Types are matched
//! by qualified name, numbered once for all the snapshots compared, so that no string is built
//! per object.

use crate::snapshot::{NodeIx, Snapshot};
use rustc_hash::FxHashMap;

/// An object's identity: (id, shared type number, size for immutable builtins else 0).
pub type Key = (u64, u32, u64);

/// Builtins whose instances never change size: their size is part of their identity.
const IMMUTABLE: [&str; 6] = ["str", "bytes", "int", "float", "tuple", "frozenset"];

/// The qualified type names of several snapshots, numbered once for all of them.
pub struct TypeNumbers {
    names: Vec<String>,
    short: Vec<String>,
    builtin: Vec<bool>,
    /// Per snapshot: its type index → the shared number, and whether the type is immutable.
    maps: Vec<Vec<(u32, bool)>>,
}

impl TypeNumbers {
    /// Number the types of `snaps` (in that order: `which` below indexes it).
    pub fn new(snaps: &[&Snapshot]) -> Self {
        let mut by_name: FxHashMap<String, u32> = FxHashMap::default();
        let mut names = Vec::new();
        let mut short = Vec::new();
        let mut builtin = Vec::new();
        let maps = snaps
            .iter()
            .map(|s| {
                s.types()
                    .iter()
                    .map(|t| {
                        let long = t.long();
                        let immutable =
                            &*t.module == "builtins" && IMMUTABLE.contains(&&*t.qualname);
                        let next = names.len() as u32;
                        let number = *by_name.entry(long.clone()).or_insert_with(|| {
                            names.push(long);
                            short.push(t.short().to_string());
                            builtin.push(&*t.module == "builtins");
                            next
                        });
                        (number, immutable)
                    })
                    .collect()
            })
            .collect();
        TypeNumbers {
            names,
            short,
            builtin,
            maps,
        }
    }

    /// How many distinct types.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The qualified name of type number `number`.
    pub fn name(&self, number: u32) -> &str {
        &self.names[number as usize]
    }

    /// The short name (`Session`) of type number `number`.
    pub fn short_name(&self, number: u32) -> &str {
        &self.short[number as usize]
    }

    /// Whether type number `number` is a builtin (`dict`, `list`: churn more often than a
    /// leak's own type).
    pub fn is_builtin(&self, number: u32) -> bool {
        self.builtin[number as usize]
    }

    /// The shared number of object `n`'s type in snapshot number `which`.
    pub fn number(&self, which: usize, snap: &Snapshot, n: NodeIx) -> u32 {
        self.maps[which][snap.type_index(n) as usize].0
    }

    /// The identity of object `n` of snapshot number `which`.
    pub fn key(&self, which: usize, snap: &Snapshot, n: NodeIx) -> Key {
        let (number, immutable) = self.maps[which][snap.type_index(n) as usize];
        let size = if immutable { snap.size(n) } else { 0 };
        (snap.id(n).0, number, size)
    }

    /// Instances per shared type number in snapshot number `which`.
    pub fn counts(&self, which: usize, snap: &Snapshot) -> Vec<u64> {
        let mut counts = vec![0u64; self.names.len()];
        for n in snap.nodes() {
            counts[self.number(which, snap, n) as usize] += 1;
        }
        counts
    }
}
