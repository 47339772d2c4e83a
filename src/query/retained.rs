//! Retained sizes: how many bytes freeing an object would free (its shallow size plus that
//! of everything it dominates), the dominator tree as children lists, and MAT's "leak
//! suspects" for `refgraph top`.
//!
//! The dominator tree comes from [`super::dominators`], from a super-root over the roots and
//! the entries of unreachable components. So for an object no root reaches (cyclic garbage,
//! objects held from C code), "retained" means what it keeps alive *among the unreachable
//! objects*, with the first member (file order) of each unreachable cycle standing for the
//! cycle: removing it, plus the super-root's edge to it, frees the cycle and all it alone
//! holds.
//!
//! `top` follows Eclipse MAT: it lists the top level of the dominator tree (roots, objects
//! held by several roots, unreachable entries) by retained size; each top-level object that
//! retains 10 % of the heap or more is a suspect, and the descent from it along the largest
//! child (while that child holds 80 % of its parent) ends at the accumulation point, the
//! container whose many children hold the bytes.

use super::chain::{backref_chain, ChainQuery, ChainView};
use super::dominators::{dominator_tree, DominatorTree, SUPER_ROOT};
use super::object::ObjectInfo;
use crate::snapshot::{sum_sizes, NodeIx, Snapshot};
use fixedbitset::FixedBitSet;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;

/// Retained sizes and the dominator tree of a snapshot.
#[derive(Debug, Clone)]
pub struct Retained {
    /// Immediate dominator of each node, [`SUPER_ROOT`] for the top level.
    idom: Vec<NodeIx>,
    /// Retained size of each node, bytes.
    retained: Vec<u64>,
    /// The dominator-tree children of node `n` are `children[offsets[n]..offsets[n + 1]]`;
    /// the top level (the super-root's children) is at `n = node count`.
    offsets: Vec<u32>,
    /// Each list sorted by retained size, largest first (then by node index).
    children: Vec<NodeIx>,
    /// Nodes no root reaches.
    unreachable: FixedBitSet,
    /// Total shallow size.
    total: u64,
    /// Shallow size of the unreachable nodes.
    unreachable_total: u64,
}

impl Retained {
    /// Dominators and retained sizes of `snap`.
    pub fn compute(snap: &Snapshot) -> Self {
        let roots: Vec<NodeIx> = snap.roots().iter().map(|r| r.node).collect();
        Self::from_tree(dominator_tree(snap, &roots), |n| snap.size(n))
    }

    /// Retained sizes over a dominator tree, with shallow sizes from `size`.
    pub fn from_tree(tree: DominatorTree, size: impl Fn(NodeIx) -> u64) -> Self {
        let (idom, preorder, reachable) = tree.into_parts();
        let n = idom.len();
        let mut retained: Vec<u64> = (0..n as NodeIx).map(&size).collect();
        let total = sum_sizes(retained.iter().copied());
        let mut unreachable = FixedBitSet::with_capacity(n);
        let mut unreachable_total = 0;
        for &v in &preorder[reachable..] {
            unreachable.insert(v as usize);
            unreachable_total = u64::saturating_add(unreachable_total, retained[v as usize]);
        }
        // Reverse preorder: every node is complete before its dominator (a DFS ancestor).
        for &v in preorder.iter().rev() {
            let d = idom[v as usize];
            if d != SUPER_ROOT {
                retained[d as usize] = retained[d as usize].saturating_add(retained[v as usize]);
            }
        }
        drop(preorder);
        let (offsets, children) = children_lists(&idom, &retained);
        Retained {
            idom,
            retained,
            offsets,
            children,
            unreachable,
            total,
            unreachable_total,
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.idom.len()
    }

    /// Retained size of `n`, bytes: its shallow size plus that of all it dominates.
    pub fn retained(&self, n: NodeIx) -> u64 {
        self.retained[n as usize]
    }

    /// The immediate dominator of `n`; `None` at the top level (roots, objects held by several
    /// roots, entries of unreachable components).
    pub fn idom(&self, n: NodeIx) -> Option<NodeIx> {
        let d = self.idom[n as usize];
        (d != SUPER_ROOT).then_some(d)
    }

    /// What a strongly connected group of objects (a reference cycle) retains: the retained
    /// sizes of its members whose immediate dominator is not a member, summed.
    ///
    /// No object is counted twice: if a member `c` dominates a member `m`, every dominator
    /// between them lies on a path `c → … → m → … → c`, so in the group too, and `m`'s
    /// immediate dominator is a member. Objects only several members together hold are not
    /// counted, so this is a lower bound of what removing the whole group frees. Meaningless
    /// for a group that is not strongly connected.
    pub fn retained_by_group(&self, members: &[NodeIx], is_member: impl Fn(NodeIx) -> bool) -> u64 {
        sum_sizes(
            members
                .iter()
                .filter(|&&m| self.idom(m).is_none_or(|d| !is_member(d)))
                .map(|&m| self.retained(m)),
        )
    }

    /// The dominators of `n` from its immediate dominator up to the top level.
    pub fn dominators(&self, n: NodeIx) -> impl Iterator<Item = NodeIx> + '_ {
        std::iter::successors(self.idom(n), |&d| self.idom(d))
    }

    /// What `n` immediately dominates, largest retained size first.
    pub fn children(&self, n: NodeIx) -> &[NodeIx] {
        self.child_list(n as usize)
    }

    /// The top level of the dominator tree (the super-root's children), largest first.
    pub fn top_level(&self) -> &[NodeIx] {
        self.child_list(self.idom.len())
    }

    fn child_list(&self, slot: usize) -> &[NodeIx] {
        &self.children[self.offsets[slot] as usize..self.offsets[slot + 1] as usize]
    }

    /// True when no root reaches `n`.
    pub fn is_unreachable(&self, n: NodeIx) -> bool {
        self.unreachable.contains(n as usize)
    }

    /// Total shallow size of all objects: the 100 % of percentages.
    pub fn total_size(&self) -> u64 {
        self.total
    }

    /// Total shallow size of the objects no root reaches.
    pub fn unreachable_size(&self) -> u64 {
        self.unreachable_total
    }

    /// `retained(n)` as a percentage of the total shallow size, rounded to 0.01.
    pub fn percent(&self, n: NodeIx) -> f64 {
        percent(self.retained(n), self.total)
    }

    /// Retained size per type, indexed like [`Snapshot::types`]: the bytes the instances of
    /// the type retain together, each object counted once (an instance dominated by another
    /// instance of its type adds nothing). This is MAT's quick lower bound: freeing all
    /// instances at once can free more (objects only several instances hold together).
    pub fn by_type(&self, snap: &Snapshot) -> Vec<u64> {
        self.retained_by_class(snap.types().len(), |n| snap.type_index(n))
    }

    /// [`Retained::by_type`] for any classification of nodes into `0..classes`.
    pub fn retained_by_class(&self, classes: usize, class_of: impl Fn(NodeIx) -> u32) -> Vec<u64> {
        let mut sums = vec![0u64; classes];
        // How many nodes of each class are on the current path from the super-root: a node
        // counts only when it is the first of its class on its path.
        let mut open = vec![0u32; classes];
        // (node, next child, class)
        let mut stack: Vec<(NodeIx, u32, u32)> = Vec::new();
        let mut enter = |n: NodeIx, stack: &mut Vec<(NodeIx, u32, u32)>, open: &mut [u32]| {
            let c = class_of(n);
            if open[c as usize] == 0 {
                sums[c as usize] = sums[c as usize].saturating_add(self.retained(n));
            }
            open[c as usize] += 1;
            stack.push((n, 0, c));
        };
        for &t in self.top_level() {
            enter(t, &mut stack, &mut open);
            while let Some(frame) = stack.last_mut() {
                let (n, k, c) = *frame;
                if let Some(&child) = self.children(n).get(k as usize) {
                    frame.1 += 1;
                    enter(child, &mut stack, &mut open);
                } else {
                    stack.pop();
                    open[c as usize] -= 1;
                }
            }
        }
        sums
    }
}

/// The dominator tree as children lists (the top level last), each largest first.
fn children_lists(idom: &[NodeIx], retained: &[u64]) -> (Vec<u32>, Vec<NodeIx>) {
    let n = idom.len();
    let slot = |v: usize| {
        if idom[v] == SUPER_ROOT {
            n
        } else {
            idom[v] as usize
        }
    };
    let mut offsets = vec![0u32; n + 2];
    for v in 0..n {
        offsets[slot(v) + 1] += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    // Fill with `offsets[p]` as the cursor of list `p`: afterwards it holds the list's end,
    // the next list's start, so one shift restores the starts (no second array).
    let mut children = vec![0; n];
    for v in 0..n {
        let f = &mut offsets[slot(v)];
        children[*f as usize] = v as NodeIx;
        *f += 1;
    }
    offsets.rotate_right(1);
    offsets[0] = 0;
    let mut rest = children.as_mut_slice();
    for w in offsets.windows(2) {
        let (list, tail) = rest.split_at_mut((w[1] - w[0]) as usize);
        rest = tail;
        sort_largest_first(list, retained);
    }
    (offsets, children)
}

/// Sorts `list` by retained size, largest first, then by node index.
fn sort_largest_first(list: &mut [NodeIx], retained: &[u64]) {
    if list.len() < 1 << 12 {
        list.sort_unstable_by_key(|&c| (Reverse(retained[c as usize]), c));
        return;
    }
    // A big list (the top level can hold millions): look each size up once, not at every
    // comparison, and sort 12-byte keys (`!size` split in two words, then the node) in
    // parallel.
    let mut keyed: Vec<[u32; 3]> = list
        .iter()
        .map(|&c| {
            let key = !retained[c as usize];
            [(key >> 32) as u32, key as u32, c]
        })
        .collect();
    keyed.par_sort_unstable();
    for (slot, k) in list.iter_mut().zip(&keyed) {
        *slot = k[2];
    }
}

fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    (part as f64 * 10_000.0 / total as f64).round() / 100.0
}

/// What `refgraph top` asks.
#[derive(Debug, Clone)]
pub struct TopQuery {
    /// How many top-level objects to list.
    pub limit: usize,
    /// A top-level object retaining at least this fraction of the total is a suspect.
    pub suspect_fraction: f64,
    /// The descent to the accumulation point follows the largest child while it retains at
    /// least this fraction of its parent.
    pub descend_fraction: f64,
    /// How chains to suspects and accumulation points are searched.
    pub chain: ChainQuery,
}

impl Default for TopQuery {
    fn default() -> Self {
        TopQuery {
            limit: 20,
            suspect_fraction: 0.10,
            descend_fraction: 0.80,
            chain: ChainQuery {
                max_depth: 10_000,
                ..ChainQuery::default()
            },
        }
    }
}

/// The answer of `refgraph top`: the biggest top-level dominators and the leak suspects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopAnswer {
    /// Number of objects in the snapshot.
    pub objects: u64,
    /// Total shallow size of all objects, bytes: the 100 % of every percentage.
    pub total_size: u64,
    /// Shallow size of the objects no root reaches, bytes.
    pub unreachable_size: u64,
    /// Retained bytes from which a top-level object is a suspect.
    pub suspect_threshold: u64,
    /// The top level of the dominator tree, largest retained size first, at most `limit`.
    pub top: Vec<TopEntry>,
    /// Top-level objects retaining at least `suspect_threshold`, largest first (not limited
    /// by `limit`).
    pub suspects: Vec<Suspect>,
}

/// One object of the dominator tree's top level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopEntry {
    /// The object.
    pub object: ObjectInfo,
    /// Its retained size, bytes.
    pub retained: u64,
    /// `retained` as a percentage of `total_size`, rounded to 0.01.
    pub percent: f64,
    /// Objects it dominates (its retained set, itself excluded).
    pub dominated: u64,
    /// True when no root reaches it: it stands for an unreachable component (an orphan, a
    /// garbage cycle) and what that component alone holds.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
}

/// A leak suspect: a top-level object holding a large share of the heap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suspect {
    /// The object.
    pub object: ObjectInfo,
    /// Its retained size, bytes.
    pub retained: u64,
    /// `retained` as a percentage of `total_size`, rounded to 0.01.
    pub percent: f64,
    /// True when no root reaches it (see [`TopEntry::unreachable`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unreachable: bool,
    /// The shortest chain from a root to it (`None` when it is a root itself or no root
    /// reaches it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainView>,
    /// Where inside it the bytes accumulate.
    pub accumulation: Accumulation,
}

/// The accumulation point of a suspect: the object below which the retained bytes spread
/// over many children (a big list, dict or set), found by descending the dominator tree
/// along the largest child while it holds most of its parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accumulation {
    /// The object (the suspect itself when no single child holds most of it).
    pub object: ObjectInfo,
    /// Its retained size, bytes.
    pub retained: u64,
    /// `retained` as a percentage of the total shallow size, rounded to 0.01.
    pub percent: f64,
    /// Steps down the dominator tree from the suspect.
    pub depth: u64,
    /// Objects it immediately dominates.
    pub children: u64,
    /// Bytes those children retain together (its retained size less its own size).
    pub children_retained: u64,
    /// The children grouped by type, largest retained first, at most five.
    pub children_by_type: Vec<TypeShare>,
    /// When the descent ran down a linked structure (16 or more objects of one type in a
    /// row, each dominating the next), its length: `object` is its head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_run: Option<u64>,
    /// The shortest chain from a root to it (`None` when it is the suspect or unreachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainView>,
    /// The line that allocated most of its children, when the dump recorded sites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_at: Option<super::sites::SiteShare>,
}

/// The share of some objects of one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeShare {
    /// Short type name.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Qualified type name.
    pub type_long: String,
    /// How many objects.
    pub count: u64,
    /// Bytes they retain together.
    pub retained: u64,
}

/// Shortest run of same-type objects reported as a linked structure.
const LINKED_RUN_MIN: u64 = 16;
/// How many types `children_by_type` lists.
const TYPE_SHARES: usize = 5;

/// Answer `refgraph top`.
pub fn top(snap: &Snapshot, r: &Retained, q: &TopQuery) -> TopAnswer {
    let threshold = (r.total_size() as f64 * q.suspect_fraction).ceil() as u64;
    let top_level = r.top_level();
    let suspects = top_level
        .iter()
        .take_while(|&&n| r.retained(n) >= threshold.max(1))
        .map(|&n| suspect(snap, r, n, q))
        .collect();
    TopAnswer {
        objects: r.node_count() as u64,
        total_size: r.total_size(),
        unreachable_size: r.unreachable_size(),
        suspect_threshold: threshold,
        top: top_level
            .iter()
            .take(q.limit)
            .map(|&n| top_entry(snap, r, n))
            .collect(),
        suspects,
    }
}

fn top_entry(snap: &Snapshot, r: &Retained, n: NodeIx) -> TopEntry {
    TopEntry {
        object: ObjectInfo::of(snap, n),
        retained: r.retained(n),
        percent: r.percent(n),
        dominated: subtree_size(r, n) - 1,
        unreachable: r.is_unreachable(n),
    }
}

/// Number of nodes in `n`'s dominator subtree, `n` included.
fn subtree_size(r: &Retained, n: NodeIx) -> u64 {
    let mut count = 0;
    let mut stack = vec![n];
    while let Some(v) = stack.pop() {
        count += 1;
        stack.extend_from_slice(r.children(v));
    }
    count
}

fn suspect(snap: &Snapshot, r: &Retained, n: NodeIx, q: &TopQuery) -> Suspect {
    Suspect {
        object: ObjectInfo::of(snap, n),
        retained: r.retained(n),
        percent: r.percent(n),
        unreachable: r.is_unreachable(n),
        chain: chain_to(snap, r, n, q).filter(|c| c.steps.len() > 1),
        accumulation: accumulation(snap, r, n, q),
    }
}

fn chain_to(snap: &Snapshot, r: &Retained, n: NodeIx, q: &TopQuery) -> Option<ChainView> {
    if r.is_unreachable(n) {
        return None;
    }
    backref_chain(snap, n, &q.chain).map(|c| ChainView::of(snap, &c))
}

/// The descent from `suspect` and what it found.
fn accumulation(snap: &Snapshot, r: &Retained, suspect: NodeIx, q: &TopQuery) -> Accumulation {
    let descent = descend(snap, r, suspect, q.descend_fraction);
    let at = descent.point;
    let children = r.children(at);
    Accumulation {
        object: ObjectInfo::of(snap, at),
        retained: r.retained(at),
        percent: r.percent(at),
        depth: descent.depth,
        children: children.len() as u64,
        children_retained: sum_sizes(children.iter().map(|&c| r.retained(c))),
        children_by_type: type_shares(snap, r, children),
        linked_run: descent.linked_run,
        chain: if at == suspect {
            None
        } else {
            chain_to(snap, r, at, q)
        },
        allocated_at: super::sites::main_site(snap, children.iter().copied()),
    }
}

/// Where a descent stopped.
struct Descent {
    point: NodeIx,
    depth: u64,
    linked_run: Option<u64>,
}

/// Follows the largest child while it retains at least `fraction` of its parent. A run of
/// [`LINKED_RUN_MIN`] or more same-type nodes on the way is a linked structure (a linked list
/// where each node retains the rest): its head is the answer, not its far end.
fn descend(snap: &Snapshot, r: &Retained, start: NodeIx, fraction: f64) -> Descent {
    let (mut at, mut depth) = (start, 0u64);
    let (mut run_head, mut run_depth, mut run_len) = (start, 0u64, 1u64);
    let mut best: Option<(NodeIx, u64, u64)> = None;
    while let Some(&child) = r.children(at).first() {
        if (r.retained(child) as f64) < fraction * r.retained(at) as f64 {
            break;
        }
        depth += 1;
        if snap.type_index(child) == snap.type_index(at) {
            run_len += 1;
        } else {
            (run_head, run_depth, run_len) = (child, depth, 1);
        }
        if run_len >= LINKED_RUN_MIN && best.is_none_or(|(h, _, _)| h == run_head) {
            best = Some((run_head, run_depth, run_len));
        }
        at = child;
    }
    match best {
        Some((head, head_depth, len)) => Descent {
            point: head,
            depth: head_depth,
            linked_run: Some(len),
        },
        None => Descent {
            point: at,
            depth,
            linked_run: None,
        },
    }
}

/// `nodes` grouped by type, largest retained first, at most [`TYPE_SHARES`].
fn type_shares(snap: &Snapshot, r: &Retained, nodes: &[NodeIx]) -> Vec<TypeShare> {
    let mut by_type: FxHashMap<u32, (u64, u64)> = FxHashMap::default();
    for &n in nodes {
        let e = by_type.entry(snap.type_index(n)).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(r.retained(n));
    }
    let mut shares: Vec<(u32, (u64, u64))> = by_type.into_iter().collect();
    shares.sort_unstable_by_key(|&(t, (count, bytes))| (Reverse(bytes), Reverse(count), t));
    shares
        .into_iter()
        .take(TYPE_SHARES)
        .map(|(t, (count, retained))| {
            let name = &snap.types()[t as usize];
            TypeShare {
                type_name: name.short().to_string(),
                type_long: name.long(),
                count,
                retained,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::dominators::testing::{Brute, CsrGraph};
    use crate::snapshot::parse_snapshot;
    use proptest::prelude::*;
    use std::path::Path;

    /// An object of a hand-made snapshot.
    struct Obj {
        id: u64,
        ty: u32,
        size: u64,
        refs: Vec<u64>,
    }

    fn obj(id: u64, ty: u32, size: u64, refs: &[u64]) -> Obj {
        Obj {
            id,
            ty,
            size,
            refs: refs.to_vec(),
        }
    }

    const TYPES: &str = r#"[["builtins","module"],["builtins","dict"],["builtins","list"],["builtins","int"],["app","Node"]]"#;
    const MODULE: u32 = 0;
    const DICT: u32 = 1;
    const LIST: u32 = 2;
    const INT: u32 = 3;
    const NODE: u32 = 4;

    /// A snapshot of `objs` (lists index their references; the others have no edge labels),
    /// with the `modules` as roots and the `garbage` ids flagged.
    fn snapshot(objs: &[Obj], modules: &[(&str, u64)], garbage: &[u64]) -> Snapshot {
        let col = |f: &dyn Fn(&Obj) -> String| objs.iter().map(f).collect::<Vec<_>>().join(",");
        let labels: Vec<&str> = objs
            .iter()
            .filter(|o| o.ty != LIST)
            .flat_map(|o| o.refs.iter().map(|_| "null"))
            .collect();
        let mut text = String::from(
            r#"{"kind":"header","format":"refgraph-snapshot","version":[1,0],"pid":7,"argv":["t.py"]}"#,
        );
        text += &format!("\n{{\"kind\":\"types\",\"base\":0,\"names\":{TYPES}}}\n");
        text += &format!(
            r#"{{"kind":"objects","id":[{}],"type":[{}],"size":[{}],"refcount":[{}],"flags":[{}],"label":[{}],"nrefs":[{}],"refs":[{}],"edge_labels":[{}]}}"#,
            col(&|o| o.id.to_string()),
            col(&|o| o.ty.to_string()),
            col(&|o| o.size.to_string()),
            col(&|_| "1".into()),
            col(&|o| {
                let flags =
                    2 | if o.ty == LIST { 4 } else { 0 } | u8::from(garbage.contains(&o.id));
                flags.to_string()
            }),
            col(&|_| "null".into()),
            col(&|o| o.refs.len().to_string()),
            objs.iter()
                .flat_map(|o| o.refs.iter().map(u64::to_string))
                .collect::<Vec<_>>()
                .join(","),
            labels.join(","),
        );
        for (name, id) in modules {
            text += &format!(
                "\n{{\"kind\":\"root\",\"root\":\"module\",\"name\":\"{name}\",\"id\":{id}}}"
            );
        }
        let edges: usize = objs.iter().map(|o| o.refs.len()).sum();
        text += &format!(
            "\n{{\"kind\":\"end\",\"objects\":{},\"edges\":{edges}}}\n",
            objs.len()
        );
        parse_snapshot(Path::new("t"), text.as_bytes()).unwrap()
    }

    fn node(s: &Snapshot, id: u64) -> NodeIx {
        s.node_by_id(crate::ObjectId(id)).unwrap()
    }

    /// module 1 → dict 2 → list 3 → ints 1000..2000 (28 bytes each); module 4 → dict 5,
    /// which also holds the first `shared` ints.
    fn list_of_ints(shared: u64) -> Snapshot {
        let ints: Vec<u64> = (1000..2000).collect();
        let mut objs = vec![
            obj(1, MODULE, 72, &[2]),
            obj(2, DICT, 640, &[3]),
            obj(3, LIST, 8056, &ints),
            obj(4, MODULE, 72, &[5]),
            obj(5, DICT, 640, &ints[..shared as usize]),
        ];
        objs.extend(ints.iter().map(|&i| obj(i, INT, 28, &[])));
        snapshot(&objs, &[("app", 1), ("other", 4)], &[])
    }

    #[test]
    fn a_list_retains_its_ints() {
        let s = list_of_ints(0);
        let r = Retained::compute(&s);
        let list = node(&s, 3);
        assert_eq!(r.retained(list), 8056 + 1000 * 28);
        assert_eq!(r.retained(node(&s, 1)), 72 + 640 + 8056 + 28_000);
        assert_eq!(r.idom(list), Some(node(&s, 2)));
        assert_eq!(r.idom(node(&s, 1)), None);
        assert_eq!(r.children(list).len(), 1000);
        assert_eq!(r.total_size(), 72 * 2 + 640 * 2 + 8056 + 28_000);
        assert_eq!(
            r.dominators(node(&s, 1500)).collect::<Vec<_>>(),
            [list, node(&s, 2), node(&s, 1)]
        );
    }

    #[test]
    fn ints_shared_with_another_module_are_not_retained_by_the_list() {
        let s = list_of_ints(10);
        let r = Retained::compute(&s);
        assert_eq!(r.retained(node(&s, 3)), 8056 + 990 * 28);
        assert_eq!(r.idom(node(&s, 1000)), None);
        assert_eq!(r.retained(node(&s, 5)), 640);
        assert_eq!(r.top_level()[0], node(&s, 1));
    }

    #[test]
    fn a_diamond_is_retained_by_its_top_only() {
        // module 1 → a 2, b 3; a → d 4, b → d 4; d → e 5
        let s = snapshot(
            &[
                obj(1, MODULE, 1, &[2, 3]),
                obj(2, DICT, 10, &[4]),
                obj(3, DICT, 100, &[4]),
                obj(4, LIST, 1000, &[5]),
                obj(5, INT, 10_000, &[]),
            ],
            &[("m", 1)],
            &[],
        );
        let r = Retained::compute(&s);
        assert_eq!(r.retained(node(&s, 2)), 10);
        assert_eq!(r.retained(node(&s, 3)), 100);
        assert_eq!(r.retained(node(&s, 4)), 11_000);
        assert_eq!(r.retained(node(&s, 1)), 11_111);
        assert_eq!(
            r.children(node(&s, 1)),
            [node(&s, 4), node(&s, 3), node(&s, 2)]
        );
    }

    #[test]
    fn a_garbage_cycle_is_retained_by_its_first_member() {
        // module 1 → dict 2; garbage: Node 10 ⇄ dict 11 → list 12 → int 13; orphan int 20.
        let s = snapshot(
            &[
                obj(1, MODULE, 1, &[2]),
                obj(2, DICT, 2, &[]),
                obj(10, NODE, 48, &[11]),
                obj(11, DICT, 100, &[10, 12]),
                obj(12, LIST, 1000, &[13]),
                obj(13, INT, 28, &[]),
                obj(20, INT, 32, &[]),
            ],
            &[("m", 1)],
            &[10, 11, 12, 13],
        );
        let r = Retained::compute(&s);
        let head = node(&s, 10);
        assert_eq!(r.idom(head), None);
        assert_eq!(r.idom(node(&s, 11)), Some(head));
        assert_eq!(r.retained(head), 48 + 100 + 1000 + 28);
        assert!(r.is_unreachable(head) && r.is_unreachable(node(&s, 20)));
        assert!(!r.is_unreachable(node(&s, 2)));
        assert_eq!(r.unreachable_size(), 48 + 100 + 1000 + 28 + 32);
        assert_eq!(r.top_level(), [head, node(&s, 20), node(&s, 1)]);
        let answer = top(&s, &r, &TopQuery::default());
        assert!(answer.top[0].unreachable && answer.top[0].object.garbage);
        assert_eq!(answer.suspects[0].object.id, "0xa");
        assert!(answer.suspects[0].chain.is_none());
        assert_eq!(answer.suspects[0].accumulation.object.id, "0xc");
    }

    #[test]
    fn top_finds_the_list_as_the_accumulation_point() {
        let s = list_of_ints(10);
        let r = Retained::compute(&s);
        let answer = top(&s, &r, &TopQuery::default());
        assert_eq!(answer.top.len(), 2 + 10);
        assert_eq!(answer.top[0].object.id, "0x1");
        assert_eq!(answer.top[0].dominated, 2 + 990);
        assert_eq!(answer.suspects.len(), 1);
        let acc = &answer.suspects[0].accumulation;
        assert_eq!(acc.object.id, "0x3");
        assert_eq!(acc.depth, 2);
        assert_eq!((acc.children, acc.children_retained), (990, 990 * 28));
        assert_eq!(acc.children_by_type[0].type_name, "int");
        assert_eq!(acc.children_by_type[0].count, 990);
        assert_eq!(acc.linked_run, None);
        let chain = acc.chain.as_ref().unwrap();
        assert_eq!(chain.steps.len(), 3);
        assert_eq!(chain.steps[0].object.id, "0x1");
        let json = serde_json::to_string(&answer).unwrap();
        assert_eq!(serde_json::from_str::<TopAnswer>(&json).unwrap(), answer);
    }

    #[test]
    fn a_linked_list_is_reported_at_its_head() {
        // module 1 → dict 2 → Node 100 → Node 101 → … → Node 1099, each with a 200-byte list.
        let mut objs = vec![obj(1, MODULE, 72, &[2]), obj(2, DICT, 640, &[100])];
        for i in 100..1100 {
            let next: &[u64] = if i < 1099 {
                &[i + 1, i + 10_000]
            } else {
                &[i + 10_000]
            };
            objs.push(obj(i, NODE, 48, next));
            objs.push(obj(i + 10_000, LIST, 200, &[]));
        }
        let s = snapshot(&objs, &[("m", 1)], &[]);
        let r = Retained::compute(&s);
        let answer = top(&s, &r, &TopQuery::default());
        let acc = &answer.suspects[0].accumulation;
        assert_eq!(acc.object.id, format!("{:#x}", 100));
        assert_eq!(acc.depth, 2);
        assert!(acc.linked_run.unwrap() > 900);
    }

    #[test]
    fn retained_by_type_counts_nested_instances_once() {
        // module 1 → dict 2 → dict 3 → list 4; dict 2's retained includes dict 3's.
        let s = snapshot(
            &[
                obj(1, MODULE, 1, &[2]),
                obj(2, DICT, 10, &[3]),
                obj(3, DICT, 100, &[4]),
                obj(4, LIST, 1000, &[]),
            ],
            &[("m", 1)],
            &[],
        );
        let r = Retained::compute(&s);
        let by_type = r.by_type(&s);
        assert_eq!(by_type[DICT as usize], 1110);
        assert_eq!(by_type[LIST as usize], 1000);
        assert_eq!(by_type[MODULE as usize], 1111);
        assert_eq!(by_type[INT as usize], 0);
    }

    #[test]
    fn big_lists_sort_like_small_ones() {
        let retained: Vec<u64> = (0..20_000u64)
            .map(|i| (i * 7919) % 1000 + ((i % 3) << 40))
            .collect();
        let mut list: Vec<NodeIx> = (0..20_000).rev().collect();
        sort_largest_first(&mut list, &retained);
        let mut expected: Vec<NodeIx> = (0..20_000).collect();
        expected.sort_by_key(|&c| (Reverse(retained[c as usize]), c));
        assert_eq!(list, expected);
    }

    #[test]
    fn an_empty_snapshot_has_nothing_to_retain() {
        let s = snapshot(&[], &[], &[]);
        let r = Retained::compute(&s);
        let answer = top(&s, &r, &TopQuery::default());
        assert!(answer.top.is_empty() && answer.suspects.is_empty());
    }

    /// Node count, edges, roots, sizes, types.
    type SmallGraph = (
        usize,
        Vec<(NodeIx, NodeIx)>,
        Vec<NodeIx>,
        Vec<u64>,
        Vec<u32>,
    );

    fn small_graph() -> impl Strategy<Value = SmallGraph> {
        (1usize..=12).prop_flat_map(|n| {
            let node = 0..n as NodeIx;
            let edges = proptest::collection::vec((node.clone(), node.clone()), 0..30);
            let roots = proptest::collection::vec(node, 0..4);
            let sizes = proptest::collection::vec(0u64..100, n);
            let types = proptest::collection::vec(0u32..3, n);
            (Just(n), edges, roots, sizes, types)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// retained(v) = the sizes of what the super-root no longer reaches once `v` is gone.
        #[test]
        fn retained_is_what_removing_the_node_frees((n, edges, roots, sizes, types) in small_graph()) {
            let g = CsrGraph::new(n, &edges);
            let r = Retained::from_tree(dominator_tree(&g, &roots), |v| sizes[v as usize]);
            let brute = Brute::new(n, &edges, &roots);
            let all = brute.alive_without(None);
            prop_assert_eq!(all.count_ones() as usize, n);
            let freed_by = |v: NodeIx| all & !brute.alive_without(Some(v));
            let bytes = |set: u32| (0..n).filter(|&x| set & (1 << x) != 0).map(|x| sizes[x]).sum::<u64>();
            for v in 0..n as NodeIx {
                prop_assert_eq!(r.retained(v), bytes(freed_by(v)), "node {}", v);
                for &c in r.children(v) {
                    prop_assert_eq!(r.idom(c), Some(v));
                }
            }
            let listed: usize = (0..n as NodeIx).map(|v| r.children(v).len()).sum::<usize>() + r.top_level().len();
            prop_assert_eq!(listed, n);
            for group in brute.components() {
                let in_group = |v: NodeIx| group & (1 << v) != 0;
                let members: Vec<NodeIx> = (0..n as NodeIx).filter(|&v| in_group(v)).collect();
                let counted = r.retained_by_group(&members, in_group);
                let union = members.iter().fold(0, |u, &m| u | freed_by(m));
                prop_assert_eq!(counted, bytes(union), "group {:b}: counted twice", group);
                prop_assert!(counted >= bytes(group));
                prop_assert!(counted <= bytes(all & !brute.alive_without_set(group)));
            }
            let by_class = r.retained_by_class(3, |v| types[v as usize]);
            for t in 0..3 {
                let union = (0..n as NodeIx).filter(|&v| types[v as usize] == t).fold(0, |u, v| u | freed_by(v));
                prop_assert_eq!(by_class[t as usize], bytes(union), "type {}", t);
            }
        }
    }
}
