//! `Snapshot`: the loaded heap as flat columns and forward + reverse CSR adjacency.
//!
//! Nodes are `u32` indices in file order. The store implements petgraph's visit traits so
//! petgraph's traversals run on it directly, without copying 10M nodes into a `Graph`.

use super::column::{Column, Text};
use super::format::{Header, FLAG_GARBAGE, FLAG_TRACKED};
use fixedbitset::FixedBitSet;
use petgraph::visit::{
    GraphBase, IntoNeighbors, IntoNeighborsDirected, NodeCount, NodeIndexable, Visitable,
};
use petgraph::Direction;
use rayon::prelude::*;
use std::path::PathBuf;

/// Index of an object in a [`Snapshot`].
pub type NodeIx = u32;

/// The address of a Python object (`id(obj)`), as recorded by the dumper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(pub u64);

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A Python type: `module` and `qualname`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeName {
    /// `type.__module__`.
    pub module: Box<str>,
    /// `type.__qualname__`.
    pub qualname: Box<str>,
}

impl TypeName {
    /// The short name, as objgraph shows it: `Session`, `list`.
    pub fn short(&self) -> &str {
        &self.qualname
    }

    /// The qualified name: `app.models.Session`; builtins stay short (`list`).
    pub fn long(&self) -> String {
        if self.module.is_empty() || &*self.module == "builtins" {
            self.qualname.to_string()
        } else {
            format!("{}.{}", self.module, self.qualname)
        }
    }
}

/// Why an object is a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootKind {
    /// An entry of `sys.modules`.
    Module {
        /// The `sys.modules` key.
        name: String,
    },
    /// A frame on a live thread's stack.
    ThreadFrame {
        /// The thread's name.
        thread: String,
        /// 0 for the innermost frame.
        depth: usize,
    },
}

/// A root of the heap: something alive by definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The root object.
    pub node: NodeIx,
    /// Module or thread frame.
    pub kind: RootKind,
}

/// A label on a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeLabel<'a> {
    /// The dumper could not name it.
    Unknown,
    /// Item `i` of a list or tuple.
    Index(u32),
    /// Display-ready text: `['key']`, `.attr`, `local 'x'`.
    Text(&'a str),
}

impl std::fmt::Display for EdgeLabel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EdgeLabel::Unknown => Ok(()),
            EdgeLabel::Index(i) => write!(f, "[{i}]"),
            EdgeLabel::Text(t) => f.write_str(t),
        }
    }
}

/// Encoded edge label: `NO_LABEL`, `INDEX_BIT | i`, or an index into the label table.
pub(crate) const NO_LABEL: u32 = u32::MAX;
pub(crate) const INDEX_BIT: u32 = 1 << 31;

/// Compressed sparse rows: the neighbours of node `n` are `targets[offsets[n]..offsets[n+1]]`.
#[derive(Debug, Default, Clone)]
pub struct Csr {
    pub(crate) offsets: Column<u32>,
    pub(crate) targets: Column<NodeIx>,
}

impl Csr {
    /// Neighbours of `n`.
    pub fn neighbors(&self, n: NodeIx) -> &[NodeIx] {
        let (start, end) = self.range(n);
        &self.targets[start..end]
    }

    pub(crate) fn range(&self, n: NodeIx) -> (usize, usize) {
        let n = n as usize;
        (self.offsets[n] as usize, self.offsets[n + 1] as usize)
    }

    /// The reverse of `self` over `node_count` nodes: for every edge a → b, an edge b → a,
    /// sources in ascending order. A counting sort, split by target range over the cores:
    /// each part reads every edge but counts and writes only the targets in its range, a
    /// contiguous piece of the output, so the parts never share a byte.
    pub(crate) fn reversed(&self, node_count: usize) -> Csr {
        let parts = rayon::current_num_threads().clamp(1, 16);
        let span = node_count.div_ceil(parts).max(1);
        let mut offsets = vec![0u32; node_count + 1];
        offsets[1..]
            .par_chunks_mut(span)
            .enumerate()
            .for_each(|(k, counts)| {
                let lo = k * span;
                for &t in &self.targets {
                    if let Some(c) = counts.get_mut((t as usize).wrapping_sub(lo)) {
                        *c += 1;
                    }
                }
            });
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut targets: Vec<NodeIx> = vec![0; self.targets.len()];
        let mut pieces = Vec::with_capacity(parts);
        let mut rest = &mut targets[..];
        for lo in (0..node_count).step_by(span) {
            let hi = (lo + span).min(node_count);
            let (piece, after) = rest.split_at_mut((offsets[hi] - offsets[lo]) as usize);
            pieces.push((lo, piece));
            rest = after;
        }
        pieces.into_par_iter().for_each(|(lo, piece)| {
            let base = offsets[lo];
            let hi = (lo + span).min(node_count);
            let mut fill: Vec<u32> = offsets[lo..hi].iter().map(|&o| o - base).collect();
            for src in 0..node_count {
                let (start, end) = self.range(src as NodeIx);
                for &t in &self.targets[start..end] {
                    if let Some(slot) = fill.get_mut((t as usize).wrapping_sub(lo)) {
                        piece[*slot as usize] = src as NodeIx;
                        *slot += 1;
                    }
                }
            }
        });
        Csr {
            offsets: offsets.into(),
            targets: targets.into(),
        }
    }
}

/// Per-node text (object labels), stored in one arena.
#[derive(Debug, Default, Clone)]
pub struct TextColumn {
    pub(crate) data: Text,
    pub(crate) ends: Column<u32>,
}

impl TextColumn {
    pub(crate) fn push(&mut self, text: Option<&str>) {
        if let Some(t) = text {
            self.data.push_str(t);
        }
        self.ends.push(self.data.len() as u32);
    }

    /// The text of node `n`, `None` when empty.
    pub fn get(&self, n: NodeIx) -> Option<&str> {
        let n = n as usize;
        let start = if n == 0 { 0 } else { self.ends[n - 1] as usize };
        let end = self.ends[n] as usize;
        (end > start).then(|| &self.data[start..end])
    }
}

/// Counts and warnings gathered while loading.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct LoadReport {
    /// References to ids that have no object record.
    pub dangling_refs: u64,
    /// True when the file ended without its `end` record.
    pub truncated: bool,
    /// Human-readable warnings, one line each.
    pub warnings: Vec<String>,
}

/// A loaded heap snapshot.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub(crate) path: PathBuf,
    pub(crate) header: Header,
    pub(crate) ids: Column<u64>,
    pub(crate) type_of: Column<u32>,
    pub(crate) sizes: Column<u64>,
    pub(crate) refcounts: Column<u32>,
    pub(crate) flags: Column<u8>,
    pub(crate) labels: TextColumn,
    pub(crate) types: Vec<TypeName>,
    pub(crate) fwd: Csr,
    pub(crate) fwd_labels: Column<u32>,
    pub(crate) edge_texts: Vec<Box<str>>,
    pub(crate) rev: Csr,
    pub(crate) roots: Vec<Root>,
    pub(crate) root_of: rustc_hash::FxHashMap<NodeIx, usize>,
    pub(crate) marks: Vec<(String, NodeIx)>,
    pub(crate) by_id: Column<NodeIx>,
    pub(crate) report: LoadReport,
    /// Allocation sites (format 1.3), empty when the dump was not traced.
    pub(crate) sites: super::sites::Sites,
    /// Instances and shallow bytes per type index, counted on first use.
    pub(crate) type_totals: std::sync::OnceLock<Vec<(u64, u64)>>,
}

impl Snapshot {
    /// Instances and total shallow size of each type (indexed like [`Snapshot::types`]),
    /// counted once: `types` and `find` asked again in `refgraph shell` read it back.
    pub fn type_totals(&self) -> &[(u64, u64)] {
        self.type_totals
            .get_or_init(|| self.type_totals_of(self.nodes()))
    }

    /// Instances and total shallow size per type index, over `nodes` only.
    pub fn type_totals_of(&self, nodes: impl Iterator<Item = NodeIx>) -> Vec<(u64, u64)> {
        let mut totals = vec![(0u64, 0u64); self.types.len()];
        for n in nodes {
            let slot = &mut totals[self.type_of[n as usize] as usize];
            slot.0 += 1;
            slot.1 = slot.1.saturating_add(self.sizes[n as usize]);
        }
        totals
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
    /// The header line.
    pub fn header(&self) -> &Header {
        &self.header
    }
    /// What loading found worth saying.
    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }
    /// Number of objects.
    pub fn node_count(&self) -> usize {
        self.ids.len()
    }
    /// Number of references.
    pub fn edge_count(&self) -> usize {
        self.fwd.targets.len()
    }
    /// All node indices.
    pub fn nodes(&self) -> std::ops::Range<NodeIx> {
        0..self.ids.len() as NodeIx
    }
    /// The object's address.
    pub fn id(&self, n: NodeIx) -> ObjectId {
        ObjectId(self.ids[n as usize])
    }
    /// The object's type.
    pub fn type_name(&self, n: NodeIx) -> &TypeName {
        &self.types[self.type_of[n as usize] as usize]
    }
    /// The object's type index (into [`Snapshot::types`]).
    pub fn type_index(&self, n: NodeIx) -> u32 {
        self.type_of[n as usize]
    }
    /// The type table.
    pub fn types(&self) -> &[TypeName] {
        &self.types
    }
    /// Shallow size in bytes.
    pub fn size(&self, n: NodeIx) -> u64 {
        self.sizes[n as usize]
    }
    /// Reference count (without the dumper's own references).
    pub fn refcount(&self, n: NodeIx) -> u32 {
        self.refcounts[n as usize]
    }
    /// The safe short label.
    pub fn label(&self, n: NodeIx) -> Option<&str> {
        self.labels.get(n)
    }
    /// Found unreachable by the cycle collector.
    pub fn is_garbage(&self, n: NodeIx) -> bool {
        self.flags[n as usize] & FLAG_GARBAGE != 0
    }
    /// gc-tracked.
    pub fn is_tracked(&self, n: NodeIx) -> bool {
        self.flags[n as usize] & FLAG_TRACKED != 0
    }
    /// What `n` references, in order.
    pub fn referents(&self, n: NodeIx) -> &[NodeIx] {
        self.fwd.neighbors(n)
    }
    /// What references `n`, one entry per reference, sources ascending.
    pub fn referrers(&self, n: NodeIx) -> &[NodeIx] {
        self.rev.neighbors(n)
    }
    /// The referents of `n` with their labels.
    pub fn labelled_referents(
        &self,
        n: NodeIx,
    ) -> impl Iterator<Item = (NodeIx, EdgeLabel<'_>)> + '_ {
        let (start, end) = self.fwd.range(n);
        (start..end).map(move |e| (self.fwd.targets[e], self.decode_label(self.fwd_labels[e])))
    }
    /// The labels of every reference `src` → `dst`, in order. Only the matches are decoded:
    /// finding an item of a million-entry dict is a scan of its targets.
    pub fn labels_between(
        &self,
        src: NodeIx,
        dst: NodeIx,
    ) -> impl Iterator<Item = EdgeLabel<'_>> + '_ {
        let (start, end) = self.fwd.range(src);
        self.fwd.targets[start..end]
            .iter()
            .enumerate()
            .filter(move |&(_, &t)| t == dst)
            .map(move |(k, _)| self.decode_label(self.fwd_labels[start + k]))
    }
    /// The label of the first reference from `src` to `dst` (`Unknown` if there is none).
    pub fn edge_label(&self, src: NodeIx, dst: NodeIx) -> EdgeLabel<'_> {
        self.labels_between(src, dst)
            .next()
            .unwrap_or(EdgeLabel::Unknown)
    }
    fn decode_label(&self, code: u32) -> EdgeLabel<'_> {
        if code == NO_LABEL {
            EdgeLabel::Unknown
        } else if code & INDEX_BIT != 0 {
            EdgeLabel::Index(code & !INDEX_BIT)
        } else {
            EdgeLabel::Text(&self.edge_texts[code as usize])
        }
    }
    /// The roots: modules and thread frames.
    pub fn roots(&self) -> &[Root] {
        &self.roots
    }
    /// The root entry of `n`, if it is a root.
    pub fn root(&self, n: NodeIx) -> Option<&Root> {
        self.root_of.get(&n).map(|&i| &self.roots[i])
    }
    /// The marks from `dump(marks=…)`.
    pub fn marks(&self) -> &[(String, NodeIx)] {
        &self.marks
    }
    /// The mark names of `n`.
    pub fn marks_of(&self, n: NodeIx) -> impl Iterator<Item = &str> {
        self.marks
            .iter()
            .filter(move |(_, m)| *m == n)
            .map(|(name, _)| name.as_str())
    }
    /// The node with this address.
    pub fn node_by_id(&self, id: ObjectId) -> Option<NodeIx> {
        self.by_id
            .binary_search_by_key(&id.0, |&n| self.ids[n as usize])
            .ok()
            .map(|i| self.by_id[i])
    }
    /// Total shallow size of all objects.
    pub fn total_size(&self) -> u64 {
        sum_sizes(self.sizes.iter().copied())
    }
}

/// Sizes added up, saturating: each object is at most 2^48 bytes, but 2^31 of them are
/// not, and a lying file must not wrap a total (or panic a debug build).
pub fn sum_sizes(sizes: impl IntoIterator<Item = u64>) -> u64 {
    sizes.into_iter().fold(0, u64::saturating_add)
}

impl GraphBase for Snapshot {
    type NodeId = NodeIx;
    type EdgeId = u32;
}

impl<'a> IntoNeighbors for &'a Snapshot {
    type Neighbors = std::iter::Copied<std::slice::Iter<'a, NodeIx>>;
    fn neighbors(self, n: NodeIx) -> Self::Neighbors {
        self.referents(n).iter().copied()
    }
}

impl<'a> IntoNeighborsDirected for &'a Snapshot {
    type NeighborsDirected = std::iter::Copied<std::slice::Iter<'a, NodeIx>>;
    fn neighbors_directed(self, n: NodeIx, d: Direction) -> Self::NeighborsDirected {
        match d {
            Direction::Outgoing => self.referents(n).iter().copied(),
            Direction::Incoming => self.referrers(n).iter().copied(),
        }
    }
}

impl NodeIndexable for Snapshot {
    fn node_bound(&self) -> usize {
        self.ids.len()
    }
    fn to_index(&self, n: NodeIx) -> usize {
        n as usize
    }
    fn from_index(&self, i: usize) -> NodeIx {
        i as NodeIx
    }
}

impl NodeCount for Snapshot {
    fn node_count(&self) -> usize {
        self.ids.len()
    }
}

impl Visitable for Snapshot {
    type Map = FixedBitSet;
    fn visit_map(&self) -> FixedBitSet {
        FixedBitSet::with_capacity(self.ids.len())
    }
    fn reset_map(&self, map: &mut FixedBitSet) {
        map.clear();
        map.grow(self.ids.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The reverse CSR holds, for each node, exactly the sources of the edges into it,
        /// ascending, with repeats — whatever the number of parts the cores split it into.
        #[test]
        fn reversed_agrees_with_brute_force(
            lists in proptest::collection::vec(proptest::collection::vec(0u32..64, 0..8), 1..64),
        ) {
            let n = lists.len();
            let mut offsets = vec![0u32];
            let mut targets = Vec::new();
            for list in &lists {
                targets.extend(list.iter().map(|&t| t % n as u32));
                offsets.push(targets.len() as u32);
            }
            let fwd = Csr {
                offsets: offsets.into(),
                targets: targets.into(),
            };
            let rev = fwd.reversed(n);
            prop_assert_eq!(rev.targets.len(), fwd.targets.len());
            for t in 0..n as NodeIx {
                let expected: Vec<NodeIx> = (0..n as NodeIx)
                    .flat_map(|s| fwd.neighbors(s).iter().filter(move |&&x| x == t).map(move |_| s))
                    .collect();
                prop_assert_eq!(rev.neighbors(t), &expected[..]);
            }
        }
    }
}
