//! `diff`: what grew between two snapshots of the same process (objgraph's `show_growth` and
//! `get_new_ids`), robust to address reuse.
//!
//! Matching rule (`identity.rs`): an object of NEW is "the same" as one of OLD when both have
//! the same id and the same qualified type name, and — for immutable builtins (`str`, `bytes`,
//! `int`, `float`, `tuple`, `frozenset`), whose size never changes — the same size; compared on
//! integers, with no string built per object.
//!
//! Ids only mean something within one process: when the headers show two processes (another
//! pid, executable or argv), nothing is matched and the answer says why.
//!
//! Order: the types that grew first, those of the program and its libraries (not `builtins`)
//! before the builtins, each by bytes grown: a leak of the program's own objects shows above
//! the churn of `dict`, `tuple` and `str` that any work leaves behind.

use super::identity::{Key, TypeNumbers};
use super::object::ObjectInfo;
use crate::snapshot::Snapshot;
use rustc_hash::{FxHashMap, FxHashSet};
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

/// One type's counts in OLD and NEW.
#[derive(Debug, Clone, Default)]
struct Counters {
    old_count: u64,
    new_count: u64,
    old_size: u64,
    new_size: u64,
    new_objects: u64,
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
    // Everything per object is integers (`identity.rs`): one counter row per shared type
    // number, named once at the end.
    let numbers = TypeNumbers::new(&[old, new]);
    let old_keys: FxHashSet<Key> = if identity {
        old.nodes().map(|n| numbers.key(0, old, n)).collect()
    } else {
        FxHashSet::default()
    };
    let mut counters = vec![Counters::default(); numbers.len()];
    for n in old.nodes() {
        let c = &mut counters[numbers.number(0, old, n) as usize];
        c.old_count += 1;
        c.old_size = c.old_size.saturating_add(old.size(n));
    }
    let mut only_new = Vec::new();
    for n in new.nodes() {
        let key = numbers.key(1, new, n);
        let c = &mut counters[key.1 as usize];
        c.new_count += 1;
        c.new_size = c.new_size.saturating_add(new.size(n));
        if identity && !old_keys.contains(&key) {
            c.new_objects += 1;
            if new_type.is_some_and(|t| crate::select::type_matches(new, new.type_index(n), t))
                && only_new.len() < limit
            {
                only_new.push(ObjectInfo::of(new, n));
            }
        }
    }
    drop(old_keys);
    let name = |number: u32| {
        if long_names {
            numbers.name(number)
        } else {
            numbers.short_name(number)
        }
    };
    let mut rows: FxHashMap<String, TypeGrowth> = FxHashMap::default();
    let mut builtin: FxHashSet<String> = FxHashSet::default();
    for (number, c) in counters.iter().enumerate() {
        let number = number as u32;
        let r = row(&mut rows, name(number).to_string());
        r.old_count += c.old_count;
        r.new_count += c.new_count;
        r.old_size = r.old_size.saturating_add(c.old_size);
        r.new_size = r.new_size.saturating_add(c.new_size);
        r.new_objects += c.new_objects;
        if numbers.is_builtin(number) {
            builtin.insert(name(number).to_string());
        }
    }
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
