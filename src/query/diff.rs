//! `diff`: what grew between two snapshots of the same process (objgraph's `show_growth` and
//! `get_new_ids`), robust to address reuse.
//!
//! Matching rule: an object of NEW is "the same" as one of OLD when both have the same id and
//! the same qualified type name, and — for immutable builtins (`str`, `bytes`, `int`, `float`,
//! `tuple`, `frozenset`), whose size never changes — the same size. CPython reuses freed
//! addresses, so the id alone proves nothing; mutable containers resize in place, so their size
//! may differ for the same object.
//!
//! Ids only mean something within one process: when the headers show two processes (another
//! pid, executable or argv), nothing is matched and the answer says why.
//!
//! Order: the types that grew first, those of the program and its libraries (not `builtins`)
//! before the builtins, each by bytes grown: a leak of the program's own objects shows above
//! the churn of `dict`, `tuple` and `str` that any work leaves behind.

use super::object::ObjectInfo;
use crate::snapshot::{NodeIx, Snapshot};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Growth of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeGrowth {
    /// Type name (short or long as asked).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Instances in OLD.
    pub old_count: u64,
    /// Instances in NEW.
    pub new_count: u64,
    /// `new_count - old_count`.
    pub delta: i64,
    /// Total size in OLD.
    pub old_size: u64,
    /// Total size in NEW.
    pub new_size: u64,
    /// `new_size - old_size`.
    pub size_delta: i64,
    /// Instances in NEW that do not match an object of OLD (see the matching rule).
    pub new_objects: u64,
}

/// The `diff` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Growth {
    /// OLD's path.
    pub old: String,
    /// NEW's path.
    pub new: String,
    /// Objects in OLD / NEW.
    pub old_objects: u64,
    /// Objects in NEW.
    pub new_objects: u64,
    /// Per type, most grown first (see the module's order); unchanged types left out.
    pub types: Vec<TypeGrowth>,
    /// Why OLD and NEW are not one process (`pid 12 vs 34`), when they are not: then no
    /// object is matched by id, and `new_objects` and `only_in_new` are left empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub different_processes: Option<String>,
    /// With `--new TYPE`: instances present only in NEW.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_in_new: Vec<ObjectInfo>,
}

/// Types whose instances never change size.
const IMMUTABLE: [&str; 6] = ["str", "bytes", "int", "float", "tuple", "frozenset"];

/// The identity of an object across snapshots.
fn key(snap: &Snapshot, n: NodeIx) -> (u64, String, u64) {
    let t = snap.type_name(n);
    let fixed = &*t.module == "builtins" && IMMUTABLE.contains(&&*t.qualname);
    (snap.id(n).0, t.long(), if fixed { snap.size(n) } else { 0 })
}

/// Compare OLD with NEW; `new_type` lists up to `limit` NEW-only instances of that type.
pub fn diff(
    old: &Snapshot,
    new: &Snapshot,
    long_names: bool,
    new_type: Option<&str>,
    limit: usize,
) -> Growth {
    let different_processes = different_processes(old, new);
    let identity = different_processes.is_none();
    let old_keys: rustc_hash::FxHashSet<(u64, String, u64)> = if identity {
        old.nodes().map(|n| key(old, n)).collect()
    } else {
        Default::default()
    };
    let name = |s: &Snapshot, n: NodeIx| {
        let t = s.type_name(n);
        if long_names {
            t.long()
        } else {
            t.short().to_string()
        }
    };
    let mut rows: FxHashMap<String, TypeGrowth> = FxHashMap::default();
    for n in old.nodes() {
        let r = row(&mut rows, name(old, n));
        r.old_count += 1;
        r.old_size = r.old_size.saturating_add(old.size(n));
    }
    let mut only_new = Vec::new();
    for n in new.nodes() {
        let is_new = identity && !old_keys.contains(&key(new, n));
        let r = row(&mut rows, name(new, n));
        r.new_count += 1;
        r.new_size = r.new_size.saturating_add(new.size(n));
        if is_new {
            r.new_objects += 1;
            if new_type.is_some_and(|t| crate::select::type_matches(new, new.type_index(n), t))
                && only_new.len() < limit
            {
                only_new.push(ObjectInfo::of(new, n));
            }
        }
    }
    let builtin: rustc_hash::FxHashSet<String> = old
        .types()
        .iter()
        .chain(new.types())
        .filter(|t| &*t.module == "builtins")
        .map(|t| {
            if long_names {
                t.long()
            } else {
                t.short().to_string()
            }
        })
        .collect();
    let mut types: Vec<TypeGrowth> = rows
        .into_values()
        .map(|mut r| {
            r.delta = r.new_count as i64 - r.old_count as i64;
            r.size_delta = (i128::from(r.new_size) - i128::from(r.old_size))
                .clamp(i128::from(i64::MIN), i128::from(i64::MAX))
                as i64;
            r
        })
        .filter(|r| r.delta != 0 || r.size_delta != 0 || r.new_objects != 0)
        .collect();
    let rank = |r: &TypeGrowth| {
        let grew = r.delta > 0 || r.size_delta > 0;
        (
            !grew,
            builtin.contains(&r.type_name),
            std::cmp::Reverse(r.size_delta),
            std::cmp::Reverse(r.delta),
        )
    };
    types.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.type_name.cmp(&b.type_name))
    });
    Growth {
        old: old.path().display().to_string(),
        new: new.path().display().to_string(),
        old_objects: old.node_count() as u64,
        new_objects: new.node_count() as u64,
        types,
        different_processes,
        only_in_new: only_new,
    }
}

/// How the headers show OLD and NEW to come from two processes, if they do.
pub fn different_processes(old: &Snapshot, new: &Snapshot) -> Option<String> {
    let (o, n) = (old.header(), new.header());
    if let (Some(a), Some(b)) = (o.pid, n.pid) {
        if a != b {
            return Some(format!("pid {a} vs {b}"));
        }
    }
    if let (Some(a), Some(b)) = (&o.executable, &n.executable) {
        if a != b {
            return Some(format!("executable {a} vs {b}"));
        }
    }
    (o.argv != n.argv).then(|| format!("argv {:?} vs {:?}", o.argv, n.argv))
}

fn row(rows: &mut FxHashMap<String, TypeGrowth>, type_name: String) -> &mut TypeGrowth {
    rows.entry(type_name).or_insert_with_key(|k| TypeGrowth {
        type_name: k.clone(),
        old_count: 0,
        new_count: 0,
        delta: 0,
        old_size: 0,
        new_size: 0,
        size_delta: 0,
        new_objects: 0,
    })
}
