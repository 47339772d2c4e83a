//! `ObjectInfo`: the facts about one object that every answer shows (id, type, label, size).

use crate::snapshot::{NodeIx, RootKind, Snapshot};
use serde::{Deserialize, Serialize};

/// One object, as answers present it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectInfo {
    /// The address, `0x…`.
    pub id: String,
    /// Short type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Qualified type name.
    pub type_long: String,
    /// The safe short label, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Shallow size, bytes.
    pub size: u64,
    /// Reference count (without the dumper's references).
    pub refcount: u32,
    /// `module NAME` or `thread 'NAME' frame` when the object is a root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Found unreachable by the cycle collector.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub garbage: bool,
    /// Names given by `dump(marks=…)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<String>,
}

impl ObjectInfo {
    /// The facts about node `n`.
    pub fn of(snap: &Snapshot, n: NodeIx) -> Self {
        ObjectInfo {
            id: snap.id(n).to_string(),
            type_name: snap.type_name(n).short().to_string(),
            type_long: snap.type_name(n).long(),
            label: snap.label(n).map(str::to_string),
            size: snap.size(n),
            refcount: snap.refcount(n),
            root: root_description(snap, n),
            garbage: snap.is_garbage(n),
            marks: snap.marks_of(n).map(str::to_string).collect(),
        }
    }
}

/// `module NAME` / `thread 'NAME' frame` for a root, `None` otherwise.
pub fn root_description(snap: &Snapshot, n: NodeIx) -> Option<String> {
    snap.root(n).map(|r| match &r.kind {
        RootKind::Module { name } => format!("module {name}"),
        RootKind::ThreadFrame { thread, .. } => format!("thread '{thread}'"),
    })
}
