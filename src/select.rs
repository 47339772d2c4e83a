//! Object selectors on the command line: `0x7f…` or a decimal id, `mark:NAME`, `type:NAME`.

use crate::snapshot::{NodeIx, ObjectId, Snapshot};
use std::str::FromStr;

/// What the user named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// One object by address.
    Id(ObjectId),
    /// An object named by `dump(marks=…)`.
    Mark(String),
    /// Every instance of a type (short or qualified name).
    Type(String),
}

/// A selector that does not parse or does not match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The text is not a selector.
    #[error("'{0}' is not an object selector (use 0x7f…, a decimal id, mark:NAME or type:NAME)")]
    Syntax(String),
    /// No object with that address.
    #[error("no object {0} in the snapshot")]
    UnknownId(ObjectId),
    /// No mark with that name.
    #[error("no mark '{name}' in the snapshot (marks: {known})")]
    UnknownMark {
        /// The name asked for.
        name: String,
        /// The marks the snapshot has, comma-separated, or `none`.
        known: String,
    },
    /// The type exists nowhere in the heap: the query found nothing.
    #[error("no instances of type '{0}' in the snapshot")]
    NoInstances(String),
}

impl SelectError {
    /// 1 when the selector is fine but matched nothing (a query result), 2 for an error.
    pub fn exit_code(&self) -> u8 {
        match self {
            SelectError::NoInstances(_) => 1,
            _ => 2,
        }
    }
}

impl FromStr for Selector {
    type Err = SelectError;

    fn from_str(s: &str) -> Result<Self, SelectError> {
        let syntax = || SelectError::Syntax(s.to_string());
        if let Some(name) = s.strip_prefix("mark:") {
            return (!name.is_empty())
                .then(|| Selector::Mark(name.into()))
                .ok_or_else(syntax);
        }
        if let Some(name) = s.strip_prefix("type:") {
            return (!name.is_empty())
                .then(|| Selector::Type(name.into()))
                .ok_or_else(syntax);
        }
        let id = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            u64::from_str_radix(hex, 16)
        } else {
            s.parse::<u64>()
        };
        id.map(|v| Selector::Id(ObjectId(v))).map_err(|_| syntax())
    }
}

/// Does the type `index` answer to `name` (short `Session`, qualified `app.models.Session`)?
pub fn type_matches(snap: &Snapshot, index: u32, name: &str) -> bool {
    let t = &snap.types()[index as usize];
    t.short() == name || t.long() == name || format!("{}.{}", t.module, t.qualname) == name
}

/// Indices of the types named `name`.
pub fn matching_types(snap: &Snapshot, name: &str) -> Vec<u32> {
    (0..snap.types().len() as u32)
        .filter(|&t| type_matches(snap, t, name))
        .collect()
}

/// The objects a selector names, in snapshot order, at most `limit` for `type:`.
pub fn resolve(snap: &Snapshot, sel: &Selector, limit: usize) -> Result<Vec<NodeIx>, SelectError> {
    match sel {
        Selector::Id(id) => snap
            .node_by_id(*id)
            .map(|n| vec![n])
            .ok_or(SelectError::UnknownId(*id)),
        Selector::Mark(name) => {
            let found: Vec<NodeIx> = snap
                .marks()
                .iter()
                .filter(|(m, _)| m == name)
                .map(|(_, n)| *n)
                .collect();
            if found.is_empty() {
                let mut known: Vec<&str> = snap.marks().iter().map(|(m, _)| m.as_str()).collect();
                known.dedup();
                let known = if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                };
                return Err(SelectError::UnknownMark {
                    name: name.clone(),
                    known,
                });
            }
            Ok(found)
        }
        Selector::Type(name) => {
            let types = matching_types(snap, name);
            let found: Vec<NodeIx> = snap
                .nodes()
                .filter(|&n| types.contains(&snap.type_index(n)))
                .take(limit)
                .collect();
            if found.is_empty() {
                return Err(SelectError::NoInstances(name.clone()));
            }
            Ok(found)
        }
    }
}

/// Resolve several selectors; the union in order, without repeats.
pub fn resolve_all(
    snap: &Snapshot,
    sels: &[Selector],
    limit: usize,
) -> Result<Vec<NodeIx>, SelectError> {
    let mut out = Vec::new();
    for sel in sels {
        for n in resolve(snap, sel, limit)? {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_selector_form() {
        assert_eq!("0x10".parse(), Ok(Selector::Id(ObjectId(16))));
        assert_eq!("16".parse(), Ok(Selector::Id(ObjectId(16))));
        assert_eq!("mark:a".parse(), Ok(Selector::Mark("a".into())));
        assert_eq!(
            "type:app.Session".parse(),
            Ok(Selector::Type("app.Session".into()))
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "0x", "0xzz", "mark:", "type:", "-3", "abc"] {
            assert!(bad.parse::<Selector>().is_err(), "{bad}");
        }
    }
}
